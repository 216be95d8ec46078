"""lib.cluster against a real single-node SLURM cluster (bash scripts/slurm_up.sh; .ci/run does it).

Skipped, with the reason, when sbatch is not installed or the local cluster is not up; with
BOOK_REQUIRE_SLURM=1 (set by .ci/run once the cluster is up) those cases fail instead. Only the
cluster that scripts/slurm_up.sh starts is used (its SLURM_CONF), never a cluster the environment
may point at. Jobs run on the CPU, with one thread, in a temporary run cache.
"""
from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import pandas as pd
import pytest
import torch

from lib import cluster, paths, runs, settings
from lib import experiments as ex
from lib.data import DataConfig
from lib.models import ModelConfig
from lib.config import OptimConfig, StatsConfig, TrainConfig
from lib.plan import configs, from_configs

CONF = settings.slurm_dir() / "slurm.conf"  # BOOK_SLURM_DIR, else /tmp/book-slurm
SETTINGS = dict(gpus_per_node=0, cpus_per_task=1, timeout_min=10, signal_delay_s=30)


@functools.lru_cache(maxsize=1)
def _unavailable() -> str | None:
    """Why the local cluster cannot be used (None: it can); asked once per session (sinfo may take
    10 s to give up on a controller that is not running)."""
    if shutil.which("sbatch") is None:
        return "sbatch is not on PATH (SLURM not installed): run `bash scripts/slurm_up.sh`, which installs it"
    if not CONF.exists():
        return f"the local test cluster was never brought up ({CONF} missing): run `bash scripts/slurm_up.sh`"
    try:  # no controller process: no need to wait for sinfo to time out
        os.kill(int((CONF.parent / "slurmctld.pid").read_text()), 0)
    except (OSError, ValueError):
        return f"the local test cluster ({CONF}) is not up (no slurmctld running): run `bash scripts/slurm_up.sh`"
    r = subprocess.run(["sinfo", "-h", "-o", "%T"], capture_output=True, text=True,
                       env={**os.environ, "SLURM_CONF": str(CONF)}, timeout=30)
    usable = [x for x in r.stdout.split() if not re.match(r"down|drain|fail|unk|not_resp|inval", x)]
    if r.returncode != 0 or not usable:
        return f"the local test cluster ({CONF}) is not up: run `bash scripts/slurm_up.sh`"
    return None


