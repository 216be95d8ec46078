"""Chapter 5's explorer (:mod:`lib.chapters.explore`), which works in the HTML page without a kernel: test or
train accuracy or the generalization gap of every seed's run, per mask method (the dense MLP "none"
included), against the child width of the prune sweep (Figs. 5.1, 5.2) or the parent ratio of the scaling
sweep (Fig. 5.3), in either mask scope. The data is the chapter's ``final`` and ``scaling`` frames, one row
per run."""
from __future__ import annotations

from typing import Any

import pandas as pd

from . import explore

#: The quantities of the menu: label -> column of the chapter's frames.
QUANTITIES = {"test accuracy": "test_acc", "train accuracy": "train_acc",
              "generalization gap (train − test accuracy)": "gap"}
#: The sweeps of the menu: label -> (the frame of :class:`ch05_pruning_mlp.Results`, its x column).
SWEEPS = {"child width (Figs. 5.1, 5.2)": ("final", "width"), "parent ratio (Fig. 5.3)": ("scaling", "ratio")}


def frame(r: Any) -> pd.DataFrame:
    """One row per run and quantity: sweep (a label of :data:`SWEEPS`), scope, method, seed, x (child width or
    parent ratio), quantity (a label of :data:`QUANTITIES`), value."""
    parts = []
    for sweep, (attr, x) in SWEEPS.items():
        df = getattr(r, attr)
        for label, col in QUANTITIES.items():
            parts.append(pd.DataFrame({"sweep": sweep, "scope": df["scope"], "method": df["method"],
                                       "seed": df["seed"].astype(int), "x": df[x].astype(float),
                                       "quantity": label, "value": df[col]}))
    return pd.concat(parts, ignore_index=True)


def chart(df: pd.DataFrame, scopes: dict[str, str], methods: list[str], colors: dict[str, str],
          seeds: list[int]) -> Any:
    """Menus: sweep, mask scope (``scopes``: name -> label), quantity, one seed or every seed. Each seed's run
    a point, the mean over the seeds shown a line, one colour per method (``colors``), x on a log2 axis."""
    import altair as alt

    sweeps, quantities = list(SWEEPS), list(QUANTITIES)
    p_sweep = explore.select("sweep", sweeps, sweeps[0], "sweep")
    p_scope = alt.param(name="scope", value=list(scopes)[0], bind=alt.binding_select(
        options=list(scopes), labels=list(scopes.values()), name="mask scope "))
    p_q = explore.select("quantity", quantities, quantities[0], "quantity")
    p_seed = alt.param(name="seed", value=-1, bind=alt.binding_select(
        options=[-1, *seeds], labels=["every seed", *[f"seed {s}" for s in seeds]], name="seeds "))
    base = alt.Chart(explore.data(df)).transform_filter(
        "datum.sweep == sweep && datum.scope == scope && datum.quantity == quantity && (seed < 0 || datum.seed == seed)")
    x = alt.X("x:Q", scale=alt.Scale(type="log", base=2), title="child width w, or parent ratio (log2 axis)")
    color = alt.Color("method:N", scale=alt.Scale(domain=methods, range=[colors[m] for m in methods]), title="mask")
    points = base.mark_point(filled=True, opacity=0.6).encode(
        x=x, y=alt.Y("value:Q", title=None, scale=alt.Scale(zero=False)), color=color,
        tooltip=["method:N", "seed:O", "x:Q", "value:Q"])
    means = base.mark_line().encode(x=x, y="mean(value):Q", color=color)
    return (alt.layer(means, points).properties(width=520, height=300, title={"text": {"expr": "quantity + ' against the ' + sweep"}})
            .add_params(p_sweep, p_scope, p_q, p_seed))


def show(s: Any, r: Any, colors: dict[str, str], methods: list[str]) -> None:
    """Display the explorer of chapter 5's setup ``s`` and results ``r``."""
    from .ch05_claims import SCOPE_NAMES

    df = frame(r)
    explore.show(chart(df, {sc: SCOPE_NAMES[sc] for sc in sorted(set(df["scope"]))}, methods, colors,
                       sorted(int(v) for v in df["seed"].unique())), "ch05-accuracy")
