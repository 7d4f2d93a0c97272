"""The email outbox: queued in the caller's transaction, delivered by the worker (or right after the request in
development), retried with backoff against a real SMTP server, and shown to admins without the bodies."""

from __future__ import annotations

import asyncio
import email
import re
import threading
from dataclasses import dataclass, field
from datetime import timedelta
from email import policy
from types import SimpleNamespace

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller

from portal.db import utcnow
from portal.extensions import db
from portal.notifications.models import OutboxEmail, OutboxStatus
from portal.notifications.services import retry_delay, send_email, take_committed_ids
from portal.notifications.worker import deliver_due
from portal.permissions import Role
from tests.factories import count_rows, login, make_user
from tests.helpers import csrf_token, free_port, outbox

OK = "250 OK"
TRY_LATER = "451 4.3.0 Try again later"
REFUSED = "550 5.1.1 Mailbox unavailable"


def text(response) -> str:
    return response.get_data(as_text=True)


def queue(to: str = "ann@example.com", name: str = "Ann", link: str = "http://portal.test/verify/tok-1") -> int:
    """Queue one verification email and commit it; return its id."""
    queued = send_email(to, "Confirm your email", "verify_email", user=SimpleNamespace(display_name=name),
                        link=link, hours=48)
    db.session.commit()
    return queued.id


def committed_count() -> int:
    """Outbox rows as another connection sees them: only what was really committed."""
    with db.engine.connect() as conn:
        return conn.scalar(sa.select(sa.func.count()).select_from(OutboxEmail))


def set_row(email_id: int, **values) -> None:
    db.session.execute(sa.update(OutboxEmail).where(OutboxEmail.id == email_id).values(**values))
    db.session.commit()


def make_due(email_id: int) -> None:
    """Time travel: the row's next attempt is now in the past."""
    set_row(email_id, next_attempt_at=utcnow() - timedelta(seconds=1))


def get(email_id: int) -> OutboxEmail:
    db.session.commit()  # a fresh snapshot: see what the worker (or another thread) committed
    return db.session.get(OutboxEmail, email_id)


# --- A real SMTP server -------------------------------------------------------------------------------


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    content: bytes


@dataclass
class RecordingHandler:
    """Answers DATA with `replies` in turn, then with `default`; records every message it accepts."""

    replies: list[str] = field(default_factory=list)
    default: str = OK
    delay: float = 0.0
    data_commands: int = 0
    received: list[Received] = field(default_factory=list)
    in_flight: int = 0
    max_in_flight: int = 0  # how many messages were being handed over at the same time, at most

    async def handle_DATA(self, server, session, envelope):
        self.data_commands += 1
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if self.delay:
                await asyncio.sleep(self.delay)
        finally:
            self.in_flight -= 1
        reply = self.replies.pop(0) if self.replies else self.default
        if reply.startswith("250"):
            self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return reply


@pytest.fixture
def smtp_server(app):
    """Start an aiosmtpd server on a free port and point the app's SMTP backend at it."""
    controllers: list[Controller] = []

    def start(replies=(), default: str = OK, delay: float = 0.0) -> RecordingHandler:
        handler = RecordingHandler(replies=list(replies), default=default, delay=delay)
        port = free_port()
        controller = Controller(handler, hostname="127.0.0.1", port=port)
        controller.start()
        controllers.append(controller)
        app.config.update(MAIL_BACKEND="smtp", SMTP_HOST="127.0.0.1", SMTP_PORT=port, SMTP_TLS="none",
                          SMTP_USER="", SMTP_TIMEOUT=10)
        return handler

    yield start
    for controller in controllers:
        controller.stop()


# --- 1. Queued in the caller's transaction ------------------------------------------------------------


def test_send_email_in_a_rolled_back_transaction_leaves_no_row(app):
    send_email("ann@example.com", "Confirm your email", "verify_email", user=SimpleNamespace(display_name="Ann"),
               link="http://portal.test/verify/tok-1", hours=48)
    assert count_rows(OutboxEmail) == 1  # written in this transaction…
    db.session.rollback()
    assert count_rows(OutboxEmail) == 0  # …and gone with it
    assert committed_count() == 0
    db.session.commit()  # a later commit in the same session must not deliver the rolled-back email
    assert take_committed_ids() == []


