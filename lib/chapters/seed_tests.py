"""The statistical tests over seeds every chapter's verdicts are computed with: the paired test
(:func:`paired`, :func:`paired_groups`), trends (:func:`trend`, per-seed :func:`slopes`), the seeds an
inconclusive test would need (:func:`seeds_needed`), the data fingerprints of a test (:func:`data_key`,
:func:`combined_key`), and Holm's correction across claims (:func:`holm`, :func:`holm_verdicts`) and within
the comparisons of one claim (:func:`holm_family` with :func:`all_of` / :func:`any_of`,
:func:`holm_over_candidates`). The claims, verdict records, storage and display tables that use them are in
:mod:`lib.chapters.verdicts`.

The seed is the replicate. A chapter reduces the values of one run (tensors, epochs, widths, items that
share one reference run) within the seed, then tests over seeds: runs of the same seed are paired
(children share their parent's seed and data order), and a claim is judged by the mean paired difference
and its two-sided t interval (:func:`paired`); an interval that contains zero is "inconclusive", never
"held". "Every" claims judge each group on its own (:func:`paired_groups` with ``every=True``); trends are
per-seed least-squares slopes tested over seeds (:func:`trend`). A claim of "no difference" needs an
equivalence margin fixed with the claim before any run and is decided by two one-sided tests (the
1 - 2 alpha interval inside the margin).
"""
from __future__ import annotations

import functools
import hashlib
import math
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import special

#: The words a verdict takes; "not measured at this scale": the profile cannot reach the claim's regime.
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


#: The statistics of one group's row in a per-group frame (:func:`paired_groups`,
#: :func:`lib.chapters.verdicts.one_group`).
GROUP_STATS = ("n", "a", "b", "diff", "ci_low", "ci_high", "verdict")


# ---------------------------------------------------------------------------------- Holm within one claim
#: A decided part of a claim: verdict, needed_for, seeds_needed, p, label and test (see :func:`holm_family`).
Node = dict[str, Any]


def holm_adjusted(ps: Sequence[float]) -> list[float]:
    """Holm's adjusted p-values of ``ps`` (NaN stays NaN and takes no part): a comparison survives
    :func:`holm` at alpha exactly when its adjusted p is at most alpha."""
    p = np.asarray(ps, float)
    order = [i for i in np.argsort(np.where(np.isfinite(p), p, np.inf), kind="stable") if np.isfinite(p[i])]
    out, running, m = [math.nan] * len(p), 0.0, len(order)
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * float(p[i])))
        out[i] = running
    return out


def holm_family(tests: Mapping[str, Mapping[str, Any]], alpha: float = ALPHA) -> dict[str, Node]:
    """Each comparison of a claim decided under Holm's correction over all of them (``tests``: label -> a
    :func:`paired` or :func:`paired_groups` result, e.g. chapter 6's ``compare``): held or not held when its
    p-value survives :func:`holm` (the side its difference points to), else inconclusive, with the seeds that
    would decide it at alpha / comparisons (Bonferroni, an upper bound for Holm's steps). Returns label ->
    node (verdict, needed_for, seeds_needed, p = Holm-adjusted p, label, test)."""
    labels = list(tests)
    ps = [float(tests[k]["p"]) if tests[k]["n"] >= 2 else math.nan for k in labels]
    keep, adjusted, m = holm(ps, alpha), holm_adjusted(ps), len(labels)
    out = {}
    for k, kept, p in zip(labels, keep, adjusted):
        t = tests[k]
        side = needed_for(t["diff"], claim=t["claim"], margin=t["margin"])
        word = side if kept and side else INCONCLUSIVE
        seeds = (seeds_needed(t["diff"], t["sd"], claim=t["claim"], margin=t["margin"], alpha=alpha / m)
                 if word == INCONCLUSIVE else None)
        out[k] = {"verdict": word, "needed_for": side if word == INCONCLUSIVE else None, "seeds_needed": seeds,
                  "p": p, "label": k, "test": t}
    return out


def _p(n: Node) -> float:
    return n["p"] if np.isfinite(n["p"]) else 2.0


def _seeds(n: Node) -> float:
    return n["seeds_needed"] if n["seeds_needed"] is not None else math.inf


