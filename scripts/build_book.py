#!/usr/bin/env python
"""Build the book in one command: execute every chapter with papermill, then render the HTML.

    python scripts/build_book.py [--profile smoke|cpu|paper] [--chapters 02 05 ...]
                                 [-p NAME VALUE ...] [--offline] [--no-figure-check]
                                 [--executor local|slurm [SLURM flags] [--dry-run]]

``--executor local`` (the default) builds the book; each chapter trains the runs it is missing as it
executes. ``--executor slurm`` builds nothing: it plans the chosen chapters' runs (with the same
profile and ``-p`` parameters), submits the missing ones to SLURM with submitit (see
``lib/cluster.py``: one job array per stage, stages chained with SLURM dependencies, settings from
``slurm.toml`` and the SLURM flags) and exits with one line per chapter: runs done / running /
submitted / failed. Run it again to see progress; once every run is done, a plain build uses them.

Layout (everything under ``_build/``, which is git-ignored):

* ``_build/book/``            the staged book: ``_config.yml``, ``_toc.yml``, the Markdown pages,
                              a generated ``status.md`` and ``chapters/NN_*.ipynb`` = the notebooks
                              as papermill executed them. ``jupyter-book build`` runs on this copy
                              with ``execute_notebooks: "off"``, so nothing is executed twice.
* ``_build/html/index.html``  the rendered book.
* ``_build/status.json``      per-chapter execution records (kept across builds, so building only
                              some chapters keeps the others' earlier results and timings).
* ``_build/jupyter/``         a kernelspec ``python3`` pinned to this interpreter (put first on
                              ``JUPYTER_PATH`` so no user-level kernelspec can shadow it).

Steps: stage sources -> execute the chosen chapters (a failing cell stops the build and prints
the chapter and the cell's traceback) -> write status.md -> ``jupyter-book build`` -> checks:
(a) no executed notebook holds an error output, (b) every page exists in the HTML,
(c) every chapter has at least ``MIN_OUTPUTS`` figures and tables, counted both in the executed
notebook and in the chapter's HTML, (d) every local script/stylesheet an HTML page references
exists (and, with ``--offline``, that no page loads a script from the network).

``-p NAME VALUE`` sets a papermill parameter; VALUE is read as a Python literal when it is one
(``-p epochs 3``, ``-p widths "[64, 128]"``, ``-p arch_cnn None``), otherwise as a string
(``-p arch resnet50``). It goes to every selected chapter whose parameters cell declares NAME;
``-p 05:density 0.05`` targets chapter 05 only. A NAME no selected chapter declares is an error.

``--offline`` makes the HTML use local copies of MathJax, require.js and the ipywidgets
html-manager (fetched from the npm registry into ``_static_offline/vendor/`` on first use, see
``fetch_offline_assets``) instead of CDNs. Once fetched, later builds use them without the flag;
``--cdn`` keeps the CDN defaults. Without local copies the CDN defaults stay.
"""
from __future__ import annotations

import argparse
import ast
import copy
import datetime as dt
import hashlib
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, Iterable

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "_build"
STAGE = BUILD / "book"
HTML = BUILD / "html"
STATUS_JSON = BUILD / "status.json"
KERNEL_HOME = BUILD / "jupyter"
SOURCE_CHAPTERS = ROOT / "chapters"
OFFLINE_DIR = ROOT / "_static_offline"  # git-ignored; contents are copied into the HTML root
VENDOR = OFFLINE_DIR / "vendor"

PROFILES = ("smoke", "cpu", "paper")
DEFAULT_PROFILE = "cpu"

#: Chapter key -> notebook stem (chapters/<stem>.ipynb). Order = book order.
CHAPTERS: dict[str, str] = {
    "02": "02_coherence",
    "03": "03_diffs",
    "04": "04_width",
    "05": "05_pruning_mlp",
    "06": "06_pruning_large",
    "07": "07_conclusions",
}

#: The least each executed chapter must show. A figure is one output holding an image
#: (image/png or image/svg+xml); in the HTML, one <img> whose src is under _images/.
#: A table is a <table> in an HTML output (e.g. a displayed DataFrame) or a Markdown pipe table
#: (in a Markdown cell or a Markdown output); in the HTML, one <table> element.
MIN_OUTPUTS: dict[str, dict[str, int]] = {
    "02": {"figures": 4, "tables": 0},  # figures 2.1, 2.2, 2.3, 2.4
    "03": {"figures": 4, "tables": 0},  # figures 3.1, 3.2, 3.3, 3.4
    "04": {"figures": 4, "tables": 0},  # figures 4.1, 4.2, 4.3, 4.4
    "05": {"figures": 3, "tables": 0},  # figures 5.1, 5.2, 5.3 (+ the density-formula check)
    "06": {"figures": 2, "tables": 4},  # figures 6.3, 6.4; results of 6.1, 6.2, 6.5, 6.6 as tables
    "07": {"figures": 0, "tables": 1},  # the claims-versus-reproduction table
}

