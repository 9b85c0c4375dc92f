"""Shared fixtures. The whole book is built once per test session, through the README's build
script, into a temporary folder; the tests then look at what a reader would get."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def run_build(out: Path, env_extra: dict | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env.update(env_extra or {})
    return subprocess.run(["bash", str(REPO / "scripts" / "build.sh"), "--out", str(out), "--quiet"],
                          capture_output=True, text=True, env=env, cwd=REPO, timeout=1800)


@pytest.fixture(scope="session")
def built_site(tmp_path_factory):
    out = tmp_path_factory.mktemp("book")
    proc = run_build(out)
    log = (out / "build.log").read_text(encoding="utf-8") if (out / "build.log").exists() else ""
    assert proc.returncode == 0, f"build failed:\n{proc.stderr[-4000:]}\n{log[-6000:]}"
    return {"html": out / "html", "log": log, "stdout": proc.stdout, "stderr": proc.stderr}


@pytest.fixture
def data_copy(tmp_path, monkeypatch):
    """A private copy of data/ that the package reads instead of the real one."""
    target = tmp_path / "data"
    shutil.copytree(REPO / "data", target)
    monkeypatch.setenv("ZZREVIEW_DATA_DIR", str(target))
    return target
