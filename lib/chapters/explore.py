"""Explorers that work in the static HTML page: a Vega-Lite chart (built with Altair) whose data is
embedded in the page and whose menus and checkboxes are Vega-Lite parameters, so no kernel is needed.

:func:`show` displays a chart as HTML: a ``<div class="book-explorer">`` and a script that calls
``vegaEmbed``. The built book loads Vega, Vega-Lite and vega-embed in the page's head from its own folder
(``vendor/``, see :mod:`lib.book.assets`), before require.js, so the script finds ``window.vegaEmbed``.
In a live notebook there is no such head: the script loads the same local copies through the Jupyter
server's ``files/`` route (the path from the kernel's folder to :data:`VENDOR`), and when that fails it
writes in the explorer's place how to fetch them. The rendered view is kept in
``window.bookExplorers[<div id>]`` (vega-embed's result, with its ``view``) for the build's browser check.
"""
from __future__ import annotations

import json
import math
import os
from itertools import count
from typing import Any

import pandas as pd

from .. import paths

#: The class of every explorer's div; the build adds the Vega scripts to the pages that contain it.
CLASS = "book-explorer"
#: Where the build keeps its local copies of the npm packages.
VENDOR = paths.vendor_dir()
#: The scripts an explorer needs, in load order, relative to :data:`VENDOR` (and to ``vendor/`` in the HTML).
VEGA_SCRIPTS = ("vega/build/vega.min.js", "vega-lite/build/vega-lite.min.js",
                "vega-embed/build/vega-embed.min.js")
#: Significant digits kept of each float of an explorer's data (the page carries every row).
DIGITS = 4

_ids = count(1)


def records(frame: pd.DataFrame, digits: int = DIGITS) -> list[dict[str, Any]]:
    """``frame``'s rows as JSON-ready dicts: floats rounded to ``digits`` significant digits, NaN as None,
    numpy scalars as Python numbers. What an explorer embeds as its data."""
    def plain(v: Any) -> Any:
        if hasattr(v, "item"):
            v = v.item()
        if isinstance(v, float):
            return None if math.isnan(v) else float(f"{v:.{digits}g}")
        return v
    return [{k: plain(v) for k, v in row.items()} for row in frame.to_dict("records")]


def data(frame: pd.DataFrame, digits: int = DIGITS) -> Any:
    """``frame`` as Altair inline data (:func:`records`): the values travel inside the spec."""
    import altair as alt

    return alt.Data(values=records(frame, digits))


def spec_of(chart: Any) -> dict[str, Any]:
    """The Vega-Lite spec of an Altair chart (validated against the schema by Altair)."""
    return chart.to_dict() if hasattr(chart, "to_dict") else dict(chart)


_SCRIPT = """(function () {
  var el = document.getElementById(%(id)s), spec = %(spec)s;
  function say(text) { el.dataset.state = "failed"; el.textContent = text; }
  function draw() {
    vegaEmbed(el, spec, {actions: false, renderer: "svg"}).then(function (res) {
      (window.bookExplorers = window.bookExplorers || {})[el.id] = res;
      el.dataset.state = "drawn";
    }).catch(function (err) { say("This explorer could not be drawn: " + err); console.error(err); });
  }
  if (window.vegaEmbed) { draw(); return; }
  /* a live notebook: the local copies through the Jupyter server's files/ route, next to this notebook */
  var m = window.location.pathname.match(/^(.*?\\/)(?:(?:lab|doc)(?:\\/workspaces\\/[^\\/]+)?\\/tree|notebooks)\\/(.*\\/)?[^\\/]*$/);
  if (!m) { say(%(missing)s); return; }
  var base = m[1] + "files/" + (m[2] || "") + %(rel)s + "/", files = %(files)s.slice();
  var amd = window.define; window.define = undefined;  /* load as globals, not as AMD modules */
  (function next() {
    if (!files.length) { window.define = amd; draw(); return; }
    var s = document.createElement("script");
    s.src = base + files.shift();
    s.onload = next;
    s.onerror = function () { window.define = amd; say(%(missing)s); };
    document.head.appendChild(s);
  })();
})();"""


