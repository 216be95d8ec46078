"""Training: frozen configs and a plain loop that knows nothing about experiments.

A run is fully described by a :class:`TrainConfig`. The loop records, per epoch, train loss and
accuracy (running mean over the epoch's batches, model in train mode) and test loss and accuracy
(model in eval mode after the epoch). Row ``epoch = 0`` is the untrained network, with train
loss/accuracy evaluated in eval mode. Callbacks (gradient statistics, parameter tracking) run
after epoch 0 and every epoch after, and may add columns to the row or write files.

Masked runs keep masked weights exactly zero: the mask multiplies the weights at initialisation,
the gradients before every step and the weights after every step, so no optimiser state can
revive them. In MLPs, masked ``nn.Linear`` layers may instead run on sparse kernels
(:mod:`lib.sparse`: the weight exists only on the mask's pattern, the optimiser holds only kept
weights): ``BOOK_SPARSE`` (environment) ``0`` = never, ``1`` = always, ``auto`` (default) = where a
short measurement at the start of the run finds them faster. Both give the same run within float
tolerance (``tests/test_sparse.py``), so the choice is not part of the run's hash. Callbacks,
checkpoints and the returned model always see the ordinary network (``nn.Linear`` layers with full
weight tensors, zeros where masked): they look at it inside :meth:`TrainState.dense`, so there is one
state-dict format. A checkpoint records which layers ran sparse and a resumed run keeps that
choice, whatever ``BOOK_SPARSE`` says then, so it resumes bit-identically.

The loop (:func:`train`) is a few named parts: :func:`_start` (a fresh :class:`TrainState` or the
latest checkpoint's), :func:`_train_epoch` (one pass over the batches), :func:`_end_epoch` (test
metrics, the callbacks' columns, a checkpoint), then each callback's ``on_train_end``.

Checkpoints (``train(..., checkpoint_dir=...)``, which :func:`lib.runs.train_run` passes as
``runs/train/.ckpt-<hash>/``; :mod:`lib.checkpoint`): after epoch 0 and every epoch but the last,
the trainer writes the model, optimiser, metric rows, RNG states (global torch/CUDA/numpy/random
and the batch-order generator), every callback's ``state_dict()`` and a copy of the files the
callbacks wrote so far (with their SHA-256) into a new folder ``epoch-<n>-...``, then points the
file ``LATEST`` at it (``os.replace``, atomic) and deletes the previous one. The state holds plain
data only and is read with ``weights_only=True``. A later call with the same config and the same
callbacks resumes after that epoch, and ends with the same metrics, weights and files as an
uninterrupted run (on the CPU). A checkpoint that cannot be read, is another run's, or cannot be
restored (a file not matching its SHA-256, a state that does not fit) is set aside with a warning
naming it, and the run starts afresh. ``BOOK_CHECKPOINT_SECONDS`` (environment, default 0) skips a
checkpoint when the previous one is younger than that many seconds (for runs whose epochs take a
second); ``BOOK_CHECKPOINT=0`` (or ``off``, ``false``, ``no``; :mod:`lib.settings`) turns checkpoints
off. Callbacks without ``state_dict``/``load_state_dict`` turn them off too (with a warning). A
checkpoint that cannot be written (disk full) warns and the run goes on.
"""
from __future__ import annotations

import math
import random
import sys
import warnings
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol, cast

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from . import paths, settings
from .checkpoint import Checkpoint, from_plain, to_plain
from .config import OptimConfig, TrainConfig
from .data import DeviceData, flat_targets, load_data
from .models import build_model
from .sparse import SparseLayers, choose as choose_sparse
from .stats import StatsCallback


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


class Resumable(Protocol):
    """A callback that a checkpoint can hold: its state as tensors, numpy arrays, numbers, strings,
    lists, tuples and dicts (what :func:`lib.checkpoint.to_plain` stores)."""

    def state_dict(self) -> dict[str, Any]:
        ...

    def load_state_dict(self, state: dict[str, Any]) -> None:
        ...


def _is_resumable(cb: Callback) -> bool:
    return callable(getattr(cb, "state_dict", None)) and callable(getattr(cb, "load_state_dict", None))


