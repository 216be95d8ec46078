"""Chapter 9: why random pruning works (thesis section 7.2): layer-wise shuffles, mask inversion, early masks,
pruning-at-initialisation baselines and the layer types a mask keeps.

It reuses the parents and children of chapters 5 (one MLP width of the prune sweep) and 6 (the ResNet and the
ViT, global ranking with the floor) and trains only what is new:

1. shuffled children: each best mask with its kept count per tensor unchanged and the positions drawn at random
   within the tensor (``MaskConfig.shuffle``; Frankle et al. 2021); against the unshuffled child (does the choice
   within layers matter?) and against the uniform random mask (the same fraction in every tensor, chapters 5
   and 6's per-layer random child: do the method's per-layer fractions beat uniform ones?);
2. mask inversion: best against worst children of chapter 6, with the overlap (Jaccard) of the masks;
3. early masks (MLP): the parent again with weight snapshots (``TrainConfig.snapshots``), masks from the network
   as it was after a fraction of its epochs (``MaskConfig.epoch``), their overlap with the final mask and
   children trained from some of them;
4. SNIP, GraSP and SynFlow masks of the parent's initial network (:mod:`lib.saliency`), children beside random;
   these children start from the very network their mask scored (the parent's seed and model,
   :func:`init_child`), the other children from the fresh child seed;
5. which layer types the diff and magnitude masks keep, ResNet against ViT (no training).

Each claim is a :class:`lib.chapters.verdicts.Claim` decided from plain frames over seeds (the seed is the
replicate: one value per seed and arm, a seed's tensors reduced first; the overlap's rise is a per-seed slope,
:func:`lib.chapters.seed_tests.trend`). Where the chapter asks which of several candidates works (how early a mask
may be made, which layer type carries the diff ranking) every candidate is tested and corrected by Holm over
them (:func:`holm_over_candidates`); no claim picks a winner by accuracy. The equivalence margin of the early-mask
claims is a module constant fixed before any run. Questions chapter 6 already asks of the same runs with the same
statistic are left to it (:data:`ASKED_IN_CHAPTER_6`).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from IPython.display import Markdown, display

from .. import masks, parallel, profiles, saliency
from ..config import TrainConfig
from ..experiments import CHILD_SEED_OFFSET, LARGE_METHODS, plan_prune_large, plan_prune_sweep, start_where_scored
from ..models import build_model
from ..plan import Plan, from_configs, merge, stage_configs
from ..runs import Run, load, mask_for
from . import figures, palette
from . import params as check
from . import seed_tests
from . import verdicts as toolkit
from .large import GROUPS, base_config
from .seed_tests import holm_over_candidates
from .verdicts import Claim, Decided, Verdict

CHAPTER = "09"
#: Architectures: family -> how the chapter names it.
FAMILIES = {"mlp": "MLP", "resnet": "ResNet", "vit": "ViT"}
#: The scored methods whose masks are shuffled, by the name each chapter uses for its best form.
BEST = {"magnitude": "magnitude_best", "diff": "coherence_best"}
WORST = {"magnitude": "magnitude_worst", "diff": "coherence_worst"}
#: Pruning-at-initialisation scorers (lib.masks.INIT_METHODS).
INIT = ("snip", "grasp", "synflow")
#: How the text names them.
INIT_NAMES = {"snip": "SNIP", "grasp": "GraSP", "synflow": "SynFlow"}
#: "An early mask is as good as the final one": test accuracies of their children within one percentage point,
#: about the smallest difference chapters 5 and 6 treat as a difference between methods.
EARLY_MARGIN = 0.01
#: Fractions of the parent's epochs at which early masks are made (You et al. 2020 look from a few per cent on).
EARLY_FRACTIONS = (0.05, 0.1, 0.25, 0.5, 1.0)
#: Of those, the fractions whose masks also get children (the others are compared by overlap only).
EARLY_TRAINED = (0.1, 0.25, 0.5)


@dataclass(frozen=True)
class Params:
    """The notebook's papermill parameters (same names and defaults). None: the profile's value."""

    profile: str = "cpu"
    seed: int = 0
    seeds: Any = None  # seeds of every claim (profile: seeds); `seed` is added when missing
    mlp_width: int | None = None  # child width of chapter 5's prune sweep used here (default: its second width)
    density: float = 0.1  # fraction of the prunable weights kept (chapters 5 and 6)
    floor: float = 0.02  # chapter 6's per-tensor floor of the global ranking
    early_fractions: Any = None  # fractions of the parent's epochs for early masks (default EARLY_FRACTIONS)
    early_trained: Any = None  # of those, the ones whose masks get children (default EARLY_TRAINED)
    restricted: Any = None  # architectures whose diff masks are also restricted to one layer type (default ["vit"])

    def __post_init__(self) -> None:
        check.profile(self.profile)
        check.integer(self.seed, "seed", minimum=0)
        check.integers(self.seeds, "seeds", minimum=0)
        check.integer(self.mlp_width, "mlp_width", minimum=1, optional=True)
        check.density(self.density)
        check.number(self.floor, "floor", low=0.0, high=self.density)
        check.numbers_list(self.early_fractions, "early_fractions", low=0.0, low_open=True)
        check.numbers_list(self.early_trained, "early_trained", low=0.0, low_open=True)
        check.choice_list(self.restricted, "restricted", ("resnet", "vit"))
        for name in ("early_fractions", "early_trained"):
            vals = getattr(self, name)
            if vals is not None and max(vals) > 1:
                raise check.ParameterError(f"{name} = {list(vals)}: fractions of the parent's epochs lie in (0, 1]")


@dataclass(frozen=True)
class Setup:
    """Chapter 9's parameters, profile, seeds and configs.

    children: (family, variant, seed) -> config. Variants: the best and worst forms reused from chapters 5/6
    (``magnitude``, ``diff``, ``magnitude_worst``, ``diff_worst``; MLP: best only), ``random`` (global),
    ``uniform`` (per-layer random), ``none`` (dense), ``<method>_shuffled``, the init scorers (trained from the
    parent's seed, :func:`init_child`), for the MLP ``<method>_early_<fraction>`` (:func:`early_children`), and
    for the ``restricted`` architectures ``diff_in_<group>`` (the diff mask kept in one layer group, every other
    tensor shuffled); the seed of the key is always the parent's. parents: (family, seed) -> the dense parent.
    snap_parents: seed -> the MLP parent with snapshots. epochs: fraction -> snapshot epoch."""

    params: Params
    profile: profiles.Profile
    seeds: tuple[int, ...]
    mlp_width: int
    fractions: tuple[float, ...]
    trained: tuple[float, ...]
    epochs: dict[float, int]
    parents: dict[tuple[str, int], TrainConfig]
    snap_parents: dict[int, TrainConfig]
    children: dict[tuple[str, str, int], TrainConfig]


def early_epoch(fraction: float, epochs: int) -> int:
    """The snapshot epoch of ``fraction`` of ``epochs``: rounded, at least 1."""
    return max(1, min(epochs, round(fraction * epochs)))


def parent_seed(c: TrainConfig, seeds: Sequence[int]) -> int:
    """The seed of the parent a planned child belongs to: its mask's parent's seed; for the dense "none" run
    (no mask), the seed among ``seeds`` it was derived from (``seed + CHILD_SEED_OFFSET``, or the seed
    itself for a run that keeps it). ValueError when it is none of them."""
    if c.mask is not None and c.mask.parent is not None:
        return c.mask.parent.seed
    for sd in (c.seed - CHILD_SEED_OFFSET, c.seed):
        if sd in seeds:
            return sd
    raise ValueError(f"run seed {c.seed} belongs to none of the seeds {list(seeds)}")


def init_child(random_child: TrainConfig, method: str) -> TrainConfig:
    """The child of a pruning-at-initialisation mask (``method`` in :data:`INIT`): the random child's config
    with the mask's method replaced, made to start from exactly the network its mask scored (the parent's
    seed and model, :func:`lib.experiments.start_where_scored`)."""
    if method not in INIT:
        raise ValueError(f"init_child: {method!r} is not a pruning-at-initialisation method {INIT}")
    m = random_child.mask
    if m is None or m.parent is None:
        raise ValueError("init_child needs a masked child with a parent")
    return start_where_scored(dataclasses.replace(random_child, mask=dataclasses.replace(m, method=method)))


def _mlp_children(prof: profiles.Profile, width: int, seeds: Sequence[int], density: float
                  ) -> tuple[dict, dict]:
    """Chapter 5's prune-sweep unit at child ``width``: parents by seed, and children by (variant, seed)."""
    base = profiles.mlp_config(prof, prof.base_width)
    out, parents = {}, {}
    for scope, names in (("global", {"magnitude": "magnitude", "diff": "diff", "random": "random"}),
                         ("layer", {"random": "uniform"})):
        parent_stage, child_stage = stage_configs(plan_prune_sweep(base, [width], ("diff", "magnitude", "random"),
                                                                   density=density, seeds=seeds, ratio=1.0 / density,
                                                                   scope=scope))
        for c in child_stage:
            if c.mask is None:
                out[("none", parent_seed(c, seeds))] = c
            elif c.mask.method in names:
                out[(names[c.mask.method], parent_seed(c, seeds))] = c
        for p in parent_stage:
            parents[p.seed] = p
    return parents, out


