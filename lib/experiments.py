"""The experiments of chapters 4-6: plans, and readers that turn a plan's runs into tidy DataFrames.

This module only plans and reads; nothing here trains. Each experiment is a ``plan_*`` function that
takes a template :class:`~lib.config.TrainConfig` (data, optimiser, epochs, batch size and gradient
statistics set by the caller from a profile), varies it with ``dataclasses.replace`` and returns a
:data:`lib.plan.Plan` (parents first, then children, each run labelled with its result row), and a
reader of the same name without ``plan_`` (:func:`width_sweep`, :func:`prune_sweep`,
:func:`parent_scaling`, :func:`prune_large`) that takes that plan and reads its runs with
:func:`lib.runs.load`. The executor (:func:`lib.parallel.train`) trains the plan first; a reader of a run
that is not cached raises :class:`lib.runs.RunNotTrained`.

Choices, and where the thesis leaves them open:

* Children are re-initialised from a fresh seed, ``seed + CHILD_SEED_OFFSET`` (the thesis does not
  reuse the parent's initialisation, section 5.3), and trained with the mask held at zero. The one
  exception: a child of a pruning-at-initialisation mask (``snip``, ``grasp``, ``synflow``,
  :data:`lib.config.INIT_MASK_METHODS`) starts from exactly the network its mask scored, the parent's
  initialisation (the parent's seed and model, :func:`start_where_scored`), as those methods are meant.
* ``"none"`` is a *fresh dense run* with the child seed: in chapter 5 the dense MLP of width ``w``
  (the same nonzero count as the children); in chapter 6 the dense ResNet/ViT. It is trained under
  exactly the child's protocol, which is the fair comparison (the parent was trained with another
  seed and with statistics).
* Children and "none" runs are trained without gradient statistics (``child_stats=False``): only
  parents need them (for diff masks), and they are the costly part.
* MLP sweeps (5.3, 5.4) default to **global** scope and **no floor**; both are arguments, and chapter 5
  runs each sweep in both scopes (``scope="global"`` and ``scope="layer"``), because the thesis never
  names chapter 5's scope (its section 5.3 skips small layers against a bottleneck, the protection a
  per-layer cut needs; section 6.1 introduces global ranking with a 2% floor for its own experiments).
  The "none" run and the parents do not depend on the scope, so both scopes share them.
* 5.4 (:func:`plan_parent_scaling`) keeps the child's nonzero count at exactly ``W(base_width)``: the
  density is ``W(base_width) / W(parent)`` (close to ``1 / ratio``; ``scaled_width`` rounds).
"""
from __future__ import annotations

from dataclasses import replace
from typing import Any, Iterable, Sequence

import pandas as pd
import torch

from . import runs
from .masks import NEEDS_TRAINED_PARENT, SCORERS, layer_table
from .models import ModelConfig, build_model, mlp_weight_count, scaled_width
from .config import INIT_MASK_METHODS, MaskConfig, StatsConfig, TrainConfig
from .plan import Plan, Planned

#: A child (and a "none" run) of parent seed ``s`` uses seed ``s + CHILD_SEED_OFFSET``, except the children of
#: pruning-at-initialisation masks, which use ``s`` (:func:`child_seed`).
CHILD_SEED_OFFSET = 1000


def child_seed(parent_seed: int, method: str | None) -> int:
    """The seed of the child of a mask by ``method`` (None: the dense "none" run) pruned from the parent of
    ``parent_seed``: the parent's own seed for the pruning-at-initialisation methods (the child starts from the
    network the mask scored), else ``parent_seed + CHILD_SEED_OFFSET`` (a fresh initialisation)."""
    return parent_seed if method in INIT_MASK_METHODS else parent_seed + CHILD_SEED_OFFSET


