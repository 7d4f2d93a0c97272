"""Shared helpers for the notification tests."""

from __future__ import annotations

import sqlalchemy as sa

from portal.extensions import db
from portal.notifications.models import Notification


def notifications_of(user, kind: str | None = None) -> list[Notification]:
    db.session.commit()
    query = sa.select(Notification).where(Notification.user_id == user.id).order_by(Notification.id)
    if kind:
        query = query.where(Notification.kind == kind)
    return list(db.session.scalars(query))


def kinds_of(user) -> list[str]:
    return [n.kind for n in notifications_of(user)]


def mention(user) -> str:
    return f"@[{user.display_name}](/users/{user.id})"
