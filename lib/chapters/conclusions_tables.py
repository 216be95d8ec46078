"""Chapter 7's tables and sentences over a gathered table of verdicts
(:func:`lib.chapters.ch07_conclusions.gather`; this module is that chapter's alone): the eight conclusions
of thesis section 7.1 (:data:`CONCLUSIONS`) and the group each verdict is counted in (:func:`group_of`), the
conclusions table and the per-group counts, the checks that one question is one claim
(:func:`duplicate_tests`) and that a test has no more replicates than its chapter has seeds, how each
verdict was made (:func:`design_of`, :func:`method_text`), the count of tested and decisive claims with
Holm's correction over all of them (:func:`multiplicity_sentence`), how close to the thesis's regime
each verdict was measured (:func:`regime`, :func:`regime_sentence`), and what the runs show, generated from
the verdicts: sentences for any set of claims (:func:`what_runs_show`), a one-line count per chapter
(:func:`chapter_summary`) and each chapter's verdicts as a collapsible block with its scale stated once
(:func:`chapter_block`). Headers, numbers and missing values follow :mod:`lib.chapters.glossary`.
"""
from __future__ import annotations

import itertools
import re
from collections import defaultdict
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

import pandas as pd

from . import glossary, registry
from .seed_tests import (ALPHA, HELD, MOST_SEEDS, NOT_HELD, NOT_MEASURED, POWER, VERDICTS,
                         chance_decisive, holm_verdicts)
from .verdicts import combine


# ---------------------------------------------------------------------------------- the conclusions
@dataclass(frozen=True)
class Conclusion:
    """One conclusion of thesis section 7.1, in our words."""

    key: str
    text: str


CONCLUSIONS: tuple[Conclusion, ...] = (
    Conclusion("C1", "Coherence is different on real and on random (Gaussian) data, whether training starts from a "
               "random initialisation or from weights already trained on real data"),
    Conclusion("C2", "Diffs are spread more widely at the epoch of highest coherence than at the epoch of lowest "
               "coherence"),
    Conclusion("C3", "Diffs are not clearly larger on real data than on random data, which weakens the link between "
               "diffs and coherence"),
    Conclusion("C4", "The (maximum) coherence of a fully-connected network grows with its width"),
    Conclusion("C5", "A higher maximum coherence does not come with wider diffs: the widest MLP has the narrowest "
               "diff distribution"),
    Conclusion("C6", "A pruned MLP generalises better than a dense MLP with the same number of nonzero weights (lower "
               "training accuracy, higher test accuracy, smaller gap)"),
    Conclusion("C7", "Growing the dense parent improves a pruned child of fixed nonzero size"),
    Conclusion("C8", "Diff pruning beats random pruning but loses to magnitude pruning on MLPs and on the ResNet; on "
               "the ViT it works well"),
)
#: The conclusion keys a claim may name in its ``conclusion`` field.
KEYS: tuple[str, ...] = tuple(c.key for c in CONCLUSIONS)

#: Where the thesis decides each conclusion: (link text, chapter key) pairs for the claims table; a
#: chapter whose claims name the conclusion without being listed here is linked beside them.
CONCLUSION_LINKS = {
    "C1": [("Figures 2.1-2.4", "02")], "C2": [("Figures 3.1, 3.2", "03")], "C3": [("Figures 3.1, 3.2", "03")],
    "C4": [("Figure 4.3", "04")], "C5": [("Figure 4.4", "04")], "C6": [("Figures 5.1, 5.2", "05")],
    "C7": [("Figure 5.3", "05")], "C8": [("Figures 5.1-5.3", "05"), ("Tables 6.1, 6.2, 6.5, 6.6", "06")],
}

#: The chapters that take up the thesis's open questions (its section 7.2); the claims of other chapters that
#: bear on no conclusion are side checks of their chapter.
OPEN_QUESTIONS = ("08", "09", "10")
#: A verdict's group when its claim bears on no conclusion: "chapter 08", "chapter 03", ...
CHAPTER_GROUP = "chapter {}"


def group_of(conclusion: str, chapter: str) -> str:
    """The group a verdict is counted in: the conclusion its claim names (a key of :data:`KEYS`), or, for a
    claim naming none (""), its chapter's question (:data:`CHAPTER_GROUP`)."""
    return conclusion if conclusion else CHAPTER_GROUP.format(chapter)


