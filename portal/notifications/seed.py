"""Demo watches and notifications for `flask seed-demo`: carol@acme.example watches Product Q&A, so the demo
threads leave her the notifications a real member would have (replies, an official answer, new topics)."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from portal.db import utcnow
from portal.extensions import db
from portal.notifications.models import CategoryWatch, EmailStatus, Notification, WatchLevel

# (email, category slug, level)
DEMO_CATEGORY_WATCHES = [
    ("carol@acme.example", "product-qa", WatchLevel.WATCHING),
    ("carol@acme.example", "off-topic", WatchLevel.MUTED),
    ("sam@northwind.example", "getting-started", WatchLevel.WATCHING),
    ("sam@northwind.example", "product-qa", WatchLevel.WATCHING),
]
READ_AFTER_HOURS = 48  # demo notifications older than this are shown as already read


def seed_watches() -> int:
    """Add the demo category watches that are missing (before the demo threads, so they notify)."""
    from portal.accounts.models import User
    from portal.forums.models import Category

    users = {u.email: u.id for u in db.session.scalars(sa.select(User))}
    categories = {c.slug: c.id for c in db.session.scalars(sa.select(Category))}
    existing = set(db.session.execute(sa.select(CategoryWatch.user_id, CategoryWatch.category_id)).all())
    added = 0
    for email, slug, level in DEMO_CATEGORY_WATCHES:
        key = (users.get(email), categories.get(slug))
        if None in key or key in existing:
            continue
        db.session.add(CategoryWatch(user_id=key[0], category_id=key[1], level=level))
        added += 1
    db.session.flush()
    return added


def last_notification_id() -> int:
    return db.session.scalar(sa.select(sa.func.max(Notification.id))) or 0


def settle_demo_notifications(after_id: int) -> int:
    """Date the notifications the demo threads just made like their posts, read the old ones, and send no
    email about a made-up past."""
    from portal.forums.models import Post

    rows = db.session.execute(
        sa.select(Notification, Post.created_at).join(Post, Post.id == Notification.post_id)
        .where(Notification.id > after_id)
    ).all()
    old = utcnow() - timedelta(hours=READ_AFTER_HOURS)
    for notification, created_at in rows:
        notification.created_at = created_at
        notification.email_status, notification.email_due_at = EmailStatus.NONE, None
        if created_at < old:
            notification.read_at = created_at + timedelta(hours=2)
    db.session.flush()
    return len(rows)
