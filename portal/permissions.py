"""Every permission, by name, in one place.

Views call these through `require(...)`; templates get the same functions as Jinja globals, so a button
and the server check behind it cannot disagree. No role checks anywhere else.
"""

from __future__ import annotations

import enum
from typing import Any

from flask import abort


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
    """Admins suspend anyone but themselves."""
    return is_admin(actor) and actor.id != target.id


def can_manage_organizations(user: Any) -> bool:
    """Create and edit organisations."""
    return is_admin(user)


def can_view_mail_log(user: Any) -> bool:
    """See the outbox (never the bodies: they carry sign-in links)."""
    return is_admin(user)


def require(allowed: bool) -> None:
    """Abort with 403 unless the permission holds."""
    if not allowed:
        abort(403)


TEMPLATE_PERMISSIONS = {
    name: obj
    for name, obj in dict(globals()).items()
    if callable(obj) and name.startswith(("can_", "is_"))
}
