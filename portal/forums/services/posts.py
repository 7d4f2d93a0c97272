"""Topics and posts: creating them (numbered and counted in SQL), mentions, edits with revisions, soft deletes."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from portal.accounts.models import User
from portal.content import RENDERER_VERSION, render_markdown
from portal.db import UTCDateTime, utcnow
from portal.errors import RuleViolation
from portal.extensions import db
from portal.forums.models import Category, Mention, Post, PostRevision, Topic, TopicContext
from portal.forums.services.categories import change_category_counts, refresh_last_topics
from portal.moderation.services import record_action
from portal.permissions import is_staff

MIN_TITLE, MAX_TITLE = 8, 150
MIN_BODY, MAX_BODY = 2, 50_000
MAX_MENTIONS = 10

# Display names are not unique, so "@Ann" names no one for sure: only the explicit link the composer inserts
# when you pick a person, @[Display Name](/users/ID), counts as a mention.
_MENTION = re.compile(r"@\[[^\]\n]{1,80}\]\(/users/(\d{1,18})\)")


# --- Input rules ----------------------------------------------------------------------------------


def check_title(raw: str) -> str:
    """A topic title, stripped: 8–150 characters."""
    title = " ".join((raw or "").split())
    if len(title) < MIN_TITLE:
        raise RuleViolation(f"Use at least {MIN_TITLE} characters.", field="title")
    if len(title) > MAX_TITLE:
        raise RuleViolation(f"Use at most {MAX_TITLE} characters.", field="title")
    return title


def check_body(raw: str) -> str:
    """A post body as typed (line endings normalised, trailing space dropped): 2–50,000 characters."""
    body = (raw or "").replace("\r\n", "\n").replace("\r", "\n").rstrip()
    if len(body.strip()) < MIN_BODY:
        raise RuleViolation(f"Use at least {MIN_BODY} characters.", field="body")
    if len(body) > MAX_BODY:
        raise RuleViolation(f"Use at most {MAX_BODY:,} characters.", field="body")
    return body


def create_topic(user: User, category: Category, title: str, body: str) -> Topic:
    """A new topic in a category, with its first post; the category counts it and shows it as latest."""
    title = check_title(title)
    body = check_body(body)
    now = utcnow()
    topic = Topic(
        context=TopicContext.FORUM,
        category_id=category.id,
        user_id=user.id,
        title=title,
        created_at=now,
        last_post_at=now,
    )
    db.session.add(topic)
    db.session.flush()
    create_post(user, topic, body, now=now)
    db.session.execute(
        sa.update(Category)
        .where(Category.id == category.id)
        .values(topic_count=Category.topic_count + 1, last_topic_id=topic.id),
        execution_options={"synchronize_session": "fetch"},
    )
    return topic


def create_post(user: User, topic: Topic, body: str, *, whisper: bool = False, now: datetime | None = None) -> Post:
    """A post (reply, or first post) numbered by one atomic UPDATE of the topic, which also keeps its counters."""
    body = check_body(body)
    if topic.deleted_at is not None:
        raise RuleViolation("This topic was deleted.", field="body")
    if whisper and not is_staff(user):
        raise RuleViolation("Only staff can whisper.", field="body")
    now = now or utcnow()
    body_html = render_markdown(body)  # before the UPDATE below: keep the topic row locked as briefly as possible
    at = sa.literal(now, UTCDateTime())
    values: dict[str, Any] = {"highest_post_number": Topic.highest_post_number + 1}
    if not whisper:
        values |= {"post_count": Topic.post_count + 1, "last_post_at": at, "last_poster_id": user.id}
        if is_staff(user):
            # The first staff reply feeds the response queue; the topic's own first post is no reply.
            values["first_staff_reply_at"] = sa.case(
                (Topic.highest_post_number > 0, sa.func.coalesce(Topic.first_staff_reply_at, at)),
                else_=Topic.first_staff_reply_at,
            )
    number = db.session.execute(
        sa.update(Topic).where(Topic.id == topic.id).values(**values).returning(Topic.highest_post_number),
        execution_options={"synchronize_session": "fetch"},
    ).scalar_one()
    post = Post(
        topic_id=topic.id,
        number=number,
        user_id=user.id,
        body=body,
        body_html=body_html,
        renderer_version=RENDERER_VERSION,
        created_at=now,
        is_whisper=whisper,
    )
    db.session.add(post)
    db.session.flush()
    if not whisper:
        change_category_counts(topic.category_id, posts=1)
    mentioned = store_mentions(post)
    _notifications().post_created(post, topic, user, mentioned, now=now)
    return post


def _notifications():
    """The notifications' forum events (imported on use: portal.notifications imports the forum's models)."""
    from portal.notifications.services import forum_events

    return forum_events


def mentioned_user_ids(body: str) -> list[int]:
    """User ids mentioned as @[Name](/users/ID), in order of appearance, each once."""
    return list(dict.fromkeys(int(m) for m in _MENTION.findall(body or "")))


def store_mentions(post: Post) -> list[int]:
    """Record the users newly mentioned in a post (existing users, never its author, at most 10 per post)."""
    existing = set(db.session.scalars(sa.select(Mention.user_id).where(Mention.post_id == post.id)))
    room = MAX_MENTIONS - len(existing)
    candidates = [i for i in mentioned_user_ids(post.body) if i != post.user_id and i not in existing]
    if room <= 0 or not candidates:
        return []
    known = set(db.session.scalars(sa.select(User.id).where(User.id.in_(candidates))))
    new = [i for i in candidates if i in known][:room]
    db.session.add_all(Mention(post_id=post.id, user_id=i) for i in new)
    db.session.flush()
    return new


def edit_post(editor: User, post: Post, new_body: str) -> PostRevision:
    """Change a post's body, keeping the previous one as a revision (who, when, what it was)."""
    if post.deleted_at is not None:
        raise RuleViolation("This post was deleted.", field="body")
    body = check_body(new_body)
    if body == post.body:
        raise RuleViolation("Nothing changed.", field="body")
    now = utcnow()
    revision = PostRevision(post_id=post.id, user_id=editor.id, created_at=now, body=post.body)
    db.session.add(revision)
    post.body = body
    post.body_html = render_markdown(body)
    post.renderer_version = RENDERER_VERSION
    post.edited_at = now
    db.session.flush()
    _notifications().post_edited(post, editor, store_mentions(post))
    if editor.id != post.user_id:
        # The previous body is in the revision; the log says who changed whose post.
        record_action(editor, "post.edit", post, after={"revision_id": revision.id})
    return revision


