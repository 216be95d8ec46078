"""Chapter 9's claims (:mod:`lib.chapters.ch09_why_random_works`), each a :class:`lib.chapters.verdicts.Claim`
decided from plain frames over seeds: the seed is the replicate (one value per seed and arm, a seed's tensors
reduced first; the overlap's rise a per-seed slope, :func:`lib.chapters.seed_tests.trend`). Where the chapter asks
which of several candidates works (how early a mask may be made, which layer type carries the diff ranking) every
candidate is tested and corrected by Holm over them (:func:`holm_over_candidates`). The chapter's names of
architectures and methods, and the equivalence margin of the early-mask claims (fixed before any run), are here
too: the chapter module, its figures and its claims share them."""
from __future__ import annotations

from typing import Any, Callable, Mapping, Sequence

import pandas as pd

from . import seed_tests
from .seed_tests import holm_over_candidates
from .verdicts import Claim, Decided


CHAPTER = "09"
#: Architectures: family -> how the chapter names it.
FAMILIES = {"mlp": "MLP", "resnet": "ResNet", "vit": "ViT"}
#: The scored methods whose masks are shuffled, by the name each chapter uses for its best form.
BEST = {"magnitude": "magnitude_best", "diff": "coherence_best"}
#: Pruning-at-initialisation scorers (lib.masks.INIT_METHODS).
INIT = ("snip", "grasp", "synflow")
#: How the text names them.
INIT_NAMES = {"snip": "SNIP", "grasp": "GraSP", "synflow": "SynFlow"}
#: "An early mask is as good as the final one": test accuracies of their children within one percentage point,
#: about the smallest difference chapters 5 and 6 treat as a difference between methods.
EARLY_MARGIN = 0.01


#: The range a difference of two test accuracies, or of two shares of tensors, can take: intervals are cut to it.
FRACTION_BOUNDS = (-1.0, 1.0)
#: Claims this chapter no longer makes because chapter 6 asks the same question of the same runs with the same
#: statistic (one question, one claim): our former id -> chapter 6's claim that answers it.
ASKED_IN_CHAPTER_6 = {
    "9-resnet-diff-best-beats-worst": "6-resnet-coherence-best-above-worst-global",
    "9-resnet-diff-more-layers-at-floor": "6-global-diff-overprunes-layers",
    "9-resnet-magnitude-best-beats-worst": "6-mask-inversion-gap-small",
    "9-vit-magnitude-best-beats-worst": "6-mask-inversion-gap-small-vit-global",
}
#: The inversion claims chapter 9 still makes (family, method): the ViT's diff masks (chapter 6 has no claim on
#: coherence_best against coherence_worst for the ViT).
INVERSION_CLAIMS = (("vit", "diff"),)
#: The at-floor claims chapter 9 still makes (the ResNet's is chapter 6's).
FLOOR_CLAIMS = ("vit",)


def _compare(acc: pd.DataFrame, family: str, a: str, b: str, claim: str = "greater",
             margin: float | None = None) -> dict[str, Any]:
    """The paired test of test accuracy, variant ``a`` against ``b`` of ``family``: one value of each per seed
    (the seed is the replicate), the interval cut to [-1, 1]."""
    sub = acc[acc["family"] == family]
    test, _ = seed_tests.paired_groups(sub, "variant", a, b, "test_acc", claim=claim, margin=margin,
                                    bounds=FRACTION_BOUNDS)
    return test


def _has(acc: pd.DataFrame, family: str, *variants: str) -> bool:
    sub = acc[acc["family"] == family]
    return all((sub["variant"] == v).any() for v in variants)


def choice_within_layers(acc: pd.DataFrame, family: str, method: str, scale: str = "") -> Decided:
    """Claim 9-<family>-<method>-choice-within-layers-matters: the child of the method's mask against the child of
    the same mask shuffled within each tensor, paired by seed (claim "greater")."""
    c = Claim(f"9-{family}-{method}-choice-within-layers-matters", CHAPTER,
              f"[{FAMILIES[family]}] The {method} mask's choice of weights within each layer matters: its child beats "
              "the child of the same mask shuffled within every layer.",
              "Not tested in the thesis; Frankle et al. (2021) found layer-wise shuffles harmless for several "
              "pruning-at-initialisation methods.",
              "The shuffled mask's child is the more accurate: the 95 % interval of unshuffled − shuffled test "
              "accuracy over seeds lies wholly below 0.", "Figure 9.1")
    if not _has(acc, family, method, f"{method}_shuffled"):
        return c.unmeasured("no runs", scale=scale)
    test = _compare(acc, family, method, f"{method}_shuffled")
    return c.decide(f"test acc {test['a']:.3f} unshuffled vs {test['b']:.3f} shuffled", test, scale=scale,
                    versus=f"{method} − {method}_shuffled")


