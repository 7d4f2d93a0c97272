"""Admin pages for forum categories: admin-only, creating, editing, nesting, ordering, and bad input."""

from __future__ import annotations

import html

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.forums.models import Audience, Category, CategoryKind, PostingRight
from portal.permissions import Role
from tests.factories import count_rows, login, make_category, make_organization, make_user, reload
from tests.helpers import count_queries, csrf_token


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


@pytest.fixture
def admin(client):
    user = make_user(role=Role.ADMIN, display_name="Ada Admin")
    login(client, user)
    return user


def get_routes(category_id: int) -> list[str]:
    return ["/admin/categories", "/admin/categories/new", f"/admin/categories/{category_id}/edit"]


def post_routes(category_id: int) -> list[str]:
    return [
        "/admin/categories/new",
        f"/admin/categories/{category_id}/edit",
        f"/admin/categories/{category_id}/move",
    ]


def form_data(token: str, **overrides) -> dict[str, object]:
    data = {"csrf_token": token, "name": "Product Q&A", "slug": "", "description": "Ask about the product.",
            "kind": "questions", "parent": "", "position": "0", "audience": "everyone", "can_start": "signed_in",
            "can_reply": "signed_in"}
    data.update(overrides)
    return data


def category_by_slug(slug: str) -> Category | None:
    db.session.commit()
    return db.session.scalar(sa.select(Category).where(Category.slug == slug))


def order(parent_id: int | None = None) -> list[str]:
    db.session.commit()
    where = Category.parent_id.is_(None) if parent_id is None else Category.parent_id == parent_id
    return list(db.session.scalars(sa.select(Category.name).where(where).order_by(Category.position, Category.id)))


def test_anonymous_visitors_are_sent_to_sign_in(client):
    category = make_category()
    token = csrf_token(client, "/signin")
    for path in get_routes(category.id):
        response = client.get(path)
        assert response.status_code == 302 and response.headers["Location"].startswith("/signin?next="), path
    for path in post_routes(category.id):
        response = client.post(path, data=form_data(token, direction="up"))
        assert response.status_code == 302 and response.headers["Location"].startswith("/signin?next="), path
    assert count_rows(Category) == 1


@pytest.mark.parametrize("role", [Role.CUSTOMER, Role.STAFF])
def test_customers_and_staff_get_403_on_every_route(client, role):
    category = make_category(name="Untouched", slug="untouched", position=5)
    make_category(position=6)
    login(client, make_user(role=role))
    token = csrf_token(client, "/settings")
    for path in get_routes(category.id):
        assert client.get(path).status_code == 403, path
    for path in post_routes(category.id):
        assert client.post(path, data=form_data(token, name="Hacked", direction="down")).status_code == 403, path
    category = reload(category)
    assert (category.name, category.position) == ("Untouched", 5)
    assert count_rows(Category) == 2


def test_admin_sees_the_categories_tab(client, admin):
    page = text(client.get("/admin/users"))
    assert 'href="/admin/categories"' in page
    response = client.get("/admin/categories")
    assert response.status_code == 200
    assert 'aria-current="page" href="/admin/categories"' in text(response)
    assert "No categories yet." in text(response)


def test_admin_creates_a_category_for_listed_organisations(client, admin):
    acme, globex = make_organization(name="Acme"), make_organization(name="Globex")
    make_organization(name="Initech")
    form = text(client.get("/admin/categories/new"))
    for label in ("Who can see it", "Who can start topics", "Who can reply", "Listed organisations"):
        assert label in form
    token = csrf_token(client, "/admin/categories/new")
    response = client.post("/admin/categories/new", data=form_data(
        token, name="Private Support", audience="organizations", can_start="staff", can_reply="signed_in",
        organization_ids=[str(acme.id), str(globex.id)],
    ))
    assert response.status_code == 302 and response.headers["Location"] == "/admin/categories"
    category = category_by_slug("private-support")  # derived from the name
    assert category.kind == CategoryKind.QUESTIONS and category.audience == Audience.ORGANIZATIONS
    assert category.can_start == PostingRight.STAFF and category.can_reply == PostingRight.SIGNED_IN
    assert category.allowed_organization_ids == {acme.id, globex.id}
    listing = text(client.get("/admin/categories"))
    assert "Private Support is saved." in listing
    assert "Acme, Globex" in listing and "Initech" not in listing


def test_admin_creates_a_subcategory_listed_under_its_parent(client, admin):
    parent = make_category(name="Integrations", slug="integrations", position=1)
    make_category(name="Announcements", slug="announcements", position=0)
    token = csrf_token(client, "/admin/categories/new")
    response = client.post("/admin/categories/new",
                           data=form_data(token, name="Webhooks", kind="discussion", parent=str(parent.id)))
    assert response.status_code == 302
    assert category_by_slug("webhooks").parent_id == parent.id
    listing = text(client.get("/admin/categories")).split("<tbody>", 1)[1]
    assert listing.index("Announcements") < listing.index("Integrations") < listing.index("Webhooks")
    assert 'class="ps-4"' in listing


