#!/usr/bin/env bash
# Install what the book needs, and only what is missing:
#   Debian packages through apt-get (with sudo when not root), Python packages into ./.venv.
# Safe to run again: it checks before it installs. Used by build.sh and test.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

# fonts-noto-cjk: CJK glyphs for the charts (matplotlib), the pages (the browser) and the PDF.
# The PDF: xelatex with xeCJK (texlive-lang-cjk), latexmk, texlive-fonts-recommended (hyperref's
# XeTeX driver), TeX Gyre and DejaVu as the Latin companions. All with --no-install-recommends: not
# texlive-fonts-extra (1.4 GB), nor texlive-lang-chinese (130 MB) for the one file xeCJK needs from
# it, ctexhook.sty, which book/_latex/ supplies when TeX lacks it (zzreview/latex.py).
APT_PACKAGES=(fonts-noto-cjk texlive-xetex latexmk texlive-lang-cjk texlive-fonts-recommended
              fonts-texgyre fonts-dejavu-core)
APT_PACKAGES+=("$@")  # callers may ask for more (test.sh adds the browser)

PYTHON=${PYTHON:-python3}
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "setup: Python 3.11 or newer is needed as '$PYTHON' (set PYTHON=... to choose one)" >&2
  exit 1
fi

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
# A Debian/Ubuntu system Python ships venv without ensurepip until python3-venv is installed.
if [ ! -x .venv/bin/python ] && ! "$PYTHON" -c 'import ensurepip, venv' 2>/dev/null; then
  missing+=("python3-venv")
fi
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  echo "setup: installing Debian packages: ${missing[*]}" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi

if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv" >&2
  "$PYTHON" -m venv .venv
fi
# Reinstall only when the pinned requirements or the package metadata changed.
stamp=.venv/.installed-requirements
want=$(cat requirements.txt pyproject.toml | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "setup: installing Python packages into .venv" >&2
  .venv/bin/python -m pip install -q --disable-pip-version-check -r requirements.txt >&2
  .venv/bin/python -m pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e . >&2
  echo "$want" > "$stamp"
fi
