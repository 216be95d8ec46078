"""Chapter 3: diffs, a per-weight view of coherence (thesis Figs. 3.1-3.4), from chapter 2's runs.

The figures draw the runs of one seed (``seed``); the claims use every seed of ``seeds`` (chapter 2's
real and Gaussian runs of each). The notebook calls :func:`setup`, :func:`results`, one function per
figure and table, the static explorer view (:func:`explorer`) and the
explorers of the page (:func:`explorers`), then :func:`measure` (the per-seed numbers),
:func:`interval_table` (the per-tensor intervals) and :func:`claims`. Each claim is written once with
:class:`verdicts.Claim` (with the result that would make it not held) and decided by one small function of
a diff summary table with a seed column, or of per-seed displacements, so tests can feed it hand-made
values. The seed is the replicate: the tensors of one run share that run's level, so each seed's values
are first averaged over the tensors (and runs) a claim reads, and the test is over seeds
(:func:`seed_tests.paired_groups`, :func:`seed_tests.paired`; n = seeds); the per-tensor intervals are shown
beside it. Claims of "no difference" or "not smaller" are tested against margins fixed below (module
constants, each with its reason), never tuned after a run.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import pandas as pd

from .. import parallel, profiles
from ..config import TrainConfig
from ..plan import Plan, from_configs
from ..runs import Run, load
from . import ch03_explore, large_runs
from . import params as check
from . import realdata as rd
from .figures import Provenance, show
from .large_runs import (FAMILY, FLOOR_NOTE, check_large, large_profile, large_settings, scale_text, stats_n,
                         with_debiased)
from .realdata import run_configs
from .seed_tests import paired, paired_frame, paired_groups
from .verdicts import Claim, Decided, Verdict, intervals_frame, verdicts_of

CHAPTER = "03"
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
    seeds = check.resolve_seeds(p, prof, CHAPTER)
    archs = {"cnn": prof.arch_cnn, "vit": prof.arch_vit}
    configs = {(fam, s): {n: c for n, c in run_configs(prof, arch, s).items() if n in RUNS}
               for fam, arch in archs.items() for s in seeds}
    return Setup(p, prof, seeds, archs, configs)


def plan(s: Setup) -> Plan:
    """One stage: the real and gaussian runs of both architectures and every seed (chapter 2's)."""
    return from_configs([[c[k] for c in s.configs.values() for k in RUNS]])


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
    """Train :func:`plan`'s missing runs (the one executor, :func:`lib.parallel.train`; nothing when the build
    has), then read them (:func:`lib.runs.load`): their diffs, histograms and trajectories."""
    parallel.train(plan(s))
    runs = {fam: {seed: {n: load(s.configs[(fam, seed)][n], chapter=CHAPTER) for n in RUNS}
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


#: Shared with chapter 2 (:mod:`lib.chapters.large_runs`); the notebook calls ``ch.style()``, ``ch.seeds_line(S)``.
style = large_runs.style
seeds_line = large_runs.seeds_line


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
         "coherence (filled)", provenance(s, fam),
         data=pd.concat([h.assign(run=run) for run, h in r.hist[fam].items()], ignore_index=True))


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
         "diffs taken at the highest-coherence epoch", provenance(s, fam, gaussian=False), data=r.traj[fam][r.seed])


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


def explorers(s: Setup, r: Results) -> None:
    """The explorers of the HTML page, one per model, which work without a kernel (:mod:`ch03_explore`)."""
    ch03_explore.show(s, r)


# ----------------------------------------------------------------------------------- the tests
#: Shares of |diff| = 1 lie in [0, 1], so a difference of two lies in [-1, 1]; intervals are cut to it.
UNIT_BOUNDS = (-1.0, 1.0)
#: :func:`relative_moves` lies in [-2, 2].
MOVE_BOUNDS = (-2.0, 2.0)


def against(df: pd.DataFrame, value: str, ref: float, *, by: Sequence[str], claim: str,
            margin: float | None = None, bounds: tuple[float, float] | None = None) -> tuple[dict[str, Any], pd.DataFrame]:
    """:func:`seed_tests.paired_groups` of column ``value`` against the constant ``ref`` (a one-sample test):
    each seed's values averaged over the ``by`` groups first, then tested over seeds (n = seeds), and one
    interval per ``by`` group over seeds. ``df``: rows with ``by``, seed, ``value``; non-finite values are
    kept, for the test to count."""
    cols = [*by, "seed"]
    long = pd.concat([df[cols].assign(side="measured", v=df[value].astype(float)),
                      df[cols].assign(side="reference", v=float(ref))], ignore_index=True)
    return paired_groups(long, "side", "measured", "reference", "v", by=by, claim=claim, margin=margin, bounds=bounds)


def _real_max(summ: pd.DataFrame) -> pd.DataFrame:
    return summ[(summ.run == "real") & (summ.which == "max")]


def centred_test(summ: pd.DataFrame) -> tuple[dict[str, Any], pd.DataFrame]:
    """|mean| / std of the real runs' diffs at the highest-coherence epoch against :data:`CENTRE_MARGIN`
    (claim: below it): each seed's mean over the (arch, layer) tensors, over seeds; and per tensor.
    ``summ``: rows with arch, run, layer, which, seed, mean, std."""
    x = _real_max(summ)
    with np.errstate(divide="ignore", invalid="ignore"):  # std 0: a non-finite ratio, counted by the test
        x = x.assign(centre=x["mean"].abs() / x["std"])
    return against(x, "centre", CENTRE_MARGIN, by=("arch", "layer"), claim="less", bounds=(-CENTRE_MARGIN, math.inf))


def normal_test(summ: pd.DataFrame) -> tuple[dict[str, Any], pd.DataFrame]:
    """|excess kurtosis| of the same diffs against :data:`KURTOSIS_MARGIN` (claim: below it), reduced as in
    :func:`centred_test`; sizes are averaged, so opposite kurtoses do not cancel."""
    x = _real_max(summ)
    return against(x.assign(abs_kurtosis=x.excess_kurtosis.abs()), "abs_kurtosis", KURTOSIS_MARGIN,
                   by=("arch", "layer"), claim="less", bounds=(-KURTOSIS_MARGIN, math.inf))


def _log_std(summ: pd.DataFrame) -> pd.DataFrame:
    with np.errstate(divide="ignore"):  # std 0 gives -inf: kept, and counted by the test
        return summ.assign(log_std=np.log(summ["std"].astype(float)))


def wider_test(summ: pd.DataFrame) -> tuple[dict[str, Any], pd.DataFrame]:
    """log std of the diffs at the highest- minus the lowest-coherence epoch (claim: > 0): each seed's mean
    over every (arch, run, layer), paired over seeds; and per (arch, run, layer). ``summ``: rows with arch,
    run, layer, which ("max"/"min"), seed, std."""
    return paired_groups(_log_std(summ), "which", "max", "min", "log_std", by=("arch", "run", "layer"), claim="greater")


def _gaussian_vs_real(summ: pd.DataFrame, shift: float = 0.0) -> pd.DataFrame:
    x = _log_std(summ[summ.which == "max"])
    return x.assign(log_std=x.log_std + np.where(x.run == "gaussian", shift, 0.0))


def not_smaller_test(summ: pd.DataFrame) -> tuple[dict[str, Any], pd.DataFrame]:
    """Non-inferiority at the highest-coherence epochs: log std Gaussian + :data:`SPREAD_MARGIN` against
    log std real (claim: greater), i.e. log(std Gaussian / std real) > -SPREAD_MARGIN, so ``diff`` is that
    log ratio plus the margin; each seed's mean over the (arch, layer) tensors, over seeds. ``summ``: rows
    with arch, layer, run, which, seed, std."""
    return paired_groups(_gaussian_vs_real(summ, SPREAD_MARGIN), "run", "gaussian", "real", "log_std",
                         by=("arch", "layer"), claim="greater")


def spread_gaps(summ: pd.DataFrame) -> pd.DataFrame:
    """Per (arch, layer, seed), |log(std Gaussian / std real)| of the diffs at the highest-coherence epochs
    (column ``gap``; non-finite where a std is 0 or missing)."""
    pairs = paired_frame(_gaussian_vs_real(summ), "run", "gaussian", "real", "log_std", by=("arch", "layer"))
    with np.errstate(invalid="ignore"):
        return pairs.assign(gap=(pairs["a"] - pairs["b"]).abs())


def similar_test(summ: pd.DataFrame) -> tuple[dict[str, Any], pd.DataFrame]:
    """Gaussian- and real-run diffs spread alike at the highest-coherence epochs: each seed's mean over the
    (arch, layer) tensors of |log(std Gaussian / std real)| (:func:`spread_gaps`) below
    :data:`SPREAD_MARGIN`, over seeds (claim: less). The sizes are averaged, so a tensor wider on Gaussian
    data and one narrower do not cancel into "similar"."""
    return against(spread_gaps(summ), "gap", SPREAD_MARGIN, by=("arch", "layer"), claim="less",
                   bounds=(-SPREAD_MARGIN, math.inf))


def spikes_test(summ: pd.DataFrame, arch_vit: str) -> tuple[dict[str, Any], pd.DataFrame]:
    """Share of |diff| = 1 of the ViT's Gaussian run minus its real run's at the highest-coherence epochs
    (claim: > 0): each seed's mean over the ViT's tensors, paired over seeds; and per layer. ``summ``: rows
    with arch, layer, run, which, seed, frac_abs_one."""
    x = summ[(summ.arch == arch_vit) & (summ.which == "max")]
    return paired_groups(x, "run", "gaussian", "real", "frac_abs_one", by=("layer",), claim="greater",
                         bounds=UNIT_BOUNDS)


def relative_moves(high: Sequence[float], low: Sequence[float]) -> list[float]:
    """Per seed, (high - low) / mean(high, low) of the mean displacements |w_T - w_0| of the two groups
    (in [-2, 2]; +-2/3 is a factor 2; NaN when neither group moved)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        h, lo = np.asarray(high, float), np.asarray(low, float)
        return list((h - lo) / ((h + lo) / 2))


def move_test(high: Sequence[float], low: Sequence[float]) -> dict[str, Any]:
    """Equivalence (two one-sided tests) of :func:`relative_moves` to 0 within :data:`MOVE_MARGIN`, one
    value per seed."""
    rel = relative_moves(high, low)
    return paired(rel, [0.0] * len(rel), claim="equal", margin=MOVE_MARGIN, bounds=MOVE_BOUNDS)


def tensor_tests(summ: pd.DataFrame, arch_vit: str) -> dict[str, tuple[dict[str, Any], pd.DataFrame]]:
    """Every claim read tensor by tensor, in the notebook's order: claim id -> (the claim's test over
    seeds, per-tensor intervals)."""
    return {"3-diffs-centred": centred_test(summ), "3-diffs-roughly-normal": normal_test(summ),
            "3-diffs-wider-at-max-coherence": wider_test(summ), "3-gaussian-diffs-not-smaller": not_smaller_test(summ),
            "3-gaussian-diffs-similar-to-real": similar_test(summ),
            "3-vit-gaussian-diff-spikes": spikes_test(summ, arch_vit)}


# ----------------------------------------------------------------------------------- measures
#: Columns of :func:`measure` (besides family and seed): one number per family and seed each.
MEASURES = ("test_acc_real", "final_acc_gaussian", "centre", "abs_kurtosis", "log_std_max_over_min",
            "log_std_gaussian_over_real", "abs_log_std_gaussian_over_real", "spikes_gaussian_minus_real", "move_high",
            "move_low", "move_relative", "rho_displacement", "rho_magnitude")

MEASURE_LEAD = ("**Per-seed numbers behind the verdicts** (one row per architecture and seed; each a mean over the four "
                "tensors): |mean| / std and |excess kurtosis| of the CIFAR-10 run's diffs at its highest-coherence "
                "epoch, log(std at the highest / at the lowest coherence epoch) over both runs, log(std Gaussian / std "
                "real) and its size |log(std Gaussian / std real)|, the ViT's share of |diff| = 1 Gaussian minus real; "
                "then the mean displacement |w_T − w_0| of the k highest- and k lowest-|diff| tracked weights, their "
                "relative difference, and Spearman's ρ of |diff| with |w_T − w_0| and with |w_T| over every entry of "
                "the tracked tensor. The real run's test accuracy and the Gaussian run's train accuracy give the scale. "
                "The tensor claims' per-seed values are these numbers averaged over both architectures; a NaN is a "
                "tensor with a missing or non-finite value, which the verdict counts.")


def _mean(xs: Any) -> float:
    """Mean that keeps a non-finite value (no value is left out silently)."""
    return float(np.mean(np.asarray(xs, float))) if len(xs) else float("nan")


def measure(s: Setup, r: Results) -> pd.DataFrame:
    """The per-seed numbers of :data:`MEASURE_LEAD`, one row per family and seed (columns family, seed,
    :data:`MEASURES`)."""
    summ = _log_std(r.summary)
    rows = []
    for fam, arch in s.archs.items():
        for seed in s.seeds:
            x = summ[(summ.arch == arch) & (summ.seed == seed)]
            rm, mx = _real_max(x), x[x.which == "max"]
            ep = paired_frame(x, "which", "max", "min", "log_std", by=("run", "layer"))
            gv = paired_frame(mx, "run", "gaussian", "real", "log_std", by=("layer",))
            sp = paired_frame(mx, "run", "gaussian", "real", "frac_abs_one", by=("layer",))
            tr = rd.trajectory_summary(r.traj[fam][seed]).set_index("group").mean_abs_final_delta
            runs = r.runs[fam][seed]
            with np.errstate(divide="ignore", invalid="ignore"):
                rows.append({
                    "family": fam, "seed": seed,
                    "test_acc_real": runs["real"].final()["test_acc"],
                    "final_acc_gaussian": float(runs["gaussian"].metrics.train_acc.iloc[-1]),
                    "centre": _mean(rm["mean"].abs() / rm["std"]), "abs_kurtosis": _mean(rm.excess_kurtosis.abs()),
                    "log_std_max_over_min": _mean(ep["a"] - ep["b"]),
                    "log_std_gaussian_over_real": _mean(gv["a"] - gv["b"]),
                    "abs_log_std_gaussian_over_real": _mean((gv["a"] - gv["b"]).abs()),
                    "spikes_gaussian_minus_real": _mean(sp["a"] - sp["b"]) if fam == "vit" else np.nan,
                    "move_high": float(tr["high"]), "move_low": float(tr["low"]),
                    "move_relative": relative_moves([tr["high"]], [tr["low"]])[0],
                    **{c: r.corr[fam][seed][c] for c in ("rho_displacement", "rho_magnitude")}})
    return pd.DataFrame(rows, columns=["family", "seed", *MEASURES])


def measure_table(s: Setup, m: pd.DataFrame) -> pd.DataFrame:
    """:func:`measure`'s table for display, indexed by (architecture, seed); see :data:`MEASURE_LEAD`."""
    return m.assign(arch=m.family.map(s.archs)).drop(columns="family").set_index(["arch", "seed"])


