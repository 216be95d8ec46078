"""Chapter 9's shown output (:mod:`lib.chapters.ch09_why_random_works`): the description, Figures 9.1-9.5,
Tables 9.a, 9.b and 9.d (the baselines against their authors' definitions). ``s`` and ``r`` are the chapter's
``Setup`` and ``Results``."""
from __future__ import annotations

from typing import Any, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from IPython.display import Markdown, display

from .. import saliency
from . import figures, palette
from . import verdicts as toolkit
from .ch09_claims import BEST, FAMILIES, INIT, INIT_NAMES
from .verdicts import Verdict


_COLORS = palette.METHOD_COLORS


def provenance(s: Any) -> str:
    """Caption provenance."""
    p = s.profile
    c = s.parents[("mlp", s.seeds[0])]
    return (f"profile `{p.name}`: MLP child width {s.mlp_width} of a {c.model.width}-wide parent, {c.epochs} epochs on "
            f"{c.data.n_train:,d} images; {p.arch_cnn} and {p.arch_vit}, {p.prune_epochs} epochs on "
            f"{p.prune_n_train or 50000:,d} images; {s.params.density:g} kept; seeds {', '.join(map(str, s.seeds))}")


def describe(s: Any) -> Markdown:
    """One paragraph: what the chapter reuses and what it trains."""
    new = [c for (f, v, sd), c in s.children.items() if "shuffled" in v or v in INIT or "early" in v]
    early = sorted({float(v.rsplit("_", 1)[1]) for (f, v, sd) in s.children if "_early_" in v})
    return Markdown(
        f"Profile **{s.profile.name}**, seeds {', '.join(map(str, s.seeds))}. Reused: chapter 5's prune-sweep unit "
        f"at child width {s.mlp_width} and chapter 6's {s.profile.arch_cnn} and {s.profile.arch_vit} (parents, best, "
        f"worst, random and dense children). New here: {len(new)} children (shuffled masks, SNIP, GraSP, SynFlow, "
        f"early MLP masks at {', '.join(f'{f:.0%}' for f in early)} of training) and {len(s.snap_parents)} MLP "
        f"parents retrained with weight snapshots after epochs {', '.join(map(str, sorted(set(s.epochs.values()))))}.")


def _bars(ax: plt.Axes, acc: pd.DataFrame, fam: str, variants: Sequence[str]) -> pd.DataFrame:
    """Bars from zero of the mean test accuracy of each of ``variants`` of ``fam`` (its value written at its foot),
    each seed a dot; returns the rows drawn (family, variant, seed, test_acc)."""
    sub = acc[acc["family"] == fam]
    shown = [v for v in variants if (sub["variant"] == v).any()]
    for i, v in enumerate(shown):
        vals = sub[sub["variant"] == v]["test_acc"]
        ax.bar(i, vals.mean(), color=_COLORS.get(v, "0.5"), alpha=0.85)
        ax.text(i, 0.02, f"{vals.mean():.3f}", transform=ax.get_xaxis_transform(), ha="center", va="bottom",
                rotation=90, fontsize=9, bbox={"fc": "white", "alpha": 0.75, "lw": 0, "pad": 1})
        ax.plot([i] * len(vals), vals, "k.", ms=4)
    ax.set_xticks(range(len(shown)), shown, rotation=35, ha="right")
    ax.set_ylim(0, 1.12 * max(0.01, float(sub[sub["variant"].isin(shown)]["test_acc"].max())))
    ax.set_ylabel("test accuracy")
    ax.set_title(FAMILIES[fam])
    drawn = sub[sub["variant"].isin(shown)][["family", "variant", "seed", "test_acc"]]
    return drawn.assign(family=drawn["family"].map(FAMILIES))


def figure_9_1(s: Any, r: Any) -> None:
    """Fig. 9.1: unshuffled, shuffled and uniform random children per architecture (shown)."""
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.9))
    drawn = [_bars(ax, r.acc, fam, ["magnitude", "magnitude_shuffled", "diff", "diff_shuffled", "uniform", "random",
                                    "none"]) for ax, fam in zip(axes, FAMILIES)]
    figures.show(fig, "Figure 9.1", "Layer-wise shuffle: each mask's child against the child of the same mask with its "
                 "kept weights moved to random positions within every tensor, and against random masks (uniform: the "
                 "same fraction per tensor); bars from zero: mean over seeds (written at the foot of each bar), dots: seeds",
                 provenance(s), data=pd.concat(drawn, ignore_index=True))


def figure_9_2(s: Any, r: Any) -> None:
    """Fig. 9.2: best against worst children (ResNet and ViT) (shown)."""
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.9))
    drawn = [_bars(ax, r.acc, fam, ["magnitude", "magnitude_worst", "diff", "diff_worst", "random", "none"])
             for ax, fam in zip(axes, ("resnet", "vit"))]
    figures.show(fig, "Figure 9.2", "Mask inversion: children of the best (highest scores) and worst (lowest scores) "
                 "masks of each method; bars from zero: mean over seeds (written at the foot of each bar), dots: seeds",
                 provenance(s), data=pd.concat(drawn, ignore_index=True))


