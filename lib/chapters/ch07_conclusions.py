"""Chapter 7: the conclusions of thesis section 7.1 against the verdicts stored by chapters 2-6, 8 and 9. Trains nothing.

* :data:`CONCLUSIONS`: the eight conclusions of section 7.1, in our words, with the figures that decide each.
* :func:`assign`: every stored verdict attached to the conclusion it bears on (fixed ids in
  :data:`EXPLICIT`, else by the figure it names, then by its wording).
* :func:`results`: the verdicts chapters 02-06, 08 and 09 stored for the parameters and runs they have at this
  page's profile (:func:`expected`, :func:`lib.chapters.verdicts.load_for`), with their conclusion and
  :func:`regime`, and the chapters whose verdicts are missing or stale.
* The page's tables in order: :func:`headline`, :func:`problems`, :func:`conclusions`, :func:`every_verdict`,
  :func:`counts`, :func:`regimes`, :func:`changes`, :func:`summary` (:func:`verdicts` is empty: this
  chapter decides no claim). Chapter links come from :data:`lib.chapters.registry.CHAPTERS`.
"""
from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import Any, Sequence

import pandas as pd

from .. import profiles
from ..config import Stages
from . import params as check
from . import registry
from .verdicts import INCONCLUSIVE, VERDICTS, Verdict, combine, interval_text, load_for, run_hashes, with_badges

NOT_MEASURED = "not measured at this scale"


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
    """One conclusion of thesis section 7.1, in our words, and the figures that decide it."""

    key: str
    text: str
    figures: tuple[str, ...]   # e.g. ("2.1", "2.2", "2.4"), thesis numbering
    words: str = ""            # regex on a verdict's id and claim (lower case) that must match for
                               # the verdict to count towards this conclusion (see :func:`assign`)


CONCLUSIONS: tuple[Conclusion, ...] = (
    Conclusion("C1", "Coherence is different on real and on random (Gaussian) data, whether training starts from a "
               "random initialisation or from weights already trained on real data", ("2.1", "2.2", "2.3", "2.4"),
               r"coheren"),
    Conclusion("C2", "Diffs are spread more widely at the epoch of highest coherence than at the epoch of lowest "
               "coherence", ("3.1", "3.2"), r"wider|spread"),
    Conclusion("C3", "Diffs are not clearly larger on real data than on random data, which weakens the link between "
               "diffs and coherence", ("3.1", "3.2"), r"real|gaussian|random.data|noise"),
    Conclusion("C4", "The (maximum) coherence of a fully-connected network grows with its width", ("4.1", "4.2", "4.3"),
               r"coheren"),
    Conclusion("C5", "A higher maximum coherence does not come with wider diffs: the widest MLP has the narrowest "
               "diff distribution", ("4.4",), r"diff"),
    Conclusion("C6", "A pruned MLP generalises better than a dense MLP with the same number of nonzero weights (lower "
               "training accuracy, higher test accuracy, smaller gap)", ("5.1", "5.2"), r"sparse|dense|pruned"),
    Conclusion("C7", "Growing the dense parent improves a pruned child of fixed nonzero size", ("5.3",), r"parent"),
    Conclusion("C8", "Diff pruning beats random pruning but loses to magnitude pruning on MLPs and on the ResNet; on "
               "the ViT it works well", ("5.1", "5.2", "5.3", "6.1", "6.2", "6.5", "6.6"),
               r"magnitude|diff|random|coherence_best|criteri"),
)

#: Where each conclusion is decided: (link text, chapter key) pairs for the claims table.
CONCLUSION_LINKS = {
    "C1": [("Figures 2.1-2.4", "02")], "C2": [("Figures 3.1, 3.2", "03")], "C3": [("Figures 3.1, 3.2", "03")],
    "C4": [("Figure 4.3", "04")], "C5": [("Figure 4.4", "04")], "C6": [("Figures 5.1, 5.2", "05")],
    "C7": [("Figure 5.3", "05")], "C8": [("Figures 5.1-5.3", "05"), ("Tables 6.1, 6.2, 6.5, 6.6", "06")],
}

