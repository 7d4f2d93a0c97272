"""A topic's state: accepted answer, official posts, pin, lock, assignee, category, and read markers."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from portal.accounts.models import User
from portal.db import upsert, utcnow
from portal.errors import RuleViolation
from portal.extensions import db
from portal.forums.models import Category, CategoryKind, Post, Topic, TopicContext, TopicRead
from portal.forums.services.categories import change_category_counts, refresh_last_topics
from portal.forums.services.posts import _notifications, check_title
from portal.moderation.services import record_action
from portal.permissions import is_staff


def _on_someone_elses(user: User, topic: Topic) -> bool:
    """Staff acting on a question they did not ask: a moderation action, so it goes in the audit log."""
    return user.id != topic.user_id


def accept_answer(user: User, topic: Topic, post: Post) -> None:
    """Mark a reply as the accepted answer of a question (replacing any earlier one)."""
    if topic.category is None or topic.category.kind != CategoryKind.QUESTIONS:
        raise RuleViolation("Only topics in question categories have accepted answers.")
    if post.topic_id != topic.id:
        raise RuleViolation("That post belongs to another topic.")
    if post.number == 1:
        raise RuleViolation("The question can't be its own answer.")
    if post.is_whisper:
        raise RuleViolation("A whisper can't be the answer: only staff see it.")
    if post.deleted_at is not None:
        raise RuleViolation("This post was deleted.")
    before = topic.accepted_post_id
    topic.accepted_post_id = post.id
    db.session.flush()
    if _on_someone_elses(user, topic) and before != post.id:
        record_action(user, "post.accept", post, before={"accepted_post_id": before},
                      after={"accepted_post_id": post.id})
    _notifications().answer_accepted(user, topic, post)


def unaccept_answer(user: User, topic: Topic) -> None:
    """The question has no accepted answer any more."""
    before = topic.accepted_post_id
    topic.accepted_post_id = None
    db.session.flush()
    if _on_someone_elses(user, topic) and before is not None:
        record_action(user, "post.unaccept", topic, before={"accepted_post_id": before},
                      after={"accepted_post_id": None})


def mark_official(user: User, post: Post, official: bool) -> None:
    """Mark (or unmark) a post as the vendor's official word."""
    if official and post.is_whisper:
        raise RuleViolation("A whisper can't be official: only staff see it.")
    if official and post.deleted_at is not None:
        raise RuleViolation("This post was deleted.")
    changed = post.is_official != official
    post.is_official = official
    db.session.flush()
    if changed:
        record_action(user, "post.official" if official else "post.unofficial", post)
        if official:
            _notifications().official_marked(user, post)


# --- Moderation -----------------------------------------------------------------------------------


def set_pinned(actor: User, topic: Topic, pinned: bool) -> None:
    """Pinned topics lead their category's list."""
    if topic.is_pinned == pinned:
        return
    topic.is_pinned = pinned
    db.session.flush()
    record_action(actor, "topic.pin" if pinned else "topic.unpin", topic)


def set_locked(actor: User, topic: Topic, locked: bool) -> None:
    """Locked topics take replies from staff only."""
    if topic.is_locked == locked:
        return
    topic.is_locked = locked
    db.session.flush()
    record_action(actor, "topic.lock" if locked else "topic.unlock", topic)


def set_unlisted(actor: User, topic: Topic, unlisted: bool) -> None:
    """Unlisted topics leave lists, search, feeds and the categories' "latest topic"; their address still works."""
    if topic.is_unlisted == unlisted:
        return
    topic.is_unlisted = unlisted
    db.session.flush()
    refresh_last_topics(topic.category_id)
    record_action(actor, "topic.unlist" if unlisted else "topic.relist", topic)


