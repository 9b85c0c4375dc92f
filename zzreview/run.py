"""`python -m zzreview run FILE...`: run notebooks as an analyst does, outside the build.

FILE is a downloaded notebook (.ipynb, results written back into it) or a chapter's MyST source
(.md, results written to _build/run/<its path>.ipynb, e.g. _build/run/book/review/risk.ipynb).
Each runs in a fresh kernel from the folder it is in; as many run at once as there are cores. If a
cell fails, what is printed is what the cell showed: for bad data, the one line per problem that
the build prints (errors.DataError), not a traceback.
"""
from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from . import paths
from .errors import without_colours
from .execute import kernel_manager


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
    return paths.default_out() / "run" / rel


def _failure(exc) -> str:
    """The failing cell's error output as the notebook shows it (colours removed)."""
    lines = getattr(exc, "traceback", "") or str(exc)
    return without_colours(lines)


async def _execute(path: Path, timeout: int, slots):
    """The notebook, run in a fresh kernel of its own once one of the slots is free (an unreadable
    file fails this notebook only)."""
    from nbclient import NotebookClient

    nb = _read(path)
    async with slots:
        with tempfile.TemporaryDirectory(prefix="zz-kernel-") as sockets:
            km = kernel_manager(sockets)  # a fresh kernel per notebook, as the build's own kind
            client = NotebookClient(nb, km=km, timeout=timeout,
                                    resources={"metadata": {"path": str(path.resolve().parent)}})
            try:
                await client.async_execute()
            finally:  # the kernel is ours (km=), so nbclient leaves it running
                if client.kc is not None:
                    client.kc.stop_channels()
                if km.has_kernel:
                    await km.shutdown_kernel(now=True)
    return nb


def run(files: list[str], timeout: int) -> int:
    """Each notebook in a fresh kernel; as many at once as there are cores (each is one
    process, mostly busy on one core). Results are printed in the order the files were named."""
    import asyncio

    import nbformat
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    os.environ.pop("ZZREVIEW_DATA_CHECKED", None)  # a build's promise, not an analyst's: every run checks
    failed, targets = 0, {}
    for name in files:
        if not Path(name).is_file():
            print(f"{name}: no such notebook", file=sys.stderr)
            failed += 1
        else:  # a notebook named twice (or as a chapter and its own notebook) would race itself
            targets.setdefault(_target(Path(name)).resolve(), name)
    named = list(targets.values())

    async def run_all():
        slots = asyncio.Semaphore(len(os.sched_getaffinity(0)) or 1)  # the cores this process may use
        return await asyncio.gather(*(_execute(Path(name), timeout, slots) for name in named),
                                    return_exceptions=True)

    for (target, name), outcome in zip(targets.items(), asyncio.run(run_all())):
        if isinstance(outcome, CellExecutionError):
            print(f"{name}: stopped at a cell\n{_failure(outcome)}", file=sys.stderr)
        elif isinstance(outcome, (CellTimeoutError, DeadKernelError)):  # the other notebooks still ran
            print(f"{name}: stopped: {outcome}", file=sys.stderr)
        elif isinstance(outcome, Exception):  # unreadable, or its kernel would not start
            print(f"{name}: not run: {type(outcome).__name__}: {outcome}", file=sys.stderr)
        elif isinstance(outcome, BaseException):
            raise outcome
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            nbformat.write(outcome, target)
            print(f"{name}: ran, results in {target}")
            continue
        failed += 1
    return 1 if failed else 0
