"""Chapter 4: width, coherence and generalization in dense MLPs (thesis Figs. 4.1-4.4).

The notebook calls, in order: :func:`setup`, :func:`results` (trains or loads exactly :func:`plan`),
one function per figure and table, and :func:`verdicts` (four claims, each decided by its own small
function on plain DataFrames so that tests can feed it hand-made numbers).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from IPython.display import Markdown, display

from .. import experiments as ex
from .. import profiles, runs
from ..config import Stages, TrainConfig
from ..experiments import plan_configs
from ..models import mlp_weight_count
from ..runs import Run
from . import figures, mlp
from . import params as check
from . import verdicts as toolkit
from .thesis import FACTS
from .verdicts import Verdict


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
    prof = profiles.with_overrides(p.profile, widths=p.widths, mlp_epochs=p.epochs, seeds=p.seeds)
    base = profiles.mlp_config(prof, prof.widths[0])
    return Setup(p, prof, base, tuple(sorted(prof.widths)), check.seeds_with(p.seed, prof.seeds))


def plan(s: Setup) -> Stages:
    """One stage: a dense MLP with gradient statistics per (width, seed)."""
    return plan_configs("width_sweep", s.base, s.widths, s.seeds)


# ------------------------------------------------------------------------------------- results
@dataclass(frozen=True, eq=False)
class Results:
    """Everything chapter 4 draws and decides from.

    curves: every epoch of every run (width, seed, weights, epoch, metrics, coherence columns).
    final: the last epoch per (width, seed) with ``gap``. summary: :func:`mlp.seed_summary` of final
    per width, with the weight count. peak: per (width, seed) the highest coherence (and scaled
    coherence) over the training epochs and its epoch; peak_summary: its seed summary per width.
    densities: diff densities of run ``seed`` per width at its max- and min-coherence epochs.
    spread: exact sd of the diffs at the max-coherence epoch, per (width, seed, layer).
    runs, hists: the runs and their diff histograms, keyed by (width, seed).
    """

    curves: pd.DataFrame
    final: pd.DataFrame
    summary: pd.DataFrame
    peak: pd.DataFrame
    peak_summary: pd.DataFrame
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


def results(s: Setup) -> Results:
    """Train (or load) every run of :func:`plan`, then read the curves, final epochs, peak coherence,
    diff densities, diff spreads and histograms the chapter shows."""
    trained = runs.train_stages(plan(s))
    run_of = {(r.config.model.width, r.config.seed): r for r in trained}
    curves = ex.width_sweep(s.base, s.widths, s.seeds, progress=False)  # the runs above: read, not trained
    final = mlp.final_epoch(curves)
    summary = mlp.seed_summary(final, ["width"], ["train_loss", "test_loss", "train_acc", "test_acc", "gap"])
    summary.insert(1, "weights", [int(mlp_weight_count(w, depth=s.base.model.depth)) for w in summary["width"]])
    peak = ex.max_coherence_by_width(curves)
    scaled = ex.max_coherence_by_width(curves, column="scaled_coherence")
    peak = peak.merge(scaled[["width", "seed", "max_scaled_coherence"]], on=["width", "seed"])
    peak_summary = mlp.seed_summary(peak, ["width"], ["max_coherence", "max_scaled_coherence", "epoch_of_max"])
    names = layers(s)
    seed = s.params.seed
    dens = pd.concat([mlp.diff_densities(run_of[(w, seed)], curve_of(curves, w, seed), names).assign(width=w)
                      for w in s.widths], ignore_index=True)
    spread = pd.concat([mlp.diff_spread(run_of[(w, sd)], names).assign(width=w, seed=sd)
                        for w in s.widths for sd in s.seeds], ignore_index=True)
    spread["layer_name"] = [mlp.layer_label(n) if n != "all" else "all weights" for n in spread["layer"]]
    hists = {k: mlp.load_diff_hist(r) for k, r in run_of.items()}
    return Results(curves, final, summary, peak, peak_summary, dens, spread, run_of, hists)


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


def summary_table(s: Setup, r: Results) -> pd.DataFrame:
    """Last-epoch loss, accuracy and gap per width (mean and sd over seeds), rounded for display."""
    return r.summary.round(4)


def _errplot(ax: plt.Axes, x: Any, m: Any, sd: Any, **kw: Any) -> None:
    ax.errorbar(x, m, yerr=sd, marker="o", capsize=3, **kw)


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
        _errplot(axes[0], sm["width"], sm[f"{split}_loss_mean"], sm[f"{split}_loss_sd"], ls=ls, label=split)
        _errplot(axes[1], sm["width"], sm[f"{split}_acc_mean"], sm[f"{split}_acc_sd"], ls=ls, label=split)
    for ax, name in zip(axes, ("cross-entropy loss", "accuracy")):
        _width_axis(ax, s.widths)
        ax.set_ylabel(name)
        ax.legend()
    axes[0].set_title("Loss after the last epoch")
    axes[1].set_title("Accuracy after the last epoch")
    figures.show(fig, "Figure 4.1", "Train and test loss (left) and accuracy (right) of the dense MLPs against "
                 "hidden-layer width, at the last epoch; mean and standard deviation over seeds", provenance(s))


def figure_4_2(s: Setup, r: Results) -> None:
    """Generalization gap against width, with the width where the thesis sees it level off."""
    plateau = FACTS["gap_plateau_width"]
    fig, ax = _subplots(figsize=(6.5, 3.8))
    _errplot(ax, r.summary["width"], r.summary["gap_mean"], r.summary["gap_sd"], color="C2", label="ours")
    ax.axvline(plateau, ls=":", color="0.3", label=f"thesis: gap levels off near width {plateau}")
    _width_axis(ax, s.widths, plateau)
    ax.set_ylabel("train accuracy − test accuracy")
    ax.legend()
    figures.show(fig, "Figure 4.2", "Generalization gap at the last epoch against width; mean and standard deviation "
                 "over seeds, with the width where the thesis sees the gap stop growing", provenance(s))


def figure_4_3(s: Setup, r: Results) -> None:
    """Highest coherence over the training epochs against width, as α and as n·α."""
    widest = FACTS["max_coherence_width"]
    ps = r.peak_summary
    fig, axes = _subplots(1, 2, figsize=(10, 3.8))
    for ax, col, label in ((axes[0], "max_coherence", "max coherence α"),
                           (axes[1], "max_scaled_coherence", "max scaled coherence n·α")):
        _errplot(ax, ps["width"], ps[f"{col}_mean"], ps[f"{col}_sd"], color="C3", label="ours")
        ax.axvline(widest, ls=":", color="0.3", label=f"thesis: highest peak at widest width {widest}")
        _width_axis(ax, s.widths, widest)
        ax.set_ylabel(label)
        ax.legend(fontsize=8)
    n = s.base.stats.max_samples or s.base.data.n_train
    figures.show(fig, "Figure 4.3", "Highest coherence over the training epochs against width, as α (left) and as "
                 f"n·α (right, n = {n}); mean and standard deviation over seeds", provenance(s))


def peak_table(s: Setup, r: Results) -> pd.DataFrame:
    """Peak coherence, peak scaled coherence and its epoch per width (mean and sd over seeds)."""
    return r.peak_summary.round(5)


def _row_limits(dens: pd.DataFrame, names: Sequence[str]) -> dict[str, float]:
    """One x-range per weight matrix that holds every nonzero bin of that matrix (over all widths)."""
    mass = dens[dens["density"] > 0]
    centers = mass["center"].sort_values().unique()
    half_bin = float(np.diff(centers).min()) / 2 if mass["center"].nunique() > 1 else 0.02
    return {n: float(min(1.0, mass.loc[mass["layer"] == n, "center"].abs().max() + 3 * half_bin)) for n in names}


def figure_4_4(s: Setup, r: Results) -> None:
    """Diff densities per weight matrix (rows) and width (columns) at the max- and min-coherence epochs."""
    names, dens = layers(s), r.densities
    lims = _row_limits(dens, names)
    fig, axes = _subplots(len(names), len(s.widths), figsize=(2.1 * len(s.widths) + 1, 1.7 * len(names) + 0.6),
                          squeeze=False)
    for j, w in enumerate(s.widths):
        for i, layer in enumerate(names):
            ax = axes[i, j]
            for which, color in (("max", "tab:red"), ("min", "tab:blue")):
                d = dens[(dens["width"] == w) & (dens["layer"] == layer) & (dens["which"] == which)]
                ax.plot(d["center"], d["density"], color=color, lw=1.3,
                        label=f"{which} coherence (epoch {int(d['epoch'].iloc[0])})")
            ax.set_xlim(-lims[layer], lims[layer])
            ax.tick_params(labelsize=7)
            if i == 0:
                ax.set_title(f"width {w}", fontsize=9)
                ax.legend(fontsize=6, loc="upper right")
            if j == 0:
                ax.set_ylabel(mlp.layer_label(layer), fontsize=9)
            if i == len(names) - 1:
                ax.set_xlabel("diff", fontsize=8)
    fig.suptitle(f"Diff densities, seed {s.params.seed}", y=1.0)
    figures.show(fig, "Figure 4.4", "Density of the diffs of each weight matrix (rows) for each width (columns), at "
                 "the training epoch of highest coherence (red) and of lowest coherence (blue)", provenance(s, True))


def table_4a(s: Setup, r: Results) -> pd.DataFrame:
    """Shows Table 4.a's caption and returns the table: sd of the diffs at the max-coherence epoch per
    weight matrix (and all weights) and width, mean over seeds."""
    t = (r.spread.groupby(["layer_name", "width"], sort=False)["sd"].mean().unstack("width")
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
    a1.axvline(epoch, color="0.3", ls=":")
    a1.set_xlabel("epoch")
    a1.set_ylabel("coherence α")
    a1.set_title("coherence over training (epoch 0 = initialization)")
    return fig


def figure_4_5(s: Setup, r: Results) -> None:
    """The explorer's default selection, drawn statically."""
    e = explorer(s, r)
    figures.show(draw_explorer(s, r, e.key, e.layer, e.epoch), "Figure 4.5",
                 f"Explorer, default selection: diff histogram of the first hidden layer of the width-{s.widths[-1]} "
                 "network at its epoch of highest coherence (left) and its coherence curve (right)",
                 provenance(s, True))


