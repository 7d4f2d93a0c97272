"""Admin pages for users and organisations: role checks on every route, and what each action does."""

from __future__ import annotations

from datetime import timedelta

import pytest

from portal.accounts.models import Organization, Tier
from portal.db import utcnow
from portal.extensions import db
from portal.permissions import Role
from tests.factories import PASSWORD, count_rows, login, make_organization, make_user, reload
from tests.helpers import count_queries, csrf_token


def text(response) -> str:
    return response.get_data(as_text=True)


@pytest.fixture
def admin(client):
    user = make_user(role=Role.ADMIN, display_name="Ada Admin")
    login(client, user)
    return user


def admin_get_routes(target_id: int, org_id: int) -> list[str]:
    return [
        "/admin/",
        "/admin/users",
        f"/admin/users/{target_id}",
        "/admin/organizations",
        "/admin/organizations/new",
        f"/admin/organizations/{org_id}/edit",
    ]


def admin_post_routes(target_id: int, org_id: int) -> list[str]:
    return [
        f"/admin/users/{target_id}/role",
        f"/admin/users/{target_id}/organization",
        f"/admin/users/{target_id}/suspend",
        f"/admin/users/{target_id}/unsuspend",
        "/admin/organizations/new",
        f"/admin/organizations/{org_id}/edit",
    ]


def test_anonymous_users_are_sent_to_sign_in_from_every_admin_route(client):
    target, org = make_user(), make_organization()
    for path in admin_get_routes(target.id, org.id):
        response = client.get(path)
        assert response.status_code == 302, path
        assert response.headers["Location"].startswith("/signin?next="), path


@pytest.mark.parametrize("role", [Role.CUSTOMER, Role.STAFF])
def test_customers_and_staff_get_403_on_every_admin_route(client, role):
    target, org = make_user(), make_organization(name="Untouched")
    login(client, make_user(role=role))
    token = csrf_token(client, "/settings")
    for path in admin_get_routes(target.id, org.id):
        assert client.get(path).status_code == 403, path
    for path in admin_post_routes(target.id, org.id):
        data = {"csrf_token": token, "role": "admin", "reason": "x", "duration": "7", "name": "Hacked",
                "tier": "standard", "annual_value": "0", "organization": str(org.id)}
        assert client.post(path, data=data).status_code == 403, path
    target = reload(target)
    assert target.role == Role.CUSTOMER and not target.is_suspended and target.organization_id is None
    assert reload(org).name == "Untouched"


def test_admin_reaches_every_admin_page(client, admin):
    target, org = make_user(), make_organization()
    for path in admin_get_routes(target.id, org.id):
        response = client.get(path, follow_redirects=True)
        assert response.status_code == 200, path
        assert "Administration" in text(response)
    assert "Admin" in text(client.get("/"))  # the nav link


def test_admin_link_is_not_shown_to_staff(client):
    login(client, make_user(role=Role.STAFF))
    assert 'href="/admin/users"' not in text(client.get("/"))


def test_user_list_search_and_filters(client, admin):
    acme = make_organization(name="Acme")
    make_user(display_name="Zed Zimmer", email="zed@acme.example", organization_id=acme.id)
    make_user(display_name="Yan Young", email="yan@other.example", role=Role.STAFF)
    make_user(display_name="Xia Xu", email="xia@other.example", suspended_until=utcnow() + timedelta(days=1),
              suspended_reason="x")
    make_user(display_name="Wes Wu", email="wes@other.example", verified=False)

    def names(**params):
        body = text(client.get("/admin/users", query_string=params)).split("<tbody>", 1)[1].split("</tbody>", 1)[0]
        return {n for n in ("Zed Zimmer", "Yan Young", "Xia Xu", "Wes Wu", "Ada Admin") if n in body}

    assert names() == {"Zed Zimmer", "Yan Young", "Xia Xu", "Wes Wu", "Ada Admin"}
    assert names(q="zimm") == {"Zed Zimmer"}
    assert names(q="YAN@OTHER") == {"Yan Young"}
    assert names(q="%") == set()  # LIKE wildcards are literal
    assert names(role="staff") == {"Yan Young"}
    assert names(organization=str(acme.id)) == {"Zed Zimmer"}
    assert "Zed Zimmer" not in names(organization="none")
    assert names(status="suspended") == {"Xia Xu"}
    assert names(status="unverified") == {"Wes Wu"}
    assert "Xia Xu" not in names(status="active")
    assert client.get("/admin/users", query_string={"role": "bogus", "page": "abc"}).status_code == 200


