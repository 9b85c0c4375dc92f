"""The review as a reader meets it: the story and its charts first, every number of the source
text marked and one tap from its data row and back, long tables folded on a phone."""
import re

import pytest
from bs4 import BeautifulSoup

from zzreview import book
from zzreview.dataset import data
from zzreview.drawing import figures
from zzreview.newspaper import structure
from test_browser import browser, site  # noqa: F401 (fixtures)

PHONE = {"width": 390, "height": 844}
FIRST_CHART_MAX_PX = 2 * PHONE["height"]  # the first chart starts within two screens


def test_every_fact_is_marked_exactly_once_in_its_part():
    df = data.metrics()
    for section_id in structure.page().section_ids():
        carried = [f for _, found in book._marked_lines(section_id) for m, _ in found for f in m.facts]
        expected = sorted(df.index[df["section"] == section_id])
        assert sorted(carried) == expected, f"{section_id}: facts marked {sorted(carried)}, data {expected}"


def test_every_excluded_numeral_is_marked_where_it_stands():
    """Each phrase of the exclusion list is marked as often as the printed text of the parts has
    it (the rest stand in a title, marked there as the article's heading)."""
    pg = structure.page()
    marked = {}
    for section_id in pg.section_ids():
        for line, found in book._marked_lines(section_id):
            for m, _ in found:
                if not m.is_fact:
                    marked[line[m.start:m.end]] = marked.get(line[m.start:m.end], 0) + 1
    titles = "".join((a.title or "") + (a.subtitle or "") for a in pg.articles)
    for row in data.exclusions().itertuples():
        assert marked.get(row.phrase, 0) + titles.count(row.phrase) == row.occurrences, row.phrase


def _chapter_pages(site):
    return [p for p in site["pages"] if p.startswith("book/") and "appendix" not in p]


@pytest.mark.build
def test_marks_and_links_back_resolve_on_the_same_page(site):
    """In the built pages: every fact of a page's parts has exactly one marked phrase (q-<id>) and one
    data row (m-<id>); every mark and every link back points at an element of the same page."""
    df = data.metrics()
    checked = 0
    for rel in _chapter_pages(site):
        soup = BeautifulSoup((site["root"] / rel).read_text(encoding="utf-8"), "html.parser")
        ids = [el["id"] for el in soup.select("[id]")]
        for a in soup.select("a.zz-fact, a.zz-nonfact, a.zz-back"):
            assert a["href"].startswith("#") and a["href"][1:] in ids, f"{rel}: {a}"
            checked += 1
        marked = [i[2:] for i in ids if i.startswith("q-")]
        assert len(marked) == len(set(marked)), f"{rel}: a fact marked twice"
        for mid in marked:
            assert ids.count(f"m-{mid}") == 1, f"{rel}: {mid} has no data row"
        for a in soup.select("a.zz-fact"):
            assert a.get("title"), f"{rel}: a mark without its value: {a}"
        sections = set(df.loc[marked, "section"]) if marked else set()
        for section_id in sections:
            assert set(df.index[df["section"] == section_id]) <= set(marked), f"{rel}: {section_id}"
    assert checked > 200


@pytest.mark.build
def test_first_chart_within_two_phone_screens(browser, site):
    """At 390×844, with every image loaded, the first chart of each chapter that has one starts
    within the first two screens."""
    ctx = browser.new_context(viewport=PHONE)
    page = ctx.new_page()
    tops = {}
    for rel in _chapter_pages(site):
        if "<figure" not in (site["root"] / rel).read_text(encoding="utf-8"):
            continue
        page.goto(f"{site['base']}/{rel}", wait_until="load")
        page.evaluate("""async () => { for (const i of document.images) i.loading = 'eager';
            await Promise.all([...document.images].map(i => i.decode().catch(() => 0))); }""")
        tops[rel] = page.evaluate("document.querySelector('article figure').getBoundingClientRect().top + scrollY")
    ctx.close()
    assert len(tops) >= 6
    late = {rel: round(top) for rel, top in tops.items() if top > FIRST_CHART_MAX_PX}
    assert not late, f"first chart below {FIRST_CHART_MAX_PX} px: {late}"


