#!/usr/bin/env bash
# Build the book: set up what is missing, validate the data, execute every chapter, and publish
# the HTML to _build/html only if everything succeeded. Options: --out DIR (default: _build).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/python -m zzreview build "$@"
