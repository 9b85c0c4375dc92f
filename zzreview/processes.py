"""Stopping a process and everything it started (latexmk and its TeX runs; the warm Sphinx
server and the builder it forked), so nothing writes into a build's folders after it ends."""
from __future__ import annotations


def kill_tree(pid: int | None) -> None:
    """Kill pid first (it can start no more), then what it had started; wait for them to go.
    A process already gone is not an error."""
    import psutil

    if pid is None:
        return
    try:
        root = psutil.Process(pid)
        family = root.children(recursive=True)
    except psutil.NoSuchProcess:
        return
    for proc in [root, *family]:
        try:
            proc.kill()
        except psutil.NoSuchProcess:
            pass
    psutil.wait_procs([root, *family], timeout=5)
