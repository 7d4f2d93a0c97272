"""portal.web.saved: a form's service call commits what it did, or rolls it back and shows the service's refusal on
the form (under the field it names, else at the top)."""

from __future__ import annotations

import sqlalchemy as sa
from flask_wtf import FlaskForm
from wtforms import StringField

from portal.accounts.models import User
from portal.errors import RuleViolation
from portal.extensions import db
from portal.web import saved
from tests.factories import make_user, reload


class NameForm(FlaskForm):
    class Meta:
        csrf = False

    name = StringField()


def _rename(user: User, name: str, refuse: RuleViolation | None = None):
    def action() -> str:
        user.display_name = name
        db.session.flush()
        if refuse is not None:
            raise refuse
        return name

    return action


def test_a_call_that_succeeds_is_committed_and_gives_its_result(app):
    user = make_user(display_name="Before")
    with app.test_request_context("/", method="POST"):
        form = NameForm()
        assert saved(form, _rename(user, "After")) == (True, "After")
        assert not form.errors and not form.form_errors
    db.session.rollback()  # nothing left to roll back: it was committed
    assert reload(user).display_name == "After"


def test_a_refusal_is_rolled_back_and_shown_under_its_field(app):
    user = make_user(display_name="Before")
    with app.test_request_context("/", method="POST"):
        form = NameForm()
        done = saved(form, _rename(user, "Refused", RuleViolation("That name is taken.", field="name")))
        assert done == (False, None)
        assert form.name.errors == ["That name is taken."]
    assert db.session.scalar(sa.select(User.display_name).where(User.id == user.id)) == "Before"


def test_a_refusal_naming_no_field_is_shown_at_the_top_of_the_form(app):
    user = make_user(display_name="Before")
    with app.test_request_context("/", method="POST"):
        form = NameForm()
        assert saved(form, _rename(user, "Refused", RuleViolation("Not now.")))[0] is False
        assert form.form_errors == ["Not now."] and not form.name.errors
    assert reload(user).display_name == "Before"
