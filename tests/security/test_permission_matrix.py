"""Every route × every kind of person, with the outcome each must get.

Later features add their routes to MATRIX (and to MISSING for routes that load an object by id). A route in
the app that is not in MATRIX fails `test_every_route_is_in_the_matrix`, so nothing ships unchecked. Every
HTML response seen here is also checked for the security headers and for inline script.

Outcomes: an HTTP status, SIGNIN (302 to the sign-in page with next=), or REDIRECT (any other 302).
POSTs carry a valid CSRF token and an empty form, so they exercise the permission check, not the rules.
"""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from portal.forums.models import CategoryKind
from portal.notifications.models import Notification, OutboxEmail, OutboxStatus
from portal.permissions import Role
from tests.factories import make_category, make_organization, make_post, make_topic, make_user
from tests.helpers import csrf_token

SIGNIN = "signin"
REDIRECT = "redirect"
PERSONAS = ("anonymous", "unverified", "customer", "staff", "organiser", "admin")


def row(anonymous, unverified, customer, staff, organiser, admin) -> dict[str, object]:
    return dict(zip(PERSONAS, (anonymous, unverified, customer, staff, organiser, admin), strict=True))


def everyone(outcome) -> dict[str, object]:
    return row(*[outcome] * len(PERSONAS))


def signed_in(outcome) -> dict[str, object]:
    """Any signed-in person gets `outcome`; anonymous visitors are sent to sign in."""
    return row(SIGNIN, *[outcome] * (len(PERSONAS) - 1))


def anonymous_only(outcome) -> dict[str, object]:
    """Pages for signed-out visitors (sign-up, sign-in): signed-in people are sent home."""
    return row(outcome, *[REDIRECT] * (len(PERSONAS) - 1))


def admin_only(outcome) -> dict[str, object]:
    return row(SIGNIN, 403, 403, 403, 403, outcome)


