"""Chapter 9's explorer (:mod:`lib.chapters.explore`), which works in the HTML page without a kernel: for each
model (the MLP, the ResNet, the ViT), the fraction of each prunable tensor the diff, magnitude and random masks
keep, and the test accuracy of every child per mask variant (best and worst forms, shuffled, uniform, early,
restricted, SNIP, GraSP, SynFlow, dense), each seed shown. The data is the chapter's ``layers`` and ``acc``."""
from __future__ import annotations

from typing import Any

import pandas as pd

from . import explore


def frames(r: Any) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(layers, accuracy): layers has model, method, seed, layer, depth, fraction_kept; accuracy has model,
    method (the variant), seed, test_acc."""
    layers = r.layers[["family", "method", "seed", "layer", "depth", "fraction_kept"]].rename(columns={"family": "model"})
    acc = r.acc[["family", "variant", "seed", "test_acc"]].rename(columns={"family": "model", "variant": "method"})
    return layers.reset_index(drop=True), acc.reset_index(drop=True)


def show(s: Any, r: Any) -> None:
    """Display the explorer."""
    layers, acc = frames(r)
    explore.show(explore.pruning_explorer(layers, acc, models=list(dict.fromkeys(acc["model"])),
                                          seeds=sorted(int(v) for v in acc["seed"].unique())), "ch09-masks")
