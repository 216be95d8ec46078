"""Normalisation layers: each is an affine map of a normalised input xhat, so sample z's gradients
are weight: sum over positions of dL/dy * xhat, bias: sum over positions of dL/dy.

BatchNorm is handled only in eval mode with running statistics (as :func:`lib.stats.gradient_stats`
always runs it): it is then a fixed per-channel affine map, xhat = (x - running_mean) /
sqrt(running_var + eps), and samples do not interact. In train mode, or without running statistics,
BatchNorm normalises with batch statistics, every sample's output depends on the whole batch and a
per-sample gradient is not defined: we raise.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..registry import register_grad_sampler

BATCHNORMS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)


def _affine_grads(module: nn.Module, xhat: torch.Tensor, grad_out: torch.Tensor, pshape: tuple[int, ...],
                  channel_first: bool, scale: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
    """Per-sample grads of weight/bias shaped ``pshape`` for y = (xhat * scale) * w + b, w broadcast
    along dim 1 when ``channel_first`` (``scale`` per channel, or None), else along the trailing dims.
    Sums over positions are batched dot products and matrix-vector products (BLAS)."""
    n = grad_out.shape[0]
    c = 1
    for s in pshape:
        c *= s
    if channel_first:  # (n, C, L)
        d, xh = grad_out.reshape(n, c, -1), xhat.reshape(n, c, -1)
    else:  # (n, L, C) -> (n, C, L)
        d, xh = grad_out.reshape(n, -1, c).transpose(1, 2), xhat.reshape(n, -1, c).transpose(1, 2)
    out: dict[str, torch.Tensor] = {}
    w, b = getattr(module, "weight", None), getattr(module, "bias", None)
    if w is not None and w.requires_grad:
        gw = torch.einsum("ncl,ncl->nc", d, xh)
        if scale is not None:
            gw = gw * scale
        out["weight"] = gw.reshape(n, *pshape)
    if b is not None and b.requires_grad:
        ones = torch.ones(d.shape[2], dtype=d.dtype, device=d.device)
        out["bias"] = torch.matmul(d, ones).reshape(n, *pshape)
    return out


def batchnorm_eval_centred(module: nn.Module, x: torch.Tensor, running_mean: torch.Tensor | None,
                           running_var: torch.Tensor | None, eps: float) -> tuple[torch.Tensor, torch.Tensor]:
    """(x - running_mean, 1 / sqrt(running_var + eps)): xhat is their product (per channel)."""
    if module.training or running_mean is None or running_var is None:
        raise ValueError(
            f"{type(module).__name__}: per-sample gradients need BatchNorm in eval mode with running "
            f"statistics (training={module.training}, has running stats={running_mean is not None}); "
            "with batch statistics the samples of a batch interact and per-sample gradients are undefined")
    shape = (1, -1) + (1,) * (x.dim() - 2)
    return x - running_mean.view(shape), torch.rsqrt(running_var + eps)


@register_grad_sampler(list(BATCHNORMS))
def batchnorm_sampler(module: nn.modules.batchnorm._BatchNorm, inputs: tuple[torch.Tensor, ...],
                      grad_out: torch.Tensor) -> dict[str, torch.Tensor]:
    x = inputs[0].to(grad_out.dtype)
    centred, inv = batchnorm_eval_centred(module, x, module.running_mean, module.running_var, module.eps)
    return _affine_grads(module, centred, grad_out, (module.num_features,), True, inv)


@register_grad_sampler(nn.LayerNorm)
def layernorm_sampler(module: nn.LayerNorm, inputs: tuple[torch.Tensor, ...], grad_out: torch.Tensor) -> dict[str, torch.Tensor]:
    x = inputs[0].to(grad_out.dtype)
    xhat = F.layer_norm(x, module.normalized_shape, None, None, module.eps)
    return _affine_grads(module, xhat, grad_out, tuple(module.normalized_shape), False)


@register_grad_sampler(nn.GroupNorm)
def groupnorm_sampler(module: nn.GroupNorm, inputs: tuple[torch.Tensor, ...], grad_out: torch.Tensor) -> dict[str, torch.Tensor]:
    x = inputs[0].to(grad_out.dtype)
    xhat = F.group_norm(x, module.num_groups, None, None, module.eps)
    return _affine_grads(module, xhat, grad_out, (module.num_channels,), True)
