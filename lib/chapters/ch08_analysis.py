"""Chapter 8's measurements (:mod:`lib.chapters.ch08_what_diffs_measure`; this module is that chapter's alone):
the spread of diffs over sample sizes and each tensor's share of ||E g||^2 from one pass over a run's final
weights (:func:`spread_rows`), the MLP curves with training- and test-set coherence (:func:`mlp_curves`) and
their peaks (:func:`peaks`), and the sample counts behind a run's statistics.
"""
from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np
import pandas as pd

from ..config import TrainConfig
from ..data import load_data
from ..runs import Run, final_row
from ..stats import significance as sig
from ..stats.prefix import prefix_stats
from ..stats.shares import debiased_mean_sq, grad_shares  # noqa: F401  (chapter 8's names for them)
from . import figures, mlp


def spread_rows(run: Run, sizes: Sequence[int], tensors: Sequence[str], **labels: Any) -> tuple[list[dict], list[dict]]:
    """Question 2 and 6 from one pass over the first max(sizes) training images with the run's final
    weights: (spread rows per n and tensor, and "all"; share rows per tensor at the largest n)."""
    cfg = run.config
    data = load_data(cfg.data)
    model = run.load_model()
    st = prefix_stats(model, data.x_train, data.y_train, sizes, batch_size=cfg.stats.batch_size)
    rows = []
    for n, g in st.items():
        part = []
        for t in tensors:
            d = g.diffs[t].double()
            sd, null = float(d.std(unbiased=False)), sig.null_diff_sd(g.nonzero[t], n)  # type: ignore[index]
            part.append({**labels, "n": n, "tensor": t, "weights": d.numel(), "sd": sd, "null_sd": null})
        w = np.array([r["weights"] for r in part], float)
        part.append({**labels, "n": n, "tensor": "all", "weights": int(w.sum()),
                     "sd": float(np.sqrt(np.average([r["sd"] ** 2 for r in part], weights=w))),
                     "null_sd": float(np.sqrt(np.average([r["null_sd"] ** 2 for r in part], weights=w)))})
        rows += part
    g = st[max(st)]
    debiased, plain = grad_shares(g), grad_shares(g, debias=False)
    total_w = sum(v.numel() for v in g.diffs.values())
    shares = [{**labels, "tensor": k, "grad_share": debiased[k], "grad_share_plain": plain[k],
               "weight_share": g.diffs[k].numel() / total_w, "n": g.n} for k in g.diffs]
    for r in rows:
        r["sd_sqrt_n"] = r["sd"] * math.sqrt(r["n"])
        r["null_sd_sqrt_n"] = r["null_sd"] * math.sqrt(r["n"])
    return rows, shares


def mlp_curves(runs: dict[tuple[int, int], Run], data: str) -> pd.DataFrame:
    """Every epoch of the MLP runs: width, seed, data, epoch, coherence, test_coherence, train/test accuracy, gap."""
    parts = []
    for (w, sd), run in runs.items():
        m = run.metrics
        if "test_coherence" not in m.columns:
            raise KeyError(f"run {run.hash} has no test_coherence column: it was made without StatsConfig.test_samples")
        cols = ["epoch", "coherence", "test_coherence", "train_acc", "test_acc"]
        part = m[cols].copy()
        part.insert(0, "data", data)
        part.insert(0, "seed", sd)
        part.insert(0, "width", w)
        part["gap"] = part["train_acc"] - part["test_acc"]
        parts.append(part)
    return pd.concat(parts, ignore_index=True)


def stats_n(cfg: TrainConfig) -> int:
    """Samples behind a run's training-set statistics (the coherence floor is 1/n)."""
    return mlp.stats_samples(cfg)


def test_n(cfg: TrainConfig) -> int:
    """Samples behind a run's test-set statistics."""
    return min(cfg.stats.test_samples, cfg.data.n_test or 10_000)


def peaks(curves: pd.DataFrame, n_train: int, n_test: int) -> pd.DataFrame:
    """Per (data, width, seed): the highest training-set and test-set coherence over the trained epochs (epoch
    0, the initialisation, left out), the mean debiased coherence over them ((n α - 1)/(n - 1), each set with
    its own n) and the last epoch's gap; ``epochs`` counts the trained epochs used and ``nonfinite`` those left
    out because a coherence was not finite (said in the verdicts' note, :func:`epochs_note`)."""
    rows = []
    for (data, w, sd), g in curves.groupby(["data", "width", "seed"]):
        trained = g[g["epoch"] >= 1]
        ok = np.isfinite(trained["coherence"].astype(float)) & np.isfinite(trained["test_coherence"].astype(float))
        t = trained[ok]
        last = final_row(g.sort_values("epoch").iloc[-1])
        rows.append({"data": data, "width": int(w), "seed": int(sd), "epochs": int(ok.sum()),
                     "nonfinite": int((~ok).sum()), "train_peak": float(t["coherence"].max()),
                     "test_peak": float(t["test_coherence"].max()),
                     "test_debiased_mean": float(figures.debiased_coherence(t["test_coherence"], n_test).mean()),
                     "train_debiased_mean": float(figures.debiased_coherence(t["coherence"], n_train).mean()),
                     "gap": float(last["gap"]), "test_acc": float(last["test_acc"])})
    return pd.DataFrame(rows)