def test_user_list_paginates(app, client, admin):
    app.config["ADMIN_USERS_PER_PAGE"] = 5
    for i in range(11):
        make_user(display_name=f"Paged {i:02d}")
    first = text(client.get("/admin/users"))
    third = text(client.get("/admin/users?page=3"))
    assert "12 users" in first
    assert "Paged 10" in first and "Paged 06" in first and "Paged 05" not in first
    assert "Ada Admin" in third.split("<tbody>", 1)[1] and 'rel="next"' not in third
    assert client.get("/admin/users?page=99").status_code == 200


def test_user_list_runs_a_fixed_number_of_queries(client, admin):
    orgs = [make_organization() for _ in range(3)]
    for i in range(3):
        make_user(organization_id=orgs[i].id)
    with count_queries() as small:
        client.get("/admin/users")
    for i in range(30):
        make_user(organization_id=orgs[i % 3].id)
    with count_queries() as large:
        client.get("/admin/users")
    assert large.count == small.count, f"{small}\n---\n{large}"
    assert large.count <= 6, str(large)


def test_change_role(client, admin):
    target = make_user()
    token = csrf_token(client, f"/admin/users/{target.id}")
    response = client.post(f"/admin/users/{target.id}/role", data={"role": "staff", "csrf_token": token})
    assert response.status_code == 302
    assert reload(target).role == Role.STAFF
    bad = client.post(f"/admin/users/{target.id}/role", data={"role": "emperor", "csrf_token": token})
    assert bad.status_code == 422 and "Not a valid choice" in text(bad)
    assert reload(target).role == Role.STAFF


def test_admin_cannot_change_own_role_or_suspend_self(client, admin):
    token = csrf_token(client, f"/admin/users/{admin.id}")
    page = text(client.get(f"/admin/users/{admin.id}"))
    assert "You can't change your own role" in page and "You can't suspend yourself" in page
    response = client.post(f"/admin/users/{admin.id}/role", data={"role": "customer", "csrf_token": token})
    assert response.status_code == 403
    response = client.post(f"/admin/users/{admin.id}/suspend",
                           data={"duration": "7", "reason": "oops", "csrf_token": token})
    assert response.status_code == 403
    admin = reload(admin)
    assert admin.role == Role.ADMIN and not admin.is_suspended


def test_set_organization(client, admin):
    target, org = make_user(), make_organization(name="Globex")
    token = csrf_token(client, f"/admin/users/{target.id}")
    client.post(f"/admin/users/{target.id}/organization", data={"organization": str(org.id), "csrf_token": token})
    assert reload(target).organization_id == org.id
    bad = client.post(f"/admin/users/{target.id}/organization", data={"organization": "99999", "csrf_token": token})
    assert bad.status_code == 422 and "Choose an organisation" in text(bad)
    assert reload(target).organization_id == org.id
    client.post(f"/admin/users/{target.id}/organization", data={"organization": "", "csrf_token": token})
    assert reload(target).organization_id is None


