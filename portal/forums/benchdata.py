"""Benchmark data for the forums: categories, topics, posts, likes, read markers (see portal/benchdata.py).

Per unit of scale: about 800 topics and 10,000 posts (most topics short, a few up to 40 posts) in 8 categories —
one for questions (some with an accepted answer), one staff-only, one for two organisations only. Authors are the
users the accounts generator made; staff reply in about 30% of topics, and sometimes whisper. A few posts and
topics are soft-deleted, some topics pinned or locked; some posts are liked, and a sample of users have read
markers.

Bodies are combined from a small phrase list into a few hundred distinct Markdown bodies, each rendered once with
content.render_markdown and reused. Topics go in first with placeholder counters, then posts; then one UPDATE per
table recomputes every denormalised counter from the rows, with the services' rules.
"""

from __future__ import annotations

import random
from datetime import timedelta

import sqlalchemy as sa

from portal.accounts.models import Organization, User
from portal.benchdata import insert_rows, scaled
from portal.content import RENDERER_VERSION, render_markdown
from portal.db import utcnow
from portal.forums.models import (
    Audience,
    Category,
    CategoryKind,
    CategoryOrganization,
    Post,
    PostingRight,
    PostLike,
    Topic,
    TopicContext,
    TopicRead,
)
from portal.permissions import Role

HISTORY = timedelta(days=2 * 365)
MAX_POSTS = 40
DISTINCT_BODIES = 300
STAFF_ROLES = (Role.STAFF, Role.ADMIN)

# slug, name, kind, audience, can_start, description
CATEGORIES = [
    ("announcements", "Announcements", CategoryKind.DISCUSSION, Audience.EVERYONE, PostingRight.STAFF,
     "Releases, maintenance windows and news from the team."),
    ("getting-started", "Getting Started", CategoryKind.DISCUSSION, Audience.EVERYONE, PostingRight.SIGNED_IN,
     "New here? Setup, accounts and first steps."),
    ("product-qa", "Product Q&A", CategoryKind.QUESTIONS, Audience.EVERYONE, PostingRight.SIGNED_IN,
     "Questions about features and how to use them; mark the answer that solved it."),
    ("integrations", "Integrations", CategoryKind.DISCUSSION, Audience.EVERYONE, PostingRight.SIGNED_IN,
     "APIs, webhooks, SSO and connecting to the rest of your stack."),
    ("api-webhooks", "API and Webhooks", CategoryKind.DISCUSSION, Audience.EVERYONE, PostingRight.SIGNED_IN,
     "The REST API, rate limits and webhook deliveries."),  # a subcategory of integrations
    ("off-topic", "Off-topic", CategoryKind.DISCUSSION, Audience.SIGNED_IN, PostingRight.SIGNED_IN,
     "Anything else among community members."),
    ("staff-lounge", "Staff Lounge", CategoryKind.DISCUSSION, Audience.STAFF, PostingRight.STAFF,
     "Internal notes for the support team."),
    ("partner-private", "Partner Private Support", CategoryKind.DISCUSSION, Audience.ORGANIZATIONS,
     PostingRight.SIGNED_IN, "Support visible only to two partner organisations and staff."),
]
# Share of topics per category, in CATEGORIES order.
CATEGORY_WEIGHTS = [2, 14, 30, 12, 10, 14, 8, 10]

SUBJECTS = ["the export job", "SSO login", "the dashboard", "webhook retries", "the CSV import", "API tokens",
            "the mobile app", "scheduled reports", "user provisioning", "the audit log", "two-factor sign-in",
            "search filters", "the billing page", "email notifications", "the data retention setting",
            "custom fields", "the Slack integration", "rate limits", "the sandbox environment", "role permissions"]
TITLE_TEMPLATES = ["How do I configure {s}?", "Problem with {s} after the upgrade", "{S} is slow since Monday",
                   "Best practices for {s}", "Feature request: more options for {s}", "Can {s} handle large teams?",
                   "Error when using {s}", "Tips for getting started with {s}", "Is {s} supported on-premises?",
                   "Unexpected behaviour in {s}", "Question about {s} limits", "Migrating {s} from the old version"]
