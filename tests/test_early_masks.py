"""Weight snapshots (TrainConfig.snapshots) and masks made from the network as it was at an earlier epoch
(MaskConfig.epoch), checked against masks computed by hand from the snapshot."""
from __future__ import annotations

import dataclasses

import pytest
import torch

from lib import masks, paths, runs
from lib.config import MaskConfig, OptimConfig, StatsConfig, TrainConfig, config_hash
from lib.data import DataConfig, load_data
from lib.models import ModelConfig
from lib.stats import gradient_stats
from lib.train import fresh_model


def tiny(**kw) -> TrainConfig:
    base = dict(data=DataConfig("gaussian", 64, 32, seed=0), model=ModelConfig("mlp", width=16, depth=2),
                optim=OptimConfig("adam", 1e-2), batch_size=16, epochs=3, stats=StatsConfig(every=1, max_samples=48))
    base.update(kw)
    return TrainConfig(**base)


def test_snapshots_keep_the_weights_of_their_epochs(run_cache):
    cfg = tiny(snapshots=(0, 1, 3))
    run = runs.train_run(cfg)
    first = run.tensors(paths.snapshot_name(0))
    assert all(torch.equal(v, fresh_model(cfg).state_dict()[k]) for k, v in first.items())
    last = run.tensors(paths.snapshot_name(3))
    assert all(torch.equal(v, run.state_dict()[k]) for k, v in last.items())
    mid = run.tensors(paths.snapshot_name(1))
    assert any(not torch.equal(v, last[k]) for k, v in mid.items())
    with pytest.raises(FileNotFoundError):
        run.tensors(paths.snapshot_name(2))
    # snapshots do not change training: the same final weights as the run without them
    plain = runs.train_run(tiny())
    assert all(torch.equal(v, plain.state_dict()[k]) for k, v in run.state_dict().items())
    assert config_hash(tiny()) != config_hash(cfg)


def test_snapshot_settings_are_checked():
    with pytest.raises(ValueError, match="snapshots"):
        tiny(snapshots=(1, 0))
    with pytest.raises(ValueError, match="snapshots"):
        tiny(snapshots=(5,))
    parent = tiny(snapshots=(1,))
    with pytest.raises(ValueError, match="no snapshot of that epoch"):
        MaskConfig(parent=parent, method="magnitude", epoch=2)
    with pytest.raises(ValueError, match="'diff' or 'magnitude'"):
        MaskConfig(parent=parent, method="random", epoch=1)
    assert config_hash(MaskConfig(parent=parent)) == config_hash(MaskConfig(parent=parent, epoch=-1))


def test_early_masks_rank_the_snapshot(run_cache):
    parent = tiny(snapshots=(1, 3))
    run = runs.train_run(parent)
    w1 = run.tensors(paths.snapshot_name(1))
    model = fresh_model(parent)
    shapes = {n: p.shape for n, p in model.named_parameters() if n in masks.prunable(model, 1)}
    # magnitude at epoch 1: the ranking of |w| after epoch 1
    cfg = MaskConfig(parent=parent, method="magnitude", density=0.3, scope="layer", min_size=1, epoch=1, seed=4)
    want = masks.make_mask({n: w1[n].abs() for n in shapes}, density=0.3, scope="layer", shapes=shapes, tie_seed=4)
    got = runs.mask_for(cfg)
    assert all(torch.equal(got[n], want[n]) for n in shapes)
    # diff at epoch 1: the ranking of |diffs| of those weights on the parent's statistics images
    model.load_state_dict(w1)
    d = load_data(parent.data)
    st = gradient_stats(model, (d.x_train[:48], d.y_train[:48]), progress=False)
    dcfg = dataclasses.replace(cfg, method="diff")
    want = masks.make_mask({n: st.diffs[n].abs() for n in shapes}, density=0.3, scope="layer", shapes=shapes, tie_seed=4)
    got = runs.mask_for(dcfg)
    assert all(torch.equal(got[n], want[n]) for n in shapes)
    # at the last epoch the magnitude mask equals the final-weights mask
    last = runs.mask_for(dataclasses.replace(cfg, epoch=3))
    final = runs.mask_for(dataclasses.replace(cfg, epoch=-1))
    assert all(torch.equal(last[n], final[n]) for n in shapes)
