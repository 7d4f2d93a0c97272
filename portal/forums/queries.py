"""What the forum pages read: a fixed number of SQL statements per page, whatever the data size.

Views call these; none of them writes. Lists load their rows with the users and categories they show in the
same statement (joinedload), and read markers for a whole page in one more.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, NamedTuple

import orjson
import sqlalchemy as sa
from flask import g
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.attributes import set_committed_value

from portal.accounts.hooks import loaded_with_viewer, viewer_statement, with_viewer
from portal.accounts.models import Organization, User
from portal.db import ArrayOf, ManyToOne, RowGraph, utcnow
from portal.extensions import db
from portal.forums.models import (
    Category,
    CategoryKind,
    CategoryOrganization,
    Post,
    PostLike,
    Topic,
    TopicContext,
    TopicRead,
)
from portal.forums.services import visible_category_ids
from portal.notifications import watch_levels
from portal.pagination import Page
from portal.permissions import Role, can_see_category, can_see_whispers, is_staff, whisper_readers

TOPICS_PER_PAGE = 30
POSTS_PER_PAGE = 20
# A topic nobody opened counts as "new" for this long (and only if it is younger than the reader's account).
NEW_TOPIC_DAYS = 14


class TopicFilter(enum.StrEnum):
    """The filters above a topic list."""

    ALL = "all"
    UNANSWERED = "unanswered"
    NO_STAFF_REPLY = "no-staff-reply"
    UNSOLVED = "unsolved"
    SOLVED = "solved"
    MINE = "mine"
    ASSIGNED = "assigned"

    @property
    def label(self) -> str:
        return {
            "all": "All", "unanswered": "Unanswered", "no-staff-reply": "No staff reply", "unsolved": "Unsolved",
            "solved": "Solved", "mine": "Started by me", "assigned": "Assigned to me",
        }[self.value]

    @classmethod
    def parse(cls, raw: str | None) -> TopicFilter:
        try:
            return cls(raw or "all")
        except ValueError:
            return cls.ALL


def filters_for(viewer: Any, questions: bool) -> list[TopicFilter]:
    """The filters that make sense for this viewer and list."""
    shown = [TopicFilter.ALL, TopicFilter.UNANSWERED, TopicFilter.NO_STAFF_REPLY]
    if questions:
        shown += [TopicFilter.UNSOLVED, TopicFilter.SOLVED]
    if getattr(viewer, "is_authenticated", False):
        shown.append(TopicFilter.MINE)
    if is_staff(viewer):
        shown.append(TopicFilter.ASSIGNED)
    return shown


def page_number(raw: Any) -> int:
    """A page number from the query string; anything odd is page 1."""
    try:
        return max(1, min(int(raw), 100_000))
    except (TypeError, ValueError):
        return 1


# --- Forum home -----------------------------------------------------------------------------------


@dataclass
class CategoryRow:
    category: Category
    children: list[Category] = field(default_factory=list)


# The forum home's categories as plain columns (portal.db.RowGraph), each with its latest topic and that topic's last
# poster (an ORM statement with those joined eager loads compiled to 0.3 MB per worker).
_HOME = RowGraph(
    Category,
    ManyToOne("last_topic", ("id", "title", "last_post_at", "last_poster_id")),
    ManyToOne("last_poster", ("id", "display_name"), owner="last_topic"),
)
_HOME_STATEMENT = sa.select(*_HOME.columns).select_from(_HOME.joined(Category.__table__)).order_by(
    Category.__table__.c.position, Category.__table__.c.id)


def forum_home(viewer: Any) -> list[CategoryRow]:
    """The categories the viewer sees, top level in order with their children, each with its latest topic.

    Two statements: the categories with their latest topic and its last poster, and the organisation links.
    """
    session = db.session()
    categories = [_HOME.load(session, row)[0] for row in session.connection().execute(_HOME_STATEMENT)]
    _with_organization_links(categories)
    by_id = {c.id: c for c in categories}
    rows: dict[int, CategoryRow] = {}
    for category in categories:
        if category.parent_id is None and can_see_category(viewer, category):
            rows[category.id] = CategoryRow(category)
    for category in categories:
        parent = by_id.get(category.parent_id) if category.parent_id else None
        if parent is not None and parent.id in rows and can_see_category(viewer, category):
            rows[parent.id].children.append(category)
    return list(rows.values())


def _with_organization_links(categories: Sequence[Category]) -> None:
    """Each category's organisation links, in one statement for all (what selectinload does for an ORM query)."""
    links: dict[int, list[CategoryOrganization]] = {category.id: [] for category in categories}
    if links:
        for link in db.session.scalars(
            sa.select(CategoryOrganization).where(CategoryOrganization.category_id.in_(list(links)))
        ):
            links[link.category_id].append(link)
    for category in categories:
        set_committed_value(category, "organization_links", links[category.id])


