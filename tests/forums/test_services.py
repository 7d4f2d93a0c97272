"""Thread engine rules without HTTP: categories, topics, posts, counters, edits, deletes, likes, answers, reads."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask_login import AnonymousUserMixin

from portal.content import RENDERER_VERSION
from portal.db import utcnow
from portal.errors import RuleViolation
from portal.extensions import db
from portal.forums import services as forums
from portal.forums.models import (
    Audience,
    Category,
    CategoryKind,
    Mention,
    Post,
    PostingRight,
    PostLike,
    PostRevision,
    Topic,
    TopicRead,
)
from portal.permissions import Role
from tests.factories import (
    count_rows,
    make_category,
    make_organization,
    make_post,
    make_topic,
    make_user,
    reload,
)
from tests.helpers import count_queries


def counts_from_rows(category: Category) -> tuple[int, int]:
    """A category's (topic_count, post_count) recomputed from the rows: what the stored counters must equal."""
    db.session.commit()
    topics = db.session.scalar(
        sa.select(sa.func.count()).where(Topic.category_id == category.id, Topic.deleted_at.is_(None))
    )
    posts = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(Post)
        .join(Topic, Post.topic_id == Topic.id)
        .where(
            Topic.category_id == category.id,
            Topic.deleted_at.is_(None),
            Post.deleted_at.is_(None),
            Post.is_whisper.is_(False),
        )
    )
    return topics, posts


def assert_counts(category: Category, topics: int, posts: int) -> None:
    category = reload(category)
    assert (category.topic_count, category.post_count) == (topics, posts)
    assert counts_from_rows(category) == (topics, posts)


# --- Categories -----------------------------------------------------------------------------------


def category_args(**overrides):
    values = {"name": "Product Q&A", "slug": "", "description": "Ask away", "kind": CategoryKind.QUESTIONS,
              "parent": None, "position": 2, "audience": Audience.EVERYONE, "can_start": PostingRight.SIGNED_IN,
              "can_reply": PostingRight.SIGNED_IN, "organization_ids": (), "actor": None}
    values.update(overrides)
    return values


def test_save_category_creates_with_derived_slug(app):
    category = forums.save_category(None, **category_args())
    db.session.commit()
    category = reload(category)
    assert category.slug == "product-q-a"
    assert (category.name, category.kind, category.position) == ("Product Q&A", CategoryKind.QUESTIONS, 2)
    assert (category.topic_count, category.post_count, category.last_topic_id) == (0, 0, None)


def test_save_category_updates_and_keeps_its_own_slug(app):
    category = make_category(slug="announcements")
    forums.save_category(category, **category_args(name="News", slug="announcements", kind="discussion"))
    db.session.commit()
    assert reload(category).name == "News"
    assert reload(category).kind == CategoryKind.DISCUSSION


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"name": "   "}, "name", "Enter a name"),
        ({"name": "x" * 81}, "name", "at most 80"),
        ({"slug": "Has Spaces"}, "slug", "lower-case"),
        ({"slug": "ünï"}, "slug", "lower-case"),
        ({"slug": "a" * 81}, "slug", "lower-case"),
        ({"name": "???", "slug": ""}, "slug", "lower-case"),
        ({"description": "d" * 501}, "description", "at most 500"),
        ({"kind": "blog"}, "kind", "Choose one"),
        ({"audience": "martians"}, "audience", "Choose one"),
        ({"can_start": "anyone"}, "can_start", "Choose one"),
        ({"can_reply": "anyone"}, "can_reply", "Choose one"),
        ({"audience": Audience.ORGANIZATIONS}, "organization_ids", "at least one"),
        ({"audience": Audience.ORGANIZATIONS, "organization_ids": [987654]}, "organization_ids", "from the list"),
    ],
)
def test_save_category_rejects_bad_input_per_field(app, overrides, field, message):
    with pytest.raises(RuleViolation) as info:
        forums.save_category(None, **category_args(**overrides))
    assert info.value.field == field
    assert message in info.value.message
    db.session.rollback()
    assert count_rows(Category) == 0


def test_save_category_upper_case_slug_is_lowered(app):
    assert forums.save_category(None, **category_args(slug="  Getting-Started ")).slug == "getting-started"


