"""Chapter 4's claims (:mod:`lib.chapters.ch04_width`), each decided by its own small function on plain
per-seed DataFrames (tests feed them hand-made numbers) with the tests of :mod:`lib.chapters.seed_tests`,
always over seeds: a trend with width is each seed's least-squares slope against ln width (:data:`LOG_WIDTH`)
tested over seeds, several numbers of one run are reduced within the run first, and a claim worded "every
width" judges each width on its own. :func:`claims_of` decides them all; the chapter module reads the runs.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import pandas as pd

from . import mlp, seed_tests
from . import verdicts as toolkit
from .thesis import FACTS, PRUNE_TABLES

#: Section 4.2 compares the MLPs' coherence with these chapter-2 models: family -> profile field of its arch.
LARGE = {"resnet": "arch_cnn", "vit": "arch_vit"}

#: Equivalence margin of 4-gap-levels-off, in accuracy (train − test): the largest **total** change of the gap,
#: fitted over the whole measured range from the plateau width to the widest width, that still counts as
#: level. 0.02 is four binomial standard deviations (0.005) of a test accuracy near 0.5 on the thesis's
#: 10,000 test images: a gap that has stopped moving still moves by that much from test-set noise alone, and
#: less than that over the whole range is flat on Figure 4.2's scale. A margin on each width step instead would
#: let a steady drift of just under 0.02 per step pass as level, however many steps it adds up over. Fixed
#: with the claim, before any run.
GAP_LEVEL_MARGIN = 0.02
#: "Much smaller" (section 4.2) read as: the MLP's debiased peak coherence times this factor is still
#: below the ResNet's (ViT's), i.e. less than half of it. The least factor a reader would call "much"
#: rather than "somewhat" smaller; fixed with the claim, before any run.
MUCH_SMALLER_RATIO = 2.0
#: Thesis dense test accuracy of the chapter-2 models (Tables 6.1, 6.2, "none"), for the scale column.
THESIS_DENSE_ACC = {"resnet": PRUNE_TABLES[("resnet", "global")]["none"][1],
                    "vit": PRUNE_TABLES[("vit", "global")]["none"][1]}
THESIS_WIDEST = 2800  # section 4.2, Fig. 4.4: the thesis's widest MLP
#: Every trend of this chapter is fitted against the natural log of the width: the sweep's widths are spaced
#: geometrically (each about twice the last; the thesis's Figures 4.1-4.3 and ours use a log width axis), so
#: log width gives every step of the sweep equal weight, where a fit against width itself would be decided
#: by the widest step alone.
LOG_WIDTH = True
#: Accuracy and the sd of diffs lie in [0, 1], so a difference of two lies in [-1, 1]; a gap lies in [-1, 1].
UNIT_DIFF = (-1.0, 1.0)

Decided = toolkit.Decided


def _claim(claim_id: str, text: str, thesis: str, fails_if: str, figure: str, conclusion: str = "") -> toolkit.Claim:
    """A claim of chapter 4 (:class:`lib.chapters.verdicts.Claim`)."""
    return toolkit.Claim(claim_id, "04", text, thesis, fails_if, figure, conclusion)


def _per_doubling(slope: float) -> str:
    """A slope per unit of ln width, and per doubling of the width."""
    return f"{slope:+.3g} per unit of ln width ({slope * np.log(2):+.3g} per doubling)"


def _fit_text(final: pd.DataFrame) -> str:
    sm = mlp.seed_summary(final, ["width"], ["train_acc"])
    fits = sm[sm["train_acc_mean"] >= 0.99]["width"]
    return (f"mean train accuracy first reaches 0.99 at width {int(fits.iloc[0])}" if len(fits)
            else "mean train accuracy stays below 0.99 at every width")


def _split_at(widths: Sequence[int], plateau: int) -> tuple[list[int], list[int]]:
    """(the widths up to and including the first one >= ``plateau``, the widths from that one on): where
    the gap climbs and where the thesis sees it level off; the second is empty when no width reaches it."""
    ws = sorted(int(w) for w in widths)
    first = next((i for i, w in enumerate(ws) if w >= plateau), None)
    return (ws, []) if first is None else (ws[: first + 1], ws[first:])


def _trend_decided(claim: toolkit.Claim, df: pd.DataFrame, value: str, side: str, ours: Any, *, scale: str,
                   margin: float | None = None) -> Decided:
    """``claim`` decided by :func:`lib.chapters.seed_tests.trend` of ``value`` against ln width over seeds,
    with each seed's slope (or total change, for "flat") as the per-group rows; ``ours`` is called with
    the test and returns the text of our numbers."""
    test = seed_tests.trend(df, x="width", value=value, claim=side, margin=margin, log_x=LOG_WIDTH)
    rows = mlp.trend_rows(df, x="width", value=value, log_x=LOG_WIDTH, flat=side == "flat")
    return claim.decide(ours(test), test, scale=scale, groups=rows, note=mlp.dropped_note(test, df, value))


def gap_grows(final: pd.DataFrame, plateau: int = FACTS["gap_plateau_width"], scale: str = "") -> Decided:
    """Claim 4-gap-grows-with-width from the last-epoch rows (width, seed, gap): over the widths up to the
    plateau (:func:`_split_at`), each seed's least-squares slope of the gap against ln width
    (:data:`LOG_WIDTH`), then the t-interval of the slopes over seeds (claim "greater",
    :func:`lib.chapters.seed_tests.trend`). The rank correlation of the mean gap is quoted."""
    grow, _ = _split_at(final["width"].unique(), plateau)
    claim = _claim("4-gap-grows-with-width", "The generalization gap of a dense MLP grows with its width.",
                   f"The gap climbs steadily with width up to about {plateau} units (Fig. 4.2).",
                   f"the seeds' mean slope of the gap against ln width, over the widths up to {plateau}, has a 95 % "
                   "interval wholly below zero (the gap shrinks as the MLP widens)", "Figure 4.2")
    sub = final[final["width"].isin(grow)]
    if len(grow) < 2:
        return claim.unmeasured(f"one width only ({grow[0] if grow else 'none'})", scale=scale)
    sm = mlp.seed_summary(sub, ["width"], ["gap"])
    rho = mlp.spearman(sm["width"], sm["gap_mean"])
    return _trend_decided(claim, sub, "gap", "greater", lambda t: (
        f"mean gap {sm['gap_mean'].iloc[0]:.3f} at width {grow[0]} -> {sm['gap_mean'].iloc[-1]:.3f} at width "
        f"{grow[-1]}; mean slope over seeds {_per_doubling(t['diff'])}; rank correlation of mean gap with width "
        f"{rho:.2f}"), scale=scale)


def gap_levels_off(final: pd.DataFrame, plateau: int = FACTS["gap_plateau_width"], margin: float = GAP_LEVEL_MARGIN,
                   scale: str = "") -> Decided:
    """Claim 4-gap-levels-off from the last-epoch rows (width, seed, gap, train_acc), an equivalence
    claim on the total change: from the first width >= ``plateau`` on, each seed's fitted total change of
    the gap over that range (its least-squares slope against ln width times the range's span), then the
    two one-sided tests over seeds against ±``margin`` (:data:`GAP_LEVEL_MARGIN`; claim "flat" of
    :func:`lib.chapters.seed_tests.trend`). "Levels off" says the gap stops changing, so a directional test
    of a smaller slope would let a gap that merely grows more slowly count as level; and a margin on the
    total change, not on each step, keeps a slow steady drift from passing as level. Fewer than two widths
    from the plateau on: not measured at this scale."""
    _, wide = _split_at(final["width"].unique(), plateau)
    fit = _fit_text(final)
    claim = _claim("4-gap-levels-off", f"Beyond about {plateau} units the gap stops growing, because training "
                   "accuracy is perfect.", f"The gap levels out from width {plateau} on (Fig. 4.2).",
                   f"the 90 % interval of the seeds' mean fitted total change of the gap, from the first width >= "
                   f"{plateau} to the widest, lies wholly outside ±{margin:g} (accuracy)", "Figure 4.2")
    if len(wide) < 2:
        widest = int(final["width"].max())
        g = float(final.loc[final["width"] == widest, "gap"].mean())
        return claim.unmeasured(f"widest width here is {widest}, below the thesis's plateau at about {plateau} "
                                f"(needs two widths from it on); mean gap at width {widest} is {g:.3f}; {fit}",
                                scale=scale)
    sub = final[final["width"].isin(wide)]
    return _trend_decided(claim, sub, "gap", "flat", lambda t: (
        f"fitted total change of the gap from width {wide[0]} to {wide[-1]}: {t['diff']:+.3f}, mean over seeds "
        f"(equivalence margin ±{margin:g} on the total change); {fit}"), scale=scale, margin=margin)


def coherence_grows(peak: pd.DataFrame, scale: str = "") -> Decided:
    """Claim 4-coherence-grows-with-width from the peaks per run (width, seed, max_coherence): each seed's
    least-squares slope of its peak α against ln width (:data:`LOG_WIDTH`), then the t-interval of the
    slopes over seeds (claim "greater", :func:`lib.chapters.seed_tests.trend`). The width of the highest
    mean peak and the rank correlation are quoted. (Every MLP's statistics use the same n, so α and its
    debiased value order the widths alike.) The one claim of this question: chapter 8 refers to it."""
    claim = _claim("4-coherence-grows-with-width", "The peak coherence of a dense MLP rises with its width.",
                   f"Max coherence rises fairly steadily with width and is highest at the widest width, "
                   f"{THESIS_WIDEST} (Fig. 4.3).",
                   "the seeds' mean slope of the peak coherence α against ln width has a 95 % interval wholly below "
                   "zero (wider MLPs peak lower)", "Figure 4.3", "C4")
    sm = mlp.seed_summary(peak, ["width"], ["max_coherence"])
    best = int(sm.loc[sm["max_coherence_mean"].idxmax(), "width"])
    rho = mlp.spearman(sm["width"], sm["max_coherence_mean"])
    lo, hi = sm.iloc[0], sm.iloc[-1]
    return _trend_decided(claim, peak, "max_coherence", "greater", lambda t: (
        f"mean peak α {lo['max_coherence_mean']:.4g} at width {int(lo['width'])} -> {hi['max_coherence_mean']:.4g} "
        f"at width {int(hi['width'])}; mean slope over seeds {_per_doubling(t['diff'])}; highest mean peak at width "
        f"{best}; rank correlation with width {rho:.2f}"), scale=scale)


def layer_log_sd(spread: pd.DataFrame) -> pd.DataFrame:
    """Each run's diff spread as one number: per (width, seed), the mean over its weight matrices of ln sd
    at the highest-coherence epoch (rows ``which`` "max" when present; layer "all", every weight pooled,
    left out). Columns width, seed, log_sd, layers. The log puts every matrix's relative narrowing on one
    footing (the input matrix's diffs and the output's differ in sd by a factor), and a zero sd gives a
    non-finite value, which the trend leaves out and counts."""
    at_max = spread[spread["which"] == "max"] if "which" in spread.columns else spread
    per = at_max[at_max["layer"] != "all"].assign(log_sd=lambda d: np.log(d["sd"].astype(float).where(d["sd"] > 0)))
    out = per.groupby(["width", "seed"], sort=True).agg(log_sd=("log_sd", "mean"), layers=("layer", "nunique"))
    return out.reset_index()


def diffs_narrow(spread: pd.DataFrame, scale: str = "") -> Decided:
    """Claim 4-diffs-narrow-with-width from the diff spreads (width, seed, layer, sd; optional ``which``,
    of which the "max" rows count; layer "all" is every weight pooled and is only quoted): each run's
    mean over weight matrices of ln sd (:func:`layer_log_sd`: the matrices of one run are not
    independent replicates, so they are reduced within the run first), then each seed's slope of it
    against ln width, then the t-interval of the slopes over seeds (claim "less"). The slope is an
    elasticity: sd scales as width to that power. The one claim of this question: chapter 8 refers to it."""
    claim = _claim("4-diffs-narrow-with-width", "Diffs at the peak-coherence epoch are spread more narrowly in "
                   "wider MLPs.", f"Diff distributions narrow as width grows and are narrowest at width "
                   f"{THESIS_WIDEST}, where coherence peaks (Fig. 4.4).",
                   "the seeds' mean slope, against ln width, of the mean over weight matrices of ln sd of the diffs "
                   "has a 95 % interval wholly above zero (wider MLPs have wider diffs)", "Figure 4.4, Table 4.a", "C5")
    at_max = spread[spread["which"] == "max"] if "which" in spread.columns else spread
    pooled = at_max[at_max["layer"] == "all"].groupby("width")["sd"].mean()
    per_run = layer_log_sd(spread)

    def ours(t: dict) -> str:
        head = (f"sd of all diffs {pooled.iloc[0]:.4f} at width {int(pooled.index[0])} vs {pooled.iloc[-1]:.4f} at "
                f"width {int(pooled.index[-1])}; " if len(pooled) else "")
        return (head + f"mean over weight matrices of ln sd: mean slope over seeds {_per_doubling(t['diff'])}, i.e. "
                f"sd ∝ width^{t['diff']:.2f}")

    return _trend_decided(claim, per_run, "log_sd", "less", ours, scale=scale)


def diffs_wider_at_max(spread: pd.DataFrame, scale: str = "") -> Decided:
    """Claim 4-diffs-wider-at-max-coherence (caption of Fig. 4.4), worded "at every width", from the diff
    spreads (width, seed, layer, which, sd) of all weights pooled (layer "all"): at each width on its own,
    the sd at the highest-coherence epoch against the lowest-coherence epoch, paired by seed
    (``every=True``: held when every width is held, not held when some width is not held at 0.05 / widths);
    an sd lies in [0, 1], so the interval is cut to [-1, 1]."""
    pooled = spread[spread["layer"] == "all"]
    claim = _claim("4-diffs-wider-at-max-coherence", "At every width, diffs are spread more widely at the epoch of "
                   "highest coherence than at the epoch of lowest coherence.",
                   "Average diff magnitudes are larger when coherence is larger, smaller when it is small (caption "
                   "of Fig. 4.4).", "at some width the sd of all diffs at the highest-coherence epoch is below that "
                   "at the lowest-coherence epoch, its paired interval over seeds wholly below zero at 0.05 / the "
                   "number of widths", "Figure 4.4", "C2")
    test, groups = seed_tests.paired_groups(pooled, "which", "max", "min", "sd", by=["width"], claim="greater",
                                         every=True, bounds=UNIT_DIFF)
    ours = (f"sd of all diffs at the highest-coherence epoch {test['a']:.4f} vs {test['b']:.4f} at the lowest (means "
            f"over widths and seeds); held at {test.get('groups_held', 0)} of {test.get('groups', len(groups))} widths, "
            f"each over {test['n']} seeds")
    return claim.decide(ours, test, scale=scale, groups=groups, note=mlp.dropped_note(test))


def mlp_coherence_smaller(peak: pd.DataFrame, large: pd.DataFrame, family: str, ratio: float = MUCH_SMALLER_RATIO,
                          scale: str = "") -> Decided:
    """Claim 4-coherence-much-smaller-than-<family> (section 4.2) from the MLPs' peaks (width, seed,
    max_debiased) and chapter 2's (family, arch, seed, max_debiased): ``ratio`` times each MLP's debiased
    peak coherence against the ``family`` model's of the same seed. Every width is compared with the one
    large-model run of its seed, so the widths are not independent replicates: the claim is about "the
    dense MLPs", each of them, so every width is judged on its own over seeds (``every=True``: held when
    every width's interval lies below zero, not held when some width's lies above at 0.05 / widths).
    Debiased values, because the two may use different numbers of samples n."""
    big = large[large["family"] == family]
    arch = str(big["arch"].iloc[0]) if len(big) else family
    claim = _claim(f"4-coherence-much-smaller-than-{family}",
                   f"[{arch}] The peak coherence of every dense MLP of the sweep is much smaller (under 1/{ratio:g}) "
                   f"than that of the {arch} trained on real data in chapter 2.",
                   "Coherence is much smaller for the fully-connected networks than for ResNet50 and ViT on real data "
                   "(section 4.2, Fig. 4.3 against Figs. 2.1, 2.2).",
                   f"at some width {ratio:g} times the MLP's debiased peak coherence exceeds the {arch}'s of the same "
                   "seed, the paired interval over seeds wholly above zero at 0.05 / the number of widths",
                   "Figure 4.3, Table 4.c")
    if not len(big):
        return claim.unmeasured(f"no {family} runs", scale=scale)
    pairs = peak[["width", "seed", "max_debiased"]].merge(big[["seed", "max_debiased"]], on="seed", suffixes=("", "_large"))
    long = pd.concat([pairs.assign(model="mlp", value=ratio * pairs["max_debiased"]),
                      pairs.assign(model="large", value=pairs["max_debiased_large"])], ignore_index=True)
    test, groups = seed_tests.paired_groups(long, "model", "mlp", "large", "value", by=["width"], claim="less", every=True)
    m, b = float(pairs["max_debiased"].mean()), float(big["max_debiased"].mean())
    top = pairs.groupby("width")["max_debiased"].mean()
    ours = (f"debiased peak coherence: MLPs {m:.4g} (mean over widths and seeds; highest width mean {top.max():.4g} at "
            f"width {int(top.idxmax())}) vs {arch} {b:.4g}"
            + (f", {b / m:.1f} times the MLPs' mean" if m > 0 and b > 0 else "")
            + f"; {ratio:g} x MLP − {arch} held below zero at {test.get('groups_held', 0)} of "
            f"{test.get('groups', len(groups))} widths")
    return claim.decide(ours, test, scale=scale, groups=groups, note=mlp.dropped_note(test))


def scale_text(final: pd.DataFrame, n_train: int, epochs: int) -> str:
    """How close the MLP sweep is to the thesis's: widths, data, epochs and the widest MLP's test accuracy."""
    widest = int(final["width"].max())
    acc = float(final.loc[final["width"] == widest, "test_acc"].mean())
    return (f"MLP widths {int(final['width'].min())}-{widest} (thesis up to {THESIS_WIDEST}), {n_train:,d} training images "
            f"(thesis 50,000), {epochs} epochs; dense test acc {acc:.2f} at width {widest} (thesis: plotted only, "
            "Fig. 4.1)")


def large_scale_text(large: pd.DataFrame, family: str) -> str:
    """The chapter-2 model's test accuracy against the thesis's dense ResNet50 / ViT."""
    big = large[large["family"] == family]
    if not len(big):
        return ""
    return (f"{big['arch'].iloc[0]} test acc {big['test_acc'].mean():.2f} (thesis {THESIS_DENSE_ACC[family]:.2f}, "
            f"Table {'6.1' if family == 'resnet' else '6.2'})")


def claims_of(final: pd.DataFrame, peak: pd.DataFrame, spread: pd.DataFrame, large: pd.DataFrame | None = None,
              scale: str = "") -> list[Decided]:
    """The chapter's claims from plain frames (see each claim's function), with their per-group rows."""
    out = [gap_grows(final, scale=scale), gap_levels_off(final, scale=scale), coherence_grows(peak, scale=scale),
           diffs_narrow(spread, scale=scale)]
    if "which" in spread.columns:
        out.append(diffs_wider_at_max(spread, scale=scale))
    if large is not None:
        for fam in LARGE:
            big = large_scale_text(large, fam)
            out.append(mlp_coherence_smaller(peak, large, fam, scale="; ".join(x for x in (scale, big) if x)))
    return out