def postable_categories(viewer: Any) -> list[Category]:
    """Categories the viewer may start a topic in, in forum order (for the new-topic form)."""
    from portal.permissions import can_start_topic

    categories = db.session.scalars(
        sa.select(Category).options(selectinload(Category.organization_links)).order_by(Category.position, Category.id)
    ).all()
    top = [c for c in categories if c.parent_id is None]
    ordered: list[Category] = []
    for parent in top:
        ordered.append(parent)
        ordered.extend(c for c in categories if c.parent_id == parent.id)
    return [c for c in ordered if can_start_topic(viewer, c)]


# --- Topic lists ----------------------------------------------------------------------------------


@dataclass
class TopicRow:
    topic: Topic
    last_read: int | None = None  # None: never opened
    unread: int = 0
    is_new: bool = False


# A list's topics as plain columns (portal.db.RowGraph): the topic with its author's and last poster's names and its
# category (shown on "Latest"). As an ORM statement with joined eager loads (and each user's organisation, which
# User loads joined) it compiled to 0.6 MB, kept by every worker for each filter and list it had served.
_LISTED = RowGraph(
    Topic,
    ManyToOne("user", ("id", "display_name")),
    ManyToOne("last_poster", ("id", "display_name")),
    ManyToOne("category", ("id", "parent_id", "name", "slug")),
)


def topic_list(
    viewer: Any,
    *,
    category: Category | None = None,
    subcategory_ids: Sequence[int] = (),
    topic_filter: TopicFilter = TopicFilter.ALL,
    page: int = 1,
) -> Page:
    """Topics of one category (and its subcategories), or of every visible category ("Latest").

    Pinned first within a category; then by last activity. Three statements at most: count, rows, read markers.
    """
    criteria = [Topic.context == TopicContext.FORUM, Topic.deleted_at.is_(None)]
    if category is not None:
        ids = [category.id, *subcategory_ids]
        criteria.append(Topic.category_id.in_(ids) if len(ids) > 1 else Topic.category_id == category.id)
    else:
        criteria.append(Topic.category_id.in_(visible_category_ids(viewer)))
    if not is_staff(viewer):
        criteria.append(Topic.is_unlisted.is_(False))
    count = _apply_filter(sa.select(sa.func.count(Topic.id)).where(*criteria), viewer, topic_filter)
    total = db.session.scalar(count) or 0
    order = [Topic.is_pinned.desc()] if category is not None else []
    listed = _apply_filter(
        sa.select(*_LISTED.columns).select_from(_LISTED.joined(Topic.__table__)).where(*criteria), viewer, topic_filter
    )
    session = db.session()
    rows = session.connection().execute(
        listed.order_by(*order, Topic.last_post_at.desc(), Topic.id.desc())
        .limit(TOPICS_PER_PAGE)
        .offset((page - 1) * TOPICS_PER_PAGE)
    ).all()
    topics = [_LISTED.load(session, row)[0] for row in rows]
    return Page(items=with_read_state(viewer, topics), page=page, per_page=TOPICS_PER_PAGE, total=total)


def _apply_filter(query: sa.Select, viewer: Any, topic_filter: TopicFilter) -> sa.Select:
    signed_in = getattr(viewer, "is_authenticated", False)
    match topic_filter:
        case TopicFilter.UNANSWERED:
            return query.where(Topic.post_count <= 1)
        case TopicFilter.NO_STAFF_REPLY:
            return query.where(Topic.first_staff_reply_at.is_(None))
        case TopicFilter.UNSOLVED:
            questions = sa.select(Category.id).where(Category.kind == CategoryKind.QUESTIONS)
            return query.where(Topic.accepted_post_id.is_(None), Topic.category_id.in_(questions))
        case TopicFilter.SOLVED:
            return query.where(Topic.accepted_post_id.is_not(None))
        case TopicFilter.MINE if signed_in:
            return query.where(Topic.user_id == viewer.id)
        case TopicFilter.ASSIGNED if is_staff(viewer):
            return query.where(Topic.assignee_id == viewer.id)
    return query


