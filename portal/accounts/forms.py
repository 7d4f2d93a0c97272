"""Account forms: input shapes only. Rules live in accounts.services."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, IntegerField, PasswordField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, EqualTo, InputRequired, Length, NumberRange, Optional

from portal.accounts.models import Tier
from portal.permissions import Role


def options(pairs) -> list[SelectChoice]:
    """(value, label) pairs as select options."""
    return [SelectChoice(value, label) for value, label in pairs]


EMAIL = [DataRequired("Enter your email address."), Length(max=254, message="That address is too long.")]
PASSWORD = [DataRequired("Enter a password."), Length(max=1024, message="Use at most 1024 characters.")]


class SignUpForm(FlaskForm):
    display_name = StringField(
        "Your name", validators=[DataRequired("Enter your name."), Length(max=80, message="Use at most 80 characters.")]
    )
    email = StringField("Email", validators=EMAIL)
    password = PasswordField("Password", validators=PASSWORD, description="At least 10 characters.")


class SignInForm(FlaskForm):
    email = StringField("Email", validators=EMAIL)
    password = PasswordField("Password", validators=[DataRequired("Enter your password.")])
    remember = BooleanField("Keep me signed in on this device")
    next = HiddenField()


class EmailOnlyForm(FlaskForm):
    email = StringField("Email", validators=EMAIL)


class ResetPasswordForm(FlaskForm):
    password = PasswordField("New password", validators=PASSWORD, description="At least 10 characters.")
    confirm = PasswordField(
        "Repeat the new password",
        validators=[DataRequired("Repeat the new password."), EqualTo("password", "The two passwords don't match.")],
    )


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField("Current password", validators=[DataRequired("Enter your current password.")])
    new_password = PasswordField("New password", validators=PASSWORD, description="At least 10 characters.")
    confirm = PasswordField(
        "Repeat the new password",
        validators=[
            DataRequired("Repeat the new password."),
            EqualTo("new_password", "The two passwords don't match."),
        ],
    )


class ChangeEmailForm(FlaskForm):
    new_email = StringField("New email address", validators=EMAIL)
    password = PasswordField("Current password", validators=[DataRequired("Enter your current password.")])


class ProfileForm(FlaskForm):
    display_name = StringField(
        "Display name",
        validators=[DataRequired("Enter your name."), Length(max=80, message="Use at most 80 characters.")],
    )
    job_title = StringField(
        "Job title", validators=[Optional(), Length(max=120, message="Use at most 120 characters.")]
    )
    bio = TextAreaField(
        "Short bio",
        validators=[Optional(), Length(max=500, message="Use at most 500 characters.")],
        description="Plain text, up to 500 characters. Shown on your public profile.",
    )
    timezone = SelectField("Time zone", validate_choice=False, description="Dates and times are shown in this zone.")


class SubmitForm(FlaskForm):
    """A POST button: nothing but the CSRF token."""


# --- Administration -------------------------------------------------------------------------------

ROLE_CHOICES = options((role.value, role.label) for role in Role)
TIER_CHOICES = options((tier.value, tier.label) for tier in Tier)
SUSPEND_CHOICES = options([
    ("1", "1 day"),
    ("3", "3 days"),
    ("7", "1 week"),
    ("30", "30 days"),
    ("90", "90 days"),
    ("365", "1 year"),
    ("forever", "Until further notice"),
])


class UserFilterForm(FlaskForm):
    """The admin user list's filters (GET, no CSRF: it changes nothing)."""

    class Meta:
        csrf = False

    q = StringField("Search", validators=[Optional(), Length(max=100)])
    role = SelectField("Role", choices=[SelectChoice("", "Any role"), *ROLE_CHOICES], validators=[Optional()])
    organization = SelectField("Organisation", validators=[Optional()], validate_choice=False)
    status = SelectField(
        "Status",
        choices=options([
            ("", "Any status"),
            ("suspended", "Suspended"),
            ("active", "Not suspended"),
            ("unverified", "Unverified"),
        ]),
        validators=[Optional()],
    )


class RoleForm(FlaskForm):
    role = SelectField("Role", choices=ROLE_CHOICES)


class UserOrganizationForm(FlaskForm):
    organization = SelectField("Organisation", validate_choice=False)


def suspend_days(form) -> int | None:
    """The days a form's `duration` field asks for a suspension; None: until further notice."""
    return None if form.duration.data == "forever" else int(form.duration.data)


class SuspendForm(FlaskForm):
    duration = SelectField("Suspend for", choices=SUSPEND_CHOICES, default="7")
    reason = TextAreaField(
        "Reason (the user sees this)",
        validators=[DataRequired("Give a reason: the user sees it at sign-in."), Length(max=500)],
    )


class OrganizationForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired("Enter the organisation's name."), Length(max=120)])
    email_domain = StringField(
        "Email domain",
        validators=[Optional(), Length(max=253)],
        description="Verified users with an address at this domain join the organisation automatically.",
    )
    tier = SelectField("Tier", choices=TIER_CHOICES)
    annual_value = IntegerField(
        "Annual value",
        default=0,
        validators=[InputRequired("Enter a whole number (0 if unknown)."), NumberRange(min=0, max=10**12)],
        description="Yearly contract value in whole currency units.",
    )
    is_vendor = BooleanField("This is the vendor (our own company)")