def _node(verdict: str, rep: Node, need: str | None = None, seeds: int | None = None) -> Node:
    """A combined node whose numbers are those of ``rep``, the part that decides it."""
    return {"verdict": verdict, "needed_for": need, "seeds_needed": seeds, "p": rep["p"], "label": rep["label"],
            "test": rep["test"]}


def all_of(nodes: Sequence[Node]) -> Node:
    """Every part holds: held when every part is held (shown: the closest call), not held when some part is
    not held, else inconclusive; more seeds would decide held when every open part points to held (the most
    seeds any needs), not held when an open part points to not held (the fewest seeds one needs)."""
    if all(n["verdict"] == HELD for n in nodes):
        return _node(HELD, max(nodes, key=_p))
    against = [n for n in nodes if n["verdict"] == NOT_HELD]
    if against:
        return _node(NOT_HELD, min(against, key=_p))
    open_ = [n for n in nodes if n["verdict"] != HELD]
    if all(n["needed_for"] == HELD for n in open_):
        need = [n["seeds_needed"] for n in open_]
        return _node(INCONCLUSIVE, max(open_, key=_seeds), HELD, None if None in need else max(need))
    toward = [n for n in open_ if n["needed_for"] == NOT_HELD]
    if toward:
        rep = min(toward, key=_seeds)
        return _node(INCONCLUSIVE, rep, NOT_HELD, rep["seeds_needed"])
    return _node(INCONCLUSIVE, max(open_, key=_p))


def any_of(nodes: Sequence[Node]) -> Node:
    """Some part holds: held when some part is held (shown: the clearest), not held when every part is not
    held, else inconclusive; more seeds would decide held when an open part points to held (the fewest seeds
    one needs), not held when every open part points to not held (the most seeds any needs)."""
    held = [n for n in nodes if n["verdict"] == HELD]
    if held:
        return _node(HELD, min(held, key=_p))
    if all(n["verdict"] == NOT_HELD for n in nodes):
        return _node(NOT_HELD, max(nodes, key=_p))
    open_ = [n for n in nodes if n["verdict"] != NOT_HELD]
    toward = [n for n in open_ if n["needed_for"] == HELD]
    if toward:
        rep = min(toward, key=_seeds)
        return _node(INCONCLUSIVE, rep, HELD, rep["seeds_needed"])
    if all(n["needed_for"] == NOT_HELD for n in open_):
        need = [n["seeds_needed"] for n in open_]
        return _node(INCONCLUSIVE, max(open_, key=_seeds), NOT_HELD, None if None in need else max(need))
    return _node(INCONCLUSIVE, min(open_, key=_p))


def holm_over_candidates(tests: Sequence[dict[str, Any]], what: str) -> tuple[list[dict[str, Any]], list[str]]:
    """The tests of a family of candidates (early fractions, layer groups: the reader looks for the one that
    works) with Holm's correction over the family (:func:`holm_verdicts`): a held or not
    held verdict whose p-value does not survive becomes inconclusive, with the seeds it would need at the
    Bonferroni level alpha / k (a bound on Holm's). Returns the tests (with ``holm_candidates``, the number
    of candidates, and ``plain_verdict``, the verdict before the correction) and, per test, a note for the reader
    on a decisive or a corrected verdict ("" otherwise)."""
    words = [t["verdict"] for t in tests]
    adjusted = holm_verdicts(tests, words)
    k = sum(w != NOT_MEASURED for w in words)
    out, notes = [], []
    for t, old, new in zip(tests, words, adjusted):
        t = {**t, "holm_candidates": k, "plain_verdict": old}
        note = ""
        if new != old:
            margin = t.get("margin")
            t.update(verdict=new, needed_for=needed_for(t["diff"], claim=t["claim"], margin=margin),
                     seeds_needed=seeds_needed(t["diff"], t["sd"], claim=t["claim"], margin=margin,
                                                       alpha=t["alpha"] / k))
            note = f"{old} alone (p = {t['p']:.3g}), inconclusive after Holm's correction over the {k} {what}"
        elif k > 1 and new in (HELD, NOT_HELD):
            note = f"{new} after Holm's correction over the {k} {what} (p = {t['p']:.3g})"
        out.append(t)
        notes.append(note)
    return out, notes
