"""Pruning masks: which weights a child network keeps (thesis chapters 5 and 6).

A mask is a dict ``{parameter name: BoolTensor of the parameter's shape}``; True = kept. Only the
*prunable* tensors (:func:`prunable`) appear in it; every other parameter (biases, norms, embeddings,
skipped layers) is trained normally. ``density`` is the fraction of the prunable weights KEPT: the
thesis's "pruned to 10% sparsity" is ``density=0.1`` here ("10% kept").

Ranking (:func:`make_mask`)
    Scores are higher-is-better. All prunable entries are put in one order: by score, descending
    (tensors concatenated in the order of the ``scores`` dict, which :func:`mask_for` takes from the
    model; each tensor flattened in row-major order). Entries of equal score are ordered by a random
    permutation seeded with ``tie_seed`` (:func:`compute_mask` passes the mask config's seed), so a
    tie class cut in two is split at random, not by tensor position (diffs over n samples take only
    n + 1 values, so large tie classes are common); ``tie_seed=None`` orders them by flat index, the
    lower first. ``invert=True`` ("worst" masks) uses exactly the reverse of this order, so for the
    same scores and seed ``make_mask(.., density=d, invert=True)`` is the complement of
    ``make_mask(.., density=1-d)`` whenever the kept counts add up. :func:`tie_chosen` counts the
    kept entries the tie-breaking decided.

Scopes
    * ``global`` (thesis 6.1): the first ``K = round(density * total)`` entries of the single order,
      with a per-tensor floor: every tensor first keeps its own best ``ceil(floor * size)`` entries,
      then the remaining ``K - sum(floors)`` places go to the best entries not yet kept, in the global
      order. Equivalently: take the global top ``K``; where a tensor falls below its floor, top it up
      with its own next-best entries, and pay for them by dropping the lowest-ranked kept entries that
      the floors do not protect. The total is exactly ``K``. (``round`` here is round-half-up.)
    * ``layer`` (thesis 6.2, "local"): every tensor keeps exactly ``round(density * size)`` of its own
      best entries. ``floor`` is not used in this scope (the density already holds in every tensor).

Prunable tensors (:func:`prunable`), the rule this module documents
    * Candidates: the ``weight`` of every ``nn.Linear`` and ``nn.Conv2d`` (ResNet convs and shortcut /
      downsample convs, ViT q, k, v, attention output, feed-forward hidden and proj). Never biases,
      norm parameters, the ViT's class token and position embedding (``TokenEmbedding``).
    * ResNets and ViTs: the classifier head (the last ``nn.Linear``: ``fc``, ``head``) and the ViT's
      patch embedding ``patch_embed`` (its input embedding: 48 pixel inputs per output, which 10%
      would cut to about 5) are not pruned; neither is any tensor with fewer than ``min_size``
      weights, default :data:`DEFAULT_MIN_SIZE` = 1024. The thesis skips "layers that are small, so
      as not to create a bottleneck" without giving its threshold. At 1024 nothing is skipped in
      ResNet50 (smallest tensor: the 1728-weight stem) or in the thesis's ViT, so the paper profile
      prunes every conv, shortcut and transformer linear; in the CPU-sized ``resnet_small`` the stem
      and the first stage's narrow convs and shortcut fall below it.
    * MLPs (chapter 5): every ``nn.Linear`` weight, the head included, and ``min_size`` defaults to 0.
      The thesis says 10% of the 10x parent "recovers the original number of parameters in the dense
      network up to a difference in the number of bias parameters"; that holds only if all weights,
      head included, are pruned at 10%: the child then has ``round(0.1 * W(w'))`` ~= ``W(w)`` nonzero
      weights (``W`` = :func:`lib.models.mlp_weight_count`). An MLP has no layer small enough to be a
      bottleneck at the thesis's widths (the head of a 10x parent keeps about ``w'`` weights, 10% of
      ``10 w'``).

Scores
    ``diff`` = |diffs| at the parent's max-coherence training epoch (epoch >= 1; the stats engine's
    ``diffs_max_trained.pt``), ``magnitude`` = |final weights|, ``random`` = uniform draws seeded per
    (seed, tensor name). Pruning at initialisation (:mod:`lib.saliency`): ``snip``, ``grasp`` and
    ``synflow`` score the parent's *initial* network (:func:`scored_initial_model`: its seed's fresh
    initialisation, built as :func:`lib.train.fresh_model` builds it; a child of such a mask trains from
    exactly that network when it has the parent's seed and model, which
    :func:`lib.experiments.start_where_scored` gives it); SNIP on the first :data:`INIT_BATCH` images of
    the parent's training set, GraSP on a class-balanced batch of :data:`INIT_BATCH` images drawn with the
    mask's seed (:func:`balanced_batch`, as its authors score a fixed number of images per class),
    SynFlow on no data and iterated :data:`SYNFLOW_ITERATIONS` times towards the mask's density and scope,
    a pruned weight never coming back (:func:`synflow_iterative`). :func:`init_scores` computes them for
    any network and batch; :data:`lib.saliency.AUTHORS_DEFINITION` says how each compares with its
    authors' code.
    A new criterion is one function registered with :func:`scorer` and its name
    added to :data:`lib.config.MASK_METHODS` (the names :class:`MaskConfig` accepts when built).

A mask is cached in ``runs/masks/<hash of its MaskConfig>/`` (:mod:`lib.mask_cache`); the hash does not include this
module's code, only the rule numbers :data:`lib.config.MASK_RULE` and :data:`lib.config.INIT_RULE`, so a
change of a rule above either bumps one of them or needs ``runs/masks`` deleted.
"""
from __future__ import annotations

