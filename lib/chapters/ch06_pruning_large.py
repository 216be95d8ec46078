"""Chapter 6: pruning the ResNet and the ViT (thesis Tables 6.1, 6.2, 6.5, 6.6; Figs. 6.3, 6.4).

The notebook calls, in order: :func:`setup`, :func:`results` (trains or loads exactly :func:`plan`),
:func:`settings_table`, :func:`weight_budget_table`, :func:`table_6_1`, :func:`table_6_2`,
:func:`figure_6_3` and :func:`floor_table_6_3`, :func:`figure_6_4` and :func:`floor_table_6_4`,
:func:`table_6_5`, :func:`table_6_6`, then :func:`verdicts` (pure), :func:`headline`, :func:`items` and
:func:`caveats`.
The analysis (result tables, floors, the layer figure) lives in :mod:`lib.chapters.large`; the claims
are here, one function per claim (:data:`RULES`), each a paired test (:func:`judge`) with its margin
fixed in a named constant, and each verdict carries the dense networks' accuracy against the
thesis's (:func:`scale_text`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Optional, Sequence

import pandas as pd

from .. import profiles, runs
from ..config import Stages, TrainConfig, merge_stages
from ..experiments import plan_configs
from ..models import ARCHS
from . import figures
from . import params as check
from .large import (METHODS, PRUNED, SCOPES, base_config, fig_layers, floor_table, format_results, layer_stats,
                    layer_values, mean_sd, per_seed, results_table, run_all, scope_floor, table_title, tie_columns,
                    tie_rows, weight_budget)
from .thesis import PRUNE_TABLES, TABLE_NUMBERS
from .verdicts import HELD, NOT_HELD, Verdict, interval_text, paired, with_badges

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


def plan(s: Setup) -> Stages:
    """[parents], [children and dense "none" runs] of both architectures and both scopes."""
    return merge_stages(
        plan_configs("prune_large", base, METHODS, scope=scope, floor=scope_floor(scope, s.params.floor),
                     density=s.params.density, seeds=s.seeds)
        for base in s.bases.values() for scope in SCOPES)


def results(s: Setup) -> Results:
    """Train (or load) every run of :func:`plan`, stage by stage, then read the result and layer tables."""
    runs.train_stages(plan(s))
    tables = run_all(s.bases, seeds=s.seeds, density=s.params.density, floor=s.params.floor, progress=False)
    ties = tie_rows(s.bases, seeds=s.seeds, density=s.params.density, floor=s.params.floor) if tables else None
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
# Every claim is decided by :func:`lib.chapters.verdicts.paired` on per-seed values: a child is paired with
# the other children (and the dense ``none`` run) of the same parent seed. Claims over several tables or
# masks pool all (item, seed) pairs in one interval and keep each item's interval in ``test["items"]``
# (shown by :func:`item_table`); "no difference" claims over several items need every item inside the
# margin (a pooled mean would let gaps of opposite sign cancel). Margins are fixed here, before any run.

#: "Matches", "parity", "competitive with dense": within one percentage point of test accuracy, the
#: smallest difference the thesis's own tables treat as a real gap between rows (its 6.2 text calls a 1.8-point
#: shortfall "unable to achieve parity").
PARITY_MARGIN = 0.01
#: "Nearly matched", "within a few percentage points": three points, the smallest number "a few" names.
NEAR_MARGIN = 0.03
#: "Rather small" gap between a mask and its inversion (section 7.2): two points, fixed when the claim was
#: first written (the gaps the thesis calls small are 1.2 points or less).
INVERSION_MARGIN = 0.02
#: "No tensor at the floor": fewer than half a tensor at the floor on average over the seeds (a count is
#: zero or at least one, so the interval must exclude a whole tensor).
EVEN_MARGIN = 0.5

Setting = tuple[str, str]
RG, RL, VG, VL = ("resnet", "global"), ("resnet", "layer"), ("vit", "global"), ("vit", "layer")
FAMILY = {"resnet": "ResNet", "vit": "ViT"}
#: Items of a pooled claim: name -> (a per seed, b per seed), each a Series indexed by the parent seed.
Pairs = Mapping[str, tuple[pd.Series, pd.Series]]


def _have(t: Tables, *settings: Setting) -> bool:
    return all(k in t for k in settings)


def values(t: Tables, setting: Setting, method: str, column: str = "test_acc") -> pd.Series:
    """``column`` of ``method``'s runs in ``setting``, indexed by parent seed (:func:`lib.chapters.large.per_seed`)."""
    return per_seed(t[setting][0], method, column)


