"""Plot-ready tables for chapters 4 and 5 (MLP width sweep and MLP pruning).

The chapter modules train their plans with :func:`lib.parallel.train` and read the runs back through
the readers of :mod:`lib.experiments` (:func:`lib.runs.load`, never training); this module turns run
results into the small frames their figures, tables and verdicts read:

* seed summaries (mean and sample sd over seeds) and final-epoch rows;
* the thesis's closed-form parent width (section 5.3) checked against
  :func:`lib.models.scaled_width` and the exact weight ratio;
* diff histograms (``diff_hist.npz``) at a run's highest- and lowest-coherence training epochs, and
  the exact spread of the diffs stored at the highest-coherence epoch (``diffs_max_trained.pt``);
* the per-layer share of weights a pruning mask keeps;
* the number of samples a run's gradient statistics used (for the coherence floor 1/n);
* adjacent steps of a sweep (width to the next width, ratio to the next ratio), for display only;
* each seed's fitted trend as rows of the intervals table (:func:`trend_rows`);
* the rank correlation the verdicts quote.

Judging a claim over seeds is the job of :mod:`lib.chapters.seed_tests` (``paired_groups``, ``trend``) and
:mod:`lib.chapters.verdicts` (``Claim``); its per-group table (``intervals_frame``, ``show_intervals``,
``group_label``, ``GROUP_STATS``) is aliased here for the chapters that import it from this module.
"""
from __future__ import annotations

import math
from typing import Iterable, Sequence

import numpy as np
import pandas as pd
import torch

from .. import paths, runs
from ..masks import layer_table
from ..config import TrainConfig
from ..models import build_model, mlp_weight_count, scaled_width
from ..plan import Plan
from . import seed_tests, verdicts


# --------------------------------------------------------------------------------------- layers
def weight_layers(depth: int = 3) -> list[str]:
    """Parameter names of the weight matrices of :func:`lib.models.mlp` (``nn.Flatten`` is index 0)."""
    return [f"{2 * i + 1}.weight" for i in range(depth + 2)]


def layer_label(name: str, depth: int = 3) -> str:
    """Short reader-facing name of an MLP weight: "input", "hidden 1", ..., "output"."""
    names = weight_layers(depth)
    if name not in names:
        return name
    i = names.index(name)
    if i == 0:
        return "input"
    if i == len(names) - 1:
        return "output"
    return f"hidden {i}"


# --------------------------------------------------------------------------------- seed summaries
def seed_summary(df: pd.DataFrame, by: Sequence[str], cols: Sequence[str]) -> pd.DataFrame:
    """Mean, sample sd (ddof 1; 0 with a single seed) and seed count of ``cols`` per ``by`` group.
    Columns: ``by``, ``<col>_mean``, ``<col>_sd`` for each col, ``n_seeds``."""
    g = df.groupby(list(by), sort=True)
    out = g[list(cols)].mean().add_suffix("_mean")
    sd = g[list(cols)].std(ddof=1).fillna(0.0).add_suffix("_sd")
    out = out.join(sd)
    out["n_seeds"] = g.size()
    order = [c for col in cols for c in (f"{col}_mean", f"{col}_sd")] + ["n_seeds"]
    return out[order].reset_index()


def final_epoch(curves: pd.DataFrame, keys: Sequence[str] = ("width", "seed")) -> pd.DataFrame:
    """The last epoch's row of every run in a per-epoch frame (test metrics over the whole test split where the
    run recorded them, :func:`lib.runs.final_row`), with ``gap`` = train_acc - test_acc."""
    last = curves.sort_values("epoch").groupby(list(keys), sort=True).tail(1).copy()
    if "final_test_acc" in last.columns:
        last = last.apply(runs.final_row, axis=1)
    last["gap"] = last["train_acc"] - last["test_acc"]
    return last.sort_values(list(keys)).reset_index(drop=True)


# ------------------------------------------------------------------------------ parent widths
def thesis_scaled_width(width: float, ratio: float) -> float:
    """The thesis's closed form (section 5.3) for the width of a 3-hidden-layer MLP on 3072 inputs and
    10 classes with ``ratio`` times the weights: w + (sqrt(3rw(3w+3082) + 2374681) - 3w - 1541) / 3."""
    w, r = float(width), float(ratio)
    return w + (math.sqrt(3 * r * w * (3 * w + 3082) + 2374681) - 3 * w - 1541) / 3