def _large_children(base: TrainConfig, seeds: Sequence[int], density: float, floor: float) -> tuple[dict, dict]:
    """Chapter 6's runs of one architecture: parents by seed, children by (variant, seed)."""
    names = {"magnitude_best": "magnitude", "coherence_best": "diff", "magnitude_worst": "magnitude_worst",
             "coherence_worst": "diff_worst", "random": "random", "none": "none"}
    out, parents = {}, {}
    for scope, fl in (("global", floor), ("layer", 0.0)):
        methods = tuple(names) if scope == "global" else ("random",)
        parent_stage, child_stage = stage_configs(plan_prune_large(base, methods, scope=scope, floor=fl, density=density,
                                                                   seeds=seeds))
        for c in child_stage:
            if c.mask is None:
                out[("none", parent_seed(c, seeds))] = c
                continue
            kind = next(k for k, v in LARGE_METHODS.items() if v == (c.mask.method, c.mask.invert) and k in names)
            out[(names[kind] if scope == "global" else "uniform", parent_seed(c, seeds))] = c
        for p in parent_stage:
            parents[p.seed] = p
    return parents, out


def setup(**params: Any) -> Setup:
    """Validate the parameters (errors name the parameter and its value) and resolve the chapter."""
    p = check.build(Params, params)
    prof = profiles.with_overrides(p.profile, seeds=p.seeds)
    seeds = check.seeds_with(p.seed, prof.seeds)
    widths = tuple(sorted(prof.prune_widths))
    width = p.mlp_width if p.mlp_width is not None else widths[min(1, len(widths) - 1)]
    if width not in widths:
        raise check.ParameterError(f"mlp_width = {width} is not one of the profile's prune widths {list(widths)}")
    fractions = tuple(sorted(p.early_fractions)) if p.early_fractions else EARLY_FRACTIONS
    trained = tuple(sorted(p.early_trained)) if p.early_trained else EARLY_TRAINED
    if not set(trained) <= set(fractions):
        raise check.ParameterError(f"early_trained = {list(trained)} must be among early_fractions {list(fractions)}")
    children: dict[tuple[str, str, int], TrainConfig] = {}
    parents: dict[tuple[str, int], TrainConfig] = {}
    mp, mc = _mlp_children(prof, width, seeds, p.density)
    fams = {"mlp": (mp, mc)}
    for fam in ("resnet", "vit"):
        fams[fam] = _large_children(base_config(prof, getattr(prof, "arch_cnn" if fam == "resnet" else "arch_vit")),
                                    seeds, p.density, p.floor)
    for fam, (ps, cs) in fams.items():
        parents.update({(fam, sd): c for sd, c in ps.items()})
        children.update({(fam, v, sd): c for (v, sd), c in cs.items()})
        for sd in seeds:
            for method in BEST:
                c = cs[(method, sd)]
                children[(fam, f"{method}_shuffled", sd)] = dataclasses.replace(
                    c, mask=dataclasses.replace(c.mask, shuffle=True))
            for m in INIT:
                children[(fam, m, sd)] = init_child(cs[("random", sd)], m)
    restricted = tuple(p.restricted) if p.restricted is not None else ("vit",)
    for fam in restricted:
        for sd in seeds:
            c = children[(fam, "diff", sd)]
            for group in GROUPS[fam]:
                children[(fam, f"diff_in_{group}", sd)] = dataclasses.replace(
                    c, mask=dataclasses.replace(c.mask, shuffle=True, shuffle_except=group))
    mlp_epochs = parents[("mlp", seeds[0])].epochs
    epochs = {f: early_epoch(f, mlp_epochs) for f in fractions}
    snap_parents = {sd: dataclasses.replace(parents[("mlp", sd)], snapshots=tuple(sorted(set(epochs.values()))))
                    for sd in seeds}
    for sd in seeds:
        for method in BEST:
            c = children[("mlp", method, sd)]
            for f in early_children(method, trained, epochs, mlp_epochs):
                children[("mlp", f"{method}_early_{f:g}", sd)] = dataclasses.replace(
                    c, mask=dataclasses.replace(c.mask, parent=snap_parents[sd], epoch=epochs[f]))
    return Setup(p, prof, seeds, width, fractions, trained, epochs, parents, snap_parents, children)


