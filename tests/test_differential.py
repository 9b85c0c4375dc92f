"""Never stale, shown by difference: an incremental build, taken through rounds of edits of every
kind, ends as the same bytes as a clean build of the same tree. The rounds undo edits: the first
build makes every edit at once (from the session's executed chapters), then each round puts one
group back, so the last tree is the repository's own and the clean build to compare with is the
session's. A round that missed a change leaves the edited output in place, and the rounds after
it run other chapters and write fewer pages, so the difference stays visible. (The suite's
longest test, in a file of its own: pytest-xdist's loadfile gives it a worker of its own.)"""
import json
import re
import shutil

import pytest

from test_cache import DRAWING, _replace
from test_cite import REGISTRY, sidecar, soup_of
from zzreview.site.sphinxext import EXECUTION_RECORD


def _swap_cells(path, a: str, b: str, columns=("value", "quote")):
    """Swap two rows' cells: both rows still valid, both values changed (again: swapped back)."""
    import csv
    import io

    text = path.read_text(encoding="utf-8")
    rows = list(csv.DictReader(io.StringIO(text)))
    ra, rb = (next(r for r in rows if r["id"] == x) for x in (a, b))
    for col in columns:
        ra[col], rb[col] = rb[col], ra[col]
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    path.write_text(buf.getvalue(), encoding="utf-8")


RUN_ONLY = {EXECUTION_RECORD}  # when and how long each notebook ran: the one file allowed to differ
SEARCH_INDEX = "searchindex.js"  # compared by what it finds (below)


def _search_terms(site) -> dict:
    """The search index as a reader's query meets it. Sphinx's incremental index keeps a word
    whose only page was re-read without it, with no page to show; a clean build has no such
    word. Either way a search for it finds nothing, so words with no page are left out."""
    from sphinx.search import js_index

    index = js_index.loads((site / SEARCH_INDEX).read_text(encoding="utf-8"))
    for key in ("terms", "titleterms"):
        index[key] = {word: pages for word, pages in index[key].items() if pages not in ([], {})}
    return index


def _figure_numbers_agree(html, registry_ids: set) -> None:
    """What each page prints as a figure's number is what that figure's sidecar (and so its
    citations) says: one authority, also after a renumbering."""
    site, checked = {"html": html}, set()
    for page in (html / "book").rglob("*.html"):
        for figure in soup_of(site, str(page.relative_to(html).with_suffix(""))).select("figure[id^=fig-]"):
            if figure["id"] not in registry_ids:
                continue  # the test's own drawing: no registry entry, no sidecar
            printed = re.match(r"图 (\S+)", figure.find("figcaption").get_text(" ", strip=True)).group(1)
            assert sidecar(site, figure["id"])["number"] == f"图 {printed}", (page.name, figure["id"])
            checked.add(figure["id"])
    assert "fig-risk-vehicles" in checked and checked == registry_ids