def _resumable(cb: Callback) -> Resumable:
    """``cb`` as a :class:`Resumable` (TypeError naming it when it has no state_dict/load_state_dict)."""
    if not _is_resumable(cb):
        raise TypeError(f"callback {type(cb).__name__} has no state_dict/load_state_dict")
    return cast(Resumable, cb)


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
        np.savez(ctx.out_dir / paths.TRACKS_FILE, **{n: np.stack(v) for n, v in self.values.items()})

    def state_dict(self) -> dict[str, Any]:
        """The values recorded so far (for a checkpoint)."""
        return {"values": {n: list(v) for n, v in self.values.items()}}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continue from :meth:`state_dict`'s values."""
        if set(state["values"]) != set(self.names):
            raise ValueError(f"checkpoint tracks {sorted(state['values'])}, this run tracks {sorted(self.names)}")
        self.values = {n: list(state["values"][n]) for n in self.names}


class Snapshots:
    """Keeps the whole state dict after the chosen epochs (``weights_epoch<e>.pt``, e zero-padded to 4
    digits; epoch 0 = the initialisation), for masks made from the network as it was then."""

    def __init__(self, epochs: tuple[int, ...]):
        self.epochs = set(epochs)

    def on_epoch_end(self, epoch: int, model: nn.Module, ctx: EpochContext) -> dict[str, float]:
        if epoch in self.epochs:
            ctx.out_dir.mkdir(parents=True, exist_ok=True)
            state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
            torch.save(state, ctx.out_dir / paths.snapshot_name(epoch))
        return {}

    def on_train_end(self, model: nn.Module, ctx: EpochContext) -> None:
        return None

    def state_dict(self) -> dict[str, Any]:
        """Nothing: the snapshots written so far are files, which checkpoints keep."""
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Nothing to restore (see :meth:`state_dict`)."""


def default_device() -> torch.device:
    """CUDA when available, else CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def fresh_model(cfg: TrainConfig) -> nn.Module:
    """The network ``cfg`` describes, freshly initialised from ``cfg.seed`` (global torch RNG seeded first)."""
    torch.manual_seed(cfg.seed)
    return build_model(cfg.model)


def make_optimizer(cfg: OptimConfig, params: Any) -> torch.optim.Optimizer:
    """SGD (with momentum) or Adam over ``params``."""
    if cfg.name == "sgd":
        return torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay)
    return torch.optim.Adam(params, lr=cfg.lr, weight_decay=cfg.weight_decay)


#: Environment variable: one evaluation batch for every model, overriding :data:`EVAL_BATCH` (for
#: comparisons: ``BOOK_EVAL_BATCH=1024`` evaluates as the book did before the table existed).
EVAL_BATCH_ENV = settings.EVAL_BATCH
#: Samples per forward pass when :func:`evaluate` measures loss and accuracy, by device type and
#: architecture family (``"mlp"`` or ``"other"``: convolutions and attention). Measured with
#: ``python benchmarks/eval_batch.py`` (one thread, 1,000 CIFAR-10 test images, seconds per pass,
#: 2026-12-02): ``resnet_small`` 0.34-0.39 at 32 against 1.6-2.0 at 1,024 (activations of 1,024
#: images overflow the caches), ``vit_tiny`` 0.26-0.30 against 0.69-0.74; the width-1,370 MLP
#: prefers large batches (2,000 images: 0.46 s at 1,024, 0.72 s at 32). The logits of each sample
#: do not depend on the batch (eval mode; ``tests/test_foundation.py`` checks loss and accuracy across
#: batch sizes), so this is a speed setting and not part of a run's identity.
EVAL_BATCH: dict[tuple[str, str], int] = {("cpu", "mlp"): 1024, ("cpu", "other"): 32,
                                          ("cuda", "mlp"): 1024, ("cuda", "other"): 1024}


def eval_batch_size(arch: str, device: torch.device | str) -> int:
    """Samples per forward pass of :func:`evaluate` for a model of ``arch`` on ``device``:
    ``$BOOK_EVAL_BATCH`` when set (ValueError naming it unless a positive integer), else :data:`EVAL_BATCH`."""
    forced = settings.eval_batch()
    if forced is not None:
        return forced
    kind = torch.device(device).type
    return EVAL_BATCH.get((kind if kind == "cpu" else "cuda", "mlp" if arch == "mlp" else "other"), 1024)


