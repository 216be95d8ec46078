"""Datasets: real CIFAR-10 (subsets by class-balanced count), the thesis's Gaussian "random data", and the
language-model chapter's text (windows of the Brown corpus, shuffled or random tokens: :mod:`lib.text_data`).

The whole dataset is held as tensors on the training device and batches are sliced from a
seeded permutation (as airbench does): no DataLoader, no worker processes.

Where CIFAR-10 is looked for, in this order:

1. an explicit ``path`` argument (a ``.npz`` file, a ``cifar-10-batches-py`` folder, or a folder
   holding either);
2. the environment variable ``CIFAR10_PATH`` (same forms);
3. the project's ``data/`` folder;
4. torchvision's download into ``data/`` (needs internet).

An explicit location (1 or 2) that does not exist or holds no CIFAR-10 is an error, never a
fallback to 3 or 4. File and folder names are matched case-insensitively (``cifar10.NPZ``).

Every load is checked (:class:`DataError` names the file and the array): images uint8 (or floats
holding exactly the integers 0-255, converted), NHWC 32x32x3, train and test; labels integers 0-9,
one-dimensional, one per image; a truncated, empty or corrupt file is one error naming it.

Data identity: :func:`fingerprint` is a SHA-256 of the arrays actually loaded (CIFAR-10), of the
generator's definition (Gaussian), or of the corpus and the windows' definition (text); :func:`lib.config.config_hash` includes it, so a run trained on
one file is never served for another. CIFAR-10 fingerprints are memoised per file by (path, size,
mtime, ctime) in ``runs/data-fingerprints.json`` and in the process.
"""
from __future__ import annotations

import functools
import hashlib
import json
import os
import pickle  # CIFAR-10's batch files only, through _BatchUnpickler
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import torch

from . import paths, text_data, validate

#: Per-channel mean and std of the official CIFAR-10 training set, in 0-255 pixel units.
CIFAR_MEAN = (125.307, 122.950, 113.865)
CIFAR_STD = (62.993, 62.089, 66.705)
CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
IMAGE_DATASETS = ("cifar10", "gaussian")
DATASETS = IMAGE_DATASETS + text_data.TEXT_DATASETS
IMAGE_SHAPE = (3, 32, 32)
ARRAY_NAMES = ("x_train", "y_train", "x_test", "y_test")
#: Names looked for inside a folder, in this order (compared lower-case).
FOLDER_NAMES = ("cifar-10-batches-py", "cifar10.npz", "cifar10-small.npz")
BATCH_FILES = tuple(f"data_batch_{i}" for i in range(1, 6)) + ("test_batch",)

#: What :func:`gaussian_split` and :func:`load_data` draw; change the version with either.
GAUSSIAN_DEFINITION = ("gaussian-v1: torch.Generator().manual_seed(s); x = torch.randn((n, 3, 32, 32)); "
                       "y = torch.randint(0, 10, (n,)); train s = 2*seed + 1_000_003, test s = 2*seed + 1_000_004")
GAUSSIAN_FINGERPRINT = hashlib.sha256(GAUSSIAN_DEFINITION.encode()).hexdigest()
#: Version of the CIFAR-10 digest below; memo entries of another version are recomputed.
DIGEST_VERSION = 1


class DataNotFoundError(FileNotFoundError):
    """CIFAR-10 was not found where it was looked for."""


class DataError(ValueError):
    """A CIFAR-10 file that cannot be read or holds arrays of the wrong kind (the message names both)."""


