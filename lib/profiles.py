"""Profiles: the scale at which the book is computed. Chapters look a profile up by name.

* ``smoke``: CI. Tiny data, 1-3 epochs: proves the code paths and draws every figure, shows no science.
* ``cpu``: the default a reader builds on a laptop (2 cores, about 82 minutes for the whole book, README):
  real CIFAR-10 subsets, small models (``resnet_small``, ``vit_tiny``, narrow MLPs). What differs
  from the thesis, and why:

  - learning rates: Adam 1e-3 for the MLPs and the ViT (thesis 1e-4). With 20 epochs on 5,000 images
    an MLP gets about 800 steps (the thesis's 200 epochs on 50,000 images give about 78,000); at 1e-4
    the 10 %-kept children stopped near 0.3 train accuracy, i.e. they were not trained, not
    over-fitted. ResNet SGD 0.1 in chapter 6 too (thesis 0.5), untested at this scale.
  - epochs 10-20 instead of 200-1000, and subsets: 5,000 images (MLPs), 1,000 (chapters 2-3 and 6;
    chapter 6 trains 11 runs per architecture and seed).
  - gradient statistics on the first 256 training images of each run, every epoch (per-sample
    gradients of convolutions are the most expensive part of a ResNet epoch on a CPU); a ResNet's 64 at a
    time (``stats_batch_conv``: 1.41x the speed of 256 on one thread, coherence equal to 3e-9,
    ``benchmarks/stats_batch.py``, 2026-12-07).
  - three seeds. Five would take the book far past its 90-minute budget: measured on 2026-12-07/08, seeds
    0-2 of chapters 2-10 took 96 minutes from an empty cache and seeds 3 and 4 another 58.7 (the README's
    table, before the children's cheaper test pass; after it 82 minutes, five seeds about 130). A chapter
    that can pay for more seeds gets them with
    ``seeds`` and ``fewer_seeds_chapters`` (:func:`chapter_seeds`).
  - per-epoch test metrics on the subsets above, but every CIFAR-10 run's final test loss and accuracy
    on all 10,000 test images (``final_test``: one forward pass per run; on 1,000 images a test accuracy
    near 0.27 has a sampling sd of 0.014, as large as the seed-to-seed sd of some paired differences).
    The children of the pruning chapters, whose per-epoch test curve nothing reads, skip the per-epoch
    subset and keep only that final test (:func:`lib.experiments.child_config`).
* ``paper``: the thesis's own settings, for a GPU: ResNet50 SGD lr 0.1 (chapters 2-3) and 0.5
  (chapter 6); ViT Adam 1e-4; MLPs Adam 1e-4 for 200 epochs; real data 300 epochs (ViT 200),
  Gaussian data 1000 epochs; full CIFAR-10.

A chapter overrides single fields with ``dataclasses.replace(profile, field=value)``
(see :func:`with_overrides`).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from .data import DataConfig
from .models import ModelConfig
from .config import OptimConfig, StatsConfig, TrainConfig


@dataclass(frozen=True)
class Profile:
    """All knobs of a profile (flat fields, so papermill parameters map onto them one to one)."""

    name: str
    # data sizes: MLP chapters, and the ResNet/ViT chapters
    n_train: int
    n_test: int
    n_train_large: int
    n_test_large: int
    batch_size: int
    # chapters 2-3: real vs Gaussian
    arch_cnn: str
    arch_vit: str
    cnn_lr: float
    vit_lr: float
    epochs_real_cnn: int
    epochs_real_vit: int
    epochs_gaussian: int
    # chapters 4-5: MLPs
    widths: tuple[int, ...]
    prune_widths: tuple[int, ...]
    mlp_lr: float
    mlp_epochs: int
    base_width: int
    ratios: tuple[float, ...]
    # chapter 6 (its own, smaller data: it trains 11 runs per architecture and seed)
    prune_cnn_lr: float
    prune_epochs: int
    prune_n_train: int
    prune_n_test: int
    # statistics and repetitions
    stats_every: int
    stats_max_samples: int
    seeds: tuple[int, ...]
    # final test metrics of every CIFAR-10 run over all 10,000 test images (TrainConfig.final_test)
    final_test: bool = False
    # samples per batch of the gradient statistics of the ResNets (StatsConfig.batch_size; the same results to
    # float rounding at any batch, measured by benchmarks/stats_batch.py)
    stats_batch_conv: int = 256
    # chapters ("05", ...) that train and test over only the first ``fewer_seeds`` of ``seeds``: where the
    # profile's time budget cannot pay for all of them (:func:`chapter_seeds`; no profile needs it today)
    fewer_seeds_chapters: tuple[str, ...] = ()
    fewer_seeds: int = 0

    def __post_init__(self) -> None:
        if not self.seeds or len(set(self.seeds)) != len(self.seeds):
            raise ValueError(f"profile {self.name!r}: seeds = {self.seeds!r}; give one or more distinct seeds")
        bad = [c for c in self.fewer_seeds_chapters if not (len(c) == 2 and c.isdigit())]
        if bad:
            raise ValueError(f"profile {self.name!r}: fewer_seeds_chapters = {bad!r}; give two-digit chapter "
                             "keys such as '05'")
        if self.fewer_seeds_chapters and not 1 <= self.fewer_seeds <= len(self.seeds):
            raise ValueError(f"profile {self.name!r}: fewer_seeds = {self.fewer_seeds!r}; allowed 1 to "
                             f"{len(self.seeds)} (the number of seeds) when fewer_seeds_chapters is set")
        for reader, sources in READS_RUNS_OF.items():
            for source in sources:
                if len(chapter_seeds(self, reader)) > len(chapter_seeds(self, source)):
                    raise ValueError(
                        f"profile {self.name!r}: chapter {reader} reads chapter {source}'s runs but would run more "
                        f"seeds ({len(chapter_seeds(self, reader))} against {len(chapter_seeds(self, source))}), "
                        f"so it would train {source}'s runs itself; add {reader!r} to fewer_seeds_chapters")


#: Chapters that read runs another chapter plans (and trains first in a build), by the reader's key.
READS_RUNS_OF: dict[str, tuple[str, ...]] = {"03": ("02",), "04": ("02",), "06": ("02",), "08": ("02", "04"),
                                            "09": ("02", "05", "06")}


def chapter_seeds(p: Profile, chapter: str) -> tuple[int, ...]:
    """The seeds chapter ``chapter`` (``"05"``) runs at profile ``p`` by default: all of ``p.seeds``, or
    their first ``p.fewer_seeds`` for the chapters of ``p.fewer_seeds_chapters``."""
    return p.seeds[:p.fewer_seeds] if chapter in p.fewer_seeds_chapters else p.seeds


PROFILES: dict[str, Profile] = {
    "smoke": Profile(
        name="smoke", n_train=200, n_test=100, n_train_large=100, n_test_large=50, batch_size=50,
        arch_cnn="resnet_small", arch_vit="vit_tiny", cnn_lr=0.1, vit_lr=1e-3,
        epochs_real_cnn=2, epochs_real_vit=2, epochs_gaussian=3,
        widths=(16, 32), prune_widths=(16, 32), mlp_lr=1e-3, mlp_epochs=2, base_width=16, ratios=(1, 4),
        prune_cnn_lr=0.1, prune_epochs=2, prune_n_train=100, prune_n_test=50,
        stats_every=1, stats_max_samples=100, seeds=(0, 1),
    ),
    "cpu": Profile(
        name="cpu", n_train=5000, n_test=2000, n_train_large=1000, n_test_large=1000, batch_size=128,
        arch_cnn="resnet_small", arch_vit="vit_tiny", cnn_lr=0.1, vit_lr=1e-3,
        epochs_real_cnn=10, epochs_real_vit=10, epochs_gaussian=20,
        widths=(32, 64, 128, 256, 512, 1024), prune_widths=(32, 64, 128, 256), mlp_lr=1e-3, mlp_epochs=20,
        base_width=64, ratios=(1, 2, 5, 10, 20), prune_cnn_lr=0.1, prune_epochs=10,
        prune_n_train=1000, prune_n_test=1000, stats_every=1, stats_max_samples=256, seeds=(0, 1, 2),
        final_test=True, stats_batch_conv=64,
    ),
    "paper": Profile(
        name="paper", n_train=0, n_test=0, n_train_large=0, n_test_large=0, batch_size=128,
        arch_cnn="resnet50", arch_vit="vit", cnn_lr=0.1, vit_lr=1e-4,
        epochs_real_cnn=300, epochs_real_vit=200, epochs_gaussian=1000,
        widths=(256, 512, 1024, 1536, 2048, 2800), prune_widths=(128, 256, 512, 1024), mlp_lr=1e-4,
        mlp_epochs=200, base_width=512, ratios=(1, 2, 5, 10, 20, 40, 62), prune_cnn_lr=0.5, prune_epochs=300,
        prune_n_train=0, prune_n_test=0,
        stats_every=1, stats_max_samples=10000, seeds=(0, 1, 2),
    ),
}


def get(name: str) -> Profile:
    """The profile called ``name``."""
    if name not in PROFILES:
        raise ValueError(f"unknown profile {name!r}; known: {', '.join(PROFILES)}")
    return PROFILES[name]


def with_overrides(profile: Profile | str, **overrides: Any) -> Profile:
    """``profile`` with the given fields replaced; ``None`` values are ignored (papermill's "default")."""
    p = get(profile) if isinstance(profile, str) else profile
    known = {f.name for f in dataclasses.fields(Profile)}
    bad = sorted(set(overrides) - known)
    if bad:
        raise ValueError(f"unknown profile field(s) {bad}; known: {sorted(known)}")
    clean = {k: (tuple(v) if isinstance(v, list) else v) for k, v in overrides.items() if v is not None}
    return dataclasses.replace(p, **clean)


def _stats(p: Profile, *, test: bool = False, batch: int | None = None) -> StatsConfig:
    """The profile's gradient statistics: every ``stats_every`` epochs on the first ``stats_max_samples``
    training images, with exact sign and nonzero counts in the stored diffs (chapter 8 tests each diff
    against fair coin flips); with ``test``, also on as many test images (chapter 8, question 4); ``batch``
    samples per batch of the statistics engine (None: :class:`lib.config.StatsConfig`'s default)."""
    extra = {} if batch is None else {"batch_size": batch}
    return StatsConfig(every=p.stats_every, max_samples=p.stats_max_samples, counts=True,
                       test_samples=p.stats_max_samples if test else 0, **extra)


def is_vit(arch: str) -> bool:
    """Whether ``arch`` is a ViT (trained with Adam) rather than a ResNet (trained with SGD)."""
    return arch.startswith("vit")


#: Training and test images of Gaussian data where a profile uses all of CIFAR-10 (its sizes).
GAUSSIAN_FULL: tuple[int, int] = (50_000, 10_000)


def large_config(p: Profile, arch: str, *, dataset: str = "cifar10", epochs: int | None = None,
                 seed: int = 0, stats: bool = True, lr: float | None = None,
                 n_train: int | None = None, n_test: int | None = None) -> TrainConfig:
    """A ResNet or ViT run of chapters 2, 3 and 6: SGD for ResNets, Adam for ViTs, as in the thesis.
    Data sizes default to the profile's ``n_train_large`` / ``n_test_large``; where those mean "all of
    CIFAR-10" (0), Gaussian data gets CIFAR-10's sizes (:data:`GAUSSIAN_FULL`), as in the thesis."""
    n_train = p.n_train_large if n_train is None else n_train
    n_test = p.n_test_large if n_test is None else n_test
    if dataset == "gaussian":
        n_train, n_test = n_train or GAUSSIAN_FULL[0], n_test or GAUSSIAN_FULL[1]
    if epochs is None:
        epochs = p.epochs_gaussian if dataset == "gaussian" else (p.epochs_real_vit if is_vit(arch) else p.epochs_real_cnn)
    optim = OptimConfig("adam", lr or p.vit_lr) if is_vit(arch) else OptimConfig("sgd", lr or p.cnn_lr)
    return TrainConfig(
        data=DataConfig(dataset, n_train, n_test, seed=0),
        model=ModelConfig(arch=arch), optim=optim, batch_size=p.batch_size, epochs=epochs, seed=seed,
        stats=(_stats(p) if is_vit(arch) else _stats(p, batch=p.stats_batch_conv)) if stats else StatsConfig(),
        final_test=p.final_test and dataset != "gaussian",
    )


def mlp_config(p: Profile, width: int, *, seed: int = 0, stats: bool = True) -> TrainConfig:
    """A dense MLP run of chapters 4, 5 and 8 (Adam, the profile's learning rate and epochs); with ``stats``,
    gradient statistics on training and test images (:func:`_stats`)."""
    return TrainConfig(
        data=DataConfig("cifar10", p.n_train, p.n_test, seed=0), model=ModelConfig("mlp", width=width),
        optim=OptimConfig("adam", p.mlp_lr), batch_size=p.batch_size, epochs=p.mlp_epochs, seed=seed,
        stats=_stats(p, test=True) if stats else StatsConfig(), final_test=p.final_test,
    )


def final_test_text(cfg: TrainConfig) -> str:
    """What a run's final test accuracy is measured on, for a chapter's settings line: "all 10,000 test
    images" where it scores the whole CIFAR-10 test split (``final_test``, or ``n_test`` 0), else "the
    1,000 test images of its subset"."""
    if cfg.final_test or not cfg.data.n_test:
        return "all 10,000 test images"
    return f"the {cfg.data.n_test:,d} test images of its subset"


def seeds_text(p: Profile) -> str:
    """"5 (3 in chapters 5 and 9)": how many seeds the profile's chapters run."""
    if not p.fewer_seeds_chapters:
        return str(len(p.seeds))
    few = [c.lstrip("0") for c in sorted(p.fewer_seeds_chapters)]
    names = few[0] if len(few) == 1 else ", ".join(few[:-1]) + " and " + few[-1]
    return f"{len(p.seeds)} ({p.fewer_seeds} in chapter{'s' if len(few) > 1 else ''} {names})"


def _images(n_train: int, n_test: int) -> str:
    """"5,000 / 2,000" training / test images, 0 meaning all of CIFAR-10 (50,000 / 10,000)."""
    return f"{n_train or 50000:,d} / {n_test or 10000:,d}"


def settings_markdown(names: tuple[str, ...] | None = None) -> str:
    """A Markdown table of what each profile computes (models, training / test images, epochs, seeds,
    gradient-statistics samples), read from :data:`PROFILES`, so the pages that describe the profiles
    (the reproduce page) never carry a typed number."""
    rows = ["| Profile | ResNet / ViT, chapters 2-3 (training / test images) | MLPs, chapters 4-5 | chapter 6 "
            "| seeds | gradient statistics on | final test accuracy on (CIFAR-10) |",
            "|---|---|---|---|---|---|---|"]
    for name in names or tuple(PROFILES):
        p = get(name)
        widths = ", ".join(map(str, p.widths))
        rows.append(
            f"| `{p.name}` "
            f"| `{p.arch_cnn}`, `{p.arch_vit}`; {_images(p.n_train_large, p.n_test_large)} images; real "
            f"{p.epochs_real_cnn} / {p.epochs_real_vit} epochs, Gaussian {p.epochs_gaussian} "
            f"| widths {widths} (chapter 4); children of widths {', '.join(map(str, p.prune_widths))} pruned "
            f"from parents {', '.join(f'{r:g}' for r in p.ratios)} times larger (chapter 5); "
            f"{_images(p.n_train, p.n_test)} images; {p.mlp_epochs} epochs "
            f"| `{p.arch_cnn}`, `{p.arch_vit}`; {_images(p.prune_n_train, p.prune_n_test)} images; "
            f"{p.prune_epochs} epochs "
            f"| {seeds_text(p)} "
            f"| {p.stats_max_samples:,d} training images, "
            f"{'every epoch' if p.stats_every == 1 else f'every {p.stats_every} epochs'} "
            f"| {'all 10,000 (the final weights)' if p.final_test or not p.n_test else 'the subset'} |")
    return "\n".join(rows)
