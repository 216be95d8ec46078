"""Pruning masks: exact counts, floor, inversion, ties, prunable rule, caching, masked training."""
from __future__ import annotations

import math
from dataclasses import replace

import pytest
import torch

from lib import manifest, mask_cache, masks, models, runs
from lib.data import DataConfig
from lib.masks import layer_table, make_mask, prunable
from lib.runs import mask_for
from lib.models import ModelConfig
from lib.config import MaskConfig, OptimConfig, StatsConfig, TrainConfig


def tiny(**kw) -> TrainConfig:
    base = dict(data=DataConfig("gaussian", 64, 32, seed=0), model=ModelConfig("mlp", width=8, depth=1),
                optim=OptimConfig("adam", 1e-2), batch_size=16, epochs=2)
    base.update(kw)
    return TrainConfig(**base)


def rnd(seed: int = 0) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return {"a": torch.rand(30, 7, generator=g), "b": torch.rand(100, generator=g), "c": torch.randn(3, 3, 3, 3, generator=g)}


def half_up(x: float) -> int:
    return int(math.floor(x + 0.5))


def count(m) -> int:
    return sum(int(v.sum()) for v in m.values())


# ---------------------------------------------------------------------------------- make_mask
@pytest.mark.parametrize("density", [0.1, 0.37, 0.5, 1.0])
def test_global_exact_count_and_top_entries(density):
    s = rnd()
    m = make_mask(s, density=density, scope="global")
    total = sum(v.numel() for v in s.values())
    assert count(m) == half_up(density * total)
    assert all(m[n].shape == s[n].shape and m[n].dtype == torch.bool for n in s)
    kept = torch.cat([s[n][m[n]] for n in s])
    dropped = torch.cat([s[n][~m[n]] for n in s])
    if len(dropped):
        assert kept.min() >= dropped.max()


@pytest.mark.parametrize("density", [0.1, 0.37, 1.0])
def test_layer_exact_count_per_tensor(density):
    s = rnd(1)
    m = make_mask(s, density=density, scope="layer", floor=0.02)  # floor unused in layer scope
    for n, v in s.items():
        assert int(m[n].sum()) == half_up(density * v.numel())
        if (~m[n]).any():
            assert v[m[n]].min() >= v[~m[n]].max()


def test_floor_on_layer_with_all_lowest_scores():
    s = {"low": torch.zeros(1000), "high": torch.rand(200) + 1}
    m = make_mask(s, density=0.1, scope="global", floor=0.02)
    assert count(m) == 120
    assert int(m["low"].sum()) == 20  # ceil(0.02 * 1000)
    assert m["low"][:20].all()  # ties by index
    # the 20 floor entries were paid for by the lowest-ranked kept entries of "high"
    assert int(m["high"].sum()) == 100
    assert s["high"][m["high"]].min() >= s["high"][~m["high"]].max()
    # without a floor the low tensor would be emptied
    assert int(make_mask(s, density=0.1)["low"].sum()) == 0
    # a floor above what the budget allows
    with pytest.raises(ValueError, match="floor 0.1 needs"):
        make_mask({"a": torch.rand(15), "b": torch.rand(15)}, density=0.1, floor=0.1)


@pytest.mark.parametrize("scope", ["global", "layer"])
@pytest.mark.parametrize("ties", [False, True])
@pytest.mark.parametrize("tie_seed", [None, 5])
def test_invert_is_the_complement_ranking(scope, ties, tie_seed):
    s = rnd(2)
    if ties:
        s = {n: torch.ones_like(v) for n, v in s.items()}
    worst = make_mask(s, density=0.3, scope=scope, invert=True, tie_seed=tie_seed)
    best = make_mask(s, density=0.7, scope=scope, tie_seed=tie_seed)
    assert count(worst) + count(best) == sum(v.numel() for v in s.values())
    for n in s:
        assert torch.equal(worst[n], ~best[n])


def test_invert_respects_floor():
    s = {"low": torch.zeros(1000), "high": torch.rand(200) + 1}
    m = make_mask(s, density=0.1, floor=0.02, invert=True)
    assert int(m["high"].sum()) == 4 and int(m["low"].sum()) == 116


def test_ties_give_a_fixed_mask():
    s = {"a": torch.zeros(4, 4), "b": torch.zeros(8)}
    m = make_mask(s, density=0.25, scope="global")
    assert m["a"].reshape(-1).tolist() == [True] * 6 + [False] * 10 and not m["b"].any()
    m2 = make_mask(s, density=0.25, scope="layer")
    assert m2["a"].reshape(-1).tolist() == [True] * 4 + [False] * 12
    assert m2["b"].tolist() == [True] * 2 + [False] * 6
    inv = make_mask(s, density=0.25, scope="global", invert=True)
    assert not inv["a"].any() and inv["b"][2:].all() and not inv["b"][:2].any()
    for _ in range(3):
        assert all(torch.equal(make_mask(s, density=0.25)[n], m[n]) for n in s)


