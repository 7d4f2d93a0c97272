"""Whole-page cache for anonymous readers, in Redis, that no write can leave stale.

Forum pages read by signed-out visitors (most of a community's traffic) are the same for all of them. A view
decorated with `@anonymous_page` is answered from Redis when the visitor is signed out, has no message waiting
(flash) and the page was rendered since the last change; otherwise it is rendered, and stored if it is the
same for every signed-out visitor (200, and the session untouched, so no cookie is set).

Invalidation is by a content version, one Redis counter: every committed transaction that wrote anything
visible (any table but the private ones below) increments it after the commit, and cache keys carry the version
read at the start of the request. A page rendered from data older than a commit is stored under a version no
later request asks for, so no reader ever sees a page older than the last commit it could have seen. Entries
also expire after PAGE_CACHE_SECONDS (relative times like "5 min ago" stay roughly right).

Without REDIS_URL (development, most tests) or with PAGE_CACHE_SECONDS=0 there is no cache and nothing changes.
"""

from __future__ import annotations

import contextlib
import functools
import logging
from collections.abc import Callable
from typing import Any

import redis
import sqlalchemy as sa
from flask import Response, current_app, request, session
from flask_login import current_user
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)

# Writes to these never change what a signed-out visitor sees.
PRIVATE_TABLES = frozenset({
    "topic_reads", "outbox_emails", "account_tokens", "audit_entries", "flags", "review_items",
    "alembic_version",
    # notifications: each person's own, never on a public page
    "notifications", "topic_watches", "category_watches", "notification_email_preferences", "digest_settings",
    "digest_runs", "job_runs",
})
# Statements may say so themselves: .execution_options(private_write=True) (e.g. presence updates).
PRIVATE_WRITE = "private_write"
_CHANGED = "portal_public_change"
_KEPT_HEADERS = ("Content-Type", "Content-Language", "Last-Modified")


def _client() -> redis.Redis | None:
    """The app's Redis client for the cache, or None when the cache is off."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if app.extensions.get("portal_page_cache") is None:
        url = app.config.get("REDIS_URL") or ""
        enabled = bool(url) and int(app.config.get("PAGE_CACHE_SECONDS") or 0) > 0
        app.extensions["portal_page_cache"] = (
            redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5) if enabled else False
        )
    return app.extensions["portal_page_cache"] or None


def _key(*parts: str) -> str:
    return ":".join([current_app.config.get("PAGE_CACHE_PREFIX", "portal"), *parts])


def content_version() -> str | None:
    client = _client()
    if client is None:
        return None
    try:
        return (client.get(_key("content-version")) or b"0").decode()
    except redis.RedisError:
        log.warning("Page cache: Redis unavailable, serving uncached", exc_info=True)
        return None


def content_changed() -> None:
    """Every cached page is now out of date (called after a commit that wrote public content)."""
    client = _client()
    if client is None:
        return
    try:
        client.incr(_key("content-version"))
    except redis.RedisError:
        # Entries expire on their own; until Redis is back nothing is read from it either.
        log.warning("Page cache: could not bump the content version", exc_info=True)


def _cacheable_visitor() -> bool:
    if request.method not in ("GET", "HEAD"):
        return False
    if "_user_id" in session or "_flashes" in session:  # checked without loading a user
        return False
    return not current_user.is_authenticated


def anonymous_page(view: Callable[..., Any]) -> Callable[..., Any]:
    """Serve this view from the page cache for signed-out visitors (see the module docstring)."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if not _cacheable_visitor():
            return view(*args, **kwargs)
        version = content_version()
        if version is None:
            return view(*args, **kwargs)
        key = _key("page", version, request.full_path)
        client = _client()
        try:
            cached = client.hgetall(key) if client is not None else None
        except redis.RedisError:
            cached = None
        if cached:
            headers = {k.decode(): v.decode() for k, v in cached.items() if k not in (b"body", b"status")}
            headers["X-Page-Cache"] = "hit"
            return Response(cached[b"body"], status=int(cached[b"status"]), headers=headers)
        response = current_app.make_response(view(*args, **kwargs))
        response.headers["X-Page-Cache"] = "miss"
        if response.status_code == 200 and not session.modified and not response.headers.get("Set-Cookie") \
                and not response.direct_passthrough:
            mapping = {"body": response.get_data(), "status": str(response.status_code)}
            mapping |= {h: response.headers[h] for h in _KEPT_HEADERS if h in response.headers}
            try:
                pipe = client.pipeline()
                pipe.hset(key, mapping=mapping)
                pipe.expire(key, int(current_app.config["PAGE_CACHE_SECONDS"]))
                pipe.execute()
            except redis.RedisError:
                log.warning("Page cache: could not store %s", request.path, exc_info=True)
        return response

    return wrapper


# --- Knowing when a transaction changed public content -----------------------------------------------------


def _is_public(table_name: str | None) -> bool:
    return table_name is not None and table_name not in PRIVATE_TABLES


def install_invalidation() -> None:
    """Session hooks: note public writes (ORM flushes and DML statements), bump the version after commit."""
    if getattr(install_invalidation, "installed", False):
        return
    install_invalidation.installed = True  # type: ignore[attr-defined]

    @sa.event.listens_for(Session, "after_flush")
    def _after_flush(session: Session, _context: Any) -> None:
        for obj in (*session.new, *session.dirty, *session.deleted):
            if _is_public(getattr(obj, "__tablename__", None)):
                session.info[_CHANGED] = True
                return

    @sa.event.listens_for(Session, "do_orm_execute")
    def _on_execute(state: Any) -> None:
        if not (state.is_insert or state.is_update or state.is_delete):
            return
        if state.execution_options.get(PRIVATE_WRITE) or state.statement.get_execution_options().get(PRIVATE_WRITE):
            return
        table = getattr(state.statement, "table", None)
        if _is_public(getattr(table, "name", None)):
            state.session.info[_CHANGED] = True

    @sa.event.listens_for(Session, "after_commit")
    def _after_commit(session: Session) -> None:
        if session.info.pop(_CHANGED, False):
            # Outside an app context (scripts) nothing is cached, so nothing needs invalidating.
            with contextlib.suppress(RuntimeError):
                content_changed()
    # No reset on rollback: a rolled-back write (or savepoint) only costs one needless invalidation at the next
    # commit, while clearing the mark on a savepoint's rollback could lose an earlier write's.
