"""Train a chapter's planned runs before its notebook executes, with progress a builder can read.

Plain, flushed lines (the same in a terminal and in a log file)::

    chapter 05: 70 runs planned, 12 in the cache, 58 to train; about 40 min
    chapter 05: [13/58] mlp w=1370 cifar10 seed 0 diff mask d=0.1, 2 epochs ...
    chapter 05: [13/58] mlp w=1370 cifar10 seed 0 diff mask d=0.1, 2 epochs ... 84 s; about 21 min left

With several workers (``--workers``, :mod:`lib.parallel`) runs start and end interleaved; a run's
end line repeats its start line, number included. The estimate multiplies the runs still to train
by the mean recorded training time (``info.json``'s ``train_seconds``) of the runs this chapter
trained so far (before the first one lands, of the chapter's planned runs already in the cache;
with neither it says "estimating") and divides it among the workers.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable, Sequence

from .. import parallel, runs
from ..config import TrainConfig, config_hash
from ..plan import Plan, describe, distinct
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


def about(seconds: float) -> str:
    """A rough duration: 'under a minute', 'about 21 min', 'about 3.4 h'."""
    if seconds < 60:
        return "under a minute"
    return f"about {seconds / 60:.0f} min" if seconds < 5400 else f"about {seconds / 3600:.1f} h"


def recorded_seconds(done: Sequence[runs.Run]) -> float | None:
    """Mean ``train_seconds`` the runs ``done`` recorded in their ``info.json``; None when none did."""
    secs = [r.info["train_seconds"] for r in done if "train_seconds" in r.info]
    return sum(secs) / len(secs) if secs else None


def train_planned(key: str, plan: Plan, *, out: Out = _print, workers: int = 1) -> Training:
    """Train every run of chapter ``key``'s plan that is not cached, stage by stage, in ``workers``
    processes (the one executor, :func:`lib.parallel.train`; 1: in this process; no per-epoch bars),
    printing one line as each run starts and one as it ends; the estimate of the time left is divided
    among the workers. A run that fails raises BuildError naming the chapter, the run and the traceback."""
    planned = distinct(plan)
    todo = [c for c in planned if not runs.is_cached(c)]
    cached = [runs.load(c, chapter=key) for c in planned if runs.is_cached(c)]
    head = f"chapter {key}: {len(planned)} runs planned, {len(cached)} in the cache, {len(todo)} to train"
    if todo:
        mean = recorded_seconds(cached)
        head += f"; {about(mean * len(todo) / min(workers, len(todo)))}" if mean is not None else "; estimating"
    out(head)
    t0 = time.perf_counter()
    trained: list[runs.Run] = []
    lines: dict[str, tuple[str, float]] = {}  # run hash -> its start line, when it started

    def started(cfg: TrainConfig) -> None:
        line = f"chapter {key}: [{len(lines) + 1}/{len(todo)}] {describe(cfg)} ..."
        lines[config_hash(cfg)] = (line, time.perf_counter())
        out(line)

    def finished(run: runs.Run, seconds: float) -> None:
        trained.append(run)
        line, began = lines[run.hash]
        mean = recorded_seconds(trained) or (time.perf_counter() - t0) / len(trained)
        left = len(todo) - len(trained)
        out(f"{line} {time.perf_counter() - began:.0f} s; "
            + (f"{about(mean * left / min(workers, left))} left" if left else "all trained"))

    try:
        parallel.train(plan, workers=workers, on_start=started, on_finish=finished)
    except parallel.RunFailed as exc:
        raise BuildError(f"chapter {key}: training run {exc.hash} ({describe(exc.config)}) failed: "
                         f"{exc.error}\n{exc.trace}") from None
    _release_gpu_memory()
    return Training(len(planned), len(cached), len(trained), time.perf_counter() - t0)


def _release_gpu_memory() -> None:
    """Hand cached CUDA blocks back so the notebook's kernel, a separate process, can use them."""
    import torch

    if torch.cuda.is_available():
        torch.cuda.empty_cache()