@pytest.fixture()
def slurm(tmp_path, monkeypatch):
    reason = _unavailable()
    if reason:
        if settings.require_slurm():  # BOOK_REQUIRE_SLURM
            pytest.fail(reason)
        pytest.skip(reason)
    monkeypatch.setenv("SLURM_CONF", str(CONF))
    monkeypatch.setenv("BOOK_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # exported to the jobs
    monkeypatch.delenv("BOOK_CHECKPOINT", raising=False)
    monkeypatch.delenv("BOOK_CHECKPOINT_SECONDS", raising=False)
    yield tmp_path / "runs"
    mine = [r["job_id"] for r in map(cluster.read_job, _recorded()) if r]
    if mine:  # leave nothing running on the cluster
        subprocess.run(["scancel", *mine], capture_output=True)


def _recorded() -> list[str]:
    folder = paths.runs_dir() / "train"
    return [p.name[5:-5] for p in folder.glob(".job-*.json")] if folder.exists() else []


def mlp(**kw) -> TrainConfig:
    base = dict(data=DataConfig("gaussian", 64, 32, seed=0), model=ModelConfig("mlp", width=8, depth=1),
                optim=OptimConfig("adam", 1e-2), batch_size=16, epochs=2, stats=StatsConfig(every=1, max_samples=32))
    base.update(kw)
    return TrainConfig(**base)


def release_requeued(job_id: str, timeout_s: float = 120) -> None:
    """SLURM holds a requeued job for 2 minutes (reason BeginTime); let it start at once."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout_s:
        state, reason = (cluster.queue() or {}).get(job_id, ("", ""))
        if state == "PENDING" and reason == "BeginTime":
            subprocess.run(["scontrol", "update", f"JobId={job_id}", "StartTime=now"], check=True)
            return
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} was not requeued within {timeout_s} s")


def statuses(planned) -> list[list[str]]:
    return [[p.status for p in s] for s in planned]


def test_smoke_pruning_experiment_through_slurm(slurm):
    base = mlp()
    args = dict(widths=(4,), methods=("diff", "magnitude", "random"), seeds=(0,))
    stages = cluster.experiment_plan("prune_sweep", base, **args)
    assert [len(s) for s in stages] == [1, 4]  # the parent, then 3 children and the dense "none" run
    settings = cluster.SlurmSettings(**SETTINGS)

    first = cluster.submit_slurm(stages, settings)
    assert statuses(first) == [["submitted"], ["submitted"] * 4]
    parent_job = first[0][0].job["job_id"]
    assert all(p.job["dependency"] == [parent_job] for p in first[1]), "children wait for their parent"
    ids = {p.hash: p.job["job_id"] for s in first for p in s}

    again = cluster.submit_slurm(stages, settings)  # a second invocation re-attaches, submits nothing
    assert not [p for s in again for p in s if p.status == "submitted"]
    assert {p.hash: p.job["job_id"] for s in again for p in s} == ids

    done = cluster.wait_for(stages, poll_s=1, timeout_s=300)
    assert statuses(done) == [["done"], ["done"] * 4], [p.line() for s in done for p in s]
    for s in done:
        for p in s:  # each job trained exactly its own run: no child trained its parent itself
            assert "this job trained 1 run(s)" in Path(p.job["stdout"]).read_text(), p.line()

    third = cluster.submit_slurm(stages, settings)
    assert statuses(third) == [["done"], ["done"] * 4]
    before = runs.TRAIN_COUNT
    df = ex.prune_sweep(stages)  # what the chapter reads: everything is cached
    assert runs.TRAIN_COUNT == before and len(df) == 4


def test_time_limit_signal_requeues_and_the_run_resumes_identically(slurm, tmp_path):
    cfg = mlp(data=DataConfig("gaussian", 512, 64, seed=0), model=ModelConfig("mlp", width=32, depth=1),
              epochs=25, stats=StatsConfig(every=5, max_samples=64), track=("1.weight",))
    h = runs.config_hash(cfg)
    [[planned]] = cluster.submit_slurm(from_configs([[cfg]]), cluster.SlurmSettings(**SETTINGS))
    job_id = planned.job["job_id"]
    latest = paths.checkpoint_dir(h) / "LATEST"
    t0 = time.monotonic()
    while not (latest.exists() and int(latest.read_text().split("-")[1]) >= 3):
        assert time.monotonic() - t0 < 180, "the job wrote no checkpoint after epoch 3 in 180 s"
        assert not runs.is_cached(cfg), "the run finished before it could be interrupted: make it longer"
        time.sleep(0.2)
    # what SLURM sends signal_delay_s before the time limit (and on pre-emption)
    subprocess.run(["scancel", "--signal=USR2", job_id], check=True)
    release_requeued(job_id)
    [[final]] = cluster.wait_for(from_configs([[cfg]]), poll_s=1, timeout_s=300)
    assert final.status == "done", final.line()
    log = Path(final.job["stdout"]).read_text() + Path(final.job["stderr"]).read_text()
    assert "Caught signal SIGUSR2" in log and f"Requeued job {job_id}" in log, log[-2000:]
    m = re.search(r"from its checkpoint after epoch (\d+)", log)
    assert m and int(m.group(1)) >= 3, log[-2000:]

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        os.environ["BOOK_RUNS_DIR"] = str(tmp_path / "reference")
        ref = runs.train_run(cfg)  # uninterrupted, in this process
    finally:
        torch.set_num_threads(threads)
        os.environ["BOOK_RUNS_DIR"] = str(slurm)
    got = runs.Run(cfg, paths.run_dir(h))
    pd.testing.assert_frame_equal(got.metrics, ref.metrics, check_exact=True)
    for k, v in ref.state_dict().items():
        assert torch.equal(got.state_dict()[k], v), k
    assert sorted(p.name for p in got.path.iterdir()) == sorted(p.name for p in ref.path.iterdir())


def test_failed_job_is_reported_with_its_log(slurm):
    bad = mlp(init_from=mlp(model=ModelConfig("mlp", width=16, depth=1)))  # model mismatch: fails at once
    [[p]] = cluster.submit_slurm(from_configs([[bad]]), cluster.SlurmSettings(**SETTINGS))
    assert p.status == "submitted"
    [[p]] = cluster.wait_for(from_configs([[bad]]), poll_s=1, timeout_s=120)
    assert p.status == "failed" and "init_from has model" in p.detail, p.line()
    assert p.job["stderr"] in p.line() and "init_from has model" in Path(p.job["stderr"]).read_text()


def test_bad_settings_fail_before_anything_is_submitted(slurm, tmp_path, monkeypatch):
    stages = from_configs([[mlp()]])
    n_jobs = len(cluster.queue() or {})
    with pytest.raises(cluster.ClusterError, match=r"unknown partition 'nope'; this cluster has: debug \(default\)"):
        cluster.submit_slurm(stages, cluster.SlurmSettings(**{**SETTINGS, "partition": "nope"}))
    with pytest.raises(cluster.ClusterError, match="partition 'debug' has no GPUs"):
        cluster.submit_slurm(stages, cluster.SlurmSettings(**{**SETTINGS, "gpus_per_node": 1}))
    with pytest.raises(cluster.ClusterError, match="sbatch refused the 1 job.*unrecognized option '--bogus-flag=1'"):
        cluster.submit_slurm(stages, cluster.SlurmSettings(**{**SETTINGS, "extra": {"bogus-flag": "1"}}))
    empty = tmp_path / "bin"
    empty.mkdir()
    path = os.environ["PATH"]
    monkeypatch.setenv("PATH", str(empty))
    with pytest.raises(cluster.ClusterError, match="sbatch is not on PATH"):
        cluster.submit_slurm(stages, cluster.SlurmSettings(**SETTINGS))
    monkeypatch.setenv("PATH", path)
    assert len(cluster.queue() or {}) == n_jobs and not _recorded()


def test_one_minute_time_limit_requeues_and_resumes(slurm):
    """A run that needs far more than its 1-minute limit: SLURM itself signals it before the limit, submitit
    requeues it, and the requeued job resumes from the checkpoint (the test then cancels it)."""
    cfg = mlp(data=DataConfig("gaussian", 512, 64, seed=0), model=ModelConfig("mlp", width=32, depth=1),
              epochs=100_000, stats=StatsConfig())
    # SLURM sends the signal up to 30 s early (it checks limits every 30 s): 15 s leaves Python time to start
    settings = cluster.SlurmSettings(**{**SETTINGS, "timeout_min": 1, "signal_delay_s": 15})
    [[planned]] = cluster.submit_slurm(from_configs([[cfg]]), settings)
    job_id = planned.job["job_id"]
    release_requeued(job_id, timeout_s=150)  # SLURM signals it 15-45 s after it starts
    log = Path(planned.job["stderr"])
    t0 = time.monotonic()
    while not re.search(r"from its checkpoint after epoch [1-9]", log.read_text()):
        assert time.monotonic() - t0 < 90, log.read_text()[-2000:]
        time.sleep(0.5)
    subprocess.run(["scancel", job_id], check=True)
    text = log.read_text() + Path(planned.job["stdout"]).read_text()
    assert "Caught signal SIGUSR2" in text and "this job is timed-out" in text and f"Requeued job {job_id}" in text
    assert not runs.is_cached(cfg)


def test_book_command_submits_a_chapter_whose_notebook_then_trains_nothing(slurm, tmp_path, capsys, monkeypatch):
    """`build_book.py --executor slurm` for chapter 04 at the smoke profile, then the chapter itself."""
    import importlib.util
    import sys

    import papermill as pm

    root = Path(__file__).resolve().parent.parent
    if not os.environ.get("CIFAR10_PATH") and not (root / "data").exists():
        pytest.skip("chapter 04 needs CIFAR-10 (set CIFAR10_PATH)")
    spec = importlib.util.spec_from_file_location("build_book_slurm", root / "scripts" / "build_book.py")
    bb = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("build_book_slurm", bb)
    spec.loader.exec_module(bb)
    argv = ["--profile", "smoke", "--chapters", "04", "--executor", "slurm", "--gpus-per-node", "0",
            "--cpus-per-task", "1", "--timeout-min", "10"]
    from lib.chapters import registry
    from lib.config import config_hash

    n = len({config_hash(c) for c in configs(registry.plan("04", profile="smoke"))})
    assert n == 8  # 2 MLP widths and chapter 2's ResNet and ViT on real data, 2 seeds each
    assert bb.main(argv) == 0
    assert f"chapter 04: {n} runs: 0 done, 0 running, {n} submitted, 0 failed" in capsys.readouterr().out
    done = cluster.wait_for(cluster.chapter_plan("04", profile="smoke"), poll_s=1, timeout_s=300)
    assert all(p.status == "done" for s in done for p in s), [p.line() for s in done for p in s]
    assert bb.main(argv) == 0
    assert f"chapter 04: {n} runs: {n} done, 0 running, 0 submitted, 0 failed" in capsys.readouterr().out

    before = sorted(p.name for p in (slurm / "train").iterdir())
    monkeypatch.setenv("PYTHONPATH", str(root))  # the kernel imports lib/ (build_book.py does the same)
    pm.execute_notebook(str(root / "chapters" / "04_width.ipynb"), str(tmp_path / "04.ipynb"),
                        parameters={"profile": "smoke"}, cwd=str(root / "chapters"), progress_bar=False)
    after = sorted(p.name for p in (slurm / "train").iterdir())
    assert after == before, "the chapter trained runs the SLURM jobs should have trained"
