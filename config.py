"""Configuration, read from environment variables.

Defaults are safe for development only. Production refuses to start without a real SECRET_KEY.
Every variable is listed, with its default, in README.md ("Configuration").
"""

from __future__ import annotations

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
DEV_SECRET_KEY = "dev-only-not-secret"
INSTANCE_DIR = BASE_DIR / "instance"


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value not in (None, "") else default


def env_list(name: str) -> list[str]:
    return [item.strip().lower() for item in os.environ.get(name, "").split(",") if item.strip()]


def database_url(default: str) -> str:
    """Return DATABASE_URL with the driver we ship (psycopg 3) made explicit for PostgreSQL."""
    url = os.environ.get("DATABASE_URL") or default
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


class Config:
    SITE_NAME = os.environ.get("SITE_NAME", "Portal")
    SITE_URL = os.environ.get("SITE_URL", "http://127.0.0.1:5000").rstrip("/")
    SECRET_KEY = os.environ.get("SECRET_KEY", DEV_SECRET_KEY)

    SQLALCHEMY_DATABASE_URI = database_url(f"sqlite:///{INSTANCE_DIR / 'portal.db'}")
    SQLALCHEMY_ENGINE_OPTIONS: dict = {}
    # A pooled connection idle this long is checked before use (portal.db.ping_idle_connections); 0: every time.
    DATABASE_PING_AFTER_IDLE_SECONDS = env_int("DATABASE_PING_AFTER_IDLE_SECONDS", 10)

    # Accounts
    STAFF_EMAIL_DOMAINS = env_list("STAFF_EMAIL_DOMAINS")
    PASSWORD_HASH_METHOD = "scrypt"
    VERIFY_EMAIL_HOURS = 48
    RESET_PASSWORD_HOURS = 1
    LAST_SEEN_INTERVAL_SECONDS = 300
    ADMIN_USERS_PER_PAGE = 50

    # Staff: a customer topic should get its first staff reply within this many hours (the response queue).
    RESPONSE_TARGET_HOURS = env_int("RESPONSE_TARGET_HOURS", 24)
    # Moderation: flags from this many different people hide a post until a moderator decides.
    FLAG_HIDE_THRESHOLD = env_int("FLAG_HIDE_THRESHOLD", 3)
    # The review queue marks items waiting longer than this, so nothing sits unreviewed for days.
    REVIEW_TARGET_HOURS = env_int("REVIEW_TARGET_HOURS", 24)
    # Newcomer posting limits (portal/moderation/limits.py); staff and trusted customers are exempt.
    NEW_ACCOUNT_HOURS = env_int("NEW_ACCOUNT_HOURS", 24)
    POST_INTERVAL_SECONDS = env_int("POST_INTERVAL_SECONDS", 10)
    NEW_USER_POST_INTERVAL_SECONDS = env_int("NEW_USER_POST_INTERVAL_SECONDS", 60)
    NEW_USER_TOPICS_PER_DAY = env_int("NEW_USER_TOPICS_PER_DAY", 5)
    DUPLICATE_POST_MINUTES = env_int("DUPLICATE_POST_MINUTES", 5)
    TRUSTED_AFTER_POSTS = env_int("TRUSTED_AFTER_POSTS", 5)
    # Pre-moderation (portal/moderation/approval.py): a customer's first posts, and a new account's posts with
    # more links than this, wait for a moderator before anyone else sees them.
    NEW_USER_APPROVAL_POSTS = env_int("NEW_USER_APPROVAL_POSTS", 1)
    NEW_USER_MAX_LINKS = env_int("NEW_USER_MAX_LINKS", 2)

    # Sessions and cookies
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = False
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_SECURE = False
    REMEMBER_COOKIE_DURATION = 60 * 60 * 24 * 30
    PERMANENT_SESSION_LIFETIME = 60 * 60 * 24 * 14
    WTF_CSRF_TIME_LIMIT = None  # tied to the session instead, so a long-open form still posts
    SECURE_HEADERS_HSTS = False

    # Rate limits (Flask-Limiter); memory storage unless REDIS_URL is set
    REDIS_URL = os.environ.get("REDIS_URL", "")
    RATELIMIT_STORAGE_URI = REDIS_URL or "memory://"
    # Whole pages for signed-out readers, in Redis (needs REDIS_URL); 0 turns the cache off (portal/cache.py).
    PAGE_CACHE_SECONDS = env_int("PAGE_CACHE_SECONDS", 60)
    PAGE_CACHE_PREFIX = os.environ.get("PAGE_CACHE_PREFIX", "portal")
    RATELIMIT_HEADERS_ENABLED = True
    RATELIMIT_ENABLED = env_bool("RATELIMIT_ENABLED", True)
    RATELIMIT_SIGNIN_IP = "30 per 5 minutes"
    RATELIMIT_SIGNIN_ACCOUNT = "8 per 15 minutes"
    RATELIMIT_SIGNUP = "10 per hour"
    RATELIMIT_RESEND = "5 per 15 minutes"
    RATELIMIT_RESET = "5 per 15 minutes"
    SEARCH_RATE_LIMIT = "60 per minute"

    # Mail
    MAIL_BACKEND = os.environ.get("MAIL_BACKEND", "console")
    MAIL_FROM = os.environ.get("MAIL_FROM", "Portal <no-reply@localhost>")
    SMTP_HOST = os.environ.get("SMTP_HOST", "localhost")
    SMTP_PORT = env_int("SMTP_PORT", 25)
    SMTP_USER = os.environ.get("SMTP_USER", "")
    SMTP_PASSWORD = os.environ.get("SMTP_PASSWORD", "")
    SMTP_TLS = os.environ.get("SMTP_TLS", "none").lower()  # none, starttls, ssl
    SMTP_TIMEOUT = env_int("SMTP_TIMEOUT", 20)
    MAIL_MAX_ATTEMPTS = env_int("MAIL_MAX_ATTEMPTS", 6)
    MAIL_RETRY_BASE_SECONDS = env_int("MAIL_RETRY_BASE_SECONDS", 60)
    MAIL_BATCH_SIZE = 50
    WORKER_POLL_SECONDS = env_int("WORKER_POLL_SECONDS", 5)

    # Notifications (portal/notifications): an immediate email waits this long and is skipped if the
    # notification was seen in the app meanwhile; at most EMAIL_DAILY_CAP notification emails a day per person
    # (their day, in their time zone), the rest go to the digest.
    EMAIL_DELAY_MINUTES = env_int("EMAIL_DELAY_MINUTES", 10)
    EMAIL_DAILY_CAP = env_int("EMAIL_DAILY_CAP", 30)
    # Digests for those who have not chosen: frequency (off, daily, weekly), local hour, weekday (0 = Monday).
    DIGEST_DEFAULT_FREQUENCY = os.environ.get("DIGEST_DEFAULT_FREQUENCY", "daily").lower()
    DIGEST_DEFAULT_HOUR = env_int("DIGEST_DEFAULT_HOUR", 8)
    DIGEST_DEFAULT_WEEKDAY = env_int("DIGEST_DEFAULT_WEEKDAY", 0)
    # No digest for someone not seen for this many days (Discourse: 180).
    DIGEST_INACTIVE_DAYS = env_int("DIGEST_INACTIVE_DAYS", 180)
    DIGEST_POPULAR_TOPICS = env_int("DIGEST_POPULAR_TOPICS", 5)
    # How long the unsubscribe link in a notification email works.
    UNSUBSCRIBE_LINK_DAYS = env_int("UNSUBSCRIBE_LINK_DAYS", 90)
    NOTIFICATIONS_PER_PAGE = 30
    # Run due scheduled jobs (digests, delayed emails) after requests, at most every N seconds, so development
    # needs no worker; 0 leaves them to `flask worker` (production, tests).
    JOBS_AFTER_REQUESTS_SECONDS = 0

    @classmethod
    def mail_deliver_on_commit(cls) -> bool:
        return env_bool("MAIL_DELIVER_ON_COMMIT", cls.MAIL_BACKEND == "console")