def with_read_state(viewer: Any, topics: Sequence[Topic]) -> list[TopicRow]:
    """Unread marks and counts for a page of topics: one statement for the whole page."""
    rows = [TopicRow(topic) for topic in topics]
    if not getattr(viewer, "is_authenticated", False) or not topics:
        return rows
    staff = can_see_whispers(viewer)
    unread_posts = (
        sa.select(sa.func.count(Post.id))
        .where(
            Post.topic_id == TopicRead.topic_id,
            Post.number > TopicRead.last_read_number,
            Post.deleted_at.is_(None),
            *(() if staff else (Post.is_whisper.is_(False),)),
        )
        .scalar_subquery()
    )
    marks = {
        topic_id: (last_read, unread)
        for topic_id, last_read, unread in db.session.execute(
            sa.select(TopicRead.topic_id, TopicRead.last_read_number, unread_posts).where(
                TopicRead.user_id == viewer.id, TopicRead.topic_id.in_([t.id for t in topics])
            )
        )
    }
    fresh_since = max(utcnow() - timedelta(days=NEW_TOPIC_DAYS), viewer.created_at)
    for row in rows:
        if row.topic.id in marks:
            row.last_read, row.unread = marks[row.topic.id]
        else:
            row.is_new = row.topic.created_at > fresh_since and row.topic.user_id != viewer.id
    return rows


def subcategories(category: Category, viewer: Any) -> list[Category]:
    """The visible children of a top-level category."""
    if category.parent_id is not None:
        return []
    children = db.session.scalars(
        sa.select(Category)
        .where(Category.parent_id == category.id)
        .options(selectinload(Category.organization_links))
        .order_by(Category.position, Category.id)
    ).all()
    return [c for c in children if can_see_category(viewer, c)]


# --- Topic page -----------------------------------------------------------------------------------


# A topic as load_topic reads it, in plain columns (portal.db.RowGraph): the topic; its category and the category's
# parent; of its author the role (for "waiting for a staff reply") and of its assignee the name. Two whole users
# were half the statement's columns. For a signed-in viewer, also their read marker and watch levels, as scalar
# subqueries (as joins they took PostgreSQL a third longer). The statements are built once, with bound parameters:
# building a select and working out its cache key costs SQLAlchemy more than running it.
def _topic_graph(category_names: Sequence[str] | None, viewer_id: Any = None) -> RowGraph:
    topics = Topic.__table__
    viewer_columns = () if viewer_id is None else (
        sa.select(TopicRead.last_read_number)
        .where(TopicRead.topic_id == topics.c.id, TopicRead.user_id == viewer_id).scalar_subquery(),
        *watch_levels.columns(viewer_id),
    )
    return RowGraph(
        Topic,
        ManyToOne("category", category_names),
        ManyToOne("parent", category_names, owner="category"),
        ManyToOne("user", ("id", "role")),
        ManyToOne("assignee", ("id", "display_name")),
        extra=viewer_columns,
    )


def _topic_statement(graph: RowGraph) -> sa.Select:
    """One topic (`topic_id`; for a viewer, `viewer_id`)."""
    return sa.select(*graph.columns).select_from(graph.joined(Topic.__table__)).where(
        Topic.__table__.c.id == sa.bindparam("topic_id"))


def _loaded_topic(graph: RowGraph, row: Sequence[Any] | None) -> tuple[Topic | None, int]:
    if row is None:
        return None, 0
    topic, extra = graph.load(db.session(), row)
    if topic is None or not extra:
        return topic, 0
    last_read, topic_level, category_level = extra
    watch_levels.keep(topic, topic_level, category_level)
    return topic, last_read or 0


# The topic page reads fewer category columns (a fifth of the statement's): what the page and the permission rules
# use, not counters and descriptions. (Reading one of them anyway would cost a statement: the query budgets would
# show it.) Other views that load a topic (replying, watching…) get whole categories.
_PAGE_CATEGORY = ("id", "parent_id", "name", "slug", "kind", "audience", "can_start", "can_reply")
_TOPIC = _topic_graph(None)
_TOPIC_STATEMENT = _topic_statement(_TOPIC)
_TOPIC_FOR_VIEWER = _topic_graph(None, viewer_id=sa.bindparam("viewer_id"))
_TOPIC_FOR_VIEWER_STATEMENT = _topic_statement(_TOPIC_FOR_VIEWER)
# The topic page loads its topic with the signed-in viewer, in one statement (accounts.hooks.with_viewer): the topic
# outer-joined to the viewer's row, so that a missing topic still gives the viewer.
_TOPIC_PAGE = _topic_graph(_PAGE_CATEGORY, viewer_id=User.__table__.c.id)