@dataclass(frozen=True)
class DataConfig:
    """Which data a run trains and evaluates on.

    dataset: ``"cifar10"`` (real images), ``"gaussian"`` (N(0,1) pixels, random fixed labels), or text
    (:data:`lib.text_data.TEXT_DATASETS`: ``"brown"``, ``"brown_shuffled"``, ``"brown_random"``).
    n_train, n_test: number of images (class-balanced for CIFAR-10; 0 means all of the split), or of text
    windows (training split; validation split, which text runs evaluate on).
    seed: chooses the subset (CIFAR-10), draws the images and labels (Gaussian), or draws the windows and
    the shuffled or random streams (text; the document split is fixed).
    context: tokens per text window (text only; 0, the default and out of the hash, for images).
    """

    dataset: str = "cifar10"
    n_train: int = 10000
    n_test: int = 2000
    seed: int = 0
    context: int = 0

    def __post_init__(self) -> None:
        if self.dataset not in DATASETS:
            raise ValueError(f"unknown dataset {self.dataset!r}; known: {', '.join(DATASETS)}")
        validate.integer(self, "n_train", 0)
        validate.integer(self, "n_test", 0)
        validate.integer(self, "seed")
        validate.integer(self, "context", 0)
        if self.is_text and self.context < 1:
            raise ValueError(f"DataConfig.context must be >= 1 for text dataset {self.dataset!r}, got {self.context}")
        if not self.is_text and self.context:
            raise ValueError(f"DataConfig.context={self.context} applies to text datasets only, not {self.dataset!r}")

    @property
    def is_text(self) -> bool:
        """Whether samples are token windows (targets: the next token at each position)."""
        return self.dataset in text_data.TEXT_DATASETS


@dataclass(frozen=True)
class Arrays:
    """Raw CIFAR-10 arrays: uint8 NHWC images, int64 labels."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


@dataclass(frozen=True)
class DeviceData:
    """A train and a test split on one device: images as float tensors (N, 3, 32, 32) with int64 labels (N,),
    or text windows as int64 tokens (N, context) with int64 next tokens (N, context)."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor

    @property
    def n_train(self) -> int:
        return int(self.y_train.shape[0])

    def train_batches(self, batch_size: int, generator: torch.Generator) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """Shuffled training batches: a permutation drawn from ``generator`` (on the CPU), then slices."""
        perm = torch.randperm(self.n_train, generator=generator).to(self.x_train.device)
        for start in range(0, self.n_train, batch_size):
            idx = perm[start:start + batch_size]
            yield self.x_train[idx], self.y_train[idx]


# ------------------------------------------------------------------------------------ finding
def _candidates(base: Path) -> list[Path]:
    """``base`` itself, or the entries of folder ``base`` named as in :data:`FOLDER_NAMES` (any case)."""
    if not base.is_dir() or (base / "data_batch_1").exists():
        return [base]
    by_name: dict[str, Path] = {}
    for p in sorted(base.iterdir()):
        by_name.setdefault(p.name.lower(), p)
    return [by_name[n] for n in FOLDER_NAMES if n in by_name]


def _readable(p: Path) -> bool:
    if p.is_file():
        return p.suffix.lower() == ".npz"
    return p.is_dir() and (p / "data_batch_1").exists() and (p / "test_batch").exists()


def _explicit(label: str, base: Path) -> Path:
    """The CIFAR-10 location at an explicitly named ``base``, or an error saying what is wrong there."""
    if not base.exists():
        raise DataNotFoundError(
            f"{label} {base} does not exist. An explicit location is never replaced by data/ or a download: "
            "fix the path, or unset it to use data/.")
    for cand in _candidates(base):
        if _readable(cand):
            return cand.resolve()
    if base.is_file():
        raise DataNotFoundError(f"{label} {base} is not a .npz file (x_train, y_train, x_test, y_test) "
                                "nor a cifar-10-batches-py folder")
    raise DataNotFoundError(f"{label} {base} is a folder holding none of: a cifar-10-batches-py folder (with "
                            "data_batch_1 and test_batch), cifar10.npz, cifar10-small.npz")


def find_cifar10(path: str | os.PathLike | None = None, *, download: bool = True) -> Path:
    """The resolved CIFAR-10 location (see the module docstring for the order).

    Raises :class:`DataNotFoundError`: at once for an explicit location (``path`` or ``$CIFAR10_PATH``)
    that does not exist or holds no CIFAR-10; otherwise listing every place tried and how to fix it.
    """
    if path is not None:
        return _explicit("path argument", Path(path).expanduser())
    env = os.environ.get("CIFAR10_PATH")
    if env is not None and not env.strip():
        raise DataNotFoundError("$CIFAR10_PATH is set but empty: point it at a .npz file or a "
                                "cifar-10-batches-py folder, or unset it to use data/")
    if env:
        return _explicit("$CIFAR10_PATH =", Path(env).expanduser())
    tried: list[str] = []
    for cand in _candidates(paths.data_dir()):
        if _readable(cand):
            return cand.resolve()
    tried.append(f"project data/ folder: {paths.data_dir()}")
    if download:
        try:
            import torchvision

            torchvision.datasets.CIFAR10(str(paths.data_dir()), train=True, download=True)
            cand = paths.data_dir() / "cifar-10-batches-py"
            if _readable(cand):
                return cand.resolve()
        except Exception as exc:  # no internet, SSL, disk ...
            tried.append(f"torchvision download into {paths.data_dir()}: failed ({type(exc).__name__}: {exc})")
    raise DataNotFoundError(
        "CIFAR-10 was not found (CIFAR10_PATH is not set). Places tried:\n  - " + "\n  - ".join(tried)
        + "\nTo fix it, either\n"
        "  1. point at a copy: set CIFAR10_PATH (or pass path=) to a .npz with x_train, y_train, "
        "x_test, y_test (uint8 NHWC) or to a torchvision 'cifar-10-batches-py' folder; or\n"
        f"  2. run once with internet so torchvision downloads it into {paths.data_dir()}."
    )