INTERVAL_LEAD = ("**Per-tensor intervals**: for each claim read tensor by tensor, each tensor's mean over seeds of the "
                 "two sides `a` and `b` (centred, roughly normal: the measured value and its margin; wider: log std at the "
                 "highest- and lowest-coherence epochs; not smaller: log std Gaussian + log 1.25 and log std real; "
                 "similar: |log(std Gaussian / std real)| and its margin log 1.25; spikes: the share of |diff| = 1 "
                 "Gaussian and real), the mean paired difference a − b and its 95 % interval over seeds, each tensor "
                 "judged alone, for display. The verdict in the table after it does not pool these rows: it averages "
                 "each seed's values over the tensors first and tests those per-seed means, so its n is the number of "
                 "seeds.")


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
def _claim(cid: str, text: str, thesis: str, fails_if: str, figure: str, conclusion: str = "") -> Claim:
    return Claim(cid, "03", text, thesis, fails_if, figure, conclusion)


def _per(t: dict[str, Any]) -> str:
    return f"mean over {t['n']} seeds of each seed's mean over {t.get('groups', 1)} tensors"


def centred_claim(summ: pd.DataFrame, scale: str = "") -> Decided:
    """At the highest-coherence epoch of the real runs the diffs are centred on 0: each seed's mean over the
    tensors of |mean| / std below :data:`CENTRE_MARGIN`, over seeds (:func:`centred_test`)."""
    t, groups = centred_test(summ)
    c = _claim("3-diffs-centred",
               "at the highest-coherence epoch of the CIFAR-10 runs, diffs are centred on 0 "
               f"(|mean| < {CENTRE_MARGIN}·std, on average over the tensors)",
               "mean-centred, most diffs near 0 (Figs. 3.1, 3.2)",
               f"the 95 % interval over seeds of the tensors' mean |mean| / std lies wholly above {CENTRE_MARGIN}",
               "Figures 3.1, 3.2")
    return c.decide(f"|mean| / std {t['a']:.3f} ({_per(t)}); margin {CENTRE_MARGIN}", t, scale=scale, groups=groups)


