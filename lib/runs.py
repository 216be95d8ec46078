"""The run cache: a finished run lives in ``runs/train/<hash>/``, named by a hash of its config.

Only fields that differ from their defaults enter the hash (as in open_lth), so adding a new
field with a default keeps every old run reachable. A run folder holds ``config.json``,
``metrics.csv``, ``model.pt`` (final weights) and whatever its callbacks wrote (gradient
statistics, diffs, tracked parameters). A run is trained in a temporary sibling folder and renamed
into place only when complete: an interrupted or crashed run leaves nothing that looks finished.
While it trains it checkpoints every epoch into ``runs/train/.ckpt-<hash>/`` (see :mod:`lib.train`);
the next :func:`train_run` of the same config resumes from there, and the folder is deleted
once the run has landed.

The cache checks itself. The last file written into the temporary folder, before the rename, is
``manifest.json`` (name, size and SHA-256 of every other file, :mod:`lib.manifest`); a folder without
one is damaged, never adopted. The executor's check of a planned run (:func:`hit`, used by
:func:`lib.parallel.train` and :func:`train_run`) hashes every file and compares its ``config.json``
with the config asked for; a reader's :func:`load` compares names, sizes and ``config.json``, and then
every file the reader asks for (:meth:`Run.read_bytes`) is hashed as it is read, so what is parsed is
what was hashed. ``python -m lib.runs verify [--deep]`` checks every run (``--deep``: the SHA-256
too). A damaged run is moved to ``runs/quarantine/<hash>-<time>/`` (with ``QUARANTINE.txt`` saying what
was wrong), a :class:`DamagedRunWarning` names the problem, and the run is trained again (by the
executor; a reader gets a :class:`DamagedRunError`). One process trains a run at a time
(:mod:`lib.locks`). The first use of the cache in a process deletes the temporary folders
(``.tmp-<hash>-<pid>-<ns>-<host>``) of processes of this host that no longer exist, and the checkpoints
of runs that landed.

Reading and training are apart. :func:`load` returns a cached run and raises :class:`RunNotTrained`,
naming the run and the chapter plan it belongs to, when it is not cached: readers (the chapters, the
experiments' readers) never train. :func:`train_run` is the executor's per-run step: only
:func:`lib.parallel.train` (the one executor, stage after stage) and the SLURM job
(:class:`lib.cluster.slurm.TrainTask`) call it. It is the runner (as in open_lth): it resolves what a
config refers to, the run whose weights it starts from (``init_from``, :func:`initial_model`) and the
parent its mask is derived from (:func:`mask_for`), both loaded from the cache (an earlier stage of the
plan landed them), and hands the trainer a built model and the mask tensors. :mod:`lib.train` and
:mod:`lib.masks` never import this module.
"""
from __future__ import annotations

import argparse
import errno
import io
import json
import os
import re
import shutil
import socket
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd
import torch
from torch import nn

from . import locks, manifest, mask_cache, paths
from .config import MaskConfig, TrainConfig, config_dict, config_hash
from .data import source_info
from .models import build_model
from .plan import describe
from .train import default_device, fresh_model, train

#: How many runs this process actually trained (cache misses); tests read it.
TRAIN_COUNT = 0
#: The file, written last, that lists every other file of a finished run with its size and SHA-256.
MANIFEST = paths.MANIFEST_FILE
#: Files every finished run has.
REQUIRED = (paths.CONFIG_FILE, paths.METRICS_FILE, paths.MODEL_FILE)
#: This machine, in temporary folder names (leftovers of other hosts sharing the cache are kept).
HOST = re.sub(r"[^A-Za-z0-9.]", "_", socket.gethostname()) or "host"
_TMP_NAME = re.compile(r"\.tmp-[0-9a-f]+-(\d+)-\d+(?:-([A-Za-z0-9._]+))?")
_CKPT_NAME = re.compile(r"\.ckpt-([0-9a-f]+)(?:\.set-aside-\d+)?")
_SWEPT: set[str] = set()  # train folders whose leftovers this process has removed


class DamagedRunWarning(manifest.DamagedFolderWarning):
    """A finished run failed its check and was moved to ``runs/quarantine/``; the next training of its plan
    trains it again."""


