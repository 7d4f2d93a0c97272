"""The outbox worker: claim a due email, send it, record the outcome; one email per transaction.

Each round also runs the scheduled jobs that are due (portal.notifications.jobs: digests, delayed emails).

On PostgreSQL the claim uses FOR UPDATE SKIP LOCKED, so several workers share the queue without sending
a message twice; SQLite has one writer at a time and ignores the clause. Delivery is at-least-once: a
worker killed between sending and committing sends that one email again.
"""

from __future__ import annotations

import threading

import sqlalchemy as sa
from flask import current_app

from portal.db import immediate_transactions, utcnow
from portal.extensions import db
from portal.notifications.mail import PermanentFailure, TemporaryFailure, get_backend
from portal.notifications.models import OutboxEmail, OutboxStatus
from portal.notifications.services import retry_delay


def _claim_one(ids: list[int] | None) -> OutboxEmail | None:
    query = (
        sa.select(OutboxEmail)
        .where(OutboxEmail.status == OutboxStatus.PENDING, OutboxEmail.next_attempt_at <= utcnow())
        .order_by(OutboxEmail.next_attempt_at, OutboxEmail.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    if ids is not None:
        query = query.where(OutboxEmail.id.in_(ids))
    return db.session.scalars(query).first()


def _deliver(email: OutboxEmail, backend) -> None:
    email.attempts += 1
    try:
        backend.send(email)
    except PermanentFailure as exc:
        email.status = OutboxStatus.FAILED
        email.last_error = str(exc)[:2000]
    except TemporaryFailure as exc:
        email.last_error = str(exc)[:2000]
        if email.attempts >= current_app.config["MAIL_MAX_ATTEMPTS"]:
            email.status = OutboxStatus.FAILED
        else:
            email.next_attempt_at = utcnow() + retry_delay(email.attempts)
    else:
        email.status = OutboxStatus.SENT
        email.sent_at = utcnow()
        email.last_error = ""


def deliver_due(limit: int | None = None, ids: list[int] | None = None) -> int:
    """Deliver up to `limit` due emails (only `ids`, when given); return how many were attempted."""
    limit = limit or current_app.config["MAIL_BATCH_SIZE"]
    backend = get_backend()
    attempted = 0
    with immediate_transactions():
        db.session.commit()  # start from a fresh transaction that takes the lock (SQLite)
        while attempted < limit:
            email = _claim_one(ids)
            if email is None:
                db.session.rollback()
                break
            _deliver(email, backend)
            db.session.commit()
            attempted += 1
    return attempted


def run_worker(
    once: bool = False, poll_seconds: float | None = None, log=print, stop: threading.Event | None = None
) -> None:
    """Deliver the outbox until `stop` is set (or one pass with once=True), sleeping between empty polls."""
    poll = poll_seconds if poll_seconds is not None else current_app.config["WORKER_POLL_SECONDS"]
    stop = stop or threading.Event()
    from portal.notifications.jobs import run_due_jobs

    while not stop.is_set():
        try:
            run_due_jobs(log=log)
            attempted = deliver_due()
        except sa.exc.OperationalError as exc:  # database restarting: wait and try again
            db.session.rollback()
            log(f"worker: database unavailable ({exc.__class__.__name__}); retrying in {poll}s")
            attempted = 0
        if attempted:
            log(f"worker: attempted {attempted} email(s)")
        if once:
            return
        if not attempted:
            stop.wait(poll)
