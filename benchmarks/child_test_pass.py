"""What the per-epoch test pass costs a pruned child: whole child runs at the cpu profile's sizes trained
through the run cache with the test subset scored after every epoch (``test_each_epoch=True``, how every
child trained before) and without it (:func:`lib.experiments.child_config`: only the final test over all
10,000 test images), side by side in one process, the two modes alternating within each repeat.

Usage: python benchmarks/child_test_pass.py [--repeats 1] [--threads 1]
                                            [--kinds mlp1370child,mlp467child,resnet_child,vit_child]

Kinds (CIFAR-10 from ``CIFAR10_PATH`` or ``data/``): 10 %-kept random children of the width-1,370 MLP
(chapter 5), the width-467 MLP (chapters 5 and 9), ``resnet_small`` and ``vit_tiny`` (chapters 6 and 9),
with the profile's epochs, training and test images. Their parents are trained for one epoch first (not
timed) in a temporary run cache. Scoring never feeds back into training, so both modes must end with the
same weights and the same final test result: the table prints whether they do, to the bit.
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
from lib.config import MaskConfig, TrainConfig, config_hash  # noqa: E402
from lib.experiments import child_config  # noqa: E402


def kinds() -> dict[str, tuple[TrainConfig, TrainConfig]]:
    """name -> (the child as the book now trains it, its parent), at the cpu profile's sizes."""
    p = profiles.get("cpu")
    bases = {"mlp1370child": profiles.mlp_config(p, 1370, stats=False),
             "mlp467child": profiles.mlp_config(p, 467, stats=False),
             "resnet_child": profiles.large_config(p, "resnet_small", stats=False),
             "vit_child": profiles.large_config(p, "vit_tiny", stats=False)}
    out = {}
    for name, base in bases.items():
        parent = replace(base, epochs=1)
        out[name] = (child_config(base, seed=1000, mask=MaskConfig(parent=parent, method="random", density=0.1)),
                     parent)
    return out


def timed(cfg: TrainConfig) -> tuple[float, runs.Run]:
    """Seconds to train ``cfg`` into the (temporary) run cache, and the run."""
    t0 = time.perf_counter()
    run = runs.train_run(cfg)
    return time.perf_counter() - t0, run


def same_bits(a: runs.Run, b: runs.Run) -> bool:
    """Whether runs ``a`` and ``b`` end with identical weights, training curve and final test result."""
    sa, sb = a.state_dict(), b.state_dict()
    ma, mb = a.metrics, b.metrics
    return (sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)
            and ma["train_loss"].tolist() == mb["train_loss"].tolist()
            and a.final()["test_acc"] == b.final()["test_acc"] and a.final()["test_loss"] == b.final()["test_loss"])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--kinds", default="mlp1370child,mlp467child,resnet_child,vit_child")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    table = kinds()
    chosen = [k.strip() for k in args.kinds.split(",") if k.strip()]
    unknown = [k for k in chosen if k not in table]
    if unknown:
        raise SystemExit(f"unknown kinds {unknown}; known: {', '.join(table)}")
    print(f"{args.threads} thread(s), {args.repeats} repeat(s); median seconds of a whole child run\n")
    print("| child | epochs | test subset | scored each epoch (s) | final test only (s) | ratio | saved | same bits |")
    print("|---|---:|---:|---:|---:|---:|---:|---|")
    with tempfile.TemporaryDirectory(prefix="bench-child-test-") as tmp:
        os.environ["BOOK_RUNS_DIR"] = tmp
        for name in chosen:
            lean, parent = table[name]
            full = replace(lean, test_each_epoch=True)
            runs.train_run(parent)  # not timed
            times: dict[bool, list[float]] = {True: [], False: []}
            done: dict[bool, runs.Run] = {}
            for r in range(args.repeats):
                for each in ((True, False) if r % 2 == 0 else (False, True)):
                    cfg = full if each else lean
                    shutil.rmtree(paths.run_dir(config_hash(cfg)), ignore_errors=True)  # train it again
                    sec, done[each] = timed(cfg)
                    times[each].append(sec)
            a, b = statistics.median(times[True]), statistics.median(times[False])
            print(f"| {name} | {lean.epochs} | {lean.data.n_test:,} | {a:.1f} | {b:.1f} | {a / b:.3f} | "
                  f"{1 - b / a:.1%} | {'yes' if same_bits(done[True], done[False]) else 'NO'} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
