"""The ``functorch`` backend: ``vmap(grad)`` of each sample's loss over the whole model.

Per-sample gradients of all trainable parameters are materialised for a chunk of samples at a time,
the chunk sized so that they (and the vmapped activations) fit the memory budget; sign and nonzero
counts (``counts``) come from the same materialised gradients.
"""
from __future__ import annotations

from typing import Any, Iterator

import torch
from torch import nn
from torch.func import functional_call, grad_and_value, vmap

from .base import (Accumulator, GradStats, activation_bytes_per_sample, check_loss, check_output, sample_loss,
                   to_model)


def run_functorch(model: nn.Module, params: dict[str, nn.Parameter], batches: Iterator, budget: int, bar: Any,
                  counts: bool = False) -> GradStats:
    """The ``functorch`` backend (with ``counts``: sign sums and nonzero counts too)."""
    ref = next(iter(params.values()))
    acc = Accumulator(params, counts=counts)
    train = {k: p.detach() for k, p in params.items()}
    fixed = {k: p.detach() for k, p in model.named_parameters() if k not in train}
    fixed.update(dict(model.named_buffers()))
    numel_bytes = sum(p.numel() * p.element_size() for p in train.values())
    out_shape: tuple[int, ...] | None = None
    chunk = 1

    def loss(p: dict[str, torch.Tensor], x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        out = functional_call(model, {**p, **fixed}, (x.unsqueeze(0),))
        return sample_loss(out, y.unsqueeze(0)).sum()

    per_sample = vmap(grad_and_value(loss), in_dims=(None, 0, 0))
    seen = 0
    for x, y in batches:
        x, y = to_model(x, y, ref)
        if out_shape is None:
            with torch.no_grad():
                out_shape = tuple(model(x[:1]).shape[1:])
            per = 2 * numel_bytes + 3 * activation_bytes_per_sample(model, x)
            chunk = max(1, budget // max(1, per))
        check_output((x.shape[0], *out_shape), y)
        acc.begin_batch(x.shape[0])
        for s in range(0, x.shape[0], chunk):
            g, losses = per_sample(train, x[s:s + chunk], y[s:s + chunk])
            check_loss(losses, seen + s)
            for k, gk in g.items():
                acc.add_per_sample(k, gk, with_sum=True)
            del g
        seen += x.shape[0]
        bar.update(x.shape[0])
    return acc.result("functorch")
