"""One build at a time in a clone: the build holds the exclusive lock (:mod:`lib.locks`, ``flock``) of
``_build/build.lock``. The kernel releases it when the build ends, however it ends, so a dead build leaves
no stale lock; the file holds the holder's pid, host, start time and command, for the message a second
build stops with at once."""
from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from typing import Iterator

from .. import locks
from . import layout
from .layout import BuildError


@contextlib.contextmanager
def build_lock(path: Path | None = None) -> Iterator[Path]:
    """Hold the build lock (``path``, default :data:`lib.book.layout.LOCK`) for the ``with`` block; yields its
    path. When another process holds it, raise :class:`BuildError` at once, naming the lock file and that
    process's pid, host, start time and command."""
    path = layout.LOCK if path is None else path
    stack = contextlib.ExitStack()
    try:
        stack.enter_context(locks.exclusive(path, timeout=0, command=" ".join(sys.argv)))
    except locks.Busy as exc:
        raise BuildError(f"another build is running in this clone: {exc}; wait for it to end or stop that "
                         "process, then build again") from None
    with stack:
        yield path
