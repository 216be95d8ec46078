"""Shared fixtures."""
from __future__ import annotations

import pytest


@pytest.fixture()
def run_cache(tmp_path, monkeypatch):
    """An empty run cache for one test (``BOOK_RUNS_DIR`` points into ``tmp_path``)."""
    monkeypatch.setenv("BOOK_RUNS_DIR", str(tmp_path / "runs"))
    return tmp_path / "runs"
