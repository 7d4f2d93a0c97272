"""Real concurrent requests against a live server: one HTTP client per thread, released together.

    results = run_together(50, prepare=lambda client: client.csrf_token("/signup"),
                           act=lambda client, token: client.post("/signup", {...}),
                           base_url=server.url)

Each thread makes its own LiveClient (its own cookies, so its own session; `client.index` is the thread's
number), runs `prepare` on its own, waits at a barrier until every thread is ready, then runs `act`. The
results come back in thread order.
"""

from __future__ import annotations

import http.cookiejar
import re
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from email.message import Message
from typing import Any

CSRF_INPUT = re.compile(r"<input\b[^>]*\bname=\"csrf_token\"[^>]*>")
VALUE = re.compile(r"\bvalue=\"([^\"]*)\"")


@dataclass
class Response:
    status: int
    headers: Message
    text: str

    @property
    def location(self) -> str | None:
        return self.headers.get("Location")


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None  # urllib then hands back the 3xx itself (as an HTTPError, read like any answer)


class LiveClient:
    """A minimal browser for a live server: a cookie jar, no redirects followed, no proxies."""

    def __init__(self, base_url: str, timeout: float = 60, index: int = 0):
        if not base_url.startswith(("http://", "https://")):
            raise ValueError(f"not an http(s) URL: {base_url!r}")
        self.base_url = base_url.rstrip("/")
        self.index = index  # which of run_together's threads this client belongs to
        self.timeout = timeout
        self.cookies = http.cookiejar.CookieJar()
        self._opener = urllib.request.build_opener(
            urllib.request.ProxyHandler({}), urllib.request.HTTPCookieProcessor(self.cookies), _NoRedirects()
        )

    def get(self, path: str) -> Response:
        return self._open(urllib.request.Request(self.base_url + path, method="GET"))  # noqa: S310 (http only, checked in __init__)

    def post(self, path: str, data: dict[str, str]) -> Response:
        body = urllib.parse.urlencode(data).encode()
        request = urllib.request.Request(  # noqa: S310 (http only, checked in __init__)
            self.base_url + path, data=body, method="POST",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        return self._open(request)

    def csrf_token(self, path: str) -> str:
        """GET `path` (which sets this client's session cookie) and read the form's CSRF token from it."""
        response = self.get(path)
        tag = CSRF_INPUT.search(response.text)
        value = VALUE.search(tag.group(0)) if tag else None
        assert value, f"no csrf_token on {path} (status {response.status})"
        return value.group(1)

    def _open(self, request: urllib.request.Request) -> Response:
        request.add_header("Accept", "text/html")
        try:
            with self._opener.open(request, timeout=self.timeout) as answer:
                return Response(answer.status, answer.headers, answer.read().decode("utf-8", "replace"))
        except urllib.error.HTTPError as error:  # 3xx (not followed), 4xx, 5xx: an answer all the same
            with error:
                return Response(error.code, error.headers, error.read().decode("utf-8", "replace"))


def run_together(
    n: int,
    act: Callable[[LiveClient, Any], Any],
    base_url: str,
    prepare: Callable[[LiveClient], Any] | None = None,
    timeout: float = 60,
) -> list[Any]:
    """Run `act(client, prepared)` in `n` threads at once, after each ran `prepare(client)`; return the results.

    An exception in any thread (preparing or acting) is raised here once all threads have ended.
    """
    barrier = threading.Barrier(n)
    results: list[Any] = [None] * n
    errors: list[BaseException] = []

    def thread_main(index: int) -> None:
        try:
            client = LiveClient(base_url, timeout=timeout, index=index)
            prepared = prepare(client) if prepare else None
            barrier.wait(timeout)
            results[index] = act(client, prepared)
        except BaseException as exc:
            errors.append(exc)
            barrier.abort()  # don't leave the others waiting for a thread that will never arrive

    threads = [threading.Thread(target=thread_main, args=(i,), name=f"live-client-{i}") for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout * 3)
    if any(thread.is_alive() for thread in threads):
        raise AssertionError(f"some of the {n} requests did not finish in {timeout * 3:.0f} s")
    failures = [error for error in errors if not isinstance(error, threading.BrokenBarrierError)] or errors
    if failures:
        raise AssertionError(f"{len(failures)} of {n} threads failed; the first: {failures[0]!r}") from failures[0]
    return results


def statuses(responses: list[Response]) -> Counter:
    """How many responses had each status, e.g. Counter({422: 49, 302: 1})."""
    return Counter(response.status for response in responses)
