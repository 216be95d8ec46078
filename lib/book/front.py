"""The intro page's first screen, written by the build (:func:`lib.book.execute.write_headline`) from what is
stored, never typed: the scale this copy of the book was computed at (:func:`scale_rows`: each model family's
test accuracy against the thesis's, training images, epochs, seeds, from the runs chapters 2 and 4 read and
:mod:`lib.chapters.thesis`), then the verdicts gathered by chapter 7, counted twice over with every verdict in
exactly one row: per chapter (:func:`chapter_counts`) and per conclusion of thesis section 7.1, side checks and
open questions (:func:`conclusion_counts`); both add up to the number of verdicts.

A "not held" verdict is split in two by the regime its networks reached
(:func:`lib.chapters.conclusions_tables.regime`): measured on networks under half the thesis's accuracy, it may
say more about the smaller setting than about the thesis; otherwise it contradicts the thesis at this scale.
"Not measured" verdicts are those where the profile cannot reach the claim's regime at all.
Chapters without stored verdicts are named (not built yet, or built from other runs), never a crash."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

import pandas as pd

from .. import profiles, runs
from ..chapters import registry, thesis
from ..chapters.figures import figure_anchor, figure_numbers
from ..chapters.conclusions_tables import (CONCLUSION_LINKS, CONCLUSIONS, OPEN_QUESTIONS, REGIMES,
                                           multiplicity_sentence, verdict_counts, weigh)
from ..chapters.seed_tests import HELD, INCONCLUSIVE, NOT_HELD, NOT_MEASURED
from ..plan import configs

# ------------------------------------------------------------------------------------- the kinds counted
#: A not-held verdict whose networks reached less than half the thesis's accuracy (the regime "far from it").
NOT_HELD_FAR = "not held, far from the thesis's regime"
#: Any other not-held verdict: it contradicts the thesis at this scale.
NOT_HELD_CONTRA = "not held: contradicts the thesis"
#: The kinds every count on the first screen uses, in this order.
KINDS: tuple[str, ...] = (HELD, NOT_HELD_CONTRA, NOT_HELD_FAR, INCONCLUSIVE, NOT_MEASURED)
#: What each kind means, for the legend under the counts.
MEANING = {
    HELD: "the paired runs agree with the thesis",
    NOT_HELD_CONTRA: "the runs point the other way, on networks at least half as accurate as the thesis's or where "
                     "no accuracy of the thesis applies",
    NOT_HELD_FAR: "the runs point the other way, but on networks under half as accurate as the thesis's, so the "
                  "smaller setting may explain it",
    INCONCLUSIVE: "the seeds do not decide it either way",
    NOT_MEASURED: "this profile cannot reach the regime the claim is about, so no verdict is given",
}
#: Short column headers of the kinds.
SHORT = {HELD: "held", NOT_HELD_CONTRA: "not held, contradicts the thesis", NOT_HELD_FAR: "not held, far from its regime",
         INCONCLUSIVE: "inconclusive", NOT_MEASURED: "not measured"}
#: Still shorter headers, for the table with a column per kind (:func:`conclusion_table`).
TERSE = {HELD: "held", NOT_HELD_CONTRA: "not held", NOT_HELD_FAR: "not held (far)", INCONCLUSIVE: "inconclusive",
         NOT_MEASURED: "not measured"}
FAR = REGIMES[2]


def kind_of(verdict: str, regime: str) -> str:
    """The kind a verdict is counted as on the first screen (:data:`KINDS`): its verdict word, a not-held one split
    by ``regime`` (:func:`lib.chapters.conclusions_tables.regime`) into :data:`NOT_HELD_FAR` and
    :data:`NOT_HELD_CONTRA`."""
    if verdict == NOT_HELD:
        return NOT_HELD_FAR if regime == FAR else NOT_HELD_CONTRA
    return verdict


def with_kinds(v: pd.DataFrame) -> pd.DataFrame:
    """A gathered table of verdicts (:func:`lib.chapters.ch07_conclusions.gather`) with a ``kind`` column."""
    return v.assign(kind=[kind_of(a, b) for a, b in zip(v["verdict"], v["regime"])]) if len(v) else \
        v.assign(kind=pd.Series(dtype=object))


def _counts(rows: pd.DataFrame) -> dict[str, int]:
    c = rows["kind"].value_counts() if len(rows) else pd.Series(dtype=int)
    return {k: int(c.get(k, 0)) for k in KINDS} | {"total": len(rows)}


def chapter_counts(v: pd.DataFrame, chapters: Sequence[str]) -> pd.DataFrame:
    """One row per chapter of ``chapters`` (then any other chapter with verdicts) and a last row "all": the
    verdicts of each kind (:data:`KINDS`) and their total (:func:`~lib.chapters.conclusions_tables.verdict_counts`
    over ``kind``). ``v``: a table with ``chapter`` and ``kind``."""
    return verdict_counts(v, "kind", KINDS, chapters)


#: The rows of :func:`conclusion_counts` for the verdicts that name no conclusion.
SIDE, OPEN = "side", "open"


def row_of(group: str, chapter: str) -> str:
    """The row of :func:`conclusion_counts` a verdict is counted in: its conclusion's key, else :data:`OPEN` for a
    chapter answering the open questions of section 7.2, :data:`SIDE` for a side check of chapters 2-6."""
    if not group.startswith("chapter "):
        return group
    return OPEN if str(chapter) in OPEN_QUESTIONS else SIDE


def conclusion_counts(v: pd.DataFrame) -> pd.DataFrame:
    """One row per conclusion of section 7.1 (:data:`CONCLUSIONS`), then the side checks and the open questions
    (:func:`row_of`), any unknown group, and "all": the verdicts of each kind and their total, and the
    conclusion's combined verdict (:func:`lib.chapters.conclusions_tables.weigh`). ``v``: a gathered table with
    ``group``, ``chapter``, ``bears``, ``verdict`` and ``kind``. Every verdict is in exactly one row."""
    rowkey = pd.Series([row_of(g, c) for g, c in zip(v["group"], v["chapter"])], index=v.index, dtype=object) \
        if len(v) else pd.Series(dtype=object)
    keys = [c.key for c in CONCLUSIONS] + [SIDE, OPEN]
    keys += sorted(set(rowkey) - set(keys))
    rows = []
    for k in keys:
        mine = v[rowkey == k] if len(v) else v
        combined = "" if k in (SIDE, OPEN) else weigh(mine) if len(mine) else "no claim stored"
        rows.append({"row": k, **_counts(mine), "combined": combined})
    rows.append({"row": "all", **_counts(v), "combined": ""})
    return pd.DataFrame(rows, columns=["row", *KINDS, "total", "combined"])


# ------------------------------------------------------------------------------------- links
#: The HTML id of chapter 7's section on the conclusions (its heading "The conclusions of section 7.1"). Sphinx
#: does not resolve a Markdown link to a heading inside a notebook from another page, so the link is plain HTML.
CONCLUSIONS_SECTION = "the-conclusions-of-section-7-1"


def _html(chapter: str, prefix: str) -> str:
    return f"{prefix}{registry.get(chapter).stem}.html"


def staged_ids(chapter: str) -> set[str]:
    """The figure and table ids (``fig-...``, ``tab-...``) written into chapter ``chapter``'s executed notebook in
    the staged book; empty when it has not been staged."""
    from .layout import staged

    try:
        text = staged(registry.get(chapter).stem).read_text(encoding="utf-8")
    except OSError:
        return set()
    return set(re.findall(r'id=\\?"((?:fig|tab)-[a-z0-9-]+)\\?"', text))


def resolve_anchor(anchor: str, ids: set[str]) -> str:
    """``anchor`` when ``ids`` holds it or is empty (not known: the convention is kept); else the first id that
    extends it ("fig-5-1" -> "fig-5-1-global" where a figure is shown once per mask scope)."""
    if not ids or anchor in ids:
        return anchor
    longer = sorted(i for i in ids if i.startswith(anchor + "-"))
    return longer[0] if longer else anchor


def _ids_reader() -> Any:
    """:func:`staged_ids`, each chapter's notebook read once."""
    seen: dict[str, set[str]] = {}

    def ids(chapter: str) -> set[str]:
        if chapter not in seen:
            seen[chapter] = staged_ids(chapter)
        return seen[chapter]
    return ids


