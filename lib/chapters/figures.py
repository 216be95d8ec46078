"""Figure helpers shared by the chapters: one style, one caption format, one anchor and data link per figure.

Every figure of the book is shown with :func:`show`, which puts an anchor (:func:`figure_id`: "Figure 2.1" ->
``fig-2-1``) before the matplotlib figure, displays it, then a caption saying which profile, model, data size,
epochs and seed produced it, with a "data (CSV)" link holding the frame the figure was drawn from. Text is
readable at the size the page shows a figure (:func:`readability`: legend and tick labels at least
:data:`MIN_TEXT_PX` pixels when the PNG is shrunk to the :data:`COLUMN_PX` of the page's column).
"""
from __future__ import annotations

import base64
import html
import io
import re
import warnings
from dataclasses import dataclass
from typing import Any, Sequence

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns
from IPython.display import HTML, Markdown, display
from matplotlib.ticker import MaxNLocator

from ..config import TrainConfig

METHOD_ORDER = ("none", "random", "magnitude", "diff", "magnitude_best", "magnitude_worst",
                "coherence_best", "coherence_worst")

#: Pixels per inch of the book's PNGs (matplotlib's inline backend saves at the figure's dpi).
DPI = 90
#: Widest a chapter page shows a figure, in CSS pixels: a wider PNG is shrunk to it (measured in headless
#: Chromium on the built chapter pages at a 1280 px wide window: the text column is 1024 px, an output 960).
COLUMN_PX = 960
#: The least height in pixels, at the size the page shows a figure, of its legend and tick labels.
MIN_TEXT_PX = 9.0
#: How the label of an index axis (epochs, tensor positions) starts: its ticks must be whole numbers.
INDEX_AXIS = re.compile(r"^(epoch|weight tensor|index)", re.I)
#: Largest CSV (bytes, before base64) a caption embeds; a figure over it should aggregate to what it plots.
CSV_MAX_BYTES = 400_000


def style() -> None:
    """The book's plotting style: seaborn whitegrid, text sizes that stay readable once the page shrinks a
    figure to its column (:func:`readability`), whole-number ticks only where set (:func:`index_axis`)."""
    sns.set_theme(style="whitegrid", context="notebook", palette="colorblind")
    plt.rcParams.update({"figure.dpi": DPI, "savefig.dpi": DPI, "axes.titlesize": 11, "axes.labelsize": 11,
                         "xtick.labelsize": 10, "ytick.labelsize": 10, "legend.fontsize": 10,
                         "legend.title_fontsize": 10, "figure.titlesize": 12})


@dataclass(frozen=True)
class Provenance:
    """What a figure was computed from, for its caption."""

    profile: str
    model: str
    n_train: int
    epochs: int
    seeds: tuple[int, ...]

    @classmethod
    def of(cls, profile: str, cfg: TrainConfig, seeds: tuple[int, ...] | None = None, model: str | None = None) -> "Provenance":
        n = cfg.data.n_train or 50000
        return cls(profile, model or cfg.model.arch, n, cfg.epochs, seeds if seeds is not None else (cfg.seed,))

    def text(self) -> str:
        s = ", ".join(map(str, self.seeds))
        return (f"profile `{self.profile}`, model {self.model}, {self.n_train:,d} training images, "
                f"{self.epochs} epochs, seed{'s' if len(self.seeds) > 1 else ''} {s}")


def caption(number: str, what: str, prov: Provenance | str) -> str:
    """Markdown caption: "**Figure N.** what. (profile ..., model ..., ...)"."""
    p = prov.text() if isinstance(prov, Provenance) else prov
    return f"**{number}.** {what} ({p}.)"


