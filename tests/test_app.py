"""Application-wide behaviour: security headers, CSRF everywhere, error pages, configuration, CLI."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from config import Config, ProductionConfig, TestingConfig
from portal import create_app
from portal.accounts.models import Organization, User
from portal.extensions import db
from portal.permissions import Role
from portal.security import is_safe_next
from tests.factories import count_rows, login, make_user
from tests.helpers import csrf_token

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def text(response) -> str:
    return response.get_data(as_text=True)


# --- Security headers and CSRF --------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/", "/signin", "/signup", "/does-not-exist", "/users/999"])
def test_security_headers_on_html_pages(client, path):
    response = client.get(path)
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert response.headers["X-Frame-Options"] == "DENY"


def test_headers_a_view_set_itself_are_kept_and_the_rest_added(app, client):
    def own_headers():
        return "ok", 200, {"cache-control": "public, max-age=60", "X-Frame-Options": "SAMEORIGIN",
                           "Content-Type": "text/html; charset=utf-8"}

    app.add_url_rule("/_test/own-headers", "own_headers", own_headers)
    response = client.get("/_test/own-headers")
    assert response.headers.getlist("Cache-Control") == ["public, max-age=60"]  # not joined by a second one
    assert response.headers.getlist("X-Frame-Options") == ["SAMEORIGIN"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert "Strict-Transport-Security" not in response.headers
    app.config["SECURE_HEADERS_HSTS"] = True
    assert client.get("/").headers["Strict-Transport-Security"].startswith("max-age=31536000")
    assert client.get("/").headers["Cache-Control"] == "no-cache"


def test_pages_have_no_inline_script_or_style(client):
    login(client, make_user(role=Role.ADMIN, verified=False))
    for path in ["/", "/signin", "/settings", "/admin/users", "/admin/organizations", "/admin/mail", "/nope"]:
        body = text(client.get(path))
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", body), path
        assert not re.search(r"\son[a-z]+\s*=", body), path
        assert " style=" not in body, path


def test_session_cookie_is_httponly_and_lax(client):
    user = make_user()
    response = client.post("/signin", data={"email": user.email, "password": "correct horse battery",
                                            "csrf_token": csrf_token(client, "/signin")})
    cookie = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith("session="))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_production_cookies_are_secure():
    assert ProductionConfig.SESSION_COOKIE_SECURE and ProductionConfig.REMEMBER_COOKIE_SECURE
    assert not Config.SESSION_COOKIE_SECURE  # development over plain http still works


def test_is_safe_next():
    assert is_safe_next("/a/b?c=d")
    for bad in ["", None, "//x.example", "https://x.example", "/\\x.example", "x.example", "/a\r\nb", "\x00/"]:
        assert not is_safe_next(bad), bad


# --- Error pages ----------------------------------------------------------------------------------


def test_404_page_is_in_the_site_style(client):
    response = client.get("/no/such/page")
    assert response.status_code == 404
    body = text(response)
    assert "Page not found" in body and 'class="navbar' in body and "Go to the home page" in body


def test_errors_answer_json_when_asked(client):
    response = client.get("/no/such/page", headers={"Accept": "application/json"})
    assert response.status_code == 404
    assert response.is_json and response.json == {
        "error": "Page not found", "message": response.json["message"], "status": 404,
    }


def test_405_page(client):
    response = client.get("/signout")
    assert response.status_code == 405 and "Method not allowed" in text(response)


def test_403_page_offers_sign_in_to_anonymous_users(app, client):
    login(client, make_user())
    response = client.get("/admin/users")
    assert response.status_code == 403 and "Not allowed" in text(response)


@pytest.mark.parametrize("code", [400, 403, 404, 405, 409, 429, 500])
def test_every_error_page_is_in_the_site_style_or_json(database_url, code):
    from flask import abort

    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=database_url)

    @app.route("/fail")
    def fail():
        abort(code)

    client = app.test_client()
    page = client.get("/fail")
    assert page.status_code == code
    body = text(page)
    assert f"Error {code}" in body and 'class="navbar' in body and "Go to the home page" in body
    assert "Content-Security-Policy" in page.headers
    as_json = client.get("/fail", headers={"Accept": "application/json"})
    assert as_json.status_code == code and as_json.json["status"] == code and as_json.json["message"]
    with app.app_context():
        from portal.extensions import db

        db.engine.dispose()


def test_500_page_is_friendly_and_rolls_back(database_url):
    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=database_url)

    @app.route("/boom")
    def boom():
        raise RuntimeError("kaboom")

    response = app.test_client().get("/boom")
    assert response.status_code == 500
    assert "Something went wrong" in text(response) and "kaboom" not in text(response)
    json_response = app.test_client().get("/boom", headers={"Accept": "application/json"})
    assert json_response.status_code == 500 and json_response.json["status"] == 500
    with app.app_context():
        from portal.extensions import db

        db.engine.dispose()


# --- Configuration --------------------------------------------------------------------------------


def test_production_refuses_to_start_without_a_secret_key(monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(RuntimeError, match="SECRET_KEY is not set"):
        create_app(ProductionConfig)
    monkeypatch.setenv("SECRET_KEY", "short")
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app(ProductionConfig)
    monkeypatch.setenv("SECRET_KEY", "dev-only-not-secret")
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app(ProductionConfig)


def test_production_starts_with_a_real_secret_key():
    # In a fresh process, as gunicorn starts it: config.py reads SECRET_KEY at import, and that value must not
    # count as the development default.
    env = {**os.environ, "PORTAL_ENV": "production", "SECRET_KEY": "x" * 48, "DATABASE_URL": "sqlite://"}
    result = subprocess.run([sys.executable, "-c", "import wsgi"], cwd=Path(__file__).resolve().parent.parent,
                            env=env, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(("url", "own", "other"), [
    ("sqlite://", "sqlalchemy.dialects.sqlite", "sqlalchemy.dialects.postgresql"),
    ("postgresql://portal@127.0.0.1:1/portal", "sqlalchemy.dialects.postgresql", "sqlalchemy.dialects.sqlite"),
])
def test_a_web_worker_imports_only_its_own_databases_dialect_and_no_alembic(url, own, other):
    # Memory per worker: the other database's SQLAlchemy dialect (2 MB for PostgreSQL's) and Alembic (11 MB) are
    # dead weight in a gunicorn worker. Importing the app must not touch the database (port 1 answers nothing).
    code = ("import sys, wsgi; print(' '.join(m for m in sys.modules if m.startswith(('sqlalchemy.dialects.', "
            "'alembic', 'flask_migrate', 'sqlite3'))))")
    env = {**os.environ, "PORTAL_ENV": "production", "SECRET_KEY": "x" * 48, "DATABASE_URL": url}
    result = subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).resolve().parent.parent,
                            env=env, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    loaded = set(result.stdout.split())
    assert own in loaded
    assert not {m for m in loaded if m.startswith((other, "alembic", "flask_migrate"))}
    if own.endswith("postgresql"):
        assert "sqlite3" not in loaded


def test_a_partial_index_keeps_its_condition_on_both_databases(database_url):
    # portal.db.partial_index adds the WHERE itself at DDL time: create_all must build the same partial index the
    # migrations do, so a second pending review item for one post is refused and decided ones are not counted.
    from sqlalchemy.dialects import postgresql, sqlite
    from sqlalchemy.schema import CreateIndex

    from portal.db import partial_index

    index = partial_index("uq_partial_probe_pending", "post_id", unique=True, where="status = 'pending'")
    table = sa.Table("partial_probe", sa.MetaData(), sa.Column("id", sa.Integer, primary_key=True),
                     sa.Column("post_id", sa.Integer), sa.Column("status", sa.String(10)), index)
    for dialect in (postgresql.dialect(), sqlite.dialect()):
        assert str(CreateIndex(index).compile(dialect=dialect)).endswith("(post_id) WHERE status = 'pending'")
    engine = sa.create_engine(database_url)
    try:
        table.create(engine)
        with engine.begin() as conn:
            conn.execute(table.insert(), [{"post_id": 1, "status": "upheld"}, {"post_id": 1, "status": "upheld"},
                                          {"post_id": 1, "status": "pending"}])
        with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
            conn.execute(table.insert(), {"post_id": 1, "status": "pending"})
    finally:
        table.drop(engine, checkfirst=True)
        engine.dispose()


def test_a_fresh_worker_knows_every_notification_kind_before_anything_sends_one():
    # A gunicorn worker that has never moderated still lists the moderators' notifications (another worker sent
    # them): their kinds must be registered when the app is made, not when a moderation service first runs.
    code = ("from config import TestingConfig; from portal import create_app; create_app(TestingConfig); "
            "from portal.notifications.kinds import KINDS; print(' '.join(sorted(KINDS)))")
    env = {**os.environ, "DATABASE_URL": "sqlite://"}
    result = subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).resolve().parent.parent, env=env,
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    kinds = set(result.stdout.split())
    assert {"post_approved", "post_rejected", "post_hidden", "flag_upheld", "post_removed_warned",
            "mentioned", "replied"} <= kinds


def test_database_url_uses_psycopg_for_postgres(monkeypatch):
    from config import database_url

    monkeypatch.setenv("DATABASE_URL", "postgres://u@h/db")
    assert database_url("sqlite://") == "postgresql+psycopg://u@h/db"
    monkeypatch.delenv("DATABASE_URL")
    assert database_url("sqlite:///x.db") == "sqlite:///x.db"


def test_rate_limits_use_redis_when_configured(database_url):
    """REDIS_URL switches rate-limit storage to Redis; counts survive across app instances (workers)."""
    redis_url = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    import redis

    try:
        redis.Redis.from_url(redis_url, socket_connect_timeout=1).ping()
    except redis.exceptions.ConnectionError:
        if IN_CI:
            pytest.fail(f"Redis at {redis_url} is unreachable; .ci/run must start it")
        pytest.skip(f"needs Redis at {redis_url} (set TEST_REDIS_URL); start it with redis-server")
    redis.Redis.from_url(redis_url).flushdb()
    apps = [
        create_app(TestingConfig, SQLALCHEMY_DATABASE_URI=database_url, RATELIMIT_STORAGE_URI=redis_url,
                   RATELIMIT_RESET="2 per minute")
        for _ in range(2)
    ]
    statuses = []
    for i in range(3):
        client = apps[i % 2].test_client()
        token = csrf_token(client, "/password/forgot")
        response = client.post("/password/forgot", data={"email": "r@example.com", "csrf_token": token})
        statuses.append(response.status_code)
    assert statuses == [200, 200, 429]
    redis.Redis.from_url(redis_url).flushdb()
    for app in apps:
        with app.app_context():
            from portal.extensions import db

            db.engine.dispose()


# --- CLI ------------------------------------------------------------------------------------------


def test_seed_demo_is_idempotent_and_prints_sign_ins(runner):
    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    assert "admin@northwind.example" in result.output and "Demo sign-ins" in result.output
    users, orgs = count_rows(User), count_rows(Organization)
    assert 18 <= users <= 25 and orgs == 4
    roles = {u.role for u in _all(User)}
    assert roles == {Role.ADMIN, Role.STAFF, Role.CUSTOMER}
    tiers = {o.tier for o in _all(Organization) if not o.is_vendor}
    assert len(tiers) == 3
    again = runner.invoke(args=["seed-demo"])
    assert again.exit_code == 0 and "0 organisation(s) and 0 user(s) added" in again.output
    assert (count_rows(User), count_rows(Organization)) == (users, orgs)
    skipped = runner.invoke(args=["seed-demo", "--if-empty"])
    assert "already has users" in skipped.output


def test_seed_demo_adds_forum_categories_once(runner):
    from portal.forums.models import Audience, Category, CategoryKind, PostingRight

    result = runner.invoke(args=["seed-demo"])
    assert "Demo forum categories added: 6;" in result.output
    categories = {c.slug: c for c in _all(Category)}
    assert list(categories) == ["announcements", "getting-started", "product-qa", "integrations", "off-topic",
                                "acme-private-support"]
    assert categories["announcements"].can_start == PostingRight.STAFF
    assert categories["announcements"].audience == Audience.EVERYONE
    assert categories["getting-started"].kind == categories["product-qa"].kind == CategoryKind.QUESTIONS
    assert categories["integrations"].kind == categories["off-topic"].kind == CategoryKind.DISCUSSION
    acme = next(o for o in _all(Organization) if o.name == "Acme Corporation")
    private = categories["acme-private-support"]
    assert private.audience == Audience.ORGANIZATIONS and private.allowed_organization_ids == {acme.id}
    again = runner.invoke(args=["seed-demo"])
    assert "Demo forum categories added: 0; demo threads added: 0." in again.output
    assert count_rows(Category) == 6


def test_seed_demo_adds_threads_with_staff_answers_once(runner):
    from portal.forums.models import Category, Post, Topic

    result = runner.invoke(args=["seed-demo"])
    assert "demo threads added: 9." in result.output
    topics = {t.title: t for t in _all(Topic)}
    invite = topics["How do I invite my whole team at once?"]
    accepted = db.session.get(Post, invite.accepted_post_id)
    assert accepted.is_official and accepted.user.role == Role.STAFF
    assert invite.first_staff_reply_at is not None and invite.first_staff_reply_at < invite.last_post_at
    assert topics["Release 4.2: faster exports and SSO group sync"].is_pinned
    # A customer question nobody from staff has answered yet waits in the response queue.
    assert topics["SAML login loops back to the sign-in page"].first_staff_reply_at is None
    whispers = db.session.scalars(sa.select(Post).where(Post.is_whisper)).all()
    assert len(whispers) == 1 and whispers[0].user.role == Role.STAFF
    # Counters agree with the rows: visible posts per topic, and the categories' sums.
    for topic in topics.values():
        visible = db.session.scalar(sa.select(sa.func.count()).select_from(Post).where(
            Post.topic_id == topic.id, Post.is_whisper.is_(False), Post.deleted_at.is_(None)))
        assert topic.post_count == visible, topic.title
    for category in _all(Category):
        mine = [t for t in topics.values() if t.category_id == category.id]
        assert category.topic_count == len(mine) and category.post_count == sum(t.post_count for t in mine)
    again = runner.invoke(args=["seed-demo"])
    assert "demo threads added: 0." in again.output
    assert count_rows(Topic) == 9


def test_seed_demo_leaves_a_newcomers_first_posts_waiting_for_approval_once(runner):
    from portal.forums.models import Post
    from portal.moderation.models import ReviewItem, ReviewKind, ReviewStatus

    runner.invoke(args=["seed-demo"])
    runner.invoke(args=["seed-demo"])
    held = [i for i in _all(ReviewItem) if i.kind == ReviewKind.APPROVAL]
    assert [(i.status, bool(i.topic_id), i.title) for i in held] == [
        (ReviewStatus.PENDING, True, None), (ReviewStatus.PENDING, False, "Where do I find the API reference for v3?")]
    newcomer = held[0].author
    assert newcomer.email == "rosa@initech.example" and newcomer.posts_awaiting_approval == 2
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Post).where(Post.user_id == newcomer.id)) == 0


def test_demo_users_can_sign_in(runner, client):
    runner.invoke(args=["seed-demo"])
    token = csrf_token(client, "/signin")
    response = client.post("/signin", data={"email": "carol@acme.example", "password": "portal-demo-2026",
                                            "csrf_token": token})
    assert response.status_code == 302


def test_create_admin_asks_for_the_password(runner):
    result = runner.invoke(args=["create-admin", "Boss@Example.com"], input="a long enough password\n" * 2)
    assert result.exit_code == 0, result.output
    user = _all(User)[0]
    assert (user.email, user.role, user.is_verified) == ("boss@example.com", Role.ADMIN, True)
    short = runner.invoke(args=["create-admin", "other@example.com"], input="short\nshort\n")
    assert short.exit_code != 0 and "at least 10" in short.output
    make_user(email="promote@example.com")
    promoted = runner.invoke(args=["create-admin", "promote@example.com"])
    assert promoted.exit_code == 0 and "Promoted" in promoted.output


def _all(model):
    from portal.extensions import db

    db.session.commit()
    return list(db.session.scalars(sa.select(model).order_by(model.id)))
