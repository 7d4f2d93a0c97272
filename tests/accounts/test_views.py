"""Account pages through the test client, with CSRF on: what a person sees and what they can't do."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from portal.accounts.models import AccountToken, User
from portal.db import utcnow
from portal.extensions import db
from portal.permissions import Role
from tests.factories import PASSWORD, count_rows, login, logout, make_organization, make_user, reload
from tests.helpers import count_queries, csrf_token, link_from, outbox, page_without_secrets

NEW_PASSWORD = "a brand new password"


def sign_up(client, name="Nina", email="nina@example.com", password="a long enough password", **extra):
    data = {"display_name": name, "email": email, "password": password, "csrf_token": csrf_token(client, "/signup")}
    data.update(extra)
    return client.post("/signup", data=data)


def text(response) -> str:
    return response.get_data(as_text=True)


# --- Sign-up --------------------------------------------------------------------------------------


def test_sign_up_signs_in_shows_banner_and_sends_link(client):
    response = sign_up(client)
    assert response.status_code == 302 and response.headers["Location"] == "/"
    home = text(client.get("/"))
    assert "Please confirm your email address" in home
    assert "Send the link again" in home
    assert "nina@example.com" in home
    [mail] = outbox("verify_email")
    assert mail.to_address == "nina@example.com"


def test_verification_link_removes_the_banner(client):
    sign_up(client)
    response = client.get(link_from(outbox("verify_email")[0], "/verify/"))
    assert response.status_code == 302
    home = text(client.get("/", follow_redirects=True))
    assert "Please confirm your email address" not in home
    assert db.session.scalar(sa.select(User)).is_verified


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"email": "not-an-email"}, "look like an email"),
        ({"password": "short"}, "at least 10 characters"),
        ({"password": "nina@example.com"}, "can&#39;t be your email"),
        ({"display_name": ""}, "Enter your name"),
        ({"email": ""}, "Enter your email"),
    ],
)
def test_sign_up_bad_input_shows_field_errors_and_keeps_input(client, fields, message):
    renamed = {("name" if key == "display_name" else key): value for key, value in fields.items()}
    response = sign_up(client, **renamed)
    body = text(response)
    assert response.status_code == 422
    assert message in body
    assert count_rows(User) == 0
    if "email" not in fields:
        assert 'value="nina@example.com"' in body  # what they typed is still there


def test_sign_up_duplicate_email_in_other_case_says_so(client):
    make_user(email="dupe@example.com", display_name="Secret Name")
    response = sign_up(client, email="DUPE@Example.com")
    body = text(response)
    assert response.status_code == 422
    assert "An account with this email already exists" in body
    assert "Secret Name" not in body
    assert count_rows(User) == 1


def test_sign_up_without_csrf_token_is_refused(client):
    response = client.post(
        "/signup", data={"display_name": "X", "email": "x@example.com", "password": "a long enough password"}
    )
    assert response.status_code == 400
    assert "This form has expired" in text(response)
    assert count_rows(User) == 0


def test_signed_in_user_visiting_sign_up_goes_home(client):
    login(client, make_user())
    assert client.get("/signup").status_code == 302


# --- Verification links ---------------------------------------------------------------------------


def test_reused_verification_link_gets_a_clear_page(client):
    sign_up(client)
    link = link_from(outbox("verify_email")[0], "/verify/")
    client.get(link)
    response = client.get(link)
    assert response.status_code == 400
    body = text(response)
    assert "already been used" in body
    assert "already confirmed" in body


def test_tampered_verification_link_offers_a_new_one(client):
    sign_up(client)
    link = link_from(outbox("verify_email")[0], "/verify/")
    response = client.get(link[:-3] + "xyz")
    assert response.status_code == 400
    body = text(response)
    assert "isn&#39;t valid" in body
    assert "Send me a new confirmation link" in body


def test_expired_verification_link_offers_resend_and_resend_works(client):
    sign_up(client)
    link = link_from(outbox("verify_email")[0], "/verify/")
    db.session.execute(sa.update(AccountToken).values(expires_at=utcnow() - timedelta(hours=1)))
    db.session.commit()
    response = client.get(link)
    assert response.status_code == 400
    assert "This link has expired" in text(response)
    token = csrf_token(client, "/verify/resend")
    response = client.post("/verify/resend", data={"csrf_token": token})
    assert response.status_code == 302
    assert len(outbox("verify_email")) == 2
    client.get(link_from(outbox("verify_email")[1], "/verify/"))
    assert db.session.scalar(sa.select(User)).is_verified


def test_signed_out_resend_answers_the_same_whether_or_not_the_account_exists(client):
    make_user(email="waiting@example.com", verified=False)
    responses = []
    for email in ("waiting@example.com", "nobody@example.com"):
        token = csrf_token(client, "/verify/resend")
        responses.append(client.post("/verify/resend", data={"email": email, "csrf_token": token}))
    assert [r.status_code for r in responses] == [200, 200]
    emails = ("waiting@example.com", "nobody@example.com")
    first, second = (page_without_secrets(r, e) for r, e in zip(responses, emails, strict=True))
    assert first == second
    assert [m.to_address for m in outbox("verify_email")] == ["waiting@example.com"]


def test_verifying_signed_out_sends_to_sign_in(client):
    make_user(email="later@example.com", verified=False)
    token = csrf_token(client, "/verify/resend")
    client.post("/verify/resend", data={"email": "later@example.com", "csrf_token": token})
    response = client.get(link_from(outbox("verify_email")[0], "/verify/"))
    assert response.status_code == 302 and response.headers["Location"].startswith("/signin")


# --- Sign-in and sign-out -------------------------------------------------------------------------


def post_sign_in(client, email, password, **extra):
    data = {"email": email, "password": password, "csrf_token": csrf_token(client, "/signin")}
    data.update(extra)
    return client.post("/signin", data=data, query_string=extra.pop("query", None))


def test_wrong_password_and_unknown_email_get_the_same_generic_message(client):
    make_user(email="real@example.com")
    wrong = post_sign_in(client, "real@example.com", "wrong password")
    unknown = post_sign_in(client, "ghost@example.com", "wrong password")
    assert wrong.status_code == unknown.status_code == 422
    assert "Email or password is wrong." in text(wrong)
    assert page_without_secrets(wrong, "real@example.com") == page_without_secrets(unknown, "ghost@example.com")


def test_sign_in_then_sign_out(client):
    user = make_user(display_name="Olive")
    response = post_sign_in(client, user.email.upper(), PASSWORD)
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert "Olive" in text(client.get("/"))
    assert client.get("/signout").status_code == 405
    response = logout(client)
    assert response.status_code == 302
    assert client.get("/settings").status_code == 302


def test_sign_out_without_csrf_does_nothing(client):
    login(client, make_user())
    client.post("/signout")
    assert client.get("/settings").status_code == 200


def test_remember_me_sets_a_lasting_cookie(client):
    user = make_user()
    response = post_sign_in(client, user.email, PASSWORD, remember="y")
    cookies = response.headers.getlist("Set-Cookie")
    remember = [c for c in cookies if c.startswith("remember_token=")]
    assert remember and "HttpOnly" in remember[0] and "Expires=" in remember[0]
    other = client.application.test_client()
    assert not [c for c in post_sign_in(other, user.email, PASSWORD).headers.getlist("Set-Cookie")
                if c.startswith("remember_token=")]


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/settings", "/settings"),
        ("/users/1?tab=x", "/users/1?tab=x"),
        ("https://evil.example/", "/"),
        ("//evil.example/", "/"),
        ("/\\evil.example", "/"),
        ("\\\\evil.example", "/"),
        ("javascript:alert(1)", "/"),
        ("http:/evil.example", "/"),
        ("/%0d%0aSet-Cookie:x", "/%0d%0aSet-Cookie:x"),
    ],
)
def test_next_only_redirects_within_the_site(client, target, expected):
    user = make_user()
    token = csrf_token(client, "/signin")
    response = client.post(
        "/signin", data={"email": user.email, "password": PASSWORD, "next": target, "csrf_token": token}
    )
    assert response.status_code == 302
    assert response.headers["Location"] == expected


def test_login_required_pages_send_anonymous_users_to_sign_in_with_next(client):
    response = client.get("/settings/email")
    assert response.status_code == 302
    assert response.headers["Location"] == "/signin?next=%2Fsettings%2Femail"
    assert 'value="/settings/email"' in text(client.get(response.headers["Location"]))


def test_suspended_user_sees_until_when_and_why_at_sign_in(client):
    user = make_user(
        suspended_until=utcnow() + timedelta(days=3), suspended_reason="Posting spam links", timezone="Europe/Paris"
    )
    response = post_sign_in(client, user.email, PASSWORD)
    body = text(response)
    assert response.status_code == 403
    assert "Your account is suspended until" in body
    assert "Posting spam links" in body
    assert "(Europe/Paris)" in body
    assert client.get("/settings").status_code == 302  # not signed in


def test_suspension_is_not_revealed_without_the_password(client):
    user = make_user(suspended_until=utcnow() + timedelta(days=3), suspended_reason="Posting spam links")
    body = text(post_sign_in(client, user.email, "wrong password"))
    assert "Posting spam links" not in body and "Email or password is wrong." in body


def test_a_signed_in_user_who_gets_suspended_is_signed_out_with_the_reason(client):
    user = make_user()
    login(client, user)
    db.session.execute(
        sa.update(User).where(User.id == user.id)
        .values(suspended_until=utcnow() + timedelta(days=1), suspended_reason="Cooling off")
    )
    db.session.commit()
    response = client.get("/settings", follow_redirects=True)
    assert "Cooling off" in text(response)
    assert client.get("/settings").status_code == 302


def test_sign_in_rate_limit_per_account_gives_friendly_429(client):
    user = make_user()
    for _ in range(8):
        assert post_sign_in(client, user.email, "wrong password").status_code == 422
    response = post_sign_in(client, user.email, PASSWORD)
    assert response.status_code == 429
    assert "Too many attempts" in text(response)
    assert "try again in" in text(response)
    assert int(response.headers["Retry-After"]) > 0
    # Another account from the same address is not blocked by this one's limit.
    other = make_user()
    assert post_sign_in(client, other.email, PASSWORD).status_code == 302


def test_successful_sign_ins_do_not_count_against_the_account_limit(client):
    user = make_user()
    for _ in range(10):
        assert post_sign_in(client, user.email, PASSWORD).status_code == 302
        logout(client)


def test_sign_in_rate_limit_per_ip(app, client):
    app.config["RATELIMIT_SIGNIN_IP"] = "5 per minute"
    for i in range(5):
        post_sign_in(client, f"nobody{i}@example.com", "wrong password")
    assert post_sign_in(client, "another@example.com", "wrong password").status_code == 429


def test_rate_limit_answers_json_when_asked(app, client):
    app.config["RATELIMIT_RESET"] = "1 per minute"
    token = csrf_token(client, "/password/forgot")
    client.post("/password/forgot", data={"email": "a@example.com", "csrf_token": token})
    response = client.post(
        "/password/forgot", data={"email": "a@example.com", "csrf_token": token}, headers={"Accept": "application/json"}
    )
    assert response.status_code == 429
    assert response.is_json and response.json["status"] == 429 and response.json["retry_after"] > 0


def test_sign_up_is_rate_limited(app, client):
    app.config["RATELIMIT_SIGNUP"] = "2 per hour"
    assert sign_up(client, email="a1@example.com").status_code == 302
    logout(client)
    assert sign_up(client, email="a2@example.com").status_code == 302
    logout(client)
    assert sign_up(client, email="a3@example.com").status_code == 429
    assert count_rows(User) == 2


def test_verification_resend_is_rate_limited(app, client):
    app.config["RATELIMIT_RESEND"] = "2 per hour"
    for _ in range(2):
        token = csrf_token(client, "/verify/resend")
        client.post("/verify/resend", data={"email": "x@example.com", "csrf_token": token})
    token = csrf_token(client, "/verify/resend")
    assert client.post("/verify/resend", data={"email": "x@example.com", "csrf_token": token}).status_code == 429


# --- Password reset -------------------------------------------------------------------------------


def request_reset(client, email):
    token = csrf_token(client, "/password/forgot")
    return client.post("/password/forgot", data={"email": email, "csrf_token": token})


def test_forgot_password_answers_the_same_whether_or_not_the_email_exists(client):
    make_user(email="known@example.com")
    known, unknown = request_reset(client, "known@example.com"), request_reset(client, "unknown@example.com")
    assert known.status_code == unknown.status_code == 200
    assert page_without_secrets(known, "known@example.com") == page_without_secrets(unknown, "unknown@example.com")
    assert [m.to_address for m in outbox("reset_password")] == ["known@example.com"]


def test_password_reset_flow(client):
    user = make_user()
    request_reset(client, user.email)
    link = link_from(outbox("reset_password")[0], "/password/reset/")
    page = client.get(link)
    assert page.status_code == 200 and "Choose a new password" in text(page)
    token = csrf_token(client, link)
    mismatch = client.post(link, data={"password": NEW_PASSWORD, "confirm": "different!!", "csrf_token": token})
    assert mismatch.status_code == 422 and "match" in text(mismatch)
    short = client.post(link, data={"password": "short", "confirm": "short", "csrf_token": token})
    assert short.status_code == 422 and "at least 10" in text(short)
    done = client.post(link, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD, "csrf_token": token})
    assert done.status_code == 302
    assert client.get("/settings").status_code == 200  # signed in
    logout(client)
    assert post_sign_in(client, user.email, PASSWORD).status_code == 422
    assert post_sign_in(client, user.email, NEW_PASSWORD).status_code == 302
    reused = client.get(link)
    assert reused.status_code == 400 and "already been used" in text(reused)


def test_expired_reset_link_page_offers_a_new_one(client):
    user = make_user()
    request_reset(client, user.email)
    link = link_from(outbox("reset_password")[0], "/password/reset/")
    db.session.execute(sa.update(AccountToken).values(expires_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    response = client.get(link)
    assert response.status_code == 400
    assert "This link has expired" in text(response) and "Send me a new reset link" in text(response)


def test_reset_signs_out_other_sessions(app, client):
    user = make_user()
    other_device = app.test_client()
    login(other_device, user)
    request_reset(client, user.email)
    link = link_from(outbox("reset_password")[0], "/password/reset/")
    client.post(link, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD, "csrf_token": csrf_token(client, link)})
    assert other_device.get("/settings").status_code == 302


# --- Settings -------------------------------------------------------------------------------------


def test_settings_saves_profile_and_keeps_input_on_error(client):
    user = make_user()
    login(client, user)
    token = csrf_token(client, "/settings")
    bad = client.post("/settings", data={
        "display_name": "Renamed", "job_title": "CTO", "bio": "x" * 501, "timezone": "Europe/Paris",
        "csrf_token": token,
    })
    assert bad.status_code == 422
    assert "at most 500" in text(bad) and 'value="Renamed"' in text(bad)
    bad_tz = client.post("/settings", data={"display_name": "Renamed", "timezone": "Nowhere/Land", "csrf_token": token})
    assert bad_tz.status_code == 422 and "Choose a time zone" in text(bad_tz)
    good = client.post("/settings", data={
        "display_name": "Renamed", "job_title": "CTO", "bio": "Hello <b>there</b>", "timezone": "Europe/Paris",
        "csrf_token": token,
    })
    assert good.status_code == 302
    user = reload(user)
    assert (user.display_name, user.job_title, user.timezone) == ("Renamed", "CTO", "Europe/Paris")
    profile = text(client.get(f"/users/{user.id}"))
    assert "Hello &lt;b&gt;there&lt;/b&gt;" in profile  # plain text, escaped


def test_change_password_page(app, client):
    user = make_user()
    login(client, user)
    other_device = app.test_client()
    login(other_device, user)
    token = csrf_token(client, "/settings/password")
    wrong = client.post("/settings/password", data={
        "current_password": "nope", "new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD, "csrf_token": token,
    })
    assert wrong.status_code == 422 and "current password" in text(wrong)
    ok = client.post("/settings/password", data={
        "current_password": PASSWORD, "new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD, "csrf_token": token,
    })
    assert ok.status_code == 302
    assert client.get("/settings").status_code == 200  # this session stays
    assert other_device.get("/settings").status_code == 302  # the other one is signed out


def test_change_email_page_flow(client):
    user = make_user(email="before@example.com")
    login(client, user)
    token = csrf_token(client, "/settings/email")
    response = client.post("/settings/email", data={"new_email": "after@example.com", "password": PASSWORD,
                                                    "csrf_token": token})
    assert response.status_code == 302
    page = text(client.get("/settings/email"))
    assert "after@example.com" in page and "Cancel the change" in page
    assert reload(user).email == "before@example.com"
    confirm = client.get(link_from(outbox("change_email")[0], "/email/confirm/"))
    assert confirm.status_code == 302
    assert reload(user).email == "after@example.com"
    assert outbox("email_changed")[0].to_address == "before@example.com"


def test_change_email_errors_keep_input(client):
    make_user(email="taken@example.com")
    login(client, make_user())
    token = csrf_token(client, "/settings/email")
    response = client.post("/settings/email", data={"new_email": "taken@example.com", "password": PASSWORD,
                                                    "csrf_token": token})
    assert response.status_code == 422
    assert "Another account already uses" in text(response) and 'value="taken@example.com"' in text(response)


def test_cancel_email_change(client):
    user = make_user()
    login(client, user)
    client.post("/settings/email", data={"new_email": "n@example.com", "password": PASSWORD,
                                         "csrf_token": csrf_token(client, "/settings/email")})
    client.post("/settings/email/cancel", data={"csrf_token": csrf_token(client, "/settings/email")})
    assert reload(user).pending_email is None
    assert client.get(link_from(outbox("change_email")[0], "/email/confirm/")).status_code == 400


# --- Profile --------------------------------------------------------------------------------------


def test_public_profile_shows_public_fields_only(client):
    org = make_organization(name="Acme Corporation")
    user = make_user(display_name="Pat Lee", job_title="Architect", bio="Likes graphs.", organization_id=org.id,
                     email="pat.private@example.com")
    response = client.get(f"/users/{user.id}")
    body = text(response)
    assert response.status_code == 200
    for expected in ("Pat Lee", "Architect", "Acme Corporation", "Likes graphs.", "Member since"):
        assert expected in body
    assert "pat.private@example.com" not in body
    assert client.get("/users/999999").status_code == 404


def test_staff_badge_on_profile(client):
    staff = make_user(role=Role.STAFF)
    customer = make_user()
    assert "badge" in text(client.get(f"/users/{staff.id}")).split("<h1", 1)[1].split("</h1>", 1)[0]
    assert "Staff" not in text(client.get(f"/users/{customer.id}")).split("<h1", 1)[1].split("</h1>", 1)[0]


# --- Presence -------------------------------------------------------------------------------------


def test_last_seen_is_not_written_on_every_request(client):
    user = make_user()
    login(client, user)
    assert reload(user).last_seen_at is not None
    with count_queries() as log:
        client.get("/")
        client.get("/settings")
    assert not any(s.upper().startswith("UPDATE") for s in log.statements), str(log)
