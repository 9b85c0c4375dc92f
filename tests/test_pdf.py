"""The PDF edition, read as readers' tools read it: pdftotext, pdffonts, pdftoppm, and pypdf for
the metadata and bookmarks. The HTML of the same build is the reference for titles and figures."""
import os
import re
import shutil
import subprocess

import pypdf
import pytest
import yaml

from conftest import REPO, run_build
from zzreview import meta
from zzreview.dataset.quantity import when_text
from test_build import TOC, page, toc_files

pytestmark = pytest.mark.build

ARTIFACTS = REPO / "test-artifacts" / "pdf"
MARGIN_PT = 2.5 / 2.54 * 72  # the page margins set in _config.yml (sphinxsetup)
# Words the LaTeX templates print in English when nobody translates them.
TEMPLATE_WORDS = re.compile(r"\b(Contents|Chapter|CHAPTER|Figure|Table|Appendix|APPENDIX|Index|Part|Release|"
                            r"continued|Continued|Bibliography|Listing|Page)\b")


def squash(text: str) -> str:
    """Text without any white space: PDF extraction breaks lines where the HTML does not."""
    return re.sub(r"[\s\u3000]+", "", text)


@pytest.fixture(scope="module")
def pdf(built_site):
    return built_site["pdf"]


@pytest.fixture(scope="module")
def pdf_text(pdf):
    return page_text(pdf)


def page_text(pdf, number: int | None = None) -> str:
    """pdftotext in layout mode: a caption stays on one line with its number (in reading-order
    mode, the chart's own labels come between them)."""
    pages = ["-f", str(number), "-l", str(number)] if number else []
    return subprocess.run(["pdftotext", "-layout", "-enc", "UTF-8", *pages, str(pdf), "-"],
                          capture_output=True, text=True, check=True).stdout


def html_figures(site) -> list[dict]:
    """Every figure of the HTML edition, in reading order: id, printed number, caption."""
    out = []
    for doc in toc_files():
        for fig in page(site, doc).select("figure[id^=fig-]"):
            number = fig.select_one(".caption-number").get_text(strip=True)
            out.append({"id": fig["id"], "number": number.removeprefix("图").strip(),
                        "caption": fig.select_one(".caption-text").get_text(strip=True), "doc": doc})
    return out


def test_the_build_publishes_the_pdf_and_the_front_page_links_it(built_site, pdf):
    assert pdf.read_bytes()[:5] == b"%PDF-"
    in_site = built_site["html"] / pdf.name
    assert in_site.read_bytes() == pdf.read_bytes()
    link = page(built_site, "book/index").find("a", href=re.compile(re.escape(pdf.name) + "$"))
    assert link is not None and "PDF" in link.get_text()
    assert (built_site["html"] / "book" / link["href"]).resolve() == in_site.resolve()


def test_pages_are_a4(pdf):
    reader = pypdf.PdfReader(pdf)
    sizes = {(round(float(p.mediabox.width)), round(float(p.mediabox.height))) for p in reader.pages}
    assert sizes == {(595, 842)}
    assert len(reader.pages) > 20


def test_contents_and_every_chapter_title_in_chinese(built_site, pdf_text):
    flat = squash(pdf_text)
    assert "目录" in flat
    for doc in toc_files():
        title = page(built_site, doc).find("h1").get_text(strip=True).rstrip("#")
        assert squash(title) in flat, f"chapter title of {doc} not in the PDF: {title}"
    # chapter openings and appendices are labelled in Chinese
    assert "第1章" in flat and "第4章" in flat and "附录A" in flat


def test_no_english_template_words(pdf_text):
    found = sorted(set(TEMPLATE_WORDS.findall(pdf_text)))
    assert found == [], f"English template words in the PDF: {found}"


def test_every_figure_has_its_html_number_and_caption(built_site, pdf, pdf_text):
    figures = html_figures(built_site)
    assert len(figures) >= 9
    flat = squash(pdf_text)
    for fig in figures:
        assert squash(f"图{fig['number']}{fig['caption']}") in flat, f"{fig['id']}: 图 {fig['number']} not captioned so"
    # as many figure captions in the PDF as in the HTML (each LaTeX caption is a named destination)
    captions = [d for d in pypdf.PdfReader(pdf).named_destinations if d.startswith("figure.")]
    assert len(captions) == len(figures)


def test_figure_index_on_paper_maps_each_id_to_its_html_number_and_page(built_site, pdf, pdf_text):
    """The PDF's 图表索引 prints LaTeX's own number and page for each figure id: they must agree
    with the HTML, and the page must hold that caption."""
    entries = re.findall(r"图\s*(\d+\.\d+)\s+.*?（(fig-[a-z0-9-]+)），\s*第\s*(\d+)\s*页", pdf_text)
    figures = {f["id"]: f for f in html_figures(built_site)}
    assert sorted(e[1] for e in entries) == sorted(figures)
    offset = _first_body_page(pdf)
    for number, fig_id, printed_page in entries:
        assert number == figures[fig_id]["number"], fig_id
        text = squash(page_text(pdf, int(printed_page) + offset))
        assert squash(f"图{number}{figures[fig_id]['caption']}") in text, f"{fig_id} not on page {printed_page}"
        assert f"（{fig_id}）" in text  # the stable id, in the paper citation under the figure


