"""Manifests: what a finished folder of the cache (a run, a mask) holds, and reads checked against it.

A folder is finished when its ``manifest.json``, written last, lists every other file with its size and
SHA-256. :func:`check_folder` compares names and sizes (``deep``: contents too); :func:`read_checked`
reads one file and hashes the bytes it read, so what a reader parses is exactly what was hashed (no
second read that could differ). A manifest that is not what :func:`write_manifest` writes (bad JSON,
nesting too deep for the parser, a size of 1e400, a digest that is not 64 hex digits) is a
:class:`ManifestError`, never an exception of another kind, so whoever checks many folders goes on
to the next one.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import time
import warnings
from pathlib import Path
from typing import Any

from . import paths

#: The file, written last, listing every other file of a finished folder.
MANIFEST = paths.MANIFEST_FILE
_HEX64 = re.compile(r"[0-9a-f]{64}")
#: The largest manifest read (bytes): a run lists tens of files, so anything larger is not ours.
MAX_MANIFEST_BYTES = 1 << 20


class ManifestError(ValueError):
    """A manifest that cannot be read or is not shaped as :func:`write_manifest` writes it."""


class DamagedFile(OSError):
    """A file that is missing or differs from its manifest entry; names the folder, the file and how."""

    def __init__(self, folder: Path, name: str, problem: str):
        self.folder, self.name, self.problem = Path(folder), name, problem
        super().__init__(f"{Path(folder) / name}: {problem}")


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file's contents."""
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def write_manifest(folder: Path) -> None:
    """Write ``folder/manifest.json`` (atomically): relative name -> size in bytes and SHA-256 of every
    other file under ``folder`` (hidden temporary files left out)."""
    files = {}
    for p in sorted(folder.rglob("*")):
        rel = p.relative_to(folder).as_posix()
        if p.is_file() and rel != MANIFEST and not p.name.startswith("."):
            files[rel] = {"size": p.stat().st_size, "sha256": sha256_file(p)}
    tmp = folder / f".{MANIFEST}.{os.getpid()}.{time.time_ns()}.tmp"
    try:
        tmp.write_text(json.dumps({"version": 1, "files": files}, indent=1))
        os.replace(tmp, folder / MANIFEST)
    finally:
        tmp.unlink(missing_ok=True)


def _entry(name: Any, entry: Any) -> tuple[int, str]:
    """(size, sha256) of one manifest entry; ManifestError when it is not a safe relative name with a
    non-negative integer size and a 64-hex-digit digest."""
    if not isinstance(name, str) or not name or name.startswith("/") or ".." in name.split("/"):
        raise ManifestError(f"entry {str(name)[:80]!r} is not a relative file name inside the folder")
    if not isinstance(entry, dict):
        raise ManifestError(f"entry {name!r} is a {type(entry).__name__}, not an object")
    size, digest = entry.get("size"), entry.get("sha256")
    if type(size) is not int or size < 0:  # bool, float (1e400 parses as inf) and str refused
        raise ManifestError(f"entry {name!r} has size {str(size)[:40]!r}, not a byte count")
    if not isinstance(digest, str) or not _HEX64.fullmatch(digest):
        raise ManifestError(f"entry {name!r} has sha256 {str(digest)[:80]!r}, not 64 hex digits")
    return size, digest


def read_manifest(folder: Path) -> dict[str, tuple[int, str]]:
    """{relative name: (size, sha256)} of ``folder``'s manifest. FileNotFoundError when there is none;
    ManifestError (naming what is wrong) when it is unreadable or malformed."""
    path = Path(folder) / MANIFEST
    try:
        with open(path, "rb") as f:
            raw = f.read(MAX_MANIFEST_BYTES + 1)
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise ManifestError(f"unreadable {MANIFEST} ({type(exc).__name__}: {exc})") from None
    if len(raw) > MAX_MANIFEST_BYTES:
        raise ManifestError(f"{MANIFEST} is larger than {MAX_MANIFEST_BYTES} bytes")
    try:
        files = json.loads(raw)["files"]
    except (ValueError, KeyError, TypeError, RecursionError) as exc:
        raise ManifestError(f"unreadable {MANIFEST} ({type(exc).__name__}: {str(exc)[:120]})") from None
    if not isinstance(files, dict):
        raise ManifestError(f"{MANIFEST}'s 'files' is a {type(files).__name__}, not an object")
    return {name: _entry(name, entry) for name, entry in files.items()}


def check_folder(folder: Path, required: tuple[str, ...] = (), *, deep: bool = False) -> str | None:
    """What is wrong with the finished folder ``folder`` (None: nothing): no manifest (a folder without
    one is damaged, never adopted), a malformed one, a ``required`` file it does not list, a listed file
    missing or of another size (``deep``: of another SHA-256)."""
    try:
        files = read_manifest(folder)
    except FileNotFoundError:
        return f"no {MANIFEST} (a finished folder always has one: it is written last)"
    except ManifestError as exc:
        return str(exc)
    absent = [n for n in required if n not in files]
    if absent:
        return f"{MANIFEST} lists no {', '.join(absent)}"
    for name, (size, digest) in files.items():
        try:
            got = (Path(folder) / name).stat().st_size
        except OSError:
            return f"missing {name}"
        if got != size:
            return f"{name} has {got} bytes, its manifest says {size}" + (" (truncated)" if got < size else "")
    if deep:
        for name, (_, digest) in files.items():
            if sha256_file(Path(folder) / name) != digest:
                return f"{name} has the manifest's size but another SHA-256 (changed bytes)"
    return None


def read_checked(folder: Path, name: str, files: dict[str, tuple[int, str]]) -> bytes:
    """The bytes of ``folder/name``, hashed as read and compared with its entry in ``files`` (the folder's
    :func:`read_manifest`). :class:`DamagedFile` when it is not listed, missing, or differs."""
    if name not in files:
        raise DamagedFile(folder, name, f"not listed in {MANIFEST} (it lists {sorted(files)})")
    size, digest = files[name]
    try:
        data = (Path(folder) / name).read_bytes()
    except OSError as exc:
        raise DamagedFile(folder, name, f"unreadable ({type(exc).__name__}: {exc})") from None
    if len(data) != size:
        raise DamagedFile(folder, name, f"{len(data)} bytes, its manifest says {size}")
    if hashlib.sha256(data).hexdigest() != digest:
        raise DamagedFile(folder, name, "another SHA-256 than its manifest's (changed bytes)")
    return data


class DamagedFolderWarning(UserWarning):
    """A finished folder of the cache (a run, a mask) failed its check and was moved to quarantine."""


def quarantine(folder: Path, problem: str, *, what: str, category: type[Warning] = DamagedFolderWarning,
               prefix: str = "", then: str = "it will be made again") -> Path | None:
    """Move the damaged ``folder`` (a ``what``: "run", "mask") to ``runs/quarantine/<prefix><name>-<time>/``
    with ``QUARANTINE.txt`` saying ``problem``, and warn (``category``) naming it and ``then``. Returns where
    it went; None when it was gone already (another process moved it first)."""
    stamp = time.strftime("%Y%m%dT%H%M%S")
    dest = paths.quarantine_dir() / f"{prefix}{folder.name}-{stamp}-{time.time_ns() % 10**9:09d}"
    dest.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.rename(folder, dest)
    except FileNotFoundError:
        return None
    if dest.is_dir():
        (dest / paths.QUARANTINE_NOTE).write_text(f"{problem}\n")
    warnings.warn(category(f"{what} {folder.name} is damaged ({problem}); moved to {dest}; {then}"), stacklevel=3)
    return dest