class RunNotTrained(LookupError):
    """A reader asked for a run that is not in the cache (:func:`load`); names the run, its hash and the
    chapter plan it should have come from."""

    def __init__(self, cfg: TrainConfig, chapter: str | None = None):
        self.config, self.hash, self.chapter = cfg, config_hash(cfg), chapter
        where = (f"chapter {chapter}'s plan lists it: train the plan first (the build does; or "
                 f"lib.parallel.train(plan(setup)))" if chapter else
                 "train the plan that lists it first: lib.parallel.train(plan)")
        super().__init__(f"run {self.hash} ({describe(cfg)}) is not in the run cache {paths.run_dir(self.hash).parent}; "
                         f"{where}. Readers never train")


class DamagedRunError(RunNotTrained):
    """A file a reader asked a cached run for differs from the run's manifest (or the run failed its check
    when loaded): the run was moved to quarantine and must be trained again (the next training of its plan
    does). Names the run and the file."""

    def __init__(self, cfg: TrainConfig, problem: str, where: Path | None, chapter: str | None = None):
        LookupError.__init__(self, f"run {config_hash(cfg)} ({describe(cfg)}) is damaged: {problem}; "
                             + (f"moved to {where}; " if where else "")
                             + "the next training of its plan trains it again (readers never train)")
        self.config, self.hash, self.chapter, self.problem = cfg, config_hash(cfg), chapter, problem


def final_row(last: pd.Series) -> pd.Series:
    """A run's last metrics row with ``test_loss`` and ``test_acc`` over the whole test split where the run
    recorded them (``final_test_*``, :attr:`lib.config.TrainConfig.final_test`), and a ``gap`` column then
    recomputed as train_acc - test_acc; else as it is (a copy)."""
    row = last.copy()
    if "final_test_acc" in row.index and pd.notna(row["final_test_acc"]):
        row["test_loss"], row["test_acc"] = row["final_test_loss"], row["final_test_acc"]
        if "gap" in row.index:
            row["gap"] = row["train_acc"] - row["test_acc"]
    return row


@dataclass(frozen=True)
class Run:
    """A finished run in the cache. Every file is read through :meth:`read_bytes`: hashed as read and
    compared with the run's manifest; a mismatch quarantines the run and raises :class:`DamagedRunError`
    naming the file."""

    config: TrainConfig
    path: Path

    @property
    def hash(self) -> str:
        return self.path.name

    def read_bytes(self, name: str) -> bytes:
        """The bytes of the run's file ``name``, checked against its manifest entry (size and SHA-256 of
        exactly the bytes returned). FileNotFoundError, naming the files it has, when the manifest lists no
        ``name`` (the run did not write it); a damaged file (missing, resized, changed) or manifest moves
        the run to quarantine (:func:`quarantine`) and raises :class:`DamagedRunError`."""
        try:
            files = manifest.read_manifest(self.path)
        except FileNotFoundError:
            problem = f"no {MANIFEST}"
        except manifest.ManifestError as exc:
            problem = str(exc)
        else:
            if name not in files:
                raise FileNotFoundError(f"run {self.hash} has no {name}; its manifest lists {sorted(files)}")
            try:
                return manifest.read_checked(self.path, name, files)
            except manifest.DamagedFile as exc:
                problem = f"{name}: {exc.problem}"
        raise DamagedRunError(self.config, problem, quarantine(self.path, problem))

    @property
    def metrics(self) -> pd.DataFrame:
        """Per-epoch metrics (epoch 0 = initialisation)."""
        return pd.read_csv(io.BytesIO(self.read_bytes(paths.METRICS_FILE)))

    def final(self) -> dict[str, float]:
        """The run's final result: its last metrics row (:func:`final_row`) as numbers (NaN columns left out),
        and ``test_n``, the test images (or windows) ``test_loss`` and ``test_acc`` are over."""
        last = final_row(self.metrics.sort_values("epoch").iloc[-1])
        out: dict[str, Any] = {k: float(v) for k, v in last.items() if k != "epoch" and pd.notna(v)}
        out["epoch"] = int(last["epoch"])
        out["test_n"] = int(out.pop("final_test_n")) if "final_test_n" in out else self.config.data.n_test
        return out

    def tensors(self, name: str) -> Any:
        """The tensors (or plain containers of tensors) the run saved in ``name``, on the CPU; nothing in
        the file can run code (``weights_only=True``)."""
        return torch.load(io.BytesIO(self.read_bytes(name)), map_location="cpu", weights_only=True)

    def arrays(self, name: str) -> dict[str, np.ndarray]:
        """Every array of the run's ``.npz`` file ``name`` (loaded, pickles refused)."""
        with np.load(io.BytesIO(self.read_bytes(name)), allow_pickle=False) as z:
            return {k: z[k] for k in z.files}

    def state_dict(self) -> dict[str, torch.Tensor]:
        """Final weights (on the CPU)."""
        return self.tensors(paths.MODEL_FILE)

    def load_model(self, device: torch.device | str = "cpu") -> nn.Module:
        """The trained network."""
        m = build_model(self.config.model)
        m.load_state_dict(self.state_dict())
        return m.to(device)

    @property
    def info(self) -> dict[str, Any]:
        """How the run was made (see :func:`write_info`); empty for runs cached before it existed, and for a
        damaged run (then quarantined, with its warning: the executor trains it again; this record only
        describes the machine, so its readers, the build's estimates and status page, go on)."""
        if paths.INFO_FILE not in self.files():
            return {}
        try:
            return json.loads(self.read_bytes(paths.INFO_FILE))
        except DamagedRunError:
            return {}

    def files(self) -> list[str]:
        """The names of the run's files, as its manifest lists them."""
        try:
            return sorted(manifest.read_manifest(self.path))
        except (OSError, manifest.ManifestError):
            return []

    def has(self, name: str) -> bool:
        """Whether the run wrote a file ``name`` (its manifest lists it)."""
        return name in self.files()


