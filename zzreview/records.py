"""One reader per input file. Each file is read and parsed here, once per version of it (path and
modification time); validation, the executor's fingerprints, the data layer, the charts and
Sphinx all ask these functions, so no two parts of the book can read one file differently.

A file that cannot be read raises DataError naming the file (and the line, for YAML); the
validation step turns that into its one-line report.

Every read is also noted in a ledger (`ledger()`): the executor fingerprints each chapter by what it
actually read while it ran, not by what its code seems to name.
"""
from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import sys
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

import yaml

from zzreview import paths
from zzreview.errors import DataError, Problem

# --- the ledger of what was read ----------------------------------------------------------------
# Keys: "file:<name>" for a whole file; where a caller used only some records of a file, those
# records instead: "metric:<id>", "metrics-of:<section>", "figure:<id>", "section:<id>",
# "article:<id>", "register-of:<section>". Names are the book's (data files as "data/…"), so a
# copy of data/ elsewhere (ZZREVIEW_DATA_DIR) is the same input. chapters.py turns each key back
# into the content it stands for.
_reads: set[str] = set()
_drawn: list[str] = []
_narrowed = 0
_seen: dict[str, int] = {}  # each file read: its modification time when first read


def name_of(path: Path) -> str:
    """A file's name in the book: data files as data/<path in the data folder>, others
    relative to the repository (absolute outside it)."""
    path = Path(path).resolve()
    for base, prefix in ((paths.data_dir(), "data/"), (paths.REPO, "")):
        try:
            return prefix + path.relative_to(base).as_posix()
        except ValueError:
            continue
    return str(path)


def path_of(name: str) -> Path:
    return paths.data_dir() / name[5:] if name.startswith("data/") else paths.REPO / name


def note(*keys: str) -> None:
    _reads.update(keys)


def note_file(path: Path) -> None:
    if not _narrowed:
        _reads.add("file:" + name_of(path))


@contextmanager
def narrowed(*keys: str):
    """A caller that reads whole files but uses only the records `keys` names."""
    global _narrowed
    _narrowed += 1
    try:
        yield
    finally:
        _narrowed -= 1
    note(*keys)


def note_drawn(fig_id: str) -> None:
    _drawn.append(fig_id)


_IGNORED = (".venv", "_build", ".git", "__pycache__", "node_modules")


def opened(path, mode, flags=0) -> None:
    """An audit hook's "open" event (book.setup() installs the hook in a chapter's kernel): a book file
    that chapter code opened itself, say with pandas, is a read like any other."""
    if _narrowed or isinstance(path, int) or path is None:
        return
    writing = any(c in mode for c in "wax+") if isinstance(mode, str) else bool(flags & (os.O_WRONLY | os.O_RDWR))
    if writing:
        return
    name = name_of(Path(os.fsdecode(path)))
    if not name.startswith("/") and not any(part in _IGNORED for part in name.split("/")):
        _reads.add("file:" + name)
        with contextlib.suppress(OSError):
            _seen.setdefault(os.fsdecode(path), os.stat(path).st_mtime_ns)


def changed_since_read() -> list[str]:
    """The files this process read that have changed since (a file saved while a chapter ran):
    what the chapter read of them is then not known."""
    def now(path):
        try:
            return os.stat(path).st_mtime_ns
        except OSError:
            return None
    return sorted(name_of(Path(p)) for p, mtime in _seen.items() if now(p) != mtime)


def ledger() -> dict:
    """What this process read and drew, and the book's modules it loaded."""
    modules = sorted(name_of(Path(m.__file__)) for n, m in list(sys.modules.items())
                     if n.split(".")[0] == "zzreview" and getattr(m, "__file__", None))
    # and the pinned packages: a new matplotlib or pandas may draw or count differently
    return {"reads": sorted(_reads | {f"file:{m}" for m in modules} | {"file:requirements.txt"}), "drawn": _drawn}


def _version(path: Path) -> tuple[str, int]:
    note_file(path)
    try:
        mtime = path.stat().st_mtime_ns
        _seen.setdefault(str(path), mtime)
        return str(path), mtime
    except OSError:
        raise DataError([Problem(paths.relpath(path), "文件不存在", hint="请从 git 恢复该文件")]) from None


def utf8_problem(data: bytes, rel: str) -> Problem | None:
    """Why a file's bytes are not UTF-8, naming the line of the first bad byte; None if they are.
    A UTF-8 BOM is fine (Windows editors write one)."""
    try:
        data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        return Problem(rel, f"不是有效的 UTF-8：偏移 {exc.start} 处的字节 {data[exc.start]:#04x} 无法解码",
                       row=line, hint="请以 UTF-8 编码保存该文件")
    return None


@lru_cache(maxsize=32)
def _text(path: str, mtime_ns: int) -> str:
    data = Path(path).read_bytes()
    rel = paths.relpath(Path(path))
    bad = utf8_problem(data, rel)
    if bad:
        raise DataError([bad])
    text = data.decode("utf-8-sig")
    if not text.strip():
        raise DataError([Problem(rel, "文件是空的", hint="请从 git 恢复该文件")])
    return text.replace("\r\n", "\n")


def text(path: Path) -> str:
    """The file as text; CRLF line ends become LF."""
    return _text(*_version(path))


@lru_cache(maxsize=16)
def _csv_rows(path: str, mtime_ns: int) -> tuple:
    reader = csv.DictReader(io.StringIO(_text(path, mtime_ns)))
    return tuple((reader.line_num, row) for row in reader)


def csv_rows(path: Path) -> list[tuple[int, dict]]:
    """(line number, row) pairs, the header being line 1; rows are fresh dicts for the caller."""
    return [(line, dict(row)) for line, row in _csv_rows(*_version(path))]


@lru_cache(maxsize=16)
def _yaml(path: str, mtime_ns: int):

    try:
        return yaml.safe_load(_text(path, mtime_ns))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise DataError([Problem(paths.relpath(Path(path)), f"不是有效的 YAML：{getattr(exc, 'problem', None) or exc}",
                                 row=mark.line + 1 if mark else None,
                                 hint="请改正该行，或从 git 恢复该文件")]) from None


def yaml_file(path: Path):
    return _yaml(*_version(path))


@lru_cache(maxsize=8)
def _json(path: str, mtime_ns: int):
    try:
        return json.loads(_text(path, mtime_ns))
    except json.JSONDecodeError as exc:
        raise DataError([Problem(paths.relpath(Path(path)), f"不是有效的 JSON：{exc.msg}（该行第 {exc.colno} 个字符）",
                                 row=exc.lineno, hint="请从 git 恢复该文件")]) from None


def json_file(path: Path):
    return _json(*_version(path))


# --- the book's files, by name -----------------------------------------------------------------

def metric_rows() -> list[tuple[int, dict]]:
    return csv_rows(paths.metrics_path())


def exclusion_rows() -> list[tuple[int, dict]]:
    return csv_rows(paths.exclusions_path())


def register_rows() -> list[tuple[int, dict]]:
    return csv_rows(paths.ambiguities_path())


def change_rows() -> list[tuple[int, dict]]:
    return csv_rows(paths.changes_path())


def figure_registry() -> list[dict]:
    """book/figures.yaml: the figures, in the order the registry lists them."""
    return yaml_file(paths.figures_registry_path()) or []


def figure_entry(fig_id: str) -> dict:
    with narrowed(f"figure:{fig_id}"):
        registry = figure_registry()
    for item in registry:
        if item.get("id") == fig_id:
            return item
    raise KeyError(f"{paths.relpath(paths.figures_registry_path())} 中没有图 {fig_id!r}")
