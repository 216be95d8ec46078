# Two entry points (see README): `make book` builds the book, `make test` runs the tests.
# Both create the virtual environment .venv on first use, from requirements.lock (made from requirements.txt).
PY      := .venv/bin/python
PROFILE ?= cpu
ARGS    ?=

.PHONY: book test bench lock

# Installs from requirements.lock: every transitive package pinned with its sha256 hashes
# (pip refuses a file whose hash is not listed, and any package the lock does not pin).
.venv/.installed: requirements.lock requirements.txt
	python3 -m venv .venv
	.venv/bin/pip install -q --require-hashes -r requirements.lock
	.venv/bin/pip check
	touch $@

# Regenerates requirements.lock from requirements.txt (README, "Updating the lock"), with pip-tools
# in a venv of its own outside the project. Pins already in the lock are kept where requirements.txt
# still allows them; `make lock LOCK_ARGS=--upgrade` moves every transitive package to its newest release.
LOCKVENV  ?= /tmp/pip-tools-venv
LOCK_ARGS ?=
lock:
	test -x $(LOCKVENV)/bin/pip-compile || { python3 -m venv $(LOCKVENV) && $(LOCKVENV)/bin/pip install -q pip-tools==7.7.0; }
	$(LOCKVENV)/bin/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras --no-emit-index-url \
	  --no-emit-find-links --output-file=requirements.lock $(LOCK_ARGS) requirements.txt

test: .venv/.installed
	$(PY) -m pytest -q tests

book: .venv/.installed
	$(PY) scripts/build_book.py --profile $(PROFILE) $(ARGS)

bench: .venv/.installed
	$(PY) benchmarks/gradstats.py
