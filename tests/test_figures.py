"""Figures a reader can read and link to: text size at the size the page shows a figure, whole-number ticks on
index axes, one anchor per figure (``fig-2-1``), a "data (CSV)" link in each caption, no figure number twice in
a chapter. The chapter figures are drawn from synthetic results shaped like a profile's (its widths, seeds,
epochs), through the chapter functions that the notebooks call."""
from __future__ import annotations

import ast
import base64
import io
import re
from pathlib import Path
from types import SimpleNamespace

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from IPython.display import HTML, Markdown  # noqa: E402
from matplotlib.container import BarContainer  # noqa: E402

from lib.book import checks  # noqa: E402
from lib.chapters import ch02_coherence as ch2  # noqa: E402
from lib.chapters import ch08_what_diffs_measure as ch8  # noqa: E402
from lib.chapters import ch09_figures as ch9fig  # noqa: E402
from lib.chapters import ch09_why_random_works as ch9  # noqa: E402
from lib.chapters import figures, registry  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
RNG = np.random.default_rng(0)


@pytest.fixture()
def shown(monkeypatch):
    """Everything :func:`figures.show` displays, in order (figures stay open to be measured)."""
    out: list = []
    monkeypatch.setattr(figures, "display", out.append)
    figures.style()
    yield out
    plt.close("all")


ANCHOR = r'<span id="([^"]+)" class="figure-anchor"></span>'


def anchors(out: list) -> list[str]:
    """The ids of every anchor in ``out``: those :func:`figures.show` puts before its figures and those
    :func:`figures.anchor` displays alone (a figure shown in parts)."""
    return [re.fullmatch(ANCHOR, o.data).group(1) for o in out if isinstance(o, HTML)]


def shows(out: list) -> list[tuple[str, plt.Figure, str]]:
    """(anchor id, figure, caption Markdown) of each :func:`figures.show` in ``out``; an anchor displayed alone
    (:func:`figures.anchor`, followed by another anchor) is skipped."""
    result, i = [], 0
    while i < len(out):
        if isinstance(out[i], HTML) and i + 1 < len(out) and isinstance(out[i + 1], HTML):
            i += 1
            continue
        anchor, fig, cap = out[i:i + 3]
        assert isinstance(anchor, HTML) and isinstance(fig, plt.Figure) and isinstance(cap, Markdown), out[i:i + 3]
        result.append((re.fullmatch(ANCHOR, anchor.data).group(1), fig, cap.data))
        i += 3
    return result


# ------------------------------------------------------------------------------------------ the helpers
@pytest.mark.parametrize("number, fid", [("Figure 2.1", "fig-2-1"), ("Figure 8.6", "fig-8-6"), ("Table 5.2", "tab-5-2"),
                                         ("Figure 4.4b", "fig-4-4b"), ("Figure 5.1 (global)", "fig-5-1-global"),
                                         ("Explorer", "fig-explorer")])
def test_figure_ids(number, fid):
    assert figures.figure_id(number) == fid


def test_show_puts_an_anchor_before_the_figure_and_the_data_in_the_caption(shown):
    fig, ax = plt.subplots()
    ax.plot([0, 1], [2, 3])
    data = pd.DataFrame({"epoch": [0, 1], "coherence α": [0.5, 0.25]})
    figures.show(fig, "Figure 2.1", "Coherence", "profile `smoke`", data=data)
    (fid, got, cap), = shows(shown)
    assert fid == "fig-2-1" and got is fig
    m = re.search(r'<a href="data:text/csv;base64,([A-Za-z0-9+/=]+)" download="fig-2-1.csv">data \(CSV\)</a>$', cap)
    assert m and cap.startswith("**Figure 2.1.** Coherence (profile `smoke`.)")
    pd.testing.assert_frame_equal(pd.read_csv(io.BytesIO(base64.b64decode(m.group(1)))), data)
    shown.clear()
    figures.show(plt.figure(), "Figure 2.2", "No data", "p")
    assert "data (CSV)" not in shows(shown)[0][2]


def test_a_figure_shown_in_parts_gets_one_anchor_for_the_whole(shown):
    figures.anchor("Figure 5.1")
    for part in ("global", "layer"):
        figures.show(plt.figure(), f"Figure 5.1 ({part})", "Part", "p")
    assert anchors(shown) == ["fig-5-1", "fig-5-1-global", "fig-5-1-layer"]
    assert [fid for fid, _, _ in shows(shown)] == ["fig-5-1-global", "fig-5-1-layer"]


