"""Chapters 6 and 7: pruning the ResNet and the ViT, and the table of the thesis's conclusions.

Chapter 6 (thesis sections 6.1, 6.2)
    * :func:`base_config`: the dense parent of one architecture (SGD at ``prune_cnn_lr`` for ResNets,
      Adam at ``vit_lr`` for ViTs, ``prune_epochs`` epochs, gradient statistics on for the diff masks).
    * :func:`run_all`: :func:`lib.experiments.prune_large` for every (architecture, scope): global
      ranking with a per-layer floor, and per-layer ("local") ranking without one.
    * :func:`results_table`: our train/test accuracy per mask (mean and seed sd) beside the thesis's
      Table 6.1/6.2/6.5/6.6, in the thesis's row order.
    * :func:`floor_table`, :func:`fig_layers`: how much of each layer a global mask keeps (Figs. 6.3, 6.4).
    * :func:`chapter6_verdicts`: the claims of chapter 6 (and of 7.1-7.2 that rest on it), decided from
      the numbers with :func:`lib.verdicts.compare` (a tie when the gap is within the larger seed sd).

Chapter 7
    * :data:`CONCLUSIONS`: the eight conclusions of thesis section 7.1, in our words, with the chapter
      and figures that decide each.
    * :func:`assign`, :func:`conclusions_table`: every recorded verdict attached to the conclusion it
      bears on (by the figure it names, then by its wording), and one row per conclusion.

Everything returns DataFrames or matplotlib figures; the notebooks only display them.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace
from typing import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from ..experiments import prune_large
from ..profiles import Profile, is_vit, large_config
from .thesis import PRUNE_TABLES, TABLE_NUMBERS
from ..config import TrainConfig
from .verdicts import VERDICTS, Verdict, compare

#: The masks of chapter 6, in the order they are trained (``none`` = a fresh dense run).
METHODS = ("none", "random", "magnitude_best", "magnitude_worst", "coherence_best", "coherence_worst")
PRUNED = METHODS[1:]
SCOPES = ("global", "layer")
#: Layer groups drawn in figures 6.3 (ResNet) and 6.4 (ViT), in legend order.
GROUPS = {"resnet": ("conv", "shortcut"), "vit": ("qkv", "ff_hidden", "block_output")}


# ------------------------------------------------------------------------------------ chapter 6 runs
def base_config(p: Profile, arch: str, *, epochs: int | None = None, seed: int = 0) -> TrainConfig:
    """The dense parent of chapter 6 for ``arch`` (statistics on, for the diff masks).

    It records the same tracked tensor as chapter 2's real-data run (:func:`lib.realdata.run_configs`),
    so where a profile gives both chapters the same data, epochs and learning rate (``cpu``), the parent
    *is* chapter 2's run and is trained once for the whole book."""
    from .realdata import tracked_layer

    lr = None if is_vit(arch) else p.prune_cnn_lr
    cfg = large_config(p, arch, epochs=p.prune_epochs if epochs is None else epochs, seed=seed, lr=lr,
                       n_train=p.prune_n_train, n_test=p.prune_n_test)
    return replace(cfg, track=(tracked_layer(arch),))


def scope_floor(scope: str, floor: float) -> float:
    """The floor a scope uses: ``floor`` for global ranking, 0 for per-layer ranking (where it has no effect)."""
    return float(floor) if scope == "global" else 0.0


def run_all(bases: Mapping[str, TrainConfig], *, seeds: Sequence[int], density: float = 0.1, floor: float = 0.02,
            methods: Sequence[str] = METHODS, scopes: Sequence[str] = SCOPES,
            progress: bool = False) -> dict[tuple[str, str], tuple[pd.DataFrame, pd.DataFrame]]:
    """``{(family, scope): (results, layers)}`` of :func:`lib.experiments.prune_large` for each base
    (``{family: config}``) and scope. Parents and the dense ``none`` runs are shared between scopes
    (same configs, so the second scope finds them in the cache)."""
    out = {}
    for fam, base in bases.items():
        for scope in scopes:
            out[(fam, scope)] = prune_large(base, methods, scope=scope, floor=scope_floor(scope, floor),
                                            density=density, seeds=list(seeds), progress=progress)
    return out


