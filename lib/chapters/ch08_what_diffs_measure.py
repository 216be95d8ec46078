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
   ((n ||mean g_l||^2 - mean ||g_l||^2) / (n - 1), :func:`debiased_mean_sq`), against its share of the weights.

Each claim is one function of plain frames (tests feed hand-made numbers), written with
:class:`lib.chapters.verdicts.Claim` (its text, the thesis's statement and the result that would make it not
held) and decided over seeds: one value per seed (a seed's widths or tensors reduced first), trends by each
seed's slope (:func:`lib.chapters.seed_tests.trend`), "every width" claims width by width. Margins and levels are
module constants fixed with the claims. Chapter 4 decides the two questions both chapters show (peak training
coherence and diff spread against width); this chapter cites its claim ids.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from IPython.display import Markdown, display

from .. import parallel, profiles
from ..config import TrainConfig
from ..data import DataConfig, load_data
from ..experiments import plan_width_sweep
from ..plan import Plan, configs, from_configs
from ..runs import Run, load
from ..stats import significance as sig
from ..stats.base import GradStats
from ..stats.callback import sign_counts
from ..stats.prefix import prefix_stats
from . import figures, mlp, palette
from . import params as check
from . import realdata
from . import seed_tests
from . import verdicts as toolkit
from .verdicts import Decided, Verdict

CHAPTER = "08"
#: Architectures of questions 1, 2 and 6: family -> how the chapter names it.
FAMILIES = {"cnn": "ResNet", "vit": "ViT", "mlp": "MLP"}
#: The stored diff files read, by the epoch they were saved at (:mod:`lib.stats.callback`).
DIFF_FILES = {"max": "diffs_max_trained.pt", "min": "diffs_min.pt"}

# Margins and levels, fixed with the claims before any run.
#: False discovery rate of the Benjamini-Hochberg procedure (per tensor): the conventional 5 %.
FDR = 0.05
#: "Diffs carry signal": more than this fraction of the weights significant. Under the null BH keeps the
#: expected fraction of false discoveries among discoveries at FDR, and the fraction of weights declared
#: significant near 0; 5 % of all weights is a level no fair-coin network reaches.
SIGNAL_FRACTION = 0.05
#: "Test coherence does not change with width": the fitted TOTAL change of log peak test coherence from the
#: narrowest to the widest measured width (each seed's slope against log width times the log-width span,
#: :func:`lib.chapters.seed_tests.trend`) stays within log 1.25, a 25 % change over the whole sweep: the factor
#: chapter 3 uses for "similar" spreads. An earlier version put log 1.25 on the mean adjacent step, so five
#: steps of a 2.5x rise (log 2.5 = 0.92, 0.18 per step) passed as flat; on the total it is far outside.
FLAT_TOTAL_MARGIN = math.log(1.25)
#: "The spread is mostly signal": more than half of the diffs' variance over weights is not fair-coin noise
#: (:func:`signal_share` > 0.5), the plain meaning of "mostly". Under fair coins the share is about 0.
SIGNAL_SHARE = 0.5


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
    """The same MLP run on Gaussian data of the same sizes (random fixed labels)."""
    d = cfg.data
    return dataclasses.replace(cfg, data=DataConfig("gaussian", d.n_train or profiles.GAUSSIAN_FULL[0],
                                                    d.n_test or profiles.GAUSSIAN_FULL[1], seed=d.seed))


def setup(**params: Any) -> Setup:
    """Validate the parameters (errors name the parameter and its value) and resolve the chapter."""
    p = check.build(Params, params)
    prof = profiles.with_overrides(p.profile, seeds=p.seeds)
    seeds = check.seeds_with(p.seed, prof.seeds)
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
    d = torch.load(run.file(DIFF_FILES[which]), map_location="cpu", weights_only=False)
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


def spread_rows(run: Run, sizes: Sequence[int], tensors: Sequence[str], **labels: Any) -> tuple[list[dict], list[dict]]:
    """Question 2 and 6 from one pass over the first max(sizes) training images with the run's final
    weights: (spread rows per n and tensor, and "all"; share rows per tensor at the largest n)."""
    cfg = run.config
    data = load_data(cfg.data)
    model = run.load_model()
    st = prefix_stats(model, data.x_train, data.y_train, sizes, batch_size=cfg.stats.batch_size)
    rows = []
    for n, g in st.items():
        part = []
        for t in tensors:
            d = g.diffs[t].double()
            sd, null = float(d.std(unbiased=False)), sig.null_diff_sd(g.nonzero[t], n)  # type: ignore[index]
            part.append({**labels, "n": n, "tensor": t, "weights": d.numel(), "sd": sd, "null_sd": null})
        w = np.array([r["weights"] for r in part], float)
        part.append({**labels, "n": n, "tensor": "all", "weights": int(w.sum()),
                     "sd": float(np.sqrt(np.average([r["sd"] ** 2 for r in part], weights=w))),
                     "null_sd": float(np.sqrt(np.average([r["null_sd"] ** 2 for r in part], weights=w)))})
        rows += part
    g = st[max(st)]
    debiased, plain = grad_shares(g), grad_shares(g, debias=False)
    total_w = sum(v.numel() for v in g.diffs.values())
    shares = [{**labels, "tensor": k, "grad_share": debiased[k], "grad_share_plain": plain[k],
               "weight_share": g.diffs[k].numel() / total_w, "n": g.n} for k in g.diffs]
    for r in rows:
        r["sd_sqrt_n"] = r["sd"] * math.sqrt(r["n"])
        r["null_sd_sqrt_n"] = r["null_sd"] * math.sqrt(r["n"])
    return rows, shares


def debiased_mean_sq(mean_grad_sq: float, mean_sq_norm: float, n: int) -> float:
    """An unbiased estimate of ||E g||^2 from n per-sample gradients: (n ||mean g||^2 - mean ||g||^2) / (n - 1),
    which equals the mean of g_i · g_j over the n (n - 1) ordered pairs i != j. ||mean g||^2 itself has the
    expectation ||E g||^2 + tr(Sigma) / n (Sigma the per-sample covariance), so on its own it credits noisy
    tensors with a mean gradient they need not have; the estimate is about 0 for gradients of mean zero and
    can go negative. ``mean_grad_sq`` = ||mean g||^2, ``mean_sq_norm`` = mean ||g||^2."""
    if n < 2:
        raise ValueError(f"debiasing needs n >= 2 samples, got {n!r}")
    return (n * mean_grad_sq - mean_sq_norm) / (n - 1)


def grad_shares(st: GradStats, debias: bool = True) -> dict[str, float]:
    """Each parameter tensor's share of ||E g||^2 in statistics ``st``: its :func:`debiased_mean_sq` (its plain
    ||mean g_l||^2 when ``debias`` is False) over the sum of all tensors'. NaN for every tensor when that sum
    is not positive (no mean gradient to share out). A debiased share can be negative, and then another
    tensor's can exceed 1."""
    part = {}
    for k, m in st.mean_grad.items():
        sq = float(m.double().pow(2).sum())
        part[k] = debiased_mean_sq(sq, st.layer_mean_sq_norm[k], st.n) if debias else sq
    total = sum(part.values())
    return {k: (v / total if total > 0 else math.nan) for k, v in part.items()}


def mlp_curves(runs: dict[tuple[int, int], Run], data: str) -> pd.DataFrame:
    """Every epoch of the MLP runs: width, seed, data, epoch, coherence, test_coherence, train/test accuracy, gap."""
    parts = []
    for (w, sd), run in runs.items():
        m = run.metrics
        if "test_coherence" not in m.columns:
            raise KeyError(f"run {run.hash} has no test_coherence column: it was made without StatsConfig.test_samples")
        cols = ["epoch", "coherence", "test_coherence", "train_acc", "test_acc"]
        part = m[cols].copy()
        part.insert(0, "data", data)
        part.insert(0, "seed", sd)
        part.insert(0, "width", w)
        part["gap"] = part["train_acc"] - part["test_acc"]
        parts.append(part)
    return pd.concat(parts, ignore_index=True)


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
def stats_n(cfg: TrainConfig) -> int:
    """Samples behind a run's training-set statistics (the coherence floor is 1/n)."""
    return mlp.stats_samples(cfg)


def test_n(cfg: TrainConfig) -> int:
    """Samples behind a run's test-set statistics."""
    return min(cfg.stats.test_samples, cfg.data.n_test or 10_000)


def peaks(curves: pd.DataFrame, n_train: int, n_test: int) -> pd.DataFrame:
    """Per (data, width, seed): the highest training-set and test-set coherence over the trained epochs (epoch
    0, the initialisation, left out), the mean debiased coherence over them ((n α - 1)/(n - 1), each set with
    its own n) and the last epoch's gap; ``epochs`` counts the trained epochs used and ``nonfinite`` those left
    out because a coherence was not finite (said in the verdicts' note, :func:`epochs_note`)."""
    rows = []
    for (data, w, sd), g in curves.groupby(["data", "width", "seed"]):
        trained = g[g["epoch"] >= 1]
        ok = np.isfinite(trained["coherence"].astype(float)) & np.isfinite(trained["test_coherence"].astype(float))
        t = trained[ok]
        last = g.sort_values("epoch").iloc[-1]
        rows.append({"data": data, "width": int(w), "seed": int(sd), "epochs": int(ok.sum()),
                     "nonfinite": int((~ok).sum()), "train_peak": float(t["coherence"].max()),
                     "test_peak": float(t["test_coherence"].max()),
                     "test_debiased_mean": float(figures.debiased_coherence(t["test_coherence"], n_test).mean()),
                     "train_debiased_mean": float(figures.debiased_coherence(t["coherence"], n_train).mean()),
                     "gap": float(last["gap"]), "test_acc": float(last["test_acc"])})
    return pd.DataFrame(rows)


def per_seed_rho(pk: pd.DataFrame, x: str, y: str) -> pd.DataFrame:
    """Per seed, the rank correlation of ``y`` with ``x`` across widths (real-data rows)."""
    real = pk[pk["data"] == "real"]
    return pd.DataFrame([{"seed": int(sd), "rho": mlp.spearman(g[x], g[y])} for sd, g in real.groupby("seed")])


# --------------------------------------------------------------------------------------- claims
def _claim(cid: str, text: str, thesis: str, fails_if: str, figure: str) -> toolkit.Claim:
    """A chapter-8 claim. These are the open questions of thesis section 7.2, answered with experiments the
    thesis did not run; none of them re-tests a conclusion of section 7.1 (chapters 2-6 do that), so each
    bears on no conclusion (``conclusion=""``)."""
    return toolkit.Claim(cid, CHAPTER, text, thesis, fails_if, figure)


def epochs_note(pk: pd.DataFrame) -> str:
    """What :func:`peaks` left out, for the note shown with a verdict that reads it: epoch 0 (the
    initialisation) always, and any trained epoch whose coherence was not finite (a diverged run)."""
    note = "epoch 0 (the initialisation) left out: peaks and means are over the trained epochs"
    bad = int(pk["nonfinite"].sum()) if "nonfinite" in pk.columns else 0
    if bad:
        note += f"; {bad} trained epoch(s) left out for a non-finite coherence (a diverged run)"
    return note


def signal_share(sd: Any, null_sd: Any) -> Any:
    """The share of the diffs' variance over weights that is not fair-coin sampling noise: 1 - (null sd / sd)^2.

    With n samples a weight whose nonzero signs are fair coins has a diff of variance m / n^2 (m of its n
    per-sample gradient entries nonzero), and ``null_sd``^2 is the mean of those variances
    (:func:`lib.stats.significance.null_diff_sd`). When every weight's signs are fair coins the diffs'
    variance over weights has that same expectation, so the share is about 0 and goes negative as often as
    positive: it can fail. A weight whose expected diff is b has noise variance (E m / n - b^2) / n, below
    the null's, so the share understates the signal (by mean(b^2) / (n sd^2) at most): a conservative
    estimate. Works on scalars and arrays; sd = 0 gives -inf or NaN (left out and counted by the test)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return 1 - (np.asarray(null_sd, float) / np.asarray(sd, float)) ** 2


def real_diffs_signal(sigdf: pd.DataFrame, family: str, level: float = SIGNAL_FRACTION, scale: str = "") -> Decided:
    """Claim 8-<family>-real-diffs-not-coin-flips: at the real-data run's highest-coherence epoch, the
    fraction of all weights with a significant diff against ``level`` (:data:`SIGNAL_FRACTION`), one value
    per seed (claim "greater"; the difference lies in [-level, 1 - level], the interval is cut to it)."""
    name = FAMILIES[family]
    claim = _claim(
        f"8-{family}-real-diffs-not-coin-flips",
        f"[{name}] On real data, more than {level:.0%} of the weights have diffs that differ significantly "
        "(Benjamini-Hochberg at 5 %) from fair coin flips at the highest-coherence epoch.",
        "Diffs are read as a per-weight measure of agreement among samples (section 3.1); the thesis never "
        "compares them with a null.",
        f"The 95 % interval of the significant fraction minus {level:.0%} lies wholly below 0: fewer than "
        f"{level:.0%} of the weights differ from coin flips (under fair coins the procedure declares about 0 %).",
        "Figure 8.2, Table 8.a")
    sub = sigdf[(sigdf["family"] == family) & (sigdf["which"] == "max") & (sigdf["tensor"] == "all")
                & (sigdf["data"] == "real")]
    if not len(sub):
        return claim.unmeasured("no runs", scale=scale)
    per = sub.groupby("seed")[["significant", "zero_frac"]].mean()
    test = seed_tests.paired(per["significant"], np.full(len(per), level), claim="greater",
                          bounds=(-level, 1 - level))
    ours = (f"significant fraction {test['a']:.3f} (per seed: {', '.join(f'{v:.3f}' for v in per['significant'])}); "
            f"{per['zero_frac'].mean():.2f} of the per-sample gradient entries are exactly 0")
    return claim.decide(ours, test, scale=scale, family=family)


def gaussian_more_significant(sigdf: pd.DataFrame, family: str, scale: str = "") -> Decided:
    """Claim 8-<family>-gaussian-diffs-more-significant from the significance rows (family, data, seed,
    which, tensor, significant): at the epoch of highest coherence, the fraction of all weights whose
    diff is significant, Gaussian against real, paired by seed (claim "greater"; a difference of two
    fractions, the interval cut to [-1, 1])."""
    name = FAMILIES[family]
    claim = _claim(
        f"8-{family}-gaussian-diffs-more-significant",
        f"[{name}] At its highest-coherence epoch, a network trained on Gaussian data has a larger fraction of "
        "weights whose diffs differ significantly from fair coin flips than the same network on real data.",
        "Memorising Gaussian data produces very large diffs, with spikes at ±1 for the ViT (section 3.2, Fig. 3.2); "
        "the thesis asks why (section 7.2).",
        "The 95 % interval of the Gaussian minus the real significant fraction lies wholly below 0: the real-data "
        "network has more weights that differ from coin flips.",
        "Figure 8.2, Table 8.a")
    sub = sigdf[(sigdf["family"] == family) & (sigdf["which"] == "max") & (sigdf["tensor"] == "all")]
    if not len(sub):
        return claim.unmeasured("no runs", scale=scale)
    test, groups = seed_tests.paired_groups(sub, "data", "gaussian", "real", "significant", claim="greater",
                                         bounds=(-1.0, 1.0))
    ours = (f"significant (BH 5 %): Gaussian {test['a']:.3f} vs real {test['b']:.3f} of all weights; "
            f"sd of diffs Gaussian {sub[sub['data'] == 'gaussian']['sd'].mean():.3f} vs real "
            f"{sub[sub['data'] == 'real']['sd'].mean():.3f}")
    return claim.decide(ours, test, scale=scale, groups=groups)


def spread_mostly_signal(spread: pd.DataFrame, family: str, data: str = "real", share: float = SIGNAL_SHARE,
                         scale: str = "") -> Decided:
    """Claim 8-<family>-<data>-spread-mostly-signal from the spread rows (family, data, seed, n, tensor, sd,
    null_sd, sd_sqrt_n) of all weights ("all"): each seed's :func:`signal_share` at its largest n against
    ``share`` (:data:`SIGNAL_SHARE`), one value per seed (claim "greater"; the share is at most 1, the
    interval is cut there). The growth of sd x sqrt(n) from the smallest to the largest n is quoted."""
    name = FAMILIES[family]
    claim = _claim(
        f"8-{family}-{data}-spread-mostly-signal",
        f"[{name}, {data} data] At the largest number of samples measured, more than {share:.0%} of the variance "
        "of the final weights' diffs is signal (weights whose expected diffs differ), not the sampling noise of "
        "fair coins: 1 − (null sd / sd)² > " f"{share:g}.",
        "The thesis measures diffs on one sample size and does not ask how much of their spread is sampling "
        "noise (section 7.2).",
        f"The 95 % interval of the signal share minus {share:g} lies wholly below 0: most of the spread is what "
        "fair coins with each weight's own zero count would give.",
        "Figure 8.3")
    sub = spread[(spread["family"] == family) & (spread["data"] == data) & (spread["tensor"] == "all")]
    if not len(sub):
        return claim.unmeasured("no runs", scale=scale)
    top = sub.loc[sub.groupby("seed")["n"].idxmax()].sort_values("seed")
    shares = signal_share(top["sd"], top["null_sd"])
    test = seed_tests.paired(shares, np.full(len(top), share), claim="greater", bounds=(-math.inf, 1 - share))
    ns = sorted(sub["n"].unique())
    ours = (f"signal share {test['a']:.3f} at n = {', '.join(map(str, sorted(top['n'].unique())))} (per seed: "
            f"{', '.join(f'{v:.3f}' for v in shares)})")
    if len(ns) >= 2:
        lo, hi = (sub[sub["n"] == n].groupby("seed")["sd_sqrt_n"].mean() for n in (ns[0], ns[-1]))
        grow = float(np.exp((np.log(hi) - np.log(lo)).mean()))
        ours += (f"; sd·√n ×{grow:.2f} from n = {ns[0]} to {ns[-1]} (all noise ×1, all signal "
                 f"×{math.sqrt(ns[-1] / ns[0]):.2f})")
    return claim.decide(ours, test, scale=scale, family=family, data=data)


def significance_falls_with_width(sweep_sig: pd.DataFrame, scale: str = "") -> Decided:
    """Claim 8-mlp-significant-fraction-falls-with-width from rows (width, seed, significant) of all weights
    at the highest-coherence epoch: each seed's least-squares slope of the significant fraction against
    log width, then the interval of the slopes over seeds (:func:`lib.chapters.seed_tests.trend`, claim "less")."""
    claim = _claim(
        "8-mlp-significant-fraction-falls-with-width",
        "Across the MLP width sweep, wider networks have a smaller fraction of weights with significant diffs "
        "at their highest-coherence epoch, although their coherence is higher.",
        "Diffs narrow as width grows while coherence rises (Figs. 4.3, 4.4); the thesis asks why diffs are "
        "small when coherence is high (section 7.2).",
        "The 95 % interval of the seeds' slopes of the significant fraction against log width lies wholly above "
        "0: wider MLPs have more weights that differ from coin flips.",
        "Figure 8.4")
    if sweep_sig["width"].nunique() < 2:
        return claim.unmeasured("one width only", scale=scale)
    df = sweep_sig.groupby(["width", "seed"], as_index=False)["significant"].mean()
    test = seed_tests.trend(df, x="width", value="significant", log_x=True, claim="less")
    sm = df.groupby("width")["significant"].mean()
    ours = (f"significant fraction {sm.iloc[0]:.3f} at width {int(sm.index[0])} -> {sm.iloc[-1]:.3f} at width "
            f"{int(sm.index[-1])}; mean slope {test['diff']:+.3f} per unit of log width over {test['n']} seeds")
    return claim.decide(ours, test, scale=scale, trend="per log width")


def spread_signal_every_width(sweep_sig: pd.DataFrame, share: float = SIGNAL_SHARE, scale: str = "") -> Decided:
    """Claim 8-mlp-spread-mostly-signal-at-every-width from rows (width, seed, sd, null_sd) of all weights at
    the highest-coherence epoch: :func:`signal_share` against ``share`` at each width on its own over seeds
    (``every=True``: held only when every width is held; not held when one width is not held at 5 % /
    widths). Whether the spread narrows with width is chapter 4's claim 4-diffs-narrow-with-width (the same
    runs and epoch), not asked again here; this asks where the spread stands against coin flips."""
    claim = _claim(
        "8-mlp-spread-mostly-signal-at-every-width",
        f"At every width of the MLP sweep, more than {share:.0%} of the variance of the diffs at the "
        "highest-coherence epoch is signal rather than the sampling noise of fair coins (1 − (null sd / sd)² > "
        f"{share:g}).",
        "Diffs narrow as width grows while coherence rises (Figs. 4.3, 4.4; chapter 4's claims "
        "4-coherence-grows-with-width and 4-diffs-narrow-with-width); the thesis asks why diffs are small when "
        "coherence is high (section 7.2).",
        f"At some width the interval of the signal share minus {share:g}, at 95 % with Bonferroni over the widths, "
        "lies wholly below 0: that width's diffs are mostly coin-flip noise.",
        "Figure 8.4")
    if not len(sweep_sig):
        return claim.unmeasured("no runs", scale=scale)
    df = sweep_sig.assign(value=signal_share(sweep_sig["sd"], sweep_sig["null_sd"]))
    df = df.groupby(["width", "seed"], as_index=False)["value"].mean().assign(side="share")
    long = pd.concat([df, df.assign(side="level", value=share)], ignore_index=True)
    test, groups = seed_tests.paired_groups(long, "side", "share", "level", "value", by=["width"], claim="greater",
                                         every=True, bounds=(-math.inf, 1 - share))
    sm = df.groupby("width")["value"].mean()
    ours = (f"signal share {sm.iloc[0]:.3f} at width {int(sm.index[0])} -> {sm.iloc[-1]:.3f} at width "
            f"{int(sm.index[-1])}; lowest {sm.min():.3f} (width {int(sm.idxmin())})")
    return claim.decide(ours, test, scale=scale, groups=groups)


def test_coherence_flat(pk: pd.DataFrame, margin: float = FLAT_TOTAL_MARGIN, scale: str = "") -> Decided:
    """Claim 8-test-coherence-flat-with-width from the peaks (data, width, seed, test_peak) of the real-data
    MLPs: each seed's least-squares slope of log peak test coherence against log width times the log-width
    span is its fitted total change over the measured widths; flat when the 90 % interval of those changes
    over seeds lies inside ±``margin`` (:data:`FLAT_TOTAL_MARGIN`; the two one-sided tests of
    :func:`lib.chapters.seed_tests.trend`, claim "flat")."""
    claim = _claim(
        "8-test-coherence-flat-with-width",
        f"The peak test-set coherence of a dense MLP does not change with width: its fitted change from the "
        f"narrowest to the widest width stays within a factor {math.exp(margin):.2f} either way.",
        "Hypothesis of section 7.2: coherence is high when the gap is high because it is measured on the "
        "training set, where wide networks memorise.",
        f"The 90 % interval of the seeds' fitted total change of log peak test coherence over the measured widths "
        f"lies wholly outside ±{margin:.3f} (a factor {math.exp(margin):.2f}).",
        "Figure 8.5")
    real = pk[pk["data"] == "real"].assign(log_test=lambda d: np.log(d["test_peak"]))
    if real["width"].nunique() < 2:
        return claim.unmeasured("one width only", scale=scale)
    test = seed_tests.trend(real, x="width", value="log_test", log_x=True, claim="flat", margin=margin)
    m = real.groupby("width")["test_peak"].mean()
    ours = (f"mean peak test coherence {m.iloc[0]:.4g} at width {int(m.index[0])} -> {m.iloc[-1]:.4g} at width "
            f"{int(m.index[-1])}; fitted total change of its log {test['diff']:+.3f} (×{math.exp(test['diff']):.2f}; "
            f"margin ±{margin:.3f}, ×{math.exp(margin):.2f})")
    return claim.decide(ours, test, scale=scale, note=epochs_note(pk), trend="total over widths")


def gap_tracks_train(pk: pd.DataFrame, scale: str = "") -> Decided:
    """Claim 8-gap-tracks-train-not-test-coherence: per seed, the rank correlation across widths of the gap
    with peak training coherence against its rank correlation with peak test coherence (claim "greater";
    a difference of two correlations, the interval cut to [-2, 2])."""
    claim = _claim(
        "8-gap-tracks-train-not-test-coherence",
        "Across MLP widths the generalization gap follows training-set coherence more closely than test-set "
        "coherence (rank correlation with the gap, paired by seed).",
        "Hypothesis of section 7.2: the gap and coherence rise together because coherence is measured on training data.",
        "The 95 % interval of the gap's rank correlation with training coherence minus that with test coherence "
        "lies wholly below 0: the gap follows test-set coherence more closely.",
        "Figure 8.5")
    real = pk[pk["data"] == "real"]
    if real["width"].nunique() < 3:
        return claim.unmeasured("fewer than three widths", scale=scale)
    a, b = per_seed_rho(pk, "gap", "train_peak"), per_seed_rho(pk, "gap", "test_peak")
    both = a.merge(b, on="seed", suffixes=("_train", "_test"))
    test = seed_tests.paired(both["rho_train"], both["rho_test"], claim="greater", bounds=(-2.0, 2.0))
    ours = f"rank correlation of the gap with training coherence {test['a']:+.2f}, with test coherence {test['b']:+.2f}"
    return claim.decide(ours, test, scale=scale, note=epochs_note(pk))


def gaussian_train_test_split(pk: pd.DataFrame, scale: str = "") -> Decided:
    """Claim 8-gaussian-train-over-test-coherence-larger: log(train peak / test peak) on Gaussian data against
    real data at each width both have; each seed's mean over those widths, then paired by seed (claim
    "greater"; n = seeds)."""
    claim = _claim(
        "8-gaussian-train-over-test-coherence-larger",
        "The ratio of training-set to test-set peak coherence is larger for MLPs memorising Gaussian data than for "
        "the same MLPs on real data (each seed's mean over the widths trained on both).",
        "Section 7.2 links high coherence to memorisation; Gaussian data can only be memorised.",
        "The 95 % interval of the Gaussian minus the real log ratio lies wholly below 0: real data opens the larger "
        "gap between training- and test-set coherence.",
        "Figure 8.5")
    df = pk.assign(log_ratio=np.log(pk["train_peak"] / pk["test_peak"]))
    if df["data"].nunique() < 2:
        return claim.unmeasured("no Gaussian runs", scale=scale)
    test, groups = seed_tests.paired_groups(df, "data", "gaussian", "real", "log_ratio", by=["width"], pair_on=("seed",),
                                         claim="greater")
    ours = (f"train/test peak coherence: Gaussian ×{math.exp(test['a']):.2f}, real ×{math.exp(test['b']):.2f} "
            f"(geometric means over widths {', '.join(str(int(w)) for w in groups['width'])} and {test['n']} seeds)")
    return claim.decide(ours, test, scale=scale, groups=groups, note=epochs_note(pk))


def test_below_train(pk: pd.DataFrame, scale: str = "") -> Decided:
    """Claim 8-test-coherence-below-train from the peaks (data, width, seed, train_debiased_mean,
    test_debiased_mean) of the real-data MLPs: the debiased coherence (n α - 1)/(n - 1), averaged over the
    trained epochs, on test against training images; each seed's mean over widths, then paired by seed
    (claim "less"). Debiasing removes each set's own floor 1/n, so the two sets compare although their n
    differ."""
    claim = _claim(
        "8-test-coherence-below-train",
        "On held-out test images the per-sample gradients of the real-data MLPs are less aligned than on their "
        "training images: the debiased coherence, averaged over the trained epochs and the widths, is lower on the "
        "test set.",
        "The thesis measures coherence on training data only; section 7.2 suggests coherence is high where the gap "
        "is because it is measured on training data.",
        "The 95 % interval of test minus training debiased coherence lies wholly above 0: held-out gradients align "
        "more than training ones.",
        "Figure 8.6")
    real = pk[pk["data"] == "real"]
    if not len(real):
        return claim.unmeasured("no runs", scale=scale)
    keep = ["width", "seed"]
    long = pd.concat([real[keep].assign(set="test", value=real["test_debiased_mean"]),
                      real[keep].assign(set="train", value=real["train_debiased_mean"])], ignore_index=True)
    test, groups = seed_tests.paired_groups(long, "set", "test", "train", "value", by=["width"], claim="less")
    ours = (f"mean debiased coherence on test images {test['a']:.4f}, on training images {test['b']:.4f} "
            f"(means over {len(groups)} widths, then {test['n']} seeds)")
    return claim.decide(ours, test, scale=scale, groups=groups, note=epochs_note(pk))


def head_carries_coherence(shares: pd.DataFrame, family: str, scale: str = "") -> Decided:
    """Claim 8-<family>-output-layer-carries-coherence from the shares (family, data, seed, tensor,
    grad_share, weight_share) of the real-data runs: the last weight tensor's share of ||E g||^2 (debiased
    per tensor, :func:`grad_shares`) minus its share of the weights, one value per seed (claim "greater").
    No bounds: a debiased share can fall outside [0, 1] when another tensor's debiased value is negative."""
    name = FAMILIES[family]
    claim = _claim(
        f"8-{family}-output-layer-carries-coherence",
        f"[{name}] The output layer carries a larger share of the mean gradient's squared norm ||E g||² than its "
        "share of the weights (final weights, training images; each tensor's ||E g_l||² debiased).",
        "Not examined in the thesis; section 4.4 suggests later layers carry less information in wide networks.",
        "The 95 % interval of the output tensor's share of ||E g||² minus its share of the weights lies wholly "
        "below 0.",
        "Figure 8.7")
    sub = shares[(shares["family"] == family) & (shares["data"] == "real")]
    if not len(sub):
        return claim.unmeasured("no runs", scale=scale)
    last = [t for t in sub["tensor"].unique() if t.endswith("weight")][-1]
    head = sub[sub["tensor"] == last].groupby("seed")[["grad_share", "weight_share"]].mean()
    test = seed_tests.paired(head["grad_share"], head["weight_share"], claim="greater")
    undefined = int((~np.isfinite(head["grad_share"].astype(float))).sum())
    note = ""
    if undefined:
        note = (f"{undefined} of {len(head)} seed(s) left out: summed over all tensors the debiased ||E g||² is not "
                "positive (no mean gradient above the sampling noise of these samples), so no share is defined")
        test["dropped_why"] = note
    share = f"{test['a']:.3f}" if test["n"] else "no share"
    ours = f"{last}: {share} of ||E g||² (debiased) with {head['weight_share'].mean():.4f} of the weights"
    if "grad_share_plain" in sub.columns:
        ours += f" (undebiased share {sub.loc[sub['tensor'] == last, 'grad_share_plain'].mean():.3f})"
    return claim.decide(ours, test, scale=scale, note=note, tensor=last)


