"""The Markdown → safe HTML pipeline behind portal.content.render_markdown: Markdown, Pygments, bleach.

Imported on the first render, not at start-up: a web worker that only reads pages never loads these libraries.
Nothing but portal.content imports this module.
"""

from __future__ import annotations

import re
from functools import partial

import bleach
import markdown
from bleach.linkifier import LinkifyFilter
from markdown.extensions.codehilite import CodeHiliteExtension
from markdown.extensions.fenced_code import FencedBlockPreprocessor, FencedCodeExtension
from markdown.extensions.tables import TableExtension
from pygments.token import STANDARD_TYPES

ALLOWED_TAGS = frozenset({
    "a", "abbr", "b", "blockquote", "br", "code", "del", "div", "em", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i",
    "img", "kbd", "li", "ol", "p", "pre", "s", "span", "strong", "sub", "sup", "table", "tbody", "td", "th", "thead",
    "tr", "ul",
})
ALLOWED_PROTOCOLS = frozenset({"http", "https", "mailto"})
_LANGUAGE_CLASS = re.compile(r"^language-[A-Za-z0-9_+-]{1,30}$")
_ALIGN = frozenset({"left", "right", "center"})
# Exactly the classes codehilite and Pygments emit (styled by static/css/highlight.css), so user HTML cannot borrow
# the site's classes (`btn`, `position-fixed`): a token class per span, "hll" for highlighted lines, the wrapper div.
_TOKEN_CLASSES = frozenset(STANDARD_TYPES.values()) - {""} | {"hll"}
HIGHLIGHT_CLASS = "highlight"
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
        return name == "class" and bool(_LANGUAGE_CLASS.match(value))  # language-xxx, as other Markdown tools write
    if tag == "span":
        return name == "class" and value in _TOKEN_CLASSES
    if tag == "div":
        return name == "class" and value == HIGHLIGHT_CLASS
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


class _FencedBlockPreprocessor(FencedBlockPreprocessor):
    def handle_attrs(self, attrs):
        """Of a fence's `{.lang …}` keep the language and hl_lines: other keys reach Pygments as options
        (`noclasses` writes inline styles, `pygments_style="x"` raises) and extra classes land on the wrapper div."""
        _id, classes, config = super().handle_attrs(attrs)
        return "", classes[:1], {key: value for key, value in config.items() if key == "hl_lines"}


class _FencedCodeExtension(FencedCodeExtension):
    def extendMarkdown(self, md):
        md.registerExtension(self)
        md.preprocessors.register(_FencedBlockPreprocessor(md, self.getConfigs()), "fenced_code_block", 25)


def _markdown(text: str) -> str:
    return markdown.markdown(
        text,
        extensions=[
            _FencedCodeExtension(),
            # Classes, never style= (the CSP forbids inline styles); a block without a language stays plain text.
            CodeHiliteExtension(css_class=HIGHLIGHT_CLASS, guess_lang=False, use_pygments=True, noclasses=False),
            TableExtension(use_align_attribute=True),
            "sane_lists",
            "nl2br",
        ],
        output_format="html",
    )


def cook(text: str) -> str:
    """Markdown as sanitised HTML (the body of portal.content.render_markdown)."""
    return _cleaner.clean(_markdown(text)).strip()
