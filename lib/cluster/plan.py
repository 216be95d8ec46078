"""Plan the training runs of chapters or experiments, in stages, and tell which of them are done.

* :func:`chapter_plan` is the :data:`lib.plan.Plan` a chapter trains: :func:`lib.chapters.registry.plan`,
  i.e. the chapter module's ``plan(setup(**params))``, so the planner and the notebook use the same
  object (chapters that train nothing, like 07, give ``[]``); :func:`chapter_stages` lists its configs
  stage by stage. :func:`experiment_plan` does the same for an experiment (``"prune_sweep"``, ... of
  :mod:`lib.experiments`, or ``"real_vs_gaussian"`` of :mod:`lib.chapters.realdata`).
* Stages: a stage only needs runs of earlier stages (pruning parents before their children, a run
  before the runs that start from its weights); several plans merge with :func:`lib.plan.merge`.
* :func:`plan` returns each run with its status (a :class:`RunStatus`): ``done`` (in the run cache),
  ``running`` (a recorded SLURM job is pending or running), ``failed`` (its recorded job ended without
  the run landing) or ``missing``. The job records (``runs/train/.job-<hash>.json``, written by
  :mod:`lib.cluster.slurm`) and the queue (``squeue``; no accounting database is needed) tell them apart.
"""
from __future__ import annotations

import getpass
import json
import shutil
import subprocess
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Sequence

from .. import paths, runs
from ..chapters import registry
from ..chapters.realdata import plan_real_vs_gaussian
from ..config import TrainConfig, config_hash
from ..experiments import plan_experiment
from ..plan import Plan, merge, stage_configs

#: The statuses a planned run can have; ``submitted`` = submitted by this invocation.
STATUSES = ("done", "running", "submitted", "failed", "missing")
#: squeue states of a job that has not ended.
ACTIVE_STATES = {"PENDING", "RUNNING", "CONFIGURING", "COMPLETING", "REQUEUED", "REQUEUE_FED", "REQUEUE_HOLD",
                 "RESIZING", "SUSPENDED", "STAGE_OUT", "SIGNALING", "RESV_DEL_HOLD", "SPECIAL_EXIT", "STOPPED"}


# ----------------------------------------------------------------------------------- the runs
def chapter_plan(key: str | int, **params: Any) -> Plan:
    """The plan of chapter ``key`` (``"05"``, ``5``, ``"05_pruning_mlp"``) for its papermill ``params``
    (``profile=...``, ...); ``[]`` for a chapter that trains nothing. An unknown chapter is a ValueError
    naming the known ones."""
    return registry.plan(key, **params)


def chapter_stages(key: str | int, **params: Any) -> list[list[TrainConfig]]:
    """The configs of :func:`chapter_plan`, stage by stage (what ``tests/fixtures/planned_hashes.json`` pins)."""
    return stage_configs(chapter_plan(key, **params))


def experiment_plan(name: str, *args: Any, **kwargs: Any) -> Plan:
    """The plan of an experiment of :mod:`lib.experiments` (the arguments of its ``plan_*`` function), or
    of ``"real_vs_gaussian"`` (arguments of :func:`lib.chapters.realdata.plan_real_vs_gaussian`)."""
    if name == "real_vs_gaussian":
        return plan_real_vs_gaussian(*args, **kwargs)
    return plan_experiment(name, *args, **kwargs)


# ------------------------------------------------------------------------------------ statuses
@dataclass
class RunStatus:
    """Where one run of a plan stands: its config, hash, stage, status and (when it has one) its SLURM job
    record."""

    config: TrainConfig
    hash: str
    stage: int
    status: str = "missing"
    job: dict[str, Any] | None = None
    detail: str = ""

    def line(self) -> str:
        """One line for a person: status, hash, stage, what the run is, its job and (failed) its log."""
        job = f" job {self.job['job_id']}" if self.job else ""
        log = f"; log: {self.job['stderr']}" if self.job and self.status == "failed" else ""
        what = f"{self.config.model.arch} {self.config.data.dataset} seed {self.config.seed}"
        what += f", {self.config.mask.method} mask" if self.config.mask is not None else ""
        return f"{self.status:9s} {self.hash} stage {self.stage} ({what}){job}" + \
            (f": {self.detail}" if self.detail else "") + log