def test_save_category_refuses_a_taken_slug(app):
    make_category(slug="taken")
    with pytest.raises(RuleViolation) as info:
        forums.save_category(None, **category_args(slug="taken"))
    assert info.value.field == "slug"
    db.session.rollback()


def test_slug_unique_constraint_is_the_backstop(app):
    make_category(slug="dup")
    db.session.add(Category(name="Other", slug="dup"))
    with pytest.raises(sa.exc.IntegrityError):
        db.session.flush()
    db.session.rollback()


def test_categories_nest_one_level(app):
    top = make_category()
    child = forums.save_category(None, **category_args(name="Child", parent=top))
    db.session.commit()
    assert reload(child).parent_id == top.id
    with pytest.raises(RuleViolation) as info:
        forums.save_category(None, **category_args(name="Grandchild", parent=reload(child)))
    assert info.value.field == "parent"
    assert "one level" in info.value.message
    db.session.rollback()
    other = make_category()
    with pytest.raises(RuleViolation) as info:
        forums.save_category(reload(top), **category_args(name="Top", slug=top.slug, parent=other))
    assert "has subcategories" in info.value.message
    db.session.rollback()


def test_a_category_cannot_be_its_own_parent(app):
    category = make_category()
    with pytest.raises(RuleViolation) as info:
        forums.save_category(category, **category_args(slug=category.slug, parent=category))
    assert info.value.field == "parent"
    assert "own parent" in info.value.message
    db.session.rollback()


def test_organization_ids_are_kept_only_for_the_organizations_audience(app):
    a, b, c = make_organization(), make_organization(), make_organization()
    category = forums.save_category(
        None, **category_args(audience=Audience.ORGANIZATIONS, organization_ids=[a.id, b.id])
    )
    db.session.commit()
    assert reload(category).allowed_organization_ids == {a.id, b.id}
    forums.save_category(
        category, **category_args(slug=category.slug, audience="organizations", organization_ids=[b.id, c.id])
    )
    db.session.commit()
    assert reload(category).allowed_organization_ids == {b.id, c.id}
    forums.save_category(category, **category_args(slug=category.slug, organization_ids=[a.id]))
    db.session.commit()
    assert reload(category).allowed_organization_ids == frozenset()


def test_visible_category_ids_follow_can_see_category(app):
    from portal.permissions import can_see_category

    org = make_organization()
    categories = [
        make_category(audience=Audience.EVERYONE),
        make_category(audience=Audience.SIGNED_IN),
        make_category(audience=Audience.STAFF),
        make_category(audience=Audience.ORGANIZATIONS, organizations=[org]),
        make_category(audience=Audience.ORGANIZATIONS, organizations=[make_organization()]),
    ]
    people = [AnonymousUserMixin(), make_user(), make_user(organization_id=org.id), make_user(role=Role.STAFF),
              make_user(role=Role.ADMIN), make_user(verified=False)]
    db.session.commit()
    for user in people:
        in_sql = set(db.session.scalars(forums.visible_category_ids(user)))
        in_python = {c.id for c in categories if can_see_category(user, reload(c))}
        assert in_sql == in_python


# --- Topics and posts -----------------------------------------------------------------------------


def test_create_topic_makes_topic_and_first_post(app):
    user = make_user()
    category = make_category()
    topic = forums.create_topic(user, category, "  How do I export   reports? ", "I need a **CSV**.")
    db.session.commit()
    topic = reload(topic)
    assert topic.title == "How do I export reports?"
    assert (topic.post_count, topic.highest_post_number) == (1, 1)
    assert topic.last_poster_id == user.id
    assert topic.first_staff_reply_at is None
    [post] = db.session.scalars(sa.select(Post).where(Post.topic_id == topic.id))
    assert (post.number, post.user_id, post.body) == (1, user.id, "I need a **CSV**.")
    assert post.body_html == "<p>I need a <strong>CSV</strong>.</p>"
    assert post.renderer_version == RENDERER_VERSION
    category = reload(category)
    assert (category.topic_count, category.post_count, category.last_topic_id) == (1, 1, topic.id)


