"""Training: frozen configs and a plain loop that knows nothing about experiments.

A run is fully described by a :class:`TrainConfig`. The loop records, per epoch, train loss and
accuracy (running mean over the epoch's batches, model in train mode) and test loss and accuracy
(model in eval mode after the epoch). Row ``epoch = 0`` is the untrained network, with train
loss/accuracy evaluated in eval mode. Callbacks (gradient statistics, parameter tracking) run
after epoch 0 and every epoch after, and may add columns to the row or write files.

Masked runs keep masked weights exactly zero: the mask multiplies the weights at initialisation,
the gradients before every step and the weights after every step, so no optimiser state can
revive them.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from .data import DataConfig, DeviceData, load_data
from .models import ModelConfig, build_model

OPTIMIZERS = ("sgd", "adam")


@dataclass(frozen=True)
class OptimConfig:
    """Optimiser: ``sgd`` (with ``momentum``) or ``adam``; constant learning rate ``lr``."""

    name: str = "adam"
    lr: float = 1e-4
    momentum: float = 0.0
    weight_decay: float = 0.0

    def __post_init__(self) -> None:
        if self.name not in OPTIMIZERS:
            raise ValueError(f"unknown optimiser {self.name!r}; known: {', '.join(OPTIMIZERS)}")
        if not self.lr > 0:
            raise ValueError(f"lr must be > 0, got {self.lr}")


@dataclass(frozen=True)
class StatsConfig:
    """Per-sample gradient statistics after chosen epochs (see :mod:`lib.stats`).

    every: compute after epoch 0 and every ``every`` epochs (0 = never; the last epoch always when on).
    max_samples: use the first ``max_samples`` training images (0 = the whole training set).
    backend: ``auto``, ``fast``, ``functorch`` or ``opacus``. bins: diff-histogram bins on [-1, 1].
    """

    every: int = 0
    max_samples: int = 0
    backend: str = "auto"
    bins: int = 50
    batch_size: int = 256


@dataclass(frozen=True)
class MaskConfig:
    """A pruning mask derived from a trained parent run (see :mod:`lib.masks`).

    method: ``diff`` (|diffs| at the parent's max-coherence epoch), ``magnitude`` (|final weights|)
    or ``random``. density: fraction of prunable weights KEPT. scope: ``global`` (one ranking, with a
    per-tensor ``floor``) or ``layer`` (each tensor keeps ``density``). invert: keep the lowest-ranked
    ("worst") entries. seed: for ``random``.
    """

    parent: "TrainConfig | None" = None
    method: str = "random"
    density: float = 0.1
    scope: str = "global"
    floor: float = 0.0
    invert: bool = False
    seed: int = 0
    min_size: int = 0


@dataclass(frozen=True)
class TrainConfig:
    """Everything that determines a training run; its hash names the run's folder (:mod:`lib.runs`).

    init_from: start from this other run's final weights instead of a fresh initialisation.
    mask: hold these weights at zero throughout training (the child of a pruning experiment).
    track: parameter names whose full values are recorded after every epoch (``tracks.npz``).
    """

    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    batch_size: int = 128
    epochs: int = 10
    seed: int = 0
    init_from: "TrainConfig | None" = None
    mask: MaskConfig | None = None
    stats: StatsConfig = field(default_factory=StatsConfig)
    track: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {self.batch_size}")
        if self.epochs < 0:
            raise ValueError(f"epochs must be >= 0, got {self.epochs}")


@dataclass
class EpochContext:
    """What a callback sees after an epoch: the config, the data, and the folder it may write into."""

    config: TrainConfig
    data: DeviceData
    out_dir: Path
    device: torch.device


class Callback(Protocol):
    """Runs after epoch 0 (initialisation) and after every training epoch."""

    def on_epoch_end(self, epoch: int, model: nn.Module, ctx: EpochContext) -> dict[str, float]:
        """Return extra metric columns for this epoch's row (may be empty)."""
        ...

    def on_train_end(self, model: nn.Module, ctx: EpochContext) -> None:
        """Write final files into ``ctx.out_dir``."""
        ...


class ParamTracker:
    """Records the full values of the named parameters after every epoch into ``tracks.npz``."""

    def __init__(self, names: tuple[str, ...]):
        self.names = names
        self.values: dict[str, list[np.ndarray]] = {n: [] for n in names}

    def on_epoch_end(self, epoch: int, model: nn.Module, ctx: EpochContext) -> dict[str, float]:
        params = dict(model.named_parameters())
        for n in self.names:
            if n not in params:
                raise KeyError(f"track: no parameter {n!r}; the model has {list(params)}")
            self.values[n].append(params[n].detach().cpu().numpy().copy())
        return {}

    def on_train_end(self, model: nn.Module, ctx: EpochContext) -> None:
        np.savez(ctx.out_dir / "tracks.npz", **{n: np.stack(v) for n, v in self.values.items()})


def default_device() -> torch.device:
    """CUDA when available, else CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def initial_model(cfg: TrainConfig) -> nn.Module:
    """The network ``cfg`` starts from, before any mask: a fresh initialisation seeded by ``cfg.seed``,
    or the final weights of ``cfg.init_from`` (trained first if not cached)."""
    torch.manual_seed(cfg.seed)
    model = build_model(cfg.model)
    if cfg.init_from is not None:
        from .runs import get_or_train

        if cfg.init_from.model != cfg.model:
            raise ValueError(f"init_from has model {cfg.init_from.model}, this run has {cfg.model}")
        model.load_state_dict(get_or_train(cfg.init_from).state_dict())
    return model


def make_optimizer(cfg: OptimConfig, params: Any) -> torch.optim.Optimizer:
    """SGD (with momentum) or Adam over ``params``."""
    if cfg.name == "sgd":
        return torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)
    return torch.optim.Adam(params, lr=cfg.lr, weight_decay=cfg.weight_decay)


@torch.no_grad()
def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int = 1024) -> tuple[float, float]:
    """(mean cross-entropy loss in nats, accuracy in [0, 1]) of ``model`` in eval mode."""
    was = model.training
    model.eval()
    loss, correct = 0.0, 0
    for s in range(0, len(y), batch_size):
        out = model(x[s:s + batch_size])
        loss += F.cross_entropy(out, y[s:s + batch_size], reduction="sum").item()
        correct += (out.argmax(1) == y[s:s + batch_size]).sum().item()
    model.train(was)
    n = max(1, len(y))
    return loss / n, correct / n


@torch.no_grad()
def apply_mask(model: nn.Module, mask: dict[str, torch.Tensor]) -> None:
    """Zero the masked-out entries (mask False) of the named parameters, in place."""
    params = dict(model.named_parameters())
    for name, m in mask.items():
        params[name].mul_(m.to(params[name].device, params[name].dtype))


def _mask_grads(model: nn.Module, mask: dict[str, torch.Tensor]) -> None:
    params = dict(model.named_parameters())
    for name, m in mask.items():
        if params[name].grad is not None:
            params[name].grad.mul_(m)


def build_callbacks(cfg: TrainConfig) -> list[Callback]:
    """The callbacks a config asks for: gradient statistics and parameter tracking."""
    cbs: list[Callback] = []
    if cfg.stats.every > 0:
        from .stats import StatsCallback

        cbs.append(StatsCallback(cfg.stats))
    if cfg.track:
        cbs.append(ParamTracker(cfg.track))
    return cbs


def train(cfg: TrainConfig, out_dir: Path, *, device: torch.device | None = None, progress: bool = True,
          callbacks: list[Callback] | None = None) -> tuple[nn.Module, pd.DataFrame]:
    """Train one run; files written by callbacks go to ``out_dir``. Returns (model, per-epoch metrics).

    Deterministic on CPU for a given config: the seed fixes the initialisation and the batch order.
    """
    device = device or default_device()
    data = load_data(cfg.data, device)
    model = initial_model(cfg).to(device)
    mask: dict[str, torch.Tensor] = {}
    if cfg.mask is not None:
        from .masks import mask_for

        mask = {k: v.to(device) for k, v in mask_for(cfg.mask).items()}
        names = dict(model.named_parameters())
        for k, v in mask.items():
            if k not in names or names[k].shape != v.shape:
                raise ValueError(f"mask entry {k!r} {tuple(v.shape)} does not fit the model's parameters")
        apply_mask(model, mask)
    opt = make_optimizer(cfg.optim, model.parameters())
    cbs = build_callbacks(cfg) + list(callbacks or [])
    ctx = EpochContext(cfg, data, out_dir, device)
    gen = torch.Generator().manual_seed(cfg.seed + 7919)
    rows: list[dict[str, float]] = []

    def finish_epoch(epoch: int, tr_loss: float, tr_acc: float) -> None:
        te_loss, te_acc = evaluate(model, data.x_test, data.y_test)
        row = {"epoch": epoch, "train_loss": tr_loss, "train_acc": tr_acc, "test_loss": te_loss, "test_acc": te_acc}
        for cb in cbs:
            row.update(cb.on_epoch_end(epoch, model, ctx))
        rows.append(row)

    finish_epoch(0, *evaluate(model, data.x_train, data.y_train))
    bar = tqdm(range(1, cfg.epochs + 1), desc=f"{cfg.model.arch} {cfg.data.dataset}", disable=not progress, leave=False)
    for epoch in bar:
        model.train()
        tot_loss = torch.zeros((), device=device, dtype=torch.float64)
        tot_correct = torch.zeros((), device=device, dtype=torch.int64)
        for xb, yb in data.train_batches(cfg.batch_size, gen):
            out = model(xb)
            loss = F.cross_entropy(out, yb)
            if not torch.isfinite(loss):
                raise FloatingPointError(f"non-finite training loss {loss.item()} at epoch {epoch}")
            opt.zero_grad(set_to_none=True)
            loss.backward()
            if mask:
                _mask_grads(model, mask)
            opt.step()
            if mask:
                apply_mask(model, mask)
            tot_loss += loss.detach().double() * len(yb)
            tot_correct += (out.detach().argmax(1) == yb).sum()
        finish_epoch(epoch, tot_loss.item() / data.n_train, tot_correct.item() / data.n_train)
        bar.set_postfix(loss=f"{rows[-1]['train_loss']:.3f}", test_acc=f"{rows[-1]['test_acc']:.3f}")
    for cb in cbs:
        cb.on_train_end(model, ctx)
    return model, pd.DataFrame(rows)
