"""Fast tests of the book build (:mod:`lib.book`, behind scripts/build_book.py) and of the chapter skeletons.

No notebook is executed and no book is built here (CI runs the build separately); the progress
tests train two tiny MLPs on Gaussian data.
"""
from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from lib.book import checks, execute, progress, status
from lib.book.layout import BuildError
from lib.book.params import chapter_key, notebook_parameters, parse_value, route_params
from lib.chapters import registry
from lib.plan import Plan, Planned, configs, from_configs

ROOT = Path(__file__).resolve().parent.parent
STEMS = [c.stem for c in registry.CHAPTERS]

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
    assert parse_value(text) == value


@pytest.mark.parametrize("text", ["2", "02", "02_coherence", "chapters/02_coherence.ipynb"])
def test_chapter_key(text):
    assert chapter_key(text) == "02"


@pytest.mark.parametrize("text", ["01", "11", "intro"])
def test_chapter_key_rejects_unknown(text):
    with pytest.raises(BuildError):
        chapter_key(text)


DECLARED = {
    "04": {"profile": "cpu", "seed": 0, "widths": None, "epochs": None},
    "05": {"profile": "cpu", "seed": 0, "widths": None, "ratios": None, "density": 0.1},
    "06": {"profile": "cpu", "seed": 0, "arch": None, "density": 0.1},
}


def test_route_params_sends_each_name_where_it_is_declared():
    routed = route_params([("widths", "[64, 128]"), ("seed", "3"), ("arch", "vit")], DECLARED)
    assert routed == {
        "04": {"widths": [64, 128], "seed": 3},
        "05": {"widths": [64, 128], "seed": 3},
        "06": {"seed": 3, "arch": "vit"},
    }


def test_route_params_chapter_prefix_targets_one_chapter():
    routed = route_params([("05:density", "0.05")], DECLARED)
    assert routed == {"04": {}, "05": {"density": 0.05}, "06": {}}


@pytest.mark.parametrize("pairs", [
    [("widthz", "[1]")],       # declared nowhere
    [("04:density", "0.1")],   # chapter 04 has no density
    [("02:seed", "1")],        # chapter 02 is not being executed
    [("profile", "paper")],    # must use --profile
])
def test_route_params_rejects(pairs):
    with pytest.raises(BuildError):
        route_params(pairs, DECLARED)


def test_notebook_parameters_reads_literals_and_rejects_code():
    nb = notebook(new_code_cell('profile = "cpu"\nseed = 0\nwidths = None\ndensity = 0.1',
                                metadata={"tags": ["parameters"]}))
    assert notebook_parameters(nb) == {"profile": "cpu", "seed": 0, "widths": None, "density": 0.1}
    bad = notebook(new_code_cell("import os\nseed = 0", metadata={"tags": ["parameters"]}))
    with pytest.raises(BuildError):
        notebook_parameters(bad)
    with pytest.raises(BuildError):
        notebook_parameters(notebook(new_code_cell("seed = 0")))  # untagged


# ---- figure / table / error counting -------------------------------------------------------

def test_count_notebook_counts_figures_tables_and_errors():
    nb = notebook(
        new_markdown_cell("| a | b |\n|---|---|\n| 1 | 2 |"),
        new_code_cell("plot()", outputs=[figure_output(), caption_output()]),
        new_code_cell("df", outputs=[new_output("execute_result", execution_count=1,
                                                data={"text/html": "<table class='dataframe'></table>"})]),
        new_code_cell("boom()", outputs=[new_output("error", ename="ValueError", evalue="bad", traceback=[])]),
    )
    counts = checks.count_notebook(nb)
    assert counts["figures"] == 1
    assert counts["tables"] == 2
    assert counts["uncaptioned"] == 0
    assert counts["errors"] == ["cell 3: ValueError: bad"]


def test_uncaptioned_figure_is_counted():
    nb = notebook(new_code_cell("plot()", outputs=[figure_output()]))
    assert checks.count_notebook(nb)["uncaptioned"] == 1


