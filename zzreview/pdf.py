"""The PDF edition, part 2: typeset the LaTeX that Sphinx wrote (shaped by zzreview/latex.py)
with latexmk → xelatex (xeCJK) → xdvipdfmx, and fail on any glyph the fonts lack."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import threading
import time
from pathlib import Path

from . import meta
TOOLS = ("latexmk", "xelatex", "xdvipdfmx")


LOST_CHAR = re.compile(r"Missing character: There is no .*$", re.M)
ERROR_LINE = re.compile(r"^(!.*|\S+:\d+: .*)$", re.M)  # TeX's errors, plain or file:line: style


class TypesetError(RuntimeError):
    pass


class Typesetting:
    """latexmk (xelatex → xdvipdfmx) running in latex_dir, in the background: the build writes the
    HTML edition meanwhile (two cores, two single-threaded jobs). Dates in the PDF come from
    SOURCE_DATE_EPOCH (FORCE_SOURCE_DATE makes TeX use it for \\today and the file dates too), so
    two builds of one commit give the same bytes. latexmk reruns only what changed."""

    def __init__(self, latex_dir: Path, log_path: Path):
        self.name = meta.pdf_name()  # latex_documents in _config.yml: Sphinx wrote name.tex
        self.latex_dir, self.log_path = latex_dir, log_path
        self.tex_log = latex_dir / f"{self.name}.log"
        self.before = self.tex_log.stat().st_mtime_ns if self.tex_log.exists() else None
        self.started = time.monotonic()
        env = {**os.environ, "FORCE_SOURCE_DATE": "1", "max_print_line": "10000"}
        cmd = ["latexmk", "-xelatex", "-interaction=nonstopmode", "-halt-on-error", "-file-line-error",
               f"{self.name}.tex"]
        with open(log_path, "wb") as log:  # the child keeps its own handle
            self.proc = subprocess.Popen(cmd, cwd=latex_dir, env=env, stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL)
        self.seconds = None
        self._waiter = threading.Thread(target=self._time, daemon=True)  # its own time, not the wait
        self._waiter.start()

    def _time(self) -> None:
        self.proc.wait()
        self.seconds = time.monotonic() - self.started

    def stop(self) -> None:
        """The build failed elsewhere: no PDF is wanted. latexmk and what it started (xelatex,
        xdvipdfmx) are killed, so nothing writes into the LaTeX folder after the build ends."""
        from .processes import kill_tree

        if self.proc.poll() is None:
            kill_tree(self.proc.pid)
        self.proc.wait()

    def result(self) -> Path:
        """Wait for the PDF; raise TypesetError naming what went wrong."""
        code = self.proc.wait()
        self._waiter.join()
        output = self.log_path.read_text(encoding="utf-8", errors="replace")
        fresh = self.tex_log.exists() and self.tex_log.stat().st_mtime_ns != self.before
        text = self.tex_log.read_text(encoding="utf-8", errors="replace") if fresh else ""
        lost = sorted(set(LOST_CHAR.findall(text + output)))
        if lost:
            raise TypesetError("PDF 的字体缺少以下字形：\n  " + "\n  ".join(lost))
        if code != 0:
            errors = list(dict.fromkeys(ERROR_LINE.findall(text) + ERROR_LINE.findall(output)))
            raise TypesetError(f"xelatex 排版失败（TeX 日志：{self.tex_log}）：\n  " + "\n  ".join(errors[:10]))
        return self.latex_dir / f"{self.name}.pdf"


def typeset(latex_dir: Path, log_path: Path) -> Path:
    """Typeset and wait: the PDF, or TypesetError."""
    return Typesetting(latex_dir, log_path).result()


def tools_missing() -> list[str]:
    return [t for t in TOOLS if shutil.which(t) is None]
