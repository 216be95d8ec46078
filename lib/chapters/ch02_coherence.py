"""Chapter 2: coherence on real versus Gaussian data (thesis Figs. 2.1-2.4, section 2.2's "gravity" check).

Per architecture (the profile's ResNet and ViT) and seed, three runs with gradient statistics: a fresh
initialisation on CIFAR-10 ("real"), the same initialisation on Gaussian noise ("gaussian"), and the
real run's final weights trained further on Gaussian noise ("real_then_gaussian").

The notebook calls :func:`setup`, :func:`results`, one function per figure and table, and
:func:`claims` of the per-seed numbers :func:`measure` and :func:`windows` read from the runs (the
notebook shows both tables before the verdicts). Each claim is written once with
:class:`verdicts.Claim` (its text, the thesis's statement, the result that would make it not held, the
conclusion it bears on) and decided by one small function of those numbers (:mod:`lib.chapters.ch02_claims`;
tests feed them hand-made values). The seed is the replicate: every claim compares one value per seed and
side, runs of the same seed paired (:func:`seed_tests.paired`); a window of epochs is first averaged within
each seed (:func:`seed_tests.paired_groups`), so n is the number of seeds. A claim is held or not held only
when the interval of the mean paired difference lies wholly on one side. Every coherence figure draws the floor
1/n of n unrelated gradients, and every table of coherence gives the debiased value (n α − 1)/(n − 1)
beside α.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import pandas as pd
from IPython.display import Markdown

from .. import parallel, profiles
from ..config import TrainConfig
from ..plan import Plan, from_configs
from ..runs import Run, load
from . import params as check
from . import large_runs
from . import realdata as rd
from .ch02_claims import (CURVE_FIGURE, EPOCH0_NOTE, WINDOW_SIDES, early_claim, fresh_claim, gravity_claim, late_claim,
                          magnitudes_claim, memorisation_claim, peak_claim, vit_memorises_less_claim, window_test)
from .figures import Provenance, show
from .large_runs import FLOOR_NOTE, check_large, large_profile, large_settings, scale_text, stats_n, with_debiased
from .realdata import run_configs
from .verdicts import Decided, Verdict, intervals_frame, verdicts_of


CHAPTER = "02"
FAMILIES = ("cnn", "vit")


@dataclass(frozen=True)
class Params:
    """The notebook's papermill parameters (same names and defaults). None: the profile's value."""

    profile: str = "cpu"
    seed: int = 0
    seeds: Any = None  # list of seeds for the verdicts; None: the profile's seeds
    arch_cnn: str | None = None
    arch_vit: str | None = None
    epochs: int | None = None  # real-data epochs of both models
    epochs_gaussian: int | None = None  # Gaussian-data epochs (fresh init and trained init)
    n_train: int | None = None  # training images, real and Gaussian (profile: n_train_large)
    n_test: int | None = None  # test images (profile: n_test_large)
    stats_max_samples: int | None = None  # images used for the per-sample gradient statistics
    early_frac: float = 0.25  # "early epochs": the first early_frac of the real-data run
    memorised_acc: float = 0.95  # final train accuracy on Gaussian data that counts as memorised

    def __post_init__(self) -> None:
        check_large(self)
        check.integers(self.seeds, "seeds", minimum=0)
        check.number(self.early_frac, "early_frac", low=0.0, high=1.0, low_open=True)
        check.number(self.memorised_acc, "memorised_acc", low=0.0, high=1.0)


@dataclass(frozen=True)
class Setup:
    """What chapter 2 runs on: its parameters, the resolved profile, seeds and run configs.

    seeds: the verdicts' seeds, ``seed`` first when it is not among them (``seed`` draws the figures).
    archs: family ("cnn", "vit") -> architecture name. configs: (family, seed) -> {run name: config}.
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
    configs = {(fam, s): run_configs(prof, arch, s) for fam, arch in archs.items() for s in seeds}
    return Setup(p, prof, seeds, archs, configs)


def plan(s: Setup) -> Plan:
    """[real and gaussian runs], then [real_then_gaussian runs] (they start from the real runs' weights)."""
    return from_configs([[c[k] for c in s.configs.values() for k in ("real", "gaussian")],
                         [c["real_then_gaussian"] for c in s.configs.values()]])


