"""Foundation: data loading, models, trainer and the run cache."""
from __future__ import annotations

import math
import pickle

import numpy as np
import pytest
import torch

from lib import data, models, paths, profiles, runs
from lib.data import DataConfig
from lib.models import ModelConfig
from lib.config import OptimConfig, TrainConfig


def tiny(**kw) -> TrainConfig:
    base = dict(data=DataConfig("gaussian", 64, 32, seed=0), model=ModelConfig("mlp", width=8, depth=1),
                optim=OptimConfig("adam", 1e-2), batch_size=16, epochs=2)
    base.update(kw)
    return TrainConfig(**base)


# ------------------------------------------------------------------------------------ models
@pytest.mark.parametrize("width, weights, biases", [(512, 2_364_416, 2_058), (2048, 18_894_848, 8_202)])
def test_mlp_counts(width, weights, biases):
    assert models.count_weights(models.mlp(width)) == (weights, biases)
    assert models.mlp_weight_count(width) == weights


def closed_form(w: int, r: float) -> float:
    return w + (math.sqrt(3 * r * w * (3 * w + 3082) + 2374681) - 3 * w - 1541) / 3


@pytest.mark.parametrize("w, r", [(512, 10), (64, 10), (128, 62), (1000, 2.5)])
def test_scaled_width_matches_thesis_formula(w, r):
    assert abs(models.scaled_width(w, r) - closed_form(w, r)) <= 0.5


@pytest.mark.parametrize("depth", [1, 2, 5])
def test_scaled_width_any_depth(depth):
    w2 = models.scaled_width(100, 10, depth=depth)
    ratio = models.mlp_weight_count(w2, depth=depth) / models.mlp_weight_count(100, depth=depth)
    assert abs(ratio - 10) < 0.02


def test_model_shapes_and_errors():
    x = torch.randn(2, 3, 32, 32)
    for arch in ("mlp", "resnet_small", "vit_tiny"):
        assert models.build_model(ModelConfig(arch)).eval()(x).shape == (2, 10)
    with pytest.raises(ValueError, match="width must be"):
        models.mlp(0)
    with pytest.raises(ValueError, match="unknown arch 'vgg'.*known: gpt, mlp, resnet50"):
        ModelConfig(arch="vgg")


def gpt_config(**kw) -> ModelConfig:
    return ModelConfig("gpt", **{"width": 16, "depth": 2, "vocab": 11, "context": 8, "heads": 2, "ff": 24, **kw})


def test_gpt_shapes_causality_and_config_errors():
    torch.manual_seed(0)
    m = models.build_model(gpt_config()).eval()
    x = torch.randint(0, 11, (3, 8))
    out = m(x)
    assert out.shape == (3, 8, 11)
    y = x.clone()
    y[:, 5:] = (y[:, 5:] + 1) % 11  # change only the later tokens: earlier positions' logits stay the same
    torch.testing.assert_close(m(y)[:, :5], out[:, :5])
    assert not torch.allclose(m(y)[:, 5:], out[:, 5:])
    assert m(x[:, :4]).shape == (3, 4, 11)  # shorter windows use the first position embeddings
    with pytest.raises(ValueError, match="at most 8 positions"):
        m(torch.zeros(1, 9, dtype=torch.long))
    assert models.build_model(gpt_config(head_dim=5)).blocks[0].attn.q.out_features == 10
    with pytest.raises(ValueError, match="ModelConfig.vocab must be >= 2 for arch 'gpt'"):
        gpt_config(vocab=0)
    with pytest.raises(ValueError, match="width 16 is not a multiple of heads 3"):
        gpt_config(heads=3)
    with pytest.raises(ValueError, match="context=8 apply to arch 'gpt' only, not 'mlp'"):
        ModelConfig("mlp", context=8)
    assert "gpt" not in repr(ModelConfig("mlp")) and ModelConfig("mlp") == ModelConfig()  # defaults unchanged


