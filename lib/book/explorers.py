"""Explorers that answer: every explorer of the built pages (:mod:`lib.chapters.explore`) opened in headless
Chromium from disk, as a reader opens it, each of its menus, sliders and checkboxes changed through the DOM,
and the drawing compared before and after each change.

A page counts as failing when an explorer is not drawn, has no control, or a change of one of its controls
leaves its SVG as it was, and when the browser logs a console error or an uncaught exception meanwhile. The
browser is driven over the DevTools protocol (:class:`lib.book.console.DevTools`). ``python -m
lib.book.explorers [--shots DIR]`` runs the check on ``_build/html`` and can save a screenshot of the first
explorer before and after its first control changes.
"""
from __future__ import annotations

import base64
import json
import time
from pathlib import Path
from typing import Any

from ..chapters.explore import CLASS
from .console import PAGE_TIMEOUT_S, QUIET_S, DevTools, _Visit, pages

#: Seconds the in-page exercise of one page may take: up to 60 s waiting for the drawings, then its controls.
EXERCISE_TIMEOUT_S = 180.0
#: Runs in the page: waits for every explorer to be drawn, then changes each control of each one in turn
#: and reports, per control, whether the explorer's SVG changed. Returns a JSON list.
EXERCISE_JS = """(async () => {
  const wait = (ms) => new Promise((r) => setTimeout(r, ms));
  const divs = [...document.querySelectorAll('.%(cls)s')];
  for (let i = 0; i < 600 && divs.some((d) => !d.dataset.state); i++) await wait(100);
  const out = [];
  for (const div of divs) {
    const name = div.dataset.explorer, res = (window.bookExplorers || {})[div.id];
    if (div.dataset.state !== 'drawn' || !res) {
      out.push({name, problem: 'not drawn (' + (div.dataset.state || 'no state') + ') ' + div.textContent.slice(0, 200)});
      continue;
    }
    const svg = () => (div.querySelector('svg') || {}).outerHTML || '';
    const controls = [...div.querySelectorAll('.vega-bindings select, .vega-bindings input')];
    if (!controls.length) out.push({name, problem: 'no controls'});
    for (const c of controls) {
      const named = (c.closest('.vega-bind') || div).querySelector('.vega-bind-name');
      const label = ((named && named.textContent) || c.name || '').trim();
      const before = svg();
      if (c.tagName === 'SELECT') {
        if (c.options.length < 2) { out.push({name, control: label, problem: 'a menu with one choice'}); continue; }
        c.selectedIndex = (c.selectedIndex + 1) %% c.options.length;
      } else if (c.type === 'checkbox') {
        c.checked = !c.checked;
      } else if (c.type === 'range') {
        const v = +c.value, lo = +c.min, hi = +c.max, step = +c.step || 1;
        c.value = v + step <= hi ? v + step : lo;
      } else { out.push({name, control: label, problem: 'an input of type ' + c.type}); continue; }
      c.dispatchEvent(new Event('input', {bubbles: true}));
      c.dispatchEvent(new Event('change', {bubbles: true}));
      await res.view.runAsync();
      await wait(50);
      out.push({name, control: label, changed: svg() !== before});
    }
  }
  return JSON.stringify(out);
})()"""

#: Waits (up to 60 s: a loaded machine draws slowly) until every explorer of the page is drawn or failed.
DRAWN_JS = """(async () => {
  const divs = [...document.querySelectorAll('.%(cls)s')];
  for (let i = 0; i < 600 && divs.some((d) => !d.dataset.state); i++) await new Promise((r) => setTimeout(r, 100));
})()"""

