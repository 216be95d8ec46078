"""Chapter 8's claims (:mod:`lib.chapters.ch08_what_diffs_measure`; this module is that chapter's alone): the
families it compares, the margins and levels fixed with the claims before any run, and one function per claim
that decides plain frames over seeds (tests feed hand-made numbers). :func:`claims_of` lists them all.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from . import mlp, seed_tests
from . import verdicts as toolkit
from .verdicts import Decided

#: The chapter whose claims these are.
CHAPTER = "08"
#: Architectures of questions 1, 2 and 6: family -> how the chapter names it.
FAMILIES = {"cnn": "ResNet", "vit": "ViT", "mlp": "MLP"}

# Margins and levels, fixed with the claims before any run.
#: False discovery rate of the Benjamini-Hochberg procedure (per tensor): the conventional 5 %.
FDR = 0.05
#: "Diffs carry signal": more than this fraction of the weights significant. Under the null BH keeps the
#: expected fraction of false discoveries among discoveries at FDR, and the fraction of weights declared
#: significant near 0; 5 % of all weights is a level no fair-coin network reaches.
SIGNAL_FRACTION = 0.05
#: "Test coherence does not change with width": the fitted TOTAL change of log peak test coherence from the
#: narrowest to the widest measured width (each seed's slope against log width times the log-width span,
#: :func:`lib.chapters.seed_tests.trend`) stays within log 1.25, a 25 % change over the whole sweep: the factor
#: chapter 3 uses for "similar" spreads. An earlier version put log 1.25 on the mean adjacent step, so five
#: steps of a 2.5x rise (log 2.5 = 0.92, 0.18 per step) passed as flat; on the total it is far outside.
FLAT_TOTAL_MARGIN = math.log(1.25)
#: "The spread is mostly signal": more than half of the diffs' variance over weights is not fair-coin noise
#: (:func:`signal_share` > 0.5), the plain meaning of "mostly". Under fair coins the share is about 0.
SIGNAL_SHARE = 0.5


def per_seed_rho(pk: pd.DataFrame, x: str, y: str) -> pd.DataFrame:
    """Per seed, the rank correlation of ``y`` with ``x`` across widths (real-data rows)."""
    real = pk[pk["data"] == "real"]
    return pd.DataFrame([{"seed": int(sd), "rho": mlp.spearman(g[x], g[y])} for sd, g in real.groupby("seed")])


def _claim(cid: str, text: str, thesis: str, fails_if: str, figure: str) -> toolkit.Claim:
    """A chapter-8 claim. These are the open questions of thesis section 7.2, answered with experiments the
    thesis did not run; none of them re-tests a conclusion of section 7.1 (chapters 2-6 do that), so each
    bears on no conclusion (``conclusion=""``)."""
    return toolkit.Claim(cid, CHAPTER, text, thesis, fails_if, figure)


def epochs_note(pk: pd.DataFrame) -> str:
    """What :func:`lib.chapters.ch08_analysis.peaks` left out, for the note shown with a verdict that reads it: epoch 0 (the
    initialisation) always, and any trained epoch whose coherence was not finite (a diverged run)."""
    note = "epoch 0 (the initialisation) left out: peaks and means are over the trained epochs"
    bad = int(pk["nonfinite"].sum()) if "nonfinite" in pk.columns else 0
    if bad:
        note += f"; {bad} trained epoch(s) left out for a non-finite coherence (a diverged run)"
    return note


def signal_share(sd: Any, null_sd: Any) -> Any:
    """The share of the diffs' variance over weights that is not fair-coin sampling noise: 1 - (null sd / sd)^2.

    With n samples a weight whose nonzero signs are fair coins has a diff of variance m / n^2 (m of its n
    per-sample gradient entries nonzero), and ``null_sd``^2 is the mean of those variances
    (:func:`lib.stats.significance.null_diff_sd`). When every weight's signs are fair coins the diffs'
    variance over weights has that same expectation, so the share is about 0 and goes negative as often as
    positive: it can fail. A weight whose expected diff is b has noise variance (E m / n - b^2) / n, below
    the null's, so the share understates the signal (by mean(b^2) / (n sd^2) at most): a conservative
    estimate. Works on scalars and arrays; sd = 0 gives -inf or NaN (left out and counted by the test)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return 1 - (np.asarray(null_sd, float) / np.asarray(sd, float)) ** 2