# ------------------------------------------------------------------------------------ results
@dataclass(frozen=True)
class Results:
    """Chapter 2's runs and the curves its figures draw.

    runs: family -> seed -> run name (:data:`lib.chapters.realdata.RUN_NAMES`) -> run.
    seed: the seed whose runs the figures draw. curves: family -> :func:`realdata.curves` of that seed.
    """

    runs: dict[str, dict[int, dict[str, Run]]]
    seed: int
    curves: dict[str, pd.DataFrame]

    def of_seed(self, fam: str) -> dict[str, Run]:
        """The three runs of family ``fam`` for the figures' seed."""
        return self.runs[fam][self.seed]


def results(s: Setup) -> Results:
    """Train :func:`plan`'s missing runs (the one executor, :func:`lib.parallel.train`; nothing when the build
    has), then read them (:func:`lib.runs.load`) per family and seed."""
    parallel.train(plan(s))
    runs = {fam: {seed: {k: load(cfg, chapter=CHAPTER) for k, cfg in s.configs[(fam, seed)].items()}
                  for seed in s.seeds} for fam in s.archs}
    seed = s.params.seed
    return Results(runs, seed, {fam: rd.curves(runs[fam][seed]) for fam in s.archs})


#: Shared with chapter 3 (:mod:`lib.chapters.large_runs`); the notebook calls ``ch.style()``, ``ch.seeds_line(S)``.
style = large_runs.style
seeds_line = large_runs.seeds_line


def provenance(s: Setup, fam: str, runs: Sequence[str] = ("real", "gaussian")) -> str:
    """Caption provenance: the real run's settings plus the Gaussian runs' epochs (when ``runs`` has any)."""
    p, cfg = s.profile, s.configs[(fam, s.params.seed)]["real"]
    text = Provenance.of(p.name, cfg).text()
    if any(r != "real" for r in runs):
        text += f"; Gaussian runs {p.epochs_gaussian} epochs on {cfg.data.n_train or 50000:,d} noise images"
    return text + f"; gradient statistics on {stats_n(s, fam):,d} training images"


# --------------------------------------------------------------------------- figures, tables
def settings_table(s: Setup) -> pd.DataFrame:
    """The chapter's settings: profile, models, epochs, data sizes, seeds."""
    return large_settings(s.profile, "images for gradient statistics", {"seeds": list(s.seeds)})


def scale_note(s: Setup) -> Markdown:
    """The paragraph on this build's scale, from the setup (never typed): models, images and epochs against
    the thesis's (the ``paper`` profile's), the floor 1/n of the coherence for this build's n, and which
    seed the figures draw."""
    p, thesis = s.profile, profiles.get("paper")
    cnn, vit = (s.configs[(fam, s.params.seed)] for fam in ("cnn", "vit"))
    n = stats_n(s, "cnn")
    return Markdown(
        f"At profile `{p.name}` the networks are `{s.archs['cnn']}` and `{s.archs['vit']}`, trained on "
        f"{cnn['real'].data.n_train or 50000:,d} CIFAR-10 images for {cnn['real'].epochs} (ResNet) and "
        f"{vit['real'].epochs} (ViT) real-data epochs and {cnn['gaussian'].epochs} Gaussian epochs, against the thesis's "
        f"{thesis.epochs_real_cnn} / {thesis.epochs_real_vit} and {thesis.epochs_gaussian} epochs on all 50,000, so "
        "a verdict here is about that setting; each verdict row says how far its runs got. The coherence of "
        f"unrelated gradients averaged over the n = {n:,d} images of the statistics is 1/n = {1 / n:.4f}. "
        f"The figures and the tables beside them draw the runs of seed {s.params.seed}; the verdicts, and the "
        f"table of per-seed numbers above them, use seeds {', '.join(map(str, s.seeds))}.")