def decided_links(key: str, chapters: Iterable[str], prefix: str = "chapters/",
                  ids: Any = None) -> str:
    """Where conclusion ``key`` is decided, as links: chapter 7's section on the conclusions, then each figure of
    :data:`~lib.chapters.conclusions_tables.CONCLUSION_LINKS` by its anchor (:func:`figure_anchor`), each table to
    its chapter's page, then any other chapter whose claims name the conclusion. ``ids``: chapter -> the ids its
    page holds (:func:`staged_ids`), to find a figure shown in parts (:func:`resolve_anchor`). Figure anchors are plain HTML
    links (Sphinx does not know ids written into a notebook's output, nor, from another page, a notebook's
    headings)."""
    parts = [f'<a href="{_html("07", prefix)}#{CONCLUSIONS_SECTION}">chapter 7</a>']
    listed = set()
    for label, ch in CONCLUSION_LINKS[key]:
        listed.add(ch)
        nums = figure_numbers(label)
        if nums:
            known = ids(ch) if ids else set()
            parts.append("Fig. " + ", ".join(f'<a href="{_html(ch, prefix)}#{resolve_anchor(figure_anchor(n), known)}">'
                                             f'{n}</a>' for n in nums))
        else:
            parts.append(f"[{label}]({prefix}{registry.get(ch).stem}.ipynb)")
    parts += [f"[chapter {int(ch)}]({prefix}{registry.get(ch).stem}.ipynb)" for ch in sorted(set(chapters) - listed)]
    return "; ".join(parts)


