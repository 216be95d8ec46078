"""Chapter 3: diffs, a per-weight view of coherence (thesis Figs. 3.1-3.4), from chapter 2's runs of one seed."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .. import profiles
from ..config import Stages, TrainConfig
from . import params as check
from .ch02_coherence import check_large, large_profile
from .realdata import run_configs



@dataclass(frozen=True)
class Params:
    """The notebook's papermill parameters (same names and defaults). None: the profile's value."""

    profile: str = "cpu"
    seed: int = 0
    arch_cnn: str | None = None
    arch_vit: str | None = None
    epochs: int | None = None  # real-data epochs of both models
    epochs_gaussian: int | None = None  # Gaussian-data epochs
    n_train: int | None = None  # training images, real and Gaussian (profile: n_train_large)
    n_test: int | None = None  # test images (profile: n_test_large)
    stats_max_samples: int | None = None  # images used for the per-sample gradient statistics and diffs
    k: int = 10  # highest- and lowest-|diff| weights followed in Figures 3.3 and 3.4
    n_perm: int = 20000  # label permutations of the displacement test
    alpha_test: float = 0.05  # significance level of that test
    centre_tol: float = 0.25  # "centred": |mean diff| below centre_tol standard deviations
    kurtosis_tol: float = 1.0  # "roughly normal": |excess kurtosis| below this

    def __post_init__(self) -> None:
        check_large(self)
        check.integer(self.k, "k", minimum=1)
        check.integer(self.n_perm, "n_perm", minimum=1)
        check.number(self.alpha_test, "alpha_test", low=0.0, high=1.0, low_open=True, high_open=True)
        check.number(self.centre_tol, "centre_tol", low=0.0, low_open=True)
        check.number(self.kurtosis_tol, "kurtosis_tol", low=0.0, low_open=True)


@dataclass(frozen=True)
class Setup:
    """Chapter 3's parameters, resolved profile, architectures and the real/gaussian configs of ``seed``."""

    params: Params
    profile: profiles.Profile
    archs: dict[str, str]
    configs: dict[str, dict[str, TrainConfig]]  # family -> {run name: config}


def setup(**params: Any) -> Setup:
    """Validate the parameters (errors name the parameter and its value) and resolve the chapter."""
    p = check.build(Params, params)
    prof = large_profile(p)
    archs = {"cnn": prof.arch_cnn, "vit": prof.arch_vit}
    return Setup(p, prof, archs, {fam: run_configs(prof, arch, p.seed) for fam, arch in archs.items()})


def plan(s: Setup) -> Stages:
    """One stage: the real and gaussian runs of both architectures (chapter 2's, for ``seed``)."""
    return [[c[k] for c in s.configs.values() for k in ("real", "gaussian")]]
