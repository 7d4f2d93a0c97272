"""Notification forms: input only (the choices come from the kind registry and the enums)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField
from wtforms.validators import InputRequired

from portal.accounts.forms import options
from portal.notifications.kinds import KINDS
from portal.notifications.models import DigestFrequency, EmailMode
from portal.notifications.services.preferences import WEEKDAYS


class WatchForm(FlaskForm):
    """A watch button: the level it sets (checked by the service)."""

    level = HiddenField()


def email_field_name(kind: str) -> str:
    return f"email_{kind}"


def email_settings_form(**kwargs) -> FlaskForm:
    """The notification settings form: one email mode per registered kind, and the digest's schedule."""

    class EmailSettingsForm(FlaskForm):
        digest_frequency = SelectField("How often", choices=options((f.value, f.label) for f in DigestFrequency),
                                       validators=[InputRequired("Choose how often.")])
        digest_hour = SelectField("At", choices=options((str(h), f"{h:02d}:00") for h in range(24)),
                                  validators=[InputRequired("Choose an hour.")],
                                  description="In your time zone (set on your profile settings).")
        digest_weekday = SelectField("On (weekly digests)",
                                     choices=options((str(i), d) for i, d in enumerate(WEEKDAYS)),
                                     validators=[InputRequired("Choose a day.")])

    for kind in KINDS.values():
        setattr(EmailSettingsForm, email_field_name(kind.name), SelectField(
            kind.label, choices=options((m.value, m.label) for m in EmailMode),
            validators=[InputRequired("Choose off, immediately or in the digest.")],
        ))
    return EmailSettingsForm(**kwargs)
