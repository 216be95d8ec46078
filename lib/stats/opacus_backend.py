"""The ``opacus`` backend (the reference): Opacus ``GradSampleModule`` with loss_reduction="sum".

Opacus refuses BatchNorm (a trainable module with buffers) and only captures activations of modules
in training mode. In eval mode BatchNorm is a fixed per-channel affine map,
y = (x - running_mean) / sqrt(running_var + eps) * weight + bias, so its per-sample gradients are
exact and cheap: weight: sum over positions of dL/dy * xhat, bias: sum over positions of dL/dy.
We therefore work on a deep copy of the model in which every BatchNorm is replaced by
:class:`EvalBatchNorm` (same parameter objects and names, running statistics as plain tensors) with
a grad sampler registered for Opacus, the copy in eval mode except that the modules owning trainable
parameters are flagged ``training=True`` so Opacus's hooks fire (none of those layers behaves
differently in training mode once BatchNorm is replaced). The caller's model is never wrapped.
Two more rewrites of the copy keep Opacus exact: each module owning parameters is wrapped in
:class:`CloneOutput` (Opacus's backward hooks forbid in-place ops on a hooked output, as in
torchvision's ResNet blocks), and convolutions with a non-zero padding mode pad explicitly first
(Opacus's conv grad sampler ignores ``padding_mode``). Layers Opacus has no grad sampler for (e.g.
``TokenEmbedding``) go through Opacus's own functorch fallback. Each batch is split into sub-batches
whose per-sample gradients fit the memory budget. Sign and nonzero counts (``counts``) come from
Opacus's per-sample gradients like every other statistic.
"""
from __future__ import annotations

import copy
import warnings
from typing import Any, Iterator

import torch
import torch.nn.functional as F
from torch import nn

from .base import (Accumulator, GradStats, activation_bytes_per_sample, check_loss, per_sample_ce,
                   to_model)
from .kernels.norm import BATCHNORMS, batchnorm_eval_grads


class EvalBatchNorm(nn.Module):
    """A BatchNorm layer frozen in eval mode: the per-channel affine map it computes there."""

    def __init__(self, bn: nn.modules.batchnorm._BatchNorm):
        super().__init__()
        if bn.running_mean is None or bn.running_var is None:
            raise ValueError(f"{type(bn).__name__} has no running statistics (track_running_stats=False): in eval "
                             "mode it normalises with batch statistics and per-sample gradients are undefined")
        self.weight, self.bias = bn.weight, bn.bias
        self.running_mean = bn.running_mean.detach().clone()  # plain tensors, not buffers
        self.running_var = bn.running_var.detach().clone()
        self.eps = bn.eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias, False, 0.0, self.eps)


_REGISTERED = False


def _register() -> None:
    global _REGISTERED
    if _REGISTERED:
        return
    from opacus.grad_sample import register_grad_sampler

    @register_grad_sampler(EvalBatchNorm)
    def _eval_bn(layer: EvalBatchNorm, activations: list[torch.Tensor], backprops: torch.Tensor) -> dict:
        g = batchnorm_eval_grads(layer, activations[0].to(backprops.dtype), backprops, layer.running_mean,
                                 layer.running_var, layer.eps)
        return {getattr(layer, k): v for k, v in g.items()}

    _REGISTERED = True


class CloneOutput(nn.Module):
    """Runs ``inner`` and returns a copy of its output. Opacus's backward hooks turn a hooked module's
    output into a view that must not be modified in place (``ReLU(inplace=True)``, ``out += identity``
    in torchvision's ResNet blocks); the copy can be."""

    def __init__(self, inner: nn.Module):
        super().__init__()
        self.inner = inner

    def forward(self, *args: Any) -> Any:
        out = self.inner(*args)
        return out.clone() if isinstance(out, torch.Tensor) else out


class Pad(nn.Module):
    """``F.pad`` as a module (non-zero padding modes, taken out of a convolution for Opacus)."""

    def __init__(self, pads: list[int], mode: str):
        super().__init__()
        self.pads, self.mode = list(pads), mode

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.pad(x, self.pads, mode=self.mode)


