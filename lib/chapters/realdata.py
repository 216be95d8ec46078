"""Chapters 2 and 3: coherence on real versus Gaussian data, weight magnitudes, diffs.

Every function here reads finished runs from the cache (:mod:`lib.runs`) and returns a DataFrame
or a dict; the chapter modules (:mod:`lib.chapters.ch02_coherence`, :mod:`lib.chapters.ch03_diffs`)
draw the figures and decide the verdicts from what comes back (paired tests: :mod:`lib.chapters.seed_tests`).

* :func:`plan_real_vs_gaussian` plans the three runs of one architecture: a fresh initialisation on
  CIFAR-10, a fresh initialisation on Gaussian data, and the CIFAR-10-trained weights trained further
  on Gaussian data (thesis Fig. 2.4); :func:`real_vs_gaussian` reads them once trained.
* :func:`curves`, :func:`peak_coherence`, :func:`window_coherence`: per-epoch metrics and the numbers
  the chapter-2 verdicts compare.
* :func:`weight_magnitudes`, :func:`magnitude_summary`, :func:`distance_from_init`: the "gravity"
  check of thesis section 2.2 (Fig. 2.3).
* :func:`diff_histograms`, :func:`diff_summary`, :func:`epoch_histogram`: diff distributions per
  layer at the highest- and lowest-coherence epochs (Figs. 3.1, 3.2).
* :func:`extreme_diff_trajectories`, :func:`trajectory_summary`: the values over training of the
  highest- and lowest-|diff| entries of one tracked tensor (Figs. 3.3, 3.4).
* :func:`stats_samples`: the number n of images the statistics of a run average over; coherence of n
  unrelated gradients sits near 1/n (:func:`lib.chapters.figures.coherence_floor`), and every
  coherence figure here draws that floor.
* ``fig_*``: the chapters' figures, drawn from those tables (matplotlib figures, not yet shown).

Coherence is the statistics package's ``coherence`` column: ||mean_z g_z||^2 / mean_z ||g_z||^2 over
per-sample gradients of the network frozen after an epoch, in eval mode (BatchNorm uses its running
statistics). A diff is the mean over samples of sign(g_z) per weight, in [-1, 1].
"""
from __future__ import annotations

import dataclasses
from typing import Sequence

import numpy as np
import pandas as pd
import torch
from torch import nn

from ..plan import Plan, Planned
from ..profiles import Profile, large_config
from ..runs import Run, initial_model, load
from .. import paths
from ..config import TrainConfig
from .figures import floor_line, index_axis, legend_below, legend_outside

#: The three runs of chapter 2, in plotting order.
RUN_NAMES = ("real", "gaussian", "real_then_gaussian")
#: Metric columns :func:`curves` returns (those present in the run's metrics.csv).
CURVE_METRICS = ("train_loss", "test_loss", "train_acc", "test_acc", "coherence", "scaled_coherence")
#: Which diff file holds which epoch kind (see lib.stats): "max" is the highest-coherence epoch after
#: at least one epoch of training, "max_any" may be epoch 0, "min" the lowest-coherence epoch.
DIFF_FILES = {"max": paths.DIFFS_MAX_TRAINED, "max_any": paths.DIFFS_MAX, "min": paths.DIFFS_MIN}

# One mid-network weight tensor per architecture whose values are recorded every epoch (tracks.npz).
# Sizes per recorded epoch (float32): resnet_small 2,304 values (9 KB); resnet50 32,768 (128 KB, so
# 39 MB for 300 epochs); vit_tiny 4,096 (16 KB); vit 262,144 (1 MB, so 201 MB for 200 epochs; every
# weight tensor inside a ViT block has this size).
_TRACKED = {
    "resnet_small": "layer2.0.conv2.weight",
    "resnet50": "layer2.0.conv1.weight",
    "vit_tiny": "blocks.0.attn.q.weight",
    "vit": "blocks.0.attn.q.weight",
}


# ------------------------------------------------------------------------------------- runs
def tracked_layer(arch: str) -> str:
    """The weight tensor of ``arch`` whose values are recorded after every epoch (a layer-2 conv for
    the ResNets, the first block's attention query weight for the ViTs)."""
    if arch not in _TRACKED:
        raise ValueError(f"no tracked layer for arch {arch!r}; known: {', '.join(sorted(_TRACKED))}")
    return _TRACKED[arch]


