"""lib.stats: every backend against a brute-force loop (one backward per sample), theory checks,
bad inputs, state restoration and the trainer callback. Tiny float64 models, so it runs in seconds."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torchvision.models.resnet import Bottleneck

from lib.models import GPT, CifarResNet, ViT, mlp
from lib.stats import BACKENDS, gradient_stats

N = 24
BATCH_SIZES = (1, 7, 64)
TINY = 1e-7


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Tiny models gain nothing from intra-op threads, and on a shared, loaded machine their
    synchronisation makes small ops many times slower."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def brute_force(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> dict[str, torch.Tensor]:
    """name -> (n, *shape) float64 per-sample gradients, one autograd backward per sample, eval mode. A sample
    is an image with its class, or a token window with its next tokens (its loss summed over positions)."""
    was = model.training
    model.eval()
    params = {k: p for k, p in model.named_parameters() if p.requires_grad}
    rows = []
    for i in range(len(y)):
        out = model(x[i:i + 1])
        loss = F.cross_entropy(out.reshape(-1, out.shape[-1]), y[i:i + 1].reshape(-1), reduction="sum")
        gs = torch.autograd.grad(loss, list(params.values()), allow_unused=True)
        rows.append([torch.zeros_like(p) if g is None else g for g, p in zip(gs, params.values())])
    model.train(was)
    return {k: torch.stack([r[j] for r in rows]).double() for j, k in enumerate(params)}


def coherence_of(per: dict[str, torch.Tensor]) -> float:
    flat = torch.cat([g.flatten(1) for g in per.values()], 1)
    return float(flat.mean(0).square().sum() / flat.square().sum(1).mean())


def assert_matches(st, per: dict[str, torch.Tensor]) -> None:
    n = next(iter(per.values())).shape[0]
    assert st.n == n
    assert set(st.diffs) == set(per)
    assert st.coherence == pytest.approx(coherence_of(per), rel=1e-5)
    assert st.scaled_coherence == pytest.approx(n * st.coherence, rel=1e-12)
    flat = torch.cat([g.flatten(1) for g in per.values()], 1)
    assert st.mean_sq_norm == pytest.approx(float(flat.square().sum(1).mean()), rel=1e-5)
    for k, g in per.items():
        assert st.diffs[k].dtype == torch.float32 and st.diffs[k].shape == g.shape[1:]
        counts = torch.round(st.diffs[k].double() * n).long()
        brute = torch.sign(g).sum(0).long()
        tiny = ((g != 0) & (g.abs() < TINY)).sum(0)
        bad = (counts - brute).abs() > 2 * tiny
        assert not bad.any(), f"{k}: {int(bad.sum())} diff entries disagree with brute force"
        torch.testing.assert_close(st.mean_grad[k].double(), g.mean(0), rtol=1e-5, atol=1e-6)
        layer = float(g.mean(0).square().sum() / g.flatten(1).square().sum(1).mean())
        assert st.layer_coherence[k] == pytest.approx(layer, rel=1e-5)


# ------------------------------------------------------------------------------------ models
class ConvGroupNorm(nn.Sequential):
    def __init__(self) -> None:
        super().__init__(
            nn.Conv2d(3, 16, 3, padding=1), nn.GroupNorm(4, 16), nn.ReLU(),  # few input channels: im2col
            nn.Conv2d(16, 16, 3, padding="same", groups=2, padding_mode="reflect", dilation=2),  # grouped-conv path
            nn.ReLU(inplace=True),
            nn.Conv2d(16, 6, 3, stride=2, padding=1, bias=False), nn.GroupNorm(3, 6), nn.ReLU(),
            nn.Conv2d(6, 6, 1, stride=2), nn.ReLU(),
            nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(6, 5))


def bn_resnet() -> nn.Module:
    """torchvision Bottleneck blocks (in-place ReLU, ``out += identity``, strided 1x1 shortcuts), BN
    with non-trivial running statistics."""
    m = CifarResNet(Bottleneck, [1, 1, 1, 1], (4, 4, 4, 4), num_classes=5)
    g = torch.Generator().manual_seed(1)
    for mod in m.modules():
        if isinstance(mod, nn.BatchNorm2d):
            c = mod.num_features
            mod.running_mean.copy_(torch.rand(c, generator=g) - 0.5)
            mod.running_var.copy_(torch.rand(c, generator=g) + 0.5)
            mod.weight.data.copy_(torch.rand(c, generator=g) + 0.5)
            mod.bias.data.copy_(torch.rand(c, generator=g) - 0.5)
    return m


def tiny_gpt() -> nn.Module:
    """Two causal blocks over 5 symbols, position embeddings longer than the windows (6 of 8 used)."""
    return GPT(vocab=5, context=8, dim=8, depth=2, heads=2, dim_head=4, ff=12)


def images(shape: tuple[int, ...]):
    return lambda: (torch.randn(N, *shape, dtype=torch.float64), torch.randint(0, 5, (N,)))


def windows() -> tuple[torch.Tensor, torch.Tensor]:
    tokens = torch.randint(0, 5, (N, 7))
    return tokens[:, :6], tokens[:, 1:]


MODELS = {
    "mlp": (lambda: mlp(16, depth=2, in_features=48, num_classes=5), images((3, 4, 4))),
    "conv_groupnorm": (ConvGroupNorm, images((3, 8, 8))),
    "resnet_bn": (bn_resnet, images((3, 8, 8))),
    "vit": (lambda: ViT(patch=4, dim=16, depth=1, heads=2, dim_head=8, mlp_dim=16, num_classes=5, image=8),
            images((3, 8, 8))),
    "gpt": (tiny_gpt, windows),
}


@pytest.fixture(scope="module", params=list(MODELS))
def case(request):
    torch.manual_seed(0)
    make, data = MODELS[request.param]
    model = make().double()
    x, y = data()
    return request.param, model, x, y, brute_force(model, x, y)


@pytest.mark.parametrize("backend", BACKENDS)
def test_backend_matches_brute_force(case, backend):
    name, model, x, y, per = case
    results = [gradient_stats(model, (x, y), backend=backend, batch_size=b, progress=False) for b in BATCH_SIZES]
    for st in results:
        assert_matches(st, per)
    if backend == "auto":
        assert results[0].backend == "fast"
    ref = results[0]
    for st in results[1:]:  # batch size does not matter
        assert st.coherence == pytest.approx(ref.coherence, rel=1e-10)
        for k in ref.diffs:
            assert torch.equal(st.diffs[k], ref.diffs[k]), (name, backend, k)


def test_float32_and_tiny_memory_budget():
    torch.manual_seed(3)
    model = mlp(32, depth=1, in_features=48, num_classes=10)
    x, y = torch.randn(40, 48), torch.randint(0, 10, (40,))
    per = brute_force(model, x, y)
    for backend in ("fast", "functorch", "opacus"):
        assert_matches(gradient_stats(model, (x, y), backend=backend, memory_budget_mb=0.001, progress=False), per)
    for budget in (0.001, 0.01):  # fast kernels' buffers: smaller than a batch / filled and flushed mid-pass
        assert_matches(gradient_stats(model, (x, y), backend="fast", batch_size=3, memory_budget_mb=budget,
                                      progress=False), per)


# ------------------------------------------------------------------------------- theory checks
def linear_zero(d: int, k: int) -> nn.Module:
    m = nn.Linear(d, k, bias=False).double()
    nn.init.zeros_(m.weight)
    return m


@pytest.mark.parametrize("backend", BACKENDS)
def test_identical_samples_have_coherence_one(backend):
    torch.manual_seed(1)
    model = mlp(8, depth=1, in_features=6, num_classes=3).double()
    x = torch.randn(1, 6, dtype=torch.float64).repeat(9, 1)
    y = torch.full((9,), 2)
    st = gradient_stats(model, (x, y), backend=backend, batch_size=4, progress=False)
    assert st.coherence == pytest.approx(1.0, rel=1e-12)
    for d in st.diffs.values():
        assert set(d.unique().tolist()) <= {-1.0, 0.0, 1.0}


@pytest.mark.parametrize("backend", BACKENDS)
def test_opposite_gradients_have_coherence_zero(backend):
    # W = 0: both samples see uniform softmax, so g_2 = (p - e_y)(-x)^T = -g_1
    x1 = torch.randn(1, 5, dtype=torch.float64)
    st = gradient_stats(linear_zero(5, 3), (torch.cat([x1, -x1]), torch.tensor([1, 1])), backend=backend, progress=False)
    assert st.coherence == pytest.approx(0.0, abs=1e-15)
    assert all(float(d.abs().max()) == 0.0 for d in st.diffs.values())


@pytest.mark.parametrize("backend", BACKENDS)
def test_orthogonal_gradients_have_coherence_one_over_n(backend):
    # one-hot inputs: g_z = (p - e_y) e_z^T, pairwise orthogonal with equal norms
    n = 6
    st = gradient_stats(linear_zero(n, 4), (torch.eye(n, dtype=torch.float64), torch.tensor([0, 1, 2, 3, 0, 1])),
                        backend=backend, batch_size=4, progress=False)
    assert st.coherence == pytest.approx(1 / n, rel=1e-12)
    assert st.scaled_coherence == pytest.approx(1.0, rel=1e-12)


# --------------------------------------------------------------------------- inputs and state
def small():
    torch.manual_seed(2)
    return mlp(8, depth=1, in_features=6, num_classes=3), torch.randn(10, 6), torch.randint(0, 3, (10,))


def test_bad_inputs():
    model, x, y = small()
    with pytest.raises(ValueError, match="'bogus'.*allowed"):
        gradient_stats(model, (x, y), backend="bogus", progress=False)
    with pytest.raises(ValueError, match="empty"):
        gradient_stats(model, (x[:0], y[:0]), progress=False)
    with pytest.raises(ValueError, match="empty"):
        gradient_stats(model, [], progress=False)
    for backend in BACKENDS:
        with pytest.raises(ValueError, match=r"target 3 .*\[0, 2\]"):
            gradient_stats(model, (x, torch.full_like(y, 3)), backend=backend, progress=False)
        with pytest.raises(ValueError, match="target -1"):
            gradient_stats(model, (x, torch.full_like(y, -1)), backend=backend, progress=False)
        xn = x.clone()
        xn[4, 0] = float("nan")
        with pytest.raises(ValueError, match="non-finite loss nan for sample 4"):
            gradient_stats(model, (xn, y), backend=backend, batch_size=3, progress=False)
    with pytest.raises(ValueError, match="integer class indices"):
        gradient_stats(model, (x, y.float()), progress=False)
    with pytest.raises(ValueError, match="do not match"):
        gradient_stats(model, (x, y[:5]), progress=False)
    with pytest.raises(ValueError, match="max_samples"):
        gradient_stats(model, (x, y), max_samples=0, progress=False)
    with pytest.raises(ValueError, match="batch_size"):
        gradient_stats(model, (x, y), batch_size=0, progress=False)
    bn = nn.Sequential(nn.Linear(6, 4), nn.BatchNorm1d(4, track_running_stats=False), nn.Linear(4, 3))
    with pytest.raises(ValueError, match="running statistics"):
        gradient_stats(bn, (x, y), progress=False)
    st = gradient_stats(model, (x, y.int()), progress=False)  # int32 targets are fine
    assert st.n == 10


def test_iterables_max_samples_and_state_restored():
    model, x, y = small()
    model.train()
    model[3].weight.requires_grad_(False)  # frozen: left out
    whole = gradient_stats(model, (x[:7], y[:7]), progress=False)
    batches = [(x[:3], y[:3]), (x[3:8], y[3:8])]
    assert "3.weight" not in whole.diffs and "3.bias" in whole.diffs
    for backend in BACKENDS:
        st = gradient_stats(model, iter(batches), backend=backend, max_samples=7, batch_size=2, progress=False)
        assert st.n == 7 and st.coherence == pytest.approx(whole.coherence, rel=1e-6)
        for k in whole.diffs:
            assert torch.equal(st.diffs[k], whole.diffs[k])
        assert all(m.training for m in model.modules())
        assert not model[3].weight.requires_grad and model[1].weight.requires_grad
        assert all(p.grad is None for p in model.parameters())
        assert all(not m._forward_hooks and not m._backward_hooks for m in model.modules())
    model.eval()
    gradient_stats(model, (x, y), progress=False)
    assert not any(m.training for m in model.modules())


class Twice(nn.Module):
    """Uses one Linear twice (fast cannot split it) and owns a parameter of an unregistered type."""

    def __init__(self) -> None:
        super().__init__()
        self.lin = nn.Linear(6, 6)
        self.head = nn.Linear(6, 3)

    def forward(self, x):
        return self.head(torch.tanh(self.lin(torch.tanh(self.lin(x)))))


class Scale(nn.Module):
    def __init__(self, d: int) -> None:
        super().__init__()
        self.s = nn.Parameter(torch.linspace(0.5, 1.5, d))

    def forward(self, x):
        return x * self.s


class ConstRows(nn.Module):
    """Output independent of the input: reached only by a backward on its own parameter."""

    def __init__(self, d: int) -> None:
        super().__init__()
        self.b = nn.Parameter(torch.linspace(-1, 1, d))

    def forward(self, x):
        return self.b.expand(x.shape[0], -1)


class AddConst(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.lin, self.const, self.norm, self.head = nn.Linear(6, 4), ConstRows(4), nn.LayerNorm(4), nn.Linear(4, 3)

    def forward(self, x):
        return self.head(torch.tanh(self.norm(self.lin(x) * self.const(x))))


def test_fallbacks():
    torch.manual_seed(4)
    x, y = torch.randn(12, 6, dtype=torch.float64), torch.randint(0, 3, (12,))
    model = Twice().double()
    with pytest.raises(NotImplementedError, match="more than once"):
        gradient_stats(model, (x, y), backend="fast", progress=False)
    st = gradient_stats(model, (x, y), backend="auto", batch_size=5, progress=False)
    assert st.backend == "functorch"
    assert_matches(st, brute_force(model, x, y))
    model = nn.Sequential(nn.Linear(6, 4), Scale(4), nn.ReLU(), nn.Linear(4, 3)).double()
    st = gradient_stats(model, (x, y), backend="fast", batch_size=5, progress=False)
    assert st.backend == "fast" and "1.s" in st.diffs
    assert_matches(st, brute_force(model, x, y))
    model = AddConst().double()
    st = gradient_stats(model, (x, y), backend="fast", batch_size=5, progress=False)
    assert_matches(st, brute_force(model, x, y))


# ---------------------------------------------------------------------------------- callback
def test_stats_callback(tmp_path, monkeypatch):
    monkeypatch.setenv("BOOK_RUNS_DIR", str(tmp_path))
    from lib.data import DataConfig
    from lib.models import ModelConfig
    from lib.runs import train_run
    from lib.config import StatsConfig, TrainConfig

    cfg = TrainConfig(data=DataConfig(dataset="gaussian", n_train=64, n_test=32), model=ModelConfig(arch="mlp", width=16),
                      stats=StatsConfig(every=1, bins=10), epochs=2, batch_size=32)
    run = train_run(cfg, device=torch.device("cpu"))
    m = run.metrics
    names = [k for k, _ in run.load_model().named_parameters()]
    assert list(m["epoch"]) == [0, 1, 2]
    for col in ["coherence", "scaled_coherence", "mean_sq_norm"] + [f"coh/{k}" for k in names]:
        assert col in m and m[col].notna().all(), col
    assert np.allclose(m["scaled_coherence"], 64 * m["coherence"])
    with np.load(run.path / "diff_hist.npz") as h:
        assert np.allclose(h["edges"], np.linspace(-1, 1, 11))
        assert list(h["epochs"]) == [0, 1, 2]
        shapes = dict(run.load_model().named_parameters())
        for k in names:
            assert h[f"h/{k}"].dtype == np.int64 and h[f"h/{k}"].shape == (3, 10)
            assert (h[f"h/{k}"].sum(1) == shapes[k].numel()).all()
    coh = m.set_index("epoch")["coherence"]
    for fname, want in [("diffs_max.pt", coh.idxmax()), ("diffs_min.pt", coh.idxmin()),
                        ("diffs_max_trained.pt", coh.loc[1:].idxmax())]:
        d = run.tensors(fname)
        assert d["epoch"] == want and d["coherence"] == pytest.approx(coh[want], rel=1e-9)
        assert set(d["diffs"]) == set(names) and all(v.dtype == torch.float32 for v in d["diffs"].values())


def test_callback_schedule():
    from lib.stats import StatsCallback
    from lib.config import StatsConfig

    cb = StatsCallback(StatsConfig(every=3))
    assert [e for e in range(8) if cb.due(e, 7)] == [0, 3, 6, 7]
    assert math.isnan(float("nan"))
