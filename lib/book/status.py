"""``_build/status.json`` (one execution record per chapter, kept across builds) and the Status page
generated from it: when and how each chapter ran, the training behind it, the parameters it accepts.

Whether the build itself finished is kept apart from the chapters' records: ``_build/last_build.json``
(:class:`BuildState`) says "building" from the start, with the step reached, and "ok" only once every page of
the HTML exists and every check passed; the Status page carries the :data:`BUILDING` sentence until then
(:func:`finish_status_page`). :func:`last_build` reads the state back, checked against the HTML that is there
(``python -m lib.book.status`` prints it, exit status 0 only for "ok")."""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import platform
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from .. import paths, runs
from ..chapters import registry
from ..config import TrainConfig, config_hash
from ..plan import configs, run_kind
from .layout import HTML, LAST_BUILD, REQUIRED_PAGES, STAGE, STATUS_JSON, format_seconds


def load_status() -> dict[str, dict[str, Any]]:
    """The records of earlier builds ({} when there are none or the file is unreadable)."""
    try:
        return json.loads(STATUS_JSON.read_text())
    except (OSError, ValueError):
        return {}


def write_atomic(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` in one step (a temporary file beside it, then ``os.replace``): a kill
    leaves the old file or the new one, never a part."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def save_status(records: dict[str, dict[str, Any]]) -> None:
    """Write the chapters' records to ``_build/status.json`` (atomically)."""
    write_atomic(STATUS_JSON, json.dumps(records, indent=1, sort_keys=True) + "\n")


def sha256(path: Path) -> str:
    """16 hex digits of the file's SHA-256 (tells a stale executed chapter from a current one)."""
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def now(fmt: str = "%Y-%m-%d %H:%M") -> str:
    """The UTC time, formatted."""
    return dt.datetime.now(dt.timezone.utc).strftime(fmt)


def machine_summary() -> str:
    """'Linux x86_64, 2 CPUs' plus the GPU name when nvidia-smi reports one (torch not imported)."""
    s = f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs"
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"],
                             capture_output=True, text=True, timeout=20)
        gpus = [g.strip() for g in out.stdout.splitlines() if g.strip()]
        if out.returncode == 0 and gpus:
            s += ", " + ", ".join(gpus)
    except (OSError, subprocess.SubprocessError):
        pass
    return s


def planned_runs(key: str, record: dict[str, Any]) -> dict[str, TrainConfig]:
    """``{hash: config}`` of the runs :func:`lib.chapters.registry.plan` lists for chapter ``key``
    with the parameters its status ``record`` ran with (the same plan the build trains and SLURM submits)."""
    return {config_hash(c): c for c in configs(registry.plan(key, **record.get("parameters", {})))}


#: The class of the block around the chapters' table (``_static/front.css`` makes it compact).
STATUS_CLASS = "book-status"


def _label(chapter: registry.Chapter) -> str:
    """A chapter as the Status page names it: "2. Coherence on real versus random data"."""
    return f"{int(chapter.key)}. {chapter.title}"


def _own_runs(records: dict[str, dict[str, Any]]) -> Iterator[tuple[registry.Chapter, dict[str, TrainConfig],
                                                                   dict[str, TrainConfig], Exception | None]]:
    """For each executed chapter in book order: (chapter, its planned runs by hash, the runs no earlier chapter
    planned, None), or (chapter, {}, {}, the error) when its plan cannot be made from its record."""
    seen: set[str] = set()
    for chapter in registry.CHAPTERS:
        if chapter.key not in records:
            continue
        try:
            planned = planned_runs(chapter.key, records[chapter.key])
        except Exception as exc:
            yield chapter, {}, {}, exc
            continue
        own = {h: c for h, c in planned.items() if h not in seen}
        seen.update(planned)
        yield chapter, planned, own, None


def training_rows(records: dict[str, dict[str, Any]]) -> list[str]:
    """Markdown rows "chapter | runs | in the cache | training time | shared": for each executed
    chapter, the training runs planned for it (:func:`planned_runs`), how many are in the run cache,
    and the summed ``train_seconds`` of their ``info.json`` (what a build from an empty cache spends
    on them, whatever this build found cached). A run used by an earlier chapter is counted there
    and listed as shared here."""
    rows: list[str] = []
    for chapter, planned, own, exc in _own_runs(records):
        if exc is not None:  # parameters an older notebook declared: say so, do not fail the build
            # one short line: a long or many-line message (a missing corpus's how-to) would widen the table
            rows.append(f"| {_label(chapter)} | ? | ? | ? | ? ({_first_line(f'{type(exc).__name__}: {exc}', 120)}) |")
            continue
        infos = [runs.Run(c, paths.run_dir(h)).info for h, c in own.items() if runs.is_cached(c)]
        secs = [i["train_seconds"] for i in infos if "train_seconds" in i]
        trained = f"{sum(secs) / 60:.1f} min" if secs else "–"
        if len(infos) > len(secs):
            trained += f" (+{len(infos) - len(secs)} runs without a recorded time)"
        rows.append(f"| {_label(chapter)} | {len(own)} | {len(infos)} | {trained} | {len(planned) - len(own) or '–'} |")
    return rows


#: The share of the book under which a chapter's run kinds are summed into one row of the Status page.
KIND_LEAST = 0.01


def time_by_kind(records: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Where the training time goes: one row per executed chapter and run kind (:func:`lib.plan.run_kind`) with the
    chapter's own runs of that kind (a run planned by an earlier chapter is counted there, as in
    :func:`training_rows`), how many recorded a training time in the cache, their mean seconds, their summed
    minutes and that sum's share of every recorded second. Times are each run's own wall-clock seconds; with
    several workers side by side the build's wall-clock time is shorter than their sum. Rows by chapter, then by
    minutes, largest first."""
    rows: list[dict[str, Any]] = []
    for chapter, planned, own, exc in _own_runs(records):
        if exc is not None:  # parameters an older notebook declared, data not found: say so, do not fail
            rows.append({"chapter": chapter.key, "kind": f"plan not read ({type(exc).__name__}: "
                         f"{_first_line(str(exc), 100)})", "runs": 0, "timed": 0, "seconds": None, "minutes": 0.0})
            continue
        kinds: dict[str, list[float | None]] = {}
        for h, c in own.items():
            info = runs.Run(c, paths.run_dir(h)).info if runs.is_cached(c) else {}
            kinds.setdefault(run_kind(c), []).append(info.get("train_seconds"))
        for kind, secs in kinds.items():
            timed = [x for x in secs if x is not None]
            rows.append({"chapter": chapter.key, "kind": kind, "runs": len(secs), "timed": len(timed),
                         "seconds": sum(timed) / len(timed) if timed else None, "minutes": sum(timed) / 60})
    total = sum(r["minutes"] for r in rows)
    for r in rows:
        r["share"] = r["minutes"] / total if total else None
    return sorted(rows, key=lambda r: (r["chapter"], -r["minutes"]))


def kind_rows(rows: list[dict[str, Any]], least: float = 0.0) -> list[str]:
    """Markdown rows "chapter | run kind | runs | seconds each | minutes | share of the book" of
    :func:`time_by_kind`; the kinds of a chapter under ``least`` of the book are summed into one row "other"."""
    out: list[str] = []
    labels = {c.key: _label(c) for c in registry.CHAPTERS}
    for key in dict.fromkeys(r["chapter"] for r in rows):
        mine = [r for r in rows if r["chapter"] == key]
        small = [r for r in mine if (r["share"] or 0.0) < least]
        for r in [r for r in mine if r not in small]:
            each = f"{r['seconds']:.1f}" if r["seconds"] is not None else "–"
            untimed = f" ({r['runs'] - r['timed']} not timed)" if r["timed"] < r["runs"] else ""
            share = f"{r['share']:.1%}" if r["share"] is not None else "–"
            out.append(f"| {labels[key]} | {r['kind']} | {r['runs']}{untimed} | {each} | {r['minutes']:.1f} | {share} |")
        if small:
            minutes = sum(r["minutes"] for r in small)
            share = sum(r["share"] or 0.0 for r in small)
            kinds = "1 other kind" if len(small) == 1 else f"{len(small)} other kinds, each"
            out.append(f"| {labels[key]} | {kinds} under {least:.0%} | "
                       f"{sum(r['runs'] for r in small)} | – | {minutes:.1f} | {share:.1%} |")
    return out


def gathered_before(chapter: registry.Chapter, record: dict[str, Any], records: dict[str, dict[str, Any]]) -> list[str]:
    """For a chapter that gathers the others' verdicts (chapter 7), the chapters executed after it (a later
    ``date`` in ``records``): its page no longer shows their verdicts. [] for any other chapter."""
    if not chapter.gathers or not record.get("date"):
        return []
    return [str(int(k)) for k, r in sorted(records.items())
            if k != chapter.key and r.get("result") == "ok" and str(r.get("date", "")) > str(record["date"])]


def _first_line(text: str, most: int = 160) -> str:
    """The first non-empty line of ``text``, cut to ``most`` characters, with table pipes escaped."""
    line = next((x.strip() for x in str(text).splitlines() if x.strip()), "")
    line = line if len(line) <= most else line[:most - 1] + "…"
    return line.replace("|", "\\|")


def _runs_cell(r: dict[str, Any], key: str) -> str:
    n = r.get(key)
    return "–" if n is None else str(n)


def _chapter_rows(records: dict[str, dict[str, Any]], source_sha: dict[str, str],
                  executed: set[str] | None = None) -> tuple[list[str], float, set, set]:
    """The execution table's rows, the chapters' summed seconds, the profiles and the machines they ran with.
    ``executed``: the chapters this build executed (the others' records are from earlier builds: "reused");
    None when unknown (every recorded chapter is then shown as executed at its date)."""
    rows: list[str] = []
    total = 0.0
    profiles, machines = set(), set()
    for chapter in registry.CHAPTERS:
        key, stem = chapter.key, chapter.stem
        r = records.get(key)
        link = f"[{_label(chapter)}](chapters/{stem}.ipynb)"
        if not r:
            rows.append(f"| {link} | not run | – | – | – | – | – | – | – |")
            continue
        this = "executed" if executed is None or key in executed else "reused"
        result = r.get("result", "?")
        if result == "ok" and r.get("source_sha") != source_sha.get(key):
            result = "stale"
        if result == "failed" and r.get("error"):
            result = f"failed: {_first_line(r['error'])}"
        later = gathered_before(chapter, r, records)
        if result == "ok" and later:
            result = f"stale: chapter{'s' if len(later) > 1 else ''} {', '.join(later)} ran again after it"
        overrides = ", ".join(f"`{k}={v!r}`" for k, v in r.get("parameters", {}).items()
                              if k != "profile") or "–"
        seconds = r.get("seconds")
        total += seconds or 0.0
        profiles.add(r.get("profile"))
        machines.add(r.get("machine", "?"))
        rows.append(f"| {link} | {this} | {r.get('profile', '?')} | "
                    f"{'–' if seconds is None else format_seconds(seconds)} | {_runs_cell(r, 'runs_trained')} | "
                    f"{_runs_cell(r, 'runs_cached')} | {r.get('date', '?')} | {result} | {overrides} |")
    return rows, total, profiles, machines


#: Whole builds measured by hand from an empty run cache (``benchmarks/book_times.json``); the Status page and
#: the intro show the latest one: what a first ``make book`` costs.
MEASURED_BUILDS = paths.ROOT / "benchmarks" / "book_times.json"


def _builds(path: Path) -> list[dict[str, Any]]:
    try:
        builds = json.loads(path.read_text())["builds"]
    except (OSError, ValueError, KeyError, TypeError):
        return []
    return builds if isinstance(builds, list) else []


def _machine(b: dict[str, Any]) -> str:
    """The measured build's machine in a few words: the first part of its ``machine`` field ("2 cores")."""
    return str(b.get("machine", "?")).split(",")[0].strip()


def measured_builds(path: Path = MEASURED_BUILDS) -> list[str]:
    """Markdown for the latest build measured from an empty run cache in ``path``: a one-row table (date,
    machine, the code's version, minutes in all), then its minutes per chapter; [] when there is none.

    The file holds {"builds": [{"label", "date", "commit", "machine", "note", "minutes": {chapter: min},
    "total": min}, ...]}, oldest first; only the last is shown (the page shows builds, not their history)."""
    builds = _builds(path)
    if not builds:
        return []
    b = builds[-1]
    chapters = sorted(b["minutes"])
    return ["| measured (UTC date) | machine | code version | minutes in all |", "|---|---|---|---:|",
            f"| {b['date']} | {_machine(b)} | `{b['commit']}` | **{b['total']:.1f}** |", "",
            "| minutes per chapter | " + " | ".join(str(int(k)) for k in chapters) + " |",
            "|---|" + "---:|" * len(chapters),
            "| training and notebook | " + " | ".join(f"{b['minutes'][k]:.1f}" for k in chapters) + " |"]


def previous_line(rec: dict[str, Any]) -> str:
    """One sentence on the build before this one when it did not end "ok": when it started, how it ended, at
    which step and why (the first line); '' for an ok build or none recorded."""
    state = rec.get("state")
    if state in (None, "ok", "never built"):
        return ""
    line = f"The build before this one (started {rec.get('started', '?')} UTC) ended as *{state}*"
    if state in ("failed", "interrupted", "building"):
        line += f" while {rec.get('step', '?')}"
    if rec.get("reason"):
        line += f": {_first_line(rec['reason'])}"
    return line + "."


def latest_build_sentence(path: Path = MEASURED_BUILDS) -> str:
    """One sentence on the most recent build in ``path`` (see :func:`measured_builds`): its total minutes, date,
    machine and slowest chapter; a note that none is recorded when the file has none."""
    builds = _builds(path)
    if not builds:
        return "No build from an empty run cache has been timed yet (see the Build status page)."
    b = builds[-1]
    slow = max(b["minutes"], key=b["minutes"].get)
    return (f"When we last measured it ({b['date']}, a machine with {_machine(b)}), the first `make book` from an "
            f"empty run cache took **{b['total']:.1f} minutes**, chapter {int(slow)} alone "
            f"{b['minutes'][slow]:.1f}; almost all of it is training.")


def status_markdown(records: dict[str, dict[str, Any]], declared: dict[str, dict[str, Any]],
                    source_sha: dict[str, str], generated: str, training: list[str] | None = None,
                    measured: list[str] | None = None, executed: set[str] | None = None,
                    previous: dict[str, Any] | None = None, kinds: list[str] | None = None) -> str:
    """The Status page: one row per chapter (executed by this build or reused, profile, time, runs trained and
    found in the cache, date, result and what failed), the training behind each chapter (rows of
    :func:`training_rows`), the latest build measured from an empty cache (lines of :func:`measured_builds`),
    then the parameters each chapter accepts with their defaults. ``executed``: the chapters this build
    executed; ``previous``: the record of the build before it (:func:`last_build`), said when it did not end
    well (:func:`previous_line`); ``kinds``: rows of :func:`kind_rows`, where the training time goes."""
    rows, total, profiles, machines = _chapter_rows(records, source_sha, executed)
    ran = [c for c in registry.CHAPTERS if executed and c.key in executed]
    lines = [
        "# Build status",
        "",
        BUILDING,
        "",
        f"Written by the build on {generated}. "
        + (f"This build executed chapter{'s' if len(ran) > 1 else ''} {', '.join(str(int(c.key)) for c in ran)}; "
           "every other chapter shows the copy an earlier build executed." if ran else
           "This build executed no chapter: every page shows the copy an earlier build executed." if executed is not None
           else ""),
        "",
        *([previous_line(previous), ""] if previous_line(previous or {}) else []),
        f":::{{container}} {STATUS_CLASS}",
        "| Chapter | In this build | Profile | Time | Runs trained | Runs found in the cache | Executed (UTC) "
        "| Result | Parameters set |",
        "|---|---|---|---:|---:|---:|---|---|---|",
        *rows,
        ":::",
        "",
        f"*Time* is the chapter's wall-clock time in the build that executed it: training its missing runs, then "
        f"running its notebook; in all {format_seconds(total)}. *Reused*: this build kept the page an earlier build "
        "executed (its row is that build's). *Stale*: the chapter's notebook changed after it ran, or, for the "
        "chapter that gathers the verdicts, chapters it reads ran again after it. *Not run*: the page shows the "
        "notebook without outputs."
        + (f" Machine: {', '.join(sorted(map(str, machines)))}." if machines else ""),
    ]
    if len(profiles) > 1:
        lines += ["", f"**Mixed profiles** ({', '.join(sorted(map(str, profiles)))}): the chapters "
                      "were not all executed with the same settings."]
    if training:
        lines += [
            "",
            "## Training behind each chapter",
            "",
            "A chapter whose runs are all in the run cache executes in seconds; this table says what "
            "training its figures rest on. *Training time* sums the recorded training seconds of the "
            "chapter's runs, roughly what a build from an empty cache spends on them on the machine that "
            "trained them. Runs used by an earlier chapter are counted there.",
            "",
            f":::{{container}} {STATUS_CLASS}",
            "| Chapter | Runs (own) | In the cache | Training time | Shared with earlier chapters |",
            "|---|---:|---:|---|---:|",
            *training,
            ":::",
        ]
    if kinds:
        lines += [
            "",
            "## Where the training time goes",
            "",
            "Each chapter's own runs by kind: how many, the mean recorded training seconds of one, their sum and "
            "its share of all the book's recorded training seconds (runs train side by side, so the build's "
            f"wall-clock time is shorter than the sum). Kinds under {KIND_LEAST:.0%} of the book are summed per "
            "chapter.",
            "",
            f":::{{container}} {STATUS_CLASS}",
            "| Chapter | Run kind | Runs | Seconds each | Minutes | Share of the book |",
            "|---|---|---:|---:|---:|---:|",
            *kinds,
            ":::",
        ]
    if measured:
        lines += [
            "",
            "## A whole build from an empty run cache",
            "",
            "What the first `make book` costs: minutes of wall-clock time for the whole book (every chapter's "
            "training and notebook, and the HTML), measured the last time it was built from an empty run cache.",
            "",
            *measured,
        ]
    lines += [
        "",
        "## Parameters each chapter accepts",
        "",
        "Read from each notebook's `parameters` cell. `None` means the profile's default. Override "
        "with `python scripts/build_book.py -p NAME VALUE` (see [Reproduce](reproduce.md)).",
        "",
        "| Chapter | Parameter | Default |",
        "|---|---|---|",
    ]
    for chapter in registry.CHAPTERS:
        for name, default in declared.get(chapter.key, {}).items():
            lines.append(f"| {chapter.key} | `{name}` | `{default!r}` |")
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------------ whether the build finished
#: The Status page's build-state sentence while its build runs (one plain line, which Sphinx renders unchanged);
#: :func:`finish_status_page` replaces it with :data:`FINISHED` once every page of the HTML exists.
BUILDING = ("Build state: building. This page was written before the HTML was rendered; while this sentence is "
            "here, the build that wrote it has not finished, and pages of the book may be missing.")
FINISHED = "Build state: complete. Every page of this book was rendered by the build that wrote this page ({when} UTC)."


def expected_pages() -> list[str]:
    """The pages every built book has, relative to the HTML root: :data:`REQUIRED_PAGES` and every chapter's."""
    return [*REQUIRED_PAGES, *(f"chapters/{c.stem}.html" for c in registry.CHAPTERS)]


def html_missing() -> list[str]:
    """The pages of :func:`expected_pages` that are not in ``_build/html``."""
    return [p for p in expected_pages() if not (HTML / p).is_file()]


def finish_status_page(when: str) -> bool:
    """Replace the :data:`BUILDING` sentence with :data:`FINISHED` in the rendered Status page and in its staged
    source, each file atomically; False when the rendered page does not hold the sentence."""
    found = False
    for page in (HTML / "status.html", STAGE / "status.md"):
        text = page.read_text(encoding="utf-8") if page.is_file() else ""
        if BUILDING in text:
            write_atomic(page, text.replace(BUILDING, FINISHED.format(when=when)))
            found = found or page.suffix == ".html"
    return found


@dataclass
class BuildState:
    """The build in progress as ``_build/last_build.json`` tells it, the file replaced atomically at each change:
    "building" with the step reached (:meth:`at`), then (:meth:`end`) "ok" (every page rendered, every check
    passed), "checks failed" (every page rendered, a check failed) or "failed" (a step raised or was
    interrupted, or pages are missing), with the reason."""

    started: str = field(default_factory=lambda: now("%Y-%m-%d %H:%M:%S"))
    step: str = "starting"
    #: The record of the build before this one (:func:`last_build`), for the Status page; not saved.
    previous: dict[str, Any] = field(default_factory=dict)

    def at(self, step: str) -> None:
        """Record that the build, still running, has reached ``step``."""
        self.step = step
        self._save("building")

    def end(self, state: str, reason: str = "") -> None:
        """Record how the build ended: ``state`` and why."""
        self._save(state, reason=reason, finished=now("%Y-%m-%d %H:%M:%S"))

    def _save(self, state: str, **more: str) -> None:
        rec = {"state": state, "step": self.step, "started": self.started, "pid": os.getpid(),
               "host": platform.node(), **more}
        write_atomic(LAST_BUILD, json.dumps(rec, indent=1) + "\n")


def _gone(rec: dict[str, Any]) -> bool:
    """Whether the process of a build record ran on this host and no longer exists."""
    pid = rec.get("pid")
    if rec.get("host") != platform.node() or not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def last_build() -> dict[str, Any]:
    """The last build's record (:class:`BuildState`), its state checked against what is there: "never built"
    without a readable record; "interrupted" when it says "building" but its process is gone from this host;
    "incomplete" when it says "ok" or "checks failed" but the HTML now misses pages (listed in ``missing``)."""
    try:
        rec = json.loads(LAST_BUILD.read_text())
    except (OSError, ValueError):
        return {"state": "never built"}
    if not isinstance(rec, dict):
        return {"state": "never built"}
    if rec.get("state") == "building" and _gone(rec):
        return {**rec, "state": "interrupted"}
    missing = html_missing()
    if rec.get("state") in ("ok", "checks failed") and missing:
        return {**rec, "state": "incomplete", "missing": missing}
    return rec


def last_build_line(rec: dict[str, Any]) -> str:
    """One line on a :func:`last_build` record: its state, when it started, the step it stopped at and why."""
    state = rec.get("state", "?")
    if state == "never built":
        return f"last build: none recorded ({LAST_BUILD.name} missing or unreadable)"
    line = f"last build (started {rec.get('started', '?')} UTC, pid {rec.get('pid', '?')} on {rec.get('host', '?')}): {state}"
    if state in ("building", "interrupted", "failed"):
        line += f" at step '{rec.get('step', '?')}'"
    if rec.get("reason"):
        line += f": {rec['reason']}"
    if rec.get("missing"):
        line += f"; pages missing from {HTML.name}/: {', '.join(rec['missing'][:5])}" + (
            f" and {len(rec['missing']) - 5} more" if len(rec["missing"]) > 5 else "")
    return line


if __name__ == "__main__":
    last = last_build()
    print(last_build_line(last))
    sys.exit(0 if last.get("state") == "ok" else 1)
