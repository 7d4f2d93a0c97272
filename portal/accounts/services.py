"""Account rules: sign-up, sign-in, email tokens, passwords, profiles, organisations, suspensions.

Services flush and never commit; views commit. A broken rule raises RuleViolation(message, field).
"""

from __future__ import annotations

import hashlib
import secrets
import zoneinfo
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email
from flask import current_app
from werkzeug.security import check_password_hash, generate_password_hash

from portal.accounts.models import SUSPENDED_INDEFINITELY, AccountToken, Organization, Tier, TokenPurpose, User
from portal.db import utcnow
from portal.errors import RuleViolation
from portal.extensions import db
from portal.moderation.services import record_action
from portal.notifications.services import send_email
from portal.permissions import Role
from portal.templating import absolute_url

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 1024


# --- Emails and passwords -------------------------------------------------------------------------


def normalize_email(raw: str, field: str = "email") -> str:
    """The canonical, lower-cased form of an address, or RuleViolation if it is not one."""
    raw = (raw or "").strip()
    if not raw:
        raise RuleViolation("Enter your email address.", field=field)
    try:
        result = validate_email(raw, check_deliverability=False)
    except EmailNotValidError as exc:
        raise RuleViolation(f"That doesn't look like an email address: {exc}", field=field) from exc
    return result.normalized.lower()


def normalize_domain(raw: str | None) -> str | None:
    """A bare lower-case domain (``example.com``) or None; accepts ``@example.com`` too."""
    domain = (raw or "").strip().lower().lstrip("@")
    if not domain:
        return None
    try:
        validate_email(f"check@{domain}", check_deliverability=False)
    except EmailNotValidError as exc:
        raise RuleViolation(f"“{raw}” is not a valid email domain.", field="email_domain") from exc
    return domain


def check_password_rules(password: str, email: str, field: str = "password") -> None:
    """At least 10 characters, at most 1024, and not the email address (or its part before the @)."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise RuleViolation(f"Use at least {MIN_PASSWORD_LENGTH} characters.", field=field)
    if len(password) > MAX_PASSWORD_LENGTH:
        raise RuleViolation(f"Use at most {MAX_PASSWORD_LENGTH} characters.", field=field)
    lowered = password.strip().lower()
    if email and lowered in {email.lower(), email.lower().split("@", 1)[0]}:
        raise RuleViolation("Your password can't be your email address.", field=field)


def hash_password(password: str) -> str:
    return generate_password_hash(password, method=current_app.config["PASSWORD_HASH_METHOD"])


@cache
def _dummy_hash(method: str) -> str:
    return generate_password_hash(secrets.token_urlsafe(16), method=method)


def authenticate(email: str, password: str) -> User | None:
    """The user with this email and password, or None; takes as long either way (no enumeration by timing)."""
    try:
        email = normalize_email(email)
    except RuleViolation:
        email = ""
    user = get_user_by_email(email) if email else None
    if user is None:
        check_password_hash(_dummy_hash(current_app.config["PASSWORD_HASH_METHOD"]), password)
        return None
    if not check_password_hash(user.password_hash, password):
        return None
    return user


def get_user_by_email(email: str) -> User | None:
    return db.session.scalar(sa.select(User).where(User.email == email.lower()))


def new_session_stamp() -> str:
    return secrets.token_hex(16)


# --- Tokens sent by email -------------------------------------------------------------------------


def _hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def issue_token(user: User, purpose: TokenPurpose, email: str, lifetime: timedelta) -> str:
    """Create a single-use token for `email`; return the secret (only its hash is stored)."""
    raw = secrets.token_urlsafe(32)
    db.session.add(
        AccountToken(
            user_id=user.id,
            purpose=purpose,
            token_hash=_hash_token(raw),
            email=email,
            expires_at=utcnow() + lifetime,
        )
    )
    db.session.flush()
    return raw


@dataclass
class TokenCheck:
    """What a link's token turned out to be: ok, invalid (unknown or tampered), expired or used."""

    status: str
    token: AccountToken | None = None

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def check_token(raw: str, purpose: TokenPurpose) -> TokenCheck:
    """Look a token up without using it."""
    if not raw or len(raw) > 200:
        return TokenCheck("invalid")
    token = db.session.scalar(
        sa.select(AccountToken).where(AccountToken.token_hash == _hash_token(raw), AccountToken.purpose == purpose)
    )
    if token is None:
        return TokenCheck("invalid")
    if token.used_at is not None:
        return TokenCheck("used", token)
    if token.expires_at <= utcnow():
        return TokenCheck("expired", token)
    return TokenCheck("ok", token)


