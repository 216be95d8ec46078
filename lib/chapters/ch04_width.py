"""Chapter 4: width, coherence and generalization in dense MLPs (thesis Figs. 4.1-4.4).

The notebook calls, in order: :func:`setup`, :func:`results` (trains or loads exactly :func:`plan`:
the MLP sweep and chapter 2's real-data ResNet and ViT runs, which section 4.2 compares the MLPs'
coherence with), one function per figure and table, and :func:`verdicts`. Each claim is decided by
its own small function in :mod:`lib.chapters.ch04_claims` on plain per-seed DataFrames (tests feed them
hand-made numbers) with the tests of :mod:`lib.chapters.seed_tests`, always over seeds (the seed is the
replicate): a claim that something grows or shrinks with width is each seed's least-squares slope against
ln width (:data:`lib.chapters.ch04_claims.LOG_WIDTH`) tested over seeds (``trend``), several numbers of one run (its weight matrices) are reduced within the run
first, and a claim worded "every width" judges each width on its own (``every=True``). Table 4.d
(:func:`table_4d`) shows the per-seed slopes or per-width intervals beside the verdicts.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from IPython.display import Markdown, display

from .. import experiments as ex
from .. import parallel, profiles
from ..config import TrainConfig
from ..models import mlp_weight_count
from ..plan import Plan, Planned, merge
from ..runs import Run, load
from . import ch04_explore, explore, figures, mlp
from . import params as check
from . import realdata
from .ch04_claims import LARGE, claims_of, scale_text
from .palette import OKABE_ITO
from . import verdicts as toolkit
from .thesis import FACTS
from .verdicts import Decided, Verdict


@dataclass(frozen=True)
class Params:
    """The notebook's papermill parameters (same names and defaults). None: the profile's value."""

    profile: str = "cpu"
    seed: int = 0
    widths: Any = None  # hidden-layer widths of the sweep (profile: widths)
    epochs: int | None = None  # training epochs (profile: mlp_epochs)
    seeds: Any = None  # seeds (profile: seeds); `seed` is added when it is not among them

    def __post_init__(self) -> None:
        check.profile(self.profile)
        check.integer(self.seed, "seed", minimum=0)
        check.integers(self.widths, "widths", minimum=1)
        check.integer(self.epochs, "epochs", minimum=1, optional=True)
        check.integers(self.seeds, "seeds", minimum=0)


@dataclass(frozen=True)
class Setup:
    """Chapter 4's parameters, resolved profile, the template config (its width is replaced per run),
    sorted widths and seeds (``seed`` first when it is not among the profile's)."""

    params: Params
    profile: profiles.Profile
    base: TrainConfig
    widths: tuple[int, ...]
    seeds: tuple[int, ...]


def setup(**params: Any) -> Setup:
    """Validate the parameters (errors name the parameter and its value) and resolve the chapter."""
    p = check.build(Params, params)
    prof = profiles.with_overrides(p.profile, widths=p.widths, mlp_epochs=p.epochs)
    base = profiles.mlp_config(prof, prof.widths[0])
    return Setup(p, prof, base, tuple(sorted(prof.widths)), check.resolve_seeds(p, prof, CHAPTER))


CHAPTER = "04"


def large_configs(s: Setup) -> dict[tuple[str, int], TrainConfig]:
    """Chapter 2's fresh real-data runs of the profile's ResNet and ViT, per (family, seed): the very
    configs of chapter 2's plan (:func:`lib.chapters.realdata.run_configs`), so both chapters read
    the same cached runs."""
    return {(fam, sd): realdata.run_configs(s.profile, getattr(s.profile, field), sd)["real"]
            for fam, field in LARGE.items() for sd in s.seeds}


def plan_parts(s: Setup) -> dict[str, Plan]:
    """The chapter's plan in its parts: "sweep", a dense MLP with gradient statistics per (width, seed)
    (:func:`lib.experiments.plan_width_sweep`), and "large", chapter 2's real-data ResNet and ViT run per
    seed (:func:`large_configs`, labelled ``family``, ``seed``); one stage each."""
    return {"sweep": ex.plan_width_sweep(s.base, s.widths, s.seeds),
            "large": [[Planned(cfg, {"family": fam, "seed": sd}) for (fam, sd), cfg in large_configs(s).items()]]}


def plan(s: Setup) -> Plan:
    """One stage: a dense MLP per (width, seed) and chapter 2's real-data ResNet and ViT per seed (the parts
    of :func:`plan_parts`, merged)."""
    return merge(plan_parts(s).values())


# ------------------------------------------------------------------------------------- results
@dataclass(frozen=True, eq=False)
class Results:
    """Everything chapter 4 draws and decides from.

    curves: every epoch of every run (width, seed, weights, epoch, metrics, coherence columns).
    final: the last epoch per (width, seed) with ``gap``. summary: :func:`mlp.seed_summary` of final
    per width, with the weight count. peak: per (width, seed) the highest coherence α (and scaled
    coherence) over the training epochs, its epoch, the n samples the statistics used and the
    debiased peak (n α - 1) / (n - 1); peak_summary: its seed summary per width. large: the same
    peak for chapter 2's real-data ResNet and ViT per (family, seed), with arch, n and their last
    test accuracy. densities: diff densities of run ``seed`` per width at its max- and min-coherence
    epochs. spread: exact sd of the diffs per (width, seed, layer) at both epochs (``which`` "max",
    "min"; :data:`mlp.DIFF_FILES`). runs, hists: the MLP runs and their diff histograms, keyed by
    (width, seed).
    """

    curves: pd.DataFrame
    final: pd.DataFrame
    summary: pd.DataFrame
    peak: pd.DataFrame
    peak_summary: pd.DataFrame
    large: pd.DataFrame
    densities: pd.DataFrame
    spread: pd.DataFrame
    runs: dict[tuple[int, int], Run]
    hists: dict[tuple[int, int], dict]


def layers(s: Setup) -> list[str]:
    """The weight matrices of the chapter's MLPs, input to output."""
    return mlp.weight_layers(s.base.model.depth)


def curve_of(curves: pd.DataFrame, width: int, seed: int) -> pd.DataFrame:
    """One run's rows of ``curves``, by epoch."""
    return curves[(curves["width"] == width) & (curves["seed"] == seed)].sort_values("epoch")


def stats_n(s: Setup) -> int:
    """The number of training samples the MLPs' gradient statistics use (the coherence floor is 1/n)."""
    return mlp.stats_samples(s.base)


def large_peaks(large: Plan) -> pd.DataFrame:
    """Peak coherence of chapter 2's real-data ResNet and ViT runs (the "large" part of :func:`plan_parts`),
    one row per (family, seed): family, arch, seed, max_coherence, epoch_of_max, n, max_debiased, test_acc."""
    rows = []
    for p in (planned for stage in large for planned in stage):
        fam, sd, cfg = p.labels["family"], p.labels["seed"], p.config
        run = load(cfg, chapter=CHAPTER)
        pk, n = realdata.peak_coherence(run), mlp.stats_samples(cfg)
        rows.append({"family": fam, "arch": cfg.model.arch, "seed": sd, "max_coherence": pk["max"],
                     "epoch_of_max": pk["epoch_max"], "n": n,
                     "max_debiased": float(figures.debiased_coherence(pk["max"], n)),
                     "test_acc": run.final()["test_acc"]})
    return pd.DataFrame(rows)


def results(s: Setup) -> Results:
    """Train :func:`plan`'s missing runs (the one executor, :func:`lib.parallel.train`; nothing when the build
    has), then read them (:func:`lib.runs.load`): the curves, final epochs, peak coherence (the MLPs' and the
    chapter-2 models'), diff densities, diff spreads and histograms the chapter shows."""
    parts = plan_parts(s)
    parallel.train(merge(parts.values()))  # = plan(s)
    run_of = mlp.width_runs(parts["sweep"], chapter=CHAPTER)
    curves = ex.width_sweep(parts["sweep"], chapter=CHAPTER)
    final = mlp.final_epoch(curves)
    summary = mlp.seed_summary(final, ["width"], ["train_loss", "test_loss", "train_acc", "test_acc", "gap"])
    summary.insert(1, "weights", [int(mlp_weight_count(w, depth=s.base.model.depth)) for w in summary["width"]])
    peak = ex.max_coherence_by_width(curves)
    scaled = ex.max_coherence_by_width(curves, column="scaled_coherence")
    peak = peak.merge(scaled[["width", "seed", "max_scaled_coherence"]], on=["width", "seed"])
    n = stats_n(s)
    peak["n"] = n
    peak["max_debiased"] = figures.debiased_coherence(peak["max_coherence"], n)
    peak_summary = mlp.seed_summary(peak, ["width"], ["max_coherence", "max_debiased", "max_scaled_coherence",
                                                      "epoch_of_max"])
    names = layers(s)
    seed = s.params.seed
    dens = pd.concat([mlp.diff_densities(run_of[(w, seed)], curve_of(curves, w, seed), names).assign(width=w)
                      for w in s.widths], ignore_index=True)
    spread = pd.concat([mlp.diff_spreads(run_of[(w, sd)], names).assign(width=w, seed=sd)
                        for w in s.widths for sd in s.seeds], ignore_index=True)
    spread["layer_name"] = [mlp.layer_label(n) if n != "all" else "all weights" for n in spread["layer"]]
    hists = {k: mlp.load_diff_hist(r) for k, r in run_of.items()}
    return Results(curves, final, summary, peak, peak_summary, large_peaks(parts["large"]), dens, spread, run_of, hists)


# ------------------------------------------------------------------------------- figures, tables
def _model(s: Setup) -> str:
    return f"MLP (3 hidden layers, widths {', '.join(map(str, s.widths))})"


def provenance(s: Setup, one_run: bool = False) -> figures.Provenance:
    """Caption provenance: every seed, or only the run ``seed`` (``one_run``)."""
    return figures.Provenance.of(s.profile.name, s.base, (s.params.seed,) if one_run else s.seeds, model=_model(s))


def describe(s: Setup) -> Markdown:
    """One paragraph: data, optimiser, epochs, seeds and where the statistics are measured."""
    b = s.base
    return Markdown(f"Profile **{s.profile.name}**: {b.data.n_train:,d} training and {b.data.n_test:,d} test images, "
                    f"Adam at learning rate {b.optim.lr:g}, batch {b.batch_size}, {b.epochs} epochs, "
                    f"seeds {', '.join(map(str, s.seeds))}; coherence and diffs on the first "
                    f"{b.stats.max_samples or b.data.n_train:,d} training images after every "
                    f"{b.stats.every} epoch(s).")


def per_seed(df: pd.DataFrame, by: str, col: str, digits: int = 4) -> pd.Series:
    """``col`` of every seed, per value of ``by``, as one text ("0.41, 0.43, 0.40" in seed order): the
    numbers behind a mean and sd, shown beside them."""
    return df.sort_values("seed").groupby(by)[col].agg(lambda v: ", ".join(f"{x:.{digits}f}" for x in v))


def summary_table(s: Setup, r: Results) -> pd.DataFrame:
    """Last-epoch loss, accuracy and gap per width (mean and sd over seeds), rounded for display, with the
    gap of every seed beside them (the gap verdicts pair those)."""
    t = r.summary.round(4).set_index("width")
    t[f"gap (seeds {', '.join(map(str, s.seeds))})"] = per_seed(r.final, "width", "gap")
    return t


def _errplot(ax: plt.Axes, x: Any, m: Any, sd: Any, seeds: pd.DataFrame | None = None, col: str = "",
             **kw: Any) -> None:
    """Mean ± sd over seeds against width; with ``seeds`` (one row per run: width, ``col``) every seed's
    value as a faint point 5 % to the right (the width axis is logarithmic)."""
    bars = ax.errorbar(x, m, yerr=sd, marker="o", capsize=3, **kw)
    if seeds is not None:
        ax.scatter(seeds["width"] * 1.05, seeds[col], color=bars[0].get_color(), s=12, alpha=0.5, lw=0)


def _width_axis(ax: plt.Axes, widths: Sequence[int], mark: int | None = None) -> None:
    """Log2 width axis ticked at ``widths`` (and at the thesis's width ``mark``)."""
    ax.set_xscale("log", base=2)
    ticks = sorted(set(widths) | ({mark} if mark is not None else set()))
    ax.set_xticks(ticks, [str(t) for t in ticks])
    ax.set_xlabel("hidden-layer width")


def _subplots(*args: Any, **kw: Any) -> tuple[plt.Figure, Any]:
    figures.style()
    return plt.subplots(*args, **kw)


def figure_4_1(s: Setup, r: Results) -> None:
    """Train and test loss and accuracy against width."""
    fig, axes = _subplots(1, 2, figsize=(10, 3.8))
    sm = r.summary
    for split, ls in (("train", "-"), ("test", "--")):
        _errplot(axes[0], sm["width"], sm[f"{split}_loss_mean"], sm[f"{split}_loss_sd"], r.final, f"{split}_loss",
                 ls=ls, label=split)
        _errplot(axes[1], sm["width"], sm[f"{split}_acc_mean"], sm[f"{split}_acc_sd"], r.final, f"{split}_acc",
                 ls=ls, label=split)
    for ax, name in zip(axes, ("cross-entropy loss", "accuracy")):
        _width_axis(ax, s.widths)
        ax.set_ylabel(name)
        ax.legend()
    axes[0].set_title("Loss after the last epoch")
    axes[1].set_title("Accuracy after the last epoch")
    figures.show(fig, "Figure 4.1", "Train and test loss (left) and accuracy (right) of the dense MLPs against "
                 "hidden-layer width, at the last epoch; mean and standard deviation over seeds (faint points: each seed)",
                 provenance(s), data=r.final)


def figure_4_2(s: Setup, r: Results) -> None:
    """Generalization gap against width, with the width where the thesis sees it level off."""
    plateau = FACTS["gap_plateau_width"]
    fig, ax = _subplots(figsize=(6.5, 3.8))
    _errplot(ax, r.summary["width"], r.summary["gap_mean"], r.summary["gap_sd"], r.final, "gap", color="C2",
             label="ours")
    ax.axvline(plateau, ls=":", color="0.3", label=f"thesis: gap levels off near width {plateau}")
    _width_axis(ax, s.widths, plateau)
    ax.set_ylabel("train accuracy − test accuracy")
    ax.legend()
    figures.show(fig, "Figure 4.2", "Generalization gap at the last epoch against width; mean and standard deviation "
                 "over seeds (faint points: each seed), with the width where the thesis sees the gap stop growing", provenance(s),
                 data=r.final[["width", "seed", "gap"]])


def figure_4_3(s: Setup, r: Results) -> None:
    """Highest coherence over the training epochs against width, as α and as n·α."""
    widest = FACTS["max_coherence_width"]
    ps = r.peak_summary
    fig, axes = _subplots(1, 2, figsize=(10, 3.8))
    for ax, col, label in ((axes[0], "max_coherence", "max coherence α"),
                           (axes[1], "max_scaled_coherence", "max scaled coherence n·α")):
        _errplot(ax, ps["width"], ps[f"{col}_mean"], ps[f"{col}_sd"], r.peak, col, color="C3", label="ours")
        ax.axvline(widest, ls=":", color="0.3", label=f"thesis: highest peak at widest width {widest}")
        _width_axis(ax, s.widths, widest)
        ax.set_ylabel(label)
    n = stats_n(s)
    figures.floor_line(axes[0], n)
    axes[1].axhline(1.0, ls=":", lw=1, color="0.5", label="floor n·α = 1 (unrelated gradients)")
    for ax in axes:  # below the panel: the floor lines run along its bottom edge
        ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.2), frameon=False)
    figures.show(fig, "Figure 4.3", "Highest coherence over the training epochs against width, as α (left) and as "
                 f"n·α (right, n = {n}); mean and standard deviation over seeds (faint points: each seed); the dotted line is the level of "
                 "n unrelated gradients", provenance(s), data=r.peak)