def html(chart: Any, name: str) -> str:
    """The HTML that shows ``chart`` (an Altair chart or a Vega-Lite dict) as the explorer ``name``: a div of
    class :data:`CLASS` and the script that embeds the spec with ``vegaEmbed`` (see the module docstring)."""
    spec = spec_of(chart)
    div = f"book-explorer-{name}-{next(_ids)}"
    rel = os.path.relpath(VENDOR, os.getcwd()).replace(os.sep, "/")
    missing = ("This explorer needs Vega, which the built book serves from its own folder. In a live notebook it "
               "is loaded from the repository's _static_offline/vendor: fetch it once with "
               "`python -c 'from lib.book import assets; assets.fetch_offline_assets()'`, then re-run the cell.")
    script = _SCRIPT % {"id": json.dumps(div), "spec": json.dumps(spec, separators=(",", ":"), allow_nan=False),
                        "rel": json.dumps(rel), "files": json.dumps(list(VEGA_SCRIPTS)), "missing": json.dumps(missing)}
    # "</" never closes the script early: the spec's strings are JSON, where "\/" reads as "/"
    script = script.replace("</", "<\\/")
    return (f'<div class="{CLASS}" id="{div}" data-explorer="{name}"></div>\n'
            f'<script type="text/javascript">\n{script}\n</script>')


class Explorer:
    """An explorer to display: its HTML (:func:`html`) is its only representation, so the notebook, the
    built page and a live Jupyter show the same thing."""

    def __init__(self, chart: Any, name: str) -> None:
        self.name = name
        self.spec = spec_of(chart)
        self._html = html(self.spec, name)

    def _repr_html_(self) -> str:
        return self._html

    def __repr__(self) -> str:
        return f"<explorer {self.name}: a Vega-Lite chart, drawn in the HTML page>"


def show(chart: Any, name: str) -> None:
    """Display ``chart`` as the explorer ``name`` (:class:`Explorer`)."""
    from IPython.display import display

    display(Explorer(chart, name))


def select(name: str, options: list[Any], value: Any, label: str) -> Any:
    """A Vega-Lite parameter bound to a menu of ``options`` (first shown: ``value``)."""
    import altair as alt

    return alt.param(name=name, value=value, bind=alt.binding_select(options=list(options), name=label + " "))


def toggle(name: str, value: bool, label: str) -> Any:
    """A Vega-Lite parameter bound to a checkbox."""
    import altair as alt

    return alt.param(name=name, value=value, bind=alt.binding_checkbox(name=label + " "))


# ------------------------------------------------------------------------- the diff-histogram explorer
#: Most histogram rows (run, tensor, epoch, bin) one diff explorer embeds; beyond it, epochs are thinned.
MAX_HIST_ROWS = 8_000


def null_density(edges: Any, m: int) -> Any:
    """Density per bin of ``edges`` of a diff under the coin-flip null: the mean of ``m`` fair ±1 signs,
    (2K - m) / m with K ~ Binomial(m, 1/2), binned like the recorded histograms (1 / unit of diff)."""
    import numpy as np
    from scipy.stats import binom

    k = np.arange(m + 1)
    mass, _ = np.histogram((2 * k - m) / m, bins=np.asarray(edges, dtype=float), weights=binom.pmf(k, m, 0.5))
    return mass / np.diff(edges)


def thin_epochs(epochs: list[int], per_epoch_rows: int, keep: tuple[int, ...] = (),
                budget: int = MAX_HIST_ROWS) -> list[int]:
    """``epochs`` (sorted), every k-th with the first, the last and ``keep`` always in, k the least that
    brings ``per_epoch_rows`` x epochs within ``budget``."""
    epochs = sorted(set(epochs))
    step = 1
    while len(epochs[::step]) * per_epoch_rows > budget and step < len(epochs):
        step += 1
    return sorted(set(epochs[::step]) | {epochs[0], epochs[-1]} | (set(keep) & set(epochs)))


