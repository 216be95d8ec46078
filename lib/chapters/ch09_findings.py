"""Chapter 9's closing section, "What this chapter found": which child is the most accurate for each
model, then the verdicts in sentences (:mod:`lib.chapters.findings`), all computed from the chapter's
runs and verdicts."""
from __future__ import annotations

from typing import Any, Sequence

import pandas as pd
from IPython.display import Markdown

from . import findings
from .ch09_claims import FAMILIES
from .verdicts import Verdict


def best_child_sentence(acc: pd.DataFrame) -> str:
    """The mask variant whose children have the highest mean test accuracy over seeds, per model (``acc``:
    family, variant, seed, test_acc; the dense network "none" left out)."""
    d = acc[acc["variant"] != "none"]
    if d.empty:
        return ""
    return findings.best_by_sentence(d, "family", "variant", "test_acc", labels=FAMILIES,
                                     subject=("Of this chapter's children, test accuracy (a ranking of means, "
                                              "not a test)"),
                                     where="the variant")


def sentences(acc: pd.DataFrame, vs: Sequence[Verdict]) -> list[str]:
    """:func:`best_child_sentence`, then :func:`lib.chapters.findings.sentences` of the verdicts."""
    return findings.sentences(vs, [best_child_sentence(acc)])


def show(s: Any, r: Any, vs: Sequence[Verdict]) -> Markdown:
    """The chapter's closing paragraph from its results ``r`` and verdicts ``vs`` (``s`` for a uniform call)."""
    return Markdown(" ".join(sentences(r.acc, vs)))
