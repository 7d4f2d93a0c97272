"""Per-request account upkeep: loading the user, ending suspended sessions, recording presence."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask import flash, g, has_request_context, redirect, request, url_for
from flask_login import current_user, logout_user
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm.attributes import set_committed_value

from portal.accounts import bp
from portal.accounts.models import Organization, User
from portal.accounts.services import suspension_message, touch_last_seen
from portal.db import KeptStatement, RowEntity
from portal.extensions import db, login_manager
from portal.notifications.services import unread_count_query
from portal.templating import format_datetime

# The viewer is read as a plain row and made into the User a query would have loaded (portal.db.RowEntity): every
# signed-in request loads them, and the ORM's own loading of the row cost twice what running the statement does.
_USER = RowEntity(User)
_ORGANIZATION = RowEntity(Organization)
_USERS = User.__table__
_ORGANIZATIONS = Organization.__table__
_STAMP = _USER.keys.index("session_stamp")


def viewer_statement() -> sa.Select:
    """The viewer's columns (`user_id`; `_USER.columns`) and the bell's unread count. A page may add its own columns
    after them (see `with_viewer`)."""
    return sa.select(*_USER.columns, unread_count_query(sa.bindparam("user_id"))).where(
        _USERS.c.id == sa.bindparam("user_id")
    )


# The signed-in viewer, the bell's unread count and the viewer's organisation (which User loads with it, lazy="joined"),
# in one statement built once (every signed-in request runs it; building and cache-keying a select each time costs
# more than running it).
_VIEWER = KeptStatement(viewer_statement().add_columns(*_ORGANIZATION.columns).select_from(
    _USERS.outerjoin(_ORGANIZATIONS, _ORGANIZATIONS.c.id == _USERS.c.organization_id)
))


Params = Callable[[Mapping[str, Any], Mapping[str, Any]], dict[str, Any]]


@dataclass(frozen=True)
class WithViewer:
    """A page's first statement, run as part of the viewer's (one round trip fewer on every signed-in view).

    `statement` is `viewer_statement()` with the page's columns added (outer-joined, so that the viewer's row
    comes back whatever the page's own rows are); `params` makes its parameters from the URL's view arguments and
    query string. `on_postgresql`, if given, is run instead on PostgreSQL: the same columns first, then more that
    only PostgreSQL can fold into one row (where a second round trip costs more than the statement).
    """

    statement: KeptStatement
    params: Params
    on_postgresql: KeptStatement | None = None


_WITH_VIEWER: dict[str, WithViewer] = {}


def with_viewer(endpoint: str, statement: sa.Select, params: Params, *, on_postgresql: sa.Select | None = None) -> None:
    """Load `endpoint`'s first statement with the viewer; the view takes its columns with `loaded_with_viewer`."""
    _WITH_VIEWER[endpoint] = WithViewer(KeptStatement(statement), params,
                                        None if on_postgresql is None else KeptStatement(on_postgresql))


def loaded_with_viewer(endpoint: str, viewer: Any) -> tuple[dict[str, Any], tuple[Any, ...]] | None:
    """The parameters the page's columns were read with and the columns, read with this viewer in this request
    (once), or None: then the page reads them."""
    loaded = g.pop("portal_with_viewer", None)
    if loaded is None or loaded[0] != endpoint or not getattr(viewer, "is_authenticated", False) \
            or loaded[1] != viewer.id:
        return None
    return loaded[2], loaded[3]


@login_manager.user_loader
def load_user(session_id: str) -> User | None:
    user_id, _, stamp = session_id.partition(":")
    if not user_id.isdigit():
        return None
    page = _WITH_VIEWER.get(request.endpoint or "") if has_request_context() else None
    params = {"user_id": int(user_id)}
    connection = db.session.connection()
    statement = _VIEWER
    if page is not None:
        params |= page.params(request.view_args or {}, request.args)
        statement = page.statement
        if page.on_postgresql is not None and connection.dialect.name == "postgresql":
            statement = page.on_postgresql
    # The bell's unread count rides on the statement that loads the user: no page pays a statement for it.
    row = statement.first(connection, params)
    if row is None or not stamp or row[_STAMP] != stamp:
        return None
    user = _USER.instance(db.session, row[:_USER.width])
    user.unread_notifications = row[_USER.width]
    others = tuple(row[_USER.width + 1:])
    if page is None:
        set_committed_value(user, "organization", _ORGANIZATION.instance(db.session, others))
    else:  # (the page's statement leaves the organisation to load on first use, as the page never shows it)
        g.portal_with_viewer = (request.endpoint, user.id, params, others)
    return user


@bp.before_app_request
def account_upkeep():
    if request.endpoint == "static":
        return None
    user = current_user._get_current_object()  # once: each use of the proxy looks the user up again
    if not user.is_authenticated:
        return None
    if user.is_suspended:
        message = suspension_message(user, format_datetime(user.suspended_until))
        logout_user()
        flash(message, "danger")
        return redirect(url_for("accounts.sign_in"))
    try:
        if touch_last_seen(user):
            db.session.commit()
    except OperationalError:  # presence is best-effort: never fail a page because the database is busy
        db.session.rollback()
    return None
