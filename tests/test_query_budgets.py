"""Query budgets: each key page runs a fixed number of SQL statements, whatever the size of the data.

Every page in BUDGETS is rendered at two data sizes made by the bench generators (`flask bench-data`): a small
community, then one about 25 times larger (with more outbox emails than fit on one page). The count must be the
same at both sizes — a count that grows with the data is an N+1 — and within the page's budget. A feature that
adds a key page adds a row here; a change that needs more statements raises the budget in the same commit, and
says why.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
import sqlalchemy as sa

from portal.accounts.benchdata import BENCH_ADMIN_EMAIL, BENCH_PASSWORD
from portal.accounts.models import Organization, User
from portal.benchdata import delete_all, load
from portal.db import utcnow
from portal.extensions import db, limiter
from portal.forums import services as forums
from portal.forums.models import Category, Post, Topic
from portal.notifications.models import OutboxEmail, OutboxStatus
from portal.notifications.services import send_email
from portal.permissions import Role
from tests.factories import count_rows, login
from tests.helpers import count_queries

SMALL, LARGE = 0.01, 0.25  # bench-data scales: 10 users and 5 organisations, then 250 users and 10 organisations
SMALL_EMAILS, LARGE_EMAILS = 3, 60  # the mail log shows 50 a page


@dataclass(frozen=True)
class Budget:
    path: str  # formatted with the ids from page_ids()
    viewer: str | None  # None (anonymous), "customer" or "admin"
    queries: int  # the most SQL statements one request may run (BEGIN/COMMIT not counted)


# Today's counts: raise one only on purpose. Signed-in pages pay one statement to load the viewer.
BUDGETS: dict[str, Budget] = {
    "home, anonymous": Budget("/", None, 0),
    # The bell's unread count rides on the statement that loads the viewer (the viewer has notifications at both
    # sizes: add_threads replies to their topic), so it costs nothing here or on any signed-in page.
    "home, signed in": Budget("/", "customer", 1),
    "profile, anonymous": Budget("/users/{customer_id}", None, 1),
    "profile, signed in": Budget("/users/{other_id}", "customer", 2),
    "settings": Budget("/settings", "customer", 1),
    "admin users": Budget("/admin/users", "admin", 4),
    "admin organizations": Budget("/admin/organizations", "admin", 2),
    "admin mail log": Budget("/admin/mail", "admin", 4),
    # Forums. Anonymous topic page: topic, the page of posts (their total rides along as a window count). Signed
    # in: the topic rides on the viewer's statement (with the read marker and watch levels), the viewer's likes on
    # the posts'; on PostgreSQL the page of posts rides on the viewer's statement too (1 in all). Lists: count,
    # rows; signed in + viewer, read marks. Home: categories, org links.
    "forum home, anonymous": Budget("/forums", None, 2),
    "forum home, signed in": Budget("/forums", "customer", 3),
    "latest, anonymous": Budget("/latest", None, 2),
    "latest, signed in": Budget("/latest", "customer", 4),
    "category, anonymous": Budget("/c/{category_slug}", None, 4),  # + the category, its subcategories
    # + the viewer's watch level for the category (its button; one primary-key lookup).
    "category, signed in": Budget("/c/{category_slug}", "customer", 7),
    "topic, anonymous": Budget("/t/{topic_slug}/{topic_id}", None, 2),
    "topic, signed in": Budget("/t/{topic_slug}/{topic_id}", "customer", 2),
    "topic, staff": Budget("/t/{topic_slug}/{topic_id}", "admin", 2),
    "topic page 2, signed in": Budget("/t/{topic_slug}/{topic_id}?page=2", "customer", 2),
    # The last page, for a viewer with replies waiting for approval there: + those replies.
    "topic last page, author of held replies": Budget("/t/{topic_slug}/{topic_id}?page=3", "customer", 3),
    "solved question, signed in": Budget("/t/{question_slug}/{question_id}", "customer", 3),
    "new topic form": Budget("/new", "customer", 3),
    # Search: categories for the form, count, the page of posts (topics, categories, authors joined), snippets.
    "search, anonymous": Budget("/search?q=upgrade+release", None, 4),
    "search with filters, signed in": Budget("/search?q=option+or+upgrade&category=product-qa&solved=1", "customer", 5),
    # Atom feeds: the topics with their first posts; a category's feed loads the category first.
    "site feed": Budget("/latest.atom", None, 1),
    "category feed": Budget("/c/{category_slug}.atom", None, 2),
    # Staff pages show how many items wait in the review queue on its tab: one count each (the review queue's own
    # page has it already).
    # Staff response queue: viewer, categories and staff for the filters, counts, the page of rows; the tab count.
    "staff queue": Budget("/staff/queue", "admin", 6),
    "staff queue, filtered": Budget("/staff/queue?category=integrations&assignee=none", "admin", 6),
    # Audit log: viewer, count, the page of entries (actors and targets are labels on the rows); + the actor filtered;
    # the tab count.
    "audit log": Budget("/staff/audit", "admin", 4),
    # Review queue: viewer, count, items (posts, topics, authors, claimers, held topics' categories joined), flags,
    # authors' posts, upheld.
    "review queue": Budget("/moderation/review", "admin", 6),
    # A person's moderation page: viewer, the person, recent posts with topics, counts.
    "moderation person": Budget("/moderation/people/{customer_id}", "admin", 4),
    "audit log, filtered": Budget("/staff/audit?action=topic.pin&actor={staff_id}&from=2026-01-01", "admin", 5),
    # Notifications: viewer (with the bell), count, the page of rows with their actors.
    "notifications": Budget("/notifications", "customer", 3),
    "notifications page 2": Budget("/notifications?page=2", "customer", 3),
    # What I watch: viewer, topic watches with topics and categories, category watches with categories.
    "watching": Budget("/watching", "customer", 3),
    # Notification settings: viewer, email preferences, digest settings.
    "notification settings": Budget("/settings/notifications", "customer", 3),
}


def _customers() -> sa.Select:
    return (
        sa.select(User)
        .where(User.role == Role.CUSTOMER, User.organization_id.is_not(None), User.suspended_until.is_(None),
               User.email_verified_at.is_not(None))
        .order_by(User.id)
    )


def page_ids() -> dict[str, int | str]:
    first, second = db.session.scalars(_customers().limit(2))
    long_topic = db.session.scalar(sa.select(Topic).where(Topic.title == LONG_TOPIC))
    question = db.session.scalar(sa.select(Topic).where(Topic.title == SOLVED_QUESTION))
    return {"customer_id": first.id, "other_id": second.id, "category_slug": "getting-started",
            "topic_slug": long_topic.slug, "topic_id": long_topic.id, "question_slug": question.slug,
            "question_id": question.id,
            "staff_id": db.session.scalar(sa.select(User.id).where(User.role == Role.STAFF).limit(1))}


LONG_TOPIC = "A long discussion for the budgets"
SOLVED_QUESTION = "A question answered on its third page"


def add_threads(audit_entries: int) -> None:
    """The same two threads at every size: a discussion of 45 posts (staff, likes, a whisper), and a question
    whose accepted answer is on page 3, so the topic page loads it separately."""
    users = db.session.scalars(_customers().limit(5)).all()
    staff = db.session.scalar(sa.select(User).where(User.role == Role.STAFF).limit(1))
    by_slug = {c.slug: c for c in db.session.scalars(sa.select(Category))}
    topic = forums.create_topic(users[0], by_slug["getting-started"], LONG_TOPIC, "Let us talk about **this**.")
    for i in range(44):
        post = forums.create_post(staff if i % 5 == 0 else users[i % 5], topic, f"Reply {i} with `code`.",
                                  whisper=i == 10)
        if i % 3 == 0 and post.user_id != users[1].id:
            forums.like_post(users[1], post)
    question = forums.create_topic(users[1], by_slug["product-qa"], SOLVED_QUESTION, "How do I do this?")
    replies = [forums.create_post(users[i % 5], question, f"Try option {i}.") for i in range(45)]
    forums.accept_answer(users[1], question, replies[42])
    # Audit entries, as moderation leaves them (more than a page at the larger size): the log page must not load
    # their people or targets one by one.
    for i in range(audit_entries):
        forums.set_pinned(staff, topic, i % 2 == 0)
    # Flagged posts, half of them claimed (more than a page of the review queue at the larger size).
    from portal.moderation import flags

    flagged = [p for p in db.session.scalars(sa.select(Post).where(Post.topic_id == topic.id, Post.number > 1))
               if p.user_id != users[0].id][:audit_entries]
    every_staff = db.session.scalars(sa.select(User).where(User.role.in_([Role.STAFF, Role.ADMIN]))).all()
    for i, post in enumerate(flagged):
        flag = flags.flag_post(users[0], post, "spam")
        if i % 2:  # by different staff, so claimers loaded one by one would show
            flags.claim(every_staff[i % len(every_staff)], flag.review_item)
    # Newcomers' posts held for approval, replies and new topics in turn (the viewer wrote some: the topic's last
    # page then shows theirs).
    from portal.moderation.approval import hold_post
    from portal.moderation.models import HoldReason

    for i in range(audit_entries):
        where = ({"topic_id": topic.id} if i % 2 else
                 {"category_id": by_slug["integrations"].id, "title": f"A held topic number {i}"})
        hold_post(users[i % 5], f"Held post {i}.", f"<p>Held post {i}.</p>", HoldReason.FIRST_POSTS, 0, **where)
    db.session.commit()


def viewer(kind: str) -> User:
    if kind == "admin":
        return db.session.scalar(sa.select(User).where(User.email == BENCH_ADMIN_EMAIL))
    return db.session.scalars(_customers().limit(1)).one()


def fill(scale: float, emails: int) -> None:
    """Replace all data with the bench generators' at this scale, plus some emails in the outbox."""
    db.session.remove()
    with db.engine.connect() as conn:
        delete_all(conn)
        load(conn, scale)
    users = db.session.scalars(sa.select(User).order_by(User.id).limit(emails)).all()
    for i in range(emails):
        user = users[i % len(users)]
        email = send_email(user.email, "Confirm your email address", "verify_email", user=user,
                           link=f"https://portal.test/verify/token-{i}", hours=48)
        if i % 3 == 1:
            email.status, email.sent_at, email.attempts = OutboxStatus.SENT, utcnow(), 1
        elif i % 3 == 2:
            email.status, email.attempts, email.last_error = OutboxStatus.FAILED, 6, "550 mailbox unavailable"
    db.session.commit()
    add_threads(audit_entries=emails)


