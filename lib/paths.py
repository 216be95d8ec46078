"""Where things live on disk. One-line functions, so every path in the project is found here."""
from __future__ import annotations

from pathlib import Path

from . import settings

ROOT: Path = Path(__file__).resolve().parent.parent

# The files in a run's folder (:func:`run_dir`), named here only.
#: The full config the run was trained from (:func:`lib.config.config_dict`), with its hash.
CONFIG_FILE = "config.json"
#: One row per epoch: losses, accuracies and the statistics callbacks' columns.
METRICS_FILE = "metrics.csv"
#: The final state dict (CPU tensors).
MODEL_FILE = "model.pt"
#: How the run was made (wall seconds, device, versions, data source); not part of the hash.
INFO_FILE = "info.json"
#: Name, size and SHA-256 of every other file of the run, written last (:mod:`lib.runs`).
MANIFEST_FILE = "manifest.json"
#: Why a damaged run was moved to :func:`quarantine_dir`, in its quarantined folder.
QUARANTINE_NOTE = "QUARANTINE.txt"
#: Diff histograms per computed epoch (:class:`lib.stats.callback.StatsCallback`).
DIFF_HIST_FILE = "diff_hist.npz"
#: Diffs at the computed epoch of highest coherence, epoch 0 included (:mod:`lib.stats.callback`).
DIFFS_MAX = "diffs_max.pt"
#: Diffs at the computed epoch of lowest coherence.
DIFFS_MIN = "diffs_min.pt"
#: Diffs at the computed epoch of highest coherence over epochs >= 1 (the thesis's max-coherence epoch).
DIFFS_MAX_TRAINED = "diffs_max_trained.pt"
#: The full values of the tracked parameters after every epoch (``TrainConfig.track``).
TRACKS_FILE = "tracks.npz"


def root() -> Path:
    """The repository root."""
    return ROOT


def vendor_dir() -> Path:
    """Local copies of the page scripts fetched from npm (MathJax, require.js, html-manager, Vega), git-ignored;
    the build copies ``_static_offline/`` into the HTML root (:mod:`lib.book.assets`)."""
    return ROOT / "_static_offline" / "vendor"


def data_dir() -> Path:
    """Dataset cache (``data/``, git-ignored)."""
    return ROOT / "data"


def runs_dir() -> Path:
    """Run cache (``runs/`` or ``$BOOK_RUNS_DIR`` made absolute, git-ignored; :func:`lib.settings.runs_dir_setting`:
    set but empty is an error)."""
    folder = settings.runs_dir_setting()
    return folder if folder is not None else ROOT / "runs"


def run_dir(run_hash: str) -> Path:
    """Folder of one finished training run."""
    return runs_dir() / "train" / run_hash


def quarantine_dir() -> Path:
    """Damaged runs moved out of the cache (``runs/quarantine/<hash>-<time>/``, see :mod:`lib.runs`)."""
    return runs_dir() / "quarantine"


def checkpoint_dir(run_hash: str) -> Path:
    """Per-epoch checkpoints of an unfinished run (deleted when the run lands in the cache)."""
    return runs_dir() / "train" / f".ckpt-{run_hash}"


def run_lock(run_hash: str) -> Path:
    """The lock a process holds while it trains a run (:mod:`lib.locks`; deleted by its holder)."""
    return runs_dir() / "train" / f".lock-{run_hash}"


def job_record(run_hash: str) -> Path:
    """The SLURM job last submitted for a run (:mod:`lib.cluster`)."""
    return runs_dir() / "train" / f".job-{run_hash}.json"


def job_outcome(run_hash: str) -> Path:
    """The JSON record a SLURM job writes when its run ends (``{"outcome": "done" | "error", "error": ...}``),
    read by the status check instead of submitit's result pickle (:mod:`lib.cluster`)."""
    return runs_dir() / "train" / f".outcome-{run_hash}.json"


def slurm_dir() -> Path:
    """submitit's folder: one folder per job, ``<job id>/`` (script, pickles, ``<job id>_0_log.out/.err``)."""
    return runs_dir() / "slurm"


def mask_dir(mask_hash: str) -> Path:
    """Folder of one cached mask: ``mask.pt``, ``summary.json``, ``manifest.json`` (:mod:`lib.mask_cache`)."""
    return runs_dir() / "masks" / mask_hash


def chapters_dir() -> Path:
    """Source notebooks of the book."""
    return ROOT / "chapters"


def snapshot_name(epoch: int) -> str:
    """The file, inside a run's folder, of the state dict kept after ``epoch`` (``TrainConfig.snapshots``)."""
    return f"weights_epoch{epoch:04d}.pt"
