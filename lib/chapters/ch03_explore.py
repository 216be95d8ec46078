"""Chapter 3's explorers (:mod:`lib.chapters.explore`): for each model, the diff histogram of any weight
tensor with recorded histograms after any recorded epoch, of the CIFAR-10 or the Gaussian run of the figures'
seed, beside the coin-flip null and the run's coherence per epoch. The histograms are the ones the runs
recorded (``diff_hist.npz``, read with :func:`realdata.epoch_histogram`, as the static explorer figure
did); only bins of nonzero density are embedded, and epochs are thinned when a model's rows would pass
:data:`explore.MAX_HIST_ROWS`."""
from __future__ import annotations

import math
from typing import Any

import pandas as pd

from .. import paths
from . import explore
from . import realdata as rd

#: The runs of one model the explorer offers, in menu order (chapter 3's ``RUNS``).
RUNS = ("real", "gaussian")


def frames(s: Any, r: Any, fam: str) -> dict[str, Any]:
    """The explorer's data for model family ``fam`` of chapter 3's setup ``s`` and results ``r``: ``hist``
    (run, tensor, epoch, bin, density; run and tensor are codes into ``runs`` and ``tensors``), ``null``
    (run, bin, density), ``coh`` (run, epoch, coherence, floor = 1/n), ``edges``, ``runs`` (labels),
    ``tensors``, and the first view ``run``, ``tensor``, ``epoch`` (the CIFAR-10 run, its tracked tensor,
    its highest-coherence epoch), ``thinned`` (whether epochs were left out)."""
    runs = [r.runs[fam][r.seed][n] for n in RUNS]
    tensors = rd.layers_with_histograms(runs[0])
    edges = runs[0].arrays(paths.DIFF_HIST_FILE)["edges"].astype(float)
    rows, nulls, cohs = [], [], []
    for i, run in enumerate(runs):
        for t, layer in enumerate(tensors):
            for e in rd.hist_epochs(run):
                h = rd.epoch_histogram(run, layer, e)
                nz = h.index[h["density"] > 0]
                rows.append(pd.DataFrame({"run": i, "tensor": t, "epoch": e, "bin": nz,
                                          "density": h.loc[nz, "density"].to_numpy()}))
        n = rd.stats_samples(run.config)
        nulls.append(pd.DataFrame({"run": i, "bin": range(len(edges) - 1), "density": explore.null_density(edges, n)}))
        m = run.metrics
        cohs.append(pd.DataFrame({"run": i, "epoch": m["epoch"].astype(int), "coherence": m["coherence"],
                                  "floor": 1.0 / n}))
    hist = pd.concat(rows, ignore_index=True)
    first = rd.peak_coherence(runs[0])["epoch_max"]
    epochs = sorted(hist["epoch"].unique())
    kept = explore.thin_epochs(epochs, math.ceil(len(hist) / len(epochs)), keep=(first,))
    null = pd.concat(nulls, ignore_index=True)
    return {"hist": hist[hist["epoch"].isin(kept)].reset_index(drop=True), "null": null[null["density"] > 0],
            "coh": pd.concat(cohs, ignore_index=True), "edges": edges,
            "runs": [rd.RUN_LABELS[n] for n in RUNS], "tensors": tensors, "run": 0,
            "tensor": tensors.index(runs[0].config.track[0]) if runs[0].config.track[0] in tensors else 0,
            "epoch": int(first), "thinned": len(kept) < len(epochs)}


def chart(f: dict[str, Any]) -> Any:
    """The explorer of :func:`frames` ``f`` (:func:`explore.diff_explorer`)."""
    return explore.diff_explorer(f["hist"], f["null"], f["coh"], edges=f["edges"], runs=f["runs"],
                                 tensors=f["tensors"], run=f["run"], tensor=f["tensor"], epoch=f["epoch"])


def show(s: Any, r: Any) -> None:
    """Display one explorer per model (ResNet, then ViT), each under a line naming it."""
    from IPython.display import Markdown, display

    for fam, arch in s.archs.items():
        f = frames(s, r, fam)
        note = " Epochs are thinned to keep the page small." if f["thinned"] else ""
        display(Markdown(f"**{arch}**, seed {r.seed}: {len(f['tensors'])} weight tensors, "
                         f"{f['hist']['epoch'].nunique()} epochs.{note}"))
        explore.show(chart(f), f"ch03-{fam}")
