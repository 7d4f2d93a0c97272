"""`flask worker`: deliver the outbox."""

from __future__ import annotations

import signal
import threading

import click

from portal.notifications import bp
from portal.notifications.worker import run_worker


@bp.cli.command("worker", with_appcontext=True)
@click.option("--once", is_flag=True, help="Deliver what is due now, then exit (for cron or tests).")
@click.option("--poll", type=float, default=None, help="Seconds to sleep when nothing is due (WORKER_POLL_SECONDS).")
def worker_command(once: bool, poll: float | None) -> None:
    """Deliver queued email (with backoff) and run scheduled jobs; run several on PostgreSQL to share the load."""
    click.echo("worker: delivering the outbox and running scheduled jobs" + (" once" if once else "; Ctrl+C to stop"))
    stop = threading.Event()

    def request_stop(signum, frame):  # finish the email in hand, then exit (systemd sends SIGTERM)
        click.echo("worker: stopping after the current email")
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    run_worker(once=once, poll_seconds=poll, log=click.echo, stop=stop)
    click.echo("worker: stopped")
