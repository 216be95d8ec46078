"""Send a plan's missing runs to SLURM with submitit, one job array per stage, and record the jobs.

* Stages are chained with SLURM dependencies (``--dependency=afterok:<the earlier stages' unfinished
  jobs>`` and ``--kill-on-invalid-dep=yes``), so one invocation submits every stage and exits; a
  child never starts before its parent has landed, and is cancelled by SLURM if the parent fails.
* Each submitted run's job is recorded next to the run cache entry, in
  ``runs/train/.job-<hash>.json`` (job id, log paths). A second invocation reads these records and
  the queue (``squeue``; no accounting database is needed; see :mod:`lib.cluster.plan`), re-attaches
  to jobs still pending or running, and submits only runs that are missing or whose job failed. A
  failed job is reported with the last line of its error and the path of its log.
* The job runs :class:`TrainTask`, a ``submitit.helpers.Checkpointable``: before the time limit SLURM
  sends SIGUSR2 (``signal_delay_s`` ahead), submitit requeues the job, and the requeued job resumes
  from the trainer's last per-epoch checkpoint (:mod:`lib.train`), with the same final metrics as an
  uninterrupted run. Pre-emption takes the same path. At most ``max_num_timeout`` requeues.
* Settings (:class:`SlurmSettings`) come from a TOML file (``slurm.toml`` at the repository root, or
  ``$BOOK_SLURM_CONFIG``, or ``--slurm-config``) and command-line flags, and are checked against the
  cluster (``sinfo``) before anything is submitted: no ``sbatch`` on PATH, an unknown or down
  partition, a time limit above the partition's, or GPUs asked from a partition without any are
  clear errors (:class:`ClusterError`). Example ``slurm.toml``::

      [slurm]
      partition = "gpu"              # default: the cluster's default partition
      gpus_per_node = 1
      cpus_per_task = 8
      mem_gb = 32
      timeout_min = 1440             # per job; longer runs are requeued and resume
      slurm_array_parallelism = 8    # jobs of one array running at once
      setup = ["module load cuda"]   # shell lines run before the job
      [slurm.extra]                  # any other sbatch flag, without the leading --
      account = "my-project"
      qos = "normal"

The jobs run this interpreter (``sys.executable``) with the repository on ``PYTHONPATH``, and write
into this run cache (``BOOK_RUNS_DIR``): both must be on a file system the compute nodes share. The
rest of the environment is exported by sbatch as usual (e.g. ``CIFAR10_PATH``).
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import re
import shlex
import shutil
import subprocess
import time
import tomllib
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import paths, runs
from .. import settings as book_settings  # the BOOK_* variables (``settings`` here means SlurmSettings)
from ..config import TrainConfig, config_hash
from ..plan import Plan
from .plan import RunStatus, with_status

SLURM_COMMANDS = ("sbatch", "squeue", "sinfo", "scontrol", "scancel", "srun")


class ClusterError(RuntimeError):
    """The cluster or its settings cannot take the jobs; nothing was submitted."""


@dataclass
class SlurmSettings:
    """Where and how jobs run (see the module docstring for the file format)."""

    partition: str | None = None  # None: the cluster's default partition
    gpus_per_node: int = 1
    cpus_per_task: int | None = None
    mem_gb: float | None = None
    timeout_min: int = 24 * 60
    slurm_array_parallelism: int = 16
    max_num_timeout: int = 30  # requeues after time limits / pre-emption
    signal_delay_s: int = 120  # SIGUSR2 this long before the time limit
    setup: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)  # other sbatch flags, without "--"
    python: str | None = None  # the job's python command (default: this interpreter)

    def check(self) -> None:
        """Values that cannot be right (raises :class:`ClusterError`)."""
        for name, lo in (("gpus_per_node", 0), ("timeout_min", 1), ("slurm_array_parallelism", 1),
                         ("max_num_timeout", 0), ("signal_delay_s", 0), ("cpus_per_task", 1)):
            v = getattr(self, name)
            if v is not None and (not isinstance(v, int) or isinstance(v, bool) or v < lo):
                raise ClusterError(f"slurm setting {name} must be an integer >= {lo}, got {v!r}")
        if self.mem_gb is not None and not (isinstance(self.mem_gb, (int, float)) and self.mem_gb > 0):
            raise ClusterError(f"slurm setting mem_gb must be > 0, got {self.mem_gb!r}")
        if self.signal_delay_s >= self.timeout_min * 60:
            raise ClusterError(f"signal_delay_s ({self.signal_delay_s} s) must be shorter than the time limit "
                               f"(timeout_min = {self.timeout_min} min)")
        bad = [k for k in self.extra if not re.fullmatch(r"[a-z][a-z0-9-_]*", str(k))]
        if bad:
            raise ClusterError(f"extra sbatch flags must be given without '--', e.g. account = \"x\"; got {bad}")


def default_config_file() -> Path:
    """``$BOOK_SLURM_CONFIG``, else ``slurm.toml`` at the repository root."""
    chosen = book_settings.slurm_config()
    return chosen if chosen is not None else paths.root() / "slurm.toml"


def load_settings(path: str | Path | None = None, **overrides: Any) -> SlurmSettings:
    """Settings from the ``[slurm]`` table of a TOML file (``path``, else :func:`default_config_file`
    when it exists), then ``overrides`` (``None`` values ignored). Unknown keys are errors."""
    values: dict[str, Any] = {}
    file = Path(path) if path is not None else default_config_file()
    if path is not None and not file.exists():
        raise ClusterError(f"slurm config file {file} does not exist")
    if file.exists():
        try:
            data = tomllib.loads(file.read_text())
        except tomllib.TOMLDecodeError as exc:
            raise ClusterError(f"{file}: not valid TOML: {exc}") from None
        values = dict(data.get("slurm", {}))
        other = sorted(set(data) - {"slurm"})
        if other:
            raise ClusterError(f"{file}: only a [slurm] table is read; found {other}")
    values.update({k: v for k, v in overrides.items() if v is not None})
    known = {f.name for f in dataclasses.fields(SlurmSettings)}
    bad = sorted(set(values) - known)
    if bad:
        raise ClusterError(f"unknown slurm setting(s) {bad}; known: {', '.join(sorted(known))}")
    s = SlurmSettings(**values)
    s.setup, s.extra = list(s.setup), dict(s.extra)
    s.check()
    return s


def _minutes(limit: str) -> float:
    """A SLURM time limit ('infinite', 'MM', 'HH:MM:SS', 'D-HH:MM:SS', ...) in minutes."""
    if limit in ("infinite", "UNLIMITED", "NONE", ""):
        return float("inf")
    days, _, rest = limit.rpartition("-")
    parts = [int(x) for x in rest.split(":")]
    if len(parts) == 1:
        h, m, s = 0, parts[0], 0
    elif len(parts) == 2:
        h, m, s = 0, parts[0], parts[1]
    else:
        h, m, s = parts[-3:]
    return int(days or 0) * 1440 + h * 60 + m + s / 60


def partitions() -> dict[str, dict[str, Any]]:
    """The cluster's partitions from ``sinfo``: name -> {default, up, limit_min, gres}."""
    try:
        out = subprocess.run(["sinfo", "-h", "-o", "%P|%a|%l|%G"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ClusterError(f"sinfo failed: {exc}") from None
    if out.returncode != 0:
        conf = os.environ.get("SLURM_CONF", "/etc/slurm/slurm.conf")
        raise ClusterError(f"sinfo failed (exit {out.returncode}): {out.stderr.strip() or out.stdout.strip()} "
                           f"-- is the SLURM controller up? (SLURM_CONF={conf})")
    parts: dict[str, dict[str, Any]] = {}
    for line in out.stdout.splitlines():
        f = line.strip().split("|")
        if len(f) != 4:
            continue
        name = f[0].rstrip("*")
        p = parts.setdefault(name, {"default": f[0].endswith("*"), "up": f[1] == "up",
                                    "limit_min": _minutes(f[2]), "gres": set()})
        p["gres"].update(g for g in f[3].split(",") if g and g != "(null)")
    return parts


def check_cluster(settings: SlurmSettings) -> str:
    """Raise :class:`ClusterError` unless the jobs can be submitted as set; returns the partition used."""
    settings.check()
    missing = [c for c in SLURM_COMMANDS if shutil.which(c) is None]
    if "sbatch" in missing:
        raise ClusterError("sbatch is not on PATH: this machine cannot submit SLURM jobs (run on a login node "
                           "of the cluster, or use --executor local)" + (f"; also missing: {missing}" if missing else ""))
    if missing:
        raise ClusterError(f"SLURM commands missing from PATH: {', '.join(missing)}")
    parts = partitions()
    if not parts:
        raise ClusterError("sinfo lists no partitions")
    name = settings.partition
    if name is None:
        defaults = [n for n, p in parts.items() if p["default"]]
        if not defaults:
            raise ClusterError(f"the cluster has no default partition; set partition (one of: {', '.join(parts)})")
        name = defaults[0]
    if name not in parts:
        raise ClusterError(f"unknown partition {name!r}; this cluster has: "
                           + ", ".join(n + (" (default)" if p["default"] else "") for n, p in parts.items()))
    p = parts[name]
    if not p["up"]:
        raise ClusterError(f"partition {name!r} is not up")
    if settings.timeout_min > p["limit_min"]:
        raise ClusterError(f"timeout_min = {settings.timeout_min} exceeds the time limit of partition {name!r}, "
                           f"{p['limit_min']:g} min (longer runs are requeued and resume: a shorter limit is fine)")
    if settings.gpus_per_node > 0 and not any(g.startswith("gpu") for g in p["gres"]):
        raise ClusterError(f"gpus_per_node = {settings.gpus_per_node}, but partition {name!r} has no GPUs "
                           f"(gres: {', '.join(sorted(p['gres'])) or 'none'}); set gpus_per_node = 0 for CPU jobs")
    return name


try:  # submitit is only needed to submit; planning and local runs work without it
    from submitit.helpers import Checkpointable as _Checkpointable
except ImportError:  # pragma: no cover
    _Checkpointable = object  # type: ignore[assignment,misc]


class TrainTask(_Checkpointable):  # type: ignore[misc,valid-type]
    """The job's callable: train (or resume) one run into ``runs_dir`` with the executor's per-run step
    (:func:`lib.runs.train_run`; its parents landed in earlier stages' jobs); returns its hash.

    Checkpointable: on SLURM's time-limit or pre-emption signal submitit calls :meth:`checkpoint`
    (inherited: resubmit the same call) and requeues the job, which resumes from the trainer's last
    per-epoch checkpoint.
    """

    def __call__(self, cfg: TrainConfig, runs_dir: str) -> str:
        book_settings.set_runs_dir(runs_dir)
        before = runs.TRAIN_COUNT
        try:
            run = runs.train_run(cfg)
        except BaseException:
            write_outcome(config_hash(cfg), "error", traceback.format_exc())
            raise
        write_outcome(run.hash, "done")
        print(f"run {run.hash} is in the cache: {run.path} (this job trained {runs.TRAIN_COUNT - before} run(s))",
              flush=True)
        return run.hash


def _executor(settings: SlurmSettings, partition: str, stage: int, dependency: list[str]):
    """A submitit executor for the job array of ``stage``, after the jobs ``dependency`` (afterok)."""
    import submitit

    ex = submitit.SlurmExecutor(folder=paths.slurm_dir() / "%j", max_num_timeout=settings.max_num_timeout,
                                python=settings.python)
    root = str(paths.root())
    extra = dict(settings.extra)
    params: dict[str, Any] = dict(
        job_name=f"book-stage{stage}", partition=partition, time=settings.timeout_min,
        array_parallelism=settings.slurm_array_parallelism, signal_delay_s=settings.signal_delay_s,
        setup=[f"cd {shlex.quote(root)}", f"export PYTHONPATH={shlex.quote(root)}${{PYTHONPATH:+:$PYTHONPATH}}",
               *settings.setup],
    )
    if settings.gpus_per_node:
        params["gpus_per_node"] = settings.gpus_per_node
    if settings.cpus_per_task:
        params["cpus_per_task"] = settings.cpus_per_task
    if settings.mem_gb:
        params["mem"] = settings.mem_gb
    if dependency:
        params["dependency"] = "afterok:" + ":".join(dependency)
        extra.setdefault("kill-on-invalid-dep", "yes")
    if extra:
        params["additional_parameters"] = extra
    ex.update_parameters(**params)
    return ex


def write_outcome(run_hash: str, outcome: str, error: str = "") -> None:
    """Record how a job's run ended, as JSON (:func:`lib.paths.job_outcome`), written atomically."""
    target = paths.job_outcome(run_hash)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f"{target.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps({"outcome": outcome, "error": error[-4000:]}))
    os.replace(tmp, target)


def write_job(run_hash: str, record: dict[str, Any]) -> None:
    """Record the SLURM job of a run (atomically), where :func:`lib.cluster.plan.read_job` finds it."""
    p = paths.job_record(run_hash)
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_name(f"{p.name}.{os.getpid()}.{time.time_ns()}.tmp")  # unique: writers may race
    try:
        tmp.write_text(json.dumps(record, indent=1))
        os.replace(tmp, p)
    finally:
        tmp.unlink(missing_ok=True)


def submit_slurm(plan: Plan, settings: SlurmSettings | None = None, *, wait: bool = False, poll_s: float = 10.0,
                 timeout_s: float | None = None) -> list[list[RunStatus]]:
    """Submit the missing and failed runs of ``plan``, one job array per stage, each stage depending on the
    unfinished jobs of the stages before it; runs whose job is pending or running are left alone.
    Returns the planned runs with their status (``submitted`` for those just sent). Checks the
    cluster and settings first (:func:`check_cluster`): on a :class:`ClusterError` nothing is
    submitted. ``wait=True`` then polls every ``poll_s`` s until no job is pending or running."""
    settings = settings or load_settings()
    partition = check_cluster(settings)
    planned = with_status(plan)
    unfinished: list[str] = []  # job ids of earlier stages that have not landed yet
    for k, stage in enumerate(planned):
        todo = [p for p in stage if p.status in ("missing", "failed")]
        if todo:
            ex = _executor(settings, partition, k, list(unfinished))
            task = TrainTask()
            runs_dir = str(paths.runs_dir())
            try:
                with ex.batch():
                    jobs = [ex.submit(task, p.config, runs_dir) for p in todo]
            except Exception as exc:  # sbatch refused (a bad extra flag, a limit, ...)
                msg = " ".join(dict.fromkeys(str(exc).split("\n")))[:1000]
                sent = sum(p.status == "submitted" for s in planned[:k] for p in s)
                raise ClusterError(f"sbatch refused the {len(todo)} job(s) of stage {k}: {msg}"
                                   + (f" ({sent} job(s) of earlier stages were submitted: they are re-attached "
                                      "when you run again)" if sent else "")) from None
            now = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
            for p, job in zip(todo, jobs):
                record = {"job_id": job.job_id, "hash": p.hash, "stage": k, "submitted": now,
                          "stdout": str(job.paths.stdout), "stderr": str(job.paths.stderr),
                          "result": str(job.paths.result_pickle), "partition": partition,
                          "dependency": list(unfinished)}
                write_job(p.hash, record)
                p.status, p.job, p.detail = "submitted", record, ""
        unfinished += [p.job["job_id"] for p in stage if p.status in ("running", "submitted") and p.job]
    if wait:
        return wait_for(plan, poll_s=poll_s, timeout_s=timeout_s)
    return planned


def wait_for(plan: Plan, *, poll_s: float = 10.0, timeout_s: float | None = None) -> list[list[RunStatus]]:
    """Poll until none of the plan's runs has a pending or running job; returns their final status.
    Raises TimeoutError after ``timeout_s`` seconds."""
    t0 = time.monotonic()
    while True:
        planned = with_status(plan)
        if not any(p.status == "running" for s in planned for p in s):
            return planned
        if timeout_s is not None and time.monotonic() - t0 > timeout_s:
            lines = "\n  ".join(p.line() for s in planned for p in s if p.status != "done")
            raise TimeoutError(f"runs still not finished after {timeout_s:g} s:\n  {lines}")
        time.sleep(poll_s)
