"""Chapter 6: pruning the ResNet and the ViT (thesis Tables 6.1, 6.2, 6.5, 6.6; Figs. 6.3, 6.4).

The notebook calls, in order: :func:`setup`, :func:`results` (trains or loads exactly :func:`plan`),
:func:`settings_table`, :func:`weight_budget_table`, :func:`table_6_1`, :func:`table_6_2`,
:func:`figure_6_3` and :func:`floor_table_6_3`, :func:`figure_6_4` and :func:`floor_table_6_4`,
:func:`table_6_5`, :func:`table_6_6`, then :func:`claims` (pure), :func:`headline`, :func:`items` and
:func:`caveats`.
The analysis (result tables, floors, the layer figure) lives in :mod:`lib.chapters.large`; the claims
are here, each a :class:`lib.chapters.verdicts.Claim` written before any run (with the result that would
make it not held and the conclusion it bears on) and one function deciding it (:data:`RULES`), over
seeds: one comparison (:func:`compare`), each of several groups (``paired_groups(..., every=True)``), or
every candidate with Holm's correction (:func:`holm_family`) where a claim names a winner. Margins are
fixed in named constants, and each verdict carries the dense networks' accuracy against the thesis's
(:func:`scale_text`).
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Callable, Mapping, Optional, Sequence

import numpy as np
import pandas as pd
from IPython.display import Markdown

from .. import parallel, profiles
from ..config import TrainConfig
from ..plan import Plan, merge
from ..models import ARCHS
from . import figures
from . import params as check
from .large import (METHODS, PRUNED, SCOPES, base_config, fig_layers, floor_table, format_results, layer_stats,
                    layer_values, mean_sd, per_seed, plan_all, results_table, run_all, table_title, tie_columns,
                    tie_rows, weight_budget)
from .seed_tests import (GROUP_STATS, HELD, NOT_HELD, Node, all_of, any_of, combined_key, holm_family, paired,
                         paired_groups)
from .thesis import PRUNE_TABLES, TABLE_NUMBERS
from .verdicts import Claim, Decided, Verdict, intervals_frame, show_intervals, verdicts_of

CHAPTER = "06"
#: ``{(family, scope): (results, layers)}``: :func:`lib.experiments.prune_large`'s two frames per setting.
Tables = Mapping[tuple[str, str], tuple[pd.DataFrame, pd.DataFrame]]


@dataclass(frozen=True)
class Params:
    """The notebook's papermill parameters (same names and defaults). None: the profile's value."""

    profile: str = "cpu"
    seed: int = 0  # first seed; children use seed + 1000 (lib.experiments.CHILD_SEED_OFFSET)
    arch_cnn: str | None = None  # ResNet of the profile (cpu: resnet_small; paper: resnet50)
    arch_vit: str | None = None  # ViT of the profile (cpu: vit_tiny; paper: vit)
    density: float = 0.1  # fraction of the prunable weights KEPT
    floor: float = 0.02  # global ranking: every pruned tensor keeps at least this fraction
    epochs: int | None = None  # epochs of parents and children (profile: prune_epochs)
    seeds: Any = None  # list of seeds; None: as many as the profile's seeds, starting at `seed`

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
    seeds = tuple(p.seeds) if p.seeds is not None else tuple(p.seed + i for i in range(len(prof.seeds)))
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
                    "training / test images", "batch size", "fraction of prunable weights kept", "global floor",
                    "images for gradient statistics (parents)", "seeds (parents; children + 1000)"],
        "value": [p.name, f"{p.arch_cnn} (SGD, lr {b['resnet'].optim.lr:g})", f"{p.arch_vit} (Adam, lr {b['vit'].optim.lr:g})",
                  p.prune_epochs, f"{b['resnet'].data.n_train or 50000:,d} / {b['resnet'].data.n_test or 10000:,d}",
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
    from IPython.display import Markdown, display

    display(Markdown(f"**{table_title(fam, scope)}.** Final train and test accuracy per mask, ours "
                     f"(mean ± sd over seeds) beside the thesis's, in the thesis's row order; rank 1 = best test "
                     f"accuracy. ({provenance(s, fam)}.)"))
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
                 f"floor, dotted: the overall density", provenance(s, fam))


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
# The seed is the replicate (lib.chapters.seed_tests). A child shares its parent's seed and data order with the
# other children and with the dense ``none`` run of that seed, so every run gives one value per seed and every
# comparison is a paired test over the seeds (n = seeds), made by :func:`lib.chapters.seed_tests.paired_groups`
# on a long frame (a seed whose run gave a non-finite value is left out and counted). Three designs:
#
# * one comparison of two runs (:func:`compare`): a mask against another mask, against the dense run, or the
#   same mask in two scopes; against 0, or against a threshold fixed with the claim ("no more than three
#   points below" is a - b > -0.03);
# * a claim about each of several settings or masks ("each", "both", "in every setting"):
#   ``paired_groups(..., every=True)``, each group judged over the seeds on its own;
# * a claim that names a winner, or that some or every mask does something ("the best pruned network", "some
#   pruned ViT", "every pruned ResNet"): every candidate is tested, Holm's correction over the claim's
#   comparisons decides each of them (:func:`holm_family`), and the claim's verdict is the logical combination
#   of those decisions (:func:`all_of`, :func:`any_of`). No mask is chosen by its mean on the seeds it is then
#   tested on (issue 22, item 10: we test every candidate rather than choose on some seeds and test on the
#   others, which would leave one or two seeds to test with three).
#
# Scopes whose effects the thesis's tables give with different sizes or signs are separate claims. Margins are
# fixed here, before any run; a claim of a match is the two one-sided tests (its 90 % interval inside the
# margin). Differences of two accuracies or two shares are cut to [-1, 1], the range they can take.

#: "Matches", "parity", "competitive with dense": within one percentage point of test accuracy, the
#: smallest difference the thesis's own tables treat as a real gap between rows (its 6.2 text calls a 1.8-point
#: shortfall "unable to achieve parity"). A match is held when the 90 % interval of the paired difference lies
#: inside (-0.01, 0.01) (two one-sided tests); "competitive" is one-sided (above -0.01).
PARITY_MARGIN = 0.01
#: "Nearly matched", "within a few percentage points": three points, the smallest number "a few" names.
NEAR_MARGIN = 0.03
#: "Rather small" gap between a mask and its inversion (section 7.2): two points, fixed when the claim was
#: first written (the gaps the thesis calls small are 1.2 points or less).
INVERSION_MARGIN = 0.02
#: "No tensor at the floor": the mean over seeds of the number of (mask, tensor) pairs at the floor is zero
#: within half a tensor (two one-sided tests: its 90 % interval inside (-0.5, 0.5), cut at 0 since a count is
#: never negative). A seed's count is a whole number, and half a tensor lies midway between none at the floor
#: and one: held means nearer none than one tensor per seed.
EVEN_MARGIN = 0.5
#: "Many of the layers" at the floor (section 6.2's text, no counts given): at least one pruned tensor in ten
#: (6 or more of ResNet50's 53 pruned tensors, 2 or more of resnet_small's 11). Fixed before any run: the
#: claim it replaces (more tensors at the floor than the random mask, which in practice leaves none there:
#: every tensor first keeps its floor, then the rest of the budget falls on its weights at random) could not
#: come out "not held".
MANY_AT_FLOOR = 0.10
#: The range a difference of two accuracies or of two shares of tensors can take.
UNIT = (-1.0, 1.0)

Setting = tuple[str, str]
#: One run per seed: (setting, mask).
Item = tuple[Setting, str]
RG, RL, VG, VL = ("resnet", "global"), ("resnet", "layer"), ("vit", "global"), ("vit", "layer")
FAMILY = {"resnet": "ResNet", "vit": "ViT"}


def _have(t: Tables, *settings: Setting) -> bool:
    return all(k in t for k in settings)


def values(t: Tables, setting: Setting, method: str, column: str = "test_acc") -> pd.Series:
    """``column`` of ``method``'s runs in ``setting``, indexed by parent seed (:func:`lib.chapters.large.per_seed`)."""
    return per_seed(t[setting][0], method, column)


