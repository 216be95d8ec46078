"""The explorers that work in the static page (lib.chapters.explore and the chapters' ``chNN_explore``): each
spec is valid Vega-Lite built from its chapter's frame (the rows embedded are the frame's, the controls offer
the expected choices), the HTML loads the book's own Vega and names no CDN, the pinned npm packages are what
Altair targets, and the pages with an explorer load Vega before require.js. In headless Chromium
(lib.book.explorers): every control of an explorer changes its drawing, a control that changes nothing is
reported, and so is every explorer of the built smoke book that does not answer (skipped before a build)."""
from __future__ import annotations

import shutil
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from lib.book import assets, explorers, layout, rendered, vega_pages
from lib.chapters import ch02_explore, ch04_explore, ch05_explore, ch06_explore, ch08_explore, ch09_explore, explore

needs_chromium = pytest.mark.skipif(rendered.find_chromium() is None,
                                    reason="no Chromium on this machine (`apt-get install chromium`)")
needs_vega = pytest.mark.skipif(not (explore.VENDOR / "vega-embed").is_dir(),
                                reason="no local Vega yet (the build fetches it: lib.book.assets.fetch_offline_assets)")

EDGES = np.linspace(-1, 1, 51)


def _diff_frames(runs: int = 2, tensors: int = 3) -> dict[str, pd.DataFrame]:
    rng = np.random.default_rng(0)
    hist = pd.DataFrame([{"run": r, "tensor": t, "epoch": e, "bin": b, "density": float(rng.uniform(0.1, 5))}
                         for r in range(runs) for t in range(tensors) for e in range(3 + r) for b in range(18, 32)])
    null = pd.DataFrame({"run": 0, "bin": range(50), "density": explore.null_density(EDGES, 100)})
    coh = pd.DataFrame([{"run": r, "epoch": e, "coherence": 0.01 * (e + 1), "floor": 0.01}
                        for r in range(runs) for e in range(4)])
    return {"hist": hist, "null": null[null["density"] > 0], "coh": coh}


def _values(spec: dict, keys: set[str]) -> list[list[dict]]:
    """Every inline data set of ``spec`` whose rows have exactly the columns ``keys``."""
    found = []

    def walk(node):
        if isinstance(node, dict):
            vals = (node.get("data") or {}).get("values") if isinstance(node.get("data"), dict) else None
            if vals and set(vals[0]) == keys:
                found.append(vals)
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)
    walk(spec)
    return found


def _params(spec: dict) -> dict[str, dict]:
    return {p["name"]: p for p in spec.get("params", [])}


# ---- the pieces ------------------------------------------------------------------------------------------
def test_the_npm_pins_are_what_the_pinned_altair_targets():
    import altair as alt

    pins = {name: spec["version"] for name, spec in assets.OFFLINE_PACKAGES.items()}
    assert pins["vega-lite"] == alt.VEGALITE_VERSION.lstrip("v")
    assert pins["vega"].split(".")[0] == alt.VEGA_VERSION.lstrip("v").split(".")[0]
    assert pins["vega-embed"].split(".")[0] == alt.VEGAEMBED_VERSION.lstrip("v").split(".")[0]
    assert explore.VENDOR == layout.VENDOR
    assert assets.OFFLINE_VEGA_JS == [f"../vendor/{f}" for f in explore.VEGA_SCRIPTS]
    assert all(f"@{pins[f.split('/')[0]]}/" in u for f, u in zip(explore.VEGA_SCRIPTS, assets.CDN_VEGA_JS))


def test_records_round_floats_and_write_nan_as_null():
    rows = explore.records(pd.DataFrame({"a": [1.23456789, float("nan")], "b": np.array([1, 2], dtype=np.int64)}))
    assert rows == [{"a": 1.235, "b": 1}, {"a": None, "b": 2}] and type(rows[0]["b"]) is int


