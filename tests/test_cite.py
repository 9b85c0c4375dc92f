"""Cite and reuse: every figure downloadable and citable, every chapter rerunnable."""
import csv
import io
import json
import re
import xml.etree.ElementTree as ET

import pytest
import yaml
from bs4 import BeautifulSoup
from PIL import Image

from conftest import REPO
from zzreview import meta
from zzreview.site import chapters
from zzreview.downloads import cite
from zzreview.dataset import data
from zzreview.meta import book_title, text_width_in

pytestmark = pytest.mark.build

REGISTRY = yaml.safe_load((REPO / "book" / "figures.yaml").read_text(encoding="utf-8"))


def soup_of(site, doc):
    return BeautifulSoup((site["html"] / f"{doc}.html").read_text(encoding="utf-8"), "html.parser")


def sidecar(site, fig_id) -> dict:
    return json.loads((site["html"] / "figures" / f"{fig_id}.json").read_text(encoding="utf-8"))


def test_every_number_printed_for_a_figure_is_the_pages_own(built_site):
    """The caption's number (Sphinx's) is the one in the JSON sidecar, every citation text and
    the figure index: one authority, whatever the chapter's code looks like."""
    index = soup_of(built_site, "book/appendix/figures")
    for item in REGISTRY:
        meta = sidecar(built_site, item["id"])
        doc = meta["page"].removesuffix(".html")
        fig = soup_of(built_site, doc).select_one(f"figure#{item['id']}")
        printed = re.match(r"图 (\S+)", fig.find("figcaption").get_text(" ", strip=True)).group(1)
        assert meta["number"] == f"图 {printed}", item["id"]
        for text in meta["citation"].values():
            assert f"图 {printed} " in text
        title = index.select_one(f"#index-{item['id']}").find(["h2", "h3"]).get_text(" ", strip=True)
        assert title.startswith(f"图 {printed} "), title


def test_every_figure_has_five_downloads_of_the_right_type(built_site):
    root = built_site["html"] / "figures"
    for item in REGISTRY:
        fid = item["id"]
        png = Image.open(root / f"{fid}.png")
        assert png.format == "PNG" and png.width >= 300 * text_width_in() - 1  # ≥ 300 dpi at print width
        assert round(png.info["dpi"][0]) >= 300
        assert ET.parse(root / f"{fid}.svg").getroot().tag.endswith("svg")
        assert (root / f"{fid}.pdf").read_bytes().startswith(b"%PDF")
        rows = list(csv.DictReader(io.StringIO((root / f"{fid}.csv").read_text(encoding="utf-8-sig"))))
        assert rows and set(rows[0]) >= {"id", "value", "unit", "qualifier", "quote"}
        meta = json.loads((root / f"{fid}.json").read_text(encoding="utf-8"))
        assert meta["id"] == fid and meta["licence"] and meta["book_version"]
        assert meta["caption"] == item["caption"].strip()


def test_each_csv_holds_exactly_the_values_drawn(built_site):
    for item in REGISTRY:
        rows = list(csv.DictReader(io.StringIO(
            (built_site["html"] / "figures" / f"{item['id']}.csv").read_text(encoding="utf-8-sig"))))
        wanted = ([item["total"]] if item.get("total") else []) + item["metrics"]
        named = [r for r in rows if r["id"] in wanted]
        assert [r["id"] for r in named] == wanted
        for r in named:  # re-read from the data, not from the code that wrote the CSV
            m = data.metric(r["id"])
            assert (float(r["value"]), r["unit"], r["qualifier"], r["quote"]) == \
                (m["value"], m["unit"], m["qualifier"], m["quote"])
        if item["form"] == "partial":  # the drawn remainder: total minus the named parts
            rest = [r for r in rows if r["id"] not in wanted]
            total = data.metric(item["total"])["value"]
            assert len(rest) == 1 and float(rest[0]["value"]) == total - sum(
                data.metric(m)["value"] for m in item["metrics"])
        else:
            assert len(rows) == len(named)