#: Markdown pages copied verbatim into the staged book (status.md is generated instead).
PAGES = ("intro.md", "reproduce.md")
#: Optional extra folders copied into the staged book when they exist.
EXTRA_DIRS = ("_static", "images")

#: npm packages for offline reading, pinned to what the CDN defaults load:
#: Sphinx 7.4 loads mathjax@3 (latest 3.x = 3.2.2); myst-nb 1.4 loads require.js 2.3.4 and
#: @jupyter-widgets/html-manager 1.0.6 (ipywidgets 8.1 asks for ^1.0.1).
OFFLINE_PACKAGES: dict[str, dict[str, Any]] = {
    "mathjax": {"version": "3.2.2", "dir": "mathjax", "keep": ("es5/", "LICENSE")},
    "requirejs": {"version": "2.3.4", "dir": "requirejs", "keep": ("require.js", "package.json")},
    "@jupyter-widgets/html-manager": {"version": "1.0.6", "dir": "html-manager",
                                      "keep": ("dist/", "LICENSE", "package.json"),
                                      # only embed-amd.js (+ its fonts) is loaded
                                      "drop_suffix": (".map", "/embed.js", ".embed.js", "/libembed-amd.js")},
}
#: Paths in the HTML root (html_extra_path copies VENDOR's parent there); Sphinx/myst-nb treat a
#: relative script path as relative to _static/, hence the leading "../".
OFFLINE_MATHJAX = "../vendor/mathjax/es5/tex-mml-chtml.js"
OFFLINE_WIDGETS_JS = {
    "../vendor/requirejs/require.js": {},
    # standard widgets are bundled in embed-amd.js; only third-party widget modules would still
    # be looked up on this CDN.
    "../vendor/html-manager/dist/embed-amd.js": {"data-jupyter-widgets-cdn": "https://cdn.jsdelivr.net/npm/"},
}

#: A figure counts as captioned when a Markdown/HTML output of the same cell contains this word
#: (the caption names the profile, model, data size, epochs and seed it was made with).
CAPTION_MARK = "profile"

ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


class BuildError(RuntimeError):
    """A step of the build failed; the message says which and why."""


# ---------------------------------------------------------------------------------------------
# Pure helpers (tested in tests/test_book.py)
# ---------------------------------------------------------------------------------------------

def parse_value(text: str) -> Any:
    """A command-line parameter value: a Python literal when it parses as one, else the string."""
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return text


def chapter_key(text: str) -> str:
    """'2', '02', '02_coherence' or 'chapters/02_coherence.ipynb' -> '02'."""
    stem = Path(str(text)).stem
    m = re.match(r"0*(\d+)", stem)
    if not m:
        raise BuildError(f"not a chapter: {text!r} (known: {', '.join(CHAPTERS)})")
    key = f"{int(m.group(1)):02d}"
    if key not in CHAPTERS:
        raise BuildError(f"no chapter {text!r} (known: {', '.join(CHAPTERS)})")
    return key


def notebook_parameters(nb: Any) -> dict[str, Any]:
    """Defaults declared in the notebook's cell tagged ``parameters`` (flat literal assignments).

    Raises BuildError when there is no such cell or it holds anything but ``name = literal``.
    """
    for cell in nb["cells"]:
        if cell["cell_type"] == "code" and "parameters" in cell.get("metadata", {}).get("tags", []):
            src = cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])
            out: dict[str, Any] = {}
            for node in ast.parse(src).body:
                if (isinstance(node, ast.Assign) and len(node.targets) == 1
                        and isinstance(node.targets[0], ast.Name)):
                    try:
                        out[node.targets[0].id] = ast.literal_eval(node.value)
                        continue
                    except ValueError:
                        pass
                raise BuildError(f"parameters cell: only `name = literal` lines are allowed, got: "
                                 f"{ast.get_source_segment(src, node)!r}")
            return out
    raise BuildError("no code cell tagged 'parameters'")


