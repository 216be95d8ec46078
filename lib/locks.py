"""One trainer per run: an exclusive lock on ``runs/train/.lock-<hash>`` held while a process trains it.

The lock is ``flock(2)`` on the lock file: the operating system releases it when its holder ends, however
it ends (a kill, a crash, a SLURM time limit), so a lock is never left stale by a dead process, and the
next process asking for the run takes it over and resumes from the dead one's checkpoint. The holder
writes its pid, host and start time into the file, for the message of a process that waits. The file is
deleted by its holder before it lets go; a waiter that then gets a lock on the deleted file notices (its
descriptor no longer names the path) and tries again, so two processes never hold locks on two files
of one name.

On a cluster, the lock holds across machines only where the shared file system gives ``flock`` cluster-
wide meaning: NFS version 4 (Linux emulates ``flock`` with NFS byte-range locks), Lustre mounted with
``-o flock``, GPFS, BeeGFS. Lustre mounted with ``localflock`` (or without ``flock``: an error) and
NFS version 3 without a lock manager give locks that each machine sees only for itself: then two jobs
of one run on two machines may both train it. Nothing is lost then (each trains in its own temporary
folder, the first to land wins and the other's result is dropped), but work is done twice and both
resume from one checkpoint folder.
"""
from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import socket
import time
from pathlib import Path
from typing import Any, Callable, Iterator

#: How long a waiter sleeps between tries (seconds).
POLL_SECONDS = 0.5


class Busy(TimeoutError):
    """The lock is held by another process and the wait allowed is over; names the file and the holder."""


class LockUnsupported(OSError):
    """The file system of the run cache refuses ``flock``; names the folder and what to do."""


def holder(path: Path) -> dict[str, Any]:
    """What the lock file at ``path`` says about its holder (pid, host, since); empty when unreadable."""
    try:
        info = json.loads(path.read_text())
    except (OSError, ValueError, RecursionError):
        return {}
    return info if isinstance(info, dict) else {}


def describe_holder(info: dict[str, Any]) -> str:
    """'pid 123 on host h since 2026-12-07 06:00:00 UTC (its command)' from :func:`holder`'s record ('another
    process that has not written its details yet' when empty)."""
    if not info:
        return "another process that has not written its details yet"
    return (f"pid {info.get('pid', '?')} on host {info.get('host', '?')} since {info.get('since', '?')}"
            + (f" ({info['command']})" if info.get("command") else ""))


def _try(path: Path) -> int | None:
    """A descriptor holding the exclusive lock of ``path``, or None when another process holds it."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    except OSError as exc:
        os.close(fd)
        if exc.errno in (errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOSYS, errno.EINVAL):
            raise LockUnsupported(exc.errno, f"the file system of {path.parent} does not support flock "
                                  f"({exc.strerror}); see lib/locks.py for the file systems that do") from None
        raise
    try:
        same = os.fstat(fd).st_ino == os.stat(path).st_ino
    except FileNotFoundError:
        same = False
    if not same:  # the holder deleted the file while we waited: this lock guards nothing
        os.close(fd)
        return _try(path)
    return fd


def _record(fd: int, command: str | None) -> None:
    """Write this process's pid, host, start time (UTC) and ``command`` into the locked file."""
    text = json.dumps({"pid": os.getpid(), "host": socket.gethostname(),
                       "since": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()), "command": command})
    os.ftruncate(fd, 0)
    os.pwrite(fd, text.encode(), 0)


@contextlib.contextmanager
def exclusive(path: Path, *, on_wait: Callable[[dict[str, Any]], None] | None = None,
              timeout: float | None = None, command: str | None = None) -> Iterator[None]:
    """Hold the exclusive lock of ``path`` for the ``with`` block, waiting while another process holds it
    (``on_wait(holder record)`` is called once, when the wait starts). ``timeout`` (seconds, None: no
    limit; 0: do not wait) ends the wait with :class:`Busy` naming the holder. ``command`` is recorded for
    the messages of others."""
    path.parent.mkdir(parents=True, exist_ok=True)
    start, told = time.monotonic(), False
    while (fd := _try(path)) is None:
        if not told and on_wait is not None:
            on_wait(holder(path))
            told = True
        if timeout is not None and time.monotonic() - start >= timeout:
            raise Busy(f"{path} is locked by {describe_holder(holder(path))}"
                       + (f"; gave up after {timeout:g} s" if timeout else ""))
        time.sleep(POLL_SECONDS)
    try:
        _record(fd, command)
        yield
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
        os.close(fd)


def is_held(path: Path) -> bool:
    """Whether some process holds the lock of ``path`` now (False when the file does not exist)."""
    if not path.exists():
        return False
    fd = _try(path)
    if fd is None:
        return True
    os.close(fd)  # we took it only to look: let go without deleting (a waiter may be on this file)
    return False
