"""The build's steps in order: stage the sources, train and execute the chosen chapters, write the
Status page, fold code, ``jupyter-book build``, check. ``scripts/build_book.py`` parses the command
line and calls :func:`build`."""
from __future__ import annotations

import shutil
import time
from typing import Any

from ..chapters import registry
from ..plan import Plan
from . import checks, execute, progress, status
from .layout import HTML, STAGE, BuildError, format_seconds, source, staged


def chapter_plan(key: str, params: dict[str, Any]) -> Plan:
    """The runs chapter ``key`` trains for its papermill ``params`` (:func:`registry.plan`);
    BuildError when the parameters are not ones the chapter accepts."""
    try:
        return registry.plan(key, **params)
    except (TypeError, ValueError) as exc:
        raise BuildError(f"chapter {key}: cannot plan its runs with {params}: {type(exc).__name__}: {exc}") from None


def execute_chapters(chapter_params: dict[str, dict[str, Any]], records: dict[str, dict[str, Any]],
                     source_sha: dict[str, str], *, verbose: bool, workers: int = 1) -> list[str]:
    """For each chapter (key -> papermill parameters), in order: train its planned runs in ``workers``
    processes (:func:`progress.train_planned`), then execute its notebook, recording the outcome in ``records``
    (saved after each chapter). Returns the problems found: runs a notebook trained unplanned.
    A failing chapter is recorded "failed" and its BuildError stops the build."""
    machine = status.machine_summary()
    execute.prepare_kernel()
    problems: list[str] = []
    for key, params in chapter_params.items():
        overrides = {k: v for k, v in params.items() if k != "profile"}
        print(f"== chapter {key} ({registry.get(key).stem}), profile {params['profile']}"
              + (f", {overrides}" if overrides else ""), flush=True)
        record = {"profile": params["profile"], "parameters": params, "machine": machine,
                  "date": status.now(), "source_sha": source_sha[key]}
        t0 = time.perf_counter()
        try:
            training = progress.train_planned(key, chapter_plan(key, params), workers=workers)
            before = checks.run_folders()
            notebook_s = execute.execute_chapter(key, params, verbose=verbose)
        except BuildError:
            records[key] = {**record, "result": "failed", "seconds": None}
            status.save_status(records)
            raise
        problems += checks.unplanned_runs(key, before, checks.run_folders())
        seconds = time.perf_counter() - t0
        records[key] = {**record, "result": "ok", "seconds": round(seconds, 1)}
        status.save_status(records)
        print(f"   done in {format_seconds(seconds)}" + (
            f" (training {format_seconds(training.seconds)}, notebook {format_seconds(notebook_s)})"
            if training.trained else ""), flush=True)
    return problems


def build(chapter_params: dict[str, dict[str, Any]], declared: dict[str, dict[str, Any]], *,
          offline: bool, strict: bool = False, verbose: bool = False, figure_check: bool = True,
          workers: int = 1) -> list[str]:
    """Build the book, executing the chapters in ``chapter_params`` (none: re-render only), their runs
    trained in ``workers`` processes; ``declared`` = each notebook's parameters, for the Status page.
    Returns the failed checks."""
    source_sha = {c.key: status.sha256(source(c.stem)) for c in registry.CHAPTERS}
    execute.stage_sources(offline=offline)
    records = status.load_status()
    unplanned = (execute_chapters(chapter_params, records, source_sha, verbose=verbose, workers=workers)
                 if chapter_params else [])

    (STAGE / "status.md").write_text(status.status_markdown(
        records, declared, source_sha, status.now("%Y-%m-%d %H:%M UTC"), status.training_rows(records),
        status.measured_builds()))
    profiles = {records[c.key]["profile"] for c in registry.CHAPTERS if c.key in records}
    if len(profiles) > 1:
        print(f"note: the book mixes profiles {sorted(profiles)}")
    execute.write_headline(records.get("07", {}).get("profile") or next(iter(sorted(profiles)), "cpu"))
    execute.write_profiles_table()
    for chapter in registry.CHAPTERS:
        execute.fold_code(staged(chapter.stem))
        execute.show_parameters(staged(chapter.stem))
    shutil.rmtree(HTML, ignore_errors=True)  # no stale pages, images or offline assets
    jb_seconds, warnings = execute.run_jupyter_book(strict=strict)
    if offline:
        execute.drop_unused_cdn_urls(HTML)

    problems = checks.check_pages(records, figure_check=figure_check)
    problems += checks.check_assets(offline=offline) + unplanned
    if offline:  # CDN pages need the network to typeset, which the check does not have
        problems += checks.check_rendering()
    print(f"\njupyter-book build: {format_seconds(jb_seconds)}, {len(warnings)} warning(s)")
    for w in warnings:
        print(f"  {w}")
    return problems
