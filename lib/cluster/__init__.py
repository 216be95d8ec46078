"""Plan the training runs of chapters or experiments, and train the missing ones here or on SLURM.

* :mod:`lib.cluster.plan`: :func:`plan` lists the runs a chapter
  (``"02"`` ... ``"07"``, see :data:`lib.chapters.registry.CHAPTERS`; its module's ``plan``) or an
  experiment (``"prune_sweep"``, ... of :mod:`lib.experiments`, or ``"real_vs_gaussian"``) needs, in
  stages: a stage only needs runs of earlier stages (pruning parents before their children, a run
  before the runs that start from its weights). Each run is marked ``done`` (in the run cache),
  ``running`` (a recorded SLURM job is pending or running), ``failed`` (its recorded job ended without
  the run landing) or ``missing``.
* Executors: :func:`run_local` (:mod:`lib.cluster.local`) trains the missing runs here with the one
  executor (:func:`lib.parallel.train`), stage by stage; :func:`submit_slurm` (:mod:`lib.cluster.slurm`,
  where the SLURM details are) sends them to SLURM with submitit, one job array per stage chained by
  SLURM dependencies, and returns at once (or waits, with ``wait=True``).
* :mod:`lib.cluster.cli`: ``python -m lib.cluster --profile paper --chapters 05`` shows the plan
  and its status; ``--executor local`` or ``--executor slurm`` trains what is missing.

Note: ``lib.cluster.plan`` is the function :func:`~lib.cluster.plan.plan`; import the module's other
names with ``from lib.cluster.plan import ...`` (or from this package).
"""
from ..config import dependencies
from ..plan import Plan, Planned, merge
from .plan import (ACTIVE_STATES, STATUSES, RunStatus, chapter_plan, chapter_stages, counts, experiment_plan, queue,
                   read_job, status_of, summary_line, with_status)
from .plan import plan  # after the other names: from here on ``lib.cluster.plan`` is the function
from .local import run_local
from .slurm import (SLURM_COMMANDS, ClusterError, SlurmSettings, TrainTask, check_cluster, default_config_file,
                    load_settings, partitions, submit_slurm, wait_for, write_job)
from . import cli
from .cli import add_arguments, dispatch_chapters, main, settings_from_args

__all__ = [
    "ACTIVE_STATES", "STATUSES", "SLURM_COMMANDS", "ClusterError", "Plan", "Planned", "RunStatus", "SlurmSettings",
    "TrainTask", "add_arguments", "chapter_plan", "chapter_stages", "check_cluster", "cli", "counts",
    "default_config_file", "dependencies", "dispatch_chapters", "experiment_plan", "load_settings", "main",
    "merge", "partitions", "plan", "queue", "read_job", "run_local", "settings_from_args", "status_of",
    "submit_slurm", "summary_line", "wait_for", "with_status", "write_job",
]