def few_values(seed: int = 0) -> dict[str, torch.Tensor]:
    """Scores of few distinct values (like diffs over a handful of samples): 0, 0.5 or 1."""
    g = torch.Generator().manual_seed(seed)
    return {"a": torch.randint(0, 3, (40, 25), generator=g).float() / 2,
            "b": torch.randint(0, 3, (300,), generator=g).float() / 2}


@pytest.mark.parametrize("scope", ["global", "layer"])
def test_seeded_ties_split_a_tie_class_at_random_with_exact_counts(scope):
    s = few_values()
    masks_ = [make_mask(s, density=0.5, scope=scope, tie_seed=seed) for seed in range(4)]
    # exact counts, the same for every seed; the cut falls in the 0.5 class: above it always kept, below never
    for m in masks_:
        assert count(m) == count(masks_[0])
        for n in s:
            assert m[n][s[n] == 1].all() and not m[n][s[n] == 0].any()
    # the seed decides which of the tied entries are kept: masks differ, the same seed repeats
    assert any(not torch.equal(masks_[0][n], masks_[1][n]) for n in s)
    again = make_mask(s, density=0.5, scope=scope, tie_seed=0)
    assert all(torch.equal(again[n], masks_[0][n]) for n in s)
    # by flat index, the kept tied entries of the first tensor are its first ones; seeded, they are spread
    by_index = make_mask(s, density=0.5, scope=scope, tie_seed=None)
    top = 0.5
    cut_a = by_index["a"][s["a"] == top]
    assert cut_a.any() and not cut_a.all()
    idx = torch.nonzero(cut_a).squeeze(1)
    assert torch.equal(idx, torch.arange(len(idx)))  # the lowest indices of the tie class
    seeded = masks_[0]["a"][s["a"] == top]
    assert not torch.equal(torch.nonzero(seeded).squeeze(1), torch.arange(int(seeded.sum())))


def test_tie_chosen_counts_the_kept_entries_of_a_cut_tie_class():
    s = {"a": torch.tensor([3.0, 2.0, 2.0, 2.0, 1.0]), "b": torch.tensor([2.0, 0.0])}
    m = make_mask(s, density=3 / 7, scope="global", tie_seed=1)  # keeps 3: the 3.0 and two of the four 2.0
    assert masks.tie_chosen(s, m, "global") == {"tie_chosen": 2, "tie_class": 4}
    m = make_mask(s, density=4 / 7, scope="global", tie_seed=1)  # keeps 4: the 3.0 and three of the four 2.0
    assert count(m) == 4
    assert masks.tie_chosen(s, m, "global") == {"tie_chosen": 3, "tie_class": 4}
    distinct = {"a": torch.tensor([5.0, 4.0, 3.0, 2.0])}
    m = make_mask(distinct, density=0.5, tie_seed=0)
    assert masks.tie_chosen(distinct, m) == {"tie_chosen": 0, "tie_class": 0}
    m = make_mask(s, density=0.4, scope="layer", tie_seed=0)  # a keeps 2 of 5 (3.0 + one 2.0), b keeps 1 of 2
    assert masks.tie_chosen(s, m, "layer") == {"tie_chosen": 1, "tie_class": 3}


def test_bad_inputs():
    s = rnd()
    for d in (0, -0.1, 1.5, float("nan")):
        with pytest.raises(ValueError, match=r"density .* must be in \(0, 1\]"):
            make_mask(s, density=d)
    for f in (-0.1, 1.1):
        with pytest.raises(ValueError, match=r"floor must be in \[0, 1\]"):
            make_mask(s, density=0.5, floor=f)
    with pytest.raises(ValueError, match="must not exceed density"):
        make_mask(s, density=0.1, floor=0.2)
    with pytest.raises(ValueError, match="unknown scope 'local'; allowed: global, layer"):
        make_mask(s, density=0.1, scope="local")
    with pytest.raises(ValueError, match=r"lack prunable tensor\(s\) \['d'\]"):
        make_mask(s, density=0.1, shapes={"a": (30, 7), "d": (2,)})
    with pytest.raises(ValueError, match=r"'b' has shape \(100,\), the parameter has \(10, 10\)"):
        make_mask(s, density=0.1, shapes={"b": (10, 10)})
    with pytest.raises(ValueError, match="NaN"):
        make_mask({"a": torch.tensor([1.0, float("nan")])}, density=0.5)
    with pytest.raises(ValueError, match="unknown mask method 'taylor'; allowed: diff, magnitude, random"):
        mask_for(MaskConfig(parent=tiny(), method="taylor"))
    with pytest.raises(ValueError, match="parent is None"):
        mask_for(MaskConfig())
    with pytest.raises(ValueError, match="needs a parent trained with gradient statistics"):
        masks.compute_mask(MaskConfig(parent=tiny(), method="diff"))


