"""`flask create-admin` and `flask seed-demo`."""

from __future__ import annotations

import click
import sqlalchemy as sa

from portal.accounts import bp
from portal.accounts.models import Organization, Tier, User
from portal.accounts.services import create_admin, hash_password, new_session_stamp
from portal.db import utcnow
from portal.errors import RuleViolation
from portal.extensions import db
from portal.forums.seed import seed_categories, seed_topics
from portal.notifications.seed import last_notification_id, seed_watches, settle_demo_notifications
from portal.permissions import Role

DEMO_PASSWORD = "portal-demo-2026"  # noqa: S105  (printed for the demo on purpose)

DEMO_ORGANIZATIONS = [
    # name, domain, tier, annual value, vendor
    ("Northwind Software", "northwind.example", Tier.STRATEGIC, 0, True),
    ("Acme Corporation", "acme.example", Tier.ENTERPRISE, 480_000, False),
    ("Globex", "globex.example", Tier.PREMIUM, 120_000, False),
    ("Initech", "initech.example", Tier.STANDARD, 18_000, False),
]

DEMO_USERS = [
    # email, name, role, job title, verified
    ("admin@northwind.example", "Ada Lindqvist", Role.ADMIN, "Community Manager", True),
    ("sam@northwind.example", "Sam Rivera", Role.STAFF, "Support Engineer", True),
    ("priya@northwind.example", "Priya Nair", Role.STAFF, "Product Manager", True),
    ("lee@northwind.example", "Lee Okafor", Role.STAFF, "Developer Advocate", True),
    ("carol@acme.example", "Carol Chen", Role.CUSTOMER, "IT Director", True),
    ("dan@acme.example", "Dan Brooks", Role.CUSTOMER, "Systems Administrator", True),
    ("erin@acme.example", "Erin Walsh", Role.CUSTOMER, "Data Engineer", True),
    ("femi@acme.example", "Femi Adeyemi", Role.CUSTOMER, "Solutions Architect", True),
    ("gita@acme.example", "Gita Rao", Role.CUSTOMER, "Analyst", True),
    ("ivy@globex.example", "Ivy Park", Role.CUSTOMER, "Head of Operations", True),
    ("jonas@globex.example", "Jonas Berg", Role.CUSTOMER, "DevOps Lead", True),
    ("kim@globex.example", "Kim Lopez", Role.CUSTOMER, "Product Owner", True),
    ("liam@globex.example", "Liam O'Neil", Role.CUSTOMER, "Developer", True),
    ("maya@globex.example", "Maya Singh", Role.CUSTOMER, "QA Engineer", True),
    ("nora@initech.example", "Nora Feld", Role.CUSTOMER, "CTO", True),
    ("omar@initech.example", "Omar Haddad", Role.CUSTOMER, "Developer", True),
    ("paula@initech.example", "Paula Reyes", Role.CUSTOMER, "Business Analyst", True),
    ("quinn@initech.example", "Quinn Taylor", Role.CUSTOMER, "Intern", False),
    ("sol@example.net", "Sol Moreno", Role.CUSTOMER, "Freelance consultant", True),
    ("tess@example.org", "Tess Ibarra", Role.CUSTOMER, "", True),
    # Signed up to advertise: the demo's review queue has their posts (portal.moderation.seed).
    ("deals@bargains.example", "Best Deals Today", Role.CUSTOMER, "", True),
    # Just joined: their first reply and first topic wait for approval in the review queue.
    ("rosa@initech.example", "Rosa Novak", Role.CUSTOMER, "Support Analyst", True),
]

DEMO_SIGN_INS = [
    ("admin", "admin@northwind.example"),
    ("staff", "sam@northwind.example"),
    ("customer", "carol@acme.example"),
    ("customer", "ivy@globex.example"),
]


@bp.cli.command("create-admin")
@click.argument("email")
@click.option("--name", default=None, help="Display name (defaults to the part of the email before @).")
def create_admin_command(email: str, name: str | None) -> None:
    """Create a verified admin account (or promote an existing one)."""
    existing = db.session.scalar(sa.select(User).where(User.email == email.strip().lower()))
    password = "" if existing else click.prompt("Password (at least 10 characters)", hide_input=True,
                                                confirmation_prompt=True)
    try:
        user, created = create_admin(email, password, name)
    except RuleViolation as violation:
        db.session.rollback()
        raise click.ClickException(violation.message) from violation
    db.session.commit()
    click.echo(f"{'Created' if created else 'Promoted'} admin {user.email}.")


def seed_demo() -> tuple[int, int, int, int]:
    """Add the demo organisations, users, forum categories and threads that are missing; how many of each."""
    orgs_added = users_added = 0
    orgs: dict[str, Organization] = {}
    for name, domain, tier, value, vendor in DEMO_ORGANIZATIONS:
        org = db.session.scalar(sa.select(Organization).where(Organization.name == name))
        if org is None:
            org = Organization(name=name, email_domain=domain, tier=tier, annual_value=value, is_vendor=vendor)
            db.session.add(org)
            orgs_added += 1
        orgs[domain] = org
    db.session.flush()
    password_hash = hash_password(DEMO_PASSWORD)  # one hash for all: seeding stays fast
    existing = set(db.session.scalars(sa.select(User.email).where(User.email.in_([u[0] for u in DEMO_USERS]))))
    for email, name, role, title, verified in DEMO_USERS:
        if email in existing:
            continue
        org = orgs.get(email.split("@", 1)[1])
        db.session.add(User(
            email=email, display_name=name, role=role, job_title=title, password_hash=password_hash,
            organization_id=org.id if org else None, email_verified_at=utcnow() if verified else None,
            session_stamp=new_session_stamp(),
            bio=f"{title} at {org.name}." if org and title else "",
        ))
        users_added += 1
    db.session.flush()
    categories_added = seed_categories()
    seed_watches()
    before = last_notification_id()
    topics_added = seed_topics()
    from portal.moderation.seed import seed_flags, seed_held  # on use: moderation imports the accounts services

    seed_flags()
    seed_held()
    settle_demo_notifications(before)
    return orgs_added, users_added, categories_added, topics_added


@bp.cli.command("seed-demo")
@click.option("--if-empty", is_flag=True, help="Only seed when there are no users yet (used by `make run`).")
def seed_demo_command(if_empty: bool) -> None:
    """Load demo organisations and users (idempotent) and print the demo sign-ins."""
    has_users = db.session.scalar(sa.select(sa.func.count(User.id))) > 0
    if if_empty and has_users:
        click.echo("Database already has users; demo data not loaded.")
    else:
        orgs, users, categories, topics = seed_demo()
        db.session.commit()
        click.echo(f"Demo data: {orgs} organisation(s) and {users} user(s) added.")
        click.echo(f"Demo forum categories added: {categories}; demo threads added: {topics}.")
    click.echo("")
    click.echo(f"Demo sign-ins (password for all: {DEMO_PASSWORD}):")
    for role, email in DEMO_SIGN_INS:
        click.echo(f"  {role:<9} {email}")
    click.echo("")