def early_children(method: str, trained: Sequence[float], epochs: Mapping[float, int], last: int) -> list[float]:
    """The early fractions of ``trained`` whose masks get children, one per snapshot epoch (fractions that round
    to an epoch already taken would repeat its run and its claim; the smallest such fraction names it): for the
    diff mask every epoch (its final mask is made at the parent's max-coherence epoch), for the magnitude mask
    those before the parent's ``last`` epoch (a magnitude mask of the last epoch is the final mask itself: its
    child would be the final child again, and "as good as the final mask" could not fail)."""
    out, seen = [], set()
    for f in sorted(trained):
        if epochs[f] in seen or (method == "magnitude" and epochs[f] >= last):
            continue
        seen.add(epochs[f])
        out.append(f)
    return out


def plan(s: Setup) -> Plan:
    """[parents (chapters 5 and 6's, and the MLP parents with snapshots)], [every child read or trained]."""
    return merge([from_configs([[*s.parents.values(), *s.snap_parents.values()], list(s.children.values())])])


# ------------------------------------------------------------------------------------------ results
@dataclass(frozen=True, eq=False)
class Results:
    """What the chapter draws and decides from.

    acc: one row per (family, variant, seed): test_acc, train_acc. overlap: Jaccard of mask pairs per (family,
    seed): pair, jaccard, random (the expected Jaccard of two random masks with those per-tensor counts).
    early: per (method, fraction, seed) the overlap of the early MLP mask with the final one. layers: kept
    fraction per (family, method, seed, tensor) with its layer group and size."""

    acc: pd.DataFrame
    overlap: pd.DataFrame
    early: pd.DataFrame
    layers: pd.DataFrame


