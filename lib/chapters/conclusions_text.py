"""What chapter 7's runs show, generated from the verdicts (never typed): sentences for any set of claims
(:func:`what_runs_show`), one item per conclusion (:func:`conclusion_sentences`), a one-line count per
chapter (:func:`chapter_summary`) and each chapter's verdicts as a collapsible block with its scale stated
once (:func:`chapter_block`). The conclusions, groups, regimes and counts these read are in
:mod:`lib.chapters.conclusions_tables`; headers, numbers and missing values follow
:mod:`lib.chapters.glossary`."""
from __future__ import annotations

import html
import json
import re
import textwrap
from collections import defaultdict
from typing import Any, Iterable, Sequence

import pandas as pd

from .. import paths
from . import glossary, registry
from .figures import figure_anchor, figure_numbers
from .seed_tests import HELD, INCONCLUSIVE, MOST_SEEDS, NOT_HELD, NOT_MEASURED, VERDICTS
from .verdicts import badge_css, interval_text, shown_verdict
from .conclusions_tables import CONCLUSIONS, OPEN_QUESTIONS, as_test, bears_label, regime, role_of, scale_ratio, title_of

def conclusion_sentences(verdicts: pd.DataFrame) -> str:
    """Markdown: one item per conclusion of section 7.1 with what its claims show (:func:`what_runs_show`,
    the claims for it and then those against it)."""
    out = []
    for c in CONCLUSIONS:
        mine = verdicts[verdicts["group"] == c.key] if len(verdicts) else verdicts
        out.append(f"* **{c.key}.** " + (what_runs_show(mine, split=True) if len(mine) else
                                         "No claim measured at this profile bears on it."))
    return "\n".join(out)



# ------------------------------------------------------------------------------------- what the runs show
#: A verdict kind as a count names it (:data:`lib.chapters.glossary.HEADERS`: "not measured").
SHORT = {k: glossary.human(k) for k in VERDICTS}
#: How many claim ids a sentence names before "and N more".
NAMED = 3
#: The most characters a cell of chapter 7's tables shows (links and HTML tags not counted).
CELL_CHARS = 200


def count_line(verdicts: Iterable[str]) -> str:
    """'5 held, 1 not held, 14 inconclusive, 2 not measured': every kind, zeros included, in :data:`VERDICTS` order."""
    v = list(verdicts)
    return ", ".join(f"{v.count(k)} {SHORT[k]}" for k in VERDICTS)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def chapter_summary(rows: pd.DataFrame, chapter: str) -> str:
    """One line for a chapter's verdicts: "Chapter 5, pruning fully-connected networks: 22 claims — 5 held,
    1 not held, 14 inconclusive, 2 not measured" (:func:`count_line`; the title from the registry)."""
    return (f"Chapter {int(registry.get(chapter).key)}, {title_of(chapter)}: {_plural(len(rows), 'claim')} — "
            f"{count_line(rows['verdict'])}")


def id_list(ids: Sequence[str], most: int = NAMED) -> str:
    """'`a`', '`a` and `b`', '`a`, `b` and `c`', or the first ``most`` and "and N more"."""
    shown = [f"`{i}`" for i in ids]
    if len(shown) > most:
        return ", ".join(shown[:most]) + f" and {len(shown) - most} more"
    return shown[0] if len(shown) == 1 else ", ".join(shown[:-1]) + " and " + shown[-1]


def undecided_because(test: Any) -> str:
    """Why a measured test is inconclusive, from its fields: "fewer than two seeds", "the groups are not all
    decided" (an "every" claim), "the interval straddles the margin" (equivalence, flat trend) or "the interval
    contains zero" (a directional claim or trend)."""
    t = as_test(test)
    if (t.get("n") or 0) < 2:
        return "fewer than two seeds"
    if t.get("rule") == "every group":
        return "the groups are not all decided"
    if t.get("claim") in ("equal", "flat"):
        return "the interval straddles the margin"
    return "the interval contains zero"


def _seeds(ns: Iterable[int]) -> str:
    ns = sorted(set(int(n) for n in ns))
    return _plural(ns[0], "seed") if len(ns) == 1 else f"{ns[0]}–{ns[-1]} seeds"


