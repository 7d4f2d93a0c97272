"""Notification pages: the notifications list, watching, email settings, unsubscribing; the admin mail log."""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from portal.accounts.forms import SubmitForm
from portal.db import writes_on_get
from portal.errors import RuleViolation
from portal.extensions import csrf, db
from portal.forums import queries as forum_queries
from portal.forums.models import Category
from portal.notifications import bp, watch_levels
from portal.notifications.forms import WatchForm, email_field_name, email_settings_form
from portal.notifications.kinds import KINDS, get_kind
from portal.notifications.models import OutboxEmail, OutboxStatus, WatchLevel
from portal.notifications.queries import get_own_notification_or_404, grouped, notification_page
from portal.notifications.services import mark_all_read, mark_read, outbox_counts, preferences, retry_email, watching
from portal.permissions import (
    can_edit_own_account,
    can_see_category,
    can_see_topic,
    can_view_mail_log,
    can_watch,
    require,
)
from portal.security import safe_next
from portal.web import FORM_ERROR_STATUS, carry_out, saved

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
    carry_out(lambda: retry_email(email), f"Email #{email.id} to {email.to_address} is queued again.")
    return redirect(url_for("notifications.mail_log", status=request.args.get("status", "")))


# --- Notifications: the page, opening one, marking read -----------------------------------------------------


@bp.route("/notifications")
@login_required
def index():
    page = notification_page(current_user, forum_queries.page_number(request.args.get("page")),
                             current_app.config["NOTIFICATIONS_PER_PAGE"])
    return render_template("notifications/index.html", page=page, entries=grouped(list(page.items)),
                           kind_of=get_kind, form=SubmitForm())


@bp.route("/notifications/<int:notification_id>")
@login_required
@writes_on_get
def open_notification(notification_id: int):
    """Opening a notification marks it read and goes where it points (the exact post, for forum ones).

    A GET that writes, like the topic page's read marker: the link must work from anywhere (a new tab, no
    JavaScript), and all it can change is one's own notification's read mark.
    """
    notification = get_own_notification_or_404(current_user, notification_id)
    if mark_read(notification):
        db.session.commit()
    return redirect(safe_next(notification.url, url_for("notifications.index")))


@bp.route("/notifications/<int:notification_id>/read", methods=["POST"])
@login_required
def read_notification(notification_id: int):
    notification = get_own_notification_or_404(current_user, notification_id)
    if not SubmitForm().validate_on_submit():
        abort(400)
    mark_read(notification)
    db.session.commit()
    return redirect(safe_next(request.form.get("next"), url_for("notifications.index")))


@bp.route("/notifications/read-all", methods=["POST"])
@login_required
def read_all():
    if not SubmitForm().validate_on_submit():
        abort(400)
    count = mark_all_read(current_user)
    db.session.commit()
    flash(f"Marked {count} notification{'s' if count != 1 else ''} read." if count else "Nothing was unread.",
          "success")
    return redirect(url_for("notifications.index"))


# --- Watching -----------------------------------------------------------------------------------------------


def _set_watch(change, target, default_next: str):
    form = WatchForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        level = change(current_user, target, form.level.data or "")
    except RuleViolation:
        db.session.rollback()
        abort(400)  # only a tampered button sends another level
    db.session.commit()
    flash(f"{level.label}: {level.description}", "success")
    return redirect(safe_next(request.form.get("next"), default_next))


@bp.route("/t/<int:topic_id>/watch", methods=["POST"])
@login_required
def watch_topic(topic_id: int):
    topic, _ = forum_queries.load_topic(topic_id, current_user)
    if topic is None or not can_see_topic(current_user, topic):
        abort(404)
    require(can_watch(current_user))
    return _set_watch(watching.set_topic_watch, topic,
                      url_for("forums.topic", slug=topic.slug, topic_id=topic.id))


@bp.route("/c/<slug>/watch", methods=["POST"])
@login_required
def watch_category(slug: str):
    category = db.session.scalars(sa.select(Category).where(Category.slug == slug)).first()
    if category is None or not can_see_category(current_user, category):
        abort(404)
    require(can_watch(current_user))
    return _set_watch(watching.set_category_watch, category, url_for("forums.category", slug=category.slug))


@bp.route("/watching")
@login_required
def watched():
    topics, categories = watching.watched(current_user)
    # A watch stays listed even if its topic's category has since become invisible, but says nothing about it.
    topics = [w for w in topics if can_see_topic(current_user, w.topic)]
    categories = [w for w in categories if can_see_category(current_user, w.category)]
    return render_template("notifications/watching.html", topic_watches=topics, category_watches=categories,
                           levels=list(WatchLevel))


# --- Email settings and unsubscribing -----------------------------------------------------------------------


@bp.route("/settings/notifications", methods=["GET", "POST"])
@login_required
def settings():
    require(can_edit_own_account(current_user))
    if request.method == "GET":
        schedule = preferences.digest_schedule(current_user)
        data = {email_field_name(k): m.value for k, m in preferences.modes_for(current_user).items()}
        data |= {"digest_frequency": schedule.frequency.value, "digest_hour": str(schedule.hour),
                 "digest_weekday": str(schedule.weekday)}
        form = email_settings_form(data=data)
    else:
        form = email_settings_form()
    if form.validate_on_submit():
        done, _ = saved(form, lambda: preferences.save_preferences(
            current_user,
            {k: form[email_field_name(k)].data for k in KINDS},
            form.digest_frequency.data, form.digest_hour.data, form.digest_weekday.data,
        ))
        if done:
            flash("Your notification settings are saved.", "success")
            return redirect(url_for("notifications.settings"))
    groups: dict[str, list[str]] = {}
    for kind in KINDS.values():
        groups.setdefault(kind.group, []).append(email_field_name(kind.name))
    status = FORM_ERROR_STATUS if request.method == "POST" and (form.errors or form.form_errors) else 200
    return render_template("notifications/settings.html", form=form, groups=groups, section="notifications"), status


# RFC 8058 one-click unsubscribe: mail clients POST "List-Unsubscribe=One-Click" to the List-Unsubscribe URL with
# no cookies and no CSRF token, so this one route is exempt from CSRF (csrf.exempt below; tests/security/test_csrf
# lists it as the only exemption). It is safe: the signed token in the URL is the authority, names one person and
# one kind, and all it can do is turn that kind of email off.
@bp.route("/unsubscribe/<token>", methods=["GET", "POST"])
@csrf.exempt
def unsubscribe(token: str):
    try:
        user, kind = preferences.read_unsubscribe_token(token)
    except preferences.UnsubscribeProblem as problem:
        return render_template("notifications/unsubscribe.html", problem=problem.status), 400
    label = preferences.kind_label(kind)
    if request.method == "POST":
        preferences.unsubscribe(user, kind)
        db.session.commit()
        return render_template("notifications/unsubscribe.html", done=True, label=label, kind=kind, token=token)
    # A GET only asks: link checkers and mail scanners open links, and must not unsubscribe anyone.
    return render_template("notifications/unsubscribe.html", done=False, label=label, kind=kind, token=token)


# --- Template helpers for the watch button ----------------------------------------------------------------


@bp.app_template_global()
def topic_watch_level(topic) -> WatchLevel:
    """The viewer's effective level for a topic page's topic (read with the topic by forums.queries.load_topic)."""
    return watch_levels.effective(topic)


@bp.app_template_global()
def category_watch_level(user, category) -> WatchLevel:
    return watching.category_level(user, category)


@bp.app_template_global()
def watch_levels_list() -> list[WatchLevel]:
    return list(WatchLevel)
