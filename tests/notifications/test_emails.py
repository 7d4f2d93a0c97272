"""Notification email: the delay, the daily cap in the person's day, digests across time zones, unsubscribe
headers and tokens, nothing for rolled-back actions, and delivery through a real SMTP server.

Time travel: the jobs take `now`, and notifications are made with `now=` where the test needs a clock.
"""

from __future__ import annotations

import email
from datetime import UTC, datetime, timedelta
from email import policy

import pytest
import sqlalchemy as sa
from itsdangerous import URLSafeTimedSerializer

from portal.db import utcnow
from portal.extensions import db
from portal.forums.models import Audience
from portal.notifications.models import (
    DigestFrequency,
    DigestRun,
    DigestSettings,
    EmailMode,
    EmailStatus,
    Notification,
)
from portal.notifications.services import mark_read, notify, watching
from portal.notifications.services import preferences as prefs
from portal.notifications.services.emails import send_digests, send_due_emails
from portal.notifications.services.preferences import read_unsubscribe_token, unsubscribe_token
from portal.notifications.worker import deliver_due
from portal.permissions import Role
from tests.factories import count_rows, make_category, make_organization, make_post, make_topic, make_user
from tests.helpers import outbox
from tests.notifications.helpers import notifications_of
from tests.notifications.test_outbox import smtp_server  # noqa: F401  (the real SMTP server fixture)

pytestmark = pytest.mark.usefixtures("app")

DELAY = timedelta(minutes=10)


def reply_to_new_topic(author=None, **topic):
    author = author or make_user()
    t = make_topic(user=author, **topic)
    post = make_post(t, make_user(display_name="Rita Replier"), body="Try the **export** page.")
    return author, t, post


# --- The delay ------------------------------------------------------------------------------------------------


def test_an_immediate_email_waits_for_the_delay_then_goes_once(app):
    author, _topic, post = reply_to_new_topic(title="Exports stopped on Monday")
    [n] = notifications_of(author)
    assert n.email_due_at - n.created_at == DELAY
    assert send_due_emails(now=n.created_at + DELAY - timedelta(seconds=1)) == 0
    assert outbox("notification") == []
    assert send_due_emails(now=n.created_at + DELAY) == 1
    assert send_due_emails(now=n.created_at + DELAY + timedelta(minutes=5)) == 0  # claimed once
    [mail] = outbox("notification")
    assert mail.to_address == author.email
    assert mail.subject == "Rita Replier replied to your topic “Exports stopped on Monday”"
    assert f"http://portal.test/p/{post.id}" in mail.body_text and f"http://portal.test/p/{post.id}" in mail.body_html
    assert "Try the export page." in mail.body_text
    assert "http://portal.test/settings/notifications" in mail.body_text
    assert "http://portal.test/settings/notifications" in mail.body_html
    unsubscribe = mail.headers["List-Unsubscribe"]
    assert unsubscribe.startswith("<http://portal.test/unsubscribe/") and unsubscribe.endswith(">")
    assert mail.headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert unsubscribe[1:-1] in mail.body_text and unsubscribe[1:-1] in mail.body_html
    assert notifications_of(author)[0].email_status == EmailStatus.SENT


def test_the_delay_comes_from_config(app):
    app.config["EMAIL_DELAY_MINUTES"] = 2
    author, _, _ = reply_to_new_topic()
    [n] = notifications_of(author)
    assert n.email_due_at - n.created_at == timedelta(minutes=2)


def test_no_email_when_the_notification_was_seen_in_the_app_first():
    author, _, _ = reply_to_new_topic()
    [n] = notifications_of(author)
    mark_read(n)
    db.session.commit()
    assert send_due_emails(now=utcnow() + DELAY * 2) == 0
    assert outbox("notification") == []
    assert notifications_of(author)[0].email_status == EmailStatus.SEEN


def test_no_email_when_the_post_was_read_first():
    from portal.forums import services as forums

    author, topic, post = reply_to_new_topic()
    forums.advance_read_marker(author.id, topic.id, post.number)
    db.session.commit()
    assert send_due_emails(now=utcnow() + DELAY * 2) == 0
    assert outbox("notification") == []


