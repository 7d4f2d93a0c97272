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


def still_visible(user: Any) -> sa.ColumnElement[bool]:
    """SQL: the notification's topic and post are still there and the person may still see them.

    A topic moved to a category they can't see, a deleted post, a whisper seen by someone no longer staff: the
    notification stays (counts and pages don't shift) but shows neither title nor excerpt.
    """
    from portal.forums.models import Post, Topic, TopicContext
    from portal.forums.services import visible_category_ids
    from portal.permissions import can_see_whispers, is_staff

    topic_ok = sa.exists(sa.select(Topic.id).where(
        Topic.id == Notification.topic_id, Topic.context == TopicContext.FORUM,
        Topic.category_id.in_(visible_category_ids(user)),
        *(() if is_staff(user) else (Topic.deleted_at.is_(None),)),
    ))
    post_ok = sa.exists(sa.select(Post.id).where(
        Post.id == Notification.post_id, Post.deleted_at.is_(None),
        *(() if can_see_whispers(user) else (Post.is_whisper.is_(False),)),
    ))
    return sa.and_(
        sa.or_(Notification.topic_id.is_(None), topic_ok),
        sa.or_(Notification.post_id.is_(None), post_ok),
    )


def notification_page(user: Any, page: int, per_page: int) -> Page:
    """A page of a person's notifications, newest first, with their actors and whether each is still visible
    (two statements: count, rows). Each row gets `available`."""
    where = Notification.user_id == user.id
    total = db.session.scalar(sa.select(sa.func.count()).select_from(Notification).where(where)) or 0
    rows = db.session.execute(
        sa.select(Notification, still_visible(user).label("available")).where(where)
        .options(joinedload(Notification.actor))
        .order_by(Notification.created_at.desc(), Notification.id.desc())
        .limit(per_page).offset((page - 1) * per_page)
    ).unique().all()
    items = []
    for notification, available in rows:
        notification.available = bool(available)
        items.append(notification)
    return Page(items=items, page=page, per_page=per_page, total=total)


def grouped(notifications: list[Notification]) -> list[Notification | TopicGroup]:
    """Unread notifications about the same topic fold into one group, where the newest of them stands."""
    counts: dict[int, int] = {}
    def groupable(n: Notification) -> bool:
        return n.is_unread and bool(n.topic_id) and getattr(n, "available", True)

    for n in notifications:
        if groupable(n):
            counts[n.topic_id] = counts.get(n.topic_id, 0) + 1
    entries: list[Notification | TopicGroup] = []
    groups: dict[int, TopicGroup] = {}
    for n in notifications:
        if groupable(n) and counts[n.topic_id] > 1:
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