def _final(run: Run) -> dict[str, float]:
    last = run.metrics.sort_values("epoch").iloc[-1]
    return {"test_acc": float(last["test_acc"]), "train_acc": float(last["train_acc"])}


def overlap_rows(s: Setup) -> pd.DataFrame:
    """Jaccard overlap of best and worst masks and of each with random, per family and seed (masks of
    chapters 5/6 from the mask cache)."""
    pairs = [("magnitude", "magnitude_worst"), ("diff", "diff_worst"), ("magnitude", "diff"), ("magnitude", "random"),
             ("diff", "random"), ("magnitude", "magnitude_shuffled"), ("diff", "diff_shuffled")]
    rows = []
    for fam in FAMILIES:
        for sd in s.seeds:
            for a, b in pairs:
                ka, kb = (fam, a, sd), (fam, b, sd)
                if ka not in s.children or kb not in s.children:
                    continue
                ma, mb = mask_for(s.children[ka].mask), mask_for(s.children[kb].mask)
                rows.append({"family": fam, "seed": sd, "pair": f"{a} / {b}", "jaccard": masks.jaccard(ma, mb),
                             "random": masks.expected_random_jaccard(ma)})
    return pd.DataFrame(rows)


def early_rows(s: Setup) -> pd.DataFrame:
    """Overlap of each early MLP mask with the final mask of the same method and seed (the chapter-5 mask): one
    row per (method, fraction, seed) with the snapshot epoch and the parent's last epoch."""
    rows = []
    for sd in s.seeds:
        parent = s.snap_parents[sd]
        for method in BEST:
            final_cfg = s.children[("mlp", method, sd)].mask
            final = mask_for(final_cfg)
            for f in s.fractions:
                early = mask_for(dataclasses.replace(final_cfg, parent=parent, epoch=s.epochs[f]))
                rows.append({"method": method, "fraction": f, "epoch": s.epochs[f], "last_epoch": parent.epochs,
                             "seed": sd, "jaccard": masks.jaccard(early, final),
                             "random": masks.expected_random_jaccard(final)})
    return pd.DataFrame(rows)


