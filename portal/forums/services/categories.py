"""Categories: saving them with their rules, their visibility in SQL, and their denormalised counts."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm

from portal.accounts.models import Organization
from portal.errors import RuleViolation
from portal.extensions import db
from portal.forums.models import Audience, Category, CategoryKind, CategoryOrganization, PostingRight, Topic
from portal.moderation.services import record_action
from portal.permissions import is_staff

MAX_CATEGORY_NAME, MAX_SLUG, MAX_DESCRIPTION = 80, 80, 500
_SLUG = re.compile(r"^[a-z0-9-]{1,80}$")


def slugify(text: str) -> str:
    """Lower-case ASCII letters, digits and single hyphens, at most 80 characters."""
    slug = re.sub(r"[^a-z0-9]+", "-", (text or "").lower()).strip("-")
    return slug[:MAX_SLUG].rstrip("-")


def _enum_value(enum_cls: type, value: Any, field: str):
    try:
        return enum_cls(value)
    except ValueError as exc:
        raise RuleViolation("Choose one of the listed options.", field=field) from exc


def _snapshot(category: Category) -> dict[str, Any]:
    """A category's settings as the audit log keeps them."""
    return {
        "name": category.name, "slug": category.slug, "kind": str(category.kind), "audience": str(category.audience),
        "can_start": str(category.can_start), "can_reply": str(category.can_reply),
        "parent": category.parent.name if category.parent is not None else None,
        "organizations": sorted(category.allowed_organization_ids),
    }


def save_category(
    category: Category | None,
    *,
    actor: Any,
    name: str,
    slug: str = "",
    description: str = "",
    kind: CategoryKind | str = CategoryKind.DISCUSSION,
    parent: Category | None = None,
    position: int = 0,
    audience: Audience | str = Audience.EVERYONE,
    can_start: PostingRight | str = PostingRight.SIGNED_IN,
    can_reply: PostingRight | str = PostingRight.SIGNED_IN,
    organization_ids: Iterable[int] = (),
) -> Category:
    """Create (category=None) or update a category; one level of nesting; organisations only for that audience."""
    name = " ".join((name or "").split())
    if not name:
        raise RuleViolation("Enter a name.", field="name")
    if len(name) > MAX_CATEGORY_NAME:
        raise RuleViolation(f"Use at most {MAX_CATEGORY_NAME} characters.", field="name")
    slug = (slug or "").strip().lower() or slugify(name)
    if not _SLUG.match(slug):
        raise RuleViolation(
            "Use 1 to 80 lower-case letters, digits and hyphens (a-z, 0-9, -).", field="slug"
        )
    description = (description or "").strip()
    if len(description) > MAX_DESCRIPTION:
        raise RuleViolation(f"Use at most {MAX_DESCRIPTION} characters.", field="description")
    kind = _enum_value(CategoryKind, kind, "kind")
    audience = _enum_value(Audience, audience, "audience")
    can_start = _enum_value(PostingRight, can_start, "can_start")
    can_reply = _enum_value(PostingRight, can_reply, "can_reply")

    same_slug = sa.select(Category.id).where(Category.slug == slug)
    if category is not None and category.id is not None:
        same_slug = same_slug.where(Category.id != category.id)
    if db.session.scalar(same_slug) is not None:
        raise RuleViolation("Another category already uses this slug.", field="slug")

    if parent is not None:
        if category is not None and (parent is category or (category.id is not None and parent.id == category.id)):
            raise RuleViolation("A category can't be its own parent.", field="parent")
        if parent.parent_id is not None:
            raise RuleViolation("Categories nest one level only: choose a top-level parent.", field="parent")
        if category is not None and category.id is not None and db.session.scalar(
            sa.select(sa.exists().where(Category.parent_id == category.id))
        ):
            raise RuleViolation("This category has subcategories, so it can't have a parent.", field="parent")

    wanted_orgs: set[int] = set()
    if audience == Audience.ORGANIZATIONS:
        wanted_orgs = {int(i) for i in organization_ids}
        if not wanted_orgs:
            raise RuleViolation("Choose at least one organisation.", field="organization_ids")
        found = set(db.session.scalars(sa.select(Organization.id).where(Organization.id.in_(wanted_orgs))))
        if found != wanted_orgs:
            raise RuleViolation("Choose organisations from the list.", field="organization_ids")

    before = _snapshot(category) if category is not None and category.id is not None else None
    if category is None:
        category = Category()
        db.session.add(category)
    category.name = name
    category.slug = slug
    category.description = description
    category.kind = kind
    category.parent = parent
    category.position = int(position or 0)
    category.audience = audience
    category.can_start = can_start
    category.can_reply = can_reply
    # Only the difference: links are keyed by (category, organisation), so re-adding one would collide.
    category.organization_links = [
        link for link in category.organization_links if link.organization_id in wanted_orgs
    ] + [
        CategoryOrganization(organization_id=org_id)
        for org_id in sorted(wanted_orgs - category.allowed_organization_ids)
    ]
    db.session.flush()
    after = _snapshot(category)
    if before is None:
        record_action(actor, "category.create", category, after=after)
    elif before != after:
        changed = [key for key in after if before[key] != after[key]]
        record_action(actor, "category.update", category, before={k: before[k] for k in changed},
                      after={k: after[k] for k in changed})
    return category