def claims_of(sigdf: pd.DataFrame, spread: pd.DataFrame, pk: pd.DataFrame, shares: pd.DataFrame,
              sweep_sig: pd.DataFrame, scale: str = "") -> list[Decided]:
    """Every claim of the chapter from plain frames (see each claim's function). Two questions chapter 8 once
    asked again are chapter 4's claims, cited where this chapter shows them: peak training coherence rising
    with width (4-coherence-grows-with-width, Figure 8.5) and diffs narrowing with width
    (4-diffs-narrow-with-width, Figure 8.4)."""
    out: list[Decided] = []
    for fam in FAMILIES:
        out += [real_diffs_signal(sigdf, fam, scale=scale), gaussian_more_significant(sigdf, fam, scale=scale)]
    out += [spread_mostly_signal(spread, fam, scale=scale) for fam in FAMILIES]
    out += [significance_falls_with_width(sweep_sig, scale=scale), spread_signal_every_width(sweep_sig, scale=scale)]
    out += [test_coherence_flat(pk, scale=scale), gap_tracks_train(pk, scale=scale),
            gaussian_train_test_split(pk, scale=scale), test_below_train(pk, scale=scale)]
    out += [head_carries_coherence(shares, fam, scale=scale) for fam in FAMILIES]
    return out


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
def provenance(s: Setup) -> str:
    """Caption provenance of the chapter's figures."""
    return f"{scale_text_short(s)}; seeds {', '.join(map(str, s.seeds))}"