import hashlib
import math
from typing import Any, Callable, Iterator, Mapping, Sequence

import numpy as np
import pandas as pd
import torch
from torch import nn

from . import paths, saliency
from .config import INIT_MASK_METHODS, MASK_METHODS, MASK_SCOPES, MaskConfig
from .data import balanced_indices, load_data
from .models import Attention, build_model
from .train import fresh_model

SCOPES = MASK_SCOPES
#: Tensors with fewer weights than this are not pruned in ResNets and ViTs (MLPs: 0).
DEFAULT_MIN_SIZE = 1024
#: Name of the ViT input embedding, never pruned.
EMBEDDING_NAMES = ("patch_embed",)

Scores = dict[str, torch.Tensor]
Mask = dict[str, torch.Tensor]


# ------------------------------------------------------------------------------- prunable layers
def arch_family(model: nn.Module) -> str:
    """``"vit"`` (has attention), ``"resnet"`` (has convolutions) or ``"mlp"`` (only Linear layers)."""
    mods = list(model.modules())
    if any(isinstance(m, Attention) for m in mods):
        return "vit"
    if any(isinstance(m, nn.Conv2d) for m in mods):
        return "resnet"
    return "mlp"


def default_min_size(model: nn.Module) -> int:
    """The ``min_size`` :func:`prunable` uses when none is given: 0 for MLPs, else :data:`DEFAULT_MIN_SIZE`."""
    return 0 if arch_family(model) == "mlp" else DEFAULT_MIN_SIZE


def prunable(model: nn.Module, min_size: int | None = None, *, include_head: bool | None = None) -> list[str]:
    """Names of the weights that masks prune, in the model's order (see the module docstring).

    min_size: tensors with fewer weights are skipped (``None`` or 0: :func:`default_min_size`).
    include_head: prune the last ``nn.Linear`` too (``None``: yes for MLPs, no otherwise).
    """
    if min_size is not None and min_size < 0:
        raise ValueError(f"min_size must be >= 0, got {min_size}")
    family = arch_family(model)
    if not min_size:
        min_size = default_min_size(model)
    if include_head is None:
        include_head = family == "mlp"
    layers = [(n, m) for n, m in model.named_modules() if isinstance(m, (nn.Linear, nn.Conv2d))]
    head = next((n for n, m in reversed(layers) if isinstance(m, nn.Linear)), None)
    out = []
    for n, m in layers:
        if n == head and not include_head:
            continue
        if n.split(".")[-1] in EMBEDDING_NAMES:
            continue
        if m.weight.numel() < min_size:
            continue
        out.append(f"{n}.weight" if n else "weight")
    return out


# ---------------------------------------------------------------------------------- make_mask
def _round(x: float) -> int:
    return int(math.floor(x + 0.5))


