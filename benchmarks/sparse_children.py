"""Seconds per epoch of masked MLP children: masked dense layers against sparse kernels (lib.sparse).

Usage: python benchmarks/sparse_children.py [--n 5000] [--n-test 2000] [--repeats 3] [--threads 1]
       [--children 256:0.1,1370:0.1,1370:0.02] [--data cifar10|gaussian]

Each child is an MLP of the given width (depth 3, the book's) with a random global mask keeping the
given fraction of its weights, trained one epoch by ``lib.train.train`` as the book trains it (Adam,
batch 128, the cpu profile's sizes by default) under ``BOOK_SPARSE=0`` (masked dense), ``1`` (every
masked Linear sparse) and ``auto`` (sparse where ``lib.sparse.faster`` measured it faster; its one-off
measurement is timed separately and is not in the epoch times). Repeats are interleaved (dense,
sparse, auto, dense, ...) in one process; the table gives the median seconds of the training epoch
plus its test-set evaluation (between the callbacks after epoch 0 and epoch 1), the ratios, and the
largest relative difference of the epoch's train and test loss between sparse and dense.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch  # noqa: E402

from lib import masks, sparse  # noqa: E402
from lib.config import MaskConfig, OptimConfig, TrainConfig  # noqa: E402
from lib.data import DataConfig  # noqa: E402
from lib.models import ModelConfig  # noqa: E402
from lib.train import fresh_model, train  # noqa: E402

MODES = {"dense": "0", "sparse": "1", "auto": "auto"}


class EpochClock:
    """A callback noting the time after each epoch's evaluation."""

    def __init__(self) -> None:
        self.times: list[float] = []

    def on_epoch_end(self, epoch, model, ctx):
        self.times.append(time.perf_counter())
        return {}

    def on_train_end(self, model, ctx):
        pass


def child_config(width: int, density: float, args: argparse.Namespace) -> TrainConfig:
    model = ModelConfig("mlp", width=width)
    data = DataConfig(args.data, args.n, args.n_test, seed=0)
    parent = TrainConfig(data=data, model=model, optim=OptimConfig("adam", 1e-3), batch_size=128)
    return TrainConfig(data=data, model=model, optim=OptimConfig("adam", 1e-3), batch_size=128, epochs=1,
                       mask=MaskConfig(parent=parent, method="random", density=density, seed=0))


def one_epoch(cfg: TrainConfig, mask: masks.Mask, mode: str, out: Path) -> tuple[float, list[float]]:
    """(seconds of epoch 1 with its evaluation, [train loss, test loss] after it) under BOOK_SPARSE=mode."""
    os.environ["BOOK_SPARSE"] = mode
    clock = EpochClock()
    _, metrics = train(cfg, out, model=fresh_model(cfg), mask=mask, device=torch.device("cpu"), progress=False,
                       callbacks=[clock])
    return clock.times[1] - clock.times[0], [float(metrics["train_loss"].iloc[1]), float(metrics["test_loss"].iloc[1])]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=5000, help="training images")
    ap.add_argument("--n-test", type=int, default=2000, help="test images evaluated after the epoch")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--children", default="256:0.1,1370:0.1,1370:0.02", help="width:density, comma-separated")
    ap.add_argument("--data", default="cifar10", choices=("cifar10", "gaussian"))
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    children = [(int(w), float(d)) for w, d in (c.split(":") for c in args.children.split(",") if c)]
    print(f"torch {torch.__version__}, {args.threads} thread(s), {args.n} {args.data} training images, "
          f"{args.n_test} test images, batch 128, Adam, median of {args.repeats} interleaved repeats")
    p = torch.nn.Parameter(torch.zeros(1))
    p.grad = torch.zeros(1)
    torch.optim.Adam([p]).step()  # torch's one-off lazy set-up (seconds), so that "choose s" is the measurement
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for width, density in children:
            cfg = child_config(width, density, args)
            mask = masks.compute_mask(cfg.mask)
            os.environ["BOOK_SPARSE"] = "auto"
            t = time.perf_counter()
            chosen = sparse.choose(fresh_model(cfg), mask, batch=cfg.batch_size, optim=cfg.optim.name)
            choose_s = time.perf_counter() - t
            times: dict[str, list[float]] = {m: [] for m in MODES}
            losses: dict[str, list[float]] = {}
            for r in range(args.repeats):
                for name, mode in MODES.items():
                    out = Path(tmp) / f"{width}-{density}-{name}-{r}"
                    out.mkdir()
                    secs, losses[name] = one_epoch(cfg, mask, mode, out)
                    times[name].append(secs)
            med = {m: statistics.median(v) for m, v in times.items()}
            rel = max(abs(s - d) / abs(d) for s, d in zip(losses["sparse"], losses["dense"]))
            rows.append((width, density, med, chosen, len(mask), choose_s, rel))
    print(f"{'width':>5} {'kept':>5} {'dense s':>8} {'sparse s':>9} {'auto s':>7} {'dense/sparse':>12} "
          f"{'dense/auto':>10} {'auto sparse':>11} {'choose s':>8} {'loss rel diff':>13}")
    for width, density, med, chosen, n_layers, choose_s, rel in rows:
        print(f"{width:5d} {density:5.0%} {med['dense']:8.2f} {med['sparse']:9.2f} {med['auto']:7.2f} "
              f"{med['dense'] / med['sparse']:12.2f} {med['dense'] / med['auto']:10.2f} "
              f"{len(chosen):>5d} of {n_layers:<3d} {choose_s:8.2f} {rel:13.1e}")


if __name__ == "__main__":
    main()
