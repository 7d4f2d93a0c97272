"""What the notification pages read (a fixed number of statements per page)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from portal.extensions import db
from portal.notifications.models import Notification
from portal.pagination import Page


@dataclass
class TopicGroup:
    """Several unread notifications about one topic, shown as one entry (newest first)."""

    topic_id: int
    subject: str
    items: list[Notification] = field(default_factory=list)

    is_group = True

    @property
    def latest(self) -> Notification:
        return self.items[0]


def notification_page(user: Any, page: int, per_page: int) -> Page:
    """A page of a person's notifications, newest first, with their actors (two statements: count, rows)."""
    where = Notification.user_id == user.id
    total = db.session.scalar(sa.select(sa.func.count()).select_from(Notification).where(where)) or 0
    rows = db.session.scalars(
        sa.select(Notification).where(where)
        .options(joinedload(Notification.actor))
        .order_by(Notification.created_at.desc(), Notification.id.desc())
        .limit(per_page).offset((page - 1) * per_page)
    ).all()
    return Page(items=rows, page=page, per_page=per_page, total=total)


def grouped(notifications: list[Notification]) -> list[Notification | TopicGroup]:
    """Unread notifications about the same topic fold into one group, where the newest of them stands."""
    counts: dict[int, int] = {}
    for n in notifications:
        if n.is_unread and n.topic_id:
            counts[n.topic_id] = counts.get(n.topic_id, 0) + 1
    entries: list[Notification | TopicGroup] = []
    groups: dict[int, TopicGroup] = {}
    for n in notifications:
        if n.is_unread and n.topic_id and counts[n.topic_id] > 1:
            group = groups.get(n.topic_id)
            if group is None:
                group = groups[n.topic_id] = TopicGroup(n.topic_id, n.subject)
                entries.append(group)
            group.items.append(n)
        else:
            entries.append(n)
    return entries


def get_own_notification_or_404(user: Any, notification_id: int) -> Notification:
    """A notification of this person's; anyone else's is a 404, as if it did not exist."""
    from flask import abort

    notification = db.session.get(Notification, notification_id)
    if notification is None or notification.user_id != user.id:
        abort(404)
    return notification