@pytest.mark.parametrize(
    ("title", "body", "field", "message"),
    [
        ("short", "A fine body", "title", "at least 8"),
        ("   seven  ", "A fine body", "title", "at least 8"),
        ("t" * 151, "A fine body", "title", "at most 150"),
        ("A good title", "x", "body", "at least 2"),
        ("A good title", "   \n  ", "body", "at least 2"),
        ("A good title", "b" * 50_001, "body", "at most 50,000"),
    ],
)
def test_create_topic_rejects_bad_input_per_field(app, title, body, field, message):
    user, category = make_user(), make_category()
    with pytest.raises(RuleViolation) as info:
        forums.create_topic(user, category, title, body)
    assert info.value.field == field
    assert message in info.value.message
    db.session.rollback()
    assert count_rows(Topic) == 0
    assert count_rows(Post) == 0


def test_limits_are_inclusive(app):
    topic = forums.create_topic(make_user(), make_category(), "t" * 150, "b" * 50_000)
    forums.create_post(make_user(), topic, "ok")
    db.session.commit()
    assert reload(topic).title == "t" * 150


def test_create_post_rejects_bad_body(app):
    topic = make_topic()
    for body in ("", "a", "b" * 50_001):
        with pytest.raises(RuleViolation) as info:
            forums.create_post(make_user(), topic, body)
        assert info.value.field == "body"
    db.session.rollback()
    assert reload(topic).highest_post_number == 1


def test_replies_and_whispers_number_and_count(app):
    customer, staff = make_user(), make_user(role=Role.STAFF)
    category = make_category()
    topic = make_topic(category, customer)
    reply = make_post(topic, customer)
    whisper = make_post(topic, staff, whisper=True)
    later = make_post(topic, make_user())
    assert [reply.number, whisper.number, later.number] == [2, 3, 4]
    topic = reload(topic)
    assert (topic.post_count, topic.highest_post_number) == (3, 4)
    assert topic.last_poster_id == later.user_id
    assert_counts(category, 1, 3)


def test_a_whisper_leaves_last_poster_and_time_alone(app):
    customer, staff = make_user(), make_user(role=Role.STAFF)
    topic = make_topic(user=customer)
    before = reload(topic).last_post_at
    forums.create_post(staff, reload(topic), "Only staff see this", whisper=True, now=before + timedelta(hours=1))
    db.session.commit()
    topic = reload(topic)
    assert (topic.last_poster_id, topic.last_post_at) == (customer.id, before)
    assert topic.first_staff_reply_at is None


def test_twenty_replies_in_a_loop_number_without_gaps(app):
    category = make_category()
    topic = make_topic(category)
    users = [make_user() for _ in range(4)]
    for i in range(20):
        forums.create_post(users[i % 4], topic, f"Reply {i}")
    db.session.commit()
    numbers = list(db.session.scalars(sa.select(Post.number).where(Post.topic_id == topic.id).order_by(Post.number)))
    assert numbers == list(range(1, 22))
    topic = reload(topic)
    assert (topic.post_count, topic.highest_post_number) == (21, 21)
    assert_counts(category, 1, 21)


def test_first_staff_reply_at_is_set_by_the_first_staff_reply_only(app):
    customer, staff, other_staff = make_user(), make_user(role=Role.STAFF), make_user(role=Role.ADMIN)
    topic = make_topic(user=customer)
    start = utcnow()
    forums.create_post(customer, topic, "Anyone?", now=start)
    forums.create_post(staff, topic, "A whisper first", whisper=True, now=start + timedelta(minutes=1))
    db.session.commit()
    assert reload(topic).first_staff_reply_at is None
    forums.create_post(staff, reload(topic), "Here is how", now=start + timedelta(minutes=2))
    forums.create_post(other_staff, reload(topic), "And also", now=start + timedelta(minutes=3))
    db.session.commit()
    assert reload(topic).first_staff_reply_at == start + timedelta(minutes=2)


def test_a_staff_authors_own_first_post_is_no_staff_reply(app):
    staff = make_user(role=Role.STAFF)
    topic = make_topic(user=staff)
    assert reload(topic).first_staff_reply_at is None
    make_post(topic, make_user())
    assert reload(topic).first_staff_reply_at is None
    make_post(topic, staff)
    assert reload(topic).first_staff_reply_at is not None


def test_only_staff_whisper(app):
    topic = make_topic()
    with pytest.raises(RuleViolation) as info:
        forums.create_post(make_user(), topic, "Psst, secret", whisper=True)
    assert "Only staff" in info.value.message
    db.session.rollback()
    assert reload(topic).highest_post_number == 1


