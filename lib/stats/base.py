"""Shared types of the statistics engine, below every backend: :class:`GradStats`, the :class:`Accumulator`
of running sums, batch iteration and input checks. No backend imports another; the dispatcher
:func:`lib.stats.core.gradient_stats` sits above them all.

Per-sample gradient statistics of a frozen model: coherence, per-layer coherence and diffs.

Definitions (thesis sections 1.2, 2.1 and 3.1). The model is frozen in eval mode and never updated
during the pass; BatchNorm therefore normalises with its running statistics, which makes it a fixed
per-channel affine map and makes every sample's gradient its own. Sample z's loss is its own
cross-entropy (the batch loss uses reduction "sum"), and g_z is its gradient with respect to every
trainable parameter (``requires_grad=True``); frozen parameters are left out of everything.

* coherence alpha = ||mean_z g_z||^2 / mean_z ||g_z||^2, in [0, 1] (1 when all g_z are equal, 1/n
  when they are pairwise orthogonal with equal norms, 0 when they cancel); ``scaled_coherence`` =
  n * alpha (Chatterjee and Zielinski's alpha / alpha_perp); per-layer coherence: the same ratio
  restricted to one parameter tensor. NaN when every g_z is zero.
* diffs: diff_p = mean_z sign(g_z)_p in [-1, 1] for every parameter entry, with sign(0) = 0.
* counts (on request): sign_sum_p = sum_z sign(g_z)_p (so diffs = sign_sum / n) and nonzero_p = the
  number of samples with g_z,p != 0, both exact integers; positives = (nonzero + sign_sum) / 2 and
  negatives = (nonzero - sign_sum) / 2.

Accumulation does not depend on the batch size: sums of gradients and of squared norms are kept in
float64 (with a partial sum in the parameter's dtype over at most 8 batches / 4096 samples), sign
counts are exact integers (int32, moved into int64 before they could overflow); so are nonzero counts.
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator

import torch
import torch.nn.functional as F
from torch import nn

from .ops import sq_sum
from .registry import Scratch

_EXACT_F32 = 2 ** 24  # float32 holds every integer of magnitude <= 2^24 exactly
_INT32_MAX = 2 ** 31 - 1
# batch gradient sums (the parameter's dtype) are added into float64 every 8 batches / 4096 samples
_PARTIAL_BATCHES, _PARTIAL_SAMPLES = 8, 4096


def _wide_enough(dtype: torch.dtype) -> torch.dtype:
    return dtype if dtype in (torch.float32, torch.float64) else torch.float32


@dataclass(frozen=True)
class GradStats:
    """Statistics of the per-sample gradients g_z of ``n`` samples (see the module docstring).

    diffs, mean_grad: parameter name (as in ``model.named_parameters()``) -> float32 CPU tensor
    shaped like the parameter; only trainable parameters appear. layer_coherence and
    layer_mean_sq_norm are keyed the same way. mean_sq_norm = mean_z ||g_z||^2. backend: the
    backend that actually ran (``auto`` resolves to ``fast`` or ``functorch``).
    sign_sum, nonzero: only when asked for (``counts=True``, else None), keyed as diffs: int64 CPU
    tensors shaped like the parameter, sum_z sign(g_z) and the number of samples with g_z != 0.
    """

    n: int
    coherence: float
    scaled_coherence: float
    mean_sq_norm: float
    layer_coherence: dict[str, float]
    layer_mean_sq_norm: dict[str, float]
    diffs: dict[str, torch.Tensor] = field(repr=False)
    mean_grad: dict[str, torch.Tensor] = field(repr=False)
    backend: str = "auto"
    sign_sum: dict[str, torch.Tensor] | None = field(default=None, repr=False)
    nonzero: dict[str, torch.Tensor] | None = field(default=None, repr=False)


class Accumulator:
    """Running sums over samples for each trainable parameter: sign counts (exact integers: int32,
    moved into int64 before they could overflow), sums of squared per-sample norms (float64) and
    gradient sums (float64; each batch's sum is first added in the parameter's dtype into a partial
    buffer that is moved into float64 every 8 batches or 4096 samples, which avoids widening every
    batch's gradient: the float32 part only ever sums a few thousand samples). With ``counts``,
    also the number of nonzero per-sample gradient entries (``nz``; kept like the sign counts); without
    it ``nz`` is empty and nothing is spent on them."""

    def __init__(self, params: dict[str, torch.Tensor], counts: bool = False):
        self.names = list(params)
        self.scratch = Scratch()
        self._ones: tuple | None = None
        self.device = next(iter(params.values())).device
        self.count = {k: torch.zeros(p.shape, dtype=torch.int32, device=self.device) for k, p in params.items()}
        self.count64: dict[str, torch.Tensor] = {}
        self.nz = ({k: torch.zeros(p.shape, dtype=torch.int32, device=self.device) for k, p in params.items()}
                   if counts else {})
        self.nz64: dict[str, torch.Tensor] = {}
        self.partial = {k: torch.zeros(p.shape, dtype=_wide_enough(p.dtype), device=self.device) for k, p in params.items()}
        self.sum: dict[str, torch.Tensor] = {}  # float64, created at the first flush
        self.sq = {k: torch.zeros((), dtype=torch.float64, device=self.device) for k in params}
        self.n = 0
        self._staged = 0
        self._partial_batches = self._partial_n = 0

    def begin_batch(self, b: int) -> None:
        """Call before adding a batch of ``b`` samples (keeps the int32 counts from overflowing and
        moves the gradient sums into float64 every few batches)."""
        if self._staged + b > _INT32_MAX:
            self._flush_counts()
        if self._partial_batches >= _PARTIAL_BATCHES or self._partial_n + b > _PARTIAL_SAMPLES:
            self._flush_sums()
        self._staged += b
        self._partial_n += b
        self._partial_batches += 1
        self.n += b

    def _flush_counts(self) -> None:
        for small, big in ((self.count, self.count64), (self.nz, self.nz64)):
            for k, c in small.items():
                if k not in big:
                    big[k] = torch.zeros(c.shape, dtype=torch.int64, device=self.device)
                big[k] += c
                c.zero_()
        self._staged = 0

    def _flush_sums(self) -> None:
        if self._partial_batches:
            for k in self.names:
                if k in self.sum:
                    self.sum[k].add_(self.partial[k])
                else:
                    self.sum[k] = self.partial[k].to(torch.float64, copy=True)
                self.partial[k].zero_()
        self._partial_batches = self._partial_n = 0

    def add_grad_sum(self, name: str, g: torch.Tensor) -> None:
        """Add sum_z g_z of a batch (shaped like the parameter)."""
        self.partial[name].add_(g)

    def ones(self, n: int, like: torch.Tensor) -> torch.Tensor:
        """A cached vector of n ones: sums over samples are matrix-vector products (BLAS), which
        are much faster than ``sum(0)`` reductions on CPUs."""
        key = (n, like.dtype, like.device)
        if self._ones is None or self._ones[0] != key:
            self._ones = (key, torch.ones(n, dtype=like.dtype, device=like.device))
        return self._ones[1]

    def add_per_sample(self, name: str, g: torch.Tensor, with_sum: bool = False) -> None:
        """Add signs and squared norms of materialised per-sample grads ``g`` (c, *shape), and their
        sum too when ``with_sum``. Sign counts: a float matrix-vector product of +-1/0 entries over
        c < 2^24 samples, exact; nonzero counts (when kept) the same product of their absolute
        values. Squared norms: :func:`lib.stats.ops.sq_sum`."""
        c = g.shape[0]
        gf = g.reshape(c, -1)
        if gf.dtype not in (torch.float32, torch.float64):  # half precision: count and sum in float32
            gf = gf.float()
        ones = self.ones(c, gf)
        tmp = self.scratch.get(tuple(gf.shape), gf.dtype, gf.device)
        torch.sign(gf, out=tmp)
        self.count[name].add_(torch.mv(tmp.T, ones).view(self.count[name].shape).to(torch.int32))
        if name in self.nz:
            self.nz[name].add_(torch.mv(tmp.abs_().T, ones).view(self.nz[name].shape).to(torch.int32))
        self.sq[name] += sq_sum(gf)
        if with_sum:
            self.add_grad_sum(name, torch.mv(gf.T, ones).view(self.count[name].shape))

    def counts(self, name: str) -> torch.Tensor:
        """sum_z sign(g_z) as int64."""
        c = self.count[name].to(torch.int64)
        return c + self.count64[name] if name in self.count64 else c

    def nonzeros(self, name: str) -> torch.Tensor:
        """Number of samples z with g_z != 0, as int64 (only when the accumulator keeps them)."""
        c = self.nz[name].to(torch.int64)
        return c + self.nz64[name] if name in self.nz64 else c

    def result(self, backend: str) -> GradStats:
        self._flush_sums()
        n = self.n
        diffs, means, lcoh, lsq = {}, {}, {}, {}
        num_tot = den_tot = 0.0
        for k in self.names:
            s = self.sum[k].flatten()
            num = float(torch.dot(s, s)) / (n * n)
            den = float(self.sq[k]) / n
            num_tot += num
            den_tot += den
            lcoh[k] = num / den if den > 0 else math.nan
            lsq[k] = den
            if k in self.count64 or n > _EXACT_F32:
                diffs[k] = (self.counts(k).double() / n).float().cpu()
            else:  # |count| <= n <= 2^24: exact in float32, then one correctly rounded division
                diffs[k] = self.count[k].to(torch.float32).div_(n).cpu()
            means[k] = self.sum[k].to(torch.float32).div_(n).cpu()
        coh = num_tot / den_tot if den_tot > 0 else math.nan
        sign_sum = nonzero = None
        if self.nz:
            sign_sum = {k: self.counts(k).cpu() for k in self.names}
            nonzero = {k: self.nonzeros(k).cpu() for k in self.names}
        return GradStats(n=n, coherence=coh, scaled_coherence=n * coh, mean_sq_norm=den_tot,
                         layer_coherence=lcoh, layer_mean_sq_norm=lsq, diffs=diffs, mean_grad=means,
                         backend=backend, sign_sum=sign_sum, nonzero=nonzero)


# ------------------------------------------------------------------------------------------ data
def _is_pair(data: Any) -> bool:
    return (isinstance(data, (tuple, list)) and len(data) == 2
            and all(isinstance(t, torch.Tensor) for t in data))


def iter_batches(data: Any, batch_size: int, max_samples: int | None) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Batches of at most ``batch_size`` samples from a pair (inputs, targets) or an iterable of
    pairs, stopping after ``max_samples`` samples."""
    source: Iterable = [data] if _is_pair(data) else data
    seen = 0
    for i, item in enumerate(source):
        if not _is_pair(item):
            raise ValueError(f"data batch {i} is {type(item).__name__}; expected a pair of tensors (inputs, targets)")
        x, y = item
        if x.dim() == 0 or y.dim() not in (1, 2) or x.shape[0] != y.shape[0]:
            raise ValueError(f"data batch {i}: inputs {tuple(x.shape)} and targets {tuple(y.shape)} do not match; "
                             "targets must be 1-D with one class index per input, or 2-D with one next token per "
                             "position of each input window")
        if y.dtype in (torch.float16, torch.bfloat16, torch.float32, torch.float64, torch.bool) or y.is_complex():
            raise ValueError(f"data batch {i}: targets have dtype {y.dtype}; expected integer class indices")
        for s in range(0, x.shape[0], batch_size):
            take = batch_size if max_samples is None else min(batch_size, max_samples - seen)
            if take <= 0:
                return
            xb, yb = x[s:s + take], y[s:s + take]
            seen += xb.shape[0]
            yield xb, yb
        if max_samples is not None and seen >= max_samples:
            return


def count_samples(data: Any, max_samples: int | None) -> int | None:
    """Total number of samples when knowable without iterating (for the progress bar)."""
    n = None
    if _is_pair(data):
        n = data[0].shape[0]
    elif isinstance(data, (list, tuple)) and all(_is_pair(b) for b in data):
        n = sum(b[0].shape[0] for b in data)
    if n is not None and max_samples is not None:
        n = min(n, max_samples)
    return n


def check_targets(y: torch.Tensor, num_classes: int) -> None:
    lo, hi = int(y.min()), int(y.max())
    if lo < 0 or hi >= num_classes:
        bad = lo if lo < 0 else hi
        raise ValueError(f"target {bad} is out of range: the model has {num_classes} outputs, so targets must lie in [0, {num_classes - 1}]")


def check_loss(losses: torch.Tensor, offset: int) -> None:
    """Raise on the first non-finite per-sample loss; ``offset`` is the batch's first sample index."""
    bad = ~torch.isfinite(losses.detach())
    if bool(bad.any()):
        i = int(bad.nonzero()[0, 0])
        raise ValueError(f"non-finite loss {float(losses[i].detach())} for sample {offset + i}; the loss must be finite "
                         "(check the inputs and the model's weights)")


def check_output(shape: tuple[int, ...], y: torch.Tensor) -> None:
    """ValueError unless logits of ``shape`` are (batch, classes) for class targets ``y`` (batch,), or (batch,
    positions, vocab) for next-token targets ``y`` (batch, positions), with every target in range."""
    shape = tuple(shape)
    if len(shape) not in (2, 3) or tuple(y.shape) != shape[:-1]:
        raise ValueError(f"the model's output has shape {shape} and the targets {tuple(y.shape)}; expected "
                         "(batch, classes) logits with (batch,) targets, or (batch, positions, vocab) logits with "
                         "(batch, positions) targets")
    check_targets(y, shape[-1])


def sample_loss(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Each sample's loss, unchecked (usable inside ``vmap``): its cross-entropy, or for a text window the sum
    of its positions' next-token cross-entropies."""
    if out.dim() == 2:
        return F.cross_entropy(out, y, reduction="none")
    return F.cross_entropy(out.transpose(1, 2), y, reduction="none").sum(1)


def per_sample_ce(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """:func:`sample_loss` after :func:`check_output`: a sample is an image or a whole text window."""
    check_output(out.shape, y)
    return sample_loss(out, y)


def to_model(x: torch.Tensor, y: torch.Tensor, ref: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """A batch moved to the device of the parameter ``ref`` (float inputs also to its dtype; targets long)."""
    x = x.to(ref.device, ref.dtype) if x.is_floating_point() else x.to(ref.device)
    return x, y.to(ref.device, torch.long)


def trainable(model: nn.Module) -> dict[str, nn.Parameter]:
    params = {k: p for k, p in model.named_parameters() if p.requires_grad}
    if not params:
        raise ValueError(f"{type(model).__name__} has no trainable parameters (requires_grad=True); nothing to measure")
    return params


def activation_bytes_per_sample(model: nn.Module, x: torch.Tensor) -> int:
    """Bytes autograd saves for one sample's forward (measured on ``x[:1]``), to size chunks."""
    total = 0

    def pack(t: torch.Tensor) -> torch.Tensor:
        nonlocal total
        total += t.numel() * t.element_size()
        return t

    with torch.enable_grad(), torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        model(x[:1])
    return total


def peek(batches: Iterator) -> tuple[Any, Iterator]:
    """(first item or None, an iterator that still yields it)."""
    try:
        first = next(batches)
    except StopIteration:
        return None, iter(())
    return first, itertools.chain([first], batches)


class UnsupportedModel(NotImplementedError):
    """The ``fast`` backend cannot split this model into layers (a module called twice per forward,
    shared parameters, non-tensor outputs). ``batches`` holds the batches not yet consumed (the one
    that failed included) and ``done`` how many batches were already processed, so the dispatcher can
    hand the rest to another backend."""

    def __init__(self, message: str):
        super().__init__(message)
        self.batches: Iterator | None = None
        self.done = 0
