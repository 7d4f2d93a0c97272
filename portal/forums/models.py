"""The thread engine: categories, topics, posts, their revisions, likes, read markers and mentions.

A Topic belongs to a forum category, or is owned by another feature (an idea's or an event's discussion):
`context` says which, and for those `category_id` is empty and the owner decides who may see it.
"""

from __future__ import annotations

import enum
import re
from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.db import UTCDateTime, str_enum, utcnow
from portal.extensions import db

if TYPE_CHECKING:
    from portal.accounts.models import User


class CategoryKind(enum.StrEnum):
    DISCUSSION = "discussion"
    QUESTIONS = "questions"

    @property
    def label(self) -> str:
        return self.value.capitalize()


class Audience(enum.StrEnum):
    """Who can see a category (and so its topics)."""

    EVERYONE = "everyone"
    SIGNED_IN = "signed_in"
    STAFF = "staff"
    ORGANIZATIONS = "organizations"


class PostingRight(enum.StrEnum):
    """Who can start topics in, or reply in, a category."""

    SIGNED_IN = "signed_in"
    STAFF = "staff"


class TopicContext(enum.StrEnum):
    """Who governs a topic's visibility: its forum category, or the idea or event that owns it."""

    FORUM = "forum"
    IDEA = "idea"
    EVENT = "event"


