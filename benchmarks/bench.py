"""Build-speed benchmark: prints a table of medians and their ratio to the floor. Not a test.

    .venv/bin/python benchmarks/bench.py [--runs 3] [--suite-runs 1]

floor      every chapter's code cells executed in one warm Python process as a plain script
           (the least work any build must do)
clean      clean build (HTML and PDF) into an empty folder (no cache)
no-change  the same build again
prose      after appending a sentence to one chapter
data       after changing one value (a label) in data/metrics.csv (on a copy of data/)
style      after changing the chart style module (zzreview/drawing/charts.py; restored afterwards)
pdf        the PDF's share of a clean build (Sphinx LaTeX writer + latexmk/xelatex), from its phases,
           and how much of it the build waits for (xelatex runs beside Sphinx's HTML run)
tests      the test suite (scripts/test.sh)
preview    `python -m zzreview preview`: seconds from writing a file to the served page showing the
           change, for one value in data/metrics.csv and for a prose-only edit (5 of each;
           `--latency` measures only these)
scaling   synthetic books of 1×, 4× and 16× the main part's chapters (copies with suffixed
           figure ids, in a temporary copy of the project): clean build and one-value rebuild
           (`--scale 1,4,16` measures only these)
Then every target of issue #14 with the measured figure and whether it is met.
Then page weight, measured in Debian chromium at 390 px against the budget (first view of each
chapter, and the same chapter as the second page of a visit), the largest figure, the whole site,
and the PDF's pages and size. `--weights` builds once and prints only that.
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PY = sys.executable
sys.path.insert(0, str(REPO / "tests"))  # tests/browsing.py, workspace.py: measured as the tests do

FLOOR_SCRIPT = r"""
import ast, os, tempfile, time
os.environ["ZZREVIEW_GENERATED_DIR"] = tempfile.mkdtemp()
os.environ["MPLBACKEND"] = "Agg"
import zzreview.book as zz  # warm: imports are not part of the floor
from zzreview import execute
zz.setup()
chapters = [(ch.path.parent, [c.source for c in ch.notebook.cells if c.cell_type == "code"])
            for ch in execute.chapters()]
start = time.perf_counter()
for cwd, sources in chapters:
    os.chdir(cwd)
    ns = {}
    for src in sources:
        tree = ast.parse(src)
        last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
        exec(compile(tree, "<cell>", "exec"), ns)
        if last is not None:  # what the page shows: render it as the book would
            shown = eval(compile(ast.Expression(last.value), "<cell>", "eval"), ns)
            getattr(shown, "_repr_markdown_", getattr(shown, "markdown", lambda: None))()
