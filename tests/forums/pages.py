"""Helpers for the forum page tests: reading pages, posting forms with a CSRF token, moving time."""

from __future__ import annotations

import html
import re
from datetime import timedelta
from html.parser import HTMLParser

import sqlalchemy as sa

from portal.db import utcnow
from portal.extensions import db
from portal.forums.models import Topic
from tests.helpers import csrf_token


def text(response) -> str:
    """The page as a person reads it: entities decoded."""
    return html.unescape(response.get_data(as_text=True))


def raw(response) -> str:
    return response.get_data(as_text=True)


def topic_path(topic: Topic, page: int | None = None) -> str:
    return f"/t/{topic.slug}/{topic.id}" + (f"?page={page}" if page else "")


def post_form(client, path: str, data: dict | None = None, **kwargs):
    """POST a form as the signed-in person, with a valid CSRF token for their session."""
    payload = {"csrf_token": csrf_token(client, "/settings"), **(data or {})}
    return client.post(path, data=payload, **kwargs)


def active_minutes_ago(topic: Topic, minutes: int) -> None:
    """Backdate a topic's last activity, so list order doesn't hang on microseconds."""
    db.session.execute(
        sa.update(Topic).where(Topic.id == topic.id).values(last_post_at=utcnow() - timedelta(minutes=minutes))
    )
    db.session.commit()


def titles_in_order(response) -> list[str]:
    """The topic titles of a topic list, top to bottom."""
    return [html.unescape(t) for t in re.findall(r'class="topic-title[^"]*" href="[^"]*">([^<]*)</a>', raw(response))]


def row_of(response, title: str) -> str:
    """The HTML of the topic row whose title is `title`."""
    for row in re.findall(r'<li class="topic-row.*?</li>', raw(response), re.S):
        if f">{html.escape(title)}</a>" in row:
            return html.unescape(row)
    raise AssertionError(f"no row for {title!r}")


class _ElementText(HTMLParser):
    """Collects the inner HTML of the first <div> that starts at a given offset, counting nested divs."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.depth = 0
        self.end: int | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "div":
            self.depth += 1

    def handle_endtag(self, tag):
        if tag == "div" and self.end is None:
            self.depth -= 1
            if self.depth == 0:
                self.end = self._offset()

    def _offset(self) -> int:
        line, column = self.getpos()
        return sum(len(x) for x in self._lines[: line - 1]) + column


def inner_div(page: str, start: int) -> str:
    """The inner HTML of the <div> whose start tag begins at `start` in `page`."""
    fragment = page[start:]
    parser = _ElementText()
    parser._lines = fragment.splitlines(keepends=True)
    parser.feed(fragment)
    parser.close()
    assert parser.end is not None, "unbalanced <div>"
    opening_end = fragment.index(">") + 1
    return fragment[opening_end:parser.end]


def post_body_html(page: str, number: int) -> str:
    """The rendered body of post #number on a topic page."""
    article = page.index(f'id="post-{number}"')
    return inner_div(page, page.index('<div class="post-body', article))


def preview_html(page: str) -> str:
    """The rendered preview on a composer page."""
    section = page.index('aria-label="Preview"')
    return inner_div(page, page.index('<div class="post-body', section))


def first_post(topic: Topic):
    from portal.forums.models import Post

    return db.session.scalar(sa.select(Post).where(Post.topic_id == topic.id, Post.number == 1))