def _check(density: float, scope: str, floor: float) -> None:
    if scope not in SCOPES:
        raise ValueError(f"unknown scope {scope!r}; allowed: {', '.join(SCOPES)}")
    if not (isinstance(density, (int, float)) and 0 < density <= 1):
        raise ValueError(f"density (fraction of weights kept) must be in (0, 1], got {density!r}")
    if not (isinstance(floor, (int, float)) and 0 <= floor <= 1):
        raise ValueError(f"floor must be in [0, 1], got {floor!r}")
    if floor > density:
        raise ValueError(f"floor ({floor}) must not exceed density ({density}): a tensor cannot keep more than the whole")


def make_mask(scores: Mapping[str, torch.Tensor], *, density: float, scope: str = "global", floor: float = 0.0,
              invert: bool = False, shapes: Mapping[str, Any] | None = None, tie_seed: int | None = None) -> Mask:
    """Boolean keep-masks (True = kept) from per-entry scores, higher = better (module docstring).

    shapes: optional ``{name: shape or tensor}`` of the tensors to prune; then ``scores`` must hold
    exactly these names with these shapes (extra score entries are ignored). tie_seed: seed of the
    permutation that orders equal scores (None: flat index order).
    """
    _check(density, scope, floor)
    if shapes is not None:
        missing = [n for n in shapes if n not in scores]
        if missing:
            raise ValueError(f"scores lack prunable tensor(s) {missing}; scores have {list(scores)}")
        for n, s in shapes.items():
            want = tuple(s.shape) if isinstance(s, torch.Tensor) else tuple(s)
            if tuple(scores[n].shape) != want:
                raise ValueError(f"score for {n!r} has shape {tuple(scores[n].shape)}, the parameter has {want}")
        scores = {n: scores[n] for n in shapes}
    if not scores:
        raise ValueError("no scores given: nothing to prune")
    names = list(scores)
    vals = [torch.as_tensor(scores[n]).detach().reshape(-1).cpu() for n in names]
    dtype = torch.float64 if any(v.dtype == torch.float64 for v in vals) else torch.float32
    vals = [v.to(dtype) for v in vals]  # exact: every float32 and smaller is a float64
    bad = [n for n, v in zip(names, vals) if not torch.isfinite(v).all()]
    if bad:
        raise ValueError(f"scores of {bad} contain NaN or infinite values")
    sizes = [v.numel() for v in vals]

    def ranked(v: torch.Tensor, pool: int) -> torch.Tensor:
        """Indices of ``v``, best first: descending score, ties in :func:`tie_order`; reversed if ``invert``."""
        perm = tie_order(v.numel(), tie_seed, pool)
        o = perm[torch.sort(v[perm], descending=True, stable=True).indices]
        return o.flip(0) if invert else o

    keep = [torch.zeros(sz, dtype=torch.bool) for sz in sizes]
    if scope == "layer":
        for i, (v, kp) in enumerate(zip(vals, keep)):
            kp[ranked(v, i)[:_round(density * v.numel())]] = True
    else:
        k = _round(density * sum(sizes))
        floors = [min(sz, math.ceil(floor * sz - 1e-9)) for sz in sizes]
        if sum(floors) > k:
            raise ValueError(f"the floor {floor} needs {sum(floors)} entries, more than the {k} that density "
                             f"{density} keeps; lower the floor or raise the density")
        for i, (v, kp, f) in enumerate(zip(vals, keep, floors)):  # each tensor's own best ``floor`` entries
            if f:
                kp[ranked(v, i)[:f]] = True
        rest = k - sum(floors)
        flat_keep = torch.cat(keep)
        if rest:
            order = ranked(torch.cat(vals), -1)
            if sum(floors):
                order = order[~flat_keep[order]]  # the global order of the entries not yet kept
            flat_keep[order[:rest]] = True
        keep = list(torch.split(flat_keep, sizes))
    return {n: kp.reshape(scores[n].shape).clone() for n, kp in zip(names, keep)}


