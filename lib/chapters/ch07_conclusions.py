"""Chapter 7: the conclusions of thesis section 7.1 against the verdicts stored by chapters 2-6. Trains nothing."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .. import profiles
from ..config import Stages
from . import params as check


@dataclass(frozen=True)
class Params:
    """The notebook's papermill parameters (same names and defaults)."""

    profile: str = "cpu"
    seed: int = 0

    def __post_init__(self) -> None:
        check.profile(self.profile)
        check.integer(self.seed, "seed", minimum=0)


@dataclass(frozen=True)
class Setup:
    """Chapter 7's parameters and the resolved profile."""

    params: Params
    profile: profiles.Profile


def setup(**params: Any) -> Setup:
    """Validate the parameters (errors name the parameter and its value) and resolve the chapter."""
    p = check.build(Params, params)
    return Setup(p, profiles.get(p.profile))


def plan(s: Setup) -> Stages:
    """Nothing: chapter 7 reads the stored verdicts."""
    return []
