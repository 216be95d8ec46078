"""Side-effect steps: stage the book's sources, pin the kernel, execute a chapter with papermill,
fold code cells and run ``jupyter-book build``."""
from __future__ import annotations

import copy
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from ..chapters import registry
from . import assets
from .layout import (ANSI, EXTRA_DIRS, KERNEL_HOME, OFFLINE_DIR, PAGES, ROOT, SOURCE_CHAPTERS, STAGE,
                     BuildError, source, staged)

#: Cells whose code stays visible in the HTML (every other code cell folds behind a toggle).
SHOWN_TAGS = ("parameters", "injected-parameters", "show-input")


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
        sphinx_cfg["mathjax_path"] = assets.OFFLINE_MATHJAX
        sphinx_cfg["nb_ipywidgets_js"] = copy.deepcopy(assets.OFFLINE_WIDGETS_JS)
        sphinx_cfg["html_extra_path"] = list(sphinx_cfg.get("html_extra_path", [])) + [str(OFFLINE_DIR)]
    (STAGE / "_config.yml").write_text(
        "# Staged copy written by scripts/build_book.py; edit the one in the repository root.\n"
        + yaml.safe_dump(cfg, sort_keys=False, allow_unicode=True))
    # Chapters never executed still need a page: show the unexecuted source.
    for chapter in registry.CHAPTERS:
        if not staged(chapter.stem).exists():
            shutil.copy2(source(chapter.stem), staged(chapter.stem))


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


#: Tag of the Markdown cell :func:`show_parameters` writes (so a second call replaces it).
PARAMETERS_TABLE_TAG = "parameters-table"


def _assignments(src: str) -> dict[str, Any]:
    """``name = literal`` lines of a parameters cell as a dict (other lines are skipped)."""
    import ast

    out: dict[str, Any] = {}
    for node in ast.parse(src).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            try:
                out[node.targets[0].id] = ast.literal_eval(node.value)
            except ValueError:
                continue
    return out


def parameters_markdown(defaults: dict[str, Any], given: dict[str, Any]) -> str:
    """A small Markdown table of the parameters a chapter ran with: name, value, and the notebook's default
    where the value differs from it (``None`` reads "the profile's")."""
    def show(v: Any) -> str:
        return "the profile's" if v is None else f"`{v!r}`"

    rows = ["| parameter | value | default |", "|---|---|---|"]
    for name, default in defaults.items():
        value = given.get(name, default)
        rows.append(f"| `{name}` | {show(value)} | {'' if value == default else show(default)} |")
    for name in sorted(set(given) - set(defaults)):
        rows.append(f"| `{name}` | {show(given[name])} | (not declared) |")
    return "**Parameters of this build** (papermill; rerun with `-p NAME VALUE`):\n\n" + "\n".join(rows)


def show_parameters(path: Path) -> bool:
    """In the staged notebook ``path``, hide the notebook's parameters cell and papermill's injected one
    (tag ``remove-cell``) and show, in their place, one table of the parameters the chapter ran with
    (:func:`parameters_markdown`). Only the staged copy changes; idempotent; returns whether it changed
    the notebook (False for a notebook without a parameters cell)."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    cells = [c for c in nb.cells if PARAMETERS_TABLE_TAG not in c.metadata.get("tags", [])]
    first = next((i for i, c in enumerate(cells) if "parameters" in c.metadata.get("tags", [])), None)
    if first is None:
        return False
    defaults = _assignments(cells[first].source)
    given: dict[str, Any] = {}
    for c in cells:
        tags = c.metadata.setdefault("tags", [])
        if c.cell_type == "code" and ("parameters" in tags or "injected-parameters" in tags):
            if "injected-parameters" in tags:
                given.update(_assignments(c.source))
            if "remove-cell" not in tags:
                tags.append("remove-cell")
    table = nbformat.v4.new_markdown_cell(parameters_markdown(defaults, given),
                                          metadata={"tags": [PARAMETERS_TABLE_TAG]})
    cells.insert(first, table)
    changed = [c.source for c in cells] != [c.source for c in nb.cells]
    nb.cells = cells
    nbformat.write(nb, path)
    return changed


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


#: Seconds one notebook cell may run before the build gives up on it (``BOOK_CELL_TIMEOUT``). The runs
#: are trained before the notebook starts, so a cell only reads and plots; a hang fails the build instead
#: of blocking it forever.
CELL_TIMEOUT_S = int(os.environ.get("BOOK_CELL_TIMEOUT", "3600"))


def poll_in_steps(step_s: float = 1.0) -> None:
    """Make nbclient's kernel clients wait for replies in short polls (idempotent).

    nbclient waits for a cell's ``execute_reply`` with one blocking ``get_msg(timeout=None)`` on the
    shell channel. ZeroMQ's socket events are edge-triggered, and with widget cells the wake-up can be
    missed: the kernel is idle, the reply sits in the socket, and the build waits forever
    (jupyter/nbclient#312; here chapter 3's explorer cell hung the build about one time in three).
    Polling every ``step_s`` seconds rechecks the socket, so a reply that is there is read within a
    second; an overall ``timeout`` is still honoured.
    """
    from queue import Empty

    from nbclient.client import NotebookClient
    from nbclient.util import run_sync

    if getattr(NotebookClient, "_book_polls_in_steps", False):
        return
    start = NotebookClient.async_start_new_kernel_client

    def stepped(get_msg):
        async def get_msg_in_steps(timeout: float | None = None, **kw: Any):
            deadline = None if timeout is None else time.monotonic() + timeout
            while True:
                left = step_s if deadline is None else min(step_s, max(0.0, deadline - time.monotonic()))
                try:
                    return await get_msg(timeout=left, **kw)
                except Empty:
                    if deadline is not None and time.monotonic() >= deadline:
                        raise
        return get_msg_in_steps

    async def start_client(self):
        kc = await start(self)
        for channel in (kc.shell_channel, kc.iopub_channel):
            channel.get_msg = stepped(channel.get_msg)
        return kc

    NotebookClient.async_start_new_kernel_client = start_client
    NotebookClient.start_new_kernel_client = run_sync(start_client)  # papermill calls the sync wrapper
    NotebookClient._book_polls_in_steps = True


def execute_chapter(key: str, parameters: dict[str, Any], *, verbose: bool) -> float:
    """Run one chapter with papermill into the staged book (progress bar on a tty or with
    ``verbose``; cell outputs streamed with ``verbose``); returns seconds.
    Raises BuildError with the failing cell's traceback. The kernel runs without CurveZMQ transport
    encryption (ipykernel then warns about plain TCP on localhost): with encryption on, the widget cells
    of chapter 3 hung the kernel and the build here, reproducibly."""
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    poll_in_steps()

    stem = registry.get(key).stem
    out = staged(stem)
    t0 = time.perf_counter()
    try:
        pm.execute_notebook(
            str(source(stem)), str(out),
            parameters=parameters,
            kernel_name="python3",
            language="python",
            cwd=str(SOURCE_CHAPTERS),
            progress_bar=verbose or sys.stderr.isatty(),
            log_output=verbose,
            execution_timeout=CELL_TIMEOUT_S,
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