def run_configs(p: Profile, arch: str, seed: int = 0) -> dict[str, TrainConfig]:
    """The configs of the three chapter-2 runs of ``arch`` (keys :data:`RUN_NAMES`), without training.

    Only the CIFAR-10 run records its tracked tensor: chapter 3's trajectories use that run alone, and
    at the paper scale a tracked ViT tensor over 1000 Gaussian epochs would take 1 GB.
    """
    real = dataclasses.replace(large_config(p, arch, dataset="cifar10", seed=seed), track=(tracked_layer(arch),))
    gauss = large_config(p, arch, dataset="gaussian", seed=seed)
    return {"real": real, "gaussian": gauss, "real_then_gaussian": dataclasses.replace(gauss, init_from=real)}


def plan_real_vs_gaussian(p: Profile, arch: str, seed: int = 0, names: Sequence[str] = RUN_NAMES) -> Plan:
    """The chapter-2 runs of ``arch`` (gradient statistics on), labelled ``run``: [real, gaussian],
    [real_then_gaussian] (it starts from the real run's weights).

    "real": fresh initialisation on CIFAR-10 for the profile's real-data epochs; "gaussian": the same
    initialisation on Gaussian data for ``p.epochs_gaussian`` epochs; "real_then_gaussian": the final
    weights of "real" trained on Gaussian data for ``p.epochs_gaussian`` epochs (thesis Fig. 2.4).
    ``names`` picks a subset of the three.
    """
    cfgs = run_configs(p, arch, seed)
    bad = sorted(set(names) - set(cfgs))
    if bad:
        raise ValueError(f"unknown run name(s) {bad}; known: {', '.join(RUN_NAMES)}")
    return [[Planned(cfgs[k], {"run": k}) for k in ("real", "gaussian") if k in names],
            [Planned(cfgs[k], {"run": k}) for k in ("real_then_gaussian",) if k in names]]


def real_vs_gaussian(plan: Plan, *, chapter: str | None = None) -> dict[str, Run]:
    """The runs of a :func:`plan_real_vs_gaussian` plan, read (:func:`lib.runs.load`; never trained):
    run name -> run."""
    return {p.labels["run"]: load(p.config, chapter=chapter) for stage in plan for p in stage}


def stats_samples(cfg: TrainConfig, full_train: int = 50_000) -> int:
    """How many training images the run's gradient statistics average over: ``cfg.stats.max_samples``
    capped by the training set size (``cfg.data.n_train``; 0 means the full ``full_train`` images)."""
    n_train = cfg.data.n_train or full_train
    return min(cfg.stats.max_samples, n_train) if cfg.stats.max_samples else n_train


# ----------------------------------------------------------------------------------- curves
def curves(runs: dict[str, Run]) -> pd.DataFrame:
    """Long table of per-epoch metrics: columns run, epoch, metric, value (epoch 0 = initialisation).

    Metrics are those of :data:`CURVE_METRICS` that the runs recorded (losses in nats, accuracies as
    fractions, coherence dimensionless)."""
    parts = []
    for name, run in runs.items():
        m = run.metrics
        cols = [c for c in CURVE_METRICS if c in m.columns]
        long = m.melt(id_vars="epoch", value_vars=cols, var_name="metric", value_name="value")
        long.insert(0, "run", name)
        parts.append(long)
    out = pd.concat(parts, ignore_index=True)
    out["epoch"] = out["epoch"].astype(int)
    return out


def peak_coherence(run: Run, column: str = "coherence") -> dict[str, float]:
    """Highest coherence over the trained epochs (epoch >= 1) and where it occurs; the same for the
    lowest coherence over all epochs, and the value at initialisation."""
    m = run.metrics
    if column not in m.columns:
        raise KeyError(f"run {run.hash} has no {column!r} column; gradient statistics were off")
    trained = m[m.epoch >= 1] if (m.epoch >= 1).any() else m
    imax, imin = trained[column].idxmax(), m[column].idxmin()
    return {"max": float(m.loc[imax, column]), "epoch_max": int(m.loc[imax, "epoch"]),
            "min": float(m.loc[imin, column]), "epoch_min": int(m.loc[imin, "epoch"]),
            "init": float(m.loc[m.epoch == 0, column].iloc[0])}


