"""Flagging a post: telling the moderators what is wrong with it (the review queue is in portal.moderation)."""

from __future__ import annotations

from flask import flash, redirect, render_template, request
from flask_login import current_user, login_required

from portal.accounts.forms import options
from portal.forums import bp
from portal.forums.forms import FlagForm
from portal.forums.views import _post_or_404, post_url
from portal.moderation import flags as moderation
from portal.permissions import can_flag_post, require
from portal.web import FORM_ERROR_STATUS, saved


@bp.route("/p/<int:post_id>/flag", methods=["GET", "POST"])
@login_required
def flag_post(post_id: int):
    """Tell the moderators what is wrong with a post."""
    post = _post_or_404(post_id)
    require(can_flag_post(current_user, post))
    form = FlagForm()
    form.reason.choices = options(moderation.reason_choices())
    if form.validate_on_submit():
        done, _ = saved(form, lambda: moderation.flag_post(current_user, post, form.reason.data, form.note.data or ""))
        if done:
            flash("Thanks: your flag reached the moderators, who usually look within a day. You'll get a "
                  "notification when they decide.", "success")
            return redirect(post_url(post))
    status = FORM_ERROR_STATUS if request.method == "POST" else 200
    return render_template("forums/flag.html", post=post, form=form), status
