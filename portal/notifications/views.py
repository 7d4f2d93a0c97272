"""The admin mail log: what the outbox holds and how delivery went (never the bodies)."""

from __future__ import annotations

import sqlalchemy as sa
from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from portal.accounts.forms import SubmitForm
from portal.errors import RuleViolation
from portal.extensions import db
from portal.notifications import bp
from portal.notifications.models import OutboxEmail, OutboxStatus
from portal.notifications.services import outbox_counts, retry_email
from portal.permissions import can_view_mail_log, require

MAIL_PER_PAGE = 50


@bp.route("/admin/mail")
@login_required
def mail_log():
    require(can_view_mail_log(current_user))
    status = request.args.get("status", "")
    query = sa.select(OutboxEmail).order_by(OutboxEmail.id.desc())
    if status in {s.value for s in OutboxStatus}:
        query = query.where(OutboxEmail.status == OutboxStatus(status))
    else:
        status = ""
    page = db.paginate(query, per_page=MAIL_PER_PAGE, error_out=False)
    return render_template(
        "notifications/mail_log.html", page=page, status=status, counts=outbox_counts(),
        retry_form=SubmitForm(), section="mail",
    )


@bp.route("/admin/mail/<int:email_id>/retry", methods=["POST"])
@login_required
def retry_mail(email_id: int):
    require(can_view_mail_log(current_user))
    email = db.get_or_404(OutboxEmail, email_id)
    if not SubmitForm().validate_on_submit():
        flash("The form expired; try again.", "warning")
        return redirect(url_for("notifications.mail_log"))
    try:
        retry_email(email)
    except RuleViolation as violation:
        db.session.rollback()
        flash(violation.message, "warning")
    else:
        db.session.commit()
        flash(f"Email #{email.id} to {email.to_address} is queued again.", "success")
    return redirect(url_for("notifications.mail_log", status=request.args.get("status", "")))
