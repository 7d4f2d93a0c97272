"""The registry of notification kinds: what each is called, how it reads and links, and its email default.

A feature adds its kinds with `register_kind(...)` at import time (ideas: status changed; events: registration
confirmed or promoted from the waitlist; invitations; reference requests; kudos). A kind's name is stored in
each notification row and each email preference, so renaming one needs a data migration; adding one needs none.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import current_app

from portal.notifications.models import EmailMode


@dataclass(frozen=True)
class Target:
    """What a notification is about, as stored on its row."""

    url: str  # a path on this site
    subject: str = ""
    excerpt: str = ""
    topic_id: int | None = None
    post_id: int | None = None
    post_number: int | None = None


@dataclass(frozen=True)
class Kind:
    name: str
    label: str  # on the settings page: "Someone mentions you"
    verb: str  # in a sentence: "{actor} mentioned you in {subject}"
    default_email: EmailMode
    resolve: Callable[[Any], Target] = field(repr=False)
    group: str = "Forums"  # the heading it sits under on the settings page
    nobody: str = "Someone"  # who the sentence names when there is no actor ("The moderators")

    def sentence(self, actor_name: str | None, subject: str) -> str:
        who = actor_name or self.nobody
        return f"{who} {self.verb} {subject}".strip()


KINDS: dict[str, Kind] = {}


def register_kind(name: str, label: str, verb: str, default_email: EmailMode, resolve: Callable[[Any], Target],
                  group: str = "Forums", nobody: str = "Someone") -> Kind:
    """Add a kind of notification (once per name)."""
    if name in KINDS:
        raise ValueError(f"notification kind {name!r} is already registered")
    kind = Kind(name, label, verb, default_email, resolve, group, nobody)
    KINDS[name] = kind
    return kind


def get_kind(name: str) -> Kind:
    try:
        return KINDS[name]
    except KeyError:
        raise ValueError(f"unknown notification kind {name!r}") from None


def path_for(endpoint: str, **values: Any) -> str:
    """A site path for an endpoint, without needing a request (notifications are made in services and jobs)."""
    adapter = current_app.url_map.bind("", script_name=current_app.config.get("APPLICATION_ROOT") or "/")
    return adapter.build(endpoint, values, force_external=False)


# --- The forum's kinds -------------------------------------------------------------------------------------


def _plain_excerpt(html_or_text: str, length: int = 280) -> str:
    import html
    import re

    spaced = re.sub(r"</?(?:p|br|li|div|h[1-6]|pre|blockquote|tr|td|th|ul|ol|table)\b[^>]*>", " ", html_or_text or "")
    text = html.unescape(re.sub(r"<[^>]+>", "", spaced))
    text = " ".join(text.split())
    return text if len(text) <= length else text[: length - 1].rstrip() + "…"


def post_target(post: Any) -> Target:
    """A post: its permalink (which lands on the right page of its topic), its topic's title, an excerpt."""
    return Target(
        url=path_for("forums.post", post_id=post.id),
        subject=post.topic.title,
        excerpt=_plain_excerpt(post.body_html),
        topic_id=post.topic_id,
        post_id=post.id,
        post_number=post.number,
    )


MENTIONED = register_kind("mentioned", "Someone mentions you", "mentioned you in", EmailMode.IMMEDIATELY,
                          post_target)
QUOTED = register_kind("quoted", "Someone quotes you", "quoted you in", EmailMode.IMMEDIATELY, post_target)
REPLIED = register_kind("replied", "Someone replies to your topic", "replied to your topic",
                        EmailMode.IMMEDIATELY, post_target)
ANSWER_ACCEPTED = register_kind("answer_accepted", "Your answer is accepted", "accepted your answer in",
                                EmailMode.IMMEDIATELY, post_target)
OFFICIAL_ANSWER = register_kind("official_answer", "An official answer in a topic you watch or track",
                                "marked an official answer in", EmailMode.IMMEDIATELY, post_target)
NEW_TOPIC = register_kind("new_topic", "A new topic in a category you watch", "started a new topic:",
                          EmailMode.DIGEST, post_target)
POSTED = register_kind("posted", "A new post in a topic you watch", "posted in", EmailMode.DIGEST, post_target)
