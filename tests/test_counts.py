"""Exact sign sums and nonzero counts (``gradient_stats(counts=True)``) against a per-sample autograd
loop, for every backend; the int32 -> int64 flush; and the callback's test-split statistics and
``nonzero`` files. Float64 models, so per-sample gradients agree with the loop to the last bit that
decides a sign."""
from __future__ import annotations

import dataclasses

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import lib.stats.base as stats_base
import lib.stats.kernels.linear as linear_kernels
from lib.config import StatsConfig, TrainConfig, config_dict, config_hash
from lib.data import DataConfig, DeviceData, load_data
from lib.models import ModelConfig, build_model
from lib.stats import FAST_KERNELS, GRAD_SAMPLERS, gradient_stats
from lib.stats.callback import StatsCallback, sign_counts
from lib.stats.registry import SamplerSpec

N = 20


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Small models: intra-op threads only add synchronisation cost on a shared machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def loop_grads(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> dict[str, torch.Tensor]:
    """name -> (n, *shape) per-sample gradients: one cross-entropy backward per sample, eval mode."""
    was = model.training
    model.eval()
    params = {k: p for k, p in model.named_parameters() if p.requires_grad}
    per: dict[str, list[torch.Tensor]] = {k: [] for k in params}
    for i in range(y.shape[0]):
        loss = F.cross_entropy(model(x[i:i + 1]), y[i:i + 1])
        grads = torch.autograd.grad(loss, list(params.values()), allow_unused=True)
        for (k, p), g in zip(params.items(), grads):
            per[k].append(torch.zeros_like(p) if g is None else g.detach())
    model.train(was)
    return {k: torch.stack(v) for k, v in per.items()}


def loop_counts(per: dict[str, torch.Tensor]) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """(sum of signs, number of nonzero samples) per entry, int64."""
    signs = {k: torch.sign(g).to(torch.int64).sum(0) for k, g in per.items()}
    nonzero = {k: (g != 0).to(torch.int64).sum(0) for k, g in per.items()}
    return signs, nonzero


def assert_exact(st, per: dict[str, torch.Tensor]) -> None:
    """sign_sum and nonzero equal the loop's counts exactly, and diffs == sign_sum / n."""
    n = next(iter(per.values())).shape[0]
    signs, nonzero = loop_counts(per)
    assert st.n == n and st.sign_sum is not None and st.nonzero is not None
    assert set(st.sign_sum) == set(per) == set(st.nonzero)
    for k in per:
        for got, want, what in ((st.sign_sum[k], signs[k], "sign_sum"), (st.nonzero[k], nonzero[k], "nonzero")):
            assert got.dtype == torch.int64 and got.device.type == "cpu" and got.shape == want.shape, (k, what)
            bad = int((got != want).sum())
            assert bad == 0, f"{k}: {bad} {what} entries differ from the per-sample loop"
        assert torch.equal(st.diffs[k], (st.sign_sum[k].double() / n).float()), k


def some_zero(per: dict[str, torch.Tensor]) -> bool:
    """Whether some entry has an exactly zero gradient for some sample (so nonzero < n there)."""
    n = next(iter(per.values())).shape[0]
    return any(bool((nz < n).any()) for nz in loop_counts(per)[1].values())


# ------------------------------------------------------------------------------------ models
def relu_mlp() -> nn.Module:
    """ReLU units die for some samples: whole rows and columns of per-sample gradients are zero."""
    return nn.Sequential(nn.Linear(12, 16), nn.ReLU(), nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 3))


def mlp_data(seed: int = 0) -> tuple[nn.Module, torch.Tensor, torch.Tensor]:
    torch.manual_seed(seed)
    model = relu_mlp().double()
    x = torch.randn(N, 12, dtype=torch.float64)
    x[:, 3] = 0.0  # a dead input feature: first-layer weight column zero for every sample
    return model, x, torch.randint(0, 3, (N,))


