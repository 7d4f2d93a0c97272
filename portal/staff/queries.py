"""What the staff pages read. The response queue runs a fixed number of statements whatever the data size."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm
from sqlalchemy.orm import contains_eager, joinedload

from portal.accounts.models import User
from portal.db import utcnow
from portal.extensions import db
from portal.forums.models import Audience, Category, Topic, TopicContext
from portal.forums.queries import Page
from portal.permissions import Role

QUEUE_PER_PAGE = 30
# A topic is "due soon" in the last quarter of the response target.
DUE_SOON_FRACTION = 0.75


class QueueState(enum.StrEnum):
    """Where a waiting topic stands against the response target."""

    WITHIN = "within"
    DUE_SOON = "due-soon"
    OVERDUE = "overdue"

    @property
    def label(self) -> str:
        return {"within": "Within target", "due-soon": "Due soon", "overdue": "Overdue"}[self.value]


@dataclass
class QueueRow:
    topic: Topic
    age: timedelta
    state: QueueState

    @property
    def age_text(self) -> str:
        return format_age(self.age)


@dataclass
class QueuePage(Page):
    overdue: int = 0
    due_soon: int = 0


def format_age(age: timedelta) -> str:
    """`35 min`, `26 h` (up to three days), then `4 d 3 h`."""
    minutes = max(0, int(age.total_seconds() // 60))
    if minutes < 60:
        return f"{minutes} min"
    hours = minutes // 60
    if hours < 72:
        return f"{hours} h"
    return f"{hours // 24} d {hours % 24} h"


def state_of(age: timedelta, target: timedelta) -> QueueState:
    """Overdue past the target, due soon in its last quarter, else within it."""
    if age > target:
        return QueueState.OVERDUE
    if age >= target * DUE_SOON_FRACTION:
        return QueueState.DUE_SOON
    return QueueState.WITHIN


def _customer_visible(*columns: Any) -> sa.Select:
    """A SELECT over categories restricted to those customers can see: any audience but staff, under a parent
    that isn't staff-only (organisations' categories count: their members are customers)."""
    parent = sa.orm.aliased(Category)
    return (
        sa.select(*columns)
        .outerjoin(parent, parent.id == Category.parent_id)
        .where(Category.audience != Audience.STAFF, sa.or_(parent.id.is_(None), parent.audience != Audience.STAFF))
    )


def customer_categories() -> list[Category]:
    """The customer-visible categories in forum order, each parent followed by its children (one statement)."""
    categories = db.session.scalars(_customer_visible(Category).order_by(Category.position, Category.id)).all()
    ordered: list[Category] = []
    for top in (c for c in categories if c.parent_id is None):
        ordered.append(top)
        ordered.extend(c for c in categories if c.parent_id == top.id)
    return ordered


def response_queue(
    *,
    target_hours: int,
    category_ids: list[int] | None = None,
    assignee_id: int | None = None,
    unassigned: bool = False,
    page: int = 1,
    now: datetime | None = None,
) -> QueuePage:
    """Forum topics started by customers, not deleted, in customer-visible categories, with no staff reply yet,
    oldest first; optionally only in some categories, or assigned to one person, or to no one.

    Two statements: the counts (waiting, overdue, due soon) and the page of rows with their authors,
    organisations, categories and assignees. The index ix_topics_staff_queue serves both.
    """
    now = now or utcnow()
    target = timedelta(hours=target_hours)
    overdue_before = now - target
    due_soon_before = now - target * DUE_SOON_FRACTION
    query = (
        sa.select(Topic)
        .join(User, User.id == Topic.user_id)
        .where(
            Topic.first_staff_reply_at.is_(None),
            Topic.context == TopicContext.FORUM,
            Topic.deleted_at.is_(None),
            User.role == Role.CUSTOMER,  # with the line above: permissions.awaits_staff_reply, in SQL
            Topic.category_id.in_(_customer_visible(Category.id)),
        )
    )
    if category_ids is not None:
        query = query.where(Topic.category_id.in_(category_ids))
    if unassigned:
        query = query.where(Topic.assignee_id.is_(None))
    elif assignee_id is not None:
        query = query.where(Topic.assignee_id == assignee_id)

    counts = db.session.execute(
        query.with_only_columns(
            sa.func.count(Topic.id),
            sa.func.coalesce(sa.func.sum(sa.case((Topic.created_at < overdue_before, 1), else_=0)), 0),
            sa.func.coalesce(
                sa.func.sum(
                    sa.case((sa.and_(Topic.created_at >= overdue_before, Topic.created_at <= due_soon_before), 1),
                            else_=0)
                ),
                0,
            ),
        ).order_by(None)
    ).one()
    topics = db.session.scalars(
        query.options(
            contains_eager(Topic.user).joinedload(User.organization),
            joinedload(Topic.category).joinedload(Category.parent),
            joinedload(Topic.assignee),
        )
        .order_by(Topic.created_at, Topic.id)
        .limit(QUEUE_PER_PAGE)
        .offset((page - 1) * QUEUE_PER_PAGE)
    ).unique().all()
    rows = [QueueRow(t, now - t.created_at, state_of(now - t.created_at, target)) for t in topics]
    return QueuePage(
        items=rows, page=page, per_page=QUEUE_PER_PAGE, total=counts[0], overdue=int(counts[1]),
        due_soon=int(counts[2]),
    )