# ------------------------------------------------------------------------------------ prunable
def test_prunable_rule():
    assert prunable(models.mlp(8, depth=2)) == ["1.weight", "3.weight", "5.weight", "7.weight"]  # head included
    assert prunable(models.mlp(8, depth=2), include_head=False)[-1] == "5.weight"
    r = models.resnet_small()
    pr = prunable(r)
    assert "fc.weight" not in pr and all(n.endswith(".weight") and "bn" not in n for n in pr)
    assert any("downsample.0" in n for n in pr)
    assert all(dict(r.named_parameters())[n].numel() >= masks.DEFAULT_MIN_SIZE for n in pr)
    assert len(prunable(r, min_size=1)) == len(pr) + sum(
        1 for n, p in r.named_parameters() if p.dim() == 4 and p.numel() < masks.DEFAULT_MIN_SIZE)
    v = models.vit_tiny()
    pv = prunable(v)
    assert len(pv) == 12 and "patch_embed.weight" not in pv and "head.weight" not in pv
    assert not any("embed" in n or "norm" in n for n in pv)
    assert layer_table({n: torch.ones(dict(v.named_parameters())[n].shape, dtype=torch.bool) for n in pv}, v)[
        "group"].tolist()[:6] == ["qkv", "qkv", "qkv", "block_output", "ff_hidden", "block_output"]
    groups = set(layer_table(make_mask(masks.magnitude_scores(r), density=0.1, shapes={
        n: dict(r.named_parameters())[n] for n in pr}), r)["group"])
    assert groups == {"conv", "shortcut"}
    with torch.device("meta"):
        resnet50_names = prunable(models.resnet50())
    assert len(resnet50_names) == 53 and "fc.weight" not in resnet50_names and "conv1.weight" in resnet50_names


@pytest.mark.parametrize("w", [64, 128, 512])
def test_scaled_parent_has_ten_times_the_weights(w):
    w2 = models.scaled_width(w, 10)
    with torch.device("meta"):
        parent = models.mlp(w2)
    params = dict(parent.named_parameters())
    total = sum(params[n].numel() for n in prunable(parent))
    assert total == models.mlp_weight_count(w2)
    assert abs(total / models.mlp_weight_count(w) - 10) <= 0.01  # 0.1 %
    assert abs(half_up(0.1 * total) / models.mlp_weight_count(w) - 1) <= 0.001


