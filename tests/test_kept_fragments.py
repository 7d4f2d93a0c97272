"""Page parts rendered once per distinct input and kept (portal.templating.kept_fragment): the topic page's staff
tools and the watch menus. Whatever was kept, each viewer sees the current state and their own token."""

from __future__ import annotations

import re

import sqlalchemy as sa
from flask import render_template_string
from markupsafe import Markup

from portal.accounts.models import User
from portal.extensions import db
from portal.forums import services as forums
from portal.notifications.models import WatchLevel
from portal.notifications.services import watching
from portal.permissions import Role
from portal.templating import TOKEN_MARK, _kept
from tests.factories import login, make_category, make_topic, make_user, reload
from tests.forums.pages import raw, topic_path


def staff_tools(response) -> str:
    match = re.search(r'<div class="staff-tools.*?</div>', raw(response), re.S)
    assert match, "no staff tools"
    return match.group(0)


def watch_menu(response) -> str:
    match = re.search(r'<details class="watch-menu.*?</details>', raw(response), re.S)
    assert match, "no watch menu"
    return match.group(0)


def tokens(html: str) -> set[str]:
    return set(re.findall(r'name="csrf_token" value="([^"]*)"', html))


def test_staff_tools_show_the_topic_as_it_is_now(app):
    _kept.cache_clear()
    topic = make_topic(make_category(), title="Staff tools that follow the topic")
    sam, kim = make_user(role=Role.STAFF, display_name="Sam Staff"), make_user(role=Role.STAFF, display_name="Kim")
    sam_client, kim_client = app.test_client(), app.test_client()
    login(sam_client, sam)
    login(kim_client, kim)
    tools = staff_tools(sam_client.get(topic_path(topic)))
    assert ">Pin<" in tools and ">Lock<" in tools and "Not assigned" in tools and "Assign to me" in tools

    forums.set_pinned(sam, reload(topic), True)
    forums.assign_topic(sam, reload(topic), sam)
    db.session.commit()
    tools = staff_tools(sam_client.get(topic_path(topic)))
    assert ">Unpin<" in tools and "Assigned to Sam Staff" in tools and "Unassign me" in tools
    other = staff_tools(kim_client.get(topic_path(topic)))
    assert "Assign to me" in other and f'name="assignee" value="{kim.id}"' in other
    # Each viewer's own token in every form, and no mark left.
    assert tokens(tools) != tokens(other) and len(tokens(tools)) == len(tokens(other)) == 1
    assert str(TOKEN_MARK) not in tools + other


def test_an_assignee_name_is_escaped_in_the_kept_tools(app):
    topic = make_topic(make_category(), title="Names in kept fragments")
    odd = make_user(role=Role.STAFF, display_name="<!--csrf-token--><b>Odd</b>")
    forums.assign_topic(odd, reload(topic), odd)
    db.session.commit()
    client = app.test_client()
    login(client, make_user(role=Role.STAFF))
    tools = staff_tools(client.get(topic_path(topic)))
    assert "&lt;!--csrf-token--&gt;&lt;b&gt;Odd&lt;/b&gt;" in tools and "<b>Odd" not in tools


def test_the_watch_menu_shows_the_level_chosen_now(app, client):
    topic = make_topic(make_category(), title="Watch menus that follow the choice")
    reader = make_user()
    login(client, reader)
    assert re.search(r'aria-pressed="true">Normal', watch_menu(client.get(topic_path(topic))))
    watching.set_topic_watch(reader, reload(topic), WatchLevel.WATCHING)
    db.session.commit()
    menu = watch_menu(client.get(topic_path(topic)))
    assert re.search(r'aria-pressed="true">Watching', menu) and not re.search(r'aria-pressed="true">Normal', menu)
    assert len(tokens(menu)) == 1 and "" not in tokens(menu)


