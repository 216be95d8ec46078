"""The verdict toolkit every chapter uses: the paired test (:func:`paired`), the :class:`Verdict` record,
storing and loading with provenance, and the display table.

A verdict is computed by the chapter module that draws the deciding figure (its ``verdicts`` function, a
pure function of the chapter's results) from **paired** per-seed values: runs of the same seed are paired
(children share their parent's seed and data order), and the claim is judged by the mean paired
difference and its two-sided t confidence interval (:func:`paired`). An interval that contains zero is
"inconclusive", never "held"; a claim of "no difference" needs an equivalence margin fixed with the
claim before any run.

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
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats as sps

from .. import paths

HELD, NOT_HELD, INCONCLUSIVE, NOT_MEASURED = "held", "not held", "inconclusive", "not measured at this scale"
VERDICTS = (HELD, NOT_HELD, INCONCLUSIVE, NOT_MEASURED)
#: The sides a claim can take: a > b, a < b, |a - b| < margin.
CLAIMS = ("greater", "less", "equal")
#: Confidence level of every interval: two-sided 1 - ALPHA.
ALPHA = 0.05
#: Bump when the way verdicts are computed changes: stored verdicts of another version are stale.
VERDICT_VERSION = 2


# ---------------------------------------------------------------------------------- the paired test
@functools.lru_cache(maxsize=4096)
def _t(n: int, alpha: float) -> float:
    """The two-sided 1 - alpha quantile of Student's t with n - 1 degrees of freedom."""
    return float(sps.t.ppf(1 - alpha / 2, n - 1))


def seeds_needed(diff: float, sd: float, *, claim: str = "greater", margin: float | None = None,
                 alpha: float = ALPHA, most: int = 1000) -> int | None:
    """Roughly how many pairs the observed effect would need for a decisive interval: the least n >= 2 with
    t(n) sd / sqrt(n) < |diff| (for ``claim="equal"``: < margin - |diff|), taking the observed mean paired
    difference ``diff`` and the sd of the paired differences ``sd`` as the truth. None when no n up to
    ``most`` would do (a zero effect, or an equivalence claim whose difference is beyond the margin)."""
    room = abs(diff) if claim != "equal" else (margin or 0.0) - abs(diff)
    if not np.isfinite(room) or room <= 0 or not np.isfinite(sd):
        return None
    if sd == 0:
        return 2
    for n in range(2, most + 1):
        if _t(n, alpha) * sd / math.sqrt(n) < room:
            return n
    return None


