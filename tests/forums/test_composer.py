"""The composer through the test client: new topics, replies, preview, quotes, locked topics, whispers,
mentions, and every error coming back under its field with what was typed kept."""

from __future__ import annotations

import html
import re

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.forums import services as forums
from portal.forums.models import Category, Mention, Post, PostingRight, Topic
from portal.permissions import Role
from tests.factories import count_rows, login, make_category, make_post, make_topic, make_user, reload
from tests.forums.pages import preview_html, raw, text
from tests.helpers import csrf_token


@pytest.fixture
def customer(client):
    user = make_user(display_name="Cora Customer")
    login(client, user)
    return user


def new_topic(client, category, title="How do I reset the widget?", body="It keeps blinking red.", **extra):
    data = {"csrf_token": csrf_token(client, "/new"), "category": category.slug, "title": title, "body": body,
            "action": "post", **extra}
    return client.post("/new", data=data)


def reply(client, topic, body="Have you tried turning it off?", **extra):
    data = {"csrf_token": csrf_token(client, "/settings"), "body": body, "action": "post", **extra}
    return client.post(f"/t/{topic.id}/reply", data=data)


def field_error(response, field: str) -> str:
    match = re.search(rf'id="{field}-error">(.*?)</div>', raw(response), re.S)
    assert match, f"no error under {field}"
    return html.unescape(match.group(1)).strip()


def textarea(response) -> str:
    """The composer's text as the browser shows it."""
    match = re.search(r'<textarea[^>]*name="body"[^>]*>\r?\n?(.*?)</textarea>', raw(response), re.S)
    assert match, "no composer"
    return html.unescape(match.group(1))


# --- New topics ------------------------------------------------------------------------------------------


def test_new_topic_is_created_with_its_counters(client, customer):
    category = make_category()
    response = new_topic(client, category)
    topic = db.session.scalar(sa.select(Topic))
    assert response.status_code == 302
    assert response.headers["Location"] == f"/t/{topic.slug}/{topic.id}"
    assert topic.title == "How do I reset the widget?" and topic.user_id == customer.id
    assert topic.post_count == 1 and topic.highest_post_number == 1
    category = reload(category)
    assert category.topic_count == 1 and category.post_count == 1 and category.last_topic_id == topic.id
    page = text(client.get(response.headers["Location"]))
    assert "Your topic is posted." in page and "It keeps blinking red." in page


def test_new_topic_preselects_the_category_from_the_query(client, customer):
    category = make_category(name="Product Q&A", slug="product-qa")
    make_category(name="Off-topic")
    page = raw(client.get("/new?category=product-qa"))
    assert re.search(r'<option selected value="product-qa">', page)
    assert "selected" not in raw(client.get("/new?category=nope")).split('name="category"')[1].split("</select>")[0]
    assert category.slug in page


@pytest.mark.parametrize(
    ("title", "body", "field", "message"),
    [
        ("Short", "A body that is fine.", "title", "Use at least 8 characters."),
        ("x" * 151, "A body that is fine.", "title", "Use at most 150 characters."),
        ("A perfectly good title", "x", "body", "Use at least 2 characters."),
        ("A perfectly good title", "y" * 50_001, "body", "Use at most 50,000 characters."),
    ],
)
def test_new_topic_errors_come_back_under_the_field_with_the_text_kept(client, customer, title, body, field,
                                                                          message):
    category = make_category()
    response = new_topic(client, category, title=title, body=body)
    assert response.status_code == 422
    assert field_error(response, field) == message
    assert textarea(response) == body
    assert f'value="{title}"' in raw(response)
    assert count_rows(Topic) == 0 and count_rows(Post) == 0


def test_preview_renders_sanitised_html_and_creates_nothing(client, customer):
    category = make_category()
    body = "**Bold** move <script>alert(1)</script>"
    response = new_topic(client, category, body=body, action="preview")
    assert response.status_code == 200
    shown = preview_html(raw(response))
    assert "<strong>Bold</strong>" in shown and "<script>" not in shown
    assert textarea(response) == body
    assert 'value="How do I reset the widget?"' in raw(response)
    assert count_rows(Topic) == 0


