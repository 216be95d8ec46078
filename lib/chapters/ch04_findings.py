"""Chapter 4's closing section, "What this chapter found": the width at which the dense MLPs' peak
coherence is highest, beside the thesis's widest MLP, then the verdicts in sentences
(:mod:`lib.chapters.findings`), all computed from the chapter's runs and verdicts."""
from __future__ import annotations

from typing import Any, Sequence

import pandas as pd
from IPython.display import Markdown

from . import findings
from .glossary import number
from .thesis import FACTS
from .verdicts import Verdict


def width_sentence(peak: pd.DataFrame) -> str:
    """Where the peak coherence over widths is highest (``peak``: one row per width and seed with
    ``max_coherence``), and the thesis's widest MLP, where its highest maximum coherence lies."""
    text = findings.best_sentence(peak, "width", "max_coherence", subject="The peak coherence of the dense MLPs",
                                  where="width")
    if not text:
        return ""
    widths = sorted(pd.to_numeric(peak["width"]).unique())
    return (text[:-1] + f" (we trained widths {number(widths[0])} to {number(widths[-1])}; the thesis finds its "
            f"highest at its widest MLP, width {number(FACTS['max_coherence_width'])}).")


def sentences(peak: pd.DataFrame, vs: Sequence[Verdict]) -> list[str]:
    """:func:`width_sentence`, then :func:`lib.chapters.findings.sentences` of the verdicts."""
    return findings.sentences(vs, [width_sentence(peak)])


def show(s: Any, r: Any, vs: Sequence[Verdict]) -> Markdown:
    """The chapter's closing paragraph from its results ``r`` and verdicts ``vs`` (``s`` for a uniform call)."""
    return Markdown(" ".join(sentences(r.peak, vs)))