def test_no_posts_in_a_deleted_topic(app):
    topic = make_topic()
    topic.deleted_at = utcnow()
    with pytest.raises(RuleViolation):
        forums.create_post(make_user(), topic, "Hello there")
    db.session.rollback()


# --- Mentions -------------------------------------------------------------------------------------


def mention(user) -> str:
    return f"@[{user.display_name}](/users/{user.id})"


def test_mentions_store_existing_users_once_never_the_author(app):
    author, ann, bob = make_user(), make_user(), make_user()
    topic = make_topic()
    body = f"Hi {mention(ann)} and {mention(bob)}, again {mention(ann)}; me {mention(author)}; @[X](/users/999999)"
    post = forums.create_post(author, topic, body)
    db.session.commit()
    stored = set(db.session.scalars(sa.select(Mention.user_id).where(Mention.post_id == post.id)))
    assert stored == {ann.id, bob.id}


def test_plain_at_names_are_not_mentions(app):
    ann = make_user(display_name="Ann")
    post = forums.create_post(make_user(), make_topic(), f"Thanks @Ann and @[Ann] and [Ann](/users/{ann.id})")
    db.session.commit()
    assert count_rows(Mention) == 0
    assert post.id


def test_mentions_are_limited_to_ten_per_post(app):
    users = [make_user() for _ in range(12)]
    post = forums.create_post(make_user(), make_topic(), " ".join(mention(u) for u in users))
    db.session.commit()
    stored = set(db.session.scalars(sa.select(Mention.user_id).where(Mention.post_id == post.id)))
    assert stored == {u.id for u in users[:10]}
    forums.edit_post(post.user, post, post.body + " and more")
    db.session.commit()
    assert count_rows(Mention) == 10


def test_an_edit_adds_new_mentions(app):
    ann, bob = make_user(), make_user()
    post = make_post(make_topic(), body=f"Hello {mention(ann)}")
    forums.edit_post(post.user, post, f"Hello {mention(ann)} and {mention(bob)}")
    db.session.commit()
    assert set(db.session.scalars(sa.select(Mention.user_id))) == {ann.id, bob.id}


# --- Edits ----------------------------------------------------------------------------------------


def test_edit_post_keeps_the_previous_body_as_a_revision(app):
    author, staff = make_user(), make_user(role=Role.STAFF)
    post = make_post(make_topic(), author, body="First version")
    forums.edit_post(author, post, "Second *version*")
    forums.edit_post(staff, post, "Third version")
    db.session.commit()
    post = reload(post)
    assert post.body == "Third version"
    assert post.body_html == "<p>Third version</p>"
    assert post.edited_at is not None
    revisions = list(db.session.scalars(sa.select(PostRevision).order_by(PostRevision.id)))
    assert [(r.user_id, r.body) for r in revisions] == [(author.id, "First version"), (staff.id, "Second *version*")]


def test_edit_post_refuses_nothing_changed_and_bad_bodies(app):
    post = make_post(make_topic(), body="Same text")
    for body, message in [("Same text", "Nothing changed"), ("Same text  \n", "Nothing changed"),
                          ("x", "at least 2"), ("y" * 50_001, "at most 50,000")]:
        with pytest.raises(RuleViolation) as info:
            forums.edit_post(post.user, post, body)
        assert info.value.field == "body"
        assert message in info.value.message
    db.session.rollback()
    assert count_rows(PostRevision) == 0


def test_a_deleted_post_cannot_be_edited(app):
    post = make_post(make_topic())
    forums.delete_post(post.user, post)
    with pytest.raises(RuleViolation):
        forums.edit_post(post.user, post, "New words")
    db.session.rollback()


# --- Soft deletes ---------------------------------------------------------------------------------


