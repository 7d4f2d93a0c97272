"""A pooled connection is checked before use only after it sat idle (portal.db.ping_idle_connections): a busy
server pays no round trip per request for it, and a connection lost while idle is replaced before a request
sees it."""

from __future__ import annotations

import importlib

import pytest
import sqlalchemy as sa

from config import TestingConfig
from portal import create_app
from portal.extensions import db
from tests.conftest import BACKEND

portal_db = importlib.import_module("portal.db")  # (the package's `db` attribute is the Flask-SQLAlchemy object)


class Pings(list):
    """What each ping of the app's engine found; set `dead` to make the next pings find their connection lost."""

    dead = 0


@pytest.fixture
def pings(app, monkeypatch):
    seen = Pings()
    dialect = db.engine.dialect
    real = dialect.do_ping

    def do_ping(dbapi_connection):
        if seen.dead:
            seen.dead -= 1
            seen.append("dead")
            raise dialect.loaded_dbapi.OperationalError("server closed the connection unexpectedly")
        seen.append("alive")
        return real(dbapi_connection)

    monkeypatch.setattr(dialect, "do_ping", do_ping)
    return seen


def _connections(engine) -> list[object]:
    made: list[object] = []
    sa.event.listen(engine, "connect", lambda dbapi_connection, record: made.append(dbapi_connection))
    return made


def test_a_connection_used_a_moment_ago_is_not_pinged(app, client, pings):
    for _ in range(3):
        assert client.get("/forums").status_code == 200
    assert pings == []


def test_a_connection_idle_for_a_while_is_pinged_first(app, client, pings, monkeypatch):
    assert client.get("/forums").status_code == 200
    clock = portal_db.time.monotonic()
    monkeypatch.setattr(portal_db.time, "monotonic", lambda: clock + app.config["DATABASE_PING_AFTER_IDLE_SECONDS"])
    assert client.get("/forums").status_code == 200
    assert pings == ["alive"]


def test_a_connection_lost_while_idle_is_replaced_before_the_request_uses_it(app, client, pings, monkeypatch):
    assert client.get("/forums").status_code == 200
    made = _connections(db.engine)
    clock = portal_db.time.monotonic()
    monkeypatch.setattr(portal_db.time, "monotonic", lambda: clock + 3600)
    pings.dead = 1
    response = client.get("/forums")
    assert response.status_code == 200  # no error page: the pool replaced the dead connection
    assert pings[0] == "dead" and len(made) == 1


def test_zero_pings_on_every_checkout(database_url, pings):
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=database_url, DATABASE_PING_AFTER_IDLE_SECONDS=0)
    with app.app_context():
        seen: list[str] = []
        real = db.engine.dialect.do_ping
        db.engine.dialect.do_ping = lambda conn: seen.append("ping") or real(conn)
        try:
            for _ in range(3):
                with db.engine.connect() as conn:
                    conn.execute(sa.text("SELECT 1"))
        finally:
            db.engine.dispose()
    assert seen == ["ping"] * 3


@pytest.mark.skipif(BACKEND != "postgres", reason="PostgreSQL only: it can end a connection from the server side")
def test_connections_the_server_ended_while_idle_are_replaced(app, client, monkeypatch):
    import psycopg

    assert client.get("/forums").status_code == 200
    db.session.commit()
    url = db.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(url, autocommit=True) as admin:
        ended = admin.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchone()[0]
    assert ended >= 1
    clock = portal_db.time.monotonic()
    monkeypatch.setattr(portal_db.time, "monotonic", lambda: clock + 3600)
    assert client.get("/forums").status_code == 200
