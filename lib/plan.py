"""A plan: the runs a chapter or an experiment needs, in stages, each run with the labels of its result rows.

A :data:`Plan` is a list of stages; a stage is a list of :class:`Planned` runs that need only runs of
earlier stages (pruning parents before their children, a run before the runs that start from its
weights), so the runs of one stage can train side by side. Every chapter module's ``plan(setup)`` and
every ``plan_*`` function of :mod:`lib.experiments` returns one; the executor
(:func:`lib.parallel.train`), the build (:mod:`lib.book`), the cluster planner (:mod:`lib.cluster`)
and the chapter's own reading take the same object. Several plans become one with :func:`merge`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable

from .config import TrainConfig, config_hash, dependencies


@dataclass(frozen=True)
class Planned:
    """One run a plan lists: its config and the labels of its result rows (``{"width": 64, "seed": 0,
    "method": "diff"}``; empty when the run is read by its config alone)."""

    config: TrainConfig
    labels: dict[str, Any] = field(default_factory=dict)


#: Stages of planned runs: a stage only needs runs of earlier stages.
Plan = list[list[Planned]]


def from_configs(stages: Iterable[Iterable[TrainConfig]]) -> Plan:
    """A plan of unlabelled runs, stage by stage."""
    return [[Planned(cfg) for cfg in stage] for stage in stages]


def configs(plan: Plan) -> list[TrainConfig]:
    """The plan's configs in stage order, as listed (a config listed twice comes twice)."""
    return [p.config for stage in plan for p in stage]


def stage_configs(plan: Plan) -> list[list[TrainConfig]]:
    """The plan's configs, stage by stage."""
    return [[p.config for p in stage] for stage in plan]


def distinct(plan: Plan) -> list[TrainConfig]:
    """The plan's configs in stage order, each once (by hash)."""
    seen: dict[str, TrainConfig] = {}
    for cfg in configs(plan):
        seen.setdefault(config_hash(cfg), cfg)
    return list(seen.values())


def hashes(plan: Plan) -> list[str]:
    """The distinct run hashes of the plan, sorted."""
    return sorted({config_hash(cfg) for cfg in configs(plan)})


def merge(plans: Iterable[Plan]) -> Plan:
    """Several plans as one, each run once (by hash; the first listing's labels are kept): a run goes to
    the latest stage any plan gives it, and after every planned run it starts from (``init_from``) or is
    pruned from (``mask.parent``)."""
    level: dict[str, int] = {}
    first: dict[str, Planned] = {}
    for plan in plans:
        for i, stage in enumerate(plan):
            for p in stage:
                h = config_hash(p.config)
                first.setdefault(h, p)
                level[h] = max(level.get(h, 0), i)
    changed = True
    while changed:
        changed = False
        for h, p in first.items():
            for dep in dependencies(p.config):
                d = config_hash(dep)
                if d in level and level[h] <= level[d]:
                    level[h] = level[d] + 1
                    changed = True
    out: Plan = [[] for _ in range(max(level.values(), default=-1) + 1)]
    for h, p in first.items():
        out[level[h]].append(p)
    return [s for s in out if s]


def describe(cfg: TrainConfig) -> str:
    """A run in a few words: 'mlp w=1370 cifar10 seed 0 diff mask d=0.1, 2 epochs'."""
    m, mask = cfg.model, cfg.mask
    what = f"{m.arch} w={m.width}" if m.arch == "mlp" else m.arch
    what += f" {cfg.data.dataset} seed {cfg.seed}"
    if mask is not None:
        what += f" {mask.method}{' inverted' if mask.invert else ''} mask d={mask.density:g}"
    if cfg.init_from is not None:
        what += f" from {cfg.init_from.data.dataset} weights"
    return f"{what}, {cfg.epochs} epochs"


def run_kind(cfg: TrainConfig) -> str:
    """What a run's cost depends on, in a few words: the model (an MLP's width, the language model's heads and
    feed-forward width), the data when it is not CIFAR-10, a masked child, and gradient statistics with their
    samples: 'mlp w=1370, statistics every epoch on 5,000 samples', 'gpt 16 heads ff 1024, masked child'."""
    m = cfg.model
    what = {"mlp": f"mlp w={m.width}", "gpt": f"gpt {m.heads} heads ff {m.ff}"}.get(m.arch, m.arch)
    if cfg.data.dataset != "cifar10":
        what += f" on {cfg.data.dataset}"
    parts = [what]
    if cfg.mask is not None:
        parts.append("masked child")
    if cfg.stats.every:
        n = cfg.stats.max_samples or cfg.data.n_train
        every = "every epoch" if cfg.stats.every == 1 else f"every {cfg.stats.every} epochs"
        parts.append(f"statistics {every} on {n:,d} samples" if n else f"statistics {every}")
    return ", ".join(parts)