def tie_order(n: int, tie_seed: int | None, pool: int = -1) -> torch.Tensor:
    """The order in which :func:`make_mask` visits ``n`` entries before its stable sort by score, i.e.
    the order of equal scores: the identity for ``tie_seed=None``, else a permutation drawn from
    (``tie_seed``, ``pool``) (``pool``: -1 for the global ranking, the tensor's index for its own)."""
    if tie_seed is None:
        return torch.arange(n)
    sub = int.from_bytes(hashlib.sha256(f"ties:{tie_seed}:{pool}".encode()).digest()[:8], "little") >> 1
    return torch.randperm(n, generator=torch.Generator().manual_seed(sub))


def tie_chosen(scores: Mapping[str, torch.Tensor], mask: Mapping[str, torch.Tensor], scope: str = "global") -> dict[str, int]:
    """How much of a mask the tie-breaking decided: ``tie_chosen``, the kept entries whose score some
    dropped entry of the same ranking (all tensors for ``global``, the tensor for ``layer``) shares,
    and ``tie_class``, all entries (kept or not) of those shared scores. Both 0 when the cut fell
    between distinct scores."""
    if scope not in SCOPES:
        raise ValueError(f"unknown scope {scope!r}; allowed: {', '.join(SCOPES)}")
    names = list(mask)
    pools = [names] if scope == "global" else [[n] for n in names]
    chosen = klass = 0
    for pool in pools:
        v = torch.cat([torch.as_tensor(scores[n]).detach().reshape(-1).cpu().double() for n in pool])
        k = torch.cat([mask[n].reshape(-1).cpu() for n in pool])
        shared = v[k][torch.isin(v[k], v[~k])] if k.any() and (~k).any() else v[:0]
        if shared.numel():
            values = torch.unique(shared)
            chosen += int(shared.numel())
            klass += int(torch.isin(v, values).sum())
    return {"tie_chosen": chosen, "tie_class": klass}


# --------------------------------------------------------------------------------- score makers
def diff_scores(run: Any) -> Scores:
    """|diffs| of the run's max-coherence training epoch (``diffs_max_trained.pt``, epochs >= 1)."""
    blob = run.tensors(paths.DIFFS_MAX_TRAINED)
    if not isinstance(blob, dict) or "diffs" not in blob:
        raise ValueError(f"{run.path / paths.DIFFS_MAX_TRAINED} has no 'diffs' entry")
    return {n: d.detach().float().abs() for n, d in blob["diffs"].items()}


def magnitude_scores(weights: Mapping[str, torch.Tensor] | nn.Module) -> Scores:
    """|w| of every tensor of a state dict or model (the parent's final weights)."""
    sd = weights.state_dict() if isinstance(weights, nn.Module) else weights
    return {n: w.detach().float().abs() for n, w in sd.items() if torch.is_floating_point(w)}


def random_scores(shapes: Mapping[str, Any], seed: int) -> Scores:
    """Uniform [0, 1) float64 scores; each tensor's draw depends only on (seed, its name)."""
    out = {}
    for n, s in shapes.items():
        shape = tuple(s.shape) if isinstance(s, torch.Tensor) else tuple(s)
        sub = int.from_bytes(hashlib.sha256(f"{seed}:{n}".encode()).digest()[:8], "little") >> 1
        out[n] = torch.rand(shape, generator=torch.Generator().manual_seed(sub), dtype=torch.float64)
    return out


#: Scorer = f(parent run (a finished :class:`lib.runs.Run`, or None for methods that do not need one),
#: {name: shape} of the prunable tensors, mask config) -> scores.
Scorer = Callable[[Any, dict[str, torch.Size], MaskConfig], Scores]
SCORERS: dict[str, Scorer] = {}
#: Methods whose scores need the parent trained (``random`` only needs its shapes).
NEEDS_TRAINED_PARENT: set[str] = set()


def scorer(name: str, *, needs_trained_parent: bool = True) -> Callable[[Scorer], Scorer]:
    """Decorator registering a score function under a method name (one of
    :data:`lib.config.MASK_METHODS`, the names :class:`MaskConfig` accepts)."""
    if name not in MASK_METHODS:
        raise ValueError(f"mask method {name!r} is not in lib.config.MASK_METHODS {MASK_METHODS}: add it there")

    def deco(fn: Scorer) -> Scorer:
        SCORERS[name] = fn
        if needs_trained_parent:
            NEEDS_TRAINED_PARENT.add(name)
        return fn
    return deco


