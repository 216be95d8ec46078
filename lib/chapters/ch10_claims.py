"""Chapter 10's claims: ours, written before any run (the thesis has no language model), each decided by one small
function of tidy per-seed frames that :mod:`lib.chapters.ch10_language` reads from the runs (tests feed hand-made
frames).

The seed is the replicate. A window of epochs is averaged within each seed before the seeds are paired
(:func:`lib.chapters.seed_tests.paired_groups`); a tensor group's share is summed over its tensors within a seed;
a child's validation loss is one value per seed; the noise scale's rise is a per-seed slope tested over seeds
(:func:`lib.chapters.seed_tests.trend`). Held or not held only when the 95 % interval of the mean paired
difference lies wholly on one side of zero.

Frames:

* ``curves``: kind (``brown``, ``brown_shuffled``, ``brown_random``), seed, epoch, coherence, train_loss,
  test_loss (the validation split), n (windows in the gradient statistics);
* ``shares``: kind, seed, when (``init``, ``final``), group (:data:`GROUPS`), grad_share (the group's share of the
  debiased ||E g||^2), weight_share, significant (the share of the group's prunable weights whose diff is a
  discovery of the sign test at false discovery rate 0.05; NaN for groups that are not pruned), weights;
* ``children``: variant (``<method>_<scope>``, ``<method>_shuffled``, ``none``), seed, val_loss;
* ``scaling``: arm (``dense``, ``sparse``), heads, seed, val_loss, nonzero (nonzero attention and feed-forward
  weights).

The scaling question (the thesis's last open question) fits, per seed and arm, a power law L = a N^-b of validation
loss L in the nonzero attention and feed-forward weights N (least squares of ln L on ln N over the sizes); its
claims test the exponents b over seeds, and the gap between the arms averaged over the sizes within each seed.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from .seed_tests import paired, paired_groups, slopes, trend
from .verdicts import Claim, Decided

CHAPTER = "10"
#: Data kind -> how the chapter names it.
KIND_NAMES = {"brown": "text", "brown_shuffled": "shuffled characters", "brown_random": "random characters"}
#: Tensor groups of the language model, in the order the figures draw them.
GROUPS = ("embeddings", "attention", "feed-forward", "layer norms", "output")
#: The mask methods and scopes of the pruning runs: every method with one global ranking, the methods in
#: :data:`LAYER_METHODS` also with the same fraction per tensor (the claim about that scope compares those two);
#: the methods whose global masks are also shuffled within tensors.
METHODS = ("diff", "magnitude", "random", "snip")
SCOPES = ("global", "layer")
LAYER_METHODS = ("diff", "random")
SHUFFLED = ("diff", "magnitude")
#: The late-coherence claim is about a network that has begun to memorise random characters: decided only when the
#: random-token run's final training loss is below this share of the chance loss ln(symbols) (uniform guessing
#: over the symbols the stream draws from); otherwise not measured at this scale, with the numbers kept.
MEMORISED_SHARE = 0.9
#: Coherence and shares lie in [0, 1] (a debiased share can leave it, but a difference of two shares is cut to the
#: range of plain ones).
UNIT_BOUNDS = (-1.0, 1.0)
#: The figures that decide each question.
FIGURES = {"coherence": "Figure 10.1", "shares": "Figure 10.2", "diffs": "Figure 10.3", "pruning": "Figure 10.4",
           "shuffle": "Figure 10.5", "scaling": "Figure 10.6"}
#: The scaling question's arms and how the chapter names them.
ARMS = {"dense": "dense models", "sparse": "random-masked children of the wider models"}
#: The thesis's last open question, which the scaling claims answer at our scale.
THESIS_SCALING = ("an open question of the thesis (section 7.2): its MLPs suggest a sparse network beats a dense one "
                  "of the same nonzero count at every size; how does that carry as networks grow?")
THESIS_NONE = "no language model in the thesis; our claim, written before the runs"


def _claim(cid: str, text: str, fails_if: str, figure: str, thesis: str = THESIS_NONE) -> Claim:
    return Claim(f"10-{cid}", CHAPTER, text, thesis, fails_if, figure)


def window(epochs: int) -> tuple[tuple[int, int], tuple[int, int]]:
    """(first, last) epochs of the early and of the late window: the first and the last quarter of training
    (at least one epoch each, epoch 0 never in either)."""
    k = max(1, round(epochs / 4))
    return (1, k), (max(1, epochs - k + 1), epochs)


def _window_rows(curves: pd.DataFrame, lo: int, hi: int) -> pd.DataFrame:
    return curves[(curves["epoch"] >= lo) & (curves["epoch"] <= hi)]


def early_claim(curves: pd.DataFrame, other: str, epochs: int, scale: str = "") -> Decided:
    """Coherence over the early window is higher on text than on ``other`` (shuffled or random characters): each
    seed's mean over the window, paired over seeds."""
    (lo, hi), _ = window(epochs)
    t, per = paired_groups(_window_rows(curves, lo, hi), "kind", "brown", other, "coherence", by=("epoch",),
                           claim="greater", bounds=UNIT_BOUNDS)
    name = KIND_NAMES[other]
    c = _claim(f"early-coherence-text-gt-{other.removeprefix('brown_')}",
               f"early in training (epochs {lo}..{hi}) the language model's gradients are more coherent on text "
               f"than on {name}", f"the 95 % interval over seeds of α text − α {name}, each seed's α averaged over "
               f"epochs {lo}..{hi} first, lies wholly below 0", FIGURES["coherence"],
               "chapter 2's question for images: higher coherence on real than on Gaussian data early (Fig. 2.2)")
    return c.decide(f"α over epochs {lo}..{hi}: text {t['a']:.4g}, {name} {t['b']:.4g} (mean over {t['n']} seeds)",
                    t, scale=scale, groups=per)


