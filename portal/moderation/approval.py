"""Pre-moderation: a newcomer's post waits for a moderator before anyone else sees it.

Held (rules, in order; staff and trusted customers are exempt):
- a customer's first NEW_USER_APPROVAL_POSTS (1) posts: until that many of theirs have been published;
- a post by an account younger than NEW_ACCOUNT_HOURS (24) with more than NEW_USER_MAX_LINKS (2) links to other
  sites (the commonest shape of spam; links within the portal, mentions and quotes do not count).

A held post is not a Post yet: it waits as a ReviewItem of kind `approval` holding the text as typed and as
rendered (once, at write time), and the topic it replies to, or the category and title of the topic it starts.
So no counter, list, feed, search index, unread count or notification ever sees it. The author does: it shows,
marked "waiting for approval" with the reason, at the end of the topic they replied to and on their own page of
posts waiting (`my_items`). Approving creates the post then, through the forum's own services (numbered,
counted and notified like any other, its time the moment it appears); rejecting creates nothing. Either way the
author is notified, a rejection with the moderator's reason, and keeps their text.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import joinedload

from portal.accounts import services as accounts
from portal.accounts.models import User
from portal.content import render_markdown
from portal.db import utcnow
from portal.errors import RuleViolation
from portal.extensions import db
from portal.forums import services as forums
from portal.forums.models import Category, Post, Topic
from portal.moderation.limits import is_new_account, is_trusted
from portal.moderation.models import HoldReason, ReviewItem, ReviewKind, ReviewStatus
from portal.moderation.services import record_action
from portal.permissions import is_staff

MAX_NOTE = 500
_HREF = re.compile(r"""<a\b[^>]*?\bhref=["']([^"']+)["']""", re.IGNORECASE)


def _events():
    from portal.moderation import notices

    return notices


# --- What is held, and why ---------------------------------------------------------------------------------


def external_links(body_html: str) -> int:
    """Distinct links to other sites in a rendered post (relative links, mentions and quotes stay in the portal)."""
    own = urlsplit(current_app.config.get("SITE_URL") or "").hostname
    found = set()
    for href in _HREF.findall(body_html or ""):
        parts = urlsplit(href.strip())
        if parts.scheme in ("", None) and not href.startswith("//"):
            continue  # a path on this site
        if parts.hostname and parts.hostname == own:
            continue
        found.add(href)
    return len(found)


def published_posts(user: Any) -> int:
    """Posts of theirs that were ever published (approved, or never held), deleted ones included."""
    return db.session.scalar(sa.select(sa.func.count(Post.id)).where(Post.user_id == user.id)) or 0


def hold_reason(user: Any, body_html: str, *, now: datetime | None = None) -> tuple[HoldReason, int] | None:
    """Why this post must wait for a moderator (and its count of outside links), or None to publish it now."""
    if is_staff(user):
        return None
    now = now or utcnow()
    if is_trusted(user, now):
        return None
    links = external_links(body_html)
    if published_posts(user) < int(current_app.config["NEW_USER_APPROVAL_POSTS"]):
        return HoldReason.FIRST_POSTS, links
    if is_new_account(user, now) and links > int(current_app.config["NEW_USER_MAX_LINKS"]):
        return HoldReason.LINKS, links
    return None


def reason_text(item: ReviewItem) -> str:
    """The reason in words, for the author (and the moderator): what the rule is and what happens next."""
    if item.hold_reason == HoldReason.LINKS:
        limit = int(current_app.config["NEW_USER_MAX_LINKS"])
        return (f"It has {item.link_count} links to other sites, and posts from accounts less than a day old with "
                f"more than {limit} links wait for a moderator: it keeps spam out. Links are fine once your account "
                "is a day old.")
    count = max(1, int(current_app.config["NEW_USER_APPROVAL_POSTS"]))  # held before the setting went down: 1
    first = "first post" if count == 1 else f"first {count} posts"
    return (f"Welcome! A moderator reads every new member's {first} before it goes up; it keeps spam out, and "
            "after that your posts appear straight away.")


def staff_reason(item: ReviewItem) -> str:
    """The reason in a few words, for the queue."""
    if item.hold_reason == HoldReason.LINKS:
        return f"New account, {item.link_count} links"
    return "First post of a new member"


# --- Posting, held or not ----------------------------------------------------------------------------------


def hold_post(user: Any, body: str, body_html: str, reason: HoldReason, links: int, **where: Any) -> ReviewItem:
    """Keep a post back for approval: `where` is topic_id (a reply) or category_id and title (a new topic)."""
    item = ReviewItem(kind=ReviewKind.APPROVAL, author_id=user.id, status=ReviewStatus.PENDING, body=body,
                      body_html=body_html, hold_reason=reason.value, link_count=links, created_at=utcnow(), **where)
    db.session.add(item)
    db.session.execute(
        sa.update(User).where(User.id == user.id)
        .values(posts_awaiting_approval=User.posts_awaiting_approval + 1),
        execution_options={"synchronize_session": False},
    )
    db.session.flush()
    db.session.expire(user, ["posts_awaiting_approval"])
    return item


def submit_topic(user: Any, category: Category, title: str, body: str) -> Topic | ReviewItem:
    """Start a topic, or hold it for approval: the Topic, or the ReviewItem that holds it."""
    title = forums.check_title(title)
    body = forums.check_body(body)
    body_html = render_markdown(body)
    held = hold_reason(user, body_html)
    if held is None:
        return forums.create_topic(user, category, title, body)
    return hold_post(user, body, body_html, *held, category_id=category.id, title=title)


def submit_reply(user: Any, topic: Topic, body: str, *, whisper: bool = False) -> Post | ReviewItem:
    """Reply, or hold the reply for approval: the Post, or the ReviewItem that holds it."""
    body = forums.check_body(body)
    if topic.deleted_at is not None:
        raise RuleViolation("This topic was deleted.", field="body")
    body_html = render_markdown(body)
    held = None if whisper else hold_reason(user, body_html)
    if held is None:
        return forums.create_post(user, topic, body, whisper=whisper)
    return hold_post(user, body, body_html, *held, topic_id=topic.id)


# --- Deciding ----------------------------------------------------------------------------------------------


def _close(actor: Any, item: ReviewItem, status: ReviewStatus, now: datetime, note: str = "") -> None:
    """End a held item once (a guarded UPDATE: two moderators deciding at once, one wins) and uncount it."""
    if item.kind != ReviewKind.APPROVAL:
        raise RuleViolation("This item is about flags, not approval.")
    if item.claimed_by_id not in (None, actor.id) and status != ReviewStatus.WITHDRAWN:
        raise RuleViolation(f"{item.claimed_by.display_name} claimed this one: ask them, or wait.")
    closed = db.session.execute(
        sa.update(ReviewItem)
        .where(ReviewItem.id == item.id, ReviewItem.status == ReviewStatus.PENDING)
        .values(status=status, resolution=status.value, resolved_by_id=actor.id, resolved_at=now, note=note),
        execution_options={"synchronize_session": False},
    ).rowcount
    if not closed:
        raise RuleViolation("This post was already decided." if status != ReviewStatus.WITHDRAWN
                            else "A moderator has already looked at this post.")
    db.session.execute(
        sa.update(User).where(User.id == item.author_id)
        .values(posts_awaiting_approval=sa.case((User.posts_awaiting_approval > 0,
                                                 User.posts_awaiting_approval - 1), else_=0)),
        execution_options={"synchronize_session": False},
    )
    db.session.expire(item)
    db.session.expire(item.author, ["posts_awaiting_approval"])


def approve(staff: Any, item: ReviewItem, *, now: datetime | None = None) -> Post:
    """Publish a held post: it becomes a post (or topic) now, as its author's; the author is told."""
    if item.kind != ReviewKind.APPROVAL:
        raise RuleViolation("This item is about flags, not approval.")
    now = now or utcnow()
    author = item.author
    if item.topic_id is not None:
        topic = item.topic
        if topic is not None and topic.merged_into_id is not None:
            # Staff merged the topic while the reply waited: it goes where the conversation went.
            topic = db.session.get(Topic, topic.merged_into_id)
            item.topic_id = topic.id if topic is not None else item.topic_id
            db.session.flush()
        if topic is None or topic.deleted_at is not None:
            raise RuleViolation("The topic was deleted while this reply waited: reject it (the author is told and "
                                "keeps the text), or restore the topic first.")
    elif item.category is None:
        raise RuleViolation("Its category is gone: reject it, saying so.")
    _close(staff, item, ReviewStatus.APPROVED, now)
    db.session.refresh(item)
    if item.topic_id is not None:
        post = forums.create_post(author, item.topic, item.body or "", now=now)
    else:
        topic = forums.create_topic(author, item.category, item.title or "", item.body or "")
        post = db.session.scalar(sa.select(Post).where(Post.topic_id == topic.id, Post.number == 1))
    item.post_id = post.id
    db.session.flush()
    record_action(staff, "post.approve", post, after={"held_for": item.hold_reason})
    _events().post_approved(item, post)
    return post


