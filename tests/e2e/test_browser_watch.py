"""The page watch of tests/browser.py: what fails a browser test, and what doesn't."""

from __future__ import annotations

import pytest

from tests.browser import BrowserPages

ORIGIN = "http://127.0.0.1:9"  # never reached: every request to it is answered by the routes below
PAGE = "<!doctype html><html><head><title>t</title>{head}</head><body><h1>Hello</h1>{body}</body></html>"


@pytest.fixture
def watch(chromium_browser, tmp_path):
    pages = BrowserPages(chromium_browser, tmp_path / "shots")
    yield pages
    pages.close()


def serve(watch, status: int, head: str = "", body: str = "", assets: dict[str, tuple[int, str]] | None = None):
    """Open ORIGIN/ answered with `status`; assets maps a path to (status, content type)."""
    page = watch.new_page()

    def answer(route):
        path = route.request.url.removeprefix(ORIGIN)
        if path == "/":
            route.fulfill(status=status, content_type="text/html", body=PAGE.format(head=head, body=body))
        elif assets and path in assets:
            code, content_type = assets[path]
            route.fulfill(status=code, content_type=content_type, body="" if code >= 400 else "/* ok */")
        else:
            route.abort()

    page.route(f"{ORIGIN}/**", answer)
    page.goto(f"{ORIGIN}/")
    page.wait_for_load_state("load")
    return page


def test_a_form_answered_with_422_or_403_is_not_a_problem(watch):
    serve(watch, 422, head='<link rel="stylesheet" href="/ok.css">', assets={"/ok.css": (200, "text/css")})
    serve(watch, 403)
    assert watch.problems == []


def test_a_missing_stylesheet_or_script_is(watch):
    serve(watch, 200, head='<link rel="stylesheet" href="/gone.css"><script src="/gone.js"></script>',
          assets={"/gone.css": (404, "text/css"), "/gone.js": (500, "text/javascript")})
    assert any("stylesheet" in p and "404" in p for p in watch.problems), watch.problems
    assert any("script" in p and "500" in p for p in watch.problems), watch.problems


def test_an_image_that_fails_to_load_is(watch):
    serve(watch, 200, body='<img src="/broken.png" alt="">')  # aborted by the route: requestfailed
    assert any(p.startswith("image") and "failed" in p for p in watch.problems), watch.problems


def test_script_errors_and_console_errors_are(watch):
    page = watch.new_page()
    page.set_content("<p>x</p>")
    page.evaluate("console.error('something broke')")
    page.evaluate("setTimeout(() => { throw new Error('boom') }, 0)")
    page.wait_for_timeout(100)
    assert any("something broke" in p for p in watch.problems), watch.problems
    assert any("boom" in p for p in watch.problems), watch.problems


def test_a_server_error_page_is(watch):
    serve(watch, 500)
    assert any("status of 500" in p for p in watch.problems), watch.problems


def test_loads_cancelled_by_navigating_away_are_not_problems(watch):
    page = serve(watch, 200, body="<p>hi</p>")
    failed = []
    page.on("requestfailed", lambda request: failed.append(request.failure))
    page.route(ORIGIN + "/slow.css", lambda route: None)  # never answered: pending until the page goes away
    page.set_content('<link rel="stylesheet" href="' + ORIGIN + '/slow.css"><p>loading</p>', wait_until="commit")
    page.goto(ORIGIN + "/")
    assert failed == ["net::ERR_ABORTED"]  # the stylesheet's load was cancelled by the navigation
    assert watch.problems == [], watch.problems
