"""Every ``BOOK_*`` environment variable, read and checked in one place.

:data:`VARIABLES` is the table of known names: for each, what it means, the values it allows and its
default. The project reads these variables only through the functions below (``lib/``, ``scripts/``);
``scripts/slurm_*.sh``, ``.ci/run`` and ``tests/test_slurm.py`` use the SLURM ones, which are listed too
so that they are known names. README.md's table is :func:`markdown_table` (``python -m lib.settings``
prints it; a test compares the two).

Rules, the same for every variable:

* A ``BOOK_*`` name in the environment that the table does not know is an error naming it and listing
  the known ones (:func:`check_environment`, run by every reader, so ``BOOK_WORKRES=2`` stops the first
  thing that reads a setting instead of passing silently).
* A bad value is a ValueError naming the variable, the value and what is allowed. Switches take
  ``1/0``, ``true/false``, ``yes/no``, ``on/off`` (any case); anything else is an error.
* Unset or empty (or blank) means the default, except ``BOOK_RUNS_DIR``: set but empty is an error.
* Nothing is cached: each call reads the environment again, so a test's ``monkeypatch.setenv`` (or a
  job that sets a variable) is seen at once.

``BOOK_RUNS_DIR`` relative to the current directory is made absolute at its first read, and the
absolute path is written back to ``os.environ``. Later reads, worker processes, SLURM jobs and the
notebook kernels (which the build starts in ``chapters/``) then all see the same folder, whatever their
working directory; the build reads it before it starts any kernel.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

#: Every variable of the project starts with this.
PREFIX = "BOOK_"

# The names, one constant each (modules that mention a variable use these).
RUNS_DIR = "BOOK_RUNS_DIR"
WORKERS = "BOOK_WORKERS"
THREADS = "BOOK_THREADS"
CHECKPOINT = "BOOK_CHECKPOINT"
CHECKPOINT_SECONDS = "BOOK_CHECKPOINT_SECONDS"
EVAL_BATCH = "BOOK_EVAL_BATCH"
SPARSE = "BOOK_SPARSE"
CELL_TIMEOUT = "BOOK_CELL_TIMEOUT"
SLURM_CONFIG = "BOOK_SLURM_CONFIG"
REQUIRE_SLURM = "BOOK_REQUIRE_SLURM"
SLURM_DIR = "BOOK_SLURM_DIR"
SLURMCTLD_PORT = "BOOK_SLURMCTLD_PORT"
SLURMD_PORT = "BOOK_SLURMD_PORT"

#: ``BOOK_SPARSE`` values: force the masked dense path, force sparse kernels, or measure (:mod:`lib.sparse`).
SPARSE_MODES = ("0", "1", "auto")
#: Seconds one notebook cell may run in the build when ``BOOK_CELL_TIMEOUT`` is unset. The runs are trained
#: before a notebook starts, so a cell only reads and plots; a hang fails the build instead of blocking it.
CELL_TIMEOUT_DEFAULT = 3600
#: The folder of the private test cluster of ``scripts/slurm_up.sh`` when ``BOOK_SLURM_DIR`` is unset.
SLURM_DIR_DEFAULT = "/tmp/book-slurm"

_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


# ------------------------------------------------------------------------------------ value parsers
def _positive_int(text: str) -> int:
    """``text`` as a whole number >= 1 (digits only); ValueError otherwise."""
    if not text.isdigit() or int(text) < 1:
        raise ValueError(text)
    return int(text)


def _port(text: str) -> int:
    """``text`` as a TCP port, 1 to 65535."""
    value = _positive_int(text)
    if value > 65535:
        raise ValueError(text)
    return value


def _switch(text: str) -> bool:
    """``text`` as on/off: 1/true/yes/on or 0/false/no/off, any case."""
    word = text.lower()
    if word not in _TRUE + _FALSE:
        raise ValueError(text)
    return word in _TRUE


def _seconds(text: str) -> float:
    """``text`` as a finite number of seconds >= 0."""
    value = float(text)  # ValueError for 'abc'
    if not math.isfinite(value) or value < 0:
        raise ValueError(text)
    return value


def _sparse_mode(text: str) -> str:
    """``text`` as one of :data:`SPARSE_MODES`, any case."""
    mode = text.lower()
    if mode not in SPARSE_MODES:
        raise ValueError(text)
    return mode


def _path(text: str) -> Path:
    """``text`` as a path, as given."""
    return Path(text)


# ------------------------------------------------------------------------------------------ the table
@dataclass(frozen=True)
class Variable:
    """One known ``BOOK_*`` variable: its parser (a string in, the value out, ValueError when bad), the
    value when unset, and the words README.md and the error messages use."""

    name: str
    parse: Callable[[str], Any]
    default: Any
    allowed: str
    default_text: str
    meaning: str


#: Every ``BOOK_*`` variable the project knows, in README.md's order.
VARIABLES: tuple[Variable, ...] = (
    Variable(RUNS_DIR, _path, None, "a folder (relative: to the directory of the first read, then exported "
             "absolute)", "`runs/` in the repository", "the run cache: trained runs, masks, verdicts, SLURM job files"),
    Variable(WORKERS, _positive_int, None, "a positive whole number", "1 with a GPU, else the cores",
             "worker processes training runs side by side (build and `python -m lib.cluster --executor local`)"),
    Variable(THREADS, _positive_int, None, "a positive whole number", "the thread rules of `lib/parallel.py`",
             "torch threads of every run, at most the cores (for comparisons: it changes a run's floats)"),
    Variable(CHECKPOINT, _switch, True, "1/0, true/false, yes/no, on/off (any case)", "on",
             "per-epoch checkpoints of unfinished runs"),
    Variable(CHECKPOINT_SECONDS, _seconds, 0.0, "a number of seconds >= 0", "0",
             "skip a checkpoint while the previous one is younger than this"),
    Variable(EVAL_BATCH, _positive_int, None, "a positive whole number", "by device and model (`lib/train.py`)",
             "samples per forward pass when a run is evaluated"),
    Variable(SPARSE, _sparse_mode, "auto", "0, 1 or auto", "auto",
             "masked MLP layers on sparse kernels: 0 never, 1 always, auto where measured faster"),
    Variable(CELL_TIMEOUT, _positive_int, CELL_TIMEOUT_DEFAULT, "a positive whole number of seconds",
             str(CELL_TIMEOUT_DEFAULT), "seconds one notebook cell may run in the build"),
    Variable(SLURM_CONFIG, _path, None, "a TOML file with a [slurm] table", "`slurm.toml` in the repository",
             "SLURM settings of `--executor slurm`"),
    Variable(REQUIRE_SLURM, _switch, False, "1/0, true/false, yes/no, on/off (any case)", "off",
             "SLURM tests fail instead of skipping when no cluster is up (set by `.ci/run`)"),
    Variable(SLURM_DIR, _path, Path(SLURM_DIR_DEFAULT), "a folder", f"`{SLURM_DIR_DEFAULT}`",
             "the private test cluster of `scripts/slurm_up.sh` (configuration, logs, state)"),
    Variable(SLURMCTLD_PORT, _port, 6817, "a port, 1 to 65535", "6817", "slurmctld's port in `scripts/slurm_up.sh`"),
    Variable(SLURMD_PORT, _port, 6818, "a port, 1 to 65535", "6818", "slurmd's port in `scripts/slurm_up.sh`"),
)
#: The table by name.
KNOWN: dict[str, Variable] = {v.name: v for v in VARIABLES}


# ------------------------------------------------------------------------------------------ reading
def check_environment() -> None:
    """ValueError naming every ``BOOK_*`` name in the environment that :data:`VARIABLES` does not know
    (a typo such as ``BOOK_WORKRES``), with the known ones. Cheap: one pass over the environment's names."""
    unknown = sorted(k for k in os.environ if k.startswith(PREFIX) and k not in KNOWN)
    if unknown:
        raise ValueError(f"unknown environment variable(s) {', '.join(unknown)}; the known BOOK_* variables are: "
                         f"{', '.join(KNOWN)} (see lib/settings.py)")


