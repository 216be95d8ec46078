"""One settings module (issue 24, item 6): the ``BOOK_*`` variables read and checked in :mod:`lib.settings`,
misspelt chapter parameters refused under plain papermill, and numeric config fields normalised before hashing.

Fault injection: each test below sets what a hostile tester set and fails on the behaviour before this
module existed (``BOOK_CHECKPOINT=off`` kept checkpoints on, ``BOOK_CHECKPOINT_SECONDS=abc`` failed without
naming the variable, ``BOOK_CELL_TIMEOUT=0`` was accepted, a relative ``BOOK_RUNS_DIR`` followed each process's
working directory, ``BOOK_WORKRES=2`` passed silently, ``papermill ... -p sed 5`` ran the defaults,
``OptimConfig(lr=1)`` and ``OptimConfig(lr=1.0)`` hashed apart).
"""
from __future__ import annotations

import dataclasses
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from lib import config, data, models, parallel, paths, settings, train
from lib.chapters import params as chapter_params
from lib.chapters import registry

ROOT = Path(__file__).resolve().parent.parent
SWITCH_ON = ("1", "true", "TRUE", "yes", "Yes", "on", "ON")
SWITCH_OFF = ("0", "false", "False", "no", "NO", "off", "Off")


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    """No ``BOOK_*`` variable from the caller's shell leaks into these tests."""
    for name in [k for k in os.environ if k.startswith(settings.PREFIX)]:
        monkeypatch.delenv(name)


# ------------------------------------------------------------------------------------- the table
def test_every_name_in_the_project_is_in_the_table():
    """Every ``BOOK_*`` name the code, scripts, CI and pages mention is a known one (the table itself and this
    file's injected typos aside)."""
    places = [*ROOT.glob("lib/**/*.py"), *ROOT.glob("scripts/*"), *ROOT.glob("benchmarks/*.py"),
              *ROOT.glob("tests/*.py"), *ROOT.glob("*.md"), ROOT / ".ci" / "run", ROOT / "Makefile"]
    skip = {Path(__file__).resolve(), Path(settings.__file__).resolve()}
    seen = {name for p in places if p.is_file() and p.resolve() not in skip
            for name in re.findall(r"\bBOOK_[A-Z0-9_]*[A-Z0-9]\b", p.read_text(errors="replace"))}
    assert seen - set(settings.KNOWN) == set()


def test_only_lib_settings_reads_book_variables():
    """No module of lib/ or scripts/ reads or writes a ``BOOK_*`` variable itself (the build's cell timeout,
    for one, was read once at import with ``int()``, so ``BOOK_CELL_TIMEOUT=0`` went through)."""
    direct = re.compile(r"""(environ\s*(\.get|\.setdefault|\.pop)?\s*[(\[]|getenv\s*\()\s*f?["']BOOK_""")
    sources = [p for p in [*ROOT.glob("lib/**/*.py"), *ROOT.glob("scripts/*.py")] if p.name != "settings.py"]
    readers = [str(p.relative_to(ROOT)) for p in sources if direct.search(p.read_text())]
    assert readers == []


def test_readme_shows_the_table_of_lib_settings():
    """README.md holds :func:`lib.settings.markdown_table` verbatim: every known name, none other."""
    readme = (ROOT / "README.md").read_text()
    assert settings.markdown_table() in readme, "paste the output of `python -m lib.settings` into README.md"
    table = settings.markdown_table()
    assert re.findall(r"^\| `(BOOK_\w+)`", table, flags=re.M) == list(settings.KNOWN)


@pytest.mark.parametrize("var", [v for v in settings.VARIABLES if v.parse is not settings._path],
                         ids=lambda v: v.name)
def test_a_bad_value_names_the_variable_the_value_and_what_is_allowed(monkeypatch, var):
    monkeypatch.setenv(var.name, "junk!")
    with pytest.raises(ValueError, match=re.escape(f"{var.name}='junk!': expected {var.allowed}")):
        settings.value(var.name)
    monkeypatch.setenv(var.name, "  ")  # blank: the default
    assert settings.value(var.name) == var.default