def paired(a: Sequence[float], b: Sequence[float], *, claim: str = "greater", margin: float | None = None,
           alpha: float = ALPHA) -> dict[str, Any]:
    """Judge a claim about per-seed values ``a`` and ``b`` paired by index (the same seed, or the same
    (width, seed)) from the paired differences d = a - b.

    The interval is the two-sided 1 - ``alpha`` t-interval of mean(d). ``claim="greater"`` (a > b):
    held when the interval lies wholly above 0, not held when wholly below, else inconclusive;
    ``"less"`` mirrors it. ``"equal"`` needs ``margin`` > 0: held when the interval lies inside
    (-margin, margin), not held when it lies wholly outside it, else inconclusive. Fewer than 2 finite
    pairs: inconclusive (with one pair there is no interval), none: not measured at this scale.

    Returns claim, margin, alpha, verdict, n (pairs), a, b (means), diff (mean of a - b), sd (of the
    differences), ci_low, ci_high and seeds_needed (:func:`seeds_needed`, for an inconclusive verdict;
    else None). ValueError for an unknown claim, a missing or non-positive margin of "equal", a margin
    given to another claim, or lists of different lengths."""
    if claim not in CLAIMS:
        raise ValueError(f"claim must be one of {CLAIMS}, got {claim!r}")
    if claim == "equal" and (margin is None or not margin > 0):
        raise ValueError(f"claim 'equal' needs a margin > 0 (fixed with the claim), got {margin!r}")
    if claim != "equal" and margin is not None:
        raise ValueError(f"a margin belongs to claim 'equal' only, got margin={margin!r} with claim {claim!r}")
    a_, b_ = np.asarray(a, float).ravel(), np.asarray(b, float).ravel()
    if len(a_) != len(b_):
        raise ValueError(f"paired values need equal lengths, got {len(a_)} and {len(b_)}")
    keep = np.isfinite(a_) & np.isfinite(b_)
    a_, b_ = a_[keep], b_[keep]
    d, n = a_ - b_, int(keep.sum())
    out: dict[str, Any] = {"claim": claim, "margin": margin, "alpha": alpha, "n": n,
                           "a": float(a_.mean()) if n else math.nan, "b": float(b_.mean()) if n else math.nan,
                           "diff": float(d.mean()) if n else math.nan,
                           "sd": float(d.std(ddof=1)) if n >= 2 else math.nan,
                           "ci_low": math.nan, "ci_high": math.nan, "seeds_needed": None}
    if n == 0:
        return {**out, "verdict": NOT_MEASURED}
    if n < 2:
        return {**out, "verdict": INCONCLUSIVE}
    half = _t(n, alpha) * out["sd"] / math.sqrt(n)
    lo, hi = out["diff"] - half, out["diff"] + half
    out.update(ci_low=float(lo), ci_high=float(hi))
    if claim == "equal":
        verdict = HELD if -margin < lo and hi < margin else NOT_HELD if lo >= margin or hi <= -margin else INCONCLUSIVE
    else:
        above, below = lo > 0, hi < 0
        if claim == "less":
            above, below = below, above
        verdict = HELD if above else NOT_HELD if below else INCONCLUSIVE
    out["verdict"] = verdict
    if verdict == INCONCLUSIVE:
        out["seeds_needed"] = seeds_needed(out["diff"], out["sd"], claim=claim, margin=margin, alpha=alpha)
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
                  alpha: float = ALPHA) -> tuple[dict[str, Any], pd.DataFrame]:
    """:func:`paired` of ``value`` between the rows with ``key == a`` and those with ``key == b``, paired
    on ``pair_on`` within each ``by`` group: the pooled test over all (group, seed) pairs (the verdict's),
    and one row per group with its own interval (columns ``by``, n, a, b, diff, ci_low, ci_high, verdict)
    for the chapter to show beside it."""
    pairs = paired_frame(df, key, a, b, value, by=by, pair_on=pair_on)
    pooled = paired(pairs["a"], pairs["b"], claim=claim, margin=margin, alpha=alpha)
    rows = []
    groups = pairs.groupby(list(by), sort=True) if by else [((), pairs)]
    for k, g in groups:
        k = k if isinstance(k, tuple) else (k,)
        t = paired(g["a"], g["b"], claim=claim, margin=margin, alpha=alpha)
        rows.append({**dict(zip(by, k)), **{c: t[c] for c in ("n", "a", "b", "diff", "ci_low", "ci_high", "verdict")}})
    return pooled, pd.DataFrame(rows, columns=[*by, "n", "a", "b", "diff", "ci_low", "ci_high", "verdict"])


#: The statistics of one group's row in a per-group frame (:func:`paired_groups`, :func:`one_group`).
GROUP_STATS = ("n", "a", "b", "diff", "ci_low", "ci_high", "verdict")


def one_group(test: Mapping[str, Any], **labels: Any) -> pd.DataFrame:
    """A per-group frame of one row: ``labels`` and the :data:`GROUP_STATS` of a :func:`paired` result, for a
    claim decided by a single comparison."""
    return pd.DataFrame([{**labels, **{c: test[c] for c in GROUP_STATS}}])


def interval_text(t: Mapping[str, Any], digits: int = 3) -> str:
    """'+0.012 [-0.003, +0.027], 3 pairs' (the mean paired difference and its interval), or 'one pair' /
    'no pairs' when there is no interval."""
    n = t.get("n", 0)
    if not n:
        return "no pairs"
    d = f"{t['diff']:+.{digits}g}"
    if n < 2 or not np.isfinite(t.get("ci_low", math.nan)):
        return f"{d}, one pair (no interval)"
    return f"{d} [{t['ci_low']:+.{digits}g}, {t['ci_high']:+.{digits}g}], {n} pairs"