def test_each_figure_page_offers_downloads_and_citations(built_site):
    for item in REGISTRY:
        fid = item["id"]
        doc = sidecar(built_site, fid)["page"].removesuffix(".html")
        page_soup = soup_of(built_site, doc)
        box = page_soup.select_one(f"figure#{fid}").find_next(class_="zz-cite")
        text = box.get_text("\n")
        version = json.loads((built_site["html"] / "figures" / f"{fid}.json").read_text())["book_version_label"]
        for style in ("GB/T 7714-2015", "APA", "BibTeX"):
            assert style in text
        styles = box.select(".zz-cite-style")
        assert len(styles) == 4
        for style in styles[:3]:  # the book's figure, in three styles
            block = style.select_one("pre")
            assert fid in block.get_text() and version in block.get_text()
            # the book's public address is unknown to this build: said so, never a path
            assert cite.UNKNOWN_ADDRESS in block.get_text() and ".html" not in block.get_text()
            assert f"figures/{fid}.html" in block["data-template"].replace(cite.ROOT_MARK, "")
        article = styles[3].get_text()  # then the newspaper article(s) its numbers come from
        assert "原文报道" in article and "[N]" in article and fid not in article
        hrefs = [a["href"] for a in box.select("a[href]")]
        assert {h.rsplit(".", 1)[1] for h in hrefs} == {"png", "svg", "pdf", "csv", "json", "zip", "html"}
        assert any(h.endswith(f"figures/{fid}.html") for h in hrefs)  # the figure's own page


def test_bibtex_parses_with_a_real_parser(built_site):
    from pybtex.database import parse_string

    for item in REGISTRY:
        meta = json.loads((built_site["html"] / "figures" / f"{item['id']}.json").read_text())
        # the book's address is unknown to this build: no address, and the note says so
        (entry,) = parse_string(meta["citation"]["BibTeX"], "bibtex").entries.values()
        assert "howpublished" not in entry.fields and cite.UNKNOWN_ADDRESS in entry.fields["note"]
        assert cite.version_label(meta["book_version"]) in entry.fields["title"]


def test_csvs_open_in_a_chinese_excel(built_site):
    """A BOM: Excel on Chinese Windows reads UTF-8 as such (without one it guesses GBK)."""
    import zipfile

    for item in REGISTRY:
        fid = item["id"]
        assert (built_site["html"] / "figures" / f"{fid}.csv").read_bytes().startswith(b"\xef\xbb\xbf")
        with zipfile.ZipFile(built_site["html"] / "figures" / f"{fid}.zip") as bundle:
            for name in (f"{fid}.csv", f"{fid}.metric-rows.csv"):
                assert bundle.read(f"{fid}/{name}").startswith(b"\xef\xbb\xbf"), name
            readme = bundle.read(f"{fid}/README.md").decode("utf-8")
        for column in ("lower_bound", "upper_bound", "qualifier", "quote", "more_than", "approx", "nearly"):
            assert f"`{column}`" in readme, column  # every column and code explained, in Chinese


def test_figure_index_lists_every_figure(built_site):
    page = soup_of(built_site, "book/appendix/figures")
    for item in REGISTRY:
        section = page.select_one(f"#index-{item['id']}")
        assert section is not None, item["id"]
        assert section.find("img") and section.select(".zz-cite")


def test_front_page_cites_the_book_and_footer_names_the_version(built_site):
    page = soup_of(built_site, "book/index")
    assert "引用本书" in page.get_text()
    footer = " ".join(f.get_text() for f in page.select("footer"))
    release = meta.release()  # the release a reader quotes; the commit only in 技术信息
    assert f"本书版本 {cite.version_label(cite.book_version())}" in footer and release["version"] in footer
    assert cite.book_version().removesuffix("-dirty") not in footer and "Copyright" not in footer
    assert cite.book_version() in page.select_one("details.zz-tech").get_text()


def test_citation_cff_is_valid():
    import jsonschema

    schema = json.loads((REPO / "tests" / "schemas" / "citation-file-format-1.2.0.json").read_text())
    cff = yaml.safe_load((REPO / "CITATION.cff").read_text(encoding="utf-8"))
    jsonschema.validate(cff, schema)
    assert cff["title"] == book_title()


def test_every_chapter_page_links_its_notebook(built_site):
    for ch in chapters.chapters():
        link = soup_of(built_site, ch.docname).select_one("details.zz-tech a[href$='.ipynb']")  # 技术信息
        assert link and (built_site["html"] / ch.docname).parent.joinpath(link["href"]).resolve().is_file()


def test_the_data_package_carries_the_release():
    """The data package's version is the release readers quote (CITATION.cff, the one authority)."""
    package = json.loads((REPO / "data" / "datapackage.json").read_text(encoding="utf-8"))
    assert package["version"] == meta.release()["version"]