#: Changes the first control of the first explorer (as :data:`EXERCISE_JS` does) and returns its label.
FIRST_CHANGE_JS = """(async () => {
  const div = document.querySelector('.%(cls)s'), res = (window.bookExplorers || {})[div.id];
  if (!res) throw new Error('the first explorer was not drawn (' + (div.dataset.state || 'no state') + ')');
  const c = div.querySelector('.vega-bindings select, .vega-bindings input');
  if (c.tagName === 'SELECT') c.selectedIndex = (c.selectedIndex + 1) %% c.options.length;
  else if (c.type === 'checkbox') c.checked = !c.checked;
  else c.value = +c.value + (+c.step || 1) <= +c.max ? +c.value + (+c.step || 1) : +c.min;
  c.dispatchEvent(new Event('input', {bubbles: true}));
  c.dispatchEvent(new Event('change', {bubbles: true}));
  await res.view.runAsync();
  const named = (c.closest('.vega-bind') || div).querySelector('.vega-bind-name');
  return ((named && named.textContent) || c.name || '').trim();
})()"""

#: The box of the first explorer in CSS pixels of the page, scrolled into view first (at once: the theme
#: scrolls smoothly, and a box measured mid-scroll is off).
BOX_JS = """(async () => {
  const div = document.querySelector('.%(cls)s');
  div.scrollIntoView({block: 'center', behavior: 'instant'});
  await new Promise((r) => setTimeout(r, 300));
  const r = div.getBoundingClientRect();
  return JSON.stringify({x: r.left + window.scrollX, y: r.top + window.scrollY, width: r.width, height: r.height});
})()"""


def explorer_pages(html: Path) -> list[str]:
    """The pages of ``html`` (:func:`lib.book.console.pages`) that hold an explorer's div."""
    return [p for p in pages(html) if f'class="{CLASS}"' in (html / p).read_text(encoding="utf-8", errors="replace")]


def _evaluate(browser: DevTools, session: str, js: str, timeout_s: float = PAGE_TIMEOUT_S) -> Any:
    """The value of the promise (or expression) ``js`` in the page; RuntimeError when it threw."""
    r = browser.send("Runtime.evaluate", {"expression": js % {"cls": CLASS}, "awaitPromise": True,
                                          "returnByValue": True}, session=session, timeout_s=timeout_s)
    if "exceptionDetails" in r:
        d = r["exceptionDetails"]
        raise RuntimeError(str((d.get("exception") or {}).get("description") or d.get("text"))[:400])
    return r["result"].get("value")


def _settle(browser: DevTools, session: str, seen: _Visit, deadline: float, quiet_s: float = QUIET_S) -> None:
    """Handle the page's events until it loaded and no request was in flight for ``quiet_s``."""
    while True:
        now = time.monotonic()
        if (seen.loaded and not seen.in_flight and now - seen.last_activity >= quiet_s) or now >= deadline:
            if now >= deadline:
                seen.add(f"not settled within {PAGE_TIMEOUT_S:.0f} s")
            return
        for event in browser.events(min(deadline, now + quiet_s / 3)):
            if event.get("sessionId") == session:
                seen.handle(event.get("method", ""), event.get("params", {}))


