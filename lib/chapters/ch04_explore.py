"""Chapter 4's explorers (:mod:`lib.chapters.explore`), which work in the HTML page without a kernel:

* the diff histogram of any run (width, seed), any weight matrix or bias and any recorded epoch, beside the
  coin-flip null and the run's coherence per epoch (the explorer the chapter had as ipywidgets, re-made);
* coherence, generalization gap, test accuracy and diff spread per epoch for every width, one line per seed.

Both read what :func:`lib.chapters.ch04_width.results` already holds (``curves``, ``hists``); the choices and
the first view are :func:`lib.chapters.ch04_width.explorer`'s, passed in as ``e``."""
from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pandas as pd

from . import explore, mlp

#: The quantities of the curves explorer: label -> code (a column computed by :func:`curves_frame`; the frame
#: carries the short code, the menu shows the label).
QUANTITIES = {"coherence α, log10": "log10_coherence", "generalization gap (train − test accuracy)": "gap",
              "test accuracy": "test_acc",
              "diff spread: std of the diffs of all weight matrices (from the binned histograms)": "diff_std"}


def histogram_frames(r: Any, e: Any, n: int) -> dict[str, Any]:
    """The diff explorer's data (see :func:`explore.diff_explorer`) from results ``r`` and the choices ``e``
    of :func:`ch04_width.explorer` (runs, layers, epochs, first view), ``n`` statistics samples per run."""
    keys = [k for _, k in e.runs]
    names = [name for _, name in e.layers]
    edges = np.asarray(r.hists[keys[0]]["edges"], dtype=float)
    rows, cohs = [], []
    for i, key in enumerate(keys):
        h = r.hists[key]
        for t, name in enumerate(names):
            for j, ep in enumerate(h["epochs"].tolist()):
                if ep not in e.epochs:
                    continue
                dens = mlp.hist_density(h["hists"][name][j], edges)
                nz = np.flatnonzero(dens > 0)
                rows.append(pd.DataFrame({"run": i, "tensor": t, "epoch": int(ep), "bin": nz, "density": dens[nz]}))
        c = r.curves[(r.curves["width"] == key[0]) & (r.curves["seed"] == key[1])].sort_values("epoch")
        cohs.append(pd.DataFrame({"run": i, "epoch": c["epoch"].astype(int), "coherence": c["coherence"],
                                  "floor": 1.0 / n}))
    hist = pd.concat(rows, ignore_index=True)
    kept = explore.thin_epochs(list(e.epochs), math.ceil(len(hist) / max(1, len(e.epochs))), keep=(e.epoch,))
    null = pd.DataFrame({"run": 0, "bin": range(len(edges) - 1), "density": explore.null_density(edges, n)})
    null = pd.concat([null.assign(run=i) for i in range(len(keys))], ignore_index=True)
    return {"hist": hist[hist["epoch"].isin(kept)].reset_index(drop=True), "null": null[null["density"] > 0],
            "coh": pd.concat(cohs, ignore_index=True), "edges": edges, "runs": [label for label, _ in e.runs],
            "tensors": [label for label, _ in e.layers], "run": keys.index(e.key), "tensor": names.index(e.layer),
            "epoch": int(e.epoch), "thinned": len(kept) < len(e.epochs)}


def histogram_chart(f: dict[str, Any]) -> Any:
    """The diff explorer of :func:`histogram_frames` ``f``."""
    return explore.diff_explorer(f["hist"], f["null"], f["coh"], edges=f["edges"], runs=f["runs"],
                                 tensors=f["tensors"], run=f["run"], tensor=f["tensor"], epoch=f["epoch"])


def diff_std(hists: dict[str, np.ndarray], edges: np.ndarray, names: list[str]) -> np.ndarray:
    """Per recorded epoch, the standard deviation of the diffs of the weight matrices ``names`` together,
    from their binned histograms (each diff at its bin's centre)."""
    counts = sum(np.asarray(hists[n], dtype=float) for n in names)
    centre = (edges[:-1] + edges[1:]) / 2
    total = counts.sum(axis=1)
    mean = (counts * centre).sum(axis=1) / np.where(total > 0, total, 1)
    var = (counts * (centre[None, :] - mean[:, None]) ** 2).sum(axis=1) / np.where(total > 0, total, 1)
    return np.sqrt(var)


#: Most rows the curves explorer embeds; beyond it, epochs are thinned (:func:`explore.thin_epochs`).
MAX_CURVE_ROWS = 8_000


def curves_frame(r: Any, names: list[str], budget: int = MAX_CURVE_ROWS) -> pd.DataFrame:
    """Long frame of the curves explorer: width, seed, epoch, quantity (a code of :data:`QUANTITIES`), value;
    from ``r.curves`` (coherence, train and test accuracy per epoch) and ``r.hists`` (diff spread of the
    weight matrices ``names``, at the epochs with histograms). Past ``budget`` rows, every k-th epoch."""
    c = r.curves.copy()
    c["log10_coherence"] = np.log10(c["coherence"].where(c["coherence"] > 0))
    c["gap"] = c["train_acc"] - c["test_acc"]
    spreads = []
    for (w, sd), h in r.hists.items():
        spreads.append(pd.DataFrame({"width": w, "seed": sd, "epoch": h["epochs"].astype(int),
                                     "diff_std": diff_std(h["hists"], np.asarray(h["edges"], float), names)}))
    c = c.merge(pd.concat(spreads, ignore_index=True), on=["width", "seed", "epoch"], how="left")
    long = [c[["width", "seed", "epoch"]].assign(quantity=col, value=c[col]) for col in QUANTITIES.values()]
    out = pd.concat(long, ignore_index=True).dropna(subset=["value"])
    epochs = sorted(int(e) for e in out["epoch"].unique())
    out = out[out["epoch"].isin(explore.thin_epochs(epochs, -(-len(out) // len(epochs)), budget=budget))]
    out[["width", "seed", "epoch"]] = out[["width", "seed", "epoch"]].astype(int)
    return out.reset_index(drop=True)


def curves_chart(frame: pd.DataFrame, widths: list[int], seeds: list[int]) -> Any:
    """Lines of one quantity (menu) per epoch, one colour per width, one line per seed; a second menu keeps
    one seed or every seed."""
    import altair as alt

    codes = list(QUANTITIES.values())
    p_q = alt.param(name="quantity", value=codes[0], bind=alt.binding_select(options=codes, labels=list(QUANTITIES),
                                                                          name="quantity "))
    title = {"expr": f"{json.dumps({c: label for label, c in QUANTITIES.items()})}[quantity]"}
    p_seed = alt.param(name="seed", value=-1, bind=alt.binding_select(
        options=[-1, *seeds], labels=["every seed", *[f"seed {s}" for s in seeds]], name="seeds "))
    return (alt.Chart(explore.data(frame))
            .transform_filter("datum.quantity == quantity && (seed < 0 || datum.seed == seed)")
            .mark_line(point=True)
            .encode(x=alt.X("epoch:Q", title="epoch (0 = initialization)", axis=alt.Axis(tickMinStep=1, format="d")),
                    y=alt.Y("value:Q", title=None, scale=alt.Scale(zero=False)),
                    color=alt.Color("width:O", scale=alt.Scale(domain=list(widths), scheme="viridis"), title="width"),
                    detail="seed:N", tooltip=["width:O", "seed:O", "epoch:Q", "value:Q"])
            .properties(width=560, height=300, title={"text": title})
            .add_params(p_q, p_seed))
