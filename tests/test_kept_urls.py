"""URLs built in a request are kept for the next requests (portal.urls.Portal.url_for), and a kept URL is
always the one werkzeug would build. The session cookie's serializer is kept per set of keys, and what a cookie
held is kept until the cookie is older than the session lifetime."""

from __future__ import annotations

import flask
import flask.app
from flask import Flask, flash, url_for
from itsdangerous import URLSafeTimedSerializer

import portal.urls
from portal.urls import KEPT_URLS
from tests.factories import login, make_user


def build(app, endpoint, base_url="http://localhost/", **values):
    with app.test_request_context("/", base_url=base_url):
        return url_for(endpoint, **values)


def fresh(app, endpoint, base_url="http://localhost/", **values):
    """What plain Flask builds for the same call."""
    with app.test_request_context("/", base_url=base_url):
        return Flask.url_for(app, endpoint, **values)


def test_a_url_is_built_once_and_kept(app):
    app.kept_urls.clear()
    first = build(app, "forums.topic", slug="a-topic", topic_id=7, page=2)
    assert first == "/t/a-topic/7?page=2" == fresh(app, "forums.topic", slug="a-topic", topic_id=7, page=2)
    assert len(app.kept_urls) == 1
    assert build(app, "forums.topic", slug="a-topic", topic_id=7, page=2) == first
    assert len(app.kept_urls) == 1
    # Values in another order (another call site) are kept as another key, for the same URL.
    assert build(app, "forums.topic", page=2, topic_id=7, slug="a-topic") == first
    assert len(app.kept_urls) == 2


def test_other_values_and_anchors_are_other_urls(app):
    assert build(app, "forums.topic", slug="a", topic_id=1) == "/t/a/1"
    assert build(app, "forums.topic", slug="a", topic_id=2) == "/t/a/2"
    assert build(app, "forums.topic", slug="a", topic_id=1, _anchor="post-3") == "/t/a/1#post-3"
    # Equal as keys, different as URLs: the type is part of the key.
    assert build(app, "forums.search", q=1) == "/search?q=1"
    assert build(app, "forums.search", q=True) == "/search?q=True"
    assert build(app, "forums.search", q="1.0") == "/search?q=1.0"
    assert build(app, "forums.search", q=1.0) == "/search?q=1.0"


def test_the_script_root_is_part_of_the_key(app):
    assert build(app, "forums.home") == "/forums"
    assert build(app, "forums.home", base_url="http://localhost/community/") == "/community/forums"
    assert build(app, "forums.home") == "/forums"


def test_absolute_urls_follow_the_request_host(app):
    assert build(app, "forums.home", _external=True) == "http://localhost/forums"
    assert build(app, "forums.home", base_url="https://other.example/", _external=True) == "https://other.example/forums"


def test_values_that_cannot_be_keys_are_built_each_time(app):
    app.kept_urls.clear()
    assert build(app, "forums.search", q=["a", "b"]) == "/search?q=a&q=b"
    assert app.kept_urls == {}


def test_the_kept_urls_stay_bounded(app):
    app.kept_urls.clear()
    with app.test_request_context("/"):
        for n in range(KEPT_URLS + 10):
            assert url_for("forums.topic", slug="t", topic_id=n) == f"/t/t/{n}"
    assert len(app.kept_urls) <= KEPT_URLS


def test_pages_link_with_kept_urls(client, app):
    app.kept_urls.clear()
    first = client.get("/forums").get_data(as_text=True)
    kept = len(app.kept_urls)
    assert kept > 5 and 'href="/forums"' in first
    assert client.get("/forums").get_data(as_text=True) == first
    assert len(app.kept_urls) == kept


# --- ensure_sync: kept for plain functions ------------------------------------------------------------------


def test_plain_hooks_are_checked_once_and_returned_as_they_are(app, monkeypatch):
    checks = []
    real = flask.app.iscoroutinefunction
    monkeypatch.setattr(flask.app, "iscoroutinefunction", lambda func: checks.append(func) or real(func))

    def hook():
        return "done"

    assert app.ensure_sync(hook) is hook
    assert app.ensure_sync(hook) is hook
    assert checks == [hook]


def test_coroutines_are_still_refused_or_wrapped_and_methods_never_kept(app, monkeypatch):
    async def view():
        return "async"

    wrapped = []
    monkeypatch.setattr(app, "async_to_sync", lambda func: wrapped.append(func) or (lambda: "ran " + func.__name__))
    assert app.ensure_sync(view)() == "ran view"
    assert app.ensure_sync(view)() == "ran view"
    assert wrapped == [view]  # worked out once, then kept: the same wrapper's answer

    checks = []
    real = flask.app.iscoroutinefunction
    monkeypatch.setattr(flask.app, "iscoroutinefunction", lambda func: checks.append(func) or real(func))

    class Hooks:
        def method(self):
            return "method"

    hooks = Hooks()
    assert app.ensure_sync(hooks.method)() == "method"
    assert app.ensure_sync(hooks.method)() == "method"
    assert len(checks) == 2  # bound methods are made per access: checked every time, never kept


