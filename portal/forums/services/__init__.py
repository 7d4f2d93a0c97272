"""Thread engine rules: categories, topics, posts, edits, soft deletes, likes, answers, moderation, read markers.

Services flush and never commit; views commit. A broken rule raises RuleViolation(message, field). Counters
(topic and category post counts, post numbers, like counts) change in SQL, in the statement that needs them,
so concurrent writers never lose an update. Import from here: `from portal.forums import services as forums`.
"""

from portal.forums.services.categories import move_category, save_category, slugify, visible_category_ids
from portal.forums.services.likes import like_post, toggle_like, unlike_post
from portal.forums.services.posts import (
    MAX_BODY,
    MAX_MENTIONS,
    MAX_TITLE,
    MIN_BODY,
    MIN_TITLE,
    check_body,
    check_title,
    create_post,
    create_topic,
    delete_post,
    edit_post,
    mentioned_user_ids,
    restore_post,
    store_mentions,
)
from portal.forums.services.restructure import merge_target, merge_topics, recount_topic, split_topic
from portal.forums.services.topics import (
    accept_answer,
    advance_read_marker,
    assign_topic,
    last_read_number,
    mark_official,
    mark_read,
    move_topic,
    retitle_topic,
    set_locked,
    set_pinned,
    set_unlisted,
    unaccept_answer,
)

__all__ = [
    "MAX_BODY",
    "MAX_MENTIONS",
    "MAX_TITLE",
    "MIN_BODY",
    "MIN_TITLE",
    "accept_answer",
    "advance_read_marker",
    "assign_topic",
    "check_body",
    "check_title",
    "create_post",
    "create_topic",
    "delete_post",
    "edit_post",
    "last_read_number",
    "like_post",
    "mark_official",
    "mark_read",
    "mentioned_user_ids",
    "merge_target",
    "merge_topics",
    "move_category",
    "move_topic",
    "recount_topic",
    "restore_post",
    "retitle_topic",
    "save_category",
    "set_locked",
    "set_pinned",
    "set_unlisted",
    "slugify",
    "split_topic",
    "store_mentions",
    "toggle_like",
    "unaccept_answer",
    "unlike_post",
    "visible_category_ids",
]
