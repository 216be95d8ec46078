"""A clean console: every built page opened in headless Chromium as a reader opens it from disk, and every
error the browser meets reported with its page: console messages of level error, uncaught exceptions,
and requests that failed (a missing file, a network error, an HTTP status of 400 or more).

Chromium is driven over the DevTools protocol on a pipe (``--remote-debugging-pipe``: commands are read
from file descriptor 3, replies and events written to 4, each one JSON message ended by a NUL byte), so
no browser driver or websocket library is needed. One browser opens each page in a fresh tab, waits for
its load event and then until no request was in flight for :data:`QUIET_S` (MathJax and the widget
manager load their parts after the load event), and closes the tab. Each page gets a browser context of
its own, so no page sees what another left in local storage.
"""
from __future__ import annotations

import json
import os
import select
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .rendered import FLAGS, NOT_PAGES

#: Seconds without a request in flight, after the load event, before a page counts as settled.
QUIET_S = 1.5
#: Seconds one page may take to load and settle before that is itself a problem.
PAGE_TIMEOUT_S = 60.0
#: Console API calls that are errors.
ERROR_CALLS = ("error", "assert")


def pages(html: Path) -> list[str]:
    """Every HTML page of ``html`` a reader can open, relative (``intro.html``, ``chapters/02_coherence.html``,
    ``search.html``), sorted; asset folders and the layout check's temporary wrappers left out."""
    return sorted(str(p.relative_to(html)) for p in html.rglob("*.html")
                  if p.relative_to(html).parts[0] not in NOT_PAGES and not p.name.startswith("_measure"))


class DevTools:
    """A headless Chromium and its DevTools protocol over a pipe. ``send`` returns a command's result;
    the events that arrive meanwhile wait in :attr:`pending` for :meth:`events`."""

    def __init__(self, chromium: str, *, width: int = 1280, height: int = 1600) -> None:
        self._profile = tempfile.TemporaryDirectory(prefix="chromium-")
        self._log = tempfile.TemporaryFile()  # Chromium's stderr; a pipe nobody reads would fill and stall it
        to_browser, self._commands = os.pipe()
        self._replies, from_browser = os.pipe()

        def as_fds_3_and_4() -> None:  # in the child, before exec: the pipe ends where Chromium expects them
            a, b = os.dup(to_browser), os.dup(from_browser)  # copies first: either end may sit on 3 or 4
            os.dup2(a, 3)
            os.dup2(b, 4)
            os.set_inheritable(3, True)  # dup2 onto itself (a == 3) keeps the copy's close-on-exec flag
            os.set_inheritable(4, True)

        try:
            self.proc = subprocess.Popen(
                [chromium, *FLAGS, f"--user-data-dir={self._profile.name}", f"--window-size={width},{height}",
                 "--remote-debugging-pipe", "about:blank"],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=self._log,
                close_fds=False, preexec_fn=as_fds_3_and_4)
        except OSError:  # no such binary, not executable
            os.close(self._commands)
            os.close(self._replies)
            self._log.close()
            self._profile.cleanup()
            raise
        finally:
            os.close(to_browser)  # the browser's ends: open in the browser alone from now on
            os.close(from_browser)
        self._buffer = b""
        self._next_id = 0
        self.pending: list[dict[str, Any]] = []

    def __enter__(self) -> DevTools:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Ask the browser to quit, kill it if it does not, and remove its profile."""
        try:
            self.send("Browser.close", timeout_s=10)
        except (RuntimeError, OSError, TimeoutError):
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for fd in (self._commands, self._replies):
            try:
                os.close(fd)
            except OSError:
                pass
        self._log.close()
        self._profile.cleanup()

    def _read(self, deadline: float) -> dict[str, Any] | None:
        """The next message from the browser, or None when ``deadline`` (time.monotonic) passed first."""
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._replies], [], [], left)[0]:
                return None
            chunk = os.read(self._replies, 1 << 16)
            if not chunk:
                self._log.seek(0)
                err = self._log.read().decode(errors="replace")[-2000:]
                raise RuntimeError(f"Chromium closed the DevTools pipe (exit {self.proc.poll()}): {err}")
            self._buffer += chunk
        raw, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(raw)

    def send(self, method: str, params: dict[str, Any] | None = None, *, session: str | None = None,
             timeout_s: float = 30) -> dict[str, Any]:
        """Run one DevTools command (in the tab ``session`` when given) and return its result."""
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._commands, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout_s
        while True:
            reply = self._read(deadline)
            if reply is None:
                raise TimeoutError(f"no reply to {method} within {timeout_s} s")
            if reply.get("id") != self._next_id:
                self.pending.append(reply)
                continue
            if "error" in reply:
                raise RuntimeError(f"{method}: {reply['error'].get('message')}")
            return reply.get("result", {})

    def events(self, deadline: float) -> list[dict[str, Any]]:
        """The events waiting, or else the next one to arrive before ``deadline``; [] when none came."""
        if not self.pending:
            message = self._read(deadline)
            if message is not None:
                self.pending.append(message)
        out, self.pending = self.pending, []
        return out


@dataclass
class _Visit:
    """What one page's events add up to."""

    root: str
    problems: list[str] = field(default_factory=list)
    urls: dict[str, str] = field(default_factory=dict)
    in_flight: set[str] = field(default_factory=set)
    failed_urls: set[str] = field(default_factory=set)
    network_log: list[tuple[str, str]] = field(default_factory=list)
    loaded: bool = False
    last_activity: float = 0.0

    def short(self, text: str) -> str:
        """``text`` with the HTML folder's address cut off its URLs."""
        return text.replace(self.root, "")

    def add(self, message: str) -> None:
        message = self.short(" ".join(message.split()))[:400]
        if message not in self.problems:
            self.problems.append(message)

    def handle(self, method: str, p: dict[str, Any]) -> None:
        """Note one DevTools event of the page."""
        if method.startswith("Network."):
            self.last_activity = time.monotonic()
        if method == "Page.loadEventFired":
            self.loaded = True
            self.last_activity = time.monotonic()
        elif method == "Runtime.consoleAPICalled" and p.get("type") in ERROR_CALLS:
            words = [str(a["value"]) if "value" in a else a.get("description") or a.get("type", "")
                     for a in p.get("args", [])]
            self.add(f"console.{p['type']}: {' '.join(words)}{_where(p.get('stackTrace'))}")
        elif method == "Runtime.exceptionThrown":
            d = p["exceptionDetails"]
            text, thrown = d.get("text") or "Uncaught", d.get("exception") or {}
            what = str(thrown.get("description") or thrown.get("value") or "").split("\n", 1)[0]
            where = f" ({d['url']}:{d.get('lineNumber', 0) + 1})" if d.get("url") else _where(d.get("stackTrace"))
            self.add(f"{text if what in text else f'{text} {what}'}{where}")  # "Uncaught (in promise) TypeError: ..."
        elif method == "Log.entryAdded" and p["entry"].get("level") == "error":
            entry = p["entry"]
            message = f"{entry.get('source', 'browser')}: {entry.get('text', '')}" + (
                f" ({entry['url']})" if entry.get("url") else "")
            if entry.get("source") == "network":  # kept until the end: the request's own failure may come later
                self.network_log.append((entry.get("url", ""), message))
            else:
                self.add(message)
        elif method == "Network.requestWillBeSent":
            self.urls[p["requestId"]] = p["request"]["url"]
            self.in_flight.add(p["requestId"])
        elif method == "Network.responseReceived":
            status, url = p["response"].get("status", 0), p["response"].get("url", "")
            if status >= 400:
                self.failed_urls.add(url)
                self.add(f"request failed: HTTP {status} {p['response'].get('statusText', '')} {url}")
        elif method in ("Network.loadingFinished", "Network.loadingFailed"):
            self.in_flight.discard(p["requestId"])
            if method == "Network.loadingFailed":
                url = self.urls.get(p["requestId"], "?")
                self.failed_urls.add(url)
                reason = p.get("blockedReason") or p.get("corsErrorStatus", {}).get("corsError") or ""
                self.add(f"request failed: {p.get('errorText', '')} {reason} {url}")

    def finish(self) -> list[str]:
        """The problems of the page, with the browser's network log lines for requests not reported already."""
        for url, message in self.network_log:
            if url not in self.failed_urls:
                self.add(message)
        return self.problems