def test_vit_attention_uses_linear_layers():
    m = models.vit()
    names = {n for n, _ in m.named_modules()}
    assert {"blocks.0.attn.q", "blocks.0.attn.k", "blocks.0.attn.v", "blocks.0.attn.out"} <= names
    assert len(m.blocks) == 6 and m.blocks[0].attn.heads == 8 and m.blocks[0].ff.hidden.out_features == 512


def test_resnet50_cifar_stem():
    m = models.resnet50()
    assert m.conv1.kernel_size == (3, 3) and m.conv1.stride == (1, 1)
    assert isinstance(m.maxpool, torch.nn.Identity) and m.fc.out_features == 10


# -------------------------------------------------------------------------------------- data
def write_npz(path, n_per_class=6, n_test_per_class=3):
    rng = np.random.default_rng(0)
    ytr = np.repeat(np.arange(10), n_per_class)
    yte = np.repeat(np.arange(10), n_test_per_class)
    np.savez(path, x_train=rng.integers(0, 256, (len(ytr), 32, 32, 3), dtype=np.uint8), y_train=ytr,
             x_test=rng.integers(0, 256, (len(yte), 32, 32, 3), dtype=np.uint8), y_test=yte)


def test_loads_npz_and_balanced_subset(tmp_path, monkeypatch):
    f = tmp_path / "c.npz"
    write_npz(f)
    monkeypatch.setenv("CIFAR10_PATH", str(f))
    d = data.load_data(DataConfig("cifar10", n_train=20, n_test=10, seed=3))
    assert d.x_train.shape == (20, 3, 32, 32) and d.x_train.dtype == torch.float32
    assert np.bincount(d.y_train.numpy(), minlength=10).tolist() == [2] * 10
    d2 = data.load_data(DataConfig("cifar10", n_train=20, n_test=10, seed=3))
    assert torch.equal(d.x_train, d2.x_train)
    # not in source (class-grouped) order
    assert d.y_train.tolist() != sorted(d.y_train.tolist())


def test_loads_torchvision_batches_folder(tmp_path):
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    rng = np.random.default_rng(1)
    for name, n in zip(data.BATCH_FILES, (20, 20, 20, 20, 20, 10)):
        with open(folder / name, "wb") as fh:
            pickle.dump({"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
                         "labels": list(rng.integers(0, 10, n))}, fh)
    a = data.load_cifar10_arrays(str(tmp_path))
    assert a.x_train.shape == (100, 32, 32, 3) and a.x_test.shape == (10, 32, 32, 3)
    # channel-first rows become NHWC: the first 1024 values of a row are the red plane
    with open(folder / "data_batch_1", "rb") as fh:
        raw = pickle.load(fh)["data"][0]
    assert np.array_equal(a.x_train[0, :, :, 0].ravel(), raw[:1024])


def test_no_data_error_lists_places(tmp_path, monkeypatch):
    monkeypatch.delenv("CIFAR10_PATH", raising=False)
    monkeypatch.setattr(paths, "data_dir", lambda: tmp_path / "data_missing")
    with pytest.raises(data.DataNotFoundError) as e:
        data.find_cifar10(download=False)
    msg = str(e.value)
    for part in ("data_missing", "CIFAR10_PATH", "download"):
        assert part in msg
    # an explicit location that does not exist is named, and nothing else is tried
    monkeypatch.setenv("CIFAR10_PATH", str(tmp_path / "env_missing"))
    with pytest.raises(data.DataNotFoundError, match="env_missing does not exist"):
        data.find_cifar10(download=False)
    with pytest.raises(data.DataNotFoundError, match="arg_missing does not exist"):
        data.find_cifar10(tmp_path / "arg_missing", download=False)


def test_gaussian_fixed_by_seed():
    a = data.load_data(DataConfig("gaussian", 50, 20, seed=4))
    b = data.load_data(DataConfig("gaussian", 50, 20, seed=4))
    c = data.load_data(DataConfig("gaussian", 50, 20, seed=5))
    assert torch.equal(a.y_train, b.y_train) and torch.equal(a.x_train, b.x_train)
    assert not torch.equal(a.y_train, c.y_train)
    assert abs(a.x_train.std().item() - 1) < 0.05 and set(a.y_train.tolist()) <= set(range(10))


