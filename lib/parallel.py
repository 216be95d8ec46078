"""The one executor: train the missing runs of a plan in worker processes, stage after stage (parents
before children).

:func:`train` is the only code that trains runs into the cache (with the SLURM job of
:mod:`lib.cluster.slurm`, which trains one run per job); chapters, the build and ``python -m lib.cluster``
call it with a :data:`lib.plan.Plan`, and read the runs back with :func:`lib.runs.load`, which never
trains. With ``workers=1`` it trains in this process, one run after another; with
``workers=N`` it starts N processes (``spawn``: a new interpreter, never a fork of a process whose
torch already runs OpenMP threads) and hands each idle one a run of the current stage, so no two
workers get the same config; the next stage starts when every run of this one has landed. The run
cache's atomic landing (:mod:`lib.runs`) makes the concurrent runs safe. A run that fails stops the
others (their processes are terminated; their checkpoints stay, so the next call resumes them) and
raises :class:`RunFailed` with the run and its traceback.

Threads. The thread count changes a run's floats: a width-8 MLP trained with 1 and with 2 torch
threads gives metrics that differ in the 7th-8th significant digit (the same for a width-1370 MLP,
``resnet_small`` and ``vit_tiny``; each thread count on its own is deterministic). So a run's thread
count is fixed by its config (:func:`threads_per_run`), never by the load or the number of workers:
the same config trains to the same bits with 1 worker or N. Workers take runs only while the threads
of the runs in flight fit the cores, so there are never more threads than cores.
"""
from __future__ import annotations

import ctypes
import multiprocessing as mp
import os
import queue
import signal
import time
import traceback
from contextlib import contextmanager
from typing import Any, Callable, Iterator

import torch

from . import paths, runs, settings
from .config import TrainConfig, config_hash
from .plan import Plan, describe, distinct

#: Environment variable: the number of worker processes of the build and ``--executor local``.
WORKERS_ENV = settings.WORKERS
#: Environment variable: torch threads for every run, overriding :data:`THREAD_RULES` (at most the
#: cores). For comparisons only, e.g. the whole-book timing of the levers of issue 11 (2 threads,
#: one worker, as the book trained before its thread policy): the thread count changes a run's
#: floats in the 7th-8th digit, and the run cache does not record it in the hash.
THREADS_ENV = settings.THREADS
#: Thread settings a worker process is started with (torch reads them when it is imported).
THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS")
#: Torch threads per run by model, first matching rule: (arch, widest MLP the rule covers or None, threads).
#: Measured with ``benchmarks/threads.py`` on a quiet 2-core machine (see :func:`threads_per_run`): one
#: thread per run, runs side by side, wins for every model the cpu profile trains. A model no rule
#: covers (the paper's ``resnet50`` and ``vit``, never measured on a CPU) trains with every core.
THREAD_RULES: tuple[tuple[str, int | None, int], ...] = (
    ("mlp", None, 1), ("resnet_small", None, 1), ("vit_tiny", None, 1), ("gpt", None, 1))

Started = Callable[[TrainConfig], None]
Finished = Callable[[runs.Run, float], None]


class RunFailed(RuntimeError):
    """A run of :func:`train` raised (or its worker process died); names the run and holds the
    error line and the traceback."""

    def __init__(self, cfg: TrainConfig, error: str, trace: str):
        self.config, self.hash, self.error, self.trace = cfg, config_hash(cfg), error, trace
        super().__init__(f"run {self.hash} ({describe(cfg)}) failed: {error}\n{trace}".rstrip())


