"""Account rules without HTTP: sign-up, tokens, passwords, email change, domain rules, suspension."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from portal.accounts import services as accounts
from portal.accounts.models import AccountToken, TokenPurpose, User
from portal.db import utcnow
from portal.errors import RuleViolation
from portal.extensions import db
from portal.permissions import Role
from tests.factories import PASSWORD, count_rows, make_organization, make_user, reload
from tests.helpers import outbox


def token_from(email, prefix: str) -> str:
    from tests.helpers import link_from

    return link_from(email, prefix).rsplit("/", 1)[1]


# --- Sign-up --------------------------------------------------------------------------------------


def test_register_user_creates_unverified_customer_and_queues_verification(app):
    user = accounts.register_user("  Ada  ", "Ada@Example.COM", "a long enough password")
    db.session.commit()
    assert user.email == "ada@example.com"
    assert user.display_name == "Ada"
    assert user.role == Role.CUSTOMER
    assert not user.is_verified
    assert user.password_hash != "a long enough password"
    [mail] = outbox("verify_email")
    assert mail.to_address == "ada@example.com"
    assert "/verify/" in mail.body_text and "/verify/" in mail.body_html


@pytest.mark.parametrize(
    ("name", "email", "password", "field", "message"),
    [
        ("", "a@example.com", "long enough pw", "display_name", "Enter your name"),
        ("Ann", "not-an-email", "long enough pw", "email", "doesn't look like an email"),
        ("Ann", "", "long enough pw", "email", "Enter your email"),
        ("Ann", "a@example.com", "short", "password", "at least 10"),
        ("Ann", "ann.lee@example.com", "ann.lee@example.com", "password", "can't be your email"),
        ("Ann", "ann.lee@example.com", "ANN.LEE@EXAMPLE.COM", "password", "can't be your email"),
        ("Ann", "annabelle1@example.com", "annabelle1", "password", "can't be your email"),
        ("Ann", "a@example.com", "x" * 1025, "password", "at most 1024"),
    ],
)
def test_register_user_rejects_bad_input_per_field(app, name, email, password, field, message):
    with pytest.raises(RuleViolation) as info:
        accounts.register_user(name, email, password)
    assert info.value.field == field
    assert message in info.value.message
    db.session.rollback()
    assert count_rows(User) == 0


def test_register_user_refuses_duplicate_email_in_another_case(app):
    make_user(email="taken@example.com")
    with pytest.raises(RuleViolation) as info:
        accounts.register_user("Other", "TAKEN@example.com", "a long enough password")
    assert info.value.field == "email"
    assert "already exists" in info.value.message
    db.session.rollback()
    assert count_rows(User) == 1


def test_unique_constraint_is_the_backstop_for_duplicate_emails(app):
    make_user(email="dup@example.com")
    db.session.add(User(email="dup@example.com", display_name="x", password_hash="x", session_stamp="x"))
    with pytest.raises(sa.exc.IntegrityError):
        db.session.flush()
    db.session.rollback()


# --- Verification tokens --------------------------------------------------------------------------


def test_verification_token_is_stored_hashed_single_use_and_verifies(app):
    user = accounts.register_user("Bea", "bea@example.com", "a long enough password")
    db.session.commit()
    raw = token_from(outbox("verify_email")[0], "/verify/")
    stored = db.session.scalar(sa.select(AccountToken))
    assert stored.token_hash != raw and raw not in stored.token_hash
    assert accounts.verify_email(raw).ok
    db.session.commit()
    assert reload(user).is_verified
    again = accounts.verify_email(raw)
    assert again.status == "used"


def test_expired_and_tampered_verification_tokens_are_refused(app):
    user = accounts.register_user("Cy", "cy@example.com", "a long enough password")
    db.session.commit()
    raw = token_from(outbox("verify_email")[0], "/verify/")
    assert accounts.verify_email(raw[:-2] + ("AA" if not raw.endswith("AA") else "BB")).status == "invalid"
    assert accounts.verify_email("").status == "invalid"
    assert accounts.verify_email("x" * 500).status == "invalid"
    db.session.execute(sa.update(AccountToken).values(expires_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    assert accounts.verify_email(raw).status == "expired"
    assert not reload(user).is_verified


def test_verification_link_lasts_48_hours(app):
    accounts.register_user("Di", "di@example.com", "a long enough password")
    db.session.commit()
    token = db.session.scalar(sa.select(AccountToken))
    lifetime = token.expires_at - token.created_at
    assert timedelta(hours=47, minutes=59) < lifetime <= timedelta(hours=48, seconds=1)


def test_token_of_another_purpose_does_not_work(app):
    user = make_user(verified=False)
    raw = accounts.issue_token(user, TokenPurpose.RESET_PASSWORD, user.email, timedelta(hours=1))
    db.session.commit()
    assert accounts.verify_email(raw).status == "invalid"


def test_verification_for_an_address_no_longer_on_the_account_is_invalid(app):
    user = make_user(verified=False, email="old@example.com")
    raw = accounts.issue_token(user, TokenPurpose.VERIFY_EMAIL, "old@example.com", timedelta(hours=1))
    user.email = "new@example.com"
    db.session.commit()
    assert accounts.verify_email(raw).status == "invalid"


def test_resend_verification_is_silent_for_unknown_or_verified_addresses(app):
    make_user(email="done@example.com", verified=True)
    pending = make_user(email="pending@example.com", verified=False)
    accounts.resend_verification("nobody@example.com")
    accounts.resend_verification("done@example.com")
    accounts.resend_verification("not an email")
    accounts.resend_verification("PENDING@example.com")
    db.session.commit()
    assert [m.to_address for m in outbox("verify_email")] == [pending.email]


# --- Domain rules ---------------------------------------------------------------------------------


def test_verified_user_joins_the_organisation_of_their_domain(app):
    acme = make_organization(name="Acme", email_domain="acme.example")
    accounts.register_user("Eve", "eve@ACME.example", "a long enough password")
    db.session.commit()
    user = db.session.scalar(sa.select(User))
    assert user.organization_id is None  # not before verification
    accounts.verify_email(token_from(outbox("verify_email")[0], "/verify/"))
    db.session.commit()
    assert reload(user).organization_id == acme.id


def test_staff_email_domain_makes_verified_users_staff(app):
    app.config["STAFF_EMAIL_DOMAINS"] = ["vendor.example"]
    accounts.register_user("Sam", "sam@vendor.example", "a long enough password")
    accounts.register_user("Cat", "cat@customer.example", "a long enough password")
    db.session.commit()
    sam = accounts.get_user_by_email("sam@vendor.example")
    assert sam.role == Role.CUSTOMER
    for mail in outbox("verify_email"):
        accounts.verify_email(token_from(mail, "/verify/"))
    db.session.commit()
    assert reload(sam).role == Role.STAFF
    assert accounts.get_user_by_email("cat@customer.example").role == Role.CUSTOMER


def test_moving_to_another_domain_leaves_the_old_organisation_and_staff_role(app):
    app.config["STAFF_EMAIL_DOMAINS"] = ["vendor.example"]
    vendor = make_organization(name="Vendor", email_domain="vendor.example", is_vendor=True)
    manual = make_organization(name="Partner (no domain)")
    user = make_user(email="max@vendor.example", role=Role.STAFF, organization_id=vendor.id)
    accounts.request_email_change(user, PASSWORD, "max@gmail.example")
    db.session.commit()
    accounts.confirm_email_change(token_from(outbox("change_email")[0], "/email/confirm/"))
    db.session.commit()
    user = reload(user)
    assert user.email == "max@gmail.example"
    assert user.organization_id is None
    assert user.role == Role.CUSTOMER
    # An organisation set by hand (no domain) is kept across a change of address.
    other = make_user(email="kim@a.example", organization_id=manual.id)
    accounts.request_email_change(other, PASSWORD, "kim@b.example")
    db.session.commit()
    accounts.confirm_email_change(token_from(outbox("change_email", to="kim@b.example")[0], "/email/confirm/"))
    db.session.commit()
    assert reload(other).organization_id == manual.id


def test_admins_are_never_demoted_by_domain_rules(app):
    app.config["STAFF_EMAIL_DOMAINS"] = ["vendor.example"]
    admin = make_user(email="boss@vendor.example", role=Role.ADMIN)
    accounts.request_email_change(admin, PASSWORD, "boss@elsewhere.example")
    db.session.commit()
    accounts.confirm_email_change(token_from(outbox("change_email")[0], "/email/confirm/"))
    db.session.commit()
    assert reload(admin).role == Role.ADMIN


def test_new_organisation_with_a_domain_takes_in_existing_verified_users(app):
    verified = make_user(email="a@initech.example")
    unverified = make_user(email="b@initech.example", verified=False)
    elsewhere = make_user(email="c@other.example")
    org = accounts.save_organization(
        None, actor=None, name="Initech", email_domain="@Initech.example", tier="standard", annual_value=10,
        is_vendor=False,
    )
    assert org.email_domain == "initech.example"
    assert accounts.join_verified_users_to(org) == 1
    db.session.commit()
    assert reload(verified).organization_id == org.id
    assert reload(unverified).organization_id is None
    assert reload(elsewhere).organization_id is None


def test_organisation_names_and_domains_are_unique(app):
    make_organization(name="Globex", email_domain="globex.example")
    with pytest.raises(RuleViolation) as info:
        accounts.save_organization(None, actor=None, name="globex", email_domain=None, tier="standard", annual_value=0,
                                   is_vendor=False)
    assert info.value.field == "name"
    with pytest.raises(RuleViolation) as info:
        accounts.save_organization(None, actor=None, name="Other", email_domain="GLOBEX.example", tier="standard",
                                   annual_value=0, is_vendor=False)
    assert info.value.field == "email_domain"
    with pytest.raises(RuleViolation) as info:
        accounts.save_organization(None, actor=None, name="Other", email_domain="not a domain", tier="standard",
                                   annual_value=0, is_vendor=False)
    assert info.value.field == "email_domain"
    with pytest.raises(RuleViolation) as info:
        accounts.save_organization(None, actor=None, name="Other", email_domain=None, tier="standard", annual_value=-1,
                                   is_vendor=False)
    assert info.value.field == "annual_value"


# --- Sign-in and passwords ------------------------------------------------------------------------


def test_authenticate_checks_password_and_is_case_insensitive_on_email(app):
    user = make_user(email="fay@example.com")
    assert accounts.authenticate("FAY@example.com ", PASSWORD) == user
    assert accounts.authenticate("fay@example.com", "wrong password!") is None
    assert accounts.authenticate("nobody@example.com", PASSWORD) is None
    assert accounts.authenticate("not an email", PASSWORD) is None


def test_password_hash_is_salted(app):
    a = make_user(password="same password here")
    b = make_user(password="same password here")
    assert a.password_hash != b.password_hash


def test_reset_password_is_single_use_and_signs_out_other_sessions(app):
    user = make_user(email="gus@example.com")
    stamp = user.session_stamp
    accounts.request_password_reset("GUS@example.com")
    db.session.commit()
    raw = token_from(outbox("reset_password")[0], "/password/reset/")
    assert accounts.reset_password(raw, "a brand new password").ok
    db.session.commit()
    user = reload(user)
    assert accounts.authenticate("gus@example.com", "a brand new password") == user
    assert user.session_stamp != stamp
    assert accounts.reset_password(raw, "another new password").status == "used"


def test_reset_link_lasts_one_hour_and_expired_links_fail(app):
    user = make_user()
    accounts.request_password_reset(user.email)
    db.session.commit()
    token = db.session.scalar(sa.select(AccountToken))
    assert token.expires_at - token.created_at <= timedelta(hours=1, seconds=1)
    raw = token_from(outbox("reset_password")[0], "/password/reset/")
    db.session.execute(sa.update(AccountToken).values(expires_at=utcnow() - timedelta(minutes=1)))
    db.session.commit()
    assert accounts.reset_password(raw, "a brand new password").status == "expired"
    assert accounts.authenticate(user.email, PASSWORD) is not None


def test_a_bad_new_password_does_not_burn_the_reset_link(app):
    user = make_user()
    accounts.request_password_reset(user.email)
    db.session.commit()
    raw = token_from(outbox("reset_password")[0], "/password/reset/")
    with pytest.raises(RuleViolation):
        accounts.reset_password(raw, "short")
    db.session.rollback()
    assert accounts.check_token(raw, TokenPurpose.RESET_PASSWORD).ok


def test_reset_for_unknown_email_queues_nothing(app):
    accounts.request_password_reset("ghost@example.com")
    accounts.request_password_reset("")
    db.session.commit()
    assert outbox() == []


def test_using_one_reset_link_voids_the_others(app):
    user = make_user()
    accounts.request_password_reset(user.email)
    accounts.request_password_reset(user.email)
    db.session.commit()
    first, second = (token_from(m, "/password/reset/") for m in outbox("reset_password"))
    assert accounts.reset_password(second, "a brand new password").ok
    db.session.commit()
    assert accounts.check_token(first, TokenPurpose.RESET_PASSWORD).status == "used"


def test_resetting_the_password_confirms_an_unverified_address(app):
    user = make_user(verified=False)
    accounts.request_password_reset(user.email)
    db.session.commit()
    accounts.reset_password(token_from(outbox("reset_password")[0], "/password/reset/"), "a brand new password")
    db.session.commit()
    assert reload(user).is_verified


def test_change_password_needs_the_current_one(app):
    user = make_user()
    with pytest.raises(RuleViolation) as info:
        accounts.change_password(user, "wrong", "a brand new password")
    assert info.value.field == "current_password"
    with pytest.raises(RuleViolation) as info:
        accounts.change_password(user, PASSWORD, "short")
    assert info.value.field == "new_password"
    with pytest.raises(RuleViolation) as info:
        accounts.change_password(user, PASSWORD, PASSWORD)
    assert "same" in info.value.message
    stamp = user.session_stamp
    accounts.change_password(user, PASSWORD, "a brand new password")
    db.session.commit()
    assert accounts.authenticate(user.email, "a brand new password") == user
    assert reload(user).session_stamp != stamp


# --- Change of email ------------------------------------------------------------------------------


def test_email_change_keeps_old_address_until_confirmed_and_tells_the_old_one(app):
    user = make_user(email="old@example.com")
    accounts.request_email_change(user, PASSWORD, "New@Example.com")
    db.session.commit()
    assert reload(user).email == "old@example.com"
    assert reload(user).pending_email == "new@example.com"
    [mail] = outbox("change_email")
    assert mail.to_address == "new@example.com"
    raw = token_from(mail, "/email/confirm/")
    assert accounts.confirm_email_change(raw).ok
    db.session.commit()
    user = reload(user)
    assert (user.email, user.pending_email) == ("new@example.com", None)
    assert user.is_verified
    [notice] = outbox("email_changed")
    assert notice.to_address == "old@example.com"
    assert accounts.confirm_email_change(raw).status == "used"


def test_email_change_rules(app):
    make_user(email="taken@example.com")
    user = make_user(email="me@example.com")
    cases = [
        ("wrong password", "new@example.com", "password"),
        (PASSWORD, "me@example.com", "new_email"),
        (PASSWORD, "TAKEN@example.com", "new_email"),
        (PASSWORD, "nope", "new_email"),
    ]
    for password, new_email, field in cases:
        with pytest.raises(RuleViolation) as info:
            accounts.request_email_change(user, password, new_email)
        assert info.value.field == field
    db.session.rollback()
    assert outbox() == []


def test_cancelled_or_superseded_email_change_links_stop_working(app):
    user = make_user()
    accounts.request_email_change(user, PASSWORD, "first@example.com")
    db.session.commit()
    first = token_from(outbox("change_email")[0], "/email/confirm/")
    accounts.request_email_change(user, PASSWORD, "second@example.com")
    db.session.commit()
    assert accounts.confirm_email_change(first).status == "used"
    second = token_from(outbox("change_email")[1], "/email/confirm/")
    accounts.cancel_email_change(user)
    db.session.commit()
    assert accounts.confirm_email_change(second).status == "used"
    assert reload(user).pending_email is None


def test_email_change_refused_if_address_taken_meanwhile(app):
    user = make_user()
    accounts.request_email_change(user, PASSWORD, "race@example.com")
    db.session.commit()
    make_user(email="race@example.com")
    with pytest.raises(RuleViolation):
        accounts.confirm_email_change(token_from(outbox("change_email")[0], "/email/confirm/"))
    db.session.rollback()
    assert reload(user).email != "race@example.com"


# --- Profile, presence, suspension, roles ---------------------------------------------------------


def test_update_profile_validates_timezone_and_trims(app):
    user = make_user()
    accounts.update_profile(user, "  New Name ", " CTO ", " Hello ", "Europe/Paris")
    db.session.commit()
    user = reload(user)
    assert (user.display_name, user.job_title, user.bio, user.timezone) == ("New Name", "CTO", "Hello", "Europe/Paris")
    with pytest.raises(RuleViolation) as info:
        accounts.update_profile(user, "Name", "", "", "Mars/Olympus")
    assert info.value.field == "timezone"
    with pytest.raises(RuleViolation) as info:
        accounts.update_profile(user, "   ", "", "", "UTC")
    assert info.value.field == "display_name"


def test_last_seen_is_written_at_most_once_per_interval(app):
    user = make_user()
    assert accounts.touch_last_seen(user) is True
    db.session.commit()
    assert accounts.touch_last_seen(user) is False
    db.session.execute(sa.update(User).values(last_seen_at=utcnow() - timedelta(minutes=6)))
    db.session.commit()
    user = reload(user)
    assert accounts.touch_last_seen(user) is True


def test_suspension_rules(app):
    admin = make_user(role=Role.ADMIN)
    user = make_user()
    with pytest.raises(RuleViolation):
        accounts.suspend_user(admin, admin, "no", 1)
    with pytest.raises(RuleViolation) as info:
        accounts.suspend_user(admin, user, "  ", 1)
    assert info.value.field == "reason"
    stamp = user.session_stamp
    accounts.suspend_user(admin, user, "Spam", 7)
    db.session.commit()
    user = reload(user)
    assert user.is_suspended and not user.suspended_indefinitely
    assert timedelta(days=6, hours=23) < user.suspended_until - utcnow() <= timedelta(days=7)
    assert user.session_stamp != stamp
    accounts.unsuspend_user(None, user)
    db.session.commit()
    assert not reload(user).is_suspended
    with pytest.raises(RuleViolation):
        accounts.unsuspend_user(None, reload(user))
    accounts.suspend_user(admin, user, "Abuse", None)
    db.session.commit()
    assert reload(user).suspended_indefinitely
    assert "until further notice" in accounts.suspension_message(reload(user), "")


def test_expired_suspension_no_longer_applies(app):
    user = make_user(suspended_until=utcnow() - timedelta(minutes=1), suspended_reason="old")
    assert not user.is_suspended


def test_admin_cannot_change_own_role(app):
    admin = make_user(role=Role.ADMIN)
    other = make_user()
    with pytest.raises(RuleViolation):
        accounts.set_role(admin, admin, Role.CUSTOMER)
    accounts.set_role(admin, other, Role.STAFF)
    db.session.commit()
    assert reload(other).role == Role.STAFF


def test_create_admin_creates_verified_admin_or_promotes(app):
    user, created = accounts.create_admin("Root@Example.com", "a long enough password")
    db.session.commit()
    assert created and user.role == Role.ADMIN and user.is_verified
    existing = make_user(email="promote@example.com")
    promoted, created = accounts.create_admin("promote@example.com", "")
    db.session.commit()
    assert not created and promoted.id == existing.id and reload(existing).role == Role.ADMIN
    with pytest.raises(RuleViolation):
        accounts.create_admin("new@example.com", "short")
