"""Each parameter tensor's share of the mean gradient's squared norm ||E g||^2 in one set of statistics, debiased
(chapters 8 and 10)."""
from __future__ import annotations

import math

from .base import GradStats


def debiased_mean_sq(mean_grad_sq: float, mean_sq_norm: float, n: int) -> float:
    """An unbiased estimate of ||E g||^2 from n per-sample gradients: (n ||mean g||^2 - mean ||g||^2) / (n - 1),
    which equals the mean of g_i · g_j over the n (n - 1) ordered pairs i != j. ||mean g||^2 itself has the
    expectation ||E g||^2 + tr(Sigma) / n (Sigma the per-sample covariance), so on its own it credits noisy
    tensors with a mean gradient they need not have; the estimate is about 0 for gradients of mean zero and
    can go negative. ``mean_grad_sq`` = ||mean g||^2, ``mean_sq_norm`` = mean ||g||^2."""
    if n < 2:
        raise ValueError(f"debiasing needs n >= 2 samples, got {n!r}")
    return (n * mean_grad_sq - mean_sq_norm) / (n - 1)


def grad_shares(st: GradStats, debias: bool = True) -> dict[str, float]:
    """Each parameter tensor's share of ||E g||^2 in statistics ``st``: its :func:`debiased_mean_sq` (its plain
    ||mean g_l||^2 when ``debias`` is False) over the sum of all tensors'. NaN for every tensor when that sum
    is not positive (no mean gradient to share out). A debiased share can be negative, and then another
    tensor's can exceed 1."""
    part = {}
    for k, m in st.mean_grad.items():
        sq = float(m.double().pow(2).sum())
        part[k] = debiased_mean_sq(sq, st.layer_mean_sq_norm[k], st.n) if debias else sq
    total = sum(part.values())
    return {k: (v / total if total > 0 else math.nan) for k, v in part.items()}