def start_where_scored(cfg: TrainConfig) -> TrainConfig:
    """``cfg`` made to start from the network its mask scored: for a mask by a pruning-at-initialisation
    method (:data:`lib.config.INIT_MASK_METHODS`), the mask parent's seed and model (so
    :func:`lib.train.fresh_model` builds the very weights :func:`lib.masks.scored_initial_model` scored);
    any other config is returned as it is. A ValueError if it starts from another run (``init_from``)."""
    m = cfg.mask
    if m is None or m.method not in INIT_MASK_METHODS:
        return cfg
    if m.parent is None:
        raise ValueError("the mask has no parent: nothing tells which initial network it scored")
    if cfg.init_from is not None:
        raise ValueError(f"a {m.method} child starts from its parent's initialisation, "
                         "not from another run (init_from)")
    return replace(cfg, seed=m.parent.seed, model=m.parent.model)

#: Chapter 6 method names -> (mask method, invert). ``none`` is the dense baseline.
LARGE_METHODS: dict[str, tuple[str, bool] | None] = {
    "none": None,
    "random": ("random", False),
    "random_10": ("random", False),
    "magnitude_best": ("magnitude", False),
    "magnitude_worst": ("magnitude", True),
    "coherence_best": ("diff", False),
    "coherence_worst": ("diff", True),
}

METRICS = ("train_loss", "train_acc", "test_loss", "test_acc")


# ------------------------------------------------------------------------------------- helpers
def child_config(base: TrainConfig, **changes: Any) -> TrainConfig:
    """``base`` with ``changes``, as a child of a pruning experiment (a masked child or the fresh dense
    ``"none"`` run beside them). Nothing reads a child's per-epoch test curve (only its final row), so where
    the run scores the whole test split at the end (``final_test``) it skips the per-epoch pass over the
    test subset (:attr:`lib.config.TrainConfig.test_each_epoch`): the same weights and final result to the
    bit, for 14-24 % less time per child at the cpu profile (MLP widths 467 and 1,370; ``resnet_small`` 16 %,
    ``vit_tiny`` 19 %: ``benchmarks/child_test_pass.py``, one thread, 2026-12-08)."""
    return replace(base, **changes, test_each_epoch=not base.final_test)


def _mlp(base: TrainConfig, width: int) -> ModelConfig:
    return replace(base.model, arch="mlp", width=int(width))


def _child_stats(base: TrainConfig, child_stats: bool) -> StatsConfig:
    return base.stats if child_stats else StatsConfig()


def _check_methods(methods: Iterable[str], allowed: Iterable[str]) -> None:
    allowed = list(allowed)
    bad = [m for m in methods if m not in allowed]
    if bad:
        raise ValueError(f"unknown method(s) {bad}; allowed: {', '.join(allowed)}")


def _check_stats(base: TrainConfig, mask_methods: Iterable[str], density: float, scope: str, floor: float) -> None:
    from .masks import _check

    _check(density, scope, floor)
    if "diff" in set(mask_methods) and base.stats.every <= 0:
        raise ValueError("diff (coherence) masks need parents trained with gradient statistics: "
                         "set base.stats.every >= 1")


def nonzero_weights(state_dict: dict[str, torch.Tensor]) -> int:
    """Number of nonzero entries in the weight tensors (>= 2-D; biases and norms excluded)."""
    return int(sum(int((v != 0).sum()) for v in state_dict.values() if v.dim() >= 2 and torch.is_floating_point(v)))


def _read(plan: Plan, chapter: str | None) -> list[tuple[Planned, runs.Run]]:
    """The runs of the plan's last stage (those the result rows describe; earlier stages hold the parents
    they were pruned from), each with its planned labels, read with :func:`lib.runs.load` (never trained;
    ``chapter`` names the plan in the error when a run is missing)."""
    return [(p, runs.load(p.config, chapter=chapter)) for p in plan[-1]] if plan else []


def _final_rows(done: list[tuple[Planned, runs.Run]]) -> pd.DataFrame:
    rows = []
    for p, run in done:
        last = runs.final_row(run.metrics.sort_values("epoch").iloc[-1])
        row = dict(p.labels)
        row.update({k: float(last[k]) for k in METRICS})
        row["gap"] = row["train_acc"] - row["test_acc"]
        row["epochs"] = int(last["epoch"])
        row["nonzero_weights"] = nonzero_weights(run.state_dict())
        row["hash"] = run.hash
        rows.append(row)
    return pd.DataFrame(rows)


