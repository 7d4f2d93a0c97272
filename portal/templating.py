"""Jinja globals and filters shared by every page."""

from __future__ import annotations

import collections
import functools
import re
import zoneinfo
from datetime import UTC, datetime
from typing import Any

from flask import Flask, current_app, g, has_request_context, request, session, url_for
from flask.templating import Environment
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from itsdangerous import URLSafeTimedSerializer
from jinja2 import Template
from markupsafe import Markup, escape

from portal import permissions
from portal.pagination import page_numbers


def viewer_timezone() -> str:
    """The signed-in viewer's time zone, else UTC (looked up once per request: pages show many dates)."""
    if has_request_context() and "viewer_tz" in g:
        return g.viewer_tz
    viewer = current_user._get_current_object() if has_request_context() else None
    tz = getattr(viewer, "timezone", None) if getattr(viewer, "is_authenticated", False) else None
    if has_request_context():
        g.viewer_tz = tz or "UTC"
    return tz or "UTC"


@functools.lru_cache(maxsize=64)
def zone_info(name: str) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo("UTC")


def format_datetime(value: datetime | None, tz: str | None = None, with_zone: bool = True) -> str:
    """`23 Nov 2026, 14:05 (Europe/Paris)` in the viewer's time zone (or `tz`)."""
    if value is None:
        return ""
    return _datetime_text(value, tz or viewer_timezone(), with_zone)


@functools.lru_cache(maxsize=512)
def _datetime_text(value: datetime, zone_name: str, with_zone: bool) -> str:
    """Kept, as `_date_text` is: list pages word the same few dozen moments on every view."""
    local = value.astimezone(zone_info(zone_name))
    text = f"{local.day} {local:%b %Y, %H:%M}"
    return f"{text} ({zone_name})" if with_zone else text


def format_date(value: datetime | None, tz: str | None = None) -> str:
    if value is None:
        return ""
    return _date_text(value, tz or viewer_timezone())


@functools.lru_cache(maxsize=512)
def _date_text(value: datetime, zone_name: str) -> str:
    """`23 November 2026`; kept, since a page of older posts words the same dates on every view."""
    local = value.astimezone(zone_info(zone_name))
    return f"{local.day} {local:%B %Y}"


def time_tag(value: datetime | None, tz: str | None = None) -> Markup:
    """A <time> element: machine-readable UTC, human-readable local time."""
    if value is None:
        return Markup("")
    # (isoformat() is digits and "-:.+T": nothing to escape. An f-string, since Markup.format's formatter costs
    # more than the rest of the tag on list pages.)
    return Markup(f'<time datetime="{value.isoformat()}">{escape(format_datetime(value, tz))}</time>')  # noqa: S704


