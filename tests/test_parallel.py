"""lib.parallel, the one executor: a plan's runs trained in worker processes give the runs of sequential
training, bit for bit; parents train before their children; a failing run stops the call naming the run;
the build's progress lines with two workers; a smoke chapter plan with one and two workers."""
from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from lib import cluster, parallel, runs
from lib.book import progress
from lib.book.layout import BuildError
from lib.chapters import registry
from lib.config import MaskConfig, OptimConfig, StatsConfig, TrainConfig, config_hash
from lib.plan import Plan, configs, distinct, from_configs
from lib.data import DataConfig
from lib.models import ModelConfig


def mlp(**kw) -> TrainConfig:
    """A tiny MLP on Gaussian data with per-sample statistics (no dataset file needed)."""
    base = dict(data=DataConfig("gaussian", 64, 32, seed=0), model=ModelConfig("mlp", width=8, depth=1),
                optim=OptimConfig("adam", 1e-2), batch_size=16, epochs=2,
                stats=StatsConfig(every=1, max_samples=32, bins=10))
    base.update(kw)
    return TrainConfig(**base)


def four() -> list[TrainConfig]:
    return [mlp(seed=0), mlp(seed=1), mlp(model=ModelConfig("mlp", width=16, depth=1)),
            mlp(optim=OptimConfig("sgd", 0.05, momentum=0.9), stats=StatsConfig())]


def trained(cache) -> dict[str, tuple[bytes, dict[str, torch.Tensor]]]:
    """Run hash -> (metrics.csv bytes, final weights) of every finished run under ``cache``."""
    out = {}
    for d in sorted((cache / "train").iterdir()):
        if not d.name.startswith("."):
            out[d.name] = ((d / "metrics.csv").read_bytes(),
                           torch.load(d / "model.pt", map_location="cpu", weights_only=True))
    return out


# ---------------------------------------------------------------------------------- thread policy
def test_thread_policy_depends_on_the_config_and_the_cores_only(monkeypatch):
    cfg = mlp()
    assert parallel.threads_per_run(cfg, 1) == 1
    assert parallel.threads_per_run(cfg, 64) == parallel.threads_per_run(cfg, 64) >= 1
    monkeypatch.setattr(parallel, "THREAD_RULES", (("mlp", 8, 4), ("mlp", None, 2)))
    assert [parallel.threads_per_run(mlp(model=ModelConfig("mlp", width=w)), 64) for w in (8, 9)] == [4, 2]
    assert parallel.threads_per_run(cfg, 2) == 2  # never more than the cores
    assert parallel.threads_per_run(mlp(model=ModelConfig("resnet50")), 64) == 64  # no rule: every core


def test_measured_policy_gives_the_cpu_models_one_thread():
    for arch in ("mlp", "resnet_small", "vit_tiny"):
        assert parallel.threads_per_run(mlp(model=ModelConfig(arch, width=1370)), 16) == 1
    assert parallel.threads_per_run(mlp(model=ModelConfig("vit")), 16) == 16  # never measured on a CPU


def test_book_threads_overrides_the_rules_within_the_cores(monkeypatch):
    monkeypatch.setenv(parallel.THREADS_ENV, "2")
    assert parallel.threads_per_run(mlp(model=ModelConfig("resnet_small")), 16) == 2
    assert parallel.threads_per_run(mlp(model=ModelConfig("vit")), 1) == 1  # never more than the cores
    for bad in ("0", "two", "-1"):
        monkeypatch.setenv(parallel.THREADS_ENV, bad)
        with pytest.raises(ValueError, match=f"BOOK_THREADS={bad!r}: expected a positive whole number"):
            parallel.threads_per_run(mlp(), 4)
    monkeypatch.delenv(parallel.THREADS_ENV)
    assert parallel.threads_per_run(mlp(model=ModelConfig("resnet_small")), 16) == 1


