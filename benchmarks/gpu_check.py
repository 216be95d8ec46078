"""Time the paper profile's run kinds on this machine and project what the paper book costs in device-hours.

Usage: python benchmarks/gpu_check.py [--device cuda] [--fraction 0.02] [--stats-samples 64] [--chapters 02 05]

For every chapter that trains, the paper profile's plan (:func:`lib.chapters.registry.plan`) is read; its distinct
runs (each counted once, in the first chapter that plans it) are grouped by what one training step costs
(:func:`step_key`: the model, the data, the batch, a mask or none, the optimiser). For each group this script
times, after one warm-up, one epoch over ``fraction`` of the training and test split (a masked run with a random
mask of its density, so its masked steps are timed too) and one pass of the per-sample gradient statistics over
``stats-samples`` samples at the run's statistics batch. The projection then sums, over every run,

    epochs x (epoch seconds / fraction) + statistics passes x statistics samples x (seconds per sample)

(:func:`project`), and prints it per chapter and per group, in hours on this device. One device trains every run
in turn; a cluster divides the wall-clock time by the devices it runs side by side, not the device-hours.

Before the timings, on a device other than the CPU, the statistics engine's result there is compared with the CPU's
for a small model of each family (:func:`agreement`). On a CPU the script runs too (``--device cpu --fraction
0.002 --chapters 04``: a check of the script, not a forecast). ``benchmarks/gpu_check.sh`` runs it after building
the smoke book on the device.
"""
from __future__ import annotations

import argparse
import dataclasses
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Iterable

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch  # noqa: E402

from lib import masks, text_data  # noqa: E402
from lib.chapters import registry  # noqa: E402
from lib.config import StatsConfig, TrainConfig, config_hash  # noqa: E402
from lib.data import DeviceData, load_data  # noqa: E402
from lib.models import ModelConfig, build_model  # noqa: E402
from lib.plan import configs, run_kind  # noqa: E402
from lib.stats import gradient_stats  # noqa: E402
from lib.train import fresh_model, train  # noqa: E402


def step_key(cfg: TrainConfig) -> tuple:
    """What one training step of ``cfg`` costs by: model, dataset (and its sizes and context), batch, masked or
    not, optimiser name. Runs with equal keys share one timing."""
    d = cfg.data
    return (cfg.model, d.dataset, d.n_train, d.n_test, d.context, cfg.batch_size, cfg.mask is not None,
            cfg.optim.name)


def stats_passes(cfg: TrainConfig) -> int:
    """How many statistics passes a run makes: after epoch 0, every ``every`` epochs, and after the last (once)."""
    every = cfg.stats.every
    if not every:
        return 0
    return len(set(range(0, cfg.epochs + 1, every)) | {cfg.epochs})


def stats_samples(cfg: TrainConfig, n_train: int) -> int:
    """Samples one statistics pass of ``cfg`` reads (``max_samples``, else the whole training split of
    ``n_train``)."""
    return min(cfg.stats.max_samples or n_train, n_train)


def project(runs: Iterable[TrainConfig], epoch_s: dict[tuple, float], sample_s: dict[tuple, float],
            n_train: dict[tuple, int]) -> dict[str, float]:
    """Seconds each run takes on the timed device, by run hash: epochs x epoch seconds + statistics passes x
    samples x seconds per statistics sample (``epoch_s``, ``sample_s`` and ``n_train`` by :func:`step_key`)."""
    out = {}
    for cfg in runs:
        k = step_key(cfg)
        secs = cfg.epochs * epoch_s[k]
        if cfg.stats.every:
            secs += stats_passes(cfg) * stats_samples(cfg, n_train[k]) * sample_s[k]
        out[config_hash(cfg)] = secs
    return out