def cores() -> int:
    """The CPU cores this process may use (its affinity mask, e.g. a SLURM allocation; else all)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def default_workers() -> int:
    """Worker processes when none are asked for: ``$BOOK_WORKERS``, else 1 with a GPU (the runs would
    share it), else the number of cores (:func:`cores`; with one thread per run, see
    :data:`THREAD_RULES`, that many runs fit side by side). A ``$BOOK_WORKERS`` that is not a positive
    integer is a ValueError naming it."""
    chosen = settings.workers()
    if chosen is not None:
        return chosen
    return 1 if torch.cuda.is_available() else cores()


def threads_per_run(cfg: TrainConfig, n_cores: int | None = None) -> int:
    """Torch threads one run of ``cfg`` trains with on a machine of ``n_cores`` cores (default: this
    one's): the first rule of :data:`THREAD_RULES` that covers the model, else every core, at most ``n_cores``.
    It depends on the config only (and the cores), never on the number of workers or the load, because
    the thread count changes a run's floats (see the module docstring). ``$BOOK_THREADS``
    (:data:`THREADS_ENV`) overrides the rules for comparisons; a value that is not a positive integer is
    a ValueError naming it.

    Measured with ``python benchmarks/threads.py --seconds 6 --repeats 3`` on this project's 2-core
    machine, quiet (load 1.0), 2026-12-02, torch 2.14.1, without per-sample statistics; epochs per
    second, 1 and 2 threads, alone and beside a neighbour running the same; "2x1 / 1x2" is the
    throughput of two 1-thread processes in parallel over one 2-thread process (above 1: 1 thread per
    run with two workers is better)::

        model                    1 thr  2 thr  1 thr + neighbour  2 thr + neighbour  2x1 / 1x2
        mlp w=64    (5,000 img)   9.98  13.25  10.18               2.02              1.54
        mlp w=256   (5,000 img)   3.33   5.19   3.19               1.06              1.23
        mlp w=1370  (5,000 img)   0.28   0.48   0.27               0.13              1.12
        resnet_small (1,000 img)  0.43   0.78   0.40               0.16              1.03
        vit_tiny    (1,000 img)   1.38   2.37   1.34               0.63              1.13

    and for chapter 10's language model (``benchmarks/threads.py`` models ``gpt`` and ``gpt_wide``, 2026-12-06,
    load 0.2, ``--seconds 4 --repeats 3``; 1,000 windows of 64 characters)::

        gpt      (4 heads, ff 256)    0.65   0.93   0.65               0.15              1.40
        gpt_wide (16 heads, ff 1024)  0.17   0.28   0.17               0.06              1.19

    In a whole build the language model gained nothing from it: chapter 10's 39 runs of the 2026-12-07 cpu
    build (2 threads, one at a time) summed 10.3 min of run time; the same runs with one thread beside a
    neighbour (build of 02d5622) summed 20.9 min, twice as long each, so two workers broke even (the chapter's
    runs are 6 to 27 s, and what a run does besides its epochs, loading, evaluating, saving, does not share
    the cores as well as the benchmark's epochs do). The rule stays, as no slower either way.

    So one thread per run with two workers wins for every model (by 3 % for resnet_small up to 54 % for
    narrow MLPs), and a 2-thread run beside another process is 2-6x slower than alone: every model of
    the cpu profile gets one thread (:data:`THREAD_RULES`) and the build runs as many workers as cores
    (:func:`default_workers`). Models no rule covers take every core, so their workers run one at a
    time (their threads must fit the cores).
    """
    n_cores = cores() if n_cores is None else n_cores
    forced = settings.threads()
    if forced is not None:
        return min(forced, n_cores)
    threads = n_cores
    for arch, widest, n in THREAD_RULES:
        if cfg.model.arch == arch and (widest is None or cfg.model.width <= widest):
            threads = n
            break
    return max(1, min(threads, n_cores))


@contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """Run the block with ``n`` torch threads, then restore the count it had."""
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


@contextmanager
def _environment(**values: str) -> Iterator[None]:
    """Set environment variables for the block (a spawned process inherits them), then restore them."""
    before = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in before.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def train(plan: Plan, *, workers: int = 1, on_start: Started | None = None, on_finish: Finished | None = None,
          n_cores: int | None = None) -> None:
    """Train every run of ``plan`` that is not cached, stage after stage, the missing runs of a stage in
    ``workers`` processes (1: in this process), each with :func:`threads_per_run` threads. Calls
    ``on_start(cfg)`` as a missing run starts and ``on_finish(run, seconds)`` as it lands (seconds: its
    training, as the worker measured it); a plan whose runs are all cached costs one check per run and
    calls neither. Read the runs with :func:`lib.runs.load`. A failing run raises :class:`RunFailed`
    (the other workers are terminated first)."""
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be a whole number >= 1, got {workers!r}")
    n_cores = cores() if n_cores is None else n_cores
    on_start = on_start or (lambda cfg: None)
    on_finish = on_finish or (lambda run, seconds: None)
    pool = _Pool(workers, n_cores) if workers > 1 else None
    try:
        for stage in plan:
            todo = [c for c in distinct([stage]) if runs.hit(c) is None]
            if pool is None or len(todo) == 1:
                _train_here(todo, n_cores, on_start, on_finish)
            else:
                pool.train(todo, on_start, on_finish)
    finally:
        if pool is not None:
            pool.close()


def _train_here(todo: list[TrainConfig], n_cores: int, on_start: Started, on_finish: Finished) -> None:
    """Train ``todo`` one after another in this process."""
    for cfg in todo:
        on_start(cfg)
        t0 = time.perf_counter()
        try:
            with torch_threads(threads_per_run(cfg, n_cores)):
                run = runs.train_run(cfg)
        except Exception as exc:
            raise RunFailed(cfg, f"{type(exc).__name__}: {exc}", traceback.format_exc()) from exc
        on_finish(run, run.info.get("train_seconds", time.perf_counter() - t0))


#: Linux's ``prctl`` option that sends the calling process a signal when its parent dies.
PR_SET_PDEATHSIG = 1


def die_with_parent(parent: int) -> bool:
    """In a worker process: ask the kernel (Linux ``prctl(PR_SET_PDEATHSIG, SIGTERM)``) to end it when the
    process ``parent`` that started it dies, however it dies. A build stopped by SIGTERM or SIGKILL runs no
    clean-up, and a worker left behind would go on training into the cache, beside the next build. Ends at
    once when ``parent`` is already gone. False where the call is not available (not Linux)."""
    if not os.uname().sysname == "Linux":
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0) != 0:
            return False
    except (OSError, AttributeError):
        return False
    if os.getppid() != parent:  # the parent died before the request was in place
        os._exit(1)
    return True


def _work(tasks: Any, results: Any, parent: int) -> None:
    """A worker process: train each (index, config, threads) it is given; report ('done', index,
    training seconds) or ('failed', index, error line, traceback). ``None`` ends it; so does the death of
    the process ``parent`` (:func:`die_with_parent`)."""
    die_with_parent(parent)
    while (task := tasks.get()) is not None:
        index, cfg, threads = task
        torch.set_num_threads(threads)
        t0 = time.perf_counter()
        try:
            run = runs.train_run(cfg)
            results.put(("done", index, run.info.get("train_seconds", time.perf_counter() - t0)))
        except BaseException as exc:  # noqa: BLE001 - reported to the parent, which stops everything
            results.put(("failed", index, f"{type(exc).__name__}: {exc}", traceback.format_exc()))
            if not isinstance(exc, Exception):
                raise


class _Pool:
    """Worker processes (spawned on first need, reused across stages) and the cores they may use."""

    def __init__(self, size: int, n_cores: int):
        self.size, self.n_cores = size, n_cores
        self.ctx = mp.get_context("spawn")
        self.results = self.ctx.Queue()
        self.procs: list[Any] = []
        self.tasks: list[Any] = []
        self.busy: dict[int, int] = {}  # worker -> index of the run it trains

    def _start(self) -> int:
        """Start one more worker; returns its number. Torch in it starts with its share of the cores."""
        share = str(max(1, self.n_cores // self.size))
        tasks = self.ctx.Queue()
        proc = self.ctx.Process(target=_work, args=(tasks, self.results, os.getpid()), daemon=True,
                                name=f"book-worker-{len(self.procs)}")
        with _environment(**{v: share for v in THREAD_VARIABLES}):
            proc.start()
        self.procs.append(proc)
        self.tasks.append(tasks)
        return len(self.procs) - 1

    def train(self, todo: list[TrainConfig], on_start: Started, on_finish: Finished) -> None:
        """Train the runs of one stage, each worker one run at a time, within the cores."""
        threads = [threads_per_run(c, self.n_cores) for c in todo]
        waiting = list(range(len(todo)))
        busy = self.busy
        while waiting or busy:
            while waiting and sum(threads[i] for i in busy.values()) + threads[waiting[0]] <= self.n_cores:
                idle = [w for w in range(len(self.procs)) if w not in busy]
                if not idle and len(self.procs) >= self.size:
                    break
                w = idle[0] if idle else self._start()
                i = waiting.pop(0)
                busy[w] = i
                on_start(todo[i])
                self.tasks[w].put((i, todo[i], threads[i]))
            try:
                kind, i, *rest = self.results.get(timeout=0.5)
            except queue.Empty:
                for w, i in busy.items():
                    if not self.procs[w].is_alive():
                        raise RunFailed(todo[i], f"its worker process died (exit code {self.procs[w].exitcode})", "")
                continue
            del busy[next(w for w, j in busy.items() if j == i)]
            if kind == "failed":
                raise RunFailed(todo[i], rest[0], rest[1])
            on_finish(runs.Run(todo[i], paths.run_dir(config_hash(todo[i]))), float(rest[0]))

    def close(self) -> None:
        """End the workers: idle ones are told to stop, busy ones (after a failure) terminated."""
        for w, (proc, tasks) in enumerate(zip(self.procs, self.tasks)):
            if w in self.busy:
                proc.terminate()
            elif proc.is_alive():
                tasks.put(None)
        deadline = time.monotonic() + 5
        for proc in self.procs:
            proc.join(timeout=max(0.0, deadline - time.monotonic()))
            if proc.is_alive():
                proc.terminate()
                proc.join(timeout=5)
        self.results.close()
