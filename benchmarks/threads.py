"""Torch threads per run: epochs per second of the book's models at 1 and 2 threads, alone and beside a
neighbour process doing the same, to choose :data:`lib.parallel.THREAD_RULES`.

Usage: python benchmarks/threads.py [--seconds 6] [--repeats 3]
                                    [--models mlp64,mlp256,mlp1370,resnet_small,vit_tiny,gpt,gpt_wide]
                                    [--stats] [--quick]

Two worker processes (``spawn``) each hold every model, its Adam optimiser and random images of the
book's sizes (MLPs: 5,000 images; ``resnet_small`` and ``vit_tiny``: 1,000; batch 128; chapter 10's language
model and its four times wider parent: 1,000 random windows of 64 characters, batch 32). For each model
and each setting, 1 thread alone, 2 threads alone, 1 thread beside a neighbour, 2 threads beside a
neighbour, the workers train from a common start time for ``--seconds`` and count the batches done;
an epoch is a pass over the images (``--stats``: plus per-sample gradient statistics on 256 images
after each pass, as the cpu profile does, in extra ``+stats`` rows). Settings and models are
interleaved within each of ``--repeats`` rounds and the table shows medians, so load from other
processes hits them alike. Test-set evaluation is left out (a few percent of an epoch).

Columns: epochs per second of one process; "2x1 / 1x2" = two 1-thread processes side by side (their
epochs per second added) over one 2-thread process alone: above 1, the build trains such runs with
1 thread each in 2 workers; below 1, with 2 threads. The last lines print the ``THREAD_RULES`` this
table suggests for ``lib/parallel.py`` (2 threads where the ratio is below 1).
"""
from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import statistics
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from lib.chapters.ch10_language import SCALES, model_config  # noqa: E402
from lib.data import flat_targets  # noqa: E402
from lib.models import ModelConfig, build_model  # noqa: E402
from lib.text_data import VOCAB_SIZE  # noqa: E402
from lib.stats import gradient_stats  # noqa: E402

#: name -> (arch, width, images): the book's model sizes (cpu profile).
#: For ``gpt`` the middle value is the ratio of chapter 10's cpu-profile model (1: the child; its parent's ratio:
#: the wide parent, at whose size the pruned children train) and the last the windows of its context.
MODELS = {"mlp64": ("mlp", 64, 5000), "mlp256": ("mlp", 256, 5000), "mlp1370": ("mlp", 1370, 5000),
          "resnet_small": ("resnet_small", 0, 1000), "vit_tiny": ("vit_tiny", 0, 1000),
          "gpt": ("gpt", 1, 1000), "gpt_wide": ("gpt", 4, 1000)}
#: (threads, with a neighbour) in the order each round measures them.
SETTINGS = ((1, False), (2, False), (1, True), (2, True))
BATCH = 128
STATS_SAMPLES = 256


def _label(name: str, stats: bool) -> str:
    arch, width, n = MODELS[name]
    text = f"mlp w={width}" if arch == "mlp" else f"gpt x{width}" if arch == "gpt" else arch
    return text + (" +stats" if stats else "")


