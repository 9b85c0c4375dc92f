"""The chapters that are notebooks, what each read when it last ran, and whether that still holds.

myst-nb executes the chapters through jupyter-cache, which keys a record on the code cells and the
kernel only: change a CSV or the chart module and it would serve old outputs. So every chapter
ends with a hidden cell (`zz.record_reads()`) whose output, stored in the cache record with the
others, says what the chapter actually read while it ran (records.py keeps that ledger: whole
files, or single records where a call used only those, every file its own code opened, and the
book's modules it loaded), with a digest of the content each read stood for, and which figures
it drew. Before Sphinx reads anything (the extension's env-get-outdated), `stale()` compares those
digests with the inputs as they are now; a chapter whose inputs changed, or whose drawn files are
gone, loses its cache record (through jupyter-cache's API) and is re-read, so myst-nb executes it
again. Everything else is served from the cache: a prose-only edit executes nothing.
"""
from __future__ import annotations

import copy
import dataclasses
import fnmatch
import datetime as dt
import functools
import hashlib
import json
import logging
import multiprocessing
import signal
from dataclasses import dataclass
from pathlib import Path

from jupyter_cache.executors.base import ExecutorRunResult, JupyterExecutorAbstract
from jupyter_cache.executors.basic import ExecutionWorkerLocalMProc, ExecutionWorkerTempMProc, ProcessData
from myst_nb.core.read import read_myst_markdown_notebook

from zzreview import meta, paths, records
from zzreview.drawing import figures
from zzreview.newspaper import structure

READS_MIME = "application/vnd.zzreview.reads+json"
MYST_READER = {"type": "plugin", "name": "myst_nb_md"}  # how myst-nb has jupyter-cache read a MyST chapter
QUIET = logging.getLogger("zzreview.run-ahead")  # (a failure is reported when myst-nb runs the chapter)
QUIET.setLevel(logging.CRITICAL)  # (its pool's workers log at the level of this logger)
QUIET.propagate = False


@dataclass
class Chapter:
    docname: str  # "book/review/risk"
    path: Path

    @property
    def notebook(self):
        return read_notebook(self.path.read_text(encoding="utf-8"), self.path)


def read_notebook(text: str, path: Path):
    """A chapter's Markdown as the notebook myst-nb reads (the one reader of chapter files); a
    copy of its own (callers fill in outputs)."""
    return copy.deepcopy(_parsed(text, str(path)))


@functools.lru_cache(maxsize=64)
def _parsed(text: str, path: str):
    return read_myst_markdown_notebook(text, path=Path(path))


def chapters() -> list[Chapter]:
    """Every page of the table of contents that is a notebook (has a kernelspec)."""
    out = []
    for f in meta.toc_files():
        path = paths.REPO / f"{f}.md"
        text = path.read_text(encoding="utf-8", errors="replace")  # (validation names a byte that is not UTF-8)
        front = text.split("---", 2)[1] if text.startswith("---") else ""
        if "kernelspec:" in front:
            out.append(Chapter(f, path))
    return out


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _json(value) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


class Inputs:
    """The current content behind each ledger key (records.py), each computed once."""

    def __init__(self):
        self._digests: dict[str, str] = {}

    def digest(self, key: str) -> str:
        if key not in self._digests:
            self._digests[key] = _sha(self._content(*key.split(":", 1)).encode())
        return self._digests[key]

    @staticmethod
    def _content(kind: str, name: str) -> str:

        if kind == "file":
            path = records.path_of(name)
            return _sha(path.read_bytes()) if path.is_file() else "missing"
        if kind in ("metric", "metrics-of"):
            return _json([r for _, r in records.metric_rows() if r["id" if kind == "metric" else "section"] == name])
        if kind == "register-of":
            return _json([r for _, r in records.register_rows() if r["section"] == name])
        if kind == "figure":
            return _json([f for f in records.figure_registry() if f.get("id") == name])
        if kind in ("section", "article"):
            pg = structure.page()
            try:
                sec = pg.section(name) if kind == "section" else None
                art = pg.article(sec.article_id if sec else name)
            except KeyError:
                return "absent"
            return _json([dataclasses.asdict(sec) if sec else None,
                          {k: v for k, v in dataclasses.asdict(art).items() if k != "sections"}])
        raise ValueError(f"章节的读取记录中有未知的类别：{kind}:{name}")