def weight_budget(arch: str, density: float) -> dict[str, object]:
    """Weight counts of ``arch``: all weight tensors, the prunable ones (:func:`lib.masks.prunable`),
    how many a mask keeps at ``density``, and the share of the child's nonzero weights that sit in
    tensors left dense (too small, the head, the ViT's patch embedding)."""
    from ..masks import prunable
    from ..models import ModelConfig, build_model, count_weights

    model = build_model(ModelConfig(arch=arch))
    params = dict(model.named_parameters())
    names = prunable(model)
    total = count_weights(model)[0]
    pr = sum(params[n].numel() for n in names)
    kept = round(density * pr)
    return {"arch": arch, "weights": total, "prunable tensors": len(names), "prunable weights": pr,
            "kept by a mask": kept, "child nonzero weights": total - pr + kept,
            "share of child weights never pruned": (total - pr) / (total - pr + kept)}


# --------------------------------------------------------------------------------------- tables
def accuracies(results: pd.DataFrame, method: str, column: str = "test_acc") -> list[float]:
    """``column`` of ``method``'s runs, one value per seed (ascending seed)."""
    d = results[results["method"] == method].sort_values("seed")
    if not len(d):
        raise ValueError(f"no runs of method {method!r}; have {sorted(results['method'].unique())}")
    return [float(x) for x in d[column]]


def _sd(x: Sequence[float]) -> float:
    return float(np.std(x, ddof=1)) if len(x) > 1 else float("nan")


def results_table(results: pd.DataFrame, fam: str, scope: str) -> pd.DataFrame:
    """One row per mask, in the thesis's table order (its test accuracy, descending): our train and test
    accuracy (mean and sd over seeds, sd NaN with one seed), the thesis's numbers, and both ranks among
    the six rows (1 = highest test accuracy)."""
    thesis = PRUNE_TABLES[(fam, scope)]
    rows = []
    for m in thesis:
        if m not in set(results["method"]):
            continue
        tr, te = accuracies(results, m, "train_acc"), accuracies(results, m, "test_acc")
        rows.append({"method": m, "train_acc": float(np.mean(tr)), "train_sd": _sd(tr), "test_acc": float(np.mean(te)),
                     "test_sd": _sd(te), "thesis_train_acc": thesis[m][0], "thesis_test_acc": thesis[m][1], "seeds": len(te)})
    df = pd.DataFrame(rows)
    df["our_rank"] = df["test_acc"].rank(ascending=False, method="min").astype(int)
    df["thesis_rank"] = df["thesis_test_acc"].rank(ascending=False, method="min").astype(int)
    return df


def format_results(df: pd.DataFrame) -> pd.DataFrame:
    """:func:`results_table` for display: "mean ± sd" strings next to the thesis's numbers."""
    def pm(m: float, s: float) -> str:
        return f"{m:.3f}" if not np.isfinite(s) else f"{m:.3f} ± {s:.3f}"

    return pd.DataFrame({
        "mask": df["method"],
        "train acc. (ours)": [pm(m, s) for m, s in zip(df["train_acc"], df["train_sd"])],
        "train acc. (thesis)": df["thesis_train_acc"].map(lambda x: f"{x:.4f}"),
        "test acc. (ours)": [pm(m, s) for m, s in zip(df["test_acc"], df["test_sd"])],
        "test acc. (thesis)": df["thesis_test_acc"].map(lambda x: f"{x:.4f}"),
        "rank (ours)": df["our_rank"],
        "rank (thesis)": df["thesis_rank"],
    })


def table_title(fam: str, scope: str) -> str:
    """E.g. "Table 6.1: ResNet, global ranking with a floor"."""
    what = "global ranking with a per-layer floor" if scope == "global" else "every layer pruned to the same density"
    return f"Table {TABLE_NUMBERS[(fam, scope)]}: {'ResNet' if fam == 'resnet' else 'ViT'}, {what}"


