"""Notifying people: one entry point, `notify()`, called inside the caller's transaction.

A notification is a row for its person (the bell, the notifications page). Whether it also becomes an email,
and when, is decided here from the person's preference for its kind: immediately (after EMAIL_DELAY_MINUTES,
skipped if they have seen it in the app by then), in the digest, or not at all. Only confirmed addresses get
email. Rolled back with the action that caused it, a notification never existed and no email goes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app

from portal.db import UTCDateTime, utcnow
from portal.extensions import db
from portal.notifications.kinds import get_kind
from portal.notifications.models import EmailMode, EmailPreference, EmailStatus, Notification

# The bell counts at most this many (shown as "99+"), so its subquery stops early however many are unread.
BELL_CAP = 100


def email_modes(user_ids: Iterable[int], kinds: Iterable[str]) -> dict[tuple[int, str], EmailMode]:
    """Each (user, kind)'s email mode: their preference, else the kind's default (one statement)."""
    user_ids, kinds = list(set(user_ids)), list(set(kinds))
    modes = {(u, k): get_kind(k).default_email for u in user_ids for k in kinds}
    if user_ids and kinds:
        rows = db.session.execute(
            sa.select(EmailPreference.user_id, EmailPreference.kind, EmailPreference.mode).where(
                EmailPreference.user_id.in_(user_ids), EmailPreference.kind.in_(kinds)
            )
        )
        modes.update({(u, k): mode for u, k, mode in rows})
    return modes


def notify(user: Any, kind: str, target: Any, actor: Any = None, *, now: datetime | None = None) -> Notification | None:
    """Tell `user` that `actor` did `kind` to `target`; None when it is their own action."""
    made = notify_many({user: kind}, target, actor, now=now)
    return made[0] if made else None


def notify_many(
    recipients: Mapping[Any, str], target: Any, actor: Any = None, *, now: datetime | None = None
) -> list[Notification]:
    """One notification for each person in `recipients` (person → kind) about one target, in one go.

    Never the actor themselves. The email side follows each person's preference for the kind.
    """
    now = now or utcnow()
    people = {u.id: (u, k) for u, k in recipients.items() if u is not None and (actor is None or u.id != actor.id)}
    if not people:
        return []
    modes = email_modes(people, {k for _, k in people.values()})
    delay = timedelta(minutes=current_app.config["EMAIL_DELAY_MINUTES"])
    made = []
    for user_id, (user, kind_name) in people.items():
        kind = get_kind(kind_name)
        where = kind.resolve(target)
        mode = modes[(user_id, kind_name)] if user.is_verified else EmailMode.OFF
        notification = Notification(
            user_id=user_id, kind=kind.name, actor_id=actor.id if actor is not None else None,
            topic_id=where.topic_id, post_id=where.post_id, post_number=where.post_number,
            subject=where.subject[:250], excerpt=where.excerpt[:300], url=where.url, created_at=now,
            email_status={EmailMode.IMMEDIATELY: EmailStatus.PENDING, EmailMode.DIGEST: EmailStatus.DIGEST}.get(
                mode, EmailStatus.NONE),
            email_due_at=now + delay if mode == EmailMode.IMMEDIATELY else None,
        )
        made.append(notification)
    db.session.add_all(made)
    db.session.flush()
    return made


def _seen_values(now: datetime) -> dict[str, Any]:
    """Reading a notification settles its email: one not sent yet will not be (neither alone nor in a digest)."""
    at = sa.literal(now, UTCDateTime())
    return {
        "read_at": at,
        "email_status": sa.case(
            (Notification.email_status.in_([EmailStatus.PENDING, EmailStatus.DIGEST]), EmailStatus.SEEN.value),
            else_=Notification.email_status,
        ),
    }


def mark_read(notification: Notification, now: datetime | None = None) -> bool:
    """Mark one notification read; False if it already was."""
    changed = db.session.execute(
        sa.update(Notification)
        .where(Notification.id == notification.id, Notification.read_at.is_(None))
        .values(**_seen_values(now or utcnow())),
        execution_options={"synchronize_session": "fetch"},
    ).rowcount
    return bool(changed)


def mark_all_read(user: Any, now: datetime | None = None) -> int:
    """Mark every unread notification of a person read; returns how many."""
    return db.session.execute(
        sa.update(Notification)
        .where(Notification.user_id == user.id, Notification.read_at.is_(None))
        .values(**_seen_values(now or utcnow())),
        execution_options={"synchronize_session": "fetch"},
    ).rowcount


def _known_unread(user_id: int) -> int | None:
    """The signed-in viewer's unread count, when this request already read it with the user (load_user)."""
    from flask import has_request_context
    from flask_login import current_user

    if not has_request_context() or not getattr(current_user, "is_authenticated", False):
        return None
    if current_user.id != user_id:
        return None
    return getattr(current_user, "unread_notifications", None)


def mark_seen_in_topic(user_id: int, topic_id: int, up_to_number: int, now: datetime | None = None) -> int:
    """Reading a topic up to a post counts as seeing the notifications about the posts read (as in Discourse).

    Free when the reader has nothing unread (the bell's count, read with the user, says so): then no statement.
    """
    if _known_unread(user_id) == 0:
        return 0
    return db.session.execute(
        sa.update(Notification)
        .where(
            Notification.user_id == user_id,
            Notification.read_at.is_(None),
            Notification.topic_id == topic_id,
            Notification.post_number <= up_to_number,
        )
        .values(**_seen_values(now or utcnow())),
        execution_options={"synchronize_session": False},
    ).rowcount


def unread_count_query(user_id: int) -> sa.ScalarSelect:
    """The bell's number as a scalar subquery, capped at BELL_CAP: it rides on the statement loading the user.

    Counting over a LIMITed subquery reads at most BELL_CAP index entries of (user_id, read_at), however many
    unread notifications someone has.
    """
    unread = (
        sa.select(sa.literal(1).label("one"))
        .where(Notification.user_id == user_id, Notification.read_at.is_(None))
        .limit(BELL_CAP)
        .subquery()
    )
    return sa.select(sa.func.count()).select_from(unread).scalar_subquery()