def test_no_email_when_the_person_turned_the_kind_off():
    author = make_user()
    prefs.set_email_mode(author, "replied", EmailMode.OFF)
    db.session.commit()
    reply_to_new_topic(author)
    assert send_due_emails(now=utcnow() + DELAY * 2) == 0


def test_no_notification_and_no_email_for_a_rolled_back_action():
    from portal.forums import services as forums

    author = make_user()
    topic = make_topic(user=author)
    forums.create_post(make_user(), topic, "This reply is rolled back.")
    db.session.rollback()
    assert send_due_emails(now=utcnow() + DELAY * 2) == 0
    assert count_rows(Notification) == 0 and outbox("notification") == []


# --- The daily cap, in the person's day ---------------------------------------------------------------------------


def notify_at(user, when: datetime) -> Notification:
    post = make_post(make_topic(user=make_user()), make_user())
    made = notify(user, "mentioned", post, actor=post.user, now=when)
    db.session.commit()
    return made


def test_past_the_daily_cap_the_rest_goes_to_the_digest_and_the_last_mail_says_so(app):
    app.config["EMAIL_DAILY_CAP"] = 3
    ann = make_user()
    start = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    for i in range(5):
        notify_at(ann, start + timedelta(minutes=i))
    send_due_emails(now=start + timedelta(hours=1))
    mails = outbox("notification", to=ann.email)
    assert len(mails) == 3
    assert ["last notification email" in m.body_text for m in mails] == [False, False, True]
    assert "last notification email" in mails[-1].body_html
    statuses = [n.email_status for n in notifications_of(ann)]
    assert statuses == [EmailStatus.SENT] * 3 + [EmailStatus.DIGEST] * 2


def test_the_cap_counts_the_persons_own_day_not_the_servers(app):
    app.config["EMAIL_DAILY_CAP"] = 1
    tokyo, london = make_user(timezone="Asia/Tokyo"), make_user(timezone="Europe/London")
    first = datetime(2026, 12, 1, 14, 30, tzinfo=UTC)  # 23:30 in Tokyo on 1 Dec
    second = datetime(2026, 12, 1, 15, 30, tzinfo=UTC)  # 00:30 in Tokyo on 2 Dec; still 1 Dec in London
    for person in (tokyo, london):
        notify_at(person, first - DELAY)
    send_due_emails(now=first)
    assert len(outbox("notification", to=tokyo.email)) == len(outbox("notification", to=london.email)) == 1
    for person in (tokyo, london):
        notify_at(person, second - DELAY)
    send_due_emails(now=second)
    assert len(outbox("notification", to=tokyo.email)) == 2  # a new day in Tokyo
    assert len(outbox("notification", to=london.email)) == 1  # London's cap still holds
    assert notifications_of(london)[-1].email_status == EmailStatus.DIGEST


# --- Digests --------------------------------------------------------------------------------------------------


def digest_user(tz="UTC", frequency=DigestFrequency.DAILY, hour=8, weekday=0, seen_days_ago=1, **kw):
    user = make_user(timezone=tz, **kw)
    user.last_seen_at = utcnow() - timedelta(days=seen_days_ago)
    db.session.add(DigestSettings(user_id=user.id, frequency=frequency, hour=hour, weekday=weekday))
    db.session.commit()
    return user


def bystander():
    """Someone who takes part but gets no digest of their own (so tests count only the person's)."""
    return digest_user(frequency=DigestFrequency.OFF, display_name="Wendy Watcher")


def waiting_for_digest(user, subject="A watched topic gets a reply"):
    topic = make_topic(user=bystander(), title=subject)
    watching.set_topic_watch(user, topic, "watching")
    db.session.commit()
    make_post(topic, bystander())
    [n] = notifications_of(user, "posted")[-1:]
    assert n.email_status == (EmailStatus.DIGEST if user.is_verified else EmailStatus.NONE)
    return n


def digests_to(user) -> list:
    return outbox("digest", to=user.email)