MATRIX: dict[tuple[str, str], dict[str, object]] = {
    # main
    ("GET", "/"): everyone(200),
    # accounts: sign-up, sign-in, verification, passwords
    ("GET", "/signup"): anonymous_only(200),
    ("POST", "/signup"): anonymous_only(422),
    ("GET", "/signin"): anonymous_only(200),
    ("POST", "/signin"): anonymous_only(422),
    ("POST", "/signout"): everyone(REDIRECT),
    ("GET", "/verify/<token>"): everyone(400),
    ("GET", "/verify/resend"): row(200, 200, REDIRECT, REDIRECT, REDIRECT, REDIRECT),
    ("POST", "/verify/resend"): row(422, REDIRECT, REDIRECT, REDIRECT, REDIRECT, REDIRECT),
    ("GET", "/password/forgot"): everyone(200),
    ("POST", "/password/forgot"): everyone(422),
    ("GET", "/password/reset/<token>"): everyone(400),
    ("POST", "/password/reset/<token>"): everyone(400),
    ("GET", "/email/confirm/<token>"): everyone(400),
    # accounts: profile and settings
    ("GET", "/users/<int:user_id>"): everyone(200),
    ("GET", "/settings"): signed_in(200),
    ("POST", "/settings"): signed_in(422),
    ("GET", "/settings/password"): signed_in(200),
    ("POST", "/settings/password"): signed_in(422),
    ("GET", "/settings/email"): signed_in(200),
    ("POST", "/settings/email"): signed_in(422),
    ("POST", "/settings/email/cancel"): signed_in(REDIRECT),
    # accounts: administration
    ("GET", "/admin/"): admin_only(REDIRECT),
    ("GET", "/admin/users"): admin_only(200),
    ("GET", "/admin/users/<int:user_id>"): admin_only(200),
    ("POST", "/admin/users/<int:user_id>/role"): admin_only(422),
    ("POST", "/admin/users/<int:user_id>/organization"): admin_only(REDIRECT),
    ("POST", "/admin/users/<int:user_id>/suspend"): admin_only(422),
    ("POST", "/admin/users/<int:user_id>/unsuspend"): admin_only(REDIRECT),
    ("GET", "/admin/organizations"): admin_only(200),
    ("GET", "/admin/organizations/new"): admin_only(200),
    ("POST", "/admin/organizations/new"): admin_only(422),
    ("GET", "/admin/organizations/<int:org_id>/edit"): admin_only(200),
    ("POST", "/admin/organizations/<int:org_id>/edit"): admin_only(422),
    # forums: administration
    ("GET", "/admin/categories"): admin_only(200),
    ("GET", "/admin/categories/new"): admin_only(200),
    ("POST", "/admin/categories/new"): admin_only(422),
    ("GET", "/admin/categories/<int:category_id>/edit"): admin_only(200),
    ("POST", "/admin/categories/<int:category_id>/edit"): admin_only(422),
    ("POST", "/admin/categories/<int:category_id>/move"): admin_only(400),
    # forums: reading (the matrix's category is public, a question category; its topic has a reply by someone else)
    ("GET", "/forums"): everyone(200),
    ("GET", "/latest"): everyone(200),
    ("GET", "/c/<slug>"): everyone(200),
    ("GET", "/t/<slug>/<int:topic_id>"): everyone(200),
    ("GET", "/t/<slug>/<int:topic_id>/<int:number>"): everyone(REDIRECT),
    ("GET", "/p/<int:post_id>"): everyone(REDIRECT),
    ("GET", "/p/<int:post_id>/likes"): everyone(200),
    # forums: writing (participants: signed in, verified, not suspended)
    ("GET", "/new"): row(SIGNIN, 403, 200, 200, 200, 200),
    ("POST", "/new"): row(SIGNIN, 403, 422, 422, 422, 422),
    ("GET", "/mentions"): row(SIGNIN, 403, 200, 200, 200, 200),
    ("GET", "/t/<int:topic_id>/reply"): row(SIGNIN, 403, 200, 200, 200, 200),
    ("POST", "/t/<int:topic_id>/reply"): row(SIGNIN, 403, 422, 422, 422, 422),
    ("POST", "/p/<int:post_id>/like"): row(SIGNIN, 403, REDIRECT, REDIRECT, REDIRECT, REDIRECT),
    # forums: someone else's post (its author or staff) and someone else's question (its asker or staff)
    ("GET", "/p/<int:post_id>/edit"): row(SIGNIN, 403, 403, 200, 403, 200),
    ("POST", "/p/<int:post_id>/edit"): row(SIGNIN, 403, 403, 422, 403, 422),
    ("GET", "/p/<int:post_id>/revisions"): row(SIGNIN, 403, 403, 200, 403, 200),
    ("POST", "/p/<int:post_id>/delete"): row(SIGNIN, 403, 403, REDIRECT, 403, REDIRECT),
    ("POST", "/p/<int:post_id>/accept"): row(SIGNIN, 403, 403, REDIRECT, 403, REDIRECT),
    ("POST", "/t/<int:topic_id>/unaccept"): row(SIGNIN, 403, 403, REDIRECT, 403, REDIRECT),
    # forums: staff tools
    ("POST", "/p/<int:post_id>/restore"): row(SIGNIN, 403, 403, REDIRECT, 403, REDIRECT),
    ("POST", "/p/<int:post_id>/official"): row(SIGNIN, 403, 403, REDIRECT, 403, REDIRECT),
    ("GET", "/t/<int:topic_id>/tools"): row(SIGNIN, 403, 403, 200, 403, 200),
    ("POST", "/t/<int:topic_id>/pin"): row(SIGNIN, 403, 403, REDIRECT, 403, REDIRECT),
    ("POST", "/t/<int:topic_id>/lock"): row(SIGNIN, 403, 403, REDIRECT, 403, REDIRECT),
    ("POST", "/t/<int:topic_id>/move"): row(SIGNIN, 403, 403, REDIRECT, 403, REDIRECT),
    ("POST", "/t/<int:topic_id>/assign"): row(SIGNIN, 403, 403, REDIRECT, 403, REDIRECT),
    ("POST", "/t/<int:topic_id>/unlist"): row(SIGNIN, 403, 403, REDIRECT, 403, REDIRECT),
    ("POST", "/t/<int:topic_id>/merge"): row(SIGNIN, 403, 403, 422, 403, 422),
    ("POST", "/t/<int:topic_id>/split"): row(SIGNIN, 403, 403, 422, 403, 422),
    # forums: search
    ("GET", "/search"): everyone(200),
    # forums: feeds (public whoever asks; the matrix's category is public)
    ("GET", "/latest.atom"): everyone(200),
    ("GET", "/c/<slug>.atom"): everyone(200),
    # staff
    ("GET", "/staff/queue"): row(SIGNIN, 403, 403, 200, 403, 200),
    ("GET", "/staff/audit"): row(SIGNIN, 403, 403, 200, 403, 200),
    # moderation: flags and the review queue (the matrix's post is a customer's reply)
    ("GET", "/p/<int:post_id>/flag"): row(SIGNIN, 403, 200, 200, 200, 200),
    ("POST", "/p/<int:post_id>/flag"): row(SIGNIN, 403, 422, 422, 422, 422),
    ("GET", "/moderation/review"): row(SIGNIN, 403, 403, 200, 403, 200),
    ("POST", "/moderation/review/<int:item_id>/claim"): row(SIGNIN, 403, 403, REDIRECT, 403, REDIRECT),
    ("POST", "/moderation/review/<int:item_id>/agree"): row(SIGNIN, 403, 403, REDIRECT, 403, REDIRECT),
    ("POST", "/moderation/review/<int:item_id>/disagree"): row(SIGNIN, 403, 403, REDIRECT, 403, REDIRECT),
    # the matrix's item is a flag item: approving or rejecting it is refused with a message, back on the queue
    ("POST", "/moderation/review/<int:item_id>/approve"): row(SIGNIN, 403, 403, REDIRECT, 403, REDIRECT),
    ("POST", "/moderation/review/<int:item_id>/reject"): row(SIGNIN, 403, 403, REDIRECT, 403, REDIRECT),
    # one's own held posts: anyone signed in (suspended and unconfirmed people too, to read a decision)
    ("GET", "/moderation/waiting"): signed_in(200),
    # someone else's held post: not found, whoever asks
    ("POST", "/moderation/waiting/<int:item_id>/withdraw"): signed_in(404),
    # moderation: staff moderate customers (the target person is a customer)
    ("GET", "/moderation/people/<int:user_id>"): row(SIGNIN, 403, 403, 200, 403, 200),
    ("POST", "/moderation/people/<int:user_id>/suspend"): row(SIGNIN, 403, 403, 422, 403, 422),
    ("POST", "/moderation/people/<int:user_id>/unsuspend"): row(SIGNIN, 403, 403, REDIRECT, 403, REDIRECT),
    # notifications
    ("GET", "/admin/mail"): admin_only(200),
    ("POST", "/admin/mail/<int:email_id>/retry"): admin_only(REDIRECT),
    # notifications: one's own (the matrix's notification belongs to someone else: a 404, never a leak)
    ("GET", "/notifications"): signed_in(200),
    ("GET", "/notifications/<int:notification_id>"): signed_in(404),
    ("POST", "/notifications/<int:notification_id>/read"): signed_in(404),
    ("POST", "/notifications/read-all"): signed_in(REDIRECT),
    ("GET", "/settings/notifications"): signed_in(200),
    ("POST", "/settings/notifications"): signed_in(422),
    ("GET", "/watching"): signed_in(200),
    # watch buttons: an empty form names no level, which only a tampered button sends (400)
    ("POST", "/t/<int:topic_id>/watch"): signed_in(400),
    ("POST", "/c/<slug>/watch"): signed_in(400),
    # unsubscribe links work signed out; the matrix's token is not a real one
    ("GET", "/unsubscribe/<token>"): everyone(400),
    ("POST", "/unsubscribe/<token>"): everyone(400),
}