def group_order(groups: Iterable[str]) -> list[str]:
    """``groups`` in page order: the conclusions in :data:`KEYS` order, then the chapters' questions by
    chapter, then anything else (an unknown key) alphabetically."""
    def rank(g: str) -> tuple[int, str]:
        return (0, f"{KEYS.index(g):02d}") if g in KEYS else (1, g) if g.startswith("chapter ") else (2, g)

    return sorted(set(groups), key=rank)


def question_of(chapter: str) -> str:
    """What a chapter's claims that name no conclusion answer: an open question of section 7.2 (chapters in
    :data:`OPEN_QUESTIONS`) or a side check of the chapter, with the chapter's title from the registry."""
    c = registry.get(chapter)
    role = ("an open question of section 7.2" if c.key in OPEN_QUESTIONS
            else "side checks, bearing on none of the eight conclusions")
    return f"Chapter {int(c.key)}, {title_of(c.key)}: {role}"


def role_of(chapter: str) -> str:
    """What a claim of ``chapter`` that names no conclusion is, in a few words: "an open question of section 7.2"
    (chapters in :data:`OPEN_QUESTIONS`) or "a side check of its chapter"."""
    return "an open question of section 7.2" if str(chapter) in OPEN_QUESTIONS else "a side check of its chapter"


def title_of(chapter: str) -> str:
    """The chapter's title from the registry with its first letter in lower case ("pruning ResNets and ViTs")."""
    t = registry.get(chapter).title
    return t[:1].lower() + t[1:]


def bears_label(row: Any) -> str:
    """The conclusion a verdict counts towards, as a chapter's table of verdicts shows it: "C3", "C8, against",
    or :data:`lib.chapters.glossary.MISSING` for a claim naming none (its chapter's question, said above the
    table). ``row``: a mapping or a named tuple with ``conclusion`` and ``bears``."""
    conclusion, bears = (row["conclusion"], row["bears"]) if isinstance(row, Mapping) else (row.conclusion, row.bears)
    if not conclusion:
        return glossary.MISSING
    return conclusion + (", against" if bears == "against" else "")


def link(text: str, chapter: str) -> str:
    """A Markdown link with ``text`` to chapter ``chapter``'s notebook (its stem from the registry)."""
    return f"[{text}]({registry.get(chapter).stem}.ipynb)"


def kinds(verdicts: Sequence[str]) -> str:
    """'2 held, 1 inconclusive': the counts of each kind present, in :data:`VERDICTS` order."""
    v = list(verdicts)
    return ", ".join(f"{v.count(k)} {k}" for k in VERDICTS if v.count(k))


def weigh(rows: pd.DataFrame, column: str = "verdict") -> str:
    """The combined verdict of the claims bearing on one conclusion (rows with ``bears`` and ``column``):
    those for it combined by :func:`lib.chapters.verdicts.combine`, then the contrary claims' verdicts
    ("held (2 of 2); against it: 1 held"). No claim: "not measured at this scale"."""
    pro = list(rows.loc[rows["bears"] != "against", column])
    con = list(rows.loc[rows["bears"] == "against", column])
    parts = ([combine(pro)] if pro else []) + ([f"against it: {kinds(con)}"] if con else [])
    return "; ".join(parts) or NOT_MEASURED


def decided_in(key: str, chapters: Iterable[str], prefix: str = "") -> str:
    """Links to where conclusion ``key`` is decided: the thesis's figures (:data:`CONCLUSION_LINKS`) and any
    other chapter whose claims name it."""
    links = list(CONCLUSION_LINKS[key])
    listed = {ch for _, ch in links}
    links += [(f"chapter {int(ch)}", ch) for ch in sorted(set(chapters) - listed)]
    return ", ".join(f"[{t}]({prefix}{registry.get(ch).stem}.ipynb)" for t, ch in links)


def claims_count(rows: pd.DataFrame) -> str:
    """How many claims bear on one conclusion, with those against it: "3", "4 (2 against)"."""
    against = int((rows["bears"] == "against").sum()) if len(rows) else 0
    return f"{len(rows)}" + (f" ({against} against)" if against else "")


