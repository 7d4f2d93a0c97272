"""Recording moderation and admin actions in the audit log, and reading it back.

Services that moderate or administer call `record_action` themselves, in the same transaction as the change,
so an action that rolls back leaves no entry and one that commits always has one.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from portal.extensions import db
from portal.moderation.models import AuditEntry
from portal.pagination import Page

# Every action the log knows, with how the log page words it. Features add theirs here.
ACTIONS: dict[str, str] = {
    "user.role": "Changed a person's role",
    "user.organization": "Changed a person's organisation",
    "user.suspend": "Suspended a person",
    "user.unsuspend": "Lifted a suspension",
    "user.warn": "Warned a person about a post",
    "organization.create": "Created an organisation",
    "organization.update": "Edited an organisation",
    "category.create": "Created a category",
    "category.update": "Edited a category",
    "category.reorder": "Reordered a category",
    "topic.pin": "Pinned a topic",
    "topic.unpin": "Unpinned a topic",
    "topic.lock": "Locked a topic",
    "topic.unlock": "Unlocked a topic",
    "topic.move": "Moved a topic",
    "topic.unlist": "Unlisted a topic",
    "topic.relist": "Listed a topic again",
    "topic.assign": "Assigned a topic",
    "topic.retitle": "Retitled someone's topic",
    "topic.merge": "Merged a topic into this one",
    "topic.split": "Split posts off into a new topic",
    "post.edit": "Edited someone's post",
    "post.delete": "Deleted a post",
    "post.restore": "Restored a post",
    "post.official": "Marked a post official",
    "post.unofficial": "Unmarked an official post",
    "post.accept": "Accepted an answer on someone's question",
    "post.unaccept": "Removed an accepted answer on someone's question",
    "email.retry": "Re-queued a failed email",
    "flag.agree": "Agreed with flags on a post",
    "flag.disagree": "Dismissed flags on a post",
    "post.approve": "Approved a newcomer's post",
    "post.reject": "Rejected a newcomer's post",
}

TARGET_TYPES = {"user": "Person", "organization": "Organisation", "category": "Category", "topic": "Topic",
                "post": "Post", "email": "Email"}
ENTRIES_PER_PAGE = 50


def _target(target: Any) -> tuple[str, int | None, str]:
    """(type, id, label) for an object of one of TARGET_TYPES."""
    name = type(target).__tablename__
    if name == "users":
        return "user", target.id, target.display_name
    if name == "organizations":
        return "organization", target.id, target.name
    if name == "categories":
        return "category", target.id, target.name
    if name == "topics":
        return "topic", target.id, target.title
    if name == "posts":
        title = target.topic.title if target.topic is not None else ""
        return "post", target.id, f"#{target.number} in “{title}”"
    if name == "outbox_emails":
        return "email", target.id, target.subject
    raise ValueError(f"no audit target type for {name}")


def record_action(actor: Any, action: str, target: Any, *, reason: str = "", before: dict | None = None,
                  after: dict | None = None) -> AuditEntry:
    """One audit entry, in the caller's transaction. `actor` None is the system (seeds, commands)."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}: add it to portal.moderation.services.ACTIONS")
    target_type, target_id, label = _target(target)
    entry = AuditEntry(
        actor_id=actor.id if actor is not None else None,
        actor_label=actor.display_name[:120] if actor is not None else "System",
        action=action,
        target_type=target_type,
        target_id=target_id,
        target_label=(label or "")[:200],
        reason=reason or "",
        before=before,
        after=after,
    )
    db.session.add(entry)
    db.session.flush()
    return entry


def audit_log(*, action: str | None = None, actor_id: int | None = None, target_type: str | None = None,
              target_id: int | None = None, since: datetime | None = None, until: datetime | None = None,
              page: int = 1) -> Page:
    """Entries newest first, filtered; two statements (count and rows)."""
    criteria = []
    if action:
        criteria.append(AuditEntry.action == action)
    if actor_id is not None:
        criteria.append(AuditEntry.actor_id == actor_id)
    if target_type:
        criteria.append(AuditEntry.target_type == target_type)
        if target_id is not None:
            criteria.append(AuditEntry.target_id == target_id)
    if since is not None:
        criteria.append(AuditEntry.created_at >= since)
    if until is not None:
        criteria.append(AuditEntry.created_at < until)
    total = db.session.scalar(sa.select(sa.func.count(AuditEntry.id)).where(*criteria)) or 0
    rows = db.session.scalars(
        sa.select(AuditEntry).where(*criteria).order_by(AuditEntry.created_at.desc(), AuditEntry.id.desc())
        .limit(ENTRIES_PER_PAGE).offset((page - 1) * ENTRIES_PER_PAGE)
    ).all()
    return Page(items=rows, page=page, per_page=ENTRIES_PER_PAGE, total=total)