def route_params(pairs: Iterable[tuple[str, str]], declared: dict[str, dict[str, Any]]
                 ) -> dict[str, dict[str, Any]]:
    """Send each ``-p NAME VALUE`` to the chapters (keys of ``declared``) that declare NAME.

    ``NN:NAME`` targets one chapter. Returns {chapter key: {name: value}} for every chapter in
    ``declared`` (possibly empty dicts). ``profile`` cannot be set this way (use --profile).
    """
    routed: dict[str, dict[str, Any]] = {k: {} for k in declared}
    for raw_name, raw_value in pairs:
        value = parse_value(raw_value)
        if ":" in raw_name:
            key_text, name = raw_name.split(":", 1)
            key = chapter_key(key_text)
            if key not in declared:
                raise BuildError(f"-p {raw_name}: chapter {key} is not being executed")
            targets = [key]
        else:
            name, targets = raw_name, list(declared)
        if name == "profile":
            raise BuildError("set the profile with --profile, not -p profile")
        hits = [k for k in targets if name in declared[k]]
        if not hits:
            where = ", ".join(f"{k}: {sorted(declared[k])}" for k in targets)
            raise BuildError(f"-p {raw_name}: no selected chapter declares a parameter {name!r} ({where})")
        for k in hits:
            routed[k][name] = value
    return routed


def _delimiter_rows(markdown: str) -> int:
    """Number of Markdown pipe tables (counted by their |---|---| delimiter rows)."""
    row = re.compile(r"^\s*\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)+\|?\s*$")
    return sum(1 for line in markdown.splitlines() if row.match(line))


def _text(value: Any) -> str:
    return value if isinstance(value, str) else "".join(value)


def count_notebook(nb: Any) -> dict[str, Any]:
    """Figures, tables and error outputs of an (executed) notebook.

    Returns {"figures": int, "tables": int, "errors": [str, ...], "uncaptioned": int}; a figure is
    uncaptioned when no Markdown/HTML output of its cell mentions CAPTION_MARK ("profile").
    """
    figures = tables = uncaptioned = 0
    errors: list[str] = []
    for i, cell in enumerate(nb["cells"]):
        if cell["cell_type"] == "markdown":
            tables += _delimiter_rows(_text(cell["source"]))
            continue
        if cell["cell_type"] != "code":
            continue
        outputs = cell.get("outputs", [])
        captioned = any(
            CAPTION_MARK in _text(out.get("data", {}).get(m, "")).lower()
            for out in outputs for m in ("text/markdown", "text/html"))
        for out in outputs:
            kind = out.get("output_type")
            if kind == "error":
                errors.append(f"cell {i}: {out.get('ename')}: {out.get('evalue')}")
                continue
            data = out.get("data", {}) if kind in ("display_data", "execute_result") else {}
            if any(m in data for m in ("image/png", "image/svg+xml", "image/jpeg")):
                figures += 1
                uncaptioned += not captioned
            if "text/html" in data:
                tables += len(re.findall(r"<table\b", _text(data["text/html"]), re.I))
            elif "text/markdown" in data:
                tables += _delimiter_rows(_text(data["text/markdown"]))
    return {"figures": figures, "tables": tables, "errors": errors, "uncaptioned": uncaptioned}


