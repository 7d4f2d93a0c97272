"""Watching: a person's level for a topic or a category, and the effective level of a topic for its readers.

A topic's own row wins; without one, the topic inherits its category's row; without either it is normal.
Starting or replying to a topic tracks it (unless the person already chose a level for it).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from portal.db import upsert, utcnow
from portal.errors import RuleViolation
from portal.extensions import db
from portal.notifications.models import CategoryWatch, TopicWatch, WatchLevel


def parse_level(raw: Any) -> WatchLevel:
    try:
        return WatchLevel(raw)
    except ValueError:
        raise RuleViolation("Choose watching, tracking, normal or muted.", field="level") from None


def set_topic_watch(user: Any, topic: Any, level: WatchLevel | str) -> WatchLevel:
    """Choose a level for one topic (kept even when normal: it overrides the category and automatic tracking)."""
    level = parse_level(level)
    table = TopicWatch.__table__
    statement = upsert(table).values(user_id=user.id, topic_id=topic.id, level=level, updated_at=utcnow())
    db.session.execute(statement.on_conflict_do_update(
        index_elements=[table.c.user_id, table.c.topic_id],
        set_={"level": statement.excluded.level, "updated_at": statement.excluded.updated_at},
    ))
    return level


def set_category_watch(user: Any, category: Any, level: WatchLevel | str) -> WatchLevel:
    """Choose a level for a category; normal removes the choice."""
    level = parse_level(level)
    table = CategoryWatch.__table__
    if level == WatchLevel.NORMAL:
        db.session.execute(sa.delete(CategoryWatch).where(
            CategoryWatch.user_id == user.id, CategoryWatch.category_id == category.id))
        return level
    statement = upsert(table).values(user_id=user.id, category_id=category.id, level=level, updated_at=utcnow())
    db.session.execute(statement.on_conflict_do_update(
        index_elements=[table.c.user_id, table.c.category_id],
        set_={"level": statement.excluded.level, "updated_at": statement.excluded.updated_at},
    ))
    return level


def track_topic(user_id: int, topic_id: int) -> None:
    """Automatic tracking (a topic one starts or replies to), unless a level was already chosen for it."""
    statement = upsert(TopicWatch.__table__).values(user_id=user_id, topic_id=topic_id, level=WatchLevel.TRACKING,
                                                    updated_at=utcnow())
    db.session.execute(statement.on_conflict_do_nothing(index_elements=["user_id", "topic_id"]))


def topic_levels(topic: Any) -> dict[int, WatchLevel]:
    """Everyone with a level for this topic, their own or their category's (one statement)."""
    levels: dict[int, WatchLevel] = {}
    own = sa.select(TopicWatch.user_id, TopicWatch.level, sa.literal(1).label("own")).where(
        TopicWatch.topic_id == topic.id)
    query = own
    if topic.category_id is not None:
        query = sa.select(CategoryWatch.user_id, CategoryWatch.level, sa.literal(0).label("own")).where(
            CategoryWatch.category_id == topic.category_id).union_all(own)
    # A topic's own row wins over its category's.
    for user_id, level, _ in sorted(db.session.execute(query), key=lambda row: row[2]):
        levels[user_id] = WatchLevel(level)
    return levels


def category_watchers(category_id: int) -> dict[int, WatchLevel]:
    return {u: WatchLevel(level) for u, level in db.session.execute(
        sa.select(CategoryWatch.user_id, CategoryWatch.level).where(CategoryWatch.category_id == category_id))}


def category_level(user: Any, category: Any) -> WatchLevel:
    """The viewer's level for a category (normal without a row)."""
    if not getattr(user, "is_authenticated", False):
        return WatchLevel.NORMAL
    level = db.session.scalar(sa.select(CategoryWatch.level).where(
        CategoryWatch.user_id == user.id, CategoryWatch.category_id == category.id))
    return WatchLevel(level) if level else WatchLevel.NORMAL


def watched(user: Any) -> tuple[list[TopicWatch], list[CategoryWatch]]:
    """What a person chose a level for, other than normal: topics (newest activity first) and categories."""
    from portal.forums.models import Category, Topic

    topics = db.session.scalars(
        sa.select(TopicWatch)
        .join(Topic, Topic.id == TopicWatch.topic_id)
        .where(TopicWatch.user_id == user.id, TopicWatch.level != WatchLevel.NORMAL, Topic.deleted_at.is_(None))
        .options(joinedload(TopicWatch.topic).joinedload(Topic.category))
        .order_by(Topic.last_post_at.desc())
        .limit(500)
    ).all()
    categories = db.session.scalars(
        sa.select(CategoryWatch)
        .join(Category, Category.id == CategoryWatch.category_id)
        .where(CategoryWatch.user_id == user.id)
        .options(joinedload(CategoryWatch.category))
        .order_by(Category.position, Category.id)
    ).all()
    return list(topics), list(categories)