def normal_claim(summ: pd.DataFrame, scale: str = "") -> Decided:
    """The same diffs are roughly normal: each seed's mean over the tensors of |excess kurtosis| below
    :data:`KURTOSIS_MARGIN`, over seeds (:func:`normal_test`)."""
    t, groups = normal_test(summ)
    c = _claim("3-diffs-roughly-normal",
               "at the highest-coherence epoch of the CIFAR-10 runs, diffs are roughly normal "
               f"(|excess kurtosis| < {KURTOSIS_MARGIN}, on average over the tensors)",
               "roughly normally distributed (Figs. 3.1, 3.2)",
               f"the 95 % interval over seeds of the tensors' mean |excess kurtosis| lies wholly above {KURTOSIS_MARGIN}",
               "Figures 3.1, 3.2")
    return c.decide(f"|excess kurtosis| {t['a']:.2f} ({_per(t)}); margin {KURTOSIS_MARGIN}", t, scale=scale,
                    groups=groups)


def wider_claim(summ: pd.DataFrame, scale: str = "") -> Decided:
    """Diffs have a larger std at the highest- than at the lowest-coherence epoch (:func:`wider_test`)."""
    t, groups = wider_test(summ)
    c = _claim("3-diffs-wider-at-max-coherence",
               "diffs spread wider at the highest-coherence epoch than at the lowest",
               "larger standard deviation of diffs when coherence is high (Figs. 3.1, 3.2)",
               "the 95 % interval over seeds of log(std at max / std at min), each seed's mean over both runs and "
               "every tensor, lies wholly below 0", "Figures 3.1, 3.2", "C2")
    return c.decide(f"log(std at max / std at min) {t['diff']:+.3f} (ratio {math.exp(t['diff']):.3f}; mean over "
                    f"{t['n']} seeds of each seed's mean over {t.get('groups', 1)} (run, tensor) pairs)", t,
                    scale=scale, groups=groups)