def scale_text_short(s: Setup) -> str:
    c = s.sweep[(s.mlp_width, s.seeds[0])]
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


_COLORS = palette.DATA_COLORS


def figure_8_1(s: Setup, r: Results) -> None:
    """Fig. 8.1: one tensor's diff histogram per family and data (highest-coherence epoch, the figures' seed)
    against the conditional and the plain fair-coin null (shown)."""
    fig, axes = plt.subplots(len(FAMILIES), 2, figsize=(10, 3.0 * len(FAMILIES)), squeeze=False)
    for i, fam in enumerate(FAMILIES):
        for j, data in enumerate(("real", "gaussian")):
            h, ax = r.hists[(fam, data, "max")], axes[i][j]
            centers = (h["edges"][:-1] + h["edges"][1:]) / 2
            width = np.diff(h["edges"])
            ax.bar(centers, h["counts"], width=width, color=_COLORS[data], alpha=0.6, label=f"{data} diffs")
            ax.step(centers, h["null"], where="mid", color="k", lw=1.2, label="null: fair coins, own zero count")
            ax.step(centers, h["plain"], where="mid", color="0.5", lw=1, ls="--", label=f"null: {h['n']} fair coins")
            ax.set_yscale("log")
            ax.set_ylim(bottom=0.5)
            ax.set_title(f"{FAMILIES[fam]} {data}, {h['tensor']}, epoch {h['epoch']}", fontsize=9)
            ax.set_xlabel("diff = mean sign of per-sample gradients")
            ax.set_ylabel("weights per bin")
    axes[0][0].legend(fontsize=7, loc="upper left")
    figures.show(fig, "Figure 8.1", "Diff histograms at the highest-coherence epoch against the binomial null: black, "
                 "each weight's nonzero signs as fair coins; grey dashed, n fair coins per weight (sd 1/√n)",
                 f"{provenance(s)}; seed {s.params.seed}")