def window_coherence(run: Run, first: int, last: int, column: str = "coherence", how: str = "mean") -> float:
    """Mean (``how="mean"``) or maximum (``"max"``) coherence over epochs ``first``..``last`` inclusive;
    NaN when the run recorded none of those epochs."""
    m = run.metrics
    sel = m[(m.epoch >= first) & (m.epoch <= last)][column].dropna()
    if sel.empty:
        return float("nan")
    return float(sel.mean() if how == "mean" else sel.max())


def still_learning(run: Run, column: str = "train_loss", frac: float = 0.25, tol: float = 0.05) -> bool:
    """Whether ``column`` still fell by more than ``tol`` (relative) over the last ``frac`` of the run's
    epochs: a run that is still learning has not shown where it would end up."""
    m = run.metrics
    last = int(m.epoch.max())
    start = max(0, last - max(1, round(frac * last)))
    a, b = float(m.loc[m.epoch == start, column].iloc[0]), float(m.loc[m.epoch == last, column].iloc[0])
    return (a - b) > tol * abs(a)


# -------------------------------------------------------------------------- weight magnitudes
def _weights(state: dict[str, torch.Tensor] | nn.Module) -> dict[str, torch.Tensor]:
    """The >= 2-D floating tensors (weights; biases and norm parameters excluded), on the CPU."""
    sd = state.state_dict() if isinstance(state, nn.Module) else state
    return {k: v.detach().cpu().float() for k, v in sd.items() if v.is_floating_point() and v.dim() >= 2}


def _flat_abs(ws: dict[str, torch.Tensor]) -> np.ndarray:
    return torch.cat([w.abs().flatten() for w in ws.values()]).numpy()


def init_weights(run: Run) -> dict[str, torch.Tensor]:
    """The weights ``run`` started from (the seeded initialisation, or its ``init_from`` parent's)."""
    return _weights(initial_model(run.config))


def magnitude_states(p: Profile, arch: str, runs: dict[str, Run]) -> dict[str, dict[str, torch.Tensor]]:
    """Weight tensors of the three states of thesis Fig. 2.3: "init" (the seeded initialisation of the
    real run, rebuilt from its config), "real" and "gaussian" (final weights)."""
    real = runs["real"]
    if real.config.model.arch != arch:
        raise ValueError(f"runs['real'] is a {real.config.model.arch}, not a {arch}")
    return {"init": init_weights(real), "real": _weights(real.state_dict()),
            "gaussian": _weights(runs["gaussian"].state_dict())}


def weight_magnitudes(p: Profile, arch: str, runs: dict[str, Run], quantile: float = 0.99,
                      max_rows: int | None = 500_000, seed: int = 0) -> pd.DataFrame:
    """|w| of every weight (all >= 2-D tensors) at initialisation, after real and after Gaussian
    training, keeping per state only the values below that state's ``quantile`` (Fig. 2.3 "bottom 99%").

    Columns: state (categorical "init", "real", "gaussian"), value (float32). When a state keeps more
    than ``max_rows`` values a seeded uniform subsample of ``max_rows`` is returned (for plotting a
    ResNet50; the summaries use every value); ``None`` keeps all.
    """
    if not 0 < quantile <= 1:
        raise ValueError(f"quantile must be in (0, 1], got {quantile}")
    rng = np.random.default_rng(seed)
    parts = []
    for state, ws in magnitude_states(p, arch, runs).items():
        v = _flat_abs(ws)
        v = v[v < np.quantile(v, quantile)] if quantile < 1 else v
        if max_rows is not None and len(v) > max_rows:
            v = v[np.sort(rng.choice(len(v), max_rows, replace=False))]
        parts.append(pd.DataFrame({"state": state, "value": v.astype(np.float32)}))
    out = pd.concat(parts, ignore_index=True)
    out["state"] = pd.Categorical(out["state"], categories=["init", "real", "gaussian"])
    return out


