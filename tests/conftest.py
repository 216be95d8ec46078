"""Shared fixtures."""
from __future__ import annotations

import pytest


@pytest.fixture()
def run_cache(tmp_path, monkeypatch):
    """An empty run cache for one test (``BOOK_RUNS_DIR`` points into ``tmp_path``)."""
    monkeypatch.setenv("BOOK_RUNS_DIR", str(tmp_path / "runs"))
    return tmp_path / "runs"


@pytest.fixture()
def stand_in_fingerprint(monkeypatch):
    """Constant CIFAR-10 and Brown corpus fingerprints, for tests of planning structure (stages, dependencies)
    that hash configs but load no image or text: they then run without the data files. Tests of data identity
    and the pinned hashes use the real fingerprints."""
    from lib import data, text_data

    monkeypatch.setattr(data, "cifar10_fingerprint", lambda *a, **k: "stand-in-for-tests")
    monkeypatch.setattr(text_data, "brown_fingerprint", lambda *a, **k: "stand-in-for-tests")