def test_check_flags_too_few_figures():
    nb = notebook(*(new_code_cell("plot()", outputs=[figure_output(), caption_output()]) for _ in range(3)))
    counts = checks.count_notebook(nb)
    html = checks.count_html('<img src="../_images/a.png"><img src="../_images/b.png"><img src="logo.png">')
    problems = checks.check_chapter(registry.get("02"), counts, html)
    assert any("executed notebook has 3 figures" in p for p in problems)
    assert any("HTML page has 2 figures" in p for p in problems)  # logo.png is not a figure
    assert checks.check_chapter(registry.get("02"), counts, html, figure_check=False) == []


def test_check_flags_error_output_even_without_figure_check():
    nb = notebook(*(new_code_cell("plot()", outputs=[figure_output()]) for _ in range(4)),
                  new_code_cell("x", outputs=[new_output("error", ename="KeyError", evalue="'x'", traceback=[])]))
    counts = checks.count_notebook(nb)
    html = checks.count_html("".join(f'<img src="_images/{i}.png">' for i in range(4)))
    for figure_check in (True, False):
        problems = checks.check_chapter(registry.get("02"), counts, html, figure_check=figure_check)
        assert problems == ["chapter 02: error output in executed notebook, cell 4: KeyError: 'x'"]


def test_check_tables_for_chapter_06():
    nb = notebook(*(new_code_cell("plot()", outputs=[figure_output(), caption_output()]) for _ in range(2)),
                  new_code_cell("t", outputs=[caption_output("| m | acc |\n|---|---|\n| x | 1 |")]))
    counts = checks.count_notebook(nb)
    html = checks.count_html('<img src="_images/a.png"><img src="_images/b.png"><table></table>')
    problems = checks.check_chapter(registry.get("06"), counts, html)
    assert problems == ["chapter 06: executed notebook has 1 tables, needs >= 4",
                        "chapter 06: HTML page has 1 tables, needs >= 4"]


def test_count_html_collects_assets():
    c = checks.count_html('<script src="_static/a.js?v=1"></script><link rel="stylesheet" href="b.css">'
                      '<script>inline()</script><link rel="icon" href="x.ico">')
    assert c["scripts"] == ["_static/a.js?v=1"] and c["styles"] == ["b.css"]


def test_min_outputs_cover_every_chapter():
    assert [c.key for c in registry.CHAPTERS] == ["02", "03", "04", "05", "06", "07", "08", "09", "10"]
    # chapter 7 gathers the others' verdicts, so it executes last, wherever it sits in the book
    assert registry.EXECUTION == ("02", "03", "04", "05", "06", "08", "09", "10", "07")
    assert [c.key for c in registry.CHAPTERS if c.text] == ["10"]  # the one chapter that needs the corpus
    assert all(isinstance(c.figures, int) and isinstance(c.tables, int) for c in registry.CHAPTERS)


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
    md = status.status_markdown(records, {"02": {"profile": "cpu", "epochs": None}}, sha, "now")
    rows = {line.split("](")[1].split(")")[0]: [c.strip() for c in line.split("|")[2:-1]]
            for line in md.splitlines() if line.startswith("| [")}
    # in this build | profile | time | runs trained | runs found | executed | result | parameters set
    assert rows["chapters/02_coherence.ipynb"] == ["executed", "smoke", "12.3 s", "–", "–", "2026-01-01 10:00", "ok",
                                                   "`epochs=2`"]
    assert rows["chapters/03_diffs.ipynb"][6].startswith("stale")
    assert rows["chapters/04_width.ipynb"][2:7] == ["–", "–", "–", "2026-01-01 10:02", "failed"]
    assert rows["chapters/07_conclusions.ipynb"][0].startswith("not run")
    assert "in all 17.3 s." in md
    assert "Mixed profiles" in md
    assert "| 02 | `epochs` | `None` |" in md


# ---- the chapter skeletons -----------------------------------------------------------------

