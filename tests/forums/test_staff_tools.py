"""Staff tools through the test client: pin, lock, move, assign — and 403 for customers on every one."""

from __future__ import annotations

import re

import pytest

from portal.permissions import Role
from tests.factories import login, make_category, make_post, make_topic, make_user, reload
from tests.forums.pages import post_form, raw, text, topic_path


@pytest.fixture
def staff(client):
    user = make_user(role=Role.STAFF, display_name="Sam Staff")
    login(client, user)
    return user


def flash_after(client, response) -> str:
    assert response.status_code == 302
    return text(client.get(response.headers["Location"]))


def test_pin_and_unpin(client, staff):
    category = make_category()
    topic = make_topic(category, title="Read this first please")
    make_topic(category, title="A newer ordinary topic")
    page = flash_after(client, post_form(client, f"/t/{topic.id}/pin", {"pinned": "1"}))
    assert "Pinned: the topic leads its category's list." in page
    assert reload(topic).is_pinned
    listing = raw(client.get(f"/c/{category.slug}"))
    assert listing.index("Read this first please") < listing.index("A newer ordinary topic")
    post_form(client, f"/t/{topic.id}/pin", {"pinned": "0"})
    assert not reload(topic).is_pinned


def test_lock_and_unlock(client, staff):
    topic = make_topic(make_category())
    page = flash_after(client, post_form(client, f"/t/{topic.id}/lock", {"locked": "1"}))
    assert "Locked: only staff can reply now." in page
    assert reload(topic).is_locked
    post_form(client, f"/t/{topic.id}/lock", {"locked": "0"})
    assert not reload(topic).is_locked


def test_move_updates_both_categories(client, staff):
    source = make_category(name="Source")
    target = make_category(name="Target", slug="target")
    topic = make_topic(source, title="A topic on the move")
    make_post(topic, make_user())
    page = flash_after(client, post_form(client, f"/t/{topic.id}/move", {"category": "target"}))
    assert "Moved to Target." in page
    assert reload(topic).category_id == target.id
    source, target = reload(source), reload(target)
    assert (source.topic_count, source.post_count, source.last_topic_id) == (0, 0, None)
    assert (target.topic_count, target.post_count, target.last_topic_id) == (1, 2, topic.id)
    assert "A topic on the move" in text(client.get("/c/target"))


def test_moving_to_a_missing_category_flashes_an_error(client, staff):
    source = make_category()
    topic = make_topic(source)
    page = flash_after(client, post_form(client, f"/t/{topic.id}/move", {"category": "no-such-slug"}))
    assert "Choose a category to move the topic to." in page
    assert reload(topic).category_id == source.id and reload(source).topic_count == 1


def test_assign_to_me_and_unassign(client, staff):
    topic = make_topic(make_category())
    assert "Assign to me" in text(client.get(topic_path(topic)))
    page = flash_after(client, post_form(client, f"/t/{topic.id}/assign", {"assignee": str(staff.id)}))
    assert "Assigned to Sam Staff." in page and "Unassign me" in page
    assert reload(topic).assignee_id == staff.id
    page = flash_after(client, post_form(client, f"/t/{topic.id}/assign", {"assignee": ""}))
    assert "No one is assigned now." in page
    assert reload(topic).assignee_id is None


def test_assign_to_another_staff_member_through_the_tools_page(client, staff):
    colleague = make_user(role=Role.STAFF, display_name="Cleo Colleague")
    make_user(display_name="Carl Customer")
    topic = make_topic(make_category())
    page = raw(client.get(f"/t/{topic.id}/tools"))
    assert re.search(rf'<option value="{colleague.id}">Cleo Colleague</option>', page)
    assert "Carl Customer" not in page
    flash_after(client, post_form(client, f"/t/{topic.id}/assign", {"assignee": str(colleague.id)}))
    assert reload(topic).assignee_id == colleague.id
    assert "Assigned to Cleo Colleague" in text(client.get(topic_path(topic)))


@pytest.mark.parametrize("who", ["customer", "nobody"])
def test_assigning_to_a_customer_or_no_one_real_is_refused(client, staff, who):
    topic = make_topic(make_category())
    assignee = str(make_user().id) if who == "customer" else "999999"
    page = flash_after(client, post_form(client, f"/t/{topic.id}/assign", {"assignee": assignee}))
    message = "Topics can only be assigned to staff." if who == "customer" else "Choose a staff member from the list."
    assert message in page
    assert reload(topic).assignee_id is None


def test_customers_get_403_on_every_tool(client):
    login(client, make_user())
    category = make_category()
    make_category(slug="elsewhere")
    topic = make_topic(category)
    assert client.get(f"/t/{topic.id}/tools").status_code == 403
    for path, data in [
        (f"/t/{topic.id}/pin", {"pinned": "1"}),
        (f"/t/{topic.id}/lock", {"locked": "1"}),
        (f"/t/{topic.id}/move", {"category": "elsewhere"}),
        (f"/t/{topic.id}/assign", {"assignee": ""}),
    ]:
        assert post_form(client, path, data).status_code == 403, path
    topic = reload(topic)
    assert not topic.is_pinned and not topic.is_locked and topic.category_id == category.id
    assert "Staff tools" not in raw(client.get(topic_path(topic)))