def fractions_beat_uniform(acc: pd.DataFrame, family: str, method: str, scale: str = "") -> Decided:
    """Claim 9-<family>-<method>-fractions-beat-uniform: the shuffled child (the method's per-layer fractions,
    random positions) against the uniform random child (the same fraction in every layer), paired by seed
    (claim "greater")."""
    c = Claim(f"9-{family}-{method}-fractions-beat-uniform", CHAPTER,
              f"[{FAMILIES[family]}] The per-layer fractions the {method} mask chooses, with random positions, beat a "
              "random mask that keeps the same fraction of every layer.",
              "Random pruning is surprisingly effective (sections 5.3, 6.2, 7.2).",
              f"The uniform random child is the more accurate: the 95 % interval of shuffled {method} − uniform "
              "test accuracy over seeds lies wholly below 0.", "Figure 9.1")
    if not _has(acc, family, f"{method}_shuffled", "uniform"):
        return c.unmeasured("no runs", scale=scale)
    test = _compare(acc, family, f"{method}_shuffled", "uniform")
    return c.decide(f"test acc {test['a']:.3f} ({method} fractions, shuffled) vs {test['b']:.3f} (uniform random)",
                    test, scale=scale, versus=f"{method}_shuffled − uniform")


def best_beats_worst(acc: pd.DataFrame, family: str, method: str, scale: str = "") -> Decided:
    """Claim 9-<family>-<method>-best-beats-worst: the child of the best mask (the highest scores, fixed before
    any run, not chosen by accuracy) against the child of the worst (inverted) mask, paired by seed (claim
    "greater"). Made only for :data:`INVERSION_CLAIMS`: the others are chapter 6's
    (:data:`ASKED_IN_CHAPTER_6`)."""
    c = Claim(f"9-{family}-{method}-best-beats-worst", CHAPTER,
              f"[{FAMILIES[family]}] Keeping the highest {method} scores beats keeping the lowest.",
              "The mask inversion problem (section 7.2): magnitude best is not far above magnitude worst (Tables 6.1, "
              "6.2).",
              "The worst mask's child is the more accurate: the 95 % interval of best − worst test accuracy over "
              "seeds lies wholly below 0.", "Figure 9.2, Table 9.a")
    if not _has(acc, family, method, f"{method}_worst"):
        return c.unmeasured("no worst-mask children for this architecture", scale=scale)
    test = _compare(acc, family, method, f"{method}_worst")
    return c.decide(f"test acc best {test['a']:.3f} vs worst {test['b']:.3f}", test, scale=scale,
                    versus=f"{method} − {method}_worst")


def decide_family(members: Sequence[tuple[Any, Claim, dict | None]], family: str, *, missing: str, scale: str,
                  ours: Callable[[Any, dict], str], versus: Callable[[Any], str]) -> list[Decided]:
    """Decide a family of claims tested together: ``members`` are (key, claim, test or None when not run);
    the measured tests are corrected by Holm over the family (:func:`lib.chapters.seed_tests.holm_over_candidates`,
    ``family`` names it in the note), the others are "not measured" with ``missing`` as the reason."""
    measured = [t for _, _, t in members if t is not None]
    adjusted = iter(zip(*holm_over_candidates(measured, family))) if measured else iter(())
    out = []
    for key, c, t in members:
        if t is None:
            out.append(c.unmeasured(missing, scale=scale))
            continue
        t, note = next(adjusted)
        out.append(c.decide(ours(key, t), t, scale=scale, note=note, versus=versus(key)))
    return out


def early_as_good(acc: pd.DataFrame, method: str, fractions: Sequence[float], margin: float = EARLY_MARGIN,
                  scale: str = "") -> list[Decided]:
    """Claims 9-mlp-<method>-early-<fraction>-as-good, one per fraction: the child of the mask made after
    ``fraction`` of the parent's epochs against the child of the final mask, paired by seed, equivalent within
    ±``margin`` test accuracy (two one-sided tests: the 90 % interval inside the margin). "How soon can you
    stop" looks for the earliest fraction that works, so each fraction's verdict is corrected by Holm over
    this method's fractions (:func:`holm_over_candidates`)."""
    claims, tests = [], []
    for f in fractions:
        v = f"{method}_early_{f:g}"
        c = Claim(f"9-mlp-{method}-early-{f:g}-as-good", CHAPTER,
                  f"[MLP] A {method} mask made after {f:.0%} of the parent's training gives a child as accurate as "
                  f"the final mask's (within {margin:.0%} test accuracy).",
                  "Early vs late magnitude pruning is an open question (section 7.2); You et al. (2020) find early "
                  "masks for large networks.",
                  f"The 90 % interval of early − final test accuracy over seeds lies wholly outside ±{margin:g} "
                  f"(and stays decisive after Holm's correction over the {len(fractions)} early fractions).",
                  "Figure 9.3")
        claims.append(c)
        tests.append(_compare(acc, "mlp", v, method, claim="equal", margin=margin) if _has(acc, "mlp", v, method)
                     else None)
    return decide_family(
        list(zip(fractions, claims, tests)), f"early fractions of the {method} mask", missing="no runs", scale=scale,
        ours=lambda f, t: f"test acc {t['a']:.3f} (early) vs {t['b']:.3f} (final); margin ±{margin:g}",
        versus=lambda f: f"{method}_early_{f:g} − {method}")


