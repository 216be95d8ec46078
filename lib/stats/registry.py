"""Per-layer kernels, registered by module type (as Opacus's ``@register_grad_sampler(nn.Linear)``).

Two kinds of kernel, each one function per layer type:

* a **grad sampler** ``fn(module, inputs, grad_out) -> {local param name: per-sample grads}`` returns
  the per-sample gradients, shaped ``(n, *param.shape)``, of the module's trainable parameters for a
  chunk of ``n`` samples, from the module's captured positional ``inputs`` (a tuple of tensors, batch
  first) and ``grad_out``, the gradient of the summed loss with respect to the module's output;
* a **fast kernel** ``fn(module, inputs, grad_out, sink) -> None`` adds the batch's sign counts and
  squared-norm sums straight into ``sink`` (a :class:`Sink`) without materialising per-sample
  gradients. It is registered with ``applies(module, inputs) -> bool``, checked at forward time
  (where its closed form does not apply the engine uses the layer's grad sampler), ``sums``: the
  parameters whose batch gradient sums it can add itself (into ``sink.sums``; the engine then does
  not ask autograd for them), ``finish(module, sink)``, called once at the end of the pass, for
  kernels that buffer several batches before computing, and ``nonzero``: whether it can also count
  the nonzero per-sample gradient entries (into ``sink.nonzero``); when those counts are asked for, a
  kernel that cannot is not used and the layer goes through its grad sampler.

A new layer type is one decorated function; :mod:`lib.stats.kernels` holds the built-in ones and the
package ``__init__`` imports it. Lookup is by exact type. A module type without a grad sampler that
owns trainable parameters is handled by :func:`lib.stats.kernels.generic.functorch_sampler`
(``torch.func`` on that module).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Sequence

import torch
from torch import nn

Inputs = tuple[torch.Tensor, ...]
Sampler = Callable[[nn.Module, Inputs, torch.Tensor], dict[str, torch.Tensor]]
Workspace = Callable[[nn.Module, Inputs, torch.Tensor], int]
Applies = Callable[[nn.Module, Inputs], bool]


class Scratch:
    """Reusable flat buffers, one per dtype and device, grown on demand (big fresh allocations cost
    page faults on every batch; reusing one buffer does not)."""

    def __init__(self) -> None:
        self._bufs: dict[tuple[torch.dtype, torch.device], torch.Tensor] = {}

    def get(self, shape: tuple[int, ...], dtype: torch.dtype, device: torch.device) -> torch.Tensor:
        n = 1
        for s in shape:
            n *= s
        buf = self._bufs.get((dtype, device))
        if buf is None or buf.numel() < n:
            buf = self._bufs[(dtype, device)] = torch.empty(n, dtype=dtype, device=device)
        return buf[:n].view(shape)


@dataclass
class Sink:
    """Where a fast kernel adds one batch's statistics of one module.

    sign: local param name -> int32 tensor shaped like the parameter; add the batch's sums of signs
    into it, in place (the engine keeps the counts from overflowing). sq: local param name ->
    float64 0-d tensor; add sum_z ||g_z||^2 of that parameter into it, in place. Only trainable
    parameters have keys.
    sums: local name -> tensor shaped like the parameter, for the parameters (among the kernel's
    ``sums``) whose batch gradient sums the engine leaves to the kernel: add sum_z g_z into it.
    budget: bytes the kernel may keep in buffers across calls. state: the kernel's own, per module.
    nonzero: local name -> int32 tensor shaped like the parameter, present only when nonzero counts
    are asked for: add the number of samples whose gradient entry is nonzero into it, in place.
    """

    sign: dict[str, torch.Tensor]
    sq: dict[str, torch.Tensor]
    sums: dict[str, torch.Tensor] = field(default_factory=dict)
    budget: int = 256 * 2 ** 20
    state: dict = field(default_factory=dict)
    nonzero: dict[str, torch.Tensor] = field(default_factory=dict)


FastKernel = Callable[[nn.Module, Inputs, torch.Tensor, Sink], None]


@dataclass(frozen=True)
class SamplerSpec:
    """A registered grad sampler and, optionally, its extra scratch memory per sample in bytes."""

    fn: Sampler
    workspace: Workspace | None = None


@dataclass(frozen=True)
class FastSpec:
    """A registered closed form, the test of whether it applies to a call's inputs, the parameters
    whose gradient sums it can add itself, its end-of-pass hook and whether it fills ``sink.nonzero``."""

    fn: FastKernel
    applies: Applies
    sums: tuple[str, ...] = ()
    finish: Callable[[nn.Module, Sink], None] | None = None
    nonzero: bool = False


GRAD_SAMPLERS: dict[type[nn.Module], SamplerSpec] = {}
FAST_KERNELS: dict[type[nn.Module], FastSpec] = {}


def _types(t: type[nn.Module] | Sequence[type[nn.Module]]) -> list[type[nn.Module]]:
    return list(t) if isinstance(t, (list, tuple)) else [t]  # type: ignore[list-item]


def register_grad_sampler(target: type[nn.Module] | Sequence[type[nn.Module]], *,
                          workspace: Workspace | None = None) -> Callable[[Sampler], Sampler]:
    """Register ``fn(module, inputs, grad_out) -> {local name: (n, *shape) per-sample grads}`` for
    ``target`` type(s). ``workspace(module, inputs, grad_out)`` may give the extra bytes per sample
    the function needs beyond its outputs (e.g. unfolded conv inputs), used to size chunks."""

    def deco(fn: Sampler) -> Sampler:
        for t in _types(target):
            GRAD_SAMPLERS[t] = SamplerSpec(fn, workspace)
        return fn

    return deco


def register_fast_kernel(target: type[nn.Module] | Sequence[type[nn.Module]], *,
                         applies: Applies = lambda module, inputs: True, sums: Sequence[str] = (),
                         finish: Callable[[nn.Module, Sink], None] | None = None,
                         nonzero: bool = False) -> Callable[[FastKernel], FastKernel]:
    """Register ``fn(module, inputs, grad_out, sink)``, a closed form for ``target`` type(s), used on
    the calls for which ``applies(module, inputs)`` is true; see the module docstring for ``sums``,
    ``finish`` and ``nonzero``."""

    def deco(fn: FastKernel) -> FastKernel:
        for t in _types(target):
            FAST_KERNELS[t] = FastSpec(fn, applies, tuple(sums), finish, bool(nonzero))
        return fn

    return deco


def find(table: dict, module: nn.Module):
    """The entry for exactly ``type(module)`` (as Opacus: a subclass may change ``forward``, so it does
    not inherit its base's kernel; register it explicitly if it computes the same function)."""
    return table.get(type(module))
