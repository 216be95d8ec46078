"""Chapter 6's analysis: pruning the ResNet and the ViT (thesis sections 6.1, 6.2).

    * :func:`base_config`: the dense parent of one architecture (SGD at ``prune_cnn_lr`` for ResNets,
      Adam at ``vit_lr`` for ViTs, ``prune_epochs`` epochs, gradient statistics on for the diff masks).
    * :func:`plan_all`: :func:`lib.experiments.plan_prune_large` for every (architecture, scope): global
      ranking with a per-layer floor, and per-layer ("local") ranking without one; :func:`run_all` reads
      them (:func:`lib.experiments.prune_large`, never training).
    * :func:`results_table`: our train/test accuracy per mask (mean and seed sd) beside the thesis's
      Table 6.1/6.2/6.5/6.6, in the thesis's row order.
    * :func:`floor_table`, :func:`fig_layers`: how much of each layer a global mask keeps (Figs. 6.3, 6.4).
    * :func:`per_seed`, :func:`layer_stats`, :func:`layer_values`, :func:`mean_sd`: the per-seed numbers
      (one value per parent seed, the replicate) the verdicts of :mod:`lib.chapters.ch06_pruning_large` test.

Everything returns DataFrames or matplotlib figures; the chapter module captions and displays them.
"""
from __future__ import annotations

import math
from dataclasses import replace
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from ..experiments import plan_prune_large, prune_large
from ..mask_cache import mask_summary
from ..plan import Plan
from ..profiles import Profile, is_vit, large_config
from . import palette
from .thesis import PRUNE_TABLES, TABLE_NUMBERS
from ..config import TrainConfig

#: The masks of chapter 6, in the order they are trained (``none`` = a fresh dense run).
METHODS = ("none", "random", "magnitude_best", "magnitude_worst", "coherence_best", "coherence_worst")
PRUNED = METHODS[1:]
SCOPES = ("global", "layer")
#: Layer groups drawn in figures 6.3 (ResNet) and 6.4 (ViT), in legend order.
GROUPS = {"resnet": ("conv", "shortcut"), "vit": ("qkv", "ff_hidden", "block_output")}


# ------------------------------------------------------------------------------------ chapter 6 runs
def base_config(p: Profile, arch: str, *, epochs: int | None = None, seed: int = 0) -> TrainConfig:
    """The dense parent of chapter 6 for ``arch`` (statistics on, for the diff masks).

    It records the same tracked tensor as chapter 2's real-data run (:func:`lib.realdata.run_configs`),
    so where a profile gives both chapters the same data, epochs and learning rate (``cpu``), the parent
    *is* chapter 2's run and is trained once for the whole book."""
    from .realdata import tracked_layer

    lr = None if is_vit(arch) else p.prune_cnn_lr
    cfg = large_config(p, arch, epochs=p.prune_epochs if epochs is None else epochs, seed=seed, lr=lr,
                       n_train=p.prune_n_train, n_test=p.prune_n_test)
    return replace(cfg, track=(tracked_layer(arch),))


def scope_floor(scope: str, floor: float) -> float:
    """The floor a scope uses: ``floor`` for global ranking, 0 for per-layer ranking (where it has no effect)."""
    return float(floor) if scope == "global" else 0.0


def plan_all(bases: Mapping[str, TrainConfig], *, seeds: Sequence[int], density: float = 0.1, floor: float = 0.02,
          methods: Sequence[str] = METHODS, scopes: Sequence[str] = SCOPES) -> dict[tuple[str, str], Plan]:
    """``{(family, scope): plan}``: :func:`lib.experiments.plan_prune_large` of each base (``{family: config}``)
    in each scope (the floor only for global ranking, :func:`scope_floor`). Parents and the dense ``none``
    runs are the same configs in both scopes: merged (:func:`lib.plan.merge`), each is trained once."""
    return {(fam, scope): plan_prune_large(base, methods, scope, scope_floor(scope, floor), density, list(seeds))
            for fam, base in bases.items() for scope in scopes}