def assign_topic(actor: User, topic: Topic, assignee: User | None) -> None:
    """Give the topic to a staff member to answer, or to no one."""
    if assignee is not None and not is_staff(assignee):
        raise RuleViolation("Topics can only be assigned to staff.", field="assignee")
    before = topic.assignee
    after_id = assignee.id if assignee is not None else None
    if topic.assignee_id == after_id:
        return
    topic.assignee_id = after_id
    db.session.flush()
    record_action(actor, "topic.assign", topic, before={"assignee": before.display_name if before else None},
                  after={"assignee": assignee.display_name if assignee else None})


def move_topic(actor: User, topic: Topic, new_category: Category) -> None:
    """Move a forum topic to another category; both categories' counts and latest topics follow."""
    if topic.context != TopicContext.FORUM:
        raise RuleViolation("Only forum topics can move between categories.", field="category")
    old_id = topic.category_id
    if old_id == new_category.id:
        return
    old_name = topic.category.name if topic.category is not None else None
    if topic.deleted_at is None:
        posts = sa.select(Topic.post_count).where(Topic.id == topic.id).scalar_subquery()
        change_category_counts(old_id, topics=-1, posts=-posts)
        change_category_counts(new_category.id, topics=+1, posts=posts)
    topic.category_id = new_category.id
    db.session.flush()
    refresh_last_topics(old_id, new_category.id)
    # The relationship was loaded for the old category; let it reload.
    db.session.expire(topic, ["category"])
    record_action(actor, "topic.move", topic, before={"category": old_name}, after={"category": new_category.name})


# --- Read markers ---------------------------------------------------------------------------------


def last_read_number(user: Any, topic: Topic) -> int:
    """The highest post number `user` has read in the topic (0 if none)."""
    if not getattr(user, "is_authenticated", False):
        return 0
    number = db.session.scalar(
        sa.select(TopicRead.last_read_number).where(TopicRead.user_id == user.id, TopicRead.topic_id == topic.id)
    )
    return number or 0


def mark_read(user: Any, topic: Topic, number: int, *, known: int | None = None) -> bool:
    """Move the user's read marker forward to `number` (never back); True if it wrote.

    `known` is the marker the caller already read (the topic page has it), which saves a query. Nothing is
    written unless the marker moves: this is the only write a plain GET may make.
    """
    if not getattr(user, "is_authenticated", False):
        return False
    number = min(int(number), topic.highest_post_number)
    current = last_read_number(user, topic) if known is None else known
    if number <= current:
        return False
    return advance_read_marker(user.id, topic.id, number)


def advance_read_marker(user_id: int, topic_id: int, number: int) -> bool:
    """The upsert behind mark_read, by ids: the topic page calls it after its read transaction has ended."""
    table = TopicRead.__table__
    statement = upsert(table).values(
        user_id=user_id, topic_id=topic_id, last_read_number=number, updated_at=utcnow()
    )
    # The WHERE makes the upsert itself refuse to go backward, should another request have moved it meanwhile.
    statement = statement.on_conflict_do_update(
        index_elements=[table.c.user_id, table.c.topic_id],
        set_={"last_read_number": statement.excluded.last_read_number, "updated_at": statement.excluded.updated_at},
        where=table.c.last_read_number < statement.excluded.last_read_number,
    )
    # RETURNING rather than rowcount: drivers disagree on the row count of an upsert that updated nothing.
    moved = db.session.execute(statement.returning(table.c.last_read_number)).first() is not None
    if moved:
        # Having read a post counts as having seen its notifications: no email for what was read meanwhile.
        from portal.notifications.services import mark_seen_in_topic

        mark_seen_in_topic(user_id, topic_id, number)
    return moved


def retitle_topic(actor: User, topic: Topic, title: str) -> bool:
    """Change a topic's title (8–150 characters); False if it is the same. Staff retitling someone's topic is
    recorded in the audit log."""
    title = check_title(title)
    if title == topic.title:
        return False
    before = topic.title
    topic.title = title
    db.session.flush()
    if actor.id != topic.user_id:
        record_action(actor, "topic.retitle", topic, before={"title": before}, after={"title": title})
    return True
