"""Chapter 5: pruning dense MLPs (thesis 5.3 prune sweep, 5.4 parent scaling; Figs. 5.1-5.3).

The thesis never says whether chapter 5's masks rank the weights of all layers together or keep the
same fraction of every layer, so both sweeps run in both mask scopes (:data:`SWEEP_SCOPES`,
:data:`SCALING_SCOPES`): ``global`` (one ranking over every prunable weight) and ``layer`` (each weight
matrix keeps the same fraction), and every claim is decided once per scope (its id ends in the scope).

The notebook calls, in order: :func:`setup`, :func:`results` (trains or loads exactly :func:`plan`),
one function per figure and table, and :func:`verdicts`. Each claim is decided by its own small
function on the sweeps' plain per-seed DataFrames (tests feed them hand-made numbers) with the tests
of :mod:`lib.chapters.seed_tests`, always over seeds (the seed is the replicate): the children of one seed
share that seed's dense runs and parents, so a claim about every mask judges each mask on its own over
seeds (``every=True``, each seed averaged over the widths first), a claim about a mean over widths or
ratios averages each seed over them first, a claim that accuracy grows with the parent ratio is each
seed's slope against ln ratio tested over seeds (``trend``), and a "best" claim tests every candidate
rather than one picked by its mean. Table 5.e (:func:`table_5e`) shows the rows behind each verdict.
"""
from __future__ import annotations

import dataclasses
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
from ..plan import Plan, merge
from . import figures, mlp
from . import palette
from . import params as check
from . import seed_tests
from . import verdicts as toolkit
from .thesis import FACTS
from .verdicts import Verdict

CHAPTER = "05"
METHODS = ("diff", "magnitude", "random")
#: Mask scopes of the prune sweep (Figs. 5.1, 5.2) and of the parent-scaling sweep (Fig. 5.3), each
#: decided separately: "global" ranks every prunable weight together (no floor), "layer" keeps the same
#: fraction of every weight matrix (:mod:`lib.masks`). See :func:`scope_note` for the thesis's wording.
SWEEP_SCOPES = ("global", "layer")
SCALING_SCOPES = ("global", "layer")
#: The share of every weight matrix the global ranking keeps at least: none (the thesis's chapter 5 names no
#: floor; its 2 % floor comes with chapter 6's global ranking). Passed to every sweep of :func:`plan`.
MASK_FLOOR = 0.0
#: The mask scopes chapter 5 runs, per sweep (read by chapter 7): every claim is decided once per scope.
MASK_SCOPES = {"prune sweep (Figs. 5.1, 5.2)": SWEEP_SCOPES, "parent scaling (Fig. 5.3)": SCALING_SCOPES}


def scopes_text() -> str:
    """What chapter 5 runs, in words from :data:`MASK_SCOPES` and :data:`MASK_FLOOR` (for chapter 7)."""
    floor = "no floor" if not MASK_FLOOR else f"a {MASK_FLOOR:.0%} floor"
    names = {"global": f"global (one ranking over every weight matrix, {floor} per matrix)",
             "layer": "layer (the same fraction of every weight matrix)"}
    parts = [f"{sweep}: {' and '.join(names.get(sc, sc) for sc in scopes)}" for sweep, scopes in MASK_SCOPES.items()]
    return "chapter 5 runs every mask in each scope and decides every claim once per scope; " + "; ".join(parts)


@dataclass(frozen=True)
class Params:
    """The notebook's papermill parameters (same names and defaults). None: the profile's value."""

    profile: str = "cpu"
    seed: int = 0
    widths: Any = None  # child widths of the prune sweep (profile: prune_widths)
    ratios: Any = None  # parent/child weight ratios of the parent-scaling sweep (profile: ratios)
    density: float = 0.1  # fraction of the parent's weights kept in the prune sweep
    epochs: int | None = None  # epochs of parents and children (profile: mlp_epochs)
    seeds: Any = None  # seeds (profile: seeds); `seed` is added when it is not among them

    def __post_init__(self) -> None:
        check.profile(self.profile)
        check.integer(self.seed, "seed", minimum=0)
        check.integers(self.widths, "widths", minimum=1)
        check.numbers_list(self.ratios, "ratios", low=1.0)
        check.density(self.density)
        check.integer(self.epochs, "epochs", minimum=1, optional=True)
        check.integers(self.seeds, "seeds", minimum=0)


@dataclass(frozen=True)
class Setup:
    """Chapter 5's parameters, resolved profile, template config, sorted child widths, seeds, the
    prune sweep's parent ratio (``1 / density``) and the mask scopes of both sweeps."""

    params: Params
    profile: profiles.Profile
    base: TrainConfig
    widths: tuple[int, ...]
    seeds: tuple[int, ...]
    ratio: float
    sweep_scopes: tuple[str, ...] = SWEEP_SCOPES
    scaling_scopes: tuple[str, ...] = SCALING_SCOPES


def setup(**params: Any) -> Setup:
    """Validate the parameters (errors name the parameter and its value) and resolve the chapter."""
    p = check.build(Params, params)
    prof = profiles.with_overrides(p.profile, prune_widths=p.widths, ratios=p.ratios, mlp_epochs=p.epochs,
                                   seeds=p.seeds)
    base = profiles.mlp_config(prof, prof.base_width)
    return Setup(p, prof, base, tuple(sorted(prof.prune_widths)), check.seeds_with(p.seed, prof.seeds),
                 1.0 / p.density)


def _sweep_args(s: Setup) -> dict[str, Any]:
    return {"density": s.params.density, "seeds": s.seeds, "ratio": s.ratio, "floor": MASK_FLOOR}


def plan_parts(s: Setup) -> dict[tuple[str, str], Plan]:
    """The chapter's plan in its parts, each read on its own: ("sweep", scope), the prune sweep of 5.3
    (:func:`lib.experiments.plan_prune_sweep`), and ("scaling", scope), the parent-scaling sweep of 5.4
    (:func:`lib.experiments.plan_parent_scaling`), for every scope of the setup."""
    sweeps = {("sweep", sc): ex.plan_prune_sweep(s.base, s.widths, METHODS, scope=sc, **_sweep_args(s))
              for sc in s.sweep_scopes}
    scaling = {("scaling", sc): ex.plan_parent_scaling(s.base, s.profile.base_width, s.profile.ratios, METHODS,
                                                       seeds=s.seeds, scope=sc, floor=MASK_FLOOR)
               for sc in s.scaling_scopes}
    return {**sweeps, **scaling}


def plan(s: Setup) -> Plan:
    """[parents of both sweeps], [children of every scope and the dense baselines]: the parts of
    :func:`plan_parts` merged (parents and dense runs are shared by the scopes, so each is listed once)."""
    return merge(plan_parts(s).values())


