"""Chapter 6's closing section, "What this chapter found": the most accurate pruned mask of each setting
beside the thesis's, then the verdicts in sentences (:mod:`lib.chapters.findings`), all computed from the
chapter's runs, the thesis's tables (:data:`lib.chapters.thesis.PRUNE_TABLES`) and the verdicts."""
from __future__ import annotations

from typing import Any, Mapping, Sequence

import pandas as pd
from IPython.display import Markdown

from . import findings
from .ch06_compare import FAMILY
from .glossary import number
from .thesis import PRUNE_TABLES, TABLE_NUMBERS
from .verdicts import Verdict

#: How a scope is named in a sentence.
SCOPES = {"global": "global ranking", "layer": "per-layer ranking"}


def best_mask_sentence(tables: Mapping[tuple[str, str], tuple[pd.DataFrame, Any]]) -> str:
    """For each setting (family, scope), the pruned mask with the highest mean test accuracy over seeds, and
    the thesis's best pruned mask in its table; ``tables``: (family, scope) -> (results, layers), results
    one row per method and seed with ``test_acc``. '' when there is none."""
    parts = []
    for (fam, scope), (res, _) in tables.items():
        d = res[res["method"] != "none"]
        b = findings.best_of(d, "method", "test_acc")
        if not b:
            continue
        thesis = {m: acc for m, (_, acc) in PRUNE_TABLES.get((fam, scope), {}).items() if m != "none"}
        top = max(thesis, key=thesis.get) if thesis else None
        text = f"{b['x']} for {FAMILY.get(fam, fam)}, {SCOPES.get(scope, scope)} (mean {number(b['mean'])})"
        if top:
            text += (f", where Table {TABLE_NUMBERS[(fam, scope)]} has {top} "
                     + ("too" if top == b["x"] else f"({number(thesis[top])})"))
        parts.append(text)
    if not parts:
        return ""
    body = parts[0] if len(parts) == 1 else "; ".join(parts[:-1]) + "; and " + parts[-1]
    return ("The pruned mask with the highest test accuracy on average over seeds (a ranking of means, not a test) "
            f"is {body}.")


def sentences(tables: Mapping[tuple[str, str], tuple[pd.DataFrame, Any]], vs: Sequence[Verdict]) -> list[str]:
    """:func:`best_mask_sentence`, then :func:`lib.chapters.findings.sentences` of the verdicts."""
    return findings.sentences(vs, [best_mask_sentence(tables)])


def show(s: Any, r: Any, vs: Sequence[Verdict]) -> Markdown:
    """The chapter's closing paragraph from its results ``r`` and verdicts ``vs`` (``s`` for a uniform call)."""
    return Markdown(" ".join(sentences(r.tables, vs)))
