"""Chapter 3: diffs, a per-weight view of coherence (thesis Figs. 3.1-3.4), from chapter 2's runs of one seed.

The notebook calls :func:`setup`, :func:`results`, one function per figure and table, the explorer
(:func:`explorer`) and :func:`verdicts`; each claim is one small function of a diff summary table or
of a displacement test's numbers, so tests can feed it hand-made values.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from .. import profiles
from ..config import Stages, TrainConfig
from ..runs import Run, get_or_train, train_stages
from . import params as check
from . import realdata as rd
from .ch02_coherence import FAMILY, check_large, large_profile, large_settings, make_verdict
from .ch02_coherence import style  # noqa: F401  (the notebook calls ch.style())
from .figures import Provenance, show
from .realdata import run_configs
from .verdicts import Verdict, majority

#: The runs chapter 3 reads (chapter 2's fresh runs).
RUNS = ("real", "gaussian")
#: Columns of the diff summary tables under Figures 3.1 and 3.2.
SUMMARY_COLUMNS = ["epoch", "coherence", "mean", "std", "mean_abs", "frac_abs_one", "frac_zero", "excess_kurtosis"]


@dataclass(frozen=True)
class Params:
    """The notebook's papermill parameters (same names and defaults). None: the profile's value."""

    profile: str = "cpu"
    seed: int = 0
    arch_cnn: str | None = None
    arch_vit: str | None = None
    epochs: int | None = None  # real-data epochs of both models
    epochs_gaussian: int | None = None  # Gaussian-data epochs
    n_train: int | None = None  # training images, real and Gaussian (profile: n_train_large)
    n_test: int | None = None  # test images (profile: n_test_large)
    stats_max_samples: int | None = None  # images used for the per-sample gradient statistics and diffs
    k: int = 10  # highest- and lowest-|diff| weights followed in Figures 3.3 and 3.4
    n_perm: int = 20000  # label permutations of the displacement test
    alpha_test: float = 0.05  # significance level of that test
    centre_tol: float = 0.25  # "centred": |mean diff| below centre_tol standard deviations
    kurtosis_tol: float = 1.0  # "roughly normal": |excess kurtosis| below this

    def __post_init__(self) -> None:
        check_large(self)
        check.integer(self.k, "k", minimum=1)
        check.integer(self.n_perm, "n_perm", minimum=1)
        check.number(self.alpha_test, "alpha_test", low=0.0, high=1.0, low_open=True, high_open=True)
        check.number(self.centre_tol, "centre_tol", low=0.0, low_open=True)
        check.number(self.kurtosis_tol, "kurtosis_tol", low=0.0, low_open=True)


@dataclass(frozen=True)
class Setup:
    """Chapter 3's parameters, resolved profile, architectures and the real/gaussian configs of ``seed``."""

    params: Params
    profile: profiles.Profile
    archs: dict[str, str]
    configs: dict[str, dict[str, TrainConfig]]  # family -> {run name: config}


def setup(**params: Any) -> Setup:
    """Validate the parameters (errors name the parameter and its value) and resolve the chapter."""
    p = check.build(Params, params)
    prof = large_profile(p)
    archs = {"cnn": prof.arch_cnn, "vit": prof.arch_vit}
    return Setup(p, prof, archs, {fam: run_configs(prof, arch, p.seed) for fam, arch in archs.items()})


def plan(s: Setup) -> Stages:
    """One stage: the real and gaussian runs of both architectures (chapter 2's, for ``seed``)."""
    return [[c[k] for c in s.configs.values() for k in ("real", "gaussian")]]


