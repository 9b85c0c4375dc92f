# Convenience targets; the README's two commands are the scripts themselves.
.PHONY: book test check bench
book:
	bash scripts/build.sh
test:
	bash scripts/test.sh
check:
	bash scripts/setup.sh && .venv/bin/python -m zzreview check
bench:
	bash scripts/setup.sh && .venv/bin/python benchmarks/bench.py
