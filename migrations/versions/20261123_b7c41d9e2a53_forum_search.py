"""forum search: PostgreSQL tsvector columns + GIN indexes, SQLite FTS5 tables + triggers

The search objects differ per database and are not in the models' metadata: portal/search.py lists them in
SEARCH_OBJECTS, migrations/env.py and tests/test_migrations.py skip them when comparing the schema with the
models, and the migration test checks that they exist at head. Keep the DDL here as it is (a migration is a
snapshot); a later change to the search objects adds a migration.

SQLite note for later migrations: batch mode rebuilds a table by copying it, which drops its triggers. A migration
that alters `posts` or `topics` on SQLite must recreate the `*_fts_a[idu]` triggers below (the migration test
fails otherwise).

Revision ID: b7c41d9e2a53
Revises: 3f33aa1edd10
Create Date: 2026-11-23 16:20:00.000000

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'b7c41d9e2a53'
down_revision = '3f33aa1edd10'
branch_labels = None
depends_on = None


# Titles weigh more than bodies: PostgreSQL labels title lexemes 'A' (ts_rank weight 1.0, bodies 'D': 0.1).
POSTGRESQL_UP = [
    "ALTER TABLE posts ADD COLUMN search_vector tsvector"
    " GENERATED ALWAYS AS (to_tsvector('english'::regconfig, body)) STORED",
    "CREATE INDEX ix_posts_search_vector ON posts USING gin (search_vector)",
    "ALTER TABLE topics ADD COLUMN search_vector tsvector"
    " GENERATED ALWAYS AS (setweight(to_tsvector('english'::regconfig, title), 'A')) STORED",
    "CREATE INDEX ix_topics_search_vector ON topics USING gin (search_vector)",
]
POSTGRESQL_DOWN = [
    "DROP INDEX ix_topics_search_vector",
    "ALTER TABLE topics DROP COLUMN search_vector",
    "DROP INDEX ix_posts_search_vector",
    "ALTER TABLE posts DROP COLUMN search_vector",
]


def _sqlite_fts(table: str, column: str) -> list[str]:
    """An external-content FTS5 index of table.column, kept in sync by triggers, filled from the rows."""
    fts = f"{table}_fts"
    return [
        f"CREATE VIRTUAL TABLE {fts} USING fts5({column}, content='{table}', content_rowid='id',"
        " tokenize='porter unicode61 remove_diacritics 2')",
        f"CREATE TRIGGER {fts}_ai AFTER INSERT ON {table} BEGIN"
        f" INSERT INTO {fts}(rowid, {column}) VALUES (new.id, new.{column}); END",
        f"CREATE TRIGGER {fts}_ad AFTER DELETE ON {table} BEGIN"
        f" INSERT INTO {fts}({fts}, rowid, {column}) VALUES ('delete', old.id, old.{column}); END",
        f"CREATE TRIGGER {fts}_au AFTER UPDATE OF {column} ON {table} BEGIN"
        f" INSERT INTO {fts}({fts}, rowid, {column}) VALUES ('delete', old.id, old.{column});"
        f" INSERT INTO {fts}(rowid, {column}) VALUES (new.id, new.{column}); END",
        f"INSERT INTO {fts}({fts}) VALUES ('rebuild')",
    ]


SQLITE_UP = _sqlite_fts("posts", "body") + _sqlite_fts("topics", "title")
SQLITE_DOWN = [
    f"DROP TRIGGER {fts}_{suffix}" for fts in ("topics_fts", "posts_fts") for suffix in ("au", "ad", "ai")
] + ["DROP TABLE topics_fts", "DROP TABLE posts_fts"]


def _run(statements: list[str]) -> None:
    for statement in statements:
        op.execute(statement)


def upgrade():
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        _run(POSTGRESQL_UP)
    elif dialect == "sqlite":
        _run(SQLITE_UP)


def downgrade():
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        _run(POSTGRESQL_DOWN)
    elif dialect == "sqlite":
        _run(SQLITE_DOWN)