def test_a_fragment_is_rendered_once_per_distinct_input(app):
    _kept.cache_clear()
    template = "notifications/_watch_menu.html"
    call = "{{ kept_fragment(t, 'menu', level, 'topic', action=action) }}"
    with app.test_request_context("/"):
        first = render_template_string(call, t=template, level=WatchLevel.NORMAL, action="/w/1")
        again = render_template_string(call, t=template, level=WatchLevel.NORMAL, action="/w/1")
        # The address is a fill: another topic's menu at the same level is the same kept fragment, filled in.
        other = render_template_string(call, t=template, level=WatchLevel.NORMAL, action="/w/2")
        muted = render_template_string(call, t=template, level=WatchLevel.MUTED, action="/w/2")
    assert first == again and 'action="/w/1"' in first and 'action="/w/2"' in other and "/w/1" not in other
    assert re.search(r'aria-pressed="true">Muted', muted)
    info = _kept.cache_info()
    assert (info.misses, info.hits) == (2, 2)


def test_fills_are_escaped_and_cannot_steer_the_fragment(app):
    _kept.cache_clear()
    call = "{{ kept_fragment('notifications/_watch_menu.html', 'menu', level, 'topic', action=action) }}"
    with app.test_request_context("/"):
        html = render_template_string(call, level=WatchLevel.NORMAL, action='/w?a=1&b="2"<!--csrf-token-->')
    assert 'action="/w?a=1&amp;b=&#34;2&#34;&lt;!--csrf-token--&gt;"' in html
    assert "<!--fill:" not in html and str(TOKEN_MARK) not in html


def test_with_template_auto_reload_nothing_is_kept(app):
    _kept.cache_clear()
    app.jinja_env.auto_reload = True
    try:
        with app.test_request_context("/"):
            for _ in range(2):
                render_template_string(
                    "{{ kept_fragment('notifications/_watch_menu.html', 'menu', l, 'x', action='/w') }}",
                    l=WatchLevel.MUTED,
                )
    finally:
        app.jinja_env.auto_reload = False
    assert _kept.cache_info().currsize == 0


def reply_box(response) -> str:
    match = re.search(r'<section class="reply-box.*?</section>', raw(response), re.S)
    assert match, "no reply box"
    return match.group(0)


def test_the_kept_reply_box_fits_each_viewer_and_the_topic(app):
    topic = make_topic(make_category(), title="Reply boxes that follow the topic")
    staff, customer = app.test_client(), app.test_client()
    sam = make_user(role=Role.STAFF)
    login(staff, sam)
    login(customer, make_user())
    staff_box, customer_box = reply_box(staff.get(topic_path(topic))), reply_box(customer.get(topic_path(topic)))
    assert 'name="whisper"' in staff_box and 'name="whisper"' not in customer_box
    assert 'name="body"' in customer_box and "locked" not in staff_box + customer_box

    forums.set_locked(sam, reload(topic), True)
    db.session.commit()
    staff_box, customer_box = reply_box(staff.get(topic_path(topic))), reply_box(customer.get(topic_path(topic)))
    assert "as staff you can still reply" in staff_box and 'name="body"' in staff_box
    assert "it takes no new replies" in customer_box and "<form" not in customer_box


def test_a_reply_goes_through_with_the_token_of_the_kept_box(app, client):
    topic = make_topic(make_category(), title="Replying from the kept box")
    login(client, make_user())
    box = reply_box(client.get(topic_path(topic)))
    (token,) = tokens(box)
    action = re.search(r'<form method="post" action="([^"]+)"', box).group(1)
    response = client.post(action, data={"csrf_token": token, "body": "A reply from the kept box.", "action": "post"})
    assert response.status_code == 302
    assert reload(topic).post_count == 2


def header(response) -> str:
    match = re.search(r'<header class="site-header.*?</header>', raw(response), re.S)
    assert match, "no site header"
    return match.group(0)


def test_the_kept_header_follows_the_viewer_and_the_page(app):
    sam = make_user(role=Role.STAFF, display_name="Sam Staff")
    client = app.test_client()
    login(client, sam)
    forums_header = header(client.get("/forums"))
    assert re.search(r'class="nav-link active" href="/forums"', forums_header)
    assert "Sam Staff" in forums_header and ">Staff</span>" in forums_header and 'data-unread' not in forums_header
    staff_header = header(client.get("/staff/queue"))
    assert 'href="/staff/queue" aria-current="page"' in staff_header
    assert not re.search(r'class="nav-link active" href="/forums"', staff_header)

    db.session.execute(sa.update(User).where(User.id == sam.id).values(display_name="Sam Renamed"))
    db.session.commit()
    renamed = header(client.get("/forums"))
    assert "Sam Renamed" in renamed and "Sam Staff" not in renamed
    (token,) = tokens(renamed)
    assert client.post("/signout", data={"csrf_token": token}).status_code == 302
    signed_out = header(client.get("/t/some-topic/1"))
    assert "Sign in" in signed_out and "next=/t/some-topic/1" in signed_out and "csrf_token" not in signed_out


