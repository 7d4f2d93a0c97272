"""The date filters every list and topic page uses: worded in the viewer's time zone, escaped, and kept."""

from __future__ import annotations

import re
import zoneinfo
from datetime import UTC, datetime, timedelta
from pathlib import Path

from flask import g
from flask import session as request_session
from flask_wtf.csrf import validate_csrf

from portal.templating import _datetime_text, _signed_csrf_token, ago_tag, format_datetime, time_tag
from tests.factories import login, make_post, make_topic, make_user
from tests.forums.pages import topic_path


def test_ago_tag_gives_machine_time_the_local_date_as_tooltip_and_relative_words(app):
    moment = datetime.now(UTC) - timedelta(minutes=5, seconds=3)
    with app.test_request_context("/"):
        g.viewer_tz = "Asia/Tokyo"
        html = str(ago_tag(moment))
    local = moment.astimezone(zoneinfo.ZoneInfo("Asia/Tokyo"))
    assert html.startswith(f'<time datetime="{moment.isoformat()}" title="{local.day} {local:%b %Y, %H:%M}')
    assert "(Asia/Tokyo)" in html
    assert html.endswith(">5 min ago</time>")
    assert str(ago_tag(None)) == ""


def test_time_tag_and_format_datetime_word_the_moment_in_the_zone_given(app):
    moment = datetime(2026, 3, 29, 0, 30, tzinfo=UTC)  # the night Europe/Paris moves to summer time
    with app.test_request_context("/"):
        assert format_datetime(moment, "Europe/Paris") == "29 Mar 2026, 01:30 (Europe/Paris)"
        assert format_datetime(moment + timedelta(hours=1), "Europe/Paris") == "29 Mar 2026, 03:30 (Europe/Paris)"
        assert format_datetime(moment, "Europe/Paris", with_zone=False) == "29 Mar 2026, 01:30"
        assert str(time_tag(moment, "UTC")) == (
            '<time datetime="2026-03-29T00:30:00+00:00">29 Mar 2026, 00:30 (UTC)</time>')


def test_a_zone_name_is_escaped_where_it_is_shown(app):
    """Zone names come from a validated list, but the tags escape what they show all the same."""
    moment = datetime(2026, 1, 2, 3, 4, tzinfo=UTC)
    with app.test_request_context("/"):
        g.viewer_tz = "<b>Not/A_Zone</b>"  # unknown: shown as UTC time, under the name given
        html = str(ago_tag(moment))
    assert "<b>" not in html and "&lt;b&gt;" in html


def test_worded_dates_are_kept_per_moment_and_zone(app):
    moment = datetime(2025, 7, 1, 12, 0, tzinfo=UTC)
    _datetime_text.cache_clear()
    with app.test_request_context("/"):
        for _ in range(3):
            format_datetime(moment, "America/New_York")
        format_datetime(moment, "Asia/Kolkata")
    info = _datetime_text.cache_info()
    assert (info.hits, info.misses) == (2, 2)


# --- The CSRF token: signed once per session and process -------------------------------------------------------


def _page_tokens(client, path: str) -> set[str]:
    return set(re.findall(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"',
                          client.get(path).get_data(as_text=True)))


def test_a_sessions_pages_share_one_signed_token_that_flask_wtf_accepts(csrf_app):
    topic = make_topic(title="A page full of forms")
    make_post(topic, body="Something to like and quote.")
    path = topic_path(topic)
    _signed_csrf_token.cache_clear()
    first, second = csrf_app.test_client(), csrf_app.test_client()
    login(first, make_user())
    login(second, make_user())
    one, again = _page_tokens(first, path), _page_tokens(first, path)
    assert len(one) == 1 and one == again
    assert _signed_csrf_token.cache_info().hits >= 1
    other = _page_tokens(second, path)
    assert len(other) == 1 and other != one  # each session its own

    with first.session_transaction() as session:
        raw = session["csrf_token"]
    with csrf_app.test_request_context("/"):
        request_session["csrf_token"] = raw
        validate_csrf(next(iter(one)))  # raises if Flask-WTF would refuse it


def test_a_form_posted_with_the_kept_token_goes_through_and_a_forged_one_does_not(csrf_app):
    topic = make_topic(title="Liking with the kept token")
    reply = make_post(topic, body="A reply worth a like.")
    client = csrf_app.test_client()
    login(client, make_user())
    html = client.get(topic_path(topic)).get_data(as_text=True)
    (token,) = set(re.findall(r'name="csrf_token" value="([^"]+)"', html))
    forged = client.post(f"/p/{reply.id}/like", data={"csrf_token": token[:-2] + "xx"})
    assert forged.status_code == 400
    liked = client.post(f"/p/{reply.id}/like", data={"csrf_token": token})
    assert liked.status_code == 302
    assert "1 like" in client.get(topic_path(topic)).get_data(as_text=True)