def test_a_huge_frame_is_refused_not_embedded(shown):
    huge = pd.DataFrame({"x": np.arange(200_000) / 7})
    with pytest.raises(ValueError, match="aggregated"):
        figures.csv_link(huge, "fig-1-1")
    with pytest.warns(UserWarning, match="fig-1-1"):  # the page still shows the figure, and says why no link
        figures.show(plt.figure(), "Figure 1.1", "Big", "p", data=huge)
    (_, _, cap), = shows(shown)
    assert cap.endswith("(its data is too large to embed here)") and "base64" not in cap


def test_readability_finds_small_text_and_fractional_index_ticks():
    figures.style()
    fig, ax = plt.subplots(figsize=(14, 3.8))  # 1260 px shown at 960: shrunk to 0.76
    ax.plot([0, 1, 2], [1, 2, 3], label="a")
    ax.legend(fontsize=7)
    ax.set_xlabel("epoch")
    fig.tight_layout()  # as figures.show does
    problems = figures.readability(fig)
    assert any(p.startswith("legend text 'a': 6.7 px") for p in problems)
    assert any("index axis 'epoch'" in p for p in problems)
    figures.index_axis(ax)
    ax.legend()
    assert figures.readability(fig) == []
    plt.close(fig)


def test_a_chapter_page_with_a_figure_id_twice_is_a_problem():
    page = '<span id="fig-2-1"></span><img src="../_images/a.png"><span id="fig-2-1"></span><span id="fig-2-2"></span>'
    counts = checks.count_html(page)
    assert counts["anchors"] == ["fig-2-1", "fig-2-1", "fig-2-2"]
    chapter = registry.get("02")
    problems = checks.check_chapter(chapter, {"errors": [], "figures": 9, "tables": 9}, counts, figure_check=False)
    assert problems == ["chapter 02: HTML page has the figure anchor fig-2-1 twice (figure numbers must differ)"]


def test_no_chapter_module_shows_one_figure_number_twice():
    """Figure numbers written as literals in the ``show`` calls of each chapter's modules (chNN_*.py)."""
    for c in registry.CHAPTERS:
        ids = []
        for path in sorted((ROOT / "lib" / "chapters").glob(f"ch{c.key}_*.py")):
            for node in ast.walk(ast.parse(path.read_text())):
                if (isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) == "show"
                        and len(node.args) > 1 and isinstance(node.args[1], ast.Constant)):
                    ids.append(figures.figure_id(node.args[1].value))
        assert len(ids) == len(set(ids)), (c.key, sorted(ids))


# ------------------------------------------------------------------------------- synthetic results
def _curve_frame(epochs: int, runs=("real", "gaussian", "real_then_gaussian")) -> pd.DataFrame:
    rows = []
    for r in runs:
        for e in range(epochs + 1):
            for metric, v in (("coherence", 0.3 / (1 + e) + 0.01), ("train_loss", 2.3 / (1 + e)),
                              ("test_loss", 2.3 / (1 + e) + 0.1), ("train_acc", 0.1 + 0.8 * e / epochs),
                              ("test_acc", 0.1 + 0.5 * e / epochs)):
                rows.append({"run": r, "epoch": e, "metric": metric, "value": v * RNG.uniform(0.9, 1.1)})
    return pd.DataFrame(rows)


def draw_chapter_2(profile: str, monkeypatch) -> None:
    s = ch2.setup(profile=profile)
    epochs = s.configs[("cnn", s.params.seed)]["real"].epochs
    monkeypatch.setattr(ch2.rd, "curves", lambda runs: _curve_frame(epochs))
    wm = pd.DataFrame({"state": np.repeat(["init", "real", "gaussian"], 2000),
                       "value": np.abs(RNG.normal(0, 0.05, 6000))})
    monkeypatch.setattr(ch2.rd, "weight_magnitudes", lambda *a: wm)
    r = ch2.Results({f: {sd: {} for sd in s.seeds} for f in ch2.FAMILIES}, s.params.seed,
                    {f: _curve_frame(epochs) for f in ch2.FAMILIES})
    for name in ("figure_2_1", "figure_2_2", "figure_2_3", "figure_2_4", "figure_2_4b"):
        getattr(ch2, name)(s, r)


def _tensors(fam: str) -> list[str]:
    return {"cnn": [f"layer{i}.conv.weight" for i in range(14)], "vit": [f"blocks.{i}.attn.weight" for i in range(10)],
            "mlp": [f"{2 * i + 1}.weight" for i in range(5)]}[fam]