#: Verdict ids (regular expressions, matched in order) whose conclusion is fixed. "" = bears on none of the
#: eight (e.g. chapter 6's floor claims, the gravity check of chapter 2). Chapters may add a scope or
#: architecture suffix to an id (``-global``, ``-layer``, ``-resnet``, ...): the patterns allow one where a
#: chapter may split a claim. Ids not listed fall back to :func:`assign`'s rule (figure, then wording).
_SUFFIX = r"(-[a-z0-9]+)*$"
EXPLICIT: tuple[tuple[str, str], ...] = (
    # chapter 2
    (r"^2-\w+-(peak|early|late)-coherence-", "C1"), (r"^2-\w+-fresh-real-gt-trained-gaussian", "C1"),
    (r"^2-.*(memoris|magnitudes|gravity)", ""),
    # chapter 3
    (r"^3-diffs-wider-at-max-coherence", "C2"), (r"^3-gaussian-diffs-(not-smaller|similar-to-real)", "C3"),
    (r"^3-(diffs-(centred|roughly-normal)|vit-gaussian-diff-spikes|\w+-high-low-diff-move-alike)", ""),
    # chapter 4 (4.2 "coherence much smaller for fully-connected networks" bears on none of the eight)
    (r"^4-coherence-grows-with-width", "C4"), (r"^4-diffs-narrow-with-width", "C5"),
    (r"^4-diffs?-wider-at-max", "C2"), (r"^4-coherence-(much-)?smaller", ""),
    (r"^4-gap-(grows-with-width|levels-off)", ""),
    # chapter 5 (ids may end in a mask scope, e.g. -global / -layer)
    (r"^5-sparse-(beats-dense|smaller-gap|lower-train)" + _SUFFIX, "C6"),
    (r"^5-(pruned|sparse)-.*(train|test|gap|dense)", "C6"),
    (r"^5-parent-(scaling-helps|size|params|60m)", "C7"),
    (r"^5-(magnitude-beats-diff|random-weak-at-high-sparsity|random-(best|highest)|diff-beats-random)", "C8"),
    (r"^5-(random-smallest-gap|diff-smaller-gap-narrow)" + _SUFFIX, ""),
    # chapter 6
    (r"^6-(resnet-magnitude-best-wins-global|resnet-magnitude-beats-diff-(global|layer)|resnet-diff-beats-random|"
     r"vit-diff-(wins-global|competitive|matches-dense-global|best-layer))$", "C8"),
    (r"^6-", ""),
)

_FIG = re.compile(r"(\d+)\.(\d+)")


def figures_named(text: str) -> list[str]:
    """Thesis figure/table numbers in a verdict's ``figure`` field: "Figures 2.1, 2.2" -> ["2.1", "2.2"];
    "Figures 2.1-2.4" -> ["2.1", "2.2", "2.3", "2.4"]."""
    out: list[str] = []
    for part in re.split(r"[,;/&]| and ", str(text)):
        nums = _FIG.findall(part)
        if len(nums) == 2 and nums[0][0] == nums[1][0] and re.search(r"\d\s*[-–]\s*\d", part):
            out += [f"{nums[0][0]}.{i}" for i in range(int(nums[0][1]), int(nums[1][1]) + 1)]
        else:
            out += [f"{a}.{b}" for a, b in nums]
    return out


def _conclusion_of(row: pd.Series) -> str:
    fixed = next((k for pat, k in EXPLICIT if re.search(pat, str(row.get("claim_id", "")))), None)
    if fixed is not None:
        return fixed
    figs = figures_named(row.get("figure", ""))
    chap = str(row.get("chapter", "")).zfill(2)
    cands = [c for c in CONCLUSIONS if set(figs) & set(c.figures)] if figs else \
        [c for c in CONCLUSIONS if any(f.split(".")[0].zfill(2) == chap for f in c.figures)]
    text = f"{row.get('claim_id', '')} {row.get('claim', '')}".lower()
    hit = [c for c in cands if re.search(c.words, text)]
    return hit[0].key if hit else ""


def assign(verdicts: pd.DataFrame) -> pd.Series:
    """For each verdict row (columns of :class:`lib.chapters.verdicts.Verdict`), the key of the section-7.1
    conclusion it bears on, or "" when none. Ids in :data:`EXPLICIT` are fixed. Otherwise the conclusions
    that list a figure the verdict names (with no figure named: those of its chapter) are tried in order,
    and the first whose ``words`` match the verdict's id or claim wins; none matching gives ""."""
    return pd.Series([_conclusion_of(row) for _, row in verdicts.iterrows()], index=verdicts.index, dtype=object)


def link(text: str, chapter: str) -> str:
    """A Markdown link with ``text`` to chapter ``chapter``'s notebook (its stem from the registry)."""
    return f"[{text}]({registry.get(chapter).stem}.ipynb)"