def parent_width_table(pairs: Iterable[tuple[int, float]], depth: int = 3) -> pd.DataFrame:
    """One row per (width, ratio): the thesis's formula (unrounded), our :func:`scaled_width`, the
    weight counts of both networks and the exact ratio our rounded width achieves."""
    rows = []
    for w, r in pairs:
        ours = scaled_width(int(w), r, depth=depth)
        ww, wp = mlp_weight_count(int(w), depth=depth), mlp_weight_count(ours, depth=depth)
        formula = thesis_scaled_width(w, r)
        rows.append({"width": int(w), "ratio": float(r), "thesis_formula": formula,
                     "scaled_width": ours, "formula_minus_ours": formula - ours,
                     "weights": int(ww), "parent_weights": int(wp), "exact_ratio": wp / ww})
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------------------- run lookup
def width_runs(plan: Plan, *, chapter: str | None = None) -> dict[tuple[int, int], runs.Run]:
    """The dense runs of a :func:`lib.experiments.plan_width_sweep` plan, keyed by (width, seed), read
    with :func:`lib.runs.load` (never trained; ``chapter`` names the plan when one is missing)."""
    return {(p.labels["width"], p.labels["seed"]): runs.load(p.config, chapter=chapter) for stage in plan for p in stage}


# ------------------------------------------------------------------------------- diff histograms
def load_diff_hist(run: runs.Run) -> dict:
    """``diff_hist.npz`` of a run with statistics: {"edges", "epochs", "hists": {param: (epochs, bins)}}."""
    z = run.arrays(paths.DIFF_HIST_FILE)
    hists = {k[2:]: z[k] for k in z if k.startswith("h/")}
    return {"edges": z["edges"], "epochs": z["epochs"], "hists": hists}


