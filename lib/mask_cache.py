"""The mask cache: a computed mask lives in ``runs/masks/<hash>/`` (``mask.pt``, ``summary.json`` and,
written last, ``manifest.json`` with the size and SHA-256 of both, :mod:`lib.manifest`), named by the
hash of its :class:`lib.config.MaskConfig`.

A mask is computed into a temporary sibling folder and renamed into place when complete. Every read
hashes the bytes it reads and compares them with the manifest; a folder without a manifest, with a
malformed one, or with a file that differs from it is moved to ``runs/quarantine/mask-<hash>-<time>/``
with a :class:`DamagedMaskWarning` naming the file, and the mask is computed again. Masks cached
before this layout (``runs/masks/<hash>.pt`` beside ``<hash>.json``, no manifest) are never read.
"""
from __future__ import annotations

import io
import json
import os
import shutil
import socket
import time
from pathlib import Path
from typing import Any, Callable

import torch

from . import manifest, masks, paths
from .config import MaskConfig, config_hash

Mask = masks.Mask
#: The files of a cached mask's folder.
MASK_FILE, SUMMARY_FILE = "mask.pt", "summary.json"


class DamagedMaskWarning(manifest.DamagedFolderWarning):
    """A cached mask failed its check and was moved to quarantine; it is computed again."""


def _read(folder: Path) -> tuple[Mask, dict[str, Any]] | None:
    """The mask and summary in ``folder``, both checked against its manifest as read; None when the folder
    does not exist. A damaged folder is quarantined (:class:`DamagedMaskWarning`) and None returned."""
    if not os.path.lexists(folder):
        return None
    try:
        files = manifest.read_manifest(folder)
        mask = torch.load(io.BytesIO(manifest.read_checked(folder, MASK_FILE, files)), map_location="cpu",
                          weights_only=True)
        summary = json.loads(manifest.read_checked(folder, SUMMARY_FILE, files))
        if not isinstance(mask, dict) or not isinstance(summary, dict):
            raise manifest.ManifestError(f"{MASK_FILE} or {SUMMARY_FILE} does not hold a mapping")
        return mask, summary
    except FileNotFoundError:
        problem = f"no {manifest.MANIFEST} (a finished mask always has one: it is written last)"
    except (manifest.ManifestError, manifest.DamagedFile) as exc:
        problem = str(exc)
    except Exception as exc:  # a file that matches its manifest but does not parse (written so)
        problem = f"unreadable ({type(exc).__name__}: {str(exc)[:120]})"
    manifest.quarantine(folder, problem, what="mask", category=DamagedMaskWarning, prefix="mask-",
                        then="it will be computed again")
    return None


def _land(cfg: MaskConfig, mask: Mask, summary: dict[str, Any], final: Path) -> None:
    """Write ``mask`` and ``summary`` into a temporary sibling of ``final`` with their manifest, then
    rename it into place (a sound mask already there, landed by another process, wins)."""
    final.parent.mkdir(parents=True, exist_ok=True)
    host = "".join(c if c.isalnum() or c == "." else "_" for c in socket.gethostname()) or "host"
    tmp = final.parent / f".tmp-{final.name}-{os.getpid()}-{time.time_ns()}-{host}"
    try:
        tmp.mkdir()
        torch.save(mask, tmp / MASK_FILE)
        (tmp / SUMMARY_FILE).write_text(json.dumps(summary))
        manifest.write_manifest(tmp)
        try:
            os.rename(tmp, final)
        except OSError:
            if _read(final) is None:  # a damaged folder was in the way (now quarantined): try once more
                os.rename(tmp, final)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _cached(cfg: MaskConfig, load_parent: Callable[[], Any] | None) -> tuple[Mask, dict[str, Any]]:
    """The cached mask of ``cfg`` and its summary, computed and landed first when missing or damaged."""
    masks.check_config(cfg)
    final = paths.mask_dir(config_hash(cfg))
    found = _read(final)
    if found is not None:
        return found
    parent = load_parent() if (load_parent is not None and cfg.method in masks.NEEDS_TRAINED_PARENT) else None
    mask, summary = masks.compute_with_summary(cfg, parent)
    _land(cfg, mask, summary, final)
    return mask, summary


def cached_mask(cfg: MaskConfig, load_parent: Callable[[], Any] | None = None) -> Mask:
    """The mask ``cfg`` describes, from the cache (computed on the first call; recomputed when damaged).
    ``load_parent()`` returns the finished parent run; it is called only when the mask must be computed and
    its method needs the parent (the runner, :func:`lib.runs.mask_for`, passes one that loads it from the
    run cache)."""
    return _cached(cfg, load_parent)[0]


def mask_summary(cfg: MaskConfig, load_parent: Callable[[], Any] | None = None) -> dict[str, Any]:
    """What the cached mask of ``cfg`` keeps: kept, total, tensors, and how many kept weights the seeded
    tie-breaking chose (``tie_chosen``) from a tie class at the cut of ``tie_class`` weights
    (:func:`lib.masks.tie_chosen`). Computes the mask first if it is not cached."""
    return _cached(cfg, load_parent)[1]
