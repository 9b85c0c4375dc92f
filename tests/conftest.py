"""Shared fixtures. The whole book is built once per test session, through the README's build
script, into a temporary folder; the tests then look at what a reader would get. A second clean
build, the README's `--fresh` one into the repository's _build, is also made once, for the tests
that ask for it (the determinism test, and the test of that command)."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytest_plugins = ["guarantees_plugin"]  # CI=true: a skipped guarantee test fails

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

# One version and build date for every build of the session, fixed when it starts (a commit made
# while the tests run must not make two builds differ).
from zzreview import meta as _meta
from zzreview.downloads import cite as _cite  # noqa: E402

os.environ.setdefault("ZZREVIEW_VERSION", _cite.book_version())
os.environ.setdefault("SOURCE_DATE_EPOCH", _meta.commit_epoch())
SESSION_COMMIT = subprocess.run(["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True, text=True,
                                check=True).stdout.strip()  # what a test's copy of the repository starts from


def debian_packages() -> list[tuple[str, str, str]]:
    """(name, command, reason) of scripts/debian-packages.txt, the one list of them."""
    out = []
    for line in (REPO / "scripts" / "debian-packages.txt").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            name, command, reason = line.split(None, 2)
            out.append((name, command, reason))
    return out


def pytest_sessionstart(session):
    """Name a missing Debian package before any test runs, instead of erroring deep inside
    Playwright or LaTeX (`bash scripts/test.sh` installs them; a bare `pytest` may not have)."""
    if not shutil.which("dpkg-query"):
        return  # not Debian: setup.sh said so already
    missing = []
    for entry, command, reason in debian_packages():
        name, _, tool = entry.partition(":")
        if tool and shutil.which(tool):
            continue
        status = subprocess.run(["dpkg-query", "-W", "-f=${Status}", name], capture_output=True, text=True)
        if "install ok installed" not in status.stdout:
            missing.append(f"{name} ({reason})")
    if missing:
        pytest.exit("Debian packages the tests need are not installed: " + "; ".join(missing) +
                    ". Run `bash scripts/test.sh`, which installs them.", returncode=4)


# scripts/test.sh runs the files on one worker per core, up to four (pytest-xdist --dist loadfile,
# one file to one worker, handed out in this order). Longest first, so the workers finish
# together: by default xdist hands out the files with the most tests first, and a one-test file of
# 70 s came last. The second is the long file that needs no session book: on two cores it runs
# while the first worker builds that book. (Ordered for this 2-core machine's times.)
LONGEST_FIRST = ("test_guarantees.py", "test_docs_commands.py", "test_replication.py", "test_browser.py",
                 "test_differential.py", "test_cache.py", "test_phone.py")


def pytest_collection_modifyitems(config, items):
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: the rest as collected


def offline_prefix() -> list[str] | None:
    """A command prefix that runs its command with no network but loopback (a new network
    namespace); None when this user cannot make one (unshare needs root)."""
    if os.geteuid() != 0 or not shutil.which("unshare") or not shutil.which("ip"):
        return None
    # root in a container may still lack the right to make a namespace: ask once
    if subprocess.run(["unshare", "--net", "--", "true"], capture_output=True).returncode != 0:
        return None
    # bring loopback up (kernels talk to the build over it) and prove it is the only link
    script = 'ip link set lo up && [ "$(ip -o link | wc -l)" -eq 1 ] && exec "$@"'
    return ["unshare", "--net", "--", "sh", "-c", script, "sh"]


def run_build(out: Path, env_extra: dict | None = None, offline: bool = False,
              args: tuple = ()) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env.update(env_extra or {})
    cmd = ["bash", str(REPO / "scripts" / "build.sh"), "--out", str(out), *args]
    if offline:
        cmd = offline_prefix() + cmd
    return subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=REPO, timeout=1800)


def _site(out: Path, stdout: str, stderr: str, offline: bool) -> dict:
    log = (out / "build.log").read_text(encoding="utf-8") if (out / "build.log").exists() else ""
    return {"html": out / "html", "pdf": out / "pdf" / "zzreview-2021.pdf", "out": out, "log": log,
            "stdout": stdout, "stderr": stderr, "offline": offline}


def _build_into(out: Path, offline: bool, args: tuple = ()) -> dict:
    proc = run_build(out, offline=offline, args=args)
    site = _site(out, proc.stdout, proc.stderr, offline)
    assert proc.returncode == 0, f"build failed:\n{proc.stderr[-4000:]}\n{site['log'][-6000:]}"
    return site


def _once_per_run(request, tmp_path_factory, name: str, make) -> dict:
    """What make(folder) records (a dict of JSON values), with the folder ("out"): made once per
    test run. Under pytest-xdist (scripts/test.sh) the workers share it: the first to ask makes
    it, holding a lock in the run's temporary folder; the others wait for it, then read it."""
    import fcntl

    if not hasattr(request.config, "workerinput"):  # one process: nobody to share with
        folder = tmp_path_factory.mktemp(name)
        return {**make(folder), "out": folder}
    run_root = tmp_path_factory.getbasetemp().parent  # this run's, above each worker's own
    record = run_root / f"{name}.json"
    with open(run_root / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes (or its worker dies)
        if record.exists():
            made = json.loads(record.read_text(encoding="utf-8"))
            if "failed" in made:  # another worker's build failed: the same failure, not another build
                pytest.fail(f"{name} did not build (in another worker):\n{made['failed']}")
            return {**made, "out": run_root / name}
        (run_root / name).mkdir(exist_ok=True)
        try:
            site = make(run_root / name)
        except Exception as failure:  # a failed assertion, a timeout, a copy that failed: said once, for all
            record.write_text(json.dumps({"failed": f"{type(failure).__name__}: {str(failure)[-6000:]}"}),
                              encoding="utf-8")
            raise
        record.write_text(json.dumps(site), encoding="utf-8")
        return {**site, "out": run_root / name}


@pytest.fixture(scope="session")
def built_site(request, tmp_path_factory):
    """The book, built once with the network cut when this user can cut it (no test writes into
    it)."""
    offline = offline_prefix() is not None

    def make(out: Path) -> dict:
        site = _build_into(out, offline=offline, args=())
        return {k: site[k] for k in ("stdout", "stderr", "offline")}

    made = _once_per_run(request, tmp_path_factory, "book", make)
    return _site(made["out"], made["stdout"], made["stderr"], made["offline"])


FRESH_BUILD = ".venv/bin/python -m zzreview build --fresh"  # build.sh's command, the execution cache forgotten
# a chapter run in the repository with the standard tools, as the 复现指南 gives it
RUN_CHAPTER = ("mkdir -p _build/run\n.venv/bin/jupytext --to ipynb --output _build/run/risk.ipynb book/review/risk.md\n"
               ".venv/bin/jupyter execute --inplace _build/run/risk.ipynb")


def readme_shell(command: str, env_extra: dict | None = None, timeout: int = 1800) -> subprocess.CompletedProcess:
    """A command of the README, run as written from the repository's root (no test's data folder)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ZZREVIEW_DATA")}
    return subprocess.run(["bash", "-c", command], cwd=REPO, capture_output=True, text=True,
                          env={**env, **(env_extra or {})}, timeout=timeout)


@pytest.fixture(scope="session")
def fresh_build(request, tmp_path_factory):
    """A `--fresh` build from the repository (into its _build, every chapter executed again) with
    another HOME: the second clean build of the same commit that the determinism test compares
    with the session's (another folder, another user's caches, the network left on). Its two
    editions are copied into the run's folder at once, holding _build's build lock:
    later commands of the README build into _build again. (So a test that asks for it, run on
    its own, also rebuilds the repository's _build from scratch, as the command does.)"""
    import fcntl

    def make(out: Path) -> dict:
        home = out / "home"
        home.mkdir(exist_ok=True)
        proc = readme_shell(FRESH_BUILD, {"HOME": str(home)})
        assert proc.returncode == 0, f"{FRESH_BUILD}\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}"
        with open(REPO / "_build" / ".build-lock", "a") as lock:  # no build publishes into _build meanwhile
            fcntl.flock(lock, fcntl.LOCK_EX)
            for edition in ("html", "pdf"):
                shutil.copytree((REPO / "_build" / edition).resolve(), out / edition, dirs_exist_ok=True)
        return {"stdout": proc.stdout}

    made = _once_per_run(request, tmp_path_factory, "fresh", make)
    return {**made, "html": made["out"] / "html", "pdf": made["out"] / "pdf" / "zzreview-2021.pdf"}


@pytest.fixture
def data_copy(tmp_path, monkeypatch):
    """A private copy of data/ that the package reads instead of the real one."""
    target = tmp_path / "data"
    shutil.copytree(REPO / "data", target)
    monkeypatch.setenv("ZZREVIEW_DATA_DIR", str(target))
    return target
