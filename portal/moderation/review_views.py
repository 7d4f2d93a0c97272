"""The staff review queue, where flagged posts and newcomers' held posts are decided (flagging itself is on the
post: forums.flag_views), and the author's page of their held posts."""

from __future__ import annotations

from datetime import timedelta

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from portal.accounts.forms import suspend_days
from portal.db import utcnow
from portal.extensions import db
from portal.forums.queries import page_number
from portal.moderation import approval, bp
from portal.moderation import flags as moderation
from portal.moderation.forms import AgreeForm, RejectForm
from portal.moderation.models import ReviewItem
from portal.permissions import can_review_flags, require
from portal.web import carry_out


def _item_or_404(item_id: int) -> ReviewItem:
    require(can_review_flags(current_user))
    item = db.session.get(ReviewItem, item_id)
    if item is None:
        abort(404)
    return item


@bp.app_template_global("review_waiting_count")
def review_waiting_count() -> int:
    """Items waiting in the review queue, for the staff pages' tab (one count, on staff pages only)."""
    return moderation.pending_count()


@bp.route("/review")
@login_required
def review():
    """Pending flags grouped by post, and newcomers' posts held for approval, oldest first, with the post, its
    author's history and every flag."""
    require(can_review_flags(current_user))
    mine = request.args.get("mine") == "1"
    page = moderation.review_queue(page=page_number(request.args.get("page")), mine=mine, viewer=current_user)
    items = [row[0] for row in page.items]
    target = timedelta(hours=current_app.config["REVIEW_TARGET_HOURS"])
    return render_template(
        "moderation/review.html", page=page, mine=mine, flags=moderation.flags_of([i.id for i in items]),
        review_waiting=moderation.pending_count() if mine else page.total, overdue_before=utcnow() - target,
        target_hours=current_app.config["REVIEW_TARGET_HOURS"],
        histories=moderation.author_histories(list({i.author_id for i in items})), agree_form=AgreeForm(),
        staff_reason=approval.staff_reason,
    )


def _back_to_queue():
    return redirect(request.form.get("next") if request.form.get("next", "").startswith("/moderation/review")
                    else url_for("moderation.review"))


def _carry_out(decide, done: str, refused: str = "warning"):
    """Run a decision on an item: commit and say `done`, or roll back and say why not; back to the queue."""
    carry_out(decide, done, refused)
    return _back_to_queue()


def _form_errors_flashed(form) -> bool:
    """Validate a decision's form; its errors go to flash messages (the queue shows many items' forms)."""
    if form.validate_on_submit():
        return False
    for errors in form.errors.values():
        flash(" ".join(errors), "danger")
    return True


@bp.route("/review/<int:item_id>/claim", methods=["POST"])
@login_required
def claim(item_id: int):
    item = _item_or_404(item_id)
    claimed = request.form.get("claimed", "1") == "1"
    return _carry_out(lambda: moderation.claim(current_user, item, claimed),
                      "It's yours: colleagues see that you are on it." if claimed else "Given back to the queue.")


@bp.route("/review/<int:item_id>/agree", methods=["POST"])
@login_required
def agree(item_id: int):
    item = _item_or_404(item_id)
    form = AgreeForm()
    if _form_errors_flashed(form):
        return _back_to_queue()
    done = "deleted" if form.action.data == "delete" else "hidden"
    extra = " and the author is suspended" if form.suspend.data else " and the author warned" if form.warn.data else ""
    return _carry_out(
        lambda: moderation.agree(current_user, item, action=form.action.data, reason=form.reason.data or "",
                                 suspend=bool(form.suspend.data), suspend_days=suspend_days(form),
                                 warn=bool(form.warn.data)),
        f"Done: the post is {done}, the flaggers and the author are told{extra}.", refused="danger")


@bp.route("/review/<int:item_id>/disagree", methods=["POST"])
@login_required
def disagree(item_id: int):
    item = _item_or_404(item_id)
    return _carry_out(lambda: moderation.disagree(current_user, item),
                      "Flags dismissed: the post stays (shown again if it was hidden), and the flaggers are told.")


@bp.route("/review/<int:item_id>/approve", methods=["POST"])
@login_required
def approve(item_id: int):
    item = _item_or_404(item_id)
    return _carry_out(lambda: approval.approve(current_user, item), "Approved: the post is up, and its author is told.")


@bp.route("/review/<int:item_id>/reject", methods=["POST"])
@login_required
def reject(item_id: int):
    item = _item_or_404(item_id)
    form = RejectForm()
    if _form_errors_flashed(form):
        return _back_to_queue()
    return _carry_out(
        lambda: approval.reject(current_user, item, reason=form.reason.data or "", suspend=bool(form.suspend.data),
                                suspend_days=suspend_days(form)),
        f"Rejected: nothing was published, and the author is told why{' and suspended' if form.suspend.data else ''}.",
        refused="danger")


# --- The author's side ---------------------------------------------------------------------------------------


@bp.route("/waiting")
@login_required
def my_pending():
    """The signed-in person's posts held for approval: waiting ones with the reason, then decided ones (a rejected
    one with the moderator's reason and its text, to post again)."""
    return render_template("moderation/my_pending.html", items=approval.my_items(current_user),
                           reason_text=approval.reason_text)


@bp.route("/waiting/<int:item_id>/withdraw", methods=["POST"])
@login_required
def withdraw(item_id: int):
    item = db.session.get(ReviewItem, item_id)
    if item is None or item.author_id != current_user.id:
        abort(404)
    carry_out(lambda: approval.withdraw(current_user, item),
              "Withdrawn: nobody will see it. Its text stays on this page.")
    return redirect(url_for("moderation.my_pending"))
