"""The viewer's watch levels, read in the statement that loads a topic page's topic (forums.queries.load_topic).

Kept apart from the services so the forum's queries can import it without pulling in the notification package's
views (and so this is the one place that knows how the levels ride along).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from portal.notifications.models import CategoryWatch, TopicWatch, WatchLevel


def add_to(query: sa.Select, viewer_id: Any) -> sa.Select:
    """Outer-join the viewer's TopicWatch and CategoryWatch rows to a SELECT of Topic; adds two columns.

    `viewer_id` is the viewer's id or a bound parameter (the topic page's statement is built once, at import).
    """
    from portal.forums.models import Topic

    topic_watch, category_watch = aliased(TopicWatch), aliased(CategoryWatch)
    return query.add_columns(topic_watch.level, category_watch.level).outerjoin(
        topic_watch, sa.and_(topic_watch.topic_id == Topic.id, topic_watch.user_id == viewer_id)
    ).outerjoin(
        category_watch, sa.and_(category_watch.category_id == Topic.category_id, category_watch.user_id == viewer_id)
    )


def columns(viewer_id: Any) -> tuple[sa.ScalarSelect, sa.ScalarSelect]:
    """The same two levels as scalar subqueries on Topic, for a statement that already has many joins: there
    PostgreSQL probes their primary keys directly (a third less server time on the topic page's statement)."""
    from portal.forums.models import Topic

    return (
        sa.select(TopicWatch.level).where(TopicWatch.topic_id == Topic.id, TopicWatch.user_id == viewer_id)
        .scalar_subquery(),
        sa.select(CategoryWatch.level)
        .where(CategoryWatch.category_id == Topic.category_id, CategoryWatch.user_id == viewer_id)
        .scalar_subquery(),
    )


def keep(topic: Any, topic_level: Any, category_level: Any) -> None:
    """Leave the levels on the loaded topic (plain attributes, for this request's viewer only)."""
    topic.viewer_watch_level = WatchLevel(topic_level) if topic_level else None
    topic.viewer_category_watch_level = WatchLevel(category_level) if category_level else None


def effective(topic: Any) -> WatchLevel:
    """The level that applies to the viewer: the topic's own, else the category's, else normal."""
    return (getattr(topic, "viewer_watch_level", None) or getattr(topic, "viewer_category_watch_level", None)
            or WatchLevel.NORMAL)
