"""Notifications: in-app notifications, watching, notification email and digests, the outbox and its worker.

The routes (views.py) are imported by create_app, not here: they use the forum's queries, and the forum's
services import this package's models (through portal.accounts, which sends email) — importing the views here
would close that cycle.
"""

from flask import Blueprint

bp = Blueprint("notifications", __name__, cli_group=None)

from portal.notifications import cli  # noqa: E402,F401  (commands register on import)