# ------------------------------------------------------------------------------ reading, checks
def _images(x: np.ndarray, where: str) -> np.ndarray:
    """``x`` as uint8 NHWC images, or a :class:`DataError` naming ``where``."""
    if x.ndim != 4 or x.shape[1:] != (32, 32, 3):
        hint = " (channel-first? store x.transpose(0, 2, 3, 1))" if x.shape[1:] == (3, 32, 32) else ""
        raise DataError(f"{where} has shape {x.shape}, expected (N, 32, 32, 3) NHWC images{hint}")
    if len(x) == 0:
        raise DataError(f"{where} holds no images")
    if x.dtype == np.uint8:
        return x
    if not np.issubdtype(x.dtype, np.floating):
        raise DataError(f"{where} has dtype {x.dtype}, expected uint8 pixel values 0-255 "
                        "(or floats holding exactly the integers 0-255)")
    if not np.isfinite(x).all():
        raise DataError(f"{where} ({x.dtype}) holds NaN or infinite values")
    lo, hi = float(x.min()), float(x.max())
    if lo < 0 or hi > 255 or not np.array_equal(x, np.round(x)):
        hint = " (scaled to [0, 1]? store np.round(x * 255) as uint8)" if hi <= 1 else ""
        raise DataError(f"{where} is {x.dtype} with values in [{lo:g}, {hi:g}], not integer pixel values "
                        f"0-255{hint}")
    return x.astype(np.uint8)


def _labels(y: np.ndarray, n: int, where: str) -> np.ndarray:
    """``y`` as int64 labels 0-9, one per image (``n`` images), or a :class:`DataError` naming ``where``."""
    if not np.issubdtype(y.dtype, np.integer):
        raise DataError(f"{where} has dtype {y.dtype}, expected integer class labels 0-9")
    if y.ndim != 1:
        hint = " (flatten it: y.reshape(-1))" if y.size == n else ""
        raise DataError(f"{where} has shape {y.shape}, expected one label per image, shape ({n},){hint}")
    if len(y) != n:
        raise DataError(f"{where} has {len(y)} labels for {n} images")
    lo, hi = int(y.min()), int(y.max())
    if lo < 0 or hi > 9:
        raise DataError(f"{where} has labels in [{lo}, {hi}], expected 0-9")
    return y.astype(np.int64)


def _size(p: Path) -> str:
    try:
        return f"{p.stat().st_size:,} bytes"
    except OSError:
        return "unreadable"


def _read_npz(loc: Path) -> Arrays:
    try:
        with np.load(loc, allow_pickle=False) as d:
            missing = set(ARRAY_NAMES) - set(d.files)
            if missing:
                raise DataError(f"{loc} lacks arrays {sorted(missing)}; it has {d.files}")
            raw = {k: d[k] for k in ARRAY_NAMES}
        for k, v in raw.items():
            if not isinstance(v, np.ndarray):
                raise DataError(f"{loc}: member {k!r} is not a numpy array (it holds {type(v).__name__}); "
                                "store every member with np.savez")
    except DataError:
        raise
    except Exception as exc:  # zipfile.BadZipFile, EOFError, ValueError, zlib.error, OSError, AttributeError ...
        raise DataError(f"{loc} ({_size(loc)}) cannot be read as a .npz archive ({type(exc).__name__}: {exc}); "
                        "it may be truncated, empty or not a .npz file") from exc
    xtr, xte = _images(raw["x_train"], f"{loc}: x_train"), _images(raw["x_test"], f"{loc}: x_test")
    return Arrays(xtr, _labels(raw["y_train"], len(xtr), f"{loc}: y_train"),
                  xte, _labels(raw["y_test"], len(xte), f"{loc}: y_test"))