def gaussian_not_smaller_claim(summ: pd.DataFrame, scale: str = "") -> Decided:
    """Gaussian-run diffs are not smaller than the real run's by more than a factor 1.25 in std
    (non-inferiority, :func:`not_smaller_test`)."""
    t, groups = not_smaller_test(summ)
    lr = t["diff"] - SPREAD_MARGIN
    f = math.exp(SPREAD_MARGIN)
    c = _claim("3-gaussian-diffs-not-smaller",
               "Gaussian-data diffs are not smaller than real-data diffs (highest-coherence epochs): "
               f"std Gaussian > std real / {f:.2f}",
               "training on Gaussian data does not give smaller diffs (section 3.2)",
               f"the 95 % interval over seeds of the tensors' mean log(std Gaussian / std real) lies wholly below "
               f"−log {f:.2f} (Gaussian diffs narrower by more than a factor {f:.2f})", "Figures 3.1, 3.2", "C3")
    return c.decide(f"log(std Gaussian / std real) {lr:+.3f} (ratio {math.exp(lr):.3f}; {_per(t)}); the interval "
                    f"shown is of that log ratio + log {f:.2f}, held above 0", t, scale=scale, groups=groups)


def gaussian_similar_claim(summ: pd.DataFrame, scale: str = "") -> Decided:
    """Gaussian- and real-run diffs have about the same std in each tensor: each seed's mean over the tensors
    of |log ratio| below :data:`SPREAD_MARGIN`, over seeds (:func:`similar_test`)."""
    t, groups = similar_test(summ)
    f = math.exp(SPREAD_MARGIN)
    c = _claim("3-gaussian-diffs-similar-to-real",
               "Gaussian- and real-data diffs spread about the same (highest-coherence epochs): stds within a "
               f"factor {f:.2f}, on average over the tensors",
               "diff distributions are similar for real and random training data (section 3.2)",
               f"the 95 % interval over seeds of the tensors' mean |log(std Gaussian / std real)| lies wholly above "
               f"log {f:.2f} = {SPREAD_MARGIN:.3f}", "Figures 3.1, 3.2", "C3")
    return c.decide(f"|log(std Gaussian / std real)| {t['a']:.3f} (a factor {math.exp(t['a']):.3f}; {_per(t)}); "
                    f"margin {SPREAD_MARGIN:.3f}", t, scale=scale, groups=groups)


