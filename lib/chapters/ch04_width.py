"""Chapter 4: width, coherence and generalization in dense MLPs (thesis Figs. 4.1-4.4)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .. import profiles
from ..config import Stages, TrainConfig
from ..experiments import plan_configs
from . import params as check


@dataclass(frozen=True)
class Params:
    """The notebook's papermill parameters (same names and defaults). None: the profile's value."""

    profile: str = "cpu"
    seed: int = 0
    widths: Any = None  # hidden-layer widths of the sweep (profile: widths)
    epochs: int | None = None  # training epochs (profile: mlp_epochs)
    seeds: Any = None  # seeds (profile: seeds); `seed` is added when it is not among them

    def __post_init__(self) -> None:
        check.profile(self.profile)
        check.integer(self.seed, "seed", minimum=0)
        check.integers(self.widths, "widths", minimum=1)
        check.integer(self.epochs, "epochs", minimum=1, optional=True)
        check.integers(self.seeds, "seeds", minimum=0)


@dataclass(frozen=True)
class Setup:
    """Chapter 4's parameters, resolved profile, the template config (its width is replaced per run),
    sorted widths and seeds (``seed`` first when it is not among the profile's)."""

    params: Params
    profile: profiles.Profile
    base: TrainConfig
    widths: tuple[int, ...]
    seeds: tuple[int, ...]


def setup(**params: Any) -> Setup:
    """Validate the parameters (errors name the parameter and its value) and resolve the chapter."""
    p = check.build(Params, params)
    prof = profiles.with_overrides(p.profile, widths=p.widths, mlp_epochs=p.epochs, seeds=p.seeds)
    base = profiles.mlp_config(prof, prof.widths[0])
    return Setup(p, prof, base, tuple(sorted(prof.widths)), check.seeds_with(p.seed, prof.seeds))


def plan(s: Setup) -> Stages:
    """One stage: a dense MLP with gradient statistics per (width, seed)."""
    return plan_configs("width_sweep", s.base, s.widths, s.seeds)
