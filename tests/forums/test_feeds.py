"""Atom feeds: the site's latest topics and each public category's, public whoever asks."""

from __future__ import annotations

from datetime import timedelta
from xml.etree import ElementTree as ET

import pytest
import sqlalchemy as sa

from portal.db import utcnow
from portal.extensions import db
from portal.forums import services as forums
from portal.forums.models import Audience, Post, Topic, TopicContext
from portal.permissions import Role
from tests.factories import login, make_category, make_organization, make_post, make_topic, make_user
from tests.helpers import count_queries

NS = {"a": "http://www.w3.org/2005/Atom"}


def parse(response) -> ET.Element:
    assert response.status_code == 200, response.status_code
    assert response.headers["Content-Type"] == "application/atom+xml; charset=utf-8"
    root = ET.fromstring(response.get_data())  # noqa: S314  (the app's own output, not untrusted input)
    assert root.tag == "{http://www.w3.org/2005/Atom}feed"
    return root


def titles(root: ET.Element) -> list[str]:
    return [entry.findtext("a:title", namespaces=NS) for entry in root.findall("a:entry", NS)]


def touch(topic: Topic, hours_ago: float) -> None:
    at = utcnow() - timedelta(hours=hours_ago)
    db.session.execute(sa.update(Topic).where(Topic.id == topic.id).values(created_at=at, last_post_at=at))
    db.session.commit()


@pytest.fixture
def public(app):
    return make_category(name="Product Q&A", slug="product-qa", description="Ask about the product.")


def test_site_feed_lists_public_topics_by_last_activity_with_absolute_links(client, public):
    author = make_user(display_name="Carol Customer")
    first = make_topic(public, author, title="First public topic", body="Hello **world**")
    second = make_topic(make_category(), author, title="Second public topic")
    third = make_topic(public, author, title="Third public topic")
    touch(first, 5)
    touch(second, 3)
    touch(third, 4)
    make_post(first, make_user())  # a reply brings it to the top

    root = parse(client.get("/latest.atom"))

    assert titles(root) == ["First public topic", "Second public topic", "Third public topic"]
    assert root.findtext("a:title", namespaces=NS) == "Portal: latest topics"
    assert root.findtext("a:id", namespaces=NS) == "http://portal.test/latest.atom"
    links = {link.get("rel"): link.get("href") for link in root.findall("a:link", NS)}
    assert links == {"self": "http://portal.test/latest.atom", "alternate": "http://portal.test/latest"}
    entry = root.find("a:entry", NS)
    first = db.session.get(Topic, first.id)
    assert entry.find("a:link", NS).get("href") == f"http://portal.test/t/{first.slug}/{first.id}"
    assert entry.findtext("a:id", namespaces=NS).startswith("tag:portal.test,")
    assert entry.findtext("a:id", namespaces=NS).endswith(f":topic:{first.id}")
    assert entry.findtext("a:author/a:name", namespaces=NS) == "Carol Customer"
    assert entry.findtext("a:updated", namespaces=NS) == first.last_post_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert entry.findtext("a:published", namespaces=NS) == first.created_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert root.findtext("a:updated", namespaces=NS) == entry.findtext("a:updated", namespaces=NS)
    content = entry.find("a:content", NS)
    assert content.get("type") == "html"
    assert content.text.strip() == "<p>Hello <strong>world</strong></p>"  # the stored body_html, unescaped once
    assert entry.find("a:category", NS).get("term") == "product-qa"


def test_feeds_hold_thirty_topics_at_most(client, public):
    author = make_user()
    for i in range(32):
        forums.create_topic(author, public, f"Topic number {i:02d}", "Body text.")
    db.session.commit()
    assert len(titles(parse(client.get("/latest.atom")))) == 30
    assert len(titles(parse(client.get("/c/product-qa.atom")))) == 30


@pytest.mark.parametrize("viewer", [None, Role.CUSTOMER, Role.STAFF, Role.ADMIN])
def test_only_public_categories_appear_whoever_asks(client, public, viewer):
    org = make_organization()
    member = make_user(organization_id=org.id)
    make_topic(public, title="Public topic here")
    make_topic(make_category(audience=Audience.SIGNED_IN, slug="members"), title="Signed-in members only")
    make_topic(make_category(audience=Audience.STAFF, slug="staff-room"), member, title="Staff only topic")
    make_topic(make_category(audience=Audience.ORGANIZATIONS, organizations=[org], slug="acme"), member,
               title="Organisation only topic")
    hidden_parent = make_category(audience=Audience.STAFF, slug="hidden-parent")
    make_topic(make_category(parent_id=hidden_parent.id, slug="public-child-of-hidden"), title="Child of hidden")
    if viewer is not None:
        login(client, member if viewer == Role.CUSTOMER else make_user(role=viewer))

    assert titles(parse(client.get("/latest.atom"))) == ["Public topic here"]
    assert titles(parse(client.get("/c/product-qa.atom"))) == ["Public topic here"]
    for slug in ("members", "staff-room", "acme", "hidden-parent", "public-child-of-hidden", "no-such-category"):
        assert client.get(f"/c/{slug}.atom").status_code == 404, slug