@pytest.mark.build
@pytest.mark.parametrize("width", [390, 1280])
def test_a_tap_on_a_number_shows_its_row_and_back(browser, site, width):
    """On the longest chapter: tapping each marked number shows its data row (the fold opens, the row
    is on screen and highlighted); the row's quote leads back to the phrase, on screen."""
    ctx = browser.new_context(viewport={"width": width, "height": 844})
    page = ctx.new_page()
    page.goto(f"{site['base']}/book/review/risk.html", wait_until="load")
    marks = page.locator("blockquote a.zz-fact")
    assert marks.count() >= 20
    for i in range(marks.count()):
        mark = marks.nth(i)
        target = mark.get_attribute("href")[1:]
        mark.click()
        row = page.locator(f"[id='{target}']")
        page.wait_for_function("id => location.hash === '#' + id", arg=target)
        assert row.evaluate("el => el.closest('details') === null || el.closest('details').open")
        box = row.bounding_box()
        assert box and 0 <= box["y"] < 844 and box["height"] > 0, f"{target} not on screen: {box}"
        assert row.evaluate("el => getComputedStyle(el.closest('tr')).backgroundColor") != "rgba(0, 0, 0, 0)"
        back = page.locator(f"tr:has([id='{target}']) a.zz-back").first
        phrase = back.get_attribute("href")[1:]
        back.click()
        page.wait_for_function("id => location.hash === '#' + id", arg=phrase)
        box = page.locator(f"[id='{phrase}']").bounding_box()
        assert box and 0 <= box["y"] < 844, f"back to {phrase}: not on screen {box}"
    ctx.close()


@pytest.mark.build
def test_tables_fold_on_a_phone_and_open_on_a_desktop(browser, site):
    for width, expected in ((390, False), (1280, True)):
        ctx = browser.new_context(viewport={"width": width, "height": 844})
        page = ctx.new_page()
        page.goto(f"{site['base']}/book/review/risk.html", wait_until="load")
        page.wait_for_timeout(100)
        states = page.evaluate("[...document.querySelectorAll('details.zz-fold')].map(d => d.open)")
        ctx.close()
        assert states and set(states) == {expected}, (width, states)


def test_a_lead_number_comes_from_the_data():
    text = book.lead("检查车辆{risk-vehicles-checked}").text
    assert re.fullmatch(r"检查车辆\{zz-to\}`89万余辆次 <q-risk-vehicles-checked>`\n", text)


NO_SCROLL_ANCHORING = """document.addEventListener('DOMContentLoaded', () => {
    const s = document.createElement('style'); s.textContent = '* { overflow-anchor: none !important; }';
    document.head.append(s); });"""


@pytest.mark.build
@pytest.mark.parametrize("width", [390, 1280])
def test_a_figure_link_lands_on_its_chart(browser, site, width):
    """Every figure's permanent link (page.html#fig-id), opened afresh: once the page and every image
    have loaded, the chart's top is on screen (drawings keep their room before they load). Scroll
    anchoring is off, as in Safari on iPhones, which lacks it: Chromium's would hide a shift."""
    import json

    ctx = browser.new_context(viewport={"width": width, "height": 844})
    ctx.add_init_script(NO_SCROLL_ANCHORING)
    page = ctx.new_page()
    missed = {}
    for item in figures.registry():
        fid = item["id"]
        rel = json.loads((site["root"] / "figures" / f"{fid}.json").read_text(encoding="utf-8"))["page"]
        page.goto("about:blank")
        page.goto(f"{site['base']}/{rel}#{fid}", wait_until="load")
        # every image the browser chose to load (a lazy one far away never starts: it is not waited for)
        page.evaluate("""async () => { await Promise.all([...document.images].map(i => Promise.race([
            i.decode().catch(() => 0), new Promise(r => setTimeout(r, 1500))])));
            await new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r))); }""")
        top = page.evaluate(f"document.getElementById('{fid}').getBoundingClientRect().top")
        if not 0 <= top < 844 / 2:
            missed[fid] = round(top)
    ctx.close()
    assert not missed, f"at {width} px, charts not on screen after the jump (top, px): {missed}"


def test_a_drawing_from_edited_data_says_so_in_its_title_and_source_line():
    from zzreview.drawing import charts, figures

    charts.setup()
    for fid in ("fig-med-funnel", "fig-nanjing-breakdown"):
        rows = figures.drawn_rows(fid)
        fig = figures.draw(fid, charts.NARROW_IN, rows=rows, edited=[rows[0]["id"]])
        texts = [t.get_text().replace("\n", "") for t in fig.texts]
        texts.insert(0, fig.get_suptitle().replace("\n", ""))
        assert texts[0].startswith(figures.EDITED_STAMP)
        assert any(t.startswith(figures.EDITED_STAMP) and rows[0]["label"] in t for t in texts[1:]), texts
        plain = figures.draw(fid, charts.NARROW_IN, rows=rows)
        assert figures.EDITED_STAMP not in " ".join([plain.get_suptitle()] + [t.get_text() for t in plain.texts])


def test_no_label_is_cut_in_any_rendering():
    """Every drawn text of every figure lies inside its canvas, with a margin, measured at the
    resolution of each rendering (SVG and PDF at 72 dpi, PNG at 300), print and phone drawings."""
    import matplotlib.pyplot as plt

    from zzreview.drawing import charts, figures

    charts.setup()
    for item in figures.registry():
        for width in (None, charts.NARROW_IN):
            fig = figures.draw(item["id"]) if width is None else figures.draw(item["id"], width)
            try:
                charts.assert_inside(fig, ("svg", "pdf", "png"))
            finally:
                plt.close(fig)


