"""Small helpers every feature's views share."""

from __future__ import annotations

from flask_wtf import FlaskForm

from portal.errors import RuleViolation

FORM_ERROR_STATUS = 422


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
