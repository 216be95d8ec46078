"""Which diffs differ from coin flips: the binomial null of a diff, the exact sign test, Benjamini-Hochberg.

A parameter's diff over n samples is (P - N) / n, where P and N count the samples whose gradient
entry is positive and negative (m = P + N of them are nonzero; the rest are exactly 0, common behind
ReLUs). If the signs of the nonzero entries were independent fair coins, P would be Binomial(m, 1/2)
and the diff (2 P - m) / n, with mean 0 and sd sqrt(m) / n (1/sqrt(n) when no entry is zero).

* :func:`sign_test_pvalues`: the exact two-sided binomial test of P ~ Binomial(m, 1/2) for every
  parameter entry, from the exact counts the statistics engine returns (``GradStats.sign_sum`` and
  ``GradStats.nonzero``, or :func:`lib.stats.callback.sign_counts` of a saved diffs file).
* :func:`benjamini_hochberg`: which of many p-values are discoveries at false discovery rate q.
* :func:`null_diff_hist`: the expected diff histogram under that null, given each entry's m (the
  "conditional" null) or m = n for every entry (the plain fair-coin null), on any bin edges.

Everything is exact (integer counts, binomial probabilities from scipy); tests compare each function
with scipy's ``binomtest`` and ``false_discovery_control`` on small cases.
"""
from __future__ import annotations

import numpy as np
import torch
from scipy import stats as sps

ArrayLike = np.ndarray | torch.Tensor


def _int_array(x: ArrayLike, name: str) -> np.ndarray:
    a = x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)
    if a.dtype.kind not in "iu":
        raise ValueError(f"{name} must hold integer counts, got dtype {a.dtype}")
    return a.astype(np.int64).ravel()


def positives(sign_sum: ArrayLike, nonzero: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """(P, m) per entry, flattened: P = (m + sign_sum) / 2 positive signs among m nonzero ones.
    ValueError when the counts are inconsistent (|sign_sum| > m, or m + sign_sum odd)."""
    s, m = _int_array(sign_sum, "sign_sum"), _int_array(nonzero, "nonzero")
    if s.shape != m.shape:
        raise ValueError(f"sign_sum and nonzero differ in size: {s.size} and {m.size}")
    bad = (np.abs(s) > m) | ((m + s) % 2 != 0)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f"entry {i}: sign sum {s[i]} is impossible with {m[i]} nonzero signs "
                         "(needs |sign sum| <= nonzero and the same parity)")
    return (m + s) // 2, m


def sign_test_pvalues(sign_sum: ArrayLike, nonzero: ArrayLike) -> np.ndarray:
    """Exact two-sided binomial test p-values, per entry (flattened, float64), of P ~ Binomial(m, 1/2)
    (:func:`positives`): p = min(1, 2 P(X <= min(P, m - P))). An entry with m = 0 gets p = 1.

    The binomial cdf is tabulated once per distinct m (m <= n, so at most n + 1 tables), which keeps
    millions of entries cheap."""
    k, m = positives(sign_sum, nonzero)
    low = np.minimum(k, m - k)
    p = np.ones(k.shape, dtype=np.float64)
    for mm in np.unique(m):
        if mm == 0:
            continue
        sel = m == mm
        cdf = sps.binom.cdf(np.arange(mm + 1), mm, 0.5)
        p[sel] = np.minimum(1.0, 2.0 * cdf[low[sel]])
    return p


def benjamini_hochberg(p: ArrayLike, q: float = 0.05) -> np.ndarray:
    """The discoveries (bool array, same order as ``p``) of the Benjamini-Hochberg step-up procedure at
    false discovery rate ``q``: with p sorted ascending, reject the k smallest, k the largest index with
    p_(k) <= k q / N. ValueError for q outside (0, 1) or p-values outside [0, 1]."""
    if not 0 < q < 1:
        raise ValueError(f"q (the false discovery rate) must lie in (0, 1), got {q!r}")
    a = np.asarray(p.detach().cpu().numpy() if isinstance(p, torch.Tensor) else p, dtype=np.float64).ravel()
    if a.size and (np.isnan(a).any() or a.min() < 0 or a.max() > 1):
        raise ValueError("p-values must lie in [0, 1] (no NaN)")
    n = a.size
    out = np.zeros(n, dtype=bool)
    if n == 0:
        return out
    order = np.argsort(a, kind="stable")
    ok = a[order] <= q * np.arange(1, n + 1) / n
    if ok.any():
        k = int(np.flatnonzero(ok)[-1])
        out[order[: k + 1]] = True
    return out


def significant_fraction(sign_sum: ArrayLike, nonzero: ArrayLike, q: float = 0.05) -> float:
    """Fraction of entries whose diff is a Benjamini-Hochberg discovery at rate ``q`` among the entries
    given (one family: call it once per layer for per-layer fractions)."""
    p = sign_test_pvalues(sign_sum, nonzero)
    return float(benjamini_hochberg(p, q).mean()) if p.size else float("nan")


def null_diff_pmf(m: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(values, probabilities) of the diff (2 P - m) / n with P ~ Binomial(m, 1/2): m nonzero fair-coin
    signs among n samples."""
    if not (isinstance(m, (int, np.integer)) and isinstance(n, (int, np.integer)) and 0 <= m <= n and n >= 1):
        raise ValueError(f"need integers 0 <= m <= n and n >= 1, got m={m!r}, n={n!r}")
    k = np.arange(m + 1)
    return (2 * k - m) / n, sps.binom.pmf(k, m, 0.5)


def null_diff_hist(nonzero: ArrayLike | None, n: int, edges: np.ndarray, size: int | None = None) -> np.ndarray:
    """Expected counts per bin (``edges`` as numpy's histogram: the last bin includes its right edge) of the
    diffs of ``size`` entries under the null: entry i has ``nonzero[i]`` fair-coin signs among n samples.
    ``nonzero=None`` is the plain null, every entry with m = n signs (then ``size`` is required)."""
    edges = np.asarray(edges, dtype=np.float64)
    if edges.ndim != 1 or edges.size < 2 or np.any(np.diff(edges) <= 0):
        raise ValueError("edges must be a 1-D increasing array of at least two bin edges")
    if nonzero is None:
        if size is None or size < 0:
            raise ValueError(f"the plain null needs size >= 0 (the number of entries), got {size!r}")
        ms, weights = np.array([n]), np.array([size])
    else:
        ms, weights = np.unique(_int_array(nonzero, "nonzero"), return_counts=True)
    out = np.zeros(edges.size - 1)
    for mm, w in zip(ms, weights):
        vals, probs = null_diff_pmf(int(mm), n)
        idx = np.searchsorted(edges, vals, side="right") - 1
        idx[vals == edges[-1]] = edges.size - 2
        ok = (idx >= 0) & (idx < edges.size - 1)
        np.add.at(out, idx[ok], w * probs[ok])
    return out


def null_diff_sd(nonzero: ArrayLike | None, n: int) -> float:
    """The sd of a diff under the null, averaged over entries as the root of the mean variance:
    sqrt(mean(m)) / n (1 / sqrt(n) for the plain null, ``nonzero=None``)."""
    if nonzero is None:
        return float(1.0 / np.sqrt(n))
    m = _int_array(nonzero, "nonzero")
    return float(np.sqrt(m.mean()) / n) if m.size else float("nan")