def chance_loss(symbols: int) -> float:
    """The cross-entropy in nats of guessing uniformly among ``symbols`` symbols: ln(symbols)."""
    if symbols < 2:
        raise ValueError(f"symbols must be >= 2, got {symbols}")
    return math.log(symbols)


def late_claim(curves: pd.DataFrame, epochs: int, symbols: int, scale: str = "") -> Decided:
    """Late in training, coherence is higher on random characters than on text (the thesis's reading of its Gaussian
    runs: memorising data without structure makes the per-sample gradients agree). Decided only once the
    random-token runs have begun to memorise (:data:`MEMORISED_SHARE`)."""
    _, (lo, hi) = window(epochs)
    t, per = paired_groups(_window_rows(curves, lo, hi), "kind", "brown_random", "brown", "coherence",
                           by=("epoch",), claim="greater", bounds=UNIT_BOUNDS)
    last = curves[(curves["kind"] == "brown_random") & (curves["epoch"] == curves["epoch"].max())]
    final = float(last["train_loss"].mean()) if len(last) else math.nan
    chance = chance_loss(symbols)
    c = _claim("late-coherence-random-gt-text",
               f"late in training (epochs {lo}..{hi}), once the network memorises random characters, their gradients are "
               "more coherent than those of text",
               f"with the random-token runs' final training loss below {MEMORISED_SHARE:.0%} of the chance loss, the "
               f"95 % interval over seeds of α random − α text (each seed's mean over epochs {lo}..{hi}) lies wholly "
               "below 0", FIGURES["coherence"],
               "chapter 2's question: higher coherence on Gaussian than on real data later in training (section 2.1)")
    ours = (f"α over epochs {lo}..{hi}: random {t['a']:.4g}, text {t['b']:.4g} (mean over {t['n']} seeds); final "
            f"training loss on random characters {final:.3f} nats against the chance loss ln {symbols} = {chance:.3f}")
    if not final < MEMORISED_SHARE * chance:
        return c.regime_not_reached(ours, t, scale=scale, groups=per,
                                    note=f"the random-token runs have not begun to memorise (final training loss "
                                         f"{final:.3f}, above {MEMORISED_SHARE:.0%} of {chance:.3f}): not the regime "
                                         f"the claim is about; the test on these numbers would say {t['verdict']} "
                                         "(not used)")
    return c.decide(ours, t, scale=scale, groups=per)


def _group_values(shares: pd.DataFrame, kind: str, when: str, group: str, column: str) -> pd.Series:
    rows = shares[(shares["kind"] == kind) & (shares["when"] == when) & (shares["group"] == group)]
    return rows.groupby("seed", sort=True)[column].sum(min_count=1)