def _curves(done: list[tuple[Planned, runs.Run]]) -> pd.DataFrame:
    frames = []
    for p, run in done:
        df = run.metrics
        for k, v in p.labels.items():
            df.insert(0, k, v)
        frames.append(df)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


# --------------------------------------------------------------------------------- chapter 4
def plan_width_sweep(base: TrainConfig, widths: Sequence[int], seeds: Sequence[int] = (0,)) -> Plan:
    """One stage: a dense MLP per (width, seed), labelled ``width``, ``seed``."""
    return [[Planned(replace(base, model=_mlp(base, w), seed=s), {"width": int(w), "seed": s})
             for s in seeds for w in widths]]


def width_sweep(plan: Plan, *, chapter: str | None = None) -> pd.DataFrame:
    """The dense MLPs of a :func:`plan_width_sweep` plan, read: every epoch's metrics (and coherence columns
    when the runs have statistics) with ``width``, ``seed`` and ``weights`` (weight count) columns."""
    done = _read(plan, chapter)
    df = _curves(done)
    if len(df):
        depth = done[0][0].config.model.depth
        df.insert(2, "weights", [int(mlp_weight_count(w, depth=depth)) for w in df["width"]])
    return df


def max_coherence_by_width(df: pd.DataFrame, *, column: str = "coherence", include_init: bool = False) -> pd.DataFrame:
    """Per (width, seed): the maximum of ``column`` over epochs (>= 1 unless ``include_init``), the
    epoch where it occurs, and the final test accuracy and generalisation gap (thesis figure 4.3)."""
    if column not in df.columns:
        raise ValueError(f"no column {column!r}: train the sweep with statistics on (stats.every >= 1)")
    d = df if include_init else df[df["epoch"] >= 1]
    rows = []
    for (w, s), g in d.groupby(["width", "seed"], sort=True):
        g = g.dropna(subset=[column])
        if not len(g):
            continue
        i = g[column].idxmax()
        last = runs.final_row(df[(df["width"] == w) & (df["seed"] == s)].sort_values("epoch").iloc[-1])
        rows.append({"width": w, "seed": s, f"max_{column}": float(g.loc[i, column]), "epoch_of_max": int(g.loc[i, "epoch"]),
                     "final_test_acc": float(last["test_acc"]), "final_gap": float(last["train_acc"] - last["test_acc"])})
    return pd.DataFrame(rows)


def _masked_family(base: TrainConfig, parent: TrainConfig, labels: dict[str, Any], methods: Sequence[str], *,
                   density: float, scope: str, floor: float, child_stats: bool) -> tuple[list[Planned], list[Planned]]:
    """The MLP pruning unit of chapter 5: ``parent`` (listed only when a mask needs it trained) and, per
    mask method, a child of the parent's shape trained from the child seed with the mask held."""
    seed = parent.seed
    parents = [Planned(parent, {**labels, "method": "parent"})] if any(m in NEEDS_TRAINED_PARENT for m in methods) else []
    children = []
    for m in methods:
        mc = MaskConfig(parent=parent, method=m, density=density, scope=scope, floor=floor, seed=seed)
        children.append(Planned(child_config(base, model=parent.model, seed=child_seed(seed, m), mask=mc,
                                             stats=_child_stats(base, child_stats)), {**labels, "method": m}))
    return parents, children


