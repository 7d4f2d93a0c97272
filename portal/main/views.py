from __future__ import annotations

from flask import render_template

from portal.main import bp


@bp.route("/")
def index():
    return render_template("main/index.html")