def read_job(run_hash: str) -> dict[str, Any] | None:
    """The recorded SLURM job of a run, or None."""
    try:
        return json.loads(paths.job_record(run_hash).read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def queue() -> dict[str, tuple[str, str]] | None:
    """Job id -> (state, reason) of this user's jobs that SLURM still knows (array tasks one by one;
    ended jobs for a few minutes, see MinJobAge); None when ``squeue`` is not available."""
    if shutil.which("squeue") is None:
        return None
    try:
        out = subprocess.run(["squeue", "-h", "-r", "-t", "all", "-u", getpass.getuser(), "-o", "%i|%T|%r"],
                             capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if out.returncode != 0:
        return None
    jobs: dict[str, tuple[str, str]] = {}
    for line in out.stdout.splitlines():
        parts = line.strip().split("|")
        if len(parts) == 3:
            jobs[parts[0]] = (parts[1], parts[2])
    return jobs


def _failure(run_hash: str, job: dict[str, Any]) -> str:
    """The last line of a failed job's error: from the JSON outcome the job wrote (:func:`lib.paths.job_outcome`),
    else from its stderr log. submitit's result pickle is never read: unpickling a file in a shared folder
    could run code."""
    try:
        outcome = json.loads(paths.job_outcome(run_hash).read_text())
        if outcome.get("outcome") == "error":
            lines = [x for x in str(outcome.get("error", "")).strip().splitlines() if x.strip()]
            return lines[-1].strip()[:300] if lines else "error"
    except (OSError, ValueError, AttributeError):
        pass
    try:
        lines = [x for x in Path(job["stderr"]).read_text(errors="replace").splitlines() if x.strip()]
        return lines[-1].strip()[:300] if lines else "no error output"
    except Exception:
        return "job ended without a result and without a log (did it start?)"


def status_of(cfg: TrainConfig, jobs: dict[str, tuple[str, str]] | None) -> tuple[str, dict[str, Any] | None, str]:
    """(status, job record, detail) of one run, given a :func:`queue` snapshot taken just before. A job
    that waits on a failed run (``DependencyNeverSatisfied``) is cancelled and reported failed."""
    h = config_hash(cfg)
    if runs.is_cached(cfg):
        return "done", read_job(h), ""
    job = read_job(h)
    if job is None:
        return "missing", None, ""
    if jobs is None:
        return "running", job, "squeue unavailable: status of the recorded job unknown"
    state, reason = jobs.get(job["job_id"], ("", ""))
    if state == "PENDING" and reason == "DependencyNeverSatisfied":
        subprocess.run(["scancel", job["job_id"]], capture_output=True)
        return "failed", job, "a run it needs failed"
    if state in ACTIVE_STATES:
        return "running", job, state.lower() + (f" ({reason})" if reason not in ("None", "") else "")
    if runs.is_cached(cfg):  # landed between the checks
        return "done", job, ""
    return "failed", job, (f"{state.lower()}: " if state else "") + _failure(h, job)


def with_status(plan: Plan) -> list[list[RunStatus]]:
    """The status of every run of ``plan``, stage by stage (one ``squeue`` call)."""
    jobs = queue()
    out = []
    for i, stage in enumerate(plan):
        row = []
        for p in stage:
            st, job, detail = status_of(p.config, jobs)
            row.append(RunStatus(p.config, config_hash(p.config), i, st, job, detail))
        out.append(row)
    return out


def plan(target: str | Plan, *args: Any, **kwargs: Any) -> list[list[RunStatus]]:
    """The runs of ``target`` in stages (merged: each once, after what it needs), each with its status: a
    chapter key (``"05"``; ``kwargs`` are its papermill parameters, e.g. ``profile="paper"``), an
    experiment name (``args``/``kwargs`` as its ``plan_*`` function's), or a plan."""
    if isinstance(target, str):
        target = (chapter_plan(target, **kwargs) if target.split("_")[0].isdigit()
                  else experiment_plan(target, *args, **kwargs))
    return with_status(merge([target]))


def counts(planned: Iterable[RunStatus]) -> dict[str, int]:
    """Runs per status (every status in :data:`STATUSES`, zeros included)."""
    c = Counter(p.status for p in planned)
    return {s: c.get(s, 0) for s in STATUSES}


def summary_line(name: str, planned: Sequence[RunStatus]) -> str:
    """``"<name>: N runs: a done, b running, c submitted, d failed[, e missing]"`` (missing only when > 0)."""
    c = counts(planned)
    return f"{name}: {len(planned)} runs: " + ", ".join(f"{c[s]} {s}" for s in STATUSES if c[s] or s != "missing")
