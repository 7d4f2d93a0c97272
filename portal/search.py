"""Forum search: one function, `search_posts`, over PostgreSQL full-text search or SQLite FTS5.

What a search finds: posts whose body matches, and first posts whose topic title matches, in forum topics that are
not deleted, in categories the viewer may see (`visible_category_ids`), never whispers unless the viewer may see
them. Title matches weigh ten times more than body matches; equal ranks show the newest first.

The query language is the one of PostgreSQL's websearch_to_tsquery, parsed here once for both databases, so
that odd input can never reach the database as syntax: words (all must match), "quoted phrases", -excluded
words or phrases, and `or` between alternatives (binding looser than the implied AND, as websearch does: `a b or
c` is `(a AND b) OR c`). Anything else (brackets, *, stray quotes, AND/NOT) is just text. English stop words are
dropped on both databases (PostgreSQL would drop them anyway), so both answer the same question. Differences that
remain are the tokenisers': SQLite folds diacritics (cafe finds café) and PostgreSQL's `english` does not;
PostgreSQL keeps "sign-on", "1.2.3" or an email address as lexemes of their own, SQLite splits them into words.

The database objects behind it are created by the migration "forum search", per database, and are not part of
the models (so the models stay the same on both, and no ORM query ever loads a tsvector):

- PostgreSQL: `posts.search_vector` and `topics.search_vector`, tsvector columns GENERATED ALWAYS … STORED (so
  every write, Core bulk inserts included, keeps them right), each with a GIN index.
- SQLite: `posts_fts` and `topics_fts`, FTS5 external-content tables (the text stays in posts/topics) kept in sync
  by insert/update/delete triggers.

SEARCH_OBJECTS names them; `include_search_objects` hides them from Alembic's comparison of the database with the
models (migrations/env.py, tests/test_migrations.py), and `missing_search_objects` tells the migration test
whether they are all there.

Snippets: the database marks matches with private-use sentinel characters; here the text is HTML-escaped and the
sentinels become <mark>. Nothing the database returns is trusted as HTML (bodies are raw user Markdown).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from markupsafe import Markup, escape

from portal.accounts.models import User
from portal.db import ManyToOne, RowGraph
from portal.errors import RuleViolation
from portal.extensions import db
from portal.forums.models import Category, Post, Topic, TopicContext
from portal.forums.services.categories import visible_category_ids
from portal.pagination import Page
from portal.permissions import can_see_whispers, is_staff

MAX_QUERY = 200
MAX_TERMS = 16
MAX_PER_PAGE = 50
TITLE_WEIGHT = 10  # PostgreSQL: the 'A' label of title lexemes against the default 'D' of bodies (1.0 / 0.1)
SNIPPET_FALLBACK_CHARS = 200

# Database objects per dialect (see the module docstring): tables with their FTS5 shadow tables, columns as
# (table, column), indexes and triggers.
SEARCH_OBJECTS: dict[str, dict[str, frozenset]] = {
    "postgresql": {
        "column": frozenset({("posts", "search_vector"), ("topics", "search_vector")}),
        "index": frozenset({"ix_posts_search_vector", "ix_topics_search_vector"}),
    },
    "sqlite": {
        "table": frozenset({"posts_fts", "topics_fts"}),
        "trigger": frozenset(f"{t}_fts_{s}" for t in ("posts", "topics") for s in ("ai", "ad", "au")),
    },
}
_FTS_TABLES = SEARCH_OBJECTS["sqlite"]["table"]
_SEARCH_COLUMNS = SEARCH_OBJECTS["postgresql"]["column"]
_SEARCH_INDEXES = SEARCH_OBJECTS["postgresql"]["index"]

# PostgreSQL's english.stop (snowball), dropped from queries on both databases.
_STOP_WORD_TEXT = (
    """i me my myself we our ours ourselves you your yours yourself yourselves he him his himself she her hers
    herself it its itself they them their theirs themselves what which who whom this that these those am is are
    was were be been being have has had having do does did doing a an the and but if or because as until while of
    at by for with about against between into through during before after above below to from up down in out on
    off over under again further then once here there when where why how all any both each few more most other
    some such no nor not only own same so than too very s t can will just don should now"""
)
STOP_WORDS = frozenset(_STOP_WORD_TEXT.split())

# Sentinels around matches in snippets: private-use characters, never markup. (A body that contains them only
# gets a harmless extra <mark>.) `<` and `>` travel as two more, so PostgreSQL's ts_headline does not take
# `<script>` in a body for a tag and drop it: the snippet shows what was typed.
_START, _STOP, _LT, _GT = "\ue000", "\ue001", "\ue002", "\ue003"
_MARKED = re.compile(f"{_START}(.*?){_STOP}", re.S)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")  # PostgreSQL refuses NUL in text; none of them means anything here
_WORD = re.compile(r"[^\W_]+")
_TOKEN = re.compile(r'(-*)"([^"]*)(?:"|$)|(-*)([^\s"]+)')
_HEADLINE_OPTIONS = (
    f'StartSel={_START}, StopSel={_STOP}, MaxWords=35, MinWords=15, MaxFragments=2, FragmentDelimiter=" … "'
)
_TITLE_OPTIONS = f"StartSel={_START}, StopSel={_STOP}, HighlightAll=true"


class SearchQueryError(RuleViolation):
    """A query that cannot be searched for (empty, only operators or common words, too long)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, field="q")


