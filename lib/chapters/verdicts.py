"""The verdict toolkit every chapter uses: the paired test over seeds (:func:`paired`,
:func:`paired_groups`), trends (:func:`trend`), the one way to write a claim (:class:`Claim`), the
:class:`Verdict` record, Holm's correction across claims, storing and loading with provenance, and the
display tables.

The seed is the replicate. A chapter reduces the values of one run (tensors, epochs, widths, items that
share one reference run) within the seed, then tests over seeds: runs of the same seed are paired
(children share their parent's seed and data order), and a claim is judged by the mean paired difference
and its two-sided t interval (:func:`paired`); an interval that contains zero is "inconclusive", never
"held". "Every" claims judge each group on its own (:func:`paired_groups` with ``every=True``); trends are
per-seed least-squares slopes tested over seeds (:func:`trend`). A claim of "no difference" needs an
equivalence margin fixed with the claim before any run and is decided by two one-sided tests (the
1 - 2 alpha interval inside the margin). Each claim says what result would make it not held
(:attr:`Claim.fails_if`).

Each chapter stores its verdicts as one JSON file per (profile, chapter, parameters):
``runs/verdicts/<profile>/<chapter>/<params key>.json`` with the chapter's parameters, the profile, the
hashes of the runs they were computed from and the code version (:func:`store`); the file is replaced
atomically, so two processes never leave a mixed set, and different parameters never overwrite each
other. The conclusions chapter reads back those of the parameters it was built with
(:func:`load_for`) and names the chapters whose verdicts are missing or stale.
"""
from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import math
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping, NamedTuple, Sequence

import numpy as np
import pandas as pd
from scipy import special

from .. import paths

HELD, NOT_HELD, INCONCLUSIVE, NOT_MEASURED = "held", "not held", "inconclusive", "not measured at this scale"
VERDICTS = (HELD, NOT_HELD, INCONCLUSIVE, NOT_MEASURED)
#: The sides a claim can take: a > b, a < b, |a - b| < margin.
CLAIMS = ("greater", "less", "equal")
#: The sides a trend can take (:func:`trend`): rising, falling, or flat within a margin on its total change.
TRENDS = ("greater", "less", "flat")
#: Error rate of every test: a directional claim is decided by the two-sided 1 - ALPHA interval, an
#: equivalence claim by the two one-sided tests at ALPHA each (the 1 - 2 ALPHA interval).
ALPHA = 0.05
#: The power "seeds needed" aims for: the least number of seeds that reach the verdict the observed
#: effect points to with this probability, taking the observed effect and spread as the truth.
POWER = 0.80
#: Seeds needed beyond this are reported as "more than" it.
MOST_SEEDS = 200
#: Bump when the way verdicts are computed changes: stored verdicts of another version are stale.
VERDICT_VERSION = 3


# ---------------------------------------------------------------------------------- the paired test
@functools.lru_cache(maxsize=4096)
def _t(n: int, alpha: float) -> float:
    """The two-sided 1 - alpha quantile of Student's t with n - 1 degrees of freedom."""
    return float(special.stdtrit(n - 1, 1 - alpha / 2))


def _t_sf(x: float, df: int) -> float:
    """P(T > x) for Student's t with ``df`` degrees of freedom (scipy.special, no per-call overhead)."""
    return float(special.stdtr(df, -x))


def _nct_sf(x: Any, df: Any, nc: Any) -> np.ndarray:
    """P(T > x) for the noncentral t with ``df`` degrees of freedom and noncentrality ``nc``."""
    return 1.0 - special.nctdtr(df, nc, x)


def _power(n: Any, diff: float, sd: float, *, claim: str, margin: float | None, alpha: float) -> np.ndarray:
    """The probability that n seeds (a number or an array of them) reach the verdict the observed ``diff``
    points to, when the paired differences are N(diff, sd^2): the noncentral t. Directional claims: the
    two-sided t-test at ``alpha`` decides on the side of ``diff``. Equivalence, |diff| < margin: both
    one-sided tests at ``alpha`` (the usual approximation P1 + P2 - 1); |diff| >= margin: the one-sided
    test that the difference lies beyond the margin."""
    n = np.asarray(n, float)
    df, root = n - 1, np.sqrt(n)
    if claim != "equal":
        return _nct_sf(special.stdtrit(df, 1 - alpha / 2), df, abs(diff) / sd * root)
    tc = special.stdtrit(df, 1 - alpha)
    m = float(margin or 0.0)
    if abs(diff) < m:
        p1 = _nct_sf(tc, df, (m - diff) / sd * root)
        p2 = _nct_sf(tc, df, (m + diff) / sd * root)
        return np.maximum(0.0, p1 + p2 - 1)
    return _nct_sf(tc, df, (abs(diff) - m) / sd * root)


def needed_for(diff: float, *, claim: str = "greater", margin: float | None = None) -> str | None:
    """The verdict more seeds would reach if the observed ``diff`` were the truth: held or not held (None
    for a zero or non-finite effect)."""
    if not np.isfinite(diff):
        return None
    if claim == "equal":
        return HELD if abs(diff) < (margin or 0.0) else NOT_HELD
    if diff == 0:
        return None
    return HELD if (diff > 0) == (claim == "greater") else NOT_HELD


def seeds_needed(diff: float, sd: float, *, claim: str = "greater", margin: float | None = None,
                 alpha: float = ALPHA, power: float = POWER, most: int = MOST_SEEDS) -> int | None:
    """How many seeds the observed effect would need: the least n >= 2 whose test at ``alpha`` reaches the
    verdict :func:`needed_for` names with probability >= ``power`` (:func:`_power`), taking the observed
    mean paired difference ``diff`` and the sd of the paired differences ``sd`` as the truth. None when
    no n up to ``most`` would do (a zero effect, or one too small for its spread)."""
    if needed_for(diff, claim=claim, margin=margin) is None or not np.isfinite(sd):
        return None
    if claim == "equal" and abs(diff) == (margin or 0.0):
        return None
    if sd == 0:
        return 2
    ns = np.arange(2, most + 1)
    ok = np.flatnonzero(_power(ns, diff, sd, claim=claim, margin=margin, alpha=alpha) >= power)
    return int(ns[ok[0]]) if len(ok) else None