class _BatchUnpickler(pickle.Unpickler):
    """Unpickles a CIFAR-10 batch and nothing else: dicts, lists, bytes, strings, numbers and numpy
    arrays. Any other global a pickle names (a function to call, a class to build) is refused, so a
    crafted batch file cannot run code."""

    ALLOWED = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
               ("numpy", "ndarray"), ("numpy", "dtype"),
               ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
               ("_codecs", "encode")}  # how protocol-2 pickles from Python 3 store bytes (text -> bytes, no code)

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"refused global {module}.{name}: a CIFAR-10 batch holds only "
                                         "dicts, lists, bytes, numbers and numpy arrays")
        return super().find_class(module, name)


def load_batch_pickle(f: Path) -> Any:
    """The object pickled in CIFAR-10 batch file ``f``, read with :class:`_BatchUnpickler` (latin-1 for
    the original Python 2 pickles)."""
    with open(f, "rb") as fh:
        return _BatchUnpickler(fh, encoding="latin1").load()


def _read_batch(f: Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    try:
        d = load_batch_pickle(f)
        x, y = np.asarray(d["data"]), np.asarray(d["labels"])
    except Exception as exc:  # UnpicklingError, EOFError, KeyError, TypeError ...
        raise DataError(f"{f} ({_size(f)}) cannot be read as a CIFAR-10 pickle batch (a dict with 'data' and "
                        f"'labels'): {type(exc).__name__}: {exc}") from exc
    if x.ndim != 2 or x.shape[1] != 3 * 32 * 32:
        raise DataError(f"{f}: data has shape {x.shape}, expected (N, 3072) rows of channel-first pixels")
    x = _images(x.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1), f"{f}: data (x_{split})")
    return x, _labels(y, len(x), f"{f}: labels (y_{split})")


def _read_batches_dir(folder: Path) -> Arrays:
    missing = [n for n in BATCH_FILES if not (folder / n).is_file()]
    if missing:
        raise DataError(f"{folder} lacks {', '.join(missing)}: a cifar-10-batches-py folder holds all of "
                        f"{', '.join(BATCH_FILES)}")
    parts = [_read_batch(folder / n, "train") for n in BATCH_FILES[:-1]]
    xt, yt = _read_batch(folder / "test_batch", "test")
    return Arrays(np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]), xt, yt)


def _read_arrays(loc: Path) -> Arrays:
    """Read and check the arrays at a resolved location (uncached; every call reads the file)."""
    return _read_batches_dir(loc) if loc.is_dir() else _read_npz(loc)


def _stat_key(loc: Path) -> tuple[tuple[str, int, int, int], ...]:
    """(name, size, mtime_ns, ctime_ns) of the file, or of each batch file of a folder: what the memos key on."""
    files = [loc] if loc.is_file() else [loc / n for n in BATCH_FILES if (loc / n).exists()]
    return tuple((f.name, st.st_size, st.st_mtime_ns, st.st_ctime_ns) for f in files for st in [f.stat()])


@functools.lru_cache(maxsize=2)
def _arrays_at(loc: str, key: tuple) -> Arrays:
    return _read_arrays(Path(loc))


def load_cifar10_arrays(path: str | os.PathLike | None = None) -> Arrays:
    """Checked CIFAR-10 arrays from the location :func:`find_cifar10` picks (cached per process by the
    location and its files' size and times, so a changed file or ``CIFAR10_PATH`` is read afresh)."""
    loc = find_cifar10(path)
    return _arrays_at(str(loc), _stat_key(loc))


def class_counts(path: str | os.PathLike | None = None) -> dict[str, Any]:
    """Images per class of each split: ``{"path": ..., "train": {"airplane": n, ...}, "test": {...}}``."""
    a = load_cifar10_arrays(path)
    return {"path": str(find_cifar10(path)),
            **{s: dict(zip(CLASSES, np.bincount(y, minlength=10).tolist())) for s, y in
               (("train", a.y_train), ("test", a.y_test))}}


