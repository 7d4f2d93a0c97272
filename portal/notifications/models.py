"""The email outbox: one row per message, written in the sender's transaction."""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from portal.db import UTCDateTime, str_enum, utcnow
from portal.extensions import db


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
