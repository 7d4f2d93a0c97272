"""Moderation forms: input shapes only (the rules are in portal.moderation.flags)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, RadioField, SelectField, TextAreaField
from wtforms.validators import Length

from portal.accounts.forms import SUSPEND_CHOICES, options


class AgreeForm(FlaskForm):
    action = RadioField("The post", choices=options([("hide", "Keep it hidden"), ("delete", "Delete it")]),
                        default="hide")
    warn = BooleanField("Warn the author")
    suspend = BooleanField("Also suspend the author")
    duration = SelectField("Suspend for", choices=SUSPEND_CHOICES, default="7")
    reason = TextAreaField("Reason (the author reads it if warned or suspended; kept in the audit log)",
                           validators=[Length(max=500, message="Use at most 500 characters.")])


class RejectForm(FlaskForm):
    reason = TextAreaField("Reason (the author reads it in their notification)",
                           validators=[Length(max=500, message="Use at most 500 characters.")])
    suspend = BooleanField("Also suspend the author")
    duration = SelectField("Suspend for", choices=SUSPEND_CHOICES, default="7")
