"""Copies of the project for builds that must not touch the real one: shared by the tests and
the benchmark (benchmarks/bench.py builds its synthetic books from one)."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def repo_copy(folder: Path, history: str | None = None) -> Path:
    """The repository's tracked files in a folder of their own (the build works where it lies).
    history: a commit; under the files, a git clone of the repository (sharing its objects) at
    that commit, so that the copy's pages show the change history a build in the repository shows."""
    if history:
        subprocess.run(["git", "clone", "-q", "--shared", "--no-checkout", str(REPO), str(folder)], check=True)
        subprocess.run(["git", "-C", str(folder), "reset", "-q", history], check=True)  # the index, from it
    files = subprocess.run(["git", "-C", str(REPO), "ls-files"], capture_output=True, text=True,
                           check=True).stdout.split("\n")
    for rel in filter(None, files):
        if (REPO / rel).is_file():
            (folder / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / rel, folder / rel)
    return folder