def conclusions_table(verdicts: pd.DataFrame) -> pd.DataFrame:
    """One row per conclusion of section 7.1: our wording, where it is decided (Markdown links to the
    chapter notebooks), how many claims bear on it (:func:`claims_count`), the verdict (:func:`weigh`) and
    the verdict after Holm's correction (column ``holm``); what the claims show is said in sentences below the
    table (:func:`conclusion_sentences`). ``verdicts``: a gathered table
    (:func:`~lib.chapters.ch07_conclusions.gather`). No claim: "not measured at this scale"."""
    rows = []
    for c in CONCLUSIONS:
        mine = verdicts[verdicts["group"] == c.key] if len(verdicts) else verdicts
        rows.append({"": c.key, "conclusion (thesis 7.1, our words)": c.text,
                     "decided in": decided_in(c.key, mine["chapter"] if len(mine) else []),
                     "claims": claims_count(mine), "verdict": weigh(mine), "after Holm": weigh(mine, "holm")})
    return pd.DataFrame(rows)


def other_table(verdicts: pd.DataFrame) -> pd.DataFrame:
    """One row per chapter whose claims name no conclusion: the question they answer (:func:`question_of`),
    how many claims, and their verdicts (plain and after Holm); the claims themselves are in the chapter's
    block of verdicts (:func:`chapter_block`)."""
    rows = []
    for g in group_order(verdicts["group"]) if len(verdicts) else []:
        if not g.startswith("chapter "):
            continue
        mine = verdicts[verdicts["group"] == g]
        chapter = str(mine["chapter"].iloc[0])
        rows.append({"question": question_of(chapter), "claims": len(mine),
                     "verdicts": kinds(mine["verdict"]), "after Holm": kinds(mine["holm"])})
    return pd.DataFrame(rows, columns=["question", "claims", "verdicts", "after Holm"])


def group_counts(verdicts: pd.DataFrame, column: str = "verdict") -> pd.DataFrame:
    """Verdicts per group (:func:`group_of`, in :func:`group_order`) and kind, with the claims against
    their conclusion counted apart, a total per group and a last row "all" whose total is the number of
    verdicts: every verdict is counted in exactly one group."""
    cols = ["group", "bears on", *VERDICTS, "of them against", "total"]
    rows = []
    for g in group_order(verdicts["group"]) if len(verdicts) else []:
        mine = verdicts[verdicts["group"] == g]
        c = mine[column].value_counts()
        what = ("a conclusion of section 7.1" if g in KEYS else role_of(str(mine["chapter"].iloc[0]))
                if g.startswith("chapter ") else f"{g}: no such conclusion")
        rows.append({"group": g, "bears on": what, **{k: int(c.get(k, 0)) for k in VERDICTS},
                     "of them against": int((mine["bears"] == "against").sum()), "total": len(mine)})
    out = pd.DataFrame(rows, columns=cols)
    total = {"group": "all", "bears on": "", **{k: int(out[k].sum()) for k in [*VERDICTS, "of them against", "total"]}}
    return pd.concat([out, pd.DataFrame([total], columns=cols)], ignore_index=True)


# ------------------------------------------------------------------------------------- one question, one claim
def as_test(x: Any) -> Mapping[str, Any]:
    return x if isinstance(x, Mapping) else {}


def duplicate_tests(verdicts: pd.DataFrame) -> list[str]:
    """The pairs of claims whose tests were computed from the same numbers: the same data fingerprint
    (``key`` of :func:`lib.chapters.seed_tests.paired`, :func:`~lib.chapters.seed_tests.trend`, present in every
    test with data), one line per pair, e.g. "`4-a` and `8-b` test the same numbers (data key 1f2e...)".
    Tests without data (n = 0, no key) take no part. One question should be one claim: the build fails on
    any (:func:`lib.book.checks.check_claims`)."""
    ids: dict[str, list[str]] = defaultdict(list)
    for cid, t in zip(verdicts["claim_id"], verdicts["test"]) if len(verdicts) else []:
        t = as_test(t)
        if t.get("key") and (t.get("n") or 0) > 0:
            ids[str(t["key"])].append(str(cid))
    return [f"`{a}` and `{b}` test the same numbers (data key {k})"
            for k, same in ids.items() for a, b in itertools.combinations(sorted(same), 2)]


