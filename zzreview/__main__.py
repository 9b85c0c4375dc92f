"""Command line: `python -m zzreview check` validates the data; `python -m zzreview build` validates,
builds the book (HTML and PDF) into a staging folder and publishes both only when everything
succeeded, so a bad input never damages the last good output."""
from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

from . import paths, pdf, records, validate


def _report(problems) -> None:
    print(f"构建已停止：输入数据有 {len(problems)} 处问题", file=sys.stderr)
    for p in problems:
        print(f"  - {p}", file=sys.stderr)


def cmd_check(_args) -> int:
    problems = validate.problems()
    if problems:
        _report(problems)
        return 2
    print("data OK")
    return 0


def _source_date_epoch() -> str:
    """Builds are dated by the commit, not the clock, so two builds of one commit are the same."""
    try:
        out = subprocess.run(["git", "-C", str(paths.REPO), "log", "-1", "--format=%ct"],
                             capture_output=True, text=True, check=True).stdout.strip()
        return out or "0"
    except (OSError, subprocess.CalledProcessError):
        return "0"


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


class Build:
    """One build: where it works, what the last one left, how long each phase took."""

    def __init__(self, args):
        self.args = args
        self.out = Path(args.out).resolve()
        self.staging = staging_dir(self.out)
        self.build_dir = self.staging / "_build"  # what jupyter-book makes under --path-output
        self.state_path = state_file(self.staging)
        self.log_path = self.out / "build.log"
        if args.fresh:
            shutil.rmtree(self.staging, ignore_errors=True)
        self.state = _read_json(self.state_path)
        self.started = time.monotonic()
        self.phases: dict[str, float] = {}

    @staticmethod
    def mark(name: str) -> None:
        print(f"== {name}", flush=True)  # where a build is, for the reader and for the tests

    @contextmanager
    def phase(self, name: str, quiet: bool = False):
        if not quiet:
            self.mark(name)
        begun = time.monotonic()
        yield
        self.phases[name] = time.monotonic() - begun

    def save_state(self, **changes) -> None:
        self.state.update(changes)
        self.staging.mkdir(parents=True, exist_ok=True)
        self.state_path.write_text(json.dumps(self.state, indent=1), encoding="utf-8")

    def failed(self, what: str) -> int:
        print(f"\nbuild FAILED after {time.monotonic() - self.started:.0f} s: {what} (log: {self.log_path}); "
              f"the last good build in {self.out / 'html'} and {self.out / 'pdf'} is untouched", file=sys.stderr)
        return 1

    def published(self, editions=("html", "latex")) -> bool:
        from .meta import pdf_name

        return (self.out / "html" / "index.html").exists() and (
            "latex" not in editions or (self.out / "pdf" / f"{pdf_name()}.pdf").exists())


def cmd_build(args, *, sphinx=None, kernel=None) -> int:
    """The build, phase by phase. The preview passes its own Sphinx runner and kernel and asks
    for the HTML edition only (args.html_only)."""

    bad_config = validate.config_problems()  # the files everything below reads by name
    if bad_config:
        _report(bad_config)
        print(f"nothing executed; the last good build in {Path(args.out).resolve()} is untouched", file=sys.stderr)
        return 2
    with one_build_at_a_time(Path(args.out).resolve()):
        return _locked_build(args, sphinx, kernel)


@contextmanager
def one_build_at_a_time(out: Path):
    """Two builds into one folder would clean up and publish over each other (a second `make
    book` in another terminal, two previews): the later one waits for the earlier, and then
    builds only what that one left to do."""
    import fcntl

    out.mkdir(parents=True, exist_ok=True)
    with open(_lock_file(out), "a+", encoding="utf-8") as lock:
        if not _locked_now(lock):
            lock.seek(0)
            print(f"waiting for the build already running into {out} (process {lock.read().strip() or '?'}) "
                  "to finish …", file=sys.stderr, flush=True)
            fcntl.flock(lock, fcntl.LOCK_EX)  # released when that process ends, however it ends
        lock.truncate(0)
        lock.write(str(os.getpid()))
        lock.flush()
        yield


@contextmanager
def _no_build_running(out: Path):
    """Whether no build into `out` runs now; if so, none starts there until the block ends."""
    if not _lock_file(out).exists():  # (no build with a lock has run there)
        yield True
        return
    with open(_lock_file(out), encoding="utf-8") as lock:
        yield _locked_now(lock)