@pytest.mark.parametrize("stem", STEMS)
def test_chapter_notebook_shape(stem):
    path = ROOT / "chapters" / f"{stem}.ipynb"
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata.kernelspec.name == "python3"
    assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# ")
    params = notebook_parameters(nb)
    assert params["profile"] == "cpu" and params["seed"] == 0
    for cell in nb.cells:  # stored without outputs
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, f"{stem}: clear outputs before committing"


def test_reproduce_page_lists_every_parameter():
    """reproduce.md's parameter table must name every knob each chapter declares."""
    text = (ROOT / "reproduce.md").read_text()
    for key, stem in ((c.key, c.stem) for c in registry.CHAPTERS):
        row = next((l for l in text.splitlines() if l.startswith(f"| {key} |")), None)
        assert row is not None, f"reproduce.md has no row for chapter {key}"
        nb = nbformat.read(ROOT / "chapters" / f"{stem}.ipynb", as_version=4)
        documented = set(re.findall(r"`(\w+)`", row))
        missing = set(notebook_parameters(nb)) - {"profile"} - documented
        assert not missing, f"reproduce.md, chapter {key}: document {sorted(missing)}"


def test_toc_lists_every_chapter_and_page():
    import yaml

    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [c["file"] for part in toc["parts"] for c in part["chapters"]]
    assert files == [f"chapters/{s}" for s in STEMS] + ["reproduce", "references", "status"]
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
    assert execute.fold_code(path) == 1
    tags = [c.metadata.get("tags", []) for c in nbformat.read(path, as_version=4).cells]
    assert tags == [[], ["parameters"], ["injected-parameters"], ["hide-input"], ["show-input"], ["hide-input"]]
    assert execute.fold_code(path) == 0  # idempotent


def test_one_parameters_table_replaces_both_parameters_cells(tmp_path):
    nb = new_notebook(cells=[
        new_markdown_cell("# title"),
        new_code_cell("profile = 'cpu'\nseed = 0\nwidths = None", metadata={"tags": ["parameters"]}),
        new_code_cell("# Parameters\nprofile = \"smoke\"\nseed = 0\n", metadata={"tags": ["injected-parameters"]}),
        new_code_cell("x = 1"),
    ])
    path = tmp_path / "c.ipynb"
    nbformat.write(nb, path)
    assert execute.show_parameters(path)
    cells = nbformat.read(path, as_version=4).cells
    assert [c.cell_type for c in cells] == ["markdown", "markdown", "code", "code", "code"]
    table = cells[1].source
    assert "| `profile` | `'smoke'` | `'cpu'` |" in table and "| `seed` | `0` |  |" in table
    assert "| `widths` | the profile's |  |" in table
    assert all("remove-cell" in c.metadata["tags"] for c in cells[2:4]) and "remove-cell" not in cells[4].metadata.get("tags", [])
    assert not execute.show_parameters(path)  # idempotent: one table, nothing new
    assert sum(execute.PARAMETERS_TABLE_TAG in c.metadata.get("tags", []) for c in nbformat.read(path, as_version=4).cells) == 1
    plain = tmp_path / "p.ipynb"
    nbformat.write(new_notebook(cells=[new_code_cell("x = 1")]), plain)
    assert not execute.show_parameters(plain)


def test_verdict_table_shows_full_text():
    from lib.chapters import verdicts

    long = "a claim whose text is much longer than pandas' fifty-character column limit, to the end"
    v = verdicts.Verdict("x-1", "05", "claim", long, "ours " + long, "inconclusive", "Figure 5.1")
    html = verdicts.table([v]).to_html()
    assert long in html and "ours " + long in html and "..." not in html
    with pytest.raises(ValueError, match="by must be one of"):
        verdicts.table([v], by="thesis")


def _cache(cfg, info=None):
    """Put a finished-looking run for ``cfg`` in the run cache (metrics.csv, model.pt, config.json,
    optionally info.json, and the manifest the cache checks)."""
    import json

    from lib import paths, runs
    from lib.config import config_hash

    d = paths.run_dir(config_hash(cfg))
    d.mkdir(parents=True)
    (d / "metrics.csv").write_text("epoch\n0\n")
    (d / "model.pt").write_bytes(b"")
    (d / "config.json").write_text(json.dumps(runs.config_dict(cfg, non_default_only=False)))
    if info:
        (d / "info.json").write_text(json.dumps(info))
    runs.write_manifest(d)
    return d


