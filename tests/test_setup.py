"""The two commands on a user's machine: the pinned set installs on the oldest Python the book
claims, that floor is stated once, and set-up failures end in one clear line. (The full proof is
scripts/fresh-machine.sh on pristine Debian 12 and 13 roots; these are the cheap guards.)"""
import os
import re
import shutil
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from conftest import REPO, debian_packages

SETUP = REPO / "scripts" / "setup.sh"


def floor() -> str:
    spec = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]["requires-python"]
    m = re.fullmatch(r">=(\d+\.\d+\.\d+)", spec)
    assert m, f"requires-python must state the floor as >=X.Y.Z, not {spec!r}"
    return m.group(1)


def pins() -> dict[str, Requirement]:
    out = {}
    for line in (REPO / "requirements.txt").read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            req = Requirement(line)
            if req.marker is None or req.marker.evaluate():
                out[req.name.lower().replace("_", "-")] = req
    return out


def test_every_pin_is_installed_as_pinned():
    """The environment the tests run in is the lock (so the next test checks the lock)."""
    wrong = []
    for name, req in pins().items():
        try:
            have = metadata.version(name)
        except metadata.PackageNotFoundError:
            wrong.append(f"{name}: not installed")
            continue
        if not req.specifier.contains(have, prereleases=True):
            wrong.append(f"{name}: {have} installed, lock says {req.specifier}")
    assert wrong == [], "run `bash scripts/setup.sh`: " + "; ".join(wrong)


def test_every_installed_distribution_admits_the_oldest_supported_python():
    """Each distribution's Requires-Python must admit the floor: soupsieve 4.1.3 (>=3.11.5)
    once stopped the build command on Debian 12's python3 3.11.2."""
    oldest = Version(floor())
    refused = []
    for dist in metadata.distributions():
        spec = dist.metadata.get("Requires-Python")
        if spec and not SpecifierSet(spec).contains(oldest, prereleases=True):
            refused.append(f"{dist.metadata['Name']} {dist.version} requires Python {spec}")
    assert refused == [], (f"the book claims Python {oldest}, but: " + "; ".join(refused) +
                           " (regenerate the lock with `bash scripts/lock.sh`)")


def test_the_floor_is_stated_once_and_the_readme_and_lock_agree():
    version = floor()
    assert f"Python {version} 或更新版本" in (REPO / "README.md").read_text(encoding="utf-8")
    assert f"Python {version} or newer" in (REPO / "README.en.md").read_text(encoding="utf-8")
    assert f"for Python {version}" in (REPO / "requirements.txt").read_text(encoding="utf-8").split("\n", 1)[0]
    for script in ("setup.sh", "lock.sh"):  # they read pyproject.toml, they do not restate it
        text = (REPO / "scripts" / script).read_text(encoding="utf-8")
        assert "requires-python" in text and not re.search(r"3\.1\d", text), script
    assert sys.version_info[:3] >= tuple(int(x) for x in version.split("."))


def test_the_package_list_names_a_reason_for_each_package():
    listed = debian_packages()
    assert {"build", "test"} == {cmd for _, cmd, _ in listed}
    for name, _, reason in listed:
        assert re.fullmatch(r"[a-z0-9][a-z0-9.+-]+(:[a-z0-9.+-]+)?", name) and len(reason) > 10, name


# --- Machines the commands cannot serve: one line each, exit non-zero -------------------------

@pytest.fixture
def project_copy(tmp_path):
    """The files set-up reads, in a folder of their own (setup.sh works where it lies)."""
    root = tmp_path / "book"
    (root / "scripts").mkdir(parents=True)
    for rel in ("scripts/setup.sh", "scripts/debian-packages.txt", "requirements.txt", "pyproject.toml"):
        shutil.copyfile(REPO / rel, root / rel)
    return root


def path_without(tmp_path, hidden: set[str], fake_uid: int | None = None) -> str:
    """A PATH with every command of this machine but the hidden ones (and maybe another uid)."""
    farm = tmp_path / "bin"
    farm.mkdir()
    for folder in ("/usr/local/bin", "/usr/bin", "/bin", "/usr/sbin", "/sbin"):
        for tool in Path(folder).glob("*"):
            if tool.name not in hidden and not (farm / tool.name).exists():
                (farm / tool.name).symlink_to(tool)
    if fake_uid is not None:
        (farm / "id").unlink()
        (farm / "id").write_text(f"#!/bin/sh\necho {fake_uid}\n")
        (farm / "id").chmod(0o755)
    return str(farm)


