"""Pruning-at-initialisation scores: SNIP, GraSP and SynFlow (thesis 7.2's "why is random pruning so
effective?", chapter 9). Every function returns ``{parameter name: score tensor of its shape}`` for the
tensors it is asked about, **higher is kept**, as :func:`lib.masks.make_mask` ranks them. Each follows its
authors' published code; :data:`AUTHORS_DEFINITION` says, per method, what it shares with that code and
what still differs (chapter 9 prints it).

``snip_scores(model, x, y)``
    Lee et al. 2019, "SNIP: single-shot network pruning based on connection sensitivity":
    ``|w * dL/dw|`` with ``L`` the cross-entropy summed over the batch ``(x, y)``. SNIP divides by the
    sum of all scores (and its code averages the loss); that changes no ranking, so it is left out.
``grasp_scores(model, x, y)``
    Wang et al. 2020, "Picking winning tickets before training by preserving gradient flow": the logits
    divided by the temperature :data:`GRASP_TEMPERATURE` (200, as the authors' code), ``L`` the summed
    cross-entropy, ``g = dL/dtheta`` (held fixed) and ``H`` the Hessian of ``L``, both over the *whole*
    network's weights ``theta`` (every ``nn.Linear`` and ``nn.Conv2d`` weight, as the authors' code takes
    them: :func:`network_weights`), not only over the tensors being pruned. GraSP's score is
    ``S = -theta * (H g)`` and it removes the weights of largest ``S``; kept first is therefore the largest
    ``theta * (H g)``, which is what this returns. ``H g`` is the gradient of ``g . dL/dtheta`` (a
    Hessian-vector product, no Hessian is formed).
``synflow_scores(model, input_shape, mask=None)``
    Tanaka et al. 2020, "Pruning neural networks without any data by iteratively conserving synaptic
    flow", one round: every parameter and buffer replaced by its absolute value (the network in
    eval mode, in float64 so deep products do not overflow), ``R = sum(f(1))`` for one all-ones input,
    and the score ``|w * dR/dw|``. ``mask`` zeroes pruned weights first. The iterative method
    (rounds at densities ``d^(k/n)``, each on the network pruned by the round before, a pruned weight
    never coming back) needs the mask rules, so it lives in :func:`lib.masks.synflow_iterative`.

The network is scored as it is (its weights are never changed: a copy is scored where needed) and
in train or eval mode as given, except SynFlow, which always scores an eval-mode copy. Which batch
SNIP and GraSP see (GraSP's is class-balanced, as its authors') is chosen by :mod:`lib.masks`.
"""
from __future__ import annotations

import copy
from typing import Mapping, Sequence

import torch
from torch import nn
from torch.nn import functional as F

from .data import flat_targets

Scores = dict[str, torch.Tensor]

#: GraSP's temperature on the logits (Wang et al. 2020's code: ``net(x) / 200``).
GRASP_TEMPERATURE = 200.0

#: Per method: what our scorer shares with its authors' published code (``shares``) and what still differs
#: (``differs``), compared with alecwangcq/GraSP (``pruner/GraSP.py``, ``main_prune_non_imagenet.py``, its
#: CIFAR configs), ganguli-lab/Synaptic-Flow (``Pruners/pruners.py``, ``prune.py``, ``main.py``) and
#: namhoonlee/snip-public (``snip/model.py``, ``snip/prune.py``, ``snip/dataset.py``). Chapter 9 prints it.
AUTHORS_DEFINITION: dict[str, dict[str, str]] = {
    "snip": {
        "shares": "The score |g ⊙ w| of the cross-entropy's gradient on one batch of training images at the "
                  "initialisation, every pruned weight ranked in one order; like the authors we draw no class-balanced "
                  "batch, and their mean loss and division by the sum of scores change no ranking.",
        "differs": "Our batch is the first 256 training images (the authors': one shuffled batch of the training batch "
                   "size, 100 by default, the same in every run), BatchNorm normalises with the batch's statistics "
                   "while scoring (the authors' code runs it in inference mode), and the authors also rank biases. "
                   "In the ResNet and ViT the classifier head, the ViT's patch embedding and tensors under 1,024 "
                   "weights stay unpruned and chapter 6's global ranking keeps at least 2 % of every tensor; the "
                   "authors rank every weight at once, with no floor.",
    },
    "grasp": {
        "shares": "The score -(H g) ⊙ w with the logits divided by a temperature of 200, the gradient g and the "
                  "Hessian-gradient product over every Linear and Conv2d weight of the network (not only the pruned "
                  "ones), on a class-balanced batch, BatchNorm with batch statistics, the largest scores removed.",
        "differs": "Our batch has 256 images, 25 or 26 of each class drawn with the mask's seed (the authors': the "
                   "first 10 of each class from a shuffled loader, 100 images on CIFAR-10, scored in two halves that "
                   "split the classes 0-4 from 5-9, which changes BatchNorm's statistics), and the authors' code "
                   "scores a copy whose Linear weights are redrawn (Xavier normal) where we score the network that "
                   "trains. In the ResNet and ViT the classifier head, the ViT's patch embedding and tensors under "
                   "1,024 weights stay unpruned and chapter 6's global ranking keeps at least 2 % of every tensor; "
                   "the authors rank every Linear and Conv2d weight at once, with no floor.",
    },
    "synflow": {
        "shares": "The score |w ⊙ dR/dw|, R the summed output for one all-ones input of the network with every "
                  "parameter and buffer made positive, in inference mode, over 100 rounds at densities d^(k/100) "
                  "(the exponential schedule), each round on the network pruned by the one before, a pruned weight "
                  "never coming back.",
        "differs": "We compute in float64 (the authors in float32; it changes no ranking unless float32 overflows) "
                   "and each round keeps exactly its count, ties at the cut drawn among weights not yet pruned (the "
                   "authors remove every weight tied at the threshold, so they may keep a few fewer). In the ResNet "
                   "and ViT the classifier head, the ViT's patch embedding and tensors under 1,024 weights stay "
                   "unpruned and chapter 6's global ranking keeps at least 2 % of every tensor in every round; the "
                   "authors rank every Linear and Conv2d weight at once, with no floor.",
    },
}