def _take_out_padding(conv: nn.Module) -> Pad:
    """Opacus's conv grad sampler ignores ``padding_mode`` (it unfolds with zero padding), so a conv
    with reflect/replicate/circular padding is set to no padding, and the returned :class:`Pad`
    goes in front of it."""
    pad = Pad(list(conv._reversed_padding_repeated_twice), conv.padding_mode)
    conv.padding = (0,) * len(conv.kernel_size)
    conv.padding_mode = "zeros"
    conv._reversed_padding_repeated_twice = [0] * len(pad.pads)
    return pad


def opacus_copy(model: nn.Module, params: dict[str, nn.Parameter]) -> tuple[nn.Module, dict[str, nn.Parameter]]:
    """A deep copy set up for Opacus's hooks, and its trainable parameters under the original names.

    In the copy every BatchNorm becomes :class:`EvalBatchNorm`, a conv with a non-zero padding mode
    pads explicitly first (:func:`_take_out_padding`), every module owning trainable
    parameters is wrapped in :class:`CloneOutput` and flagged ``training=True`` (the rest of the copy
    is in eval mode)."""
    memo: dict[int, Any] = {}
    m = copy.deepcopy(model, memo)
    cparams = {k: memo[id(p)] for k, p in params.items()}
    m.eval()

    def owns(mod: nn.Module) -> bool:
        return any(p.requires_grad for p in mod.parameters(recurse=False))

    def rewrite(parent: nn.Module) -> None:
        for name, child in list(parent.named_children()):
            if isinstance(child, BATCHNORMS):
                child = EvalBatchNorm(child)
            pad = None
            if isinstance(child, nn.modules.conv._ConvNd) and child.padding_mode != "zeros":
                pad = _take_out_padding(child)
            new = child
            if owns(child):
                child.training = True
                new = CloneOutput(child)
            if pad is not None:
                new = nn.Sequential(pad, new)
            setattr(parent, name, new)
            rewrite(child)

    rewrite(m)
    if owns(m):
        m.training = True
    return m, cparams


def run_opacus(model: nn.Module, params: dict[str, nn.Parameter], batches: Iterator, budget: int, bar: Any,
               counts: bool = False) -> GradStats:
    """The ``opacus`` backend (with ``counts``: sign sums and nonzero counts too)."""
    from opacus import GradSampleModule

    _register()
    ref = next(iter(params.values()))
    acc = Accumulator(params, counts=counts)
    m, cparams = opacus_copy(model, params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        gsm = GradSampleModule(m, batch_first=True, loss_reduction="sum", strict=True)
    numel_bytes = sum(p.numel() * p.element_size() for p in cparams.values())
    biggest = max(p.numel() * p.element_size() for p in cparams.values())
    chunk = None
    seen = 0
    try:
        for x, y in batches:
            x, y = to_model(x, y, ref)
            if chunk is None:
                per = numel_bytes + 2 * biggest + 2 * activation_bytes_per_sample(model, x)
                chunk = max(1, budget // max(1, per))
            acc.begin_batch(x.shape[0])
            for s in range(0, x.shape[0], chunk):
                losses = per_sample_ce(gsm(x[s:s + chunk]), y[s:s + chunk])
                check_loss(losses, seen + s)
                with warnings.catch_warnings():  # "full backward hook firing ... no inputs require gradients"
                    warnings.simplefilter("ignore", UserWarning)
                    losses.sum().backward()
                for k, p in cparams.items():
                    gs = p.grad_sample
                    if gs is None:  # parameter unused by the forward
                        gs = torch.zeros((losses.shape[0], *p.shape), dtype=p.dtype, device=p.device)
                    acc.add_per_sample(k, gs)
                    acc.add_grad_sum(k, p.grad if p.grad is not None else gs.sum(0))
                    p.grad_sample = None
                    p.grad = None
            seen += x.shape[0]
            bar.update(x.shape[0])
    finally:
        gsm.to_standard_module()  # removes Opacus's hooks and grad samples from the (throwaway) copy
    return acc.result("opacus")
