"""Gradient statistics of growing prefixes of one data set in one pass: the first n_1 < n_2 < ... samples.

Statistics over disjoint chunks add up: sign counts and nonzero counts exactly (integers), gradient
sums and squared norms as float64 sums of each chunk's n * mean. :func:`merge` combines the
:class:`~lib.stats.base.GradStats` of disjoint chunks; :func:`prefix_stats` runs
:func:`~lib.stats.core.gradient_stats` (with counts) on the chunks [0, n_1), [n_1, n_2), ... and returns
the merged statistics of every prefix, so diffs at n = 128, 512 and 2048 cost one pass over 2048 samples.
"""
from __future__ import annotations

import math
from typing import Any, Sequence

import torch
from torch import nn

from .base import GradStats
from .core import gradient_stats


def merge(parts: Sequence[GradStats]) -> GradStats:
    """The statistics of the union of the disjoint sample sets behind ``parts`` (each computed with
    ``counts=True``): counts add exactly; coherence from the summed gradient sums and squared norms."""
    if not parts:
        raise ValueError("merge needs at least one GradStats")
    if any(p.sign_sum is None or p.nonzero is None for p in parts):
        raise ValueError("merge needs statistics computed with counts=True (sign_sum and nonzero)")
    n = sum(p.n for p in parts)
    names = list(parts[0].diffs)
    sums = {k: sum(p.mean_grad[k].double() * p.n for p in parts) for k in names}
    sq = {k: sum(p.layer_mean_sq_norm[k] * p.n for p in parts) for k in names}
    sign = {k: sum(p.sign_sum[k] for p in parts) for k in names}  # type: ignore[index]
    nz = {k: sum(p.nonzero[k] for p in parts) for k in names}  # type: ignore[index]
    lcoh, lsq, num_tot, den_tot = {}, {}, 0.0, 0.0
    for k in names:
        num = float(sums[k].pow(2).sum()) / (n * n)
        den = sq[k] / n
        num_tot, den_tot = num_tot + num, den_tot + den
        lcoh[k] = num / den if den > 0 else math.nan
        lsq[k] = den
    coh = num_tot / den_tot if den_tot > 0 else math.nan
    return GradStats(n=n, coherence=coh, scaled_coherence=n * coh, mean_sq_norm=den_tot, layer_coherence=lcoh,
                     layer_mean_sq_norm=lsq, diffs={k: (sign[k].double() / n).float() for k in names},
                     mean_grad={k: (sums[k] / n).float() for k in names}, backend=parts[0].backend,
                     sign_sum=sign, nonzero=nz)


def prefix_stats(model: nn.Module, x: torch.Tensor, y: torch.Tensor, sizes: Sequence[int], **kw: Any) -> dict[int, GradStats]:
    """{n: statistics of the first n samples of (x, y)} for every n of ``sizes`` (increasing, each at most
    len(y)), from one pass over the first max(sizes) samples; ``kw`` goes to :func:`gradient_stats`."""
    ns = [int(s) for s in sizes]
    if not ns or ns != sorted(set(ns)) or ns[0] < 1 or ns[-1] > len(y):
        raise ValueError(f"sizes must be increasing distinct integers in [1, {len(y)}], got {list(sizes)}")
    out: dict[int, GradStats] = {}
    parts: list[GradStats] = []
    start = 0
    for n in ns:
        parts.append(gradient_stats(model, (x[start:n], y[start:n]), counts=True, progress=False, **kw))
        out[n] = merge(parts)
        start = n
    return out
