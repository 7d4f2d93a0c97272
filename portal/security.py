"""Security headers and safe redirects."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask, Response

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)


def is_safe_next(target: str | None) -> bool:
    """True only for a path on this site ("/settings"), never another host, scheme or protocol-relative URL."""
    if not target or not isinstance(target, str) or len(target) > 2000:
        return False
    if any(ord(ch) < 32 or ch == "\\" for ch in target):
        return False
    if not target.startswith("/") or target.startswith("//"):
        return False
    parts = urlsplit(target)
    return not parts.scheme and not parts.netloc


def safe_next(target: str | None, default: str) -> str:
    return target if is_safe_next(target) else default


# Every response gets these unless the view set its own: (name, its lower-case form, value).
_HEADERS = tuple((name, name.lower(), value) for name, value in (
    ("Content-Security-Policy", CSP),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "strict-origin-when-cross-origin"),
    ("X-Frame-Options", "DENY"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
    ("Permissions-Policy", "camera=(), microphone=(), geolocation=(), interest-cohort=()"),
))
_HSTS = ("Strict-Transport-Security", "strict-transport-security", "max-age=31536000; includeSubDomains")


def register_security_headers(app: Flask) -> None:
    @app.after_request
    def set_headers(response: Response) -> Response:
        # The response's header names are read once (each `setdefault` would scan them all again).
        headers = response.headers
        present = {name.lower() for name, _ in headers.items()}
        defaults = (*_HEADERS, _HSTS) if app.config.get("SECURE_HEADERS_HSTS") else _HEADERS
        for name, lower, value in defaults:
            if lower not in present:
                headers.add(name, value)
        if response.mimetype == "text/html" and "cache-control" not in present:
            # Pages can show private data (settings, admin): never let a shared cache keep them.
            headers.add("Cache-Control", "no-store" if _private(response) else "no-cache")
        return response


def _private(response: Response) -> bool:
    from flask_login import current_user

    return bool(getattr(current_user, "is_authenticated", False))