def _folded_page_of_posts() -> tuple[sa.ColumnElement, sa.ColumnElement]:
    """The page of posts (`offset`) the signed-in viewer sees, as two columns of the viewer's own statement: its
    StreamPost rows as one JSON array, and how many posts the viewer sees in all. PostgreSQL only (ARRAY(subquery)).

    The same rows as _PAGE_OF_POSTS, for the viewer of the row: whispers by whisper_readers (can_see_whispers in
    SQL, on the viewer's role), likes by the viewer's id. On PostgreSQL the topic page's second round trip cost its
    worker more than the whole statement: each one wakes the database and waits for it.

    The array comes as text, parsed by orjson (topic_posts): the json module, which psycopg would use, took a
    thirtieth of the worker's time on the signed-in topic page; orjson takes a third of that.
    """
    viewers, topics, posts = User.__table__, Topic.__table__, Post.__table__
    authors = User.__table__.alias("post_author")
    organizations = Organization.__table__.alias("post_author_organization")
    shown = (posts.c.topic_id == topics.c.id, sa.or_(posts.c.is_whisper.is_(False), whisper_readers(viewers.c.role)))
    liked = sa.case(
        (posts.c.like_count > 0,
         sa.select(PostLike.id).where(PostLike.post_id == posts.c.id, PostLike.user_id == viewers.c.id)
         .offset(0).correlate_except(PostLike).exists()),
        else_=sa.false(),
    )
    rows = (
        sa.select(sa.func.json_build_array(
            posts.c.id, posts.c.number, posts.c.user_id, posts.c.body_html, posts.c.created_at, posts.c.edited_at,
            posts.c.is_whisper, posts.c.is_official, posts.c.like_count, posts.c.deleted_at, posts.c.hidden_at,
            authors.c.display_name, authors.c.role, organizations.c.name, liked))
        .select_from(posts.join(authors, authors.c.id == posts.c.user_id)
                     .outerjoin(organizations, organizations.c.id == authors.c.organization_id))
        .where(*shown)
        .order_by(posts.c.number)
        .limit(sa.bindparam("limit"))
        .offset(sa.bindparam("offset"))
    )
    total = sa.select(sa.func.count()).select_from(posts).where(*shown).scalar_subquery()
    return sa.cast(sa.func.array_to_json(ArrayOf(rows)), sa.Text), total


def _topic_page_params(view_args: Mapping[str, Any], args: Mapping[str, Any]) -> dict[str, Any]:
    return {"topic_id": view_args.get("topic_id"), "limit": POSTS_PER_PAGE,
            "offset": (page_number(args.get("page")) - 1) * POSTS_PER_PAGE}


_TOPIC_PAGE_STATEMENT = viewer_statement().add_columns(*_TOPIC_PAGE.columns).select_from(
    _TOPIC_PAGE.joined(User.__table__.outerjoin(Topic.__table__, Topic.__table__.c.id == sa.bindparam("topic_id")))
)
with_viewer("forums.topic", _TOPIC_PAGE_STATEMENT, _topic_page_params,
            on_postgresql=_TOPIC_PAGE_STATEMENT.add_columns(*_folded_page_of_posts()))
_FOLDED = "portal_folded_posts"


def load_topic(topic_id: int, viewer: Any) -> tuple[Topic | None, int]:
    """The topic with its category (and parent), author and assignee, and the viewer's read marker: one statement.

    For a signed-in viewer the same statement also reads their watch level for the topic and its category,
    left on the topic as `viewer_watch_level` / `viewer_category_watch_level` for the watch button. On the topic
    page that statement is the viewer's own: its columns were read when the viewer was, and on PostgreSQL the page
    of posts with them (kept for topic_posts).
    """
    if getattr(viewer, "is_authenticated", False):
        loaded = loaded_with_viewer("forums.topic", viewer)
        if loaded is not None and loaded[1][_TOPIC_PAGE.root_id] in (topic_id, None):
            params, row = loaded
            width = len(_TOPIC_PAGE.columns)
            if len(row) > width:
                g.setdefault(_FOLDED, {})[(topic_id, viewer.id, params["offset"])] = row[width:]
            return _loaded_topic(_TOPIC_PAGE, row[:width])
        return _loaded_topic(_TOPIC_FOR_VIEWER, db.session.connection().execute(
            _TOPIC_FOR_VIEWER_STATEMENT, {"topic_id": topic_id, "viewer_id": viewer.id}).first())
    return _loaded_topic(_TOPIC, db.session.connection().execute(_TOPIC_STATEMENT, {"topic_id": topic_id}).first())