ORDER = ("none", *METHODS)
COLORS = {m: palette.method_color(m) for m in ("none", "random", "magnitude", "diff")}
MARKERS = {"none": "s", "random": "^", "magnitude": "o", "diff": "D"}
SCOPE_NAMES = {"global": "global ranking", "layer": "same fraction per layer"}


# ------------------------------------------------------------------------------------- results
@dataclass(frozen=True, eq=False)
class Results:
    """Everything chapter 5 draws and decides from.

    formula: :func:`mlp.parent_width_table` of every parent trained here and the thesis's largest,
    with a "used in" column. final: one row per (scope, width, seed, method) of the prune sweep (5.3;
    method "none" = the dense MLP of width w, the same run in every scope); sweep: its seed summary per
    (scope, method, width). shares: the per-layer fraction each mask of run ``seed``'s largest parent
    keeps, per scope. scaling: one row per (scope, ratio, seed, method) of the parent-scaling sweep
    (5.4; ratio 1 = the dense base network); scaling_summary: its seed summary per (scope, method, ratio).
    """

    formula: pd.DataFrame
    final: pd.DataFrame
    sweep: pd.DataFrame
    shares: pd.DataFrame
    scaling: pd.DataFrame
    scaling_summary: pd.DataFrame


def by_method(df: pd.DataFrame, x: str, cols: Sequence[str]) -> pd.DataFrame:
    """:func:`mlp.seed_summary` of ``cols`` per ([scope,] method, ``x``), methods in :data:`ORDER`."""
    keys = [k for k in ("scope",) if k in df.columns] + ["method", x]
    out = mlp.seed_summary(df, keys, cols)
    out["method"] = pd.Categorical(out["method"], ORDER, ordered=True)
    return out.sort_values(keys).reset_index(drop=True)


def formula_table(s: Setup) -> pd.DataFrame:
    """The parent widths of both sweeps and of the thesis's largest parent (5.4: 62x width 512)."""
    prof = s.profile
    bigger = [r for r in prof.ratios if r > 1]
    pairs = [(w, s.ratio) for w in s.widths] + [(prof.base_width, r) for r in bigger] + [(512, FACTS["max_parent_ratio"])]
    t = mlp.parent_width_table(pairs, depth=s.base.model.depth)
    t.insert(0, "used in", ["Fig. 5.1–5.2"] * len(s.widths) + ["Fig. 5.3"] * len(bigger) + ["thesis only"])
    return t


def results(s: Setup) -> Results:
    """Train :func:`plan`'s missing runs (the one executor, :func:`lib.parallel.train`; nothing when the build
    has), then read each part of :func:`plan_parts` (:func:`lib.runs.load`): both sweeps in every scope and
    the masks of run ``seed``'s largest parent."""
    parts = plan_parts(s)
    parallel.train(merge(parts.values()))  # = plan(s)
    final = pd.concat([ex.prune_sweep(parts[("sweep", sc)], chapter=CHAPTER).assign(scope=sc) for sc in s.sweep_scopes],
                      ignore_index=True)
    sweep = by_method(final, "width", ["train_loss", "test_loss", "train_acc", "test_acc", "gap", "nonzero_weights"])
    shares = pd.concat([mlp.mask_layer_shares(parts[("sweep", sc)], s.widths[-1], s.params.seed).assign(scope=sc)
                        for sc in s.sweep_scopes], ignore_index=True)
    scaling = pd.concat([ex.parent_scaling(parts[("scaling", sc)], chapter=CHAPTER).assign(scope=sc)
                         for sc in s.scaling_scopes], ignore_index=True)
    ssum = by_method(scaling, "ratio", ["train_acc", "test_acc", "gap", "density", "parent_width"])
    return Results(formula_table(s), final, sweep, shares, scaling, ssum)


# ------------------------------------------------------------------------------- figures, tables
def provenance(s: Setup, scaling: bool = False) -> figures.Provenance:
    """Caption provenance of the prune sweep (5.3) or of the parent-scaling sweep (``scaling``, 5.4)."""
    model = (f"MLP children with the weights of width {s.profile.base_width}" if scaling else
             f"MLP children of widths {', '.join(map(str, s.widths))} from {s.ratio:g}x parents")
    return figures.Provenance.of(s.profile.name, s.base, s.seeds, model=model)


def describe(s: Setup) -> Markdown:
    """One paragraph: data, optimiser, epochs, seeds, the fraction kept and the mask scopes."""
    b = s.base
    return Markdown(f"Profile **{s.profile.name}**: {b.data.n_train:,d} training and {b.data.n_test:,d} test images, "
                    f"Adam at learning rate {b.optim.lr:g}, batch {b.batch_size}, {b.epochs} epochs for parents "
                    f"and children alike, seeds {', '.join(map(str, s.seeds))}; {s.params.density:.0%} of the "
                    f"weights kept; mask scopes: {', '.join(s.sweep_scopes)} (Figs. 5.1, 5.2), "
                    f"{', '.join(s.scaling_scopes)} (Fig. 5.3).")


def scope_note() -> Markdown:
    """Which mask scope the thesis's wording supports (sections and numbers, in our words)."""
    return Markdown(
        "**Which scope does the thesis mean?** Section 5.3 prunes every network to one fraction "
        f"({FACTS['density']:.0%} kept) and skips small layers to avoid a bottleneck, without naming a scope. "
        "Skipping the small layers is the protection a per-layer cut needs: when every layer keeps "
        f"{FACTS['density']:.0%}, only a layer that is small to begin with can become a bottleneck. A global ranking "
        "threatens any layer whose scores rank low, whatever its size, and the thesis meets that risk only in "
        f"section 6.1, where it introduces global ranking together with a {FACTS['global_floor']:.0%} floor per layer; "
        "section 6.2 then adds per-layer pruning. Chapter 5's wording therefore fits the **layer** scope better, "
        "while chapter 6's account of its own first experiments is global. We run both and decide every claim "
        "once per scope.")


def table_5a(s: Setup, r: Results) -> Any:
    """Shows Table 5.a's caption and returns the parent-width table (a Styler)."""
    display(Markdown("**Table 5.a.** Parent widths: the thesis's closed form against `lib.models.scaled_width` and the "
                     "exact weight ratio of the rounded width (depth 3, 3072 inputs, 10 classes)."))
    names = {"width": "w", "ratio": "r", "thesis_formula": "thesis formula", "scaled_width": "ours",
             "formula_minus_ours": "formula − ours", "weights": "W(w)", "parent_weights": "W(ours)",
             "exact_ratio": "W(ours) / W(w)"}
    return (r.formula.rename(columns=names).style.hide(axis="index")
            .format({"r": "{:g}", "thesis formula": "{:.2f}", "formula − ours": "{:+.2f}", "W(w)": "{:,d}",
                     "W(ours)": "{:,d}", "W(ours) / W(w)": "{:.4f}"}))