def replicate_problems(verdicts: pd.DataFrame, seeds: Mapping[str, int]) -> list[str]:
    """One line per measured verdict whose test has more replicates (n) than its chapter has seeds
    (``seeds``: chapter -> number of seeds): such a test treats values of one seed as independent."""
    out = []
    for r in verdicts.itertuples() if len(verdicts) else []:
        n, k = as_test(r.test).get("n") or 0, seeds.get(str(r.chapter))
        if r.verdict != NOT_MEASURED and k is not None and n > k:
            out.append(f"`{r.claim_id}` (chapter {int(r.chapter)}) was tested on n = {n} values, but its chapter "
                       f"has {k} seeds: values of one seed counted as independent")
    return out


def conclusion_problems(verdicts: pd.DataFrame) -> list[str]:
    """One line per verdict naming a conclusion that section 7.1 does not have (not in :data:`KEYS`)."""
    return [f"`{r.claim_id}` names conclusion {r.conclusion!r}, which is not one of {', '.join(KEYS)}"
            for r in verdicts.itertuples() if r.conclusion and r.conclusion not in KEYS] if len(verdicts) else []


# ------------------------------------------------------------------------------------- how verdicts are made
def _pct(x: float) -> str:
    return f"{100 * x:g} %"


def design_of(test: Any) -> str:
    """How a stored test was made, as one label: "directional, one value per seed", "directional, seed means
    over groups", "equivalence (two one-sided tests), ...", "trend (per-seed slopes)", "trend flat within a
    margin (two one-sided tests on the total change)", "every group (intersection-union)"; "not measured"
    for a claim without a test. Read from the test's ``rule`` and ``claim``."""
    t = as_test(test)
    if not t or not t.get("n"):
        return "not measured"
    rule, claim = t.get("rule", "one value per seed"), t.get("claim")
    if rule == "every group":
        return "every group (intersection-union)"
    if rule == "per-seed slope":
        return ("trend flat within a margin (two one-sided tests on the total change)" if claim == "flat"
                else "trend (per-seed slopes)")
    kind = "equivalence (two one-sided tests)" if claim == "equal" else "directional"
    return f"{kind}, {rule}"


def design_counts(verdicts: pd.DataFrame) -> pd.DataFrame:
    """The measured verdicts per design (:func:`design_of`): design and number of claims."""
    m = verdicts[verdicts["verdict"] != NOT_MEASURED] if len(verdicts) else verdicts
    if not len(m):
        return pd.DataFrame(columns=["design", "claims"])
    d = m.assign(design=m["test"].map(design_of))
    return d.groupby("design", sort=True).size().rename("claims").reset_index()


def method_text() -> str:
    """Markdown: how every verdict is decided, with the numbers of the verdict toolkit
    (:data:`lib.chapters.seed_tests.ALPHA`, :data:`~lib.chapters.seed_tests.POWER`,
    :data:`~lib.chapters.seed_tests.MOST_SEEDS`)."""
    a, two = _pct(1 - ALPHA), _pct(1 - 2 * ALPHA)
    return "\n".join([
        "* **The seed is the replicate.** Every claim is tested on one value per seed and side, and runs of the same "
        "seed are paired. A seed's several values (tensors, the epochs of a window, widths, items compared with one "
        "reference run) are averaged within the seed first, or, for a claim about every group, judged group by "
        "group, so a test has at most as many values as its chapter has seeds; one with more is listed above as a "
        "problem.",
        f"* **Directional claims** (a > b, a < b): the two-sided {a} t-interval of the mean paired difference: "
        "*held* when it lies wholly on the claimed side of zero, *not held* when wholly on the other side, otherwise "
        "*inconclusive*.",
        "* **Trends** (grows, shrinks with width, ratio, sample size or epoch): each seed's least-squares slope, then "
        f"the same {a} interval over the seeds' slopes. *Flat* or *levels off*: the total fitted change over the "
        "measured range (slope times span) must lie within a margin written with the claim.",
        f"* **No difference** (equivalence, margin written with the claim): two one-sided tests at {_pct(ALPHA)} "
        f"each, that is the {two} interval: held when it lies inside (−margin, margin), not held when it lies wholly "
        "outside.",
        "* **Every group** (claims worded *every*, *all*, *at each*): each group is judged alone over the seeds; held "
        f"only when every group is held (an intersection-union test at {_pct(ALPHA)}), not held when some group is "
        f"not held at {_pct(ALPHA)} divided by the number of groups (Bonferroni), otherwise inconclusive.",
        "* **Seeds needed.** An inconclusive verdict names the verdict the observed effect points to and the least "
        f"number of seeds that would reach it with {_pct(POWER)} power, taking the observed effect and spread as "
        f"true (beyond {MOST_SEEDS} seeds it says so); an equivalence beyond its margin says so instead.",
        "* **Many claims at once.** Beside each plain verdict the table gives the verdict after Holm's step-down "
        f"correction over every claim measured at this profile (family-wise error {_pct(ALPHA)}): a held or not "
        "held verdict whose p-value does not survive it becomes inconclusive.",
        "* **Not measured at this scale**: the profile cannot reach the claim's regime; such claims take no part in "
        "the counts of tested claims.",
    ])


