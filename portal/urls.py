"""The app class: Flask, with the URLs a request builds kept for the next requests (and the answer to "is this
hook a coroutine?", and the session cookie's serializer and what it read, kept too).

A page builds a few dozen URLs (navigation, static files, each form's action), and werkzeug works each one out
afresh: on the signed-in topic page that was about a twentieth of the request. A URL relative to the site is a
pure function of the endpoint, its values and the script root, so the same call gives the same string on every
request: it is kept, in a bounded per-process dict. Anything a kept URL could not follow is built as before:
outside a request, absolute URLs (they carry the request's host), endpoints relative to the blueprint, values
that cannot be dict keys, and any app with url_defaults functions (they may read the request).
"""

from __future__ import annotations

import time
from types import FunctionType
from typing import Any

from flask import Flask, Request
from flask.globals import _cv_request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from itsdangerous import BadSignature, URLSafeTimedSerializer

from portal.templating import PortalEnvironment

KEPT_URLS = 2048  # distinct (endpoint, values) per process (about 0.5 MB); past that the dict starts again
KEPT_SESSIONS = 1024  # session cookies read, per process; past that the dict starts again
_IMMUTABLE = frozenset({str, int, float, bool, type(None)})


class KeptSerializerSessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, with the cookie serializer made once per set of secret keys, and what each
    cookie held kept once its signature is checked.

    Flask builds a new serializer (and its signer) to read the session cookie on every request; it holds no state
    but the keys, so one per (keys) serves every request and thread. Reading the cookie (HMAC, base64, tagged JSON)
    gives the same answer for the same cookie every time, until it is older than the session lifetime: so the
    answer is kept by the cookie's exact text, with the time it was signed, and a kept cookie past its lifetime is
    read again (and refused) as before. Only sessions of plain values are kept (a session gets a copy of them);
    one holding a list or a dict (pending flash messages) is read afresh each time. New keys start afresh.
    """

    def __init__(self) -> None:
        self._kept: tuple[tuple, URLSafeTimedSerializer | None] | None = None
        self._sessions: dict[str, tuple[dict[str, Any], int]] = {}

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        keys = (app.secret_key, tuple(app.config.get("SECRET_KEY_FALLBACKS") or ()))
        kept = self._kept
        if kept is not None and kept[0] == keys:
            return kept[1]
        serializer = super().get_signing_serializer(app)
        self._kept = (keys, serializer)
        self._sessions = {}
        return serializer

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        serializer = self.get_signing_serializer(app)
        if serializer is None:
            return None
        cookie = request.cookies.get(self.get_cookie_name(app))
        if not cookie:
            return self.session_class()
        max_age = int(app.permanent_session_lifetime.total_seconds())
        sessions = self._sessions
        kept = sessions.get(cookie)
        if kept is not None and 0 <= int(time.time()) - kept[1] <= max_age:  # (itsdangerous's test of its age)
            return self.session_class(kept[0])
        try:
            data, signed_at = serializer.loads(cookie, max_age=max_age, return_timestamp=True)
        except BadSignature:
            return self.session_class()
        if all(type(value) in _IMMUTABLE for value in data.values()):
            if len(sessions) >= KEPT_SESSIONS:
                sessions.clear()
            sessions[cookie] = (data, int(signed_at.timestamp()))
        return self.session_class(data)


class Portal(Flask):
    jinja_environment = PortalEnvironment
    session_interface = KeptSerializerSessionInterface()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.kept_urls: dict[tuple, str] = {}
        self._sync_functions: dict[Any, Any] = {}

    def ensure_sync(self, func: Any) -> Any:
        """Flask asks this of every hook, view and context processor on every request, and inspect's coroutine
        check costs more than some of them: the answer for a plain function is kept (there are a few dozen)."""
        if type(func) is not FunctionType:  # bound methods and partials may be made per request: not kept
            return super().ensure_sync(func)
        try:
            return self._sync_functions[func]
        except KeyError:
            sync = self._sync_functions[func] = super().ensure_sync(func)
            return sync

    def url_for(self, /, endpoint: str, *, _anchor: str | None = None, _method: str | None = None,
                _scheme: str | None = None, _external: bool | None = None, **values: Any) -> str:
        request_context = _cv_request.get(None)
        if request_context is None or _external or _scheme is not None or endpoint[:1] == "." \
                or any(self.url_default_functions.values()):
            return super().url_for(endpoint, _anchor=_anchor, _method=_method, _scheme=_scheme,
                                   _external=_external, **values)
        # The values as the call gave them (another order is another key, for the same URL). Their types are part
        # of the key: page=1 and page=True are equal keys but different URLs.
        key = (request_context.url_adapter.script_name, endpoint, _anchor, _method, *values.items(),
               *map(type, values.values()))
        try:
            return self.kept_urls[key]
        except KeyError:
            pass
        except TypeError:  # a value that cannot be a key (a list, say)
            return super().url_for(endpoint, _anchor=_anchor, _method=_method, _external=_external, **values)
        build = super().url_for
        url = build(endpoint, _anchor=_anchor, _method=_method, _external=_external, **values)
        if len(self.kept_urls) >= KEPT_URLS:
            self.kept_urls.clear()
        self.kept_urls[key] = url
        return url