def real_diffs_signal(sigdf: pd.DataFrame, family: str, level: float = SIGNAL_FRACTION, scale: str = "") -> Decided:
    """Claim 8-<family>-real-diffs-not-coin-flips: at the real-data run's highest-coherence epoch, the
    fraction of all weights with a significant diff against ``level`` (:data:`SIGNAL_FRACTION`), one value
    per seed (claim "greater"; the difference lies in [-level, 1 - level], the interval is cut to it)."""
    name = FAMILIES[family]
    claim = _claim(
        f"8-{family}-real-diffs-not-coin-flips",
        f"[{name}] On real data, more than {level:.0%} of the weights have diffs that differ significantly "
        "(Benjamini-Hochberg at 5 %) from fair coin flips at the highest-coherence epoch.",
        "Diffs are read as a per-weight measure of agreement among samples (section 3.1); the thesis never "
        "compares them with a null.",
        f"The 95 % interval of the significant fraction minus {level:.0%} lies wholly below 0: fewer than "
        f"{level:.0%} of the weights differ from coin flips (under fair coins the procedure declares about 0 %).",
        "Figure 8.2, Table 8.a")
    sub = sigdf[(sigdf["family"] == family) & (sigdf["which"] == "max") & (sigdf["tensor"] == "all")
                & (sigdf["data"] == "real")]
    if not len(sub):
        return claim.unmeasured("no runs", scale=scale)
    per = sub.groupby("seed")[["significant", "zero_frac"]].mean()
    test = seed_tests.paired(per["significant"], np.full(len(per), level), claim="greater",
                          bounds=(-level, 1 - level))
    ours = (f"significant fraction {test['a']:.3f} (per seed: {', '.join(f'{v:.3f}' for v in per['significant'])}); "
            f"{per['zero_frac'].mean():.2f} of the per-sample gradient entries are exactly 0")
    return claim.decide(ours, test, scale=scale, family=family)


def gaussian_more_significant(sigdf: pd.DataFrame, family: str, scale: str = "") -> Decided:
    """Claim 8-<family>-gaussian-diffs-more-significant from the significance rows (family, data, seed,
    which, tensor, significant): at the epoch of highest coherence, the fraction of all weights whose
    diff is significant, Gaussian against real, paired by seed (claim "greater"; a difference of two
    fractions, the interval cut to [-1, 1])."""
    name = FAMILIES[family]
    claim = _claim(
        f"8-{family}-gaussian-diffs-more-significant",
        f"[{name}] At its highest-coherence epoch, a network trained on Gaussian data has a larger fraction of "
        "weights whose diffs differ significantly from fair coin flips than the same network on real data.",
        "Memorising Gaussian data produces very large diffs, with spikes at ±1 for the ViT (section 3.2, Fig. 3.2); "
        "the thesis asks why (section 7.2).",
        "The 95 % interval of the Gaussian minus the real significant fraction lies wholly below 0: the real-data "
        "network has more weights that differ from coin flips.",
        "Figure 8.2, Table 8.a")
    sub = sigdf[(sigdf["family"] == family) & (sigdf["which"] == "max") & (sigdf["tensor"] == "all")]
    if not len(sub):
        return claim.unmeasured("no runs", scale=scale)
    test, groups = seed_tests.paired_groups(sub, "data", "gaussian", "real", "significant", claim="greater",
                                         bounds=(-1.0, 1.0))
    ours = (f"significant (BH 5 %): Gaussian {test['a']:.3f} vs real {test['b']:.3f} of all weights; "
            f"sd of diffs Gaussian {sub[sub['data'] == 'gaussian']['sd'].mean():.3f} vs real "
            f"{sub[sub['data'] == 'real']['sd'].mean():.3f}")
    return claim.decide(ours, test, scale=scale, groups=groups)