def _curves_figure(s: Setup, r: Results, fam: str, model: str) -> None:
    arch = s.archs[fam]
    every = [rd.curves(r.runs[fam][sd]) for sd in s.seeds] if len(s.seeds) > 1 else []
    data = pd.concat([r.curves[fam].assign(seed=r.seed)] + [c[c.metric == "coherence"].assign(seed=sd)
                                                             for sd, c in zip(s.seeds, every) if sd != r.seed])
    show(rd.fig_curves(r.curves[fam], f"{arch}: CIFAR-10 versus Gaussian data", stats_n(s, fam), every_seed=every),
         CURVE_FIGURE[fam],
         f"{model} ({arch}) trained from the same initialisation on CIFAR-10 and on Gaussian noise with random "
         "labels: coherence per epoch (left; "
         + (f"each of seeds {', '.join(map(str, s.seeds))} thin, their mean thick" if every else "one seed")
         + f"), cross-entropy loss (middle) and accuracy (right) of seed {r.seed}, training solid and test "
         f"dashed; {FLOOR_NOTE}. The peak-coherence verdicts read epochs 1 onward: {EPOCH0_NOTE.split(';')[0]}",
         provenance(s, fam), data=data)


def figure_2_1(s: Setup, r: Results) -> None:
    """Fig. 2.1: the ResNet's coherence, loss and accuracy on CIFAR-10 and on Gaussian data (shown)."""
    _curves_figure(s, r, "cnn", "ResNet")


def figure_2_2(s: Setup, r: Results) -> None:
    """Fig. 2.2: the same for the ViT (shown)."""
    _curves_figure(s, r, "vit", "ViT")


def peak_table(s: Setup, r: Results, fam: str) -> pd.DataFrame:
    """Highest and lowest coherence and their epochs, and coherence at initialisation, of the real and
    Gaussian runs of ``fam`` (the figures' seed), each α with its debiased value beside it."""
    df = pd.DataFrame({k: rd.peak_coherence(r.of_seed(fam)[k]) for k in ("real", "gaussian")}).T.rename_axis("run")
    return with_debiased(df, ("max", "min", "init"), stats_n(s, fam))


def figure_2_3(s: Setup, r: Results) -> None:
    """Fig. 2.3: the bottom 99 % of |w| of the ResNet at initialisation and after each training (shown)."""
    arch = s.archs["cnn"]
    wm = rd.weight_magnitudes(s.profile, arch, r.of_seed("cnn"))
    show(rd.fig_magnitudes(wm, f"{arch}: |w| below each state's 99th percentile", bins=MAGNITUDE_BINS), "Figure 2.3",
         f"Distribution of the bottom 99 % of weight magnitudes of {arch} at initialisation, after training on "
         "CIFAR-10 and after training on Gaussian data (density histograms, all weight tensors pooled; the data "
         "link gives the histograms drawn)", provenance(s, "cnn"), data=magnitude_histograms(wm))


#: Bins of Figure 2.3's histograms, from 0 to the largest |w| drawn.
MAGNITUDE_BINS = 80


def magnitude_histograms(wm: pd.DataFrame, bins: int = MAGNITUDE_BINS) -> pd.DataFrame:
    """Figure 2.3's histograms as a frame (state, left, right, density in 1 / unit of |w|): the same equal bins
    from 0 to the largest |w| of ``wm`` (:func:`realdata.weight_magnitudes`) that the figure draws."""
    edges = np.linspace(0, float(wm.value.max()), bins + 1)
    return pd.concat([pd.DataFrame({"state": st, "left": edges[:-1], "right": edges[1:],
                                    "density": np.histogram(g.value, bins=edges, density=True)[0]})
                      for st, g in wm.groupby("state", sort=False)], ignore_index=True)


MAGNITUDE_LEAD = ("**Weight magnitudes**: median, mean and 99th percentile of |w| over all weights, median and mean "
                  "of the bottom 99 %, and the Kolmogorov-Smirnov distance of each bottom-99 % distribution to the real "
                  "run's (`ks_to_real`) and to the initialisation's (`ks_to_init`).")
DISTANCE_LEAD = ("**Distance travelled**: ||w_T − w_0|| / ||w_0|| over all weight tensors (`own`: from the weights the "
                 "run started from; `random`: from the random initialisation), and the median of the same ratio per tensor.")


def magnitude_table(s: Setup, r: Results) -> pd.DataFrame:
    """:func:`realdata.magnitude_summary` of both architectures (the figures' seed); see :data:`MAGNITUDE_LEAD`."""
    return pd.concat([rd.magnitude_summary(s.profile, arch, r.of_seed(fam)).assign(arch=arch)
                      for fam, arch in s.archs.items()]).set_index(["arch", "state"])


