"""The local executor: train a plan's missing runs on this machine, stage by stage, in worker processes."""
from __future__ import annotations

from .. import parallel
from ..plan import Plan, describe
from .plan import RunStatus, with_status


def run_local(plan: Plan, *, progress: bool = True, workers: int = 1) -> list[list[RunStatus]]:
    """Train every missing run of ``plan`` here, stage by stage, in ``workers`` processes (1: in this
    process; :func:`lib.parallel.train`), on this machine's default device, and return the runs with
    their new status; ``progress`` prints a line as each run starts and as it lands. Runs with a
    pending or running SLURM job are trained too (whichever lands first wins). A failing run raises
    :class:`lib.parallel.RunFailed`, naming it."""
    if progress:
        parallel.train(plan, workers=workers,
                       on_start=lambda cfg: print(f"training {describe(cfg)} ...", flush=True),
                       on_finish=lambda run, s: print(f"trained {run.hash} ({describe(run.config)}) in {s:.0f} s",
                                                      flush=True))
    else:
        parallel.train(plan, workers=workers)
    return with_status(plan)
