"""One real build of the book (README's build script, temp output), then what a reader gets."""
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml
from bs4 import BeautifulSoup

from conftest import REPO

pytestmark = pytest.mark.build

TOC = yaml.safe_load((REPO / "_toc.yml").read_text(encoding="utf-8"))
REGISTRY = yaml.safe_load((REPO / "book" / "figures.yaml").read_text(encoding="utf-8"))


def toc_files():
    files = [TOC["root"]]

    def walk(entries):
        for e in entries:
            files.append(e["file"])
            walk(e.get("sections", []))

    for part in TOC["parts"]:
        walk(part["chapters"])
    return files


def page(site, docname):
    return BeautifulSoup((site["html"] / f"{docname}.html").read_text(encoding="utf-8"), "html.parser")


def all_pages(site):
    return sorted(p for p in site["html"].rglob("*.html") if "_static" not in p.parts)


def test_every_chapter_page_exists_with_a_chinese_title(built_site):
    for doc in toc_files():
        soup = page(built_site, doc)
        h1 = soup.find("h1")
        assert h1 and re.search(r"[\u4e00-\u9fff]", h1.get_text()), doc


def test_every_registry_figure_is_numbered_captioned_and_drawn(built_site):
    section_page = {"review": "review/index", "review-forge": "review/forge", "review-risk": "review/risk",
                    "review-safety": "review/safety", "review-reform": "review/reform",
                    "traffic-jingbaoyi": "traffic/jingbaoyi", "traffic-mediation": "traffic/mediation",
                    "newyear-nanjing": "newyear/nanjing"}
    seen_numbers = set()
    for item in REGISTRY:
        soup = page(built_site, "book/" + section_page[item["section"]])
        figs = soup.select(f'figure#{item["id"]}')
        assert len(figs) == 1, f"{item['id']} appears {len(figs)} times"
        caption = figs[0].find("figcaption").get_text(" ", strip=True)
        number = re.match(r"图 (\d+\.\d+)", caption)
        assert number, caption
        assert number.group(1) not in seen_numbers
        seen_numbers.add(number.group(1))
        assert item["caption"].strip() in caption
        img = figs[0].find("img")
        assert re.search(r"[\u4e00-\u9fff]", img["alt"]), "alt text must be Chinese"
        path = (built_site["html"] / "book" / section_page[item["section"]]).parent / img["src"]
        assert path.suffix == ".svg" and path.stat().st_size > 10_000
        root = ET.parse(path).getroot()  # a real, complete SVG
        assert root.tag.endswith("svg") and len(list(root.iter())) > 50
    # the book's pages; each figure's own page and its embed (figures/) show it again by design
    total = sum(len(p.read_text(encoding="utf-8").split("<figure ")) - 1 for p in all_pages(built_site)
                if p.name not in ("search.html", "genindex.html") and p.parent.name != "figures")
    assert total == len(REGISTRY), "a figure is missing from the registry or shown twice"


def test_prose_references_resolve_to_figures(built_site):
    refs = 0
    for path in all_pages(built_site):
        soup = BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")
        for a in soup.select("span.std-numref"):
            link = a.find_parent("a")
            assert link and "#fig-" in link["href"], a
            refs += 1
    assert refs >= len(REGISTRY)


# ipykernel's notice at each start (jupyter-cache's kernels talk to the build over loopback TCP)
KERNEL_NOTICE = re.compile(r"\[IPKernelApp\] WARNING \| Kernel is running over TCP without encryption\..*$", re.M)
# ipykernel, shutting down, may find its output socket already closed and log that race (a
# kernel's own report after its chapter ran and was cached; nothing of the book is lost)
KERNEL_SHUTDOWN_RACE = re.compile(r"ERROR:tornado\.general:Uncaught exception in ZMQStream callback\n"
                                  r"Traceback \(most recent call last\):\n(?:[ \t].*\n)+"
                                  r"zmq\.error\.ZMQError: Socket operation on non-socket\n")


def test_build_log_is_clean(built_site):
    # the Sphinx log, and what the build printed (the kernels write to its output)
    text = "\n".join([built_site["log"], built_site["stdout"], built_site["stderr"]])
    text = KERNEL_NOTICE.sub("", KERNEL_SHUTDOWN_RACE.sub("", text))
    # (TeX's own notes between latexmk's passes, "LaTeX Warning: … Rerun", are not problems)
    for bad in ("Glyph", "missing from font", "Traceback", "WARNING", "UserWarning", "DeprecationWarning",
                "FutureWarning", "ERROR", "Exception"):
        assert bad not in text, f"{bad!r} in the build output"
    assert "build succeeded" in built_site["log"]


def test_no_page_loads_anything_from_outside(built_site):
    loads = {"script": "src", "link": "href", "img": "src", "iframe": "src", "source": "src",
             "video": "src", "audio": "src", "embed": "src", "object": "data"}
    for path in all_pages(built_site):
        soup = BeautifulSoup(path.read_text(encoding="utf-8"), "html.parser")
        for tag, attr in loads.items():
            for el in soup.find_all(tag):
                url = el.get(attr) or ""
                if tag == "link" and "stylesheet" not in (el.get("rel") or []) and "icon" not in (el.get("rel") or []) \
                        and "preload" not in (el.get("rel") or []):
                    continue
                assert not re.match(r"^(https?:)?//", url), f"{path.name}: <{tag}> loads {url}"