def measure(app, budget: Budget):
    """The statements of one request for the page, after a first request has warmed it up."""
    client = app.test_client()
    limiter.reset()  # all the pages sign in from one address
    if budget.viewer:
        login(client, viewer(budget.viewer), password=BENCH_PASSWORD)
    path = budget.path.format(**page_ids())
    client.get(path)  # pops the sign-in flash and does first-request work
    with count_queries() as log:
        response = client.get(path)
    assert response.status_code == 200, f"{path}: HTTP {response.status_code}"
    return log


def measure_all(app) -> dict[str, dict[str, object]]:
    """Every page's statements at both sizes: each size is built once for all the pages (building one takes
    seconds), and the pages are visited in the same order at both, so what one visit writes (a read marker, say)
    is there for the next at both sizes alike."""
    counts: dict[str, dict[str, object]] = {name: {} for name in BUDGETS}
    for size, (scale, emails) in (("small", (SMALL, SMALL_EMAILS)), ("large", (LARGE, LARGE_EMAILS))):
        fill(scale, emails)
        if size == "large":
            assert count_rows(User) == 250
        for name, budget in BUDGETS.items():
            try:
                counts[name][size] = measure(app, budget)
            except AssertionError as failure:  # kept for that page's own test to report
                counts[name][size] = failure
    return counts


