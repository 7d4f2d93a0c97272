"""Moderation: the audit log of every moderation and admin action, and staff moderating people (suspensions).

Flags, the review queue and new-user limits come next (issue 6).
"""

from flask import Blueprint

bp = Blueprint("moderation", __name__, url_prefix="/moderation")
# Its routes (views, review_views) are imported by create_app: the forum's and accounts' services import
# portal.moderation.services, and importing the views from here would close a cycle through the forum's queries.
