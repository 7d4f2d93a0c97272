"""Accounts: users, organisations, sign-up and sign-in, profiles, settings, and their administration."""

from flask import Blueprint

bp = Blueprint("accounts", __name__, cli_group=None)

from portal.accounts import admin, cli, hooks, views  # noqa: E402,F401  (routes register on import)
