"""Admin pages for users and organisations."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from portal.accounts import bp
from portal.accounts import services as accounts
from portal.accounts.forms import (
    OrganizationForm,
    RoleForm,
    SubmitForm,
    SuspendForm,
    UserFilterForm,
    UserOrganizationForm,
    options,
)
from portal.accounts.models import Organization, Tier, User
from portal.accounts.queries import organization_choices, organizations_with_member_counts, user_list_query
from portal.accounts.suspension_views import suspend_from_form, unsuspend_from_form
from portal.extensions import db
from portal.permissions import (
    Role,
    can_change_role,
    can_manage_organizations,
    can_manage_users,
    can_suspend_user,
    require,
)
from portal.web import form_status, saved


@bp.route("/admin/")
@login_required
def admin_home():
    require(can_manage_users(current_user))
    return redirect(url_for("accounts.admin_users"))


@bp.route("/admin/users")
@login_required
def admin_users():
    require(can_manage_users(current_user))
    filters = UserFilterForm(request.args)
    filters.organization.choices = options(
        [("", "Any organisation"), ("none", "No organisation"), *organization_choices()[1:]]
    )
    query = user_list_query(
        q=filters.q.data or "", role=filters.role.data or "",
        organization=filters.organization.data or "", status=filters.status.data or "",
    )
    page = db.paginate(query, per_page=current_app.config["ADMIN_USERS_PER_PAGE"], error_out=False)
    return render_template("accounts/admin/users.html", filters=filters, page=page, section="users")


def _user_page(user: User, role_form=None, org_form=None, suspend_form=None, status=200):
    role_form = role_form or RoleForm(role=user.role.value)
    org_form = org_form or UserOrganizationForm(organization=str(user.organization_id or ""))
    org_form.organization.choices = options(organization_choices())
    suspend_form = suspend_form or SuspendForm()
    return render_template(
        "accounts/admin/user.html", user=user, role_form=role_form, org_form=org_form,
        suspend_form=suspend_form, unsuspend_form=SubmitForm(), section="users",
    ), status


@bp.route("/admin/users/<int:user_id>")
@login_required
def admin_user(user_id: int):
    require(can_manage_users(current_user))
    user = db.get_or_404(User, user_id)
    return _user_page(user)


@bp.route("/admin/users/<int:user_id>/role", methods=["POST"])
@login_required
def admin_set_role(user_id: int):
    require(can_manage_users(current_user))
    user = db.get_or_404(User, user_id)
    form = RoleForm()
    if not form.validate_on_submit():
        return _user_page(user, role_form=form, status=422)
    require(can_change_role(current_user, user))
    done, _ = saved(form, lambda: accounts.set_role(current_user, user, Role(form.role.data)))
    if not done:
        return _user_page(user, role_form=form, status=422)
    flash(f"{user.display_name} is now {user.role.label.lower()}.", "success")
    return redirect(url_for("accounts.admin_user", user_id=user.id))


@bp.route("/admin/users/<int:user_id>/organization", methods=["POST"])
@login_required
def admin_set_organization(user_id: int):
    require(can_manage_users(current_user))
    user = db.get_or_404(User, user_id)
    form = UserOrganizationForm()
    form.organization.choices = options(organization_choices())
    if not form.validate_on_submit():
        return _user_page(user, org_form=form, status=422)
    choice = form.organization.data or ""
    organization = None
    if choice:
        organization = db.session.get(Organization, int(choice)) if choice.isdigit() else None
        if organization is None:
            form.organization.errors = ["Choose an organisation from the list."]
            return _user_page(user, org_form=form, status=422)
    accounts.set_organization(current_user, user, organization)
    db.session.commit()
    flash(f"{user.display_name} is now in {organization.name if organization else 'no organisation'}.", "success")
    return redirect(url_for("accounts.admin_user", user_id=user.id))


@bp.route("/admin/users/<int:user_id>/suspend", methods=["POST"])
@login_required
def admin_suspend(user_id: int):
    require(can_manage_users(current_user))
    user = db.get_or_404(User, user_id)
    require(can_suspend_user(current_user, user))
    return suspend_from_form(user, current_user,
                             lambda form, status: _user_page(user, suspend_form=form, status=status),
                             url_for("accounts.admin_user", user_id=user.id))


@bp.route("/admin/users/<int:user_id>/unsuspend", methods=["POST"])
@login_required
def admin_unsuspend(user_id: int):
    require(can_manage_users(current_user))
    user = db.get_or_404(User, user_id)
    return unsuspend_from_form(user, current_user, lambda status: _user_page(user, status=status),
                               url_for("accounts.admin_user", user_id=user.id))


@bp.route("/admin/organizations")
@login_required
def admin_organizations():
    require(can_manage_organizations(current_user))
    rows = organizations_with_member_counts()
    return render_template("accounts/admin/organizations.html", rows=rows, section="organizations")


def _save_organization(org: Organization | None):
    form = OrganizationForm(obj=org) if request.method == "GET" and org else OrganizationForm()
    if request.method == "GET" and org:
        form.tier.data = org.tier.value
    if form.validate_on_submit():

        def save() -> tuple[Organization, int]:
            kept = accounts.save_organization(
                org, actor=current_user, name=form.name.data, email_domain=form.email_domain.data,
                tier=Tier(form.tier.data),
                annual_value=form.annual_value.data, is_vendor=form.is_vendor.data,
            )
            return kept, accounts.join_verified_users_to(kept)

        done, result = saved(form, save)
        if done:
            kept, joined = result
            extra = f" {joined} existing member(s) at @{kept.email_domain} joined it." if joined else ""
            flash(f"{kept.name} is saved.{extra}", "success")
            return redirect(url_for("accounts.admin_organizations"))
    return render_template(
        "accounts/admin/organization_form.html", form=form, org=org, section="organizations"
    ), form_status(form)


@bp.route("/admin/organizations/new", methods=["GET", "POST"])
@login_required
def admin_new_organization():
    require(can_manage_organizations(current_user))
    return _save_organization(None)


@bp.route("/admin/organizations/<int:org_id>/edit", methods=["GET", "POST"])
@login_required
def admin_edit_organization(org_id: int):
    require(can_manage_organizations(current_user))
    org = db.get_or_404(Organization, org_id)
    return _save_organization(org)
