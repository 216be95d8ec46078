"""Chapter 8: what coherence and diffs measure (the open questions of thesis section 7.2), from the runs of
chapters 2 and 4 and a few Gaussian-data MLPs of its own.

Questions and where the numbers come from:

1. Are diffs more than coin flips? Each stored diff file (:mod:`lib.stats.callback`, ``counts`` on) holds
   exact sign and nonzero counts, so every weight gets an exact two-sided binomial test of "its nonzero
   per-sample gradient signs are fair coins" and each tensor's p-values go through Benjamini-Hochberg
   (:mod:`lib.stats.significance`). Runs: chapter 2's real and Gaussian ResNet and ViT, chapter 4's MLP at
   ``mlp_width`` and this chapter's Gaussian MLP of that width, at the epochs of highest and lowest coherence.
2. Does the spread of diffs shrink like 1/sqrt(n)? Diffs of the final weights of the same runs on the
   first n training images for n in ``sample_sizes`` (:func:`lib.stats.prefix.prefix_stats`, one pass).
3. Why are diffs small when coherence is high? Chapter 4's width sweep at each run's highest-coherence
   epoch: coherence against the fraction of significant diffs and the spread relative to the null.
4. Is coherence high where the generalization gap is, because it is measured on the training set? Every
   MLP run records coherence on test images too (``StatsConfig.test_samples``).
5. The floor: coherence of unrelated gradients is about 1/n; debiased values (n alpha - 1)/(n - 1), which put
   training- and test-set coherence (different n) on one footing.
6. Which layers carry ||E g||^2: each tensor's share of it, each tensor's part debiased
   ((n ||mean g_l||^2 - mean ||g_l||^2) / (n - 1), :func:`lib.chapters.ch08_analysis.debiased_mean_sq`), against
   its share of the weights.

Each claim is one function of plain frames (:mod:`lib.chapters.ch08_claims`; tests feed hand-made numbers),
written with :class:`lib.chapters.verdicts.Claim` (its text, the thesis's statement and the result that would make
it not held) and decided over seeds: one value per seed (a seed's widths or tensors reduced first), trends by each
seed's slope (:func:`lib.chapters.seed_tests.trend`), "every width" claims width by width. Margins and levels are
constants of that module, fixed with the claims. Measurements are in :mod:`lib.chapters.ch08_analysis`, the
drawing of figures and tables in :mod:`lib.chapters.ch08_figures`. Chapter 4 decides the two questions both
chapters show (peak training coherence and diff spread against width); this chapter cites its claim ids.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import pandas as pd
from IPython.display import Markdown

from .. import parallel, profiles
from ..config import TrainConfig
from ..data import DataConfig
from ..experiments import plan_width_sweep
from ..plan import Plan, configs, from_configs
from ..runs import Run, load
from ..stats import significance as sig
from ..stats.callback import sign_counts
from . import ch08_figures as shown
from . import mlp
from . import params as check
from . import realdata
from . import verdicts as toolkit
from .ch08_analysis import mlp_curves, peaks, spread_rows, stats_n, test_n
from .ch08_claims import FAMILIES, FDR, claims_of
from .verdicts import Decided, Verdict

CHAPTER = "08"
#: The stored diff files read, by the epoch they were saved at (:mod:`lib.stats.callback`).
DIFF_FILES = dict(mlp.DIFF_FILES)  # {"max": paths.DIFFS_MAX_TRAINED, "min": paths.DIFFS_MIN}


@dataclass(frozen=True)
class Params:
    """The notebook's papermill parameters (same names and defaults). None: the profile's value."""

    profile: str = "cpu"
    seed: int = 0
    seeds: Any = None  # seeds of every claim (profile: seeds); `seed` is added when missing
    mlp_width: int | None = None  # the MLP of questions 1, 2 and 6 (default: the third-narrowest width)
    gaussian_widths: Any = None  # widths of the Gaussian-data MLPs (default: the three narrowest widths)
    sample_sizes: Any = None  # n of question 2 (default 128, 512, 2048, capped by each run's training set)
    q: float = FDR  # false discovery rate of Benjamini-Hochberg

    def __post_init__(self) -> None:
        check.profile(self.profile)
        check.integer(self.seed, "seed", minimum=0)
        check.integers(self.seeds, "seeds", minimum=0)
        check.integer(self.mlp_width, "mlp_width", minimum=1, optional=True)
        check.integers(self.gaussian_widths, "gaussian_widths", minimum=1)
        check.integers(self.sample_sizes, "sample_sizes", minimum=2)
        check.number(self.q, "q", low=0.0, high=1.0, low_open=True, high_open=True)


@dataclass(frozen=True)
class Setup:
    """Chapter 8's parameters, profile, seeds and the configs it reads.

    large: (family, seed) -> {"real", "gaussian"} chapter-2 configs. sweep: (width, seed) -> chapter 4's
    MLP. gaussian: (width, seed) -> this chapter's Gaussian-data MLP. mlp_width, gaussian_widths and
    sample_sizes resolved."""

    params: Params
    profile: profiles.Profile
    seeds: tuple[int, ...]
    widths: tuple[int, ...]
    mlp_width: int
    gaussian_widths: tuple[int, ...]
    sample_sizes: tuple[int, ...]
    large: dict[tuple[str, int], dict[str, TrainConfig]]
    sweep: dict[tuple[int, int], TrainConfig]
    gaussian: dict[tuple[int, int], TrainConfig]


def gaussian_mlp(cfg: TrainConfig) -> TrainConfig:
    """The same MLP run on Gaussian data of the same sizes (random fixed labels; no whole-split final test)."""
    d = cfg.data
    return dataclasses.replace(cfg, data=DataConfig("gaussian", d.n_train or profiles.GAUSSIAN_FULL[0],
                                                    d.n_test or profiles.GAUSSIAN_FULL[1], seed=d.seed),
                               final_test=False)


def setup(**params: Any) -> Setup:
    """Validate the parameters (errors name the parameter and its value) and resolve the chapter."""
    p = check.build(Params, params)
    prof = profiles.get(p.profile)
    seeds = check.resolve_seeds(p, prof, CHAPTER)
    widths = tuple(sorted(prof.widths))
    gw = tuple(sorted(p.gaussian_widths)) if p.gaussian_widths else widths[:3]
    width = p.mlp_width if p.mlp_width is not None else widths[min(2, len(widths) - 1)]
    if width not in widths:
        raise check.ParameterError(f"mlp_width = {width} is not one of the profile's widths {list(widths)}")
    if width not in gw:
        gw = tuple(sorted({*gw, width}))
    large = {(fam, sd): {k: c for k, c in realdata.run_configs(prof, getattr(prof, f"arch_{fam}"), sd).items()
                         if k in ("real", "gaussian")} for fam in ("cnn", "vit") for sd in seeds}
    base = profiles.mlp_config(prof, widths[0])
    sweep = {(c.model.width, c.seed): c for c in configs(plan_width_sweep(base, widths, seeds))}
    gaussian = {(w, sd): gaussian_mlp(sweep[(w, sd)]) for w in gw for sd in seeds}
    sizes = tuple(sorted(p.sample_sizes)) if p.sample_sizes else (128, 512, 2048)
    return Setup(p, prof, seeds, widths, width, gw, sizes, large, sweep, gaussian)


def plan(s: Setup) -> Plan:
    """One stage: chapter 2's real and Gaussian ResNet and ViT runs, chapter 4's MLP sweep (all reused, not
    retrained when those chapters ran) and this chapter's Gaussian MLPs."""
    return from_configs([[*(c for d in s.large.values() for c in d.values()), *s.sweep.values(), *s.gaussian.values()]])


