"""Chapter 8's figures and tables (:mod:`lib.chapters.ch08_what_diffs_measure`; this module is that chapter's
alone), drawn from plain frames and captions: the chapter's functions of the same names pick them out of its
setup and results.
"""
from __future__ import annotations

import math
from typing import Any, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from IPython.display import Markdown, display

from . import figures, mlp, palette
from . import verdicts as toolkit
from .ch08_claims import FAMILIES, SIGNAL_SHARE
from .verdicts import Decided, Verdict


_COLORS = palette.DATA_COLORS


def tensor_label(family: str, name: str) -> str:
    """A weight tensor's name as the book writes it: the MLP's as chapter 4 does (:func:`mlp.layer_label`:
    "input", "hidden 1", ..., "output"), the ResNet's and ViT's parameter names as they are."""
    return mlp.layer_label(name) if family == "mlp" else name


def _tensor_axis(ax: plt.Axes, family: str, order: Sequence[str]) -> None:
    """x axis of tensor positions 0..len(order)-1: the MLP's layer names, else whole-number positions."""
    if family == "mlp":
        ax.set_xticks(range(len(order)), [tensor_label(family, t) for t in order], rotation=30, ha="right")
        ax.set_xlabel("weight tensor")
    else:
        figures.index_axis(ax)
        ax.set_xlabel("weight tensor (position, input to output)")


def figure_8_1(hists: dict[tuple[str, str, str], dict[str, Any]], prov: str) -> None:
    """Fig. 8.1: one tensor's diff histogram per family and data (``hists``: the highest-coherence epoch, the
    figures' seed) against the conditional and the plain fair-coin null (shown; caption provenance ``prov``)."""
    fig, axes = plt.subplots(len(FAMILIES), 2, figsize=(10, 3.0 * len(FAMILIES)), squeeze=False)
    rows = []
    for i, fam in enumerate(FAMILIES):
        for j, data in enumerate(("real", "gaussian")):
            h, ax = hists[(fam, data, "max")], axes[i][j]
            centers = (h["edges"][:-1] + h["edges"][1:]) / 2
            width = np.diff(h["edges"])
            ax.bar(centers, h["counts"], width=width, color=_COLORS[data], alpha=0.6, label=f"{data} diffs")
            ax.step(centers, h["null"], where="mid", color="k", lw=1.2, label="null: fair coins, own zero count")
            ax.step(centers, h["plain"], where="mid", color="0.5", lw=1, ls="--", label=f"null: {h['n']} fair coins")
            ax.set_yscale("log")
            ax.set_ylim(bottom=0.5)
            ax.set_title(f"{FAMILIES[fam]} {data}, {tensor_label(fam, h['tensor'])}, epoch {h['epoch']}", fontsize=10)
            ax.set_xlabel("diff = mean sign of per-sample gradients")
            ax.set_ylabel("weights per bin")
            rows.append(pd.DataFrame({"family": FAMILIES[fam], "data": data, "tensor": tensor_label(fam, h["tensor"]),
                                      "epoch": h["epoch"], "left": h["edges"][:-1], "right": h["edges"][1:],
                                      "weights": h["counts"], "null": h["null"], "null_plain": h["plain"]}))
    handles, labels = axes[0][0].get_legend_handles_labels()
    handles2, labels2 = axes[0][1].get_legend_handles_labels()
    figures.legend_below(fig, axes[0][0], extra=[h for h, l in zip(handles2, labels2) if l not in labels])
    figures.show(fig, "Figure 8.1", "Diff histograms at the highest-coherence epoch against the binomial null: black, "
                 "each weight's nonzero signs as fair coins; grey dashed, n fair coins per weight (sd 1/√n)", prov,
                 data=pd.concat(rows, ignore_index=True))


def figure_8_2(significance: pd.DataFrame, q: float, prov: str) -> None:
    """Fig. 8.2: fraction of significant diffs (BH at rate ``q``) per tensor, real against Gaussian, at the highest-
    and lowest-coherence epochs, mean over seeds with each seed as a dot (shown)."""
    df = significance[significance["family"].isin(FAMILIES) & (significance["tensor"] != "all")]
    fig, axes = plt.subplots(1, len(FAMILIES), figsize=(12, 3.6), squeeze=False)
    for ax, fam in zip(axes[0], FAMILIES):
        sub = df[df["family"] == fam]
        order = list(dict.fromkeys(sub["tensor"]))
        for data in ("real", "gaussian"):
            for which, ls in (("max", "-"), ("min", ":")):
                g = sub[(sub["data"] == data) & (sub["which"] == which)]
                m = g.groupby("tensor")["significant"].mean().reindex(order)
                ax.plot(range(len(order)), m.values, ls=ls, marker="o", ms=3, color=_COLORS[data],
                        label=f"{data}, {'highest' if which == 'max' else 'lowest'} coherence")
                for _, row in g.iterrows():
                    ax.plot(order.index(row["tensor"]), row["significant"], ".", color=_COLORS[data], alpha=0.3, ms=3)
        ax.set_title(FAMILIES[fam])
        _tensor_axis(ax, fam, order)
        ax.set_ylabel(f"fraction significant (BH {q:.0%})")
        ax.set_ylim(-0.02, 1.02)
    figures.legend_below(fig, axes[0][0], ncol=4)
    figures.show(fig, "Figure 8.2", "Fraction of each tensor's weights whose diff differs from fair coin flips (exact "
                 "two-sided binomial test, Benjamini-Hochberg per tensor); lines: mean over seeds, dots: seeds", prov,
                 data=_named(df)[["family", "data", "which", "seed", "tensor", "significant"]])


