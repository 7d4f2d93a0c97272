"""Staff: the response queue of customer topics waiting for a first staff reply (reports and charts later)."""

from flask import Blueprint

bp = Blueprint("staff", __name__, url_prefix="/staff")

from portal.staff import views  # noqa: E402,F401