@pytest.mark.usefixtures("stand_in_fingerprint")
def test_training_rows_count_own_cached_and_shared_runs(run_cache):
    records = {k: {"parameters": {"profile": "smoke"}} for k in ("02", "03", "04")}
    rows = status.training_rows(records)
    label = {c.key: f"{int(c.key)}. {c.title}" for c in registry.CHAPTERS}
    assert rows[0].startswith(f"| {label['02']} | 12 | 0 | – |")  # 2 archs x 2 seeds x 3 runs, none cached
    assert rows[1] == f"| {label['03']} | 0 | 0 | – | 8 |"  # chapter 3 reuses chapter 2's runs (every seed)
    # a cached run with a recorded time, and one without
    cfgs = configs(registry.plan("04", profile="smoke"))
    _cache(cfgs[0], {"train_seconds": 90.0})
    _cache(cfgs[1])
    assert status.training_rows(records)[2] == (f"| {label['04']} | 4 | 2 | 1.5 min (+1 runs without a recorded time) "
                                                "| 4 |")  # + chapter 2 real runs
    md = status.status_markdown(records, {}, {}, "now", status.training_rows(records))
    assert "## Training behind each chapter" in md and f"| {label['04']} | 4 | 2 |" in md


def test_training_rows_keep_a_failing_plan_to_one_short_cell(monkeypatch):
    # a chapter whose plan cannot be made (chapter 10 without its corpus: a long message over several lines)
    def fails(key, record):
        raise RuntimeError("The corpus was not found | here.\n\nTo fix it, either\n  1. fetch it" + " x" * 200)
    monkeypatch.setattr(status, "planned_runs", fails)
    rows = status.training_rows({"02": {"parameters": {"profile": "smoke"}}})
    assert len(rows) == 1 and "\n" not in rows[0] and "To fix it" not in rows[0]
    cell = rows[0].split(" | ")[-1]
    assert cell.startswith("? (RuntimeError: The corpus was not found \\| here.") and len(cell) <= 130


def test_run_kind_names_what_a_run_costs_by():
    from lib.config import MaskConfig, StatsConfig
    from lib.data import DataConfig
    from lib.models import ModelConfig
    from lib.config import TrainConfig
    from lib.plan import run_kind

    cfg = TrainConfig(data=DataConfig("cifar10", 5000, 1000), model=ModelConfig("mlp", width=1370, depth=3))
    assert run_kind(cfg) == "mlp w=1370"
    stats = StatsConfig(every=1, max_samples=256)
    assert run_kind(replace(cfg, stats=stats)) == "mlp w=1370, statistics every epoch on 256 samples"
    assert run_kind(replace(cfg, stats=StatsConfig(every=5))) == "mlp w=1370, statistics every 5 epochs on 5,000 samples"
    child = replace(cfg, mask=MaskConfig(parent=cfg, method="random", density=0.1))
    assert run_kind(child) == "mlp w=1370, masked child"
    vit = replace(cfg, data=DataConfig("gaussian", 1000, 100), model=ModelConfig("vit_tiny"))
    assert run_kind(vit) == "vit_tiny on gaussian"