# --- The session cookie's serializer --------------------------------------------------------------------------


def test_the_session_serializer_is_made_once_per_set_of_keys(app):
    interface = app.session_interface
    first = interface.get_signing_serializer(app)
    assert interface.get_signing_serializer(app) is first
    old_key = app.secret_key
    cookie = first.dumps({"_user_id": "1:stamp"})
    app.secret_key = "a-new-key-of-enough-length-for-the-tests-0123456789"
    app.config["SECRET_KEY_FALLBACKS"] = [old_key]
    try:
        rotated = interface.get_signing_serializer(app)
        assert rotated is not first
        assert rotated.loads(cookie) == {"_user_id": "1:stamp"}  # the old key still reads what it signed
        assert interface.get_signing_serializer(app) is rotated
    finally:
        app.secret_key = old_key
        app.config["SECRET_KEY_FALLBACKS"] = []


def test_a_signed_in_session_survives_requests_with_the_kept_serializer(client):
    user = make_user(display_name="Kept Serializer")
    login(client, user)
    for _ in range(3):
        assert "Kept Serializer" in client.get("/").get_data(as_text=True)


# --- What a session cookie held ---------------------------------------------------------------------------------


def _reads(monkeypatch) -> list[str]:
    """The cookies the serializer actually reads (checks the signature of)."""
    reads: list[str] = []
    loads = URLSafeTimedSerializer.loads

    def counting(self, s, *args, **kwargs):
        reads.append(s)
        return loads(self, s, *args, **kwargs)

    monkeypatch.setattr(URLSafeTimedSerializer, "loads", counting)
    return reads


def _cookie(client) -> str:
    return client.get_cookie("session").value


def test_a_cookie_is_read_once_and_its_session_kept(app, client, monkeypatch):
    user = make_user(display_name="Kept Session")
    login(client, user)
    client.get("/")  # pops the sign-in flash: from here on the cookie stays the same
    reads = _reads(monkeypatch)
    for _ in range(3):
        assert "Kept Session" in client.get("/").get_data(as_text=True)
    assert reads == [_cookie(client)]  # read on the first request only


def test_a_kept_session_is_a_copy(app, client):
    user = make_user()
    login(client, user)
    client.get("/")
    cookie = _cookie(client)
    with app.test_request_context("/", headers={"Cookie": f"session={cookie}"}):
        first = app.session_interface.open_session(app, flask.request)
        first["changed"] = "here"
    with app.test_request_context("/", headers={"Cookie": f"session={cookie}"}):
        again = app.session_interface.open_session(app, flask.request)
    assert "changed" not in again and again["_user_id"] == first["_user_id"]


def test_a_kept_cookie_past_the_session_lifetime_is_refused(app, client, monkeypatch):
    user = make_user(display_name="Expiring Session")
    login(client, user)
    client.get("/")
    assert "Expiring Session" in client.get("/").get_data(as_text=True)  # kept now
    lifetime = int(app.permanent_session_lifetime.total_seconds())
    later = portal.urls.time.time() + lifetime + 5
    monkeypatch.setattr(portal.urls.time, "time", lambda: later)
    monkeypatch.setattr("itsdangerous.timed.time.time", lambda: later)
    assert "Expiring Session" not in client.get("/").get_data(as_text=True)  # signed out, as without keeping


def test_a_forged_cookie_is_never_kept_or_read_as_a_session(app, client):
    user = make_user(display_name="Forged Session")
    login(client, user)
    client.get("/")
    cookie = _cookie(client)
    forged = cookie[:-2] + ("AA" if not cookie.endswith("AA") else "BB")
    client.set_cookie("session", forged)
    assert "Forged Session" not in client.get("/").get_data(as_text=True)
    assert forged not in app.session_interface._sessions


def test_sessions_holding_lists_are_read_afresh_each_time(app, client, monkeypatch):
    app.add_url_rule("/_test/flash", "test_flash", lambda: (flash("Kept for the next page", "info"), "ok")[1])
    user = make_user()
    login(client, user)
    client.get("/")
    client.get("/_test/flash")  # the session now holds a list of flashes
    cookie = _cookie(client)
    assert "Kept for the next page" in client.get("/").get_data(as_text=True)  # read from that cookie
    assert cookie not in app.session_interface._sessions


def test_new_keys_forget_the_kept_sessions(app, client):
    user = make_user()
    login(client, user)
    client.get("/")
    client.get("/")
    interface = app.session_interface
    assert interface._sessions
    old_key = app.secret_key
    app.secret_key = "another-key-of-enough-length-for-the-tests-0123456789"
    try:
        interface.get_signing_serializer(app)
        assert interface._sessions == {}
        assert "Sign out" not in client.get("/").get_data(as_text=True)  # the old key's cookie is not read
    finally:
        app.secret_key = old_key
        interface.get_signing_serializer(app)