def _check_claim(claim: str, margin: float | None, sides: Sequence[str] = CLAIMS, equal: str = "equal") -> None:
    if claim not in sides:
        raise ValueError(f"claim must be one of {sides}, got {claim!r}")
    if claim == equal and (margin is None or not margin > 0):
        raise ValueError(f"claim {equal!r} needs a margin > 0 (fixed with the claim), got {margin!r}")
    if claim != equal and margin is not None:
        raise ValueError(f"a margin belongs to claim {equal!r} only, got margin={margin!r} with claim {claim!r}")


def data_key(*arrays: Any) -> str:
    """A short fingerprint of the values a test was computed from (rounded to 9 significant digits, order
    kept): two claims with the same key test the same numbers (chapter 7's duplicate check). "" when some
    array does not vary (a constant reference, or runs that all sit at chance): equal numbers then say
    nothing about the runs behind them, so such a test takes no part in the check."""
    arrs = [np.asarray(arr, float).ravel() for arr in arrays]
    if any(len(np.unique(a[np.isfinite(a)])) < 2 for a in arrs):
        return ""
    parts = [np.format_float_positional(float(x), precision=9, unique=False, fractional=False)
             if np.isfinite(float(x)) else "nan" for arr in arrs for x in arr]
    parts += [f"|{arr.size}" for arr in arrs]
    return hashlib.sha256(",".join(parts).encode()).hexdigest()[:16]


def combined_key(keys: Iterable[str]) -> str:
    """The fingerprint of a test made of several tests (an "every" claim, a winner against each rival): a hash
    of their keys in order, "" when none of them has one (:func:`data_key`)."""
    ks = [str(k or "") for k in keys]
    return hashlib.sha256("|".join(ks).encode()).hexdigest()[:16] if any(ks) else ""


def paired(a: Sequence[float], b: Sequence[float], *, claim: str = "greater", margin: float | None = None,
           alpha: float = ALPHA, bounds: tuple[float, float] | None = None, need: bool = True) -> dict[str, Any]:
    """Judge a claim about per-seed values ``a`` and ``b`` paired by index (one value of each per seed:
    reduce a seed's several values first, see :func:`paired_groups`) from the differences d = a - b.

    ``claim="greater"`` (a > b): the two-sided 1 - ``alpha`` t-interval of mean(d); held when it lies
    wholly above 0, not held when wholly below, else inconclusive. ``"less"`` mirrors it. ``"equal"``
    needs ``margin`` > 0 and is the two one-sided tests (TOST): the 1 - 2 ``alpha`` interval; held when it
    lies inside (-margin, margin), not held when it lies wholly outside, else inconclusive. ``bounds``:
    the range the difference can take (e.g. (-1, 1) for a difference of two fractions); the interval is
    cut to it (``clipped`` says so). Pairs with a non-finite value are left out and counted
    (``dropped``, ``dropped_why``). Fewer than 2 pairs: inconclusive (no interval); none: not measured.

    Returns claim, margin, alpha, level (the interval's confidence), verdict, n (pairs = seeds), dropped,
    dropped_why, a, b (means), diff (mean of a - b), sd (of the differences), ci_low, ci_high, p (the
    p-value of the verdict's side: two-sided for a directional claim, the larger one-sided p of TOST
    inside the margin, the one-sided p beyond it), seeds_needed and needed_for (for an inconclusive
    verdict, :func:`seeds_needed`; skipped with ``need=False``), clipped and key (:func:`data_key`)."""
    _check_claim(claim, margin)
    a_, b_ = np.asarray(a, float).ravel(), np.asarray(b, float).ravel()
    if len(a_) != len(b_):
        raise ValueError(f"paired values need equal lengths, got {len(a_)} and {len(b_)}")
    keep = np.isfinite(a_) & np.isfinite(b_)
    dropped = int((~keep).sum())
    a_, b_ = a_[keep], b_[keep]
    d, n = a_ - b_, int(keep.sum())
    level = 1 - 2 * alpha if claim == "equal" else 1 - alpha
    out: dict[str, Any] = {"claim": claim, "margin": margin, "alpha": alpha, "level": level, "n": n,
                           "dropped": dropped,
                           "dropped_why": (f"{dropped} seed(s) left out: a non-finite value (a diverged or missing "
                                           "run)") if dropped else "",
                           "a": float(a_.mean()) if n else math.nan, "b": float(b_.mean()) if n else math.nan,
                           "diff": float(d.mean()) if n else math.nan,
                           "sd": float(d.std(ddof=1)) if n >= 2 else math.nan,
                           "ci_low": math.nan, "ci_high": math.nan, "p": math.nan, "seeds_needed": None,
                           "needed_for": None, "clipped": False, "key": data_key(a_, b_)}
    if n == 0:
        return {**out, "verdict": NOT_MEASURED}
    if n < 2:
        return {**out, "verdict": INCONCLUSIVE}
    diff, sd = out["diff"], out["sd"]
    se = sd / math.sqrt(n)
    tq = _t(n, 2 * alpha) if claim == "equal" else _t(n, alpha)
    lo, hi = diff - tq * se, diff + tq * se
    if claim == "equal":
        if se > 0:
            p_in = max(_t_sf((diff + margin) / se, n - 1), _t_sf((margin - diff) / se, n - 1))
            p_out = _t_sf((abs(diff) - margin) / se, n - 1)
        else:
            p_in, p_out = (0.0, 1.0) if abs(diff) < margin else (1.0, 0.0)
        verdict = HELD if -margin < lo and hi < margin else NOT_HELD if lo >= margin or hi <= -margin else INCONCLUSIVE
        p = p_in if abs(diff) < margin else p_out
    else:
        p = 2 * _t_sf(abs(diff) / se, n - 1) if se > 0 else (0.0 if diff != 0 else 1.0)
        above, below = lo > 0, hi < 0
        if claim == "less":
            above, below = below, above
        verdict = HELD if above else NOT_HELD if below else INCONCLUSIVE
    if bounds is not None:
        clo, chi = max(lo, bounds[0]), min(hi, bounds[1])
        out["clipped"] = bool(clo != lo or chi != hi)
        lo, hi = clo, chi
    out.update(ci_low=float(lo), ci_high=float(hi), p=p, verdict=verdict)
    if verdict == INCONCLUSIVE:
        out["needed_for"] = needed_for(diff, claim=claim, margin=margin)
        if need:
            out["seeds_needed"] = seeds_needed(diff, sd, claim=claim, margin=margin, alpha=alpha)
    return out


