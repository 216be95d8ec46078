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


@pytest.mark.parametrize("temperature", [1.0, saliency.GRASP_TEMPERATURE])
def test_grasp_is_w_times_hessian_gradient_product_for_softmax_regression(temperature):
    """One Linear layer with softmax cross-entropy of the logits over T: with p_i = softmax(W x_i / T),
    g = sum_i (p_i - e_i) x_i^T / T and H g = sum_i (diag(p_i) - p_i p_i^T) G x_i x_i^T / T^2; GraSP removes
    the largest -w * Hg, so w * Hg is kept first."""
    torch.manual_seed(1)
    model = nn.Sequential(nn.Linear(4, 3, bias=False)).double()
    x, y = torch.randn(5, 4, dtype=torch.float64), torch.tensor([0, 1, 2, 1, 0])
    w, xs = model[0].weight.detach().numpy(), x.numpy()
    p = _softmax(xs @ w.T / temperature)
    grad = (p - np.eye(3)[y.numpy()]).T @ xs / temperature
    hg = sum((np.diag(pi) - np.outer(pi, pi)) @ grad @ np.outer(xi, xi) for pi, xi in zip(p, xs)) / temperature ** 2
    got = saliency.grasp_scores(model, x, y, ["0.weight"], temperature=temperature)["0.weight"].numpy()
    np.testing.assert_allclose(got, w * hg, rtol=1e-9)
    if temperature == saliency.GRASP_TEMPERATURE:  # the default is the authors' temperature
        np.testing.assert_array_equal(saliency.grasp_scores(model, x, y, ["0.weight"])["0.weight"].numpy(), got)
    with pytest.raises(ValueError, match="temperature must be > 0"):
        saliency.grasp_scores(model, x, y, ["0.weight"], temperature=0)


# ------------------------------------------------------- the papers' definitions, computed independently
#: The tiny network of the independent checks: Linear(5, 4) - Tanh - Linear(4, 4) - Tanh - Linear(4, 3), biases
#: included (tanh, so the Hessian couples the layers); parameters in this order in one flat vector.
_SHAPES = [("0.weight", (4, 5)), ("0.bias", (4,)), ("2.weight", (4, 4)), ("2.bias", (4,)), ("4.weight", (3, 4)),
           ("4.bias", (3,))]
_WEIGHTS = ["0.weight", "2.weight", "4.weight"]


def _tiny_net(seed: int = 0) -> tuple[nn.Module, torch.Tensor, torch.Tensor, torch.Tensor]:
    """The module, its parameters as one flat float64 vector (in :data:`_SHAPES` order) and a batch of 8."""
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(5, 4), nn.Tanh(), nn.Linear(4, 4), nn.Tanh(), nn.Linear(4, 3)).double()
    params = dict(model.named_parameters())
    theta = torch.cat([params[n].detach().reshape(-1) for n, _ in _SHAPES])
    x = torch.randn(8, 5, dtype=torch.float64)
    y = torch.tensor([0, 1, 2, 0, 1, 2, 0, 1])
    return model, theta, x, y


def _slices() -> dict[str, slice]:
    out, at = {}, 0
    for n, shape in _SHAPES:
        size = int(np.prod(shape))
        out[n] = slice(at, at + size)
        at += size
    return out