def test_the_coin_flip_null_is_a_symmetric_density():
    d = explore.null_density(EDGES, 100)
    assert d.sum() * (EDGES[1] - EDGES[0]) == pytest.approx(1.0)
    centre, width = (EDGES[:-1] + EDGES[1:]) / 2, EDGES[1] - EDGES[0]
    # centred, up to the bin a value on an edge falls in (np.histogram's, as the recorded histograms)
    assert abs((d * centre).sum() * width) <= width
    assert (d * centre ** 2).sum() * width == pytest.approx(1 / 100, rel=0.5)  # the variance of the mean of 100 coins
    assert d[:10].sum() + d[-10:].sum() == pytest.approx(0.0, abs=1e-6)  # |diff| > 0.6: out of reach


def test_thinning_keeps_first_last_and_chosen_epochs_within_the_budget():
    epochs = list(range(100))
    kept = explore.thin_epochs(epochs, per_epoch_rows=100, keep=(37,), budget=2000)
    assert {0, 99, 37} <= set(kept) and len(kept) * 100 <= 2000 + 300
    assert explore.thin_epochs(epochs, per_epoch_rows=1, budget=2000) == epochs


def test_the_diff_explorer_embeds_the_frames_and_binds_run_tensor_and_epoch():
    f = _diff_frames()
    chart = explore.diff_explorer(f["hist"], f["null"], f["coh"], edges=EDGES, runs=["CIFAR-10", "Gaussian"],
                                  tensors=["a", "b", "c"], run=1, tensor=2, epoch=1)
    spec = chart.to_dict()  # validated against the Vega-Lite schema by Altair
    assert spec["$schema"].endswith(".json") and "hconcat" in spec
    assert _values(spec, set(f["hist"].columns)) == [explore.records(f["hist"])]
    assert _values(spec, set(f["null"].columns)) == [explore.records(f["null"])]
    assert explore.records(f["coh"]) in _values(spec, set(f["coh"].columns))
    p = _params(spec)
    assert p["run"]["bind"]["options"] == [0, 1] and p["run"]["bind"]["labels"] == ["CIFAR-10", "Gaussian"]
    assert p["tensor"]["bind"]["labels"] == ["a", "b", "c"] and p["tensor"]["value"] == 2
    assert p["epoch"]["bind"] == {"input": "select", "options": [0, 1, 2, 3], "name": "epoch "}
    assert p["epoch"]["value"] == 1 and p["run"]["value"] == 1


def test_the_html_calls_the_local_vega_embed_and_names_no_cdn():
    f = _diff_frames()
    chart = explore.diff_explorer(f["hist"], f["null"], f["coh"], edges=EDGES, runs=["x", "y"], tensors=["a", "b", "c"])
    page = explore.Explorer(chart, "t")._repr_html_()
    assert page.startswith(f'<div class="{explore.CLASS}" id="book-explorer-t-') and 'data-explorer="t"' in page
    assert "vegaEmbed(el, spec" in page and page.count("</script>") == 1
    assert not any(host in page for host in ("cdn.jsdelivr.net", "unpkg.com", "cdnjs.cloudflare.com"))
    assert '"vega/build/vega.min.js"' in page  # the live-notebook fallback loads the same local files


def test_only_pages_with_an_explorer_load_vega_and_before_require_js():
    added = []
    app = SimpleNamespace(config=SimpleNamespace(book_explorer_js=assets.OFFLINE_VEGA_JS),
                          add_js_file=lambda path, priority: added.append((path, priority)))
    vega_pages.add_vega(app, "intro", "page.html", {"body": "<p>no explorer</p>"}, None)
    assert added == []
    vega_pages.add_vega(app, "chapters/03_diffs", "page.html", {"body": f'<div class="{explore.CLASS}" id="x">'}, None)
    assert [p for p, _ in added] == assets.OFFLINE_VEGA_JS and all(pr < 500 for _, pr in added)


