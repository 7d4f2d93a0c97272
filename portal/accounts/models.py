"""Users, their organisations, and the single-use tokens sent to them by email."""

from __future__ import annotations

import enum
from datetime import UTC, datetime

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.db import UTCDateTime, str_enum, utcnow
from portal.extensions import db
from portal.permissions import Role

# An indefinite suspension is stored as a date no one will reach, so "suspended" is always one comparison.
SUSPENDED_INDEFINITELY = datetime(9999, 12, 31, tzinfo=UTC)


class Tier(enum.StrEnum):
    STANDARD = "standard"
    PREMIUM = "premium"
    ENTERPRISE = "enterprise"
    STRATEGIC = "strategic"

    @property
    def label(self) -> str:
        return self.value.capitalize()


class TokenPurpose(enum.StrEnum):
    VERIFY_EMAIL = "verify_email"
    CHANGE_EMAIL = "change_email"
    RESET_PASSWORD = "reset_password"  # noqa: S105  (a token purpose, not a password)


class Organization(db.Model):
    __tablename__ = "organizations"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(120), unique=True)
    # Lower-case domain; a verified user whose email is at this domain joins the organisation.
    email_domain: Mapped[str | None] = mapped_column(sa.String(253), unique=True)
    tier: Mapped[Tier] = mapped_column(
        str_enum(Tier, 16),
        default=Tier.STANDARD,
    )
    # Yearly contract value in whole currency units; weights ideas and advocates later.
    annual_value: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    is_vendor: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def __repr__(self) -> str:
        return f"<Organization {self.id} {self.name!r}>"


class User(UserMixin, db.Model):
    __tablename__ = "users"
    __table_args__ = (sa.Index("ix_users_role_created", "role", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # Stored lower-cased, so the unique constraint compares case-insensitively on every database.
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    display_name: Mapped[str] = mapped_column(sa.String(80), index=True)
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    role: Mapped[Role] = mapped_column(
        str_enum(Role, 16),
        default=Role.CUSTOMER,
    )
    organization_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("organizations.id", ondelete="SET NULL"), index=True
    )
    job_title: Mapped[str] = mapped_column(sa.String(120), default="")
    bio: Mapped[str] = mapped_column(sa.String(500), default="")
    timezone: Mapped[str] = mapped_column(sa.String(64), default="UTC")
    email_verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Address waiting for confirmation after a change of email; the old one stays in force until then.
    pending_email: Mapped[str | None] = mapped_column(sa.String(254))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    suspended_until: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    suspended_reason: Mapped[str] = mapped_column(sa.String(500), default="")
    # Their posts held for a moderator's approval (portal.moderation.approval), kept in SQL by its services: the
    # topic page and the menu look for them only when there are some.
    posts_awaiting_approval: Mapped[int] = mapped_column(default=0, server_default="0")
    # Part of the session identity: changing it (password change or reset) signs out every other session.
    session_stamp: Mapped[str] = mapped_column(sa.String(32))

    organization: Mapped[Organization | None] = relationship(lazy="joined", innerjoin=False)

    def get_id(self) -> str:
        return f"{self.id}:{self.session_stamp}"

    @property
    def is_verified(self) -> bool:
        return self.email_verified_at is not None

    @property
    def is_suspended(self) -> bool:
        return self.suspended_until is not None and self.suspended_until > utcnow()

    @property
    def suspended_indefinitely(self) -> bool:
        return self.suspended_until is not None and self.suspended_until >= SUSPENDED_INDEFINITELY

    @property
    def email_domain(self) -> str:
        return self.email.rsplit("@", 1)[-1]

    def __repr__(self) -> str:
        return f"<User {self.id} {self.email!r}>"


class AccountToken(db.Model):
    """A single-use secret sent by email. Only its SHA-256 is stored, so a database leak yields no links."""

    __tablename__ = "account_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[TokenPurpose] = mapped_column(
        str_enum(TokenPurpose, 24)
    )
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    # The address the token was sent to: a token only ever acts on that address.
    email: Mapped[str] = mapped_column(sa.String(254))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()
