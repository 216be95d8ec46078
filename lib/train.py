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
weight tensors, zeros where masked). A checkpoint records which layers ran sparse and a resumed run
keeps that choice, whatever ``BOOK_SPARSE`` says then, so it resumes bit-identically.

Checkpoints (``train(..., checkpoint_dir=...)``, which :func:`lib.runs.get_or_train` passes as
``runs/train/.ckpt-<hash>/``): after epoch 0 and every epoch but the last, the trainer writes the
model, optimiser, metric rows, RNG states (global torch/CUDA/numpy/random and the batch-order
generator), every callback's ``state_dict()`` and a snapshot of the files the callbacks wrote so
far into a new folder ``epoch-<n>-...``, then points the file ``LATEST`` at it (``os.replace``,
atomic) and deletes the previous one. A later call with the same config and the same callbacks
resumes after that epoch, and ends with the same metrics, weights and files as an uninterrupted
run (on the CPU). ``BOOK_CHECKPOINT_SECONDS`` (environment, default 0) skips a checkpoint when the
previous one is younger than that many seconds (for runs whose epochs take a second);
``BOOK_CHECKPOINT=0`` turns checkpoints off. Callbacks without ``state_dict``/``load_state_dict``
turn them off too (with a warning). A checkpoint that cannot be written (disk full) warns and the
run goes on.
"""
from __future__ import annotations

import io
import math
import os
import random
import shutil
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from . import paths
from .config import MaskConfig, OptimConfig, StatsConfig, TrainConfig
from .data import DeviceData, load_data
from .models import build_model
from .sparse import SparseLayers, choose as choose_sparse

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
EVAL_BATCH_ENV = "BOOK_EVAL_BATCH"
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
    forced = os.environ.get(EVAL_BATCH_ENV, "").strip()
    if forced:
        if not forced.isdigit() or int(forced) < 1:
            raise ValueError(f"{EVAL_BATCH_ENV}={forced!r}: expected a positive whole number of samples per batch")
        return int(forced)
    kind = torch.device(device).type
    return EVAL_BATCH.get((kind if kind == "cpu" else "cuda", "mlp" if arch == "mlp" else "other"), 1024)


@torch.inference_mode()
def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int = 1024) -> tuple[float, float]:
    """(mean cross-entropy loss in nats, accuracy in [0, 1]) of ``model`` in eval mode, ``batch_size``
    samples per forward pass. The per-sample losses are summed in float64 in sample order, so the
    result does not depend on ``batch_size`` as long as the logits do not (they do not in eval mode)."""
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be an integer >= 1, got {batch_size!r}")
    was = model.training
    model.eval()
    losses, correct = [], 0
    try:
        for s in range(0, len(y), batch_size):
            out = model(x[s:s + batch_size])
            losses.append(F.cross_entropy(out, y[s:s + batch_size], reduction="none"))
            correct += int((out.argmax(1) == y[s:s + batch_size]).sum())
    finally:
        model.train(was)
    n = max(1, len(y))
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
        from .stats import StatsCallback

        cbs.append(StatsCallback(cfg.stats))
    if cfg.track:
        cbs.append(ParamTracker(cfg.track))
    if cfg.snapshots:
        cbs.append(Snapshots(cfg.snapshots))
    return cbs


def _file_stamps(folder: Path) -> dict[str, tuple[int, int]]:
    """Relative path -> (size, mtime in ns) of every file under ``folder``."""
    out: dict[str, tuple[int, int]] = {}
    for p in sorted(folder.rglob("*")):
        if p.is_file():
            st = p.stat()
            out[p.relative_to(folder).as_posix()] = (st.st_size, st.st_mtime_ns)
    return out


class Checkpoint:
    """The per-epoch checkpoints of one unfinished run in ``folder`` (see the module docstring).

    ``key`` identifies the run and its callbacks; a checkpoint with another key is ignored.
    """

    def __init__(self, folder: Path, key: str, min_seconds: float = 0.0):
        self.folder = Path(folder)
        self.key = key
        self.min_seconds = min_seconds
        self.current: Path | None = None  # the folder LATEST pointed at when we last read or wrote it
        self.stamps: dict[str, tuple[int, int]] = {}  # files of out_dir as they were at that checkpoint
        self.last_save = -math.inf

    def load(self, device: torch.device) -> dict[str, Any] | None:
        """The latest checkpoint's state, or None when there is none (or it is unreadable / another run's)."""
        try:
            name = (self.folder / "LATEST").read_text().strip()
        except FileNotFoundError:
            return None
        where = self.folder / name
        try:
            state = torch.load(where / "state.pt", map_location=device, weights_only=False)
        except Exception as exc:  # a checkpoint must never stop a run: start afresh
            warnings.warn(f"ignoring unreadable checkpoint {where}: {type(exc).__name__}: {exc}")
            return None
        if state.get("key") != self.key:
            warnings.warn(f"ignoring checkpoint {where}: it belongs to another config or set of callbacks")
            return None
        self.current = where
        return state

    def restore_files(self, out_dir: Path) -> None:
        """Copy the files of the loaded checkpoint into ``out_dir`` (the new temporary run folder)."""
        assert self.current is not None
        src = self.current / "files"
        for rel in _file_stamps(src):
            (out_dir / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src / rel, out_dir / rel)
        self.stamps = _file_stamps(out_dir)

    def save(self, epoch: int, state: dict[str, Any], out_dir: Path) -> bool:
        """Write a checkpoint after ``epoch`` unless the last one is younger than ``min_seconds``.
        Files of ``out_dir`` unchanged since the previous checkpoint are hard-linked, not copied.
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
            stamps = self._write(new, tmp, epoch, state, out_dir)
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
        self.current, self.stamps, self.last_save = new, stamps, time.monotonic()
        return True

    def _write(self, new: Path, tmp: Path, epoch: int, state: dict[str, Any], out_dir: Path) -> dict[str, tuple[int, int]]:
        """Write checkpoint folder ``new``, then point ``LATEST`` at it (via ``tmp``, atomically);
        returns the stamps of ``out_dir``'s files it holds."""
        (new / "files").mkdir(parents=True)
        stamps = _file_stamps(out_dir)
        for rel, stamp in stamps.items():
            dst = new / "files" / rel
            dst.parent.mkdir(parents=True, exist_ok=True)
            old = self.current / "files" / rel if self.current is not None else None
            if old is not None and self.stamps.get(rel) == stamp and old.exists():
                try:
                    os.link(old, dst)
                    continue
                except OSError:
                    pass
            shutil.copy2(out_dir / rel, dst)
        buffer = io.BytesIO()  # serialise first: a failing file write is then a plain OSError
        torch.save({**state, "key": self.key, "epoch": epoch}, buffer)
        with open(new / "state.pt", "wb") as f:
            f.write(buffer.getbuffer())
            f.flush()
            os.fsync(f.fileno())
        tmp.write_text(new.name)
        os.replace(tmp, self.folder / "LATEST")
        return stamps


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
    if checkpoint_dir is None or cfg.epochs == 0 or os.environ.get("BOOK_CHECKPOINT", "1") == "0":
        return None
    plain = [type(cb).__name__ for cb in cbs if not (hasattr(cb, "state_dict") and hasattr(cb, "load_state_dict"))]
    if plain:
        warnings.warn(f"no checkpoints for this run: callback(s) {plain} have no state_dict/load_state_dict")
        return None
    key = repr(cfg) + "|" + ",".join(type(cb).__qualname__ for cb in cbs)
    return Checkpoint(checkpoint_dir, key, float(os.environ.get("BOOK_CHECKPOINT_SECONDS", "0") or 0))


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
    if model is None:
        if cfg.init_from is not None:
            raise ValueError("cfg.init_from is set: pass the model built from its weights (lib.runs.initial_model)")
        model = fresh_model(cfg)
    if (mask is None) != (cfg.mask is None):
        raise ValueError("pass the mask exactly when cfg.mask is set (lib.runs.mask_for computes it)"
                         f"; cfg.mask is {'set' if cfg.mask is not None else 'None'}")
    data = load_data(cfg.data, device) if data is None else data
    model = model.to(device)
    keep = mask
    mask = {}
    if keep is not None:
        names = dict(model.named_parameters())
        for k, v in keep.items():
            if k not in names or names[k].shape != v.shape:
                raise ValueError(f"mask entry {k!r} {tuple(v.shape)} does not fit the model's parameters")
            # 0/1 in the parameter's dtype, converted once: the two multiplications per step then
            # allocate nothing (same values as multiplying by the boolean mask)
            mask[k] = v.to(device=device, dtype=names[k].dtype)
        apply_mask(model, mask)
    cbs = build_callbacks(cfg) + list(callbacks or [])
    ckpt = _checkpointing(cfg, cbs, checkpoint_dir)
    state = ckpt.load(device) if ckpt is not None else None
    sparse_names = _sparse_choice(cfg, model, keep, device, state)
    # sparse layers hold their mask by construction; the rest keep the two multiplications per step
    layers = SparseLayers(model, {k: keep[k] for k in sparse_names}) if sparse_names else None  # type: ignore[index]
    masked = [(names[k], m) for k, m in mask.items() if k not in sparse_names] if mask else []
    opt = make_optimizer(cfg.optim, model.parameters())
    ctx = EpochContext(cfg, data, out_dir, device)
    eval_batch = eval_batch_size(cfg.model.arch, device)
    gen = torch.Generator().manual_seed(cfg.seed + 7919)
    rows: list[dict[str, float]] = []

    def weights() -> dict[str, torch.Tensor]:  # always the dense format (model.pt's)
        return layers.state_dict() if layers is not None else model.state_dict()

    def finish_epoch(epoch: int, tr_loss: float, tr_acc: float) -> None:
        te_loss, te_acc = evaluate(model, data.x_test, data.y_test, eval_batch)
        row = {"epoch": epoch, "train_loss": tr_loss, "train_acc": tr_acc, "test_loss": te_loss, "test_acc": te_acc}
        if cbs and layers is not None:  # callbacks see the ordinary network
            layers.dense()
        for cb in cbs:
            row.update(cb.on_epoch_end(epoch, model, ctx))
        if cbs and layers is not None:
            layers.sparse()
        rows.append(row)

    def checkpoint(epoch: int) -> None:
        if ckpt is None or epoch >= cfg.epochs:  # after the last epoch the run itself is saved
            return
        ckpt.save(epoch, {"model": weights(), "optimizer": opt.state_dict(), "rows": rows, "sparse": sparse_names,
                          "generator": gen.get_state(), "rng": _rng_state(),
                          "callbacks": [cb.state_dict() for cb in cbs]}, out_dir)  # type: ignore[attr-defined]

    if state is not None:
        start_weights = {k: v.detach().clone() for k, v in weights().items()}
        try:
            if layers is not None:
                layers.load_state_dict(state["model"])
            else:
                model.load_state_dict(state["model"])
            opt.load_state_dict(state["optimizer"])
            for cb, st in zip(cbs, state["callbacks"]):
                cb.load_state_dict(st)  # type: ignore[attr-defined]
            gen.set_state(state["generator"].cpu())
            _set_rng_state(state["rng"])
        except Exception as exc:  # e.g. written by older code: start afresh, from a clean state
            warnings.warn(f"ignoring checkpoint {ckpt.current} that cannot be restored "  # type: ignore[union-attr]
                          f"({type(exc).__name__}: {exc}); training from the start")
            shutil.rmtree(checkpoint_dir, ignore_errors=True)  # type: ignore[arg-type]
            if layers is not None:
                layers.dense()
            model.load_state_dict(start_weights)
            return train(cfg, out_dir, model=model, mask=keep, device=device, progress=progress,
                         callbacks=callbacks, checkpoint_dir=checkpoint_dir, data=data)
        rows.extend(state["rows"])
        out_dir.mkdir(parents=True, exist_ok=True)
        ckpt.restore_files(out_dir)  # type: ignore[union-attr]
        first = int(state["epoch"]) + 1
        print(f"resuming {cfg.model.arch} {cfg.data.dataset} from its checkpoint after epoch {first - 1} "
              f"({ckpt.current})", file=sys.stderr, flush=True)  # type: ignore[union-attr]
    else:
        finish_epoch(0, *evaluate(model, data.x_train, data.y_train, eval_batch))
        checkpoint(0)
        first = 1
    bar = tqdm(range(first, cfg.epochs + 1), desc=f"{cfg.model.arch} {cfg.data.dataset}", disable=not progress,
               leave=False)
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
            _hold_mask(masked, grads=True)
            opt.step()
            _hold_mask(masked, grads=False)
            tot_loss += loss.detach().double() * len(yb)
            tot_correct += (out.detach().argmax(1) == yb).sum()
        finish_epoch(epoch, tot_loss.item() / data.n_train, tot_correct.item() / data.n_train)
        checkpoint(epoch)
        bar.set_postfix(loss=f"{rows[-1]['train_loss']:.3f}", test_acc=f"{rows[-1]['test_acc']:.3f}")
    if layers is not None:
        layers.dense()
    for cb in cbs:
        cb.on_train_end(model, ctx)
    return model, pd.DataFrame(rows)
