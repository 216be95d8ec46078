"""The install is reproducible: requirements.lock (made by pip-tools from requirements.txt, README
"Updating the lock") pins every transitive package with hashes, and matches requirements.txt.

No network: these tests read the two files and, for the last one, the metadata of the running
environment. A failure here usually means requirements.txt was edited without `make lock`.
"""
from __future__ import annotations

import re
import sys
from importlib import metadata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
REQUIREMENTS = ROOT / "requirements.txt"
LOCK = ROOT / "requirements.lock"

_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s\\;]+)")
_HASH = re.compile(r"--hash=sha256:([0-9a-f]{64})\b")


def _canonical(name: str) -> str:
    """PEP 503 name: runs of ``-_.`` become one ``-``, lower case (``Jupyter_Book`` -> ``jupyter-book``)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _requirements() -> dict[str, str]:
    """requirements.txt as canonical name -> pinned version; a line that is not ``name==version`` fails."""
    pins: dict[str, str] = {}
    for number, raw in enumerate(REQUIREMENTS.read_text().splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        match = _PIN.match(line)
        assert match, f"requirements.txt:{number}: {raw!r} is not pinned as name==version"
        pins[_canonical(match[1])] = match[2]
    return pins


def _lock() -> dict[str, dict]:
    """requirements.lock as canonical name -> {version, hashes, via, line}. ``via`` holds what
    pip-compile's comments name as the reasons for the pin (``-r requirements.txt`` for a direct one)."""
    entries: dict[str, dict] = {}
    current: dict | None = None
    in_via = False
    for number, raw in enumerate(LOCK.read_text().splitlines(), 1):
        stripped = raw.strip()
        if not stripped:
            continue
        if not raw[0].isspace() and not stripped.startswith("#"):
            assert not stripped.startswith("-"), f"requirements.lock:{number}: unexpected option {raw!r}"
            match = _PIN.match(stripped)
            assert match, f"requirements.lock:{number}: {raw!r} is not pinned as name==version"
            name = _canonical(match[1])
            assert name not in entries, f"requirements.lock:{number}: {name} is pinned twice"
            current = entries[name] = {"version": match[2], "hashes": set(), "via": set(), "line": number}
            in_via = False
        elif current is not None and stripped.startswith("--hash="):
            hashes = _HASH.findall(stripped)
            assert hashes, f"requirements.lock:{number}: {raw!r} is not a sha256 hash"
            current["hashes"].update(hashes)
        elif current is not None and stripped.startswith("#"):
            comment = stripped.lstrip("#").strip()
            if comment.startswith("via"):
                rest = comment[3:].strip()
                in_via = not rest
                if rest:
                    current["via"].add(rest)
            elif in_via and comment:
                current["via"].add(comment)
        elif not stripped.startswith("#"):
            # a hash line continues the requirement above it; anything else is not pip-compile's format
            raise AssertionError(f"requirements.lock:{number}: unexpected line {raw!r}")
    return entries


def test_every_requirement_is_in_the_lock_at_the_same_version():
    """requirements.txt and the lock agree both ways: each pin is in the lock at its version, and the
    lock's direct requirements (``via -r requirements.txt``) are exactly requirements.txt's."""
    wanted = _requirements()
    lock = _lock()
    assert wanted, "requirements.txt pins nothing"
    missing = sorted(set(wanted) - set(lock))
    assert not missing, f"in requirements.txt but not in requirements.lock (run `make lock`): {missing}"
    differ = {n: (v, lock[n]["version"]) for n, v in wanted.items() if lock[n]["version"] != v}
    assert not differ, f"requirements.txt vs requirements.lock versions (run `make lock`): {differ}"
    direct = {n for n, e in lock.items() if "-r requirements.txt" in e["via"]}
    stale = sorted(direct - set(wanted))
    assert not stale, f"requirements.lock still lists as direct what requirements.txt dropped (run `make lock`): {stale}"


def test_every_locked_package_has_a_hash():
    """pip's --require-hashes refuses the whole install when one pinned package has no hash."""
    lock = _lock()
    assert len(lock) > len(_requirements()), "the lock holds no transitive packages"
    unhashed = sorted(n for n, e in lock.items() if not e["hashes"])
    assert not unhashed, f"requirements.lock pins these without --hash: {unhashed}"


def test_makefile_installs_from_the_lock_with_hashes():
    """`make` installs from the lock in hash-checking mode and reinstalls when the lock changes."""
    makefile = (ROOT / "Makefile").read_text()
    target = re.search(r"^\.venv/\.installed:([^\n]*)\n((?:\t[^\n]*\n)+)", makefile, re.M)
    assert target, "Makefile has no .venv/.installed target"
    assert "requirements.lock" in target[1].split()
    assert re.search(r"pip install .*--require-hashes.* -r requirements\.lock", target[2])


@pytest.mark.skipif(
    Path(sys.prefix).resolve() != (ROOT / ".venv").resolve(), reason="runs only in the project's .venv"
)
def test_the_venv_holds_the_locked_versions():
    """The project's .venv was installed from this lock: every locked package at its locked version."""
    differ = {}
    for name, entry in _lock().items():
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            installed = None
        if installed != entry["version"]:
            differ[name] = (entry["version"], installed)
    assert not differ, f"locked vs installed in .venv (run `make .venv/.installed`): {differ}"
