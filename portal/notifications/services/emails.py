"""Notification email: the delayed immediate email (with the daily cap) and the digest. Both run as jobs.

Exactly once, with several workers: an immediate email is claimed by one conditional UPDATE of its notification
(pending → sent), and a digest period by inserting its (user, period) row; whoever loses the race does nothing.
Every email has a text and an HTML part, a link to the notification settings, and a one-click unsubscribe link
for its kind, also given as RFC 8058 List-Unsubscribe / List-Unsubscribe-Post headers.
"""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import joinedload

from portal.db import immediate_transactions, utcnow
from portal.extensions import db
from portal.notifications import kinds
from portal.notifications.models import (
    CategoryWatch,
    DigestFrequency,
    DigestRun,
    DigestSettings,
    EmailStatus,
    Notification,
    TopicWatch,
    WatchLevel,
)
from portal.notifications.services.outbox import send_email
from portal.notifications.services.preferences import DIGEST, default_schedule, unsubscribe_token
from portal.templating import absolute_url

DIGEST_MAX_NOTIFICATIONS = 50


def _zone(name: str | None) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(name or "UTC")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo("UTC")


def local_day_start(user: Any, now: datetime) -> datetime:
    """Midnight of the person's current day, in UTC: the daily cap counts their day, not the server's."""
    local = now.astimezone(_zone(user.timezone))
    return local.replace(hour=0, minute=0, second=0, microsecond=0).astimezone(UTC)