# ------------------------------------------------------------------------------------- the scale
@dataclass(frozen=True)
class Scale:
    """One model family at the built profile: what it is, its test accuracy (mean over the seeds whose runs are
    in the cache; None when none is), training images, epochs and seeds, each beside the thesis's
    (``thesis_*``; ``thesis_acc`` None where the thesis gives no number)."""

    family: str
    model: str
    thesis_model: str
    acc: float | None
    acc_note: str
    thesis_acc: float | None
    thesis_acc_note: str
    n_train: int
    thesis_n_train: int
    epochs: int
    thesis_epochs: int
    seeds: int
    runs_found: int


def _final_acc(cfgs: Sequence[Any]) -> tuple[float | None, int]:
    """Mean final test accuracy of the runs of ``cfgs`` that are in the run cache, and how many were found."""
    accs = []
    for cfg in cfgs:
        try:
            accs.append(runs.load(cfg).final()["test_acc"])
        except (runs.RunNotTrained, KeyError, IndexError, ValueError, OSError):
            continue
    return (sum(accs) / len(accs) if accs else None), len(accs)


def _kwargs(mod: Any, profile: str, seed: int) -> dict[str, Any]:
    import dataclasses

    kw: dict[str, Any] = {"profile": profile}
    if "seed" in {f.name for f in dataclasses.fields(mod.Params)}:
        kw["seed"] = seed
    return kw


#: The class of the block that holds the scale and the counts (``_static/front.css`` makes its tables compact).
FRONT_CLASS = "front-screen"
#: The class of the block that holds the per-conclusion table (``_static/front.css``).
CONCLUSIONS_CLASS = "front-conclusions"
FAMILY_NAMES = {"resnet": "ResNet", "vit": "ViT"}
#: The thesis's network of each family, as the thesis names it.
THESIS_NAMES = {"resnet": "ResNet50", "vit": "ViT"}


