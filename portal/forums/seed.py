"""Demo forum categories for `flask seed-demo`."""

from __future__ import annotations

import sqlalchemy as sa

from portal.accounts.models import Organization
from portal.extensions import db
from portal.forums import services as forums
from portal.forums.models import Audience, Category, CategoryKind, PostingRight

DEMO_CATEGORIES = [
    # name, slug, kind, audience, can_start, description
    ("Announcements", "announcements", CategoryKind.DISCUSSION, Audience.EVERYONE, PostingRight.STAFF,
     "Releases, maintenance windows and news from the Northwind team."),
    ("Getting Started", "getting-started", CategoryKind.QUESTIONS, Audience.EVERYONE, PostingRight.SIGNED_IN,
     "New here? Ask about setup, accounts and first steps."),
    ("Product Q&A", "product-qa", CategoryKind.QUESTIONS, Audience.EVERYONE, PostingRight.SIGNED_IN,
     "Questions about features and how to use them; mark the answer that solved it."),
    ("Integrations", "integrations", CategoryKind.DISCUSSION, Audience.EVERYONE, PostingRight.SIGNED_IN,
     "APIs, webhooks, SSO and connecting Northwind to the rest of your stack."),
    ("Off-topic", "off-topic", CategoryKind.DISCUSSION, Audience.SIGNED_IN, PostingRight.SIGNED_IN,
     "Anything else among community members."),
]
PRIVATE_CATEGORY = ("Acme Private Support", "acme-private-support", "Acme Corporation",
                    "Support questions visible only to Acme Corporation and Northwind staff.")


def seed_categories() -> int:
    """Add the demo categories that are missing (matched by slug); returns how many were added."""
    existing = set(db.session.scalars(sa.select(Category.slug)))
    added = 0
    for position, (name, slug, kind, audience, can_start, description) in enumerate(DEMO_CATEGORIES):
        if slug in existing:
            continue
        forums.save_category(None, actor=None, name=name,
                             slug=slug, description=description, kind=kind, position=position,
                             audience=audience, can_start=can_start)
        added += 1
    name, slug, org_name, description = PRIVATE_CATEGORY
    org_id = db.session.scalar(sa.select(Organization.id).where(Organization.name == org_name))
    if slug not in existing and org_id is not None:
        forums.save_category(None, actor=None, name=name,
                             slug=slug, description=description, kind=CategoryKind.QUESTIONS,
                             position=len(DEMO_CATEGORIES), audience=Audience.ORGANIZATIONS,
                             organization_ids=[org_id])
        added += 1
    return added


# --- Demo threads ----------------------------------------------------------------------------------
# Each: category slug, title, author email, hours ago, flags, then the posts: (author email, hours ago, body,
# marks) where marks may hold "official", "accepted", "whisper". Bodies use the composer's mention form.

