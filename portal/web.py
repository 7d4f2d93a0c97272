"""Small helpers every feature's views share."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import flash
from flask_wtf import FlaskForm

from portal.errors import RuleViolation
from portal.extensions import db

FORM_ERROR_STATUS = 422
T = TypeVar("T")


def show_violation(form: FlaskForm, violation: RuleViolation) -> None:
    """Put a service's RuleViolation on the form: under its field when it names one, else at the top."""
    field = getattr(form, violation.field, None) if violation.field else None
    if field is not None and hasattr(field, "errors"):
        field.errors = [*list(field.errors or []), violation.message]
    else:
        form.form_errors.append(violation.message)


def form_status(form: FlaskForm) -> int:
    """200 for a fresh form, 422 when it comes back with errors."""
    return FORM_ERROR_STATUS if form.errors else 200


def saved(form: FlaskForm, action: Callable[[], T]) -> tuple[bool, T | None]:
    """Run a form's service call: commit and give (True, what it returned); or, when the service refuses, roll
    back, put its RuleViolation on the form (show_violation) and give (False, None)."""
    try:
        result = action()
    except RuleViolation as violation:
        db.session.rollback()
        show_violation(form, violation)
        return False, None
    db.session.commit()
    return True, result


def carry_out(action: Callable[[], Any], done: str, refused: str = "warning") -> bool:
    """Run a service call for a button's POST: commit and flash `done`, or roll back and flash why the service
    refused (a RuleViolation's message). True when it was done."""
    try:
        action()
    except RuleViolation as violation:
        db.session.rollback()
        flash(violation.message, refused)
        return False
    db.session.commit()
    flash(done, "success")
    return True