# -------------------------------------------------------------------------------------- verdicts
def _fmt(m: float, sd: float) -> str:
    return f"{m:.3f} ± {sd:.3f}"


def _ends(df: pd.DataFrame, value: str, a: int, b: int, **kw: Any) -> pd.DataFrame:
    """:func:`lib.chapters.verdicts.compare_groups` of ``value`` between widths ``a`` and ``b`` ("a > b")."""
    return toolkit.compare_groups(df[df["width"].isin([a, b])], "width", a, b, value, **kw)


def _fit_text(summary: pd.DataFrame) -> str:
    fits = summary[summary["train_acc_mean"] >= 0.99]["width"]
    return (f"mean train accuracy first reaches 0.99 at width {int(fits.iloc[0])}" if len(fits)
            else "mean train accuracy stays below 0.99 at every width")


def _verdict(claim_id: str, claim: str, thesis: str, ours: str, verdict: str, figure: str) -> Verdict:
    return Verdict(claim_id, "04", claim, thesis, ours, verdict, figure)


def gap_grows(final: pd.DataFrame) -> Verdict:
    """Claim 4-gap-grows-with-width from the last-epoch rows (width, seed, gap): the gap at the widest
    width against the narrowest (:func:`lib.chapters.verdicts.compare`); the rank correlation is quoted."""
    lo, hi = int(final["width"].min()), int(final["width"].max())
    c = _ends(final, "gap", hi, lo).iloc[0]
    sm = mlp.seed_summary(final, ["width"], ["gap"])
    rho = mlp.spearman(sm["width"], sm["gap_mean"])
    return _verdict("4-gap-grows-with-width", "The generalization gap of a dense MLP grows with its width.",
                    "The gap climbs steadily with width up to about 1500 units (Fig. 4.2).",
                    f"gap {_fmt(c.mean_b, c.sd_b)} at width {lo} vs {_fmt(c.mean_a, c.sd_a)} at width {hi}; "
                    f"rank correlation of mean gap with width {rho:.2f}", c.verdict, "Figure 4.2")


