"""benchmarks/gpu_check.py's arithmetic: statistics passes per run, the projection of a plan's device time from
timed step kinds, and one timing group per step kind (no GPU needed: nothing here times anything)."""
from __future__ import annotations

import dataclasses
import importlib.util
from pathlib import Path

import pytest

from lib.config import MaskConfig, OptimConfig, StatsConfig, TrainConfig, config_hash
from lib.data import DataConfig
from lib.models import ModelConfig

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("gpu_check", ROOT / "benchmarks" / "gpu_check.py")
gpu_check = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(gpu_check)

BASE = TrainConfig(data=DataConfig("cifar10", 5000, 1000), model=ModelConfig("mlp", width=64, depth=2),
                   optim=OptimConfig("adam", 1e-3), epochs=10)


def test_statistics_passes_count_epoch_zero_every_k_and_the_last_once():
    assert gpu_check.stats_passes(BASE) == 0
    assert gpu_check.stats_passes(dataclasses.replace(BASE, stats=StatsConfig(every=1))) == 11
    assert gpu_check.stats_passes(dataclasses.replace(BASE, stats=StatsConfig(every=3))) == 5  # 0, 3, 6, 9, 10
    assert gpu_check.stats_passes(dataclasses.replace(BASE, stats=StatsConfig(every=5))) == 3  # 0, 5, 10


@pytest.mark.usefixtures("stand_in_fingerprint")
def test_projection_sums_epochs_and_statistics_per_run():
    stats = dataclasses.replace(BASE, stats=StatsConfig(every=5, max_samples=200), seed=1)
    child = dataclasses.replace(BASE, mask=MaskConfig(parent=BASE, method="random", density=0.5))
    k, kc = gpu_check.step_key(BASE), gpu_check.step_key(child)
    assert gpu_check.step_key(stats) == k != kc  # statistics and seed do not change a step's cost; a mask may
    secs = gpu_check.project([BASE, stats, child], {k: 2.0, kc: 3.0}, {k: 0.01, kc: 0.0}, {k: 5000, kc: 5000})
    assert secs[config_hash(BASE)] == pytest.approx(20.0)
    assert secs[config_hash(stats)] == pytest.approx(20.0 + 3 * 200 * 0.01)
    assert secs[config_hash(child)] == pytest.approx(30.0)
    whole = dataclasses.replace(stats, stats=StatsConfig(every=10))  # max_samples 0: the whole training split
    assert gpu_check.project([whole], {k: 0.0}, {k: 0.001}, {k: 5000})[config_hash(whole)] == pytest.approx(10.0)
