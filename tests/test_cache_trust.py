"""Fault injection for the run cache (issue 13, items 4-6): each test damages a temporary cache the
way a crash, a full disk or a careless hand would, and checks for the clear error or the healing
retrain, and that every other finished run still loads."""
from __future__ import annotations

import json
import multiprocessing
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from lib import masks, paths, runs
from lib.chapters import verdicts
from lib.cluster import slurm
from lib.config import MASK_METHODS, MaskConfig, OptimConfig, StatsConfig, TrainConfig, config_hash
from lib.data import DataConfig
from lib.models import ModelConfig


@pytest.fixture(autouse=True)
def checkpoints_on(monkeypatch):
    """Checkpoints after every epoch, whatever the environment says (``run_cache``: tests/conftest.py)."""
    for name in ("BOOK_CHECKPOINT", "BOOK_CHECKPOINT_SECONDS"):
        monkeypatch.delenv(name, raising=False)


def tiny(**kw) -> TrainConfig:
    base = dict(data=DataConfig("gaussian", 32, 16, seed=0), model=ModelConfig("mlp", width=4, depth=1),
                optim=OptimConfig("adam", 1e-2), batch_size=16, epochs=2, track=("1.weight",))
    base.update(kw)
    return TrainConfig(**base)


def folder(cfg: TrainConfig):
    return paths.run_dir(config_hash(cfg))


def two_runs():
    """Two finished runs: the one the test damages and a bystander that must survive."""
    a, b = tiny(), tiny(seed=1)
    return a, runs.train_run(a), b, runs.train_run(b)


def still_loads(cfg: TrainConfig, before: runs.Run) -> None:
    """``cfg`` is served from the cache (no training) with the same metrics and weights as ``before``."""
    n = runs.TRAIN_COUNT
    run = runs.load(cfg)
    assert runs.TRAIN_COUNT == n, "a sound run was trained again"
    assert run.metrics.equals(before.metrics)
    assert all(torch.equal(v, before.state_dict()[k]) for k, v in run.state_dict().items())


def heals(cfg: TrainConfig, before: runs.Run, match: str) -> runs.Run:
    """The next train_run warns ``match``, quarantines the damaged folder and trains ``cfg`` again,
    identically (CPU)."""
    n = runs.TRAIN_COUNT
    with pytest.warns(runs.DamagedRunWarning, match=match):
        run = runs.train_run(cfg)
    assert runs.TRAIN_COUNT == n + 1
    assert run.metrics.equals(before.metrics)
    assert all(torch.equal(v, before.state_dict()[k]) for k, v in run.state_dict().items())
    moved = [p for p in paths.quarantine_dir().iterdir() if p.name.startswith(config_hash(cfg))]
    assert moved and all((p / "QUARANTINE.txt").is_file() for p in moved)
    assert runs.check_run(run.path, deep=True) is None
    return run


# ---- item 4: a cache that checks itself ------------------------------------------------------

def test_a_finished_run_has_a_manifest_of_every_file(run_cache):
    run = runs.train_run(tiny())
    files = json.loads((run.path / runs.MANIFEST).read_text())["files"]
    assert set(files) == {"config.json", "metrics.csv", "model.pt", "info.json", "tracks.npz"}
    for name, entry in files.items():
        assert entry["size"] == (run.path / name).stat().st_size and len(entry["sha256"]) == 64
    assert runs.is_cached(tiny())


def test_load_reads_a_cached_run_and_names_a_missing_one(run_cache):
    """A reader never trains: an uncached run is an error naming the run, its hash and the chapter plan it
    belongs to; a damaged one is quarantined and named the same way; once trained, it loads."""
    a, b = tiny(seed=7), tiny(seed=8)
    n = runs.TRAIN_COUNT
    with pytest.raises(runs.RunNotTrained, match=rf"run {config_hash(a)} \(mlp w=4 gaussian seed 7, 2 epochs\) is not "
                                                 r"in the run cache .*chapter 05's plan lists it") as err:
        runs.load(a, chapter="05")
    assert isinstance(err.value, LookupError) and (err.value.hash, err.value.chapter) == (config_hash(a), "05")
    with pytest.raises(runs.RunNotTrained, match=r"train the plan that lists it first: lib.parallel.train\(plan\)"):
        runs.load(a)
    assert runs.TRAIN_COUNT == n and not runs.is_cached(a)
    trained = runs.train_run(b)
    (folder(b) / "metrics.csv").write_text("epoch\n0\n")  # truncated by hand
    with pytest.warns(runs.DamagedRunWarning, match="metrics.csv"), pytest.raises(runs.RunNotTrained, match=config_hash(b)):
        runs.load(b)
    assert runs.train_run(b).metrics.equals(trained.metrics) and runs.load(b).hash == config_hash(b)