SENTENCES = [
    "We upgraded to the latest release last week.", "Since then the page takes a long time to load.",
    "I followed the steps in the documentation but nothing changed.", "Has anyone else seen this?",
    "Thanks for the quick reply, that fixed it.", "Could you share the exact error message?",
    "It works in the sandbox but not in production.", "We have about two hundred users on the account.",
    "Clearing the cache did not help.", "The logs show a timeout after thirty seconds.",
    "This is on the roadmap for the next quarter.", "I can reproduce it with a fresh account.",
    "Try signing out and back in after changing the setting.", "Our admin team would love this feature.",
    "The workaround below is what we use for now.", "Please open a support ticket with your account id.",
    "That makes sense, **thank you**.", "See the *release notes* for the details.",
    "The `retry_after` header tells you how long to wait.", "Check the [status page](https://status.example.com).",
    "Good point, I had not thought of that.", "We rolled the change back for now.",
    "It happens only for users with the viewer role.", "A fix is being deployed today.",
]
EXTRAS = [
    "```\ncurl -H \"Authorization: Bearer $TOKEN\" https://api.example.com/v2/exports\n```",
    "- Open **Settings**\n- Choose *Integrations*\n- Save the new token",
    "1. Export the data\n2. Check the CSV headers\n3. Import again",
    "> It worked on the previous version.",
    "| Setting | Value |\n| --- | --- |\n| timeout | 30s |\n| retries | 5 |",
]


def _bodies(rng: random.Random) -> list[tuple[str, str]]:
    """A few hundred distinct (body, body_html) pairs, each rendered once."""
    bodies: set[str] = set()
    while len(bodies) < DISTINCT_BODIES:
        paragraphs = [" ".join(rng.sample(SENTENCES, rng.randint(1, 3))) for _ in range(rng.choice([1, 1, 2, 3]))]
        if rng.random() < 0.15:
            paragraphs.insert(rng.randint(1, len(paragraphs)), rng.choice(EXTRAS))
        bodies.add("\n\n".join(paragraphs))
    return [(body, render_markdown(body)) for body in sorted(bodies)]


def _post_count(rng: random.Random) -> int:
    """Skewed: most topics short, a few long (mean about 12.5)."""
    return min(MAX_POSTS, 1 + int(rng.expovariate(1 / 12.9)))