def test_delete_and_restore_a_reply_keep_counts_right(app):
    staff = make_user(role=Role.STAFF)
    category = make_category()
    topic = make_topic(category)
    reply = make_post(topic)
    whisper = make_post(topic, staff, whisper=True)
    assert_counts(category, 1, 2)

    assert forums.delete_post(staff, reload(reply))
    assert not forums.delete_post(staff, reload(reply))  # twice counts once
    db.session.commit()
    reply = reload(reply)
    assert reply.deleted_at is not None and reply.deleted_by_id == staff.id
    assert reload(topic).post_count == 1
    assert_counts(category, 1, 1)

    assert forums.delete_post(staff, reload(whisper))  # whispers were never counted
    db.session.commit()
    assert reload(topic).post_count == 1
    assert_counts(category, 1, 1)

    assert forums.restore_post(staff, reload(reply))
    assert not forums.restore_post(staff, reload(reply))
    db.session.commit()
    assert reload(reply).deleted_at is None and reload(reply).deleted_by_id is None
    assert reload(topic).post_count == 2
    assert_counts(category, 1, 2)


def test_deleting_the_first_post_deletes_the_topic_and_restoring_restores_it(app):
    staff = make_user(role=Role.STAFF)
    category = make_category()
    older = make_topic(category)
    topic = make_topic(category)
    make_post(topic)
    make_post(topic)
    first = db.session.scalar(sa.select(Post).where(Post.topic_id == topic.id, Post.number == 1))
    assert reload(category).last_topic_id == topic.id
    assert_counts(category, 2, 4)

    forums.delete_post(staff, first)
    db.session.commit()
    assert reload(topic).deleted_at is not None
    assert reload(topic).post_count == 2
    assert reload(category).last_topic_id == older.id
    assert_counts(category, 1, 1)

    forums.restore_post(staff, reload(first))
    db.session.commit()
    assert reload(topic).deleted_at is None
    assert reload(topic).post_count == 3
    assert reload(category).last_topic_id == topic.id
    assert_counts(category, 2, 4)


def test_replies_deleted_while_the_topic_is_deleted_keep_counts_right(app):
    staff = make_user(role=Role.STAFF)
    category = make_category()
    topic = make_topic(category)
    reply = make_post(topic)
    first = db.session.scalar(sa.select(Post).where(Post.topic_id == topic.id, Post.number == 1))
    forums.delete_post(staff, first)
    forums.delete_post(staff, reload(reply))
    db.session.commit()
    assert_counts(category, 0, 0)
    forums.restore_post(staff, reload(first))
    db.session.commit()
    assert reload(topic).post_count == 1
    assert_counts(category, 1, 1)


def test_deleting_the_accepted_answer_unaccepts_it(app):
    asker = make_user()
    topic = make_topic(make_category(kind=CategoryKind.QUESTIONS), asker)
    answer = make_post(topic)
    forums.accept_answer(asker, topic, answer)
    forums.delete_post(answer.user, answer)
    db.session.commit()
    assert reload(topic).accepted_post_id is None


# --- Likes ----------------------------------------------------------------------------------------


def test_toggle_like_likes_and_unlikes(app):
    fan = make_user()
    post = make_post(make_topic())
    assert forums.toggle_like(fan, post) is True
    db.session.commit()
    assert reload(post).like_count == 1
    assert forums.toggle_like(fan, reload(post)) is False
    db.session.commit()
    assert reload(post).like_count == 0
    assert count_rows(PostLike) == 0


def test_a_second_like_is_stopped_by_the_unique_constraint_and_counted_once(app):
    fan, other = make_user(), make_user()
    post = make_post(make_topic())
    assert forums.like_post(fan, post) is True
    assert forums.like_post(fan, post) is False  # the INSERT fails on the constraint; the savepoint rolls back
    assert forums.like_post(other, post) is True
    db.session.commit()
    assert reload(post).like_count == 2
    assert count_rows(PostLike) == 2
    assert forums.unlike_post(fan, post) is True
    assert forums.unlike_post(fan, post) is False
    db.session.commit()
    assert reload(post).like_count == 1


def test_no_likes_for_your_own_or_a_deleted_post(app):
    author = make_user()
    post = make_post(make_topic(), author)
    with pytest.raises(RuleViolation) as info:
        forums.toggle_like(author, post)
    assert "own post" in info.value.message
    forums.delete_post(author, post)
    with pytest.raises(RuleViolation):
        forums.like_post(make_user(), post)
    db.session.rollback()
    assert count_rows(PostLike) == 0


# --- Answers and official posts -------------------------------------------------------------------