def distance_table(s: Setup, r: Results) -> pd.DataFrame:
    """:func:`realdata.distance_from_init` of both architectures (the figures' seed); see :data:`DISTANCE_LEAD`."""
    return pd.concat([rd.distance_from_init(r.of_seed(fam)).assign(arch=arch)
                      for fam, arch in s.archs.items()]).set_index(["arch", "run", "start"])


def _runs_figure(s: Setup, r: Results, fam: str, number: str, model: str) -> None:
    arch = s.archs[fam]
    cv = r.curves[fam]
    coh = cv[cv.metric == "coherence"]
    start = coh[(coh.run == "real_then_gaussian") & (coh.epoch == 0)].value
    at0 = f" (α = {start.iloc[0]:.3g} here)" if len(start) else ""
    show(rd.fig_coherence_runs(r.curves[fam], f"{arch}: fresh init on CIFAR-10 vs trained init on Gaussian data",
                               stats_n(s, fam)),
         number, f"{model}: coherence per epoch of a randomly initialised network trained on CIFAR-10 and of the "
         "CIFAR-10-trained network then trained on Gaussian data (epoch 0 = its starting point, the trained weights); "
         f"{FLOOR_NOTE}. The verdict on this figure compares the two runs' peaks over epochs 1 onward: epoch 0 "
         f"(shaded) is left out of both; for the trained-init run it is the CIFAR-10-trained network it starts from"
         f"{at0}, measured on Gaussian images before any step on them, so its coherence is what CIFAR-10 training "
         "left, not what Gaussian training reached", provenance(s, fam, runs=rd.RUN_NAMES), data=coh)


def figure_2_4(s: Setup, r: Results) -> None:
    """Fig. 2.4: the ResNet's coherence, fresh on CIFAR-10 versus CIFAR-10-trained then Gaussian (shown)."""
    _runs_figure(s, r, "cnn", "Figure 2.4", "ResNet")


def figure_2_4b(s: Setup, r: Results) -> None:
    """Our Fig. 2.4b: the same for the ViT (shown)."""
    _runs_figure(s, r, "vit", "Figure 2.4b", "ViT (ours; the thesis shows the ResNet only)")


# ----------------------------------------------------------------------------------- verdicts
def early_window(s: Setup, fam: str) -> tuple[int, int, int]:
    """(k, lo, last): the early window is epochs 1..k (the first ``early_frac`` of the real run, at least
    one epoch), the late window lo..last (its last k epochs)."""
    last = s.configs[(fam, s.params.seed)]["real"].epochs
    k = max(1, round(s.params.early_frac * last))
    return k, last - k + 1, last


def moved(run: Run) -> float:
    """||w_T - w_0|| / ||w_0|| of ``run`` from the weights it started from."""
    d = rd.distance_from_init({"x": run})
    return float(d[d.start == "own"].rel_distance.iloc[0])


def peak(run: Run) -> float:
    """The highest coherence of ``run`` over its trained epochs (epoch >= 1; see :data:`EPOCH0_NOTE`), NaN
    when any of those epochs has a non-finite or missing coherence (a diverged run has no peak to compare;
    the verdict then counts the seed as left out instead of reading the peak of what was left)."""
    m = run.metrics
    trained = m.loc[m.epoch >= 1, "coherence"].to_numpy(float)
    if len(trained) == 0 or not np.isfinite(trained).all():
        return float("nan")
    return float(rd.peak_coherence(run)["max"])


def window_mean(run: Run, first: int, last: int) -> float:
    """Mean coherence of ``run`` over epochs ``first``..``last`` inclusive, NaN when any of those epochs has
    no finite coherence (nothing is left out silently; :func:`windows` gives the epochs one by one)."""
    coh = run.metrics.set_index("epoch")["coherence"].reindex(range(first, last + 1)).to_numpy(float)
    return float(coh.mean()) if np.isfinite(coh).all() else float("nan")


#: Columns of :func:`measure` holding coherence (shown with their debiased values).
COHERENCE_MEASURES = ("peak_real", "peak_gaussian", "peak_real_then_gaussian", "early_real", "early_gaussian",
                      "late_real", "late_gaussian")