def table_9a(s: Any, r: Any) -> Any:
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


def figure_9_3(s: Any, r: Any) -> None:
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
        axes[1].plot(xs, ys, "o-", color=_COLORS[method])
    axes[0].plot(r.early.groupby("fraction")["random"].mean(), "k:", label="two random masks")
    axes[0].set_ylabel("overlap with the final mask (Jaccard)")
    axes[1].set_ylabel("child test accuracy")
    for ax in axes:
        ax.set_xlabel("fraction of the parent's epochs when the mask is made")
    figures.legend_below(fig, axes[0])
    shown = {*BEST, *(f"{m}_early_{f:g}" for m in BEST for f in s.trained)}
    early_acc = r.acc[(r.acc["family"] == "mlp") & r.acc["variant"].isin(shown)]
    figures.show(fig, "Figure 9.3", "Early masks of the MLP parent: overlap with the mask made after training (left; thin "
                 "lines: seeds) and the test accuracy of children trained from them (right; dots: seeds; at 1.0 the "
                 "child of the final mask)", provenance(s),
                 data=pd.concat([r.early.assign(panel="overlap"),
                                 early_acc[["variant", "seed", "test_acc"]].assign(panel="accuracy")],
                                ignore_index=True))


def figure_9_4(s: Any, r: Any) -> None:
    """Fig. 9.4: pruning-at-initialisation masks beside trained-parent masks and random (shown)."""
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.9))
    drawn = [_bars(ax, r.acc, fam, ["random", "uniform", "snip", "grasp", "synflow", "magnitude", "diff", "none"])
             for ax, fam in zip(axes, FAMILIES)]
    figures.show(fig, "Figure 9.4", "SNIP, GraSP and SynFlow masks of the initial network against random masks and the "
                 "masks of the trained parent, at the same density; bars from zero: mean over seeds (written at the foot "
                 "of each bar), dots: seeds", provenance(s), data=pd.concat(drawn, ignore_index=True))


def figure_9_5(s: Any, r: Any) -> None:
    """Fig. 9.5: kept fraction per layer group of the diff and magnitude masks, ResNet and ViT (shown)."""
    df = r.layers[r.layers["family"].isin(["resnet", "vit"])]
    restricted = [f for f in ("resnet", "vit") if r.acc.loc[r.acc["family"] == f, "variant"].str.startswith("diff_in_").any()]
    rows = 1 + (len(restricted) + 1) // 2  # two panels a row: the kept fractions, then the restricted children
    fig, grid = plt.subplots(rows, 2, figsize=(11, 3.9 * rows), squeeze=False)
    axes = list(grid.ravel())
    spare = axes[2 + len(restricted):]  # an empty cell holds the legend
    for ax in spare:
        ax.axis("off")
    drawn = []
    for ax, fam in zip(axes[2:], restricted):
        variants = ["diff", "diff_shuffled", *sorted(v for v in r.acc["variant"].unique() if v.startswith("diff_in_"))]
        drawn.append(_bars(ax, r.acc, fam, variants).assign(panel="restricted children"))
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
        drawn.append(g.assign(family=FAMILIES[fam], panel="kept fraction"))
        ax.axhline(s.params.density, color="k", ls=":", lw=1, label=f"kept overall ({s.params.density:g})")
        ax.axhline(s.params.floor, color="r", ls=":", lw=1, label=f"floor ({s.params.floor:g})")
        ax.set_xticks(range(len(groups)), groups)
        ax.set_ylabel("fraction of the group's weights kept")
        ax.set_title(FAMILIES[fam])
    if spare:
        spare[0].legend(*axes[0].get_legend_handles_labels(), title="mask", loc="center", frameon=False)
    else:
        figures.legend_outside(fig, axes[0], title="mask")
    figures.show(fig, "Figure 9.5", f"Which layer types the global masks keep: kept fraction per layer group (black "
                 f"dotted: the overall {s.params.density:g}; red dotted: the floor {s.params.floor:g}), mean over seeds; "
                 "below: children of the diff mask kept in place in one layer type with every other tensor shuffled, "
                 "beside the unshuffled and the fully shuffled diff mask (bars from zero; dots: seeds)",
                 provenance(s), data=pd.concat(drawn, ignore_index=True))


def notes_text(vs: Sequence[Verdict]) -> str:
    """The verdicts' notes (a mask left out of a trend, a verdict Holm's correction changed or confirmed) as one
    Markdown paragraph, "" when there are none."""
    parts = [f"`{v.claim_id}`: {v.note}" for v in vs if v.note]
    return ("Notes: " + "; ".join(parts) + ".") if parts else ""


def table_9b(s: Any, vs: list[Verdict]) -> Any:
    """Shows Table 9.b's caption (with the verdicts' notes) and returns the verdict table."""
    display(Markdown(f"**Table 9.b.** Verdicts ({provenance(s)}). {notes_text(vs)}".rstrip()))
    return toolkit.table(vs, by="both")

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
