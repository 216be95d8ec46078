"""Chapter 2: coherence on real versus Gaussian data (thesis Figs. 2.1-2.4, section 2.2's "gravity" check).

Per architecture (the profile's ResNet and ViT) and seed, three runs with gradient statistics: a fresh
initialisation on CIFAR-10 ("real"), the same initialisation on Gaussian noise ("gaussian"), and the
real run's final weights trained further on Gaussian noise ("real_then_gaussian").

The notebook calls :func:`setup`, :func:`results`, one function per figure and table, and
:func:`verdicts`; the verdicts are :func:`claims` of the per-seed numbers :func:`measure` reads from the
runs, and each claim is one small function of those numbers (tests feed them hand-made values).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import pandas as pd

from .. import profiles
from ..config import Stages, TrainConfig
from ..models import ARCHS
from ..runs import Run, get_or_train, train_stages
from . import params as check
from . import realdata as rd
from .figures import Provenance, show
from .figures import style as figure_style
from .realdata import run_configs
from .verdicts import Verdict, summary


FAMILIES = ("cnn", "vit")
#: Family -> the name used in claim ids.
FAMILY = {"cnn": "resnet", "vit": "vit"}
#: Family -> the figure that draws its curves.
CURVE_FIGURE = {"cnn": "Figure 2.1", "vit": "Figure 2.2"}
#: Appended to "ours" when a verdict rests on one seed.
TENTATIVE = " [one seed: tentative]"


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
    ks_same: float = 0.05  # KS distance below which two |w| distributions count as "almost the same"

    def __post_init__(self) -> None:
        check_large(self)
        check.integers(self.seeds, "seeds", minimum=0)
        check.number(self.early_frac, "early_frac", low=0.0, high=1.0, low_open=True)
        check.number(self.memorised_acc, "memorised_acc", low=0.0, high=1.0)
        check.number(self.ks_same, "ks_same", low=0.0, high=1.0)


def check_large(p: Any) -> None:
    """Checks shared by chapters 2 and 3 (their ResNet/ViT parameters)."""
    check.profile(p.profile)
    check.integer(p.seed, "seed", minimum=0)
    check.choice(p.arch_cnn, "arch_cnn", [a for a in ARCHS if a.startswith("resnet")], optional=True)
    check.choice(p.arch_vit, "arch_vit", [a for a in ARCHS if a.startswith("vit")], optional=True)
    check.integer(p.epochs, "epochs", minimum=1, optional=True)
    check.integer(p.epochs_gaussian, "epochs_gaussian", minimum=1, optional=True)
    check.integer(p.n_train, "n_train", minimum=1, optional=True)
    check.integer(p.n_test, "n_test", minimum=1, optional=True)
    check.integer(p.stats_max_samples, "stats_max_samples", minimum=1, optional=True)


def large_profile(p: Any) -> profiles.Profile:
    """The profile with chapters 2-3's overrides applied (``None`` keeps the profile's value)."""
    return profiles.with_overrides(
        p.profile, arch_cnn=p.arch_cnn, arch_vit=p.arch_vit, epochs_real_cnn=p.epochs, epochs_real_vit=p.epochs,
        epochs_gaussian=p.epochs_gaussian, n_train_large=p.n_train, n_test_large=p.n_test,
        stats_max_samples=p.stats_max_samples)


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
    seeds = check.seeds_with(p.seed, prof.seeds if p.seeds is None else p.seeds)
    archs = {"cnn": prof.arch_cnn, "vit": prof.arch_vit}
    configs = {(fam, s): run_configs(prof, arch, s) for fam, arch in archs.items() for s in seeds}
    return Setup(p, prof, seeds, archs, configs)


def plan(s: Setup) -> Stages:
    """[real and gaussian runs], then [real_then_gaussian runs] (they start from the real runs' weights)."""
    return [[c[k] for c in s.configs.values() for k in ("real", "gaussian")],
            [c["real_then_gaussian"] for c in s.configs.values()]]


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
    """Train (or load) exactly :func:`plan`'s runs, then read them back per family and seed."""
    train_stages(plan(s))
    runs = {fam: {seed: {k: get_or_train(cfg, progress=False) for k, cfg in s.configs[(fam, seed)].items()}
                  for seed in s.seeds} for fam in s.archs}
    seed = s.params.seed
    return Results(runs, seed, {fam: rd.curves(runs[fam][seed]) for fam in s.archs})


def style() -> None:
    """The book's plotting style, and tables shown to four significant digits."""
    figure_style()
    pd.set_option("display.precision", 4)


def provenance(s: Setup, fam: str, runs: Sequence[str] = ("real", "gaussian")) -> str:
    """Caption provenance: the real run's settings plus the Gaussian runs' epochs (when ``runs`` has any)."""
    p, cfg = s.profile, s.configs[(fam, s.params.seed)]["real"]
    text = Provenance.of(p.name, cfg).text()
    if any(r != "real" for r in runs):
        text += f"; Gaussian runs {p.epochs_gaussian} epochs on {cfg.data.n_train or 50000:,d} noise images"
    return text + f"; gradient statistics on {p.stats_max_samples or 'all'} training images"


# --------------------------------------------------------------------------- figures, tables
def large_settings(p: profiles.Profile, stats_images: str, extra: dict[str, Any]) -> pd.DataFrame:
    """Settings table of chapters 2 and 3: profile, models, epochs, data sizes, the number of images of
    the gradient statistics (row ``stats_images``), then the rows ``extra``."""
    rows = {"profile": p.name, "ResNet": p.arch_cnn, "ViT": p.arch_vit,
            "real-data epochs (ResNet / ViT)": f"{p.epochs_real_cnn} / {p.epochs_real_vit}",
            "Gaussian-data epochs": p.epochs_gaussian,
            "training / test images": f"{p.n_train_large or 50000} / {p.n_test_large or 10000}",
            stats_images: p.stats_max_samples or "all", **extra}
    return pd.DataFrame({"setting": list(rows), "value": list(rows.values())})


def settings_table(s: Setup) -> pd.DataFrame:
    """The chapter's settings: profile, models, epochs, data sizes, seeds."""
    return large_settings(s.profile, "images for gradient statistics", {"seeds": list(s.seeds)})


def _curves_figure(s: Setup, r: Results, fam: str, model: str) -> None:
    arch = s.archs[fam]
    show(rd.fig_curves(r.curves[fam], f"{arch}: CIFAR-10 versus Gaussian data"), CURVE_FIGURE[fam],
         f"{model} ({arch}) trained from the same initialisation on CIFAR-10 and on Gaussian noise with random "
         "labels: coherence per epoch (left), cross-entropy loss (middle) and accuracy (right), training solid and test "
         "dashed", provenance(s, fam))


def figure_2_1(s: Setup, r: Results) -> None:
    """Fig. 2.1: the ResNet's coherence, loss and accuracy on CIFAR-10 and on Gaussian data (shown)."""
    _curves_figure(s, r, "cnn", "ResNet")


def figure_2_2(s: Setup, r: Results) -> None:
    """Fig. 2.2: the same for the ViT (shown)."""
    _curves_figure(s, r, "vit", "ViT")


def peak_table(r: Results, fam: str) -> pd.DataFrame:
    """Highest and lowest coherence and their epochs, and coherence at initialisation, of the real and
    Gaussian runs of ``fam`` (the figures' seed)."""
    return pd.DataFrame({k: rd.peak_coherence(r.of_seed(fam)[k]) for k in ("real", "gaussian")}).T.rename_axis("run")


def figure_2_3(s: Setup, r: Results) -> None:
    """Fig. 2.3: the bottom 99 % of |w| of the ResNet at initialisation and after each training (shown)."""
    arch = s.archs["cnn"]
    wm = rd.weight_magnitudes(s.profile, arch, r.of_seed("cnn"))
    show(rd.fig_magnitudes(wm, f"{arch}: |w| below each state's 99th percentile"), "Figure 2.3",
         f"Distribution of the bottom 99 % of weight magnitudes of {arch} at initialisation, after training on "
         "CIFAR-10 and after training on Gaussian data (density histograms, all weight tensors pooled)",
         provenance(s, "cnn"))


MAGNITUDE_LEAD = ("**Weight magnitudes**: median, mean and 99th percentile of |w| over all weights, median and mean "
                  "of the bottom 99 %, and the Kolmogorov-Smirnov distance of each bottom-99 % distribution to the real run's.")
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
    show(rd.fig_coherence_runs(r.curves[fam], f"{arch}: fresh init on CIFAR-10 vs trained init on Gaussian data"),
         number, f"{model}: coherence per epoch of a randomly initialised network trained on CIFAR-10 and of the "
         "CIFAR-10-trained network then trained on Gaussian data (epoch 0 = its starting point, the trained weights)",
         provenance(s, fam, runs=rd.RUN_NAMES))


def figure_2_4(s: Setup, r: Results) -> None:
    """Fig. 2.4: the ResNet's coherence, fresh on CIFAR-10 versus CIFAR-10-trained then Gaussian (shown)."""
    _runs_figure(s, r, "cnn", "Figure 2.4", "ResNet")


def figure_2_4b(s: Setup, r: Results) -> None:
    """Our Fig. 2.4b: the same for the ViT (shown)."""
    _runs_figure(s, r, "vit", "Figure 2.4b", "ViT (ours; the thesis shows the ResNet only)")


def seeds_line(s: Setup) -> str:
    """Markdown line above the verdict table: profile and seeds."""
    seeds = list(s.seeds)
    return f"Profile `{s.profile.name}`, seeds {seeds}." + (" One seed: every verdict is tentative." if len(seeds) == 1 else "")


# ----------------------------------------------------------------------------------- verdicts
def make_verdict(chapter: str, claim_id: str, claim: str, thesis: str, ours: str, verdict: str, figure: str,
                 tentative: bool) -> Verdict:
    """A :class:`Verdict`; ``ours`` gets :data:`TENTATIVE` appended when ``tentative`` and the claim was measured."""
    if tentative and not verdict.startswith("not measured"):
        ours += TENTATIVE
    return Verdict(claim_id, chapter, claim, thesis, ours, verdict, figure)


def _from_summary(claim_id: str, claim: str, thesis: str, ours: str, res: dict[str, Any], figure: str) -> Verdict:
    return make_verdict("02", claim_id, claim, thesis, ours, res["verdict"], figure, res["tentative"])


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


#: Columns of :func:`measure` (besides family and seed): one number per family and seed each.
MEASURES = ("peak_real", "peak_gaussian", "peak_real_then_gaussian", "early_real", "early_gaussian",
            "late_real", "late_gaussian", "final_acc_gaussian", "still_learning_gaussian", "ks_gaussian",
            "moved_real", "moved_gaussian")


def measure(s: Setup, r: Results) -> pd.DataFrame:
    """What the verdicts compare, one row per family and seed (in ``s.seeds`` order): peak coherence
    of each run, mean coherence over the early and late windows (:func:`early_window`), the Gaussian
    run's final train accuracy and whether it was still learning, the KS distance of its bottom-99 %
    |w| to the real run's, and the distance each fresh run travelled (:func:`moved`)."""
    rows = []
    for fam, arch in s.archs.items():
        k, lo, last = early_window(s, fam)
        for seed in s.seeds:
            x = r.runs[fam][seed]
            rows.append({
                "family": fam, "seed": seed,
                **{f"peak_{n}": rd.peak_coherence(x[n])["max"] for n in rd.RUN_NAMES},
                "early_real": rd.window_coherence(x["real"], 1, k), "early_gaussian": rd.window_coherence(x["gaussian"], 1, k),
                "late_real": rd.window_coherence(x["real"], lo, last),
                "late_gaussian": rd.window_coherence(x["gaussian"], lo, last),
                "final_acc_gaussian": float(x["gaussian"].metrics.train_acc.iloc[-1]),
                "still_learning_gaussian": rd.still_learning(x["gaussian"]),
                "ks_gaussian": float(rd.magnitude_summary(s.profile, arch, x).set_index("state").ks_to_real["gaussian"]),
                "moved_real": moved(x["real"]), "moved_gaussian": moved(x["gaussian"])})
    return pd.DataFrame(rows, columns=["family", "seed", *MEASURES])


def peak_claim(fam: str, arch: str, real: Sequence[float], gaussian: Sequence[float]) -> Verdict:
    """The highest coherence over training is larger on real than on Gaussian data (one value per seed)."""
    res = summary(real, gaussian)
    return _from_summary(f"2-{FAMILY[fam]}-peak-coherence-real-gt-gaussian",
                         f"[{arch}] the highest coherence over training is larger on real data than on Gaussian data",
                         "a higher maximum on real data (Fig. 2.1, ResNet50)",
                         f"max α real {res['a']:.4g}, Gaussian {res['b']:.4g}", res, CURVE_FIGURE[fam])


def early_claim(fam: str, arch: str, early_frac: float, k: int, real: Sequence[float],
                gaussian: Sequence[float]) -> Verdict:
    """Mean coherence over epochs 1..k is higher on real data."""
    res = summary(real, gaussian)
    return _from_summary(
        f"2-{FAMILY[fam]}-early-coherence-real-gt-gaussian",
        f"[{arch}] in the early epochs (the first {early_frac:.0%} of the real-data run) coherence is higher on real data",
        "clearly higher on real data early in training (Fig. 2.2, ViT; also Fig. 2.1)",
        f"mean α over epochs 1..{k}: real {res['a']:.4g}, Gaussian {res['b']:.4g}", res, CURVE_FIGURE[fam])


def late_claim(fam: str, arch: str, lo: int, last: int, gaussian: Sequence[float], real: Sequence[float]) -> Verdict:
    """Mean coherence over epochs lo..last (the end of the real run) is higher on Gaussian data."""
    res = summary(gaussian, real)
    return _from_summary(f"2-{FAMILY[fam]}-late-coherence-gaussian-gt-real",
                         f"[{arch}] in the last epochs of the real-data run coherence is higher on Gaussian data",
                         "later in training coherence is higher on Gaussian data (section 2.1)",
                         f"mean α over epochs {lo}..{last}: Gaussian {res['a']:.4g}, real {res['b']:.4g}", res,
                         CURVE_FIGURE[fam])


def memorisation_claim(arch: str, memorised_acc: float, epochs_gaussian: int, final_acc: Sequence[float],
                       still_learning: Sequence[bool]) -> Verdict:
    """The ResNet's final Gaussian train accuracy reaches ``memorised_acc``. Below it while some seed's
    training loss was still falling (:func:`realdata.still_learning`): not measured at this scale."""
    res = summary(final_acc, [memorised_acc] * len(final_acc))
    ours = f"final Gaussian train accuracy {res['a']:.3f} after {epochs_gaussian} epochs"
    if res["a"] < memorised_acc and any(still_learning):
        res["verdict"] = "not measured at this scale"
        ours += "; the training loss was still falling by more than 5 % over the last quarter of the epochs"
    return _from_summary("2-resnet-memorises-gaussian",
                         f"[{arch}] the ResNet memorises the Gaussian training set (final train accuracy >= {memorised_acc})",
                         "ResNet50 reaches perfect training accuracy on Gaussian data in 1000 epochs (Fig. 2.1)",
                         ours, res, "Figure 2.1")


def vit_memorises_less_claim(arch_vit: str, cnn_acc: Sequence[float], vit_acc: Sequence[float]) -> Verdict:
    """The ViT's final Gaussian train accuracy is below the ResNet's."""
    res = summary(cnn_acc, vit_acc)
    return _from_summary("2-vit-memorises-less-than-resnet",
                         f"[{arch_vit}] the ViT memorises Gaussian data less completely than the ResNet",
                         "the ViT memorises only part of the Gaussian data (Fig. 2.2)",
                         f"final Gaussian train accuracy ResNet {res['a']:.3f}, ViT {res['b']:.3f}", res, "Figure 2.2")


def magnitudes_claim(fam: str, arch: str, ks_same: float, ks: Sequence[float]) -> Verdict:
    """The KS distance between the bottom-99 % |w| after real and after Gaussian training is below ``ks_same``."""
    res = summary([ks_same] * len(ks), ks)
    return _from_summary(
        f"2-{FAMILY[fam]}-magnitudes-real-like-gaussian",
        f"[{arch}] the bottom 99 % of |w| after real and after Gaussian training are almost the same (KS < {ks_same})",
        "almost no difference between the bulk of the two distributions (Fig. 2.3, ResNet50)",
        f"Kolmogorov-Smirnov distance real vs Gaussian {res['b']:.4f}", res, "Figure 2.3")


def gravity_claim(fam: str, arch: str, epochs_real: int, epochs_gaussian: int, real: Sequence[float],
                  gaussian: Sequence[float]) -> Verdict:
    """(Ours) weights trained on real data end further from their start than on Gaussian data."""
    res = summary(real, gaussian)
    return _from_summary(
        f"2-{FAMILY[fam]}-gravity-premise",
        f"[{arch}] (our check) the gravity premise: weights trained on real data end further from their "
        "initialisation than weights trained on Gaussian data",
        "not measured directly; the thesis argues from Fig. 2.3 that the premise fails",
        f"||w_T − w_0|| / ||w_0||: real {res['a']:.4g}, Gaussian {res['b']:.4g} "
        f"(real over {epochs_real} epochs, Gaussian over {epochs_gaussian})", res, "Figure 2.3")


def fresh_claim(fam: str, arch: str, fresh: Sequence[float], trained: Sequence[float]) -> Verdict:
    """A fresh network on real data peaks higher than a CIFAR-10-trained one trained further on Gaussian data."""
    res = summary(fresh, trained)
    return _from_summary(f"2-{FAMILY[fam]}-fresh-real-gt-trained-gaussian",
                         f"[{arch}] a fresh network on real data reaches a higher coherence than a real-data-trained "
                         "network trained further on Gaussian data",
                         "coherence is much higher for the fresh network on real data (Fig. 2.4, ResNet50)",
                         f"max α fresh/real {res['a']:.4g}, trained-init/Gaussian {res['b']:.4g}", res, "Figure 2.4")


def claims(s: Setup, m: pd.DataFrame) -> list[Verdict]:
    """Every chapter-2 verdict from :func:`measure`'s table ``m``, in the notebook's order."""
    p, prof = s.params, s.profile
    col = {fam: {c: m.loc[m.family == fam, c].tolist() for c in MEASURES} for fam in s.archs}
    out = [peak_claim(f, a, col[f]["peak_real"], col[f]["peak_gaussian"]) for f, a in s.archs.items()]
    out += [early_claim(f, a, p.early_frac, early_window(s, f)[0], col[f]["early_real"], col[f]["early_gaussian"])
            for f, a in s.archs.items()]
    out += [late_claim(f, a, *early_window(s, f)[1:], col[f]["late_gaussian"], col[f]["late_real"])
            for f, a in s.archs.items()]
    out.append(memorisation_claim(s.archs["cnn"], p.memorised_acc, prof.epochs_gaussian,
                                  col["cnn"]["final_acc_gaussian"], col["cnn"]["still_learning_gaussian"]))
    out.append(vit_memorises_less_claim(s.archs["vit"], col["cnn"]["final_acc_gaussian"], col["vit"]["final_acc_gaussian"]))
    out += [magnitudes_claim(f, a, p.ks_same, col[f]["ks_gaussian"]) for f, a in s.archs.items()]
    out += [gravity_claim(f, a, early_window(s, f)[2], prof.epochs_gaussian, col[f]["moved_real"],
                          col[f]["moved_gaussian"]) for f, a in s.archs.items()]
    out += [fresh_claim(f, a, col[f]["peak_real"], col[f]["peak_real_then_gaussian"]) for f, a in s.archs.items()]
    return out


def verdicts(s: Setup, r: Results) -> list[Verdict]:
    """Chapter 2's verdicts (pure: nothing is stored or printed): :func:`claims` of :func:`measure`."""
    return claims(s, measure(s, r))
