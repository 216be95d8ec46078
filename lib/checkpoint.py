"""Checkpoints of an unfinished run: folders ``epoch-<n>-...`` under one folder with a ``LATEST``
pointer, written and read by :mod:`lib.train` (see its docstring for what they hold and when).

Safe to receive from someone else: the state is read with ``torch.load(..., weights_only=True)``
(tensors, numbers, strings, lists, tuples and dicts; numpy arrays and scalars are stored as tagged
tensors, :func:`to_plain`), so nothing in a checkpoint can run code. The files the run had written
are kept beside the state with their SHA-256 in it; a resume checks every one before copying it
back. A checkpoint reuses (hard-links) a file of the previous one only when the contents' SHA-256
are equal, never judging by size and modification time. A checkpoint that cannot be read, belongs
to another run, or cannot be restored is set aside (the folder renamed ``<folder>.set-aside-<ns>``,
with a warning naming it), and the run trains from the start.
"""
from __future__ import annotations

import hashlib
import io
import math
import os
import shutil
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch

ARRAY_TAG, SCALAR_TAG = "__numpy_array__", "__numpy_scalar__"


def to_plain(obj: Any) -> Any:
    """``obj`` with every numpy array and scalar replaced by a tagged tensor of the same dtype and values
    (:func:`from_plain` turns them back), so a checkpoint loads with ``weights_only=True``. TypeError
    for anything but tensors, numbers, strings, None, lists, tuples and dicts of these."""
    if isinstance(obj, np.ndarray):
        return {ARRAY_TAG: torch.from_numpy(obj.copy())}
    if isinstance(obj, np.generic):  # before the numbers: numpy's float64 is a float
        return {SCALAR_TAG: torch.from_numpy(np.asarray(obj).copy())}
    if obj is None or isinstance(obj, (bool, int, float, str, torch.Tensor)):
        return obj
    if isinstance(obj, dict):
        return {k: to_plain(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [to_plain(v) for v in obj]
    if isinstance(obj, tuple):
        return tuple(to_plain(v) for v in obj)
    raise TypeError(f"a checkpoint cannot hold a {type(obj).__name__} (callback states and metric values must be "
                    "tensors, numpy arrays, numbers, strings, lists, tuples or dicts)")


def from_plain(obj: Any) -> Any:
    """The inverse of :func:`to_plain`."""
    if isinstance(obj, dict):
        if obj.keys() == {ARRAY_TAG}:
            return obj[ARRAY_TAG].cpu().numpy()
        if obj.keys() == {SCALAR_TAG}:
            return obj[SCALAR_TAG].cpu().numpy()[()]
        return {k: from_plain(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [from_plain(v) for v in obj]
    if isinstance(obj, tuple):
        return tuple(from_plain(v) for v in obj)
    return obj


def _reason(exc: Exception) -> str:
    """``exc`` in one line; for a refused pickle, the global it asked for (torch's advice to load the file
    without its safe mode is dropped: following it would run the file's code)."""
    lines = str(exc).splitlines() or [""]
    refused = [ln.strip() for ln in lines if ln.strip().startswith("WeightsUnpickler error:")]
    if refused:
        what = refused[0].removeprefix("WeightsUnpickler error:").strip().split(". Please")[0]
        return f"{type(exc).__name__}: not plain data ({what})"
    return f"{type(exc).__name__}: {lines[0]}"


def _sha256(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def _files(folder: Path) -> list[str]:
    """Relative paths of the files under ``folder``, sorted (none when it does not exist)."""
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


class Checkpoint:
    """The per-epoch checkpoints of one unfinished run in ``folder`` (see the module docstring).

    ``key`` identifies the run and its callbacks. A checkpoint that cannot be read, belongs to another
    key, or cannot be restored is set aside (:meth:`set_aside`), never loaded again.
    """

    def __init__(self, folder: Path, key: str, min_seconds: float = 0.0):
        self.folder = Path(folder)
        self.key = key
        self.min_seconds = min_seconds
        self.current: Path | None = None  # the folder LATEST pointed at when we last read or wrote it
        self.digests: dict[str, str] = {}  # its files: relative path -> SHA-256
        self.last_save = -math.inf

    def load(self, device: torch.device) -> dict[str, Any] | None:
        """The latest checkpoint's state, or None when there is none (or it was set aside: unreadable,
        not plain data, another run's). Nothing in it can run code (``weights_only=True``)."""
        try:
            name = (self.folder / "LATEST").read_text().strip()
        except FileNotFoundError:
            return None
        where = self.folder / name
        try:
            if not name or Path(name).name != name or name in (".", ".."):
                raise ValueError(f"LATEST names {name!r}, not a folder beside it")
            saved = torch.load(where / "state.pt", map_location=device, weights_only=True)
        except Exception as exc:  # a checkpoint must never stop a run: start afresh
            self.set_aside(f"ignoring unreadable checkpoint {where}: {_reason(exc)}")
            return None
        if not isinstance(saved, dict) or saved.get("key") != self.key:
            self.set_aside(f"ignoring checkpoint {where}: it belongs to another config or set of callbacks")
            return None
        self.current = where
        return saved

    def restore_files(self, out_dir: Path, record: dict[str, str]) -> None:
        """Copy the loaded checkpoint's files into ``out_dir``, after checking every one against the
        SHA-256 its state records; ValueError, before copying anything, when one differs, is missing
        or is not recorded."""
        assert self.current is not None
        src = self.current / "files"
        have = _files(src)
        if not isinstance(record, dict) or sorted(record) != have:
            raise ValueError(f"its files {have} are not the ones it records, "
                             f"{sorted(record) if isinstance(record, dict) else record!r}")
        for rel in have:
            if _sha256(src / rel) != record[rel]:
                raise ValueError(f"its file {rel} differs from the SHA-256 it records")
        out_dir.mkdir(parents=True, exist_ok=True)
        for rel in have:
            (out_dir / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src / rel, out_dir / rel)
        self.digests = dict(record)

    def set_aside(self, problem: str) -> None:
        """Rename the checkpoint folder to ``<folder>.set-aside-<ns>`` (deleted when that fails) and warn,
        naming it; the run then trains from the start."""
        dest = self.folder.with_name(f"{self.folder.name}.set-aside-{time.time_ns()}")
        try:
            self.folder.rename(dest)
            what = f"set aside as {dest}"
        except OSError as exc:
            shutil.rmtree(self.folder, ignore_errors=True)
            what = f"deleted (it could not be set aside: {exc})"
        warnings.warn(f"{problem}; the checkpoint folder is {what}; training from the start")
        self.current, self.digests = None, {}

    def save(self, epoch: int, state: dict[str, Any], out_dir: Path) -> bool:
        """Write a checkpoint after ``epoch`` unless the last one is younger than ``min_seconds``.
        A file of ``out_dir`` whose SHA-256 equals that of the same file in the previous checkpoint is
        hard-linked from there, any other is copied (never judged by size and time).
        A write that fails with an OSError (disk full, permissions) warns and returns False: a full
        disk must not stop a run, and ``LATEST`` still points at the previous checkpoint. Anything else
        (above all the exit SLURM's time-limit signal raises through submitit while the state is
        being serialised, which torch reports as a RuntimeError) removes the partial folder and
        propagates, so the job ends and its requeued successor resumes from ``LATEST``."""
        now = time.monotonic()
        if now - self.last_save < self.min_seconds:
            return False
        new = self.folder / f"epoch-{epoch:06d}-{os.getpid()}-{time.time_ns()}"
        tmp = self.folder / f"LATEST.{os.getpid()}.{time.time_ns()}.tmp"
        try:
            digests = self._write(new, tmp, epoch, state, out_dir)
        except BaseException as exc:
            shutil.rmtree(new, ignore_errors=True)
            tmp.unlink(missing_ok=True)
            if not isinstance(exc, OSError):
                raise
            warnings.warn(f"checkpoint after epoch {epoch} not written ({type(exc).__name__}: {exc}); "
                          "training goes on without it")
            return False
        if self.current is not None and self.current != new:
            shutil.rmtree(self.current, ignore_errors=True)
        self.current, self.digests, self.last_save = new, digests, time.monotonic()
        return True

    def _write(self, new: Path, tmp: Path, epoch: int, state: dict[str, Any], out_dir: Path) -> dict[str, str]:
        """Write checkpoint folder ``new``, then point ``LATEST`` at it (via ``tmp``, atomically);
        returns the SHA-256 of each of ``out_dir``'s files it holds."""
        (new / "files").mkdir(parents=True)
        digests = {}
        for rel in _files(out_dir):
            dst = new / "files" / rel
            dst.parent.mkdir(parents=True, exist_ok=True)
            digests[rel] = _sha256(out_dir / rel)
            old = self.current / "files" / rel if self.current is not None else None
            if old is not None and self.digests.get(rel) == digests[rel]:
                try:
                    os.link(old, dst)
                    continue
                except OSError:
                    pass
            shutil.copy2(out_dir / rel, dst)
        buffer = io.BytesIO()  # serialise first: a failing file write is then a plain OSError
        torch.save({**state, "files": digests, "key": self.key, "epoch": epoch}, buffer)
        with open(new / "state.pt", "wb") as f:
            f.write(buffer.getbuffer())
            f.flush()
            os.fsync(f.fileno())
        tmp.write_text(new.name)
        os.replace(tmp, self.folder / "LATEST")
        return digests
