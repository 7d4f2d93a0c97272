"""The XSS corpus through content.render_markdown: every output is inert, and links carry a safe rel."""

from __future__ import annotations

import pytest

from portal.content import render_markdown
from tests.security.inertness import executable_constructs, links_have_safe_rel
from tests.security.xss_corpus import XSS_PAYLOADS


def test_the_corpus_is_big_enough():
    assert len(XSS_PAYLOADS) >= 60
    assert len(set(XSS_PAYLOADS)) == len(XSS_PAYLOADS)


@pytest.mark.parametrize("payload", XSS_PAYLOADS, ids=range(len(XSS_PAYLOADS)))
def test_payload_renders_inert(payload):
    html = render_markdown(payload)
    assert executable_constructs(html) == [], html
    assert links_have_safe_rel(html), html


@pytest.mark.parametrize("payload", ["<img src=x onerror=alert(1)>", "<script>alert(1)</script>", "[x](javascript:a)"])
def test_the_detector_catches_unsanitised_html(payload):
    """Guards the guard: raw payloads (what a missing sanitiser would store) are flagged."""
    import markdown

    assert executable_constructs(markdown.markdown(payload)) != []


def test_markdown_still_works():
    html = render_markdown("**bold** _it_ `code`\n\n- a\n- b\n\n[link](https://example.com)\n\nhttps://www.python.org")
    assert "<strong>bold</strong>" in html and "<em>it</em>" in html and "<code>code</code>" in html
    assert "<li>a</li>" in html
    assert '<a href="https://example.com" rel="nofollow ugc noopener">link</a>' in html
    assert '<a href="https://www.python.org" rel="nofollow ugc noopener">https://www.python.org</a>' in html


def test_fenced_code_and_tables_without_inline_style():
    html = render_markdown("```python\nx = '<b>' & https://www.python.org\n```\n\n| a | b |\n|:--|--:|\n| 1 | 2 |")
    assert "<code class=\"language-python\">x = '&lt;b&gt;' &amp; https://www.python.org\n</code>" in html
    assert '<th align="left">a</th>' in html and "style=" not in html


def test_disallowed_html_is_shown_as_text_not_dropped():
    assert render_markdown("a <marquee>b</marquee>") == "<p>a &lt;marquee&gt;b&lt;/marquee&gt;</p>"


def test_huge_input_is_truncated():
    assert len(render_markdown("a" * 500_000)) < 110_000