def _locked_now(lock) -> bool:
    """Take a build folder's lock if no build holds it; whether it was taken."""
    import fcntl

    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False


def _lock_file(out: Path) -> Path:
    return out / ".build-lock"


def _locked_build(args, sphinx, kernel) -> int:
    from . import execute, publish
    from .cite import book_version
    from .sphinxrun import WarmSphinx

    build = Build(args)
    editions = ("html",) if getattr(args, "html_only", False) else ("html", "latex")
    publish.cleanup(build.out)  # what a killed build may have left
    os.environ.setdefault("ZZREVIEW_VERSION", book_version())  # one version for the whole build
    os.environ.setdefault("SOURCE_DATE_EPOCH", _source_date_epoch())
    digest = paths.inputs_digest() + os.environ["ZZREVIEW_VERSION"]
    drawn = all((build.staging / "_generated" / "figures" / f"{f['id']}.svg").exists() for f in records.figure_registry())
    if build.state.get("inputs") == digest and drawn and build.published(editions):
        print(f"nothing changed since the last build: {build.out / 'html' / 'index.html'}, {build.out / 'pdf'}")
        return 0
    missing_tools = pdf.tools_missing() if "latex" in editions else []
    if missing_tools:  # before anything runs: a half-made build would be no use
        print(f"build stopped: {', '.join(missing_tools)} not found; `bash scripts/setup.sh` installs "
              "the TeX packages the PDF needs", file=sys.stderr)
        return 1

    build.sphinx_env = kernel_environment(build.staging)  # before a kernel starts: kernels inherit it
    own_kernels, own_sphinx = kernel is None, sphinx is None  # (the preview's outlive this build)
    # a kernel starts at once (a build that gets here mostly runs a chapter) and warms up while
    # the plan is made and the data checked; the others the plan is worth, once the data passed
    kernels = kernel or execute.WarmKernels(1, str(paths.REPO))
    try:
        with build.phase("plan"):
            plan = _plan(build, data_checked=False)
        if plan is not None and not plan.stale:
            if own_kernels:
                kernels.stop(wait=False)  # (a kernel still starting is killed; the build goes on)
            sphinx = sphinx or WarmSphinx()  # Sphinx is next: its imports while the data is checked
        with build.phase("validate"):
            problems = validate.problems(remember_in=build.staging)  # (inputs it passed before: not again)
        if problems:
            _report(problems)
            print(f"nothing executed; the last good build in {build.out} is untouched", file=sys.stderr)
            return 2
        plan = plan or _plan(build, data_checked=True)
        if own_kernels and plan.stale:
            kernels.grow(execute.kernel_count(execute.costs(plan.stale, build.state.get("chapters", {})), args.jobs))
        elif own_kernels:
            kernels.stop(wait=False)
        sphinx = sphinx or WarmSphinx()  # its imports while the chapters run
        return _build_from_plan(build, editions, digest, plan, sphinx, kernels)
    finally:
        if own_sphinx and sphinx is not None:
            sphinx.stop()
        if own_kernels:
            kernels.stop()


def _plan(build: Build, data_checked: bool):
    """Which chapters run, and why (execute.plan). Made before the data is validated: a plan that
    runs nothing stops the kernel already starting and starts Sphinx's server instead. Data it
    cannot read gives None then (the validation says why, and the plan is made again after it)."""
    from . import execute

    try:
        return execute.plan(build.build_dir / ".jupyter_cache", build.staging / "_generated",
                            build.state.get("chapters", {}))
    except Exception:
        if data_checked:
            raise
        return None


