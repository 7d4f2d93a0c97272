"""gunicorn loads the app once, in its master, and forks the workers from it (gunicorn.conf.py): what that takes.

- gunicorn picks the project's settings up by itself when started from the checkout;
- what loading made is frozen before the first fork, and the collector stays on;
- loading the app opens no database connection, so the master has none to hand down;
- and should one ever be pooled at a fork, the worker leaves it to its parent and opens its own
  (portal.db.forget_inherited_connections): two processes on one connection corrupt it for both.

The browser journeys and the concurrency suite run against gunicorn started the same way (tests/live.py).
"""

from __future__ import annotations

import gc
import importlib
import json
import os
import select
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from portal.extensions import db
from tests.conftest import BACKEND

portal_db = importlib.import_module("portal.db")  # (the package's `db` attribute is the Flask-SQLAlchemy object)

BASE_DIR = Path(__file__).resolve().parent.parent


def _settings() -> dict:
    import runpy

    return runpy.run_path(str(BASE_DIR / "gunicorn.conf.py"))


def test_gunicorn_started_in_the_checkout_reads_the_projects_settings(monkeypatch):
    from gunicorn.app.wsgiapp import WSGIApplication

    monkeypatch.chdir(BASE_DIR)
    monkeypatch.setattr(sys, "argv", ["gunicorn", "--workers", "2", "wsgi:app"])
    settings = WSGIApplication().cfg  # parses the command line and reads ./gunicorn.conf.py, loads no app

    assert settings.preload_app is True
    assert settings.when_ready.__module__ != "gunicorn.config"  # ours, not gunicorn's default
    assert settings.post_fork.__module__ != "gunicorn.config"
    assert settings.workers == 2  # the command line still decides the rest


def test_what_loading_made_is_frozen_before_the_first_fork():
    settings = _settings()
    gc.unfreeze()
    try:
        settings["when_ready"](None)
        assert gc.get_freeze_count() > 10_000  # the interpreter, the libraries and the app
        assert gc.isenabled()  # later garbage is still collected, in the master and in every worker
    finally:
        gc.unfreeze()


def test_a_new_worker_forgets_the_connections_of_a_preloaded_portal(monkeypatch):
    calls: list[str] = []
    monkeypatch.setattr(portal_db, "forget_inherited_connections", lambda: calls.append("forgot"))
    _settings()["post_fork"](None, None)
    assert calls == ["forgot"]


def test_loading_the_app_as_the_master_does_opens_no_connection(database_url):
    """`import wsgi`, as gunicorn's master does before it forks; then count what the pool holds."""
    check = (
        "import wsgi\n"
        "from portal.extensions import db\n"
        "with wsgi.app.app_context():\n"
        "    pool = db.engine.pool\n"
        "    print(pool.checkedin(), pool.checkedout())\n"
    )
    env = {**os.environ, "PORTAL_ENV": "testing", "DATABASE_URL": database_url}
    result = subprocess.run([sys.executable, "-c", check], cwd=BASE_DIR, env=env, capture_output=True, text=True,
                            timeout=60, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == ["0", "0"]


def _connection() -> dict:
    """Which connection the session's statements go over: the DBAPI connection and, on PostgreSQL, its backend."""
    connection = db.session.connection()
    backend = connection.scalar(sa.text("SELECT pg_backend_pid()")) if BACKEND == "postgres" else None
    connection.scalar(sa.text("SELECT 1"))
    return {"object": id(connection.connection.dbapi_connection), "backend": backend}


def _in_a_forked_child(forget: bool) -> dict:
    """Fork; in the child, optionally forget the inherited connections, then report which one a statement used."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never back into pytest
        status = 1
        try:
            os.close(read_end)
            if forget:
                portal_db.forget_inherited_connections()
            used = _connection()
            db.session.rollback()
            if forget:
                db.session.close()
                db.engine.dispose()  # its own, new connections: the parent's were forgotten
            os.write(write_end, json.dumps(used).encode())
            status = 0
        finally:
            os._exit(status)
    os.close(write_end)
    try:
        ready, _, _ = select.select([read_end], [], [], 60)
        if not ready:
            os.kill(pid, 9)
            pytest.fail("the forked child did not answer within 60 s")
        report = os.read(read_end, 4096)
    finally:
        os.close(read_end)
        _, status = os.waitpid(pid, 0)
    assert status == 0 and report, "the forked child failed"
    return json.loads(report)


def test_a_forked_worker_opens_its_own_connection_and_leaves_its_parents_alone(app):
    parents = _connection()
    db.session.remove()  # the connection goes back to the pool, idle, as it would sit in a master

    # The hazard, shown: a child that forgets nothing is handed its parent's pooled connection.
    assert _in_a_forked_child(forget=False)["object"] == parents["object"]

    childs = _in_a_forked_child(forget=True)
    assert childs["object"] != parents["object"]
    if BACKEND == "postgres":
        assert childs["backend"] != parents["backend"]

    # The parent's connection is still its own and still works.
    assert _connection() == parents