def test_send_email_committed_leaves_exactly_one_pending_row_with_both_bodies(app):
    before = utcnow()
    link = "http://portal.test/verify/tok-abc123"
    email_id = queue("ann@example.com", name="Zoë & Co", link=link)

    assert committed_count() == 1
    row = get(email_id)
    assert row.to_address == "ann@example.com"
    assert row.subject == "Confirm your email"
    assert row.template == "verify_email"
    assert row.status == OutboxStatus.PENDING
    assert row.attempts == 0 and row.sent_at is None and row.last_error == ""
    assert before - timedelta(seconds=1) <= row.next_attempt_at <= utcnow()  # due at once
    assert link in row.body_text and "Hi Zoë & Co," in row.body_text and "48 hours" in row.body_text
    assert "<html" not in row.body_text
    assert f'href="{link}"' in row.body_html and "Hi Zoë &amp; Co," in row.body_html  # HTML is escaped
    assert take_committed_ids() == [email_id]


def test_a_rolled_back_savepoint_does_not_forget_emails_queued_before_it(app):
    outer = send_email("outer@example.com", "Outer", "verify_email", user=SimpleNamespace(display_name="O"),
                       link="http://portal.test/verify/o", hours=48)
    with pytest.raises(RuntimeError), db.session.begin_nested():
        send_email("inner@example.com", "Inner", "verify_email", user=SimpleNamespace(display_name="I"),
                   link="http://portal.test/verify/i", hours=48)
        raise RuntimeError("undo the inner part only")
    db.session.commit()
    assert [e.to_address for e in outbox()] == ["outer@example.com"]
    assert outer.id in take_committed_ids()  # development delivers it right after the request


# --- 2. Development: delivered right after the request that committed it ------------------------------


def sign_up(client, email: str, password: str = "a long enough password"):
    token = csrf_token(client, "/signup")
    return client.post("/signup", data={"display_name": "Newcomer", "email": email, "password": password,
                                        "csrf_token": token})


def test_development_delivers_a_committed_email_right_after_the_request(app, client, capsys):
    app.config["MAIL_DELIVER_ON_COMMIT"] = True
    assert app.config["MAIL_BACKEND"] == "console"
    capsys.readouterr()

    response = sign_up(client, "newcomer@example.com")

    assert response.status_code == 302
    [row] = outbox()
    assert row.template == "verify_email" and row.to_address == "newcomer@example.com"
    assert row.status == OutboxStatus.SENT and row.attempts == 1 and row.sent_at is not None
    out = capsys.readouterr().out
    assert "Email to newcomer@example.com" in out
    assert f"Subject: {row.subject}" in out
    assert "http://portal.test/verify/" in out


def test_without_deliver_on_commit_the_email_waits_for_the_worker(app, client, capsys):
    assert app.config["MAIL_DELIVER_ON_COMMIT"] is False
    capsys.readouterr()

    assert sign_up(client, "newcomer@example.com").status_code == 302

    [row] = outbox()
    assert row.status == OutboxStatus.PENDING and row.attempts == 0
    assert "Subject:" not in capsys.readouterr().out
    assert deliver_due() == 1
    assert get(row.id).status == OutboxStatus.SENT
    assert "Subject:" in capsys.readouterr().out


def test_development_sends_nothing_when_the_request_rolls_back(app, client, capsys):
    app.config["MAIL_DELIVER_ON_COMMIT"] = True
    existing = make_user(email="taken@example.com")
    capsys.readouterr()

    short = sign_up(client, "newcomer@example.com", password="short")
    duplicate = sign_up(client, existing.email)

    assert short.status_code == 422 and duplicate.status_code == 422
    assert outbox() == []
    assert "Subject:" not in capsys.readouterr().out


# --- 3. SMTP delivery --------------------------------------------------------------------------------