def run_all(plans: Mapping[tuple[str, str], Plan], *,
            chapter: str | None = None) -> dict[tuple[str, str], tuple[pd.DataFrame, pd.DataFrame]]:
    """``{(family, scope): (results, layers)}``: :func:`lib.experiments.prune_large` of each plan of
    :func:`plan_all`, read from the cache (never trained; ``chapter`` names the plan when a run is missing)."""
    return {key: prune_large(plan, chapter=chapter) for key, plan in plans.items()}


def tie_rows(plans: Mapping[tuple[str, str], Plan], *, scopes: Sequence[str] = ("global",)) -> pd.DataFrame:
    """Per (family, scope, mask, seed) of the plans of :func:`plan_all` in ``scopes``: the weights a cached mask
    keeps and how many of them the seeded tie-breaking chose from the tie class at the cut
    (:func:`lib.mask_cache.mask_summary`; NaN where a mask's summary predates that count). Reads the masks
    :func:`run_all` made: call it after the runs exist."""
    rows = []
    for (fam, scope), plan in plans.items():
        if scope in scopes:
            for planned in plan[-1]:
                if planned.config.mask is None:
                    continue
                info = mask_summary(planned.config.mask)
                rows.append({"family": fam, "scope": scope, "method": planned.labels["method"],
                             "seed": planned.labels["seed"], "kept": info.get("kept", math.nan),
                             "tie_chosen": info.get("tie_chosen", math.nan), "tie_class": info.get("tie_class", math.nan)})
    return pd.DataFrame(rows, columns=["family", "scope", "method", "seed", "kept", "tie_chosen", "tie_class"])


def tie_columns(ties: pd.DataFrame, fam: str, scope: str = "global") -> pd.DataFrame:
    """Per mask (mean over seeds) of :func:`tie_rows`: weights kept by tie-breaking at the cut and their
    share of the weights kept."""
    d = ties[(ties["family"] == fam) & (ties["scope"] == scope)]
    d = d.assign(share=d["tie_chosen"].astype(float) / d["kept"].astype(float))
    out = d.groupby("method").agg(kept_by_tie_breaking=("tie_chosen", "mean"), share_kept_by_tie_breaking=("share", "mean"))
    return out.reset_index()


def weight_budget(arch: str, density: float) -> dict[str, object]:
    """Weight counts of ``arch``: all weight tensors, the prunable ones (:func:`lib.masks.prunable`),
    how many a mask keeps at ``density``, and the share of the child's nonzero weights that sit in
    tensors left dense (too small, the head, the ViT's patch embedding)."""
    from ..masks import prunable
    from ..models import ModelConfig, build_model, count_weights

    model = build_model(ModelConfig(arch=arch))
    params = dict(model.named_parameters())
    names = prunable(model)
    total = count_weights(model)[0]
    pr = sum(params[n].numel() for n in names)
    kept = round(density * pr)
    return {"arch": arch, "weights": total, "prunable tensors": len(names), "prunable weights": pr,
            "kept by a mask": kept, "child nonzero weights": total - pr + kept,
            "share of child weights never pruned": (total - pr) / (total - pr + kept)}


# --------------------------------------------------------------------------------------- tables
def accuracies(results: pd.DataFrame, method: str, column: str = "test_acc") -> list[float]:
    """``column`` of ``method``'s runs, one value per seed (ascending seed)."""
    d = results[results["method"] == method].sort_values("seed")
    if not len(d):
        raise ValueError(f"no runs of method {method!r}; have {sorted(results['method'].unique())}")
    return [float(x) for x in d[column]]


def per_seed(results: pd.DataFrame, method: str, column: str = "test_acc") -> pd.Series:
    """``column`` of ``method``'s runs indexed by (parent) seed, ascending: the values the paired
    verdicts match seed by seed."""
    d = results[results["method"] == method]
    if not len(d):
        raise ValueError(f"no runs of method {method!r}; have {sorted(results['method'].unique())}")
    return d.set_index("seed")[column].astype(float).sort_index()


def _sd(x: Sequence[float]) -> float:
    return float(np.std(x, ddof=1)) if len(x) > 1 else float("nan")


