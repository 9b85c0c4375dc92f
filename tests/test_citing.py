"""Citations a report writer pastes as they are, and the figure bundles, tried in Debian chromium:
each style's copy button puts on the clipboard the text shown, with the page's own absolute
address (the book's public address is unknown) and the reader's date as GB/T 7714's access date.
Also: the 执行记录 table, and each page's 更新记录."""
from __future__ import annotations

import datetime as dt
import io
import json
import re
import zipfile

import pytest

from test_browser import browser, open_page, site  # noqa: F401 (fixtures)
from zzreview.downloads import cite
from zzreview.drawing import figures

pytestmark = pytest.mark.build
STYLES = ("GB/T 7714-2015", "APA", "BibTeX", cite.ARTICLE_STYLE)


PUBLIC = "https://zzreview.example"  # a public address (secure: the clipboard needs it), answered from loopback


def _public(ctx, base: str) -> None:
    """Pages asked for at PUBLIC come from the site on loopback (as from a public host)."""
    ctx.route(f"{PUBLIC}/**", lambda route: route.fulfill(
        response=route.fetch(url=route.request.url.replace(PUBLIC, base))))


@pytest.mark.parametrize("width", [390, 1280])
def test_each_copy_button_copies_the_complete_citation(browser, site, width):  # noqa: F811
    """Served from a public address, the page puts in its own; the figure's address is its page."""
    fid = "fig-med-funnel"
    ctx = browser.new_context(viewport={"width": width, "height": 900})
    _public(ctx, site["base"])
    ctx.grant_permissions(["clipboard-read", "clipboard-write"], origin=PUBLIC)
    page = ctx.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{PUBLIC}/book/traffic/mediation.html", wait_until="load")
    box = page.locator(".zz-cite", has=page.locator(f'.zz-to-figure-page a[href$="figures/{fid}.html"]'))
    box.locator(".admonition-title").click()
    heads = box.locator(".zz-cite-head")
    assert [heads.nth(i).inner_text().rsplit("\n", 1)[0].replace("复制", "").strip()
            for i in range(heads.count())] == list(STYLES)
    address = f"{PUBLIC}/figures/{fid}.html"
    today = page.evaluate("(() => { const d = new Date(); return [d.getFullYear(), d.getMonth() + 1, d.getDate()]; })()")
    date = dt.date(*today).isoformat()
    pasted = {}
    for i, style in enumerate(STYLES):
        button = box.locator("button.zz-copy").nth(i)
        button.wait_for(state="visible", timeout=10_000)  # the box opens on the click above (a transition)
        assert button.get_attribute("aria-label")
        button.click()
        pasted[style] = page.evaluate("navigator.clipboard.readText()")
        assert pasted[style] == box.locator(".zz-cite-text").nth(i).inner_text(), style
        assert button.inner_text() == "已复制"
    assert pasted["GB/T 7714-2015"].endswith(f"[{date}]. {address}.")
    assert "[引用日期]" not in "".join(pasted.values()) and cite.UNKNOWN_ADDRESS not in "".join(pasted.values())
    assert pasted["APA"].endswith(address) and f"howpublished = {{\\url{{{address}}}}}" in pasted["BibTeX"]
    assert "[N]" in pasted[cite.ARTICLE_STYLE] and "报纸名称不详" in pasted[cite.ARTICLE_STYLE]
    assert "漳州交警：创建管理新模式" in pasted[cite.ARTICLE_STYLE]
    assert not errors
    ctx.close()


def test_the_embed_code_carries_the_public_address(browser, site):  # noqa: F811
    """Served from a public address, a figure page's embed code points at its embeddable page there."""
    ctx = browser.new_context(viewport={"width": 390, "height": 900})
    _public(ctx, site["base"])
    page = ctx.new_page()
    page.goto(f"{PUBLIC}/figures/fig-med-funnel.html", wait_until="load")
    code = page.locator(".zz-cite-text", has_text="<iframe").inner_text()
    assert f'src="{PUBLIC}/figures/fig-med-funnel.embed.html"' in code, code
    ctx.close()


def test_a_local_or_file_address_is_never_cited(browser, site):  # noqa: F811
    """Opened from loopback (or a file), the citation says the address is unknown."""
    page, seen = open_page(browser, site, "book/traffic/mediation.html", width=390)
    texts = page.locator(".zz-cite-text").all_text_contents()
    assert texts and all("127.0.0.1" not in t and "file:" not in t for t in texts)
    assert any(cite.UNKNOWN_ADDRESS in t for t in texts)
    page.goto((site["root"] / "book" / "traffic" / "mediation.html").as_uri(), wait_until="load")
    assert all("file:" not in t for t in page.locator(".zz-cite-text").all_text_contents())