def test_bad_configs():
    with pytest.raises(ValueError, match="unknown dataset 'mnist'"):
        DataConfig("mnist")
    with pytest.raises(ValueError, match="unknown optimiser 'rmsprop'"):
        OptimConfig("rmsprop")
    with pytest.raises(ValueError, match="unknown profile 'gpu'"):
        profiles.get("gpu")


# ------------------------------------------------------------------------- trainer and cache
def test_training_lowers_loss_on_cifar_subset(run_cache):
    try:
        data.find_cifar10(download=False)
    except data.DataNotFoundError:
        pytest.skip("CIFAR-10 not found (set CIFAR10_PATH)")
    cfg = TrainConfig(data=DataConfig("cifar10", 512, 100), model=ModelConfig("mlp", width=64),
                      optim=OptimConfig("adam", 1e-3), batch_size=64, epochs=3)
    m = runs.train_run(cfg).metrics
    assert m["train_loss"].iloc[-1] < m["train_loss"].iloc[0] - 0.2


def test_final_test_scores_the_final_weights_on_the_whole_test_split(tmp_path, monkeypatch, run_cache):
    from dataclasses import replace

    from lib.config import config_dict, config_hash
    from lib.train import evaluate

    f = tmp_path / "c.npz"
    write_npz(f, n_per_class=8, n_test_per_class=5)  # 50 test images
    monkeypatch.setenv("CIFAR10_PATH", str(f))
    base = TrainConfig(data=DataConfig("cifar10", 40, 20), model=ModelConfig("mlp", width=8, depth=1),
                       optim=OptimConfig("adam", 1e-3), batch_size=20, epochs=2)
    cfg = replace(base, final_test=True)
    assert "final_test" not in config_dict(base) and config_hash(cfg) != config_hash(base)
    run, plain = runs.train_run(cfg), runs.train_run(base)
    m = run.metrics
    assert m["final_test_acc"].notna().tolist() == [False, False, True]
    full = data.load_data(DataConfig("cifar10", 40, 0))
    loss, acc = evaluate(run.load_model(), full.x_test, full.y_test)
    assert m["final_test_loss"].iloc[-1] == pytest.approx(loss) and m["final_test_acc"].iloc[-1] == pytest.approx(acc)
    assert m["final_test_n"].iloc[-1] == 50
    # training and the per-epoch curves (on the 20-image subset) are those of the run without it
    for col in ("train_loss", "test_loss", "test_acc"):
        assert m[col].tolist() == pytest.approx(plain.metrics[col].tolist())
    fin, fin0 = run.final(), plain.final()
    assert fin["test_acc"] == pytest.approx(acc) and fin["test_loss"] == pytest.approx(loss) and fin["test_n"] == 50
    assert fin0["test_n"] == 20 and fin0["test_acc"] == pytest.approx(plain.metrics["test_acc"].iloc[-1])
    assert fin["train_acc"] == pytest.approx(m["train_acc"].iloc[-1]) and fin["epoch"] == 2
    row = runs.final_row(m.iloc[-1])
    assert row["test_acc"] == pytest.approx(acc) and row["test_loss"] == pytest.approx(loss)
    with pytest.raises(ValueError, match="gaussian data has none"):
        TrainConfig(data=DataConfig("gaussian", 8, 8), final_test=True)
    with pytest.raises(ValueError, match="final_test must be True or False"):
        TrainConfig(final_test=1)