def _paper_loss(theta: torch.Tensor, x: torch.Tensor, y: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
    """The network written out from the flat vector: sum_i CE(f(x_i) / T, y_i) with
    f = W3 tanh(W2 tanh(W1 x + b1) + b2) + b3."""
    sl = _slices()
    p = {n: theta[sl[n]].reshape(shape) for n, shape in _SHAPES}
    h = torch.tanh(x @ p["0.weight"].T + p["0.bias"])
    h = torch.tanh(h @ p["2.weight"].T + p["2.bias"])
    z = (h @ p["4.weight"].T + p["4.bias"]) / temperature
    return -(z.gather(1, y[:, None]).squeeze(1) - torch.logsumexp(z, dim=1)).sum()


def test_snip_matches_the_papers_definition_computed_independently():
    """SNIP (Lee et al. 2019): |dL/dw ⊙ w| on the batch, L the cross-entropy of the network written out by hand."""
    model, theta, x, y = _tiny_net(0)
    g = torch.autograd.functional.jacobian(lambda t: _paper_loss(t, x, y), theta)
    sl = _slices()
    got = saliency.snip_scores(model, x, y, _WEIGHTS)
    for n in _WEIGHTS:
        want = (g[sl[n]] * theta[sl[n]]).abs().reshape(dict(_SHAPES)[n])
        torch.testing.assert_close(got[n], want, rtol=1e-10, atol=1e-14)


def test_grasp_matches_the_papers_definition_with_the_whole_networks_gradient():
    """GraSP (Wang et al. 2020, as its code): logits / 200, g and the Hessian over every weight of the network
    (the full Hessian by brute force), S = -(H g) ⊙ w removed largest first, so -S is what we keep first. Asked
    about the head only, the score still takes g over every layer's weight; over the head alone it differs."""
    model, theta, x, y = _tiny_net(1)
    temperature = saliency.GRASP_TEMPERATURE
    loss = lambda t: _paper_loss(t, x, y, temperature)  # noqa: E731
    g = torch.autograd.functional.jacobian(loss, theta)
    hess = torch.autograd.functional.hessian(loss, theta)
    sl = _slices()
    idx = torch.cat([torch.arange(sl[n].start, sl[n].stop) for n in _WEIGHTS])  # weights, not biases
    hg = torch.zeros_like(theta)
    hg[idx] = hess[idx][:, idx] @ g[idx]
    paper = -hg * theta  # GraSP's score: the largest are removed
    assert saliency.network_weights(model) == _WEIGHTS
    got = saliency.grasp_scores(model, x, y, _WEIGHTS)
    head = saliency.grasp_scores(model, x, y, ["4.weight"])
    for n in _WEIGHTS:
        want = -paper[sl[n]].reshape(dict(_SHAPES)[n])
        scale = float(want.abs().max())
        torch.testing.assert_close(got[n], want, rtol=1e-7, atol=1e-9 * scale)
    torch.testing.assert_close(head["4.weight"], got["4.weight"], rtol=0, atol=0)
    only_head = saliency.grasp_scores(model, x, y, ["4.weight"], gradient_of=["4.weight"])["4.weight"]
    assert float((only_head - got["4.weight"]).abs().max()) > 0.05 * float(got["4.weight"].abs().max())


def test_masks_score_grasp_with_the_authors_definition(monkeypatch):
    """init_scores' GraSP is the authors' (temperature 200, the whole network's weights), also where the
    prunable tensors are fewer than the network's (a ViT: head and patch embedding not pruned)."""
    from lib.models import build_model

    torch.manual_seed(0)
    model = build_model(ModelConfig("vit_tiny"))
    x, y = torch.randn(6, 3, 32, 32), torch.tensor([0, 1, 2, 3, 4, 5])
    names = masks.prunable(model)
    assert set(names) < set(saliency.network_weights(model))
    seen = {}
    real = saliency.grasp_scores

    def spy(model, x, y, names, **kw):
        seen.update(kw)
        return real(model, x, y, names, **kw)

    monkeypatch.setattr(saliency, "grasp_scores", spy)
    got = masks.init_scores("grasp", model, x, y)
    assert seen == {}  # the defaults: the authors' temperature and the whole network
    want = real(model, x, y, names, temperature=200.0, gradient_of=saliency.network_weights(model))
    assert set(got) == set(names) and all(torch.equal(got[n], want[n]) for n in names)


def _synflow_reference(weights: list[np.ndarray]) -> list[np.ndarray]:
    """SynFlow's score of a bias-free ReLU chain from its definition: with |W| positive, R = 1^T |W_L| ... |W_1| 1,
    and dR/dW_l[i, j] = (1^T |W_L| ... |W_{l+1}|)_i (|W_{l-1}| ... |W_1| 1)_j; score = |W_l| ⊙ dR/dW_l."""
    a = [np.ones(weights[0].shape[1])]
    for w in weights:
        a.append(np.abs(w) @ a[-1])
    b = [np.ones(weights[-1].shape[0])]
    for w in reversed(weights):
        b.insert(0, np.abs(w).T @ b[0])
    return [np.abs(w) * np.outer(b[l + 1], a[l]) for l, w in enumerate(weights)]


@pytest.mark.parametrize("scope", ["layer", "global"])
def test_synflow_rounds_follow_the_exponential_schedule_and_never_readmit_a_pruned_weight(scope):
    """Each round of iterative SynFlow (Tanaka et al. 2020): scores of the network pruned so far (checked against
    the definition), density d^(k/n), the kept weights those of largest score among the weights not yet pruned
    (ties cut anywhere), so a pruned weight stays pruned in every later round. In the layer scope the setup
    reaches rounds where a tensor has fewer weights of nonzero score than it keeps, the case where a rule
    that ranks pruned weights (score 0) with the living ones of score 0 lets them back in."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(12, 16, bias=False), nn.ReLU(), nn.Linear(16, 16, bias=False),
                          nn.ReLU(), nn.Linear(16, 4, bias=False))
    names = masks.prunable(model)
    w0 = [dict(model.named_parameters())[n].detach().double().numpy() for n in names]
    density, n_rounds = 0.1, 20
    prev = [np.ones_like(w, dtype=bool) for w in w0]
    short = 0  # rounds in which some tensor has fewer nonzero-scored living weights than it keeps
    rounds = list(masks.synflow_rounds(model, (12,), names, density=density, scope=scope, iterations=n_rounds))
    assert len(rounds) == n_rounds
    for k, (scores, mask) in enumerate(rounds, start=1):
        ref = _synflow_reference([w * m for w, m in zip(w0, prev)])
        now = [mask[n].numpy() for n in names]
        for r, s, p in zip(ref, (scores[n].numpy() for n in names), prev):
            np.testing.assert_allclose(s[p], r[p], rtol=1e-12)  # the living weights' scores
        assert all(not (m & ~p).any() for m, p in zip(now, prev)), f"round {k} re-admitted a pruned weight"
        d = density ** (k / n_rounds)
        groups = [(ref, now, prev)] if scope == "global" else [([r], [m], [p]) for r, m, p in zip(ref, now, prev)]
        for rs, ms, ps in groups:
            size = sum(m.size for m in ms)
            kept = sum(int(m.sum()) for m in ms)
            assert kept == int(np.floor(d * size + 0.5)), (k, kept, d * size)
            kept_scores = np.concatenate([r[m] for r, m in zip(rs, ms)])
            dropped = np.concatenate([r[p & ~m] for r, m, p in zip(rs, ms, ps)])
            if kept_scores.size and dropped.size:
                assert kept_scores.min() >= dropped.max() - 1e-12 * max(1.0, kept_scores.max())
            short += int(sum(int((r[p] > 0).sum()) for r, p in zip(rs, ps)) < kept)
        prev = now
    if scope == "layer":
        assert short > 0
    final = masks.make_mask(masks.synflow_iterative(model, (12,), names, density=density, scope=scope,
                                                    iterations=n_rounds), density=density, scope=scope, tie_seed=99)
    assert all(np.array_equal(final[n].numpy(), m) for n, m in zip(names, prev))


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


def test_init_scorers_are_mask_methods_scoring_the_parents_initial_network():
    """A snip/grasp/synflow mask is make_mask of init_scores on the parent's fresh initialisation: SNIP on the first
    INIT_BATCH training images, GraSP on the class-balanced batch drawn with the mask's seed."""
    from lib.data import load_data
    from lib.models import build_model

    assert set(masks.INIT_METHODS) == {"snip", "grasp", "synflow"} and set(MASK_METHODS) <= set(masks.SCORERS)
    assert not set(masks.INIT_METHODS) & masks.NEEDS_TRAINED_PARENT
    parent = TrainConfig(data=DataConfig(dataset="gaussian", n_train=400, n_test=8),
                         model=ModelConfig(arch="mlp", width=8, depth=1), seed=4)
    data = load_data(parent.data)
    for method in masks.INIT_METHODS:
        cfg = MaskConfig(parent=parent, method=method, density=0.25, seed=7)
        mask = masks.compute_mask(cfg)
        torch.manual_seed(4)
        model = build_model(parent.model)
        if method == "grasp":
            x, y = masks.balanced_batch(data.x_train, data.y_train, masks.INIT_BATCH, seed=7)
        else:
            x, y = data.x_train[:masks.INIT_BATCH], data.y_train[:masks.INIT_BATCH]
        sx, sy = masks.scoring_batch(cfg)
        assert torch.equal(sx, x) and torch.equal(sy, y), method
        scores = masks.init_scores(method, model, x, y, density=0.25)
        want = masks.make_mask(scores, density=0.25, tie_seed=7)
        assert all(torch.equal(mask[n], want[n]) for n in want), method
    first = data.y_train[:masks.INIT_BATCH]
    assert not torch.equal(masks.scoring_batch(MaskConfig(parent=parent, method="grasp", seed=7))[1], first)


def test_the_balanced_batch_takes_as_many_images_of_every_class_and_depends_on_the_seed():
    g = torch.Generator().manual_seed(0)
    y = torch.cat([torch.full((n,), c) for c, n in enumerate([40, 90, 31, 60, 33, 50, 70, 45, 38, 52])])
    y = y[torch.randperm(len(y), generator=g)]
    x = torch.arange(len(y), dtype=torch.float32)[:, None].expand(-1, 3).clone()  # an image's row = its index
    bx, by = masks.balanced_batch(x, y, 256, seed=3)
    counts = torch.bincount(by, minlength=10).tolist()
    assert counts == [26] * 6 + [25] * 4 and len(by) == 256
    idx = bx[:, 0].long()
    assert torch.equal(y[idx], by) and bool((idx[1:] > idx[:-1]).all())  # real images, in dataset order, no repeat
    again = masks.balanced_batch(x, y, 256, seed=3)[0]
    assert torch.equal(again, bx)
    other = masks.balanced_batch(x, y, 256, seed=4)[0][:, 0].long()
    assert set(other.tolist()) != set(idx.tolist())
    assert torch.equal(masks.balanced_batch(x[:100], y[:100], 256, seed=3)[1], y[:100])  # all of a small set
    with pytest.raises(ValueError, match="size must be >= 1"):
        masks.balanced_batch(x, y, 0, seed=3)


def test_authors_definition_states_what_each_baseline_shares_and_what_differs():
    assert set(saliency.AUTHORS_DEFINITION) == set(masks.INIT_METHODS)
    for method, said in saliency.AUTHORS_DEFINITION.items():
        assert set(said) == {"shares", "differs"}, method
        assert all(isinstance(v, str) and len(v) > 40 and v.endswith(".") for v in said.values()), method
        assert "2 %" in said["differs"], method  # the per-tensor floor is said for every method
    assert "200" in saliency.AUTHORS_DEFINITION["grasp"]["shares"]
    assert "class-balanced" in saliency.AUTHORS_DEFINITION["grasp"]["shares"]
    assert "never" in saliency.AUTHORS_DEFINITION["synflow"]["shares"]


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
