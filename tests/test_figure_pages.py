"""Each figure's own page and its embeddable chart, share card and reference-manager files; and a
build that knows the book's public address (html.baseurl): Open Graph tags, absolute citations,
a QR code on the card, BibTeX that the standard styles print with its address and version."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from bs4 import BeautifulSoup

from conftest import REPO
from test_browser import browser, site  # noqa: F401 (fixtures)
from workspace import repo_copy
from zzreview.downloads import cite
from zzreview.drawing import figures
from zzreview.site.figure_pages import DOWNLOADS

pytestmark = pytest.mark.build
PUBLIC_ROOT = "https://zzreview.example.org/2021/"


def _soup(path: Path) -> BeautifulSoup:
    return BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")


def test_every_figure_has_its_page_linked_both_ways(built_site):
    html_root = built_site["html"]
    for item in figures.registry():
        fid = item["id"]
        page = _soup(html_root / "figures" / f"{fid}.html")
        assert any(h.get_text().endswith(item["title"]) for h in page.select("article h1, main h1"))
        assert page.find("meta", attrs={"name": "description"})["content"]
        img = page.select_one("figure.zz-figure-page img")
        assert img["width"] and img["height"] and img["alt"]
        chapter = json.loads((html_root / "figures" / f"{fid}.json").read_text(encoding="utf-8"))["page"]
        back = [a["href"] for a in page.select("a[href]") if a["href"].endswith(f"{chapter}#{fid}")]
        assert back, f"{fid}: no link back to its chapter"
        chapter_page = _soup(html_root / chapter)
        assert chapter_page.select(f'a[href$="figures/{fid}.html"]'), f"{chapter} does not link to {fid}'s page"
        ids = {el["id"] for el in chapter_page.select("[id]")}
        for a in page.select("#sources + ul a[href], #data + div table a[href]"):  # each quote: its marked phrase
            target = a["href"].split("#", 1)
            assert target[0].endswith(chapter) and target[1] in ids, a["href"]
        for ext, _ in DOWNLOADS:
            assert (html_root / "figures" / f"{fid}.{ext}").is_file(), f"{fid}.{ext}"
        embed = _soup(html_root / "figures" / f"{fid}.embed.html")
        assert embed.select_one("figure img")["alt"] and embed.select_one('a[target="_top"]')
        assert not embed.find("script")  # an embed needs no script
        assert not page.find("meta", attrs={"property": "og:image"})  # no public address known: no absolute URL


def test_a_figure_page_reads_without_scripts(browser, site):  # noqa: F811
    ctx = browser.new_context(viewport={"width": 390, "height": 844}, java_script_enabled=False)
    page = ctx.new_page()
    page.goto(f"{site['base']}/figures/fig-med-funnel.html", wait_until="load")
    box = page.locator("figure.zz-figure-page img").bounding_box()
    assert box and box["width"] > 300 and box["height"] > 300
    assert page.locator("#data ~ div table").first.is_visible()
    assert "网址不详" in page.locator(".zz-cite-text").first.text_content()
    ctx.close()


@pytest.fixture(scope="module")
def public_build(built_site, tmp_path_factory):
    """The book built again with html.baseurl set (a copy of the project; the session's build
    and execution cache copied, so nothing but what reads the configuration runs again)."""
    folder = tmp_path_factory.mktemp("public")
    project = repo_copy(folder / "project")
    config = project / "_config.yml"
    config.write_text(config.read_text(encoding="utf-8").replace(
        "html:\n", f"html:\n  baseurl: {PUBLIC_ROOT}\n", 1), encoding="utf-8")
    out = folder / "out"
    shutil.copytree(built_site["out"], out, symlinks=True)
    env = {**os.environ, "PYTHONPATH": str(project)}  # the copy's package, reading the copy's files
    proc = subprocess.run([str(REPO / ".venv" / "bin" / "python"), "-m", "zzreview", "build", "--out", str(out)],
                          cwd=project, env=env, capture_output=True, text=True, timeout=1800)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return out / "html"


def test_with_a_public_address_links_and_citations_are_absolute(public_build, built_site):
    fid = "fig-med-funnel"
    address = f"{PUBLIC_ROOT}figures/{fid}.html"
    page = _soup(public_build / "figures" / f"{fid}.html")
    og = {m["property"]: m["content"] for m in page.select("meta[property^='og:']")}
    assert og["og:url"] == address and og["og:image"] == f"{PUBLIC_ROOT}figures/{fid}.png"
    texts = [pre.get_text() for pre in page.select(".zz-cite-text")]
    assert texts[0].endswith(f". {address}.") and not any(pre.get("data-template") for pre in page.select(".zz-cite-text"))
    metadata = json.loads((public_build / "figures" / f"{fid}.json").read_text(encoding="utf-8"))
    assert metadata["figure_page"] == address and address in metadata["citation"]["APA"]
    # every share card carries a QR code that a phone's camera reads as its figure's page; a card
    # without the address has none
    for card in sorted(public_build.glob("figures/*.card.png")):
        assert _qr_codes(card) == [f"{PUBLIC_ROOT}figures/{card.name.removesuffix('.card.png')}.html"], card.name
    assert _qr_codes(built_site["html"] / "figures" / f"{fid}.card.png") == []


def _qr_codes(png) -> list[str]:
    import zxingcpp
    from PIL import Image

    return [code.text for code in zxingcpp.read_barcodes(Image.open(png))]


def test_reference_managers_read_the_ris_and_csl_json(public_build):
    import rispy
    from citeproc import Citation, CitationItem, CitationStylesBibliography, CitationStylesStyle, formatter
    from citeproc.source.json import CiteProcJSON

    fid = "fig-med-funnel"
    version = json.loads((public_build / "figures" / f"{fid}.json").read_text(encoding="utf-8"))["book_version_label"]
    for path, url in ((public_build / "figures" / f"{fid}.ris", f"{PUBLIC_ROOT}figures/{fid}.html"),
                      (public_build / "cite" / "zzreview.ris", f"{PUBLIC_ROOT}book/index.html")):
        (entry,) = rispy.loads(path.read_text(encoding="utf-8"))
        assert entry["urls"] == [url] and entry["edition"] == version
        assert entry["authors"] == [yaml.safe_load((REPO / "_config.yml").read_text(encoding="utf-8"))["author"] + ","]
    items = json.loads((public_build / "figures" / f"{fid}.csl.json").read_text(encoding="utf-8"))
    source = CiteProcJSON(items)
    style = CitationStylesStyle("harvard-cite-them-right", validate=False)
    bibliography = CitationStylesBibliography(style, source, formatter.plain)
    bibliography.register(Citation([CitationItem(items[0]["id"])]))
    (printed,) = [str(line) for line in bibliography.bibliography()]
    assert "图 " in printed and f"{PUBLIC_ROOT}figures/{fid}.html" in printed


@pytest.mark.parametrize("style", ["unsrt", "plainnat", "gbt7714-numerical"])
def test_bibtex_prints_its_address_and_version_in_standard_styles(public_build, tmp_path, style):
    """Compiled as a Chinese report would be (xelatex, xeCJK, bibtex): the PDF's text shows the
    figure's address and the book's version."""
    fid = "fig-med-funnel"
    metadata = json.loads((public_build / "figures" / f"{fid}.json").read_text(encoding="utf-8"))
    (tmp_path / "refs.bib").write_text(metadata["citation"]["BibTeX"] + "\n", encoding="utf-8")
    natbib = "" if style == "unsrt" else r"\usepackage[numbers]{natbib}"
    (tmp_path / "report.tex").write_text(
        "\\documentclass{article}\n\\usepackage{xeCJK}\n\\setCJKmainfont{Noto Serif CJK SC}\n\\usepackage{url}\n"
        f"{natbib}\n\\begin{{document}}\n见\\cite{{zzreview-{fid}}}。\n\\bibliographystyle{{{style}}}\n"
        "\\bibliography{refs}\n\\end{document}\n", encoding="utf-8")
    env = {**os.environ, "TEXINPUTS": f"{REPO / 'book' / '_latex'}//:"}  # the book's ctexhook.sty for xeCJK
    for cmd in (["xelatex", "-interaction=nonstopmode", "report"], ["bibtex", "report"],
                ["xelatex", "-interaction=nonstopmode", "report"], ["xelatex", "-interaction=nonstopmode", "report"]):
        subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, timeout=300)
    text = subprocess.run(["pdftotext", "report.pdf", "-"], cwd=tmp_path, capture_output=True, text=True).stdout
    flat = re.sub(r"\s+", "", text)
    assert f"{PUBLIC_ROOT}figures/{fid}.html" in flat, text
    assert f"版本{cite.version_label(metadata['book_version'])}" in flat, text