def _first_body_page(pdf) -> int:
    """Physical page index of printed page 1 less one (title page and contents come before)."""
    for i in range(1, 10):
        lines = [l.strip() for l in page_text(pdf, i).splitlines() if l.strip()]
        if lines and lines[-1] == "1" and "导读" in "".join(lines):
            return i - 1
    raise AssertionError("printed page 1 (导读) not found")


def test_ids_copy_out_of_the_pdf_as_typed(pdf, pdf_text):
    """A report writer copies a figure id from the PDF: it must be the ASCII id."""
    assert "\u2011" not in pdf_text and "\u00ad" not in pdf_text  # no look-alike hyphens
    for item in yaml.safe_load((REPO / "book" / "figures.yaml").read_text(encoding="utf-8")):
        assert pdf_text.count(item["id"]) >= 2, item["id"]  # under the figure and in the index


def test_figures_are_vector(pdf):
    """Charts come in as PDF drawings: no page carries a raster image."""
    reader = pypdf.PdfReader(pdf)
    rasters = [(i + 1, img.name) for i, p in enumerate(reader.pages) for img in p.images]
    assert rasters == []
    assert sum(1 for p in reader.pages if "/XObject" in (p.get("/Resources") or {})) >= 9


def test_fonts_are_embedded_cjk_with_a_latin_companion(pdf):
    out = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True, check=True).stdout
    rows = out.splitlines()[2:]
    assert rows
    names = [r.split()[0] for r in rows]
    flags = [re.search(r"\s(yes|no)\s+(yes|no)\s+(yes|no)\s+\d+\s+\d+$", r) for r in rows]
    assert all(flags), rows
    not_embedded = [r for r, f in zip(rows, flags) if f.group(1) != "yes"]
    assert not_embedded == [], f"fonts not embedded: {not_embedded}"
    assert any("NotoSerifCJK" in n for n in names) and any("NotoSansCJK" in n for n in names)
    assert any("TeXGyreTermes" in n for n in names)


def test_latex_log_has_no_missing_character_and_no_warning(built_site):
    """The final xelatex pass: every glyph found, no font substituted, no undefined reference,
    nothing too wide for its line."""
    log = built_site["out"] / ".staging" / "_build" / "latex" / "zzreview-2021.log"
    text = log.read_text(encoding="utf-8", errors="replace")
    written = re.search(r"Output written on zzreview-2021\.(xdv|pdf) \((\d+) pages", text)
    assert written and int(written.group(2)) == len(pypdf.PdfReader(built_site["pdf"]).pages)
    assert "Missing character" not in text
    problems = re.findall(r"^.*(?:Warning:|Overfull \\[hv]box|Undefined control).*$", text, re.M)
    assert problems == [], problems[:10]


def test_nothing_is_printed_in_the_margins(pdf, tmp_path):
    """Tables, long lines and charts fit the page width: rendered pages have no ink beyond the
    text block (word boxes would not do: a full-width comma's blank half may hang over)."""
    from PIL import Image

    dpi = 36
    subprocess.run(["pdftoppm", "-r", str(dpi), "-gray", str(pdf), str(tmp_path / "p")], check=True)
    margin = round(MARGIN_PT / 72 * dpi) - 1
    inked = []
    for png in sorted(tmp_path.glob("p-*.png")):
        image = Image.open(png)
        left, right = image.crop((0, 0, margin, image.height)), image.crop((image.width - margin, 0, image.width, image.height))
        if min(left.getextrema()[0], right.getextrema()[0]) < 200:
            inked.append(png.stem)
    assert inked == [], f"ink in the side margins of pages {inked}"


def test_metadata_and_bookmarks(pdf):
    reader = pypdf.PdfReader(pdf)
    meta = reader.metadata
    assert "漳州公安 2021" in meta.title and meta.author == "漳州公安2021注释版回顾编写组"
    assert "2021" in meta.subject and re.search(r"[\u4e00-\u9fff]", meta.subject)
    assert reader.trailer["/Root"]["/Lang"] == "zh-CN"
    top = [o.title for o in reader.outline if not isinstance(o, list)]
    parts = [p["caption"] for p in TOC["parts"]]
    assert top == ["导读", *parts]
    # under each part, its chapters, in the order of _toc.yml
    nested = [o for o in reader.outline if isinstance(o, list)]
    numbered = [o.title for o in nested[1] if not isinstance(o, list)]
    assert len(numbered) == len(TOC["parts"][0]["chapters"])
    assert all(re.match(r"^\d+\s", t) for t in numbered), numbered