def _build_from_plan(build: Build, editions, digest: str, plan, sphinx, kernels) -> int:
    from . import execute, publish

    for doc, why in plan.reasons.items():
        print(f"  to execute: {doc} ({why})")
    with build.phase("execute"):
        errors, runs = execute.execute(plan.stale, build.build_dir / ".jupyter_cache", kernels,
                                       timeout=_execution_timeout(), stored=build.state.get("chapters", {}),
                                       stamp=plan.stamp)
    if errors:
        print("build FAILED: a chapter could not be executed; the last good build in "
              f"{build.out / 'html'} is untouched", file=sys.stderr)
        for err in errors:
            print(err, file=sys.stderr)
        # the chapters that ran replaced their cache entries: their old records no longer say what
        # the cache holds (inputs reverted to what a record names would be served the new outputs)
        build.save_state(chapters=_records_not_run(build, plan))
        return 1
    _record_executed(build, plan, runs)

    typesetting = None
    try:
        with open(build.log_path, "w", encoding="utf-8") as log:
            # LaTeX first: xelatex (one core) typesets the PDF while Sphinx writes the HTML (the other)
            order = [b for b in ("latex", "html") if b in editions]
            for builder in order:
                with build.phase(f"sphinx {builder}"):
                    code, warnings = sphinx(builder, build.staging, build.sphinx_env, log, build.args.quiet)
                if code != 0:
                    for line in warnings[:5]:
                        print(f"  - {line}", file=sys.stderr)
                    return build.failed(f"Sphinx ({builder.upper()})")
                if builder == "latex":
                    build.mark("xelatex")
                    typesetting = pdf.Typesetting(build.build_dir / "latex", build.out / "latex.log")
        # both have re-read (the first) and written (each) the executed chapters
        build.save_state(pending=[], sphinx_complete=True)
        sphinxext_executed(build).write_text("[]", encoding="utf-8")
        pdf_file = None
        if typesetting:
            with build.phase("waiting for xelatex", quiet=True):
                try:
                    pdf_file = typesetting.result()
                except pdf.TypesetError as err:
                    return build.failed(str(err))
            build.phases["xelatex"] = typesetting.seconds
    finally:
        if typesetting:
            typesetting.stop()  # a failure elsewhere: the PDF is not wanted

    with build.phase("publish"):
        folders = {"html": build.build_dir / "html"}
        record = execute.execution_record(plan.stale, build.state.get("chapters", {}))
        (folders["html"] / execute.EXECUTION_RECORD).write_text(json.dumps(record, ensure_ascii=False, indent=1),
                                                                 encoding="utf-8")
        if pdf_file:
            shutil.copyfile(pdf_file, build.build_dir / "html" / pdf_file.name)  # the site offers it too
            (build.staging / "pdf").mkdir(exist_ok=True)
            shutil.copyfile(pdf_file, build.staging / "pdf" / pdf_file.name)
            folders["pdf"] = build.staging / "pdf"
        publish.publish(folders, build.out, f"{digest[:12]}-{time.time_ns()}")  # never the folder being served
    build.save_state(pending=[], inputs=digest)
    sphinxext_executed(build).unlink(missing_ok=True)
    print(f"\nbuild OK in {time.monotonic() - build.started:.0f} s ({len(plan.stale)} of {plan.chapters} "
          "chapters executed; " + ", ".join(f"{k} {v:.1f} s" for k, v in build.phases.items()) +
          f"): {build.out / 'html' / 'index.html'}" + (f", {build.out / 'pdf' / pdf_file.name}" if pdf_file else ""))
    return 0


def staging_dir(out: Path) -> Path:
    """Where a build into `out` works (its cache, drawings, Sphinx's folders, its state)."""
    return out / ".staging"


def state_file(staging: Path) -> Path:
    """What the last build left: each chapter's record of its run (code, reads, figures, time)."""
    return staging / "zz-state.json"


def kernel_environment(staging: Path) -> dict:
    """Set what the executor's kernels inherit; return the environment Sphinx runs in (it reads
    the chapters' records from the state file, to show each page's history)."""
    os.environ.setdefault("PYTHONHASHSEED", "0")
    os.environ.update(MPLBACKEND="Agg", ZZREVIEW_GENERATED_DIR=str(staging / "_generated"),
                      ZZREVIEW_BUILD_STATE=str(state_file(staging)),
                      ZZREVIEW_DATA_CHECKED="1")  # nothing reaches a kernel before validation passed
    from .sphinxrun import JIEBA_NOTICE

    return {**os.environ, "PYTHONWARNINGS": JIEBA_NOTICE}


def _execution_timeout() -> int:
    """Seconds a cell may run: _config.yml's execute.timeout, as the book documents it."""
    from .meta import config

    return int((config().get("execute") or {}).get("timeout") or 120)


def sphinxext_executed(build: Build) -> Path:
    from .sphinxext import executed_list_path

    return executed_list_path(build.build_dir / "html")


