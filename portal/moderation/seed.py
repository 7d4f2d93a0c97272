"""Demo moderation: a spammer's two replies, one flagged by two members (waiting), one by three (hidden)."""

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
