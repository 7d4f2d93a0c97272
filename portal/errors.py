"""Error pages (HTML in the site's style, or JSON when the client asks for it) and RuleViolation."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Flask, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

from portal.extensions import db, limiter


class RuleViolation(Exception):
    """A business rule refused the action; `field` names the form field to show it on, if any."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


TITLES = {
    400: "Bad request",
    403: "Not allowed",
    404: "Page not found",
    405: "Method not allowed",
    409: "Conflict",
    429: "Too many attempts",
    500: "Something went wrong",
}

MESSAGES = {
    400: "The request could not be understood. Go back, check what you entered and try again.",
    403: "You don't have permission to do that.",
    404: "We couldn't find that page. It may have moved, or the link may be wrong.",
    405: "That page doesn't accept this kind of request.",
    409: "Someone changed this at the same time. Reload the page and try again.",
    429: "You've tried that too many times.",
    500: "An unexpected error happened on our side. It has been logged; please try again in a moment.",
}


def wants_json() -> bool:
    if request.path.startswith("/api/") or request.is_json:
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json" and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]


def retry_after_seconds() -> int | None:
    current = limiter.current_limit
    if current is None:
        return None
    return max(1, int(current.reset_at - datetime.now(UTC).timestamp()))


def render_error(code: int, message: str | None = None):
    message = message or MESSAGES.get(code, "")
    title = TITLES.get(code, "Error")
    retry = retry_after_seconds() if code == 429 else None
    if wants_json():
        payload = {"error": title, "message": message, "status": code}
        if retry:
            payload["retry_after"] = retry
        return jsonify(payload), code
    return render_template("errors/error.html", code=code, title=title, message=message, retry_after=retry), code


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError):
        return render_error(
            400, "This form has expired or was sent from another site. Reload the page and submit it again."
        )

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        code = error.code or 500
        if code >= 500:
            db.session.rollback()
        default = type(error).description
        custom = error.description if code in (400, 403, 404, 409) and error.description != default else None
        return render_error(code, custom)

    @app.errorhandler(Exception)
    def unexpected_error(error: Exception):
        db.session.rollback()
        if app.config.get("PROPAGATE_UNHANDLED"):
            raise error
        app.logger.exception("Unhandled exception on %s %s", request.method, request.path)
        return render_error(500)

    app.register_error_handler(InternalServerError, lambda e: render_error(500))