def paired_frame(df: pd.DataFrame, key: str, a: Any, b: Any, value: str, *, by: Sequence[str] = (),
                 pair_on: Sequence[str] = ("seed",)) -> pd.DataFrame:
    """The pairs of a long table: for each ``by`` group and each value of ``pair_on`` present for both
    ``key == a`` and ``key == b``, one row with columns ``by``, ``pair_on``, ``a`` and ``b`` (the values
    of column ``value``). ValueError when a (group, pair) has more than one row for a side."""
    idx = [*by, *pair_on]
    sides = []
    for side, name in ((a, "a"), (b, "b")):
        part = df.loc[df[key] == side, [*idx, value]]
        if part.duplicated(idx).any():
            dup = part.loc[part.duplicated(idx, keep=False), idx].head(2).to_dict("records")
            raise ValueError(f"more than one row per pair for {key} == {side!r}: {dup}")
        sides.append(part.rename(columns={value: name}))
    return sides[0].merge(sides[1], on=idx, how="inner").sort_values(idx, ignore_index=True)


def paired_groups(df: pd.DataFrame, key: str, a: Any, b: Any, value: str, *, by: Sequence[str] = (),
                  pair_on: Sequence[str] = ("seed",), claim: str = "greater", margin: float | None = None,
                  alpha: float = ALPHA, every: bool = False,
                  bounds: tuple[float, float] | None = None) -> tuple[dict[str, Any], pd.DataFrame]:
    """:func:`paired` of ``value`` between the rows with ``key == a`` and those with ``key == b``, paired on
    ``pair_on`` (the replicate: the seed) within each ``by`` group (tensors, widths, epochs, items that share
    one reference run). Returns the claim's test and one row per group with its own interval (columns
    ``by``, n, a, b, diff, ci_low, ci_high, verdict) for the chapter to show beside it.

    The values of one seed are not independent replicates, so the claim's test is over seeds:
    ``every=False`` (a claim about the groups' mean) first averages each seed's a and b over the groups it
    has both for, then tests those per-seed means (n = seeds). ``every=True`` (a claim worded "every",
    "all", "at each") judges each group on its own over seeds: held only when every group is held (an
    intersection-union test, at ``alpha``), not held when some group is not held at ``alpha`` / groups
    (Bonferroni, so that k groups do not multiply the chance of a false "not held"), else inconclusive;
    its diff and interval are those of the seed-averaged test, and ``groups``, ``groups_held`` and
    ``groups_not_held`` say how the groups fell."""
    pairs = paired_frame(df, key, a, b, value, by=by, pair_on=pair_on)
    rows, tests = [], []
    av, bv = pairs["a"].to_numpy(float), pairs["b"].to_numpy(float)
    groups = pairs.groupby(list(by), sort=True).indices.items() if by else [((), np.arange(len(pairs)))]
    for k, idx in groups:
        k = k if isinstance(k, tuple) else (k,)
        t = paired(av[idx], bv[idx], claim=claim, margin=margin, alpha=alpha, bounds=bounds, need=every)
        tests.append(t)
        rows.append({**dict(zip(by, k)), **{c: t[c] for c in GROUP_STATS}})
    per = pd.DataFrame(rows, columns=[*by, *GROUP_STATS])
    finite = pairs[np.isfinite(pairs["a"].astype(float)) & np.isfinite(pairs["b"].astype(float))]
    lost = len(pairs) - len(finite)
    seeds = finite.groupby(list(pair_on), sort=True)[["a", "b"]].mean() if len(finite) else finite[["a", "b"]]
    all_seeds = pairs[list(pair_on)].drop_duplicates()
    test = paired(seeds["a"], seeds["b"], claim=claim, margin=margin, alpha=alpha, bounds=bounds)
    gone = len(all_seeds) - len(seeds)
    test.update(dropped=gone, rule="seed means over groups" if by else "one value per seed", groups=len(tests),
                dropped_why=(f"{lost} (group, seed) value(s) left out for a non-finite value (a diverged or missing "
                             f"run)" + (f", so {gone} seed(s) had none left" if gone else "")) if lost else "")
    if not every or not by:
        return test, per
    return _every(test, tests, alpha=alpha), per


