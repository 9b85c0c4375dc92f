"""Command line: `python -m zzreview check` validates the data; `python -m zzreview build` validates,
builds the book into a staging folder and publishes it only when everything succeeded, so a bad
input never damages the last good output."""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from . import paths, validate


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


def cmd_build(args) -> int:
    out = Path(args.out).resolve()
    problems = validate.problems()
    if problems:
        _report(problems)
        print(f"nothing executed; the last good build in {out} is untouched", file=sys.stderr)
        return 2
    staging = out / ".staging"
    # Pages written into a fresh folder: an asset left from the last run would change the links
    # Sphinx writes (it adds ?v=checksum only to files already present), and so the bytes.
    shutil.rmtree(staging / "_build" / "html", ignore_errors=True)
    staging.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    env.setdefault("SOURCE_DATE_EPOCH", _source_date_epoch())
    env.setdefault("PYTHONHASHSEED", "0")
    env["MPLBACKEND"] = "Agg"
    # jieba (Chinese search) still imports pkg_resources; its deprecation notice is not about the book.
    env["PYTHONWARNINGS"] = "ignore:pkg_resources is deprecated as an API:UserWarning"
    log_path = out / "build.log"
    started = time.monotonic()
    cmd = [str(Path(sys.executable).with_name("jupyter-book")), "build", str(paths.REPO),
           "--path-output", str(staging), "-W", "-n", "--keep-going",
           "--all"]  # re-read and re-execute every chapter: Sphinx alone would miss changed data
    with open(log_path, "w", encoding="utf-8") as log:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env,
                                text=True, cwd=paths.REPO)
        for line in proc.stdout:
            log.write(line)
            if not args.quiet:
                sys.stdout.write(line)
        rc = proc.wait()
    elapsed = time.monotonic() - started
    if rc != 0:
        print(f"\nbuild FAILED after {elapsed:.0f} s (log: {log_path}); "
              f"the last good build in {out / 'html'} is untouched", file=sys.stderr)
        return 1
    _publish(staging / "_build" / "html", out / "html")
    print(f"\nbuild OK in {elapsed:.0f} s: {out / 'html' / 'index.html'}")
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m zzreview")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("check", help="validate the data package and the source").set_defaults(func=cmd_check)
    build = sub.add_parser("build", help="validate, then build the book (HTML)")
    build.add_argument("--out", default=str(paths.REPO / "_build"), help="output folder (default: _build)")
    build.add_argument("--quiet", action="store_true", help="write the Sphinx log to the file only")
    build.set_defaults(func=cmd_build)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
