"""Data you can trust (issue 13): bad data files stop with one error naming the file and the array, an
explicit location that does not exist is never replaced by another, and the data's fingerprint is part of
every run hash (memoised, so only the first call reads the file). Each test builds the damage in tmp_path."""
from __future__ import annotations

import pickle

import numpy as np
import pytest
from hostile import Payload

from lib import data, paths
from lib.config import MaskConfig, TrainConfig, config_hash
from lib.data import DataConfig, DataError, DataNotFoundError
from lib.models import ModelConfig

CIFAR = DataConfig("cifar10", n_train=10, n_test=10)
GAUSS = DataConfig("gaussian", 20, 10)


@pytest.fixture(autouse=True)
def isolated(run_cache, tmp_path, monkeypatch):
    """No CIFAR10_PATH, an empty data/ folder, an empty run cache (for the fingerprint memo), fresh memos."""
    monkeypatch.delenv("CIFAR10_PATH", raising=False)
    monkeypatch.setattr(paths, "data_dir", lambda: tmp_path / "data")
    data.clear_caches()
    yield
    data.clear_caches()


def arrays(seed: int = 0, n_train: int = 20, n_test: int = 10) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return dict(x_train=rng.integers(0, 256, (n_train, 32, 32, 3), dtype=np.uint8), y_train=np.arange(n_train) % 10,
                x_test=rng.integers(0, 256, (n_test, 32, 32, 3), dtype=np.uint8), y_test=np.arange(n_test) % 10)


def write_npz(path, **override):
    with open(path, "wb") as fh:  # a file object: np.savez would add ".npz" to "cifar10.NPZ"
        np.savez(fh, **{**arrays(), **override})
    return path


def use(monkeypatch, path):
    monkeypatch.setenv("CIFAR10_PATH", str(path))
    return path


# ------------------------------------------------------------------------------ checks on load
@pytest.mark.parametrize("name, value, message", [
    ("x_train", arrays()["x_train"].astype(np.float32) / 255, r"x_train is float32 with values in \[0, 1\].*scaled"),
    ("x_train", arrays()["x_train"].astype(np.uint16) * 256, r"x_train has dtype uint16, expected uint8"),
    ("x_train", np.full((20, 32, 32, 3), 0.5), r"x_train is float64 with values in \[0.5, 0.5\], not integer"),
    ("x_train", arrays()["x_train"].transpose(0, 3, 1, 2), r"x_train has shape \(20, 3, 32, 32\).*channel-first"),
    ("x_test", np.zeros((10, 28, 28, 3), np.uint8), r"x_test has shape \(10, 28, 28, 3\), expected \(N, 32, 32, 3\)"),
    ("x_test", np.zeros((0, 32, 32, 3), np.uint8), r"x_test holds no images"),
    ("y_train", np.arange(15) % 10, r"y_train has 15 labels for 20 images"),
    ("y_train", np.arange(20) % 11, r"y_train has labels in \[0, 10\], expected 0-9"),
    ("y_test", -np.ones(10, np.int64), r"y_test has labels in \[-1, -1\], expected 0-9"),
    ("y_train", (np.arange(20) % 10).reshape(20, 1), r"y_train has shape \(20, 1\).*reshape\(-1\)"),
    ("y_test", np.zeros(10, np.float32), r"y_test has dtype float32, expected integer"),
])
def test_bad_arrays_stop_with_the_file_and_the_array(tmp_path, monkeypatch, name, value, message):
    f = use(monkeypatch, write_npz(tmp_path / "bad.npz", **{name: value}))
    with pytest.raises(DataError, match=message) as e:
        data.load_data(CIFAR)
    assert str(f) in str(e.value)
    with pytest.raises(DataError):  # the run hash needs the same checked arrays: no run is named after bad data
        config_hash(TrainConfig(data=CIFAR))


def test_integer_valued_float_images_are_converted(tmp_path, monkeypatch):
    a = arrays()
    use(monkeypatch, write_npz(tmp_path / "f.npz", x_train=a["x_train"].astype(np.float32),
                               y_train=a["y_train"].astype(np.uint8)))
    got = data.load_cifar10_arrays()
    assert got.x_train.dtype == np.uint8 and np.array_equal(got.x_train, a["x_train"]) and got.y_train.dtype == np.int64
    f_fp = data.fingerprint(CIFAR)
    use(monkeypatch, write_npz(tmp_path / "u.npz"))
    assert data.fingerprint(CIFAR) == f_fp, "the same pixels and labels are the same data"