def floor_count(size: int, floor: float) -> int:
    """Entries a tensor of ``size`` keeps at the floor (as :func:`lib.masks.make_mask` computes it)."""
    return min(size, math.ceil(floor * size - 1e-9))


def at_floor(layers: pd.DataFrame, floor: float) -> pd.Series:
    """Boolean per layer-table row: the tensor kept no more than its floor (never True when ``floor`` = 0)."""
    if floor <= 0:
        return pd.Series(False, index=layers.index)
    return layers["kept"] <= [floor_count(int(s), floor) for s in layers["size"]]


def floor_table(layers: pd.DataFrame, floor: float, density: float) -> pd.DataFrame:
    """Per mask (mean over seeds): share of the pruned tensors left at the floor, share kept below half
    the target density, the smallest and largest fraction kept of any tensor, and the share of the
    pruned weights that sit in the first half of the tensors (by depth)."""
    d = layers.assign(at_floor=at_floor(layers, floor), thin=layers["fraction_kept"] < density / 2)
    rows = []
    for (m, s), g in d.groupby(["method", "seed"], sort=False):
        half = g["depth"] < g["depth"].max() / 2
        rows.append({"method": m, "seed": s, "tensors": len(g), "at_floor": float(g["at_floor"].mean()),
                     "below_half_density": float(g["thin"].mean()), "min_kept": float(g["fraction_kept"].min()),
                     "max_kept": float(g["fraction_kept"].max()),
                     "early_kept": float(g.loc[half, "kept"].sum() / max(1, g.loc[half, "size"].sum()))})
    per_seed = pd.DataFrame(rows)
    order = [m for m in PRUNED if m in set(per_seed["method"])]
    out = per_seed.groupby("method").agg(
        tensors=("tensors", "first"), share_at_floor=("at_floor", "mean"), share_at_floor_sd=("at_floor", "std"),
        share_below_half_density=("below_half_density", "mean"), min_fraction_kept=("min_kept", "min"),
        max_fraction_kept=("max_kept", "max"), kept_in_first_half=("early_kept", "mean"))
    return out.loc[order].reset_index()


def floor_shares(layers: pd.DataFrame, floor: float, method: str) -> list[float]:
    """Per seed: the share of ``method``'s pruned tensors left at the floor."""
    d = layers[layers["method"] == method]
    if not len(d):
        raise ValueError(f"no layer rows for method {method!r}")
    flags = at_floor(d, floor)
    return [float(flags[d["seed"] == s].mean()) for s in sorted(d["seed"].unique())]


