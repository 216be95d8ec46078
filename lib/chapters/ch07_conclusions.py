"""Chapter 7: the conclusions of thesis section 7.1 against the verdicts stored by chapters 2-6, 8 and 9. Trains nothing.

* :data:`CONCLUSIONS`: the eight conclusions of section 7.1, in our words. Each claim names, where it is
  written (:class:`lib.chapters.verdicts.Claim`), the conclusion it bears on (``conclusion``, "" for none)
  and whether a held verdict speaks for or against it (``bears``); this page only reads those fields
  (:func:`group_of`). Claims that bear on none are gathered under their chapter's question: chapters 8
  and 9 answer the open questions of section 7.2 (:data:`OPEN_QUESTIONS`), the others are side checks.
* :func:`results`: the verdicts chapters 02-06, 08 and 09 stored for the parameters and runs they have at this
  page's profile (:func:`expected`, :func:`lib.chapters.verdicts.load_for`), gathered (:func:`gather`): each
  with its group, regime, design and Holm-adjusted verdict, and the problems found (chapters missing or
  stale, claims computed from the same numbers (:func:`duplicate_tests`), tests on more replicates than
  their chapter has seeds (:func:`replicate_problems`)).
* The page's parts in order: :func:`headline`, :func:`problems`, :func:`method`, :func:`conclusions`,
  :func:`other_claims`, :func:`group_table`, :func:`multiplicity`, :func:`every_verdict`, :func:`counts`,
  :func:`regimes`, :func:`changes`, :func:`summary` (:func:`verdicts` is empty: this chapter decides no
  claim). Everything :func:`changes` says about a chapter's design is read from that chapter's setup and
  the runs its plan lists (:func:`design`). Chapter links come from :data:`lib.chapters.registry.CHAPTERS`.
"""
from __future__ import annotations

import dataclasses
import itertools
import re
from collections import defaultdict
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

import pandas as pd

from .. import profiles
from ..config import Stages, TrainConfig
from . import params as check
from . import registry
from .verdicts import (ALPHA, HELD, MOST_SEEDS, NOT_HELD, NOT_MEASURED, POWER, VERDICTS, Verdict,
                       chance_decisive, combine, holm_verdicts, interval_text, load_for, run_hashes, shown_verdict,
                       with_badges)


@dataclass(frozen=True)
class Params:
    """The notebook's papermill parameters (same names and defaults)."""

    profile: str = "cpu"
    seed: int = 0

    def __post_init__(self) -> None:
        check.profile(self.profile)
        check.integer(self.seed, "seed", minimum=0)


@dataclass(frozen=True)
class Setup:
    """Chapter 7's parameters and the resolved profile."""

    params: Params
    profile: profiles.Profile


def setup(**params: Any) -> Setup:
    """Validate the parameters (errors name the parameter and its value) and resolve the chapter."""
    p = check.build(Params, params)
    return Setup(p, profiles.get(p.profile))


def plan(s: Setup) -> Stages:
    """Nothing: chapter 7 reads the stored verdicts."""
    return []


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
OPEN_QUESTIONS = ("08", "09")
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
    return f"Chapter {int(c.key)}, {c.title.lower()}: {role}"


def bears_label(row: Mapping[str, Any]) -> str:
    """Where a verdict is counted, as the every-verdict table shows it: "C3", "C8, against", "chapter 8's open
    question (7.2)" or "chapter 3's side check"."""
    if row["conclusion"]:
        return row["conclusion"] + (", against" if row["bears"] == "against" else "")
    ch = str(row["chapter"])
    return f"chapter {int(ch)}'s " + ("open question (7.2)" if ch in OPEN_QUESTIONS else "side check")


def link(text: str, chapter: str) -> str:
    """A Markdown link with ``text`` to chapter ``chapter``'s notebook (its stem from the registry)."""
    return f"[{text}]({registry.get(chapter).stem}.ipynb)"


def _kinds(verdicts: Sequence[str]) -> str:
    """'2 held, 1 inconclusive': the counts of each kind present, in :data:`VERDICTS` order."""
    v = list(verdicts)
    return ", ".join(f"{v.count(k)} {k}" for k in VERDICTS if v.count(k))


def weigh(rows: pd.DataFrame, column: str = "verdict") -> str:
    """The combined verdict of the claims bearing on one conclusion (rows with ``bears`` and ``column``):
    those for it combined by :func:`lib.chapters.verdicts.combine`, then the contrary claims' verdicts
    ("held (2 of 2); against it: 1 held"). No claim: "not measured at this scale"."""
    pro = list(rows.loc[rows["bears"] != "against", column])
    con = list(rows.loc[rows["bears"] == "against", column])
    parts = ([combine(pro)] if pro else []) + ([f"against it: {_kinds(con)}"] if con else [])
    return "; ".join(parts) or NOT_MEASURED


def _decided_in(key: str, chapters: Iterable[str], prefix: str = "") -> str:
    """Links to where conclusion ``key`` is decided: the thesis's figures (:data:`CONCLUSION_LINKS`) and any
    other chapter whose claims name it."""
    links = list(CONCLUSION_LINKS[key])
    listed = {ch for _, ch in links}
    links += [(f"chapter {int(ch)}", ch) for ch in sorted(set(chapters) - listed)]
    return ", ".join(f"[{t}]({prefix}{registry.get(ch).stem}.ipynb)" for t, ch in links)


def _line(r: Any) -> str:
    return (("against: " if r.bears == "against" else "") + f"`{r.claim_id}` ({r.verdict}): {r.ours}")


def conclusions_table(verdicts: pd.DataFrame) -> pd.DataFrame:
    """One row per conclusion of section 7.1: our wording, where it is decided (Markdown links to the
    chapter notebooks), what our runs show (each claim naming it, contrary ones marked "against", with
    its numbers), the verdict (:func:`weigh`) and the verdict after Holm's correction (column ``holm``).
    ``verdicts``: a gathered table (:func:`gather`). No claim: "not measured at this scale"."""
    rows = []
    for c in CONCLUSIONS:
        mine = verdicts[verdicts["group"] == c.key] if len(verdicts) else verdicts
        ordered = pd.concat([mine[mine["bears"] != "against"], mine[mine["bears"] == "against"]]) if len(mine) else mine
        rows.append({"": c.key, "conclusion (thesis 7.1, our words)": c.text,
                     "decided in": _decided_in(c.key, mine["chapter"] if len(mine) else []),
                     "what our runs show": ("<br>".join(_line(r) for r in ordered.itertuples())
                                            or "no run at this profile"),
                     "verdict": weigh(mine), "after Holm": weigh(mine, "holm")})
    return pd.DataFrame(rows)


