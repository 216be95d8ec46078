"""Benchmark of lib.stats.gradient_stats backends against one plain forward+backward pass.

Run ``python -m benchmarks.gradstats`` or ``python benchmarks/gradstats.py`` (``--quick`` for a short
run). For mlp(512) and mlp(2048) on 3072-d random inputs (``--samples``, default 4096) and for
resnet_small and vit_tiny (``--conv-samples``, default 512) it prints, per backend: samples/s, the
ratio of its time to one plain forward+backward pass over the same samples (same batch size, model
in eval mode, ``torch.autograd.grad`` of the summed cross-entropy), and the peak resident-memory
increase during the call. All numbers come from one run, the median of ``--repeats`` interleaved
repeats (plain pass and every backend in turn, so load from other processes hits them alike).

Per-sample-materialising backends (opacus, functorch) on the MLPs are timed on fewer samples (as
many as have 2 GB of float32 per-sample gradients in all, or ``--slow-samples``) and their time is
extrapolated per sample (marked ``*``); the plain pass they are compared with is scaled the same way.

Memory: peak RSS increase = VmHWM after the call minus VmRSS before it, with the peak reset through
/proc/self/clear_refs (Linux); where that is unavailable, ru_maxrss growth (a lower bound).
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch
import torch.nn.functional as F

from lib.models import mlp, resnet_small, vit_tiny
from lib.stats import gradient_stats

SLOW = ("opacus", "functorch")
BACKENDS = ("fast", "auto", "functorch", "opacus")


# ------------------------------------------------------------------------------------- memory
def _status(key: str) -> int | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def _reset_peak() -> bool:
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


class PeakRSS:
    """Peak resident memory growth over a block, in bytes."""

    method = "VmHWM-VmRSS (clear_refs reset)"

    def __enter__(self) -> "PeakRSS":
        self.ok = _reset_peak() and _status("VmHWM") is not None
        if self.ok:
            self.before = _status("VmRSS") or 0
        else:
            import resource

            PeakRSS.method = "ru_maxrss growth (lower bound)"
            self.before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        return self

    def __exit__(self, *exc) -> None:
        if self.ok:
            self.peak = max(0, (_status("VmHWM") or 0) - self.before)
        else:
            import resource

            self.peak = max(0, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - self.before)


# ------------------------------------------------------------------------------------ workloads
def plain_pass(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int) -> None:
    """One ordinary forward+backward pass over (x, y) in eval mode: the unit of comparison."""
    was = model.training
    model.eval()
    params = [p for p in model.parameters() if p.requires_grad]
    for s in range(0, len(y), batch_size):
        loss = F.cross_entropy(model(x[s:s + batch_size]), y[s:s + batch_size], reduction="sum")
        torch.autograd.grad(loss, params)
    model.train(was)


def timed(fn) -> tuple[float, int]:
    with PeakRSS() as mem:
        t = time.perf_counter()
        fn()
        t = time.perf_counter() - t
    return t, mem.peak


def bench_model(name: str, model: torch.nn.Module, n: int, args: argparse.Namespace, mlp_like: bool) -> list[dict]:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(n, 3, 32, 32, generator=g)
    y = torch.randint(0, 10, (n,), generator=g)
    numel = sum(p.numel() for p in model.parameters())
    cap = args.slow_samples or max(16, int(args.slow_gb * 1e9 / (4 * numel)))
    counts = {b: (min(n, cap) if (mlp_like and b in SLOW) else n) for b in args.backends}
    runs = {"plain": lambda: plain_pass(model, x, y, args.batch_size)}
    for b in args.backends:
        k = counts[b]
        runs[b] = (lambda b=b, k=k: gradient_stats(model, (x[:k], y[:k]), backend=b, batch_size=args.batch_size,
                                                    memory_budget_mb=args.budget_mb, progress=False))
    # warm-up on one batch (imports, allocator, oneDNN kernels)
    plain_pass(model, x[:args.batch_size], y[:args.batch_size], args.batch_size)
    for b in args.backends:
        gradient_stats(model, (x[:8], y[:8]), backend=b, batch_size=args.batch_size, progress=False)
    times: dict[str, list[float]] = {k: [] for k in runs}
    peaks: dict[str, int] = {k: 0 for k in runs}
    for _ in range(args.repeats):
        for k, fn in runs.items():
            t, p = timed(fn)
            times[k].append(t)
            peaks[k] = max(peaks[k], p)
            print(f"  {name:13s} {k:10s} {t:8.2f} s", file=sys.stderr, flush=True)
    plain_per = statistics.median(times["plain"]) / n
    rows = [{"model": name, "backend": "plain pass", "samples": n, "time": statistics.median(times["plain"]),
             "per_sample": plain_per, "ratio": 1.0, "peak": peaks["plain"], "extrap": False}]
    for b in args.backends:
        t = statistics.median(times[b])
        rows.append({"model": name, "backend": b, "samples": counts[b], "time": t, "per_sample": t / counts[b],
                     "ratio": (t / counts[b]) / plain_per, "peak": peaks[b], "extrap": counts[b] < n})
    return rows


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="fewer samples and repeats (about a minute)")
    ap.add_argument("--samples", type=int, default=None, help="MLP samples (default 4096; quick 1024)")
    ap.add_argument("--conv-samples", type=int, default=None, help="resnet_small / vit_tiny samples (default 512; quick 128)")
    ap.add_argument("--slow-samples", type=int, default=0,
                    help="cap for opacus/functorch on the MLPs, extrapolated per sample (default: from --slow-gb)")
    ap.add_argument("--slow-gb", type=float, default=None,
                    help="default cap: samples whose float32 per-sample gradients total this many GB (default 2; quick 0.5)")
    ap.add_argument("--repeats", type=int, default=None, help="interleaved repeats, median reported (default 3; quick 1)")
    ap.add_argument("--threads", type=int, default=0, help="torch intra-op threads (0 = torch's default)")
    ap.add_argument("--batch-size", type=int, default=256)
    ap.add_argument("--budget-mb", type=float, default=1024)
    ap.add_argument("--models", default="mlp512,mlp2048,resnet_small,vit_tiny")
    ap.add_argument("--backends", default=",".join(BACKENDS))
    args = ap.parse_args(argv)
    q = args.quick
    args.samples = args.samples or (1024 if q else 4096)
    args.conv_samples = args.conv_samples or (128 if q else 512)
    args.slow_gb = args.slow_gb or (0.5 if q else 2.0)
    args.repeats = args.repeats or (1 if q else 3)
    args.backends = [b for b in args.backends.split(",") if b]
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    makers = {"mlp512": (lambda: mlp(512), True), "mlp2048": (lambda: mlp(2048), True),
              "resnet_small": (resnet_small, False), "vit_tiny": (vit_tiny, False)}
    rows: list[dict] = []
    for name in args.models.split(","):
        make, is_mlp = makers[name]
        model = make()
        n = args.samples if is_mlp else args.conv_samples
        rows += bench_model(name, model, n, args, is_mlp)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"\ntorch {torch.__version__}, {torch.get_num_threads()} threads, {os.cpu_count()} CPUs (load average {load:.1f} "
          f"at the end); batch {args.batch_size}, "
          f"budget {args.budget_mb:g} MB, median of {args.repeats}; memory: peak RSS increase, {PeakRSS.method}")
    print(f"{'model':13s} {'backend':10s} {'samples':>8s} {'time s':>8s} {'samples/s':>10s} {'x plain':>8s} {'peak MB':>8s}")
    for r in rows:
        mark = "*" if r["extrap"] else " "
        print(f"{r['model']:13s} {r['backend']:10s} {r['samples']:8d}{mark}{r['time']:8.2f} {1 / r['per_sample']:10.1f} "
              f"{r['ratio']:8.2f} {r['peak'] / 2**20:8.0f}")
    if any(r["extrap"] for r in rows):
        print("* timed on fewer samples than the plain pass; samples/s and 'x plain' are per sample (extrapolated)")
    by = {(r["model"], r["backend"]): r for r in rows}
    print("\ntargets:")
    for m in ("mlp512", "mlp2048"):
        if (m, "fast") in by:
            print(f"  {m}: fast = {by[m, 'fast']['ratio']:.2f}x plain pass (target <= 1.5)")
    if ("mlp2048", "fast") in by and ("mlp2048", "opacus") in by:
        s = by["mlp2048", "opacus"]["per_sample"] / by["mlp2048", "fast"]["per_sample"]
        print(f"  mlp2048: fast is {s:.0f}x faster than opacus per sample (target >= 50)")
    for m in ("mlp512", "mlp2048", "resnet_small", "vit_tiny"):
        if (m, "fast") in by and (m, "auto") in by:
            a, f = by[m, "auto"]["per_sample"], by[m, "fast"]["per_sample"]
            print(f"  noise check, {m}: auto and fast run the same code here; they differ by {abs(a - f) / min(a, f):.0%}")
    for m in ("resnet_small", "vit_tiny"):
        if all((m, b) in by for b in ("auto", "opacus", "functorch")):
            best = min(by[m, "opacus"]["per_sample"], by[m, "functorch"]["per_sample"])
            print(f"  {m}: auto / min(opacus, functorch) = {by[m, 'auto']['per_sample'] / best:.2f} (target <= 1)")


if __name__ == "__main__":
    main()