def overlap_grows(early: pd.DataFrame, method: str, scale: str = "") -> Decided:
    """Claim 9-mlp-<method>-early-overlap-grows: the Jaccard overlap of the early mask with the final one rises
    with the fraction of training it was made at, a trend over seeds (:func:`lib.chapters.seed_tests.trend`:
    each seed's least-squares slope against the log of the fraction, the fractions being spaced about
    geometrically, then the interval of the slopes; claim "greater"). Masks made at the parent's last epoch
    are left out (for the magnitude mask they are the final mask itself, overlap 1 by construction). With the
    snapshot epochs known (columns ``epoch``, ``last_epoch``) the x is the fraction actually used, epoch /
    last epoch, once per epoch (fractions that round to one epoch are one mask)."""
    sub = early[early["method"] == method]
    keep = sub["fraction"] < 1
    if {"epoch", "last_epoch"} <= set(sub.columns):
        keep &= sub["epoch"] < sub["last_epoch"]
        sub = sub.assign(fraction=sub["epoch"] / sub["last_epoch"])
    left = sorted(set(sub.loc[~keep, "fraction"]))
    kept = sub[keep].drop_duplicates(["seed", "fraction"])
    fr = sorted(kept["fraction"].unique())
    c = Claim(f"9-mlp-{method}-early-overlap-grows", CHAPTER,
              f"[MLP] The later in training a {method} mask is made, the more it overlaps the final mask.",
              "Section 7.2 asks how soon magnitude pruning can stop.",
              "The overlap falls as the mask is made later: the 95 % interval of the seeds' slopes of overlap "
              "against log fraction lies wholly below 0.", "Figure 9.3")
    note = (f"left out: the mask{'s' if len(left) > 1 else ''} at {', '.join(f'{f:.0%}' for f in left)} of training "
            "(made at the parent's last epoch)") if left else ""
    if len(fr) < 2:
        return c.unmeasured("fewer than two early snapshot epochs before the last one", scale=scale, note=note)
    test = seed_tests.trend(kept, x="fraction", value="jaccard", claim="greater", log_x=True)
    lo, hi = (kept.loc[kept["fraction"] == f, "jaccard"].mean() for f in (fr[0], fr[-1]))
    ours = (f"overlap {lo:.3f} at {fr[0]:.0%} -> {hi:.3f} at {fr[-1]:.0%} of training; mean slope "
            f"{test['diff']:+.3f} per unit of log fraction")
    return c.decide(ours, test, scale=scale, note=note, versus=f"slope over {fr[0]:g}–{fr[-1]:g}")


def init_beats_random(acc: pd.DataFrame, family: str, method: str, scale: str = "") -> Decided:
    """Claim 9-<family>-<method>-beats-random: the child of the pruning-at-initialisation mask against the global
    random mask's child, paired by seed (claim "greater")."""
    c = Claim(f"9-{family}-{method}-beats-random", CHAPTER,
              f"[{FAMILIES[family]}] A {INIT_NAMES.get(method, method)} mask of the initial network gives a more "
              "accurate child than a random mask with the same number of weights.",
              "Not tested in the thesis (random pruning was its strongest baseline, section 7.2).",
              f"The random mask's child is the more accurate: the 95 % interval of {method} − random test accuracy "
              "over seeds lies wholly below 0.", "Figure 9.4")
    if not _has(acc, family, method, "random"):
        return c.unmeasured("no runs", scale=scale)
    test = _compare(acc, family, method, "random")
    return c.decide(f"test acc {method} {test['a']:.3f} vs random {test['b']:.3f}", test, scale=scale,
                    versus=f"{method} − random")


def at_floor_rows(layers: pd.DataFrame, floor: float, density: float) -> pd.DataFrame:
    """Per (family, method, seed): the fraction of prunable tensors kept at (or below) the floor, with a small
    tolerance for rounding (the smallest tensors keep whole weights). One value per seed: a seed's tensors
    are reduced before any test."""
    lim = floor + 0.25 * density * 0.1 if floor > 0 else 0.25 * density
    return (layers.assign(at_floor=layers["fraction_kept"] <= lim)
            .groupby(["family", "method", "seed"], as_index=False)["at_floor"].mean())


