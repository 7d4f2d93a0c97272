"""Posting limits for newcomers, each refusal saying exactly what the limit is and when they can post again.

- Between two posts: POST_INTERVAL_SECONDS (10), or NEW_USER_POST_INTERVAL_SECONDS (60) for an account younger
  than NEW_ACCOUNT_HOURS (24).
- New accounts start at most NEW_USER_TOPICS_PER_DAY (5) topics in 24 hours.
- The same body twice within DUPLICATE_POST_MINUTES (5) is refused.

Staff, and customers with TRUSTED_AFTER_POSTS (5) posts that stand (neither deleted nor hidden) whose account is
past its first NEW_ACCOUNT_HOURS, are exempt: a day-old account cannot post its way out of the day's limits. The
views call `check_posting_limits` in the posting transaction, before the post is made; a refusal comes back on
the composer with everything typed kept. A person's own posts take turns (PostgreSQL: their user row's lock;
SQLite: the write lock), so two tabs cannot both slip under a limit. Posts held for approval
(portal.moderation.approval) count as posts here: being held lifts no limit.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app

from portal.accounts.models import User
from portal.db import utcnow
from portal.errors import RuleViolation
from portal.extensions import db
from portal.forums.models import Post, Topic
from portal.moderation.models import ReviewItem, ReviewKind, ReviewStatus
from portal.permissions import is_staff
from portal.templating import format_datetime


def _setting(name: str) -> int:
    return int(current_app.config[name])


def standing_posts(user: Any) -> int:
    """Posts of theirs that stand: what makes a customer trusted."""
    return db.session.scalar(
        sa.select(sa.func.count(Post.id)).where(Post.user_id == user.id, Post.deleted_at.is_(None),
                                                Post.hidden_at.is_(None))
    ) or 0


def is_new_account(user: Any, now: datetime | None = None) -> bool:
    return (now or utcnow()) - user.created_at < timedelta(hours=_setting("NEW_ACCOUNT_HOURS"))


def is_trusted(user: Any, now: datetime | None = None) -> bool:
    """A customer past their first day with enough posts that stand."""
    return not is_new_account(user, now) and standing_posts(user) >= _setting("TRUSTED_AFTER_POSTS")


def is_exempt(user: Any, now: datetime | None = None) -> bool:
    """Staff and trusted customers are not limited."""
    return is_staff(user) or is_trusted(user, now)


def _seconds(delta: timedelta) -> int:
    return max(1, int(delta.total_seconds() + 0.999))


def check_posting_limits(user: Any, body: str, *, new_topic: bool, now: datetime | None = None) -> None:
    """Raise RuleViolation (with when they can post again) if this post would break a newcomer limit."""
    if is_staff(user):
        return
    now = now or utcnow()
    db.session.execute(sa.select(User.id).where(User.id == user.id).with_for_update())
    if is_trusted(user, now):
        return
    new = is_new_account(user, now)
    tz = getattr(user, "timezone", None) or "UTC"

    # Posts waiting for approval count like published ones: holding a post must not lift the limits.
    held = sa.and_(ReviewItem.author_id == user.id, ReviewItem.kind == ReviewKind.APPROVAL)
    last = max((t for t in (
        db.session.scalar(sa.select(sa.func.max(Post.created_at)).where(Post.user_id == user.id)),
        db.session.scalar(sa.select(sa.func.max(ReviewItem.created_at)).where(held)),
    ) if t is not None), default=None)
    interval = timedelta(seconds=_setting("NEW_USER_POST_INTERVAL_SECONDS" if new else "POST_INTERVAL_SECONDS"))
    if last is not None and now - last < interval:
        wait = _seconds(interval - (now - last))
        who = (f"new members wait {_setting('NEW_USER_POST_INTERVAL_SECONDS')} seconds" if new
               else f"everyone waits {_setting('POST_INTERVAL_SECONDS')} seconds")
        raise RuleViolation(
            f"You can post again in {wait} {'second' if wait == 1 else 'seconds'}: to keep threads readable, {who} "
            "between posts. What you wrote is still here; press the button again then.", field="body")

    minutes = _setting("DUPLICATE_POST_MINUTES")
    same = db.session.execute(
        sa.select(Post.created_at, Topic.title).join(Topic, Topic.id == Post.topic_id)
        .where(Post.user_id == user.id, Post.body == body, Post.created_at > now - timedelta(minutes=minutes),
               Post.deleted_at.is_(None))
        .order_by(Post.created_at.desc()).limit(1)
    ).first()
    if same is None:
        same = db.session.execute(
            sa.select(ReviewItem.created_at, sa.func.coalesce(Topic.title, ReviewItem.title).label("title"))
            .outerjoin(Topic, Topic.id == ReviewItem.topic_id)
            .where(held, ReviewItem.body == body, ReviewItem.created_at > now - timedelta(minutes=minutes),
                   ReviewItem.status.in_([ReviewStatus.PENDING, ReviewStatus.REJECTED]))
            .order_by(ReviewItem.created_at.desc()).limit(1)
        ).first()
    if same is not None:
        again = format_datetime(same.created_at + timedelta(minutes=minutes), tz)
        raise RuleViolation(
            f"You posted exactly this a moment ago in “{same.title}”. Change it, or post the same words again after "
            f"{again}.", field="body")

    if new_topic and new:
        per_day = _setting("NEW_USER_TOPICS_PER_DAY")
        day_ago = now - timedelta(days=1)
        recent = sorted([
            *db.session.scalars(
                sa.select(Topic.created_at).where(Topic.user_id == user.id, Topic.created_at > day_ago)),
            *db.session.scalars(sa.select(ReviewItem.created_at).where(
                held, ReviewItem.category_id.is_not(None), ReviewItem.status == ReviewStatus.PENDING,
                ReviewItem.created_at > day_ago)),
        ])
        if len(recent) >= per_day:
            when = format_datetime(recent[len(recent) - per_day] + timedelta(days=1), tz)
            raise RuleViolation(
                f"New members can start {per_day} topics a day, and you have started {len(recent)} today. You can "
                f"start another at {when}; replying to existing topics works now. (The limit goes once your "
                f"account is a day old.)", field="title")