def best_of(t: Tables, setting: Setting, methods: Sequence[str]) -> str:
    """The mask among ``methods`` (those run in ``setting``) with the highest mean test accuracy."""
    have = [m for m in methods if m in set(t[setting][0]["method"])]
    if not have:
        raise ValueError(f"none of {list(methods)} was run in {setting}")
    return max(have, key=lambda m: float(values(t, setting, m).mean()))


def _one(a: pd.Series, b: pd.Series, claim: str, margin: float | None, threshold: float) -> dict[str, Any]:
    """:func:`paired` of mean(a - b) against ``threshold`` on the seeds both have; diff and interval of a - b."""
    seeds = sorted(set(a.index) & set(b.index))
    av, bv = a.loc[seeds].to_numpy(float), b.loc[seeds].to_numpy(float)
    out = paired(av, bv + threshold, claim=claim, margin=margin)
    if threshold:
        out.update(b=float(bv.mean()) if len(bv) else math.nan, threshold=threshold,
                   **{k: out[k] + threshold for k in ("diff", "ci_low", "ci_high")})
    return out


def _room(t: Mapping[str, Any]) -> float:
    """How far a held test's interval lies inside its claimed region (for picking the closest call)."""
    thr = t.get("threshold", 0.0)
    if t["claim"] == "equal":
        return t["margin"] - max(abs(t["ci_low"]), abs(t["ci_high"]))
    return t["ci_low"] - thr if t["claim"] == "greater" else thr - t["ci_high"]


def judge(pairs: Pairs, *, claim: str = "greater", margin: float | None = None, threshold: float = 0.0,
          every: bool = False) -> dict[str, Any]:
    """The test of a claim about mean(a - b) over the items of ``pairs`` (name -> per-seed a and b).

    ``claim`` and ``margin`` as in :func:`lib.chapters.verdicts.paired`; ``threshold`` moves the
    one-sided claims' boundary from 0 (e.g. "a is less than b by more than 0.01": claim "less",
    threshold -0.01). One item: its paired test. Several: all (item, seed) pairs pooled in one interval,
    or with ``every=True`` each item judged alone and the claim held only when every item holds (not held
    when any is not held; the returned numbers are those of the deciding item). With several items the
    test keeps ``items``: one row per item with its own interval."""
    tests = {k: _one(a, b, claim, margin, threshold) for k, (a, b) in pairs.items()}
    if len(tests) == 1:
        return next(iter(tests.values()))
    if every:
        return _every_of(tests)
    a = pd.concat([x.set_axis([f"{k}|{i}" for i in x.index]) for k, (x, _) in pairs.items()])
    b = pd.concat([y.set_axis([f"{k}|{i}" for i in y.index]) for k, (_, y) in pairs.items()])
    out = {**_one(a, b, claim, margin, threshold), "rule": "pooled (item, seed) pairs", "items": _items(tests)}
    if out["seeds_needed"]:  # pairs needed -> seeds needed: each seed gives one pair per item
        out["seeds_needed"] = math.ceil(out["seeds_needed"] / len(tests))
    return out


