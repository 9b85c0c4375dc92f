#!/usr/bin/env bash
# Build the book: set up what is missing, then run the stock `jupyter-book build` for the HTML and
# the PDF (the book's extension validates the data first and re-executes what changed), and
# publish both to _build/html and _build/pdf only if everything succeeded.
# Options: --out DIR (default: _build), --fresh (forget the execution cache).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/python -m zzreview build "$@"
