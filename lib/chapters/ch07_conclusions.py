"""Chapter 7: the conclusions of thesis section 7.1 against the verdicts stored by chapters 2-6 and 8-10. Trains nothing.

* The eight conclusions (:data:`lib.chapters.conclusions_tables.CONCLUSIONS`) and the tables over the gathered
  verdicts are in :mod:`lib.chapters.conclusions_tables`, the sentences written from them in
  :mod:`lib.chapters.conclusions_text`, its tables' human headers and number format in
  :mod:`lib.chapters.glossary`; the list of ways a profile departs from the thesis in
  :mod:`lib.chapters.conclusions_design`. All are this chapter's alone. Each claim names, where it is written
  (:class:`lib.chapters.verdicts.Claim`), the conclusion it bears on (``conclusion``, "" for none) and whether a
  held verdict speaks for or against it (``bears``); this page only reads those fields
  (:func:`~lib.chapters.conclusions_tables.group_of`). Claims that bear on none are gathered under their
  chapter's question: chapters 8, 9 and 10 answer the open questions of section 7.2, the others are side checks.
* :func:`results`: the verdicts chapters 02-06 and 08-10 stored for the parameters and runs they have at this
  page's profile (:func:`expected`, :func:`lib.chapters.verdicts.load_for`), gathered (:func:`gather`): each
  with its group, regime, design and Holm-adjusted verdict, and the problems found (chapters missing or
  stale, claims computed from the same numbers (:func:`~lib.chapters.conclusions_tables.duplicate_tests`),
  tests on more replicates than their chapter has seeds). :func:`missing_sources` names the chapters whose
  verdict files are missing or damaged, with the parameters to execute them with; the build runs them first.
* The page's parts in order: :func:`headline`, :func:`problems`, :func:`method`, :func:`conclusions` (the
  table, then generated sentences per conclusion), :func:`other_claims`, :func:`group_table`,
  :func:`multiplicity`, :func:`every_verdict` (one collapsible block per chapter, its scale stated once),
  :func:`regimes`, :func:`changes`, :func:`in_short` and :func:`summary` (:func:`verdicts` is empty: this
  chapter decides no claim). Every sentence about the verdicts is generated from them
  (:func:`~lib.chapters.conclusions_text.what_runs_show`); headers, numbers and missing values follow
  :mod:`lib.chapters.glossary`. Everything :func:`changes` says about a chapter's design is read from that
  chapter's setup and the runs its plan lists (:func:`design`). Chapter links come from
  :data:`lib.chapters.registry.CHAPTERS`.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import pandas as pd
from IPython.display import Markdown

from .. import profiles
from ..plan import Plan, configs
from . import conclusions_design, glossary
from . import params as check
from . import registry
from .conclusions_tables import (CONCLUSIONS, OPEN_QUESTIONS, conclusion_problems, conclusions_table, decided_in,
                                 decisive, design_counts, design_of, duplicate_tests, group_counts, group_of,
                                 holm_column, kinds, method_text, multiplicity_sentence, other_table, regime,
                                 regime_counts, regime_sentence, replicate_problems, tested, weigh)
from .conclusions_text import chapter_block, conclusion_sentences, what_runs_show
from .seed_tests import ALPHA, HELD, NOT_HELD, NOT_MEASURED, VERDICTS, chance_decisive
from .verdicts import Verdict, load_for, run_hashes, unreadable


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


def plan(s: Setup) -> Plan:
    """Nothing: chapter 7 reads the stored verdicts."""
    return []


# ------------------------------------------------------------------------------------- the page
#: The chapters whose verdicts this page gathers.
SOURCES = ("02", "03", "04", "05", "06", "08", "09", "10")


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


def missing_sources(s: Setup) -> dict[str, tuple[dict[str, Any], str]]:
    """The chapters of :data:`SOURCES` with no readable verdicts for this page's parameters
    (:func:`lib.chapters.verdicts.unreadable`: "missing", or "damaged", the file then set aside with a warning
    naming it), each with the papermill parameters that make it store them (its profile and seed, as
    :func:`resolve` reads them) and why. The build executes these chapters before this page."""
    exp, _ = expected(s)
    gone = unreadable(s.profile.name, {k: p for k, (p, _) in exp.items()})
    return {k: (_chapter_kwargs(registry.module(k), s), why) for k, why in gone.items()}


def results(s: Setup) -> Results:
    """The verdicts chapters 02-06, 08 and 09 stored for the parameters and runs they have at this page's
    profile (:func:`lib.chapters.verdicts.load_for`), gathered with each chapter's number of seeds, with
    the chapters missing or stale named."""
    exp, seeds, problems = resolve(s)
    table, more = load_for(s.profile.name, exp)
    return gather(table, [*problems, *more], seeds)


def verdicts(s: Setup, r: Results) -> list[Verdict]:
    """None: chapter 7 decides no claim of its own, it gathers those of chapters 2-6 and 8-10 (the build executes
    it after them)."""
    return []


def headline(s: Setup, r: Results) -> str:
    """Markdown: how many verdicts, from which chapters, of which kind, how many claims were tested and what
    chance alone would give (:func:`multiplicity_sentence`), how many conclusions they reach, and how many
    chapters are missing or stale and pairs of claims test the same numbers."""
    v = r.verdicts
    text = (f"Profile `{s.profile.name}`: **{len(v)} verdicts** stored by chapters "
            f"{', '.join(sorted(v['chapter'].unique())) or 'none'}"
            + (f" ({kinds(v['verdict'])})" if len(v) else "")
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
    return (method_text() + f"\n\nThe {r.tested} claims measured at profile `{s.profile.name}`, by design:\n\n"
            + rows)


def conclusions(s: Setup, r: Results) -> str:
    """Markdown: the conclusions table (its links render; headers per :mod:`lib.chapters.glossary`), then one
    item per conclusion saying what its claims show (:func:`~lib.chapters.conclusions_text.conclusion_sentences`)."""
    return glossary.markdown(r.claims) + "\n\n" + conclusion_sentences(r.verdicts)


def other_claims(s: Setup, r: Results) -> str:
    """Markdown: the claims that name no conclusion, one row per chapter with the question they answer."""
    t = other_table(r.verdicts)
    if not len(r.verdicts):
        return f"No verdict is stored for profile `{s.profile.name}` and these parameters."
    return glossary.markdown(t) if len(t) else "Every stored claim names one of the eight conclusions."


def group_table(s: Setup, r: Results) -> "pd.io.formats.style.Styler":
    """The verdicts per group and kind (:func:`group_counts`): every verdict counted once, the last row the total."""
    t = group_counts(r.verdicts)
    return glossary.styled(t.assign(group=t["group"].str.replace(" ", "\u00a0")))  # "chapter 02" on one line


def multiplicity(s: Setup, r: Results) -> str:
    """Markdown: the tested claims, the decisive verdicts chance alone would give, and the Holm-adjusted counts."""
    if not len(r.verdicts):
        return f"No claim was tested at profile `{s.profile.name}`."
    return multiplicity_sentence(r.verdicts, s.profile.name)


def every_verdict(s: Setup, r: Results) -> Markdown:
    """Markdown: every verdict, one collapsible block per chapter in :data:`SOURCES` order
    (:func:`~lib.chapters.conclusions_text.chapter_block`): its one-line count, what its runs show, its scale
    stated once, and a table with each claim's interval, verdict as shown (with the seeds an inconclusive one
    would need), verdict after Holm's correction over every measured claim, the conclusion it counts towards
    and a link to where its chapter decides it; or a note when none is stored."""
    if not len(r.verdicts):
        return Markdown(f"No verdict is stored for profile `{s.profile.name}` and these parameters: run chapters "
                        "02-06 and 08-10 first.")
    v = r.verdicts
    blocks = [chapter_block(v[v["chapter"] == key], key) for key in SOURCES if (v["chapter"] == key).any()]
    blocks += [chapter_block(v[v["chapter"] == key], key) for key in sorted(set(v["chapter"]) - set(SOURCES))]
    return Markdown("\n\n".join(blocks))


def regimes(s: Setup, r: Results) -> "pd.io.formats.style.Styler":
    """Verdicts grouped by how close to the thesis's regime they were measured (:func:`regime_counts`); the
    sentence above it is :func:`regime_text`."""
    return glossary.styled(regime_counts(r.verdicts))


def regime_text(s: Setup, r: Results) -> str:
    """Markdown: how many verdicts name a reference accuracy, in which regimes, and the range of ours / the
    thesis's (:func:`~lib.chapters.conclusions_tables.regime_sentence`)."""
    return regime_sentence(r.verdicts)