def _drawn_files(fig_ids: list[str]) -> dict[str, str]:
    """The files the figures' drawings left in this build's folder, with their digests ("missing"
    for one that is gone): another run may have drawn over them since."""
    folder = paths.generated_dir() / "figures"
    return {name: _sha((folder / name).read_bytes()) if (folder / name).is_file() else "missing"
            for fig_id in fig_ids for name in figures.drawn_names(fig_id)}


def reads_record() -> dict:
    """In a chapter's kernel, after its last cell: what it read and drew, with digests."""
    ledger = records.ledger()
    inputs = Inputs()
    return {"reads": {key: inputs.digest(key) for key in ledger["reads"]}, "figures": ledger["drawn"],
            "files": _drawn_files(ledger["drawn"]), "changed_while_running": records.changed_since_read()}


def recorded(notebook) -> dict | None:
    """The reads record an executed notebook carries, or None."""
    for cell in notebook.cells:
        for out in cell.get("outputs", []):
            if READS_MIME in out.get("data", {}):
                return out["data"][READS_MIME]
    return None


def cached(cache, chapter: Chapter):
    """The chapter's cache record for its code as it is now, or None."""
    try:
        return cache.match_cache_notebook(chapter.notebook)
    except KeyError:
        return None


def cached_since(cache, chapter: Chapter) -> float:
    """When the chapter's cache record for its code was made (seconds since 1970); infinity
    when it has none (its outputs must be made)."""
    record = cached(cache, chapter)
    return record.created.replace(tzinfo=dt.timezone.utc).timestamp() if record else float("inf")


def changed_reads(reads: dict, inputs: Inputs) -> list[str]:
    """The keys of a run's recorded reads whose content is not what it read."""
    return [key for key, digest in sorted(reads["reads"].items()) if inputs.digest(key) != digest]


def _some(items: list[str], measure: str) -> str:
    return "、".join(items[:3]) + (f" 等 {len(items)} {measure}" if len(items) > 3 else "")


def why_stale(cache, record, inputs: Inputs) -> str | None:
    """Why a chapter's cache record no longer holds, or None."""
    reads = recorded(cache.get_cache_bundle(record.pk).nb)
    if reads is None:
        return "没有读取记录"
    if reads.get("changed_while_running"):  # the digests were taken after the change
        return "运行时输入被改动：" + _some(reads["changed_while_running"], "个")
    changed = changed_reads(reads, inputs)
    if changed:
        return "输入已改动：" + _some(changed, "项")
    drawn = _drawn_files(reads["figures"])
    other = [name for name, digest in sorted(reads["files"].items()) if drawn.get(name) != digest]
    if other:
        return "图表文件缺失或已被改写：" + _some(other, "个")
    return None


def stale(cache) -> dict[str, str]:
    """docname → why, for each chapter whose cached outputs no longer hold; their stale records
    are removed, so myst-nb executes them when Sphinx re-reads them."""
    inputs = Inputs()
    out = {}
    for chapter in chapters():
        record = cached(cache, chapter)  # (a chapter without one executes when Sphinx reads it)
        why = why_stale(cache, record, inputs) if record else None
        if why:
            cache.remove_cache(record.pk)
            out[chapter.docname] = why
    return out


def uncached(cache, docnames: set[str], excluded: list[str]) -> list[Chapter]:
    """The chapters among `docnames` with no cache record for their code (and not excluded from
    execution by myst-nb's patterns)."""
    return [c for c in chapters() if c.docname in docnames and cached(cache, c) is None
            and not any(fnmatch.fnmatch(str(c.path), pattern) for pattern in excluded)]