def test_a_run_without_the_per_epoch_test_pass_trains_to_the_same_bits(tmp_path, monkeypatch, run_cache):
    from dataclasses import replace

    import pandas as pd
    import torch

    from lib.config import config_dict, config_hash
    from lib.experiments import child_config

    f = tmp_path / "c.npz"
    write_npz(f, n_per_class=8, n_test_per_class=5)
    monkeypatch.setenv("CIFAR10_PATH", str(f))
    full = TrainConfig(data=DataConfig("cifar10", 40, 20), model=ModelConfig("mlp", width=8, depth=1),
                       optim=OptimConfig("adam", 1e-3), batch_size=20, epochs=2, final_test=True)
    lean = replace(full, test_each_epoch=False)
    assert "test_each_epoch" not in config_dict(full) and config_hash(lean) != config_hash(full)
    a, b = runs.train_run(full), runs.train_run(lean)
    ma, mb = a.metrics, b.metrics
    assert mb["test_acc"].isna().all() and mb["test_loss"].isna().all() and ma["test_acc"].notna().all()
    for col in ("train_loss", "train_acc", "final_test_loss", "final_test_acc"):  # equal to the bit (NaN where NaN)
        pd.testing.assert_series_equal(ma[col], mb[col], check_exact=True)
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)
    fa, fb = a.final(), b.final()
    assert fb["test_acc"] == fa["test_acc"] and fb["test_loss"] == fa["test_loss"] and fb["test_n"] == 50
    # children skip the pass exactly where the final test scores the whole split
    assert child_config(full, seed=3).test_each_epoch is False and child_config(full, seed=3).seed == 3
    assert child_config(replace(full, final_test=False)).test_each_epoch is True
    with pytest.raises(ValueError, match="test_each_epoch=False needs final_test=True"):
        replace(full, final_test=False, test_each_epoch=False)
    with pytest.raises(ValueError, match="test_each_epoch must be True or False"):
        TrainConfig(test_each_epoch=0)
    # what the chapters' settings say the final test accuracy is measured on
    from lib.profiles import final_test_text
    assert final_test_text(lean) == "all 10,000 test images"
    assert final_test_text(replace(full, final_test=False)) == "the 20 test images of its subset"
    assert final_test_text(replace(full, final_test=False, data=DataConfig("cifar10", 40, 0))) == "all 10,000 test images"


def test_cache_hit_does_not_train(run_cache):
    before = runs.TRAIN_COUNT
    r1 = runs.train_run(tiny())
    r2 = runs.train_run(tiny())
    assert runs.TRAIN_COUNT == before + 1 and r1.path == r2.path
    assert (r1.path / "config.json").exists() and (r1.path / "model.pt").exists()
    assert list(r1.metrics["epoch"]) == [0, 1, 2]
    info = r2.info
    assert info["train_seconds"] > 0 and info["device"] == "cpu" and info["threads"] >= 1


def test_deterministic_on_cpu(run_cache):
    from lib.train import train

    _, a = train(tiny(), run_cache, device=torch.device("cpu"), progress=False)
    _, b = train(tiny(), run_cache, device=torch.device("cpu"), progress=False)
    assert a.equals(b)


def test_crashed_run_leaves_no_cache_entry(run_cache, monkeypatch):
    import lib.train as T

    real = T.evaluate
    calls = {"n": 0}

    def flaky(*a, **k):
        calls["n"] += 1
        if calls["n"] == 3:  # during epoch 1
            raise RuntimeError("simulated crash")
        return real(*a, **k)

    monkeypatch.setattr(T, "evaluate", flaky)
    with pytest.raises(RuntimeError, match="simulated crash"):
        runs.train_run(tiny())
    assert not runs.is_cached(tiny())
    # nothing that looks finished: only the epoch-0 checkpoint the next call resumes from
    assert [p.name for p in (run_cache / "train").iterdir()] == [f".ckpt-{runs.config_hash(tiny())}"]
    monkeypatch.setattr(T, "evaluate", real)
    runs.train_run(tiny())
    assert [p.name for p in (run_cache / "train").iterdir()] == [runs.config_hash(tiny())]


