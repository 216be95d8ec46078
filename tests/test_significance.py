"""The binomial null of a diff, the exact sign test and Benjamini-Hochberg against scipy (lib.stats.significance)."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import stats as sps

from lib.stats import significance as sig


def test_sign_test_matches_scipy_binomtest():
    rng = np.random.default_rng(0)
    m = rng.integers(0, 40, size=300)
    k = rng.binomial(m, rng.uniform(0.2, 0.8, size=300))
    s = 2 * k - m
    p = sig.sign_test_pvalues(torch.as_tensor(s), torch.as_tensor(m))
    for pi, ki, mi in zip(p, k, m):
        want = 1.0 if mi == 0 else sps.binomtest(int(ki), int(mi), 0.5, alternative="two-sided").pvalue
        assert pi == pytest.approx(want, rel=1e-9, abs=1e-15)


def test_counts_must_be_consistent():
    with pytest.raises(ValueError, match="impossible"):
        sig.sign_test_pvalues(np.array([3]), np.array([2]))
    with pytest.raises(ValueError, match="impossible"):
        sig.sign_test_pvalues(np.array([1]), np.array([2]))
    with pytest.raises(ValueError, match="integer"):
        sig.sign_test_pvalues(np.array([0.5]), np.array([2]))


@pytest.mark.parametrize("q", [0.05, 0.2])
def test_benjamini_hochberg_matches_scipy(q):
    rng = np.random.default_rng(1)
    for _ in range(50):
        n = int(rng.integers(1, 60))
        p = np.concatenate([rng.uniform(size=n), rng.uniform(0, 0.01, size=int(rng.integers(0, 10)))])
        rng.shuffle(p)
        want = sps.false_discovery_control(p, method="bh") <= q
        assert np.array_equal(sig.benjamini_hochberg(p, q), want)
    with pytest.raises(ValueError, match="0, 1"):
        sig.benjamini_hochberg([0.1], q=1.5)


def test_null_pmf_and_hist():
    vals, probs = sig.null_diff_pmf(4, 4)
    assert np.allclose(vals, [-1, -0.5, 0, 0.5, 1]) and np.allclose(probs, np.array([1, 4, 6, 4, 1]) / 16)
    edges = np.linspace(-1, 1, 5)  # [-1,-.5) [-.5,0) [0,.5) [.5,1]
    h = sig.null_diff_hist(None, 4, edges, size=16)
    assert np.allclose(h, [1, 4, 6, 5])
    # conditional null: one entry with m = 0 (diff exactly 0), one with m = 2 of n = 4: values -0.5, 0, 0.5
    h2 = sig.null_diff_hist(np.array([0, 2]), 4, edges)
    assert np.allclose(h2, [0, 0.25, 1 + 0.5, 0.25]) and h2.sum() == pytest.approx(2)
    # a simulation agrees with the exact expectation
    rng = np.random.default_rng(2)
    m = rng.integers(0, 30, size=20000)
    d = (2 * rng.binomial(m, 0.5) - m) / 30
    e = np.linspace(-1, 1, 21)
    sim, _ = np.histogram(d, bins=e)
    exp = sig.null_diff_hist(m, 30, e)
    assert np.abs(sim - exp).max() < 5 * np.sqrt(exp.max())
    assert sig.null_diff_sd(None, 100) == pytest.approx(0.1)
    assert sig.null_diff_sd(m, 30) == pytest.approx(np.sqrt(m.mean()) / 30)


def test_significant_fraction_on_null_and_signal():
    rng = np.random.default_rng(3)
    m = np.full(5000, 256)
    k = rng.binomial(m, 0.5)
    assert sig.significant_fraction(2 * k - m, m) < 0.01  # BH controls false discoveries under the null
    k2 = np.where(np.arange(5000) < 1000, 230, k)  # 20 % of entries agree in 230 of 256 samples
    assert sig.significant_fraction(2 * k2 - m, m) == pytest.approx(0.2, abs=0.01)