def consume_token(raw: str, purpose: TokenPurpose) -> TokenCheck:
    """Use a token once. Concurrent uses race on one conditional UPDATE; exactly one wins."""
    check = check_token(raw, purpose)
    if not check.ok:
        return check
    now = utcnow()
    result = db.session.execute(
        sa.update(AccountToken)
        .where(AccountToken.id == check.token.id, AccountToken.used_at.is_(None), AccountToken.expires_at > now)
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        return TokenCheck("used", check.token)
    db.session.refresh(check.token)
    return check


def _invalidate_tokens(user: User, purpose: TokenPurpose) -> None:
    db.session.execute(
        sa.update(AccountToken)
        .where(AccountToken.user_id == user.id, AccountToken.purpose == purpose, AccountToken.used_at.is_(None))
        .values(used_at=utcnow())
        .execution_options(synchronize_session=False)
    )


def _email_link(user: User, purpose: TokenPurpose, address: str, lifetime_setting: str, endpoint: str,
                subject: str, template: str, **context) -> None:
    """Issue a single-use token for `address` and email it the link to `endpoint`."""
    hours = current_app.config[lifetime_setting]
    raw = issue_token(user, purpose, address, timedelta(hours=hours))
    link = absolute_url(endpoint, token=raw)
    send_email(address, subject, template, user=user, link=link, hours=hours, **context)


# --- Sign-up and verification ---------------------------------------------------------------------


def register_user(display_name: str, email: str, password: str) -> User:
    """Create a customer account and send the verification email."""
    display_name = (display_name or "").strip()
    if not display_name:
        raise RuleViolation("Enter your name.", field="display_name")
    email = normalize_email(email)
    check_password_rules(password, email)
    # Hash before the first query: on SQLite a signing-up request holds the write lock from its first query.
    password_hash = hash_password(password)
    if get_user_by_email(email) is not None:
        raise RuleViolation(
            "An account with this email already exists. Sign in, or reset your password if you forgot it.",
            field="email",
        )
    user = User(
        email=email,
        display_name=display_name[:80],
        password_hash=password_hash,
        role=Role.CUSTOMER,
        session_stamp=new_session_stamp(),
    )
    try:
        with db.session.begin_nested():
            db.session.add(user)
    except sa.exc.IntegrityError as exc:  # a concurrent sign-up with the same email won the race
        raise RuleViolation(
            "An account with this email already exists. Sign in, or reset your password if you forgot it.",
            field="email",
        ) from exc
    send_verification_email(user)
    return user


def send_verification_email(user: User) -> None:
    """Email a fresh 48-hour verification link to the user's address (nothing if already verified)."""
    if user.is_verified:
        return
    _email_link(
        user, TokenPurpose.VERIFY_EMAIL, user.email, "VERIFY_EMAIL_HOURS", "accounts.verify_email",
        f"Confirm your email for {current_app.config['SITE_NAME']}", "verify_email",
    )


def resend_verification(email: str) -> None:
    """Resend verification for an address, if it belongs to an unverified account; silent otherwise."""
    try:
        email = normalize_email(email)
    except RuleViolation:
        return
    user = get_user_by_email(email)
    if user is not None and not user.is_verified:
        send_verification_email(user)


def verify_email(raw: str) -> TokenCheck:
    """Mark the address the token was sent to as verified; apply domain rules (organisation, staff)."""
    check = consume_token(raw, TokenPurpose.VERIFY_EMAIL)
    if not check.ok:
        return check
    user = check.token.user
    if check.token.email != user.email:
        return TokenCheck("invalid", check.token)
    if user.email_verified_at is None:
        user.email_verified_at = utcnow()
        apply_domain_rules(user, previous_domain=None)
    db.session.flush()
    return check


def apply_domain_rules(user: User, previous_domain: str | None) -> None:
    """After an address is verified: join the organisation of its domain, and become staff on a staff domain.

    Leaving a domain also leaves what it gave: an organisation that owns the old domain, and a staff role
    that came from a staff domain. Admins and organisations without a domain are never changed here.
    """
    domain = user.email_domain
    staff_domains = set(current_app.config["STAFF_EMAIL_DOMAINS"])
    org = db.session.scalar(sa.select(Organization).where(Organization.email_domain == domain))
    if org is not None:
        user.organization_id = org.id
        user.organization = org
    elif user.organization is not None and user.organization.email_domain == previous_domain and previous_domain:
        user.organization_id = None
        user.organization = None
    if domain in staff_domains and user.role == Role.CUSTOMER:
        user.role = Role.STAFF
    elif previous_domain in staff_domains and domain not in staff_domains and user.role == Role.STAFF:
        user.role = Role.CUSTOMER


# --- Passwords ------------------------------------------------------------------------------------


def request_password_reset(email: str) -> None:
    """Email a one-hour reset link if the address has an account; do exactly nothing visible otherwise."""
    try:
        email = normalize_email(email)
    except RuleViolation:
        return
    user = get_user_by_email(email)
    if user is None:
        return
    _email_link(
        user, TokenPurpose.RESET_PASSWORD, user.email, "RESET_PASSWORD_HOURS", "accounts.reset_password",
        f"Reset your {current_app.config['SITE_NAME']} password", "reset_password",
    )


def reset_password(raw: str, new_password: str) -> TokenCheck:
    """Set a new password with a reset token: checks the password first, so a typo doesn't burn the link."""
    check = check_token(raw, TokenPurpose.RESET_PASSWORD)
    if not check.ok:
        return check
    user = check.token.user
    check_password_rules(new_password, user.email)
    check = consume_token(raw, TokenPurpose.RESET_PASSWORD)
    if not check.ok:
        return check
    if check.token.email != user.email:
        return TokenCheck("invalid", check.token)
    user.password_hash = hash_password(new_password)
    user.session_stamp = new_session_stamp()
    # The link reached this inbox, which proves the address as well as a verification link would.
    if user.email_verified_at is None:
        user.email_verified_at = utcnow()
        apply_domain_rules(user, previous_domain=None)
    _invalidate_tokens(user, TokenPurpose.RESET_PASSWORD)
    db.session.flush()
    return check


def change_password(user: User, current_password: str, new_password: str) -> None:
    """Change a password, given the current one; signs out the account's other sessions."""
    if not check_password_hash(user.password_hash, current_password or ""):
        raise RuleViolation("That isn't your current password.", field="current_password")
    check_password_rules(new_password, user.email, field="new_password")
    if check_password_hash(user.password_hash, new_password):
        raise RuleViolation("The new password is the same as the current one.", field="new_password")
    user.password_hash = hash_password(new_password)
    user.session_stamp = new_session_stamp()
    _invalidate_tokens(user, TokenPurpose.RESET_PASSWORD)
    db.session.flush()


# --- Change of email ------------------------------------------------------------------------------


def request_email_change(user: User, password: str, new_email: str) -> None:
    """Send a confirmation link to the new address; the old one stays in force until it is used."""
    if not check_password_hash(user.password_hash, password or ""):
        raise RuleViolation("That isn't your current password.", field="password")
    new_email = normalize_email(new_email, field="new_email")
    if new_email == user.email:
        raise RuleViolation("That is already your email address.", field="new_email")
    if get_user_by_email(new_email) is not None:
        raise RuleViolation("Another account already uses this email address.", field="new_email")
    _invalidate_tokens(user, TokenPurpose.CHANGE_EMAIL)
    user.pending_email = new_email
    _email_link(
        user, TokenPurpose.CHANGE_EMAIL, new_email, "VERIFY_EMAIL_HOURS", "accounts.confirm_email_change",
        f"Confirm your new email for {current_app.config['SITE_NAME']}", "change_email", new_email=new_email,
    )
    db.session.flush()


def cancel_email_change(user: User) -> None:
    """Forget a pending change of address and void its link."""
    user.pending_email = None
    _invalidate_tokens(user, TokenPurpose.CHANGE_EMAIL)
    db.session.flush()


def confirm_email_change(raw: str) -> TokenCheck:
    """Switch to the confirmed new address, tell the old one, and apply the new domain's rules."""
    check = consume_token(raw, TokenPurpose.CHANGE_EMAIL)
    if not check.ok:
        return check
    user = check.token.user
    if user.pending_email != check.token.email:
        return TokenCheck("invalid", check.token)
    if get_user_by_email(check.token.email) is not None:
        raise RuleViolation("Another account started using this email address in the meantime.")
    old_email, old_domain = user.email, user.email_domain
    user.email = check.token.email
    user.pending_email = None
    user.email_verified_at = utcnow()
    apply_domain_rules(user, previous_domain=old_domain)
    _invalidate_tokens(user, TokenPurpose.RESET_PASSWORD)
    send_email(
        old_email,
        f"Your {current_app.config['SITE_NAME']} email address was changed",
        "email_changed",
        user=user,
        new_email=user.email,
    )
    db.session.flush()
    return check


# --- Profile and presence -------------------------------------------------------------------------


@cache
def timezone_names() -> tuple[str, ...]:
    return tuple(sorted(zoneinfo.available_timezones() - {"localtime", "Factory"}))


def update_profile(user: User, display_name: str, job_title: str, bio: str, timezone: str) -> None:
    """Change what others see of the user and the time zone dates are shown in."""
    display_name = (display_name or "").strip()
    if not display_name:
        raise RuleViolation("Enter your name.", field="display_name")
    if timezone not in timezone_names():
        raise RuleViolation("Choose a time zone from the list.", field="timezone")
    user.display_name = display_name[:80]
    user.job_title = (job_title or "").strip()[:120]
    user.bio = (bio or "").strip()[:500]
    user.timezone = timezone
    db.session.flush()


def touch_last_seen(user: User) -> bool:
    """Record presence at most once per interval, with one conditional UPDATE; True if it wrote."""
    now = utcnow()
    interval = timedelta(seconds=current_app.config["LAST_SEEN_INTERVAL_SECONDS"])
    if user.last_seen_at is not None and now - user.last_seen_at < interval:
        return False
    result = db.session.execute(
        sa.update(User)
        .where(User.id == user.id, sa.or_(User.last_seen_at.is_(None), User.last_seen_at < now - interval))
        .values(last_seen_at=now)
        # Presence is not shown to signed-out readers: this write leaves the page cache alone.
        .execution_options(synchronize_session=False, private_write=True)
    )
    user.last_seen_at = now
    return result.rowcount == 1


# --- Administration -------------------------------------------------------------------------------


def set_role(actor: User, user: User, role: Role) -> None:
    """Give a user another role; an admin cannot change their own."""
    if actor.id == user.id:
        raise RuleViolation("You can't change your own role. Ask another admin.", field="role")
    before = user.role
    user.role = role
    db.session.flush()
    if before != role:
        record_action(actor, "user.role", user, before={"role": str(before)}, after={"role": str(role)})


def set_organization(actor: User, user: User, organization: Organization | None) -> None:
    """Put a user in an organisation (or none) by hand."""
    before = user.organization.name if user.organization is not None else None
    user.organization_id = organization.id if organization else None
    user.organization = organization
    db.session.flush()
    after = organization.name if organization is not None else None
    if before != after:
        record_action(actor, "user.organization", user, before={"organization": before},
                      after={"organization": after})


def suspend_user(actor: User, user: User, reason: str, days: int | None) -> None:
    """Suspend for `days` (None: until further notice) with a reason the user sees at sign-in."""
    if actor.id == user.id:
        raise RuleViolation("You can't suspend yourself.")
    reason = (reason or "").strip()
    if not reason:
        raise RuleViolation("Give a reason: the user sees it when they try to sign in.", field="reason")
    if days is not None and days <= 0:
        raise RuleViolation("Choose how long the suspension lasts.", field="duration")
    user.suspended_until = SUSPENDED_INDEFINITELY if days is None else utcnow() + timedelta(days=days)
    user.suspended_reason = reason[:500]
    user.session_stamp = new_session_stamp()  # end their current sessions now
    db.session.flush()
    until = None if days is None else user.suspended_until.isoformat()
    record_action(actor, "user.suspend", user, reason=user.suspended_reason, after={"until": until, "days": days})


def unsuspend_user(actor: User, user: User) -> None:
    """Lift a suspension at once."""
    if not user.is_suspended:
        raise RuleViolation("This user isn't suspended.")
    before = {"until": user.suspended_until.isoformat(), "reason": user.suspended_reason}
    user.suspended_until = None
    user.suspended_reason = ""
    db.session.flush()
    record_action(actor, "user.unsuspend", user, before=before)


def _organization_snapshot(org: Organization) -> dict:
    return {"name": org.name, "email_domain": org.email_domain, "tier": str(org.tier),
            "annual_value": org.annual_value, "is_vendor": org.is_vendor}


def save_organization(
    org: Organization | None, *, actor: User | None, name: str, email_domain: str | None, tier: Tier,
    annual_value: int, is_vendor: bool,
) -> Organization:
    """Create (org=None) or update an organisation; names and domains are unique."""
    name = (name or "").strip()
    if not name:
        raise RuleViolation("Enter the organisation's name.", field="name")
    domain = normalize_domain(email_domain)
    if annual_value is None or annual_value < 0:
        raise RuleViolation("Annual value can't be negative.", field="annual_value")
    same_name = db.session.scalar(sa.select(Organization).where(sa.func.lower(Organization.name) == name.lower()))
    if same_name is not None and same_name is not org:
        raise RuleViolation("Another organisation already has this name.", field="name")
    if domain:
        same_domain = db.session.scalar(sa.select(Organization).where(Organization.email_domain == domain))
        if same_domain is not None and same_domain is not org:
            raise RuleViolation(f"{same_domain.name} already owns the domain {domain}.", field="email_domain")
    before = _organization_snapshot(org) if org is not None else None
    if org is None:
        org = Organization()
        db.session.add(org)
    org.name, org.email_domain, org.tier, org.annual_value, org.is_vendor = name, domain, tier, annual_value, is_vendor
    db.session.flush()
    after = _organization_snapshot(org)
    if before is None:
        record_action(actor, "organization.create", org, after=after)
    elif before != after:
        changed = [key for key in after if before[key] != after[key]]
        record_action(actor, "organization.update", org, before={k: before[k] for k in changed},
                      after={k: after[k] for k in changed})
    return org


def join_verified_users_to(org: Organization) -> int:
    """Bring verified users at the organisation's domain who have no organisation yet into it."""
    if not org.email_domain:
        return 0
    result = db.session.execute(
        sa.update(User)
        .where(
            User.organization_id.is_(None),
            User.email_verified_at.is_not(None),
            User.email.like(f"%@{org.email_domain}"),
        )
        .values(organization_id=org.id)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount


def suspension_message(user: User, when: str) -> str:
    """What a suspended user reads at sign-in: until when and why."""
    until = "until further notice" if user.suspended_indefinitely else f"until {when}"
    return f"Your account is suspended {until}. Reason: {user.suspended_reason}"


def create_admin(email: str, password: str, display_name: str | None = None) -> tuple[User, bool]:
    """Create a verified admin, or promote an existing account; returns (user, created)."""
    email = normalize_email(email)
    user = get_user_by_email(email)
    if user is not None:
        user.role = Role.ADMIN
        db.session.flush()
        return user, False
    check_password_rules(password, email)
    user = User(
        email=email,
        display_name=(display_name or email.split("@", 1)[0])[:80],
        password_hash=hash_password(password),
        role=Role.ADMIN,
        email_verified_at=utcnow(),
        session_stamp=new_session_stamp(),
    )
    db.session.add(user)
    db.session.flush()
    apply_domain_rules(user, previous_domain=None)
    user.role = Role.ADMIN
    db.session.flush()
    return user, True


def local_datetime(value: datetime, tz_name: str) -> datetime:
    try:
        return value.astimezone(zoneinfo.ZoneInfo(tz_name))
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return value.astimezone(zoneinfo.ZoneInfo("UTC"))
