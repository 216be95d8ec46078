"""Screenshots of built book pages with headless Chromium, to see what a reader sees.

    python scripts/screenshots.py                      # intro and chapter 5 of _build/html
    python scripts/screenshots.py chapters/04_width --height 6000 --out /tmp/shots

Each page is opened from the file system (no server, no network needed when the book was built
with ``--offline``), given ``--wait-ms`` of virtual time for MathJax and the widget manager to run,
and saved as ``<out>/<page>.png`` (full width ``--width``, the first ``--height`` pixels).
Needs Chromium (``apt-get install chromium``); the binary is looked up as chromium,
chromium-browser, google-chrome, or given with ``--chromium``.
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HTML = ROOT / "_build" / "html"
DEFAULT_PAGES = ("intro", "chapters/05_pruning_mlp")
CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def find_chromium(given: str | None) -> str:
    """Path of the Chromium binary: ``given``, else the first of :data:`CANDIDATES` on PATH."""
    for name in ([given] if given else CANDIDATES):
        path = shutil.which(name)
        if path:
            return path
    raise SystemExit(f"no Chromium found (tried {', '.join([given] if given else CANDIDATES)}); "
                     "install it with `apt-get install chromium` or pass --chromium PATH")


def page_file(html: Path, page: str) -> Path:
    """The HTML file of ``page`` (``intro`` or ``chapters/05_pruning_mlp``, with or without .html)."""
    f = html / (page if page.endswith(".html") else page + ".html")
    if not f.is_file():
        known = sorted(str(p.relative_to(html).with_suffix("")) for p in html.rglob("*.html")
                       if "_static" not in p.parts and "vendor" not in p.parts)
        raise SystemExit(f"page {page!r} is not in {html}; built pages: {', '.join(known)}")
    return f


def screenshot(chromium: str, page: Path, out: Path, *, width: int, height: int, wait_ms: int) -> None:
    """Render ``page`` headless into the PNG ``out``."""
    cmd = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
           "--disable-background-networking", "--hide-scrollbars", "--allow-file-access-from-files",
           f"--window-size={width},{height}", f"--virtual-time-budget={wait_ms}",
           f"--screenshot={out}", page.as_uri()]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=180)
    if res.returncode != 0 or not out.is_file():
        raise SystemExit(f"Chromium failed on {page} (exit {res.returncode}):\n{res.stderr[-2000:]}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("pages", nargs="*", default=list(DEFAULT_PAGES), help="pages relative to the HTML root")
    ap.add_argument("--html", type=Path, default=HTML, help="built HTML folder (default _build/html)")
    ap.add_argument("--out", type=Path, default=ROOT / "_build" / "screenshots")
    ap.add_argument("--width", type=int, default=1280)
    ap.add_argument("--height", type=int, default=2400)
    ap.add_argument("--wait-ms", type=int, default=15000, help="virtual time for scripts (MathJax, widgets)")
    ap.add_argument("--chromium", default=None)
    args = ap.parse_args(argv)
    chromium = find_chromium(args.chromium)
    args.out.mkdir(parents=True, exist_ok=True)
    for page in args.pages:
        f = page_file(args.html, page)
        out = args.out / (page.replace("/", "_").removesuffix(".html") + ".png")
        screenshot(chromium, f, out, width=args.width, height=args.height, wait_ms=args.wait_ms)
        print(f"{f.relative_to(args.html)} -> {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