def test_layer_table_columns():
    m = models.mlp(4, depth=1)
    s = masks.random_scores({n: p.shape for n, p in m.named_parameters() if n in prunable(m)}, seed=0)
    t = layer_table(make_mask(s, density=0.5, scope="layer"), m)
    assert list(t.columns) == ["layer", "group", "depth", "size", "kept", "fraction_kept"]
    assert t["depth"].tolist() == [0, 1, 2] and set(t["group"]) == {"linear"}
    assert t["kept"].tolist() == [t2 // 2 for t2 in t["size"]]


# ------------------------------------------------------------------------------- score makers
def test_random_scores_per_name_and_seed():
    a = masks.random_scores({"x": (5,), "y": (3, 2)}, seed=1)
    b = masks.random_scores({"y": (3, 2)}, seed=1)
    assert torch.equal(a["y"], b["y"])
    assert not torch.equal(a["y"], masks.random_scores({"y": (3, 2)}, seed=2)["y"])


def test_diff_scores_from_fake_file(tmp_path):
    d = {"0.weight": torch.tensor([[-0.5, 0.25], [0.0, 1.0]])}
    torch.save({"epoch": 3, "coherence": 0.4, "diffs": d}, tmp_path / "diffs_max_trained.pt")
    manifest.write_manifest(tmp_path)
    s = masks.diff_scores(runs.Run(tiny(), tmp_path))
    assert torch.equal(s["0.weight"], d["0.weight"].abs())
    (tmp_path / "empty").mkdir()
    manifest.write_manifest(tmp_path / "empty")
    with pytest.raises(FileNotFoundError, match="no diffs_max_trained.pt"):
        masks.diff_scores(runs.Run(tiny(), tmp_path / "empty"))


def test_diff_scorer_reads_the_parent_diffs(run_cache, monkeypatch):
    """The registered diff scorer selects the prunable tensors from the parent's diffs (fake file)."""
    parent = tiny(stats=StatsConfig(every=1))
    shapes = {n: p.shape for n, p in models.mlp(8, depth=1).named_parameters() if p.dim() == 2}
    g = torch.Generator().manual_seed(0)
    fake = {n: torch.randn(s, generator=g) for n, s in shapes.items()}

    class FakeRun:
        def tensors(self, name):
            assert name == "diffs_max_trained.pt"
            return {"epoch": 1, "coherence": 1.0, "diffs": fake}

    monkeypatch.setattr(runs, "load", lambda cfg, **kw: FakeRun())
    m = mask_for(MaskConfig(parent=parent, method="diff", density=0.2, scope="layer"))
    assert all(torch.equal(m[n], make_mask({n: fake[n].abs()}, density=0.2)[n]) for n in shapes)


# ------------------------------------------------------------------------------ mask_for, training
def test_mask_for_caches_atomically(run_cache, monkeypatch):
    parent = tiny()
    before = runs.TRAIN_COUNT
    cfg = MaskConfig(parent=parent, method="random", density=0.1)
    m = mask_for(cfg)
    assert runs.TRAIN_COUNT == before  # random masks need only the parent's shapes
    cfg = MaskConfig(parent=parent, method="magnitude", density=0.1)
    with pytest.raises(runs.RunNotTrained, match=f"run {runs.config_hash(parent)} .* is not in the run cache"):
        mask_for(cfg)  # a magnitude mask reads its parent, which an earlier stage of the plan trains
    runs.train_run(parent)
    m = mask_for(cfg)
    assert runs.TRAIN_COUNT == before + 1
    folders = sorted((run_cache / "masks").iterdir())
    assert len(folders) == 2 and not any(f.name.startswith(".") for f in folders)  # one folder per mask
    assert all(sorted(p.name for p in f.iterdir()) == ["manifest.json", "mask.pt", "summary.json"] for f in folders)
    summary = mask_cache.mask_summary(cfg)
    assert summary["kept"] == sum(int(v.sum()) for v in m.values()) and summary["tensors"] == len(m)
    assert 0 <= summary["tie_chosen"] <= summary["kept"]
    monkeypatch.setattr(masks, "compute_with_summary", lambda *a: (_ for _ in ()).throw(AssertionError("recomputed")))
    again = mask_for(cfg)
    assert all(torch.equal(again[n], m[n]) for n in m)
    assert runs.TRAIN_COUNT == before + 1


@pytest.mark.parametrize("optim", [OptimConfig("sgd", 0.05, momentum=0.9, weight_decay=1e-3), OptimConfig("adam", 1e-2)])
def test_masked_weights_stay_zero(run_cache, optim):
    parent = tiny(optim=optim)
    mc = MaskConfig(parent=parent, method="magnitude", density=0.1, scope="global")
    child = replace(parent, seed=1000, mask=mc, epochs=3)
    runs.train_run(parent)  # the plan's first stage
    run = runs.train_run(child)
    sd, m = run.state_dict(), mask_for(mc)
    init = masks.magnitude_scores(models.build_model(child.model))
    for n, keep in m.items():
        assert (sd[n][~keep] == 0).all()  # exactly zero
        assert (sd[n][keep] != 0).all()
        assert not torch.equal(sd[n][keep], init[n][keep])  # and the kept weights trained
    assert sum(int((sd[n] != 0).sum()) for n in m) == half_up(0.1 * models.mlp_weight_count(8, depth=1))


def test_diff_mask_end_to_end(run_cache):
    parent = tiny(stats=StatsConfig(every=1), epochs=2)
    mc = MaskConfig(parent=parent, method="diff", density=0.1, scope="global", floor=0.02)
    child = replace(parent, seed=1000, mask=mc, stats=StatsConfig())
    prun = runs.train_run(parent)  # the plan's first stage
    run = runs.train_run(child)
    blob = prun.tensors("diffs_max_trained.pt")
    met = prun.metrics
    trained = met[met["epoch"] >= 1]
    assert blob["epoch"] == int(trained.loc[trained["coherence"].idxmax(), "epoch"])  # the max-coherence epoch
    m = mask_for(mc)
    expect = make_mask(masks.diff_scores(prun), density=0.1, floor=0.02, tie_seed=mc.seed,
                       shapes={n: p.shape for n, p in models.mlp(8, depth=1).named_parameters() if p.dim() == 2})
    assert all(torch.equal(m[n], expect[n]) for n in expect)
    sd = run.state_dict()
    assert all((sd[n][~m[n]] == 0).all() for n in m)
