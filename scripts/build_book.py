#!/usr/bin/env python
"""Build the book in one command: train each chapter's planned runs, execute every chapter with papermill, then render the HTML.

    python scripts/build_book.py [--profile NAME] [--chapters 02 05 ...]
                                 [-p NAME VALUE ...] [--offline] [--no-figure-check] [--workers N] [--validate]
                                 [--executor local|slurm [SLURM flags] [--dry-run]]

``--executor local`` (the default) builds the book. Before a chapter's notebook executes, the build
trains the runs its plan lists (``lib.chapters.registry.plan``, the same plan SLURM submission uses)
that are not in the run cache, in ``--workers`` processes (default ``$BOOK_WORKERS``, else 1 with a GPU, else the cores;
``lib/parallel.py``: stage after stage, each run with the threads the thread policy gives its model,
one thread for every model of the cpu profile), printing one plain line as each run starts and ends, with an estimate of the time
left; the notebook then finds every run cached. ``--executor slurm`` builds nothing: it plans the chosen
chapters' runs (with the same profile and ``-p`` parameters), submits the missing ones to SLURM with
submitit (see ``lib.cluster``: one job array per stage, stages chained with SLURM dependencies,
settings from ``slurm.toml`` and the SLURM flags) and exits with one line per chapter: runs done /
running / submitted / failed. Run it again to see progress; once every run is done, a plain build uses them.

Layout (everything under ``_build/``, which is git-ignored; see ``lib/book/layout.py``):

* ``_build/book/``            the staged book: ``_config.yml``, ``_toc.yml``, ``references.bib``, the Markdown pages,
                              a generated ``status.md`` and ``chapters/NN_*.ipynb`` = the notebooks
                              as papermill executed them. ``jupyter-book build`` runs on this copy
                              with ``execute_notebooks: "off"``, so nothing is executed twice.
* ``_build/html/index.html``  the rendered book.
* ``_build/status.json``      per-chapter execution records (kept across builds, so building only
                              some chapters keeps the others' earlier results and timings).
* ``_build/last_build.json``  whether the last build finished: "building" (with its step) until every
                              page of the HTML exists, then "ok" / "checks failed" / "failed";
                              ``python -m lib.book.status`` reads it back against the HTML.
* ``_build/build.lock``       flock'ed while a build runs: a second build in this clone stops at once.
* ``_build/jupyter/``         a kernelspec ``python3`` pinned to this interpreter (put first on
                              ``JUPYTER_PATH`` so no user-level kernelspec can shadow it).

Steps: stage sources -> per chosen chapter, train its planned runs, then execute it (a failing run
or cell stops the build and prints the chapter and the traceback; before chapter 7, the chapters whose
verdicts it would find missing or damaged are executed too) -> write status.md ->
``jupyter-book build`` -> checks (``lib/book/checks.py``): (a) no executed notebook holds an error
output, (b) every page exists in the HTML, (c) every chapter has at least the figures and tables
``lib.chapters.registry.CHAPTERS`` asks of it, counted both in the executed notebook and in the
chapter's HTML, (d) every local script/stylesheet an HTML page references exists (and, with
``--offline``, that no page loads a script from the network), (e) no notebook trained a run (a new
folder in ``runs/train``) that its chapter's plan does not list.

``-p NAME VALUE`` sets a papermill parameter; VALUE is read as a Python literal when it is one
(``-p epochs 3``, ``-p widths "[64, 128]"``, ``-p arch_cnn None``), otherwise as a string
(``-p arch resnet50``). It goes to every selected chapter whose parameters cell declares NAME;
``-p 05:density 0.05`` targets chapter 05 only. A NAME no selected chapter declares is an error.

By default the HTML uses local copies of MathJax, require.js and the ipywidgets html-manager
(fetched from the npm registry into ``_static_offline/vendor/`` on first use and reused, see
``lib/book/assets.py``), so the book reads with the network off. When they cannot be fetched the
build says so and that build's HTML loads them from CDNs; ``--offline`` makes that an error, ``--cdn``
keeps the CDN defaults.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from lib import cluster, parallel  # noqa: E402
from lib import text_data as lib_text  # noqa: E402
from lib import settings as book_settings  # noqa: E402  (the BOOK_* variables)
from lib.book import assets, build, params  # noqa: E402
from lib.chapters import registry  # noqa: E402
from lib.book.layout import DEFAULT_PROFILE, HTML, PROFILES, ROOT, VENDOR, BuildError, format_seconds  # noqa: E402


def parser() -> argparse.ArgumentParser:
    """The command line: the build's flags, then the SLURM flags of :func:`lib.cluster.add_arguments`."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--profile", choices=PROFILES, default=DEFAULT_PROFILE,
                    help="experiment size passed to every chapter, one of the profiles of lib/profiles.py "
                         f"(default {DEFAULT_PROFILE})")
    ap.add_argument("--chapters", nargs="+", metavar="NN",
                    help="execute only these chapters (02 ... 10); the others keep their last "
                         "executed copy, or show the unexecuted source if they never ran")
    ap.add_argument("-p", "--param", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
                    help="papermill parameter (VALUE read as a Python literal when possible); "
                         "NN:NAME targets one chapter")
    ap.add_argument("--no-execute", action="store_true",
                    help="execute nothing; rebuild the HTML from the notebooks already in _build/book")
    ap.add_argument("--no-figure-check", action="store_true",
                    help="skip the minimum-figures/tables check (error outputs are still checked)")
    ap.add_argument("--offline", action="store_true",
                    help="require local MathJax/require.js/html-manager (the default when they can be fetched "
                         "into _static_offline/): a failed fetch is an error instead of a fall-back to CDNs")
    ap.add_argument("--cdn", action="store_true",
                    help="load MathJax/require.js/html-manager from CDNs (no fetch, no local copies)")
    ap.add_argument("--fetch-offline-assets", action="store_true",
                    help="(re)download the offline assets and exit")
    ap.add_argument("--strict", action="store_true", help="treat Sphinx warnings as errors")
    ap.add_argument("-v", "--verbose", action="store_true", help="stream cell outputs while executing")
    ap.add_argument("--executor", choices=("local", "slurm"), default="local",
                    help="local: build the book, training each chapter's missing runs first (default); slurm: "
                         "submit the chapters' missing runs to SLURM, print a summary per chapter and exit")
    ap.add_argument("--validate", action="store_true",
                    help="check that every planned run of the chosen chapters can execute (data sizes, model, "
                         "init weights, mask rules, one optimiser step with statistics on a stand-in batch, on CPU) "
                         "and exit; non-zero on the first failure, naming the run")
    cluster.cli.add_workers_argument(ap)
    cluster.add_arguments(ap)
    return ap


