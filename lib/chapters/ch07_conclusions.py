"""Chapter 7: the conclusions of thesis section 7.1 against the verdicts stored by chapters 2-6. Trains nothing.

* :data:`CONCLUSIONS`: the eight conclusions of section 7.1, in our words, with the figures that decide each.
* :func:`assign`: every stored verdict attached to the conclusion it bears on (fixed ids in
  :data:`EXPLICIT`, else by the figure it names, then by its wording).
* :func:`results` (the stored verdicts with their conclusion), and the page's tables in order:
  :func:`headline`, :func:`conclusions`, :func:`every_verdict`, :func:`counts`, :func:`changes`,
  :func:`summary` (:func:`verdicts` is empty: this chapter decides no claim). Chapter links come from
  :data:`lib.chapters.registry.CHAPTERS`.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pandas as pd

from .. import profiles
from ..config import Stages
from . import params as check
from . import registry
from .verdicts import VERDICTS, Verdict, combine, load_all

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

#: Verdict ids (regular expressions, matched in order) whose conclusion is fixed: the ids chapters 02-06 record
#: now. "" = bears on none of the eight (e.g. chapter 6's floor claims, the gravity check of chapter 2).
#: Ids not listed here fall back to :func:`assign`'s rule (figure, then wording).
EXPLICIT: tuple[tuple[str, str], ...] = (
    (r"^2-\w+-(peak|early|late)-coherence-", "C1"), (r"^2-\w+-fresh-real-gt-trained-gaussian$", "C1"),
    (r"^2-.*(memoris|magnitudes|gravity)", ""),
    (r"^3-diffs-wider-at-max-coherence$", "C2"), (r"^3-gaussian-diffs-not-smaller$", "C3"),
    (r"^3-(diffs-centred-normal|vit-gaussian-diff-spikes|\w+-high-low-diff-move-alike)$", ""),
    (r"^4-coherence-grows-with-width$", "C4"), (r"^4-diffs-narrow-with-width$", "C5"),
    (r"^4-gap-(grows-with-width|levels-off)$", ""),
    (r"^5-sparse-(beats-dense|smaller-gap)$", "C6"), (r"^5-parent-scaling-helps$", "C7"),
    (r"^5-(magnitude-beats-diff|random-weak-at-high-sparsity)$", "C8"),
    (r"^5-(random-smallest-gap|diff-smaller-gap-narrow)$", ""),
    (r"^6-(resnet-magnitude-best-wins-global|resnet-magnitude-beats-diff-(global|layer)|vit-diff-competitive|"
     r"vit-diff-best-layer)$", "C8"),
    (r"^6-(layer-fixes-resnet-diff|random-strong|mask-inversion-gap-small|global-diff-overprunes-layers|"
     r"vit-global-even-layers)$", ""),
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


# ------------------------------------------------------------------------------------- the page
@dataclass(frozen=True)
class Results:
    """The stored verdicts of the profile (with a ``conclusion`` column) and the conclusions table."""

    verdicts: pd.DataFrame
    claims: pd.DataFrame

    @property
    def measured(self) -> int:
        """Conclusions with at least one verdict."""
        return int((self.claims["verdict"] != NOT_MEASURED).sum())


def gather(verdicts: pd.DataFrame) -> Results:
    """:class:`Results` from a table of verdicts (rows of :class:`lib.chapters.verdicts.Verdict`)."""
    v = verdicts.assign(conclusion=assign(verdicts) if len(verdicts) else pd.Series(dtype=object))
    return Results(v, conclusions_table(v))


def results(s: Setup) -> Results:
    """Every verdict stored for the profile (:func:`lib.chapters.verdicts.load_all`), gathered."""
    return gather(load_all(s.profile.name))


def verdicts(s: Setup, r: Results) -> list[Verdict]:
    """None: chapter 7 decides no claim of its own, it gathers those of chapters 2-6."""
    return []


def headline(s: Setup, r: Results) -> str:
    """Markdown: how many verdicts, from which chapters, of which kind, and how many conclusions they reach."""
    v = r.verdicts
    counts = v["verdict"].value_counts() if len(v) else pd.Series(dtype=int)
    return (f"Profile `{s.profile.name}`: **{len(v)} verdicts** stored by chapters "
            f"{', '.join(sorted(v['chapter'].unique())) or 'none'}"
            + (" (" + ", ".join(f"{n} {k}" for k, n in counts.items()) + ")" if len(v) else "")
            + f"; **{r.measured} of {len(r.claims)}** conclusions of section 7.1 have at least one verdict.")


def conclusions(s: Setup, r: Results) -> str:
    """The conclusions table as Markdown (its links and code spans render)."""
    return markdown_table(r.claims)


def every_verdict(s: Setup, r: Results) -> Any:
    """Every stored verdict with the conclusion it counts towards (a Styler), or a Markdown note when none."""
    from IPython.display import Markdown

    if not len(r.verdicts):
        return Markdown(f"No verdict is stored for profile `{s.profile.name}`: run chapters 02-06 first.")
    cols = ["chapter", "claim_id", "claim", "thesis", "ours", "verdict", "figure", "conclusion"]
    return r.verdicts[cols].style.hide(axis="index").set_properties(**{"text-align": "left"})


def counts(s: Setup, r: Results) -> "pd.io.formats.style.Styler":
    """Stored verdicts per chapter and kind (:func:`verdict_counts`)."""
    return verdict_counts(r.verdicts).style.hide(axis="index")


def _n(x: int) -> str:
    return "all" if not x else f"{x:,d}"


def changes(s: Setup) -> list[str]:
    """Where the profile departs from the thesis and why, one Markdown item each: the choices the thesis
    leaves open (every profile), then, unless the profile is ``paper``, each setting that differs from it."""
    p, paper = s.profile, profiles.get("paper")
    out = [
        "**Choices the thesis leaves open (every profile).** Children restart from a fresh initialisation with "
        "seed + 1000 and keep their mask at zero throughout training; the dense comparison `none` is a fresh run "
        "trained like the children. Chapter 5 prunes globally with no floor by default (the floor and per-layer ranking are "
        "introduced only in chapter 6). In ResNets and ViTs the classifier head, the ViT's patch embedding and "
        "every tensor under 1,024 weights stay dense (the thesis only says small layers were skipped). SGD runs "
        "without momentum or weight decay at a constant learning rate; coherence is measured with BatchNorm in "
        "eval mode and reported unscaled.",
    ]
    if p.name == paper.name:
        return out
    return out + [
        f"**Smaller networks.** ResNet `{p.arch_cnn}` instead of `{paper.arch_cnn}` and ViT `{p.arch_vit}` "
        f"instead of `{paper.arch_vit}` (same families: bottleneck blocks; pre-norm transformer blocks with 4×4 "
        f"patches), MLP widths {list(p.widths)} instead of {list(paper.widths)}: a full build has to fit on a "
        "two-core laptop.",
        f"**Subsets of CIFAR-10.** {_n(p.n_train_large)} training and {_n(p.n_test_large)} test images for the "
        f"ResNet and ViT, {_n(p.n_train)} / {_n(p.n_test)} for the MLPs, against all 50,000 / 10,000; the subset is "
        "drawn once and shared by every run, so parents and children see the same images.",
        f"**Far fewer epochs.** {p.epochs_real_cnn} (ResNet) and {p.epochs_real_vit} (ViT) on real data instead of "
        f"{paper.epochs_real_cnn} and {paper.epochs_real_vit}, {p.epochs_gaussian} on Gaussian data instead of "
        f"{paper.epochs_gaussian}, {p.mlp_epochs} for the MLPs instead of {paper.mlp_epochs}, {p.prune_epochs} for "
        f"the pruned ResNets and ViTs instead of {paper.prune_epochs}. Claims about late training (the Gaussian "
        "network memorising its data, coherence after the peak) are the most exposed to this.",
        f"**Learning rates.** The ViT uses Adam at {p.vit_lr:g} instead of {paper.vit_lr:g}, a larger step so that "
        "the small transformer gets somewhere in its few epochs (a choice of this profile, not compared here with "
        f"the thesis's rate). The ResNet of chapter 6 uses SGD at {p.prune_cnn_lr:g} instead of "
        f"{paper.prune_cnn_lr:g}, the same rate as in chapters 2-3; 0.5 was not tried at this scale. "
        + (f"The MLPs keep Adam at {p.mlp_lr:g}." if p.mlp_lr == paper.mlp_lr else
           f"The MLPs use Adam at {p.mlp_lr:g} instead of {paper.mlp_lr:g}."),
        f"**Pruning sweeps.** Chapter 5's widths {list(p.prune_widths)} instead of {list(paper.prune_widths)}, "
        f"parent ratios {list(p.ratios)} instead of up to {max(paper.ratios)}, base width {p.base_width} instead "
        f"of {paper.base_width}.",
        f"**Gradient statistics on a sample.** Per-sample gradients over the first {_n(p.stats_max_samples)} "
        f"training images after every epoch (`paper`: {_n(paper.stats_max_samples)}).",
        f"**Repetitions.** Seeds {list(p.seeds)} where the thesis reports one run per setting; a difference "
        "within the seed spread counts as a tie.",
    ]


def summary(s: Setup, r: Results) -> "pd.io.formats.style.Styler":
    """The headline count: verdicts stored, per kind, and conclusions of 7.1 with a verdict."""
    c = r.verdicts["verdict"].value_counts() if len(r.verdicts) else pd.Series(dtype=int)
    return pd.DataFrame({
        "": ["verdicts stored", *[f"  {k}" for k in VERDICTS], "conclusions of 7.1 with a verdict"],
        "count": [len(r.verdicts), *[int(c.get(k, 0)) for k in VERDICTS], f"{r.measured} of {len(r.claims)}"],
    }).style.hide(axis="index")
