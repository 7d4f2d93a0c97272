"""The audit log: one row per moderation or admin action, written in the action's own transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from portal.db import UTCDateTime, utcnow
from portal.extensions import db


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
