"""Tables a reader can read: human column headers for the code names of the frames behind them
(:data:`HEADERS`, :func:`human`), one number format (:func:`number`), "–" for a missing value
(:data:`MISSING`), no column that is empty in every row (:func:`tidy`), and the class that keeps a
header from breaking inside a word (:data:`READABLE`, a rule of ``_static/tables.css``). Chapter 7's
tables go through it (:func:`styled` for a pandas Styler, :func:`markdown` for a pipe table).
"""
from __future__ import annotations

import math
import numbers
from typing import Any, Iterable

import numpy as np
import pandas as pd

from .verdicts import with_badges

#: What a table cell shows for a missing value (NaN, None).
MISSING = "–"
#: The class of a table (or of the block around a Markdown table) whose headers wrap only between words.
READABLE = "readable"

#: Code names of frame columns (and the long verdict kinds used as count columns) -> a header a reader
#: understands. A name not listed keeps its words, with underscores as spaces (:func:`human`).
HEADERS: dict[str, str] = {
    "claim_id": "claim",
    "holm": "after Holm",
    "n": "seeds",
    "ci_low": "interval from",
    "ci_high": "interval to",
    "diff": "difference",
    "not measured at this scale": "not measured",
    "of them against": "against their conclusion",
    "train_loss_mean": "train loss (mean)",
    "test_loss_mean": "test loss (mean)",
    "train_acc_mean": "train accuracy (mean)",
    "test_acc_mean": "test accuracy (mean)",
    "gap_mean": "generalization gap (mean)",
}


def human(name: Any) -> str:
    """The header a reader sees for column ``name``: :data:`HEADERS`, else the name with underscores as spaces."""
    text = str(name)
    return HEADERS.get(text, text.replace("_", " "))


def is_missing(x: Any) -> bool:
    """None, pandas' NA, or a NaN number."""
    if x is None or x is pd.NA:
        return True
    return isinstance(x, numbers.Real) and not isinstance(x, numbers.Integral) and math.isnan(float(x))


def number(x: Any, digits: int = 3) -> str:
    """One number format for every table: whole numbers as integers with thousands separators, others to
    ``digits`` significant digits (at or above 10**digits rounded to a whole number, so never an exponent
    there), missing values as :data:`MISSING`; anything that is no number as its text."""
    if is_missing(x):
        return MISSING
    if isinstance(x, (bool, np.bool_)) or not isinstance(x, numbers.Real):
        return str(x)
    v = float(x)
    if isinstance(x, numbers.Integral) or (v.is_integer() and abs(v) < 1e15) or abs(v) >= 10 ** digits:
        return f"{v:,.0f}"
    return f"{v:.{digits}g}"


def empty_columns(df: pd.DataFrame) -> list[str]:
    """The columns of ``df`` missing in every row: None, NaN, an empty string or :data:`MISSING` (a frame with no
    rows has none)."""
    if not len(df):
        return []
    return [c for c in df.columns
            if all(is_missing(x) or (isinstance(x, str) and x.strip() in ("", MISSING)) for x in df[c])]


def tidy(df: pd.DataFrame, keep: Iterable[str] = ()) -> pd.DataFrame:
    """``df`` as a reader sees it: columns empty in every row dropped (except ``keep``), headers made human
    (:func:`human`), every number in one format (:func:`number`) and missing values as :data:`MISSING`."""
    keep = set(keep)
    out = df.drop(columns=[c for c in empty_columns(df) if c not in keep])
    out = out.rename(columns={c: human(c) for c in out.columns})
    return out.apply(lambda col: col.map(number)) if len(out) else out.astype(object)


def styled(df: pd.DataFrame, badges: Iterable[str] = (), keep: Iterable[str] = ()) -> "pd.io.formats.style.Styler":
    """:func:`tidy` ``df`` as a Styler: no index, left-aligned text, the :data:`READABLE` class, and the cells of
    ``badges`` (column code names) coloured by verdict (:func:`lib.chapters.verdicts.with_badges`)."""
    t = tidy(df, keep)
    s = (t.style.hide(axis="index").set_table_attributes(f'class="{READABLE}"')
         .set_properties(**{"text-align": "left", "vertical-align": "top"}))
    for c in badges:
        if human(c) in t.columns:
            s = with_badges(s, human(c))
    return s


def _cell(x: object) -> str:
    return str(x).replace("|", "\\|").replace("\n", " ")


def pipe_table(df: pd.DataFrame) -> str:
    """A Markdown pipe table of ``df`` as it is (cells may hold Markdown: links, code, inline HTML)."""
    head = "| " + " | ".join(_cell(c) for c in df.columns) + " |"
    sep = "|" + "|".join("---" for _ in df.columns) + "|"
    body = ["| " + " | ".join(_cell(x) for x in row) + " |" for row in df.itertuples(index=False)]
    return "\n".join([head, sep, *body])


def markdown(df: pd.DataFrame, keep: Iterable[str] = ()) -> str:
    """:func:`pipe_table` of :func:`tidy` ``df`` inside a block of class :data:`READABLE`."""
    return "\n".join([f'<div class="{READABLE}">', "", pipe_table(tidy(df, keep)), "", "</div>"])