# --------------------------------------------------------------------------------- chapter 5
def plan_prune_sweep(base: TrainConfig, widths: Sequence[int], methods: Sequence[str] = ("diff", "magnitude", "random"),
                     density: float = 0.1, seeds: Sequence[int] = (0,), ratio: float = 10, *, scope: str = "global",
                     floor: float = 0.0, child_stats: bool = False, include_none: bool = True) -> Plan:
    """Thesis 5.3: for each width ``w`` a dense parent of ``scaled_width(w, ratio)`` (``ratio`` x the
    weights), masks keeping ``density`` of its weights by each method, children trained from a fresh
    seed with the mask held; ``none`` = the dense MLP of width ``w``. Stages: [parents (only those a
    mask needs trained)], [children and "none"], labelled ``width``, ``parent_width``, ``seed``,
    ``density``, ``method``. ``"none"`` in ``methods`` is accepted; the dense row is included unless
    ``include_none=False``."""
    _check_methods(methods, ["none", *SCORERS])
    include_none = include_none or "none" in methods
    methods = [m for m in methods if m != "none"]
    _check_stats(base, methods, density, scope, floor)
    depth = base.model.depth
    parents: list[Planned] = []
    children: list[Planned] = []
    for s in seeds:
        cs = s + CHILD_SEED_OFFSET
        for w in widths:
            pw = scaled_width(w, ratio, depth=depth)
            parent = replace(base, model=_mlp(base, pw), seed=s)
            labels = {"width": int(w), "parent_width": pw, "seed": s, "density": density}
            ps, cs_ = _masked_family(base, parent, labels, methods, density=density, scope=scope, floor=floor,
                                     child_stats=child_stats)
            parents += ps
            children += cs_
            if include_none:
                children.append(Planned(child_config(base, model=_mlp(base, w), seed=cs,
                                                     stats=_child_stats(base, child_stats)), {**labels, "method": "none"}))
    return [parents, children]


def prune_sweep(plan: Plan, *, curves: bool = False,
                chapter: str | None = None) -> pd.DataFrame | tuple[pd.DataFrame, pd.DataFrame]:
    """The children of a :func:`plan_prune_sweep` plan, read: one row per (width, seed, method) with the
    plan's labels, final train/test loss and accuracy, ``gap`` = train_acc - test_acc,
    ``nonzero_weights``, ``epochs`` and the run hash. With ``curves=True`` returns ``(final, per-epoch
    curves)``."""
    done = _read(plan, chapter)
    final = _final_rows(done)
    return (final, _curves(done)) if curves else final


def plan_parent_scaling(base: TrainConfig, base_width: int, ratios: Sequence[float],
                        methods: Sequence[str] = ("diff", "magnitude", "random"), seeds: Sequence[int] = (0,), *,
                        scope: str = "global", floor: float = 0.0, child_stats: bool = False) -> Plan:
    """Thesis 5.4: children with the nonzero weight count of ``mlp(base_width)`` pruned from parents of
    ``scaled_width(base_width, r)`` (density ``W(base) / W(parent)`` ~= 1/r); the ``none`` row (ratio 1)
    is the dense base network trained from the child seed. Stages: [parents], [children and the dense
    "none" run], labelled ``ratio``, ``parent_width``, ``parent_weights``, ``density``, ``seed``,
    ``method``."""
    _check_methods(methods, ["none", *SCORERS])
    methods = [m for m in methods if m != "none"]
    _check_stats(base, methods, 1.0, scope, 0.0)
    depth = base.model.depth
    target = mlp_weight_count(base_width, depth=depth)
    parents: list[Planned] = []
    children: list[Planned] = []
    for s in seeds:
        cs = s + CHILD_SEED_OFFSET
        children.append(Planned(child_config(base, model=_mlp(base, base_width), seed=cs,
                                             stats=_child_stats(base, child_stats)),
                                {"ratio": 1.0, "parent_width": int(base_width), "parent_weights": int(target),
                                 "density": 1.0, "seed": s, "method": "none"}))
        for r in ratios:
            pw = scaled_width(base_width, r, depth=depth)
            if pw <= base_width:  # r = 1: the parent is the dense base network, the "none" row
                continue
            pweights = mlp_weight_count(pw, depth=depth)
            density = target / pweights
            _check_stats(base, methods, density, scope, floor)
            parent = replace(base, model=_mlp(base, pw), seed=s)
            labels = {"ratio": float(r), "parent_width": pw, "parent_weights": int(pweights), "density": density, "seed": s}
            ps, cs_ = _masked_family(base, parent, labels, methods, density=density, scope=scope, floor=floor,
                                     child_stats=child_stats)
            parents += ps
            children += cs_
    return [parents, children]


def parent_scaling(plan: Plan, *, curves: bool = False,
                   chapter: str | None = None) -> pd.DataFrame | tuple[pd.DataFrame, pd.DataFrame]:
    """The children of a :func:`plan_parent_scaling` plan, read: columns as :func:`prune_sweep` (the
    labels include ``ratio`` and ``parent_weights``)."""
    return prune_sweep(plan, curves=curves, chapter=chapter)


