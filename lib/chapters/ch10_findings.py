"""Chapter 10's closing section, "What this chapter found": where coherence peaks on each data kind and which
child reaches the lowest validation loss (rankings of means, not tests), then the verdicts in sentences
(:mod:`lib.chapters.findings`), all computed from the chapter's runs and verdicts."""
from __future__ import annotations

from typing import Any, Sequence

import pandas as pd
from IPython.display import Markdown

from . import findings
from .ch10_claims import KIND_NAMES
from .verdicts import Verdict


def peak_sentence(curves: pd.DataFrame) -> str:
    """The epoch (1 onward) of highest mean coherence per data kind (``curves``: kind, seed, epoch, coherence)."""
    d = curves[curves["epoch"] >= 1]
    return findings.best_by_sentence(d, "kind", "epoch", "coherence", labels=KIND_NAMES,
                                     subject="Coherence after the first epoch (a description of means, not a test)",
                                     where="epoch")


def best_child_sentence(children: pd.DataFrame) -> str:
    """The child variant with the lowest mean validation loss (``children``: variant, seed, val_loss)."""
    d = children.assign(model="the language model")
    return findings.best_by_sentence(d, "model", "variant", "val_loss", highest=False,
                                     subject="Of the pruned children and the dense child-sized model, validation "
                                             "loss (a ranking of means, not a test)", where="the variant")


def sentences(curves: pd.DataFrame, children: pd.DataFrame, vs: Sequence[Verdict]) -> list[str]:
    """:func:`peak_sentence`, :func:`best_child_sentence`, then the verdicts' sentences."""
    return findings.sentences(vs, [peak_sentence(curves), best_child_sentence(children)])


def show(s: Any, r: Any, vs: Sequence[Verdict]) -> Markdown:
    """The chapter's closing paragraph from its results ``r`` and verdicts ``vs`` (``s`` for a uniform call)."""
    return Markdown(" ".join(sentences(r.curves, r.children, vs)))
