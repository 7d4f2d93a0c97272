"""Staff pages: the response queue."""

from __future__ import annotations

from flask import current_app, render_template, request
from flask_login import current_user, login_required

from portal.forums.queries import page_number, staff_members
from portal.permissions import can_see_staff_queue, require
from portal.staff import bp, queries


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
