"""The verdict toolkit every chapter uses: the :class:`Verdict` record, storing and loading, comparing
per-seed values, combining comparisons over widths or layers, and the display table.

A verdict is computed by the chapter module that draws the deciding figure (its ``verdicts``
function, a pure function of the chapter's results) and stored as JSON in
``runs/verdicts/<profile>/<claim id>.json``; the conclusions chapter reads them all back.
"""
from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd

from .. import paths

VERDICTS = ("held", "not held", "tie", "not measured at this scale")


@dataclass(frozen=True)
class Verdict:
    """One claim of the thesis and what our runs at one profile say about it."""

    claim_id: str   # short stable id, e.g. "2.1-real-gt-gaussian"
    chapter: str    # e.g. "02"
    claim: str      # the claim in our words
    thesis: str     # what the thesis reports (numbers where it gives them)
    ours: str       # what we measured (numbers)
    verdict: str    # one of VERDICTS
    figure: str     # the figure or table that decides it, e.g. "Figure 2.1"

    def __post_init__(self) -> None:
        if self.verdict not in VERDICTS:
            raise ValueError(f"verdict {self.verdict!r} is not one of {VERDICTS}")


def _dir(profile: str) -> Path:
    return paths.runs_dir() / "verdicts" / profile


def record(profile: str, v: Verdict) -> Verdict:
    """Store ``v`` for ``profile`` (atomically, replacing an earlier verdict of the same claim)."""
    d = _dir(profile)
    d.mkdir(parents=True, exist_ok=True)
    tmp = d / f".{v.claim_id}.json.{os.getpid()}.{time.time_ns()}.tmp"  # unique: writers may race
    try:
        tmp.write_text(json.dumps(asdict(v), indent=1))
        os.replace(tmp, d / f"{v.claim_id}.json")
    finally:
        tmp.unlink(missing_ok=True)
    return v


def record_all(profile: str, vs: Sequence[Verdict]) -> list[Verdict]:
    """Store every verdict of ``vs`` for ``profile`` (see :func:`record`); returns them."""
    return [record(profile, v) for v in vs]


def load_all(profile: str) -> pd.DataFrame:
    """Every verdict recorded for ``profile``, sorted by chapter and claim id."""
    rows = [json.loads(f.read_text()) for f in sorted(_dir(profile).glob("*.json"))]
    cols = list(Verdict.__dataclass_fields__)
    return pd.DataFrame(rows, columns=cols).sort_values(["chapter", "claim_id"], ignore_index=True)


def compare(a: Sequence[float], b: Sequence[float], *, higher_is: str = "held") -> str:
    """Verdict for the claim "mean(a) > mean(b)": a tie when the gap is within the larger seed sd
    (or when both lists hold one value and differ by under 1e-12); else held / not held.
    ``higher_is="not held"`` turns it into the claim "mean(a) < mean(b)"."""
    ma, mb = float(np.mean(a)), float(np.mean(b))
    sd = max(float(np.std(a, ddof=1)) if len(a) > 1 else 0.0, float(np.std(b, ddof=1)) if len(b) > 1 else 0.0)
    if abs(ma - mb) <= max(sd, 1e-12):
        return "tie"
    return higher_is if ma > mb else ("not held" if higher_is == "held" else "held")


def summary(a: Sequence[float], b: Sequence[float], *, claim: str = "a > b") -> dict[str, Any]:
    """Numbers and verdict for "mean(a) > mean(b)" from one value per seed.

    The verdict is :func:`compare`'s (with one seed the sign decides), or "not measured at this scale"
    when a value is missing. Returns claim, a, b (means), diff, spread (NaN for one seed), n_seeds,
    verdict, and tentative (True with fewer than two seeds: there is no spread to judge the gap by).
    """
    a_, b_ = np.asarray(a, float), np.asarray(b, float)
    n = int(min(len(a_), len(b_)))
    ma = float(a_.mean()) if len(a_) else float("nan")
    mb = float(b_.mean()) if len(b_) else float("nan")
    out: dict[str, Any] = {"claim": claim, "a": ma, "b": mb, "diff": ma - mb, "n_seeds": n,
                           "spread": float(max(a_.std(ddof=1), b_.std(ddof=1))) if n >= 2 else float("nan"),
                           "tentative": n < 2}
    out["verdict"] = ("not measured at this scale" if n == 0 or not np.isfinite(ma - mb)
                      else compare(list(a_), list(b_)))
    return out