def diff_explorer(hist: pd.DataFrame, null: pd.DataFrame, coh: pd.DataFrame, *, edges: Any,
                  runs: list[str], tensors: list[str], run: int = 0, tensor: int = 0, epoch: int | None = None,
                  color: str = "#0072B2") -> Any:
    """A diff-histogram explorer: menus for the run (codes 0.. of ``runs``), the tensor (codes of
    ``tensors``) and the epoch; left, the density histogram of that tensor's diffs after that epoch (bars,
    symlog axis) with the coin-flip null of the run (line); right, the run's coherence per epoch (log axis)
    with the chosen epoch marked and the floor 1/n.

    ``hist``: columns run, tensor, epoch, bin (index into ``edges``' bins), density (rows of zero density
    may be left out). ``null``: run, bin, density. ``coh``: run, epoch, coherence, floor (1/n of the run).
    """
    import altair as alt

    edges = [float(e) for e in edges]
    width = edges[1] - edges[0]
    epochs = sorted(int(e) for e in hist["epoch"].unique())
    recorded = [sorted(int(e) for e in hist.loc[hist["run"] == i, "epoch"].unique()) for i in range(len(runs))]
    p_run = alt.param(name="run", value=run, bind=alt.binding_select(options=list(range(len(runs))), labels=runs,
                                                                     name="run "))
    p_tensor = alt.param(name="tensor", value=tensor, bind=alt.binding_select(
        options=list(range(len(tensors))), labels=tensors, name="tensor "))
    p_epoch = select("epoch", epochs, epochs[-1] if epoch is None else epoch, "epoch")
    x_lo, x_hi = f"{edges[0]} + datum.bin * {width}", f"{edges[0]} + (datum.bin + 1) * {width}"
    title = {"expr": f"{json.dumps(tensors)}[tensor] + ', epoch ' + epoch + "
                     f"(indexof({json.dumps(recorded)}[run], epoch) < 0 ? ' (not recorded for this run)' : '')"}
    x = alt.X("lo:Q", title="diff = mean sign of per-sample gradient", scale=alt.Scale(domain=[edges[0], edges[-1]]))
    y = alt.Y("density:Q", title="density (1 / unit of diff), symlog", scale=alt.Scale(type="symlog"))
    bars = (alt.Chart(data(hist)).transform_filter(
                "datum.run == run && datum.tensor == tensor && datum.epoch == epoch")
            .transform_calculate(lo=x_lo, hi=x_hi)
            .mark_rect(color=color, opacity=0.6).encode(x=x, x2="hi:Q", y=y, y2=alt.datum(0)))
    coin = (alt.Chart(data(null)).transform_filter("datum.run == run")
            .transform_calculate(lo=f"{edges[0]} + (datum.bin + 0.5) * {width}")
            .mark_line(color="#333333", strokeDash=[4, 3], interpolate="step").encode(x=x, y=y))
    left = alt.layer(bars, coin).properties(width=330, height=240, title=alt.TitleParams(title))
    curve = alt.Chart(data(coh)).transform_filter("datum.run == run")
    every = sorted(int(e) for e in coh["epoch"].unique())  # whole epochs only; few: each one a tick
    epoch_axis = alt.Axis(values=every, format="d") if len(every) <= 25 else alt.Axis(tickMinStep=1, format="d")
    ylog = alt.Y("coherence:Q", title="coherence α (log scale)", scale=alt.Scale(type="log"))
    line = curve.mark_line(color=color, point=True).encode(
        x=alt.X("epoch:Q", title="epoch", axis=epoch_axis), y=ylog,
                                                          tooltip=["epoch:Q", "coherence:Q"])
    mark = curve.transform_filter("datum.epoch == epoch").mark_rule(color="#555555", strokeDash=[5, 3]).encode(
        x="epoch:Q")
    floor = curve.transform_aggregate(floor="max(floor)").mark_rule(color="#888888", strokeDash=[1, 2]).encode(
        y=alt.Y("floor:Q", scale=alt.Scale(type="log")))
    right = alt.layer(line, mark, floor).properties(
        width=250, height=240, title="coherence per epoch (dotted: floor 1/n; dashed: the chosen epoch)")
    return alt.hconcat(left, right).add_params(p_run, p_tensor, p_epoch).resolve_scale(y="independent")


