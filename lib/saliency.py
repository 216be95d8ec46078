"""Pruning-at-initialisation scores: SNIP, GraSP and SynFlow (thesis 7.2's "why is random pruning so
effective?", chapter 9). Every function returns ``{parameter name: score tensor of its shape}`` for the
tensors it is asked about, **higher is kept**, as :func:`lib.masks.make_mask` ranks them.

``snip_scores(model, x, y)``
    Lee et al. 2019, "SNIP: single-shot network pruning based on connection sensitivity":
    ``|w * dL/dw|`` with ``L`` the cross-entropy summed over the batch ``(x, y)``. SNIP divides by the
    sum of all scores; that changes no ranking, so it is left out.
``grasp_scores(model, x, y)``
    Wang et al. 2020, "Picking winning tickets before training by preserving gradient flow": with
    ``g = dL/dw`` (held fixed) and ``H`` the Hessian of ``L``, GraSP's score is ``S = -w * (H g)`` and it
    removes the weights of largest ``S``. Kept first is therefore the largest ``w * (H g)``, which is
    what this returns. ``H g`` is the gradient of ``g . dL/dw`` (a Hessian-vector product, no Hessian
    is formed). GraSP's temperature on the logits is 1 here.
``synflow_scores(model, input_shape, mask=None)``
    Tanaka et al. 2020, "Pruning neural networks without any data by iteratively conserving synaptic
    flow", one round: every parameter and buffer replaced by its absolute value (the network in
    eval mode, in float64 so deep products do not overflow), ``R = sum(f(1))`` for one all-ones input,
    and the score ``|w * dR/dw|``. ``mask`` zeroes pruned weights first. The iterative method
    (rounds at densities ``d^(k/n)``, each on the network pruned by the round before) needs the mask
    rules, so it lives in :func:`lib.masks.synflow_iterative`.

The network is scored as it is (its weights are never changed: a copy is scored where needed) and
in train or eval mode as given, except SynFlow, which always scores an eval-mode copy.
"""
from __future__ import annotations

import copy
from typing import Mapping, Sequence

import torch
from torch import nn
from torch.nn import functional as F

Scores = dict[str, torch.Tensor]


def _params(model: nn.Module, names: Sequence[str]) -> list[torch.Tensor]:
    params = dict(model.named_parameters())
    missing = [n for n in names if n not in params]
    if missing:
        raise KeyError(f"no parameter(s) {missing} in the model; it has {list(params)[:8]}...")
    return [params[n] for n in names]


def summed_loss(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of ``model(x)`` against ``y``, summed over the batch."""
    if len(x) != len(y) or len(x) == 0:
        raise ValueError(f"need a non-empty batch with one label per input, got {len(x)} inputs and {len(y)} labels")
    return F.cross_entropy(model(x), y, reduction="sum")


def snip_scores(model: nn.Module, x: torch.Tensor, y: torch.Tensor, names: Sequence[str]) -> Scores:
    """SNIP's connection sensitivity ``|w * dL/dw|`` of the tensors ``names`` on the batch ``(x, y)``."""
    ws = _params(model, names)
    grads = torch.autograd.grad(summed_loss(model, x, y), ws)
    return {n: (w * g).detach().abs() for n, w, g in zip(names, ws, grads)}


def grasp_scores(model: nn.Module, x: torch.Tensor, y: torch.Tensor, names: Sequence[str]) -> Scores:
    """GraSP's gradient-flow score, negated so that higher is kept: ``w * (H g)`` of the tensors ``names``
    on the batch ``(x, y)`` (see the module docstring)."""
    ws = _params(model, names)
    g = [t.detach() for t in torch.autograd.grad(summed_loss(model, x, y), ws)]
    grads = torch.autograd.grad(summed_loss(model, x, y), ws, create_graph=True)
    hg = torch.autograd.grad(sum((a * b).sum() for a, b in zip(g, grads)), ws)
    return {n: (w * h).detach() for n, w, h in zip(names, ws, hg)}


def synflow_scores(model: nn.Module, input_shape: Sequence[int], names: Sequence[str],
                   mask: Mapping[str, torch.Tensor] | None = None) -> Scores:
    """One round of SynFlow: ``|w * dR/dw|`` of the tensors ``names``, ``R = sum(f(1))`` on the network with
    every parameter and buffer made positive (see the module docstring); ``mask`` zeroes pruned entries
    first. ``input_shape``: one input's shape, without the batch dimension. Scores are float64."""
    net = copy.deepcopy(model).double().eval()
    with torch.no_grad():
        for t in (*net.parameters(), *net.buffers()):
            if torch.is_floating_point(t):
                t.abs_()
        for n, m in (mask or {}).items():
            dict(net.named_parameters())[n].mul_(m.to(torch.float64))
    ws = _params(net, names)
    out = net(torch.ones(1, *input_shape, dtype=torch.float64))
    grads = torch.autograd.grad(out.sum(), ws)
    return {n: (w * g).detach().abs() for n, w, g in zip(names, ws, grads)}