def peak_table(s: Setup, r: Results) -> pd.DataFrame:
    """Peak coherence α, its debiased value (n α - 1) / (n - 1), peak scaled coherence and its epoch per
    width (mean and sd over seeds), with the peak α of every seed beside them (the verdicts pair those)."""
    t = r.peak_summary.round(5).set_index("width")
    t[f"max α (seeds {', '.join(map(str, s.seeds))})"] = per_seed(r.peak, "width", "max_coherence", 5)
    return t


def table_4c(s: Setup, r: Results) -> pd.DataFrame:
    """Shows Table 4.c's caption and returns the peak coherence of the MLPs beside chapter 2's real-data
    ResNet and ViT (mean over seeds): α, the debiased value, n and the last test accuracy."""
    mlps = (r.peak.merge(r.final[["width", "seed", "test_acc"]], on=["width", "seed"])
            .assign(model=lambda d: [f"MLP width {w}" for w in d["width"]]))
    big = r.large.assign(model=lambda d: [f"{a} (chapter 2)" for a in d["arch"]])
    both = pd.concat([mlps, big], ignore_index=True)
    t = both.groupby("model", sort=False).agg(n=("n", "first"), seeds=("seed", "nunique"),
                                              peak_alpha=("max_coherence", "mean"),
                                              peak_debiased=("max_debiased", "mean"), test_acc=("test_acc", "mean"))
    display(Markdown("**Table 4.c.** Highest coherence over the training epochs of the MLPs and of chapter 2's "
                     "ResNet and ViT trained on real data at the same profile (mean over seeds): α, the debiased "
                     "value (n α − 1)/(n − 1), which removes the floor 1/n of n unrelated gradients, and the last "
                     f"test accuracy (profile `{s.profile.name}`)."))
    return t.round(5)