def _bad(var: Variable, text: str) -> ValueError:
    """The error for ``var`` set to ``text``: name, value, what is allowed and what it means."""
    return ValueError(f"{var.name}={text!r}: expected {var.allowed} ({var.meaning})")


def value(name: str) -> Any:
    """The value of known variable ``name``: its parsed value, or its default when unset or blank.
    Checks the environment's names first (:func:`check_environment`)."""
    check_environment()
    var = KNOWN[name]
    text = os.environ.get(name, "").strip()
    if not text:
        return var.default
    try:
        return var.parse(text)
    except ValueError:
        raise _bad(var, text) from None


def check_all() -> None:
    """Check every ``BOOK_*`` variable set now: unknown names and bad values are a ValueError; a relative
    ``BOOK_RUNS_DIR`` is made absolute and exported (:func:`runs_dir_setting`). The build calls it first."""
    runs_dir_setting()
    for var in VARIABLES:
        value(var.name)


def runs_dir_setting() -> Path | None:
    """``$BOOK_RUNS_DIR`` as an absolute folder, or None when unset (the cache is then ``runs/``, see
    :func:`lib.paths.runs_dir`). Set but empty is an error. A relative value is joined to the current
    directory and written back to ``os.environ``, so every later read, in this process or a child, gives
    the same folder."""
    check_environment()
    raw = os.environ.get(RUNS_DIR)
    if raw is None:
        return None
    if not raw.strip():
        raise ValueError(f"{RUNS_DIR} is set but empty: unset it (the cache is then runs/) or give a folder")
    folder = Path(raw)
    if not folder.is_absolute():
        folder = Path(os.path.abspath(folder))
        os.environ[RUNS_DIR] = str(folder)
    return folder


