"""``nn.Linear``: a closed form for 2-D inputs and a grad sampler for any input rank.

For a batch with inputs ``A`` (n, in) and output gradients ``D`` (n, out), sample z's weight gradient
is the outer product ``d_z a_z^T``. Hence, without materialising any per-sample gradient,

* sum_z sign(g_z) = sign(D)^T sign(A)  (sign(xy) = sign(x) sign(y), so this is exact; a product that
  underflows to 0 in floating point is the only exception and needs |x y| < 1e-45 in float32);
* the number of samples with a nonzero entry is |sign(D)|^T |sign(A)| (d a != 0 iff d != 0 and a != 0);
* ||g_z||^2 = ||a_z||^2 ||d_z||^2, and for the bias sign counts are the column sums of sign(D), nonzero
  counts those of |sign(D)| and ||g_z||^2 = ||d_z||^2;
* the weight's gradient sum is D^T A.

The fast kernel buffers sign(A), sign(D) (int8) and A, D over up to 4096 samples (within its memory
budget) and then computes the counts as one int8 x int8 -> int32 matrix product (exact) and the
weight's gradient sum as one float product: fewer, larger products than batch by batch, and no
per-batch pass over a weight-sized array. Nonzero counts, when asked for, are one more such product of
the same buffers' absolute values. The bias's sums come from autograd.

With token inputs (n, t, in) the per-sample gradient sum_t d_zt a_zt^T has no such factorisation
of its signs, so the grad sampler materialises it (batched matmul) chunk by chunk.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ..ops import row_sq
from ..registry import Sink, register_fast_kernel, register_grad_sampler

MAX_BUFFERED = 4096
_INT_MM_OK: dict[str, bool] = {}


def sign_outer_counts(sd: torch.Tensor, sx: torch.Tensor, out: torch.Tensor) -> None:
    """out += sd^T sx for int8 sign matrices sd (n, o), sx (n, i), as exact integers into int32 ``out``.

    An int8 x int8 -> int32 matmul (``torch._int_mm``; exact, and on CPUs with VNNI several times
    faster than float32) where the device supports it, else a float32 matmul (exact: every partial
    sum is an integer of magnitude <= n < 2^24)."""
    dev = out.device.type
    if _INT_MM_OK.get(dev, True):
        try:
            out.add_(torch._int_mm(sd.T, sx))
            _INT_MM_OK[dev] = True
            return
        except (RuntimeError, AttributeError):
            _INT_MM_OK[dev] = False
    out.add_(torch.mm(sd.T.to(torch.float32), sx.to(torch.float32)).to(torch.int32))


@dataclass
class _Buffers:
    sx: torch.Tensor  # (cap, in) int8
    sd: torch.Tensor  # (cap, out) int8
    x: torch.Tensor | None  # (cap, in), when the kernel sums the weight's gradient
    d: torch.Tensor | None
    fill: int = 0


def _buffers(module: nn.Linear, x: torch.Tensor, grad_out: torch.Tensor, sink: Sink) -> _Buffers:
    buf = sink.state.get("buf")
    if buf is None:
        i, o = x.shape[1], grad_out.shape[1]
        summing = "weight" in sink.sums
        per = (i + o) * (1 + (grad_out.element_size() if summing else 0))
        cap = max(1, min(MAX_BUFFERED, sink.budget // per))
        new = lambda k, dt: torch.empty((cap, k), dtype=dt, device=x.device)  # noqa: E731
        buf = sink.state["buf"] = _Buffers(new(i, torch.int8), new(o, torch.int8),
                                           new(i, grad_out.dtype) if summing else None,
                                           new(o, grad_out.dtype) if summing else None)
    return buf


def _weight_stats(sink: Sink, sx: torch.Tensor, sd: torch.Tensor, x: torch.Tensor | None, d: torch.Tensor | None) -> None:
    sign_outer_counts(sd, sx, sink.sign["weight"])
    if "weight" in sink.nonzero:
        sign_outer_counts(sd.abs(), sx.abs(), sink.nonzero["weight"])
    if x is not None and d is not None:
        sink.sums["weight"].add_(torch.mm(d.T, x))


def linear_finish(module: nn.Linear, sink: Sink) -> None:
    """Process what is buffered (called when the buffer is full and at the end of the pass)."""
    buf: _Buffers | None = sink.state.get("buf")
    if buf is None or buf.fill == 0:
        return
    f = buf.fill
    _weight_stats(sink, buf.sx[:f], buf.sd[:f], None if buf.x is None else buf.x[:f], None if buf.d is None else buf.d[:f])
    buf.fill = 0


def _two_d(module: nn.Linear, inputs: tuple[torch.Tensor, ...]) -> bool:
    return inputs[0].dim() == 2 and inputs[0].shape[0] < 2 ** 24


@register_fast_kernel(nn.Linear, applies=_two_d, sums=("weight",), finish=linear_finish, nonzero=True)
def linear_fast(module: nn.Linear, inputs: tuple[torch.Tensor, ...], grad_out: torch.Tensor, sink: Sink) -> None:
    x = inputs[0].to(grad_out.dtype)
    n = x.shape[0]
    d2 = row_sq(grad_out)
    sd = torch.sign(grad_out)
    if "weight" in sink.sign:
        sink.sq["weight"] += torch.dot(row_sq(x), d2)
        buf = _buffers(module, x, grad_out, sink)
        summing = "weight" in sink.sums
        if n > buf.sx.shape[0]:  # larger than the buffer: at once
            _weight_stats(sink, torch.sign(x).to(torch.int8), sd.to(torch.int8),
                          x if summing else None, grad_out if summing else None)
        else:
            if buf.fill + n > buf.sx.shape[0]:
                linear_finish(module, sink)
            s = slice(buf.fill, buf.fill + n)
            buf.sx[s].copy_(torch.sign(x))
            buf.sd[s].copy_(sd)
            if summing:
                buf.x[s].copy_(x)
                buf.d[s].copy_(grad_out)
            buf.fill += n
    if "bias" in sink.sign:
        # column sums of sign(Delta) and |sign(Delta)|: exact in float32 (integers below 2**24 per batch)
        sd32 = sd.to(torch.float32)
        sink.sign["bias"].add_(sd32.sum(0).to(torch.int32))
        if "bias" in sink.nonzero:
            sink.nonzero["bias"].add_(sd32.abs().sum(0).to(torch.int32))
        sink.sq["bias"] += d2.sum()


@register_grad_sampler(nn.Linear)
def linear_sampler(module: nn.Linear, inputs: tuple[torch.Tensor, ...], grad_out: torch.Tensor) -> dict[str, torch.Tensor]:
    x = inputs[0].to(grad_out.dtype)
    n = x.shape[0]
    out: dict[str, torch.Tensor] = {}
    if module.weight.requires_grad:
        if x.dim() == 2:
            out["weight"] = grad_out[:, :, None] * x[:, None, :]
        else:
            out["weight"] = torch.bmm(grad_out.reshape(n, -1, grad_out.shape[-1]).transpose(1, 2),
                                      x.reshape(n, -1, x.shape[-1]))
    if module.bias is not None and module.bias.requires_grad:
        out["bias"] = grad_out.reshape(n, -1, grad_out.shape[-1]).sum(1)
    return out