#: Columns of :func:`measure` (besides family and seed): one number per family and seed each.
MEASURES = (*COHERENCE_MEASURES, "train_acc_real", "test_acc_real", "final_acc_gaussian", "still_learning_gaussian",
            "ks_real_gaussian", "ks_real_init", "ks_gaussian_init", "moved_real", "moved_gaussian")


def measure(s: Setup, r: Results) -> pd.DataFrame:
    """What the verdicts compare, one row per family and seed (in ``s.seeds`` order): peak coherence
    of each run (:func:`peak`), mean coherence over the early and late windows (:func:`early_window`,
    :func:`window_mean`), the real run's final train and test accuracy, the Gaussian run's final train
    accuracy and whether it was still learning, the Kolmogorov-Smirnov distances between the bottom-99 %
    |w| of the real and Gaussian runs and the initialisation, and the distance each fresh run travelled
    (:func:`moved`)."""
    rows = []
    for fam, arch in s.archs.items():
        k, lo, last = early_window(s, fam)
        for seed in s.seeds:
            x = r.runs[fam][seed]
            real = x["real"].metrics
            ks = rd.magnitude_summary(s.profile, arch, x).set_index("state")
            rows.append({
                "family": fam, "seed": seed,
                **{f"peak_{n}": peak(x[n]) for n in rd.RUN_NAMES},
                "early_real": window_mean(x["real"], 1, k), "early_gaussian": window_mean(x["gaussian"], 1, k),
                "late_real": window_mean(x["real"], lo, last), "late_gaussian": window_mean(x["gaussian"], lo, last),
                "train_acc_real": float(real.train_acc.iloc[-1]), "test_acc_real": float(real.test_acc.iloc[-1]),
                "final_acc_gaussian": float(x["gaussian"].metrics.train_acc.iloc[-1]),
                "still_learning_gaussian": rd.still_learning(x["gaussian"]),
                "ks_real_gaussian": float(ks.ks_to_real["gaussian"]), "ks_real_init": float(ks.ks_to_init["real"]),
                "ks_gaussian_init": float(ks.ks_to_init["gaussian"]),
                "moved_real": moved(x["real"]), "moved_gaussian": moved(x["gaussian"])})
    return pd.DataFrame(rows, columns=["family", "seed", *MEASURES])


MEASURE_LEAD = ("**Per-seed numbers behind the verdicts** (one row per architecture and seed): peak coherence of each "
                "run over epochs 1 onward and mean coherence over the early and late windows, each α with its debiased "
                "value beside it; then the accuracies, the Kolmogorov-Smirnov distances between the bottom-99 % |w| of "
                "the real run, the Gaussian run and the initialisation, and the relative distance each fresh run "
                "travelled. A blank (NaN) value is a run with a missing or non-finite value; its verdict says so.")