def compare_groups(df: pd.DataFrame, key: str, a: Any, b: Any, value: str, by: Sequence[str] = (),
                   higher_is: str = "held") -> pd.DataFrame:
    """For each ``by`` group: :func:`compare` of ``value`` over the rows where ``key == a`` against those
    where ``key == b`` (claim "a > b", or "a < b" with ``higher_is="not held"``).
    Columns: ``by``, mean_a, mean_b, sd_a, sd_b, verdict."""
    rows = []
    groups = df.groupby(list(by), sort=True) if by else [((), df)]
    for k, g in groups:
        va = g.loc[g[key] == a, value].astype(float).tolist()
        vb = g.loc[g[key] == b, value].astype(float).tolist()
        if not va or not vb:
            continue
        k = k if isinstance(k, tuple) else (k,)
        row = dict(zip(by, k))
        row.update({"mean_a": float(np.mean(va)), "mean_b": float(np.mean(vb)),
                    "sd_a": float(np.std(va, ddof=1)) if len(va) > 1 else 0.0,
                    "sd_b": float(np.std(vb, ddof=1)) if len(vb) > 1 else 0.0,
                    "verdict": compare(va, vb, higher_is=higher_is)})
        rows.append(row)
    return pd.DataFrame(rows, columns=[*by, "mean_a", "mean_b", "sd_a", "sd_b", "verdict"])


def majority(verdicts: Sequence[str]) -> str:
    """One verdict from several comparisons of one claim (over widths, layers, ...): "held" / "not held"
    when more than half say so, else "tie"."""
    v = list(verdicts)
    if not v:
        raise ValueError("no comparisons to combine")
    for word in ("held", "not held"):
        if sum(x == word for x in v) > len(v) / 2:
            return word
    return "tie"


def combine(verdicts: Sequence[str]) -> str:
    """Several claims' verdicts bearing on one conclusion, as one phrase: the verdict when all agree
    ("held", or "held (3 of 3)"), else "mixed: 2 held, 1 tie"."""
    v = list(verdicts)
    counts = {k: v.count(k) for k in VERDICTS if v.count(k)}
    if len(counts) == 1:
        (k, n), = counts.items()
        return k if n == 1 else f"{k} ({n} of {n})"
    return "mixed: " + ", ".join(f"{n} {k}" for k, n in counts.items())


def table(vs: list[Verdict], *, by: str = "claim_id") -> "pd.io.formats.style.Styler":
    """A chapter's verdicts for display: the claim (its id, its text with ``by="claim"``, or both with
    ``by="both"``), the thesis's statement, ours, the verdict and the deciding figure; full text (no
    truncation), no index."""
    heads = {"claim_id": {"claim": "claim_id"}, "claim": {"claim": "claim"},
             "both": {"claim id": "claim_id", "claim": "claim"}}
    if by not in heads:
        raise ValueError(f"by must be one of {', '.join(map(repr, heads))}, got {by!r}")
    rest = {"thesis": "thesis", "ours": "ours", "verdict": "verdict", "decided by": "figure"}
    cols = {**heads[by], **rest}
    df = pd.DataFrame([{c: getattr(v, f) for c, f in cols.items()} for v in vs], columns=list(cols))
    return df.style.hide(axis="index").set_properties(**{"text-align": "left", "vertical-align": "top"})