def magnitude_summary(p: Profile, arch: str, runs: dict[str, Run], quantile: float = 0.99) -> pd.DataFrame:
    """Per state: number of weights, median, mean and ``quantile``-quantile of |w| over ALL weights,
    and the median and mean of the bottom ``quantile`` (what Fig. 2.3 draws). Also the
    Kolmogorov-Smirnov distance of each state's bottom-``quantile`` distribution to the "real" one
    (``ks_to_real``) and to the initialisation's (``ks_to_init``)."""
    from scipy.stats import ks_2samp

    vals = {s: _flat_abs(ws) for s, ws in magnitude_states(p, arch, runs).items()}
    bottom = {s: v[v < np.quantile(v, quantile)] for s, v in vals.items()}
    rows = []
    for s, v in vals.items():
        rows.append({"state": s, "n": len(v), "median": float(np.median(v)), "mean": float(v.mean()),
                     f"q{quantile:g}": float(np.quantile(v, quantile)),
                     "bottom_median": float(np.median(bottom[s])), "bottom_mean": float(bottom[s].mean()),
                     "ks_to_real": float(ks_2samp(bottom[s], bottom["real"]).statistic),
                     "ks_to_init": float(ks_2samp(bottom[s], bottom["init"]).statistic)})
    return pd.DataFrame(rows)


def distance_from_init(runs: dict[str, Run]) -> pd.DataFrame:
    """How far each run's final weights moved: ||w_T - w_0|| / ||w_0|| over all >= 2-D weights.

    Columns: run, start ("own": from the weights that run started from; "random": from the seeded
    random initialisation, which differs from "own" only for "real_then_gaussian"), rel_distance,
    and median_layer_rel (the median over tensors of the same ratio per tensor).
    """
    rows = []
    for name, run in runs.items():
        wt = _weights(run.state_dict())
        starts = {"own": init_weights(run)}
        if run.config.init_from is not None:
            starts["random"] = _weights(initial_model(dataclasses.replace(run.config, init_from=None)))
        else:
            starts["random"] = starts["own"]
        for label, w0 in starts.items():
            num = sum(float((wt[k] - w0[k]).pow(2).sum()) for k in wt)
            den = sum(float(w0[k].pow(2).sum()) for k in wt)
            per = [float((wt[k] - w0[k]).norm() / w0[k].norm()) for k in wt if float(w0[k].norm()) > 0]
            rows.append({"run": name, "start": label, "rel_distance": float(np.sqrt(num / den)),
                         "median_layer_rel": float(np.median(per))})
    return pd.DataFrame(rows)


# ------------------------------------------------------------------------------------ diffs
def representative_layers(model: nn.Module, n: int = 4) -> list[str]:
    """``n`` weight tensors spread evenly from the first to the last layer (early, middle, late).

    Candidates are parameters named ``*.weight`` with two or more dimensions, in definition order
    (so embeddings such as the ViT's class token are left out)."""
    names = [k for k, v in model.named_parameters() if k.endswith("weight") and v.dim() >= 2]
    if not names:
        raise ValueError("model has no >= 2-D weight tensors")
    idx = sorted({round(i * (len(names) - 1) / max(1, n - 1)) for i in range(n)})
    return [names[i] for i in idx]


def load_diffs(run: Run, which: str) -> dict[str, object]:
    """The saved diffs of one epoch kind ("max", "max_any", "min"; see :data:`DIFF_FILES`):
    ``{"epoch": int, "coherence": float, "diffs": {param name: tensor}}``."""
    if which not in DIFF_FILES:
        raise ValueError(f"unknown diff epoch kind {which!r}; known: {', '.join(DIFF_FILES)}")
    d = run.tensors(DIFF_FILES[which])
    return {"epoch": int(d["epoch"]), "coherence": float(d["coherence"]),
            "diffs": {k: torch.as_tensor(v).float() for k, v in d["diffs"].items()}}


def _edges(run: Run, bins: int | None) -> np.ndarray:
    b = bins or run.config.stats.bins
    return np.linspace(-1.0, 1.0, b + 1)


def diff_histograms(run: Run, which: Sequence[str] = ("max", "min"), layers: Sequence[str] | None = None,
                    bins: int | None = None) -> pd.DataFrame:
    """Density histograms of the diffs of each layer at the highest- ("max", after >= 1 epoch) and
    lowest-coherence ("min") epochs, from the saved diff tensors.

    Columns: layer, which, epoch, coherence, left, right, center, density (a density on [-1, 1]:
    sum(density * width) = 1 per layer and epoch kind). ``layers`` defaults to
    :func:`representative_layers`; ``bins`` to the run's ``stats.bins``.
    """
    layers = list(layers or representative_layers(run.load_model()))
    edges = _edges(run, bins)
    rows = []
    for w in which:
        d = load_diffs(run, w)
        for layer in layers:
            if layer not in d["diffs"]:  # type: ignore[operator]
                raise KeyError(f"run {run.hash}: no diffs for {layer!r}")
            x = d["diffs"][layer].flatten().numpy()  # type: ignore[index]
            dens, _ = np.histogram(np.clip(x, -1, 1), bins=edges, density=True)
            rows.append(pd.DataFrame({"layer": layer, "which": w, "epoch": d["epoch"], "coherence": d["coherence"],
                                      "left": edges[:-1], "right": edges[1:], "center": (edges[:-1] + edges[1:]) / 2,
                                      "density": dens}))
    return pd.concat(rows, ignore_index=True)