def conclusions_table(verdicts: pd.DataFrame) -> pd.DataFrame:
    """One row per conclusion of section 7.1: our wording, where it is decided (Markdown links to the
    chapter notebooks), what our runs show (each matched verdict's claim and numbers), and the verdict
    (:func:`lib.chapters.verdicts.combine`). No matched verdict: "not measured at this scale"."""
    keys = assign(verdicts) if len(verdicts) else pd.Series([], dtype=object)
    rows = []
    for c in CONCLUSIONS:
        mine = verdicts[keys == c.key] if len(verdicts) else verdicts
        if not len(mine):
            ours, verdict = "no run at this profile", NOT_MEASURED
        else:
            ours = "<br>".join(f"`{r.claim_id}` ({r.verdict}): {r.ours}" for r in mine.itertuples())
            verdict = combine(list(mine["verdict"]))
        rows.append({"": c.key, "conclusion (thesis 7.1, our words)": c.text,
                     "decided in": ", ".join(link(t, ch) for t, ch in CONCLUSION_LINKS[c.key]),
                     "what our runs show": ours, "verdict": verdict})
    return pd.DataFrame(rows)


def headline_markdown(s: Setup, r: Results, prefix: str = "chapters/") -> str:
    """The book's headline, for the intro page: how many verdicts of which kind are stored at this profile,
    and one line per conclusion of section 7.1 with its combined verdict, the regimes its verdicts were
    measured in and links to the chapters that decide it (``prefix``: the chapters' folder as seen from
    the page). Generated from the stored verdicts only; without any, it says so."""
    v = r.verdicts
    if not len(v):
        return (f"*No verdict is stored yet for profile `{s.profile.name}`: build the book (`make book`) and this "
                "section lists what the reproduction found.*")
    counts = v["verdict"].value_counts()
    lines = [f"At profile `{s.profile.name}` the chapters store **{len(v)} verdicts**: "
             + ", ".join(f"{int(counts.get(k, 0))} {k}" for k in VERDICTS) + "."]
    if r.problems:
        lines[0] += f" {len(r.problems)} chapter(s) are missing or stale (see the conclusions chapter)."
    lines += ["", "| | conclusion of the thesis (section 7.1, our words) | verdict | measured | decided in |",
              "|---|---|---|---|---|"]
    keys = v["conclusion"] if "conclusion" in v else assign(v)
    for c in CONCLUSIONS:
        mine = v[keys == c.key]
        verdict = combine(list(mine["verdict"])) if len(mine) else NOT_MEASURED
        where = sorted(set(mine["regime"])) if "regime" in mine and len(mine) else []
        links = ", ".join(f"[{t}]({prefix}{registry.get(ch).stem}.ipynb)" for t, ch in CONCLUSION_LINKS[c.key])
        lines.append(f"| {c.key} | {c.text} | {verdict} | {'; '.join(where) or '-'} | {links} |")
    new = v[v["chapter"].isin(["08", "09"])]
    if len(new):
        nc = new["verdict"].value_counts()
        lines += ["", f"The questions the thesis left open (chapters [8]({prefix}{registry.get('08').stem}.ipynb) and "
                  f"[9]({prefix}{registry.get('09').stem}.ipynb)) add {len(new)} of these verdicts: "
                  + ", ".join(f"{int(nc.get(k, 0))} {k}" for k in VERDICTS) + "."]
    return "\n".join(lines)


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
    """The verdicts stored for the parameters this page was built with (with ``conclusion`` and ``regime``
    columns), the conclusions table, and the problems found (chapters missing or stale)."""

    verdicts: pd.DataFrame
    claims: pd.DataFrame
    problems: tuple[str, ...] = ()

    @property
    def measured(self) -> int:
        """Conclusions with at least one verdict."""
        return int((self.claims["verdict"] != NOT_MEASURED).sum())


def gather(verdicts: pd.DataFrame, problems: Sequence[str] = ()) -> Results:
    """:class:`Results` from a table of verdicts (rows of :class:`lib.chapters.verdicts.Verdict`)."""
    v = verdicts.assign(conclusion=assign(verdicts) if len(verdicts) else pd.Series(dtype=object),
                        regime=verdicts["scale"].map(regime) if len(verdicts) else pd.Series(dtype=object))
    return Results(v, conclusions_table(v), tuple(problems))


