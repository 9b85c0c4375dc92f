#!/usr/bin/env bash
# Regenerate requirements.txt (the lock: every package pinned with ==) from requirements.in, and
# requirements-notebooks.txt (the replication package's subset) from requirements-notebooks.in.
#
#   bash scripts/lock.sh              # keep every pin that still fits; resolve what changed
#   bash scripts/lock.sh --upgrade    # move every package to its newest release that fits
#
# The lock is resolved for the OLDEST Python the book supports (pyproject.toml's requires-python:
# Debian 12's python3), so that no pinned release requires a newer one: soupsieve 4.x, which wants
# a later patch release of Python than Debian 12 has, once broke the build command there. One pin per package serves every newer
# Python too; if a package ever needs a different release on a newer Python, resolve with
# `--universal` instead and keep the `; python_full_version >= ...` markers it writes.
# Then check: `bash scripts/test.sh -k requires_python` here, and `scripts/fresh-machine.sh` for
# bookworm and trixie before a release. Uses uv (from PyPI, into a throwaway venv).
# uv is told to trust the system's certificate store (--system-certs), not only its built-in
# roots: where the registry is reached through a TLS proxy with a local CA, the store has it.
set -euo pipefail
cd "$(dirname "$0")/.."
floor=$(sed -n 's/^requires-python *= *">=\([0-9.]*\)".*/\1/p' pyproject.toml)
tool=$(mktemp -d)
trap 'rm -rf "$tool"' EXIT
python3 -m venv "$tool" && "$tool/bin/pip" install -q uv==0.13.9  # pinned: its output format is the lock's
"$tool/bin/uv" pip compile requirements.in --python-version "$floor" --no-header --quiet --system-certs \
  --output-file requirements.txt "$@"
sed -i "1i # The lock: made from requirements.in by scripts/lock.sh for Python $floor (pyproject.toml's floor).\\
# Do not edit by hand: edit requirements.in and rerun the script." requirements.txt
# the replication package's lock: the subset the notebooks need, at the book's own releases
"$tool/bin/uv" pip compile requirements-notebooks.in --python-version "$floor" --no-header --quiet --system-certs \
  --output-file requirements-notebooks.txt
sed -i "1i # The replication package's lock: made from requirements-notebooks.in by scripts/lock.sh, within requirements.txt.\\
# Do not edit by hand." requirements-notebooks.txt
echo "lock.sh: requirements.txt 已按 Python $floor 解析（$(grep -c '==' requirements.txt) 个版本锁定）；" \
  "requirements-notebooks.txt 在其范围内（$(grep -c '==' requirements-notebooks.txt) 个）"