def diff_summary(run: Run, which: Sequence[str] = ("max", "min"), layers: Sequence[str] | None = None) -> pd.DataFrame:
    """Per layer and epoch kind: epoch, coherence, n (entries of the tensor), mean, std and mean |diff|,
    std_null (1/sqrt(m) for the m statistics images: the std of diffs whose per-sample signs were fair
    coin flips), the fraction of entries with |diff| = 1 (every sample's gradient has the same sign) and
    with diff = 0, and the excess kurtosis (0 for a normal distribution)."""
    from scipy.stats import kurtosis

    layers = list(layers or representative_layers(run.load_model()))
    std_null = 1.0 / np.sqrt(stats_samples(run.config))
    rows = []
    for w in which:
        d = load_diffs(run, w)
        for layer in layers:
            x = d["diffs"][layer].flatten().double().numpy()  # type: ignore[index]
            rows.append({"layer": layer, "which": w, "epoch": d["epoch"], "coherence": d["coherence"], "n": x.size,
                         "mean": float(x.mean()), "std": float(x.std()), "std_null": float(std_null),
                         "mean_abs": float(np.abs(x).mean()),
                         "frac_abs_one": float((np.abs(x) >= 1 - 1e-6).mean()), "frac_zero": float((x == 0).mean()),
                         "excess_kurtosis": float(kurtosis(x)) if x.std() > 0 else float("nan")})
    return pd.DataFrame(rows)


def hist_epochs(run: Run) -> list[int]:
    """The epochs for which the run saved diff histograms (``diff_hist.npz``)."""
    z = run.arrays(paths.DIFF_HIST_FILE)
    return [int(e) for e in z["epochs"]]


def epoch_histogram(run: Run, layer: str, epoch: int) -> pd.DataFrame:
    """Density histogram of ``layer``'s diffs after ``epoch`` from ``diff_hist.npz`` (any recorded
    epoch). Columns: left, right, center, density (integrates to 1 on [-1, 1])."""
    z = run.arrays(paths.DIFF_HIST_FILE)
    epochs = [int(e) for e in z["epochs"]]
    if epoch not in epochs:
        raise KeyError(f"run {run.hash}: no histogram for epoch {epoch}; recorded {epochs}")
    key = f"h/{layer}"
    if key not in z:
        raise KeyError(f"run {run.hash}: no histogram for {layer!r}")
    counts = z[key][epochs.index(epoch)].astype(np.float64)
    edges = z["edges"].astype(np.float64)
    width = np.diff(edges)
    dens = counts / (counts.sum() * width) if counts.sum() > 0 else np.zeros_like(counts)
    return pd.DataFrame({"left": edges[:-1], "right": edges[1:], "center": (edges[:-1] + edges[1:]) / 2, "density": dens})


