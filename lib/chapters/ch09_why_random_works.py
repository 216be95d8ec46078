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
them (:func:`lib.chapters.seed_tests.holm_over_candidates`); no claim picks a winner by accuracy. The equivalence
margin of the early-mask claims is a module constant fixed before any run. Questions chapter 6 already asks of the
same runs with the same statistic are left to it (:data:`lib.chapters.ch09_claims.ASKED_IN_CHAPTER_6`).

Here: parameters, setup, plan and results; the claims are in :mod:`lib.chapters.ch09_claims`, the figures and
tables the notebook shows in :mod:`lib.chapters.ch09_figures`.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import pandas as pd
from IPython.display import Markdown, display

from .. import masks, parallel, profiles
from ..config import TrainConfig
from ..experiments import CHILD_SEED_OFFSET, LARGE_METHODS, plan_prune_large, plan_prune_sweep, start_where_scored
from ..models import build_model
from ..plan import Plan, from_configs, merge, stage_configs
from ..runs import Run, load, mask_for
from . import params as check
from . import verdicts as toolkit
from .ch09_claims import BEST, CHAPTER, FAMILIES, INIT, claims_of
from .ch09_figures import (baselines_note, describe, figure_9_1, figure_9_2, figure_9_3, figure_9_4, figure_9_5,
                           provenance, table_9a, table_9b)
from .large import GROUPS, base_config
from .verdicts import Decided, Verdict


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
    prof = profiles.get(p.profile)
    seeds = check.resolve_seeds(p, prof, CHAPTER)
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
    last = run.final()
    return {"test_acc": last["test_acc"], "train_acc": last["train_acc"]}


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


def table_9c(s: Setup, r: Results) -> Any:
    """Shows Table 9.c's caption and returns the test behind each verdict (:func:`lib.chapters.verdicts.show_intervals`)."""
    display(Markdown(f"**Table 9.c.** The test behind each verdict, over seeds: the mean paired difference of the "
                     "two arms (for the overlap claims, the mean per-seed slope against the log fraction) with its "
                     "95 % interval (90 % for the equivalence claims), and the verdict of that test before any "
                     f"Holm correction ({provenance(s)})."))
    return toolkit.show_intervals(toolkit.intervals_frame(claims(s, r)))


#: The chapter's names; the notebook's figures and tables (``ch.figure_9_1`` ...) are :mod:`.ch09_figures`'s.
__all__ = ["BEST", "CHAPTER", "EARLY_FRACTIONS", "EARLY_TRAINED", "FAMILIES", "INIT", "Params", "Results", "Setup",
           "baselines_note", "claims", "describe", "early_children", "early_epoch", "early_rows", "figure_9_1",
           "figure_9_2", "figure_9_3", "figure_9_4", "figure_9_5", "init_child", "layer_rows", "overlap_rows",
           "parent_seed", "plan", "results", "scale_text", "setup", "table_9a", "table_9b", "table_9c", "verdicts"]