def figure_8_2(s: Setup, r: Results) -> None:
    """Fig. 8.2: fraction of significant diffs per tensor, real against Gaussian, at the highest- and
    lowest-coherence epochs, mean over seeds with each seed as a dot (shown)."""
    df = r.significance[r.significance["family"].isin(FAMILIES) & (r.significance["tensor"] != "all")]
    fig, axes = plt.subplots(1, len(FAMILIES), figsize=(12, 3.6), squeeze=False)
    for ax, fam in zip(axes[0], FAMILIES):
        sub = df[df["family"] == fam]
        order = list(dict.fromkeys(sub["tensor"]))
        for data in ("real", "gaussian"):
            for which, ls in (("max", "-"), ("min", ":")):
                g = sub[(sub["data"] == data) & (sub["which"] == which)]
                m = g.groupby("tensor")["significant"].mean().reindex(order)
                ax.plot(range(len(order)), m.values, ls=ls, marker="o", ms=3, color=_COLORS[data],
                        label=f"{data}, {'highest' if which == 'max' else 'lowest'} coherence")
                for _, row in g.iterrows():
                    ax.plot(order.index(row["tensor"]), row["significant"], ".", color=_COLORS[data], alpha=0.3, ms=3)
        ax.set_title(FAMILIES[fam])
        ax.set_xlabel("weight tensor, input to output")
        ax.set_ylabel(f"fraction significant (BH {s.params.q:.0%})")
        ax.set_ylim(-0.02, 1.02)
    axes[0][0].legend(fontsize=7)
    figures.show(fig, "Figure 8.2", "Fraction of each tensor's weights whose diff differs from fair coin flips (exact "
                 "two-sided binomial test, Benjamini-Hochberg per tensor); lines: mean over seeds, dots: seeds",
                 provenance(s))


