"""The staff response queue: customer topics without a staff reply, oldest first, against the response target."""

from __future__ import annotations

import html as html_lib
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from portal.db import utcnow
from portal.extensions import db
from portal.forums import services as forums
from portal.forums.models import Audience, Post, Topic
from portal.permissions import Role
from portal.staff.queries import QueueState, format_age, state_of
from tests.factories import login, make_category, make_organization, make_post, make_topic, make_user, reload
from tests.helpers import count_queries


@pytest.fixture
def staff(app):
    return make_user(role=Role.STAFF, display_name="Sam Staff")


@pytest.fixture
def customer(app):
    return make_user(display_name="Carol Customer", organization_id=make_organization(name="Acme Corp").id)


@pytest.fixture
def category(app):
    return make_category(name="Product Q&A", slug="product-qa")


def age(topic: Topic, hours: float) -> None:
    """Time travel: the topic was started `hours` ago."""
    at = utcnow() - timedelta(hours=hours)
    db.session.execute(sa.update(Topic).where(Topic.id == topic.id).values(created_at=at))
    db.session.commit()


def queue(client, **params) -> tuple[list[str], str]:
    response = client.get("/staff/queue", query_string=params)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    titles = re.findall(r'<a class="fw-semibold" href="/t/[^"]+">([^<]+)</a>', html)
    return [html_lib.unescape(t) for t in titles], html


def test_lists_customer_topics_without_staff_reply_oldest_first(client, staff, customer, category):
    older = make_topic(category, customer, title="Older customer question")
    newer = make_topic(category, customer, title="Newer customer question")
    make_topic(category, staff, title="Started by staff themselves")
    make_topic(category, make_user(role=Role.ADMIN), title="Started by an admin")
    answered = make_topic(category, customer, title="Already answered by staff")
    make_post(answered, staff)
    deleted = make_topic(category, customer, title="Deleted customer question")
    forums.delete_post(staff, db.session.scalars(sa.select(Post).where(Post.topic_id == deleted.id)).one())
    db.session.commit()
    make_topic(make_category(audience=Audience.STAFF), customer, title="In a staff-only category")
    hidden_parent = make_category(audience=Audience.STAFF)
    make_topic(make_category(parent_id=hidden_parent.id), customer, title="Under a staff-only parent")
    members = make_topic(make_category(audience=Audience.SIGNED_IN), customer, title="For signed-in members")
    org = make_organization()
    private = make_topic(make_category(audience=Audience.ORGANIZATIONS, organizations=[org]),
                         make_user(organization_id=org.id), title="In an organisation's category")
    age(older, 30)
    age(newer, 3)
    age(members, 2)
    age(private, 1)
    login(client, staff)

    titles, html = queue(client)

    assert titles == ["Older customer question", "Newer customer question", "For signed-in members",
                      "In an organisation's category"]
    assert f'href="/t/{older.slug}/{older.id}"' in html
    assert "Acme Corp" in html and "Carol Customer" in html and "Product Q&amp;A" in html
    assert re.search(r"<strong[^>]*>4</strong> waiting", html)
    assert re.search(r"<strong[^>]*>1</strong> overdue", html)


def test_whispers_and_customer_replies_do_not_count_a_staff_reply_does(client, staff, customer, category):
    topic = make_topic(category, customer, title="Waiting for an answer")
    make_post(topic, staff, whisper=True)
    make_post(topic, make_user())
    make_post(topic, customer)
    assert reload(topic).first_staff_reply_at is None
    login(client, staff)
    titles, html = queue(client)
    assert titles == ["Waiting for an answer"]
    assert re.search(r'<td class="text-end">2</td>', html)  # replies shown to customers: not the whisper

    make_post(topic, staff, body="Here is the answer.")
    assert reload(topic).first_staff_reply_at is not None
    assert queue(client)[0] == []


def test_age_and_state_against_the_configured_target(app, client, staff, customer, category):
    app.config["RESPONSE_TARGET_HOURS"] = 10
    overdue = make_topic(category, customer, title="Waiting for eleven hours")
    due_soon = make_topic(category, customer, title="Waiting for eight hours")
    within = make_topic(category, customer, title="Waiting for two hours")
    age(overdue, 11)
    age(due_soon, 8)  # the last quarter of 10 h starts at 7.5 h
    age(within, 2)
    login(client, staff)

    titles, html = queue(client)

    assert titles == ["Waiting for eleven hours", "Waiting for eight hours", "Waiting for two hours"]
    rows = re.findall(r'<tr class="queue-([a-z-]+)[^"]*">.*?</tr>', html, re.S)
    assert rows == ["overdue", "due-soon", "within"]
    overdue_row = re.search(r'<tr class="queue-overdue.*?</tr>', html, re.S).group(0)
    assert ">11 h</time>" in overdue_row and "Overdue" in overdue_row  # said in words, not by colour alone
    assert "Due soon" in html and "Within target" in html
    assert re.search(r"<strong[^>]*>1</strong> overdue", html)
    assert re.search(r"<strong[^>]*>1</strong> due soon", html)
    assert "within 10 h" in html

    app.config["RESPONSE_TARGET_HOURS"] = 24
    html = queue(client)[1]
    assert re.findall(r'<tr class="queue-([a-z-]+)', html) == ["within", "within", "within"]
    assert re.search(r"<strong[^>]*>0</strong> overdue", html)


def test_filters_by_category_with_its_subcategories(client, staff, customer, category):
    child = make_category(parent_id=category.id, slug="product-qa-billing", name="Billing")
    other = make_category(slug="integrations")
    make_topic(category, customer, title="In the parent category")
    make_topic(child, customer, title="In the subcategory")
    make_topic(other, customer, title="In another category")
    login(client, staff)

    assert queue(client, category="product-qa")[0] == ["In the parent category", "In the subcategory"]
    assert queue(client, category="product-qa-billing")[0] == ["In the subcategory"]
    assert queue(client, category="integrations")[0] == ["In another category"]
    assert len(queue(client, category="no-such-category")[0]) == 3  # an unknown filter shows everything