def test_title_page_names_source_version_and_date(pdf):
    text = squash(page_text(pdf, 1))
    release = meta.release()  # the release a reader quotes (CITATION.cff), not the commit
    assert "漳州公安2021" in text and "可复现的注释版回顾" in text
    assert release["version"] in text and squash(when_text(release["date"])) + "发布" in text
    assert os.environ["ZZREVIEW_VERSION"].removesuffix("-dirty") not in text
    assert "报纸名称不详" in text  # what the source does not say is said to be unknown
    import json
    dp = json.loads((REPO / "data" / "datapackage.json").read_text(encoding="utf-8"))
    sha = next(r for r in dp["resources"] if r["name"] == "source-page")["hash"].split(":", 1)[1]
    assert sha not in text  # a reader's page: the hash is in the site's 技术信息


def test_pages_render_and_are_kept_for_a_person_to_look_at(pdf):
    """Title page, contents, a chapter opening and a page with a chart, as PNGs in test-artifacts/pdf."""
    from PIL import Image

    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    ARTIFACTS.mkdir(parents=True)
    wanted = {"title": 1, "contents": 2}
    for i in range(3, len(pypdf.PdfReader(pdf).pages) + 1):
        text = page_text(pdf, i)
        if "chapter" not in wanted and re.search(r"^第\s*1\s*章", text, re.M):
            wanted["chapter"] = i
        if "chart" not in wanted and "引用本图（纸本）" in text:  # the line under every figure
            wanted["chart"] = i
    assert set(wanted) == {"title", "contents", "chapter", "chart"}, wanted
    for name, number in wanted.items():
        subprocess.run(["pdftoppm", "-r", "60", "-png", "-singlefile", "-f", str(number), "-l", str(number),
                        str(pdf), str(ARTIFACTS / name)], check=True)
        image = Image.open(ARTIFACTS / f"{name}.png").convert("L")
        dark = sum(image.histogram()[:128])
        assert dark > 500, f"{name} page {number} renders (almost) blank"


def test_a_glyph_missing_from_the_fonts_fails_typesetting(built_site, tmp_path):
    """The book's own LaTeX with one character no installed font has: typesetting stops and
    names it (no blank box ships)."""
    from zzreview.paper import pdf as pdfmod

    latex = tmp_path / "latex"
    shutil.copytree(built_site["out"] / ".staging" / "_build" / "latex", latex)
    tex = latex / f"{meta.pdf_name()}.tex"
    text = tex.read_text(encoding="utf-8")
    assert "本书把一张报纸版面" in text
    tex.write_text(text.replace("本书把一张报纸版面", "本书把一张\U0001F697报纸版面", 1), encoding="utf-8")
    # typeset as jupyter-book does (`make all-pdf`), then checked as the build checks it
    subprocess.run(["make", "all-pdf"], cwd=latex, capture_output=True, timeout=600)
    with pytest.raises(pdfmod.TypesetError, match=r"Missing character: There is no \U0001F697"):
        pdfmod.checked(latex)


def test_a_failed_pdf_step_publishes_nothing(built_site, tmp_path):
    """HTML built but the PDF step fails (a broken latexmk): neither output changes."""
    from test_bad_input import _tree_digest

    out = tmp_path / "out"
    shutil.copytree(built_site["out"], out, symlinks=True)
    before = {name: _tree_digest(out / name) for name in ("html", "pdf")}
    stub = tmp_path / "bin"
    stub.mkdir()
    (stub / "latexmk").write_text("#!/bin/sh\necho '! Emergency stop (test stub).'\nexit 1\n")
    (stub / "latexmk").chmod(0o755)
    # the same data read from another folder: the build runs (and re-reads nothing) up to the PDF
    data = tmp_path / "data"
    shutil.copytree(REPO / "data", data)
    proc = run_build(out, {"PATH": f"{stub}:{os.environ['PATH']}", "ZZREVIEW_DATA_DIR": str(data)})
    assert proc.returncode != 0
    assert "xelatex 排版失败" in proc.stderr and "Emergency stop" in proc.stderr and "未受影响" in proc.stderr, \
        proc.stderr[-2000:]
    assert {name: _tree_digest(out / name) for name in ("html", "pdf")} == before


CJK_CHAR = "[\u3400-\u9fff]"


def test_spaces_between_chinese_words_show_in_the_pdf(built_site, pdf_text):
    """Every space the HTML shows between two Chinese characters (a byline's two names, a
    headline's halves, a slogan) is a visible gap on paper too: xeCJK would silently drop it."""
    pairs = set()
    for doc in toc_files():
        main = page(built_site, doc).select_one("main")
        for el in main.select("pre, code, .cell_input, .zz-cite, .zz-notebook, .zz-pdf, .headerlink, "
                              ".toctree-wrapper"):
            el.replace_with(" ‹› " if el.name == "code" else "")  # code, and what only the screen has
        for m in re.finditer(rf"({CJK_CHAR}{{2}}) +({CJK_CHAR}{{2}})", main.get_text()):
            pairs.add((m.group(1), m.group(2)))
    assert len(pairs) >= 5, pairs  # bylines, headlines, the slogan: an empty scan would prove nothing
    missing = sorted(f"{a} {b}" for a, b in pairs if not re.search(rf"{a}[\s\u3000]+{b}", pdf_text))
    assert missing == [], f"spaces lost in the PDF: {missing}"
