"""Read-only queries for account lists (kept out of views so their SQL is tested and budgeted)."""

from __future__ import annotations

import sqlalchemy as sa

from portal.accounts.models import Organization, User
from portal.db import utcnow
from portal.extensions import db
from portal.permissions import Role


def user_list_query(q: str = "", role: str = "", organization: str = "", status: str = "") -> sa.Select:
    """Users matching the admin filters, newest first."""
    query = sa.select(User).order_by(User.created_at.desc(), User.id.desc())
    q = (q or "").strip()
    if q:
        pattern = "%" + q.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(
            sa.or_(sa.func.lower(User.display_name).like(pattern, escape="\\"), User.email.like(pattern, escape="\\"))
        )
    if role in {r.value for r in Role}:
        query = query.where(User.role == Role(role))
    if organization == "none":
        query = query.where(User.organization_id.is_(None))
    elif organization.isdigit():
        query = query.where(User.organization_id == int(organization))
    now = utcnow()
    if status == "suspended":
        query = query.where(User.suspended_until > now)
    elif status == "active":
        query = query.where(sa.or_(User.suspended_until.is_(None), User.suspended_until <= now))
    elif status == "unverified":
        query = query.where(User.email_verified_at.is_(None))
    return query


def organizations_with_member_counts() -> list[tuple[Organization, int]]:
    """Every organisation with its number of members, in one query."""
    members = (
        sa.select(User.organization_id, sa.func.count(User.id).label("n"))
        .group_by(User.organization_id)
        .subquery()
    )
    rows = db.session.execute(
        sa.select(Organization, sa.func.coalesce(members.c.n, 0))
        .outerjoin(members, members.c.organization_id == Organization.id)
        .order_by(Organization.is_vendor.desc(), sa.func.lower(Organization.name))
    )
    return [(org, count) for org, count in rows]


def organization_choices(empty_label: str = "No organisation") -> list[tuple[str, str]]:
    names = db.session.execute(sa.select(Organization.id, Organization.name).order_by(sa.func.lower(Organization.name)))
    return [("", empty_label)] + [(str(org_id), name) for org_id, name in names]