def formula_note(s: Setup, r: Results) -> Markdown:
    """The largest gap between the closed form and our rounding, and the thesis's base and largest parent."""
    depth = s.base.model.depth
    worst = float(r.formula["formula_minus_ours"].abs().max())
    w512 = mlp_weight_count(512, depth=depth)
    p512 = w512 + depth * 512 + 512 + 10
    last = r.formula.iloc[-1]
    return Markdown(
        f"The closed form and our rounding never differ by more than {worst:.2f} units (rounding alone allows 0.5). "
        f"The thesis's base network of width 512 has {w512 / 1e6:.2f} M weights ({p512 / 1e6:.2f} M with biases); "
        f"the thesis rounds this to {FACTS['mlp512_params'] / 1e6:.1f} M. Its largest parent, "
        f"{FACTS['max_parent_ratio']}x that size, has width {int(last['scaled_width'])} and "
        f"{int(last['parent_weights']) / 1e6:.0f} M weights.")


def accuracy_table(s: Setup, r: Results) -> pd.DataFrame:
    """Shows a one-line caption and returns the last-epoch test accuracy per child width, scope and method."""
    display(Markdown("Test accuracy at the last epoch, mean over seeds (rows: child width $w$; columns: mask scope "
                     "and method; \"none\" is the same dense run in both scopes):"))
    return r.sweep.pivot(index="width", columns=["scope", "method"], values="test_acc_mean").round(4)


def _subplots(*args: Any, **kw: Any) -> tuple[plt.Figure, Any]:
    figures.style()
    return plt.subplots(*args, **kw)


def _method_lines(ax: plt.Axes, df: pd.DataFrame, x: str, col: str, log: bool = True,
                  seeds: pd.DataFrame | None = None) -> None:
    """One error-bar line of ``col`` (mean ± sd over seeds) against ``x`` per method; with ``seeds`` (one
    row per run, columns method, ``x``, ``col``) every seed's value as a small faint point beside it."""
    for m in ORDER:
        d = df[df["method"] == m]
        if not len(d):
            continue
        ax.errorbar(d[x], d[f"{col}_mean"], yerr=d[f"{col}_sd"], color=COLORS[m], marker=MARKERS[m], capsize=3,
                    label=m, lw=1.4, ms=5)
        if seeds is not None:
            one = seeds[seeds["method"] == m]
            # 5 % to the right of the mean (the x axes are logarithmic), so the error bar does not hide them
            ax.scatter(one[x] * 1.05, one[col], color=COLORS[m], marker=MARKERS[m], s=12, alpha=0.5, lw=0)
    if log:
        ax.set_xscale("log", base=2)


def figure_5_1(s: Setup, r: Results) -> None:
    """Accuracy and loss of the children and of the dense MLP of equal nonzero count, against width: one
    figure per mask scope."""
    d = s.params.density
    for sc in s.sweep_scopes:
        fig, axes = _subplots(2, 2, figsize=(10, 7), sharex=True)
        sweep, runs_of = r.sweep[r.sweep["scope"] == sc], r.final[r.final["scope"] == sc]
        for ax, col, name in zip(axes.ravel(), ("train_acc", "test_acc", "train_loss", "test_loss"),
                                 ("train accuracy", "test accuracy", "train loss", "test loss")):
            _method_lines(ax, sweep, "width", col, seeds=runs_of)
            ax.set_ylabel(name)
            ax.set_title(name)
        for ax in axes[1]:
            ax.set_xticks(s.widths, [str(w) for w in s.widths])
            ax.set_xlabel("child width w (nonzero count of dense width w)")
        fig.tight_layout()
        figures.legend_outside(fig, axes[0, 0], title="mask")
        fig.suptitle(f"Mask scope: {SCOPE_NAMES[sc]}", y=1.0)
        figures.show(fig, f"Figure 5.1 ({sc})", f"Children keeping {d:.0%} of the weights of a {s.ratio:g}x parent "
                     f"({SCOPE_NAMES[sc]}), by mask, against the dense MLP of the same nonzero count (none): accuracy "
                     "and loss at the last epoch, mean and standard deviation over seeds (faint points: each seed)", provenance(s))


def figure_5_2(s: Setup, r: Results) -> None:
    """Generalization gap of the children and of the dense MLP against width, one panel per mask scope."""
    scopes = s.sweep_scopes
    fig, axes = _subplots(1, len(scopes), figsize=(6.2 * len(scopes), 4), sharey=True, squeeze=False)
    for ax, sc in zip(axes[0], scopes):
        _method_lines(ax, r.sweep[r.sweep["scope"] == sc], "width", "gap", seeds=r.final[r.final["scope"] == sc])
        ax.set_xticks(s.widths, [str(w) for w in s.widths])
        ax.set_xlabel("child width w")
        ax.set_title(SCOPE_NAMES[sc])
    axes[0, 0].set_ylabel("train accuracy − test accuracy")
    fig.tight_layout()
    figures.legend_outside(fig, axes[0, 0], title="mask")
    figures.show(fig, "Figure 5.2", f"Generalization gap of the children ({s.params.density:.0%} kept) and of the "
                 "dense MLP of equal nonzero count, at the last epoch, per mask scope; mean and standard deviation "
                 "over seeds (faint points: each seed)", provenance(s))


def table_5b(s: Setup, r: Results) -> pd.DataFrame:
    """Shows Table 5.b's caption and returns the fraction of each weight matrix each mask keeps, per scope."""
    depth = s.base.model.depth
    shares = r.shares.assign(layer=[mlp.layer_label(n, depth) for n in r.shares["layer"]])
    t = shares.pivot(index="layer", columns=["scope", "method"], values="fraction_kept").reindex(
        [mlp.layer_label(n, depth) for n in mlp.weight_layers(depth)])
    t = t[[(sc, m) for sc in s.sweep_scopes for m in METHODS]]
    t.insert(0, ("", "weights"), shares.drop_duplicates("layer").set_index("layer")["size"])
    p = s.params
    display(Markdown(f"**Table 5.b.** Fraction of each weight matrix kept by each mask and scope; parent of width "
                     f"{int(shares['parent_width'].iloc[0])} (child width {s.widths[-1]}), seed {p.seed}, "
                     f"{p.density:.0%} kept in all (profile `{s.profile.name}`)."))
    return t.round(4)