@pytest.mark.usefixtures("stand_in_fingerprint")
def test_time_by_kind_sums_own_runs_per_kind_and_shares(run_cache):
    records = {k: {"parameters": {"profile": "smoke"}} for k in ("02", "03", "04")}
    cfgs = configs(registry.plan("04", profile="smoke"))
    _cache(cfgs[0], {"train_seconds": 90.0})
    _cache(cfgs[1], {"train_seconds": 30.0})
    rows = status.time_by_kind(records)
    assert {r["chapter"] for r in rows} == {"02", "04"}  # chapter 3 trains nothing of its own
    assert sum(r["runs"] for r in rows if r["chapter"] == "02") == 12
    mine = [r for r in rows if r["chapter"] == "04"]
    assert sum(r["runs"] for r in mine) == 4 and sum(r["timed"] for r in rows) == 2
    assert sum(r["minutes"] for r in rows) == pytest.approx(2.0)  # (90 + 30) s
    assert sum(r["share"] for r in rows) == pytest.approx(1.0)
    assert [r["minutes"] for r in mine] == sorted((r["minutes"] for r in mine), reverse=True)
    lines = status.kind_rows(rows, least=0.9)
    label = {c.key: f"{int(c.key)}. {c.title}" for c in registry.CHAPTERS}
    assert any(line.startswith(f"| {label['02']} | ") and "other kind" in line for line in lines)
    md = status.status_markdown(records, {}, {}, "now", kinds=lines)
    assert "## Where the training time goes" in md and lines[0] in md


def test_measured_builds_table_on_the_status_page(tmp_path):
    f = tmp_path / "book_times.json"
    assert status.measured_builds(f) == []  # no file, no section
    f.write_text(json.dumps({"builds": [
        {"label": "before", "date": "2026-12-02", "commit": "50c6f5e", "machine": "2 cores", "note": "quiet",
         "minutes": {"02": 8.04, "05": 28.5}, "total": 40.0},
        {"label": "after", "date": "2026-12-02", "commit": "c93cb61", "machine": "2 cores", "note": "quiet",
         "minutes": {"02": 5.0}, "total": 20.0}]}))
    lines = status.measured_builds(f)
    # the latest build only, its code version labelled as such; no history of the earlier ones
    assert lines[:3] == ["| measured (UTC date) | machine | code version | minutes in all |", "|---|---|---|---:|",
                         "| 2026-12-02 | 2 cores | `c93cb61` | **20.0** |"]
    assert "| training and notebook | 5.0 |" in lines and not any("50c6f5e" in x or "before" in x for x in lines)
    md = status.status_markdown({}, {}, {}, "now", None, lines)
    assert "## A whole build from an empty run cache" in md and "| 2026-12-02 | 2 cores |" in md
    assert "## A whole build" not in status.status_markdown({}, {}, {}, "now")


def test_the_committed_measured_builds_file_renders():
    lines = status.measured_builds()
    assert lines and lines[0].startswith("| measured (UTC date) |") and lines[-1].startswith("| training and notebook |")


# ---- training the plan before the notebook, and what the notebook may train -----------------

def tiny_plan() -> Plan:
    """Two tiny MLPs on Gaussian data (no dataset file needed), in one stage."""
    from lib.config import TrainConfig
    from lib.data import DataConfig
    from lib.models import ModelConfig

    return from_configs([[TrainConfig(data=DataConfig(dataset="gaussian", n_train=20, n_test=10),
                                      model=ModelConfig(width=4, depth=0), batch_size=10, epochs=1, seed=s)
                          for s in (0, 1)]])


def test_describe_names_model_data_seed_and_mask():
    from dataclasses import replace

    from lib.config import MaskConfig

    cfg = tiny_plan()[0][0].config
    assert progress.describe(cfg) == "mlp w=4 gaussian seed 0, 1 epochs"
    child = replace(cfg, mask=MaskConfig(parent=cfg, method="diff", density=0.1), init_from=cfg)
    assert progress.describe(child) == "mlp w=4 gaussian seed 0 diff mask d=0.1 from gaussian weights, 1 epochs"
    assert [progress.about(s) for s in (30, 21 * 60, 3 * 3600)] == ["under a minute", "about 21 min", "about 3.0 h"]


