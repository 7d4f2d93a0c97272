"""The search page: one form (words and filters) over portal.search, results with snippets, pagination.

Everyone may search (anonymous visitors find public content only: search applies the viewer's visibility).
A GET that never writes; odd input is a message on the page, never an error status.
"""

from __future__ import annotations

from flask import current_app, render_template, request
from flask_login import current_user

from portal.accounts.models import User
from portal.extensions import db, limiter
from portal.forums import bp
from portal.forums.models import Category
from portal.forums.services import visible_category_ids
from portal.search import SearchQueryError, search_posts

PER_PAGE = 20


def _int(raw: str | None) -> int | None:
    try:
        value = int(raw or "")
    except ValueError:
        return None
    return value if 0 < value < 2**31 else None


def _page(raw: str | None) -> int:
    return min(_int(raw) or 1, 10_000)


def _category_choices() -> list[tuple[Category, bool]]:
    """The categories the viewer sees, in forum order, each with whether it is a subcategory."""
    categories = db.session.scalars(
        db.select(Category).where(Category.id.in_(visible_category_ids(current_user)))
        .order_by(Category.position, Category.id)
    ).all()
    ordered: list[tuple[Category, bool]] = []
    for parent in (c for c in categories if c.parent_id is None):
        ordered.append((parent, False))
        ordered.extend((c, True) for c in categories if c.parent_id == parent.id)
    return ordered


@bp.route("/search")
@limiter.limit(lambda: current_app.config["SEARCH_RATE_LIMIT"])
def search():
    """Search posts: q, category (slug or id), author (user id), solved, staff, page."""
    q = (request.args.get("q") or "").strip()
    choices = _category_choices()
    raw_category = (request.args.get("category") or "").strip()
    category = next((c for c, _ in choices if raw_category in (c.slug, str(c.id))), None) if raw_category else None
    author_id = _int(request.args.get("author"))
    author = db.session.get(User, author_id) if author_id else None
    solved = request.args.get("solved") in ("1", "on", "y")
    staff = request.args.get("staff") in ("1", "on", "y")

    results, error = None, None
    if q:
        try:
            results = search_posts(
                current_user, q, category_id=category.id if category else None,
                author_id=author.id if author else None, solved_only=solved, staff_answer_only=staff,
                page=_page(request.args.get("page")), per_page=PER_PAGE,
            )
        except SearchQueryError as exc:
            error = exc.message
    return render_template(
        "forums/search.html", q=q, results=results, error=error, choices=choices, category=category,
        unknown_category=bool(raw_category) and category is None, author=author,
        unknown_author=bool(request.args.get("author")) and author is None, solved=solved, staff=staff,
    )
