"""Test data with overridable defaults, and the login helper."""

from __future__ import annotations

import itertools

import sqlalchemy as sa
from flask import current_app

from portal.accounts.models import Organization, Tier, User
from portal.accounts.services import hash_password, new_session_stamp
from portal.db import utcnow
from portal.extensions import db
from portal.forums import services as forums
from portal.forums.models import Audience, Category, CategoryKind, CategoryOrganization, Post, PostingRight, Topic
from portal.permissions import Role
from tests.helpers import csrf_token

PASSWORD = "correct horse battery"
_seq = itertools.count(1)


def make_organization(**overrides) -> Organization:
    n = next(_seq)
    values = {"name": f"Organisation {n}", "email_domain": None, "tier": Tier.STANDARD, "annual_value": 0,
              "is_vendor": False}
    values.update(overrides)
    org = Organization(**values)
    db.session.add(org)
    db.session.commit()
    return org


def make_user(
    role: Role = Role.CUSTOMER, verified: bool = True, password: str = PASSWORD, **overrides
) -> User:
    n = next(_seq)
    values = {
        "email": f"user{n}@example.com",
        "display_name": f"User {n}",
        "role": role,
        "password_hash": hash_password(password),
        "email_verified_at": utcnow() if verified else None,
        "session_stamp": new_session_stamp(),
    }
    values.update(overrides)
    values["email"] = values["email"].lower()
    user = User(**values)
    db.session.add(user)
    db.session.commit()
    return user


def make_category(organizations=(), **overrides) -> Category:
    """A top-level discussion category everyone sees; `organizations` lists those allowed for that audience."""
    n = next(_seq)
    values = {"name": f"Category {n}", "slug": f"category-{n}", "kind": CategoryKind.DISCUSSION,
              "audience": Audience.EVERYONE, "can_start": PostingRight.SIGNED_IN, "can_reply": PostingRight.SIGNED_IN}
    values.update(overrides)
    category = Category(**values)
    category.organization_links = [CategoryOrganization(organization_id=org.id) for org in organizations]
    db.session.add(category)
    db.session.commit()
    return category


def make_topic(category: Category | None = None, user: User | None = None, **overrides) -> Topic:
    """A topic with its first post, made by the service so every counter is right."""
    n = next(_seq)
    values = {"title": f"Topic number {n}", "body": f"The first post of topic {n}."}
    values.update(overrides)
    topic = forums.create_topic(user or make_user(), category or make_category(), values["title"], values["body"])
    db.session.commit()
    return topic


def make_post(topic: Topic, user: User | None = None, body: str | None = None, whisper: bool = False) -> Post:
    """A reply, made by the service so numbers and counters are right."""
    post = forums.create_post(user or make_user(), topic, body or f"Reply {next(_seq)}.", whisper=whisper)
    db.session.commit()
    return post


def login(client, user: User, password: str = PASSWORD, remember: bool = False):
    """Sign in through the real form (CSRF token included); asserts it worked."""
    assert current_app  # needs the app fixture's context
    token = csrf_token(client, "/signin")
    data = {"email": user.email, "password": password, "csrf_token": token}
    if remember:
        data["remember"] = "y"
    response = client.post("/signin", data=data)
    assert response.status_code == 302, response.get_data(as_text=True)
    return response


def logout(client):
    token = csrf_token(client, "/")
    return client.post("/signout", data={"csrf_token": token})


def reload(obj):
    """A fresh copy of a row, as the database has it now."""
    db.session.commit()  # ends the transaction: the next read sees what others committed
    return db.session.get(type(obj), obj.id)


def count_rows(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))