def other_table(verdicts: pd.DataFrame) -> pd.DataFrame:
    """One row per chapter whose claims name no conclusion: the question they answer (:func:`question_of`),
    the claims with their verdicts, and their counts (plain and after Holm)."""
    rows = []
    for g in group_order(verdicts["group"]) if len(verdicts) else []:
        if not g.startswith("chapter "):
            continue
        mine = verdicts[verdicts["group"] == g]
        chapter = str(mine["chapter"].iloc[0])
        rows.append({"question": question_of(chapter), "claims": "<br>".join(
            f"`{r.claim_id}` ({r.verdict})" for r in mine.itertuples()),
            "verdicts": _kinds(mine["verdict"]), "after Holm": _kinds(mine["holm"])})
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
        what = (g if g in KEYS else question_of(str(mine["chapter"].iloc[0])) if g.startswith("chapter ")
                else f"{g}: no such conclusion")
        rows.append({"group": g, "bears on": what, **{k: int(c.get(k, 0)) for k in VERDICTS},
                     "of them against": int((mine["bears"] == "against").sum()), "total": len(mine)})
    out = pd.DataFrame(rows, columns=cols)
    total = {"group": "all", "bears on": "", **{k: int(out[k].sum()) for k in [*VERDICTS, "of them against", "total"]}}
    return pd.concat([out, pd.DataFrame([total], columns=cols)], ignore_index=True)


# ------------------------------------------------------------------------------------- one question, one claim
def _test(x: Any) -> Mapping[str, Any]:
    return x if isinstance(x, Mapping) else {}


def duplicate_tests(verdicts: pd.DataFrame) -> list[str]:
    """The pairs of claims whose tests were computed from the same numbers: the same data fingerprint
    (``key`` of :func:`lib.chapters.verdicts.paired`, :func:`~lib.chapters.verdicts.trend`, present in every
    test with data), one line per pair, e.g. "`4-a` and `8-b` test the same numbers (data key 1f2e...)".
    Tests without data (n = 0, no key) take no part. One question should be one claim: the build fails on
    any (:func:`lib.book.checks.check_claims`)."""
    ids: dict[str, list[str]] = defaultdict(list)
    for cid, t in zip(verdicts["claim_id"], verdicts["test"]) if len(verdicts) else []:
        t = _test(t)
        if t.get("key") and (t.get("n") or 0) > 0:
            ids[str(t["key"])].append(str(cid))
    return [f"`{a}` and `{b}` test the same numbers (data key {k})"
            for k, same in ids.items() for a, b in itertools.combinations(sorted(same), 2)]


def replicate_problems(verdicts: pd.DataFrame, seeds: Mapping[str, int]) -> list[str]:
    """One line per measured verdict whose test has more replicates (n) than its chapter has seeds
    (``seeds``: chapter -> number of seeds): such a test treats values of one seed as independent."""
    out = []
    for r in verdicts.itertuples() if len(verdicts) else []:
        n, k = _test(r.test).get("n") or 0, seeds.get(str(r.chapter))
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
    t = _test(test)
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
    """The measured verdicts per design (:func:`design_of`): design, claims, their ids."""
    m = verdicts[verdicts["verdict"] != NOT_MEASURED] if len(verdicts) else verdicts
    if not len(m):
        return pd.DataFrame(columns=["design", "claims", "claim ids"])
    d = m.assign(design=m["test"].map(design_of))
    return (d.groupby("design", sort=True)["claim_id"].agg(claims="size", ids=lambda s: ", ".join(s))
            .reset_index().rename(columns={"ids": "claim ids"}))