@pytest.mark.smtp
def test_worker_delivers_through_a_real_smtp_server(app, smtp_server):
    server = smtp_server()
    link = "http://portal.test/verify/tok-smtp"
    email_id = queue("ann@example.com", link=link)

    assert deliver_due() == 1

    [received] = server.received
    assert received.rcpt_tos == ["ann@example.com"]
    assert received.mail_from == "no-reply@portal.test"
    message = email.message_from_bytes(received.content, policy=policy.default)
    assert message["To"] == "ann@example.com"
    assert message["Subject"] == "Confirm your email"
    assert message["From"] == "Portal <no-reply@portal.test>"
    assert message.is_multipart()
    assert link in message.get_body(("plain",)).get_content()
    assert f'href="{link}"' in message.get_body(("html",)).get_content()
    assert {part.get_content_type() for part in message.iter_parts()} == {"text/plain", "text/html"}

    row = get(email_id)
    assert row.status == OutboxStatus.SENT and row.attempts == 1 and row.sent_at is not None
    assert row.last_error == ""
    assert deliver_due() == 0  # sent once, never again
    assert server.data_commands == 1


# --- 4. Temporary refusals: retried with backoff --------------------------------------------------------


@pytest.mark.smtp
def test_a_temporary_refusal_is_retried_later_until_it_goes_through(app, smtp_server):
    app.config["MAIL_RETRY_BASE_SECONDS"] = 60
    server = smtp_server(replies=[TRY_LATER, TRY_LATER])
    email_id = queue("ann@example.com")

    before = utcnow()
    assert deliver_due() == 1
    row = get(email_id)
    assert row.status == OutboxStatus.PENDING and row.attempts == 1 and row.sent_at is None
    assert "451" in row.last_error
    assert row.next_attempt_at > utcnow()
    assert before + timedelta(seconds=60) <= row.next_attempt_at <= utcnow() + timedelta(seconds=60)

    assert deliver_due() == 0  # not due yet: the worker leaves it alone
    assert server.data_commands == 1

    make_due(email_id)
    before = utcnow()
    assert deliver_due() == 1
    row = get(email_id)
    assert row.status == OutboxStatus.PENDING and row.attempts == 2 and "451" in row.last_error
    assert before + timedelta(seconds=120) <= row.next_attempt_at <= utcnow() + timedelta(seconds=120)  # 2×base

    make_due(email_id)
    assert deliver_due() == 1
    row = get(email_id)
    assert row.status == OutboxStatus.SENT and row.attempts == 3 and row.sent_at is not None
    assert row.last_error == ""
    assert server.data_commands == 3
    assert len(server.received) == 1 and server.received[0].rcpt_tos == ["ann@example.com"]


# --- 5. Giving up ----------------------------------------------------------------------------------------


@pytest.mark.smtp
def test_an_email_fails_after_the_attempt_limit_and_is_not_tried_again(app, smtp_server):
    app.config["MAIL_MAX_ATTEMPTS"] = 3
    server = smtp_server(default=TRY_LATER)
    email_id = queue()

    for attempt in (1, 2, 3):
        assert deliver_due() == 1
        row = get(email_id)
        assert row.attempts == attempt and "451" in row.last_error
        assert row.status == (OutboxStatus.FAILED if attempt == 3 else OutboxStatus.PENDING)
        make_due(email_id)

    assert deliver_due() == 0
    row = get(email_id)
    assert row.status == OutboxStatus.FAILED and row.attempts == 3 and row.sent_at is None
    assert server.data_commands == 3
    assert server.received == []


@pytest.mark.smtp
def test_a_permanent_refusal_fails_at_once(app, smtp_server):
    server = smtp_server(default=REFUSED)
    email_id = queue()

    assert deliver_due() == 1
    row = get(email_id)
    assert row.status == OutboxStatus.FAILED and row.attempts == 1 and "550" in row.last_error

    make_due(email_id)
    assert deliver_due() == 0
    assert server.data_commands == 1
    assert get(email_id).attempts == 1