def _every(pooled: dict[str, Any], tests: Sequence[Mapping[str, Any]], *, alpha: float) -> dict[str, Any]:
    """The "every group" rule of :func:`paired_groups` over the groups' ``tests`` (see there)."""
    k = len(tests)
    claim = pooled["claim"]
    held = [t["verdict"] == HELD for t in tests]
    not_held = []
    for t in tests:  # not held at alpha / k: the group's interval at that level lies on the wrong side
        if t["n"] < 2 or not np.isfinite(t["p"]):
            not_held.append(False)
            continue
        side = needed_for(t["diff"], claim=claim, margin=pooled["margin"])
        not_held.append(side == NOT_HELD and t["p"] < alpha / k)
    if all(held):
        verdict = HELD
        p = max(t["p"] for t in tests)
    elif any(not_held):
        verdict = NOT_HELD
        p = min(1.0, k * min(t["p"] for t, x in zip(tests, not_held) if x))
    else:
        verdict = INCONCLUSIVE
        p = 1.0
    needs = [t["seeds_needed"] for t in tests if t["verdict"] != HELD]
    out = {**pooled, "verdict": verdict, "p": p, "rule": "every group", "groups": k,
           "groups_held": int(sum(held)), "groups_not_held": int(sum(not_held)),
           "n": min(t["n"] for t in tests),
           "key": combined_key(t["key"] for t in tests)}
    if verdict == INCONCLUSIVE:
        sides = {needed_for(t["diff"], claim=claim, margin=pooled["margin"]) for t in tests}
        out["needed_for"] = HELD if sides == {HELD} else NOT_HELD if NOT_HELD in sides and None not in sides \
            else None
        if out["needed_for"] == HELD:  # every group must get there: the slowest one decides
            out["seeds_needed"] = max(needs) if needs and all(x is not None for x in needs) else None
        elif out["needed_for"] == NOT_HELD:  # one group suffices: the quickest of those pointing that way
            down = [t["seeds_needed"] for t in tests if t["seeds_needed"] is not None
                    and needed_for(t["diff"], claim=claim, margin=pooled["margin"]) == NOT_HELD]
            out["seeds_needed"] = min(down) if down else None
        else:
            out["seeds_needed"] = None
    else:
        out["needed_for"], out["seeds_needed"] = None, None
    return out


def slopes(df: pd.DataFrame, *, x: str, value: str, seed: str = "seed", log_x: bool = False) -> pd.DataFrame:
    """Each seed's least-squares slope of ``value`` against ``x`` (natural log of x when ``log_x``): one row
    per seed with seed, slope, span (the range of (log) x it was fitted over), points and the fitted
    change over that span (slope x span). Rows with a non-finite value are left out; a seed with fewer
    than two distinct x gets a NaN slope."""
    if log_x and (df[x].astype(float) <= 0).any():
        raise ValueError(f"log_x needs x > 0, got {x} values {sorted(df.loc[df[x] <= 0, x].unique())[:3]}")
    rows = []
    for s, g in df.groupby(seed, sort=True):
        g = g[np.isfinite(g[value].astype(float))]
        xs = np.log(g[x].to_numpy(float)) if log_x else g[x].to_numpy(float)
        ys = g[value].to_numpy(float)
        if len(np.unique(xs)) < 2:
            rows.append({seed: s, "slope": math.nan, "span": math.nan, "points": len(xs), "change": math.nan})
            continue
        xc = xs - xs.mean()
        slope = float((xc * (ys - ys.mean())).sum() / (xc * xc).sum())
        span = float(xs.max() - xs.min())
        rows.append({seed: s, "slope": slope, "span": span, "points": len(xs), "change": slope * span})
    return pd.DataFrame(rows, columns=[seed, "slope", "span", "points", "change"])


def trend(df: pd.DataFrame, *, x: str, value: str, seed: str = "seed", claim: str = "greater",
          margin: float | None = None, log_x: bool = False, alpha: float = ALPHA) -> dict[str, Any]:
    """A trend tested over seeds: each seed's least-squares slope of ``value`` against ``x`` (log x when
    ``log_x``; :func:`slopes`), then the t-interval of the slopes over seeds. ``claim="greater"``
    (rises) / ``"less"`` (falls) as in :func:`paired` on the slopes against 0 (diff = the mean slope, per
    unit of x or of log x). ``"flat"`` needs ``margin`` and is an equivalence on the **total** change over
    the measured range: each seed's slope x span within (-margin, margin) by the two one-sided tests
    (diff = the mean total change). Returns :func:`paired`'s keys plus slope (mean), span (mean),
    statistic (what diff is) and x."""
    _check_claim(claim, margin, TRENDS, "flat")
    sl = slopes(df, x=x, value=value, seed=seed, log_x=log_x)
    unit = f"log {x}" if log_x else x
    if claim == "flat":
        out = paired(sl["change"], np.zeros(len(sl)), claim="equal", margin=margin, alpha=alpha)
        out.update(claim="flat", statistic=f"fitted total change of {value} over the measured {unit} range")
    else:
        out = paired(sl["slope"], np.zeros(len(sl)), claim=claim, alpha=alpha)
        out.update(statistic=f"slope of {value} per unit of {unit}")
    out.update(slope=float(sl["slope"].mean()) if sl["slope"].notna().any() else math.nan,
               span=float(sl["span"].mean()) if sl["span"].notna().any() else math.nan, x=unit, rule="per-seed slope",
               b=0.0, a=out["diff"], key=data_key(df[x], df[value], df[seed].astype("category").cat.codes))
    if out["dropped"]:
        out["dropped_why"] = f"{out['dropped']} seed(s) left out: fewer than two measured {x} values with a finite {value}"
    return out


def holm(ps: Sequence[float], alpha: float = ALPHA) -> list[bool]:
    """Holm's step-down procedure: which of the p-values ``ps`` stay significant when all are tested at
    once with family-wise error ``alpha`` (NaN: never)."""
    p = np.asarray(ps, float)
    order = [i for i in np.argsort(np.where(np.isfinite(p), p, np.inf), kind="stable") if np.isfinite(p[i])]
    keep = [False] * len(p)
    m = len(order)
    for rank, i in enumerate(order):
        if p[i] <= alpha / (m - rank):
            keep[i] = True
        else:
            break
    return keep