@torch.inference_mode()
def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int = 1024) -> tuple[float, float]:
    """(mean cross-entropy loss in nats, accuracy in [0, 1]) of ``model`` in eval mode, ``batch_size``
    samples per forward pass; for text windows both are per predicted token (:func:`flat_targets`). The per-sample losses are summed in float64 in sample order, so the
    result does not depend on ``batch_size`` as long as the logits do not (they do not in eval mode)."""
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be an integer >= 1, got {batch_size!r}")
    was = model.training
    model.eval()
    losses, correct = [], 0
    try:
        for s in range(0, len(y), batch_size):
            out, target = flat_targets(model(x[s:s + batch_size]), y[s:s + batch_size])
            losses.append(F.cross_entropy(out, target, reduction="none"))
            correct += int((out.argmax(1) == target).sum())
    finally:
        model.train(was)
    n = max(1, y.numel())
    loss = float(torch.cat(losses).double().sum()) if losses else 0.0
    return loss / n, correct / n


@torch.no_grad()
def apply_mask(model: nn.Module, mask: dict[str, torch.Tensor]) -> None:
    """Zero the masked-out entries (mask False) of the named parameters, in place."""
    params = dict(model.named_parameters())
    for name, m in mask.items():
        params[name].mul_(m.to(params[name].device, params[name].dtype))


@torch.no_grad()
def _hold_mask(masked: list[tuple[nn.Parameter, torch.Tensor]], *, grads: bool) -> None:
    """Per training step: zero the masked-out gradient entries (``grads``) or weights, in place.
    ``masked`` pairs each parameter with its 0/1 mask in the parameter's dtype, made once per run."""
    for p, m in masked:
        t = p.grad if grads else p
        if t is not None:
            t.mul_(m)


def _sparse_choice(cfg: TrainConfig, model: nn.Module, keep: dict[str, torch.Tensor] | None,
                   device: torch.device, state: dict[str, Any] | None) -> list[str]:
    """Weight names of the masked layers that train on sparse kernels: a resumed run's checkpoint
    choice (none in checkpoints written before sparse kernels existed), else :func:`lib.sparse.choose`
    for MLPs (other architectures: none; their convolutions and attention stay masked dense)."""
    if state is not None:
        return [k for k in state.get("sparse", []) if keep is not None and k in keep]
    if keep is None or cfg.model.arch != "mlp":
        return []
    return choose_sparse(model, keep, batch=cfg.batch_size, optim=cfg.optim.name, device=device)


def build_callbacks(cfg: TrainConfig) -> list[Callback]:
    """The callbacks a config asks for: gradient statistics, parameter tracking and weight snapshots."""
    cbs: list[Callback] = []
    if cfg.stats.every > 0:
        cbs.append(StatsCallback(cfg.stats))
    if cfg.track:
        cbs.append(ParamTracker(cfg.track))
    if cfg.snapshots:
        cbs.append(Snapshots(cfg.snapshots))
    return cbs


# ------------------------------------------------------------------------- what training changes
@dataclass
class TrainState:
    """Everything training changes, epoch after epoch, and a checkpoint holds: the weights (with the
    masked layers chosen for sparse kernels swapped in), the optimiser, the batch order, the callbacks
    and the metric rows. Used as a context manager: the sparse layers are in while inside, and the
    model is the ordinary network again after (also when training fails)."""

    model: nn.Module
    sparse: SparseLayers | None  # masked layers on sparse kernels (they hold their mask by construction)
    masked: list[tuple[nn.Parameter, torch.Tensor]]  # the other masked parameters, with their 0/1 masks
    opt: torch.optim.Optimizer
    gen: torch.Generator  # the batch order
    callbacks: list[Callback]
    rows: list[dict[str, float]] = field(default_factory=list)
    epoch: int = -1  # the last epoch finished (-1: none, not even row 0)

    def dense(self) -> AbstractContextManager[nn.Module]:
        """The model as an ordinary network (``nn.Linear`` layers, full weights, zeros where masked)
        while inside: what callbacks, checkpoints and the caller see."""
        return self.sparse.as_dense() if self.sparse is not None else nullcontext(self.model)

    def __enter__(self) -> TrainState:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """The ordinary network again, for good (the sparse layers' values written into it)."""
        if self.sparse is not None:
            self.sparse.dense()

    def state_dict(self) -> dict[str, Any]:
        """The checkpoint of this state: tensors, numbers, strings, lists, tuples and dicts only, so it
        loads with ``torch.load(..., weights_only=True)`` (numpy arrays become tagged tensors)."""
        with self.dense() as model:
            weights = model.state_dict()  # the dense tensors themselves: going sparse again reads them only
        return {"model": weights, "optimizer": self.opt.state_dict(), "generator": self.gen.get_state(),
                "sparse": self.sparse.names if self.sparse is not None else [],
                "rows": to_plain(self.rows), "rng": to_plain(_rng_state()),
                "callbacks": [to_plain(_resumable(cb).state_dict()) for cb in self.callbacks], "epoch": self.epoch}

    def load_state_dict(self, saved: dict[str, Any]) -> None:
        """Continue from :meth:`state_dict`'s ``saved`` (also the global RNGs); raises when it does not fit."""
        with self.dense() as model:
            model.load_state_dict(saved["model"])
        self.opt.load_state_dict(saved["optimizer"])
        for cb, st in zip(self.callbacks, saved["callbacks"], strict=True):
            _resumable(cb).load_state_dict(from_plain(st))
        self.gen.set_state(saved["generator"].cpu())
        _set_rng_state(from_plain(saved["rng"]))
        self.rows = list(from_plain(saved["rows"]))
        self.epoch = int(saved["epoch"])


