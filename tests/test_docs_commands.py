"""Every command the README and the 复现指南 give in a code block is run here exactly as written,
from the folder the text says (the repository's root). A command added to either text without a
way to run it here fails the first test. (The replication package's README is followed the same
way by tests/test_replication.py.)"""
from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
import urllib.request

import pytest

from conftest import REPO
from test_replication import fenced

pytestmark = pytest.mark.build

DOCS = (REPO / "README.md", REPO / "book" / "appendix" / "reproduce.md")
PORT = 8000  # the address both serving commands print and the README names


def shown() -> list[str]:
    out = []
    for doc in DOCS:
        out += fenced(doc.read_text(encoding="utf-8"), "bash")
    return list(dict.fromkeys(out))


def _shell(command: str, timeout: int = 1800) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZZREVIEW_DATA")}
    return subprocess.run(["bash", "-c", command], cwd=REPO, capture_output=True, text=True, env=env,
                          timeout=timeout)


def _ok(command: str) -> str:
    proc = _shell(command)
    assert proc.returncode == 0, f"{command}\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}"
    return proc.stdout


def run_build(command):
    out = _ok(command)
    assert "build OK" in out or "nothing changed" in out
    assert (REPO / "_build" / "html" / "index.html").is_file() and (REPO / "_build" / "pdf" / "zzreview-2021.pdf").is_file()


def run_check(command):
    assert "data OK" in _ok(command)


def run_chapter(command):
    target = REPO / "_build" / "run" / "book" / "review" / "risk.ipynb"  # the path the 复现指南 names
    target.unlink(missing_ok=True)
    _ok(command)
    assert '"output_type"' in target.read_text(encoding="utf-8")


def ci_runs_it(command):
    """The test command is what CI runs (.ci/run); running it here would run this suite inside itself."""
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    assert f"exec {command}\n" in ci


@contextlib.contextmanager
def _serving(command: str):
    proc = subprocess.Popen(["bash", "-c", command], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, start_new_session=True)
    try:
        yield proc
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def _front_page(proc, deadline_s: float) -> str:
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"the server stopped: {proc.stdout.read()[-3000:]}"
        with contextlib.suppress(OSError):
            with urllib.request.urlopen(f"http://127.0.0.1:{PORT}/book/index.html", timeout=5) as page:
                return page.read().decode("utf-8")
        time.sleep(1)
    pytest.fail(f"nothing served on port {PORT} within {deadline_s:.0f} s")


def serve_site(command):
    assert (REPO / "_build" / "html" / "index.html").is_file(), "build the book first (the README's order)"
    with _serving(command) as proc:
        assert "复现指南" in _front_page(proc, 30)


def serve_preview(command):
    with _serving(command) as proc:
        page = _front_page(proc, 600)  # a first preview builds the HTML edition
        assert "预览" in page


COMMANDS = {
    "bash scripts/build.sh": run_build,
    "bash scripts/test.sh": ci_runs_it,
    ".venv/bin/python -m zzreview check": run_check,
    ".venv/bin/python -m zzreview run book/review/risk.md": run_chapter,
    "python3 -m http.server -d _build/html": serve_site,
    "make preview": serve_preview,
}


def test_every_command_the_docs_show_is_run_here():
    assert shown() == [c for c in shown() if c in COMMANDS], f"not run by a test: {set(shown()) - set(COMMANDS)}"
    assert set(COMMANDS) <= set(shown()), f"no longer in the docs: {set(COMMANDS) - set(shown())}"


@pytest.mark.parametrize("command", list(COMMANDS))
def test_the_command_works_as_written(command):
    COMMANDS[command](command)
