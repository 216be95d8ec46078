"""Chapter 6: pruning the ResNet and the ViT (thesis Tables 6.1, 6.2, 6.5, 6.6; Figs. 6.3, 6.4).

The notebook calls, in order: :func:`setup`, :func:`results` (trains or loads exactly :func:`plan`),
:func:`settings_table`, :func:`weight_budget_table`, :func:`table_6_1`, :func:`table_6_2`,
:func:`figure_6_3` and :func:`floor_table_6_3`, :func:`figure_6_4` and :func:`floor_table_6_4`,
:func:`table_6_5`, :func:`table_6_6`, then :func:`verdicts` (pure) and :func:`headline`. The analysis
(result tables, floors, the layer figure) lives in :mod:`lib.chapters.large`; the decision rules of
the claims are here, one function per claim (:data:`RULES`).
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Callable, Mapping, Optional

import numpy as np
import pandas as pd

from .. import profiles, runs
from ..config import Stages, TrainConfig, merge_stages
from ..experiments import plan_configs
from ..models import ARCHS
from . import figures
from . import params as check
from .large import (METHODS, PRUNED, SCOPES, accuracies, base_config, best_rival, fig_layers, floor_shares,
                    floor_table, format_results, mean_sd, results_table, run_all, scope_floor, table_title,
                    weight_budget)
from .thesis import PRUNE_TABLES, TABLE_NUMBERS
from .verdicts import Verdict, compare

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
    inversion_gap: float = 0.02  # test-accuracy gap magnitude_best - magnitude_worst that counts as "small"

    def __post_init__(self) -> None:
        check.profile(self.profile)
        check.integer(self.seed, "seed", minimum=0)
        check.choice(self.arch_cnn, "arch_cnn", [a for a in ARCHS if a.startswith("resnet")], optional=True)
        check.choice(self.arch_vit, "arch_vit", [a for a in ARCHS if a.startswith("vit")], optional=True)
        check.density(self.density)
        check.number(self.floor, "floor", low=0.0, high=self.density)
        check.integer(self.epochs, "epochs", minimum=1, optional=True)
        check.integers(self.seeds, "seeds", minimum=0)
        check.number(self.inversion_gap, "inversion_gap", low=0.0)


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
    """The chapter's runs, read back: ``tables[(family, scope)] = (results, layers)``."""

    tables: Tables

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
    return Results(run_all(s.bases, seeds=s.seeds, density=s.params.density, floor=s.params.floor, progress=False))


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
    return _left(floor_table(layers, s.params.floor, s.params.density)).format(precision=3)


def floor_table_6_3(s: Setup, r: Results) -> "pd.io.formats.style.Styler":
    """Under Figure 6.3: per ResNet global mask, tensors at the floor, thin tensors, extremes, early share."""
    return _floor(s, r, "resnet")


def floor_table_6_4(s: Setup, r: Results) -> "pd.io.formats.style.Styler":
    """Under Figure 6.4: the same for the ViT."""
    return _floor(s, r, "vit")


# ------------------------------------------------------------------------------------------ verdicts
def _thesis_test(fam: str, scope: str, *methods: str) -> str:
    t = PRUNE_TABLES[(fam, scope)]
    return ", ".join(f"{m} {t[m][1]:.4f}" for m in methods)


def _beats(results: pd.DataFrame, method: str, rivals: list[str]) -> tuple[str, str]:
    """(verdict of "method has the highest test accuracy among method and rivals", description)."""
    r, b = best_rival(results, rivals)
    a = accuracies(results, method)
    return compare(a, b), f"{method} {mean_sd(a)} vs best other ({r}) {mean_sd(b)}"


def _res(t: Tables, fam: str, scope: str) -> pd.DataFrame:
    return t[(fam, scope)][0]


def _v(cid: str, claim: str, thesis: str, ours: str, verdict: str, figure: str) -> Verdict:
    return Verdict(cid, "06", claim, thesis, ours, verdict, figure)


def magnitude_best_wins_global(t: Tables, p: Params) -> Optional[Verdict]:
    """ResNet, global: magnitude_best against the best other pruned mask."""
    if ("resnet", "global") not in t:
        return None
    verdict, ours = _beats(_res(t, "resnet", "global"), "magnitude_best", [m for m in PRUNED if m != "magnitude_best"])
    return _v("6-resnet-magnitude-best-wins-global",
              "With global ranking, the ResNet pruned by largest magnitude has the best test accuracy of the pruned networks",
              "section 6.1's text says magnitude pruning is best; its Table 6.1 puts random first (" +
              _thesis_test("resnet", "global", "random", "magnitude_best") + ")", ours, verdict, "Table 6.1")


