"""Chapter 5: pruning dense MLPs (thesis 5.3 prune sweep, 5.4 parent scaling; Figs. 5.1-5.3).

The notebook calls, in order: :func:`setup`, :func:`results` (trains or loads exactly :func:`plan`),
one function per figure and table, and :func:`verdicts` (seven claims, each decided by its own small
function on the sweeps' plain DataFrames so that tests can feed it hand-made numbers).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import matplotlib.pyplot as plt
import pandas as pd
from IPython.display import Markdown, display

from .. import experiments as ex
from .. import profiles, runs
from ..config import Stages, TrainConfig, merge_stages
from ..experiments import plan_configs
from ..models import mlp_weight_count
from . import figures, mlp
from . import params as check
from . import verdicts as toolkit
from .thesis import FACTS
from .verdicts import Verdict

METHODS = ("diff", "magnitude", "random")


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
    """Chapter 5's parameters, resolved profile, template config, sorted child widths, seeds and the
    prune sweep's parent ratio (``1 / density``)."""

    params: Params
    profile: profiles.Profile
    base: TrainConfig
    widths: tuple[int, ...]
    seeds: tuple[int, ...]
    ratio: float


def setup(**params: Any) -> Setup:
    """Validate the parameters (errors name the parameter and its value) and resolve the chapter."""
    p = check.build(Params, params)
    prof = profiles.with_overrides(p.profile, prune_widths=p.widths, ratios=p.ratios, mlp_epochs=p.epochs,
                                   seeds=p.seeds)
    base = profiles.mlp_config(prof, prof.base_width)
    return Setup(p, prof, base, tuple(sorted(prof.prune_widths)), check.seeds_with(p.seed, prof.seeds),
                 1.0 / p.density)


def plan(s: Setup) -> Stages:
    """[parents of both sweeps], [children and dense baselines]."""
    sweep = plan_configs("prune_sweep", s.base, s.widths, METHODS, density=s.params.density, seeds=s.seeds,
                         ratio=s.ratio)
    scaling = plan_configs("parent_scaling", s.base, s.profile.base_width, s.profile.ratios, METHODS, seeds=s.seeds)
    return merge_stages([sweep, scaling])


ORDER = ("none", *METHODS)
COLORS = {"none": "0.15", "random": "tab:green", "magnitude": "tab:orange", "diff": "tab:blue"}
MARKERS = {"none": "s", "random": "^", "magnitude": "o", "diff": "D"}


# ------------------------------------------------------------------------------------- results
@dataclass(frozen=True, eq=False)
class Results:
    """Everything chapter 5 draws and decides from.

    formula: :func:`mlp.parent_width_table` of every parent trained here and the thesis's largest,
    with a "used in" column. final: one row per (width, seed, method) of the prune sweep (5.3; method
    "none" = the dense MLP of width w); sweep: its seed summary per (method, width). shares: the
    per-layer fraction each mask of run ``seed``'s largest parent keeps. scaling: one row per (ratio,
    seed, method) of the parent-scaling sweep (5.4; ratio 1 = the dense base network); scaling_summary:
    its seed summary per (method, ratio).
    """

    formula: pd.DataFrame
    final: pd.DataFrame
    sweep: pd.DataFrame
    shares: pd.DataFrame
    scaling: pd.DataFrame
    scaling_summary: pd.DataFrame


def by_method(df: pd.DataFrame, x: str, cols: Sequence[str]) -> pd.DataFrame:
    """:func:`mlp.seed_summary` of ``cols`` per (method, ``x``), methods in :data:`ORDER`."""
    out = mlp.seed_summary(df, ["method", x], cols)
    out["method"] = pd.Categorical(out["method"], ORDER, ordered=True)
    return out.sort_values(["method", x]).reset_index(drop=True)