def _visible_delta(post: Post, topic: Topic, sign: int) -> None:
    """Count a post in or out of its topic and, while the topic stands, its category.

    The topic's last activity follows its newest visible post, so deleting the last reply doesn't leave the
    list saying someone posted.
    """
    if post.is_whisper:
        return
    newest = (
        sa.select(Post.created_at, Post.user_id)
        .where(Post.topic_id == topic.id, Post.is_whisper.is_(False), Post.deleted_at.is_(None))
        .order_by(Post.number.desc())
        .limit(1)
    )
    db.session.execute(
        sa.update(Topic).where(Topic.id == topic.id).values(
            post_count=Topic.post_count + sign,
            last_post_at=sa.func.coalesce(newest.with_only_columns(Post.created_at).scalar_subquery(),
                                          Topic.created_at),
            last_poster_id=sa.func.coalesce(newest.with_only_columns(Post.user_id).scalar_subquery(), Topic.user_id),
        ),
        execution_options={"synchronize_session": "fetch"},
    )
    if topic.deleted_at is None:
        change_category_counts(topic.category_id, posts=sign)


def delete_post(actor: User, post: Post) -> bool:
    """Soft-delete a post; deleting the first post deletes the topic. False if it was already deleted."""
    now = utcnow()
    # The guarded UPDATE decides, so two deletes at once count the post out only once.
    changed = db.session.execute(
        sa.update(Post)
        .where(Post.id == post.id, Post.deleted_at.is_(None))
        .values(deleted_at=sa.literal(now, UTCDateTime()), deleted_by_id=actor.id),
        execution_options={"synchronize_session": "fetch"},
    ).rowcount
    if not changed:
        return False
    topic = post.topic
    _visible_delta(post, topic, -1)
    if topic.accepted_post_id == post.id:
        topic.accepted_post_id = None
    if post.number == 1 and topic.deleted_at is None:
        topic.deleted_at = now
        db.session.flush()
        # The topic's remaining visible posts leave the category with it.
        posts = sa.select(Topic.post_count).where(Topic.id == topic.id).scalar_subquery()
        change_category_counts(topic.category_id, topics=-1, posts=-posts)
        refresh_last_topics(topic.category_id)
    db.session.flush()
    if actor.id != post.user_id:
        record_action(actor, "post.delete", post)
    return True


def restore_post(actor: User, post: Post) -> bool:
    """Undo a soft delete; restoring the first post restores the topic. False if it was not deleted."""
    changed = db.session.execute(
        sa.update(Post)
        .where(Post.id == post.id, Post.deleted_at.is_not(None))
        .values(deleted_at=None, deleted_by_id=None),
        execution_options={"synchronize_session": "fetch"},
    ).rowcount
    if not changed:
        return False
    topic = post.topic
    _visible_delta(post, topic, +1)
    if post.number == 1 and topic.deleted_at is not None:
        topic.deleted_at = None
        db.session.flush()
        posts = sa.select(Topic.post_count).where(Topic.id == topic.id).scalar_subquery()
        change_category_counts(topic.category_id, topics=+1, posts=posts)
        refresh_last_topics(topic.category_id)
    db.session.flush()
    record_action(actor, "post.restore", post)
    return True


