"""Sparse kernels for masked children (lib.sparse): the autograd Function against dense autograd, the
optimisers on kept values against masked dense ones, and a child trained both ways (BOOK_SPARSE=0/1):
the same losses within float tolerance, masked weights exactly zero, the same model.pt format, the
same run hash, and a sparse run that resumes bit-identically from its checkpoint."""
from __future__ import annotations

import copy
import dataclasses

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

import lib.sparse as S
import lib.train as T
from lib import runs
from lib.config import MaskConfig, OptimConfig, StatsConfig, TrainConfig
from lib.data import DataConfig
from lib.models import ModelConfig
from test_resume import Interrupt  # tests/ is on sys.path under pytest

#: Largest relative difference of a loss between the two paths (measured: see test_child_*).
LOSS_RTOL = 1e-4


@pytest.fixture(autouse=True)
def default_checkpoints(monkeypatch):
    for name in ("BOOK_CHECKPOINT", "BOOK_CHECKPOINT_SECONDS", "BOOK_SPARSE"):
        monkeypatch.delenv(name, raising=False)


def random_layer(out_f, in_f, density, *, dtype=torch.float32, bias=True, seed=0):
    g = torch.Generator().manual_seed(seed)
    keep = torch.rand(out_f, in_f, generator=g) < density
    lin = nn.Linear(in_f, out_f, bias=bias, dtype=dtype)
    with torch.no_grad():
        lin.weight.copy_(torch.randn(out_f, in_f, generator=g, dtype=dtype) * keep)
        if bias:
            lin.bias.copy_(torch.randn(out_f, generator=g, dtype=dtype))
    return lin, keep


# --------------------------------------------------------------------------- the autograd Function
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("lead", [(3,), (2, 3)])
def test_function_gradcheck_float64(bias, lead):
    lin, keep = random_layer(5, 7, 0.4, dtype=torch.float64, bias=bias)
    sp = S.SparseLinear.from_linear(lin, keep)
    x = torch.randn(*lead, 7, dtype=torch.float64, requires_grad=True)
    values = sp.values.detach().clone().requires_grad_(True)
    b = sp.bias.detach().clone().requires_grad_(True) if bias else None
    assert torch.autograd.gradcheck(lambda x, v, b: S.sparse_linear(x, v, b, sp), (x, values, b))


