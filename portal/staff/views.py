"""Staff pages: the response queue and the audit log."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from flask import current_app, render_template, request
from flask_login import current_user, login_required

from portal.accounts.models import User
from portal.extensions import db
from portal.forums.queries import page_number, staff_members
from portal.moderation.services import ACTIONS, TARGET_TYPES, audit_log
from portal.permissions import can_see_audit_log, can_see_staff_queue, require
from portal.staff import bp, queries
from portal.templating import viewer_timezone, zone_info


@bp.route("/queue")
@login_required
def queue():
    """Customer topics waiting for a first staff reply, oldest first, against the response target."""
    require(can_see_staff_queue(current_user))
    categories = queries.customer_categories()
    chosen = next((c for c in categories if c.slug == request.args.get("category")), None)
    category_ids = None
    if chosen is not None:
        category_ids = [chosen.id, *(c.id for c in categories if c.parent_id == chosen.id)]
    staff = staff_members()
    assignee = (request.args.get("assignee") or "").strip()
    assignee_id = None
    if assignee == "me":
        assignee_id = current_user.id
    elif assignee.isdigit() and int(assignee) in {s.id for s in staff}:
        assignee_id = int(assignee)
    elif assignee != "none":
        assignee = ""
    target_hours = current_app.config["RESPONSE_TARGET_HOURS"]
    page = queries.response_queue(
        target_hours=target_hours,
        category_ids=category_ids,
        assignee_id=assignee_id,
        unassigned=assignee == "none",
        page=page_number(request.args.get("page")),
    )
    return render_template(
        "staff/queue.html", page=page, categories=categories, chosen=chosen, staff=staff, assignee=assignee,
        target_hours=target_hours,
    )


def _day(raw: str | None) -> date | None:
    try:
        return date.fromisoformat(raw) if raw else None
    except ValueError:
        return None


@bp.route("/audit")
@login_required
def audit():
    """Every moderation and admin action, newest first; filters by action, person, target and days."""
    require(can_see_audit_log(current_user))
    args = request.args
    action = args.get("action") if args.get("action") in ACTIONS else ""
    target_type = args.get("target") if args.get("target") in TARGET_TYPES else ""
    target_id = int(args["id"]) if target_type and (args.get("id") or "").isdigit() else None
    actor = None
    if (args.get("actor") or "").isdigit():
        actor = db.session.get(User, int(args["actor"]))
    since, until = _day(args.get("from")), _day(args.get("to"))
    problems = []
    if (args.get("from") and since is None) or (args.get("to") and until is None):
        problems.append("Dates are written like 2026-12-01.")
    if since and until and until < since:
        problems.append("The end date is before the start date: showing nothing until you change one.")
    zone = zone_info(viewer_timezone())  # days start at midnight where the reader is
    page = audit_log(
        action=action or None,
        actor_id=actor.id if actor else None,
        target_type=target_type or None,
        target_id=target_id,
        since=datetime.combine(since, time(), zone) if since else None,
        until=datetime.combine(until + timedelta(days=1), time(), zone) if until else None,
        page=page_number(args.get("page")),
    )
    filters = {"action": action or None, "target": target_type or None, "id": target_id,
               "actor": actor.id if actor else None, "from": since.isoformat() if since else None,
               "to": until.isoformat() if until else None}
    return render_template(
        "staff/audit.html", page=page, actions=ACTIONS, target_types=TARGET_TYPES, filters=filters, actor=actor,
        problems=problems,
    )
