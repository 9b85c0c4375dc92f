#!/usr/bin/env bash
# Install what the book needs, and only what is missing:
#   Debian packages (scripts/debian-packages.txt) through apt-get, with sudo when not root;
#   the pinned Python packages (requirements.txt) into ./.venv.
# `--tests` adds the packages the test command needs. Safe to run again: it checks before it
# installs, and redoes a .venv that an interrupted run left half made. Used by build.sh and test.sh.
# Each failure it can foresee ends in one line saying what is missing and what to do.
set -euo pipefail
cd "$(dirname "$0")/.."

die() { echo "setup: $*" >&2; exit 1; }
now() { date +%s; }

with_tests=0
extra=()
for arg in "$@"; do
  case "$arg" in
    --tests) with_tests=1 ;;
    *) extra+=("$arg") ;;  # more Debian packages, by name
  esac
done

# --- Python: the floor is pyproject.toml's requires-python (">=X.Y.Z"), its one statement ----------
floor=$(sed -n 's/^requires-python *= *">=\([0-9.]*\)".*/\1/p' pyproject.toml)
[ -n "$floor" ] || die "pyproject.toml has no requires-python = \">=X.Y.Z\" line"
PYTHON=${PYTHON:-python3}
command -v "$PYTHON" >/dev/null || die "no '$PYTHON' on this machine: install Python $floor or newer (Debian: apt-get install python3 python3-venv), or set PYTHON=/path/to/python3"
"$PYTHON" - "$floor" <<'PY' || die "Python $floor or newer is needed; '$PYTHON' is $("$PYTHON" -c 'import platform; print(platform.python_version())' 2>/dev/null || echo unknown) (set PYTHON=/path/to/python3.x to choose another)"
import sys
sys.exit(sys.version_info[:3] < tuple(int(x) for x in sys.argv[1].split(".")))
PY

# --- Debian packages ----------------------------------------------------------------------------
wanted=()
while read -r name cmd _; do
  case "$name" in ''|'#'*) continue ;; esac
  if [ "$cmd" = build ] || { [ "$cmd" = test ] && [ $with_tests = 1 ]; }; then wanted+=("$name"); fi
done < scripts/debian-packages.txt
wanted+=(${extra[@]+"${extra[@]}"})

venv_ok() {  # a usable .venv: its Python runs, is new enough, and has pip
  [ -x .venv/bin/python ] && [ ! -e .venv/.installing ] && .venv/bin/python - "$floor" <<'PY' 2>/dev/null
import sys, pip  # noqa: F401
sys.exit(sys.version_info[:3] < tuple(int(x) for x in sys.argv[1].split(".")))
PY
}

missing=()
if command -v dpkg-query >/dev/null; then
  for entry in "${wanted[@]}"; do
    pkg=${entry%%:*} tool=${entry#*:}
    [ "$tool" != "$entry" ] && command -v "$tool" >/dev/null && continue  # name:tool, and tool is there
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  # Debian's python3 makes a venv without pip until python3-venv is installed
  if ! venv_ok && ! "$PYTHON" -c 'import ensurepip, venv' 2>/dev/null; then
    missing+=("python3-venv")
  fi
elif [ "${ZZREVIEW_SKIP_APT:-0}" != 1 ]; then
  die "this is not a Debian or Ubuntu machine (no dpkg/apt-get): install the equivalents of ${wanted[*]} (see scripts/debian-packages.txt), then rerun with ZZREVIEW_SKIP_APT=1"
fi

if [ ${#missing[@]} -gt 0 ]; then
  command -v apt-get >/dev/null || die "Debian packages ${missing[*]} are missing and there is no apt-get: install them with your package manager (reasons in scripts/debian-packages.txt)"
  SUDO=()
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || die "Debian packages ${missing[*]} are missing; you are not root and sudo is not installed: as root, run apt-get install --no-install-recommends ${missing[*]}"
    SUDO=(sudo)
  fi
  started=$(now)
  echo "setup: installing Debian packages: ${missing[*]}" >&2
  "${SUDO[@]}" apt-get update -qq >&2 || die "apt-get update failed: no network to the Debian package archive, or apt is locked; check the network (or the proxy) and rerun"
  DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2 \
    || die "apt-get could not install ${missing[*]} (see its message above); fix that and rerun"
  echo "setup: Debian packages (${#missing[@]}) installed in $(( $(now) - started )) s" >&2
fi

# --- Python packages into .venv -----------------------------------------------------------------
# .venv/.installing exists from the start of an install until it succeeded: if it is still there,
# an earlier run was interrupted and the environment cannot be trusted, so it is made anew.
if [ -e .venv ] && ! venv_ok; then
  echo "setup: .venv is incomplete (an interrupted install, or made by another Python): making it anew" >&2
  rm -rf .venv
fi
stamp=.venv/.installed-requirements
want=$(cat requirements.txt pyproject.toml | sha256sum | cut -d' ' -f1)
if [ ! -x .venv/bin/python ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  started=$(now)
  if [ ! -x .venv/bin/python ]; then
    echo "setup: creating .venv with $("$PYTHON" -c 'import sys; print(sys.executable)')" >&2
    "$PYTHON" -m venv .venv || { rm -rf .venv; die "could not create .venv with $PYTHON (Debian: apt-get install python3-venv)"; }
  fi
  touch .venv/.installing
  echo "setup: installing Python packages into .venv" >&2
  .venv/bin/python -m pip install -q --disable-pip-version-check -r requirements.txt >&2 \
    || die "pip could not install requirements.txt (no network to PyPI, or a package is not available for this Python; see pip's message above); rerun when fixed: the next run starts the environment anew"
  .venv/bin/python -m pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e . >&2 \
    || die "pip could not install the zzreview package itself (see above)"
  echo "$want" > "$stamp"
  rm -f .venv/.installing
  echo "setup: Python packages installed in $(( $(now) - started )) s" >&2
fi

# --- Checkers the tests run, from the npm registry (pinned in tools/package-lock.json) ----------
# --ignore-scripts: vnu-jar's install script would download a Java runtime; Debian's is used.
if [ $with_tests = 1 ]; then
  want_tools=$(sha256sum tools/package-lock.json | cut -d' ' -f1)
  if [ "$(cat tools/node_modules/.installed-lock 2>/dev/null)" != "$want_tools" ]; then
    started=$(now)
    (cd tools && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >&2) \
      || die "npm could not install the test tools of tools/package.json (no network to the npm registry?); rerun when fixed"
    echo "$want_tools" > tools/node_modules/.installed-lock
    echo "setup: npm test tools installed in $(( $(now) - started )) s" >&2
  fi
fi