def figure_id(number: str) -> str:
    """The HTML id of a shown figure or table: "fig-" (or "tab-" for "Table ...") and the rest of ``number``
    in lower case, every run of other characters than letters and digits one "-": "Figure 2.1" -> ``fig-2-1``,
    "Figure 4.4b" -> ``fig-4-4b``, "Figure 5.1 (global)" -> ``fig-5-1-global``, "Table 5.2" -> ``tab-5-2``."""
    kind, _, rest = number.strip().partition(" ")
    prefix = {"figure": "fig", "table": "tab"}.get(kind.lower())
    if prefix is None:
        prefix, rest = "fig", number
    slug = re.sub(r"[^0-9a-z]+", "-", rest.lower()).strip("-")
    if not slug:
        raise ValueError(f"no figure number in {number!r}")
    return f"{prefix}-{slug}"


def figure_numbers(text: str) -> list[str]:
    """The figure numbers a "decided in" label names, ranges spelt out: "Figures 2.1-2.4" -> 2.1, 2.2, 2.3, 2.4;
    "Figures 3.1, 3.2" -> 3.1, 3.2; a label of tables gives none."""
    if not text.lower().startswith("fig"):
        return []
    out: list[str] = []
    for a, b in re.findall(r"(\d+\.\d+)(?:\s*[-–]\s*(\d+\.\d+))?", text):
        if b and a.split(".")[0] == b.split(".")[0]:
            ch = a.split(".")[0]
            out += [f"{ch}.{i}" for i in range(int(a.split(".")[1]), int(b.split(".")[1]) + 1)]
        else:
            out.append(a)
    return out


def figure_anchor(number: str) -> str:
    """The HTML id of figure ``number`` on its chapter's page (:func:`figure_id`): "2.1" -> "fig-2-1"."""
    return figure_id(f"Figure {number}")


def csv_link(data: pd.DataFrame, name: str) -> str:
    """An ``<a>`` that downloads ``data`` as ``name``.csv from a ``data:`` URL (self-contained, works offline).
    The index is written when it has a name (a filtered frame's row numbers are not). ValueError when the CSV
    is over :data:`CSV_MAX_BYTES`: the figure should hand over what it plots, aggregated."""
    named = any(n is not None for n in data.index.names)
    text = data.to_csv(index=named, float_format="%.6g").encode()
    if len(text) > CSV_MAX_BYTES:
        raise ValueError(f"{name}: the CSV of its data is {len(text):,d} bytes, over {CSV_MAX_BYTES:,d}; "
                         "pass the aggregated frame the figure plots")
    href = "data:text/csv;base64," + base64.b64encode(text).decode()
    return f'<a href="{href}" download="{html.escape(name)}.csv">data (CSV)</a>'


def anchor(number: str) -> None:
    """Display an empty element with id :func:`figure_id` of ``number`` (in a notebook): what a link to the
    figure lands on. :func:`show` puts one before each figure; a figure shown in parts ("Figure 5.1 (global)",
    "Figure 5.1 (layer)") calls it once for the whole ("Figure 5.1"), so that links to the whole land on its
    first part."""
    display(HTML(f'<span id="{figure_id(number)}" class="figure-anchor"></span>'))


def show(fig: plt.Figure, number: str, what: str, prov: Provenance | str, data: pd.DataFrame | None = None) -> None:
    """Display an anchor with id :func:`figure_id` of ``number``, then ``fig``, then its caption (in a
    notebook) ending in a "data (CSV)" link to ``data``, the frame the figure was drawn from; then close it."""
    fid = figure_id(number)
    try:
        link = f" {csv_link(data, fid)}" if data is not None else ""
    except ValueError as e:  # a page stays readable: the figure is shown, the caption says why no link
        warnings.warn(str(e))
        link = " (its data is too large to embed here)"
    fig.tight_layout()
    anchor(number)
    display(fig)
    display(Markdown(caption(number, what, prov) + link))
    plt.close(fig)


def legend_outside(fig: plt.Figure, ax: plt.Axes, **kw: Any) -> None:
    """One legend for the whole figure, from ``ax``'s lines, to the right of the panels (never over data)."""
    handles, labels = ax.get_legend_handles_labels()
    fig.legend(handles, labels, loc="center left", bbox_to_anchor=(1.0, 0.5), frameon=False, **kw)