def _items(tests: Mapping[str, Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One row per item: its pairs, means, difference, interval and verdict."""
    return [{"item": k, **{c: v[c] for c in ("n", "a", "b", "diff", "ci_low", "ci_high", "verdict")}}
            for k, v in tests.items()]


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


def _ms(x: pd.Series) -> str:
    return mean_sd(list(x))


def _v(cid: str, claim: str, thesis: str, ours: str, test: Mapping[str, Any], figure: str, t: Tables,
       *settings: Setting) -> Verdict:
    return Verdict.of(cid, "06", claim, thesis, ours, test, figure, scale=scale_text(t, *settings))


def _wins(t: Tables, setting: Setting, method: str, rivals: Sequence[str] | None = None) -> tuple[dict, str]:
    """(test of ``method`` > the best of ``rivals`` by mean, our numbers); rivals default: the other pruned masks."""
    rival = best_of(t, setting, [m for m in (rivals or PRUNED) if m != method])
    a, b = values(t, setting, method), values(t, setting, rival)
    return judge({f"{method} - {rival}": (a, b)}), f"{method} {_ms(a)} vs the best other ({rival}) {_ms(b)}"


def _two(t: Tables, setting: Setting, a: str, b: str, **kw: Any) -> tuple[dict, str]:
    """(test of ``a`` against ``b`` in one setting, our numbers)."""
    x, y = values(t, setting, a), values(t, setting, b)
    return judge({f"{a} - {b}": (x, y)}, **kw), f"{a} {_ms(x)}, {b} {_ms(y)}"


# ---- Table 6.1 (ResNet, global ranking)
def magnitude_best_wins_global(t: Tables, p: Params) -> Optional[Verdict]:
    """Section 6.1's text: magnitude_best > the best other pruned mask (ResNet, global)."""
    if not _have(t, RG):
        return None
    test, ours = _wins(t, RG, "magnitude_best")
    return _v("6-resnet-magnitude-best-wins-global",
              "ResNet, global ranking: the largest-magnitude mask gives the best pruned network (section 6.1's text)",
              "text: magnitude pruning is the most effective; " + _thesis(RG, "random", "magnitude_best") +
              " (the table puts random first)", ours, test, "Table 6.1", t, RG)


def random_best_global(t: Tables, p: Params) -> Optional[Verdict]:
    """Table 6.1's order: random > the best other pruned mask (ResNet, global)."""
    if not _have(t, RG):
        return None
    test, ours = _wins(t, RG, "random")
    return _v("6-resnet-random-best-global",
              "ResNet, global ranking: the random mask gives the best pruned network (Table 6.1's order)",
              _thesis(RG, "random", "magnitude_best", "magnitude_worst") + " (the text says magnitude is best)",
              ours, test, "Table 6.1", t, RG)


def coherence_worst_second_global(t: Tables, p: Params) -> Optional[Verdict]:
    """Section 6.1's text: after magnitude pruning comes coherence_worst, i.e. coherence_worst > the best of
    random, magnitude_worst and coherence_best (ResNet, global)."""
    if not _have(t, RG):
        return None
    test, ours = _wins(t, RG, "coherence_worst", ["random", "magnitude_worst", "coherence_best"])
    return _v("6-resnet-coherence-worst-second-global",
              "ResNet, global ranking: the smallest-diff mask is the best pruned network after the magnitude mask "
              "(section 6.1's text)",
              "text: magnitude pruning is followed by coherence_worst (an inverse effect of diffs); " +
              _thesis(RG, "coherence_worst", "coherence_best", "magnitude_worst") + " (the table puts it last)",
              ours, test, "Table 6.1", t, RG)


def coherence_best_above_worst_global(t: Tables, p: Params) -> Optional[Verdict]:
    """Table 6.1's order: coherence_best > coherence_worst (ResNet, global)."""
    if not _have(t, RG):
        return None
    test, ours = _two(t, RG, "coherence_best", "coherence_worst")
    return _v("6-resnet-coherence-best-above-worst-global",
              "ResNet, global ranking: the largest-diff mask is followed by the smallest-diff mask, which does "
              "worse (Table 6.1's order)",
              _thesis(RG, "coherence_best", "coherence_worst") + " (both near chance; the text reads the reverse)",
              ours, test, "Table 6.1", t, RG)


def _magnitude_beats_diff(t: Tables, setting: Setting) -> Optional[Verdict]:
    if not _have(t, setting):
        return None
    scope = setting[1]
    test, ours = _two(t, setting, "magnitude_best", "coherence_best")
    table = f"Table {TABLE_NUMBERS[setting]}"
    what = "global ranking" if scope == "global" else "per-layer ranking"
    return _v(f"6-resnet-magnitude-beats-diff-{scope}", f"ResNet, {what}: the magnitude mask beats the diff mask",
              _thesis(setting, "magnitude_best", "coherence_best"), ours, test, table, t, setting)


def magnitude_beats_diff_global(t: Tables, p: Params) -> Optional[Verdict]:
    """ResNet, global: magnitude_best > coherence_best (section 7.1, citing Table 6.1)."""
    return _magnitude_beats_diff(t, RG)


def magnitude_beats_diff_layer(t: Tables, p: Params) -> Optional[Verdict]:
    """ResNet, per layer: magnitude_best > coherence_best (Table 6.5)."""
    return _magnitude_beats_diff(t, RL)


def diff_beats_random_resnet(t: Tables, p: Params) -> Optional[Verdict]:
    """Section 7.1 (C8): coherence_best > random on the ResNet, pooled over both scopes."""
    settings = [k for k in (RG, RL) if k in t]
    if not settings:
        return None
    pairs = {k[1]: (values(t, k, "coherence_best"), values(t, k, "random")) for k in settings}
    test = judge(pairs)
    ours = "; ".join(f"{k[1]}: coherence_best {_ms(pairs[k[1]][0])}, random {_ms(pairs[k[1]][1])}" for k in settings)
    return _v("6-resnet-diff-beats-random", "ResNet: the diff mask beats the random mask (both scopes pooled)",
              "section 7.1: diff-based pruning can outperform random pruning; " +
              "; ".join(_thesis(k, "coherence_best", "random") for k in (RG, RL)),
              ours, test, "Tables " + ", ".join(TABLE_NUMBERS[k] for k in settings), t, *settings)


# ---- Tables 6.1 and 6.5 together, and Table 6.5 (ResNet, per layer)
def layer_fixes_resnet_diff(t: Tables, p: Params) -> Optional[Verdict]:
    """ResNet: coherence_best per layer > coherence_best global (children of the same parent seed)."""
    if not _have(t, RG, RL):
        return None
    a, b = values(t, RL, "coherence_best"), values(t, RG, "coherence_best")
    return _v("6-layer-fixes-resnet-diff", "Ranking within each layer rescues the ResNet's diff (coherence_best) mask",
              f"coherence_best test accuracy {PRUNE_TABLES[RL]['coherence_best'][1]:.4f} per layer (Table 6.5) against "
              f"{PRUNE_TABLES[RG]['coherence_best'][1]:.4f} global (Table 6.1)",
              f"coherence_best per layer {_ms(a)}, global {_ms(b)}", judge({"layer - global": (a, b)}),
              "Tables 6.1, 6.5", t, RG, RL)


def no_longer_inverted_layer(t: Tables, p: Params) -> Optional[Verdict]:
    """Section 6.2: per layer, *_best > *_worst for magnitude and for coherence (pooled over the two)."""
    if not _have(t, RL):
        return None
    pairs = {c: (values(t, RL, f"{c}_best"), values(t, RL, f"{c}_worst")) for c in ("magnitude", "coherence")}
    ours = "; ".join(f"{c}_best {_ms(a)}, {c}_worst {_ms(b)}" for c, (a, b) in pairs.items())
    return _v("6-resnet-no-longer-inverted-layer",
              "ResNet, per-layer ranking: each criterion's best mask beats its inversion (magnitude and diff pooled)",
              "section 6.2's text: no longer inverted (though the same sentence has worst prevailing over best); " +
              _thesis(RL, "magnitude_best", "magnitude_worst", "coherence_best", "coherence_worst"),
              ours, judge(pairs), "Table 6.5", t, RL)


def random_strong(t: Tables, p: Params) -> Optional[Verdict]:
    """Section 6.2: random per layer nearly matches magnitude_best global on the ResNet: random (per layer)
    is no more than :data:`NEAR_MARGIN` below magnitude_best (global), one-sided."""
    if not _have(t, RG, RL):
        return None
    a, b = values(t, RL, "random"), values(t, RG, "magnitude_best")
    test = judge({"random (layer) - magnitude_best (global)": (a, b)}, claim="greater", threshold=-NEAR_MARGIN)
    return _v("6-random-strong",
              f"ResNet: the per-layer random mask is no more than {NEAR_MARGIN:.0%} below the global magnitude mask "
              "(it nearly matches the best ResNet mask)",
              f"section 6.2: random {PRUNE_TABLES[RL]['random'][1]:.4f} (Table 6.5) against magnitude_best "
              f"{PRUNE_TABLES[RG]['magnitude_best'][1]:.4f} (Table 6.1)",
              f"random per layer {_ms(a)}, magnitude_best global {_ms(b)} (held when the interval lies above "
              f"-{NEAR_MARGIN:g})", test, "Tables 6.1, 6.5", t, RG, RL)


# ---- section 7.2: the mask inversion
def _inversion(t: Tables, settings: Sequence[Setting]) -> tuple[dict, str]:
    pairs = {f"{FAMILY[k[0]]} {k[1]}": (values(t, k, "magnitude_best"), values(t, k, "magnitude_worst")) for k in settings}
    ours = "gaps magnitude_best - magnitude_worst: " + "; ".join(
        f"{name} {float((a - b).mean()):+.3f}" for name, (a, b) in pairs.items())
    return judge(pairs, claim="equal", margin=INVERSION_MARGIN, every=True), ours


def mask_inversion_gap_small(t: Tables, p: Params) -> Optional[Verdict]:
    """Section 7.2, where its tables agree (ResNet both scopes, ViT per layer): |magnitude_best -
    magnitude_worst| < :data:`INVERSION_MARGIN` in every setting (equivalence)."""
    settings = [k for k in (RG, RL, VL) if k in t]
    if not settings:
        return None
    test, ours = _inversion(t, settings)
    gaps = ", ".join(f"{TABLE_NUMBERS[k]} {PRUNE_TABLES[k]['magnitude_best'][1] - PRUNE_TABLES[k]['magnitude_worst'][1]:+.4f}"
                     for k in (RG, RL, VL))
    return _v("6-mask-inversion-gap-small",
              f"Keeping the smallest weights costs less than {INVERSION_MARGIN:.0%} against keeping the largest, in "
              "each setting where the thesis's tables show a small gap (ResNet both scopes, ViT per layer)",
              f"section 7.2: the gap is rather small; gaps magnitude_best - magnitude_worst in Tables {gaps}",
              ours, test, "Tables " + ", ".join(TABLE_NUMBERS[k] for k in settings), t, *settings)


def mask_inversion_gap_small_vit_global(t: Tables, p: Params) -> Optional[Verdict]:
    """Section 7.2's text also cites Table 6.2, whose gap is 49 points: the same equivalence on the ViT, global."""
    if not _have(t, VG):
        return None
    test, ours = _inversion(t, [VG])
    gap = PRUNE_TABLES[VG]["magnitude_best"][1] - PRUNE_TABLES[VG]["magnitude_worst"][1]
    return _v("6-mask-inversion-gap-small-vit-global",
              f"ViT, global ranking: keeping the smallest weights costs less than {INVERSION_MARGIN:.0%} against keeping "
              "the largest (section 7.2's text, citing Table 6.2)",
              f"section 7.2 calls the gap small in Tables 6.1, 6.2, 6.5, 6.6; Table 6.2's is {gap:+.4f}",
              ours, test, "Table 6.2", t, VG)


# ---- Figures 6.3 and 6.4: the layers a global mask keeps
def _layer(t: Tables, setting: Setting, p: Params, method: str, column: str) -> pd.Series:
    return layer_values(t[setting][1], p.floor, p.density, method, column)


def global_diff_overprunes_layers(t: Tables, p: Params) -> Optional[Verdict]:
    """ResNet, global: share of tensors at the floor, coherence_best > magnitude_best."""
    if not _have(t, RG) or p.floor <= 0:
        return None
    a, b = _layer(t, RG, p, "coherence_best", "at_floor"), _layer(t, RG, p, "magnitude_best", "at_floor")
    return _v("6-global-diff-overprunes-layers",
              "ResNet, global ranking: the diff mask leaves more tensors at the floor than the magnitude mask",
              "section 6.2 explains the diff collapse by layers pruned to the 2 % floor; no counts given",
              f"share of pruned tensors at the {p.floor:.0%} floor: coherence_best {_ms(a)}, magnitude_best {_ms(b)}",
              judge({"coherence_best - magnitude_best": (a, b)}), "Figure 6.3", t, RG)


def floor_masks_text(t: Tables, p: Params) -> Optional[Verdict]:
    """Section 6.2's text: coherence_worst and magnitude_best leave more tensors at the floor than random
    (pooled over the two masks)."""
    if not _have(t, RG) or p.floor <= 0:
        return None
    rnd = _layer(t, RG, p, "random", "at_floor")
    pairs = {m: (_layer(t, RG, p, m, "at_floor"), rnd) for m in ("coherence_worst", "magnitude_best")}
    ours = (f"share of pruned tensors at the {p.floor:.0%} floor: " +
            ", ".join(f"{m} {_ms(a)}" for m, (a, _) in pairs.items()) + f", random {_ms(rnd)}")
    return _v("6-resnet-floor-coherence-worst-magnitude-best",
              "ResNet, global ranking: the smallest-diff and the largest-magnitude masks leave more tensors at the "
              "floor than a random mask (section 6.2's text)",
              "text: coherence_worst and magnitude_best pruned many layers to the 2 % minimum (the caption of "
              "Fig. 6.3 names coherence_best and magnitude_worst instead); no counts given",
              ours, judge(pairs), "Figure 6.3", t, RG)


def early_layers_caption(t: Tables, p: Params) -> Optional[Verdict]:
    """Caption of Fig. 6.3: coherence_best and magnitude_worst keep less of the early tensors (first half by
    depth) than random (pooled over the two masks)."""
    if not _have(t, RG):
        return None
    rnd = _layer(t, RG, p, "random", "early_kept")
    pairs = {m: (_layer(t, RG, p, m, "early_kept"), rnd) for m in ("coherence_best", "magnitude_worst")}
    ours = ("fraction kept of the weights in the first half of the tensors: " +
            ", ".join(f"{m} {_ms(a)}" for m, (a, _) in pairs.items()) + f", random {_ms(rnd)}")
    return _v("6-resnet-early-layers-coherence-best-magnitude-worst",
              "ResNet, global ranking: the largest-diff and the smallest-magnitude masks keep less of the early "
              "layers than a random mask (the caption of Fig. 6.3)",
              "caption of Fig. 6.3: coherence_best and magnitude_worst severely pruned the early layers (the text "
              "names coherence_worst and magnitude_best); no counts given",
              ours, judge(pairs, claim="less"), "Figure 6.3", t, RG)


def vit_global_even_layers(t: Tables, p: Params) -> Optional[Verdict]:
    """ViT, global: per seed, the number of (mask, tensor) pairs at the floor is 0 within :data:`EVEN_MARGIN`."""
    if not _have(t, VG) or p.floor <= 0:
        return None
    st = layer_stats(t[VG][1], p.floor, p.density)
    st = st[st["method"].isin(PRUNED)]
    counts = st.groupby("seed")["n_at_floor"].sum().astype(float).sort_index()
    worst = st.groupby("method")["n_at_floor"].mean().idxmax()
    test = judge({"tensors at the floor": (counts, pd.Series(0.0, index=counts.index))}, claim="equal",
                 margin=EVEN_MARGIN)
    return _v("6-vit-global-even-layers", "ViT, global ranking: no mask pushes any tensor down to the floor",
              "section 6.2: no ViT layer hits the 2 % minimum (Fig. 6.4)",
              f"tensors at the {p.floor:.0%} floor over all masks, per seed: {[int(x) for x in counts]} (most: "
              f"{worst}); smallest fraction kept {st['min_kept'].min():.3f}", test, "Figure 6.4", t, VG)


# ---- Table 6.2 (ViT, global ranking)
def vit_diff_wins_global(t: Tables, p: Params) -> Optional[Verdict]:
    """Section 6.1's text: coherence_best > the best of magnitude_best, magnitude_worst and random (ViT, global)."""
    if not _have(t, VG):
        return None
    test, ours = _wins(t, VG, "coherence_best", ["magnitude_best", "magnitude_worst", "random"])
    return _v("6-vit-diff-wins-global",
              "ViT, global ranking: the diff mask beats the magnitude and random masks (section 6.1's text)",
              "text: diff-based pruning is the clear winner; " +
              _thesis(VG, "magnitude_best", "coherence_worst", "coherence_best", "random"),
              ours, test, "Table 6.2", t, VG)


def vit_diff_matches_dense_global(t: Tables, p: Params) -> Optional[Verdict]:
    """Section 6.1's text: coherence_best within :data:`PARITY_MARGIN` of the dense ViT (equivalence)."""
    if not _have(t, VG):
        return None
    test, ours = _two(t, VG, "coherence_best", "none", claim="equal", margin=PARITY_MARGIN)
    return _v("6-vit-diff-matches-dense-global",
              f"ViT, global ranking: the diff mask is within {PARITY_MARGIN:.0%} of the dense network (section 6.1's text)",
              "text: diff pruning matches the dense network; " + _thesis(VG, "none", "coherence_worst", "coherence_best"),
              ours, test, "Table 6.2", t, VG)


def vit_magnitude_best_wins_global(t: Tables, p: Params) -> Optional[Verdict]:
    """Table 6.2's order: magnitude_best > the best other pruned mask (ViT, global)."""
    if not _have(t, VG):
        return None
    test, ours = _wins(t, VG, "magnitude_best")
    return _v("6-vit-magnitude-best-wins-global",
              "ViT, global ranking: the largest-magnitude mask gives the best pruned network (Table 6.2's order)",
              _thesis(VG, "magnitude_best", "coherence_worst", "coherence_best") + " (the text says diff pruning wins)",
              ours, test, "Table 6.2", t, VG)


def vit_random_beats_magnitude_global(t: Tables, p: Params) -> Optional[Verdict]:
    """Section 6.1's text: random > magnitude_best (ViT, global)."""
    if not _have(t, VG):
        return None
    test, ours = _two(t, VG, "random", "magnitude_best")
    return _v("6-vit-random-beats-magnitude-global",
              "ViT, global ranking: the random mask beats the largest-magnitude mask (section 6.1's text)",
              "text: random pruning outperforms magnitude pruning; " + _thesis(VG, "magnitude_best", "random") +
              " (the table says the reverse)", ours, test, "Table 6.2", t, VG)


# ---- Table 6.6 (ViT, per layer)
def vit_diff_best_layer(t: Tables, p: Params) -> Optional[Verdict]:
    """ViT, per layer: coherence_best > the best other pruned mask."""
    if not _have(t, VL):
        return None
    test, ours = _wins(t, VL, "coherence_best")
    return _v("6-vit-diff-best-layer", "ViT, per-layer ranking: the diff mask gives the best pruned network",
              _thesis(VL, "coherence_best", "magnitude_worst", "magnitude_best"), ours, test, "Table 6.6", t, VL)


def vit_no_parity_layer(t: Tables, p: Params) -> Optional[Verdict]:
    """Section 6.2: per layer the ViT's diff mask stays more than :data:`PARITY_MARGIN` below dense (one-sided)."""
    if not _have(t, VL):
        return None
    test, ours = _two(t, VL, "coherence_best", "none", claim="less", threshold=-PARITY_MARGIN)
    return _v("6-vit-no-parity-layer",
              f"ViT, per-layer ranking: the diff mask stays more than {PARITY_MARGIN:.0%} below the dense network "
              "(it does not reach parity)",
              "section 6.2: unable to achieve parity with the dense network; " + _thesis(VL, "none", "coherence_best"),
              ours + f" (held when the interval lies below -{PARITY_MARGIN:g})", test, "Table 6.6", t, VL)


# ---- section 7.3
def _best_vs_dense(t: Tables, setting: Setting) -> tuple[str, pd.Series, pd.Series]:
    best = best_of(t, setting, PRUNED)
    return best, values(t, setting, best), values(t, setting, "none")


def pruned_near_parity(t: Tables, p: Params) -> Optional[Verdict]:
    """Section 7.3: for each architecture, the best pruned mask (global, by mean) within :data:`NEAR_MARGIN` of
    dense (equivalence, every architecture)."""
    settings = [k for k in (RG, VG) if k in t]
    if not settings:
        return None
    best = {k: _best_vs_dense(t, k) for k in settings}
    pairs = {f"{FAMILY[k[0]]} {m} - none": (a, b) for k, (m, a, b) in best.items()}
    ours = "; ".join(f"{FAMILY[k[0]]}: {m} {_ms(a)}, dense {_ms(b)}" for k, (m, a, b) in best.items())
    return _v("6-pruned-near-parity",
              f"The best pruned ResNet and the best pruned ViT (global ranking) are each within {NEAR_MARGIN:.0%} of "
              "their dense network",
              "section 7.3: pruned versions of both models are within a few percentage points of parity; " +
              "; ".join(_thesis(k, "none", max(PRUNED, key=lambda m: PRUNE_TABLES[k][m][1])) for k in (RG, VG)),
              ours, judge(pairs, claim="equal", margin=NEAR_MARGIN, every=True),
              "Tables " + ", ".join(TABLE_NUMBERS[k] for k in settings), t, *settings)


def only_vit_competitive(t: Tables, p: Params) -> Optional[Verdict]:
    """Section 7.3: the best pruned ViT is no more than :data:`PARITY_MARGIN` below dense, and the best pruned
    ResNet is more than that below (both one-sided; both must hold)."""
    if not _have(t, RG, VG):
        return None
    (mv, av, bv), (mr, ar, br) = _best_vs_dense(t, VG), _best_vs_dense(t, RG)
    vit = judge({"v": (av, bv)}, claim="greater", threshold=-PARITY_MARGIN)
    res = judge({"r": (ar, br)}, claim="less", threshold=-PARITY_MARGIN)
    parts = {f"ViT {mv} - none (above -{PARITY_MARGIN:g})": (av, bv), f"ResNet {mr} - none (below -{PARITY_MARGIN:g})": (ar, br)}
    tests = dict(zip(parts, (vit, res)))
    test = _every_of(tests)
    return _v("6-only-vit-competitive",
              f"Only the ViT has a pruned network competitive with its dense one: the best pruned ViT is no more than "
              f"{PARITY_MARGIN:.0%} below dense, the best pruned ResNet more than that",
              "section 7.3: only the ViT permitted a pruned model competitive with the dense model; " +
              "; ".join(_thesis(k, "none", max(PRUNED, key=lambda m: PRUNE_TABLES[k][m][1])) for k in (VG, RG)) +
              " (the ResNet table has a pruned network above dense)",
              f"ViT: {mv} {_ms(av)}, dense {_ms(bv)}; ResNet: {mr} {_ms(ar)}, dense {_ms(br)}", test,
              "Tables 6.1, 6.2", t, RG, VG)


def _every_of(tests: Mapping[str, dict[str, Any]]) -> dict[str, Any]:
    """Conjunction of separately judged parts (as ``judge(..., every=True)``, for parts of different claims)."""
    words = [v["verdict"] for v in tests.values()]
    if NOT_HELD in words:
        key = next(k for k, v in tests.items() if v["verdict"] == NOT_HELD)
    elif all(w == HELD for w in words):
        key = min(tests, key=lambda k: _room(tests[k]))
    else:
        key = next(k for k, v in tests.items() if v["verdict"] != HELD)
    return {**tests[key], "rule": "every item", "decided_by": key, "items": _items(tests)}


#: The claims of chapter 6 (and of sections 7.1-7.3 that rest on it), in display order.
RULES: tuple[Callable[[Tables, Params], Optional[Verdict]], ...] = (
    magnitude_best_wins_global, random_best_global, coherence_worst_second_global, coherence_best_above_worst_global,
    magnitude_beats_diff_global, magnitude_beats_diff_layer, diff_beats_random_resnet,
    layer_fixes_resnet_diff, no_longer_inverted_layer, random_strong,
    vit_diff_wins_global, vit_diff_matches_dense_global, vit_magnitude_best_wins_global,
    vit_random_beats_magnitude_global, vit_diff_best_layer, vit_no_parity_layer,
    mask_inversion_gap_small, mask_inversion_gap_small_vit_global,
    global_diff_overprunes_layers, floor_masks_text, early_layers_caption, vit_global_even_layers,
    pruned_near_parity, only_vit_competitive,
)


def verdicts(s: Setup, r: Results) -> list[Verdict]:
    """The verdicts of chapter 6 from ``r.tables`` (pure: nothing stored or shown). Claims whose runs are
    missing are not returned."""
    return [v for v in (rule(r.tables, s.params) for rule in RULES) if v is not None]


def item_table(vs: Sequence[Verdict]) -> pd.DataFrame:
    """The per-item intervals of the claims decided over several tables, masks or architectures: one row
    per (claim, item) with the paired difference, its 95 % interval and the item's own verdict; the rule
    says how the items made the claim's verdict (pooled pairs, or every item)."""
    rows = []
    for v in vs:
        for it in v.test.get("items", []):
            rows.append({"claim_id": v.claim_id, "rule": v.test.get("rule", ""), "item": it["item"],
                         "difference [95 % CI]": interval_text(it), "item verdict": it["verdict"],
                         "claim verdict": v.verdict})
    return pd.DataFrame(rows, columns=["claim_id", "rule", "item", "difference [95 % CI]", "item verdict",
                                       "claim verdict"])


def items(s: Setup, vs: Sequence[Verdict]) -> "pd.io.formats.style.Styler":
    """:func:`item_table` for display, verdicts as coloured badges."""
    return with_badges(with_badges(_left(item_table(vs)), "item verdict"), "claim verdict")


def caveats(s: Setup) -> "Markdown":
    """The chapter's caveats, with this profile's models, images and epochs against the thesis's (generated,
    so the text never disagrees with the runs)."""
    from IPython.display import Markdown

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
