"""Sending email: a row in the outbox, written in the caller's transaction.

A rolled-back action therefore sends nothing, and a committed one is never lost: the worker (or, in
development, the request itself right after its commit) delivers what was committed.
"""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from flask import current_app, render_template

from portal.db import utcnow
from portal.errors import RuleViolation
from portal.extensions import db
from portal.notifications.models import OutboxEmail, OutboxStatus

PENDING_IDS = "outbox_pending_ids"
COMMITTED_IDS = "outbox_committed_ids"


def send_email(to: str, subject: str, template: str, headers: dict[str, str] | None = None, **context) -> OutboxEmail:
    """Queue one email, rendered from templates/emails/<template>.txt and .html, in the current transaction."""
    context.setdefault("site_name", current_app.config["SITE_NAME"])
    context.setdefault("site_url", current_app.config["SITE_URL"])
    context["subject"] = subject
    email = OutboxEmail(
        to_address=to,
        subject=subject[:250],
        body_text=render_template(f"emails/{template}.txt", **context),
        body_html=render_template(f"emails/{template}.html", **context),
        template=template,
        headers=dict(headers or {}),
        status=OutboxStatus.PENDING,
        next_attempt_at=utcnow(),
    )
    db.session.add(email)
    db.session.flush()
    db.session.info.setdefault(PENDING_IDS, []).append(email.id)
    return email


def retry_email(email: OutboxEmail) -> None:
    """Put a failed email back in the queue for another round of attempts."""
    if email.status != OutboxStatus.FAILED:
        raise RuleViolation("Only failed emails can be retried.")
    email.status = OutboxStatus.PENDING
    email.attempts = 0
    email.next_attempt_at = utcnow()
    db.session.flush()


def retry_delay(attempts: int) -> timedelta:
    """Exponential backoff: base, 2×base, 4×base… capped at six hours."""
    base = current_app.config["MAIL_RETRY_BASE_SECONDS"]
    return timedelta(seconds=min(base * 2 ** max(attempts - 1, 0), 6 * 3600))


def outbox_counts() -> dict[str, int]:
    """How many emails are in each status (for the mail log)."""
    rows = db.session.execute(sa.select(OutboxEmail.status, sa.func.count()).group_by(OutboxEmail.status))
    counts = {status.value: 0 for status in OutboxStatus}
    counts.update({str(status): n for status, n in rows})
    return counts


def _remember_committed(session) -> None:
    pending = session.info.pop(PENDING_IDS, None)
    if pending:
        session.info.setdefault(COMMITTED_IDS, []).extend(pending)


def _forget_rolled_back(session, previous_transaction) -> None:
    # A savepoint's rollback must not forget what the enclosing transaction queued before it; ids queued
    # inside the savepoint may linger, which is harmless (deliver_due(ids=...) finds no such row).
    if not previous_transaction.nested:
        session.info.pop(PENDING_IDS, None)


def install_session_hooks() -> None:
    """Track which queued emails were committed, so development can deliver them right away."""
    if not sa.event.contains(sa.orm.Session, "after_commit", _remember_committed):
        sa.event.listen(sa.orm.Session, "after_commit", _remember_committed)
        sa.event.listen(sa.orm.Session, "after_soft_rollback", _forget_rolled_back)


def take_committed_ids() -> list[int]:
    return db.session.info.pop(COMMITTED_IDS, [])