def gap_levels_off(final: pd.DataFrame, plateau: int = FACTS["gap_plateau_width"]) -> Verdict:
    """Claim 4-gap-levels-off from the last-epoch rows (width, seed, gap, train_acc): among the widths
    >= ``plateau`` the gap at the widest must tie with the gap at the narrowest (held; a difference
    either way: not held); fewer than two such widths: not measured at this scale."""
    widths = sorted(int(w) for w in final["width"].unique())
    sm = mlp.seed_summary(final, ["width"], ["gap", "train_acc"])
    fit = _fit_text(sm)
    wide = [w for w in widths if w >= plateau]
    if len(wide) >= 2:
        c = _ends(final, "gap", wide[-1], wide[0]).iloc[0]
        verdict = "held" if c.verdict == "tie" else "not held"
        ours = f"gap {_fmt(c.mean_b, c.sd_b)} at width {wide[0]} vs {_fmt(c.mean_a, c.sd_a)} at width {wide[-1]}; {fit}"
    else:
        c = _ends(final, "gap", widths[-1], widths[0]).iloc[0]
        verdict = "not measured at this scale"
        ours = (f"widest width here is {widths[-1]}, below the thesis's plateau at about {plateau}; "
                f"gap at width {widths[-1]} is {_fmt(c.mean_a, c.sd_a)}; {fit}")
    return _verdict("4-gap-levels-off", "Beyond about 1500 units the gap stops growing, because training accuracy "
                    "is perfect.", "The gap levels out from width 1500 on (Fig. 4.2).", ours, verdict, "Figure 4.2")


