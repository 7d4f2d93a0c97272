"""`flask bench-data --scale S`: realistic data, fast, for the benchmark (bench/run) and query-budget tests.

Each feature contributes one generator, `generate(conn, scale, rng) -> {"what": count}`, listed in
`generators()` in dependency order (a generator may read the rows made by the ones before it). Generators
write with SQLAlchemy Core: `insert_rows()` sends lists of dicts in batches of a few thousand, one
transaction per batch — never the ORM row by row — so scale 100 loads in seconds on SQLite.

What one unit of scale means (keep this up to date as features add generators):

- accounts: about 40 organisations (at least 5; one is the vendor) and about 1,000 users.
- forums: 8 categories, about 800 topics and 10,000 posts, with likes and read markers.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable, Iterator
from itertools import islice

import click
import sqlalchemy as sa
from flask.cli import with_appcontext

from portal.extensions import db

BATCH_SIZE = 5_000

Generator = Callable[[sa.Connection, float, random.Random], dict[str, int]]


def generators() -> list[Generator]:
    """Every feature's generator, in the order they run. A new feature appends its own here."""
    from portal.accounts import benchdata as accounts
    from portal.forums import benchdata as forums

    return [accounts.generate, forums.generate]


def insert_rows(conn: sa.Connection, table: sa.Table, rows: Iterable[dict], batch_size: int = BATCH_SIZE) -> int:
    """Insert dicts (all with the same keys) in batches, committing each batch; returns how many."""
    total = 0
    iterator: Iterator[dict] = iter(rows)
    while batch := list(islice(iterator, batch_size)):
        conn.execute(sa.insert(table), batch)
        conn.commit()
        total += len(batch)
    return total


def scaled(base: float, scale: float, minimum: int = 0) -> int:
    """`base × scale`, rounded, and never below `minimum`."""
    return max(minimum, round(base * scale))


def is_empty(conn: sa.Connection) -> bool:
    return all(conn.execute(sa.select(sa.literal(1)).select_from(t).limit(1)).first() is None
               for t in db.metadata.sorted_tables)


def delete_all(conn: sa.Connection) -> None:
    """Empty every table, children first, in one transaction (the schema and alembic_version stay)."""
    for table in reversed(db.metadata.sorted_tables):
        conn.execute(table.delete())
    conn.commit()


def load(conn: sa.Connection, scale: float, seed: int = 1) -> dict[str, int]:
    """Run every generator on an empty database; returns the counts they made, in order."""
    rng = random.Random(seed)
    counts: dict[str, int] = {}
    for generate in generators():
        counts.update(generate(conn, scale, rng))
        conn.commit()
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("ANALYZE")  # fresh planner statistics, as a long-running database would have
        conn.commit()
    return counts


@click.command("bench-data")
@click.option("--scale", type=float, default=1.0, show_default=True,
              help="Size: 1 is about 1,000 users and 40 organisations; fractions (0.1) are fine.")
@click.option("--reset", is_flag=True, help="Delete every existing row first (the database must be expendable).")
@click.option("--seed", type=int, default=1, show_default=True, help="Random seed: same seed, same data.")
@with_appcontext
def bench_data_command(scale: float, reset: bool, seed: int) -> None:
    """Fill the database with generated benchmark data (bulk inserts)."""
    from portal.accounts.benchdata import BENCH_ADMIN_EMAIL, BENCH_PASSWORD

    if scale <= 0:
        raise click.BadParameter("must be greater than 0", param_hint="--scale")
    started = time.perf_counter()
    with db.engine.connect() as conn:
        if not is_empty(conn):
            if not reset:
                raise click.ClickException(
                    "The database is not empty. bench-data only fills an expendable database: "
                    "add --reset to delete every existing row first."
                )
            delete_all(conn)
        counts = load(conn, scale, seed)
    elapsed = time.perf_counter() - started
    click.echo(f"Bench data at scale {scale:g} ({db.engine.dialect.name}), {elapsed:.1f}s:")
    for what, count in counts.items():
        click.echo(f"  {what:<16} {count:>9,}")
    click.echo(f"Bench admin sign-in: {BENCH_ADMIN_EMAIL} / {BENCH_PASSWORD}")