def layer_rows(s: Setup) -> pd.DataFrame:
    """Kept fraction of every prunable tensor of the diff and magnitude masks, with its layer group."""
    rows = []
    for fam in FAMILIES:
        model = build_model(s.parents[(fam, s.seeds[0])].model)
        for method in (*BEST, "random"):
            for sd in s.seeds:
                t = masks.layer_table(mask_for(s.children[(fam, method, sd)].mask), model)
                rows.append(t.assign(family=fam, method=method, seed=sd))
    return pd.concat(rows, ignore_index=True)


def results(s: Setup) -> Results:
    """Train :func:`plan`'s missing runs (the one executor, :func:`lib.parallel.train`; nothing when the build
    has), then read them (:func:`lib.runs.load`): accuracies, overlaps and layer fractions."""
    parallel.train(plan(s))
    acc = pd.DataFrame([{"family": fam, "variant": v, "seed": sd, **_final(load(c, chapter=CHAPTER))}
                        for (fam, v, sd), c in s.children.items()])
    return Results(acc, overlap_rows(s), early_rows(s), layer_rows(s))


# ---------------------------------------------------------------------------------------- claims
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
    measured = [t for t in tests if t is not None]
    adjusted, notes = (holm_over_candidates(measured, f"early fractions of the {method} mask") if measured
                       else ([], []))
    it = iter(zip(adjusted, notes))
    out = []
    for f, c, t in zip(fractions, claims, tests):
        if t is None:
            out.append(c.unmeasured("no runs", scale=scale))
            continue
        t, note = next(it)
        ours = f"test acc {t['a']:.3f} (early) vs {t['b']:.3f} (final); margin ±{margin:g}"
        out.append(c.decide(ours, t, scale=scale, note=note, versus=f"{method}_early_{f:g} − {method}"))
    return out


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
    measured = [t for t in tests if t is not None]
    adjusted, notes = (holm_over_candidates(measured, f"layer groups of the {FAMILIES[family]}") if measured
                       else ([], []))
    it = iter(zip(adjusted, notes))
    out = []
    for group, c, t in zip(groups, claims, tests):
        if t is None:
            out.append(c.unmeasured("not run for this architecture", scale=scale))
            continue
        t, note = next(it)
        ours = f"test acc {t['a']:.3f} ({group} kept in place) vs {t['b']:.3f} (all shuffled)"
        out.append(c.decide(ours, t, scale=scale, note=note, versus=f"diff_in_{group} − diff_shuffled"))
    return out


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


def scale_text(s: Setup, r: Results) -> str:
    """What the chapter measured at this profile: the dense networks' test accuracy."""
    dense = r.acc[r.acc["variant"] == "none"].groupby("family")["test_acc"].mean()
    acc = ", ".join(f"{FAMILIES[f]} {dense[f]:.2f}" for f in FAMILIES if f in dense)
    return f"profile {s.profile.name}: dense test acc {acc}; {s.params.density:g} of the weights kept"


def claims(s: Setup, r: Results) -> list[Decided]:
    """The chapter's claims and their per-group intervals (pure: nothing is stored or shown)."""
    fractions = {m: early_children(m, s.trained, s.epochs, s.snap_parents[s.seeds[0]].epochs) for m in BEST}
    return claims_of(r.acc, r.early, r.layers, fractions=fractions, floor=s.params.floor, density=s.params.density,
                     scale=scale_text(s, r))


