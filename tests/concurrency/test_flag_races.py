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