class _Trainer:
    """One model with its optimiser and random data, trained batch by batch."""

    def __init__(self, name: str, n: int | None):
        arch, width, images = MODELS[name]
        torch.manual_seed(0)
        n = n or images
        self.batch = BATCH
        if arch == "gpt":  # chapter 10's cpu model and batch, random windows of its alphabet
            sc = SCALES["cpu"]
            self.model = build_model(model_config(sc, width))
            tokens = torch.randint(0, VOCAB_SIZE, (n, sc.context + 1))
            self.x, self.y, self.batch = tokens[:, :-1], tokens[:, 1:], sc.batch_size
        else:
            self.model = build_model(ModelConfig(arch, width=width) if arch == "mlp" else ModelConfig(arch))
            self.x, self.y = torch.randn(n, 3, 32, 32), torch.randint(0, 10, (n,))
        self.opt = torch.optim.Adam(self.model.parameters(), lr=1e-4)
        self.per_epoch = -(-n // self.batch)
        self.done = 0

    def step(self, stats: bool) -> None:
        """One batch; after each pass over the images, the statistics pass when ``stats``."""
        i, b = self.done % self.per_epoch, self.batch
        xb, yb = self.x[i * b:(i + 1) * b], self.y[i * b:(i + 1) * b]
        self.model.train()
        self.opt.zero_grad(set_to_none=True)
        F.cross_entropy(*flat_targets(self.model(xb), yb)).backward()
        self.opt.step()
        self.done += 1
        if stats and self.done % self.per_epoch == 0:
            gradient_stats(self.model, (self.x[:STATS_SAMPLES], self.y[:STATS_SAMPLES]), progress=False)


def _worker(conn, n: int | None) -> None:
    """Serve ('prepare', name, threads, stats) and ('run', name, threads, stats, start_at, seconds);
    'run' answers (epochs per second, batches). None ends it."""
    trainers: dict[str, _Trainer] = {}
    while (msg := conn.recv()) is not None:
        name, threads, stats = msg[1:4]
        torch.set_num_threads(threads)
        t = trainers.setdefault(name, _Trainer(name, n))
        if msg[0] == "prepare":
            for _ in range(2):
                t.step(False)
            conn.send("ready")
            continue
        start_at, seconds = msg[4:]
        time.sleep(max(0.0, start_at - time.time()))
        t0 = time.perf_counter()
        batches, last = 0, t0
        while last - t0 < seconds or batches == 0:
            t.step(stats)
            batches += 1
            last = time.perf_counter()
        conn.send((batches / t.per_epoch / (last - t0), batches))


def _measure(conns: list, name: str, threads: int, neighbour: bool, stats: bool, seconds: float) -> float:
    """Epochs per second of the first worker (mean of both with a neighbour)."""
    used = conns[:2] if neighbour else conns[:1]
    for c in used:
        c.send(("prepare", name, threads, stats))
    for c in used:
        c.recv()
    start_at = time.time() + 0.2
    for c in used:
        c.send(("run", name, threads, stats, start_at, seconds))
    return statistics.mean(c.recv()[0] for c in used)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("--seconds", type=float, default=6.0, help="training time per measurement (default 6)")
    ap.add_argument("--repeats", type=int, default=3, help="interleaved rounds; the table shows medians (default 3)")
    ap.add_argument("--models", default=",".join(MODELS), help=f"comma-separated, from {', '.join(MODELS)}")
    ap.add_argument("--stats", action="store_true", help="also time epochs with per-sample statistics (+stats rows)")
    ap.add_argument("--images", type=int, default=None, help="images per model instead of the book's (for a quick try)")
    ap.add_argument("--quick", action="store_true", help="a proof that it runs: --seconds 0.5 --repeats 1 --images 256")
    args = ap.parse_args()
    if args.quick:
        args.seconds, args.repeats, args.images = 0.5, 1, 256
    names = [m for m in args.models.split(",") if m]
    bad = [m for m in names if m not in MODELS]
    if bad:
        raise SystemExit(f"unknown model(s) {bad}; allowed: {', '.join(MODELS)}")
    rows = [(m, s) for m in names for s in ((False, True) if args.stats else (False,))]
    ctx = mp.get_context("spawn")
    pipes = [ctx.Pipe() for _ in range(2)]
    env = {v: os.environ.get(v) for v in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    os.environ.update({v: "1" for v in env})  # the workers start with 1 thread, set per measurement
    procs = [ctx.Process(target=_worker, args=(child, args.images), daemon=True) for _, child in pipes]
    for p in procs:
        p.start()
    for k, v in env.items():
        if v is None:
            os.environ.pop(k)
        else:
            os.environ[k] = v
    conns = [parent for parent, _ in pipes]
    load = os.getloadavg()[0]
    eps: dict[tuple, list[float]] = {}
    try:
        for r in range(args.repeats):
            for name, stats in rows:
                for threads, neighbour in SETTINGS:
                    v = _measure(conns, name, threads, neighbour, stats, args.seconds)
                    eps.setdefault((name, stats, threads, neighbour), []).append(v)
            print(f"round {r + 1}/{args.repeats} done", file=sys.stderr, flush=True)
    finally:
        for c in conns:
            c.send(None)
        for p in procs:
            p.join(timeout=10)

    med = {k: statistics.median(v) for k, v in eps.items()}
    print(f"torch {torch.__version__}, {os.cpu_count()} CPUs, load average {load:.1f} before; batch {BATCH}; "
          f"median of {args.repeats} interleaved rounds of {args.seconds:g} s per measurement"
          + (f"; {args.images} images per model (--images)" if args.images else ""))
    print("epochs per second of one process (+nb: beside a neighbour process doing the same)\n")
    head = (f"{'model':22s} {'images':>6s} {'1 thr':>7s} {'2 thr':>7s} {'1 thr+nb':>9s} {'2 thr+nb':>9s} "
            f"{'2x1 / 1x2':>9s} {'threads':>7s}")
    print(head)
    print("-" * len(head))
    best: dict[tuple[str, bool], int] = {}
    for name, stats in rows:
        one, two, one_nb, two_nb = (med[(name, stats, t, nb)] for t, nb in SETTINGS)
        ratio = 2 * one_nb / two
        best[(name, stats)] = 1 if ratio >= 1 else 2
        images = args.images or MODELS[name][2]
        print(f"{_label(name, stats):22s} {images:>6d} {one:7.2f} {two:7.2f} {one_nb:9.2f} {two_nb:9.2f} "
              f"{ratio:9.2f} {best[(name, stats)]:>7d}")
    rules = []
    mlps = sorted((MODELS[n][1], n) for n, s in rows if MODELS[n][0] == "mlp" and not s)
    for i, (width, n) in enumerate(mlps):
        rules.append(("mlp", width if i < len(mlps) - 1 else None, best[(n, False)]))
    rules += [(MODELS[n][0], None, best[(n, False)]) for n, s in rows if MODELS[n][0] != "mlp" and not s]
    print(f"\nsuggested for lib/parallel.py (without statistics): THREAD_RULES = {tuple(rules)!r}")


if __name__ == "__main__":
    main()