def conv_bn_net() -> nn.Module:
    """Conv, BatchNorm (eval, non-trivial running statistics), ReLU, conv, ReLU, Linear."""
    net = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                        nn.Conv2d(4, 4, 3, stride=2), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 3 * 3, 5))
    bn = net[1]
    g = torch.Generator().manual_seed(3)
    bn.running_mean.copy_(torch.rand(4, generator=g) - 0.5)
    bn.running_var.copy_(torch.rand(4, generator=g) + 0.5)
    with torch.no_grad():
        bn.weight.copy_(torch.rand(4, generator=g) + 0.5)
        bn.bias.copy_(torch.rand(4, generator=g) - 0.5)
    return net.eval()


# ------------------------------------------------------------------------------------- tests
@pytest.fixture(scope="module")
def mlp_case():
    model, x, y = mlp_data()
    per = loop_grads(model, x, y)
    assert some_zero(per), "the test MLP must have exactly zero per-sample gradients somewhere"
    hidden = loop_counts(per)[1]["2.weight"]
    assert bool((hidden < N).any()), "dead ReLU units must zero some hidden-layer per-sample gradients"
    return model, x, y, per


@pytest.mark.parametrize("budget_mb", [1024, 0.002])  # 0.002: the Linear kernel's buffer fills, or is bypassed
@pytest.mark.parametrize("batch_size", [3, 64])
@pytest.mark.parametrize("backend", ["fast", "functorch", "opacus"])
def test_mlp_counts_exact(mlp_case, backend, batch_size, budget_mb):
    model, x, y, per = mlp_case
    st = gradient_stats(model, (x, y), backend=backend, batch_size=batch_size, memory_budget_mb=budget_mb,
                        progress=False, counts=True)
    assert_exact(st, per)


def test_counts_off_returns_none_and_adds_no_products(mlp_case, monkeypatch):
    model, x, y, _ = mlp_case
    calls = {"n": 0}
    real = linear_kernels.sign_outer_counts

    def counting(*args):
        calls["n"] += 1
        real(*args)

    monkeypatch.setattr(linear_kernels, "sign_outer_counts", counting)
    off = gradient_stats(model, (x, y), backend="fast", batch_size=7, progress=False)
    n_off, calls["n"] = calls["n"], 0
    on = gradient_stats(model, (x, y), backend="fast", batch_size=7, progress=False, counts=True)
    assert off.sign_sum is None and off.nonzero is None
    assert n_off > 0 and calls["n"] == 2 * n_off
    for k in off.diffs:
        assert torch.equal(off.diffs[k], on.diffs[k])


def test_fast_linear_kernel_counts_without_materialising(mlp_case, monkeypatch):
    """With counts the 2-D Linear layers still take the closed form (the grad sampler would raise)."""
    model, x, y, per = mlp_case

    def refuse(*args):
        raise AssertionError("the Linear grad sampler ran: the fast kernel was bypassed")

    monkeypatch.setitem(GRAD_SAMPLERS, nn.Linear, SamplerSpec(refuse))
    assert_exact(gradient_stats(model, (x, y), backend="fast", batch_size=8, progress=False, counts=True), per)


class PlainLinear(nn.Linear):
    """A Linear subclass whose registered closed form says it cannot count nonzeros."""


def test_kernel_without_nonzero_support_is_bypassed(monkeypatch):
    torch.manual_seed(1)
    model = nn.Sequential(PlainLinear(12, 16), nn.ReLU(), nn.Linear(16, 3)).double()
    x, y = torch.randn(N, 12, dtype=torch.float64), torch.randint(0, 3, (N,))
    used = {"fast": 0}
    spec = FAST_KERNELS[nn.Linear]

    def fast(*args):
        used["fast"] += 1
        spec.fn(*args)

    monkeypatch.setitem(FAST_KERNELS, PlainLinear, dataclasses.replace(spec, fn=fast, nonzero=False))
    monkeypatch.setitem(GRAD_SAMPLERS, PlainLinear, GRAD_SAMPLERS[nn.Linear])
    per = loop_grads(model, x, y)
    assert_exact(gradient_stats(model, (x, y), backend="fast", batch_size=6, progress=False, counts=True), per)
    assert used["fast"] == 0
    gradient_stats(model, (x, y), backend="fast", batch_size=6, progress=False)
    assert used["fast"] > 0  # without counts the closed form is used as before


