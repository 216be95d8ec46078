"""Datasets: real CIFAR-10 (subsets by class-balanced count) and the thesis's Gaussian "random data".

The whole dataset is held as tensors on the training device and batches are sliced from a
seeded permutation (as airbench does): no DataLoader, no worker processes.

Where CIFAR-10 is looked for, in this order:

1. an explicit ``path`` argument (a ``.npz`` file, a ``cifar-10-batches-py`` folder, or a folder
   holding either);
2. the environment variable ``CIFAR10_PATH`` (same forms);
3. the project's ``data/`` folder;
4. torchvision's download into ``data/`` (needs internet).
"""
from __future__ import annotations

import functools
import os
import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np
import torch

from . import paths

#: Per-channel mean and std of the official CIFAR-10 training set, in 0-255 pixel units.
CIFAR_MEAN = (125.307, 122.950, 113.865)
CIFAR_STD = (62.993, 62.089, 66.705)
CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
DATASETS = ("cifar10", "gaussian")
IMAGE_SHAPE = (3, 32, 32)


class DataNotFoundError(FileNotFoundError):
    """CIFAR-10 was not found in any of the places looked at."""


@dataclass(frozen=True)
class DataConfig:
    """Which data a run trains and evaluates on.

    dataset: ``"cifar10"`` (real images) or ``"gaussian"`` (N(0,1) pixels, random fixed labels).
    n_train, n_test: number of images (class-balanced for CIFAR-10; 0 means all of the split).
    seed: chooses the subset (CIFAR-10) or draws the images and labels (Gaussian).
    """

    dataset: str = "cifar10"
    n_train: int = 10000
    n_test: int = 2000
    seed: int = 0

    def __post_init__(self) -> None:
        if self.dataset not in DATASETS:
            raise ValueError(f"unknown dataset {self.dataset!r}; known: {', '.join(DATASETS)}")
        if self.n_train < 0 or self.n_test < 0:
            raise ValueError(f"n_train and n_test must be >= 0, got {self.n_train}, {self.n_test}")