def formula_table(s: Setup) -> pd.DataFrame:
    """The parent widths of both sweeps and of the thesis's largest parent (5.4: 62x width 512)."""
    prof = s.profile
    bigger = [r for r in prof.ratios if r > 1]
    pairs = [(w, s.ratio) for w in s.widths] + [(prof.base_width, r) for r in bigger] + [(512, FACTS["max_parent_ratio"])]
    t = mlp.parent_width_table(pairs, depth=s.base.model.depth)
    t.insert(0, "used in", ["Fig. 5.1–5.2"] * len(s.widths) + ["Fig. 5.3"] * len(bigger) + ["thesis only"])
    return t


def results(s: Setup) -> Results:
    """Train (or load) every run of :func:`plan`, then read both sweeps and the largest parent's masks."""
    runs.train_stages(plan(s))
    p = s.params
    final = ex.prune_sweep(s.base, s.widths, METHODS, density=p.density, seeds=s.seeds, ratio=s.ratio,
                           progress=False)  # the runs above: read, not trained
    sweep = by_method(final, "width", ["train_loss", "test_loss", "train_acc", "test_acc", "gap", "nonzero_weights"])
    shares = mlp.mask_layer_shares(s.base, s.widths[-1], density=p.density, seed=p.seed, ratio=s.ratio,
                                   methods=METHODS)
    scaling = ex.parent_scaling(s.base, s.profile.base_width, s.profile.ratios, METHODS, seeds=s.seeds, progress=False)
    ssum = by_method(scaling, "ratio", ["train_acc", "test_acc", "gap", "density", "parent_width"])
    return Results(formula_table(s), final, sweep, shares, scaling, ssum)


# ------------------------------------------------------------------------------- figures, tables
def provenance(s: Setup, scaling: bool = False) -> figures.Provenance:
    """Caption provenance of the prune sweep (5.3) or of the parent-scaling sweep (``scaling``, 5.4)."""
    model = (f"MLP children with the weights of width {s.profile.base_width}" if scaling else
             f"MLP children of widths {', '.join(map(str, s.widths))} from {s.ratio:g}x parents")
    return figures.Provenance.of(s.profile.name, s.base, s.seeds, model=model)


def describe(s: Setup) -> Markdown:
    """One paragraph: data, optimiser, epochs, seeds and the fraction kept."""
    b = s.base
    return Markdown(f"Profile **{s.profile.name}**: {b.data.n_train:,d} training and {b.data.n_test:,d} test images, "
                    f"Adam at learning rate {b.optim.lr:g}, batch {b.batch_size}, {b.epochs} epochs for parents "
                    f"and children alike, seeds {', '.join(map(str, s.seeds))}; {s.params.density:.0%} of the "
                    "weights kept.")


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
    """Shows a one-line caption and returns the last-epoch test accuracy per child width and method."""
    display(Markdown("Test accuracy at the last epoch, mean over seeds (rows: child width $w$; columns: method):"))
    return r.sweep.pivot(index="width", columns="method", values="test_acc_mean").round(4)


def _subplots(*args: Any, **kw: Any) -> tuple[plt.Figure, Any]:
    figures.style()
    return plt.subplots(*args, **kw)


def _method_lines(ax: plt.Axes, df: pd.DataFrame, x: str, col: str, log: bool = True) -> None:
    """One error-bar line of ``col`` (mean ± sd over seeds) against ``x`` per method."""
    for m in ORDER:
        d = df[df["method"] == m]
        if not len(d):
            continue
        ax.errorbar(d[x], d[f"{col}_mean"], yerr=d[f"{col}_sd"], color=COLORS[m], marker=MARKERS[m], capsize=3,
                    label=m, lw=1.4, ms=5)
    if log:
        ax.set_xscale("log", base=2)


