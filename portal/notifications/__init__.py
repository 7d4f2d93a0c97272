"""Notifications: for now the email outbox, its worker and the admin mail log."""

from flask import Blueprint

bp = Blueprint("notifications", __name__, cli_group=None)

from portal.notifications import cli, views  # noqa: E402,F401  (routes and commands register on import)