class CategoryOrganization(db.Model):
    """An organisation whose members may see a category whose audience is `organizations`."""

    __tablename__ = "category_organizations"

    category_id: Mapped[int] = mapped_column(sa.ForeignKey("categories.id", ondelete="CASCADE"), primary_key=True)
    organization_id: Mapped[int] = mapped_column(
        sa.ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class Category(db.Model):
    __tablename__ = "categories"

    id: Mapped[int] = mapped_column(primary_key=True)
    # One level of nesting, enforced by forums.services.save_category.
    parent_id: Mapped[int | None] = mapped_column(sa.ForeignKey("categories.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(80))
    slug: Mapped[str] = mapped_column(sa.String(80), unique=True)
    description: Mapped[str] = mapped_column(sa.String(500), default="")
    kind: Mapped[CategoryKind] = mapped_column(str_enum(CategoryKind, 16), default=CategoryKind.DISCUSSION)
    position: Mapped[int] = mapped_column(default=0)
    audience: Mapped[Audience] = mapped_column(str_enum(Audience, 16), default=Audience.EVERYONE)
    can_start: Mapped[PostingRight] = mapped_column(str_enum(PostingRight, 16), default=PostingRight.SIGNED_IN)
    can_reply: Mapped[PostingRight] = mapped_column(str_enum(PostingRight, 16), default=PostingRight.SIGNED_IN)
    # Denormalised, changed in SQL by the services: topics not deleted, and the sum of their post_count.
    topic_count: Mapped[int] = mapped_column(default=0)
    post_count: Mapped[int] = mapped_column(default=0)
    # The newest topic not deleted, for the forum home. use_alter: categories and topics refer to each other.
    last_topic_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("topics.id", ondelete="SET NULL", use_alter=True)
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    parent: Mapped[Category | None] = relationship(remote_side=[id])
    last_topic: Mapped[Topic | None] = relationship(foreign_keys=[last_topic_id], viewonly=True)
    # Loaded on use (only `organizations` audiences need it); lists of categories add selectinload().
    organization_links: Mapped[list[CategoryOrganization]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True
    )

    @property
    def allowed_organization_ids(self) -> frozenset[int]:
        """The organisations whose members may see this category when its audience is `organizations`."""
        return frozenset(link.organization_id for link in self.organization_links)

    def __repr__(self) -> str:
        return f"<Category {self.id} {self.slug!r}>"


class Topic(db.Model):
    __tablename__ = "topics"
    __table_args__ = (
        # The category page: pinned first, then by last activity (category_id first also serves the FK).
        sa.Index("ix_topics_category_pinned_last_post", "category_id", "is_pinned", "last_post_at"),
        # "Latest" across categories.
        sa.Index("ix_topics_last_post_at", "last_post_at"),
        # The staff response queue: no staff reply yet, oldest first.
        sa.Index("ix_topics_staff_queue", "first_staff_reply_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    context: Mapped[TopicContext] = mapped_column(str_enum(TopicContext, 16), default=TopicContext.FORUM)
    category_id: Mapped[int | None] = mapped_column(sa.ForeignKey("categories.id"))
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    title: Mapped[str] = mapped_column(sa.String(150))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_post_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_poster_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    # Visible posts (not whispers, not deleted), the first one included.
    post_count: Mapped[int] = mapped_column(default=0)
    # Every post, whispers included, takes the next number from here (one atomic UPDATE … RETURNING).
    highest_post_number: Mapped[int] = mapped_column(default=0)
    first_staff_reply_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    accepted_post_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("posts.id", ondelete="SET NULL", use_alter=True)
    )
    is_pinned: Mapped[bool] = mapped_column(default=False)
    is_locked: Mapped[bool] = mapped_column(default=False)
    # Unlisted: left out of topic lists, search, feeds and "latest topic" for everyone but staff; the topic
    # itself still opens for those who may see it (Discourse's "unlist").
    is_unlisted: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    assignee_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"), index=True)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Set when staff merged this topic into another: it is deleted, and its address redirects there. No foreign
    # key: adding one to an existing table makes SQLite rebuild it (losing the search triggers), and topics are
    # never removed, only soft-deleted, so the pointer cannot dangle.
    merged_into_id: Mapped[int | None]

    category: Mapped[Category | None] = relationship(foreign_keys=[category_id])
    user: Mapped[User] = relationship(foreign_keys=[user_id])
    last_poster: Mapped[User | None] = relationship(foreign_keys=[last_poster_id])
    assignee: Mapped[User | None] = relationship(foreign_keys=[assignee_id])

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None

    @property
    def slug(self) -> str:
        """The title as a web address part; only for readable URLs, the id finds the topic."""
        slug = re.sub(r"[^a-z0-9]+", "-", self.title.lower()).strip("-")[:80].rstrip("-")
        return slug or "topic"

    @property
    def is_solved(self) -> bool:
        return self.accepted_post_id is not None

    def __repr__(self) -> str:
        return f"<Topic {self.id} {self.title!r}>"


class Post(db.Model):
    __tablename__ = "posts"
    # The unique (topic_id, number) index also serves lookups by topic and the FK, so no separate index.
    __table_args__ = (sa.UniqueConstraint("topic_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    topic_id: Mapped[int] = mapped_column(sa.ForeignKey("topics.id", ondelete="CASCADE"))
    number: Mapped[int]
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    body: Mapped[str] = mapped_column(sa.Text)
    # Cooked once at write time by content.render_markdown; renderer_version says by which renderer.
    body_html: Mapped[str] = mapped_column(sa.Text)
    renderer_version: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    edited_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    is_whisper: Mapped[bool] = mapped_column(default=False)
    is_official: Mapped[bool] = mapped_column(default=False)
    like_count: Mapped[int] = mapped_column(default=0)
    # Hidden after enough flags (portal.moderation.flags) until a moderator decides: a placeholder for others.
    hidden_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    deleted_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    topic: Mapped[Topic] = relationship(foreign_keys=[topic_id])
    user: Mapped[User] = relationship(foreign_keys=[user_id])

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None

    def __repr__(self) -> str:
        return f"<Post {self.id} #{self.number} of topic {self.topic_id}>"


class PostRevision(db.Model):
    """An edit: who made it, when, and the body as it was before."""

    __tablename__ = "post_revisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(sa.ForeignKey("posts.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    body: Mapped[str] = mapped_column(sa.Text)

    user: Mapped[User] = relationship()


class PostLike(db.Model):
    __tablename__ = "post_likes"
    __table_args__ = (sa.UniqueConstraint("post_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(sa.ForeignKey("posts.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class TopicRead(db.Model):
    """The highest post number a user has read in a topic; written only when it moves forward."""

    __tablename__ = "topic_reads"

    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    topic_id: Mapped[int] = mapped_column(sa.ForeignKey("topics.id", ondelete="CASCADE"), primary_key=True)
    last_read_number: Mapped[int] = mapped_column(default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Mention(db.Model):
    """A user mentioned in a post, kept for notifications."""

    __tablename__ = "mentions"
    __table_args__ = (sa.UniqueConstraint("post_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(sa.ForeignKey("posts.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
