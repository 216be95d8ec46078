"""Chapter 5: pruning dense MLPs (thesis 5.3 prune sweep, 5.4 parent scaling; Figs. 5.1-5.3)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .. import profiles
from ..config import Stages, TrainConfig, merge_stages
from ..experiments import plan_configs
from . import params as check

METHODS = ("diff", "magnitude", "random")


@dataclass(frozen=True)
class Params:
    """The notebook's papermill parameters (same names and defaults). None: the profile's value."""

    profile: str = "cpu"
    seed: int = 0
    widths: Any = None  # child widths of the prune sweep (profile: prune_widths)
    ratios: Any = None  # parent/child weight ratios of the parent-scaling sweep (profile: ratios)
    density: float = 0.1  # fraction of the parent's weights kept in the prune sweep
    epochs: int | None = None  # epochs of parents and children (profile: mlp_epochs)
    seeds: Any = None  # seeds (profile: seeds); `seed` is added when it is not among them

    def __post_init__(self) -> None:
        check.profile(self.profile)
        check.integer(self.seed, "seed", minimum=0)
        check.integers(self.widths, "widths", minimum=1)
        check.numbers_list(self.ratios, "ratios", low=1.0)
        check.density(self.density)
        check.integer(self.epochs, "epochs", minimum=1, optional=True)
        check.integers(self.seeds, "seeds", minimum=0)


@dataclass(frozen=True)
class Setup:
    """Chapter 5's parameters, resolved profile, template config, sorted child widths, seeds and the
    prune sweep's parent ratio (``1 / density``)."""

    params: Params
    profile: profiles.Profile
    base: TrainConfig
    widths: tuple[int, ...]
    seeds: tuple[int, ...]
    ratio: float


def setup(**params: Any) -> Setup:
    """Validate the parameters (errors name the parameter and its value) and resolve the chapter."""
    p = check.build(Params, params)
    prof = profiles.with_overrides(p.profile, prune_widths=p.widths, ratios=p.ratios, mlp_epochs=p.epochs,
                                   seeds=p.seeds)
    base = profiles.mlp_config(prof, prof.base_width)
    return Setup(p, prof, base, tuple(sorted(prof.prune_widths)), check.seeds_with(p.seed, prof.seeds),
                 1.0 / p.density)


def plan(s: Setup) -> Stages:
    """[parents of both sweeps], [children and dense baselines]."""
    sweep = plan_configs("prune_sweep", s.base, s.widths, METHODS, density=s.params.density, seeds=s.seeds,
                         ratio=s.ratio)
    scaling = plan_configs("parent_scaling", s.base, s.profile.base_width, s.profile.ratios, METHODS, seeds=s.seeds)
    return merge_stages([sweep, scaling])
