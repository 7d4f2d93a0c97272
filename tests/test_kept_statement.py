"""A hot statement run on the driver's cursor (portal.db.KeptStatement): the row execute().first() gives, the
engine's events, and execute() itself wherever the compiled form depends on the call or the driver fails."""

from __future__ import annotations

import sqlalchemy as sa

from portal.accounts import hooks
from portal.accounts.models import User
from portal.db import KeptStatement, utcnow
from portal.extensions import db
from portal.forums.models import Topic
from portal.permissions import Role
from tests.factories import make_category, make_organization, make_post, make_topic, make_user
from tests.helpers import count_queries

USERS = User.__table__
TOPICS = Topic.__table__


def _same_as_execute(kept: KeptStatement, params: dict) -> tuple:
    connection = db.session.connection()
    row = kept.first(connection, params)
    expected = connection.execute(kept.statement, params).first()
    assert row == tuple(expected)
    assert [type(value) for value in row] == [type(value) for value in expected]  # enums, aware datetimes, bools
    return row


def test_the_viewers_row_is_the_one_execute_gives_with_every_type_processed(app):
    organization = make_organization(name="Row Org")
    user = make_user(organization=organization, role=Role.STAFF, display_name="Kept Row")
    user.suspended_until = utcnow()
    db.session.commit()
    row = _same_as_execute(hooks._VIEWER, {"user_id": user.id})
    assert row[0] == user.id and Role.STAFF in row and "Row Org" in row
    assert _same_as_execute(hooks._VIEWER, {"user_id": user.id}) == row  # the kept plan, a second time


def test_the_topic_pages_statements_give_the_rows_execute_gives(app):
    user = make_user()
    topic = make_topic(make_category(), title="Kept statement topic")
    make_post(topic, user=user)
    db.session.commit()
    page = hooks._WITH_VIEWER["forums.topic"]
    for query in ({}, {"page": "2"}, {"page": "oops"}):
        params = {"user_id": user.id} | page.params({"topic_id": topic.id}, query)
        _same_as_execute(page.statement, params)
        if db.engine.dialect.name == "postgresql":
            _same_as_execute(page.on_postgresql, params)


def test_no_row_is_none(app):
    assert hooks._VIEWER.first(db.session.connection(), {"user_id": 10**9}) is None


def test_each_run_is_one_statement_that_the_engines_events_see(app):
    user_id = make_user().id
    db.session.commit()
    with count_queries() as log:
        hooks._VIEWER.first(db.session.connection(), {"user_id": user_id})
        hooks._VIEWER.first(db.session.connection(), {"user_id": user_id})
    assert log.count == 2 and all("FROM users" in statement for statement in log.statements)


def test_a_statement_whose_text_depends_on_the_call_runs_through_execute(app):
    users = [make_user(display_name=name) for name in ("In One", "In Two", "Out")]
    db.session.commit()
    kept = KeptStatement(sa.select(USERS.c.display_name).where(USERS.c.id.in_(sa.bindparam("ids", expanding=True)))
                         .order_by(USERS.c.id))
    ids = [users[0].id, users[1].id]
    assert kept.first(db.session.connection(), {"ids": ids}) == ("In One",)
    assert kept._plans[db.engine.dialect] is None  # (IN lists: the SQL text is made per call)
    assert kept.first(db.session.connection(), {"ids": [users[2].id]}) == ("Out",)


def test_a_driver_error_is_raised_as_sqlalchemy_raises_it(app):
    kept = KeptStatement(sa.select(sa.text("no_such_column")).select_from(TOPICS))
    try:
        kept.first(db.session.connection(), {})
    except sa.exc.DBAPIError as error:  # SQLAlchemy's own exception, as from execute()
        assert "no_such_column" in str(error)
    else:
        raise AssertionError("no error")
    db.session.rollback()
    user_id = make_user(display_name="After The Error").id  # the session works on: it writes and reads
    assert hooks._VIEWER.first(db.session.connection(), {"user_id": user_id})[0] == user_id
