"""Sign-up, sign-in, email verification, passwords, profiles and settings."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user

from portal.accounts import bp
from portal.accounts import services as accounts
from portal.accounts.forms import (
    ChangeEmailForm,
    ChangePasswordForm,
    EmailOnlyForm,
    ProfileForm,
    ResetPasswordForm,
    SignInForm,
    SignUpForm,
    SubmitForm,
)
from portal.accounts.models import TokenPurpose, User
from portal.db import writes_on_get
from portal.errors import RuleViolation
from portal.extensions import db, limiter
from portal.permissions import can_edit_own_account, require
from portal.security import safe_next
from portal.templating import format_datetime
from portal.web import form_status, saved, show_violation


def _limit(config_key: str, **kwargs):
    return limiter.limit(lambda: current_app.config[config_key], methods=["POST"], **kwargs)


def _account_key() -> str:
    return "account:" + (request.form.get("email") or "").strip().lower()[:254]


def _home():
    return url_for("main.index")


def _token_problem(check: accounts.TokenCheck, kind: str):
    """The page for an expired, used or invalid link, with the way forward for each."""
    resend_form = EmailOnlyForm(email=check.token.email if check.token else "")
    return render_template("accounts/token_problem.html", check=check, kind=kind, resend_form=resend_form), 400


# --- Sign-up and sign-in --------------------------------------------------------------------------


@bp.route("/signup", methods=["GET", "POST"])
@_limit("RATELIMIT_SIGNUP")
def sign_up():
    if current_user.is_authenticated:
        return redirect(_home())
    form = SignUpForm()
    if form.validate_on_submit():
        done, user = saved(form, lambda: accounts.register_user(form.display_name.data, form.email.data,
                                                                form.password.data))
        if done:
            login_user(user)
            flash(
                f"Welcome, {user.display_name}! We sent a link to {user.email}: open it to confirm your address.",
                "success",
            )
            return redirect(_home())
    return render_template("accounts/sign_up.html", form=form), form_status(form)


@bp.route("/signin", methods=["GET", "POST"])
@_limit("RATELIMIT_SIGNIN_IP")
@_limit("RATELIMIT_SIGNIN_ACCOUNT", key_func=_account_key, deduct_when=lambda response: response.status_code != 302)
def sign_in():
    next_url = request.values.get("next")
    if current_user.is_authenticated:
        return redirect(safe_next(next_url, _home()))
    form = SignInForm(next=next_url)
    status = 200
    if form.validate_on_submit():
        user = accounts.authenticate(form.email.data, form.password.data)
        if user is None:
            form.form_errors.append("Email or password is wrong.")
        elif user.is_suspended:
            until = format_datetime(user.suspended_until, tz=user.timezone)
            form.form_errors.append(accounts.suspension_message(user, until))
            status = 403
        else:
            login_user(user, remember=form.remember.data)
            accounts.touch_last_seen(user)
            db.session.commit()
            flash(f"Signed in as {user.display_name}.", "success")
            return redirect(safe_next(form.next.data, _home()))
    return render_template("accounts/sign_in.html", form=form), status if status != 200 else form_status(form)


@bp.route("/signout", methods=["POST"])
def sign_out():
    form = SubmitForm()
    if form.validate_on_submit() and current_user.is_authenticated:
        logout_user()
        flash("You are signed out.", "info")
    return redirect(_home())


# --- Email verification ---------------------------------------------------------------------------


@bp.route("/verify/<token>")
@writes_on_get
def verify_email(token: str):
    check = accounts.verify_email(token)
    if not check.ok:
        db.session.rollback()
        return _token_problem(check, "verify")
    db.session.commit()
    flash("Thanks! Your email address is confirmed.", "success")
    if current_user.is_authenticated and current_user.id == check.token.user_id:
        return redirect(_home())
    return redirect(url_for("accounts.sign_in"))


@bp.route("/verify/resend", methods=["GET", "POST"])
@_limit("RATELIMIT_RESEND")
def resend_verification():
    form = EmailOnlyForm()
    if current_user.is_authenticated and not current_user.is_verified:
        if request.method == "POST" and SubmitForm().validate_on_submit():
            accounts.send_verification_email(current_user)
            db.session.commit()
            flash(f"We sent a new confirmation link to {current_user.email}.", "success")
            return redirect(safe_next(request.form.get("next"), _home()))
        return render_template("accounts/resend_verification.html", form=form), 200 if request.method == "GET" else 400
    if current_user.is_authenticated:
        flash("Your email address is already confirmed.", "info")
        return redirect(_home())
    if form.validate_on_submit():
        accounts.resend_verification(form.email.data)
        db.session.commit()
        return render_template("accounts/check_email.html", reason="verify", email=form.email.data)
    return render_template("accounts/resend_verification.html", form=form), form_status(form)


# --- Passwords ------------------------------------------------------------------------------------


@bp.route("/password/forgot", methods=["GET", "POST"])
@_limit("RATELIMIT_RESET")
def forgot_password():
    prefill = current_user.email if current_user.is_authenticated and request.method == "GET" else None
    form = EmailOnlyForm(email=prefill)
    if form.validate_on_submit():
        accounts.request_password_reset(form.email.data)
        db.session.commit()
        return render_template("accounts/check_email.html", reason="reset", email=form.email.data)
    return render_template("accounts/forgot_password.html", form=form), form_status(form)


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
@_limit("RATELIMIT_RESET")
def reset_password(token: str):
    check = accounts.check_token(token, TokenPurpose.RESET_PASSWORD)
    if not check.ok:
        return _token_problem(check, "reset")
    form = ResetPasswordForm()
    if form.validate_on_submit():
        try:
            check = accounts.reset_password(token, form.password.data)
        except RuleViolation as violation:
            db.session.rollback()
            show_violation(form, violation)
        else:
            if not check.ok:
                db.session.rollback()
                return _token_problem(check, "reset")
            db.session.commit()
            user = check.token.user
            if user.is_suspended:
                flash("Your password has been changed.", "success")
                return redirect(url_for("accounts.sign_in"))
            login_user(user)
            flash("Your password has been changed and you are signed in.", "success")
            return redirect(_home())
    return render_template("accounts/reset_password.html", form=form, token=token), form_status(form)


# --- Profile and settings -------------------------------------------------------------------------


@bp.route("/users/<int:user_id>")
def profile(user_id: int):
    user = db.get_or_404(User, user_id)
    return render_template("accounts/profile.html", user=user)


@bp.route("/settings", methods=["GET", "POST"])
@login_required
def settings():
    require(can_edit_own_account(current_user))
    # Prefill from the account on GET only: a POST is validated on what it actually sent.
    form = ProfileForm(obj=current_user if request.method == "GET" else None)
    form.timezone.choices = accounts.timezone_names()
    if form.validate_on_submit():
        done, _ = saved(form, lambda: accounts.update_profile(
            current_user, form.display_name.data, form.job_title.data, form.bio.data, form.timezone.data
        ))
        if done:
            flash("Your profile is saved.", "success")
            return redirect(url_for("accounts.settings"))
    return render_template("accounts/settings.html", form=form, section="profile"), form_status(form)


@bp.route("/settings/password", methods=["GET", "POST"])
@login_required
def change_password():
    require(can_edit_own_account(current_user))
    form = ChangePasswordForm()
    if form.validate_on_submit():
        done, _ = saved(form, lambda: accounts.change_password(current_user, form.current_password.data,
                                                               form.new_password.data))
        if done:
            login_user(current_user._get_current_object())  # new session stamp: stay signed in here only
            flash("Your password is changed. Other devices have been signed out.", "success")
            return redirect(url_for("accounts.change_password"))
    return render_template("accounts/settings_password.html", form=form, section="password"), form_status(form)


@bp.route("/settings/email", methods=["GET", "POST"])
@login_required
def change_email():
    require(can_edit_own_account(current_user))
    form = ChangeEmailForm()
    if form.validate_on_submit():
        done, _ = saved(form, lambda: accounts.request_email_change(current_user, form.password.data,
                                                                    form.new_email.data))
        if done:
            flash(f"We sent a link to {current_user.pending_email}. Open it to finish the change.", "success")
            return redirect(url_for("accounts.change_email"))
    return (
        render_template("accounts/settings_email.html", form=form, cancel_form=SubmitForm(), section="email"),
        form_status(form),
    )


@bp.route("/settings/email/cancel", methods=["POST"])
@login_required
def cancel_email_change():
    require(can_edit_own_account(current_user))
    if SubmitForm().validate_on_submit() and current_user.pending_email:
        accounts.cancel_email_change(current_user)
        db.session.commit()
        flash("The change of email address is cancelled.", "info")
    return redirect(url_for("accounts.change_email"))


@bp.route("/email/confirm/<token>")
@writes_on_get
def confirm_email_change(token: str):
    try:
        check = accounts.confirm_email_change(token)
    except RuleViolation as violation:
        db.session.rollback()
        flash(violation.message, "danger")
        return redirect(url_for("accounts.change_email") if current_user.is_authenticated else _home())
    if not check.ok:
        db.session.rollback()
        return _token_problem(check, "change_email")
    db.session.commit()
    flash(f"Your email address is now {check.token.email}.", "success")
    if current_user.is_authenticated:
        return redirect(url_for("accounts.change_email"))
    return redirect(url_for("accounts.sign_in"))