# --------------------------------------------------------------------------------------- figures
def fig_layers(layers: pd.DataFrame, fam: str, *, floor: float, density: float, title: str):
    """Fraction of each prunable tensor a global mask keeps, against depth (0 = first pruned tensor):
    one line per mask (seed mean), marker and dash by layer group; the floor and the overall density
    drawn as horizontal lines. Log y axis, so that the floor and the top are both readable."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    d = layers.groupby(["method", "layer", "group", "depth"], as_index=False, sort=False)["fraction_kept"].mean()
    hue_order = [m for m in PRUNED if m in set(d["method"])]
    groups = [g for g in GROUPS[fam] if g in set(d["group"])] + sorted(set(d["group"]) - set(GROUPS[fam]))
    fig, ax = plt.subplots(figsize=(9, 4.2))
    sns.lineplot(data=d, x="depth", y="fraction_kept", hue="method", hue_order=hue_order, style="group",
                 style_order=groups, markers=True, dashes=False, markersize=7, lw=1, alpha=0.85, ax=ax,
                 errorbar=None)
    if floor > 0:
        ax.axhline(floor, color="0.2", ls="--", lw=1, label=f"floor ({floor:.0%})")
    ax.axhline(density, color="0.5", ls=":", lw=1, label=f"overall density ({density:.0%})")
    ax.set_yscale("log")
    lo = min(float(d["fraction_kept"].min()), floor if floor > 0 else 1.0)
    ax.set_ylim(max(lo / 1.5, 1e-4), 1.05)
    ax.set_xlabel("depth of the pruned tensor (0 = first)")
    ax.set_ylabel("fraction of weights kept")
    ax.set_title(title)
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=8, frameon=False)
    return fig


# -------------------------------------------------------------------------------------- verdicts
#: Order from worst to best support, to combine sub-verdicts of one claim.
_RANK = {"not held": 0, "tie": 1, "held": 2}


def _fmt(x: Sequence[float]) -> str:
    return f"{np.mean(x):.3f}" + (f" ± {_sd(x):.3f}" if len(x) > 1 else "")


def best_rival(results: pd.DataFrame, rivals: Iterable[str]) -> tuple[str, list[float]]:
    """The mask among ``rivals`` with the highest mean test accuracy, and its per-seed test accuracies."""
    rivals = [m for m in rivals if m in set(results["method"])]
    best = max(rivals, key=lambda m: np.mean(accuracies(results, m)))
    return best, accuracies(results, best)


def _beats(results: pd.DataFrame, method: str, rivals: Iterable[str]) -> tuple[str, str]:
    """(verdict of "method has the highest test accuracy among method and rivals", description)."""
    r, b = best_rival(results, rivals)
    a = accuracies(results, method)
    return compare(a, b), f"{method} {_fmt(a)} vs best other ({r}) {_fmt(b)}"


def _thesis_test(fam: str, scope: str, *methods: str) -> str:
    t = PRUNE_TABLES[(fam, scope)]
    return ", ".join(f"{m} {t[m][1]:.4f}" for m in methods)


def chapter6_verdicts(tables: Mapping[tuple[str, str], tuple[pd.DataFrame, pd.DataFrame]], *, floor: float,
                      density: float, inversion_gap: float, seeds: Sequence[int]) -> list[Verdict]:
    """The verdicts of chapter 6 from ``{(family, scope): (results, layers)}`` (:func:`run_all`).
    Claims whose runs are missing (an architecture left out) are not returned."""
    out: list[Verdict] = []
    has = lambda fam, scope: (fam, scope) in tables  # noqa: E731
    res = lambda fam, scope: tables[(fam, scope)][0]  # noqa: E731
    note = "" if len(seeds) > 1 else " (one seed: no spread to compare with, the sign decides)"

    def v(cid, claim, thesis, ours, verdict, figure):
        out.append(Verdict(cid, "06", claim, thesis, ours + note, verdict, figure))

    if has("resnet", "global"):
        r = res("resnet", "global")
        verdict, ours = _beats(r, "magnitude_best", [m for m in PRUNED if m != "magnitude_best"])
        v("6-resnet-magnitude-best-wins-global",
          "With global ranking, the ResNet pruned by largest magnitude has the best test accuracy of the pruned networks",
          "section 6.1's text says magnitude pruning is best; its Table 6.1 puts random first (" +
          _thesis_test("resnet", "global", "random", "magnitude_best") + ")", ours, verdict, "Table 6.1")
        a, b = accuracies(r, "magnitude_best"), accuracies(r, "coherence_best")
        v("6-resnet-magnitude-beats-diff-global", "ResNet, global ranking: magnitude masks beat diff masks",
          "Table 6.1: " + _thesis_test("resnet", "global", "magnitude_best", "coherence_best"),
          f"magnitude_best {_fmt(a)}, coherence_best {_fmt(b)}", compare(a, b), "Table 6.1")
    if has("resnet", "layer"):
        r = res("resnet", "layer")
        a, b = accuracies(r, "magnitude_best"), accuracies(r, "coherence_best")
        v("6-resnet-magnitude-beats-diff-layer", "ResNet, per-layer ranking: magnitude masks beat diff masks",
          "Table 6.5: " + _thesis_test("resnet", "layer", "magnitude_best", "coherence_best"),
          f"magnitude_best {_fmt(a)}, coherence_best {_fmt(b)}", compare(a, b), "Table 6.5")
    if has("resnet", "global") and has("resnet", "layer"):
        a, b = accuracies(res("resnet", "layer"), "coherence_best"), accuracies(res("resnet", "global"), "coherence_best")
        v("6-layer-fixes-resnet-diff", "Ranking within each layer rescues the ResNet's diff (coherence_best) mask",
          f"coherence_best test accuracy {PRUNE_TABLES[('resnet', 'layer')]['coherence_best'][1]:.4f} per layer "
          f"(Table 6.5) against {PRUNE_TABLES[('resnet', 'global')]['coherence_best'][1]:.4f} global (Table 6.1)",
          f"coherence_best per layer {_fmt(a)}, global {_fmt(b)}", compare(a, b), "Tables 6.1, 6.5")
    if has("vit", "global"):
        r = res("vit", "global")
        verdict, ours = _beats(r, "coherence_best", ["magnitude_best", "random"])
        cw = accuracies(r, "coherence_worst")
        dense = accuracies(r, "none")
        v("6-vit-diff-competitive",
          "ViT, global ranking: the diff mask does at least as well as magnitude and random masks",
          "section 6.1's text: diff pruning wins and matches the dense ViT; Table 6.2: " +
          _thesis_test("vit", "global", "none", "magnitude_best", "coherence_worst", "coherence_best", "random"),
          f"{ours}; coherence_worst {_fmt(cw)}; dense {_fmt(dense)}", verdict, "Table 6.2")
    if has("vit", "layer"):
        r = res("vit", "layer")
        verdict, ours = _beats(r, "coherence_best", [m for m in PRUNED if m != "coherence_best"])
        v("6-vit-diff-best-layer", "ViT, per-layer ranking: the diff mask gives the best pruned network",
          "Table 6.6: " + _thesis_test("vit", "layer", "coherence_best", "magnitude_worst", "magnitude_best"),
          ours, verdict, "Table 6.6")
    scopes = [s for s in SCOPES if has("resnet", s)]
    if scopes:
        parts, subs = [], []
        for s in scopes:
            a, b = accuracies(res("resnet", s), "random"), accuracies(res("resnet", s), "magnitude_best")
            c = compare(a, b)
            subs.append("held" if c in ("held", "tie") else "not held")
            parts.append(f"{s}: random {_fmt(a)}, magnitude_best {_fmt(b)} ({c})")
        v("6-random-strong", "On the ResNet a random mask does as well as (within the seed spread) or better than "
          "the largest-magnitude mask",
          "Tables 6.1 and 6.5: " + "; ".join(_thesis_test("resnet", s, "random", "magnitude_best") for s in SCOPES),
          "; ".join(parts), min(subs, key=_RANK.get), "Tables 6.1, 6.5")
    settings = [k for k in [("resnet", "global"), ("resnet", "layer"), ("vit", "layer"), ("vit", "global")] if has(*k)]
    if settings:
        parts, small = [], {}
        for k in settings:
            a, b = accuracies(res(*k), "magnitude_best"), accuracies(res(*k), "magnitude_worst")
            gap = float(np.mean(a) - np.mean(b))
            sd = max(0.0 if len(a) < 2 else _sd(a), 0.0 if len(b) < 2 else _sd(b))
            small[k] = gap - sd <= inversion_gap
            parts.append(f"{k[0]} {k[1]} {gap:+.3f}{' (small)' if small[k] else ''}")
        thesis_small = [k for k in [("resnet", "global"), ("resnet", "layer"), ("vit", "layer")] if k in small]
        verdict = "held" if thesis_small and all(small[k] for k in thesis_small) else "not held"
        tg = {k: PRUNE_TABLES[k]["magnitude_best"][1] - PRUNE_TABLES[k]["magnitude_worst"][1] for k in PRUNE_TABLES}
        v("6-mask-inversion-gap-small",
          f"Keeping the smallest weights costs little against keeping the largest (test-accuracy gap within "
          f"{inversion_gap:.0%} after the seed sd) where the thesis's tables say so: ResNet both scopes, ViT per layer",
          "section 7.2, citing Tables 6.1, 6.2, 6.5, 6.6; their gaps magnitude_best - magnitude_worst: " +
          ", ".join(f"{TABLE_NUMBERS[k]} {g:+.4f}" for k, g in tg.items()) + " (Table 6.2's is large)",
          "gaps " + "; ".join(parts), verdict, "Tables 6.1, 6.2, 6.5, 6.6")
    if has("resnet", "global") and floor > 0:
        lay = tables[("resnet", "global")][1]
        a, b = floor_shares(lay, floor, "coherence_best"), floor_shares(lay, floor, "magnitude_best")
        cw = floor_shares(lay, floor, "coherence_worst")
        v("6-global-diff-overprunes-layers",
          "ResNet, global ranking: the diff mask leaves more layers at the floor than the magnitude mask",
          "section 6.2's text: coherence_worst and magnitude_best push many layers down to the 2 % floor; the caption "
          "of Fig. 6.3 names coherence_best and magnitude_worst (early layers); no counts given",
          f"share of pruned tensors at the {floor:.0%} floor: coherence_best {_fmt(a)}, magnitude_best {_fmt(b)}, "
          f"coherence_worst {_fmt(cw)}", compare(a, b), "Figure 6.3")
    if has("vit", "global") and floor > 0:
        lay = tables[("vit", "global")][1]
        shares = {m: floor_shares(lay, floor, m) for m in PRUNED if m in set(lay["method"])}
        worst = max(shares, key=lambda m: np.mean(shares[m]))
        v("6-vit-global-even-layers", "ViT, global ranking: no mask pushes any layer down to the floor",
          "Fig. 6.4: ViT layers are pruned evenly, none reaches the floor",
          f"largest share of tensors at the {floor:.0%} floor: {worst} {_fmt(shares[worst])}; smallest fraction kept "
          f"{lay['fraction_kept'].min():.3f}", "held" if all(max(x) == 0 for x in shares.values()) else "not held",
          "Figure 6.4")
    return out


# ------------------------------------------------------------------------------------- chapter 7
NOTEBOOKS = {"02": "02_coherence.ipynb", "03": "03_diffs.ipynb", "04": "04_width.ipynb",
             "05": "05_pruning_mlp.ipynb", "06": "06_pruning_large.ipynb", "07": "07_conclusions.ipynb"}


@dataclass(frozen=True)
class Conclusion:
    """One conclusion of thesis section 7.1, in our words, and the figures that decide it."""

    key: str
    text: str
    figures: tuple[str, ...]   # e.g. ("2.1", "2.2", "2.4"), thesis numbering
    words: str = ""            # regex on a verdict's id and claim (lower case) that must match for
                               # the verdict to count towards this conclusion (see :func:`assign`)


CONCLUSIONS: tuple[Conclusion, ...] = (
    Conclusion("C1", "Coherence is different on real and on random (Gaussian) data, whether training starts from a "
               "random initialisation or from weights already trained on real data", ("2.1", "2.2", "2.3", "2.4"),
               r"coheren"),
    Conclusion("C2", "Diffs are spread more widely at the epoch of highest coherence than at the epoch of lowest "
               "coherence", ("3.1", "3.2"), r"wider|spread"),
    Conclusion("C3", "Diffs are not clearly larger on real data than on random data, which weakens the link between "
               "diffs and coherence", ("3.1", "3.2"), r"real|gaussian|random.data|noise"),
    Conclusion("C4", "The (maximum) coherence of a fully-connected network grows with its width", ("4.1", "4.2", "4.3"),
               r"coheren"),
    Conclusion("C5", "A higher maximum coherence does not come with wider diffs: the widest MLP has the narrowest "
               "diff distribution", ("4.4",), r"diff"),
    Conclusion("C6", "A pruned MLP generalises better than a dense MLP with the same number of nonzero weights (lower "
               "training accuracy, higher test accuracy, smaller gap)", ("5.1", "5.2"), r"sparse|dense|pruned"),
    Conclusion("C7", "Growing the dense parent improves a pruned child of fixed nonzero size", ("5.3",), r"parent"),
    Conclusion("C8", "Diff pruning beats random pruning but loses to magnitude pruning on MLPs and on the ResNet; on "
               "the ViT it works well", ("5.1", "5.2", "5.3", "6.1", "6.2", "6.5", "6.6"),
               r"magnitude|diff|random|coherence_best|criteri"),
)

#: Where each conclusion is decided: (link text, notebook) pairs for the claims table.
CONCLUSION_LINKS = {
    "C1": [("Figures 2.1-2.4", "02")], "C2": [("Figures 3.1, 3.2", "03")], "C3": [("Figures 3.1, 3.2", "03")],
    "C4": [("Figure 4.3", "04")], "C5": [("Figure 4.4", "04")], "C6": [("Figures 5.1, 5.2", "05")],
    "C7": [("Figure 5.3", "05")], "C8": [("Figures 5.1-5.3", "05"), ("Tables 6.1, 6.2, 6.5, 6.6", "06")],
}

#: Verdict ids (regular expressions, matched in order) whose conclusion is fixed: the ids chapters 02-06 record
#: now. "" = bears on none of the eight (e.g. chapter 6's floor claims, the gravity check of chapter 2).
#: Ids not listed here fall back to :func:`assign`'s rule (figure, then wording).
EXPLICIT: tuple[tuple[str, str], ...] = (
    (r"^2-\w+-(peak|early|late)-coherence-", "C1"), (r"^2-\w+-fresh-real-gt-trained-gaussian$", "C1"),
    (r"^2-.*(memoris|magnitudes|gravity)", ""),
    (r"^3-diffs-wider-at-max-coherence$", "C2"), (r"^3-gaussian-diffs-not-smaller$", "C3"),
    (r"^3-(diffs-centred-normal|vit-gaussian-diff-spikes|\w+-high-low-diff-move-alike)$", ""),
    (r"^4-coherence-grows-with-width$", "C4"), (r"^4-diffs-narrow-with-width$", "C5"),
    (r"^4-gap-(grows-with-width|levels-off)$", ""),
    (r"^5-sparse-(beats-dense|smaller-gap)$", "C6"), (r"^5-parent-scaling-helps$", "C7"),
    (r"^5-(magnitude-beats-diff|random-weak-at-high-sparsity)$", "C8"),
    (r"^5-(random-smallest-gap|diff-smaller-gap-narrow)$", ""),
    (r"^6-(resnet-magnitude-best-wins-global|resnet-magnitude-beats-diff-(global|layer)|vit-diff-competitive|"
     r"vit-diff-best-layer)$", "C8"),
    (r"^6-(layer-fixes-resnet-diff|random-strong|mask-inversion-gap-small|global-diff-overprunes-layers|"
     r"vit-global-even-layers)$", ""),
)

_FIG = re.compile(r"(\d+)\.(\d+)")


def figures_named(text: str) -> list[str]:
    """Thesis figure/table numbers in a verdict's ``figure`` field: "Figures 2.1, 2.2" -> ["2.1", "2.2"];
    "Figures 2.1-2.4" -> ["2.1", "2.2", "2.3", "2.4"]."""
    out: list[str] = []
    for part in re.split(r"[,;/&]| and ", str(text)):
        nums = _FIG.findall(part)
        if len(nums) == 2 and nums[0][0] == nums[1][0] and re.search(r"\d\s*[-–]\s*\d", part):
            out += [f"{nums[0][0]}.{i}" for i in range(int(nums[0][1]), int(nums[1][1]) + 1)]
        else:
            out += [f"{a}.{b}" for a, b in nums]
    return out


def assign(verdicts: pd.DataFrame) -> pd.Series:
    """For each verdict row (columns of :class:`lib.verdicts.Verdict`), the key of the section-7.1 conclusion
    it bears on, or "" when none. Ids in :data:`EXPLICIT` are fixed. Otherwise the conclusions that list a
    figure the verdict names (with no figure named: those of its chapter) are tried in order, and the first
    whose ``words`` match the verdict's id or claim wins; none matching gives ""."""
    keys = []
    for _, row in verdicts.iterrows():
        figs = figures_named(row.get("figure", ""))
        chap = str(row.get("chapter", "")).zfill(2)
        cands = [c for c in CONCLUSIONS if set(figs) & set(c.figures)] if figs else \
            [c for c in CONCLUSIONS if any(f.split(".")[0].zfill(2) == chap for f in c.figures)]
        fixed = next((k for pat, k in EXPLICIT if re.search(pat, str(row.get("claim_id", "")))), None)
        if fixed is not None:
            keys.append(fixed)
            continue
        text = f"{row.get('claim_id', '')} {row.get('claim', '')}".lower()
        hit = [c for c in cands if re.search(c.words, text)]
        keys.append(hit[0].key if hit else "")
    return pd.Series(keys, index=verdicts.index, dtype=object)