def _undecided(rows: pd.DataFrame) -> str:
    """Why the inconclusive ``rows`` are undecided (:func:`undecided_because`, with their numbers of seeds) and
    the seeds that would decide them at the observed effects (the tests' ``seeds_needed``)."""
    tests = [as_test(t) for t in rows["test"]]
    why: dict[str, list[int]] = defaultdict(list)
    for t in tests:
        why[undecided_because(t)].append(int(t.get("n") or 0))
    reasons = sorted(why.items(), key=lambda kv: -len(kv[1]))
    if len(reasons) == 1:
        (reason, ns), = reasons
        text = reason if reason == "fewer than two seeds" else f"{reason} at {_seeds(ns)}"
    else:
        text = ", ".join((r if r == "fewer than two seeds" else f"{r} at {_seeds(ns)}") + f" for {len(ns)}"
                         for r, ns in reasons)
    need = sorted(int(t["seeds_needed"]) for t in tests if t.get("seeds_needed"))
    beyond = sum(1 for t in tests if t.get("needed_for") and not t.get("seeds_needed"))
    neither = sum(1 for t in tests if not t.get("needed_for"))
    more = []
    if need:
        span = f"≈{need[0]}" if need[0] == need[-1] else f"≈{need[0]}–{need[-1]}"
        whom = "it" if len(tests) == 1 else "them" if len(need) == len(tests) else f"{len(need)} of them"
        more.append(f"{span} seeds would decide {whom} at the observed effects")
    if beyond:
        more.append(f"it would need more than {MOST_SEEDS}" if len(tests) == 1 else f"{beyond} would need more than "
                    f"{MOST_SEEDS}")
    if neither:
        more.append("it points neither way" if len(tests) == 1 else f"{neither} point{'s' if neither == 1 else ''} "
                    "neither way")
    return text + (f" ({'; '.join(more)})" if more else "")


def _tally(rows: pd.DataFrame, label: str, most: int) -> str:
    """One sentence over ``rows``: the held and not held ones named (:func:`id_list`), why the inconclusive ones
    are undecided (:func:`_undecided`), and how many were not measured."""
    n, v = len(rows), rows["verdict"]
    held, down = list(rows.loc[v == HELD, "claim_id"]), list(rows.loc[v == NOT_HELD, "claim_id"])
    k, unmeasured = int((v == INCONCLUSIVE).sum()), int((v == NOT_MEASURED).sum())
    why = _undecided(rows[v == INCONCLUSIVE]) if k else ""
    noun = f"claim{'' if n == 1 else 's'}{label}"
    if k == n:
        return (f"The one {noun} is inconclusive: {why}." if n == 1 else f"All {n} {noun} are inconclusive: {why}.")
    if unmeasured == n:
        return (f"The one {noun} was not measured at this scale." if n == 1
                else f"None of the {n} {noun} was measured at this scale.")
    parts = []
    if held:
        parts.append(f"{len(held)} of {n} {noun} held ({id_list(held, most)})"
                     + (f" and {len(down)} did not ({id_list(down, most)})" if down else ""))
    elif down:
        parts.append(f"{len(down)} of {n} {noun} did not hold ({id_list(down, most)})")
    if k:
        parts.append(f"{k} {'is' if k == 1 else 'are'} inconclusive: {why}" if parts
                     else f"{k} of {n} {noun} {'is' if k == 1 else 'are'} inconclusive: {why}")
    if unmeasured:
        parts.append(f"{unmeasured} {'was' if unmeasured == 1 else 'were'} not measured at this scale")
    return "; ".join(parts) + "."


def _holm(rows: pd.DataFrame, most: int) -> str:
    """Whether the decisive verdicts of ``rows`` survive Holm's correction (column ``holm``); '' when none is."""
    decisive_ = rows[rows["verdict"].isin([HELD, NOT_HELD])]
    if not len(decisive_) or "holm" not in rows:
        return ""
    kept = list(decisive_.loc[decisive_["holm"] == decisive_["verdict"], "claim_id"])
    d = len(decisive_)
    if len(kept) == d:
        return ("The decisive verdict survives" if d == 1 else "Both decisive verdicts survive" if d == 2
                else f"All {d} decisive verdicts survive") + " Holm's correction over every claim tested."
    if not kept:
        return (("The decisive verdict does not survive" if d == 1 else f"None of the {d} decisive verdicts survives")
                + " Holm's correction over every claim tested.")
    return (f"{len(kept)} of the {d} decisive verdicts survive{'s' if len(kept) == 1 else ''} Holm's correction "
            f"({id_list(kept, most)}).")


