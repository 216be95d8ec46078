"""Seconds per training epoch on CIFAR-10 images (one run each model), to size a build.

Usage: python benchmarks/epoch_times.py [--n 10000] [--epochs 1] [--archs mlp,resnet_small,vit_tiny] [--device cpu]
Prints one line per model: arch, weights, seconds per epoch (training + test evaluation on 1,000 images).
For the paper profile's cost on a GPU: ``--archs resnet50,vit,mlp --n 50000 --device cuda``, then
multiply by the epoch counts in the README ("Running the paper profile").
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
from lib.config import OptimConfig, TrainConfig  # noqa: E402
from lib.train import train  # noqa: E402


#: The optimiser each architecture trains with in the book (learning rates do not change the time).
OPTIMS = {"mlp": OptimConfig("adam", 1e-4), "resnet_small": OptimConfig("sgd", 0.1), "vit_tiny": OptimConfig("adam", 1e-3),
          "resnet50": OptimConfig("sgd", 0.1), "vit": OptimConfig("adam", 1e-4)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n", type=int, default=10000)
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--archs", default="mlp,resnet_small,vit_tiny",
                    help=f"comma-separated, from {', '.join(OPTIMS)}")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = ap.parse_args()
    archs = [a for a in args.archs.split(",") if a]
    bad = [a for a in archs if a not in OPTIMS]
    if bad:
        raise SystemExit(f"unknown arch(s) {bad}; allowed: {', '.join(OPTIMS)}")
    device = torch.device(args.device)
    load_data(DataConfig("cifar10", args.n, 1000))  # warm the loader cache
    print(f"torch {torch.__version__}, device {device}, threads {torch.get_num_threads()}, {args.n} images, batch 128")
    for arch in archs:
        opt = OPTIMS[arch]
        cfg = TrainConfig(data=DataConfig("cifar10", args.n, 1000), model=ModelConfig(arch), optim=opt,
                          epochs=args.epochs)
        t0 = time.perf_counter()
        with tempfile.TemporaryDirectory() as d:
            train(cfg, Path(d), device=device, progress=False)
        sec = (time.perf_counter() - t0) / args.epochs
        print(f"{arch:14s} {count_weights(build_model(cfg.model))[0]:>10,d} weights  {sec:6.1f} s/epoch")


if __name__ == "__main__":
    main()
