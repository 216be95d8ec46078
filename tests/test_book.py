"""Fast tests of scripts/build_book.py's pure functions and of the chapter skeletons.

No notebook is executed and no book is built here (CI runs the build separately).
"""
from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

ROOT = Path(__file__).resolve().parent.parent


def _load_build_book():
    spec = importlib.util.spec_from_file_location("build_book", ROOT / "scripts" / "build_book.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules["build_book"] = mod
    spec.loader.exec_module(mod)
    return mod


bb = _load_build_book()

PNG = "iVBORw0KGgo="  # content is never decoded


def figure_output():
    return new_output("display_data", data={"image/png": PNG, "text/plain": "<Figure>"})


def caption_output(text="Profile `smoke`, mlp width 64, 512 examples, 2 epochs, seed 0."):
    return new_output("display_data", data={"text/markdown": text, "text/plain": text})


def notebook(*cells):
    nb = new_notebook()
    nb.cells = list(cells)
    return nb


# ---- parameter parsing ---------------------------------------------------------------------

@pytest.mark.parametrize("text, value", [
    ("3", 3), ("0.05", 0.05), ("None", None), ("True", True), ("[64, 128]", [64, 128]),
    ("'resnet50'", "resnet50"), ("resnet50", "resnet50"), ("{'a': 1}", {"a": 1}),
    ("1e-4", 1e-4), ("not a literal(", "not a literal("), ("", ""),
])
def test_parse_value(text, value):
    assert bb.parse_value(text) == value


@pytest.mark.parametrize("text", ["2", "02", "02_coherence", "chapters/02_coherence.ipynb"])
def test_chapter_key(text):
    assert bb.chapter_key(text) == "02"


@pytest.mark.parametrize("text", ["01", "8", "intro"])
def test_chapter_key_rejects_unknown(text):
    with pytest.raises(bb.BuildError):
        bb.chapter_key(text)


DECLARED = {
    "04": {"profile": "cpu", "seed": 0, "widths": None, "epochs": None},
    "05": {"profile": "cpu", "seed": 0, "widths": None, "ratios": None, "density": 0.1},
    "06": {"profile": "cpu", "seed": 0, "arch": None, "density": 0.1},
}


def test_route_params_sends_each_name_where_it_is_declared():
    routed = bb.route_params([("widths", "[64, 128]"), ("seed", "3"), ("arch", "vit")], DECLARED)
    assert routed == {
        "04": {"widths": [64, 128], "seed": 3},
        "05": {"widths": [64, 128], "seed": 3},
        "06": {"seed": 3, "arch": "vit"},
    }


def test_route_params_chapter_prefix_targets_one_chapter():
    routed = bb.route_params([("05:density", "0.05")], DECLARED)
    assert routed == {"04": {}, "05": {"density": 0.05}, "06": {}}


@pytest.mark.parametrize("pairs", [
    [("widthz", "[1]")],       # declared nowhere
    [("04:density", "0.1")],   # chapter 04 has no density
    [("02:seed", "1")],        # chapter 02 is not being executed
    [("profile", "paper")],    # must use --profile
])
def test_route_params_rejects(pairs):
    with pytest.raises(bb.BuildError):
        bb.route_params(pairs, DECLARED)


def test_notebook_parameters_reads_literals_and_rejects_code():
    nb = notebook(new_code_cell('profile = "cpu"\nseed = 0\nwidths = None\ndensity = 0.1',
                                metadata={"tags": ["parameters"]}))
    assert bb.notebook_parameters(nb) == {"profile": "cpu", "seed": 0, "widths": None, "density": 0.1}
    bad = notebook(new_code_cell("import os\nseed = 0", metadata={"tags": ["parameters"]}))
    with pytest.raises(bb.BuildError):
        bb.notebook_parameters(bad)
    with pytest.raises(bb.BuildError):
        bb.notebook_parameters(notebook(new_code_cell("seed = 0")))  # untagged


# ---- figure / table / error counting -------------------------------------------------------

def test_count_notebook_counts_figures_tables_and_errors():
    nb = notebook(
        new_markdown_cell("| a | b |\n|---|---|\n| 1 | 2 |"),
        new_code_cell("plot()", outputs=[figure_output(), caption_output()]),
        new_code_cell("df", outputs=[new_output("execute_result", execution_count=1,
                                                data={"text/html": "<table class='dataframe'></table>"})]),
        new_code_cell("boom()", outputs=[new_output("error", ename="ValueError", evalue="bad", traceback=[])]),
    )
    counts = bb.count_notebook(nb)
    assert counts["figures"] == 1
    assert counts["tables"] == 2
    assert counts["uncaptioned"] == 0
    assert counts["errors"] == ["cell 3: ValueError: bad"]


def test_uncaptioned_figure_is_counted():
    nb = notebook(new_code_cell("plot()", outputs=[figure_output()]))
    assert bb.count_notebook(nb)["uncaptioned"] == 1


def test_check_flags_too_few_figures():
    nb = notebook(*(new_code_cell("plot()", outputs=[figure_output(), caption_output()]) for _ in range(3)))
    counts = bb.count_notebook(nb)
    html = bb.count_html('<img src="../_images/a.png"><img src="../_images/b.png"><img src="logo.png">')
    problems = bb.check_chapter("02", counts, html, bb.MIN_OUTPUTS["02"])
    assert any("executed notebook has 3 figures" in p for p in problems)
    assert any("HTML page has 2 figures" in p for p in problems)  # logo.png is not a figure
    assert bb.check_chapter("02", counts, html, bb.MIN_OUTPUTS["02"], figure_check=False) == []


def test_check_flags_error_output_even_without_figure_check():
    nb = notebook(*(new_code_cell("plot()", outputs=[figure_output()]) for _ in range(4)),
                  new_code_cell("x", outputs=[new_output("error", ename="KeyError", evalue="'x'", traceback=[])]))
    counts = bb.count_notebook(nb)
    html = bb.count_html("".join(f'<img src="_images/{i}.png">' for i in range(4)))
    for figure_check in (True, False):
        problems = bb.check_chapter("02", counts, html, bb.MIN_OUTPUTS["02"], figure_check=figure_check)
        assert problems == ["chapter 02: error output in executed notebook, cell 4: KeyError: 'x'"]


def test_check_tables_for_chapter_06():
    nb = notebook(*(new_code_cell("plot()", outputs=[figure_output(), caption_output()]) for _ in range(2)),
                  new_code_cell("t", outputs=[caption_output("| m | acc |\n|---|---|\n| x | 1 |")]))
    counts = bb.count_notebook(nb)
    html = bb.count_html('<img src="_images/a.png"><img src="_images/b.png"><table></table>')
    problems = bb.check_chapter("06", counts, html, bb.MIN_OUTPUTS["06"])
    assert problems == ["chapter 06: executed notebook has 1 tables, needs >= 4",
                        "chapter 06: HTML page has 1 tables, needs >= 4"]


def test_count_html_collects_assets():
    c = bb.count_html('<script src="_static/a.js?v=1"></script><link rel="stylesheet" href="b.css">'
                      '<script>inline()</script><link rel="icon" href="x.ico">')
    assert c["scripts"] == ["_static/a.js?v=1"] and c["styles"] == ["b.css"]


def test_min_outputs_cover_every_chapter():
    assert set(bb.MIN_OUTPUTS) == set(bb.CHAPTERS)


# ---- status page ---------------------------------------------------------------------------

def test_status_markdown_table():
    records = {
        "02": {"profile": "smoke", "seconds": 12.34, "date": "2026-01-01 10:00", "result": "ok",
               "parameters": {"profile": "smoke", "epochs": 2}, "source_sha": "aaa", "machine": "m"},
        "03": {"profile": "cpu", "seconds": 5.0, "date": "2026-01-01 10:01", "result": "ok",
               "parameters": {"profile": "cpu"}, "source_sha": "old", "machine": "m"},
        "04": {"profile": "smoke", "seconds": None, "date": "2026-01-01 10:02", "result": "failed",
               "parameters": {"profile": "smoke"}, "source_sha": "ccc", "machine": "m"},
    }
    sha = {"02": "aaa", "03": "new", "04": "ccc"}
    md = bb.status_markdown(records, {"02": {"profile": "cpu", "epochs": None}}, sha, "now")
    rows = {line.split("|")[1].strip(): [c.strip() for c in line.split("|")[2:-1]]
            for line in md.splitlines() if line.startswith("| [")}
    assert rows["[02_coherence](chapters/02_coherence.ipynb)"][:5] == ["smoke", "12.3", "2026-01-01 10:00", "ok", "`epochs=2`"]
    assert rows["[03_diffs](chapters/03_diffs.ipynb)"][3] == "stale"
    assert rows["[04_width](chapters/04_width.ipynb)"][1:4] == ["–", "2026-01-01 10:02", "failed"]
    assert rows["[07_conclusions](chapters/07_conclusions.ipynb)"][3] == "not run"
    assert "Total execution time of the chapters shown: 17.3 s." in md
    assert "Mixed profiles" in md
    assert "| 02 | `epochs` | `None` |" in md


# ---- the chapter skeletons -----------------------------------------------------------------

@pytest.mark.parametrize("stem", list(bb.CHAPTERS.values()))
def test_chapter_notebook_shape(stem):
    path = ROOT / "chapters" / f"{stem}.ipynb"
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata.kernelspec.name == "python3"
    assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# ")
    params = bb.notebook_parameters(nb)
    assert params["profile"] == "cpu" and params["seed"] == 0
    for cell in nb.cells:  # stored without outputs
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, f"{stem}: clear outputs before committing"


def test_reproduce_page_lists_every_parameter():
    """reproduce.md's parameter table must name every knob each chapter declares."""
    text = (ROOT / "reproduce.md").read_text()
    for key, stem in bb.CHAPTERS.items():
        row = next((l for l in text.splitlines() if l.startswith(f"| {key} |")), None)
        assert row is not None, f"reproduce.md has no row for chapter {key}"
        nb = nbformat.read(ROOT / "chapters" / f"{stem}.ipynb", as_version=4)
        documented = set(re.findall(r"`(\w+)`", row))
        missing = set(bb.notebook_parameters(nb)) - {"profile"} - documented
        assert not missing, f"reproduce.md, chapter {key}: document {sorted(missing)}"


def test_toc_lists_every_chapter_and_page():
    import yaml

    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [c["file"] for part in toc["parts"] for c in part["chapters"]]
    assert files == [f"chapters/{s}" for s in bb.CHAPTERS.values()] + ["reproduce", "status"]
    assert toc["root"] == "intro"
    cfg = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert cfg["execute"]["execute_notebooks"] == "off"


def test_fold_code_hides_every_code_cell_but_the_parameters(tmp_path):
    nb = new_notebook(cells=[
        new_markdown_cell("# title"),
        new_code_cell("profile = 'cpu'", metadata={"tags": ["parameters"]}),
        new_code_cell("profile = 'smoke'", metadata={"tags": ["injected-parameters"]}),
        new_code_cell("x = 1"),
        new_code_cell("y = 2", metadata={"tags": ["show-input"]}),
        new_code_cell("z = 3", metadata={"tags": ["hide-input"]}),
    ])
    path = tmp_path / "c.ipynb"
    nbformat.write(nb, path)
    assert bb.fold_code(path) == 1
    tags = [c.metadata.get("tags", []) for c in nbformat.read(path, as_version=4).cells]
    assert tags == [[], ["parameters"], ["injected-parameters"], ["hide-input"], ["show-input"], ["hide-input"]]
    assert bb.fold_code(path) == 0  # idempotent


def test_verdict_table_shows_full_text():
    from lib import verdicts

    long = "a claim whose text is much longer than pandas' fifty-character column limit, to the end"
    v = verdicts.Verdict("x-1", "05", "claim", long, "ours " + long, "tie", "Figure 5.1")
    html = verdicts.table([v]).to_html()
    assert long in html and "ours " + long in html and "..." not in html
    with pytest.raises(ValueError, match="by must be one of"):
        verdicts.table([v], by="thesis")


def test_training_rows_count_own_cached_and_shared_runs(run_cache):
    import json

    from lib import cluster, paths, runs

    records = {k: {"parameters": {"profile": "smoke"}} for k in ("02", "03", "04")}
    rows = bb.training_rows(records)
    assert rows[0].startswith("| 02_coherence | 12 | 0 | – |")  # 2 archs x 2 seeds x 3 runs, none cached
    assert rows[1] == "| 03_diffs | 0 | 0 | – | 4 |"  # chapter 3 reuses chapter 2's runs
    # a cached run with a recorded time, and one without
    cfgs = [c for st in cluster.chapter_stages("04", profile="smoke") for c in st]
    for cfg, info in zip(cfgs[:2], ({"train_seconds": 90.0}, None)):
        d = paths.run_dir(runs.config_hash(cfg))
        d.mkdir(parents=True)
        (d / "metrics.csv").write_text("epoch\n0\n")
        if info:
            (d / "info.json").write_text(json.dumps(info))
    assert bb.training_rows(records)[2] == "| 04_width | 4 | 2 | 1.5 min (+1 runs without a recorded time) | – |"
    md = bb.status_markdown(records, {}, {}, "now", bb.training_rows(records))
    assert "## Training behind each chapter" in md and "| 04_width | 4 | 2 |" in md


def test_plan_problems_flags_planned_runs_the_notebook_did_not_train(run_cache):
    from lib import cluster, paths, runs

    records = {"04": {"result": "ok", "parameters": {"profile": "smoke"}},
               "05": {"result": "failed", "parameters": {"profile": "smoke"}}}
    problems = bb.plan_problems(["04", "05"], records)
    assert len(problems) == 1 and problems[0].startswith("chapter 04: 4 of the 4 runs")  # failed 05 not judged
    for st in cluster.chapter_stages("04", profile="smoke"):
        for cfg in st:
            d = paths.run_dir(runs.config_hash(cfg))
            d.mkdir(parents=True)
            (d / "metrics.csv").write_text("epoch\n0\n")
    assert bb.plan_problems(["04"], records) == []