def _row_limits(dens: pd.DataFrame, names: Sequence[str]) -> dict[str, float]:
    """One x-range per weight matrix that holds every nonzero bin of that matrix (over all widths)."""
    mass = dens[dens["density"] > 0]
    centers = mass["center"].sort_values().unique()
    half_bin = float(np.diff(centers).min()) / 2 if mass["center"].nunique() > 1 else 0.02
    return {n: float(min(1.0, mass.loc[mass["layer"] == n, "center"].abs().max() + 3 * half_bin)) for n in names}


#: Panels per row of the multi-panel figures (legible at a 1,024 px content column).
PANELS_PER_ROW = 3


def _panel_grid(n: int, *, width: float = 11.0, row_height: float = 3.0) -> tuple[plt.Figure, list[plt.Axes]]:
    """``n`` panels, at most :data:`PANELS_PER_ROW` per row; unused cells of the last row are hidden."""
    rows = -(-n // PANELS_PER_ROW)
    fig, axes = _subplots(rows, PANELS_PER_ROW, figsize=(width, row_height * rows + 0.4), squeeze=False)
    flat = list(axes.ravel())
    for ax in flat[n:]:
        ax.set_visible(False)
    return fig, flat[:n]


def width_colors(widths: Sequence[int]) -> dict[int, Any]:
    """One colour per width from a sequential colour-blind-safe map (viridis; dark = narrow)."""
    cmap = plt.get_cmap("viridis")
    return {w: cmap(i / max(1, len(widths) - 1) * 0.9) for i, w in enumerate(widths)}


def figure_4_4(s: Setup, r: Results) -> None:
    """Figure 4.4: diff densities at the max-coherence epoch, one panel per weight matrix, one line per
    width; Figure 4.4b: their spread against width at both epochs, every seed."""
    names, dens = layers(s), r.densities
    lims = _row_limits(dens, names)
    colors = width_colors(s.widths)
    fig, axes = _panel_grid(len(names))
    for ax, layer in zip(axes, names):
        for w in s.widths:
            d = dens[(dens["width"] == w) & (dens["layer"] == layer) & (dens["which"] == "max")]
            ax.plot(d["center"], d["density"], color=colors[w], lw=1.4, label=f"width {w}")
        ax.set_xlim(-lims[layer], lims[layer])
        ax.set_title(mlp.layer_label(layer), fontsize=10)
        ax.set_xlabel("diff")
        ax.set_ylabel("density")
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=9, frameon=False)
    figures.show(fig, "Figure 4.4", "Density of the diffs of each weight matrix (one panel each) at the training "
                 "epoch of highest coherence (diff: the mean sign of a weight's per-sample gradients), one line per "
                 "hidden-layer width (dark = narrow); Figure 4.4b gives "
                 "their spread at both epochs for every seed", provenance(s, True),
                 data=dens[dens["which"] == "max"].assign(layer=lambda d: [mlp.layer_label(n) for n in d["layer"]]))
    figure_4_4b(s, r)


