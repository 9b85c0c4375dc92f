"""The source page exactly as received, guarded by the sha256 recorded in data/datapackage.json."""
from __future__ import annotations

import hashlib
import re
from functools import lru_cache
from pathlib import Path

from zzreview import paths
from zzreview.errors import DataError, Problem
from zzreview.meta import datapackage
from zzreview.records import utf8_problem

SOURCE_RESOURCE = "source-page"


def source_resource() -> dict:

    for res in datapackage().get("resources", []):
        if res.get("name") == SOURCE_RESOURCE:
            return res
    raise DataError([Problem(paths.relpath(paths.datapackage_path()),
                             f"没有名为 {SOURCE_RESOURCE} 的资源（resources）",
                             hint="请从 git 恢复该文件")])


def source_path() -> Path:
    return paths.data_dir() / source_resource()["path"]


def expected_sha256() -> str:
    value = source_resource().get("hash", "")
    return value.split(":", 1)[1] if value.startswith("sha256:") else value


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def check_source() -> list[Problem]:
    path = source_path()
    if not path.is_file():
        return [Problem(paths.relpath(path), "原文文件不存在",
                        hint="请从 git 恢复该文件；原文须与收到时完全一致")]
    actual, expected = sha256_of(path), expected_sha256()
    if actual != expected:
        return [Problem(paths.relpath(path),
                        f"sha256 为 {actual}，与数据包记录的 {expected} 不符",
                        hint="原文须与收到时完全一致；请从 git 恢复该文件")]

    bad = utf8_problem(path.read_bytes(), paths.relpath(path))
    return [bad] if bad else []


@lru_cache(maxsize=4)
def _checked_text(path: str, mtime_ns: int, size: int, expected: str) -> str:
    """The text of one version of the file (and one recorded hash), checked once: the quote and
    numeral checks ask for it hundreds of times. A failed check is not cached."""
    problems = check_source()
    if problems:
        raise DataError(problems)
    return Path(path).read_text(encoding="utf-8")


def raw_text() -> str:
    """The page text, after checking its hash; raises DataError if it was altered."""
    path = source_path()
    try:
        stat = path.stat()
    except OSError:
        raise DataError(check_source()) from None
    return _checked_text(str(path), stat.st_mtime_ns, stat.st_size, expected_sha256())


def raw_lines() -> list[str]:
    """Raw lines, 1-based by position in the returned list + 1."""
    return raw_text().split("\n")


_WS = re.compile(r"\s+")


def squash(text: str) -> str:
    """Text with all whitespace removed: quotes are matched against the source this way,
    because the OCR put spaces and line breaks inside words and numbers."""
    return _WS.sub("", text)


def squashed_source() -> str:
    return _squashed(raw_text())


@lru_cache(maxsize=4)
def _squashed(text: str) -> str:
    return squash(text)