def holm_verdicts(tests: Sequence[Mapping[str, Any]], verdicts: Sequence[str], alpha: float = ALPHA) -> list[str]:
    """The verdicts after Holm's correction over every measured claim: a held or not held verdict whose
    test's p-value (:func:`paired`'s ``p``) does not survive :func:`holm` becomes inconclusive; the
    others are unchanged. Claims not measured take no part."""
    idx = [i for i, v in enumerate(verdicts) if v != NOT_MEASURED]
    keep = holm([float((tests[i] or {}).get("p", math.nan)) if verdicts[i] in (HELD, NOT_HELD) else 1.0
                 for i in idx], alpha)
    out = list(verdicts)
    for i, k in zip(idx, keep):
        if out[i] in (HELD, NOT_HELD) and not k:
            out[i] = INCONCLUSIVE
    return out


def chance_decisive(n_claims: int, alpha: float = ALPHA) -> float:
    """How many of ``n_claims`` decisive verdicts (held or not held) chance alone gives when no claimed
    effect exists: n x alpha (each test's error rate; equivalence claims at most as often)."""
    return n_claims * alpha


#: The statistics of one group's row in a per-group frame (:func:`paired_groups`, :func:`one_group`).
GROUP_STATS = ("n", "a", "b", "diff", "ci_low", "ci_high", "verdict")


def one_group(test: Mapping[str, Any], **labels: Any) -> pd.DataFrame:
    """A per-group frame of one row: ``labels`` and the :data:`GROUP_STATS` of a :func:`paired` result, for a
    claim decided by a single comparison."""
    return pd.DataFrame([{**labels, **{c: test.get(c) for c in GROUP_STATS}}])


def _num(x: float, digits: int) -> str:
    return f"{x:+.{digits}g}"


def interval_text(t: Mapping[str, Any], digits: int = 3) -> str:
    """'+0.012 [-0.003, +0.027], 3 seeds' (the mean paired difference, or the mean slope of a trend, and its
    interval, 90 % for an equivalence claim), or 'one seed (no interval)' / 'no seeds'; with the values
    left out, the groups of an "every" claim and a clipped interval said."""
    n = t.get("n", 0)
    if not n:
        return "no seeds"
    d = _num(t["diff"], digits)
    if t.get("statistic", "").startswith("slope"):
        d = f"slope {d} per {t.get('x', 'x')}"
    elif t.get("statistic", "").startswith("fitted total"):
        d = f"total change {d}"
    if n < 2 or not np.isfinite(t.get("ci_low", math.nan)):
        text = f"{d}, one seed (no interval)"
    else:
        level = t.get("level", 1 - t.get("alpha", ALPHA))
        lvl = "" if abs(level - 0.95) < 1e-9 else f" ({level:.0%} CI)"
        text = f"{d} [{_num(t['ci_low'], digits)}, {_num(t['ci_high'], digits)}]{lvl}, {n} seeds"
    if t.get("rule") == "every group":
        text += f"; every group: {t['groups_held']} of {t['groups']} held"
        if t.get("groups_not_held"):
            text += f", {t['groups_not_held']} not held"
    if t.get("clipped"):
        text += "; interval cut to the statistic's range"
    if t.get("dropped") or t.get("dropped_why"):
        text += f"; {t['dropped_why']}"
    return text


def shown_verdict(verdict: str, test: Mapping[str, Any] | None) -> str:
    """The verdict word as a reader sees it: an inconclusive one with the seeds that would decide it
    ("inconclusive (≈7 seeds to decide held)"), or why no number of seeds would."""
    if verdict != INCONCLUSIVE or not test:
        return verdict
    need, side = test.get("seeds_needed"), test.get("needed_for")
    claim, margin = test.get("claim"), test.get("margin")
    beyond = claim in ("equal", "flat") and margin is not None and np.isfinite(test.get("diff", math.nan)) \
        and abs(test["diff"]) >= margin
    if test.get("n", 0) < 2:
        return f"{verdict} (fewer than two seeds)"
    if beyond:
        return (f"{verdict} (difference beyond the margin; ≈{need} seeds to decide not held)" if need
                else f"{verdict} (difference beyond the margin)")
    if need and side:
        return f"{verdict} (≈{need} seeds to decide {side})"
    if side:
        return f"{verdict} (more than {MOST_SEEDS} seeds at this effect)"
    if test.get("rule") == "every group":
        return f"{verdict} (the groups point different ways)"
    return f"{verdict} (no effect either way)"


# ---------------------------------------------------------------------------------- the record
#: How a held verdict bears on the conclusion it names: "for" supports it, "against" speaks against it.
BEARS = ("for", "against")


