"""Scheduled jobs: the registry, one run per slot, and `flask worker` running them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from portal.db import utcnow
from portal.extensions import db
from portal.notifications import jobs
from portal.notifications.models import JobRun
from tests.factories import make_post, make_topic, make_user
from tests.helpers import outbox

pytestmark = pytest.mark.usefixtures("app")


@pytest.fixture
def extra_job():
    """Register a job for one test (the registry is global), and take it out afterwards."""
    added = []

    def add(name, every, function):
        jobs.register_job(name, every)(function)
        added.append(name)

    yield add
    for name in added:
        jobs.JOBS.pop(name, None)


def test_the_notification_jobs_are_registered():
    assert {"notification-emails", "digests"} <= set(jobs.JOBS)


def test_a_job_runs_once_per_slot_and_again_in_the_next(extra_job):
    calls = []
    extra_job("test-counter", timedelta(minutes=10), lambda now: calls.append(now) or len(calls))
    t = datetime(2026, 12, 1, 9, 0, 30, tzinfo=UTC)
    assert "test-counter" in jobs.run_due_jobs(now=t)
    assert "test-counter" not in jobs.run_due_jobs(now=t + timedelta(minutes=5))  # same ten-minute slot
    assert "test-counter" in jobs.run_due_jobs(now=t + timedelta(minutes=10))
    assert len(calls) == 2
    runs = db.session.scalars(sa.select(JobRun).where(JobRun.job == "test-counter").order_by(JobRun.slot)).all()
    assert [r.result for r in runs] == ["1", "2"] and all(r.finished_at for r in runs)


def test_a_failing_job_is_recorded_and_does_not_stop_the_others(extra_job):
    def broken(now):
        raise RuntimeError("boom")

    ran = []
    extra_job("test-broken", timedelta(minutes=1), broken)
    extra_job("test-after", timedelta(minutes=1), lambda now: ran.append(now))
    messages = []
    jobs.run_due_jobs(now=utcnow(), log=messages.append)
    assert ran and any("test-broken failed: RuntimeError: boom" in m for m in messages)
    run = db.session.scalar(sa.select(JobRun).where(JobRun.job == "test-broken"))
    assert run.result == "failed: RuntimeError: boom"


def test_the_worker_runs_due_jobs_and_delivers_what_they_queued(runner, app):
    author = make_user()
    make_post(make_topic(user=author), make_user())
    app.config["EMAIL_DELAY_MINUTES"] = 0
    make_post(make_topic(user=author), make_user())  # due at once
    result = runner.invoke(args=["worker", "--once"])
    assert result.exit_code == 0, result.output
    mails = outbox("notification", to=author.email)
    assert len(mails) == 1 and mails[0].status.value == "sent"


def test_development_runs_due_jobs_after_requests_without_a_worker(app, client):
    app.config.update(JOBS_AFTER_REQUESTS_SECONDS=30, EMAIL_DELAY_MINUTES=0)
    author = make_user()
    make_post(make_topic(user=author), make_user())
    client.get("/")
    assert len(outbox("notification", to=author.email)) == 1
    make_post(make_topic(user=author), make_user())
    client.get("/")  # within 30 s of the last run: nothing more yet
    assert len(outbox("notification", to=author.email)) == 1


def test_seed_demo_leaves_carol_notifications_and_watches_once(runner):
    from portal.accounts.models import User
    from portal.notifications.models import CategoryWatch, EmailStatus, Notification, WatchLevel

    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    carol = db.session.scalar(sa.select(User).where(User.email == "carol@acme.example"))
    mine = db.session.scalars(sa.select(Notification).where(Notification.user_id == carol.id)).all()
    kinds = {n.kind for n in mine}
    assert {"new_topic", "posted", "official_answer"} <= kinds
    assert any(n.read_at is None for n in mine) and any(n.read_at is not None for n in mine)
    # Dated like their posts, and no email about a made-up past.
    assert {n.email_status for n in mine} == {EmailStatus.NONE}
    assert len({n.created_at for n in mine}) > 3
    watches = {w.level for w in db.session.scalars(sa.select(CategoryWatch).where(CategoryWatch.user_id == carol.id))}
    assert watches == {WatchLevel.WATCHING, WatchLevel.MUTED}
    total = db.session.scalar(sa.select(sa.func.count()).select_from(Notification))
    assert runner.invoke(args=["seed-demo"]).exit_code == 0
    db.session.commit()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Notification)) == total


def test_another_worker_process_skips_a_slot_already_run(app, extra_job):
    from config import TestingConfig
    from portal import create_app

    calls = []
    extra_job("test-once", timedelta(hours=1), lambda now: calls.append(now))
    now = utcnow()
    assert "test-once" in jobs.run_due_jobs(now=now)
    other = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"])
    db.session.commit()
    with other.app_context():
        assert "test-once" not in jobs.run_due_jobs(now=now)  # found in job_runs, not in this process's memory
        db.session.remove()
        db.engine.dispose()  # its own pool: close its connections now, not at garbage collection
    assert len(calls) == 1


def test_old_run_records_are_pruned():
    from portal.notifications.models import DigestRun

    user = make_user()
    now = utcnow()
    db.session.add_all([
        JobRun(job="x", slot=1, started_at=now - timedelta(days=20)),
        JobRun(job="x", slot=2, started_at=now - timedelta(days=1)),
        DigestRun(user_id=user.id, period="day:old", created_at=now - timedelta(days=90)),
        DigestRun(user_id=user.id, period="day:new", created_at=now - timedelta(days=2)),
    ])
    db.session.commit()
    assert jobs.prune_run_records(now) == 2
    assert db.session.scalars(sa.select(JobRun.slot).where(JobRun.job == "x")).all() == [2]
    assert db.session.scalars(sa.select(DigestRun.period)).all() == ["day:new"]
