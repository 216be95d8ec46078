"""Chapter 6: pruning the ResNet and the ViT (thesis Tables 6.1, 6.2, 6.5, 6.6; Figs. 6.3, 6.4)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .. import profiles
from ..config import Stages, TrainConfig, merge_stages
from ..experiments import plan_configs
from ..models import ARCHS
from . import params as check
from .large import METHODS, SCOPES, base_config, scope_floor


@dataclass(frozen=True)
class Params:
    """The notebook's papermill parameters (same names and defaults). None: the profile's value."""

    profile: str = "cpu"
    seed: int = 0  # first seed; children use seed + 1000 (lib.experiments.CHILD_SEED_OFFSET)
    arch_cnn: str | None = None  # ResNet of the profile (cpu: resnet_small; paper: resnet50)
    arch_vit: str | None = None  # ViT of the profile (cpu: vit_tiny; paper: vit)
    density: float = 0.1  # fraction of the prunable weights KEPT
    floor: float = 0.02  # global ranking: every pruned tensor keeps at least this fraction
    epochs: int | None = None  # epochs of parents and children (profile: prune_epochs)
    seeds: Any = None  # list of seeds; None: as many as the profile's seeds, starting at `seed`
    inversion_gap: float = 0.02  # test-accuracy gap magnitude_best - magnitude_worst that counts as "small"

    def __post_init__(self) -> None:
        check.profile(self.profile)
        check.integer(self.seed, "seed", minimum=0)
        check.choice(self.arch_cnn, "arch_cnn", [a for a in ARCHS if a.startswith("resnet")], optional=True)
        check.choice(self.arch_vit, "arch_vit", [a for a in ARCHS if a.startswith("vit")], optional=True)
        check.density(self.density)
        check.number(self.floor, "floor", low=0.0, high=self.density)
        check.integer(self.epochs, "epochs", minimum=1, optional=True)
        check.integers(self.seeds, "seeds", minimum=0)
        check.number(self.inversion_gap, "inversion_gap", low=0.0)


@dataclass(frozen=True)
class Setup:
    """Chapter 6's parameters, resolved profile, seeds, architectures and dense parent configs
    (family "resnet"/"vit" -> config; each seed replaces the config's seed)."""

    params: Params
    profile: profiles.Profile
    seeds: tuple[int, ...]
    archs: dict[str, str]
    bases: dict[str, TrainConfig]


def setup(**params: Any) -> Setup:
    """Validate the parameters (errors name the parameter and its value) and resolve the chapter."""
    p = check.build(Params, params)
    prof = profiles.with_overrides(p.profile, arch_cnn=p.arch_cnn, arch_vit=p.arch_vit, prune_epochs=p.epochs)
    seeds = tuple(p.seeds) if p.seeds is not None else tuple(p.seed + i for i in range(len(prof.seeds)))
    archs = {"resnet": prof.arch_cnn, "vit": prof.arch_vit}
    return Setup(p, prof, seeds, archs, {fam: base_config(prof, arch) for fam, arch in archs.items()})


def plan(s: Setup) -> Stages:
    """[parents], [children and dense "none" runs] of both architectures and both scopes."""
    return merge_stages(
        plan_configs("prune_large", base, METHODS, scope=scope, floor=scope_floor(scope, s.params.floor),
                     density=s.params.density, seeds=s.seeds)
        for base in s.bases.values() for scope in SCOPES)