def table_8a(s: Setup, r: Results) -> Any:
    """Table 8.a: all weights pooled, per family, data and epoch: significant fraction, sd of the diffs and of the
    null, zero fraction; mean and sd over seeds, one column per seed for the significant fraction."""
    df = r.significance[r.significance["family"].isin(FAMILIES) & (r.significance["tensor"] == "all")]
    display(Markdown(f"**Table 8.a.** All weight tensors pooled: fraction of weights with a significant diff (BH "
                     f"{s.params.q:.0%} per tensor), the diffs' sd against the null's sd, and the fraction of per-sample "
                     f"gradient entries that are exactly zero; the significant fraction of each seed beside the mean ({provenance(s)})."))
    g = df.groupby(["family", "data", "which"])
    out = g[["significant", "sd", "null_sd", "zero_frac"]].mean()
    out["significant_sd"] = g["significant"].std()
    per_seed = df.pivot_table(index=["family", "data", "which"], columns="seed", values="significant")
    per_seed.columns = [f"seed {c}" for c in per_seed.columns]
    out = out.join(per_seed).reset_index()
    out["family"] = out["family"].map(FAMILIES)
    return out.style.hide(axis="index").format(precision=4)


def figure_8_3(s: Setup, r: Results) -> None:
    """Fig. 8.3: sd x sqrt(n) of all weights' diffs against n, per family, real and Gaussian, each seed thin
    and the mean thick, with the conditional null (shown)."""
    df = r.spread[r.spread["tensor"] == "all"]
    fig, axes = plt.subplots(1, len(FAMILIES), figsize=(12, 3.6), squeeze=False)
    for ax, fam in zip(axes[0], FAMILIES):
        for data in ("real", "gaussian"):
            g = df[(df["family"] == fam) & (df["data"] == data)]
            for _, one in g.groupby("seed"):
                ax.plot(one["n"], one["sd_sqrt_n"], color=_COLORS[data], lw=0.7, alpha=0.5)
            m = g.groupby("n")[["sd_sqrt_n", "null_sd_sqrt_n"]].mean()
            ax.plot(m.index, m["sd_sqrt_n"], "o-", color=_COLORS[data], lw=2, label=f"{data}")
            ax.plot(m.index, m["null_sd_sqrt_n"], ":", color=_COLORS[data], lw=1.2, label=f"{data}: null")
        ax.set_xscale("log")
        ns = sorted(df.loc[df["family"] == fam, "n"].unique())
        ax.set_xticks(ns, [str(int(n)) for n in ns])
        ax.minorticks_off()
        ax.set_xlabel("samples n (first n training images)")
        ax.set_ylabel("sd of diffs × √n")
        ax.set_title(FAMILIES[fam])
    axes[0][0].legend(fontsize=7)
    figures.show(fig, "Figure 8.3", "Spread of the final weights' diffs times √n against the number of samples: "
                 "sampling noise alone stays flat (dotted: the binomial null with each weight's zero count), a fixed "
                 "signal grows like √n; thin lines are seeds", provenance(s))