def test_a_digest_goes_at_the_chosen_hour_in_each_persons_time_zone_once_per_day():
    new_york = digest_user("America/New_York", hour=8)
    paris = digest_user("Europe/Paris", hour=8)
    waiting_for_digest(new_york)
    waiting_for_digest(paris)
    day = datetime(2026, 12, 1, tzinfo=UTC)
    assert send_digests(now=day + timedelta(hours=6, minutes=55)) == 0  # 07:55 in Paris
    assert send_digests(now=day + timedelta(hours=7, minutes=5)) == 1  # 08:05 in Paris, 02:05 in New York
    assert [m.to_address for m in outbox("digest")] == [paris.email]
    assert send_digests(now=day + timedelta(hours=12, minutes=55)) == 0  # 07:55 in New York; Paris done today
    assert send_digests(now=day + timedelta(hours=13, minutes=5)) == 1  # 08:05 in New York
    assert send_digests(now=day + timedelta(hours=20)) == 0
    assert sorted(m.to_address for m in outbox("digest")) == sorted([paris.email, new_york.email])
    periods = set(db.session.scalars(sa.select(DigestRun.period)))
    assert periods == {"day:2026-12-01"}


def test_a_digest_says_what_waits_and_links_to_settings_and_unsubscribe():
    ann = digest_user()
    n = waiting_for_digest(ann, "Rotating API tokens every 90 days")
    assert send_digests(now=datetime(2026, 12, 1, 9, tzinfo=UTC)) == 1
    [mail] = outbox("digest")
    assert mail.subject == "Your daily digest: 1 notification"
    for body in (mail.body_text, mail.body_html):
        assert "Wendy Watcher posted in “Rotating API tokens every 90 days”" in body
        assert f"http://portal.test{n.url}" in body
        assert "http://portal.test/settings/notifications" in body
        assert "http://portal.test/unsubscribe/" in body
    assert mail.headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    user, kind = read_unsubscribe_token(mail.headers["List-Unsubscribe"][1:-1].rsplit("/", 1)[1])
    assert (user.id, kind) == (ann.id, "digest")
    assert notifications_of(ann, "posted")[0].email_status == EmailStatus.DIGESTED
    # What went out in one digest is not in the next.
    assert send_digests(now=datetime(2026, 12, 2, 9, tzinfo=UTC)) == 0


def test_weekly_digests_go_on_the_chosen_weekday_only():
    ann = digest_user(frequency=DigestFrequency.WEEKLY, hour=9, weekday=0)  # Mondays
    waiting_for_digest(ann)
    tuesday = datetime(2026, 12, 1, 10, tzinfo=UTC)
    assert send_digests(now=tuesday) == 0
    assert send_digests(now=datetime(2026, 12, 7, 8, 55, tzinfo=UTC)) == 0
    assert send_digests(now=datetime(2026, 12, 7, 9, 5, tzinfo=UTC)) == 1
    assert db.session.scalar(sa.select(DigestRun.period)) == "week:2026-W50"
    [mail] = outbox("digest")
    assert mail.subject.startswith("Your weekly digest")


def test_no_digest_when_there_is_nothing_in_it():
    digest_user()
    assert send_digests(now=datetime(2026, 12, 1, 9, tzinfo=UTC)) == 0
    assert outbox("digest") == []
    assert count_rows(DigestRun) == 1  # the period is done: not looked at again every ten minutes


def test_no_digest_for_someone_away_for_180_days_or_who_turned_it_off():
    away = digest_user(seen_days_ago=181)
    off = digest_user(frequency=DigestFrequency.OFF)
    unconfirmed = digest_user(verified=False)
    for person in (away, off, unconfirmed):
        waiting_for_digest(person)
    send_digests(now=utcnow() + timedelta(minutes=1) if utcnow().hour >= 8 else utcnow().replace(hour=8))
    assert digests_to(away) == digests_to(off) == digests_to(unconfirmed) == []