def generate(conn: sa.Connection, scale: float, rng: random.Random) -> dict[str, int]:
    now = utcnow()
    users = conn.execute(sa.select(User.id, User.role, User.organization_id).order_by(User.id)).all()
    staff = [u.id for u in users if u.role in STAFF_ROLES]
    customers = [u.id for u in users if u.role not in STAFF_ROLES] or staff
    everyone = [u.id for u in users]
    org_ids = conn.execute(sa.select(Organization.id).where(Organization.is_vendor.is_(False))
                           .order_by(Organization.id)).scalars().all()

    # --- Categories ---
    categories = Category.__table__
    made = conn.execute(sa.insert(categories).returning(categories.c.id, sort_by_parameter_order=True), [
        {"parent_id": None, "name": name, "slug": slug, "description": description, "kind": kind, "position": i,
         "audience": audience, "can_start": can_start, "can_reply": PostingRight.SIGNED_IN, "topic_count": 0,
         "post_count": 0, "last_topic_id": None, "created_at": now - HISTORY - timedelta(days=30)}
        for i, (slug, name, kind, audience, can_start, description) in enumerate(CATEGORIES)
    ]).scalars().all()
    by_slug = dict(zip([c[0] for c in CATEGORIES], made, strict=True))
    conn.execute(sa.update(categories).where(categories.c.id == by_slug["api-webhooks"])
                 .values(parent_id=by_slug["integrations"]))
    allowed_orgs = rng.sample(org_ids, min(2, len(org_ids)))
    insert_rows(conn, CategoryOrganization.__table__,
                [{"category_id": by_slug["partner-private"], "organization_id": o} for o in allowed_orgs])
    conn.commit()
    org_members = [u.id for u in users if u.organization_id in allowed_orgs and u.role not in STAFF_ROLES] or staff

    def starters(slug: str) -> list[int]:
        if slug in ("announcements", "staff-lounge"):
            return staff
        return org_members if slug == "partner-private" else customers

    def repliers(slug: str) -> list[int]:
        if slug == "staff-lounge":
            return staff
        return org_members if slug == "partner-private" else customers

    # --- Topics: oldest first, so ids grow with time (the newest topic has the highest id) ---
    topic_count = scaled(800, scale, minimum=len(CATEGORIES))
    slugs = [c[0] for c in CATEGORIES]
    plans = []
    for created in sorted(now - HISTORY * rng.random() ** 1.3 for _ in range(topic_count)):
        slug = rng.choices(slugs, CATEGORY_WEIGHTS)[0]
        plans.append({"slug": slug, "created": created, "author": rng.choice(starters(slug)),
                      "posts": _post_count(rng)})
    # Every category gets at least one topic.
    for plan, slug in zip(plans, rng.sample(slugs, len(slugs)), strict=False):
        plan["slug"], plan["author"] = slug, rng.choice(starters(slug))
    topics = Topic.__table__
    topic_rows = []
    for plan in plans:
        subject = rng.choice(SUBJECTS)
        title = rng.choice(TITLE_TEMPLATES).format(s=subject, S=subject[0].upper() + subject[1:])
        if plan["slug"] == "announcements":
            title = f"Release notes: {subject} improvements"
        pinned = rng.random() < (0.3 if plan["slug"] == "announcements" else 0.01)
        topic_rows.append({
            "context": TopicContext.FORUM, "category_id": by_slug[plan["slug"]], "user_id": plan["author"],
            "title": title, "created_at": plan["created"], "last_post_at": plan["created"],
            "last_poster_id": plan["author"], "post_count": 0, "highest_post_number": 0,
            "first_staff_reply_at": None, "accepted_post_id": None, "is_pinned": pinned,
            "is_locked": rng.random() < 0.02, "assignee_id": None, "deleted_at": None,
        })
    topic_ids: list[int] = []
    for start in range(0, len(topic_rows), 5_000):
        topic_ids += conn.execute(sa.insert(topics).returning(topics.c.id, sort_by_parameter_order=True),
                                  topic_rows[start:start + 5_000]).scalars().all()
        conn.commit()
    del topic_rows

    # --- Posts, streamed topic by topic; likes, answers and deletions are noted by (topic_id, number) ---
    bodies = _bodies(rng)
    likes: list[tuple[int, int, int, object]] = []  # topic_id, number, user_id, created_at
    accepted: list[dict] = []
    deleted_topics: list[tuple[int, object]] = []
    reads_pool: list[tuple[int, str, int]] = []  # topic_id, slug, highest number
    assignments: list[dict] = []

    def posts():
        for topic_id, plan in zip(topic_ids, plans, strict=True):
            slug, count, created = plan["slug"], plan["posts"], plan["created"]
            staff_topic = slug not in ("staff-lounge", "announcements") and rng.random() < 0.3
            if staff_topic and count == 1:
                count = 2
            authors = [plan["author"]] + [rng.choice(repliers(slug)) for _ in range(count - 1)]
            whispers = [False] * count
            if staff_topic:
                for number in rng.sample(range(2, count + 1), min(count - 1, rng.randint(1, 3))):
                    authors[number - 1] = rng.choice(staff)
                if rng.random() < 0.15:  # a staff whisper or two, among the replies
                    for _ in range(rng.randint(1, 2)):
                        position = rng.randint(1, count)  # inserted after this post
                        authors.insert(position, rng.choice(staff))
                        whispers.insert(position, True)
                count = len(authors)
            gaps = [rng.expovariate(1 / 6) for _ in range(count - 1)]  # hours between posts
            room = (now - created).total_seconds() / 3600
            squeeze = min(1.0, room / sum(gaps)) if gaps else 1.0
            times = [created]
            for gap in gaps:
                times.append(times[-1] + timedelta(hours=gap * squeeze))
            visible = [n for n in range(1, count + 1) if not whispers[n - 1]]
            last_visible = visible[-1]
            deleted = {n for n in visible if 1 < n < last_visible and rng.random() < 0.01}
            if len(visible) >= 2 and rng.random() < 0.005:
                deleted.add(1)  # deleting the first post deletes the topic
                deleted_topics.append((topic_id, times[0] + timedelta(days=1)))
            elif slug == "product-qa" and rng.random() < 0.4:
                answers = [n for n in visible if n > 1 and n not in deleted]
                if answers:
                    accepted.append({"tid": topic_id, "num": rng.choice(answers)})
            if 1 not in deleted:
                reads_pool.append((topic_id, slug, count))
                if staff_topic and rng.random() < 0.2:
                    assignments.append({"tid": topic_id, "assignee": rng.choice(staff)})
            for number in range(1, count + 1):
                author, at, whisper = authors[number - 1], times[number - 1], whispers[number - 1]
                is_deleted = number in deleted
                like_count = 0
                if not whisper and not is_deleted and rng.random() < 0.25:
                    likers = set(rng.sample(everyone, min(len(everyone), min(30, int(rng.paretovariate(1.2))) + 1)))
                    likers.discard(author)
                    like_count = len(likers)
                    likes.extend((topic_id, number, u, at + timedelta(hours=1)) for u in likers)
                body, body_html = rng.choice(bodies)
                yield {
                    "topic_id": topic_id, "number": number, "user_id": author, "body": body,
                    "body_html": body_html, "renderer_version": RENDERER_VERSION, "created_at": at,
                    "edited_at": None, "is_whisper": whisper,
                    "is_official": author in staff_set and not whisper and not is_deleted and rng.random() < 0.1,
                    "like_count": like_count,
                    "deleted_at": at + timedelta(days=1) if is_deleted else None,
                    "deleted_by_id": (author if rng.random() < 0.5 else rng.choice(staff)) if is_deleted else None,
                }

    staff_set = set(staff)
    posts_made = insert_rows(conn, Post.__table__, posts())

    # --- Likes: look the liked posts' ids up by (topic_id, number) ---
    post_table = Post.__table__
    wanted = {(t, n) for t, n, _, _ in likes}
    post_ids = {}
    for pid, tid, number in conn.execute(sa.select(post_table.c.id, post_table.c.topic_id, post_table.c.number)
                                         .where(post_table.c.topic_id >= topic_ids[0])):
        if (tid, number) in wanted:
            post_ids[tid, number] = pid
    likes_made = insert_rows(conn, PostLike.__table__, (
        {"post_id": post_ids[t, n], "user_id": u, "created_at": min(at, now)} for t, n, u, at in likes
    ))
    likes.clear()

    # --- Topic state noted above, in bulk ---
    tid = sa.bindparam("tid")
    if accepted:
        answer = (sa.select(post_table.c.id)
                  .where(post_table.c.topic_id == tid, post_table.c.number == sa.bindparam("num"))
                  .scalar_subquery())
        conn.execute(sa.update(topics).where(topics.c.id == tid).values(accepted_post_id=answer), accepted)
    if deleted_topics:
        conn.execute(sa.update(topics).where(topics.c.id == tid).values(deleted_at=sa.bindparam("at")),
                     [{"tid": t, "at": at} for t, at in deleted_topics])
    if assignments:
        conn.execute(sa.update(topics).where(topics.c.id == tid).values(assignee_id=sa.bindparam("assignee")),
                     assignments)
    conn.commit()

    # --- Counters, recomputed from the rows with the services' rules ---
    p = post_table.alias("p")
    users_table = User.__table__
    mine = topics.c.id >= topic_ids[0]
    visible_posts = sa.and_(p.c.topic_id == topics.c.id, p.c.is_whisper.is_(False), p.c.deleted_at.is_(None))
    conn.execute(sa.update(topics).where(mine).values(
        post_count=sa.select(sa.func.count()).select_from(p).where(visible_posts).scalar_subquery(),
        highest_post_number=sa.select(sa.func.coalesce(sa.func.max(p.c.number), 0))
        .where(p.c.topic_id == topics.c.id).scalar_subquery(),
        # The last visible post (the generator never deletes it, so this is also the services' rule).
        last_post_at=sa.func.coalesce(sa.select(p.c.created_at).where(visible_posts).order_by(p.c.number.desc()).limit(1).scalar_subquery(),
                                      topics.c.created_at),
        last_poster_id=sa.func.coalesce(sa.select(p.c.user_id).where(visible_posts).order_by(p.c.number.desc()).limit(1).scalar_subquery(),
                                        topics.c.user_id),
        first_staff_reply_at=sa.select(sa.func.min(p.c.created_at))
        .select_from(p.join(users_table, users_table.c.id == p.c.user_id))
        .where(p.c.topic_id == topics.c.id, p.c.number > 1, p.c.is_whisper.is_(False),
               users_table.c.role.in_([r.value for r in STAFF_ROLES]))
        .scalar_subquery(),
    ))
    conn.commit()
    t = topics.alias("t")
    live = sa.and_(t.c.category_id == categories.c.id, t.c.deleted_at.is_(None))
    conn.execute(sa.update(categories).where(categories.c.id.in_(made)).values(
        topic_count=sa.select(sa.func.count()).select_from(t).where(live).scalar_subquery(),
        post_count=sa.select(sa.func.coalesce(sa.func.sum(t.c.post_count), 0)).where(live).scalar_subquery(),
        last_topic_id=sa.select(sa.func.max(t.c.id)).where(live).scalar_subquery(),
    ))
    conn.commit()

    # --- Read markers for a sample of users, in topics they may see ---
    member_of = {u.id: u.organization_id for u in users}
    readers = rng.sample(everyone, max(1, len(everyone) // 5))

    def reads():
        for user_id in readers:
            is_staff = user_id in staff_set
            seen = set()
            for topic_id, slug, highest in rng.sample(reads_pool, min(len(reads_pool), rng.randint(5, 40))):
                if topic_id in seen or (not is_staff and (
                        slug == "staff-lounge" or (slug == "partner-private"
                                                   and member_of[user_id] not in allowed_orgs))):
                    continue
                seen.add(topic_id)
                number = highest if rng.random() < 0.6 else rng.randint(1, highest)
                yield {"user_id": user_id, "topic_id": topic_id, "last_read_number": number,
                       "updated_at": now - timedelta(hours=rng.randint(0, 24 * 90))}

    reads_made = insert_rows(conn, TopicRead.__table__, reads())
    return {"categories": len(made), "topics": len(topic_ids), "posts": posts_made, "likes": likes_made,
            "read markers": reads_made}

