"""The book's promises, tested where they could break: a failure at any phase — even a build
killed outright — leaves the published book as it was, and the next build recovers by itself;
a missing glyph fails the project's own build and names the character and the figure; the
settings the book documents take effect."""
import os
import re
import shutil
import signal
import subprocess
import sys
import time

import pytest

from conftest import REPO
from test_bad_input import _repo_copy, _tree_digest

pytestmark = pytest.mark.build


def without_colours(text: str) -> str:
    """What a tool printed for a terminal, as plain text."""
    return re.sub(r"\x1b\[[0-9;]*m", "", text)


def published_digest(out):
    """Both editions, through the links, as a reader gets them."""
    return _tree_digest((out / "html").resolve()), _tree_digest((out / "pdf").resolve())


def last_good_build(built_site, tmp_path):
    """A copy of the session's build output: its published book and its cache."""
    out = tmp_path / "out"
    shutil.copytree(built_site["out"], out, symlinks=True)
    assert (out / "html" / "index.html").exists()
    return out


def build_cmd(out):
    return [sys.executable, "-m", "zzreview", "build", "--out", str(out)]


def start(cmd, env, cwd=REPO):
    return subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)  # its own process group: kernels, Sphinx, latexmk die too


def _group_left(pgid: int, wait_s: float = 1.5) -> list[str]:
    """The processes of a process group still running (zombies aside) after up to wait_s."""
    import psutil

    deadline = time.monotonic() + wait_s
    while True:
        left = []
        for p in psutil.process_iter(["pid", "cmdline", "status"]):
            try:
                if os.getpgid(p.pid) == pgid and p.info["status"] != psutil.STATUS_ZOMBIE:
                    left.append(" ".join(p.info["cmdline"] or [])[:120])
            except (ProcessLookupError, psutil.Error):
                pass
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.2)


def said_until(proc, marker: str) -> str:
    """What a started build printed up to the line that holds marker (it must come)."""
    lines = []
    for line in proc.stdout:
        lines.append(line)
        if marker in line:
            return "".join(lines)
    raise AssertionError(f"never said {marker!r}:\n{''.join(lines)[-3000:]}")


# Where a build can be killed, by what the build prints as it reaches it: chapters executing
# (before the HTML run reads them), the HTML pages being written, xelatex typesetting the PDF. (A kill
# while publishing: tests/test_publish.py.)
PHASES = {"executing": "并行运行", "writing the HTML": "writing output",
          "typesetting": "Converting book latex into PDF"}


