"""Declarative base, column types and time helpers shared by every model."""

from __future__ import annotations

import contextvars
import importlib
import time
import weakref
from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from flask import current_app, has_request_context, request
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import DeclarativeBase, Session, scoped_session
from sqlalchemy.orm.attributes import instance_dict, instance_state, set_committed_value
from sqlalchemy.schema import CreateIndex
from sqlalchemy.sql.visitors import InternalTraversal

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)


def str_enum(cls: type, length: int) -> sa.Enum:
    """A StrEnum column stored as its values in a VARCHAR (no native enum: adding a value needs no migration)."""
    return sa.Enum(cls, native_enum=False, length=length, values_callable=lambda e: [m.value for m in e])


def utcnow() -> datetime:
    return datetime.now(UTC)


def upsert(table: sa.Table):
    """INSERT … ON CONFLICT for the session's database: the dialect's own insert, PostgreSQL's or SQLite's.

    Looked up by the bind's dialect name, so a worker never imports the other database's dialect (2 MB of
    SQLAlchemy's PostgreSQL modules in a SQLite worker)."""
    from portal.extensions import db

    return importlib.import_module(f"sqlalchemy.dialects.{db.session.get_bind().dialect.name}").insert(table)


def partial_index(name: str, *columns: str, where: str, unique: bool = False) -> sa.Index:
    """An index over only the rows matching `where` (SQL text), the same on PostgreSQL and SQLite.

    SQLAlchemy's own way, `postgresql_where=` and `sqlite_where=`, makes it import both databases' dialects to
    check those names while the models load: 2 MB of PostgreSQL modules in every SQLite worker. This one keeps
    the condition in the index's `info` and adds it when the index's DDL is compiled (create_all; the migrations
    state it themselves)."""
    return sa.Index(name, *columns, unique=unique, info={"partial_where": where})


@compiles(CreateIndex)
def _create_partial_index(create: CreateIndex, compiler, **kw) -> str:
    sql = compiler.visit_create_index(create, **kw)
    where = create.element.info.get("partial_where")
    return f"{sql} WHERE {where}" if where else sql


class ArrayOf(sa.sql.expression.ColumnElement):
    """PostgreSQL's ARRAY(subquery): the values of a one-column SELECT, in its order, as one array value.

    With `array_to_json(…)` around it, a page of rows rides in one column of another statement (correlated to it as
    any scalar subquery is). PostgreSQL only: other databases have no such construct, and compiling it for one
    fails loudly."""

    inherit_cache = True
    _traverse_internals = [("select", InternalTraversal.dp_clauseelement)]

    def __init__(self, select: sa.Select):
        self.select = select
        self.type = sa.types.NullType()


@compiles(ArrayOf)
def _array_of(element: ArrayOf, compiler, **kw) -> str:
    if compiler.dialect.name != "postgresql":
        raise sa.exc.CompileError(f"ARRAY(subquery) is PostgreSQL's; not for {compiler.dialect.name}")
    return f"ARRAY({compiler.process(element.select, **kw)})"