def test_truncated_metrics_is_quarantined_and_retrained(run_cache):
    a, ra, b, rb = two_runs()
    before = ra.metrics
    p = folder(a) / "metrics.csv"
    p.write_bytes(p.read_bytes()[:-20])
    assert not runs.is_cached(a) and runs.is_cached(b)
    assert heals(a, ra, r"metrics\.csv has \d+ bytes, its manifest says \d+ \(truncated\)").metrics.equals(before)
    still_loads(b, rb)


def test_deleted_metrics_is_retrained_without_oserror(run_cache):
    a, ra, b, rb = two_runs()
    (folder(a) / "metrics.csv").unlink()
    heals(a, ra, "missing metrics.csv")
    still_loads(a, ra)
    still_loads(b, rb)


@pytest.mark.parametrize("damage", ["missing", "truncated"])
def test_missing_or_truncated_model_is_quarantined_and_retrained(run_cache, damage):
    a, ra, b, rb = two_runs()
    p = folder(a) / "model.pt"
    if damage == "missing":
        p.unlink()
    else:
        p.write_bytes(p.read_bytes()[:100])
    heals(a, ra, "missing model.pt" if damage == "missing" else r"model\.pt has 100 bytes")
    still_loads(b, rb)


def test_the_per_hit_check_finds_a_size_mismatch(run_cache):
    a, ra, b, rb = two_runs()
    with open(folder(a) / "info.json", "a") as f:
        f.write(" ")
    heals(a, ra, r"info\.json has (\d+) bytes, its manifest says \d+")
    still_loads(b, rb)


def test_a_leftover_folder_in_the_way_of_the_rename_is_quarantined(run_cache, monkeypatch):
    """Damage that appears while the run trains (a hand, another tool): the rename into place copes."""
    a = tiny()
    real = runs.train

    def train_then_block(cfg, *args, **kw):
        out = real(cfg, *args, **kw)
        folder(cfg).mkdir(parents=True)
        (folder(cfg) / "stray.txt").write_text("not a run")
        return out

    monkeypatch.setattr(runs, "train", train_then_block)
    with pytest.warns(runs.DamagedRunWarning, match="no manifest.json"):
        run = runs.train_run(a)
    assert runs.check_run(run.path) is None and not (run.path / "stray.txt").exists()