def figure_5_3(s: Setup, r: Results) -> None:
    """Test and train accuracy of the fixed-size children against the parent ratio, beside the dense base;
    one row of panels per mask scope."""
    ssum = r.scaling_summary
    largest, base_width = FACTS["max_parent_ratio"], s.profile.base_width
    ticks = sorted({1.0} | {float(x) for x in s.profile.ratios if x > 1} | {float(largest)})
    scopes = s.scaling_scopes
    fig, axes = _subplots(len(scopes), 2, figsize=(11, 4 * len(scopes)), squeeze=False)
    for row, sc in zip(axes, scopes):
        part = ssum[ssum["scope"] == sc]
        dense = part[part["method"] == "none"].iloc[0]
        sparse = part[part["method"] != "none"]
        runs_of = r.scaling[(r.scaling["scope"] == sc) & (r.scaling["method"] != "none")]
        for ax, col, name in ((row[0], "test_acc", "test accuracy"), (row[1], "train_acc", "train accuracy")):
            m, sd = dense[f"{col}_mean"], dense[f"{col}_sd"]
            _method_lines(ax, sparse, "ratio", col, log=False, seeds=runs_of)
            ax.axhspan(m - sd, m + sd, color="0.5", alpha=0.2)
            ax.axhline(m, color=COLORS["none"], ls="--", lw=1, label=f"none (dense width {base_width})")
            ax.errorbar([1.0], [m], yerr=[sd], color=COLORS["none"], marker=MARKERS["none"], capsize=3)
            ax.axvline(largest, color="0.3", ls=":", label=f"thesis: largest parent {largest}x")
            ax.set_xscale("log")
            ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
            ax.minorticks_off()
            ax.set_xlabel("parent size / child nonzero count (ratio r)")
            ax.set_ylabel(name)
            ax.set_title(f"{name} ({SCOPE_NAMES[sc]})")
    fig.tight_layout()
    figures.legend_outside(fig, axes[0, 0], title="mask")
    weights = mlp_weight_count(base_width, depth=s.base.model.depth)
    figures.show(fig, "Figure 5.3", f"Children with the nonzero weight count of the dense width-{base_width} MLP "
                 f"({weights:,.0f} weights), pruned from parents r times larger, by mask, one row per mask scope; the "
                 "dashed line and band are the dense base network (mean ± sd); mean and standard deviation over seeds "
                 "(faint points: each seed)",
                 provenance(s, True))


def table_5c(s: Setup, r: Results) -> Any:
    """Shows Table 5.c's caption and returns test accuracy by parent ratio, scope and method (a Styler)."""
    ssum = r.scaling_summary
    t = ssum.pivot(index="ratio", columns=["scope", "method"], values="test_acc_mean")
    t = t[[c for c in ((sc, m) for sc in s.scaling_scopes for m in ORDER) if c in t.columns]]
    t.insert(0, ("", "density"), ssum.groupby("ratio")["density_mean"].first())
    t.insert(0, ("", "parent_width"), ssum.groupby("ratio")["parent_width_mean"].first().astype(int))
    display(Markdown("**Table 5.c.** Test accuracy of the fixed-size children by parent ratio, mask scope and method "
                     "(mean over seeds; ratio 1 is the dense base network, the same run in every scope), profile "
                     f"`{s.profile.name}`."))
    return t.style.format(precision=4, na_rep="–").format_index("{:g}", axis=0)  # parent_width is int: unaffected


# -------------------------------------------------------------------------------------- verdicts
#: Section 5.4: the parent size (weights) the thesis needed for the fixed-size child to match the
#: 10 %-kept sweep's best accuracy ("between 60M and 100M parameters").
NEEDED_PARENT_WEIGHTS = 60e6
#: 5-random-weak-at-high-sparsity is measured only when the sparsest child keeps at most this share of
#: its parent (nominally 1 / r; the thesis reaches 1/62, about 1.6 %).
SPARSE_ENOUGH = 0.05
THESIS_EPOCHS = 200  # sections 5.3, 5.4
#: Every trend of this chapter (accuracy, or magnitude's lead over random, against the parent ratio) is
#: fitted against the natural log of the ratio: the ratios are spaced geometrically (1, 2, 5, 10, 20, ... up
#: to the thesis's 62; Figure 5.3 uses a log axis), so ln ratio gives every step equal weight, where a fit
#: against the ratio itself would be decided by the largest parents alone.
LOG_RATIO = True
#: A difference of two accuracies lies in [-1, 1], of two gaps (train − test accuracy) in [-2, 2]: the
#: intervals are cut to these ranges.
BOUNDS = {"test_acc": (-1.0, 1.0), "train_acc": (-1.0, 1.0), "gap": (-2.0, 2.0)}

Decided = toolkit.Decided


def _claim(claim_id: str, scope: str, text: str, thesis: str, fails_if: str, figure: str, conclusion: str = "",
           bears: str = "for") -> toolkit.Claim:
    """A claim of chapter 5 for one mask scope: its id ends in the scope, its text starts with the scope's name."""
    return toolkit.Claim(f"{claim_id}-{scope}", "05", f"[{SCOPE_NAMES.get(scope, scope)}] {text}", thesis, fails_if,
                         figure, conclusion, bears)


def _seed_mean(df: pd.DataFrame, keys: Sequence[str], value: str) -> pd.DataFrame:
    """``value`` averaged within each ``keys`` group (which holds the seed): the several numbers of one seed
    made one, before any test over seeds. A non-finite value makes its group's mean non-finite, so the test
    leaves that seed out and says so, rather than averaging around it."""
    return df.groupby(list(keys), sort=True, as_index=False)[value].agg(lambda v: float(np.mean(v.to_numpy(float))))


def versus(df: pd.DataFrame, pairs: Sequence[tuple[str, str]], value: str, *, by: Sequence[str] = (),
           seed_mean: bool = False, claim: str, every: bool = False) -> tuple[dict, pd.DataFrame]:
    """:func:`lib.chapters.seed_tests.paired_groups` of ``value`` between methods, paired on the seed only: for
    each (a, b) of ``pairs`` the rows of method a against those of method b of the same seed within each
    ``by`` group; with ``seed_mean``, each (method, ``by``, seed) first averaged over its rows (e.g. over the
    widths of the sweep, :func:`_seed_mean`). The groups are ("a vs b", ``by``); ``every=False`` averages each seed over them
    and tests over seeds, ``every=True`` judges each on its own over seeds. The interval is cut to the
    range of the difference (:data:`BOUNDS`)."""
    if not pairs:
        raise ValueError("versus needs at least one (a, b) pair of methods")
    parts = []
    for a, b in pairs:
        sub = df[df["method"].isin([a, b])]
        if seed_mean:
            sub = _seed_mean(sub, ["method", *by, "seed"], value)
        parts.append(sub.assign(side=np.where(sub["method"] == a, "a", "b"), versus=f"{a} vs {b}"))
    long = pd.concat(parts, ignore_index=True)
    return seed_tests.paired_groups(long, "side", "a", "b", value, by=["versus", *by], claim=claim, every=every,
                                 bounds=BOUNDS.get(value))