def test_train_planned_prints_a_line_per_run_and_an_estimate(run_cache):
    from lib import runs

    plan = tiny_plan()
    lines: list[str] = []
    done = progress.train_planned("04", plan + plan, out=lines.append)  # a run listed twice counts once
    assert (done.planned, done.cached, done.trained) == (2, 0, 2)
    assert all(runs.is_cached(c) for c in configs(plan))
    assert lines[0] == "chapter 04: 2 runs planned, 0 in the cache, 2 to train; estimating"
    assert lines[1] == "chapter 04: [1/2] mlp w=4 gaussian seed 0, 1 epochs ..."
    assert re.fullmatch(r"chapter 04: \[1/2\] mlp w=4 gaussian seed 0, 1 epochs \.\.\. \d+ s; "
                        r"under a minute left", lines[2]), lines[2]
    assert lines[3] == "chapter 04: [2/2] mlp w=4 gaussian seed 1, 1 epochs ..."
    assert re.fullmatch(r"chapter 04: \[2/2\] .* \d+ s; all trained", lines[4]), lines[4]
    assert len(lines) == 5

    lines.clear()  # everything cached: one line, nothing trained
    assert progress.train_planned("04", plan, out=lines.append).trained == 0
    assert lines == ["chapter 04: 2 runs planned, 2 in the cache, 0 to train"]


def test_train_planned_estimates_from_cached_runs_before_the_first_lands(run_cache):
    from dataclasses import replace

    plan = tiny_plan()
    _cache(plan[0][0].config, {"train_seconds": 600.0})
    more = [[*plan[0], *(Planned(replace(plan[0][1].config, seed=s)) for s in (2, 3))]]
    lines: list[str] = []
    progress.train_planned("05", more, out=lines.append)
    assert lines[0] == "chapter 05: 4 runs planned, 1 in the cache, 3 to train; about 30 min"
    assert lines[1].startswith("chapter 05: [1/3] mlp w=4 gaussian seed 1")


def test_train_planned_names_the_run_that_failed(run_cache, monkeypatch):
    from lib import runs

    def boom(cfg, **_):
        raise RuntimeError("out of memory")

    monkeypatch.setattr(runs, "train_run", boom)
    with pytest.raises(BuildError, match=r"chapter 04: training run [0-9a-f]{16} \(mlp w=4 gaussian seed 0, "
                                         r"1 epochs\) failed: RuntimeError: out of memory"):
        progress.train_planned("04", tiny_plan(), out=lambda line: None)


def test_run_folders_lists_finished_runs_only(run_cache):
    assert checks.run_folders() == set()
    d = _cache(tiny_plan()[0][0].config)
    for hidden in (".tmp-x-1-2", ".ckpt-abc", ".job-abc.json"):
        (d.parent / hidden).mkdir()
    assert checks.run_folders() == {d.name}


def test_a_run_the_notebook_trained_unplanned_fails_the_checks():
    before = {"aaaa000000000000", "bbbb000000000000"}
    assert checks.unplanned_runs("05", before, set(before)) == []
    problems = checks.unplanned_runs("05", before, before | {"cccc000000000000"})
    assert problems == ["chapter 05: the notebook trained run cccc000000000000, which "
                        "lib.chapters.ch05_pruning_mlp.plan does not list"]


def test_poll_in_steps_rereads_the_socket_and_keeps_the_deadline(monkeypatch):
    """nbclient#312 work-around: a blocking get_msg(timeout=None) becomes short polls, so a reply whose
    wake-up was missed is still read; a finite timeout still ends in Empty."""
    import asyncio
    from queue import Empty

    from nbclient.client import NotebookClient

    from lib.book import execute

    class Channel:
        def __init__(self, ready_after: int):
            self.calls, self.ready_after = [], ready_after

        async def get_msg(self, timeout=None):
            self.calls.append(timeout)
            if len(self.calls) > self.ready_after:
                return {"msg": "reply"}
            raise Empty

    class Client:
        shell_channel, iopub_channel = Channel(3), Channel(10 ** 9)

    async def start(self):
        return Client()

    monkeypatch.setattr(NotebookClient, "async_start_new_kernel_client", start)
    monkeypatch.setattr(NotebookClient, "start_new_kernel_client", NotebookClient.start_new_kernel_client)
    monkeypatch.setattr(NotebookClient, "_book_polls_in_steps", False, raising=False)
    execute.poll_in_steps(step_s=0.01)
    kc = asyncio.run(NotebookClient.async_start_new_kernel_client(object()))
    assert asyncio.run(kc.shell_channel.get_msg(timeout=None)) == {"msg": "reply"}
    assert Client.shell_channel.calls == [0.01] * 4  # never one blocking wait
    with pytest.raises(Empty):
        asyncio.run(kc.iopub_channel.get_msg(timeout=0.05))
    assert max(Client.iopub_channel.calls) <= 0.01