def test_defaults_apply_without_a_row(app):
    ann = make_user()
    ann.last_seen_at = utcnow()
    db.session.commit()
    waiting_for_digest(ann)
    hour = app.config["DIGEST_DEFAULT_HOUR"]
    assert send_digests(now=datetime(2026, 12, 1, hour - 1, 30, tzinfo=UTC)) == 0
    assert send_digests(now=datetime(2026, 12, 1, hour, 5, tzinfo=UTC)) == 1


def test_new_topics_in_watched_categories_have_their_own_section():
    ann = digest_user()
    category = make_category(name="Integrations")
    watching.set_category_watch(ann, category, "watching")
    db.session.commit()
    make_topic(category, digest_user(frequency=DigestFrequency.OFF, display_name="Nina New"),
               title="Webhooks for invoices")
    assert send_digests(now=utcnow() + timedelta(minutes=1) if utcnow().hour >= 8 else utcnow().replace(hour=8)) == 1
    [mail] = outbox("digest")
    assert "New topics in categories you watch" in mail.body_text
    assert "Webhooks for invoices (by Nina New)" in mail.body_text


def test_popular_topics_are_only_those_the_person_may_see_and_did_not_mute(app):
    acme = make_organization()
    ann = digest_user(seen_days_ago=2)
    public, private = make_category(), make_category(audience=Audience.ORGANIZATIONS, organizations=[acme])
    busy = make_topic(public, bystander(), title="A busy public thread")
    secret = make_topic(private, bystander(), title="A busy private thread")
    muted = make_topic(public, bystander(), title="A busy thread Ann muted")
    quiet = make_topic(public, bystander(), title="A thread with no replies")
    assert quiet
    watching.set_topic_watch(ann, muted, "muted")
    db.session.commit()
    for topic in (busy, secret, muted):
        for _ in range(3):
            make_post(topic, bystander())
    assert send_digests(now=utcnow() + timedelta(minutes=1) if utcnow().hour >= 8 else utcnow().replace(hour=8)) == 1
    [mail] = digests_to(ann)
    assert "Popular since your last visit" in mail.body_text
    assert "A busy public thread (3 replies" in mail.body_text
    assert "private" not in mail.body_text and "muted" not in mail.body_text
    assert "no replies" not in mail.body_text
    assert mail.subject == "Your daily digest: 1 popular topic"


def test_a_topic_the_person_was_told_about_is_not_popular_news_in_their_digest():
    ann = digest_user(seen_days_ago=2)
    n = waiting_for_digest(ann, "Rotating API tokens every 90 days")
    mark_read(n)  # she read it in the app
    db.session.commit()
    # The busiest topic Ann may see, but she has already been told of it: the digest has nothing new.
    assert send_digests(now=utcnow() + timedelta(minutes=1) if utcnow().hour >= 8 else utcnow().replace(hour=8)) == 0
    assert digests_to(ann) == []


# --- Unsubscribe tokens ----------------------------------------------------------------------------------------


def test_an_unsubscribe_token_names_one_person_and_one_kind():
    ann = make_user()
    user, kind = read_unsubscribe_token(unsubscribe_token(ann, "mentioned"))
    assert (user.id, kind) == (ann.id, "mentioned")


@pytest.mark.parametrize("make_token", [
    lambda app, user: unsubscribe_token(user, "mentioned")[:-2] + "xx",  # forged signature
    lambda app, user: URLSafeTimedSerializer(app.config["SECRET_KEY"], salt="another-purpose").dumps(
        {"u": user.id, "k": "mentioned"}),  # signed, but for something else
    lambda app, user: URLSafeTimedSerializer("not-our-key", salt=prefs.UNSUBSCRIBE_SALT).dumps(
        {"u": user.id, "k": "mentioned"}),
    lambda app, user: unsubscribe_token(user, "no-such-kind"),  # a kind that does not exist
    lambda app, user: unsubscribe_token(type("U", (), {"id": 987654})(), "mentioned"),  # no such person
    lambda app, user: "",
], ids=["forged", "other-salt", "other-key", "wrong-kind", "no-such-user", "empty"])
def test_bad_unsubscribe_tokens_are_invalid(app, make_token):
    token = make_token(app, make_user())
    with pytest.raises(prefs.UnsubscribeProblem) as problem:
        read_unsubscribe_token(token)
    assert problem.value.status == "invalid"