# ----------------------------------------------------------------------------------- identity
_FINGERPRINTS: dict[tuple[str, tuple], str] = {}


def _memo_file() -> Path:
    return paths.runs_dir() / "data-fingerprints.json"


def _read_memo() -> dict[str, Any]:
    try:
        memo = json.loads(_memo_file().read_text())
        return memo if isinstance(memo, dict) else {}
    except (OSError, ValueError):
        return {}


def _write_memo(loc: str, key: tuple, fp: str) -> None:
    """Add one entry to the memo file (atomically: a unique temporary file, then a rename). Best effort:
    a cache that cannot be written only costs a re-read in the next process."""
    f = _memo_file()
    memo = _read_memo()
    memo[loc] = {"files": [list(k) for k in key], "fingerprint": fp, "version": DIGEST_VERSION}
    try:
        f.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=f.parent, prefix=f".{f.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w") as fh:
                json.dump(memo, fh, indent=1, sort_keys=True)
            os.replace(tmp, f)
        except BaseException:
            os.unlink(tmp)
            raise
    except OSError:
        pass


def _digest(a: Arrays) -> str:
    h = hashlib.sha256()
    for name in ARRAY_NAMES:
        v = np.ascontiguousarray(getattr(a, name), dtype="<i8" if name.startswith("y") else np.uint8)
        h.update(f"{name} {v.dtype.str} {v.shape};".encode())
        h.update(v.data)
    return h.hexdigest()


def cifar10_fingerprint(path: str | os.PathLike | None = None, *, fresh: bool = False) -> str:
    """SHA-256 (64 hex digits) of the checked CIFAR-10 arrays at the location :func:`find_cifar10` picks.

    Memoised in the process and in ``runs/data-fingerprints.json`` by location, sizes and times, so only
    the first call for a file reads it; ``fresh=True`` reads and hashes it again (and updates the memo).
    """
    loc = find_cifar10(path)
    key = _stat_key(loc)
    if not fresh:
        if (str(loc), key) in _FINGERPRINTS:
            return _FINGERPRINTS[str(loc), key]
        rec = _read_memo().get(str(loc))
        if (isinstance(rec, dict) and rec.get("version") == DIGEST_VERSION
                and [tuple(k) for k in rec.get("files", [])] == list(key)):
            _FINGERPRINTS[str(loc), key] = rec["fingerprint"]
            return rec["fingerprint"]
    fp = _digest(_read_arrays(loc) if fresh else _arrays_at(str(loc), key))
    _FINGERPRINTS[str(loc), key] = fp
    _write_memo(str(loc), key, fp)
    return fp


def fingerprint(cfg: DataConfig, path: str | os.PathLike | None = None) -> str:
    """The identity of the data ``cfg`` names, as 64 hex digits: for CIFAR-10 a digest of the whole file's
    arrays (before subsetting; :func:`cifar10_fingerprint`), for Gaussian data a digest of the generator's
    definition and version (:data:`GAUSSIAN_DEFINITION`), for text the corpus and the windows' definition
    (:func:`lib.text_data.windows_fingerprint`; ``path`` is CIFAR-10's, the corpus is found as
    :func:`lib.text_data.find_brown` says). Part of every run's hash."""
    if cfg.is_text:
        return text_data.windows_fingerprint()
    return GAUSSIAN_FINGERPRINT if cfg.dataset == "gaussian" else cifar10_fingerprint(path)


def source_info(cfg: DataConfig, path: str | os.PathLike | None = None) -> dict[str, Any]:
    """Where ``cfg``'s data comes from, for a run's records: ``{"dataset", "path", "fingerprint"}``
    (``path`` is None for generated Gaussian data)."""
    loc = (None if cfg.dataset == "gaussian" else str(text_data.find_brown()) if cfg.is_text
           else str(find_cifar10(path)))
    return {"dataset": cfg.dataset, "path": loc, "fingerprint": fingerprint(cfg, path)}


def clear_caches() -> None:
    """Forget the arrays and fingerprints held in this process (the memo file stays)."""
    _arrays_at.cache_clear()
    _FINGERPRINTS.clear()


