"""Execute the chapters that need it, in parallel, into the cache the book is built from.

myst-nb's cache (jupyter-cache) keys a notebook on its code cells only: change a CSV or the chart
module and it would serve old outputs. Here every chapter also gets a fingerprint of what its
outputs depend on: its code, the data records and files its calls name, and the package code it
runs (the chart code only for chapters that draw). A chapter is executed again when its
fingerprint changed, when it is missing from the cache, or when its figure files are gone; its
cache entry is then overwritten, and Sphinx is told to re-read it. Everything else is served from
the cache, so a prose-only edit executes nothing.

Execution runs on all cores: one kernel per worker, reused across that worker's chapters (the
namespace is reset between chapters), which saves a kernel start-up and the imports per chapter.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path


from . import paths, records

CORE_MODULES = ("__init__.py", "book.py", "data.py", "structure.py", "source.py", "quantity.py",
                "paths.py", "errors.py", "meta.py", "bounds.py", "validate.py", "inventory.py", "records.py")
DRAWING_MODULES = ("charts.py", "figures.py")
# Calls whose output reads whole files rather than the records named by their arguments.
FILE_CALLS = {
    "source_statement": ("datapackage.json",),
    "data_dictionary": ("datapackage.json",),
    "exclusions_table": ("numeral_exclusions.csv",),
    "restored_source": ("source/layout.yaml", "source/000_29b51da462fdfb9d.txt"),
    "pipeline_summary": ("metrics.csv", "numeral_exclusions.csv", "source/layout.yaml", "@figures"),
    "counts": ("metrics.csv", "numeral_exclusions.csv", "source/layout.yaml", "@figures"),
    "parser_rules": (),  # quantity.py is core
    "ambiguities": ("ambiguities.csv", "datapackage.json"),
    "ambiguity_register": ("ambiguities.csv", "datapackage.json", "source/layout.yaml"),
}
ALL_FILES = ("metrics.csv", "numeral_exclusions.csv", "datapackage.json", "ambiguities.csv",
             "source/layout.yaml", "@figures")
RECORD_CALLS = {"setup", "passage", "article_heading", "metrics_table", "figure", "ratio", "total",
                "difference", "derived_table"}
CALL = re.compile(r"\bzz\.(\w+)\(")
LITERAL = re.compile(r"""["']([A-Za-z0-9_-]+)["']""")


@dataclass
class Chapter:
    docname: str  # "book/review/risk"
    path: Path

    @property
    def notebook(self):
        from myst_nb.core.read import read_myst_markdown_notebook

        return read_myst_markdown_notebook(self.path.read_text(encoding="utf-8"), path=self.path)


def chapters() -> list[Chapter]:
    """Every page of the table of contents that is a notebook (has a kernelspec)."""
    from . import meta

    out = []
    for f in meta.toc_files():
        path = paths.REPO / f"{f}.md"
        text = path.read_text(encoding="utf-8")
        front = text.split("---", 2)[1] if text.startswith("---") else ""
        if "kernelspec:" in front:
            out.append(Chapter(f, path))
    return out


def _code(nb) -> str:
    return "\n\n".join(c.source for c in nb.cells if c.cell_type == "code")


class _Inputs:
    """The records a chapter's calls can name, as text, read once per build."""

    def __init__(self):
        from .structure import page

        self.page = page()
        rows = [row for _, row in records.metric_rows()]
        self.metric_rows = {r["id"]: json.dumps(r, ensure_ascii=False, sort_keys=True) for r in rows}
        self.metric_section = {r["id"]: r["section"] for r in rows}
        self.figures = {f["id"]: f for f in records.figure_registry()}
        self.sections = set(self.page.section_ids())
        self.articles = {a.id for a in self.page.articles}

    def section(self, sid: str) -> str:
        sec = self.page.section(sid)
        art = self.page.article(sec.article_id)
        rows = [r for mid, r in self.metric_rows.items() if self.metric_section.get(mid) == sid]
        return json.dumps([sec.title, sec.paragraphs, art.title, art.subtitle, art.byline, rows],
                          ensure_ascii=False)

    def article(self, aid: str) -> str:
        a = self.page.article(aid)
        return json.dumps([a.kicker, a.headline, a.subtitle, a.byline, a.note], ensure_ascii=False)

    def figure(self, fid: str) -> str:
        """A figure's registry entry, its rows, what its source line says (the headlines of its
        articles, the unknowns) and the print width it is drawn at."""
        from . import meta

        item = self.figures[fid]
        ids = list(item.get("metrics", [])) + ([item["total"]] if item.get("total") else [])
        articles = []
        for mid in ids:
            section = self.metric_section.get(mid)
            if section in self.sections:
                art = self.page.article(self.page.section(section).article_id)
                articles.append([art.title, art.subtitle])
        frame = [meta.text_width_in(), meta.unknowns_text(), meta.book_author()]
        return json.dumps([item, [self.metric_rows.get(m, "") for m in ids], articles, frame], ensure_ascii=False)


def _file(rel: str) -> str:
    if rel == "@figures":
        return json.dumps(records.figure_registry(), ensure_ascii=False, sort_keys=True)
    return hashlib.sha256((paths.data_dir() / rel).read_bytes()).hexdigest()


def _module(name: str) -> str:
    return hashlib.sha256((Path(__file__).parent / name).read_bytes()).hexdigest()


def dependencies(nb, inputs: _Inputs) -> dict[str, str]:
    """What a chapter's outputs depend on, name → content (or content hash)."""
    code = _code(nb)
    deps = {f"module:{m}": _module(m) for m in CORE_MODULES}
    deps["requirements"] = hashlib.sha256((paths.REPO / "requirements.txt").read_bytes()).hexdigest()
    calls = set(CALL.findall(code))
    for name in calls - RECORD_CALLS:
        for rel in FILE_CALLS.get(name, ALL_FILES):  # unknown call: all
            deps[f"file:{rel}"] = _file(rel)
    for lit in set(LITERAL.findall(code)):
        if lit in inputs.figures:
            deps[f"figure:{lit}"] = inputs.figure(lit)
            deps.update({f"module:{m}": _module(m) for m in DRAWING_MODULES})
        if lit in inputs.sections:
            deps[f"section:{lit}"] = inputs.section(lit)
        if lit in inputs.articles:
            deps[f"article:{lit}"] = inputs.article(lit)
        if lit in inputs.metric_rows:
            deps[f"metric:{lit}"] = inputs.metric_rows[lit]
    return deps


def figure_ids(nb, inputs: _Inputs) -> list[str]:
    return [lit for lit in LITERAL.findall(_code(nb)) if lit in inputs.figures]


def fingerprint(nb, inputs: _Inputs) -> str:
    payload = {"code": _code(nb), "kernel": nb.metadata.get("kernelspec", {}).get("name"),
               "deps": dependencies(nb, inputs)}
    return hashlib.sha256(json.dumps(payload, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def fingerprints() -> dict[str, str]:
    """docname → fingerprint, for every chapter, from the current files."""
    inputs = _Inputs()
    return {ch.docname: fingerprint(ch.notebook, inputs) for ch in chapters()}


# --- execution ---------------------------------------------------------------------------------

# Run before each chapter in a reused kernel: nothing one chapter changed may reach the next
# (names, rcParams, warning filters, imported or patched modules). The first chapter records the
# clean state — with pandas and matplotlib already imported, which are costly to import again —
# and every later one starts from it; the book's own package is imported afresh each time.
PREAMBLE = """%reset -f
import os as _os, sys as _sys, warnings as _w, matplotlib as _mpl, matplotlib.pyplot as _plt, pandas as _pd
if not hasattr(_sys, "_zz_clean"):
    _sys._zz_clean = (list(_w.filters), set(_sys.modules))
else:
    _w.filters[:] = _sys._zz_clean[0]
    for _m in [m for m in _sys.modules if m not in _sys._zz_clean[1] or m.split(".")[0] == "zzreview"]:
        del _sys.modules[_m]
_mpl.rcdefaults()
_plt.close("all")
_pd.reset_option("all")
_os.chdir({cwd!r})
del _os, _sys, _w, _mpl, _plt, _pd"""


def _run_bucket(jobs: list[tuple[str, str, str]], timeout: int) -> list[tuple[str, str | None, str | None, float]]:
    """Worker: run notebooks (docname, json, cwd) in one kernel; return executed json or error."""
    import nbformat
    from jupyter_client.manager import AsyncKernelManager
    from jupyter_core.utils import run_sync
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    # IPC (Unix sockets), not TCP: nothing listens on the network, and the kernel has no
    # "running over TCP without encryption" warning to print
    sockets = tempfile.mkdtemp(prefix="zz-kernel-")
    # the async manager: with the blocking one, nbclient never applies the cell timeout
    km = AsyncKernelManager(kernel_name="python3", transport="ipc", ip=os.path.join(sockets, "k"))
    run_sync(km.start_kernel)(cwd=jobs[0][2])
    results = []
    try:
        for docname, nb_json, cwd in jobs:
            nb = nbformat.reads(nb_json, as_version=4)
            nb.cells.insert(0, nbformat.v4.new_code_cell(PREAMBLE.format(cwd=cwd)))
            started = time.monotonic()
            client = NotebookClient(nb, km=km, timeout=timeout, allow_errors=False,
                                    resources={"metadata": {"path": cwd}})
            try:
                client.execute()
            except (CellExecutionError, CellTimeoutError, DeadKernelError) as exc:
                message = str(exc)
                if isinstance(exc, CellTimeoutError):
                    message = (f"Cell execution timed out after {timeout} s (execute.timeout in _config.yml)"
                               f"\n{message}")
                results.append((docname, None, message, time.monotonic() - started))
                run_sync(km.restart_kernel)(now=True)  # a failed chapter's kernel is not reused
                continue
            finally:
                if client.kc is not None:
                    client.kc.stop_channels()
            nb.cells.pop(0)
            results.append((docname, nbformat.writes(nb), None, time.monotonic() - started))
    finally:
        run_sync(km.shutdown_kernel)(now=True)
        shutil.rmtree(sockets, ignore_errors=True)
    return results


def _buckets(jobs: list, costs: list[float], n: int) -> list[list]:
    """Longest job first onto the least loaded worker."""
    loads = [[0.0, []] for _ in range(n)]
    for job, cost in sorted(zip(jobs, costs), key=lambda t: -t[1]):
        slot = min(loads, key=lambda s: s[0])
        slot[0] += cost
        slot[1].append(job)
    return [b for _, b in loads if b]


@dataclass
class Plan:
    stale: list[Chapter]
    fingerprints: dict[str, str]
    reasons: dict[str, str]


def plan(cache_dir: Path, generated: Path, stored: dict[str, str]) -> Plan:
    """Which chapters must run, and why."""
    from jupyter_cache import get_cache

    cache = get_cache(str(cache_dir))
    inputs = _Inputs()
    stale, fps, reasons = [], {}, {}
    for ch in chapters():
        nb = ch.notebook
        fps[ch.docname] = fp = fingerprint(nb, inputs)
        reason = None
        if stored.get(ch.docname) != fp:
            reason = "changed" if ch.docname in stored else "new"
        else:
            try:
                cache.match_cache_notebook(nb)
            except KeyError:
                reason = "not cached"
        if reason is None:
            missing = [f for f in figure_ids(nb, inputs) if not (generated / "figures" / f"{f}.svg").exists()]
            if missing:
                reason = f"figure files missing ({', '.join(missing)})"
        if reason:
            stale.append(ch)
            reasons[ch.docname] = reason
    return Plan(stale, fps, reasons)


def _stderr_written(nb) -> str:
    """The first line a notebook's cells wrote to stderr (a matplotlib glyph warning, say)."""
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream" and out.get("name") == "stderr" and out.get("text", "").strip():
                return out["text"].strip().splitlines()[0]
    return ""


def _stderr_is_an_error() -> bool:
    from . import meta

    return (meta.config().get("execute") or {}).get("stderr_output") == "error"


def execute(chapters_to_run: list[Chapter], cache_dir: Path, workers: int = 0, timeout: int = 120,
            log=print) -> list[str]:
    """Run the chapters in parallel and store their outputs in the cache; return error messages."""
    import nbformat
    from jupyter_cache import get_cache
    from jupyter_cache.base import CacheBundleIn

    if not chapters_to_run:
        return []
    workers = workers or min(os.cpu_count() or 1, len(chapters_to_run))
    inputs = _Inputs()
    originals = {ch.docname: ch.notebook for ch in chapters_to_run}
    jobs = [(ch.docname, nbformat.writes(originals[ch.docname]), str(ch.path.parent)) for ch in chapters_to_run]
    costs = [1 + 2 * len(figure_ids(originals[ch.docname], inputs)) for ch in chapters_to_run]
    buckets = _buckets(jobs, costs, workers)
    results = []
    with ProcessPoolExecutor(max_workers=len(buckets), mp_context=get_context("spawn")) as pool:
        for done in pool.map(_run_bucket, buckets, [timeout] * len(buckets)):
            results.extend(done)
    cache = get_cache(str(cache_dir))
    errors = []
    by_doc = {ch.docname: ch for ch in chapters_to_run}
    for docname, nb_json, error, seconds in results:
        if error:
            errors.append(f"{by_doc[docname].path.relative_to(paths.REPO)}: a cell failed\n{error}")
            continue
        # Outputs go into the notebook as read from the Markdown: the kernel rewrites metadata
        # (kernelspec) that jupyter-cache hashes, and Sphinx must find the same hash.
        executed = originals[docname]
        ran_nb = nbformat.reads(nb_json, as_version=4)
        written = _stderr_written(ran_nb)
        if written and _stderr_is_an_error():  # in any cell, shown or removed from the page
            errors.append(f"{by_doc[docname].path.relative_to(paths.REPO)}: a cell wrote to stderr "
                          f"(execute.stderr_output: error in _config.yml): {written}")
            continue
        executed.metadata["language_info"] = ran_nb.metadata.get("language_info", {})  # code lexer
        ran = ran_nb.cells
        for cell, done in zip(executed.cells, ran):
            if cell.cell_type == "code":
                cell.outputs, cell.execution_count = done.outputs, done.execution_count
        for record in cache.list_cache_records():  # drop this chapter's older versions
            if record.uri == str(by_doc[docname].path):
                cache.remove_cache(record.pk)
        cache.cache_notebook_bundle(CacheBundleIn(executed, str(by_doc[docname].path),
                                                  data={"execution_seconds": round(seconds, 2)}),
                                    check_validity=False, overwrite=True)
        log(f"  executed {docname} in {seconds:.1f} s")
    return errors
