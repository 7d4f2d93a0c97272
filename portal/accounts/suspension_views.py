"""Suspending and unsuspending from a page (the admin's user page, a moderator's person page): one way of doing
it, so both pages refuse, report and redirect alike. The rules are in accounts.services and permissions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import flash, redirect

from portal.accounts import services as accounts
from portal.accounts.forms import SubmitForm, SuspendForm, suspend_days
from portal.web import carry_out, saved


def suspend_from_form(user: Any, actor: Any, page: Callable[[SuspendForm, int], Any], back: str):
    """Suspend `user` as the submitted SuspendForm says; on bad input `page(form, status)` shows it again."""
    form = SuspendForm()
    if not form.validate_on_submit():
        return page(form, 422)
    done, _ = saved(form, lambda: accounts.suspend_user(actor, user, form.reason.data, suspend_days(form)))
    if not done:
        return page(form, 422)
    flash(f"{user.display_name} is suspended. They were signed out and will see your reason at sign-in.", "success")
    return redirect(back)


def unsuspend_from_form(user: Any, actor: Any, page: Callable[[int], Any], back: str):
    """Lift `user`'s suspension (a button's form: only its CSRF token to check)."""
    if not SubmitForm().validate_on_submit():
        return page(400)
    carry_out(lambda: accounts.unsuspend_user(actor, user), f"{user.display_name} can sign in again.")
    return redirect(back)
