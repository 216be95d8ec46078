"""Per-epoch checkpoints (lib.train): a run interrupted at epoch k and run again resumes from its
checkpoint and ends identical to an uninterrupted run (CPU, same seed): metrics, weights and every
file its callbacks wrote. No SLURM needed (tests/test_slurm.py does the same through a real cluster)."""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import random
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hostile import Payload
import torch

import lib.train as T
from lib import paths, runs
from lib.checkpoint import Checkpoint, from_plain, to_plain
from lib.data import DataConfig
from lib.models import ModelConfig
from lib.config import MaskConfig, OptimConfig, StatsConfig, TrainConfig


@pytest.fixture()
def run_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("BOOK_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.delenv("BOOK_CHECKPOINT", raising=False)
    monkeypatch.delenv("BOOK_CHECKPOINT_SECONDS", raising=False)
    return tmp_path / "runs"


def mlp_run(**kw) -> TrainConfig:
    base = dict(data=DataConfig("gaussian", 64, 32, seed=0), model=ModelConfig("mlp", width=8, depth=1),
                optim=OptimConfig("adam", 1e-2), batch_size=16, epochs=4,
                stats=StatsConfig(every=1, max_samples=32, bins=10), track=("1.weight",))
    base.update(kw)
    return TrainConfig(**base)


CASES = {
    "mlp-adam-stats-track": mlp_run(),
    "mlp-sgd-momentum-masked": mlp_run(
        optim=OptimConfig("sgd", 0.05, momentum=0.9), stats=StatsConfig(every=2, max_samples=32, bins=10), track=(),
        mask=MaskConfig(parent=mlp_run(seed=5), method="random", density=0.5, seed=1)),
    "resnet-batchnorm": TrainConfig(data=DataConfig("gaussian", 16, 8, seed=0), model=ModelConfig("resnet_small"),
                                    optim=OptimConfig("sgd", 0.05, momentum=0.9), batch_size=8, epochs=3),
}


class Stateless:
    """A callback with no state to checkpoint and nothing to do at the end."""

    def on_train_end(self, model, ctx):
        pass

    def state_dict(self):
        return {}

    def load_state_dict(self, state):
        pass


class Interrupt(Stateless):
    """A callback that raises after epoch ``at`` (None: never) and records the epochs it saw."""

    def __init__(self, at: int | None):
        self.at, self.seen = at, []

    def on_epoch_end(self, epoch, model, ctx):
        self.seen.append(epoch)
        if epoch == self.at:
            raise RuntimeError(f"simulated interruption at epoch {epoch}")
        return {}


BUILD_CALLBACKS = T.build_callbacks


def with_interrupt(monkeypatch, at):
    cb = Interrupt(at)
    monkeypatch.setattr(T, "build_callbacks", lambda cfg: BUILD_CALLBACKS(cfg) + [cb])
    return cb


def same(a, b, where=""):
    """Recursive exact equality of loaded run files (tensors, arrays, dicts, lists, numbers)."""
    if isinstance(a, torch.Tensor):
        assert torch.equal(a, b), where
    elif isinstance(a, np.ndarray):
        np.testing.assert_array_equal(a, b, err_msg=where)
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), where
        for k in a:
            same(a[k], b[k], f"{where}/{k}")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            same(x, y, f"{where}[{i}]")
    else:
        assert a == b or (a != a and b != b), f"{where}: {a} != {b}"


def assert_same_run(a, b):
    names = sorted(p.name for p in a.iterdir())
    assert names == sorted(p.name for p in b.iterdir())
    for name in names:
        if name.endswith(".pt"):
            same(torch.load(a / name, weights_only=True), torch.load(b / name, weights_only=True), name)
        elif name.endswith(".npz"):
            with np.load(a / name) as x, np.load(b / name) as y:
                same(dict(x), dict(y), name)
        elif name.endswith(".csv"):
            pd.testing.assert_frame_equal(pd.read_csv(a / name), pd.read_csv(b / name), check_exact=True)
        elif name == "info.json":  # how long and where the run trained: the machine's, not the run's
            assert json.loads((a / name).read_text()).keys() == json.loads((b / name).read_text()).keys()
        elif name == "manifest.json":  # the same files (their contents are compared above and below)
            assert json.loads((a / name).read_text())["files"].keys() == json.loads((b / name).read_text())["files"].keys()
        else:
            assert (a / name).read_bytes() == (b / name).read_bytes(), name


