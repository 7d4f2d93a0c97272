"""Scheduled jobs: a small registry that `flask worker` runs (and, in development, the app after requests).

Each job runs once per time slot (its interval since the epoch): a run is claimed by inserting the (job, slot)
row of `job_runs`, which the unique constraint lets only one worker do, however many share the database. Jobs
must be idempotent all the same (a crash mid-run leaves the rest for the next slot) and commit their own work.
Later features register theirs here too (event reminders, invitation reminders).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from portal.db import immediate_transactions, utcnow
from portal.extensions import db
from portal.notifications.models import JobRun


@dataclass(frozen=True)
class Job:
    name: str
    every: timedelta
    run: Callable[[datetime], object]  # takes `now`; returns something worth logging (a count)

    def slot(self, now: datetime) -> int:
        return int(now.timestamp() // self.every.total_seconds())


JOBS: dict[str, Job] = {}


def register_job(name: str, every: timedelta) -> Callable[[Callable[[datetime], object]], Callable]:
    """Decorator: run the function every `every` (at most once per interval across all workers)."""

    def decorate(function: Callable[[datetime], object]) -> Callable[[datetime], object]:
        if name in JOBS:
            raise ValueError(f"job {name!r} is already registered")
        JOBS[name] = Job(name, every, function)
        return function

    return decorate


def claim(job: Job, now: datetime) -> JobRun | None:
    """Insert this slot's run row and commit it; None when another worker already has it.

    The worker polls every few seconds: a slot this process already saw taken is skipped without asking the
    database, and one that exists is not inserted again (no stream of unique violations in the server's log).
    """
    slot = job.slot(now)
    seen = current_app.extensions.setdefault("portal_job_slots", {})
    if seen.get(job.name) == slot:
        return None
    run = JobRun(job=job.name, slot=slot, started_at=now)
    with immediate_transactions():
        db.session.commit()
        taken = db.session.scalar(sa.select(JobRun.id).where(JobRun.job == job.name, JobRun.slot == slot))
        if taken is not None:
            db.session.rollback()
            seen[job.name] = slot
            return None
        db.session.add(run)
        try:
            db.session.commit()
        except sa.exc.IntegrityError:
            db.session.rollback()
            seen[job.name] = slot
            return None
    seen[job.name] = slot
    return run


def run_due_jobs(now: datetime | None = None, log: Callable[[str], object] = lambda message: None) -> list[str]:
    """Run every job whose current slot nobody has run yet; returns the names of those this process ran."""
    now = now or utcnow()
    ran = []
    for job in list(JOBS.values()):
        run = claim(job, now)
        if run is None:
            continue
        try:
            result = job.run(now)
        except Exception as exc:  # the next slot tries again; one broken job must not stop the others
            db.session.rollback()
            result = f"failed: {type(exc).__name__}: {exc}"
            log(f"worker: job {job.name} {result}")
        with immediate_transactions():
            db.session.commit()
            db.session.execute(sa.update(JobRun).where(JobRun.id == run.id).values(
                finished_at=utcnow(), result=str(result)[:500]))
            db.session.commit()
        ran.append(job.name)
        if result:
            log(f"worker: job {job.name}: {result}")
    return ran


# --- The notification jobs ------------------------------------------------------------------------------------


@register_job("notification-emails", timedelta(minutes=1))
def notification_emails(now: datetime) -> int:
    """Email notifications whose delay has passed, unless seen (see services.emails)."""
    from portal.notifications.services.emails import send_due_emails

    return send_due_emails(now)


@register_job("digests", timedelta(minutes=10))
def digests(now: datetime) -> int:
    """Send the digests that are due in each person's time zone."""
    from portal.notifications.services.emails import send_digests

    return send_digests(now)


JOB_RUNS_KEPT_DAYS = 14
DIGEST_RUNS_KEPT_DAYS = 60  # far longer than a digest period: a period's row must outlive the period


@register_job("prune-run-records", timedelta(days=1))
def prune_run_records(now: datetime) -> int:
    """Forget old job and digest runs (the minute job alone leaves 1,440 rows a day)."""
    from portal.notifications.models import DigestRun

    with immediate_transactions():
        db.session.commit()
        removed = db.session.execute(sa.delete(JobRun).where(
            JobRun.started_at < now - timedelta(days=JOB_RUNS_KEPT_DAYS))).rowcount
        removed += db.session.execute(sa.delete(DigestRun).where(
            DigestRun.created_at < now - timedelta(days=DIGEST_RUNS_KEPT_DAYS))).rowcount
        db.session.commit()
    return removed