def test_accept_answer_and_change_it(app):
    asker = make_user()
    topic = make_topic(make_category(kind=CategoryKind.QUESTIONS), asker)
    one, two = make_post(topic), make_post(topic)
    forums.accept_answer(asker, topic, one)
    db.session.commit()
    assert reload(topic).accepted_post_id == one.id
    forums.accept_answer(asker, reload(topic), reload(two))
    db.session.commit()
    assert reload(topic).accepted_post_id == two.id
    forums.unaccept_answer(asker, reload(topic))
    db.session.commit()
    assert reload(topic).accepted_post_id is None


def test_accept_answer_refuses_the_wrong_posts(app):
    staff = make_user(role=Role.STAFF)
    questions = make_category(kind=CategoryKind.QUESTIONS)
    topic = make_topic(questions)
    first = db.session.scalar(sa.select(Post).where(Post.topic_id == topic.id, Post.number == 1))
    elsewhere = make_post(make_topic(questions))
    whisper = make_post(topic, staff, whisper=True)
    deleted = make_post(topic)
    forums.delete_post(staff, deleted)
    for post, message in [(first, "own answer"), (elsewhere, "another topic"), (whisper, "whisper"),
                          (deleted, "deleted")]:
        with pytest.raises(RuleViolation) as info:
            forums.accept_answer(staff, topic, post)
        assert message in info.value.message
    discussion_topic = make_topic(make_category(kind=CategoryKind.DISCUSSION))
    with pytest.raises(RuleViolation) as info:
        forums.accept_answer(staff, discussion_topic, make_post(discussion_topic))
    assert "question categories" in info.value.message
    db.session.rollback()


def test_mark_official(app):
    staff = make_user(role=Role.STAFF)
    topic = make_topic()
    post = make_post(topic, staff)
    forums.mark_official(staff, post, True)
    db.session.commit()
    assert reload(post).is_official
    forums.mark_official(staff, reload(post), False)
    db.session.commit()
    assert not reload(post).is_official
    whisper = make_post(topic, staff, whisper=True)
    with pytest.raises(RuleViolation):
        forums.mark_official(staff, whisper, True)
    db.session.rollback()


# --- Moderation -----------------------------------------------------------------------------------


def test_pin_lock_and_assign(app):
    staff = make_user(role=Role.STAFF)
    topic = make_topic()
    forums.set_pinned(make_user(role=Role.STAFF), topic, True)
    forums.set_locked(make_user(role=Role.STAFF), topic, True)
    forums.assign_topic(make_user(role=Role.STAFF), topic, staff)
    db.session.commit()
    topic = reload(topic)
    assert (topic.is_pinned, topic.is_locked, topic.assignee_id) == (True, True, staff.id)
    forums.set_pinned(make_user(role=Role.STAFF), topic, False)
    forums.set_locked(make_user(role=Role.STAFF), topic, False)
    forums.assign_topic(make_user(role=Role.STAFF), topic, None)
    db.session.commit()
    topic = reload(topic)
    assert (topic.is_pinned, topic.is_locked, topic.assignee_id) == (False, False, None)


def test_topics_are_assigned_to_staff_only(app):
    topic = make_topic()
    with pytest.raises(RuleViolation) as info:
        forums.assign_topic(make_user(role=Role.STAFF), topic, make_user())
    assert info.value.field == "assignee"
    db.session.rollback()
    assert reload(topic).assignee_id is None


def test_move_topic_moves_counts_and_latest_topics(app):
    staff = make_user(role=Role.STAFF)
    source, target = make_category(), make_category()
    stays = make_topic(source)
    moving = make_topic(source)
    make_post(moving)
    make_post(moving, staff, whisper=True)
    already = make_topic(target)
    assert_counts(source, 2, 3)
    assert_counts(target, 1, 1)

    forums.move_topic(make_user(role=Role.STAFF), reload(moving), reload(target))
    db.session.commit()
    assert reload(moving).category_id == target.id
    assert_counts(source, 1, 1)
    assert_counts(target, 2, 3)
    assert reload(source).last_topic_id == stays.id
    assert reload(target).last_topic_id == already.id  # the newest topic, not the last one moved in

    forums.move_topic(make_user(role=Role.STAFF), reload(moving), reload(target))  # to where it is: nothing changes
    db.session.commit()
    assert_counts(target, 2, 3)

    forums.move_topic(make_user(role=Role.STAFF), reload(already), reload(source))
    db.session.commit()
    assert reload(source).last_topic_id == already.id
    assert reload(target).last_topic_id == moving.id