def _stream_criteria(topic: Topic, viewer: Any) -> list[Any]:
    """Which posts of a topic the viewer sees: deleted ones stay as placeholders; whispers for staff only."""
    criteria = [Post.topic_id == topic.id]
    if not can_see_whispers(viewer):
        criteria.append(Post.is_whisper.is_(False))
    return criteria


def _stream(topic: Topic, viewer: Any) -> sa.Select:
    return sa.select(Post).where(*_stream_criteria(topic, viewer))


def stream_count(topic: Topic, viewer: Any) -> int:
    return db.session.scalar(_stream(topic, viewer).with_only_columns(sa.func.count(Post.id))) or 0


def page_of_number(topic: Topic, viewer: Any, number: int) -> int:
    """The page of the topic on which the viewer finds post `number` (or the nearest one after it)."""
    before = db.session.scalar(
        _stream(topic, viewer).where(Post.number < number).with_only_columns(sa.func.count(Post.id))
    ) or 0
    return before // POSTS_PER_PAGE + 1


class StreamPost(NamedTuple):
    """A post as the topic page shows it, read as a plain row (twenty ORM posts and authors cost 4× as much).

    Duck-types the Post attributes the permission checks read (id, number, user_id, deleted_at, is_whisper).
    `liked`: whether the viewer liked it, read in the same statement (always False for a signed-out viewer).
    A named tuple: made in one step (a frozen dataclass sets its fifteen fields one by one).
    """

    id: int
    number: int
    user_id: int
    body_html: str
    created_at: datetime
    edited_at: datetime | None
    is_whisper: bool
    is_official: bool
    like_count: int
    deleted_at: datetime | None
    hidden_at: datetime | None
    author_name: str
    author_role: str
    author_org: str | None
    liked: bool = False

    @property
    def author_is_staff(self) -> bool:
        return self.author_role in STAFF_ROLES


STAFF_ROLES = frozenset({Role.STAFF.value, Role.ADMIN.value})
_STREAM_COLUMNS = (
    Post.id, Post.number, Post.user_id, Post.body_html, Post.created_at, Post.edited_at, Post.is_whisper,
    Post.is_official, Post.like_count, Post.deleted_at, Post.hidden_at, User.display_name, User.role, Organization.name,
)
# Whether the viewer liked the post, as a column: a probe of post_likes' (post_id, user_id) index per row, made only
# for posts that have likes, instead of a statement of its own. (OFFSET 0 keeps PostgreSQL from turning the EXISTS
# into a hash of every like the viewer ever gave, built on every page: 0.9 ms for someone with 5,000 likes.)
_LIKED_BY_VIEWER = sa.case(
    (Post.like_count > 0,
     sa.select(PostLike.id)
     .where(PostLike.post_id == Post.id, PostLike.user_id == sa.bindparam("viewer_id"))
     .offset(0)
     .exists()),
    else_=sa.false(),
).label("liked")


def _stream_rows(*criteria: Any, signed_in: bool) -> sa.Select:
    """StreamPost columns: posts with their authors and organisations (and the viewer's likes), in one statement.

    For a signed-in viewer the statement takes a `viewer_id` parameter.
    """
    return (
        sa.select(*_STREAM_COLUMNS, _LIKED_BY_VIEWER if signed_in else sa.false().label("liked"))
        .select_from(Post)
        .join(User, User.id == Post.user_id)
        .outerjoin(Organization, Organization.id == User.organization_id)
        .where(*criteria)
    )


def _stream_post(row: Any) -> StreamPost:
    return StreamPost(*row[:12], str(row[12]), row[13], bool(row[14]))


def _page_of_posts(*criteria: Any, signed_in: bool) -> sa.Select:
    shown = (Post.topic_id == sa.bindparam("topic_id"), *criteria)
    # How many the viewer sees in all, counted once over the posts alone (not correlated to the page's rows). A
    # window count over the page's rows joined every post of the topic to its author before the LIMIT: a long
    # topic's every page paid for all of its posts.
    total = sa.select(sa.func.count()).select_from(Post).where(*shown).correlate(None).scalar_subquery()
    return (
        _stream_rows(*shown, signed_in=signed_in)
        .add_columns(total.label("total"))
        .order_by(Post.number)
        .limit(sa.bindparam("limit"))
        .offset(sa.bindparam("offset"))
    )


