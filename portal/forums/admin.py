"""Admin pages for forum categories: list, create, edit, and order them."""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy.orm import selectinload

from portal.accounts.forms import options
from portal.accounts.queries import organization_choices
from portal.extensions import db
from portal.forums import bp
from portal.forums import services as forums
from portal.forums.forms import CategoryForm, MoveCategoryForm
from portal.forums.models import Category
from portal.permissions import can_manage_categories, require
from portal.web import carry_out, form_status, saved


@bp.route("/admin/categories")
@login_required
def admin_categories():
    require(can_manage_categories(current_user))
    # One query for every category (organisation links follow in one "selectin" query), grouped here:
    # there are few categories, and a fixed number of queries whatever their count.
    categories = db.session.scalars(
        sa.select(Category).options(selectinload(Category.organization_links)).order_by(Category.position, Category.id)
    ).all()
    children: dict[int, list[Category]] = {}
    for category in categories:
        if category.parent_id is not None:
            children.setdefault(category.parent_id, []).append(category)
    top_level = [c for c in categories if c.parent_id is None]
    organization_names = {int(value): name for value, name in organization_choices()[1:]}
    return render_template(
        "forums/admin/categories.html", top_level=top_level, children=children,
        organization_names=organization_names, move_form=MoveCategoryForm(), section="categories",
    )


def _parent_choices(category: Category | None) -> list[tuple[str, str]]:
    query = sa.select(Category.id, Category.name).where(Category.parent_id.is_(None))
    if category is not None:
        query = query.where(Category.id != category.id)
    rows = db.session.execute(query.order_by(Category.position, Category.id))
    return [("", "None: a top-level category")] + [(str(cid), name) for cid, name in rows]


def _form_for(category: Category | None) -> CategoryForm:
    if request.method == "GET" and category is not None:
        form = CategoryForm(data={
            "name": category.name, "slug": category.slug, "description": category.description,
            "kind": category.kind.value, "parent": str(category.parent_id or ""), "position": category.position,
            "audience": category.audience.value, "can_start": category.can_start.value,
            "can_reply": category.can_reply.value, "organization_ids": sorted(category.allowed_organization_ids),
        })
    else:
        form = CategoryForm()
    form.parent.choices = options(_parent_choices(category))
    form.organization_ids.choices = [(int(value), name) for value, name in organization_choices()[1:]]
    return form


def _save_category(category: Category | None):
    form = _form_for(category)
    if form.validate_on_submit():
        parent = None
        if form.parent.data:
            parent = db.session.get(Category, int(form.parent.data)) if form.parent.data.isdigit() else None
            if parent is None:
                form.parent.errors = ["Choose a parent category from the list."]
        if not form.parent.errors:
            done, kept = saved(form, lambda: forums.save_category(
                category, actor=current_user, name=form.name.data, slug=form.slug.data or "",
                description=form.description.data or "",
                kind=form.kind.data, parent=parent, position=form.position.data or 0,
                audience=form.audience.data, can_start=form.can_start.data, can_reply=form.can_reply.data,
                organization_ids=form.organization_ids.data or (),
            ))
            if done:
                flash(f"{kept.name} is saved.", "success")
                return redirect(url_for("forums.admin_categories"))
    return render_template(
        "forums/admin/category_form.html", form=form, category=category, section="categories"
    ), form_status(form)


@bp.route("/admin/categories/new", methods=["GET", "POST"])
@login_required
def admin_new_category():
    require(can_manage_categories(current_user))
    return _save_category(None)


@bp.route("/admin/categories/<int:category_id>/edit", methods=["GET", "POST"])
@login_required
def admin_edit_category(category_id: int):
    require(can_manage_categories(current_user))
    category = db.get_or_404(Category, category_id)
    return _save_category(category)


@bp.route("/admin/categories/<int:category_id>/move", methods=["POST"])
@login_required
def admin_move_category(category_id: int):
    require(can_manage_categories(current_user))
    category = db.get_or_404(Category, category_id)
    form = MoveCategoryForm()
    if not form.validate_on_submit():
        abort(400)  # only the list's own buttons post here, and they always send a direction
    carry_out(lambda: forums.move_category(current_user, category, form.direction.data),
              f"{category.name} moved {form.direction.data}.")
    return redirect(url_for("forums.admin_categories"))