def test_verify_deep_finds_a_same_size_corrupted_byte(run_cache, capsys):
    a, ra, b, rb = two_runs()
    p = folder(a) / "model.pt"
    raw = bytearray(p.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    p.write_bytes(bytes(raw))
    assert runs.main(["verify"]) == 0  # names and sizes are fine
    assert runs.main(["verify", "--deep", "--dry-run"]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[-2] == f"damaged {config_hash(a)}: model.pt has the manifest's size but another SHA-256 (changed bytes)"
    assert out[-1].startswith("2 runs and 0 masks checked (names, sizes and SHA-256)") and out[-1].endswith(": 1 damaged")
    assert folder(a).is_dir()  # --dry-run moves nothing
    # the command line: exit status 1, the damaged run moved aside; the next train_run retrains it
    env = {**os.environ, "BOOK_RUNS_DIR": str(run_cache)}
    done = subprocess.run([sys.executable, "-m", "lib.runs", "verify", "--deep"], capture_output=True, text=True,
                          env=env, cwd=paths.root(), timeout=120)
    assert done.returncode == 1, done.stderr
    assert f"damaged {config_hash(a)}: model.pt" in done.stdout and "moved to" in done.stdout
    assert not folder(a).exists()
    n = runs.TRAIN_COUNT
    assert runs.train_run(a).metrics.equals(ra.metrics) and runs.TRAIN_COUNT == n + 1
    still_loads(b, rb)
    assert runs.main(["verify", "--deep"]) == 0


def test_a_folder_without_a_manifest_is_damaged_not_adopted(run_cache):
    """Deleting manifest.json does not launder a damaged run: the folder is quarantined and trained again,
    and no manifest is written over the damage."""
    a, ra, b, rb = two_runs()
    p = folder(a) / "metrics.csv"
    p.write_text(p.read_text().replace("0.", "9.", 1))  # a changed digit, then the manifest removed
    (folder(a) / runs.MANIFEST).unlink()
    assert not runs.is_cached(a)
    with pytest.warns(runs.DamagedRunWarning, match="no manifest.json"), pytest.raises(runs.RunNotTrained):
        runs.load(a)
    moved = [q for q in paths.quarantine_dir().iterdir() if q.name.startswith(config_hash(a))]
    assert len(moved) == 1 and not (moved[0] / runs.MANIFEST).exists()
    assert "no manifest.json" in (moved[0] / "QUARANTINE.txt").read_text()
    n = runs.TRAIN_COUNT
    assert runs.train_run(a).metrics.equals(ra.metrics) and runs.TRAIN_COUNT == n + 1
    still_loads(b, rb)


def test_every_damage_in_turn_leaves_a_loadable_run(run_cache):
    """No sequence of damage leaves a config that can neither be loaded nor retrained."""
    a, ra, b, rb = two_runs()
    damages = [lambda d: (d / "metrics.csv").unlink(), lambda d: (d / runs.MANIFEST).write_text("{"),
               lambda d: (d / "model.pt").write_bytes(b""), lambda d: [p.unlink() for p in d.iterdir()]]
    for damage in damages:
        damage(folder(a))
        with pytest.warns(runs.DamagedRunWarning):
            assert runs.train_run(a).metrics.equals(ra.metrics)
    still_loads(a, ra)
    still_loads(b, rb)
    assert len(list(paths.quarantine_dir().iterdir())) == len(damages)


# ---- item 5: leftovers and partial failures ---------------------------------------------------

def _dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def test_leftover_temporary_folders_of_dead_processes_are_removed(run_cache):
    train = run_cache / "train"
    h, dead, live = "0123456789abcdef", _dead_pid(), os.getppid()
    names = {"dead": f".tmp-{h}-{dead}-1-{runs.HOST}", "dead_old_name": f".tmp-{h}-{dead}-2",
             "live": f".tmp-{h}-{live}-3-{runs.HOST}", "other_host": f".tmp-{h}-{dead}-4-another.host",
             "checkpoint": f".ckpt-{h}"}
    for name in names.values():
        (train / name).mkdir(parents=True)
        (train / name / "stats.npz").write_bytes(b"x")
    runs.train_run(tiny())  # the first use of this cache in this process
    left = {p.name for p in train.iterdir()}
    assert names["dead"] not in left and names["dead_old_name"] not in left
    assert {names["live"], names["other_host"], names["checkpoint"]} <= left


def test_a_failed_checkpoint_write_warns_and_training_goes_on(run_cache, tmp_path, monkeypatch):
    cfg = tiny(epochs=3)
    clean = runs.train_run(cfg)
    monkeypatch.setenv("BOOK_RUNS_DIR", str(tmp_path / "other"))
    real = torch.save

    def disk_full_at_epoch_1(obj, f, *a, **kw):
        if isinstance(obj, dict) and obj.get("epoch") == 1 and "key" in obj:
            raise OSError(28, "No space left on device")
        return real(obj, f, *a, **kw)

    monkeypatch.setattr(torch, "save", disk_full_at_epoch_1)
    with pytest.warns(UserWarning, match=r"checkpoint after epoch 1 not written \(OSError: .*No space left"):
        run = runs.train_run(cfg)
    assert run.metrics.equals(clean.metrics)
    assert all(torch.equal(v, clean.state_dict()[k]) for k, v in run.state_dict().items())
    assert [p.name for p in (tmp_path / "other" / "train").iterdir()] == [config_hash(cfg)]


def _record_many(n: int, tag: str) -> None:
    for i in range(n):
        v = verdicts.Verdict("race-1", "02", "claim", "thesis", f"{tag} {i}", "inconclusive", "Figure 2.1")
        verdicts.store("smoke", "02", {"profile": "smoke"}, ["h"], [v])
        slurm.write_job("0123456789abcdef", {"job_id": f"{tag}-{i}"})


def test_two_processes_recording_the_same_verdict_and_job_do_not_collide(run_cache):
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_record_many, args=(500, tag)) for tag in ("a", "b")]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0, 0]
    f = verdicts.chapter_file("smoke", "02", {"profile": "smoke"})
    assert json.loads(f.read_text())["verdicts"][0]["ours"] in ("a 499", "b 499")
    assert [p.name for p in f.parent.iterdir()] == [f.name]  # no temporary file left
    assert json.loads(paths.job_record("0123456789abcdef").read_text())["job_id"] in ("a-499", "b-499")
    assert [p.name for p in (run_cache / "train").iterdir()] == [".job-0123456789abcdef.json"]


