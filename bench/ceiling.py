"""The ceiling: the fastest a Flask page can be on this machine, under the same gunicorn shape as the portal.

One route renders a ~5 KB Jinja page (a table of 35 rows, each with a `url_for` link) from data in memory:
no database, no sessions, no extensions. bench/run divides every portal page's requests/s by this one's, measured
in the same repeat, so results compare across runs and machines. Serve it with `gunicorn ceiling:app`.
"""

from __future__ import annotations

from flask import Flask, render_template, url_for
from jinja2 import DictLoader

PAGE = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>{{ title }}</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body>
<nav><a href="{{ url_for('index') }}">Home</a> · <a href="{{ url_for('item', item_id=1) }}">First item</a></nav>
<main>
<h1>{{ title }}</h1>
<p>{{ rows|length }} rows, rendered from memory.</p>
<table class="table table-sm align-middle">
<thead><tr><th scope="col">Name</th><th scope="col">Email</th><th scope="col">Organisation</th>
<th scope="col">Joined</th></tr></thead>
<tbody>
{% for row in rows %}
<tr><td><a href="{{ url_for('item', item_id=row.id) }}">{{ row.name }}</a></td><td>{{ row.email }}</td>
<td>{{ row.org }}</td><td>{{ row.joined }}</td></tr>
{% endfor %}
</tbody>
</table>
</main>
</body>
</html>
"""

ROWS = [
    {"id": i, "name": f"Person Number {i}", "email": f"person.number{i}@example.com", "org": f"Organisation {i % 7}",
     "joined": f"{1 + i % 28} March 2026"}
    for i in range(1, 36)
]

app = Flask(__name__)
app.jinja_loader = DictLoader({"page.html": PAGE})


@app.route("/")
def index():
    return render_template("page.html", title="Ceiling", rows=ROWS)


@app.route("/items/<int:item_id>")
def item(item_id: int):
    return url_for("index")