def scale_rows(profile: str, seed: int = 0) -> list[Scale]:
    """The scale of each model family at ``profile``, read from the plans of chapter 2 (its CIFAR-10 runs from a
    fresh start: ResNet, ViT) and chapter 4 (the widest dense MLP), their runs' final test accuracy from the run
    cache, the thesis's accuracy from :data:`lib.chapters.thesis.PRUNE_TABLES` (the dense network, Tables 6.1 and
    6.2; the thesis plots the MLPs' only) and its data and epochs from the ``paper`` profile (the thesis's
    settings). A chapter that cannot be planned is left out."""
    paper = profiles.get("paper")
    out: list[Scale] = []
    try:
        mod = registry.module("02")
        s = mod.setup(**_kwargs(mod, profile, seed))
        real = [c for c in configs(mod.plan(s)) if c.data.dataset == "cifar10" and c.init_from is None]
    except Exception:  # a chapter that cannot plan at this profile: its row is left out, the page still builds
        real = []
    for fam, arch_field, ep_field in (("resnet", "arch_cnn", "epochs_real_cnn"), ("vit", "arch_vit", "epochs_real_vit")):
        mine = [c for c in real if c.model.arch == getattr(s.profile, arch_field)] if real else []
        if not mine:
            continue
        acc, found = _final_acc(mine)
        key = (fam, "global")
        out.append(Scale(FAMILY_NAMES[fam], mine[0].model.arch, THESIS_NAMES[fam], acc, "",
                         thesis.PRUNE_TABLES[key]["none"][1], f"Table {thesis.TABLE_NUMBERS[key]}",
                         mine[0].data.n_train or 50_000, paper.n_train_large or 50_000, mine[0].epochs,
                         getattr(paper, ep_field), len({c.seed for c in mine}), found))
    try:
        mod = registry.module("04")
        s = mod.setup(**_kwargs(mod, profile, seed))
        mlps = [c for c in configs(mod.plan(s)) if c.model.arch == "mlp"]
    except Exception:
        mlps = []
    if mlps:
        widest = max(c.model.width for c in mlps)
        top = [c for c in mlps if c.model.width == widest]
        acc, found = _final_acc(top)
        out.append(Scale("MLP", f"widths {min(c.model.width for c in mlps):,d}-{widest:,d}",
                         f"up to {max(paper.widths):,d}", acc, f"at width {widest:,d}", None, "plotted only",
                         top[0].data.n_train or 50_000, paper.n_train or 50_000, top[0].epochs, paper.mlp_epochs,
                         len({c.seed for c in top}), found))
    return out


def _acc(x: float | None) -> str:
    return "–" if x is None else f"{x:.2f}"


def scale_table(rows: Sequence[Scale], profile: str = "") -> str:
    """Markdown: a column per family (:func:`scale_rows`, the network in its header) and a row per quantity (test
    accuracy, training images, epochs, seeds), ours first and the thesis's in brackets; short enough for the
    first screen."""
    def ours(r: Scale) -> str:
        if r.acc is None:
            return "not trained yet"
        text = f"**{_acc(r.acc)}**" + (f" {r.acc_note}" if r.acc_note else "")
        return text + (f", {r.runs_found} of {r.seeds} seeds trained" if r.runs_found < r.seeds else "")

    def theirs(r: Scale) -> str:
        return f"thesis {r.thesis_acc:.2f}" if r.thesis_acc is not None else f"thesis: {r.thesis_acc_note}"

    def model(r: Scale) -> str:
        if r.family == "MLP":
            return f"MLPs, {r.model} (thesis {r.thesis_model})"
        return f"{r.family} `{r.model}`"

    head = f"profile `{profile}`" if profile else ""
    lines = [f"| {head} | " + " | ".join(model(r) for r in rows) + " |",
             "|---|" + "---|" * len(rows),
             "| test accuracy | " + " | ".join(f"{ours(r)} ({theirs(r)})" for r in rows) + " |",
             "| training images | " + " | ".join(f"{r.n_train:,d} (thesis {r.thesis_n_train:,d})" for r in rows) + " |",
             "| epochs | " + " | ".join(f"{r.epochs} (thesis {r.thesis_epochs})" for r in rows) + " |",
             "| seeds | " + " | ".join(str(r.seeds) for r in rows) + " |"]
    return "\n".join(lines)


