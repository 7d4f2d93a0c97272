"""The `flask worker` command and the loop behind it."""

from __future__ import annotations

import threading
from types import SimpleNamespace

from portal.extensions import db
from portal.notifications.services import send_email
from portal.notifications.worker import run_worker
from tests.helpers import outbox


def queue(n: int) -> None:
    for i in range(n):
        send_email(f"w{i}@example.com", "Hi", "verify_email", user=SimpleNamespace(display_name="W"),
                   link="http://x/verify/t", hours=48)
    db.session.commit()


def test_worker_once_delivers_what_is_due(runner, capsys):
    queue(3)
    result = runner.invoke(args=["worker", "--once"])
    assert result.exit_code == 0, result.output
    assert "attempted 3 email(s)" in result.output
    assert {m.status.value for m in outbox()} == {"sent"}


def test_worker_loop_stops_when_asked(app, capsys):
    stop = threading.Event()
    done = threading.Event()

    def work():
        with app.app_context():
            run_worker(poll_seconds=0.05, log=lambda msg: None, stop=stop)
        done.set()

    thread = threading.Thread(target=work)
    thread.start()
    queue(2)
    for _ in range(100):  # the loop picks up mail queued while it runs
        if {m.status.value for m in outbox()} == {"sent"}:
            break
        stop.wait(0.05)
    assert {m.status.value for m in outbox()} == {"sent"}
    stop.set()
    assert done.wait(5), "worker did not stop"
    thread.join()