def verdicts(s: Setup, r: Results) -> list[Verdict]:
    """The chapter's verdicts (pure: nothing is stored or shown)."""
    return toolkit.verdicts_of(claims(s, r))


# ---------------------------------------------------------------------------------------- shown output
_COLORS = palette.METHOD_COLORS


def provenance(s: Setup) -> str:
    """Caption provenance."""
    p = s.profile
    c = s.parents[("mlp", s.seeds[0])]
    return (f"profile `{p.name}`: MLP child width {s.mlp_width} of a {c.model.width}-wide parent, {c.epochs} epochs on "
            f"{c.data.n_train:,d} images; {p.arch_cnn} and {p.arch_vit}, {p.prune_epochs} epochs on "
            f"{p.prune_n_train or 50000:,d} images; {s.params.density:g} kept; seeds {', '.join(map(str, s.seeds))}")


def describe(s: Setup) -> Markdown:
    """One paragraph: what the chapter reuses and what it trains."""
    new = [c for (f, v, sd), c in s.children.items() if "shuffled" in v or v in INIT or "early" in v]
    early = sorted({float(v.rsplit("_", 1)[1]) for (f, v, sd) in s.children if "_early_" in v})
    return Markdown(
        f"Profile **{s.profile.name}**, seeds {', '.join(map(str, s.seeds))}. Reused: chapter 5's prune-sweep unit "
        f"at child width {s.mlp_width} and chapter 6's {s.profile.arch_cnn} and {s.profile.arch_vit} (parents, best, "
        f"worst, random and dense children). New here: {len(new)} children (shuffled masks, SNIP, GraSP, SynFlow, "
        f"early MLP masks at {', '.join(f'{f:.0%}' for f in early)} of training) and {len(s.snap_parents)} MLP "
        f"parents retrained with weight snapshots after epochs {', '.join(map(str, sorted(set(s.epochs.values()))))}.")


def _bars(ax: plt.Axes, acc: pd.DataFrame, fam: str, variants: Sequence[str]) -> None:
    sub = acc[acc["family"] == fam]
    shown = [v for v in variants if (sub["variant"] == v).any()]
    for i, v in enumerate(shown):
        vals = sub[sub["variant"] == v]["test_acc"]
        ax.bar(i, vals.mean(), color=_COLORS.get(v, "0.5"), alpha=0.85)
        ax.plot([i] * len(vals), vals, "k.", ms=4)
    ax.set_xticks(range(len(shown)), shown, rotation=35, ha="right", fontsize=8)
    lo = sub[sub["variant"].isin(shown)]["test_acc"].min()
    ax.set_ylim(max(0.0, lo - 0.05), None)
    ax.set_ylabel("test accuracy")
    ax.set_title(FAMILIES[fam])


def figure_9_1(s: Setup, r: Results) -> None:
    """Fig. 9.1: unshuffled, shuffled and uniform random children per architecture (shown)."""
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.9))
    for ax, fam in zip(axes, FAMILIES):
        _bars(ax, r.acc, fam, ["magnitude", "magnitude_shuffled", "diff", "diff_shuffled", "uniform", "random", "none"])
    figures.show(fig, "Figure 9.1", "Layer-wise shuffle: each mask's child against the child of the same mask with its "
                 "kept weights moved to random positions within every tensor, and against random masks (uniform: the "
                 "same fraction per tensor); bars: mean over seeds, dots: seeds", provenance(s))


def figure_9_2(s: Setup, r: Results) -> None:
    """Fig. 9.2: best against worst children (ResNet and ViT) (shown)."""
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.9))
    for ax, fam in zip(axes, ("resnet", "vit")):
        _bars(ax, r.acc, fam, ["magnitude", "magnitude_worst", "diff", "diff_worst", "random", "none"])
    figures.show(fig, "Figure 9.2", "Mask inversion: children of the best (highest scores) and worst (lowest scores) "
                 "masks of each method; bars: mean over seeds, dots: seeds", provenance(s))


