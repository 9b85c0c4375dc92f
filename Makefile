# Convenience targets; the README's two commands are the scripts themselves.
.PHONY: book test check
book:
	bash scripts/build.sh
test:
	bash scripts/test.sh
check:
	bash scripts/setup.sh && .venv/bin/python -m zzreview check
