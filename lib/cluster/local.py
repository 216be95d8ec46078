"""The local executor: train a plan's missing runs on this machine, stage by stage, in worker processes."""
from __future__ import annotations

from .. import parallel
from ..config import Stages
from .plan import PlannedRun, configs_of, with_status


def run_local(stages: Stages | list[list[PlannedRun]], *, progress: bool = True,
              workers: int = 1) -> list[list[PlannedRun]]:
    """Train every missing run here, stage by stage, in ``workers`` processes (1: in this process; see
    :func:`lib.parallel.train_stages`), on this machine's default device, and return the runs with
    their new status; ``progress`` prints a line as each run starts and as it lands. Runs with a
    pending or running SLURM job are trained too (whichever lands first wins). A failing run raises
    :class:`lib.parallel.RunFailed`, naming it."""
    configs = configs_of(stages)
    if progress:
        parallel.train_stages(configs, workers=workers,
                              started=lambda cfg: print(f"training {parallel.describe(cfg)} ...", flush=True),
                              finished=lambda run, s: print(f"trained {run.hash} ({parallel.describe(run.config)}) "
                                                            f"in {s:.0f} s", flush=True))
    else:
        parallel.train_stages(configs, workers=workers)
    return with_status(configs)