def _named(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with its families named and the MLP's tensors named as in the figures (:func:`tensor_label`)."""
    out = df.copy()
    out["tensor"] = [tensor_label(f, t) for f, t in zip(out["family"], out["tensor"])]
    out["family"] = out["family"].map(FAMILIES)
    return out


def table_8a(significance: pd.DataFrame, q: float, prov: str) -> Any:
    """Table 8.a: all weights pooled, per family, data and epoch: significant fraction, sd of the diffs and of the
    null, zero fraction; mean and sd over seeds, one column per seed for the significant fraction."""
    df = significance[significance["family"].isin(FAMILIES) & (significance["tensor"] == "all")]
    display(Markdown(f"**Table 8.a.** All weight tensors pooled: fraction of weights with a significant diff (BH "
                     f"{q:.0%} per tensor), the diffs' sd against the null's sd, and the fraction of per-sample "
                     f"gradient entries that are exactly zero; the significant fraction of each seed beside the mean ({prov})."))
    g = df.groupby(["family", "data", "which"])
    out = g[["significant", "sd", "null_sd", "zero_frac"]].mean()
    out["significant_sd"] = g["significant"].std()
    per_seed = df.pivot_table(index=["family", "data", "which"], columns="seed", values="significant")
    per_seed.columns = [f"seed {c}" for c in per_seed.columns]
    out = out.join(per_seed).reset_index()
    out["family"] = out["family"].map(FAMILIES)
    return out.style.hide(axis="index").format(precision=4)


def figure_8_3(spread: pd.DataFrame, prov: str) -> None:
    """Fig. 8.3: sd x sqrt(n) of all weights' diffs against n, per family, real and Gaussian, each seed thin
    and the mean thick, with the conditional null (shown)."""
    df = spread[spread["tensor"] == "all"]
    fig, axes = plt.subplots(1, len(FAMILIES), figsize=(12, 3.6), squeeze=False)
    for ax, fam in zip(axes[0], FAMILIES):
        for data in ("real", "gaussian"):
            g = df[(df["family"] == fam) & (df["data"] == data)]
            for _, one in g.groupby("seed"):
                ax.plot(one["n"], one["sd_sqrt_n"], color=_COLORS[data], lw=0.7, alpha=0.5)
            m = g.groupby("n")[["sd_sqrt_n", "null_sd_sqrt_n"]].mean()
            ax.plot(m.index, m["sd_sqrt_n"], "o-", color=_COLORS[data], lw=2, label=f"{data}")
            ax.plot(m.index, m["null_sd_sqrt_n"], ":", color=_COLORS[data], lw=1.2, label=f"{data}: null")
        ax.set_xscale("log")
        ns = sorted(df.loc[df["family"] == fam, "n"].unique())
        ax.set_xticks(ns, [str(int(n)) for n in ns])
        ax.minorticks_off()
        ax.set_xlabel("samples n (first n training images)")
        ax.set_ylabel("sd of diffs × √n")
        ax.set_title(FAMILIES[fam])
    figures.legend_below(fig, axes[0][0], ncol=4)
    figures.show(fig, "Figure 8.3", "Spread of the final weights' diffs times √n against the number of samples: "
                 "sampling noise alone stays flat (dotted: the binomial null with each weight's zero count), a fixed "
                 "signal grows like √n; thin lines are seeds", prov,
                 data=_named(df)[["family", "data", "seed", "n", "sd_sqrt_n", "null_sd_sqrt_n"]])


def figure_8_4(sweep_sig: pd.DataFrame, widths: Sequence[int], q: float, prov: str) -> None:
    """Fig. 8.4: across MLP ``widths`` at the highest-coherence epoch (rows ``sweep_sig``): coherence against the
    significant fraction and against the spread relative to the null (shown)."""
    df = sweep_sig
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    cmap = plt.get_cmap("viridis", len(widths))
    for i, w in enumerate(widths):
        g = df[df["width"] == w]
        axes[0].scatter(g["coherence"], g["significant"], color=cmap(i), label=f"width {w}")
        axes[1].scatter(g["coherence"], g["sd"] / g["null_sd"], color=cmap(i))
    axes[0].set_ylabel(f"fraction significant (BH {q:.0%})")
    axes[1].set_ylabel("sd of diffs / null sd")
    axes[1].axhline(1, color="k", ls=":", lw=1)
    axes[1].axhline(1 / math.sqrt(1 - SIGNAL_SHARE), color="0.5", ls="--", lw=1)
    for ax in axes:
        ax.set_xlabel("coherence α at that epoch")
    figures.legend_outside(fig, axes[0], title="MLP")
    figures.show(fig, "Figure 8.4", "MLP width sweep on real data, at each run's highest-coherence epoch: coherence "
                 "against the fraction of significant diffs (left) and the diffs' spread over the null's (right; 1 = coin "
                 "flips, √2 = half the variance signal); one dot per (width, seed). Whether the spread narrows with width "
                 "is decided in chapter 4 (claim 4-diffs-narrow-with-width, the same runs)", prov,
                 data=df[["width", "seed", "coherence", "significant", "sd", "null_sd"]])


def figure_8_5(pk: pd.DataFrame, n_train: int, prov: str) -> None:
    """Fig. 8.5: peak training- and test-set coherence against width (real and Gaussian; peaks ``pk``, the floor
    1/``n_train``) and the gap against both (shown)."""
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    for data in ("real", "gaussian"):
        g = pk[pk["data"] == data]
        m = g.groupby("width")[["train_peak", "test_peak"]].mean()
        axes[0].plot(m.index, m["train_peak"], "o-", color=_COLORS[data], label=f"{data}: training set")
        axes[0].plot(m.index, m["test_peak"], "s--", color=_COLORS[data], label=f"{data}: test set")
        for _, one in g.groupby("seed"):
            axes[0].plot(one["width"], one["train_peak"], color=_COLORS[data], lw=0.5, alpha=0.4)
            axes[0].plot(one["width"], one["test_peak"], color=_COLORS[data], lw=0.5, alpha=0.4, ls="--")
    figures.floor_line(axes[0], n_train)
    axes[0].set_xscale("log", base=2)
    axes[0].set_yscale("log")
    axes[0].set_xlabel("hidden width")
    axes[0].set_ylabel("peak coherence α")
    real = pk[pk["data"] == "real"]
    widths = sorted(real["width"].unique())
    cmap = plt.get_cmap("viridis", len(widths))
    for ax, col, name in ((axes[1], "train_peak", "training"), (axes[2], "test_peak", "test")):
        for i, w in enumerate(widths):
            g = real[real["width"] == w]
            ax.scatter(g[col], g["gap"], color=cmap(i), label=f"real, width {w}" if ax is axes[1] else None)
        ax.set_xscale("log")
        ax.set_xlabel(f"peak {name}-set coherence α")
        ax.set_ylabel("generalization gap (train − test accuracy)")
    figures.legend_below(fig, axes[0], ncol=3, extra=axes[1].get_legend_handles_labels()[0])
    figures.show(fig, "Figure 8.5", "Peak coherence on training and test images against width (left; thin lines are "
                 "seeds, dotted: the floor 1/n; whether peak training coherence rises with width is chapter 4's claim "
                 "4-coherence-grows-with-width, the same runs) and the last epoch's generalization gap against each "
                 "(middle, right; colour = width, real data)", prov, data=pk)


def figure_8_6(curves: pd.DataFrame, seed: int, widths: Sequence[int], n_tr: int, n_te: int, prov: str) -> None:
    """Fig. 8.6: training- and test-set coherence per epoch of every real-data MLP width (seed ``seed``, the
    figures' seed), α (top row) and debiased (bottom row), one column of panels per width (same axes along a
    row), with the floor 1/n (``n_tr`` training, ``n_te`` test images; shown)."""
    c = curves[(curves["data"] == "real") & (curves["seed"] == seed)].sort_values(["width", "epoch"])
    c = c.assign(debiased=figures.debiased_coherence(c["coherence"], n_tr),
                 test_debiased=figures.debiased_coherence(c["test_coherence"], n_te))
    blocks = math.ceil(len(widths) / 6)  # at most six widths side by side; more go to another pair of rows
    ncol = math.ceil(len(widths) / blocks)
    fig, axes = plt.subplots(2 * blocks, ncol, figsize=(max(6.0, 2.1 * ncol), 2.6 * 2 * blocks), squeeze=False,
                             sharex=True, sharey="row")
    color = _COLORS["real"]
    for j, w in enumerate(widths):
        b, k = divmod(j, ncol)
        g, top, bottom = c[c["width"] == w], axes[2 * b][k], axes[2 * b + 1][k]
        top.plot(g["epoch"], g["coherence"], color=color, label="training images")
        top.plot(g["epoch"], g["test_coherence"], color=color, ls="--", label="test images")
        figures.floor_line(top, n_tr)
        bottom.plot(g["epoch"], g["debiased"], color=color)
        bottom.plot(g["epoch"], g["test_debiased"], color=color, ls="--")
        bottom.axhline(0, color="k", lw=0.8, ls=":")
        top.set_yscale("log")
        top.set_title(f"width {w}")
        bottom.set_xlabel("epoch")
        figures.index_axis(bottom)
    for j in range(len(widths), blocks * ncol):  # the empty cells of the last pair of rows
        axes[2 * (blocks - 1)][j % ncol].set_visible(False)
        axes[2 * blocks - 1][j % ncol].set_visible(False)
    for b in range(blocks):
        axes[2 * b][0].set_ylabel("coherence α")
        axes[2 * b + 1][0].set_ylabel("debiased (nα − 1)/(n − 1)")
    figures.legend_below(fig, axes[0][0])
    figures.show(fig, "Figure 8.6", f"Coherence per epoch on the first {n_tr} training images (solid) and {n_te} test "
                 "images (dashed) of the real-data MLPs, one column of panels per width: α above, debiased below "
                 "(0 is the value of unrelated gradients)", prov,
                 data=c[["width", "epoch", "coherence", "test_coherence", "debiased", "test_debiased"]])


def figure_8_7(shares: pd.DataFrame, prov: str) -> None:
    """Fig. 8.7: each weight tensor's share of ||E g||^2 against its share of the weights, real-data runs,
    final weights (shown)."""
    df = shares[(shares["data"] == "real") & shares["tensor"].str.endswith("weight")]
    fig, axes = plt.subplots(1, len(FAMILIES), figsize=(12, 3.6), squeeze=False)
    for ax, fam in zip(axes[0], FAMILIES):
        g = df[df["family"] == fam]
        order = list(dict.fromkeys(g["tensor"]))
        m = g.groupby("tensor")[["grad_share", "weight_share"]].mean().reindex(order)
        x = np.arange(len(order))
        ax.bar(x - 0.2, m["weight_share"], 0.4, color="0.6", label="share of weights")
        ax.bar(x + 0.2, m["grad_share"], 0.4, color="tab:purple", label="share of ||E g||²")
        for _, row in g.iterrows():
            ax.plot(order.index(row["tensor"]) + 0.2, row["grad_share"], "k.", ms=3)
        ax.set_yscale("symlog", linthresh=1e-3)
        ax.axhline(0, color="k", lw=0.6)
        ax.set_title(FAMILIES[fam])
        _tensor_axis(ax, fam, order)
        ax.set_ylabel("share (symmetric log scale)")
    figures.legend_below(fig, axes[0][0])
    figures.show(fig, "Figure 8.7", "Which weight tensors carry the mean gradient: each tensor's share of ||E g||², "
                 "each tensor's part debiased as (n ||mean g_l||² − mean ||g_l||²)/(n − 1) so that noise alone adds "
                 "nothing (final weights, training images; dots: seeds; a share can be negative), against its share of "
                 "the weights (weight tensors only)", prov,
                 data=_named(df)[["family", "seed", "tensor", "grad_share", "weight_share"]])


def table_8b(vs: list[Verdict], prov: str) -> Any:
    """Shows Table 8.b's caption, with what would make each claim not held and each verdict's note (values
    left out), and returns the verdict table."""
    lines = [f"- `{v.claim_id}`: not held if {v.fails_if[0].lower()}{v.fails_if[1:]}"
             + (f" *Note: {v.note}.*" if v.note else "") for v in vs]
    display(Markdown(f"**Table 8.b.** Verdicts ({prov}). What would make each claim not held:\n\n"
                     + "\n".join(lines)))
    return toolkit.table(vs, by="both")


def table_8c(decided: Sequence[Decided], prov: str) -> Any:
    """Shows Table 8.c's caption and returns the per-group intervals behind the decided claims ``decided``
    (:func:`lib.chapters.ch08_what_diffs_measure.claims`)."""
    display(Markdown("**Table 8.c.** What each verdict rests on, group by group. A claim over widths shows each "
                     "width's own interval over seeds; its verdict tests each seed's mean over the widths, except an "
                     "“every width” claim, which holds only when every width holds on its own. A trend shows the "
                     "interval of the seeds' slopes (for “flat”, of their fitted total change); every other claim "
                     f"one interval over seeds ({prov})."))
    return toolkit.show_intervals(toolkit.intervals_frame(decided))
