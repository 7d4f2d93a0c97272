"""WSGI entry point: `gunicorn wsgi:app`, and the app `flask` finds (FLASK_APP=wsgi)."""

from portal import create_app

app = create_app()
