"""Per-layer kernels, registered by module type (as Opacus's ``@register_grad_sampler(nn.Linear)``).

Two kinds of kernel, each one function per layer type:

* a **grad sampler** ``fn(module, inputs, grad_out) -> {local param name: per-sample grads}`` returns
  the per-sample gradients, shaped ``(n, *param.shape)``, of the module's trainable parameters for a
  chunk of ``n`` samples, from the module's captured positional ``inputs`` (a tuple of tensors, batch
  first) and ``grad_out``, the gradient of the summed loss with respect to the module's output;
* a **fast kernel** ``fn(module, inputs, grad_out, sink) -> bool`` adds the batch's sign counts and
  squared-norm sums straight into ``sink`` (a :class:`Sink`) without materialising per-sample
  gradients, and returns ``False`` when its closed form does not apply to these inputs (the engine
  then uses the layer's grad sampler).

A new layer type is one decorated function; :mod:`lib.stats.kernels` holds the built-in ones and the
package ``__init__`` imports it. A module type without a grad sampler that owns trainable parameters
is handled by :func:`lib.stats.kernels.generic.functorch_sampler` (``torch.func`` on that module).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import torch
from torch import nn

Inputs = tuple[torch.Tensor, ...]
Sampler = Callable[[nn.Module, Inputs, torch.Tensor], dict[str, torch.Tensor]]
Workspace = Callable[[nn.Module, Inputs, torch.Tensor], int]


@dataclass
class Sink:
    """Where a fast kernel adds one batch's statistics of one module.

    sign: local param name -> float32 tensor shaped like the parameter; add sums of signs (exact
    small integers) into it, in place. sq: local param name -> float64 0-d tensor; add
    sum_z ||g_z||^2 of that parameter into it, in place. Only trainable parameters have keys.
    """

    sign: dict[str, torch.Tensor]
    sq: dict[str, torch.Tensor]


FastKernel = Callable[[nn.Module, Inputs, torch.Tensor, Sink], bool]


@dataclass(frozen=True)
class SamplerSpec:
    """A registered grad sampler and, optionally, its extra scratch memory per sample in bytes."""

    fn: Sampler
    workspace: Workspace | None = None


GRAD_SAMPLERS: dict[type[nn.Module], SamplerSpec] = {}
FAST_KERNELS: dict[type[nn.Module], FastKernel] = {}


def _types(t: type[nn.Module] | Sequence[type[nn.Module]]) -> list[type[nn.Module]]:
    return list(t) if isinstance(t, (list, tuple)) else [t]  # type: ignore[list-item]


def register_grad_sampler(target: type[nn.Module] | Sequence[type[nn.Module]], *,
                          workspace: Workspace | None = None) -> Callable[[Sampler], Sampler]:
    """Register ``fn(module, inputs, grad_out) -> {local name: (n, *shape) per-sample grads}`` for
    ``target`` type(s). ``workspace(module, inputs, grad_out)`` may give the extra bytes per sample the
    function needs beyond its outputs (e.g. unfolded conv inputs), used to size chunks."""

    def deco(fn: Sampler) -> Sampler:
        for t in _types(target):
            GRAD_SAMPLERS[t] = SamplerSpec(fn, workspace)
        return fn

    return deco


def register_fast_kernel(target: type[nn.Module] | Sequence[type[nn.Module]]) -> Callable[[FastKernel], FastKernel]:
    """Register ``fn(module, inputs, grad_out, sink) -> bool``, a closed form for ``target`` type(s)."""

    def deco(fn: FastKernel) -> FastKernel:
        for t in _types(target):
            FAST_KERNELS[t] = fn
        return fn

    return deco


def find(table: dict, module: nn.Module):
    """The entry for exactly ``type(module)`` (as Opacus: a subclass may change ``forward``, so it does
    not inherit its base's kernel; register it explicitly if it computes the same function)."""
    return table.get(type(module))
