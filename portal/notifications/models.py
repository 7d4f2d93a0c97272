"""The email outbox, and notifications: who is told what, what they watch, and how they want email."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.db import UTCDateTime, str_enum, utcnow
from portal.extensions import db

if TYPE_CHECKING:
    from portal.accounts.models import User
    from portal.forums.models import Category, Topic


class OutboxStatus(enum.StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


class OutboxEmail(db.Model):
    __tablename__ = "outbox_emails"
    __table_args__ = (
        # The worker's claim query: pending rows that are due, oldest first.
        sa.Index("ix_outbox_emails_status_next_attempt", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    to_address: Mapped[str] = mapped_column(sa.String(254), index=True)
    subject: Mapped[str] = mapped_column(sa.String(250))
    body_text: Mapped[str] = mapped_column(sa.Text)
    body_html: Mapped[str] = mapped_column(sa.Text)
    # Which template made it (e.g. "verify_email"): lets the mail log and tests tell kinds apart.
    template: Mapped[str] = mapped_column(sa.String(80))
    # Extra message headers, e.g. List-Unsubscribe and List-Unsubscribe-Post (RFC 8058) on notification mail.
    headers: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    status: Mapped[OutboxStatus] = mapped_column(
        str_enum(OutboxStatus, 16),
        default=OutboxStatus.PENDING,
    )
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str] = mapped_column(sa.Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


# --- Notifications, watching, preferences ------------------------------------------------------------


class WatchLevel(enum.StrEnum):
    """Discourse's levels: watching (every new post), tracking and normal (replies to you, mentions, quotes;
    tracking adds official answers and is set for topics you start or reply to), muted (nothing at all)."""

    WATCHING = "watching"
    TRACKING = "tracking"
    NORMAL = "normal"
    MUTED = "muted"

    @property
    def label(self) -> str:
        return self.value.capitalize()

    @property
    def description(self) -> str:
        return {
            "watching": "Every new post, and new topics in a category.",
            "tracking": "Replies to you, mentions, quotes and official answers.",
            "normal": "Only when someone mentions, quotes or replies to you.",
            "muted": "Never; not even mentions.",
        }[self.value]


class EmailMode(enum.StrEnum):
    """How a kind of notification reaches a person's inbox."""

    OFF = "off"
    IMMEDIATELY = "immediately"
    DIGEST = "digest"

    @property
    def label(self) -> str:
        return {"off": "Off", "immediately": "Immediately", "digest": "In the digest"}[self.value]


class EmailStatus(enum.StrEnum):
    """Where a notification is on its way to email."""

    NONE = "none"  # no email wanted (mode off, or no confirmed address)
    PENDING = "pending"  # immediate email, due at email_due_at unless seen first
    DIGEST = "digest"  # waits for the next digest (mode digest, or past the daily cap)
    SENT = "sent"  # emailed on its own
    DIGESTED = "digested"  # went out in a digest
    SEEN = "seen"  # seen in the app before any email went: none will


class DigestFrequency(enum.StrEnum):
    OFF = "off"
    DAILY = "daily"
    WEEKLY = "weekly"

    @property
    def label(self) -> str:
        return {"off": "Never", "daily": "Daily", "weekly": "Weekly"}[self.value]


class Notification(db.Model):
    __tablename__ = "notifications"
    __table_args__ = (
        # The bell (unread count) and the notifications page: a user's rows, unread first by time.
        sa.Index("ix_notifications_user_read_at", "user_id", "read_at"),
        sa.Index("ix_notifications_user_created_at", "user_id", "created_at"),
        # The immediate-email job: pending rows by due time.
        sa.Index("ix_notifications_email_status_due", "email_status", "email_due_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    # A name in portal.notifications.kinds.KINDS (a string, so later features add kinds without a migration).
    kind: Mapped[str] = mapped_column(sa.String(40))
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"), index=True)
    # Forum targets, for grouping by topic and "seen when the post was read"; other kinds leave them empty.
    topic_id: Mapped[int | None] = mapped_column(sa.ForeignKey("topics.id", ondelete="CASCADE"), index=True)
    post_id: Mapped[int | None] = mapped_column(sa.ForeignKey("posts.id", ondelete="CASCADE"), index=True)
    post_number: Mapped[int | None]
    # What it is about, as it was when it happened (a title), a short plain-text excerpt, and where it leads
    # (a path on this site, e.g. /p/42 for a post's permalink).
    subject: Mapped[str] = mapped_column(sa.String(250), default="")
    excerpt: Mapped[str] = mapped_column(sa.String(300), default="")
    url: Mapped[str] = mapped_column(sa.String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    email_status: Mapped[EmailStatus] = mapped_column(str_enum(EmailStatus, 16), default=EmailStatus.NONE)
    email_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    emailed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    actor: Mapped[User | None] = relationship(foreign_keys=[actor_id])

    @property
    def is_unread(self) -> bool:
        return self.read_at is None


class TopicWatch(db.Model):
    """A person's chosen level for one topic (no row: their category's level, else normal)."""

    __tablename__ = "topic_watches"

    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    topic_id: Mapped[int] = mapped_column(
        sa.ForeignKey("topics.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    level: Mapped[WatchLevel] = mapped_column(str_enum(WatchLevel, 16))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    topic: Mapped[Topic] = relationship()


class CategoryWatch(db.Model):
    """A person's chosen level for a category: its topics inherit it unless the topic has its own."""

    __tablename__ = "category_watches"

    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    category_id: Mapped[int] = mapped_column(
        sa.ForeignKey("categories.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    level: Mapped[WatchLevel] = mapped_column(str_enum(WatchLevel, 16))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    category: Mapped[Category] = relationship()


class EmailPreference(db.Model):
    """A person's email mode for one kind, where it differs from the kind's default."""

    __tablename__ = "notification_email_preferences"

    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    mode: Mapped[EmailMode] = mapped_column(str_enum(EmailMode, 16))


class DigestSettings(db.Model):
    """When a person gets their digest (no row: the defaults in config, DIGEST_DEFAULT_*)."""

    __tablename__ = "digest_settings"

    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    frequency: Mapped[DigestFrequency] = mapped_column(str_enum(DigestFrequency, 16))
    hour: Mapped[int]  # 0–23, in the person's time zone
    weekday: Mapped[int]  # 0 = Monday … 6 = Sunday, for weekly digests


class DigestRun(db.Model):
    """One digest period of one person, claimed by inserting this row: each period is handled once."""

    __tablename__ = "digest_runs"
    __table_args__ = (sa.UniqueConstraint("user_id", "period"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    # "day:2026-12-01" or "week:2026-W49", in the person's time zone.
    period: Mapped[str] = mapped_column(sa.String(24))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)  # pruning
    # Empty when there was nothing to send (the period is still done).
    outbox_email_id: Mapped[int | None] = mapped_column(sa.ForeignKey("outbox_emails.id", ondelete="SET NULL"))


class JobRun(db.Model):
    """One run of a scheduled job for one time slot, claimed by inserting this row (several workers: once)."""

    __tablename__ = "job_runs"
    __table_args__ = (sa.UniqueConstraint("job", "slot"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    job: Mapped[str] = mapped_column(sa.String(64))
    slot: Mapped[int] = mapped_column(sa.BigInteger)  # seconds since the epoch // the job's interval
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)  # pruning
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    result: Mapped[str] = mapped_column(sa.String(500), default="")
