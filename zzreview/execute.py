"""Execute the chapters that need it, in parallel, into the cache the book is built from.

myst-nb's cache (jupyter-cache) keys a notebook on its code cells only: change a CSV or the chart
module and it would serve old outputs. Here each chapter's run is recorded: its code, and what it
actually read while it executed (records.py keeps the ledger: whole files, or single records
where a call used only those, every file the chapter's own code opened, and the book's modules
it loaded), with the content each read stood for. A chapter is executed again when its code
changed, when anything it read changed, when it is missing from the cache, or when the figure
files it drew are gone; its cache entry is then overwritten, and Sphinx is told to re-read it.
Everything else is served from the cache, so a prose-only edit executes nothing, and an id
built at run time or a package imported under another name is seen as any other read.

A kernel is started before the plan is made (most builds that get that far run a chapter), and
as many more as the plan is worth (kernel_count) once the data has passed validation; each has
pandas and matplotlib imported before its first chapter, and one thread of the build's process
drives each kernel through its share of the chapters (the namespace is reset between chapters).
Nothing reaches a kernel before validation passed.
"""
from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import os
import queue
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path


from . import paths, records


@dataclass
class Chapter:
    docname: str  # "book/review/risk"
    path: Path

    @property
    def notebook(self):
        return read_notebook(self.path.read_text(encoding="utf-8"), self.path)


def read_notebook(text: str, path: Path):
    """A chapter's Markdown as the notebook myst-nb reads (the one reader of chapter files); a
    copy of its own (the executor fills in outputs)."""
    import copy

    return copy.deepcopy(_parsed(text, str(path)))


@functools.lru_cache(maxsize=64)
def _parsed(text: str, path: str):
    """Parsed once per process: the plan, the validation and the executor each read every chapter."""
    from myst_nb.core.read import read_myst_markdown_notebook

    return read_myst_markdown_notebook(text, path=Path(path))


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


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def code_digest(nb) -> str:
    """What a run depends on besides its reads: the code cells, the kernel, the way the executor
    runs them and the pinned Python packages. Prose is not in it."""
    code = "\n\n".join(c.source for c in nb.cells if c.cell_type == "code")
    return _sha(json.dumps([code, nb.metadata.get("kernelspec", {}).get("name"), PREAMBLE, LEDGER_CELL,
                            _sha((paths.REPO / "requirements.txt").read_bytes())]).encode())


def _json(value) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


class Inputs:
    """The current content behind each ledger key (records.py), each computed once per build."""

    def __init__(self):
        self._digests: dict[str, str] = {}

    def digest(self, key: str) -> str:
        if key not in self._digests:
            self._digests[key] = self._compute(*key.split(":", 1))
        return self._digests[key]

    def _compute(self, kind: str, name: str) -> str:
        from . import structure

        if kind == "file":
            path = records.path_of(name)
            return _sha(path.read_bytes()) if path.is_file() else "missing"
        if kind in ("metric", "metrics-of"):
            rows = [r for _, r in records.metric_rows() if r[{"metric": "id"}.get(kind, "section")] == name]
            return _json(rows)
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
        raise ValueError(f"unknown kind of read in a chapter's ledger: {kind}:{name}")


def files_of(key: str) -> list[Path]:
    """The files a recorded read rests on (a record of data/metrics.csv, a part of the layout)."""
    from . import source

    kind, _, name = key.partition(":")
    if kind == "file":
        return [records.path_of(name)]
    return {"metric": [paths.metrics_path()], "metrics-of": [paths.metrics_path()],
            "register-of": [paths.ambiguities_path()], "figure": [paths.figures_registry_path()],
            "section": [paths.layout_path(), source.source_path()],
            "article": [paths.layout_path(), source.source_path()]}[kind]


def input_stamp() -> list:
    """Names, sizes and modification times of every input a chapter can read: if it differs after
    execution from before, a file changed while chapters ran, and what they read is not known."""
    out = []
    for p in paths.input_files():
        try:
            st = p.stat()
            out.append((str(p), st.st_size, st.st_mtime_ns))
        except OSError:
            out.append((str(p), None, None))
    return out


def changed_reads(record: dict, inputs: Inputs) -> list[str]:
    """The keys of a chapter's recorded reads whose content is not what it read."""
    return [key for key, digest in sorted(record.get("reads", {}).items()) if inputs.digest(key) != digest]


# --- execution ---------------------------------------------------------------------------------