def coherence_grows(peak: pd.DataFrame) -> Verdict:
    """Claim 4-coherence-grows-with-width from the peaks per run (width, seed, max_coherence): the
    widest width's peak against the narrowest's; the best width and rank correlation are quoted."""
    lo, hi = int(peak["width"].min()), int(peak["width"].max())
    c = _ends(peak, "max_coherence", hi, lo).iloc[0]
    sm = mlp.seed_summary(peak, ["width"], ["max_coherence"])
    best = int(sm.loc[sm["max_coherence_mean"].idxmax(), "width"])
    rho = mlp.spearman(sm["width"], sm["max_coherence_mean"])
    return _verdict("4-coherence-grows-with-width", "The peak coherence of a dense MLP rises with its width.",
                    "Max coherence rises fairly steadily with width and is highest at the widest width, 2800 (Fig. 4.3).",
                    f"max coherence {c.mean_b:.4g} ± {c.sd_b:.2g} at width {lo} vs {c.mean_a:.4g} ± {c.sd_a:.2g} at "
                    f"width {hi}; highest mean peak at width {best}; rank correlation with width {rho:.2f}",
                    c.verdict, "Figure 4.3")


def diffs_narrow(spread: pd.DataFrame) -> Verdict:
    """Claim 4-diffs-narrow-with-width from the diff spreads (width, seed, layer, sd; layer "all" is
    every weight pooled): per weight matrix, sd at the narrowest width > sd at the widest; the
    majority of the matrices decides (:func:`lib.chapters.verdicts.majority`); the pooled sd is quoted."""
    lo, hi = int(spread["width"].min()), int(spread["width"].max())
    per_layer = _ends(spread[spread["layer"] != "all"], "sd", lo, hi, by=["layer"])
    pooled = _ends(spread[spread["layer"] == "all"], "sd", lo, hi).iloc[0]
    n_held = int((per_layer["verdict"] == "held").sum())
    return _verdict("4-diffs-narrow-with-width", "Diffs at the peak-coherence epoch are spread more narrowly in "
                    "wider MLPs.", "Diff distributions narrow as width grows and are narrowest at width 2800, where "
                    "coherence peaks (Fig. 4.4).",
                    f"sd of all diffs {pooled.mean_a:.4f} at width {lo} vs {pooled.mean_b:.4f} at width {hi}; narrower "
                    f"at the wider width in {n_held} of {len(per_layer)} weight matrices",
                    toolkit.majority(per_layer["verdict"]), "Figure 4.4, Table 4.a")


def verdicts_of(final: pd.DataFrame, peak: pd.DataFrame, spread: pd.DataFrame) -> list[Verdict]:
    """The chapter's four claims from plain frames (see each claim's function)."""
    return [gap_grows(final), gap_levels_off(final), coherence_grows(peak), diffs_narrow(spread)]


def verdicts(s: Setup, r: Results) -> list[Verdict]:
    """The chapter's verdicts (pure: nothing is stored or shown)."""
    return verdicts_of(r.final, r.peak, r.spread)


def table_4b(s: Setup, vs: list[Verdict]) -> Any:
    """Shows Table 4.b's caption and returns the verdict table for display."""
    display(Markdown(f"**Table 4.b.** Verdicts at profile `{s.profile.name}` ({provenance(s).text()})."))
    return toolkit.table(vs)
