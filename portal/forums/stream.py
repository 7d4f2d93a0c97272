"""The topic page's posts as HTML, assembled from fragments made once per distinct input and kept.

The topic page is the forum's busiest page for signed-in readers, and its cost was Jinja rendering the same
post markup (author line, badges, a row of buttons with their forms) for every request. Here each post's markup
comes from a Card: a tuple of exactly what that markup shows — the author's name and organisation, the badges,
the relative time as worded now, the viewer's rights on the post and whether they liked it. The markup is a pure
function of its Card, so it is rendered once per distinct Card and kept in a bounded per-process LRU: a second
viewer with the same rights, or the same viewer a moment later, gets it without rendering.

Nothing can be stale, because nothing is invalidated: any change to what a post shows (an edit, a like, a
rename, a deletion, "5 min ago" becoming "6 min ago", another time zone, other rights) is a different Card.
Two things never enter a Card: the stored body_html (large, and already HTML) and the viewer's CSRF token. The
fragment carries marks where they go, both filled in per request; neither mark can come from user text, which
is always escaped (no "<") where it appears in a fragment.
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime
from typing import Any, NamedTuple

from flask import current_app
from markupsafe import Markup

from portal.forums.models import Category, Topic
from portal.forums.queries import StreamPost
from portal.notifications import watch_levels
from portal.permissions import (
    awaits_staff_reply,
    can_accept_answer,
    can_delete_post,
    can_edit_post,
    can_flag_post,
    can_like_post,
    can_mark_official,
    can_moderate_topic,
    can_reply,
    can_restore_post,
    can_review_flags,
    is_staff,
)
from portal.templating import (
    TOKEN_MARK,
    ago_tag,
    csrf_token,
    format_datetime,
    kept_fragment,
    relative_time,
    viewer_timezone,
)

# Fragments per process: about 2 KB each for a staff viewer's, so under 1 MB. That covers the first pages of the ten
# or so topics being read right now, for staff and customers; a bigger LRU only helped a reader walking through
# hundreds of topics, whose cards miss anyway, and cost a worker 6 MB when full (bench/run's topic walk).
CARD_CACHE_SIZE = 384
BODY_MARK = Markup("<!--post-body-->")


class Card(NamedTuple):
    """Everything one post's markup shows, except its body and the CSRF token."""

    post_id: int
    number: int
    author_id: int
    author_name: str
    author_is_staff: bool
    author_org: str | None
    is_whisper: bool
    is_official: bool
    deleted: bool
    # hidden after flags, as this viewer sees it: "" (not hidden), "others", "author" (theirs) or "staff"
    hidden: str
    like_count: int
    accepted: bool
    pinned_copy: bool
    created_at: datetime
    ago: str  # as worded now: a minute later, another Card
    edited_at: datetime | None
    tz: str  # the viewer's, for the full dates in tooltips
    # what the viewer may do (the routes check the same rules again)
    flag: bool
    like: bool
    liked: bool
    quote: bool
    accept: bool
    official: bool
    edit: bool
    delete: bool
    restore: bool
    revisions: bool
    # constant per site or topic, but part of the markup
    post_prefix: str
    user_prefix: str
    reply_url: str
    unaccept_url: str
    review_url: str
    site_name: str


class _Viewer(NamedTuple):
    """What the viewer may do on this topic page, worked out once per page rather than once per post."""

    user: Any
    signed_in: bool
    replying: bool
    accepting: bool
    official: bool
    restoring: bool
    reviewing: bool
    tz: str
    now: datetime


def _viewer(topic: Topic) -> _Viewer:
    from flask_login import current_user

    user = current_user._get_current_object()
    category = topic.category
    return _Viewer(
        user=user,
        signed_in=user.is_authenticated,
        replying=can_reply(user, topic, category),
        accepting=can_accept_answer(user, topic, category),
        official=can_mark_official(user),
        restoring=can_restore_post(user),
        reviewing=can_review_flags(user),
        tz=viewer_timezone(),
        now=datetime.now(UTC),
    )


def _post_rights(user: Any, post: StreamPost) -> tuple[bool, bool, bool, bool]:
    """Flag, like, edit, delete: the permission rules, which read only who wrote the post and whether it is deleted
    (see POST_RIGHTS_READ)."""
    return can_flag_post(user, post), can_like_post(user, post), can_edit_post(user, post), can_delete_post(user, post)


# What of a post the rules in _post_rights read: a page's posts share a few combinations, so each is worked out
# once per page (tests.forums.test_stream checks the rules read nothing else).
POST_RIGHTS_READ = ("user_id", "deleted_at")


def _card(post: StreamPost, topic: Topic, viewer: _Viewer, urls: tuple[str, ...], pinned_copy: bool,
          rights_by_kind: dict[tuple[bool, bool], tuple[bool, bool, bool, bool]]) -> Card:
    user = viewer.user
    deleted = post.deleted_at is not None
    own = viewer.signed_in and post.user_id == user.id
    hidden = ""
    if post.hidden_at is not None:
        hidden = "staff" if viewer.reviewing else "author" if own else "others"
    if viewer.signed_in:
        kind = (own, deleted)
        post_rights = rights_by_kind.get(kind)
        if post_rights is None:
            post_rights = rights_by_kind[kind] = _post_rights(user, post)
        flag, like, editing, delete = post_rights
        rights = (
            flag and not hidden,
            like and hidden in ("", "staff"),
            post.liked,
            viewer.replying,
            viewer.accepting and post.number > 1 and not post.is_whisper,
            viewer.official and not post.is_whisper and post.number > 1,
            editing,
            delete,
            viewer.restoring,
            editing or own,
        )
    else:
        rights = (False,) * 10
    return Card(
        post.id, post.number, post.user_id, post.author_name, post.author_is_staff, post.author_org,
        post.is_whisper, post.is_official, deleted, hidden, post.like_count, topic.accepted_post_id == post.id,
        pinned_copy,
        post.created_at, relative_time(post.created_at, viewer.now, viewer.tz), post.edited_at, viewer.tz,
        *rights, *urls,
    )