def test_with_a_time_limit_every_request_signs_its_own(csrf_app):
    csrf_app.config["WTF_CSRF_TIME_LIMIT"] = 3600
    topic = make_topic(title="Tokens with a time limit")
    _signed_csrf_token.cache_clear()
    client = csrf_app.test_client()
    login(client, make_user())
    assert _page_tokens(client, topic_path(topic))
    assert _signed_csrf_token.cache_info().currsize == 0


# --- Template globals ---------------------------------------------------------------------------------------


def test_template_globals_see_the_environments_and_their_own_and_keys_is_a_dict_view(app):
    env = app.jinja_env
    template = env.from_string("{{ own }} {{ later() }}", globals={"own": "mine"})
    env.globals["later"] = lambda: "added after loading"
    try:
        assert template.render() == "mine added after loading"
        keys = template.globals.keys()
        assert type(keys) is type({}.keys())
        assert {"own", "later", "url_for"} <= set(keys)
    finally:
        del env.globals["later"]


def test_an_imported_macro_module_is_built_once_not_on_every_render(app, monkeypatch):
    """Pages import _macros/forms.html: Jinja builds the module afresh whenever the importing context
    has globals the imported template lacks, which it decides by a set difference on keys()."""
    env = app.jinja_env
    forms = env.get_template("_macros/forms.html")
    built = []
    make_module = forms.make_module
    monkeypatch.setattr(forms, "make_module", lambda *args, **kwargs: built.append(1) or make_module(*args, **kwargs))
    forms._module = None
    page = env.get_template("forums/reply.html")
    assert page.globals.keys() - forms.globals.keys() == set()
    importing = env.from_string('{% import "_macros/forms.html" as forms %}{{ forms.submit_button is defined }}')
    with app.test_request_context("/"):
        assert [importing.render() for _ in range(3)] == ["True"] * 3
    assert len(built) == 1


def test_the_pages_markup_is_ascii_with_entities_for_typography():
    """A page whose every character is ASCII is joined and encoded by Python one byte a character; one "·" in the
    markup makes every string of the page two bytes a character (CPython's compact strings) and its encoding a
    conversion: the topic page's chrome carried four such characters. So pages' markup writes them as entities
    (&middot; &mdash; &hellip; &hearts;); inside Jinja expressions (escaped output) and in emails they stay."""
    root = Path(__file__).resolve().parent.parent / "templates"
    tags = re.compile(r"({{.*?}}|{%.*?%}|{#.*?#})", re.S)
    found = {
        str(path.relative_to(root)): sorted({c for text in tags.split(path.read_text(encoding="utf-8"))[::2]
                                             for c in text if ord(c) > 127})
        for path in root.rglob("*.html") if path.parts[len(root.parts)] != "emails"
    }
    assert {name: chars for name, chars in found.items() if chars} == {}


def test_the_topic_page_is_ascii_for_ascii_content(app, client):
    user = make_user(display_name="Ascii Reader")
    topic = make_topic(title="Plain words only", body="Plain body.")
    make_post(topic, body="A plain reply.")
    login(client, user)
    page = client.get(topic_path(topic)).get_data()
    assert page.isascii() and b"&middot;" in page and b"&hearts;" in page


def test_a_render_context_holds_the_globals_and_the_variables_as_jinja_makes_it(app):
    """PortalTemplate.new_context merges the globals in C; the context is the one Jinja's own new_context makes."""
    from jinja2 import Template
    from jinja2.runtime import new_context

    from portal.templating import PortalTemplate

    env = app.jinja_env
    template = env.from_string("{{ shown }} {{ site_name_global }}", globals={"shown": "the template's own"})
    assert isinstance(template, PortalTemplate)
    env.globals["site_name_global"] = "from the environment"
    try:
        ours = template.new_context({"extra": 1})
        jinjas = new_context(env, template.name, template.blocks, {"extra": 1}, False, template.globals, None)
        assert ours.parent == jinjas.parent and ours.vars == jinjas.vars
        assert Template.new_context(template, {"shown": "a variable"}).parent["shown"] == "a variable"
        assert template.new_context({"shown": "a variable"}).parent["shown"] == "a variable"  # variables win
        assert template.render() == "the template&#39;s own from the environment"
        env.globals["site_name_global"] = "changed later"  # the environment's globals are read on each render
        assert template.render() == "the template&#39;s own changed later"
    finally:
        del env.globals["site_name_global"]