def share_claim(shares: pd.DataFrame, group: str, side: str, scale: str = "") -> Decided:
    """At the end of training on text, ``group`` carries a larger (``side="greater"``) or smaller (``"less"``)
    share of the debiased ||E g||^2 than of the weights: per seed the group's two shares (its tensors summed),
    paired over seeds."""
    g = _group_values(shares, "brown", "final", group, "grad_share")
    w = _group_values(shares, "brown", "final", group, "weight_share")
    seeds = sorted(set(g.index) & set(w.index))
    t = paired(g.loc[seeds], w.loc[seeds], claim=side, bounds=UNIT_BOUNDS)
    word = "larger" if side == "greater" else "smaller"
    slug = group.replace(" ", "-")
    c = _claim(f"{slug}-share-{'gt' if side == 'greater' else 'lt'}-weights",
               f"after training on text, the {group} carry a {word} share of the mean gradient's squared norm "
               f"(debiased ||E g||², Figure 10.2) than of the weights",
               f"the 95 % interval over seeds of (share of ||E g||²) − (share of the weights) of the {group} lies "
               f"wholly {'below' if side == 'greater' else 'above'} 0", FIGURES["shares"],
               "no language model in the thesis; chapter 8 asks the same of the MLP's layers")
    return c.decide(f"{group}: {t['a']:.3f} of ||E g||², {t['b']:.3f} of the weights (mean over {t['n']} seeds)", t,
                    scale=scale)


def significant_claim(shares: pd.DataFrame, scale: str = "") -> Decided:
    """After training, a larger share of the prunable weights has a diff that differs from coin flips (sign test,
    Benjamini-Hochberg at 5 %) on text than on random characters: per seed the weighted share over the prunable
    groups, paired over seeds."""
    def per_seed(kind: str) -> pd.Series:
        rows = shares[(shares["kind"] == kind) & (shares["when"] == "final") & shares["significant"].notna()]
        return rows.groupby("seed", sort=True).apply(
            lambda r: float(np.average(r["significant"], weights=r["weights"])), include_groups=False)
    a, b = per_seed("brown"), per_seed("brown_random")
    seeds = sorted(set(a.index) & set(b.index))
    t = paired(a.loc[seeds], b.loc[seeds], claim="greater", bounds=UNIT_BOUNDS)
    c = _claim("significant-diffs-text-gt-random",
               "after training, more of the prunable weights have diffs that differ from fair coin flips on text than "
               "on random characters (exact sign test, false discovery rate 5 %)",
               "the 95 % interval over seeds of the share of significant diffs, text − random characters, lies wholly "
               "below 0", FIGURES["diffs"], "no language model in the thesis; chapter 8's null of fair coins")
    return c.decide(f"significant diffs: text {t['a']:.3f}, random characters {t['b']:.3f} of the prunable weights "
                    f"(mean over {t['n']} seeds)", t, scale=scale)


def _losses(children: pd.DataFrame, variant: str) -> pd.Series:
    return children[children["variant"] == variant].set_index("seed")["val_loss"].sort_index()


def _variant_name(v: str) -> str:
    if v == "none":
        return "the dense child-sized model"
    method, _, rest = v.partition("_")
    return {"global": f"the {method} mask (global ranking)", "layer": f"the {method} mask (per layer)",
            "shuffled": f"the {method} mask shuffled within each tensor"}[rest]


def loss_claim(children: pd.DataFrame, a: str, b: str, cid: str, figure: str, scale: str = "",
               thesis: str = THESIS_NONE) -> Decided:
    """The child of variant ``a`` reaches a lower validation loss than that of ``b``, paired by seed."""
    la, lb = _losses(children, a), _losses(children, b)
    seeds = sorted(set(la.index) & set(lb.index))
    t = paired(la.loc[seeds], lb.loc[seeds], claim="less")
    an, bn = _variant_name(a), _variant_name(b)
    c = _claim(cid, f"the child of {an} reaches a lower validation loss than {'' if b == 'none' else 'the child of '}{bn}",
               f"the 95 % interval over seeds of validation loss ({a}) − ({b}) lies wholly above 0", figure, thesis)
    return c.decide(f"validation loss {t['a']:.4f} ({a}) vs {t['b']:.4f} ({b}) nats per character (mean over "
                    f"{t['n']} seeds)", t, scale=scale, versus=f"{a} − {b}")