# ------------------------------------------------------------------------------------- multiplicity
def tested(verdicts: pd.DataFrame) -> int:
    """Claims measured at this profile: verdicts other than "not measured at this scale"."""
    return int((verdicts["verdict"] != NOT_MEASURED).sum()) if len(verdicts) else 0


def decisive(verdicts: pd.DataFrame, column: str = "verdict") -> int:
    """Held or not held verdicts in ``column`` ("verdict", or "holm" for the Holm-adjusted ones)."""
    return int(verdicts[column].isin([HELD, NOT_HELD]).sum()) if len(verdicts) else 0


def holm_column(verdicts: pd.DataFrame) -> list[str]:
    """Each verdict after Holm's correction over every measured claim of the table
    (:func:`lib.chapters.seed_tests.holm_verdicts` on the tests' p-values)."""
    if not len(verdicts):
        return []
    return holm_verdicts([as_test(t) for t in verdicts["test"]], list(verdicts["verdict"]))


def multiplicity_sentence(verdicts: pd.DataFrame, profile: str) -> str:
    """Markdown: how many claims were tested at ``profile``, how many decisive verdicts chance alone would
    give with no effect at all (:func:`lib.chapters.seed_tests.chance_decisive`) beside the decisive count,
    and the held and not held counts after Holm's correction over the tested claims."""
    n = tested(verdicts)
    c = verdicts["verdict"].value_counts() if len(verdicts) else pd.Series(dtype=int)
    h = verdicts["holm"].value_counts() if len(verdicts) else pd.Series(dtype=int)
    return (f"**{n} claims were tested** at profile `{profile}`. If none of their effects existed, chance alone "
            f"would make about {chance_decisive(n):.1f} of them decisive ({n} claims × α = {ALPHA:g}); "
            f"**{decisive(verdicts)} are decisive** ({int(c.get(HELD, 0))} held, {int(c.get(NOT_HELD, 0))} not held). "
            f"After Holm's correction over the {n} tested claims (family-wise error {_pct(ALPHA)}): "
            f"**{int(h.get(HELD, 0))} held, {int(h.get(NOT_HELD, 0))} not held**.")


def verdict_counts(verdicts: pd.DataFrame, column: str = "verdict", order: Sequence[str] = VERDICTS,
                   chapters: Sequence[str] = ()) -> pd.DataFrame:
    """Number of stored verdicts per chapter and kind (``column``'s values, columns in ``order``), with
    totals: a row per chapter of ``chapters`` (zeros where it has none), then any other chapter with verdicts,
    then "all"."""
    keys = list(chapters) + sorted(set(verdicts["chapter"]) - set(chapters) if len(verdicts) else [])
    if not keys:
        return pd.DataFrame(columns=["chapter", *order, "total"])
    t = (pd.crosstab(verdicts["chapter"], verdicts[column]) if len(verdicts) else pd.DataFrame())
    t = t.reindex(index=keys, columns=list(order), fill_value=0).astype(int)
    t.index.name = "chapter"
    t.loc["all"] = t.sum()
    t["total"] = t.sum(axis=1)
    return t.reset_index()


# ------------------------------------------------------------------------------------- regimes
#: A claim measured with its reference networks at this share of the thesis's accuracy or more counts
#: as measured near the thesis's regime (a tenth below the thesis's number).
NEAR_RATIO = 0.9
#: Below this share of the thesis's accuracy (less than half) a claim was measured in another regime.
FAR_RATIO = 0.5
REGIMES = ("near the thesis's regime", "partway to it", "far from it", "no reference accuracy")
#: The forms of "ours (thesis's)" a ``scale`` field may take: "0.27 (thesis 0.90" and "acc 0.12 after 2 of
#: 300 epochs (its dense ResNet50 0.90" (an accuracy, then in the next parenthesis the thesis's number, after
#: words only: "ResNet50" is a name, "(thesis: plotted only, Fig. 4.1)" and "(thesis 62x)" give no accuracy).
_SCALE = (re.compile(r"(\d+(?:\.\d+)?)\s*%?\s*\(thesis\s+(\d+(?:\.\d+)?)"),
          re.compile(r"acc\w*\s+(\d+(?:\.\d+)?)\s*%?[^;()]*?\((?:thesis|its)\b(?:\s+[A-Za-z][\w-]*)*\s+"
                     r"(\d+(?:\.\d+)?)\b(?!\.)"))


