"""Benchmark data for accounts: organisations and users (see portal/benchdata.py for the contract).

Per unit of scale: about 40 organisations (one the vendor) and 1,000 users — about 5% staff, 2 admins, the rest
customers, most of them in an organisation at their email's domain; a few suspended, a few unverified. Everyone
shares one password hash (computed once) so loading stays fast; the bench admin signs in with the constants below.
"""

from __future__ import annotations

import random
import re
from datetime import timedelta

import sqlalchemy as sa

from portal.accounts.models import SUSPENDED_INDEFINITELY, Organization, Tier, User
from portal.accounts.services import hash_password, new_session_stamp
from portal.benchdata import insert_rows, scaled
from portal.db import utcnow
from portal.permissions import Role

BENCH_ADMIN_EMAIL = "bench-admin@bench.example"
BENCH_PASSWORD = "bench-password-1"  # noqa: S105  (printed on purpose: benchmark data only)
VENDOR_NAME = "Benchbridge Software"
VENDOR_DOMAIN = "bench.example"

FIRST_NAMES = [
    "Ada", "Ahmed", "Aiko", "Alba", "Amara", "Ana", "Arjun", "Astrid", "Ben", "Bianca", "Carlos", "Chen", "Chloe",
    "Dana", "David", "Elena", "Emeka", "Emma", "Farah", "Felix", "Grace", "Hana", "Hugo", "Ines", "Ivan", "Jamal",
    "Jana", "Jonas", "Julia", "Kenji", "Lars", "Leila", "Lina", "Luca", "Malik", "Maria", "Mateo", "Mei", "Nadia",
    "Noah", "Nora", "Olga", "Omar", "Paul", "Priya", "Rafael", "Rosa", "Sam", "Sara", "Sofia", "Tariq", "Tom",
    "Uma", "Victor", "Wei", "Yara", "Yusuf", "Zoe",
]
LAST_NAMES = [
    "Adeyemi", "Andersen", "Bauer", "Becker", "Brooks", "Castro", "Chen", "Costa", "Dubois", "Eriksson", "Fischer",
    "Garcia", "Haddad", "Hansen", "Ibrahim", "Ito", "Jensen", "Kim", "Kowalski", "Kumar", "Larsen", "Lopez",
    "Martin", "Meyer", "Moreau", "Murphy", "Nakamura", "Nguyen", "Novak", "O'Brien", "Okafor", "Park", "Patel",
    "Petrov", "Quinn", "Rossi", "Sato", "Schmidt", "Silva", "Singh", "Suzuki", "Taylor", "Tanaka", "Walsh",
    "Weber", "Wong", "Yilmaz", "Zhang",
]
JOB_TITLES = [
    "", "", "Developer", "Senior Developer", "Systems Administrator", "DevOps Engineer", "Data Engineer", "Analyst",
    "IT Director", "CTO", "Product Owner", "QA Engineer", "Solutions Architect", "Head of Operations",
    "Business Analyst", "Support Lead", "Platform Engineer", "Security Engineer", "Engineering Manager",
]
STAFF_TITLES = ["Support Engineer", "Product Manager", "Developer Advocate", "Solutions Engineer",
                "Customer Success Manager", "Community Manager", "Software Engineer"]
TIMEZONES = ["UTC", "Europe/London", "Europe/Paris", "Europe/Berlin", "America/New_York", "America/Chicago",
             "America/Los_Angeles", "Asia/Tokyo", "Asia/Singapore", "Australia/Sydney", "Asia/Kolkata"]
ORG_WORDS = [
    "Acme", "Globex", "Initech", "Umbrella", "Hooli", "Vandelay", "Stark", "Wayne", "Tyrell", "Cyberdyne", "Soylent",
    "Wonka", "Gringotts", "Oscorp", "Aperture", "Massive", "Dunder", "Pied Piper", "Nakatomi", "Virtucon",
    "Blue Sun", "Monarch", "Sirius", "Nimbus", "Polaris", "Cobalt", "Juniper", "Granite", "Harbor", "Summit",
    "Lumen", "Quarry", "Redwood", "Sable", "Tandem", "Vertex", "Willow", "Zephyr", "Orchard", "Meridian",
]
ORG_SUFFIXES = ["Corporation", "Systems", "Labs", "Group", "Industries", "Holdings", "Logistics", "Health",
                "Bank", "Energy", "Retail", "Media", "Analytics", "Insurance", "Foods", "Robotics", "Networks",
                "Partners", "Manufacturing", "Telecom"]
# tier, share of organisations, annual value range
TIERS = [
    (Tier.STANDARD, 50, (5_000, 40_000)),
    (Tier.PREMIUM, 30, (40_000, 150_000)),
    (Tier.ENTERPRISE, 15, (150_000, 600_000)),
    (Tier.STRATEGIC, 5, (600_000, 2_500_000)),
]
FREE_MAIL_DOMAINS = ["mail.example", "inbox.example", "post.example", "example.net", "example.org"]
SUSPENSION_REASONS = ["Spam in several forums.", "Abusive replies to staff.", "Shared another customer's data.",
                      "Repeated off-topic advertising."]
