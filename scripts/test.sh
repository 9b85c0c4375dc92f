#!/usr/bin/env bash
# Run the tests (they include one full build of the book into a temporary folder).
# Extra arguments go to pytest, e.g. `bash scripts/test.sh -k quantity`.
set -uo pipefail
cd "$(dirname "$0")/.."
# The tests also need a browser, iproute2 and poppler-utils: the `test` lines of
# scripts/debian-packages.txt.
bash scripts/setup.sh --tests || exit 1
# One pytest worker per core, at most four (each builds books that use every core themselves);
# a test file's tests stay together in one worker (pytest-xdist --dist loadfile), files handed
# out in the order tests/conftest.py gives them (longest first), not by their number of tests.
workers=$(nproc 2>/dev/null || echo 1)
[ "$workers" -gt 4 ] && workers=4
.venv/bin/python -m pytest -n "$workers" --dist loadfile --no-loadscope-reorder "$@"
rc=$?
if [ $rc -eq 5 ]; then
  echo "test.sh: pytest 没有收集到任何测试，这算作失败" >&2
  exit 1
fi
exit $rc