def figure_8_4(s: Setup, r: Results) -> None:
    """Fig. 8.4: across MLP widths at the highest-coherence epoch: coherence against the significant fraction and
    against the spread relative to the null (shown)."""
    df = sweep_significance(s, r)
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    cmap = plt.get_cmap("viridis", len(s.widths))
    for i, w in enumerate(s.widths):
        g = df[df["width"] == w]
        axes[0].scatter(g["coherence"], g["significant"], color=cmap(i), label=f"width {w}")
        axes[1].scatter(g["coherence"], g["sd"] / g["null_sd"], color=cmap(i))
    axes[0].set_ylabel(f"fraction significant (BH {s.params.q:.0%})")
    axes[1].set_ylabel("sd of diffs / null sd")
    axes[1].axhline(1, color="k", ls=":", lw=1)
    axes[1].axhline(1 / math.sqrt(1 - SIGNAL_SHARE), color="0.5", ls="--", lw=1)
    for ax in axes:
        ax.set_xlabel("coherence α at that epoch")
    axes[0].legend(fontsize=7)
    figures.show(fig, "Figure 8.4", "MLP width sweep on real data, at each run's highest-coherence epoch: coherence "
                 "against the fraction of significant diffs (left) and the diffs' spread over the null's (right; 1 = coin "
                 "flips, √2 = half the variance signal); one dot per (width, seed). Whether the spread narrows with width "
                 "is decided in chapter 4 (claim 4-diffs-narrow-with-width, the same runs)", provenance(s))


