"""Forum permissions for every persona, audience and posting right."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask_login import AnonymousUserMixin

from portal import permissions as p
from portal.accounts.models import User
from portal.db import utcnow
from portal.extensions import db
from portal.forums.models import Audience, CategoryKind, PostingRight
from portal.permissions import Role
from tests.factories import make_category, make_organization, make_post, make_topic, make_user, reload

PERSONAS = ["anonymous", "unverified", "customer", "member", "suspended", "staff", "admin"]


@pytest.fixture
def org(app):
    return make_organization()


@pytest.fixture
def people(app, org):
    """One of each persona; "member" is a customer of the organisation the category allows."""
    return {
        "anonymous": AnonymousUserMixin(),
        "unverified": make_user(verified=False),
        "customer": make_user(),
        "member": make_user(organization_id=org.id),
        "suspended": make_user(organization_id=org.id, suspended_until=utcnow() + timedelta(days=1)),
        "staff": make_user(role=Role.STAFF),
        "admin": make_user(role=Role.ADMIN),
    }


SEES = {
    Audience.EVERYONE: set(PERSONAS),
    Audience.SIGNED_IN: set(PERSONAS) - {"anonymous"},
    Audience.STAFF: {"staff", "admin"},
    Audience.ORGANIZATIONS: {"member", "suspended", "staff", "admin"},
}


@pytest.mark.parametrize("audience", list(Audience))
def test_can_see_category_per_audience(people, org, audience):
    category = make_category(audience=audience, organizations=[org] if audience == Audience.ORGANIZATIONS else ())
    category = reload(category)
    seen = {name for name, user in people.items() if p.can_see_category(user, category)}
    assert seen == SEES[audience]


def test_organization_category_refuses_a_customer_without_or_of_another_organisation(people, org):
    category = reload(make_category(audience=Audience.ORGANIZATIONS, organizations=[org]))
    other = make_user(organization_id=make_organization().id)
    assert not p.can_see_category(other, category)
    assert not p.can_see_category(people["customer"], category)


PARTICIPANTS = {"customer", "member", "staff", "admin"}


@pytest.mark.parametrize(
    ("audience", "can_start", "expected"),
    [
        (Audience.EVERYONE, PostingRight.SIGNED_IN, PARTICIPANTS),
        (Audience.EVERYONE, PostingRight.STAFF, {"staff", "admin"}),
        (Audience.SIGNED_IN, PostingRight.SIGNED_IN, PARTICIPANTS),
        (Audience.STAFF, PostingRight.SIGNED_IN, {"staff", "admin"}),
        (Audience.ORGANIZATIONS, PostingRight.SIGNED_IN, {"member", "staff", "admin"}),
        (Audience.ORGANIZATIONS, PostingRight.STAFF, {"staff", "admin"}),
    ],
)
def test_can_start_topic(people, org, audience, can_start, expected):
    category = reload(make_category(audience=audience, can_start=can_start, organizations=[org]))
    allowed = {name for name, user in people.items() if p.can_start_topic(user, category)}
    assert allowed == expected


@pytest.mark.parametrize(
    ("audience", "can_reply", "locked", "expected"),
    [
        (Audience.EVERYONE, PostingRight.SIGNED_IN, False, PARTICIPANTS),
        (Audience.EVERYONE, PostingRight.SIGNED_IN, True, {"staff", "admin"}),
        (Audience.EVERYONE, PostingRight.STAFF, False, {"staff", "admin"}),
        (Audience.STAFF, PostingRight.SIGNED_IN, False, {"staff", "admin"}),
        (Audience.ORGANIZATIONS, PostingRight.SIGNED_IN, False, {"member", "staff", "admin"}),
        (Audience.ORGANIZATIONS, PostingRight.SIGNED_IN, True, {"staff", "admin"}),
    ],
)
def test_can_reply(people, org, audience, can_reply, locked, expected):
    category = reload(make_category(audience=audience, can_reply=can_reply, organizations=[org]))
    topic = make_topic(category, people["staff"])
    topic.is_locked = locked
    allowed = {name for name, user in people.items() if p.can_reply(user, topic, category)}
    assert allowed == expected


def test_nobody_replies_to_a_deleted_topic(people):
    category = make_category()
    topic = make_topic(category, people["customer"])
    topic.deleted_at = utcnow()
    assert not any(p.can_reply(user, topic, category) for user in people.values())


@pytest.mark.parametrize("check", [p.can_see_whispers, p.can_whisper, p.can_mark_official, p.can_restore_post,
                                   p.can_moderate_topic])
def test_staff_only_permissions(people, check):
    assert {name for name, user in people.items() if check(user)} == {"staff", "admin"}


def test_whisper_readers_in_sql_agrees_with_can_see_whispers(people):
    """The topic page's statement decides in SQL who sees whispers (forums.queries._folded_page_of_posts)."""
    signed_in = {name: user for name, user in people.items() if name != "anonymous"}
    in_sql = dict(db.session.execute(
        sa.select(User.id, p.whisper_readers(User.role)).where(User.id.in_([u.id for u in signed_in.values()]))
    ).all())
    assert {name for name, user in signed_in.items() if in_sql[user.id]} == {"staff", "admin"}
    assert all(in_sql[user.id] == p.can_see_whispers(user) for user in signed_in.values())