def _masks(t: Tables, setting: Setting, masks: Sequence[str] = PRUNED) -> list[str]:
    """The masks among ``masks`` that were run in ``setting``, in the order given."""
    run = set(t[setting][0]["method"])
    return [m for m in masks if m in run]


def _long(parts: Mapping[str, pd.Series]) -> pd.DataFrame:
    """Per-seed series as one long frame with columns item, seed, value."""
    return pd.concat([x.rename("value").rename_axis("seed").reset_index().assign(item=name)
                      for name, x in parts.items()], ignore_index=True)[["item", "seed", "value"]]


def _names(a: Item, b: Item) -> tuple[str, str]:
    """How two compared runs are named: the mask alone within one setting, with its scope (and architecture
    when they differ) across settings."""
    if a[0] == b[0]:
        return a[1], b[1]
    if a[0][0] == b[0][0]:
        return f"{a[1]} ({a[0][1]})", f"{b[1]} ({b[0][1]})"
    return f"{a[1]} ({FAMILY[a[0][0]]} {a[0][1]})", f"{b[1]} ({FAMILY[b[0][0]]} {b[0][1]})"


def compare(t: Tables, a: Item, b: Item, *, claim: str = "greater", margin: float | None = None,
            threshold: float = 0.0) -> dict[str, Any]:
    """The paired test over seeds of ``a``'s test accuracy against ``b``'s plus ``threshold`` (runs of the same
    parent seed paired): :func:`lib.chapters.seed_tests.paired_groups` of a - (b + threshold), with ``claim``
    and ``margin`` as there and the interval cut to the range a difference of accuracies can take. The
    result keeps ``threshold`` and ``label`` ("a - b"); :func:`shown` turns its numbers into those of a - b."""
    la, lb = _names(a, b)
    df = _long({la: values(t, *a), lb: values(t, *b)})
    plain, _ = paired_groups(df, "item", la, lb, "value", claim=claim, margin=margin, bounds=UNIT)
    out = {**plain, "threshold": threshold, "label": f"{la} - {lb}"}
    if not threshold:
        return out
    df.loc[df["item"] == lb, "value"] += threshold
    test, _ = paired_groups(df, "item", la, lb, "value", claim=claim, margin=margin,
                            bounds=(UNIT[0] - threshold, UNIT[1] - threshold))
    return {**test, "threshold": threshold, "label": out["label"], "shown": {k: plain[k] for k in SHOWN}}


#: The numbers of a :func:`compare` result a reader sees as those of a - b.
SHOWN = ("a", "b", "diff", "ci_low", "ci_high", "clipped")


def shown(test: Mapping[str, Any]) -> dict[str, Any]:
    """A :func:`compare` result as the reader sees it: means, difference and interval of a - b (computed from
    the unshifted values); the verdict, p and seeds needed are those of the test against the threshold."""
    out = {k: v for k, v in test.items() if k != "shown"}
    return {**out, **test.get("shown", {})}


