"""Per-sample gradient statistics: coherence (thesis 1.2, 2.1), per-layer coherence and diffs (3.1).

Public API::

    gradient_stats(model, data, *, backend="auto", batch_size=256, max_samples=None,
                   memory_budget_mb=1024, progress=True, counts=False) -> GradStats
    prefix_stats(model, x, y, sizes) -> {n: GradStats}   # the first n samples, for each n, in one pass
    sign_counts(saved) -> (sign_sum, nonzero, n)      # exact counts from a stored diffs file
    StatsCallback(cfg: lib.train.StatsConfig)   # trainer callback writing diff_hist.npz, diffs_*.pt

Backends: ``fast`` (per-layer hooks, closed forms for ``nn.Linear`` on 2-D inputs, chunked per-layer
per-sample gradients elsewhere), ``functorch`` (vmap over the whole model), ``opacus`` (the
reference; BatchNorm in eval mode handled as the affine map it is) and ``auto`` (``fast``, or
``functorch`` for models ``fast`` cannot split into layers). Per-layer kernels are registered by
module type (``register_grad_sampler``, ``register_fast_kernel``); importing this package imports
the built-in ones (:mod:`lib.stats.kernels`: Linear, Conv2d, BatchNorm/LayerNorm/GroupNorm,
TokenEmbedding, and ``torch.func`` for any other module type owning parameters).
"""
from . import kernels  # noqa: F401  (registers the built-in layer kernels)
from .callback import StatsCallback, sign_counts
from .prefix import merge, prefix_stats
from .base import GradStats
from .core import BACKENDS, gradient_stats
from .registry import FAST_KERNELS, GRAD_SAMPLERS, Scratch, Sink, register_fast_kernel, register_grad_sampler

__all__ = ["BACKENDS", "FAST_KERNELS", "GRAD_SAMPLERS", "GradStats", "Scratch", "Sink", "StatsCallback",
           "gradient_stats", "merge", "prefix_stats", "register_fast_kernel", "register_grad_sampler", "sign_counts"]
