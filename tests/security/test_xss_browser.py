"""The XSS corpus rendered in a real browser: no script may run.

The page is served WITHOUT our Content-Security-Policy, so only the sanitiser stands between the payloads
and execution: this checks render_markdown itself, not the CSP that backs it up in production.
"""

from __future__ import annotations

import re

from portal.content import render_markdown
from tests.security.xss_corpus import XSS_PAYLOADS


def corpus_page() -> str:
    items = "\n".join(
        f'<section data-payload="{i}">{render_markdown(payload)}</section>' for i, payload in enumerate(XSS_PAYLOADS)
    )
    return f"<!doctype html><html><head><title>corpus</title></head><body>{items}</body></html>"


def test_no_payload_runs_script_in_a_browser(page):
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.set_content(corpus_page(), wait_until="load")
    # Provoke every handler a payload could have smuggled in.
    page.evaluate(
        """() => {
            for (const el of document.querySelectorAll('body *')) {
                for (const type of ['mouseover', 'mouseenter', 'focus', 'toggle', 'animationstart', 'load', 'error']) {
                    el.dispatchEvent(new Event(type));
                }
            }
        }"""
    )
    page.wait_for_timeout(300)
    assert dialogs == [], f"script ran: {dialogs}"
    assert page.url == "about:blank"
    assert page.evaluate("document.querySelectorAll('script, iframe, object, embed, svg, math, form').length") == 0
    links = page.evaluate("[...document.querySelectorAll('a[href], img[src]')].map(e => e.href || e.src)")
    for url in links:
        scheme = re.match(r"^([a-zA-Z][a-zA-Z0-9+.-]*):", url)
        assert scheme is None or scheme.group(1).lower() in {"http", "https", "mailto", "about"}, url


def test_the_browser_check_would_catch_an_unsanitised_payload(page):
    """Guards the guard: the same page with one raw payload does raise a dialog."""
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.set_content("<!doctype html><body><img src=x onerror=alert('raw')></body>", wait_until="load")
    page.wait_for_timeout(300)
    assert dialogs == ["raw"]
