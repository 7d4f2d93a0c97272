"""Forums: categories, topics and posts — the one thread engine that ideas and events reuse for discussions."""

from flask import Blueprint

bp = Blueprint("forums", __name__)

# The routes are imported by create_app, not here as in accounts: portal.permissions imports
# portal.forums.models, so importing views from this __init__ would run before permissions is defined.
