"""Races a single request can't show: many people (or one person's many tabs) doing the same thing at once.

Each case sends 50 real requests together to gunicorn (4 workers x 8 threads, rate limits off) on the
suite's database backend, then checks what each request answered and what the database holds.
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa

from portal.accounts.models import User
from portal.accounts.services import request_password_reset
from portal.extensions import db
from tests.concurrency import LiveClient, run_together, statuses
from tests.factories import PASSWORD, make_user
from tests.helpers import link_from, outbox

N = 50
DUPLICATE = "An account with this email already exists"


def unique_email(label: str) -> str:
    return f"{label}-{uuid.uuid4().hex[:10]}@example.com"


def assert_no_server_errors(responses) -> None:
    failed = sum(1 for r in responses if r.status >= 500)
    assert not failed, f"{failed} of {len(responses)} answered 5xx ({statuses(responses)}): see the server log below"


def sign_in(server, email: str, password: str):
    client = LiveClient(server.url)
    token = client.csrf_token("/signin")
    return client.post("/signin", {"email": email, "password": password, "csrf_token": token})


def test_concurrent_sign_ups_with_one_email_make_one_account(concurrent_server):
    email = unique_email("race")

    def post_sign_up(client, token):
        data = {"display_name": "Racer", "email": email, "password": "a long enough password", "csrf_token": token}
        return client.post("/signup", data)

    responses = run_together(
        N, prepare=lambda client: client.csrf_token("/signup"), act=post_sign_up, base_url=concurrent_server.url
    )

    assert_no_server_errors(responses)
    assert statuses(responses) == {302: 1, 422: N - 1}, statuses(responses)
    assert all(DUPLICATE in r.text for r in responses if r.status == 422)
    with concurrent_server.app().app_context():
        accounts = db.session.scalar(sa.select(sa.func.count()).select_from(User).where(User.email == email))
        verify_emails = outbox("verify_email", to=email)
    assert accounts == 1
    assert len(verify_emails) == 1  # the losers' emails were rolled back with their transactions


def test_concurrent_uses_of_one_reset_link_change_the_password_once(concurrent_server):
    with concurrent_server.app().app_context():
        user = make_user(email=unique_email("reset"))
        email = user.email
        request_password_reset(email)
        db.session.commit()
        path = link_from(outbox("reset_password", to=email)[-1], "/password/reset/")
    new_passwords = [f"new password number {i:02d}" for i in range(N)]

    def post_new_password(client, token):  # each thread sends its own new password
        password = new_passwords[client.index]
        return client.index, client.post(path, {"password": password, "confirm": password, "csrf_token": token})

    results = run_together(
        N, prepare=lambda client: client.csrf_token(path), act=post_new_password, base_url=concurrent_server.url
    )
    responses = [response for _, response in results]

    assert_no_server_errors(responses)
    assert statuses(responses) == {302: 1, 400: N - 1}, statuses(responses)
    assert all("already been used" in r.text for r in responses if r.status == 400)
    [winner] = [index for index, response in results if response.status == 302]
    loser = (winner + 1) % N
    assert sign_in(concurrent_server, email, new_passwords[winner]).status == 302
    assert sign_in(concurrent_server, email, PASSWORD).status != 302
    assert sign_in(concurrent_server, email, new_passwords[loser]).status != 302
