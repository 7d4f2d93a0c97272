"""Test data with overridable defaults, and the login helper."""

from __future__ import annotations

import itertools

import sqlalchemy as sa
from flask import current_app

from portal.accounts.models import Organization, Tier, User
from portal.accounts.services import hash_password, new_session_stamp
from portal.db import utcnow
from portal.extensions import db
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