def test_category_feed_includes_public_subcategories_only(client, public):
    make_topic(public, title="In the category itself")
    make_topic(make_category(parent_id=public.id, slug="product-qa-billing"), title="In a public subcategory")
    make_topic(make_category(parent_id=public.id, audience=Audience.STAFF), title="In a staff subcategory")
    make_topic(make_category(), title="In another category")

    root = parse(client.get("/c/product-qa.atom"))

    assert sorted(titles(root)) == ["In a public subcategory", "In the category itself"]
    assert root.findtext("a:title", namespaces=NS) == "Portal: Product Q&A"
    assert root.findtext("a:subtitle", namespaces=NS) == "Ask about the product."
    links = {link.get("rel"): link.get("href") for link in root.findall("a:link", NS)}
    assert links == {"self": "http://portal.test/c/product-qa.atom", "alternate": "http://portal.test/c/product-qa"}
    assert titles(parse(client.get("/c/product-qa-billing.atom"))) == ["In a public subcategory"]


def test_deleted_topics_and_other_contexts_are_left_out(client, public):
    staff = make_user(role=Role.STAFF)
    make_topic(public, title="Still here topic")
    gone = make_topic(public, title="Deleted topic here")
    forums.delete_post(staff, db.session.scalars(sa.select(Post).where(Post.topic_id == gone.id)).one())
    idea = make_topic(public, title="An idea discussion")
    db.session.execute(sa.update(Topic).where(Topic.id == idea.id).values(context=TopicContext.IDEA))
    db.session.commit()

    assert titles(parse(client.get("/latest.atom"))) == ["Still here topic"]
    assert titles(parse(client.get("/c/product-qa.atom"))) == ["Still here topic"]


def test_titles_bodies_and_names_are_escaped_into_well_formed_xml(client, public):
    author = make_user(display_name="Tom & <Jerry>")
    make_topic(public, author, title="<script>alert(1)</script> & more", body="<script>x</script> Fish & chips")
    # Control characters are not allowed in XML at all: they are dropped rather than breaking the feed.
    make_topic(public, author, title="Bell \x07 character")

    response = client.get("/latest.atom")
    raw = response.get_data(as_text=True)
    root = parse(response)

    assert "<script>" not in raw
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; more" in raw
    assert titles(root) == ["Bell  character", "<script>alert(1)</script> & more"]
    entry = root.findall("a:entry", NS)[1]
    assert entry.findtext("a:author/a:name", namespaces=NS) == "Tom & <Jerry>"
    content = entry.findtext("a:content", namespaces=NS)
    assert "<script>" not in content and "Fish &amp; chips" in content  # sanitised when written, escaped here


def test_empty_feeds_are_valid(client, public):
    root = parse(client.get("/latest.atom"))
    assert titles(root) == [] and root.findtext("a:updated", namespaces=NS)
    assert titles(parse(client.get("/c/product-qa.atom"))) == []


def _fill(count: int, public) -> None:
    categories = [public, make_category(audience=Audience.SIGNED_IN), make_category()]
    categories.append(make_category(parent_id=public.id))
    for i in range(count):
        topic = forums.create_topic(make_user(), categories[i % 4], f"Feed topic number {i}", "Some **body**.")
        if i % 3 == 0:
            forums.create_post(make_user(), topic, "A reply.")
    db.session.commit()


@pytest.mark.parametrize("signed_in", [False, True])
def test_feeds_run_a_fixed_number_of_statements(app, client, public, signed_in):
    if signed_in:
        login(client, make_user())

    def statements(path: str) -> int:
        client.get(path)
        with count_queries() as log:
            parse(client.get(path))
        return log.count

    _fill(3, public)
    small = statements("/latest.atom"), statements("/c/product-qa.atom")
    _fill(70, public)
    assert (statements("/latest.atom"), statements("/c/product-qa.atom")) == small
    assert small == ((1, 2) if not signed_in else (2, 3))  # topics; + the category; + the viewer


@pytest.mark.page_cache
def test_feeds_are_cached_for_signed_out_readers_until_a_write(client, public):
    author = make_user()
    make_topic(public, author, title="Cached topic one")
    for path in ("/latest.atom", "/c/product-qa.atom"):
        first, second = client.get(path), client.get(path)
        assert (first.headers["X-Page-Cache"], second.headers["X-Page-Cache"]) == ("miss", "hit"), path
        assert second.headers["Content-Type"] == "application/atom+xml; charset=utf-8"
        assert second.get_data() == first.get_data()

    make_topic(public, author, title="Cached topic two")

    for path in ("/latest.atom", "/c/product-qa.atom"):
        response = client.get(path)
        assert response.headers["X-Page-Cache"] == "miss"
        assert titles(parse(response)) == ["Cached topic two", "Cached topic one"]