def test_moving_a_deleted_topic_leaves_counts_alone(app):
    staff = make_user(role=Role.STAFF)
    source, target = make_category(), make_category()
    topic = make_topic(source)
    first = db.session.scalar(sa.select(Post).where(Post.topic_id == topic.id))
    forums.delete_post(staff, first)
    forums.move_topic(make_user(role=Role.STAFF), reload(topic), target)
    db.session.commit()
    assert_counts(source, 0, 0)
    assert_counts(target, 0, 0)
    forums.restore_post(staff, reload(first))
    db.session.commit()
    assert_counts(target, 1, 1)


# --- Read markers ---------------------------------------------------------------------------------


def writes(log) -> list[str]:
    return [s for s in log.statements if s.upper().startswith(("INSERT", "UPDATE", "DELETE"))]


def test_mark_read_moves_forward_only_and_clamps(app):
    reader = make_user()
    topic = make_topic()
    for _ in range(4):
        make_post(topic)
    topic = reload(topic)  # highest_post_number 5
    assert forums.mark_read(reader, topic, 2) is True
    assert forums.mark_read(reader, topic, 4) is True
    db.session.commit()
    assert forums.last_read_number(reader, topic) == 4
    assert forums.mark_read(reader, topic, 99) is True
    db.session.commit()
    assert forums.last_read_number(reader, topic) == 5
    assert reload(topic).highest_post_number == 5


def test_mark_read_writes_nothing_when_it_does_not_move(app):
    reader = make_user()
    topic = make_topic()
    make_post(topic)
    make_post(topic)
    topic = reload(topic)
    forums.mark_read(reader, topic, 3)
    db.session.commit()
    topic, reader = reload(topic), reload(reader)
    with count_queries() as log:
        assert forums.mark_read(reader, topic, 2) is False
        assert forums.mark_read(reader, topic, 3) is False
        assert forums.mark_read(reader, topic, 50) is False  # clamped to 3
    assert writes(log) == [], str(log)
    with count_queries() as log:
        assert forums.mark_read(reader, topic, 3, known=3) is False
    assert log.count == 0, str(log)
    assert forums.last_read_number(reader, topic) == 3


def test_mark_read_upsert_itself_refuses_to_go_back(app):
    """If the caller's known marker is stale, the WHERE of the upsert still keeps the higher number."""
    reader = make_user()
    topic = make_topic()
    make_post(topic)
    make_post(topic)
    topic = reload(topic)
    forums.mark_read(reader, topic, 3)
    assert forums.mark_read(reader, topic, 2, known=0) is False
    db.session.commit()
    marker = db.session.get(TopicRead, (reader.id, topic.id))
    assert marker.last_read_number == 3


def test_mark_read_ignores_anonymous_readers(app):
    topic = make_topic()
    with count_queries() as log:
        assert forums.mark_read(AnonymousUserMixin(), topic, 1) is False
    assert log.count == 0
    assert count_rows(TopicRead) == 0


def test_move_category_swaps_with_its_sibling_and_refuses_past_the_ends(app):
    from portal.errors import RuleViolation
    from portal.forums.services import move_category

    a, b = make_category(name="A"), make_category(name="B")
    child = make_category(name="Child", parent_id=a.id)
    move_category(None, b, "up")
    assert (a.position, b.position) == (1, 0)
    for category, direction, message in ((b, "up", "B is already first."), (a, "down", "A is already last."),
                                         (child, "up", "Child is already first."), (a, "left", "up or down")):
        with pytest.raises(RuleViolation, match=message) as caught:
            move_category(None, category, direction)
        assert caught.value.field == "direction"


def test_deleting_the_last_reply_gives_the_topic_back_its_previous_last_activity(app):
    from portal.forums import services as forums_services

    asker, replier = make_user(), make_user()
    topic = make_topic(make_category(), asker)
    first_activity = reload(topic).last_post_at
    reply = make_post(topic, replier)
    assert reload(topic).last_poster_id == replier.id
    forums_services.delete_post(replier, reply)
    db.session.commit()
    topic = reload(topic)
    assert topic.last_poster_id == asker.id and topic.last_post_at == first_activity
    forums_services.restore_post(replier, reload(reply))
    db.session.commit()
    assert reload(topic).last_poster_id == replier.id