@pytest.mark.parametrize("case", list(CASES))
def test_interrupted_run_resumes_to_the_same_result(case, run_cache, monkeypatch, tmp_path, capfd):
    cfg = CASES[case]
    k = cfg.epochs - 1
    h = runs.config_hash(cfg)
    monkeypatch.setenv("BOOK_RUNS_DIR", str(tmp_path / "reference"))
    ref = runs.train_run(cfg)  # uninterrupted, no extra callback

    monkeypatch.setenv("BOOK_RUNS_DIR", str(run_cache))
    first = with_interrupt(monkeypatch, k)
    with pytest.raises(RuntimeError, match=f"simulated interruption at epoch {k}"):
        runs.train_run(cfg)
    assert first.seen == list(range(k + 1)) and not runs.is_cached(cfg)
    ckpt = paths.checkpoint_dir(h)
    latest = (ckpt / "LATEST").read_text()
    assert latest.startswith(f"epoch-{k - 1:06d}-") and [p.name for p in ckpt.iterdir() if p.is_dir()] == [latest]
    capfd.readouterr()

    again = with_interrupt(monkeypatch, None)
    run = runs.train_run(cfg)
    assert again.seen == list(range(k, cfg.epochs + 1)), "resumed after epoch k-1, not from the start"
    assert f"from its checkpoint after epoch {k - 1}" in capfd.readouterr().err
    assert not ckpt.exists(), "the checkpoint is deleted once the run lands"
    assert_same_run(run.path, ref.path)


def test_interrupt_right_after_initialisation(run_cache, monkeypatch):
    cfg = dataclasses.replace(CASES["mlp-adam-stats-track"], epochs=2)
    first = with_interrupt(monkeypatch, 1)
    with pytest.raises(RuntimeError):
        runs.train_run(cfg)
    assert first.seen == [0, 1]
    again = with_interrupt(monkeypatch, None)
    runs.train_run(cfg)
    assert again.seen == [1, 2]  # epoch 0 (with its statistics) came from the checkpoint


def interrupted_checkpoint(monkeypatch, cfg) -> Path:
    """Interrupt ``cfg`` at epoch 2; the ``state.pt`` of the checkpoint it leaves behind."""
    with_interrupt(monkeypatch, 2)
    with pytest.raises(RuntimeError):
        runs.train_run(cfg)
    ckpt = paths.checkpoint_dir(runs.config_hash(cfg))
    return ckpt / (ckpt / "LATEST").read_text() / "state.pt"


def assert_restarts_from_scratch(monkeypatch, tmp_path, cfg, warning: str) -> None:
    """Running ``cfg`` again warns ``warning``, trains every epoch, and ends as a fresh run does."""
    again = with_interrupt(monkeypatch, None)
    with pytest.warns(UserWarning, match=warning):
        run = runs.train_run(cfg)
    assert again.seen == list(range(cfg.epochs + 1))
    monkeypatch.setattr(T, "build_callbacks", BUILD_CALLBACKS)
    monkeypatch.setenv("BOOK_RUNS_DIR", str(tmp_path / "reference"))
    assert_same_run(run.path, runs.train_run(cfg).path)


def test_unreadable_checkpoint_is_ignored(run_cache, monkeypatch, tmp_path):
    cfg = dataclasses.replace(CASES["mlp-adam-stats-track"], epochs=2)
    interrupted_checkpoint(monkeypatch, cfg).write_bytes(b"garbage")
    assert_restarts_from_scratch(monkeypatch, tmp_path, cfg, "ignoring unreadable checkpoint")