# ---- Holm's correction over the comparisons of one claim
def family_test(root: Node, leaves: Mapping[str, Node]) -> dict[str, Any]:
    """The test record of a claim decided by :func:`holm_family` and :func:`all_of` / :func:`any_of`: the
    deciding comparison's numbers (:func:`shown`) with the claim's verdict, its Holm-adjusted p, the seeds
    more would need, the rule, the comparison that decided it, how the comparisons fell, the values left out
    in any comparison, and a key over every comparison's data."""
    words = [n["verdict"] for n in leaves.values()]
    lost = [(k, n["test"]) for k, n in leaves.items() if n["test"].get("dropped")]
    return {**shown(root["test"]), "verdict": root["verdict"], "p": root["p"], "needed_for": root["needed_for"],
            "seeds_needed": root["seeds_needed"], "rule": f"Holm over {len(leaves)} comparisons",
            "decided_by": root["label"], "comparisons": len(leaves), "groups": len(leaves),
            "held_after_holm": words.count(HELD),
            "not_held_after_holm": words.count(NOT_HELD),
            "dropped": max((x["dropped"] for _, x in lost), default=0),
            "dropped_why": "; ".join(f"{k}: {x['dropped_why']}" for k, x in lost),
            "key": combined_key(n["test"]["key"] for n in leaves.values())}


def family_groups(leaves: Mapping[str, Node]) -> pd.DataFrame:
    """One row per comparison of a Holm family: its label (``versus``), seeds, means, difference and 95 %
    interval (:func:`shown`), and its verdict after Holm's correction."""
    rows = [{"versus": k, **{c: shown(n["test"])[c] for c in GROUP_STATS}, "verdict": n["verdict"]}
            for k, n in leaves.items()]
    return pd.DataFrame(rows, columns=["versus", *GROUP_STATS])


def _holm_note(leaves: Mapping[str, Node]) -> str:
    return (f"Each of the {len(leaves)} comparisons is decided with Holm's correction over all of them; the "
            "interval shown is the deciding comparison's own 95 % interval.")


# ---- text helpers
def scale_text(t: Tables, *settings: Setting) -> str:
    """How close to the thesis's regime: per architecture, our dense ``none`` test accuracy (seed mean)
    against the thesis's in each table named, e.g. "ResNet dense test acc 0.27 (thesis 0.90, Table 6.1)"."""
    parts = []
    for fam in dict.fromkeys(f for f, _ in settings):
        mine = [k for k in settings if k[0] == fam and k in t]
        if not mine:
            continue
        res = t[mine[0]][0]
        ours = f"{values(t, mine[0], 'none').mean():.2f}" if "none" in set(res["method"]) else "not run"
        thesis = ", ".join(f"{PRUNE_TABLES[k]['none'][1]:.2f}" + (f" in Table {TABLE_NUMBERS[k]}" if len(mine) > 1 else "")
                           for k in mine)
        tables = "" if len(mine) > 1 else f", Table {TABLE_NUMBERS[mine[0]]}"
        parts.append(f"{FAMILY[fam]} dense test acc {ours} (thesis {thesis}{tables})")
    return "; ".join(parts)


def _thesis(setting: Setting, *methods: str) -> str:
    """'Table 6.1: random 0.9133, magnitude_best 0.9091' (the thesis's test accuracies)."""
    tab = PRUNE_TABLES[setting]
    return f"Table {TABLE_NUMBERS[setting]}: " + ", ".join(f"{m} {tab[m][1]:.4f}" for m in methods)


def _tables(settings: Sequence[Setting]) -> str:
    """'Table 6.1' or 'Tables 6.1, 6.5'."""
    return ("Table " if len(settings) == 1 else "Tables ") + ", ".join(TABLE_NUMBERS[k] for k in settings)


def _ms(x: pd.Series) -> str:
    return mean_sd(list(x))


def _on(c: Claim, settings: Sequence[Setting]) -> Claim:
    """``c`` with its figure naming only the tables of ``settings`` (those that were run)."""
    return replace(c, figure=_tables(settings))


# ---- the designs
def _pair(c: Claim, t: Tables, a: Item, b: Item, *, claim: str = "greater", margin: float | None = None,
          threshold: float = 0.0, more: str = "") -> Decided:
    """``c`` decided by one comparison (:func:`compare`) of ``a`` with ``b``."""
    test = compare(t, a, b, claim=claim, margin=margin, threshold=threshold)
    la, lb = _names(a, b)
    ours = f"{la} {_ms(values(t, *a))}, {lb} {_ms(values(t, *b))}{more}"
    return c.decide(ours, shown(test), scale=scale_text(t, *dict.fromkeys((a[0], b[0]))), versus=test["label"])


def _winner(c: Claim, t: Tables, setting: Setting, winner: str, rivals: Sequence[str] = PRUNED) -> Decided:
    """``c``: ``winner`` beats each of ``rivals`` (those run in ``setting``). Every rival is tested and Holm's
    correction over the rivals decides each comparison (:func:`holm_family`); held when it beats every rival,
    not held when some rival beats it (:func:`all_of`)."""
    rivals = [m for m in _masks(t, setting, rivals) if m != winner]
    if not rivals:
        return c.unmeasured(f"no rival of {winner} was run", scale=scale_text(t, setting))
    leaves = holm_family({f"{winner} - {r}": compare(t, (setting, winner), (setting, r)) for r in rivals})
    beaten = sum(n["verdict"] == HELD for n in leaves.values())
    ours = (f"{winner} {_ms(values(t, setting, winner))}; " +
            ", ".join(f"{r} {_ms(values(t, setting, r))}" for r in rivals) +
            f"; rivals beaten after Holm's correction: {beaten} of {len(rivals)}")
    return c.decide(ours, family_test(all_of(list(leaves.values())), leaves), scale=scale_text(t, setting),
                    groups=family_groups(leaves), note=_holm_note(leaves))


# ---- Table 6.1 (ResNet, global ranking)
RESNET_MAGNITUDE_WINS = Claim(
    "6-resnet-magnitude-best-wins-global", "06",
    "ResNet, global ranking: the largest-magnitude mask gives the best pruned network, ahead of each other "
    "pruned mask (section 6.1's text; every rival tested, Holm's correction over the four)",
    "text: magnitude pruning is the most effective; " + _thesis(RG, "random", "magnitude_best") +
    " (the table puts random first)",
    "some other pruned mask has a higher test accuracy than magnitude_best, its paired interval over seeds "
    "wholly above magnitude_best's after Holm's correction over the four rivals", "Table 6.1", conclusion="C8")
