"""Readable on a phone (and on a desktop): charts drawn for the small screen and chosen by the
browser, chart data as a table, tables that reflow, pages that load light, valid HTML. Measured
in Debian chromium at 320, 360, 390 and 1280 px on every page."""
import json
import subprocess

import pytest

from conftest import REPO
from test_browser import ARTIFACTS, browser, open_page, site  # noqa: F401 (fixtures)
from browsing import FIRST_VIEW_KB, SECOND_VIEW_KB, WEIGHED_WIDTH, first_view_weigher, second_views  # the budget: the benchmark prints it too
from zzreview.site.screen import NARROW_MAX_PX

pytestmark = pytest.mark.build

LABEL_PX, OTHER_PX = 13, 11  # the smallest category label or value, and any other chart text


def chapters(site):
    return [p for p in site["pages"] if p.startswith("book/")]


TABLE_PROBE = """() => {
  // Tables as a reader reads them: a fold opened (a closed one's content is not laid out anew on a
  // resize, so what it measures depends on timing)
  for (const d of document.querySelectorAll('article details')) d.open = true;
  const narrow = [], wide = [];
  for (const table of document.querySelectorAll('article table')) {
    const row = table.querySelector('tbody tr');
    if (!row) continue;
    for (const cell of row.children) {
      if (getComputedStyle(cell).display !== 'table-cell') continue;  // a card: one value a line
      const em = parseFloat(getComputedStyle(cell).fontSize);
      if (cell.getBoundingClientRect().width < 3 * em) narrow.push(cell.textContent.trim().slice(0, 20));
    }
  }
  for (const code of document.querySelectorAll('article td code')) {  // ids break only after a hyphen
    const text = code.textContent, node = code.querySelector('span') || code;
    const range = document.createRange(), lines = [];
    let walker = document.createTreeWalker(code, NodeFilter.SHOW_TEXT), t, offset = 0;
    while ((t = walker.nextNode())) {
      for (let i = 0; i < t.length; i++) {
        range.setStart(t, i); range.setEnd(t, i + 1);
        const r = range.getBoundingClientRect();
        if (r.width === 0) continue;
        if (!lines.length || Math.abs(r.top - lines[lines.length - 1].top) > 2) lines.push({top: r.top, text: ''});
        lines[lines.length - 1].text += t.data[i];
      }
    }
    if (/^[a-z][a-z0-9]*(-[a-z0-9]+)+$/.test(text.trim()))  // an id (a sha256 may break anywhere)
      for (const l of lines.slice(0, -1)) if (!l.text.trim().endsWith('-')) wide.push(text.trim());
  }
  return {narrow, midword: wide, scroll: document.documentElement.scrollWidth, view: innerWidth};
}"""


WIDTHS = [320, 360, 390, 1280]
CHART_WIDTHS = (390, 1280)  # a phone, a desktop: the two renderings a browser chooses between
TABLE_WIDTH = 390


def _two_frames(page) -> None:
    """Resize handlers and the <picture> source chosen for the width have run."""
    page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")


def _charts_as_shown(page) -> list[dict]:
    """Each chart image: the file the browser chose and the width it is drawn at."""
    shown = []
    for img in page.query_selector_all("figure img"):
        img.scroll_into_view_if_needed()
        page.wait_for_function("i => i.complete && i.naturalWidth > 0", arg=img)
        src, width = img.evaluate("i => [i.currentSrc, i.getBoundingClientRect().width]")
        shown.append({"src": src, "width": width})
    return shown


def _data_tables_opened(page) -> list[dict]:
    """Each chart's data toggle, opened from the keyboard: its state before and after, and the rows."""
    found = []
    for fig in page.query_selector_all("figure[id^=fig-]"):
        fig_id = fig.get_attribute("id")
        box = page.query_selector(f"#{fig_id} ~ .zz-chart-data-box")
        if not box:
            found.append({"id": fig_id, "box": False})
            continue
        button, table = box.query_selector("button"), box.query_selector("table")
        before = {"expanded": button.get_attribute("aria-expanded"), "label": button.get_attribute("aria-label"),
                  "visible": table.is_visible()}
        button.focus()
        page.keyboard.press("Enter")
        for _ in range(100):  # the page's script answers the key: read the state once it has (≤ 5 s)
            if button.get_attribute("aria-expanded") == "true" and table.is_visible():
                break
            page.wait_for_timeout(50)
        found.append({"id": fig_id, "box": True, "before": before,
                      "after": {"expanded": button.get_attribute("aria-expanded"), "visible": table.is_visible()},
                      "rows": [[c.inner_text().strip() for c in row.query_selector_all("td")]
                               for row in box.query_selector_all("tbody tr")]})
    return found