DEMO_THREADS = [
    ("announcements", "Release 4.2: faster exports and SSO group sync", "priya@northwind.example", 240,
     {"pinned"}, [
         ("priya@northwind.example", 240,
          "Release 4.2 is live for every tenant.\n\n"
          "**What's new**\n\n"
          "- Exports run in the background and are up to 5× faster on large projects\n"
          "- SSO group sync: map identity-provider groups to roles\n"
          "- The audit log can be filtered by user and date\n\n"
          "| Area | Change |\n|---|---|\n| Exports | background jobs, email when ready |\n"
          "| SSO | group → role mapping |\n\n"
          "Questions welcome in Product Q&A.", set()),
         ("carol@acme.example", 230, "The group sync is exactly what we needed. Is it on by default?", set()),
         ("sam@northwind.example", 228,
          "It is off by default: an admin turns it on under *Settings → Single sign-on → Group sync*. "
          "Nothing changes for existing users until you map a group.", {"official"}),
     ]),
    ("getting-started", "How do I invite my whole team at once?", "dan@acme.example", 70, set(), [
        ("dan@acme.example", 70,
         "We have about 40 people to onboard. Is there a way to invite them in bulk instead of one by one?", set()),
        ("jonas@globex.example", 66, "We used the CSV import for that last year, it worked fine.", set()),
        ("sam@northwind.example", 60,
         "Yes: *Admin → Users → Import* takes a CSV with `email,name,role`. For example:\n\n"
         "```csv\nemail,name,role\nana@acme.example,Ana Silva,member\n```\n\n"
         "Everyone gets an invitation email; unused invitations expire after 14 days.", {"official", "accepted"}),
        ("dan@acme.example", 58, "Perfect, that did it. Thanks @[Sam Rivera](/users/{sam}) !", set()),
    ]),
    ("product-qa", "Scheduled report arrives empty since Monday", "ivy@globex.example", 30, set(), [
        ("ivy@globex.example", 30,
         "Our weekly scheduled report has been arriving with no rows since Monday. The same report run by hand "
         "shows data. Anyone else?", set()),
        ("kim@globex.example", 29, "Same here for a monthly one. Time zone related maybe?", set()),
        ("lee@northwind.example", 27,
         "Thanks both. We found it: reports scheduled in a time zone west of UTC used the wrong day boundary "
         "after the 4.2 update. A fix ships tomorrow; until then, set the report's time zone to UTC.",
         {"official"}),
        ("sam@northwind.example", 26, "Linked to incident INC-2291; Globex is on the affected shard.", {"whisper"}),
        ("ivy@globex.example", 25, "Switching to UTC works as a workaround, thank you.", set()),
    ]),
    ("product-qa", "Can custom fields be required on import?", "erin@acme.example", 52, set(), [
        ("erin@acme.example", 52,
         "When importing records from CSV, rows missing a custom field value are accepted. Can I make the "
         "import reject them?", set()),
        ("femi@acme.example", 48, "I don't think so, we validate the file before upload with a script.", set()),
        ("priya@northwind.example", 45,
         "Not today. It is on the roadmap for 4.3: a *required on import* switch per custom field.",
         {"official"}),
    ]),
    ("product-qa", "Export to Parquet format?", "omar@initech.example", 30, set(), [
        ("omar@initech.example", 30,
         "Our data team would like exports in Parquet rather than CSV. Is that possible, even via the API?",
         set()),
    ]),
    ("integrations", "Webhook deliveries retried too aggressively", "liam@globex.example", 9, set(), [
        ("liam@globex.example", 9,
         "When our endpoint is down for maintenance, webhooks are retried every few seconds and flood our "
         "logs. Can the backoff be configured?", set()),
        ("maya@globex.example", 8, "+1, we return 503 with Retry-After and it seems ignored.", set()),
    ]),
    ("getting-started", "SAML login loops back to the sign-in page", "nora@initech.example", 3, set(), [
        ("nora@initech.example", 3,
         "After setting up SAML with our IdP, users get sent back to the sign-in page without an error. "
         "The IdP log shows a successful assertion.", set()),
    ]),
    ("off-topic", "What are you all building this quarter?", "tess@example.org", 120, set(), [
        ("tess@example.org", 120, "Curious what everyone is working on. I'm migrating a client off spreadsheets.",
         set()),
        ("gita@acme.example", 110, "Consolidating three reporting tools into one. Wish me luck.", set()),
        ("sol@example.net", 100, "A small Slack bot that posts our weekly numbers.", set()),
    ]),
    ("acme-private-support", "Contract renewal and seat count", "carol@acme.example", 20, {"locked"}, [
        ("carol@acme.example", 20, "We will add about 60 seats at renewal. Who should we talk to?", set()),
        ("sam@northwind.example", 18,
         "Your account manager will reach out this week; I've passed on the numbers. Locking this one as it "
         "moves to email.", {"official"}),
    ]),
]


def seed_topics() -> int:
    """Add the demo threads that are missing (matched by title); returns how many were added."""
    import datetime as dt

    from portal.accounts.models import User
    from portal.db import utcnow
    from portal.forums.models import Post, Topic

    existing = set(db.session.scalars(sa.select(Topic.title)))
    users = {u.email: u for u in db.session.scalars(sa.select(User))}
    categories = {c.slug: c for c in db.session.scalars(sa.select(Category))}
    sam = users.get("sam@northwind.example")
    now = utcnow()
    added = 0
    for slug, title, author_email, hours, flags, posts in DEMO_THREADS:
        category = categories.get(slug)
        if title in existing or category is None or any(p[0] not in users for p in posts):
            continue

        def body_of(text: str) -> str:
            return text.replace("{sam}", str(sam.id if sam else 0))

        first = posts[0]
        topic = forums.create_topic(users[author_email], category, title, body_of(first[2]))
        made = [db.session.scalar(sa.select(Post).where(Post.topic_id == topic.id, Post.number == 1))]
        for email, _, text, marks in posts[1:]:
            made.append(forums.create_post(users[email], topic, body_of(text), whisper="whisper" in marks))
        for post, (email, ago, _, marks) in zip(made, posts, strict=True):
            post.created_at = now - dt.timedelta(hours=ago)
            if "official" in marks:
                forums.mark_official(users[email], post, True)
            if "accepted" in marks:
                forums.accept_answer(users[author_email], topic, post)
        visible = [(p, spec) for p, spec in zip(made, posts, strict=True) if "whisper" not in spec[3]]
        last_post = visible[-1][0]
        topic.created_at = now - dt.timedelta(hours=hours)
        topic.last_post_at = last_post.created_at
        staff_replies = [p.created_at for p, spec in visible[1:] if users[spec[0]].role.value in ("staff", "admin")]
        topic.first_staff_reply_at = min(staff_replies) if staff_replies else None
        topic.is_pinned = "pinned" in flags
        topic.is_locked = "locked" in flags
        added += 1
    db.session.flush()
    return added