def test_the_staged_config_loads_the_extension_and_local_or_cdn_vega(monkeypatch, tmp_path):
    import yaml

    from lib.book import execute

    monkeypatch.setattr(execute, "STAGE", tmp_path)
    monkeypatch.setattr(layout, "STAGE", tmp_path)
    for offline, want in ((True, assets.OFFLINE_VEGA_JS), (False, assets.CDN_VEGA_JS)):
        execute.stage_sources(offline=offline)
        cfg = yaml.safe_load((tmp_path / "_config.yml").read_text())["sphinx"]["config"]
        assert "lib.book.vega_pages" in cfg["extensions"] and cfg["book_explorer_js"] == want


# ---- the chapters' explorers, from their frames ------------------------------------------------------------
def _mlp_results(widths=(16, 32), seeds=(0, 1), epochs=(0, 1, 2)):
    names = ["1.weight", "3.weight", "1.bias"]
    rng = np.random.default_rng(1)
    curves = pd.DataFrame([{"width": w, "seed": s, "epoch": e, "coherence": 0.01 + 0.001 * w * (e + 1),
                            "train_acc": 0.5 + 0.1 * e, "test_acc": 0.4 + 0.05 * e}
                           for w in widths for s in seeds for e in epochs])
    hists = {(w, s): {"edges": EDGES, "epochs": np.array(epochs),
                      "hists": {n: rng.integers(0, 9, size=(len(epochs), 50)) for n in names}}
             for w in widths for s in seeds}
    e = SimpleNamespace(runs=[(f"width {w}, seed {s}", (w, s)) for w in widths for s in seeds],
                        layers=[("input weights", "1.weight"), ("hidden 1 weights", "3.weight"), ("input bias", "1.bias")],
                        epochs=list(epochs), key=(widths[-1], seeds[0]), layer="3.weight", epoch=2)
    return SimpleNamespace(curves=curves, hists=hists), e, names[:2]


def test_chapter_4_histogram_explorer_reads_every_run_matrix_and_epoch():
    r, e, _ = _mlp_results()
    f = ch04_explore.histogram_frames(r, e, n=100)
    assert f["runs"] == [label for label, _ in e.runs] and f["tensors"] == [label for label, _ in e.layers]
    assert (f["run"], f["tensor"], f["epoch"]) == (2, 1, 2)
    nonzero = sum(int((h > 0).sum()) for k in r.hists for h in r.hists[k]["hists"].values())
    assert len(f["hist"]) == nonzero  # one row per nonzero bin of every run, parameter and epoch
    spec = ch04_explore.histogram_chart(f).to_dict()
    assert _values(spec, {"run", "tensor", "epoch", "bin", "density"}) == [explore.records(f["hist"])]