RESNET_RANDOM_BEST = Claim(
    "6-resnet-random-best-global", "06",
    "ResNet, global ranking: the random mask gives the best pruned network, ahead of each other pruned mask "
    "(Table 6.1's order; every rival tested, Holm's correction over the four)",
    _thesis(RG, "random", "magnitude_best", "magnitude_worst") + " (the text says magnitude is best)",
    "some other pruned mask beats random, its paired interval over seeds wholly above random's after Holm's "
    "correction over the four rivals", "Table 6.1")
RESNET_WORST_SECOND = Claim(
    "6-resnet-coherence-worst-second-global", "06",
    "ResNet, global ranking: the smallest-diff mask is the best pruned network after the magnitude mask: it "
    "beats each of random, magnitude_worst and coherence_best (section 6.1's text; Holm's correction over the "
    "three)",
    "text: magnitude pruning is followed by coherence_worst (an inverse effect of diffs); " +
    _thesis(RG, "coherence_worst", "coherence_best", "magnitude_worst") + " (the table puts it last)",
    "random, magnitude_worst or coherence_best beats coherence_worst, its paired interval over seeds wholly "
    "above after Holm's correction over the three", "Table 6.1")
RESNET_BEST_ABOVE_WORST = Claim(
    "6-resnet-coherence-best-above-worst-global", "06",
    "ResNet, global ranking: the largest-diff mask does better than the smallest-diff mask (Table 6.1's order; "
    "the same runs and statistic as chapter 9's comparison of the two diff masks)",
    _thesis(RG, "coherence_best", "coherence_worst") + " (both near chance; the text reads the reverse)",
    "coherence_worst's test accuracy is above coherence_best's: the paired interval over seeds wholly below 0",
    "Table 6.1")


def magnitude_best_wins_global(t: Tables, p: Params) -> Optional[Decided]:
    """Section 6.1's text: magnitude_best > each other pruned mask (ResNet, global; Holm over the rivals)."""
    return _winner(RESNET_MAGNITUDE_WINS, t, RG, "magnitude_best") if _have(t, RG) else None


def random_best_global(t: Tables, p: Params) -> Optional[Decided]:
    """Table 6.1's order: random > each other pruned mask (ResNet, global; Holm over the rivals)."""
    return _winner(RESNET_RANDOM_BEST, t, RG, "random") if _have(t, RG) else None


def coherence_worst_second_global(t: Tables, p: Params) -> Optional[Decided]:
    """Section 6.1's text: after magnitude pruning comes coherence_worst, i.e. coherence_worst > each of
    random, magnitude_worst and coherence_best (ResNet, global; Holm over the three)."""
    if not _have(t, RG):
        return None
    return _winner(RESNET_WORST_SECOND, t, RG, "coherence_worst", ["random", "magnitude_worst", "coherence_best"])


def coherence_best_above_worst_global(t: Tables, p: Params) -> Optional[Decided]:
    """Table 6.1's order: coherence_best > coherence_worst (ResNet, global). Chapter 9 refers to this claim."""
    if not _have(t, RG):
        return None
    return _pair(RESNET_BEST_ABOVE_WORST, t, (RG, "coherence_best"), (RG, "coherence_worst"))


def _magnitude_beats_diff_claim(setting: Setting) -> Claim:
    what = "global ranking" if setting[1] == "global" else "per-layer ranking"
    return Claim(f"6-resnet-magnitude-beats-diff-{setting[1]}", "06",
                 f"ResNet, {what}: the magnitude mask beats the diff mask",
                 _thesis(setting, "magnitude_best", "coherence_best"),
                 "coherence_best's test accuracy is above magnitude_best's: the paired interval over seeds wholly "
                 "below 0", f"Table {TABLE_NUMBERS[setting]}", conclusion="C8")


MAGNITUDE_BEATS_DIFF = {k: _magnitude_beats_diff_claim(k) for k in (RG, RL)}


def magnitude_beats_diff_global(t: Tables, p: Params) -> Optional[Decided]:
    """ResNet, global: magnitude_best > coherence_best (section 7.1, citing Table 6.1)."""
    return _pair(MAGNITUDE_BEATS_DIFF[RG], t, (RG, "magnitude_best"), (RG, "coherence_best")) if _have(t, RG) else None


def magnitude_beats_diff_layer(t: Tables, p: Params) -> Optional[Decided]:
    """ResNet, per layer: magnitude_best > coherence_best (Table 6.5)."""
    return _pair(MAGNITUDE_BEATS_DIFF[RL], t, (RL, "magnitude_best"), (RL, "coherence_best")) if _have(t, RL) else None


def _diff_beats_random_claim(setting: Setting) -> Claim:
    what = "global ranking" if setting[1] == "global" else "per-layer ranking"
    return Claim(f"6-resnet-diff-beats-random-{setting[1]}", "06",
                 f"ResNet, {what}: the diff mask beats the random mask (section 7.1; one claim per scope, since "
                 "the thesis's two tables give gaps of very different size)",
                 "section 7.1: diff-based pruning can outperform random pruning; " +
                 _thesis(setting, "coherence_best", "random") + "; the other scope's table: " +
                 _thesis(RL if setting == RG else RG, "coherence_best", "random"),
                 "random's test accuracy is above coherence_best's: the paired interval over seeds wholly below 0",
                 f"Table {TABLE_NUMBERS[setting]}", conclusion="C8")


DIFF_BEATS_RANDOM = {k: _diff_beats_random_claim(k) for k in (RG, RL)}


