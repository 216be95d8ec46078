"""Experiments: plans, readers that return tidy frames and never train, and sweeps (trained by the one
executor) that resume without retraining and survive interruptions."""
from __future__ import annotations


import dataclasses

import pandas as pd
import pytest
import torch

from lib import experiments as ex
from lib import masks, parallel, runs
from lib.data import DataConfig
from lib.plan import Plan, configs, merge, stage_configs
from lib.runs import mask_for
from lib.models import ModelConfig, mlp_weight_count, scaled_width
from lib.config import OptimConfig, StatsConfig, TrainConfig


def tiny(**kw) -> TrainConfig:
    base = dict(data=DataConfig("gaussian", 64, 32, seed=0), model=ModelConfig("mlp", width=8, depth=1),
                optim=OptimConfig("adam", 1e-2), batch_size=32, epochs=2)
    base.update(kw)
    return TrainConfig(**base)


def W(w: int) -> int:
    return int(mlp_weight_count(w, depth=1))


def trained(plan: Plan) -> Plan:
    """``plan``, its missing runs trained by the one executor (in this process)."""
    parallel.train(plan)
    return plan


def test_width_sweep_and_max_coherence(run_cache):
    df = ex.width_sweep(trained(ex.plan_width_sweep(tiny(), widths=(4, 8))))
    assert len(df) == 2 * 3 and {"width", "seed", "weights", "epoch", "test_acc"} <= set(df.columns)
    assert sorted(set(df["weights"])) == [W(4), W(8)]
    fake = pd.DataFrame({"width": [4] * 3 + [8] * 3, "seed": 0, "epoch": [0, 1, 2] * 2,
                         "coherence": [9.0, 2.0, 1.0, 0.5, 1.5, 3.0], "train_acc": 1.0, "test_acc": 0.25})
    mc = ex.max_coherence_by_width(fake)
    assert mc["max_coherence"].tolist() == [2.0, 3.0] and mc["epoch_of_max"].tolist() == [1, 2]
    assert ex.max_coherence_by_width(fake, include_init=True)["max_coherence"].tolist() == [9.0, 3.0]
    assert mc["final_gap"].tolist() == [0.75, 0.75]
    with pytest.raises(ValueError, match="no column 'coherence'"):
        ex.max_coherence_by_width(df)


def test_prune_sweep_resumes_without_retraining(run_cache):
    base = tiny()
    before = runs.TRAIN_COUNT
    plan = ex.plan_prune_sweep(base, widths=(4, 8), methods=("magnitude", "random"))
    final, curves = ex.prune_sweep(trained(plan), curves=True)
    assert runs.TRAIN_COUNT - before == 2 + 2 * 3  # 2 parents, 2 x (2 children + none)
    assert len(final) == 6 and set(final["method"]) == {"magnitude", "random", "none"}
    assert {"train_loss", "test_loss", "train_acc", "test_acc", "gap", "nonzero_weights", "width", "seed"} <= set(final.columns)
    for _, r in final.iterrows():
        expect = W(r.width) if r.method == "none" else int(0.1 * W(scaled_width(r.width, 10, depth=1)) + 0.5)
        assert r.nonzero_weights == expect
        assert r.parent_width == scaled_width(r.width, 10, depth=1)
    assert (final["gap"] == final["train_acc"] - final["test_acc"]).all()
    assert len(curves) == 6 * 3 and {"method", "width", "epoch"} <= set(curves.columns)
    again = ex.prune_sweep(trained(ex.plan_prune_sweep(base, widths=(4, 8), methods=("magnitude", "random"))))
    assert runs.TRAIN_COUNT - before == 8
    pd.testing.assert_frame_equal(again, final)


def test_interrupted_sweep_trains_only_the_missing_runs(run_cache, monkeypatch):
    base = tiny()
    real_train = runs.train

    def crashing(cfg, out_dir, **kw):
        if cfg.mask is not None and cfg.mask.method == "random" and cfg.model.width == scaled_width(8, 10, depth=1):
            raise RuntimeError("simulated crash")
        return real_train(cfg, out_dir, **kw)

    monkeypatch.setattr(runs, "train", crashing)
    before = runs.TRAIN_COUNT
    plan = ex.plan_prune_sweep(base, widths=(4, 8), methods=("magnitude", "random"))
    with pytest.raises(parallel.RunFailed, match="simulated crash"):
        parallel.train(plan)
    assert runs.TRAIN_COUNT - before == 2 + 3 + 1  # parents, width 4's three runs, width 8's magnitude child
    assert not [p for p in (run_cache / "train").iterdir() if p.name.startswith(".tmp")]
    monkeypatch.setattr(runs, "train", real_train)
    mid = runs.TRAIN_COUNT
    final = ex.prune_sweep(trained(plan))
    assert runs.TRAIN_COUNT - mid == 2 and len(final) == 6


