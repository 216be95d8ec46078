"""The statistics engine's batch size, side by side: seconds of one :func:`lib.stats.gradient_stats` pass over the
same samples at several batch sizes, per model, with one torch thread (as the book's runs train, see
:data:`lib.parallel.THREAD_RULES`), and the largest difference of coherence and of any diff from the first batch
size's (the batch only changes how the per-sample gradients are chunked, so results agree to float rounding).

Usage: python benchmarks/stats_batch.py [--models resnet_small,vit_tiny,mlp256] [--batches 256,128,64]
                                        [--samples 256] [--repeats 3] [--threads 1]

Repeats are interleaved (every batch size in turn, then again), and the median is printed with its ratio to
the first batch size's time.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch  # noqa: E402

from lib.models import ModelConfig, build_model  # noqa: E402
from lib.stats import gradient_stats  # noqa: E402

MODELS = {"resnet_small": ModelConfig("resnet_small"), "vit_tiny": ModelConfig("vit_tiny"),
          "mlp256": ModelConfig("mlp", width=256), "mlp1370": ModelConfig("mlp", width=1370)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default="resnet_small,vit_tiny,mlp256")
    ap.add_argument("--batches", default="256,128,64")
    ap.add_argument("--samples", type=int, default=256)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args(argv)
    names = a.models.split(",")
    bad = [n for n in names if n not in MODELS]
    if bad:
        ap.error(f"unknown model(s) {bad}; known: {', '.join(MODELS)}")
    batches = [int(b) for b in a.batches.split(",")]
    torch.set_num_threads(a.threads)
    print(f"torch {torch.__version__}, {a.threads} thread(s), {a.samples} samples, median of {a.repeats} interleaved "
          "repeats")
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(a.samples, 3, 32, 32, generator=g), torch.randint(0, 10, (a.samples,), generator=g)
    for name in names:
        torch.manual_seed(0)
        model = build_model(MODELS[name])
        gradient_stats(model, (x[:32], y[:32]), batch_size=32, progress=False)  # warm-up
        times: dict[int, list[float]] = {b: [] for b in batches}
        results = {}
        for _ in range(a.repeats):
            for b in batches:
                t0 = time.perf_counter()
                results[b] = gradient_stats(model, (x, y), batch_size=b, counts=True, progress=False)
                times[b].append(time.perf_counter() - t0)
        ref = results[batches[0]]
        base = statistics.median(times[batches[0]])
        for b in batches:
            t = statistics.median(times[b])
            dc = abs(results[b].coherence - ref.coherence) / ref.coherence
            dd = max(float((results[b].diffs[k] - ref.diffs[k]).abs().max()) for k in ref.diffs)
            print(f"{name:13s} batch {b:4d}: {t:6.2f} s ({base / t:4.2f}x the speed of batch {batches[0]}); coherence "
                  f"{results[b].coherence:.6g} (relative difference {dc:.1e}), largest diff difference {dd:.1e}",
                  flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
