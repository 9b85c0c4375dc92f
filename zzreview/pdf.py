"""The PDF edition, part 2: typeset the LaTeX that Sphinx wrote (shaped by zzreview/latex.py)
with latexmk → xelatex (xeCJK) → xdvipdfmx, and fail on any glyph the fonts lack."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

from . import meta
TOOLS = ("latexmk", "xelatex", "xdvipdfmx")


LOST_CHAR = re.compile(r"Missing character: There is no .*$", re.M)
ERROR_LINE = re.compile(r"^(!.*|\S+:\d+: .*)$", re.M)  # TeX's errors, plain or file:line: style


class TypesetError(RuntimeError):
    pass


def typeset(latex_dir: Path, log) -> Path:
    """Run latexmk (xelatex → xdvipdfmx) in latex_dir; return the PDF. Dates in the PDF come from
    SOURCE_DATE_EPOCH (FORCE_SOURCE_DATE makes TeX use it for \\today and the file dates too), so
    two builds of one commit give the same bytes. latexmk reruns only what changed."""
    name = meta.pdf_name()  # latex_documents in _config.yml: Sphinx wrote name.tex
    tex_log = latex_dir / f"{name}.log"
    before = tex_log.stat().st_mtime_ns if tex_log.exists() else None
    env = {**os.environ, "FORCE_SOURCE_DATE": "1", "max_print_line": "10000"}
    cmd = ["latexmk", "-xelatex", "-interaction=nonstopmode", "-halt-on-error", "-file-line-error",
           f"{name}.tex"]
    proc = subprocess.run(cmd, cwd=latex_dir, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, errors="replace")
    log.write(proc.stdout)
    fresh = tex_log.exists() and tex_log.stat().st_mtime_ns != before
    text = tex_log.read_text(encoding="utf-8", errors="replace") if fresh else ""
    lost = sorted(set(LOST_CHAR.findall(text + proc.stdout)))
    if lost:
        raise TypesetError("the PDF's fonts lack glyphs:\n  " + "\n  ".join(lost))
    if proc.returncode != 0:
        errors = list(dict.fromkeys(ERROR_LINE.findall(text) + ERROR_LINE.findall(proc.stdout)))
        raise TypesetError(f"xelatex failed (TeX log: {tex_log}):\n  " + "\n  ".join(errors[:10]))
    return latex_dir / f"{name}.pdf"


def tools_missing() -> list[str]:
    return [t for t in TOOLS if shutil.which(t) is None]
