"""Live servers: the real app under gunicorn, on a fresh migrated database, for tests that talk HTTP.

A pytest plugin (listed in tests/conftest.py's `pytest_plugins`). Two session fixtures, each started the
first time a test asks for it and stopped at the end of the run:

- `live_server`: production-like settings (rate limits on, gunicorn.conf.py, PYTHONOPTIMIZE=2), 2 sync workers;
  browser journeys use it;
- `concurrent_server`: rate limits off, 4 gthread workers x 8 threads; the concurrency suite uses it.

Tests that use them are put in the xdist group "live" (see pytest_collection_modifyitems), so with
`--dist loadgroup` one worker runs them all and each server starts once per run. (With pytest 9.2 and
pytest-xdist 3.8 the mark no longer reaches xdist's scheduler, pytest-dev/pytest-xdist#1386, so
pytest_xdist_make_scheduler below also puts tests/e2e and tests/concurrency in that group by path.)

Each server has its own database (SQLite file, or with TEST_DB=postgres a database named
`<TEST_DATABASE_URL's db>_portal_live_<purpose>_<worker>`, dropped at the end), so it never touches the
per-worker database of the other tests. It keeps its rows for the whole run: tests make uniquely named data.

Tests create data and read the outbox in-process:

    with live_server.app().app_context():
        user = make_user(email=...)
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask

from config import TestingConfig
from portal import create_app
from portal.extensions import db
from tests.helpers import free_port

BASE_DIR = Path(__file__).resolve().parent.parent
LIVE_FIXTURES = ("live_server", "concurrent_server")
LIVE_GROUP = "live"
LIVE_PATHS = ("tests/e2e/", "tests/concurrency/")  # the suites that use the live servers
# Other tests that must share one worker, by node id prefix: the query budgets build their data once per worker.
GROUPED_PATHS = {"tests/test_query_budgets.py::test_page_runs_a_fixed_number_of_queries": "query-budgets"}
STARTUP_SECONDS = 15
# Variables of the developer's shell that would change how the server under test behaves.
SCRUBBED_ENV = (
    "DATABASE_URL", "REDIS_URL", "RATELIMIT_ENABLED", "PROXY_COUNT", "GUNICORN_CMD_ARGS", "WEB_CONCURRENCY",
    "MAIL_BACKEND", "MAIL_DELIVER_ON_COMMIT", "SECRET_KEY", "SITE_URL", "STAFF_EMAIL_DOMAINS", "FLASK_DEBUG",
)


def _backend() -> str:
    return os.environ.get("TEST_DB", "sqlite").lower()


def _worker_suffix() -> str:
    # From the environment rather than xdist's worker_id fixture, so this also works with `-p no:xdist`.
    return os.environ.get("PYTEST_XDIST_WORKER") or "main"


def _no_proxy_opener() -> urllib.request.OpenerDirector:
    return urllib.request.build_opener(urllib.request.ProxyHandler({}))


class LiveServer:
    """gunicorn serving wsgi:app with PORTAL_ENV=testing on its own database, on 127.0.0.1:<free port>."""

    def __init__(self, purpose: str, tmp_dir: Path, gunicorn_args: list[str], env: dict[str, str] | None = None):
        self.purpose = purpose
        self.tmp_dir = Path(tmp_dir)
        self.gunicorn_args = list(gunicorn_args)
        self.extra_env = dict(env or {})
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.database_url = ""
        self.log_path = self.tmp_dir / "gunicorn.log"
        self._postgres_admin_url: sa.engine.URL | None = None
        self._postgres_name = ""
        self._process: subprocess.Popen | None = None
        self._log = None
        self._app: Flask | None = None

    # --- lifecycle --------------------------------------------------------------------------------

    def start(self) -> LiveServer:
        self.database_url = self._create_database()
        env = self._env()
        self._migrate(env)
        self._log = open(self.log_path, "wb")  # noqa: SIM115  (closed in stop())
        # As production serves it (README, "Running in production"): the project's gunicorn.conf.py, read from the
        # directory gunicorn starts in (the app loaded once and the workers forked from it), and PYTHONOPTIMIZE=2.
        command = [
            sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{self.port}",
            "--graceful-timeout", "3", "--timeout", "60", "--no-control-socket", *self.gunicorn_args, "wsgi:app",
        ]
        self._process = subprocess.Popen(
            command, cwd=BASE_DIR, env={**env, "PYTHONOPTIMIZE": "2"}, stdin=subprocess.DEVNULL, stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        self._wait_until_answering()
        return self

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(timeout=10)
            self._process = None
        if self._log is not None:
            self._log.close()
            self._log = None
        if self._app is not None:
            with self._app.app_context():
                db.session.remove()
                db.engine.dispose()
            self._app = None
        self._drop_database()

    def app(self) -> Flask:
        """An in-process app on the server's database (same config), for factories and reading the outbox."""
        if self._app is None:
            self._app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=self.database_url)
        return self._app

    def log_tail(self, chars: int = 4000) -> str:
        """The end of gunicorn's output (its error log, with the app's tracebacks)."""
        try:
            text = self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""
        return text[-chars:]

    # --- pieces -----------------------------------------------------------------------------------

    def _env(self) -> dict[str, str]:
        env = {key: value for key, value in os.environ.items() if key not in SCRUBBED_ENV}
        env.update(PORTAL_ENV="testing", DATABASE_URL=self.database_url, FLASK_APP="wsgi", PYTHONUNBUFFERED="1")
        env.update(self.extra_env)
        return env

    def _migrate(self, env: dict[str, str]) -> None:
        flask = Path(sys.executable).with_name("flask")
        command = [str(flask)] if flask.exists() else [sys.executable, "-m", "flask"]
        result = subprocess.run(
            [*command, "db", "upgrade"], cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=120,
            check=False,
        )
        if result.returncode != 0:
            pytest.fail(f"`flask db upgrade` for the {self.purpose} live server failed:\n{result.stderr[-4000:]}")

    def _wait_until_answering(self) -> None:
        opener = _no_proxy_opener()
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            if self._process.poll() is not None:
                code = self._process.returncode
                self._process = None
                pytest.fail(f"gunicorn ({self.purpose}) exited with {code} at start:\n{self.log_tail()}")
            try:
                with opener.open(self.url + "/", timeout=2) as response:
                    response.read()
                return
            except urllib.error.HTTPError as exc:  # an answer all the same
                exc.close()
                return
            except OSError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                pytest.fail(f"gunicorn ({self.purpose}) did not answer on {self.url} in {STARTUP_SECONDS} s:\n"
                            f"{self.log_tail()}")
            time.sleep(0.1)

    def _create_database(self) -> str:
        backend = _backend()
        if backend == "sqlite":
            return f"sqlite:///{self.tmp_dir / 'portal.db'}"
        if backend != "postgres":
            pytest.exit(f"TEST_DB must be sqlite or postgres, not {backend!r}", 2)
        base = os.environ.get("TEST_DATABASE_URL", "")
        if not base:
            pytest.exit("TEST_DB=postgres needs TEST_DATABASE_URL, e.g. postgresql://postgres@127.0.0.1:5432/test", 2)
        url = sa.engine.make_url(re.sub(r"^postgres(ql)?://", "postgresql+psycopg://", base))
        self._postgres_admin_url = url
        self._postgres_name = f"{url.database or 'test'}_portal_live_{self.purpose}_{_worker_suffix()}"
        self._postgres_execute(
            f'DROP DATABASE IF EXISTS "{self._postgres_name}" WITH (FORCE)', f'CREATE DATABASE "{self._postgres_name}"'
        )
        return url.set(database=self._postgres_name).render_as_string(hide_password=False)

    def _drop_database(self) -> None:
        if self._postgres_admin_url is not None and self._postgres_name:
            self._postgres_execute(f'DROP DATABASE IF EXISTS "{self._postgres_name}" WITH (FORCE)')
            self._postgres_name = ""

    def _postgres_execute(self, *statements: str) -> None:
        admin = sa.create_engine(self._postgres_admin_url, isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as conn:
                for statement in statements:
                    conn.exec_driver_sql(statement)
        except sa.exc.OperationalError as exc:
            where = self._postgres_admin_url.render_as_string(hide_password=True)
            pytest.exit(f"PostgreSQL at {where} is unreachable: {exc}", 2)
        finally:
            admin.dispose()


def _serve(tmp_path_factory, purpose: str, gunicorn_args: list[str], env: dict[str, str] | None = None):
    server = LiveServer(purpose, tmp_path_factory.mktemp(f"live-{purpose}"), gunicorn_args, env)
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def live_server(tmp_path_factory):
    """The app as a person meets it: default rate limits, 2 sync workers."""
    yield from _serve(tmp_path_factory, "browser", ["--workers", "2"])


@pytest.fixture(scope="session")
def concurrent_server(tmp_path_factory):
    """For many simultaneous requests: rate limits off, 4 gthread workers x 8 threads."""
    yield from _serve(
        tmp_path_factory, "concurrent", ["-k", "gthread", "--workers", "4", "--threads", "8"],
        env={"RATELIMIT_ENABLED": "0"},
    )


@pytest.hookimpl(tryfirst=True)  # before xdist reads the xdist_group marks (--dist loadgroup)
def pytest_collection_modifyitems(config, items) -> None:
    for item in items:
        if any(name in getattr(item, "fixturenames", ()) for name in LIVE_FIXTURES):
            item.add_marker(pytest.mark.xdist_group(LIVE_GROUP))


@pytest.hookimpl(tryfirst=True, optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """--dist loadgroup, with the live suites and GROUPED_PATHS grouped by path too (the marks are lost: see the
    docstring)."""
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadGroupScheduling

    class LiveGroupScheduling(LoadGroupScheduling):
        def _split_scope(self, nodeid: str) -> str:
            if "@" not in nodeid:
                if nodeid.startswith(LIVE_PATHS):
                    return LIVE_GROUP
                for prefix, group in GROUPED_PATHS.items():
                    if nodeid.startswith(prefix):
                        return group
            return super()._split_scope(nodeid)

    return LiveGroupScheduling(config, log)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.failed and call.when == "call":
        for name in LIVE_FIXTURES:
            server = getattr(item, "funcargs", {}).get(name)
            if isinstance(server, LiveServer):
                report.sections.append((f"{name} log (end of {server.log_path})", server.log_tail()))
    return report