_measured: dict[str, dict[str, object]] = {}


@pytest.mark.parametrize("page_name", list(BUDGETS))
def test_page_runs_a_fixed_number_of_queries_within_budget(app, page_name):
    # tests/live.py puts these in one xdist group, so one worker builds the data for all of them, once.
    if not _measured:
        _measured.update(measure_all(app))
    budget = BUDGETS[page_name]
    small, large = _measured[page_name]["small"], _measured[page_name]["large"]
    for log in (small, large):
        if isinstance(log, AssertionError):
            raise log
    assert large.count == small.count, f"{page_name}: grows with the data\nsmall:\n{small}\nlarge:\n{large}"
    assert large.count <= budget.queries, f"{page_name}: {large.count} statements, budget {budget.queries}\n{large}"


# --- flask bench-data --------------------------------------------------------------------------------


def test_bench_data_fills_an_empty_database_and_refuses_a_full_one_without_reset(runner):
    result = runner.invoke(args=["bench-data", "--scale", "0.05"])
    assert result.exit_code == 0, result.output
    assert f"{BENCH_ADMIN_EMAIL} / {BENCH_PASSWORD}" in result.output
    assert count_rows(User) == 50
    assert count_rows(Organization) == 5
    roles = dict(db.session.execute(sa.select(User.role, sa.func.count()).group_by(User.role)).all())
    assert roles[Role.ADMIN] == 2 and roles[Role.STAFF] >= 1 and roles[Role.CUSTOMER] > 40
    assert db.session.scalar(sa.select(sa.func.count()).where(Organization.is_vendor)) == 1
    admin = db.session.scalar(sa.select(User).where(User.email == BENCH_ADMIN_EMAIL))
    assert admin.role == Role.ADMIN and admin.is_verified and not admin.is_suspended
    db.session.commit()

    again = runner.invoke(args=["bench-data", "--scale", "0.05"])
    assert again.exit_code != 0
    assert "--reset" in again.output
    assert count_rows(User) == 50

    reset = runner.invoke(args=["bench-data", "--scale", "0.1", "--reset"])
    assert reset.exit_code == 0, reset.output
    db.session.commit()  # a new snapshot: the command wrote on its own connection
    assert count_rows(User) == 100
    assert count_rows(OutboxEmail) == 0
