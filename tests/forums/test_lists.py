"""Forum home, Latest and category lists through the test client: what each viewer sees, order, pages, filters."""

from __future__ import annotations

import re

import pytest

from portal.extensions import db
from portal.forums import services as forums
from portal.forums.models import Audience, CategoryKind
from portal.permissions import Role
from tests.factories import login, make_category, make_organization, make_post, make_topic, make_user, reload
from tests.forums.pages import active_minutes_ago, first_post, raw, row_of, text, titles_in_order, topic_path


def category_cells(response, name: str) -> list[str]:
    """The cells of the forum home row for a category, as text."""
    page = raw(response)
    for row in re.findall(r"<tr>.*?</tr>", page, re.S):
        if f">{name}</a>" in row:
            return [re.sub(r"<[^>]+>", " ", c).split() for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
    raise AssertionError(f"no row for {name}")


# --- Forum home -------------------------------------------------------------------------------------


def test_home_shows_counts_and_latest_topic(client):
    category = make_category(name="Integrations")
    author, replier = make_user(), make_user(display_name="Rita Replier")
    make_topic(category, author, title="An older topic here")
    newest = make_topic(category, author, title="The newest topic here")
    make_post(newest, replier)
    make_post(newest, replier)
    cells = category_cells(client.get("/forums"), "Integrations")
    assert cells[1] == ["2"] and cells[2] == ["4"]
    assert "The newest topic here" in " ".join(cells[3]) and "Rita Replier," in " ".join(cells[3])


def test_home_hides_staff_and_organisation_categories_from_others(client):
    org, other_org = make_organization(), make_organization()
    make_category(name="Public Things")
    make_category(name="Staff Room", audience=Audience.STAFF)
    make_category(name="Acme Private", audience=Audience.ORGANIZATIONS, organizations=[org])
    make_category(name="Members Lounge", audience=Audience.SIGNED_IN)

    anonymous = text(client.get("/forums"))
    assert "Public Things" in anonymous
    assert "Staff Room" not in anonymous and "Acme Private" not in anonymous and "Members Lounge" not in anonymous

    login(client, make_user(organization_id=other_org.id))
    outsider = text(client.get("/forums"))
    assert "Members Lounge" in outsider
    assert "Staff Room" not in outsider and "Acme Private" not in outsider


def test_home_shows_organisation_category_to_members_and_staff_category_to_staff(app):
    org = make_organization()
    make_category(name="Staff Room", audience=Audience.STAFF)
    make_category(name="Acme Private", audience=Audience.ORGANIZATIONS, organizations=[org])

    member = app.test_client()
    login(member, make_user(organization_id=org.id))
    page = text(member.get("/forums"))
    assert "Acme Private" in page and "Staff Room" not in page

    staff = app.test_client()
    login(staff, make_user(role=Role.STAFF))
    page = text(staff.get("/forums"))
    assert "Acme Private" in page and "Staff Room" in page


def test_a_subcategory_of_a_hidden_parent_is_hidden_everywhere(app):
    parent = make_category(name="Staff Room", audience=Audience.STAFF)
    child = make_category(name="Open Child", parent_id=parent.id, audience=Audience.EVERYONE)
    make_topic(child, title="Topic in the hidden child")

    customer = app.test_client()
    login(customer, make_user())
    assert "Open Child" not in text(customer.get("/forums"))
    assert customer.get(f"/c/{child.slug}").status_code == 404
    assert "Topic in the hidden child" not in text(customer.get("/latest"))

    anonymous = app.test_client()
    assert "Topic in the hidden child" not in text(anonymous.get("/latest"))
    assert anonymous.get(f"/c/{child.slug}").status_code == 302

    staff = app.test_client()
    login(staff, make_user(role=Role.STAFF))
    assert "Open Child" in text(staff.get("/forums"))
    assert "Topic in the hidden child" in text(staff.get("/latest"))
    assert "Topic in the hidden child" in text(staff.get(f"/c/{child.slug}"))


def test_a_parent_page_lists_its_visible_subcategories_topics(client):
    parent = make_category(name="Products")
    child = make_category(name="Widgets", parent_id=parent.id)
    make_topic(child, title="A widget question here")
    page = text(client.get(f"/c/{parent.slug}"))
    assert "Widgets" in page and "A widget question here" in page


def test_unknown_category_is_404(client):
    assert client.get("/c/no-such-category").status_code == 404


# --- Order and pages --------------------------------------------------------------------------------


def test_category_puts_pinned_first_then_last_activity_but_latest_does_not_pin(client):
    category = make_category()
    old_pinned = make_topic(category, title="Pinned but old topic")
    middle = make_topic(category, title="Middle activity topic")
    fresh = make_topic(category, title="Freshest activity topic")
    active_minutes_ago(old_pinned, 300)
    active_minutes_ago(middle, 20)
    active_minutes_ago(fresh, 1)
    forums.set_pinned(make_user(role=Role.STAFF), reload(old_pinned), True)
    db.session.commit()

    assert titles_in_order(client.get(f"/c/{category.slug}")) == [
        "Pinned but old topic", "Freshest activity topic", "Middle activity topic"]
    assert titles_in_order(client.get("/latest")) == [
        "Freshest activity topic", "Middle activity topic", "Pinned but old topic"]


@pytest.mark.parametrize("path", ["/latest", "/c/{slug}"])
def test_thirty_topics_per_page_and_page_two(client, path):
    category = make_category()
    author = make_user()
    topics = [make_topic(category, author, title=f"Numbered topic {i:02d}") for i in range(31)]
    for i, topic in enumerate(topics):
        active_minutes_ago(topic, 100 - i)  # topic 30 is the most recent
    url = path.format(slug=category.slug)
    first = titles_in_order(client.get(url))
    assert len(first) == 30 and first[0] == "Numbered topic 30" and first[-1] == "Numbered topic 01"
    assert titles_in_order(client.get(url + "?page=2")) == ["Numbered topic 00"]
    assert titles_in_order(client.get(url + "?page=abc")) == first
    assert 'href="' + url + '?page=2"' in raw(client.get(url))


# --- Filters ------------------------------------------------------------------------------------------


@pytest.fixture
def filtered(client):
    """Topics covering each filter in one question category; signed in as a customer who started one."""
    category = make_category(kind=CategoryKind.QUESTIONS, name="Questions")
    staff = make_user(role=Role.STAFF)
    viewer, other = make_user(), make_user()
    unanswered = make_topic(category, other, title="Nobody replied here yet")
    customer_only = make_topic(category, other, title="Only customers replied")
    make_post(customer_only, viewer)
    solved = make_topic(category, other, title="Staff solved this one")
    answer = make_post(solved, staff)
    forums.accept_answer(other, reload(solved), reload(answer))
    db.session.commit()
    mine = make_topic(category, viewer, title="My own open question")
    make_post(mine, staff)
    assigned = make_topic(category, other, title="Assigned to the staff")
    forums.assign_topic(make_user(role=Role.STAFF), reload(assigned), staff)
    db.session.commit()
    for minutes, topic in enumerate([assigned, mine, solved, customer_only, unanswered]):
        active_minutes_ago(topic, minutes + 1)
    login(client, viewer)
    return {"category": category, "staff": staff, "viewer": viewer}


ALL = ["Assigned to the staff", "My own open question", "Staff solved this one", "Only customers replied",
       "Nobody replied here yet"]


@pytest.mark.parametrize(
    ("topic_filter", "expected"),
    [
        ("unanswered", ["Assigned to the staff", "Nobody replied here yet"]),
        ("no-staff-reply", ["Assigned to the staff", "Only customers replied", "Nobody replied here yet"]),
        ("unsolved", ["Assigned to the staff", "My own open question", "Only customers replied",
                      "Nobody replied here yet"]),
        ("solved", ["Staff solved this one"]),
        ("mine", ["My own open question"]),
        ("assigned", ALL),  # a customer has no "assigned to me": the filter means all
        ("nonsense", ALL),
        ("", ALL),
    ],
)
def test_filters_on_category_and_latest(client, filtered, topic_filter, expected):
    for path in (f"/c/{filtered['category'].slug}", "/latest"):
        assert titles_in_order(client.get(f"{path}?filter={topic_filter}")) == expected, path


def test_assigned_filter_for_staff(app, filtered):
    staff = app.test_client()
    login(staff, filtered["staff"])
    assert titles_in_order(staff.get(f"/c/{filtered['category'].slug}?filter=assigned")) == ["Assigned to the staff"]
    assert "Assigned to me" in text(staff.get("/latest"))
    other_staff = app.test_client()
    login(other_staff, make_user(role=Role.STAFF))
    assert titles_in_order(other_staff.get("/latest?filter=assigned")) == []


def test_rows_show_replies_last_poster_staff_replied_and_solved(client, filtered):
    page = client.get(f"/c/{filtered['category'].slug}")
    solved = row_of(page, "Staff solved this one")
    assert re.search(r">1</span>\s*reply\b", solved)
    assert filtered["staff"].display_name + "," in solved
    assert "Staff replied" in solved and "Solved" in solved
    quiet = row_of(page, "Nobody replied here yet")
    assert re.search(r">0</span>\s*replies\b", quiet)
    assert "Staff replied" not in quiet and "Solved" not in quiet
    customers = row_of(page, "Only customers replied")
    assert filtered["viewer"].display_name + "," in customers and "Staff replied" not in customers


# --- Read state in lists ------------------------------------------------------------------------------


def test_unread_count_after_new_replies_and_new_mark_for_unopened_topics(client):
    category = make_category()
    reader, other = make_user(), make_user()
    read_topic = make_topic(category, other, title="Topic I have read")
    make_topic(category, other, title="Topic I never opened")
    make_topic(category, reader, title="Topic I started myself")
    login(client, reader)
    client.get(topic_path(read_topic))
    before = client.get(f"/c/{category.slug}")
    assert not re.search(r"\d+ new", row_of(before, "Topic I have read"))
    make_post(read_topic, other)
    make_post(read_topic, other)

    page = client.get(f"/c/{category.slug}")
    read_row = row_of(page, "Topic I have read")
    assert "2 new" in read_row and "is-unread" in read_row
    assert f'href="/t/{read_topic.slug}/{read_topic.id}/2"' in read_row  # straight to the first unread
    assert ">New<" in row_of(page, "Topic I never opened")
    own = row_of(page, "Topic I started myself")
    assert ">New<" not in own and "is-unread" not in own
    assert "2 new" in row_of(client.get("/latest"), "Topic I have read")
    make_post(read_topic, make_user(role=Role.STAFF), whisper=True)
    assert "2 new" in row_of(client.get("/latest"), "Topic I have read")  # a whisper is no news to customers


def test_anonymous_lists_have_no_unread_marks(client):
    make_topic(make_category(), title="Something anyone sees")
    row = row_of(client.get("/latest"), "Something anyone sees")
    assert ">New<" not in row and "is-unread" not in row


# --- What is never listed -------------------------------------------------------------------------------


def test_invisible_and_deleted_topics_are_not_listed(app):
    public = make_category()
    staff_only = make_category(audience=Audience.STAFF)
    org_only = make_category(audience=Audience.ORGANIZATIONS, organizations=[make_organization()])
    make_topic(public, title="A public topic here")
    make_topic(staff_only, title="A staff-only topic here")
    make_topic(org_only, title="An organisation topic here")
    gone = make_topic(public, title="A deleted topic here")
    staff_user = make_user(role=Role.STAFF)
    forums.delete_post(staff_user, first_post(gone))
    db.session.commit()

    anonymous = app.test_client()
    customer = app.test_client()
    login(customer, make_user())
    for who in (anonymous, customer):
        for path in ("/latest", f"/c/{public.slug}", "/latest?filter=unanswered"):
            page = text(who.get(path))
            assert "A public topic here" in page, path
            assert "A staff-only topic here" not in page and "An organisation topic here" not in page, path
            assert "A deleted topic here" not in page, path

    staff = app.test_client()
    login(staff, staff_user)
    page = text(staff.get("/latest"))
    assert "A staff-only topic here" in page and "An organisation topic here" in page
    assert "A deleted topic here" not in page

