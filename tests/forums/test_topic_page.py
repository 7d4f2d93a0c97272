"""The topic page through the test client: pages and permalinks, badges, accepted answers, whispers,
deleted posts and topics, who may see it, "jump to first unread", and the read marker it writes."""

from __future__ import annotations

import sqlalchemy as sa

from portal.extensions import db
from portal.forums import services as forums
from portal.forums.models import Audience, CategoryKind, TopicRead
from portal.permissions import Role
from tests.factories import count_rows, login, make_category, make_post, make_topic, make_user, reload
from tests.forums.pages import first_post, raw, text, topic_path
from tests.helpers import count_queries


def numbers_shown(response) -> list[int]:
    import re

    return [int(n) for n in re.findall(r'<article [^>]*id="post-(\d+)"', raw(response))]


def long_topic(replies: int, category=None):
    """A topic with `replies` replies by one customer: posts #1 … #replies+1."""
    topic = make_topic(category or make_category(), title="A long running thread")
    replier = make_user()
    posts = [make_post(topic, replier, body=f"Reply body number {i + 2}.") for i in range(replies)]
    return reload(topic), posts


def read_marker(user, topic) -> int | None:
    db.session.commit()
    return db.session.scalar(
        sa.select(TopicRead.last_read_number).where(TopicRead.user_id == user.id, TopicRead.topic_id == topic.id)
    )


def writes(log) -> list[str]:
    return [s for s in log.statements if s.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))]


# --- Pages and permalinks ------------------------------------------------------------------------------


def test_twenty_posts_per_page_and_page_two(client):
    topic, _ = long_topic(24)
    assert numbers_shown(client.get(topic_path(topic))) == list(range(1, 21))
    page_two = client.get(topic_path(topic, 2))
    assert numbers_shown(page_two) == list(range(21, 26))
    assert "Reply body number 25." in text(page_two)
    assert f'href="/t/{topic.slug}/{topic.id}?page=2"' in raw(client.get(topic_path(topic)))


def test_a_page_beyond_the_end_is_404_and_odd_pages_are_page_one(client):
    topic, _ = long_topic(3)
    assert client.get(topic_path(topic, 2)).status_code == 404
    assert numbers_shown(client.get(topic_path(topic) + "?page=abc")) == [1, 2, 3, 4]


def test_permalinks_land_on_the_right_page_and_post(client):
    topic, posts = long_topic(24)
    post_25 = posts[-1]
    assert post_25.number == 25
    response = client.get(f"/p/{post_25.id}")
    assert response.status_code == 302
    assert response.headers["Location"] == f"/t/{topic.slug}/{topic.id}?page=2#post-25"
    response = client.get(f"/p/{posts[0].id}")
    assert response.headers["Location"] == f"/t/{topic.slug}/{topic.id}#post-2"
    response = client.get(f"/t/{topic.slug}/{topic.id}/25")
    assert response.status_code == 302
    assert response.headers["Location"] == f"/t/{topic.slug}/{topic.id}?page=2#post-25"
    assert client.get(f"/t/{topic.slug}/{topic.id}/20").headers["Location"] == f"/t/{topic.slug}/{topic.id}#post-20"
    assert client.get("/p/999999").status_code == 404


def test_a_wrong_slug_redirects_permanently_to_the_canonical_url(client):
    topic, _ = long_topic(24)
    response = client.get(f"/t/some-old-title/{topic.id}?page=2")
    assert response.status_code == 301
    assert response.headers["Location"] == f"/t/{topic.slug}/{topic.id}?page=2"
    assert client.get("/t/anything/999999").status_code == 404


def test_a_wrong_slug_with_odd_arguments_still_redirects(client):
    topic, _ = long_topic(1)
    for query in ("topic_id=3", "slug=x", "_anchor=x", "_external=1&_scheme=javascript"):
        response = client.get(f"/t/wrong/{topic.id}?{query}")
        assert response.status_code == 301, query
        assert response.headers["Location"] == f"/t/{topic.slug}/{topic.id}", query