# ------------------------------------------------------------------------------------- the faults
@pytest.mark.parametrize("text", SWITCH_OFF)
def test_book_checkpoint_off_in_any_spelling_turns_checkpoints_off(monkeypatch, tmp_path, text):
    monkeypatch.setenv(settings.CHECKPOINT, text)
    assert settings.checkpoint_enabled() is False
    assert train._checkpointing(config.TrainConfig(epochs=2), [], tmp_path / "ckpt") is None


@pytest.mark.parametrize("text", SWITCH_ON)
def test_book_checkpoint_on_in_any_spelling(monkeypatch, tmp_path, text):
    monkeypatch.setenv(settings.CHECKPOINT, text)
    assert settings.checkpoint_enabled() is True
    assert train._checkpointing(config.TrainConfig(epochs=2), [], tmp_path / "ckpt") is not None


@pytest.mark.parametrize("text", ["maybe", "2", "disabled", "o"])
def test_book_checkpoint_other_words_are_refused(monkeypatch, text):
    monkeypatch.setenv(settings.CHECKPOINT, text)
    with pytest.raises(ValueError, match=rf"BOOK_CHECKPOINT='{text}': expected 1/0, true/false, yes/no, on/off"):
        settings.checkpoint_enabled()


@pytest.mark.parametrize("text", ["abc", "-1", "inf", "nan", "1e999"])
def test_book_checkpoint_seconds_bad_values_name_the_variable(monkeypatch, tmp_path, text):
    monkeypatch.setenv(settings.CHECKPOINT_SECONDS, text)
    with pytest.raises(ValueError, match=rf"BOOK_CHECKPOINT_SECONDS='{text}': expected a number of seconds >= 0"):
        train._checkpointing(config.TrainConfig(epochs=2), [], tmp_path / "ckpt")


def test_book_checkpoint_seconds_reaches_the_checkpoint(monkeypatch, tmp_path):
    assert settings.checkpoint_seconds() == 0.0
    monkeypatch.setenv(settings.CHECKPOINT_SECONDS, "2.5")
    assert train._checkpointing(config.TrainConfig(epochs=2), [], tmp_path / "ckpt").min_seconds == 2.5


@pytest.mark.parametrize("text", ["0", "-5", "1.5", "abc", "10s"])
def test_book_cell_timeout_must_be_a_positive_whole_number(monkeypatch, text):
    monkeypatch.setenv(settings.CELL_TIMEOUT, text)
    with pytest.raises(ValueError, match=rf"BOOK_CELL_TIMEOUT='{re.escape(text)}': expected a positive whole number"):
        settings.cell_timeout()


def test_book_cell_timeout_default_and_value(monkeypatch):
    assert settings.cell_timeout() == settings.CELL_TIMEOUT_DEFAULT == 3600
    monkeypatch.setenv(settings.CELL_TIMEOUT, "120")
    assert settings.cell_timeout() == 120


def test_relative_runs_dir_is_resolved_once_against_the_start_directory(monkeypatch, tmp_path):
    """The build reads the runs folder in the repository, its kernels run in chapters/: both must see one
    folder. The first read makes it absolute and exports it, so a later read from elsewhere, in this process
    or a child started from another directory, gives the same folder."""
    start, elsewhere = tmp_path / "start", tmp_path / "chapters"
    start.mkdir()
    elsewhere.mkdir()
    monkeypatch.chdir(start)
    monkeypatch.setenv(settings.RUNS_DIR, "my-runs")
    assert paths.runs_dir() == start / "my-runs"
    assert os.environ[settings.RUNS_DIR] == str(start / "my-runs")  # exported for kernels and workers
    monkeypatch.chdir(elsewhere)
    assert paths.runs_dir() == start / "my-runs"
    child = subprocess.run([sys.executable, "-c", "from lib import paths; print(paths.runs_dir())"], cwd=elsewhere,
                           env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True, check=True)
    assert child.stdout.strip() == str(start / "my-runs")


