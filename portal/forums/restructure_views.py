"""Staff merging and splitting topics (from the topic's staff tools page)."""

from __future__ import annotations

import sqlalchemy as sa
from flask import flash, redirect, request, url_for
from flask_login import current_user, login_required

from portal.errors import RuleViolation
from portal.extensions import db
from portal.forums import bp
from portal.forums import services as forums
from portal.forums.forms import MergeTopicForm, SplitTopicForm
from portal.forums.models import Category
from portal.forums.views import _staff_topic, render_topic_tools
from portal.permissions import can_see_topic, can_start_topic
from portal.web import show_violation


@bp.route("/t/<int:topic_id>/merge", methods=["POST"])
@login_required
def merge(topic_id: int):
    """Merge this topic into another one: the posts go there in time order; this address redirects there."""
    topic = _staff_topic(topic_id)
    form = MergeTopicForm()
    if not form.validate_on_submit():
        return render_topic_tools(topic, merge_form=form, status=422)
    target = forums.merge_target(form.target.data or "")
    if target is None or not can_see_topic(current_user, target):
        form.target.errors = ["No topic has that address or number. Paste the address from the browser's bar."]
        return render_topic_tools(topic, merge_form=form, status=422)
    try:
        forums.merge_topics(current_user, topic, target, reason=form.reason.data or "")
    except RuleViolation as violation:
        db.session.rollback()
        form.target.errors = [violation.message]
        return render_topic_tools(topic, merge_form=form, status=422)
    db.session.commit()
    flash(f"Merged “{topic.title}” into this topic: its posts are here now, in time order, and its old address "
          "leads here.", "success")
    return redirect(url_for("forums.topic", slug=target.slug, topic_id=target.id))


@bp.route("/t/<int:topic_id>/split", methods=["POST"])
@login_required
def split(topic_id: int):
    """Move the chosen replies into a new topic."""
    topic = _staff_topic(topic_id)
    form = SplitTopicForm()
    form.posts.data = [int(v) for v in request.form.getlist("posts") if v.isdigit()]
    if not form.validate_on_submit():
        return render_topic_tools(topic, split_form=form, status=422)
    category = db.session.scalars(sa.select(Category).where(Category.slug == (form.category.data or ""))).first()
    if category is None or not can_start_topic(current_user, category):
        form.category.errors = ["Choose a category from the list."]
        return render_topic_tools(topic, split_form=form, status=422)
    try:
        new = forums.split_topic(current_user, topic, form.posts.data, form.title.data or "", category,
                                 reason=form.reason.data or "")
    except RuleViolation as violation:
        db.session.rollback()
        show_violation(form, violation)
        return render_topic_tools(topic, split_form=form, status=422)
    db.session.commit()
    flash(f"Moved {new.highest_post_number} {'post' if new.highest_post_number == 1 else 'posts'} into this new "
          f"topic. “{topic.title}” keeps the rest.", "success")
    return redirect(url_for("forums.topic", slug=new.slug, topic_id=new.id))
