"""Chapter 5's closing section, "What this chapter found": which mask gives the most accurate children in
each scope, then the verdicts in sentences (:mod:`lib.chapters.findings`), all computed from the
chapter's runs and verdicts."""
from __future__ import annotations

from typing import Any, Sequence

import pandas as pd
from IPython.display import Markdown

from . import findings
from .ch05_claims import SCOPE_NAMES
from .verdicts import Verdict


def mask_sentence(final: pd.DataFrame) -> str:
    """Which pruned mask's children have the highest test accuracy, per scope, each seed's accuracy first
    averaged over the sweep's widths (``final``: one row per scope, width, seed and method; "none" is
    the dense network and is left out)."""
    d = final[final["method"] != "none"]
    if d.empty:
        return ""
    per = d.groupby(["scope", "method", "seed"], as_index=False)["test_acc"].mean()
    return findings.best_by_sentence(per, "scope", "method", "test_acc", labels=SCOPE_NAMES,
                                     subject="Averaged over the widths, the pruned children's test accuracy",
                                     where="the mask")


def sentences(final: pd.DataFrame, vs: Sequence[Verdict]) -> list[str]:
    """:func:`mask_sentence`, then :func:`lib.chapters.findings.sentences` of the verdicts."""
    return findings.sentences(vs, [mask_sentence(final)])


def show(s: Any, r: Any, vs: Sequence[Verdict]) -> Markdown:
    """The chapter's closing paragraph from its results ``r`` and verdicts ``vs`` (``s`` for a uniform call)."""
    return Markdown(" ".join(sentences(r.final, vs)))
