"""`flask rebake`: re-render stored post HTML after the Markdown renderer changed (content.RENDERER_VERSION)."""

from __future__ import annotations

import click
import sqlalchemy as sa
from flask.cli import with_appcontext

from portal.content import RENDERER_VERSION, render_markdown
from portal.extensions import db
from portal.forums.models import Post

BATCH = 1_000


@click.command("rebake")
@click.option("--all", "everything", is_flag=True, help="Re-render every post, not only those of older renderers.")
@with_appcontext
def rebake_command(everything: bool) -> None:
    """Re-render body_html of posts rendered by an older renderer, in batches of 1,000 (each committed)."""
    posts = Post.__table__
    stale = sa.true() if everything else posts.c.renderer_version < RENDERER_VERSION
    update = (sa.update(posts).where(posts.c.id == sa.bindparam("pid"))
              .values(body_html=sa.bindparam("html"), renderer_version=RENDERER_VERSION))
    cache: dict[str, str] = {}  # many posts share a body (bench data above all): render each once per batch
    done, last_id = 0, 0
    with db.engine.connect() as conn:
        total = conn.execute(sa.select(sa.func.count()).select_from(posts).where(stale)).scalar_one()
        click.echo(f"{total:,} posts to re-render with renderer version {RENDERER_VERSION}.")
        while True:
            # Keyset pagination: the rows already rebaked no longer match (unless --all), and ids only grow.
            batch = conn.execute(
                sa.select(posts.c.id, posts.c.body).where(stale, posts.c.id > last_id).order_by(posts.c.id)
                .limit(BATCH)
            ).all()
            if not batch:
                break
            cache.clear()
            conn.execute(update, [
                {"pid": post_id, "html": cache.get(body) or cache.setdefault(body, render_markdown(body))}
                for post_id, body in batch
            ])
            conn.commit()
            done += len(batch)
            last_id = batch[-1].id
            click.echo(f"  {done:,} / {total:,}")
    click.echo(f"Re-rendered {done:,} posts.")