print(time.perf_counter() - start)
"""


def floor() -> float:
    # figures into an empty folder each time: a folder holding the same drawings would be reused
    with tempfile.TemporaryDirectory() as generated:
        out = subprocess.run([PY, "-c", FLOOR_SCRIPT], capture_output=True, text=True, cwd=REPO, check=True,
                             env={**os.environ, "ZZREVIEW_GENERATED_DIR": generated})
    return float(out.stdout.strip().splitlines()[-1])


PHASES: list[dict] = []  # each build's phases, as it prints them ("sphinx latex 5.1 s")


def build(out: Path, env: dict | None = None, fresh: bool = False) -> float:
    cmd = [PY, "-m", "zzreview", "build", "--out", str(out), "--quiet"] + (["--fresh"] if fresh else [])
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, env={**os.environ, **(env or {})})
    took = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"build failed:\n{proc.stderr[-3000:]}")
    PHASES.append({k: float(v) for k, v in re.findall(r"([a-z][a-z ]*?) (\d+\.\d) s", proc.stdout)})
    return took


def median_of(runs: int, step) -> float:
    return statistics.median(step(i) for i in range(runs))


def page_weights(html: Path) -> list[tuple[str, int, int]]:
    """Every chapter's weight in Debian chromium at 390 px (tests/browsing.py, as the tests
    measure it): first view with an empty cache, and as the second page of a visit."""
    from browsing import CHROMIUM, CHROMIUM_ARGS, page_weights as weigh_pages, served
    from playwright.sync_api import sync_playwright

    rels = sorted(str(p.relative_to(html)) for p in html.rglob("book/**/*.html"))
    with served(html.resolve()) as base, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            return weigh_pages(browser, base, rels)
        finally:
            browser.close()


def print_weights(out: Path) -> None:
    from browsing import FIRST_VIEW_KB, SECOND_VIEW_KB

    html = out / "html"
    rows = page_weights(html)
    print(f"\npage weight at 390 px, KB (budget: first view ≤ {FIRST_VIEW_KB}, second page of a visit ≤ {SECOND_VIEW_KB}):")
    print(f"  {'page':36} {'first':>7} {'second':>7}  within budget")
    for rel, first, second in sorted(rows, key=lambda r: -r[1]):
        ok = first <= FIRST_VIEW_KB * 1024 and second <= SECOND_VIEW_KB * 1024
        print(f"  {rel:36} {first / 1024:7.0f} {second / 1024:7.0f}  {'yes' if ok else 'NO'}")
    images = sorted(html.resolve().rglob("_images/*"), key=lambda p: p.stat().st_size)
    total = sum(p.stat().st_size for p in html.resolve().rglob("*") if p.is_file())
    if images:
        print(f"largest figure: {images[-1].name} {images[-1].stat().st_size / 1024:.1f} KB")
    print(f"whole site: {total / 1024 / 1024:.2f} MB")
    import pypdf

    pdf = next((out / "pdf").glob("*.pdf"))
    print(f"PDF: {len(pypdf.PdfReader(pdf).pages)} pages, {pdf.stat().st_size / 1024 / 1024:.2f} MB")


def preview_latency(out: Path, data: Path, runs: int) -> tuple[list[float], list[float]]:
    """End to end, as an analyst sees it: write a file, then the served page shows the change.
    The preview starts from a copy of `out` (its cache and records) and reads `data`."""
    import signal
    import socket
    import urllib.request

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    folder = out.parent / "preview"
    shutil.rmtree(folder, ignore_errors=True)
    shutil.copytree(out, folder, symlinks=True)
    env = {**os.environ, "ZZREVIEW_DATA_DIR": str(data), "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([PY, "-m", "zzreview", "preview", "--port", str(port), "--out", str(folder)],
                            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)

    def shows(rel: str, marker: str, limit: float = 120) -> float:
        start = time.perf_counter()
        while time.perf_counter() - start < limit:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/{rel}") as page:
                    if marker in page.read().decode("utf-8"):
                        return time.perf_counter() - start
            except OSError:
                pass
            time.sleep(0.02)
        raise RuntimeError(f"{rel} never showed {marker!r}")

    data_times, prose_times = [], []
    chapter = REPO / "book" / "review" / "safety.md"
    original = chapter.read_text(encoding="utf-8")
    metrics = data / "metrics.csv"
    base = metrics.read_text(encoding="utf-8")
    try:
        for line in proc.stdout:
            if line.startswith("preview: built"):
                break
        for i in range(runs):
            marker = f"劝返车辆{'甲乙丙丁戊己'[i % 6]}{i}"
            metrics.write_text(base.replace(",劝返车辆,", f",{marker},", 1), encoding="utf-8")
            data_times.append(shows("book/review/risk.html", marker))
            marker = f"补充说明第{i + 1}句"
            chapter.write_text(original + f"\n{marker}。\n", encoding="utf-8")
            prose_times.append(shows("book/review/safety.html", marker))
    finally:
        chapter.write_text(original, encoding="utf-8")
        metrics.write_text(base, encoding="utf-8")
        os.killpg(proc.pid, signal.SIGTERM)
        said = proc.communicate()[0]
    print("the preview's own account of its rebuilds (phases in seconds):")
    print("".join(f"  {line}\n" for line in said.splitlines() if line.startswith("preview: built")), end="")
    return data_times, prose_times


def synthetic_book(factor: int, folder: Path) -> Path:
    """A copy of the project whose main part holds `factor` times the chapters: copies of the real
    ones (not the front page or the appendices), their figures registered again under suffixed
    ids, each copy set a part of its own in the table of contents."""
    import yaml

    from workspace import repo_copy

    repo_copy(folder)
    toc = yaml.safe_load((folder / "_toc.yml").read_text(encoding="utf-8"))
    registry = yaml.safe_load((folder / "book" / "figures.yaml").read_text(encoding="utf-8"))
    main_part = toc["parts"][0]
    extra_registry, extra_parts = [], []
    for k in range(2, factor + 1):
        def copy(doc: str) -> str:
            text = (folder / f"{doc}.md").read_text(encoding="utf-8")
            for item in registry:
                text = text.replace(item["id"], f"{item['id']}-x{k}")
            (folder / f"{doc}-x{k}.md").write_text(text, encoding="utf-8")
            return f"{doc}-x{k}"

        chapters = []
        for entry in main_part["chapters"]:
            copied = {"file": copy(entry["file"])}
            if entry.get("sections"):
                copied["sections"] = [{"file": copy(s["file"])} for s in entry["sections"]]
            chapters.append(copied)
        extra_parts.append({"caption": f"副本 {k}", "numbered": 2, "chapters": chapters})
        extra_registry += [{**item, "id": f"{item['id']}-x{k}"} for item in registry]
    toc["parts"][1:1] = extra_parts
    (folder / "_toc.yml").write_text(yaml.safe_dump(toc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    (folder / "book" / "figures.yaml").write_text(
        yaml.safe_dump(registry + extra_registry, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return folder


def scaling(work: Path, factors: list[int]) -> list[tuple[int, int, float, float]]:
    """(factor, chapters, clean build s, one-value rebuild s) of synthetic books."""
    rows = []
    for factor in factors:
        folder = synthetic_book(factor, work / f"x{factor}")
        env = {**{k: v for k, v in os.environ.items() if k != "ZZREVIEW_DATA_DIR"}, "PYTHONPATH": str(folder)}

        def timed() -> float:
            start = time.perf_counter()
            proc = subprocess.run([PY, "-m", "zzreview", "build", "--quiet", "--out", str(folder / "_build")],
                                  cwd=folder, env=env, capture_output=True, text=True)
            if proc.returncode != 0:
                raise RuntimeError(f"{factor}× build failed:\n{proc.stderr[-3000:]}")
            return time.perf_counter() - start

        clean = timed()
        metrics = folder / "data" / "metrics.csv"
        metrics.write_text(metrics.read_text(encoding="utf-8").replace(",劝返车辆,", ",劝返车辆甲,", 1), encoding="utf-8")
        rows.append((factor, len(list((folder / "book").rglob("*.md"))), clean, timed()))
        shutil.rmtree(folder, ignore_errors=True)
    return rows


def print_scaling(rows) -> None:
    print(f"\n{'book':>5} {'pages':>6} {'clean s':>8} {'s/page':>7} {'one value s':>12}")
    for factor, pages, clean, one in rows:
        print(f"{factor:>4}× {pages:>6} {clean:8.1f} {clean / pages:7.2f} {one:12.1f}")


def scaling_targets(rows) -> list:
    print_scaling(rows)
    per_page = [clean / pages for _, pages, clean, _ in rows]
    grow = rows[-1][3] / rows[0][3]
    return [(f"clean seconds per page, {rows[-1][0]}× vs 1×", f"{per_page[-1]:.2f} / {per_page[0]:.2f}",
             "≤ linear", per_page[-1] <= per_page[0] * 1.05),
            (f"one-value rebuild, {rows[-1][0]}× / 1×", f"{grow:.2f} ×", "≤ 1.5 ×", grow <= 1.5)]


def print_targets(rows: list[tuple[str, str, str, bool | None]]) -> None:
    print(f"\n{'target':58} {'measured':>12} {'target':>10}  met")
    for name, measured, target, met in rows:
        print(f"{name:58} {measured:>12} {target:>10}  {'—' if met is None else 'yes' if met else 'NO'}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--suite-runs", type=int, default=1, help="the test suite takes minutes (0: not run)")
    ap.add_argument("--weights", action="store_true", help="only build once and print the page weights")
    ap.add_argument("--scaling", default="1,4,16", help="the synthetic books of the full run ('' leaves them out)")
    ap.add_argument("--scale", default="", help="only the synthetic books, e.g. 1,4,16 (times the chapters)")
    ap.add_argument("--latency", action="store_true", help="only the preview's latency (build once, then 5 edits)")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="zz-bench-"))
    if args.scale:
        rows = scaling(work, [int(f) for f in args.scale.split(",")])
        print_scaling(rows)
        shutil.rmtree(work, ignore_errors=True)
        return
    if args.latency:
        data = work / "data"
        shutil.copytree(REPO / "data", data)
        build(work / "out", {"ZZREVIEW_DATA_DIR": str(data)}, fresh=True)
        data_times, prose_times = preview_latency(work / "out", data, 5)
        print(f"preview, data edit → page shows it, s: {', '.join(f'{t:.2f}' for t in data_times)}")
        print(f"preview, prose edit → page shows it, s: {', '.join(f'{t:.2f}' for t in prose_times)}")
        print_targets([("preview: one value in data/metrics.csv (median of 5)", f"{statistics.median(data_times):.2f} s",
                        "≤ 3 s", statistics.median(data_times) <= 3),
                       ("preview: a prose-only edit (median of 5)", f"{statistics.median(prose_times):.2f} s",
                        "≤ 2 s", statistics.median(prose_times) <= 2)])
        shutil.rmtree(work, ignore_errors=True)
        return
    if args.weights:
        build(work / "out", fresh=True)
        print_weights(work / "out")
        shutil.rmtree(work, ignore_errors=True)
        return
    results: list[tuple[str, float | None, str]] = []

    fl = median_of(args.runs, lambda i: floor())
    results.append(("floor (all chapter code, one warm process)", fl, ""))

    out = work / "out"
    PHASES.clear()
    results.append(("clean build (HTML and PDF)", median_of(args.runs, lambda i: build(out, fresh=True)), ""))
    # the PDF's own work; xelatex runs beside Sphinx's HTML run, so the build waits for it only
    # as long as it outlasts the HTML ("waiting for xelatex")
    pdf_share = statistics.median(p.get("sphinx latex", 0) + p.get("xelatex", 0) for p in PHASES)
    pdf_wait = statistics.median(p.get("sphinx latex", 0) + p.get("waiting for xelatex", 0) for p in PHASES)
    results.append(("no-change rebuild", median_of(args.runs, lambda i: build(out)), ""))

    def edited_rebuild(path: Path, addition):
        """Time a rebuild after appending text to a repository file; restore it and rebuild."""
        original = path.read_text(encoding="utf-8")

        def step(i):
            path.write_text(original + addition(i), encoding="utf-8")
            try:
                return build(out)
            finally:
                path.write_text(original, encoding="utf-8")
                build(out)  # back to the baseline, untimed
        return median_of(args.runs, step)

    results.append(("rebuild after a prose-only edit", edited_rebuild(
        REPO / "book" / "review" / "safety.md", lambda i: f"\n补充说明第{i + 1}句。\n"), ""))

    data = work / "data"
    shutil.copytree(REPO / "data", data)
    build(out, {"ZZREVIEW_DATA_DIR": str(data)})
    metrics = data / "metrics.csv"
    base = metrics.read_text(encoding="utf-8")

    def data_change(i):
        metrics.write_text(base.replace(",劝返车辆,", f",劝返车辆{'甲乙丙'[i % 3]},", 1), encoding="utf-8")
        return build(out, {"ZZREVIEW_DATA_DIR": str(data)})
    results.append(("rebuild after one data value changed", median_of(args.runs, data_change), ""))
    metrics.write_text(base, encoding="utf-8")  # the preview's edits below start from the file as it was
    build(out)

    results.append(("rebuild after the chart style module changed", edited_rebuild(
        REPO / "zzreview" / "charts.py", lambda i: f"\n# benchmark edit {i}\n"), ""))

    results.append(("PDF part of the clean build", pdf_share, "Sphinx LaTeX writer + latexmk/xelatex (its own time)"))
    results.append(("— of which the build waits for", pdf_wait, "LaTeX writer + xelatex outlasting the HTML"))

    def suite(i):
        start = time.perf_counter()
        subprocess.run(["bash", "scripts/test.sh", "-q"], cwd=REPO, capture_output=True)
        return time.perf_counter() - start
    results.append(("test suite (scripts/test.sh)", median_of(args.suite_runs, suite) if args.suite_runs else None,
                    f"{args.suite_runs} run(s)" if args.suite_runs else "not run (--suite-runs 0)"))

    print(f"\n{'case':48} {'median s':>9} {'× floor':>8}  note")
    for name, secs, note in results:
        if secs is None:
            print(f"{name:48} {'—':>9} {'—':>8}  {note}")
        else:
            print(f"{name:48} {secs:9.2f} {secs / fl:8.2f}  {note}")
    clean = results[1][1]
    print(f"\nno-change / clean: {results[2][1] / clean:.1%}   data change / clean: {results[4][1] / clean:.1%}")

    data_times, prose_times = preview_latency(out, data, 5)
    ratio_data = results[4][1] / clean
    print_targets([
        ("preview: one value in data/metrics.csv (median of 5)", f"{statistics.median(data_times):.2f} s", "≤ 3 s",
         statistics.median(data_times) <= 3),
        ("preview: a prose-only edit (median of 5)", f"{statistics.median(prose_times):.2f} s", "≤ 2 s",
         statistics.median(prose_times) <= 2),
        ("scripts/build.sh after one data value, share of clean", f"{ratio_data:.0%}", "≤ 30 %", ratio_data <= 0.30),
        ("clean build (HTML + PDF), × floor", f"{clean / fl:.2f} ×", "≤ 3.0 ×", clean / fl <= 3.0),
        ("test suite", f"{results[-1][1]:.0f} s" if results[-1][1] else "not run", "≤ 300 s",
         results[-1][1] <= 300 if results[-1][1] else None),
    ] + (scaling_targets(scaling(work, [int(f) for f in args.scaling.split(",")])) if args.scaling else []))
    print_weights(out)
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
