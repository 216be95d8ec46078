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
5. The floor: coherence of unrelated gradients is about 1/n; debiased values (n alpha - 1)/(n - 1).
6. Which layers carry ||E g||^2: each tensor's share of it against its share of the weights.

Each claim is one function of plain frames (tests feed hand-made numbers) decided by the paired test of
:mod:`lib.chapters.verdicts`; margins are module constants fixed with the claims before any run.
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

from .. import profiles
from ..config import Stages, TrainConfig
from ..data import DataConfig, load_data
from ..experiments import plan_configs
from ..runs import Run, get_or_train, train_stages
from ..stats import significance as sig
from ..stats.callback import sign_counts
from ..stats.prefix import prefix_stats
from . import figures, mlp, palette
from . import params as check
from . import realdata
from . import verdicts as toolkit
from .verdicts import Verdict

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
#: "Test coherence does not grow with width": the change of log peak test coherence per width step stays
#: within log 1.25 (a 25 % change), the same factor chapter 3 uses for "similar" spreads.
FLAT_MARGIN = math.log(1.25)


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
    (planned,) = plan_configs("width_sweep", base, widths, seeds)
    sweep = {(c.model.width, c.seed): c for c in planned}
    gaussian = {(w, sd): gaussian_mlp(sweep[(w, sd)]) for w in gw for sd in seeds}
    sizes = tuple(sorted(p.sample_sizes)) if p.sample_sizes else (128, 512, 2048)
    return Setup(p, prof, seeds, widths, width, gw, sizes, large, sweep, gaussian)


