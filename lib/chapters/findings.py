"""The closing section of a chapter, "What this chapter found": a few sentences built from the chapter's
numbers and verdicts, never typed. Pure functions over a list of :class:`~lib.chapters.verdicts.Verdict`
records or a small long frame (one row per seed and point); a chapter's companion (``chNN_findings``)
picks its frames and calls them, and :func:`show` joins the sentences into one Markdown paragraph.

The sentences claim no more than the verdicts: a held or not-held verdict is stated with its interval; an
inconclusive one is called undecided and given with its interval, never as an effect; a difference whose
mean is smaller than the standard deviation of its seeds' differences is said to be so. A peak read off
a curve (:func:`best_sentence`) is a description of means over seeds, not a test. Every number goes
through :func:`lib.chapters.glossary.number`.
"""
from __future__ import annotations

import math
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd
from IPython.display import Markdown

from .glossary import number
from .seed_tests import HELD, INCONCLUSIVE, NOT_HELD, NOT_MEASURED
from .verdicts import Verdict

#: How many claims one sentence names before it says "and N more".
NAMED = 2
#: A difference smaller than this in size is written as 0 (floating-point residue, not a measurement).
TINY = 1e-12
#: A claim's text is cut to about this many characters where a sentence quotes it.
SHORT = 90


def signed(x: Any) -> str:
    """:func:`number` with a sign: '+0.012', '-0.003', '0'."""
    if _finite(x) and abs(float(x)) < TINY:
        x = 0.0
    text = number(x)
    return f"+{text}" if isinstance(x, (int, float, np.floating, np.integer)) and np.isfinite(x) and x > 0 else text


def _cut(text: str) -> str:
    """``text`` cut to about :data:`SHORT` characters at a word (with '…'), its final full stop dropped."""
    text = " ".join(text.split()).rstrip(".")
    return text if len(text) <= SHORT else text[:SHORT].rsplit(" ", 1)[0].rstrip(",;:(") + "…"


def short(v: Verdict) -> str:
    """The claim's text, cut (:func:`_cut`), in quotes."""
    return f"“{_cut(v.claim)}”"


def _finite(x: Any) -> bool:
    return isinstance(x, (int, float, np.floating, np.integer)) and math.isfinite(float(x))


def measured(vs: Sequence[Verdict]) -> list[Verdict]:
    """The verdicts with a test of at least two seeds and a finite difference and interval."""
    return [v for v in vs if v.verdict != NOT_MEASURED and v.test and (v.test.get("n") or 0) >= 2
            and _finite(v.test.get("diff")) and _finite(v.test.get("ci_low")) and _finite(v.test.get("ci_high"))]


def what(t: Mapping[str, Any]) -> str:
    """What a test's ``diff`` is: 'mean slope +0.072 per log width', 'total change -0.01', else
    'mean difference +0.012'."""
    stat = str(t.get("statistic", ""))
    if stat.startswith("slope"):
        return f"mean slope {signed(t['diff'])} per {t.get('x', 'unit')}"
    if stat.startswith("fitted total"):
        return f"mean total change {signed(t['diff'])}"
    return f"mean difference {signed(t['diff'])}"


def interval(t: Mapping[str, Any]) -> str:
    """A test's difference with its interval and seeds: 'mean difference +0.012, 95 % interval -0.003 to
    +0.027, 3 seeds' (90 % for an equivalence claim, as the test was made), and for a claim on every group
    how many of its groups held."""
    level = t.get("level", 0.95)
    text = (f"{what(t)}, {round(100 * level):d} % interval {signed(t['ci_low'])} to {signed(t['ci_high'])}, "
            f"{t['n']} seeds")
    if t.get("rule") == "every group":
        text += f"; every group must hold: {t.get('groups_held', 0)} of {t.get('groups', 0)} did"
    return text


def standardised(v: Verdict) -> float:
    """|mean difference| / the standard deviation of the seeds' differences (inf when every seed agrees
    exactly on a nonzero difference, 0 for no difference)."""
    d, sd = abs(float(v.test["diff"])), float(v.test.get("sd") or 0.0)
    if sd > 0 and math.isfinite(sd):
        return d / sd
    return math.inf if d > 0 else 0.0


def _names(vs: Sequence[Verdict], text: Any, limit: int = NAMED) -> str:
    parts = [text(v) for v in vs[:limit]]
    more = len(vs) - limit
    if more > 0:
        parts.append(f"{more} more")
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def counts_sentence(vs: Sequence[Verdict]) -> str:
    """'Of the 14 claims tested here, 1 held, 2 were not held, 9 are undecided and 2 could not be measured
    at this scale.'"""
    n = {k: sum(v.verdict == k for v in vs) for k in (HELD, NOT_HELD, INCONCLUSIVE, NOT_MEASURED)}
    parts = [f"{n[HELD]} held", f"{n[NOT_HELD]} {'was' if n[NOT_HELD] == 1 else 'were'} not held",
             f"{n[INCONCLUSIVE]} {'is' if n[INCONCLUSIVE] == 1 else 'are'} undecided (inconclusive)"]
    if n[NOT_MEASURED]:
        parts.append(f"{n[NOT_MEASURED]} could not be measured at this scale")
    return f"Of the {len(vs)} claims this chapter decides, " + ", ".join(parts[:-1]) + " and " + parts[-1] + "."