def figure_4_4b(s: Setup, r: Results) -> None:
    """Standard deviation of the diffs against width per weight matrix (left: epoch of highest coherence),
    and its ratio to the sd at the epoch of lowest coherence (right): seeds as points, mean as line."""
    sp = r.spread[r.spread["layer"] != "all"]
    wide = sp.pivot_table(index=["layer_name", "width", "seed"], columns="which", values="sd").reset_index()
    wide["ratio"] = wide["max"] / wide["min"]
    fig, (left, right) = _subplots(1, 2, figsize=(11, 3.8))
    hues = [OKABE_ITO[k] for k in ("blue", "orange", "green", "vermillion", "purple", "sky_blue")]
    order = [mlp.layer_label(n) for n in layers(s)]
    for layer, c in zip(order, hues):
        d = wide[wide["layer_name"] == layer]
        for ax, col in ((left, "max"), (right, "ratio")):
            ax.scatter(d["width"], d[col], color=c, s=10, alpha=0.5)
            m = d.groupby("width")[col].mean()
            ax.plot(m.index, m.to_numpy(), color=c, lw=1.5, marker="o", ms=3, label=layer)
    for ax in (left, right):
        ax.set_xscale("log", base=2)
        ax.set_xticks(list(s.widths), [str(w) for w in s.widths])
        ax.set_xlabel("hidden-layer width")
    left.set_ylabel("sd of diffs at max coherence")
    right.axhline(1.0, color="0.4", ls=":", lw=1, label="equal spread")
    right.set_ylabel("sd at max / sd at min coherence")
    handles, labels = right.get_legend_handles_labels()
    fig.legend(handles, labels, loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=9, frameon=False)
    figures.show(fig, "Figure 4.4b", "Spread of the diffs against width, per weight matrix: standard deviation at "
                 "the epoch of highest coherence (left) and its ratio to the standard deviation at the epoch of "
                 "lowest coherence, initialization included (right; above 1: wider at high coherence); each seed "
                 "a point, the mean a line", provenance(s), data=wide)