def diff_beats_random_global(t: Tables, p: Params) -> Optional[Decided]:
    """Section 7.1 (C8): coherence_best > random on the ResNet, global ranking (Table 6.1)."""
    return _pair(DIFF_BEATS_RANDOM[RG], t, (RG, "coherence_best"), (RG, "random")) if _have(t, RG) else None


def diff_beats_random_layer(t: Tables, p: Params) -> Optional[Decided]:
    """Section 7.1 (C8): coherence_best > random on the ResNet, per-layer ranking (Table 6.5)."""
    return _pair(DIFF_BEATS_RANDOM[RL], t, (RL, "coherence_best"), (RL, "random")) if _have(t, RL) else None


# ---- Tables 6.1 and 6.5 together, and Table 6.5 (ResNet, per layer)
LAYER_FIXES = Claim(
    "6-layer-fixes-resnet-diff", "06", "Ranking within each layer rescues the ResNet's diff (coherence_best) mask",
    f"coherence_best test accuracy {PRUNE_TABLES[RL]['coherence_best'][1]:.4f} per layer (Table 6.5) against "
    f"{PRUNE_TABLES[RG]['coherence_best'][1]:.4f} global (Table 6.1)",
    "coherence_best's global child is above its per-layer child: the paired interval over seeds wholly below 0",
    "Tables 6.1, 6.5")
NO_LONGER_INVERTED = Claim(
    "6-resnet-no-longer-inverted-layer", "06",
    "ResNet, per-layer ranking: the diff mask beats its inversion (coherence_best above coherence_worst; "
    "section 6.2's text is about the diff masks only)",
    "section 6.2's text: no longer inverted (though the same sentence has worst prevailing over best); " +
    _thesis(RL, "coherence_best", "coherence_worst"),
    "coherence_worst's test accuracy is above coherence_best's per layer: the paired interval over seeds wholly "
    "below 0", "Table 6.5")
RANDOM_STRONG = Claim(
    "6-random-strong", "06",
    f"ResNet: the per-layer random mask is no more than {NEAR_MARGIN:.0%} below the global magnitude mask "
    "(it nearly matches the best ResNet mask)",
    f"section 6.2: random {PRUNE_TABLES[RL]['random'][1]:.4f} (Table 6.5) against magnitude_best "
    f"{PRUNE_TABLES[RG]['magnitude_best'][1]:.4f} (Table 6.1)",
    f"the per-layer random child is more than {NEAR_MARGIN:g} below the global magnitude_best child: the paired "
    f"interval over seeds wholly below -{NEAR_MARGIN:g}", "Tables 6.1, 6.5")


def layer_fixes_resnet_diff(t: Tables, p: Params) -> Optional[Decided]:
    """ResNet: coherence_best per layer > coherence_best global (children of the same parent seed)."""
    if not _have(t, RG, RL):
        return None
    return _pair(LAYER_FIXES, t, (RL, "coherence_best"), (RG, "coherence_best"))


def no_longer_inverted_layer(t: Tables, p: Params) -> Optional[Decided]:
    """Section 6.2: per layer, coherence_best > coherence_worst. (Until issue 22 this claim pooled the magnitude
    masks' best-against-worst too; the thesis's sentence names the diff masks only, and magnitude's gap is the
    subject of :func:`mask_inversion_gap_small`.)"""
    if not _have(t, RL):
        return None
    return _pair(NO_LONGER_INVERTED, t, (RL, "coherence_best"), (RL, "coherence_worst"))


def random_strong(t: Tables, p: Params) -> Optional[Decided]:
    """Section 6.2: random per layer nearly matches magnitude_best global on the ResNet: random (per layer)
    is no more than :data:`NEAR_MARGIN` below magnitude_best (global), one-sided."""
    if not _have(t, RG, RL):
        return None
    return _pair(RANDOM_STRONG, t, (RL, "random"), (RG, "magnitude_best"), threshold=-NEAR_MARGIN,
                 more=f" (held when the interval lies above -{NEAR_MARGIN:g})")


# ---- section 7.2: the mask inversion
INVERSION_SMALL = Claim(
    "6-mask-inversion-gap-small", "06",
    f"Keeping the smallest weights costs less than {INVERSION_MARGIN:.0%} against keeping the largest, in each "
    "setting where the thesis's tables show a small gap (ResNet both scopes, ViT per layer; each setting on its "
    "own)",
    "section 7.2: the gap is rather small; gaps magnitude_best - magnitude_worst in Tables " +
    ", ".join(f"{TABLE_NUMBERS[k]} {PRUNE_TABLES[k]['magnitude_best'][1] - PRUNE_TABLES[k]['magnitude_worst'][1]:+.4f}"
              for k in (RG, RL, VL)),
    f"in some setting the 90 % interval of magnitude_best - magnitude_worst lies wholly outside ±{INVERSION_MARGIN:g} "
    "(tested at 0.05 / settings)", "Tables 6.1, 6.5, 6.6")
INVERSION_SMALL_VIT = Claim(
    "6-mask-inversion-gap-small-vit-global", "06",
    f"ViT, global ranking: keeping the smallest weights costs less than {INVERSION_MARGIN:.0%} against keeping "
    "the largest (section 7.2's text, citing Table 6.2)",
    "section 7.2 calls the gap small in Tables 6.1, 6.2, 6.5, 6.6; Table 6.2's is "
    f"{PRUNE_TABLES[VG]['magnitude_best'][1] - PRUNE_TABLES[VG]['magnitude_worst'][1]:+.4f}",
    f"the 90 % interval of magnitude_best - magnitude_worst lies wholly outside ±{INVERSION_MARGIN:g}", "Table 6.2")