def test_admin_edits_a_category(client, admin):
    org = make_organization(name="Acme")
    category = make_category(name="Old name", slug="old-name", audience=Audience.ORGANIZATIONS, organizations=[org])
    page = text(client.get(f"/admin/categories/{category.id}/edit"))
    assert 'value="Old name"' in page and 'value="old-name"' in page
    assert f'selected value="{org.id}"' in page or f'value="{org.id}" selected' in page
    token = csrf_token(client, f"/admin/categories/{category.id}/edit")
    response = client.post(f"/admin/categories/{category.id}/edit", data=form_data(
        token, name="New name", slug="new-name", kind="discussion", audience="signed_in", can_reply="staff",
    ))
    assert response.status_code == 302
    category = reload(category)
    assert (category.name, category.slug, category.audience) == ("New name", "new-name", Audience.SIGNED_IN)
    assert category.can_reply == PostingRight.STAFF
    assert category.allowed_organization_ids == frozenset()


def test_parent_choices_are_top_level_categories_other_than_itself(client, admin):
    top = make_category(name="Top level")
    other = make_category(name="Other top")
    make_category(name="A child", parent_id=other.id)
    page = text(client.get(f"/admin/categories/{top.id}/edit"))
    parent_select = page.split('id="parent"', 1)[1].split("</select>", 1)[0]
    assert "Other top" in parent_select
    assert "Top level" not in parent_select and "A child" not in parent_select


@pytest.mark.parametrize(("overrides", "message", "kept"), [
    ({"name": "", "description": "Kept description"}, "Enter a name.", "Kept description"),
    ({"name": "Second", "slug": "taken"}, "Another category already uses this slug.", 'value="Second"'),
    ({"name": "Deep", "parent": "CHILD"}, "Categories nest one level only", 'value="Deep"'),
    ({"name": "Secret", "audience": "organizations"}, "Choose at least one organisation.", 'value="Secret"'),
    ({"name": "Odd", "kind": "wiki"}, "Not a valid choice", 'value="Odd"'),
    ({"name": "Orphan", "parent": "987654"}, "Choose a parent category from the list.", 'value="Orphan"'),
])
def test_bad_input_is_refused_with_the_message_and_the_input_kept(client, admin, overrides, message, kept):
    parent = make_category(name="Parent", slug="taken")
    child = make_category(name="Child", slug="child", parent_id=parent.id)
    if overrides.get("parent") == "CHILD":
        overrides = {**overrides, "parent": str(child.id)}
    token = csrf_token(client, "/admin/categories/new")
    response = client.post("/admin/categories/new", data=form_data(token, **overrides))
    assert response.status_code == 422
    page = text(response)
    assert message in page and kept in page
    assert 'aria-invalid="true"' in page
    assert count_rows(Category) == 2


def test_a_category_with_subcategories_cannot_get_a_parent(client, admin):
    parent = make_category(name="Parent")
    make_category(name="Child", parent_id=parent.id)
    other = make_category(name="Other")
    token = csrf_token(client, f"/admin/categories/{parent.id}/edit")
    response = client.post(f"/admin/categories/{parent.id}/edit",
                           data=form_data(token, name="Parent renamed", parent=str(other.id)))
    assert response.status_code == 422
    assert "has subcategories" in text(response) and 'value="Parent renamed"' in text(response)
    assert reload(parent).parent_id is None and reload(parent).name == "Parent"


def test_move_up_and_down_among_siblings_and_refuse_at_the_ends(client, admin):
    # Equal positions (the default) still order by id, and moving renumbers them.
    first, second, third = (make_category(name=n) for n in ("First", "Second", "Third"))
    child_a = make_category(name="Child A", parent_id=first.id)
    child_b = make_category(name="Child B", parent_id=first.id)
    token = csrf_token(client, "/admin/categories")

    def move(category, direction):
        return client.post(f"/admin/categories/{category.id}/move",
                           data={"csrf_token": token, "direction": direction}, follow_redirects=True)

    assert move(third, "up").status_code == 200
    assert order() == ["First", "Third", "Second"]
    move(first, "down")
    assert order() == ["Third", "First", "Second"]
    response = move(third, "up")
    assert "Third is already first." in text(response)
    assert order() == ["Third", "First", "Second"]
    assert "Second is already last." in text(move(second, "down"))
    move(child_b, "up")
    assert order(first.id) == ["Child B", "Child A"]
    assert order() == ["Third", "First", "Second"]  # children move among themselves only
    assert "Child A is already last." in text(move(child_a, "down"))
    bad = client.post(f"/admin/categories/{first.id}/move", data={"csrf_token": token, "direction": "sideways"})
    assert bad.status_code == 400


def test_category_list_runs_a_fixed_number_of_queries(client, admin):
    org = make_organization()

    def make_some(n):
        for i in range(n):
            parent = make_category(audience=Audience.ORGANIZATIONS, organizations=[org], position=i)
            make_category(parent_id=parent.id)

    make_some(1)
    make_category()
    with count_queries() as small:
        assert client.get("/admin/categories").status_code == 200
    make_some(6)
    assert count_rows(Category) == 15
    with count_queries() as large:
        assert client.get("/admin/categories").status_code == 200
    assert large.count == small.count, f"{small}\n---\n{large}"
    assert large.count <= 5, str(large)
