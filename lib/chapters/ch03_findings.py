"""Chapter 3's closing section, "What this chapter found": how closely |diff| follows the distance each
weight moved, then the verdicts in sentences (:mod:`lib.chapters.findings`), all computed from the
chapter's runs and verdicts."""
from __future__ import annotations

from typing import Any, Mapping, Sequence

from IPython.display import Markdown

from . import findings
from .verdicts import Verdict


def correlation_sentence(archs: Mapping[str, str], corr: Mapping[str, Mapping[int, Mapping[str, float]]]) -> str:
    """'Over the tracked tensor of the real-data run, the rank correlation of |diff| with the distance a weight
    moved is mean 0.21 (seed sd 0.02, 2 seeds) for resnet_small and …'; ``corr``: family -> seed ->
    :func:`lib.chapters.realdata.diff_displacement_correlation`. '' when there is none."""
    parts = [f"{findings.over_seeds([c['rho_displacement'] for c in corr[fam].values()])} for {arch}"
             for fam, arch in archs.items() if corr.get(fam)]
    if not parts:
        return ""
    body = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    return ("Over the tracked tensor of each real-data run, the Spearman correlation of |diff| at the "
            f"highest-coherence epoch with the distance each weight moved is {body}.")


def sentences(archs: Mapping[str, str], corr: Mapping[str, Mapping[int, Mapping[str, float]]],
              vs: Sequence[Verdict]) -> list[str]:
    """:func:`correlation_sentence`, then :func:`lib.chapters.findings.sentences` of the verdicts."""
    return findings.sentences(vs, [correlation_sentence(archs, corr)])


def show(s: Any, r: Any, vs: Sequence[Verdict]) -> Markdown:
    """The chapter's closing paragraph from its setup ``s``, results ``r`` and verdicts ``vs``."""
    return Markdown(" ".join(sentences(s.archs, r.corr, vs)))
