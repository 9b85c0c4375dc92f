"""Command line. `python -m zzreview check` validates the inputs. `python -m zzreview build` runs
the stock `jupyter-book build` for the HTML and the PDF into a staging folder (where the
execution cache and Sphinx's doctrees outlive a build) and publishes both editions in one atomic
step only when both succeeded, so a bad input or a killed build never damages the last good book.
`python -m zzreview preview` is sphinx-autobuild with the book's configuration."""
from __future__ import annotations

import argparse
import fcntl
import os
import shutil
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

from zzreview import meta, paths, publish
from zzreview.dataset import validate
from zzreview.paper import pdf
from zzreview.paths import PROBLEMS

JUPYTER_BOOK = Path(sys.executable).with_name("jupyter-book")


def _child_environment() -> dict:
    """What jupyter-book (and the kernels it starts) run with: this checkout's package first, and
    no notice from jieba (Chinese search), which still imports pkg_resources."""
    path = os.pathsep.join(p for p in (str(paths.REPO), os.environ.get("PYTHONPATH")) if p)
    return {**os.environ, "PYTHONPATH": path,
            "PYTHONWARNINGS": "ignore:pkg_resources is deprecated as an API:UserWarning"}


def _report(problems) -> None:
    print(f"构建已停止：输入数据有 {len(problems)} 处问题", file=sys.stderr)
    for p in problems:
        print(f"  - {p}", file=sys.stderr)


def cmd_check(_args) -> int:
    problems = validate.problems()
    if problems:
        _report(problems)
        return 2
    print("数据检查通过（data OK）")
    return 0


@contextmanager
def one_build_at_a_time(out: Path):
    """A second build into one folder waits for the first (the lock is released however that one
    ends), instead of publishing over it."""
    out.mkdir(parents=True, exist_ok=True)
    with open(out / ".build-lock", "a+", encoding="utf-8") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print(f"另一个构建正在写入 {out}，等它结束……", file=sys.stderr, flush=True)
            fcntl.flock(lock, fcntl.LOCK_EX)
        yield lock


def _jupyter_book(builder: str, staging: Path, log, lock) -> int:
    """The stock command; its output goes to the terminal and to the build log. It
    runs in a process group of its own, which a stopped build (Ctrl-C, kill) stops with the
    kernels and TeX runs it started; and it holds the build folder's lock too, so that even a
    build killed outright (its children left running) keeps the next one waiting until they end."""
    cmd = [str(JUPYTER_BOOK), "build", str(paths.REPO), "--path-output", str(staging), "--builder", builder,
           "-W", "-n", "--keep-going"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            env=_child_environment(), start_new_session=True, pass_fds=(lock.fileno(),))
    try:
        for line in proc.stdout:
            log.write(line)
            sys.stdout.buffer.write(line)
            sys.stdout.flush()
        return proc.wait()
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def cmd_build(args) -> int:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # a plain `kill` ends it through finally blocks
    out = Path(args.out).resolve()
    bad_config = validate.config_problems()  # what jupyter-book itself reads before Sphinx starts
    if bad_config:
        _report(bad_config)
        print(f"没有运行任何章节；上一次成功构建的 {out} 未受影响", file=sys.stderr)
        return 2
    with one_build_at_a_time(out) as lock:
        return _build(out, lock, fresh=args.fresh)