def spread_mostly_signal(spread: pd.DataFrame, family: str, data: str = "real", share: float = SIGNAL_SHARE,
                         scale: str = "") -> Decided:
    """Claim 8-<family>-<data>-spread-mostly-signal from the spread rows (family, data, seed, n, tensor, sd,
    null_sd, sd_sqrt_n) of all weights ("all"): each seed's :func:`signal_share` at its largest n against
    ``share`` (:data:`SIGNAL_SHARE`), one value per seed (claim "greater"; the share is at most 1, the
    interval is cut there). The growth of sd x sqrt(n) from the smallest to the largest n is quoted."""
    name = FAMILIES[family]
    claim = _claim(
        f"8-{family}-{data}-spread-mostly-signal",
        f"[{name}, {data} data] At the largest number of samples measured, more than {share:.0%} of the variance "
        "of the final weights' diffs is signal (weights whose expected diffs differ), not the sampling noise of "
        "fair coins: 1 − (null sd / sd)² > " f"{share:g}.",
        "The thesis measures diffs on one sample size and does not ask how much of their spread is sampling "
        "noise (section 7.2).",
        f"The 95 % interval of the signal share minus {share:g} lies wholly below 0: most of the spread is what "
        "fair coins with each weight's own zero count would give.",
        "Figure 8.3")
    sub = spread[(spread["family"] == family) & (spread["data"] == data) & (spread["tensor"] == "all")]
    if not len(sub):
        return claim.unmeasured("no runs", scale=scale)
    top = sub.loc[sub.groupby("seed")["n"].idxmax()].sort_values("seed")
    shares = signal_share(top["sd"], top["null_sd"])
    test = seed_tests.paired(shares, np.full(len(top), share), claim="greater", bounds=(-math.inf, 1 - share))
    ns = sorted(sub["n"].unique())
    ours = (f"signal share {test['a']:.3f} at n = {', '.join(map(str, sorted(top['n'].unique())))} (per seed: "
            f"{', '.join(f'{v:.3f}' for v in shares)})")
    if len(ns) >= 2:
        lo, hi = (sub[sub["n"] == n].groupby("seed")["sd_sqrt_n"].mean() for n in (ns[0], ns[-1]))
        grow = float(np.exp((np.log(hi) - np.log(lo)).mean()))
        ours += (f"; sd·√n ×{grow:.2f} from n = {ns[0]} to {ns[-1]} (all noise ×1, all signal "
                 f"×{math.sqrt(ns[-1] / ns[0]):.2f})")
    return claim.decide(ours, test, scale=scale, family=family, data=data)


def significance_falls_with_width(sweep_sig: pd.DataFrame, scale: str = "") -> Decided:
    """Claim 8-mlp-significant-fraction-falls-with-width from rows (width, seed, significant) of all weights
    at the highest-coherence epoch: each seed's least-squares slope of the significant fraction against
    log width, then the interval of the slopes over seeds (:func:`lib.chapters.seed_tests.trend`, claim "less")."""
    claim = _claim(
        "8-mlp-significant-fraction-falls-with-width",
        "Across the MLP width sweep, wider networks have a smaller fraction of weights with significant diffs "
        "at their highest-coherence epoch, although their coherence is higher.",
        "Diffs narrow as width grows while coherence rises (Figs. 4.3, 4.4); the thesis asks why diffs are "
        "small when coherence is high (section 7.2).",
        "The 95 % interval of the seeds' slopes of the significant fraction against log width lies wholly above "
        "0: wider MLPs have more weights that differ from coin flips.",
        "Figure 8.4")
    if sweep_sig["width"].nunique() < 2:
        return claim.unmeasured("one width only", scale=scale)
    df = sweep_sig.groupby(["width", "seed"], as_index=False)["significant"].mean()
    test = seed_tests.trend(df, x="width", value="significant", log_x=True, claim="less")
    sm = df.groupby("width")["significant"].mean()
    ours = (f"significant fraction {sm.iloc[0]:.3f} at width {int(sm.index[0])} -> {sm.iloc[-1]:.3f} at width "
            f"{int(sm.index[-1])}; mean slope {test['diff']:+.3f} per unit of log width over {test['n']} seeds")
    return claim.decide(ours, test, scale=scale, trend="per log width")


