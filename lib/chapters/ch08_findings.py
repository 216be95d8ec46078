"""Chapter 8's closing section, "What this chapter found": the epoch at which the real-data MLPs'
coherence peaks, at the narrowest and widest width, then the verdicts in sentences
(:mod:`lib.chapters.findings`), all computed from the chapter's runs and verdicts."""
from __future__ import annotations

from typing import Any, Sequence

import pandas as pd
from IPython.display import Markdown

from . import findings
from .glossary import number
from .verdicts import Verdict


def peak_epoch_sentence(curves: pd.DataFrame) -> str:
    """Where the training-set coherence of the real-data MLPs peaks over epochs (>= 1), at the narrowest and
    the widest width (``curves``: width, seed, data, epoch, coherence)."""
    d = curves[(curves["data"] == "real") & (curves["epoch"] >= 1)]
    if d.empty:
        return ""
    widths = sorted(d["width"].unique())
    d = d[d["width"].isin({widths[0], widths[-1]})]
    return findings.best_by_sentence(d, "width", "epoch", "coherence",
                                     labels={w: f"width {number(w)}" for w in widths},
                                     subject="The training-set coherence of the real-data MLPs", where="epoch")


def sentences(curves: pd.DataFrame, vs: Sequence[Verdict]) -> list[str]:
    """:func:`peak_epoch_sentence`, then :func:`lib.chapters.findings.sentences` of the verdicts."""
    return findings.sentences(vs, [peak_epoch_sentence(curves)])


def show(s: Any, r: Any, vs: Sequence[Verdict]) -> Markdown:
    """The chapter's closing paragraph from its results ``r`` and verdicts ``vs`` (``s`` for a uniform call)."""
    return Markdown(" ".join(sentences(r.curves, vs)))
