"""The XSS corpus through content.render_markdown: every output is inert, and links carry a safe rel."""

from __future__ import annotations

import re

import pytest
from pygments.token import STANDARD_TYPES

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
    assert html.startswith('<div class="highlight"><pre><span></span><code><span class="n">x</span>')
    assert """<span class="s1">'&lt;b&gt;'</span> <span class="o">&amp;</span>""" in html and "<a " not in html
    assert '<th align="left">a</th>' in html and "style=" not in html


HIGHLIGHT_CLASSES = (set(STANDARD_TYPES.values()) - {""}) | {"hll", "highlight"}


def _classes(html: str) -> list[str]:
    return re.findall(r'class="([^"]*)"', html)


def test_code_blocks_with_a_language_are_highlighted_with_pygments_classes_only():
    html = render_markdown('```python\ndef f(url="https://www.python.org"):  # https://x.example\n    return 1\n```\n\n'
                           "~~~ruby\nputs 1\n~~~")
    assert '<span class="k">def</span><span class="w"> </span><span class="nf">f</span>' in html
    assert '<span class="nb">puts</span>' in html
    assert html.count('<div class="highlight">') == 2
    assert set(_classes(html)) <= HIGHLIGHT_CLASSES and len(_classes(html)) > 10
    assert "<a " not in html  # linkify skips code, also inside the highlight spans


@pytest.mark.parametrize("fence", ["```", "~~~"])
def test_code_blocks_without_a_language_are_not_guessed(fence):
    html = render_markdown(f"{fence}\ndef f():\n    return https://www.python.org\n{fence}")
    assert html == ('<div class="highlight"><pre><span></span><code>def f():\n    return https://www.python.org\n'
                    "</code></pre></div>")


def test_fence_options_cannot_reach_pygments():
    """`{.lang key=value}` would pass options to Pygments: inline styles, a user-chosen wrapper class, a crash."""
    html = render_markdown('```{.python .btn #top noclasses="true" css_class="btn" pygments_style="nope"}\nx = 1\n```')
    assert html.startswith('<div class="highlight"><pre><span></span><code><span class="n">x</span>')
    assert "style=" not in html and "btn" not in html and "top" not in html


@pytest.mark.parametrize(("payload", "expected"), [
    ('<span class="btn btn-danger">x</span>', "<p><span>x</span></p>"),
    ('<span class="btn">x</span>', "<p><span>x</span></p>"),
    ('<div class="position-fixed">x</div>', "<div>x</div>"),
    ('<div class="highlight position-fixed">x</div>', "<div>x</div>"),
    ('<code class="evil">x</code>', "<p><code>x</code></p>"),
    ('<pre class="highlight">x</pre>', "<pre>x</pre>"),
    ('<span class="k" style="position:fixed" id="x">x</span>', '<p><span class="k">x</span></p>'),
])
def test_user_html_keeps_only_highlighting_classes(payload, expected):
    assert render_markdown(payload) == expected


def test_disallowed_html_is_shown_as_text_not_dropped():
    assert render_markdown("a <marquee>b</marquee>") == "<p>a &lt;marquee&gt;b&lt;/marquee&gt;</p>"


def test_huge_input_is_truncated():
    assert len(render_markdown("a" * 500_000)) < 110_000
