"""Moderation: the audit log of every moderation and admin action, and staff moderating people (suspensions).

Flags, the review queue and new-user limits come next (issue 6).
"""

from flask import Blueprint

bp = Blueprint("moderation", __name__, url_prefix="/moderation")

from portal.moderation import views  # noqa: E402,F401