def test_intro_build_time_comes_from_the_measured_builds(tmp_path):
    from lib.book import status

    f = tmp_path / "times.json"
    f.write_text(json.dumps({"builds": [{"label": "old", "date": "d0", "commit": "a", "machine": "m", "note": "",
                                         "minutes": {"02": 1.0}, "total": 9.0},
                                        {"label": "new", "date": "d1", "commit": "b", "machine": "2 cores", "note": "",
                                         "minutes": {"02": 3.0, "05": 20.25}, "total": 61.04}]}))
    text = status.latest_build_sentence(f)
    assert "**61.0 minutes**" in text and "chapter 5 alone 20.2" in text and "a machine with 2 cores" in text
    assert "`b`" not in text and "new" not in text  # neither the code version nor the label: not for a reader
    assert "No build" in status.latest_build_sentence(tmp_path / "missing.json")
    intro = (ROOT / "intro.md").read_text()
    assert execute.TIMES_MARKER in intro and "minutes" not in intro.split("## Rerunning it")[1].split("[Reproduce]")[0]


def test_local_assets_are_the_default_and_a_failed_fetch_falls_back_to_cdns(monkeypatch, capsys):
    from lib.book import assets
    from lib.book.layout import BuildError

    calls = []
    monkeypatch.setattr(assets, "fetch_offline_assets", lambda *a, **k: calls.append(1))
    assert assets.use_offline(offline=False, cdn=False) and calls == [1]
    assert not assets.use_offline(offline=False, cdn=True) and calls == [1]

    def fail(*a, **k):
        raise BuildError("npm pack failed:\nno network")

    monkeypatch.setattr(assets, "fetch_offline_assets", fail)
    assert not assets.use_offline(offline=False, cdn=False)
    assert "could not fetch" in capsys.readouterr().out
    with pytest.raises(BuildError, match="npm pack failed"):
        assets.use_offline(offline=True, cdn=False)
    with pytest.raises(BuildError, match="contradict"):
        assets.use_offline(offline=True, cdn=True)
    # local copies name no CDN at all: no third-party widget CDN attribute either
    assert not any("cdn" in str(v) for v in assets.OFFLINE_WIDGETS_JS.values())


def test_the_reproduce_page_gets_its_profile_table_from_the_profiles(tmp_path, monkeypatch):
    """No typed scale on the reproduce page: the build writes every profile's sizes from lib.profiles."""
    from dataclasses import replace

    from lib import profiles
    from lib.paths import ROOT

    source = (ROOT / "reproduce.md").read_text()
    assert execute.PROFILES_MARKER in source and "few thousand" not in source
    monkeypatch.setattr(execute, "STAGE", tmp_path)
    (tmp_path / "reproduce.md").write_text(f"# Reproduce\n\n{execute.PROFILES_MARKER}\n\nafter\n")
    odd = replace(profiles.get("cpu"), n_train_large=1234, prune_epochs=17, seeds=(0, 1, 2, 3))
    monkeypatch.setitem(profiles.PROFILES, "cpu", odd)
    assert execute.write_profiles_table()
    page = (tmp_path / "reproduce.md").read_text()
    assert execute.PROFILES_MARKER not in page and page.endswith("after\n")
    row = next(line for line in page.splitlines() if line.startswith("| `cpu` "))
    assert "1,234 / 1,000 images" in row and "17 epochs" in row and "| 4 |" in row
    assert "50,000 / 10,000 images" in next(line for line in page.splitlines() if line.startswith("| `paper` "))
    (tmp_path / "reproduce.md").write_text("no marker\n")
    assert not execute.write_profiles_table()
