"""Train a chapter's planned runs before its notebook executes, with progress a builder can read.

Plain, flushed lines (the same in a terminal and in a log file)::

    chapter 05: 70 runs planned, 12 in the cache, 58 to train; about 40 min
    chapter 05: [13/58] mlp w=1370 cifar10 seed 0 diff mask d=0.1, 2 epochs ...
    chapter 05: [13/58] mlp w=1370 cifar10 seed 0 diff mask d=0.1, 2 epochs ... 84 s; about 21 min left

The estimate multiplies the runs still to train by the mean recorded training time
(``info.json``'s ``train_seconds``) of the runs this chapter trained so far; before the first one
lands, of the chapter's planned runs already in the cache; with neither it says "estimating".
"""
from __future__ import annotations

import time
import traceback
from dataclasses import dataclass
from typing import Callable, Sequence

from .. import runs
from ..config import Stages, TrainConfig, config_hash
from .layout import BuildError

Out = Callable[[str], None]


def _print(line: str) -> None:
    print(line, flush=True)


@dataclass(frozen=True)
class Training:
    """What :func:`train_planned` did: distinct runs planned, found cached, trained; wall seconds."""

    planned: int
    cached: int
    trained: int
    seconds: float


def describe(cfg: TrainConfig) -> str:
    """A run in a few words: 'mlp w=1370 cifar10 seed 0 diff mask d=0.1, 2 epochs'."""
    m, mask = cfg.model, cfg.mask
    what = f"{m.arch} w={m.width}" if m.arch == "mlp" else m.arch
    what += f" {cfg.data.dataset} seed {cfg.seed}"
    if mask is not None:
        what += f" {mask.method}{' inverted' if mask.invert else ''} mask d={mask.density:g}"
    if cfg.init_from is not None:
        what += f" from {cfg.init_from.data.dataset} weights"
    return f"{what}, {cfg.epochs} epochs"


def about(seconds: float) -> str:
    """A rough duration: 'under a minute', 'about 21 min', 'about 3.4 h'."""
    if seconds < 60:
        return "under a minute"
    return f"about {seconds / 60:.0f} min" if seconds < 5400 else f"about {seconds / 3600:.1f} h"


def recorded_seconds(done: Sequence[runs.Run]) -> float | None:
    """Mean ``train_seconds`` the runs ``done`` recorded in their ``info.json``; None when none did."""
    secs = [r.info["train_seconds"] for r in done if "train_seconds" in r.info]
    return sum(secs) / len(secs) if secs else None


def distinct(stages: Stages) -> list[TrainConfig]:
    """The plan's configs in stage order, each once."""
    seen: dict[str, TrainConfig] = {}
    for stage in stages:
        for cfg in stage:
            seen.setdefault(config_hash(cfg), cfg)
    return list(seen.values())


def train_planned(key: str, stages: Stages, *, out: Out = _print) -> Training:
    """Train every run of chapter ``key``'s plan that is not cached, stage by stage
    (:func:`lib.runs.get_or_train`, no per-epoch bars), printing one line as each starts and ends.
    A run that fails raises BuildError naming the chapter, the run and the traceback."""
    planned = distinct(stages)
    todo = [c for c in planned if not runs.is_cached(c)]
    cached = [runs.get_or_train(c, progress=False) for c in planned if runs.is_cached(c)]
    head = f"chapter {key}: {len(planned)} runs planned, {len(cached)} in the cache, {len(todo)} to train"
    if todo:
        mean = recorded_seconds(cached)
        head += f"; {about(mean * len(todo))}" if mean is not None else "; estimating"
    out(head)
    t0 = time.perf_counter()
    trained: list[runs.Run] = []
    for i, cfg in enumerate(todo, 1):
        line = f"chapter {key}: [{i}/{len(todo)}] {describe(cfg)} ..."
        out(line)
        started = time.perf_counter()
        try:
            trained.append(runs.get_or_train(cfg, progress=False))
        except Exception as exc:
            raise BuildError(f"chapter {key}: training run {config_hash(cfg)} ({describe(cfg)}) failed: "
                             f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}") from None
        mean = recorded_seconds(trained) or (time.perf_counter() - t0) / i
        left = len(todo) - i
        out(f"{line} {time.perf_counter() - started:.0f} s; "
            + (f"{about(mean * left)} left" if left else "all trained"))
    _release_gpu_memory()
    return Training(len(planned), len(cached), len(trained), time.perf_counter() - t0)


def _release_gpu_memory() -> None:
    """Hand cached CUDA blocks back so the notebook's kernel, a separate process, can use them."""
    import torch

    if torch.cuda.is_available():
        torch.cuda.empty_cache()