# --------------------------------------------------------------------------------- chapter 6
def plan_prune_large(base: TrainConfig, methods: Sequence[str] = ("none", "random", "magnitude_best", "magnitude_worst",
                                                                   "coherence_best", "coherence_worst"),
                     scope: str = "global", floor: float = 0.02, density: float = 0.1, seeds: Sequence[int] = (0,), *,
                     child_stats: bool = False) -> Plan:
    """Thesis chapter 6 for a ResNet or ViT ``base``: the dense parent (with statistics), masks by each
    method (``*_best`` keep the highest scores, ``*_worst`` the lowest, ``coherence`` = diffs,
    ``random``/``random_10`` = random), children from a fresh seed; ``none`` = a fresh dense run.
    Stages: [parents], [children and "none"], labelled ``arch``, ``scope``, ``density``, ``floor``,
    ``seed``, ``method``."""
    _check_methods(methods, LARGE_METHODS)
    mask_methods = [LARGE_METHODS[m][0] for m in methods if LARGE_METHODS[m] is not None]
    _check_stats(base, mask_methods, density, scope, floor)
    parents: list[Planned] = []
    children: list[Planned] = []
    for s in seeds:
        cs = s + CHILD_SEED_OFFSET
        parent = replace(base, seed=s)
        labels = {"arch": base.model.arch, "scope": scope, "density": density, "floor": floor, "seed": s}
        if any(m in NEEDS_TRAINED_PARENT for m in mask_methods):
            parents.append(Planned(parent, {**labels, "method": "parent"}))
        for m in methods:
            stats = _child_stats(base, child_stats)
            if LARGE_METHODS[m] is None:
                children.append(Planned(child_config(base, seed=cs, stats=stats, track=()), {**labels, "method": m}))
                continue
            kind, invert = LARGE_METHODS[m]
            mc = MaskConfig(parent=parent, method=kind, density=density, scope=scope, floor=floor, invert=invert, seed=s)
            children.append(Planned(child_config(base, seed=child_seed(s, kind), mask=mc, stats=stats, track=()),
                                    {**labels, "method": m}))
    return [parents, children]


def prune_large(plan: Plan, *, curves: bool = False, chapter: str | None = None
                ) -> tuple[pd.DataFrame, pd.DataFrame] | tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The children of a :func:`plan_prune_large` plan, read: ``(results, layers)``, results as
    :func:`prune_sweep` (one row per method and seed); layers = :func:`lib.masks.layer_table` rows per
    masked child, with ``method`` and ``seed`` (figures 6.3/6.4). With ``curves=True`` a third frame of
    per-epoch curves."""
    done = _read(plan, chapter)
    results = _final_rows(done)
    tables = []
    model = build_model(done[0][0].config.model) if done else None  # every child has the base's model
    for p, _ in done:
        if p.config.mask is None:
            continue
        t = layer_table(runs.mask_for(p.config.mask), model)
        for k in ("seed", "method"):
            t.insert(0, k, p.labels[k])
        tables.append(t)
    layers = pd.concat(tables, ignore_index=True) if tables else pd.DataFrame(
        columns=["method", "seed", "layer", "group", "depth", "size", "kept", "fraction_kept"])
    return (results, layers, _curves(done)) if curves else (results, layers)


# ------------------------------------------------------------------------------------ planning
PLANNERS = {
    "width_sweep": plan_width_sweep,
    "prune_sweep": plan_prune_sweep,
    "parent_scaling": plan_parent_scaling,
    "prune_large": plan_prune_large,
}


def plan_experiment(experiment: str, *args: Any, **kwargs: Any) -> Plan:
    """The plan of ``experiment`` (a key of :data:`PLANNERS`), with the arguments of its ``plan_*``
    function; runs that are already cached are still listed (see :func:`lib.runs.is_cached`)."""
    if experiment not in PLANNERS:
        raise ValueError(f"unknown experiment {experiment!r}; known: {', '.join(PLANNERS)}")
    return PLANNERS[experiment](*args, **kwargs)