def test_categories_where_only_staff_start_topics_are_not_offered(client, customer):
    make_category(name="Announcements", slug="announcements", can_start=PostingRight.STAFF)
    open_category = make_category(name="Product Q&A", slug="product-qa")
    page = raw(client.get("/new"))
    assert 'value="announcements"' not in page and 'value="product-qa"' in page
    response = new_topic(client, Category(slug="announcements"))
    assert response.status_code == 422
    assert field_error(response, "category") == "Choose a category from the list."
    assert count_rows(Topic) == 0
    assert new_topic(client, open_category).status_code == 302


def test_staff_may_start_topics_in_announcements(client):
    login(client, make_user(role=Role.STAFF))
    announcements = make_category(slug="announcements", can_start=PostingRight.STAFF)
    assert new_topic(client, announcements).status_code == 302
    assert reload(announcements).topic_count == 1


def test_unverified_users_get_403(client):
    login(client, make_user(verified=False))
    category = make_category()
    topic = make_topic(category)
    token = csrf_token(client, "/settings")
    assert client.get("/new").status_code == 403
    assert client.post("/new", data={"csrf_token": token, "category": category.slug, "title": "A good title here",
                                     "body": "A good body."}).status_code == 403
    assert client.get(f"/t/{topic.id}/reply").status_code == 403
    assert client.post(f"/t/{topic.id}/reply", data={"csrf_token": token, "body": "A good body."}).status_code == 403
    assert count_rows(Post) == 1


def test_anonymous_visitors_are_sent_to_sign_in(client):
    topic = make_topic(make_category())
    for path in ("/new", f"/t/{topic.id}/reply", "/mentions?q=ab"):
        response = client.get(path)
        assert response.status_code == 302 and response.headers["Location"].startswith("/signin?next="), path


# --- Replies ---------------------------------------------------------------------------------------------------


def test_reply_is_created_with_its_counters(client, customer):
    category = make_category()
    topic = make_topic(category)
    response = reply(client, topic)
    post = db.session.scalar(sa.select(Post).where(Post.number == 2))
    assert response.status_code == 302
    assert response.headers["Location"] == f"/t/{topic.slug}/{topic.id}#post-2"
    assert post.user_id == customer.id and not post.is_whisper
    topic = reload(topic)
    assert topic.post_count == 2 and topic.last_poster_id == customer.id
    assert reload(category).post_count == 2


@pytest.mark.parametrize(("body", "message"), [
    (" ", "Use at least 2 characters."),
    ("z" * 50_001, "Use at most 50,000 characters."),
])
def test_reply_errors_keep_the_text(client, customer, body, message):
    topic = make_topic(make_category())
    response = reply(client, topic, body=body)
    assert response.status_code == 422
    assert field_error(response, "body") == message
    assert textarea(response) == body
    assert count_rows(Post) == 1


def test_reply_preview_creates_nothing(client, customer):
    topic = make_topic(make_category())
    response = reply(client, topic, body="Try `reset --hard`", action="preview")
    assert response.status_code == 200
    assert "<code>reset --hard</code>" in preview_html(raw(response))
    assert textarea(response) == "Try `reset --hard`"
    assert count_rows(Post) == 1


def test_quote_prefills_a_markdown_quote_linking_back(client, customer):
    topic = make_topic(make_category(), make_user(display_name="Quentin [Q] Quoted"), body="Line one.\n\nLine three.")
    post = db.session.scalar(sa.select(Post).where(Post.topic_id == topic.id))
    response = client.get(f"/t/{topic.id}/reply?quote={post.id}")
    assert response.status_code == 200
    assert textarea(response) == (
        f"> **[Quentin (Q) Quoted wrote](/p/{post.id}):**\n>\n> Line one.\n>\n> Line three.\n\n"
    )


def test_quoting_a_whisper_or_another_topics_post_gives_an_empty_body(client, customer):
    topic = make_topic(make_category())
    whisper = make_post(topic, make_user(role=Role.STAFF), body="Internal only.", whisper=True)
    elsewhere = make_post(make_topic(make_category()), make_user(), body="From another topic.")
    for quote in (whisper.id, elsewhere.id, "abc", 999999):
        response = client.get(f"/t/{topic.id}/reply?quote={quote}")
        assert response.status_code == 200
        assert textarea(response) == "", quote


