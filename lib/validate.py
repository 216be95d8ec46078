"""Checks of config fields at construction, for the frozen configs (:mod:`lib.data`, :mod:`lib.models`,
:mod:`lib.config`): a wrong type or value stops at once, with an error naming the config, the field and
the value, instead of failing deep inside torch. Imports nothing from the project (the bottom of the engine).
"""
from __future__ import annotations

import math
import numbers
from typing import Any


def _label(cfg: Any, name: str) -> str:
    return f"{type(cfg).__name__}.{name}"


def integer(cfg: Any, name: str, minimum: int | None = None) -> None:
    """Field ``name`` of ``cfg`` must be an integer (not a bool or a float) >= ``minimum``; a numpy
    integer is stored back as a Python int (so the config hashes as JSON)."""
    v = getattr(cfg, name)
    if isinstance(v, bool) or not isinstance(v, numbers.Integral):
        raise ValueError(f"{_label(cfg, name)} must be an integer, got {v!r} ({type(v).__name__})")
    if minimum is not None and v < minimum:
        raise ValueError(f"{_label(cfg, name)} must be >= {minimum}, got {v!r}")
    if type(v) is not int:
        object.__setattr__(cfg, name, int(v))


def real(cfg: Any, name: str, low: float, high: float = math.inf, *, low_open: bool = False) -> None:
    """Field ``name`` of ``cfg`` must be a finite number (not a bool) in [low, high], or in (low, high]
    with ``low_open``. It is stored back as a Python float: ``1`` becomes ``1.0`` (and a numpy float a
    float), so configs that differ only by ``1`` against ``1.0`` are equal and hash alike."""
    v = getattr(cfg, name)
    ok = isinstance(v, numbers.Real) and not isinstance(v, bool) and math.isfinite(v)
    if ok:
        ok = (v > low if low_open else v >= low) and v <= high
    if not ok:
        bound = f"{'>' if low_open else '>='} {low}" if high == math.inf else f"in {'(' if low_open else '['}{low}, {high}]"
        raise ValueError(f"{_label(cfg, name)} must be a finite number {bound}, got {v!r}")
    if type(v) is not float:
        object.__setattr__(cfg, name, float(v))


def one_of(cfg: Any, name: str, known: tuple[str, ...], what: str, word: str = "known") -> None:
    """Field ``name`` of ``cfg`` must be one of ``known``: "<Config>.<name>: unknown <what> <value>; <word>: ..."."""
    v = getattr(cfg, name)
    if v not in known:
        raise ValueError(f"{_label(cfg, name)}: unknown {what} {v!r}; {word}: {', '.join(known)}")