def expected(s: Setup) -> tuple[dict[str, tuple[Any, list[str]]], list[str]]:
    """For each chapter of :data:`SOURCES`: its parameters at this page's profile (and seed, where the
    chapter takes one) and the run hashes its plan lists for them; and a problem line for each chapter
    whose setup or plan fails (the error named)."""
    out, problems = {}, []
    for key in SOURCES:
        try:
            mod = registry.module(key)
            kw: dict[str, Any] = {"profile": s.profile.name}
            if "seed" in {f.name for f in dataclasses.fields(mod.Params)}:
                kw["seed"] = s.params.seed
            cs = mod.setup(**kw)
            out[key] = (cs.params, run_hashes(mod.plan(cs)))
        except Exception as e:  # a chapter that cannot even plan is reported, not fatal to this page
            problems.append(f"chapter {key}: its parameters or plan could not be resolved ({type(e).__name__}: {e})")
    return out, problems


def results(s: Setup) -> Results:
    """The verdicts chapters 02-06 stored for the parameters and runs they have at this page's profile
    (:func:`lib.chapters.verdicts.load_for`), gathered, with the chapters missing or stale named."""
    exp, problems = expected(s)
    table, more = load_for(s.profile.name, exp)
    return gather(table, [*problems, *more])


def verdicts(s: Setup, r: Results) -> list[Verdict]:
    """None: chapter 7 decides no claim of its own, it gathers those of chapters 2-6, 8 and 9 (the build executes it after them)."""
    return []


def headline(s: Setup, r: Results) -> str:
    """Markdown: how many verdicts, from which chapters, of which kind, how many conclusions they reach,
    and how many chapters are missing or stale."""
    v = r.verdicts
    counts = v["verdict"].value_counts() if len(v) else pd.Series(dtype=int)
    return (f"Profile `{s.profile.name}`: **{len(v)} verdicts** stored by chapters "
            f"{', '.join(sorted(v['chapter'].unique())) or 'none'}"
            + (" (" + ", ".join(f"{n} {k}" for k, n in counts.items()) + ")" if len(v) else "")
            + f"; **{r.measured} of {len(r.claims)}** conclusions of section 7.1 have at least one verdict"
            + (f"; **{len(r.problems)} chapter(s) missing or stale** (listed below)." if r.problems else "."))


def problems(s: Setup, r: Results) -> str:
    """Markdown: each chapter whose verdicts are missing or stale for this page's parameters, with the
    claims concerned, or a line saying every chapter's verdicts match its current plan."""
    if not r.problems:
        return (f"Every chapter of {', '.join(SOURCES)} has verdicts stored for the parameters of profile "
                f"`{s.profile.name}`, computed from the runs its plan lists now.")
    return "\n".join(f"* {p}" for p in r.problems)


def conclusions(s: Setup, r: Results) -> str:
    """The conclusions table as Markdown (its links and code spans render)."""
    return markdown_table(r.claims)


def _interval(test: Any) -> str:
    return interval_text(test) if isinstance(test, dict) and test else ""


def _shown(verdict: str, test: Any) -> str:
    need = test.get("seeds_needed") if isinstance(test, dict) else None
    if verdict == INCONCLUSIVE:
        return f"{verdict} (≈{need} seeds)" if need else f"{verdict} (no effect seen)"
    return verdict


def every_verdict(s: Setup, r: Results) -> Any:
    """Every verdict with its interval, the scale it was measured at, its regime and the conclusion it counts
    towards (a Styler), or a Markdown note when none is stored."""
    from IPython.display import Markdown

    if not len(r.verdicts):
        return Markdown(f"No verdict is stored for profile `{s.profile.name}` and these parameters: run chapters "
                        "02-06, 08 and 09 first.")
    v = r.verdicts
    df = pd.DataFrame({"chapter": v["chapter"], "claim_id": v["claim_id"], "claim": v["claim"], "thesis": v["thesis"],
                       "ours": v["ours"], "difference [95 % CI]": v["test"].map(_interval),
                       "verdict": [_shown(a, b) for a, b in zip(v["verdict"], v["test"])],
                       "scale": v["scale"], "regime": v["regime"], "decided by": v["figure"],
                       "conclusion": v["conclusion"]})
    return with_badges(df.style.hide(axis="index").set_properties(**{"text-align": "left", "vertical-align": "top"}))


