"""Staff restructuring threads: merging a topic into another, and splitting posts off into a new topic.

Both move posts between topics, so both recount what is denormalised from the rows themselves — the topics'
counts, numbers, last activity and first staff reply, and the categories' counts — rather than adjusting them
by deltas: a restructure is rare, and a recount is right by construction.

Post ids never change, so /p/<id> permalinks, likes, revisions, mentions and notifications keep pointing at the
right post; post numbers change only where they must (the merged topic, the new topic).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from portal.accounts.models import User
from portal.db import utcnow
from portal.errors import RuleViolation
from portal.extensions import db
from portal.forums.models import Category, Post, Topic, TopicContext, TopicRead
from portal.forums.services.categories import refresh_last_topics
from portal.forums.services.posts import _notifications, check_title
from portal.moderation.services import record_action
from portal.permissions import Role

STAFF_ROLES = (Role.STAFF, Role.ADMIN)


def _check_restructurable(topic: Topic, what: str) -> None:
    if topic.context != TopicContext.FORUM:
        raise RuleViolation(f"Only forum topics can be {what}.")
    if topic.deleted_at is not None:
        raise RuleViolation("This topic was deleted: restore it first.")


def recount_topic(topic_id: int) -> None:
    """Every counter of a topic from its posts: visible posts, the highest number, last activity and poster, and
    the first staff reply (a non-whisper, non-deleted staff post after the first)."""
    visible = sa.and_(Post.topic_id == topic_id, Post.is_whisper.is_(False), Post.deleted_at.is_(None))
    # Newest by time, not by number: a merge keeps the target's opening post first even when it is the newest.
    newest = (
        sa.select(Post.created_at, Post.user_id).where(visible)
        .order_by(Post.created_at.desc(), Post.number.desc()).limit(1)
    )
    first_staff = (
        sa.select(sa.func.min(Post.created_at))
        .join(User, User.id == Post.user_id)
        .where(visible, Post.number > 1, User.role.in_(STAFF_ROLES))
        .scalar_subquery()
    )
    db.session.execute(
        sa.update(Topic).where(Topic.id == topic_id).values(
            post_count=sa.select(sa.func.count(Post.id)).where(visible).scalar_subquery(),
            highest_post_number=sa.select(sa.func.coalesce(sa.func.max(Post.number), 0))
            .where(Post.topic_id == topic_id).scalar_subquery(),
            last_post_at=sa.func.coalesce(newest.with_only_columns(Post.created_at).scalar_subquery(),
                                          Topic.created_at),
            last_poster_id=sa.func.coalesce(newest.with_only_columns(Post.user_id).scalar_subquery(), Topic.user_id),
            first_staff_reply_at=first_staff,
        ),
        execution_options={"synchronize_session": "fetch"},
    )


def recount_category(category_id: int | None) -> None:
    """A category's topic and post counts from its standing topics."""
    if category_id is None:
        return
    standing = sa.and_(Topic.category_id == category_id, Topic.deleted_at.is_(None))
    db.session.execute(
        sa.update(Category).where(Category.id == category_id).values(
            topic_count=sa.select(sa.func.count(Topic.id)).where(standing).scalar_subquery(),
            post_count=sa.select(sa.func.coalesce(sa.func.sum(Topic.post_count), 0)).where(standing).scalar_subquery(),
        ),
        execution_options={"synchronize_session": "fetch"},
    )


def _recount_after_moving(*topics: Topic) -> None:
    """Posts moved between these topics: their counters, their categories' counts and latest topics, from the rows."""
    db.session.flush()
    category_ids = {t.category_id for t in topics}
    for topic in topics:
        recount_topic(topic.id)
    for category_id in category_ids:
        recount_category(category_id)
    refresh_last_topics(*category_ids)
    db.session.expire_all()


def _renumber(topic_id: int, ordered_post_ids: list[int]) -> dict[int, int]:
    """Give these posts (now all in the topic) the numbers 1, 2, … in this order; returns {post id: number}.

    First every number goes negative (callers move posts in with negative numbers already), then each post takes
    its final one: no single row update ever meets a number still in use, so the unique (topic, number) index
    holds at every step, on both databases.
    """
    db.session.execute(
        sa.update(Post).where(Post.topic_id == topic_id, Post.number > 0).values(number=-Post.number),
        execution_options={"synchronize_session": False},
    )
    numbers = {post_id: n for n, post_id in enumerate(ordered_post_ids, start=1)}
    if numbers:
        posts = Post.__table__
        db.session.connection().execute(
            sa.update(posts).where(posts.c.id == sa.bindparam("pid")).values(number=sa.bindparam("num")),
            [{"pid": pid, "num": num} for pid, num in numbers.items()],
        )
    return numbers


def _read_markers(topic_id: int) -> dict[int, int]:
    return dict(db.session.execute(
        sa.select(TopicRead.user_id, TopicRead.last_read_number).where(TopicRead.topic_id == topic_id)
    ).all())


def _first_unread_at(numbers: list[int], positions: dict[int, int], read_up_to: int) -> int:
    """Where, in the new order, the first post the reader had not read of this old topic now stands."""
    for old_number in numbers:
        if old_number > read_up_to:
            return positions[old_number]
    return 10**9  # read it all


