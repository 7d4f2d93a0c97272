"""Flags and the review queue: people flag posts, enough flags hide a post until staff review it, staff decide.

One ReviewItem per post collects its flags while it waits for a decision; a later flag after a decision opens
a new item. Hiding at FLAG_HIDE_THRESHOLD is one guarded UPDATE (`hidden_at IS NULL`), so flags arriving
together hide a post exactly once, and its author is told once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import joinedload

from portal.accounts import services as accounts
from portal.accounts.models import User
from portal.db import UTCDateTime, utcnow
from portal.errors import RuleViolation
from portal.extensions import db
from portal.forums import services as forums
from portal.forums.models import Post, Topic
from portal.forums.services import categories as forums_categories
from portal.moderation.models import Flag, FlagReason, ReviewItem, ReviewKind, ReviewStatus
from portal.moderation.services import record_action
from portal.pagination import Page
from portal.permissions import can_flag_post, is_staff

MAX_NOTE = 500
ITEMS_PER_PAGE = 20


def _events():
    from portal.moderation import notices

    return notices


# --- Flagging ----------------------------------------------------------------------------------------------


def flag_post(user: User, post: Post, reason: FlagReason | str, note: str = "", *,
              now: datetime | None = None) -> Flag:
    """One person's flag on a post (once per post), into the post's open review item; may hide the post."""
    try:
        reason = FlagReason(reason)
    except ValueError:
        raise RuleViolation("Choose why you are flagging this post.", field="reason") from None
    note = " ".join((note or "").split())
    if reason == FlagReason.OTHER and not note:
        raise RuleViolation("Tell the moderators what is wrong: they read this.", field="note")
    if len(note) > MAX_NOTE:
        raise RuleViolation(f"Use at most {MAX_NOTE} characters.", field="note")
    if not can_flag_post(user, post):
        raise RuleViolation("You can't flag this post.")
    now = now or utcnow()
    # Flags on one post take turns (PostgreSQL: the post's row lock; SQLite: the write lock every posting request
    # holds), so each one counts the flags committed before it and exactly one of them reaches the threshold.
    db.session.execute(sa.select(Post.id).where(Post.id == post.id).with_for_update())
    item = _open_item(post, now)
    flag = Flag(post_id=post.id, user_id=user.id, review_item_id=item.id, reason=reason, note=note, created_at=now)
    try:
        with db.session.begin_nested():
            db.session.add(flag)
            db.session.flush()
    except sa.exc.IntegrityError:
        raise RuleViolation("You already flagged this post: the moderators have it.") from None
    db.session.execute(
        sa.update(ReviewItem).where(ReviewItem.id == item.id).values(flag_count=ReviewItem.flag_count + 1),
        execution_options={"synchronize_session": False},
    )
    if _hide_if_flagged_enough(post, item, now):
        _events().post_hidden(post)
    return flag


def _open_item(post: Post, now: datetime) -> ReviewItem:
    """The post's pending review item, made if there is none (the partial unique index keeps it to one)."""
    item = db.session.scalar(
        sa.select(ReviewItem).where(ReviewItem.post_id == post.id, ReviewItem.status == ReviewStatus.PENDING)
    )
    if item is not None:
        return item
    item = ReviewItem(post_id=post.id, author_id=post.user_id, status=ReviewStatus.PENDING, created_at=now)
    try:
        with db.session.begin_nested():
            db.session.add(item)
            db.session.flush()
    except sa.exc.IntegrityError:  # someone else opened it at the same moment
        return db.session.scalar(
            sa.select(ReviewItem).where(ReviewItem.post_id == post.id, ReviewItem.status == ReviewStatus.PENDING)
        )
    return item


def _hide_if_flagged_enough(post: Post, item: ReviewItem, now: datetime) -> bool:
    """Hide the post once its pending flags from different people reach the threshold; True if this call did."""
    threshold = int(current_app.config["FLAG_HIDE_THRESHOLD"])
    flaggers = (
        sa.select(sa.func.count(sa.distinct(Flag.user_id))).where(Flag.review_item_id == item.id).scalar_subquery()
    )
    hidden = db.session.execute(
        sa.update(Post)
        .where(Post.id == post.id, Post.hidden_at.is_(None), flaggers >= threshold)
        .values(hidden_at=sa.literal(now, UTCDateTime())),
        execution_options={"synchronize_session": False},
    ).rowcount
    if hidden:
        db.session.expire(post, ["hidden_at"])
        topic = post.topic
        if post.number == 1 and not topic.is_unlisted:
            # A flagged opening post (spam topics, mostly) takes its title out of the lists until decided.
            topic.is_unlisted = True
            item.unlisted_topic = True
            db.session.flush()
            forums_categories.refresh_last_topics(topic.category_id)
    return bool(hidden)


# --- The review queue --------------------------------------------------------------------------------------


def review_queue(*, page: int = 1, mine: bool = False, viewer: Any = None) -> Page:
    """Pending review items (flagged posts and held ones), oldest first, with their posts, topics and authors
    (two statements)."""
    criteria = [ReviewItem.status == ReviewStatus.PENDING]
    if mine and viewer is not None:
        criteria.append(ReviewItem.claimed_by_id == viewer.id)
    total = db.session.scalar(sa.select(sa.func.count(ReviewItem.id)).where(*criteria)) or 0
    # Flag items have a post; held posts (approval) have none yet, only the topic they reply to or the category
    # of the topic they start.
    rows = db.session.execute(
        sa.select(ReviewItem, Post, Topic, User)
        .outerjoin(Post, Post.id == ReviewItem.post_id)
        .outerjoin(Topic, Topic.id == sa.func.coalesce(Post.topic_id, ReviewItem.topic_id))
        .join(User, User.id == ReviewItem.author_id)
        .options(joinedload(ReviewItem.claimed_by), joinedload(ReviewItem.category))
        .where(*criteria)
        .order_by(ReviewItem.created_at, ReviewItem.id)
        .limit(ITEMS_PER_PAGE)
        .offset((page - 1) * ITEMS_PER_PAGE)
    ).all()
    return Page(items=rows, page=page, per_page=ITEMS_PER_PAGE, total=total)


