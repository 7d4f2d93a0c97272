"""Staff moderating people: the moderation page, suspensions by staff (customers only) and lifting them."""

from __future__ import annotations

import sqlalchemy as sa

from portal.extensions import db
from portal.moderation.models import AuditEntry
from portal.permissions import Role
from tests.factories import login, make_post, make_topic, make_user, reload
from tests.forums.pages import post_form, text


def test_staff_see_a_customers_posts_and_history(client):
    customer = make_user(display_name="Carl Customer")
    topic = make_topic(user=customer, title="Carl asks about exports")
    make_post(topic, customer, body="And a follow-up about CSV.")
    login(client, make_user(role=Role.STAFF))
    page = text(client.get(f"/moderation/people/{customer.id}"))
    assert "Carl Customer" in page and customer.email in page and "Posts</dt><dd class=\"col-sm-9\">2" in page
    assert "Carl asks about exports #2" in page and "And a follow-up about CSV." in page
    assert f"/staff/audit?target=user&amp;id={customer.id}" in client.get(f"/moderation/people/{customer.id}").get_data(
        as_text=True)


def test_staff_suspend_a_customer_who_then_sees_why_at_sign_in(app, client):
    customer = make_user()
    staff = make_user(role=Role.STAFF)
    login(client, staff)
    response = post_form(client, f"/moderation/people/{customer.id}/suspend",
                         {"duration": "3", "reason": "Posting the same advert in every category"})
    assert response.status_code == 302
    assert "is suspended" in text(client.get(response.headers["Location"]))
    assert reload(customer).is_suspended
    entry = db.session.scalars(sa.select(AuditEntry)).one()
    assert (entry.action, entry.actor_id, entry.target_id) == ("user.suspend", staff.id, customer.id)

    visitor = app.test_client()
    from tests.helpers import csrf_token

    signin = visitor.post("/signin", data={"email": customer.email, "password": "correct horse battery",
                                           "csrf_token": csrf_token(visitor)}, follow_redirects=True)
    page = text(signin)
    assert "Posting the same advert in every category" in page and "suspended until" in page


def test_a_suspension_needs_a_reason_and_keeps_what_was_chosen(client):
    customer = make_user()
    login(client, make_user(role=Role.STAFF))
    response = post_form(client, f"/moderation/people/{customer.id}/suspend", {"duration": "30", "reason": ""})
    assert response.status_code == 422
    page = text(response)
    assert "Give a reason: the user sees it at sign-in." in page and '<option selected value="30">' in page
    assert not reload(customer).is_suspended


def test_staff_lift_a_suspension(client):
    customer = make_user()
    staff = make_user(role=Role.STAFF)
    login(client, staff)
    post_form(client, f"/moderation/people/{customer.id}/suspend", {"duration": "7", "reason": "Cooling off"})
    response = post_form(client, f"/moderation/people/{customer.id}/unsuspend")
    assert response.status_code == 302 and not reload(customer).is_suspended
    actions = [e.action for e in db.session.scalars(sa.select(AuditEntry).order_by(AuditEntry.id))]
    assert actions == ["user.suspend", "user.unsuspend"]


def test_staff_cannot_suspend_staff_or_admins_and_nobody_themselves(client):
    staff = make_user(role=Role.STAFF)
    colleague = make_user(role=Role.STAFF)
    admin = make_user(role=Role.ADMIN)
    login(client, staff)
    for person in (colleague, admin):
        page = text(client.get(f"/moderation/people/{person.id}"))
        assert "Only an admin can suspend staff and admins." in page
        assert post_form(client, f"/moderation/people/{person.id}/suspend",
                         {"duration": "7", "reason": "No"}).status_code == 403
        assert not reload(person).is_suspended
    assert client.get(f"/moderation/people/{staff.id}").status_code == 403


def test_customers_cannot_moderate(client):
    login(client, make_user())
    other = make_user()
    assert client.get(f"/moderation/people/{other.id}").status_code == 403
    assert post_form(client, f"/moderation/people/{other.id}/suspend",
                     {"duration": "7", "reason": "No"}).status_code == 403
    assert not reload(other).is_suspended


def test_the_public_profile_links_staff_to_the_moderation_page(client):
    customer = make_user()
    login(client, make_user(role=Role.STAFF))
    assert f'href="/moderation/people/{customer.id}"' in client.get(f"/users/{customer.id}").get_data(as_text=True)
