# Convenience targets; the README's two commands are the scripts themselves.
.PHONY: book test check bench fresh preview
book:
	bash scripts/build.sh
test:
	bash scripts/test.sh
check:
	bash scripts/setup.sh && .venv/bin/python -m zzreview check
PORT ?= 8000
preview:  # sphinx-autobuild: serve the book on 127.0.0.1:$(PORT) and rebuild it as files change
	bash scripts/setup.sh && .venv/bin/python -m zzreview preview --port $(PORT)

bench:
	bash scripts/setup.sh && .venv/bin/python benchmarks/bench.py
fresh:  # the release check: both commands on pristine Debian 12 and 13 roots (root; ~10 min each)
	bash scripts/fresh-machine.sh bookworm && bash scripts/fresh-machine.sh trixie