class _TagCounter(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.figures = 0
        self.tables = 0
        self.scripts: list[str] = []
        self.styles: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "img" and "_images/" in (a.get("src") or ""):
            self.figures += 1
        elif tag == "table":
            self.tables += 1
        elif tag == "script" and a.get("src"):
            self.scripts.append(a["src"] or "")
        elif tag == "link" and "stylesheet" in (a.get("rel") or "") and a.get("href"):
            self.styles.append(a["href"] or "")


def count_html(text: str) -> dict[str, Any]:
    """Figures (<img src=".../_images/...">), tables, script and stylesheet URLs of a page."""
    p = _TagCounter()
    p.feed(text)
    return {"figures": p.figures, "tables": p.tables, "scripts": p.scripts, "styles": p.styles}


def check_chapter(key: str, nb_counts: dict[str, Any], html_counts: dict[str, Any] | None,
                  minimum: dict[str, int], *, figure_check: bool = True) -> list[str]:
    """Problems with one chapter: error outputs, and (if figure_check) too few figures/tables."""
    problems = [f"chapter {key}: error output in executed notebook, {e}" for e in nb_counts["errors"]]
    if figure_check:
        for kind in ("figures", "tables"):
            need = minimum.get(kind, 0)
            if nb_counts[kind] < need:
                problems.append(f"chapter {key}: executed notebook has {nb_counts[kind]} {kind}, needs >= {need}")
            if html_counts is not None and html_counts[kind] < need:
                problems.append(f"chapter {key}: HTML page has {html_counts[kind]} {kind}, needs >= {need}")
    return problems


def planned_runs(key: str, record: dict[str, Any]) -> dict[str, Any]:
    """``{hash: config}`` of the runs :func:`lib.cluster.chapter_stages` plans for chapter ``key``
    with the parameters its status ``record`` ran with (the same planning SLURM submission uses)."""
    from lib import cluster, runs

    return {runs.config_hash(c): c
            for stage in cluster.chapter_stages(key, **record.get("parameters", {})) for c in stage}


def training_rows(records: dict[str, dict[str, Any]]) -> list[str]:
    """Markdown rows "chapter | runs | in the cache | training time | shared": for each executed
    chapter, the training runs planned for it (:func:`planned_runs`), how many are in the run cache,
    and the summed ``train_seconds`` of their ``info.json`` (what a build from an empty cache spends
    on them, whatever this build found cached). A run used by an earlier chapter is counted there
    and listed as shared here."""
    from lib import paths, runs

    rows: list[str] = []
    seen: set[str] = set()
    for key, stem in CHAPTERS.items():
        if key not in records:
            continue
        try:
            planned = planned_runs(key, records[key])
        except Exception as exc:  # parameters an older notebook declared: say so, do not fail the build
            rows.append(f"| {stem} | ? | ? | ? | ? ({type(exc).__name__}: {exc}) |")
            continue
        own = {h: c for h, c in planned.items() if h not in seen}
        seen.update(planned)
        infos = [runs.Run(c, paths.run_dir(h)).info for h, c in own.items() if runs.is_cached(c)]
        secs = [i["train_seconds"] for i in infos if "train_seconds" in i]
        trained = f"{sum(secs) / 60:.1f} min" if secs else "–"
        if len(infos) > len(secs):
            trained += f" (+{len(infos) - len(secs)} runs without a recorded time)"
        rows.append(f"| {stem} | {len(own)} | {len(infos)} | {trained} | {len(planned) - len(own) or '–'} |")
    return rows


def plan_problems(keys: Iterable[str], records: dict[str, dict[str, Any]]) -> list[str]:
    """The SLURM planner (:func:`lib.cluster.chapter_stages`) must list exactly the runs a chapter
    trains. After chapters ``keys`` executed, every run planned for their parameters must be in the
    run cache; one that is not means the planner and the notebook build their configs differently."""
    from lib import runs

    problems = []
    for key in keys:
        if records.get(key, {}).get("result") != "ok":
            continue
        planned = planned_runs(key, records[key])
        missing = sorted(h for h, c in planned.items() if not runs.is_cached(c))
        if missing:
            problems.append(f"chapter {key}: {len(missing)} of the {len(planned)} runs lib.cluster plans for it were not "
                            f"trained by the notebook (e.g. {missing[0]}): the planner and the notebook disagree")
    return problems


def status_markdown(records: dict[str, dict[str, Any]], declared: dict[str, dict[str, Any]],
                    source_sha: dict[str, str], generated: str, training: list[str] | None = None) -> str:
    """The Status page: one row per chapter (profile, seconds, date, result), then the
    parameters each chapter accepts with their defaults."""
    lines = [
        "# Build status",
        "",
        f"Written by `scripts/build_book.py` on {generated}. One row per chapter notebook: the "
        "profile it last ran with, its wall-clock execution time, when it ran, and the outcome. "
        "*stale* means the chapter's source notebook changed after that run; *not run* means the "
        "page shows the unexecuted source.",
        "",
        "| Chapter | Profile | Seconds | Executed (UTC) | Result | Parameters set | Machine |",
        "|---|---|---:|---|---|---|---|",
    ]
    total = 0.0
    profiles = set()
    for key, stem in CHAPTERS.items():
        r = records.get(key)
        link = f"[{stem}](chapters/{stem}.ipynb)"
        if not r:
            lines.append(f"| {link} | – | – | – | not run | – | – |")
            continue
        result = r.get("result", "?")
        if result == "ok" and r.get("source_sha") != source_sha.get(key):
            result = "stale"
        overrides = ", ".join(f"`{k}={v!r}`" for k, v in r.get("parameters", {}).items()
                              if k != "profile") or "–"
        seconds = r.get("seconds")
        total += seconds or 0.0
        profiles.add(r.get("profile"))
        lines.append(f"| {link} | {r.get('profile', '?')} | "
                     f"{'–' if seconds is None else f'{seconds:.1f}'} | {r.get('date', '?')} | "
                     f"{result} | {overrides} | {r.get('machine', '?')} |")
    lines += ["", f"Total execution time of the chapters shown: {total:.1f} s."]
    if len(profiles) > 1:
        lines += ["", f"**Mixed profiles** ({', '.join(sorted(map(str, profiles)))}): the chapters "
                      "were not all executed with the same settings."]
    if training:
        lines += [
            "",
            "## Training behind each chapter",
            "",
            "A chapter whose runs are all in the run cache executes in seconds; this table says what "
            "training its figures rest on. *Training time* sums the recorded training seconds of the "
            "chapter's runs (each run's `info.json`), i.e. roughly what a build from an empty cache spends "
            "on them on the machine that trained them. Runs used by an earlier chapter are counted there.",
            "",
            "| Chapter | Runs (own) | In the cache | Training time | Shared with earlier chapters |",
            "|---|---:|---:|---|---:|",
            *training,
        ]
    lines += [
        "",
        "## Parameters each chapter accepts",
        "",
        "Read from each notebook's `parameters` cell. `None` means the profile's default. Override "
        "with `python scripts/build_book.py -p NAME VALUE` (see [Reproduce](reproduce.md)).",
        "",
        "| Chapter | Parameter | Default |",
        "|---|---|---|",
    ]
    for key, stem in CHAPTERS.items():
        for name, default in declared.get(key, {}).items():
            lines.append(f"| {key} | `{name}` | `{default!r}` |")
    return "\n".join(lines) + "\n"


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def format_seconds(s: float) -> str:
    return f"{s:.1f} s" if s < 120 else f"{s / 60:.1f} min"


# ---------------------------------------------------------------------------------------------
# Steps with side effects
# ---------------------------------------------------------------------------------------------

def machine_summary() -> str:
    """'Linux x86_64, 2 CPUs' plus the GPU name when nvidia-smi reports one (torch not imported)."""
    s = f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs"
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"],
                             capture_output=True, text=True, timeout=20)
        gpus = [g.strip() for g in out.stdout.splitlines() if g.strip()]
        if out.returncode == 0 and gpus:
            s += ", " + ", ".join(gpus)
    except (OSError, subprocess.SubprocessError):
        pass
    return s