def draw_chapter_8(profile: str) -> None:
    s = ch8.setup(profile=profile)
    sig, spread, shares, curves = [], [], [], []
    for fam in ch8.FAMILIES:
        for data in ("real", "gaussian"):
            for sd in s.seeds:
                for t in [*_tensors(fam), "all"]:
                    for which in ("max", "min"):
                        sig.append({"family": fam, "data": data, "seed": sd, "which": which, "tensor": t,
                                    "epoch": 1, "coherence": 0.1, "n": 64, "weights": 100,
                                    "significant": RNG.uniform(), "sd": 0.2, "null_sd": 0.12, "zero_frac": 0.1,
                                    "width": s.mlp_width if fam == "mlp" else np.nan})
                    for n in (16, 64, 256):
                        spread.append({"family": fam, "data": data, "seed": sd, "n": n, "tensor": t, "sd": 0.2,
                                       "null_sd": 0.1, "sd_sqrt_n": 0.2 * n ** 0.5, "null_sd_sqrt_n": 1.0})
                    shares.append({"family": fam, "data": data, "seed": sd, "tensor": t, "grad_share": 0.1,
                                   "grad_share_plain": 0.12, "weight_share": 0.1})
    epochs = s.sweep[(s.widths[0], s.seeds[0])].epochs
    for w in s.widths:
        for sd in s.seeds:
            sig.append({**sig[0], "family": "mlp_sweep", "tensor": "all", "seed": sd, "width": w})
            for data in ("real", "gaussian"):
                for e in range(epochs + 1):
                    curves.append({"width": w, "seed": sd, "data": data, "epoch": e, "coherence": 0.2 / (1 + e),
                                   "test_coherence": 0.1 / (1 + e), "train_acc": 0.5, "test_acc": 0.4, "gap": 0.1})
    edges = np.linspace(-1, 1, 51)
    hists = {(fam, data, which): {"tensor": _tensors(fam)[2], "epoch": 1, "n": 64, "edges": edges,
                                  "counts": RNG.integers(1, 100, 50), "null": np.full(50, 20.0),
                                  "plain": np.full(50, 10.0)}
             for fam in ch8.FAMILIES for data in ("real", "gaussian") for which in ("max", "min", "max_any")}
    r = ch8.Results({}, {}, {}, pd.DataFrame(sig), hists, pd.DataFrame(spread), pd.DataFrame(curves),
                    pd.DataFrame(shares))
    for i in range(1, 8):
        getattr(ch8, f"figure_8_{i}")(s, r)


def draw_chapter_9(profile: str) -> None:
    s = ch9.setup(profile=profile)
    variants = {"magnitude", "magnitude_shuffled", "diff", "diff_shuffled", "uniform", "random", "none",
                "magnitude_worst", "diff_worst", "snip", "grasp", "synflow", "diff_in_conv", "diff_in_linear",
                *(f"{m}_early_{f:g}" for m in ch9fig.BEST for f in s.trained)}
    acc = pd.DataFrame([{"family": fam, "variant": v, "seed": sd, "test_acc": RNG.uniform(0.3, 0.34),
                         "train_acc": 0.5} for fam in ch9fig.FAMILIES for v in sorted(variants) for sd in s.seeds])
    early = pd.DataFrame([{"method": m, "fraction": f, "seed": sd, "jaccard": RNG.uniform(), "random": 0.05}
                          for m in ch9fig.BEST for f in (0.1, 0.25, 0.5) for sd in s.seeds])
    layers = pd.DataFrame([{"family": fam, "method": m, "seed": sd, "group": g, "kept": 10, "size": 100}
                           for fam in ("resnet", "vit") for m in (*ch9fig.BEST, "random") for sd in s.seeds
                           for g in ("conv", "linear", "norm")])
    r = SimpleNamespace(acc=acc, early=early, layers=layers)
    for i in range(1, 6):
        getattr(ch9fig, f"figure_9_{i}")(s, r)