class UTCDateTime(sa.types.TypeDecorator):
    """A timezone-aware UTC datetime on every database.

    SQLite has no time zones and returns naive values, so values are stored as naive UTC there and
    made aware again on the way out. Naive values are refused on the way in: they are always a bug.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect):
        if value is None or value.tzinfo is UTC:  # (PostgreSQL sessions speak UTC: tune_postgres_connections)
            return value
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def _sqlite_connect(dbapi_connection, connection_record) -> None:
    if type(dbapi_connection).__module__ != "sqlite3":  # by name: a PostgreSQL worker never imports sqlite3
        return
    # Let SQLAlchemy emit BEGIN itself (see _sqlite_begin) instead of pysqlite's implicit, deferred one.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=15000")
    if cursor.execute("PRAGMA database_list").fetchone()[2]:  # a file, not :memory:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


_immediate = contextvars.ContextVar("sqlite_immediate", default=False)


def writes_on_get(view):
    """Mark a GET view that writes (e.g. a link from an email that confirms something)."""
    view.writes_on_get = True
    return view


@contextmanager
def immediate_transactions():
    """Inside this block, SQLite transactions take the write lock at BEGIN (used by the outbox worker)."""
    token = _immediate.set(True)
    try:
        yield
    finally:
        _immediate.reset(token)


def _needs_write_lock() -> bool:
    if _immediate.get():
        return True
    if not has_request_context():
        return False
    if request.method in WRITE_METHODS:
        return True
    view = current_app.view_functions.get(request.endpoint or "")
    return bool(getattr(view, "writes_on_get", False))


def _sqlite_begin(conn) -> None:
    """On SQLite, a transaction that will write takes the write lock at BEGIN (BEGIN IMMEDIATE).

    In WAL mode a deferred transaction that has read cannot become a writer while another connection
    writes: SQLite fails it at once with "database is locked" instead of waiting. Taking the lock up front
    makes concurrent writers queue behind the busy timeout. Reads stay deferred and never wait.
    """
    if conn.dialect.name != "sqlite":
        return
    # On the driver's connection: SQLAlchemy's statement machinery (events, a result) cost ten times the BEGIN.
    conn.connection.driver_connection.execute("BEGIN IMMEDIATE" if _needs_write_lock() else "BEGIN")


def install_sqlite_behaviour() -> None:
    """Pragmas (WAL, foreign keys, busy timeout) and explicit BEGINs for every SQLite connection."""
    if not sa.event.contains(sa.engine.Engine, "connect", _sqlite_connect):
        sa.event.listen(sa.engine.Engine, "connect", _sqlite_connect)
        sa.event.listen(sa.engine.Engine, "begin", _sqlite_begin)


# --- PostgreSQL: each statement's result description worked out once ------------------------------------------

DESCRIPTIONS_KEPT = 512  # distinct result shapes per process; past that the dict starts again
_descriptions: dict[tuple, list] = {}


def _described_once_cursor():
    """psycopg's Cursor, with `description` kept per shape of result.

    psycopg builds a Column object per result column every time `description` is read, and SQLAlchemy reads it
    for every statement: on the topic page (~75 columns) that was a twentieth of a worker's time. A Column is a
    pure function of its result column's name, type and type modifier (its size is its type's), and of the
    connection's encoding, which decodes the name; read from the result itself, those are the key. (Not the
    statement's text: psycopg keeps no text on the cursor once it runs a statement it has prepared, which is every
    hot one.) Columns hold no reference to their cursor and never change, so one list serves every cursor and
    thread. Our connections all use psycopg's default type registry, which only names types for display.
    """
    import psycopg

    class DescribedOnceCursor(psycopg.Cursor):
        @property
        def description(self):  # type: ignore[override]
            result = self.pgresult
            if result is None or not result.nfields:
                return super().description
            columns = range(result.nfields)  # (a column's size is its type's: the type is in the key)
            key = (self._encoding, tuple(map(result.fname, columns)), tuple(map(result.ftype, columns)),
                   tuple(map(result.fmod, columns)))
            kept = _descriptions.get(key)
            if kept is None:
                kept = super().description
                if len(_descriptions) >= DESCRIPTIONS_KEPT:
                    _descriptions.clear()
                _descriptions[key] = kept
            return list(kept)  # a list of its own: a caller may change it

    return DescribedOnceCursor


def tune_postgres_connections(engine: sa.engine.Engine) -> None:
    """Each new PostgreSQL connection of the engine gets the described-once cursor, and speaks UTC.

    UTC: timestamps come back in the session's time zone, as the server's default zone (Etc/UTC here) unless set;
    in "UTC" psycopg gives them datetime.UTC, which UTCDateTime passes through as they are instead of converting
    every one (a hundred on a topic page). What they mean is the same in any zone. Other backends: nothing to do.
    """
    if engine.dialect.name != "postgresql" or engine.dialect.driver != "psycopg":
        return
    factory = _described_once_cursor()

    @sa.event.listens_for(engine, "connect")
    def _tune(dbapi_connection, _record) -> None:
        dbapi_connection.cursor_factory = factory
        autocommit, dbapi_connection.autocommit = dbapi_connection.autocommit, True  # SET would be rolled back
        try:
            dbapi_connection.execute("SET TIME ZONE 'UTC'")
        finally:
            dbapi_connection.autocommit = autocommit


# --- PostgreSQL: reads of a GET without BEGIN; requests that only read end with COMMIT ---------------------

_WROTE = "portal_wrote"
_READ_ONLY = ("SELECT", "SHOW")


_READS_FIRST = "portal_reads_first"
_LOCKING = (" FOR UPDATE", " FOR NO KEY UPDATE", " FOR SHARE", " FOR KEY SHARE")


def _note_writes(conn, cursor, statement, parameters, context, executemany) -> None:
    writes = not statement[:16].lstrip()[:6].upper().startswith(_READ_ONLY)  # (the head only: pages' are 5 KB)
    if writes:
        conn.info[_WROTE] = True
    if conn.info.get(_READS_FIRST) and (writes or any(lock in statement for lock in _LOCKING)):
        # The first write (or locking read) of a GET: from here on, one transaction as usual. psycopg sends BEGIN
        # before this statement.
        del conn.info[_READS_FIRST]
        conn.connection.dbapi_connection.autocommit = False


def _forget_writes(conn) -> None:
    conn.info.pop(_WROTE, None)


def _reads_without_begin(conn) -> None:
    """A GET's transaction on PostgreSQL starts in autocommit: its reads need no BEGIN and no COMMIT.

    Two round trips of a signed-in page's five. Nothing changes for what the reads see: under READ COMMITTED
    (PostgreSQL's default, and ours) every statement takes its own snapshot, in a transaction or not. The first
    write or locking read (SELECT … FOR UPDATE) turns autocommit off again, so it and everything after it run in
    one transaction, committed or rolled back as before. Requests that write (POST…, writes_on_get views) and
    everything outside a request (workers, commands) are left alone.
    """
    conn.info.pop(_READS_FIRST, None)
    if conn.dialect.name != "postgresql" or not _reads_first():
        return
    dbapi_connection = conn.connection.dbapi_connection
    if dbapi_connection is not None and not dbapi_connection.autocommit:
        dbapi_connection.autocommit = True
        conn.info[_READS_FIRST] = True


def _reads_first() -> bool:
    return has_request_context() and request.method in ("GET", "HEAD") and not _needs_write_lock()


def _transactions_again(dbapi_connection, record) -> None:
    """A connection goes back to the pool as it came: not in autocommit."""
    if getattr(dbapi_connection, "autocommit", False) and record.info.pop(_READS_FIRST, False):
        dbapi_connection.autocommit = False


def commit_read_only_requests(app, db) -> None:
    """On PostgreSQL, a request whose transaction only ran SELECTs ends it with COMMIT instead of ROLLBACK.

    For such a transaction the two are the same, but psycopg forgets its prepared statements whenever it sees a
    ROLLBACK, and PostgreSQL then plans the hot queries afresh on every request: 2 ms for the topic page's topic
    with its category, people, read marker and watch levels, against 0.3 ms from the prepared plan. Any other
    statement (a write, a savepoint), an error, or SQLite leaves the usual rollback alone. A GET that only read
    did so without BEGIN (_reads_without_begin): it has no transaction to end, and the rollback of an idle
    connection sends psycopg nothing, so it is left to that.
    """
    if not sa.event.contains(sa.engine.Engine, "before_cursor_execute", _note_writes):
        sa.event.listen(sa.engine.Engine, "before_cursor_execute", _note_writes)
        sa.event.listen(sa.engine.Engine, "begin", _forget_writes)
        sa.event.listen(sa.engine.Engine, "commit", _forget_writes)
        sa.event.listen(sa.engine.Engine, "rollback", _forget_writes)
        sa.event.listen(sa.engine.Engine, "begin", _reads_without_begin)
        sa.event.listen(sa.pool.Pool, "checkin", _transactions_again)

    @app.teardown_appcontext
    def _end_reads_with_commit(exc) -> None:  # runs before Flask-SQLAlchemy's session removal
        if exc is not None or not db.session.registry.has():
            return
        session = db.session()
        transaction = session.get_transaction()
        if transaction is None:
            return
        # (Keyed by the engine and by the connection: the same connection twice.)
        connections = {id(c[0]): c[0] for c in transaction._connections.values()}
        if len(connections) != 1:
            return
        (conn,) = connections.values()
        if conn.dialect.name != "postgresql" or conn.info.get(_WROTE) or conn.info.get(_READS_FIRST):
            # (Reads without BEGIN: there is no transaction to end, and psycopg's rollback of an idle connection
            # sends nothing and keeps the prepared statements.)
            return
        try:
            session.commit()
        except sa.exc.SQLAlchemyError:  # the connection went away: removal will clean up
            session.rollback()


# --- Pinging only connections that sat idle ---------------------------------------------------------------

_LAST_USED = "portal_last_used"


def ping_idle_connections(engine: sa.engine.Engine, idle_seconds: float) -> None:
    """Check a pooled connection is alive before use only when it sat idle for `idle_seconds` or more.

    SQLAlchemy's pool_pre_ping pings on every checkout: one more round trip for every request, though a connection
    used a moment ago is as good as certain to be alive. Here a connection is pinged when it comes out of the pool
    after a longer rest (when a server restart, a failover or an idle timeout may have closed it); a dead one is
    replaced before the request sees it, as with pre-ping (SQLAlchemy's documented DisconnectionError retry).
    A server lost within `idle_seconds` of a connection's last use fails that one request instead, and SQLAlchemy
    then replaces every connection of the pool. idle_seconds=0 pings on every checkout, like pool_pre_ping.
    """
    dialect = engine.dialect

    def _fresh(dbapi_connection, record) -> None:
        record.info[_LAST_USED] = time.monotonic()

    def _checkout(dbapi_connection, record, proxy) -> None:
        last = record.info.get(_LAST_USED)
        if last is not None and time.monotonic() - last < idle_seconds:
            return
        try:
            alive = dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as error:
            raise sa.exc.DisconnectionError(f"the connection was lost while it sat idle: {error}") from error
        if not alive:
            raise sa.exc.DisconnectionError("the connection was lost while it sat idle")

    for event, handler in (("connect", _fresh), ("checkin", _fresh), ("checkout", _checkout)):
        if not sa.event.contains(engine.pool, event, handler):
            sa.event.listen(engine.pool, event, handler)


# --- Forked workers: each opens its own connections ----------------------------------------------------------

_ENGINES: weakref.WeakSet[sa.engine.Engine] = weakref.WeakSet()


def fork_safe(engine: sa.engine.Engine) -> None:
    """Note an app's engine, so that a process forked from this one can leave its pooled connections alone."""
    _ENGINES.add(engine)


def forget_inherited_connections() -> None:
    """In a process just forked from one that loaded the app (a gunicorn worker, gunicorn.conf.py's post_fork):
    start every engine's pool afresh, without closing what it held.

    Two processes talking on one connection corrupt it for both, so a forked worker must never use a connection
    its parent opened (SQLAlchemy, "Using Connection Pools with Multiprocessing or os.fork()"). `close=False`
    leaves them open for the parent; the child's copies are garbage (psycopg's only close in the process that
    opened them). The master does not connect while it loads the app (tested), so today this is a safeguard.
    """
    for engine in list(_ENGINES):
        engine.dispose(close=False)


# --- ORM instances made from plain rows ------------------------------------------------------------------------


class RowEntity:
    """Columns of a mapped class's table (or of an alias of it) in a Core statement, and the instance a query would
    have loaded from them.

    For the hottest statements, read as plain rows: the ORM's own loading of a row is the larger part of their cost
    (for the viewer that every signed-in page loads, 0.2 ms of the 0.3). `instance` makes what the ORM would have
    made: the instance in the session's identity map (later queries and `get()` return it), nothing on it modified,
    and what the row did not carry (other columns, relationships) loaded on first use, as deferred and lazy
    attributes are. `set_committed_value` (sqlalchemy.orm.attributes) puts related instances in place.

    It takes the steps the ORM's loading takes for a new row (sqlalchemy.orm.loading._instance), a few of them
    private to SQLAlchemy (pinned in requirements.txt; tests/test_row_entities.py checks each behaviour): the
    identity key on the instance's state, the columns the row lacks marked expired (so that the first use of any
    of them loads them, as a query's deferred columns do), and the state attached to the session as `add()` attaches
    a detached one (`_update_impl`: the identity map, the attach events). The public way there,
    `make_transient_to_detached()` then `add()`, also expired every relationship and walked them all for the
    save-update cascade, which for a new instance finds nothing: on the signed-in topic page, which makes four of
    them, that was a fourteenth of the worker's time.
    """

    def __init__(self, cls: type, selectable: sa.FromClause | None = None, names: Sequence[str] | None = None):
        mapper = sa.inspect(cls)
        table = mapper.local_table
        if names is None:  # every column the ORM loads by default
            names = [prop.columns[0].name for prop in mapper.column_attrs if not prop.deferred]
        self.mapper = mapper
        self.columns = tuple((table if selectable is None else selectable).c[name] for name in names)
        self.keys = tuple(mapper.get_property_by_column(table.c[name]).key for name in names)
        self.width = len(self.keys)
        # Columns the row lacks, expired on each instance so that they load on first use (relationships need not
        # be: their lazy loaders fire whenever they are not loaded).
        self._unloaded = frozenset(prop.key for prop in mapper.column_attrs) - frozenset(self.keys)
        self._primary_key = tuple(self.keys.index(mapper.get_property_by_column(column).key)
                                  for column in mapper.primary_key)

    def instance(self, session: Session, values: Sequence[Any]) -> Any:
        """The instance with these values (in the order of `columns`), or None when its primary key is NULL (an outer
        join that found nothing). An instance of that identity already in the session is returned, its loaded
        values left as they are and the ones it lacks (expired by a commit, say) taken from the row, as a query
        does."""
        primary_key = tuple(values[position] for position in self._primary_key)
        if primary_key[0] is None:
            return None
        if isinstance(session, scoped_session):
            session = session()
        key = self.mapper.identity_key_from_primary_key(primary_key)
        existing = session.identity_map.get(key)
        if existing is not None:
            unloaded = sa.inspect(existing).unloaded
            if unloaded:
                for name, value in zip(self.keys, values, strict=True):
                    if name in unloaded:
                        set_committed_value(existing, name, value)
            return existing
        instance = self.mapper.class_manager.new_instance()  # (as the ORM's loading makes one: no __init__)
        loaded = instance_dict(instance)
        loaded.update(zip(self.keys, values, strict=True))  # as loaded: not modified, nothing to flush
        state = instance_state(instance)
        state.key = key
        if self._unloaded:
            state._expire_attributes(loaded, self._unloaded)
        session._update_impl(state)  # attached as add() attaches a detached instance, less the empty cascade
        return instance


@dataclass(frozen=True)
class ManyToOne:
    """A many-to-one relationship loaded with a RowGraph's root: `attribute` on the root, or on the relation named
    `owner`; of the related row, the columns `names` (None: all that the ORM loads by default). `table`: the related
    table is in the statement already (the statement joins and filters on it): read from it, join nothing."""

    attribute: str
    names: Sequence[str] | None = None
    owner: str = ""
    table: sa.FromClause | None = None


class RowGraph:
    """An instance of `cls` and the many-to-one relations it is shown with, read as one plain row: the instances a
    query joining them (joinedload) would have made, related as the ORM relates them (RowEntity).

    `columns` are the root's, then `extra` columns (returned as they are), then each relation's from an alias of its
    own; `joined(start)` outer-joins the relations to `start` (the root's table, or a join that has it). An ORM
    statement with joined eager loads compiles to some 500 KB that each worker keeps for every variant of it
    (SQLAlchemy's compiled cache); as plain columns it is a tenth of that, and loads in half the time.
    """

    def __init__(self, cls: type, *relations: ManyToOne, names: Sequence[str] | None = None,
                 extra: Sequence[sa.ColumnElement] = (), prefix: str = ""):
        mapper = sa.inspect(cls)
        self.root = RowEntity(cls, names=names)
        self.extra = tuple(extra)
        self._relations: list[tuple[ManyToOne, RowEntity]] = []
        self._joins: list[tuple[sa.FromClause, sa.ColumnElement]] = []
        selectables = {"": mapper.local_table}
        mappers = {"": mapper}
        for relation in relations:
            prop = mappers[relation.owner].relationships[relation.attribute]
            if relation.table is not None:
                alias = relation.table
            else:
                alias = prop.mapper.local_table.alias(f"{prefix or mapper.local_table.name}_{relation.attribute}")
                owner = selectables[relation.owner]
                self._joins.append((alias, sa.and_(*(
                    alias.c[remote.name] == owner.c[local.name] for local, remote in prop.local_remote_pairs))))
            self._relations.append((relation, RowEntity(prop.mapper.class_, alias, relation.names)))
            selectables[relation.attribute], mappers[relation.attribute] = alias, prop.mapper
        self.columns = (*self.root.columns, *self.extra,
                        *(column for _, entity in self._relations for column in entity.columns))
        self.root_id = self.root.keys.index("id")

    def joined(self, start: sa.FromClause) -> sa.FromClause:
        for alias, on in self._joins:
            start = start.outerjoin(alias, on)
        return start

    def load(self, session: Session, row: Sequence[Any]) -> tuple[Any, tuple[Any, ...]]:
        """The root instance (None if the row has none) and the extra columns' values."""
        end = self.root.width
        root = self.root.instance(session, row[:end])
        extra = tuple(row[end:end + len(self.extra)])
        if root is None:
            return None, extra
        end += len(self.extra)
        made = {"": root}
        for relation, entity in self._relations:
            related = entity.instance(session, row[end:end + entity.width])
            end += entity.width
            owner = made.get(relation.owner)
            if owner is not None:
                set_committed_value(owner, relation.attribute, related)
            made[relation.attribute] = related
        return root, extra


# --- A hot statement run on the driver's cursor -----------------------------------------------------------------


class KeptStatement:
    """A statement built once (at import) that is run on the driver's cursor, its compiled form worked out once.

    Every signed-in page runs the viewer's statement, and SQLAlchemy's execute() spends more of the worker's time
    on it than the driver does: hashing the statement's cache key (a nested tuple as large as the statement) to
    find its compiled form, the parameters, an execution context, a CursorResult and its fetch strategy. For a
    statement that is the same object on every call all of that is the same every time, but the parameters: here
    it is worked out once per dialect (the SQL text, the bind processors, and, on the first row, each column's
    result processor for the type the driver reports), and each call only fills in the parameters, runs the
    cursor and processes the row. Measured on the signed-in topic page (PostgreSQL): 300 µs of CPU per call
    through execute(), 190 µs here.

    The row is what execute().first() gives (a tuple: read its columns by position), and the engine's
    before_cursor_execute and after_cursor_execute events fire as for any statement (statement counts, and
    _note_writes). A statement whose compiled form depends on the call (expanding IN lists, post-compile
    parameters) runs through execute() as before, and so does any call after a driver error, which execute()
    then raises as SQLAlchemy does (and, for a lost connection, invalidates the pool).
    """

    def __init__(self, statement: sa.Executable):
        self.statement = statement
        # dialect -> _Plan, or None: run through execute(). Weak: an engine's dialect (tests make many) goes with it.
        self._plans: weakref.WeakKeyDictionary[Any, _Plan | None] = weakref.WeakKeyDictionary()

    def first(self, connection: sa.Connection, params: dict[str, Any]) -> tuple[Any, ...] | None:
        dialect = connection.dialect
        try:
            plan = self._plans[dialect]
        except KeyError:
            plan = self._plans[dialect] = _Plan.of(self.statement, dialect)
        if plan is None:
            return connection.execute(self.statement, params).first()
        values = plan.values(params)
        dispatch = connection.dispatch
        sql = plan.sql
        cursor = connection.connection.dbapi_connection.cursor()
        try:
            for listener in dispatch.before_cursor_execute:
                sql, values = listener(connection, cursor, sql, values, None, False)
            try:
                cursor.execute(sql, values)
                row = cursor.fetchone()
            except Exception:  # any driver error: execute() raises it as SQLAlchemy would
                return connection.execute(self.statement, params).first()
            for listener in dispatch.after_cursor_execute:
                listener(connection, cursor, sql, values, None, False)
            if row is None:
                return None
            processors = plan.processors
            if processors is None:
                processors = plan.learn_processors(dialect, cursor.description)
        finally:
            cursor.close()
        if processors:
            row = list(row)
            for position, processor in processors:
                row[position] = processor(row[position])
        return tuple(row)


class _Plan:
    """A KeptStatement's compiled form for one dialect."""

    def __init__(self, compiled: sa.engine.Compiled):
        self.compiled = compiled
        self.sql = compiled.string
        self._bind_processors = tuple(compiled._bind_processors.items())
        self._positions = tuple(compiled.positiontup) if compiled.positional else None
        self.processors: tuple[tuple[int, Any], ...] | None = None

    @classmethod
    def of(cls, statement: sa.Executable, dialect: sa.Dialect) -> _Plan | None:
        compiled = statement.compile(dialect=dialect)
        if compiled.literal_execute_params or compiled.post_compile_params or compiled._numeric_binds:
            return None  # (the SQL text depends on the call's values)
        return cls(compiled)

    def values(self, params: dict[str, Any]) -> Any:
        values = self.compiled.construct_params(params)
        for name, processor in self._bind_processors:
            if name in values:
                values[name] = processor(values[name])
        if self._positions is not None:
            return [values[name] for name in self._positions]
        return values

    def learn_processors(self, dialect: sa.Dialect, description: Sequence[Any]) -> tuple[tuple[int, Any], ...]:
        """Each column's result processor, for the type the driver reported (as SQLAlchemy picks them)."""
        columns = self.compiled._result_columns
        processors = []
        for position, (column, described) in enumerate(zip(columns, description, strict=True)):
            processor = column.type._cached_result_processor(dialect, described[1])
            if processor is not None:
                processors.append((position, processor))
        self.processors = tuple(processors)
        return self.processors