# Run before each chapter in a reused kernel: nothing one chapter changed may reach the next
# (names, rcParams, warning filters, imported or patched modules). The first chapter records the
# clean state — with pandas and matplotlib already imported, which are costly to import again —
# and every later one starts from it; the book's own package is imported afresh each time (which
# also empties its ledger of reads). The first one also installs the audit hook that hands every
# file opened to the ledger (records.opened), whoever opened it.
PREAMBLE = """%reset -f
import os as _os, sys as _sys, warnings as _w, matplotlib as _mpl, matplotlib.pyplot as _plt, pandas as _pd
if not hasattr(_sys, "_zz_clean"):
    def _zz_opened(event, args, _modules=_sys.modules):
        if event == "open":
            _opened = getattr(_modules.get("zzreview.records"), "opened", None)  # None while it loads
            if _opened is not None:
                _opened(*args)
    _sys.addaudithook(_zz_opened)
    _sys._zz_clean = (list(_w.filters), set(_sys.modules))
    __import__("gc").freeze()  # what is here now stays: %reset's two collections skip it (0.12 → 0.01 s)
else:
    _w.filters[:] = _sys._zz_clean[0]
    for _m in [m for m in _sys.modules if m not in _sys._zz_clean[1] or m.split(".")[0] == "zzreview"]:
        del _sys.modules[_m]
_mpl.rcdefaults()
_plt.close("all")
_pd.reset_option("all")
_os.chdir({cwd!r})
del _os, _sys, _w, _mpl, _plt, _pd"""
# Run after a chapter: what it read, drew and loaded (records.ledger), on one tagged line.
LEDGER_TAG = "\x1ezz-ledger:"
LEDGER_CELL = f"""import json as _json, zzreview.records as _records
print({LEDGER_TAG!r} + _json.dumps(_records.ledger()))"""


@dataclass
class Run:
    docname: str
    notebook: str | None  # executed, as JSON
    error: str | None
    seconds: float
    ledger: dict


def _ledger(cell) -> dict:
    for out in cell.get("outputs", []):
        for line in out.get("text", "").split("\n"):  # not splitlines: it splits at the tag
            if line.startswith(LEDGER_TAG):
                return json.loads(line[len(LEDGER_TAG):])
    raise RuntimeError("the chapter's record of what it read was not printed")


def kernel_manager(sockets: str):
    """A Python kernel's manager over IPC (Unix sockets in `sockets`), not TCP: nothing listens on
    the network, and the kernel has no "running over TCP without encryption" warning to print.
    The async manager: with the blocking one, nbclient never applies the cell timeout."""
    from jupyter_client.manager import AsyncKernelManager

    return AsyncKernelManager(kernel_name="python3", transport="ipc", ip=os.path.join(sockets, "k"))


# How often nbclient, waiting for a cell, asks whether the kernel is still alive (whole seconds; its
# default, 5, kept a stopped build waiting that long for a kernel it had killed).
SHELL_POLL_S = 1


