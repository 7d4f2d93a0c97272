"""Does a piece of HTML contain anything a browser would execute? (Used by the XSS tests.)"""

from __future__ import annotations

import re
from html.parser import HTMLParser

EXECUTABLE_TAGS = frozenset({
    "script", "iframe", "frame", "frameset", "object", "embed", "applet", "svg", "math", "style", "link", "meta",
    "base", "form", "input", "button", "textarea", "select", "video", "audio", "source", "details", "marquee",
    "body", "html", "template", "noscript", "title", "keygen", "isindex", "portal",
})
URL_ATTRIBUTES = frozenset({"href", "src", "action", "formaction", "xlink:href", "data", "poster", "background",
                            "lowsrc", "dynsrc", "srcset", "ping"})
SAFE_SCHEMES = ("http:", "https:", "mailto:")
_SCHEME = re.compile(r"^([a-z][a-z0-9+.-]*):")


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in EXECUTABLE_TAGS:
            self.problems.append(f"<{tag}> element")
        for name, value in attrs:
            name = name.lower()
            if name.startswith("on"):
                self.problems.append(f"event handler {name} on <{tag}>")
            elif name in {"style", "srcdoc", "http-equiv"}:
                self.problems.append(f"{name} attribute on <{tag}>")
            elif name in URL_ATTRIBUTES and value is not None:
                # Browsers ignore ASCII whitespace and control characters inside a scheme.
                compact = re.sub(r"[\x00-\x20]", "", value).lower()
                match = _SCHEME.match(compact)
                if match and not compact.startswith(SAFE_SCHEMES):
                    self.problems.append(f"{match.group(1)}: URL in {name} on <{tag}>")

    handle_startendtag = handle_starttag


def executable_constructs(html: str) -> list[str]:
    """Every construct in `html` that could run script or load active content; empty when inert."""
    collector = _Collector()
    collector.feed(html)
    collector.close()
    return collector.problems


def links_have_safe_rel(html: str) -> bool:
    """Every <a href> (other than mailto) carries rel="nofollow ugc noopener"."""
    for match in re.finditer(r"<a\b[^>]*>", html):
        tag = match.group(0)
        if 'href="' in tag and 'href="mailto:' not in tag and 'rel="nofollow ugc noopener"' not in tag:
            return False
    return True