def spread_signal_every_width(sweep_sig: pd.DataFrame, share: float = SIGNAL_SHARE, scale: str = "") -> Decided:
    """Claim 8-mlp-spread-mostly-signal-at-every-width from rows (width, seed, sd, null_sd) of all weights at
    the highest-coherence epoch: :func:`signal_share` against ``share`` at each width on its own over seeds
    (``every=True``: held only when every width is held; not held when one width is not held at 5 % /
    widths). Whether the spread narrows with width is chapter 4's claim 4-diffs-narrow-with-width (the same
    runs and epoch), not asked again here; this asks where the spread stands against coin flips."""
    claim = _claim(
        "8-mlp-spread-mostly-signal-at-every-width",
        f"At every width of the MLP sweep, more than {share:.0%} of the variance of the diffs at the "
        "highest-coherence epoch is signal rather than the sampling noise of fair coins (1 − (null sd / sd)² > "
        f"{share:g}).",
        "Diffs narrow as width grows while coherence rises (Figs. 4.3, 4.4; chapter 4's claims "
        "4-coherence-grows-with-width and 4-diffs-narrow-with-width); the thesis asks why diffs are small when "
        "coherence is high (section 7.2).",
        f"At some width the interval of the signal share minus {share:g}, at 95 % with Bonferroni over the widths, "
        "lies wholly below 0: that width's diffs are mostly coin-flip noise.",
        "Figure 8.4")
    if not len(sweep_sig):
        return claim.unmeasured("no runs", scale=scale)
    df = sweep_sig.assign(value=signal_share(sweep_sig["sd"], sweep_sig["null_sd"]))
    df = df.groupby(["width", "seed"], as_index=False)["value"].mean().assign(side="share")
    long = pd.concat([df, df.assign(side="level", value=share)], ignore_index=True)
    test, groups = seed_tests.paired_groups(long, "side", "share", "level", "value", by=["width"], claim="greater",
                                         every=True, bounds=(-math.inf, 1 - share))
    sm = df.groupby("width")["value"].mean()
    ours = (f"signal share {sm.iloc[0]:.3f} at width {int(sm.index[0])} -> {sm.iloc[-1]:.3f} at width "
            f"{int(sm.index[-1])}; lowest {sm.min():.3f} (width {int(sm.idxmin())})")
    return claim.decide(ours, test, scale=scale, groups=groups)


def test_coherence_flat(pk: pd.DataFrame, margin: float = FLAT_TOTAL_MARGIN, scale: str = "") -> Decided:
    """Claim 8-test-coherence-flat-with-width from the peaks (data, width, seed, test_peak) of the real-data
    MLPs: each seed's least-squares slope of log peak test coherence against log width times the log-width
    span is its fitted total change over the measured widths; flat when the 90 % interval of those changes
    over seeds lies inside ±``margin`` (:data:`FLAT_TOTAL_MARGIN`; the two one-sided tests of
    :func:`lib.chapters.seed_tests.trend`, claim "flat")."""
    claim = _claim(
        "8-test-coherence-flat-with-width",
        f"The peak test-set coherence of a dense MLP does not change with width: its fitted change from the "
        f"narrowest to the widest width stays within a factor {math.exp(margin):.2f} either way.",
        "Hypothesis of section 7.2: coherence is high when the gap is high because it is measured on the "
        "training set, where wide networks memorise.",
        f"The 90 % interval of the seeds' fitted total change of log peak test coherence over the measured widths "
        f"lies wholly outside ±{margin:.3f} (a factor {math.exp(margin):.2f}).",
        "Figure 8.5")
    real = pk[pk["data"] == "real"].assign(log_test=lambda d: np.log(d["test_peak"]))
    if real["width"].nunique() < 2:
        return claim.unmeasured("one width only", scale=scale)
    test = seed_tests.trend(real, x="width", value="log_test", log_x=True, claim="flat", margin=margin)
    m = real.groupby("width")["test_peak"].mean()
    ours = (f"mean peak test coherence {m.iloc[0]:.4g} at width {int(m.index[0])} -> {m.iloc[-1]:.4g} at width "
            f"{int(m.index[-1])}; fitted total change of its log {test['diff']:+.3f} (×{math.exp(test['diff']):.2f}; "
            f"margin ±{margin:.3f}, ×{math.exp(margin):.2f})")
    return claim.decide(ours, test, scale=scale, note=epochs_note(pk), trend="total over widths")


