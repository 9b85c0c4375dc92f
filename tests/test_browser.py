"""The built site in a real browser (Debian chromium driven by Playwright), offline and
deterministic. Screenshots land in test-artifacts/ for a person to look at."""
import hashlib
import json
import re
from pathlib import Path
from urllib.parse import urljoin, urlparse

import pytest
from bs4 import BeautifulSoup

from conftest import REPO

pytestmark = pytest.mark.build

from browsing import CHROMIUM, CHROMIUM_ARGS, Traffic, served
ARTIFACTS = REPO / "test-artifacts"
CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture(scope="module")
def site(built_site):
    """The session's book on a loopback port, and its pages."""
    root = built_site["html"]
    pages = sorted(str(p.relative_to(root)) for p in root.rglob("*.html") if "_static" not in p.parts)
    with served(root) as base:
        yield {"base": base, "root": root, "pages": pages}


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), "Debian chromium is missing; scripts/test.sh installs it"
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


def open_page(browser, site, rel, width=1280, context=None, page=None):
    """Load a page (in `page`, which then goes on from where it was: one tab, one renderer
    process, as a reader moving through the site); return it with every outside request, failed
    request and console error of this visit. seen["done"]() ends the visit's watching."""
    if page is None:
        ctx = context or browser.new_context(viewport={"width": width, "height": 900})
        page = ctx.new_page()
    seen = {"outside": [], "failed": [], "errors": []}
    refresh = re.search(r'http-equiv="Refresh" content="0; url=([^"]+)"',
                        (site["root"] / rel.split("?")[0]).read_text(encoding="utf-8"), re.I)

    def failed(request):
        # a page that forwards at once may leave its icon request behind: aborted, not missing
        if not (refresh and request.failure == "net::ERR_ABORTED"):
            seen["failed"].append(f"{request.url} {request.failure}")

    watchers = {"request": lambda r: seen["outside"].append(r.url)
                if urlparse(r.url).hostname not in ("127.0.0.1", None) else None,
                "requestfailed": failed,
                "response": lambda r: seen["failed"].append(f"{r.status} {r.url}") if r.status >= 400 else None,
                "console": lambda m: seen["errors"].append(m.text) if m.type == "error" else None,
                # an uncaught error in a page's script is no console message: its own event
                "pageerror": lambda e: seen["errors"].append(f"uncaught: {e}")}
    for event, watcher in watchers.items():
        page.on(event, watcher)
    traffic = Traffic(page)
    seen["settle"] = traffic.settle  # waits until no request is in flight

    def done():
        traffic.close()
        for event, watcher in watchers.items():
            page.remove_listener(event, watcher)

    seen["done"] = done
    page.goto(f"{site['base']}/{rel}", wait_until="load")  # load waits for every image
    if refresh:  # the root page forwards to the book's front page
        page.wait_for_url("**/" + refresh.group(1).lstrip("./"))
        page.wait_for_load_state("load")
    return page, seen


@pytest.fixture(scope="module")
def visits(browser, site):
    """Every page visited once at desktop width: what it loaded, showed and what axe found."""
    from axe_playwright_python.sync_playwright import Axe

    axe, ctx, reports = Axe(), browser.new_context(viewport={"width": 1280, "height": 900}), {}
    # one tab through the site (a new tab each is a new renderer: ~0.9 s a page); as for a reader,
    # what one page loaded is cached for the next, so a broken shared file is reported on the
    # first page that asks for it (and fails the test there)
    page = ctx.new_page()
    for rel in site["pages"]:
        page, seen = open_page(browser, site, rel, page=page)
        # a page without <link rel=icon> makes browsers fetch /favicon.ico, a 404 here
        seen["favicon"] = page.evaluate("""(() => { const l = document.querySelector('link[rel~=icon]');
            return l ? fetch(l.href).then(r => r.status) : 0; })()""")
        for img in page.query_selector_all("figure img, img[loading=lazy]"):  # lazy: load them
            img.scroll_into_view_if_needed()
        seen["settle"]()
        # every icon drawn (the site ships only the icons it uses, as inline SVG): none left as a
        # font glyph, which would show as an empty box
        seen["undrawn_icons"] = page.evaluate("""[...document.querySelectorAll('i[class*="fa-"], span[class*="fa-"]')]
            .map(e => e.className)""")
        seen["images"] = page.evaluate("""[...document.querySelectorAll('figure img')].map(i =>
            ({src: i.src, w: i.naturalWidth, alt: i.alt}))""")
        # preload off: axe would otherwise fetch @import-ed stylesheets from wrong URLs
        result = axe.run(page, options={"resultTypes": ["violations"], "preload": False})
        seen["axe"] = [(v["id"], v["impact"], v["help"]) for v in result.response["violations"]]
        # let late requests (the search page loads its index after "load") finish, then keep a
        # copy: closing the page aborts whatever is still in flight, which is not the site's fault
        seen.pop("settle")()
        seen.pop("done")()
        reports[rel] = {k: (list(v) if isinstance(v, list) else v) for k, v in seen.items()}
    ctx.close()
    return reports