def unsubscribe_headers(user: Any, kind: str) -> tuple[str, dict[str, str]]:
    """The unsubscribe link for a kind, and the RFC 8058 headers that let mail clients use it in one click."""
    link = absolute_url("notifications.unsubscribe", token=unsubscribe_token(user, kind))
    return link, {"List-Unsubscribe": f"<{link}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}


def _common(user: Any, kind: str) -> tuple[dict[str, Any], dict[str, str]]:
    link, headers = unsubscribe_headers(user, kind)
    return {"user": user, "unsubscribe_link": link,
            "settings_link": absolute_url("notifications.settings")}, headers


# --- Immediate email ----------------------------------------------------------------------------------------


def send_due_emails(now: datetime | None = None, limit: int = 500) -> int:
    """Email the notifications whose delay has passed and that nobody has seen; returns how many were emailed.

    Each one is claimed by a conditional UPDATE and handled in its own transaction. Past EMAIL_DAILY_CAP
    emails in the person's day, a notification waits for the digest instead, and the last email said so.
    """
    now = now or utcnow()
    emailed = 0
    with immediate_transactions():
        db.session.commit()
        due = list(db.session.scalars(
            sa.select(Notification.id)
            .where(Notification.email_status == EmailStatus.PENDING, Notification.email_due_at <= now)
            .order_by(Notification.email_due_at, Notification.id)
            .limit(limit)
        ))
        db.session.commit()
        for notification_id in due:
            emailed += _email_one(notification_id, now)
            db.session.commit()
    return emailed


def _email_one(notification_id: int, now: datetime) -> int:
    from portal.accounts.models import User

    claimed = db.session.execute(
        sa.update(Notification)
        .where(Notification.id == notification_id, Notification.email_status == EmailStatus.PENDING,
               Notification.read_at.is_(None))
        .values(email_status=EmailStatus.SENT, emailed_at=now),
        execution_options={"synchronize_session": False},
    ).rowcount
    if not claimed:
        # Seen meanwhile (or another worker has it): settle a seen one so it is not looked at again.
        db.session.execute(
            sa.update(Notification)
            .where(Notification.id == notification_id, Notification.email_status == EmailStatus.PENDING,
                   Notification.read_at.is_not(None))
            .values(email_status=EmailStatus.SEEN),
            execution_options={"synchronize_session": False},
        )
        return 0
    notification = db.session.scalars(
        sa.select(Notification).where(Notification.id == notification_id)
        .options(joinedload(Notification.user), joinedload(Notification.actor))
    ).one()
    user = notification.user
    # One person's emails are counted under a lock on their row, so two workers can't both send the last one.
    db.session.execute(sa.select(User.id).where(User.id == user.id).with_for_update())
    sent_today = db.session.scalar(
        sa.select(sa.func.count()).select_from(Notification).where(
            Notification.user_id == user.id, Notification.email_status == EmailStatus.SENT,
            Notification.emailed_at >= local_day_start(user, now), Notification.id != notification.id,
        )
    ) or 0
    cap = current_app.config["EMAIL_DAILY_CAP"]
    if sent_today >= cap or not user.is_verified or user.is_suspended:
        notification.email_status = EmailStatus.DIGEST if user.is_verified else EmailStatus.NONE
        notification.emailed_at = None
        db.session.flush()
        return 0
    if not _still_visible(notification, user):
        # Deleted, or moved out of the person's sight, since it happened: nothing to email about.
        notification.email_status, notification.emailed_at = EmailStatus.NONE, None
        db.session.flush()
        return 0
    kind = kinds.get_kind(notification.kind)
    context, headers = _common(user, kind.name)
    actor_name = notification.actor.display_name if notification.actor else None
    send_email(
        user.email, kind.sentence(actor_name, f"“{notification.subject}”"), "notification", headers=headers,
        notification=notification, kind=kind, actor_name=actor_name,
        link=current_app.config["SITE_URL"] + notification.url, last_before_cap=sent_today + 1 >= cap, cap=cap,
        **context,
    )
    return 1


def _still_visible(notification: Notification, user: Any) -> bool:
    """A forum notification's post still stands and the person may still see it (checked again at send time)."""
    if notification.post_id is None:
        return True
    from portal.forums.models import Category, Post, Topic
    from portal.permissions import can_see_post

    post = db.session.scalars(
        sa.select(Post).where(Post.id == notification.post_id)
        .options(joinedload(Post.topic).joinedload(Topic.category).joinedload(Category.parent))
    ).first()
    return post is not None and post.deleted_at is None and can_see_post(user, post, post.topic)


def _standing_post():
    """Notifications without a post, or whose post is not deleted (for the digest's query)."""
    from portal.forums.models import Post, Topic

    standing = sa.select(Post.id).join(Topic, Topic.id == Post.topic_id).where(
        Post.id == Notification.post_id, Post.deleted_at.is_(None), Topic.deleted_at.is_(None))
    return sa.or_(Notification.post_id.is_(None), sa.exists(standing))


# --- Digests ------------------------------------------------------------------------------------------------


def digest_period(frequency: DigestFrequency, local: datetime) -> str:
    if frequency == DigestFrequency.WEEKLY:
        year, week, _ = local.isocalendar()
        return f"week:{year}-W{week:02d}"
    return f"day:{local.date().isoformat()}"


@dataclass
class DigestContent:
    notifications: list[Notification] = field(default_factory=list)
    new_topics: list[Notification] = field(default_factory=list)
    popular: list[Any] = field(default_factory=list)
    more: int = 0

    @property
    def empty(self) -> bool:
        return not (self.notifications or self.new_topics or self.popular)


def due_digest_users(now: datetime) -> list[tuple[Any, str, DigestFrequency]]:
    """Who is due a digest now: their chosen hour has come today (and it is their weekday, for weekly ones),
    they were seen within DIGEST_INACTIVE_DAYS, their address is confirmed, and this period is not done yet."""
    from portal.accounts.models import User

    config = current_app.config
    defaults = default_schedule()
    frequency = sa.func.coalesce(DigestSettings.frequency, defaults.frequency.value)
    hour = sa.func.coalesce(DigestSettings.hour, defaults.hour)
    weekday = sa.func.coalesce(DigestSettings.weekday, defaults.weekday)
    cutoff = now - timedelta(days=config["DIGEST_INACTIVE_DAYS"])
    zones = list(db.session.scalars(sa.select(User.timezone).distinct()))
    due: list[tuple[Any, str, DigestFrequency]] = []
    for zone_name in zones:
        local = now.astimezone(_zone(zone_name))
        day, week = digest_period(DigestFrequency.DAILY, local), digest_period(DigestFrequency.WEEKLY, local)
        done = sa.select(DigestRun.id).where(DigestRun.user_id == User.id)
        rows = db.session.execute(
            sa.select(User, frequency)
            .outerjoin(DigestSettings, DigestSettings.user_id == User.id)
            .where(
                User.timezone == zone_name,
                User.email_verified_at.is_not(None),
                sa.or_(User.suspended_until.is_(None), User.suspended_until <= now),
                sa.func.coalesce(User.last_seen_at, User.created_at) >= cutoff,
                hour <= local.hour,
                sa.or_(
                    sa.and_(frequency == DigestFrequency.DAILY.value,
                            ~sa.exists(done.where(DigestRun.period == day))),
                    sa.and_(frequency == DigestFrequency.WEEKLY.value, weekday == local.weekday(),
                            ~sa.exists(done.where(DigestRun.period == week))),
                ),
            )
            .order_by(User.id)
        ).unique().all()
        for user, chosen in rows:
            chosen = DigestFrequency(chosen)
            due.append((user, day if chosen == DigestFrequency.DAILY else week, chosen))
    return due


def digest_content(user: Any, frequency: DigestFrequency, now: datetime) -> DigestContent:
    """What a person's digest holds: notifications waiting for it (new topics in watched categories apart),
    and the most replied-to topics they can see, started since they last came (and within the period)."""
    from portal.forums.models import Topic, TopicContext
    from portal.forums.services import visible_category_ids
    from portal.notifications.queries import still_visible

    content = DigestContent()
    waiting = db.session.scalars(
        sa.select(Notification)
        .where(Notification.user_id == user.id, Notification.email_status == EmailStatus.DIGEST,
               Notification.read_at.is_(None), _standing_post(), still_visible(user))
        .options(joinedload(Notification.actor))
        .order_by(Notification.created_at.desc(), Notification.id.desc())
        .limit(DIGEST_MAX_NOTIFICATIONS + 1)
    ).all()
    if len(waiting) > DIGEST_MAX_NOTIFICATIONS:
        content.more = db.session.scalar(sa.select(sa.func.count()).select_from(Notification).where(
            Notification.user_id == user.id, Notification.email_status == EmailStatus.DIGEST,
            Notification.read_at.is_(None))) - DIGEST_MAX_NOTIFICATIONS
        waiting = waiting[:DIGEST_MAX_NOTIFICATIONS]
    for notification in waiting:
        (content.new_topics if notification.kind == kinds.NEW_TOPIC.name else content.notifications).append(
            notification)

    period = timedelta(days=7 if frequency == DigestFrequency.WEEKLY else 1)
    since = max(now - period, user.last_seen_at or user.created_at)
    # A topic the person has already been told about (in this digest, an earlier one or the app) is no news.
    told = sa.select(Notification.id).where(Notification.user_id == user.id, Notification.topic_id == Topic.id)
    muted_topics = sa.select(TopicWatch.topic_id).where(TopicWatch.user_id == user.id,
                                                        TopicWatch.level == WatchLevel.MUTED)
    muted_categories = sa.select(CategoryWatch.category_id).where(CategoryWatch.user_id == user.id,
                                                                  CategoryWatch.level == WatchLevel.MUTED)
    content.popular = list(db.session.scalars(
        sa.select(Topic)
        .where(
            Topic.context == TopicContext.FORUM, Topic.deleted_at.is_(None), Topic.created_at >= since,
            Topic.created_at <= now, Topic.user_id != user.id, Topic.post_count > 1,
            Topic.category_id.in_(visible_category_ids(user)),
            Topic.id.not_in(muted_topics), Topic.category_id.not_in(muted_categories), ~sa.exists(told),
        )
        .options(joinedload(Topic.category))
        .order_by(Topic.post_count.desc(), Topic.last_post_at.desc())
        .limit(current_app.config["DIGEST_POPULAR_TOPICS"])
    ))
    return content


def send_digests(now: datetime | None = None) -> int:
    """Send every digest that is due (see due_digest_users); returns how many emails were queued."""
    now = now or utcnow()
    sent = 0
    with immediate_transactions():
        db.session.commit()
        due = [(user.id, period, frequency) for user, period, frequency in due_digest_users(now)]
        db.session.commit()
        for user_id, period, frequency in due:
            sent += _digest_one(user_id, period, frequency, now)
            db.session.commit()
    return sent


def _digest_one(user_id: int, period: str, frequency: DigestFrequency, now: datetime) -> int:
    from portal.accounts.models import User

    run = DigestRun(user_id=user_id, period=period, created_at=now)
    try:
        with db.session.begin_nested():
            db.session.add(run)
    except sa.exc.IntegrityError:
        return 0  # another worker has this period
    user = db.session.get(User, user_id)
    content = digest_content(user, frequency, now)
    if content.empty:
        return 0
    context, headers = _common(user, DIGEST)
    count = len(content.notifications) + len(content.new_topics) + content.more
    parts = []
    if count:
        parts.append(f"{count} notification{'s' if count != 1 else ''}")
    if content.popular:
        parts.append(f"{len(content.popular)} popular topic{'s' if len(content.popular) != 1 else ''}")
    label = "weekly" if frequency == DigestFrequency.WEEKLY else "daily"
    email = send_email(
        user.email, f"Your {label} digest: {' and '.join(parts)}", "digest", headers=headers, content=content,
        frequency_label=label, kind_of=kinds.get_kind, site=current_app.config["SITE_URL"],
        topic_link=lambda topic: absolute_url("forums.topic", slug=topic.slug, topic_id=topic.id), **context,
    )
    run.outbox_email_id = email.id
    included = [n.id for n in (*content.notifications, *content.new_topics)]
    if included:
        db.session.execute(
            sa.update(Notification)
            .where(Notification.id.in_(included), Notification.email_status == EmailStatus.DIGEST)
            .values(email_status=EmailStatus.DIGESTED, emailed_at=now),
            execution_options={"synchronize_session": False},
        )
    db.session.flush()
    return 1
