"""The build's steps in order: stage the sources, train and execute the chosen chapters (and, before
chapter 7, the chapters whose verdicts it would find missing or damaged: :func:`chapters_to_recompute`),
write the Status page, fold code, ``jupyter-book build``, check, and only then mark the Status page and
``_build/last_build.json`` finished. One build at a time per clone (:mod:`lib.book.lock`).
``scripts/build_book.py`` parses the command line and calls :func:`build`."""
from __future__ import annotations

import shutil
import time
from typing import Any

from ..chapters import registry
from ..plan import Plan
from . import checks, execute, lock, progress, status
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
        except BuildError as exc:
            records[key] = {**record, "result": "failed", "seconds": None, "error": str(exc)}
            status.save_status(records)
            raise
        problems += checks.unplanned_runs(key, before, checks.run_folders())
        seconds = time.perf_counter() - t0
        records[key] = {**record, "result": "ok", "seconds": round(seconds, 1), "runs_trained": training.trained,
                        "runs_cached": training.cached}
        status.save_status(records)
        print(f"   done in {format_seconds(seconds)}" + (
            f" (training {format_seconds(training.seconds)}, notebook {format_seconds(notebook_s)})"
            if training.trained else ""), flush=True)
    return problems


def chapters_to_recompute(chapter_params: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The chapters a gathering chapter of ``chapter_params`` (chapter 7, whose module's ``missing_sources``
    names them) would find without readable verdicts, missing or damaged (a damaged file is set aside with a
    warning naming it), that this build does not execute: {key: the papermill parameters that make it store
    the verdicts chapter 7 reads}. Prints a line for each, and for a chapter this build executes with other
    parameters than those chapter 7 reads."""
    out: dict[str, dict[str, Any]] = {}
    for key, params in chapter_params.items():
        if not registry.get(key).gathers:
            continue
        mod = registry.module(key)
        try:
            setup = mod.setup(**params)
        except (TypeError, ValueError) as exc:
            raise BuildError(f"chapter {key}: cannot set up with {params}: {type(exc).__name__}: {exc}") from None
        for source_key, (wanted, why) in mod.missing_sources(setup).items():
            if source_key not in chapter_params:
                print(f"chapter {key} reads the verdicts of chapter {source_key}, which are {why}: "
                      f"executing chapter {source_key} first with {wanted}", flush=True)
                out[source_key] = wanted
            elif {**wanted, **chapter_params[source_key]} != wanted:
                print(f"note: chapter {source_key} runs with {chapter_params[source_key]}, chapter {key} reads its "
                      f"verdicts for {wanted}: chapter {key} will list them as missing", flush=True)
    return out


def with_recomputed(chapter_params: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """``chapter_params`` and the chapters of :func:`chapters_to_recompute`, in execution order."""
    extra = chapters_to_recompute(chapter_params)
    both = {**extra, **chapter_params}
    return {k: both[k] for k in registry.execution_order(list(both))}


def _why(exc: BaseException) -> str:
    """What stopped the build, for ``_build/last_build.json``."""
    if isinstance(exc, BuildError):
        return str(exc)
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted (KeyboardInterrupt)"
    return f"{type(exc).__name__}: {exc}"


def _finish_status_page() -> list[str]:
    """Once every page of the HTML exists, turn the Status page's sentence to finished
    (:func:`status.finish_status_page`); the problem when it cannot be found there."""
    if status.html_missing() or status.finish_status_page(status.now("%Y-%m-%d %H:%M")):
        return []
    return ["status page: its build-state sentence is not in status.html, so it cannot say the build finished"]


def _outcome(problems: list[str]) -> tuple[str, str]:
    """The state the build ends in (:class:`status.BuildState`) and why: "failed" while pages are missing
    from the HTML, "checks failed" with problems, else "ok"."""
    missing = status.html_missing()
    if missing:
        return "failed", f"{len(missing)} page(s) missing from the HTML: {', '.join(missing[:5])}"
    if problems:
        return "checks failed", f"{len(problems)} check(s) failed"
    return "ok", ""


def build(chapter_params: dict[str, dict[str, Any]], declared: dict[str, dict[str, Any]], *,
          offline: bool, strict: bool = False, verbose: bool = False, figure_check: bool = True,
          workers: int = 1) -> list[str]:
    """Build the book, executing the chapters in ``chapter_params`` (none: re-render only), their runs
    trained in ``workers`` processes; ``declared`` = each notebook's parameters, for the Status page.
    Holds the build lock throughout (:func:`lock.build_lock`: a second build stops at once, naming the
    first) and records its state in ``_build/last_build.json`` (:class:`status.BuildState`): "building"
    from the start, "ok" only at the end with every page in the HTML. Returns the failed checks."""
    with lock.build_lock():
        previous = status.last_build()
        if previous["state"] in ("building", "interrupted"):
            print(f"note: the previous build did not finish ({status.last_build_line(previous)})")
        state = status.BuildState(previous=previous)
        state.at("staging the sources")
        try:
            problems = _steps(state, chapter_params, declared, offline=offline, strict=strict, verbose=verbose,
                              figure_check=figure_check, workers=workers)
            problems += _finish_status_page()
        except BaseException as exc:
            state.end("failed", _why(exc))
            raise
        state.end(*_outcome(problems))
        return problems


def _steps(state: status.BuildState, chapter_params: dict[str, dict[str, Any]], declared: dict[str, dict[str, Any]],
           *, offline: bool, strict: bool, verbose: bool, figure_check: bool, workers: int) -> list[str]:
    """The steps of :func:`build`, each recorded in ``state`` as it starts; returns the failed checks."""
    source_sha = {c.key: status.sha256(source(c.stem)) for c in registry.CHAPTERS}
    execute.stage_sources(offline=offline)
    records = status.load_status()
    state.at("executing chapters")
    chapter_params = with_recomputed(chapter_params) if chapter_params else {}
    unplanned = (execute_chapters(chapter_params, records, source_sha, verbose=verbose, workers=workers)
                 if chapter_params else [])

    state.at("writing the status page")
    (STAGE / "status.md").write_text(status.status_markdown(
        records, declared, source_sha, status.now("%Y-%m-%d %H:%M UTC"), status.training_rows(records),
        status.measured_builds(), executed=set(chapter_params), previous=state.previous,
        kinds=status.kind_rows(status.time_by_kind(records), least=status.KIND_LEAST)))
    profiles = {records[c.key]["profile"] for c in registry.CHAPTERS if c.key in records}
    if len(profiles) > 1:
        print(f"note: the book mixes profiles {sorted(profiles)}")
    execute.write_headline(records.get("07", {}).get("profile") or next(iter(sorted(profiles)), "cpu"))
    execute.write_profiles_table()
    for chapter in registry.CHAPTERS:
        execute.fold_code(staged(chapter.stem))
        execute.show_parameters(staged(chapter.stem))
    state.at("rendering the HTML")
    shutil.rmtree(HTML, ignore_errors=True)  # no stale pages, images or offline assets
    jb_seconds, warnings = execute.run_jupyter_book(strict=strict)

    state.at("checking the HTML")
    problems = checks.check_pages(records, figure_check=figure_check)
    problems += checks.check_assets(offline=offline) + unplanned
    if offline:  # CDN pages need the network to typeset and load, which the checks do not have
        problems += checks.check_rendering() + checks.check_console() + checks.check_explorers()
    print(f"\njupyter-book build: {format_seconds(jb_seconds)}, {len(warnings)} warning(s)")
    for w in warnings:
        print(f"  {w}")
    return problems
