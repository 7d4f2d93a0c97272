"""Demo moderation: a spammer's two replies, one flagged by two members (waiting), one by three (hidden); and a
newcomer's first reply and first topic, waiting for approval."""

from __future__ import annotations

import sqlalchemy as sa

from portal.accounts.models import User
from portal.extensions import db
from portal.forums import services as forums
from portal.forums.models import Post, Topic
from portal.moderation.flags import flag_post

SPAMMER = "deals@bargains.example"
SPAM = [
    # topic title, body, flaggers
    ("What are you all building this quarter?",
     "Building wealth! Get 90% off premium watches at bargains.example — today only.",
     ["tess@example.org", "gita@acme.example", "sol@example.net"]),
    ("Webhook deliveries retried too aggressively",
     "Try our webhook relay service, the best on the market: bargains.example/relay",
     ["liam@globex.example", "maya@globex.example"]),
]


def seed_flags() -> int:
    """Add the demo spam and its flags once (skipped when the spammer has posted already); how many posts."""
    spammer = db.session.scalar(sa.select(User).where(User.email == SPAMMER))
    if spammer is None or db.session.scalar(sa.select(sa.exists().where(Post.user_id == spammer.id))):
        return 0
    users = {u.email: u for u in db.session.scalars(sa.select(User))}
    added = 0
    for title, body, flaggers in SPAM:
        topic = db.session.scalar(sa.select(Topic).where(Topic.title == title))
        if topic is None:
            continue
        post = forums.create_post(spammer, topic, body)
        for email in flaggers:
            if email in users:
                flag_post(users[email], post, "spam")
        added += 1
    db.session.flush()
    return added


NEWCOMER = "rosa@initech.example"
HELD_REPLY = ("Webhook deliveries retried too aggressively",
              "We see the same on our side: three retries within a minute. Is the back-off configurable per "
              "endpoint?")
HELD_TOPIC = ("Getting Started", "Where do I find the API reference for v3?",
              "I just joined Initech's team. Is there a reference for the v3 API beyond the quick-start guide?")


def seed_held() -> int:
    """A newcomer's first reply and first topic, waiting for approval (once: skipped if they have any)."""
    from portal.content import render_markdown
    from portal.forums.models import Category
    from portal.moderation.approval import hold_post
    from portal.moderation.models import HoldReason, ReviewItem

    newcomer = db.session.scalar(sa.select(User).where(User.email == NEWCOMER))
    if newcomer is None or db.session.scalar(sa.select(sa.exists().where(ReviewItem.author_id == newcomer.id))):
        return 0
    added = 0
    topic = db.session.scalar(sa.select(Topic).where(Topic.title == HELD_REPLY[0]))
    if topic is not None:
        hold_post(newcomer, HELD_REPLY[1], render_markdown(HELD_REPLY[1]), HoldReason.FIRST_POSTS, 0,
                  topic_id=topic.id)
        added += 1
    category = db.session.scalar(sa.select(Category).where(Category.name == HELD_TOPIC[0]))
    if category is not None:
        hold_post(newcomer, HELD_TOPIC[2], render_markdown(HELD_TOPIC[2]), HoldReason.FIRST_POSTS, 0,
              category_id=category.id, title=HELD_TOPIC[1])
        added += 1
    return added