def what_runs_show(rows: pd.DataFrame, most: int = NAMED, split: bool = False) -> str:
    """Sentences over a set of gathered verdicts (a conclusion's, a chapter's, all of them): how many claims
    held and did not, naming them, why the inconclusive ones are undecided (the interval contains zero, or
    straddles an equivalence margin, or not every group is decided, at how many seeds) and how many seeds
    would decide them at the observed effects, how many were not measured, the same for claims against the
    conclusion (``bears``) said apart with ``split``, and whether the decisive verdicts survive Holm's correction.
    Computed from the verdicts' fields and tests only."""
    if not len(rows):
        return "No claim."
    against = (rows["bears"] == "against") if split else pd.Series(False, index=rows.index)
    parts = []
    if (~against).any():
        parts.append(_tally(rows[~against], " for it" if against.any() else "", most))
    if against.any():
        parts.append(_tally(rows[against], " against it", most))
    holm = _holm(rows, most)
    return " ".join(parts + ([holm] if holm else []))


# ------------------------------------------------------------------------------------- each chapter's verdicts
def _md(text: Any) -> str:
    """Free text made safe inside MyST Markdown: no HTML tags, no maths delimiters."""
    return str(text).replace("<", "&lt;").replace("$", "\\$")


def verdicts_anchor(chapter: str) -> str:
    """'#verdicts': the anchor of the first heading of chapter ``chapter``'s notebook whose title names its
    verdicts (MyST's heading anchors, ``myst_heading_anchors`` in ``_config.yml``), '' when there is none."""
    nb = paths.ROOT / registry.get(chapter).notebook
    if not nb.is_file():
        return ""
    for cell in json.loads(nb.read_text()).get("cells", []):
        if cell.get("cell_type") != "markdown":
            continue
        for line in "".join(cell.get("source", [])).splitlines():
            m = re.match(r"#{1,3}\s+(.*\bverdicts?\b.*)$", line.strip(), re.I)
            if m:
                return "#" + re.sub(r"[^\w\- ]", "", m.group(1).strip().lower()).replace(" ", "-")
    return ""


def scales(rows: pd.DataFrame) -> list[str]:
    """The distinct non-empty ``scale`` texts of ``rows``, in order of first appearance."""
    return list(dict.fromkeys(s for s in rows["scale"] if isinstance(s, str) and s.strip()))


def scale_text(scale: str) -> str:
    """A scale with its regime and the ratio ours / thesis's: "... — far from it (0.11 of the thesis's accuracy)"."""
    r = scale_ratio(scale)
    return f"{_md(scale)} — {regime(scale)}" + (f" ({r:.2f} of the thesis's accuracy)" if r is not None else "")


def badge(shown: str) -> str:
    """A verdict as inline HTML coloured by its kind (:func:`lib.chapters.verdicts.badge_css`)."""
    css = badge_css(shown)
    return f'<span style="{css}; padding: 0 0.2em">{html.escape(shown)}</span>' if css else html.escape(shown)