def _mean(df: pd.DataFrame, method: str, value: str) -> float:
    return float(df.loc[df["method"] == method, value].mean())


def _held_of(test: dict, what: str) -> str:
    """"per mask: 2 of 3 held, 1 not held" from an ``every=True`` test."""
    text = f"per {what}: {test.get('groups_held', 0)} of {test.get('groups', 0)} held"
    return text + (f", {test['groups_not_held']} not held" if test.get("groups_not_held") else "")


def _vs_dense(final: pd.DataFrame, scope: str, base_id: str, value: str, claim: str, text: str, thesis: str,
              fails_if: str, figure: str, scale: str) -> Decided:
    """Every mask against "none" (the dense MLP of the child's nonzero count) on ``value``. The masks of one
    seed share that seed's dense runs, so each mask is judged on its own over seeds (``every=True``; each
    seed's mean over the sweep's widths): held when every mask is held, not held when some mask is not held
    at 0.05 / 3 (the thesis says it of every mask: "all sparse networks")."""
    test, groups = versus(final, [(m, "none") for m in METHODS], value, seed_mean=True, claim=claim, every=True)
    ours = (f"{value}: " + ", ".join(f"{m} {_mean(final, m, value):.3f}" for m in METHODS)
            + f" vs dense {_mean(final, 'none', value):.3f} (means over widths and seeds); "
            + _held_of(test, "mask"))
    c = _claim(base_id, scope, text, thesis, fails_if, figure, "C6")
    return c.decide(ours, test, scale=scale, groups=groups, note=mlp.dropped_note(test))


def sparse_beats_dense(final: pd.DataFrame, scope: str = "global", scale: str = "") -> Decided:
    """Claim 5-sparse-beats-dense-<scope> from the prune sweep (width, seed, method, test_acc): each
    mask's children against the dense MLP of equal nonzero count (:func:`_vs_dense`), claim "greater"."""
    return _vs_dense(final, scope, "5-sparse-beats-dense", "test_acc", "greater",
                     "The children of every mask beat the dense MLP with the same number of nonzero weights on test "
                     "accuracy (averaged over the sweep's widths).",
                     "Children pruned to 10 % of 10x parents reach higher test accuracy than the dense network of "
                     "equal nonzero count, which overfits most (Fig. 5.1).",
                     "some mask's children have a lower test accuracy than the dense MLP, the paired interval over "
                     "seeds wholly below zero at 0.05 / 3", "Figure 5.1", scale)


def sparse_lower_train_acc(final: pd.DataFrame, scope: str = "global", scale: str = "") -> Decided:
    """Claim 5-sparse-lower-train-acc-<scope> (section 7.1) from the prune sweep (width, seed, method,
    train_acc): each mask's children against the dense MLP of equal nonzero count (:func:`_vs_dense`),
    claim "less"."""
    return _vs_dense(final, scope, "5-sparse-lower-train-acc", "train_acc", "less",
                     "The children of every mask reach a lower training accuracy than the dense MLP with the same "
                     "number of nonzero weights (averaged over the sweep's widths).",
                     "The pruned networks have lower training accuracy and higher test accuracy than their dense "
                     "counterparts (section 7.1, Fig. 5.1).",
                     "some mask's children have a higher training accuracy than the dense MLP, the paired interval "
                     "over seeds wholly above zero at 0.05 / 3", "Figure 5.1", scale)


def sparse_smaller_gap(final: pd.DataFrame, scope: str = "global", scale: str = "") -> Decided:
    """Claim 5-sparse-smaller-gap-<scope> from the prune sweep (width, seed, method, gap): each mask's
    children against the dense MLP of equal nonzero count (:func:`_vs_dense`), claim "less"."""
    return _vs_dense(final, scope, "5-sparse-smaller-gap", "gap", "less",
                     "The children of every mask have a smaller generalization gap than the dense MLP of equal "
                     "nonzero count (averaged over the sweep's widths).",
                     "Every pruning method gives a smaller gap than the dense network (Fig. 5.2).",
                     "some mask's children have a larger gap than the dense MLP, the paired interval over seeds "
                     "wholly above zero at 0.05 / 3", "Figure 5.2", scale)


def _halves(final: pd.DataFrame) -> tuple[list[int], list[int]]:
    """(the narrower half of the sweep's widths, the wider half); with an odd count the middle width is in both."""
    ws = sorted(int(w) for w in final["width"].unique())
    k = (len(ws) + 1) // 2
    return ws[:k], ws[len(ws) - k:]


def random_best_at_large_widths(final: pd.DataFrame, scope: str = "global", scale: str = "") -> Decided:
    """Claim 5-random-best-at-large-widths-<scope> from the prune sweep (width, seed, method, test_acc): at
    the wider half of the widths (:func:`_halves`, fixed before any run), random's test accuracy against
    **every** other candidate (dense, magnitude, diff), each seed's mean over those widths. No runner-up is
    picked by its mean on the seeds it is then tested on: every candidate is tested (``every=True``: held
    when random beats each, not held when one beats random at 0.05 / candidates, Bonferroni). A held
    verdict speaks against conclusion C8 (random beats diff here)."""
    _, wide = _halves(final)
    sub = final[final["width"].isin(wide)]
    claim = _claim("5-random-best-at-large-widths", scope,
                   "At the larger widths, random masks give the highest test accuracy of all masks and the dense "
                   "network.", "The randomly pruned network achieves the highest accuracy at large widths (Fig. 5.1).",
                   "some other mask or the dense MLP has a higher test accuracy than random at the wider half of the "
                   "widths, its paired interval over seeds wholly above random's at 0.05 / the number of candidates",
                   "Figure 5.1", "C8", "against")
    others = [m for m in ("none", "magnitude", "diff") if (sub["method"] == m).any()]
    if not (sub["method"] == "random").any() or not others:
        return claim.unmeasured("no random child, or nothing to compare it with", scale=scale)
    test, groups = versus(sub, [("random", m) for m in others], "test_acc", seed_mean=True, claim="greater",
                          every=True)
    ours = (f"at widths {', '.join(map(str, wide))}, mean test accuracy: random {_mean(sub, 'random', 'test_acc'):.3f}; "
            + ", ".join(f"{'dense' if m == 'none' else m} {_mean(sub, m, 'test_acc'):.3f}" for m in others)
            + f"; random against each, {_held_of(test, 'candidate')}")
    return claim.decide(ours, test, scale=scale, groups=groups, note=mlp.dropped_note(test))


