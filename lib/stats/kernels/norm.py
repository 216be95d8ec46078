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
                  channel_first: bool) -> dict[str, torch.Tensor]:
    """Per-sample grads of weight/bias shaped ``pshape`` for y = xhat * w + b, w broadcast along
    dim 1 when ``channel_first``, else along the trailing dims."""
    n = grad_out.shape[0]
    c = 1
    for s in pshape:
        c *= s
    if channel_first:  # (n, C, L): sum over the last dim
        d, xh, dim = grad_out.reshape(n, c, -1), xhat.reshape(n, c, -1), 2
    else:  # (n, L, C): sum over the middle dim
        d, xh, dim = grad_out.reshape(n, -1, c), xhat.reshape(n, -1, c), 1
    out: dict[str, torch.Tensor] = {}
    w, b = getattr(module, "weight", None), getattr(module, "bias", None)
    if w is not None and w.requires_grad:
        out["weight"] = (d * xh).sum(dim).reshape(n, *pshape)
    if b is not None and b.requires_grad:
        out["bias"] = d.sum(dim).reshape(n, *pshape)
    return out


def check_batchnorm(module: nn.Module, running_mean: torch.Tensor | None) -> None:
    if module.training or running_mean is None:
        raise ValueError(
            f"{type(module).__name__}: per-sample gradients need BatchNorm in eval mode with running "
            f"statistics (training={module.training}, has running stats={running_mean is not None}); "
            "with batch statistics the samples of a batch interact and per-sample gradients are undefined")


def batchnorm_eval_grads(module: nn.Module, x: torch.Tensor, grad_out: torch.Tensor, running_mean: torch.Tensor,
                         running_var: torch.Tensor, eps: float) -> dict[str, torch.Tensor]:
    """Per-sample weight/bias grads of BatchNorm in eval mode, y = (x - mean) / sqrt(var + eps) * w + b:
    grad_w = sum_positions dy * xhat, grad_b = sum_positions dy, per sample and channel.

    Computed by one fused BatchNorm backward (eval mode, weight and bias gradients only) on the
    batch seen as a single sample with n * C channels, whose statistics are the running ones
    repeated n times: its "per-channel" weight and bias gradients are exactly the per-sample ones
    (the batching rule ``vmap`` uses)."""
    n, c = grad_out.shape[0], grad_out.shape[1]
    w, b = module.weight, module.bias
    need_w = w is not None and w.requires_grad
    need_b = b is not None and b.requires_grad
    if not (need_w or need_b):
        return {}
    _, gw, gb = torch.ops.aten.native_batch_norm_backward(
        grad_out.reshape(1, n * c, -1), x.reshape(1, n * c, -1), None,
        running_mean.to(grad_out.dtype).repeat(n), running_var.to(grad_out.dtype).repeat(n), None, None,
        False, eps, [False, need_w, need_b])
    out: dict[str, torch.Tensor] = {}
    if need_w:
        out["weight"] = gw.view(n, c)
    if need_b:
        out["bias"] = gb.view(n, c)
    return out


@register_grad_sampler(list(BATCHNORMS))
def batchnorm_sampler(module: nn.modules.batchnorm._BatchNorm, inputs: tuple[torch.Tensor, ...],
                      grad_out: torch.Tensor) -> dict[str, torch.Tensor]:
    check_batchnorm(module, module.running_mean)
    return batchnorm_eval_grads(module, inputs[0].to(grad_out.dtype), grad_out, module.running_mean,
                                module.running_var, module.eps)


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
