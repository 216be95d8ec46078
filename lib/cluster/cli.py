"""The command line: ``python -m lib.cluster`` and the SLURM flags of ``scripts/build_book.py``.

    python -m lib.cluster [--chapters 05 06] [--profile paper] [--executor status|local|slurm]
                          [--workers N] [--slurm-config FILE] [--partition P] [--sbatch FLAG=VALUE ...]
                          [--dry-run]

plans the chapters' runs (:mod:`lib.cluster.plan`), then shows their status (the default), trains the
missing ones here (:mod:`lib.cluster.local`, in ``--workers`` processes) or submits them to SLURM
(:mod:`lib.cluster.slurm`), with one summary line per chapter and one line per failed run.
"""
from __future__ import annotations

import argparse
import sys
from typing import Any

from .. import parallel
from .. import settings as book_settings  # the BOOK_* variables (``settings`` here means SlurmSettings)
from ..chapters import registry
from ..config import config_hash
from ..plan import configs, merge
from .local import run_local
from .plan import chapter_plan, summary_line, with_status
from .slurm import ClusterError, SlurmSettings, check_cluster, load_settings, submit_slurm


def add_arguments(ap: argparse.ArgumentParser) -> None:
    """The SLURM settings flags (they override the config file)."""
    g = ap.add_argument_group("SLURM (with --executor slurm; override the [slurm] table of slurm.toml)")
    g.add_argument("--slurm-config", metavar="FILE",
                   help="TOML file with a [slurm] table (default: $BOOK_SLURM_CONFIG or ./slurm.toml when present)")
    g.add_argument("--partition")
    g.add_argument("--gpus-per-node", type=int)
    g.add_argument("--cpus-per-task", type=int)
    g.add_argument("--mem-gb", type=float)
    g.add_argument("--timeout-min", type=int, help="time limit per job; longer runs are requeued and resume")
    g.add_argument("--array-parallelism", type=int, dest="slurm_array_parallelism",
                   help="jobs of one stage's array running at once")
    g.add_argument("--sbatch", action="append", default=[], metavar="FLAG=VALUE",
                   help="extra sbatch flag, e.g. --sbatch account=myproj --sbatch qos=high (repeatable)")
    g.add_argument("--dry-run", action="store_true", help="plan and show the status; submit nothing")


def _positive(text: str) -> int:
    """A command-line number >= 1."""
    if not text.strip().isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}")
    return int(text)


def add_workers_argument(ap: argparse.ArgumentParser) -> None:
    """``--workers N``: processes that train a stage's missing runs here (:mod:`lib.parallel`)."""
    ap.add_argument("--workers", type=_positive, metavar="N",
                    help=f"processes training the runs of a stage here (default: ${parallel.WORKERS_ENV}, else 1 with a GPU, "
                         "else the number of cores; 1 trains in this process)")


def settings_from_args(args: argparse.Namespace) -> SlurmSettings:
    """:class:`~lib.cluster.slurm.SlurmSettings` from the config file and the flags of :func:`add_arguments`."""
    extra = {}
    for item in args.sbatch:
        if "=" not in item:
            raise ClusterError(f"--sbatch {item!r}: expected FLAG=VALUE, e.g. account=myproj")
        k, v = item.split("=", 1)
        extra[k.lstrip("-")] = v
    s = load_settings(args.slurm_config, partition=args.partition, gpus_per_node=args.gpus_per_node,
                      cpus_per_task=args.cpus_per_task, mem_gb=args.mem_gb, timeout_min=args.timeout_min,
                      slurm_array_parallelism=args.slurm_array_parallelism)
    s.extra.update(extra)
    s.check()
    return s


def dispatch_chapters(chapter_params: dict[str, dict[str, Any]], settings: SlurmSettings | None, *,
                      dry_run: bool = False, local: bool = False, workers: int = 1, out=print) -> int:
    """Plan the chapters' runs (chapter key -> its papermill parameters), submit what is missing to
    SLURM with ``settings`` (or train it here with ``local``, in ``workers`` processes; only show the
    status with ``dry_run`` or no settings) and print one summary line per chapter plus one line per failed run.
    Returns 1 when a run failed, else 0."""
    if settings is not None and not dry_run:
        check_cluster(settings)  # before planning, so that a bad setting fails fast
    per_chapter = {k: chapter_plan(k, **params) for k, params in chapter_params.items()}
    merged = merge(per_chapter.values())
    out(f"{sum(map(len, merged))} distinct runs in {len(merged)} stage(s) for chapter(s) {', '.join(per_chapter)}")
    if local and not dry_run:
        result = run_local(merged, workers=workers)
    elif dry_run or settings is None:
        result = with_status(merged)
    else:
        result = submit_slurm(merged, settings)
    by_hash = {p.hash: p for s in result for p in s}
    failed = 0
    for k, plan in per_chapter.items():
        planned = [by_hash[config_hash(c)] for c in configs(plan)]
        out("chapter " + summary_line(k, planned))
        for p in planned:
            if p.status == "failed":
                out("  " + p.line())
                failed += 1
    if dry_run or (settings is None and not local):
        out("(status only: nothing submitted)")
    elif not local:
        out("stages are chained with SLURM dependencies; run the same command again to see progress, "
            "then build the book without --executor slurm once every run is done")
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    """``python -m lib.cluster [--chapters 05 06] [--profile paper] [--executor local|slurm] [SLURM flags]``:
    plan, then show the status (default), train locally, or submit to SLURM."""
    ap = argparse.ArgumentParser(prog="python -m lib.cluster", description=main.__doc__)
    ap.add_argument("--chapters", nargs="+", default=list(registry.KEYS),
                    help=f"chapter keys (default: all, {' '.join(registry.KEYS)})")
    ap.add_argument("--profile", default="cpu")
    ap.add_argument("--executor", choices=("status", "local", "slurm"), default="status")
    add_workers_argument(ap)
    add_arguments(ap)
    args = ap.parse_args(argv)
    try:
        book_settings.check_all()  # a misspelt or bad BOOK_* variable stops here, before any planning
        params = {registry.key_of(k): {"profile": args.profile} for k in args.chapters}
        settings = settings_from_args(args) if args.executor == "slurm" and not args.dry_run else None
        return dispatch_chapters(params, settings, dry_run=args.dry_run, local=args.executor == "local",
                                 workers=args.workers or parallel.default_workers())
    except parallel.RunFailed as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except (ClusterError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