def vit_spikes_claim(summ: pd.DataFrame, arch_vit: str, scale: str = "") -> Decided:
    """In the ViT the Gaussian run has a larger share of |diff| = 1 than the real run (:func:`spikes_test`)."""
    t, groups = spikes_test(summ, arch_vit)
    c = _claim("3-vit-gaussian-diff-spikes",
               f"[{arch_vit}] Gaussian diffs pile up at ±1 (all samples agree) more than real diffs",
               "spikes at the edges of the ViT's Gaussian diff histograms (Fig. 3.2)",
               "the 95 % interval over seeds of the ViT tensors' mean share of |diff| = 1, Gaussian − real, lies "
               "wholly below 0", "Figure 3.2")
    return c.decide(f"share of |diff| = 1: Gaussian {t['a']:.3g}, real {t['b']:.3g} ({_per(t)})", t, scale=scale,
                    groups=groups)


def move_alike_claim(fam: str, arch: str, k: int, high: Sequence[float], low: Sequence[float],
                     rho: Sequence[float], scale: str = "") -> Decided:
    """High- and low-|diff| weights move about the same distance: per seed, the relative difference of the
    two groups' mean |w_T - w_0| lies within :data:`MOVE_MARGIN` of 0 (:func:`move_test`, one value per
    seed). ``rho``: per seed, Spearman's ρ(|diff|, |w_T - w_0|) over the whole tensor (reported, not tested)."""
    t = move_test(high, low)
    c = _claim(f"3-{FAMILY[fam]}-high-low-diff-move-alike",
               f"[{arch}] high- and low-|diff| weights move about the same distance (within a factor 2)",
               "no discernible difference between the two groups' trajectories (Figs. 3.3, 3.4)",
               f"the 90 % interval over seeds of the relative difference (high − low) / mean(high, low) of the mean "
               f"|w_T − w_0| lies wholly outside ±{MOVE_MARGIN:.2f} (one group moves more than twice as far)",
               "Figure 3.3" if fam == "cnn" else "Figure 3.4")
    return c.decide(f"mean |w_T − w_0| of the {k} highest-|diff| weights {np.mean(high):.3g}, of the {k} lowest "
                    f"{np.mean(low):.3g}; relative difference {t['diff']:+.2f} (margin ±{MOVE_MARGIN:.2f}) over "
                    f"{t['n']} seeds; over every entry, Spearman ρ(|diff|, |w_T − w_0|) = {np.mean(rho):.3f}",
                    t, scale=scale)