# ------------------------------------------------------------------------------------ results
@dataclass(frozen=True)
class Results:
    """Chapter 3's runs and the tables its figures draw (all of seed ``params.seed``).

    runs: family -> run name ("real", "gaussian") -> run. layers: family -> its four representative
    weight tensors. hist: family -> run name -> :func:`realdata.diff_histograms`. summary: every
    :func:`realdata.diff_summary` row, with arch and run columns. traj: family ->
    :func:`realdata.extreme_diff_trajectories` of its real run (``k`` per group).
    """

    runs: dict[str, dict[str, Run]]
    layers: dict[str, list[str]]
    hist: dict[str, dict[str, pd.DataFrame]]
    summary: pd.DataFrame
    traj: dict[str, pd.DataFrame]


def results(s: Setup) -> Results:
    """Train (or load) exactly :func:`plan`'s runs, then read their diffs, histograms and trajectories."""
    train_stages(plan(s))
    runs = {fam: {n: get_or_train(c[n], progress=False) for n in RUNS} for fam, c in s.configs.items()}
    layers = {fam: rd.representative_layers(runs[fam]["real"].load_model()) for fam in runs}
    hist = {fam: {n: rd.diff_histograms(runs[fam][n], layers=layers[fam]) for n in RUNS} for fam in runs}
    summ = pd.concat([rd.diff_summary(runs[fam][n], layers=layers[fam]).assign(arch=arch, run=n)
                      for fam, arch in s.archs.items() for n in RUNS], ignore_index=True)
    traj = {fam: rd.extreme_diff_trajectories(runs[fam]["real"], k=s.params.k) for fam in runs}
    return Results(runs, layers, hist, summ, traj)


def provenance(s: Setup, fam: str, gaussian: bool = True) -> str:
    """Caption provenance: the real run's settings, the Gaussian run's epochs (when ``gaussian``)."""
    p, cfg = s.profile, s.configs[fam]["real"]
    text = Provenance.of(p.name, cfg).text()
    if gaussian:
        text += f"; Gaussian run {p.epochs_gaussian} epochs on {cfg.data.n_train or 50000:,d} noise images"
    return text + f"; diffs on {p.stats_max_samples or 'all'} training images"


# --------------------------------------------------------------------------- figures, tables
def settings_table(s: Setup) -> pd.DataFrame:
    """The chapter's settings: profile, models, epochs, data sizes, seed and k."""
    return large_settings(s.profile, "images for diffs", {"seed": s.params.seed, "k": s.params.k})


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
    """The diff summary of ``fam``'s tensors per run, layer and epoch kind (:data:`SUMMARY_COLUMNS`)."""
    summ = r.summary
    return summ[summ.arch == s.archs[fam]].set_index(["run", "layer", "which"])[SUMMARY_COLUMNS]