def noise_scale_claim(curves: pd.DataFrame, scale: str = "") -> Decided:
    """On text, the simple noise scale B = 1/α_debiased − 1 rises over training (epochs 1 onward): each seed's
    slope of ln B against the epoch, tested over seeds. McCandlish et al. (2018) found it growing as the loss
    falls."""
    rows = curves[(curves["kind"] == "brown") & (curves["epoch"] >= 1)].copy()
    rows["log_b"] = np.log(rows["noise_scale"].where(rows["noise_scale"] > 0))
    t = trend(rows, x="epoch", value="log_b", claim="greater")
    c = _claim("noise-scale-rises",
               "on text the simple noise scale B = 1/α − 1 (debiased α, in windows) rises as training goes on",
               "the 95 % interval over seeds of the per-seed slope of ln B against the epoch lies wholly below 0",
               FIGURES["coherence"],
               "not in the thesis; McCandlish et al. (2018) report the noise scale growing as the loss falls")
    return c.decide(f"slope of ln B per epoch {t['slope']:.3f} (mean over {t['n']} seeds; epochs 1 onward)", t,
                    scale=scale)


def exponents(scaling: pd.DataFrame) -> pd.DataFrame:
    """Per arm and seed, the power law L = a N^-b fitted by least squares of ln(val_loss) on ln(nonzero) over the
    sizes: columns arm, seed, b (the exponent: minus the slope), a (the prefactor), points."""
    rows = []
    for arm in ARMS:
        d = scaling[scaling["arm"] == arm].assign(log_loss=lambda f: np.log(f["val_loss"].astype(float)))
        if not len(d):
            continue
        sl = slopes(d, x="nonzero", value="log_loss", log_x=True)
        for _, r in sl.iterrows():
            g = d[d["seed"] == r["seed"]]
            lx, ly = np.log(g["nonzero"].to_numpy(float)), g["log_loss"].to_numpy(float)
            a = float(np.exp(ly.mean() - r["slope"] * lx.mean())) if np.isfinite(r["slope"]) else math.nan
            rows.append({"arm": arm, "seed": int(r["seed"]), "b": -r["slope"], "a": a, "points": int(r["points"])})
    return pd.DataFrame(rows, columns=["arm", "seed", "b", "a", "points"])


def power_law_claim(scaling: pd.DataFrame, arm: str, scale: str = "") -> Decided:
    """The validation loss of ``arm`` falls with its nonzero attention and feed-forward weights: each seed's slope of ln L against
    ln N (minus the power law's exponent), tested over seeds."""
    d = scaling[scaling["arm"] == arm].assign(log_loss=lambda f: np.log(f["val_loss"].astype(float)))
    t = trend(d, x="nonzero", value="log_loss", log_x=True, claim="less")
    lo, hi = (int(d["nonzero"].min()), int(d["nonzero"].max())) if len(d) else (0, 0)
    c = _claim(f"{arm}-loss-falls-with-size",
               f"the validation loss of the {ARMS[arm]} falls with their nonzero attention and feed-forward weights N (a power law "
               "L = a N^-b with b > 0, fitted per seed)",
               "the 95 % interval over seeds of the fitted slope of ln L against ln N (= −b) lies wholly above 0",
               FIGURES["scaling"], THESIS_SCALING)
    return c.decide(f"exponent b = {-t['slope']:.3f} (mean over {t['n']} seeds) over N = {lo:,d}..{hi:,d}", t,
                    scale=scale)


def exponent_claim(scaling: pd.DataFrame, scale: str = "") -> Decided:
    """The sparse advantage grows with size: the children's power-law exponent exceeds the dense models', paired
    by seed (with L_sparse / L_dense = (a_s / a_d) N^-(b_s - b_d), the sparse arm pulls ahead as N grows exactly
    when b_s > b_d)."""
    e = exponents(scaling).pivot(index="seed", columns="arm", values="b").dropna()
    t = paired(e["sparse"], e["dense"], claim="greater")
    c = _claim("sparse-advantage-grows-with-size",
               "the advantage of the sparse children over dense models of the same nonzero count grows with size: "
               "their power law's exponent b is larger",
               "the 95 % interval over seeds of b (sparse) − b (dense) lies wholly below 0", FIGURES["scaling"],
               THESIS_SCALING)
    return c.decide(f"exponent b: sparse {t['a']:.3f}, dense {t['b']:.3f} (mean over {t['n']} seeds)", t,
                    scale=scale, versus="b sparse − b dense")