def figure_5_1(s: Setup, r: Results) -> None:
    """Accuracy and loss of the children and of the dense MLP of equal nonzero count, against width."""
    fig, axes = _subplots(2, 2, figsize=(10, 7), sharex=True)
    for ax, col, name in zip(axes.ravel(), ("train_acc", "test_acc", "train_loss", "test_loss"),
                             ("train accuracy", "test accuracy", "train loss", "test loss")):
        _method_lines(ax, r.sweep, "width", col)
        ax.set_ylabel(name)
        ax.set_title(name)
    for ax in axes[1]:
        ax.set_xticks(s.widths, [str(w) for w in s.widths])
        ax.set_xlabel("child width w (nonzero count of dense width w)")
    axes[0, 0].legend(title="mask")
    d = s.params.density
    figures.show(fig, "Figure 5.1", f"Children keeping {d:.0%} of the weights of a {s.ratio:g}x parent, by mask, "
                 "against the dense MLP of the same nonzero count (none): accuracy and loss at the last epoch, mean "
                 "and standard deviation over seeds", provenance(s))


def figure_5_2(s: Setup, r: Results) -> None:
    """Generalization gap of the children and of the dense MLP against width."""
    fig, ax = _subplots(figsize=(6.8, 4))
    _method_lines(ax, r.sweep, "width", "gap")
    ax.set_xticks(s.widths, [str(w) for w in s.widths])
    ax.set_xlabel("child width w")
    ax.set_ylabel("train accuracy − test accuracy")
    ax.legend(title="mask")
    figures.show(fig, "Figure 5.2", f"Generalization gap of the children ({s.params.density:.0%} kept) and of the "
                 "dense MLP of equal nonzero count, at the last epoch; mean and standard deviation over seeds",
                 provenance(s))


def table_5b(s: Setup, r: Results) -> pd.DataFrame:
    """Shows Table 5.b's caption and returns the fraction of each weight matrix each mask keeps."""
    depth = s.base.model.depth
    shares = r.shares.assign(layer=[mlp.layer_label(n, depth) for n in r.shares["layer"]])
    t = shares.pivot(index="layer", columns="method", values="fraction_kept").reindex(
        [mlp.layer_label(n, depth) for n in mlp.weight_layers(depth)])[list(METHODS)]
    t.insert(0, "weights", shares.drop_duplicates("layer").set_index("layer")["size"])
    p = s.params
    display(Markdown(f"**Table 5.b.** Fraction of each weight matrix kept by each mask; parent of width "
                     f"{int(shares['parent_width'].iloc[0])} (child width {s.widths[-1]}), seed {p.seed}, "
                     f"{p.density:.0%} kept globally (profile `{s.profile.name}`)."))
    return t.round(4)


def figure_5_3(s: Setup, r: Results) -> None:
    """Test and train accuracy of the fixed-size children against the parent ratio, beside the dense base."""
    ssum = r.scaling_summary
    dense = ssum[ssum["method"] == "none"].iloc[0]
    sparse = ssum[ssum["method"] != "none"]
    largest, base_width = FACTS["max_parent_ratio"], s.profile.base_width
    ticks = sorted({1.0} | {float(x) for x in s.profile.ratios if x > 1} | {float(largest)})
    fig, axes = _subplots(1, 2, figsize=(11, 4))
    for ax, col, name in ((axes[0], "test_acc", "test accuracy"), (axes[1], "train_acc", "train accuracy")):
        m, sd = dense[f"{col}_mean"], dense[f"{col}_sd"]
        _method_lines(ax, sparse, "ratio", col, log=False)
        ax.axhspan(m - sd, m + sd, color="0.5", alpha=0.2)
        ax.axhline(m, color=COLORS["none"], ls="--", lw=1, label=f"none (dense width {base_width})")
        ax.errorbar([1.0], [m], yerr=[sd], color=COLORS["none"], marker=MARKERS["none"], capsize=3)
        ax.axvline(largest, color="0.3", ls=":", label=f"thesis: largest parent {largest}x")
        ax.set_xscale("log")
        ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
        ax.minorticks_off()
        ax.set_xlabel("parent size / child nonzero count (ratio r)")
        ax.set_ylabel(name)
        ax.set_title(name)
    axes[0].legend(fontsize=8)
    weights = mlp_weight_count(base_width, depth=s.base.model.depth)
    figures.show(fig, "Figure 5.3", f"Children with the nonzero weight count of the dense width-{base_width} MLP "
                 f"({weights:,.0f} weights), pruned from parents r times larger, by mask; the dashed line and band are "
                 "the dense base network (mean ± sd); mean and standard deviation over seeds", provenance(s, True))


