"""Chapter 2: coherence on real versus Gaussian data (thesis Figs. 2.1-2.4, section 2.2's "gravity" check).

Per architecture (the profile's ResNet and ViT) and seed, three runs with gradient statistics: a fresh
initialisation on CIFAR-10 ("real"), the same initialisation on Gaussian noise ("gaussian"), and the
real run's final weights trained further on Gaussian noise ("real_then_gaussian").
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from .. import profiles
from ..config import Stages, TrainConfig
from ..models import ARCHS
from . import params as check
from .realdata import run_configs


FAMILIES = ("cnn", "vit")


@dataclass(frozen=True)
class Params:
    """The notebook's papermill parameters (same names and defaults). None: the profile's value."""

    profile: str = "cpu"
    seed: int = 0
    seeds: Any = None  # list of seeds for the verdicts; None: the profile's seeds
    arch_cnn: str | None = None
    arch_vit: str | None = None
    epochs: int | None = None  # real-data epochs of both models
    epochs_gaussian: int | None = None  # Gaussian-data epochs (fresh init and trained init)
    n_train: int | None = None  # training images, real and Gaussian (profile: n_train_large)
    n_test: int | None = None  # test images (profile: n_test_large)
    stats_max_samples: int | None = None  # images used for the per-sample gradient statistics
    early_frac: float = 0.25  # "early epochs": the first early_frac of the real-data run
    memorised_acc: float = 0.95  # final train accuracy on Gaussian data that counts as memorised
    ks_same: float = 0.05  # KS distance below which two |w| distributions count as "almost the same"

    def __post_init__(self) -> None:
        check_large(self)
        check.integers(self.seeds, "seeds", minimum=0)
        check.number(self.early_frac, "early_frac", low=0.0, high=1.0, low_open=True)
        check.number(self.memorised_acc, "memorised_acc", low=0.0, high=1.0)
        check.number(self.ks_same, "ks_same", low=0.0, high=1.0)


def check_large(p: Any) -> None:
    """Checks shared by chapters 2 and 3 (their ResNet/ViT parameters)."""
    check.profile(p.profile)
    check.integer(p.seed, "seed", minimum=0)
    check.choice(p.arch_cnn, "arch_cnn", [a for a in ARCHS if a.startswith("resnet")], optional=True)
    check.choice(p.arch_vit, "arch_vit", [a for a in ARCHS if a.startswith("vit")], optional=True)
    check.integer(p.epochs, "epochs", minimum=1, optional=True)
    check.integer(p.epochs_gaussian, "epochs_gaussian", minimum=1, optional=True)
    check.integer(p.n_train, "n_train", minimum=1, optional=True)
    check.integer(p.n_test, "n_test", minimum=1, optional=True)
    check.integer(p.stats_max_samples, "stats_max_samples", minimum=1, optional=True)


def large_profile(p: Any) -> profiles.Profile:
    """The profile with chapters 2-3's overrides applied (``None`` keeps the profile's value)."""
    return profiles.with_overrides(
        p.profile, arch_cnn=p.arch_cnn, arch_vit=p.arch_vit, epochs_real_cnn=p.epochs, epochs_real_vit=p.epochs,
        epochs_gaussian=p.epochs_gaussian, n_train_large=p.n_train, n_test_large=p.n_test,
        stats_max_samples=p.stats_max_samples)


@dataclass(frozen=True)
class Setup:
    """What chapter 2 runs on: its parameters, the resolved profile, seeds and run configs.

    seeds: the verdicts' seeds, ``seed`` first when it is not among them (``seed`` draws the figures).
    archs: family ("cnn", "vit") -> architecture name. configs: (family, seed) -> {run name: config}.
    """

    params: Params
    profile: profiles.Profile
    seeds: tuple[int, ...]
    archs: dict[str, str]
    configs: dict[tuple[str, int], dict[str, TrainConfig]]


def setup(**params: Any) -> Setup:
    """Validate the parameters (errors name the parameter and its value) and resolve the chapter."""
    p = check.build(Params, params)
    prof = large_profile(p)
    seeds = check.seeds_with(p.seed, prof.seeds if p.seeds is None else p.seeds)
    archs = {"cnn": prof.arch_cnn, "vit": prof.arch_vit}
    configs = {(fam, s): run_configs(prof, arch, s) for fam, arch in archs.items() for s in seeds}
    return Setup(p, prof, seeds, archs, configs)


def plan(s: Setup) -> Stages:
    """[real and gaussian runs], then [real_then_gaussian runs] (they start from the real runs' weights)."""
    return [[c[k] for c in s.configs.values() for k in ("real", "gaussian")],
            [c["real_then_gaussian"] for c in s.configs.values()]]