def test_an_empty_book_runs_dir_is_an_error(monkeypatch):
    monkeypatch.setenv("BOOK_RUNS_DIR", "")
    with pytest.raises(ValueError, match="BOOK_RUNS_DIR is set but empty"):
        paths.runs_dir()
    with pytest.raises(ValueError, match="BOOK_RUNS_DIR"):
        runs.train_run(tiny())


# ---- item 6: configs checked when built ------------------------------------------------------

@pytest.mark.parametrize("build, match", [
    (lambda: TrainConfig(seed=1.0), r"TrainConfig\.seed must be an integer, got 1\.0 \(float\)"),
    (lambda: TrainConfig(seed=True), r"TrainConfig\.seed must be an integer, got True \(bool\)"),
    (lambda: TrainConfig(epochs=-1), r"TrainConfig\.epochs must be >= 0, got -1"),
    (lambda: TrainConfig(epochs=2.5), r"TrainConfig\.epochs must be an integer, got 2\.5"),
    (lambda: TrainConfig(batch_size=0), r"TrainConfig\.batch_size must be >= 1, got 0"),
    (lambda: TrainConfig(track="1.weight"), r"TrainConfig\.track must be a tuple of parameter names, got '1\.weight'"),
    (lambda: ModelConfig(width="64"), r"ModelConfig\.width must be an integer, got '64' \(str\)"),
    (lambda: ModelConfig(width=0), r"ModelConfig\.width must be >= 1, got 0"),
    (lambda: ModelConfig(depth=-1), r"ModelConfig\.depth must be >= 0, got -1"),
    (lambda: ModelConfig(arch="vgg"), r"ModelConfig\.arch: unknown arch 'vgg'; known: gpt, mlp, resnet50"),
    (lambda: OptimConfig(lr=0), r"OptimConfig\.lr must be a finite number > 0, got 0"),
    (lambda: OptimConfig(lr=float("nan")), r"OptimConfig\.lr must be a finite number > 0, got nan"),
    (lambda: OptimConfig(momentum=-0.1), r"OptimConfig\.momentum must be a finite number >= 0, got -0\.1"),
    (lambda: OptimConfig(name="rmsprop"), r"OptimConfig\.name: unknown optimiser 'rmsprop'; known: sgd, adam"),
    (lambda: MaskConfig(density=0), r"MaskConfig\.density must be a finite number in \(0, 1\], got 0"),
    (lambda: MaskConfig(density=1.5), r"MaskConfig\.density must be a finite number in \(0, 1\], got 1\.5"),
    (lambda: MaskConfig(floor=-0.1), r"MaskConfig\.floor must be a finite number in \[0, 1\], got -0\.1"),
    (lambda: MaskConfig(scope="local"), r"MaskConfig\.scope: unknown scope 'local'; allowed: global, layer"),
    (lambda: MaskConfig(method="taylor"), r"MaskConfig\.method: unknown mask method 'taylor'; allowed: diff"),
    (lambda: MaskConfig(seed=0.5), r"MaskConfig\.seed must be an integer, got 0\.5"),
    (lambda: StatsConfig(every=-1), r"StatsConfig\.every must be >= 0, got -1"),
])
def test_a_bad_config_field_is_an_error_naming_field_and_value(build, match):
    with pytest.raises(ValueError, match=match):
        build()


def test_numpy_numbers_are_stored_as_python_numbers():
    cfg = tiny(seed=np.int64(3), model=ModelConfig("mlp", width=np.int32(4), depth=1),
               optim=OptimConfig("adam", np.float32(0.5)))
    assert type(cfg.seed) is int and type(cfg.model.width) is int and type(cfg.optim.lr) is float
    assert config_hash(cfg) == config_hash(tiny(seed=3, optim=OptimConfig("adam", 0.5)))


def test_mask_methods_in_config_are_the_registered_scorers():
    assert set(MASK_METHODS) == set(masks.SCORERS)
    with pytest.raises(ValueError, match="not in lib.config.MASK_METHODS"):
        masks.scorer("obd")
