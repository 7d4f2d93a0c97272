"""Browser fixtures: the system's Chromium driven by Playwright, and a watch on what goes wrong in a page.

A pytest plugin (listed in tests/conftest.py's `pytest_plugins`). Fixtures:

- `page`: a page in a fresh browser context (its `browser_context`); with `live_server` in the test, relative
  URLs (`page.goto("/signup")`) go to it. Without it, use `page.set_content(html)`;
- `new_page()`: another page in another fresh context (a second person, or the same one on another device);
- `browser_pages`: what the two above come from; `browser_pages.screenshot(page, "name")` saves a PNG.

Every page is watched. The test fails at teardown when a page had an uncaught script error (`pageerror`),
logged a console error, or could not load a stylesheet, script, image or font (status >= 400 or a failed
request). One console error is expected and ignored: "Failed to load resource: the server responded with a
status of 4xx", which Chromium logs for a main document answered with 4xx (a form re-rendered with 422, a
suspended sign-in's 403); broken assets are caught from their responses instead.

Screenshots go to test-artifacts/e2e/<test name>/: one per page when a test fails (the report says where),
one at the end of every test that uses `live_server` (the journeys), and any a test takes itself.

Chromium is never downloaded: CHROMIUM_PATH or /usr/bin/chromium. Without it the tests that need a page are
skipped with the way to install it, except under CI (CI=true), where they fail.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page

BASE_DIR = Path(__file__).resolve().parent.parent
ARTIFACTS_DIR = BASE_DIR / "test-artifacts" / "e2e"
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--no-first-run", "--disable-sync", "--disable-quic",
]
ASSET_TYPES = frozenset({"stylesheet", "script", "image", "font"})
DOCUMENT_4XX = re.compile(r"^Failed to load resource: the server responded with a status of 4\d\d\b")
TIMEOUT_MS = 10_000
NO_CHROMIUM = "Chromium not installed: apt-get install chromium chromium-driver, or set CHROMIUM_PATH"


def chromium_path() -> str | None:
    """The system Chromium to drive (CHROMIUM_PATH, else /usr/bin/chromium), or None when it isn't there."""
    return shutil.which(os.environ.get("CHROMIUM_PATH") or "/usr/bin/chromium")


def pytest_collection_modifyitems(config, items) -> None:
    """Without Chromium, skip the browser tests before their fixtures start anything (a live server)."""
    if chromium_path() is None and not IN_CI:
        for item in items:
            if "chromium_browser" in getattr(item, "fixturenames", ()):
                item.add_marker(pytest.mark.skip(reason=NO_CHROMIUM))


@pytest.fixture(scope="session")
def chromium_browser(tmp_path_factory) -> Browser:
    """One headless Chromium per test worker, with a fresh profile; each test opens its own contexts in it."""
    path = chromium_path()
    if path is None:
        if IN_CI:
            pytest.fail(f"{NO_CHROMIUM} (CI=true: browser tests must run)", pytrace=False)
        pytest.skip(NO_CHROMIUM)
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    try:
        # A fresh user data dir can only be given through a persistent context (Playwright refuses
        # --user-data-dir in launch()); tests use new, isolated contexts of the same browser.
        profile = playwright.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")), executable_path=path, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield profile.browser
        finally:
            profile.close()
    finally:
        playwright.stop()


def _safe_name(name: str) -> str:
    return re.sub(r"[^\w.-]+", "_", name).strip("_")


def artifacts_dir_for(node) -> Path:
    return ARTIFACTS_DIR / _safe_name(node.name)


