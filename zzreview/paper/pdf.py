"""The PDF edition, part 2: check what TeX made of the LaTeX that Sphinx wrote (shaped by
zzreview/paper/latex.py): fail on any glyph the fonts lack."""
from __future__ import annotations

import re
import shutil
from pathlib import Path

from zzreview import meta

TOOLS = ("latexmk", "xelatex", "xdvipdfmx")


LOST_CHAR = re.compile(r"Missing character: There is no .*$", re.M)
ERROR_LINE = re.compile(r"^(!.*|\S+:\d+: .*)$", re.M)  # TeX's errors, plain or file:line: style


class TypesetError(RuntimeError):
    pass


def checked(latex_dir: Path) -> Path:
    """The PDF that `jupyter-book build --builder pdflatex` typeset (Sphinx's Makefile runs
    latexmk → xelatex → xdvipdfmx; the extension set FORCE_SOURCE_DATE, so two builds of one
    commit give the same bytes), once its TeX log shows no glyph the fonts lack; else
    TypesetError naming them."""
    name = meta.pdf_name()  # latex_documents in _config.yml: Sphinx wrote name.tex
    log = latex_dir / f"{name}.log"
    text = log.read_text(encoding="utf-8", errors="replace") if log.exists() else ""
    lost = sorted(set(LOST_CHAR.findall(text)))
    if lost:
        raise TypesetError("PDF 的字体缺少字形：\n  " + "\n  ".join(lost))
    pdf = latex_dir / f"{name}.pdf"
    if not pdf.exists():
        raise TypesetError(f"xelatex 没有生成 PDF（TeX 日志：{log}）：\n  " + "\n  ".join(tex_errors(text)))
    return pdf


def tex_errors(text: str) -> list[str]:
    """TeX's error lines in a log (plain, or file:line: style), the first ten."""
    return list(dict.fromkeys(ERROR_LINE.findall(text)))[:10]


def tools_missing() -> list[str]:
    return [t for t in TOOLS if shutil.which(t) is None]
