"""`python -m zzreview run FILE...`: run notebooks as an analyst does, outside the build.

FILE is a downloaded notebook (.ipynb, results written back into it) or a chapter's MyST source
(.md, results written to _build/run/<its path>.ipynb, e.g. _build/run/book/review/risk.ipynb). Each runs in a fresh kernel from the folder it
is in. If a cell fails, what is printed is what the cell showed: for bad data, the one line per
problem that the build prints (errors.DataError), not a traceback.
"""
from __future__ import annotations

import os
import re
import sys
import tempfile
from pathlib import Path

from . import paths
from .execute import kernel_manager

ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _read(path: Path):
    import nbformat

    if path.suffix == ".md":
        import jupytext

        return jupytext.read(path)
    return nbformat.read(path, as_version=4)


def _target(path: Path) -> Path:
    """An .ipynb is written back; a chapter's .md goes to _build/run/<its path>.ipynb (four
    chapters are called index.md)."""
    if path.suffix == ".ipynb":
        return path
    try:
        rel = path.resolve().relative_to(paths.REPO).with_suffix(".ipynb")
    except ValueError:
        rel = Path(path.stem + ".ipynb")
    return paths.REPO / "_build" / "run" / rel


def _failure(exc) -> str:
    """The failing cell's error output as the notebook shows it (colours removed)."""
    lines = getattr(exc, "traceback", "") or str(exc)
    return ANSI.sub("", lines).strip()


def run(files: list[str], timeout: int) -> int:
    import nbformat
    from jupyter_core.utils import run_sync
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    os.environ.pop("ZZREVIEW_DATA_CHECKED", None)  # a build's promise, not an analyst's: every run checks
    failed = 0
    for name in files:
        path = Path(name)
        if not path.is_file():
            print(f"{name}: no such notebook", file=sys.stderr)
            failed += 1
            continue
        nb = _read(path)
        with tempfile.TemporaryDirectory(prefix="zz-kernel-") as sockets:
            km = kernel_manager(sockets)  # a fresh kernel per notebook, as the build's own kind
            client = NotebookClient(nb, km=km, timeout=timeout,
                                    resources={"metadata": {"path": str(path.resolve().parent)}})
            try:
                client.execute()
            except CellExecutionError as exc:
                print(f"{name}: stopped at a cell\n{_failure(exc)}", file=sys.stderr)
                failed += 1
                continue
            except (CellTimeoutError, DeadKernelError) as exc:  # the next notebook still runs
                print(f"{name}: stopped: {exc}", file=sys.stderr)
                failed += 1
                continue
            finally:  # the kernel is ours (km=), so nbclient leaves it running
                if client.kc is not None:
                    client.kc.stop_channels()
                if km.has_kernel:
                    run_sync(km.shutdown_kernel)(now=True)
        target = _target(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, target)
        print(f"{name}: ran, results in {target}")
    return 1 if failed else 0