def test_staff_may_quote_a_whisper(client):
    login(client, make_user(role=Role.STAFF))
    topic = make_topic(make_category())
    whisper = make_post(topic, make_user(role=Role.STAFF), body="Internal only.", whisper=True)
    assert "> Internal only." in textarea(client.get(f"/t/{topic.id}/reply?quote={whisper.id}"))


def test_a_locked_topic_refuses_customers_replies_with_a_message(client, customer):
    topic = make_topic(make_category())
    forums.set_locked(make_user(role=Role.STAFF), reload(topic), True)
    db.session.commit()
    response = client.get(f"/t/{topic.id}/reply")
    assert response.status_code == 302 and response.headers["Location"] == f"/t/{topic.slug}/{topic.id}"
    page = text(client.get(response.headers["Location"]))
    assert "This topic is locked: it takes no new replies." in page
    response = reply(client, topic)
    assert response.status_code == 302
    assert count_rows(Post) == 1


def test_staff_can_reply_in_a_locked_topic(client):
    login(client, make_user(role=Role.STAFF))
    topic = make_topic(make_category())
    forums.set_locked(make_user(role=Role.STAFF), reload(topic), True)
    db.session.commit()
    assert "as staff you can still reply" in text(client.get(f"/t/{topic.slug}/{topic.id}"))
    assert reply(client, topic).status_code == 302
    assert count_rows(Post) == 2


def test_categories_where_only_staff_reply_refuse_customers(client, customer):
    topic = make_topic(make_category(can_reply=PostingRight.STAFF), make_user(role=Role.STAFF))
    assert "Only staff reply in this category." in text(client.get(f"/t/{topic.slug}/{topic.id}"))
    assert client.get(f"/t/{topic.id}/reply").status_code == 403
    assert reply(client, topic).status_code == 403
    assert count_rows(Post) == 1


def test_a_customers_whisper_box_is_ignored(client, customer):
    topic = make_topic(make_category())
    assert reply(client, topic, whisper="y").status_code == 302
    post = db.session.scalar(sa.select(Post).where(Post.number == 2))
    assert not post.is_whisper
    assert reload(topic).post_count == 2


def test_staff_whisper(client):
    login(client, make_user(role=Role.STAFF))
    topic = make_topic(make_category())
    assert 'name="whisper"' in raw(client.get(f"/t/{topic.id}/reply"))
    response = reply(client, topic, body="Between us staff.", whisper="y")
    assert response.status_code == 302
    assert "only staff see it" in text(client.get(response.headers["Location"]))
    post = db.session.scalar(sa.select(Post).where(Post.number == 2))
    assert post.is_whisper
    assert reload(topic).post_count == 1  # whispers are not counted for everyone


def test_a_mention_is_stored_and_linked_to_the_profile(client, customer):
    mentioned = make_user(display_name="Mia Mentioned")
    topic = make_topic(make_category())
    response = reply(client, topic, body=f"Thanks @[Mia Mentioned](/users/{mentioned.id}), that worked.")
    assert response.status_code == 302
    mention = db.session.scalar(sa.select(Mention))
    assert mention.user_id == mentioned.id
    page = raw(client.get(response.headers["Location"]))
    assert re.search(rf'<a href="/users/{mentioned.id}"[^>]*>Mia Mentioned</a>', page)


# --- Mention lookup -----------------------------------------------------------------------------------------


def test_mention_lookup_by_name_prefix(client, customer):
    mia = make_user(display_name="Mia Mentioned")
    make_user(display_name="Milo Other")
    make_user(display_name="Someone Mia")
    response = client.get("/mentions?q=mia")
    assert response.status_code == 200
    users = response.get_json()["users"]
    assert [u["name"] for u in users] == ["Mia Mentioned"]
    assert users[0]["mention"] == f"@[Mia Mentioned](/users/{mia.id})"
    assert client.get("/mentions?q=m").get_json() == {"users": []}
    assert [u["name"] for u in client.get("/mentions?q=Mi").get_json()["users"]] == ["Mia Mentioned", "Milo Other"]
    assert client.get("/mentions?q=%25%25").get_json() == {"users": []}


def test_mention_lookup_needs_a_participant(client):
    login(client, make_user(verified=False))
    assert client.get("/mentions?q=mia").status_code == 403
