"""Chapter 6's explorer (:mod:`lib.chapters.explore`), which works in the HTML page without a kernel: for
either model and mask scope, the fraction of each prunable tensor every mask keeps (Figs. 6.3, 6.4) and the
test accuracy of every run per mask (Tables 6.1, 6.2, 6.5, 6.6), each seed shown. The data is the chapter's
``tables`` (per model and scope: the runs' results and the masks' layer fractions)."""
from __future__ import annotations

from typing import Any

import pandas as pd

from . import explore


def frames(s: Any, r: Any) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(layers, accuracy) of every model and scope: layers has model, scope, method, seed, layer, depth,
    fraction_kept; accuracy has model, scope, method, seed, test_acc (the dense network's "none" included)."""
    layers, acc = [], []
    for (fam, scope), (res, lay) in r.tables.items():
        model = s.archs.get(fam, fam)
        layers.append(lay[["method", "seed", "layer", "depth", "fraction_kept"]].assign(model=model, scope=scope))
        acc.append(res[["method", "seed", "test_acc"]].assign(model=model, scope=scope))
    return pd.concat(layers, ignore_index=True), pd.concat(acc, ignore_index=True)


def show(s: Any, r: Any) -> None:
    """Display the explorer."""
    layers, acc = frames(s, r)
    explore.show(explore.pruning_explorer(layers, acc, models=list(dict.fromkeys(acc["model"])),
                                          scopes=list(dict.fromkeys(acc["scope"])),
                                          seeds=sorted(int(v) for v in acc["seed"].unique())), "ch06-masks")