def test_runs_dir_unset_absolute_and_empty(monkeypatch, tmp_path):
    assert paths.runs_dir() == ROOT / "runs"
    monkeypatch.setenv(settings.RUNS_DIR, str(tmp_path / "abs"))
    assert paths.runs_dir() == tmp_path / "abs"
    monkeypatch.setenv(settings.RUNS_DIR, " ")
    with pytest.raises(ValueError, match="BOOK_RUNS_DIR is set but empty"):
        paths.runs_dir()


def test_an_unknown_book_variable_is_refused_by_every_reader(monkeypatch, capsys):
    monkeypatch.setenv("BOOK_WORKRES", "2")
    known = re.escape(", ".join(settings.KNOWN))
    with pytest.raises(ValueError, match=rf"unknown environment variable\(s\) BOOK_WORKRES; .*: {known}"):
        settings.check_environment()
    for reader in (parallel.default_workers, paths.runs_dir, settings.checkpoint_enabled, settings.cell_timeout):
        with pytest.raises(ValueError, match="BOOK_WORKRES"):
            reader()
    from lib.cluster import cli

    assert cli.main(["--chapters", "07"]) == 2  # before any planning
    assert "BOOK_WORKRES" in capsys.readouterr().err


def test_every_known_variable_passes_the_environment_check(monkeypatch, tmp_path):
    for var in settings.VARIABLES:
        monkeypatch.setenv(var.name, "")  # blank: the default
    monkeypatch.setenv(settings.RUNS_DIR, str(tmp_path))  # blank is an error for this one only
    settings.check_all()


