"""Helpers for tests: query counting, CSRF tokens, reading the outbox, free ports."""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import sqlalchemy as sa

from portal.extensions import db


@dataclass
class QueryLog:
    statements: list[str] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.statements)

    def __str__(self) -> str:
        return "\n".join(f"{i + 1}. {s}" for i, s in enumerate(self.statements))


@contextmanager
def count_queries() -> Iterator[QueryLog]:
    """Record every SQL statement the app's engine runs inside the block (BEGIN/COMMIT excluded)."""
    log = QueryLog()
    engine = db.engine

    def record(conn, cursor, statement, parameters, context, executemany):
        if not statement.lstrip().upper().startswith(("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")):
            log.statements.append(" ".join(statement.split()))

    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        yield log
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)


def csrf_token(client, path: str = "/signin") -> str:
    """A valid CSRF token for this client's session, read from a rendered form."""
    html = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html) or re.search(
        r'name="csrf_token" value="([^"]+)"', html
    )
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def outbox(template: str | None = None, to: str | None = None):
    """Emails queued so far (oldest first), optionally of one template or to one address."""
    from portal.notifications.models import OutboxEmail

    db.session.commit()  # ends the transaction: the next read sees what others committed
    query = sa.select(OutboxEmail).order_by(OutboxEmail.id)
    if template:
        query = query.where(OutboxEmail.template == template)
    if to:
        query = query.where(OutboxEmail.to_address == to)
    return list(db.session.scalars(query))


def link_from(email, prefix: str) -> str:
    """The path of the first link in an email's text that starts with `prefix` (e.g. "/verify/")."""
    match = re.search(r"https?://[^/\s]+(" + re.escape(prefix) + r"[^\s]+)", email.body_text)
    assert match, f"no {prefix} link in: {email.body_text}"
    return match.group(1)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


_CSRF_VALUE = re.compile(r'(name="csrf_token"[^>]*value=")[^"]*(")|(value=")[^"]*("[^>]*name="csrf_token")')


def page_without_secrets(response, *emails: str) -> str:
    """A page's HTML with its CSRF tokens (signed with a timestamp, so they change every second) and the
    given addresses masked: two answers that must not tell accounts apart compare equal on this."""
    html = response.get_data(as_text=True)
    html = _CSRF_VALUE.sub(lambda m: (m.group(1) or m.group(3)) + "TOKEN" + (m.group(2) or m.group(4)), html)
    for email in emails:
        html = html.replace(email, "EMAIL")
    return html
