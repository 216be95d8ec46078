"""Pruning-at-initialisation scores (lib.saliency, lib.masks.init_scores) against their papers'
definitions worked out by hand on toy networks, and the layer-wise shuffle."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from lib import masks, saliency
from lib.config import MASK_METHODS, MaskConfig, TrainConfig
from lib.data import DataConfig
from lib.models import ModelConfig


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _toy(seed: int = 0, d: int = 5, h: int = 4, c: int = 3) -> tuple[nn.Module, torch.Tensor, torch.Tensor]:
    """Linear(d, h, no bias) - ReLU - Linear(h, c, no bias) in float64, a batch of 6 inputs."""
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(d, h, bias=False), nn.ReLU(), nn.Linear(h, c, bias=False)).double()
    x = torch.randn(6, d, dtype=torch.float64)
    y = torch.tensor([0, 1, 2, 0, 1, 2])
    return model, x, y


def test_snip_is_w_times_the_gradient_of_the_summed_cross_entropy():
    model, x, y = _toy()
    w1, w2 = (model[0].weight.detach().numpy(), model[2].weight.detach().numpy())
    xs = x.numpy()
    pre = xs @ w1.T
    hid = np.maximum(pre, 0)
    err = _softmax(hid @ w2.T) - np.eye(3)[y.numpy()]          # dL/dz per sample
    g2 = err.T @ hid                                          # sum_i err_i h_i^T
    g1 = ((err @ w2) * (pre > 0)).T @ xs                      # sum_i (W2^T err_i * relu') x_i^T
    got = saliency.snip_scores(model, x, y, ["0.weight", "2.weight"])
    np.testing.assert_allclose(got["0.weight"].numpy(), np.abs(w1 * g1), rtol=1e-10)
    np.testing.assert_allclose(got["2.weight"].numpy(), np.abs(w2 * g2), rtol=1e-10)


def test_grasp_is_w_times_hessian_gradient_product_for_softmax_regression():
    """One Linear layer with softmax cross-entropy: H g = sum_i (diag(p_i) - p_i p_i^T) G x_i x_i^T for the
    gradient G = sum_i (p_i - e_i) x_i^T; GraSP removes the largest -w * Hg, so w * Hg is kept first."""
    torch.manual_seed(1)
    model = nn.Sequential(nn.Linear(4, 3, bias=False)).double()
    x, y = torch.randn(5, 4, dtype=torch.float64), torch.tensor([0, 1, 2, 1, 0])
    w, xs = model[0].weight.detach().numpy(), x.numpy()
    p = _softmax(xs @ w.T)
    grad = (p - np.eye(3)[y.numpy()]).T @ xs
    hg = sum((np.diag(pi) - np.outer(pi, pi)) @ grad @ np.outer(xi, xi) for pi, xi in zip(p, xs))
    got = saliency.grasp_scores(model, x, y, ["0.weight"])["0.weight"].numpy()
    np.testing.assert_allclose(got, w * hg, rtol=1e-9)


def test_synflow_one_round_on_a_two_layer_net():
    """R = 1^T |W2| |W1| 1 (all-ones input, positive weights so ReLU passes everything):
    score W1[j, k] = |W1[j, k]| sum_i |W2[i, j]|, score W2[i, j] = |W2[i, j]| sum_k |W1[j, k]|."""
    model, x, _ = _toy(2)
    a1, a2 = (np.abs(model[0].weight.detach().numpy()), np.abs(model[2].weight.detach().numpy()))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    got = saliency.synflow_scores(model, (5,), ["0.weight", "2.weight"])
    np.testing.assert_allclose(got["0.weight"].numpy(), a1 * a2.sum(axis=0)[:, None], rtol=1e-12)
    np.testing.assert_allclose(got["2.weight"].numpy(), a2 * a1.sum(axis=1)[None, :], rtol=1e-12)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())  # the model is untouched
    # a mask zeroes pruned weights before the round: W1's row 0 pruned -> W2's column 0 scores 0
    keep = {"0.weight": torch.ones(4, 5, dtype=torch.bool), "2.weight": torch.ones(3, 4, dtype=torch.bool)}
    keep["0.weight"][0] = False
    got = saliency.synflow_scores(model, (5,), ["0.weight", "2.weight"], keep)
    assert float(got["2.weight"][:, 0].abs().max()) == 0.0 and float(got["0.weight"][0].abs().max()) == 0.0


def test_synflow_iterative_keeps_the_density_and_one_iteration_is_one_round():
    torch.manual_seed(3)
    model = nn.Sequential(nn.Flatten(), nn.Linear(12, 16), nn.ReLU(), nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 4))
    x, y = torch.randn(2, 3, 2, 2), torch.tensor([0, 1])
    names = masks.prunable(model)
    one = masks.init_scores("synflow", model, x, y, density=0.2, iterations=1)
    plain = masks.init_scores("synflow", model, x, y)
    m1 = masks.make_mask(one, density=0.2, tie_seed=0)
    assert torch.equal(torch.cat([m1[n].flatten() for n in names]),
                       torch.cat([masks.make_mask(plain, density=0.2, tie_seed=1)[n].flatten() for n in names]))
    it = masks.init_scores("synflow", model, x, y, density=0.2, iterations=20)
    m = masks.make_mask(it, density=0.2, tie_seed=5)
    total = sum(t.numel() for t in m.values())
    assert sum(int(t.sum()) for t in m.values()) == round(0.2 * total)
    assert all(bool((it[n][m[n]] >= 0).all()) and bool((it[n][~m[n]] == -1).all()) for n in names)
    with pytest.raises(ValueError, match="iterations must be >= 1"):
        masks.init_scores("synflow", model, x, y, density=0.2, iterations=0)
    with pytest.raises(ValueError, match="unknown method 'snap'"):
        masks.init_scores("snap", model, x, y)


def test_init_scorers_are_mask_methods_scoring_the_parents_initial_network(monkeypatch):
    assert {"snip", "grasp", "synflow"} <= set(MASK_METHODS) <= set(masks.SCORERS)
    assert not {"snip", "grasp", "synflow"} & masks.NEEDS_TRAINED_PARENT
    parent = TrainConfig(data=DataConfig(dataset="gaussian", n_train=16, n_test=8),
                         model=ModelConfig(arch="mlp", width=8, depth=1), seed=4)
    for method in ("snip", "grasp", "synflow"):
        cfg = MaskConfig(parent=parent, method=method, density=0.25)
        mask = masks.compute_mask(cfg)
        torch.manual_seed(4)
        from lib.models import build_model
        from lib.data import load_data
        model, data = build_model(parent.model), load_data(parent.data)
        scores = masks.init_scores(method, model, data.x_train[:masks.INIT_BATCH], data.y_train[:masks.INIT_BATCH],
                                   density=0.25)
        want = masks.make_mask(scores, density=0.25, tie_seed=0)
        assert all(torch.equal(mask[n], want[n]) for n in want), method


def test_shuffle_within_layers_keeps_counts_and_draws_positions_uniformly():
    g = torch.Generator().manual_seed(0)
    mask = {"a": torch.rand(20, 30, generator=g) < 0.1, "b": torch.zeros(7, dtype=torch.bool)}
    mask["b"][:3] = True
    s = masks.shuffle_within_layers(mask, seed=1)
    assert {n: int(t.sum()) for n, t in s.items()} == {n: int(t.sum()) for n, t in mask.items()}
    assert all(s[n].shape == mask[n].shape and s[n].dtype == torch.bool for n in mask)
    assert all(torch.equal(s[n], masks.shuffle_within_layers(mask, seed=1)[n]) for n in mask)  # seeded
    assert not torch.equal(s["a"], masks.shuffle_within_layers(mask, seed=2)["a"])
    # each position of "b" (3 of 7 kept) is kept with probability 3/7 over seeds
    freq = torch.stack([masks.shuffle_within_layers(mask, seed=k)["b"] for k in range(2000)]).double().mean(0)
    assert float((freq - 3 / 7).abs().max()) < 4 * (3 / 7 * 4 / 7 / 2000) ** 0.5


def test_a_shuffled_mask_config_keeps_each_tensors_count_and_the_hash_of_unshuffled_ones():
    from lib.config import config_hash

    parent = TrainConfig(data=DataConfig(dataset="gaussian", n_train=16, n_test=8),
                         model=ModelConfig(arch="mlp", width=16, depth=1))
    plain = MaskConfig(parent=parent, method="random", density=0.2, seed=3)
    shuffled = MaskConfig(parent=parent, method="random", density=0.2, seed=3, shuffle=True)
    a, b = masks.compute_mask(plain), masks.compute_mask(shuffled)
    assert {n: int(t.sum()) for n, t in a.items()} == {n: int(t.sum()) for n, t in b.items()}
    assert any(not torch.equal(a[n], b[n]) for n in a)
    assert config_hash(plain) != config_hash(shuffled)
    assert "shuffle" not in str(__import__("lib.config", fromlist=["config_dict"]).config_dict(plain))
    with pytest.raises(ValueError, match="shuffle must be True or False"):
        MaskConfig(parent=parent, shuffle=1)


def test_jaccard_by_hand_and_its_random_floor():
    a = {"w": torch.tensor([True, True, False, False]), "v": torch.tensor([[True, False]])}
    b = {"w": torch.tensor([True, False, True, False]), "v": torch.tensor([[True, True]])}
    assert masks.jaccard(a, b) == 2 / 5  # both: w0, v0; either: w0 w1 w2 v0 v1
    assert masks.jaccard(a, a) == 1.0
    with pytest.raises(ValueError, match="only in the first"):
        masks.jaccard(a, {"w": b["w"]})
    with pytest.raises(ValueError, match="has shape"):
        masks.jaccard(a, {"w": b["w"], "v": torch.tensor([True, True])})
    g = torch.Generator().manual_seed(0)
    m = {"x": torch.rand(200, 50, generator=g) < 0.1, "y": torch.rand(100, 30, generator=g) < 0.5}
    sims = [masks.jaccard(m, masks.shuffle_within_layers(m, seed=s)) for s in range(50)]
    assert abs(float(np.mean(sims)) - masks.expected_random_jaccard(m)) < 0.01


def test_shuffle_except_keeps_one_layer_group_in_place():
    parent = TrainConfig(data=DataConfig("gaussian", 64, 32), model=ModelConfig("vit_tiny"))
    plain = MaskConfig(parent=parent, method="random", density=0.1, seed=3)
    ranked = masks.compute_mask(plain)
    only_qkv = masks.compute_mask(MaskConfig(parent=parent, method="random", density=0.1, seed=3, shuffle=True,
                                             shuffle_except="qkv"))
    shuffled = masks.compute_mask(MaskConfig(parent=parent, method="random", density=0.1, seed=3, shuffle=True))
    groups = {n: masks.layer_group(n, "vit") for n in ranked}
    assert any(g == "qkv" for g in groups.values()) and any(g != "qkv" for g in groups.values())
    for n, g in groups.items():
        assert int(only_qkv[n].sum()) == int(ranked[n].sum())
        if g == "qkv":
            assert torch.equal(only_qkv[n], ranked[n])
        else:
            assert torch.equal(only_qkv[n], shuffled[n])  # the same permutation as the full shuffle
    assert any(not torch.equal(only_qkv[n], ranked[n]) for n, g in groups.items() if g != "qkv")
    with pytest.raises(ValueError, match="matches no pruned tensor"):
        masks.compute_mask(MaskConfig(parent=parent, method="random", shuffle=True, shuffle_except="conv"))
    with pytest.raises(ValueError, match="needs shuffle=True"):
        MaskConfig(parent=parent, shuffle_except="qkv")
