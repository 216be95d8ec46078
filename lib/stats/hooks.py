"""The ``fast`` backend: one ordinary forward/backward per batch, with per-layer hooks.

Every module that owns trainable parameters is a *unit*. A forward hook keeps the unit's inputs and
puts a tensor hook on its output; when backward reaches that output the hook has dL/dy, and the
unit's statistics for the batch come from

* its fast kernel (a closed form, e.g. ``nn.Linear`` on 2-D inputs), where one applies (and, when
  nonzero counts are asked for, can count them); the batch's gradient sum is then the ordinary
  gradient of the summed loss, requested from autograd;
* otherwise its grad sampler, applied chunk by chunk (chunks sized from the memory budget), or
  ``torch.func`` on the module for a type without one; the gradient sum is the sum of the chunk's
  per-sample gradients, so autograd is not asked for these parameters' gradients at all: it only
  propagates dL/dy, down to the output of the first such unit to run, whose gradient the backward
  requests (that makes it pass every later unit's output).

A unit that backward did not reach that way (its output does not depend on that first output, or
that output was modified in place) is reached by a second forward and backward on its own
parameters, with the hooks serving only such units (rare; the graph is not retained for it). Statistics are computed inside backward, so each layer's
dL/dy is freed at once. No ``.grad`` field is touched.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any, Iterator

import torch
from torch import nn

from .base import Accumulator, GradStats, UnsupportedModel, check_loss, per_sample_ce, to_model
from .kernels.generic import functorch_sampler
from .registry import FAST_KERNELS, GRAD_SAMPLERS, FastSpec, SamplerSpec, Sink, find


@dataclass(eq=False)
class Unit:
    module: nn.Module
    name: str
    canon: dict[str, str]  # local parameter name -> name in model.named_parameters()
    params: list[nn.Parameter]
    spec: SamplerSpec | None  # None: torch.func on the module (unregistered type)
    fast: FastSpec | None
    sink: Sink
    per_sample_bytes: int
    autograd: list[tuple[str, nn.Parameter]] = field(default_factory=list)  # fast path: sums from autograd
    calls: int = 0
    use_fast: bool = False
    inputs: tuple | None = None  # set by the forward hook, cleared once the unit's stats are in
    versions: list[int] = field(default_factory=list)


def plan_units(model: nn.Module, params: dict[str, nn.Parameter], acc: Accumulator, budget: int) -> list[Unit]:
    """The modules that own the trainable parameters, each with the accumulator slots it fills
    (fast kernels share ``budget`` bytes for their buffers). When ``acc`` keeps nonzero counts, a fast
    kernel that cannot add them is left out (the unit uses its grad sampler)."""
    canon_of = {id(p): k for k, p in params.items()}
    units: list[Unit] = []
    seen: dict[int, str] = {}

    def make(mod: nn.Module, prefix: str, owned: list[tuple[str, nn.Parameter]], spec: SamplerSpec | None) -> None:
        canon = {}
        for local, p in owned:
            if id(p) in seen:
                raise UnsupportedModel(f"parameter {prefix + local} is shared with {seen[id(p)]}; per-layer hooks "
                                       "cannot add a shared parameter's per-sample gradients")
            seen[id(p)] = prefix + local
            canon[local] = canon_of[id(p)]
        fast = find(FAST_KERNELS, mod) if spec else None
        if fast is not None and acc.nz and not fast.nonzero:
            fast = None
        # on the fast path the kernel sums the gradients it can, autograd the others (at least one
        # parameter per unit goes to autograd, which makes the backward reach the unit's output)
        delegated = [lo for lo in (fast.sums if fast else ()) if lo in canon]
        to_autograd = [lo for lo in canon if lo not in delegated]
        if not to_autograd and delegated:
            to_autograd.append(delegated.pop(0))
        sink = Sink({lo: acc.count[c] for lo, c in canon.items()}, {lo: acc.sq[c] for lo, c in canon.items()},
                    {lo: acc.partial[canon[lo]] for lo in delegated},
                    nonzero={lo: acc.nz[c] for lo, c in canon.items() if c in acc.nz})
        by_local = dict(owned)
        nbytes = sum(p.numel() * p.element_size() for _, p in owned)
        units.append(Unit(mod, prefix.rstrip(".") or "<root>", canon, [p for _, p in owned], spec, fast, sink,
                          3 * nbytes if spec else 6 * nbytes, [(canon[lo], by_local[lo]) for lo in to_autograd]))

    def visit(mod: nn.Module, prefix: str) -> None:
        direct = [(k, p) for k, p in mod.named_parameters(recurse=False) if p.requires_grad]
        spec = find(GRAD_SAMPLERS, mod)
        if spec is None and direct:
            make(mod, prefix, [(k, p) for k, p in mod.named_parameters(remove_duplicate=False) if p.requires_grad], None)
            return
        if direct:
            make(mod, prefix, direct, spec)
        for cname, child in mod.named_children():
            visit(child, f"{prefix}{cname}.")

    visit(model, "")
    n_fast = sum(u.fast is not None for u in units)
    for u in units:
        u.sink.budget = budget // max(1, n_fast)
    return units


class HookEngine:
    def __init__(self, model: nn.Module, params: dict[str, nn.Parameter], acc: Accumulator, budget: int):
        self.model, self.acc, self.budget = model, acc, budget
        self.units = plan_units(model, params, acc, budget)
        self.active = False
        self.handles: list[Any] = []
        self.seen = 0
        self.first_slow: torch.Tensor | None = None  # output of the first unit to run on the sampler path
        self.only: set[int] | None = None  # ids of the units the hooks serve (None: all)

    def __enter__(self) -> "HookEngine":
        for u in self.units:
            self.handles.append(u.module.register_forward_hook(lambda m, a, o, u=u: self._forward(u, a, o)))
        return self

    def __exit__(self, *exc: Any) -> None:
        for h in self.handles:
            h.remove()
        self.handles.clear()
        for u in self.units:
            u.inputs = None

    def _forward(self, u: Unit, args: tuple, output: Any) -> None:
        if not self.active or not torch.is_grad_enabled() or (self.only is not None and id(u) not in self.only):
            return
        u.calls += 1
        if u.calls > 1:
            raise UnsupportedModel(f"module {u.name} ({type(u.module).__name__}) runs more than once per forward")
        if not isinstance(output, torch.Tensor):
            raise UnsupportedModel(f"module {u.name} ({type(u.module).__name__}) returns {type(output).__name__}, "
                                   "not one tensor")
        if not output.requires_grad:
            return
        u.inputs = args
        u.versions = [a._version if isinstance(a, torch.Tensor) else 0 for a in args]
        u.use_fast = u.fast is not None and u.fast.applies(u.module, args)
        if not u.use_fast and self.first_slow is None:
            self.first_slow = output
        output.register_hook(lambda g, u=u: self._backward(u, g))

    def _backward(self, u: Unit, grad_out: torch.Tensor) -> None:
        inputs, u.inputs = u.inputs, None
        if inputs is None:  # already done (a second backward passing through again)
            return
        for a, v in zip(inputs, u.versions):
            if isinstance(a, torch.Tensor) and a._version != v:
                raise UnsupportedModel(f"the input of module {u.name} was modified in place after it ran")
        if u.use_fast:
            u.fast.fn(u.module, inputs, grad_out, u.sink)
            return
        n = grad_out.shape[0]
        fn = u.spec.fn if u.spec is not None else functorch_sampler
        per = u.per_sample_bytes
        if u.spec is not None and u.spec.workspace is not None:
            per += u.spec.workspace(u.module, inputs, grad_out)
        chunk = max(1, min(n, self.budget // max(1, per)))
        for s in range(0, n, chunk):
            sl = tuple(a[s:s + chunk] if isinstance(a, torch.Tensor) else a for a in inputs)
            grads = fn(u.module, sl, grad_out[s:s + chunk])
            for local, g in grads.items():
                if local in u.canon:
                    self.acc.add_per_sample(u.canon[local], g, with_sum=True)

    def _run(self, x: torch.Tensor) -> torch.Tensor:
        for u in self.units:
            u.calls, u.inputs, u.use_fast = 0, None, False
        self.first_slow = None
        self.active = True
        try:
            return self.model(x)
        finally:
            self.active = False

    def batch(self, x: torch.Tensor, y: torch.Tensor) -> None:
        losses = per_sample_ce(self._run(x), y)
        check_loss(losses, self.seen)
        self.acc.begin_batch(x.shape[0])
        fast = [u for u in self.units if u.inputs is not None and u.use_fast]
        slow = [u for u in self.units if u.inputs is not None and not u.use_fast]
        wanted = [cp for u in fast for cp in u.autograd]
        inputs = [p for _, p in wanted]
        if self.first_slow is not None:
            inputs.append(self.first_slow)
        if inputs:
            grads = torch.autograd.grad(losses.sum(), inputs, allow_unused=True)
            for (name, _), g in zip(wanted, grads):
                if g is not None:
                    self.acc.add_grad_sum(name, g)
        self.first_slow = None
        missing = [u for u in slow if u.inputs is not None]  # not reached by that backward
        if missing:  # rare: forward again serving only these units, backward on their parameters
            self.only = {id(u) for u in missing}
            try:
                loss = per_sample_ce(self._run(x), y).sum()
                torch.autograd.grad(loss, [p for u in missing for p in u.params], allow_unused=True)
            finally:
                self.only = None
        self.seen += x.shape[0]

    def finish(self) -> None:
        """End of the pass: kernels that buffer process what they hold."""
        for u in self.units:
            if u.fast is not None and u.fast.finish is not None:
                u.fast.finish(u.module, u.sink)


def run_hooks(model: nn.Module, params: dict[str, nn.Parameter], batches: Iterator, budget: int,
              bar: Any, counts: bool = False) -> GradStats:
    """The ``fast`` backend (with ``counts``: sign sums and nonzero counts too). A model the engine
    cannot split into layers (found while planning or on a batch) raises
    :class:`~lib.stats.base.UnsupportedModel` carrying the batches not yet consumed."""
    ref = next(iter(params.values()))
    it = iter(batches)
    first = next(it)
    done = 0
    try:
        acc = Accumulator(params, counts=counts)
        with HookEngine(model, params, acc, budget) as eng:
            for x, y in itertools.chain([first], it):
                eng.batch(*to_model(x, y, ref))
                done += 1
                bar.update(x.shape[0])
            eng.finish()
    except UnsupportedModel as exc:
        exc.done = done
        exc.batches = itertools.chain([first], it) if done == 0 else None
        raise
    return acc.result("fast")
