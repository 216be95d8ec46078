"""Chapter 2's closing section, "What this chapter found": where the real-data coherence peaks, then the
verdicts in sentences (:mod:`lib.chapters.findings`), all computed from the chapter's runs and verdicts."""
from __future__ import annotations

from typing import Any, Mapping, Sequence

import pandas as pd
from IPython.display import Markdown

from . import findings
from .verdicts import Verdict


def real_curves(runs: Mapping[str, Mapping[int, Mapping[str, Any]]]) -> pd.DataFrame:
    """The real-data coherence of every seed's run over its trained epochs (epoch >= 1): family, seed,
    epoch, coherence. ``runs``: family -> seed -> run name -> run (chapter 2's ``Results.runs``)."""
    parts = [r["real"].metrics.loc[lambda m: m.epoch >= 1, ["epoch", "coherence"]].assign(family=fam, seed=seed)
             for fam, by_seed in runs.items() for seed, r in by_seed.items()]
    if not parts:
        return pd.DataFrame(columns=["family", "seed", "epoch", "coherence"])
    return pd.concat(parts, ignore_index=True)


def sentences(archs: Mapping[str, str], runs: Mapping[str, Mapping[int, Mapping[str, Any]]],
              vs: Sequence[Verdict]) -> list[str]:
    """Where each family's real-data coherence peaks (``archs``: family -> architecture name), then
    :func:`lib.chapters.findings.sentences` of the verdicts."""
    lead = findings.best_by_sentence(real_curves(runs), "family", "epoch", "coherence", labels=archs,
                                     subject="Coherence on real data", where="epoch")
    return findings.sentences(vs, [lead])


def show(s: Any, r: Any, vs: Sequence[Verdict]) -> Markdown:
    """The chapter's closing paragraph from its setup ``s``, results ``r`` and verdicts ``vs``."""
    return Markdown(" ".join(sentences(s.archs, r.runs, vs)))
