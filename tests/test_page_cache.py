"""The anonymous page cache (portal/cache.py): hits for signed-out readers, never a stale page after a write."""

from __future__ import annotations

import pytest

from config import TestingConfig
from portal import create_app
from portal.extensions import db
from portal.forums import services as forums
from portal.forums.models import CategoryKind
from portal.permissions import Role
from tests.factories import login, make_category, make_post, make_topic, make_user, reload

pytestmark = pytest.mark.page_cache


def fetch(client, path: str):
    response = client.get(path)
    assert response.status_code == 200, path
    return response.headers.get("X-Page-Cache"), response.get_data(as_text=True)


@pytest.fixture
def thread():
    staff = make_user(role=Role.STAFF, display_name="Stella Staff")
    asker = make_user(display_name="Asha Asker")
    category = make_category(name="Questions here", kind=CategoryKind.QUESTIONS)
    topic = make_topic(category, asker, title="Why is the export slow?", body="It takes an hour.")
    reply = make_post(topic, staff, body="Because of the nightly batch.")
    return {"staff": staff, "asker": asker, "category": category, "topic": topic, "reply": reply}


def paths(t) -> list[str]:
    topic = t["topic"]
    return ["/forums", "/latest", f"/c/{t['category'].slug}", f"/t/{topic.slug}/{topic.id}"]


def test_signed_out_readers_get_the_stored_page(client, thread):
    for path in paths(thread):
        first, body = fetch(client, path)
        second, again = fetch(client, path)
        assert (first, second) == ("miss", "hit"), path
        assert again == body


def _reply(t):
    forums.create_post(t["asker"], t["topic"], "Marker: a brand new reply.")


def _edit(t):
    forums.edit_post(t["staff"], t["reply"], "Marker: edited answer.")


def _delete(t):
    forums.delete_post(t["staff"], t["reply"])


def _accept(t):
    forums.accept_answer(t["asker"], t["topic"], t["reply"])


def _official(t):
    forums.mark_official(t["staff"], t["reply"], True)


def _pin(t):
    forums.set_pinned(make_user(role=Role.STAFF), t["topic"], True)


def _lock(t):
    forums.set_locked(make_user(role=Role.STAFF), t["topic"], True)


def _retitle(t):
    forums.retitle_topic(make_user(role=Role.STAFF), t["topic"], "Marker: a better title")


def _move(t):
    forums.move_topic(make_user(role=Role.STAFF), t["topic"], make_category(name="Marker category"))


def _new_topic(t):
    forums.create_topic(t["asker"], t["category"], "Marker: another question", "Body text.")


def _rename_author(t):
    t["asker"].display_name = "Marker Renamed"


def _like(t):
    forums.like_post(t["asker"], t["reply"])


WRITES = [_reply, _edit, _delete, _accept, _official, _pin, _lock, _retitle, _move, _new_topic, _rename_author,
          _like]


@pytest.mark.parametrize("write", WRITES, ids=[w.__name__.strip("_") for w in WRITES])
def test_every_write_makes_every_cached_page_stale(client, thread, write):
    before = []
    for path in paths(thread):
        fetch(client, path)
        state, body = fetch(client, path)
        assert state == "hit"
        before.append(body)
    write(thread)
    db.session.commit()
    changed = 0
    for path, old in zip(paths(thread), before, strict=True):  # paths again: a new title is a new address
        state, body = fetch(client, path)
        assert state == "miss", f"{path} served from the cache after {write.__name__}"
        changed += body != old
    assert changed >= 1  # the write shows somewhere, read fresh


def test_a_rolled_back_write_changes_nothing_and_a_later_commit_still_invalidates(client, thread):
    topic_path = paths(thread)[-1]
    fetch(client, topic_path)
    forums.create_post(thread["asker"], thread["topic"], "Never committed.")
    db.session.rollback()
    state, body = fetch(client, topic_path)
    assert "Never committed." not in body
    _reply(reload(thread["topic"]) and thread)
    db.session.commit()
    state, body = fetch(client, topic_path)
    assert state == "miss" and "Marker: a brand new reply." in body


def test_signed_in_people_never_get_a_cached_page(client, thread):
    topic_path = paths(thread)[-1]
    fetch(client, topic_path)
    fetch(client, topic_path)
    login(client, thread["asker"])
    response = client.get(topic_path)
    assert "X-Page-Cache" not in response.headers
    assert "Asha Asker" in response.get_data(as_text=True)
    assert "Your reply" in response.get_data(as_text=True)  # their composer, not the anonymous page


def test_read_markers_and_presence_leave_the_cache_alone(app, client, thread):
    topic_path = paths(thread)[-1]
    reader = app.test_client()
    login(reader, make_user())
    fetch(client, topic_path)
    reader.get(topic_path)  # writes the reader's marker (and presence): private to them
    assert fetch(client, topic_path)[0] == "hit"


def test_a_pending_flash_is_never_cached_or_served_from_the_cache(client, thread):
    path = "/forums"
    fetch(client, path)
    with client.session_transaction() as session:
        session["_flashes"] = [("info", "You are signed out.")]
    response = client.get(path)
    assert "X-Page-Cache" not in response.headers
    assert "You are signed out." in response.get_data(as_text=True)
    assert fetch(client, path)[0] == "hit"


def test_missing_pages_and_redirects_are_not_stored(client, thread):
    topic = thread["topic"]
    assert client.get(f"/t/wrong-slug/{topic.id}").status_code == 301
    assert client.get("/t/x/987654").status_code == 404
    assert client.get("/t/x/987654").headers.get("X-Page-Cache") != "hit"


def test_without_redis_pages_are_served_uncached(app, database_url, thread):
    broken = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=database_url, REDIS_URL="redis://127.0.0.1:1/0",
                        PAGE_CACHE_SECONDS=60)
    try:
        response = broken.test_client().get("/forums")
    finally:
        with broken.app_context():
            db.engine.dispose()  # its own pool: close it now, not when garbage collected mid-way through another test
    assert response.status_code == 200
    assert "X-Page-Cache" not in response.headers
    assert "Questions here" in response.get_data(as_text=True)