HISTORY = timedelta(days=3 * 365)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _organizations(count: int, rng: random.Random, now) -> list[dict]:
    names = [f"{word} {suffix}" for word in ORG_WORDS for suffix in ORG_SUFFIXES]
    rng.shuffle(names)
    if count > len(names):  # very large scales: number the extra ones
        names += [f"{names[i % len(names)]} {i // len(names) + 1}" for i in range(len(names), count)]
    rows = [{"name": VENDOR_NAME, "email_domain": VENDOR_DOMAIN, "tier": Tier.STRATEGIC, "annual_value": 0,
             "is_vendor": True, "created_at": now - HISTORY}]
    weights = [share for _, share, _ in TIERS]
    for name in names[:count - 1]:
        tier, _, (low, high) = rng.choices(TIERS, weights)[0]
        rows.append({
            "name": name, "email_domain": f"{_slug(name)}.example", "tier": tier,
            "annual_value": round(rng.randint(low, high), -3), "is_vendor": False,
            "created_at": now - HISTORY * rng.random(),
        })
    return rows


def _user_row(n: int, role: Role, domain: str, org_id: int | None, password_hash: str, rng: random.Random, now,
              verified: bool = True, suspended: bool = False, email: str | None = None,
              name: str | None = None) -> dict:
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    name = name or f"{first} {last}"
    created = now - HISTORY * rng.random() ** 1.5  # more recent sign-ups than old ones, as a community grows
    title = rng.choice(STAFF_TITLES) if role != Role.CUSTOMER else rng.choice(JOB_TITLES)
    seen = None
    if rng.random() < 0.85:
        seen = created + (now - created) * (1 - rng.random() ** 3)  # most were seen recently
    until, reason = None, ""
    if suspended:
        until = SUSPENDED_INDEFINITELY if rng.random() < 0.3 else now + timedelta(days=rng.randint(1, 30))
        reason = rng.choice(SUSPENSION_REASONS)
    local = re.sub(r"[^a-z]", "", first.lower()) + "." + re.sub(r"[^a-z]", "", last.lower())
    return {
        "email": email or f"{local}{n}@{domain}",
        "display_name": name,
        "password_hash": password_hash,
        "role": role,
        "organization_id": org_id,
        "job_title": title,
        "bio": f"{title} working with our products since {created.year}." if title and rng.random() < 0.3 else "",
        "timezone": rng.choice(TIMEZONES),
        "email_verified_at": created + timedelta(minutes=rng.randint(1, 600)) if verified else None,
        "pending_email": None,
        "created_at": created,
        "last_seen_at": seen,
        "suspended_until": until,
        "suspended_reason": reason,
        "session_stamp": new_session_stamp(),
    }


def generate(conn: sa.Connection, scale: float, rng: random.Random) -> dict[str, int]:
    """Organisations (about 40 × scale, at least 5) and users (about 1,000 × scale)."""
    now = utcnow()
    orgs_made = insert_rows(conn, Organization.__table__, _organizations(scaled(40, scale, minimum=5), rng, now))
    org_rows = conn.execute(sa.select(Organization.id, Organization.email_domain, Organization.is_vendor)).all()
    vendor_id = next(org_id for org_id, _, vendor in org_rows if vendor)
    customers_orgs = [(org_id, domain) for org_id, domain, vendor in org_rows if not vendor]
    # A few large customers and many small ones (capped, so no one customer swamps the community).
    org_weights = [min(rng.paretovariate(1.5), 40.0) for _ in customers_orgs]

    total = scaled(1_000, scale, minimum=10)
    staff = max(1, round(total * 0.05))
    password_hash = hash_password(BENCH_PASSWORD)

    def rows():
        yield _user_row(1, Role.ADMIN, VENDOR_DOMAIN, vendor_id, password_hash, rng, now,
                        email=BENCH_ADMIN_EMAIL, name="Bench Admin")
        yield _user_row(2, Role.ADMIN, VENDOR_DOMAIN, vendor_id, password_hash, rng, now)
        for n in range(3, staff + 3):
            yield _user_row(n, Role.STAFF, VENDOR_DOMAIN, vendor_id, password_hash, rng, now)
        picks = rng.choices(customers_orgs, org_weights, k=total)
        for n in range(staff + 3, total + 1):
            verified = rng.random() > 0.03
            suspended = rng.random() < 0.01
            if rng.random() < 0.85:
                org_id, domain = picks[n - 1]
                # An unverified address has not joined its domain's organisation yet.
                org_id = org_id if verified else None
            else:
                org_id, domain = None, rng.choice(FREE_MAIL_DOMAINS)
            yield _user_row(n, Role.CUSTOMER, domain, org_id, password_hash, rng, now, verified, suspended)

    users_made = insert_rows(conn, User.__table__, rows())
    return {"organisations": orgs_made, "users": users_made}
