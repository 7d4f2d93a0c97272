"""Several workers at once: a due job slot is claimed by one of them, and each due email is sent exactly once.

Threads with their own app contexts (own sessions and connections) on the suite's database, released together
by a barrier: on PostgreSQL they really run side by side; on SQLite they queue for the write lock.
"""

from __future__ import annotations

import threading
from datetime import timedelta

import sqlalchemy as sa

from portal.db import utcnow
from portal.extensions import db
from portal.notifications import jobs
from portal.notifications.models import EmailStatus, JobRun, Notification
from portal.notifications.services.emails import send_due_emails
from tests.factories import make_post, make_topic, make_user
from tests.helpers import outbox

WORKERS = 6


def together(app, n: int, work):
    """Run work(index) in n threads at once, each in its own app context; return the results."""
    barrier = threading.Barrier(n)
    results: list = [None] * n
    errors: list[BaseException] = []

    def main(index: int) -> None:
        try:
            with app.app_context():
                barrier.wait(timeout=30)
                results[index] = work(index)
                db.session.remove()
        except BaseException as exc:
            errors.append(exc)
            barrier.abort()

    threads = [threading.Thread(target=main, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a worker did not finish"
    assert errors == [], errors
    return results


def test_a_due_job_slot_is_run_by_exactly_one_worker(app):
    calls: list[int] = []
    lock = threading.Lock()

    def count(now):
        with lock:
            calls.append(1)
        return len(calls)

    jobs.register_job("race-counter", timedelta(minutes=5))(count)
    try:
        now = utcnow()
        results = together(app, WORKERS, lambda i: jobs.run_due_jobs(now=now))
    finally:
        jobs.JOBS.pop("race-counter")
    assert sum("race-counter" in ran for ran in results) == 1
    assert len(calls) == 1
    assert db.session.scalar(sa.select(sa.func.count()).select_from(JobRun).where(JobRun.job == "race-counter")) == 1


def test_each_due_email_is_sent_exactly_once_by_racing_workers(app):
    authors = [make_user() for _ in range(10)]
    for author in authors:
        topic = make_topic(user=author)
        make_post(topic, make_user())
        make_post(topic, make_user())
    due = utcnow() + timedelta(minutes=11)
    db.session.commit()

    sent = together(app, WORKERS, lambda i: send_due_emails(now=due))

    assert sum(sent) == 20
    mails = outbox("notification")
    assert sorted(m.to_address for m in mails) == sorted(a.email for a in authors for _ in range(2))
    statuses = set(db.session.scalars(sa.select(Notification.email_status).where(
        Notification.kind == "replied")))
    assert statuses == {EmailStatus.SENT}
