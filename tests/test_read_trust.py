"""Fault injection for what a reader gets (issue 24, items 1, 3 and 7): a byte changed at the same size, a
run folder copied under another config's hash, a damaged mask, two processes asking for one run, a
trainer killed while others wait, leftover checkpoints, malformed manifests, a full disk. Each test
damages a temporary cache as a careless hand or a hostile colleague would and checks that no wrong
number is served and that the run (or mask) is made again."""
from __future__ import annotations

import errno
import json
import multiprocessing
import shutil
import subprocess
import sys
import threading
import time

import pandas as pd
import pytest
import torch

from lib import locks, manifest, mask_cache, parallel, paths, runs
from lib.config import MaskConfig, OptimConfig, StatsConfig, TrainConfig, config_hash
from lib.data import DataConfig
from lib.models import ModelConfig
from lib.plan import from_configs


@pytest.fixture(autouse=True)
def checkpoints_on(monkeypatch):
    """Checkpoints after every epoch, whatever the environment says."""
    for name in ("BOOK_CHECKPOINT", "BOOK_CHECKPOINT_SECONDS"):
        monkeypatch.delenv(name, raising=False)


def tiny(**kw) -> TrainConfig:
    base = dict(data=DataConfig("gaussian", 32, 16, seed=0), model=ModelConfig("mlp", width=4, depth=1),
                optim=OptimConfig("adam", 1e-2), batch_size=16, epochs=2)
    base.update(kw)
    return TrainConfig(**base)


def folder(cfg: TrainConfig):
    return paths.run_dir(config_hash(cfg))


def flip(path, at: float = 0.5) -> None:
    """Change one byte of ``path`` in place (same size)."""
    raw = bytearray(path.read_bytes())
    raw[int(len(raw) * at)] ^= 0x01
    path.write_bytes(bytes(raw))


def quarantined(cfg_or_name) -> list:
    name = cfg_or_name if isinstance(cfg_or_name, str) else config_hash(cfg_or_name)
    q = paths.quarantine_dir()
    return [p for p in q.iterdir() if name in p.name] if q.is_dir() else []


# ---- item 1: every read checked --------------------------------------------------------------

def test_a_changed_digit_in_metrics_is_never_served(run_cache):
    """One digit of metrics.csv changed at the same size: the reader's read names the file and quarantines
    the run; the executor trains it again, and the numbers are the original ones."""
    a = tiny()
    good = runs.train_run(a).metrics
    p = folder(a) / "metrics.csv"
    text = p.read_text()
    i = text.index("0.", text.index("\n") + 1)  # a number of the first data row
    p.write_text(text[:i] + ("9" if text[i] != "9" else "8") + text[i + 1:])
    run = runs.load(a)  # names and sizes are fine ...
    with pytest.warns(runs.DamagedRunWarning, match="metrics.csv"), \
            pytest.raises(runs.DamagedRunError, match=r"metrics\.csv: another SHA-256"):
        run.metrics  # ... the read is not
    assert quarantined(a) and not folder(a).exists()
    n = runs.TRAIN_COUNT
    parallel.train(from_configs([[a]]))  # (its own thread count: equal up to float rounding)
    assert runs.TRAIN_COUNT == n + 1
    pd.testing.assert_frame_equal(runs.load(a).metrics, good, rtol=1e-4)


@pytest.mark.parametrize("name", ["model.pt", "diffs_max.pt"])
def test_a_flipped_byte_is_caught_by_the_executor_and_retrained(run_cache, name):
    a = tiny(stats=StatsConfig(every=1))
    before = runs.train_run(a)
    weights = before.state_dict()
    flip(folder(a) / name)
    assert runs.is_cached(a) and not runs.is_cached(a, deep=True)
    n = runs.TRAIN_COUNT
    with pytest.warns(runs.DamagedRunWarning, match=rf"{name} has the manifest's size but another SHA-256"):
        run = runs.train_run(a)
    assert runs.TRAIN_COUNT == n + 1
    assert all(torch.equal(v, weights[k]) for k, v in run.state_dict().items())
    assert run.tensors(name) is not None


def test_a_reader_of_a_flipped_diff_file_is_stopped(run_cache):
    a = tiny(stats=StatsConfig(every=1))
    runs.train_run(a)
    flip(folder(a) / "diffs_max.pt")
    run = runs.load(a)
    with pytest.warns(runs.DamagedRunWarning), pytest.raises(runs.DamagedRunError, match="diffs_max.pt"):
        run.tensors("diffs_max.pt")
    with pytest.raises(runs.RunNotTrained):
        runs.load(a)  # quarantined: the next training of its plan trains it


def test_a_run_copied_under_another_configs_hash_is_not_served(run_cache):
    a, b = tiny(), tiny(optim=OptimConfig("adam", 5e-2))
    runs.train_run(a)
    shutil.copytree(folder(a), folder(b))  # manifest and all: only config.json tells
    assert not runs.is_cached(b)
    with pytest.warns(runs.DamagedRunWarning, match=r"config.json says optim.lr = 0.01, the config asked for 0.05"), \
            pytest.raises(runs.RunNotTrained):
        runs.load(b)
    n = runs.TRAIN_COUNT
    rb = runs.train_run(b)
    assert runs.TRAIN_COUNT == n + 1 and json.loads(rb.read_bytes("config.json"))["optim"]["lr"] == 0.05