def random_mask(model: torch.nn.Module, density: float, seed: int = 0) -> dict[str, torch.Tensor]:
    """A mask keeping about ``density`` of each prunable tensor at random (for timing only)."""
    g = torch.Generator().manual_seed(seed)
    params = dict(model.named_parameters())
    return {n: torch.rand(params[n].shape, generator=g) < density for n in masks.prunable(model)}


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def timed(fn: Callable[[], Any], device: torch.device) -> float:
    """Wall-clock seconds of ``fn()``, the device synchronised before and after."""
    _sync(device)
    t0 = time.perf_counter()
    fn()
    _sync(device)
    return time.perf_counter() - t0


def time_group(cfg: TrainConfig, data: DeviceData, fraction: float, n_stats: int, device: torch.device) -> tuple[float, float]:
    """(seconds per full epoch, seconds per statistics sample) of runs like ``cfg``, from one epoch over
    ``fraction`` of ``data`` (after a warm-up epoch on a few batches) and one statistics pass over ``n_stats``
    samples."""
    m = max(cfg.batch_size, round(fraction * data.n_train))
    mt = max(1, round(fraction * len(data.y_test)))
    part = DeviceData(data.x_train[:m], data.y_train[:m], data.x_test[:mt], data.y_test[:mt])
    warm = DeviceData(data.x_train[:2 * cfg.batch_size], data.y_train[:2 * cfg.batch_size], data.x_test[:8],
                      data.y_test[:8])
    run = dataclasses.replace(cfg, epochs=1, stats=StatsConfig(), init_from=None)
    model = fresh_model(run)
    mask = random_mask(model, cfg.mask.density) if cfg.mask is not None else None

    def one(d: DeviceData) -> None:
        with tempfile.TemporaryDirectory() as out:
            train(run, Path(out), model=fresh_model(run), mask=mask, device=device, progress=False, data=d)
    one(warm)
    epoch = timed(lambda: one(part), device) * data.n_train / m
    per_sample = 0.0
    if cfg.stats.every:
        k = min(n_stats, data.n_train)
        model = model.to(device)
        x, y = data.x_train[:k].to(device), data.y_train[:k].to(device)
        gradient_stats(model, (x[:cfg.stats.batch_size], y[:cfg.stats.batch_size]), batch_size=cfg.stats.batch_size,
                       progress=False)
        per_sample = timed(lambda: gradient_stats(model, (x, y), batch_size=cfg.stats.batch_size, counts=cfg.stats.counts,
                                                  progress=False), device) / k
    return epoch, per_sample


#: Small models of every family the book trains, for :func:`agreement` (the language model needs no corpus: random
#: tokens of its alphabet).
AGREEMENT_MODELS = {"mlp": ModelConfig("mlp", width=64, depth=2), "resnet_small": ModelConfig("resnet_small"),
                    "vit_tiny": ModelConfig("vit_tiny"),
                    "gpt": ModelConfig("gpt", width=32, depth=1, vocab=text_data.VOCAB_SIZE, context=16, heads=2,
                                       head_dim=16, ff=64)}