def test_every_page_loads_cleanly_with_its_figures(visits):
    figures = 0
    for rel, seen in visits.items():
        assert seen["outside"] == [], f"{rel} asks outside hosts: {seen['outside']}"
        assert seen["failed"] == [], f"{rel}: failed requests {seen['failed']}"
        assert seen["errors"] == [], f"{rel}: console errors {seen['errors']}"
        assert seen["favicon"] == 200, f"{rel}: no icon, or it answers {seen['favicon']}"
        assert seen["undrawn_icons"] == [], f"{rel}: icons left undrawn: {seen['undrawn_icons']}"
        for img in seen["images"]:
            assert img["w"] > 0, f"{rel}: {img['src']} did not decode"
            assert CJK.search(img["alt"]), f"{rel}: {img['src']} has no Chinese alt text"
            figures += 1
    assert figures > 0


def test_accessibility_has_no_serious_violations(visits):
    for rel, seen in visits.items():
        bad = [v for v in seen["axe"] if v[1] in ("serious", "critical")]
        assert bad == [], f"{rel}: {bad}"


def test_every_internal_link_and_anchor_resolves(site):
    root = site["root"]
    ids = {}
    checked = 0
    for rel in site["pages"]:
        soup = BeautifulSoup((root / rel).read_text(encoding="utf-8"), "html.parser")
        ids[rel] = {el["id"] for el in soup.select("[id]")}
    for rel in site["pages"]:
        soup = BeautifulSoup((root / rel).read_text(encoding="utf-8"), "html.parser")
        for a in soup.select("a[href]"):
            href = a["href"]
            if re.match(r"^(https?:|mailto:|javascript:)", href):
                continue
            target = urlparse(urljoin(f"http://x/{rel}", href))
            path = target.path.lstrip("/") or "index.html"
            assert (root / path).exists(), f"{rel}: link to missing {href}"
            if target.fragment and path.endswith(".html"):
                assert target.fragment in ids.get(path, set()), f"{rel}: anchor {href} not found"
            checked += 1
    assert checked > 100


@pytest.mark.parametrize("width", [1280, 390])
def test_text_column_fits_and_figures_scale(browser, site, width):
    ARTIFACTS.mkdir(exist_ok=True)
    page = browser.new_context(viewport={"width": width, "height": 900}).new_page()
    for rel in ["book/index.html", "book/review/risk.html", "book/newyear/nanjing.html"]:
        page, seen = open_page(browser, site, rel, page=page)
        seen["done"]()
        sizes = page.evaluate("""() => {
            const main = document.querySelector('main') || document.body;
            const figs = [...document.querySelectorAll('figure img')].map(i => i.getBoundingClientRect().right);
            return {doc: document.documentElement.scrollWidth, view: window.innerWidth,
                    main: main.scrollWidth, mainBox: main.clientWidth, figRight: Math.max(0, ...figs)};
        }""")
        name = rel.replace("/", "-").removesuffix(".html")
        page.screenshot(path=str(ARTIFACTS / f"{name}-{width}.png"), full_page=True)
        assert sizes["doc"] <= sizes["view"], f"{rel} scrolls sideways at {width}px: {sizes}"
        assert sizes["main"] <= sizes["mainBox"] + 1, f"{rel}: text column overflows at {width}px"
        assert sizes["figRight"] <= sizes["view"], f"{rel}: a figure is wider than the screen"
    page.context.close()


def test_chinese_search_finds_the_chapter(browser, site):
    page, seen = open_page(browser, site, "search.html?q=%E5%8A%9D%E8%BF%94")  # 劝返
    page.wait_for_selector("#search-results li a", timeout=15000)
    links = page.eval_on_selector_all("#search-results li a", "els => els.map(e => e.href)")
    page.context.close()
    assert any(l.split("#")[0].endswith("book/review/risk.html") for l in links), links
    assert seen["errors"] == []


@pytest.mark.guarantee
def test_build_runs_with_the_network_cut(built_site):
    if not built_site["offline"]:
        pytest.skip("not root, or no unshare/ip: the network cannot be cut here, so the build ran online")
    assert "build succeeded" in built_site["log"]


def _digests(root: Path) -> dict:
    """Every file of a site but the execution record (when and how long each notebook ran)."""
    from zzreview.site.sphinxext import EXECUTION_RECORD

    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file() and str(p.relative_to(root)) != EXECUTION_RECORD}


def test_two_clean_builds_are_identical(built_site, fresh_build):
    """The session's build and the README's `--fresh` one (another folder and HOME): the same bytes."""
    first, second = _digests(built_site["html"]), _digests(fresh_build["html"])
    assert first.keys() == second.keys()
    differ = [k for k in first if first[k] != second[k]]
    assert differ == [], f"differ between two builds: {differ}"
    assert any(k.endswith(".svg") for k in first) and any(k.endswith(".html") for k in first)
    assert "zzreview-2021.pdf" in first  # the PDF edition, same bytes too (SOURCE_DATE_EPOCH)
    assert built_site["pdf"].read_bytes() == fresh_build["pdf"].read_bytes()
    records = [json.loads((b["html"] / "executions.json").read_text(encoding="utf-8")) for b in (built_site, fresh_build)]
    for record in records:  # the one file left out above: a clean build ran every notebook, each succeeded
        assert {c["status"] for c in record["chapters"]} == {"ran"} and all(c["succeeded"] for c in record["chapters"])
    assert [c["notebook"] for c in records[0]["chapters"]] == [c["notebook"] for c in records[1]["chapters"]]
