"""Publishing a build: both editions at once, in one atomic step.

<out>/html and <out>/pdf are links into <out>/current, which links to one folder under
<out>/.published. A build copies its HTML and PDF into a new folder there (while the old one is
still served), then swaps the `current` link with one rename, which the system does atomically:
a reader or a crash sees the old pair or the new pair, never a mix, and never nothing. Leftovers
of a build killed before the swap are removed by the next one.
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
    for edition, folder in editions.items():
        shutil.copytree(folder, partial / edition)
    os.rename(partial, fresh)
    _link(out / CURRENT, f"{PUBLISHED}/{name}")  # the one atomic step
    for edition in EDITIONS:
        _adopt(out / edition, f"{CURRENT}/{edition}")
    _remove_stale(out)


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