def legend_below(fig: plt.Figure, ax: plt.Axes, ncol: int = 3, extra: Sequence[Any] = (), **kw: Any) -> None:
    """One legend for the whole figure, from ``ax``'s lines and the ``extra`` handles (each with its label),
    under the panels in ``ncol`` columns (never over data; for wide figures, where a legend at the side would
    shrink them further)."""
    handles, labels = ax.get_legend_handles_labels()
    handles, labels = [*handles, *extra], [*labels, *(h.get_label() for h in extra)]
    fig.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=ncol, frameon=False, **kw)


def index_axis(*axes: plt.Axes, which: str = "x") -> None:
    """Whole-number ticks on the ``which`` axis ("x" or "y") of each of ``axes`` (epochs, tensor positions)."""
    for ax in axes:
        getattr(ax, f"{which}axis").set_major_locator(MaxNLocator(integer=True))


def png_width(fig: plt.Figure) -> int:
    """Width in pixels of the PNG the notebook keeps of ``fig`` (its dpi, ``bbox_inches="tight"`` as
    matplotlib's inline backend saves it)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=fig.dpi, bbox_inches="tight")
    return int.from_bytes(buf.getvalue()[16:20], "big")  # the IHDR chunk's width


def readability(fig: plt.Figure, column_px: int = COLUMN_PX, min_px: float = MIN_TEXT_PX) -> list[str]:
    """What a reader cannot read in ``fig`` once its PNG is shown at most ``column_px`` wide: each legend or
    tick label smaller than ``min_px`` pixels (font size in points x dpi / 72 x the page's shrink factor), and
    each index axis (its label matches :data:`INDEX_AXIS`) with a tick that is not a whole number.
    Empty when all is well."""
    scale = min(1.0, column_px / png_width(fig)) * fig.dpi / 72
    problems, seen = [], set()
    legends = [*fig.legends, *(ax.get_legend() for ax in fig.axes)]
    texts = [("legend", t) for lg in legends if lg is not None for t in [*lg.get_texts(), lg.get_title()]]
    for ax in fig.axes:
        if not ax.get_visible():
            continue
        for which in ("x", "y"):
            axis = getattr(ax, f"{which}axis")
            texts += [(f"{which} tick", t) for t in axis.get_ticklabels()]
            label = axis.get_label().get_text()
            lo, hi = sorted(getattr(ax, f"get_{which}lim")())
            ticks = [v for v in axis.get_majorticklocs() if lo <= v <= hi]
            if INDEX_AXIS.search(label) and axis.get_scale() == "linear" and any(abs(v - round(v)) > 1e-9 for v in ticks):
                problems.append(f"index axis {label!r}: ticks {ticks} are not whole numbers")
    for kind, t in texts:
        px = t.get_fontsize() * scale
        key = (kind, round(px, 2))
        if t.get_visible() and t.get_text() and px < min_px and key not in seen:
            seen.add(key)
            problems.append(f"{kind} text {t.get_text()!r}: {px:.1f} px < {min_px:g} px")
    return problems


def coherence_floor(n: int) -> float:
    """The coherence of ``n`` unrelated gradients: for independent zero-mean per-sample gradients of
    equal expected norm, E||mean g||^2 = E||g||^2 / n, so alpha sits near 1/n even when nothing is shared."""
    if n < 1:
        raise ValueError(f"n must be a positive number of samples, got {n!r}")
    return 1.0 / n


def debiased_coherence(alpha, n: int):
    """(n alpha - 1) / (n - 1): coherence with the 1/n floor of :func:`coherence_floor` removed (0 for
    unrelated gradients, 1 when every per-sample gradient is the same). Works on scalars and arrays."""
    if n < 2:
        raise ValueError(f"debiasing needs n >= 2 samples, got {n!r}")
    return (n * alpha - 1) / (n - 1)


def floor_line(ax: plt.Axes, n: int, **kw) -> None:
    """A dotted horizontal line at the coherence floor 1/n (:func:`coherence_floor`), labelled."""
    ax.axhline(coherence_floor(n), ls=":", lw=1, color=kw.pop("color", "0.5"),
               label=kw.pop("label", f"floor 1/n (n = {n:,d}, unrelated gradients)"), **kw)
