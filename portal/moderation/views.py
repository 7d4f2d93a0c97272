"""Staff moderating people: a person's moderation page, suspending them and lifting it."""

from __future__ import annotations

import sqlalchemy as sa
from flask import render_template, url_for
from flask_login import current_user, login_required

from portal.accounts.forms import SubmitForm, SuspendForm
from portal.accounts.models import User
from portal.accounts.suspension_views import suspend_from_form, unsuspend_from_form
from portal.extensions import db
from portal.forums.models import Post, Topic
from portal.moderation import bp
from portal.permissions import can_moderate_user, can_suspend_user, require

RECENT_POSTS = 10


def _person_or_404(user_id: int) -> User:
    user = db.get_or_404(User, user_id)
    require(can_moderate_user(current_user, user))
    return user


def _person_page(user: User, suspend_form: SuspendForm | None = None, status: int = 200):
    posts = db.session.execute(
        sa.select(Post, Topic.title)
        .join(Topic, Topic.id == Post.topic_id)
        .where(Post.user_id == user.id)
        .order_by(Post.created_at.desc())
        .limit(RECENT_POSTS)
    ).all()
    counts = db.session.execute(
        sa.select(sa.func.count(Post.id), sa.func.count(Post.deleted_at)).where(Post.user_id == user.id)
    ).one()
    return render_template(
        "moderation/person.html", user=user, posts=posts, post_count=counts[0], deleted_count=counts[1],
        suspend_form=suspend_form or SuspendForm(), unsuspend_form=SubmitForm(),
    ), status


@bp.route("/people/<int:user_id>")
@login_required
def person(user_id: int):
    """What staff need to decide about a person: their recent posts, deletions, suspension and history."""
    return _person_page(_person_or_404(user_id))


@bp.route("/people/<int:user_id>/suspend", methods=["POST"])
@login_required
def suspend(user_id: int):
    user = _person_or_404(user_id)
    require(can_suspend_user(current_user, user))
    return suspend_from_form(user, current_user, lambda form, status: _person_page(user, form, status),
                             url_for("moderation.person", user_id=user.id))


@bp.route("/people/<int:user_id>/unsuspend", methods=["POST"])
@login_required
def unsuspend(user_id: int):
    user = _person_or_404(user_id)
    require(can_suspend_user(current_user, user))
    return unsuspend_from_form(user, current_user, lambda status: _person_page(user, status=status),
                               url_for("moderation.person", user_id=user.id))
