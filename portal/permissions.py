"""Every permission, by name, in one place.

Views call these through `require(...)`; templates get the same functions as Jinja globals, so a button
and the server check behind it cannot disagree. No role checks anywhere else.
"""

from __future__ import annotations

import enum
from typing import Any

import sqlalchemy as sa
from flask import abort

from portal.forums.models import Audience, CategoryKind, PostingRight


class Role(enum.StrEnum):
    CUSTOMER = "customer"
    STAFF = "staff"
    ADMIN = "admin"

    @property
    def label(self) -> str:
        return self.value.capitalize()


def _signed_in(user: Any) -> bool:
    return bool(user is not None and getattr(user, "is_authenticated", False))


def is_staff(user: Any) -> bool:
    """Vendor staff and admins."""
    return _signed_in(user) and user.role in (Role.STAFF, Role.ADMIN)


def awaits_staff_reply(topic: Any) -> bool:
    """A topic a customer started that no staff member has answered yet (whispers aside): what the staff response
    queue lists (portal.staff.queries.response_queue says it in SQL), and what the topic's staff tools point out."""
    author = topic.user
    return topic.first_staff_reply_at is None and author is not None and author.role == Role.CUSTOMER


def is_admin(user: Any) -> bool:
    """Site administrators."""
    return _signed_in(user) and user.role == Role.ADMIN


def can_participate(user: Any) -> bool:
    """Post, vote or register: signed in, email verified, not suspended."""
    return _signed_in(user) and user.is_verified and not user.is_suspended


def can_edit_own_account(user: Any) -> bool:
    """Settings, password and email of one's own account: any signed-in user."""
    return _signed_in(user)


def can_administer_site(user: Any) -> bool:
    """Reach the admin area at all."""
    return is_admin(user)


def can_manage_users(user: Any) -> bool:
    """List users, change roles and organisations, suspend and unsuspend."""
    return is_admin(user)


def can_change_role(actor: Any, target: Any) -> bool:
    """Admins change others' roles; never their own, so the site cannot lose its last admin by accident."""
    return is_admin(actor) and actor.id != target.id


def can_suspend_user(actor: Any, target: Any) -> bool:
    """Admins suspend anyone but themselves; staff suspend customers (never other staff or admins)."""
    if is_admin(actor):
        return actor.id != target.id
    return is_staff(actor) and not is_staff(target)


def can_moderate_user(actor: Any, target: Any) -> bool:
    """See a person's moderation page (posts, suspension, history): staff, for anyone but themselves."""
    return is_staff(actor) and actor.id != target.id


def can_manage_organizations(user: Any) -> bool:
    """Create and edit organisations."""
    return is_admin(user)


def can_view_mail_log(user: Any) -> bool:
    """See the outbox (never the bodies: they carry sign-in links)."""
    return is_admin(user)


# --- Forums ---------------------------------------------------------------------------------------


def can_see_category(user: Any, category: Any) -> bool:
    """Everyone, signed-in users, staff, or staff and members of the category's listed organisations.

    A subcategory is seen only by those who also see its parent: hiding a parent hides its children.
    """
    if category is None:
        return False
    parent = category.parent if category.parent_id is not None else None
    if parent is not None and not _audience_admits(user, parent):
        return False
    return _audience_admits(user, category)


def _audience_admits(user: Any, category: Any) -> bool:
    if category.audience == Audience.EVERYONE:
        return True
    if category.audience == Audience.SIGNED_IN:
        return _signed_in(user)
    if is_staff(user):
        return True
    if category.audience == Audience.ORGANIZATIONS:
        return (
            _signed_in(user)
            and user.organization_id is not None
            and user.organization_id in category.allowed_organization_ids
        )
    return False


def can_see_topic(user: Any, topic: Any) -> bool:
    """A forum topic follows its category; a deleted topic is seen by staff only (to restore it).

    Topics owned by other features (ideas, events) get their rule from that feature, here, when it lands.
    """
    from portal.forums.models import TopicContext

    if topic.deleted_at is not None and not is_staff(user):
        return False
    if topic.context == TopicContext.FORUM:
        return can_see_category(user, topic.category)
    return False