def prepare_kernel() -> None:
    """Make kernel 'python3' mean this interpreter, and let the kernel import lib/."""
    kdir = KERNEL_HOME / "kernels" / "python3"
    kdir.mkdir(parents=True, exist_ok=True)
    from ipykernel.kernelspec import get_kernel_dict

    spec = get_kernel_dict()  # argv[0] = sys.executable, plus what this ipykernel supports
    spec["argv"][0] = sys.executable
    (kdir / "kernel.json").write_text(json.dumps(spec, indent=1))
    env = os.environ
    env["JUPYTER_PATH"] = os.pathsep.join([str(KERNEL_HOME)] + [p for p in env.get("JUPYTER_PATH", "").split(os.pathsep) if p])
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT)] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p])
    # Figures must come back as image outputs whatever the caller's MPLBACKEND says.
    env["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"
    env.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    from jupyter_client.kernelspec import KernelSpecManager

    found = KernelSpecManager().get_kernel_spec("python3").argv[0]
    if found != sys.executable:
        raise BuildError(f"kernel 'python3' resolves to {found}, not {sys.executable}")


def fetch_offline_assets(dest: Path = VENDOR, *, force: bool = False) -> Path:
    """Download the pinned npm packages (OFFLINE_PACKAGES) with `npm pack` and unpack the files
    the HTML needs into ``dest/<dir>/``. Skipped when dest/VERSIONS.json already lists the pins."""
    pins = {name: spec["version"] for name, spec in OFFLINE_PACKAGES.items()}
    manifest = dest / "VERSIONS.json"
    if not force and manifest.exists() and json.loads(manifest.read_text()) == pins:
        return dest
    npm = shutil.which("npm")
    if not npm:
        raise BuildError("--offline needs npm to fetch MathJax, require.js and the ipywidgets "
                         "html-manager once (e.g. apt-get install npm)")
    print(f"fetching offline assets into {dest} ...", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        specs = [f"{name}@{v}" for name, v in pins.items()]
        res = subprocess.run([npm, "pack", "--json", *specs], cwd=tmp, capture_output=True, text=True)
        if res.returncode != 0:
            raise BuildError(f"npm pack failed:\n{res.stderr[-3000:]}")
        packed = {item["name"]: Path(tmp) / item["filename"] for item in json.loads(res.stdout)}
        staging = dest.with_name(dest.name + ".partial")
        shutil.rmtree(staging, ignore_errors=True)
        for name, spec in OFFLINE_PACKAGES.items():
            target = staging / spec["dir"]
            with tarfile.open(packed[name]) as tf:
                for member in tf.getmembers():
                    rel = member.name.split("/", 1)[1] if "/" in member.name else member.name
                    if not member.isfile() or not rel.startswith(spec["keep"]):
                        continue
                    if rel.endswith(spec.get("drop_suffix", ())):
                        continue
                    out = target / rel
                    out.parent.mkdir(parents=True, exist_ok=True)
                    src = tf.extractfile(member)
                    assert src is not None
                    out.write_bytes(src.read())
        (staging / "VERSIONS.json").write_text(json.dumps(pins, indent=1) + "\n")
        shutil.rmtree(dest, ignore_errors=True)
        dest.parent.mkdir(parents=True, exist_ok=True)
        staging.rename(dest)
    return dest


def stage_sources(*, offline: bool) -> None:
    """Copy config, toc and Markdown pages into the staged book (offline: patch the config)."""
    import yaml

    (STAGE / "chapters").mkdir(parents=True, exist_ok=True)
    for name in ("_toc.yml", *PAGES):
        shutil.copy2(ROOT / name, STAGE / name)
    for d in EXTRA_DIRS:
        if (ROOT / d).is_dir():
            shutil.rmtree(STAGE / d, ignore_errors=True)
            shutil.copytree(ROOT / d, STAGE / d)
    cfg = yaml.safe_load((ROOT / "_config.yml").read_text())
    if offline:
        sphinx_cfg = cfg.setdefault("sphinx", {}).setdefault("config", {})
        sphinx_cfg["mathjax_path"] = OFFLINE_MATHJAX
        sphinx_cfg["nb_ipywidgets_js"] = copy.deepcopy(OFFLINE_WIDGETS_JS)
        sphinx_cfg["html_extra_path"] = list(sphinx_cfg.get("html_extra_path", [])) + [str(OFFLINE_DIR)]
    (STAGE / "_config.yml").write_text(
        "# Staged copy written by scripts/build_book.py; edit the one in the repository root.\n"
        + yaml.safe_dump(cfg, sort_keys=False, allow_unicode=True))
    # Chapters never executed still need a page: show the unexecuted source.
    for stem in CHAPTERS.values():
        staged = STAGE / "chapters" / f"{stem}.ipynb"
        if not staged.exists():
            shutil.copy2(SOURCE_CHAPTERS / f"{stem}.ipynb", staged)


#: Cells whose code stays visible in the HTML (every other code cell folds behind a toggle).
SHOWN_TAGS = ("parameters", "injected-parameters", "show-input")


def fold_code(path: Path) -> int:
    """Tag every code cell of the staged notebook ``path`` ``hide-input`` (HTML: folded behind a
    "show code" toggle, outputs shown) except the parameters cells and cells tagged ``show-input``,
    so a reader sees text, figures and tables first. Only the staged copy changes; returns the number
    of cells newly folded."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    folded = 0
    for cell in nb.cells:
        tags = cell.metadata.setdefault("tags", [])
        if cell.cell_type == "code" and not any(t in tags for t in SHOWN_TAGS) and "hide-input" not in tags:
            tags.append("hide-input")
            folded += 1
    if folded:
        nbformat.write(nb, path)
    return folded


def load_status() -> dict[str, dict[str, Any]]:
    try:
        return json.loads(STATUS_JSON.read_text())
    except (OSError, ValueError):
        return {}


def save_status(records: dict[str, dict[str, Any]]) -> None:
    STATUS_JSON.parent.mkdir(parents=True, exist_ok=True)
    STATUS_JSON.write_text(json.dumps(records, indent=1, sort_keys=True) + "\n")


def _kernel_config() -> dict[str, Any]:
    """Let jupyter_client give the kernel CurveZMQ keys when it can (silences ipykernel's
    'running over TCP without encryption' warning); nothing when this jupyter_client predates it."""
    try:
        import zmq
        from jupyter_client.manager import KernelManager
        from traitlets.config import Config
    except ImportError:
        return {}
    if not KernelManager.class_traits().get("transport_encryption") or not zmq.has("curve"):
        return {}
    return {"config": Config({"KernelManager": {"transport_encryption": "auto"}})}


def execute_chapter(key: str, parameters: dict[str, Any], *, verbose: bool) -> float:
    """Run one chapter with papermill into the staged book; returns seconds.
    Raises BuildError with the failing cell's traceback."""
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    stem = CHAPTERS[key]
    src = SOURCE_CHAPTERS / f"{stem}.ipynb"
    out = STAGE / "chapters" / f"{stem}.ipynb"
    t0 = time.perf_counter()
    try:
        pm.execute_notebook(
            str(src), str(out),
            parameters=parameters,
            kernel_name="python3",
            language="python",
            cwd=str(SOURCE_CHAPTERS),
            progress_bar=verbose or sys.stderr.isatty(),
            log_output=verbose,
            **_kernel_config(),
        )
    except PapermillExecutionError as exc:
        tb = ANSI.sub("", "\n".join(exc.traceback))
        raise BuildError(
            f"chapter {key} ({stem}.ipynb) failed in cell {exc.cell_index} "
            f"(execution count {exc.exec_count}): {exc.ename}: {exc.evalue}\n{tb}\n"
            f"The partly executed notebook is {out.relative_to(ROOT)}") from None
    except Exception as exc:  # kernel died, bad parameters, ...
        raise BuildError(f"chapter {key} ({stem}.ipynb) could not be executed: "
                         f"{type(exc).__name__}: {ANSI.sub('', str(exc))}") from None
    return time.perf_counter() - t0


def run_jupyter_book(*, strict: bool) -> tuple[float, list[str]]:
    """`jupyter-book build _build/book --path-output .` (HTML -> _build/html); output is shown as
    it comes. Returns (seconds, warning lines)."""
    cmd = [sys.executable, "-c", "import sys; from jupyter_book.cli.main import main; sys.exit(main())",
           "build", str(STAGE), "--path-output", str(ROOT), "--all"]
    if strict:
        cmd += ["-W", "--keep-going"]
    t0 = time.perf_counter()
    warnings: list[str] = []
    with subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, bufsize=1) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            print(line, end="", flush=True)
            if "WARNING" in line or "ERROR" in line:
                warnings.append(ANSI.sub("", line.rstrip()))
        rc = proc.wait()
    seconds = time.perf_counter() - t0
    if rc != 0:
        raise BuildError(f"jupyter-book build failed (exit code {rc})")
    return seconds, warnings


def check_assets(*, offline: bool) -> list[str]:
    """Every local script/stylesheet each page references exists; offline: no remote scripts."""
    problems: list[str] = []
    remote: set[str] = set()
    for page in sorted(HTML.rglob("*.html")):
        rel = page.relative_to(HTML)
        if rel.parts[0] in ("_static", "_sources", "vendor", "_images"):
            continue
        counts = count_html(page.read_text(encoding="utf-8", errors="replace"))
        for url in counts["scripts"] + counts["styles"]:
            if re.match(r"^(https?:)?//", url):
                remote.add(url)
                continue
            target = (page.parent / url.split("?", 1)[0].split("#", 1)[0]).resolve()
            if not target.is_file():
                problems.append(f"{rel}: references {url}, which is not in the HTML output")
    if offline and remote:
        problems += [f"--offline, yet a page loads {u}" for u in sorted(remote)]
    elif remote:
        print("pages load from the network: " + ", ".join(sorted({re.sub(r'^(https?:)?//([^/]+).*', r'\2', u) for u in remote})))
    return problems


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--profile", choices=PROFILES, default=DEFAULT_PROFILE,
                    help=f"experiment size passed to every chapter (default {DEFAULT_PROFILE})")
    ap.add_argument("--chapters", nargs="+", metavar="NN",
                    help="execute only these chapters (02 ... 07); the others keep their last "
                         "executed copy, or show the unexecuted source if they never ran")
    ap.add_argument("-p", "--param", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
                    help="papermill parameter (VALUE read as a Python literal when possible); "
                         "NN:NAME targets one chapter")
    ap.add_argument("--no-execute", action="store_true",
                    help="execute nothing; rebuild the HTML from the notebooks already in _build/book")
    ap.add_argument("--no-figure-check", action="store_true",
                    help="skip the minimum-figures/tables check (error outputs are still checked)")
    ap.add_argument("--offline", action="store_true",
                    help="use local MathJax/require.js/html-manager (fetched into _static_offline/ if missing)")
    ap.add_argument("--cdn", action="store_true",
                    help="load MathJax/require.js/html-manager from CDNs even when local copies are present")
    ap.add_argument("--fetch-offline-assets", action="store_true",
                    help="(re)download the offline assets and exit")
    ap.add_argument("--strict", action="store_true", help="treat Sphinx warnings as errors")
    ap.add_argument("-v", "--verbose", action="store_true", help="stream cell outputs while executing")
    ap.add_argument("--executor", choices=("local", "slurm"), default="local",
                    help="local: build the book, chapters train what they miss (default); slurm: submit the "
                         "chapters' missing runs to SLURM, print a summary per chapter and exit")
    sys.path.insert(0, str(ROOT))
    from lib import cluster

    cluster.add_arguments(ap)
    args = ap.parse_args(argv)

    t_start = time.perf_counter()
    try:
        if args.fetch_offline_assets:
            print(f"offline assets in {fetch_offline_assets(force=True)}")
            return 0
        if args.offline and args.cdn:
            raise BuildError("--offline and --cdn contradict each other; give one")
        if args.offline:
            fetch_offline_assets()
        elif not args.cdn and (VENDOR / "VERSIONS.json").is_file():
            args.offline = True  # local copies are present (an earlier --offline): use them
            print(f"using the local MathJax / require.js / html-manager in {VENDOR.relative_to(ROOT)} (--cdn to not)")

        selected = [] if args.no_execute else (
            [chapter_key(c) for c in args.chapters] if args.chapters else list(CHAPTERS))
        sources = {k: SOURCE_CHAPTERS / f"{s}.ipynb" for k, s in CHAPTERS.items()}
        import nbformat

        declared = {}
        for k, path in sources.items():
            try:
                declared[k] = notebook_parameters(nbformat.read(path, as_version=4))
            except BuildError as exc:
                raise BuildError(f"{path.relative_to(ROOT)}: {exc}") from None
        routed = route_params(args.param, {k: declared[k] for k in selected}) if selected else {}
        if args.param and not selected:
            raise BuildError("-p given but nothing is executed (--no-execute)")
        source_sha = {k: sha256(p) for k, p in sources.items()}

        if args.executor == "slurm":
            if not selected:
                raise BuildError("--executor slurm with --no-execute: nothing to plan")
            try:
                settings = None if args.dry_run else cluster.settings_from_args(args)
                return cluster.dispatch_chapters({k: {"profile": args.profile, **routed[k]} for k in selected},
                                                 settings, dry_run=args.dry_run)
            except cluster.ClusterError as exc:
                raise BuildError(f"SLURM: {exc}") from None
        if args.dry_run:
            raise BuildError("--dry-run goes with --executor slurm")

        stage_sources(offline=args.offline)
        records = load_status()
        machine = machine_summary()
        if selected:
            prepare_kernel()
        for key in selected:
            params = {"profile": args.profile, **routed[key]}
            print(f"== chapter {key} ({CHAPTERS[key]}), profile {args.profile}"
                  + (f", {routed[key]}" if routed[key] else ""), flush=True)
            record = {"profile": args.profile, "parameters": params, "machine": machine,
                      "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M"),
                      "source_sha": source_sha[key]}
            try:
                seconds = execute_chapter(key, params, verbose=args.verbose)
            except BuildError:
                records[key] = {**record, "result": "failed", "seconds": None}
                save_status(records)
                raise
            records[key] = {**record, "result": "ok", "seconds": round(seconds, 1)}
            save_status(records)
            print(f"   done in {format_seconds(seconds)}", flush=True)

        generated = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        (STAGE / "status.md").write_text(status_markdown(records, declared, source_sha, generated,
                                                         training_rows(records)))
        profiles = {records[k]["profile"] for k in CHAPTERS if k in records}
        if len(profiles) > 1:
            print(f"note: the book mixes profiles {sorted(profiles)}")

        for stem in CHAPTERS.values():
            fold_code(STAGE / "chapters" / f"{stem}.ipynb")
        shutil.rmtree(HTML, ignore_errors=True)  # no stale pages, images or offline assets
        jb_seconds, warnings = run_jupyter_book(strict=args.strict)

        # ---- checks -------------------------------------------------------------------------
        problems: list[str] = []
        for page in ("index.html", "intro.html", "reproduce.html", "status.html"):
            if not (HTML / page).exists():
                problems.append(f"page missing from the HTML: {page}")
        import nbformat as nbf

        for key, stem in CHAPTERS.items():
            page = HTML / "chapters" / f"{stem}.html"
            if not page.exists():
                problems.append(f"chapter {key}: page missing from the HTML: {page.relative_to(ROOT)}")
                continue
            nb_counts = count_notebook(nbf.read(STAGE / "chapters" / f"{stem}.ipynb", as_version=4))
            html_counts = count_html(page.read_text(encoding="utf-8"))
            executed = records.get(key, {}).get("result") in ("ok", "failed")
            if not executed and not args.no_figure_check:
                print(f"note: chapter {key} was never executed; its figure/table check is skipped")
            problems += check_chapter(key, nb_counts, html_counts, MIN_OUTPUTS[key],
                                      figure_check=executed and not args.no_figure_check)
            print(f"chapter {key}: {nb_counts['figures']} figures / {nb_counts['tables']} tables in the "
                  f"notebook, {html_counts['figures']} / {html_counts['tables']} in the HTML "
                  f"(minimum {MIN_OUTPUTS[key]['figures']} / {MIN_OUTPUTS[key]['tables']})"
                  + (f"; WARNING: {nb_counts['uncaptioned']} figure(s) without a caption naming the "
                     f"profile" if nb_counts["uncaptioned"] else ""))
        problems += check_assets(offline=args.offline)
        problems += plan_problems(selected, records)

        print(f"\njupyter-book build: {format_seconds(jb_seconds)}, {len(warnings)} warning(s)")
        for w in warnings:
            print(f"  {w}")
        print(f"total: {format_seconds(time.perf_counter() - t_start)}")
        if problems:
            print("\nBUILD CHECKS FAILED:\n  " + "\n  ".join(problems), file=sys.stderr)
            return 1
        print(f"book: {(HTML / 'index.html').relative_to(ROOT)}")
        return 0
    except BuildError as exc:
        print(f"\nBUILD FAILED: {exc}", file=sys.stderr)
        print(f"total: {format_seconds(time.perf_counter() - t_start)}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