def held_sentence(vs: Sequence[Verdict]) -> str:
    """The one or two held claims with the largest difference relative to the spread of their seeds, each
    with its interval; '' when none held."""
    held = sorted((v for v in measured(vs) if v.verdict == HELD), key=standardised, reverse=True)
    if not held:
        return ""
    lead = ("The held claim is " if len(held) == 1
            else "The held claims with the largest effect for their seeds' spread are ")
    return lead + _names(held, lambda v: f"{short(v)} ({interval(v.test)})") + "."


def undecided_sentence(vs: Sequence[Verdict]) -> str:
    """The inconclusive claims, the largest differences first, each called undecided with its interval;
    '' when none is."""
    und = sorted((v for v in measured(vs) if v.verdict == INCONCLUSIVE), key=standardised, reverse=True)
    if not und:
        return ""
    return ("Undecided, the test settling neither way: "
            + _names(und, lambda v: f"{short(v)} ({interval(v.test)})") + ".")


def within_sd_sentence(vs: Sequence[Verdict]) -> str:
    """The measured differences whose mean is smaller than one standard deviation of the seeds' differences
    (smallest first), said plainly, and how many show no difference on any seed; '' when there is nothing
    to say."""
    m = measured(vs)
    none = [v for v in m if abs(float(v.test["diff"])) < TINY and not float(v.test.get("sd") or 0.0) > TINY]
    small = sorted((v for v in m if v not in none and standardised(v) < 1), key=standardised)
    tie = (f"{len(none)} of the {len(m)} measured comparisons {'shows' if len(none) == 1 else 'show'} no "
           "difference on any seed" if none else "")
    if not small:
        if tie:
            return tie + "."
        return (f"Every one of the {len(m)} measured differences is larger than one standard deviation of its "
                "seeds' differences." if m else "")
    text = (f"{len(small)} of the {len(m)} measured differences {'is' if len(small) == 1 else 'are'} smaller than "
            "one standard deviation of their seeds' differences, so the seeds disagree about "
            f"{'it' if len(small) == 1 else 'them'} by more than {'its' if len(small) == 1 else 'their'} mean: "
            + _names(small, lambda v: f"{short(v)} (mean {signed(v.test['diff'])}, sd {number(v.test.get('sd'))})"))
    return text + (f"; {tie}." if tie else ".")


def departs_sentence(vs: Sequence[Verdict]) -> str:
    """Where our runs depart from the thesis: the claims not held, with their interval and what the thesis
    reports; '' when none."""
    gone = sorted((v for v in measured(vs) if v.verdict == NOT_HELD), key=standardised, reverse=True)
    if not gone:
        return ""
    return ("Our runs depart from the thesis on " + _names(
        gone, lambda v: f"{short(v)}, not held ({interval(v.test)}; the thesis: {_cut(v.thesis)})", 1) + ".")


def _order(o: Any) -> tuple:
    """Sort key of the seeds' own best x: numbers in order, then names, then "a tie"."""
    return (o == "a tie", isinstance(o, str), 0 if isinstance(o, str) else o, str(o))


def best_of(df: pd.DataFrame, x: str, value: str, *, seed: str = "seed", highest: bool = True) -> dict[str, Any]:
    """Where the mean of ``value`` over seeds is highest (lowest with ``highest=False``) along ``x``: best x,
    its mean and seed sd, the runner-up x and mean, the number of seeds, and each seed's own best x ("a tie"
    where several share it). Rows with a non-finite value are left out; an empty frame gives an empty dict."""
    d = df[[x, seed, value]].copy()
    d[value] = pd.to_numeric(d[value], errors="coerce")
    d = d[np.isfinite(d[value])]
    if d.empty:
        return {}
    g = d.groupby(x)[value].agg(["mean", "std", "count"]).sort_values("mean", ascending=not highest)
    own = []
    for _, one in d.groupby(seed):
        top = one[value].max() if highest else one[value].min()
        at = one.loc[(one[value] - top).abs() < TINY, x].tolist()
        own.append(at[0] if len(at) == 1 else "a tie")
    out = {"x": g.index[0], "mean": float(g["mean"].iloc[0]), "sd": float(g["std"].iloc[0]),
           "seeds": int(d[seed].nunique()),
           "per_seed": sorted(own, key=_order)}
    if len(g) > 1:
        out.update(next_x=g.index[1], next_mean=float(g["mean"].iloc[1]))
    return out


def _and(parts: Sequence[str]) -> str:
    """'a', 'a and b', 'a, b and c'."""
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def _x(v: Any) -> str:
    return number(v) if isinstance(v, (int, float, np.integer, np.floating)) else str(v)


