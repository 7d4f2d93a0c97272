"""Mail backends: how an outbox row leaves the building."""

from __future__ import annotations

import smtplib
import sys
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from flask import current_app

from portal.notifications.models import OutboxEmail


class PermanentFailure(Exception):
    """The server refused the message for good (5xx): retrying cannot help."""


class TemporaryFailure(Exception):
    """The message may go through later (4xx, connection trouble)."""


def build_message(email: OutboxEmail) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = current_app.config["MAIL_FROM"]
    msg["To"] = email.to_address
    msg["Subject"] = email.subject
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = make_msgid(idstring=f"outbox-{email.id}")
    for name, value in (email.headers or {}).items():  # e.g. List-Unsubscribe, List-Unsubscribe-Post
        msg[name] = value
    msg.set_content(email.body_text)
    msg.add_alternative(email.body_html, subtype="html")
    return msg


class ConsoleBackend:
    """Development: print the text part to standard output."""

    def send(self, email: OutboxEmail) -> None:
        line = "-" * 72
        out = sys.stdout
        out.write(f"\n{line}\nEmail to {email.to_address}\nSubject: {email.subject}\n{line}\n")
        out.write(f"{email.body_text}\n{line}\n")
        out.flush()


class SMTPBackend:
    """Deliver through an SMTP server (plain, STARTTLS or implicit TLS), with optional login."""

    def send(self, email: OutboxEmail) -> None:
        config = current_app.config
        message = build_message(email)
        host, port, timeout = config["SMTP_HOST"], config["SMTP_PORT"], config["SMTP_TIMEOUT"]
        try:
            client_class = smtplib.SMTP_SSL if config["SMTP_TLS"] == "ssl" else smtplib.SMTP
            with client_class(host, port, timeout=timeout) as client:
                if config["SMTP_TLS"] == "starttls":
                    client.starttls()
                if config["SMTP_USER"]:
                    client.login(config["SMTP_USER"], config["SMTP_PASSWORD"])
                refused = client.send_message(message)
                if refused:
                    raise PermanentFailure(f"recipient refused: {refused}")
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            error = f"recipient refused: {exc.recipients}"
            if all(code >= 500 for code in codes):
                raise PermanentFailure(error) from exc
            raise TemporaryFailure(error) from exc
        except smtplib.SMTPResponseException as exc:
            text = exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) else exc.smtp_error
            error = f"{exc.smtp_code} {text}"
            if exc.smtp_code >= 500 and exc.smtp_code not in (530, 535):  # auth problems are ours to fix
                raise PermanentFailure(error) from exc
            raise TemporaryFailure(error) from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise TemporaryFailure(f"{type(exc).__name__}: {exc}") from exc


BACKENDS = {"console": ConsoleBackend, "smtp": SMTPBackend}


def get_backend():
    name = current_app.config["MAIL_BACKEND"]
    if name not in BACKENDS:
        raise RuntimeError(f"MAIL_BACKEND must be one of {', '.join(BACKENDS)}, not {name!r}")
    return BACKENDS[name]()
