"""Chapter 6: pruning the ResNet and the ViT (thesis Tables 6.1, 6.2, 6.5, 6.6; Figs. 6.3, 6.4).

The notebook calls, in order: :func:`setup`, :func:`results` (trains or loads exactly :func:`plan`),
:func:`settings_table`, :func:`weight_budget_table`, :func:`table_6_1`, :func:`table_6_2`,
:func:`figure_6_3` and :func:`floor_table_6_3`, :func:`figure_6_4` and :func:`floor_table_6_4`,
:func:`table_6_5`, :func:`table_6_6`, then :func:`claims` (pure), :func:`headline`, :func:`items` and
:func:`caveats`.
The analysis (result tables, floors, the layer figure) lives in :mod:`lib.chapters.large`; the claims, each a
:class:`lib.chapters.verdicts.Claim` written before any run (with the result that would make it not held and the
conclusion it bears on), and their margins, fixed in named constants, in :mod:`lib.chapters.ch06_claims`. Here is
one function deciding each claim (:data:`RULES`), over seeds: one comparison (:func:`compare`), each of several
groups (``paired_groups(..., every=True)``), or every candidate with Holm's correction (:func:`holm_family`)
where a claim names a winner; the tests and the text of a verdict, with the dense networks' accuracy against
the thesis's (:func:`scale_text`), are in :mod:`lib.chapters.ch06_compare`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Optional, Sequence

import IPython.display
import numpy as np
import pandas as pd
from IPython.display import Markdown

from .. import parallel, profiles
from ..config import TrainConfig
from ..plan import Plan, merge
from ..models import ARCHS
from . import figures
from . import params as check
from .ch06_claims import (DIFF_BEATS_RANDOM, EARLY_CAPTION, EVEN_MARGIN, FLOOR_TEXT, INVERSION_MARGIN,
                          INVERSION_SMALL, INVERSION_SMALL_VIT, LAYER_FIXES, MAGNITUDE_BEATS_DIFF, MANY_AT_FLOOR,
                          NEAR_MARGIN, NEAR_PARITY, NO_LONGER_INVERTED, ONLY_VIT, OVERPRUNES, PARITY_MARGIN,
                          RANDOM_STRONG, RESNET_BEST_ABOVE_WORST, RESNET_MAGNITUDE_WINS, RESNET_RANDOM_BEST,
                          RESNET_WORST_SECOND, RG, RL, VG, VIT_DIFF_BEST_LAYER, VIT_DIFF_MATCHES, VIT_DIFF_WINS,
                          VIT_EVEN, VIT_MAGNITUDE_WINS, VIT_NO_PARITY_LAYER, VIT_RANDOM_BEATS_MAGNITUDE, VL, Item,
                          Setting)
from .ch06_compare import (FAMILY, UNIT, Tables, compare, family_groups, family_test, have, holm_note, long_frame,
                           masks_run, ms, on_tables, run_names, scale_text, shown, values)
from .large import (METHODS, PRUNED, SCOPES, base_config, fig_layers, floor_table, format_results, layer_stats,
                    layer_values, plan_all, results_table, run_all, table_title, tie_columns, tie_rows, weight_budget)
from .seed_tests import HELD, all_of, any_of, holm_family, paired, paired_groups
from .verdicts import Claim, Decided, Verdict, intervals_frame, show_intervals, verdicts_of

CHAPTER = "06"


@dataclass(frozen=True)
class Params:
    """The notebook's papermill parameters (same names and defaults). None: the profile's value."""

    profile: str = "cpu"
    seed: int = 0  # always among the seeds (lib.chapters.params.resolve_seeds); children use seed + 1000
    arch_cnn: str | None = None  # ResNet of the profile (cpu: resnet_small; paper: resnet50)
    arch_vit: str | None = None  # ViT of the profile (cpu: vit_tiny; paper: vit)
    density: float = 0.1  # fraction of the prunable weights KEPT
    floor: float = 0.02  # global ranking: every pruned tensor keeps at least this fraction
    epochs: int | None = None  # epochs of parents and children (profile: prune_epochs)
    seeds: Any = None  # list of seeds (profile: seeds); `seed` is added when it is not among them

    def __post_init__(self) -> None:
        check.profile(self.profile)
        check.integer(self.seed, "seed", minimum=0)
        check.choice(self.arch_cnn, "arch_cnn", [a for a in ARCHS if a.startswith("resnet")], optional=True)
        check.choice(self.arch_vit, "arch_vit", [a for a in ARCHS if a.startswith("vit")], optional=True)
        check.density(self.density)
        check.number(self.floor, "floor", low=0.0, high=self.density)
        check.integer(self.epochs, "epochs", minimum=1, optional=True)
        check.integers(self.seeds, "seeds", minimum=0)


@dataclass(frozen=True)
class Setup:
    """Chapter 6's parameters, resolved profile, seeds, architectures and dense parent configs
    (family "resnet"/"vit" -> config; each seed replaces the config's seed)."""

    params: Params
    profile: profiles.Profile
    seeds: tuple[int, ...]
    archs: dict[str, str]
    bases: dict[str, TrainConfig]


@dataclass(frozen=True)
class Results:
    """The chapter's runs, read back: ``tables[(family, scope)] = (results, layers)``; ``ties``: per global
    mask and seed, the weights its seeded tie-breaking chose (:func:`lib.chapters.large.tie_rows`; None
    when not read)."""

    tables: Tables
    ties: Optional[pd.DataFrame] = None

    def summary(self, fam: str, scope: str) -> pd.DataFrame:
        """:func:`lib.chapters.large.results_table` of one setting (ours beside the thesis's)."""
        return results_table(self.tables[(fam, scope)][0], fam, scope)


def setup(**params: Any) -> Setup:
    """Validate the parameters (errors name the parameter and its value) and resolve the chapter."""
    p = check.build(Params, params)
    prof = profiles.with_overrides(p.profile, arch_cnn=p.arch_cnn, arch_vit=p.arch_vit, prune_epochs=p.epochs)
    seeds = check.resolve_seeds(p, prof, CHAPTER)
    archs = {"resnet": prof.arch_cnn, "vit": prof.arch_vit}
    return Setup(p, prof, seeds, archs, {fam: base_config(prof, arch) for fam, arch in archs.items()})


def plan_parts(s: Setup) -> dict[tuple[str, str], Plan]:
    """The chapter's plan in its parts, each read on its own: per (family, scope) of :data:`SCOPES`,
    :func:`lib.experiments.plan_prune_large` of the family's base (:func:`lib.chapters.large.plan_all`)."""
    return plan_all(s.bases, seeds=s.seeds, density=s.params.density, floor=s.params.floor, methods=METHODS,
                    scopes=SCOPES)


def plan(s: Setup) -> Plan:
    """[parents], [children and dense "none" runs] of both architectures and both scopes: the parts of
    :func:`plan_parts` merged (parents and dense runs are shared by the scopes, so each is listed once)."""
    return merge(plan_parts(s).values())


def results(s: Setup) -> Results:
    """Train :func:`plan`'s missing runs (the one executor, :func:`lib.parallel.train`; nothing when the build
    has), then read each part of :func:`plan_parts` (:func:`lib.runs.load`): the result and layer tables."""
    parts = plan_parts(s)
    parallel.train(merge(parts.values()))  # = plan(s)
    tables = run_all(parts, chapter=CHAPTER)
    ties = tie_rows(parts) if tables else None
    return Results(tables, ties)


# ------------------------------------------------------------------------------------ tables, figures
def provenance(s: Setup, fam: str) -> str:
    """The caption's provenance of ``fam``'s runs (profile, model, images, epochs, seeds)."""
    return figures.Provenance.of(s.profile.name, s.bases[fam], seeds=s.seeds).text()


def _left(df: pd.DataFrame) -> "pd.io.formats.style.Styler":
    return df.style.hide(axis="index")


def settings_table(s: Setup) -> "pd.io.formats.style.Styler":
    """The chapter's settings: profile, models and optimisers, epochs, data, density, floor, seeds."""
    p, b = s.profile, s.bases
    return _left(pd.DataFrame({
        "setting": ["profile", "ResNet (optimiser)", "ViT (optimiser)", "epochs (parents and children)",
                    "training images", "final test accuracy on", "batch size", "fraction of prunable weights kept", "global floor",
                    "images for gradient statistics (parents)", "seeds (parents; children + 1000)"],
        "value": [p.name, f"{p.arch_cnn} (SGD, lr {b['resnet'].optim.lr:g})", f"{p.arch_vit} (Adam, lr {b['vit'].optim.lr:g})",
                  p.prune_epochs, f"{b['resnet'].data.n_train or 50000:,d}", profiles.final_test_text(b['resnet']),
                  p.batch_size, f"{s.params.density:g}", f"{s.params.floor:g}", p.stats_max_samples or "all",
                  list(s.seeds)],
    }))


def weight_budget_table(s: Setup) -> "pd.io.formats.style.Styler":
    """Per architecture: weights, prunable tensors and weights, how many a mask keeps, and the share of a
    child's nonzero weights that sit in tensors never pruned (:func:`lib.chapters.large.weight_budget`)."""
    rows = [weight_budget(a, s.params.density) for a in s.archs.values()]
    return _left(pd.DataFrame(rows)).format({"share of child weights never pruned": "{:.1%}"})


def _result_table(s: Setup, r: Results, fam: str, scope: str) -> "pd.io.formats.style.Styler":
    """Display the caption of one of the thesis's result tables and return ours beside it."""
    IPython.display.display(Markdown(f"**{table_title(fam, scope)}.** Final train and test accuracy per mask, "
                                     f"ours (mean ± sd over seeds) beside the thesis's, in the thesis's row order; "
                                     f"rank 1 = best test accuracy. ({provenance(s, fam)}.)"))
    return _left(format_results(r.summary(fam, scope)))


def table_6_1(s: Setup, r: Results) -> "pd.io.formats.style.Styler":
    """Table 6.1: the ResNet, global ranking with a floor (caption displayed, table returned)."""
    return _result_table(s, r, "resnet", "global")


def table_6_2(s: Setup, r: Results) -> "pd.io.formats.style.Styler":
    """Table 6.2: the ViT, global ranking with a floor (caption displayed, table returned)."""
    return _result_table(s, r, "vit", "global")


def table_6_5(s: Setup, r: Results) -> "pd.io.formats.style.Styler":
    """Table 6.5: the ResNet, every layer pruned to the same density (caption displayed, table returned)."""
    return _result_table(s, r, "resnet", "layer")


def table_6_6(s: Setup, r: Results) -> "pd.io.formats.style.Styler":
    """Table 6.6: the ViT, every layer pruned to the same density (caption displayed, table returned)."""
    return _result_table(s, r, "vit", "layer")


def _layer_figure(s: Setup, r: Results, fam: str, number: str, groups: str) -> None:
    arch, floor, density = s.archs[fam], s.params.floor, s.params.density
    figures.style()
    fig = fig_layers(r.tables[(fam, "global")][1], fam, floor=floor, density=density,
                     title=f"{arch}: fraction kept per tensor, global ranking, {density:.0%} kept overall")
    figures.show(fig, number, f"Fraction of the weights of each prunable tensor of {arch} kept by each global mask "
                 f"(mean over seeds), against depth; marker by layer group ({groups}); dashed: the {floor:.0%} "
                 f"floor, dotted: the overall density", provenance(s, fam), data=r.tables[(fam, "global")][1])


def figure_6_3(s: Setup, r: Results) -> None:
    """Figure 6.3: fraction of each ResNet tensor a global mask keeps, shown with its caption."""
    _layer_figure(s, r, "resnet", "Figure 6.3", "convolutions and shortcut convolutions")


def figure_6_4(s: Setup, r: Results) -> None:
    """Figure 6.4: the same for the ViT, shown with its caption."""
    _layer_figure(s, r, "vit", "Figure 6.4", "qkv, feed-forward hidden, block output")


def _floor(s: Setup, r: Results, fam: str) -> "pd.io.formats.style.Styler":
    layers = r.tables[(fam, "global")][1]
    table = floor_table(layers, s.params.floor, s.params.density)
    if r.ties is not None and len(r.ties):
        table = table.merge(tie_columns(r.ties, fam), on="method", how="left")
    return _left(table).format(precision=3)


def floor_table_6_3(s: Setup, r: Results) -> "pd.io.formats.style.Styler":
    """Under Figure 6.3: per ResNet global mask, tensors at the floor, thin tensors, extremes, early share, and
    (when read) the weights chosen by tie-breaking at the cut."""
    return _floor(s, r, "resnet")


def floor_table_6_4(s: Setup, r: Results) -> "pd.io.formats.style.Styler":
    """Under Figure 6.4: the same for the ViT."""
    return _floor(s, r, "vit")


# ------------------------------------------------------------------------------------------ verdicts
# Each rule decides one claim of lib.chapters.ch06_claims over the seeds, by one of the three designs of
# lib.chapters.ch06_compare: one comparison (_pair), each of several groups (every=True), or every
# candidate with Holm's correction (_winner, and the claims of section 7.3).


# ---- the designs
def _pair(c: Claim, t: Tables, a: Item, b: Item, *, claim: str = "greater", margin: float | None = None,
          threshold: float = 0.0, more: str = "") -> Decided:
    """``c`` decided by one comparison (:func:`compare`) of ``a`` with ``b``."""
    test = compare(t, a, b, claim=claim, margin=margin, threshold=threshold)
    la, lb = run_names(a, b)
    ours = f"{la} {ms(values(t, *a))}, {lb} {ms(values(t, *b))}{more}"
    return c.decide(ours, shown(test), scale=scale_text(t, *dict.fromkeys((a[0], b[0]))), versus=test["label"])


def _winner(c: Claim, t: Tables, setting: Setting, winner: str, rivals: Sequence[str] = PRUNED) -> Decided:
    """``c``: ``winner`` beats each of ``rivals`` (those run in ``setting``). Every rival is tested and Holm's
    correction over the rivals decides each comparison (:func:`holm_family`); held when it beats every rival,
    not held when some rival beats it (:func:`all_of`)."""
    rivals = [m for m in masks_run(t, setting, rivals) if m != winner]
    if not rivals:
        return c.unmeasured(f"no rival of {winner} was run", scale=scale_text(t, setting))
    leaves = holm_family({f"{winner} - {r}": compare(t, (setting, winner), (setting, r)) for r in rivals})
    beaten = sum(n["verdict"] == HELD for n in leaves.values())
    ours = (f"{winner} {ms(values(t, setting, winner))}; " +
            ", ".join(f"{r} {ms(values(t, setting, r))}" for r in rivals) +
            f"; rivals beaten after Holm's correction: {beaten} of {len(rivals)}")
    return c.decide(ours, family_test(all_of(list(leaves.values())), leaves), scale=scale_text(t, setting),
                    groups=family_groups(leaves), note=holm_note(leaves))


# ---- Table 6.1 (ResNet, global ranking)
def magnitude_best_wins_global(t: Tables, p: Params) -> Optional[Decided]:
    """Section 6.1's text: magnitude_best > each other pruned mask (ResNet, global; Holm over the rivals)."""
    return _winner(RESNET_MAGNITUDE_WINS, t, RG, "magnitude_best") if have(t, RG) else None


def random_best_global(t: Tables, p: Params) -> Optional[Decided]:
    """Table 6.1's order: random > each other pruned mask (ResNet, global; Holm over the rivals)."""
    return _winner(RESNET_RANDOM_BEST, t, RG, "random") if have(t, RG) else None


def coherence_worst_second_global(t: Tables, p: Params) -> Optional[Decided]:
    """Section 6.1's text: after magnitude pruning comes coherence_worst, i.e. coherence_worst > each of
    random, magnitude_worst and coherence_best (ResNet, global; Holm over the three)."""
    if not have(t, RG):
        return None
    return _winner(RESNET_WORST_SECOND, t, RG, "coherence_worst", ["random", "magnitude_worst", "coherence_best"])


def coherence_best_above_worst_global(t: Tables, p: Params) -> Optional[Decided]:
    """Table 6.1's order: coherence_best > coherence_worst (ResNet, global). Chapter 9 refers to this claim."""
    if not have(t, RG):
        return None
    return _pair(RESNET_BEST_ABOVE_WORST, t, (RG, "coherence_best"), (RG, "coherence_worst"))


def magnitude_beats_diff_global(t: Tables, p: Params) -> Optional[Decided]:
    """ResNet, global: magnitude_best > coherence_best (section 7.1, citing Table 6.1)."""
    return _pair(MAGNITUDE_BEATS_DIFF[RG], t, (RG, "magnitude_best"), (RG, "coherence_best")) if have(t, RG) else None


def magnitude_beats_diff_layer(t: Tables, p: Params) -> Optional[Decided]:
    """ResNet, per layer: magnitude_best > coherence_best (Table 6.5)."""
    return _pair(MAGNITUDE_BEATS_DIFF[RL], t, (RL, "magnitude_best"), (RL, "coherence_best")) if have(t, RL) else None


def diff_beats_random_global(t: Tables, p: Params) -> Optional[Decided]:
    """Section 7.1 (C8): coherence_best > random on the ResNet, global ranking (Table 6.1)."""
    return _pair(DIFF_BEATS_RANDOM[RG], t, (RG, "coherence_best"), (RG, "random")) if have(t, RG) else None


def diff_beats_random_layer(t: Tables, p: Params) -> Optional[Decided]:
    """Section 7.1 (C8): coherence_best > random on the ResNet, per-layer ranking (Table 6.5)."""
    return _pair(DIFF_BEATS_RANDOM[RL], t, (RL, "coherence_best"), (RL, "random")) if have(t, RL) else None


# ---- Tables 6.1 and 6.5 together, and Table 6.5 (ResNet, per layer)
def layer_fixes_resnet_diff(t: Tables, p: Params) -> Optional[Decided]:
    """ResNet: coherence_best per layer > coherence_best global (children of the same parent seed)."""
    if not have(t, RG, RL):
        return None
    return _pair(LAYER_FIXES, t, (RL, "coherence_best"), (RG, "coherence_best"))


def no_longer_inverted_layer(t: Tables, p: Params) -> Optional[Decided]:
    """Section 6.2: per layer, coherence_best > coherence_worst. (Until issue 22 this claim pooled the magnitude
    masks' best-against-worst too; the thesis's sentence names the diff masks only, and magnitude's gap is the
    subject of :func:`mask_inversion_gap_small`.)"""
    if not have(t, RL):
        return None
    return _pair(NO_LONGER_INVERTED, t, (RL, "coherence_best"), (RL, "coherence_worst"))


def random_strong(t: Tables, p: Params) -> Optional[Decided]:
    """Section 6.2: random per layer nearly matches magnitude_best global on the ResNet: random (per layer)
    is no more than :data:`NEAR_MARGIN` below magnitude_best (global), one-sided."""
    if not have(t, RG, RL):
        return None
    return _pair(RANDOM_STRONG, t, (RL, "random"), (RG, "magnitude_best"), threshold=-NEAR_MARGIN,
                 more=f" (held when the interval lies above -{NEAR_MARGIN:g})")


# ---- section 7.2: the mask inversion
def _inversion(c: Claim, t: Tables, settings: Sequence[Setting]) -> Decided:
    """``c``: |magnitude_best - magnitude_worst| < :data:`INVERSION_MARGIN` (two one-sided tests) in each of
    ``settings``, each over the seeds on its own (``every=True`` when there are several)."""
    parts = []
    for k in settings:
        df = long_frame({m: values(t, k, m) for m in ("magnitude_best", "magnitude_worst")})
        parts.append(df.assign(scope=f"{FAMILY[k[0]]} {k[1]}"))
    test, groups = paired_groups(pd.concat(parts, ignore_index=True), "item", "magnitude_best", "magnitude_worst",
                                 "value", by=("scope",), claim="equal", margin=INVERSION_MARGIN,
                                 every=len(settings) > 1, bounds=UNIT)
    ours = "gaps magnitude_best - magnitude_worst: " + "; ".join(
        f"{r['scope']} {r['diff']:+.3f}" for _, r in groups.iterrows())
    return on_tables(c, settings).decide(ours, test, scale=scale_text(t, *settings), groups=groups)


def mask_inversion_gap_small(t: Tables, p: Params) -> Optional[Decided]:
    """Section 7.2, where its tables agree (ResNet both scopes, ViT per layer): |magnitude_best -
    magnitude_worst| < :data:`INVERSION_MARGIN` in every setting (equivalence, each setting on its own)."""
    settings = [k for k in (RG, RL, VL) if k in t]
    return _inversion(INVERSION_SMALL, t, settings) if settings else None


def mask_inversion_gap_small_vit_global(t: Tables, p: Params) -> Optional[Decided]:
    """Section 7.2's text also cites Table 6.2, whose gap is 49 points: the same equivalence on the ViT, global."""
    return _inversion(INVERSION_SMALL_VIT, t, [VG]) if have(t, VG) else None


# ---- Figures 6.3 and 6.4: the layers a global mask keeps
def _layer(t: Tables, setting: Setting, p: Params, method: str, column: str) -> pd.Series:
    return layer_values(t[setting][1], p.floor, p.density, method, column)


def _each_mask(t: Tables, p: Params, masks: Sequence[str], column: str,
               reference: str | float) -> tuple[pd.DataFrame, dict[str, pd.Series]]:
    """``column`` of :func:`lib.chapters.large.layer_stats` (ResNet, global) of each of ``masks`` against
    ``reference`` (a mask, whose value of the same seed is each mask's partner, or a constant): the long frame
    (item "mask" / "reference", seed, value, method) for ``paired_groups(..., by=("method",))``, and the
    per-seed values of the masks and of a reference mask."""
    own = {m: _layer(t, RG, p, m, column) for m in masks}
    if isinstance(reference, str):
        own[reference] = _layer(t, RG, p, reference, column)
    ref = {m: own[reference] if isinstance(reference, str) else pd.Series(float(reference), index=own[m].index)
           for m in masks}
    frame = pd.concat([long_frame({"mask": own[m], "reference": ref[m]}).assign(method=m) for m in masks],
                      ignore_index=True)
    return frame, own


def global_diff_overprunes_layers(t: Tables, p: Params) -> Optional[Decided]:
    """ResNet, global: share of pruned tensors at the floor, coherence_best > magnitude_best. Chapter 9 refers
    to this claim."""
    if not have(t, RG) or p.floor <= 0:
        return None
    a, b = _layer(t, RG, p, "coherence_best", "at_floor"), _layer(t, RG, p, "magnitude_best", "at_floor")
    test, _ = paired_groups(long_frame({"coherence_best": a, "magnitude_best": b}), "item", "coherence_best",
                            "magnitude_best", "value", bounds=UNIT)
    return OVERPRUNES.decide(
        f"share of pruned tensors at the {p.floor:.0%} floor: coherence_best {ms(a)}, magnitude_best {ms(b)}",
        test, scale=scale_text(t, RG), versus="coherence_best - magnitude_best")


def floor_masks_text(t: Tables, p: Params) -> Optional[Decided]:
    """Section 6.2's text: coherence_worst and magnitude_best each leave at least :data:`MANY_AT_FLOOR` of their
    pruned tensors at the floor (one-sided, each mask on its own over the seeds; ``every=True``). Until issue 22
    the reference was the random mask, which leaves no tensor at the floor by construction, so the claim could
    not come out "not held"."""
    if not have(t, RG) or p.floor <= 0:
        return None
    masks = ("coherence_worst", "magnitude_best")
    frame, own = _each_mask(t, p, masks, "at_floor", MANY_AT_FLOOR)
    test, groups = paired_groups(frame, "item", "mask", "reference", "value", by=("method",), every=True,
                                 bounds=(-MANY_AT_FLOOR, 1 - MANY_AT_FLOOR))
    rnd = _layer(t, RG, p, "random", "at_floor")
    ours = (f"share of pruned tensors at the {p.floor:.0%} floor: " + ", ".join(f"{m} {ms(own[m])}" for m in masks) +
            f" (random {ms(rnd)}); the difference shown is the share minus {MANY_AT_FLOOR:g}")
    return FLOOR_TEXT.decide(ours, test, scale=scale_text(t, RG), groups=groups)


def early_layers_caption(t: Tables, p: Params) -> Optional[Decided]:
    """Caption of Fig. 6.3: coherence_best and magnitude_worst each keep less of the early tensors (first half
    by depth) than the random mask of the same seed (each mask on its own over the seeds; ``every=True``)."""
    if not have(t, RG):
        return None
    masks = ("coherence_best", "magnitude_worst")
    frame, own = _each_mask(t, p, masks, "early_kept", "random")
    test, groups = paired_groups(frame, "item", "mask", "reference", "value", by=("method",), claim="less",
                                 every=True, bounds=UNIT)
    ours = ("fraction kept of the weights in the first half of the tensors: " +
            ", ".join(f"{m} {ms(own[m])}" for m in masks) + f", random {ms(own['random'])}")
    return EARLY_CAPTION.decide(ours, test, scale=scale_text(t, RG), groups=groups)


def vit_global_even_layers(t: Tables, p: Params) -> Optional[Decided]:
    """ViT, global: per seed, the number of (mask, tensor) pairs at the floor is 0 within :data:`EVEN_MARGIN`
    (two one-sided tests over the seeds; a count cannot be negative, so the interval is cut at 0)."""
    if not have(t, VG) or p.floor <= 0:
        return None
    st = layer_stats(t[VG][1], p.floor, p.density)
    st = st[st["method"].isin(PRUNED)]
    counts = st.groupby("seed")["n_at_floor"].sum().astype(float).sort_index()
    most = float(st.groupby("seed")["tensors"].sum().max())
    worst = st.groupby("method")["n_at_floor"].mean().idxmax()
    test = paired(counts, np.zeros(len(counts)), claim="equal", margin=EVEN_MARGIN, bounds=(0.0, most))
    ours = (f"tensors at the {p.floor:.0%} floor over all masks, per seed: {[int(x) for x in counts]} (most: "
            f"{worst}); smallest fraction kept {st['min_kept'].min():.3f}")
    return VIT_EVEN.decide(ours, test, scale=scale_text(t, VG), versus="(mask, tensor) pairs at the floor")


# ---- Table 6.2 (ViT, global ranking)
def vit_diff_wins_global(t: Tables, p: Params) -> Optional[Decided]:
    """Section 6.1's text: coherence_best > each of magnitude_best, magnitude_worst and random (ViT, global;
    Holm over the three)."""
    if not have(t, VG):
        return None
    return _winner(VIT_DIFF_WINS, t, VG, "coherence_best", ["magnitude_best", "magnitude_worst", "random"])


def vit_diff_matches_dense_global(t: Tables, p: Params) -> Optional[Decided]:
    """Section 6.1's text: coherence_best within :data:`PARITY_MARGIN` of the dense ViT (two one-sided tests)."""
    if not have(t, VG):
        return None
    return _pair(VIT_DIFF_MATCHES, t, (VG, "coherence_best"), (VG, "none"), claim="equal", margin=PARITY_MARGIN)


def vit_magnitude_best_wins_global(t: Tables, p: Params) -> Optional[Decided]:
    """Table 6.2's order: magnitude_best > each other pruned mask (ViT, global; Holm over the rivals). A claim
    contrary to conclusion C8 (``bears="against"``)."""
    return _winner(VIT_MAGNITUDE_WINS, t, VG, "magnitude_best") if have(t, VG) else None


def vit_random_beats_magnitude_global(t: Tables, p: Params) -> Optional[Decided]:
    """Section 6.1's text: random > magnitude_best (ViT, global)."""
    if not have(t, VG):
        return None
    return _pair(VIT_RANDOM_BEATS_MAGNITUDE, t, (VG, "random"), (VG, "magnitude_best"))


# ---- Table 6.6 (ViT, per layer)
def vit_diff_best_layer(t: Tables, p: Params) -> Optional[Decided]:
    """ViT, per layer: coherence_best > each other pruned mask (Holm over the rivals)."""
    return _winner(VIT_DIFF_BEST_LAYER, t, VL, "coherence_best") if have(t, VL) else None


def vit_no_parity_layer(t: Tables, p: Params) -> Optional[Decided]:
    """Section 6.2: per layer the ViT's diff mask stays more than :data:`PARITY_MARGIN` below dense (one-sided)."""
    if not have(t, VL):
        return None
    return _pair(VIT_NO_PARITY_LAYER, t, (VL, "coherence_best"), (VL, "none"), claim="less", threshold=-PARITY_MARGIN,
                 more=f" (held when the interval lies below -{PARITY_MARGIN:g})")


# ---- section 7.3
def _against_dense(t: Tables, setting: Setting, **kw: Any) -> dict[str, dict[str, Any]]:
    """label "<family> <mask> - none" -> :func:`compare` of each pruned mask run in ``setting`` with the dense run."""
    return {f"{FAMILY[setting[0]]} {m} - none": compare(t, (setting, m), (setting, "none"), **kw)
            for m in masks_run(t, setting)}


def pruned_near_parity(t: Tables, p: Params) -> Optional[Decided]:
    """Section 7.3: for each architecture some pruned mask (global ranking) is within :data:`NEAR_MARGIN` of
    dense. Every mask of each architecture is tested (two one-sided tests), Holm's correction over all of
    them decides each; held when each architecture has a mask held, not held when every mask of one
    architecture is not held."""
    settings = [k for k in (RG, VG) if k in t]
    if not settings:
        return None
    tests = {k: _against_dense(t, k, claim="equal", margin=NEAR_MARGIN) for k in settings}
    if not all(tests.values()):
        return NEAR_PARITY.unmeasured("no pruned mask was run", scale=scale_text(t, *settings))
    leaves = holm_family({lab: x for part in tests.values() for lab, x in part.items()})
    root = all_of([any_of([leaves[lab] for lab in tests[k]]) for k in settings])
    ours = "; ".join(f"{FAMILY[k[0]]}: dense {ms(values(t, k, 'none'))}, " +
                     ", ".join(f"{m} {ms(values(t, k, m))}" for m in masks_run(t, k)) +
                     f" (within the margin after Holm: {sum(leaves[lab]['verdict'] == HELD for lab in tests[k])})"
                     for k in settings)
    return on_tables(NEAR_PARITY, settings).decide(ours, family_test(root, leaves), scale=scale_text(t, *settings),
                                             groups=family_groups(leaves), note=holm_note(leaves))


def only_vit_competitive(t: Tables, p: Params) -> Optional[Decided]:
    """Section 7.3: some pruned ViT is no more than :data:`PARITY_MARGIN` below dense, and every pruned ResNet
    is more than that below (one-sided against -0.01). Every mask is tested, Holm's correction over all ten
    comparisons decides each; held when a ViT mask and every ResNet mask are held."""
    if not have(t, RG, VG):
        return None
    vit = _against_dense(t, VG, claim="greater", threshold=-PARITY_MARGIN)
    res = _against_dense(t, RG, claim="less", threshold=-PARITY_MARGIN)
    if not (vit and res):
        return ONLY_VIT.unmeasured("no pruned mask was run", scale=scale_text(t, RG, VG))
    leaves = holm_family({**vit, **res})
    root = all_of([any_of([leaves[k] for k in vit]), all_of([leaves[k] for k in res])])
    ours = "; ".join(f"{FAMILY[k[0]]}: dense {ms(values(t, k, 'none'))}, " +
                     ", ".join(f"{m} {ms(values(t, k, m))}" for m in masks_run(t, k)) for k in (VG, RG))
    return ONLY_VIT.decide(ours + f" (held when a ViT interval lies above -{PARITY_MARGIN:g} and every ResNet "
                           f"interval below it)", family_test(root, leaves), scale=scale_text(t, RG, VG),
                           groups=family_groups(leaves), note=holm_note(leaves))


#: The claims of chapter 6 (and of sections 7.1-7.3 that rest on it), in display order.
RULES: tuple[Callable[[Tables, Params], Optional[Decided]], ...] = (
    magnitude_best_wins_global, random_best_global, coherence_worst_second_global, coherence_best_above_worst_global,
    magnitude_beats_diff_global, magnitude_beats_diff_layer, diff_beats_random_global, diff_beats_random_layer,
    layer_fixes_resnet_diff, no_longer_inverted_layer, random_strong,
    vit_diff_wins_global, vit_diff_matches_dense_global, vit_magnitude_best_wins_global,
    vit_random_beats_magnitude_global, vit_diff_best_layer, vit_no_parity_layer,
    mask_inversion_gap_small, mask_inversion_gap_small_vit_global,
    global_diff_overprunes_layers, floor_masks_text, early_layers_caption, vit_global_even_layers,
    pruned_near_parity, only_vit_competitive,
)


def claims(s: Setup, r: Results) -> list[Decided]:
    """Chapter 6's claims decided from ``r.tables`` (pure: nothing stored or shown), each with its per-group
    intervals. Claims whose runs are missing are not returned."""
    return [d for d in (rule(r.tables, s.params) for rule in RULES) if d is not None]


def verdicts(s: Setup, r: Results) -> list[Verdict]:
    """The verdicts of :func:`claims`."""
    return verdicts_of(claims(s, r))


def items(s: Setup, decided: Sequence[Decided]) -> "pd.io.formats.style.Styler":
    """The intervals behind the claims decided over several settings, masks or comparisons, one row per
    (claim, group) with the group's own verdict (after Holm's correction for the claims that test every
    candidate): :func:`lib.chapters.verdicts.intervals_frame` shown by :func:`lib.chapters.verdicts.show_intervals`."""
    return show_intervals(intervals_frame([d for d in decided if len(d.groups) > 1]))


def caveats(s: Setup) -> "Markdown":
    """The chapter's caveats, with this profile's models, images and epochs against the thesis's (generated,
    so the text never disagrees with the runs)."""
    p, b = s.profile, s.bases["resnet"]
    scale = (f"At profile `{p.name}` the models are {p.arch_cnn} and {p.arch_vit}, trained on {b.data.n_train or 50000:,d} "
             f"CIFAR-10 images for {b.epochs} epochs" if p.name != "paper" else
             f"At profile `paper` the models are {p.arch_cnn} and {p.arch_vit} on all of CIFAR-10 for {b.epochs} epochs")
    return Markdown("\n".join([
        f"* {scale}, against ResNet50 and the thesis's ViT on all 50,000 CIFAR-10 images for 300 epochs. A mask that "
        "starves a layer matters more in a network with few channels, and the ranking of masks may change with scale; "
        "the verdicts describe the profile they were computed at.",
        "* The thesis's tables come from one run per mask (no spread is given), so a difference of a few tenths of a "
        "percent between its rows is within what a second seed could change.",
        "* In the small models a larger share of the child's nonzero weights sits in tensors that are never pruned "
        "(see the weight table at the top), so a \"10 %\" child is less sparse overall than in the thesis."]))


def headline(s: Setup, vs: list[Verdict]) -> str:
    """Markdown line over the verdict table: profile, seeds and the count of each verdict."""
    counts = pd.Series([v.verdict for v in vs], dtype=object).value_counts()
    return (f"**Chapter 6 verdicts** (profile `{s.profile.name}`, seeds {list(s.seeds)}; "
            + ", ".join(f"{n} {k}" for k, n in counts.items()) + ").")
