"""Command line: `python -m zzreview check` validates the data; `python -m zzreview build` validates,
builds the book (HTML and PDF) into a staging folder and publishes both only when everything
succeeded, so a bad input never damages the last good output."""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from . import paths, pdf, validate


def _report(problems) -> None:
    print(f"构建已停止：输入数据有 {len(problems)} 处问题 / build stopped: "
          f"{len(problems)} problem(s) in the input", file=sys.stderr)
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


def _publish(built: Path, target: Path) -> None:
    """Replace target with a copy of built; the old output is removed only after the swap."""
    fresh = target.with_name(target.name + ".new")
    old = target.with_name(target.name + ".old")
    for leftover in (fresh, old):
        shutil.rmtree(leftover, ignore_errors=True)
    shutil.copytree(built, fresh)
    if target.exists():
        os.rename(target, old)
    os.rename(fresh, target)
    shutil.rmtree(old, ignore_errors=True)


INPUT_GLOBS = ("_config.yml", "_toc.yml", "requirements.txt", "book/**/*", "zzreview/*.py")


def _inputs_digest() -> str:
    """Everything a build reads, hashed: if it is unchanged, the published book is current."""
    digest = hashlib.sha256()
    files = {p for pattern in INPUT_GLOBS for p in paths.REPO.glob(pattern) if p.is_file()}
    files |= {p for p in paths.data_dir().rglob("*") if p.is_file()}
    for path in sorted(files):
        digest.update(str(path).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def _registry() -> list[dict]:
    import yaml  # not figures.registry(): that imports matplotlib, too slow for a no-op build
    return yaml.safe_load(paths.figures_registry_path().read_text(encoding="utf-8")) or []


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def cmd_build(args) -> int:
    from . import execute
    from .sphinxext import executed_list_path

    bad_config = validate.config_problems()  # the files everything below reads by name
    if bad_config:
        _report(bad_config)
        print(f"nothing executed; the last good build in {Path(args.out).resolve()} is untouched", file=sys.stderr)
        return 2
    out = Path(args.out).resolve()
    staging = out / ".staging"
    build_dir = staging / "_build"  # what jupyter-book makes under --path-output
    state_path = staging / "zz-state.json"
    if args.fresh:
        shutil.rmtree(staging, ignore_errors=True)
    state = _read_json(state_path)
    started = time.monotonic()
    from .cite import book_version

    os.environ.setdefault("ZZREVIEW_VERSION", book_version())  # one version for the whole build
    os.environ.setdefault("SOURCE_DATE_EPOCH", _source_date_epoch())
    digest = _inputs_digest() + os.environ["ZZREVIEW_VERSION"]
    drawn = all((staging / "_generated" / "figures" / f"{f['id']}.svg").exists() for f in _registry())
    from .meta import pdf_name

    published = (out / "html" / "index.html").exists() and (out / "pdf" / f"{pdf_name()}.pdf").exists()
    if state.get("inputs") == digest and drawn and published:
        print(f"nothing changed since the last build: {out / 'html' / 'index.html'}, "
              f"{out / 'pdf' / f'{pdf_name()}.pdf'}")
        return 0
    missing_tools = pdf.tools_missing()
    if missing_tools:  # before anything runs: a half-made build would be no use
        print(f"build stopped: {', '.join(missing_tools)} not found; `bash scripts/setup.sh` installs "
              "the TeX packages the PDF needs", file=sys.stderr)
        return 1

    problems = validate.problems()
    if problems:
        _report(problems)
        print(f"nothing executed; the last good build in {out} is untouched", file=sys.stderr)
        return 2
    phases = {"validate": time.monotonic() - started}

    # The executor's kernels and Sphinx inherit these.
    os.environ.setdefault("PYTHONHASHSEED", "0")
    os.environ.update(MPLBACKEND="Agg", ZZREVIEW_GENERATED_DIR=str(staging / "_generated"),
                      ZZREVIEW_DATA_CHECKED="1")  # validated above: kernels need not check again
    # jieba (Chinese search) still imports pkg_resources; its deprecation notice is not about the book.
    sphinx_env = {**os.environ, "PYTHONWARNINGS": "ignore:pkg_resources is deprecated as an API:UserWarning"}

    plan = execute.plan(build_dir / ".jupyter_cache", staging / "_generated", state.get("fingerprints", {}))
    for doc, why in plan.reasons.items():
        print(f"  to execute: {doc} ({why})")
    phases["plan"] = time.monotonic() - started - sum(phases.values())
    errors = execute.execute(plan.stale, build_dir / ".jupyter_cache", workers=args.jobs)
    phases["execute"] = time.monotonic() - started - sum(phases.values())
    if errors:
        print("build FAILED: a chapter could not be executed; the last good build in "
              f"{out / 'html'} is untouched", file=sys.stderr)
        for err in errors:
            print(err, file=sys.stderr)
        return 1
    # executed, but not yet re-read by a successful Sphinx run (this one or a failed earlier one)
    pending = sorted(set(state.get("pending", [])) | {c.docname for c in plan.stale})
    executed_list = executed_list_path(build_dir / "html")
    executed_list.parent.mkdir(parents=True, exist_ok=True)
    executed_list.write_text(json.dumps(pending), encoding="utf-8")
    state.update(fingerprints={**state.get("fingerprints", {}), **plan.fingerprints}, pending=pending)
    state.pop("inputs", None)
    staging.mkdir(parents=True, exist_ok=True)
    state_path.write_text(json.dumps(state, indent=1), encoding="utf-8")

    log_path = out / "build.log"
    untouched = f"the last good build in {out / 'html'} and {out / 'pdf'} is untouched"

    def failed(what: str) -> int:
        print(f"\nbuild FAILED after {time.monotonic() - started:.0f} s: {what} (log: {log_path}); "
              + untouched, file=sys.stderr)
        return 1

    with open(log_path, "w", encoding="utf-8") as log:
        if _sphinx("html", staging, sphinx_env, log, args.quiet) != 0:
            return failed("Sphinx (HTML)")
        phases["sphinx html"] = time.monotonic() - started - sum(phases.values())
        # The HTML run has re-read the executed chapters; the LaTeX run shares its environment.
        executed_list.write_text("[]", encoding="utf-8")
        if _sphinx("latex", staging, sphinx_env, log, args.quiet) != 0:
            return failed("Sphinx (LaTeX)")
        phases["sphinx latex"] = time.monotonic() - started - sum(phases.values())
        try:
            with open(out / "latex.log", "w", encoding="utf-8") as latex_log:  # latexmk's passes
                pdf_file = pdf.typeset(build_dir / "latex", latex_log)
        except pdf.TypesetError as err:
            return failed(str(err))
        phases["xelatex"] = time.monotonic() - started - sum(phases.values())
    shutil.copyfile(pdf_file, build_dir / "html" / pdf_file.name)  # the site offers it for download
    (staging / "pdf").mkdir(exist_ok=True)
    shutil.copyfile(pdf_file, staging / "pdf" / pdf_file.name)
    _publish(build_dir / "html", out / "html")
    _publish(staging / "pdf", out / "pdf")
    state.update(pending=[], inputs=digest)
    state_path.write_text(json.dumps(state, indent=1), encoding="utf-8")
    executed_list.unlink(missing_ok=True)
    elapsed = time.monotonic() - started
    print(f"\nbuild OK in {elapsed:.0f} s ({len(plan.stale)} of {len(plan.fingerprints)} chapters "
          f"executed; " + ", ".join(f"{k} {v:.1f} s" for k, v in phases.items()) +
          f"): {out / 'html' / 'index.html'}, {out / 'pdf' / pdf_file.name}")
    return 0


def _sphinx(builder: str, staging: Path, env: dict, log, quiet: bool) -> int:
    """jupyter-book with one builder, into <staging>/_build/<builder>; output to the log."""
    cmd = [str(Path(sys.executable).with_name("jupyter-book")), "build", str(paths.REPO),
           "--path-output", str(staging), "--builder", builder, "-W", "-n", "--keep-going"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env,
                            text=True, cwd=paths.REPO)
    for line in proc.stdout:
        log.write(line)
        if not quiet:
            sys.stdout.write(line)
    return proc.wait()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m zzreview")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("check", help="validate the data package and the source").set_defaults(func=cmd_check)
    build = sub.add_parser("build", help="validate, then build the book (HTML and PDF)")
    build.add_argument("--out", default=str(paths.REPO / "_build"), help="output folder (default: _build)")
    build.add_argument("--quiet", action="store_true", help="write the Sphinx log to the file only")
    build.add_argument("--fresh", action="store_true", help="forget the cache and the last build's state")
    build.add_argument("--jobs", type=int, default=0, help="chapters executed at once (default: cores)")
    build.set_defaults(func=cmd_build)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
