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
``manifest.json`` (name, size and SHA-256 of every other file). Every hit (:func:`load`, :func:`train_run`)
compares the names and sizes (a ``stat`` per file; no hashing); ``python -m lib.runs verify
[--deep]`` checks every run (``--deep``: the SHA-256 too). A run cached before manifests existed is
accepted when ``config.json``, ``model.pt`` (loadable) and ``metrics.csv`` (one row per epoch plus
epoch 0) are there, and gets its manifest then. A damaged run is moved to
``runs/quarantine/<hash>-<time>/`` (with ``QUARANTINE.txt`` saying what was wrong), a
:class:`DamagedRunWarning` names the problem, and the run is trained again. The first use of the
cache in a process deletes the temporary folders (``.tmp-<hash>-<pid>-<ns>-<host>``) of processes of
this host that no longer exist.

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
import hashlib
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

import pandas as pd
import torch
from torch import nn

from . import masks, paths
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
_SWEPT: set[str] = set()  # train folders whose leftovers this process has removed


class DamagedRunWarning(UserWarning):
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


@dataclass(frozen=True)
class Run:
    """A finished run in the cache."""

    config: TrainConfig
    path: Path

    @property
    def hash(self) -> str:
        return self.path.name

    @property
    def metrics(self) -> pd.DataFrame:
        """Per-epoch metrics (epoch 0 = initialisation)."""
        return pd.read_csv(self.path / paths.METRICS_FILE)

    def state_dict(self) -> dict[str, torch.Tensor]:
        """Final weights (on the CPU)."""
        return torch.load(self.path / paths.MODEL_FILE, map_location="cpu", weights_only=True)

    def load_model(self, device: torch.device | str = "cpu") -> nn.Module:
        """The trained network."""
        m = build_model(self.config.model)
        m.load_state_dict(self.state_dict())
        return m.to(device)

    @property
    def info(self) -> dict[str, Any]:
        """How the run was made (see :func:`write_info`); empty for runs cached before it existed."""
        p = self.path / paths.INFO_FILE
        return json.loads(p.read_text()) if p.exists() else {}

    def file(self, name: str) -> Path:
        """Path of a file the run wrote; raises if the run did not write it."""
        p = self.path / name
        if not p.exists():
            raise FileNotFoundError(f"run {self.hash} has no {name}; it has {sorted(x.name for x in self.path.iterdir())}")
        return p