def snapshot_weights(run: Any, epoch: int) -> dict[str, torch.Tensor]:
    """The state dict ``run`` kept after ``epoch`` (its config's ``snapshots``)."""
    return run.tensors(paths.snapshot_name(epoch))


def snapshot_diff_scores(run: Any, epoch: int) -> Scores:
    """|diffs| of the network ``run`` was after ``epoch``, on the images its own statistics use (the first
    ``stats.max_samples`` training images, all when 0), as :class:`lib.stats.StatsCallback` computes them."""
    from .stats import gradient_stats

    cfg = run.config
    model = build_model(cfg.model)
    model.load_state_dict(snapshot_weights(run, epoch))
    data = load_data(cfg.data)
    x, y = data.x_train, data.y_train
    if cfg.stats.max_samples > 0:
        x, y = x[:cfg.stats.max_samples], y[:cfg.stats.max_samples]
    st = gradient_stats(model, (x, y), backend=cfg.stats.backend, batch_size=cfg.stats.batch_size, progress=False)
    return {n: d.float().abs() for n, d in st.diffs.items()}


@scorer("diff")
def _diff(parent: Any, shapes: dict[str, torch.Size], cfg: MaskConfig) -> Scores:
    return diff_scores(parent) if cfg.epoch < 0 else snapshot_diff_scores(parent, cfg.epoch)


@scorer("magnitude")
def _magnitude(parent: Any, shapes: dict[str, torch.Size], cfg: MaskConfig) -> Scores:
    return magnitude_scores(parent.state_dict() if cfg.epoch < 0 else snapshot_weights(parent, cfg.epoch))


@scorer("random", needs_trained_parent=False)
def _random(parent: Any, shapes: dict[str, torch.Size], cfg: MaskConfig) -> Scores:
    return random_scores(shapes, cfg.seed)


#: Training images SNIP and GraSP score the initial network on (SNIP: the first of the parent's training set;
#: GraSP: a class-balanced draw, :func:`balanced_batch`).
INIT_BATCH = 256
#: SynFlow's rounds (Tanaka et al. 2020 use 100).
SYNFLOW_ITERATIONS = 100
#: Methods :func:`init_scores` computes (the pruning-at-initialisation scorers, which score the parent's
#: initial network; their children start from it, :func:`lib.experiments.start_where_scored`).
INIT_METHODS = INIT_MASK_METHODS


def init_scores(method: str, model: nn.Module, x: torch.Tensor, y: torch.Tensor, *, density: float | None = None,
                scope: str = "global", floor: float = 0.0, iterations: int = SYNFLOW_ITERATIONS,
                min_size: int | None = None) -> Scores:
    """Pruning-at-initialisation scores of ``model``'s prunable tensors (:func:`prunable`), higher kept:
    ``snip`` and ``grasp`` on the batch ``(x, y)`` (GraSP at its authors' temperature, with the gradient of
    the whole network); ``synflow`` ignores ``x``'s values and ``y`` (it uses one all-ones input of ``x``'s
    shape) and, given a ``density``, iterates towards it (:func:`synflow_iterative`; without one, a single
    round). See :mod:`lib.saliency`."""
    names = prunable(model, min_size)
    if method == "snip":
        return saliency.snip_scores(model, x, y, names)
    if method == "grasp":
        return saliency.grasp_scores(model, x, y, names)
    if method == "synflow":
        if density is None:
            return saliency.synflow_scores(model, tuple(x.shape[1:]), names)
        return synflow_iterative(model, tuple(x.shape[1:]), names, density=density, scope=scope, floor=floor,
                                 iterations=iterations)
    raise ValueError(f"init_scores: unknown method {method!r}; allowed: {', '.join(INIT_METHODS)}")


#: The score :func:`synflow_rounds` gives a weight an earlier round pruned: below every SynFlow score (>= 0).
PRUNED_SCORE = -1.0