# Routes that load an object, asked for one that doesn't exist: 404 for whoever may see such objects.
MISSING: dict[tuple[str, str], dict[str, object]] = {
    ("GET", "/users/<int:user_id>"): everyone(404),
    ("GET", "/admin/users/<int:user_id>"): admin_only(404),
    ("POST", "/admin/users/<int:user_id>/role"): admin_only(404),
    ("POST", "/admin/users/<int:user_id>/suspend"): admin_only(404),
    ("GET", "/moderation/people/<int:user_id>"): row(SIGNIN, 404, 404, 404, 404, 404),
    ("POST", "/moderation/review/<int:item_id>/claim"): row(SIGNIN, 403, 403, 404, 403, 404),
    ("POST", "/moderation/review/<int:item_id>/approve"): row(SIGNIN, 403, 403, 404, 403, 404),
    ("POST", "/moderation/review/<int:item_id>/reject"): row(SIGNIN, 403, 403, 404, 403, 404),
    ("POST", "/moderation/waiting/<int:item_id>/withdraw"): signed_in(404),
    ("POST", "/moderation/people/<int:user_id>/suspend"): row(SIGNIN, 404, 404, 404, 404, 404),
    ("GET", "/admin/organizations/<int:org_id>/edit"): admin_only(404),
    ("POST", "/admin/mail/<int:email_id>/retry"): admin_only(404),
    ("GET", "/admin/categories/<int:category_id>/edit"): admin_only(404),
    ("POST", "/admin/categories/<int:category_id>/edit"): admin_only(404),
    ("POST", "/admin/categories/<int:category_id>/move"): admin_only(404),
    ("GET", "/c/<slug>"): everyone(404),
    ("GET", "/c/<slug>.atom"): everyone(404),
    ("GET", "/t/<slug>/<int:topic_id>"): everyone(404),
    ("GET", "/t/<slug>/<int:topic_id>/<int:number>"): everyone(404),
    ("GET", "/p/<int:post_id>"): everyone(404),
    ("GET", "/p/<int:post_id>/likes"): everyone(404),
    ("GET", "/notifications/<int:notification_id>"): signed_in(404),
    ("POST", "/notifications/<int:notification_id>/read"): signed_in(404),
    ("POST", "/c/<slug>/watch"): signed_in(404),
    **{
        (method, rule): row(SIGNIN, 404, 404, 404, 404, 404)
        for method, rule in MATRIX
        if rule.startswith(("/p/<int:post_id>/", "/t/<int:topic_id>/")) and not rule.endswith("/likes")
    },
}