def scale_sources(rows: Sequence[Scale]) -> str:
    """Where the thesis's accuracies come from: "Tables 6.1 and 6.2" (the notes of :func:`scale_rows`)."""
    tables = [r.thesis_acc_note.split()[-1] for r in rows if r.thesis_acc is not None]
    if not tables:
        return ""
    return f"Table{'s' if len(tables) > 1 else ''} " + (" and ".join([", ".join(tables[:-1]), tables[-1]])
                                                       if len(tables) > 1 else tables[0])


# ------------------------------------------------------------------------------------- the page
def _chapter_word(keys: Sequence[str]) -> str:
    ks = [str(int(k)) for k in keys]
    return f"chapter {ks[0]}" if len(ks) == 1 else f"chapters {', '.join(ks[:-1])} and {ks[-1]}"


def uncounted(problems: Sequence[str]) -> tuple[list[str], list[str]]:
    """The chapters chapter 7's problem lines name as not counted: those with no verdicts stored for this build's
    parameters (or that could not be planned), and those whose verdicts are stale (computed from other runs)."""
    missing, stale = [], []
    for p in problems:
        m = re.match(r"chapter (\d\d):", p)
        if m:
            (stale if "stale" in p else missing).append(m.group(1))
    return sorted(set(missing)), sorted(set(stale))


def missing_line(problems: Sequence[str]) -> str:
    """One sentence naming the chapters whose verdicts are not counted (:func:`uncounted`); '' when none."""
    missing, stale = uncounted(problems)
    out = []
    if missing:
        out.append(f"{_chapter_word(sorted(set(missing)))} {'has' if len(set(missing)) == 1 else 'have'} not been "
                   "built at this profile yet")
    if stale:
        out.append(f"the verdicts of {_chapter_word(sorted(set(stale)))} were computed from other runs than "
                   "the chapter lists now")
    return ("**Not counted:** " + "; ".join(out) + " (shown as –).") if out else ""


def found_sentence(c: dict[str, int]) -> str:
    """The counts in one sentence: "132 verdicts: 32 held; 14 not held (5 contradict the thesis, 9 far from its
    regime); 83 inconclusive; 3 not measured at this scale" (bold marks left out here)."""
    nh, contra, far = c[NOT_HELD_CONTRA] + c[NOT_HELD_FAR], c[NOT_HELD_CONTRA], c[NOT_HELD_FAR]
    return (f"**{c['total']} verdicts**: **{c[HELD]} held**; **{nh} not held** ({contra} "
            f"{'contradicts' if contra == 1 else 'contradict'} the thesis, {far} far from its regime); "
            f"{c[INCONCLUSIVE]} inconclusive; {c[NOT_MEASURED]} not measured at this scale")


def chapter_table(t: pd.DataFrame, prefix: str = "chapters/", not_counted: Sequence[str] = ()) -> str:
    """Markdown: :func:`chapter_counts` turned on its side (a column per chapter, linked; a row per kind), so it fits
    beside the scale on the first screen; a chapter in ``not_counted`` shows "–"."""
    body = t[t["chapter"] != "all"]
    heads = [f"[{int(k)}]({prefix}{registry.get(k).stem}.ipynb)" for k in body["chapter"]]
    lines = ["| verdicts, per chapter | " + " | ".join(heads) + " | all |", "|---|" + "---:|" * (len(heads) + 1)]
    total = t[t["chapter"] == "all"].iloc[0]
    for k in [*KINDS, "total"]:
        cells = ["–" if ch in not_counted else str(int(n)) for ch, n in zip(body["chapter"], body[k])]
        name = "**total**" if k == "total" else SHORT[k]
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {int(total[k])} |")
    return "\n".join(lines)