def visible(cell: str) -> str:
    """The text a reader sees of a Markdown cell: link targets, HTML tags and code backticks dropped."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", str(cell))
    return html.unescape(re.sub(r"<[^>]+>", "", text)).replace("`", "").replace("\\|", "|").replace("\\$", "$")


def decided_link(figure: Any, chapter: str, prefix: str = "") -> str:
    """Where a claim is decided, as a link: each figure its label names to that figure's anchor on the chapter's
    page (``<stem>.html#fig-2-1``, :func:`lib.chapters.figures.figure_anchor`; plain HTML, since Sphinx does not
    know ids written into a notebook's output); a label of tables only, or none, to the chapter's verdicts."""
    stem = f"{prefix}{registry.get(chapter).stem}"
    nums = figure_numbers(str(figure or ""))
    if nums:
        return ("Fig. " if len(nums) == 1 else "Figs. ") + ", ".join(
            f'<a href="{stem}.html#{figure_anchor(n)}">{n}</a>' for n in nums)
    return f"[{_md(figure) or 'chapter ' + str(int(chapter))}]({stem}.ipynb{verdicts_anchor(chapter)})"


def chapter_table(rows: pd.DataFrame, prefix: str = "") -> tuple[pd.DataFrame, list[str]]:
    """One chapter's verdicts as a table a reader can scan, and its notes. Columns: the claim (its id and our
    wording, shortened so that the cell shows at most :data:`CELL_CHARS` characters, "(note k)" when a note
    goes with it), the difference with its interval and seeds (the seeds left out when every test has the same
    number, :func:`common_seeds`), the verdict as shown (badge), after Holm
    (badge), the conclusion it counts towards ("C8, against"; "–" for its chapter's own question), where it is
    decided (:func:`decided_link`), and, when the chapter's claims were measured at more than one
    scale, the number of the scale (:func:`scales`). A note is the verdict's ``note``, or for a claim not
    measured, ``ours`` (why); equal notes share a number."""
    scale_no = {s: i + 1 for i, s in enumerate(scales(rows))}
    seeds = common_seeds(rows)
    notes: dict[str, int] = {}
    out = []
    for r in rows.itertuples():
        note = r.note if isinstance(r.note, str) and r.note else (r.ours if r.verdict == NOT_MEASURED else "")
        mark = ""
        if note:
            notes.setdefault(note, len(notes) + 1)
            mark = f" (note {notes[note]})"
        room = CELL_CHARS - len(r.claim_id) - 1 - len(mark)
        claim = textwrap.shorten(str(r.claim), width=max(room, 20), placeholder=" …")
        t = as_test(r.test)
        row = {"claim": f"`{r.claim_id}` {_md(claim)}{mark}",
               "difference [interval], seeds": (interval_text(t).replace(f", {seeds} seeds", "", 1) if seeds
                                                else interval_text(t)) if t else glossary.MISSING,
               "verdict": badge(shown_verdict(r.verdict, t)), "holm": badge(r.holm),
               "conclusion": bears_label(r),
               "decided in": decided_link(r.figure, r.chapter, prefix)}
        if len(scale_no) > 1:
            row["scale"] = scale_no.get(r.scale, glossary.MISSING)
        out.append(row)
    df = pd.DataFrame(out)
    return (df.rename(columns={"difference [interval], seeds": "difference [interval]"}) if seeds else df,
            [_md(n) for n in notes])


def common_seeds(rows: pd.DataFrame) -> int | None:
    """The number of seeds every test of ``rows`` with two seeds or more was run on, when it is one number
    (then the chapter's table states it once); None otherwise."""
    ns = {int(as_test(t).get("n") or 0) for t in rows["test"]} - {0, 1}
    return ns.pop() if len(ns) == 1 else None


def chapter_block(rows: pd.DataFrame, chapter: str, prefix: str = "") -> str:
    """Markdown: one chapter's verdicts as a collapsible block (HTML ``<details>``) whose one-line summary is
    :func:`chapter_summary`; inside, what its runs show (:func:`what_runs_show`), the scale its claims were
    measured at, stated once (numbered when there are several; :func:`scale_text`), the number of seeds when
    every test has the same (:func:`common_seeds`), what a claim with no conclusion answers, the table
    (:func:`chapter_table`) and its notes."""
    table, notes = chapter_table(rows, prefix)
    found, seeds = scales(rows), common_seeds(rows)
    parts = [f'<details class="{glossary.READABLE}"><summary><strong>{html.escape(chapter_summary(rows, chapter))}'
             "</strong></summary>", "", what_runs_show(rows)]
    if len(found) == 1:
        parts += ["", f"**Scale** of these claims: {scale_text(found[0])}."]
    elif found:
        parts += ["", "**Scales** (column *scale* gives each claim's):", ""]
        parts += [f"{i}. {scale_text(s)}; {_plural(int((rows['scale'] == s).sum()), 'claim')}"
                  for i, s in enumerate(found, 1)]
    if seeds:
        parts += ["", f"Every interval below is over {seeds} seeds."]
    about = "is about" if str(chapter) in OPEN_QUESTIONS else "is"
    if (rows["conclusion"] == "").all():
        parts += ["", f"None of these claims names a conclusion of section 7.1: each {about} {role_of(chapter)}."]
    elif (rows["conclusion"] == "").any():
        parts += ["", f"A claim with no conclusion ({glossary.MISSING}) {about} {role_of(chapter)}."]
    parts += ["", glossary.markdown(table)]
    if notes:
        parts += ["", "**Notes.**", ""] + [f"{i}. {n}" for i, n in enumerate(notes, 1)]
    return "\n".join(parts + ["", "</details>"])
