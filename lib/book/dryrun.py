"""Check that a profile's plan can execute, without its data or its hours (``build_book.py --validate``).

For every chapter and every run its plan lists (:func:`lib.chapters.registry.plan`), :func:`check_run`
goes through what training the run would do, on CPU and small: the data sizes are resolved as
:func:`lib.data.load_data` resolves them (Gaussian data needs explicit sizes), the model is built, the
weights of ``init_from`` are loaded from a freshly built parent of its model (so their shapes must fit),
a mask is made by :func:`lib.masks.make_mask` with the run's density, scope, floor and inversion on
random scores of the prunable tensors (so a floor the density cannot pay for fails here), and
:func:`lib.train.train` runs one epoch of one optimiser step on a stand-in batch of the right image
shape, with the run's gradient statistics (their backend and sample limit, on the stand-in batch).
A parent's scores are never needed: the mask's shape and count rules are what can fail.

The first failure stops the check and names the chapter, the run and the error.
"""
from __future__ import annotations

import ctypes
import dataclasses
import functools
import gc
import json
import shutil
import tempfile
import time
import traceback
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable, Iterable

import torch
from tqdm.auto import tqdm

from .. import masks
from ..config import TrainConfig, config_dict, config_hash
from ..data import DeviceData, check_sizes
from ..models import NUM_CLASSES, build_model
from ..plan import Plan, configs, describe
from ..train import train

#: Images of the stand-in batch (train and test): one optimiser step, and enough samples for statistics.
STAND_IN_IMAGES = 4
#: CIFAR-10's image shape, channels first.
IMAGE_SHAPE = (3, 32, 32)


class PlanCheckFailed(RuntimeError):
    """A planned run could not go through :func:`check_run`; names the chapter, the run and the error."""

    def __init__(self, chapter: str, cfg: TrainConfig, error: str, trace: str):
        self.chapter, self.config, self.error, self.trace = chapter, cfg, error, trace
        super().__init__(f"chapter {chapter}: run {config_hash(cfg)} ({describe(cfg)}) cannot run: {error}")


def stand_in_data(cfg: TrainConfig, n: int = STAND_IN_IMAGES) -> DeviceData:
    """The train and test set of the plan check, seeded by ``cfg.seed``: ``n`` random normalised images of
    CIFAR-10's shape with labels 0..9, or for text ``n`` windows of ``cfg.data.context`` random tokens of the
    model's vocabulary with their next tokens."""
    g = torch.Generator().manual_seed(cfg.seed)
    if cfg.data.is_text:
        tokens = torch.randint(0, cfg.model.vocab, (n, cfg.data.context + 1), generator=g)
        x, y = tokens[:, :-1].contiguous(), tokens[:, 1:].contiguous()
    else:
        x, y = torch.randn(n, *IMAGE_SHAPE, generator=g), torch.arange(n) % NUM_CLASSES
    return DeviceData(x, y, x.clone(), y.clone())


def small(cfg: TrainConfig) -> TrainConfig:
    """``cfg`` cut to one epoch of one step on the stand-in batch; statistics, when on, after each epoch on
    every stand-in image (same backend, test images too when the run measures them); weight snapshots,
    when asked for, after epochs 0 and 1."""
    stats = cfg.stats
    if stats.every > 0:
        stats = replace(stats, every=1, max_samples=STAND_IN_IMAGES, batch_size=STAND_IN_IMAGES,
                        test_samples=STAND_IN_IMAGES if stats.test_samples else 0)
    return replace(cfg, epochs=1, batch_size=STAND_IN_IMAGES, stats=stats, snapshots=(0, 1) if cfg.snapshots else ())


def start_model(cfg: TrainConfig) -> torch.nn.Module:
    """The run's network: fresh, or (with ``init_from``) a fresh network loaded with the weights of a
    freshly built one of ``init_from``'s model, as :func:`lib.runs.initial_model` loads trained ones."""
    torch.manual_seed(cfg.seed)
    model = build_model(cfg.model)
    if cfg.init_from is not None:
        if cfg.init_from.model != cfg.model:
            raise ValueError(f"init_from has model {cfg.init_from.model}, this run has {cfg.model}")
        model.load_state_dict(build_model(cfg.init_from.model).state_dict())
    return model


def stand_in_mask(cfg: TrainConfig, model: torch.nn.Module) -> dict[str, torch.Tensor] | None:
    """A mask with the run's density, scope, floor and inversion on random scores of its prunable tensors
    (checks the mask config as :func:`lib.mask_cache.cached_mask` does first); None without a mask."""
    mc = cfg.mask
    if mc is None:
        return None
    if mc.parent.model != cfg.model:
        raise ValueError(f"the mask's parent has model {mc.parent.model}, this run has {cfg.model}")
    params = dict(model.named_parameters())
    shapes = {n: params[n].shape for n in masks.prunable(model, mc.min_size or None)}
    mask = masks.make_mask(masks.random_scores(shapes, mc.seed), density=mc.density, scope=mc.scope,
                           floor=mc.floor, invert=mc.invert, shapes=shapes, tie_seed=mc.seed)
    return masks.shuffle_within_layers(mask, mc.seed) if mc.shuffle else mask