def merge_topics(actor: User, source: Topic, target: Topic, reason: str = "") -> None:
    """Move every post of `source` into `target`, interleaved by time; `source` then redirects to `target`.

    Read markers follow: a reader's new marker is the last post before the first one they had not read, in
    either topic, so nobody is shown as having read a post they never saw.
    """
    if source.id == target.id:
        raise RuleViolation("A topic can't be merged into itself.", field="target")
    _check_restructurable(source, "merged")
    if target.merged_into_id is not None:
        raise RuleViolation("That topic was itself merged away: merge into the topic it points to.", field="target")
    _check_restructurable(target, "merged")
    rows = db.session.execute(
        sa.select(Post.id, Post.topic_id, Post.number, Post.created_at)
        .where(Post.topic_id.in_([source.id, target.id]))
    ).all()
    # Time order; at equal times the target's posts first, then each topic's own order.
    ordered = sorted(rows, key=lambda r: (r.created_at, r.topic_id != target.id, r.number))
    # The target's opening post stays first, whatever the clocks say.
    ordered.sort(key=lambda r: not (r.topic_id == target.id and r.number == 1))
    new_number = {r.id: n for n, r in enumerate(ordered, start=1)}
    positions = {t: {r.number: new_number[r.id] for r in rows if r.topic_id == t} for t in (source.id, target.id)}
    old_numbers = {t: sorted(positions[t]) for t in positions}
    markers = {t: _read_markers(t) for t in (source.id, target.id)}

    db.session.execute(
        sa.update(Post).where(Post.topic_id == source.id).values(topic_id=target.id, number=-Post.number - 10**6),
        execution_options={"synchronize_session": False},
    )
    _renumber(target.id, [r.id for r in ordered])

    readers = set(markers[source.id]) | set(markers[target.id])
    db.session.execute(sa.delete(TopicRead).where(TopicRead.topic_id.in_([source.id, target.id])))
    now = utcnow()
    new_markers = []
    for user_id in readers:
        first_unread = min(
            _first_unread_at(old_numbers[t], positions[t], markers[t].get(user_id, 0)) for t in positions
        )
        read = min(first_unread - 1, len(ordered))
        if read > 0:
            new_markers.append({"user_id": user_id, "topic_id": target.id, "last_read_number": read,
                                "updated_at": now})
    if new_markers:
        db.session.execute(sa.insert(TopicRead), new_markers)

    events = _notifications()
    events.posts_moved([r.id for r in rows])  # the target's own posts were renumbered too
    events.topic_merged(source.id, target.id)
    if target.accepted_post_id is None and source.accepted_post_id is not None:
        target.accepted_post_id = source.accepted_post_id
    source.accepted_post_id = None
    source.merged_into_id = target.id
    source.deleted_at = now
    _recount_after_moving(source, target)
    record_action(actor, "topic.merge", target, reason=reason,
                  after={"merged_topic": source.title, "merged_topic_id": source.id, "posts_now": len(ordered)})


def split_topic(actor: User, source: Topic, post_ids: list[int], title: str, category: Category,
                reason: str = "") -> Topic:
    """Move the chosen replies of `source` into a new topic in `category`, in time order; the earliest becomes
    its first post (and its author the topic's starter). The source keeps its numbers (gaps are fine: pages are
    counted, not computed from numbers), so its permalinks and read markers stay right."""
    _check_restructurable(source, "split")
    title = check_title(title)
    wanted = set(post_ids)
    if not wanted:
        raise RuleViolation("Choose the posts to move.", field="posts")
    posts = list(db.session.scalars(
        sa.select(Post).where(Post.id.in_(wanted), Post.topic_id == source.id).order_by(Post.created_at, Post.number)
    ))
    if len(posts) != len(wanted):
        raise RuleViolation("Choose posts of this topic.", field="posts")
    if any(p.number == 1 for p in posts):
        raise RuleViolation("The first post stays: it is what the topic is about. Choose replies.", field="posts")
    opening = next((p for p in posts if p.deleted_at is None and not p.is_whisper), None)
    if opening is None:
        raise RuleViolation("Include at least one reply that is neither deleted nor a whisper: it becomes the new "
                            "topic's first post.", field="posts")
    posts.remove(opening)
    posts.insert(0, opening)
    new = Topic(context=TopicContext.FORUM, category_id=category.id, user_id=opening.user_id, title=title,
                created_at=opening.created_at, last_post_at=opening.created_at)
    db.session.add(new)
    db.session.flush()
    db.session.execute(
        sa.update(Post).where(Post.id.in_(wanted)).values(topic_id=new.id, number=-Post.number - 10**6),
        execution_options={"synchronize_session": False},
    )
    _renumber(new.id, [p.id for p in posts])
    _notifications().posts_moved(wanted)
    if source.accepted_post_id in wanted:
        source.accepted_post_id = None
    _recount_after_moving(source, new)
    record_action(actor, "topic.split", source, reason=reason,
                  after={"new_topic": title, "new_topic_id": new.id, "posts": len(posts)})
    return db.session.get(Topic, new.id)


def merge_target(raw: str) -> Any:
    """The topic a staff member means by a pasted URL (/t/slug/123, /t/slug/123/4, /p/…) or a number."""
    import re

    text = (raw or "").strip()
    match = re.search(r"/t/[^/]+/(\d+)", text) or re.fullmatch(r"#?(\d+)", text)
    if match:
        return db.session.get(Topic, int(match.group(1)))
    post_match = re.search(r"/p/(\d+)", text)
    if post_match:
        post = db.session.get(Post, int(post_match.group(1)))
        return post.topic if post is not None else None
    return None