def gap_tracks_train(pk: pd.DataFrame, scale: str = "") -> Decided:
    """Claim 8-gap-tracks-train-not-test-coherence: per seed, the rank correlation across widths of the gap
    with peak training coherence against its rank correlation with peak test coherence (claim "greater";
    a difference of two correlations, the interval cut to [-2, 2])."""
    claim = _claim(
        "8-gap-tracks-train-not-test-coherence",
        "Across MLP widths the generalization gap follows training-set coherence more closely than test-set "
        "coherence (rank correlation with the gap, paired by seed).",
        "Hypothesis of section 7.2: the gap and coherence rise together because coherence is measured on training data.",
        "The 95 % interval of the gap's rank correlation with training coherence minus that with test coherence "
        "lies wholly below 0: the gap follows test-set coherence more closely.",
        "Figure 8.5")
    real = pk[pk["data"] == "real"]
    if real["width"].nunique() < 3:
        return claim.unmeasured("fewer than three widths", scale=scale)
    a, b = per_seed_rho(pk, "gap", "train_peak"), per_seed_rho(pk, "gap", "test_peak")
    both = a.merge(b, on="seed", suffixes=("_train", "_test"))
    test = seed_tests.paired(both["rho_train"], both["rho_test"], claim="greater", bounds=(-2.0, 2.0))
    ours = f"rank correlation of the gap with training coherence {test['a']:+.2f}, with test coherence {test['b']:+.2f}"
    return claim.decide(ours, test, scale=scale, note=epochs_note(pk))


def gaussian_train_test_split(pk: pd.DataFrame, scale: str = "") -> Decided:
    """Claim 8-gaussian-train-over-test-coherence-larger: log(train peak / test peak) on Gaussian data against
    real data at each width both have; each seed's mean over those widths, then paired by seed (claim
    "greater"; n = seeds)."""
    claim = _claim(
        "8-gaussian-train-over-test-coherence-larger",
        "The ratio of training-set to test-set peak coherence is larger for MLPs memorising Gaussian data than for "
        "the same MLPs on real data (each seed's mean over the widths trained on both).",
        "Section 7.2 links high coherence to memorisation; Gaussian data can only be memorised.",
        "The 95 % interval of the Gaussian minus the real log ratio lies wholly below 0: real data opens the larger "
        "gap between training- and test-set coherence.",
        "Figure 8.5")
    df = pk.assign(log_ratio=np.log(pk["train_peak"] / pk["test_peak"]))
    if df["data"].nunique() < 2:
        return claim.unmeasured("no Gaussian runs", scale=scale)
    test, groups = seed_tests.paired_groups(df, "data", "gaussian", "real", "log_ratio", by=["width"], pair_on=("seed",),
                                         claim="greater")
    ours = (f"train/test peak coherence: Gaussian ×{math.exp(test['a']):.2f}, real ×{math.exp(test['b']):.2f} "
            f"(geometric means over widths {', '.join(str(int(w)) for w in groups['width'])} and {test['n']} seeds)")
    return claim.decide(ours, test, scale=scale, groups=groups, note=epochs_note(pk))


def test_below_train(pk: pd.DataFrame, scale: str = "") -> Decided:
    """Claim 8-test-coherence-below-train from the peaks (data, width, seed, train_debiased_mean,
    test_debiased_mean) of the real-data MLPs: the debiased coherence (n α - 1)/(n - 1), averaged over the
    trained epochs, on test against training images; each seed's mean over widths, then paired by seed
    (claim "less"). Debiasing removes each set's own floor 1/n, so the two sets compare although their n
    differ."""
    claim = _claim(
        "8-test-coherence-below-train",
        "On held-out test images the per-sample gradients of the real-data MLPs are less aligned than on their "
        "training images: the debiased coherence, averaged over the trained epochs and the widths, is lower on the "
        "test set.",
        "The thesis measures coherence on training data only; section 7.2 suggests coherence is high where the gap "
        "is because it is measured on training data.",
        "The 95 % interval of test minus training debiased coherence lies wholly above 0: held-out gradients align "
        "more than training ones.",
        "Figure 8.6")
    real = pk[pk["data"] == "real"]
    if not len(real):
        return claim.unmeasured("no runs", scale=scale)
    keep = ["width", "seed"]
    long = pd.concat([real[keep].assign(set="test", value=real["test_debiased_mean"]),
                      real[keep].assign(set="train", value=real["train_debiased_mean"])], ignore_index=True)
    test, groups = seed_tests.paired_groups(long, "set", "test", "train", "value", by=["width"], claim="less")
    ours = (f"mean debiased coherence on test images {test['a']:.4f}, on training images {test['b']:.4f} "
            f"(means over {len(groups)} widths, then {test['n']} seeds)")
    return claim.decide(ours, test, scale=scale, groups=groups, note=epochs_note(pk))


