"""Chapter 5's claims (:mod:`lib.chapters.ch05_pruning_mlp`), each decided once per mask scope by its own
small function on the sweeps' plain per-seed DataFrames (tests feed them hand-made numbers) with the tests
of :mod:`lib.chapters.seed_tests`, always over seeds: a claim about every mask judges each mask on its own
over seeds, a claim about a mean over widths or ratios averages each seed over them first, and a trend
with the parent ratio is each seed's slope against ln ratio (:data:`LOG_RATIO`) tested over seeds.
:func:`claims_of` decides them all; the chapter module reads the runs.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Sequence

import numpy as np
import pandas as pd

from . import mlp, seed_tests
from . import verdicts as toolkit
from .thesis import FACTS

#: The pruning methods chapter 5 plans, draws and compares.
METHODS = ("diff", "magnitude", "random")
#: The mask scopes in words (claims, figure titles).
SCOPE_NAMES = {"global": "global ranking", "layer": "same fraction per layer"}

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