# ------------------------------------------------------------------------------ trajectories
def _order(absdiff: np.ndarray, k: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Flat indices of the ``k`` largest and ``k`` smallest entries. Entries of equal value (diffs over n
    samples take n + 1 values, so many tie, often at exactly 0) are ordered by a seeded random
    permutation, not by their position in the tensor, so no part of the tensor is favoured."""
    tiebreak = np.random.default_rng(seed).permutation(absdiff.size)
    low = np.lexsort((tiebreak, absdiff))[:k]
    high = np.lexsort((tiebreak, -absdiff))[:k]
    return high, low


def extreme_diff_trajectories(run: Run, k: int = 10, layer: str | None = None, which: str = "max") -> pd.DataFrame:
    """Values over training of the ``k`` highest-|diff| and ``k`` lowest-|diff| entries of the run's
    tracked tensor, ranked by the diffs of epoch kind ``which`` (default: the highest-coherence epoch
    after at least one epoch of training); ties at the cut are broken at random, seeded by the run's seed.

    Columns: group ("high"/"low"), index (flat index in the tensor), diff, epoch (0 = initialisation),
    value, delta (value minus the value at epoch 0).
    """
    layer = layer or (run.config.track[0] if run.config.track else None)
    if layer is None:
        raise ValueError(f"run {run.hash} tracked no tensor (config.track is empty)")
    z = run.arrays(paths.TRACKS_FILE)
    if layer not in z:
        raise KeyError(f"run {run.hash} tracked {list(z)}, not {layer!r}")
    tr = z[layer].reshape(z[layer].shape[0], -1)
    diffs = load_diffs(run, which)["diffs"][layer].flatten().numpy()  # type: ignore[index]
    if 2 * k > diffs.size:
        raise ValueError(f"k={k} needs {2 * k} entries; {layer} has {diffs.size}")
    high, low = _order(np.abs(diffs), k, seed=run.config.seed)
    epochs = np.arange(tr.shape[0])
    parts = []
    for group, idx in (("high", high), ("low", low)):
        vals = tr[:, idx]  # (epochs, k)
        parts.append(pd.DataFrame({
            "group": group, "index": np.tile(idx, len(epochs)), "diff": np.tile(diffs[idx], len(epochs)),
            "epoch": np.repeat(epochs, len(idx)), "value": vals.reshape(-1),
            "delta": (vals - vals[0]).reshape(-1)}))
    return pd.concat(parts, ignore_index=True)


def trajectory_summary(traj: pd.DataFrame) -> pd.DataFrame:
    """Per group: k, mean |diff|, mean |w_T - w_0| (final displacement), mean over entries of the
    largest |w_t - w_0| along the way, and mean |w_0|."""
    last = traj.epoch.max()
    rows = []
    for g, d in traj.groupby("group", sort=False):
        fin = d[d.epoch == last]
        rows.append({"group": g, "k": fin["index"].nunique(), "mean_abs_diff": float(fin["diff"].abs().mean()),
                     "mean_abs_final_delta": float(fin["delta"].abs().mean()),
                     "mean_max_abs_delta": float(d.assign(a=d.delta.abs()).groupby("index").a.max().mean()),
                     "mean_abs_init": float(d[d.epoch == 0]["value"].abs().mean())})
    return pd.DataFrame(rows)


def diff_displacement_correlation(run: Run, layer: str | None = None, which: str = "max") -> dict[str, float]:
    """Over ALL entries of the tracked tensor: Spearman correlation between |diff| (epoch kind
    ``which``) and |w_T - w_0|, and between |diff| and |w_T| (is |diff| a proxy for magnitude?)."""
    from scipy.stats import spearmanr

    layer = layer or run.config.track[0]
    z = run.arrays(paths.TRACKS_FILE)
    tr = z[layer].reshape(z[layer].shape[0], -1)
    a = np.abs(load_diffs(run, which)["diffs"][layer].flatten().numpy())  # type: ignore[index]
    disp, mag = np.abs(tr[-1] - tr[0]), np.abs(tr[-1])
    return {"n": int(a.size), "rho_displacement": float(spearmanr(a, disp).statistic),
            "rho_magnitude": float(spearmanr(a, mag).statistic)}


def layers_with_histograms(run: Run) -> list[str]:
    """The run's >= 2-D weight tensors that have diff histograms in ``diff_hist.npz``, in model order."""
    z = run.arrays(paths.DIFF_HIST_FILE)
    have = {k[2:] for k in z if k.startswith("h/")}
    return [k for k, v in run.load_model().named_parameters() if v.dim() >= 2 and k in have]


# ----------------------------------------------------------------------------------- figures
RUN_LABELS = {"real": "CIFAR-10 (fresh init)", "gaussian": "Gaussian (fresh init)",
              "real_then_gaussian": "Gaussian (init = CIFAR-10-trained)"}
COH_LABEL = "coherence α (dimensionless)"
DIFF_LABEL = "diff = mean sign of per-sample gradient (in [-1, 1])"


_int_epochs = index_axis


def _palette() -> dict[str, tuple]:
    import seaborn as sns

    c = sns.color_palette("colorblind")
    return {"real": c[0], "gaussian": c[1], "real_then_gaussian": c[2], "max": c[3], "min": c[7],
            "high": c[3], "low": c[0], "init": c[7]}


def fig_curves(cv: pd.DataFrame, title: str, n: int, runs: Sequence[str] = ("real", "gaussian"),
               every_seed: Sequence[pd.DataFrame] = ()):
    """Figs. 2.1/2.2: coherence (log scale, with the floor 1/``n`` of ``n`` unrelated gradients),
    train/test loss, train/test accuracy per epoch, one colour per run, train solid and test dashed.
    With ``every_seed`` (the :func:`curves` of each seed), the coherence panel draws every seed as a thin
    line and their mean per epoch as the thick one; loss and accuracy stay those of ``cv``. One legend under
    the panels: colours are runs, solid and dashed are training and test."""
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    pal = _palette()
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.6))
    for r in runs:
        d = cv[cv.run == r]
        c = d[d.metric == "coherence"]
        if every_seed:
            per_seed = [x[(x.run == r) & (x.metric == "coherence")] for x in every_seed]
            for one in per_seed:
                axes[0].plot(one.epoch, one.value, color=pal[r], lw=0.8, alpha=0.35)
            c = pd.concat(per_seed).groupby("epoch", as_index=False)["value"].mean()
        label = RUN_LABELS[r] + (f" (mean of {len(every_seed)} seeds)" if every_seed else "")
        axes[0].plot(c.epoch, c.value, color=pal[r], label=label, marker="." if len(c) < 40 else None)
        for ax, m in ((axes[1], "loss"), (axes[2], "acc")):
            for split, ls in (("train", "-"), ("test", "--")):
                x = d[d.metric == f"{split}_{m}"]
                ax.plot(x.epoch, x.value, color=pal[r], ls=ls)
    floor_line(axes[0], n)
    axes[0].set(yscale="log", xlabel="epoch", ylabel=COH_LABEL + ", log scale", title="coherence")
    axes[1].set(xlabel="epoch", ylabel="cross-entropy loss (nats)", title="loss")
    axes[2].set(xlabel="epoch", ylabel="accuracy (fraction)", title="accuracy", ylim=(0, 1.02))
    legend_below(fig, axes[0], extra=[Line2D([], [], color="0.3", ls=ls, label=f"{s} (loss, accuracy)")
                                      for s, ls in (("training", "-"), ("test", "--"))])
    _int_epochs(*axes)
    fig.suptitle(title)
    return fig