def _record_executed(build: Build, plan, runs: dict[str, dict]) -> None:
    """Chapters executed but not yet re-read by a successful Sphinx run (this one or an earlier
    one that failed or was killed) are re-read; a Sphinx run that never finished (killed while
    writing pages) is redone from scratch, so no half-written page is ever published. Each run's
    record replaces the last; a chapter that ran without one (a file changed while it ran) keeps
    none, so the next build runs it again."""
    pending = sorted(set(build.state.get("pending", [])) | {c.docname for c in plan.stale})
    if build.state.get("sphinx_complete") is False:
        for folder in ("html", "latex", ".doctrees"):
            shutil.rmtree(build.build_dir / folder, ignore_errors=True)
    executed = sphinxext_executed(build)
    executed.parent.mkdir(parents=True, exist_ok=True)
    executed.write_text(json.dumps(pending), encoding="utf-8")
    build.state.pop("inputs", None)
    chapters = _records_not_run(build, plan)
    build.state.pop("fingerprints", None)  # the state of builds before runs were recorded
    build.save_state(chapters={**chapters, **runs}, pending=pending, sphinx_complete=False,
                     screen_only=paths.screen_only())  # (a preview's drawings: SVG only; see seed)


def _records_not_run(build: Build, plan) -> dict[str, dict]:
    """The last build's records of the chapters this one did not execute."""
    ran = {c.docname for c in plan.stale}
    return {doc: rec for doc, rec in build.state.get("chapters", {}).items() if doc not in ran}


def seed(out: Path, source_out: Path, screen_only: bool) -> bool:
    """Start a build into `out` that has no state yet (a first preview, its PDF) from the executed
    chapters of the build into `source_out`: their records, the execution cache and the drawings
    are copied, and the plan runs
    only what differs. Executed chapters name their drawings the same in every build
    (paths.GENERATED_URI), so the copies serve as the build's own. Never from a preview's build
    into a full one (the preview draws SVG only). Returns whether it seeded."""
    staging, source = staging_dir(out), staging_dir(source_out)
    if state_file(staging).exists() or not state_file(source).exists():
        return False
    with _no_build_running(source_out) as free:  # never copied while a build there writes them
        if not free:  # (starting from scratch beats waiting for that build)
            return False
        given = _read_json(state_file(source))
        if not given.get("chapters") or not (screen_only or given.get("screen_only") is False):
            return False
        if not ((source / "_generated").is_dir() and (source / "_build" / ".jupyter_cache").is_dir()):
            return False
        shutil.rmtree(staging, ignore_errors=True)
        shutil.copytree(source / "_generated", staging / "_generated")
        shutil.copytree(source / "_build" / ".jupyter_cache", staging / "_build" / ".jupyter_cache")
    state_file(staging).write_text(json.dumps({"chapters": given["chapters"]}, indent=1), encoding="utf-8")
    return True


def _cmd_build(args) -> int:
    # a plain `kill` ends the build through its finally blocks (the PDF's typesetting is stopped)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    return cmd_build(args)


def _cmd_preview(args) -> int:
    from . import preview

    return preview.main(args)


def _cmd_run(args) -> int:
    from . import run

    return run.run(args.files, timeout=_execution_timeout())  # a cell's time as in a build (_config.yml)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m zzreview")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("check", help="validate the data package and the source").set_defaults(func=cmd_check)
    build = sub.add_parser("build", help="validate, then build the book (HTML and PDF)")
    build.add_argument("--out", default=str(paths.default_out()), help="output folder (default: _build)")
    build.add_argument("--quiet", action="store_true", help="write the Sphinx log to the file only")
    build.add_argument("--fresh", action="store_true", help="forget the cache and the last build's state")
    build.add_argument("--jobs", type=int, default=0, help="chapters executed at once (default: cores)")
    build.set_defaults(func=_cmd_build)
    preview = sub.add_parser("preview", help="serve the book on 127.0.0.1 and rebuild it as files change")
    preview.add_argument("--port", type=int, default=8000)
    preview.add_argument("--out", default=str(paths.default_out() / "preview"))
    preview.add_argument("--pdf", action="store_true", help="also keep a PDF following, in the background")
    preview.set_defaults(func=_cmd_preview)
    run = sub.add_parser("run", help="run notebooks (.ipynb in place; a chapter's .md into _build/run/)")
    run.add_argument("files", nargs="+")
    run.set_defaults(func=_cmd_run)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