@pytest.mark.build
def test_an_incremental_build_is_byte_identical_to_a_clean_build_of_the_same_tree(built_site, tmp_path):
    """From the session's executed chapters, every edit at once: the chart code (every drawing
    chapter runs); a value, a label, a figure's registry entry, the layout and the exclusions, and
    a figure asked for with a keyword; a new figure in the part's first chapter, which renumbers
    the pages after it. Then, one round each: the new figure taken out (prose: nothing runs; the
    chapters after it, not re-read, and the figure index number as before: every page is
    written), and one drawing deleted (its chapter alone runs again); the chart code put back
    (the drawing chapters run); last, the data and the rest put back (chapters apart from the
    chart round's, and only their pages are written, so a page
    left as an earlier round wrote it stays visible). The book is
    then the session's clean build of the same tree, byte for byte; after the first build, every
    page prints the figure numbers its figures' sidecars give."""
    import os
    import subprocess
    import sys

    from test_bad_input import _tree_digest
    from conftest import SESSION_COMMIT
    from workspace import repo_copy

    copy = repo_copy(tmp_path / "repo", history=SESSION_COMMIT)  # its pages show the history the session's do
    env = {**{k: v for k, v in os.environ.items() if k != "ZZREVIEW_DATA_DIR"}, "PYTHONPATH": str(copy)}

    def build(out, *extra):
        proc = subprocess.run([sys.executable, "-m", "zzreview", "build", "--out", str(out), *extra],
                              cwd=copy, capture_output=True, text=True, env=env, timeout=900)
        assert proc.returncode == 0, proc.stderr[-3000:]
        record = json.loads((out / "html" / "executions.json").read_text(encoding="utf-8"))
        return {c["notebook"] for c in record["chapters"] if c["status"] == "ran"}

    # each edit as (file, original, edited): made forwards at first, undone by its round
    chart = [(copy / "zzreview" / "drawing" / "charts.py", '"bar": "#2f6f9f"', '"bar": "#2f6f90"')]
    data = [
        (copy / "data" / "metrics.csv", ",迷途儿童年龄,", ",迷途儿童的年龄,"),  # a label
        (copy / "book" / "figures.yaml", "title: 平和县道路交通事故线上调解：接收与成功",
         "title: 平和县交通事故线上调解：接收与成功"),  # a registry entry
        (copy / "data" / "source" / "layout.yaml", 'paragraphs: ["404-415.1"]',
         'paragraphs: ["404-412", "413-415.1"]'),  # the layout
        (copy / "data" / "numeral_exclusions.csv", "报道所述年份（时间范围），不是数量。",
         "报道所述的年份（时间范围），不是数量。"),  # the exclusions
        # a figure asked for with a keyword and a space, which no regular expression over the code would see
        (copy / "book" / "review" / "risk.md", 'zz.figure("fig-risk-vehicles")', 'zz.figure (fig_id="fig-risk-vehicles")'),
    ]
    swapped = ("risk-vehicles-checked", "risk-vehicles-turned-back")  # two values (and their quotes)
    extra = [(copy / "book" / "review" / "forge.md", "## 注释\n",
              "## 注释\n\n```{figure} extra.*\n:name: fig-extra-test\n\n示意图\n```\n")]
    session = built_site["out"] / ".staging" / "_build"
    drawn = session / "generated" / "figures"
    extra_files = [copy / "book" / "review" / f"extra.{ext}" for ext in ("svg", "pdf")]  # one for each edition

    incremental = tmp_path / "incremental"
    for part in (".jupyter_cache", "generated"):  # the session's executed chapters: cached outputs name
        shutil.copytree(session / part, incremental / ".staging" / "_build" / part)  # drawings the same anywhere
    for path, original, edited in chart + data + extra:
        _replace(path, original, edited)
    _swap_cells(copy / "data" / "metrics.csv", *swapped)
    for made in extra_files:
        shutil.copyfile(drawn / f"fig-forge-ranks{made.suffix}", made)
    first = build(incremental)
    _figure_numbers_agree(incremental / "html", {f["id"] for f in REGISTRY})

    for path, original, edited in extra:
        _replace(path, edited, original)
    for made in extra_files:
        made.unlink()
    # and a drawing gone from the build's folder (cleaned by hand): the chapter that drew it runs
    (incremental / ".staging" / "_build" / "generated" / "figures" / "fig-jby-service.svg").unlink()
    assert build(incremental) == {"book/traffic/jingbaoyi"}

    for path, original, edited in chart:
        _replace(path, edited, original)
    assert build(incremental) == DRAWING

    for path, original, edited in data:
        _replace(path, edited, original)
    _swap_cells(copy / "data" / "metrics.csv", *swapped)
    put_back = build(incremental)
    assert {"book/review/risk", "book/news", "book/traffic/mediation", "book/newyear/nanjing",
            "book/appendix/method"} <= put_back
    # (every chapter that marks its text reads the whole exclusion list and figure registry, so the
    # reason and the title edited above re-run those too: coarser than a record per phrase)
    assert first == DRAWING | put_back  # the first build ran what the edits touched, and only that

    # the book's stylesheet alone edited: Sphinx writes no page for it, yet the site must follow
    css = (copy / "book" / "_static" / "zzreview.css", "blockquote { font-size: 0.95em; }", "blockquote { font-size: 0.96em; }")
    _replace(*css)
    assert build(incremental) == set()
    assert css[2] in (incremental / "html" / "_static" / "zzreview.css").read_text(encoding="utf-8")
    _replace(css[0], css[2], css[1])
    build(incremental)

    html = [(site / "html").resolve() for site in (incremental, built_site["out"])]
    assert _search_terms(html[0]) == _search_terms(html[1])
    for edition in ("html", "pdf"):
        a, b = (incremental / edition).resolve(), (built_site["out"] / edition).resolve()
        skip = RUN_ONLY | {SEARCH_INDEX}
        if _tree_digest(a, skip) != _tree_digest(b, skip):  # the execution record says how each ran
            differ = sorted(str(p.relative_to(a)) for p in a.rglob("*") if p.is_file() and str(p.relative_to(a)) not in skip
                            and (not (b / p.relative_to(a)).is_file() or p.read_bytes() != (b / p.relative_to(a)).read_bytes()))
            missing = sorted(str(p.relative_to(b)) for p in b.rglob("*") if not (a / p.relative_to(b)).exists())
            pytest.fail(f"{edition}: incremental differs from clean in {differ[:10]}; only in clean: {missing[:10]}")
