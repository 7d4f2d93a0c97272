"""Flag races: many people flagging one post at the same moment hide it exactly once, in one review item."""

from __future__ import annotations

import sqlalchemy as sa

from portal.extensions import db
from portal.forums.models import Post
from portal.moderation.models import Flag, ReviewItem
from portal.notifications.models import Notification
from tests.concurrency import run_together, statuses
from tests.concurrency.test_forum_races import _signed_in_client_factory
from tests.concurrency.test_races import assert_no_server_errors
from tests.factories import make_post, make_topic, make_user

N = 20


def test_concurrent_flags_hide_a_post_once_and_tell_its_author_once(concurrent_server):
    with concurrent_server.app().app_context():
        topic = make_topic(title="A thread with one spam reply in it")
        spam = make_post(topic, make_user(), body="Buy cheap followers now, limited offer!")
        post_id, author_id = spam.id, spam.user_id
        emails = [make_user().email for _ in range(N)]
    path = f"/p/{post_id}/flag"

    def flag(client, token):
        return client.post(path, {"reason": "spam", "csrf_token": token})

    responses = run_together(N, prepare=_signed_in_client_factory(concurrent_server, emails, path), act=flag,
                             base_url=concurrent_server.url)

    assert_no_server_errors(responses)
    assert statuses(responses) == {302: N}, statuses(responses)
    with concurrent_server.app().app_context():
        assert db.session.get(Post, post_id).hidden_at is not None
        items = db.session.scalars(sa.select(ReviewItem).where(ReviewItem.post_id == post_id)).all()
        assert len(items) == 1 and items[0].flag_count == N
        assert db.session.scalar(sa.select(sa.func.count(Flag.id)).where(Flag.post_id == post_id)) == N
        hidden_notes = db.session.scalar(sa.select(sa.func.count(Notification.id)).where(
            Notification.user_id == author_id, Notification.kind == "post_hidden"))
        assert hidden_notes == 1


def test_moderators_approving_one_held_post_at_once_publish_it_once(concurrent_server):
    from portal.accounts.models import User
    from portal.moderation import approval
    from portal.moderation.models import HoldReason
    from portal.permissions import Role

    moderators = 8
    with concurrent_server.app().app_context():
        topic = make_topic(title="A thread a newcomer replies to")
        newbie = make_user()
        item = approval.hold_post(newbie, "My first reply, held.", "<p>My first reply, held.</p>",
                                  HoldReason.FIRST_POSTS, 0, topic_id=topic.id)
        db.session.commit()
        item_id, topic_id, author_id = item.id, topic.id, newbie.id
        emails = [make_user(role=Role.STAFF).email for _ in range(moderators)]
    path = f"/moderation/review/{item_id}/approve"

    def approve(client, token):
        return client.post(path, {"csrf_token": token})

    responses = run_together(moderators, prepare=_signed_in_client_factory(concurrent_server, emails,
                                                                           "/moderation/review"),
                             act=approve, base_url=concurrent_server.url)

    assert_no_server_errors(responses)
    assert statuses(responses) == {302: moderators}, statuses(responses)
    with concurrent_server.app().app_context():
        posts = db.session.scalars(sa.select(Post).where(Post.topic_id == topic_id, Post.user_id == author_id)).all()
        assert len(posts) == 1 and posts[0].number == 2
        assert db.session.get(ReviewItem, item_id).post_id == posts[0].id
        assert db.session.get(User, author_id).posts_awaiting_approval == 0
        approved_notes = db.session.scalar(sa.select(sa.func.count(Notification.id)).where(
            Notification.user_id == author_id, Notification.kind == "post_approved"))
        assert approved_notes == 1
