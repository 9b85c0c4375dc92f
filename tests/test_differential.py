"""Never stale, shown by difference: after rounds of edits of every kind, an incremental build
gives the same bytes as a clean build of the same tree. (The suite's longest test, in a file of
its own: pytest-xdist's loadfile gives it a worker of its own.)"""
import re
import shutil

import pytest

from test_cache import DRAWING, _replace
from test_cite import REGISTRY, sidecar, soup_of
from zzreview import execute


def _swap_cells(path, a: str, b: str, columns=("value", "quote")):
    """Swap two rows' cells: both rows still valid, both values changed."""
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


RUN_ONLY = {execute.EXECUTION_RECORD}  # when and how long each notebook ran: the one file allowed to differ


@pytest.mark.build
def test_an_incremental_build_is_byte_identical_to_a_clean_build_of_the_same_tree(built_site, tmp_path):
    """A first build seeded from the session's (nothing executes), then two rounds of edits, each
    followed by an incremental build: first the chart code (every drawing chapter runs), then a
    value, a label, a figure's registry entry, the layout and the exclusions, and a figure asked
    for with a keyword (chapters apart from one another, so a missed change in either round stays
    visible); then, alone, a new figure that renumbers the pages after it; then a clean build of
    the final tree. Both editions must be the same bytes, and every page
    prints the figure numbers its figures' sidecars give."""
    import os
    import subprocess
    import sys

    from test_bad_input import _repo_copy, _tree_digest

    copy = _repo_copy(tmp_path)
    env = {**{k: v for k, v in os.environ.items() if k != "ZZREVIEW_DATA_DIR"}, "PYTHONPATH": str(copy)}

    def build(out, *extra):
        proc = subprocess.run([sys.executable, "-m", "zzreview", "build", "--out", str(out), "--quiet", *extra],
                              cwd=copy, capture_output=True, text=True, env=env, timeout=900)
        assert proc.returncode == 0, proc.stderr[-3000:]
        return set(re.findall(r"executed (book/\S+) in", proc.stdout))

    # the first build starts from the session's executed chapters (made in the repository, not in
    # this copy: executed chapters name their drawings the same wherever a build is)
    from zzreview.__main__ import seed

    incremental = tmp_path / "incremental"
    assert seed(incremental, built_site["out"], screen_only=False)
    assert build(incremental) == set()
    _replace(copy / "zzreview" / "charts.py", '"bar": "#2f6f9f"', '"bar": "#2f6f90"')
    assert build(incremental) == DRAWING
    _swap_cells(copy / "data" / "metrics.csv", "risk-vehicles-checked", "risk-vehicles-turned-back")  # values
    _replace(copy / "data" / "metrics.csv", ",迷途儿童年龄,", ",迷途儿童的年龄,")  # a label
    _replace(copy / "book" / "figures.yaml", "title: 平和县道路交通事故线上调解：接收与成功",
             "title: 平和县交通事故线上调解：接收与成功")  # a registry entry
    _replace(copy / "data" / "source" / "layout.yaml", 'paragraphs: ["404-415.1"]',
             'paragraphs: ["404-412", "413-415.1"]')  # the layout
    _replace(copy / "data" / "numeral_exclusions.csv", "报道所述年份（时间范围），不是数量。",
             "报道所述的年份（时间范围），不是数量。")  # the exclusions
    # a figure asked for with a keyword and a space, which no regular expression over the code would see
    _replace(copy / "book" / "review" / "risk.md", 'zz.figure("fig-risk-vehicles")', 'zz.figure (fig_id="fig-risk-vehicles")')
    second = build(incremental)
    assert {"book/review/risk", "book/news", "book/traffic/mediation", "book/newyear/nanjing",
            "book/appendix/method"} <= second
    assert not second & {"book/review/forge", "book/review/reform", "book/traffic/jingbaoyi"}

    # alone: a figure added to the part's first chapter (prose: nothing runs); the chapters after
    # it (not re-read) and the figure index show new numbers
    drawn = built_site["out"] / ".staging" / "_generated" / "figures"
    for ext in ("svg", "pdf"):  # a drawing for each edition (Sphinx picks one for extra.*)
        shutil.copyfile(drawn / f"fig-forge-ranks.{ext}", copy / "book" / "review" / f"extra.{ext}")
    _replace(copy / "book" / "review" / "forge.md", "## 图表\n",
             "## 图表\n\n```{figure} extra.*\n:name: fig-extra-test\n\n示意图\n```\n")
    assert build(incremental) == set()

    clean = tmp_path / "clean"
    build(clean)
    for edition in ("html", "pdf"):
        a, b = (incremental / edition).resolve(), (clean / edition).resolve()
        if _tree_digest(a, RUN_ONLY) != _tree_digest(b, RUN_ONLY):  # the execution record says how each ran
            differ = sorted(str(p.relative_to(a)) for p in a.rglob("*") if p.is_file() and str(p.relative_to(a)) not in RUN_ONLY
                            and (not (b / p.relative_to(a)).is_file() or p.read_bytes() != (b / p.relative_to(a)).read_bytes()))
            missing = sorted(str(p.relative_to(b)) for p in b.rglob("*") if not (a / p.relative_to(b)).exists())
            pytest.fail(f"{edition}: incremental differs from clean in {differ[:10]}; only in clean: {missing[:10]}")

    # figure numbers from one authority: what each page prints is what its figure's sidecar (and
    # so its citations) says, after the renumbering and for the figure asked for with a keyword
    site, checked = {"html": clean / "html"}, set()
    for page in (clean / "html" / "book").rglob("*.html"):
        for figure in soup_of(site, str(page.relative_to(clean / "html").with_suffix(""))).select("figure[id^=fig-]"):
            if figure["id"] == "fig-extra-test":
                continue  # the test's own drawing: no registry entry, no sidecar
            printed = re.match(r"图 (\S+)", figure.find("figcaption").get_text(" ", strip=True)).group(1)
            assert sidecar(site, figure["id"])["number"] == f"图 {printed}", (page.name, figure["id"])
            checked.add(figure["id"])
    assert "fig-risk-vehicles" in checked and len(checked) == len(REGISTRY)