def test_parent_scaling_keeps_the_nonzero_count(run_cache):
    before = runs.TRAIN_COUNT
    df = ex.parent_scaling(trained(ex.plan_parent_scaling(tiny(), base_width=4, ratios=(1, 3),
                                                          methods=("magnitude", "random"))))
    assert runs.TRAIN_COUNT - before == 1 + 1 + 2  # none, one parent, two children
    assert sorted(df["method"]) == ["magnitude", "none", "random"]
    assert (df["nonzero_weights"] == W(4)).all()
    none = df[df["method"] == "none"].iloc[0]
    assert none["ratio"] == 1 and none["density"] == 1
    child = df[df["method"] == "random"].iloc[0]
    assert child["parent_width"] == scaled_width(4, 3, depth=1) and abs(child["density"] - 1 / 3) < 0.02


def test_prune_large_vit(run_cache):
    base = tiny(model=ModelConfig("vit_tiny"), epochs=1)
    res, layers = ex.prune_large(trained(ex.plan_prune_large(base, methods=("none", "random_10", "magnitude_best",
                                                                            "magnitude_worst"))))
    assert res["method"].tolist() == ["none", "random_10", "magnitude_best", "magnitude_worst"]
    assert (res["seed"] == 0).all() and set(res["scope"]) == {"global"}
    assert len(layers) == 3 * 12 and set(layers["group"]) == {"qkv", "ff_hidden", "block_output"}
    for m, g in layers.groupby("method"):
        assert g["kept"].sum() == int(0.1 * g["size"].sum() + 0.5)
        assert (g["fraction_kept"] >= 0.02 - 1e-9).all()
    best = layers[layers["method"] == "magnitude_best"].set_index("layer")["kept"]
    worst = layers[layers["method"] == "magnitude_worst"].set_index("layer")["kept"]
    assert not best.equals(worst)
    dense = res.set_index("method")["nonzero_weights"]
    pruned = int(layers[layers["method"] == "random_10"]["size"].sum()) - int(layers[layers["method"] == "random_10"]["kept"].sum())
    assert dense["none"] - dense["random_10"] == pruned


def test_bad_inputs_fail_when_planned(run_cache):
    before = runs.TRAIN_COUNT
    with pytest.raises(ValueError, match="need parents trained with gradient statistics"):
        ex.plan_prune_sweep(tiny(), widths=(4,), methods=("diff",))
    with pytest.raises(ValueError, match=r"unknown method\(s\) \['obd'\]"):
        ex.plan_prune_sweep(tiny(), widths=(4,), methods=("obd",))
    with pytest.raises(ValueError, match=r"unknown method\(s\) \['magnitude'\]; allowed: none, random"):
        ex.plan_prune_large(tiny(), methods=("magnitude",))
    with pytest.raises(ValueError, match="density"):
        ex.plan_prune_sweep(tiny(), widths=(4,), methods=("random",), density=0)
    assert runs.TRAIN_COUNT == before


def test_plan_experiment_stages():
    stages = stage_configs(ex.plan_experiment("prune_sweep", tiny(), widths=(4, 8), methods=("magnitude", "random")))
    assert [len(s) for s in stages] == [2, 6]
    assert all(c.mask is None and c.seed == 0 for c in stages[0])
    assert {c.seed for c in stages[1]} == {ex.CHILD_SEED_OFFSET}
    only_random = ex.plan_experiment("prune_sweep", tiny(), widths=(4,), methods=("random",))
    assert [len(s) for s in only_random] == [0, 2]
    assert [p.labels for p in only_random[1]] == [{"width": 4, "parent_width": scaled_width(4, 10, depth=1), "seed": 0,
                                                   "density": 0.1, "method": m} for m in ("random", "none")]
    with pytest.raises(ValueError, match="unknown experiment"):
        ex.plan_experiment("nope")


def test_readers_never_train(run_cache, monkeypatch):
    """Every reader of lib.experiments reads a trained plan without training, and names the missing run and
    the chapter when a run of its plan is not in the cache."""
    base = tiny(stats=StatsConfig(every=1))
    plans = {"width_sweep": ex.plan_width_sweep(base, widths=(4,)),
             "prune_sweep": ex.plan_prune_sweep(base, widths=(4,), methods=("diff", "random")),
             "parent_scaling": ex.plan_parent_scaling(base, base_width=4, ratios=(2,), methods=("magnitude",)),
             "prune_large": ex.plan_prune_large(base, methods=("none", "random", "coherence_best"))}
    readers = {"width_sweep": ex.width_sweep, "prune_sweep": ex.prune_sweep, "parent_scaling": ex.parent_scaling,
               "prune_large": ex.prune_large}
    parallel.train(merge(plans.values()))

    def no_training(*a, **k):
        raise AssertionError("a reader trained a run")

    monkeypatch.setattr(runs, "train_run", no_training)
    monkeypatch.setattr(runs, "train", no_training)
    before = runs.TRAIN_COUNT
    for name, plan in plans.items():
        out = readers[name](plan)
        assert len(out[0] if isinstance(out, tuple) else out), name
    assert runs.TRAIN_COUNT == before
    missing = ex.plan_prune_sweep(base, widths=(4,), methods=("random",), seeds=(7,))
    child = missing[-1][0].config
    with pytest.raises(runs.RunNotTrained, match=rf"run {runs.config_hash(child)} \(mlp w={child.model.width} gaussian seed 1007 random "
                                                 r"mask d=0.1, 2 epochs\) is not in the run cache .*chapter 05's plan"):
        ex.prune_sweep(missing, chapter="05")