def release_memory() -> None:
    """Give the memory of a checked run back to the system: collect its objects, then ask glibc to return freed
    pages (``malloc_trim``; a no-op elsewhere). Without it the paper profile's widest MLPs (265 M weights), checked
    one after another in one process, leave freed but unreturned memory behind until the check runs out of it."""
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def check_config(cfg: TrainConfig) -> None:
    """The checks that need no model: data sizes of the run, its ``init_from`` and its mask's parent, and
    the mask config as :func:`lib.mask_cache.cached_mask` checks it (method, density, scope, floor, and that a
    ``diff`` mask's parent records statistics). Cheap; :func:`check_plans` runs it for every planned run."""
    for d in (cfg.data, *(c.data for c in (cfg.init_from, cfg.mask.parent if cfg.mask else None) if c is not None)):
        check_sizes(d)
    if cfg.mask is not None:
        masks.check_config(cfg.mask)


def check_run(cfg: TrainConfig, workdir: Path) -> float:
    """Take ``cfg`` through :func:`check_config` and :func:`small` training on the stand-in batch (see the
    module docstring); returns the seconds it took. Raises whatever the real run would raise first.

    The run's files (checkpoints, statistics: a few hundred MB for the paper profile's widest MLPs) are
    removed before it returns, so checking hundreds of runs holds one run's files on disk at a time."""
    t0 = time.perf_counter()
    check_config(cfg)
    model = start_model(cfg)
    mask = stand_in_mask(cfg, model)
    out = workdir / config_hash(cfg)
    try:
        _, metrics = train(small(cfg), out, model=model, mask=mask, device=torch.device("cpu"), progress=False,
                           data=stand_in_data(cfg))
    finally:
        shutil.rmtree(out, ignore_errors=True)
        del model, mask
        release_memory()
    if len(metrics) != 2 or not torch.isfinite(torch.tensor(metrics["train_loss"].to_numpy())).all():
        raise RuntimeError(f"one-step training gave {len(metrics)} epochs of metrics or a non-finite loss")
    return time.perf_counter() - t0


#: Fields that :func:`check_run`'s expensive part does not depend on, with the value :func:`signature`
#: gives them: seeds (the stand-in data and scores are random anyway), the mask method and the parent's
#: epoch it scores (the stand-in mask ranks random scores whatever they are; :func:`check_config` checks
#: both for every run).
IRRELEVANT = {"seed": 0, "method": "random", "epoch": -1}


def _path_only(cfg: Any) -> Any:
    """``cfg`` with every field of :data:`IRRELEVANT` in its tree set to the value there."""
    if not dataclasses.is_dataclass(cfg) or isinstance(cfg, type):
        return cfg
    changes = {f.name: IRRELEVANT.get(f.name, _path_only(getattr(cfg, f.name))) for f in dataclasses.fields(cfg)}
    return replace(cfg, **changes)


def signature(cfg: TrainConfig) -> str:
    """What decides the code path of :func:`check_run` beyond :func:`check_config`: the config with its
    epochs cut as :func:`small` cuts them and the fields of :data:`IRRELEVANT` fixed, as JSON (no data
    fingerprint needed)."""
    return json.dumps(config_dict(_path_only(small(cfg))), sort_keys=True)


@dataclass(frozen=True)
class Checked:
    """What :func:`check_plans` went through: runs per chapter, distinct runs, distinct code paths
    (:func:`signature`) checked, seconds."""

    runs: dict[str, int]
    distinct: int
    checked: int
    seconds: float


def check_plans(plans: Iterable[tuple[str, Plan]], *,
                out: Callable[[str], None] = functools.partial(print, flush=True)) -> Checked:
    """:func:`check_run` for every run of every (chapter, plan), once per :func:`signature` (runs that
    differ only in their seeds or mask method take the same path; :func:`check_config` runs for each),
    printing one line per chapter; raises :class:`PlanCheckFailed` on the first failure."""
    seen: set[str] = set()
    paths_seen: set[str] = set()
    counts: dict[str, int] = {}
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="book-plan-check-") as tmp:
        for chapter, plan in plans:
            todo = configs(plan)
            counts[chapter] = len({config_hash(c) for c in todo})
            t_chapter, new = time.perf_counter(), 0
            for cfg in tqdm(todo, desc=f"check chapter {chapter}", unit="run", leave=False, disable=None):
                seen.add(config_hash(cfg))
                sig = signature(cfg)
                try:
                    if sig in paths_seen:
                        check_config(cfg)
                        continue
                    check_run(cfg, Path(tmp))
                except Exception as exc:  # noqa: BLE001 - named with its run, the check stops
                    raise PlanCheckFailed(chapter, cfg, f"{type(exc).__name__}: {exc}", traceback.format_exc()) from exc
                paths_seen.add(sig)
                new += 1
            out(f"chapter {chapter}: {counts[chapter]} planned runs ok ({new} new code paths checked, "
                f"{time.perf_counter() - t_chapter:.1f} s)")
    return Checked(counts, len(seen), len(paths_seen), time.perf_counter() - t0)