def test_without_scripts_the_static_citation_stays(browser, site):  # noqa: F811
    ctx = browser.new_context(viewport={"width": 390, "height": 900}, java_script_enabled=False)
    page = ctx.new_page()
    page.goto(f"{site['base']}/book/traffic/mediation.html")
    text = page.locator(".zz-cite-text").first.text_content()
    assert "[引用日期]" in text and cite.UNKNOWN_ADDRESS in text
    assert not page.locator("button.zz-copy").first.is_visible()  # no dead buttons
    ctx.close()


def test_the_execution_record_lists_every_notebook(browser, site):  # noqa: F811
    from zzreview.site.chapters import chapters
    from zzreview.site.sphinxext import EXECUTION_RECORD

    record = json.loads((site["root"] / EXECUTION_RECORD).read_text(encoding="utf-8"))
    assert [c["notebook"] for c in record["chapters"]] == [c.docname for c in chapters()]
    page, seen = open_page(browser, site, "book/appendix/executions.html", width=390)
    page.locator(".zz-executions[data-filled]").wait_for()
    rows = page.locator(".zz-executions tbody tr")
    assert rows.count() == len(record["chapters"])
    first = rows.first.inner_text()
    assert record["chapters"][0]["notebook"] in first and "成功" in first
    assert re.search(r"重新运行|取自缓存", first) and re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d", first)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert not seen["errors"] and not seen["failed"]


def test_every_page_ends_with_its_changes_for_readers(site):  # noqa: F811
    """The 更新记录 of each page: the dated entries of data/changes.csv for it or the whole book,
    newest first, in Chinese; never a commit message or a hash."""
    from bs4 import BeautifulSoup

    from zzreview import records

    rows = [r for _, r in records.change_rows()]
    for doc in ("book/review/risk", "book/appendix/figures"):
        page = BeautifulSoup((site["root"] / f"{doc}.html").read_text(encoding="utf-8"), "html.parser")
        box = page.select_one("details.zz-history")
        shown = [li.get_text() for li in box.select("li")]
        assert box.summary.get_text() == f"更新记录（{len(shown)} 条）"
        # newest first; of one day, the entry written last first
        wanted = [r for i, r in sorted(enumerate(rows), key=lambda p: (p[1]["date"], p[0]), reverse=True)
                  if r["page"] in ("", doc)]
        assert shown == [f"{int(r['date'][:4])}年{int(r['date'][5:7])}月{int(r['date'][8:])}日　{r['change']}"
                         for r in wanted]
        assert not re.search(r"\b[0-9a-f]{7,40}\b|[A-Za-z]{4,}", box.get_text()), box.get_text()


def test_a_figure_bundle_holds_what_citing_and_reusing_it_needs(site):  # noqa: F811
    fid = "fig-med-funnel"
    with zipfile.ZipFile(site["root"] / "figures" / f"{fid}.zip") as zf:
        names = {n.split("/", 1)[1] for n in zf.namelist()}
        readme = zf.read(f"{fid}/README.md").decode("utf-8")
        rows = zf.read(f"{fid}/{fid}.metric-rows.csv").decode("utf-8-sig")
        drawn = zf.read(f"{fid}/{fid}.csv")
    assert {f"{fid}.{ext}" for ext in ("csv", "json", "svg", "png", "pdf")} | {"README.md", f"{fid}.metric-rows.csv"} <= names
    assert drawn == (site["root"] / "figures" / f"{fid}.csv").read_bytes()
    for mid in figures.metric_ids(fid):
        assert mid in rows
    meta = json.loads((site["root"] / "figures" / f"{fid}.json").read_text(encoding="utf-8"))
    for quote in meta["source"]["quotes"]:  # each quote with its article, part and paragraph
        assert f"「{quote['quote']}」 | 《{quote['article']}》 · {quote['part']} · 第 " in readme
    for text in meta["citation"].values():
        assert text in readme
    assert meta["rights"] in readme and "报纸名称不详" in readme


def test_a_partial_breakdowns_bundle_names_the_computed_remainder(site):  # noqa: F811
    partial = next(f["id"] for f in figures.registry() if f["form"] == "partial")
    with zipfile.ZipFile(site["root"] / "figures" / f"{partial}.zip") as zf:
        readme = zf.read(f"{partial}/README.md").decode("utf-8")
        drawn = zf.read(f"{partial}/{partial}.csv").decode("utf-8-sig")
    assert figures.REST_LABEL in drawn and "由总数减去" in readme
    assert sum(1 for _ in io.StringIO(drawn)) == len(figures.metric_ids(partial)) + 2  # header + rows + remainder


def test_article_citations_name_the_people_of_each_byline():
    """GB/T 7714 lists authors separated by commas, without what they did (文/图, 摄影报道);
    every byline of the page, checked against the page's own printed text."""
    from zzreview.newspaper.structure import page

    for art in page().articles:
        authors = cite.byline_authors(art.byline)
        assert authors, art.id
        for name in authors:
            assert re.fullmatch(r"[\u4e00-\u9fff]{2,4}", name), (art.id, name)  # a name, not a role or a mark
            assert name in art.byline
        title = cite.article_title(art)
        assert "——" not in title and title.startswith(art.title)