@dataclass(frozen=True)
class Arrays:
    """Raw CIFAR-10 arrays: uint8 NHWC images, int64 labels."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


@dataclass(frozen=True)
class DeviceData:
    """A train and a test split as float tensors (N, 3, 32, 32) and int64 labels on one device."""

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


def _candidates(base: Path) -> list[Path]:
    """Files or folders under ``base`` that may hold CIFAR-10 in a format we read."""
    if base.is_file():
        return [base]
    return [base / "cifar-10-batches-py", base / "cifar10.npz", base / "cifar10-small.npz"]


def _readable(p: Path) -> bool:
    if p.is_file():
        return p.suffix == ".npz"
    return p.is_dir() and (p / "data_batch_1").exists() and (p / "test_batch").exists()


def find_cifar10(path: str | os.PathLike | None = None, *, download: bool = True) -> Path:
    """Return the first readable CIFAR-10 location (see the module docstring for the order).

    Raises :class:`DataNotFoundError` listing every place tried and how to fix it.
    """
    tried: list[str] = []
    sources: list[tuple[str, Path]] = []
    if path is not None:
        sources.append(("argument path", Path(path)))
    env = os.environ.get("CIFAR10_PATH")
    if env:
        sources.append(("$CIFAR10_PATH", Path(env)))
    sources.append(("project data/ folder", paths.data_dir()))
    for label, base in sources:
        for cand in _candidates(base):
            if _readable(cand):
                return cand
        tried.append(f"{label}: {base}")
    if download:
        try:
            import torchvision

            torchvision.datasets.CIFAR10(str(paths.data_dir()), train=True, download=True)
            cand = paths.data_dir() / "cifar-10-batches-py"
            if _readable(cand):
                return cand
        except Exception as exc:  # no internet, SSL, disk ...
            tried.append(f"torchvision download into {paths.data_dir()}: failed ({type(exc).__name__}: {exc})")
    raise DataNotFoundError(
        "CIFAR-10 was not found. Places tried:\n  - " + "\n  - ".join(tried)
        + "\nTo fix it, either\n"
        "  1. point at a copy: set CIFAR10_PATH (or pass path=) to a .npz with x_train, y_train, "
        "x_test, y_test (uint8 NHWC) or to a torchvision 'cifar-10-batches-py' folder; or\n"
        f"  2. run once with internet so torchvision downloads it into {paths.data_dir()}."
    )


def _load_batches_dir(folder: Path) -> Arrays:
    def read(name: str) -> tuple[np.ndarray, np.ndarray]:
        with open(folder / name, "rb") as f:
            d = pickle.load(f, encoding="latin1")
        x = np.asarray(d["data"], dtype=np.uint8).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
        return x, np.asarray(d["labels"], dtype=np.int64)

    parts = [read(f"data_batch_{i}") for i in range(1, 6) if (folder / f"data_batch_{i}").exists()]
    xt, yt = read("test_batch")
    return Arrays(np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]), xt, yt)


@functools.lru_cache(maxsize=2)
def load_cifar10_arrays(path: str | os.PathLike | None = None) -> Arrays:
    """Raw CIFAR-10 arrays from the location :func:`find_cifar10` picks (cached per process)."""
    loc = find_cifar10(path)
    if loc.is_dir():
        return _load_batches_dir(loc)
    with np.load(loc, allow_pickle=False) as d:
        missing = {"x_train", "y_train", "x_test", "y_test"} - set(d.files)
        if missing:
            raise ValueError(f"{loc} lacks arrays {sorted(missing)}; it has {d.files}")
        arr = Arrays(d["x_train"], d["y_train"].astype(np.int64), d["x_test"], d["y_test"].astype(np.int64))
    if arr.x_train.ndim != 4 or arr.x_train.shape[1:] != (32, 32, 3):
        raise ValueError(f"{loc}: x_train has shape {arr.x_train.shape}, expected (N, 32, 32, 3) uint8 NHWC")
    return arr


def balanced_indices(labels: np.ndarray, n: int, seed: int, num_classes: int = 10) -> np.ndarray:
    """Indices of ``n`` samples, ``n // num_classes`` per class (the remainder to the first classes),
    drawn without replacement by ``seed`` and returned in a shuffled order. ``n = 0`` means all."""
    rng = np.random.default_rng(seed)
    if n == 0 or n >= len(labels):
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
    uniformly random label each; the same ``seed`` always gives the same images and labels."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn((n, *IMAGE_SHAPE), generator=g)
    y = torch.randint(0, num_classes, (n,), generator=g)
    return x, y


def load_data(cfg: DataConfig, device: torch.device | str = "cpu", path: str | os.PathLike | None = None) -> DeviceData:
    """The train/test tensors that ``cfg`` names, on ``device``."""
    if cfg.dataset == "gaussian":
        if cfg.n_train == 0 or cfg.n_test == 0:
            raise ValueError("gaussian data needs explicit n_train and n_test (> 0)")
        xtr, ytr = gaussian_split(cfg.n_train, seed=2 * cfg.seed + 1_000_003)
        xte, yte = gaussian_split(cfg.n_test, seed=2 * cfg.seed + 1_000_004)
    else:
        a = load_cifar10_arrays(None if path is None else str(path))
        itr = balanced_indices(a.y_train, cfg.n_train, seed=cfg.seed)
        ite = balanced_indices(a.y_test, cfg.n_test, seed=cfg.seed + 1)
        xtr, ytr = normalise(a.x_train[itr]), torch.from_numpy(a.y_train[itr])
        xte, yte = normalise(a.x_test[ite]), torch.from_numpy(a.y_test[ite])
    dev = torch.device(device)
    return DeviceData(xtr.to(dev), ytr.to(dev), xte.to(dev), yte.to(dev))
