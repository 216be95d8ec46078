"""Verdicts on the thesis's claims: each chapter records what its numbers say; chapter 7 lists them.

A verdict is computed in the chapter that draws the deciding figure and stored as JSON in
``runs/verdicts/<profile>/<claim id>.json``; the conclusions chapter reads them all back.
"""
from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import pandas as pd

from . import paths

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
    tmp = d / f".{v.claim_id}.json.tmp"
    tmp.write_text(json.dumps(asdict(v), indent=1))
    os.replace(tmp, d / f"{v.claim_id}.json")
    return v


def load_all(profile: str) -> pd.DataFrame:
    """Every verdict recorded for ``profile``, sorted by chapter and claim id."""
    rows = [json.loads(f.read_text()) for f in sorted(_dir(profile).glob("*.json"))]
    cols = list(Verdict.__dataclass_fields__)
    return pd.DataFrame(rows, columns=cols).sort_values(["chapter", "claim_id"], ignore_index=True)


def compare(a: list[float], b: list[float], *, higher_is: str = "held") -> str:
    """Verdict for the claim "mean(a) > mean(b)": a tie when the gap is within the larger seed sd
    (or when both lists hold one value and differ by under 1e-12); else held / not held."""
    import numpy as np

    ma, mb = float(np.mean(a)), float(np.mean(b))
    sd = max(float(np.std(a, ddof=1)) if len(a) > 1 else 0.0, float(np.std(b, ddof=1)) if len(b) > 1 else 0.0)
    if abs(ma - mb) <= max(sd, 1e-12):
        return "tie"
    return higher_is if ma > mb else ("not held" if higher_is == "held" else "held")


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