def _trajectory_figure(s: Setup, r: Results, fam: str, number: str, model: str) -> None:
    arch, k = s.archs[fam], s.params.k
    layer = s.configs[fam]["real"].track[0]
    show(rd.fig_trajectories(r.traj[fam], f"{arch} {layer}: {k} highest- and {k} lowest-|diff| weights"),
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
    """:func:`realdata.trajectory_summary` of ``fam``'s trajectories, one row per group."""
    return rd.trajectory_summary(r.traj[fam]).set_index("group")


def seeds_line(s: Setup) -> str:
    """Markdown line above the verdict table: profile and seed."""
    return f"Profile `{s.profile.name}`, seed {s.params.seed} (one seed: every verdict is tentative)."


# ----------------------------------------------------------------------------------- explorer
def _explorer_keys(s: Setup) -> dict[str, tuple[str, str]]:
    """The explorer's run menu: "<arch> / <run name>" -> (family, run name)."""
    return {f"{arch} / {n}": (fam, n) for fam, arch in s.archs.items() for n in RUNS}


def explorer_runs(s: Setup, r: Results) -> dict[str, Run]:
    """The explorer's run menu: "<arch> / <run name>" -> that run."""
    return {key: r.runs[fam][n] for key, (fam, n) in _explorer_keys(s).items()}


def explorer_default(s: Setup, r: Results) -> tuple[str, str, int]:
    """The explorer's first view: the ResNet's CIFAR-10 run, its tracked tensor, its highest-coherence epoch."""
    real = r.runs["cnn"]["real"]
    return f"{s.archs['cnn']} / real", real.config.track[0], rd.peak_coherence(real)["epoch_max"]


def explorer(s: Setup, r: Results, key: str, layer: str, epoch: int) -> None:
    """Show the diff histogram of ``layer`` after ``epoch`` and the coherence curve of run ``key``; nothing
    when ``layer`` or ``epoch`` does not belong to that run (the menus are being updated)."""
    fam, n = _explorer_keys(s)[key]
    run = r.runs[fam][n]
    if layer not in rd.layers_with_histograms(run) or epoch not in rd.hist_epochs(run):
        return
    show(rd.fig_explorer(r.runs[fam], n, layer, epoch), "Explorer",
         f"Diffs of `{layer}` after epoch {epoch} (left) and coherence per epoch (right), {key}",
         provenance(s, fam, gaussian=(n == "gaussian")))


# ----------------------------------------------------------------------------------- verdicts
def _verdict(claim_id: str, claim: str, thesis: str, ours: str, verdict: str, figure: str) -> Verdict:
    return make_verdict("03", claim_id, claim, thesis, ours, verdict, figure, tentative=True)


def share_verdict(flags: Any) -> str:
    """"held" when the claim is true in more than half of the cases ``flags`` (booleans), "not held" in
    fewer, "tie" at exactly half (:func:`verdicts.majority`); "not measured at this scale" with none."""
    flags = [bool(x) for x in flags]
    return majority(["held" if x else "not held" for x in flags]) if flags else "not measured at this scale"


def centred_normal_claim(summ: pd.DataFrame, centre_tol: float, kurtosis_tol: float) -> Verdict:
    """At the highest-coherence epoch of the real runs, |mean| < centre_tol·std and |excess kurtosis| <
    kurtosis_tol in most tensors. ``summ``: rows with run, which, mean, std, excess_kurtosis."""
    real_max = summ[(summ.run == "real") & (summ.which == "max")]
    ok = (real_max["mean"].abs() < centre_tol * real_max["std"]) & (real_max.excess_kurtosis.abs() < kurtosis_tol)
    return _verdict("3-diffs-centred-normal",
                    "at the highest-coherence epoch of the CIFAR-10 runs, diffs are roughly normal and centred on 0",
                    "roughly normally distributed, mean-centred, most diffs near 0 (Figs. 3.1, 3.2)",
                    f"{ok.sum()} of {len(ok)} tensors have |mean| < {centre_tol}·std and |excess kurtosis| < {kurtosis_tol} "
                    f"(median |mean|/std {float((real_max['mean'].abs() / real_max['std']).median()):.3f}, "
                    f"median excess kurtosis {float(real_max.excess_kurtosis.median()):.2f})",
                    share_verdict(ok), "Figures 3.1, 3.2")


def wider_claim(summ: pd.DataFrame) -> Verdict:
    """Diffs have a larger std at the highest- than at the lowest-coherence epoch in most run × tensor
    cases. ``summ``: rows with arch, run, layer, which ("max"/"min"), std."""
    wide = summ.pivot_table(index=["arch", "run", "layer"], columns="which", values="std")
    wider = wide["max"] > wide["min"]
    return _verdict("3-diffs-wider-at-max-coherence", "diffs spread wider at the highest-coherence epoch than at the lowest",
                    "larger standard deviation of diffs when coherence is high (Figs. 3.1, 3.2)",
                    f"std(max epoch) > std(min epoch) in {wider.sum()} of {len(wider)} run × tensor cases "
                    f"(median ratio {float((wide['max'] / wide['min']).median()):.3f})",
                    share_verdict(wider), "Figures 3.1, 3.2")


def gaussian_not_smaller_claim(summ: pd.DataFrame) -> Verdict:
    """At the highest-coherence epochs, Gaussian-run diffs have a std >= the real run's in most tensors.
    ``summ``: rows with arch, layer, run, which, std."""
    mx = summ[summ.which == "max"].pivot_table(index=["arch", "layer"], columns="run", values="std")
    not_smaller = mx["gaussian"] >= mx["real"]
    return _verdict("3-gaussian-diffs-not-smaller",
                    "Gaussian-data diffs are not smaller than real-data diffs (highest-coherence epochs)",
                    "training on Gaussian data does not give smaller diffs",
                    f"std Gaussian >= std real in {not_smaller.sum()} of {len(not_smaller)} tensors "
                    f"(median ratio Gaussian/real {float((mx['gaussian'] / mx['real']).median()):.3f})",
                    share_verdict(not_smaller), "Figures 3.1, 3.2")


def vit_spikes_claim(summ: pd.DataFrame, arch_vit: str) -> Verdict:
    """In most ViT tensors the Gaussian run has a larger (and nonzero) share of |diff| = 1 than the real
    run. ``summ``: rows with arch, layer, run, which, frac_abs_one."""
    v = summ[(summ.arch == arch_vit) & (summ.which == "max")].pivot_table(index="layer", columns="run",
                                                                         values="frac_abs_one")
    spikes = (v["gaussian"] > v["real"]) & (v["gaussian"] > 0)
    return _verdict("3-vit-gaussian-diff-spikes",
                    f"[{arch_vit}] Gaussian diffs pile up at ±1 (all samples agree) more than real diffs",
                    "spikes at the edges of the ViT's Gaussian diff histograms (Fig. 3.2)",
                    "share of |diff| = 1, Gaussian vs real: " + ", ".join(
                        f"{layer.split('.weight')[0]} {g:.3g} vs {r:.3g}"
                        for layer, g, r in zip(v.index, v["gaussian"], v["real"])),
                    share_verdict(spikes), "Figure 3.2")


def move_alike_claim(fam: str, arch: str, test: dict[str, float], corr: dict[str, float], alpha: float) -> Verdict:
    """High- and low-|diff| weights move alike: held when the displacement test's p >= ``alpha``.
    ``test``: :func:`realdata.displacement_test`; ``corr``: :func:`realdata.diff_displacement_correlation`."""
    t, c = test, corr
    return _verdict(f"3-{FAMILY[fam]}-high-low-diff-move-alike",
                    f"[{arch}] high- and low-|diff| weights move about the same distance",
                    "no discernible difference between the two groups' trajectories (Figs. 3.3, 3.4)",
                    f"mean |w_T − w_0|: high {t['mean_high']:.3g}, low {t['mean_low']:.3g} (ratio {t['ratio']:.2f}, "
                    f"permutation p = {t['p']:.3f}); over all {c['n']:,d} entries, Spearman ρ(|diff|, |w_T − w_0|) = "
                    f"{c['rho_displacement']:.3f} and ρ(|diff|, |w_T|) = {c['rho_magnitude']:.3f}",
                    "held" if t["p"] >= alpha else "not held", "Figure 3.3" if fam == "cnn" else "Figure 3.4")


def verdicts(s: Setup, r: Results) -> list[Verdict]:
    """Chapter 3's verdicts (pure: nothing is stored or printed), in the notebook's order."""
    p = s.params
    out = [centred_normal_claim(r.summary, p.centre_tol, p.kurtosis_tol), wider_claim(r.summary),
           gaussian_not_smaller_claim(r.summary), vit_spikes_claim(r.summary, s.archs["vit"])]
    for fam, arch in s.archs.items():
        test = rd.displacement_test(r.traj[fam], n_perm=p.n_perm, seed=p.seed)
        corr = rd.diff_displacement_correlation(r.runs[fam]["real"])
        out.append(move_alike_claim(fam, arch, test, corr, p.alpha_test))
    return out