def test_suspend_and_unsuspend(app, client, admin):
    target = make_user(display_name="Spammy")
    target_client = app.test_client()
    login(target_client, target)
    token = csrf_token(client, f"/admin/users/{target.id}")
    missing_reason = client.post(f"/admin/users/{target.id}/suspend",
                                 data={"duration": "7", "reason": "", "csrf_token": token})
    assert missing_reason.status_code == 422 and "Give a reason" in text(missing_reason)
    assert not reload(target).is_suspended

    response = client.post(f"/admin/users/{target.id}/suspend",
                           data={"duration": "7", "reason": "Spam in three threads", "csrf_token": token})
    assert response.status_code == 302
    assert reload(target).is_suspended
    # Their open session ends at once, and signing in again shows why.
    assert target_client.get("/settings").status_code == 302
    sign_in = target_client.post("/signin", data={"email": target.email, "password": PASSWORD,
                                                  "csrf_token": csrf_token(target_client, "/signin")})
    assert sign_in.status_code == 403 and "Spam in three threads" in text(sign_in)

    client.post(f"/admin/users/{target.id}/unsuspend", data={"csrf_token": token})
    assert not reload(target).is_suspended
    again = target_client.post("/signin", data={"email": target.email, "password": PASSWORD,
                                                "csrf_token": csrf_token(target_client, "/signin")})
    assert again.status_code == 302


def test_suspend_indefinitely(client, admin):
    target = make_user()
    token = csrf_token(client, f"/admin/users/{target.id}")
    client.post(f"/admin/users/{target.id}/suspend", data={"duration": "forever", "reason": "Fraud",
                                                            "csrf_token": token})
    assert reload(target).suspended_indefinitely
    assert "until further notice" in text(client.get(f"/admin/users/{target.id}"))


def test_unknown_user_is_404(client, admin):
    assert client.get("/admin/users/999999").status_code == 404
    token = csrf_token(client, "/settings")
    assert client.post("/admin/users/999999/role", data={"role": "staff", "csrf_token": token}).status_code == 404


def test_organizations_create_edit_and_member_counts(client, admin):
    verified = make_user(email="m1@initech.example")
    token = csrf_token(client, "/admin/organizations/new")
    response = client.post("/admin/organizations/new", data={
        "name": "Initech", "email_domain": "Initech.example", "tier": "premium", "annual_value": "25000",
        "csrf_token": token,
    }, follow_redirects=True)
    assert response.status_code == 200
    body = text(response)
    assert "Initech" in body and "1 existing member(s)" in body and "25,000" in body
    org = db.session.query(Organization).filter_by(name="Initech").one()
    assert (org.email_domain, org.tier, org.annual_value) == ("initech.example", Tier.PREMIUM, 25000)
    assert reload(verified).organization_id == org.id

    dup = client.post("/admin/organizations/new", data={
        "name": "Other", "email_domain": "initech.example", "tier": "standard", "annual_value": "0",
        "csrf_token": token,
    })
    assert dup.status_code == 422 and "already owns the domain" in text(dup)
    assert 'value="Other"' in text(dup)
    negative = client.post("/admin/organizations/new", data={
        "name": "Neg", "tier": "standard", "annual_value": "-5", "csrf_token": token,
    })
    assert negative.status_code == 422
    assert count_rows(Organization) == 1

    edit = client.get(f"/admin/organizations/{org.id}/edit")
    assert 'value="Initech"' in text(edit)
    client.post(f"/admin/organizations/{org.id}/edit", data={
        "name": "Initech Ltd", "email_domain": "initech.example", "tier": "enterprise", "annual_value": "30000",
        "is_vendor": "", "csrf_token": token,
    })
    org = reload(org)
    assert (org.name, org.tier) == ("Initech Ltd", Tier.ENTERPRISE)
    listing = text(client.get("/admin/organizations"))
    assert "Initech Ltd" in listing
    assert client.get("/admin/organizations/999999/edit").status_code == 404


def test_organization_list_counts_members_in_one_query(client, admin):
    for _ in range(3):
        org = make_organization()
        make_user(organization_id=org.id)
        make_user(organization_id=org.id)
    with count_queries() as small:
        body = text(client.get("/admin/organizations"))
    assert body.count(">2</a>") == 3
    for _ in range(10):
        make_organization()
    with count_queries() as large:
        client.get("/admin/organizations")
    assert small.count == large.count, str(large)
