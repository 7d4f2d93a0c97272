"""Notification pages through the test client: the bell, the list, opening and marking read, watch buttons,
the settings form, unsubscribing; and no one sees another person's notifications."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.forums.models import Audience
from portal.notifications.models import (
    CategoryWatch,
    DigestFrequency,
    DigestSettings,
    EmailMode,
    EmailPreference,
    Notification,
    TopicWatch,
    WatchLevel,
)
from portal.notifications.services import notify
from portal.notifications.services.preferences import unsubscribe_token
from portal.permissions import Role
from tests.factories import login, make_category, make_organization, make_post, make_topic, make_user
from tests.helpers import csrf_token
from tests.notifications.helpers import mention, notifications_of
from tests.notifications.test_emails import old_token


def text(response) -> str:
    return response.get_data(as_text=True)


def bell(html: str) -> str | None:
    match = re.search(r'class="badge rounded-pill text-bg-danger" data-unread="\d+">([^<]+)<', html)
    return match.group(1) if match else None


def replied_to(author, n: int = 1, topic=None):
    topic = topic or make_topic(user=author, title="My question about exports")
    return topic, [make_post(topic, make_user(display_name=f"Replier {i}")) for i in range(n)]


# --- The bell ---------------------------------------------------------------------------------------------------


def test_the_bell_shows_the_unread_count(client):
    ann = make_user()
    login(client, ann)
    assert bell(text(client.get("/"))) is None
    replied_to(ann, 2)
    html = text(client.get("/"))
    assert bell(html) == "2"
    assert 'href="/notifications"' in html


def test_the_bell_caps_at_99_plus(client):
    ann = make_user()
    post = make_post(make_topic(user=make_user()), make_user())
    db.session.add_all(Notification(user_id=ann.id, kind="mentioned", url=f"/p/{post.id}", subject="x")
                       for _ in range(120))
    db.session.commit()
    login(client, ann)
    assert bell(text(client.get("/"))) == "99+"


# --- The page, opening, marking read -------------------------------------------------------------------------


def test_the_page_lists_notifications_and_groups_unread_ones_by_topic(client):
    ann = make_user()
    _topic, _ = replied_to(ann, 3)
    other = make_topic(user=make_user(), title="Someone else's thread")
    make_post(other, make_user(display_name="Mo Mentioner"), body=f"{mention(ann)} what do you think?")
    login(client, ann)
    html = text(client.get("/notifications"))
    assert "3 new</span> in <strong>My question about exports</strong>" in html
    assert "Mo Mentioner mentioned you in  <strong>Someone else&#39;s thread</strong>" in html \
        or "Mo Mentioner mentioned you in <strong>Someone else&#39;s thread</strong>" in html
    assert html.count("replied to your topic") == 3


def test_the_page_is_paginated(client, app):
    app.config["NOTIFICATIONS_PER_PAGE"] = 2
    ann = make_user()
    for _ in range(3):
        replied_to(ann, 1, topic=make_topic(user=ann))
    login(client, ann)
    assert text(client.get("/notifications")).count("replied to your topic") == 2
    assert text(client.get("/notifications?page=2")).count("replied to your topic") == 1


def test_opening_a_notification_marks_it_read_and_lands_on_the_post(client):
    ann = make_user()
    topic, [post] = replied_to(ann)
    [n] = notifications_of(ann)
    login(client, ann)
    response = client.get(f"/notifications/{n.id}")
    assert response.status_code == 302 and response.headers["Location"] == f"/p/{post.id}"
    landing = client.get(response.headers["Location"])
    assert landing.headers["Location"].endswith(f"/t/{topic.slug}/{topic.id}#post-2")
    assert notifications_of(ann)[0].read_at is not None
    assert bell(text(client.get("/"))) is None


def test_someone_elses_notification_is_a_404_and_stays_unread(client):
    ann, eve = make_user(), make_user()
    replied_to(ann)
    [n] = notifications_of(ann)
    login(client, eve)
    assert client.get(f"/notifications/{n.id}").status_code == 404
    token = csrf_token(client, "/notifications")
    assert client.post(f"/notifications/{n.id}/read", data={"csrf_token": token}).status_code == 404
    assert client.post("/notifications/read-all", data={"csrf_token": token}).status_code == 302
    assert notifications_of(ann)[0].read_at is None
    assert "My question about exports" not in text(client.get("/notifications"))


def test_mark_one_and_mark_all_read(client):
    ann = make_user()
    replied_to(ann, 3)
    first, *_ = notifications_of(ann)
    login(client, ann)
    token = csrf_token(client, "/notifications")
    assert client.post(f"/notifications/{first.id}/read", data={"csrf_token": token}).status_code == 302
    assert [n.read_at is not None for n in notifications_of(ann)] == [True, False, False]
    response = client.post("/notifications/read-all", data={"csrf_token": token}, follow_redirects=True)
    assert "Marked 2 notifications read." in text(response)
    assert all(n.read_at is not None for n in notifications_of(ann))


def test_reading_the_topic_marks_its_notifications_seen(client):
    ann = make_user()
    topic, _ = replied_to(ann, 2)
    login(client, ann)
    client.get(f"/t/{topic.slug}/{topic.id}")
    assert all(n.read_at is not None for n in notifications_of(ann))


# --- Watch buttons and the watching page ---------------------------------------------------------------------


def test_the_topic_page_has_a_watch_button_showing_the_level(client):
    ann = make_user()
    topic = make_topic(user=make_user())
    login(client, ann)
    html = text(client.get(f"/t/{topic.slug}/{topic.id}"))
    assert f'action="/t/{topic.id}/watch"' in html and ">Normal<span" in html
    token = csrf_token(client, f"/t/{topic.slug}/{topic.id}")
    response = client.post(f"/t/{topic.id}/watch", data={"csrf_token": token, "level": "watching"})
    assert response.status_code == 302 and response.headers["Location"] == f"/t/{topic.slug}/{topic.id}"
    assert db.session.get(TopicWatch, (ann.id, topic.id)).level == WatchLevel.WATCHING
    assert ">Watching<span" in text(client.get(f"/t/{topic.slug}/{topic.id}"))


def test_the_topic_button_shows_the_level_inherited_from_the_category(client):
    ann, category = make_user(), make_category()
    db.session.add(CategoryWatch(user_id=ann.id, category_id=category.id, level=WatchLevel.MUTED))
    db.session.commit()
    topic = make_topic(category, make_user())
    login(client, ann)
    assert ">Muted<span" in text(client.get(f"/t/{topic.slug}/{topic.id}"))


def test_the_category_page_has_a_watch_button(client):
    ann, category = make_user(), make_category()
    login(client, ann)
    assert f'action="/c/{category.slug}/watch"' in text(client.get(f"/c/{category.slug}"))
    token = csrf_token(client, f"/c/{category.slug}")
    response = client.post(f"/c/{category.slug}/watch", data={"csrf_token": token, "level": "watching"})
    assert response.status_code == 302
    assert db.session.get(CategoryWatch, (ann.id, category.id)).level == WatchLevel.WATCHING


def test_anonymous_readers_see_no_watch_button(client):
    topic = make_topic()
    assert "/watch" not in text(client.get(f"/t/{topic.slug}/{topic.id}"))


def test_a_tampered_level_is_a_400_and_an_invisible_topic_a_404(client):
    acme = make_organization()
    private = make_category(audience=Audience.ORGANIZATIONS, organizations=[acme])
    hidden = make_topic(private, make_user(organization_id=acme.id))
    topic = make_topic()
    login(client, make_user())
    token = csrf_token(client, "/notifications")
    assert client.post(f"/t/{topic.id}/watch", data={"csrf_token": token, "level": "loud"}).status_code == 400
    assert client.post(f"/t/{hidden.id}/watch", data={"csrf_token": token, "level": "watching"}).status_code == 404
    assert client.post(f"/c/{private.slug}/watch", data={"csrf_token": token, "level": "watching"}).status_code \
        == 404
    assert db.session.scalar(sa.select(sa.func.count()).select_from(TopicWatch).where(
        TopicWatch.topic_id.in_([topic.id, hidden.id]), TopicWatch.level != WatchLevel.TRACKING)) == 0


def test_the_watching_page_lists_what_i_watch_and_changes_it(client):
    ann, category = make_user(), make_category(name="Integrations")
    started = make_topic(category, ann, title="A topic I started")
    login(client, ann)
    token = csrf_token(client, "/watching")
    client.post(f"/c/{category.slug}/watch", data={"csrf_token": token, "level": "watching", "next": "/watching"})
    html = text(client.get("/watching"))
    assert "A topic I started" in html and "Integrations" in html
    response = client.post(f"/t/{started.id}/watch", data={"csrf_token": token, "level": "muted",
                                                          "next": "/watching"})
    assert response.headers["Location"] == "/watching"
    assert db.session.get(TopicWatch, (ann.id, started.id)).level == WatchLevel.MUTED
    evil = client.post(f"/t/{started.id}/watch", data={"csrf_token": token, "level": "muted",
                                                      "next": "https://evil.example/"})
    assert evil.headers["Location"] == f"/t/{started.slug}/{started.id}"


# --- Settings -----------------------------------------------------------------------------------------------------


def settings_data(token, **overrides):
    data = {"csrf_token": token, "digest_frequency": "weekly", "digest_hour": "7", "digest_weekday": "4",
            "email_mentioned": "immediately", "email_quoted": "immediately", "email_replied": "digest",
            "email_answer_accepted": "immediately", "email_official_answer": "off", "email_new_topic": "digest",
            "email_posted": "off"}
    from portal.notifications.kinds import KINDS

    for name, kind in KINDS.items():  # kinds other features register (moderation's) keep their defaults
        data.setdefault(f"email_{name}", kind.default_email.value)
    data.update(overrides)
    return data


def test_settings_show_the_defaults_and_save_choices(client):
    ann = make_user()
    login(client, ann)
    html = text(client.get("/settings/notifications"))
    assert re.search(r'<select[^>]*name="email_mentioned"[^>]*>.*?<option selected value="immediately">', html, re.S)
    assert re.search(r'<select[^>]*name="email_posted"[^>]*>.*?<option selected value="digest">', html, re.S)
    assert 'href="/settings/notifications"' in text(client.get("/settings"))  # linked from Settings
    token = csrf_token(client, "/settings/notifications")
    response = client.post("/settings/notifications", data=settings_data(token))
    assert response.status_code == 302
    modes = dict(db.session.execute(sa.select(EmailPreference.kind, EmailPreference.mode).where(
        EmailPreference.user_id == ann.id)).all())
    assert modes == {"replied": EmailMode.DIGEST, "official_answer": EmailMode.OFF, "posted": EmailMode.OFF}
    digest = db.session.get(DigestSettings, ann.id)
    assert (digest.frequency, digest.hour, digest.weekday) == (DigestFrequency.WEEKLY, 7, 4)
    # Back to the defaults: no rows left for the kinds.
    client.post("/settings/notifications", data=settings_data(token, email_replied="immediately",
                                                              email_official_answer="immediately",
                                                              email_posted="digest"))
    assert db.session.scalar(sa.select(sa.func.count()).select_from(EmailPreference)) == 0


def test_bad_settings_are_refused_with_clear_errors_and_nothing_lost(client):
    ann = make_user()
    login(client, ann)
    token = csrf_token(client, "/settings/notifications")
    response = client.post("/settings/notifications", data=settings_data(
        token, email_mentioned="loudly", digest_hour="25", email_replied="digest"))
    html = text(response)
    assert response.status_code == 422
    assert html.count("Not a valid choice.") == 2
    assert re.search(r'<select[^>]*name="email_replied"[^>]*>.*?<option selected value="digest">', html, re.S)
    assert re.search(r'<select[^>]*name="digest_frequency"[^>]*>.*?<option selected value="weekly">', html, re.S)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(EmailPreference)) == 0
    assert db.session.get(DigestSettings, ann.id) is None


# --- Unsubscribing --------------------------------------------------------------------------------------------


def test_an_unsubscribe_link_asks_first_then_turns_the_kind_off_signed_out(client):
    ann = make_user()
    token = unsubscribe_token(ann, "replied")
    page = client.get(f"/unsubscribe/{token}")
    assert page.status_code == 200
    assert "Stop getting emails for &ldquo;Someone replies to your topic&rdquo;?" in text(page)
    assert db.session.get(EmailPreference, (ann.id, "replied")) is None  # a GET changes nothing
    done = client.post(f"/unsubscribe/{token}")  # the page's button; no session, no CSRF token needed
    assert done.status_code == 200 and "You are unsubscribed" in text(done)
    assert db.session.get(EmailPreference, (ann.id, "replied")).mode == EmailMode.OFF
    replied_to(ann)
    assert notifications_of(ann)[0].email_status.value == "none"  # still on the site, no email


def test_rfc_8058_one_click_post_unsubscribes_with_csrf_on(app, client):
    assert app.config.get("WTF_CSRF_ENABLED", True)
    ann = make_user()
    response = client.post(f"/unsubscribe/{unsubscribe_token(ann, 'digest')}",
                           data={"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    assert db.session.get(DigestSettings, ann.id).frequency == DigestFrequency.OFF


@pytest.mark.parametrize("kind", ["forged", "expired"])
def test_bad_unsubscribe_links_get_a_clear_page_not_an_error(app, client, kind):
    ann = make_user()
    token = unsubscribe_token(ann, "replied")[:-3] + "abc" if kind == "forged" else old_token(app, ann, "replied", 120)
    for response in (client.get(f"/unsubscribe/{token}"), client.post(f"/unsubscribe/{token}")):
        assert response.status_code == 400
        html = text(response)
        assert ("has expired" if kind == "expired" else "isn’t valid" if "isn’t" in html else "isn&#39;t valid") \
            in html
        assert 'href="/settings/notifications"' in html and "<nav" in html  # the site's own page
    assert db.session.get(EmailPreference, (ann.id, "replied")) is None


def test_notify_made_rows_show_for_any_kind(client):
    ann = make_user()
    post = make_post(make_topic(user=make_user()), make_user(display_name="Staff Sam"))
    notify(ann, "answer_accepted", post, actor=post.user)
    db.session.commit()
    login(client, ann)
    assert "Staff Sam accepted your answer in" in text(client.get("/notifications"))


def test_a_notification_about_what_one_can_no_longer_see_shows_no_title_or_excerpt(client):
    from portal.forums import services as forums

    acme = make_organization()
    ann = make_user()
    moved, _ = replied_to(ann, 1, topic=make_topic(user=ann, title="Secret roadmap discussion"))
    deleted_topic = make_topic(user=ann, title="A reply that will be deleted")
    doomed = make_post(deleted_topic, make_user(), body="Soon gone: the excerpt must go too.")
    forums.move_topic(make_user(role=Role.STAFF), moved,
                      make_category(audience=Audience.ORGANIZATIONS, organizations=[acme]))
    forums.delete_post(doomed.user, doomed)
    db.session.commit()
    login(client, ann)
    html = text(client.get("/notifications"))
    assert "Secret roadmap discussion" not in html and "Soon gone" not in html
    assert html.count("a post that was deleted or that you can no longer see") == 2