def _both_sweeps(final: pd.DataFrame, scaling: pd.DataFrame | None) -> pd.DataFrame:
    """The children of the prune sweep (sweep "width", x = width) and of the parent-scaling sweep (sweep
    "ratio", x = ratio; dense rows left out) as one frame, grouped by (sweep, x)."""
    parts = [final.assign(sweep="width", x=final["width"].astype(float))]
    if scaling is not None and len(scaling):
        sc = scaling[scaling["method"] != "none"]
        parts.append(sc.assign(sweep="ratio", x=sc["ratio"].astype(float)))
    return pd.concat(parts, ignore_index=True)


def _method_over_sweeps(final: pd.DataFrame, scaling: pd.DataFrame | None, a: str, b: str, claim: toolkit.Claim,
                        scale: str) -> Decided:
    """Method ``a``'s test accuracy against ``b``'s over every width of the prune sweep and every ratio of the
    parent-scaling sweep (same scope): each seed's mean over those groups, then paired over seeds."""
    both = _both_sweeps(final, scaling)
    test, groups = versus(both, [(a, b)], "test_acc", by=["sweep", "x"], claim="greater")
    n_ratio = int((groups["sweep"] == "ratio").sum()) if len(groups) else 0
    ours = (f"mean test accuracy {a} {test['a']:.3f} vs {b} {test['b']:.3f} (each seed's mean over "
            f"{len(groups) - n_ratio} widths of Fig. 5.1 and {n_ratio} parent ratios of Fig. 5.3, then over "
            f"{test['n']} seeds)")
    if n_ratio:
        claim = dataclasses.replace(claim, figure="Figures 5.1, 5.3")
    return claim.decide(ours, test, scale=scale, groups=groups, note=mlp.dropped_note(test))


def magnitude_beats_diff(final: pd.DataFrame, scaling: pd.DataFrame | None = None, scope: str = "global",
                         scale: str = "") -> Decided:
    """Claim 5-magnitude-beats-diff-<scope>: magnitude's test accuracy against diff's over every width of the
    prune sweep and every ratio of the parent-scaling sweep (same scope), each seed's mean over them, claim
    "greater" ("generally": the mean, not every group)."""
    claim = _claim("5-magnitude-beats-diff", scope, "Magnitude masks give better test accuracy than diff masks for "
                   "MLPs (mean over the widths of Fig. 5.1 and the parent ratios of Fig. 5.3).",
                   "Magnitude pruning generally outperforms diff-based pruning in Figures 5.1 and 5.3.",
                   "the seeds' mean of magnitude's minus diff's test accuracy has a 95 % interval wholly below zero",
                   "Figure 5.1", "C8")
    return _method_over_sweeps(final, scaling, "magnitude", "diff", claim, scale)


def diff_beats_random(final: pd.DataFrame, scaling: pd.DataFrame | None = None, scope: str = "global",
                      scale: str = "") -> Decided:
    """Claim 5-diff-beats-random-<scope> (section 7.1, "can outperform random"): diff's test accuracy
    against random's over both sweeps (as :func:`magnitude_beats_diff`), claim "greater". "Can" is read
    as "does, over the sweeps taken together"; the per-group intervals show where it does alone."""
    claim = _claim("5-diff-beats-random", scope, "Diff masks give better test accuracy than random masks for MLPs "
                   "(mean over the widths of Fig. 5.1 and the parent ratios of Fig. 5.3).",
                   "Diff-based pruning can outperform random pruning (section 7.1, on Figs. 5.1-5.3).",
                   "the seeds' mean of diff's minus random's test accuracy has a 95 % interval wholly below zero",
                   "Figure 5.1", "C8")
    return _method_over_sweeps(final, scaling, "diff", "random", claim, scale)


def random_smallest_gap(final: pd.DataFrame, scope: str = "global", scale: str = "") -> Decided:
    """Claim 5-random-smallest-gap-<scope>: random's gap against magnitude's and against diff's, each seed's
    mean over the widths; "smallest of the three" needs random below each, so each other mask is judged on
    its own over seeds (``every=True``: not held when one has a smaller gap at 0.05 / 2), claim "less"."""
    claim = _claim("5-random-smallest-gap", scope, "Random masks give the smallest generalization gap of the three "
                   "masks (averaged over the sweep's widths).",
                   "Random pruning generalized best in Figure 5.2, better even than diff-based pruning.",
                   "magnitude's or diff's children have a smaller gap than random's, the paired interval over seeds "
                   "wholly above zero at 0.05 / 2", "Figure 5.2")
    test, groups = versus(final, [("random", "magnitude"), ("random", "diff")], "gap", seed_mean=True, claim="less",
                          every=True)
    ours = (f"mean gap random {_mean(final, 'random', 'gap'):.3f}, magnitude {_mean(final, 'magnitude', 'gap'):.3f}, "
            f"diff {_mean(final, 'diff', 'gap'):.3f}; {_held_of(test, 'other mask')}")
    return claim.decide(ours, test, scale=scale, groups=groups, note=mlp.dropped_note(test))


def diff_smaller_gap_narrow(final: pd.DataFrame, scope: str = "global", scale: str = "") -> Decided:
    """Claim 5-diff-smaller-gap-narrow-<scope>: diff's gap against magnitude's at the narrower half of the
    widths (:func:`_halves`), each seed's mean over those widths, then paired over seeds (claim "less")."""
    narrow, _ = _halves(final)
    sub = final[final["width"].isin(narrow)]
    claim = _claim("5-diff-smaller-gap-narrow", scope, "At narrow widths, diff masks give a smaller gap than "
                   "magnitude masks.", "Especially in the smaller networks, diff-based pruning generalizes better "
                   "than magnitude pruning (Fig. 5.2).",
                   "at the narrower half of the widths, the seeds' mean of diff's minus magnitude's gap has a 95 % "
                   "interval wholly above zero", "Figure 5.2")
    test, groups = versus(sub, [("diff", "magnitude")], "gap", by=["width"], claim="less")
    ours = f"at widths {', '.join(map(str, narrow))}: mean gap diff {test['a']:.3f} vs magnitude {test['b']:.3f}"
    return claim.decide(ours, test, scale=scale, groups=groups, note=mlp.dropped_note(test))


def _sparse(scaling: pd.DataFrame) -> pd.DataFrame:
    return scaling[scaling["method"] != "none"]


