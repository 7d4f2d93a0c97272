"""The topic page's kept post fragments (portal/forums/stream.py): whatever changes what a post shows gives the
next reader new markup, each viewer gets their own rights and CSRF token, and the marks never reach a page."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from portal.db import utcnow
from portal.extensions import db
from portal.forums import services as forums
from portal.forums import stream
from portal.forums.models import CategoryKind, Post
from portal.permissions import Role
from tests.factories import login, make_category, make_post, make_topic, make_user, reload
from tests.forums.pages import raw, text, topic_path


@pytest.fixture(autouse=True)
def _fragments_are_kept(app):
    """These tests are about the kept fragments: make sure they are on, and start from none."""
    assert not app.jinja_env.auto_reload
    stream._render_kept.cache_clear()


def article(response, number: int) -> str:
    match = re.search(rf'<article [^>]*id="post-{number}".*?</article>', raw(response), re.S)
    assert match, f"no post #{number}"
    return match.group(0)


def tokens(response) -> set[str]:
    return set(re.findall(r'name="csrf_token" value="([^"]*)"', raw(response)))


def test_a_second_reader_gets_the_kept_fragment_and_the_same_markup(app, client):
    topic = make_topic(title="Kept fragments for readers")
    make_post(topic, body="A reply worth reading twice.")
    first = client.get(topic_path(topic))
    hits = stream._render_kept.cache_info().hits
    second = app.test_client().get(topic_path(topic))
    assert stream._render_kept.cache_info().hits >= hits + 2  # both posts, without rendering
    assert article(first, 2) == article(second, 2)


def test_likes_edits_renames_and_deletes_show_at_once(client):
    author, reader, liker = make_user(display_name="Original Name"), make_user(), make_user()
    topic = make_topic(title="Things that change a post")
    reply = make_post(topic, author, body="The first wording.")
    login(client, reader)
    assert "The first wording." in text(client.get(topic_path(topic)))

    forums.toggle_like(liker, reload(reply))
    db.session.commit()
    assert "1 like" in article(client.get(topic_path(topic)), 2)

    forums.edit_post(author, reload(reply), "The second wording.")
    db.session.commit()
    page = client.get(topic_path(topic))
    assert "The second wording." in text(page) and "The first wording." not in text(page)
    assert ">edited<" in article(page, 2)

    db.session.execute(sa.update(type(author)).where(type(author).id == author.id).values(display_name="New Name"))
    db.session.commit()
    assert "New Name" in article(client.get(topic_path(topic)), 2)

    forums.delete_post(author, reload(reply))
    db.session.commit()
    page = article(client.get(topic_path(topic)), 2)
    assert "Post deleted." in page and "The second wording." not in page


def test_relative_times_move_on(client):
    topic = make_topic(title="Time passes for posts")
    reply = make_post(topic, body="Written a while ago.")
    assert "just now" in article(client.get(topic_path(topic)), 2)
    db.session.execute(sa.update(Post).where(Post.id == reply.id).values(created_at=utcnow() - timedelta(hours=3)))
    db.session.commit()
    assert "3 h ago" in article(client.get(topic_path(topic)), 2)


def test_each_viewer_gets_their_own_rights_whoever_came_first(app):
    asker = make_user()
    questions = make_category(kind=CategoryKind.QUESTIONS)
    topic = make_topic(questions, asker, title="Who sees which buttons")
    make_post(topic, make_user(), body="An answer to accept.")
    staff, customer, anonymous = app.test_client(), app.test_client(), app.test_client()
    login(staff, make_user(role=Role.STAFF))
    login(customer, make_user())

    staff_view = article(staff.get(topic_path(topic)), 2)
    assert "Mark official" in staff_view and "Accept as answer" in staff_view and ">Edit<" in staff_view

    customer_view = article(customer.get(topic_path(topic)), 2)
    assert "Mark official" not in customer_view and "Accept as answer" not in customer_view
    assert ">Edit<" not in customer_view and "Like" in customer_view

    anonymous_view = article(anonymous.get(topic_path(topic)), 2)
    assert "<form" not in anonymous_view and "csrf_token" not in anonymous_view

    asker_client = app.test_client()
    login(asker_client, asker)
    assert "Accept as answer" in article(asker_client.get(topic_path(topic)), 2)


def test_each_page_carries_the_viewers_own_token_and_no_mark(app):
    topic = make_topic(title="Tokens and marks in pages")
    make_post(topic, body="Something to like.")
    first, second = app.test_client(), app.test_client()
    login(first, make_user(role=Role.STAFF))
    login(second, make_user(role=Role.STAFF))
    page_one, page_two = first.get(topic_path(topic)), second.get(topic_path(topic))
    for page in (page_one, page_two):
        assert str(stream.BODY_MARK) not in raw(page) and str(stream.TOKEN_MARK) not in raw(page)
        assert len(tokens(page)) == 1 and "" not in tokens(page)  # one token, filled in everywhere
    # The like form works with the token on one's own page, and not with another person's.
    (token,) = tokens(page_one)
    (other,) = tokens(page_two)
    like_path = re.search(r'action="(/p/\d+/like)"', article(page_one, 2)).group(1)
    assert first.post(like_path, data={"csrf_token": other}).status_code == 400
    assert first.post(like_path, data={"csrf_token": token}).status_code == 302


def test_a_deleted_post_shown_to_staff_keeps_its_body_and_no_mark(app):
    topic = make_topic(title="Deleted posts for staff")
    reply = make_post(topic, body="Said and then deleted.")
    forums.delete_post(reply.user, reload(reply))
    db.session.commit()
    staff = app.test_client()
    login(staff, make_user(role=Role.STAFF))
    page = staff.get(topic_path(topic))
    shown = article(page, 2)
    assert "Show what it said" in shown and "Said and then deleted." in shown and "Restore" in shown
    assert str(stream.BODY_MARK) not in raw(page) and str(stream.TOKEN_MARK) not in raw(page)


def test_user_text_that_looks_like_a_mark_stays_text(client):
    mark = str(stream.BODY_MARK)
    author = make_user(display_name=f"Eve {mark}")
    topic = make_topic(title="Marks in names and bodies")
    make_post(topic, author, body=f"A body that mentions {mark} as text.")
    shown = article(client.get(topic_path(topic)), 2)
    assert shown.count("A body that mentions") == 1
    assert "Eve &lt;!--post-body--&gt;" in shown


def test_each_viewer_sees_their_own_likes_read_with_the_posts(app):
    from portal.forums.queries import POSTS_PER_PAGE

    asker, liker, other = make_user(), make_user(), make_user()
    topic = make_topic(make_category(kind=CategoryKind.QUESTIONS), asker, title="Likes read with the posts")
    replies = [make_post(topic, make_user(), body=f"Answer number {n}.") for n in range(POSTS_PER_PAGE + 2)]
    answer = replies[-1]  # on page 2: page 1 shows its copy under the question, read by a statement of its own
    forums.accept_answer(asker, reload(topic), reload(answer))
    forums.toggle_like(liker, reload(replies[0]))
    forums.toggle_like(liker, reload(answer))
    forums.toggle_like(other, reload(replies[1]))
    db.session.commit()
    liker_client, other_client = app.test_client(), app.test_client()
    login(liker_client, liker)
    login(other_client, other)

    def pressed(response, number):
        return 'aria-pressed="true"' in article(response, number)

    for client, mine, theirs in ((liker_client, 2, 3), (other_client, 3, 2)):
        page = client.get(topic_path(topic))
        assert pressed(page, mine) and not pressed(page, theirs)
        copy = re.search(r'<section class="accepted-answer.*?</section>', raw(page), re.S).group(0)
        assert "Answer number 21." in copy
    last = topic_path(topic) + "?page=2"
    assert pressed(liker_client.get(last), answer.number) and not pressed(other_client.get(last), answer.number)
    assert not pressed(app.test_client().get(last), answer.number)  # signed out: nothing is "liked"


def _like_many(user, count: int) -> None:
    """`user` likes `count` posts of another topic, in bulk (one statement each for the posts and the likes)."""
    from portal.content import RENDERER_VERSION
    from portal.db import utcnow as now
    from portal.forums.models import PostLike

    elsewhere = make_topic(make_category(), title="Where the heavy liker likes things")
    author = make_user()
    db.session.execute(sa.insert(Post), [
        {"topic_id": elsewhere.id, "number": n, "user_id": author.id, "body": "x", "body_html": "<p>x</p>",
         "renderer_version": RENDERER_VERSION, "created_at": now(), "like_count": 1} for n in range(2, count + 2)
    ])
    ids = db.session.scalars(sa.select(Post.id).where(Post.topic_id == elsewhere.id, Post.number > 1)).all()
    db.session.execute(sa.insert(PostLike), [{"post_id": i, "user_id": user.id, "created_at": now()} for i in ids])
    db.session.commit()


def test_a_heavy_likers_likes_are_probed_per_post_not_all_read(app):
    from portal.forums import queries
    from tests.conftest import BACKEND

    liker, others = make_user(), make_user()
    topic = make_topic(make_category(), title="Read by someone who likes a lot")
    posts = [make_post(topic, make_user()) for _ in range(12)]
    liked, unliked = posts[0], posts[1]
    for post in posts:  # every post has a like to look for
        forums.toggle_like(others, reload(post))
    forums.toggle_like(liker, reload(liked))
    db.session.commit()
    _like_many(liker, 400)
    client = app.test_client()
    login(client, liker)
    page = client.get(topic_path(topic))
    assert 'aria-pressed="true"' in article(page, liked.number)
    assert 'aria-pressed="true"' not in article(page, unliked.number)
    if BACKEND == "postgres":
        # Without its OFFSET 0 PostgreSQL hashes every like the viewer gave (ix_post_likes_user_id) on each page.
        db.session.execute(sa.text("ANALYZE post_likes"))
        db.session.execute(sa.text("ANALYZE posts"))
        conn = db.session.connection()
        compiled = queries._PAGE_OF_POSTS[(False, True)].compile(dialect=conn.dialect)
        params = {**compiled.params, "viewer_id": liker.id, "topic_id": topic.id, "limit": 20, "offset": 0}
        plan = "\n".join(conn.exec_driver_sql(f"EXPLAIN {compiled}", params).scalars())
        assert "uq_post_likes_post_id_user_id" in plan and "ix_post_likes_user_id" not in plan, plan


class _Recording:
    """A post that notes which of its attributes are read."""

    def __init__(self, **values):
        self._values, self.read = values, set()

    def __getattr__(self, name):
        self.read.add(name)
        return self._values[name]


@pytest.mark.parametrize("role", [Role.CUSTOMER, Role.STAFF, Role.ADMIN])
@pytest.mark.parametrize("suspended", [False, True])
def test_the_post_rights_rules_read_only_what_the_page_groups_posts_by(app, role, suspended):
    """The topic page works each post's flag/like/edit/delete rights out once per (own, deleted) combination: the
    rules must read nothing else of a post, whatever the viewer."""
    viewer = make_user(role=role)
    if suspended:
        viewer.suspended_until = utcnow() + timedelta(days=1)
    db.session.commit()
    other = make_user()
    for author, deleted in ((viewer, None), (other, None), (viewer, utcnow()), (other, utcnow())):
        post = _Recording(id=1, number=2, user_id=author.id, deleted_at=deleted, is_whisper=True, hidden_at=utcnow(),
                          like_count=3, is_official=True, topic_id=1)
        stream._post_rights(viewer, post)
        assert post.read <= set(stream.POST_RIGHTS_READ), post.read