@pytest.mark.parametrize("method", ["snip", "grasp", "synflow"])
def test_a_pruning_at_initialisation_child_starts_from_the_network_its_mask_scored(run_cache, monkeypatch, method):
    """The child of a snip/grasp/synflow mask is planned with its parent's seed and model, and training builds
    its first weights bit for bit as the network the scorer saw (masked); random and magnitude children still
    start from seed + CHILD_SEED_OFFSET, another network."""
    plan = ex.plan_prune_sweep(tiny(epochs=0), widths=(4,), methods=(method, "random", "magnitude"), seeds=(3,), ratio=2)
    children = {c.mask.method: c for c in stage_configs(plan)[1] if c.mask is not None}
    child = children[method]
    assert child.seed == child.mask.parent.seed == 3 and child.model == child.mask.parent.model
    assert children["random"].seed == children["magnitude"].seed == 3 + ex.CHILD_SEED_OFFSET
    assert ex.start_where_scored(child) == child and ex.start_where_scored(children["random"]) == children["random"]
    seen: dict[str, torch.Tensor] = {}
    real = masks.init_scores

    def spy(m, model, x, y, **kw):  # records the network the scorer is handed
        seen.update({k: v.detach().clone() for k, v in model.state_dict().items()})
        return real(m, model, x, y, **kw)

    monkeypatch.setattr(masks, "init_scores", spy)
    trained(plan)
    run = runs.load(child)  # 0 epochs: the run's weights are its masked start
    mask = mask_for(child.mask)
    start = run.state_dict()
    assert seen and set(seen) == set(start)
    for k, v in start.items():
        want = seen[k] * mask[k] if k in mask else seen[k]
        assert torch.equal(v, want), k
    assert all(torch.equal(runs.initial_model(child).state_dict()[k], seen[k]) for k in seen)
    other = runs.initial_model(children["random"]).state_dict()
    assert not any(torch.equal(other[k], seen[k]) for k in seen if seen[k].dim() >= 2)


def test_start_where_scored_moves_only_pruning_at_initialisation_children():
    parent = tiny(seed=5, model=ModelConfig("mlp", width=16, depth=1))
    for method in masks.INIT_METHODS:
        far = tiny(seed=1005, mask=ex.MaskConfig(parent=parent, method=method, density=0.5, seed=5))
        moved = ex.start_where_scored(far)
        assert (moved.seed, moved.model) == (5, parent.model)
        assert dataclasses.replace(moved, seed=far.seed, model=far.model) == far  # nothing else changes
        assert ex.child_seed(5, method) == 5
        with pytest.raises(ValueError, match="not from another run"):
            ex.start_where_scored(dataclasses.replace(far, init_from=parent))
    for method in ("random", "magnitude", "diff", None):
        assert ex.child_seed(5, method) == 5 + ex.CHILD_SEED_OFFSET
    rnd = tiny(seed=1005, mask=ex.MaskConfig(parent=parent, method="random", density=0.5, seed=5))
    assert ex.start_where_scored(rnd) is rnd and ex.start_where_scored(parent) is parent


def test_layer_scope_shares_parents_and_dense_runs_with_global():
    from lib.config import config_hash

    args = dict(widths=(4, 8), methods=("magnitude", "random"), seeds=(0, 1))
    glob = stage_configs(ex.plan_prune_sweep(tiny(), **args))
    layer = stage_configs(ex.plan_prune_sweep(tiny(), scope="layer", **args))
    h = lambda stages: {config_hash(c) for st in stages for c in st}  # noqa: E731
    assert {config_hash(c) for c in glob[0]} == {config_hash(c) for c in layer[0]}  # the same parents
    dense = lambda st: {config_hash(c) for c in st[1] if c.mask is None}  # noqa: E731
    assert dense(glob) == dense(layer) and len(dense(glob)) == 4
    assert {c.mask.scope for c in layer[1] if c.mask is not None} == {"layer"}
    both = stage_configs(merge([ex.plan_prune_sweep(tiny(), **args), ex.plan_prune_sweep(tiny(), scope="layer", **args)]))
    assert h(both) == h(glob) | h(layer) and sum(map(len, both)) == len(h(glob)) + 2 * 2 * 2


def test_prune_sweep_with_diff_masks(run_cache):
    base = tiny(stats=StatsConfig(every=1))
    df = ex.prune_sweep(trained(ex.plan_prune_sweep(base, widths=(4,), methods=("diff", "random"))))
    assert sorted(df["method"]) == ["diff", "none", "random"]
    child = configs(ex.plan_prune_sweep(base, widths=(4,), methods=("diff",)))[1]
    assert child.stats == StatsConfig() and child.mask.parent.stats.every == 1
    m = mask_for(child.mask)
    sd = runs.load(child).state_dict()
    assert all((sd[n][~m[n]] == 0).all() for n in m)
    assert df.set_index("method").loc["diff", "nonzero_weights"] == int(0.1 * W(scaled_width(4, 10, depth=1)) + 0.5)
