"""The build's kernels: started before the plan is known to need them (execute.WarmKernels), as
many as save time (execute.kernel_count), and none left running when the build stops."""
import threading
import time

import nbformat
import psutil

from zzreview import execute


def _job(name: str, code: str, cwd) -> tuple[str, str, str]:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code)])
    return name, nbformat.writes(nb), str(cwd)


def test_a_second_kernel_only_when_it_saves_more_than_its_start():
    start = execute.KERNEL_START_S
    assert execute.kernel_count([]) == 0
    # one value changed: a long chapter and a short one; a second kernel would finish later
    assert execute.kernel_count([4 * start, start / 2], most=2) == 1
    # a clean build: many chapters of some length
    assert execute.kernel_count([2 * start] * 6, most=2) == 2
    assert execute.kernel_count([2 * start] * 6, most=1) == 1  # --jobs 1


def test_warm_kernels_share_out_the_chapters_and_a_stop_mid_chapter_leaves_nothing_running(tmp_path):
    kernels = execute.WarmKernels(2, str(tmp_path))
    try:
        jobs = [_job(f"nb{i}", "import os\nprint(os.getpid())", tmp_path) for i in range(3)]
        runs = kernels.run_all(jobs, [1.0, 1.0, 1.0], 60)
    finally:
        kernels.stop()
    assert sorted(r.docname for r in runs) == ["nb0", "nb1", "nb2"]
    assert all(r.error is None for r in runs), [r.error for r in runs]
    pids = {nbformat.reads(r.notebook, as_version=4).cells[0].outputs[0]["text"].strip() for r in runs}
    assert len(pids) == 2, "the chapters were not shared between the two kernels"
    assert all(_gone(int(p)) for p in pids), "a kernel outlived stop()"

    kernels = execute.WarmKernels(1, str(tmp_path))
    done, inside = [], tmp_path / "inside"
    # a chapter that fails first: its kernel is restarted, and the stop must find the new one
    running = threading.Thread(target=lambda: done.append(kernels.run_all(
        [_job("fails", "raise RuntimeError('x')", tmp_path),
         _job("slow", f"open({str(inside)!r}, 'w').close()\nimport time\ntime.sleep(120)", tmp_path),
         _job("next", "1", tmp_path)], [3.0, 2.0, 1.0], 300)))
    running.start()
    deadline = time.monotonic() + 60
    while not inside.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    [kernel] = kernels._busy.values()
    pid = kernel.pid()
    stopped_at = time.monotonic()
    kernels.stop()
    running.join(timeout=30)
    assert not running.is_alive() and time.monotonic() - stopped_at < 20, "stop() waited for the chapter"
    assert _gone(pid)
    assert [r.docname for r in done[0]] == ["fails", "slow"], "a chapter was started after stop()"
    assert not _kernels_left(), "a kernel (restarted after the kill?) outlived stop()"


def test_a_kernel_not_needed_after_all_is_killed_while_it_still_starts(tmp_path):
    """The build starts a kernel before its plan; when the plan runs nothing, that kernel must not
    go on importing pandas and matplotlib beside the Sphinx runs."""
    kernels = execute.WarmKernels(1, str(tmp_path))
    deadline = time.monotonic() + 60
    while not kernels._busy and time.monotonic() < deadline:
        time.sleep(0.01)
    [kernel] = kernels._busy.values()
    pid = kernel.pid()
    kernels.stop(wait=False)
    assert _gone(pid), "the kernel went on starting"
    kernels.stop()
    assert not _kernels_left()


def _kernels_left() -> list[str]:
    """This process's kernels still running."""
    left = []
    for child in psutil.Process().children(recursive=True):
        try:
            if child.status() != psutil.STATUS_ZOMBIE and "ipykernel" in " ".join(child.cmdline()):
                left.append(child.pid)
        except psutil.NoSuchProcess:
            pass
    return left


def _gone(pid: int) -> bool:
    return not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