def run_setup(root: Path, env_extra: dict, *args) -> subprocess.CompletedProcess:
    env = {"HOME": os.environ.get("HOME", "/root"), "PATH": os.environ["PATH"], "LANG": "C.UTF-8",
           "PYTHON": sys.executable}
    env.update(env_extra)
    return subprocess.run(["bash", str(root / "scripts" / "setup.sh"), *args], capture_output=True, text=True,
                          env=env, timeout=300)


def one_error_line(proc) -> str:
    assert proc.returncode != 0, proc.stderr
    lines = [l for l in proc.stderr.splitlines() if l.startswith("setup: ")]
    assert lines, proc.stderr
    assert "Traceback" not in proc.stderr
    return lines[-1]


def test_python_too_old(project_copy):
    pyproject = project_copy / "pyproject.toml"
    pyproject.write_text(re.sub(r'requires-python = ">=[\d.]+"', 'requires-python = ">=9.0.0"',
                                pyproject.read_text(encoding="utf-8")), encoding="utf-8")
    line = one_error_line(run_setup(project_copy, {}))
    assert "需要 Python 9.0.0 或更新版本" in line and "PYTHON=" in line
    assert not (project_copy / ".venv").exists()


def test_no_apt_get(project_copy, tmp_path):
    proc = run_setup(project_copy, {"PATH": path_without(tmp_path, {"apt-get", "dpkg-query", "dpkg"})})
    line = one_error_line(proc)
    assert "这不是 Debian 或 Ubuntu" in line and "scripts/debian-packages.txt" in line


def test_not_root_and_no_sudo(project_copy, tmp_path):
    proc = run_setup(project_copy, {"PATH": path_without(tmp_path, {"sudo"}, fake_uid=1000)}, "zz-no-such-package")
    line = one_error_line(proc)
    assert "zz-no-such-package" in line and "不是 root，也没有安装 sudo" in line
    assert not (project_copy / ".venv").exists(), "nothing is half-installed"


def test_no_network_to_pypi_and_an_interrupted_venv_is_redone(project_copy):
    """An install cut short leaves .venv/.installing: the next run makes the venv anew. With the
    registry out of reach, pip's failure becomes one line, and the marker stays for the next run."""
    venv = project_copy / ".venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    (venv / ".installing").touch()  # as an interrupted run leaves it
    (venv / "stale-file").touch()
    unreachable = {"PIP_CONFIG_FILE": "/dev/null", "PIP_INDEX_URL": "http://127.0.0.1:9/simple",
                   "PIP_FIND_LINKS": "", "PIP_RETRIES": "0", "PIP_TIMEOUT": "2"}
    proc = run_setup(project_copy, unreachable)
    assert ".venv 不完整" in proc.stderr
    line = one_error_line(proc)
    assert "pip 无法安装 requirements.txt" in line and "连不上 PyPI" in line
    assert not (venv / "stale-file").exists(), "the interrupted environment was kept"
    assert (venv / ".installing").exists(), "the next run must know this install did not finish"


def test_the_readmes_way_out_on_another_system_and_another_python(project_copy, tmp_path):
    """What the README offers where set-up stops: `ZZREVIEW_SKIP_APT=1` on a machine without dpkg goes
    past the Debian step, and `PYTHON=/path/to/python3.x` is the Python the venv is made with (the
    registry is cut, so the run ends at pip: the step after both)."""
    other_python = Path(sys.executable).resolve()  # a path that is not `python3` on PATH
    env = {"PATH": path_without(tmp_path, {"apt-get", "dpkg-query", "dpkg"}), "ZZREVIEW_SKIP_APT": "1",
           "PYTHON": str(other_python), "PIP_CONFIG_FILE": "/dev/null", "PIP_INDEX_URL": "http://127.0.0.1:9/simple",
           "PIP_FIND_LINKS": "", "PIP_RETRIES": "0", "PIP_TIMEOUT": "2"}
    proc = run_setup(project_copy, env)
    line = one_error_line(proc)
    assert "pip 无法安装 requirements.txt" in line, "the Debian step was not skipped"
    assert f"用 {other_python} 创建 .venv" in proc.stderr, proc.stderr
    cfg = (project_copy / ".venv" / "pyvenv.cfg").read_text(encoding="utf-8")
    assert f"home = {other_python.parent}" in cfg, cfg
