"""Sparse kernels for masked ``nn.Linear`` layers: children of pruning experiments train faster.

A child keeps a fraction of its parent's weights and holds the rest at zero (:mod:`lib.train`). On
the masked dense path every product, and the optimiser, still runs over the full matrices, so a
child keeping 10 % of a width-1370 MLP costs as much as its parent. Here a masked ``nn.Linear``
becomes a :class:`SparseLinear`: its kept weights are one dense 1-D parameter ``values`` (in the
row-major order of the mask's True entries) on a fixed CSR index, and

* forward: ``y = x W^T + b`` as one CSR product (``torch.addmm(b, W_csr, x^T)``);
* input gradient: ``W^T g`` with the transposed pattern (a second fixed CSR index; its values are
  ``values[perm]``);
* weight gradient: only on the pattern, ``torch.sparse.sampled_addmm(pattern, g^T, x)``;
* bias gradient: ``g.sum(0)``, as dense autograd.

The optimiser sees ``values`` (and the shared bias), so its state exists only for kept weights.
That gives the same update as the masked dense path: a masked entry's gradient is zero there, so
its Adam moments and SGD momentum stay zero and its update is zero; for a kept entry Adam and SGD
are the same elementwise arithmetic on the same numbers. The only difference between the two
paths is the order in which products are summed (float rounding): ``tests/test_sparse.py`` trains
a child both ways and compares the losses.

:class:`SparseLayers` swaps chosen layers of a model in place and back. The dense ``nn.Linear``
objects stay alive (their bias is the very parameter the sparse layer trains), so the model can be
shown as an ordinary network whenever something needs one (callbacks, checkpoints, the final
``model.pt``): :meth:`SparseLayers.dense` writes the kept values into the dense weights (zeros
elsewhere) and puts the ``nn.Linear`` back; :meth:`SparseLayers.sparse` gathers them again;
``with layers.as_dense():`` shows the ordinary network for the block and goes sparse again after,
so there is one state-dict format, the dense one (:mod:`lib.train` reads and loads weights only
inside it). :func:`to_dense_state_dict` gives a model's state dict in the dense format either way.

Which layers run sparse (:func:`choose`): ``BOOK_SPARSE`` (environment) ``0`` = none, ``1`` = every
masked ``nn.Linear`` asked about, ``auto`` (default) = those whose measured training step
(:func:`faster`: a few interleaved steps of one layer both ways, once per shape in a process) takes
under :data:`MARGIN` of the masked dense one. The choice is not part of a run's hash: both paths give
the same run within float tolerance. ``benchmarks/sparse_children.py`` times whole child epochs.
"""
from __future__ import annotations

import math
import time
import warnings
from contextlib import contextmanager
from typing import Any, Iterator, Mapping

import torch
from torch import nn

from . import settings

#: ``BOOK_SPARSE`` values: force the masked dense path, force sparse kernels, or measure.
MODES = settings.SPARSE_MODES
#: ``auto`` never tries the sparse kernels above this density or below this many weights (where they
#: cannot win, or the per-call overhead decides: measured on 2 cores, a 64 x 64 or 10 x 1370 layer at
#: 10 % kept trains faster masked dense, 256 x 256 is a tie, 64 x 3072 is 1.3x faster sparse).
MAX_DENSITY = 0.5
MIN_WEIGHTS = 32768
#: ``auto`` runs a layer sparse when its measured step time is below MARGIN x the dense one.
MARGIN = 0.9

# torch warns once per process that CSR tensors are "beta"; the kernels used here are tested
# (tests/test_sparse.py), so the one warning is spent here, silenced
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    torch.sparse_csr_tensor(torch.zeros(2, dtype=torch.int64), torch.zeros(0, dtype=torch.int64), torch.zeros(0), (1, 1))


