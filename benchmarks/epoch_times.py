"""Seconds per training epoch on 10,000 CIFAR-10 images for the CPU-profile models (one run each).

Usage: python benchmarks/epoch_times.py [--n 10000] [--epochs 1]
Prints one line per model: arch, weights, seconds per epoch (training + test evaluation).
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch  # noqa: E402

from lib.data import DataConfig, load_data  # noqa: E402
from lib.models import ModelConfig, build_model, count_weights  # noqa: E402
from lib.train import OptimConfig, TrainConfig, train  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=10000)
    ap.add_argument("--epochs", type=int, default=1)
    args = ap.parse_args()
    load_data(DataConfig("cifar10", args.n, 1000))  # warm the loader cache
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, {args.n} images, batch 128")
    for arch, opt in [("mlp", OptimConfig("adam", 1e-4)), ("resnet_small", OptimConfig("sgd", 0.1)),
                      ("vit_tiny", OptimConfig("adam", 1e-3))]:
        cfg = TrainConfig(data=DataConfig("cifar10", args.n, 1000), model=ModelConfig(arch), optim=opt,
                          epochs=args.epochs)
        t0 = time.perf_counter()
        with tempfile.TemporaryDirectory() as d:
            train(cfg, Path(d), device=torch.device("cpu"), progress=False)
        sec = (time.perf_counter() - t0) / args.epochs
        print(f"{arch:14s} {count_weights(build_model(cfg.model))[0]:>10,d} weights  {sec:6.1f} s/epoch")


if __name__ == "__main__":
    main()