# ------------------------------------------------------------------------------------------ runs
@dataclass(frozen=True, eq=False)
class Results:
    """What the chapter draws and decides from.

    runs: (family, data, seed) -> run for the families of :data:`FAMILIES` (the MLP at ``mlp_width``) and
    data "real"/"gaussian". sweep, gaussian: (width, seed) -> MLP run. significance: one row per (family,
    data, seed, which epoch, tensor): epoch, coherence, n, weights, significant (fraction), sd, null_sd.
    hists: (family, data, which) -> {tensor, edges, counts, null (conditional), plain} of the figures'
    seed. spread: one row per (family, data, seed, n, tensor or "all"): sd, null_sd, sd_sqrt_n,
    null_sd_sqrt_n. curves: every MLP epoch (width, seed, data, epoch, train/test coherence, accuracy,
    gap). shares: one row per (family, data, seed, tensor): grad_share (share of ||E g||^2, each tensor's part
    debiased, :func:`grad_shares`), grad_share_plain (undebiased, for comparison) and weight_share.
    """

    runs: dict[tuple[str, str, int], Run]
    sweep: dict[tuple[int, int], Run]
    gaussian: dict[tuple[int, int], Run]
    significance: pd.DataFrame
    hists: dict[tuple[str, str, str], dict[str, Any]]
    spread: pd.DataFrame
    curves: pd.DataFrame
    shares: pd.DataFrame