def plan(s: Setup) -> Stages:
    """One stage: chapter 2's real and Gaussian ResNet and ViT runs, chapter 4's MLP sweep (all reused, not
    retrained when those chapters ran) and this chapter's Gaussian MLPs."""
    return [[*(c for d in s.large.values() for c in d.values()), *s.sweep.values(), *s.gaussian.values()]]


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
    gap). shares: one row per (family, seed, tensor): share of ||E g||^2 and share of weights.
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
    mean_sq = {k: g.layer_coherence[k] * g.layer_mean_sq_norm[k] for k in g.diffs}
    total_g = sum(v for v in mean_sq.values() if np.isfinite(v))
    total_w = sum(v.numel() for v in g.diffs.values())
    shares = [{**labels, "tensor": k, "grad_share": mean_sq[k] / total_g if total_g > 0 else math.nan,
               "weight_share": g.diffs[k].numel() / total_w, "n": g.n} for k in g.diffs]
    for r in rows:
        r["sd_sqrt_n"] = r["sd"] * math.sqrt(r["n"])
        r["null_sd_sqrt_n"] = r["null_sd"] * math.sqrt(r["n"])
    return rows, shares


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
    """Train (or load) exactly :func:`plan`'s runs, then count, test and measure (questions 1-6)."""
    train_stages(plan(s))
    load = lambda c: get_or_train(c, progress=False)  # noqa: E731
    runs = {(fam, data, sd): load(cfg) for fam in FAMILIES for sd in s.seeds for data, cfg in _run_key(fam, s, sd).items()}
    sweep = {k: load(c) for k, c in s.sweep.items()}
    gauss = {k: load(c) for k, c in s.gaussian.items()}
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
    """Per (data, width, seed): the highest training-set and test-set coherence over the trained epochs, the
    mean debiased test coherence over them ((n α - 1)/(n - 1)), and the last epoch's gap."""
    rows = []
    for (data, w, sd), g in curves.groupby(["data", "width", "seed"]):
        t = g[g["epoch"] >= 1].dropna(subset=["coherence", "test_coherence"])
        last = g.sort_values("epoch").iloc[-1]
        rows.append({"data": data, "width": int(w), "seed": int(sd), "train_peak": float(t["coherence"].max()),
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
Decided = tuple[Verdict, pd.DataFrame]
def _v(claim_id: str, claim: str, thesis: str, ours: str, test: dict, figure: str, scale: str) -> Verdict:
    return Verdict.of(claim_id, CHAPTER, claim, thesis, ours, test, figure, scale)


def _unmeasured(claim_id: str, claim: str, thesis: str, ours: str, figure: str, scale: str) -> Decided:
    return Verdict.unmeasured(claim_id, CHAPTER, claim, thesis, ours, figure, scale)


def gaussian_more_significant(sigdf: pd.DataFrame, family: str, scale: str = "") -> Decided:
    """Claim 8-<family>-gaussian-diffs-more-significant from the significance rows (family, data, seed,
    which, tensor, significant): at the epoch of highest coherence, the fraction of all weights whose
    diff is significant, Gaussian against real, paired by seed (claim "greater")."""
    name = FAMILIES[family]
    text = (f"8-{family}-gaussian-diffs-more-significant",
            f"[{name}] At its highest-coherence epoch, a network trained on Gaussian data has a larger fraction of "
            "weights whose diffs differ significantly from fair coin flips than the same network on real data.",
            "Memorising Gaussian data produces very large diffs, with spikes at ±1 for the ViT (section 3.2, Fig. 3.2); "
            "the thesis asks why (section 7.2).")
    sub = sigdf[(sigdf["family"] == family) & (sigdf["which"] == "max") & (sigdf["tensor"] == "all")]
    if not len(sub):
        return _unmeasured(*text, "no runs", "Figure 8.2", scale)
    test, groups = toolkit.paired_groups(sub, "data", "gaussian", "real", "significant", claim="greater")
    ours = (f"significant (BH 5 %): Gaussian {test['a']:.3f} vs real {test['b']:.3f} of all weights; "
            f"sd of diffs Gaussian {sub[sub['data'] == 'gaussian']['sd'].mean():.3f} vs real "
            f"{sub[sub['data'] == 'real']['sd'].mean():.3f}")
    return _v(*text, ours, test, "Figure 8.2, Table 8.a", scale), groups


def real_diffs_signal(sigdf: pd.DataFrame, family: str, level: float = SIGNAL_FRACTION, scale: str = "") -> Decided:
    """Claim 8-<family>-real-diffs-not-coin-flips: at the real-data run's highest-coherence epoch, the
    fraction of all weights with a significant diff against ``level`` (:data:`SIGNAL_FRACTION`), per seed
    (claim "greater")."""
    name = FAMILIES[family]
    sub = sigdf[(sigdf["family"] == family) & (sigdf["which"] == "max") & (sigdf["tensor"] == "all")
                & (sigdf["data"] == "real")].sort_values("seed")
    text = (f"8-{family}-real-diffs-not-coin-flips",
            f"[{name}] On real data, more than {level:.0%} of the weights have diffs that differ significantly "
            "(Benjamini-Hochberg at 5 %) from fair coin flips at the highest-coherence epoch.",
            "Diffs are read as a per-weight measure of agreement among samples (section 3.1); the thesis never "
            "compares them with a null.")
    if not len(sub):
        return _unmeasured(*text, "no runs", "Figure 8.2", scale)
    test = toolkit.paired(sub["significant"], [level] * len(sub), claim="greater")
    ours = (f"significant fraction {test['a']:.3f} (per seed: {', '.join(f'{v:.3f}' for v in sub['significant'])}); "
            f"{sub['zero_frac'].mean():.2f} of the per-sample gradient entries are exactly 0")
    return _v(*text, ours, test, "Figure 8.2, Table 8.a", scale), toolkit.one_group(test, family=family)


def spread_is_signal(spread: pd.DataFrame, family: str, data: str = "real", scale: str = "") -> Decided:
    """Claim 8-<family>-spread-not-sampling-noise: log(sd * sqrt(n)) of all weights' diffs at the largest n
    against the smallest n, paired by seed (claim "greater"). Sampling noise alone keeps sd * sqrt(n)
    constant; a fixed signal makes it grow like sqrt(n)."""
    name = FAMILIES[family]
    sub = spread[(spread["family"] == family) & (spread["data"] == data) & (spread["tensor"] == "all")]
    text = (f"8-{family}-{data}-spread-not-sampling-noise",
            f"[{name}, {data} data] The spread of the final weights' diffs shrinks more slowly than 1/sqrt(n) as "
            "the number of samples n grows: sd x sqrt(n) rises with n.",
            "The thesis measures diffs on one sample size and does not ask how much of their spread is sampling "
            "noise (section 7.2).")
    ns = sorted(sub["n"].unique())
    if len(ns) < 2:
        return _unmeasured(*text, f"one sample size only ({ns})", "Figure 8.3", scale)
    lo, hi = sub[sub["n"] == ns[0]].sort_values("seed"), sub[sub["n"] == ns[-1]].sort_values("seed")
    pairs = lo[["seed", "sd_sqrt_n"]].merge(hi[["seed", "sd_sqrt_n"]], on="seed", suffixes=("_lo", "_hi"))
    test = toolkit.paired(np.log(pairs["sd_sqrt_n_hi"]), np.log(pairs["sd_sqrt_n_lo"]), claim="greater")
    grow = math.exp(test["diff"]) if np.isfinite(test["diff"]) else math.nan
    ours = (f"sd·√n {pairs['sd_sqrt_n_lo'].mean():.3f} at n={ns[0]} -> {pairs['sd_sqrt_n_hi'].mean():.3f} at n={ns[-1]} "
            f"(×{grow:.2f}; pure noise ×1, pure signal ×{math.sqrt(ns[-1] / ns[0]):.2f})")
    return _v(*text, ours, test, "Figure 8.3", scale), toolkit.one_group(test, family=family, data=data)


def _width_steps(df: pd.DataFrame, value: str, claim: str, margin: float | None = None) -> tuple[dict, pd.DataFrame]:
    long = mlp.adjacent_steps(df, "width", value, keep=("seed",))
    return toolkit.paired_groups(long, "side", "upper", "lower", value, by=["from", "to"], pair_on=("seed",),
                                 claim=claim, margin=margin)


def significance_falls_with_width(sweep_sig: pd.DataFrame, scale: str = "") -> Decided:
    """Claim 8-mlp-significant-fraction-falls-with-width from rows (width, seed, significant) of all weights
    at the highest-coherence epoch: each width against the next narrower one, every (step, seed) pair in
    one interval (claim "less")."""
    text = ("8-mlp-significant-fraction-falls-with-width",
            "Across the MLP width sweep, wider networks have a smaller fraction of weights with significant diffs "
            "at their highest-coherence epoch, although their coherence is higher.",
            "Diffs narrow as width grows while coherence rises (Figs. 4.3, 4.4); the thesis asks why diffs are "
            "small when coherence is high (section 7.2).")
    if sweep_sig["width"].nunique() < 2:
        return _unmeasured(*text, "one width only", "Figure 8.4", scale)
    test, groups = _width_steps(sweep_sig, "significant", "less")
    sm = sweep_sig.groupby("width")["significant"].mean()
    ours = (f"significant fraction {sm.iloc[0]:.3f} at width {int(sm.index[0])} -> {sm.iloc[-1]:.3f} at width "
            f"{int(sm.index[-1])}; mean change per step {test['diff']:+.3f}")
    return _v(*text, ours, test, "Figure 8.4", scale), groups


def relative_spread_falls_with_width(sweep_sig: pd.DataFrame, scale: str = "") -> Decided:
    """Claim 8-mlp-spread-over-null-falls-with-width from rows (width, seed, sd, null_sd) of all weights at the
    highest-coherence epoch: log(sd / null sd) at each width against the next narrower one (claim "less")."""
    text = ("8-mlp-spread-over-null-falls-with-width",
            "Across the MLP width sweep, the spread of the diffs relative to the fair-coin null's spread shrinks "
            "as width grows: wider networks' diffs are closer to coin flips.",
            "Diff distributions narrow with width (Fig. 4.4).")
    if sweep_sig["width"].nunique() < 2:
        return _unmeasured(*text, "one width only", "Figure 8.4", scale)
    df = sweep_sig.assign(log_ratio=np.log(sweep_sig["sd"] / sweep_sig["null_sd"]))
    test, groups = _width_steps(df, "log_ratio", "less")
    sm = df.groupby("width")["log_ratio"].mean()
    ours = (f"sd / null sd {math.exp(sm.iloc[0]):.2f} at width {int(sm.index[0])} -> {math.exp(sm.iloc[-1]):.2f} at "
            f"width {int(sm.index[-1])}; mean change of the log ratio per step {test['diff']:+.3f}")
    return _v(*text, ours, test, "Figure 8.4", scale), groups


def train_coherence_grows(pk: pd.DataFrame, scale: str = "") -> Decided:
    """Claim 8-train-coherence-grows-with-width from the peaks (data, width, seed, train_peak) of the real-data
    MLPs: log peak at each width against the next narrower one (claim "greater")."""
    real = pk[pk["data"] == "real"].assign(log_train=lambda d: np.log(d["train_peak"]))
    text = ("8-train-coherence-grows-with-width",
            "The peak training-set coherence of a dense MLP rises with its width.",
            "Coherence rises with width (Fig. 4.3); the thesis's explanation (section 7.2) needs it on the training set.")
    if real["width"].nunique() < 2:
        return _unmeasured(*text, "one width only", "Figure 8.5", scale)
    test, groups = _width_steps(real, "log_train", "greater")
    ours = f"mean change of log peak training coherence per width step {test['diff']:+.3f} (×{math.exp(test['diff']):.2f})"
    return _v(*text, ours, test, "Figure 8.5", scale), groups


def test_coherence_flat(pk: pd.DataFrame, margin: float = FLAT_MARGIN, scale: str = "") -> Decided:
    """Claim 8-test-coherence-flat-with-width: log peak test-set coherence at each width against the next
    narrower one stays within ±``margin`` (:data:`FLAT_MARGIN`), every (step, seed) pair in one interval
    (claim "equal")."""
    real = pk[pk["data"] == "real"].assign(log_test=lambda d: np.log(d["test_peak"]))
    text = ("8-test-coherence-flat-with-width",
            f"The peak test-set coherence of a dense MLP does not change with width (within a factor {math.exp(margin):.2f} "
            "per width step).",
            "Hypothesis of section 7.2: coherence is high when the gap is high because it is measured on the "
            "training set, where wide networks memorise.")
    if real["width"].nunique() < 2:
        return _unmeasured(*text, "one width only", "Figure 8.5", scale)
    test, groups = _width_steps(real, "log_test", "equal", margin=margin)
    ours = f"mean change of log peak test coherence per width step {test['diff']:+.3f} (margin ±{margin:.3f})"
    return _v(*text, ours, test, "Figure 8.5", scale), groups


def gap_tracks_train(pk: pd.DataFrame, scale: str = "") -> Decided:
    """Claim 8-gap-tracks-train-not-test-coherence: per seed, the rank correlation across widths of the gap
    with peak training coherence against its rank correlation with peak test coherence (claim "greater")."""
    text = ("8-gap-tracks-train-not-test-coherence",
            "Across MLP widths the generalization gap follows training-set coherence more closely than test-set "
            "coherence (rank correlation with the gap, paired by seed).",
            "Hypothesis of section 7.2: the gap and coherence rise together because coherence is measured on training data.")
    real = pk[pk["data"] == "real"]
    if real["width"].nunique() < 3:
        return _unmeasured(*text, "fewer than three widths", "Figure 8.5", scale)
    a, b = per_seed_rho(pk, "gap", "train_peak"), per_seed_rho(pk, "gap", "test_peak")
    both = a.merge(b, on="seed", suffixes=("_train", "_test"))
    test = toolkit.paired(both["rho_train"], both["rho_test"], claim="greater")
    ours = f"rank correlation of the gap with training coherence {test['a']:+.2f}, with test coherence {test['b']:+.2f}"
    return _v(*text, ours, test, "Figure 8.5", scale), toolkit.one_group(test)


def gaussian_train_test_split(pk: pd.DataFrame, scale: str = "") -> Decided:
    """Claim 8-gaussian-train-over-test-coherence-larger: log(train peak / test peak) on Gaussian data against
    real data, paired on (width, seed) (claim "greater")."""
    df = pk.assign(log_ratio=np.log(pk["train_peak"] / pk["test_peak"]))
    text = ("8-gaussian-train-over-test-coherence-larger",
            "The ratio of training-set to test-set coherence is larger for MLPs memorising Gaussian data than for "
            "the same MLPs on real data.",
            "Section 7.2 links high coherence to memorisation; Gaussian data can only be memorised.")
    if df["data"].nunique() < 2:
        return _unmeasured(*text, "no Gaussian runs", "Figure 8.5", scale)
    test, groups = toolkit.paired_groups(df, "data", "gaussian", "real", "log_ratio", by=["width"], pair_on=("seed",),
                                         claim="greater")
    ours = (f"train/test peak coherence: Gaussian ×{math.exp(test['a']):.2f}, real ×{math.exp(test['b']):.2f} "
            f"(mean log ratios over {test['n']} (width, seed) pairs)")
    return _v(*text, ours, test, "Figure 8.5", scale), groups


def test_coherence_above_floor(pk: pd.DataFrame, scale: str = "") -> Decided:
    """Claim 8-test-coherence-above-floor: the mean debiased test-set coherence over the trained epochs of the
    real-data MLPs against 0 (the value of unrelated gradients), one pair per (width, seed) (claim "greater")."""
    real = pk[pk["data"] == "real"]
    text = ("8-test-coherence-above-floor",
            "On held-out test images the per-sample gradients of the real-data MLPs are more aligned than unrelated "
            "gradients: debiased test-set coherence is above 0.",
            "The thesis measures coherence on training data only.")
    if not len(real):
        return _unmeasured(*text, "no runs", "Figure 8.6", scale)
    test = toolkit.paired(real["test_debiased_mean"], np.zeros(len(real)), claim="greater")
    ours = (f"mean debiased test coherence {test['a']:.4f} (training {real['train_debiased_mean'].mean():.4f}) over "
            f"{test['n']} (width, seed) runs")
    return _v(*text, ours, test, "Figure 8.6", scale), toolkit.one_group(test)


def head_carries_coherence(shares: pd.DataFrame, family: str, scale: str = "") -> Decided:
    """Claim 8-<family>-output-layer-carries-coherence from the shares (family, data, seed, tensor,
    grad_share, weight_share) of the real-data runs: the last weight tensor's log share of ||E g||^2
    against its log share of the weights, paired by seed (claim "greater")."""
    name = FAMILIES[family]
    sub = shares[(shares["family"] == family) & (shares["data"] == "real")]
    text = (f"8-{family}-output-layer-carries-coherence",
            f"[{name}] The output layer carries a larger share of the mean gradient's squared norm ||E g||² than its "
            "share of the weights (final weights, training images).",
            "Not examined in the thesis; section 4.4 suggests later layers carry less information in wide networks.")
    if not len(sub):
        return _unmeasured(*text, "no runs", "Figure 8.7", scale)
    last = [t for t in sub["tensor"].unique() if t.endswith("weight")][-1]
    head = sub[sub["tensor"] == last].sort_values("seed")
    test = toolkit.paired(np.log(head["grad_share"]), np.log(head["weight_share"]), claim="greater")
    ours = (f"{last}: {head['grad_share'].mean():.3f} of ||E g||² with {head['weight_share'].mean():.4f} of the weights")
    return _v(*text, ours, test, "Figure 8.7", scale), toolkit.one_group(test, tensor=last)


def claims_of(sigdf: pd.DataFrame, spread: pd.DataFrame, pk: pd.DataFrame, shares: pd.DataFrame,
              sweep_sig: pd.DataFrame, scale: str = "") -> list[Decided]:
    """Every claim of the chapter from plain frames (see each claim's function)."""
    out: list[Decided] = []
    for fam in FAMILIES:
        out += [real_diffs_signal(sigdf, fam, scale=scale), gaussian_more_significant(sigdf, fam, scale=scale)]
    out += [spread_is_signal(spread, fam, scale=scale) for fam in FAMILIES]
    out += [significance_falls_with_width(sweep_sig, scale=scale), relative_spread_falls_with_width(sweep_sig, scale=scale)]
    out += [train_coherence_grows(pk, scale=scale), test_coherence_flat(pk, scale=scale), gap_tracks_train(pk, scale=scale),
            gaussian_train_test_split(pk, scale=scale), test_coherence_above_floor(pk, scale=scale)]
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
    return [v for v, _ in claims(s, r)]


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
    for ax in axes:
        ax.set_xlabel("coherence α at that epoch")
    axes[0].legend(fontsize=7)
    figures.show(fig, "Figure 8.4", "MLP width sweep on real data, at each run's highest-coherence epoch: coherence "
                 "against the fraction of significant diffs (left) and the diffs' spread over the null's (right; 1 = coin "
                 "flips); one dot per (width, seed)", provenance(s))


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
                 "seeds, dotted: the floor 1/n) and the last epoch's generalization gap against each (middle, right; "
                 "colour = width, real data)", provenance(s))


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
        ax.set_yscale("log")
        ax.set_title(FAMILIES[fam])
        ax.set_xlabel("weight tensor, input to output")
        ax.set_ylabel("share")
    axes[0][0].legend(fontsize=7)
    figures.show(fig, "Figure 8.7", "Which weight tensors carry the mean gradient: each tensor's share of ||E g||² "
                 "(final weights, training images; dots: seeds) against its share of the weights (weight tensors only)",
                 provenance(s))


def table_8b(s: Setup, vs: list[Verdict]) -> Any:
    """Shows Table 8.b's caption and returns the verdict table."""
    display(Markdown(f"**Table 8.b.** Verdicts ({provenance(s)})."))
    return toolkit.table(vs, by="both")


def intervals_table(s: Setup, r: Results) -> Any:
    """Shows Table 8.c's caption and returns the per-group intervals behind the verdicts."""
    display(Markdown("**Table 8.c.** The pairs behind each verdict, group by group (width steps, widths or one "
                     f"group), each with its own mean paired difference, 95 % interval and verdict ({provenance(s)})."))
    return mlp.show_intervals(mlp.intervals_frame(claims(s, r)))