@pytest.fixture(scope="module")
def layouts(browser, site):
    """Every page loaded once, with an empty cache at a phone's width (a chapter's first view is
    weighed), then laid out at each width in turn (the viewport resized, as when a phone turns or
    a window narrows): what TABLE_PROBE found at each width, the charts as shown at a phone's and a
    desktop's width, and (last, at a phone's width) each chart's data table opened."""
    found = {width: {} for width in WIDTHS}
    charts = {width: {} for width in CHART_WIDTHS}
    tables, first_view = {}, {}
    ctx = browser.new_context(viewport={"width": WEIGHED_WIDTH, "height": 900})
    page = ctx.new_page()  # one tab through the site (a new tab each is a new renderer)
    uncaught = []  # a script's error while loading or on a resize, at any width
    page.on("pageerror", lambda error: uncaught.append(f"{page.url}: {error}"))
    weigh_first_view = first_view_weigher(page)
    for rel in site["pages"]:
        page.set_viewport_size({"width": WEIGHED_WIDTH, "height": 900})
        if rel in chapters(site):
            first_view[rel] = weigh_first_view(f"{site['base']}/{rel}")
        else:
            page, seen = open_page(browser, site, rel, page=page)
            seen["done"]()
        for width in WIDTHS:
            page.set_viewport_size({"width": width, "height": 900})
            _two_frames(page)
            found[width][rel] = page.evaluate(TABLE_PROBE)
            if width in CHART_WIDTHS and rel in chapters(site):
                charts[width][rel] = _charts_as_shown(page)
        if rel in chapters(site):
            page.set_viewport_size({"width": TABLE_WIDTH, "height": 900})
            _two_frames(page)
            tables[rel] = _data_tables_opened(page)
    ctx.close()
    return {"probe": found, "charts": charts, "tables": tables, "first_view": first_view, "uncaught": uncaught}


def test_no_uncaught_error_at_any_width(layouts):
    assert layouts["uncaught"] == []


@pytest.mark.parametrize("width", CHART_WIDTHS)
def test_chart_text_is_readable(layouts, site, width):
    """Drawn size × rendered width ÷ drawn width, for the rendering the browser chose."""
    smallest, seen = {"label": 99.0, "other": 99.0}, 0
    for rel, shown in layouts["charts"][width].items():
        for img in shown:
            fig_id = img["src"].rsplit("/", 1)[1].split(".")[0]
            rendering = "narrow" if ".narrow." in img["src"] else "print"
            assert rendering == ("narrow" if width <= NARROW_MAX_PX else "print"), (rel, img["src"])
            sizes = json.loads((site["root"] / "figures" / f"{fig_id}.json").read_text(encoding="utf-8"))["renderings"][rendering]
            scale = img["width"] / sizes["width_pt"]
            label, other = sizes["min_label_pt"] * scale, sizes["min_other_pt"] * scale
            assert label >= LABEL_PX, f"{rel} {fig_id} at {width}px: labels {label:.1f} px"
            assert other >= OTHER_PX, f"{rel} {fig_id} at {width}px: other text {other:.1f} px"
            smallest = {"label": min(smallest["label"], label), "other": min(smallest["other"], other)}
            seen += 1
    assert seen >= 9
    print(f"\nsmallest chart text at {width}px: labels {smallest['label']:.1f} px, other {smallest['other']:.1f} px")


def test_every_chart_has_its_data_as_a_table(layouts, site):
    """Under each chart a toggle (a button: keyboard and screen readers) opens the data drawn,
    row for row the figure's CSV download."""
    import csv
    import io

    checked = 0
    for rel, figures in layouts["tables"].items():
        for fig in figures:
            assert fig["box"], f"{rel}: no data table under {fig['id']}"
            assert fig["before"]["expanded"] == "false" and fig["before"]["label"], (rel, fig["id"])
            assert not fig["before"]["visible"], f"{rel} {fig['id']}: the table shows before it is asked for"
            assert fig["after"] == {"expanded": "true", "visible": True}, f"{rel} {fig['id']}: Enter did not open it"
            rows = list(csv.DictReader(io.StringIO((site["root"] / "figures" / f"{fig['id']}.csv").read_text(encoding="utf-8-sig"))))
            shown = fig["rows"]
            assert [s[0] for s in shown] == [r["label"] for r in rows]
            for s, r in zip(shown, rows):
                assert s[2] == r["unit"] and (r["quote"] in s[3] if r["quote"] else True)
                if r["qualifier"] == "more_than":
                    assert s[1].startswith("≥"), s
            checked += 1
    assert checked >= 9


