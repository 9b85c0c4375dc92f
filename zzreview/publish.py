"""Publishing a build: both editions at once, in one atomic step.

<out>/html and <out>/pdf are links into <out>/current, which links to one folder under
<out>/.published. A build copies its HTML and PDF into a new folder there (while the old one is
still served; a file the old one holds with the same bytes is hard-linked, not copied), then
swaps the `current` link with one rename, which the system does atomically: a reader or a crash
sees the old pair or the new pair, never a mix, and never nothing. Leftovers of a build killed
before the swap are removed by the next one.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

PUBLISHED = ".published"
CURRENT = "current"
EDITIONS = ("html", "pdf")


def publish(editions: dict[str, Path], out: Path, name: str) -> None:
    """Copy each edition's folder (html, pdf) into a new published folder, then make it current."""
    root = out / PUBLISHED
    root.mkdir(parents=True, exist_ok=True)
    fresh = root / name
    shutil.rmtree(fresh, ignore_errors=True)
    partial = root / f"{name}.part"
    shutil.rmtree(partial, ignore_errors=True)
    previous = (out / CURRENT).resolve() if (out / CURRENT).is_symlink() else None
    for edition, folder in editions.items():
        shutil.copytree(folder, partial / edition,
                        copy_function=_copy_or_link(folder, previous / edition if previous else None))
    os.rename(partial, fresh)
    _link(out / CURRENT, f"{PUBLISHED}/{name}")  # the one atomic step
    for edition in EDITIONS:
        _adopt(out / edition, f"{CURRENT}/{edition}")
    _remove_stale(out)


def _copy_or_link(folder: Path, published: Path | None):
    """A copy function for copytree: a file the current published folder already holds with the
    same bytes is hard-linked from there instead of copied (compared by content, not by time:
    some file systems keep times to the second). Published folders are never written to, only
    removed, so sharing their files is safe; a rebuild that changed four pages copies four pages."""
    def copy(src: str, dst: str) -> str:
        if published is not None:
            old = published / Path(src).relative_to(folder)
            try:
                if os.path.getsize(src) == os.path.getsize(old) and _same_bytes(src, old):
                    os.link(old, dst)
                    return dst
            except OSError:  # not there, or no hard links on this file system: a copy
                pass
        return shutil.copy2(src, dst)

    return copy


def _same_bytes(a, b) -> bool:
    with open(a, "rb") as fa, open(b, "rb") as fb:
        while True:
            chunk = fa.read(1 << 20)
            if chunk != fb.read(1 << 20):
                return False
            if not chunk:
                return True


def _link(path: Path, target: str) -> None:
    """Point path at target, replacing what was there in one rename."""
    tmp = path.with_name(path.name + ".new-link")
    if tmp.is_symlink() or tmp.exists():
        tmp.unlink()
    os.symlink(target, tmp)
    os.replace(tmp, path)


def _adopt(path: Path, target: str) -> None:
    """out/html and out/pdf become links into current/ (once; a real folder left by an older
    layout is moved aside first, so there is no moment without either)."""
    if path.is_symlink() and os.readlink(path) == target:
        return
    if path.exists() and not path.is_symlink():
        aside = path.with_name(path.name + ".old-layout")
        shutil.rmtree(aside, ignore_errors=True)
        os.rename(path, aside)
        _link(path, target)
        shutil.rmtree(aside, ignore_errors=True)
    else:
        _link(path, target)


def _remove_stale(out: Path) -> None:
    """Published folders no link points at (older builds, builds killed before their swap)."""
    current = os.path.basename(os.readlink(out / CURRENT)) if (out / CURRENT).is_symlink() else None
    for folder in (out / PUBLISHED).iterdir():
        if folder.name != current:
            shutil.rmtree(folder, ignore_errors=True)


def cleanup(out: Path) -> None:
    """Before a build: remove what a killed build left (it is never current)."""
    if (out / PUBLISHED).is_dir():
        _remove_stale(out)
    for leftover in (out / f"{CURRENT}.new-link", *(out / f"{e}.new-link" for e in EDITIONS)):
        if leftover.is_symlink():
            leftover.unlink()
