"""`flask rebake`: stale post HTML is re-rendered; current posts are left alone unless --all."""

from __future__ import annotations

import sqlalchemy as sa

from portal.content import RENDERER_VERSION, render_markdown
from portal.extensions import db
from portal.forums.models import Post
from tests.factories import make_post, make_topic


def _stale(post_ids: list[int]) -> None:
    db.session.execute(sa.update(Post).where(Post.id.in_(post_ids))
                       .values(renderer_version=0, body_html="<p>corrupt</p>"))
    db.session.commit()


def _rows() -> dict[int, tuple[str, str, int]]:
    db.session.commit()  # a new snapshot: the command wrote on its own connection
    return {row.id: (row.body, row.body_html, row.renderer_version)
            for row in db.session.execute(sa.select(Post.id, Post.body, Post.body_html, Post.renderer_version))}


def test_rebake_re_renders_only_posts_of_older_renderers(runner):
    topic = make_topic(body="Some **bold** text")
    replies = [make_post(topic, body=f"Reply *{i}* with https://example.com/{i}") for i in range(3)]
    stale = [replies[0].id, replies[2].id]
    current = replies[1].id
    _stale(stale)
    db.session.execute(sa.update(Post).where(Post.id == current).values(body_html="<p>kept as is</p>"))
    db.session.commit()

    result = runner.invoke(args=["rebake"])
    assert result.exit_code == 0, result.output
    assert "2 posts to re-render" in result.output and "Re-rendered 2 posts." in result.output
    rows = _rows()
    for post_id in stale:
        body, body_html, version = rows[post_id]
        assert body_html == render_markdown(body) and version == RENDERER_VERSION
    assert rows[current][1] == "<p>kept as is</p>"  # current version: untouched

    again = runner.invoke(args=["rebake"])  # idempotent: nothing left to do
    assert again.exit_code == 0, again.output
    assert "Re-rendered 0 posts." in again.output
    assert _rows() == rows


def test_rebake_all_re_renders_every_post(runner):
    topic = make_topic(body="A list:\n\n- one\n- two")
    make_post(topic, body="Reply with `code`")
    db.session.execute(sa.update(Post).values(body_html="<p>corrupt</p>"))
    db.session.commit()

    result = runner.invoke(args=["rebake", "--all"])
    assert result.exit_code == 0, result.output
    assert "Re-rendered 2 posts." in result.output
    for body, body_html, version in _rows().values():
        assert body_html == render_markdown(body) and version == RENDERER_VERSION


def test_rebake_works_in_batches(runner, monkeypatch):
    from portal.forums import cli

    monkeypatch.setattr(cli, "BATCH", 2)
    topic = make_topic()
    for i in range(4):
        make_post(topic, body=f"Reply number {i}")
    _stale(list(_rows()))

    result = runner.invoke(args=["rebake"])
    assert result.exit_code == 0, result.output
    assert "2 / 5" in result.output and "4 / 5" in result.output and "5 / 5" in result.output
    for body, body_html, version in _rows().values():
        assert body_html == render_markdown(body) and version == RENDERER_VERSION
