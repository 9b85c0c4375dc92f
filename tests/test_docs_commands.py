"""Every command the README and the 复现指南 give in a code block is run here exactly as written,
from the folder the text says (the repository's root); so is every command they name in running
text, or the test that runs it is named, or (the release check and the benchmark, minutes each)
it is listed as run by hand, as the README says. A command added to either text without one of
these fails the first tests. (The replication package's README is followed the same way by
tests/test_replication.py.)"""
from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import time
import urllib.request

import pytest

from conftest import FRESH_BUILD, REPO, readme_shell
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


def relock_changes_nothing(command):
    """`bash scripts/lock.sh`, from a copy of what it reads, gives the locks of the repository byte
    for byte: they are what it makes (an edit of requirements*.in without relocking fails here)."""
    import tempfile
    locks = sorted(REPO.glob("requirements*.txt"))
    with tempfile.TemporaryDirectory() as tmp:
        root = os.path.join(tmp, "repo")
        os.makedirs(os.path.join(root, "scripts"))
        for path in [REPO / "scripts" / "lock.sh", REPO / "pyproject.toml", *REPO.glob("requirements*.in"), *locks]:
            shutil.copyfile(path, os.path.join(root, str(path.relative_to(REPO))))
        proc = subprocess.run(["bash", "-c", command], cwd=root, capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, proc.stderr[-3000:]
        for lock in locks:
            with open(os.path.join(root, lock.name), encoding="utf-8") as made:
                assert made.read() == lock.read_text(encoding="utf-8"), f"{lock.name} is not what {command} makes"


def run_fresh_build(command, fresh_build):
    """`--fresh` forgets the cache and the state: every chapter runs again. (Run as written, once
    for the whole test run, by the fixture: the determinism test compares its book too.)"""
    assert command == FRESH_BUILD
    ran = re.search(r"build OK in \d+ s \((\d+) of (\d+) chapters executed", fresh_build["stdout"])
    assert ran and ran.group(1) == ran.group(2), fresh_build["stdout"][-2000:]


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_preview_with_pdf(named):
    """The preview's options as the README gives them (`[--port N] [--pdf]`): the port chosen, the
    PDF following in the background and served beside the pages."""
    port = _free_port()
    shutil.rmtree(REPO / "_build" / "preview-pdf", ignore_errors=True)  # the PDF served is this run's
    with _serving(named.replace("[--port N]", f"--port {port}").replace("[--pdf]", "--pdf")) as proc:
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            assert proc.poll() is None, f"the preview stopped: {proc.stdout.read()[-3000:]}"
            with contextlib.suppress(OSError):
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/zzreview-2021.pdf", timeout=5) as pdf:
                    assert pdf.read(5) == b"%PDF-"
                    return
            time.sleep(2)
        pytest.fail("no PDF served by the preview within 600 s")


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


def hand_run_and_intact(named):
    """The release check and the benchmark take many minutes and are run by hand (the README says
    so and gives their last results); here only that they are there as named."""
    if named.startswith("sudo bash scripts/fresh-machine.sh"):
        _ok("bash -n scripts/fresh-machine.sh")
        assert f"sudo bash scripts/fresh-machine.sh {named.split()[-1]}" in readme_shell(
            "bash scripts/fresh-machine.sh").stderr  # its usage line names the suite
    elif named == "make bench":
        assert _dry_run("bench") == ["bash scripts/setup.sh && .venv/bin/python benchmarks/bench.py"]
    else:
        usage = _ok(".venv/bin/python benchmarks/bench.py --help")
        assert all(flag in usage for flag in re.findall(r"--\w+", named)), usage


SETUP_TEST = "tests/test_setup.py::test_the_readmes_way_out_on_another_system_and_another_python"
INLINE_RUN = {  # run here, as named
    "make book": makes("bash scripts/build.sh"),
    "make test": makes("bash scripts/test.sh"),
    "bash scripts/lock.sh": relock_changes_nothing,
    FRESH_BUILD: run_fresh_build,
    ".venv/bin/python -m zzreview preview [--port N] [--pdf]": run_preview_with_pdf,
}
INLINE = {
    **INLINE_RUN,
    **{named: within_a_command_run_here for named in (
        "make preview", "bash scripts/build.sh", "bash scripts/test.sh", "python -m zzreview build",
        "python -m zzreview run")},
    "PYTHON=/path/to/python3.x": set_by(SETUP_TEST),
    "ZZREVIEW_SKIP_APT=1": set_by(SETUP_TEST),
    **{named: hand_run_and_intact for named in (
        "sudo bash scripts/fresh-machine.sh bookworm", "make bench", ".venv/bin/python benchmarks/bench.py",
        "benchmarks/bench.py --weights", "benchmarks/bench.py --latency")},
}


def test_every_command_the_docs_name_in_running_text_is_accounted_for():
    named = named_inline()
    assert not set(named) - set(INLINE), f"named in the docs, not run by a test: {set(named) - set(INLINE)}"
    assert not set(INLINE) - set(named), f"no longer in the docs: {set(INLINE) - set(named)}"


@pytest.mark.parametrize("named", list(INLINE))
def test_the_command_named_in_running_text_works(named, request):
    if INLINE[named] is run_fresh_build:
        return run_fresh_build(named, request.getfixturevalue("fresh_build"))
    INLINE[named](named)


def test_every_command_the_docs_show_is_run_here():
    assert shown() == [c for c in shown() if c in COMMANDS], f"not run by a test: {set(shown()) - set(COMMANDS)}"
    assert set(COMMANDS) <= set(shown()), f"no longer in the docs: {set(COMMANDS) - set(shown())}"


@pytest.mark.parametrize("command", list(COMMANDS))
def test_the_command_works_as_written(command):
    COMMANDS[command](command)
