"""What per-epoch checkpoints cost: seconds per run of the book's run kinds trained through the run cache
(``lib.runs.train_run``, which checkpoints after every epoch) with ``BOOK_CHECKPOINT_SECONDS=0`` (a
checkpoint after every epoch, the default) against ``--interval`` seconds (a checkpoint only when the
last one is that old), side by side in one process.

Usage: python benchmarks/checkpoints.py [--epochs 6] [--repeats 3] [--interval 60] [--threads 1]
                                        [--kinds mlp1370,mlp1370child,resnet_child]

Kinds (cpu-profile sizes, CIFAR-10 from ``CIFAR10_PATH`` or ``data/``): ``mlp1370`` the dense width-1370
MLP with gradient statistics (a chapter-5 parent), ``mlp1370child`` its 10 %-kept random child,
``resnet_child`` a 10 %-kept random ``resnet_small`` child (chapter 6). Parents are trained once first
(not timed); each timed run starts from an empty run folder. Modes alternate within each repeat; the
table gives the median seconds, the ratio, and the checkpoints written per run. Checkpoints never
change a run's result (``tests/test_resume.py``): the interval only decides how much of an
interrupted run must be redone.
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch  # noqa: E402

from lib import paths, profiles, runs  # noqa: E402
from lib import train as T  # noqa: E402
from lib.config import MaskConfig, TrainConfig  # noqa: E402


def kinds(epochs: int) -> dict[str, tuple[TrainConfig, TrainConfig | None]]:
    """name -> (the run timed, its parent or None), at the cpu profile's sizes with ``epochs`` epochs."""
    p = profiles.get("cpu")
    parent = replace(profiles.mlp_config(p, 1370), epochs=epochs)
    child = replace(profiles.mlp_config(p, 1370, stats=False), epochs=epochs, seed=1000,
                    mask=MaskConfig(parent=parent, method="random", density=0.1))
    rparent = replace(profiles.large_config(p, "resnet_small"), epochs=2)
    rchild = replace(profiles.large_config(p, "resnet_small", stats=False), epochs=epochs, seed=1000,
                     mask=MaskConfig(parent=rparent, method="random", density=0.1))
    return {"mlp1370": (parent, None), "mlp1370child": (child, parent), "resnet_child": (rchild, rparent)}


def count_saves() -> list[int]:
    """Wrap :meth:`lib.train.Checkpoint._write` to count the checkpoints written; returns the counter."""
    counter = [0]
    write = T.Checkpoint._write

    def counted(self, *a, **kw):
        counter[0] += 1
        return write(self, *a, **kw)

    T.Checkpoint._write = counted
    return counter


def timed(cfg: TrainConfig, interval: float, counter: list[int]) -> tuple[float, int]:
    """Seconds to train ``cfg`` from an empty run folder with checkpoints at most every ``interval`` s,
    and the checkpoints written."""
    shutil.rmtree(paths.run_dir(runs.config_hash(cfg)), ignore_errors=True)
    os.environ["BOOK_CHECKPOINT_SECONDS"] = str(interval)
    before, t0 = counter[0], time.perf_counter()
    runs.train_run(cfg)
    return time.perf_counter() - t0, counter[0] - before


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--epochs", type=int, default=6)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--interval", type=float, default=60.0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--kinds", default="mlp1370,mlp1370child,resnet_child")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    table = kinds(args.epochs)
    chosen = [k.strip() for k in args.kinds.split(",") if k.strip()]
    unknown = [k for k in chosen if k not in table]
    if unknown:
        raise SystemExit(f"unknown kinds {unknown}; known: {', '.join(table)}")
    counter = count_saves()
    with tempfile.TemporaryDirectory(prefix="bench-ckpt-") as tmp:
        os.environ["BOOK_RUNS_DIR"] = tmp
        print(f"{args.epochs} epochs per run, {args.repeats} repeats, {args.threads} thread(s); "
              f"modes: every epoch (0 s) vs at most every {args.interval:g} s")
        print("| run | every epoch (s) | checkpoints | interval (s) | checkpoints | every / interval |")
        print("|---|---:|---:|---:|---:|---:|")
        for name in chosen:
            cfg, parent = table[name]
            if parent is not None:
                runs.train_run(parent)  # not timed
            times: dict[float, list[float]] = {0.0: [], args.interval: []}
            saves: dict[float, int] = {}
            for _ in range(args.repeats):
                for interval in times:
                    sec, n = timed(cfg, interval, counter)
                    times[interval].append(sec)
                    saves[interval] = n
            a, b = statistics.median(times[0.0]), statistics.median(times[args.interval])
            print(f"| {name} | {a:.1f} | {saves[0.0]} | {b:.1f} | {saves[args.interval]} | {a / b:.2f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