@pytest.mark.parametrize("backend", ["fast", "functorch", "opacus"])
def test_int32_flush_keeps_counts_exact(mlp_case, backend, monkeypatch):
    model, x, y, per = mlp_case
    flushes = {"n": 0}
    real = stats_base.Accumulator._flush_counts

    def counting(self):
        flushes["n"] += 1
        real(self)

    monkeypatch.setattr(stats_base, "_INT32_MAX", 5)
    monkeypatch.setattr(stats_base.Accumulator, "_flush_counts", counting)
    st = gradient_stats(model, (x, y), backend=backend, batch_size=3, progress=False, counts=True)
    assert flushes["n"] >= 3
    assert_exact(st, per)


@pytest.mark.parametrize("backend", ["fast", "opacus"])
def test_conv_bn_counts_exact(backend):
    torch.manual_seed(2)
    model = conv_bn_net().double()
    x = torch.randn(N, 3, 8, 8, dtype=torch.float64)
    x[:, 1] = 0.0  # a zero input channel: those first-conv weights have zero per-sample gradients
    y = torch.randint(0, 5, (N,))
    per = loop_grads(model, x, y)
    assert bool((loop_counts(per)[1]["0.weight"] < N).any())
    try:
        st = gradient_stats(model, (x, y), backend=backend, batch_size=6, progress=False, counts=True)
    except Exception as exc:  # only opacus may refuse; fast must run
        if backend == "fast":
            raise
        pytest.skip(f"opacus refused the conv/BatchNorm net: {type(exc).__name__}: {exc}")
    assert_exact(st, per)
    assert not model.training


@pytest.fixture(scope="module")
def vit_case():
    torch.manual_seed(4)
    model = build_model(ModelConfig(arch="vit_tiny")).double()
    x = torch.randn(6, 3, 32, 32, dtype=torch.float64)
    x[:, 2] = 0.0  # blue channel off: a third of the patch embedding's columns get zero gradients
    y = torch.randint(0, 10, (6,))
    per = loop_grads(model, x, y)
    assert bool((loop_counts(per)[1]["patch_embed.weight"] < 6).any())
    return model, x, y, per


@pytest.mark.parametrize("backend", ["fast", "functorch"])
def test_vit_counts_exact(vit_case, backend):
    model, x, y, per = vit_case
    st = gradient_stats(model, (x, y), backend=backend, batch_size=4, progress=False, counts=True)
    assert st.backend == backend
    assert_exact(st, per)


def test_counts_argument_checked(mlp_case):
    model, x, y, _ = mlp_case
    with pytest.raises(ValueError, match="'yes'"):
        gradient_stats(model, (x, y), progress=False, counts="yes")  # type: ignore[arg-type]


# -------------------------------------------------------------------------------- config
def test_stats_config_fields():
    with pytest.raises(ValueError, match="counts.*'yes'"):
        StatsConfig(counts="yes")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="test_samples.*-1"):
        StatsConfig(test_samples=-1)
    with pytest.raises(ValueError, match="test_samples.*2.5"):
        StatsConfig(test_samples=2.5)  # type: ignore[arg-type]
    assert config_hash(StatsConfig()) == config_hash(StatsConfig(counts=False, test_samples=0))
    assert config_dict(StatsConfig(counts=False, test_samples=0)) == {}
    assert config_hash(StatsConfig(counts=True)) != config_hash(StatsConfig())


