"""Per-sample gradient statistics: coherence (thesis 1.2, 2.1), per-layer coherence and diffs (3.1).

Public API::

    gradient_stats(model, data, *, backend="auto", batch_size=256, max_samples=None,
                   memory_budget_mb=1024, progress=True) -> GradStats
    StatsCallback(cfg: lib.train.StatsConfig)   # trainer callback writing diff_hist.npz, diffs_*.pt

Per-layer kernels are registered by module type (``register_grad_sampler``, ``register_fast_kernel``);
importing this package imports the built-in ones (:mod:`lib.stats.kernels`).
"""
from . import kernels  # noqa: F401  (registers the built-in layer kernels)
from .callback import StatsCallback
from .core import BACKENDS, GradStats, gradient_stats
from .registry import FAST_KERNELS, GRAD_SAMPLERS, Sink, register_fast_kernel, register_grad_sampler

__all__ = ["BACKENDS", "FAST_KERNELS", "GRAD_SAMPLERS", "GradStats", "Sink", "StatsCallback", "gradient_stats",
           "register_fast_kernel", "register_grad_sampler"]