def synflow_rounds(model: nn.Module, input_shape: tuple[int, ...], names: list[str], *, density: float,
                   scope: str = "global", floor: float = 0.0,
                   iterations: int = SYNFLOW_ITERATIONS) -> Iterator[tuple[Scores, Mask]]:
    """SynFlow's rounds, one ``(scores, mask)`` per round: round k of n scores the network pruned by round
    k - 1 (:func:`lib.saliency.synflow_scores`) and keeps ``density ** (k / n)`` of the weights by
    :func:`make_mask` with ``scope`` and ``floor`` (ties at the cut by a permutation seeded with k). The
    weights an earlier round pruned score :data:`PRUNED_SCORE` in that round, so they are never kept again:
    ties at the cut (weights of score 0, cut off from the output by earlier pruning, tie with the pruned
    ones) are split among weights not yet pruned only, as the authors' rule never re-admits a weight."""
    if iterations < 1:
        raise ValueError(f"iterations must be >= 1, got {iterations}")
    _check(density, scope, floor)
    mask: Mask | None = None
    for k in range(1, iterations + 1):
        scores = saliency.synflow_scores(model, input_shape, names, mask)
        if mask is not None:
            scores = {n: torch.where(mask[n], s, torch.full_like(s, PRUNED_SCORE)) for n, s in scores.items()}
        new = make_mask(scores, density=density ** (k / iterations), scope=scope, floor=floor, tie_seed=k)
        if mask is not None and any(bool((new[n] & ~mask[n]).any()) for n in new):
            # cannot happen (every round keeps no more than the one before): a guard for the rule above
            raise RuntimeError(f"SynFlow round {k} kept a weight an earlier round pruned")
        mask = new
        yield scores, mask


def synflow_iterative(model: nn.Module, input_shape: tuple[int, ...], names: list[str], *, density: float,
                      scope: str = "global", floor: float = 0.0, iterations: int = SYNFLOW_ITERATIONS) -> Scores:
    """Iterative SynFlow (:func:`synflow_rounds`): the last round's scores with every weight it pruned at
    :data:`PRUNED_SCORE` (below every score), so that :func:`make_mask` at ``density`` gives its mask."""
    scores: Scores = {}
    mask: Mask = {}
    for scores, mask in synflow_rounds(model, input_shape, names, density=density, scope=scope, floor=floor,
                                       iterations=iterations):
        pass
    return {n: torch.where(mask[n], s, torch.full_like(s, PRUNED_SCORE)) for n, s in scores.items()}