def test_config_comparison_allows_fields_added_later_at_their_default():
    cfg = tiny()
    stored = json.loads(json.dumps(runs.config_dict(cfg, non_default_only=False)))
    assert runs.config_problem(stored, cfg) is None
    del stored["track"]  # a field the configs gained after the run: at its default, it is the same run
    assert runs.config_problem(stored, cfg) is None
    assert "has no field track" in runs.config_problem(stored, tiny(track=("1.weight",)))
    stored["unknown"] = 1
    assert "field unknown this config does not have" in runs.config_problem(stored, cfg)
    assert "holds a list" in runs.config_problem([], cfg)


def test_a_damaged_mask_is_quarantined_and_computed_again(run_cache):
    """1,000 flipped bytes in a cached mask gave another child before masks had manifests."""
    parent = tiny()
    runs.train_run(parent)
    cfg = MaskConfig(parent=parent, method="magnitude", density=0.3)
    good = runs.mask_for(cfg)
    where = paths.mask_dir(config_hash(cfg))
    p = where / mask_cache.MASK_FILE
    raw = bytearray(p.read_bytes())
    for i in range(len(raw) // 3, len(raw) // 3 + min(1000, len(raw) // 3)):
        raw[i] ^= 0xFF
    p.write_bytes(bytes(raw))
    with pytest.warns(mask_cache.DamagedMaskWarning, match=r"mask\.pt.*another SHA-256"):
        again = runs.mask_for(cfg)
    assert all(torch.equal(again[k], good[k]) for k in good)
    assert quarantined("mask-" + config_hash(cfg))
    (where / manifest.MANIFEST).unlink()  # a mask folder without its manifest is not adopted either
    with pytest.warns(mask_cache.DamagedMaskWarning, match="no manifest.json"):
        assert mask_cache.mask_summary(cfg, lambda: runs.load(parent))["kept"] == sum(int(v.sum()) for v in good.values())
    assert (where / manifest.MANIFEST).is_file()
    flip(where / mask_cache.SUMMARY_FILE)  # verify checks masks too
    assert runs.main(["verify", "--deep"]) == 1 and not where.exists()


# ---- item 3: one trainer per run -------------------------------------------------------------

def _train_in_child(runs_dir: str, barrier, queue) -> None:
    import os
    os.environ["BOOK_RUNS_DIR"] = runs_dir
    from lib import runs as r
    cfg = slow()
    barrier.wait(timeout=120)  # both imported: ask for the run at the same moment
    run = r.train_run(cfg)
    queue.put((r.TRAIN_COUNT, run.hash))


def slow() -> TrainConfig:
    """A run long enough (about a second) for two processes that start it together to overlap."""
    return tiny(data=DataConfig("gaussian", 256, 16, seed=0), model=ModelConfig("mlp", width=64, depth=2), epochs=4)


def test_two_processes_asking_for_one_run_train_it_once(run_cache):
    ctx = multiprocessing.get_context("spawn")
    queue, barrier = ctx.Queue(), ctx.Barrier(2)
    procs = [ctx.Process(target=_train_in_child, args=(str(run_cache), barrier, queue)) for _ in range(2)]
    for p in procs:
        p.start()
    results = [queue.get(timeout=300) for _ in procs]
    for p in procs:
        p.join(timeout=60)
    assert sorted(n for n, _ in results) == [0, 1], results  # one trained, the other waited and read
    assert {h for _, h in results} == {config_hash(slow())}
    assert runs.check_run(folder(slow()), slow(), deep=True) is None
    assert not paths.run_lock(config_hash(slow())).exists()


HOLD = """
import sys, time
from pathlib import Path
from lib import locks
with locks.exclusive(Path(sys.argv[1])):
    print("held", flush=True)
    time.sleep(600)
"""


def test_a_waiter_takes_over_when_the_trainer_dies(run_cache, capsys):
    """The lock of a run whose trainer is killed is free at once (the kernel lets go), and the waiting
    process trains the run; while it waits it says whom it waits for."""
    a = tiny()
    lock = paths.run_lock(config_hash(a))
    lock.parent.mkdir(parents=True, exist_ok=True)
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(lock)], cwd=paths.root(), stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        assert locks.is_held(lock)
        done: list = []
        waiter = threading.Thread(target=lambda: done.append(runs.train_run(a)))
        n = runs.TRAIN_COUNT
        waiter.start()
        time.sleep(2)
        assert waiter.is_alive() and not done  # waiting, not training beside it
        assert f"is being trained by pid {holder.pid} on host" in capsys.readouterr().out
    finally:
        holder.kill()
        holder.wait()
    waiter.join(timeout=120)
    assert done and runs.TRAIN_COUNT == n + 1 and not locks.is_held(lock)