def flat_targets(out: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(logits, targets) as (predictions, classes) and (predictions,): images' (n, classes) and (n,) unchanged,
    text windows' (n, positions, vocab) and (n, positions) flattened to one prediction per position."""
    return out.reshape(-1, out.shape[-1]), y.reshape(-1)


# ----------------------------------------------------------------------------------- subsets
def balanced_indices(labels: np.ndarray, n: int, seed: int, num_classes: int = 10) -> np.ndarray:
    """Indices of ``n`` samples, ``n // num_classes`` per class (the remainder to the first classes),
    drawn without replacement by ``seed`` and returned in a shuffled order. ``n = 0`` means all."""
    if n > len(labels):
        raise DataError(f"asked for {n:,} images, the split holds only {len(labels):,}: "
                        "lower n_train / n_test, or use 0 for all of them")
    rng = np.random.default_rng(seed)
    if n == 0 or n == len(labels):
        return rng.permutation(len(labels))
    per = [n // num_classes + (1 if c < n % num_classes else 0) for c in range(num_classes)]
    out = []
    for c in range(num_classes):
        pool = np.flatnonzero(labels == c)
        if per[c] > len(pool):
            raise ValueError(f"asked for {per[c]} images of class {c}, only {len(pool)} exist")
        out.append(rng.choice(pool, size=per[c], replace=False))
    return rng.permutation(np.concatenate(out))


def normalise(x_uint8_nhwc: np.ndarray) -> torch.Tensor:
    """uint8 NHWC images -> float32 NCHW tensor, standardised per channel with CIFAR's mean and std."""
    x = torch.from_numpy(np.ascontiguousarray(x_uint8_nhwc)).permute(0, 3, 1, 2).float()
    mean = torch.tensor(CIFAR_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(CIFAR_STD).view(1, 3, 1, 1)
    return ((x - mean) / std).contiguous()


def gaussian_split(n: int, seed: int, num_classes: int = 10) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` images of CIFAR shape with i.i.d. N(0,1) pixels (i.e. already "normalised") and a
    uniformly random label each; the same ``seed`` always gives the same images and labels.
    Changing what this draws must change :data:`GAUSSIAN_DEFINITION`."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn((n, *IMAGE_SHAPE), generator=g)
    y = torch.randint(0, num_classes, (n,), generator=g)
    return x, y


def check_sizes(cfg: DataConfig) -> None:
    """ValueError when ``cfg``'s sizes cannot be loaded: Gaussian data has no "all" (0) size."""
    if cfg.dataset == "gaussian" and (cfg.n_train == 0 or cfg.n_test == 0):
        raise ValueError(f"gaussian data needs explicit n_train and n_test (> 0), got n_train={cfg.n_train}, "
                         f"n_test={cfg.n_test}")


def load_data(cfg: DataConfig, device: torch.device | str = "cpu", path: str | os.PathLike | None = None) -> DeviceData:
    """The train/test tensors that ``cfg`` names, on ``device``."""
    check_sizes(cfg)
    if cfg.is_text:
        xtr, ytr, xte, yte = (torch.from_numpy(a) for a in
                              text_data.windows(cfg.dataset, cfg.context, cfg.n_train, cfg.n_test, cfg.seed))
    elif cfg.dataset == "gaussian":
        xtr, ytr = gaussian_split(cfg.n_train, seed=2 * cfg.seed + 1_000_003)
        xte, yte = gaussian_split(cfg.n_test, seed=2 * cfg.seed + 1_000_004)
    else:
        a = load_cifar10_arrays(path)
        for field, n, y in (("n_train", cfg.n_train, a.y_train), ("n_test", cfg.n_test, a.y_test)):
            if n > len(y):
                raise DataError(f"{field}={n:,} asks for more images than {find_cifar10(path)} holds "
                                f"({len(y):,} in that split): lower it, or use 0 for all of them")
        itr = balanced_indices(a.y_train, cfg.n_train, seed=cfg.seed)
        ite = balanced_indices(a.y_test, cfg.n_test, seed=cfg.seed + 1)
        xtr, ytr = normalise(a.x_train[itr]), torch.from_numpy(a.y_train[itr])
        xte, yte = normalise(a.x_test[ite]), torch.from_numpy(a.y_test[ite])
    dev = torch.device(device)
    return DeviceData(xtr.to(dev), ytr.to(dev), xte.to(dev), yte.to(dev))