def old_token(app, user, kind: str, days: int) -> str:
    """A token signed `days` ago (itsdangerous reads the clock through get_timestamp)."""
    serializer = URLSafeTimedSerializer(app.config["SECRET_KEY"], salt=prefs.UNSUBSCRIBE_SALT)
    signer = serializer.make_signer()
    signer.get_timestamp = lambda: int(utcnow().timestamp()) - days * 86400
    return signer.sign(serializer.dump_payload({"u": user.id, "k": kind})).decode()


def test_an_old_unsubscribe_token_has_expired(app):
    ann = make_user()
    assert read_unsubscribe_token(old_token(app, ann, "mentioned", 89))[1] == "mentioned"
    with pytest.raises(prefs.UnsubscribeProblem) as problem:
        read_unsubscribe_token(old_token(app, ann, "mentioned", 91))
    assert problem.value.status == "expired"


# --- Through a real SMTP server -----------------------------------------------------------------------------------


@pytest.mark.smtp
def test_a_notification_email_is_delivered_with_both_parts_and_the_unsubscribe_headers(app, smtp_server):  # noqa: F811
    server = smtp_server()
    author, _, post = reply_to_new_topic(title="Delivered through SMTP")
    assert send_due_emails(now=utcnow() + DELAY) == 1
    assert deliver_due() == 1
    [received] = server.received
    assert received.rcpt_tos == [author.email]
    message = email.message_from_bytes(received.content, policy=policy.default)
    assert message["List-Unsubscribe"].startswith("<http://portal.test/unsubscribe/")
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message.get_content_type() == "multipart/alternative"
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert f"http://portal.test/p/{post.id}" in text and f"http://portal.test/p/{post.id}" in html
    assert "Delivered through SMTP" in text


# --- Checked again when it is time to send -------------------------------------------------------------------------


def test_no_email_about_a_post_deleted_before_the_email_was_due():
    from portal.forums import services as forums

    author, _, post = reply_to_new_topic()
    forums.delete_post(post.user, post)
    db.session.commit()
    assert send_due_emails(now=utcnow() + DELAY) == 0
    assert outbox("notification") == []
    assert notifications_of(author)[0].email_status == EmailStatus.NONE


def test_no_email_about_a_topic_moved_out_of_the_persons_sight():
    from portal.forums import services as forums

    acme = make_organization()
    author, topic, _ = reply_to_new_topic()
    forums.move_topic(make_user(role=Role.STAFF), topic,
                      make_category(audience=Audience.ORGANIZATIONS, organizations=[acme]))
    db.session.commit()
    assert send_due_emails(now=utcnow() + DELAY) == 0
    assert outbox("notification", to=author.email) == []


def test_a_digest_leaves_out_deleted_posts():
    from portal.forums import services as forums
    from portal.forums.models import Post

    ann = digest_user()
    n = waiting_for_digest(ann, "A reply that was deleted")
    doomed = db.session.get(Post, n.post_id)
    forums.delete_post(doomed.user, doomed)
    db.session.commit()
    send_digests(now=utcnow() + timedelta(minutes=1) if utcnow().hour >= 8 else utcnow().replace(hour=8))
    assert digests_to(ann) == []


def test_a_digest_leaves_out_topics_moved_out_of_sight():
    from portal.forums import services as forums
    from portal.forums.models import Topic

    acme = make_organization()
    ann = digest_user()
    n = waiting_for_digest(ann, "Moved to a private category")
    forums.move_topic(make_user(role=Role.STAFF), db.session.get(Topic, n.topic_id),
                      make_category(audience=Audience.ORGANIZATIONS, organizations=[acme]))
    db.session.commit()
    send_digests(now=utcnow() + timedelta(minutes=1) if utcnow().hour >= 8 else utcnow().replace(hour=8))
    assert digests_to(ann) == []