# --- The query ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Term:
    words: tuple[str, ...]  # one word, or a phrase: letters and digits only (quoted for FTS5)
    # As typed, without quotes or leading dashes: PostgreSQL's parser keeps "sign-on", "1.2.3" or an email address
    # as lexemes of their own, so it gets the text (websearch_to_tsquery takes any text and never fails).
    text: str = field(default="", compare=False)


@dataclass
class Branch:
    """Terms that must all match, and terms that must not."""

    include: list[Term] = field(default_factory=list)
    exclude: list[Term] = field(default_factory=list)


@dataclass(frozen=True)
class SearchQuery:
    """A parsed query: any of the branches matches."""

    branches: tuple[Branch, ...]

    def fts5(self) -> str:
        """The query as an FTS5 expression: every word inside a quoted string, so nothing is FTS syntax."""

        def phrase(term: Term) -> str:
            return '"' + " ".join(term.words).replace('"', '""') + '"'

        parts = []
        for branch in self.branches:
            expr = " AND ".join(phrase(t) for t in branch.include)
            if branch.exclude:
                expr = f"({expr}) NOT ({' OR '.join(phrase(t) for t in branch.exclude)})"
            parts.append(f"({expr})")
        return " OR ".join(parts)

    def websearch(self) -> str:
        """The query in websearch_to_tsquery's syntax, rebuilt from the parsed terms only."""

        def phrase(term: Term) -> str:
            return f'"{term.text}"' if re.search(r"\s", term.text) else term.text

        return " or ".join(
            " ".join([phrase(t) for t in b.include] + ["-" + phrase(t) for t in b.exclude]) for b in self.branches
        )


def parse_query(raw: str | None) -> SearchQuery:
    """Parse what a person typed; raise SearchQueryError with a message they can act on."""
    text = " ".join(_CONTROL.sub(" ", raw or "").split())
    if not text:
        raise SearchQueryError("Enter one or more words to search for.")
    if len(text) > MAX_QUERY:
        raise SearchQueryError(f"Use at most {MAX_QUERY} characters in a search.")
    branches = [Branch()]
    saw_words = False
    pending_or = False
    for match in _TOKEN.finditer(text):
        quoted = match.group(2) is not None
        negated = bool(match.group(1) if quoted else match.group(3))
        content = match.group(2) if quoted else match.group(4)
        if not quoted and not negated and content.lower() == "or":
            pending_or = True
            continue
        words = tuple(w.lower() for w in _WORD.findall(content))
        if not words:
            continue
        saw_words = True
        if all(w in STOP_WORDS for w in words):
            continue
        if pending_or and not negated and branches[-1].include:
            branches.append(Branch())
        pending_or = False
        term = Term(words, content.strip())
        target = branches[-1].exclude if negated else branches[-1].include
        if term not in target:
            target.append(term)
    # A branch that only excludes would match almost everything: leave it out.
    kept = tuple(b for b in branches if b.include)
    if not kept:
        if not saw_words:
            raise SearchQueryError("Enter one or more words to search for: symbols and operators alone find nothing.")
        if any(b.exclude for b in branches):
            raise SearchQueryError("Add a word to look for: a search can't only exclude words.")
        raise SearchQueryError("Those words are too common to search for: add a more specific one.")
    if sum(len(b.include) + len(b.exclude) for b in kept) > MAX_TERMS:
        raise SearchQueryError(f"Use at most {MAX_TERMS} words or phrases in a search.")
    return SearchQuery(kept)


