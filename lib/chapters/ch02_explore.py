"""Chapter 2's explorer (:mod:`lib.chapters.explore`), which works in the HTML page without a kernel:
coherence per epoch of every seed's three runs (CIFAR-10, Gaussian, CIFAR-10-trained then Gaussian) of
either model, with the floor 1/n on or off and α or its debiased value (n α - 1) / (n - 1). The data is
:func:`realdata.curves` of each seed's runs, the frame Figures 2.1, 2.2 and 2.4 draw."""
from __future__ import annotations

from typing import Any

import pandas as pd

from . import explore
from . import realdata as rd
from .large_runs import stats_n
from .palette import OKABE_ITO

#: Colour of each run (as in the chapter's figures: the seaborn colour-blind palette's first three).
RUN_COLORS = {"real": "#0173B2", "gaussian": "#DE8F05", "real_then_gaussian": "#029E73"}


def frame(s: Any, r: Any) -> pd.DataFrame:
    """Coherence per epoch of every run of every seed and model: model (the architecture), n (its statistics
    images), seed, run (a label of :data:`realdata.RUN_LABELS`), epoch, coherence."""
    parts = []
    for fam, arch in s.archs.items():
        for sd, runs in r.runs[fam].items():
            c = rd.curves(runs)
            c = c[c["metric"] == "coherence"]
            parts.append(pd.DataFrame({"model": arch, "n": stats_n(s, fam), "seed": sd,
                                       "run": c["run"].map(rd.RUN_LABELS), "epoch": c["epoch"],
                                       "coherence": c["value"]}))
    return pd.concat(parts, ignore_index=True)


def chart(df: pd.DataFrame, models: list[str], seeds: list[int]) -> Any:
    """Menus: model, seed (one or every); checkboxes: the floor 1/n, debiased coherence. One line per run and
    seed, log axis (debiased values of 0 or below are left out: a log axis cannot show them)."""
    import altair as alt

    p_model = explore.select("model", models, models[0], "model")
    p_seed = alt.param(name="seed", value=-1, bind=alt.binding_select(
        options=[-1, *seeds], labels=["every seed", *[f"seed {s}" for s in seeds]], name="seeds "))
    p_floor = explore.toggle("floor", True, "floor 1/n")
    p_deb = explore.toggle("debiased", False, "debiased (n α − 1) / (n − 1)")
    base = alt.Chart(explore.data(df)).transform_filter("datum.model == model")
    labels = [rd.RUN_LABELS[k] for k in RUN_COLORS]
    y = alt.Y("y:Q", scale=alt.Scale(type="log"), title="coherence (log scale)")
    lines = (base.transform_filter("seed < 0 || datum.seed == seed")
             .transform_calculate(y="debiased ? (datum.n * datum.coherence - 1) / (datum.n - 1) : datum.coherence")
             .transform_filter("datum.y > 0")
             .mark_line(point=True, strokeWidth=1.5)
             .encode(x=alt.X("epoch:Q", title="epoch (0 = initialisation)", axis=alt.Axis(tickMinStep=1, format="d")),
                     y=y, color=alt.Color("run:N", scale=alt.Scale(domain=labels, range=list(RUN_COLORS.values())),
                                          title=None, legend=alt.Legend(orient="bottom")),
                     detail="seed:N", tooltip=["run:N", "seed:O", "epoch:Q", "coherence:Q", "y:Q"]))
    floor = (base.transform_aggregate(n="max(n)").transform_filter("floor && !debiased")
             .transform_calculate(y="1 / datum.n")
             .mark_rule(color=OKABE_ITO["black"], strokeDash=[2, 3]).encode(y=y))
    title = {"expr": "model + (debiased ? ': debiased coherence (n α − 1) / (n − 1)' : ': coherence α')"
                     " + (floor && !debiased ? ', dotted: floor 1/n' : '')"}
    return (alt.layer(lines, floor).properties(width=560, height=320, title=alt.TitleParams(title))
            .add_params(p_model, p_seed, p_floor, p_deb))


def show(s: Any, r: Any) -> None:
    """Display the explorer."""
    explore.show(chart(frame(s, r), list(s.archs.values()), list(s.seeds)), "ch02-coherence")