def counts(s: Setup, r: Results) -> "pd.io.formats.style.Styler":
    """Stored verdicts per chapter and kind (:func:`verdict_counts`)."""
    return verdict_counts(r.verdicts).style.hide(axis="index")


def regimes(s: Setup, r: Results) -> "pd.io.formats.style.Styler":
    """Verdicts grouped by how close to the thesis's regime they were measured (:func:`regime_counts`)."""
    return regime_counts(r.verdicts).style.hide(axis="index").set_properties(**{"text-align": "left"})


# ------------------------------------------------------------------------------------- what we changed
def _n(x: int) -> str:
    return "all" if not x else f"{x:,d}"


#: What the thesis states for the profile fields it gives (its chapter 2, 4, 5 and 6 text), and our words
#: for them. Fields it does not state (batch size, the steps of the parent ratios) are covered in :func:`changes`.
THESIS: dict[str, tuple[Any, str]] = {
    "arch_cnn": ("resnet50", "ResNet"),
    "arch_vit": ("vit", "ViT"),
    "n_train": (0, "chapters 4-5 (MLPs)"), "n_train_large": (0, "chapters 2-3 (real and Gaussian data)"),
    "prune_n_train": (0, "chapter 6"),
    "epochs_real_cnn": (300, "ResNet epochs on real data"), "epochs_real_vit": (200, "ViT epochs on real data"),
    "epochs_gaussian": (1000, "epochs on Gaussian data"), "mlp_epochs": (200, "MLP epochs"),
    "prune_epochs": (300, "chapter 6 epochs"),
    "cnn_lr": (0.1, "ResNet SGD learning rate (chapters 2-3)"), "prune_cnn_lr": (0.5, "ResNet SGD learning rate (chapter 6)"),
    "vit_lr": (1e-4, "ViT Adam learning rate"), "mlp_lr": (1e-4, "MLP Adam learning rate"),
    "base_width": (512, "base width of the parent-scaling sweep"),
}


def _differs(p: profiles.Profile, fields: Sequence[str]) -> list[str]:
    """"label ours (thesis X)" for each of ``fields`` where the profile departs from :data:`THESIS`."""
    out = []
    for f in fields:
        want, label = THESIS[f]
        have = getattr(p, f)
        if have != want:
            show = (lambda x: f"{x:g}" if isinstance(x, float) else str(x))
            out.append(f"{label} {show(have)} (thesis {show(want)})")
    return out


def _vit_shape(arch: str) -> str:
    """'embedding 64, depth 2, 4 heads of 16, feed-forward 128' of a ViT of :data:`lib.models.ARCHS`."""
    from ..models import ModelConfig, build_model

    m = build_model(ModelConfig(arch=arch))
    b = m.blocks[0]
    return (f"embedding {m.patch_embed.out_features}, depth {len(m.blocks)}, {b.attn.heads} heads of "
            f"{b.attn.dim_head}, feed-forward {b.ff.hidden.out_features}")


def _weights(arch: str) -> str:
    from ..models import ModelConfig, build_model, count_weights

    return f"{count_weights(build_model(ModelConfig(arch=arch)))[0] / 1e6:.2f} M weights"


def _chapter5_scope() -> str:
    """Chapter 5's mask scope from its parameters (a ``scope``-named one), or its default: global, no floor."""
    try:
        d = registry.defaults("05")
    except Exception:  # a chapter module mid-edit: fall back to the documented default
        d = {}
    scope = {k: v for k, v in d.items() if "scope" in k}
    if scope:
        return "chapter 5 ranks the MLP's weights with " + ", ".join(f"`{k}` = {v!r}" for k, v in scope.items())
    return "chapter 5 ranks the MLP's weights globally with no floor"