# ------------------------------------------------------------------------------ callback
def test_training_run_with_counts_and_test_split(tmp_path):
    from lib.train import train

    k, m = 20, 48
    cfg = TrainConfig(data=DataConfig(dataset="gaussian", n_train=64, n_test=32),
                      model=ModelConfig(arch="mlp", width=16, depth=1), epochs=1, batch_size=32,
                      stats=StatsConfig(every=1, max_samples=m, bins=10, test_samples=k, counts=True))
    model, metrics = train(cfg, tmp_path, device=torch.device("cpu"), progress=False)
    for col in ("test_coherence", "test_scaled_coherence", "test_mean_sq_norm"):
        assert col in metrics and metrics[col].notna().all(), col
    data = load_data(cfg.data)
    xt, yt = data.x_test[:k], data.y_test[:k]
    last = metrics.set_index("epoch").loc[1]
    st = gradient_stats(model, (xt, yt), progress=False)
    assert last["test_coherence"] == pytest.approx(st.coherence, rel=1e-6)
    assert last["test_scaled_coherence"] == pytest.approx(k * st.coherence, rel=1e-6)
    per = {name: g.double() for name, g in loop_grads(model, xt, yt).items()}
    flat = torch.cat([g.flatten(1) for g in per.values()], 1)
    coh = float(flat.mean(0).square().sum() / flat.square().sum(1).mean())
    assert last["test_coherence"] == pytest.approx(coh, rel=1e-5)
    assert last["test_mean_sq_norm"] == pytest.approx(float(flat.square().sum(1).mean()), rel=1e-5)

    for fname in ("diffs_max.pt", "diffs_min.pt", "diffs_max_trained.pt"):
        saved = torch.load(tmp_path / fname, weights_only=True)
        assert saved["n"] == m and set(saved["nonzero"]) == set(saved["diffs"])
        assert all(v.dtype == torch.int16 for v in saved["nonzero"].values())
        signs, nonzero, n = sign_counts(saved)
        assert n == m
        for name, d in saved["diffs"].items():
            assert signs[name].dtype == nonzero[name].dtype == torch.int64
            assert torch.equal((signs[name].double() / n).float(), d)
            assert bool((nonzero[name] <= n).all()) and bool((signs[name].abs() <= nonzero[name]).all())
    trained = torch.load(tmp_path / "diffs_max_trained.pt", weights_only=True)  # epoch 1: the final model
    final = gradient_stats(model, (data.x_train[:m], data.y_train[:m]), progress=False, counts=True)
    signs, nonzero, _ = sign_counts(trained)
    for name in final.diffs:
        assert torch.equal(signs[name], final.sign_sum[name]) and torch.equal(nonzero[name], final.nonzero[name])


def test_sign_counts_rejects_files_without_counts():
    with pytest.raises(ValueError, match="'coherence', 'diffs', 'epoch'"):
        sign_counts({"epoch": 0, "coherence": 0.5, "diffs": {"w": torch.zeros(2)}})
    bad = {"diffs": {"w": torch.tensor([1.0])}, "nonzero": {"w": torch.tensor([0], dtype=torch.int16)}, "n": 4}
    with pytest.raises(ValueError, match="'w'"):
        sign_counts(bad)


def tiny_ctx(tmp_path, n_test: int):
    from lib.train import EpochContext

    g = torch.Generator().manual_seed(5)
    data = DeviceData(torch.randn(8, 3, 32, 32, generator=g), torch.randint(0, 10, (8,), generator=g),
                      torch.randn(n_test, 3, 32, 32, generator=g), torch.randint(0, 10, (n_test,), generator=g))
    cfg = TrainConfig(data=DataConfig(dataset="gaussian", n_train=8, n_test=max(1, n_test)), epochs=1)
    return EpochContext(cfg, data, tmp_path, torch.device("cpu"))


def test_test_samples_capped_at_available_and_zero_refused(tmp_path):
    torch.manual_seed(6)
    model = build_model(ModelConfig(arch="mlp", width=8, depth=1))
    ctx = tiny_ctx(tmp_path, 5)
    row = StatsCallback(StatsConfig(every=1, test_samples=1000)).on_epoch_end(0, model, ctx)
    st = gradient_stats(model, (ctx.data.x_test, ctx.data.y_test), progress=False)
    assert row["test_coherence"] == pytest.approx(st.coherence, rel=1e-9)
    assert row["test_scaled_coherence"] == pytest.approx(5 * st.coherence, rel=1e-9)
    saved = torch.load(tmp_path / "diffs_max.pt", weights_only=True)
    assert "nonzero" not in saved and "n" not in saved  # counts off: the file is as before
    with pytest.raises(ValueError, match="test_samples=3"):
        StatsCallback(StatsConfig(every=1, test_samples=3)).on_epoch_end(0, model, tiny_ctx(tmp_path, 0))
