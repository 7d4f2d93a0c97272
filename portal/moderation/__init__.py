"""Moderation: the audit log of every moderation and admin action, staff moderating people (suspensions), flags
and the review queue (flags), pre-moderation of newcomers' posts (approval) and newcomers' posting limits (limits).
"""

from flask import Blueprint

bp = Blueprint("moderation", __name__, url_prefix="/moderation")
# Its routes (views, review_views) are imported by create_app: the forum's and accounts' services import
# portal.moderation.services, and importing the views from here would close a cycle through the forum's queries.
