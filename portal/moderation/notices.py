"""What moderation tells people, through the one notification entry point (portal.notifications.notify).

The author of a hidden post hears why and what happens next; flaggers hear what the moderators decided; an
author whose post was removed hears it with the reason. Messages say what happened and what to do, never a
bare "your post was moderated".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from portal.notifications.kinds import Target, path_for, post_target, register_kind
from portal.notifications.models import EmailMode
from portal.notifications.services import notify, notify_many


def _review_target(item: Any) -> Target:
    post = item.post
    base = post_target(post)
    return Target(url=base.url, subject=base.subject, excerpt=base.excerpt, topic_id=base.topic_id,
                  post_id=base.post_id, post_number=base.post_number)


POST_HIDDEN = register_kind(
    "post_hidden", "Your post is hidden after flags, waiting for a moderator",
    "— several members flagged your post, so it is hidden until a moderator looks at it (usually within a day). "
    "You can still see it; you don't need to do anything. Post:", EmailMode.IMMEDIATELY, post_target,
    group="Moderation",
)
FLAG_UPHELD = register_kind(
    "flag_upheld", "A post you flagged was removed", "— thanks: the moderators agreed with your flag on",
    EmailMode.OFF, _review_target, group="Moderation",
)
FLAG_DISMISSED = register_kind(
    "flag_dismissed", "A post you flagged was kept", "— the moderators looked at your flag and kept the post in",
    EmailMode.OFF, _review_target, group="Moderation",
)
POST_REMOVED = register_kind(
    "post_removed", "A moderator removed your post",
    "— a moderator agreed with members' flags and removed your post. Please read the community guidelines "
    "before posting again. Post in", EmailMode.IMMEDIATELY, _review_target, group="Moderation",
)
POST_RESTORED = register_kind(
    "post_restored", "Your hidden post is shown again",
    "— a moderator reviewed the flags on your post and shows it again in", EmailMode.IMMEDIATELY, _review_target,
    group="Moderation",
)


def _held_target(item: Any) -> Target:
    """A held post that was not published: the author's page of held posts, where its text and the reason wait."""
    subject = item.topic.title if item.topic_id is not None and item.topic is not None else (item.title or "")
    return Target(url=f"{path_for('moderation.my_pending')}#held-{item.id}", subject=subject,
                  excerpt=f"Reason: {item.note}" if item.note else "")


POST_APPROVED = register_kind(
    "post_approved", "A moderator approves your post", "— a moderator approved your post; everyone sees it now in",
    EmailMode.IMMEDIATELY, post_target, group="Moderation", nobody="Good news",
)
POST_REJECTED = register_kind(
    "post_rejected", "A moderator does not approve your post",
    "— a moderator did not approve your post, and says why (your text is kept on your page of posts waiting, "
    "to edit and post again). Post in", EmailMode.IMMEDIATELY, _held_target, group="Moderation",
    nobody="Sorry",
)


def post_approved(item: Any, post: Any) -> None:
    notify(item.author, POST_APPROVED.name, post)


def post_rejected(item: Any) -> None:
    notify(item.author, POST_REJECTED.name, item)


def post_hidden(post: Any) -> None:
    notify(post.user, POST_HIDDEN.name, post)


@dataclass(frozen=True)
class ModeratorNote:
    """A moderator's words to an author about one of their posts."""

    item: Any
    note: str


def _warning_target(note: ModeratorNote) -> Target:
    base = _review_target(note.item)
    return Target(url=base.url, subject=base.subject, excerpt=f"The moderator's words: {note.note}",
                  topic_id=base.topic_id, post_id=base.post_id, post_number=base.post_number)


POST_REMOVED_WITH_NOTE = register_kind(
    "post_removed_warned", "A moderator removes your post and writes to you",
    "— a moderator agreed with members' flags, removed your post and wrote to you about it (below). Post in",
    EmailMode.IMMEDIATELY, _warning_target, group="Moderation",
)


def flags_agreed(item: Any, action: str, suspended: bool, note: str = "") -> None:
    flaggers = {flag.user: FLAG_UPHELD.name for flag in item.flags}
    notify_many(flaggers, item, None)
    if note:
        notify(item.author, POST_REMOVED_WITH_NOTE.name, ModeratorNote(item, note))
    else:
        notify(item.author, POST_REMOVED.name, item)


def flags_dismissed(item: Any, was_hidden: bool) -> None:
    flaggers = {flag.user: FLAG_DISMISSED.name for flag in item.flags}
    notify_many(flaggers, item, None)
    if was_hidden:
        notify(item.author, POST_RESTORED.name, item)


def review_url() -> str:
    return path_for("moderation.review")