IGNORED_RULES = {"/static/<path:filename>"}


def make_persona(name: str):
    """The user behind each persona (None for anonymous)."""
    if name == "anonymous":
        return None
    if name == "unverified":
        return make_user(verified=False)
    if name == "organiser":
        # Until events land, an organiser is a customer; the events feature grants the organiser right here.
        return make_user(role=Role.CUSTOMER)
    return make_user(role={"customer": Role.CUSTOMER, "staff": Role.STAFF, "admin": Role.ADMIN}[name])


def url_values(missing: bool) -> dict[str, str]:
    if missing:
        return {"user_id": "987654", "org_id": "987654", "email_id": "987654", "category_id": "987654",
                "token": "not-a-real-token", "slug": "no-such-thing", "topic_id": "987654", "post_id": "987654",
                "number": "1", "notification_id": "987654", "item_id": "987654"}
    target = make_user(display_name="Target Person")
    org = make_organization()
    # One slug serves /c/<slug> and /t/<slug>/<id>: the category's slug is the topic's.
    category = make_category(slug="matrix-question", kind=CategoryKind.QUESTIONS)
    topic = make_topic(category, make_user(), title="Matrix question")
    reply = make_post(topic, make_user())  # notifies the topic's author: the matrix's someone else's notification
    email = OutboxEmail(to_address="t@example.com", subject="s", body_text="t", body_html="h", template="t",
                        status=OutboxStatus.FAILED, attempts=6)
    from portal.extensions import db

    db.session.add(email)
    db.session.commit()
    notification = db.session.scalars(sa.select(Notification).where(Notification.user_id == topic.user_id)).one()
    from portal.moderation.flags import flag_post

    item_id = flag_post(make_user(), reply, "spam").review_item_id  # an open review item
    db.session.commit()
    return {"notification_id": str(notification.id), "item_id": str(item_id), "user_id": str(target.id),
            "org_id": str(org.id),
            "email_id": str(email.id), "category_id": str(category.id), "token": "not-a-real-token", "slug": topic.slug,
            "topic_id": str(topic.id), "post_id": str(reply.id), "number": "2"}


