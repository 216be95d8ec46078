"""What a reader's browser makes of the built pages: headless Chromium opens each page at a given window
width, runs its scripts (MathJax, the widget manager) and reports, per page, every table or preformatted
block wider than the content column, whether the maths was typeset, how many widgets rendered, and the
page's height; it also takes the screenshots of ``scripts/screenshots.py``.

The measurement needs no browser driver: a small wrapper page next to the built HTML loads the page in
an ``<iframe>`` of the window's width, measures it with a script once the page's own scripts had their
time, and writes the result into its own DOM, which ``chromium --dump-dom`` prints. Files opened from
disk read each other only with ``--allow-file-access-from-files``. Chromium is found on ``PATH``
(``apt-get install chromium``) or given explicitly; :func:`find_chromium` returns None when there is none,
and the build then says that the check was skipped.
"""
from __future__ import annotations

import html as html_lib
import json
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

#: Names the Chromium binary goes by.
CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
#: Flags for a headless Chromium on a machine without network or GPU (no sandbox: CI runs as root).
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars",
         "--allow-file-access-from-files")
#: Folders of the built HTML that hold assets, not pages.
NOT_PAGES = ("_static", "_sources", "_images", "vendor")

_WRAPPER = """<!doctype html><html><body>
<iframe id="page" src="{src}" style="width:{width}px;height:{height}px;border:0"></iframe>
<script>
const frame = document.getElementById('page');
frame.addEventListener('load', () => setTimeout(() => {{
  let out;
  try {{
    const d = frame.contentDocument;
    const col = d.querySelector('article.bd-article') || d.querySelector('main') || d.body;
    const right = col.getBoundingClientRect().right;
    const wide = [];
    d.querySelectorAll('table, pre').forEach(el => {{
      const r = el.getBoundingClientRect();
      if (r.width === 0 || (el.checkVisibility && !el.checkVisibility())) return;  // hidden (folded code)
      if (el.scrollWidth > el.clientWidth + 1 || r.right > right + 1)
        wide.push({{tag: el.tagName.toLowerCase(), width: Math.round(Math.max(el.scrollWidth, r.width)),
                   start: (el.innerText || '').replace(/\\s+/g, ' ').trim().slice(0, 70)}});
    }});
    const text = d.body.innerText;
    out = {{height: d.documentElement.scrollHeight, column: Math.round(col.clientWidth), wide: wide,
           typeset: d.querySelectorAll('mjx-container').length,
           raw_tex: (text.match(/\\\\(frac|alpha|mathbb|sum)\\b/g) || []).length,
           widget_views: d.querySelectorAll('script[type="application/vnd.jupyter.widget-view+json"]').length,
           widgets: d.querySelectorAll('.jupyter-widgets, .widget-box, .widget-inline-hbox').length}};
  }} catch (e) {{ out = {{error: String(e)}}; }}
  document.body.setAttribute('data-measure', JSON.stringify(out));
}}, {delay}));
</script></body></html>
"""


@dataclass(frozen=True)
class Wide:
    """A table or preformatted block wider than the content column (or scrolling inside it)."""

    tag: str
    width: int
    start: str


@dataclass(frozen=True)
class PageMeasure:
    """One page as Chromium rendered it at a given window width."""

    page: str
    height: int
    column: int
    wide: tuple[Wide, ...]
    typeset: int
    raw_tex: int
    widget_views: int
    widgets: int

    def problems(self) -> list[str]:
        """What a reader would miss: clipped blocks, maths left as TeX, widgets not drawn."""
        out = [f"{self.page}: {w.tag} {w.width} px wide in a {self.column} px column ({w.start!r})" for w in self.wide]
        if self.raw_tex and not self.typeset:
            out.append(f"{self.page}: {self.raw_tex} TeX commands shown as text, no maths typeset")
        if self.widget_views and not self.widgets:
            out.append(f"{self.page}: {self.widget_views} widget views, none rendered")
        return out