def _params(model: nn.Module, names: Sequence[str]) -> list[torch.Tensor]:
    params = dict(model.named_parameters())
    missing = [n for n in names if n not in params]
    if missing:
        raise KeyError(f"no parameter(s) {missing} in the model; it has {list(params)[:8]}...")
    return [params[n] for n in names]


def summed_loss(model: nn.Module, x: torch.Tensor, y: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
    """Cross-entropy of ``model(x) / temperature`` against ``y``, summed over the batch (over every position of
    text windows, :func:`lib.data.flat_targets`)."""
    if len(x) != len(y) or len(x) == 0:
        raise ValueError(f"need a non-empty batch with one label per input, got {len(x)} inputs and {len(y)} labels")
    return F.cross_entropy(*flat_targets(model(x) / temperature, y), reduction="sum")


def snip_scores(model: nn.Module, x: torch.Tensor, y: torch.Tensor, names: Sequence[str]) -> Scores:
    """SNIP's connection sensitivity ``|w * dL/dw|`` of the tensors ``names`` on the batch ``(x, y)``."""
    ws = _params(model, names)
    grads = torch.autograd.grad(summed_loss(model, x, y), ws)
    return {n: (w * g).detach().abs() for n, w, g in zip(names, ws, grads)}


def network_weights(model: nn.Module) -> list[str]:
    """Names of every ``nn.Linear`` and ``nn.Conv2d`` weight of ``model``, in its order: the "whole network"
    over which GraSP's authors take the gradient and the Hessian-gradient product (their code's ``weights``;
    biases, norms and embeddings are not among them)."""
    return [f"{n}.weight" if n else "weight" for n, m in model.named_modules() if isinstance(m, (nn.Linear, nn.Conv2d))]


def grasp_scores(model: nn.Module, x: torch.Tensor, y: torch.Tensor, names: Sequence[str], *,
                 temperature: float = GRASP_TEMPERATURE, gradient_of: Sequence[str] | None = None) -> Scores:
    """GraSP's gradient-flow score, negated so that higher is kept: ``w * (H g)`` of the tensors ``names`` on
    the batch ``(x, y)``, the logits divided by ``temperature``, ``g`` and ``H g`` over the tensors
    ``gradient_of`` (None: :func:`network_weights`, the whole network's, as the authors' code; ``names`` are
    added where missing). See the module docstring."""
    if not temperature > 0:
        raise ValueError(f"temperature must be > 0, got {temperature!r}")
    wrt = list(network_weights(model) if gradient_of is None else gradient_of)
    wrt += [n for n in names if n not in wrt]
    ws = _params(model, wrt)
    g = [t.detach() for t in torch.autograd.grad(summed_loss(model, x, y, temperature), ws)]
    grads = torch.autograd.grad(summed_loss(model, x, y, temperature), ws, create_graph=True)
    hg = torch.autograd.grad(sum((a * b).sum() for a, b in zip(g, grads)), ws, allow_unused=True)
    out = {n: (w * h).detach() if h is not None else torch.zeros_like(w).detach() for n, w, h in zip(wrt, ws, hg)}
    return {n: out[n] for n in names}


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