def test_no_server_listening_is_a_temporary_failure(app):
    app.config.update(MAIL_BACKEND="smtp", SMTP_HOST="127.0.0.1", SMTP_PORT=free_port(), SMTP_TLS="none",
                      SMTP_USER="", SMTP_TIMEOUT=5)
    email_id = queue()

    assert deliver_due() == 1

    row = get(email_id)
    assert row.status == OutboxStatus.PENDING and row.attempts == 1 and row.sent_at is None
    assert "refused" in row.last_error.lower()
    assert row.next_attempt_at > utcnow()


# --- 6. Backoff ----------------------------------------------------------------------------------------


def test_retry_delay_doubles_from_the_base_and_is_capped_at_six_hours(app):
    app.config["MAIL_RETRY_BASE_SECONDS"] = 60
    assert [retry_delay(n) for n in (1, 2, 3, 4)] == [timedelta(seconds=s) for s in (60, 120, 240, 480)]
    assert retry_delay(9) == timedelta(seconds=60 * 256)  # 4h16m: still under the cap
    assert retry_delay(10) == timedelta(hours=6)
    assert retry_delay(50) == timedelta(hours=6)

    app.config["MAIL_RETRY_BASE_SECONDS"] = 7
    assert [retry_delay(n) for n in (1, 2, 3)] == [timedelta(seconds=s) for s in (7, 14, 28)]


# --- 7. The admin mail log -----------------------------------------------------------------------------

SECRET_LINK = "http://portal.test/verify/secret-token-4f9a"


@pytest.fixture
def mail_rows(app):
    """One pending, one sent and one failed email, all carrying a secret link in their bodies."""
    pending = queue("pending-recipient@example.org", link=SECRET_LINK)
    sent = queue("sent-recipient@example.org", link=SECRET_LINK)
    failed = queue("failed-recipient@example.org", link=SECRET_LINK)
    set_row(sent, status=OutboxStatus.SENT, attempts=1, sent_at=utcnow())
    set_row(failed, status=OutboxStatus.FAILED, attempts=3, last_error=REFUSED)
    return SimpleNamespace(pending=pending, sent=sent, failed=failed)


def row_html(page: str, to_address: str) -> str:
    rows = [row for row in page.split("<tr>") if to_address in row]
    assert len(rows) == 1, f"expected one row for {to_address}"
    return rows[0]


def snapshot(email_id: int) -> tuple:
    row = get(email_id)
    return row.status, row.attempts, row.sent_at, row.next_attempt_at, row.last_error, row.updated_at


def test_anonymous_visitors_are_sent_to_sign_in(client, mail_rows):
    response = client.get("/admin/mail")
    assert response.status_code == 302
    assert response.headers["Location"] == "/signin?next=%2Fadmin%2Fmail"


@pytest.mark.parametrize("role", [Role.CUSTOMER, Role.STAFF])
def test_customers_and_staff_cannot_see_or_retry(client, mail_rows, role):
    login(client, make_user(role=role))
    before = snapshot(mail_rows.failed)

    assert client.get("/admin/mail").status_code == 403
    assert client.get("/admin/mail?status=failed").status_code == 403
    token = csrf_token(client, "/settings")
    assert client.post(f"/admin/mail/{mail_rows.failed}/retry", data={"csrf_token": token}).status_code == 403

    assert snapshot(mail_rows.failed) == before


def test_admins_see_addresses_subjects_status_attempts_and_errors_but_never_bodies(client, mail_rows):
    login(client, make_user(role=Role.ADMIN))

    response = client.get("/admin/mail")

    assert response.status_code == 200
    page = text(response)
    failed = row_html(page, "failed-recipient@example.org")
    assert "Confirm your email" in failed and ">failed</span>" in failed
    assert '<td class="text-end">3</td>' in failed and REFUSED in failed
    assert ">sent</span>" in row_html(page, "sent-recipient@example.org")
    assert ">pending</span>" in row_html(page, "pending-recipient@example.org")
    assert '<td class="text-end">0</td>' in row_html(page, "pending-recipient@example.org")
    assert SECRET_LINK not in page and "secret-token" not in page
    assert "Please confirm your email address" not in page