def write_info(folder: Path, seconds: float, device: torch.device, cfg: TrainConfig) -> None:
    """``info.json``: how the run was made (wall seconds of this process's training, resumed
    checkpoints not counted before the resume; device; torch version and threads; the data source,
    :func:`lib.data.source_info`). Not part of the config hash: it describes the machine, not the
    experiment (the data's fingerprint is in the hash already)."""
    info = {"train_seconds": round(seconds, 2), "device": str(device), "torch": torch.__version__,
            "threads": torch.get_num_threads(), "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "data_source": source_info(cfg.data)}
    (folder / paths.INFO_FILE).write_text(json.dumps(info, indent=1))


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def write_manifest(folder: Path) -> None:
    """Write ``folder/manifest.json`` (atomically): relative name -> size in bytes and SHA-256 of every
    other file under ``folder`` (hidden temporary files left out)."""
    files = {}
    for p in sorted(folder.rglob("*")):
        rel = p.relative_to(folder).as_posix()
        if p.is_file() and rel != MANIFEST and not p.name.startswith("."):
            files[rel] = {"size": p.stat().st_size, "sha256": _sha256(p)}
    tmp = folder / f".{MANIFEST}.{os.getpid()}.{time.time_ns()}.tmp"
    try:
        tmp.write_text(json.dumps({"version": 1, "files": files}, indent=1))
        os.replace(tmp, folder / MANIFEST)
    finally:
        tmp.unlink(missing_ok=True)


def check_run(folder: Path, epochs: int | None = None, *, deep: bool = False, upgrade: bool = True) -> str | None:
    """What is wrong with the finished run in ``folder`` (None: nothing). With a manifest: a file it
    lists is missing or has another size (``deep``: another SHA-256). Without one (runs cached before
    manifests): ``config.json``, ``model.pt`` and ``metrics.csv`` must exist, ``metrics.csv`` must
    hold epochs 0..``epochs`` (default: the ``epochs`` of ``config.json``) and ``model.pt`` must load;
    such a run then gets its manifest (unless ``upgrade`` is False)."""
    try:
        text = (folder / MANIFEST).read_text()
    except FileNotFoundError:
        return _check_legacy(folder, epochs, upgrade)
    except OSError as exc:
        return f"unreadable {MANIFEST} ({type(exc).__name__}: {exc})"
    try:
        files = json.loads(text)["files"]
        sizes = {name: int(entry["size"]) for name, entry in files.items()}
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        return f"unreadable {MANIFEST} ({type(exc).__name__}: {exc})"
    absent = [n for n in REQUIRED if n not in sizes]
    if absent:
        return f"{MANIFEST} lists no {', '.join(absent)}"
    for name, size in sizes.items():
        try:
            got = (folder / name).stat().st_size
        except OSError:
            return f"missing {name}"
        if got != size:
            return f"{name} has {got} bytes, its manifest says {size}" + (" (truncated)" if got < size else "")
    if deep:
        for name, entry in files.items():
            if _sha256(folder / name) != entry.get("sha256"):
                return f"{name} has the manifest's size but another SHA-256 (corrupted bytes)"
    return None


def _check_legacy(folder: Path, epochs: int | None, upgrade: bool) -> str | None:
    """:func:`check_run` for a run without a manifest."""
    if not folder.is_dir():
        return "not a folder"
    absent = [n for n in REQUIRED if not (folder / n).is_file()]
    if absent:
        return f"missing {', '.join(absent)} (and no {MANIFEST})"
    try:
        if epochs is None:
            epochs = int(json.loads((folder / paths.CONFIG_FILE).read_text())["epochs"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return f"unreadable {paths.CONFIG_FILE} ({type(exc).__name__}: {exc})"
    try:
        text = (folder / paths.METRICS_FILE).read_text()
        got = pd.read_csv(io.StringIO(text))["epoch"].tolist() if text.endswith("\n") else None
    except Exception as exc:
        return f"unreadable {paths.METRICS_FILE} ({type(exc).__name__}: {exc})"
    if got != list(range(epochs + 1)):
        rows = "a cut last line" if got is None else f"epochs {got[:3]}{'...' if len(got) > 3 else ''} ({len(got)} rows)"
        return f"truncated {paths.METRICS_FILE}: {rows}, the config's {epochs} epochs need rows 0..{epochs}"
    try:
        torch.load(folder / paths.MODEL_FILE, map_location="cpu", weights_only=True)
    except Exception as exc:
        return f"unreadable {paths.MODEL_FILE} ({type(exc).__name__}: {exc})"
    if upgrade:
        write_manifest(folder)
    return None


def quarantine(folder: Path, problem: str) -> Path | None:
    """Move the damaged run ``folder`` to ``runs/quarantine/<hash>-<time>/`` with ``QUARANTINE.txt``
    saying ``problem``, and warn (:class:`DamagedRunWarning`). Returns where it went; None when it
    was gone already (another process moved it first)."""
    stamp = time.strftime("%Y%m%dT%H%M%S")
    dest = paths.quarantine_dir() / f"{folder.name}-{stamp}-{time.time_ns() % 10**9:09d}"
    dest.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.rename(folder, dest)
    except FileNotFoundError:
        return None
    if dest.is_dir():
        (dest / paths.QUARANTINE_NOTE).write_text(f"{problem}\n")
    warnings.warn(DamagedRunWarning(f"run {folder.name} is damaged ({problem}); moved to {dest}; "
                                    "it will be trained again"), stacklevel=3)
    return dest


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
    they died (the pid in the name no longer exists; folders named by another host are kept).
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
    return gone


def _open_cache(train_dir: Path) -> None:
    """The first use of the cache at ``train_dir`` in this process removes dead processes' leftovers."""
    key = str(train_dir.resolve())
    if key not in _SWEPT:
        _SWEPT.add(key)
        remove_leftovers(train_dir)


def _usable(final: Path, cfg: TrainConfig) -> bool:
    """Whether ``final`` holds a sound finished run of ``cfg``; a damaged one is quarantined."""
    if not os.path.lexists(final):
        return False
    problem = check_run(final, cfg.epochs)
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
            problem = check_run(final, cfg.epochs)
            if problem is None:
                shutil.rmtree(tmp, ignore_errors=True)
                return
            quarantine(final, problem)
    raise OSError(f"could not move {tmp} to {final}: something keeps recreating it")


def is_cached(cfg: TrainConfig) -> bool:
    """Whether a sound finished run for ``cfg`` exists (names and sizes checked, as on every hit;
    a damaged run counts as missing and is quarantined by the next :func:`load` or :func:`train_run`)."""
    final = paths.run_dir(config_hash(cfg))
    return os.path.lexists(final) and check_run(final, cfg.epochs) is None


def load(cfg: TrainConfig, *, chapter: str | None = None) -> Run:
    """The cached run of ``cfg`` (its files checked by name and size, as on every hit). Raises
    :class:`RunNotTrained`, naming the run and ``chapter`` (the chapter whose plan lists it), when it is
    not cached; a damaged run is quarantined first (:func:`quarantine`). Never trains."""
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


def mask_for(cfg: MaskConfig) -> masks.Mask:
    """The keep-mask ``cfg`` describes, from the mask cache (:func:`lib.masks.cached_mask`); its parent
    run is loaded (:func:`load`: it is in an earlier stage of the plan) only when the mask must be computed
    and its method needs it."""
    if cfg.parent is None:
        raise ValueError("MaskConfig.parent is None: a mask needs the parent run it is derived from")
    return masks.cached_mask(cfg, lambda: load(cfg.parent))


def train_run(cfg: TrainConfig, *, device: torch.device | None = None, progress: bool = False) -> Run:
    """The executor's per-run step: the cached run for ``cfg``, training it first (atomically; resuming
    from its checkpoint) when it is not cached. The runs it needs (``init_from``, the mask's parent) must
    be cached. Only :func:`lib.parallel.train` and the SLURM job call it (``tests/test_architecture.py``
    checks); readers call :func:`load`."""
    global TRAIN_COUNT
    h = config_hash(cfg)
    final = paths.run_dir(h)
    _open_cache(final.parent)
    if _usable(final, cfg):
        return Run(cfg, final)
    device = device or default_device()
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.parent / f".tmp-{h}-{os.getpid()}-{time.time_ns()}-{HOST}"
    tmp.mkdir()
    try:
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
    except BaseException:  # the checkpoint stays: the next call resumes from it
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    shutil.rmtree(paths.checkpoint_dir(h), ignore_errors=True)
    return Run(cfg, final)


def verify(*, deep: bool = False, move: bool = True, out: Callable[[str], None] = print) -> list[tuple[str, str]]:
    """Check every finished run of the cache (:func:`check_run`; ``deep``: SHA-256 too), printing
    one line per damaged run (moved to quarantine unless ``move`` is False) and a summary line.
    Returns (hash, problem) of the damaged runs."""
    train_dir = paths.runs_dir() / "train"
    if move:
        _open_cache(train_dir)
    folders = sorted(p for p in train_dir.iterdir() if not p.name.startswith(".")) if train_dir.is_dir() else []
    damaged = []
    for folder in folders:
        problem = check_run(folder, deep=deep, upgrade=move)
        if problem is not None:
            damaged.append((folder.name, problem))
            where = quarantine(folder, problem) if move else None
            out(f"damaged {folder.name}: {problem}" + (f"; moved to {where}" if where else ""))
    what = "names, sizes and SHA-256" if deep else "names and sizes"
    out(f"{len(folders)} runs checked ({what}) in {train_dir}: {len(damaged)} damaged"
        + ("; the next training of its plan trains each again" if damaged and move else ""))
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
        warnings.simplefilter("ignore", DamagedRunWarning)  # verify prints its own line per run
        return 1 if verify(deep=args.deep, move=not args.dry_run) else 0


if __name__ == "__main__":
    sys.exit(main())
