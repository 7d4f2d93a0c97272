"""Requests that only read keep psycopg's prepared statements on PostgreSQL (their reads ran without BEGIN, so
nothing is rolled back; a transaction that only read ends with COMMIT); anything that wrote without committing is
still rolled back."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from portal.accounts.models import User
from portal.extensions import db
from tests.conftest import BACKEND
from tests.factories import make_user, reload


@pytest.fixture
def endings(app):
    seen: list[str] = []
    engine = db.engine
    on_commit, on_rollback = (lambda conn: seen.append("commit")), (lambda conn: seen.append("rollback"))
    sa.event.listen(engine, "commit", on_commit)
    sa.event.listen(engine, "rollback", on_rollback)
    yield seen
    sa.event.remove(engine, "commit", on_commit)
    sa.event.remove(engine, "rollback", on_rollback)


@pytest.mark.skipif(BACKEND != "postgres", reason="PostgreSQL only: SQLite has no prepared statements to keep")
def test_pages_that_only_read_keep_the_prepared_statements_on_postgresql(client):
    # psycopg prepares a statement from its fifth run, and forgets them all when it sends a ROLLBACK.
    for _ in range(7):
        assert client.get("/forums").status_code == 200
    raw = db.engine.raw_connection()  # the one pooled connection those requests used
    try:
        assert raw.dbapi_connection._prepared._names
    finally:
        raw.close()


@pytest.mark.skipif(BACKEND != "postgres", reason="PostgreSQL only: SQLite has no prepared statements to keep")
def test_a_transaction_that_only_read_ends_with_commit(app, endings):
    # A request that may write (a POST: in a transaction from BEGIN), but only read.
    with app.app_context(), app.test_request_context("/forums", method="POST"):
        db.session.scalar(sa.select(User.id).limit(1))
        endings.clear()
    assert endings == ["commit"]


def test_an_uncommitted_write_is_rolled_back_not_committed(app, endings):
    user = make_user(display_name="Before")
    endings.clear()
    with app.app_context():
        db.session.execute(sa.update(User).where(User.id == user.id).values(display_name="Never committed"))
    assert "commit" not in endings
    assert reload(user).display_name == "Before"


def test_a_request_that_failed_is_rolled_back(app, endings):
    user = make_user(display_name="Before")
    endings.clear()
    with pytest.raises(RuntimeError), app.app_context():
        db.session.scalar(sa.select(User.id).limit(1))
        raise RuntimeError("the view failed")
    assert "commit" not in endings and reload(user).display_name == "Before"


# --- A GET's reads without BEGIN (PostgreSQL) --------------------------------------------------------------

postgres_only = pytest.mark.skipif(BACKEND != "postgres", reason="PostgreSQL only: SQLite transactions are in-process")


@pytest.fixture
def autocommit_seen(app):
    """For each statement: (its first word, whether the connection was in autocommit when it ran)."""
    seen: list[tuple[str, bool]] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        autocommit = getattr(conn.connection.dbapi_connection, "autocommit", False)
        seen.append((statement.split()[0].upper(), bool(autocommit)))

    sa.event.listen(db.engine, "after_cursor_execute", record)
    yield seen
    sa.event.remove(db.engine, "after_cursor_execute", record)


@postgres_only
def test_a_signed_in_page_reads_without_begin_or_commit(app, client, autocommit_seen, endings):
    from tests.factories import login

    login(client, make_user())
    client.get("/forums")
    autocommit_seen.clear()
    assert client.get("/forums").status_code == 200
    assert autocommit_seen and all(autocommit for _, autocommit in autocommit_seen)
    assert all(word == "SELECT" for word, _ in autocommit_seen)


def _reads_then_transaction(seen: list[tuple[str, bool]], first: str) -> bool:
    """Reads in autocommit up to the first `first` statement, and that one and all after it in a transaction."""
    start = next(i for i, (word, _) in enumerate(seen) if word == first)
    return start > 0 and all(a for _, a in seen[:start]) and not any(a for _, a in seen[start:])


def _add_view(app, rule, view):
    app.add_url_rule(rule, view.__name__, view)


@postgres_only
def test_the_writes_of_a_get_still_share_one_transaction(app, client, autocommit_seen):
    user = make_user(display_name="Before")

    def two_writes_then_fail():
        db.session.scalar(sa.select(User.id).where(User.id == user.id))  # a read first, in autocommit
        db.session.execute(sa.update(User).where(User.id == user.id).values(display_name="Half"))
        db.session.execute(sa.update(User).where(User.id == user.id).values(job_title="Done"))
        raise RuntimeError("the view failed after writing")

    def two_writes():
        db.session.scalar(sa.select(User.id).where(User.id == user.id))
        db.session.execute(sa.update(User).where(User.id == user.id).values(display_name="After"))
        db.session.execute(sa.update(User).where(User.id == user.id).values(job_title="Done"))
        db.session.commit()
        return "ok"

    _add_view(app, "/_test/two-writes-then-fail", two_writes_then_fail)
    _add_view(app, "/_test/two-writes", two_writes)
    db.session.commit()
    autocommit_seen.clear()
    with pytest.raises(RuntimeError):
        client.get("/_test/two-writes-then-fail")
    assert _reads_then_transaction(autocommit_seen, first="UPDATE")
    assert (reload(user).display_name, reload(user).job_title) == ("Before", "")  # both rolled back

    assert client.get("/_test/two-writes").status_code == 200
    assert (reload(user).display_name, reload(user).job_title) == ("After", "Done")


@postgres_only
def test_a_locking_read_in_a_get_runs_in_a_transaction(app, client, autocommit_seen):
    user = make_user()

    def lock_then_read():
        db.session.scalar(sa.select(User.id).where(User.id == user.id))
        db.session.execute(sa.select(User.id).where(User.id == user.id).with_for_update())
        db.session.scalar(sa.select(User.display_name).where(User.id == user.id))
        return "ok"

    _add_view(app, "/_test/lock-then-read", lock_then_read)
    db.session.commit()
    autocommit_seen.clear()
    assert client.get("/_test/lock-then-read").status_code == 200
    locking = next(i for i, (word, _) in enumerate(autocommit_seen) if word == "SELECT" and i > 0 and
                   not autocommit_seen[i][1])
    assert all(autocommit for _, autocommit in autocommit_seen[:locking])
    assert not any(autocommit for _, autocommit in autocommit_seen[locking:]) and len(autocommit_seen) - locking == 2


@postgres_only
def test_connections_go_back_to_the_pool_out_of_autocommit(app, client):
    assert client.get("/forums").status_code == 200
    with db.engine.connect() as conn:
        assert conn.connection.dbapi_connection.autocommit is False
        conn.execute(sa.update(User).values(job_title="x"))
        conn.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(User).where(User.job_title == "x")) == 0


def test_posts_and_work_outside_requests_keep_their_transactions(app, client, autocommit_seen):
    with app.app_context():
        db.session.scalar(sa.select(User.id).limit(1))
        db.session.rollback()
    assert all(not autocommit for _, autocommit in autocommit_seen)
