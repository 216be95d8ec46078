"""Validation of chapter parameters (the notebooks' papermill parameters).

Every chapter's ``Params`` dataclass checks its fields with these functions in ``__post_init__``, and
:func:`build` refuses names the chapter does not declare. Each error names the parameter, the value
given and what is allowed, so ``papermill ... -p seeds "[0, 0]"`` stops at once with a sentence a
reader can act on instead of a traceback from inside torch or a verdict computed from one seed twice.

A misspelt name (``papermill ... -p sed 5``) never reaches ``setup``: papermill only warns and injects
``sed = 5`` after the parameters cell, and the notebook passes the declared names. So each notebook's
first code cell after its parameters calls :func:`check_notebook`, which refuses every name assigned
before that cell that the chapter's ``Params`` does not declare.
"""
from __future__ import annotations

import ast
import dataclasses
import numbers
import re
from types import ModuleType
from typing import Any, Iterable, Mapping, TypeVar

from ..profiles import PROFILES, Profile, chapter_seeds

P = TypeVar("P")


class ParameterError(ValueError):
    """A chapter parameter has a value the chapter cannot use."""


def build(cls: type[P], params: dict[str, Any]) -> P:
    """``cls(**params)`` after checking that every name is one of ``cls``'s fields."""
    known = [f.name for f in dataclasses.fields(cls)]  # type: ignore[arg-type]
    bad = sorted(set(params) - set(known))
    if bad:
        raise ParameterError(f"unknown parameter(s) {bad}; this chapter takes: {', '.join(known)}")
    return cls(**params)


#: The call every chapter notebook makes in its first code cell after the parameters (a test checks each).
CHECK_CALL = "check_notebook(globals(), ch)"
#: Value types a papermill parameter can have in the kernel (its Python translator writes literals).
_LITERALS = (type(None), bool, int, float, str, list, tuple, dict)


def _assigned_names(sources: Iterable[str]) -> list[str]:
    """The names assigned at the top level (``x = ...``, ``x: T = ...``, ``x += ...``, ``a, b = ...``) of
    the cells ``sources``, in order, each once; a cell that does not parse is skipped."""
    names: list[str] = []
    for src in sources:
        try:
            body = ast.parse(src).body
        except SyntaxError:
            continue
        for node in body:
            targets = node.targets if isinstance(node, ast.Assign) else (
                [node.target] if isinstance(node, (ast.AnnAssign, ast.AugAssign)) else [])
            for target in targets:
                for leaf in ast.walk(target):
                    if isinstance(leaf, ast.Name) and leaf.id not in names:
                        names.append(leaf.id)
    return names


def names_before_chapter(namespace: Mapping[str, Any]) -> list[str]:
    """The names set before the chapter's code ran, in a notebook's global ``namespace``.

    In IPython (papermill, nbclient, Jupyter): the names assigned at the top level of the cells the
    kernel ran before the first one holding :data:`CHECK_CALL` (its input history ``In``): the parameters
    cell, papermill's injected cell, and any cell a reader ran first. Re-running cells later changes
    nothing, since the first check cell stays where it was. Without IPython (the notebook exported as a
    script): the public names of ``namespace`` holding a literal value (None, bool, number, str, list,
    tuple, dict)."""
    history = namespace.get("In")
    if isinstance(history, list) and history:
        first = next((i for i, src in enumerate(history) if CHECK_CALL in src), len(history) - 1)
        return _assigned_names(history[1:first])
    return [n for n, v in namespace.items() if not n.startswith("_") and isinstance(v, _LITERALS)]


def check_notebook(namespace: Mapping[str, Any], chapter: ModuleType) -> None:
    """ParameterError naming each name set before the chapter's code ran (:func:`names_before_chapter`)
    that ``chapter.Params`` does not declare, e.g. ``papermill ... -p sed 5``: "unknown parameter 'sed'
    for chapter 02; it declares: profile, seed, ...". Each notebook calls it with its ``globals()`` and
    its chapter module (:data:`CHECK_CALL`) before ``ch.setup``."""
    declared = [f.name for f in dataclasses.fields(chapter.Params)]
    unknown = [n for n in names_before_chapter(namespace) if n not in declared]
    if unknown:
        found = re.search(r"ch(\d\d)_", chapter.__name__)
        where = f"chapter {found.group(1)}" if found else chapter.__name__
        raise ParameterError(f"unknown parameter{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))} "
                             f"for {where}; it declares: {', '.join(declared)}")


def _is_int(v: Any) -> bool:
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


def profile(value: Any, name: str = "profile") -> str:
    """A known profile name."""
    if value not in PROFILES:
        raise ParameterError(f"{name} = {value!r} is not a profile; allowed: {', '.join(PROFILES)}")
    return value


def integer(value: Any, name: str, *, minimum: int | None = None, optional: bool = False) -> int | None:
    """An integer (not a bool, not a float) >= ``minimum``; ``None`` allowed when ``optional``."""
    if value is None and optional:
        return None
    if not _is_int(value):
        raise ParameterError(f"{name} = {value!r} must be an integer" + (" or None" if optional else ""))
    if minimum is not None and value < minimum:
        raise ParameterError(f"{name} = {value!r} must be >= {minimum}")
    return int(value)