def weight_tensors(run: Run) -> list[str]:
    """The run's weight tensors of two or more dimensions, input to output (biases, norms and tokens left out)."""
    return [k for k, v in run.load_model().named_parameters() if k.endswith("weight") and v.dim() >= 2]


def load_counts(run: Run, which: str) -> dict[str, Any]:
    """A stored diff file with its exact counts: {"epoch", "coherence", "n", "sign_sum", "nonzero"}."""
    if which not in DIFF_FILES:
        raise ValueError(f"unknown diff epoch {which!r}; known: {', '.join(DIFF_FILES)}")
    # plain data only (ints, floats, dicts of tensors: lib.stats.callback), so nothing read can run code
    d = run.tensors(DIFF_FILES[which])
    s, nz, n = sign_counts(d)
    return {"epoch": int(d["epoch"]), "coherence": float(d["coherence"]), "n": n, "sign_sum": s, "nonzero": nz}


def significance_rows(run: Run, tensors: Sequence[str], q: float, **labels: Any) -> list[dict[str, Any]]:
    """Per stored epoch ("max", "min") and tensor: the fraction of its weights whose diff is a BH discovery at
    rate ``q``, the diffs' sd and the null's sd (:func:`lib.stats.significance.null_diff_sd`); plus a row
    "all" pooling the tensors (weighted by size)."""
    rows = []
    for which in DIFF_FILES:
        c = load_counts(run, which)
        n, part = c["n"], []
        for t in tensors:
            s, nz = c["sign_sum"][t], c["nonzero"][t]
            d = s.double() / n
            part.append({**labels, "which": which, "epoch": c["epoch"], "coherence": c["coherence"], "n": n,
                         "tensor": t, "weights": s.numel(), "significant": sig.significant_fraction(s, nz, q),
                         "sd": float(d.std(unbiased=False)), "null_sd": sig.null_diff_sd(nz, n),
                         "zero_frac": float(1 - nz.double().mean() / n)})
        w = np.array([r["weights"] for r in part], float)
        pooled = {k: float(np.average([r[k] for r in part], weights=w)) for k in ("significant", "zero_frac")}
        pooled["sd"] = float(np.sqrt(np.average([r["sd"] ** 2 for r in part], weights=w)))
        pooled["null_sd"] = float(np.sqrt(np.average([r["null_sd"] ** 2 for r in part], weights=w)))
        rows += part + [{**part[0], "tensor": "all", "weights": int(w.sum()), **pooled}]
    return rows


def null_histogram(run: Run, which: str, tensor: str, bins: int = 50) -> dict[str, Any]:
    """One tensor's diff histogram (counts on ``bins`` equal bins of [-1, 1]) beside the expected counts under
    the conditional null (each weight's own number of nonzero signs) and the plain null (n fair coins)."""
    c = load_counts(run, which)
    edges = np.linspace(-1, 1, bins + 1)
    d = (c["sign_sum"][tensor].double() / c["n"]).numpy().ravel()
    counts, _ = np.histogram(d, bins=edges)
    return {"tensor": tensor, "epoch": c["epoch"], "n": c["n"], "edges": edges, "counts": counts,
            "null": sig.null_diff_hist(c["nonzero"][tensor], c["n"], edges),
            "plain": sig.null_diff_hist(None, c["n"], edges, size=d.size)}


def sizes_for(s: Setup, cfg: TrainConfig) -> list[int]:
    """Question 2's sample sizes for a run: those of ``sample_sizes`` below its training set, and the whole
    training set when it is smaller than the largest ("as far as the profile allows")."""
    n_train = cfg.data.n_train or 50_000
    out = [n for n in s.sample_sizes if n <= n_train]
    if max(s.sample_sizes) > n_train and n_train not in out:
        out.append(n_train)
    return sorted(out)


def _run_key(fam: str, s: Setup, sd: int) -> dict[str, TrainConfig]:
    if fam == "mlp":
        return {"real": s.sweep[(s.mlp_width, sd)], "gaussian": s.gaussian[(s.mlp_width, sd)]}
    return s.large[(fam, sd)]