def decide(s: Setup, summ: pd.DataFrame, m: pd.DataFrame) -> list[Decided]:
    """Every chapter-3 claim decided, in the notebook's order, from the diff summary ``summ`` (every seed) and
    :func:`measure`'s table ``m`` (the displacements and the scale), each with its per-group frame."""
    both = scale_text(s.profile, s.archs, m, list(s.archs))
    out = [centred_claim(summ, both), normal_claim(summ, both), wider_claim(summ, both),
           gaussian_not_smaller_claim(summ, both), gaussian_similar_claim(summ, both),
           vit_spikes_claim(summ, s.archs["vit"], scale_text(s.profile, s.archs, m, ["vit"]))]
    for fam, arch in s.archs.items():
        rows = m[m.family == fam]
        out.append(move_alike_claim(fam, arch, s.params.k, rows.move_high.tolist(), rows.move_low.tolist(),
                                    rows.rho_displacement.tolist(), scale_text(s.profile, s.archs, m, [fam])))
    return out


def claims(s: Setup, summ: pd.DataFrame, m: pd.DataFrame) -> list[Verdict]:
    """Every chapter-3 verdict (:func:`decide`), in the notebook's order."""
    return verdicts_of(decide(s, summ, m))


def intervals(s: Setup, summ: pd.DataFrame, m: pd.DataFrame) -> pd.DataFrame:
    """The per-group intervals behind every chapter-3 verdict (:func:`verdicts.intervals_frame`)."""
    return intervals_frame(decide(s, summ, m))


def verdicts(s: Setup, r: Results) -> list[Verdict]:
    """Chapter 3's verdicts (pure: nothing is stored or printed): :func:`claims` of the results."""
    return claims(s, r.summary, measure(s, r))
