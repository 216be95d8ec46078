"""What the run cache's checks cost per hit, measured side by side on one cache (``BOOK_RUNS_DIR``).

For every finished run: the check of a hit before issue 24 (names and sizes: a ``stat`` per file), the
executor's hit now (:func:`lib.runs.hit`: every file's SHA-256, and ``config.json`` compared), and a
reader's reads (every file read once, plain versus hashed as read, :meth:`lib.runs.Run.read_bytes`).
The files are read once first, so all timings are from the page cache (a warm rebuild). Prints the
totals over the cache, the mean per run and the ratios, each the best of ``--repeat`` rounds.

    BOOK_RUNS_DIR=/path/to/runs .venv/bin/python benchmarks/cache_hits.py [--repeat 3]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from lib import manifest, paths, runs  # noqa: E402


def timed(f, folders: list[Path], repeat: int) -> float:
    """Best total seconds of ``f(folder)`` over ``folders``, of ``repeat`` rounds."""
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        for d in folders:
            f(d)
        best = min(best, time.perf_counter() - t)
    return best


def shallow(d: Path) -> None:
    assert manifest.check_folder(d, runs.REQUIRED) is None


def deep(d: Path) -> None:
    assert manifest.check_folder(d, runs.REQUIRED, deep=True) is None
    manifest.read_checked(d, paths.CONFIG_FILE, manifest.read_manifest(d))


def plain_reads(d: Path) -> None:
    for name in manifest.read_manifest(d):
        (d / name).read_bytes()


def checked_reads(d: Path) -> None:
    files = manifest.read_manifest(d)
    for name in files:
        manifest.read_checked(d, name, files)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    train = paths.runs_dir() / "train"
    folders = sorted(p for p in train.iterdir() if not p.name.startswith(".") and p.is_dir())
    if not folders:
        sys.exit(f"no runs in {train}")
    size = sum(s for d in folders for s, _ in manifest.read_manifest(d).values())
    timed(plain_reads, folders, 1)  # into the page cache
    rows = {name: timed(f, folders, args.repeat) for name, f in
            [("hit check before (names, sizes)", shallow), ("hit check now (SHA-256, config.json)", deep),
             ("reading every file, plain", plain_reads), ("reading every file, hashed as read", checked_reads)]}
    print(f"{len(folders)} runs, {size / 1e6:.1f} MB in {train}")
    for name, s in rows.items():
        print(f"{name:40s} total {s:8.3f} s   per run {1e3 * s / len(folders):8.3f} ms")
    names = list(rows)
    print(f"ratio hit now / hit before: {rows[names[1]] / rows[names[0]]:.1f}x; "
          f"hashed / plain reads: {rows[names[3]] / rows[names[2]]:.2f}x; "
          f"SHA-256 throughput {size / 1e6 / rows[names[1]]:.0f} MB/s")


if __name__ == "__main__":
    main()