def test_checkpoints_can_be_turned_off(run_cache, monkeypatch):
    monkeypatch.setenv("BOOK_CHECKPOINT", "0")
    cfg = dataclasses.replace(CASES["mlp-adam-stats-track"], epochs=2)
    with_interrupt(monkeypatch, 2)
    with pytest.raises(RuntimeError):
        runs.train_run(cfg)
    assert not paths.checkpoint_dir(runs.config_hash(cfg)).exists()


def test_callbacks_without_state_disable_checkpoints(run_cache, tmp_path):
    class Plain:
        def on_epoch_end(self, epoch, model, ctx):
            return {}

        def on_train_end(self, model, ctx):
            pass

    cfg = dataclasses.replace(CASES["mlp-adam-stats-track"], epochs=2)
    with pytest.warns(UserWarning, match="no checkpoints for this run"):
        T.train(cfg, tmp_path / "out", progress=False, callbacks=[Plain()], checkpoint_dir=tmp_path / "ckpt")
    assert not (tmp_path / "ckpt").exists()


def test_checkpoint_that_cannot_be_restored_is_dropped(run_cache, monkeypatch, tmp_path):
    cfg = dataclasses.replace(CASES["mlp-adam-stats-track"], epochs=2)
    f = interrupted_checkpoint(monkeypatch, cfg)
    state = torch.load(f, weights_only=True)
    state["model"] = {k: torch.zeros(3) for k in state["model"]}  # e.g. written by an older model definition
    torch.save(state, f)
    assert_restarts_from_scratch(monkeypatch, tmp_path, cfg, "cannot be restored")


def set_aside(run_cache, cfg) -> list[Path]:
    """The checkpoint folders of ``cfg`` set aside so far."""
    return sorted((run_cache / "train").glob(f".ckpt-{runs.config_hash(cfg)}.set-aside-*"))


def test_a_bad_checkpoint_is_set_aside_and_named(run_cache, monkeypatch, tmp_path):
    cfg = dataclasses.replace(CASES["mlp-adam-stats-track"], epochs=2)
    interrupted_checkpoint(monkeypatch, cfg).write_bytes(b"garbage")
    with_interrupt(monkeypatch, None)
    with pytest.warns(UserWarning, match=r"set aside as .*\.set-aside-") as record:
        runs.train_run(cfg)
    (moved,) = set_aside(run_cache, cfg)
    assert any(str(moved) in str(w.message) for w in record)
    assert (moved / "LATEST").exists(), "set aside whole, for a look, never loaded again"


# ---- issue 24: no reuse by size and time; nothing in a checkpoint runs code ------------------------
STAMP = 1_700_000_000 * 10**9  # one modification time for every write: a file system with coarse timestamps


class Rewrites(Stateless):
    """Writes ``probe.bin`` after epochs 0 and 2 only, at the same size each time, and sets its modification
    time back to :data:`STAMP`, as a rewrite within the same second looks on a coarse file system."""

    def on_epoch_end(self, epoch, model, ctx):
        if epoch in (0, 2):
            f = ctx.out_dir / "probe.bin"
            f.write_bytes(f"epoch {epoch}".encode())
            os.utime(f, ns=(STAMP, STAMP))
        return {}


def test_a_file_rewritten_at_the_same_size_and_time_lands_with_its_new_content(run_cache, tmp_path):
    cfg = dataclasses.replace(CASES["mlp-adam-stats-track"], epochs=4)
    ckpt = tmp_path / "ckpt"
    with pytest.raises(RuntimeError, match="simulated interruption at epoch 3"):
        T.train(cfg, tmp_path / "first", progress=False, callbacks=[Rewrites(), Interrupt(3)], checkpoint_dir=ckpt)
    assert (ckpt / (ckpt / "LATEST").read_text() / "files" / "probe.bin").read_bytes() == b"epoch 2"
    T.train(cfg, tmp_path / "resumed", progress=False, callbacks=[Rewrites(), Interrupt(None)], checkpoint_dir=ckpt)
    assert (tmp_path / "resumed" / "probe.bin").read_bytes() == b"epoch 2"


