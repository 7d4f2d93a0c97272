"""User content: Markdown in, safe HTML out. The only place user HTML is made, and the only caller of bleach.

Render once, at write time, and store the result (`body_html = render_markdown(body)`); templates mark only
such stored `*_html` fields `|safe`. Bump RENDERER_VERSION when the output changes, so stored HTML can be
re-rendered.
"""

from __future__ import annotations

import re
from functools import partial

import bleach
import markdown
from bleach.linkifier import LinkifyFilter
from markdown.extensions.tables import TableExtension

RENDERER_VERSION = 1
MAX_INPUT_CHARS = 100_000

ALLOWED_TAGS = frozenset({
    "a", "abbr", "b", "blockquote", "br", "code", "del", "em", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i",
    "img", "kbd", "li", "ol", "p", "pre", "s", "strong", "sub", "sup", "table", "tbody", "td", "th", "thead",
    "tr", "ul",
})
ALLOWED_PROTOCOLS = frozenset({"http", "https", "mailto"})
_LANGUAGE_CLASS = re.compile(r"^language-[A-Za-z0-9_+-]{1,30}$")
_ALIGN = frozenset({"left", "right", "center"})
LINK_REL = "nofollow ugc noopener"


def _allowed_attribute(tag: str, name: str, value: str) -> bool:
    if tag == "a":
        return name in {"href", "title"}
    if tag == "img":
        if name in {"width", "height"}:
            return value.isdigit()
        return name in {"src", "alt", "title"}
    if tag == "abbr":
        return name == "title"
    if tag == "code":
        return name == "class" and bool(_LANGUAGE_CLASS.match(value))  # fenced code's language-xxx
    if tag in {"th", "td"}:
        return name == "align" and value in _ALIGN
    if tag == "ol":
        return name == "start" and value.isdigit()
    return False


def _set_rel(attrs: dict, new: bool = False) -> dict:
    """Every link: rel="nofollow ugc noopener" (user-generated, no ranking credit, no window.opener)."""
    href = attrs.get((None, "href"), "")
    if href.startswith("mailto:"):
        return attrs
    attrs[(None, "rel")] = LINK_REL
    return attrs


# Linkify as a filter of the one cleaning pass: bleach's separate Linker double-escapes text in skipped tags.
_cleaner = bleach.Cleaner(
    tags=ALLOWED_TAGS,
    attributes=_allowed_attribute,
    protocols=ALLOWED_PROTOCOLS,
    strip=False,
    strip_comments=True,
    filters=[partial(LinkifyFilter, callbacks=[_set_rel], skip_tags={"pre", "code"}, parse_email=False)],
)


def _markdown(text: str) -> str:
    return markdown.markdown(
        text,
        extensions=["fenced_code", TableExtension(use_align_attribute=True), "sane_lists", "nl2br"],
        output_format="html",
    )


def render_markdown(text: str) -> str:
    """Markdown (fenced code, tables, lists, line breaks, bare URLs made links) as sanitised HTML."""
    text = (text or "")[:MAX_INPUT_CHARS].replace("\x00", "")
    return _cleaner.clean(_markdown(text)).strip()
