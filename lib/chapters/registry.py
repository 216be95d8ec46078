"""The one list of the book's chapters: key, notebook, module and what the build must find in its HTML.

The build (:mod:`lib.book`), the planner (:mod:`lib.cluster`), the conclusions chapter's links and a
test against ``_toc.yml`` all read :data:`CHAPTERS`. Chapter modules are imported by name
(:func:`module`) so that this table imports none of them, and chapter 7 can read it.
"""
from __future__ import annotations

import importlib
import re
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from ..plan import Plan



@dataclass(frozen=True)
class Chapter:
    """One chapter of the book.

    key: two digits ("02"); stem: the notebook's file name without ``.ipynb``; module: the chapter
    module's dotted name; title: a short title; figures, tables: the least the executed notebook and
    its HTML page must show (a figure is an image output; a table an HTML or Markdown table).
    gathers: the chapter reads the verdicts other chapters store, so it executes after all of them
    (:data:`EXECUTION`), wherever it sits in the book. text: its runs train on the Brown corpus, whose
    fingerprint is part of their identity, so planning them needs the corpus (the build fetches it first).
    """

    key: str
    stem: str
    module: str
    title: str
    figures: int
    tables: int
    gathers: bool = False
    text: bool = False


    @property
    def notebook(self) -> str:
        """The notebook's path relative to the repository root."""
        return f"chapters/{self.stem}.ipynb"


CHAPTERS: tuple[Chapter, ...] = (
    Chapter("02", "02_coherence", "lib.chapters.ch02_coherence", "Coherence on real versus random data", 4, 0),
    Chapter("03", "03_diffs", "lib.chapters.ch03_diffs", "Diffs", 4, 0),
    Chapter("04", "04_width", "lib.chapters.ch04_width", "Width, coherence and generalization", 4, 0),
    Chapter("05", "05_pruning_mlp", "lib.chapters.ch05_pruning_mlp", "Pruning fully-connected networks", 3, 0),
    Chapter("06", "06_pruning_large", "lib.chapters.ch06_pruning_large", "Pruning ResNets and ViTs", 2, 4),
    Chapter("07", "07_conclusions", "lib.chapters.ch07_conclusions", "Conclusions", 0, 1, gathers=True),
    Chapter("08", "08_what_diffs_measure", "lib.chapters.ch08_what_diffs_measure", "What coherence and diffs measure",
            7, 2),
    Chapter("09", "09_why_random_works", "lib.chapters.ch09_why_random_works", "Why random pruning works", 5, 2),
    Chapter("10", "10_language", "lib.chapters.ch10_language", "Does it carry to language models?", 6, 4,
            text=True),
)
KEYS: tuple[str, ...] = tuple(c.key for c in CHAPTERS)
#: The order in which the build executes chapters: book order, the gathering chapters (7) last.
EXECUTION: tuple[str, ...] = (tuple(c.key for c in CHAPTERS if not c.gathers)
                              + tuple(c.key for c in CHAPTERS if c.gathers))


def execution_order(keys: "list[str] | tuple[str, ...]") -> list[str]:
    """``keys`` in :data:`EXECUTION` order (a gathering chapter after the chapters it reads)."""
    return sorted(dict.fromkeys(keys), key=EXECUTION.index)


def key_of(text: str | int) -> str:
    """'2', 2, '02', '02_coherence' or 'chapters/02_coherence.ipynb' -> '02'; ValueError naming the known keys."""
    m = re.match(r"0*(\d+)", Path(str(text)).stem)
    key = f"{int(m.group(1)):02d}" if m else None
    if key not in KEYS:
        raise ValueError(f"no chapter {text!r}; known: {', '.join(KEYS)}")
    return key


def get(key: str | int) -> Chapter:
    """The chapter called ``key`` (see :func:`key_of` for the accepted forms)."""
    k = key_of(key)
    return next(c for c in CHAPTERS if c.key == k)


def module(key: str | int) -> ModuleType:
    """The chapter's module (``Params``, ``setup``, ``plan``, figures, tables, ``verdicts``)."""
    return importlib.import_module(get(key).module)


def defaults(key: str | int) -> dict[str, Any]:
    """The chapter's papermill parameters and their defaults (its ``Params`` fields)."""
    import dataclasses

    return {f.name: f.default for f in dataclasses.fields(module(key).Params)}


def plan(key: str | int, **params: Any) -> Plan:
    """The runs chapter ``key`` trains for its papermill ``params``, in stages: ``plan(setup(**params))``."""
    mod = module(key)
    return mod.plan(mod.setup(**params))