def _magnitude_beats_diff(t: Tables, scope: str) -> Optional[Verdict]:
    if ("resnet", scope) not in t:
        return None
    r = _res(t, "resnet", scope)
    a, b = accuracies(r, "magnitude_best"), accuracies(r, "coherence_best")
    what = "global ranking" if scope == "global" else "per-layer ranking"
    table = f"Table {TABLE_NUMBERS[('resnet', scope)]}"
    return _v(f"6-resnet-magnitude-beats-diff-{scope}", f"ResNet, {what}: magnitude masks beat diff masks",
              f"{table}: " + _thesis_test("resnet", scope, "magnitude_best", "coherence_best"),
              f"magnitude_best {mean_sd(a)}, coherence_best {mean_sd(b)}", compare(a, b), table)


def magnitude_beats_diff_global(t: Tables, p: Params) -> Optional[Verdict]:
    """ResNet, global: magnitude_best against coherence_best."""
    return _magnitude_beats_diff(t, "global")


def magnitude_beats_diff_layer(t: Tables, p: Params) -> Optional[Verdict]:
    """ResNet, per layer: magnitude_best against coherence_best."""
    return _magnitude_beats_diff(t, "layer")


def layer_fixes_resnet_diff(t: Tables, p: Params) -> Optional[Verdict]:
    """ResNet: coherence_best per layer against coherence_best global."""
    if ("resnet", "global") not in t or ("resnet", "layer") not in t:
        return None
    a, b = accuracies(_res(t, "resnet", "layer"), "coherence_best"), accuracies(_res(t, "resnet", "global"), "coherence_best")
    return _v("6-layer-fixes-resnet-diff", "Ranking within each layer rescues the ResNet's diff (coherence_best) mask",
              f"coherence_best test accuracy {PRUNE_TABLES[('resnet', 'layer')]['coherence_best'][1]:.4f} per layer "
              f"(Table 6.5) against {PRUNE_TABLES[('resnet', 'global')]['coherence_best'][1]:.4f} global (Table 6.1)",
              f"coherence_best per layer {mean_sd(a)}, global {mean_sd(b)}", compare(a, b), "Tables 6.1, 6.5")


def vit_diff_competitive(t: Tables, p: Params) -> Optional[Verdict]:
    """ViT, global: coherence_best against the better of magnitude_best and random."""
    if ("vit", "global") not in t:
        return None
    r = _res(t, "vit", "global")
    verdict, ours = _beats(r, "coherence_best", ["magnitude_best", "random"])
    return _v("6-vit-diff-competitive",
              "ViT, global ranking: the diff mask does at least as well as magnitude and random masks",
              "section 6.1's text: diff pruning wins and matches the dense ViT; Table 6.2: " +
              _thesis_test("vit", "global", "none", "magnitude_best", "coherence_worst", "coherence_best", "random"),
              f"{ours}; coherence_worst {mean_sd(accuracies(r, 'coherence_worst'))}; dense {mean_sd(accuracies(r, 'none'))}",
              verdict, "Table 6.2")


def vit_diff_best_layer(t: Tables, p: Params) -> Optional[Verdict]:
    """ViT, per layer: coherence_best against the best other pruned mask."""
    if ("vit", "layer") not in t:
        return None
    verdict, ours = _beats(_res(t, "vit", "layer"), "coherence_best", [m for m in PRUNED if m != "coherence_best"])
    return _v("6-vit-diff-best-layer", "ViT, per-layer ranking: the diff mask gives the best pruned network",
              "Table 6.6: " + _thesis_test("vit", "layer", "coherence_best", "magnitude_worst", "magnitude_best"),
              ours, verdict, "Table 6.6")


def random_strong(t: Tables, p: Params) -> Optional[Verdict]:
    """ResNet: random against magnitude_best in each scope; held when no scope has magnitude_best ahead
    beyond the seed spread (a tie counts as "as well as"), else not held."""
    scopes = [s for s in SCOPES if ("resnet", s) in t]
    if not scopes:
        return None
    parts, ahead = [], []
    for s in scopes:
        a, b = accuracies(_res(t, "resnet", s), "random"), accuracies(_res(t, "resnet", s), "magnitude_best")
        c = compare(a, b)
        ahead.append(c == "not held")
        parts.append(f"{s}: random {mean_sd(a)}, magnitude_best {mean_sd(b)} ({c})")
    return _v("6-random-strong", "On the ResNet a random mask does as well as (within the seed spread) or better than "
              "the largest-magnitude mask",
              "Tables 6.1 and 6.5: " + "; ".join(_thesis_test("resnet", s, "random", "magnitude_best") for s in SCOPES),
              "; ".join(parts), "not held" if any(ahead) else "held", "Tables 6.1, 6.5")