def test_chinese_search_finds_the_chapter_holding_a_term(built_site):
    text = (built_site["html"] / "searchindex.js").read_text(encoding="utf-8")
    index = json.loads(text[text.index("(") + 1:text.rindex(")")])
    docs = index["docnames"]
    for term, doc in [("劝返", "book/review/risk"), ("调解", "book/traffic/mediation"),
                      ("垫付", "book/traffic/jingbaoyi"), ("酒醉", "book/newyear/nanjing")]:
        hits = set()
        for table in ("terms", "titleterms"):  # Sphinx files a word once per page, title first
            found = index[table].get(term, [])
            hits |= set(found if isinstance(found, list) else [found])
        assert hits, f"{term} is not in the search index"
        assert docs.index(doc) in hits, f"{term} does not lead to {doc}"


def test_lower_bounds_are_marked_on_the_page(built_site):
    text = page(built_site, "book/review/risk").get_text()
    assert "≥ 1,012,000 条" in text and "下限" in text


def test_charts_fail_on_a_missing_glyph():
    from zzreview.drawing import charts
    import matplotlib.pyplot as plt

    charts.setup()
    fig, ax = plt.subplots()
    ax.set_title("检查车辆 \U0001F697")  # an emoji no installed face has
    with pytest.raises(UserWarning, match="Glyph"):
        fig.savefig(Path("/dev/null"), format="png")
    plt.close(fig)


def test_charts_fail_when_a_label_would_be_clipped():
    """A label too long for the chart's margin stops the build instead of shipping cut off."""
    from zzreview.drawing import charts
    import matplotlib.pyplot as plt

    charts.setup()
    row = {"label": "短", "value": 5.0, "unit": "个", "qualifier": "exact"}
    fig = charts.magnitudes([row, {**row, "label": "很" * 60}], "测试", "资料来源：测试")
    charts.assert_inside(fig)  # wrapped to lines that fit: passes
    plt.close(fig)
    fig = plt.figure(figsize=(3, 2))
    fig.text(-0.2, 0.5, "超出左边的标签")
    with pytest.raises(charts.ClippedTextError, match="超出左边的标签"):
        charts.assert_inside(fig)
    plt.close(fig)


def _main_text(site, docname) -> str:
    main = page(site, docname).select_one("main")
    for el in main.select(".headerlink"):
        el.decompose()
    return main.get_text()


def test_data_is_shown_byte_identical_to_the_data_package(built_site):
    """Typography must not alter data: every name, type, pattern and allowed value of the data
    package, and every metric's id and quote, appear in the pages exactly as in the files."""
    import csv

    method = _main_text(built_site, "book/appendix/method")
    dp = json.loads((REPO / "data" / "datapackage.json").read_text(encoding="utf-8"))
    wanted = []
    for res in dp["resources"]:
        wanted.append(res["path"])
        for f in res.get("schema", {}).get("fields", []):
            wanted += [f["name"], f["type"]]
            for key, val in f.get("constraints", {}).items():
                wanted += [str(v) for v in val] if key == "enum" else [val if isinstance(val, str) else json.dumps(val)]
    missing = [w for w in wanted if w not in method]
    assert missing == [], f"shown differently (or not at all) in the data dictionary: {missing}"
    assert "--01-01" in method and "\u2013" not in method  # no dash turned into an en dash
    assert "`" not in method, "literal backticks in the data dictionary"
    section_page = {s: d for d in toc_files() for s in re.findall(r'zz\.metrics_table\("([a-z-]+)"\)',
                                                                 (REPO / f"{d}.md").read_text(encoding="utf-8"))}
    with open(REPO / "data" / "metrics.csv", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            text = _main_text(built_site, section_page[row["section"]])
            assert row["id"] in text and f"「{row['quote']}」" in text, row["id"]


def test_the_site_carries_the_whole_data_package(built_site):
    """data/datapackage.json on the site validates there: every file it names is beside it, as in
    the repository."""
    from frictionless import Package

    site = built_site["html"] / "data"
    report = Package(str(site / "datapackage.json")).validate()
    assert report.valid, [e.message for task in report.tasks for e in task.errors][:5]
    for path in sorted(p for p in site.rglob("*") if p.is_file()):
        assert path.read_bytes() == (REPO / "data" / path.relative_to(site)).read_bytes(), path


def test_no_line_break_between_chinese_characters_reaches_a_page(built_site):
    """The Markdown wraps Chinese prose anywhere; a browser shows a line break between two
    Chinese characters as a gap, so none may reach the page (code and preformatted text aside)."""
    import re

    gap = re.compile(r"[\u4e00-\u9fff，。、；：（）“”]\n[\u4e00-\u9fff，。、；：（）“”]")
    found = {}
    for page in all_pages(built_site):
        body = re.sub(r"<(script|style|pre|code|textarea)\b.*?</\1>", "CODE", page.read_text(encoding="utf-8"), flags=re.S)
        hits = gap.findall(body)
        if hits:
            found[str(page.relative_to(built_site["html"]))] = hits[:3]
    assert not found, found


def test_the_guide_names_every_chart_form_a_figure_may_use(built_site):
    """The 复现指南's step for adding a figure lists the forms a registry entry may name: those
    of zzreview/drawing/forms.py (which charts.DRAW must draw), not a copy typed into the page."""
    from zzreview.drawing.forms import FORMS

    guide = page(built_site, "book/appendix/reproduce")
    step = next(li for li in guide.select("li") if "figures.yaml" in li.get_text())
    assert [c.get_text() for c in step.select("code") if c.get_text() in FORMS] == list(FORMS)
    assert "、".join(FORMS) in step.get_text()
