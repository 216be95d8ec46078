"""Screenshots and layout checks of built book pages in headless Chromium: what a reader sees.

    python scripts/screenshots.py --all                # every page of _build/html: measure, then screenshot
    python scripts/screenshots.py chapters/04_width --height 6000 --out /tmp/shots
    python scripts/screenshots.py --all --measure-only # the checks alone, no pictures

Each page is opened from the file system (no server, no network: the default build vendors its
MathJax, require.js and widget manager), its scripts get ``--wait-ms`` of virtual time, and then
(:mod:`lib.book.rendered`) every table or preformatted block wider than the content column at
``--width`` px is listed, with whether the maths was typeset and the widgets drawn. Screenshots go to
``<out>/<page>.png``: the whole page (up to ``--max-height`` px) with ``--all``, else the first
``--height`` px. Exit status 1 when any page has a problem. Needs Chromium (``apt-get install
chromium``); the binary is looked up on PATH or given with ``--chromium``.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lib.book import rendered  # noqa: E402

HTML = ROOT / "_build" / "html"
DEFAULT_PAGES = ("intro", "chapters/05_pruning_mlp")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("pages", nargs="*", help=f"pages relative to the HTML root (default {', '.join(DEFAULT_PAGES)})")
    ap.add_argument("--all", action="store_true", help="every built page, screenshots of the whole page")
    ap.add_argument("--measure-only", action="store_true", help="check the layout, take no screenshots")
    ap.add_argument("--html", type=Path, default=HTML, help="built HTML folder (default _build/html)")
    ap.add_argument("--out", type=Path, default=ROOT / "_build" / "screenshots")
    ap.add_argument("--width", type=int, default=1280)
    ap.add_argument("--height", type=int, default=2400, help="screenshot height without --all")
    ap.add_argument("--max-height", type=int, default=16000, help="screenshot height cap with --all")
    ap.add_argument("--wait-ms", type=int, default=8000, help="virtual time for scripts (MathJax, widgets)")
    ap.add_argument("--chromium", default=None)
    args = ap.parse_args(argv)
    chromium = rendered.find_chromium(args.chromium)
    if chromium is None:
        raise SystemExit(f"no Chromium found (tried {', '.join(rendered.CANDIDATES)}); install it with "
                         "`apt-get install chromium` or pass --chromium PATH")
    todo = rendered.pages(args.html) if args.all else (args.pages or list(DEFAULT_PAGES))
    args.out.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []
    for page in todo:
        m = rendered.measure(chromium, args.html, page, width=args.width, wait_ms=args.wait_ms)
        problems += m.problems()
        line = (f"{page}: {m.height:,d} px high, column {m.column} px, {len(m.wide)} too wide, "
                f"{m.typeset} formulas typeset, {m.widgets} widgets drawn of {m.widget_views} views")
        if not args.measure_only:
            out = args.out / (page.replace("/", "_") + ".png")
            height = min(m.height, args.max_height) if args.all else args.height
            rendered.screenshot(chromium, args.html, page, out, width=args.width, height=height, wait_ms=args.wait_ms)
            line += f" -> {out}"
        print(line, flush=True)
    for p in problems:
        print(f"PROBLEM {p}")
    print(f"{len(todo)} pages at {args.width} px: {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