def balanced_batch(x: torch.Tensor, y: torch.Tensor, size: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """A class-balanced batch of ``size`` images of ``(x, y)`` in dataset order: ``size // classes`` of each
    class and one more of each of the first ``size % classes`` classes (256 of CIFAR-10: 26 of classes 0-5,
    25 of 6-9), drawn without replacement by :func:`lib.data.balanced_indices` with a seed derived from
    ``seed``; every image when there are no more than ``size``. GraSP's scoring batch (its authors score a
    fixed number of images per class)."""
    if y.dim() != 1:
        raise ValueError(f"a class-balanced batch needs one class label per sample, got targets of shape "
                         f"{tuple(y.shape)} (text windows have a next token per position: GraSP is not defined here)")
    if size < 1:
        raise ValueError(f"size must be >= 1, got {size}")
    sub = int.from_bytes(hashlib.sha256(f"balanced:{seed}".encode()).digest()[:8], "little") >> 1
    labels = y.cpu().numpy()
    idx = balanced_indices(labels, min(size, len(labels)), seed=sub, num_classes=int(y.max()) + 1)
    idx = torch.as_tensor(np.sort(idx))
    return x[idx], y[idx]


def scored_initial_model(cfg: MaskConfig) -> nn.Module:
    """The network a pruning-at-initialisation mask scores: the parent's fresh initialisation, built by
    :func:`lib.train.fresh_model` from the parent's seed and model (the function training starts a run from)."""
    assert cfg.parent is not None
    return fresh_model(cfg.parent)


def scoring_batch(cfg: MaskConfig) -> tuple[torch.Tensor, torch.Tensor]:
    """The images ``cfg``'s method scores on, from the parent's training set: GraSP a class-balanced draw of
    :data:`INIT_BATCH` with the mask's seed (:func:`balanced_batch`), SNIP (and SynFlow, which needs only the
    shape) the first :data:`INIT_BATCH`."""
    assert cfg.parent is not None
    data = load_data(cfg.parent.data)
    if cfg.method == "grasp":
        return balanced_batch(data.x_train, data.y_train, INIT_BATCH, cfg.seed)
    return data.x_train[:INIT_BATCH], data.y_train[:INIT_BATCH]


def _at_init(method: str) -> Scorer:
    def score(parent: Any, shapes: dict[str, torch.Size], cfg: MaskConfig) -> Scores:
        model = scored_initial_model(cfg)
        x, y = scoring_batch(cfg)
        out = init_scores(method, model, x, y, density=cfg.density, scope=cfg.scope, floor=cfg.floor,
                          min_size=cfg.min_size or None)
        if set(out) != set(shapes):
            raise ValueError(f"{method} scored {sorted(out)}, the mask needs {sorted(shapes)}")
        return out
    score.__doc__ = f"{method} scores of the parent's initial network (see :func:`init_scores`)."
    return score


for _method in INIT_METHODS:
    scorer(_method, needs_trained_parent=False)(_at_init(_method))


def shuffle_within_layers(mask: Mapping[str, torch.Tensor], seed: int, keep: Sequence[str] = ()) -> Mask:
    """A mask with the same number of kept entries in every tensor as ``mask``, their positions drawn
    uniformly at random within the tensor (a permutation seeded per (seed, tensor name)): the layer-wise
    shuffle of Frankle et al. 2021, which keeps a mask's per-layer fractions and nothing else. Tensors named
    in ``keep`` are left as they are."""
    out: Mask = {}
    for n, m in mask.items():
        if n in keep:
            out[n] = m.clone()
            continue
        sub = int.from_bytes(hashlib.sha256(f"shuffle:{seed}:{n}".encode()).digest()[:8], "little") >> 1
        perm = torch.randperm(m.numel(), generator=torch.Generator().manual_seed(sub))
        flat = torch.zeros(m.numel(), dtype=torch.bool)
        flat[perm[:int(m.sum())]] = True
        out[n] = flat.view(m.shape)
    return out


if set(SCORERS) != set(MASK_METHODS):  # MaskConfig accepts exactly the methods registered here
    raise ImportError(f"lib.config.MASK_METHODS {MASK_METHODS} lists methods without a scorer: "
                      f"{sorted(set(MASK_METHODS) - set(SCORERS))}")


def check_config(cfg: MaskConfig) -> None:
    if cfg.parent is None:
        raise ValueError("MaskConfig.parent is None: a mask needs the parent run it is derived from")
    if cfg.method not in SCORERS:
        raise ValueError(f"unknown mask method {cfg.method!r}; allowed: {', '.join(sorted(SCORERS))}")
    if cfg.min_size < 0:
        raise ValueError(f"min_size must be >= 0, got {cfg.min_size}")
    if cfg.method == "diff" and cfg.parent.stats.every <= 0:
        raise ValueError("method 'diff' needs a parent trained with gradient statistics (stats.every >= 1)")
    _check(cfg.density, cfg.scope, cfg.floor)


def compute_mask(cfg: MaskConfig, parent: Any = None) -> Mask:
    """The mask ``cfg`` describes, computed now. ``parent``: the finished parent run (a
    :class:`lib.runs.Run`), needed by the methods in :data:`NEEDS_TRAINED_PARENT`."""
    return compute_with_summary(cfg, parent)[0]


def compute_with_summary(cfg: MaskConfig, parent: Any) -> tuple[Mask, dict[str, Any]]:
    """The mask of ``cfg`` and its summary (:func:`lib.mask_cache.mask_summary`'s fields)."""
    check_config(cfg)
    if parent is None and cfg.method in NEEDS_TRAINED_PARENT:
        raise ValueError(f"method {cfg.method!r} needs the trained parent run; use lib.runs.mask_for(cfg), "
                         "which trains or loads it")
    model = build_model(cfg.parent.model)
    params = dict(model.named_parameters())
    shapes = {n: params[n].shape for n in prunable(model, cfg.min_size or None)}
    scores = SCORERS[cfg.method](parent, shapes, cfg)
    mask = make_mask(scores, density=cfg.density, scope=cfg.scope, floor=cfg.floor, invert=cfg.invert,
                     shapes=shapes, tie_seed=cfg.seed)
    if cfg.shuffle:
        family = arch_family(model)
        keep = [n for n in mask if cfg.shuffle_except and layer_group(n, family) == cfg.shuffle_except]
        if cfg.shuffle_except and not keep:
            groups = sorted({layer_group(n, family) for n in mask})
            raise ValueError(f"shuffle_except={cfg.shuffle_except!r} matches no pruned tensor of this {family}; "
                             f"its layer groups: {', '.join(groups)}")
        mask = shuffle_within_layers(mask, cfg.seed, keep)
    kept, total = sum(int(m.sum()) for m in mask.values()), sum(m.numel() for m in mask.values())
    return mask, {"kept": kept, "total": total, "tensors": len(mask), **tie_chosen(scores, mask, cfg.scope)}


# --------------------------------------------------------------------------------- layer table
def layer_group(name: str, family: str) -> str:
    """Group of a prunable tensor for figures 6.3/6.4: ResNet ``conv``/``shortcut``; ViT ``qkv``,
    ``ff_hidden``, ``block_output`` (attention output and feed-forward proj) or ``other``; MLP ``linear``."""
    parts = name.split(".")
    if family == "mlp":
        return "linear"
    if family == "resnet":
        if "downsample" in parts:
            return "shortcut"
        return "other" if name.startswith("fc.") else "conv"
    if family == "vit":
        if len(parts) >= 2 and parts[-2] in ("q", "k", "v") and "attn" in parts:
            return "qkv"
        if len(parts) >= 2 and parts[-2] == "hidden" and "ff" in parts:
            return "ff_hidden"
        if len(parts) >= 2 and ((parts[-2] == "out" and "attn" in parts) or (parts[-2] == "proj" and "ff" in parts)):
            return "block_output"
    return "other"


def layer_table(mask: Mapping[str, torch.Tensor], model: nn.Module) -> pd.DataFrame:
    """One row per masked tensor, in network order: layer, group, depth (0 = first), size, kept,
    fraction_kept."""
    family = arch_family(model)
    order = [n for n, _ in model.named_parameters() if n in mask]
    unknown = sorted(set(mask) - set(order))
    if unknown:
        raise ValueError(f"mask names {unknown} are not parameters of the model")
    rows = []
    for depth, n in enumerate(order):
        m = mask[n]
        kept = int(m.sum())
        rows.append({"layer": n, "group": layer_group(n, family), "depth": depth, "size": m.numel(),
                     "kept": kept, "fraction_kept": kept / max(1, m.numel())})
    return pd.DataFrame(rows, columns=["layer", "group", "depth", "size", "kept", "fraction_kept"])


def jaccard(a: Mapping[str, torch.Tensor], b: Mapping[str, torch.Tensor]) -> float:
    """Overlap of two masks over the same tensors: |kept in both| / |kept in either| (1.0 when neither
    keeps anything). A ValueError names tensors or shapes that differ."""
    if set(a) != set(b):
        raise ValueError(f"masks over different tensors: only in the first {sorted(set(a) - set(b))}, "
                         f"only in the second {sorted(set(b) - set(a))}")
    both = either = 0
    for n in a:
        if a[n].shape != b[n].shape:
            raise ValueError(f"tensor {n!r} has shape {tuple(a[n].shape)} in one mask, {tuple(b[n].shape)} in the other")
        both += int((a[n] & b[n]).sum())
        either += int((a[n] | b[n]).sum())
    return both / either if either else 1.0


def expected_random_jaccard(mask: Mapping[str, torch.Tensor]) -> float:
    """The expected :func:`jaccard` of ``mask`` with a random mask of the same kept count in every tensor,
    approximated by each tensor's kept fraction p: overlap sum(k p), union sum(k (2 - p)) (the floor of
    the overlap statistic: what unrelated masks share)."""
    both = either = 0.0
    for m in mask.values():
        k, p = float(m.sum()), float(m.sum()) / max(1, m.numel())
        both += k * p
        either += k * (2 - p)
    return both / either if either else 1.0