def conclusion_table(t: pd.DataFrame, v: pd.DataFrame, prefix: str = "chapters/", ids: Any = None) -> str:
    """Markdown: :func:`conclusion_counts`, one row per conclusion with its wording, counts, combined verdict and
    links to where it is decided (:func:`decided_links`), then the side checks, the open questions and the total."""
    text = {c.key: c.text for c in CONCLUSIONS}
    side = sorted({c for g, c in zip(v["group"], v["chapter"]) if row_of(g, c) == SIDE}) if len(v) else []
    open_q = sorted({c for g, c in zip(v["group"], v["chapter"]) if row_of(g, c) == OPEN}) if len(v) else []
    label = {SIDE: "Side checks of their chapter (bear on no conclusion)"
                   + (f": {_chapter_word(side)}" if side else ""),
             OPEN: "Open questions of section 7.2" + (f": {_chapter_word(open_q)}" if open_q else "")}
    lines = ["| | conclusion of section 7.1 (our words) | " + " | ".join(TERSE[k] for k in KINDS)
             + " | total | combined | decided in |", "|---|---|" + "---:|" * (len(KINDS) + 1) + "---|---|"]
    for d in t.to_dict("records"):
        key = d["row"]
        chapters = v.loc[v["group"] == key, "chapter"] if len(v) else []
        if key in text:
            first, words, links = key, text[key], decided_links(key, chapters, prefix, ids)
        elif key in label:
            first, words, links = "", label[key], ""
        elif key == "all":
            first, words, links = "", "**all verdicts**", ""
        else:
            first, words, links = key, "not a conclusion of section 7.1", ""
        counts = [str(d[k]) for k in KINDS]
        lines.append(f"| {first} | {words} | " + " | ".join(counts) + f" | {d['total']} | {d['combined']} | {links} |")
    return "\n".join(lines)


def first_screen(profile: str, results: Any, scale: Sequence[Scale], prefix: str = "chapters/") -> str:
    """The intro's generated part: the scale (:func:`scale_table`), the counts (:func:`found_sentence`,
    :func:`chapter_table`, the meaning of each kind), the chapters not counted (:func:`missing_line`), then the
    per-conclusion table (:func:`conclusion_table`). ``results``: chapter 7's
    :class:`~lib.chapters.ch07_conclusions.Results` at ``profile``."""
    from ..chapters.ch07_conclusions import SOURCES

    v = with_kinds(results.verdicts)
    src = scale_sources(scale)
    lines = [f":::{{container}} {FRONT_CLASS}",
             "**The scale of this copy.** The verdicts below are about these networks, not the thesis's"
             + (f" (its accuracies: {src})" if src else "") + ":", "",
             scale_table(scale, profile) if scale else "*No chapter could be planned at this profile.*", ""]
    missing = missing_line(results.problems)
    not_counted = [k for keys in uncounted(results.problems) for k in keys]
    if not len(v):
        lines += [f"*No verdict is stored yet for profile `{profile}`: build the book (`make book`) and this "
                  "section counts them.*"]
        if missing:
            lines += ["", missing]
        return "\n".join([*lines, ":::"])
    per_chapter = chapter_counts(v, SOURCES)
    total = per_chapter[per_chapter["chapter"] == "all"].iloc[0]
    lines += [f"**Found:** {found_sentence(total.to_dict())}.", ""]
    if missing:
        lines += [missing, ""]
    lines += [chapter_table(per_chapter, prefix, not_counted), ":::", ""]
    if results.duplicates:
        lines += [f"**{len(results.duplicates)} pair(s) of claims test the same numbers**: chapter 7 lists them.", ""]
    lines += ["Meaning of each kind: " + "; ".join(f"*{SHORT[k]}*: {MEANING[k]}" for k in KINDS) + ".", "",
              multiplicity_sentence(v, profile), "",
              "## What the reproduction found, per conclusion", "",
              "Each verdict counts once: towards the conclusion of the thesis its claim bears on, or as a side "
              "check of its chapter, or as an answer to one of the thesis's open questions. The rows add up to the "
              "total; *not held (far)* counts the verdicts not held far from the thesis's regime, and *combined* joins "
              "the verdicts of a conclusion's claims (those against it listed after).", "",
              f":::{{container}} {CONCLUSIONS_CLASS}", conclusion_table(conclusion_counts(v), v, prefix, _ids_reader()),
              ":::"]
    return "\n".join(lines)
