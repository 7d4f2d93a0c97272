"""Email preferences: a mode per kind (off, immediately, digest) and when the digest comes; one-click unsubscribe.

Unsubscribe links carry an itsdangerous token signed with SECRET_KEY under a salt of their own, naming the person
and the kind (or "digest"): they work signed out, expire after UNSUBSCRIBE_LINK_DAYS, and do nothing else.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from portal.errors import RuleViolation
from portal.extensions import db
from portal.notifications.kinds import KINDS
from portal.notifications.models import DigestFrequency, DigestSettings, EmailMode, EmailPreference
from portal.notifications.services.notify import email_modes

DIGEST = "digest"  # the unsubscribe "kind" of the digest itself
UNSUBSCRIBE_SALT = "portal.notifications.unsubscribe"
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@dataclass(frozen=True)
class DigestSchedule:
    frequency: DigestFrequency
    hour: int
    weekday: int


def default_schedule() -> DigestSchedule:
    config = current_app.config
    return DigestSchedule(DigestFrequency(config["DIGEST_DEFAULT_FREQUENCY"]), config["DIGEST_DEFAULT_HOUR"],
                          config["DIGEST_DEFAULT_WEEKDAY"])


def digest_schedule(user: Any) -> DigestSchedule:
    row = db.session.get(DigestSettings, user.id)
    if row is None:
        return default_schedule()
    return DigestSchedule(row.frequency, row.hour, row.weekday)


def modes_for(user: Any) -> dict[str, EmailMode]:
    """The person's email mode for every registered kind (their choice, else the kind's default)."""
    return {kind: mode for (_, kind), mode in email_modes([user.id], KINDS).items()}


def _enum(cls: type, raw: Any, field: str, message: str):
    try:
        return cls(raw)
    except ValueError:
        raise RuleViolation(message, field=field) from None


def save_preferences(user: Any, modes: Mapping[str, Any], frequency: Any, hour: Any, weekday: Any) -> None:
    """Store a person's email mode per kind and their digest schedule (rows only where they differ from defaults)."""
    checked: dict[str, EmailMode] = {}
    for kind, raw in modes.items():
        if kind not in KINDS:
            raise RuleViolation("That kind of notification doesn't exist.")
        checked[kind] = _enum(EmailMode, raw, f"email_{kind}", "Choose off, immediately or in the digest.")
    frequency = _enum(DigestFrequency, frequency, "digest_frequency", "Choose never, daily or weekly.")
    try:
        hour, weekday = int(hour), int(weekday)
    except (TypeError, ValueError):
        raise RuleViolation("Choose an hour and a day from the lists.", field="digest_hour") from None
    if not 0 <= hour <= 23:
        raise RuleViolation("Choose an hour between 00:00 and 23:00.", field="digest_hour")
    if not 0 <= weekday <= 6:
        raise RuleViolation("Choose a day of the week.", field="digest_weekday")
    for kind, mode in checked.items():
        set_email_mode(user, kind, mode)
    row = db.session.get(DigestSettings, user.id)
    if row is None:
        row = DigestSettings(user_id=user.id)
        db.session.add(row)
    row.frequency, row.hour, row.weekday = frequency, hour, weekday
    db.session.flush()


def set_email_mode(user: Any, kind: str, mode: EmailMode) -> None:
    """One kind's email mode; the kind's default leaves no row."""
    db.session.execute(sa.delete(EmailPreference).where(EmailPreference.user_id == user.id,
                                                        EmailPreference.kind == kind))
    if mode != KINDS[kind].default_email:
        db.session.add(EmailPreference(user_id=user.id, kind=kind, mode=mode))
    db.session.flush()


def unsubscribe(user: Any, kind: str) -> None:
    """No more email of this kind (or no more digests): what an unsubscribe link does."""
    if kind == DIGEST:
        schedule = digest_schedule(user)
        row = db.session.get(DigestSettings, user.id)
        if row is None:
            row = DigestSettings(user_id=user.id, hour=schedule.hour, weekday=schedule.weekday)
            db.session.add(row)
        row.frequency = DigestFrequency.OFF
        db.session.flush()
        return
    if kind not in KINDS:
        raise RuleViolation("That kind of notification doesn't exist.")
    set_email_mode(user, kind, EmailMode.OFF)


# --- Unsubscribe tokens --------------------------------------------------------------------------------------


class UnsubscribeProblem(Exception):
    """A token that is forged, cut off, for an unknown kind or person ("invalid"), or too old ("expired")."""

    def __init__(self, status: str):
        super().__init__(status)
        self.status = status


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=UNSUBSCRIBE_SALT)


def unsubscribe_token(user: Any, kind: str) -> str:
    """A token that turns off one kind of email (or the digest) for one person."""
    return _serializer().dumps({"u": user.id, "k": kind})


def read_unsubscribe_token(token: str) -> tuple[Any, str]:
    """The person and kind a token names; raises UnsubscribeProblem."""
    from portal.accounts.models import User

    max_age = current_app.config["UNSUBSCRIBE_LINK_DAYS"] * 86400
    try:
        data = _serializer().loads(token, max_age=max_age)
    except SignatureExpired:
        raise UnsubscribeProblem("expired") from None
    except BadSignature:
        raise UnsubscribeProblem("invalid") from None
    if not isinstance(data, dict) or not isinstance(data.get("u"), int) or not isinstance(data.get("k"), str):
        raise UnsubscribeProblem("invalid")
    kind = data["k"]
    if kind != DIGEST and kind not in KINDS:
        raise UnsubscribeProblem("invalid")
    user = db.session.get(User, data["u"])
    if user is None:
        raise UnsubscribeProblem("invalid")
    return user, kind


def kind_label(kind: str) -> str:
    return "The digest" if kind == DIGEST else KINDS[kind].label
