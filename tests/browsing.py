"""Serving a built site and weighing its pages in a real browser: shared by the tests and the
benchmark (benchmarks/bench.py prints the same figures with the budget)."""
from __future__ import annotations

import contextlib
import functools
import http.server
import socketserver
import threading
import time
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--no-first-run"]
# A chapter opened first, and as the second page of a visit. A chapter opens with its charts, so a
# second page brings its first two phone drawings at once (SVGs of 100–140 KB: their Chinese glyphs
# are paths); the drawings further down load as they are scrolled to.
FIRST_VIEW_KB, SECOND_VIEW_KB = 700, 320


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


class Traffic:
    """A page's requests in flight, watched from before it loads: settle() waits until none has
    been in flight for a moment, as Playwright's "networkidle" does, but with 150 ms of quiet
    instead of its fixed 500 ms (a request the site makes late, the search page's index or a lazy
    image scrolled into view, starts well within that)."""

    def __init__(self, page):
        self.page, self.inflight, self.last = page, set(), time.monotonic()
        page.on("request", self._started)
        page.on("requestfinished", self._ended)
        page.on("requestfailed", self._ended)

    def _started(self, request):
        self.inflight.add(request)
        self.last = time.monotonic()

    def _ended(self, request):
        self.inflight.discard(request)
        self.last = time.monotonic()

    def close(self) -> None:
        """Stop watching (the page goes on to another visit)."""
        self.page.remove_listener("request", self._started)
        self.page.remove_listener("requestfinished", self._ended)
        self.page.remove_listener("requestfailed", self._ended)

    def settle(self, quiet_s: float = 0.15, timeout_s: float = 30) -> None:
        # Playwright delivers events only inside its calls: the quiet is counted from this call at
        # the earliest, and the page is always asked at least once (a request started by the last
        # action, such as a scroll, may not have been reported yet)
        begun = time.monotonic()
        deadline = begun + timeout_s
        while True:
            self.page.wait_for_timeout(25)
            if not self.inflight and time.monotonic() - max(self.last, begun) >= quiet_s:
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.page.url}: requests still in flight: {[r.url for r in self.inflight]}")


@contextlib.contextmanager
def served(root: Path):
    """The site on a free loopback port: yields its base URL."""
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(root)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


WEIGHED_WIDTH = 390  # page weights are a phone's


def weigh(page, url: str) -> int:
    """Load url in page and wait until it settles: the bytes of every resource that crossed the
    wire (the test server does not compress, so these are the uncompressed sizes; a cache hit is 0)."""
    sizes = []

    def count(response):
        try:
            sizes.append(max(0, response.request.sizes()["responseBodySize"]))
        except Exception:  # noqa: BLE001 - a request that ended without a response body
            sizes.append(0)

    page.on("response", count)
    traffic = Traffic(page)
    try:
        page.goto(url, wait_until="load")
        traffic.settle()
    finally:  # the page may go on to another visit
        traffic.close()
        page.remove_listener("response", count)
    return sum(sizes)


def first_view_weigher(page):
    """weigh() as a first visit would be (nothing cached), in a page that has shown others: the
    browser's cache is emptied and turned off for the load. The same bytes as a new browser
    context for each page (checked on all 19), without a new renderer process for each (~0.9 s
    of CPU a page)."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")

    def first_view(url: str) -> int:
        cdp.send("Network.clearBrowserCache")
        cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
        try:
            return weigh(page, url)
        finally:
            cdp.send("Network.setCacheDisabled", {"cacheDisabled": False})

    return first_view


def second_views(browser, base: str, rels: list[str], width: int = WEIGHED_WIDTH) -> dict[str, int]:
    """Bytes each page adds when it is the next page of one visit that started on a page that is
    no chapter (the theme's files already cached)."""
    ctx = browser.new_context(viewport={"width": width, "height": 900})
    page = ctx.new_page()
    weigh(page, f"{base}/search.html")
    second = {rel: weigh(page, f"{base}/{rel}") for rel in rels}
    ctx.close()
    return second


def page_weights(browser, base: str, rels: list[str], width: int = WEIGHED_WIDTH) -> list[tuple[str, int, int]]:
    """(page, first-view bytes, bytes added as the second page of a visit). First views each
    start with an empty cache."""
    ctx = browser.new_context(viewport={"width": width, "height": 900})
    first_view = first_view_weigher(ctx.new_page())
    first = {rel: first_view(f"{base}/{rel}") for rel in rels}
    ctx.close()
    second = second_views(browser, base, rels, width)
    return [(rel, first[rel], second[rel]) for rel in rels]


LOADED = """async () => { for (const i of document.images) i.loading = 'eager';
  await Promise.all([...document.images].map(i => i.decode().catch(() => 0)));
  const f = document.querySelector('article figure');
  return [document.documentElement.scrollHeight, f ? f.getBoundingClientRect().top + scrollY : null]; }"""


def page_lengths(browser, base: str, rels: list[str], width: int = 390, height: int = 844) -> dict:
    """Each page's length and its first chart's top (None: no chart), in CSS px, with every image
    loaded, at a phone's size: sizes the benchmark reports."""
    ctx = browser.new_context(viewport={"width": width, "height": height})
    page = ctx.new_page()
    out = {}
    for rel in rels:
        page.goto(f"{base}/{rel}", wait_until="load")
        length, top = page.evaluate(LOADED)
        out[rel] = (round(length), None if top is None else round(top))
    ctx.close()
    return out