def results(s: Setup) -> Results:
    """Train :func:`plan`'s missing runs (the one executor, :func:`lib.parallel.train`; nothing when the build
    has), then read them (:func:`lib.runs.load`): count, test and measure (questions 1-6)."""
    parallel.train(plan(s))
    runs = {(fam, data, sd): load(cfg, chapter=CHAPTER)
            for fam in FAMILIES for sd in s.seeds for data, cfg in _run_key(fam, s, sd).items()}
    sweep = {k: load(c, chapter=CHAPTER) for k, c in s.sweep.items()}
    gauss = {k: load(c, chapter=CHAPTER) for k, c in s.gaussian.items()}
    tensors = {fam: weight_tensors(runs[(fam, "real", s.seeds[0])]) for fam in FAMILIES}
    sig_rows, spread, shares = [], [], []
    for (fam, data, sd), run in runs.items():
        sig_rows += significance_rows(run, tensors[fam], s.params.q, family=fam, data=data, seed=sd)
        rows, sh = spread_rows(run, sizes_for(s, run.config), tensors[fam], family=fam, data=data, seed=sd)
        spread += rows
        shares += sh
    for (w, sd), run in sweep.items():
        if w != s.mlp_width:
            sig_rows += significance_rows(run, tensors["mlp"], s.params.q, family="mlp_sweep", data="real", seed=sd, width=w)
    sigdf = pd.DataFrame(sig_rows)
    if "width" not in sigdf.columns:
        sigdf["width"] = np.nan
    sigdf.loc[sigdf["family"] == "mlp", "width"] = s.mlp_width
    hist_tensor = {fam: ts[len(ts) // 2] for fam, ts in tensors.items()}
    hists = {(fam, data, which): null_histogram(runs[(fam, data, s.params.seed)], which, hist_tensor[fam])
             for fam in FAMILIES for data in ("real", "gaussian") for which in DIFF_FILES}
    curves = pd.concat([mlp_curves(sweep, "real"), mlp_curves(gauss, "gaussian")], ignore_index=True)
    return Results(runs, sweep, gauss, sigdf, hists, pd.DataFrame(spread), curves, pd.DataFrame(shares))


# ------------------------------------------------------------------------------------- derived tables
def sweep_significance(s: Setup, r: Results) -> pd.DataFrame:
    """Question 3's rows: every real-data MLP width, all weights pooled, at the highest-coherence epoch."""
    df = r.significance
    part = df[(df["family"].isin(["mlp", "mlp_sweep"])) & (df["data"] == "real") & (df["which"] == "max")
              & (df["tensor"] == "all")].copy()
    part["width"] = part["width"].astype(int)
    return part.sort_values(["width", "seed"], ignore_index=True)


def mlp_peaks(s: Setup, r: Results) -> pd.DataFrame:
    """:func:`peaks` of every MLP curve with the sweep's sample counts."""
    cfg = s.sweep[(s.widths[0], s.seeds[0])]
    return peaks(r.curves, stats_n(cfg), test_n(cfg))


def scale_text(s: Setup, r: Results) -> str:
    """What the chapter measured at this profile, against the thesis's scale."""
    p, c = s.profile, s.sweep[(s.mlp_width, s.seeds[0])]
    return (f"profile {p.name}: {p.arch_cnn}, {p.arch_vit} on {p.n_train_large or 50000:,d} images; MLP widths "
            f"{s.widths[0]}-{s.widths[-1]} on {c.data.n_train or 50000:,d} images, {c.epochs} epochs; statistics on "
            f"{stats_n(c)} training and {test_n(c)} test images")


def claims(s: Setup, r: Results) -> list[Decided]:
    """The chapter's claims and their per-group intervals (pure: nothing is stored or shown)."""
    return claims_of(r.significance, r.spread, mlp_peaks(s, r), r.shares, sweep_significance(s, r), scale_text(s, r))


def verdicts(s: Setup, r: Results) -> list[Verdict]:
    """The chapter's verdicts (pure: nothing is stored or shown)."""
    return toolkit.verdicts_of(claims(s, r))


# ------------------------------------------------------------------------------------ shown output
def provenance(s: Setup, sweep: bool = False) -> str:
    """Caption provenance of the chapter's figures; ``sweep``: a figure of the MLP width sweep, which names its
    widths and not the one MLP of the other figures."""
    return f"{scale_text_short(s, sweep)}; seeds {', '.join(map(str, s.seeds))}"


def scale_text_short(s: Setup, sweep: bool = False) -> str:
    c = s.sweep[(s.mlp_width, s.seeds[0])]
    if sweep:
        return (f"profile `{s.profile.name}`, MLP widths {', '.join(map(str, s.widths))}, {c.epochs} epochs, "
                f"statistics on {stats_n(c)} samples")
    return (f"profile `{s.profile.name}`, {s.profile.arch_cnn} / {s.profile.arch_vit} / MLP width {s.mlp_width}, "
            f"{c.epochs} MLP epochs, statistics on {stats_n(c)} samples")


def describe(s: Setup) -> Markdown:
    """One paragraph: which runs the chapter reads and what it adds."""
    c = s.sweep[(s.mlp_width, s.seeds[0])]
    return Markdown(
        f"Profile **{s.profile.name}**, seeds {', '.join(map(str, s.seeds))}. Read from chapter 2: the real- and "
        f"Gaussian-data {s.profile.arch_cnn} and {s.profile.arch_vit}. Read from chapter 4: the MLPs of widths "
        f"{', '.join(map(str, s.widths))} ({c.data.n_train:,d} training images, {c.epochs} epochs). Trained here: "
        f"the same MLPs on Gaussian data at widths {', '.join(map(str, s.gaussian_widths))}. Every run's statistics "
        f"use the first {stats_n(c)} training images (floor 1/n = {1 / stats_n(c):.4f}) and, for the MLPs, the first "
        f"{test_n(c)} test images; question 2 uses n = {', '.join(map(str, s.sample_sizes))} (capped by each run's "
        f"training set); Benjamini-Hochberg at q = {s.params.q:g} within each tensor.")


def figure_8_1(s: Setup, r: Results) -> None:
    """Fig. 8.1: one tensor's diff histogram per family and data (highest-coherence epoch, the figures' seed)
    against the conditional and the plain fair-coin null (shown)."""
    shown.figure_8_1(r.hists, f"{provenance(s)}; seed {s.params.seed}")


def figure_8_2(s: Setup, r: Results) -> None:
    """Fig. 8.2: fraction of significant diffs per tensor, real against Gaussian, at the highest- and
    lowest-coherence epochs, mean over seeds with each seed as a dot (shown)."""
    shown.figure_8_2(r.significance, s.params.q, provenance(s))


def table_8a(s: Setup, r: Results) -> Any:
    """Table 8.a: all weights pooled, per family, data and epoch: significant fraction, sd of the diffs and of the
    null, zero fraction; mean and sd over seeds, one column per seed for the significant fraction."""
    return shown.table_8a(r.significance, s.params.q, provenance(s))


def figure_8_3(s: Setup, r: Results) -> None:
    """Fig. 8.3: sd x sqrt(n) of all weights' diffs against n, per family, real and Gaussian, each seed thin
    and the mean thick, with the conditional null (shown)."""
    shown.figure_8_3(r.spread, provenance(s))


def figure_8_4(s: Setup, r: Results) -> None:
    """Fig. 8.4: across MLP widths at the highest-coherence epoch: coherence against the significant fraction and
    against the spread relative to the null (shown)."""
    shown.figure_8_4(sweep_significance(s, r), s.widths, s.params.q, provenance(s, sweep=True))


def figure_8_5(s: Setup, r: Results) -> None:
    """Fig. 8.5: peak training- and test-set coherence against width (real and Gaussian) and the gap against
    both (shown)."""
    cfg = s.sweep[(s.widths[0], s.seeds[0])]
    shown.figure_8_5(mlp_peaks(s, r), stats_n(cfg), provenance(s, sweep=True))


def figure_8_6(s: Setup, r: Results) -> None:
    """Fig. 8.6: training- and test-set coherence per epoch of every real-data MLP width (the figures' seed),
    α and debiased, with the floor 1/n (shown)."""
    cfg = s.sweep[(s.widths[0], s.seeds[0])]
    shown.figure_8_6(r.curves, s.params.seed, s.widths, stats_n(cfg), test_n(cfg),
                     f"{provenance(s, sweep=True)}; seed {s.params.seed}")


def figure_8_7(s: Setup, r: Results) -> None:
    """Fig. 8.7: each weight tensor's share of ||E g||^2 against its share of the weights, real-data runs,
    final weights (shown)."""
    shown.figure_8_7(r.shares, provenance(s))


def table_8b(s: Setup, vs: list[Verdict]) -> Any:
    """Shows Table 8.b's caption, with what would make each claim not held and each verdict's note (values
    left out), and returns the verdict table."""
    return shown.table_8b(vs, provenance(s))


def table_8c(s: Setup, decided: Sequence[Decided]) -> Any:
    """Shows Table 8.c's caption and returns the per-group intervals behind the decided claims ``decided``
    (:func:`claims`)."""
    return shown.table_8c(decided, provenance(s))
