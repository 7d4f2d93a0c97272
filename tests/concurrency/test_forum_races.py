"""Forum races: many people replying to, and liking in, one topic at the same moment.

Post numbers come from one atomic UPDATE … RETURNING of the topic; counters change in SQL. These prove it under
50 real concurrent requests (gunicorn, 4 workers × 8 threads) on the suite's database.
"""

from __future__ import annotations

import sqlalchemy as sa

from portal.extensions import db
from portal.forums.models import Category, Post, PostLike, Topic
from tests.concurrency import LiveClient, run_together, statuses
from tests.concurrency.test_races import assert_no_server_errors
from tests.factories import PASSWORD, make_category, make_post, make_topic, make_user

N = 50


def _signed_in_client_factory(server, emails: list[str], token_path: str):
    """`prepare` for run_together: thread i signs in as emails[i] and reads a CSRF token from token_path."""

    def prepare(client: LiveClient) -> str:
        token = client.csrf_token("/signin")
        response = client.post("/signin", {"email": emails[client.index], "password": PASSWORD, "csrf_token": token})
        assert response.status == 302, f"sign-in {client.index}: HTTP {response.status}"
        return client.csrf_token(token_path)

    return prepare


def test_concurrent_replies_number_posts_exactly_and_count_them_once(concurrent_server):
    with concurrent_server.app().app_context():
        category = make_category()
        topic = make_topic(category, make_user(), title="One topic, fifty people replying")
        topic_id, category_id = topic.id, category.id
        emails = [make_user().email for _ in range(N)]
    path = f"/t/{topic_id}/reply"

    def reply(client, token):
        return client.post(path, {"body": f"Reply from racer {client.index}.", "action": "post", "csrf_token": token})

    responses = run_together(N, prepare=_signed_in_client_factory(concurrent_server, emails, path), act=reply,
                             base_url=concurrent_server.url)

    assert_no_server_errors(responses)
    assert statuses(responses) == {302: N}, statuses(responses)
    with concurrent_server.app().app_context():
        topic = db.session.get(Topic, topic_id)
        numbers = sorted(db.session.scalars(sa.select(Post.number).where(Post.topic_id == topic_id)))
        category = db.session.get(Category, category_id)
        assert numbers == list(range(1, N + 2))  # the first post, then 50 replies: no gaps, no duplicates
        assert topic.post_count == topic.highest_post_number == N + 1
        assert category.post_count == N + 1 and category.topic_count == 1
        bodies = set(db.session.scalars(sa.select(Post.body).where(Post.topic_id == topic_id, Post.number > 1)))
        assert bodies == {f"Reply from racer {i}." for i in range(N)}


def test_concurrent_likes_of_one_post_count_each_person_once(concurrent_server):
    with concurrent_server.app().app_context():
        topic = make_topic(make_category(), make_user(), title="A post everyone likes at once")
        post = make_post(topic, make_user(), body="Like me, all at once.")
        post_id, topic_path = post.id, f"/t/{topic.slug}/{topic.id}"
        emails = [make_user().email for _ in range(N)]
    path = f"/p/{post_id}/like"

    def like(client, token):
        return client.post(path, {"csrf_token": token})

    responses = run_together(N, prepare=_signed_in_client_factory(concurrent_server, emails, topic_path),
                             act=like, base_url=concurrent_server.url)

    assert_no_server_errors(responses)
    assert statuses(responses) == {302: N}, statuses(responses)
    with concurrent_server.app().app_context():
        likes = db.session.scalar(sa.select(sa.func.count()).select_from(PostLike).where(PostLike.post_id == post_id))
        assert likes == N
        assert db.session.get(Post, post_id).like_count == N