def find_chromium(given: str | None = None) -> str | None:
    """Path of the Chromium binary: ``given`` (which must exist), else the first of :data:`CANDIDATES` on
    ``PATH``, else None."""
    if given:
        path = shutil.which(given)
        if path is None:
            raise FileNotFoundError(f"no Chromium at {given!r}")
        return path
    return next((p for p in map(shutil.which, CANDIDATES) if p), None)


def pages(html: Path) -> list[str]:
    """Every built page of ``html``, relative and without ``.html`` (``intro``, ``chapters/05_pruning_mlp``),
    sorted; search and index pages excluded."""
    out = []
    for p in html.rglob("*.html"):
        rel = p.relative_to(html)
        if rel.parts[0] in NOT_PAGES or rel.stem in ("search", "genindex", "index") or rel.name.startswith("_measure"):
            continue
        out.append(str(rel.with_suffix("")))
    return sorted(out)


def parse_measure(dom: str, page: str) -> PageMeasure:
    """The :class:`PageMeasure` the wrapper wrote into ``dom`` (Chromium's ``--dump-dom`` output)."""
    m = re.search(r'data-measure="([^"]*)"', dom)
    if m is None:
        raise RuntimeError(f"{page}: the page did not finish loading in time (no measurement in the DOM)")
    d = json.loads(html_lib.unescape(m.group(1)))
    if "error" in d:
        raise RuntimeError(f"{page}: measuring failed in the browser: {d['error']}")
    wide = tuple(Wide(w["tag"], int(w["width"]), w["start"]) for w in d["wide"])
    return PageMeasure(page, int(d["height"]), int(d["column"]), wide, int(d["typeset"]), int(d["raw_tex"]),
                       int(d["widget_views"]), int(d["widgets"]))


def measure(chromium: str, html: Path, page: str, *, width: int = 1280, wait_ms: int = 8000,
            timeout_s: float = 180) -> PageMeasure:
    """Open ``page`` of ``html`` at ``width`` px in headless Chromium, give its scripts ``wait_ms`` of
    virtual time, and measure it (see the module docstring)."""
    target = html / f"{page}.html"
    if not target.is_file():
        raise FileNotFoundError(f"page {page!r} is not in {html}; built pages: {', '.join(pages(html))}")
    with tempfile.NamedTemporaryFile("w", suffix=".html", prefix="_measure", dir=html, delete=False) as f:
        f.write(_WRAPPER.format(src=target.relative_to(html).as_posix(), width=width, height=1600, delay=wait_ms))
        wrapper = Path(f.name)
    try:
        with tempfile.TemporaryDirectory(prefix="chromium-") as profile:
            res = subprocess.run([chromium, *FLAGS, f"--user-data-dir={profile}", f"--window-size={width + 40},1600",
                                  f"--virtual-time-budget={wait_ms + 20000}", "--dump-dom", wrapper.as_uri()],
                                 capture_output=True, text=True, timeout=timeout_s)
    finally:
        wrapper.unlink(missing_ok=True)
    if res.returncode != 0:
        raise RuntimeError(f"Chromium failed on {page} (exit {res.returncode}):\n{res.stderr[-2000:]}")
    return parse_measure(res.stdout, page)


def screenshot(chromium: str, html: Path, page: str, out: Path, *, width: int = 1280, height: int = 2400,
               wait_ms: int = 8000, timeout_s: float = 180) -> None:
    """Render ``page`` of ``html`` headless into the PNG ``out`` (the first ``height`` px at ``width``)."""
    target = html / f"{page}.html"
    with tempfile.TemporaryDirectory(prefix="chromium-") as profile:
        res = subprocess.run([chromium, *FLAGS, f"--user-data-dir={profile}", f"--window-size={width},{height}",
                              f"--virtual-time-budget={wait_ms}", f"--screenshot={out}", target.as_uri()],
                             capture_output=True, text=True, timeout=timeout_s)
    if res.returncode != 0 or not out.is_file():
        raise RuntimeError(f"Chromium failed on {page} (exit {res.returncode}):\n{res.stderr[-2000:]}")
