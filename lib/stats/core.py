"""The dispatcher of the statistics engine: :func:`gradient_stats` checks its input and runs one backend.

Layers: :mod:`lib.stats.base` (shared types) and :mod:`lib.stats.registry` (per-layer kernels) at the
bottom, the backends (:mod:`~lib.stats.hooks` = ``fast``, :mod:`~lib.stats.functorch_backend`,
:mod:`~lib.stats.opacus_backend`) above them, this module on top. No backend imports another.
"""
from __future__ import annotations

from typing import Any

import torch
from torch import nn
from tqdm.auto import tqdm

from .base import GradStats, UnsupportedModel, count_samples, iter_batches, peek, trainable
from .functorch_backend import run_functorch
from .hooks import run_hooks
from .opacus_backend import run_opacus

BACKENDS = ("auto", "fast", "functorch", "opacus")


def gradient_stats(model: nn.Module, data: Any, *, backend: str = "auto", batch_size: int = 256,
                   max_samples: int | None = None, memory_budget_mb: float = 1024, progress: bool = True,
                   counts: bool = False) -> GradStats:
    """Coherence, per-layer coherence and diffs of ``model``'s per-sample gradients on ``data``.

    data: a pair of tensors (inputs, targets) or an iterable of such batches; targets are class
    indices. The model is put in eval mode for the pass (BatchNorm uses its running statistics) and
    never updated; its train/eval modes, ``requires_grad`` flags and ``.grad`` fields are left as
    found and no hooks stay attached.

    backend:
      * ``"fast"``: forward/backward hooks on every layer; closed forms that never materialise
        per-sample gradients where the algebra allows (``nn.Linear`` on 2-D inputs), chunked
        per-layer materialisation elsewhere (conv, norms, token-linear, embeddings; ``torch.func`` on
        an unregistered module). Raises ``NotImplementedError`` for models it cannot split into
        layers (a module called twice per forward, shared parameters, non-tensor outputs).
      * ``"functorch"``: ``torch.func.functional_call`` + ``vmap(grad)`` over the whole model, chunked.
      * ``"opacus"``: Opacus ``GradSampleModule`` (loss_reduction="sum"), the reference. Opacus
        refuses BatchNorm, so a copy of the model has each BatchNorm replaced by the per-channel
        affine map it is in eval mode, with a registered exact grad sampler.
      * ``"auto"``: ``fast``, or ``functorch`` where ``fast`` cannot split the model.

    batch_size: samples per forward pass (results do not depend on it beyond float rounding of
    gradient sums; sign counts are exact). max_samples: use only the first ``max_samples`` samples
    (None = all). memory_budget_mb: sizes the chunks in which per-sample gradients are materialised
    and the fast kernels' buffers (the forward/backward of one batch comes on top).
    progress: a tqdm progress bar over samples. counts: also return ``sign_sum`` and ``nonzero``
    (exact int64 per-entry counts, see :class:`~lib.stats.base.GradStats`), with every backend; off,
    nothing is spent on them and both are None.

    Raises ValueError for an unknown backend, a non-bool ``counts``, empty data, targets out of range or not integer,
    mismatched inputs/targets, a non-finite loss, BatchNorm without running statistics, or a model
    without trainable parameters.
    """
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; allowed: {', '.join(repr(b) for b in BACKENDS)}")
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be an integer >= 1, got {batch_size!r}")
    if max_samples is not None and (not isinstance(max_samples, int) or max_samples < 1):
        raise ValueError(f"max_samples must be None or an integer >= 1, got {max_samples!r}")
    if not memory_budget_mb > 0:
        raise ValueError(f"memory_budget_mb must be > 0, got {memory_budget_mb!r}")
    if not isinstance(counts, bool):
        raise ValueError(f"counts must be True or False, got {counts!r}")
    params = trainable(model)
    for name, m in model.named_modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.running_mean is None:
            raise ValueError(f"BatchNorm {name!r} has no running statistics (track_running_stats=False): it normalises "
                             "with batch statistics even in eval mode, so per-sample gradients are undefined")
    first, batches = peek(iter_batches(data, batch_size, max_samples))
    if first is None:
        raise ValueError("data is empty: gradient statistics need at least one sample")
    budget = int(memory_budget_mb * 2 ** 20)
    modes = {m: m.training for m in model.modules()}
    total = count_samples(data, max_samples)
    bar = tqdm(total=total, desc=f"grad stats ({backend})", unit="sample", disable=not progress, leave=False)
    try:
        model.eval()
        with torch.enable_grad():
            if backend in ("auto", "fast"):
                try:
                    return run_hooks(model, params, batches, budget, bar, counts)
                except UnsupportedModel as exc:  # auto: a model fast cannot split goes to functorch
                    if backend == "fast" or exc.done > 0 or exc.batches is None:
                        raise
                    return run_functorch(model, params, exc.batches, budget, bar, counts)
            if backend == "functorch":
                return run_functorch(model, params, batches, budget, bar, counts)
            return run_opacus(model, params, batches, budget, bar, counts)
    finally:
        bar.close()
        for m, t in modes.items():
            m.training = t
