"""Citations a report writer pastes as they are, and the figure bundles, tried in Debian chromium:
each style's copy button puts on the clipboard the text shown, with the page's own absolute
address (the book's public address is unknown) and the reader's date as GB/T 7714's access date.
Also: the 执行记录 table, and each page's history."""
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


@pytest.mark.parametrize("width", [390, 1280])
def test_each_copy_button_copies_the_complete_citation(browser, site, width):  # noqa: F811
    fid = "fig-med-funnel"
    ctx = browser.new_context(viewport={"width": width, "height": 900})
    ctx.grant_permissions(["clipboard-read", "clipboard-write"], origin=site["base"])
    page, seen = open_page(browser, site, "book/traffic/mediation.html", context=ctx)
    box = page.locator(".zz-cite", has=page.locator(".zz-permalink", has_text=fid))
    box.locator(".admonition-title").click()
    heads = box.locator(".zz-cite-head")
    assert [heads.nth(i).inner_text().rsplit("\n", 1)[0].replace("复制", "").strip()
            for i in range(heads.count())] == list(STYLES)
    address = f"{site['base']}/book/traffic/mediation.html#{fid}"
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
    assert "[引用日期]" not in "".join(pasted.values())
    assert pasted["APA"].endswith(address) and f"url = {{{address}}}" in pasted["BibTeX"]
    assert "[N]" in pasted[cite.ARTICLE_STYLE] and "报纸名称不详" in pasted[cite.ARTICLE_STYLE]
    assert "漳州交警：创建管理新模式" in pasted[cite.ARTICLE_STYLE]
    assert address in page.locator(".zz-permalink").first.inner_text()
    assert not seen["errors"] and not seen["failed"]
    ctx.close()


def test_without_scripts_the_static_citation_stays(browser, site):  # noqa: F811
    ctx = browser.new_context(viewport={"width": 390, "height": 900}, java_script_enabled=False)
    page = ctx.new_page()
    page.goto(f"{site['base']}/book/traffic/mediation.html")
    text = page.locator(".zz-cite-text").first.text_content()
    assert "[引用日期]" in text and "book/traffic/mediation.html#fig-med-funnel" in text
    assert not page.locator("button.zz-copy").first.is_visible()  # no dead buttons
    ctx.close()


def test_the_execution_record_lists_every_notebook(browser, site):  # noqa: F811
    from zzreview.site.chapters import chapters
    from zzreview.site.sphinxext import EXECUTION_RECORD

    record = json.loads((site["root"] / EXECUTION_RECORD).read_text(encoding="utf-8"))
    assert [c["notebook"] for c in record["chapters"]] == [c.docname for c in chapters()]
    page, seen = open_page(browser, site, "book/appendix/executions.html", width=390)
    rows = page.locator(".zz-executions tbody tr")
    rows.first.wait_for()
    assert rows.count() == len(record["chapters"])
    first = rows.first.inner_text()
    assert record["chapters"][0]["notebook"] in first and "成功" in first
    assert re.search(r"重新运行|取自缓存", first) and re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d", first)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert not seen["errors"] and not seen["failed"]


def test_every_page_ends_with_its_history(site):  # noqa: F811
    from bs4 import BeautifulSoup

    page = BeautifulSoup((site["root"] / "book" / "review" / "risk.html").read_text(encoding="utf-8"), "html.parser")
    history = page.select_one("details.zz-history")
    summary = history.summary.get_text()
    assert re.search(r"本页最近一次改动：\d{4}-\d\d-\d\d（版本 \S+）", summary), summary
    files = history.get_text()
    for name in ("book/review/risk.md", "data/metrics.csv", "book/figures.yaml"):
        assert name in files
    assert history.select("li")


def test_a_figure_bundle_holds_what_citing_and_reusing_it_needs(site):  # noqa: F811
    fid = "fig-med-funnel"
    with zipfile.ZipFile(site["root"] / "figures" / f"{fid}.zip") as zf:
        names = {n.split("/", 1)[1] for n in zf.namelist()}
        readme = zf.read(f"{fid}/README.md").decode("utf-8")
        rows = zf.read(f"{fid}/{fid}.metric-rows.csv").decode("utf-8")
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
        drawn = zf.read(f"{partial}/{partial}.csv").decode("utf-8")
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


def test_a_pages_uncommitted_files_come_from_one_status_of_the_book(tmp_path, monkeypatch):
    """history.uncommitted: of the files asked about, those changed, renamed or not yet tracked,
    relative to the project's folder also when that folder is inside a larger repository."""
    import subprocess

    from zzreview.site import history
    from zzreview import paths

    def git(*args):
        subprocess.run(["git", "-C", str(tmp_path), *args], check=True, capture_output=True)

    project = tmp_path / "sub"  # the book inside a larger repository
    (project / "data").mkdir(parents=True)
    for name in ("a.csv", "b.csv", "old.csv", "same.csv"):
        (project / "data" / name).write_text(name, encoding="utf-8")
    git("init", "-q")
    git("add", ".")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "first")
    (project / "data" / "a.csv").write_text("changed", encoding="utf-8")
    (project / "data" / "new.csv").write_text("new", encoding="utf-8")
    git("mv", "sub/data/old.csv", "sub/data/renamed.csv")
    monkeypatch.setattr(paths, "REPO", project)

    asked = [f"data/{n}" for n in ("a.csv", "b.csv", "new.csv", "old.csv", "renamed.csv", "same.csv")]
    assert history.uncommitted(asked) == {"data/a.csv", "data/new.csv", "data/old.csv", "data/renamed.csv"}
    assert history.uncommitted(["data/b.csv"]) == frozenset()
    assert history.head() is not None
    monkeypatch.setattr(paths, "REPO", tmp_path / "nowhere")  # outside a repository: unknown, not "clean"
    assert history.uncommitted(asked) is None and history.head() is None