@pytest.mark.parametrize("density", [0.02, 0.1, 0.5, 1.0])
def test_function_matches_dense_autograd(density):
    lin, keep = random_layer(37, 53, density, seed=1)
    sp = S.SparseLinear.from_linear(copy.deepcopy(lin), keep)
    x = torch.randn(16, 53)
    gy = torch.randn(16, 37)
    xd, xs = x.clone().requires_grad_(True), x.clone().requires_grad_(True)
    yd, ys = lin(xd), sp(xs)
    torch.testing.assert_close(ys, yd, rtol=1e-5, atol=1e-5)
    yd.backward(gy)
    ys.backward(gy)
    torch.testing.assert_close(xs.grad, xd.grad, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(sp.values.grad, lin.weight.grad[keep], rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(sp.bias.grad, lin.bias.grad, rtol=1e-5, atol=1e-5)


def test_empty_rows_and_no_kept_entries():
    keep = torch.zeros(4, 6, dtype=torch.bool)
    keep[2, [1, 5]] = True
    lin, _ = random_layer(4, 6, 1.0)
    with torch.no_grad():
        lin.weight.mul_(keep)
    sp = S.SparseLinear.from_linear(copy.deepcopy(lin), keep)
    x = torch.randn(3, 6)
    torch.testing.assert_close(sp(x), lin(x))
    none = S.SparseLinear.from_linear(copy.deepcopy(lin), torch.zeros(4, 6, dtype=torch.bool))
    torch.testing.assert_close(none(x), lin.bias.expand(3, 4))


def test_conversions_are_exact():
    model = nn.Sequential(nn.Flatten(), nn.Linear(12, 8), nn.ReLU(), nn.Linear(8, 3))
    keep = {"1.weight": torch.rand(8, 12) < 0.3, "3.weight": torch.rand(3, 8) < 0.3}
    T.apply_mask(model, keep)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    layers = S.SparseLayers(model, keep)
    assert isinstance(model[1], S.SparseLinear) and model[1].bias is layers.layers["1"][0].bias  # shared
    dense_sd = S.to_dense_state_dict(model)
    assert list(dense_sd) == list(before) and all(torch.equal(dense_sd[k], before[k]) for k in before)
    assert [n for n, _ in model.named_parameters()] == ["1.values", "1.bias", "3.values", "3.bias"]
    with torch.no_grad():
        model[1].values.add_(1.0)
    layers.dense()
    assert type(model[1]) is nn.Linear
    w = model[1].weight
    assert torch.equal(w[~keep["1.weight"]], torch.zeros_like(w[~keep["1.weight"]]))
    assert torch.equal(w[keep["1.weight"]], before["1.weight"][keep["1.weight"]] + 1.0)
    layers.sparse()
    assert torch.equal(model[1].values, before["1.weight"][keep["1.weight"]] + 1.0)
    assert torch.equal(model[1].to_linear().weight, w)


# ------------------------------------------------------------------------------------ optimisers
@pytest.mark.parametrize("optim", [OptimConfig("adam", 1e-2), OptimConfig("adam", 1e-2, weight_decay=1e-3),
                                   OptimConfig("sgd", 0.1), OptimConfig("sgd", 0.1, momentum=0.9, weight_decay=1e-3)])
def test_optimiser_on_kept_values_equals_masked_dense(optim):
    """Same gradients in, exactly the same weights out: state only on kept values changes nothing."""
    lin, keep = random_layer(9, 11, 0.2, seed=3)
    m = keep.float()
    sp = S.SparseLinear.from_linear(copy.deepcopy(lin), keep)
    opt_d, opt_s = T.make_optimizer(optim, [lin.weight]), T.make_optimizer(optim, [sp.values])
    g = torch.Generator().manual_seed(4)
    for _ in range(5):
        grad = torch.randn(9, 11, generator=g)
        lin.weight.grad = grad.clone()
        T._hold_mask([(lin.weight, m)], grads=True)
        opt_d.step()
        T._hold_mask([(lin.weight, m)], grads=False)
        sp.values.grad = grad[keep].clone()
        opt_s.step()
        assert torch.equal(sp.values.detach(), lin.weight.detach()[keep])
        assert torch.count_nonzero(lin.weight.detach()[~keep]) == 0
    if optim.name == "adam":  # the moments of masked entries never left zero
        st = opt_d.state[lin.weight]
        assert torch.count_nonzero(st["exp_avg"][~keep]) == 0 and torch.count_nonzero(st["exp_avg_sq"][~keep]) == 0
        assert opt_s.state[sp.values]["exp_avg"].shape == (int(keep.sum()),)


# --------------------------------------------------------------------------- choice by measurement
def test_mode_and_faster(monkeypatch):
    monkeypatch.setenv("BOOK_SPARSE", "maybe")
    with pytest.raises(ValueError, match="BOOK_SPARSE"):
        S.mode()
    monkeypatch.setenv("BOOK_SPARSE", "auto")
    before = torch.get_rng_state()
    monkeypatch.setattr(S, "MIN_WEIGHTS", 100)
    assert S.faster((256, 256), 0.9, 4) is False and S.faster((8, 8), 0.1, 4) is False  # not measured
    got = S.faster((16, 24), 0.1, 8)
    assert isinstance(got, bool) and torch.equal(torch.get_rng_state(), before)  # the global RNG is untouched
    calls = []
    monkeypatch.setattr(S, "step_seconds", lambda *a, **k: calls.append(1) or (1.0, 0.1))
    assert S.faster((16, 24), 0.105, 8) is got and not calls  # same bucket: cached
    assert S.faster((16, 24), 0.1, 9) is True and calls == [1]


def test_choose_only_masked_linears(monkeypatch):
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.Flatten(), nn.Linear(16, 8), nn.Linear(8, 2))
    keep = {"0.weight": torch.rand(4, 3, 3, 3) < 0.1, "2.weight": torch.rand(8, 16) < 0.1}
    monkeypatch.setenv("BOOK_SPARSE", "1")
    assert S.choose(model, keep, batch=4) == ["2.weight"]
    monkeypatch.setenv("BOOK_SPARSE", "0")
    assert S.choose(model, keep, batch=4) == []


# ------------------------------------------------------------------------- a child trained both ways
def child(**kw) -> TrainConfig:
    parent = TrainConfig(data=DataConfig("gaussian", 256, 128, seed=0), model=ModelConfig("mlp", width=64),
                         optim=OptimConfig("adam", 1e-3), batch_size=32, epochs=1, seed=5)
    base = dict(data=parent.data, model=parent.model, optim=parent.optim, batch_size=32, epochs=3,
                mask=MaskConfig(parent=parent, method="random", density=0.1, seed=1), track=("3.weight",))
    base.update(kw)
    return TrainConfig(**base)


SPARSE_INIT = S.SparseLayers.__init__


class SeesLinear(Interrupt):
    """test_resume's interrupting callback, checking that callbacks see nn.Linear layers."""

    def on_epoch_end(self, epoch, model, ctx):
        assert all(type(m) is not S.SparseLinear for m in model.modules())
        return super().on_epoch_end(epoch, model, ctx)


def train_with(monkeypatch, run_cache, cfg, mode):
    monkeypatch.setenv("BOOK_SPARSE", mode)
    spy = []
    monkeypatch.setattr(S.SparseLayers, "__init__", lambda self, m, k: spy.append(sorted(k)) or SPARSE_INIT(self, m, k))
    out = run_cache / f"out-{mode}"
    out.mkdir(parents=True)
    model, metrics = T.train(cfg, out, model=runs.initial_model(cfg), mask=runs.mask_for(cfg.mask),
                             device=torch.device("cpu"), progress=False)
    return model, metrics, spy, out


@pytest.mark.parametrize("optim", [OptimConfig("adam", 1e-2), OptimConfig("sgd", 0.1)])
def test_child_trained_both_ways_gives_the_same_run(optim, run_cache, monkeypatch):
    cfg = child(optim=optim)
    mask = runs.mask_for(cfg.mask)
    md, dense, spy_d, out_d = train_with(monkeypatch, run_cache, cfg, "0")
    ms, sparse, spy_s, out_s = train_with(monkeypatch, run_cache, cfg, "1")
    assert spy_d == [] and spy_s == [sorted(mask)]  # BOOK_SPARSE=1 ran every masked Linear sparse
    cols = ["train_loss", "test_loss"]
    rel = ((sparse[cols] - dense[cols]).abs() / dense[cols].abs()).to_numpy().max()
    print(f"\n{optim.name}: max relative loss difference sparse vs dense over {cfg.epochs} epochs: {rel:.2e}")
    assert rel < LOSS_RTOL
    sd_d, sd_s = md.state_dict(), ms.state_dict()
    assert list(sd_d) == list(sd_s) and all(sd_d[k].shape == sd_s[k].shape for k in sd_d)
    for name, keep in mask.items():  # masked-out weights exactly zero both ways
        assert torch.count_nonzero(sd_d[name][~keep]) == 0 and torch.count_nonzero(sd_s[name][~keep]) == 0
        torch.testing.assert_close(sd_s[name], sd_d[name], rtol=1e-3, atol=1e-5)
    with np.load(out_d / "tracks.npz") as a, np.load(out_s / "tracks.npz") as b:  # the callback saw nn.Linear
        assert a["3.weight"].shape == b["3.weight"].shape == (cfg.epochs + 1, 64, 64)
        np.testing.assert_allclose(b["3.weight"], a["3.weight"], rtol=1e-3, atol=1e-5)


def test_run_hash_and_model_file_do_not_depend_on_the_kernel(run_cache, monkeypatch):
    cfg = child(track=())
    monkeypatch.setenv("BOOK_SPARSE", "1")
    h1 = runs.config_hash(cfg)
    run = runs.train_run(cfg)
    monkeypatch.setenv("BOOK_SPARSE", "0")
    assert runs.config_hash(cfg) == h1 and run.path.name == h1
    assert runs.train_run(cfg).path == run.path  # a cache hit, whichever kernel
    sd = torch.load(run.path / "model.pt", weights_only=True)
    ref = T.fresh_model(cfg).state_dict()
    assert list(sd) == list(ref) and all(sd[k].shape == ref[k].shape for k in ref)


def test_sparse_run_resumes_bit_identically(run_cache, monkeypatch, tmp_path, capfd):
    """Interrupted with BOOK_SPARSE=1 during epoch 2, resumed under BOOK_SPARSE=0 from the checkpoint
    after epoch 1: the checkpoint's choice wins and the run equals an uninterrupted sparse run exactly."""
    cfg = child(optim=OptimConfig("adam", 1e-3))
    monkeypatch.setenv("BOOK_SPARSE", "1")
    whole = runs.train_run(cfg)
    ref_model = torch.load(whole.path / "model.pt", weights_only=True)
    ref_metrics = pd.read_csv(whole.path / "metrics.csv")
    monkeypatch.setenv("BOOK_RUNS_DIR", str(tmp_path / "runs2"))

    build = T.build_callbacks
    monkeypatch.setattr(T, "build_callbacks", lambda c: build(c) + [SeesLinear(2)])
    with pytest.raises(RuntimeError, match="simulated interruption at epoch 2"):
        runs.train_run(cfg)
    ckpt = torch.load(next((tmp_path / "runs2" / "train").glob(".ckpt-*/epoch-000001-*/state.pt")), weights_only=True)
    assert sorted(ckpt["sparse"]) == sorted(runs.mask_for(cfg.mask))
    assert list(ckpt["model"]) == list(ref_model)  # checkpoints hold the dense format too
    monkeypatch.setattr(T, "build_callbacks", lambda c: build(c) + [SeesLinear(None)])  # the same callbacks
    monkeypatch.setenv("BOOK_SPARSE", "0")
    resumed = runs.train_run(cfg)
    assert "resuming mlp gaussian from its checkpoint after epoch 1" in capfd.readouterr().err
    got = torch.load(resumed.path / "model.pt", weights_only=True)
    assert all(torch.equal(got[k], ref_model[k]) for k in ref_model)
    pd.testing.assert_frame_equal(pd.read_csv(resumed.path / "metrics.csv"), ref_metrics, check_exact=True)


def test_other_architectures_and_no_mask_stay_dense(monkeypatch):
    monkeypatch.setenv("BOOK_SPARSE", "1")
    cfg = child()
    model = T.fresh_model(cfg)
    keep = {"1.weight": torch.rand(64, 3072) < 0.1}
    assert T._sparse_choice(cfg, model, keep, torch.device("cpu"), None) == ["1.weight"]
    assert T._sparse_choice(cfg, model, None, torch.device("cpu"), None) == []
    assert T._sparse_choice(cfg, model, keep, torch.device("cpu"), {"model": {}}) == []  # old checkpoint
    vit = dataclasses.replace(cfg, model=ModelConfig("vit_tiny"))
    assert T._sparse_choice(vit, model, keep, torch.device("cpu"), None) == []


def test_statistics_callback_sees_the_ordinary_network(run_cache, monkeypatch):
    """Children in the book train without statistics, but a masked run with them may run sparse too:
    the callback gets the nn.Linear network (swapped back and synced after every epoch)."""
    cfg = child(stats=StatsConfig(every=1, max_samples=64, bins=10), track=())
    _, dense, _, out_d = train_with(monkeypatch, run_cache, cfg, "0")
    _, sparse, spy, out_s = train_with(monkeypatch, run_cache, cfg, "1")
    assert spy and list(sparse.columns) == list(dense.columns) and len(dense.columns) > 5
    pd.testing.assert_frame_equal(sparse, dense, rtol=1e-3, atol=1e-6)
    assert sorted(p.name for p in out_s.iterdir()) == sorted(p.name for p in out_d.iterdir())