def _ratio_trend(claim: toolkit.Claim, per: pd.DataFrame, value: str, ours: Any, scale: str) -> Decided:
    """``claim`` decided by :func:`lib.chapters.seed_tests.trend` ("greater") of ``value`` against ln ratio
    (:data:`LOG_RATIO`) over seeds, each seed's slope shown as a row; ``ours(test)`` is our numbers' text."""
    test = seed_tests.trend(per, x="ratio", value=value, claim="greater", log_x=LOG_RATIO)
    rows = mlp.trend_rows(per, x="ratio", value=value, log_x=LOG_RATIO)
    return claim.decide(ours(test), test, scale=scale, groups=rows, note=mlp.dropped_note(test, per, value))


def _slope_text(slope: float) -> str:
    return f"{slope:+.3f} per unit of ln ratio ({slope * np.log(2):+.3f} per doubling of the parent)"


def parent_scaling_helps(scaling: pd.DataFrame, scope: str = "global", scale: str = "") -> Decided:
    """Claim 5-parent-scaling-helps-<scope> from the parent-scaling sweep (ratio, seed, method, test_acc):
    the mean test accuracy of the magnitude and diff children of each (ratio, seed) (random falls behind
    at high ratios, a claim of its own; ratio 1, the dense base, left out), then each seed's slope against
    ln ratio and the t-interval of the slopes over seeds (claim "greater"); fewer than two sparse ratios:
    not measured at this scale."""
    sparse = _sparse(scaling)
    rs = sorted(set(sparse["ratio"]))
    claim = _claim("5-parent-scaling-helps", scope, "With the child's nonzero count fixed, a larger parent gives a "
                   "more accurate child (magnitude and diff masks).",
                   "Accuracy rises with the parent's size, for parents up to 62x the 2.3 M-parameter base (Fig. 5.3).",
                   "the seeds' mean slope of the magnitude and diff children's test accuracy against ln ratio has a "
                   "95 % interval wholly below zero (larger parents give worse children)", "Figure 5.3", "C7")
    if len(rs) < 2:
        what = "no parent larger than the child was trained" if not rs else \
            f"only one parent ratio ({rs[0]:g}) was trained, so no trend can be read"
        return claim.unmeasured(what, scale=scale)
    per = _seed_mean(sparse[sparse["method"].isin(["magnitude", "diff"])], ["ratio", "seed"], "test_acc")
    ends = per.groupby("ratio")["test_acc"].mean()
    dense = _mean(scaling, "none", "test_acc")
    return _ratio_trend(claim, per, "test_acc", lambda t: (
        f"magnitude and diff children: {ends.iloc[0]:.3f} at r={rs[0]:g} -> {ends.iloc[-1]:.3f} at r={rs[-1]:g}; "
        f"mean slope over seeds {_slope_text(t['diff'])}; dense base {dense:.3f}"), scale)


def random_weak_at_high_sparsity(scaling: pd.DataFrame, scope: str = "global", sparse_enough: float = SPARSE_ENOUGH,
                                 scale: str = "") -> Decided:
    """Claim 5-random-weak-at-high-sparsity-<scope> from the parent-scaling sweep (ratio, seed, method,
    test_acc): magnitude's lead over random per (ratio, seed), then each seed's slope of it against ln
    ratio and the t-interval of the slopes over seeds (claim "greater": the lead grows as the parent is
    pruned harder). Not measured when the sparsest child nominally keeps more than ``sparse_enough`` (1 /
    its ratio; the exact share is a rounding hair above) or fewer than two sparse ratios were trained. It
    compares magnitude with random, not diff, so it bears on none of chapter 7's conclusions."""
    sparse = _sparse(scaling)
    rs = sorted(set(sparse["ratio"]))
    claim = _claim("5-random-weak-at-high-sparsity", scope,
                   "Random masks fall behind the magnitude masks more and more as the parent is pruned harder.",
                   "Random pruning struggles at the highest parent ratios (up to 62x, about 1.6 % kept; Fig. 5.3).",
                   "the seeds' mean slope of magnitude's lead over random against ln ratio has a 95 % interval wholly "
                   "below zero (random catches up as the parent grows)", "Figure 5.3")
    if not rs or 1 / rs[-1] > sparse_enough or len(rs) < 2:
        kept = f"{1 / rs[-1]:.1%}" if rs else "everything"
        return claim.unmeasured(f"the sparsest child here keeps {kept} of its parent (1/r), too mild to test the "
                                f"effect (measured from {sparse_enough:.0%} on; the thesis reaches about 1.6 %)",
                                scale=scale)
    piv = sparse[sparse["method"].isin(["magnitude", "random"])].pivot_table(index=["ratio", "seed"], columns="method",
                                                                              values="test_acc", dropna=False)
    lead = (piv["magnitude"] - piv["random"]).rename("lead").reset_index()
    at = lead.groupby("ratio")["lead"].mean()
    return _ratio_trend(claim, lead, "lead", lambda t: (
        f"magnitude's lead over random {at.iloc[0]:+.3f} at r={rs[0]:g} -> {at.iloc[-1]:+.3f} at r={rs[-1]:g} "
        f"({1 / rs[-1]:.1%} kept); mean slope over seeds {_slope_text(t['diff'])}"), scale)