def table_5c(s: Setup, r: Results) -> Any:
    """Shows Table 5.c's caption and returns test accuracy by parent ratio and method (a Styler)."""
    ssum = r.scaling_summary
    t = ssum.pivot(index="ratio", columns="method", values="test_acc_mean")[[m for m in ORDER if m in set(ssum["method"])]]
    t.insert(0, "density", ssum.groupby("ratio")["density_mean"].first())
    t.insert(0, "parent_width", ssum.groupby("ratio")["parent_width_mean"].first().astype(int))
    display(Markdown("**Table 5.c.** Test accuracy of the fixed-size children by parent ratio (mean over seeds; ratio "
                     f"1 is the dense base network), profile `{s.profile.name}`."))
    return t.style.format(precision=4, na_rep="–").format_index("{:g}", axis=0)  # parent_width is int: unaffected


# -------------------------------------------------------------------------------------- verdicts
def _verdict(claim_id: str, claim: str, thesis: str, ours: str, verdict: str, figure: str) -> Verdict:
    return Verdict(claim_id, "05", claim, thesis, ours, verdict, figure)


def versus(df: pd.DataFrame, a: str, b: str, value: str, by: Sequence[str], higher_is: str = "held") -> pd.DataFrame:
    """:func:`lib.chapters.verdicts.compare_groups` of ``value`` between methods ``a`` and ``b`` per ``by`` group."""
    return toolkit.compare_groups(df[df["method"].isin([a, b])], "method", a, b, value, by=by, higher_is=higher_is)


def _tally(c: pd.DataFrame) -> str:
    return f"{int((c['verdict'] == 'held').sum())}/{len(c)}"


def sparse_beats_dense(final: pd.DataFrame) -> Verdict:
    """Claim 5-sparse-beats-dense from the prune sweep (width, seed, method, test_acc): every mask
    against "none" at every width; the majority of all comparisons decides."""
    cs = {m: versus(final, m, "none", "test_acc", ["width"]) for m in METHODS}
    return _verdict("5-sparse-beats-dense", "A sparse child beats the dense MLP with the same number of nonzero "
                    "weights on test accuracy.", "Children pruned to 10 % of 10x parents reach higher test accuracy "
                    "than the dense network of equal nonzero count, which overfits most (Fig. 5.1).",
                    "; ".join(f"{m} above dense at {_tally(c)} widths" for m, c in cs.items()),
                    toolkit.majority(pd.concat(cs.values())["verdict"]), "Figure 5.1")


def sparse_smaller_gap(final: pd.DataFrame) -> Verdict:
    """Claim 5-sparse-smaller-gap from the prune sweep (width, seed, method, gap): every mask's gap
    below "none"'s at every width; the majority of all comparisons decides."""
    cg = {m: versus(final, m, "none", "gap", ["width"], higher_is="not held") for m in METHODS}
    return _verdict("5-sparse-smaller-gap", "A sparse child has a smaller generalization gap than the dense MLP of "
                    "equal nonzero count.", "Every pruning method gives a smaller gap than the dense network (Fig. 5.2).",
                    "; ".join(f"{m} gap below dense at {_tally(c)} widths" for m, c in cg.items()),
                    toolkit.majority(pd.concat(cg.values())["verdict"]), "Figure 5.2")


