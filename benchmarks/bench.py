"""Build-speed benchmark: prints each figure, its target and whether it is met. Not a test.

    .venv/bin/python benchmarks/bench.py [--runs 3] [--suite]

floor      every chapter's code cells run in one warm Python process as a plain script (the least
           work any build must do); the other figures are ratios to it, measured in the same run
stock      `jupyter-book build .` (HTML), clean, into an empty folder
clean      the README's build (`python -m zzreview build`: HTML and PDF, published), clean
no-change  the same build again
one value  after one value (a label) of data/metrics.csv changed, on a copy of data/: which chapters
           re-executed, and the time
prose      a prose edit in the preview (sphinx-autobuild): seconds from saving to the served page
           showing it; and the same for one value in data/metrics.csv
pages      each chapter's length and first chart's top at 390×844 (sizes, from the clean build)
lighthouse every page of the clean build audited by Lighthouse, mobile (tests/lighthouse.py):
           performance ≥ 95, accessibility, best practices and SEO 100,
           layout shift ≤ 0.05; `--lighthouse DIR` audits an existing build's html folder only
suite      the test suite (scripts/test.sh; --suite)
Medians of --runs runs (Lighthouse: one run a page; its performance varies by a few points). See docs/performance.md.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PY = sys.executable

FLOOR_SCRIPT = r"""
import ast, os, time
import zzreview.book as zz  # warm: imports are not part of the floor
from zzreview.site.chapters import chapters
zz.setup()
runs = [(ch.path.parent, [c.source for c in ch.notebook.cells if c.cell_type == "code"]) for ch in chapters()]
start = time.perf_counter()
for cwd, sources in runs:
    os.chdir(cwd)
    ns = {}
    for src in sources:
        tree = ast.parse(src)
        last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
        exec(compile(tree, "<cell>", "exec"), ns)
        if last is not None:  # what the page shows: rendered as the book renders it
            shown = eval(compile(ast.Expression(last.value), "<cell>", "eval"), ns)
            getattr(shown, "_repr_markdown_", lambda: None)()
