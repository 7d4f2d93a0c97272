"""Per-request account upkeep: loading the user, ending suspended sessions, recording presence."""

from __future__ import annotations

import sqlalchemy as sa
from flask import flash, redirect, request, url_for
from flask_login import current_user, logout_user
from sqlalchemy.exc import OperationalError

from portal.accounts import bp
from portal.accounts.models import User
from portal.accounts.services import suspension_message, touch_last_seen
from portal.extensions import db, login_manager
from portal.notifications.services import unread_count_query
from portal.templating import format_datetime

# The signed-in viewer and the bell's unread count, in one statement built once (every signed-in request runs it;
# building and cache-keying a select each time costs more than running it).
_VIEWER = sa.select(User, unread_count_query(sa.bindparam("user_id"))).where(User.id == sa.bindparam("user_id"))


@login_manager.user_loader
def load_user(session_id: str) -> User | None:
    user_id, _, stamp = session_id.partition(":")
    if not user_id.isdigit():
        return None
    # The bell's unread count rides on the statement that loads the user: no page pays a statement for it.
    row = db.session.execute(_VIEWER, {"user_id": int(user_id)}).first()
    if row is None or not stamp or row[0].session_stamp != stamp:
        return None
    user = row[0]
    user.unread_notifications = row[1]
    return user


@bp.before_app_request
def account_upkeep():
    if request.endpoint == "static" or not current_user.is_authenticated:
        return None
    if current_user.is_suspended:
        message = suspension_message(current_user, format_datetime(current_user.suspended_until))
        logout_user()
        flash(message, "danger")
        return redirect(url_for("accounts.sign_in"))
    try:
        if touch_last_seen(current_user):
            db.session.commit()
    except OperationalError:  # presence is best-effort: never fail a page because the database is busy
        db.session.rollback()
    return None