def mean_sd(x: Sequence[float]) -> str:
    """"0.812 ± 0.014" (mean and seed sd of ``x``), or "0.812" for one value."""
    return f"{np.mean(x):.3f}" + (f" ± {_sd(x):.3f}" if len(x) > 1 else "")


def results_table(results: pd.DataFrame, fam: str, scope: str) -> pd.DataFrame:
    """One row per mask, in the thesis's table order (its test accuracy, descending): our train and test
    accuracy (mean and sd over seeds, sd NaN with one seed; ``test_by_seed``: every seed's test accuracy
    in seed order), the thesis's numbers, and both ranks among the six rows (1 = highest test accuracy)."""
    thesis = PRUNE_TABLES[(fam, scope)]
    rows = []
    for m in thesis:
        if m not in set(results["method"]):
            continue
        tr, te = accuracies(results, m, "train_acc"), accuracies(results, m, "test_acc")
        rows.append({"method": m, "train_acc": float(np.mean(tr)), "train_sd": _sd(tr), "test_acc": float(np.mean(te)),
                     "test_sd": _sd(te), "thesis_train_acc": thesis[m][0], "thesis_test_acc": thesis[m][1], "seeds": len(te),
                     "test_by_seed": ", ".join(f"{x:.3f}" for x in te)})
    df = pd.DataFrame(rows)
    df["our_rank"] = df["test_acc"].rank(ascending=False, method="min").astype(int)
    df["thesis_rank"] = df["thesis_test_acc"].rank(ascending=False, method="min").astype(int)
    return df


def format_results(df: pd.DataFrame) -> pd.DataFrame:
    """:func:`results_table` for display: "mean ± sd" strings next to the thesis's numbers."""
    def pm(m: float, s: float) -> str:
        return f"{m:.3f}" if not np.isfinite(s) else f"{m:.3f} ± {s:.3f}"

    return pd.DataFrame({
        "mask": df["method"],
        "train acc. (ours)": [pm(m, s) for m, s in zip(df["train_acc"], df["train_sd"])],
        "train acc. (thesis)": df["thesis_train_acc"].map(lambda x: f"{x:.4f}"),
        "test acc. (ours)": [pm(m, s) for m, s in zip(df["test_acc"], df["test_sd"])],
        "test acc. per seed": df["test_by_seed"],
        "test acc. (thesis)": df["thesis_test_acc"].map(lambda x: f"{x:.4f}"),
        "rank (ours)": df["our_rank"],
        "rank (thesis)": df["thesis_rank"],
    })


def table_title(fam: str, scope: str) -> str:
    """E.g. "Table 6.1: ResNet, global ranking with a floor"."""
    what = "global ranking with a per-layer floor" if scope == "global" else "every layer pruned to the same density"
    return f"Table {TABLE_NUMBERS[(fam, scope)]}: {'ResNet' if fam == 'resnet' else 'ViT'}, {what}"


def floor_count(size: int, floor: float) -> int:
    """Entries a tensor of ``size`` keeps at the floor (as :func:`lib.masks.make_mask` computes it)."""
    return min(size, math.ceil(floor * size - 1e-9))


def at_floor(layers: pd.DataFrame, floor: float) -> pd.Series:
    """Boolean per layer-table row: the tensor kept no more than its floor (never True when ``floor`` = 0)."""
    if floor <= 0:
        return pd.Series(False, index=layers.index)
    return layers["kept"] <= [floor_count(int(s), floor) for s in layers["size"]]


def layer_stats(layers: pd.DataFrame, floor: float, density: float) -> pd.DataFrame:
    """Per mask and seed (parent seed): tensors, ``n_at_floor`` and ``at_floor`` (count and share of the
    pruned tensors kept no more than the floor), ``below_half_density`` (share kept below half the
    overall density), ``min_kept`` / ``max_kept`` (extreme fractions kept) and ``early_kept`` (the
    fraction kept of the weights in the first half of the tensors, by depth)."""
    d = layers.assign(at_floor=at_floor(layers, floor), thin=layers["fraction_kept"] < density / 2)
    rows = []
    for (m, s), g in d.groupby(["method", "seed"], sort=False):
        half = g["depth"] < g["depth"].max() / 2
        rows.append({"method": m, "seed": s, "tensors": len(g), "n_at_floor": int(g["at_floor"].sum()),
                     "at_floor": float(g["at_floor"].mean()), "below_half_density": float(g["thin"].mean()),
                     "min_kept": float(g["fraction_kept"].min()), "max_kept": float(g["fraction_kept"].max()),
                     "early_kept": float(g.loc[half, "kept"].sum() / max(1, g.loc[half, "size"].sum()))})
    return pd.DataFrame(rows, columns=["method", "seed", "tensors", "n_at_floor", "at_floor", "below_half_density",
                                       "min_kept", "max_kept", "early_kept"])


