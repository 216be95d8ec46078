# Two entry points (see README): `make book` builds the book, `make test` runs the tests.
# Both create the virtual environment .venv from requirements.txt on first use.
PY      := .venv/bin/python
PROFILE ?= cpu
ARGS    ?=

.PHONY: book test bench

.venv/.installed: requirements.txt
	python3 -m venv .venv
	.venv/bin/pip install -q -r requirements.txt
	touch $@

test: .venv/.installed
	$(PY) -m pytest -q tests

book: .venv/.installed
	$(PY) scripts/build_book.py --profile $(PROFILE) $(ARGS)

bench: .venv/.installed
	$(PY) benchmarks/gradstats.py
