"""The run cache: a finished run lives in ``runs/train/<hash>/``, named by a hash of its config.

Only fields that differ from their defaults enter the hash (as in open_lth), so adding a new
field with a default keeps every old run reachable. A run folder holds ``config.json``,
``metrics.csv``, ``model.pt`` (final weights) and whatever its callbacks wrote (gradient
statistics, diffs, tracked parameters). A run is trained in a temporary sibling folder and renamed
into place only when complete: an interrupted or crashed run leaves nothing that looks finished.
While it trains it checkpoints every epoch into ``runs/train/.ckpt-<hash>/`` (see :mod:`lib.train`);
the next :func:`get_or_train` of the same config resumes from there, and the folder is deleted
once the run has landed.

This module is the runner (as in open_lth): it resolves what a config refers to, the run whose
weights it starts from (``init_from``, :func:`initial_model`) and the parent its mask is derived
from (:func:`mask_for`), training those first when they are missing, and hands the trainer a built
model and the mask tensors. :mod:`lib.train` and :mod:`lib.masks` never import this module.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import torch
from torch import nn

from . import masks, paths
from .config import MaskConfig, Stages, TrainConfig, config_dict, config_hash
from .models import build_model
from .train import default_device, fresh_model, train

#: How many runs this process actually trained (cache misses); tests read it.
TRAIN_COUNT = 0


@dataclass(frozen=True)
class Run:
    """A finished run in the cache."""

    config: TrainConfig
    path: Path

    @property
    def hash(self) -> str:
        return self.path.name

    @property
    def metrics(self) -> pd.DataFrame:
        """Per-epoch metrics (epoch 0 = initialisation)."""
        return pd.read_csv(self.path / "metrics.csv")

    def state_dict(self) -> dict[str, torch.Tensor]:
        """Final weights (on the CPU)."""
        return torch.load(self.path / "model.pt", map_location="cpu", weights_only=True)

    def load_model(self, device: torch.device | str = "cpu") -> nn.Module:
        """The trained network."""
        m = build_model(self.config.model)
        m.load_state_dict(self.state_dict())
        return m.to(device)

    @property
    def info(self) -> dict[str, Any]:
        """How the run was made (see :func:`write_info`); empty for runs cached before it existed."""
        p = self.path / "info.json"
        return json.loads(p.read_text()) if p.exists() else {}

    def file(self, name: str) -> Path:
        """Path of a file the run wrote; raises if the run did not write it."""
        p = self.path / name
        if not p.exists():
            raise FileNotFoundError(f"run {self.hash} has no {name}; it has {sorted(x.name for x in self.path.iterdir())}")
        return p


def write_info(folder: Path, seconds: float, device: torch.device) -> None:
    """``info.json``: how the run was made (wall seconds of this process's training, resumed
    checkpoints not counted before the resume; device; torch version and threads). Not part of the
    config hash: it describes the machine, not the experiment."""
    info = {"train_seconds": round(seconds, 2), "device": str(device), "torch": torch.__version__,
            "threads": torch.get_num_threads(), "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    (folder / "info.json").write_text(json.dumps(info, indent=1))


def is_cached(cfg: TrainConfig) -> bool:
    """Whether a finished run for ``cfg`` exists."""
    return (paths.run_dir(config_hash(cfg)) / "metrics.csv").exists()


def initial_model(cfg: TrainConfig) -> nn.Module:
    """The network ``cfg`` starts from, before any mask: a fresh initialisation seeded by ``cfg.seed``,
    or the final weights of ``cfg.init_from`` (trained first if not cached)."""
    if cfg.init_from is None:
        return fresh_model(cfg)
    if cfg.init_from.model != cfg.model:
        raise ValueError(f"init_from has model {cfg.init_from.model}, this run has {cfg.model}")
    weights = get_or_train(cfg.init_from, progress=False).state_dict()
    model = fresh_model(cfg)
    model.load_state_dict(weights)
    return model


def mask_for(cfg: MaskConfig) -> masks.Mask:
    """The keep-mask ``cfg`` describes, from the mask cache (:func:`lib.masks.cached_mask`); its parent
    run is loaded, or trained first, only when the mask must be computed and its method needs it."""
    if cfg.parent is None:
        raise ValueError("MaskConfig.parent is None: a mask needs the parent run it is derived from")
    return masks.cached_mask(cfg, lambda: get_or_train(cfg.parent, progress=False))


def get_or_train(cfg: TrainConfig, *, device: torch.device | None = None, progress: bool = True) -> Run:
    """The cached run for ``cfg``, training it first (atomically) when it is not cached."""
    global TRAIN_COUNT
    device = device or default_device()
    h = config_hash(cfg)
    final = paths.run_dir(h)
    if (final / "metrics.csv").exists():
        return Run(cfg, final)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.parent / f".tmp-{h}-{os.getpid()}-{time.time_ns()}"
    tmp.mkdir()
    try:
        (tmp / "config.json").write_text(json.dumps(config_dict(cfg, non_default_only=False), indent=1))
        started = time.perf_counter()
        model, metrics = train(cfg, tmp, model=initial_model(cfg),
                               mask=mask_for(cfg.mask) if cfg.mask is not None else None,
                               device=device, progress=progress, checkpoint_dir=paths.checkpoint_dir(h))
        torch.save({k: v.detach().cpu() for k, v in model.state_dict().items()}, tmp / "model.pt")
        metrics.to_csv(tmp / "metrics.csv", index=False)
        write_info(tmp, time.perf_counter() - started, device)
        TRAIN_COUNT += 1
        try:
            os.rename(tmp, final)
        except OSError:  # another process finished the same run first
            if not (final / "metrics.csv").exists():
                raise
            shutil.rmtree(tmp, ignore_errors=True)
    except BaseException:  # the checkpoint stays: the next call resumes from it
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    shutil.rmtree(paths.checkpoint_dir(h), ignore_errors=True)
    return Run(cfg, final)


def train_stages(stages: Stages, *, progress: bool = False) -> list[Run]:
    """Get or train every config of ``stages``, stage by stage (parents before children); returns the
    runs in plan order. Chapters call this with their plan before reading any run, so a notebook never
    trains a run its plan does not list."""
    return [get_or_train(cfg, progress=progress) for stage in stages for cfg in stage]