def diff_more_at_floor(layers: pd.DataFrame, family: str, floor: float, density: float, scale: str = "") -> Decided:
    """Claim 9-<family>-diff-more-layers-at-floor: the share of tensors the diff mask prunes to the floor against
    the magnitude mask's, one share per seed, paired by seed (claim "greater"; the interval cut to [-1, 1]).
    Made only for :data:`FLOOR_CLAIMS`: the ResNet's is chapter 6's ``6-global-diff-overprunes-layers``."""
    c = Claim(f"9-{family}-diff-more-layers-at-floor", CHAPTER,
              f"[{FAMILIES[family]}] The global diff mask prunes more layers down to the floor than the magnitude mask.",
              "ResNet's diff masks prune many early layers to the 2 % minimum (Fig. 6.3), a candidate reason why ViT "
              "responds to diff pruning and ResNet does not (section 7.2).",
              "The magnitude mask leaves the larger share of tensors at the floor: the 95 % interval of the diff − "
              "magnitude share over seeds lies wholly below 0.", "Figure 9.5")
    af = at_floor_rows(layers[layers["family"] == family], floor, density)
    if not len(af):
        return c.unmeasured("no masks", scale=scale)
    test, _ = seed_tests.paired_groups(af, "method", "diff", "magnitude", "at_floor", claim="greater",
                                    bounds=FRACTION_BOUNDS)
    return c.decide(f"share of tensors at the floor: diff {test['a']:.2f} vs magnitude {test['b']:.2f}", test,
                    scale=scale, versus="diff − magnitude")


def choice_in_group_matters(acc: pd.DataFrame, family: str, groups: Sequence[str], scale: str = "") -> list[Decided]:
    """Claims 9-<family>-diff-choice-in-<group>-matters, one per layer group: the child of the diff mask kept in
    place in that group (every other tensor shuffled) against the child of the fully shuffled diff mask, paired
    by seed (claim "greater"): does the diff ranking carry its advantage in that layer type? The section asks
    *which* type does, so each group's verdict is corrected by Holm over the groups (:func:`holm_over_candidates`)."""
    claims, tests = [], []
    for group in groups:
        v = f"diff_in_{group}"
        claims.append(Claim(
            f"9-{family}-diff-choice-in-{group}-matters", CHAPTER,
            f"[{FAMILIES[family]}] The diff mask's choice of weights within the {group} layers alone helps: keeping "
            f"them in place (every other layer shuffled) beats shuffling every layer.",
            "Section 7.2 asks why ViT responds to diff pruning and ResNet does not.",
            f"The fully shuffled diff mask's child is the more accurate: the 95 % interval of ({group} kept in place) "
            f"− (all shuffled) test accuracy over seeds lies wholly below 0, and stays decisive after Holm's "
            f"correction over the {len(groups)} layer groups.", "Figure 9.5"))
        tests.append(_compare(acc, family, v, "diff_shuffled") if _has(acc, family, v, "diff_shuffled") else None)
    return decide_family(
        list(zip(groups, claims, tests)), f"layer groups of the {FAMILIES[family]}",
        missing="not run for this architecture", scale=scale,
        ours=lambda g, t: f"test acc {t['a']:.3f} ({g} kept in place) vs {t['b']:.3f} (all shuffled)",
        versus=lambda g: f"diff_in_{g} − diff_shuffled")


def claims_of(acc: pd.DataFrame, early: pd.DataFrame, layers: pd.DataFrame, *,
              fractions: Sequence[float] | Mapping[str, Sequence[float]], floor: float, density: float,
              scale: str = "") -> list[Decided]:
    """Every claim of the chapter from plain frames (see each claim's function). ``fractions``: the early
    fractions whose children were trained, for both methods or per method."""
    per = fractions if isinstance(fractions, Mapping) else {m: fractions for m in BEST}
    out: list[Decided] = []
    for fam in FAMILIES:
        for method in BEST:
            out += [choice_within_layers(acc, fam, method, scale), fractions_beat_uniform(acc, fam, method, scale)]
    out += [best_beats_worst(acc, fam, method, scale) for fam, method in INVERSION_CLAIMS]
    for method in BEST:
        out += early_as_good(acc, method, list(per.get(method, ())), scale=scale)
        out.append(overlap_grows(early, method, scale))
    out += [init_beats_random(acc, fam, m, scale) for fam in FAMILIES for m in INIT]
    out += [diff_more_at_floor(layers, fam, floor, density, scale) for fam in FLOOR_CLAIMS]
    for fam in ("resnet", "vit"):
        groups = sorted({v[len("diff_in_"):] for v in acc.loc[acc["family"] == fam, "variant"] if v.startswith("diff_in_")})
        if groups:
            out += choice_in_group_matters(acc, fam, groups, scale)
    return out