def test_staff_posts_carry_the_staff_badge_and_customers_do_not(client):
    topic = make_topic(make_category(), make_user(display_name="Carl Customer"))
    make_post(topic, make_user(role=Role.STAFF, display_name="Sam Staff"), body="Staff says hello.")
    page = raw(client.get(topic_path(topic)))
    first, second = page.split('id="post-2"')
    assert "staff-badge" not in first.split('id="post-1"')[1]
    assert "staff-badge" in second.split("</header>")[0]


def test_official_badge(client):
    topic = make_topic(make_category())
    reply = make_post(topic, make_user(role=Role.STAFF))
    other = make_post(topic, make_user(role=Role.STAFF))
    forums.mark_official(make_user(role=Role.STAFF), reload(reply), True)
    db.session.commit()
    page = raw(client.get(topic_path(topic)))
    assert "Official answer" in page.split('id="post-2"')[1].split('id="post-3"')[0]
    assert "Official answer" not in page.split(f'id="post-{other.number}"')[1]


def _accept(topic, post):
    forums.accept_answer(topic.user, reload(topic), reload(post))
    db.session.commit()


def test_the_accepted_answer_is_shown_under_the_question(client):
    asker = make_user()
    topic = make_topic(make_category(kind=CategoryKind.QUESTIONS), asker)
    make_post(topic, make_user(), body="A first try that did not help.")
    answer = make_post(topic, make_user(role=Role.STAFF), body="Restart the widget service.")
    _accept(topic, answer)
    page = raw(client.get(topic_path(topic)))
    box = page.index('aria-label="Accepted answer"')
    assert page.index('id="post-1"') < box < page.index('id="post-2"')
    assert "Restart the widget service." in page[box:page.index('id="post-2"')]
    assert "Solved" in page.split("</h1>")[0]


def test_the_accepted_answer_on_page_three_is_shown_on_page_one(client):
    topic, posts = long_topic(44, make_category(kind=CategoryKind.QUESTIONS))
    answer = posts[-1]
    assert answer.number == 45
    _accept(topic, answer)
    page = raw(client.get(topic_path(topic)))
    box = page.index('aria-label="Accepted answer"')
    assert box < page.index('id="post-2"')
    assert "Reply body number 45." in page[box:page.index('id="post-2"')]
    assert numbers_shown(client.get(topic_path(topic, 3))) == [41, 42, 43, 44, 45]
    assert "Accepted answer" in raw(client.get(topic_path(topic, 3))).split('id="post-45"')[1]


# --- Whispers -------------------------------------------------------------------------------------------


def test_whispers_are_for_staff_only(app):
    staff_user = make_user(role=Role.STAFF)
    topic = make_topic(make_category())
    whisper = make_post(topic, staff_user, body="Internal note: known bug 4711.", whisper=True)
    make_post(topic, make_user(), body="A public follow-up.")

    staff = app.test_client()
    login(staff, staff_user)
    page = text(staff.get(topic_path(topic)))
    assert "Internal note: known bug 4711." in page and "Whisper" in page
    assert staff.get(f"/p/{whisper.id}").status_code == 302

    customer = app.test_client()
    login(customer, make_user())
    anonymous = app.test_client()
    for who in (customer, anonymous):
        response = who.get(topic_path(topic))
        assert "known bug 4711" not in raw(response) and "A public follow-up." in text(response)
        assert numbers_shown(response) == [1, 3]
    assert customer.get(f"/p/{whisper.id}").status_code == 404
    assert anonymous.get(f"/p/{whisper.id}").headers["Location"].startswith("/signin")


# --- Deleted posts and topics -----------------------------------------------------------------------------


def test_a_deleted_post_leaves_a_placeholder_and_staff_can_restore(app):
    staff_user = make_user(role=Role.STAFF)
    topic = make_topic(make_category())
    reply = make_post(topic, make_user(), body="Something regrettable said.")
    forums.delete_post(staff_user, reload(reply))
    db.session.commit()

    customer = app.test_client()
    login(customer, make_user())
    page = text(customer.get(topic_path(topic)))
    assert "Post deleted." in page and "Something regrettable said." not in page
    assert f"/p/{reply.id}/restore" not in page

    staff = app.test_client()
    login(staff, staff_user)
    page = text(staff.get(topic_path(topic)))
    assert "Post deleted." in page and f'action="/p/{reply.id}/restore"' in page


