"""Jinja globals and filters shared by every page."""

from __future__ import annotations

import zoneinfo
from datetime import datetime

from flask import Flask, current_app
from flask_login import current_user
from markupsafe import Markup, escape

from portal import permissions


def viewer_timezone() -> str:
    tz = getattr(current_user, "timezone", None) if getattr(current_user, "is_authenticated", False) else None
    return tz or "UTC"


def _zone(name: str) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo("UTC")


def format_datetime(value: datetime | None, tz: str | None = None, with_zone: bool = True) -> str:
    """`23 Nov 2026, 14:05 (Europe/Paris)` in the viewer's time zone (or `tz`)."""
    if value is None:
        return ""
    zone_name = tz or viewer_timezone()
    local = value.astimezone(_zone(zone_name))
    text = f"{local.day} {local:%b %Y, %H:%M}"
    return f"{text} ({zone_name})" if with_zone else text


def format_date(value: datetime | None, tz: str | None = None) -> str:
    if value is None:
        return ""
    local = value.astimezone(_zone(tz or viewer_timezone()))
    return f"{local.day} {local:%B %Y}"


def time_tag(value: datetime | None, tz: str | None = None) -> Markup:
    """A <time> element: machine-readable UTC, human-readable local time."""
    if value is None:
        return Markup("")
    return Markup('<time datetime="{}">{}</time>').format(value.isoformat(), escape(format_datetime(value, tz)))


def absolute_url(endpoint: str, **values) -> str:
    """SITE_URL + the endpoint's path: for links in emails, which have no request to be relative to."""
    adapter = current_app.url_map.bind("", script_name=current_app.config.get("APPLICATION_ROOT") or "/")
    return current_app.config["SITE_URL"] + adapter.build(endpoint, values, force_external=False)


def register_templating(app: Flask) -> None:
    app.jinja_env.globals.update(permissions.TEMPLATE_PERMISSIONS)
    app.jinja_env.globals["absolute_url"] = absolute_url
    app.jinja_env.globals["config_value"] = lambda key: current_app.config.get(key)
    app.jinja_env.filters["datetime"] = format_datetime
    app.jinja_env.filters["date"] = format_date
    app.jinja_env.filters["time_tag"] = time_tag

    @app.context_processor
    def site_context():
        return {"site_name": current_app.config["SITE_NAME"]}
