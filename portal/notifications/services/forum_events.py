"""What the forum tells people: called by portal.forums.services inside the transaction of the forum action.

One event gives each person at most one notification, of the most specific kind that applies: a mention
inside a reply to your topic is one "mentioned" notification, not two. Never for your own action; never to
someone who can't see the post (whispers reach staff only; private categories their members); never from a
topic (or category) the person muted.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from portal.extensions import db
from portal.notifications import kinds
from portal.notifications.models import Notification, WatchLevel
from portal.notifications.services.notify import notify_many
from portal.notifications.services.watching import topic_levels, track_topic

# The composer's quote header: > **[Name wrote](/p/ID):**
_QUOTE = re.compile(r"\[[^\]\n]{0,200} wrote\]\(/p/(\d{1,18})\)")
MAX_QUOTED = 10


def quoted_author_ids(body: str) -> list[int]:
    """The authors of the posts a body quotes (through the composer's "Name wrote" links), each once."""
    post_ids = list(dict.fromkeys(int(i) for i in _QUOTE.findall(body or "")))[:MAX_QUOTED]
    if not post_ids:
        return []
    from portal.forums.models import Post

    authors = dict(db.session.execute(sa.select(Post.id, Post.user_id).where(Post.id.in_(post_ids))).all())
    return list(dict.fromkeys(authors[i] for i in post_ids if i in authors))


class _Recipients:
    """Who gets which kind for one event: the first kind offered to a person is theirs."""

    def __init__(self, actor_id: int, levels: dict[int, WatchLevel]):
        self.actor_id = actor_id
        self.levels = levels
        self.kinds: dict[int, str] = {}

    def offer(self, user_ids: Iterable[int], kind: kinds.Kind) -> None:
        for user_id in user_ids:
            if user_id == self.actor_id or user_id in self.kinds:
                continue
            if self.levels.get(user_id) == WatchLevel.MUTED:
                continue
            self.kinds[user_id] = kind.name

    def at_levels(self, *wanted: WatchLevel) -> list[int]:
        return [u for u, level in self.levels.items() if level in wanted]


def _already_notified(post_id: int, user_ids: Iterable[int], kind: str | None = None) -> set[int]:
    ids = list(user_ids)
    if not ids:
        return set()
    query = sa.select(Notification.user_id).where(Notification.post_id == post_id, Notification.user_id.in_(ids))
    if kind is not None:
        query = query.where(Notification.kind == kind)
    return set(db.session.scalars(query))


def _deliver(recipients: _Recipients, post: Any, topic: Any, actor: Any, now: datetime | None,
             skip: set[int] = frozenset()) -> list[Notification]:
    from portal.accounts.models import User
    from portal.permissions import can_see_post

    wanted = {u: k for u, k in recipients.kinds.items() if u not in skip}
    if not wanted:
        return []
    users = db.session.scalars(sa.select(User).where(User.id.in_(list(wanted)))).unique().all()
    people = {user: wanted[user.id] for user in users if can_see_post(user, post, topic)}
    return notify_many(people, post, actor, now=now)


def post_created(post: Any, topic: Any, author: Any, mentioned_ids: Iterable[int],
                 now: datetime | None = None) -> list[Notification]:
    """A new post: its author now tracks the topic; mentioned, quoted, the topic's author and watchers hear of it."""
    track_topic(author.id, topic.id)
    if topic.deleted_at is not None:
        return []
    recipients = _Recipients(author.id, topic_levels(topic))
    recipients.offer(mentioned_ids, kinds.MENTIONED)
    recipients.offer(quoted_author_ids(post.body), kinds.QUOTED)
    if post.number == 1:
        recipients.offer(recipients.at_levels(WatchLevel.WATCHING), kinds.NEW_TOPIC)
    else:
        recipients.offer([topic.user_id], kinds.REPLIED)
        recipients.offer(recipients.at_levels(WatchLevel.WATCHING), kinds.POSTED)
    return _deliver(recipients, post, topic, author, now)


def post_edited(post: Any, editor: Any, mentioned_ids: Iterable[int],
                now: datetime | None = None) -> list[Notification]:
    """People newly mentioned by an edit hear of it, once per post (an earlier notification for it counts)."""
    mentioned_ids = [u for u in mentioned_ids if u != editor.id]
    topic = post.topic
    if not mentioned_ids or topic.deleted_at is not None:
        return []
    recipients = _Recipients(post.user_id, topic_levels(topic))
    recipients.offer(mentioned_ids, kinds.MENTIONED)
    return _deliver(recipients, post, topic, post.user, now, skip=_already_notified(post.id, recipients.kinds))


def answer_accepted(actor: Any, topic: Any, post: Any, now: datetime | None = None) -> list[Notification]:
    """The author of the accepted answer hears of it (once per post, however often it is re-accepted)."""
    recipients = _Recipients(actor.id, topic_levels(topic))
    recipients.offer([post.user_id], kinds.ANSWER_ACCEPTED)
    skip = _already_notified(post.id, recipients.kinds, kinds.ANSWER_ACCEPTED.name)
    return _deliver(recipients, post, topic, actor, now, skip=skip)


def official_marked(actor: Any, post: Any, now: datetime | None = None) -> list[Notification]:
    """Those watching or tracking the topic (its author included) hear of its official answer, once per post."""
    topic = post.topic
    if post.is_whisper or topic.deleted_at is not None:
        return []
    recipients = _Recipients(actor.id, topic_levels(topic))
    recipients.offer(recipients.at_levels(WatchLevel.WATCHING, WatchLevel.TRACKING), kinds.OFFICIAL_ANSWER)
    skip = _already_notified(post.id, recipients.kinds, kinds.OFFICIAL_ANSWER.name)
    # Someone not yet past an unread notification about this very post (e.g. "posted in") gets that one
    # upgraded rather than a second one about the same post.
    unread = set(db.session.scalars(sa.select(Notification.id).where(
        Notification.post_id == post.id, Notification.read_at.is_(None),
        Notification.user_id.in_([u for u in recipients.kinds if u not in skip]),
        Notification.kind != kinds.OFFICIAL_ANSWER.name,
    ))) if recipients.kinds else set()
    if unread:
        upgraded = set(db.session.scalars(sa.update(Notification).where(Notification.id.in_(unread)).values(
            kind=kinds.OFFICIAL_ANSWER.name, actor_id=actor.id).returning(Notification.user_id),
            execution_options={"synchronize_session": False}))
        skip = skip | upgraded
    return _deliver(recipients, post, topic, actor, now, skip=skip)


def posts_moved(post_ids: Iterable[int]) -> None:
    """Staff merged or split a topic: notifications about these posts follow them to their topic and number."""
    from portal.forums.models import Post

    ids = list(post_ids)
    if not ids:
        return
    db.session.execute(
        sa.update(Notification).where(Notification.post_id.in_(ids)).values(
            topic_id=sa.select(Post.topic_id).where(Post.id == Notification.post_id).scalar_subquery(),
            post_number=sa.select(Post.number).where(Post.id == Notification.post_id).scalar_subquery(),
        ),
        execution_options={"synchronize_session": False},
    )


def topic_merged(source_id: int, target_id: int) -> None:
    """A topic merged into another: its watchers now watch the target (unless they chose a level there already),
    and notifications about the topic itself point at the target."""
    from portal.notifications.models import TopicWatch

    chose_already = sa.select(TopicWatch.user_id).where(TopicWatch.topic_id == target_id)
    db.session.execute(
        sa.update(TopicWatch).where(TopicWatch.topic_id == source_id, TopicWatch.user_id.not_in(chose_already))
        .values(topic_id=target_id),
        execution_options={"synchronize_session": False},
    )
    db.session.execute(sa.delete(TopicWatch).where(TopicWatch.topic_id == source_id))
    db.session.execute(
        sa.update(Notification).where(Notification.topic_id == source_id).values(topic_id=target_id),
        execution_options={"synchronize_session": False},
    )