@dataclass(frozen=True)
class Verdict:
    """One claim of the thesis and what our runs at one profile say about it.

    ``test`` is :func:`paired`'s (or :func:`trend`'s) result the verdict was computed from (empty for a
    claim not measured); ``scale`` says how close to the thesis's regime it was measured (e.g. the dense
    network's test accuracy, ours against the thesis's). ``fails_if`` is the result that would make the
    claim not held, written with the claim; ``conclusion`` the key of the chapter-7 conclusion it bears
    on ("" for none), ``bears`` whether a held verdict supports that conclusion or speaks against it;
    ``note`` what a reader must know where the verdict is shown (a value left out, a regime not reached)."""

    claim_id: str   # short stable id, e.g. "2-resnet-peak-coherence-real-gt-gaussian"
    chapter: str    # e.g. "02"
    claim: str      # the claim in our words
    thesis: str     # what the thesis reports (numbers where it gives them)
    ours: str       # what we measured (numbers)
    verdict: str    # one of VERDICTS
    figure: str     # the figure or table that decides it, e.g. "Figure 2.1"
    test: dict = field(default_factory=dict)
    scale: str = ""
    fails_if: str = ""
    conclusion: str = ""
    bears: str = "for"
    note: str = ""

    def __post_init__(self) -> None:
        if self.verdict not in VERDICTS:
            raise ValueError(f"verdict {self.verdict!r} is not one of {VERDICTS}")
        if self.test and self.test.get("verdict") not in (None, self.verdict):
            raise ValueError(f"{self.claim_id}: verdict {self.verdict!r} is not its test's {self.test['verdict']!r}")
        if self.bears not in BEARS:
            raise ValueError(f"{self.claim_id}: bears must be one of {BEARS}, got {self.bears!r}")

    @classmethod
    def of(cls, claim_id: str, chapter: str, claim: str, thesis: str, ours: str, test: Mapping[str, Any],
           figure: str, scale: str = "", **more: Any) -> "Verdict":
        """A verdict whose word is its test's (:func:`paired`); the record keeps the test's numbers."""
        return cls(claim_id, chapter, claim, thesis, ours, test["verdict"], figure,
                   {k: _plain(v) for k, v in test.items()}, scale, **more)

    @classmethod
    def unmeasured(cls, claim_id: str, chapter: str, claim: str, thesis: str, ours: str, figure: str,
                   scale: str = "", **more: Any) -> "tuple[Verdict, pd.DataFrame]":
        """A claim not measured at this scale (``ours`` says why), with an empty per-group frame."""
        return (cls(claim_id, chapter, claim, thesis, ours, NOT_MEASURED, figure, {}, scale, **more),
                pd.DataFrame(columns=list(GROUP_STATS)))

    @property
    def interval(self) -> str:
        """The test's difference and interval as text (:func:`interval_text`), '' when not measured."""
        return interval_text(self.test) if self.test else ""

    @property
    def shown(self) -> str:
        """The verdict word, with the seeds an inconclusive one would need (:func:`shown_verdict`)."""
        return shown_verdict(self.verdict, self.test)


class Decided(NamedTuple):
    """A decided claim: its verdict and the per-group intervals the chapter shows beside it."""

    verdict: Verdict
    groups: pd.DataFrame


@dataclass(frozen=True)
class Claim:
    """A claim as written before any run: the one way every chapter states and decides a claim.

    ``id`` (stable, starts with the chapter's number), ``chapter`` ("02"), ``text`` (the claim in our
    words), ``thesis`` (what the thesis reports), ``fails_if`` (the result that would make it not held:
    a claim no run could fail is no claim), ``figure`` (what decides it), ``conclusion`` (the key of the
    chapter-7 conclusion it bears on, "" for none) and ``bears`` ("for": a held verdict supports that
    conclusion; "against": it speaks against it). :meth:`decide` turns a test into a :class:`Decided`."""

    id: str
    chapter: str
    text: str
    thesis: str
    fails_if: str
    figure: str
    conclusion: str = ""
    bears: str = "for"

    def __post_init__(self) -> None:
        if not (len(self.chapter) == 2 and self.chapter.isdigit()):
            raise ValueError(f"claim {self.id!r}: chapter must be two digits like '05', got {self.chapter!r}")
        if not self.id.startswith(f"{int(self.chapter)}-"):
            raise ValueError(f"claim id {self.id!r} must start with its chapter's number, '{int(self.chapter)}-'")
        if not self.fails_if.strip():
            raise ValueError(f"claim {self.id!r} says no result that would make it not held (fails_if)")
        if self.bears not in BEARS:
            raise ValueError(f"claim {self.id!r}: bears must be one of {BEARS}, got {self.bears!r}")

    def _verdict(self, ours: str, verdict: str, test: Mapping[str, Any], scale: str, note: str) -> Verdict:
        return Verdict(self.id, self.chapter, self.text, self.thesis, ours, verdict, self.figure,
                       {k: _plain(v) for k, v in test.items()}, scale, self.fails_if, self.conclusion, self.bears, note)

    def decide(self, ours: str, test: Mapping[str, Any], *, scale: str = "", groups: pd.DataFrame | None = None,
               note: str = "", **labels: Any) -> Decided:
        """The claim decided by ``test`` (:func:`paired`, :func:`paired_groups` or :func:`trend`): its verdict,
        with ``ours`` (our numbers), ``scale`` and ``note``, and the per-group frame (``groups``, else one
        row from ``test`` with ``labels``)."""
        g = groups if groups is not None else one_group(test, **labels)
        return Decided(self._verdict(ours, test["verdict"], test, scale, note), g)

    def unmeasured(self, ours: str, *, scale: str = "", note: str = "") -> Decided:
        """The claim not measured at this scale (``ours`` says why), with an empty per-group frame."""
        return Decided(self._verdict(ours, NOT_MEASURED, {}, scale, note), pd.DataFrame(columns=list(GROUP_STATS)))

    def regime_not_reached(self, ours: str, test: Mapping[str, Any], *, scale: str = "", note: str = "",
                           groups: pd.DataFrame | None = None) -> Decided:
        """Not measured at this scale although a test was run: the profile does not reach the claim's regime
        (e.g. memorisation after 20 of the thesis's 1,000 epochs); the test's numbers are kept for the
        reader, its verdict word is not used."""
        t = {**test, "verdict": NOT_MEASURED, "measured_verdict": test.get("verdict")}
        g = groups if groups is not None else one_group(t)
        return Decided(self._verdict(ours, NOT_MEASURED, t, scale, note), g)


def verdicts_of(decided: Iterable[Decided]) -> list[Verdict]:
    """The verdicts of decided claims."""
    return [d[0] for d in decided]