@pytest.mark.parametrize("width", WIDTHS)
def test_every_page_fits_and_every_table_reads(layouts, site, width):
    for rel in site["pages"]:
        found = layouts["probe"][width][rel]
        assert found["view"] == width, f"{rel}: laid out at {found['view']}px, not {width}px"
        assert found["scroll"] <= found["view"], f"{rel} scrolls sideways at {width}px ({found['scroll']}px)"
        if width in (390, 1280):
            assert found["narrow"] == [], f"{rel} at {width}px: columns under three characters: {found['narrow']}"
            assert found["midword"] == [], f"{rel} at {width}px: ids broken inside a word: {found['midword']}"


def test_pages_are_light(layouts, browser, site):
    """Each chapter within the budget: as the first page of a visit (weighed as the layouts were
    loaded, with an empty cache) and as the next page of one."""
    rels = chapters(site)
    second = second_views(browser, site["base"], rels)
    heaviest = ("", 0)
    for rel in rels:
        first = layouts["first_view"][rel]
        assert first <= FIRST_VIEW_KB * 1024, f"{rel}: first view {first / 1024:.0f} KB"
        assert second[rel] <= SECOND_VIEW_KB * 1024, f"{rel}: as the second page of a visit {second[rel] / 1024:.0f} KB"
        heaviest = max(heaviest, (rel, first), key=lambda t: t[1])
    print(f"\nheaviest first view: {heaviest[0]} {heaviest[1] / 1024:.0f} KB")


def test_figure_pages_are_light(browser, site):
    """A figure's own page opened first, from a link shared to a phone: within a chapter's budget."""
    ctx = browser.new_context(viewport={"width": WEIGHED_WIDTH, "height": 900})
    first_view = first_view_weigher(ctx.new_page())
    weights = {rel: first_view(f"{site['base']}/{rel}") for rel in site["pages"]
               if rel.startswith("figures/") and not rel.endswith(".embed.html")}
    ctx.close()
    assert len(weights) >= 9
    heaviest = max(weights.items(), key=lambda kv: kv[1])
    assert heaviest[1] <= FIRST_VIEW_KB * 1024, f"{heaviest[0]}: first view {heaviest[1] / 1024:.0f} KB"
    print(f"\nfigure pages' first views at {WEIGHED_WIDTH} px: {min(weights.values()) / 1024:.0f}–{heaviest[1] / 1024:.0f} KB"
          f" (heaviest {heaviest[0]})")


def test_html_is_valid(site):
    """The Nu HTML Checker (npm vnu-jar, run with Debian's Java): no error on any page."""
    jar = REPO / "tools" / "node_modules" / "vnu-jar" / "build" / "dist" / "vnu.jar"
    assert jar.exists(), "the Nu HTML Checker is missing: `bash scripts/test.sh` installs it"
    pages = [str(site["root"] / rel) for rel in site["pages"]]
    proc = subprocess.run(["java", "-jar", str(jar), "--errors-only", "--format", "json", *pages],
                          capture_output=True, text=True, timeout=300)
    messages = json.loads(proc.stderr or proc.stdout)["messages"]
    errors = [f"{m['url'].rsplit('/html/', 1)[-1]}: {m['message']}" for m in messages if m["type"] == "error"]
    assert len(pages) >= 18
    assert errors == [], errors[:10]
    assert not list(site["root"].glob("_static/*.html")), "unrendered template files are published"


def test_three_chapters_look_right_on_a_phone(browser, site):
    """390-px screenshots for a person to look at (test-artifacts/phone-*.png)."""
    ARTIFACTS.mkdir(exist_ok=True)
    page = browser.new_context(viewport={"width": 390, "height": 900}).new_page()
    for rel in ["book/review/risk.html", "book/traffic/mediation.html", "book/newyear/nanjing.html"]:
        page, seen = open_page(browser, site, rel, page=page)
        for img in page.query_selector_all("figure img"):
            img.scroll_into_view_if_needed()
        seen["settle"]()
        seen["done"]()
        toggle = page.locator("div.cell details.hide > summary").first
        assert toggle.inner_text().strip() == "显示代码", f"{rel}: a closed code cell's toggle reads {toggle.inner_text()!r}"
        toggle.click()
        assert toggle.inner_text().strip() == "隐藏代码", f"{rel}: an open code cell's toggle reads {toggle.inner_text()!r}"
        toggle.click()
        page.screenshot(path=str(ARTIFACTS / f"phone-{rel.replace('/', '-').removesuffix('.html')}.png"), full_page=True)
        assert seen["errors"] == [] and seen["failed"] == []
    page.context.close()