def _new_state(cfg: TrainConfig, model: nn.Module, mask01: dict[str, torch.Tensor] | None,
               sparse_names: list[str], callbacks: list[Callback]) -> TrainState:
    """The state at the start of training: the layers ``sparse_names`` swapped for sparse ones, the
    other masked parameters held by multiplication, a new optimiser and the seed's batch order."""
    params = dict(model.named_parameters())
    masked = [(params[k], m) for k, m in (mask01 or {}).items() if k not in sparse_names]
    layers = SparseLayers(model, {k: (mask01 or {})[k] for k in sparse_names}) if sparse_names else None
    opt = make_optimizer(cfg.optim, model.parameters())
    return TrainState(model, layers, masked, opt, torch.Generator().manual_seed(cfg.seed + 7919), callbacks)


def _rng_state() -> dict[str, Any]:
    return {"torch": torch.get_rng_state(), "numpy": np.random.get_state(), "random": random.getstate(),
            "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None}


def _set_rng_state(st: dict[str, Any]) -> None:
    torch.set_rng_state(st["torch"].cpu())
    np.random.set_state(st["numpy"])
    random.setstate(st["random"])
    if st.get("cuda") is not None and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([s.cpu() for s in st["cuda"]])


def _checkpointing(cfg: TrainConfig, cbs: list[Callback], checkpoint_dir: Path | None) -> Checkpoint | None:
    """The run's :class:`Checkpoint`, or None when checkpoints are off for it."""
    if checkpoint_dir is None or cfg.epochs == 0 or not settings.checkpoint_enabled():
        return None
    plain = [type(cb).__name__ for cb in cbs if not _is_resumable(cb)]
    if plain:
        warnings.warn(f"no checkpoints for this run: callback(s) {plain} have no state_dict/load_state_dict")
        return None
    key = repr(cfg) + "|" + ",".join(type(cb).__qualname__ for cb in cbs)
    return Checkpoint(checkpoint_dir, key, settings.checkpoint_seconds())


# ------------------------------------------------------------------------------------- the loop
def train(cfg: TrainConfig, out_dir: Path, *, model: nn.Module | None = None,
          mask: dict[str, torch.Tensor] | None = None, device: torch.device | None = None, progress: bool = True,
          callbacks: list[Callback] | None = None,
          checkpoint_dir: Path | None = None, data: DeviceData | None = None) -> tuple[nn.Module, pd.DataFrame]:
    """Train one run; files written by callbacks go to ``out_dir``. Returns (model, per-epoch metrics).

    model: the network to start from (built and initialised by the caller: :func:`lib.runs.initial_model`
    resolves ``cfg.init_from``); None = :func:`fresh_model`, allowed only when ``cfg.init_from`` is None.
    mask: the keep-mask (True = kept) of ``cfg.mask``, computed by the caller (:func:`lib.runs.mask_for`);
    required exactly when ``cfg.mask`` is set. The trainer knows nothing of parents or scorers.

    Deterministic on CPU for a given config: the seed fixes the initialisation and the batch order.
    With ``checkpoint_dir`` the run checkpoints after every epoch and resumes from the latest
    checkpoint found there (see the module docstring); the caller deletes the folder when done.
    data: the tensors to train on instead of ``cfg.data``'s (the plan check, :mod:`lib.book.dryrun`,
    passes a small stand-in of the right shapes).
    """
    device = device or default_device()
    model = _starting_model(cfg, model, mask)
    whole = data is not None or cfg.data.n_test == 0  # the test split final_test scores is the one in hand
    data = load_data(cfg.data, device) if data is None else data
    model, mask01 = _masked(model, mask, device)
    ctx = EpochContext(cfg, data, out_dir, device)
    extra = list(callbacks or [])
    cbs = build_callbacks(cfg) + extra
    store = _checkpointing(cfg, cbs, checkpoint_dir)
    eval_batch = eval_batch_size(cfg.model.arch, device)
    with _start(ctx, model, mask01, store, cbs, extra) as state:
        if state.epoch < 0:  # a fresh run: row 0 is the untrained network, train metrics in eval mode
            _end_epoch(state, ctx, store, 0, evaluate(model, data.x_train, data.y_train, eval_batch), eval_batch)
        bar = tqdm(range(state.epoch + 1, cfg.epochs + 1), desc=f"{cfg.model.arch} {cfg.data.dataset}",
                   disable=not progress, leave=False)
        for epoch in bar:
            _end_epoch(state, ctx, store, epoch, _train_epoch(state, ctx, epoch), eval_batch)
            bar.set_postfix(loss=f"{state.rows[-1]['train_loss']:.3f}", test_acc=f"{state.rows[-1]['test_acc']:.3f}")
        if cfg.final_test:
            state.rows[-1].update(final_test_metrics(state.model, cfg, data if whole else None, device, eval_batch))
    for cb in state.callbacks:
        cb.on_train_end(model, ctx)
    return model, pd.DataFrame(state.rows)


def final_test_metrics(model: nn.Module, cfg: TrainConfig, whole: DeviceData | None, device: torch.device,
                       eval_batch: int) -> dict[str, float]:
    """``final_test_loss``, ``final_test_acc`` and ``final_test_n`` of ``model`` on the whole test split of
    ``cfg.data`` (:attr:`TrainConfig.final_test`), loaded here unless the caller holds it as ``whole`` (the run's
    data when ``n_test`` is 0 already, or the data it passed: the plan check's stand-ins)."""
    full = whole if whole is not None else load_data(replace(cfg.data, n_test=0), device)
    loss, acc = evaluate(model, full.x_test, full.y_test, eval_batch)
    return {"final_test_loss": loss, "final_test_acc": acc, "final_test_n": int(full.y_test.shape[0])}


def _starting_model(cfg: TrainConfig, model: nn.Module | None, mask: dict[str, torch.Tensor] | None) -> nn.Module:
    """``model``, or :func:`fresh_model` when None; ValueError when ``cfg.init_from`` needs a given
    model or the mask is not given exactly when ``cfg.mask`` is set."""
    if model is None:
        if cfg.init_from is not None:
            raise ValueError("cfg.init_from is set: pass the model built from its weights (lib.runs.initial_model)")
        model = fresh_model(cfg)
    if (mask is None) != (cfg.mask is None):
        raise ValueError("pass the mask exactly when cfg.mask is set (lib.runs.mask_for computes it)"
                         f"; cfg.mask is {'set' if cfg.mask is not None else 'None'}")
    return model


def _masked(model: nn.Module, mask: dict[str, torch.Tensor] | None,
            device: torch.device) -> tuple[nn.Module, dict[str, torch.Tensor] | None]:
    """``model`` on ``device`` with ``mask`` applied, and the mask as 0/1 in each parameter's dtype
    (converted once: the two multiplications per step then allocate nothing; None without a mask)."""
    model = model.to(device)
    if mask is None:
        return model, None
    params = dict(model.named_parameters())
    mask01 = {}
    for k, v in mask.items():
        if k not in params or params[k].shape != v.shape:
            raise ValueError(f"mask entry {k!r} {tuple(v.shape)} does not fit the model's parameters")
        mask01[k] = v.to(device=device, dtype=params[k].dtype)
    apply_mask(model, mask01)
    return model, mask01


def _start(ctx: EpochContext, model: nn.Module, mask01: dict[str, torch.Tensor] | None, store: Checkpoint | None,
           cbs: list[Callback], extra: list[Callback]) -> TrainState:
    """The state to train on from: the latest checkpoint's (:func:`_resumed`), else a fresh one with
    callbacks ``cbs``. A checkpoint that cannot be restored is set aside (warning naming it); the model
    and the global RNGs are then put back as they were, and the callbacks built anew (``extra``: the
    caller's)."""
    cfg, device = ctx.config, ctx.device
    saved = store.load(device) if store is not None else None
    if store is not None and saved is not None:
        start_weights, start_rng = {k: v.detach().clone() for k, v in model.state_dict().items()}, _rng_state()
        try:
            state = _resumed(ctx, model, mask01, store, cbs, saved)
        except Exception as exc:  # e.g. damaged, or written by older code: start afresh, from a clean state
            model.load_state_dict(start_weights)
            _set_rng_state(start_rng)
            store.set_aside(f"ignoring checkpoint {store.current} that cannot be restored ({type(exc).__name__}: {exc})")
            cbs = build_callbacks(cfg) + extra
        else:
            print(f"resuming {cfg.model.arch} {cfg.data.dataset} from its checkpoint after epoch {state.epoch} "
                  f"({store.current})", file=sys.stderr, flush=True)
            return state
    return _new_state(cfg, model, mask01, _sparse_choice(cfg, model, mask01, device, None), cbs)


def _resumed(ctx: EpochContext, model: nn.Module, mask01: dict[str, torch.Tensor] | None, store: Checkpoint,
             cbs: list[Callback], saved: dict[str, Any]) -> TrainState:
    """The state of checkpoint ``saved`` (the sparse layers it ran, whatever ``BOOK_SPARSE`` says now),
    with its files restored into ``ctx.out_dir``; raises, the model back on its ordinary layers, when
    it does not fit."""
    state = _new_state(ctx.config, model, mask01, _sparse_choice(ctx.config, model, mask01, ctx.device, saved), cbs)
    try:
        state.load_state_dict(saved)
        store.restore_files(ctx.out_dir, saved["files"])
    except BaseException:
        state.close()
        raise
    return state


def _train_epoch(state: TrainState, ctx: EpochContext, epoch: int) -> tuple[float, float]:
    """One pass over the training set in the batch order of ``state.gen``, masked weights held at zero;
    returns (mean loss in nats, accuracy), running over the epoch's batches with the model in train mode
    (per predicted token for text windows)."""
    model, opt, data = state.model, state.opt, ctx.data
    model.train()
    tot_loss = torch.zeros((), device=ctx.device, dtype=torch.float64)
    tot_correct = torch.zeros((), device=ctx.device, dtype=torch.int64)
    for xb, yb in data.train_batches(ctx.config.batch_size, state.gen):
        out, target = flat_targets(model(xb), yb)
        loss = F.cross_entropy(out, target)
        if not torch.isfinite(loss):
            raise FloatingPointError(f"non-finite training loss {loss.item()} at epoch {epoch}")
        opt.zero_grad(set_to_none=True)
        loss.backward()
        _hold_mask(state.masked, grads=True)
        opt.step()
        _hold_mask(state.masked, grads=False)
        tot_loss += loss.detach().double() * target.numel()
        tot_correct += (out.detach().argmax(1) == target).sum()
    n = data.y_train.numel()
    return tot_loss.item() / n, tot_correct.item() / n


def _end_epoch(state: TrainState, ctx: EpochContext, store: Checkpoint | None, epoch: int,
               train_metrics: tuple[float, float], eval_batch: int) -> None:
    """Row ``epoch`` of the metrics: ``train_metrics`` (loss, accuracy), the test loss and accuracy
    (eval mode; NaN without :attr:`TrainConfig.test_each_epoch`), then the callbacks' columns (they see the
    ordinary network); then a checkpoint, except after the last epoch (the run itself is saved then)."""
    te_loss, te_acc = (evaluate(state.model, ctx.data.x_test, ctx.data.y_test, eval_batch)
                       if ctx.config.test_each_epoch else (math.nan, math.nan))
    row = {"epoch": epoch, "train_loss": train_metrics[0], "train_acc": train_metrics[1],
           "test_loss": te_loss, "test_acc": te_acc}
    with state.dense() as model:
        for cb in state.callbacks:
            row.update(cb.on_epoch_end(epoch, model, ctx))
    state.rows.append(row)
    state.epoch = epoch
    if store is not None and epoch < ctx.config.epochs:
        store.save(epoch, state.state_dict(), ctx.out_dir)