def _render(card: Card) -> tuple[tuple[str, ...], tuple[str, ...] | None]:
    """The markup before and after the body (None after: the body is not shown), each cut at the token marks."""
    macro = current_app.jinja_env.get_template("forums/_post_card.html").module.card
    html = str(macro(card, format_datetime(card.created_at, card.tz),
                     format_datetime(card.edited_at, card.tz) if card.edited_at else "", BODY_MARK, TOKEN_MARK))
    before, mark, after = html.rpartition(BODY_MARK)  # the last mark is ours: user text has no "<"
    if not mark:
        return tuple(html.split(TOKEN_MARK)), None
    return tuple(before.split(TOKEN_MARK)), tuple(after.split(TOKEN_MARK))


_render_kept = functools.lru_cache(maxsize=CARD_CACHE_SIZE)(_render)


def post_stream(topic: Topic, posts: list[StreamPost], accepted: StreamPost | None) -> Markup:
    """The HTML of the page's posts, in order, with the accepted answer's copy right under the question (when the
    answer is another post, not deleted). One string for the template: looping over the posts in Jinja cost more
    than joining them here."""
    viewer = _viewer(topic)
    token = csrf_token() if viewer.signed_in else ""
    url_for = current_app.url_for  # (flask.url_for looks the app up again on every call)
    urls = (
        url_for("forums.post", post_id=0)[:-1],
        url_for("accounts.profile", user_id=0)[:-1],
        url_for("forums.reply", topic_id=topic.id),
        url_for("forums.unaccept", topic_id=topic.id),
        url_for("moderation.review"),
        current_app.config["SITE_NAME"],
    )

    # With template auto-reload (development), render afresh so an edited template shows at once.
    fragments = _render if current_app.jinja_env.auto_reload else _render_kept

    rights_by_kind: dict[tuple[bool, bool], tuple[bool, bool, bool, bool]] = {}

    def html(post: StreamPost, pinned_copy: bool = False) -> str:
        before, after = fragments(_card(post, topic, viewer, urls, pinned_copy, rights_by_kind))
        # Escaped template output around the stored, sanitised body_html, the request's token at each mark.
        if after is None:
            return token.join(before)
        return "".join((token.join(before), post.body_html, token.join(after)))

    stream = []
    for post in posts:
        stream.append(html(post))
        if post.number == 1 and accepted is not None and accepted.id != post.id and accepted.deleted_at is None:
            stream.append(kept_fragment("forums/_accepted_answer.html", "accepted_answer",
                                        url=url_for("forums.post", post_id=accepted.id),
                                        card=Markup(html(accepted, pinned_copy=True))))  # noqa: S704 (as below)
    return Markup("\n".join(stream))  # noqa: S704 (kept fragments, escaped by Jinja, around stored sanitised bodies)


def topic_header(viewer: Any, topic: Topic, category: Category, first_unread: int | None) -> Markup:
    """The topic page's header: breadcrumb, title, badges, counts, watch menu and staff tools (the kept fragment
    forums/_topic_header.html). Its arguments decide what it shows; the fills (names, times, addresses) are only
    shown. Put together here rather than in topic.html, where its two dozen calls and lookups cost Jinja a
    twentieth of the signed-in page."""
    signed_in = viewer.is_authenticated
    url_for = current_app.url_for  # (flask.url_for looks the app up again on every call)
    tools = None
    if can_moderate_topic(viewer):
        tools = (topic.is_pinned, topic.is_locked, topic.is_unlisted, topic.assignee_id is not None,
                 topic.assignee_id == viewer.id, awaits_staff_reply(topic))
    parent = category.parent
    topic_id = topic.id
    return kept_fragment(
        "forums/_topic_header.html", "topic_header",
        parent is not None, topic.accepted_post_id is not None, topic.is_pinned, topic.is_locked,
        topic.is_unlisted and is_staff(viewer), topic.post_count == 1, first_unread is not None,
        watch_levels.effective(topic) if signed_in else None, topic.deleted_at is not None, tools,
        forums_url=url_for("forums.home"),
        parent_url=url_for("forums.category", slug=parent.slug) if parent else "",
        parent_name=parent.name if parent else "",
        category_url=url_for("forums.category", slug=category.slug), category_name=category.name,
        title=topic.title, post_count=topic.post_count,
        started=ago_tag(topic.created_at), last_activity=ago_tag(topic.last_post_at),
        unread_url=url_for("forums.topic_post_number", slug=topic.slug, topic_id=topic_id, number=first_unread)
        if first_unread else "",
        watch_url=url_for("notifications.watch_topic", topic_id=topic_id) if signed_in else "",
        pin_url=url_for("forums.pin", topic_id=topic_id) if tools else "",
        lock_url=url_for("forums.lock", topic_id=topic_id) if tools else "",
        unlist_url=url_for("forums.unlist", topic_id=topic_id) if tools else "",
        assign_url=url_for("forums.assign", topic_id=topic_id) if tools else "",
        tools_url=url_for("forums.topic_tools", topic_id=topic_id) if tools else "",
        viewer_id=viewer.id if tools else "",
        assignee_name=topic.assignee.display_name if tools and topic.assignee else "",
    )