def reject(staff: Any, item: ReviewItem, *, reason: str, suspend: bool = False, suspend_days: int | None = None,
           now: datetime | None = None) -> None:
    """Do not publish a held post: nothing is created; the author is told why and keeps the text."""
    reason = " ".join((reason or "").split())
    if not reason:
        raise RuleViolation("Tell the author why: they read this, and it helps them post again.", field="reason")
    if len(reason) > MAX_NOTE:
        raise RuleViolation(f"Use at most {MAX_NOTE} characters.", field="reason")
    author = item.author
    if suspend and is_staff(author):
        raise RuleViolation("Staff and admins can't be suspended from here.", field="suspend")
    now = now or utcnow()
    _close(staff, item, ReviewStatus.REJECTED, now, note=reason)
    record_action(staff, "post.reject", author, reason=reason,
                  after={"held_for": item.hold_reason, "what": _what(item), "excerpt": (item.body or "")[:200]})
    if suspend:
        accounts.suspend_user(staff, author, reason, suspend_days)
    _events().post_rejected(item)


def withdraw(author: Any, item: ReviewItem) -> None:
    """The author takes back a post still waiting (nothing was published, so nothing else changes)."""
    if item.kind != ReviewKind.APPROVAL or item.author_id != author.id:
        raise RuleViolation("That is not your post.")
    _close(author, item, ReviewStatus.WITHDRAWN, utcnow())


