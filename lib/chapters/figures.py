"""Figure helpers shared by the chapters: one style, one caption format.

Every figure of the book is shown with :func:`show`, which displays the matplotlib figure and then a
caption saying which profile, model, data size, epochs and seed produced it.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import matplotlib.pyplot as plt
import seaborn as sns
from IPython.display import Markdown, display

from ..config import TrainConfig

METHOD_ORDER = ("none", "random", "magnitude", "diff", "magnitude_best", "magnitude_worst",
                "coherence_best", "coherence_worst")


def style() -> None:
    """The book's plotting style (seaborn whitegrid, readable font sizes)."""
    sns.set_theme(style="whitegrid", context="notebook", palette="colorblind")
    plt.rcParams.update({"figure.dpi": 90, "savefig.dpi": 90, "axes.titlesize": 11})


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


def show(fig: plt.Figure, number: str, what: str, prov: Provenance | str) -> None:
    """Display ``fig`` followed by its caption (in a notebook), then close it."""
    fig.tight_layout()
    display(fig)
    display(Markdown(caption(number, what, prov)))
    plt.close(fig)


def legend_outside(fig: plt.Figure, ax: plt.Axes, **kw: Any) -> None:
    """One legend for the whole figure, from ``ax``'s lines, to the right of the panels (never over data)."""
    handles, labels = ax.get_legend_handles_labels()
    fig.legend(handles, labels, loc="center left", bbox_to_anchor=(1.0, 0.5), frameon=False, **kw)


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