def method_text() -> str:
    """Markdown: how every verdict is decided, with the numbers of the verdict toolkit
    (:data:`lib.chapters.verdicts.ALPHA`, :data:`~lib.chapters.verdicts.POWER`,
    :data:`~lib.chapters.verdicts.MOST_SEEDS`)."""
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
    (:func:`lib.chapters.verdicts.holm_verdicts` on the tests' p-values)."""
    if not len(verdicts):
        return []
    return holm_verdicts([_test(t) for t in verdicts["test"]], list(verdicts["verdict"]))


def multiplicity_sentence(verdicts: pd.DataFrame, profile: str) -> str:
    """Markdown: how many claims were tested at ``profile``, how many decisive verdicts chance alone would
    give with no effect at all (:func:`lib.chapters.verdicts.chance_decisive`) beside the decisive count,
    and the held and not held counts after Holm's correction over the tested claims."""
    n = tested(verdicts)
    c = verdicts["verdict"].value_counts() if len(verdicts) else pd.Series(dtype=int)
    h = verdicts["holm"].value_counts() if len(verdicts) else pd.Series(dtype=int)
    return (f"**{n} claims were tested** at profile `{profile}`. If none of their effects existed, chance alone "
            f"would make about {chance_decisive(n):.1f} of them decisive ({n} claims × α = {ALPHA:g}); "
            f"**{decisive(verdicts)} are decisive** ({int(c.get(HELD, 0))} held, {int(c.get(NOT_HELD, 0))} not held). "
            f"After Holm's correction over the {n} tested claims (family-wise error {_pct(ALPHA)}): "
            f"**{int(h.get(HELD, 0))} held, {int(h.get(NOT_HELD, 0))} not held**.")


# ------------------------------------------------------------------------------------- headline
def headline_markdown(s: Setup, r: Results, prefix: str = "chapters/") -> str:
    """The book's headline, for the intro page: how many verdicts of which kind are stored at this profile,
    how many claims were tested, how many decisive verdicts chance alone would give and how many remain
    after Holm's correction (:func:`multiplicity_sentence`), one line per conclusion of section 7.1 with its
    combined verdict (contrary claims counted against it), after Holm, the regimes of its verdicts and
    links to the chapters that decide it (``prefix``: the chapters' folder as seen from the page), and
    how the verdicts that name no conclusion are grouped, with counts that add up to the total.
    Generated from the stored verdicts only; without any, it says so."""
    v = r.verdicts
    if not len(v):
        return (f"*No verdict is stored yet for profile `{s.profile.name}`: build the book (`make book`) and this "
                "section lists what the reproduction found.*")
    counts = v["verdict"].value_counts()
    first = (f"At profile `{s.profile.name}` the chapters store **{len(v)} verdicts**: "
             + ", ".join(f"{int(counts.get(k, 0))} {k}" for k in VERDICTS) + ". "
             + multiplicity_sentence(v, s.profile.name))
    if r.problems:
        first += f" {len(r.problems)} chapter(s) are missing or stale (see the conclusions chapter)."
    if r.duplicates:
        first += f" **{len(r.duplicates)} pair(s) of claims test the same numbers** (see the conclusions chapter)."
    lines = [first, "",
             "| | conclusion of the thesis (section 7.1, our words) | verdict | after Holm | measured | decided in |",
             "|---|---|---|---|---|---|"]
    for c in CONCLUSIONS:
        mine = v[v["group"] == c.key]
        where = sorted(set(mine["regime"])) if len(mine) else []
        lines.append(f"| {c.key} | {c.text} | {weigh(mine)} | {weigh(mine, 'holm')} | {'; '.join(where) or '-'} | "
                     f"{_decided_in(c.key, mine['chapter'], prefix)} |")
    lines += ["", _accounting(v, prefix)]
    return "\n".join(lines)


def _accounting(v: pd.DataFrame, prefix: str = "") -> str:
    """One sentence: the verdicts under the eight conclusions (and how many of them against), those
    answering the open questions of section 7.2 and the side checks of their chapters, per chapter, and
    their sum, which is the number of verdicts."""
    rest = v[v["group"].str.startswith("chapter ")]
    on = v[~v["group"].str.startswith("chapter ")]
    open_q = rest[rest["chapter"].isin(OPEN_QUESTIONS)]
    side = rest[~rest["chapter"].isin(OPEN_QUESTIONS)]
    parts = [f"{len(on)} bear on the eight conclusions ({int((on['bears'] == 'against').sum())} of them against)"]
    for label, mine in (("answer the open questions of section 7.2", open_q),
                        ("are side checks of their chapter", side)):
        per = "; ".join(f"[chapter {int(ch)}]({prefix}{registry.get(ch).stem}.ipynb): {len(g)} ({_kinds(g['verdict'])})"
                        for ch, g in mine.groupby("chapter", sort=True))
        parts.append(f"{len(mine)} {label}" + (f" ({per})" if per else ""))
    return (f"Of the {len(v)} verdicts, " + ", ".join(parts)
            + f": {len(on)} + {len(open_q)} + {len(side)} = {len(on) + len(open_q) + len(side)}.")


def verdict_counts(verdicts: pd.DataFrame) -> pd.DataFrame:
    """Number of stored verdicts per chapter and kind (columns in :data:`lib.chapters.verdicts.VERDICTS`
    order), with totals."""
    if not len(verdicts):
        return pd.DataFrame(columns=["chapter", *VERDICTS, "total"])
    t = pd.crosstab(verdicts["chapter"], verdicts["verdict"]).reindex(columns=list(VERDICTS), fill_value=0)
    t.loc["all"] = t.sum()
    t["total"] = t.sum(axis=1)
    return t.reset_index()


def _cell(x: object) -> str:
    return str(x).replace("|", "\\|").replace("\n", " ")


def markdown_table(df: pd.DataFrame) -> str:
    """A pipe table (Markdown) of ``df``; cells may hold Markdown (links, code, <br>)."""
    head = "| " + " | ".join(_cell(c) for c in df.columns) + " |"
    sep = "|" + "|".join("---" for _ in df.columns) + "|"
    body = ["| " + " | ".join(_cell(x) for x in row) + " |" for row in df.itertuples(index=False)]
    return "\n".join([head, sep, *body])
# ------------------------------------------------------------------------------------- regimes
#: A claim measured with its reference networks at this share of the thesis's accuracy or more counts
#: as measured near the thesis's regime (a tenth below the thesis's number).
NEAR_RATIO = 0.9
#: Below this share of the thesis's accuracy (less than half) a claim was measured in another regime.
FAR_RATIO = 0.5
REGIMES = ("near the thesis's regime", "partway to it", "far from it", "no reference accuracy")
#: The forms of "ours (thesis's)" a ``scale`` field may take: "0.27 (thesis 0.90" and "acc 0.12 after 2 of
#: 300 epochs (its dense resnet 0.90" (an accuracy, then in the next parenthesis the thesis's number).
_SCALE = (re.compile(r"(\d+(?:\.\d+)?)\s*%?\s*\(thesis\s+(\d+(?:\.\d+)?)"),
          re.compile(r"acc\w*\s+(\d+(?:\.\d+)?)\s*%?[^;()]*?\((?:thesis|its)\b[^\d;)]*?(\d+(?:\.\d+)?)"))


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
    """Verdicts per regime (rows in :data:`REGIMES` order, only those present) and kind, with the claims."""
    cols = ["regime", *VERDICTS, "total", "claims"]
    if not len(verdicts):
        return pd.DataFrame(columns=cols)
    reg = verdicts["regime"] if "regime" in verdicts else verdicts["scale"].map(regime)
    rows = []
    for name in REGIMES:
        mine = verdicts[reg == name]
        if len(mine):
            c = mine["verdict"].value_counts()
            rows.append({"regime": name, **{k: int(c.get(k, 0)) for k in VERDICTS}, "total": len(mine),
                         "claims": ", ".join(mine["claim_id"])})
    return pd.DataFrame(rows, columns=cols)


# ------------------------------------------------------------------------------------- the page
#: The chapters whose verdicts this page gathers.
SOURCES = ("02", "03", "04", "05", "06", "08", "09")


@dataclass(frozen=True)
class Results:
    """The verdicts stored for the parameters this page was built with, gathered (:func:`gather`: with
    ``conclusion``, ``bears``, ``group``, ``regime``, ``design`` and ``holm`` columns), the conclusions
    table, and the problems found: chapters missing or stale (``problems``), pairs of claims computed
    from the same numbers (``duplicates``, :func:`duplicate_tests`), and claims whose test does not fit
    the rules (``design_problems``: more replicates than seeds, an unknown conclusion key)."""

    verdicts: pd.DataFrame
    claims: pd.DataFrame
    problems: tuple[str, ...] = ()
    duplicates: tuple[str, ...] = ()
    design_problems: tuple[str, ...] = ()

    @property
    def measured(self) -> int:
        """Conclusions with at least one verdict."""
        return int((self.claims["verdict"] != NOT_MEASURED).sum())

    @property
    def tested(self) -> int:
        """Claims measured at this profile (:func:`tested`)."""
        return tested(self.verdicts)


def gather(verdicts: pd.DataFrame, problems: Sequence[str] = (), seeds: Mapping[str, int] | None = None) -> Results:
    """:class:`Results` from a table of verdicts (rows of :class:`lib.chapters.verdicts.Verdict`): each
    verdict's group (:func:`group_of`, from its ``conclusion`` field), regime, design and Holm-adjusted
    verdict; the conclusions table; and the problems: ``problems`` (chapters missing or stale), the claims
    computed from the same numbers, and the claims naming an unknown conclusion or tested on more values
    than their chapter's ``seeds`` (chapter -> number of seeds)."""
    v = verdicts.reset_index(drop=True).copy()
    v["conclusion"] = v["conclusion"].fillna("").astype(str) if len(v) else pd.Series(dtype=object)
    v["bears"] = v["bears"].fillna("for").replace("", "for") if len(v) else pd.Series(dtype=object)
    v["chapter"] = v["chapter"].astype(str) if len(v) else pd.Series(dtype=object)
    v["group"] = [group_of(c, ch) for c, ch in zip(v["conclusion"], v["chapter"])]
    v["regime"] = v["scale"].map(regime) if len(v) else pd.Series(dtype=object)
    v["design"] = v["test"].map(design_of) if len(v) else pd.Series(dtype=object)
    v["holm"] = holm_column(v)
    more = conclusion_problems(v) + replicate_problems(v, seeds or {})
    return Results(v, conclusions_table(v), tuple(problems), tuple(duplicate_tests(v)), tuple(more))


def _chapter_kwargs(mod: Any, s: Setup) -> dict[str, Any]:
    """A chapter's setup arguments for this page: its profile, and its seed where the chapter takes one."""
    kw: dict[str, Any] = {"profile": s.profile.name}
    if "seed" in {f.name for f in dataclasses.fields(mod.Params)}:
        kw["seed"] = s.params.seed
    return kw


def resolve(s: Setup) -> tuple[dict[str, tuple[Any, list[str]]], dict[str, int], list[str]]:
    """For each chapter of :data:`SOURCES`: its parameters at this page's profile (and seed, where the
    chapter takes one) and the run hashes its plan lists for them; its number of seeds; and a problem line
    for each chapter whose setup or plan fails (the error named: that chapter's verdicts cannot be read)."""
    out, seeds, problems = {}, {}, []
    for key in SOURCES:
        try:
            mod = registry.module(key)
            cs = mod.setup(**_chapter_kwargs(mod, s))
            out[key] = (cs.params, run_hashes(mod.plan(cs)))
            seeds[key] = len(cs.seeds)
        except Exception as e:  # a chapter that cannot even plan is reported on the page, not fatal to it
            problems.append(f"chapter {key}: its parameters or plan could not be resolved ({type(e).__name__}: {e})")
    return out, seeds, problems


def expected(s: Setup) -> tuple[dict[str, tuple[Any, list[str]]], list[str]]:
    """:func:`resolve` without the seeds: each chapter's parameters and planned run hashes, and the problems."""
    out, _, problems = resolve(s)
    return out, problems


def results(s: Setup) -> Results:
    """The verdicts chapters 02-06, 08 and 09 stored for the parameters and runs they have at this page's
    profile (:func:`lib.chapters.verdicts.load_for`), gathered with each chapter's number of seeds, with
    the chapters missing or stale named."""
    exp, seeds, problems = resolve(s)
    table, more = load_for(s.profile.name, exp)
    return gather(table, [*problems, *more], seeds)


def verdicts(s: Setup, r: Results) -> list[Verdict]:
    """None: chapter 7 decides no claim of its own, it gathers those of chapters 2-6, 8 and 9 (the build executes
    it after them)."""
    return []


def headline(s: Setup, r: Results) -> str:
    """Markdown: how many verdicts, from which chapters, of which kind, how many claims were tested and what
    chance alone would give (:func:`multiplicity_sentence`), how many conclusions they reach, and how many
    chapters are missing or stale and pairs of claims test the same numbers."""
    v = r.verdicts
    text = (f"Profile `{s.profile.name}`: **{len(v)} verdicts** stored by chapters "
            f"{', '.join(sorted(v['chapter'].unique())) or 'none'}"
            + (f" ({_kinds(v['verdict'])})" if len(v) else "")
            + f"; **{r.measured} of {len(r.claims)}** conclusions of section 7.1 have at least one verdict.")
    if len(v):
        text += " " + multiplicity_sentence(v, s.profile.name)
    trouble = ([f"**{len(r.problems)} chapter(s) missing or stale**"] if r.problems else []) + (
        [f"**{len(r.duplicates)} pair(s) of claims test the same numbers**"] if r.duplicates else [])
    return text + (" " + "; ".join(trouble) + " (listed below)." if trouble else "")


def problems(s: Setup, r: Results) -> str:
    """Markdown: each chapter whose verdicts are missing or stale for this page's parameters, with the
    claims concerned, each pair of claims computed from the same numbers (the build fails on these), and
    each claim whose test does not fit the rules; or a line saying all is in order."""
    lines = [f"* {p}" for p in r.problems]
    lines += [f"* **One question, two claims:** {d}; the build fails until one of them goes." for d in r.duplicates]
    lines += [f"* {p}" for p in r.design_problems]
    if lines:
        return "\n".join(lines)
    return (f"Every chapter of {', '.join(SOURCES)} has verdicts stored for the parameters of profile "
            f"`{s.profile.name}`, computed from the runs its plan lists now; no two claims test the same numbers, "
            "and no test has more values than its chapter has seeds.")


def method(s: Setup, r: Results) -> str:
    """Markdown: how a verdict is decided (:func:`method_text`), then how the measured claims of this profile
    were tested (:func:`design_counts`), so that the rules above can be checked against every claim."""
    d = design_counts(r.verdicts)
    if not len(d):
        return method_text()
    rows = "\n".join(f"* {row.design}: {row.claims}" for row in d.itertuples())
    return (method_text() + f"\n\nThe {r.tested} claims measured at profile `{s.profile.name}`, by design (the ids "
            "are in the table *Every verdict*, column *design*):\n\n" + rows)


def conclusions(s: Setup, r: Results) -> str:
    """The conclusions table as Markdown (its links and code spans render)."""
    return markdown_table(r.claims)


def other_claims(s: Setup, r: Results) -> str:
    """Markdown: the claims that name no conclusion, one row per chapter with the question they answer."""
    t = other_table(r.verdicts)
    if not len(r.verdicts):
        return f"No verdict is stored for profile `{s.profile.name}` and these parameters."
    return markdown_table(t) if len(t) else "Every stored claim names one of the eight conclusions."


def group_table(s: Setup, r: Results) -> "pd.io.formats.style.Styler":
    """The verdicts per group and kind (:func:`group_counts`): every verdict counted once, the last row the total."""
    return group_counts(r.verdicts).style.hide(axis="index").set_properties(**{"text-align": "left"})


def multiplicity(s: Setup, r: Results) -> str:
    """Markdown: the tested claims, the decisive verdicts chance alone would give, and the Holm-adjusted counts."""
    if not len(r.verdicts):
        return f"No claim was tested at profile `{s.profile.name}`."
    return multiplicity_sentence(r.verdicts, s.profile.name)


def every_verdict(s: Setup, r: Results) -> Any:
    """Every verdict with its interval, the verdict as shown (with the seeds an inconclusive one would need),
    the verdict after Holm's correction over every measured claim, where it is counted (a conclusion, a
    conclusion it speaks against, or its chapter's question), its scale and regime (a Styler), or
    a Markdown note when none is stored."""
    from IPython.display import Markdown

    if not len(r.verdicts):
        return Markdown(f"No verdict is stored for profile `{s.profile.name}` and these parameters: run chapters "
                        "02-06, 08 and 09 first.")
    v = r.verdicts
    ours = [o + (f" (note: {n})" if isinstance(n, str) and n else "") for o, n in zip(v["ours"], v["note"])]
    # the thesis's statement stays in each chapter's own verdict table, the designs in their count table: at
    # 1280 px this table must fit the content column
    df = pd.DataFrame({"claim_id": v["claim_id"], "claim": v["claim"], "ours": ours,
                       "difference [interval], seeds": v["test"].map(lambda t: interval_text(t) if _test(t) else ""),
                       "verdict": [shown_verdict(a, _test(b)) for a, b in zip(v["verdict"], v["test"])],
                       "after Holm": v["holm"], "counted under": [bears_label(row) for _, row in v.iterrows()],
                       "scale (regime)": [f"{a} ({b})" if a else b for a, b in zip(v["scale"], v["regime"])],
                       "decided by": v["figure"]})
    return with_badges(with_badges(df.style.hide(axis="index"), "after Holm")
                       .set_properties(**{"text-align": "left", "vertical-align": "top"}))


def counts(s: Setup, r: Results) -> "pd.io.formats.style.Styler":
    """Stored verdicts per chapter and kind (:func:`verdict_counts`)."""
    return verdict_counts(r.verdicts).style.hide(axis="index")


def regimes(s: Setup, r: Results) -> "pd.io.formats.style.Styler":
    """Verdicts grouped by how close to the thesis's regime they were measured (:func:`regime_counts`)."""
    return regime_counts(r.verdicts).style.hide(axis="index").set_properties(**{"text-align": "left"})


def summary(s: Setup, r: Results) -> "pd.io.formats.style.Styler":
    """The headline count: verdicts stored, per kind, claims tested, decisive verdicts and those chance alone
    would give, the Holm-adjusted counts, conclusions of 7.1 with a verdict, chapters missing or stale and
    pairs of claims testing the same numbers."""
    v = r.verdicts
    c = v["verdict"].value_counts() if len(v) else pd.Series(dtype=int)
    h = v["holm"].value_counts() if len(v) else pd.Series(dtype=int)
    return pd.DataFrame({
        "": ["verdicts stored", *[f"  {k}" for k in VERDICTS], "claims tested (measured)",
             "decisive (held or not held)", f"decisive by chance alone with no effect (claims × {ALPHA:g})",
             "held after Holm", "not held after Holm", "conclusions of 7.1 with a verdict", "chapters missing or stale",
             "pairs of claims testing the same numbers"],
        "count": [len(v), *[int(c.get(k, 0)) for k in VERDICTS], r.tested, decisive(v),
                  f"{chance_decisive(r.tested):.1f}", int(h.get(HELD, 0)), int(h.get(NOT_HELD, 0)),
                  f"{r.measured} of {len(r.claims)}", len(r.problems), len(r.duplicates)],
    }).style.hide(axis="index")


# ------------------------------------------------------------------------------------- what we changed
@dataclass(frozen=True)
class Design:
    """What each chapter of :data:`SOURCES` runs at this page's profile: its setup (``setups``) and the
    configs its plan lists (``runs``). Every sentence :func:`changes` says about a chapter's design is
    read from here."""

    setups: dict[str, Any]
    runs: dict[str, list[TrainConfig]]


def design(s: Setup) -> Design:
    """Each source chapter's setup at this page's profile (and seed) and the runs of its plan. A chapter
    that cannot be set up or planned raises: the page must not describe a design it could not read."""
    setups, runs = {}, {}
    for key in SOURCES:
        mod = registry.module(key)
        setups[key] = mod.setup(**_chapter_kwargs(mod, s))
        runs[key] = [c for stage in mod.plan(setups[key]) for c in stage]
    return Design(setups, runs)


#: CIFAR-10's training and test images: what a data size of 0 ("all of the split") means, and what the thesis uses.
CIFAR10_SPLIT = (50_000, 10_000)
#: How the text names each model family.
FAMILY_NAMES = {"mlp": "the MLPs", "resnet": "the ResNet", "vit": "the ViT"}
SCOPE_WORDS = {"global": "one global ranking", "layer": "the same fraction per layer"}


def family(cfg: TrainConfig) -> str:
    """"resnet", "vit" or "mlp": the family of a run's architecture, from its name."""
    arch = cfg.model.arch
    return "resnet" if arch.startswith("resnet") else "vit" if arch.startswith("vit") else "mlp"


def _n(x: int) -> str:
    return f"{x:,d}"


def _list(items: Sequence[str]) -> str:
    """"a", "a and b", "a, b and c"."""
    items = list(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _chapters(keys: Iterable[str]) -> str:
    """"chapter 5" or "chapters 2, 3 and 8"."""
    ks = sorted(set(keys))
    return ("chapter " if len(ks) == 1 else "chapters ") + _list([str(int(k)) for k in ks])


def _families(fams: Iterable[str]) -> str:
    order = list(FAMILY_NAMES)
    return _list([FAMILY_NAMES[f] for f in sorted(set(fams), key=order.index)])


def _by(d: Design, what: Any, keys: Iterable[str] | None = None) -> dict[Any, set[str]]:
    """Value -> the chapters (of ``keys``, default all) with a run for which ``what(config)`` gives that value
    (None: the run takes no part)."""
    out: dict[Any, set[str]] = defaultdict(set)
    for key in keys if keys is not None else d.runs:
        for c in d.runs[key]:
            v = what(c)
            if v is not None:
                out[v].add(key)
    return out


def _merged(groups: Mapping[tuple, set[str]]) -> dict[tuple, tuple[set[str], set[str]]]:
    """(family, *rest) -> chapters, merged over families that share rest and chapters: rest -> (families, chapters)."""
    out: dict[tuple, tuple[set[str], set[str]]] = {}
    for (fam, *rest), chs in sorted(groups.items(), key=str):
        k = (*rest, tuple(sorted(chs)))
        fams, _ = out.get(k, (set(), set()))
        out[k] = (fams | {fam}, set(chs))
    return out


def _stats_item(d: Design) -> str:
    """Which training images the per-sample gradient statistics use, per family, from the runs' stats configs."""
    groups = _by(d, lambda c: (family(c), c.stats.max_samples, c.data.n_train or CIFAR10_SPLIT[0])
                 if c.stats.every else None)
    every = sorted({c.stats.every for runs in d.runs.values() for c in runs if c.stats.every})
    by_sample: dict[int, list[str]] = defaultdict(list)
    for (ms, n, chs), (fams, _) in _merged(groups).items():
        part = f"{_n(n)} for {_families(fams)} in {_chapters(chs)}"
        by_sample[ms if ms and ms < n else 0].append(f"of {part}" if ms and ms < n else part)
    parts = [(f"the first {_n(ms)} training images" if ms else "all training images") + f" ({'; '.join(where)})"
             for ms, where in sorted(by_sample.items())]
    when = "every epoch" if every == [1] else ", ".join(f"every {e} epochs" for e in every)
    return (f"**Gradient statistics on a sample.** Per-sample gradients over {'; '.join(parts)}, after {when}; the "
            "thesis computes them over the entire training set.")


def _batch_item(d: Design) -> str:
    sizes = _by(d, lambda c: c.batch_size)
    if len(sizes) == 1:
        (b, _), = sizes.items()
        return f"**Batch size.** {b} in every chapter's runs; the thesis does not give one."
    return "**Batch size.** " + "; ".join(f"{b} in {_chapters(chs)}" for b, chs in sorted(sizes.items())) + \
        "; the thesis does not give one."


def _vit_shape(arch: str) -> str:
    """'embedding 64, depth 2, 4 heads of 16, feed-forward 128' of a ViT of :data:`lib.models.ARCHS`."""
    from ..models import ModelConfig, build_model

    m = build_model(ModelConfig(arch=arch))
    b = m.blocks[0]
    return (f"embedding {m.patch_embed.out_features}, depth {len(m.blocks)}, {b.attn.heads} heads of "
            f"{b.attn.dim_head}, feed-forward {b.ff.hidden.out_features}")


def _vit_item(d: Design) -> str:
    archs = _by(d, lambda c: c.model.arch if family(c) == "vit" else None)
    shapes = "; ".join(f"`{a}` ({_chapters(chs)}): {_vit_shape(a)}" for a, chs in sorted(archs.items()))
    return (f"**ViT width.** {shapes}; the thesis gives patch 4, depth 6, 8 heads and feed-forward width 512, but no "
            "embedding width.")


def _weights(arch: str) -> str:
    from ..models import ModelConfig, build_model, count_weights

    return f"{count_weights(build_model(ModelConfig(arch=arch)))[0] / 1e6:.2f} M weights"


def _start(c: TrainConfig) -> str:
    """How a masked child starts: from another run's weights, or from a seed relative to its parent's."""
    if c.init_from is not None:
        return "from another run's trained weights"
    off = c.seed - c.mask.parent.seed
    if off == 0:
        return "from their parent's own initialisation (the parent's seed, the network their mask scored)"
    return f"from a fresh initialisation (the parent's seed + {off})"


def _starts_text(d: Design) -> str:
    """How the children of every pruning chapter start, from their configs: the most common way, then the
    children that start otherwise, by chapter and mask method."""
    starts: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    runs: dict[str, int] = defaultdict(int)
    for key, cs in d.runs.items():
        for c in cs:
            if c.mask is not None:
                starts[_start(c)][key].add(c.mask.method)
                runs[_start(c)] += 1
    if not starts:
        return "no chapter prunes at this profile"
    main, *others = sorted(starts, key=lambda k: -runs[k])
    text = f"children start {main} in {_chapters(starts[main])}"
    for o in others:
        text += "; " + "; ".join(f"the {_list(sorted(ms))} children of {_chapters([k])} start {o}"
                                 for k, ms in sorted(starts[o].items()))
    return text


def _dense_text(d: Design) -> str:
    """Where the dense comparison ``none`` runs: unpruned runs that are not one of the chapter's parents, with
    the seeds of the chapter's children or others."""
    out = []
    for key, cs in d.runs.items():
        parents = set(d.setups[key].seeds)
        children = {c.seed for c in cs if c.mask is not None}
        dense = {c.seed for c in cs if c.mask is None and c.init_from is None and c.seed not in parents}
        if children and dense:
            out.append((key, dense <= children))
    same = [k for k, ok in out if ok]
    text = (f"the dense comparison `none` of {_chapters(same)} is an unpruned run with its children's seeds, trained "
            "like them") if same else ""
    other = [k for k, ok in out if not ok]
    if other:
        text += ("; " if text else "") + f"in {_chapters(other)} it has seeds of its own"
    return text


def _scopes_text(d: Design) -> str:
    """Each pruning chapter's mask scopes from its runs: global ranking (with its per-tensor floor by family)
    and the same fraction per layer, naming the mask methods when a scope holds only some of them."""
    parts = []
    for key, cs in d.runs.items():
        masked = [c for c in cs if c.mask is not None]
        if not masked:
            continue
        methods = {c.mask.method for c in masked}
        items = []
        for scope in sorted({c.mask.scope for c in masked}, key=list(SCOPE_WORDS).index):
            mine = [c for c in masked if c.mask.scope == scope]
            text = SCOPE_WORDS[scope]
            only = {c.mask.method for c in mine}
            if only != methods:
                text += f" ({_list(sorted(only))} only)"
            if scope == "global":
                floors: dict[float, set[str]] = defaultdict(set)
                for c in mine:
                    floors[c.mask.floor].add(family(c))
                if len(floors) == 1:
                    (f, _), = floors.items()
                    text += f" with a {f:.0%} floor per tensor" if f else " with no floor"
                else:
                    text += " with a per-tensor floor of " + ", ".join(
                        f"{f:.0%} for {_families(fams)}" for f, fams in sorted(floors.items()))
            items.append(text)
        parts.append(f"{_chapters([key])}: {_list(items)}")
    return "mask scopes, " + "; ".join(parts) if parts else ""


def _dense_kinds(model: Any, pruned: set[str], min_size: int) -> list[str]:
    """What the weight tensors (parameters of two or more dimensions) a mask leaves dense are: the
    classifier head (the last ``nn.Linear``), tensors under ``min_size`` weights, and the others by name."""
    from torch import nn

    head = next((n for n, m in reversed(list(model.named_modules())) if isinstance(m, nn.Linear)), None)
    dense = [(n, p.numel()) for n, p in model.named_parameters() if p.dim() >= 2 and n not in pruned]
    kinds = ["the classifier head"] if any(n == f"{head}.weight" for n, _ in dense) else []
    layers = {f"{n}.weight" for n, m in model.named_modules() if isinstance(m, (nn.Linear, nn.Conv2d))}
    small = [n for n, k in dense if n != f"{head}.weight" and n in layers and k < min_size]
    if small:
        kinds.append(f"{len(small)} tensor{'s' if len(small) > 1 else ''} under {_n(min_size)} weights")
    kinds += [f"`{n}`" for n, k in dense if n != f"{head}.weight" and n not in small]
    return kinds


def _dense_tensors_text(d: Design) -> str:
    """Per architecture that is pruned: how many of its weight tensors its masks prune and which stay dense,
    with their share of its weights (:func:`lib.masks.prunable` on the smallest model of the runs, with the
    masks' ``min_size``)."""
    from ..masks import default_min_size, prunable
    from ..models import build_model

    models: dict[tuple[str, int], Any] = {}
    for cs in d.runs.values():
        for c in cs:
            if c.mask is not None:
                key = (c.model.arch, c.mask.min_size)
                if key not in models or getattr(c.model, "width", 0) < getattr(models[key], "width", 0):
                    models[key] = c.model
    parts = []
    for (arch, min_size), mc in sorted(models.items()):
        m = build_model(mc)
        pruned = set(prunable(m, min_size or None))
        weights = {n: p.numel() for n, p in m.named_parameters() if p.dim() >= 2}
        dense = [n for n in weights if n not in pruned]
        if not dense:
            parts.append(f"`{arch}`: every weight tensor, the head included")
            continue
        share = sum(weights[n] for n in dense) / sum(weights.values())
        kinds = _dense_kinds(m, pruned, min_size or default_min_size(m))
        parts.append(f"`{arch}`: {len(pruned)} of its {len(weights)} weight tensors, leaving {_list(kinds)} dense "
                     f"({share:.1%} of its weights)")
    return "the masks prune " + "; ".join(parts) if parts else ""


def _mask_item(d: Design) -> str:
    parts = [t for t in (_starts_text(d), _dense_text(d), _scopes_text(d), _dense_tensors_text(d)) if t]
    text = " ".join(f"{t[0].upper()}{t[1:]}." for t in parts)
    return (f"**Mask choices the thesis leaves open.** {text} Children keep their mask at zero throughout; equal "
            "scores at the cut are ordered by a seeded permutation.")


def _optim_item(d: Design) -> str:
    opts = _by(d, lambda c: (family(c), c.optim.name, c.optim.momentum, c.optim.weight_decay))
    names: dict[str, set[str]] = defaultdict(set)
    extras = set()
    for fam, name, mom, wd in opts:
        names[name].add(fam)
        if name == "sgd":
            extras.add((mom, wd))
    text = "; ".join(f"{name.upper() if name == 'sgd' else name.capitalize()} for {_families(fams)}"
                     for name, fams in sorted(names.items()))
    if extras:
        text += "; SGD " + ("without momentum or weight decay" if extras == {(0.0, 0.0)} else
                            "with " + ", ".join(f"momentum {m:g} and weight decay {w:g}" for m, w in sorted(extras)))
    return (f"**Optimisers and measurement.** {text}, each at a constant learning rate; coherence is measured with "
            "BatchNorm in eval mode and reported unscaled.")


def _seeds_item(d: Design) -> str:
    groups: dict[tuple[int, ...], set[str]] = defaultdict(set)
    for key, cs in d.setups.items():
        groups[tuple(cs.seeds)].add(key)
    text = "; ".join(f"{len(sd)} seeds {list(sd)} in {_chapters(chs)}" for sd, chs in sorted(groups.items()))
    return (f"**Seeds.** {text}, where the thesis reports one run per setting; every verdict is decided over these "
            "seeds (see *How a verdict is decided*).")


def _data_item(d: Design) -> str | None:
    """The training / test images per family and chapter, from the runs' data configs; None when every run
    uses all of CIFAR-10's split (or as many Gaussian images), as the thesis does."""
    groups = _by(d, lambda c: (family(c), c.data.n_train or CIFAR10_SPLIT[0], c.data.n_test or CIFAR10_SPLIT[1]))
    if all((n, t) == CIFAR10_SPLIT for (_, n, t) in groups):
        return None
    parts = [f"{_n(n)} / {_n(t)} for {_families(fams)} ({_chapters(chs)})"
             for (n, t, _), (fams, chs) in _merged(groups).items()]
    seeds = {c.data.seed for cs in d.runs.values() for c in cs if c.data.dataset == "cifar10"}
    drawn = (f"each subset is drawn once (data seed {seeds.pop()}) and shared by every run that uses it"
             if len(seeds) == 1 else f"the subsets are drawn with data seeds {sorted(seeds)}")
    return (f"**Data subsets.** Training / test images: {'; '.join(parts)}, against all {_n(CIFAR10_SPLIT[0])} / "
            f"{_n(CIFAR10_SPLIT[1])} in the thesis; {drawn}.")


@dataclass(frozen=True)
class Setting:
    """A setting the thesis states, read from the runs of one chapter: its label, the chapter, the runs it
    covers (model family and dataset; None: any), the config attribute and the thesis's value."""

    label: str
    chapter: str
    family: str | None
    dataset: str | None
    attribute: str  # "epochs" or "lr"
    thesis: float


#: The epochs and learning rates the thesis states (its chapters 2, 4, 5 and 6).
SETTINGS: tuple[Setting, ...] = (
    Setting("ResNet epochs on real data", "02", "resnet", "cifar10", "epochs", 300),
    Setting("ViT epochs on real data", "02", "vit", "cifar10", "epochs", 200),
    Setting("epochs on Gaussian data", "02", None, "gaussian", "epochs", 1000),
    Setting("MLP epochs", "04", "mlp", "cifar10", "epochs", 200),
    Setting("pruning epochs", "06", None, "cifar10", "epochs", 300),
    Setting("ResNet SGD learning rate", "02", "resnet", None, "lr", 0.1),
    Setting("ResNet SGD learning rate", "06", "resnet", None, "lr", 0.5),
    Setting("ViT Adam learning rate", "02", "vit", None, "lr", 1e-4),
    Setting("MLP Adam learning rate", "04", "mlp", None, "lr", 1e-4),
)


def setting_values(d: Design, st: Setting) -> list[float]:
    """The values of ``st`` over the runs of its chapter (sorted, distinct)."""
    def value(c: TrainConfig) -> float:
        return c.epochs if st.attribute == "epochs" else c.optim.lr

    return sorted({value(c) for c in d.runs[st.chapter] if (st.family in (None, family(c)))
                   and (st.dataset in (None, c.data.dataset))})


def _differs(d: Design, attribute: str) -> list[str]:
    """"label (chapter N) ours (thesis X)" for each setting of ``attribute`` whose runs depart from the thesis."""
    out = []
    for st in SETTINGS:
        if st.attribute != attribute:
            continue
        have = setting_values(d, st)
        if have != [st.thesis]:
            out.append(f"{st.label} ({_chapters([st.chapter])}) {', '.join(f'{x:g}' for x in have)} "
                       f"(thesis {st.thesis:g})")
    return out


def changes(s: Setup) -> list[str]:
    """Every way the profile departs from the thesis, one Markdown item each, read from each chapter's setup
    and the runs its plan lists (:func:`design`): first the choices the thesis leaves open and what differs
    even at ``paper`` (statistics on a sample, batch size, augmentation, the ViT's width, chapter 5's widths,
    parent ratios, mask choices, optimisers, seeds), then what the profile scales down (networks, data
    subsets, epochs, learning rates, widths)."""
    d = design(s)
    paper = profiles.get("paper")
    ch4, ch5 = d.setups["04"], d.setups["05"]
    out = [
        _stats_item(d),
        _batch_item(d),
        "**No data augmentation.** Images are only normalised per channel (`lib.data`); the thesis does not say "
        "whether it augmented its images.",
        _vit_item(d),
        f"**Parent ratios.** The parent-scaling sweep of chapter 5 uses ratios {list(ch5.profile.ratios)}; the thesis "
        "goes up to 62× without listing the steps.",
        _mask_item(d),
        _optim_item(d),
        _seeds_item(d),
    ]
    if sorted(ch5.widths) != sorted(ch4.widths):
        out.insert(4, f"**Chapter 5 widths.** The prune sweep uses widths {list(ch5.widths)} where the thesis "
                   f"prunes the widths of chapter 4 ({list(ch4.widths)} here).")
    resnets = _by(d, lambda c: c.model.arch if family(c) == "resnet" and c.model.arch != paper.arch_cnn else None)
    for arch, chs in sorted(resnets.items()):
        out.append(f"**Smaller ResNet.** `{arch}` ({_weights(arch)}) in {_chapters(chs)} instead of `{paper.arch_cnn}` "
                   f"({_weights(paper.arch_cnn)}), the same family of bottleneck blocks.")
    data = _data_item(d)
    if data:
        out.append(data)
    for name, attribute in (("Epochs", "epochs"), ("Learning rates", "lr")):
        diff = _differs(d, attribute)
        if diff:
            out.append(f"**{name}.** " + "; ".join(diff) + ".")
    base = ch5.base.model.width
    if list(ch4.widths) != list(paper.widths) or base != paper.base_width:
        out.append(f"**Chapter 4 widths.** {list(ch4.widths)} instead of {list(paper.widths)} (read from the thesis's "
                   f"figures, which reach 2,800); chapter 5's parent-scaling base width {base} (thesis "
                   f"{paper.base_width}).")
    return out