def test_a_deleted_topic_is_404_for_customers_and_visible_to_staff(app):
    staff_user = make_user(role=Role.STAFF)
    author = make_user()
    topic = make_topic(make_category(), author, title="A topic that was deleted")
    forums.delete_post(staff_user, first_post(topic))
    db.session.commit()
    for user in (author, make_user()):
        customer = app.test_client()
        login(customer, user)
        assert customer.get(topic_path(topic)).status_code == 404
    staff = app.test_client()
    login(staff, staff_user)
    response = staff.get(topic_path(topic))
    assert response.status_code == 200 and "This topic is deleted" in text(response)


def test_a_staff_only_topic_asks_anonymous_to_sign_in_and_is_404_for_customers(app):
    topic = make_topic(make_category(audience=Audience.STAFF), make_user(role=Role.STAFF),
                       body="Staff eyes only, please.")
    anonymous = app.test_client()
    for path in (topic_path(topic), f"/t/{topic.slug}/{topic.id}/1", f"/p/{first_post(topic).id}"):
        response = anonymous.get(path)
        assert response.status_code == 302 and response.headers["Location"].startswith("/signin?next="), path
        assert "Staff eyes only" not in raw(response)
    customer = app.test_client()
    login(customer, make_user())
    assert customer.get(topic_path(topic)).status_code == 404
    assert customer.get(f"/p/{first_post(topic).id}").status_code == 404


# --- First unread and read markers ------------------------------------------------------------------------


def test_jump_to_first_unread_appears_after_new_replies(client):
    reader = make_user()
    topic, _ = long_topic(2)
    login(client, reader)
    assert "Jump to first unread" not in text(client.get(topic_path(topic)))
    make_post(topic, make_user())
    make_post(topic, make_user())
    page = raw(client.get(topic_path(topic)))
    assert "Jump to first unread" in page
    assert f'href="/t/{topic.slug}/{topic.id}/4">Jump to first unread' in page


def test_a_trailing_whisper_is_nothing_unread_for_customers(client):
    """Customers never see whispers, so one after the last reply must not leave a "first unread" that isn't there."""
    reader = make_user()
    topic, _ = long_topic(19)  # exactly one page
    login(client, reader)
    client.get(topic_path(topic))
    make_post(topic, make_user(role=Role.STAFF), body="Staff-only note.", whisper=True)
    response = client.get(f"/t/{topic.slug}/{topic.id}/21")  # where an old "first unread" link pointed
    assert response.status_code == 302
    assert client.get(response.headers["Location"]).status_code == 200
    client.get(topic_path(topic))
    assert "Jump to first unread" not in text(client.get(topic_path(topic)))


def test_reading_moves_the_marker_forward_only(client):
    reader = make_user()
    topic, _ = long_topic(24)
    login(client, reader)
    assert read_marker(reader, topic) is None
    client.get(topic_path(topic))
    assert read_marker(reader, topic) == 20
    client.get(topic_path(topic, 2))
    assert read_marker(reader, topic) == 25
    with count_queries() as log:
        client.get(topic_path(topic))
    assert read_marker(reader, topic) == 25
    assert writes(log) == []


def test_a_second_visit_to_the_same_page_writes_nothing(client):
    reader = make_user()
    topic, _ = long_topic(3)
    login(client, reader)
    with count_queries() as log:
        client.get(topic_path(topic))
    assert len(writes(log)) == 1 and "topic_reads" in writes(log)[0]
    with count_queries() as log:
        assert client.get(topic_path(topic)).status_code == 200
    assert writes(log) == [], log


def test_anonymous_readers_write_nothing(client):
    topic, _ = long_topic(3)
    with count_queries() as log:
        assert client.get(topic_path(topic)).status_code == 200
    assert writes(log) == []
    assert count_rows(TopicRead) == 0
