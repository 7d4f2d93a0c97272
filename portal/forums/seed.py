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
        forums.save_category(None, name=name, slug=slug, description=description, kind=kind, position=position,
                             audience=audience, can_start=can_start)
        added += 1
    name, slug, org_name, description = PRIVATE_CATEGORY
    org_id = db.session.scalar(sa.select(Organization.id).where(Organization.name == org_name))
    if slug not in existing and org_id is not None:
        forums.save_category(None, name=name, slug=slug, description=description, kind=CategoryKind.QUESTIONS,
                             position=len(DEMO_CATEGORIES), audience=Audience.ORGANIZATIONS,
                             organization_ids=[org_id])
        added += 1
    return added
