"""Two sets of stored verdicts side by side (say the cpu book at 3 seeds, then at 5): how many claims are held /
not held / inconclusive / not measured in each, and every claim whose verdict changed, with both intervals and
their numbers of seeds (:func:`lib.chapters.verdicts.compare`), as Markdown for the README or the notes; and how
many claims whose test forecast that the larger number of seeds would decide them were decided
(:func:`lib.chapters.verdicts.power_check`).

    python scripts/compare_verdicts.py BEFORE AFTER

BEFORE and AFTER are verdict folders of one profile, ``<runs>/verdicts/<profile>`` or copies of them.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lib.chapters import verdicts  # noqa: E402


def markdown(counts: pd.DataFrame, changed: pd.DataFrame) -> str:
    """The count table (:func:`lib.chapters.verdicts.compare`'s: a row per verdict, columns ``before`` and
    ``after``) and the changed claims (one row per claim) as Markdown."""
    lines = ["| Verdict | Before | After |", "|---|---:|---:|"]
    lines += [f"| {v} | {r.before} | {r.after} |" for v, r in counts.iterrows()]
    lines += [f"| **all** | {counts['before'].sum()} | {counts['after'].sum()} |", ""]
    if not len(changed):
        return "\n".join(lines + ["No claim changed its verdict."])
    lines += [f"{len(changed)} claims changed:", "",
              "| Claim | Chapter | Before | After |", "|---|---|---|---|"]
    for r in changed.itertuples():
        lines.append(f"| `{r.claim_id}` | {r.chapter} | {r.verdict_before}: {r.interval_before or '–'} "
                     f"| {r.verdict_after}: {r.interval_after or '–'} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("before", type=Path, help="verdict folder of the first build (<runs>/verdicts/<profile>)")
    ap.add_argument("after", type=Path, help="verdict folder of the second build")
    a = ap.parse_args(argv)
    for folder in (a.before, a.after):
        if not folder.is_dir():
            ap.error(f"{folder} is not a folder; give <runs>/verdicts/<profile> of a built book")
    before, after = verdicts.load_folder(a.before), verdicts.load_folder(a.after)
    counts, changed = verdicts.compare(before, after)
    print(markdown(counts, changed))
    most = max((verdicts.seeds_of(t) or 0 for t in after["test"]), default=0)
    named, decided = verdicts.power_check(before, after, most)
    print(f"\nOf the {named} claims inconclusive before whose test said at most {most} seeds would decide them "
          f"(80 % power at the observed effect) and that were tested over {most} seeds after, {decided} were "
          "decided.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