def test_filters_by_assignee(client, staff, customer, category):
    colleague = make_user(role=Role.STAFF, display_name="Colleague")
    mine = make_topic(category, customer, title="Assigned to me")
    theirs = make_topic(category, customer, title="Assigned to a colleague")
    make_topic(category, customer, title="Assigned to nobody")
    forums.assign_topic(make_user(role=Role.STAFF), mine, staff)
    forums.assign_topic(make_user(role=Role.STAFF), theirs, colleague)
    db.session.commit()
    login(client, staff)

    titles, html = queue(client)
    assert titles == ["Assigned to me", "Assigned to a colleague", "Assigned to nobody"]
    assert ">You</td>" in html and ">Colleague</td>" in html
    assert queue(client, assignee="me")[0] == ["Assigned to me"]
    assert queue(client, assignee="none")[0] == ["Assigned to nobody"]
    assert queue(client, assignee=str(colleague.id))[0] == ["Assigned to a colleague"]
    assert len(queue(client, assignee="nonsense")[0]) == 3
    assert len(queue(client, assignee=str(customer.id))[0]) == 3  # not a staff member: no filter


def test_paginates_thirty_a_page(client, staff, customer, category):
    for i in range(31):
        forums.create_topic(customer, category, f"Queued question {i:02d}", "Please help.")
    db.session.commit()
    for i, topic in enumerate(db.session.scalars(sa.select(Topic).order_by(Topic.id))):
        topic.created_at = utcnow() - timedelta(hours=40 - i)
    db.session.commit()
    login(client, staff)

    first, html = queue(client)
    assert len(first) == 30 and first[0] == "Queued question 00"
    assert re.search(r"<strong[^>]*>31</strong> waiting", html)
    assert 'href="/staff/queue?page=2"' in html
    assert queue(client, page=2)[0] == ["Queued question 30"]


@pytest.mark.parametrize(("role", "status"), [(Role.CUSTOMER, 403), (Role.STAFF, 200), (Role.ADMIN, 200)])
def test_only_staff_and_admins_see_the_queue(client, role, status):
    login(client, make_user(role=role))
    assert client.get("/staff/queue").status_code == status
    nav_link = 'href="/staff/queue"' in client.get("/").get_data(as_text=True)
    assert nav_link == (status == 200)


def test_anonymous_visitors_are_asked_to_sign_in_and_unverified_customers_refused(client):
    response = client.get("/staff/queue")
    assert response.status_code == 302 and response.headers["Location"].startswith("/signin?next=")
    login(client, make_user(verified=False))
    assert client.get("/staff/queue").status_code == 403


def _fill(count: int, staff) -> None:
    orgs = [make_organization() for _ in range(3)]
    categories = [make_category(), make_category(audience=Audience.SIGNED_IN)]
    categories.append(make_category(parent_id=categories[0].id))
    for i in range(count):
        user = make_user(organization_id=orgs[i % 3].id if i % 4 else None)
        topic = forums.create_topic(user, categories[i % 3], f"Question number {i:03d}", "Please help.")
        if i % 2:
            forums.assign_topic(make_user(role=Role.STAFF), topic, staff if i % 3 else make_user(role=Role.STAFF))
        if i % 5 == 0:
            forums.create_post(make_user(), topic, "Me too.")
    db.session.commit()


def test_runs_the_same_number_of_statements_whatever_the_queue_size(app, client, staff):
    def statements() -> int:
        client.get("/staff/queue")
        with count_queries() as log:
            response = client.get("/staff/queue?category=&assignee=")
        assert response.status_code == 200
        return log.count

    login(client, staff)
    _fill(2, staff)
    small = statements()
    _fill(45, staff)
    assert statements() == small
    assert small <= 6  # viewer, categories and staff for the filters, counts, rows, the review queue's tab count


def test_age_format_and_state_rules():
    assert format_age(timedelta(minutes=35)) == "35 min"
    assert format_age(timedelta(hours=26, minutes=59)) == "26 h"
    assert format_age(timedelta(hours=75)) == "3 d 3 h"
    target = timedelta(hours=24)
    assert state_of(timedelta(hours=17), target) == QueueState.WITHIN
    assert state_of(timedelta(hours=18), target) == QueueState.DUE_SOON
    assert state_of(timedelta(hours=24), target) == QueueState.DUE_SOON
    assert state_of(timedelta(hours=24, seconds=1), target) == QueueState.OVERDUE


def test_the_topics_staff_tools_say_waiting_exactly_when_the_queue_lists_it(client, staff, customer, category):
    from portal.permissions import awaits_staff_reply
    from portal.staff.queries import response_queue

    asked = make_topic(category, customer, title="Customer asks, nobody answers")
    by_staff = make_topic(category, staff, title="Staff start an announcement")
    answered = make_topic(category, customer, title="Customer asks, staff answer")
    make_post(answered, staff)
    whispered = make_topic(category, customer, title="Customer asks, staff only whisper")
    make_post(whispered, staff, whisper=True)
    topics = [reload(t) for t in (asked, by_staff, answered, whispered)]
    with client.application.test_request_context():
        listed = {row.topic.id for row in response_queue(target_hours=24).items}
    assert {t.id for t in topics if awaits_staff_reply(t)} == listed == {asked.id, whispered.id}

    login(client, staff)
    for topic in topics:
        page = client.get(f"/t/{topic.slug}/{topic.id}").get_data(as_text=True)
        assert ("waiting for a staff reply" in page) == (topic.id in listed)
