"""PostgreSQL connections as portal.db.tune_postgres_connections sets them up: a result's description is worked
out once per shape of result (the one psycopg would build, never shared between results with other columns or
column types, rebuilt when a column's type changes, kept too once psycopg prepares the statement), and sessions
speak UTC."""

from __future__ import annotations

import importlib
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import psycopg
import pytest
import sqlalchemy as sa

from portal.extensions import db
from tests.conftest import BACKEND
from tests.factories import login, make_post, make_topic, make_user
from tests.forums.pages import text, topic_path

portal_db = importlib.import_module("portal.db")  # (the package's `db` attribute is the Flask-SQLAlchemy object)

pytestmark = pytest.mark.skipif(BACKEND != "postgres", reason="PostgreSQL only: psycopg's cursor descriptions")


def _cursor():
    return db.session.connection().connection.dbapi_connection.cursor()


def _fresh(cursor) -> list:
    return psycopg.Cursor.description.fget(cursor)


def _same(kept, fresh) -> bool:
    return [(c.name, c.type_code, c.internal_size, c.precision, c.scale) for c in kept] == \
        [(c.name, c.type_code, c.internal_size, c.precision, c.scale) for c in fresh]


def test_a_description_is_psycopgs_own_and_built_once(app):
    portal_db._descriptions.clear()
    cursor = _cursor()
    cursor.execute("SELECT 1 AS one, 'x'::varchar(5) AS word, now() AS moment")
    first = cursor.description
    assert _same(first, _fresh(cursor))
    cursor.execute("SELECT 1 AS one, 'x'::varchar(5) AS word, now() AS moment")
    again = cursor.description
    assert [a is b for a, b in zip(first, again, strict=True)] == [True, True, True]  # the same Columns, kept
    assert again is not first  # but a list of its own
    assert len(portal_db._descriptions) == 1


def test_descriptions_are_kept_for_prepared_statements_too(app):
    # psycopg prepares a statement from its fifth run (prepare_threshold) and then keeps no query text on the
    # cursor: the hot statements of every page run that way.
    portal_db._descriptions.clear()
    cursor = _cursor()
    statement = "SELECT %s::int AS one, 'x'::varchar(5) AS word"
    cursor.execute(statement, (1,))
    first = cursor.description
    for number in range(2, 12):
        cursor.execute(statement, (number,))
        assert [a is b for a, b in zip(first, cursor.description, strict=True)] == [True, True]
        assert cursor.fetchone() == (number, "x")
    assert cursor.connection._prepared._names  # it did get prepared
    assert len(portal_db._descriptions) == 1


def test_other_statements_and_other_column_types_get_their_own(app):
    cursor = _cursor()
    cursor.execute("SELECT 1 AS one")
    assert [c.name for c in cursor.description] == ["one"]
    cursor.execute("SELECT 2 AS two, 3 AS three")
    assert [c.name for c in cursor.description] == ["two", "three"]
    cursor.execute("SELECT 2 AS three, 3 AS two")  # the same types, other names
    assert [c.name for c in cursor.description] == ["three", "two"]
    cursor.execute("SELECT 'a'::text AS two, 3 AS three")  # the same names, another type
    assert _same(cursor.description, _fresh(cursor))
    db.session.execute(sa.text("CREATE TEMPORARY TABLE described (value varchar(5))"))
    cursor = _cursor()
    cursor.execute("SELECT value FROM described")
    assert cursor.description[0].display_size == 5
    db.session.execute(sa.text("ALTER TABLE described ALTER COLUMN value TYPE varchar(40)"))
    cursor = _cursor()
    cursor.execute("SELECT value FROM described")
    assert cursor.description[0].display_size == 40  # the same statement and type, another modifier
    db.session.execute(sa.text("ALTER TABLE described ALTER COLUMN value TYPE integer USING 0"))
    cursor = _cursor()
    cursor.execute("SELECT value FROM described")
    assert cursor.description[0].type_code == psycopg.adapters.types["int4"].oid  # not the kept varchar's
    assert _same(cursor.description, _fresh(cursor))
    db.session.rollback()


def test_statements_that_return_no_rows_have_no_description(app):
    cursor = _cursor()
    db.session.execute(sa.text("CREATE TEMPORARY TABLE nothing_described (value integer)"))
    cursor.execute("INSERT INTO nothing_described VALUES (1)")
    assert cursor.description is None
    db.session.rollback()


def test_pages_read_through_the_kept_descriptions(client):
    reader = make_user(display_name="Described Reader")
    topic = make_topic(title="Descriptions kept for a page")
    make_post(topic, body="A reply read twice.")
    login(client, reader)
    for _ in range(2):
        page = text(client.get(topic_path(topic)))
        assert "A reply read twice." in page and "Described Reader" in page
    assert portal_db._descriptions


def test_sessions_speak_utc_and_timestamps_come_back_as_they_were_stored(app):
    assert db.session.execute(sa.text("SHOW TIME ZONE")).scalar() == "UTC"
    topic = make_topic(title="A moment kept exactly")
    moment = datetime(2026, 6, 30, 23, 59, 58, 123456, tzinfo=UTC)
    topic.last_post_at = moment
    db.session.commit()
    db.session.expire_all()
    loaded = db.session.get(type(topic), topic.id).last_post_at
    assert loaded == moment and loaded.tzinfo is UTC
    # Any zone in, the same instant out, in UTC.
    topic = db.session.get(type(topic), topic.id)
    topic.last_post_at = datetime(2026, 7, 1, 8, 59, 58, tzinfo=ZoneInfo("Asia/Tokyo"))
    db.session.commit()
    db.session.expire_all()
    loaded = db.session.get(type(topic), topic.id).last_post_at
    assert loaded == moment - timedelta(microseconds=123456) and loaded.tzinfo is UTC