def figure_8_5(s: Setup, r: Results) -> None:
    """Fig. 8.5: peak training- and test-set coherence against width (real and Gaussian) and the gap against
    both (shown)."""
    pk = mlp_peaks(s, r)
    cfg = s.sweep[(s.widths[0], s.seeds[0])]
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    for data in ("real", "gaussian"):
        g = pk[pk["data"] == data]
        m = g.groupby("width")[["train_peak", "test_peak"]].mean()
        axes[0].plot(m.index, m["train_peak"], "o-", color=_COLORS[data], label=f"{data}: training set")
        axes[0].plot(m.index, m["test_peak"], "s--", color=_COLORS[data], label=f"{data}: test set")
        for _, one in g.groupby("seed"):
            axes[0].plot(one["width"], one["train_peak"], color=_COLORS[data], lw=0.5, alpha=0.4)
            axes[0].plot(one["width"], one["test_peak"], color=_COLORS[data], lw=0.5, alpha=0.4, ls="--")
    figures.floor_line(axes[0], stats_n(cfg))
    axes[0].set_xscale("log", base=2)
    axes[0].set_yscale("log")
    axes[0].set_xlabel("hidden width")
    axes[0].set_ylabel("peak coherence α")
    axes[0].legend(fontsize=7)
    real = pk[pk["data"] == "real"]
    for ax, col, name in ((axes[1], "train_peak", "training"), (axes[2], "test_peak", "test")):
        ax.scatter(real[col], real["gap"], c=np.log2(real["width"]), cmap="viridis")
        ax.set_xscale("log")
        ax.set_xlabel(f"peak {name}-set coherence α")
        ax.set_ylabel("generalization gap (train − test accuracy)")
    figures.show(fig, "Figure 8.5", "Peak coherence on training and test images against width (left; thin lines are "
                 "seeds, dotted: the floor 1/n; whether peak training coherence rises with width is chapter 4's claim "
                 "4-coherence-grows-with-width, the same runs) and the last epoch's generalization gap against each "
                 "(middle, right; colour = width, real data)", provenance(s))