def table_4a(s: Setup, r: Results) -> pd.DataFrame:
    """Shows Table 4.a's caption and returns the table: sd of the diffs at the max-coherence epoch per
    weight matrix (and all weights) and width, mean over seeds."""
    t = (r.spread[r.spread["which"] == "max"].groupby(["layer_name", "width"], sort=False)["sd"].mean().unstack("width")
         .reindex([mlp.layer_label(n) for n in layers(s)] + ["all weights"]))
    t.columns = [f"width {w}" for w in t.columns]
    display(Markdown("**Table 4.a.** Standard deviation of the diffs at the epoch of highest coherence, mean over "
                     f"seeds ({provenance(s).text()})."))
    return t.round(4)


# -------------------------------------------------------------------------------------- explorer
@dataclass(frozen=True)
class Explorer:
    """The explorer's choices (label, value) and its default selection."""

    runs: list[tuple[str, tuple[int, int]]]
    layers: list[tuple[str, str]]
    epochs: list[int]
    key: tuple[int, int]
    layer: str
    epoch: int


def explorer(s: Setup, r: Results) -> Explorer:
    """Runs, parameters (weights, then biases) and epochs to choose from; default: the widest network
    of run ``seed``, the first hidden layer, its epoch of highest coherence."""
    names = layers(s)
    biases = sorted(n for n in r.hists[(s.widths[0], s.params.seed)]["hists"] if n.endswith("bias"))
    options = ([(mlp.layer_label(n) + " weights", n) for n in names]
               + [(mlp.layer_label(n.replace("bias", "weight")) + " bias", n) for n in biases])
    epochs = sorted(set.intersection(*(set(h["epochs"].tolist()) for h in r.hists.values())))
    key = (s.widths[-1], s.params.seed)
    epoch = mlp.extreme_epochs(curve_of(r.curves, *key), "coherence", r.hists[key]["epochs"])[0]
    return Explorer([(f"width {w}, seed {sd}", (w, sd)) for w in s.widths for sd in s.seeds], options, epochs,
                    key, names[1], epoch)