def test_hash_only_non_default_fields_and_pinned(monkeypatch):
    # the CIFAR-10 fingerprint enters the hash (tests/test_data_trust.py); pin the scheme with a fixed one
    monkeypatch.setattr(data, "cifar10_fingerprint", lambda *a, **k: "0" * 64)
    assert runs.config_hash(TrainConfig()) == runs.config_hash(TrainConfig(epochs=10))
    assert runs.config_hash(TrainConfig()) != runs.config_hash(TrainConfig(epochs=11))
    # regression pins: changing these means every cached run is orphaned
    assert runs.config_hash(TrainConfig()) == PINNED[0]
    assert runs.config_hash(tiny()) == PINNED[1]


PINNED = ("46808d51f4e47fbe", "1515dc567fdc7659")  # with data fingerprints (issue 13)


def test_track_records_parameter_values(run_cache):
    r = runs.train_run(tiny(track=("1.weight",)))
    t = r.arrays("tracks.npz")["1.weight"]
    assert t.shape == (3, 8, 3072)
    assert torch.equal(torch.from_numpy(t[-1]), r.state_dict()["1.weight"])


def test_init_from_uses_trained_weights(run_cache):
    parent = tiny()
    child = tiny(init_from=parent, data=DataConfig("gaussian", 64, 32, seed=9), epochs=0)
    pr = runs.train_run(parent)
    cr = runs.train_run(child)
    for k, v in pr.state_dict().items():
        assert torch.equal(v, cr.state_dict()[k])


# ------------------------------------------------------------------------------------ evaluation
@pytest.mark.parametrize("arch", ["mlp", "resnet_small", "vit_tiny"])
def test_evaluate_matches_a_per_sample_loop_at_every_batch(arch):
    """Loss and accuracy of :func:`lib.train.evaluate` against one forward pass per sample (eval mode,
    float64 sum), at batch sizes that divide the data and ones that leave a short last batch; the
    batch is a speed setting (``EVAL_BATCH``), so it may not change the result beyond float rounding."""
    import torch.nn.functional as F
    from lib.train import evaluate, fresh_model

    cfg = tiny(data=DataConfig("gaussian", 8, 37, seed=3), model=ModelConfig(arch, width=16))
    d = data.load_data(cfg.data, torch.device("cpu"))
    model = fresh_model(cfg).train()  # evaluate switches to eval mode and back
    model.eval()
    with torch.no_grad():
        outs = [model(d.x_test[i:i + 1]) for i in range(len(d.y_test))]
    model.train()
    want_loss = sum(F.cross_entropy(o, d.y_test[i:i + 1]).double().item() for i, o in enumerate(outs)) / len(outs)
    want_acc = sum(int(o.argmax(1).item() == d.y_test[i].item()) for i, o in enumerate(outs)) / len(outs)
    for batch in (1, 5, 32, 37, 1024):
        loss, acc = evaluate(model, d.x_test, d.y_test, batch)
        assert acc == want_acc, batch
        assert loss == pytest.approx(want_loss, rel=1e-6), batch
        assert model.training  # mode restored
    with pytest.raises(ValueError, match="batch_size must be an integer >= 1, got 0"):
        evaluate(model, d.x_test, d.y_test, 0)


def test_eval_batch_by_device_and_architecture(monkeypatch):
    from lib.train import EVAL_BATCH, EVAL_BATCH_ENV, eval_batch_size

    monkeypatch.delenv(EVAL_BATCH_ENV, raising=False)
    assert eval_batch_size("resnet_small", "cpu") == EVAL_BATCH[("cpu", "other")] == 32
    assert eval_batch_size("vit_tiny", torch.device("cpu")) == 32
    assert eval_batch_size("mlp", "cpu") == 1024
    assert eval_batch_size("resnet50", "cuda") == eval_batch_size("mlp", "cuda:0") == 1024
    monkeypatch.setenv(EVAL_BATCH_ENV, "1024")
    assert eval_batch_size("resnet_small", "cpu") == 1024
    for bad in ("0", "big", "-3"):
        monkeypatch.setenv(EVAL_BATCH_ENV, bad)
        with pytest.raises(ValueError, match=f"BOOK_EVAL_BATCH={bad!r}: expected a positive whole number"):
            eval_batch_size("mlp", "cpu")
