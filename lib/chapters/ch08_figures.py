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

from . import figures, palette
from . import verdicts as toolkit
from .ch08_claims import FAMILIES, SIGNAL_SHARE
from .verdicts import Decided, Verdict


_COLORS = palette.DATA_COLORS


def figure_8_1(hists: dict[tuple[str, str, str], dict[str, Any]], prov: str) -> None:
    """Fig. 8.1: one tensor's diff histogram per family and data (``hists``: the highest-coherence epoch, the
    figures' seed) against the conditional and the plain fair-coin null (shown; caption provenance ``prov``)."""
    fig, axes = plt.subplots(len(FAMILIES), 2, figsize=(10, 3.0 * len(FAMILIES)), squeeze=False)
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
            ax.set_title(f"{FAMILIES[fam]} {data}, {h['tensor']}, epoch {h['epoch']}", fontsize=9)
            ax.set_xlabel("diff = mean sign of per-sample gradients")
            ax.set_ylabel("weights per bin")
    axes[0][0].legend(fontsize=7, loc="upper left")
    figures.show(fig, "Figure 8.1", "Diff histograms at the highest-coherence epoch against the binomial null: black, "
                 "each weight's nonzero signs as fair coins; grey dashed, n fair coins per weight (sd 1/√n)", prov)


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
        ax.set_xlabel("weight tensor, input to output")
        ax.set_ylabel(f"fraction significant (BH {q:.0%})")
        ax.set_ylim(-0.02, 1.02)
    axes[0][0].legend(fontsize=7)
    figures.show(fig, "Figure 8.2", "Fraction of each tensor's weights whose diff differs from fair coin flips (exact "
                 "two-sided binomial test, Benjamini-Hochberg per tensor); lines: mean over seeds, dots: seeds", prov)


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
    axes[0][0].legend(fontsize=7)
    figures.show(fig, "Figure 8.3", "Spread of the final weights' diffs times √n against the number of samples: "
                 "sampling noise alone stays flat (dotted: the binomial null with each weight's zero count), a fixed "
                 "signal grows like √n; thin lines are seeds", prov)


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
    axes[0].legend(fontsize=7)
    figures.show(fig, "Figure 8.4", "MLP width sweep on real data, at each run's highest-coherence epoch: coherence "
                 "against the fraction of significant diffs (left) and the diffs' spread over the null's (right; 1 = coin "
                 "flips, √2 = half the variance signal); one dot per (width, seed). Whether the spread narrows with width "
                 "is decided in chapter 4 (claim 4-diffs-narrow-with-width, the same runs)", prov)


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
    axes[0].legend(fontsize=7)
    real = pk[pk["data"] == "real"]
    for ax, col, name in ((axes[1], "train_peak", "training"), (axes[2], "test_peak", "test")):
        ax.scatter(real[col], real["gap"], c=np.log2(real["width"]), cmap="viridis")
        ax.set_xscale("log")
        ax.set_xlabel(f"peak {name}-set coherence α")
        ax.set_ylabel("generalization gap (train − test accuracy)")
    figures.show(fig, "Figure 8.5", "Peak coherence on training and test images against width (left; thin lines are "
                 "seeds, dotted: the floor 1/n; whether peak training coherence rises with width is chapter 4's claim "
                 "4-coherence-grows-with-width, the same runs) and the last epoch's generalization gap against each "
                 "(middle, right; colour = width, real data)", prov)


def figure_8_6(curves: pd.DataFrame, seed: int, widths: Sequence[int], n_tr: int, n_te: int, prov: str) -> None:
    """Fig. 8.6: training- and test-set coherence per epoch of every real-data MLP width (seed ``seed``, the
    figures' seed), α and debiased, with the floor 1/n (``n_tr`` training, ``n_te`` test images; shown)."""
    c = curves[(curves["data"] == "real") & (curves["seed"] == seed)]
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
    cmap = plt.get_cmap("viridis", len(widths))
    for i, w in enumerate(widths):
        g = c[c["width"] == w].sort_values("epoch")
        axes[0].plot(g["epoch"], g["coherence"], color=cmap(i), label=f"width {w}")
        axes[0].plot(g["epoch"], g["test_coherence"], color=cmap(i), ls="--")
        axes[1].plot(g["epoch"], figures.debiased_coherence(g["coherence"], n_tr), color=cmap(i))
        axes[1].plot(g["epoch"], figures.debiased_coherence(g["test_coherence"], n_te), color=cmap(i), ls="--")
    figures.floor_line(axes[0], n_tr)
    axes[0].set_yscale("log")
    axes[0].set_ylabel("coherence α")
    axes[1].axhline(0, color="k", lw=0.8, ls=":")
    axes[1].set_ylabel("debiased (nα − 1)/(n − 1)")
    for ax in axes:
        ax.set_xlabel("epoch")
    axes[0].legend(fontsize=7)
    figures.show(fig, "Figure 8.6", f"Coherence per epoch on the first {n_tr} training images (solid) and {n_te} test "
                 "images (dashed) of the real-data MLPs; right, debiased, where 0 is the value of unrelated gradients", prov)


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
        ax.set_xlabel("weight tensor, input to output")
        ax.set_ylabel("share (symmetric log scale)")
    axes[0][0].legend(fontsize=7)
    figures.show(fig, "Figure 8.7", "Which weight tensors carry the mean gradient: each tensor's share of ||E g||², "
                 "each tensor's part debiased as (n ||mean g_l||² − mean ||g_l||²)/(n − 1) so that noise alone adds "
                 "nothing (final weights, training images; dots: seeds; a share can be negative), against its share of "
                 "the weights (weight tensors only)", prov)


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
