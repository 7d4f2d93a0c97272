"""CSRF: every state-changing route, enumerated from the url map, refuses a request without a token."""

from __future__ import annotations

import re

from portal.accounts.models import Organization, User
from portal.permissions import Role
from tests.factories import count_rows, login, make_user


def sample_url(rule) -> str:
    """A concrete URL for a url_map rule: 1 for int arguments, "x" for the others."""
    values = {
        arg: 1 if type(rule._converters[arg]).__name__ == "IntegerConverter" else "x" for arg in rule.arguments
    }
    return re.sub(r"<(?:[^:>]+:)?([^>]+)>", lambda m: str(values[m.group(1)]), rule.rule)


# The one deliberate exemption: RFC 8058 one-click unsubscribe, which mail clients POST without cookies or a CSRF
# token; the signed token in its URL is the authority (portal/notifications/views.py explains). Anything else
# exempt fails test_csrf_exemptions_are_exactly_the_known_ones.
CSRF_EXEMPT = {("POST", "/unsubscribe/<token>")}


def state_changing_rules(app):
    for rule in app.url_map.iter_rules():
        for method in sorted((rule.methods or set()) & {"POST", "PUT", "PATCH", "DELETE"}):
            if (method, rule.rule) not in CSRF_EXEMPT:
                yield rule, method


def test_csrf_exemptions_are_exactly_the_known_ones(app):
    from portal.extensions import csrf

    exempt_views = set(csrf._exempt_views)
    exempt = {
        (method, rule.rule)
        for rule in app.url_map.iter_rules()
        for method in (rule.methods or set()) & {"POST", "PUT", "PATCH", "DELETE"}
        if f"{app.view_functions[rule.endpoint].__module__}.{app.view_functions[rule.endpoint].__name__}"
        in exempt_views
    }
    assert exempt == CSRF_EXEMPT
    assert not csrf._exempt_blueprints


def test_every_state_changing_route_rejects_a_missing_csrf_token(app, client):
    login(client, make_user(role=Role.ADMIN))
    before = (count_rows(User), count_rows(Organization))
    checked = []
    for rule, method in state_changing_rules(app):
        for kwargs in ({"data": {"email": "x@example.com"}}, {"json": {"email": "x@example.com"}}):
            response = client.open(sample_url(rule), method=method, **kwargs)
            assert response.status_code == 400, (rule.rule, method, kwargs, response.status_code)
        checked.append(rule.rule)
    assert len(checked) >= 15
    assert (count_rows(User), count_rows(Organization)) == before


def test_a_token_from_another_session_is_refused(app, client):
    from tests.helpers import csrf_token

    other = app.test_client()
    foreign = csrf_token(other, "/signin")
    user = make_user()
    response = client.post("/signin", data={"email": user.email, "password": "correct horse battery",
                                            "csrf_token": foreign})
    assert response.status_code == 400
