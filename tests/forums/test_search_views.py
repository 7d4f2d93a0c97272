"""The search page: the form, results with filters from the query string, messages for bad queries, visibility."""

from __future__ import annotations

import re

import pytest

from portal.extensions import db
from portal.forums import services as forums
from portal.forums.models import Audience, CategoryKind
from portal.permissions import Role
from tests.factories import login, make_category, make_post, make_topic, make_user


def hit_links(html: str) -> list[str]:
    return re.findall(r'<li class="search-result[^"]*">\s*<h2[^>]*>\s*<a href="([^"]+)"', html)


@pytest.fixture
def forum(app):
    """A public questions category with a solved topic, a staff-only category, and a whisper."""
    staff = make_user(role=Role.STAFF, display_name="Sam Staff")
    asker = make_user(display_name="Carol Customer")
    public = make_category(name="Product Q&A", slug="product-qa", kind=CategoryKind.QUESTIONS)
    lounge = make_category(name="Staff Lounge", slug="staff-lounge", audience=Audience.STAFF)
    question = make_topic(public, asker, title="Exporting reports to <CSV>", body="How do I export reports?")
    answer = make_post(question, staff, body="Use the export button on the reports page.")
    forums.accept_answer(asker, question, answer)
    db.session.commit()
    open_topic = make_topic(public, asker, title="Another reports question", body="Reports load slowly.")
    whisper = make_post(open_topic, staff, body="Reports whisper: known slowness.", whisper=True)
    internal = make_topic(lounge, staff, title="Internal reports roadmap", body="Reports v2 plans.")
    return {"staff": staff, "asker": asker, "public": public, "lounge": lounge, "question": question,
            "answer": answer, "open": open_topic, "whisper": whisper, "internal": internal}


def test_the_empty_page_shows_the_form_without_an_error(client, forum):
    response = client.get("/search")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'id="search-q"' in html and 'for="search-q"' in html
    assert "Product Q&amp;A" in html and "Staff Lounge" not in html  # the category choices follow visibility
    assert 'role="alert"' not in html and "search-results" not in html and " result" not in html


def test_anonymous_visitors_find_public_content_only(client, forum):
    html = client.get("/search?q=reports").get_data(as_text=True)
    assert "3 results" in html
    assert "Internal reports roadmap" not in html and "whisper" not in html.lower().split("search-results")[1]
    links = hit_links(html)
    assert f"/p/{forum['answer'].id}" in links
    assert f"/p/{forum['whisper'].id}" not in links
    assert "Exporting <mark>reports</mark> to &lt;CSV&gt;" in html  # titles are escaped, matches marked
    assert "<mark>" in html and "Accepted answer" in html and "Staff replied" in html
    assert "Sam Staff" in html and "Product Q&amp;A" in html


def test_staff_find_whispers_and_staff_only_categories(client, forum):
    login(client, forum["staff"])
    html = client.get("/search?q=reports").get_data(as_text=True)
    assert "5 results" in html
    assert "Internal <mark>reports</mark> roadmap" in html
    assert f"/p/{forum['whisper'].id}" in hit_links(html)


def test_filters_come_from_the_query_string(client, forum):
    solved = client.get("/search?q=reports&solved=1").get_data(as_text=True)
    assert "2 results" in solved and 'name="solved" value="1" checked' in solved
    by_slug = client.get("/search?q=reports&category=product-qa").get_data(as_text=True)
    by_id = client.get(f"/search?q=reports&category={forum['public'].id}").get_data(as_text=True)
    assert "3 results" in by_slug and "3 results" in by_id
    assert '<option value="product-qa" selected>' in by_slug
    by_author = client.get(f"/search?q=reports&author={forum['asker'].id}").get_data(as_text=True)
    assert "2 results" in by_author and "Posts by <strong>Carol Customer</strong>" in by_author
    staff = client.get("/search?q=reports&staff=1").get_data(as_text=True)
    assert "2 results" in staff  # the whisper is not a staff reply to the open topic


def test_a_hidden_or_unknown_category_is_not_revealed(client, forum):
    html = client.get("/search?q=reports&category=staff-lounge").get_data(as_text=True)
    assert "doesn't exist or isn't visible" in html
    assert "Internal reports roadmap" not in html and "Staff Lounge" not in html
    assert "3 results" in html


@pytest.mark.parametrize(
    ("query", "message"),
    [("(((", "symbols and operators alone"), ("-reports", "can&#39;t only exclude"), ("x" * 300, "at most 200"),
     ('"unbalanced', "0 results"), ("AND OR NOT", "too common")],
)
def test_bad_queries_get_a_clear_message_not_an_error(client, forum, query, message):
    response = client.get("/search", query_string={"q": query})
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)


def test_odd_parameters_are_ignored(client, forum):
    for args in ("q=reports&page=abc", "q=reports&page=-3", "q=reports&author=abc", "q=reports&page=99999999999",
                 "q=reports&category=%00", "q=reports&author=99999999999"):
        assert client.get(f"/search?{args}").status_code == 200, args
    assert "That person doesn't exist" in client.get("/search?q=reports&author=424242").get_data(as_text=True)


def test_pagination_keeps_the_query_and_filters(client, app):
    category = make_category(slug="busy")
    topic = make_topic(category, title="A very busy thread", body="Start.")
    for i in range(23):
        make_post(topic, body=f"Pagination marker {i}.")
    first = client.get("/search?q=marker&category=busy").get_data(as_text=True)
    assert "23 results" in first and len(hit_links(first)) == 20
    next_links = [h for h in re.findall(r'href="(/search\?[^"]+)"', first) if "page=2" in h]
    assert next_links and all("q=marker" in h and "category=busy" in h for h in next_links)
    second = client.get("/search?q=marker&category=busy&page=2").get_data(as_text=True)
    assert len(hit_links(second)) == 3


def test_result_links_open_the_post(client, forum):
    html = client.get("/search?q=export+button").get_data(as_text=True)
    assert hit_links(html) == [f"/p/{forum['answer'].id}"]
    response = client.get(hit_links(html)[0])
    assert response.status_code == 302 and f"/{forum['question'].id}" in response.headers["Location"]


def test_the_navbar_has_a_search_box(client, app):
    html = client.get("/").get_data(as_text=True)
    assert 'action="/search"' in html and 'for="nav-search-q"' in html and 'aria-label="Search the forums"' in html
