"""Chapter 5: pruning dense MLPs (thesis 5.3 prune sweep, 5.4 parent scaling; Figs. 5.1-5.3).

The thesis never says whether chapter 5's masks rank the weights of all layers together or keep the
same fraction of every layer, so both sweeps run in both mask scopes (:data:`SWEEP_SCOPES`,
:data:`SCALING_SCOPES`): ``global`` (one ranking over every prunable weight) and ``layer`` (each weight
matrix keeps the same fraction), and every claim is decided once per scope (its id ends in the scope).

The notebook calls, in order: :func:`setup`, :func:`results` (trains or loads exactly :func:`plan`), one
function per figure and table, and :func:`verdicts`. Each claim is decided by its own small function in
:mod:`lib.chapters.ch05_claims` on the sweeps' plain per-seed DataFrames (tests feed them hand-made
numbers) with the tests of :mod:`lib.chapters.seed_tests`, always over seeds (the seed is the
replicate): the children of one seed share that seed's dense runs and parents, so a claim about every
mask judges each mask on its own over seeds (``every=True``, each seed averaged over the widths first),
a claim about a mean over widths or ratios averages each seed over them first, a claim that accuracy
grows with the parent ratio is each seed's slope against ln ratio tested over seeds (``trend``), and a
"best" claim tests every candidate rather than one picked by its mean. Table 5.e (:func:`table_5e`)
shows the rows behind each verdict.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import matplotlib.pyplot as plt
import pandas as pd
from IPython.display import Markdown, display

from .. import experiments as ex
from .. import parallel, profiles
from ..config import TrainConfig
from ..models import mlp_weight_count
from ..plan import Plan, merge
from . import ch05_explore, figures, mlp
from . import palette
from . import params as check
from .ch05_claims import METHODS, SCOPE_NAMES, claims_of, data_scale, scaling_scale, sweep_scale
from . import verdicts as toolkit
from .thesis import FACTS
from .verdicts import Decided, Verdict

CHAPTER = "05"
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
    prof = profiles.with_overrides(p.profile, prune_widths=p.widths, ratios=p.ratios, mlp_epochs=p.epochs)
    base = profiles.mlp_config(prof, prof.base_width)
    return Setup(p, prof, base, tuple(sorted(prof.prune_widths)), check.resolve_seeds(p, prof, CHAPTER),
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
    return Markdown(f"Profile **{s.profile.name}**: {b.data.n_train or 50000:,d} training images, test accuracy of the final "
                    f"weights on {profiles.final_test_text(b)}, "
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
    figures.anchor("Figure 5.1")  # the claims and the intro link to the whole; its parts follow, one per scope
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
                     "and loss at the last epoch, mean and standard deviation over seeds (faint points: each seed)", provenance(s),
                     data=runs_of)


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
                 "over seeds (faint points: each seed)", provenance(s), data=r.final[r.final["scope"].isin(scopes)])


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
                 provenance(s, True), data=r.scaling[r.scaling["scope"].isin(scopes)])


def explorers(s: Setup, r: Results) -> None:
    """The explorer of the HTML page, which works without a kernel (:mod:`ch05_explore`): accuracy or gap of
    every run per method, scope and child width or parent ratio, dense included."""
    ch05_explore.show(s, r, COLORS, list(ORDER))


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


# ------------------------------------------------------------------ verdicts (the claims: ch05_claims)
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