def run_ahead(cache, todo: list[Chapter], config) -> None:
    """Chapters executed before Sphinx reads them, side by side, one kernel a core. myst-nb then
    finds their outputs in the cache, as for any chapter; one that failed has no record, so myst-nb
    runs it again as it reads it and reports the failure there. `config`: myst-nb's (its timeout,
    errors allowed, temporary folders)."""
    pks = [cache.add_nb_to_project(str(c.path), read_data=MYST_READER).pk for c in todo]
    ParallelExecutor(cache, QUIET, in_temp=config.execution_in_temp).run_and_cache(
        filter_pks=pks, timeout=config.execution_timeout, allow_errors=config.execution_allow_errors)


class ParallelExecutor(JupyterExecutorAbstract):
    """jupyter-cache's local-parallel (or temp-parallel) executor, its workers and all, made safe to
    end. nbclient removes its SIGTERM and SIGINT handlers only from an execution whose kernel
    started, so a worker whose kernel failed to start ignored SIGTERM, and jupyter-cache's pool,
    which ends its workers with SIGTERM, could wait for it for ever (a build hung so on pristine
    machines; docs/architecture.md, "Problems met"). Here the pool is closed and joined, each worker
    leaving when the work runs out, and each worker puts the default handlers back after every
    notebook, so that a pool ended early (an error, Ctrl-C) can still end it."""

    def __init__(self, cache, logger=None, in_temp: bool = False):
        super().__init__(cache, logger)
        self.worker = TempWorker() if in_temp else LocalWorker()

    def run_and_cache(self, *, filter_uris=None, filter_pks=None, timeout=30, allow_errors=False,
                      force=False, **kwargs) -> ExecutorRunResult:
        records = self.get_records(filter_uris, filter_pks, clear_tracebacks=True, force=force)
        multiprocessing.get_logger().setLevel(self.logger.level)  # the workers log there
        with multiprocessing.Pool() as pool:
            results = pool.map(self.worker, [ProcessData(r.pk, r.uri, self.cache, timeout, allow_errors)
                                             for r in records])
            pool.close()
            pool.join()
        return ExecutorRunResult(succeeded=[uri for code, uri in results if code == 0],
                                 excepted=[uri for code, uri in results if code == 1],
                                 errored=[uri for code, uri in results if code == 2])


class _DefaultSignals:
    def __call__(self, data):
        try:
            return super().__call__(data)
        finally:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            signal.signal(signal.SIGINT, signal.default_int_handler)


class LocalWorker(_DefaultSignals, ExecutionWorkerLocalMProc):
    """jupyter-cache's worker (runs a notebook in its folder); default signal handlers after it."""


class TempWorker(_DefaultSignals, ExecutionWorkerTempMProc):
    """jupyter-cache's worker (runs a notebook in a temporary folder); default signal handlers after it."""


def execution_record(cache, since: float) -> dict:
    """Every chapter's execution as this build found it: run now (its record is newer than the
    build's start) or taken from the cache, when it last ran (UTC), how long it took."""
    rows = []
    for chapter in chapters():
        record = cached(cache, chapter)
        created = record.created.replace(tzinfo=dt.timezone.utc) if record else None  # (stored as naive UTC)
        rows.append({"notebook": chapter.docname,
                     "status": "ran" if created is not None and created.timestamp() >= since else "cached",
                     "ran_at": created.isoformat(timespec="seconds") if created else None,
                     "seconds": round(record.data.get("execution_seconds") or 0, 2) if record else None,
                     "succeeded": record is not None})
    return {"built_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), "chapters": rows}


def stderr_written(cache, docname: str) -> str:
    """The first line the chapter's cached run wrote to stderr in any cell, shown or removed from
    the page (myst-nb checks only the cells it renders), or ""."""
    chapter = next((c for c in chapters() if c.docname == docname), None)
    record = cached(cache, chapter) if chapter else None
    for cell in cache.get_cache_bundle(record.pk).nb.cells if record else []:
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream" and out.get("name") == "stderr" and out.get("text", "").strip():
                return out["text"].strip().splitlines()[0]
    return ""