def parent_size_needed(scaling: pd.DataFrame, scope: str = "global", needed: float = NEEDED_PARENT_WEIGHTS,
                       scale: str = "") -> Decided:
    """Claim 5-parent-60m-100m-needed-<scope> (section 5.4) from the parent-scaling sweep (ratio, seed,
    method, test_acc, parent_weights, parent_width): the mean test accuracy of the magnitude and diff
    children per (ratio, seed) of two parents, the largest below ``needed`` weights and the smallest at or
    above it; each seed's slope against ln ratio between them (with two parents, the paired difference
    over the ln-ratio span), then the t-interval over seeds (claim "greater": accuracy still rises past
    ``needed``). Not measured at this scale when no parent reaches ``needed`` weights, or none stays
    below it."""
    sparse = _sparse(scaling)
    claim = _claim("5-parent-60m-100m-needed", scope,
                   f"A fixed-size child keeps gaining accuracy up to parents of about {needed / 1e6:.0f} M weights.",
                   "The fixed-size child needed a parent of between 60M and 100M parameters to match the best accuracy "
                   "of the 10 % sweep, whose best parent had 50M (section 5.4).",
                   f"from the largest parent below {needed / 1e6:.0f} M weights to the smallest at or above it, the "
                   "seeds' mean slope of the magnitude and diff children's test accuracy against ln ratio has a 95 % "
                   "interval wholly below zero", "Figure 5.3", "C7")
    if not len(sparse):
        return claim.unmeasured("no parent larger than the child was trained", scale=scale)
    size = sparse.groupby("ratio")[["parent_weights", "parent_width"]].first()
    big = size[size["parent_weights"] >= needed]
    small = size[size["parent_weights"] < needed]
    top = size.iloc[-1]
    if not len(big) or not len(small):
        return claim.unmeasured(f"the largest parent here has {top['parent_weights'] / 1e6:.2f} M weights (width "
                                f"{int(top['parent_width'])}, r={size.index[-1]:g}); the thesis's range starts at "
                                f"{needed / 1e6:.0f} M", scale=scale)
    r_hi, r_lo = float(big.index[0]), float(small.index[-1])
    sub = sparse[sparse["method"].isin(["magnitude", "diff"]) & sparse["ratio"].isin([r_hi, r_lo])]
    per = _seed_mean(sub, ["ratio", "seed"], "test_acc")
    at = per.groupby("ratio")["test_acc"].mean()
    return _ratio_trend(claim, per, "test_acc", lambda t: (
        f"magnitude and diff children: {at[r_lo]:.3f} from the {small['parent_weights'].iloc[-1] / 1e6:.0f} M-weight "
        f"parent (r={r_lo:g}) vs {at[r_hi]:.3f} from the {big['parent_weights'].iloc[0] / 1e6:.0f} M-weight parent "
        f"(r={r_hi:g}); mean slope over seeds {_slope_text(t['diff'])}"), scale)


def sweep_scale(final: pd.DataFrame, ratio: float) -> str:
    """How close the prune sweep is to the thesis's: the widest dense MLP's test accuracy and the widths."""
    dense = final[final["method"] == "none"]
    widest = int(final["width"].max())
    acc = float(dense.loc[dense["width"] == widest, "test_acc"].mean()) if len(dense) else float("nan")
    return (f"dense width-{widest} MLP test acc {acc:.2f} (thesis: plotted only, Fig. 5.1); child widths "
            f"{int(final['width'].min())}-{widest} from {ratio:g}x parents")


def scaling_scale(scaling: pd.DataFrame, base_width: int) -> str:
    """How close the parent-scaling sweep is to the thesis's: the dense base's test accuracy, the largest parent."""
    acc = _mean(scaling, "none", "test_acc")
    sparse = _sparse(scaling)
    top = (f"parents up to {sparse['ratio'].max():g}x ({sparse['parent_weights'].max() / 1e6:.2f} M weights)"
           if len(sparse) else "no parents")
    return (f"dense base width {base_width} test acc {acc:.2f} (thesis: width 512, {FACTS['mlp512_params'] / 1e6:.1f} M "
            f"parameters, accuracy plotted only); {top} (thesis {FACTS['max_parent_ratio']}x)")


def data_scale(n_train: int, epochs: int) -> str:
    """The data size and epochs against the thesis's."""
    return f"{n_train:,d} training images (thesis 50,000), {epochs} epochs (thesis {THESIS_EPOCHS})"


def _join(*parts: str) -> str:
    return "; ".join(x for x in parts if x)


def claims_of(final: pd.DataFrame, scaling: pd.DataFrame, sweep_scale_text: str = "",
              scaling_scale_text: str = "", data_text: str = "") -> list[Decided]:
    """The chapter's claims from the two sweeps' rows (with a ``scope`` column; without one, every row is
    taken as "global"), claim by claim, each once per scope its sweep has; see each claim's function.
    The scale texts (:func:`sweep_scale`, :func:`scaling_scale`, :func:`data_scale`) go to the claims of
    the sweeps they describe."""
    final = final if "scope" in final.columns else final.assign(scope="global")
    scaling = scaling if "scope" in scaling.columns else scaling.assign(scope="global")
    fs = {sc: final[final["scope"] == sc] for sc in dict.fromkeys(final["scope"])}
    ss = {sc: scaling[scaling["scope"] == sc] for sc in dict.fromkeys(scaling["scope"])}
    a, b = _join(sweep_scale_text, data_text), _join(scaling_scale_text, data_text)
    out: list[Decided] = []
    for claim in (sparse_beats_dense, sparse_lower_train_acc, sparse_smaller_gap, random_best_at_large_widths):
        out += [claim(f, sc, a) for sc, f in fs.items()]
    for claim in (magnitude_beats_diff, diff_beats_random):
        out += [claim(f, ss.get(sc), sc, _join(sweep_scale_text, scaling_scale_text if sc in ss else "", data_text))
                for sc, f in fs.items()]
    for claim in (random_smallest_gap, diff_smaller_gap_narrow):
        out += [claim(f, sc, a) for sc, f in fs.items()]
    for claim in (parent_scaling_helps, random_weak_at_high_sparsity, parent_size_needed):
        out += [claim(x, sc, scale=b) for sc, x in ss.items()]
    return out


def claims(s: Setup, r: Results) -> list[Decided]:
    """The chapter's claims and their per-group rows (pure: nothing is stored or shown)."""
    return claims_of(r.final, r.scaling, sweep_scale(r.final, s.ratio), scaling_scale(r.scaling, s.profile.base_width),
                     data_scale(s.base.data.n_train or 50_000, s.base.epochs))


def verdicts(s: Setup, r: Results) -> list[Verdict]:
    """The chapter's verdicts (pure: nothing is stored or shown)."""
    return toolkit.verdicts_of(claims(s, r))


def table_5d(s: Setup, vs: list[Verdict]) -> Any:
    """Shows Table 5.d's caption and returns the verdict table for display."""
    display(Markdown(f"**Table 5.d.** Verdicts ({provenance(s).text()})."))
    return toolkit.table(vs, by="both")


def table_5e(s: Setup, r: Results) -> Any:
    """Shows Table 5.e's caption and returns the rows behind each verdict (a Styler)."""
    display(Markdown("**Table 5.e.** What each verdict of Table 5.d is taken over, every row over seeds. A claim about "
                     "every mask (or every other mask) has one row per mask pair, each seed averaged over the "
                     "sweep's widths first, and holds only when every row holds. A claim about a mean (magnitude "
                     "against diff, diff against random, the narrow widths) has one row per width or parent ratio, "
                     "and its verdict averages each seed over those rows before the interval. A trend with the parent "
                     "ratio has one row per seed: its value at the largest (a) and smallest (b) ratio and its "
                     "least-squares slope against ln ratio (the difference column, no interval: one seed has none); "
                     "the verdict is the t-interval of these slopes over seeds "
                     f"(profile `{s.profile.name}`, seeds {', '.join(map(str, s.seeds))})."))
    return toolkit.show_intervals(toolkit.intervals_frame(claims(s, r)))