def magnitude_beats_diff(final: pd.DataFrame, scaling: pd.DataFrame) -> Verdict:
    """Claim 5-magnitude-beats-diff: magnitude's test accuracy above diff's at every width of the
    prune sweep and every ratio of the parent-scaling sweep; the majority of all comparisons decides."""
    c1 = versus(final, "magnitude", "diff", "test_acc", ["width"])
    c2 = versus(scaling, "magnitude", "diff", "test_acc", ["ratio"])
    acc = {m: final.loc[final["method"] == m, "test_acc"].mean() for m in ("magnitude", "diff")}
    return _verdict("5-magnitude-beats-diff", "Magnitude masks give better test accuracy than diff masks for MLPs.",
                    "Magnitude pruning generally outperforms diff-based pruning in Figures 5.1 and 5.3.",
                    f"magnitude above diff at {_tally(c1)} widths (Fig. 5.1) and {_tally(c2)} parent ratios (Fig. 5.3); "
                    f"mean test accuracy {acc['magnitude']:.3f} vs {acc['diff']:.3f} over the width sweep",
                    toolkit.majority(pd.concat([c1, c2])["verdict"]), "Figures 5.1, 5.3")


def random_smallest_gap(final: pd.DataFrame) -> Verdict:
    """Claim 5-random-smallest-gap: random's gap below magnitude's and below diff's at every width;
    the majority of all comparisons decides."""
    cr = pd.concat([versus(final, "random", m, "gap", ["width"], higher_is="not held") for m in ("magnitude", "diff")])
    return _verdict("5-random-smallest-gap", "Random masks give the smallest generalization gap of the three masks.",
                    "Random pruning generalized best in Figure 5.2, better even than diff-based pruning.",
                    f"random gap below magnitude and diff in {_tally(cr)} comparisons (widths x 2 masks)",
                    toolkit.majority(cr["verdict"]), "Figure 5.2")


