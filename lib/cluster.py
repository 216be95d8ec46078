"""Plan the training runs of chapters or experiments, and train the missing ones here or on SLURM.

* :func:`plan` lists the :class:`~lib.train.TrainConfig` s a chapter (``"02"`` ... ``"06"``, see
  :data:`CHAPTERS`) or an experiment (``"prune_sweep"``, ... of :mod:`lib.experiments`, or
  ``"real_vs_gaussian"``) needs, in stages: a stage only needs runs of earlier stages (pruning
  parents before their children, a run before the runs that start from its weights). Each run is
  marked ``done`` (in the run cache), ``running`` (a recorded SLURM job is pending or running),
  ``failed`` (its recorded job ended without the run landing) or ``missing``.
* Executors: :func:`run_local` trains the missing runs in this process, stage by stage;
  :func:`submit_slurm` sends them to SLURM with submitit, one job array per stage, and returns at
  once (or waits, with ``wait=True``).

SLURM, in detail:

* Stages are chained with SLURM dependencies (``--dependency=afterok:<the earlier stages' unfinished
  jobs>`` and ``--kill-on-invalid-dep=yes``), so one invocation submits every stage and exits; a
  child never starts before its parent has landed, and is cancelled by SLURM if the parent fails.
* Each submitted run's job is recorded next to the run cache entry, in
  ``runs/train/.job-<hash>.json`` (job id, log paths). A second invocation reads these records and
  the queue (``squeue``; no accounting database is needed), re-attaches to jobs still pending or
  running, and submits only runs that are missing or whose job failed. A failed job is reported with
  the last line of its error and the path of its log.
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

import argparse
import dataclasses
import datetime as dt
import getpass
import json
import os
import pickle
import re
import shutil
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

from . import paths, profiles, runs
from .config import TrainConfig

#: The statuses a planned run can have; ``submitted`` = submitted by this invocation.
STATUSES = ("done", "running", "submitted", "failed", "missing")
#: squeue states of a job that has not ended.
ACTIVE_STATES = {"PENDING", "RUNNING", "CONFIGURING", "COMPLETING", "REQUEUED", "REQUEUE_FED", "REQUEUE_HOLD",
                 "RESIZING", "SUSPENDED", "STAGE_OUT", "SIGNALING", "RESV_DEL_HOLD", "SPECIAL_EXIT", "STOPPED"}
SLURM_COMMANDS = ("sbatch", "squeue", "sinfo", "scontrol", "scancel", "srun")


class ClusterError(RuntimeError):
    """The cluster or its settings cannot take the jobs; nothing was submitted."""


Stages = list[list[TrainConfig]]


# ------------------------------------------------------------------------------- chapters' runs
def _seeds(p: profiles.Profile, seed: int, seeds: Iterable[int] | None = None) -> tuple[int, ...]:
    """The chapters' rule: ``seeds`` (default: the profile's), with ``seed`` first when it is not among them."""
    chosen = tuple(int(s) for s in (p.seeds if seeds is None else seeds))
    return chosen if seed in chosen else (seed, *chosen)


def _large_profile(profile: str, arch_cnn, arch_vit, epochs, epochs_gaussian, n_train, n_test,
                   stats_max_samples) -> profiles.Profile:
    return profiles.with_overrides(
        profile, arch_cnn=arch_cnn, arch_vit=arch_vit, epochs_real_cnn=epochs, epochs_real_vit=epochs,
        epochs_gaussian=epochs_gaussian, n_train_large=n_train, n_test_large=n_test,
        stats_max_samples=stats_max_samples)


def chapter_02(profile: str = "cpu", seed: int = 0, seeds=None, arch_cnn=None, arch_vit=None, epochs=None,
               epochs_gaussian=None, n_train=None, n_test=None, stats_max_samples=None, **_: Any) -> Stages:
    """Chapter 2: per architecture and seed, [real, gaussian], then [real_then_gaussian] (init_from=real).
    Seeds: ``seeds`` (default: the profile's), with ``seed`` first when it is not among them."""
    from .realdata import run_configs

    p = _large_profile(profile, arch_cnn, arch_vit, epochs, epochs_gaussian, n_train, n_test, stats_max_samples)
    cfgs = [run_configs(p, arch, s) for arch in (p.arch_cnn, p.arch_vit)
            for s in _seeds(p, seed, seeds)]
    return [[c[k] for c in cfgs for k in ("real", "gaussian")], [c["real_then_gaussian"] for c in cfgs]]


def chapter_03(profile: str = "cpu", seed: int = 0, arch_cnn=None, arch_vit=None, epochs=None, epochs_gaussian=None,
               n_train=None, n_test=None, stats_max_samples=None, **_: Any) -> Stages:
    """Chapter 3: the "real" and "gaussian" runs of chapter 2, one seed."""
    from .realdata import run_configs

    p = _large_profile(profile, arch_cnn, arch_vit, epochs, epochs_gaussian, n_train, n_test, stats_max_samples)
    return [[run_configs(p, arch, seed)[k] for arch in (p.arch_cnn, p.arch_vit) for k in ("real", "gaussian")]]


def chapter_04(profile: str = "cpu", seed: int = 0, widths=None, epochs=None, seeds=None, **_: Any) -> Stages:
    """Chapter 4: :func:`lib.experiments.width_sweep` over the profile's widths and seeds."""
    from .experiments import plan_configs

    p = profiles.with_overrides(profile, widths=widths, mlp_epochs=epochs, seeds=seeds)
    base = profiles.mlp_config(p, p.widths[0])
    return plan_configs("width_sweep", base, tuple(sorted(p.widths)), _seeds(p, seed))


def chapter_05(profile: str = "cpu", seed: int = 0, widths=None, ratios=None, density: float = 0.1, epochs=None,
               seeds=None, **_: Any) -> Stages:
    """Chapter 5: :func:`lib.experiments.prune_sweep` (5.3, parents ``1 / density`` times larger) and
    :func:`~lib.experiments.parent_scaling` (5.4), methods diff, magnitude, random."""
    from .experiments import plan_configs

    p = profiles.with_overrides(profile, prune_widths=widths, ratios=ratios, mlp_epochs=epochs, seeds=seeds)
    base = profiles.mlp_config(p, p.base_width)
    methods = ("diff", "magnitude", "random")
    chosen = _seeds(p, seed)
    sweep = plan_configs("prune_sweep", base, tuple(sorted(p.prune_widths)), methods, density=density, seeds=chosen,
                         ratio=1.0 / density)
    scaling = plan_configs("parent_scaling", base, p.base_width, p.ratios, methods, seeds=chosen)
    return merge_stages([sweep, scaling])


def chapter_06(profile: str = "cpu", seed: int = 0, arch_cnn=None, arch_vit=None, density: float = 0.1,
               floor: float = 0.02, epochs=None, seeds=None, **_: Any) -> Stages:
    """Chapter 6: :func:`lib.experiments.prune_large` for both architectures and both scopes, as
    :func:`lib.large_chapters.run_all` runs it (global ranking with ``floor``, per-layer without)."""
    from . import large_chapters as lc
    from .experiments import plan_configs

    p = profiles.with_overrides(profile, arch_cnn=arch_cnn, arch_vit=arch_vit, prune_epochs=epochs)
    chosen = [int(s) for s in seeds] if seeds is not None else [seed + i for i in range(len(p.seeds))]
    return merge_stages(
        plan_configs("prune_large", lc.base_config(p, arch), lc.METHODS, scope=scope,
                     floor=lc.scope_floor(scope, floor), density=density, seeds=chosen)
        for arch in (p.arch_cnn, p.arch_vit) for scope in lc.SCOPES)


#: Chapter key -> function(**the chapter's papermill parameters) -> stages of configs. Each function
#: takes the parameters the notebook declares (same names and defaults; tests check the defaults)
#: and builds the profile exactly as the notebook does.
CHAPTERS: dict[str, Callable[..., Stages]] = {
    "02": chapter_02, "03": chapter_03, "04": chapter_04, "05": chapter_05, "06": chapter_06,
}


def chapter_stages(key: str, **params: Any) -> Stages:
    """The stages of configs chapter ``key`` trains, for its papermill ``params`` (``profile=...``, ...)."""
    key = f"{int(str(key).split('_')[0]):02d}" if str(key).split("_")[0].isdigit() else str(key)
    if key not in CHAPTERS:
        return []  # chapters that train nothing (07)
    return CHAPTERS[key](**params)


def experiment_stages(name: str, *args: Any, **kwargs: Any) -> Stages:
    """The stages of an experiment of :mod:`lib.experiments` (same arguments as the experiment), or of
    ``"real_vs_gaussian"`` (arguments of :func:`lib.realdata.real_vs_gaussian`)."""
    if name == "real_vs_gaussian":
        from .realdata import RUN_NAMES, run_configs

        names = kwargs.pop("names", RUN_NAMES)
        kwargs.pop("progress", None)
        cfgs = run_configs(*args, **kwargs)
        return [[cfgs[k] for k in ("real", "gaussian") if k in names],
                [cfgs["real_then_gaussian"]] if "real_then_gaussian" in names else []]
    from .experiments import plan_configs

    return plan_configs(name, *args, **kwargs)


def _dependencies(cfg: TrainConfig) -> list[TrainConfig]:
    deps = [cfg.init_from] if cfg.init_from is not None else []
    if cfg.mask is not None and cfg.mask.parent is not None:
        deps.append(cfg.mask.parent)
    return deps


def merge_stages(plans: Iterable[Stages]) -> Stages:
    """Several plans as one, each config once: a config goes to the latest stage any plan gives it, and
    after every planned run it starts from (``init_from``) or is pruned from (``mask.parent``)."""
    level: dict[str, int] = {}
    cfg_of: dict[str, TrainConfig] = {}
    for stages in plans:
        for i, stage in enumerate(stages):
            for cfg in stage:
                h = runs.config_hash(cfg)
                cfg_of.setdefault(h, cfg)
                level[h] = max(level.get(h, 0), i)
    changed = True
    while changed:
        changed = False
        for h, cfg in cfg_of.items():
            for dep in _dependencies(cfg):
                d = runs.config_hash(dep)
                if d in level and level[h] <= level[d]:
                    level[h] = level[d] + 1
                    changed = True
    out: Stages = [[] for _ in range(max(level.values(), default=-1) + 1)]
    for h, cfg in cfg_of.items():
        out[level[h]].append(cfg)
    return [s for s in out if s]


# ------------------------------------------------------------------------------------ statuses
@dataclass
class PlannedRun:
    """One run of a plan: its config, hash, stage, status and (when it has one) its SLURM job record."""

    config: TrainConfig
    hash: str
    stage: int
    status: str = "missing"
    job: dict[str, Any] | None = None
    detail: str = ""

    def line(self) -> str:
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


def _write_job(run_hash: str, record: dict[str, Any]) -> None:
    p = paths.job_record(run_hash)
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_name(f"{p.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(record, indent=1))
    os.replace(tmp, p)


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


def _failure(job: dict[str, Any]) -> str:
    """The last line of a failed job's error (from submitit's result pickle, else from its stderr log)."""
    try:
        with open(job["result"], "rb") as f:
            outcome, value = pickle.load(f)
        if outcome == "error":
            lines = [x for x in str(value).strip().splitlines() if x.strip()]
            return lines[-1].strip() if lines else "error"
    except Exception:
        pass
    try:
        lines = [x for x in Path(job["stderr"]).read_text(errors="replace").splitlines() if x.strip()]
        return lines[-1].strip()[:300] if lines else "no error output"
    except Exception:
        return "job ended without a result and without a log (did it start?)"


def status_of(cfg: TrainConfig, jobs: dict[str, tuple[str, str]] | None) -> tuple[str, dict[str, Any] | None, str]:
    """(status, job record, detail) of one run, given a :func:`queue` snapshot taken just before."""
    h = runs.config_hash(cfg)
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
    return "failed", job, (f"{state.lower()}: " if state else "") + _failure(job)


def plan(target: str | Stages, *args: Any, **kwargs: Any) -> list[list[PlannedRun]]:
    """The runs of ``target`` in stages, each with its status: a chapter key (``"05"``; ``kwargs`` are
    its papermill parameters, e.g. ``profile="paper"``), an experiment name (``args``/``kwargs`` as
    the experiment function's), or stages of configs."""
    if isinstance(target, str):
        stages = (chapter_stages(target, **kwargs) if target.split("_")[0].isdigit()
                  else experiment_stages(target, *args, **kwargs))
    else:
        stages = target
    return with_status(merge_stages([stages]))


def with_status(stages: Stages) -> list[list[PlannedRun]]:
    """Planned runs with their current status (one ``squeue`` call)."""
    jobs = queue()
    out = []
    for i, stage in enumerate(stages):
        row = []
        for cfg in stage:
            st, job, detail = status_of(cfg, jobs)
            row.append(PlannedRun(cfg, runs.config_hash(cfg), i, st, job, detail))
        out.append(row)
    return out


def counts(planned: Iterable[PlannedRun]) -> dict[str, int]:
    """Runs per status (every status in :data:`STATUSES`, zeros included)."""
    c = Counter(p.status for p in planned)
    return {s: c.get(s, 0) for s in STATUSES}


def summary_line(name: str, planned: Sequence[PlannedRun]) -> str:
    c = counts(planned)
    return f"{name}: {len(planned)} runs: " + ", ".join(f"{c[s]} {s}" for s in STATUSES if c[s] or s != "missing")


# ------------------------------------------------------------------------------------ executors
def run_local(stages: Stages | list[list[PlannedRun]], *, progress: bool = True) -> list[list[PlannedRun]]:
    """Train every missing run here, stage by stage (one at a time, on this machine's default device).
    Runs with a pending or running SLURM job are trained too (whichever lands first wins)."""
    configs = [[p.config if isinstance(p, PlannedRun) else p for p in s] for s in stages]
    for stage in configs:
        for cfg in stage:
            runs.get_or_train(cfg, progress=progress)
    return with_status(configs)


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
    return Path(os.environ.get("BOOK_SLURM_CONFIG", paths.root() / "slurm.toml"))


def load_settings(path: str | Path | None = None, **overrides: Any) -> SlurmSettings:
    """Settings from the ``[slurm]`` table of a TOML file (``path``, else :func:`default_config_file`
    when it exists), then ``overrides`` (``None`` values ignored). Unknown keys are errors."""
    import tomllib

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
    """The job's callable: train (or resume) one run into ``runs_dir``; returns its hash.

    Checkpointable: on SLURM's time-limit or pre-emption signal submitit calls :meth:`checkpoint`
    (inherited: resubmit the same call) and requeues the job, which resumes from the trainer's last
    per-epoch checkpoint.
    """

    def __call__(self, cfg: TrainConfig, runs_dir: str) -> str:
        os.environ["BOOK_RUNS_DIR"] = runs_dir
        before = runs.TRAIN_COUNT
        run = runs.get_or_train(cfg, progress=False)
        print(f"run {run.hash} is in the cache: {run.path} (this job trained {runs.TRAIN_COUNT - before} run(s))",
              flush=True)
        return run.hash


def _executor(settings: SlurmSettings, partition: str, stage: int, dependency: list[str]):
    import submitit

    ex = submitit.SlurmExecutor(folder=paths.slurm_dir() / "%j", max_num_timeout=settings.max_num_timeout,
                                python=settings.python)
    root = str(paths.root())
    extra = dict(settings.extra)
    params: dict[str, Any] = dict(
        job_name=f"book-stage{stage}", partition=partition, time=settings.timeout_min,
        array_parallelism=settings.slurm_array_parallelism, signal_delay_s=settings.signal_delay_s,
        setup=[f"cd {_quote(root)}", f"export PYTHONPATH={_quote(root)}${{PYTHONPATH:+:$PYTHONPATH}}",
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


def _quote(s: str) -> str:
    import shlex

    return shlex.quote(s)


def submit_slurm(stages: Stages | list[list[PlannedRun]], settings: SlurmSettings | None = None, *,
                 wait: bool = False, poll_s: float = 10.0, timeout_s: float | None = None) -> list[list[PlannedRun]]:
    """Submit the missing and failed runs, one job array per stage, each stage depending on the
    unfinished jobs of the stages before it; runs whose job is pending or running are left alone.
    Returns the planned runs with their status (``submitted`` for those just sent). Checks the
    cluster and settings first (:func:`check_cluster`): on a :class:`ClusterError` nothing is
    submitted. ``wait=True`` then polls every ``poll_s`` s until no job is pending or running."""
    settings = settings or load_settings()
    partition = check_cluster(settings)
    configs = [[p.config if isinstance(p, PlannedRun) else p for p in s] for s in stages]
    planned = with_status(configs)
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
                _write_job(p.hash, record)
                p.status, p.job, p.detail = "submitted", record, ""
        unfinished += [p.job["job_id"] for p in stage if p.status in ("running", "submitted") and p.job]
    if wait:
        return wait_for(configs, poll_s=poll_s, timeout_s=timeout_s)
    return planned


def wait_for(stages: Stages, *, poll_s: float = 10.0, timeout_s: float | None = None) -> list[list[PlannedRun]]:
    """Poll until none of the runs has a pending or running job; returns their final status.
    Raises TimeoutError after ``timeout_s`` seconds."""
    t0 = time.monotonic()
    while True:
        planned = with_status(stages)
        if not any(p.status == "running" for s in planned for p in s):
            return planned
        if timeout_s is not None and time.monotonic() - t0 > timeout_s:
            lines = "\n  ".join(p.line() for s in planned for p in s if p.status != "done")
            raise TimeoutError(f"runs still not finished after {timeout_s:g} s:\n  {lines}")
        time.sleep(poll_s)


# ------------------------------------------------------------------------------- command line
def add_arguments(ap: argparse.ArgumentParser) -> None:
    """The SLURM settings flags (they override the config file)."""
    g = ap.add_argument_group("SLURM (with --executor slurm; override the [slurm] table of slurm.toml)")
    g.add_argument("--slurm-config", metavar="FILE",
                   help="TOML file with a [slurm] table (default: $BOOK_SLURM_CONFIG or ./slurm.toml when present)")
    g.add_argument("--partition")
    g.add_argument("--gpus-per-node", type=int)
    g.add_argument("--cpus-per-task", type=int)
    g.add_argument("--mem-gb", type=float)
    g.add_argument("--timeout-min", type=int, help="time limit per job; longer runs are requeued and resume")
    g.add_argument("--array-parallelism", type=int, dest="slurm_array_parallelism",
                   help="jobs of one stage's array running at once")
    g.add_argument("--sbatch", action="append", default=[], metavar="FLAG=VALUE",
                   help="extra sbatch flag, e.g. --sbatch account=myproj --sbatch qos=high (repeatable)")
    g.add_argument("--dry-run", action="store_true", help="plan and show the status; submit nothing")


def settings_from_args(args: argparse.Namespace) -> SlurmSettings:
    """:class:`SlurmSettings` from the config file and the flags of :func:`add_arguments`."""
    extra = {}
    for item in args.sbatch:
        if "=" not in item:
            raise ClusterError(f"--sbatch {item!r}: expected FLAG=VALUE, e.g. account=myproj")
        k, v = item.split("=", 1)
        extra[k.lstrip("-")] = v
    s = load_settings(args.slurm_config, partition=args.partition, gpus_per_node=args.gpus_per_node,
                      cpus_per_task=args.cpus_per_task, mem_gb=args.mem_gb, timeout_min=args.timeout_min,
                      slurm_array_parallelism=args.slurm_array_parallelism)
    s.extra.update(extra)
    s.check()
    return s


def dispatch_chapters(chapter_params: dict[str, dict[str, Any]], settings: SlurmSettings | None, *,
                      dry_run: bool = False, local: bool = False, out=print) -> int:
    """Plan the chapters' runs (chapter key -> its papermill parameters), submit what is missing to
    SLURM with ``settings`` (or train it here with ``local``; only show the status with ``dry_run`` or
    no settings) and print one summary line per chapter plus one line per failed run.
    Returns 1 when a run failed, else 0."""
    if settings is not None and not dry_run:
        check_cluster(settings)  # before planning, so that a bad setting fails fast
    per_chapter = {k: chapter_stages(k, **params) for k, params in chapter_params.items()}
    merged = merge_stages(per_chapter.values())
    out(f"{sum(map(len, merged))} distinct runs in {len(merged)} stage(s) for chapter(s) {', '.join(per_chapter)}")
    if local and not dry_run:
        result = run_local(merged)
    elif dry_run or settings is None:
        result = with_status(merged)
    else:
        result = submit_slurm(merged, settings)
    by_hash = {p.hash: p for s in result for p in s}
    failed = 0
    for k, stages in per_chapter.items():
        planned = [by_hash[runs.config_hash(c)] for s in stages for c in s]
        out("chapter " + summary_line(k, planned))
        for p in planned:
            if p.status == "failed":
                out("  " + p.line())
                failed += 1
    if dry_run or (settings is None and not local):
        out("(status only: nothing submitted)")
    elif not local:
        out("stages are chained with SLURM dependencies; run the same command again to see progress, "
            "then build the book without --executor slurm once every run is done")
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    """``python -m lib.cluster [--chapters 05 06] [--profile paper] [--executor local|slurm] [SLURM flags]``:
    plan, then show the status (default), train locally, or submit to SLURM."""
    ap = argparse.ArgumentParser(description=main.__doc__)
    ap.add_argument("--chapters", nargs="+", default=list(CHAPTERS))
    ap.add_argument("--profile", default="cpu")
    ap.add_argument("--executor", choices=("status", "local", "slurm"), default="status")
    add_arguments(ap)
    args = ap.parse_args(argv)
    params = {f"{int(k):02d}": {"profile": args.profile} for k in args.chapters}
    try:
        settings = settings_from_args(args) if args.executor == "slurm" and not args.dry_run else None
        return dispatch_chapters(params, settings, dry_run=args.dry_run, local=args.executor == "local")
    except ClusterError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