def group_label(row: pd.Series, keys: Sequence[str]) -> str:
    """A per-group row's keys as text: ("from", "to") as "32→64", ("sweep", "x") as "width 64", the keys
    of :data:`VALUE_ONLY` as their value, any other key as "key value"."""
    def fmt(v: object) -> str:
        return f"{v:g}" if isinstance(v, (int, float, np.integer, np.floating)) else str(v)

    parts = []
    for k in keys:
        if k in ("to", "x"):
            continue
        if k == "from":
            parts.append(f"{fmt(row['from'])}→{fmt(row['to'])}")
        elif k == "sweep" and "x" in keys:
            parts.append(f"{row['sweep']} {fmt(row['x'])}")
        elif k in VALUE_ONLY:
            parts.append(str(row[k]))
        else:
            parts.append(f"{k} {fmt(row[k])}")
    return ", ".join(parts) if parts else "all"


#: Group keys :func:`group_label` writes as their value alone.
VALUE_ONLY = ("versus", "method", "scope", "item")


def intervals_frame(decided: Iterable[tuple[object, pd.DataFrame]]) -> pd.DataFrame:
    """The per-group intervals behind a chapter's verdicts, one row per (claim, group): claim_id, group
    (:func:`group_label`), n (seeds), a, b (means), diff (mean of a - b), ci_low, ci_high, verdict of
    that group alone. ``decided``: (verdict, per-group frame of ``paired_groups``) pairs."""
    rows = []
    for v, g in decided:
        keys = [c for c in g.columns if c not in GROUP_STATS]
        for _, row in g.iterrows():
            rows.append({"claim_id": v.claim_id, "group": group_label(row, keys),
                         **{c: row[c] for c in GROUP_STATS}})
    return pd.DataFrame(rows, columns=["claim_id", "group", *GROUP_STATS])


def show_intervals(df: pd.DataFrame, digits: int = 3) -> "pd.io.formats.style.Styler":
    """:func:`intervals_frame` for display: the difference with its interval as one text column (95 %; 90 % for
    an equivalence claim, see the claim's verdict table)."""
    def ci(r: pd.Series) -> str:
        if r["diff"] is None or not np.isfinite(r["diff"]):
            return "-"
        if r["ci_low"] is None or not np.isfinite(r["ci_low"]):
            return f"{r['diff']:+.{digits}g} (no interval)"
        return f"{r['diff']:+.{digits}g} [{r['ci_low']:+.{digits}g}, {r['ci_high']:+.{digits}g}]"

    out = df.assign(**{"difference [interval]": df.apply(ci, axis=1) if len(df) else []})
    out = out[["claim_id", "group", "n", "a", "b", "difference [interval]", "verdict"]]
    return with_badges(out.style.hide(axis="index").format({"a": f"{{:.{digits}g}}", "b": f"{{:.{digits}g}}"},
                                                           na_rep="-")
                       .set_properties(**{"text-align": "left"}))


def _plain(x: Any) -> Any:
    """JSON-friendly scalar (numpy numbers to Python; NaN stays a float)."""
    if isinstance(x, (np.floating, np.integer)):
        return x.item()
    return x


# ---------------------------------------------------------------------------------- storage
def params_key(params: Any) -> str:
    """A short stable key of a chapter's parameters (a ``Params`` dataclass or a mapping)."""
    d = asdict(params) if dataclasses.is_dataclass(params) else dict(params)
    return hashlib.sha256(json.dumps(d, sort_keys=True, default=str).encode()).hexdigest()[:12]


def _dir(profile: str) -> Path:
    return paths.runs_dir() / "verdicts" / profile


def chapter_file(profile: str, chapter: str, params: Any) -> Path:
    """Where chapter ``chapter``'s verdicts for ``params`` at ``profile`` are stored."""
    return _dir(profile) / chapter / f"{params_key(params)}.json"


def store(profile: str, chapter: str, params: Any, run_hashes: Sequence[str], vs: Sequence[Verdict]) -> Path:
    """Store a chapter's verdicts with their provenance (``params``, ``profile``, the hashes of the runs
    they were computed from, :data:`VERDICT_VERSION`), replacing atomically the set stored earlier for
    the same parameters; returns the file. Every verdict must belong to ``chapter``."""
    wrong = [v.claim_id for v in vs if v.chapter != chapter]
    if wrong:
        raise ValueError(f"verdicts {wrong} do not belong to chapter {chapter!r}")
    d = asdict(params) if dataclasses.is_dataclass(params) else dict(params)
    record = {"chapter": chapter, "profile": profile, "params": d, "params_key": params_key(params),
              "run_hashes": sorted(set(run_hashes)), "version": VERDICT_VERSION,
              "written": time.strftime("%Y-%m-%d %H:%M:%S"), "verdicts": [asdict(v) for v in vs]}
    target = chapter_file(profile, chapter, params)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.{time.time_ns()}.tmp")  # unique: writers may race
    try:
        tmp.write_text(json.dumps(record, indent=1, default=_plain))
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return target


def run_hashes(stages: Any) -> list[str]:
    """The distinct run hashes of a plan (stages of configs), sorted."""
    from ..config import config_hash

    return sorted({config_hash(c) for stage in stages for c in stage})


def record(chapter_module: Any, setup: Any, vs: Sequence[Verdict]) -> Path:
    """Store a chapter's verdicts (:func:`store`) from its module and :class:`Setup`: the chapter key
    from the module's name (``ch05_...`` -> "05"), the parameters ``setup.params``, the profile
    ``setup.profile.name`` and the hashes of the module's ``plan(setup)``."""
    chapter = chapter_module.__name__.rsplit(".", 1)[-1][2:4]
    return store(setup.profile.name, chapter, setup.params, run_hashes(chapter_module.plan(setup)), vs)


def load_record(path: Path) -> dict[str, Any]:
    """One stored chapter record (see :func:`store`)."""
    return json.loads(path.read_text())


