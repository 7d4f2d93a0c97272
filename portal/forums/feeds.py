"""Atom feeds of the latest topics: the site's, and each public category's.

Feeds are public and cached by feed readers and proxies, so they hold only what a signed-out visitor sees,
whoever asks (staff included): categories whose audience is everyone, under a parent that is too. Links are
absolute, built on SITE_URL like the links in emails, so a feed is the same whichever host name served it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from urllib.parse import urlsplit
from xml.etree import ElementTree as ET

import sqlalchemy as sa
from flask import Response, abort, current_app
from sqlalchemy.orm import joinedload

from portal.cache import anonymous_page
from portal.db import utcnow
from portal.extensions import db
from portal.forums import bp
from portal.forums.models import Category, Post, Topic, TopicContext
from portal.forums.services import visible_category_ids
from portal.permissions import can_see_category
from portal.templating import absolute_url

FEED_ENTRIES = 30
ATOM_NS = "http://www.w3.org/2005/Atom"
ATOM_MIMETYPE = "application/atom+xml; charset=utf-8"
# Characters XML 1.0 cannot carry at all, not even escaped (control characters a title or body may hold).
_NOT_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def public_category_ids() -> sa.Select:
    """The ids of the categories a signed-out visitor sees (everyone, under a parent that is everyone too)."""
    return visible_category_ids(None)


def feed_topics(category_ids: sa.Select) -> Sequence[tuple[Topic, Post]]:
    """The latest forum topics in these categories with their first posts, authors and categories: one statement."""
    return db.session.execute(
        sa.select(Topic, Post)
        .join(Post, sa.and_(Post.topic_id == Topic.id, Post.number == 1, Post.hidden_at.is_(None)))
        .where(
            Topic.context == TopicContext.FORUM,
            Topic.deleted_at.is_(None),
            Topic.is_unlisted.is_(False),
            Topic.category_id.in_(category_ids),
        )
        .options(joinedload(Topic.user), joinedload(Topic.category))
        .order_by(Topic.last_post_at.desc(), Topic.id.desc())
        .limit(FEED_ENTRIES)
    ).all()


def _text(value: str) -> str:
    return _NOT_XML.sub("", value or "")


def _rfc3339(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def _entry_id(topic: Topic) -> str:
    """A tag: URI that outlives the topic's title (its URL carries the title's slug)."""
    host = urlsplit(current_app.config["SITE_URL"]).hostname or "localhost"
    return f"tag:{host},{topic.created_at:%Y-%m-%d}:topic:{topic.id}"


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attributes: str) -> ET.Element:
    element = ET.SubElement(parent, tag, attributes)
    if text is not None:
        element.text = _text(text)
    return element


def render_feed(*, title: str, feed_url: str, page_url: str, rows: Sequence[tuple[Topic, Post]],
                subtitle: str = "") -> Response:
    """An Atom document: entries in the order given, each topic's first post as escaped HTML content."""
    feed = ET.Element("feed", {"xmlns": ATOM_NS})
    _sub(feed, "id", feed_url)
    _sub(feed, "title", title)
    if subtitle:
        _sub(feed, "subtitle", subtitle)
    updated = max((topic.last_post_at for topic, _ in rows), default=None) or utcnow()
    _sub(feed, "updated", _rfc3339(updated))
    _sub(feed, "link", rel="self", type="application/atom+xml", href=feed_url)
    _sub(feed, "link", rel="alternate", type="text/html", href=page_url)
    _sub(feed, "generator", current_app.config["SITE_NAME"])
    for topic, first_post in rows:
        entry = _sub(feed, "entry")
        _sub(entry, "id", _entry_id(topic))
        _sub(entry, "title", topic.title, type="text")
        _sub(entry, "link", rel="alternate", type="text/html",
             href=absolute_url("forums.topic", slug=topic.slug, topic_id=topic.id))
        _sub(entry, "published", _rfc3339(topic.created_at))
        _sub(entry, "updated", _rfc3339(topic.last_post_at))
        author = _sub(entry, "author")
        _sub(author, "name", topic.user.display_name)
        if topic.category is not None:
            _sub(entry, "category", term=topic.category.slug, label=topic.category.name)
        # body_html was sanitised when the post was written; here it is only escaped, as Atom's type="html" wants.
        _sub(entry, "content", first_post.body_html, type="html")
    body = ET.tostring(feed, encoding="unicode", xml_declaration=False)
    return Response('<?xml version="1.0" encoding="utf-8"?>\n' + body, content_type=ATOM_MIMETYPE)


@bp.route("/latest.atom")
@anonymous_page
def feed():
    """The latest topics of every public category."""
    site = current_app.config["SITE_NAME"]
    return render_feed(
        title=f"{site}: latest topics",
        feed_url=absolute_url("forums.feed"),
        page_url=absolute_url("forums.latest"),
        rows=feed_topics(public_category_ids()),
    )


@bp.route("/c/<slug>.atom")
@anonymous_page
def category_feed(slug: str):
    """The latest topics of one public category and its public subcategories; any other category is a 404."""
    category = db.session.scalars(
        sa.select(Category).where(Category.slug == slug).options(joinedload(Category.parent))
    ).first()
    # Signed-out visibility, whoever asks: a feed must never carry what a reader of it may not see.
    if category is None or not can_see_category(None, category):
        abort(404)
    ids = public_category_ids().where(sa.or_(Category.id == category.id, Category.parent_id == category.id))
    return render_feed(
        title=f"{current_app.config['SITE_NAME']}: {category.name}",
        subtitle=category.description,
        feed_url=absolute_url("forums.category_feed", slug=category.slug),
        page_url=absolute_url("forums.category", slug=category.slug),
        rows=feed_topics(ids),
    )