def in_short(s: Setup, r: Results) -> str:
    """Markdown: what every stored verdict together shows (:func:`~lib.chapters.conclusions_text.what_runs_show`
    over all of them), or that none is stored."""
    if not len(r.verdicts):
        return f"No verdict is stored for profile `{s.profile.name}`."
    return f"At profile `{s.profile.name}`: " + what_runs_show(r.verdicts)


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
    }).style.hide(axis="index").set_table_attributes(f'class="{glossary.READABLE}"')


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
                     f"{decided_in(c.key, mine['chapter'], prefix)} |")
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
        per = "; ".join(f"[chapter {int(ch)}]({prefix}{registry.get(ch).stem}.ipynb): {len(g)} ({kinds(g['verdict'])})"
                        for ch, g in mine.groupby("chapter", sort=True))
        parts.append(f"{len(mine)} {label}" + (f" ({per})" if per else ""))
    return (f"Of the {len(v)} verdicts, " + ", ".join(parts)
            + f": {len(on)} + {len(open_q)} + {len(side)} = {len(on) + len(open_q) + len(side)}.")


# ------------------------------------------------------------------------------------- what we changed
def design(s: Setup) -> conclusions_design.Design:
    """Each source chapter's setup at this page's profile (and seed) and the runs of its plan (not the language
    model's chapter: the thesis has no setting for it to depart from). A chapter
    that cannot be set up or planned raises: the page must not describe a design it could not read."""
    setups, runs = {}, {}
    for key in SOURCES:
        if registry.get(key).text:  # a language model: no setting of the thesis to depart from
            continue
        mod = registry.module(key)
        setups[key] = mod.setup(**_chapter_kwargs(mod, s))
        runs[key] = configs(mod.plan(setups[key]))
    return conclusions_design.Design(setups, runs)


def changes(s: Setup) -> list[str]:
    """Every way the profile departs from the thesis, one Markdown item each, read from each chapter's setup
    and the runs its plan lists (:func:`design`; the sentences: :func:`lib.chapters.conclusions_design.changes`):
    first the choices the thesis leaves open and what differs even at ``paper``, then what the profile scales
    down."""
    return conclusions_design.changes(design(s))