def fig_magnitudes(wm: pd.DataFrame, title: str, bins: int = 80):
    """Fig. 2.3: density histograms of |w| (bottom 99 % per state) at init, after real and after
    Gaussian training, as overlaid step curves."""
    import matplotlib.pyplot as plt

    pal = _palette()
    fig, ax = plt.subplots(figsize=(7, 4))
    hi = float(wm.value.max())
    edges = np.linspace(0, hi, bins + 1)
    for s, ls in (("init", ":"), ("real", "-"), ("gaussian", "--")):
        v = wm[wm.state == s].value.to_numpy()
        ax.hist(v, bins=edges, density=True, histtype="step", lw=1.6, ls=ls,
                color=pal[s if s != "real" else "real"], label={"init": "initialisation", "real": "trained on CIFAR-10",
                                                               "gaussian": "trained on Gaussian"}[s])
    ax.set(xlabel="|w| (weight magnitude, same units as the weights)", ylabel="density (1 / unit of |w|)", title=title)
    legend_outside(fig, ax)
    return fig


def fig_coherence_runs(cv: pd.DataFrame, title: str, n: int,
                       runs: Sequence[str] = ("real", "real_then_gaussian", "gaussian")):
    """Fig. 2.4: coherence per epoch of several runs on one axis (log scale), with the floor 1/``n``; epoch 0,
    which the peak verdicts leave out, shaded."""
    import matplotlib.pyplot as plt

    pal = _palette()
    fig, ax = plt.subplots(figsize=(7.5, 4))
    ax.axvspan(-0.4, 0.4, color="0.9", lw=0, label="epoch 0: left out of the peaks")
    for r in runs:
        c = cv[(cv.run == r) & (cv.metric == "coherence")]
        ax.plot(c.epoch, c.value, color=pal[r], label=RUN_LABELS[r], lw=1.8 if r != "gaussian" else 1,
                ls="-" if r != "gaussian" else ":", marker="." if len(c) < 40 else None)
    floor_line(ax, n)
    ax.set(yscale="log", xlabel="epoch", ylabel=COH_LABEL + ", log scale", title=title)
    legend_outside(fig, ax)
    _int_epochs(ax)
    return fig


