"""Chapter 8's explorer (:mod:`lib.chapters.explore`), which works in the HTML page without a kernel: the
fraction of each weight tensor's diffs that differ from fair coin flips (Fig. 8.2), for the ResNet, the ViT
and the MLP on CIFAR-10 and on Gaussian data, and for every width of the MLP sweep, at the epoch of highest or
lowest coherence, each seed shown. The data is the chapter's ``significance`` frame."""
from __future__ import annotations

from typing import Any

import pandas as pd

from . import explore
from .ch08_claims import FAMILIES
from .ch08_figures import tensor_label
from .palette import DATA_COLORS

#: The model menu: family of ``significance`` -> label.
MODELS = {**FAMILIES, "mlp_sweep": "MLP, every width of the sweep (CIFAR-10)"}
#: The epoch menu: ``which`` -> label.
EPOCHS = {"max": "highest coherence", "min": "lowest coherence"}


def frame(significance: pd.DataFrame) -> pd.DataFrame:
    """One row per (model, series, seed, epoch kind, tensor): model (a label of :data:`MODELS`), series (the data,
    or the width of a sweep run), seed, epoch (a label of :data:`EPOCHS`), position (the tensor's place, input
    to output), tensor (as the figures name it), significant (the fraction of its weights)."""
    df = significance[(significance["tensor"] != "all") & significance["family"].isin(list(MODELS))].copy()
    df["position"] = df.groupby(["family", "data", "seed", "which", "width"], dropna=False).cumcount()
    width = df["width"].astype("Float64")
    series = [f"width {int(w)}" if pd.notna(w) else d for w, d in zip(width, df["data"])]
    return pd.DataFrame({"model": df["family"].map(MODELS), "series": series, "seed": df["seed"].astype(int),
                         "epoch": df["which"].map(EPOCHS), "position": df["position"].astype(int),
                         "tensor": [tensor_label("mlp" if f == "mlp_sweep" else f, t)
                                    for f, t in zip(df["family"], df["tensor"])],
                         "significant": df["significant"]}).reset_index(drop=True)


def chart(df: pd.DataFrame, seeds: list[int], q: float) -> Any:
    """Menus: model, epoch (highest or lowest coherence), one seed or every seed. A line per series (the data,
    or the MLP's width) through the mean over the seeds shown, a point per seed; the tooltip names the tensor."""
    import altair as alt

    models = [m for m in MODELS.values() if m in set(df["model"])]
    p_model = explore.select("model", models, models[0], "model")
    p_epoch = explore.select("epoch", list(EPOCHS.values()), EPOCHS["max"], "epoch")
    p_seed = alt.param(name="seed", value=-1, bind=alt.binding_select(
        options=[-1, *seeds], labels=["every seed", *[f"seed {s}" for s in seeds]], name="seeds "))
    series = list(dict.fromkeys(df["series"]))
    widths = sorted((s for s in series if s.startswith("width")), key=lambda s: int(s.split()[1]))
    palette = [DATA_COLORS.get(s, "#999999") for s in series if not s.startswith("width")]
    domain = [s for s in series if not s.startswith("width")] + widths
    colors = palette + ["#440154", "#3b528b", "#21918c", "#5ec962", "#fde725", "#f89540", "#cc4778"][:len(widths)]
    base = alt.Chart(explore.data(df)).transform_filter(
        "datum.model == model && datum.epoch == epoch && (seed < 0 || datum.seed == seed)")
    x = alt.X("position:Q", title="weight tensor, input to output", axis=alt.Axis(tickMinStep=1, format="d"))
    color = alt.Color("series:N", scale=alt.Scale(domain=domain, range=colors), title=None)
    return (alt.layer(
        base.mark_line().encode(x=x, y="mean(significant):Q", color=color),
        base.mark_point(filled=True, opacity=0.5).encode(
            x=x, y=alt.Y("significant:Q", title=f"fraction significant (BH, q = {q:g})", scale=alt.Scale(domain=[0, 1])),
            color=color, tooltip=["tensor:N", "series:N", "seed:O", "significant:Q"]))
            .properties(width=520, height=280, title={"text": {"expr": "model + ', ' + epoch"}})
            .add_params(p_model, p_epoch, p_seed))


def show(s: Any, r: Any) -> None:
    """Display the explorer."""
    df = frame(r.significance)
    explore.show(chart(df, sorted(int(v) for v in df["seed"].unique()), s.params.q), "ch08-significance")