def head_carries_coherence(shares: pd.DataFrame, family: str, scale: str = "") -> Decided:
    """Claim 8-<family>-output-layer-carries-coherence from the shares (family, data, seed, tensor,
    grad_share, weight_share) of the real-data runs: the last weight tensor's share of ||E g||^2 (debiased
    per tensor, :func:`lib.chapters.ch08_analysis.grad_shares`) minus its share of the weights, one value per seed (claim "greater").
    No bounds: a debiased share can fall outside [0, 1] when another tensor's debiased value is negative."""
    name = FAMILIES[family]
    claim = _claim(
        f"8-{family}-output-layer-carries-coherence",
        f"[{name}] The output layer carries a larger share of the mean gradient's squared norm ||E g||² than its "
        "share of the weights (final weights, training images; each tensor's ||E g_l||² debiased).",
        "Not examined in the thesis; section 4.4 suggests later layers carry less information in wide networks.",
        "The 95 % interval of the output tensor's share of ||E g||² minus its share of the weights lies wholly "
        "below 0.",
        "Figure 8.7")
    sub = shares[(shares["family"] == family) & (shares["data"] == "real")]
    if not len(sub):
        return claim.unmeasured("no runs", scale=scale)
    last = [t for t in sub["tensor"].unique() if t.endswith("weight")][-1]
    head = sub[sub["tensor"] == last].groupby("seed")[["grad_share", "weight_share"]].mean()
    test = seed_tests.paired(head["grad_share"], head["weight_share"], claim="greater")
    undefined = int((~np.isfinite(head["grad_share"].astype(float))).sum())
    note = ""
    if undefined:
        note = (f"{undefined} of {len(head)} seed(s) left out: summed over all tensors the debiased ||E g||² is not "
                "positive (no mean gradient above the sampling noise of these samples), so no share is defined")
        test["dropped_why"] = note
    share = f"{test['a']:.3f}" if test["n"] else "no share"
    named = mlp.layer_label(last) if family == "mlp" else last  # the MLP's layers as chapter 4 names them
    ours = f"{named}: {share} of ||E g||² (debiased) with {head['weight_share'].mean():.4f} of the weights"
    if "grad_share_plain" in sub.columns:
        ours += f" (undebiased share {sub.loc[sub['tensor'] == last, 'grad_share_plain'].mean():.3f})"
    return claim.decide(ours, test, scale=scale, note=note, tensor=last)


def claims_of(sigdf: pd.DataFrame, spread: pd.DataFrame, pk: pd.DataFrame, shares: pd.DataFrame,
              sweep_sig: pd.DataFrame, scale: str = "") -> list[Decided]:
    """Every claim of the chapter from plain frames (see each claim's function). Two questions chapter 8 once
    asked again are chapter 4's claims, cited where this chapter shows them: peak training coherence rising
    with width (4-coherence-grows-with-width, Figure 8.5) and diffs narrowing with width
    (4-diffs-narrow-with-width, Figure 8.4)."""
    out: list[Decided] = []
    for fam in FAMILIES:
        out += [real_diffs_signal(sigdf, fam, scale=scale), gaussian_more_significant(sigdf, fam, scale=scale)]
    out += [spread_mostly_signal(spread, fam, scale=scale) for fam in FAMILIES]
    out += [significance_falls_with_width(sweep_sig, scale=scale), spread_signal_every_width(sweep_sig, scale=scale)]
    out += [test_coherence_flat(pk, scale=scale), gap_tracks_train(pk, scale=scale),
            gaussian_train_test_split(pk, scale=scale), test_below_train(pk, scale=scale)]
    out += [head_carries_coherence(shares, fam, scale=scale) for fam in FAMILIES]
    return out
