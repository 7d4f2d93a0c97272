"""Portal: a vendor's customer community and user-conference portal."""

from __future__ import annotations

import logging
import os
import time

from flask import Flask, current_app, request
from werkzeug.middleware.proxy_fix import ProxyFix

from config import Config, ProductionConfig, config_from_env
from portal.cache import install_invalidation
from portal.db import (
    commit_read_only_requests,
    fork_safe,
    install_sqlite_behaviour,
    ping_idle_connections,
    tune_postgres_connections,
)
from portal.errors import register_error_handlers
from portal.extensions import csrf, db, limiter, login_manager
from portal.security import register_security_headers
from portal.templating import register_templating
from portal.urls import Portal

BASE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _loaded_by_the_cli() -> bool:
    """True while the `flask` command loads the app (click is running a command), false under gunicorn."""
    import click

    return click.get_current_context(silent=True) is not None


def init_migrations(app: Flask) -> None:
    """Flask-Migrate (`flask db …`, flask_migrate.upgrade()) for this app: for the command line and the tests
    only, so web workers never import Alembic."""
    from flask_migrate import Migrate

    Migrate(app, db, directory=os.path.join(BASE_DIR, "migrations"), compare_type=True)


def create_app(config_class: type[Config] | None = None, **overrides) -> Flask:
    config_class = config_class or config_from_env()
    if issubclass(config_class, ProductionConfig):
        config_class.check()
    app = Portal(
        __name__,
        template_folder=os.path.join(BASE_DIR, "templates"),
        static_folder=os.path.join(BASE_DIR, "static"),
        instance_path=os.path.join(BASE_DIR, "instance"),
    )
    app.config.from_object(config_class)
    app.config.update(overrides)
    os.makedirs(app.instance_path, exist_ok=True)
    if issubclass(config_class, ProductionConfig) and not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    proxies = int(os.environ.get("PROXY_COUNT", "0") or 0)
    if proxies:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)

    install_sqlite_behaviour()
    db.init_app(app)
    with app.app_context():
        for engine in db.engines.values():
            ping_idle_connections(engine, app.config["DATABASE_PING_AFTER_IDLE_SECONDS"])
            tune_postgres_connections(engine)
            fork_safe(engine)
    commit_read_only_requests(app, db)
    if app.config.get("MIGRATIONS_ENABLED") or _loaded_by_the_cli():
        init_migrations(app)
    csrf.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "accounts.sign_in"
    login_manager.login_message = "Please sign in to see that page."
    login_manager.login_message_category = "info"
    login_manager.session_protection = "basic"

    from portal import accounts, forums, main, moderation, notifications, staff
    from portal.benchdata import bench_data_command
    from portal.forums import admin as forum_admin  # noqa: F401  (registers the forum routes on forums.bp)
    from portal.forums import feeds as forum_feeds  # noqa: F401
    from portal.forums import (  # noqa: F401  (each registers its routes on forums.bp)
        flag_views,
        restructure_views,
        search_views,
    )
    from portal.forums import views as forum_views  # noqa: F401
    from portal.forums.cli import rebake_command
    from portal.moderation import notices as moderation_notices  # noqa: F401  (its notification kinds: see below)
    from portal.moderation import review_views as moderation_review_views  # noqa: F401  (registers its routes)
    from portal.moderation import views as moderation_views  # noqa: F401
    from portal.notifications import views as notification_views  # noqa: F401  (registers notifications' routes)
    from portal.notifications.jobs import run_due_jobs
    from portal.notifications.services import install_session_hooks, take_committed_ids
    from portal.notifications.worker import deliver_due

    # moderation_notices registers moderation's notification kinds in every worker, not only in those that have
    # moderated: any page may list a moderation notification another worker sent.
    app.register_blueprint(main.bp)
    app.register_blueprint(accounts.bp)
    app.register_blueprint(notifications.bp)
    app.register_blueprint(forums.bp)
    app.register_blueprint(staff.bp)
    app.register_blueprint(moderation.bp)
    app.cli.add_command(bench_data_command)
    app.cli.add_command(rebake_command)

    register_error_handlers(app)
    register_security_headers(app)
    register_templating(app)
    install_session_hooks()
    install_invalidation()

    @app.after_request
    def run_due_jobs_in_development(response):
        """Development: run due scheduled jobs (digests, delayed emails) after a request, at most every
        JOBS_AFTER_REQUESTS_SECONDS, so `make run` needs no worker. Off (0) in production and tests."""
        every = current_app.config.get("JOBS_AFTER_REQUESTS_SECONDS") or 0
        if every and request.endpoint != "static":
            now = time.monotonic()
            if now - app.extensions.get("portal_jobs_ran_at", -every) >= every:
                app.extensions["portal_jobs_ran_at"] = now
                try:
                    run_due_jobs()
                    ids = take_committed_ids()
                    if ids and current_app.config.get("MAIL_DELIVER_ON_COMMIT"):
                        deliver_due(limit=len(ids), ids=ids)
                except Exception:  # a job's trouble must never fail the page
                    db.session.rollback()
                    current_app.logger.exception("Scheduled jobs failed")
        return response

    @app.after_request
    def deliver_committed_mail(response):
        """Development: send what this request committed to the outbox right away (no worker needed)."""
        ids = take_committed_ids()
        if ids and current_app.config.get("MAIL_DELIVER_ON_COMMIT"):
            try:
                deliver_due(limit=len(ids), ids=ids)
            except Exception:  # the worker will pick it up; never fail the page for it
                db.session.rollback()
                current_app.logger.exception("Immediate mail delivery failed")
        return response

    return app