class Kernel:
    """One Python kernel that runs chapters one after another, reset between them (PREAMBLE).
    Each of the build's kernels is one; the preview keeps one warm between rebuilds. One client
    talks to it for all of them: a new client per chapter (nbclient's default) waits for the
    kernel to answer and then for its output channel to stay quiet for 0.2 s, every time."""

    def __init__(self, cwd: str, started: Callable[["Kernel"], None] | None = None):
        """Start the kernel (`started` is handed it as soon as its process exists) and warm it up."""
        from jupyter_core.utils import run_sync

        self._sync = run_sync
        self.sockets = tempfile.mkdtemp(prefix="zz-kernel-")
        self.km = kernel_manager(self.sockets)
        self.stopped = threading.Event()  # set when the kernel was killed on purpose: never restarted
        run_sync(self.km.start_kernel)(cwd=cwd)
        try:
            if started:
                started(self)
            self.kc = self._client()
            self._warm(cwd)
        except BaseException:  # a kernel that never answered is not left running
            run_sync(self.km.shutdown_kernel)(now=True)
            shutil.rmtree(self.sockets, ignore_errors=True)
            raise

    def pid(self) -> int | None:
        """The kernel's process now (a restart after a failed chapter makes a new one)."""
        process = getattr(self.km.provisioner, "process", None)
        return process.pid if process is not None else None

    def kill(self) -> None:
        """Stop it at once, whatever it runs (the build stops); it is not restarted."""
        from .processes import kill_tree

        self.stopped.set()
        kill_tree(self.pid())

    def _warm(self, cwd: str) -> None:
        """The preamble once before any chapter: pandas and matplotlib are imported (0.6 s) while
        the build still validates, and a chapter's time is its own."""
        import nbformat

        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(PREAMBLE.format(cwd=cwd))])
        self._notebook_client(nb, 60, cwd).execute()

    def _notebook_client(self, nb, timeout: int, cwd: str):
        """nbclient on this kernel's one client (a client it did not make, it leaves connected);
        it notices a kernel killed meanwhile (SHELL_POLL_S)."""
        from nbclient import NotebookClient

        client = NotebookClient(nb, km=self.km, timeout=timeout, allow_errors=False,
                                shell_timeout_interval=SHELL_POLL_S, resources={"metadata": {"path": cwd}})
        client.kc = self.kc
        return client

    def _client(self):
        kc = self.km.client()
        kc.start_channels()
        self._sync(kc.wait_for_ready)(timeout=60)
        kc.allow_stdin = False
        return kc

    def run(self, docname: str, nb_json: str, cwd: str, timeout: int) -> Run:
        import nbformat
        from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

        nb = nbformat.reads(nb_json, as_version=4)
        nb.cells.insert(0, nbformat.v4.new_code_cell(PREAMBLE.format(cwd=cwd)))
        nb.cells.append(nbformat.v4.new_code_cell(LEDGER_CELL))
        started = time.monotonic()
        try:
            self._notebook_client(nb, timeout, cwd).execute()
        except (CellExecutionError, CellTimeoutError, DeadKernelError) as exc:
            message = str(exc)
            if isinstance(exc, CellTimeoutError):
                message = f"Cell execution timed out after {timeout} s (execute.timeout in _config.yml)\n{message}"
            if not self.stopped.is_set():  # a failed chapter's kernel is not reused, nor what it still sends
                self.kc.stop_channels()
                self._sync(self.km.restart_kernel)(now=True)
                self.kc = self._client()
            return Run(docname, None, message, time.monotonic() - started, {})
        ledger = _ledger(nb.cells.pop())
        nb.cells.pop(0)
        return Run(docname, nbformat.writes(nb), None, time.monotonic() - started, ledger)

    def run_all(self, jobs: list[tuple[str, str, str]], costs: list[float], timeout: int) -> list[Run]:
        """Run notebooks (docname, json, cwd) one after another (the preview's one kernel; the
        costs, which WarmKernels shares the chapters out by, do not matter here)."""
        return [self.run(docname, nb_json, cwd, timeout) for docname, nb_json, cwd in jobs]

    def shutdown(self) -> None:
        self.kc.stop_channels()
        self._sync(self.km.shutdown_kernel)(now=True)
        shutil.rmtree(self.sockets, ignore_errors=True)


# What a kernel costs before its first chapter (measured on a 2-core machine: start 0.6 s,
# pandas and matplotlib 0.6 s); a second kernel is started only when it saves more than that.
KERNEL_START_S = 1.2


def _buckets(jobs: list, costs: list[float], n: int) -> list[list]:
    """Longest job first onto the least loaded kernel."""
    loads = [[0.0, []] for _ in range(n)]
    for job, cost in sorted(zip(jobs, costs), key=lambda t: -t[1]):
        slot = min(loads, key=lambda s: s[0])
        slot[0] += cost
        slot[1].append(job)
    return [b for _, b in loads if b]


def costs(chapters_to_run: list[Chapter], stored: dict[str, dict]) -> list[float]:
    """Each chapter's seconds at its last run; for a new one a guess (drawing is what costs).
    Only the order and the number of kernels depend on them."""
    return [stored.get(ch.docname, {}).get("seconds") or 1 + 2 * ch.path.read_text(encoding="utf-8").count("zz.figure")
            for ch in chapters_to_run]