def write_info(folder: Path, seconds: float, device: torch.device, cfg: TrainConfig) -> None:
    """``info.json``: how the run was made (wall seconds of this process's training, resumed
    checkpoints not counted before the resume; device; torch version and threads; the data source,
    :func:`lib.data.source_info`). Not part of the config hash: it describes the machine, not the
    experiment (the data's fingerprint is in the hash already)."""
    info = {"train_seconds": round(seconds, 2), "device": str(device), "torch": torch.__version__,
            "threads": torch.get_num_threads(), "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "data_source": source_info(cfg.data)}
    (folder / paths.INFO_FILE).write_text(json.dumps(info, indent=1))


def write_manifest(folder: Path) -> None:
    """Write ``folder/manifest.json``, the last file of a finished run (:func:`lib.manifest.write_manifest`)."""
    manifest.write_manifest(folder)


def config_problem(stored: Any, cfg: TrainConfig) -> str | None:
    """How the ``config.json`` a run folder holds (parsed, ``stored``) differs from the config asked for
    (None: it is that config). The stored file lists every field; a field added to the configs after the
    run was trained is absent from it and must then be at its default (only non-default fields enter the
    hash); ``data_source`` describes the machine's file, not the experiment, and is not compared."""
    if not isinstance(stored, dict):
        return f"{paths.CONFIG_FILE} holds a {type(stored).__name__}, not a config"
    full = json.loads(json.dumps(config_dict(cfg, non_default_only=False)))
    hashed = json.loads(json.dumps(config_dict(cfg)))
    return _dict_problem({k: v for k, v in stored.items() if k != "data_source"}, full, hashed, "")


def _dict_problem(stored: dict, full: dict, hashed: dict, where: str) -> str | None:
    """:func:`config_problem` for one level of the config tree (``where``: the dotted path to it)."""
    for key in sorted(set(stored) | set(full)):
        name = f"{where}{key}"
        if key not in full:
            return f"{paths.CONFIG_FILE} has a field {name} this config does not have"
        if key not in stored:
            if key in hashed:
                return f"{paths.CONFIG_FILE} has no field {name}, asked for {hashed[key]!r}"
            continue
        a, b = stored[key], full[key]
        if isinstance(a, dict) and isinstance(b, dict):
            problem = _dict_problem(a, b, hashed.get(key) if isinstance(hashed.get(key), dict) else {}, f"{name}.")
            if problem:
                return problem
        elif a != b:
            return f"{paths.CONFIG_FILE} says {name} = {str(a)[:60]}, the config asked for {str(b)[:60]}"
    return None


def check_run(folder: Path, cfg: TrainConfig | None = None, *, deep: bool = False) -> str | None:
    """What is wrong with the finished run in ``folder`` (None: nothing), checked on every hit: its manifest
    (a folder without one is damaged, never adopted) lists ``config.json``, ``metrics.csv`` and
    ``model.pt``, and every file it lists exists with its size (``deep``: its SHA-256 too,
    :func:`lib.manifest.check_folder`); with ``cfg``, the run's ``config.json`` (hashed as read) is that
    config (:func:`config_problem`): a folder copied under another config's hash is not served."""
    problem = manifest.check_folder(folder, REQUIRED, deep=deep)
    if problem is not None or cfg is None:
        return problem
    try:
        stored = json.loads(manifest.read_checked(folder, paths.CONFIG_FILE, manifest.read_manifest(folder)))
    except (manifest.DamagedFile, manifest.ManifestError) as exc:
        return str(exc.problem if isinstance(exc, manifest.DamagedFile) else exc)
    except (ValueError, RecursionError) as exc:
        return f"unreadable {paths.CONFIG_FILE} ({type(exc).__name__}: {str(exc)[:120]})"
    return config_problem(stored, cfg)


def quarantine(folder: Path, problem: str) -> Path | None:
    """Move the damaged run ``folder`` to ``runs/quarantine/<hash>-<time>/`` with ``QUARANTINE.txt``
    saying ``problem``, and warn (:class:`DamagedRunWarning`). Returns where it went; None when it
    was gone already (another process moved it first)."""
    return manifest.quarantine(folder, problem, what="run", category=DamagedRunWarning, then="it will be trained again")


def _alive(pid: int) -> bool:
    """Whether process ``pid`` exists on this machine."""
    if pid <= 0 or pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # PermissionError: it exists, as another user's
        return True
    return True


def remove_leftovers(train_dir: Path) -> list[Path]:
    """Delete the temporary run folders under ``train_dir`` that processes of this host left when
    they died (the pid in the name no longer exists; folders named by another host are kept), and the
    checkpoint folders (set aside or not) of runs that have landed and that no process is training.
    Returns the folders deleted."""
    gone = []
    try:
        entries = list(train_dir.iterdir())
    except OSError:
        return gone
    for p in entries:
        m = _TMP_NAME.fullmatch(p.name)
        if m and m.group(2) in (None, HOST) and not _alive(int(m.group(1))):
            shutil.rmtree(p, ignore_errors=True)
            gone.append(p)
        c = _CKPT_NAME.fullmatch(p.name)
        if c and (train_dir / c.group(1)).is_dir() and not locks.is_held(paths.run_lock(c.group(1))):
            shutil.rmtree(p, ignore_errors=True)  # the checkpoints of a run that landed (its trainer died
            gone.append(p)                        # between the landing and the clean-up, or a copied cache)
    return gone


def _open_cache(train_dir: Path) -> None:
    """The first use of the cache at ``train_dir`` in this process removes dead processes' leftovers."""
    key = str(train_dir.resolve())
    if key not in _SWEPT:
        _SWEPT.add(key)
        remove_leftovers(train_dir)


def _usable(final: Path, cfg: TrainConfig, *, deep: bool = False) -> bool:
    """Whether ``final`` holds a sound finished run of ``cfg`` (:func:`check_run`; ``deep``: every file's
    SHA-256 too); a damaged one is quarantined."""
    if not os.path.lexists(final):
        return False
    problem = check_run(final, cfg, deep=deep)
    if problem is None:
        return True
    quarantine(final, problem)
    return False


def _land(tmp: Path, final: Path, cfg: TrainConfig) -> None:
    """Rename the finished temporary folder ``tmp`` to ``final``. A sound run already there (another
    process finished first) wins and ``tmp`` is deleted; a damaged folder in the way is quarantined."""
    for _ in range(3):
        try:
            os.rename(tmp, final)
            return
        except OSError:
            if not os.path.lexists(final):
                raise
            problem = check_run(final, cfg, deep=True)
            if problem is None:
                shutil.rmtree(tmp, ignore_errors=True)
                return
            quarantine(final, problem)
    raise OSError(f"could not move {tmp} to {final}: something keeps recreating it")


def is_cached(cfg: TrainConfig, *, deep: bool = False) -> bool:
    """Whether a sound finished run of ``cfg`` is in the cache: its manifest's names and sizes, and its
    ``config.json`` compared with ``cfg`` (``deep``: every file's SHA-256 too). Moves nothing: a damaged run
    counts as missing and is quarantined by the next :func:`load`, :func:`hit` or :func:`train_run`."""
    final = paths.run_dir(config_hash(cfg))
    return os.path.lexists(final) and check_run(final, cfg, deep=deep) is None


def hit(cfg: TrainConfig) -> Run | None:
    """The executor's check of a planned run: the cached run of ``cfg`` when every file of it has its
    manifest's SHA-256 and its ``config.json`` is ``cfg``; None when it is not cached or was damaged (then
    quarantined, with a :class:`DamagedRunWarning`, so that the executor trains it again)."""
    final = paths.run_dir(config_hash(cfg))
    return Run(cfg, final) if _usable(final, cfg, deep=True) else None


def load(cfg: TrainConfig, *, chapter: str | None = None) -> Run:
    """The cached run of ``cfg`` for a reader: its manifest's names and sizes and its ``config.json`` checked
    here, every file it then reads checked against its SHA-256 as read (:meth:`Run.read_bytes`). Raises
    :class:`RunNotTrained`, naming the run and ``chapter`` (the chapter whose plan lists it), when it is not
    cached; a damaged run is quarantined first (:func:`quarantine`). Never trains."""
    final = paths.run_dir(config_hash(cfg))
    if not _usable(final, cfg):
        raise RunNotTrained(cfg, chapter)
    return Run(cfg, final)


def initial_model(cfg: TrainConfig) -> nn.Module:
    """The network ``cfg`` starts from, before any mask: a fresh initialisation seeded by ``cfg.seed``,
    or the final weights of ``cfg.init_from`` (loaded: it is in an earlier stage of the plan; a
    :class:`RunNotTrained` when it is not cached)."""
    if cfg.init_from is None:
        return fresh_model(cfg)
    if cfg.init_from.model != cfg.model:
        raise ValueError(f"init_from has model {cfg.init_from.model}, this run has {cfg.model}")
    weights = load(cfg.init_from).state_dict()
    model = fresh_model(cfg)
    model.load_state_dict(weights)
    return model


def mask_for(cfg: MaskConfig) -> mask_cache.Mask:
    """The keep-mask ``cfg`` describes, from the mask cache (:func:`lib.mask_cache.cached_mask`); its parent
    run is loaded (:func:`load`: it is in an earlier stage of the plan) only when the mask must be computed
    and its method needs it."""
    if cfg.parent is None:
        raise ValueError("MaskConfig.parent is None: a mask needs the parent run it is derived from")
    return mask_cache.cached_mask(cfg, lambda: load(cfg.parent))


def train_run(cfg: TrainConfig, *, device: torch.device | None = None, progress: bool = False) -> Run:
    """The executor's per-run step: the cached run for ``cfg`` (:func:`hit`: every file's SHA-256 checked),
    training it first when it is not cached. One trainer per run: the training holds the run's lock
    (:mod:`lib.locks`); a process asking for a run another process is training waits, says whom it waits
    for, and then reads the landed run, or, when that process died, takes over and resumes from its
    checkpoint. The run trains in a temporary folder renamed into place when complete. The runs it needs
    (``init_from``, the mask's parent) must be cached. Only :func:`lib.parallel.train` and the SLURM job
    call it (``tests/test_architecture.py`` checks); readers call :func:`load`. A full disk is a
    :class:`DiskFull` naming the folder."""
    final = paths.run_dir(config_hash(cfg))
    _open_cache(final.parent)
    run = hit(cfg)
    if run is not None:
        return run

    def waiting(info: dict[str, Any]) -> None:
        print(f"run {final.name} ({describe(cfg)}) is being trained by {locks.describe_holder(info)}: waiting "
              "for it (its result is read when it lands; if that process dies, this one takes over)", flush=True)

    final.parent.mkdir(parents=True, exist_ok=True)
    with locks.exclusive(paths.run_lock(final.name), on_wait=waiting):
        run = hit(cfg)  # landed while we waited
        if run is None:
            _train_and_land(cfg, final, device or default_device(), progress)
            run = Run(cfg, final)
    return run


class DiskFull(OSError):
    """Training could not write its files: the disk is full. Names the folder and the free space."""


def _disk_full(exc: BaseException) -> bool:
    """Whether ``exc`` (or an exception it was raised from) says the disk is full; torch's writer reports
    a short write as a RuntimeError about an 'unexpected pos' without the OSError."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        if isinstance(exc, RuntimeError) and any(t in str(exc) for t in ("No space left", "unexpected pos")):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def _train_and_land(cfg: TrainConfig, final: Path, device: torch.device, progress: bool) -> None:
    """Train ``cfg`` into a temporary sibling of ``final`` (resuming from its checkpoint) and land it; on any
    failure the temporary folder goes and the checkpoint stays (the next call resumes from it). Holds the
    run's lock (:func:`train_run`)."""
    global TRAIN_COUNT
    h = final.name
    tmp = final.parent / f".tmp-{h}-{os.getpid()}-{time.time_ns()}-{HOST}"
    try:
        tmp.mkdir()
        (tmp / paths.CONFIG_FILE).write_text(json.dumps({**config_dict(cfg, non_default_only=False),
                                                          "data_source": source_info(cfg.data)}, indent=1))
        started = time.perf_counter()
        model, metrics = train(cfg, tmp, model=initial_model(cfg),
                               mask=mask_for(cfg.mask) if cfg.mask is not None else None,
                               device=device, progress=progress, checkpoint_dir=paths.checkpoint_dir(h))
        torch.save({k: v.detach().cpu() for k, v in model.state_dict().items()}, tmp / paths.MODEL_FILE)
        metrics.to_csv(tmp / paths.METRICS_FILE, index=False)
        write_info(tmp, time.perf_counter() - started, device, cfg)
        write_manifest(tmp)  # last: a run with a complete manifest is a complete run
        TRAIN_COUNT += 1
        _land(tmp, final, cfg)
    except BaseException as exc:  # the checkpoint stays: the next call resumes from it
        shutil.rmtree(tmp, ignore_errors=True)
        if isinstance(exc, Exception) and _disk_full(exc):
            free = shutil.disk_usage(final.parent).free
            raise DiskFull(errno.ENOSPC, f"the disk holding {final.parent} is full ({free:,} bytes free) while "
                           f"training run {h} ({describe(cfg)}): free space there and run again; it resumes from "
                           f"its last checkpoint in {paths.checkpoint_dir(h)}") from exc
        raise
    shutil.rmtree(paths.checkpoint_dir(h), ignore_errors=True)


def _check_any(folder: Path, required: tuple[str, ...], deep: bool) -> str | None:
    """:func:`lib.manifest.check_folder`, with any failure to check reported as the problem."""
    try:
        return manifest.check_folder(folder, required, deep=deep)
    except Exception as exc:  # one odd folder never stops the check of the others
        return f"could not be checked ({type(exc).__name__}: {str(exc)[:120]})"


def verify(*, deep: bool = False, move: bool = True, out: Callable[[str], None] = print) -> list[tuple[str, str]]:
    """Check every finished run and every cached mask (names and sizes against the manifest; ``deep``:
    SHA-256 too), printing one line per damaged folder (moved to quarantine unless ``move`` is False) and a
    summary line; a folder that cannot even be checked is reported as damaged and the check goes on.
    Returns (name, problem) of the damaged folders."""
    train_dir, mask_dir = paths.runs_dir() / "train", paths.runs_dir() / "masks"
    if move:
        _open_cache(train_dir)

    def listed(d: Path) -> list[Path]:
        return sorted(p for p in d.iterdir() if not p.name.startswith(".")) if d.is_dir() else []

    kinds = [("run", f, REQUIRED, DamagedRunWarning) for f in listed(train_dir)]
    kinds += [("mask", f, (mask_cache.MASK_FILE, mask_cache.SUMMARY_FILE), mask_cache.DamagedMaskWarning)
              for f in listed(mask_dir) if f.is_dir()]  # flat files: masks of the layout before manifests, never read
    damaged = []
    for what, folder, required, category in kinds:
        problem = _check_any(folder, required, deep)
        if problem is not None:
            damaged.append((folder.name, problem))
            where = manifest.quarantine(folder, problem, what=what, category=category,
                                        prefix="mask-" if what == "mask" else "") if move else None
            out(f"damaged {what + ' ' if what == 'mask' else ''}{folder.name}: {problem}"
                + (f"; moved to {where}" if where else ""))
    checked = "names, sizes and SHA-256" if deep else "names and sizes"
    n_runs = sum(k[0] == "run" for k in kinds)
    out(f"{n_runs} runs and {len(kinds) - n_runs} masks checked ({checked}) in {paths.runs_dir()}: "
        f"{len(damaged)} damaged" + ("; the next training of its plan makes each again" if damaged and move else ""))
    return damaged


def main(argv: list[str] | None = None) -> int:
    """``python -m lib.runs verify [--deep] [--dry-run]``: exit status 1 when a run is damaged."""
    ap = argparse.ArgumentParser(prog="python -m lib.runs", description="Check the run cache.")
    sub = ap.add_subparsers(dest="command", required=True)
    v = sub.add_parser("verify", help="check every finished run; move damaged ones to runs/quarantine/")
    v.add_argument("--deep", action="store_true", help="compare SHA-256 too (reads every file)")
    v.add_argument("--dry-run", action="store_true", help="report only: move and write nothing")
    args = ap.parse_args(argv)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", manifest.DamagedFolderWarning)  # verify prints its own line per folder
        return 1 if verify(deep=args.deep, move=not args.dry_run) else 0


if __name__ == "__main__":
    sys.exit(main())