def exercise(browser: DevTools, html: Path, page: str, *, shots: Path | None = None) -> tuple[list[dict[str, Any]], list[str]]:
    """Open ``page`` in a fresh tab with storage of its own, change every control of every explorer
    (:data:`EXERCISE_JS`) and return (one dict per control: name, control, changed; or a problem), the
    console errors, uncaught exceptions and failed requests meanwhile). With ``shots``: first saves
    ``<page stem>-before.png`` and ``-after.png`` of the first explorer around a change of its first control."""
    root = html.resolve().as_uri() + "/"
    seen = _Visit(root)
    context = browser.send("Target.createBrowserContext")["browserContextId"]
    target = browser.send("Target.createTarget", {"url": "about:blank", "browserContextId": context})["targetId"]
    session = browser.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
    try:
        for domain in ("Runtime", "Log", "Network", "Page"):
            browser.send(f"{domain}.enable", session=session)
        browser.send("Page.navigate", {"url": root + page}, session=session)
        _settle(browser, session, seen, time.monotonic() + PAGE_TIMEOUT_S)
        if shots is not None:
            browser.send("Emulation.setDeviceMetricsOverride", {"width": 1280, "height": 1600, "deviceScaleFactor": 1,
                                                                 "mobile": False}, session=session)
            _evaluate(browser, session, DRAWN_JS)
            stem = Path(page).stem
            _shot(browser, session, shots / f"{stem}-before.png")
            _evaluate(browser, session, FIRST_CHANGE_JS)
            time.sleep(0.3)
            _shot(browser, session, shots / f"{stem}-after.png")
            browser.send("Page.reload", session=session)
            seen.loaded = False
            _settle(browser, session, seen, time.monotonic() + PAGE_TIMEOUT_S)
        report = json.loads(_evaluate(browser, session, EXERCISE_JS, timeout_s=EXERCISE_TIMEOUT_S) or "[]")
        _settle(browser, session, seen, time.monotonic() + PAGE_TIMEOUT_S, quiet_s=0.3)
    finally:
        browser.send("Target.disposeBrowserContext", {"browserContextId": context})
        browser.pending = [e for e in browser.pending if e.get("sessionId") != session]
    return report, seen.finish()


def _shot(browser: DevTools, session: str, path: Path) -> None:
    """A PNG of the first explorer's box (with a margin) at ``path``."""
    box = json.loads(_evaluate(browser, session, BOX_JS))
    time.sleep(0.2)
    clip = {"x": max(0, box["x"] - 10), "y": max(0, box["y"] - 10), "width": box["width"] + 20,
            "height": box["height"] + 20, "scale": 1}
    png = browser.send("Page.captureScreenshot", {"format": "png", "clip": clip, "captureBeyondViewport": False},
                       session=session)["data"]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(base64.b64decode(png))


def problems_of(page: str, report: list[dict[str, Any]], console: list[str]) -> list[str]:
    """One line per explorer that is not drawn or has no control, per control whose change left the drawing
    as it was, and per console error of the page."""
    out = [f"{page}: explorer {r['name']}" + (f", control {r['control']!r}" if r.get("control") else "")
           + f": {r['problem']}" for r in report if r.get("problem")]
    out += [f"{page}: explorer {r['name']}, control {r['control']!r}: changing it left the drawing as it was"
            for r in report if not r.get("problem") and not r.get("changed")]
    return out + [f"{page}: {m}" for m in console]


def check(chromium: str, html: Path, pages_: list[str] | None = None) -> tuple[int, int, list[str]]:
    """Exercise every explorer of ``html`` (or of ``pages_``); returns (explorers, controls changed, problems)."""
    todo = explorer_pages(html) if pages_ is None else pages_
    explorers = controls = 0
    problems: list[str] = []
    with DevTools(chromium) as browser:
        for page in todo:
            try:
                report, console = exercise(browser, html, page)
            except (RuntimeError, TimeoutError, OSError) as exc:
                problems.append(f"{page}: explorers not checked ({type(exc).__name__}: {str(exc)[:300]})")
                continue
            explorers += len({r["name"] for r in report})
            controls += sum(1 for r in report if "changed" in r)
            problems += problems_of(page, report, console)
    return explorers, controls, problems


def main(argv: list[str] | None = None) -> int:
    import argparse

    from . import rendered
    from .layout import HTML

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--html", type=Path, default=HTML)
    ap.add_argument("--shots", type=Path, help="save <page>-before.png / -after.png of the first explorer here")
    args = ap.parse_args(argv)
    chromium = rendered.find_chromium()
    if chromium is None:
        print("no Chromium on this machine")
        return 2
    if args.shots:
        with DevTools(chromium) as browser:
            for page in explorer_pages(args.html):
                exercise(browser, args.html, page, shots=args.shots)
    n, controls, problems = check(chromium, args.html)
    print(f"explorer check: {n} explorers, {controls} controls changed, {len(problems)} problem(s)")
    for p in problems:
        print(f"  {p}")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