def scale_ratio(scale: str) -> float | None:
    """The smallest ratio ours / thesis's among the (ours, thesis's) pairs a verdict's ``scale`` field names
    (e.g. "ResNet dense test acc 0.27 (thesis 0.90, Table 6.1); ViT ..." -> 0.30; see :data:`_SCALE`), or
    None when it names none."""
    pairs = {m.span(): m.groups() for rx in _SCALE for m in rx.finditer(str(scale or ""))}
    ratios = [float(o) / float(t) for o, t in pairs.values() if float(t) > 0]
    return min(ratios) if ratios else None


def regime(scale: str) -> str:
    """How close to the thesis's regime a verdict was measured (one of :data:`REGIMES`), from its ``scale``
    field: the reference accuracy at :data:`NEAR_RATIO` of the thesis's or more is near it, under
    :data:`FAR_RATIO` far from it, in between partway; no "X (thesis Y)" pair: no reference accuracy."""
    r = scale_ratio(scale)
    if r is None:
        return REGIMES[3]
    return REGIMES[0] if r >= NEAR_RATIO else REGIMES[1] if r >= FAR_RATIO else REGIMES[2]


def regime_counts(verdicts: pd.DataFrame) -> pd.DataFrame:
    """Verdicts per regime (rows in :data:`REGIMES` order, only those present) and kind, with the total; which
    claim sits in which regime is said in its chapter's block (:func:`chapter_block`, its scales)."""
    cols = ["regime", *VERDICTS, "total"]
    if not len(verdicts):
        return pd.DataFrame(columns=cols)
    reg = verdicts["regime"] if "regime" in verdicts else verdicts["scale"].map(regime)
    rows = []
    for name in REGIMES:
        mine = verdicts[reg == name]
        if len(mine):
            c = mine["verdict"].value_counts()
            rows.append({"regime": name, **{k: int(c.get(k, 0)) for k in VERDICTS}, "total": len(mine)})
    return pd.DataFrame(rows, columns=cols)


def _chapters(keys: Iterable[str]) -> str:
    """'chapter 8', 'chapters 8 and 9', 'chapters 2, 3 and 8'."""
    ks = [str(int(k)) for k in sorted(set(keys))]
    return (f"chapter {ks[0]}" if len(ks) == 1 else f"chapters {', '.join(ks[:-1])} and {ks[-1]}") if ks else ""


def regime_sentence(verdicts: pd.DataFrame) -> str:
    """Markdown: how many verdicts name a reference accuracy beside the thesis's, how many fall in each regime
    (:func:`regime`), the range of the ratios ours / thesis's (:func:`scale_ratio`), and the chapters of the
    verdicts that name none."""
    if not len(verdicts):
        return "No verdict is stored."
    ratio = verdicts["scale"].map(scale_ratio)
    has = verdicts[ratio.notna()]
    none = verdicts[ratio.isna()]
    reg = has["scale"].map(regime)
    present = [(name, int((reg == name).sum())) for name in REGIMES[:3] if (reg == name).any()]
    if not len(has):
        return f"None of the {len(verdicts)} verdicts names a reference accuracy beside the thesis's."
    where = (f"all {len(has)} {present[0][0]}" if len(present) == 1
             else ", ".join(f"{k} {name}" for name, k in present))
    lo, hi = float(ratio.min()), float(ratio.max())
    span = f"{lo:.2f}" if round(lo, 2) == round(hi, 2) else f"{lo:.2f} to {hi:.2f}"
    text = (f"Of the {len(verdicts)} verdicts, {len(has)} name a reference accuracy beside the thesis's: {where}; "
            f"our reference networks reach {span} of the thesis's accuracy.")
    if len(none):
        text += (f" The other {len(none)} (of {_chapters(none['chapter'])}) name no accuracy of the thesis to compare "
                 "with.")
    return text