def _where(stack: dict[str, Any] | None) -> str:
    """`` (file:line)`` of a stack trace's top frame, or ''."""
    frames = (stack or {}).get("callFrames") or []
    return f" ({frames[0]['url']}:{frames[0]['lineNumber'] + 1})" if frames and frames[0].get("url") else ""


def visit(browser: DevTools, html: Path, page: str, *, quiet_s: float = QUIET_S,
          timeout_s: float = PAGE_TIMEOUT_S) -> list[str]:
    """Open ``page`` (relative to ``html``) from disk in a fresh tab of ``browser``, with storage of its own (as
    a first visit: no theme mode or other state left by another page), and return what went wrong, each as
    ``"<page>: <message>"``, URLs relative to ``html``; [] for a clean page."""
    root = html.resolve().as_uri() + "/"
    seen = _Visit(root)
    context = browser.send("Target.createBrowserContext")["browserContextId"]  # storage of its own
    target = browser.send("Target.createTarget", {"url": "about:blank", "browserContextId": context})["targetId"]
    session = browser.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
    try:
        for domain in ("Runtime", "Log", "Network", "Page"):
            browser.send(f"{domain}.enable", session=session)
        nav = browser.send("Page.navigate", {"url": root + page}, session=session)
        if nav.get("errorText"):
            seen.add(f"the page itself did not load: {nav['errorText']}")
        deadline = time.monotonic() + timeout_s
        while True:
            now = time.monotonic()
            if seen.loaded and not seen.in_flight and now - seen.last_activity >= quiet_s:
                break
            if now >= deadline:
                stuck = sorted(seen.urls[r] for r in seen.in_flight)
                seen.add(f"not settled within {timeout_s:.0f} s (load event {'fired' if seen.loaded else 'never fired'}"
                         + (f"; still loading {', '.join(stuck[:3])}" if stuck else "") + ")")
                break
            for event in browser.events(min(deadline, now + quiet_s / 3)):
                if event.get("sessionId") == session:
                    seen.handle(event.get("method", ""), event.get("params", {}))
    finally:
        browser.send("Target.disposeBrowserContext", {"browserContextId": context})
        browser.pending = [e for e in browser.pending if e.get("sessionId") != session]
    return [f"{page}: {m}" for m in seen.finish()]


def check(chromium: str, html: Path, pages_: list[str] | None = None) -> tuple[int, list[str]]:
    """Open every page of ``html`` (or ``pages_``) in one headless Chromium; returns the number of pages
    opened and the problems of all of them (see :func:`visit`). A page the browser could not open is a
    problem too, not a crash."""
    todo = pages(html) if pages_ is None else pages_
    problems: list[str] = []
    with DevTools(chromium) as browser:
        for page in todo:
            try:
                problems += visit(browser, html, page)
            except (RuntimeError, TimeoutError, OSError) as exc:
                problems.append(f"{page}: not checked in Chromium ({type(exc).__name__}: {str(exc)[:300]})")
                if browser.proc.poll() is not None:
                    problems += [f"{p}: not checked, Chromium had quit" for p in todo[todo.index(page) + 1:]]
                    break
    return len(todo), problems