class DevelopmentConfig(Config):
    DEBUG = False  # `make run` sets FLASK_DEBUG for the reloader; keep tracebacks out of pages
    MAIL_DELIVER_ON_COMMIT = Config.mail_deliver_on_commit()
    JOBS_AFTER_REQUESTS_SECONDS = env_int("JOBS_AFTER_REQUESTS_SECONDS", 30)


class TestingConfig(Config):
    TESTING = True
    # Newcomer posting limits off (tests post quickly as new accounts); tests/moderation/test_limits.py turns
    # them on with the defaults above.
    POST_INTERVAL_SECONDS = NEW_USER_POST_INTERVAL_SECONDS = DUPLICATE_POST_MINUTES = 0
    NEW_USER_TOPICS_PER_DAY = 10**6
    # Pre-moderation off likewise; tests/moderation/test_approval.py turns it on.
    NEW_USER_APPROVAL_POSTS = 0
    NEW_USER_MAX_LINKS = 10**6
    MIGRATIONS_ENABLED = True  # the suite builds its databases with flask_migrate.upgrade()
    SECRET_KEY = "testing-secret"
    # tests.conftest passes its own database; a server started for browser tests reads DATABASE_URL.
    SQLALCHEMY_DATABASE_URI = database_url("sqlite://")
    # A cheap hash keeps the suite fast; the algorithm is a parameter, not a rule under test.
    PASSWORD_HASH_METHOD = "pbkdf2:sha256:1000"
    MAIL_BACKEND = "console"
    MAIL_DELIVER_ON_COMMIT = False
    RATELIMIT_STORAGE_URI = "memory://"
    PAGE_CACHE_SECONDS = env_int("PAGE_CACHE_SECONDS", 0)  # tests of the cache turn it on for themselves
    SITE_URL = "http://portal.test"
    SERVER_NAME = None
    STAFF_EMAIL_DOMAINS: list[str] = []
    MAIL_FROM = "Portal <no-reply@portal.test>"


class ProductionConfig(Config):
    SESSION_COOKIE_SECURE = True
    REMEMBER_COOKIE_SECURE = True
    SECURE_HEADERS_HSTS = env_bool("HSTS", True)
    PREFERRED_URL_SCHEME = "https"
    MAIL_DELIVER_ON_COMMIT = env_bool("MAIL_DELIVER_ON_COMMIT", False)

    @classmethod
    def check(cls) -> None:
        secret = os.environ.get("SECRET_KEY", "")
        # Compare with the development default itself: Config.SECRET_KEY is whatever SECRET_KEY was at import.
        if not secret or secret == DEV_SECRET_KEY or len(secret) < 32:
            raise RuntimeError(
                "SECRET_KEY is not set (or is shorter than 32 characters). Production refuses to start "
                "without it: set SECRET_KEY to a long random value, for example the output of "
                "`python -c 'import secrets; print(secrets.token_urlsafe(48))'`."
            )


CONFIGS = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}


def config_from_env() -> type[Config]:
    """The configuration class named by PORTAL_ENV (development when unset)."""
    name = os.environ.get("PORTAL_ENV", "development").lower()
    if name not in CONFIGS:
        raise RuntimeError(f"PORTAL_ENV must be one of {', '.join(CONFIGS)}, not {name!r}")
    return CONFIGS[name]
