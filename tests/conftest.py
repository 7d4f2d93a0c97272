"""Test fixtures: a real database per test worker, a fresh app per test, factories and helpers.

The database is SQLite unless TEST_DB=postgres, which needs TEST_DATABASE_URL (`make test` runs the
suite once on each when TEST_DATABASE_URL is set). Its schema is built by the real migrations, and every
test starts from empty tables.
"""

from __future__ import annotations

import contextvars
import os
import re

import pytest
import sqlalchemy as sa
from flask import has_app_context
from flask.testing import FlaskClient
from flask_migrate import upgrade

from config import TestingConfig
from portal import create_app
from portal.extensions import db, limiter

pytest_plugins = ["tests.live", "tests.browser"]

BACKEND = os.environ.get("TEST_DB", "sqlite").lower()
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def pytest_report_header(config) -> str:
    return f"portal test database: {BACKEND}"


def _worker_suffix(worker_id: str) -> str:
    return "main" if worker_id == "master" else worker_id


def _postgres_url(worker_id: str) -> str:
    base = os.environ.get("TEST_DATABASE_URL", "")
    if not base:
        pytest.exit("TEST_DB=postgres needs TEST_DATABASE_URL, e.g. postgresql://postgres@127.0.0.1:5432/test", 2)
    base = re.sub(r"^postgres(ql)?://", "postgresql+psycopg://", base)
    url = sa.engine.make_url(base)
    name = f"{url.database or 'test'}_portal_{_worker_suffix(worker_id)}"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    except sa.exc.OperationalError as exc:
        pytest.exit(f"PostgreSQL at {url.render_as_string(hide_password=True)} is unreachable: {exc}", 2)
    finally:
        admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def database_url(tmp_path_factory, worker_id) -> str:
    """One migrated database per xdist worker, shared by that worker's tests."""
    if BACKEND == "postgres":
        url = _postgres_url(worker_id)
    elif BACKEND == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'portal.db'}"
    else:
        pytest.exit(f"TEST_DB must be sqlite or postgres, not {BACKEND!r}", 2)
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=url)
    with app.app_context():
        upgrade()
        db.engine.dispose()
    return url


def _empty_tables() -> None:
    with db.engine.begin() as conn:
        for table in reversed(db.metadata.sorted_tables):
            conn.execute(table.delete())


class IsolatedClient(FlaskClient):
    """A test client whose requests run in a fresh context, as in production.

    Flask reuses an already-pushed app context for a request, so without this every request in a test
    would share the test's `g` (Flask-Login caches the user there) and its database session.
    """

    def open(self, *args, **kwargs):
        # End the test's own transaction first: the request sees what the test set up, and the test's next
        # read starts a fresh snapshot that sees what the request did (SQLite WAL snapshots otherwise).
        if has_app_context():
            db.session.commit()
        return contextvars.Context().run(super().open, *args, **kwargs)


def page_cache_settings(worker_id: str) -> dict[str, object]:
    """Settings that turn the anonymous page cache on, in Redis database 14 under a prefix of this test's own."""
    import uuid

    import redis

    base = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    url = base.rsplit("/", 1)[0] + "/14" if base.count("/") > 2 else base + "/14"
    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except redis.exceptions.ConnectionError:
        if IN_CI:
            pytest.fail(f"Redis at {url} is unreachable; .ci/run must start it")
        pytest.skip(f"needs Redis at {url} (set TEST_REDIS_URL); start it with redis-server")
    return {"REDIS_URL": url, "PAGE_CACHE_SECONDS": 60, "PAGE_CACHE_PREFIX": f"test-{worker_id}-{uuid.uuid4().hex}"}


@pytest.fixture
def app(request, database_url, worker_id):
    """A fresh app on the worker's database; tables are emptied after each test.

    Tests marked `page_cache` get the anonymous page cache on (Redis), as production has it.
    """
    overrides = page_cache_settings(worker_id) if request.node.get_closest_marker("page_cache") else {}
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=database_url, PROPAGATE_UNHANDLED=True, **overrides)
    app.test_client_class = IsolatedClient
    with app.app_context():
        limiter.reset()
        yield app
        db.session.remove()
        _empty_tables()
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def csrf_app(app):
    """The app with CSRF checks on (they are on by default; this documents the tests that rely on it)."""
    assert app.config.get("WTF_CSRF_ENABLED", True)
    return app
