"""The topic page's topic rides on the signed-in viewer's statement (accounts.hooks.with_viewer): one statement
reads both, and what it read for one viewer and topic is never used for another."""

from __future__ import annotations

import re

import pytest
from flask import g

from portal.accounts.hooks import load_user, loaded_with_viewer
from portal.accounts.services import new_session_stamp
from portal.db import utcnow
from portal.extensions import db
from portal.forums import queries
from portal.forums import services as forums
from portal.forums.models import Audience
from portal.notifications.models import WatchLevel
from portal.notifications.services import watching as notifications
from portal.permissions import Role
from tests.conftest import BACKEND
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
    # The viewer with the topic; the page of posts, which PostgreSQL reads in the same statement.
    assert log.count == (1 if BACKEND == "postgres" else 2), "\n".join(log.statements)
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
    read = ("forums.topic", customer.id, {"topic_id": 5}, ("row",))
    with app.test_request_context("/"):
        g.portal_with_viewer = read
        assert loaded_with_viewer("forums.topic", staff) is None  # another viewer
        g.portal_with_viewer = read
        assert loaded_with_viewer("forums.category", customer) is None  # another page
        g.portal_with_viewer = read
        assert loaded_with_viewer("forums.topic", customer) == ({"topic_id": 5}, ("row",))
        assert loaded_with_viewer("forums.topic", customer) is None  # taken once


# --- On PostgreSQL the page of posts rides on the viewer's statement too -------------------------------------


@pytest.fixture
def busy_topic():
    """25 posts over two pages: whispers, a deleted and a hidden post, an edit, likes from several people."""
    staff, author, liker = make_user(role=Role.STAFF), make_user(display_name="Busy Author"), make_user()
    topic = make_topic(user=author, title="A busy topic for folded pages")
    posts = [make_post(topic, staff if i % 6 == 0 else author, f"Reply {i} of the busy topic.", whisper=i % 6 == 0)
             for i in range(24)]
    forums.edit_post(author, posts[1], "Reply 1, edited.")
    forums.delete_post(author, posts[2])
    posts[3].hidden_at = utcnow()
    for post in posts[1:22:3]:
        forums.like_post(liker, post)
    db.session.commit()
    return topic, liker, staff


def read_both_ways(app, viewer, topic, page):
    """The page of posts as the topic page reads it for `viewer` (folded into the viewer's statement on PostgreSQL),
    then read again by its own statement; and the statements the first read took after the viewer's."""
    path = topic_path(topic) + (f"?page={page}" if page > 1 else "")
    with app.test_request_context(path):
        user = load_user(f"{viewer.id}:{viewer.session_stamp}")  # as Flask-Login does: the page's statement
        with count_queries() as log:
            loaded, _ = queries.load_topic(topic.id, user)
            first = queries.topic_posts(loaded, user, page)
        again = queries.topic_posts(loaded, user, page)
    return first, again, log


@pytest.mark.parametrize("who", ["customer", "staff"])
@pytest.mark.parametrize("page", [1, 2, 3])
def test_the_page_of_posts_read_with_the_viewer_is_the_one_read_alone(app, busy_topic, who, page):
    topic, liker, staff = busy_topic
    viewer = staff if who == "staff" else liker
    first, again, log = read_both_ways(app, viewer, topic, page)
    assert (first.items, first.total, first.pages) == (again.items, again.total, again.pages)
    assert log.count == (0 if BACKEND == "postgres" else 1), log  # the topic came with the viewer in any case
    if page == 3:
        assert first.items == [] and first.total == 0  # past the end, as the view's 404 expects
        return
    assert first.items, "a page with posts"
    whispers = {post.number for post in first.items if post.is_whisper}
    assert whispers == ({2, 8, 14, 20} if who == "staff" and page == 1 else set())
    assert first.total == (25 if who == "staff" else 21)
    liked = {post.number for post in first.items if post.liked}
    assert liked == ({post.number for post in first.items if post.like_count} if who == "customer" else set())
    for post in first.items:
        assert post.created_at.tzinfo is not None and post.author_name
        if post.deleted_at is not None or post.hidden_at is not None or post.edited_at is not None:
            assert post.number in (3, 4, 5) and page == 1


def test_a_page_read_for_another_topic_or_page_is_not_used(app, busy_topic):
    topic, liker, _ = busy_topic
    other = make_topic(title="Another topic entirely")
    with app.test_request_context(topic_path(topic) + "?page=2"):
        user = load_user(f"{liker.id}:{liker.session_stamp}")
        loaded, _ = queries.load_topic(topic.id, user)
        with count_queries() as log:
            page_one = queries.topic_posts(loaded, user, 1)  # the statement read page 2
        assert log.count == 1 and page_one.items[0].number == 1
        assert queries.topic_posts(reload(other), user, 2).items == []
        assert [post.number for post in queries.topic_posts(loaded, user, 2).items] == [25]  # (whispers unseen)


def pressed_level(html: str) -> str:
    """The watch menu's current level: its summary's label."""
    match = re.search(r'<summary class="btn btn-sm btn-outline-secondary">([A-Za-z]+)<span class="visually-hidden">'
                      r' &mdash; notification level for this topic', html)
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