def mask_inversion_gap_small(t: Tables, p: Params) -> Optional[Verdict]:
    """magnitude_best - magnitude_worst per setting; "small" when the gap less the larger seed sd is at most
    ``inversion_gap``. Held when every setting the thesis calls small (ResNet both scopes, ViT per layer)
    that we ran is small."""
    settings = [k for k in [("resnet", "global"), ("resnet", "layer"), ("vit", "layer"), ("vit", "global")] if k in t]
    if not settings:
        return None
    parts, small = [], {}
    for k in settings:
        a, b = accuracies(_res(t, *k), "magnitude_best"), accuracies(_res(t, *k), "magnitude_worst")
        gap = float(np.mean(a) - np.mean(b))
        sd = max(float(np.std(a, ddof=1)) if len(a) > 1 else 0.0, float(np.std(b, ddof=1)) if len(b) > 1 else 0.0)
        small[k] = gap - sd <= p.inversion_gap
        parts.append(f"{k[0]} {k[1]} {gap:+.3f}{' (small)' if small[k] else ''}")
    thesis_small = [k for k in [("resnet", "global"), ("resnet", "layer"), ("vit", "layer")] if k in small]
    verdict = "held" if thesis_small and all(small[k] for k in thesis_small) else "not held"
    tg = {k: PRUNE_TABLES[k]["magnitude_best"][1] - PRUNE_TABLES[k]["magnitude_worst"][1] for k in PRUNE_TABLES}
    return _v("6-mask-inversion-gap-small",
              f"Keeping the smallest weights costs little against keeping the largest (test-accuracy gap within "
              f"{p.inversion_gap:.0%} after the seed sd) where the thesis's tables say so: ResNet both scopes, ViT per layer",
              "section 7.2, citing Tables 6.1, 6.2, 6.5, 6.6; their gaps magnitude_best - magnitude_worst: " +
              ", ".join(f"{TABLE_NUMBERS[k]} {g:+.4f}" for k, g in tg.items()) + " (Table 6.2's is large)",
              "gaps " + "; ".join(parts), verdict, "Tables 6.1, 6.2, 6.5, 6.6")


def global_diff_overprunes_layers(t: Tables, p: Params) -> Optional[Verdict]:
    """ResNet, global: share of tensors at the floor, coherence_best against magnitude_best."""
    if ("resnet", "global") not in t or p.floor <= 0:
        return None
    lay = t[("resnet", "global")][1]
    a, b = floor_shares(lay, p.floor, "coherence_best"), floor_shares(lay, p.floor, "magnitude_best")
    cw = floor_shares(lay, p.floor, "coherence_worst")
    return _v("6-global-diff-overprunes-layers",
              "ResNet, global ranking: the diff mask leaves more layers at the floor than the magnitude mask",
              "section 6.2's text: coherence_worst and magnitude_best push many layers down to the 2 % floor; the caption "
              "of Fig. 6.3 names coherence_best and magnitude_worst (early layers); no counts given",
              f"share of pruned tensors at the {p.floor:.0%} floor: coherence_best {mean_sd(a)}, magnitude_best "
              f"{mean_sd(b)}, coherence_worst {mean_sd(cw)}", compare(a, b), "Figure 6.3")


def vit_global_even_layers(t: Tables, p: Params) -> Optional[Verdict]:
    """ViT, global: held when no mask leaves any tensor at the floor in any seed."""
    if ("vit", "global") not in t or p.floor <= 0:
        return None
    lay = t[("vit", "global")][1]
    shares = {m: floor_shares(lay, p.floor, m) for m in PRUNED if m in set(lay["method"])}
    worst = max(shares, key=lambda m: np.mean(shares[m]))
    return _v("6-vit-global-even-layers", "ViT, global ranking: no mask pushes any layer down to the floor",
              "Fig. 6.4: ViT layers are pruned evenly, none reaches the floor",
              f"largest share of tensors at the {p.floor:.0%} floor: {worst} {mean_sd(shares[worst])}; smallest fraction "
              f"kept {lay['fraction_kept'].min():.3f}", "held" if all(max(x) == 0 for x in shares.values()) else "not held",
              "Figure 6.4")


#: The claims of chapter 6 (and of 7.2 that rest on it), in display order.
RULES: tuple[Callable[[Tables, Params], Optional[Verdict]], ...] = (
    magnitude_best_wins_global, magnitude_beats_diff_global, magnitude_beats_diff_layer, layer_fixes_resnet_diff,
    vit_diff_competitive, vit_diff_best_layer, random_strong, mask_inversion_gap_small,
    global_diff_overprunes_layers, vit_global_even_layers,
)


def verdicts(s: Setup, r: Results) -> list[Verdict]:
    """The verdicts of chapter 6 from ``r.tables`` (pure: nothing stored or shown). Claims whose runs are
    missing are not returned; with one seed each "ours" says the sign decided."""
    note = "" if len(s.seeds) > 1 else " (one seed: no spread to compare with, the sign decides)"
    out = [rule(r.tables, s.params) for rule in RULES]
    return [replace(v, ours=v.ours + note) for v in out if v is not None]


def headline(s: Setup, vs: list[Verdict]) -> str:
    """Markdown line over the verdict table: profile, seeds and the count of each verdict."""
    counts = pd.Series([v.verdict for v in vs], dtype=object).value_counts()
    return (f"**Chapter 6 verdicts** (profile `{s.profile.name}`, seeds {list(s.seeds)}; "
            + ", ".join(f"{n} {k}" for k, n in counts.items()) + ").")