def test_chart_text_follows_chinese_line_breaking():
    """No line of any drawn text starts with a closing mark (，。、；：）」…) or ends with an opening
    one, no number or date is cut across lines, nor parted from the unit after it (“100 倍”)."""
    import matplotlib
    import matplotlib.pyplot as plt

    from zzreview.drawing import charts, figures

    charts.setup()
    wrapped = charts._wrap("据文中日期推断不早于 2022-01-01）；整理：本书编者", 14)
    assert any("2022-01-01）" in line for line in wrapped) and not any(line[:1] in "）； " for line in wrapped), wrapped
    for item in figures.registry():
        for width in (None, charts.NARROW_IN):
            fig = figures.draw(item["id"]) if width is None else figures.draw(item["id"], width)
            lines = [t.get_text().split("\n") for t in fig.findobj(matplotlib.text.Text)]
            plt.close(fig)
            for text in lines:
                for before, after in zip(text, text[1:]):
                    assert after[:1] not in charts.NO_LINE_START and before[-1:] not in charts.NO_LINE_END, (item["id"], text)
                    assert not (charts.WORD.match(before[-1:] or " ") and charts.WORD.match(after[:1] or " ")), (item["id"], text)
                    assert not (before[-1:].isdigit() and charts.HAN.match(after[:1])), (item["id"], text)  # 100 / 倍


# Proper names that are English by nature (a licence); code, file names and citation styles are
# excluded by where they stand (code, pre, the citation boxes, 技术信息).
ENGLISH_ALLOWED = {"CC BY"}
ENGLISH = re.compile(r"[A-Za-z][A-Za-z'’-]+(?:,? [A-Za-z][A-Za-z'’-]*)+")  # words, not file names
LANDMARKS = """[...document.querySelectorAll('nav[aria-label], [role][aria-label]')]
  .filter(el => el.checkVisibility() && (el.tagName === 'NAV' || /^(navigation|region|main|search|complementary)$/.test(el.getAttribute('role'))))
  .map(el => el.getAttribute('aria-label'))"""
READER_TEXT = """() => {
  const skip = 'script, style, code, pre, kbd, samp, .zz-tech, .zz-cite, .zz-cite-pdf, noscript, template';
  const out = [];
  const walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let t; (t = walk.nextNode());) {
    const el = t.parentElement;
    if (el && !el.closest(skip) && el.checkVisibility()) out.push(t.data);
  }
  for (const el of document.querySelectorAll('[title], [placeholder], img[alt], [data-bs-title], [aria-label]'))
    if (!el.closest(skip)) for (const a of ['title', 'placeholder', 'alt', 'data-bs-title', 'aria-label'])
      if (el.getAttribute(a)) out.push(el.getAttribute(a));
  return out.join('\\n');
}"""


@pytest.mark.build
def test_no_english_sentence_on_a_readers_page(browser, site):
    """What a reader sees (text, tooltips, placeholders, alt texts) is Chinese: no run of two or more
    English words outside code, file names, citation styles and the folded 技术信息."""
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    page = ctx.new_page()
    found = {}
    for rel in site["pages"]:
        if rel == "index.html":  # the root forwards to the front page
            continue
        page.goto(f"{site['base']}/{rel}", wait_until="load")
        english = {m.group(0) for m in ENGLISH.finditer(page.evaluate(READER_TEXT))} - ENGLISH_ALLOWED
        # a landmark's name is what a screen reader announces on entering it: Chinese, even one word
        english |= {f"landmark {name}" for name in page.evaluate(LANDMARKS) if not re.search(r"[\u4e00-\u9fff]", name)}
        if english:
            found[rel] = sorted(english)
    ctx.close()
    assert not found, found


def test_axis_labels_stand_apart():
    """Neighbouring tick labels of every axis keep at least a quarter of their height between them
    (the log axes' ticks are set by the book, not thinned by matplotlib), print and phone drawings."""
    import matplotlib.pyplot as plt

    from zzreview.drawing import charts, figures

    charts.setup()
    for item in figures.registry():
        for width in (None, charts.NARROW_IN):
            fig = figures.draw(item["id"]) if width is None else figures.draw(item["id"], width)
            try:
                fig.draw_without_rendering()
                renderer = fig.canvas.get_renderer()
                for ax in fig.axes:
                    boxes = sorted((t.get_window_extent(renderer) for t in ax.get_xticklabels()
                                    if t.get_visible() and t.get_text()), key=lambda b: b.x0)
                    for a, b in zip(boxes, boxes[1:]):
                        assert b.x0 - a.x1 >= a.height / 4, (item["id"], width, "tick labels crowd", a, b)
            finally:
                plt.close(fig)
