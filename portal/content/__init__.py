"""User content: Markdown in, safe HTML out. The only place user HTML is made, and the only user of bleach.

Render once, at write time, and store the result (`body_html = render_markdown(body)`); templates mark only
such stored `*_html` fields `|safe`. Bump RENDERER_VERSION when the output changes, so stored HTML can be
re-rendered (`flask rebake`).

The pipeline itself (portal.content.pipeline: Markdown, Pygments, bleach) is imported on the first render: most
requests only read stored HTML, and a worker that never writes does not carry those libraries (several MB each).
"""

from __future__ import annotations

RENDERER_VERSION = 2  # 2: code blocks highlighted by Pygments
MAX_INPUT_CHARS = 100_000


def render_markdown(text: str) -> str:
    """Markdown (fenced code with highlighting, tables, lists, line breaks, bare URLs made links) as sanitised HTML."""
    from portal.content.pipeline import cook

    return cook((text or "")[:MAX_INPUT_CHARS].replace("\x00", ""))