def test_a_build_killed_in_any_phase_changes_nothing_and_the_next_one_recovers(built_site, data_copy, tmp_path):
    out = last_good_build(built_site, tmp_path)
    before = published_digest(out)
    metrics = data_copy / "metrics.csv"
    metrics.write_text(metrics.read_text(encoding="utf-8").replace(",劝返车辆,", ",劝返车辆（改）,", 1),
                       encoding="utf-8")
    env = {**os.environ, "ZZREVIEW_DATA_DIR": str(data_copy)}
    for phase, marker in PHASES.items():
        proc = start(build_cmd(out), env)
        said_until(proc, marker)
        time.sleep(0.3)  # inside the phase, not at its door
        if phase == "writing the HTML":  # a plain kill of the build alone: it stops what it started itself
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=60)
            left = _group_left(proc.pid)
        if _group_left(proc.pid, wait_s=0):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.stdout.read()
        proc.wait()
        if phase == "writing the HTML":
            assert not left, f"still running after the build ended on SIGTERM: {left}"
        assert published_digest(out) == before, f"killed while {phase}: the published book changed"
        assert (out / "html" / "index.html").exists() and (out / "pdf").exists()
    proc = subprocess.run(build_cmd(out), cwd=REPO, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    page = (out / "html" / "book" / "review" / "risk.html").read_text(encoding="utf-8")
    assert "劝返车辆（改）" in page, "the recovered build does not show the new data"
    assert len(list((out / ".published").iterdir())) == 1, "a killed build's folder was left behind"


def test_a_second_build_into_the_same_folder_waits_for_the_first(built_site, data_copy, tmp_path):
    """Two builds into one folder at once (`make book` in two terminals) would clean up and
    publish over each other: the second's clean-up removes the folder the first is about to make
    current. A build holds the folder's lock from its start; another one waits for it, touching
    nothing, and then builds what is left to do."""
    import fcntl

    out = last_good_build(built_site, tmp_path)
    before = published_digest(out)
    _edit(data_copy / "metrics.csv", ",劝返车辆,", ",劝返车辆（二）,")
    env = {**os.environ, "ZZREVIEW_DATA_DIR": str(data_copy)}

    # a build holds the lock while it runs (here: from Sphinx's start) ...
    first = start(build_cmd(out), env)
    said_until(first, "Running Sphinx")
    lock = open(out / ".build-lock", encoding="utf-8")
    with pytest.raises(BlockingIOError):
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    os.killpg(first.pid, signal.SIGKILL)
    first.wait()

    # ... and a build that finds it held (here by the test, with a folder half-published) waits,
    # touching nothing, until it is free
    fcntl.flock(lock, fcntl.LOCK_EX)
    publishing = out / ".published" / "another-build"
    publishing.mkdir()
    second = start(build_cmd(out), env)
    said_until(second, "另一个构建正在写入")
    time.sleep(1)
    assert second.poll() is None and publishing.is_dir(), "the waiting build cleaned up what another was publishing"
    assert published_digest(out) == before
    lock.close()  # let go: it cleans up (the folder no build publishes any more) and builds
    rest = second.stdout.read()
    assert second.wait(timeout=600) == 0, rest[-3000:]
    assert not publishing.exists()
    assert "劝返车辆（二）" in (out / "html" / "book" / "review" / "risk.html").read_text(encoding="utf-8")


def test_a_missing_glyph_fails_the_books_own_build(built_site, data_copy, tmp_path):
    """A chart label with a character no installed font has: the build stops, names the
    character and the figure, and publishes nothing."""
    out = last_good_build(built_site, tmp_path)
    before = published_digest(out)
    metrics = data_copy / "metrics.csv"
    metrics.write_text(metrics.read_text(encoding="utf-8").replace(",劝返车辆,", ",劝返车辆\U0001F697,", 1),
                       encoding="utf-8")
    proc = subprocess.run(build_cmd(out), cwd=REPO, capture_output=True, text=True, timeout=900,
                          env={**os.environ, "ZZREVIEW_DATA_DIR": str(data_copy)})
    assert proc.returncode != 0
    said = without_colours(proc.stdout + proc.stderr)
    assert "U+1F697" in said and "图 fig-risk-" in said, said[-3000:]
    assert published_digest(out) == before


def _edit(path, old, new):
    text = path.read_text(encoding="utf-8")
    assert old in text, (path, old)
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_failures_after_validation_keep_the_last_good_book(built_site, tmp_path):
    """A chapter cell that raises, a Sphinx warning (under -W), a chapter file that is not a
    notebook, a cell writing to stderr, a cell slower than the configured timeout: each fails the
    build, named, with the published book untouched; once mended, the next build publishes."""
    copy = _repo_copy(tmp_path)
    out = tmp_path / "out"  # the published book, and the session's executed chapters (a copy runs none)
    for edition in ("html", "pdf"):
        shutil.copytree((built_site["out"] / edition).resolve(), out / edition)
    for part in (".jupyter_cache", "generated"):
        shutil.copytree(built_site["out"] / ".staging" / "_build" / part, out / ".staging" / "_build" / part)
    before = published_digest(out)
    env = {**{k: v for k, v in os.environ.items() if k != "ZZREVIEW_DATA_DIR"}, "PYTHONPATH": str(copy)}
    news, config = copy / "book" / "news.md", copy / "_config.yml"
    news_text, config_text = news.read_text(encoding="utf-8"), config.read_text(encoding="utf-8")

    def build():
        return subprocess.run(build_cmd(out), cwd=copy, env=env, capture_output=True, text=True, timeout=900)

    cases = {
        "a Sphinx warning": (lambda: _edit(news, "# 短讯\n", "# 短讯\n\n见{numref}`fig-no-such-figure`。\n"),
                             "fig-no-such-figure"),
        "a cell that raises": (lambda: _edit(news, "zz.setup()\n", "zz.setup()\nraise RuntimeError('坏单元')\n"),
                               "RuntimeError: 坏单元"),
        "a chapter that is not a notebook": (lambda: _edit(news, "kernelspec:", "kernelspec: ["),
                                             "book/news.md：无法作为 MyST 笔记本读取"),
        # plain matplotlib only warns (on stderr) about a glyph no font has; the book's setting
        # execute.stderr_output: error turns any stderr output into a failure
        "a cell writing to stderr": (lambda: _edit(news, "zz.setup()\n", "zz.setup()\nimport sys\n"
                                                   "print('Glyph 128663 missing from font(s)', file=sys.stderr)\n"),
                                     "Glyph 128663 missing"),
        # the setting the book documents (execute.timeout in _config.yml) is the one the executor uses
        "a cell slower than the timeout": (lambda: (_edit(config, "timeout: 120", "timeout: 2"),
                                                    _edit(news, "zz.setup()\n", "zz.setup()\nimport time\ntime.sleep(6)\n")),
                                           "CellTimeoutError"),
    }
    for name, (break_it, message) in cases.items():
        break_it()
        proc = build()
        assert proc.returncode != 0, name
        # jupyter-book's report on the terminal (a cell's traceback in colours), then the build's
        said = without_colours(proc.stdout + proc.stderr)
        assert message in said, f"{name}: {said[-3000:]}"
        assert published_digest(out) == before, f"{name}: the published book changed"
        news.write_text(news_text, encoding="utf-8")
        config.write_text(config_text, encoding="utf-8")

    proc = build()
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "build OK" in proc.stdout


@pytest.mark.parametrize("ci, code", [("true", 1), ("", 0)])
def test_a_skipped_guarantee_fails_under_ci(tmp_path, ci, code):
    """The plugin the suite runs with: under CI=true a guarantee that skips is a failure."""
    (tmp_path / "test_promise.py").write_text(
        "import pytest\n\n@pytest.mark.guarantee\ndef test_promise():\n    pytest.skip('cannot check here')\n",
        encoding="utf-8")
    env = {**os.environ, "CI": ci, "PYTHONPATH": str(REPO / "tests")}
    proc = subprocess.run([sys.executable, "-m", "pytest", "-p", "guarantees_plugin", "-p", "no:cacheprovider",
                           "-q", "-o", "markers=guarantee: x", str(tmp_path / "test_promise.py")],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == code, proc.stdout
    if ci:
        assert "skipped under CI=true" in proc.stdout and "cannot check here" in proc.stdout