# By (sees whispers, signed in); a signed-out viewer never sees whispers.
_PAGE_OF_POSTS = {
    (True, True): _page_of_posts(signed_in=True),
    (False, True): _page_of_posts(Post.is_whisper.is_(False), signed_in=True),
    (False, False): _page_of_posts(Post.is_whisper.is_(False), signed_in=False),
}
_ACCEPTED_POST = {
    signed_in: _stream_rows(Post.id == sa.bindparam("post_id"), signed_in=signed_in) for signed_in in (True, False)
}


def _viewer_params(viewer: Any) -> tuple[bool, dict[str, Any]]:
    signed_in = bool(getattr(viewer, "is_authenticated", False))
    return signed_in, ({"viewer_id": viewer.id} if signed_in else {})


def topic_posts(topic: Topic, viewer: Any, page: int) -> Page:
    """A page of the topic's posts (StreamPost, with the viewer's likes) and how many the viewer sees in all.

    One statement. The total rides along as a column (a count of its own, run once). A page past the end has no
    rows and reports 0, which the caller treats as past the end, as it is.
    """
    signed_in, params = _viewer_params(viewer)
    offset = (page - 1) * POSTS_PER_PAGE
    folded = g.get(_FOLDED, {}).pop((topic.id, viewer.id, offset), None) if signed_in else None
    if folded is not None:
        rows, total = folded
        items = [_folded_post(row) for row in orjson.loads(rows)] if rows else []
        return Page(items=items, page=page, per_page=POSTS_PER_PAGE, total=total if items else 0)
    rows = db.session.connection().execute(
        _PAGE_OF_POSTS[(signed_in and can_see_whispers(viewer), signed_in)],
        {**params, "topic_id": topic.id, "limit": POSTS_PER_PAGE, "offset": offset},
    ).all()
    total = rows[0].total if rows else 0
    return Page(items=[_stream_post(row) for row in rows], page=page, per_page=POSTS_PER_PAGE, total=total)


def _folded_post(row: list[Any]) -> StreamPost:
    """A StreamPost from its JSON array (_folded_page_of_posts): the times come as ISO 8601 text, in UTC."""
    when = datetime.fromisoformat
    (post_id, number, user_id, body_html, created_at, edited_at, is_whisper, is_official, like_count, deleted_at,
     hidden_at, author_name, author_role, author_org, liked) = row
    return StreamPost(post_id, number, user_id, body_html, when(created_at), edited_at and when(edited_at),
                      is_whisper, is_official, like_count, deleted_at and when(deleted_at),
                      hidden_at and when(hidden_at), author_name, author_role, author_org, liked)


def accepted_post(topic: Topic, shown: Sequence[StreamPost], viewer: Any) -> StreamPost | None:
    """The accepted answer, shown under the question: from the page when it is there, else one statement."""
    if topic.accepted_post_id is None:
        return None
    for post in shown:
        if post.id == topic.accepted_post_id:
            return post
    signed_in, params = _viewer_params(viewer)
    row = db.session.connection().execute(
        _ACCEPTED_POST[signed_in], {**params, "post_id": topic.accepted_post_id}
    ).first()
    return _stream_post(row) if row is not None else None


def likers(post: Post, limit: int = 100) -> list[User]:
    return list(
        db.session.scalars(
            sa.select(User)
            .join(PostLike, PostLike.user_id == User.id)
            .where(PostLike.post_id == post.id)
            .order_by(PostLike.created_at)
            .limit(limit)
        )
    )


def mention_candidates(term: str, limit: int = 8) -> list[User]:
    """People whose display name starts with `term` (case-insensitive; % and _ taken literally)."""
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return list(
        db.session.scalars(
            sa.select(User)
            .where(sa.func.lower(User.display_name).like(f"{escaped.lower()}%", escape="\\"))
            .order_by(User.display_name)
            .limit(limit)
        )
    )


def staff_members() -> list[User]:
    """Staff and admins, for the assign menu."""
    from portal.permissions import Role

    return list(
        db.session.scalars(
            sa.select(User).where(User.role.in_([Role.STAFF, Role.ADMIN])).order_by(User.display_name).limit(500)
        )
    )