def test_the_status_filter_shows_only_that_status(client, mail_rows):
    login(client, make_user(role=Role.ADMIN))

    page = text(client.get("/admin/mail?status=failed"))

    assert "failed-recipient@example.org" in page
    assert "sent-recipient@example.org" not in page and "pending-recipient@example.org" not in page
    sent_page = text(client.get("/admin/mail?status=sent"))
    assert "sent-recipient@example.org" in sent_page and "failed-recipient@example.org" not in sent_page


def test_an_admin_retries_a_failed_email_and_the_worker_sends_it(client, mail_rows, capsys):
    login(client, make_user(role=Role.ADMIN))
    token = csrf_token(client, "/admin/mail")

    response = client.post(f"/admin/mail/{mail_rows.failed}/retry", data={"csrf_token": token},
                           follow_redirects=True)

    assert response.status_code == 200
    assert f"Email #{mail_rows.failed} to failed-recipient@example.org is queued again." in text(response)
    row = get(mail_rows.failed)
    assert row.status == OutboxStatus.PENDING and row.attempts == 0
    assert row.next_attempt_at <= utcnow()
    capsys.readouterr()
    assert deliver_due(ids=[mail_rows.failed]) == 1
    assert get(mail_rows.failed).status == OutboxStatus.SENT
    assert "Email to failed-recipient@example.org" in capsys.readouterr().out


def test_the_mail_log_offers_retry_only_on_failed_rows(client, mail_rows):
    login(client, make_user(role=Role.ADMIN))
    page = text(client.get("/admin/mail"))
    assert re.findall(r'action="/admin/mail/(\d+)/retry', page) == [str(mail_rows.failed)]


def test_only_failed_emails_can_be_retried(client, mail_rows):
    login(client, make_user(role=Role.ADMIN))
    token = csrf_token(client, "/admin/mail")
    before = snapshot(mail_rows.sent)

    response = client.post(f"/admin/mail/{mail_rows.sent}/retry", data={"csrf_token": token},
                           follow_redirects=True)

    assert response.status_code == 200
    assert "Only failed emails can be retried." in text(response)
    assert snapshot(mail_rows.sent) == before


def test_retry_without_a_csrf_token_is_refused(client, mail_rows):
    login(client, make_user(role=Role.ADMIN))
    before = snapshot(mail_rows.failed)

    response = client.post(f"/admin/mail/{mail_rows.failed}/retry", data={})

    assert response.status_code == 400
    assert snapshot(mail_rows.failed) == before


def test_retrying_a_missing_email_is_404(client, mail_rows):
    login(client, make_user(role=Role.ADMIN))
    token = csrf_token(client, "/admin/mail")
    assert client.post("/admin/mail/999999/retry", data={"csrf_token": token}).status_code == 404


# --- 8. Several workers share the queue (PostgreSQL) -----------------------------------------------------


@pytest.mark.postgres
@pytest.mark.smtp
def test_concurrent_workers_send_every_email_exactly_once(app, smtp_server):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("needs PostgreSQL: runs in the TEST_DB=postgres pass")
    server = smtp_server(delay=0.05)  # a slow server: each worker holds its claimed row while it sends
    ids = [queue(f"member{n}@example.com") for n in range(20)]
    db.session.commit()

    attempted = [0] * 4
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def work(index: int) -> None:
        try:
            barrier.wait(timeout=10)
            with app.app_context():
                attempted[index] = deliver_due()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert not any(thread.is_alive() for thread in threads)
    assert errors == []
    assert sum(attempted) == 20
    # Workers sent side by side: with a blocking FOR UPDATE they would queue behind the same row one at a time.
    assert server.max_in_flight >= 2, f"the workers never sent at the same time: {attempted}"
    recipients = [rcpt for received in server.received for rcpt in received.rcpt_tos]
    assert len(server.received) == 20 and server.data_commands == 20
    assert sorted(recipients) == sorted(f"member{n}@example.com" for n in range(20))
    assert all(get(email_id).status == OutboxStatus.SENT and get(email_id).attempts == 1 for email_id in ids)
