"""The audit log: one row per moderation or admin action, written in the action's own transaction."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.db import UTCDateTime, partial_index, str_enum, utcnow
from portal.extensions import db

if TYPE_CHECKING:  # by name at run time: the services of accounts and forums import this module
    from portal.accounts.models import User
    from portal.forums.models import Category, Post, Topic


class AuditEntry(db.Model):
    """Who did what to which object, when, why, and what it was before and after. Never changed or deleted.

    The target is named by type and id, and by a label copied at the time (a topic's title, a person's name):
    the log still reads right after the object is renamed or gone.
    """

    __tablename__ = "audit_entries"
    __table_args__ = (
        # The log page: newest first, optionally for one action, one actor or one target.
        sa.Index("ix_audit_entries_action_created", "action", "created_at"),
        sa.Index("ix_audit_entries_actor_created", "actor_id", "created_at"),
        sa.Index("ix_audit_entries_target_created", "target_type", "target_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))  # None: the system (seeds, commands)
    actor_label: Mapped[str] = mapped_column(sa.String(120))
    action: Mapped[str] = mapped_column(sa.String(40))
    target_type: Mapped[str] = mapped_column(sa.String(20))
    target_id: Mapped[int | None]
    target_label: Mapped[str] = mapped_column(sa.String(200), default="")
    reason: Mapped[str] = mapped_column(sa.Text, default="")
    before: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)


@sa.event.listens_for(AuditEntry, "before_update")
@sa.event.listens_for(AuditEntry, "before_delete")
def _entries_are_final(_mapper, _connection, entry: AuditEntry) -> None:
    raise RuntimeError(f"audit entry {entry.id} cannot be changed or deleted: the audit log is append-only")


class FlagReason(enum.StrEnum):
    SPAM = "spam"
    OFF_TOPIC = "off_topic"
    INAPPROPRIATE = "inappropriate"
    OTHER = "other"

    @property
    def label(self) -> str:
        return _REASON_LABELS[self]


_REASON_LABELS = {
    FlagReason.SPAM: "Spam",
    FlagReason.OFF_TOPIC: "Off-topic",
    FlagReason.INAPPROPRIATE: "Inappropriate",
    FlagReason.OTHER: "Something else",
}


class ReviewStatus(enum.StrEnum):
    PENDING = "pending"
    AGREED = "agreed"  # flags: the moderators agreed
    DISAGREED = "disagreed"  # flags: dismissed
    APPROVED = "approved"  # a held post: published
    REJECTED = "rejected"  # a held post: not published, the author told why
    WITHDRAWN = "withdrawn"  # a held post its author took back before anyone decided


class ReviewKind(enum.StrEnum):
    FLAGS = "flags"  # a published post that members flagged
    APPROVAL = "approval"  # a newcomer's post held before anyone sees it (portal.moderation.approval)


class HoldReason(enum.StrEnum):
    FIRST_POSTS = "first_posts"
    LINKS = "links"


class ReviewItem(db.Model):
    """Something waiting for a moderator's decision, oldest first in one queue.

    - kind `flags`: a published post, with the flags it collected meanwhile (one pending item per post);
    - kind `approval`: a newcomer's post held before anyone sees it. It is not a Post yet: the text waits here
      (as typed, and rendered once at write time), with the topic it replies to or the category and title of
      the topic it starts. Approving it creates the post then (numbered, counted and notified as any other);
      rejecting it creates nothing, so no counter, list, feed, search index or notification ever saw it.
    """

    __tablename__ = "review_items"
    __table_args__ = (
        # One open item per post: a second flag joins it; after a decision a new flag opens a new one.
        partial_index("uq_review_items_pending_post", "post_id", unique=True, where="status = 'pending'"),
        # The queue: pending items, oldest first.
        sa.Index("ix_review_items_status_created", "status", "created_at"),
        sa.Index("ix_review_items_author_status", "author_id", "status"),
        # A held reply's topic (the author sees it there) and the foreign keys' deletes.
        sa.Index("ix_review_items_topic_id", "topic_id"),
        sa.Index("ix_review_items_category_id", "category_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[ReviewKind] = mapped_column(str_enum(ReviewKind, 16), default=ReviewKind.FLAGS,
                                             server_default=ReviewKind.FLAGS.value)
    # Flags: the post. Approval: empty until approved, then the post it became.
    post_id: Mapped[int | None] = mapped_column(sa.ForeignKey("posts.id", ondelete="CASCADE"))
    author_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    status: Mapped[ReviewStatus] = mapped_column(str_enum(ReviewStatus, 16), default=ReviewStatus.PENDING)
    # Approval only: a reply to `topic_id`, or a new topic titled `title` in `category_id`.
    topic_id: Mapped[int | None] = mapped_column(sa.ForeignKey("topics.id", ondelete="CASCADE"))
    category_id: Mapped[int | None] = mapped_column(sa.ForeignKey("categories.id", ondelete="CASCADE"))
    title: Mapped[str | None] = mapped_column(sa.String(150))
    body: Mapped[str | None] = mapped_column(sa.Text)
    body_html: Mapped[str | None] = mapped_column(sa.Text)
    hold_reason: Mapped[str] = mapped_column(sa.String(20), default="", server_default="")
    link_count: Mapped[int] = mapped_column(default=0, server_default="0")
    # What the moderator told the author (a rejection's reason).
    note: Mapped[str] = mapped_column(sa.Text, default="", server_default="")
    flag_count: Mapped[int] = mapped_column(default=0)
    # Hiding the first post also took its topic out of the lists; a dismissal puts it back.
    unlisted_topic: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    claimed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolution: Mapped[str] = mapped_column(sa.String(20), default="")

    post: Mapped[Post | None] = relationship("Post")
    topic: Mapped[Topic | None] = relationship("Topic")
    category: Mapped[Category | None] = relationship("Category")
    author: Mapped[User] = relationship("User", foreign_keys=[author_id])
    claimed_by: Mapped[User | None] = relationship("User", foreign_keys=[claimed_by_id])
    flags: Mapped[list[Flag]] = relationship(back_populates="review_item", order_by="Flag.created_at")


class Flag(db.Model):
    """One person telling the moderators what is wrong with a post; once per person per post."""

    __tablename__ = "flags"
    __table_args__ = (sa.UniqueConstraint("post_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(sa.ForeignKey("posts.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    review_item_id: Mapped[int] = mapped_column(sa.ForeignKey("review_items.id", ondelete="CASCADE"), index=True)
    reason: Mapped[FlagReason] = mapped_column(str_enum(FlagReason, 20))
    note: Mapped[str] = mapped_column(sa.String(500), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    user: Mapped[User] = relationship("User")
    review_item: Mapped[ReviewItem] = relationship(back_populates="flags")