def _what(item: ReviewItem) -> str:
    if item.topic_id is not None:
        return f"reply to “{item.topic.title}”" if item.topic is not None else "reply"
    return f"topic “{item.title}”"


# --- What the author and the topic page read ---------------------------------------------------------------


def waiting_in_topic(viewer: Any, topic: Topic) -> list[ReviewItem]:
    """The viewer's own replies to this topic that wait for approval (no statement unless they have some)."""
    if not getattr(viewer, "is_authenticated", False) or not viewer.posts_awaiting_approval:
        return []
    return list(db.session.scalars(
        sa.select(ReviewItem).where(
            ReviewItem.author_id == viewer.id, ReviewItem.status == ReviewStatus.PENDING,
            ReviewItem.kind == ReviewKind.APPROVAL, ReviewItem.topic_id == topic.id,
        ).order_by(ReviewItem.created_at, ReviewItem.id)
    ))


RECENT_ITEMS = 50


def my_items(user: Any) -> list[ReviewItem]:
    """A person's held posts: those waiting, then the latest decided ones (approved, rejected, withdrawn)."""
    return list(db.session.scalars(
        sa.select(ReviewItem)
        .where(ReviewItem.author_id == user.id, ReviewItem.kind == ReviewKind.APPROVAL)
        .options(joinedload(ReviewItem.topic), joinedload(ReviewItem.category), joinedload(ReviewItem.post))
        .order_by((ReviewItem.status == ReviewStatus.PENDING).desc(), ReviewItem.created_at.desc(),
                  ReviewItem.id.desc())
        .limit(RECENT_ITEMS)
    ).unique())