def changes(s: Setup) -> list[str]:
    """Every way the profile departs from the thesis, one Markdown item each, generated from the profile:
    first the choices the thesis leaves open and what differs even at ``paper`` (statistics on a sample,
    batch size, augmentation, the ViT's width, chapter 5's widths, parent ratios, mask choices, seeds),
    then the settings the profile scales down (networks, data subsets, epochs, learning rates, widths)."""
    from ..experiments import CHILD_SEED_OFFSET
    from ..masks import DEFAULT_MIN_SIZE

    p, paper = s.profile, profiles.get("paper")
    n_stats = p.stats_max_samples
    n_train = p.n_train_large or 50_000
    out = [
        f"**Gradient statistics on a sample.** Per-sample gradients over the first {_n(n_stats)} training images "
        f"(of {n_train:,d} for the ResNet and ViT), after {'every epoch' if p.stats_every == 1 else f'every {p.stats_every} epochs'}; "
        "the thesis computes them over the entire training set.",
        f"**Batch size.** {p.batch_size} in every chapter; the thesis does not give one.",
        "**No data augmentation.** Images are only normalised per channel (`lib.data`); the thesis does not say "
        "whether it augmented its images.",
        f"**ViT width.** `{p.arch_vit}`: {_vit_shape(p.arch_vit)}; the thesis gives patch 4, depth 6, 8 heads and "
        "feed-forward width 512, but no embedding width.",
        f"**Parent ratios.** The parent-scaling sweep uses ratios {list(p.ratios)}; the thesis goes up to 62× without "
        "listing the steps.",
        f"**Mask choices the thesis leaves open.** Children restart from a fresh initialisation (seed + "
        f"{CHILD_SEED_OFFSET}) and keep their mask at zero throughout; the dense comparison `none` is a fresh run "
        f"trained like the children; {_chapter5_scope()}; in ResNets and ViTs the classifier head, the ViT's patch "
        f"embedding and every tensor under {DEFAULT_MIN_SIZE:,d} weights stay dense (the thesis only says small "
        "layers were skipped); with global ranking each tensor first keeps its best `floor` share; equal scores at the cut "
        "are ordered by a seeded permutation.",
        "**Optimisers and measurement.** SGD runs without momentum or weight decay at a constant learning rate; "
        "coherence is measured with BatchNorm in eval mode and reported unscaled.",
        f"**Seeds.** {len(p.seeds)} seeds {list(p.seeds)} per setting where the thesis reports one run; each verdict "
        "comes from the paired 95 % interval over seeds (held or not held only when it excludes the claim's "
        "boundary, otherwise inconclusive).",
    ]
    if sorted(p.prune_widths) != sorted(p.widths):
        out.insert(4, f"**Chapter 5 widths.** The prune sweep uses widths {list(p.prune_widths)} where the thesis "
                   f"prunes the widths of chapter 4 ({list(p.widths)} here).")
    if p.arch_cnn != THESIS["arch_cnn"][0]:
        out.append(f"**Smaller ResNet.** `{p.arch_cnn}` ({_weights(p.arch_cnn)}) instead of `{paper.arch_cnn}` "
                   f"({_weights(paper.arch_cnn)}), the same family of bottleneck blocks.")
    subsets = [f"{THESIS[f][1]} {_n(getattr(p, f))} / {_n(getattr(p, f.replace('train', 'test')))}"
               for f in ("n_train", "n_train_large", "prune_n_train") if getattr(p, f) or getattr(p, f.replace("train", "test"))]
    if subsets:
        out.append("**Data subsets.** Training / test images: " + "; ".join(subsets) + ", against all 50,000 / 10,000 "
                   "in the thesis; each subset is drawn once and shared by every run of its chapters.")
    groups = {
        "Epochs": ["epochs_real_cnn", "epochs_real_vit", "epochs_gaussian", "mlp_epochs", "prune_epochs"],
        "Learning rates": ["cnn_lr", "prune_cnn_lr", "vit_lr", "mlp_lr"],
    }
    for name, fields in groups.items():
        d = _differs(p, fields)
        if d:
            out.append(f"**{name}.** " + "; ".join(d) + ".")
    if list(p.widths) != list(paper.widths) or p.base_width != paper.base_width:
        out.append(f"**Chapter 4 widths.** {list(p.widths)} instead of {list(paper.widths)} (read from the thesis's "
                   f"figures, which reach 2,800); parent-scaling base width {p.base_width} (thesis "
                   f"{THESIS['base_width'][0]}).")
    return out


def summary(s: Setup, r: Results) -> "pd.io.formats.style.Styler":
    """The headline count: verdicts stored, per kind, conclusions of 7.1 with a verdict, chapters missing or stale."""
    c = r.verdicts["verdict"].value_counts() if len(r.verdicts) else pd.Series(dtype=int)
    return pd.DataFrame({
        "": ["verdicts stored", *[f"  {k}" for k in VERDICTS], "conclusions of 7.1 with a verdict",
             "chapters missing or stale"],
        "count": [len(r.verdicts), *[int(c.get(k, 0)) for k in VERDICTS], f"{r.measured} of {len(r.claims)}",
                  len(r.problems)],
    }).style.hide(axis="index")
