"""What the evaluation batch costs: seconds per evaluation pass of the book's models at several batch
sizes, then whole runs trained through the run cache with the old evaluation batch (1,024 for every
model) against :data:`lib.train.EVAL_BATCH`, side by side in one process, with their metrics compared.

Usage: python benchmarks/eval_batch.py [--epochs 4] [--repeats 3] [--threads 1]
                                       [--kinds resnet_child,vit_child,mlp1370child] [--batches 16,32,64,128,1024]

Kinds (cpu-profile sizes, CIFAR-10 from ``CIFAR10_PATH`` or ``data/``): ``resnet_child`` and
``vit_child`` are 10 %-kept random children of ``resnet_small`` / ``vit_tiny`` (chapters 6 and 9),
``mlp1370child`` a 10 %-kept random child of the width-1,370 MLP (chapter 5). Their parents are
trained once first (not timed); each timed run starts from an empty run folder, and the two modes
alternate within each repeat. The evaluation never feeds back into training, so both modes must give
the same weights and the same accuracies; the table prints the largest differences it finds (test
loss: float rounding of the logits only).
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

import pandas as pd  # noqa: E402
import torch  # noqa: E402

from lib import paths, profiles, runs  # noqa: E402
from lib import train as T  # noqa: E402
from lib.config import MaskConfig, TrainConfig  # noqa: E402
from lib.data import load_data  # noqa: E402

#: the evaluation batch of every model before :data:`lib.train.EVAL_BATCH` (commit 6417411 and earlier)
OLD_BATCH = 1024


def kinds(epochs: int) -> dict[str, tuple[TrainConfig, TrainConfig]]:
    """name -> (the child timed, its parent), at the cpu profile's sizes with ``epochs`` epochs."""
    p = profiles.get("cpu")
    out: dict[str, tuple[TrainConfig, TrainConfig]] = {}
    for name, arch in (("resnet_child", "resnet_small"), ("vit_child", "vit_tiny")):
        parent = replace(profiles.large_config(p, arch, stats=False), epochs=1)
        child = replace(profiles.large_config(p, arch, stats=False), epochs=epochs, seed=1000,
                        mask=MaskConfig(parent=parent, method="random", density=0.1))
        out[name] = (child, parent)
    mparent = replace(profiles.mlp_config(p, 1370, stats=False), epochs=1)
    mchild = replace(profiles.mlp_config(p, 1370, stats=False), epochs=epochs, seed=1000,
                     mask=MaskConfig(parent=mparent, method="random", density=0.1))
    out["mlp1370child"] = (mchild, mparent)
    return out


def pass_seconds(cfg: TrainConfig, batches: list[int], repeats: int) -> dict[int, float]:
    """Best-of-``repeats`` seconds of one :func:`lib.train.evaluate` pass over ``cfg``'s test images
    with a fresh model, per batch size (sizes alternate within each repeat)."""
    data = load_data(cfg.data, torch.device("cpu"))
    model = T.fresh_model(cfg)
    best = {b: float("inf") for b in batches}
    for _ in range(repeats):
        for b in batches:
            t0 = time.perf_counter()
            T.evaluate(model, data.x_test, data.y_test, b)
            best[b] = min(best[b], time.perf_counter() - t0)
    return best


def timed(cfg: TrainConfig, old: bool) -> tuple[float, pd.DataFrame]:
    """Seconds to train ``cfg`` from an empty run folder with the old evaluation batch (through
    ``$BOOK_EVAL_BATCH``, :data:`lib.train.EVAL_BATCH_ENV`) or :data:`lib.train.EVAL_BATCH`, and the run's
    metrics table."""
    shutil.rmtree(paths.run_dir(runs.config_hash(cfg)), ignore_errors=True)
    if old:
        os.environ[T.EVAL_BATCH_ENV] = str(OLD_BATCH)
    else:
        os.environ.pop(T.EVAL_BATCH_ENV, None)
    t0 = time.perf_counter()
    run = runs.train_run(cfg)
    return time.perf_counter() - t0, run.metrics


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--kinds", default="resnet_child,vit_child,mlp1370child")
    ap.add_argument("--batches", default="16,32,64,128,1024")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    table = kinds(args.epochs)
    chosen = [k.strip() for k in args.kinds.split(",") if k.strip()]
    unknown = [k for k in chosen if k not in table]
    if unknown:
        raise SystemExit(f"unknown kinds {unknown}; known: {', '.join(table)}")
    batches = [int(b) for b in args.batches.split(",")]
    print(f"{args.threads} thread(s), {args.repeats} repeats")
    print("\nSeconds per evaluation pass over the test images (fresh model, best of repeats):\n")
    print("| model | images | " + " | ".join(f"batch {b}" for b in batches) + " |")
    print("|---|---:|" + "---:|" * len(batches))
    for name in chosen:
        cfg = table[name][0]
        sec = pass_seconds(cfg, batches, args.repeats)
        print(f"| {cfg.model.arch} {cfg.model.width if cfg.model.arch == 'mlp' else ''} | {cfg.data.n_test} | "
              + " | ".join(f"{sec[b]:.3f}" for b in batches) + " |", flush=True)
    with tempfile.TemporaryDirectory(prefix="bench-eval-") as tmp:
        os.environ["BOOK_RUNS_DIR"] = tmp
        print(f"\nWhole runs, {args.epochs} epochs, median seconds (evaluation batch {OLD_BATCH} against "
              "EVAL_BATCH), and the largest differences between their metrics:\n")
        print("| run | batch 1024 (s) | EVAL_BATCH (s) | batch | old / new | max abs. diff. test_acc, train_loss "
              "| max rel. diff. test_loss |")
        print("|---|---:|---:|---:|---:|---:|---:|")
        for name in chosen:
            cfg, parent = table[name]
            runs.train_run(parent)  # not timed
            times: dict[bool, list[float]] = {True: [], False: []}
            metrics = {}
            for _ in range(args.repeats):
                for old in (True, False):
                    sec, metrics[old] = timed(cfg, old)
                    times[old].append(sec)
            a, b = statistics.median(times[True]), statistics.median(times[False])
            m_old, m_new = metrics[True], metrics[False]
            exact = max(float((m_old[c] - m_new[c]).abs().max()) for c in ("test_acc", "train_acc", "train_loss"))
            rel = float(((m_old.test_loss - m_new.test_loss).abs() / m_old.test_loss.abs()).max())
            batch = T.eval_batch_size(cfg.model.arch, "cpu")
            print(f"| {name} | {a:.1f} | {b:.1f} | {batch} | {a / b:.2f} | {exact:.1e} | {rel:.1e} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