def figure_8_6(s: Setup, r: Results) -> None:
    """Fig. 8.6: training- and test-set coherence per epoch of every real-data MLP width (the figures' seed),
    α and debiased, with the floor 1/n (shown)."""
    cfg = s.sweep[(s.widths[0], s.seeds[0])]
    n_tr, n_te = stats_n(cfg), test_n(cfg)
    c = r.curves[(r.curves["data"] == "real") & (r.curves["seed"] == s.params.seed)]
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
    cmap = plt.get_cmap("viridis", len(s.widths))
    for i, w in enumerate(s.widths):
        g = c[c["width"] == w].sort_values("epoch")
        axes[0].plot(g["epoch"], g["coherence"], color=cmap(i), label=f"width {w}")
        axes[0].plot(g["epoch"], g["test_coherence"], color=cmap(i), ls="--")
        axes[1].plot(g["epoch"], figures.debiased_coherence(g["coherence"], n_tr), color=cmap(i))
        axes[1].plot(g["epoch"], figures.debiased_coherence(g["test_coherence"], n_te), color=cmap(i), ls="--")
    figures.floor_line(axes[0], n_tr)
    axes[0].set_yscale("log")
    axes[0].set_ylabel("coherence α")
    axes[1].axhline(0, color="k", lw=0.8, ls=":")
    axes[1].set_ylabel("debiased (nα − 1)/(n − 1)")
    for ax in axes:
        ax.set_xlabel("epoch")
    axes[0].legend(fontsize=7)
    figures.show(fig, "Figure 8.6", f"Coherence per epoch on the first {n_tr} training images (solid) and {n_te} test "
                 "images (dashed) of the real-data MLPs; right, debiased, where 0 is the value of unrelated gradients",
                 f"{provenance(s)}; seed {s.params.seed}")


def figure_8_7(s: Setup, r: Results) -> None:
    """Fig. 8.7: each weight tensor's share of ||E g||^2 against its share of the weights, real-data runs,
    final weights (shown)."""
    df = r.shares[(r.shares["data"] == "real") & r.shares["tensor"].str.endswith("weight")]
    fig, axes = plt.subplots(1, len(FAMILIES), figsize=(12, 3.6), squeeze=False)
    for ax, fam in zip(axes[0], FAMILIES):
        g = df[df["family"] == fam]
        order = list(dict.fromkeys(g["tensor"]))
        m = g.groupby("tensor")[["grad_share", "weight_share"]].mean().reindex(order)
        x = np.arange(len(order))
        ax.bar(x - 0.2, m["weight_share"], 0.4, color="0.6", label="share of weights")
        ax.bar(x + 0.2, m["grad_share"], 0.4, color="tab:purple", label="share of ||E g||²")
        for _, row in g.iterrows():
            ax.plot(order.index(row["tensor"]) + 0.2, row["grad_share"], "k.", ms=3)
        ax.set_yscale("symlog", linthresh=1e-3)
        ax.axhline(0, color="k", lw=0.6)
        ax.set_title(FAMILIES[fam])
        ax.set_xlabel("weight tensor, input to output")
        ax.set_ylabel("share (symmetric log scale)")
    axes[0][0].legend(fontsize=7)
    figures.show(fig, "Figure 8.7", "Which weight tensors carry the mean gradient: each tensor's share of ||E g||², "
                 "each tensor's part debiased as (n ||mean g_l||² − mean ||g_l||²)/(n − 1) so that noise alone adds "
                 "nothing (final weights, training images; dots: seeds; a share can be negative), against its share of "
                 "the weights (weight tensors only)", provenance(s))


def table_8b(s: Setup, vs: list[Verdict]) -> Any:
    """Shows Table 8.b's caption, with what would make each claim not held and each verdict's note (values
    left out), and returns the verdict table."""
    lines = [f"- `{v.claim_id}`: not held if {v.fails_if[0].lower()}{v.fails_if[1:]}"
             + (f" *Note: {v.note}.*" if v.note else "") for v in vs]
    display(Markdown(f"**Table 8.b.** Verdicts ({provenance(s)}). What would make each claim not held:\n\n"
                     + "\n".join(lines)))
    return toolkit.table(vs, by="both")


def table_8c(s: Setup, decided: Sequence[Decided]) -> Any:
    """Shows Table 8.c's caption and returns the per-group intervals behind the decided claims ``decided``
    (:func:`claims`)."""
    display(Markdown("**Table 8.c.** What each verdict rests on, group by group. A claim over widths shows each "
                     "width's own interval over seeds; its verdict tests each seed's mean over the widths, except an "
                     "“every width” claim, which holds only when every width holds on its own. A trend shows the "
                     "interval of the seeds' slopes (for “flat”, of their fitted total change); every other claim "
                     f"one interval over seeds ({provenance(s)})."))
    return toolkit.show_intervals(toolkit.intervals_frame(decided))