def draw_explorer(s: Setup, r: Results, key: tuple[int, int], layer: str, epoch: int) -> plt.Figure:
    """Diff histogram of ``layer`` of run ``key`` (width, seed) at ``epoch`` (left) and the run's
    coherence curve with that epoch marked (right)."""
    h = r.hists[key]
    i = int(np.flatnonzero(h["epochs"] == epoch)[0])
    edges = h["edges"]
    dens = mlp.hist_density(h["hists"][layer][i], edges)
    c = curve_of(r.curves, *key)
    label = {v: k for k, v in explorer(s, r).layers}[layer]
    fig, (a0, a1) = _subplots(1, 2, figsize=(10, 3.5))
    a0.stairs(dens, edges, fill=True, alpha=0.6, color="C0")
    nz = np.flatnonzero(dens > 0)
    if len(nz):
        a0.set_xlim(max(-1.0, edges[nz[0]] - 0.1), min(1.0, edges[nz[-1] + 1] + 0.1))
    a0.set_xlabel("diff")
    a0.set_ylabel("density")
    a0.set_title(f"width {key[0]}, seed {key[1]}: {label}, epoch {epoch}")
    a1.plot(c["epoch"], c["coherence"], marker=".", color="C3")
    figures.floor_line(a1, stats_n(s))
    a1.legend()
    figures.index_axis(a1)
    a1.axvline(epoch, color="0.3", ls=":")
    a1.set_xlabel("epoch")
    a1.set_ylabel("coherence α")
    a1.set_title("coherence over training (epoch 0 = initialization)")
    return fig