TRAINER = """
import sys
from lib import runs
sys.path.insert(0, "tests")
from test_read_trust import slow
runs.train_run(slow())
"""


def test_a_killed_trainers_run_is_taken_over_from_its_checkpoint(run_cache, capfd):
    """A real trainer killed after its first checkpoint: the next process gets the lock at once and resumes."""
    cfg = slow()
    ckpt = paths.checkpoint_dir(config_hash(cfg))
    trainer = subprocess.Popen([sys.executable, "-c", TRAINER], cwd=paths.root(),
                               env={**__import__("os").environ, "BOOK_RUNS_DIR": str(run_cache)})
    try:
        deadline = time.monotonic() + 120
        while not (ckpt / "LATEST").exists() and trainer.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert (ckpt / "LATEST").exists(), "the trainer finished or failed before its first checkpoint"
        assert locks.is_held(paths.run_lock(config_hash(cfg)))
    finally:
        trainer.kill()
        trainer.wait()
    n = runs.TRAIN_COUNT
    run = runs.train_run(cfg)
    assert runs.TRAIN_COUNT == n + 1 and "resuming mlp gaussian from its checkpoint" in capfd.readouterr().err
    assert runs.check_run(run.path, cfg, deep=True) is None and not ckpt.exists()


def test_a_lock_file_deleted_by_its_holder_is_not_shared(tmp_path):
    """A waiter whose lock file was deleted under it does not hold a lock that guards nothing."""
    path = tmp_path / ".lock-x"
    with locks.exclusive(path):
        assert locks.holder(path)["pid"] > 0
        with pytest.raises(locks.Busy, match="locked by pid"):
            with locks.exclusive(path, timeout=0.6):
                pass
    assert not path.exists()
    with locks.exclusive(path):  # free again
        assert path.exists()


# ---- item 7: leftovers, verify, full disk ----------------------------------------------------

def test_leftover_checkpoints_of_landed_runs_are_removed(run_cache):
    a, b = tiny(), tiny(seed=1)
    runs.train_run(a)
    train_dir = folder(a).parent
    landed = paths.checkpoint_dir(config_hash(a))
    set_aside = landed.with_name(landed.name + ".set-aside-123")
    pending = paths.checkpoint_dir(config_hash(b))  # b has not landed: its checkpoint is a resume point
    for d in (landed, set_aside, pending):
        (d / "epoch-000001").mkdir(parents=True)
    gone = runs.remove_leftovers(train_dir)
    assert sorted(gone) == sorted([landed, set_aside]) and pending.is_dir()
    landed.mkdir()
    with locks.exclusive(paths.run_lock(config_hash(a))):  # a process is at it: left alone
        assert runs.remove_leftovers(train_dir) == [] and landed.is_dir()


@pytest.mark.parametrize("text", ['{"version": 1, "files": {"model.pt": {"size": 1e400, "sha256": "00"}}}',
                                  "[" * 100000 + "]" * 100000, '{"files": {"../../etc/passwd": {"size": 1}}}',
                                  '{"files": 7}', "\x00" * 100])
def test_verify_reports_every_run_past_a_malformed_manifest(run_cache, capsys, text):
    a, b = tiny(), tiny(seed=1)
    runs.train_run(a), runs.train_run(b)
    (folder(a) / manifest.MANIFEST).write_text(text)
    assert runs.main(["verify", "--deep", "--dry-run"]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[-2].startswith(f"damaged {config_hash(a)}: ") and out[-1].startswith("2 runs and 0 masks checked")
    assert out[-1].endswith(": 1 damaged")


@pytest.mark.parametrize("failure", ["torch", "oserror"])
def test_a_full_disk_is_named_and_the_next_try_resumes(run_cache, monkeypatch, failure):
    a = tiny()
    real_save, real_csv = torch.save, runs.pd.DataFrame.to_csv

    def full(*args, **kw):
        if failure == "torch":
            raise RuntimeError("[enforce fail at inline_container.cc:664] . unexpected pos 1472 vs 1360")
        raise OSError(errno.ENOSPC, "No space left on device")

    if failure == "torch":
        monkeypatch.setattr(runs.torch, "save", lambda obj, f, *x, **k: full() if str(f).endswith("model.pt")
                            else real_save(obj, f, *x, **k))
    else:
        monkeypatch.setattr(runs.pd.DataFrame, "to_csv", full)
    with pytest.raises(runs.DiskFull, match=rf"the disk holding {folder(a).parent} is full \([\d,]+ bytes free\)"):
        runs.train_run(a)
    assert not list(folder(a).parent.glob(".tmp-*")) and paths.checkpoint_dir(config_hash(a)).is_dir()
    monkeypatch.setattr(runs.torch, "save", real_save)
    monkeypatch.setattr(runs.pd.DataFrame, "to_csv", real_csv)
    run = runs.train_run(a)
    assert runs.check_run(run.path, a, deep=True) is None and not paths.checkpoint_dir(config_hash(a)).exists()