def validate(chapter_params: dict[str, dict]) -> int:
    """``--validate``: :func:`lib.book.dryrun.check_plans` over the chapters' plans; 0 when all pass."""
    from lib.book import dryrun

    plans = ((k, registry.plan(k, **p)) for k, p in chapter_params.items())
    try:
        done = dryrun.check_plans(plans)
    except dryrun.PlanCheckFailed as exc:
        print(f"VALIDATION FAILED: {exc}\n{exc.trace}", file=sys.stderr)
        return 1
    print(f"validate: {done.distinct} distinct planned runs of chapters {', '.join(done.runs)} can run "
          f"({done.checked} code paths checked, {format_seconds(done.seconds)})")
    return 0


def dispatch_slurm(args: argparse.Namespace, chapter_params: dict[str, dict]) -> int:
    """``--executor slurm``: plan the chapters' runs, submit the missing ones (or, ``--dry-run``, only
    show their status) and print one line per chapter."""
    if not chapter_params:
        raise BuildError("--executor slurm with --no-execute: nothing to plan")
    try:
        settings = None if args.dry_run else cluster.settings_from_args(args)
        return cluster.dispatch_chapters(chapter_params, settings, dry_run=args.dry_run)
    except cluster.ClusterError as exc:
        raise BuildError(f"SLURM: {exc}") from None


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    t_start = time.perf_counter()
    try:
        try:
            book_settings.check_all()  # a misspelt or bad BOOK_* variable stops the build before anything runs
        except ValueError as exc:
            raise BuildError(str(exc)) from None
        if args.fetch_offline_assets:
            print(f"offline assets in {assets.fetch_offline_assets(VENDOR, force=True)}")
            return 0
        keys = params.selected(args.chapters, execute=not args.no_execute)
        declared = params.declared_parameters()
        chapter_params = params.chapter_params(args.profile, args.param, keys, declared)
        text = [k for k in chapter_params if registry.get(k).text]
        if text:  # their runs' identity holds the corpus's fingerprint, so even a plan needs it
            try:
                lib_text.ensure_brown()
            except lib_text.BrownNotFoundError as exc:
                raise BuildError(f"chapter {', '.join(text)} needs the Brown corpus: {exc}") from None
        if args.validate:
            return validate(chapter_params)
        if args.executor == "slurm":
            return dispatch_slurm(args, chapter_params)
        if args.dry_run:
            raise BuildError("--dry-run goes with --executor slurm")
        try:
            workers = args.workers or parallel.default_workers()
        except ValueError as exc:
            raise BuildError(str(exc)) from None
        offline = assets.use_offline(offline=args.offline, cdn=args.cdn)  # only a build makes pages
        problems = build.build(chapter_params, declared, offline=offline, strict=args.strict,
                               verbose=args.verbose, figure_check=not args.no_figure_check, workers=workers)
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