def set_runs_dir(folder: str | Path) -> None:
    """Point ``BOOK_RUNS_DIR`` at ``folder`` (made absolute) for this process and the ones it starts."""
    os.environ[RUNS_DIR] = os.path.abspath(folder)


def workers() -> int | None:
    """``$BOOK_WORKERS``: worker processes, or None when unset (:func:`lib.parallel.default_workers` decides)."""
    return value(WORKERS)


def threads() -> int | None:
    """``$BOOK_THREADS``: torch threads of every run, or None when unset (the rules of :mod:`lib.parallel`)."""
    return value(THREADS)


def checkpoint_enabled() -> bool:
    """``$BOOK_CHECKPOINT``: whether unfinished runs write per-epoch checkpoints (default True)."""
    return value(CHECKPOINT)


def checkpoint_seconds() -> float:
    """``$BOOK_CHECKPOINT_SECONDS``: the least seconds between two checkpoints of a run (default 0)."""
    return value(CHECKPOINT_SECONDS)


def eval_batch() -> int | None:
    """``$BOOK_EVAL_BATCH``: samples per evaluation pass for every model, or None (:data:`lib.train.EVAL_BATCH`)."""
    return value(EVAL_BATCH)


def sparse_mode() -> str:
    """``$BOOK_SPARSE``: ``"0"``, ``"1"`` or ``"auto"`` (default), lower case."""
    return value(SPARSE)


def cell_timeout() -> int:
    """``$BOOK_CELL_TIMEOUT``: seconds one notebook cell may run in the build (default 3600)."""
    return value(CELL_TIMEOUT)


def slurm_config() -> Path | None:
    """``$BOOK_SLURM_CONFIG``: the SLURM settings file, or None (``slurm.toml`` at the repository root)."""
    return value(SLURM_CONFIG)


def require_slurm() -> bool:
    """``$BOOK_REQUIRE_SLURM``: whether the SLURM tests must find a cluster (default False)."""
    return value(REQUIRE_SLURM)


def slurm_dir() -> Path:
    """``$BOOK_SLURM_DIR``: the private test cluster's folder (default ``/tmp/book-slurm``)."""
    return value(SLURM_DIR)


# ------------------------------------------------------------------------------------------ README
def markdown_table() -> str:
    """The table of :data:`VARIABLES` as README.md shows it (name, meaning, allowed values, default)."""
    rows = ["| Variable | Meaning | Allowed values | Default |", "|---|---|---|---|"]
    rows += [f"| `{v.name}` | {v.meaning} | {v.allowed} | {v.default_text} |" for v in VARIABLES]
    return "\n".join(rows)


if __name__ == "__main__":
    print(markdown_table())