def _inversion(c: Claim, t: Tables, settings: Sequence[Setting]) -> Decided:
    """``c``: |magnitude_best - magnitude_worst| < :data:`INVERSION_MARGIN` (two one-sided tests) in each of
    ``settings``, each over the seeds on its own (``every=True`` when there are several)."""
    parts = []
    for k in settings:
        df = _long({m: values(t, k, m) for m in ("magnitude_best", "magnitude_worst")})
        parts.append(df.assign(scope=f"{FAMILY[k[0]]} {k[1]}"))
    test, groups = paired_groups(pd.concat(parts, ignore_index=True), "item", "magnitude_best", "magnitude_worst",
                                 "value", by=("scope",), claim="equal", margin=INVERSION_MARGIN,
                                 every=len(settings) > 1, bounds=UNIT)
    ours = "gaps magnitude_best - magnitude_worst: " + "; ".join(
        f"{r['scope']} {r['diff']:+.3f}" for _, r in groups.iterrows())
    return _on(c, settings).decide(ours, test, scale=scale_text(t, *settings), groups=groups)


def mask_inversion_gap_small(t: Tables, p: Params) -> Optional[Decided]:
    """Section 7.2, where its tables agree (ResNet both scopes, ViT per layer): |magnitude_best -
    magnitude_worst| < :data:`INVERSION_MARGIN` in every setting (equivalence, each setting on its own)."""
    settings = [k for k in (RG, RL, VL) if k in t]
    return _inversion(INVERSION_SMALL, t, settings) if settings else None


def mask_inversion_gap_small_vit_global(t: Tables, p: Params) -> Optional[Decided]:
    """Section 7.2's text also cites Table 6.2, whose gap is 49 points: the same equivalence on the ViT, global."""
    return _inversion(INVERSION_SMALL_VIT, t, [VG]) if _have(t, VG) else None


# ---- Figures 6.3 and 6.4: the layers a global mask keeps
OVERPRUNES = Claim(
    "6-global-diff-overprunes-layers", "06",
    "ResNet, global ranking: the diff mask leaves a larger share of its pruned tensors at the floor than the "
    "magnitude mask (chapter 9's question of the same runs refers here)",
    "section 6.2 explains the diff collapse by layers pruned to the 2 % floor; no counts given",
    "magnitude_best leaves the larger share at the floor: the paired interval over seeds of the difference in "
    "shares wholly below 0", "Figure 6.3")
FLOOR_TEXT = Claim(
    "6-resnet-floor-coherence-worst-magnitude-best", "06",
    f"ResNet, global ranking: the smallest-diff and the largest-magnitude masks each leave at least "
    f"{MANY_AT_FLOOR:.0%} of their pruned tensors at the floor (\"many of the layers\", section 6.2's text; each "
    "mask on its own)",
    "text: coherence_worst and magnitude_best pruned many layers to the 2 % minimum (the caption of Fig. 6.3 "
    "names coherence_best and magnitude_worst instead); no counts given",
    f"for coherence_worst or magnitude_best the interval over seeds of its share at the floor lies wholly below "
    f"{MANY_AT_FLOOR:g} (tested at 0.05 / 2)", "Figure 6.3")
EARLY_CAPTION = Claim(
    "6-resnet-early-layers-coherence-best-magnitude-worst", "06",
    "ResNet, global ranking: the largest-diff and the smallest-magnitude masks each keep less of the early "
    "layers than a random mask (the caption of Fig. 6.3; each mask on its own against the random mask of its seed)",
    "caption of Fig. 6.3: coherence_best and magnitude_worst severely pruned the early layers (the text names "
    "coherence_worst and magnitude_best); no counts given",
    "coherence_best or magnitude_worst keeps more of the first half of the tensors than random: its paired "
    "interval over seeds wholly above 0 (tested at 0.05 / 2)", "Figure 6.3")
VIT_EVEN = Claim(
    "6-vit-global-even-layers", "06", "ViT, global ranking: no mask pushes any tensor down to the floor",
    "section 6.2: no ViT layer hits the 2 % minimum (Fig. 6.4)",
    f"the 90 % interval of the mean number of (mask, tensor) pairs at the floor per seed lies wholly at or above "
    f"{EVEN_MARGIN:g}", "Figure 6.4")


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
    frame = pd.concat([_long({"mask": own[m], "reference": ref[m]}).assign(method=m) for m in masks],
                      ignore_index=True)
    return frame, own


def global_diff_overprunes_layers(t: Tables, p: Params) -> Optional[Decided]:
    """ResNet, global: share of pruned tensors at the floor, coherence_best > magnitude_best. Chapter 9 refers
    to this claim."""
    if not _have(t, RG) or p.floor <= 0:
        return None
    a, b = _layer(t, RG, p, "coherence_best", "at_floor"), _layer(t, RG, p, "magnitude_best", "at_floor")
    test, _ = paired_groups(_long({"coherence_best": a, "magnitude_best": b}), "item", "coherence_best",
                            "magnitude_best", "value", bounds=UNIT)
    return OVERPRUNES.decide(
        f"share of pruned tensors at the {p.floor:.0%} floor: coherence_best {_ms(a)}, magnitude_best {_ms(b)}",
        test, scale=scale_text(t, RG), versus="coherence_best - magnitude_best")