def measure_tables(s: Setup, m: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """:func:`measure`'s table for display, in two parts indexed by (architecture, seed): the coherence
    columns with their debiased values, and the other columns; see :data:`MEASURE_LEAD`."""
    parts = []
    for fam, arch in s.archs.items():
        rows = m[m.family == fam].assign(arch=arch)
        parts.append(with_debiased(rows, COHERENCE_MEASURES, stats_n(s, fam)))
    df = pd.concat(parts).drop(columns="family").set_index(["arch", "seed"])
    coh = [c for c in df.columns if c.split(" ")[0] in COHERENCE_MEASURES]
    return df[coh], df[[c for c in df.columns if c not in coh]]


def windows(s: Setup, r: Results) -> pd.DataFrame:
    """Coherence per epoch of the early and late windows (:func:`early_window`), one row per family,
    window, seed, epoch and run ("real", "gaussian"); NaN where a run recorded no statistics that epoch
    (kept, so that the verdict counts it). The window claims average each seed's epochs first."""
    rows = []
    for fam in s.archs:
        k, lo, last = early_window(s, fam)
        for seed in s.seeds:
            for run in ("real", "gaussian"):
                coh = r.runs[fam][seed][run].metrics.set_index("epoch")["coherence"]
                for window, (first, end) in (("early", (1, k)), ("late", (lo, last))):
                    rows += [{"family": fam, "window": window, "seed": seed, "epoch": e, "run": run,
                              "coherence": float(coh.get(e, np.nan))} for e in range(first, end + 1)]
    return pd.DataFrame(rows, columns=["family", "window", "seed", "epoch", "run", "coherence"])


WINDOW_LEAD = ("**Per-epoch intervals of the window claims**: for each epoch of the early window (real > Gaussian) and "
               "of the late window (Gaussian > real), the mean over seeds of each run's α (`a` is the run the claim "
               "says is higher), the mean paired difference and its 95 % interval over seeds, for display. The "
               "verdict does not pool these rows: it averages each seed's α over the window's epochs first and "
               "pairs the two runs over seeds, so its n is the number of seeds.")


def window_table(s: Setup, w: pd.DataFrame) -> pd.DataFrame:
    """Per family, window and epoch: :func:`window_test`'s interval, the two means with their debiased
    values (see :data:`WINDOW_LEAD`)."""
    parts = []
    for fam, arch in s.archs.items():
        for window in WINDOW_SIDES:
            sub = w[(w.family == fam) & (w.window == window)]
            groups = with_debiased(window_test(sub, window)[1], ("a", "b"), stats_n(s, fam))
            parts.append(groups.assign(arch=arch, window=window))
    return pd.concat(parts).set_index(["arch", "window", "epoch"])


def decide(s: Setup, m: pd.DataFrame, w: pd.DataFrame) -> list[Decided]:
    """Every chapter-2 claim decided from :func:`measure`'s table ``m`` and :func:`windows`' table ``w``, in
    the notebook's order, each with the scale of its runs (:func:`scale_text`) and its per-group frame."""
    p, prof = s.params, s.profile
    col = {fam: {c: m.loc[m.family == fam, c].tolist() for c in MEASURES} for fam in s.archs}
    sc = {fam: scale_text(prof, s.archs, m, [fam]) for fam in s.archs}
    win = {(fam, x): w[(w.family == fam) & (w.window == x)] for fam in s.archs for x in WINDOW_SIDES}
    out = [peak_claim(f, a, col[f]["peak_real"], col[f]["peak_gaussian"], sc[f]) for f, a in s.archs.items()]
    out += [early_claim(f, a, p.early_frac, early_window(s, f)[0], win[(f, "early")], sc[f]) for f, a in s.archs.items()]
    out += [late_claim(f, a, *early_window(s, f)[1:], win[(f, "late")], sc[f]) for f, a in s.archs.items()]
    out.append(memorisation_claim(s.archs["cnn"], p.memorised_acc, prof.epochs_gaussian, col["cnn"]["final_acc_gaussian"],
                                  col["cnn"]["still_learning_gaussian"], sc["cnn"]))
    out.append(vit_memorises_less_claim(s.archs["vit"], col["cnn"]["final_acc_gaussian"], col["vit"]["final_acc_gaussian"],
                                        prof.epochs_gaussian, scale_text(prof, s.archs, m, list(s.archs))))
    out += [magnitudes_claim(f, a, col[f]["ks_real_gaussian"], col[f]["ks_real_init"], col[f]["ks_gaussian_init"], sc[f])
            for f, a in s.archs.items()]
    out += [gravity_claim(f, a, early_window(s, f)[2], prof.epochs_gaussian, col[f]["moved_real"],
                          col[f]["moved_gaussian"], sc[f]) for f, a in s.archs.items()]
    out += [fresh_claim(f, a, col[f]["peak_real"], col[f]["peak_real_then_gaussian"], sc[f]) for f, a in s.archs.items()]
    return out


def claims(s: Setup, m: pd.DataFrame, w: pd.DataFrame) -> list[Verdict]:
    """Every chapter-2 verdict (:func:`decide`), in the notebook's order."""
    return verdicts_of(decide(s, m, w))


def intervals(s: Setup, m: pd.DataFrame, w: pd.DataFrame) -> pd.DataFrame:
    """The per-group intervals behind every chapter-2 verdict (:func:`verdicts.intervals_frame`): one row per
    claim, and per epoch for the window claims (each epoch judged alone over seeds, for display)."""
    return intervals_frame(decide(s, m, w))


def verdicts(s: Setup, r: Results) -> list[Verdict]:
    """Chapter 2's verdicts (pure: nothing is stored or printed): :func:`claims` of :func:`measure` and
    :func:`windows`."""
    return claims(s, measure(s, r), windows(s, r))