# ---------------------------------------------------------------------------------- the pruning explorer
def _color(method: str) -> str:
    from .palette import METHOD_COLORS

    return METHOD_COLORS.get(method, "#999999")


def pruning_explorer(layers: pd.DataFrame, acc: pd.DataFrame, *, models: list[str], scopes: list[str] | None = None,
                     seeds: list[int], accuracy: str = "test_acc") -> Any:
    """Menus: model, mask scope (when ``scopes``), one seed or every seed. Left: the fraction of each prunable
    tensor each mask keeps, against the tensor's depth (a point per seed, a line through their mean; the
    tooltip names the tensor). Right: ``accuracy`` of every run per mask method (a point per seed, a tick at
    their mean), the dense network and every other variant the frame holds included.

    ``layers``: model, [scope,] method, seed, layer, depth, fraction_kept. ``acc``: model, [scope,] method,
    seed, ``accuracy``."""
    import altair as alt

    p_model = select("model", models, models[0], "model")
    p_seed = alt.param(name="seed", value=-1, bind=alt.binding_select(
        options=[-1, *seeds], labels=["every seed", *[f"seed {s}" for s in seeds]], name="seeds "))
    params = [p_model, p_seed]
    keep = "datum.model == model && (seed < 0 || datum.seed == seed)"
    if scopes:
        params.insert(1, select("scope", scopes, scopes[0], "mask scope"))
        keep += " && datum.scope == scope"
    methods = sorted(set(layers["method"]) | set(acc["method"]))
    color = alt.Color("method:N", scale=alt.Scale(domain=methods, range=[_color(m) for m in methods]), title="mask")
    lay = alt.Chart(data(layers)).transform_filter(keep)
    x = alt.X("depth:Q", title="tensor, input to output (depth)", axis=alt.Axis(tickMinStep=1, format="d"))
    y = alt.Y("fraction_kept:Q", title="fraction of the tensor kept", scale=alt.Scale(domain=[0, 1]))
    left = alt.layer(
        lay.mark_line().encode(x=x, y="mean(fraction_kept):Q", color=color),
        lay.mark_point(filled=True, opacity=0.6).encode(x=x, y=y, color=color,
                                                        tooltip=["layer:N", "method:N", "seed:O", "fraction_kept:Q"]),
    ).properties(width=330, height=260, title="fraction kept per tensor")
    runs = alt.Chart(data(acc)).transform_filter(keep)
    xm = alt.X("method:N", title=None, sort=methods, axis=alt.Axis(labelAngle=-45))
    ya = alt.Y(f"{accuracy}:Q", title=accuracy.replace("_", " ").replace("acc", "accuracy"),
               scale=alt.Scale(zero=False))
    right = alt.layer(
        runs.mark_point(filled=True, opacity=0.6).encode(x=xm, y=ya, color=color,
                                                         tooltip=["method:N", "seed:O", f"{accuracy}:Q"]),
        runs.mark_tick(thickness=2, size=18).encode(x=xm, y=f"mean({accuracy}):Q", color=color),
    ).properties(width=max(200, 22 * acc["method"].nunique()), height=260, title="accuracy per mask (tick: mean)")
    return alt.hconcat(left, right).add_params(*params).resolve_scale(y="independent")