def explorers(s: Setup, r: Results) -> None:
    """The explorers of the HTML page, which work without a kernel (:mod:`ch04_explore`): the diff histogram
    of any run, matrix and epoch; coherence, gap, test accuracy and diff spread per epoch for every width."""
    f = ch04_explore.histogram_frames(r, explorer(s, r), stats_n(s))
    display(Markdown("**Diff histograms**: any run, weight matrix or bias, and recorded epoch"
                     + (" (epochs thinned to keep the page small)." if f["thinned"] else ".")))
    explore.show(ch04_explore.histogram_chart(f), "ch04-histograms")
    display(Markdown("**Curves per epoch**, every width, one line per seed."))
    explore.show(ch04_explore.curves_chart(ch04_explore.curves_frame(r, layers(s)), list(s.widths), list(s.seeds)),
                 "ch04-curves")


def figure_4_5(s: Setup, r: Results) -> None:
    """The explorer's default selection, drawn statically."""
    e = explorer(s, r)
    figures.show(draw_explorer(s, r, e.key, e.layer, e.epoch), "Figure 4.5",
                 f"Explorer, default selection: diff histogram of the first hidden layer of the width-{s.widths[-1]} "
                 "network at its epoch of highest coherence (left) and its coherence curve (right)",
                 provenance(s, True))


# ------------------------------------------------------------------ verdicts (the claims: ch04_claims)
def claims(s: Setup, r: Results) -> list[Decided]:
    """The chapter's claims and their per-group rows (pure: nothing is stored or shown)."""
    b = s.base
    return claims_of(r.final, r.peak, r.spread, r.large, scale_text(r.final, b.data.n_train or 50_000, b.epochs))


def verdicts(s: Setup, r: Results) -> list[Verdict]:
    """The chapter's verdicts (pure: nothing is stored or shown)."""
    return toolkit.verdicts_of(claims(s, r))


def table_4b(s: Setup, vs: list[Verdict]) -> Any:
    """Shows Table 4.b's caption and returns the verdict table for display."""
    display(Markdown(f"**Table 4.b.** Verdicts ({provenance(s).text()})."))
    return toolkit.table(vs, by="both")


def table_4d(s: Setup, r: Results) -> Any:
    """Shows Table 4.d's caption and returns the rows behind each verdict (a Styler)."""
    display(Markdown("**Table 4.d.** What each verdict of Table 4.b is taken over. A trend claim (grows, narrows, "
                     "levels off with width) has one row per seed: its value at the widest (a) and narrowest (b) width "
                     "and its least-squares slope against ln width, or for \"levels off\" its fitted total change over "
                     "the range (the difference column, no interval: one seed has none); the verdict is the "
                     "t-interval of these per-seed numbers over seeds. A claim worded \"every width\" has one row per "
                     "width with its own paired interval over seeds, and holds only when every width holds "
                     f"({provenance(s).text()})."))
    return toolkit.show_intervals(toolkit.intervals_frame(claims(s, r)))
