"""Small numerical helpers shared by the kernels and the accumulator.

Reductions are written as matrix products (BLAS) where they can be: on CPUs ``sum`` with a float64
accumulator (``x.square().sum(dtype=float64)``) is tens of times slower, and a single float32 dot
product over millions of entries loses digits (relative error ~1e-3 measured on 5e7 entries).
"""
from __future__ import annotations

import torch

BLOCK = 4096


def sq_sum(x: torch.Tensor) -> torch.Tensor:
    """sum of x**2 over all entries as a float64 0-d tensor: float32 dot products over blocks of
    4096 entries (error ~1e-7 each), added in float64 (measured error ~4e-9 on 5e7 entries)."""
    flat = x.reshape(-1)
    if flat.dtype == torch.float64:
        return torch.dot(flat, flat)
    if flat.dtype != torch.float32:
        flat = flat.float()
    m = flat.numel() // BLOCK * BLOCK
    total = torch.zeros((), dtype=torch.float64, device=flat.device)
    if m:
        blk = flat[:m].view(-1, 1, BLOCK)
        total += torch.bmm(blk, blk.transpose(1, 2)).sum(dtype=torch.float64)
    if m < flat.numel():
        rest = flat[m:]
        total += torch.dot(rest, rest).double()
    return total


def row_sq(x: torch.Tensor) -> torch.Tensor:
    """Per-row sums of squares of a 2-D tensor (n, p), as float64 (n,): one batched dot product per
    row, accumulated in the input's precision (p is a layer width: small enough)."""
    if x.dtype not in (torch.float32, torch.float64):
        x = x.float()
    return torch.bmm(x.unsqueeze(1), x.unsqueeze(2)).reshape(-1).to(torch.float64)