class BrowserPages:
    """The contexts and pages a test opened, what went wrong in them, and their screenshots."""

    def __init__(self, browser: Browser, artifacts_dir: Path, base_url: str | None = None):
        self.browser = browser
        self.artifacts_dir = artifacts_dir
        self.base_url = base_url
        self.contexts: list[BrowserContext] = []
        self.problems: list[str] = []
        self.failure_shots: list[Path] = []  # taken when the test body failed
        self._shots = 0

    def new_context(self, **options) -> BrowserContext:
        if self.base_url:
            options.setdefault("base_url", self.base_url)
        context = self.browser.new_context(**options)
        context.set_default_timeout(TIMEOUT_MS)
        context.on("page", self._watch)
        self.contexts.append(context)
        return context

    def new_page(self, context: BrowserContext | None = None) -> Page:
        """A page in `context`, or in a fresh context of its own (nothing shared: cookies, storage)."""
        return (context or self.new_context()).new_page()

    @property
    def pages(self) -> list[Page]:
        return [page for context in self.contexts for page in context.pages if not page.is_closed()]

    def screenshot(self, page: Page, name: str) -> Path:
        self._shots += 1
        path = self.artifacts_dir / f"{self._shots:02d}-{_safe_name(name)}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(path), full_page=True)
        return path

    def screenshot_all(self, name: str) -> list[Path]:
        shots = []
        for number, page in enumerate(self.pages, start=1):
            try:
                shots.append(self.screenshot(page, name if len(self.pages) == 1 else f"{name}-page{number}"))
            except Exception as exc:  # a crashed page must not hide the test's own failure
                self.problems.append(f"could not take the {name} screenshot: {exc}")
        return shots

    def close(self) -> None:
        for context in self.contexts:
            context.close()
        self.contexts.clear()

    def _watch(self, page: Page) -> None:
        page.on("pageerror", lambda error: self.problems.append(f"uncaught script error on {page.url}: {error}"))
        page.on("console", self._on_console)
        page.on("response", self._on_response)
        page.on("requestfailed", self._on_request_failed)

    def _on_console(self, message) -> None:
        if message.type != "error" or DOCUMENT_4XX.match(message.text):
            return
        where = message.location.get("url") or "?"
        self.problems.append(f"console error ({where}): {message.text}")

    def _on_response(self, response) -> None:
        if response.request.resource_type in ASSET_TYPES and response.status >= 400:
            self.problems.append(f"{response.request.resource_type} {response.url} answered {response.status}")

    def _on_request_failed(self, request) -> None:
        # Chromium cancels (net::ERR_ABORTED) the pending loads of a page it navigates away from, as when a test
        # clicks a link before the page finished loading: no asset is broken. A missing asset answers 4xx/5xx
        # (see _on_response) and an unreachable one fails with another net:: error; both still count.
        if request.failure == "net::ERR_ABORTED":
            return
        if request.resource_type in ASSET_TYPES:
            self.problems.append(f"{request.resource_type} {request.url} failed: {request.failure}")


@pytest.fixture
def browser_pages(request, chromium_browser) -> BrowserPages:
    base_url = request.getfixturevalue("live_server").url if "live_server" in request.fixturenames else None
    pages = BrowserPages(chromium_browser, artifacts_dir_for(request.node), base_url)
    shutil.rmtree(pages.artifacts_dir, ignore_errors=True)  # no stale screenshots from an earlier run
    try:
        yield pages
        if "live_server" in request.fixturenames and not pages.failure_shots:
            pages.screenshot_all("end")
        if pages.problems:
            shots = pages.screenshot_all("problem")
            where = f"\nScreenshots: {shots[0].parent}" if shots else ""
            pytest.fail("The browser saw problems:\n- " + "\n- ".join(pages.problems) + where, pytrace=False)
    finally:
        pages.close()


@pytest.fixture
def browser_context(browser_pages) -> BrowserContext:
    return browser_pages.new_context()


@pytest.fixture
def page(browser_pages, browser_context) -> Page:
    return browser_pages.new_page(browser_context)


@pytest.fixture
def new_page(browser_pages):
    """Open a page in a fresh context: `other = new_page()`."""
    return browser_pages.new_page


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    # Right after a failing test body, while its pages are still open: screenshot them and say where.
    if report.failed and call.when == "call":
        pages = getattr(item, "funcargs", {}).get("browser_pages")
        if isinstance(pages, BrowserPages):
            shots = pages.failure_shots = pages.screenshot_all("failure")
            if shots:
                report.sections.append(("browser screenshots", f"{shots[0].parent}\n"))
                print(f"\nScreenshots of the failure: {shots[0].parent}")
    return report
