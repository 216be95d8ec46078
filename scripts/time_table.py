"""Where a profile's training time goes, read from the run cache (``BOOK_RUNS_DIR``, default ``runs/``): per
chapter and run kind, the runs, the mean recorded training seconds of one, their sum and its share of the book
(:func:`lib.book.status.time_by_kind`), as Markdown for the README or the notes.

    python scripts/time_table.py --profile cpu [--least 0.02] [--chapters 02 05]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lib import profiles  # noqa: E402
from lib.book import status  # noqa: E402
from lib.chapters import registry  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--profile", default="cpu", choices=sorted(profiles.PROFILES),
                    help="the profile whose plans are read (default cpu)")
    ap.add_argument("--chapters", nargs="+", metavar="NN", help="only these chapters (default: every chapter)")
    ap.add_argument("--least", type=float, default=0.02,
                    help="a chapter's kinds under this share of the book are summed into one row (default 0.02)")
    a = ap.parse_args(argv)
    keys = a.chapters or [c.key for c in registry.CHAPTERS]
    unknown = sorted(set(keys) - {c.key for c in registry.CHAPTERS})
    if unknown:
        ap.error(f"unknown chapter(s) {', '.join(unknown)}; the chapters are "
                 f"{', '.join(c.key for c in registry.CHAPTERS)}")
    rows = status.time_by_kind({k: {"parameters": {"profile": a.profile}} for k in keys})
    print("| Chapter | Run kind | Runs | Seconds each | Minutes | Share of the book |")
    print("|---|---|---:|---:|---:|---:|")
    print("\n".join(status.kind_rows(rows, least=a.least)))
    total = sum(r["minutes"] for r in rows)
    runs = sum(r["runs"] for r in rows)
    timed = sum(r["timed"] for r in rows)
    print(f"\n{runs} runs, {timed} with a recorded time: {total:.1f} min of training in all (each run's own "
          "seconds; runs train side by side).")
    per = {}
    for r in rows:
        per[r["chapter"]] = per.get(r["chapter"], 0.0) + r["minutes"]
    print("Per chapter: " + "; ".join(f"{int(k)}: {v:.1f} min ({v / total:.0%})" for k, v in per.items() if total))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