def table_9a(s: Setup, r: Results) -> Any:
    """Table 9.a: Jaccard overlap of mask pairs (mean over seeds, and each seed) beside two random masks'."""
    display(Markdown("**Table 9.a.** Overlap (Jaccard: kept in both / kept in either) of pairs of masks, mean over "
                     "seeds with each seed beside it, and the overlap two random masks with the same per-tensor counts "
                     f"would have ({provenance(s)})."))
    o = r.overlap
    out = o.groupby(["family", "pair"], sort=False)[["jaccard", "random"]].mean()
    per = o.pivot_table(index=["family", "pair"], columns="seed", values="jaccard", sort=False)
    per.columns = [f"seed {c}" for c in per.columns]
    out = out.join(per).reset_index()
    out["family"] = out["family"].map(FAMILIES)
    return out.style.hide(axis="index").format(precision=3)


def figure_9_3(s: Setup, r: Results) -> None:
    """Fig. 9.3: early MLP masks: overlap with the final mask and their children's accuracy (shown)."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    for method in BEST:
        e = r.early[r.early["method"] == method]
        for _, g in e.groupby("seed"):
            axes[0].plot(g["fraction"], g["jaccard"], color=_COLORS[method], lw=0.6, alpha=0.5)
        m = e.groupby("fraction")["jaccard"].mean()
        axes[0].plot(m.index, m.values, "o-", color=_COLORS[method], label=method)
        sub = r.acc[r.acc["family"] == "mlp"]
        xs, ys = [], []
        for f in s.trained:
            vals = sub[sub["variant"] == f"{method}_early_{f:g}"]["test_acc"]
            xs.append(f)
            ys.append(vals.mean())
            axes[1].plot([f] * len(vals), vals, ".", color=_COLORS[method], alpha=0.5)
        final = sub[sub["variant"] == method]["test_acc"]
        xs.append(1.0)
        ys.append(final.mean())
        axes[1].plot(xs, ys, "o-", color=_COLORS[method], label=f"{method} (1.0 = the final mask)")
    axes[0].plot(r.early.groupby("fraction")["random"].mean(), "k:", label="two random masks")
    axes[0].set_ylabel("overlap with the final mask (Jaccard)")
    axes[1].set_ylabel("child test accuracy")
    for ax in axes:
        ax.set_xlabel("fraction of the parent's epochs when the mask is made")
        ax.legend(fontsize=7)
    figures.show(fig, "Figure 9.3", "Early masks of the MLP parent: overlap with the mask made after training (left; thin "
                 "lines: seeds) and the test accuracy of children trained from them (right; dots: seeds)", provenance(s))


def figure_9_4(s: Setup, r: Results) -> None:
    """Fig. 9.4: pruning-at-initialisation masks beside trained-parent masks and random (shown)."""
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.9))
    for ax, fam in zip(axes, FAMILIES):
        _bars(ax, r.acc, fam, ["random", "uniform", "snip", "grasp", "synflow", "magnitude", "diff", "none"])
    figures.show(fig, "Figure 9.4", "SNIP, GraSP and SynFlow masks of the initial network against random masks and the "
                 "masks of the trained parent, at the same density; bars: mean over seeds, dots: seeds", provenance(s))


def figure_9_5(s: Setup, r: Results) -> None:
    """Fig. 9.5: kept fraction per layer group of the diff and magnitude masks, ResNet and ViT (shown)."""
    df = r.layers[r.layers["family"].isin(["resnet", "vit"])]
    restricted = [f for f in ("resnet", "vit") if r.acc.loc[r.acc["family"] == f, "variant"].str.startswith("diff_in_").any()]
    fig, axes = plt.subplots(1, 2 + len(restricted), figsize=(5.5 * (2 + len(restricted)), 3.9))
    for ax, fam in zip(axes[2:], restricted):
        variants = ["diff", "diff_shuffled", *sorted(v for v in r.acc["variant"].unique() if v.startswith("diff_in_"))]
        _bars(ax, r.acc, fam, variants)
        ax.set_title(f"{FAMILIES[fam]}: diff kept in one layer type")
    for ax, fam in zip(axes, ("resnet", "vit")):
        sub = df[df["family"] == fam]
        g = (sub.groupby(["method", "seed", "group"])[["kept", "size"]].sum().reset_index()
             .assign(frac=lambda d: d["kept"] / d["size"]))
        groups = list(dict.fromkeys(sub["group"]))
        methods = [m for m in (*BEST, "random") if (g["method"] == m).any()]
        for j, m in enumerate(methods):
            mm = g[g["method"] == m].groupby("group")["frac"].mean().reindex(groups)
            ax.bar(np.arange(len(groups)) + (j - 1) * 0.27, mm.values, 0.27, color=_COLORS[m], label=m)
        ax.axhline(s.params.density, color="k", ls=":", lw=1)
        ax.axhline(s.params.floor, color="r", ls=":", lw=1)
        ax.set_xticks(range(len(groups)), groups)
        ax.set_ylabel("fraction of the group's weights kept")
        ax.set_title(FAMILIES[fam])
    axes[0].legend(fontsize=7)
    figures.show(fig, "Figure 9.5", f"Which layer types the global masks keep: kept fraction per layer group (black "
                 f"dotted: the overall {s.params.density:g}; red dotted: the floor {s.params.floor:g}), mean over seeds; "
                 "right: children of the diff mask kept in place in one layer type with every other tensor shuffled, "
                 "beside the unshuffled and the fully shuffled diff mask (dots: seeds)",
                 provenance(s))


def notes_text(vs: Sequence[Verdict]) -> str:
    """The verdicts' notes (a mask left out of a trend, a verdict Holm's correction changed or confirmed) as one
    Markdown paragraph, "" when there are none."""
    parts = [f"`{v.claim_id}`: {v.note}" for v in vs if v.note]
    return ("Notes: " + "; ".join(parts) + ".") if parts else ""


def table_9b(s: Setup, vs: list[Verdict]) -> Any:
    """Shows Table 9.b's caption (with the verdicts' notes) and returns the verdict table."""
    display(Markdown(f"**Table 9.b.** Verdicts ({provenance(s)}). {notes_text(vs)}".rstrip()))
    return toolkit.table(vs, by="both")


def table_9c(s: Setup, r: Results) -> Any:
    """Shows Table 9.c's caption and returns the test behind each verdict (:func:`lib.chapters.verdicts.show_intervals`)."""
    display(Markdown(f"**Table 9.c.** The test behind each verdict, over seeds: the mean paired difference of the "
                     "two arms (for the overlap claims, the mean per-seed slope against the log fraction) with its "
                     "95 % interval (90 % for the equivalence claims), and the verdict of that test before any "
                     f"Holm correction ({provenance(s)})."))
    return toolkit.show_intervals(toolkit.intervals_frame(claims(s, r)))