def move_category(actor: Any, category: Category, direction: str) -> None:
    """Swap a category with its neighbour among its siblings (same parent); refuses past either end."""
    if direction not in ("up", "down"):
        raise RuleViolation("Move a category up or down.", field="direction")
    same_parent = (
        Category.parent_id.is_(None) if category.parent_id is None else Category.parent_id == category.parent_id
    )
    siblings = list(db.session.scalars(sa.select(Category).where(same_parent).order_by(Category.position, Category.id)))
    index = siblings.index(category)
    neighbour = index - 1 if direction == "up" else index + 1
    if not 0 <= neighbour < len(siblings):
        where = "first" if direction == "up" else "last"
        raise RuleViolation(f"{category.name} is already {where}.", field="direction")
    siblings[index], siblings[neighbour] = siblings[neighbour], siblings[index]
    # Renumber the whole sibling list: positions may repeat (the default is 0), and a swap of equal
    # positions would change nothing.
    for position, sibling in enumerate(siblings):
        sibling.position = position
    db.session.flush()
    record_action(actor, "category.reorder", category, after={"direction": direction, "position": neighbour})


def _admits(user: Any, category: Any) -> sa.ColumnElement[bool]:
    """The audience rule of can_see_category for one category (table or alias), as SQL."""
    audiences = [category.audience == Audience.EVERYONE]
    if getattr(user, "is_authenticated", False):
        audiences.append(category.audience == Audience.SIGNED_IN)
        if user.organization_id is not None:
            audiences.append(
                sa.and_(
                    category.audience == Audience.ORGANIZATIONS,
                    sa.exists().where(
                        CategoryOrganization.category_id == category.id,
                        CategoryOrganization.organization_id == user.organization_id,
                    ),
                )
            )
    return sa.or_(*audiences)


def visible_category_ids(user: Any) -> sa.Select:
    """A SELECT of the ids of the categories `user` may see: the rule of can_see_category, in SQL.

    A subcategory needs its parent visible too.
    """
    query = sa.select(Category.id)
    if is_staff(user):
        return query
    parent = sa.orm.aliased(Category)
    return query.outerjoin(parent, parent.id == Category.parent_id).where(
        _admits(user, Category), sa.or_(Category.parent_id.is_(None), _admits(user, parent))
    )


def refresh_last_topics(*category_ids: int | None) -> None:
    """Point each category at its newest topic that is neither deleted nor unlisted (or none)."""
    ids = [i for i in category_ids if i is not None]
    if not ids:
        return
    newest = (
        sa.select(sa.func.max(Topic.id))
        .where(Topic.category_id == Category.id, Topic.deleted_at.is_(None), Topic.is_unlisted.is_(False))
        .scalar_subquery()
    )
    db.session.execute(
        sa.update(Category).where(Category.id.in_(ids)).values(last_topic_id=newest),
        execution_options={"synchronize_session": "fetch"},
    )


def change_category_counts(category_id: int | None, *, topics: int = 0, posts: Any = 0) -> None:
    if category_id is None or (not isinstance(posts, sa.ColumnElement) and topics == 0 and posts == 0):
        return
    db.session.execute(
        sa.update(Category)
        .where(Category.id == category_id)
        .values(topic_count=Category.topic_count + topics, post_count=Category.post_count + posts),
        execution_options={"synchronize_session": "fetch"},
    )