def agreement(device: torch.device, n: int = 48) -> list[tuple[str, str, float, float]]:
    """The statistics engine on ``device`` against the CPU, per model of :data:`AGREEMENT_MODELS` and backend
    (``fast``, ``functorch``): (model, backend, relative difference of coherence, largest difference of a diff)
    over ``n`` random samples. Differences of float rounding (around 1e-6) say the device path is exact."""
    out = []
    g = torch.Generator().manual_seed(0)
    for name, mc in AGREEMENT_MODELS.items():
        torch.manual_seed(0)
        model = build_model(mc)
        if name == "gpt":
            x = torch.randint(0, mc.vocab, (n, mc.context), generator=g)
            y = torch.randint(0, mc.vocab, (n, mc.context), generator=g)
        else:
            x, y = torch.randn(n, 3, 32, 32, generator=g), torch.randint(0, 10, (n,), generator=g)
        for backend in ("fast", "functorch"):
            cpu = gradient_stats(model, (x, y), backend=backend, batch_size=16, progress=False)
            dev = gradient_stats(model.to(device), (x.to(device), y.to(device)), backend=backend, batch_size=16,
                                 progress=False)
            model.cpu()
            rel = abs(dev.coherence - cpu.coherence) / max(abs(cpu.coherence), 1e-30)
            diff = max(float((dev.diffs[k] - cpu.diffs[k]).abs().max()) for k in cpu.diffs)
            out.append((name, backend, rel, diff))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--fraction", type=float, default=0.02, help="share of each split one timed epoch reads")
    ap.add_argument("--stats-samples", type=int, default=64, help="samples one timed statistics pass reads")
    ap.add_argument("--chapters", nargs="+", metavar="NN", help="only these chapters (default: every one that trains)")
    a = ap.parse_args(argv)
    if not 0 < a.fraction <= 1:
        ap.error(f"--fraction must be in (0, 1], got {a.fraction}")
    device = torch.device(a.device)
    keys = a.chapters or [c.key for c in registry.CHAPTERS]
    print(f"torch {torch.__version__}, device {device}"
          + (f" ({torch.cuda.get_device_name(device)})" if device.type == "cuda" else f", {torch.get_num_threads()} threads"))
    if device.type != "cpu":
        print("statistics on the device against the CPU (relative difference of coherence; largest difference of "
              "a diff, which moves by 2/n when one sample's sign flips on a gradient near zero):")
        for name, backend, rel, diff in agreement(device):
            print(f"  {name:13s} {backend:10s} coherence {rel:.1e}  diffs {diff:.1e}")
    owner: dict[str, str] = {}
    by_hash: dict[str, TrainConfig] = {}
    for key in keys:
        chapter = registry.get(key)
        if chapter.text:
            text_data.ensure_brown()
        for cfg in configs(registry.plan(key, profile="paper")):
            h = config_hash(cfg)
            if h not in owner:
                owner[h], by_hash[h] = key, cfg
    groups: dict[tuple, TrainConfig] = {}
    for cfg in by_hash.values():  # one config per step kind, one with statistics where the kind has any
        k = step_key(cfg)
        if k not in groups or (cfg.stats.every and not groups[k].stats.every):
            groups[k] = cfg
    print(f"{len(by_hash)} distinct paper runs in chapters {', '.join(sorted(set(owner.values())))}; "
          f"{len(groups)} step kinds to time")
    epoch_s, sample_s, n_train = {}, {}, {}
    data_cache: dict[tuple, DeviceData] = {}
    for i, (k, cfg) in enumerate(groups.items(), 1):
        dk = (cfg.data.dataset, cfg.data.n_train, cfg.data.n_test, cfg.data.context, cfg.data.seed)
        if dk not in data_cache:
            data_cache[dk] = load_data(cfg.data, device)
        data = data_cache[dk]
        epoch_s[k], sample_s[k] = time_group(cfg, data, a.fraction, a.stats_samples, device)
        n_train[k] = data.n_train
        print(f"[{i}/{len(groups)}] {run_kind(cfg)}, batch {cfg.batch_size}: {epoch_s[k]:.1f} s per epoch of "
              f"{data.n_train:,d}" + (f", {sample_s[k] * 1e3:.2f} ms per statistics sample" if sample_s[k] else ""),
              flush=True)
    secs = project(by_hash.values(), epoch_s, sample_s, n_train)
    print("\n| Chapter | Runs | Device-hours |\n|---|---:|---:|")
    for key in dict.fromkeys(owner.values()):
        mine = [h for h, o in owner.items() if o == key]
        print(f"| {key} | {len(mine)} | {sum(secs[h] for h in mine) / 3600:.1f} |")
    print(f"| **all** | {len(secs)} | **{sum(secs.values()) / 3600:.1f}** |")
    kinds: dict[str, float] = {}
    for h, cfg in by_hash.items():
        kinds[run_kind(cfg)] = kinds.get(run_kind(cfg), 0.0) + secs[h]
    print("\nlargest run kinds (device-hours): " + "; ".join(
        f"{k} {v / 3600:.1f}" for k, v in sorted(kinds.items(), key=lambda kv: -kv[1])[:6]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