# ---------------------------------------------------------------------------------- the chapters' figures
@pytest.mark.usefixtures("stand_in_fingerprint")
@pytest.mark.parametrize("profile", ["smoke", "cpu"])
@pytest.mark.parametrize("key", ["02", "08", "09"])
def test_chapter_figures_are_readable_anchored_and_carry_their_data(key, profile, shown, monkeypatch):
    {"02": lambda: draw_chapter_2(profile, monkeypatch), "08": lambda: draw_chapter_8(profile),
     "09": lambda: draw_chapter_9(profile)}[key]()
    drawn = shows(shown)
    assert len(drawn) >= registry.get(key).figures
    ids = [fid for fid, _, _ in drawn]
    assert len(ids) == len(set(ids)), f"a figure number twice in chapter {key}: {ids}"
    assert all(re.fullmatch(rf"fig-{int(key)}-\d+[a-z]?", fid) for fid in ids), ids
    for fid, fig, cap in drawn:
        assert figures.readability(fig) == [], fid
        assert f'download="{fid}.csv">data (CSV)</a>' in cap, fid
        for ax in fig.axes:  # bars on a linear axis start at zero
            if any(isinstance(c, BarContainer) for c in ax.containers) and ax.get_yscale() == "linear":
                assert ax.get_ylim()[0] <= 0, (fid, ax.get_title(), ax.get_ylim())


def test_chapter_8_names_the_mlp_layers_as_chapter_4_does(shown, monkeypatch, stand_in_fingerprint):
    draw_chapter_8("smoke")
    fig = dict((fid, f) for fid, f, _ in shows(shown))
    titles = [ax.get_title() for ax in fig["fig-8-1"].axes]
    assert any("MLP" in t and "hidden 2" in t for t in titles) and not any("5.weight" in t for t in titles)
    mlp_panel = fig["fig-8-2"].axes[list(ch8.FAMILIES).index("mlp")]
    assert [t.get_text() for t in mlp_panel.get_xticklabels()] == ["input", "hidden 1", "hidden 2", "hidden 3", "output"]


def test_sweep_figures_name_the_widths_not_one_width(shown, stand_in_fingerprint):
    draw_chapter_8("cpu")
    caps = {fid: cap for fid, _, cap in shows(shown)}
    s = ch8.setup(profile="cpu")
    for fid in ("fig-8-4", "fig-8-5", "fig-8-6"):
        assert f"MLP widths {', '.join(map(str, s.widths))}" in caps[fid] and f"MLP width {s.mlp_width}," not in caps[fid]


# ------------------------------------------------------------------------- the smoke book's own figures
#: The figure functions each chapter's notebook calls.
NOTEBOOK_FIGURES = {"02": ["figure_2_1", "figure_2_2", "figure_2_3", "figure_2_4", "figure_2_4b"],
                    "03": ["figure_3_1", "figure_3_2", "figure_3_3", "figure_3_4"],
                    "04": ["figure_4_1", "figure_4_2", "figure_4_3", "figure_4_4", "figure_4_5"],
                    "05": ["figure_5_1", "figure_5_2", "figure_5_3"], "06": ["figure_6_3", "figure_6_4"],
                    "08": [f"figure_8_{i}" for i in range(1, 8)], "09": [f"figure_9_{i}" for i in range(1, 6)]}


@pytest.mark.parametrize("key", sorted(NOTEBOOK_FIGURES))
def test_the_smoke_books_figures_from_its_runs(key, shown):
    """The same checks on the figures the notebook draws from the smoke runs, where this clone holds them (a
    smoke build trains them); skipped, saying why, where the data or a run is missing. Never trains."""
    from lib import data, runs
    from lib.plan import configs

    ch = registry.module(key)
    try:
        s = ch.setup(profile="smoke")
        for cfg in configs(ch.plan(s)):
            runs.load(cfg)
    except data.DataNotFoundError:
        pytest.skip("no CIFAR-10 here (set CIFAR10_PATH): the smoke runs cannot be found by their hashes")
    except runs.RunNotTrained as e:
        pytest.skip(f"chapter {key}'s smoke runs are not all in the run cache (build the smoke book): {e}")
    r = ch.results(s)
    for name in NOTEBOOK_FIGURES[key]:
        getattr(ch, name)(s, r)
    drawn = shows(shown)
    ids = anchors(shown)
    assert len(ids) == len(set(ids)) and len(drawn) >= registry.get(key).figures, ids
    if key == "05":  # Figure 5.1 is shown once per scope; links to the whole land on its first part
        assert ids.index("fig-5-1") < ids.index(f"fig-5-1-{s.sweep_scopes[0]}")
    for fid, fig, cap in drawn:
        assert figures.readability(fig) == [], fid
        if fid != "fig-4-5":  # the explorer's default view: its data is the explorer's, in the page
            assert f'download="{fid}.csv">data (CSV)</a>' in cap, fid
