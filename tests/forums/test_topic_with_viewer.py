"""The topic page's topic rides on the signed-in viewer's statement (accounts.hooks.with_viewer): one statement
reads both, and what it read for one viewer and topic is never used for another."""

from __future__ import annotations

import re

import pytest
from flask import g

from portal.accounts.hooks import loaded_with_viewer
from portal.accounts.services import new_session_stamp
from portal.extensions import db
from portal.forums import services as forums
from portal.forums.models import Audience
from portal.notifications.models import WatchLevel
from portal.notifications.services import watching as notifications
from portal.permissions import Role
from tests.factories import login, make_category, make_post, make_topic, make_user, reload
from tests.forums.pages import raw, text, topic_path
from tests.helpers import count_queries


def test_one_statement_reads_the_viewer_and_the_topic(client):
    reader = make_user(display_name="Reader With Topic")
    topic = make_topic(title="Read with the viewer")
    make_post(topic, body="A reply to count statements by.")
    login(client, reader)
    path = topic_path(topic)
    client.get(path)
    with count_queries() as log:
        response = client.get(path)
    assert response.status_code == 200 and "A reply to count statements by." in text(response)
    assert log.count == 2, "\n".join(log.statements)  # the viewer with the topic; the page of posts
    assert sum("FROM users LEFT OUTER JOIN topics ON topics.id = " in s for s in log.statements) == 1, log


def test_the_read_marker_and_watch_level_are_the_viewers_own(client):
    first, second = make_user(), make_user()
    topic = make_topic(title="Whose marker is it")
    for i in range(3):
        make_post(topic, body=f"Reply number {i} here.")
    forums.advance_read_marker(first.id, topic.id, 2)
    notifications.set_topic_watch(first, topic, WatchLevel.WATCHING)
    db.session.commit()

    login(client, first)
    page = raw(client.get(topic_path(topic)))
    assert "Jump to first unread" in page
    assert pressed_level(page) == "Watching"

    other = client.application.test_client()
    login(other, second)
    page = raw(other.get(topic_path(topic)))
    assert "Jump to first unread" not in page  # never opened: no marker of the first reader's
    assert pressed_level(page) == "Normal"


def test_a_missing_or_hidden_topic_still_signs_the_viewer_in(client):
    reader = make_user(display_name="Still Signed In")
    login(client, reader)
    missing = client.get("/t/nothing-here/999999")
    assert missing.status_code == 404
    assert "Still Signed In" in text(missing)  # the viewer's row came back without a topic

    staff_only = make_category(name="Staff corner", slug="staff-corner", audience=Audience.STAFF)
    hidden = make_topic(staff_only, title="Only for staff eyes")
    response = client.get(topic_path(hidden))
    assert response.status_code in (403, 404)
    assert "Only for staff eyes" not in text(response)


def test_a_stale_session_gets_the_signed_out_page(client):
    """Signed out everywhere: the viewer statement finds the user but refuses the stamp; the topic's columns read
    with it are dropped, and the page is the signed-out one."""
    reader = make_user(display_name="Signed Out Elsewhere")
    topic = make_topic(title="After signing out everywhere")
    login(client, reader)
    assert "Signed Out Elsewhere" in text(client.get(topic_path(topic)))
    reload(reader).session_stamp = new_session_stamp()
    db.session.commit()
    page = text(client.get(topic_path(topic)))
    assert "After signing out everywhere" in page
    assert "Signed Out Elsewhere" not in page
    assert "Sign in to reply" in page


def test_what_was_read_serves_only_that_endpoint_and_viewer(app):
    staff, customer = make_user(role=Role.STAFF), make_user()
    with app.test_request_context("/"):
        g.portal_with_viewer = ("forums.topic", customer.id, ("row",))
        assert loaded_with_viewer("forums.topic", staff) is None  # another viewer
        g.portal_with_viewer = ("forums.topic", customer.id, ("row",))
        assert loaded_with_viewer("forums.category", customer) is None  # another page
        g.portal_with_viewer = ("forums.topic", customer.id, ("row",))
        assert loaded_with_viewer("forums.topic", customer) == ("row",)
        assert loaded_with_viewer("forums.topic", customer) is None  # taken once


def pressed_level(html: str) -> str:
    """The watch menu's current level: its summary's label."""
    match = re.search(r'<summary class="btn btn-sm btn-outline-secondary">([A-Za-z]+)<span class="visually-hidden">'
                      r' — notification level for this topic', html)
    assert match, "no topic watch menu"
    return match.group(1)


@pytest.mark.parametrize("level", [WatchLevel.MUTED, WatchLevel.TRACKING])
def test_the_watch_button_shows_the_level_read_with_the_viewer(client, level):
    reader = make_user()
    topic = make_topic(title="A level read with the viewer")
    notifications.set_topic_watch(reader, topic, level)
    db.session.commit()
    login(client, reader)
    assert pressed_level(raw(client.get(topic_path(topic)))) == level.label