def diff_smaller_gap_narrow(final: pd.DataFrame) -> Verdict:
    """Claim 5-diff-smaller-gap-narrow: diff's gap below magnitude's at the narrower half of the widths
    (the middle one included); the majority of those widths decides."""
    widths = sorted(int(w) for w in final["width"].unique())
    narrow = widths[: max(1, (len(widths) + 1) // 2)]
    cd = versus(final[final["width"].isin(narrow)], "diff", "magnitude", "gap", ["width"], higher_is="not held")
    return _verdict("5-diff-smaller-gap-narrow", "At narrow widths, diff masks give a smaller gap than magnitude masks.",
                    "Especially in the smaller networks, diff-based pruning generalizes better than magnitude pruning "
                    "(Fig. 5.2).", "; ".join(f"width {int(c.width)}: gap {c.mean_a:.3f} (diff) vs {c.mean_b:.3f} "
                                             f"(magnitude), {c.verdict}" for c in cd.itertuples()),
                    toolkit.majority(cd["verdict"]), "Figure 5.2")


def _sparse_ratios(scaling: pd.DataFrame) -> list[float]:
    return sorted(set(scaling.loc[scaling["method"] != "none", "ratio"]))


def parent_scaling_helps(scaling: pd.DataFrame) -> Verdict:
    """Claim 5-parent-scaling-helps from the parent-scaling sweep (ratio, seed, method, test_acc):
    magnitude and diff children at the largest ratio against the smallest (ratio 1 excluded); the
    majority of the two decides; fewer than two ratios: not measured at this scale."""
    ssum = by_method(scaling, "ratio", ["test_acc"])
    dense, sparse = ssum[ssum["method"] == "none"], ssum[ssum["method"] != "none"]
    rs = _sparse_ratios(scaling)
    text = {"claim": "With the child's nonzero count fixed, a larger parent gives a more accurate child.",
            "thesis": "Accuracy rises with the parent's size, for parents up to 62x the 2.3 M-parameter base (Fig. 5.3)."}
    if not rs:
        return _verdict("5-parent-scaling-helps", *text.values(), "no parent larger than the child was trained",
                        "not measured at this scale", "Figure 5.3")
    best = sparse.loc[sparse["test_acc_mean"].idxmax()]
    best_text = (f"best child {best['method']} at r={best['ratio']:g}: {best['test_acc_mean']:.3f} vs dense "
                 f"{dense['test_acc_mean'].iloc[0]:.3f}")
    if len(rs) < 2:
        return _verdict("5-parent-scaling-helps", *text.values(), f"only one parent ratio ({rs[0]:g}) was trained, so "
                        f"no trend can be read; {best_text}", "not measured at this scale", "Figure 5.3")
    lo, hi = rs[0], rs[-1]
    cp = {m: toolkit.compare_groups(scaling[(scaling["method"] == m) & scaling["ratio"].isin([lo, hi])], "ratio", hi,
                                    lo, "test_acc").iloc[0] for m in ("magnitude", "diff")}
    ours = "; ".join(f"{m}: {c.mean_b:.3f} at r={lo:g} -> {c.mean_a:.3f} at r={hi:g} ({c.verdict})" for m, c in cp.items())
    return _verdict("5-parent-scaling-helps", *text.values(), f"{ours}; {best_text}",
                    toolkit.majority([c.verdict for c in cp.values()]), "Figure 5.3")


def random_weak_at_high_sparsity(scaling: pd.DataFrame, sparse_enough: float = 0.05) -> Verdict:
    """Claim 5-random-weak-at-high-sparsity from the parent-scaling sweep (ratio, seed, method,
    test_acc, density): held when magnitude beats random at the largest ratio AND magnitude's lead
    over random grows from the smallest ratio to the largest; not held when either comparison says
    the opposite; else a tie. Not measured when the sparsest child keeps more than ``sparse_enough``
    of its parent or fewer than two ratios were trained."""
    rs = _sparse_ratios(scaling)
    sparsest = float(scaling.loc[scaling["method"] != "none", "density"].min())
    text = ("5-random-weak-at-high-sparsity", "Random masks fall behind the other masks when the parent is pruned "
            "very hard.", "Random pruning struggles at the highest parent ratios (up to 62x, about 1.6 % kept; Fig. 5.3).")
    if sparsest > sparse_enough or len(rs) < 2:
        return _verdict(*text, f"the sparsest child here keeps {sparsest:.1%} of its parent, too mild to test the "
                        "effect (the thesis reaches about 1.6 %)", "not measured at this scale", "Figure 5.3")
    lo, hi = rs[0], rs[-1]
    piv = scaling[scaling["method"].isin(["magnitude", "random"])].pivot_table(index=["ratio", "seed"],
                                                                               columns="method", values="test_acc")
    deficit = (piv["magnitude"] - piv["random"]).rename("deficit").reset_index()
    end = versus(scaling[scaling["ratio"] == hi], "magnitude", "random", "test_acc", []).iloc[0]
    grow = toolkit.compare_groups(deficit[deficit["ratio"].isin([lo, hi])], "ratio", hi, lo, "deficit").iloc[0]
    verdict = "held" if (end.verdict == "held" and grow.verdict == "held") else (
        "not held" if "not held" in (end.verdict, grow.verdict) else "tie")
    return _verdict(*text, f"at r={hi:g} ({sparsest:.1%} kept) random {end.mean_b:.3f} vs magnitude {end.mean_a:.3f}; "
                    f"magnitude's lead {grow.mean_b:+.3f} at r={lo:g} -> {grow.mean_a:+.3f} at r={hi:g}", verdict,
                    "Figure 5.3")


def verdicts_of(final: pd.DataFrame, scaling: pd.DataFrame) -> list[Verdict]:
    """The chapter's seven claims from the two sweeps' rows (see each claim's function)."""
    return [sparse_beats_dense(final), sparse_smaller_gap(final), magnitude_beats_diff(final, scaling),
            random_smallest_gap(final), diff_smaller_gap_narrow(final), parent_scaling_helps(scaling),
            random_weak_at_high_sparsity(scaling)]


def verdicts(s: Setup, r: Results) -> list[Verdict]:
    """The chapter's verdicts (pure: nothing is stored or shown)."""
    return verdicts_of(r.final, r.scaling)


def table_5d(s: Setup, vs: list[Verdict]) -> Any:
    """Shows Table 5.d's caption and returns the verdict table for display."""
    display(Markdown(f"**Table 5.d.** Verdicts at profile `{s.profile.name}` ({provenance(s).text()})."))
    return toolkit.table(vs)
