"""What changed on a page: its last change and recent history, from git.

A page rests on its own Markdown and on the book's files its code read while it executed (the
executor's record: data, the layout, the figure registry). Changes to the package's code are not
listed per page (they touch every chart); the repository's history has them.
"""
from __future__ import annotations

import subprocess
from functools import lru_cache
from pathlib import Path

from zzreview import paths
from zzreview.site.chapters import files_of

RECENT = 5


def _git(*args: str) -> str | None:
    try:
        return subprocess.run(["git", "-C", str(paths.REPO), *args], capture_output=True, text=True,
                              check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None


def page_files(docname: str, reads: list[str]) -> list[str]:
    """The page's Markdown and the content files it read, relative to the repository."""
    found = {paths.REPO / f"{docname}.md"}
    for key in reads:
        found.update(files_of(key))
    out = []
    for path in found:
        try:
            rel = Path(path).resolve().relative_to(paths.REPO).as_posix()
        except ValueError:
            continue  # data read from outside the repository (a test's copy) has no history here
        if not rel.startswith("zzreview/") and rel != "_config.yml":
            out.append(rel)
    return sorted(out)


@lru_cache(maxsize=None)
def _version(commit: str) -> str:
    return (_git("describe", "--tags", "--always", commit) or commit[:7]).strip()


def head() -> str | None:
    """The commit checked out (None outside a git repository)."""
    out = _git("rev-parse", "HEAD")
    return out.strip() if out else None


def uncommitted(files: list[str]) -> frozenset[str] | None:
    """Those of the files (relative to the repository) whose working copy differs from the commit
    or is not tracked: one `git status` for all of them. None outside a git repository."""
    prefix = _git("rev-parse", "--show-prefix")  # porcelain paths are the repository root's
    out = _git("status", "--porcelain", "-z", "--untracked-files=all", "--", *files) if files else ""
    if prefix is None or out is None:
        return None
    found, entries = set(), iter(out.split("\0"))
    for entry in entries:
        if not entry:
            continue
        found.add(entry[3:])
        if "R" in entry[:2] or "C" in entry[:2]:  # a rename or copy: its source path follows
            found.add(next(entries, ""))
    prefix = prefix.strip()
    return frozenset(f[len(prefix):] for f in found if f.startswith(prefix))


def page_history(files: list[str], changed: bool) -> dict | None:
    """The last RECENT commits that changed any of the files, newest first, each with the book
    version it made; `changed`: whether the working tree has changes to them not yet committed
    (uncommitted()). None outside a git repository."""
    log = _git("log", f"-n{RECENT}", "--format=%H%x1f%cs%x1f%s", "--", *files)
    if log is None:
        return None
    commits = []
    for line in filter(None, log.split("\n")):
        commit, date, subject = line.split("\x1f", 2)
        commits.append({"version": _version(commit), "date": date, "subject": subject})
    return {"commits": commits, "uncommitted": changed, "files": files}


def commit_epoch() -> str:
    """The checked-out commit's time (seconds since 1970): builds are dated by the commit, not the
    clock, so two builds of one commit are the same. "0" outside a repository."""
    return (_git("log", "-1", "--format=%ct") or "").strip() or "0"