def frame(vs: Sequence[Verdict] | Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """Verdicts (records or their dicts) as a table with the :class:`Verdict` fields as columns."""
    rows = [asdict(v) if isinstance(v, Verdict) else dict(v) for v in vs]
    return pd.DataFrame(rows, columns=list(Verdict.__dataclass_fields__))


def load_for(profile: str, expected: Mapping[str, tuple[Any, Sequence[str]]]) -> tuple[pd.DataFrame, list[str]]:
    """The stored verdicts of each chapter in ``expected`` (chapter -> (its parameters, the hashes of the
    runs its plan has for them)), sorted by chapter and claim id, and a list of problems, one line each:
    a chapter with no verdicts stored for these parameters (naming the claims stored under others), or
    with verdicts computed from other runs or by another version of this toolkit (stale)."""
    rows, problems = [], []
    for chapter, (params, hashes) in expected.items():
        f = chapter_file(profile, chapter, params)
        if not f.exists():
            others = sorted(p for p in (_dir(profile) / chapter).glob("*.json") if p != f)
            names = sorted({v["claim_id"] for p in others for v in load_record(p)["verdicts"]})
            problems.append(f"chapter {chapter}: no verdicts stored for these parameters"
                            + (f" (missing: {', '.join(names)})" if names else " (run the chapter first)"))
            continue
        rec = load_record(f)
        stale = []
        if rec.get("version") != VERDICT_VERSION:
            stale.append(f"computed by verdict version {rec.get('version')}, now {VERDICT_VERSION}")
        if sorted(set(hashes)) != rec.get("run_hashes"):
            stale.append("computed from other runs than the chapter's plan now lists")
        if stale:
            problems.append(f"chapter {chapter}: stale verdicts ({'; '.join(stale)}); rerun the chapter: "
                            + ", ".join(v["claim_id"] for v in rec["verdicts"]))
            continue
        rows += rec["verdicts"]
    df = frame(rows)
    return df.sort_values(["chapter", "claim_id"], ignore_index=True), problems


def load_all(profile: str) -> pd.DataFrame:
    """Every verdict stored for ``profile`` under any parameters, with the chapter's ``params_key``."""
    out = []
    for f in sorted(_dir(profile).glob("*/*.json")):
        rec = load_record(f)
        out.append(frame(rec["verdicts"]).assign(params_key=rec["params_key"]))
    if not out:
        return frame([]).assign(params_key=pd.Series(dtype=object))
    return pd.concat(out, ignore_index=True).sort_values(["chapter", "claim_id"], ignore_index=True)


def combine(verdicts: Sequence[str]) -> str:
    """Several claims' verdicts bearing on one conclusion, as one phrase: the verdict when all agree
    ("held", or "held (3 of 3)"), else "mixed: 2 held, 1 inconclusive"."""
    v = list(verdicts)
    counts = {k: v.count(k) for k in VERDICTS if v.count(k)}
    if len(counts) == 1:
        (k, n), = counts.items()
        return k if n == 1 else f"{k} ({n} of {n})"
    return "mixed: " + ", ".join(f"{n} {k}" for k, n in counts.items())


#: Background of a verdict cell by kind: light tints of the Okabe-Ito blue and vermillion for held and
#: not held, grey for inconclusive, light yellow for not measured; the text says the verdict too, so the
#: colour only helps the eye find it.
BADGE_COLORS = {HELD: "#cfe3f3", NOT_HELD: "#f6d3bf", INCONCLUSIVE: "#e6e6e6", NOT_MEASURED: "#fbf0c0"}


def badge_css(shown: str) -> str:
    """CSS for a table cell holding a verdict as shown (``"held"``, ``"inconclusive (≈12 seeds)"``, ...):
    the background of its kind (:data:`BADGE_COLORS`, matched on the start of the text), bold; ``""``
    for text that is no verdict."""
    kind = next((k for k in sorted(VERDICTS, key=len, reverse=True) if str(shown).startswith(k)), None)
    return "" if kind is None else f"background-color: {BADGE_COLORS[kind]}; font-weight: 600; border-radius: 4px"


def with_badges(styler: "pd.io.formats.style.Styler", column: str = "verdict") -> "pd.io.formats.style.Styler":
    """``styler`` with every cell of ``column`` coloured by :func:`badge_css`."""
    return styler.map(badge_css, subset=[column])


def table(vs: list[Verdict], *, by: str = "claim_id") -> "pd.io.formats.style.Styler":
    """A chapter's verdicts for display: the claim (its id, its text with ``by="claim"``, or both with
    ``by="both"``), the thesis's statement, ours (with the verdict's note), the result that would make it
    not held, the paired difference with its interval and the number of seeds, the verdict (an
    inconclusive one with the seeds it would need), the scale it was measured at and the deciding figure;
    full text, no index."""
    heads = {"claim_id": {"claim": "claim_id"}, "claim": {"claim": "claim"},
             "both": {"claim id": "claim_id", "claim": "claim"}}
    if by not in heads:
        raise ValueError(f"by must be one of {', '.join(map(repr, heads))}, got {by!r}")
    rows = []
    for v in vs:
        row = {c: getattr(v, f) for c, f in heads[by].items()}
        row.update({"thesis": v.thesis, "ours": v.ours + (f" Note: {v.note}" if v.note else ""),
                    "not held if": v.fails_if, "difference [95 % CI]": v.interval,
                    "verdict": v.shown, "scale": v.scale, "decided by": v.figure})
        rows.append(row)
    cols = [*heads[by], "thesis", "ours", "not held if", "difference [95 % CI]", "verdict", "scale", "decided by"]
    df = pd.DataFrame(rows, columns=cols)
    return with_badges(df.style.hide(axis="index").set_properties(**{"text-align": "left", "vertical-align": "top"}))