def floor_masks_text(t: Tables, p: Params) -> Optional[Decided]:
    """Section 6.2's text: coherence_worst and magnitude_best each leave at least :data:`MANY_AT_FLOOR` of their
    pruned tensors at the floor (one-sided, each mask on its own over the seeds; ``every=True``). Until issue 22
    the reference was the random mask, which leaves no tensor at the floor by construction, so the claim could
    not come out "not held"."""
    if not _have(t, RG) or p.floor <= 0:
        return None
    masks = ("coherence_worst", "magnitude_best")
    frame, own = _each_mask(t, p, masks, "at_floor", MANY_AT_FLOOR)
    test, groups = paired_groups(frame, "item", "mask", "reference", "value", by=("method",), every=True,
                                 bounds=(-MANY_AT_FLOOR, 1 - MANY_AT_FLOOR))
    rnd = _layer(t, RG, p, "random", "at_floor")
    ours = (f"share of pruned tensors at the {p.floor:.0%} floor: " + ", ".join(f"{m} {_ms(own[m])}" for m in masks) +
            f" (random {_ms(rnd)}); the difference shown is the share minus {MANY_AT_FLOOR:g}")
    return FLOOR_TEXT.decide(ours, test, scale=scale_text(t, RG), groups=groups)


def early_layers_caption(t: Tables, p: Params) -> Optional[Decided]:
    """Caption of Fig. 6.3: coherence_best and magnitude_worst each keep less of the early tensors (first half
    by depth) than the random mask of the same seed (each mask on its own over the seeds; ``every=True``)."""
    if not _have(t, RG):
        return None
    masks = ("coherence_best", "magnitude_worst")
    frame, own = _each_mask(t, p, masks, "early_kept", "random")
    test, groups = paired_groups(frame, "item", "mask", "reference", "value", by=("method",), claim="less",
                                 every=True, bounds=UNIT)
    ours = ("fraction kept of the weights in the first half of the tensors: " +
            ", ".join(f"{m} {_ms(own[m])}" for m in masks) + f", random {_ms(own['random'])}")
    return EARLY_CAPTION.decide(ours, test, scale=scale_text(t, RG), groups=groups)


def vit_global_even_layers(t: Tables, p: Params) -> Optional[Decided]:
    """ViT, global: per seed, the number of (mask, tensor) pairs at the floor is 0 within :data:`EVEN_MARGIN`
    (two one-sided tests over the seeds; a count cannot be negative, so the interval is cut at 0)."""
    if not _have(t, VG) or p.floor <= 0:
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
VIT_DIFF_WINS = Claim(
    "6-vit-diff-wins-global", "06",
    "ViT, global ranking: the diff mask beats each of the magnitude and random masks (section 6.1's text; Holm's "
    "correction over the three)",
    "text: diff-based pruning is the clear winner; " +
    _thesis(VG, "magnitude_best", "coherence_worst", "coherence_best", "random"),
    "magnitude_best, magnitude_worst or random beats coherence_best, its paired interval over seeds wholly above "
    "after Holm's correction over the three", "Table 6.2", conclusion="C8")
VIT_DIFF_MATCHES = Claim(
    "6-vit-diff-matches-dense-global", "06",
    f"ViT, global ranking: the diff mask is within {PARITY_MARGIN:.0%} of the dense network (section 6.1's text)",
    "text: diff pruning matches the dense network; " + _thesis(VG, "none", "coherence_worst", "coherence_best"),
    f"the 90 % interval of coherence_best - none lies wholly outside ±{PARITY_MARGIN:g}", "Table 6.2",
    conclusion="C8")
VIT_MAGNITUDE_WINS = Claim(
    "6-vit-magnitude-best-wins-global", "06",
    "ViT, global ranking: the largest-magnitude mask gives the best pruned network, ahead of each other pruned "
    "mask (Table 6.2's order; Holm's correction over the four rivals). Held, it speaks against the diff mask "
    "working best on the ViT",
    _thesis(VG, "magnitude_best", "coherence_worst", "coherence_best") + " (the text says diff pruning wins)",
    "some other pruned mask beats magnitude_best, its paired interval over seeds wholly above after Holm's "
    "correction over the four rivals", "Table 6.2", conclusion="C8", bears="against")
VIT_RANDOM_BEATS_MAGNITUDE = Claim(
    "6-vit-random-beats-magnitude-global", "06",
    "ViT, global ranking: the random mask beats the largest-magnitude mask (section 6.1's text)",
    "text: random pruning outperforms magnitude pruning; " + _thesis(VG, "magnitude_best", "random") +
    " (the table says the reverse)",
    "magnitude_best's test accuracy is above random's: the paired interval over seeds wholly below 0", "Table 6.2")


def vit_diff_wins_global(t: Tables, p: Params) -> Optional[Decided]:
    """Section 6.1's text: coherence_best > each of magnitude_best, magnitude_worst and random (ViT, global;
    Holm over the three)."""
    if not _have(t, VG):
        return None
    return _winner(VIT_DIFF_WINS, t, VG, "coherence_best", ["magnitude_best", "magnitude_worst", "random"])


def vit_diff_matches_dense_global(t: Tables, p: Params) -> Optional[Decided]:
    """Section 6.1's text: coherence_best within :data:`PARITY_MARGIN` of the dense ViT (two one-sided tests)."""
    if not _have(t, VG):
        return None
    return _pair(VIT_DIFF_MATCHES, t, (VG, "coherence_best"), (VG, "none"), claim="equal", margin=PARITY_MARGIN)


def vit_magnitude_best_wins_global(t: Tables, p: Params) -> Optional[Decided]:
    """Table 6.2's order: magnitude_best > each other pruned mask (ViT, global; Holm over the rivals). A claim
    contrary to conclusion C8 (``bears="against"``)."""
    return _winner(VIT_MAGNITUDE_WINS, t, VG, "magnitude_best") if _have(t, VG) else None


def vit_random_beats_magnitude_global(t: Tables, p: Params) -> Optional[Decided]:
    """Section 6.1's text: random > magnitude_best (ViT, global)."""
    if not _have(t, VG):
        return None
    return _pair(VIT_RANDOM_BEATS_MAGNITUDE, t, (VG, "random"), (VG, "magnitude_best"))