def _build(out: Path, lock, fresh: bool) -> int:
    started = time.monotonic()
    # jupyter-book's --path-output: its _build/ holds the execution cache, the doctrees, the
    # drawings and both editions as Sphinx wrote them, from one build to the next
    staging = out / ".staging"
    if fresh:
        shutil.rmtree(staging, ignore_errors=True)
    built = staging / "_build"
    built.mkdir(parents=True, exist_ok=True)
    publish.cleanup(out)  # what a killed build may have left
    missing = pdf.tools_missing()
    if missing:  # before anything runs: a half-made build would be no use
        print(f"构建已停止：找不到 {', '.join(missing)}；`bash scripts/setup.sh` 会安装 PDF 所需的 TeX 软件包",
              file=sys.stderr)
        return 1

    def failed(what: str) -> int:
        problems = built / PROBLEMS
        if problems.exists():  # the extension's one-line reports, repeated after jupyter-book's box
            print(f"\n构建已停止：输入数据有问题，没有运行任何章节：\n{problems.read_text(encoding='utf-8')}",
                  file=sys.stderr, end="")
        print(f"\n构建失败（{time.monotonic() - started:.0f} 秒）：{what}，原因见上方（日志：{out / 'build.log'}）；"
              f"上一次成功构建的 {out / 'html'} 与 {out / 'pdf'} 未受影响", file=sys.stderr)
        return 2 if problems.exists() else 1

    (built / PROBLEMS).unlink(missing_ok=True)  # (the extension writes them anew in each run)
    unfinished = staging / "typesetting"  # there while latexmk runs: a killed run leaves it behind
    if unfinished.exists():  # latexmk would repeat that run's error without running TeX again
        for state in (built / "latex").glob("*.fdb_latexmk"):
            state.unlink()
    with open(out / "build.log", "wb") as log:
        for builder in ("html", "pdflatex"):
            if builder == "pdflatex":
                unfinished.touch()
            if _jupyter_book(builder, staging, log, lock) != 0:
                break
        else:
            builder = None
    if builder == "pdflatex":  # TeX's own errors (from latexmk's output and TeX's log)
        text = (out / "build.log").read_text(encoding="utf-8", errors="replace")
        tex_log = built / "latex" / f"{meta.pdf_name()}.log"
        text += tex_log.read_text(encoding="utf-8", errors="replace") if tex_log.exists() else ""
        if pdf.tex_errors(text):
            print("xelatex 排版失败：\n  " + "\n  ".join(pdf.tex_errors(text)), file=sys.stderr)
    if builder:
        return failed(f"jupyter-book（{builder}）")
    unfinished.unlink()
    try:
        pdf_file = pdf.checked(built / "latex")
    except pdf.TypesetError as err:
        return failed(str(err))
    html = built / "html"
    shutil.copyfile(pdf_file, html / pdf_file.name)  # the site offers it too
    (staging / "pdf").mkdir(exist_ok=True)
    shutil.copyfile(pdf_file, staging / "pdf" / pdf_file.name)
    publish.publish({"html": html, "pdf": staging / "pdf"}, out, f"{time.time_ns()}")
    print(f"\n构建完成（build OK），用时 {time.monotonic() - started:.0f} 秒：{out / 'html' / 'index.html'}，"
          f"{out / 'pdf' / pdf_file.name}")
    return 0


# what a rebuild must not follow (sphinx-autobuild's --re-ignore: regular expressions on full paths)
PREVIEW_IGNORED = (r"/_build/", r"/\.git/", r"/\.venv/", r"/tests/", r"/__pycache__/", r"~$", r"\.swp$",
                   r"/conf\.py$", r"\.ipynb_checkpoints", r"/\.jupyter_cache/")


def cmd_preview(args) -> int:
    """sphinx-autobuild on the book's configuration (written by `jupyter-book config sphinx`):
    rebuilds on save and reloads the page; a failed rebuild leaves the last good pages served."""
    subprocess.run([str(JUPYTER_BOOK), "config", "sphinx", str(paths.REPO)], check=True,
                   stdout=subprocess.DEVNULL)
    out = Path(args.out).resolve()
    cmd = [Path(sys.executable).with_name("sphinx-autobuild"), str(paths.REPO), str(out / "html"),
           "-d", str(out / ".doctrees"), "--host", "127.0.0.1", "--port", str(args.port),
           "--watch", str(paths.data_dir()),  # (in the repository unless ZZREVIEW_DATA_DIR points elsewhere)
           "--ignore", str(out),  # (its own output, wherever --out puts it)
           *(arg for pattern in PREVIEW_IGNORED for arg in ("--re-ignore", pattern))]
    os.execve(cmd[0], [str(c) for c in cmd],
              {"ZZREVIEW_GENERATED_DIR": str(out / "generated"), **_child_environment()})


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m zzreview")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("check", help="检查数据包与原文").set_defaults(func=cmd_check)
    build = sub.add_parser("build", help="检查数据，然后构建全书（HTML 与 PDF）")
    build.add_argument("--out", default=str(paths.default_out()), help="输出文件夹（默认 _build）")
    build.add_argument("--fresh", action="store_true", help="丢弃执行缓存，从头构建")
    build.set_defaults(func=cmd_build)
    preview = sub.add_parser("preview", help="在 127.0.0.1 上预览，文件保存后自动重建")
    preview.add_argument("--port", type=int, default=int(os.environ.get("PORT") or 8000))
    preview.add_argument("--out", default=str(paths.default_out() / "preview"))
    preview.set_defaults(func=cmd_preview)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