def floor_table(layers: pd.DataFrame, floor: float, density: float) -> pd.DataFrame:
    """Per mask (mean over seeds of :func:`layer_stats`): share of the pruned tensors left at the floor,
    share kept below half the target density, the smallest and largest fraction kept of any tensor, and
    the fraction kept of the weights in the first half of the tensors (by depth)."""
    per_seed = layer_stats(layers, floor, density)
    order = [m for m in PRUNED if m in set(per_seed["method"])]
    out = per_seed.groupby("method").agg(
        tensors=("tensors", "first"), share_at_floor=("at_floor", "mean"), share_at_floor_sd=("at_floor", "std"),
        share_below_half_density=("below_half_density", "mean"), min_fraction_kept=("min_kept", "min"),
        max_fraction_kept=("max_kept", "max"), kept_in_first_half=("early_kept", "mean"))
    return out.loc[order].reset_index()


def layer_values(layers: pd.DataFrame, floor: float, density: float, method: str, column: str) -> pd.Series:
    """``column`` of :func:`layer_stats` for ``method``, one value per seed (indexed by seed)."""
    st = layer_stats(layers, floor, density)
    d = st[st["method"] == method]
    if not len(d):
        raise ValueError(f"no layer rows for method {method!r}; have {sorted(st['method'].unique())}")
    return d.set_index("seed")[column].astype(float).sort_index()


def floor_shares(layers: pd.DataFrame, floor: float, method: str) -> list[float]:
    """Per seed: the share of ``method``'s pruned tensors left at the floor."""
    d = layers[layers["method"] == method]
    if not len(d):
        raise ValueError(f"no layer rows for method {method!r}")
    flags = at_floor(d, floor)
    return [float(flags[d["seed"] == s].mean()) for s in sorted(d["seed"].unique())]


# --------------------------------------------------------------------------------------- figures
def fig_layers(layers: pd.DataFrame, fam: str, *, floor: float, density: float, title: str):
    """Fraction of each prunable tensor a global mask keeps, against depth (0 = first pruned tensor):
    one line per mask (seed mean), marker and dash by layer group; the floor and the overall density
    drawn as horizontal lines. Log y axis, so that the floor and the top are both readable."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    d = layers.groupby(["method", "layer", "group", "depth"], as_index=False, sort=False)["fraction_kept"].mean()
    hue_order = [m for m in PRUNED if m in set(d["method"])]
    groups = [g for g in GROUPS[fam] if g in set(d["group"])] + sorted(set(d["group"]) - set(GROUPS[fam]))
    fig, ax = plt.subplots(figsize=(9, 4.2))
    sns.lineplot(data=d, x="depth", y="fraction_kept", hue="method", hue_order=hue_order, style="group",
                 palette={m: palette.method_color(m) for m in hue_order},
                 style_order=groups, markers=True, dashes=False, markersize=7, lw=1, alpha=0.85, ax=ax,
                 errorbar=None)
    if floor > 0:
        ax.axhline(floor, color="0.2", ls="--", lw=1, label=f"floor ({floor:.0%})")
    ax.axhline(density, color="0.5", ls=":", lw=1, label=f"overall density ({density:.0%})")
    ax.set_yscale("log")
    lo = min(float(d["fraction_kept"].min()), floor if floor > 0 else 1.0)
    ax.set_ylim(max(lo / 1.5, 1e-4), 1.05)
    ax.set_xlabel("depth of the pruned tensor (0 = first)")
    ax.set_ylabel("fraction of weights kept")
    ax.set_title(title)
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=8, frameon=False)
    return fig
