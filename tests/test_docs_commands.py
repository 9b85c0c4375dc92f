"""Every command the README and the 复现指南 give in a code block is run here exactly as written,
from the folder the text says (the repository's root); so is every command they name in running
text, or the test that runs it is named. A command added to either text without one of
these fails the first tests. (The replication package's README is followed the same way by
tests/test_replication.py.)"""
from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import time
import urllib.request

import pytest

from conftest import REPO, RUN_CHAPTER, readme_shell
from test_replication import fenced

pytestmark = pytest.mark.build

DOCS = (REPO / "README.md", REPO / "book" / "appendix" / "reproduce.md")
PORT = 8000  # the address both serving commands print and the README names


def shown() -> list[str]:
    out = []
    for doc in DOCS:
        out += fenced(doc.read_text(encoding="utf-8"), "bash")
    return list(dict.fromkeys(out))


def _ok(command: str) -> str:
    proc = readme_shell(command)
    assert proc.returncode == 0, f"{command}\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}"
    return proc.stdout


def run_build(command):
    out = _ok(command)
    assert "build OK" in out
    assert (REPO / "_build" / "html" / "index.html").is_file() and (REPO / "_build" / "pdf" / "zzreview-2021.pdf").is_file()


def run_check(command):
    assert "data OK" in _ok(command)


def run_chapter(command):
    """The three lines of the chapter run, in their order (the block as the docs give it)."""
    assert command in RUN_CHAPTER.split("\n")
    if not command.startswith(".venv/bin/jupyter execute"):
        return  # the block runs once, at its last line
    target = REPO / "_build" / "run" / "risk.ipynb"  # the path the docs name
    target.unlink(missing_ok=True)
    _ok(RUN_CHAPTER)
    assert '"output_type": "display_data"' in target.read_text(encoding="utf-8")


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
    """sphinx-autobuild: the book's pages, with its reload script."""
    with _serving(command) as proc:
        page = _front_page(proc, 600)  # a first preview builds the HTML edition
        assert "复现指南" in page and "websocket-reload" in page


COMMANDS = {
    "bash scripts/build.sh": run_build,
    "bash scripts/test.sh": ci_runs_it,
    ".venv/bin/python -m zzreview check": run_check,
    **{line: run_chapter for line in RUN_CHAPTER.split("\n")},
}


# --- commands named in running text -----------------------------------------------------------
# A span in backticks that starts like a command line, or sets what the README offers to set.
COMMAND_START = re.compile(r"(make |bash |sudo |\.venv/bin/|python3? |benchmarks/|PYTHON=|ZZREVIEW_\w+=)")


def named_inline() -> list[str]:
    out = []
    for doc in DOCS:
        prose = re.sub(r"^[ \t]*```.*?^[ \t]*```", "", doc.read_text(encoding="utf-8"), flags=re.S | re.M)
        out += [span for span in re.findall(r"`([^`\n]+)`", prose) if COMMAND_START.match(span)]
    return list(dict.fromkeys(out))


def _dry_run(target: str) -> list[str]:
    return [line for line in _ok(f"make -n {target}").splitlines() if line.strip()]


def makes(*commands):
    """`make X` runs exactly the commands the README gives for it (make -n prints them)."""
    def check(named):
        assert _dry_run(named.split()[1]) == list(commands)
    return check


def within_a_command_run_here(named):
    """A part of a command the tests run as written (a code block of the docs, or build.sh)."""
    assert any(named in command for command in [*COMMANDS, *INLINE_RUN,
                                                (REPO / "scripts" / "build.sh").read_text(encoding="utf-8")])


def set_by(test_id: str):
    """A setting the README offers, tried by the test named here (which must exist)."""
    def check(named):
        path, name = test_id.split("::")
        assert re.search(rf"^def {name}\(", (REPO / path).read_text(encoding="utf-8"), re.M), test_id
        assert named.split("=")[0] in (REPO / path).read_text(encoding="utf-8")
    return check


def stock_build(command):
    """Jupyter Book's own command builds the HTML edition into _build/html (the published one:
    the build's lock is held meanwhile, as another build into _build would hold it)."""
    import fcntl

    (REPO / "_build").mkdir(exist_ok=True)
    with open(REPO / "_build" / ".build-lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        out = _ok(command)
    assert (REPO / "_build" / "html" / "book" / "review" / "risk.html").is_file(), out[-2000:]


def preview_port(command):
    """`make preview PORT=N` serves on that port (what make passes to sphinx-autobuild)."""
    assert any("--port 8001" in line for line in _dry_run("preview PORT=8001"))


SETUP_TEST = "tests/test_setup.py::test_the_readmes_way_out_on_another_system_and_another_python"
INLINE_RUN = {  # run here, as named
    "make book": makes("bash scripts/build.sh"),
    "make test": makes("bash scripts/test.sh"),
    "python3 -m http.server -d _build/html 8000": serve_site,
    "make preview": serve_preview,
    "make preview PORT=8001": preview_port,
    ".venv/bin/jupyter-book build .": stock_build,
}
INLINE = {
    **INLINE_RUN,
    **{named: within_a_command_run_here for named in (
        "bash scripts/build.sh", "bash scripts/test.sh", ".venv/bin/python -m zzreview check")},
    "PYTHON=/path/to/python3.x": set_by(SETUP_TEST),
    "ZZREVIEW_SKIP_APT=1": set_by(SETUP_TEST),
}


def test_every_command_the_docs_name_in_running_text_is_accounted_for():
    named = named_inline()
    assert not set(named) - set(INLINE), f"named in the docs, not run by a test: {set(named) - set(INLINE)}"
    assert not set(INLINE) - set(named), f"no longer in the docs: {set(INLINE) - set(named)}"


@pytest.mark.parametrize("named", list(INLINE))
def test_the_command_named_in_running_text_works(named, request):
    if INLINE[named] is serve_site:  # the README's order: the book is built into _build first
        request.getfixturevalue("fresh_build")
    INLINE[named](named)


def test_every_command_the_docs_show_is_run_here():
    assert shown() == [c for c in shown() if c in COMMANDS], f"not run by a test: {set(shown()) - set(COMMANDS)}"
    assert set(COMMANDS) <= set(shown()), f"no longer in the docs: {set(COMMANDS) - set(shown())}"


@pytest.mark.parametrize("command", list(COMMANDS))
def test_the_command_works_as_written(command):
    COMMANDS[command](command)