def test_can_manage_categories_is_admin_only(people):
    assert {name for name, user in people.items() if p.can_manage_categories(user)} == {"admin"}


def test_can_accept_answer_is_the_asker_or_staff_in_question_categories(people):
    asker = people["customer"]
    questions = make_category(kind=CategoryKind.QUESTIONS)
    discussion = make_category(kind=CategoryKind.DISCUSSION)
    topic = make_topic(questions, asker)
    allowed = {name for name, user in people.items() if p.can_accept_answer(user, topic, questions)}
    assert allowed == {"customer", "staff", "admin"}
    assert not p.can_accept_answer(people["staff"], topic, discussion)
    assert not p.can_accept_answer(asker, topic, discussion)


def test_a_suspended_asker_cannot_accept(people):
    asker = people["suspended"]
    questions = make_category(kind=CategoryKind.QUESTIONS)
    topic = make_topic(questions, make_user())
    topic.user_id = asker.id
    assert not p.can_accept_answer(asker, topic, questions)


@pytest.mark.parametrize("check", [p.can_edit_post, p.can_delete_post])
def test_edit_and_delete_posts_the_author_or_staff(people, check):
    author = people["customer"]
    topic = make_topic(user=author)
    post = make_post(topic, author)
    allowed = {name for name, user in people.items() if check(user, post)}
    assert allowed == {"customer", "staff", "admin"}
    post.deleted_at = utcnow()
    allowed = {name for name, user in people.items() if check(user, post)}
    assert allowed == {"staff", "admin"}


def test_an_unverified_or_suspended_author_cannot_edit_their_post(people):
    for name in ("unverified", "suspended"):
        author = people[name]
        post = make_post(make_topic(), make_user())
        post.user_id = author.id
        assert not p.can_edit_post(author, post)


def test_can_like_others_posts_only(people):
    author = people["member"]
    post = make_post(make_topic(), author)
    allowed = {name for name, user in people.items() if p.can_like_post(user, post)}
    assert allowed == {"customer", "staff", "admin"}
    post.deleted_at = utcnow()
    assert not p.can_like_post(people["customer"], post)


def test_forum_permissions_are_template_globals(app):
    for name in ("can_see_category", "can_start_topic", "can_reply", "can_accept_answer", "can_like_post",
                 "can_manage_categories", "can_moderate_topic", "can_see_whispers"):
        assert name in p.TEMPLATE_PERMISSIONS
        assert app.jinja_env.globals[name] is getattr(p, name)