def best_sentence(df: pd.DataFrame, x: str, value: str, *, subject: str, where: str, seed: str = "seed",
                  highest: bool = True) -> str:
    """'{subject} is highest at {where} 4 (mean 0.012 over 3 seeds, seed sd 0.002; the seeds' own peaks: 3, 4
    and 4); {where} 5 follows at 0.011, within one seed standard deviation.' Built by :func:`best_of`; ''
    when there is nothing to read."""
    b = best_of(df, x, value, seed=seed, highest=highest)
    if not b:
        return ""
    word = "highest" if highest else "lowest"
    sd = f", seed sd {number(b['sd'])}" if _finite(b["sd"]) else ""
    own = b["per_seed"]
    text = (f"{subject} is {word} at {where} {_x(b['x'])} (mean {number(b['mean'])} over {b['seeds']} "
            f"seed{'s' if b['seeds'] != 1 else ''}{sd}")
    if len(own) > 1:
        text += f"; each seed's own {word}: {_and([_x(o) for o in own])}"
    text += ")"
    if "next_x" in b:
        gap = abs(b["mean"] - b["next_mean"])
        follows = f"; {where} {_x(b['next_x'])} follows at {number(b['next_mean'])}, "
        if gap < TINY:
            text += f"; tied with {where} {_x(b['next_x'])}, so the seeds do not single out the peak"
        elif _finite(b["sd"]) and gap < b["sd"]:
            text += follows + "within one seed standard deviation, so the seeds do not single out the peak"
        else:
            text += follows + ("further than one seed standard deviation" if _finite(b["sd"])
                               else "with no seed spread to compare")
    return text + "."


def sentences(vs: Sequence[Verdict], lead: Iterable[str] = ()) -> list[str]:
    """The closing sentences of a chapter: ``lead`` (the chapter's own, e.g. :func:`best_sentence`), then
    the counts, the clearest held claims, where the runs depart from the thesis (not held), the undecided
    claims and the differences within one seed standard deviation; empty sentences left out."""
    return [s for s in (*lead, counts_sentence(vs), held_sentence(vs), departs_sentence(vs),
                        undecided_sentence(vs), within_sd_sentence(vs)) if s]


def show(vs: Sequence[Verdict], lead: Iterable[str] = ()) -> Markdown:
    """:func:`sentences` as one Markdown paragraph, for the notebook to display."""
    return Markdown(" ".join(sentences(vs, lead)))


def _close(b: Mapping[str, Any], where: str) -> str:
    """'; tied with {where} 32' or '; {where} 32 within one seed standard deviation' when the runner-up of
    :func:`best_of` is that close; '' otherwise."""
    if "next_x" not in b:
        return ""
    gap = abs(b["mean"] - b["next_mean"])
    if gap < TINY:
        return f"; tied with {where} {_x(b['next_x'])}"
    if _finite(b["sd"]) and gap < b["sd"]:
        return f"; {where} {_x(b['next_x'])} within one seed standard deviation"
    return ""


def best_by_sentence(df: pd.DataFrame, by: str, x: str, value: str, *, subject: str, where: str,
                     labels: Mapping[Any, str] | None = None, seed: str = "seed", highest: bool = True) -> str:
    """One sentence over the groups of ``by``: '{subject} is highest at {where} 3 for resnet_small (mean 0.012
    over 2 seeds, seed sd 0.001; each seed's own: 3 and 4) and at {where} 5 for vit_tiny (…).' (:func:`best_of`
    per group; ``labels`` names the groups); '' when there is nothing to read."""
    parts = []
    for key, g in df.groupby(by, sort=False):
        b = best_of(g, x, value, seed=seed, highest=highest)
        if not b:
            continue
        sd = f", seed sd {number(b['sd'])}" if _finite(b["sd"]) else ""
        own = b["per_seed"]
        each = f"; each seed's own: {_and([_x(o) for o in own])}" if len(own) > 1 else ""
        name = (labels or {}).get(key, str(key))
        parts.append(f"{where} {_x(b['x'])} for {name} (mean {number(b['mean'])} over {b['seeds']} "
                     f"seed{'s' if b['seeds'] != 1 else ''}{sd}{each}{_close(b, where)})")
    if not parts:
        return ""
    body = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    return f"{subject} is {'highest' if highest else 'lowest'} at {body}."


def over_seeds(values: Sequence[float]) -> str:
    """Per-seed values as 'mean 0.12 (seed sd 0.03, 3 seeds)' ('mean 0.12 (1 seed)' for one; '–' for none),
    non-finite values left out."""
    x = np.asarray([v for v in values if _finite(v)], float)
    if not len(x):
        return number(math.nan)
    if len(x) == 1:
        return f"{number(x[0])} (1 seed)"
    return f"mean {number(x.mean())} (seed sd {number(x.std(ddof=1))}, {len(x)} seeds)"
