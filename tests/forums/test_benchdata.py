"""The forum bench generator: realistic rows whose denormalised counters match the rows exactly."""

from __future__ import annotations

import sqlalchemy as sa

from portal.accounts.models import User
from portal.content import RENDERER_VERSION, render_markdown
from portal.extensions import db
from portal.forums.models import (
    Audience,
    Category,
    CategoryKind,
    CategoryOrganization,
    Post,
    PostLike,
    Topic,
    TopicRead,
)
from portal.permissions import Role
from tests.factories import count_rows


def _load(runner) -> None:
    result = runner.invoke(args=["bench-data", "--scale", "0.05"])
    assert result.exit_code == 0, result.output
    db.session.commit()  # a new snapshot: the command wrote on its own connection


def test_bench_data_makes_categories_topics_and_posts(runner):
    _load(runner)
    assert count_rows(Category) == 8
    assert count_rows(Topic) == 40
    assert 300 <= count_rows(Post) <= 900
    assert count_rows(PostLike) > 0 and count_rows(TopicRead) > 0
    kinds = db.session.scalars(sa.select(Category.kind)).all()
    assert kinds.count(CategoryKind.QUESTIONS) == 1
    audiences = db.session.scalars(sa.select(Category.audience)).all()
    assert audiences.count(Audience.STAFF) == 1 and audiences.count(Audience.ORGANIZATIONS) == 1
    assert count_rows(CategoryOrganization) == 2
    # Every category has topics; whispers are by staff only.
    assert db.session.scalar(sa.select(sa.func.count()).where(Category.topic_count == 0)) == 0
    whisper_roles = set(db.session.scalars(
        sa.select(User.role).join(Post, Post.user_id == User.id).where(Post.is_whisper)
    ))
    assert whisper_roles <= {Role.STAFF, Role.ADMIN}
    # Accepted answers: only in the questions category, visible replies.
    answers = db.session.execute(
        sa.select(Post, Category.kind).join(Topic, Topic.accepted_post_id == Post.id)
        .join(Category, Category.id == Topic.category_id)
    ).all()
    for post, kind in answers:
        assert kind == CategoryKind.QUESTIONS
        assert post.number > 1 and not post.is_whisper and post.deleted_at is None


def test_bench_data_counters_match_the_rows(runner):
    _load(runner)
    p, u = Post.__table__.alias("p"), User.__table__.alias("u")
    visible = sa.and_(p.c.topic_id == Topic.id, p.c.is_whisper.is_(False), p.c.deleted_at.is_(None))
    q, r = Post.__table__.alias("q"), Post.__table__.alias("r")
    last_number = (sa.select(sa.func.max(r.c.number))
                   .where(r.c.topic_id == Topic.id, r.c.is_whisper.is_(False), r.c.deleted_at.is_(None))
                   .scalar_subquery())
    last = sa.and_(q.c.topic_id == Topic.id, q.c.number == last_number)
    expected = sa.select(
        Topic.id,
        sa.select(sa.func.count()).select_from(p).where(visible).scalar_subquery(),
        sa.select(sa.func.max(p.c.number)).where(p.c.topic_id == Topic.id).scalar_subquery(),
        sa.select(q.c.created_at).where(last).scalar_subquery(),
        sa.select(q.c.user_id).where(last).scalar_subquery(),
        sa.select(sa.func.min(p.c.created_at)).select_from(p.join(u, u.c.id == p.c.user_id))
        .where(p.c.topic_id == Topic.id, p.c.number > 1, p.c.is_whisper.is_(False),
               u.c.role.in_(["staff", "admin"])).scalar_subquery(),
    ).order_by(Topic.id)
    stored = sa.select(Topic.id, Topic.post_count, Topic.highest_post_number, Topic.last_post_at,
                       Topic.last_poster_id, Topic.first_staff_reply_at).order_by(Topic.id)
    expected_rows = [tuple(row) for row in db.session.execute(expected)]
    stored_rows = [tuple(row) for row in db.session.execute(stored)]
    assert len(stored_rows) == 40
    assert [r[:3] for r in stored_rows] == [r[:3] for r in expected_rows]
    # Datetimes: compare through the same column type (SQLite returns the subquery's raw text).
    stored_times = db.session.execute(sa.select(Topic.last_post_at, Topic.first_staff_reply_at)
                                      .order_by(Topic.id)).all()
    topics = db.session.scalars(sa.select(Topic).order_by(Topic.id)).all()
    staff_ids = set(db.session.scalars(sa.select(User.id).where(User.role.in_([Role.STAFF, Role.ADMIN]))))
    for topic, (last_post_at, first_staff) in zip(topics, stored_times, strict=True):
        posts = db.session.scalars(sa.select(Post).where(Post.topic_id == topic.id).order_by(Post.number)).all()
        assert [post.number for post in posts] == list(range(1, len(posts) + 1))
        shown = [post for post in posts if not post.is_whisper and post.deleted_at is None]
        assert last_post_at == shown[-1].created_at and topic.last_poster_id == shown[-1].user_id
        staff_replies = [post.created_at for post in posts
                         if post.number > 1 and not post.is_whisper and post.user_id in staff_ids]
        assert first_staff == (min(staff_replies) if staff_replies else None)
        assert topic.deleted_at == (posts[0].deleted_at if posts[0].deleted_at else None)
    assert any(t.first_staff_reply_at for t in topics)
    # Likes.
    like_counts = dict(db.session.execute(
        sa.select(PostLike.post_id, sa.func.count()).group_by(PostLike.post_id)
    ).all())
    for post_id, like_count in db.session.execute(sa.select(Post.id, Post.like_count)):
        assert like_count == like_counts.get(post_id, 0)
    # Categories: topics not deleted, the sum of their post counts, the newest of them.
    t = Topic.__table__.alias("t")
    live = sa.and_(t.c.category_id == Category.id, t.c.deleted_at.is_(None))
    rows = db.session.execute(sa.select(
        Category.topic_count, Category.post_count, Category.last_topic_id,
        sa.select(sa.func.count()).select_from(t).where(live).scalar_subquery(),
        sa.select(sa.func.coalesce(sa.func.sum(t.c.post_count), 0)).where(live).scalar_subquery(),
        sa.select(sa.func.max(t.c.id)).where(live).scalar_subquery(),
    )).all()
    assert len(rows) == 8
    for topic_count, post_count, last_topic_id, *recomputed in rows:
        assert (topic_count, post_count, last_topic_id) == tuple(recomputed)
    assert sum(r[1] for r in rows) == db.session.scalar(
        sa.select(sa.func.count()).select_from(Post).join(Topic, Topic.id == Post.topic_id)
        .where(Topic.deleted_at.is_(None), Post.is_whisper.is_(False), Post.deleted_at.is_(None))
    )
    # Read markers never pass the topic's highest number.
    assert db.session.scalar(
        sa.select(sa.func.count()).select_from(TopicRead).join(Topic, Topic.id == TopicRead.topic_id)
        .where(TopicRead.last_read_number > Topic.highest_post_number)
    ) == 0


def test_bench_data_post_html_is_rendered_markdown(runner):
    _load(runner)
    rows = db.session.execute(sa.select(Post.body, Post.body_html, Post.renderer_version)).all()
    assert rows
    rendered: dict[str, str] = {}
    for body, body_html, version in rows:
        assert version == RENDERER_VERSION
        assert body_html == rendered.setdefault(body, render_markdown(body))
