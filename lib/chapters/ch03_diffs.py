"""Chapter 3: diffs, a per-weight view of coherence (thesis Figs. 3.1-3.4), from chapter 2's runs.

The figures draw the runs of one seed (``seed``); the claims use every seed of ``seeds`` (chapter 2's
real and Gaussian runs of each). The notebook calls :func:`setup`, :func:`results`, one function per
figure and table, the explorer (:func:`explorer`), then :func:`measure` (the per-seed numbers),
:func:`interval_table` (the per-tensor intervals) and :func:`claims`. Each claim is one small function of
a diff summary table with a seed column, or of per-seed displacements, so tests can feed it hand-made
values; its verdict is the paired test's (:func:`verdicts.paired`, :func:`verdicts.paired_groups`),
pooling every (tensor, seed) pair in one interval. Claims of "no difference" or "not smaller" are
tested against margins fixed below (module constants, each with its reason), never tuned after a run.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import pandas as pd

from .. import profiles
from ..config import Stages, TrainConfig
from ..runs import Run, get_or_train, train_stages
from . import params as check
from . import realdata as rd
from .ch02_coherence import (FAMILY, FLOOR_NOTE, check_large, large_profile, large_settings, scale_text, stats_n,
                             with_debiased)
from .ch02_coherence import seeds_line, style  # noqa: F401  (the notebook calls ch.seeds_line(), ch.style())
from .figures import Provenance, show
from .realdata import run_configs
from .verdicts import Verdict, paired, paired_groups

#: The runs chapter 3 reads (chapter 2's fresh runs).
RUNS = ("real", "gaussian")
#: Columns of the diff summary tables under Figures 3.1 and 3.2.
SUMMARY_COLUMNS = ["epoch", "coherence", "mean", "std", "std_null", "mean_abs", "frac_abs_one", "frac_zero",
                   "excess_kurtosis"]

# Margins of the claims, fixed with the claims before any run (the first two were this chapter's defaults).
#: "Centred": |mean| / std below 0.25, a shift of a quarter of a standard deviation, about the least a
#: reader sees by eye in a histogram such as Figs. 3.1, 3.2.
CENTRE_MARGIN = 0.25
#: "Roughly normal": |excess kurtosis| below 1 (normal 0, logistic 1.2, Laplace 3), tails no heavier than a
#: logistic's, which the log density axis of Figs. 3.1, 3.2 would show.
KURTOSIS_MARGIN = 1.0
#: "Similar" / "not smaller" spreads: stds within a factor 1.25 (in log units log 1.25), the least change in
#: width two overlaid histograms show plainly.
SPREAD_MARGIN = math.log(1.25)
#: "Move about the same": relative difference (high - low) / mean(high, low) of the mean displacement within
#: 2/3, i.e. a factor 2 either way, the least two bundles of k trajectories (Figs. 3.3, 3.4) show plainly.
MOVE_MARGIN = 2.0 / 3.0


@dataclass(frozen=True)
class Params:
    """The notebook's papermill parameters (same names and defaults). None: the profile's value."""

    profile: str = "cpu"
    seed: int = 0
    seeds: Any = None  # list of seeds for the verdicts; None: the profile's seeds
    arch_cnn: str | None = None
    arch_vit: str | None = None
    epochs: int | None = None  # real-data epochs of both models
    epochs_gaussian: int | None = None  # Gaussian-data epochs
    n_train: int | None = None  # training images, real and Gaussian (profile: n_train_large)
    n_test: int | None = None  # test images (profile: n_test_large)
    stats_max_samples: int | None = None  # images used for the per-sample gradient statistics and diffs
    k: int = 10  # highest- and lowest-|diff| weights followed in Figures 3.3 and 3.4

    def __post_init__(self) -> None:
        check_large(self)
        check.integers(self.seeds, "seeds", minimum=0)
        check.integer(self.k, "k", minimum=1)


@dataclass(frozen=True)
class Setup:
    """Chapter 3's parameters, resolved profile, seeds, architectures and configs.

    seeds: the verdicts' seeds, ``seed`` first when it is not among them (``seed`` draws the figures).
    configs: (family, seed) -> {run name: config} (chapter 2's real and gaussian runs).
    """

    params: Params
    profile: profiles.Profile
    seeds: tuple[int, ...]
    archs: dict[str, str]
    configs: dict[tuple[str, int], dict[str, TrainConfig]]


def setup(**params: Any) -> Setup:
    """Validate the parameters (errors name the parameter and its value) and resolve the chapter."""
    p = check.build(Params, params)
    prof = large_profile(p)
    seeds = check.seeds_with(p.seed, prof.seeds if p.seeds is None else p.seeds)
    archs = {"cnn": prof.arch_cnn, "vit": prof.arch_vit}
    configs = {(fam, s): {n: c for n, c in run_configs(prof, arch, s).items() if n in RUNS}
               for fam, arch in archs.items() for s in seeds}
    return Setup(p, prof, seeds, archs, configs)


def plan(s: Setup) -> Stages:
    """One stage: the real and gaussian runs of both architectures and every seed (chapter 2's)."""
    return [[c[k] for c in s.configs.values() for k in RUNS]]


# ------------------------------------------------------------------------------------ results
@dataclass(frozen=True)
class Results:
    """Chapter 3's runs and the tables its figures and claims draw.

    runs: family -> seed -> run name ("real", "gaussian") -> run. seed: the seed the figures draw.
    layers: family -> its four representative weight tensors. hist: family -> run name ->
    :func:`realdata.diff_histograms` (the figures' seed). summary: every :func:`realdata.diff_summary`
    row of every seed, with arch, run and seed columns. traj: family -> seed ->
    :func:`realdata.extreme_diff_trajectories` of its real run (``k`` per group). corr: family -> seed ->
    :func:`realdata.diff_displacement_correlation` of its real run.
    """

    runs: dict[str, dict[int, dict[str, Run]]]
    seed: int
    layers: dict[str, list[str]]
    hist: dict[str, dict[str, pd.DataFrame]]
    summary: pd.DataFrame
    traj: dict[str, dict[int, pd.DataFrame]]
    corr: dict[str, dict[int, dict[str, float]]]


def results(s: Setup) -> Results:
    """Train (or load) exactly :func:`plan`'s runs, then read their diffs, histograms and trajectories."""
    train_stages(plan(s))
    runs = {fam: {seed: {n: get_or_train(s.configs[(fam, seed)][n], progress=False) for n in RUNS}
                  for seed in s.seeds} for fam in s.archs}
    seed = s.params.seed
    layers = {fam: rd.representative_layers(runs[fam][seed]["real"].load_model()) for fam in runs}
    hist = {fam: {n: rd.diff_histograms(runs[fam][seed][n], layers=layers[fam]) for n in RUNS} for fam in runs}
    summ = pd.concat([rd.diff_summary(runs[fam][sd][n], layers=layers[fam]).assign(arch=arch, run=n, seed=sd)
                      for fam, arch in s.archs.items() for sd in s.seeds for n in RUNS], ignore_index=True)
    traj = {fam: {sd: rd.extreme_diff_trajectories(runs[fam][sd]["real"], k=s.params.k) for sd in s.seeds}
            for fam in runs}
    corr = {fam: {sd: rd.diff_displacement_correlation(runs[fam][sd]["real"]) for sd in s.seeds} for fam in runs}
    return Results(runs, seed, layers, hist, summ, traj, corr)


def provenance(s: Setup, fam: str, gaussian: bool = True) -> str:
    """Caption provenance: the real run's settings, the Gaussian run's epochs (when ``gaussian``)."""
    p, cfg = s.profile, s.configs[(fam, s.params.seed)]["real"]
    text = Provenance.of(p.name, cfg).text()
    if gaussian:
        text += f"; Gaussian run {p.epochs_gaussian} epochs on {cfg.data.n_train or 50000:,d} noise images"
    return text + f"; diffs on {stats_n(s, fam):,d} training images"


# --------------------------------------------------------------------------- figures, tables
def settings_table(s: Setup) -> pd.DataFrame:
    """The chapter's settings: profile, models, epochs, data sizes, the figures' seed, the seeds and k."""
    return large_settings(s.profile, "images for diffs",
                          {"seed of the figures": s.params.seed, "seeds of the verdicts": list(s.seeds), "k": s.params.k})


def _histogram_figure(s: Setup, r: Results, fam: str, number: str, model: str) -> None:
    arch = s.archs[fam]
    show(rd.fig_diff_histograms(r.hist[fam], f"{arch}: diffs at the highest- and lowest-coherence epochs"),
         number, f"Density of the diffs of four {model} ({arch}) weight tensors, early to late (rows), trained "
         "on CIFAR-10 (left) and on Gaussian data (right), at the epoch of highest coherence (outline) and of lowest "
         "coherence (filled)", provenance(s, fam))


def figure_3_1(s: Setup, r: Results) -> None:
    """Fig. 3.1: diff histograms of four ResNet tensors, real and Gaussian runs (shown)."""
    _histogram_figure(s, r, "cnn", "Figure 3.1", "ResNet")


def figure_3_2(s: Setup, r: Results) -> None:
    """Fig. 3.2: the same for the ViT (shown)."""
    _histogram_figure(s, r, "vit", "Figure 3.2", "ViT")


def summary_table(s: Setup, r: Results, fam: str) -> pd.DataFrame:
    """The diff summary of ``fam``'s tensors per run, layer and epoch kind (:data:`SUMMARY_COLUMNS`, the
    figures' seed), with the debiased coherence beside α."""
    summ = r.summary
    rows = summ[(summ.arch == s.archs[fam]) & (summ.seed == r.seed)].set_index(["run", "layer", "which"])
    return with_debiased(rows[SUMMARY_COLUMNS], ("coherence",), stats_n(s, fam))


def _trajectory_figure(s: Setup, r: Results, fam: str, number: str, model: str) -> None:
    arch, k = s.archs[fam], s.params.k
    layer = s.configs[(fam, r.seed)]["real"].track[0]
    show(rd.fig_trajectories(r.traj[fam][r.seed], f"{arch} {layer}: {k} highest- and {k} lowest-|diff| weights"),
         number, f"Values (left) and displacement from initialisation (right) over training on CIFAR-10 of the "
         f"{k} entries of {model} ({arch}) tensor `{layer}` with the largest |diff| and the {k} with the smallest, "
         "diffs taken at the highest-coherence epoch", provenance(s, fam, gaussian=False))


def figure_3_3(s: Setup, r: Results) -> None:
    """Fig. 3.3: values over training of the ResNet's k highest- and k lowest-|diff| tracked weights (shown)."""
    _trajectory_figure(s, r, "cnn", "Figure 3.3", "ResNet")


def figure_3_4(s: Setup, r: Results) -> None:
    """Fig. 3.4: the same for the ViT (shown)."""
    _trajectory_figure(s, r, "vit", "Figure 3.4", "ViT")


def trajectory_table(r: Results, fam: str) -> pd.DataFrame:
    """:func:`realdata.trajectory_summary` of ``fam``'s trajectories (the figures' seed), one row per group."""
    return rd.trajectory_summary(r.traj[fam][r.seed]).set_index("group")


# ----------------------------------------------------------------------------------- explorer
def _explorer_keys(s: Setup) -> dict[str, tuple[str, str]]:
    """The explorer's run menu: "<arch> / <run name>" -> (family, run name)."""
    return {f"{arch} / {n}": (fam, n) for fam, arch in s.archs.items() for n in RUNS}


def explorer_runs(s: Setup, r: Results) -> dict[str, Run]:
    """The explorer's run menu: "<arch> / <run name>" -> that run (the figures' seed)."""
    return {key: r.runs[fam][r.seed][n] for key, (fam, n) in _explorer_keys(s).items()}


def explorer_default(s: Setup, r: Results) -> tuple[str, str, int]:
    """The explorer's first view: the ResNet's CIFAR-10 run, its tracked tensor, its highest-coherence epoch."""
    real = r.runs["cnn"][r.seed]["real"]
    return f"{s.archs['cnn']} / real", real.config.track[0], rd.peak_coherence(real)["epoch_max"]


def explorer(s: Setup, r: Results, key: str, layer: str, epoch: int) -> None:
    """Show the diff histogram of ``layer`` after ``epoch`` and the coherence curve of run ``key``; nothing
    when ``layer`` or ``epoch`` does not belong to that run (the menus are being updated)."""
    fam, n = _explorer_keys(s)[key]
    run = r.runs[fam][r.seed][n]
    if layer not in rd.layers_with_histograms(run) or epoch not in rd.hist_epochs(run):
        return
    show(rd.fig_explorer(r.runs[fam][r.seed], n, layer, epoch), "Explorer",
         f"Diffs of `{layer}` after epoch {epoch} (left) and coherence per epoch (right; {FLOOR_NOTE}), {key}",
         provenance(s, fam, gaussian=(n == "gaussian")))


# ----------------------------------------------------------------------------------- the tests
def against(df: pd.DataFrame, value: str, ref: float, *, by: Sequence[str], claim: str,
            margin: float | None = None) -> tuple[dict[str, Any], pd.DataFrame]:
    """:func:`verdicts.paired_groups` of column ``value`` against the constant ``ref`` (a one-sample test),
    pooled over every (``by`` group, seed) and per ``by`` group. ``df``: rows with ``by``, seed, ``value``."""
    cols = [*by, "seed"]
    long = pd.concat([df[cols].assign(side="measured", v=df[value].astype(float)),
                      df[cols].assign(side="reference", v=float(ref))], ignore_index=True)
    return paired_groups(long, "side", "measured", "reference", "v", by=by, claim=claim, margin=margin)


def _real_max(summ: pd.DataFrame) -> pd.DataFrame:
    return summ[(summ.run == "real") & (summ.which == "max")]


def centred_test(summ: pd.DataFrame) -> tuple[dict[str, Any], pd.DataFrame]:
    """|mean| / std of the real runs' diffs at the highest-coherence epoch against :data:`CENTRE_MARGIN`
    (claim: below it), per (arch, layer) and pooled. ``summ``: rows with arch, run, layer, which, seed, mean, std."""
    x = _real_max(summ)
    return against(x.assign(centre=x["mean"].abs() / x["std"]), "centre", CENTRE_MARGIN, by=("arch", "layer"), claim="less")


def normal_test(summ: pd.DataFrame) -> tuple[dict[str, Any], pd.DataFrame]:
    """|excess kurtosis| of the same diffs against :data:`KURTOSIS_MARGIN` (claim: below it)."""
    x = _real_max(summ)
    return against(x.assign(abs_kurtosis=x.excess_kurtosis.abs()), "abs_kurtosis", KURTOSIS_MARGIN,
                   by=("arch", "layer"), claim="less")


def _log_std(summ: pd.DataFrame) -> pd.DataFrame:
    with np.errstate(divide="ignore"):
        return summ.assign(log_std=np.log(summ["std"].astype(float)))


def wider_test(summ: pd.DataFrame) -> tuple[dict[str, Any], pd.DataFrame]:
    """log std of the diffs at the highest- minus the lowest-coherence epoch (claim: > 0), paired by seed
    within each (arch, run, layer). ``summ``: rows with arch, run, layer, which ("max"/"min"), seed, std."""
    return paired_groups(_log_std(summ), "which", "max", "min", "log_std", by=("arch", "run", "layer"), claim="greater")


def _gaussian_vs_real(summ: pd.DataFrame, shift: float = 0.0) -> pd.DataFrame:
    x = _log_std(summ[summ.which == "max"])
    return x.assign(log_std=x.log_std + np.where(x.run == "gaussian", shift, 0.0))


def not_smaller_test(summ: pd.DataFrame) -> tuple[dict[str, Any], pd.DataFrame]:
    """Non-inferiority at the highest-coherence epochs: log std Gaussian + :data:`SPREAD_MARGIN` against
    log std real (claim: greater), i.e. log(std Gaussian / std real) > -SPREAD_MARGIN, so ``diff`` is that
    log ratio plus the margin. ``summ``: rows with arch, layer, run, which, seed, std."""
    return paired_groups(_gaussian_vs_real(summ, SPREAD_MARGIN), "run", "gaussian", "real", "log_std",
                         by=("arch", "layer"), claim="greater")


def similar_test(summ: pd.DataFrame) -> tuple[dict[str, Any], pd.DataFrame]:
    """Equivalence at the highest-coherence epochs: |log(std Gaussian / std real)| < :data:`SPREAD_MARGIN`."""
    return paired_groups(_gaussian_vs_real(summ), "run", "gaussian", "real", "log_std", by=("arch", "layer"),
                         claim="equal", margin=SPREAD_MARGIN)


def spikes_test(summ: pd.DataFrame, arch_vit: str) -> tuple[dict[str, Any], pd.DataFrame]:
    """Share of |diff| = 1 of the ViT's Gaussian run minus its real run's at the highest-coherence epochs
    (claim: > 0), paired by seed within each layer. ``summ``: rows with arch, layer, run, which, seed, frac_abs_one."""
    x = summ[(summ.arch == arch_vit) & (summ.which == "max")]
    return paired_groups(x, "run", "gaussian", "real", "frac_abs_one", by=("layer",), claim="greater")


def relative_moves(high: Sequence[float], low: Sequence[float]) -> list[float]:
    """Per seed, (high - low) / mean(high, low) of the mean displacements |w_T - w_0| of the two groups
    (in [-2, 2]; +-2/3 is a factor 2; NaN when neither group moved)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        h, lo = np.asarray(high, float), np.asarray(low, float)
        return list((h - lo) / ((h + lo) / 2))


def move_test(high: Sequence[float], low: Sequence[float]) -> dict[str, Any]:
    """Equivalence of :func:`relative_moves` to 0 within :data:`MOVE_MARGIN` (one pair per seed)."""
    rel = relative_moves(high, low)
    return paired(rel, [0.0] * len(rel), claim="equal", margin=MOVE_MARGIN)


def tensor_tests(summ: pd.DataFrame, arch_vit: str) -> dict[str, tuple[dict[str, Any], pd.DataFrame]]:
    """Every claim decided tensor by tensor, in the notebook's order: claim id -> (pooled test, per-tensor
    intervals)."""
    return {"3-diffs-centred": centred_test(summ), "3-diffs-roughly-normal": normal_test(summ),
            "3-diffs-wider-at-max-coherence": wider_test(summ), "3-gaussian-diffs-not-smaller": not_smaller_test(summ),
            "3-gaussian-diffs-similar-to-real": similar_test(summ),
            "3-vit-gaussian-diff-spikes": spikes_test(summ, arch_vit)}


# ----------------------------------------------------------------------------------- measures
#: Columns of :func:`measure` (besides family and seed): one number per family and seed each.
MEASURES = ("test_acc_real", "final_acc_gaussian", "centre", "abs_kurtosis", "log_std_max_over_min",
            "log_std_gaussian_over_real", "spikes_gaussian_minus_real", "move_high", "move_low", "move_relative",
            "rho_displacement", "rho_magnitude")

MEASURE_LEAD = ("**Per-seed numbers behind the verdicts** (one row per architecture and seed; each a mean over the four "
                "tensors): |mean| / std and |excess kurtosis| of the CIFAR-10 run's diffs at its highest-coherence "
                "epoch, log(std at the highest / at the lowest coherence epoch) over both runs, log(std Gaussian / std "
                "real), the ViT's share of |diff| = 1 Gaussian minus real; then the mean displacement |w_T − w_0| of the "
                "k highest- and k lowest-|diff| tracked weights, their relative difference, and Spearman's ρ of |diff| "
                "with |w_T − w_0| and with |w_T| over every entry of the tracked tensor. The real run's test accuracy "
                "and the Gaussian run's train accuracy give the scale.")


def measure(s: Setup, r: Results) -> pd.DataFrame:
    """The per-seed numbers of :data:`MEASURE_LEAD`, one row per family and seed (columns family, seed,
    :data:`MEASURES`)."""
    summ = _log_std(r.summary)
    rows = []
    for fam, arch in s.archs.items():
        for seed in s.seeds:
            x = summ[(summ.arch == arch) & (summ.seed == seed)]
            rm = _real_max(x)
            ep = x.pivot_table(index=["run", "layer"], columns="which", values="log_std")
            mx = x[x.which == "max"].pivot_table(index="layer", columns="run", values=["log_std", "frac_abs_one"])
            tr = rd.trajectory_summary(r.traj[fam][seed]).set_index("group").mean_abs_final_delta
            runs = r.runs[fam][seed]
            rows.append({
                "family": fam, "seed": seed,
                "test_acc_real": float(runs["real"].metrics.test_acc.iloc[-1]),
                "final_acc_gaussian": float(runs["gaussian"].metrics.train_acc.iloc[-1]),
                "centre": float((rm["mean"].abs() / rm["std"]).mean()), "abs_kurtosis": float(rm.excess_kurtosis.abs().mean()),
                "log_std_max_over_min": float((ep["max"] - ep["min"]).mean()),
                "log_std_gaussian_over_real": float((mx["log_std"]["gaussian"] - mx["log_std"]["real"]).mean()),
                "spikes_gaussian_minus_real": (float((mx["frac_abs_one"]["gaussian"] - mx["frac_abs_one"]["real"]).mean())
                                               if fam == "vit" else np.nan),
                "move_high": float(tr["high"]), "move_low": float(tr["low"]),
                "move_relative": relative_moves([tr["high"]], [tr["low"]])[0],
                **{c: r.corr[fam][seed][c] for c in ("rho_displacement", "rho_magnitude")}})
    return pd.DataFrame(rows, columns=["family", "seed", *MEASURES])


def measure_table(s: Setup, m: pd.DataFrame) -> pd.DataFrame:
    """:func:`measure`'s table for display, indexed by (architecture, seed); see :data:`MEASURE_LEAD`."""
    return m.assign(arch=m.family.map(s.archs)).drop(columns="family").set_index(["arch", "seed"])


INTERVAL_LEAD = ("**Per-tensor intervals**: for each claim decided tensor by tensor, each tensor's mean over seeds of the "
                 "two sides `a` and `b` (centred, roughly normal: the measured value and its margin; wider: log std at the "
                 "highest- and lowest-coherence epochs; not smaller: log std Gaussian + log 1.25 and log std real; similar: "
                 "log std Gaussian and real; spikes: the share of |diff| = 1 Gaussian and real), the mean paired "
                 "difference a − b and its 95 % interval. The verdict in the table after it pools every (tensor, seed) pair.")


def interval_table(s: Setup, r: Results) -> pd.DataFrame:
    """The per-tensor intervals of every tensor-by-tensor claim (:func:`tensor_tests`), indexed by claim id,
    arch, run and layer (see :data:`INTERVAL_LEAD`)."""
    parts = []
    for cid, (_, groups) in tensor_tests(r.summary, s.archs["vit"]).items():
        parts.append(groups.assign(claim=cid))
    df = pd.concat(parts, ignore_index=True)
    df["arch"] = df["arch"].fillna(s.archs["vit"])  # the spikes claim is the ViT's
    df["run"] = df["run"].fillna("")  # only the "wider" claim compares within a run
    return df.set_index(["claim", "arch", "run", "layer"])[["n", "a", "b", "diff", "ci_low", "ci_high", "verdict"]]


# ----------------------------------------------------------------------------------- verdicts
def _per(t: dict[str, Any]) -> str:
    return f"{t['n']} (tensor, seed) pairs"


def centred_claim(summ: pd.DataFrame, scale: str = "") -> Verdict:
    """At the highest-coherence epoch of the real runs the diffs are centred on 0: mean |mean| / std over
    (tensor, seed) pairs below :data:`CENTRE_MARGIN` (:func:`centred_test`)."""
    t = centred_test(summ)[0]
    return Verdict.of("3-diffs-centred", "03",
                      "at the highest-coherence epoch of the CIFAR-10 runs, diffs are centred on 0 "
                      f"(|mean| < {CENTRE_MARGIN}·std)",
                      "mean-centred, most diffs near 0 (Figs. 3.1, 3.2)",
                      f"|mean| / std {t['a']:.3f} over {_per(t)}; margin {CENTRE_MARGIN}", t, "Figures 3.1, 3.2", scale)


def normal_claim(summ: pd.DataFrame, scale: str = "") -> Verdict:
    """The same diffs are roughly normal: mean |excess kurtosis| below :data:`KURTOSIS_MARGIN`."""
    t = normal_test(summ)[0]
    return Verdict.of("3-diffs-roughly-normal", "03",
                      "at the highest-coherence epoch of the CIFAR-10 runs, diffs are roughly normal "
                      f"(|excess kurtosis| < {KURTOSIS_MARGIN})",
                      "roughly normally distributed (Figs. 3.1, 3.2)",
                      f"|excess kurtosis| {t['a']:.2f} over {_per(t)}; margin {KURTOSIS_MARGIN}", t, "Figures 3.1, 3.2",
                      scale)


def wider_claim(summ: pd.DataFrame, scale: str = "") -> Verdict:
    """Diffs have a larger std at the highest- than at the lowest-coherence epoch (:func:`wider_test`)."""
    t = wider_test(summ)[0]
    return Verdict.of("3-diffs-wider-at-max-coherence", "03",
                      "diffs spread wider at the highest-coherence epoch than at the lowest",
                      "larger standard deviation of diffs when coherence is high (Figs. 3.1, 3.2)",
                      f"log(std at max / std at min) {t['diff']:+.3f} (ratio {math.exp(t['diff']):.3f}) over "
                      f"{t['n']} (run × tensor, seed) pairs", t, "Figures 3.1, 3.2", scale)


def gaussian_not_smaller_claim(summ: pd.DataFrame, scale: str = "") -> Verdict:
    """Gaussian-run diffs are not smaller than the real run's by more than a factor 1.25 in std
    (non-inferiority, :func:`not_smaller_test`)."""
    t = not_smaller_test(summ)[0]
    lr = t["diff"] - SPREAD_MARGIN
    return Verdict.of("3-gaussian-diffs-not-smaller", "03",
                      "Gaussian-data diffs are not smaller than real-data diffs (highest-coherence epochs): "
                      f"std Gaussian > std real / {math.exp(SPREAD_MARGIN):.2f}",
                      "training on Gaussian data does not give smaller diffs (section 3.2)",
                      f"log(std Gaussian / std real) {lr:+.3f} (ratio {math.exp(lr):.3f}) over {_per(t)}; the interval "
                      f"shown is of that log ratio + log {math.exp(SPREAD_MARGIN):.2f}, held above 0", t,
                      "Figures 3.1, 3.2", scale)


def gaussian_similar_claim(summ: pd.DataFrame, scale: str = "") -> Verdict:
    """Gaussian- and real-run diffs have about the same std: |log ratio| < :data:`SPREAD_MARGIN`."""
    t = similar_test(summ)[0]
    return Verdict.of("3-gaussian-diffs-similar-to-real", "03",
                      "Gaussian- and real-data diffs spread about the same (highest-coherence epochs): stds within a "
                      f"factor {math.exp(SPREAD_MARGIN):.2f}",
                      "diff distributions are similar for real and random training data (section 3.2)",
                      f"log(std Gaussian / std real) {t['diff']:+.3f} (ratio {math.exp(t['diff']):.3f}) over {_per(t)}; "
                      f"margin ±{SPREAD_MARGIN:.3f}", t, "Figures 3.1, 3.2", scale)


def vit_spikes_claim(summ: pd.DataFrame, arch_vit: str, scale: str = "") -> Verdict:
    """In the ViT the Gaussian run has a larger share of |diff| = 1 than the real run (:func:`spikes_test`)."""
    t = spikes_test(summ, arch_vit)[0]
    return Verdict.of("3-vit-gaussian-diff-spikes", "03",
                      f"[{arch_vit}] Gaussian diffs pile up at ±1 (all samples agree) more than real diffs",
                      "spikes at the edges of the ViT's Gaussian diff histograms (Fig. 3.2)",
                      f"share of |diff| = 1: Gaussian {t['a']:.3g}, real {t['b']:.3g} over {_per(t)}", t, "Figure 3.2",
                      scale)


def move_alike_claim(fam: str, arch: str, k: int, high: Sequence[float], low: Sequence[float],
                     rho: Sequence[float], scale: str = "") -> Verdict:
    """High- and low-|diff| weights move about the same distance: per seed, the relative difference of the
    two groups' mean |w_T - w_0| lies within :data:`MOVE_MARGIN` of 0 (:func:`move_test`). ``rho``: per
    seed, Spearman's ρ(|diff|, |w_T - w_0|) over the whole tensor (reported, not tested)."""
    t = move_test(high, low)
    return Verdict.of(f"3-{FAMILY[fam]}-high-low-diff-move-alike", "03",
                      f"[{arch}] high- and low-|diff| weights move about the same distance (within a factor 2)",
                      "no discernible difference between the two groups' trajectories (Figs. 3.3, 3.4)",
                      f"mean |w_T − w_0| of the {k} highest-|diff| weights {np.mean(high):.3g}, of the {k} lowest "
                      f"{np.mean(low):.3g}; relative difference {t['diff']:+.2f} (margin ±{MOVE_MARGIN:.2f}) over "
                      f"{t['n']} seeds; over every entry, Spearman ρ(|diff|, |w_T − w_0|) = {np.mean(rho):.3f}",
                      t, "Figure 3.3" if fam == "cnn" else "Figure 3.4", scale)


def claims(s: Setup, summ: pd.DataFrame, m: pd.DataFrame) -> list[Verdict]:
    """Every chapter-3 verdict, in the notebook's order, from the diff summary ``summ`` (every seed) and
    :func:`measure`'s table ``m`` (the displacements and the scale)."""
    both = scale_text(s.profile, s.archs, m, list(s.archs))
    out = [centred_claim(summ, both), normal_claim(summ, both), wider_claim(summ, both),
           gaussian_not_smaller_claim(summ, both), gaussian_similar_claim(summ, both),
           vit_spikes_claim(summ, s.archs["vit"], scale_text(s.profile, s.archs, m, ["vit"]))]
    for fam, arch in s.archs.items():
        rows = m[m.family == fam]
        out.append(move_alike_claim(fam, arch, s.params.k, rows.move_high.tolist(), rows.move_low.tolist(),
                                    rows.rho_displacement.tolist(), scale_text(s.profile, s.archs, m, [fam])))
    return out


def verdicts(s: Setup, r: Results) -> list[Verdict]:
    """Chapter 3's verdicts (pure: nothing is stored or printed): :func:`claims` of the results."""
    return claims(s, r.summary, measure(s, r))