def sparse_over_sizes_claim(scaling: pd.DataFrame, scale: str = "") -> Decided:
    """Over the sizes, the sparse children reach a lower validation loss than the dense models of the same nonzero
    count: each seed's mean over the sizes of both arms, paired over seeds."""
    t, per = paired_groups(scaling, "arm", "sparse", "dense", "val_loss", by=("heads",), claim="less")
    c = _claim("sparse-beats-dense-over-sizes",
               "averaged over the sizes, a random-masked child of a wider model reaches a lower validation loss than "
               "the dense model of the same nonzero count",
               "the 95 % interval over seeds of validation loss sparse − dense, each seed's mean over the sizes "
               "first, lies wholly above 0", FIGURES["scaling"], THESIS_SCALING)
    return c.decide(f"validation loss over the sizes: sparse {t['a']:.4f}, dense {t['b']:.4f} nats per character "
                    f"(mean over {t['n']} seeds)", t, scale=scale, groups=per)


def noise_scale(alpha: Any, n: int) -> Any:
    """The simple noise scale B = tr(Σ)/|G|² estimated from coherence ``alpha`` over ``n`` samples without bias in
    numerator or denominator: n (1 − α) / (n α − 1), which is 1/α_d − 1 for the debiased α_d = (n α − 1)/(n − 1).
    NaN where n α <= 1 (no mean gradient measurable above the noise)."""
    a = np.asarray(alpha, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        b = n * (1 - a) / (n * a - 1)
    return np.where(n * a > 1, b, np.nan)


def claims_of(curves: pd.DataFrame, shares: pd.DataFrame, children: pd.DataFrame, scaling: pd.DataFrame, *,
              epochs: int, symbols: int, scale: str = "") -> list[Decided]:
    """Every claim of the chapter, in the order the verdict table lists them."""
    out = [early_claim(curves, "brown_shuffled", epochs, scale), early_claim(curves, "brown_random", epochs, scale),
           late_claim(curves, epochs, symbols, scale), noise_scale_claim(curves, scale),
           share_claim(shares, "embeddings", "greater", scale), share_claim(shares, "attention", "less", scale),
           significant_claim(shares, scale)]
    pruning = "Figure 10.4"
    for m in ("diff", "magnitude", "snip"):
        out.append(loss_claim(children, f"{m}_global", "random_global", f"{m}-beats-random-global", pruning, scale,
                              "for the ViT the thesis found diff masks best and random close (Table 6.2)"
                              if m == "diff" else THESIS_NONE))
    out.append(loss_claim(children, "diff_layer", "random_layer", "diff-beats-random-layer", pruning, scale))
    for m in METHODS:
        out.append(loss_claim(children, f"{m}_global", "none", f"{m}-sparse-beats-dense", pruning, scale,
                              "for MLPs the thesis found pruned wide networks beat dense ones of the same size "
                              "(section 5.3)"))
    for m in SHUFFLED:
        out.append(loss_claim(children, f"{m}_global", f"{m}_shuffled", f"{m}-choice-within-layers-matters",
                              FIGURES["shuffle"], scale,
                              "not in the thesis; chapter 9 asks it of the MLP, ResNet and ViT"))
    out += [power_law_claim(scaling, "dense", scale), power_law_claim(scaling, "sparse", scale),
            sparse_over_sizes_claim(scaling, scale), exponent_claim(scaling, scale)]
    return out


__all__ = ["ARMS", "CHAPTER", "FIGURES", "GROUPS", "KIND_NAMES", "LAYER_METHODS", "MEMORISED_SHARE", "METHODS",
           "SCOPES", "SHUFFLED",
           "chance_loss", "claims_of", "early_claim", "exponent_claim", "exponents", "late_claim", "loss_claim",
           "noise_scale", "noise_scale_claim", "power_law_claim", "share_claim", "significant_claim",
           "sparse_over_sizes_claim", "window"]