# ---- Table 6.6 (ViT, per layer)
VIT_DIFF_BEST_LAYER = Claim(
    "6-vit-diff-best-layer", "06",
    "ViT, per-layer ranking: the diff mask gives the best pruned network, ahead of each other pruned mask "
    "(Holm's correction over the four rivals)",
    _thesis(VL, "coherence_best", "magnitude_worst", "magnitude_best"),
    "some other pruned mask beats coherence_best, its paired interval over seeds wholly above after Holm's "
    "correction over the four rivals", "Table 6.6", conclusion="C8")
VIT_NO_PARITY_LAYER = Claim(
    "6-vit-no-parity-layer", "06",
    f"ViT, per-layer ranking: the diff mask stays more than {PARITY_MARGIN:.0%} below the dense network "
    "(it does not reach parity)",
    "section 6.2: unable to achieve parity with the dense network; " + _thesis(VL, "none", "coherence_best"),
    f"coherence_best is no more than {PARITY_MARGIN:g} below dense: the paired interval over seeds of "
    f"coherence_best - none wholly above -{PARITY_MARGIN:g}", "Table 6.6")


def vit_diff_best_layer(t: Tables, p: Params) -> Optional[Decided]:
    """ViT, per layer: coherence_best > each other pruned mask (Holm over the rivals)."""
    return _winner(VIT_DIFF_BEST_LAYER, t, VL, "coherence_best") if _have(t, VL) else None


def vit_no_parity_layer(t: Tables, p: Params) -> Optional[Decided]:
    """Section 6.2: per layer the ViT's diff mask stays more than :data:`PARITY_MARGIN` below dense (one-sided)."""
    if not _have(t, VL):
        return None
    return _pair(VIT_NO_PARITY_LAYER, t, (VL, "coherence_best"), (VL, "none"), claim="less", threshold=-PARITY_MARGIN,
                 more=f" (held when the interval lies below -{PARITY_MARGIN:g})")


# ---- section 7.3
NEAR_PARITY = Claim(
    "6-pruned-near-parity", "06",
    f"For the ResNet and for the ViT (global ranking) some pruned network is within {NEAR_MARGIN:.0%} of the dense "
    "network: every mask is tested against dense, Holm's correction over all of them",
    "section 7.3: pruned versions of both models are within a few percentage points of parity; " +
    "; ".join(_thesis(k, "none", max(PRUNED, key=lambda m: PRUNE_TABLES[k][m][1])) for k in (RG, VG)),
    f"for the ResNet or for the ViT every mask's 90 % interval of mask - none lies wholly outside ±{NEAR_MARGIN:g} "
    "after Holm's correction", "Tables 6.1, 6.2")
ONLY_VIT = Claim(
    "6-only-vit-competitive", "06",
    f"Only the ViT has a pruned network competitive with its dense one: some pruned ViT is no more than "
    f"{PARITY_MARGIN:.0%} below dense, and every pruned ResNet is more than that below (global ranking; every mask "
    "tested, Holm's correction over all of them)",
    "section 7.3: only the ViT permitted a pruned model competitive with the dense model; " +
    "; ".join(_thesis(k, "none", max(PRUNED, key=lambda m: PRUNE_TABLES[k][m][1])) for k in (VG, RG)) +
    " (the ResNet table has a pruned network above dense)",
    f"every pruned ViT is more than {PARITY_MARGIN:g} below dense, or some pruned ResNet is no more than that below "
    "(the paired interval over seeds on the wrong side of -0.01 after Holm's correction)", "Tables 6.1, 6.2")


def _against_dense(t: Tables, setting: Setting, **kw: Any) -> dict[str, dict[str, Any]]:
    """label "<family> <mask> - none" -> :func:`compare` of each pruned mask run in ``setting`` with the dense run."""
    return {f"{FAMILY[setting[0]]} {m} - none": compare(t, (setting, m), (setting, "none"), **kw)
            for m in _masks(t, setting)}


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
    ours = "; ".join(f"{FAMILY[k[0]]}: dense {_ms(values(t, k, 'none'))}, " +
                     ", ".join(f"{m} {_ms(values(t, k, m))}" for m in _masks(t, k)) +
                     f" (within the margin after Holm: {sum(leaves[lab]['verdict'] == HELD for lab in tests[k])})"
                     for k in settings)
    return _on(NEAR_PARITY, settings).decide(ours, family_test(root, leaves), scale=scale_text(t, *settings),
                                             groups=family_groups(leaves), note=_holm_note(leaves))


def only_vit_competitive(t: Tables, p: Params) -> Optional[Decided]:
    """Section 7.3: some pruned ViT is no more than :data:`PARITY_MARGIN` below dense, and every pruned ResNet
    is more than that below (one-sided against -0.01). Every mask is tested, Holm's correction over all ten
    comparisons decides each; held when a ViT mask and every ResNet mask are held."""
    if not _have(t, RG, VG):
        return None
    vit = _against_dense(t, VG, claim="greater", threshold=-PARITY_MARGIN)
    res = _against_dense(t, RG, claim="less", threshold=-PARITY_MARGIN)
    if not (vit and res):
        return ONLY_VIT.unmeasured("no pruned mask was run", scale=scale_text(t, RG, VG))
    leaves = holm_family({**vit, **res})
    root = all_of([any_of([leaves[k] for k in vit]), all_of([leaves[k] for k in res])])
    ours = "; ".join(f"{FAMILY[k[0]]}: dense {_ms(values(t, k, 'none'))}, " +
                     ", ".join(f"{m} {_ms(values(t, k, m))}" for m in _masks(t, k)) for k in (VG, RG))
    return ONLY_VIT.decide(ours + f" (held when a ViT interval lies above -{PARITY_MARGIN:g} and every ResNet "
                           f"interval below it)", family_test(root, leaves), scale=scale_text(t, RG, VG),
                           groups=family_groups(leaves), note=_holm_note(leaves))


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