def _cell(text: str) -> str:
    """Text for one cell of a Markdown table: one line, pipes escaped."""
    return " ".join(str(text).split()).replace("|", "\\|")


def baselines_note() -> Markdown:
    """Table 9.d: for each pruning-at-initialisation baseline, what it shares with its authors' definition and
    what differs, as :mod:`lib.saliency` states it (``AUTHORS_DEFINITION``: method -> {"shares", "differs"});
    a sentence saying the comparison is not available when :mod:`lib.saliency` gives none."""
    defs = getattr(saliency, "AUTHORS_DEFINITION", None) or {}
    if not defs:
        return Markdown("**Table 9.d.** The comparison of our SNIP, GraSP and SynFlow with their authors' "
                        "definitions is not available: `lib.saliency` states none.")
    order = [m for m in INIT if m in defs] + sorted(m for m in defs if m not in INIT)
    rows = [f"| {INIT_NAMES.get(m, m)} | {_cell(defs[m].get('shares', ''))} | {_cell(defs[m].get('differs', ''))} |"
            for m in order]
    return Markdown("**Table 9.d.** The pruning-at-initialisation baselines against their authors' definitions "
                    "(as `lib.saliency` states them).\n\n"
                    "| baseline | what it shares with the authors' definition | what differs |\n|---|---|---|\n"
                    + "\n".join(rows))
