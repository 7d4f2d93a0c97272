"""Requests that only read end their transaction with COMMIT on PostgreSQL (psycopg keeps its prepared
statements then); anything that wrote without committing is still rolled back."""

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
def test_a_page_that_only_reads_ends_with_commit_on_postgresql(client, endings):
    assert client.get("/forums").status_code == 200
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