def test_the_kept_header_escapes_the_search_words(app, client):
    page = header(client.get("/search?q=%3Cscript%3Ealert(1)%3C/script%3E"))
    assert 'value="&lt;script&gt;alert(1)&lt;/script&gt;"' in page and "<script>" not in page


def test_a_fill_is_put_in_once_and_never_read_for_marks(app):
    """Fills go in by one pass over the kept parts: a value that looks like another fill's mark stays text, whatever
    the order the fills are given in."""
    _kept.cache_clear()
    call = ("{{ kept_fragment('forums/_staff_tools.html', 'staff_tools', False, False, False, True, False, False, "
            "pin_url='/p', lock_url='/l', unlist_url='/u', assign_url='/a', tools_url='/t', viewer_id=7, "
            "assignee_name=name) }}")
    with app.test_request_context("/"):
        html = render_template_string(call, name=Markup("<!--fill:pin_url--> and <!--csrf-token-->"))
    assert "Assigned to <!--fill:pin_url--> and <!--csrf-token-->" in html  # (Markup: passed as it is)
    assert 'action="/p"' in html and 'value="7"' in html


def test_the_kept_topic_header_shows_each_topic_and_viewer_as_they_are(app, client):
    staff = make_user(role=Role.STAFF, display_name="Header Staff")
    category = make_category(name="Header <Category>", slug="header-category")
    first = make_topic(category, title="First & only <topic>")
    second = make_topic(category, title="Second topic here")
    forums.set_pinned(staff, second, True)
    db.session.commit()
    login(client, staff)
    one, two = raw(client.get(topic_path(first))), raw(client.get(topic_path(second)))
    assert "First &amp; only &lt;topic&gt;" in one and "Header &lt;Category&gt;" in one
    assert "1 post &middot;" in one and ">Pinned</span>" not in one and ">Pin</button>" in one
    assert "Second topic here" in two and ">Pinned</span>" in two and ">Unpin</button>" in two
    assert f'action="/t/{second.id}/pin"' in two and f'action="/t/{first.id}/pin"' not in two
    assert tokens(one) == tokens(two) and len(tokens(one)) == 1  # the session's own token in every form

    customer = client.application.test_client()
    login(customer, make_user())
    page = raw(customer.get(topic_path(second)))
    assert "Second topic here" in page and "staff-tools" not in page and ">Pinned</span>" in page


def test_kept_page_links_match_the_page(app):
    """The page links (templating.pagination), kept (_macros/pages.html), with the list's address filled in."""
    from portal.pagination import Page

    _kept.cache_clear()
    call = "{{ pagination(p, 'forums.topic', slug='x', topic_id=1) }}"
    with app.test_request_context("/"):
        middle = render_template_string(call, p=Page(items=[], page=5, per_page=20, total=200))
        last = render_template_string(call, p=Page(items=[], page=10, per_page=20, total=200))
        single = render_template_string(call, p=Page(items=[], page=1, per_page=20, total=3))
        filtered = render_template_string(
            '{{ pagination(p, "forums.category", slug="c", filter="solved", other=None) }}',
            p=Page(items=[], page=2, per_page=20, total=60))
    # A list's own arguments stay in its links, before the page (the same fragment as the topic's page 2 of 3).
    assert re.findall(r'href="/c/c\?filter=solved&amp;page=(\d+)"', filtered) == ["1", "1", "3", "3"]
    assert re.findall(r'href="/t/x/1\?page=(\d+)"', middle) == ["4", "1", "3", "4", "6", "7", "10", "6"]
    assert '<span class="page-link" aria-current="page">5</span>' in middle and middle.count("&hellip;") == 2
    assert '<span class="page-link">Next</span>' in last and 'rel="prev"' in last
    assert "pagination" not in single