def integers(value: Any, name: str, *, minimum: int | None = None, distinct: bool = True,
             optional: bool = True) -> tuple[int, ...] | None:
    """A non-empty list of integers >= ``minimum`` (distinct unless ``distinct=False``), as a tuple;
    ``None`` allowed when ``optional``."""
    if value is None and optional:
        return None
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise ParameterError(f"{name} = {value!r} must be a list of integers" + (" or None" if optional else ""))
    vals = list(value)
    if not vals:
        raise ParameterError(f"{name} = {value!r} is empty; give at least one value")
    for v in vals:
        if not _is_int(v):
            raise ParameterError(f"{name} = {value!r}: {v!r} is not an integer")
        if minimum is not None and v < minimum:
            raise ParameterError(f"{name} = {value!r}: {v!r} is below the minimum {minimum}")
    if distinct and len(set(vals)) != len(vals):
        dup = sorted({v for v in vals if vals.count(v) > 1})
        raise ParameterError(f"{name} = {value!r} repeats {dup}; each value must appear once "
                             "(a repeated seed would count one run as two)")
    return tuple(int(v) for v in vals)


def number(value: Any, name: str, *, low: float | None = None, high: float | None = None,
           low_open: bool = False, high_open: bool = False, optional: bool = False) -> float | None:
    """A real number in the interval given by ``low``/``high`` (open ends with ``*_open``)."""
    if value is None and optional:
        return None
    if not isinstance(value, numbers.Real) or isinstance(value, bool):
        raise ParameterError(f"{name} = {value!r} must be a number" + (" or None" if optional else ""))
    v = float(value)
    below = low is not None and (v <= low if low_open else v < low)
    above = high is not None and (v >= high if high_open else v > high)
    if below or above or v != v:
        lo = "-inf" if low is None else f"{low:g}"
        hi = "inf" if high is None else f"{high:g}"
        interval = f"{'(' if low_open or low is None else '['}{lo}, {hi}{')' if high_open or high is None else ']'}"
        raise ParameterError(f"{name} = {value!r} must lie in {interval}")
    return v


def numbers_list(value: Any, name: str, *, low: float | None = None, low_open: bool = False,
                 optional: bool = True) -> tuple[float, ...] | None:
    """A non-empty list of distinct numbers, each checked by :func:`number`, as a tuple."""
    if value is None and optional:
        return None
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable) or not list(value):
        raise ParameterError(f"{name} = {value!r} must be a non-empty list of numbers")
    vals = [number(v, f"{name} entry", low=low, low_open=low_open) for v in value]
    if len(set(vals)) != len(vals):
        raise ParameterError(f"{name} = {value!r} repeats a value; each value must appear once")
    return tuple(value)


def choice(value: Any, name: str, allowed: Iterable[Any], *, optional: bool = False) -> Any:
    """One of ``allowed``."""
    allowed = tuple(allowed)
    if (value is None and optional) or value in allowed:
        return value
    raise ParameterError(f"{name} = {value!r} is not allowed; choose one of: {', '.join(map(repr, allowed))}")


def choice_list(value: Any, name: str, allowed: Iterable[Any]) -> tuple[Any, ...] | None:
    """None, or a list (possibly empty) of distinct values, each one of ``allowed``, as a tuple."""
    if value is None:
        return None
    allowed = tuple(allowed)
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise ParameterError(f"{name} = {value!r} must be a list drawn from: {', '.join(map(repr, allowed))}")
    vals = list(value)
    bad = [v for v in vals if v not in allowed]
    if bad or len(set(vals)) != len(vals):
        raise ParameterError(f"{name} = {value!r}: each entry once, each one of {', '.join(map(repr, allowed))}")
    return tuple(vals)


def density(value: Any, name: str = "density") -> float:
    """A fraction of weights kept, in (0, 1]."""
    return number(value, name, low=0.0, high=1.0, low_open=True)  # type: ignore[return-value]


def seeds_with(seed: int, seeds: Iterable[int]) -> tuple[int, ...]:
    """``seeds`` with ``seed`` first when it is not among them (the chapters draw figures from ``seed``)."""
    chosen = tuple(int(s) for s in seeds)
    return chosen if seed in chosen else (seed, *chosen)


def resolve_seeds(params: Any, profile: Profile, chapter: str) -> tuple[int, ...]:
    """The seeds chapter ``chapter`` (``"05"``) trains and tests its claims over: the one way every chapter's
    ``setup`` reads its ``seed`` and ``seeds`` parameters (``params.seed``, ``params.seeds``).

    * ``-p seeds "[3, 4]"``: these seeds; ``seeds = None`` (the default): the chapter's seeds at the profile
      (:func:`lib.profiles.chapter_seeds`: the profile's seeds, cpu 0, 1, 2; fewer in the chapters a profile
      names in ``fewer_seeds_chapters``).
    * ``-p seed 5``: seed 5 is always run, put first when it is not among ``seeds`` (5, 0, 1, ...); the
      chapters that draw a figure from one seed draw it from this one. The children pruned from a parent of
      seed ``s`` (chapters 5, 6, 9) get their own seed from ``s`` (:func:`lib.experiments.child_seed`: ``s`` +
      1000, or ``s`` for the pruning-at-initialisation masks), so they follow these seeds.

    At the defaults (``seed = 0``, ``seeds = None``) a chapter runs its profile's seeds, which start at 0."""
    own = chapter_seeds(profile, chapter)
    return seeds_with(params.seed, own if params.seeds is None else params.seeds)
