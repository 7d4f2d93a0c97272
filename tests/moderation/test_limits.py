"""Newcomer posting limits: the interval, the daily topics, duplicates, the exemptions, and messages that say when."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from portal.accounts.models import User
from portal.db import utcnow
from portal.errors import RuleViolation
from portal.extensions import db
from portal.forums import services as forums
from portal.forums.models import Post, Topic
from portal.moderation.limits import check_posting_limits
from portal.permissions import Role
from tests.factories import login, make_category, make_topic, make_user, reload
from tests.forums.pages import post_form, text, topic_path


@pytest.fixture(autouse=True)
def _limits_on(app):
    """The suite runs with the limits off (TestingConfig); these tests have production's defaults."""
    from config import Config

    app.config.update({name: getattr(Config, name) for name in (
        "POST_INTERVAL_SECONDS", "NEW_USER_POST_INTERVAL_SECONDS", "DUPLICATE_POST_MINUTES",
        "NEW_USER_TOPICS_PER_DAY")})


def aged(user, hours: float):
    db.session.execute(sa.update(User).where(User.id == user.id).values(created_at=utcnow() - timedelta(hours=hours)))
    db.session.commit()
    return reload(user)


def backdate_posts(user, seconds: float) -> None:
    """Move the person's posts and topics `seconds` into the past (time travel, no sleeping)."""
    for row in [*db.session.scalars(sa.select(Post).where(Post.user_id == user.id)),
                *db.session.scalars(sa.select(Topic).where(Topic.user_id == user.id))]:
        row.created_at = row.created_at - timedelta(seconds=seconds)
    db.session.commit()


def test_new_accounts_wait_a_minute_between_posts_and_are_told_how_long(app):
    newbie = make_user()
    topic = make_topic()
    forums.create_post(newbie, topic, "My first reply here.")
    db.session.commit()
    with pytest.raises(RuleViolation, match=r"You can post again in (59|60) seconds: .*new members wait 60 seconds"):
        check_posting_limits(newbie, "A second reply.", new_topic=False)
    backdate_posts(newbie, 61)
    check_posting_limits(newbie, "A second reply.", new_topic=False)


def test_older_accounts_wait_ten_seconds(app):
    member = aged(make_user(), 48)
    forums.create_post(member, make_topic(), "A reply.")
    db.session.commit()
    with pytest.raises(RuleViolation, match="everyone waits 10 seconds"):
        check_posting_limits(member, "Another reply.", new_topic=False)
    backdate_posts(member, 11)
    check_posting_limits(member, "Another reply.", new_topic=False)


def test_the_same_words_twice_within_five_minutes_are_refused(app):
    member = aged(make_user(), 48)
    topic = make_topic(title="Where the words went first")
    forums.create_post(member, topic, "Has anyone tried the new API?")
    db.session.commit()
    backdate_posts(member, 60)
    with pytest.raises(RuleViolation, match="You posted exactly this a moment ago in “Where the words went first”"):
        check_posting_limits(member, "Has anyone tried the new API?", new_topic=False)
    check_posting_limits(member, "Has anyone tried the new API yet?", new_topic=False)
    backdate_posts(member, 300)
    check_posting_limits(member, "Has anyone tried the new API?", new_topic=False)


def test_new_accounts_start_five_topics_a_day(app):
    newbie = make_user()
    category = make_category()
    for n in range(5):
        forums.create_topic(newbie, category, f"Newcomer topic number {n}", f"Body {n}.")
        db.session.commit()
        backdate_posts(newbie, 120)
    with pytest.raises(RuleViolation, match="New members can start 5 topics a day, and you have started 5 today"):
        check_posting_limits(newbie, "A sixth topic body.", new_topic=True)
    check_posting_limits(newbie, "A reply is fine.", new_topic=False)
    grown_up = aged(newbie, 30)
    check_posting_limits(grown_up, "A sixth topic body.", new_topic=True)


def test_staff_and_trusted_customers_are_exempt(app):
    staff = make_user(role=Role.STAFF)
    topic = make_topic()
    forums.create_post(staff, topic, "Staff reply.")
    db.session.commit()
    check_posting_limits(staff, "Staff reply.", new_topic=False)  # no interval, no duplicate check

    regular = aged(make_user(), 30)
    for n in range(5):
        forums.create_post(regular, topic, f"Helpful reply {n}.")
    db.session.commit()
    check_posting_limits(regular, "Helpful reply 4.", new_topic=True)  # trusted: no interval, no duplicate check


def test_a_new_account_is_not_trusted_on_its_first_day_whatever_it_posts(app):
    newbie = make_user()
    topic = make_topic()
    for n in range(6):
        forums.create_post(newbie, topic, f"Eager reply {n}.")
    db.session.commit()
    with pytest.raises(RuleViolation, match="new members wait 60 seconds"):
        check_posting_limits(newbie, "One more.", new_topic=False)


def test_a_refused_reply_keeps_what_was_typed(client):
    newbie = make_user()
    topic = make_topic(title="A topic to reply to quickly")
    login(client, newbie)
    assert post_form(client, f"/t/{topic.id}/reply", {"body": "First quick reply.", "action": "post"}).status_code \
        == 302
    response = post_form(client, f"/t/{topic.id}/reply", {"body": "Second quick reply, typed carefully.",
                                                          "action": "post"})
    assert response.status_code == 422
    page = text(response)
    assert "You can post again in" in page and "Second quick reply, typed carefully." in page
    assert "Second quick reply" not in text(client.get(topic_path(topic)))


def test_a_refused_topic_keeps_title_and_body(client):
    newbie = make_user()
    category = make_category(slug="limits-cat")
    for n in range(5):
        forums.create_topic(newbie, category, f"Earlier topic number {n}", f"Body {n}.")
    db.session.commit()
    backdate_posts(newbie, 120)
    login(client, newbie)
    response = post_form(client, "/new", {"category": "limits-cat", "title": "One topic too many today",
                                          "body": "The body I typed.", "action": "post"})
    assert response.status_code == 422
    page = text(response)
    assert "New members can start 5 topics a day" in page
    assert 'value="One topic too many today"' in page and "The body I typed." in page