def test_missing_array_is_named(tmp_path, monkeypatch):
    a = arrays()
    del a["y_test"]
    np.savez(tmp_path / "m.npz", **a)
    with pytest.raises(DataError, match=r"m.npz lacks arrays \['y_test'\]"):
        data.load_cifar10_arrays(tmp_path / "m.npz")


@pytest.mark.parametrize("damage", ["half", "empty", "text"])
def test_truncated_empty_or_foreign_npz_is_one_error_naming_the_file(tmp_path, monkeypatch, damage):
    good = write_npz(tmp_path / "good.npz").read_bytes()
    f = tmp_path / "cifar10.npz"
    f.write_bytes({"half": good[:len(good) // 2], "empty": b"", "text": b"not a zip archive\n" * 10}[damage])
    use(monkeypatch, f)
    with pytest.raises(DataError, match="cannot be read as a .npz archive") as e:
        data.load_data(CIFAR)
    assert str(f) in str(e.value) and "bytes" in str(e.value)


def write_batches(folder, rng=None):
    rng = rng or np.random.default_rng(1)
    folder.mkdir(parents=True, exist_ok=True)
    for name in data.BATCH_FILES:
        n = 10 if name == "test_batch" else 20
        with open(folder / name, "wb") as fh:
            pickle.dump({"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8), "labels": list(np.arange(n) % 10)}, fh)
    return folder


@pytest.mark.parametrize("damage, message", [
    ("truncate", "cannot be read as a CIFAR-10 pickle batch"),
    ("garbage", "cannot be read as a CIFAR-10 pickle batch"),
    ("no labels", "cannot be read as a CIFAR-10 pickle batch.*KeyError"),
    ("short rows", r"data has shape \(20, 1000\), expected \(N, 3072\)"),
    ("labels 10", r"labels \(y_train\) has labels in \[10, 19\]"),
])
def test_corrupt_pickle_batch_names_the_file(tmp_path, monkeypatch, damage, message):
    folder = write_batches(tmp_path / "cifar-10-batches-py")
    f = folder / "data_batch_2"
    if damage == "truncate":
        f.write_bytes(f.read_bytes()[:1000])
    elif damage == "garbage":
        f.write_bytes(b"\x00garbage" * 50)
    else:
        d = pickle.loads(f.read_bytes())
        if damage == "no labels":
            del d["labels"]
        elif damage == "short rows":
            d["data"] = d["data"][:, :1000]
        else:
            d["labels"] = [c + 10 for c in d["labels"]]
        f.write_bytes(pickle.dumps(d))
    use(monkeypatch, tmp_path)
    with pytest.raises(DataError, match=message) as e:
        data.load_cifar10_arrays()
    assert str(f) in str(e.value)


def test_class_counts(tmp_path):
    f = write_npz(tmp_path / "c.npz")
    counts = data.class_counts(f)
    assert counts["path"] == str(f.resolve())
    assert counts["train"] == dict.fromkeys(data.CLASSES, 2) and counts["test"] == dict.fromkeys(data.CLASSES, 1)


# --------------------------------------------------------------------------------- finding
def test_mistyped_path_is_an_error_not_a_fallback(tmp_path, monkeypatch):
    paths.data_dir().mkdir()
    write_npz(paths.data_dir() / "cifar10.npz")  # a valid copy in data/ ...
    assert data.find_cifar10(download=False) == (paths.data_dir() / "cifar10.npz").resolve()
    use(monkeypatch, tmp_path / "cifar10.nzp")  # ... is not used in place of a mistyped CIFAR10_PATH
    with pytest.raises(DataNotFoundError, match=r"CIFAR10_PATH = .*cifar10.nzp does not exist"):
        data.find_cifar10()  # download allowed: still no fallback
    with pytest.raises(DataNotFoundError, match="cifar10.nzp does not exist"):
        config_hash(TrainConfig(data=CIFAR))
    with pytest.raises(DataNotFoundError, match="path argument .*typo does not exist"):
        data.load_data(CIFAR, path=tmp_path / "typo")
    # an existing location that holds no CIFAR-10 is an error too
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataNotFoundError, match="is a folder holding none of"):
        data.find_cifar10(tmp_path / "empty")
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(DataNotFoundError, match="is not a .npz file"):
        data.find_cifar10(tmp_path / "notes.txt")


def test_suffixes_and_names_match_in_any_case(tmp_path, monkeypatch):
    f = write_npz(tmp_path / "cifar10.NPZ")
    assert data.find_cifar10(f) == f.resolve()
    assert data.find_cifar10(tmp_path) == f.resolve()  # a folder holding it
    use(monkeypatch, f)
    assert data.load_data(CIFAR).n_train == 10


# --------------------------------------------------------------------------------- identity
def test_changing_the_data_file_changes_the_run_hash(tmp_path, monkeypatch):
    a, b = write_npz(tmp_path / "a.npz"), write_npz(tmp_path / "b.npz", **arrays(seed=1))
    cfg = TrainConfig(data=CIFAR, model=ModelConfig("mlp", width=8, depth=1))
    use(monkeypatch, a)
    ha = config_hash(cfg)
    use(monkeypatch, b)
    hb = config_hash(cfg)
    assert ha != hb
    use(monkeypatch, a)
    assert config_hash(cfg) == ha
    # a copy of the same arrays is the same data, wherever it lives
    (tmp_path / "copy").mkdir()
    use(monkeypatch, write_npz(tmp_path / "copy" / "cifar10.npz"))
    assert config_hash(cfg) == ha
    # the data of the run it starts from and of its mask's parent count too
    child = TrainConfig(data=GAUSS, init_from=cfg)
    masked = TrainConfig(data=GAUSS, mask=MaskConfig(parent=cfg))
    hashes_a = config_hash(child), config_hash(masked), config_hash(masked.mask)
    use(monkeypatch, b)
    assert all(x != y for x, y in zip(hashes_a, (config_hash(child), config_hash(masked), config_hash(masked.mask))))


def test_npz_and_batches_folder_with_the_same_arrays_have_one_fingerprint(tmp_path, monkeypatch):
    folder = write_batches(tmp_path / "cifar-10-batches-py")
    from_folder = data.load_cifar10_arrays(folder)
    np.savez(tmp_path / "same.npz", **{k: getattr(from_folder, k) for k in data.ARRAY_NAMES})
    assert data.cifar10_fingerprint(folder) == data.cifar10_fingerprint(tmp_path / "same.npz")


def test_gaussian_hash_is_independent_of_cifar10(tmp_path, monkeypatch):
    cfg = TrainConfig(data=GAUSS, model=ModelConfig("mlp", width=8, depth=1))
    h = config_hash(cfg)  # no CIFAR-10 anywhere: not needed
    use(monkeypatch, write_npz(tmp_path / "a.npz"))
    assert config_hash(cfg) == h
    use(monkeypatch, tmp_path / "missing.npz")
    assert config_hash(cfg) == h
    assert data.source_info(GAUSS) == {"dataset": "gaussian", "path": None, "fingerprint": data.GAUSSIAN_FINGERPRINT}


def test_fingerprint_is_memoised_in_the_process_and_in_the_run_cache(tmp_path, monkeypatch, run_cache):
    reads = []
    real = data._read_arrays
    monkeypatch.setattr(data, "_read_arrays", lambda loc: reads.append(loc) or real(loc))
    f = use(monkeypatch, write_npz(tmp_path / "a.npz"))
    fp = data.fingerprint(CIFAR)
    assert len(reads) == 1 and len(fp) == 64
    assert data.fingerprint(CIFAR) == fp and config_hash(TrainConfig(data=CIFAR)) and len(reads) == 1
    data.load_data(CIFAR)  # the arrays the fingerprint read serve the loader too
    assert len(reads) == 1
    data.clear_caches()  # as a new process: the memo file answers
    assert data.fingerprint(CIFAR) == fp and len(reads) == 1
    assert sorted(p.name for p in run_cache.iterdir()) == ["data-fingerprints.json"]  # no temporary file left
    assert data.source_info(CIFAR) == {"dataset": "cifar10", "path": str(f.resolve()), "fingerprint": fp}
    # a changed file (size or times) is read again; fresh=True always reads
    write_npz(f, **arrays(seed=2, n_train=30))
    assert data.fingerprint(CIFAR) != fp and len(reads) == 2
    data.cifar10_fingerprint(fresh=True)
    assert len(reads) == 3
    # a damaged memo file is ignored, not an error
    (run_cache / "data-fingerprints.json").write_text("{truncated")
    data.clear_caches()
    assert data.fingerprint(CIFAR) and len(reads) == 4


def test_data_config_fields_are_checked():
    with pytest.raises(ValueError, match=r"DataConfig.seed must be an integer, got 1.0"):
        DataConfig("cifar10", seed=1.0)
    with pytest.raises(ValueError, match=r"DataConfig.n_train must be >= 0, got -1"):
        DataConfig("gaussian", n_train=-1)


# ------------------------------------------------- data as asked, no code from data (issue 24)
def test_a_crafted_batch_file_runs_no_code(tmp_path, monkeypatch):
    folder = write_batches(tmp_path / "cifar-10-batches-py")
    marker = tmp_path / "payload-ran"
    d = pickle.loads((folder / "data_batch_3").read_bytes())
    d["labels"] = Payload(marker)
    (folder / "data_batch_3").write_bytes(pickle.dumps(d))
    use(monkeypatch, tmp_path)
    with pytest.raises(DataError, match=r"data_batch_3.*refused global .*open") as e:
        data.load_cifar10_arrays()
    assert not marker.exists(), "unpickling the batch ran the payload"
    assert "cannot be read as a CIFAR-10 pickle batch" in str(e.value)
    # the same file through plain pickle would have run it (the test's payload is real)
    pickle.loads((folder / "data_batch_3").read_bytes())
    assert marker.exists()


def test_batch_unpickler_reads_real_style_batches(tmp_path):
    """Python 2 style pickles (bytes keys, latin-1) of the original archive load through the restricted reader."""
    folder = write_batches(tmp_path / "cifar-10-batches-py")
    d = pickle.loads((folder / "data_batch_1").read_bytes())
    raw = {b"batch_label": b"training batch 1 of 5", b"labels": d["labels"], b"data": d["data"],
           b"filenames": [b"a.png"] * len(d["labels"])}
    (folder / "data_batch_1").write_bytes(pickle.dumps({k.decode(): v for k, v in raw.items()}, protocol=2))
    assert data.load_batch_pickle(folder / "data_batch_1")["batch_label"] == b"training batch 1 of 5"
    assert data.load_cifar10_arrays(folder).x_train.shape == (100, 32, 32, 3)


def test_batches_folder_missing_a_batch_is_an_error(tmp_path, monkeypatch):
    folder = write_batches(tmp_path / "cifar-10-batches-py")
    for name in ("data_batch_2", "data_batch_5"):
        (folder / name).unlink()
    use(monkeypatch, tmp_path)
    with pytest.raises(DataError, match=r"cifar-10-batches-py lacks data_batch_2, data_batch_5"):
        data.load_cifar10_arrays()


def test_more_images_than_the_file_holds_is_an_error(tmp_path, monkeypatch):
    use(monkeypatch, write_npz(tmp_path / "c.npz"))  # 20 train, 10 test images
    with pytest.raises(DataError, match=r"n_train=21 asks for more images than .*c.npz holds \(20 in that split\)"):
        data.load_data(DataConfig("cifar10", n_train=21, n_test=10))
    with pytest.raises(DataError, match=r"n_test=11 asks for more images .*\(10 in that split\)"):
        data.load_data(DataConfig("cifar10", n_train=20, n_test=11))
    assert data.load_data(DataConfig("cifar10", n_train=20, n_test=10)).n_train == 20  # all of it: fine
    assert data.load_data(DataConfig("cifar10", n_train=0, n_test=0)).n_train == 20


def test_a_non_array_npz_member_names_the_file_and_member(tmp_path, monkeypatch):
    import zipfile

    f = write_npz(tmp_path / "c.npz")
    with zipfile.ZipFile(f, "a") as z:  # a member without .npy: np.load hands it back as bytes
        z.writestr("x_test", b"not an array")
    use(monkeypatch, f)
    with pytest.raises(DataError, match=r"c.npz: member 'x_test' is not a numpy array"):
        data.load_data(CIFAR)


def test_an_empty_cifar10_path_is_an_error(monkeypatch):
    monkeypatch.setenv("CIFAR10_PATH", "")
    with pytest.raises(DataNotFoundError, match=r"\$CIFAR10_PATH is set but empty"):
        data.find_cifar10(download=False)