def test_chapter_4_curves_explorer_has_every_width_seed_and_quantity():
    r, _, names = _mlp_results()
    frame = ch04_explore.curves_frame(r, names)
    assert set(frame["quantity"]) == set(ch04_explore.QUANTITIES.values())
    assert len(frame) == len(r.curves) * len(ch04_explore.QUANTITIES)
    gap = frame[frame["quantity"] == "gap"].sort_values(["width", "seed", "epoch"])
    assert np.allclose(gap["value"], (r.curves["train_acc"] - r.curves["test_acc"]).to_numpy())
    spec = ch04_explore.curves_chart(frame, [16, 32], [0, 1]).to_dict()
    assert _values(spec, set(frame.columns)) == [explore.records(frame)]
    p = _params(spec)
    assert p["quantity"]["bind"]["options"] == list(ch04_explore.QUANTITIES.values())
    assert p["quantity"]["bind"]["labels"] == list(ch04_explore.QUANTITIES)
    assert p["seed"]["bind"]["options"] == [-1, 0, 1]
    thin = ch04_explore.curves_frame(r, names, budget=len(frame) // 2)  # past the budget: every k-th epoch
    assert set(thin["epoch"]) == {0, 2} and len(thin) == len(frame) * 2 // 3


def test_the_diff_spread_of_a_histogram_is_its_binned_standard_deviation():
    counts = np.zeros((1, 50))
    counts[0, [20, 29]] = 5  # half at centre -0.18, half at +0.18
    assert ch04_explore.diff_std({"w": counts}, EDGES, ["w"])[0] == pytest.approx(0.18)


def test_chapter_2_explorer_has_every_run_and_seed_with_floor_and_debiased_toggles():
    def run(scale):
        return SimpleNamespace(metrics=pd.DataFrame({"epoch": [0, 1, 2], "coherence": [0.02 * scale, 0.03, 0.04]}))
    cfg = SimpleNamespace(data=SimpleNamespace(n_train=1000), stats=SimpleNamespace(max_samples=100))
    s = SimpleNamespace(archs={"cnn": "resnet_small"}, seeds=(0, 1), params=SimpleNamespace(seed=0),
                        configs={("cnn", 0): {"real": cfg}, ("cnn", 1): {"real": cfg}})
    r = SimpleNamespace(runs={"cnn": {sd: {k: run(sd + 1) for k in ("real", "gaussian", "real_then_gaussian")}
                                      for sd in (0, 1)}})
    df = ch02_explore.frame(s, r)
    assert len(df) == 2 * 3 * 3 and set(df["n"]) == {100} and df["run"].nunique() == 3
    spec = ch02_explore.chart(df, ["resnet_small"], [0, 1]).to_dict()
    assert _values(spec, set(df.columns)) == [explore.records(df)]
    p = _params(spec)
    assert p["floor"]["bind"]["input"] == "checkbox" and p["floor"]["value"] is True
    assert p["debiased"]["bind"]["input"] == "checkbox" and p["debiased"]["value"] is False
    assert p["model"]["bind"]["options"] == ["resnet_small"] and p["seed"]["bind"]["options"] == [-1, 0, 1]


def test_chapter_5_explorer_has_both_sweeps_every_scope_method_and_seed():
    rows = [{"scope": sc, "method": m, "seed": sd, "train_acc": 0.9, "test_acc": 0.5 + 0.01 * sd, "gap": 0.4 - 0.01 * sd}
            for sc in ("global", "layer") for m in ("none", "random", "magnitude", "diff") for sd in (0, 1)]
    r = SimpleNamespace(final=pd.DataFrame([{**row, "width": w} for row in rows for w in (16, 32)]),
                        scaling=pd.DataFrame([{**row, "ratio": q} for row in rows for q in (1.0, 4.0)]))
    df = ch05_explore.frame(r)
    assert len(df) == (len(r.final) + len(r.scaling)) * len(ch05_explore.QUANTITIES)
    assert set(df["sweep"]) == set(ch05_explore.SWEEPS) and set(df["method"]) == {"none", "random", "magnitude", "diff"}
    colors = {m: "#000000" for m in ("none", "random", "magnitude", "diff")}
    spec = ch05_explore.chart(df, {"global": "global ranking", "layer": "per layer"}, list(colors), colors, [0, 1]).to_dict()
    assert _values(spec, set(df.columns)) == [explore.records(df)]
    p = _params(spec)
    assert p["scope"]["bind"]["options"] == ["global", "layer"] and p["sweep"]["bind"]["options"] == list(ch05_explore.SWEEPS)
    assert p["quantity"]["bind"]["options"] == list(ch05_explore.QUANTITIES) and p["seed"]["bind"]["options"] == [-1, 0, 1]


def _mask_frames():
    lay = pd.DataFrame([{"method": m, "seed": sd, "layer": f"t{i}", "depth": i, "fraction_kept": 0.1 * (i + 1)}
                        for m in ("magnitude", "diff", "random") for sd in (0, 1) for i in range(3)])
    res = pd.DataFrame([{"method": m, "seed": sd, "test_acc": 0.5 + 0.1 * sd, "train_acc": 0.9}
                        for m in ("none", "magnitude", "diff", "random") for sd in (0, 1)])
    return lay, res


def test_chapter_6_explorer_has_every_model_scope_mask_and_seed():
    lay, res = _mask_frames()
    s = SimpleNamespace(archs={"resnet": "resnet_small", "vit": "vit_tiny"})
    r = SimpleNamespace(tables={(f, sc): (res, lay) for f in ("resnet", "vit") for sc in ("global", "layer")})
    layers, acc = ch06_explore.frames(s, r)
    assert len(layers) == 4 * len(lay) and len(acc) == 4 * len(res)
    assert set(acc["model"]) == {"resnet_small", "vit_tiny"} and set(acc["scope"]) == {"global", "layer"}
    spec = explore.pruning_explorer(layers, acc, models=["resnet_small", "vit_tiny"], scopes=["global", "layer"],
                                    seeds=[0, 1]).to_dict()
    assert _values(spec, set(layers.columns)) == [explore.records(layers)]
    assert _values(spec, set(acc.columns)) == [explore.records(acc)]
    p = _params(spec)
    assert p["model"]["bind"]["options"] == ["resnet_small", "vit_tiny"]
    assert p["scope"]["bind"]["options"] == ["global", "layer"] and p["seed"]["bind"]["options"] == [-1, 0, 1]


def test_chapter_9_explorer_has_every_model_variant_and_seed():
    lay, res = _mask_frames()
    r = SimpleNamespace(layers=pd.concat([lay.assign(family=f, group="g", size=10, kept=1) for f in ("mlp", "vit")]),
                        acc=pd.concat([res.rename(columns={"method": "variant"}).assign(family=f) for f in ("mlp", "vit")]))
    layers, acc = ch09_explore.frames(r)
    assert list(layers.columns) == ["model", "method", "seed", "layer", "depth", "fraction_kept"] and len(layers) == 2 * len(lay)
    assert list(acc.columns) == ["model", "method", "seed", "test_acc"] and set(acc["method"]) == set(res["method"])
    spec = explore.pruning_explorer(layers, acc, models=["mlp", "vit"], seeds=[0, 1]).to_dict()
    assert _values(spec, set(acc.columns)) == [explore.records(acc)] and "scope" not in _params(spec)


def test_chapter_8_explorer_has_every_model_width_epoch_and_tensor():
    rows = [{"family": f, "data": d, "seed": sd, "which": w, "tensor": t, "significant": 0.2, "width": float("nan")}
            for f, ts in (("cnn", ["conv1.weight", "fc.weight"]), ("mlp", ["1.weight", "3.weight"]))
            for d in ("real", "gaussian") for sd in (0, 1) for w in ("max", "min") for t in [*ts, "all"]]
    rows += [{"family": "mlp_sweep", "data": "real", "seed": sd, "which": w, "tensor": t, "significant": 0.3, "width": wd}
             for wd in (32.0, 16.0) for sd in (0, 1) for w in ("max", "min") for t in ("1.weight", "3.weight")]
    df = ch08_explore.frame(pd.DataFrame(rows))
    assert "all" not in set(df["tensor"]) and len(df) == len(rows) - 16
    assert set(df["series"]) == {"real", "gaussian", "width 16", "width 32"}
    assert set(df.loc[df["model"] == "MLP", "tensor"]) == {"input", "hidden 1"}
    assert sorted(df.loc[(df["model"] == "ResNet") & (df["seed"] == 0) & (df["series"] == "real")
                         & (df["epoch"] == "highest coherence"), "position"]) == [0, 1]
    spec = ch08_explore.chart(df, [0, 1], 0.05).to_dict()
    assert _values(spec, set(df.columns)) == [explore.records(df)]
    p = _params(spec)
    assert p["model"]["bind"]["options"] == ["ResNet", "MLP", ch08_explore.MODELS["mlp_sweep"]]
    assert p["epoch"]["bind"]["options"] == list(ch08_explore.EPOCHS.values())


# ---- in the browser --------------------------------------------------------------------------------------
def _page(root, chart, name="t"):
    (root / "chapters").mkdir(parents=True, exist_ok=True)
    shutil.copytree(explore.VENDOR, root / "vendor", dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns("mathjax", "html-manager"))
    head = "".join(f'<script src="../vendor/{f}"></script>' for f in explore.VEGA_SCRIPTS)
    (root / "chapters" / f"{name}.html").write_text(
        f'<!doctype html><html><head><meta charset="utf-8">{head}<script src="../vendor/requirejs/require.js">'
        f"</script></head><body>{explore.html(chart, name)}</body></html>")


@needs_chromium
@needs_vega
def test_every_control_changes_the_drawing_even_with_require_js_loaded(tmp_path):
    f = _diff_frames()
    _page(tmp_path, explore.diff_explorer(f["hist"], f["null"], f["coh"], edges=EDGES, runs=["x", "y"],
                                          tensors=["a", "b", "c"]))
    n, controls, problems = explorers.check(rendered.find_chromium(), tmp_path)
    assert (n, controls, problems) == (1, 3, [])


@needs_chromium
@needs_vega
def test_a_control_that_changes_nothing_and_a_console_error_are_reported(tmp_path):
    import altair as alt

    idle = alt.param(name="idle", value=1, bind=alt.binding_select(options=[1, 2], name="idle "))
    chart = alt.Chart(explore.data(pd.DataFrame({"x": [1, 2]}))).mark_point().encode(x="x:Q").add_params(idle)
    _page(tmp_path, chart)
    page = tmp_path / "chapters" / "t.html"
    page.write_text(page.read_text().replace("</body>", "<script>console.error('broken')</script></body>"))
    n, controls, problems = explorers.check(rendered.find_chromium(), tmp_path)
    assert n == 1 and controls == 1
    assert any("control 'idle'" in p and "left the drawing as it was" in p for p in problems), problems
    assert any("console.error: broken" in p for p in problems), problems


@needs_chromium
@needs_vega
def test_in_a_live_notebook_the_explorer_loads_vega_through_the_jupyter_files_route(tmp_path, monkeypatch):
    """As a Jupyter server lays it out: the page at <base>/lab/tree/chapters/<notebook>, the repository's files
    at <base>/files/...; no Vega in the head, require.js loaded (as in the classic notebook)."""
    repo = tmp_path / "files"
    shutil.copytree(explore.VENDOR, repo / "_static_offline" / "vendor", ignore=shutil.ignore_patterns("mathjax", "html-manager"))
    (repo / "chapters").mkdir()
    monkeypatch.setattr(explore, "VENDOR", repo / "_static_offline" / "vendor")
    monkeypatch.chdir(repo / "chapters")  # the kernel's folder: the notebook's
    f = _diff_frames()
    body = explore.html(explore.diff_explorer(f["hist"], f["null"], f["coh"], edges=EDGES, runs=["x", "y"],
                                              tensors=["a", "b", "c"]), "live")
    page = tmp_path / "lab" / "tree" / "chapters" / "t.html"
    page.parent.mkdir(parents=True)
    require = (repo / "_static_offline" / "vendor" / "requirejs" / "require.js").as_uri()
    page.write_text(f'<!doctype html><html><head><meta charset="utf-8"><script src="{require}"></script></head>'
                    f"<body>{body}</body></html>")
    n, controls, problems = explorers.check(rendered.find_chromium(), tmp_path, ["lab/tree/chapters/t.html"])
    assert (n, controls, problems) == (1, 3, [])


@needs_chromium
def test_every_explorer_of_the_built_book_answers_its_controls():
    from lib.book import status

    if status.last_build()["state"] == "building":
        pytest.skip("a build is writing _build/html now (its own check exercises the explorers)")
    pages_ = explorers.explorer_pages(layout.HTML) if layout.HTML.is_dir() else []
    if not pages_:
        pytest.skip("no built page with an explorer (build the book: scripts/build_book.py --profile smoke)")
    n, controls, problems = explorers.check(rendered.find_chromium(), layout.HTML, pages_)
    assert problems == [] and n >= 1 and controls >= 2 * n