def test_default_workers_reads_book_workers(monkeypatch):
    monkeypatch.setenv(parallel.WORKERS_ENV, "3")
    assert parallel.default_workers() == 3
    for bad in ("0", "two", "-1"):
        monkeypatch.setenv(parallel.WORKERS_ENV, bad)
        with pytest.raises(ValueError, match=f"BOOK_WORKERS={bad!r}"):
            parallel.default_workers()
    monkeypatch.delenv(parallel.WORKERS_ENV)
    monkeypatch.setattr(parallel.torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(parallel, "cores", lambda: 5)
    assert parallel.default_workers() == 5  # one 1-thread run per core
    monkeypatch.setattr(parallel.torch.cuda, "is_available", lambda: True)
    assert parallel.default_workers() == 1  # the runs would share one GPU
    with pytest.raises(ValueError, match="workers must be"):
        parallel.train([], workers=0)


# ------------------------------------------------------------------------------------ the executor
@pytest.mark.parametrize("threads", [1, 2])
def test_two_workers_train_the_same_runs_as_one(tmp_path, monkeypatch, threads):
    """Same hashes cached, same metrics.csv bytes and weights: the thread count is the policy's, not the
    load's (with 2 threads per run on 2 cores the workers take turns)."""
    monkeypatch.setattr(parallel, "THREAD_RULES", (("mlp", None, threads),))
    plan = from_configs([four()])
    monkeypatch.setenv("BOOK_RUNS_DIR", str(tmp_path / "one"))
    parallel.train(plan, workers=1, n_cores=2)
    one = [runs.load(c) for c in configs(plan)]
    monkeypatch.setenv("BOOK_RUNS_DIR", str(tmp_path / "two"))
    events: list[str] = []
    parallel.train(plan, workers=2, n_cores=2, on_start=lambda c: events.append("start"),
                   on_finish=lambda r, s: events.append("end"))
    two = [runs.load(c) for c in configs(plan)]
    assert [r.hash for r in one] == [r.hash for r in two] == [config_hash(c) for c in configs(plan)]
    assert sorted(events) == ["end"] * 4 + ["start"] * 4
    a, b = trained(tmp_path / "one"), trained(tmp_path / "two")
    assert list(a) == list(b) and len(a) == 4
    for h in a:
        assert a[h][0] == b[h][0], f"run {h}: metrics.csv differs between 1 and 2 workers"
        assert all(torch.equal(a[h][1][k], b[h][1][k]) for k in a[h][1]), f"run {h}: weights differ"
    assert {r.info["threads"] for r in one} == {r.info["threads"] for r in two} == {threads}
    events.clear()  # all cached: nothing started
    parallel.train(plan, workers=2, on_start=events.append)
    assert events == []


def test_parents_train_before_their_children(run_cache):
    parent = mlp(seed=3, model=ModelConfig("mlp", width=16, depth=1))
    children = [mlp(seed=10 + i, model=parent.model, mask=MaskConfig(parent=parent, method=m, density=0.5))
                for i, m in enumerate(("diff", "magnitude"))]
    plan = cluster.plan("prune_sweep", mlp(), widths=(8,), methods=("diff", "magnitude"), ratio=1.5,
                        include_none=False)
    stages = [[parent, mlp(seed=4)], children, *[[p.config for p in s] for s in plan]]
    events: list[tuple[str, str]] = []
    parallel.train(from_configs(stages), workers=2, on_start=lambda c: events.append(("start", config_hash(c))),
                   on_finish=lambda r, s: events.append(("end", r.hash)))
    order = {e: i for i, e in enumerate(events)}
    for child in children:
        assert order[("end", config_hash(parent))] < order[("start", config_hash(child))]
    for s, later in zip(plan, plan[1:]):
        for p in s:
            for c in later:
                assert order[("end", p.hash)] < order[("start", c.hash)]
    assert len(events) == 2 * (4 + sum(map(len, plan)))  # every run once: no worker trained a parent twice
    assert all(runs.is_cached(c) for s in stages for c in s)


def test_a_failing_run_fails_the_call_naming_it(run_cache, monkeypatch):
    monkeypatch.setattr(parallel, "THREAD_RULES", (("mlp", None, 1),))  # 1 thread each: both workers run at once
    no_stats = mlp(seed=5, stats=StatsConfig())
    bad = mlp(seed=6, mask=MaskConfig(parent=no_stats, method="diff", density=0.5))  # diff needs parent statistics
    slow = mlp(seed=7, epochs=200, data=DataConfig("gaussian", 512, 32, seed=0))
    t0 = time.perf_counter()
    with pytest.raises(parallel.RunFailed) as caught:
        parallel.train(from_configs([[no_stats], [slow, bad]]), workers=2)
    assert time.perf_counter() - t0 < 120
    err = caught.value
    assert err.hash == config_hash(bad) and err.error.startswith("ValueError: method 'diff' needs a parent")
    assert "Traceback" in err.trace and f"run {config_hash(bad)} (mlp w=8 gaussian seed 6 diff mask d=0.5" in str(err)
    assert runs.is_cached(no_stats) and not runs.is_cached(bad) and not runs.is_cached(slow)

    with pytest.raises(BuildError, match=rf"chapter 05: training run {config_hash(bad)} \(mlp w=8 gaussian seed 6 "
                                         r"diff mask d=0.5, 2 epochs\) failed: ValueError: method 'diff'"):
        progress.train_planned("05", from_configs([[no_stats], [bad, replace(no_stats, seed=8)]]), out=lambda line: None,
                               workers=2)


def test_progress_lines_with_two_workers(run_cache):
    plan = from_configs([[mlp(seed=s) for s in range(3)]])
    lines: list[str] = []
    done = progress.train_planned("04", plan, out=lines.append, workers=2)
    assert (done.planned, done.cached, done.trained) == (3, 0, 3)
    assert lines[0] == "chapter 04: 3 runs planned, 0 in the cache, 3 to train; estimating"
    starts = [x for x in lines[1:] if x.endswith(" ...")]
    ends = [x for x in lines[1:] if not x.endswith(" ...")]
    assert [s.split("]")[0] for s in starts] == [f"chapter 04: [{i}/3" for i in (1, 2, 3)]
    assert len(ends) == 3 and ends[-1].endswith("all trained")
    for e in ends:
        assert any(e.startswith(s + " ") for s in starts), e
        assert re.fullmatch(r"chapter 04: \[\d/3\] mlp w=8 gaussian seed \d, 2 epochs \.\.\. \d+ s; "
                            r"(under a minute left|all trained)", e), e
    done = cluster.run_local(plan, progress=False, workers=2)
    assert all(p.status == "done" for s in done for p in s)


def smoke_plan() -> Plan:
    """Chapter 4's smoke plan cut to one epoch of two of its MLPs on 64 Gaussian images (so it trains in
    seconds without CIFAR-10): the same plan type, stages and labels the build hands the executor."""
    (stage,) = registry.plan("04", profile="smoke")
    mlps = [p for p in stage if p.config.model.arch == "mlp"][:2]
    tiny = DataConfig("gaussian", 64, 32, seed=0)
    return [[replace(p, config=replace(p.config, data=tiny, epochs=1,
                                       stats=replace(p.config.stats, max_samples=32, test_samples=16))) for p in mlps]]


@pytest.mark.usefixtures("stand_in_fingerprint")
@pytest.mark.parametrize("workers", [1, 2])
def test_train_a_smoke_plan(run_cache, workers):
    plan = smoke_plan()
    before = runs.TRAIN_COUNT
    with pytest.raises(runs.RunNotTrained, match=r"chapter 04's plan lists it"):
        runs.load(configs(plan)[0], chapter="04")
    landed: list[str] = []
    parallel.train(plan, workers=workers, on_finish=lambda run, s: landed.append(run.hash))
    assert sorted(landed) == sorted(config_hash(c) for c in distinct(plan))
    assert all(runs.load(c).metrics["epoch"].tolist() == [0, 1] for c in configs(plan))
    if workers == 1:  # trained here (2 workers train in their own processes, whose counters this one cannot see)
        assert runs.TRAIN_COUNT - before == len(distinct(plan))
    landed.clear()
    parallel.train(plan, workers=workers, on_start=lambda cfg: landed.append("start"))  # all cached: nothing to do
    assert landed == []


PARENT = """
import sys, time
sys.path.insert(0, {root!r})
from lib import parallel
pool = parallel._Pool(1, 1)
w = pool._start()
print(pool.procs[w].pid, flush=True)
time.sleep(120)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="prctl(PR_SET_PDEATHSIG) is Linux's")
def test_a_worker_dies_with_its_parent_even_when_killed():
    """A build killed by SIGKILL (no clean-up runs) leaves no worker behind to go on training into the cache."""
    root = str(Path(__file__).resolve().parent.parent)
    proc = subprocess.Popen([sys.executable, "-c", PARENT.format(root=root)], stdout=subprocess.PIPE, text=True)
    try:
        worker = int(proc.stdout.readline())
        deadline = time.monotonic() + 60
        while not _has_asked_to_die(worker) and time.monotonic() < deadline:  # the worker has imported and asked
            time.sleep(0.2)
        assert _alive(worker)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        deadline = time.monotonic() + 20
        while _alive(worker) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _alive(worker), "the worker outlived its killed parent"
    finally:
        proc.kill()


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie, dead but not yet reaped by init, counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _has_asked_to_die(pid: int) -> bool:
    """Whether the worker has started running its own code (its command line is the spawned interpreter's and it
    has imported torch: a mapped libtorch), so that its death request is in place or about to be."""
    try:
        return "libtorch" in Path(f"/proc/{pid}/maps").read_text()
    except OSError:
        return False
