"""The plan check (``build_book.py --validate``, :mod:`lib.book.dryrun`): it passes a sound plan and
stops at the first run that cannot execute, naming it."""
from __future__ import annotations

from dataclasses import replace

import pytest

from lib.book import dryrun
from lib.config import MaskConfig, StatsConfig, TrainConfig, config_hash
from lib.data import DataConfig
from lib.models import ModelConfig
from lib.plan import configs, from_configs


def _mlp(**kw) -> TrainConfig:
    base = TrainConfig(data=DataConfig(dataset="gaussian", n_train=8, n_test=8),
                       model=ModelConfig(arch="mlp", width=16, depth=2), epochs=2, batch_size=4,
                       stats=StatsConfig(every=1, max_samples=8))
    return replace(base, **kw)


def test_a_sound_plan_passes_and_seeds_or_mask_method_share_one_check():
    parent = _mlp()
    kids = [_mlp(seed=s, mask=MaskConfig(parent=parent, method=m, density=0.3, seed=s))
            for s in (0, 1) for m in ("random", "diff", "magnitude")]
    lines: list[str] = []
    done = dryrun.check_plans([("05", from_configs([[parent], kids]))], out=lines.append)
    assert done.runs == {"05": 7} and done.distinct == 7
    assert done.checked == 2  # the parent, and one child path for both seeds and all three methods
    assert lines == [lines[0]] and lines[0].startswith("chapter 05: 7 planned runs ok")


def test_a_checked_run_leaves_no_files_behind(tmp_path, monkeypatch):
    """Checking the paper plan trains hundreds of stand-in runs; each one's checkpoints and statistics files
    (hundreds of MB for the widest MLPs) are removed when its check ends, passed or failed."""
    dryrun.check_run(_mlp(), tmp_path)
    assert list(tmp_path.iterdir()) == []

    def fails_after_writing(cfg, out, **kw):
        out.mkdir(parents=True)
        (out / "diffs_max.pt").write_bytes(b"x" * 1000)
        raise OSError("disk full")

    monkeypatch.setattr(dryrun, "train", fails_after_writing)
    with pytest.raises(OSError, match="disk full"):
        dryrun.check_run(_mlp(), tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_gaussian_data_without_sizes_fails_naming_the_run():
    bad = _mlp(data=DataConfig(dataset="gaussian", n_train=0, n_test=0))
    with pytest.raises(dryrun.PlanCheckFailed, match="gaussian data needs explicit n_train") as info:
        dryrun.check_plans([("02", from_configs([[_mlp(), bad]]))], out=lambda s: None)
    assert f"chapter 02: run {config_hash(bad)}" in str(info.value) and info.value.config == bad


def test_every_run_gets_the_cheap_checks_even_when_its_path_was_checked():
    """A diff mask needs a parent with statistics: caught although a random mask of the same shape passed."""
    parent = _mlp(stats=StatsConfig(every=0))
    ok = _mlp(mask=MaskConfig(parent=parent, method="random", density=0.3))
    bad = _mlp(mask=MaskConfig(parent=parent, method="diff", density=0.3))
    assert dryrun.signature(ok) == dryrun.signature(bad)
    with pytest.raises(dryrun.PlanCheckFailed, match="needs a parent trained with gradient statistics"):
        dryrun.check_plans([("05", from_configs([[parent], [ok, bad]]))], out=lambda s: None)


def test_a_floor_the_density_cannot_pay_for_fails():
    parent = _mlp()
    bad = _mlp(mask=MaskConfig(parent=parent, method="random", density=0.01, floor=0.5))
    with pytest.raises(dryrun.PlanCheckFailed):
        dryrun.check_plans([("05", from_configs([[parent], [bad]]))], out=lambda s: None)


def test_the_smoke_plan_of_chapter_04_can_run(stand_in_fingerprint):
    from lib.chapters import registry

    stages = registry.plan("04", profile="smoke")
    done = dryrun.check_plans([("04", stages)], out=lambda s: None)
    assert done.runs["04"] == len({config_hash(c) for c in configs(stages)}) > 0
