"""The local executor: train a plan's missing runs in this process, stage by stage."""
from __future__ import annotations

from .. import runs
from ..config import Stages
from .plan import PlannedRun, configs_of, with_status


def run_local(stages: Stages | list[list[PlannedRun]], *, progress: bool = True) -> list[list[PlannedRun]]:
    """Train every missing run here, stage by stage (one at a time, on this machine's default device),
    and return the runs with their new status. Runs with a pending or running SLURM job are trained
    too (whichever lands first wins)."""
    configs = configs_of(stages)
    runs.train_stages(configs, progress=progress)
    return with_status(configs)
