"""Attacks on the account flows: open redirects, tampered tokens, and finding out who has an account."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import quote, urljoin, urlsplit

import pytest
import sqlalchemy as sa

from portal.accounts import services as accounts
from portal.accounts.models import AccountToken, TokenPurpose
from portal.db import utcnow
from portal.extensions import db
from tests.factories import PASSWORD, make_user, reload
from tests.helpers import csrf_token, page_without_secrets

OPEN_REDIRECTS = [
    "https://evil.example/",
    "http://evil.example",
    "//evil.example",
    "///evil.example",
    "////evil.example/path",
    "/\\evil.example",
    "\\/evil.example",
    "\\\\evil.example",
    "/\t/evil.example",
    "/\n/evil.example",
    " //evil.example",
    "https:evil.example",
    "http:/evil.example",
    "javascript:alert(1)",
    "JavaScript://%0aalert(1)",
    "data:text/html,<script>alert(1)</script>",
    "evil.example",
    "@evil.example",
    "https://127.0.0.1@evil.example/",
    "%2F%2Fevil.example",
    "/%5Cevil.example",
    "\x00//evil.example",
]


@pytest.mark.parametrize("target", OPEN_REDIRECTS)
def test_sign_in_never_redirects_off_site(client, target):
    user = make_user()
    response = client.post("/signin", data={"email": user.email, "password": PASSWORD, "next": target,
                                            "csrf_token": csrf_token(client, "/signin")})
    assert response.status_code == 302
    location = response.headers["Location"]
    # Resolve it the way a browser would, from a page on this site.
    assert urlsplit(urljoin("https://portal.test/signin", location)).netloc == "portal.test", location


@pytest.mark.parametrize("target", OPEN_REDIRECTS[:8])
def test_already_signed_in_visit_to_sign_in_never_redirects_off_site(client, target):
    user = make_user()
    client.post("/signin", data={"email": user.email, "password": PASSWORD,
                                 "csrf_token": csrf_token(client, "/signin")})
    response = client.get("/signin?next=" + quote(target, safe=""))
    assert response.status_code == 302 and response.headers["Location"] == "/"


# --- Tampered tokens ------------------------------------------------------------------------------


def _variants(raw: str) -> list[str]:
    flipped = raw[:-1] + ("A" if raw[-1] != "A" else "B")
    return [flipped, raw[:-1], raw + "x", raw.upper(), raw[1:], "x" * len(raw), raw + "%2F..", quote(raw + "/")]


def _issue(purpose: TokenPurpose, user, email: str) -> str:
    raw = accounts.issue_token(user, purpose, email, timedelta(hours=1))
    db.session.commit()
    return raw


def test_tampered_verification_tokens_verify_nothing(client):
    user = make_user(verified=False)
    raw = _issue(TokenPurpose.VERIFY_EMAIL, user, user.email)
    for bad in _variants(raw):
        assert client.get(f"/verify/{bad}").status_code in (400, 404), bad
    assert not reload(user).is_verified
    assert client.get(f"/verify/{raw}").status_code == 302
    assert reload(user).is_verified


def test_tampered_reset_tokens_change_no_password(app, client):
    app.config["RATELIMIT_RESET"] = "100 per minute"  # let every variant reach the token check
    user = make_user()
    raw = _issue(TokenPurpose.RESET_PASSWORD, user, user.email)
    token = csrf_token(client, "/password/forgot")
    for bad in _variants(raw):
        response = client.post(f"/password/reset/{bad}", data={"password": "hijacked password 1",
                                                               "confirm": "hijacked password 1", "csrf_token": token})
        assert response.status_code in (400, 404), bad
    assert accounts.authenticate(user.email, PASSWORD) is not None


def test_tampered_email_change_tokens_change_no_address(client):
    user = make_user(email="owner@example.com")
    user.pending_email = "new@example.com"
    db.session.commit()
    raw = _issue(TokenPurpose.CHANGE_EMAIL, user, "new@example.com")
    for bad in _variants(raw):
        assert client.get(f"/email/confirm/{bad}").status_code in (400, 404), bad
    assert reload(user).email == "owner@example.com"


def test_a_token_only_works_for_its_own_purpose(client):
    user = make_user(verified=False)
    reset = _issue(TokenPurpose.RESET_PASSWORD, user, user.email)
    verify = _issue(TokenPurpose.VERIFY_EMAIL, user, user.email)
    assert client.get(f"/verify/{reset}").status_code == 400
    assert client.get(f"/email/confirm/{verify}").status_code == 400
    assert client.get(f"/password/reset/{verify}").status_code == 400
    assert not reload(user).is_verified


def test_tokens_are_not_stored_in_the_clear(client):
    user = make_user()
    raw = _issue(TokenPurpose.RESET_PASSWORD, user, user.email)
    stored = db.session.scalars(sa.select(AccountToken.token_hash)).all()
    assert raw not in stored and all(len(h) == 64 for h in stored)


def test_expired_tokens_are_refused_even_unused(client):
    user = make_user()
    raw = _issue(TokenPurpose.RESET_PASSWORD, user, user.email)
    db.session.execute(sa.update(AccountToken).values(expires_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    assert client.get(f"/password/reset/{raw}").status_code == 400


# --- User enumeration -----------------------------------------------------------------------------


def _normalised(response, email: str) -> str:
    return page_without_secrets(response, email)


def test_sign_in_does_not_reveal_which_emails_have_accounts(client):
    make_user(email="member@example.com")
    make_user(email="pending@example.com", verified=False)
    make_user(email="banned@example.com", suspended_until=utcnow() + timedelta(days=1), suspended_reason="x")
    results = []
    for email in ("member@example.com", "pending@example.com", "banned@example.com", "stranger@example.com"):
        response = client.post("/signin", data={"email": email, "password": "not the password",
                                                "csrf_token": csrf_token(client, "/signin")})
        results.append((response.status_code, _normalised(response, email)))
    assert len(set(results)) == 1


def test_password_reset_does_not_reveal_which_emails_have_accounts(client):
    make_user(email="member@example.com")
    results = []
    for email in ("member@example.com", "stranger@example.com"):
        response = client.post("/password/forgot", data={"email": email,
                                                         "csrf_token": csrf_token(client, "/password/forgot")})
        results.append((response.status_code, _normalised(response, email)))
    assert len(set(results)) == 1


def test_verification_resend_does_not_reveal_which_emails_have_accounts(client):
    make_user(email="member@example.com", verified=False)
    make_user(email="done@example.com")
    results = []
    for email in ("member@example.com", "done@example.com", "stranger@example.com"):
        response = client.post("/verify/resend", data={"email": email,
                                                       "csrf_token": csrf_token(client, "/verify/resend")})
        results.append((response.status_code, _normalised(response, email)))
    assert len(set(results)) == 1


def test_profiles_never_show_email_addresses(client):
    user = make_user(email="hidden.address@example.com", bio="hi")
    assert "hidden.address" not in client.get(f"/users/{user.id}").get_data(as_text=True)