def hist_density(counts: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Counts -> probability density on the bins (integrates to 1; zeros when there are no counts)."""
    counts = np.asarray(counts, dtype=float)
    total = counts.sum()
    if total <= 0:
        return np.zeros_like(counts)
    return counts / (total * np.diff(edges))


def extreme_epochs(curve: pd.DataFrame, column: str = "coherence", epochs: Iterable[int] | None = None,
                   min_epoch: int = 1, low_from: int | None = None) -> tuple[int, int]:
    """(epoch of highest ``column`` over epochs >= ``min_epoch``, epoch of lowest over epochs >=
    ``low_from``, default ``min_epoch``) of one run, restricted to ``epochs`` (the epochs that have
    statistics) when given. Ties: the earliest epoch."""
    low_from = min_epoch if low_from is None else low_from

    def among(first: int) -> pd.DataFrame:
        c = curve[(curve["epoch"] >= first)].dropna(subset=[column])
        if epochs is not None:
            c = c[c["epoch"].isin(list(epochs))]
        if not len(c):
            raise ValueError(f"no epoch >= {first} has a {column!r} value")
        return c.sort_values("epoch")

    hi, lo = among(min_epoch), among(low_from)
    return int(hi.loc[hi[column].idxmax(), "epoch"]), int(lo.loc[lo[column].idxmin(), "epoch"])


#: The stored diffs of a run with statistics (:mod:`lib.stats.callback`): "max" at the highest
#: coherence over the training epochs (>= 1), "min" at the lowest over every epoch (initialization included).
DIFF_FILES = {"max": paths.DIFFS_MAX_TRAINED, "min": paths.DIFFS_MIN}


def diff_densities(run: runs.Run, curve: pd.DataFrame, layers: Sequence[str], column: str = "coherence") -> pd.DataFrame:
    """Long frame of diff densities of ``layers`` at the epochs of :data:`DIFF_FILES` (highest ``column``
    over the training epochs, lowest over every epoch, initialization included): columns which
    ("max"/"min"), epoch, coherence, layer, center, density."""
    h = load_diff_hist(run)
    edges = h["edges"]
    centers = (edges[:-1] + edges[1:]) / 2
    e_max, e_min = extreme_epochs(curve, column, h["epochs"], min_epoch=1, low_from=0)
    rows = []
    for which, ep in (("max", e_max), ("min", e_min)):
        i = int(np.flatnonzero(h["epochs"] == ep)[0])
        coh = float(curve.loc[curve["epoch"] == ep, column].iloc[0])
        for layer in layers:
            dens = hist_density(h["hists"][layer][i], edges)
            rows.append(pd.DataFrame({"which": which, "epoch": ep, "coherence": coh, "layer": layer,
                                      "center": centers, "density": dens}))
    return pd.concat(rows, ignore_index=True)


def diff_spread(run: runs.Run, layers: Sequence[str], file: str = paths.DIFFS_MAX_TRAINED) -> pd.DataFrame:
    """Exact spread of the stored diffs (default: at the highest-coherence training epoch) per layer and
    pooled over ``layers`` ("all"): columns layer, epoch, coherence, sd, mean_abs, n."""
    d = run.tensors(file)
    rows, pooled = [], []
    for layer in layers:
        v = d["diffs"][layer].double().ravel()
        pooled.append(v)
        rows.append({"layer": layer, "sd": float(v.std(unbiased=False)), "mean_abs": float(v.abs().mean()), "n": v.numel()})
    v = torch.cat(pooled)
    rows.append({"layer": "all", "sd": float(v.std(unbiased=False)), "mean_abs": float(v.abs().mean()), "n": v.numel()})
    out = pd.DataFrame(rows)
    out.insert(1, "epoch", int(d["epoch"]))
    out.insert(2, "coherence", float(d["coherence"]))
    return out


def diff_spreads(run: runs.Run, layers: Sequence[str]) -> pd.DataFrame:
    """:func:`diff_spread` at both stored epochs of :data:`DIFF_FILES`, with a ``which`` column ("max", "min")."""
    return pd.concat([diff_spread(run, layers, f).assign(which=w) for w, f in DIFF_FILES.items()], ignore_index=True)


# ------------------------------------------------------------------------------- statistics size
def stats_samples(cfg: TrainConfig) -> int:
    """How many training samples the gradient statistics of a run with ``cfg`` use: the first
    ``stats.max_samples`` (0: all) of its ``data.n_train`` training images (0: CIFAR-10's 50,000)."""
    n_train = cfg.data.n_train or 50_000
    m = cfg.stats.max_samples
    return min(m, n_train) if m and m > 0 else n_train


# ------------------------------------------------------------------------------- adjacent steps
def adjacent_steps(df: pd.DataFrame, x: str, value: str, keep: Sequence[str] = ("seed",)) -> pd.DataFrame:
    """The adjacent steps of ``x`` as one long frame, for a display of each step: for each pair of
    neighbouring values x_i < x_(i+1) of ``x`` in ``df``, its rows at x_(i+1) (side "upper") and at x_i
    (side "lower"). Columns: from (x_i), to (x_(i+1)), side, ``keep``, ``value``. Not for a verdict: the
    steps of one seed are not independent replicates, so a "rises (falls) with ``x``" claim is decided by
    :func:`lib.chapters.seed_tests.trend` over seeds."""
    xs = sorted(df[x].unique())
    parts = []
    for lo, hi in zip(xs, xs[1:]):
        for side, at in (("upper", hi), ("lower", lo)):
            part = df.loc[df[x] == at, [*keep, value]].copy()
            part.insert(0, "side", side)
            part.insert(0, "to", hi)
            part.insert(0, "from", lo)
            parts.append(part)
    cols = ["from", "to", "side", *keep, value]
    return pd.concat(parts, ignore_index=True)[cols] if parts else pd.DataFrame(columns=cols)


# ------------------------------------------------------------------------------------- masks
def mask_layer_shares(plan: Plan, width: int, seed: int) -> pd.DataFrame:
    """Per-layer fraction kept by each mask of a :func:`lib.experiments.plan_prune_sweep` plan whose child has
    ``width`` and parent ``seed``, in the plan's order, with ``method`` and ``parent_width`` (the masks are
    read from the mask cache, or made from their parents, which the plan's first stage landed)."""
    frames = []
    for p in plan[-1]:
        if p.config.mask is None or p.labels["width"] != width or p.labels["seed"] != seed:
            continue
        t = layer_table(runs.mask_for(p.config.mask), build_model(p.config.model))
        t.insert(0, "method", p.labels["method"])
        t.insert(1, "parent_width", p.labels["parent_width"])
        frames.append(t)
    return pd.concat(frames, ignore_index=True)


# ----------------------------------------------------------------------------------- verdicts
def spearman(x: Sequence[float], y: Sequence[float]) -> float:
    """Spearman rank correlation of two equal-length sequences (average ranks for ties; NaN if < 2 points)."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    if len(x) < 2:
        return float("nan")
    rx, ry = pd.Series(x).rank().to_numpy(), pd.Series(y).rank().to_numpy()
    if rx.std() == 0 or ry.std() == 0:
        return float("nan")
    return float(np.corrcoef(rx, ry)[0, 1])


# ------------------------------------------------------------------------ intervals for display
# The per-group intervals table lives in :mod:`lib.chapters.verdicts` (one helper for every chapter); these
# names stay here as aliases, so that chapters importing them from this module keep working.
GROUP_STATS = seed_tests.GROUP_STATS
VALUE_ONLY = verdicts.VALUE_ONLY
group_label = verdicts.group_label
intervals_frame = verdicts.intervals_frame
show_intervals = verdicts.show_intervals


def dropped_note(test: dict, df: pd.DataFrame | None = None, value: str = "") -> str:
    """What a verdict left out, for its ``note`` (nothing dropped silently): the test's own ``dropped_why``
    and, for a trend fitted on the rows of ``df``, how many non-finite ``value`` rows no seed's fit used
    (a seed keeps its slope from the rest)."""
    parts = [test.get("dropped_why") or ""]
    if df is not None and len(df):
        k = int((~np.isfinite(df[value].astype(float))).sum())
        if k:
            parts.append(f"{k} non-finite {value} value(s) left out of the seeds' fits (a diverged or missing run)")
    return "; ".join(p for p in parts if p)


def trend_rows(df: pd.DataFrame, *, x: str, value: str, seed: str = "seed", log_x: bool = False,
               flat: bool = False) -> pd.DataFrame:
    """What a trend verdict (:func:`lib.chapters.seed_tests.trend`) is taken over, as a per-group frame for
    :func:`lib.chapters.verdicts.intervals_frame`: one row per seed with item ("seed 0, slope per ln
    width"), n (the points fitted), a and b (the seed's mean ``value`` at its largest and smallest x), diff
    (its least-squares slope against x, or ln x with ``log_x``; with ``flat`` the fitted total change over
    the measured range, slope x span), no interval (one seed has none) and an empty verdict (a seed alone
    decides nothing)."""
    sl = seed_tests.slopes(df, x=x, value=value, seed=seed, log_x=log_x)
    unit = f"ln {x}" if log_x else x
    what = f"fitted total change over the {unit} range" if flat else f"slope per unit of {unit}"
    rows = []
    for r in sl.to_dict("records"):  # records keep the seed's own type (iterrows would make it a float)
        g = df[(df[seed] == r[seed]) & np.isfinite(df[value].astype(float))]
        at = g.groupby(x)[value].mean() if len(g) else pd.Series(dtype=float)
        rows.append({"item": f"seed {r[seed]}, {what}", "n": int(r["points"]),
                     "a": float(at.iloc[-1]) if len(at) else math.nan, "b": float(at.iloc[0]) if len(at) else math.nan,
                     "diff": float(r["change"] if flat else r["slope"]), "ci_low": math.nan, "ci_high": math.nan,
                     "verdict": ""})
    return pd.DataFrame(rows, columns=["item", *GROUP_STATS])


__all__ = ["DIFF_FILES", "adjacent_steps", "diff_densities", "diff_spread", "diff_spreads", "extreme_epochs",
           "final_epoch", "hist_density", "layer_label", "load_diff_hist", "mask_layer_shares", "parent_width_table",
           "GROUP_STATS", "VALUE_ONLY", "group_label", "intervals_frame", "seed_summary", "show_intervals", "spearman",
           "stats_samples", "thesis_scaled_width", "trend_rows", "dropped_note", "weight_layers", "width_runs"]
