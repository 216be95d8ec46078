"""Fallback for a module type with trainable parameters and no registered grad sampler.

The module (with all its parameters, children included) is treated as one unit and its per-sample
gradients come from ``torch.func``: vmap over samples of grad of <module(x_z), dL/dy_z>. This assumes
the module processes the samples of a batch independently (true of every layer without batch
statistics) and returns one tensor.
"""
from __future__ import annotations

import torch
from torch import nn
from torch.func import functional_call, grad, vmap


def functorch_sampler(module: nn.Module, inputs: tuple, grad_out: torch.Tensor) -> dict[str, torch.Tensor]:
    named = dict(module.named_parameters())
    trainable = {k: p.detach() for k, p in named.items() if p.requires_grad}
    fixed = {k: p.detach() for k, p in named.items() if not p.requires_grad}
    fixed.update(dict(module.named_buffers()))
    in_dims = tuple(0 if isinstance(a, torch.Tensor) else None for a in inputs)

    def inner(params: dict[str, torch.Tensor], args: tuple, d: torch.Tensor) -> torch.Tensor:
        batched = tuple(a.unsqueeze(0) if isinstance(a, torch.Tensor) else a for a in args)
        out = functional_call(module, {**params, **fixed}, batched)
        return (out * d.unsqueeze(0)).sum()

    return vmap(grad(inner), in_dims=(None, in_dims, 0))(trainable, tuple(inputs), grad_out)