def fig_diff_histograms(hists: dict[str, pd.DataFrame], title: str):
    """Figs. 3.1/3.2: one row per layer, one column per run; the diff densities at the highest- and
    lowest-coherence epochs overlaid (log density axis, so the tails and the +-1 spikes show)."""
    import matplotlib.pyplot as plt

    pal = _palette()
    names = list(hists)
    layers = list(dict.fromkeys(hists[names[0]].layer))
    fig, axes = plt.subplots(len(layers), len(names), figsize=(5.2 * len(names), 2.3 * len(layers)),
                             squeeze=False, sharex=True)
    for j, r in enumerate(names):
        for i, layer in enumerate(layers):
            ax = axes[i, j]
            for w in ("max", "min"):
                d = hists[r][(hists[r].layer == layer) & (hists[r].which == w)]
                if d.empty:
                    continue
                lab = f"{'highest' if w == 'max' else 'lowest'} α: epoch {d.epoch.iloc[0]}, α = {d.coherence.iloc[0]:.3g}"
                ax.stairs(d.density.to_numpy(), np.r_[d.left.to_numpy(), d.right.iloc[-1]], color=pal[w],
                          lw=1.5, label=lab, fill=(w == "min"), alpha=0.35 if w == "min" else 1)
            ax.set_yscale("symlog", linthresh=0.1)
            ax.set_title(f"{RUN_LABELS.get(r, r)} | {layer}", fontsize=9)
            ax.set_ylabel("density (1 / unit of diff)", fontsize=9)
            ax.legend(fontsize=9, loc="upper left")
            ax.set_xlabel(DIFF_LABEL if i == len(layers) - 1 else "diff", fontsize=9)
            ax.tick_params(labelbottom=True)
    fig.suptitle(title)
    return fig


def fig_trajectories(traj: pd.DataFrame, title: str):
    """Figs. 3.3/3.4: left, values per epoch of the k highest- and k lowest-|diff| entries; right, the
    same minus each entry's initial value."""
    import matplotlib.pyplot as plt

    pal = _palette()
    fig, axes = plt.subplots(1, 2, figsize=(12, 4))
    for g in ("high", "low"):
        d = traj[traj.group == g]
        for n, (idx, e) in enumerate(d.groupby("index", sort=False)):
            kw = {"label": f"{g} |diff| (k = {d['index'].nunique()})"} if n == 0 else {}
            axes[0].plot(e.epoch, e.value, color=pal[g], lw=1, alpha=0.8, **kw)
            axes[1].plot(e.epoch, e.delta, color=pal[g], lw=1, alpha=0.8, **kw)
    axes[0].set(xlabel="epoch", ylabel="weight value (dimensionless)", title="value")
    axes[1].set(xlabel="epoch", ylabel="value − initial value (dimensionless)", title="displacement from initialisation")
    axes[0].legend()
    _int_epochs(*axes)
    fig.suptitle(title)
    return fig


def fig_explorer(runs: dict[str, Run], run: str, layer: str, epoch: int):
    """The chapter-3 explorer's view: the diff histogram of ``layer`` after ``epoch`` of run ``run``,
    and that run's coherence per epoch with ``epoch`` marked and the floor 1/n of its n statistics images."""
    import matplotlib.pyplot as plt

    pal = _palette()
    r = runs[run]
    h = epoch_histogram(r, layer, epoch)
    m = r.metrics
    fig, axes = plt.subplots(1, 2, figsize=(12, 3.8))
    axes[0].stairs(h.density.to_numpy(), np.r_[h.left.to_numpy(), h.right.iloc[-1]], color=pal[run], fill=True, alpha=0.6)
    axes[0].set_yscale("symlog", linthresh=0.1)
    axes[0].set(xlabel=DIFF_LABEL, ylabel="density (1 / unit of diff)", title=f"{layer}, epoch {epoch}")
    axes[1].plot(m.epoch, m.coherence, color=pal[run], marker="." if len(m) < 40 else None)
    axes[1].axvline(epoch, color="0.3", ls="--", lw=1)
    floor_line(axes[1], stats_samples(r.config))
    axes[1].legend()
    axes[1].set(yscale="log", xlabel="epoch", ylabel=COH_LABEL + ", log scale", title=RUN_LABELS.get(run, run))
    _int_epochs(axes[1])
    return fig