def test_checkpoints_link_a_file_only_when_its_content_is_unchanged(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "same.bin").write_bytes(b"x" * 10)
    (out / "changed.bin").write_bytes(b"a" * 10)
    store = Checkpoint(tmp_path / "ckpt", "key")
    assert store.save(0, {}, out)
    inode = (store.current / "files" / "same.bin").stat().st_ino
    st = (out / "changed.bin").stat()
    (out / "changed.bin").write_bytes(b"b" * 10)
    os.utime(out / "changed.bin", ns=(st.st_atime_ns, st.st_mtime_ns))  # same size, same time
    assert store.save(1, {}, out)
    files = store.current / "files"
    assert (files / "same.bin").stat().st_ino == inode  # reused: the same content
    assert (files / "changed.bin").read_bytes() == b"b" * 10
    saved = torch.load(store.current / "state.pt", weights_only=True)
    assert saved["files"] == {"changed.bin": hashlib.sha256(b"b" * 10).hexdigest(),
                              "same.bin": hashlib.sha256(b"x" * 10).hexdigest()}


def test_a_checkpoint_file_that_differs_from_its_record_is_not_restored(run_cache, monkeypatch, tmp_path):
    cfg = dataclasses.replace(CASES["mlp-adam-stats-track"], epochs=2)
    diffs = interrupted_checkpoint(monkeypatch, cfg).parent / "files" / "diffs_max.pt"
    blob = bytearray(diffs.read_bytes())
    blob[-100] ^= 0xFF
    diffs.write_bytes(bytes(blob))
    assert_restarts_from_scratch(monkeypatch, tmp_path, cfg, "diffs_max.pt differs from the SHA-256 it records")


def test_a_checkpoint_holding_a_pickle_payload_is_set_aside_unrun(run_cache, monkeypatch, tmp_path):
    cfg = dataclasses.replace(CASES["mlp-adam-stats-track"], epochs=2)
    f = interrupted_checkpoint(monkeypatch, cfg)
    marker = tmp_path / "payload-ran"
    state = torch.load(f, weights_only=True)
    state["rows"] = Payload(marker)
    torch.save(state, f)
    assert not marker.exists()
    assert_restarts_from_scratch(monkeypatch, tmp_path, cfg, "ignoring unreadable checkpoint .*set aside")
    assert not marker.exists(), "the checkpoint's payload ran"
    assert len(set_aside(run_cache, cfg)) == 1


def test_checkpoint_state_is_plain_data():
    """RNG states, numpy arrays and scalars go through torch.save / weights_only=True loads unchanged."""
    np.random.seed(3)
    random.seed(4)
    state = {"numpy": np.random.get_state(), "random": random.getstate(), "rows": [{"a": np.float64(0.1), "b": 2}],
             "hists": {"x": [np.arange(5, dtype=np.int64)]}, "f32": np.float32(1.5), "flag": np.bool_(True)}
    path = Path(os.environ.get("TMPDIR", "/tmp")) / f"plain-{os.getpid()}.pt"
    try:
        torch.save(to_plain(state), path)
        back = from_plain(torch.load(path, weights_only=True))
    finally:
        path.unlink(missing_ok=True)
    assert back["random"] == state["random"]
    assert back["numpy"][0] == "MT19937" and np.array_equal(back["numpy"][1], state["numpy"][1])
    assert back["numpy"][1].dtype == state["numpy"][1].dtype and back["numpy"][2:] == state["numpy"][2:]
    assert type(back["rows"][0]["a"]) is np.float64 and back["rows"][0]["a"] == state["rows"][0]["a"]
    assert type(back["f32"]) is np.float32 and type(back["flag"]) is np.bool_
    assert back["hists"]["x"][0].dtype == np.int64 and np.array_equal(back["hists"]["x"][0], np.arange(5))
    with pytest.raises(TypeError, match="cannot hold a set"):
        to_plain({"s": {1, 2}})