# ---------------------------------------------------------------------------------- the record
@dataclass(frozen=True)
class Verdict:
    """One claim of the thesis and what our runs at one profile say about it.

    ``test`` is :func:`paired`'s result the verdict was computed from (empty for a claim not measured);
    ``scale`` says how close to the thesis's regime it was measured (e.g. the dense network's test
    accuracy, ours against the thesis's)."""

    claim_id: str   # short stable id, e.g. "2-resnet-peak-coherence-real-gt-gaussian"
    chapter: str    # e.g. "02"
    claim: str      # the claim in our words
    thesis: str     # what the thesis reports (numbers where it gives them)
    ours: str       # what we measured (numbers)
    verdict: str    # one of VERDICTS
    figure: str     # the figure or table that decides it, e.g. "Figure 2.1"
    test: dict = field(default_factory=dict)
    scale: str = ""

    def __post_init__(self) -> None:
        if self.verdict not in VERDICTS:
            raise ValueError(f"verdict {self.verdict!r} is not one of {VERDICTS}")
        if self.test and self.test.get("verdict") not in (None, self.verdict):
            raise ValueError(f"{self.claim_id}: verdict {self.verdict!r} is not its test's {self.test['verdict']!r}")

    @classmethod
    def of(cls, claim_id: str, chapter: str, claim: str, thesis: str, ours: str, test: Mapping[str, Any],
           figure: str, scale: str = "") -> "Verdict":
        """A verdict whose word is its test's (:func:`paired`); the record keeps the test's numbers."""
        return cls(claim_id, chapter, claim, thesis, ours, test["verdict"], figure,
                   {k: _plain(v) for k, v in test.items()}, scale)

    @classmethod
    def unmeasured(cls, claim_id: str, chapter: str, claim: str, thesis: str, ours: str, figure: str,
                   scale: str = "") -> "tuple[Verdict, pd.DataFrame]":
        """A claim not measured at this scale (``ours`` says why), with an empty per-group frame."""
        return (cls(claim_id, chapter, claim, thesis, ours, NOT_MEASURED, figure, {}, scale),
                pd.DataFrame(columns=list(GROUP_STATS)))

    @property
    def interval(self) -> str:
        """The test's difference and interval as text (:func:`interval_text`), '' when not measured."""
        return interval_text(self.test) if self.test else ""

    @property
    def shown(self) -> str:
        """The verdict word, with the pairs an inconclusive one would need at the observed effect."""
        need = self.test.get("seeds_needed") if self.test else None
        if self.verdict == INCONCLUSIVE:
            return f"{self.verdict} (≈{need} seeds)" if need else f"{self.verdict} (no effect seen)"
        return self.verdict


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
    ``by="both"``), the thesis's statement, ours, the paired difference with its 95 % interval and the
    number of pairs, the verdict (an inconclusive one with the seeds it would need), the scale it was
    measured at and the deciding figure; full text, no index."""
    heads = {"claim_id": {"claim": "claim_id"}, "claim": {"claim": "claim"},
             "both": {"claim id": "claim_id", "claim": "claim"}}
    if by not in heads:
        raise ValueError(f"by must be one of {', '.join(map(repr, heads))}, got {by!r}")
    rows = []
    for v in vs:
        row = {c: getattr(v, f) for c, f in heads[by].items()}
        row.update({"thesis": v.thesis, "ours": v.ours, "difference [95 % CI]": v.interval,
                    "verdict": v.shown, "scale": v.scale, "decided by": v.figure})
        rows.append(row)
    cols = [*heads[by], "thesis", "ours", "difference [95 % CI]", "verdict", "scale", "decided by"]
    df = pd.DataFrame(rows, columns=cols)
    return with_badges(df.style.hide(axis="index").set_properties(**{"text-align": "left", "vertical-align": "top"}))