# --------------------------------------------------------------------- misspelt chapter parameters
def _chapter_cells(stem: str) -> tuple[nbformat.NotebookNode, int]:
    """The chapter's notebook and the index of its first code cell after the parameters cell."""
    nb = nbformat.read(ROOT / "chapters" / f"{stem}.ipynb", as_version=4)
    tagged = next(i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", []))
    return nb, next(i for i in range(tagged + 1, len(nb.cells)) if nb.cells[i].cell_type == "code")


@pytest.mark.parametrize("key", registry.KEYS)
def test_each_notebook_checks_its_parameter_names_before_setup(key):
    nb, first = _chapter_cells(registry.get(key).stem)
    lines = nb.cells[first].source.splitlines()
    calls = [i for i, line in enumerate(lines) if line.startswith(chapter_params.CHECK_CALL)]
    setup = next(i for i, line in enumerate(lines) if line.startswith("S = ch.setup("))
    assert len(calls) == 1 and calls[0] < setup, f"chapter {key}: call {chapter_params.CHECK_CALL} before ch.setup"


def test_names_before_chapter_reads_the_kernel_history():
    parameters, injected = 'profile = "cpu"\nseed = 0\n', '# Parameters\nprofile = "smoke"\nsed = 5\n'
    check = "import sys\nROOT = 1\n" + chapter_params.CHECK_CALL + "\nS = 2\n"
    history = ["", parameters, injected, check]
    assert chapter_params.names_before_chapter({"In": history}) == ["profile", "seed", "sed"]
    history += ["R = {'a': 1}\nx, (y, z) = 1, (2, 3)", check, "broken ("]  # re-running cells changes nothing
    assert chapter_params.names_before_chapter({"In": history}) == ["profile", "seed", "sed"]
    assert chapter_params.names_before_chapter({"In": ["", "a: int = 1\nb += 2\nc, d = 1, 2", "e = 3"]}) == \
        ["a", "b", "c", "d"]
    script = {"__name__": "__main__", "profile": "cpu", "sed": 5, "sys": sys, "ROOT": ROOT, "_private": 1}
    assert chapter_params.names_before_chapter(script) == ["profile", "sed"]  # outside IPython


def test_check_notebook_names_the_misspelt_parameter():
    ch = registry.module("02")
    ok = {"In": ["", "profile = 'cpu'\nseed = 0\n", "# Parameters\nseed = 5\n", chapter_params.CHECK_CALL]}
    chapter_params.check_notebook(ok, ch)
    bad = {"In": ["", "profile = 'cpu'\nseed = 0\n", "# Parameters\nsed = 5\n", chapter_params.CHECK_CALL]}
    declared = ", ".join(f.name for f in dataclasses.fields(ch.Params))
    with pytest.raises(chapter_params.ParameterError,
                       match=re.escape(f"unknown parameter 'sed' for chapter 02; it declares: {declared}")):
        chapter_params.check_notebook(bad, ch)


def _through_the_check(tmp_path: Path, stem: str) -> Path:
    """A copy of chapter ``stem`` cut after its parameter check: its markdown, parameters cell and first code
    cell up to :data:`~lib.chapters.params.CHECK_CALL` (so a passing run executes no chapter code)."""
    nb, first = _chapter_cells(stem)
    lines = nb.cells[first].source.splitlines()
    end = next(i for i, line in enumerate(lines) if line.startswith(chapter_params.CHECK_CALL))
    nb.cells[first].source = "\n".join(lines[:end + 1])
    nb.cells = nb.cells[:first + 1]
    out = tmp_path / "chapters" / f"{stem}.ipynb"  # a chapters/ folder, where the build runs the kernels
    out.parent.mkdir()
    nbformat.write(nb, out)
    return out


def test_plain_papermill_refuses_a_misspelt_parameter(tmp_path, monkeypatch):
    """``papermill chapters/07_conclusions.ipynb out.ipynb -p sed 5``: papermill only warns about ``sed``;
    the notebook's own check stops it, naming the parameter. ``-p seed 5`` passes the same cell."""
    pm = pytest.importorskip("papermill")
    from papermill.exceptions import PapermillExecutionError

    source = _through_the_check(tmp_path, registry.get("07").stem)
    monkeypatch.setenv("PYTHONPATH", str(ROOT))  # the kernel imports lib/ (the build does the same)
    run = dict(cwd=str(ROOT / "chapters"), progress_bar=False, kernel_name="python3")
    pm.execute_notebook(str(source), str(tmp_path / "good.ipynb"), parameters={"seed": 5}, **run)
    with pytest.raises(PapermillExecutionError, match="unknown parameter 'sed' for chapter 07; it declares: "
                                                      "profile, seed"):
        pm.execute_notebook(str(source), str(tmp_path / "bad.ipynb"), parameters={"sed": 5}, **run)


# ------------------------------------------------------------------------------ numeric config fields
CONFIGS = (data.DataConfig, models.ModelConfig, config.OptimConfig, config.StatsConfig, config.MaskConfig,
           config.TrainConfig)


def _fields_of(kind: str) -> list[tuple[type, str]]:
    """(config class, field name) of every field annotated ``kind`` in :data:`CONFIGS`."""
    return [(cls, f.name) for cls in CONFIGS for f in dataclasses.fields(cls) if f.type == kind]


def test_lr_1_and_lr_1_0_are_one_config_and_one_hash(stand_in_fingerprint):
    assert config.OptimConfig(lr=1) == config.OptimConfig(lr=1.0)
    assert config.config_hash(config.OptimConfig(lr=1)) == config.config_hash(config.OptimConfig(lr=1.0))
    one, one_f = (config.TrainConfig(optim=config.OptimConfig(lr=lr)) for lr in (1, 1.0))
    assert one == one_f and hash(one) == hash(one_f) and config.config_hash(one) == config.config_hash(one_f)


@pytest.mark.parametrize("cls, name", _fields_of("float"), ids=lambda x: getattr(x, "__name__", x))
def test_every_float_field_stores_an_int_as_a_float(cls, name):
    made = cls(**{name: 1})
    assert type(getattr(made, name)) is float and made == cls(**{name: 1.0})
    with pytest.raises(ValueError, match=f"{cls.__name__}.{name}"):
        cls(**{name: True})  # a bool is not a number here


@pytest.mark.parametrize("cls, name", _fields_of("int"), ids=lambda x: getattr(x, "__name__", x))
def test_every_int_field_refuses_floats_and_bools(cls, name):
    """An int field given 2.0 is an error, not a silent conversion: whole-number settings (epochs, widths,
    seeds) come from literals, and a float there is a sign of a computed value that may not be whole."""
    for bad in (2.0, True):
        with pytest.raises(ValueError, match=f"{cls.__name__}.{name} must be an integer"):
            cls(**{name: bad})
