"""URLs built in a request are kept for the next requests (portal.urls.Portal.url_for), and a kept URL is
always the one werkzeug would build."""

from __future__ import annotations

import flask.app
from flask import Flask, url_for

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
    assert build(app, "forums.topic", page=2, topic_id=7, slug="a-topic") == first  # any order of values
    assert len(app.kept_urls) == 1


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
