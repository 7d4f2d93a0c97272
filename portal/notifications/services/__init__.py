"""Notification and email rules. Services flush and never commit; views and jobs commit.

- outbox: `send_email` queues a message in the caller's transaction (delivered by the worker).
- notify: `notify()` / `notify_many()`, the one entry point every feature calls; marking read.
- watching: levels per topic and category.
- forum_events: what forum actions notify (called by portal.forums.services).
- preferences, emails, digests, unsubscribe: what reaches the inbox, when, and how to stop it.
"""

from portal.notifications.services.notify import (
    BELL_CAP,
    email_modes,
    mark_all_read,
    mark_read,
    mark_seen_in_topic,
    notify,
    notify_many,
    unread_count_query,
)
from portal.notifications.services.outbox import (
    COMMITTED_IDS,
    PENDING_IDS,
    install_session_hooks,
    outbox_counts,
    retry_delay,
    retry_email,
    send_email,
    take_committed_ids,
)

__all__ = [
    "BELL_CAP",
    "COMMITTED_IDS",
    "PENDING_IDS",
    "email_modes",
    "install_session_hooks",
    "mark_all_read",
    "mark_read",
    "mark_seen_in_topic",
    "notify",
    "notify_many",
    "outbox_counts",
    "retry_delay",
    "retry_email",
    "send_email",
    "take_committed_ids",
    "unread_count_query",
]