def flags_of(item_ids: list[int]) -> dict[int, list[tuple[Flag, User]]]:
    """The flags of these items with their flaggers (one statement)."""
    found: dict[int, list[tuple[Flag, User]]] = {i: [] for i in item_ids}
    if item_ids:
        for flag, user in db.session.execute(
            sa.select(Flag, User).join(User, User.id == Flag.user_id)
            .where(Flag.review_item_id.in_(item_ids)).order_by(Flag.created_at)
        ):
            found[flag.review_item_id].append((flag, user))
    return found


def author_histories(author_ids: list[int]) -> dict[int, dict[str, int]]:
    """For each author: posts written, posts deleted, and earlier decisions against them (two statements)."""
    history = {a: {"posts": 0, "deleted": 0, "upheld": 0} for a in author_ids}
    if author_ids:
        for author, posts, deleted in db.session.execute(
            sa.select(Post.user_id, sa.func.count(Post.id), sa.func.count(Post.deleted_at))
            .where(Post.user_id.in_(author_ids)).group_by(Post.user_id)
        ):
            history[author].update(posts=posts, deleted=deleted)
        for author, upheld in db.session.execute(
            sa.select(ReviewItem.author_id, sa.func.count(ReviewItem.id))
            .where(ReviewItem.author_id.in_(author_ids), ReviewItem.status == ReviewStatus.AGREED)
            .group_by(ReviewItem.author_id)
        ):
            history[author]["upheld"] = upheld
    return history


def claim(staff: User, item: ReviewItem, claimed: bool = True) -> None:
    """Take an item (so colleagues leave it to you) or give it back."""
    if item.status != ReviewStatus.PENDING:
        raise RuleViolation("This item was already decided.")
    if claimed and item.claimed_by_id not in (None, staff.id):
        raise RuleViolation(f"{item.claimed_by.display_name} is on this one already.")
    item.claimed_by_id = staff.id if claimed else None
    item.claimed_at = utcnow() if claimed else None
    db.session.flush()


def _decide(staff: User, item: ReviewItem, status: ReviewStatus, resolution: str, now: datetime) -> None:
    if item.kind != ReviewKind.FLAGS:
        raise RuleViolation("This post waits for approval: approve or reject it.")
    if item.status != ReviewStatus.PENDING:
        raise RuleViolation("This item was already decided.")
    if item.claimed_by_id not in (None, staff.id):
        raise RuleViolation(f"{item.claimed_by.display_name} claimed this one: ask them, or wait.")
    item.status = status
    item.resolution = resolution
    item.resolved_by_id = staff.id
    item.resolved_at = now
    db.session.flush()


def agree(staff: User, item: ReviewItem, *, action: str, reason: str = "", suspend_days: int | None = None,
          suspend: bool = False, warn: bool = False, now: datetime | None = None) -> None:
    """The flags were right: hide the post (or delete it); optionally warn or suspend its author, with a reason
    they read. Everyone is told."""
    if action not in ("hide", "delete"):
        raise RuleViolation("Choose to hide or delete the post.", field="action")
    now = now or utcnow()
    post = item.post
    author = item.author
    reason = (reason or "").strip()
    if warn and not reason:
        raise RuleViolation("Write the warning: the author reads it in their notification.", field="reason")
    if suspend:
        if not reason:
            raise RuleViolation("Give the reason for the suspension: the author sees it at sign-in.", field="reason")
        if is_staff(author):
            raise RuleViolation("Staff and admins can't be suspended from here.", field="suspend")
    _decide(staff, item, ReviewStatus.AGREED, action, now)
    if action == "delete":
        forums.delete_post(staff, post)
    elif post.hidden_at is None:
        post.hidden_at = now
        db.session.flush()
    record_action(staff, "flag.agree", post, reason=reason, after={"action": action, "flags": item.flag_count})
    if warn:
        record_action(staff, "user.warn", author, reason=reason, after={"post_id": post.id})
    if suspend:
        accounts.suspend_user(staff, author, reason, suspend_days)
    # The author reads the reason when it was written for them (a warning, or a suspension's).
    _events().flags_agreed(item, action, suspended=suspend, note=reason if warn or suspend else "")


def disagree(staff: User, item: ReviewItem, *, now: datetime | None = None) -> None:
    """The post is fine: dismiss the flags and show it again if they had hidden it. Everyone is told."""
    now = now or utcnow()
    _decide(staff, item, ReviewStatus.DISAGREED, "dismiss", now)
    post = item.post
    was_hidden = post.hidden_at is not None
    post.hidden_at = None
    if item.unlisted_topic:
        post.topic.is_unlisted = False
        db.session.flush()
        forums_categories.refresh_last_topics(post.topic.category_id)
    db.session.flush()
    record_action(staff, "flag.disagree", post, after={"flags": item.flag_count, "shown_again": was_hidden})
    _events().flags_dismissed(item, was_hidden)


def pending_count() -> int:
    return db.session.scalar(sa.select(sa.func.count(ReviewItem.id)).where(
        ReviewItem.status == ReviewStatus.PENDING)) or 0


def reason_choices() -> list[tuple[str, str]]:
    return [(r.value, r.label) for r in FlagReason]