# ------------------------------------------------------------------------------ the autograd Function
class _SparseLinearFn(torch.autograd.Function):
    """``y = x W^T + b`` with ``W`` given by ``layer``'s pattern and the kept ``values``."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, values: torch.Tensor, bias: torch.Tensor | None,
                layer: "SparseLinear") -> torch.Tensor:
        x2 = x.reshape(-1, layer.in_features)
        xt = x2.t().contiguous()  # (in, B); free when x came from another SparseLinear
        w = layer.csr(values)
        yt = w @ xt if bias is None else torch.addmm(bias.unsqueeze(1), w, xt)  # (out, B)
        ctx.save_for_backward(x2, values)
        ctx.layer, ctx.x_shape, ctx.has_bias = layer, x.shape, bias is not None
        return yt.t().reshape(*x.shape[:-1], layer.out_features)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx: Any, gy: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        x2, values = ctx.saved_tensors
        layer: SparseLinear = ctx.layer
        g2 = gy.reshape(-1, layer.out_features)
        gt = g2.t().contiguous()  # (out, B)
        gx = gv = gb = None
        if ctx.needs_input_grad[0]:
            gx = (layer.csr_t(values) @ gt).t().reshape(ctx.x_shape)
        if ctx.needs_input_grad[1]:
            # beta=0 still multiplies the input's values (a NaN there would leak): give it zeros
            gv = torch.sparse.sampled_addmm(layer.csr(torch.zeros_like(values)), gt, x2, beta=0.0).values()
        if ctx.has_bias and ctx.needs_input_grad[2]:
            gb = g2.sum(0)
        return gx, gv, gb, None


def sparse_linear(x: torch.Tensor, values: torch.Tensor, bias: torch.Tensor | None, layer: "SparseLinear") -> torch.Tensor:
    """``x W^T + b`` for ``W`` on ``layer``'s pattern with kept entries ``values`` (differentiable in
    ``x``, ``values`` and ``bias``)."""
    return _SparseLinearFn.apply(x, values, bias, layer)


# ---------------------------------------------------------------------------------- the layer
class SparseLinear(nn.Module):
    """A linear layer whose weight exists only where ``keep`` is True (``keep``: bool, (out, in)).

    Parameters: ``values`` (the kept weights, row-major order of ``keep``'s True entries) and
    ``bias`` (the very parameter passed in, usually the dense layer's, so both share it). The index
    tensors are non-persistent buffers: they move with ``.to(device)`` and stay out of the state dict.
    """

    def __init__(self, keep: torch.Tensor, values: torch.Tensor, bias: nn.Parameter | None):
        super().__init__()
        if keep.dim() != 2 or keep.dtype != torch.bool:
            raise ValueError(f"keep must be a 2-D bool tensor, got {keep.dtype} {tuple(keep.shape)}")
        self.out_features, self.in_features = keep.shape
        flat = keep.reshape(-1).nonzero().squeeze(1).to(values.device)
        if values.shape != flat.shape:
            raise ValueError(f"values has {values.numel()} entries, keep has {flat.numel()} True entries")
        rows, cols = flat // self.in_features, flat % self.in_features
        perm = torch.argsort(cols * self.out_features + rows)  # the transposed pattern's order
        for name, t in {"flat": flat, "col": cols, "perm": perm, "col_t": rows[perm],
                        "crow": _crow(rows, self.out_features), "crow_t": _crow(cols, self.in_features)}.items():
            self.register_buffer(name, t, persistent=False)
        self.values = nn.Parameter(values)
        self.bias = bias

    @classmethod
    def from_linear(cls, linear: nn.Linear, keep: torch.Tensor) -> "SparseLinear":
        """The sparse layer of ``linear`` masked by ``keep`` (its weights outside ``keep`` are dropped;
        the bias is shared, not copied)."""
        keep = keep.to(linear.weight.device, torch.bool)
        if keep.shape != linear.weight.shape:
            raise ValueError(f"keep {tuple(keep.shape)} does not fit the weight {tuple(linear.weight.shape)}")
        values = linear.weight.detach().reshape(-1)[keep.reshape(-1)].clone()
        return cls(keep, values, linear.bias)

    def csr(self, values: torch.Tensor) -> torch.Tensor:
        """``W`` as a CSR tensor (out, in) with entries ``values`` on the pattern."""
        return torch.sparse_csr_tensor(self.crow, self.col, values, (self.out_features, self.in_features),
                                       check_invariants=False)

    def csr_t(self, values: torch.Tensor) -> torch.Tensor:
        """``W^T`` as a CSR tensor (in, out)."""
        return torch.sparse_csr_tensor(self.crow_t, self.col_t, values[self.perm],
                                       (self.in_features, self.out_features), check_invariants=False)

    @torch.no_grad()
    def dense_weight(self) -> torch.Tensor:
        """The full (out, in) weight: ``values`` on the pattern, exact zeros elsewhere (a new tensor)."""
        w = self.values.new_zeros(self.out_features * self.in_features)
        w[self.flat] = self.values
        return w.view(self.out_features, self.in_features)

    @torch.no_grad()
    def to_linear(self, linear: nn.Linear | None = None) -> nn.Linear:
        """``linear`` (or a new ``nn.Linear`` sharing this bias) with its weight set to :meth:`dense_weight`."""
        if linear is None:
            linear = nn.Linear(self.in_features, self.out_features, bias=self.bias is not None,
                               device=self.values.device, dtype=self.values.dtype)
            if self.bias is not None:
                linear.bias = self.bias
        linear.weight.copy_(self.dense_weight())
        return linear

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return sparse_linear(x, self.values, self.bias, self)

    def extra_repr(self) -> str:
        n = self.out_features * self.in_features
        return (f"in_features={self.in_features}, out_features={self.out_features}, kept={self.values.numel()} "
                f"({self.values.numel() / max(1, n):.1%}), bias={self.bias is not None}")


def _crow(rows: torch.Tensor, n_rows: int) -> torch.Tensor:
    """CSR row pointers of sorted row indices ``rows``."""
    crow = torch.zeros(n_rows + 1, dtype=torch.int64, device=rows.device)
    crow[1:] = torch.cumsum(torch.bincount(rows, minlength=n_rows), 0)
    return crow


# ----------------------------------------------------------------------- swapping layers of a model
def _module_name(weight_name: str) -> str:
    if not weight_name.endswith(".weight"):
        raise ValueError(f"{weight_name!r} is not the weight of a submodule")
    return weight_name[: -len(".weight")]


def _set_submodule(model: nn.Module, name: str, module: nn.Module) -> None:
    parent, _, leaf = name.rpartition(".")
    setattr(model.get_submodule(parent), leaf, module)


class SparseLayers:
    """Runs chosen masked ``nn.Linear`` layers of ``model`` as :class:`SparseLinear`, in place.

    keep: ``{weight name ("1.weight"): bool mask}``, one entry per layer to run sparse; each must be
    the weight of an ``nn.Linear`` (exactly that type). The model is left in the sparse state.
    """

    def __init__(self, model: nn.Module, keep: Mapping[str, torch.Tensor]):
        self.model = model
        self.layers: dict[str, tuple[nn.Linear, SparseLinear]] = {}
        for weight_name, k in keep.items():
            name = _module_name(weight_name)
            linear = model.get_submodule(name)
            if type(linear) is not nn.Linear:
                raise TypeError(f"{name!r} is a {type(linear).__name__}, not an nn.Linear: only those run sparse")
            self.layers[name] = (linear, SparseLinear.from_linear(linear, k))
        self.is_sparse = False
        self.sparse()

    @property
    def names(self) -> list[str]:
        """The weight names of the layers run sparse, in the order given."""
        return [f"{n}.weight" for n in self.layers]

    @torch.no_grad()
    def sparse(self) -> None:
        """Put the sparse layers in, their ``values`` gathered from the dense weights (in place: an
        optimiser holding ``values`` keeps working)."""
        for name, (linear, sp) in self.layers.items():
            sp.values.copy_(linear.weight.reshape(-1)[sp.flat])
            sp.train(linear.training)
            _set_submodule(self.model, name, sp)
        self.is_sparse = True

    @torch.no_grad()
    def dense(self) -> None:
        """Put the ``nn.Linear`` layers back, their weights set from ``values`` (zeros off the pattern)."""
        for name, (linear, sp) in self.layers.items():
            if self.is_sparse:
                sp.to_linear(linear)
                linear.train(sp.training)
            _set_submodule(self.model, name, linear)
        self.is_sparse = False

    @contextmanager
    def as_dense(self) -> Iterator[nn.Module]:
        """The model as an ordinary network while inside (:meth:`dense`), and as it was after: back on
        the sparse layers, their ``values`` gathered from the dense weights, so whatever was done to the
        weights inside (loading a state dict) is kept, and ``values`` stays the optimiser's parameter.
        Its state dict inside is the one format callbacks, checkpoints and ``model.pt`` share."""
        was = self.is_sparse
        self.dense()
        try:
            yield self.model
        finally:
            if was:
                self.sparse()


def to_dense_state_dict(model: nn.Module) -> dict[str, torch.Tensor]:
    """``model.state_dict()`` with every :class:`SparseLinear`'s ``values`` replaced by the full
    ``weight`` (zeros off the pattern), in the same position: the keys, order and shapes of the model
    with ``nn.Linear`` layers (``model.pt``'s format)."""
    sparse = {n: m for n, m in model.named_modules() if isinstance(m, SparseLinear)}
    out: dict[str, torch.Tensor] = {}
    for k, v in model.state_dict().items():
        prefix, _, leaf = k.rpartition(".")
        if leaf == "values" and prefix in sparse:
            out[f"{prefix}.weight"] = sparse[prefix].dense_weight()
        else:
            out[k] = v
    return out


# ------------------------------------------------------------------------------- choosing by speed
def mode() -> str:
    """``BOOK_SPARSE`` (environment): ``0``, ``1`` or ``auto`` (default)."""
    return settings.sparse_mode()


def density_bucket(density: float) -> float:
    """``density`` rounded to the nearest power of 2^(1/4) (buckets about 19 % wide)."""
    return 2.0 ** (round(math.log2(max(density, 1e-6)) * 4) / 4)


_FASTER: dict[tuple, bool] = {}


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _optimizer(name: str, params: Any) -> torch.optim.Optimizer:
    if name not in ("sgd", "adam"):
        raise ValueError(f"optim must be 'sgd' or 'adam', got {name!r}")
    return (torch.optim.SGD if name == "sgd" else torch.optim.Adam)(params, lr=1e-6)


def step_seconds(shape: tuple[int, int], density: float, batch: int, *, input_grad: bool = True,
                 optim: str = "adam", device: torch.device | str = "cpu", dtype: torch.dtype = torch.float32,
                 repeats: int = 3, steps: int = 1) -> tuple[float, float]:
    """(dense, sparse) median seconds of one training step of one masked layer (out, in) = ``shape``
    at ``density`` on ``batch`` rows: forward, backward, optimiser step, and on the dense path the
    two mask multiplications of :mod:`lib.train`. Random data and mask; the global RNG is untouched."""
    device = torch.device(device)
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        gen = torch.Generator().manual_seed(0)
        keep = (torch.rand(shape, generator=gen) < density).to(device)
        dense = nn.Linear(shape[1], shape[0], device=device, dtype=dtype)
        m = keep.to(dtype)
        with torch.no_grad():
            dense.weight.mul_(m)
        sp = SparseLinear.from_linear(nn.Linear(shape[1], shape[0], device=device, dtype=dtype), keep)
        x = torch.randn(batch, shape[1], generator=gen).to(device, dtype).requires_grad_(input_grad)
        gy = torch.randn(batch, shape[0], generator=gen).to(device, dtype)
        opt_d, opt_s = _optimizer(optim, dense.parameters()), _optimizer(optim, sp.parameters())

        def step_dense() -> None:
            dense(x).backward(gy)
            with torch.no_grad():
                dense.weight.grad.mul_(m)
                opt_d.step()
                dense.weight.mul_(m)
            opt_d.zero_grad(set_to_none=True)
            x.grad = None

        def step_sparse() -> None:
            sp(x).backward(gy)
            opt_s.step()
            opt_s.zero_grad(set_to_none=True)
            x.grad = None

        def timed(fn: Any) -> float:
            _sync(device)
            t = time.perf_counter()
            for _ in range(steps):
                fn()
            _sync(device)
            return (time.perf_counter() - t) / steps

        step_dense()  # warm-up
        step_sparse()
        times: dict[Any, list[float]] = {step_dense: [], step_sparse: []}
        for r in range(repeats):  # interleaved, alternating which goes first
            for fn in ((step_dense, step_sparse) if r % 2 == 0 else (step_sparse, step_dense)):
                times[fn].append(timed(fn))
    med = {fn: sorted(v)[len(v) // 2] for fn, v in times.items()}
    return med[step_dense], med[step_sparse]


def faster(shape: tuple[int, int], density: float, batch: int, *, input_grad: bool = True, optim: str = "adam",
           device: torch.device | str = "cpu", dtype: torch.dtype = torch.float32) -> bool:
    """Whether the sparse kernels train a layer of ``shape`` (out, in) at ``density`` on ``batch``
    rows at least 1/:data:`MARGIN` times faster than the masked dense path (:func:`step_seconds` at
    the density's bucket, :func:`density_bucket`). Measured once per (shape, bucket, batch, input
    gradient, optimiser, device, dtype, torch threads) in this process, then cached. False without
    measuring above :data:`MAX_DENSITY` or below :data:`MIN_WEIGHTS` weights, or when the sparse
    kernels fail on this device."""
    if density > MAX_DENSITY or shape[0] * shape[1] < MIN_WEIGHTS:
        return False
    device = torch.device(device)
    bucket = density_bucket(density)
    key = (tuple(shape), bucket, batch, input_grad, optim, str(device), dtype, torch.get_num_threads())
    if key not in _FASTER:
        try:
            t_dense, t_sparse = step_seconds(tuple(shape), bucket, batch, input_grad=input_grad, optim=optim,
                                             device=device, dtype=dtype)
            _FASTER[key] = t_sparse < MARGIN * t_dense
        except Exception as exc:  # e.g. a device or dtype without these sparse kernels: never stop a run
            warnings.warn(f"sparse kernels unavailable ({type(exc).__name__}: {exc}); masked dense layers")
            _FASTER[key] = False
    return _FASTER[key]


def choose(model: nn.Module, keep: Mapping[str, torch.Tensor], *, batch: int, optim: str = "adam",
           device: torch.device | str = "cpu") -> list[str]:
    """The weight names of ``keep`` to run on sparse kernels, by ``BOOK_SPARSE`` (:func:`mode`):
    ``0`` none, ``1`` every masked ``nn.Linear``, ``auto`` those :func:`faster` picks. Only weights of
    exact ``nn.Linear`` modules are considered (convolutions and anything else stay dense). The
    model's first parameterised module is measured without an input gradient (it sees the data)."""
    m = mode()
    if m == "0":
        return []
    modules = dict(model.named_modules())
    first = next((n for n, mod in modules.items() if any(True for _ in mod.parameters(recurse=False))), None)
    out = []
    for weight_name, k in keep.items():
        name = weight_name.removesuffix(".weight")
        if name == weight_name or type(modules.get(name)) is not nn.Linear:
            continue
        w = modules[name].weight
        if m == "1" or faster(tuple(w.shape), float(k.float().mean()), batch, input_grad=name != first,
                              optim=optim, device=w.device, dtype=w.dtype):
            out.append(weight_name)
    return out