def relative_time(value: datetime | None, now: datetime | None = None, tz: str | None = None) -> str:
    """`just now`, `5 min ago`, `3 h ago`, `2 d ago`; older than a month, the date (in `tz` or the viewer's)."""
    if value is None:
        return ""
    seconds = ((now or datetime.now(UTC)) - value).total_seconds()
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{int(seconds // 60)} min ago"
    if seconds < 86400:
        return f"{int(seconds // 3600)} h ago"
    if seconds < 30 * 86400:
        return f"{int(seconds // 86400)} d ago"
    return format_date(value, tz)


def ago_tag(value: datetime | None) -> Markup:
    """A <time> element showing relative time, with the full local date and time as its tooltip."""
    if value is None:
        return Markup("")
    return Markup(  # noqa: S704 (as time_tag: the date is escaped, isoformat() needs no escaping)
        f'<time datetime="{value.isoformat()}" title="{escape(format_datetime(value))}">'
        f"{escape(relative_time(value))}</time>"
    )


def absolute_url(endpoint: str, **values) -> str:
    """SITE_URL + the endpoint's path: for links in emails, which have no request to be relative to."""
    adapter = current_app.url_map.bind("", script_name=current_app.config.get("APPLICATION_ROOT") or "/")
    return current_app.config["SITE_URL"] + adapter.build(endpoint, values, force_external=False)


def csrf_token() -> str:
    """The request's CSRF token, worked out once per request (Flask-WTF's generate_csrf reads the config, the
    session and `g` on every call, and a staff member's topic page has a dozen forms)."""
    if not has_request_context():
        return generate_csrf()
    token = g.get("portal_csrf_token")
    if token is None:
        token = g.portal_csrf_token = _request_csrf_token()
    return token


def _request_csrf_token() -> str:
    """Flask-WTF's signed token for this session, signed once per process rather than on every page.

    Flask-WTF signs the session's random token afresh for each request (a timestamped signature, with the key
    derived again each time): a twentieth of a topic page's time. With WTF_CSRF_TIME_LIMIT off, as here (tokens
    live as long as the session), the timestamp is never checked, so one signature serves every page of the
    session. With a time limit configured, every request signs anew, as Flask-WTF does.
    """
    config = current_app.config
    field = config.get("WTF_CSRF_FIELD_NAME", "csrf_token")
    raw = session.get(field)
    if not isinstance(raw, str) or config.get("WTF_CSRF_TIME_LIMIT") is not None or field in g:
        return generate_csrf()  # a new session's first token (stored in the session), or signed with a time
    token = _signed_csrf_token(config.get("WTF_CSRF_SECRET_KEY") or current_app.secret_key, raw)
    setattr(g, field, token)  # Flask-WTF's own per-request place: its forms' hidden fields show the same token
    return token


@functools.lru_cache(maxsize=1024)
def _signed_csrf_token(secret_key: str | bytes, raw: str) -> str:
    return URLSafeTimedSerializer(secret_key, salt="wtf-csrf-token").dumps(raw)


TOKEN_MARK = Markup("<!--csrf-token-->")  # where a kept fragment's forms take the request's CSRF token
# Kept fragments, each a few KB: the header (per viewer), and for the topic page the staff tools, the reply box and
# the watch menus, which take the topic's addresses as fills and so serve every topic in the same state.
KEPT_FRAGMENTS = 128


def _fill_mark(name: str) -> Markup:
    return Markup(f"<!--fill:{name}-->")  # noqa: S704 (a fixed comment: no user text)


_MARKS = re.compile(r"<!--(csrf-token|fill:\w+)-->")
_TOKEN = "csrf-token"  # noqa: S105 (the name of the CSRF token's mark, not a secret)


@functools.lru_cache(maxsize=KEPT_FRAGMENTS)
def _kept(template: str, macro: str, script_root: str, args: tuple, fills: tuple[str, ...]) -> tuple[str, ...]:
    """The macro's output cut at its marks: text, mark, text, … text (each mark "csrf-token" or a fill's name)."""
    made = getattr(current_app.jinja_env.get_template(template).module, macro)
    parts = _MARKS.split(str(made(*args, TOKEN_MARK, **{name: _fill_mark(name) for name in fills})))
    return tuple(part if i % 2 == 0 or part == _TOKEN else part[len("fill:"):] for i, part in enumerate(parts))


def kept_fragment(template: str, macro: str, *args, **fills) -> Markup:
    """The output of `macro` in `template` for these arguments, rendered once per process and kept.

    For page parts that are a pure function of a few values (a menu of forms, a row of staff buttons) but cost
    Jinja real work on every view. The macro must read nothing else: no request, no viewer, no time; it gets
    the arguments, then a mark to put where its forms take the CSRF token, which is filled in per request. Each
    keyword argument (`fills`) reaches the macro as a mark too, and its value, escaped, is put in its place per
    call: values that only appear in the markup (a form's address, an id, a name), so that one kept fragment serves
    them all. A fill's value cannot steer the macro (its mark is always true): pass what decides as an argument.
    The arguments must be hashable and the marks cannot come from user text, which Jinja always escapes. With
    template auto-reload (development) the macro is rendered afresh, so template edits show at once.
    """
    render = _kept.__wrapped__ if current_app.jinja_env.auto_reload else _kept
    parts = render(template, macro, request.script_root if has_request_context() else "", args, tuple(sorted(fills)))
    if len(parts) == 1:
        return Markup(parts[0])  # noqa: S704 (macro output, escaped by Jinja)
    # One pass over the kept parts: each mark's value is put in once, and never searched for marks itself.
    values = {name: escape(value) for name, value in fills.items()}
    if _TOKEN in parts:
        values[_TOKEN] = csrf_token()
    html = [parts[0]]
    for i in range(1, len(parts), 2):
        html += (values[parts[i]], parts[i + 1])
    return Markup("".join(html))  # noqa: S704 (macro output: escaped by Jinja; fills escaped here; user text never holds a mark)


def pagination(page: Any, endpoint: str, **values: Any) -> Markup:
    """A list's page links, for a Page (portal.pagination) or Flask-SQLAlchemy's Pagination: nothing for one page.

    The links are kept (_macros/pages.html): one fragment per page number and count, the list's address (the
    endpoint with `values`, None leaving one out) a fill. A function rather than a macro: calling a macro with
    keyword arguments cost Jinja a thirtieth of the signed-in topic page.
    """
    if page.pages <= 1:
        return Markup("")
    base = url_for(endpoint, **values)
    return kept_fragment("_macros/pages.html", "pages", page.page, page.pages, page_numbers(page),
                         base=base + ("&" if "?" in base else "?"))


def site_header() -> Markup:
    """The site header (templates/_macros/header.html, kept) with this request's inputs: where the reader is, what
    they may reach, and for a signed-in reader who they are and their counts. Worked out here rather than in
    base.html, where each of its dozen lookups and calls costs Jinja more than in Python, on every page."""
    user = current_user._get_current_object()
    here = request.path
    if user.is_authenticated:
        viewer = (user.id, user.display_name, user.role.label if permissions.is_staff(user) else None,
                  getattr(user, "unread_notifications", 0), here.startswith("/notifications"),
                  user.posts_awaiting_approval)
        sign_in_next = None
    else:
        viewer = None
        sign_in_next = request.full_path if request.endpoint not in _NO_SIGN_IN_NEXT and request.method == "GET" \
            else None
    return kept_fragment(
        "_macros/header.html", "site_header", current_app.config["SITE_NAME"],
        here.startswith(("/forums", "/latest", "/c/", "/t/", "/new")), permissions.can_see_staff_queue(user),
        here.startswith("/staff"), permissions.can_administer_site(user), here.startswith("/admin"),
        request.args.get("q", "") if request.endpoint == "forums.search" else None, viewer, sign_in_next,
    )


# Pages whose sign-in link does not come back to them.
_NO_SIGN_IN_NEXT = ("accounts.sign_in", "accounts.sign_up", "main.index")


class _TemplateGlobals(collections.ChainMap):
    """A template's globals (Jinja's ChainMap over the environment's), with keys() as a plain dict view.

    Jinja works out `context globals - imported template's globals.keys()` on every `{% import %}`; on a ChainMap's
    KeysView that set difference runs in Python over every global, a twentieth of the topic page's rendering. A
    dict view makes it one C call. Lookups, and changes to the environment's globals, behave as before.
    """

    def keys(self):  # type: ignore[override]
        return self.merged().keys()

    def merged(self) -> dict:
        """The globals as one new dict (the template's own over the environment's)."""
        merged: dict = {}
        for mapping in reversed(self.maps):
            merged.update(mapping)
        return merged


class PortalTemplate(Template):
    """Jinja's Template, whose render context starts from its globals merged in C.

    Jinja makes each render's context with `dict(globals, **vars)`; over a ChainMap that calls the ChainMap's
    __getitem__, in Python, once per global (some sixty): a twentieth of the signed-in topic page's rendering.
    The context is the same dict, made with two dict updates and the render's variables.
    """

    def new_context(self, vars=None, shared=False, locals=None):  # type: ignore[override]
        globals_ = self.globals
        if shared or locals or not isinstance(globals_, _TemplateGlobals):
            return super().new_context(vars, shared, locals)
        parent = globals_.merged()
        if vars:
            parent.update(vars)
        return self.environment.context_class(self.environment, parent, self.name, self.blocks, globals=globals_)


class PortalEnvironment(Environment):
    """Flask's Jinja environment, with _TemplateGlobals and PortalTemplate for each template
    (Portal.jinja_environment)."""

    template_class = PortalTemplate

    def make_globals(self, d):  # type: ignore[override]
        return _TemplateGlobals({} if d is None else d, self.globals)


def register_templating(app: Flask) -> None:
    app.jinja_env.globals["kept_fragment"] = kept_fragment
    app.jinja_env.globals["site_header"] = site_header
    app.jinja_env.globals["pagination"] = pagination
    app.jinja_env.globals["csrf_token"] = csrf_token  # instead of Flask-WTF's: the same token, once per request
    app.jinja_env.globals.update(permissions.TEMPLATE_PERMISSIONS)
    app.jinja_env.globals["absolute_url"] = absolute_url
    app.jinja_env.globals["config_value"] = lambda key: current_app.config.get(key)
    app.jinja_env.filters["datetime"] = format_datetime
    app.jinja_env.filters["date"] = format_date
    app.jinja_env.filters["time_tag"] = time_tag
    app.jinja_env.filters["ago"] = ago_tag

    @app.context_processor
    def site_context():
        return {"site_name": current_app.config["SITE_NAME"]}