def _combine(verdicts: Sequence[str]) -> str:
    counts = {k: verdicts.count(k) for k in VERDICTS if verdicts.count(k)}
    if len(counts) == 1:
        (k, n), = counts.items()
        return k if n == 1 else f"{k} ({n} of {n})"
    return "mixed: " + ", ".join(f"{n} {k}" for k, n in counts.items())


def _link(text: str, chapter: str) -> str:
    return f"[{text}]({NOTEBOOKS[chapter]})"


def conclusions_table(verdicts: pd.DataFrame) -> pd.DataFrame:
    """One row per conclusion of section 7.1: our wording, where it is decided (Markdown links to the
    chapter notebooks), what our runs show (each matched verdict's claim and numbers), and the verdict
    (one verdict, "held (k of k)", or "mixed: ..."). No matched verdict: "not measured at this scale"."""
    keys = assign(verdicts) if len(verdicts) else pd.Series([], dtype=object)
    rows = []
    for c in CONCLUSIONS:
        mine = verdicts[keys == c.key] if len(verdicts) else verdicts
        where = ", ".join(_link(t, ch) for t, ch in CONCLUSION_LINKS[c.key])
        if not len(mine):
            ours, verdict = "no run at this profile", "not measured at this scale"
        else:
            ours = "<br>".join(f"`{r.claim_id}` ({r.verdict}): {r.ours}" for r in mine.itertuples())
            verdict = _combine(list(mine["verdict"]))
        rows.append({"": c.key, "conclusion (thesis 7.1, our words)": c.text, "decided in": where,
                     "what our runs show": ours, "verdict": verdict})
    return pd.DataFrame(rows)


def verdict_counts(verdicts: pd.DataFrame) -> pd.DataFrame:
    """Number of recorded verdicts per chapter and kind (columns in :data:`lib.verdicts.VERDICTS` order), with totals."""
    if not len(verdicts):
        return pd.DataFrame(columns=["chapter", *VERDICTS, "total"])
    t = pd.crosstab(verdicts["chapter"], verdicts["verdict"]).reindex(columns=list(VERDICTS), fill_value=0)
    t.loc["all"] = t.sum()
    t["total"] = t.sum(axis=1)
    return t.reset_index()


def _cell(x: object) -> str:
    return str(x).replace("|", "\\|").replace("\n", " ")


def markdown_table(df: pd.DataFrame) -> str:
    """A pipe table (Markdown) of ``df``; cells may hold Markdown (links, code, <br>)."""
    head = "| " + " | ".join(_cell(c) for c in df.columns) + " |"
    sep = "|" + "|".join("---" for _ in df.columns) + "|"
    body = ["| " + " | ".join(_cell(x) for x in row) + " |" for row in df.itertuples(index=False)]
    return "\n".join([head, sep, *body])
