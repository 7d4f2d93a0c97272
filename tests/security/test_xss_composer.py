"""The XSS corpus through the forum's composer: the preview and a posted reply's topic page stay inert.

test_xss.py checks render_markdown alone; this checks the pages people see, where a template that forgot to
escape (or a `|safe` on the wrong field) would undo the sanitiser.
"""

from __future__ import annotations

from collections import Counter

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.forums.models import Post
from tests.factories import login, make_category, make_topic, make_user
from tests.forums.pages import post_body_html, preview_html, raw
from tests.helpers import csrf_token
from tests.security.inertness import executable_constructs, links_have_safe_rel
from tests.security.xss_corpus import XSS_PAYLOADS

HARMLESS = "Just some **harmless** text with https://example.com in it."


@pytest.fixture
def writer(client):
    user = make_user()
    login(client, user)
    return user


def _page_constructs(page: str) -> Counter:
    """The page's own forms, buttons and scripts: a payload must add none."""
    return Counter(executable_constructs(page))


def test_the_corpus_through_the_reply_preview(client, writer):
    topic = make_topic(make_category())
    token = csrf_token(client, "/settings")

    def preview(body):
        response = client.post(f"/t/{topic.id}/reply", data={"csrf_token": token, "body": body, "action": "preview"})
        assert response.status_code == 200
        return raw(response)

    baseline = _page_constructs(preview(HARMLESS))
    failures = []
    for i, payload in enumerate(XSS_PAYLOADS):
        page = preview(payload)
        shown = preview_html(page)
        if executable_constructs(shown) or not links_have_safe_rel(shown) or _page_constructs(page) != baseline:
            failures.append((i, payload, shown))
    assert failures == []
    assert db.session.scalar(sa.select(sa.func.count(Post.id))) == 1


def test_the_corpus_through_the_new_topic_preview(client, writer):
    category = make_category()
    token = csrf_token(client, "/new")

    def preview(body):
        response = client.post("/new", data={"csrf_token": token, "category": category.slug,
                                             "title": "A title for the preview", "body": body, "action": "preview"})
        assert response.status_code == 200
        return raw(response)

    baseline = _page_constructs(preview(HARMLESS))
    failures = []
    for i, payload in enumerate(XSS_PAYLOADS):
        page = preview(payload)
        shown = preview_html(page)
        if executable_constructs(shown) or not links_have_safe_rel(shown) or _page_constructs(page) != baseline:
            failures.append((i, payload, shown))
    assert failures == []


def test_the_corpus_through_posted_replies(client, writer):
    """Each payload is a reply in a topic of its own, so every page compares with the same baseline."""
    category = make_category()
    author = make_user()
    token = csrf_token(client, "/settings")

    def post_and_show(body):
        topic = make_topic(category, author, title="A topic for one payload")
        response = client.post(f"/t/{topic.id}/reply", data={"csrf_token": token, "body": body, "action": "post"})
        assert response.status_code == 302, body
        assert response.headers["Location"].endswith("#post-2")
        page = client.get(response.headers["Location"])
        assert page.status_code == 200
        return raw(page)

    baseline = _page_constructs(post_and_show(HARMLESS))
    failures = []
    for i, payload in enumerate(XSS_PAYLOADS):
        page = post_and_show(payload)
        shown = post_body_html(page, 2)
        if executable_constructs(shown) or not links_have_safe_rel(shown) or _page_constructs(page) != baseline:
            failures.append((i, payload, shown))
    assert failures == []


def test_the_check_would_catch_an_unescaped_body():
    """Guards the guard: a post body that escaped the sanitiser shows up in both checks."""
    page = ('<article id="post-2"><div class="post-body px-3 py-2"><div><img src=x onerror=alert(1)></div></div>'
            "</article>")
    assert executable_constructs(post_body_html(page, 2)) != []
    assert _page_constructs(page) != _page_constructs(page.replace(" onerror=alert(1)", ""))