# --- Results --------------------------------------------------------------------------------------


@dataclass
class SearchHit:
    post: Post
    rank: float
    snippet: Markup = field(default_factory=Markup)
    title: Markup = field(default_factory=Markup)  # the topic title, matches marked

    @property
    def topic(self) -> Topic:
        return self.post.topic

    @property
    def category(self) -> Category | None:
        return self.post.topic.category

    @property
    def author(self) -> User:
        return self.post.user


# A hit's post as plain columns (portal.db.RowGraph), with what a result shows of its topic (already in the
# statement, which filters on it), the topic's category and the post's author. As an ORM statement with joined eager
# loads it compiled to 0.45 MB, kept by each worker for every combination of filters it had served.
_FOUND = RowGraph(
    Post,
    ManyToOne("topic", ("id", "title", "category_id", "accepted_post_id", "first_staff_reply_at"),
              table=Topic.__table__),
    ManyToOne("category", ("id", "parent_id", "name", "slug"), owner="topic"),
    ManyToOne("user", ("id", "display_name", "role")),
    names=("id", "topic_id", "user_id", "number", "is_whisper", "created_at", "body"),
)


@dataclass
class SearchResults(Page):
    """One page of hits (SearchHit), best first."""


def search_posts(
    viewer: Any,
    query: str | SearchQuery,
    *,
    category_id: int | None = None,
    author_id: int | None = None,
    solved_only: bool = False,
    staff_answer_only: bool = False,
    page: int = 1,
    per_page: int = 20,
) -> SearchResults:
    """The posts `viewer` may see that match `query`, best first, one page of them.

    Filters: a category (with its subcategories), an author, solved topics only, topics with a staff reply only.
    Three SQL statements (the count, the page with its topics, categories and authors, the snippets), two when
    nothing matches. Raises SearchQueryError for a query that cannot be searched for.
    """
    parsed = query if isinstance(query, SearchQuery) else parse_query(query)
    per_page = max(1, min(int(per_page), MAX_PER_PAGE))
    page = max(1, int(page))
    backend = _backend()
    hits = backend.hits(parsed)

    found_in = Post.__table__.join(hits, hits.c.post_id == Post.id).join(Topic.__table__, Topic.id == Post.topic_id)
    criteria = [
        Post.deleted_at.is_(None),
        Topic.deleted_at.is_(None),
        # Ideas and events own topics without a category; they will add their own visibility rule here.
        Topic.context == TopicContext.FORUM,
        Topic.category_id.in_(visible_category_ids(viewer)),
    ]
    if not can_see_whispers(viewer):
        criteria.append(Post.is_whisper.is_(False))
    if not is_staff(viewer):
        criteria += [Topic.is_unlisted.is_(False), Post.hidden_at.is_(None)]
    if category_id is not None:
        family = sa.select(Category.id).where(sa.or_(Category.id == category_id, Category.parent_id == category_id))
        criteria.append(Topic.category_id.in_(family))
    if author_id is not None:
        criteria.append(Post.user_id == author_id)
    if solved_only:
        criteria.append(Topic.accepted_post_id.is_not(None))
    if staff_answer_only:
        criteria.append(Topic.first_staff_reply_at.is_not(None))

    total = db.session.scalar(sa.select(sa.func.count(Post.id)).select_from(found_in).where(*criteria)) or 0
    if total == 0 or (page - 1) * per_page >= total:
        return SearchResults([], page, per_page, total)

    session = db.session()
    rows = session.connection().execute(
        sa.select(*_FOUND.columns, hits.c.rank)
        .select_from(_FOUND.joined(found_in))
        .where(*criteria)
        .order_by(hits.c.rank.desc(), Post.created_at.desc(), Post.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    items = []
    for row in rows:
        post, _ = _FOUND.load(session, row)
        items.append(SearchHit(post=post, rank=float(row[-1])))
    bodies, titles = backend.snippets(parsed, [hit.post for hit in items])
    for hit in items:
        raw = bodies.get(hit.post.id)
        hit.snippet = _marked(raw) if raw is not None else _fallback_snippet(hit.post.body)
        hit.title = _marked(titles.get(hit.post.topic_id, hit.post.topic.title))
    return SearchResults(items, page, per_page, total)


def _marked(text: str) -> Markup:
    """Escape text from the database, then turn its sentinels (only) into <mark> elements."""
    text = " ".join(text.replace(_LT, "<").replace(_GT, ">").split())
    # re.split with one group alternates: plain, marked, plain, …; every part is escaped (format escapes too).
    parts = [p.replace(_START, "").replace(_STOP, "") for p in _MARKED.split(text)]
    return Markup("").join(
        Markup("<mark>{}</mark>").format(part) if i % 2 else escape(part) for i, part in enumerate(parts) if part
    )


def _fallback_snippet(body: str) -> Markup:
    """The start of a body that did not match itself (its topic's title did)."""
    text = " ".join(body.split())
    if len(text) > SNIPPET_FALLBACK_CHARS:
        text = text[:SNIPPET_FALLBACK_CHARS].rsplit(" ", 1)[0] + " …"
    return _marked(text.replace(_START, "").replace(_STOP, ""))


# --- The two databases ----------------------------------------------------------------------------


def _backend() -> _Backend:
    name = db.session.get_bind().dialect.name
    if name == "postgresql":
        return _PostgreSQL()
    if name == "sqlite":
        return _SQLite()
    raise RuntimeError(f"search supports PostgreSQL and SQLite, not {name}")


class _Backend:
    def hits(self, query: SearchQuery) -> sa.Subquery:
        """A subquery of (post_id, rank): every post whose body, or whose topic's title if first, matches."""
        raise NotImplementedError

    def snippets(self, query: SearchQuery, posts: list[Post]) -> tuple[dict[int, str], dict[int, str]]:
        """Marked-up body excerpts by post id (bodies that match) and titles by topic id (titles that match)."""
        raise NotImplementedError


# Lightweight tables for the columns and tables that are not in the models.
_pg_posts = sa.table(
    "posts", sa.column("id", sa.Integer), sa.column("topic_id", sa.Integer), sa.column("number", sa.Integer),
    sa.column("body", sa.Text), sa.column("search_vector"),
)
_pg_topics = sa.table("topics", sa.column("id", sa.Integer), sa.column("title", sa.Text), sa.column("search_vector"))
_posts_fts = sa.table("posts_fts", sa.column("rowid", sa.Integer))
_topics_fts = sa.table("topics_fts", sa.column("rowid", sa.Integer))


class _PostgreSQL(_Backend):
    @staticmethod
    def _tsquery(query: SearchQuery) -> sa.ColumnElement:
        return sa.func.websearch_to_tsquery(
            sa.literal_column("'english'::regconfig"), sa.bindparam("search_query", query.websearch(), sa.Text)
        )

    def hits(self, query):
        tsq = self._tsquery(query)
        posts, topics = _pg_posts.alias("sp"), _pg_topics.alias("st")
        first = _pg_posts.alias("fp")
        by_body = sa.select(
            posts.c.id.label("post_id"), sa.func.ts_rank(posts.c.search_vector, tsq).label("score")
        ).where(posts.c.search_vector.op("@@")(tsq))
        by_title = (
            sa.select(first.c.id.label("post_id"), sa.func.ts_rank(topics.c.search_vector, tsq).label("score"))
            .select_from(topics.join(first, sa.and_(first.c.topic_id == topics.c.id, first.c.number == 1)))
            .where(topics.c.search_vector.op("@@")(tsq))
        )
        both = sa.union_all(by_body, by_title).subquery("matches")
        return (
            sa.select(both.c.post_id, sa.func.sum(both.c.score).label("rank"))
            .group_by(both.c.post_id)
            .subquery("hits")
        )

    def snippets(self, query, posts):
        tsq = self._tsquery(query)
        p, t = _pg_posts.alias("sp"), _pg_topics.alias("st")
        english = sa.literal_column("'english'::regconfig")
        body = sa.func.translate(p.c.body, "<>", _LT + _GT)
        rows = db.session.execute(
            sa.select(
                p.c.id,
                p.c.topic_id,
                sa.case(
                    (p.c.search_vector.op("@@")(tsq), sa.func.ts_headline(english, body, tsq, _HEADLINE_OPTIONS))
                ),
                sa.case(
                    (
                        t.c.search_vector.op("@@")(tsq),
                        sa.func.ts_headline(
                            english, sa.func.translate(t.c.title, "<>", _LT + _GT), tsq, _TITLE_OPTIONS
                        ),
                    )
                ),
            )
            .select_from(p.join(t, t.c.id == p.c.topic_id))
            .where(p.c.id.in_([post.id for post in posts]))
        ).all()
        bodies = {post_id: snippet for post_id, _, snippet, _ in rows if snippet is not None}
        titles = {topic_id: title for _, topic_id, _, title in rows if title is not None}
        return bodies, titles


class _SQLite(_Backend):
    @staticmethod
    def _match(fts: sa.TableClause, query: SearchQuery) -> sa.ColumnElement[bool]:
        return sa.literal_column(fts.name).op("MATCH")(sa.bindparam("search_query", query.fts5(), sa.Text))

    def hits(self, query):
        # bm25() is lower for better matches; negated, higher is better, as ts_rank.
        by_body = sa.select(
            _posts_fts.c.rowid.label("post_id"), (-sa.func.bm25(sa.literal_column("posts_fts"))).label("score")
        ).where(self._match(_posts_fts, query))
        first = Post.__table__.alias("fp")
        by_title = (
            sa.select(
                first.c.id.label("post_id"),
                (-TITLE_WEIGHT * sa.func.bm25(sa.literal_column("topics_fts"))).label("score"),
            )
            .select_from(
                _topics_fts.join(first, sa.and_(first.c.topic_id == _topics_fts.c.rowid, first.c.number == 1))
            )
            .where(self._match(_topics_fts, query))
        )
        both = sa.union_all(by_body, by_title).subquery("matches")
        return (
            sa.select(both.c.post_id, sa.func.sum(both.c.score).label("rank"))
            .group_by(both.c.post_id)
            .subquery("hits")
        )

    def snippets(self, query, posts):
        post_ids = [post.id for post in posts]
        topic_ids = sorted({post.topic_id for post in posts})
        body = sa.select(
            sa.literal("body").label("kind"),
            _posts_fts.c.rowid,
            sa.func.snippet(sa.literal_column("posts_fts"), 0, _START, _STOP, "…", 32),
        ).where(self._match(_posts_fts, query), _posts_fts.c.rowid.in_(post_ids))
        title = sa.select(
            sa.literal("title").label("kind"),
            _topics_fts.c.rowid,
            sa.func.highlight(sa.literal_column("topics_fts"), 0, _START, _STOP),
        ).where(self._match(_topics_fts, query), _topics_fts.c.rowid.in_(topic_ids))
        bodies: dict[int, str] = {}
        titles: dict[int, str] = {}
        for kind, rowid, text in db.session.execute(sa.union_all(body, title)).all():
            (bodies if kind == "body" else titles)[rowid] = text
        return bodies, titles


# --- The schema objects ---------------------------------------------------------------------------


def include_search_objects(name: str | None, type_: str, parent_names: dict) -> bool:
    """Alembic include_name hook: leave the search objects out of a comparison with the models.

    FTS5 keeps its data in shadow tables named after the virtual table (posts_fts_data, posts_fts_idx, …).
    """
    if name is None:
        return True
    if type_ == "table":
        return not any(name == t or name.startswith(f"{t}_") for t in _FTS_TABLES)
    if type_ == "column":
        return (parent_names.get("table_name"), name) not in _SEARCH_COLUMNS
    if type_ == "index":
        return name not in _SEARCH_INDEXES
    return True


def missing_search_objects(conn: sa.Connection) -> list[str]:
    """The search objects this database should have and does not (empty when search is ready)."""
    dialect = conn.dialect.name
    inspector = sa.inspect(conn)
    missing = []
    if dialect == "postgresql":
        for table, column in sorted(_SEARCH_COLUMNS):
            if column not in {c["name"] for c in inspector.get_columns(table)}:
                missing.append(f"column {table}.{column}")
        indexes = {i["name"] for t in ("posts", "topics") for i in inspector.get_indexes(t)}
        missing += [f"index {name}" for name in sorted(_SEARCH_INDEXES - indexes)]
    elif dialect == "sqlite":
        present = set(conn.exec_driver_sql("SELECT type, name FROM sqlite_master").all())
        for kind in ("table", "trigger"):
            wanted = sorted(SEARCH_OBJECTS["sqlite"][kind])
            missing += [f"{kind} {name}" for name in wanted if (kind, name) not in present]
    return missing
