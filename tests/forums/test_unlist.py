"""Unlisted topics: out of lists, search, feeds and "latest topic" for everyone but staff; still reachable."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.forums import services as forums
from portal.moderation.models import AuditEntry
from portal.permissions import Role
from tests.factories import login, make_category, make_topic, make_user, reload
from tests.forums.pages import post_form, text, topic_path


@pytest.fixture
def staff(app):
    return make_user(role=Role.STAFF)


@pytest.fixture
def hidden(app, staff):
    category = make_category(name="Unlisting ground", slug="unlisting-ground")
    make_topic(category, title="An ordinary visible topic")
    topic = make_topic(category, title="A quietly unlisted walrus topic")
    forums.set_unlisted(staff, topic, True)
    db.session.commit()
    return reload(topic)


def test_unlisted_topics_leave_lists_search_feeds_and_latest_for_customers(client, hidden):
    login(client, make_user())
    for path in ("/c/unlisting-ground", "/latest", "/latest.atom", "/c/unlisting-ground.atom", "/search?q=walrus"):
        page = text(client.get(path))
        assert "quietly unlisted" not in page and f"/t/{hidden.slug}/" not in page, path
    assert "An ordinary visible topic" in text(client.get("/c/unlisting-ground"))
    assert reload(hidden.category).last_topic_id != hidden.id
    assert "quietly unlisted walrus" not in text(client.get("/forums"))
    # The address still works.
    assert client.get(topic_path(hidden)).status_code == 200


def test_staff_still_find_unlisted_topics_marked_as_such(client, staff, hidden):
    login(client, staff)
    listing = text(client.get("/c/unlisting-ground"))
    assert "A quietly unlisted walrus topic" in listing and "Unlisted" in listing
    assert "A quietly unlisted" in text(client.get("/search?q=walrus"))
    page = text(client.get(topic_path(hidden)))
    assert "List again" in page


def test_listing_again_brings_it_back_and_both_are_audited(client, staff, hidden):
    login(client, staff)
    response = post_form(client, f"/t/{hidden.id}/unlist", {"unlisted": "0"})
    assert response.status_code == 302 and not reload(hidden).is_unlisted
    assert "Listed again" in text(client.get(response.headers["Location"]))
    assert reload(hidden.category).last_topic_id == hidden.id
    actions = db.session.scalars(sa.select(AuditEntry.action).order_by(AuditEntry.id)).all()
    assert actions == ["topic.unlist", "topic.relist"]


def test_customers_cannot_unlist(client):
    topic = make_topic()
    login(client, make_user())
    assert post_form(client, f"/t/{topic.id}/unlist", {"unlisted": "1"}).status_code == 403
    assert not reload(topic).is_unlisted
