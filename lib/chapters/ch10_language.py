"""Chapter 10: does it carry to language models? Coherence, diffs and pruning of a small decoder-only transformer
(:class:`lib.models.GPT`) on the Brown corpus as characters (:mod:`lib.text_data`), the thesis's last open question
(its section 7.2) at a scale a laptop trains in minutes.

Per seed:

1. three runs from the same initialisation with gradient statistics after every epoch (a sample is one window of
   ``context`` characters, its loss summed over positions): on text, on the training split's characters
   shuffled (same unigram counts, no order), and on random characters (the symbols of the training split drawn
   uniformly): the analogues of chapter 2's real and Gaussian data;
2. a parent ``ratio`` times wider in its attention (``ratio`` x the heads) and feed-forward layers, trained on
   text with statistics, pruned to the child's nonzero count (density ``1 / ratio`` of the prunable weights:
   every attention and feed-forward weight, never the embeddings, norms or output layer) by diff, magnitude,
   random and SNIP masks ranked globally (with the floor of chapter 6), the diff and random masks also with the
   same fraction per tensor; children trained from a fresh initialisation (SNIP's from the network it scored), against the
   dense child-sized model;
3. the diff and magnitude masks (global) shuffled within each tensor (chapter 9's test);
4. the scaling question: dense models with each of ``sizes`` heads (the feed-forward width in proportion), and at
   each size a child with the same nonzero count pruned from a ``ratio`` times wider parent by a random mask (one
   global ranking; a random mask needs no trained parent), trained from the child seed; per seed and arm a power
   law of validation loss in the nonzero attention and feed-forward weights, whose exponents are compared over seeds.

What is read: per-epoch coherence and losses from the runs' metrics; at the initialisation and the final weights
of each run of (1), one pass of the statistics engine with sign counts over the statistics windows: each tensor's
share of the debiased ||E g||^2 (:func:`lib.stats.shares.grad_shares`), its diffs' histogram against the
fair-coin null, and the share of its diffs that the exact sign test flags (Benjamini-Hochberg, 5 %); the
children's and the scaling runs' final validation loss and nonzero attention and feed-forward weights.

The claims are ours (:mod:`lib.chapters.ch10_claims`); the settings of each profile are :data:`SCALES`, here
and nowhere else.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from IPython.display import Markdown, display

from .. import parallel, profiles, text_data
from ..config import MaskConfig, OptimConfig, StatsConfig, TrainConfig, config_hash
from ..data import DataConfig, DeviceData, load_data
from ..experiments import CHILD_SEED_OFFSET, child_seed, nonzero_weights, start_where_scored
from ..masks import prunable
from ..models import ModelConfig, build_model
from ..plan import Plan, from_configs
from ..runs import Run, load
from ..stats import gradient_stats
from ..stats import significance as sig
from ..stats.shares import grad_shares
from ..train import fresh_model
from . import params as check
from . import verdicts as toolkit
from .ch10_claims import (ARMS, CHAPTER, GROUPS, KIND_NAMES, LAYER_METHODS, METHODS, SCOPES, SHUFFLED, claims_of,
                          exponents, noise_scale, window)
from .figures import debiased_coherence, floor_line, index_axis, legend_below, show
from .palette import OKABE_ITO, method_color
from .verdicts import Decided, Verdict

KINDS = tuple(KIND_NAMES)
#: Colour of each data kind (text as chapter 2's real data, shuffled as its Gaussian data).
KIND_COLORS = {"brown": OKABE_ITO["blue"], "brown_shuffled": OKABE_ITO["vermillion"],
               "brown_random": OKABE_ITO["purple"]}
#: Colour of each tensor group.
GROUP_COLORS = dict(zip(GROUPS, (OKABE_ITO["green"], OKABE_ITO["blue"], OKABE_ITO["orange"], "#999999",
                                 OKABE_ITO["purple"])))
#: The global ranking's per-tensor floor (chapter 6's).
FLOOR = 0.02
#: Bins of the diff histograms on [-1, 1] (fewer for statistics over fewer than twice as many windows).
BINS = 50
#: False discovery rate of the sign tests.
FDR = 0.05


@dataclass(frozen=True)
class Scale:
    """The chapter's settings at one profile: the child model (embedding ``width``, ``depth`` blocks, ``heads``
    heads of ``width // heads``, feed-forward ``ff``, windows of ``context`` characters), the data (``n_train``
    training and ``n_eval`` validation windows; 0: all of the split), Adam at ``lr``, ``epochs``, ``batch_size``
    windows per step, gradient statistics on the first ``stats_samples`` training windows, the parent's
    ``ratio`` (its heads and feed-forward width; density 1 / ratio), and ``sizes``, the heads of the scaling
    question's dense models (increasing; each with ``ff // heads`` feed-forward units per head)."""

    context: int
    width: int
    depth: int
    heads: int
    ff: int
    n_train: int
    n_eval: int
    epochs: int
    batch_size: int
    lr: float
    stats_samples: int
    ratio: int
    sizes: tuple[int, ...]

    def __post_init__(self) -> None:
        for name in ("context", "width", "depth", "heads", "ff", "epochs", "batch_size", "stats_samples"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 1:
                raise ValueError(f"Scale.{name} must be an integer >= 1, got {getattr(self, name)!r}")
        for name in ("n_train", "n_eval"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 0:
                raise ValueError(f"Scale.{name} must be an integer >= 0 (0: all windows), got {getattr(self, name)!r}")
        if self.width % self.heads:
            raise ValueError(f"Scale.width {self.width} must be a multiple of heads {self.heads}")
        if self.ff % self.heads:
            raise ValueError(f"Scale.ff {self.ff} must be a multiple of heads {self.heads} (feed-forward units per "
                             "head scale the models of the scaling question)")
        sizes = self.sizes
        if (not isinstance(sizes, tuple) or len(sizes) < 2 or not all(isinstance(h, int) and h >= 1 for h in sizes)
                or list(sizes) != sorted(set(sizes))):
            raise ValueError(f"Scale.sizes must be a tuple of at least two increasing integers >= 1 (heads of the "
                             f"scaling question's dense models), got {sizes!r}")
        if not (isinstance(self.ratio, int) and self.ratio >= 2):
            raise ValueError(f"Scale.ratio must be an integer >= 2 (the parent is that many times wider), got "
                             f"{self.ratio!r}")
        if not self.lr > 0:
            raise ValueError(f"Scale.lr must be > 0, got {self.lr!r}")


#: Profile -> the chapter's settings. ``cpu`` trains the chapter in minutes on two cores (its scaling question has
#: three sizes, 1 to 4 heads, the fewest the question allows: each size costs a dense run and a child as wide as a
#: parent); ``paper`` is sized for a GPU (four blocks of width 256, context 256, every window of the training split,
#: a ten times wider parent, so its children keep 10 %, and four sizes).
SCALES: dict[str, Scale] = {
    "smoke": Scale(context=32, width=32, depth=1, heads=2, ff=64, n_train=128, n_eval=32, epochs=3, batch_size=32,
                   lr=1e-3, stats_samples=32, ratio=2, sizes=(1, 2)),
    "cpu": Scale(context=64, width=64, depth=2, heads=4, ff=256, n_train=1000, n_eval=250, epochs=6, batch_size=32,
                 lr=1e-3, stats_samples=256, ratio=4, sizes=(1, 2, 4)),
    "paper": Scale(context=256, width=256, depth=4, heads=8, ff=1024, n_train=0, n_eval=0, epochs=20,
                   batch_size=64, lr=3e-4, stats_samples=1024, ratio=10, sizes=(2, 4, 8, 16)),
}


@dataclass(frozen=True)
class Params:
    """The notebook's papermill parameters (same names and defaults). None: the profile's value (:data:`SCALES`)."""

    profile: str = "cpu"
    seed: int = 0
    seeds: Any = None  # seeds of every claim (profile: seeds); `seed` is added when missing
    epochs: int | None = None  # epochs of every run
    n_train: int | None = None  # training windows (0: all of the training split)

    def __post_init__(self) -> None:
        check.profile(self.profile)
        check.integer(self.seed, "seed", minimum=0)
        check.integers(self.seeds, "seeds", minimum=0)
        check.integer(self.epochs, "epochs", minimum=1, optional=True)
        check.integer(self.n_train, "n_train", minimum=0, optional=True)


@dataclass(frozen=True)
class Setup:
    """Chapter 10's parameters, profile, settings, seeds and configs.

    coherence: (kind, seed) -> the run with statistics on that data kind. parents: seed -> the wide parent.
    children: (variant, seed) -> config, variants ``<method>_<scope>``, ``<method>_shuffled`` and ``none`` (the
    dense child-sized model); the seed of the key is the parent's. scaling: (arm, heads, seed) -> config, arm
    ``dense`` or ``sparse`` (:func:`scaling_configs`)."""

    params: Params
    profile: profiles.Profile
    scale: Scale
    seeds: tuple[int, ...]
    coherence: dict[tuple[str, int], TrainConfig]
    parents: dict[int, TrainConfig]
    children: dict[tuple[str, int], TrainConfig]
    scaling: dict[tuple[str, int, int], TrainConfig]


def sized_model(sc: Scale, heads: int) -> ModelConfig:
    """The language model with ``heads`` heads and ``ff // heads`` feed-forward units per head (the embedding
    width, depth and head size stay the child's)."""
    return ModelConfig("gpt", width=sc.width, depth=sc.depth, vocab=text_data.VOCAB_SIZE, context=sc.context,
                       heads=heads, head_dim=sc.width // sc.heads, ff=sc.ff // sc.heads * heads)


def model_config(sc: Scale, ratio: int = 1) -> ModelConfig:
    """The child's model (``ratio`` 1) or the parent's (``ratio`` times the heads and the feed-forward width; the
    embedding width and the head size stay)."""
    return sized_model(sc, sc.heads * ratio)


def run_config(sc: Scale, kind: str, seed: int, *, stats: bool = True, counts: bool = True) -> TrainConfig:
    """A run of the child model on data ``kind`` from seed ``seed``, with gradient statistics after every epoch
    (sign counts with ``counts``) or none. The windows are the same for every seed (data seed 0)."""
    return TrainConfig(data=DataConfig(kind, sc.n_train, sc.n_eval, seed=0, context=sc.context),
                       model=model_config(sc), optim=OptimConfig("adam", sc.lr), batch_size=sc.batch_size,
                       epochs=sc.epochs, seed=seed,
                       stats=StatsConfig(every=1, max_samples=sc.stats_samples, counts=counts) if stats else StatsConfig())


def pruning_configs(sc: Scale, seed: int) -> tuple[TrainConfig, dict[str, TrainConfig]]:
    """(the wide parent of ``seed``, its children by variant): a child per mask method (global ranking) and per
    method of :data:`LAYER_METHODS` (the same fraction per tensor), kept
    ``1 / ratio`` of the prunable weights, trained from the child seed without statistics (SNIP's from the
    network it scored, :func:`lib.experiments.start_where_scored`); the diff and magnitude masks shuffled within
    tensors; and ``none``, the dense child-sized model from the child seed."""
    parent = dataclasses.replace(run_config(sc, "brown", seed, counts=False), model=model_config(sc, sc.ratio))
    child = run_config(sc, "brown", seed, stats=False)
    out: dict[str, TrainConfig] = {}
    for scope in SCOPES:
        for m in METHODS if scope == "global" else LAYER_METHODS:
            mask = MaskConfig(parent=parent, method=m, density=1 / sc.ratio, scope=scope,
                              floor=FLOOR if scope == "global" else 0.0, seed=seed)
            out[f"{m}_{scope}"] = start_where_scored(dataclasses.replace(child, model=parent.model,
                                                                         seed=child_seed(seed, m), mask=mask))
    for m in SHUFFLED:
        c = out[f"{m}_global"]
        out[f"{m}_shuffled"] = dataclasses.replace(c, mask=dataclasses.replace(c.mask, shuffle=True))
    out["none"] = dataclasses.replace(child, seed=seed + CHILD_SEED_OFFSET)
    return parent, out


def scaling_configs(sc: Scale, seed: int) -> dict[tuple[str, int], TrainConfig]:
    """(arm, heads) -> run, for each of ``sc.sizes``: ``dense``, the model with that many heads trained from the
    child seed; ``sparse``, a child of the same nonzero prunable count, the model ``ratio`` times wider (as the
    pruning parent is) with a random global mask at density 1 / ratio, trained from the child seed. At the child's
    own size these are the chapter's ``none`` and ``random_global`` children (the same configs, so the same runs).
    The mask's parent (with statistics, as :func:`pruning_configs`'s) is never trained for a random mask."""
    out: dict[tuple[str, int], TrainConfig] = {}
    base = run_config(sc, "brown", seed, stats=False)
    for h in sc.sizes:
        parent = dataclasses.replace(run_config(sc, "brown", seed, counts=False), model=sized_model(sc, h * sc.ratio))
        mask = MaskConfig(parent=parent, method="random", density=1 / sc.ratio, scope="global", floor=FLOOR, seed=seed)
        out[("dense", h)] = dataclasses.replace(base, model=sized_model(sc, h), seed=seed + CHILD_SEED_OFFSET)
        out[("sparse", h)] = dataclasses.replace(base, model=parent.model, seed=child_seed(seed, "random"), mask=mask)
    return out


def setup(**params: Any) -> Setup:
    """Validate the parameters (errors name the parameter and its value) and resolve the chapter."""
    p = check.build(Params, params)
    prof = profiles.get(p.profile)
    seeds = check.resolve_seeds(p, prof, CHAPTER)
    sc = SCALES[p.profile]
    sc = dataclasses.replace(sc, epochs=p.epochs if p.epochs is not None else sc.epochs,
                             n_train=p.n_train if p.n_train is not None else sc.n_train)
    coherence = {(k, sd): run_config(sc, k, sd) for k in KINDS for sd in seeds}
    parents, children, scaling = {}, {}, {}
    for sd in seeds:
        parents[sd], cs = pruning_configs(sc, sd)
        children.update({(v, sd): c for v, c in cs.items()})
        scaling.update({(arm, h, sd): c for (arm, h), c in scaling_configs(sc, sd).items()})
    return Setup(p, prof, sc, seeds, coherence, parents, children, scaling)


def second_stage(s: Setup) -> dict[str, TrainConfig]:
    """Every child and every run of the scaling question, each once, by hash (at the child's size the two
    coincide, :func:`scaling_configs`)."""
    return {config_hash(c): c for c in (*s.children.values(), *s.scaling.values())}


def plan(s: Setup) -> Plan:
    """[the runs of the three data kinds, the parents], [:func:`second_stage`]."""
    return from_configs([[*s.coherence.values(), *s.parents.values()], list(second_stage(s).values())])


# ------------------------------------------------------------------------------------------ results
def tensor_group(name: str) -> str:
    """The group of a :class:`lib.models.GPT` parameter (:data:`GROUPS`): embeddings (tokens, positions),
    attention (q, k, v, out), feed-forward (hidden, proj), layer norms, output (the last layer)."""
    parts = name.split(".")
    if parts[0] in ("tokens", "position"):
        return "embeddings"
    if parts[0] == "head":
        return "output"
    if parts[0] == "norm" or any(p.startswith("norm") for p in parts[:-1]):
        return "layer norms"
    if "attn" in parts:
        return "attention"
    if "ff" in parts:
        return "feed-forward"
    raise ValueError(f"parameter {name!r} belongs to no group of the language model")


@dataclass(frozen=True, eq=False)
class Results:
    """What the chapter draws and decides from.

    curves: one row per (kind, seed, epoch): coherence, debiased, noise_scale, train_loss, test_loss (validation),
    test_acc, n. tensors: one row per (kind, seed, when, tensor): group, weights, grad_share, weight_share,
    significant (NaN where not pruned). shares: ``tensors`` summed per group (significant weighted by weights).
    hists: per (kind, seed, when, group) and bin: count and null (the fair-coin null given each entry's nonzero
    count). children: per (variant, seed): val_loss, val_acc, nonzero (weights of >= 2-d tensors). scaling: per
    (arm, heads, seed): val_loss, val_acc, nonzero (:func:`body_nonzero`: attention and feed-forward)."""

    curves: pd.DataFrame
    tensors: pd.DataFrame
    shares: pd.DataFrame
    hists: pd.DataFrame
    children: pd.DataFrame
    scaling: pd.DataFrame


def curve_rows(run: Run, kind: str, seed: int, n: int) -> pd.DataFrame:
    """A run's metrics with its kind and seed, the debiased coherence and the simple noise scale (n windows)."""
    m = run.metrics[["epoch", "coherence", "train_loss", "test_loss", "test_acc"]].copy()
    m.insert(0, "seed", seed)
    m.insert(0, "kind", kind)
    m["n"] = n
    m["debiased"] = debiased_coherence(m["coherence"].to_numpy(float), n)
    m["noise_scale"] = noise_scale(m["coherence"].to_numpy(float), n)
    return m


def tensor_rows(model: Any, cfg: TrainConfig, data: DeviceData, **labels: Any) -> tuple[list[dict], list[dict]]:
    """One pass of the statistics engine with sign counts over the run's statistics windows of ``data`` (the
    run's, loaded once by the caller): (a row per tensor: group, weights, debiased share of ||E g||^2, share of
    the weights, share of significant diffs for the prunable tensors; histogram rows per group: counts and the
    fair-coin null on :data:`BINS` bins)."""
    k = cfg.stats.max_samples or len(data.y_train)
    st = gradient_stats(model, (data.x_train[:k], data.y_train[:k]), batch_size=cfg.stats.batch_size, counts=True,
                        progress=False)
    shares = grad_shares(st)
    pruned = set(prunable(model))
    total = sum(v.numel() for v in st.diffs.values())
    edges = np.linspace(-1.0, 1.0, min(BINS, max(1, st.n // 2)) + 1)  # a diff over n takes n + 1 values at most
    rows, hist = [], {}
    for name, d in st.diffs.items():
        group = tensor_group(name)
        significant = math.nan
        if name in pruned:
            significant = sig.significant_fraction(st.sign_sum[name], st.nonzero[name], q=FDR)
        rows.append({**labels, "tensor": name, "group": group, "weights": d.numel(), "grad_share": shares[name],
                     "weight_share": d.numel() / total, "significant": significant})
        counts = np.histogram(d.numpy().ravel(), bins=edges)[0].astype(float)
        null = sig.null_diff_hist(st.nonzero[name], st.n, edges)
        c0, n0 = hist.get(group, (0.0, 0.0))
        hist[group] = (c0 + counts, n0 + null)
    hrows = [{**labels, "group": g, "lo": lo, "hi": hi, "count": c, "null": nl}
             for g, (cs, ns) in hist.items() for lo, hi, c, nl in zip(edges[:-1], edges[1:], cs, ns)]
    return rows, hrows


def group_shares(tensors: pd.DataFrame) -> pd.DataFrame:
    """``tensors`` per (kind, seed, when, group): shares and weights summed, the significant share weighted by
    the prunable tensors' weights (NaN for a group without prunable tensors)."""
    keys = ["kind", "seed", "when", "group"]

    def one(g: pd.DataFrame) -> pd.Series:
        p = g[g["significant"].notna()]
        sig_share = float(np.average(p["significant"], weights=p["weights"])) if len(p) else math.nan
        return pd.Series({"grad_share": g["grad_share"].sum(), "weight_share": g["weight_share"].sum(),
                          "weights": int(g["weights"].sum()), "significant": sig_share})
    return tensors.groupby(keys, sort=False).apply(one, include_groups=False).reset_index()


def _final(run: Run) -> dict[str, float]:
    """A child's or scaling run's validation loss and accuracy, its nonzero weights (>= 2-d tensors) and the
    nonzero attention and feed-forward weights of the scaling question (:func:`body_nonzero`)."""
    last, state = run.final(), run.state_dict()
    return {"val_loss": last["test_loss"], "val_acc": last["test_acc"], "nonzero": nonzero_weights(state),
            "body": body_nonzero(state)}


def body_nonzero(state: dict[str, Any]) -> int:
    """The nonzero entries of the attention and feed-forward weight matrices of a state dict (the tensors masks may
    prune, counted whether or not :func:`lib.masks.prunable` skips a small one; a masked child's pruned weights
    are zero)."""
    return int(sum(int(v.count_nonzero()) for n, v in state.items()
                   if v.dim() >= 2 and tensor_group(n) in ("attention", "feed-forward")))


def results(s: Setup) -> Results:
    """Train :func:`plan`'s missing runs (the one executor, :func:`lib.parallel.train`; nothing when the build
    has), then read them (:func:`lib.runs.load`) and measure shares and diffs at their initial and final weights."""
    parallel.train(plan(s))
    curves, tensors, hists = [], [], []
    for (kind, sd), cfg in s.coherence.items():
        run = load(cfg, chapter=CHAPTER)
        curves.append(curve_rows(run, kind, sd, s.scale.stats_samples))
        data = load_data(cfg.data)
        for when, model in (("init", fresh_model(cfg)), ("final", run.load_model())):
            t, h = tensor_rows(model, cfg, data, kind=kind, seed=sd, when=when)
            tensors += t
            hists += h
    final = {h: _final(load(c, chapter=CHAPTER)) for h, c in second_stage(s).items()}  # each run read once
    children = pd.DataFrame([{"variant": v, "seed": sd, **{k: final[config_hash(c)][k]
                                                           for k in ("val_loss", "val_acc", "nonzero")}}
                             for (v, sd), c in s.children.items()])
    scaling = pd.DataFrame([{"arm": arm, "heads": h, "seed": sd, "val_loss": final[config_hash(c)]["val_loss"],
                             "val_acc": final[config_hash(c)]["val_acc"], "nonzero": final[config_hash(c)]["body"]}
                            for (arm, h, sd), c in s.scaling.items()])
    tensor_frame = pd.DataFrame(tensors)
    return Results(pd.concat(curves, ignore_index=True), tensor_frame, group_shares(tensor_frame), pd.DataFrame(hists),
                   children, scaling)


# ------------------------------------------------------------------------------------------ text
def weights_of(cfg: ModelConfig) -> tuple[int, int]:
    """(all parameters, prunable weights) of a model config."""
    m = build_model(cfg)
    params = dict(m.named_parameters())
    return sum(p.numel() for p in m.parameters()), sum(params[n].numel() for n in prunable(m))


def settings_table(s: Setup) -> pd.DataFrame:
    """The chapter's settings at this profile, each with what it is."""
    sc = s.scale
    child, parent = weights_of(model_config(sc)), weights_of(model_config(sc, sc.ratio))
    rows = [("profile", s.profile.name), ("seeds", ", ".join(map(str, s.seeds))),
            ("model", f"{sc.depth} blocks, width {sc.width}, {sc.heads} heads of {sc.width // sc.heads}, "
                      f"feed-forward {sc.ff}, context {sc.context} characters"),
            ("parameters (prunable)", f"{child[0]:,d} ({child[1]:,d})"),
            ("parent", f"{sc.heads * sc.ratio} heads, feed-forward {sc.ff * sc.ratio}: {parent[0]:,d} parameters "
                       f"({parent[1]:,d} prunable), pruned to 1/{sc.ratio} of them"),
            ("symbols", f"{text_data.VOCAB_SIZE} (newline, printable ASCII, unknown)"),
            ("training windows", "all" if sc.n_train == 0 else f"{sc.n_train:,d}"),
            ("validation windows", "all" if sc.n_eval == 0 else f"{sc.n_eval:,d}"),
            ("epochs", sc.epochs), ("batch", f"{sc.batch_size} windows"), ("optimiser", f"Adam, learning rate {sc.lr:g}"),
            ("gradient statistics", f"first {sc.stats_samples:,d} training windows, after every epoch")]
    return pd.DataFrame(rows, columns=["setting", "value"])


def scale_text(s: Setup, r: Results) -> str:
    """What the chapter measured at this profile: the dense child's validation loss per character."""
    dense = r.children[r.children["variant"] == "none"]["val_loss"].mean()
    sc = s.scale
    return (f"profile {s.profile.name}: {sc.depth}-block width-{sc.width} model, {sc.epochs} epochs; dense child "
            f"validation loss {dense:.3f} nats per character")


def provenance(s: Setup) -> str:
    """Caption provenance: profile, model, data, epochs, seeds."""
    sc = s.scale
    windows = "every" if sc.n_train == 0 else f"{sc.n_train:,d}"
    return (f"profile `{s.profile.name}`, {sc.depth}-block width-{sc.width} language model, {windows} training windows "
            f"of {sc.context} characters of the Brown corpus, {sc.epochs} epochs, seeds "
            f"{', '.join(map(str, s.seeds))}; statistics on {sc.stats_samples:,d} windows")


# ------------------------------------------------------------------------------------------ figures
def _per_seed_lines(ax: plt.Axes, d: pd.DataFrame, y: str, color: str, label: str) -> None:
    for _, g in d.groupby("seed"):
        ax.plot(g["epoch"], g[y], color=color, lw=0.8, alpha=0.45)
    mean = d.groupby("epoch")[y].mean()
    ax.plot(mean.index, mean.to_numpy(), color=color, lw=2.2, label=label)


def figure_10_1(s: Setup, r: Results) -> None:
    """Fig. 10.1: coherence, validation loss and the simple noise scale per epoch, for text, shuffled and random
    characters (shown)."""
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.8))
    for kind in KINDS:
        d = r.curves[r.curves["kind"] == kind]
        for ax, y in zip(axes, ("coherence", "test_loss", "noise_scale")):
            _per_seed_lines(ax, d, y, KIND_COLORS[kind], KIND_NAMES[kind])
    floor_line(axes[0], s.scale.stats_samples)
    axes[0].set(yscale="log", ylabel="coherence α", title="coherence of per-window gradients")
    axes[1].set(ylabel="validation loss (nats per character)", title="validation loss")
    axes[2].set(yscale="log", ylabel="B = 1/α_debiased − 1 (windows)", title="simple noise scale")
    for ax in axes:
        ax.set_xlabel("epoch")
        index_axis(ax)
    legend_below(fig, axes[0], ncol=4)
    show(fig, "Figure 10.1",
         "The language model from one initialisation per seed on text, on the same characters shuffled, and on "
         "random characters: coherence per epoch (left, log scale) with the floor 1/n of unrelated gradients, "
         "validation loss (middle), and the simple noise scale B of McCandlish et al. (right, log scale; missing "
         "where the debiased coherence is not above 0); each seed thin, the mean over seeds thick",
         provenance(s), data=r.curves)


def figure_10_2(s: Setup, r: Results) -> None:
    """Fig. 10.2: each tensor group's share of the debiased ||E g||^2 against its share of the weights, at the
    initialisation and after training (shown)."""
    fig, axes = plt.subplots(1, 2, figsize=(12, 3.8), sharey=True)
    width = 0.2
    x = np.arange(len(GROUPS))
    for ax, when in zip(axes, ("init", "final")):
        d = r.shares[r.shares["when"] == when]
        w = d[d["kind"] == "brown"].groupby("group")["weight_share"].mean().reindex(GROUPS)
        ax.bar(x - 1.5 * width, w.to_numpy(), width, color="#BBBBBB", label="share of the weights")
        for i, kind in enumerate(KINDS):
            k = d[d["kind"] == kind]
            mean = k.groupby("group")["grad_share"].mean().reindex(GROUPS)
            ax.bar(x + (i - 0.5) * width, mean.to_numpy(), width, color=KIND_COLORS[kind],
                   label=f"share of ||E g||², {KIND_NAMES[kind]}")
            for j, g in enumerate(GROUPS):
                vals = k.loc[k["group"] == g, "grad_share"].to_numpy(float)
                ax.plot(np.full(len(vals), x[j] + (i - 0.5) * width), vals, "k.", ms=3)
        ax.axhline(0, color="0.3", lw=0.6)
        ax.set_xticks(x, GROUPS)
        ax.set_title("at initialisation" if when == "init" else "after training")
    axes[0].set_ylabel("share (of the whole network)")
    legend_below(fig, axes[0], ncol=4)
    show(fig, "Figure 10.2",
         "Which parameters carry the mean gradient: each tensor group's share of the debiased ||E g||² (bars: "
         "mean over seeds; dots: seeds) beside its share of the weights (grey), on text, shuffled and random "
         "characters. A debiased share can be negative where a group's gradients have no measurable mean",
         provenance(s), data=r.shares)


def figure_10_3(s: Setup, r: Results) -> None:
    """Fig. 10.3: histograms of the diffs of the attention and feed-forward weights after training, text and
    random characters, against the fair-coin null (shown)."""
    groups = ("attention", "feed-forward")
    fig, axes = plt.subplots(1, len(groups), figsize=(12, 3.6), sharey=True)
    d = r.hists[(r.hists["when"] == "final") & (r.hists["seed"] == s.params.seed)]
    for ax, g in zip(axes, groups):
        for kind in ("brown", "brown_random"):
            h = d[(d["kind"] == kind) & (d["group"] == g)]
            mid = (h["lo"] + h["hi"]).to_numpy() / 2
            total = h["count"].sum()
            ax.step(mid, h["count"] / total, where="mid", color=KIND_COLORS[kind], label=f"diffs, {KIND_NAMES[kind]}")
            ax.plot(mid, h["null"] / total, ":", color=KIND_COLORS[kind], lw=1.4,
                    label=f"fair-coin null, {KIND_NAMES[kind]}")
        low = 0.2 / max(1.0, float(d[d["group"] == g].groupby("kind")["count"].sum().max()))
        ax.set(yscale="log", ylim=(low, None), xlabel="diff (mean sign of the per-window gradient)", title=g)
    axes[0].set_ylabel("share of the weights per bin")
    legend_below(fig, axes[0], ncol=4)
    show(fig, "Figure 10.3",
         f"Diffs of the attention and feed-forward weights after training (seed {s.params.seed}), on text and on "
         "random characters, each beside its null: the histogram expected if every weight's nonzero gradient signs "
         "were fair coins (given how many of its windows give it a nonzero gradient)", provenance(s),
         data=d)


VARIANT_ORDER = ("none", *(f"{m}_global" for m in METHODS), *(f"{m}_layer" for m in LAYER_METHODS),
                 *(f"{m}_shuffled" for m in SHUFFLED))


def _variant_color(v: str) -> str:
    method, _, rest = v.partition("_")
    return method_color(f"{method}_shuffled" if rest == "shuffled" else method)


def figure_10_4(s: Setup, r: Results) -> None:
    """Fig. 10.4: validation loss of every child per mask method and scope, against the dense child-sized model
    (shown)."""
    variants = [v for v in VARIANT_ORDER if not v.endswith("_shuffled")]
    fig, ax = plt.subplots(figsize=(12, 3.8))
    for i, v in enumerate(variants):
        vals = r.children.loc[r.children["variant"] == v, "val_loss"].to_numpy(float)
        ax.plot(np.full(len(vals), i), vals, "o", color=_variant_color(v), ms=5, alpha=0.8)
        ax.plot([i - 0.3, i + 0.3], [vals.mean()] * 2, color=_variant_color(v), lw=2.5)
    dense = r.children.loc[r.children["variant"] == "none", "val_loss"].mean()
    ax.axhline(dense, ls="--", color="0.4", lw=1, label="dense child-sized model (mean)")
    ax.set_xticks(range(len(variants)), [v.replace("_", "\n") for v in variants])
    ax.set_ylabel("validation loss (nats per character)")
    legend_below(fig, ax, ncol=2)
    show(fig, "Figure 10.4",
         f"Children of the {s.scale.ratio} times wider parent pruned to 1/{s.scale.ratio} of its attention and "
         "feed-forward weights (the dense child's count), per mask method and scope (global: one ranking with a "
         f"{FLOOR:.0%} floor per tensor; layer: the same fraction per tensor), trained from a fresh initialisation "
         "(SNIP's from the network it scored): validation loss per seed (dots) and the mean (bar); the dense "
         "child-sized model (none) first", provenance(s), data=r.children)


def figure_10_5(s: Setup, r: Results) -> None:
    """Fig. 10.5: the diff and magnitude children against the same masks shuffled within each tensor (shown)."""
    fig, axes = plt.subplots(1, len(SHUFFLED), figsize=(9, 3.6), sharey=True)
    for ax, m in zip(axes, SHUFFLED):
        a = r.children[r.children["variant"] == f"{m}_global"].set_index("seed")["val_loss"]
        b = r.children[r.children["variant"] == f"{m}_shuffled"].set_index("seed")["val_loss"]
        for sd in sorted(set(a.index) & set(b.index)):
            ax.plot([0, 1], [a[sd], b[sd]], "-o", color=method_color(m), ms=4)
            ax.annotate(f"seed {sd}", (1.04, b[sd]), fontsize=9, va="center")
        ax.set_xticks([0, 1], ["as ranked", "shuffled within\neach tensor"])
        ax.set_xlim(-0.3, 1.5)
        ax.set_title(f"{m} mask (global)")
    axes[0].set_ylabel("validation loss (nats per character)")
    show(fig, "Figure 10.5",
         "Does the method's choice within tensors matter? Each line joins a seed's child of the mask as ranked "
         "and of the same mask with its kept count per tensor unchanged and the positions drawn at random "
         "(chapter 9's test)", provenance(s),
         data=r.children[r.children["variant"].str.startswith(SHUFFLED)])


#: Colour of each arm of the scaling question (the random mask's colour for the sparse children).
ARM_COLORS = {"dense": "0.25", "sparse": method_color("random")}


def figure_10_6(s: Setup, r: Results) -> None:
    """Fig. 10.6: validation loss against nonzero attention and feed-forward weights for the dense models and the random-masked
    children, with each seed's power law (log-log), and the gap dense − sparse per seed (shown)."""
    fig, axes = plt.subplots(1, 2, figsize=(12, 3.8))
    ex = exponents(r.scaling)
    n = r.scaling["nonzero"].astype(float)
    grid = np.geomspace(n.min(), n.max(), 50)
    for arm, name in ARMS.items():
        d = r.scaling[r.scaling["arm"] == arm]
        axes[0].plot(d["nonzero"], d["val_loss"], "o", color=ARM_COLORS[arm], ms=4, alpha=0.7)
        e = ex[ex["arm"] == arm]
        for _, row in e.iterrows():
            axes[0].plot(grid, row["a"] * grid ** -row["b"], color=ARM_COLORS[arm], lw=0.8, alpha=0.45)
        if len(e):
            b = e["b"].mean()
            a = float(np.exp(np.log(e["a"]).mean()))
            axes[0].plot(grid, a * grid ** -b, color=ARM_COLORS[arm], lw=2.2, label=f"{name}: mean b = {b:.3f}")
    axes[0].set(xscale="log", yscale="log", xlabel="nonzero attention and feed-forward weights N",
                ylabel="validation loss (nats per character)", title="power law L = a N^−b per seed")
    gap = r.scaling.pivot_table(index=["seed", "heads"], columns="arm", values=["val_loss", "nonzero"]).reset_index()
    for sd, g in gap.groupby("seed"):
        axes[1].plot(g[("nonzero", "dense")], g[("val_loss", "dense")] - g[("val_loss", "sparse")], "-o",
                     color=ARM_COLORS["sparse"], lw=0.9, ms=4, alpha=0.6)
    axes[1].axhline(0, color="0.3", lw=0.8, ls="--", label="no advantage")
    axes[1].set(xscale="log", xlabel="nonzero weights N (of the dense model)",
                ylabel="loss dense − loss sparse (nats per character)", title="sparse advantage per seed")
    for ax in axes:
        ax.set_xticks(sorted(r.scaling.loc[r.scaling["arm"] == "dense", "nonzero"].unique()))
        ax.xaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:,.0f}"))
        ax.xaxis.set_minor_formatter(plt.NullFormatter())
    axes[0].yaxis.set_major_formatter(plt.FuncFormatter(lambda v, _: f"{v:.2f}"))
    axes[0].yaxis.set_minor_formatter(plt.FuncFormatter(lambda v, _: f"{v:.2f}"))
    legend_below(fig, axes[0], ncol=3)
    sizes = ", ".join(map(str, s.scale.sizes))
    show(fig, "Figure 10.6",
         f"How the sparse advantage scales: dense models with {sizes} heads (the feed-forward width in proportion) "
         f"and, at each size, a child of the same nonzero count cut by a random mask from a model {s.scale.ratio} "
         f"times wider (1/{s.scale.ratio} of its attention and feed-forward weights kept), trained from a fresh "
         "initialisation. Left: validation loss per seed (dots), each seed's fitted power law (thin) and the mean "
         "of the fits (thick), log-log. Right: each seed's advantage of the sparse child (above the dashed line: "
         "the sparse child is better)", provenance(s), data=r.scaling)


def table_10a(s: Setup, r: Results) -> pd.DataFrame:
    """Per seed: peak coherence (epochs 1 onward), final coherence and validation loss per data kind."""
    (lo, hi), (llo, lhi) = window(s.scale.epochs)
    c = r.curves[r.curves["epoch"] >= 1]
    rows = []
    for (kind, sd), g in c.groupby(["kind", "seed"], sort=False):
        rows.append({"data": KIND_NAMES[kind], "seed": sd, "peak α": g["coherence"].max(),
                     "epoch of peak": int(g.loc[g["coherence"].idxmax(), "epoch"]),
                     f"α epochs {lo}..{hi}": g[(g["epoch"] >= lo) & (g["epoch"] <= hi)]["coherence"].mean(),
                     f"α epochs {llo}..{lhi}": g[(g["epoch"] >= llo) & (g["epoch"] <= lhi)]["coherence"].mean(),
                     "final training loss": g.sort_values("epoch")["train_loss"].iloc[-1],
                     "final validation loss": g.sort_values("epoch")["test_loss"].iloc[-1]})
    return pd.DataFrame(rows).round(4)


def table_10b(s: Setup, r: Results) -> pd.DataFrame:
    """Per child variant: validation loss and accuracy (mean over seeds) and nonzero weights."""
    g = r.children.groupby("variant")
    out = pd.DataFrame({"validation loss": g["val_loss"].mean(), "sd over seeds": g["val_loss"].std(),
                        "next-character accuracy": g["val_acc"].mean(), "nonzero weights": g["nonzero"].mean()})
    return out.reindex([v for v in VARIANT_ORDER if v in out.index]).round(4).reset_index()


def table_10d(s: Setup, r: Results) -> pd.DataFrame:
    """Per size of the scaling question: the dense model's heads and nonzero attention and feed-forward weights, each arm's mean
    validation loss over seeds, and the mean and sd over seeds of the gap dense − sparse."""
    p = r.scaling.pivot_table(index=["heads", "seed"], columns="arm", values=["val_loss", "nonzero"])
    gap = (p[("val_loss", "dense")] - p[("val_loss", "sparse")]).groupby(level="heads")
    loss = p["val_loss"].groupby(level="heads").mean()
    out = pd.DataFrame({"heads (dense)": loss.index, "nonzero weights N": p[("nonzero", "dense")].groupby(
        level="heads").mean().to_numpy().round().astype(int), "loss dense": loss["dense"].to_numpy(),
        "loss sparse": loss["sparse"].to_numpy(), "gap dense − sparse": gap.mean().to_numpy(),
        "sd of the gap over seeds": gap.std().to_numpy()})
    return out.round(4)


def exponents_table(s: Setup, r: Results) -> pd.DataFrame:
    """Each seed's fitted power-law exponent b per arm, and b sparse − b dense."""
    e = exponents(r.scaling).pivot(index="seed", columns="arm", values="b")
    e["b sparse − b dense"] = e["sparse"] - e["dense"]
    return e.rename(columns={"dense": "b dense", "sparse": "b sparse"}).reset_index().round(4)


# ------------------------------------------------------------------------------------------ claims
def claims(s: Setup, r: Results) -> list[Decided]:
    """The chapter's claims and their per-group intervals (pure: nothing is stored or shown)."""
    symbols = text_data.streams()[0].size - 1
    return claims_of(r.curves, r.shares, r.children, r.scaling, epochs=s.scale.epochs, symbols=symbols,
                     scale=scale_text(s, r))


def verdicts(s: Setup, r: Results) -> list[Verdict]:
    """The chapter's verdicts (pure: nothing is stored or shown)."""
    return toolkit.verdicts_of(claims(s, r))


def table_10c(s: Setup, r: Results) -> Any:
    """Shows Table 10.c's caption and returns the test behind each verdict."""
    display(Markdown("**Table 10.c.** The test behind each verdict, over seeds: the means of the two arms, the mean "
                     "paired difference (for the noise scale, the mean per-seed slope) with its 95 % interval, and "
                     f"the verdict of that test ({provenance(s)})."))
    return toolkit.show_intervals(toolkit.intervals_frame(claims(s, r)))