print(time.perf_counter() - start)
"""


def floor() -> float:
    with tempfile.TemporaryDirectory() as generated:
        out = subprocess.run([PY, "-c", FLOOR_SCRIPT], capture_output=True, text=True, cwd=REPO, check=True,
                             env={**os.environ, "ZZREVIEW_GENERATED_DIR": generated, "MPLBACKEND": "Agg"})
    return float(out.stdout.strip().splitlines()[-1])


def timed(cmd: list[str], env: dict | None = None) -> float:
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, env={**os.environ, **(env or {})})
    if proc.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    return time.perf_counter() - start


def build(out: Path, env: dict | None = None, fresh: bool = False) -> float:
    return timed([PY, "-m", "zzreview", "build", "--out", str(out), *(["--fresh"] if fresh else [])], env)


def executed(out: Path) -> list[str]:
    record = json.loads((out / "html" / "executions.json").read_text(encoding="utf-8"))
    return [c["notebook"] for c in record["chapters"] if c["status"] == "ran"]


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, (path, old)
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _served(url: str, text: str, deadline: float) -> bool:
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=5) as page:
                if text in page.read().decode("utf-8"):
                    return True
        except OSError:
            pass
        time.sleep(0.1)
    return False


def preview_latency(runs: int) -> tuple[float, float]:
    """Seconds from saving a file to the preview serving the change: a sentence added to a
    chapter, and a label changed in data/metrics.csv (both restored afterwards)."""
    port, out = _free_port(), Path(tempfile.mkdtemp())
    proc = subprocess.Popen([PY, "-m", "zzreview", "preview", "--port", str(port), "--out", str(out)], cwd=REPO,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    chapter, metrics = REPO / "book" / "news.md", REPO / "data" / "metrics.csv"
    saved = {p: p.read_bytes() for p in (chapter, metrics)}
    prose, value = [], []
    try:
        base = f"http://127.0.0.1:{port}/book"
        if not _served(f"{base}/index.html", "复现指南", time.monotonic() + 900):
            sys.exit("the preview served nothing")
        for i in range(runs):
            for kind, path, old, new, page, expect in (
                    ("prose", chapter, "# 短讯\n", f"# 短讯\n\n基准测试第 {i} 句。\n", "news.html", f"基准测试第 {i} 句"),
                    ("value", metrics, ",劝返车辆,", f",劝返车辆{i},", "review/risk.html", f"劝返车辆{i}")):
                time.sleep(1.5)  # past the watcher's debounce of the last edit
                start = time.monotonic()
                _edit(path, old, new)
                if not _served(f"{base}/{page}", expect, start + 120):
                    sys.exit(f"the preview never showed the {kind} edit")
                (prose if kind == "prose" else value).append(time.monotonic() - start)
                path.write_bytes(saved[path])
    finally:
        for path, data in saved.items():
            path.write_bytes(data)
        os.killpg(proc.pid, 15)
        proc.wait()
        shutil.rmtree(out, ignore_errors=True)
    return statistics.median(prose), statistics.median(value)


# the three longest pages before the story-first layout (0.1.0: 32,824, 17,865 and 11,652 px at
# 390×844): at most half that now (risk.html as the issue set it)
LENGTH_MAX = {"book/appendix/method.html": 16412, "book/review/risk.html": 8900, "book/review/forge.html": 5826}
FIRST_CHART_MAX = 2 * 844


def pages(html: Path) -> dict:
    sys.path.insert(0, str(REPO / "tests"))
    from browsing import CHROMIUM, CHROMIUM_ARGS, page_lengths, served
    from playwright.sync_api import sync_playwright

    rels = sorted(str(p.relative_to(html)) for p in (html / "book").rglob("*.html"))
    with served(html) as base, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            return page_lengths(browser, base, rels)
        finally:
            browser.close()


PERFORMANCE_MIN, CLS_MAX = 95, 0.05  # every page: none needs more than the theme's and Sphinx's options


def lighthouse(html: Path) -> dict:
    sys.path.insert(0, str(REPO / "tests"))
    from lighthouse import audit, pages as every_page, served_compressed

    with served_compressed(html) as base:
        return {rel: audit(f"{base}/{rel}") for rel in every_page(html)}


def print_lighthouse(audits: dict) -> None:
    print("\n| page (Lighthouse, mobile) | perf. | a11y | best pr. | SEO | layout shift | FCP | met | points lost on |"
          "\n|---|---:|---:|---:|---:|---:|---:|---|---|")
    for rel, found in audits.items():
        s, m = found["scores"], found["metrics"]
        cls, fcp = m.get("cumulative-layout-shift"), m.get("first-contentful-paint")
        met = ((s["performance"] or 0) >= PERFORMANCE_MIN and all(s[c] == 100 for c in ("accessibility", "best-practices", "seo"))
               and cls is not None and cls <= CLS_MAX)
        shown = ["—" if s[c] is None else s[c] for c in ("performance", "accessibility", "best-practices", "seo")]
        print(f"| {rel} | {' | '.join(map(str, shown))} "
              f"| {'—' if cls is None else f'{cls:.3f}'} | {'—' if fcp is None else f'{fcp / 1000:.1f} s'} "
              f"| {'yes' if met else '**no**'} | {', '.join(found['lost'])} |")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--suite", action="store_true", help="also time the test suite")
    parser.add_argument("--lighthouse", type=Path, metavar="DIR", help="only audit the built site in DIR")
    args = parser.parse_args()
    if args.lighthouse:
        print_lighthouse(lighthouse(args.lighthouse))
        return 0
    work = Path(tempfile.mkdtemp())
    data = work / "data"
    shutil.copytree(REPO / "data", data)
    try:
        base = statistics.median(floor() for _ in range(args.runs))
        stock = statistics.median(
            timed([str(Path(PY).with_name("jupyter-book")), "build", str(REPO), "--path-output", str(work / f"stock{i}")])
            for i in range(args.runs))
        clean = statistics.median(build(work / "book", fresh=True) for _ in range(args.runs))
        nochange = build(work / "book")
        values = []
        for i in range(args.runs):
            _edit(data / "metrics.csv", ",劝返车辆", f",劝返车辆{i}")
            values.append(build(work / "book", {"ZZREVIEW_DATA_DIR": str(data)}))
        ran = executed(work / "book")
        lengths = pages(work / "book" / "html")
        audits = lighthouse(work / "book" / "html")
        prose_s, value_s = preview_latency(args.runs)
        suite = timed(["bash", "scripts/test.sh", "-q"]) if args.suite else None
    finally:
        shutil.rmtree(work, ignore_errors=True)
    one = statistics.median(values)
    rows = [
        ("floor: the chapters' own code, one warm process", f"{base:.2f} s", "", ""),
        ("stock `jupyter-book build .`, HTML, clean", f"{stock:.1f} s = {stock / base:.1f} × floor", "≤ 6 ×",
         stock / base <= 6),
        ("clean HTML + PDF (build.sh)", f"{clean:.1f} s = {clean / base:.1f} × floor", "≤ 8 ×", clean / base <= 8),
        ("no-change rebuild", f"{nochange:.1f} s", "", ""),
        (f"one value changed: re-executed {', '.join(ran)}", f"{one:.1f} s = {one / clean:.0%} of clean",
         "≤ 40 %", one / clean <= 0.40),
        ("preview: a prose edit shown", f"{prose_s:.1f} s", "≤ 6 s", prose_s <= 6),
        ("preview: one value shown", f"{value_s:.1f} s", "≤ 10 s", value_s <= 10),
    ]
    if suite is not None:
        rows.append(("test suite (scripts/test.sh)", f"{suite:.0f} s", "≤ 420 s", suite <= 420))
    print(f"| figure (median of {args.runs}) | measured | target | met |\n|---|---:|---:|---|")
    for name, value, target, met in rows:
        print(f"| {name} | {value} | {target} | {'' if met == '' else 'yes' if met else '**no**'} |")
    print("\n| page at 390×844 | length | first chart's top | target | met |\n|---|---:|---:|---|---|")
    for rel, (length, top) in sorted(lengths.items(), key=lambda kv: -kv[1][0]):
        targets, met = [], []
        if rel in LENGTH_MAX:
            targets.append(f"length ≤ {LENGTH_MAX[rel]:,}")
            met.append(length <= LENGTH_MAX[rel])
        if top is not None:
            targets.append(f"chart ≤ {FIRST_CHART_MAX:,}")
            met.append(top <= FIRST_CHART_MAX)
        shown = "" if not met else "yes" if all(met) else "**no**"
        print(f"| {rel} | {length:,} | {'' if top is None else f'{top:,}'} | {'; '.join(targets)} | {shown} |")
    print_lighthouse(audits)
    return 0


if __name__ == "__main__":
    sys.exit(main())