def cores() -> int:
    """The cores this process may use (a container's limit included)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def kernel_count(chapter_costs: list[float], most: int = 0) -> int:
    """The number of kernels (at most `most`, or the cores) that ends the chapters soonest. Each
    kernel after the first is charged its whole start-up: on this book's 2-core machine the
    kernels start while the build validates on one core and the Sphinx server imports, so a
    start-up delays everything. One value changed re-runs a long chapter and a short one, and a
    second kernel would cost more than the short one; a clean build has work enough for two."""
    most = min(most or cores(), len(chapter_costs))

    def span(n: int) -> float:
        return max(map(sum, _buckets(chapter_costs, chapter_costs, n))) + (n - 1) * KERNEL_START_S
    return min(range(1, most + 1), key=span) if most else 0


class WarmKernels:
    """Kernels started ahead of the chapters they will run (the build starts the first before its
    plan, the rest when the data has passed validation). Each is started, warmed and driven by a
    thread of its own (its client's event loop lives there), which then runs the share of chapters
    it is given and shuts the kernel down."""

    def __init__(self, count: int, cwd: str):
        self.cwd = cwd
        self._given: list[queue.SimpleQueue] = []
        self._threads: list[threading.Thread] = []
        self._done: queue.SimpleQueue = queue.SimpleQueue()
        self._busy: dict[int, Kernel] = {}  # thread index → its kernel, while starting or running chapters
        self._stopped = threading.Event()
        self.grow(count)

    def grow(self, count: int) -> None:
        """Start kernels until there are `count`."""
        for index in range(len(self._threads), count):
            self._given.append(queue.SimpleQueue())
            self._threads.append(threading.Thread(target=self._serve, args=(index, self.cwd), daemon=True))
            self._threads[-1].start()

    def _started(self, index: int, kernel: Kernel) -> None:
        self._busy[index] = kernel
        if self._stopped.is_set():  # stopped while its process was being made
            kernel.kill()

    def _serve(self, index: int, cwd: str) -> None:
        try:
            kernel = Kernel(cwd, started=lambda k: self._started(index, k))
        except BaseException as exc:  # noqa: BLE001 - handed to the build, which raises it
            self._done.put(exc)
            return
        finally:
            self._busy.pop(index, None)
        try:
            work = self._given[index].get()
            if work is not None and not self._stopped.is_set():
                jobs, timeout = work
                self._busy[index] = kernel
                runs = []
                for docname, nb_json, cwd in jobs:
                    if self._stopped.is_set():
                        break
                    runs.append(kernel.run(docname, nb_json, cwd, timeout))
                self._done.put(runs)
        except BaseException as exc:  # noqa: BLE001
            self._done.put(exc)
        finally:
            self._busy.pop(index, None)
            kernel.shutdown()

    def run_all(self, jobs: list[tuple[str, str, str]], chapter_costs: list[float], timeout: int) -> list[Run]:
        buckets = _buckets(jobs, chapter_costs, len(self._given))
        for i, given in enumerate(self._given):
            given.put((buckets[i], timeout) if i < len(buckets) else None)
        results: list[Run] = []
        for _ in buckets:
            done = self._done.get()
            if isinstance(done, BaseException):
                raise done
            results.extend(done)
        return results

    def stop(self, wait: bool = True) -> None:
        """Kernels waiting for work are shut down; one still starting (nothing to run after all)
        or still running a chapter (the build was stopped half-way) is killed, so nothing it does
        outlives the build. `wait`: until the threads have ended."""
        self._stopped.set()
        for kernel in list(self._busy.values()):
            kernel.kill()
        for given in self._given:
            given.put(None)
        for thread in self._threads if wait else ():
            thread.join(timeout=10)


@dataclass
class Plan:
    stale: list[Chapter]
    reasons: dict[str, str]
    chapters: int
    stamp: list  # input_stamp() when the plan was made


def plan(cache_dir: Path, generated: Path, stored: dict[str, dict]) -> Plan:
    """Which chapters must run, and why. `stored`: docname → the record of its last run."""
    from jupyter_cache import get_cache

    from . import figures

    stamp = input_stamp()
    cache = None  # (opened, and chapters parsed, only for chapters with a record: a first build needs neither)
    inputs = Inputs()
    stale, reasons = [], {}
    every = chapters()
    for ch in every:
        record = stored.get(ch.docname)
        reason = None
        if not record:
            reason = "new"
        elif record.get("code") != code_digest(nb := ch.notebook):
            reason = "code changed"
        elif changed := changed_reads(record, inputs):
            reason = "changed: " + ", ".join(changed[:3]) + (f" and {len(changed) - 3} more" if len(changed) > 3 else "")
        else:
            cache = cache or get_cache(str(cache_dir))
            try:
                cache.match_cache_notebook(nb)
            except KeyError:
                reason = "not cached"
        if reason is None:  # every file this kind of build draws (a preview's SVGs are not a build's)
            missing = [f for f in record.get("drawn", []) if not all(
                (generated / "figures" / name).exists() for name in figures.drawn_names(f))]
            if missing:
                reason = f"figure files missing ({', '.join(missing)})"
        if reason:
            stale.append(ch)
            reasons[ch.docname] = reason
    return Plan(stale, reasons, len(every), stamp)


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


def _now() -> str:
    import datetime as dt

    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


EXECUTION_RECORD = "executions.json"  # in the site root: the one file two builds of a commit differ in


def execution_record(stale: list[Chapter], records: dict[str, dict]) -> dict:
    """Every chapter's execution as this build found it: run now or taken from the cache, when
    it last ran, how long it took. A published book's chapters all succeeded (a failure stops
    the build before anything is published); the build log has the failures."""
    ran = {c.docname for c in stale}
    rows = []
    for ch in chapters():
        rec = records.get(ch.docname, {})
        rows.append({"notebook": ch.docname, "status": "ran" if ch.docname in ran else "cached",
                     "ran_at": rec.get("ran_at"), "seconds": rec.get("seconds"), "succeeded": True})
    return {"built_at": _now(), "chapters": rows}


def execute(chapters_to_run: list[Chapter], cache_dir: Path, kernels: Kernel | WarmKernels, timeout: int = 120,
            log=print, stored: dict[str, dict] | None = None,
            stamp: list | None = None) -> tuple[list[str], dict[str, dict]]:
    """Run the chapters on the kernels (the build's WarmKernels, or the preview's one Kernel) and
    store their outputs in the cache. Returns error messages and, per chapter that ran, the record
    of the run (code, reads with their content, figures drawn, seconds) that the next plan
    compares against."""
    import nbformat
    from jupyter_cache import get_cache
    from jupyter_cache.base import CacheBundleIn

    if not chapters_to_run:
        return [], {}
    stored = stored or {}
    originals = {ch.docname: ch.notebook for ch in chapters_to_run}
    jobs = [(ch.docname, nbformat.writes(originals[ch.docname]), str(ch.path.parent)) for ch in chapters_to_run]
    order = [job[0] for job in jobs]  # (the kernels finish in any order; errors are reported in this one)
    results = sorted(kernels.run_all(jobs, costs(chapters_to_run, stored), timeout),
                     key=lambda run: order.index(run.docname))
    cache = get_cache(str(cache_dir))
    inputs = Inputs()
    # a file that changed while the chapters ran: what they read is unknown, so they run again next time
    settled = stamp is None or input_stamp() == stamp
    errors, runs = [], {}
    by_doc = {ch.docname: ch for ch in chapters_to_run}
    for run in results:
        where = by_doc[run.docname].path.relative_to(paths.REPO)
        if run.error:
            errors.append(f"{where}: a cell failed\n{run.error}")
            continue
        # Outputs go into the notebook as read from the Markdown: the kernel rewrites metadata
        # (kernelspec) that jupyter-cache hashes, and Sphinx must find the same hash.
        executed = originals[run.docname]
        ran_nb = nbformat.reads(run.notebook, as_version=4)
        written = _stderr_written(ran_nb)
        if written and _stderr_is_an_error():  # in any cell, shown or removed from the page
            errors.append(f"{where}: a cell wrote to stderr (execute.stderr_output: error in _config.yml): {written}")
            continue
        executed.metadata["language_info"] = ran_nb.metadata.get("language_info", {})  # code lexer
        for cell, done in zip(executed.cells, ran_nb.cells):
            if cell.cell_type == "code":
                cell.outputs, cell.execution_count = done.outputs, done.execution_count
        for record in cache.list_cache_records():  # drop this chapter's older versions
            if record.uri == str(by_doc[run.docname].path):
                cache.remove_cache(record.pk)
        cache.cache_notebook_bundle(CacheBundleIn(executed, str(by_doc[run.docname].path),
                                                  data={"execution_seconds": round(run.seconds, 2)}),
                                    check_validity=False, overwrite=True)
        if settled:
            runs[run.docname] = {"code": code_digest(executed), "seconds": round(run.seconds, 2),
                                 "ran_at": _now(),
                                 "reads": {k: inputs.digest(k) for k in run.ledger["reads"]},
                                 "drawn": run.ledger["drawn"]}
        log(f"  executed {run.docname} in {run.seconds:.1f} s ({len(run.ledger['reads'])} inputs read)")
    return errors, runs