def can_see_post(user: Any, post: Any, topic: Any) -> bool:
    """A post in a topic one sees, unless it is a whisper and one is not staff."""
    return can_see_topic(user, topic) and (not post.is_whisper or can_see_whispers(user))


def can_start_topic(user: Any, category: Any) -> bool:
    """Participants who see the category, if it lets signed-in users start topics; staff always."""
    return (
        can_participate(user)
        and can_see_category(user, category)
        and (category.can_start == PostingRight.SIGNED_IN or is_staff(user))
    )


def can_reply(user: Any, topic: Any, category: Any) -> bool:
    """Participants who see the category, if it lets them reply and the topic is open; staff also in locked ones."""
    return (
        can_participate(user)
        and can_see_category(user, category)
        and (category.can_reply == PostingRight.SIGNED_IN or is_staff(user))
        and (not topic.is_locked or is_staff(user))
        and topic.deleted_at is None
    )


def can_see_whispers(user: Any) -> bool:
    """Whispers are staff-only replies."""
    return is_staff(user)


def whisper_readers(role: Any) -> Any:
    """can_see_whispers as SQL, for a statement that reads the signed-in viewer's row itself: true when `role` (that
    row's users.role column) is one is_staff admits. (tests/forums/test_permissions.py checks the two agree.)"""
    return sa.or_(role == Role.STAFF, role == Role.ADMIN)


def can_whisper(user: Any) -> bool:
    """Post a staff-only reply."""
    return is_staff(user)


def can_mark_official(user: Any) -> bool:
    """Mark a post as the vendor's official answer (distinct from the staff badge)."""
    return is_staff(user)


def can_accept_answer(user: Any, topic: Any, category: Any) -> bool:
    """In question categories: the asker or staff choose the accepted answer."""
    return (
        category is not None
        and category.kind == CategoryKind.QUESTIONS
        and can_participate(user)
        and (is_staff(user) or user.id == topic.user_id)
    )


def can_edit_post(user: Any, post: Any) -> bool:
    """Staff edit any post; participants their own, unless it was deleted."""
    if is_staff(user):
        return True
    return can_participate(user) and post.user_id == user.id and post.deleted_at is None


def can_delete_post(user: Any, post: Any) -> bool:
    """Staff delete any post; participants their own."""
    return can_edit_post(user, post)


def can_restore_post(user: Any) -> bool:
    """Bring back a deleted post (and its topic, for a first post)."""
    return is_staff(user)


def can_moderate_topic(user: Any) -> bool:
    """Pin, lock, move and assign topics."""
    return is_staff(user)


def can_like_post(user: Any, post: Any) -> bool:
    """Participants like others' posts, never their own."""
    return can_participate(user) and post.user_id != user.id and post.deleted_at is None


def can_manage_categories(user: Any) -> bool:
    """Create, edit, order and nest categories and their permissions."""
    return is_admin(user)


# --- Notifications ---------------------------------------------------------------------------------


def can_watch(user: Any) -> bool:
    """Choose a watch level for a topic or category one can see: any signed-in person (reading needs no
    confirmed address, and neither does hearing about it in the app)."""
    return _signed_in(user)


# --- Staff -----------------------------------------------------------------------------------------


def can_see_staff_queue(user: Any) -> bool:
    """The response queue of customer topics waiting for a first staff reply: staff and admins."""
    return is_staff(user)


def can_flag_post(user: Any, post: Any) -> bool:
    """Participants flag others' posts that still stand (the route checks they can see it)."""
    return can_participate(user) and post.user_id != user.id and post.deleted_at is None


def can_review_flags(user: Any) -> bool:
    """The review queue of flagged posts, and deciding them: staff and admins."""
    return is_staff(user)


def can_see_audit_log(user: Any) -> bool:
    """The log of moderation and admin actions: staff and admins (it names people and what was done to them)."""
    return is_staff(user)


def require(allowed: bool) -> None:
    """Abort with 403 unless the permission holds."""
    if not allowed:
        abort(403)


TEMPLATE_PERMISSIONS = {
    name: obj
    for name, obj in dict(globals()).items()
    if callable(obj) and name.startswith(("can_", "is_"))
}