def build_url(rule: str, values: dict[str, str]) -> str:
    return re.sub(r"<(?:[^:>]+:)?([^>]+)>", lambda m: values[m.group(1)], rule)


def sign_in_as(client, user) -> None:
    """Sign in by session, not the form: keeps the matrix fast and clear of sign-in rate limits."""
    with client.session_transaction() as session:
        session["_user_id"] = user.get_id()
        session["_fresh"] = True


def check_html_response(response, where: str) -> None:
    headers = response.headers
    assert "frame-ancestors 'none'" in headers.get("Content-Security-Policy", ""), where
    assert "'unsafe-inline'" not in headers["Content-Security-Policy"], where
    assert headers.get("X-Content-Type-Options") == "nosniff", where
    assert headers.get("Referrer-Policy"), where
    body = response.get_data(as_text=True)
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", body), f"inline script on {where}"
    assert not re.search(r"\son[a-z]+\s*=", body), f"inline event handler on {where}"


def outcome_of(response) -> object:
    if response.status_code == 302:
        location = response.headers["Location"]
        return SIGNIN if location.startswith("/signin?next=") else REDIRECT
    return response.status_code


def run_case(client, method: str, rule: str, persona: str, values: dict[str, str]):
    user = make_persona(persona)
    if user is not None:
        sign_in_as(client, user)
    url = build_url(rule, values)
    if method == "GET":
        return url, client.get(url)
    token = csrf_token(client, "/settings" if user is not None else "/signin")
    return url, client.open(url, method=method, data={"csrf_token": token})


CASES = [(method, rule, persona) for (method, rule) in MATRIX for persona in PERSONAS]
MISSING_CASES = [(method, rule, persona) for (method, rule) in MISSING for persona in PERSONAS]


@pytest.mark.parametrize(("method", "rule", "persona"), CASES, ids=[f"{m} {r} {p}" for m, r, p in CASES])
def test_route_outcome(client, method, rule, persona):
    url, response = run_case(client, method, rule, persona, url_values(missing=False))
    expected = MATRIX[(method, rule)][persona]
    assert outcome_of(response) == expected, f"{method} {url} as {persona}: {response.status_code} " \
                                             f"{response.headers.get('Location', '')}"
    if response.mimetype == "text/html":
        check_html_response(response, f"{method} {url} as {persona}")


@pytest.mark.parametrize(("method", "rule", "persona"), MISSING_CASES,
                         ids=[f"{m} {r} {p}" for m, r, p in MISSING_CASES])
def test_missing_object_outcome(client, method, rule, persona):
    url, response = run_case(client, method, rule, persona, url_values(missing=True))
    assert outcome_of(response) == MISSING[(method, rule)][persona], f"{method} {url} as {persona}"


def test_every_route_is_in_the_matrix(app):
    in_app = {
        (method, rule.rule)
        for rule in app.url_map.iter_rules()
        if rule.rule not in IGNORED_RULES
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}
    }
    missing = sorted(in_app - set(MATRIX))
    stale = sorted(set(MATRIX) - in_app)
    assert not missing, f"routes without an expected outcome in MATRIX: {missing}"
    assert not stale, f"MATRIX lists routes the app doesn't have: {stale}"
    assert set(MISSING) <= set(MATRIX)
    for outcomes in (*MATRIX.values(), *MISSING.values()):
        assert set(outcomes) == set(PERSONAS)


def test_unknown_url_is_404_for_everyone(client):
    for persona in PERSONAS:
        user = make_persona(persona)
        if user is not None:
            sign_in_as(client, user)
        response = client.get("/no-such-page")
        assert response.status_code == 404
        check_html_response(response, f"/no-such-page as {persona}")
