"""The build's checks: every page exists; each chapter shows its figures and tables (in the executed
notebook and in its HTML page), holds no error output, and captions its figures; no two claims gathered by
the conclusions chapter test the same numbers (:func:`check_claims`); every script and stylesheet a page
references exists; and no notebook trains a run its chapter's plan does not list."""
from __future__ import annotations

import re
import subprocess
from html.parser import HTMLParser
from typing import Any

from .. import paths
from ..chapters import registry
from ..chapters.registry import Chapter
from .layout import HTML, REQUIRED_PAGES, ROOT, staged

#: A figure counts as captioned when a Markdown/HTML output of the same cell contains this word
#: (the caption names the profile, model, data size, epochs and seed it was made with).
CAPTION_MARK = "profile"


def _delimiter_rows(markdown: str) -> int:
    """Number of Markdown pipe tables (counted by their |---|---| delimiter rows)."""
    row = re.compile(r"^\s*\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)+\|?\s*$")
    return sum(1 for line in markdown.splitlines() if row.match(line))


def _text(value: Any) -> str:
    return value if isinstance(value, str) else "".join(value)


def count_notebook(nb: Any) -> dict[str, Any]:
    """Figures, tables and error outputs of an (executed) notebook.

    A figure is one output holding an image (png, svg, jpeg); a table is a <table> in an HTML output
    (e.g. a displayed DataFrame) or a Markdown pipe table (in a Markdown cell or output).
    Returns {"figures": int, "tables": int, "errors": [str, ...], "uncaptioned": int}; a figure is
    uncaptioned when no Markdown/HTML output of its cell mentions CAPTION_MARK ("profile").
    """
    figures = tables = uncaptioned = 0
    errors: list[str] = []
    for i, cell in enumerate(nb["cells"]):
        if cell["cell_type"] == "markdown":
            tables += _delimiter_rows(_text(cell["source"]))
            continue
        if cell["cell_type"] != "code":
            continue
        outputs = cell.get("outputs", [])
        captioned = any(
            CAPTION_MARK in _text(out.get("data", {}).get(m, "")).lower()
            for out in outputs for m in ("text/markdown", "text/html"))
        for out in outputs:
            kind = out.get("output_type")
            if kind == "error":
                errors.append(f"cell {i}: {out.get('ename')}: {out.get('evalue')}")
                continue
            data = out.get("data", {}) if kind in ("display_data", "execute_result") else {}
            if any(m in data for m in ("image/png", "image/svg+xml", "image/jpeg")):
                figures += 1
                uncaptioned += not captioned
            if "text/html" in data:
                tables += len(re.findall(r"<table\b", _text(data["text/html"]), re.I))
            elif "text/markdown" in data:
                tables += _delimiter_rows(_text(data["text/markdown"]))
    return {"figures": figures, "tables": tables, "errors": errors, "uncaptioned": uncaptioned}


class _TagCounter(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.figures = 0
        self.tables = 0
        self.scripts: list[str] = []
        self.styles: list[str] = []
        self.anchors: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if (a.get("id") or "").startswith(("fig-", "tab-")):
            self.anchors.append(a["id"] or "")
        if tag == "img" and "_images/" in (a.get("src") or ""):
            self.figures += 1
        elif tag == "table":
            self.tables += 1
        elif tag == "script" and a.get("src"):
            self.scripts.append(a["src"] or "")
        elif tag == "link" and "stylesheet" in (a.get("rel") or "") and a.get("href"):
            self.styles.append(a["href"] or "")


def count_html(text: str) -> dict[str, Any]:
    """Figures (<img src=".../_images/...">), tables, script and stylesheet URLs of a page, and the ids of its
    figure and table anchors ("fig-2-1", "tab-5-2": :func:`lib.chapters.figures.figure_id`), in page order."""
    p = _TagCounter()
    p.feed(text)
    return {"figures": p.figures, "tables": p.tables, "scripts": p.scripts, "styles": p.styles, "anchors": p.anchors}


def check_chapter(chapter: Chapter, nb_counts: dict[str, Any], html_counts: dict[str, Any] | None,
                  *, figure_check: bool = True) -> list[str]:
    """Problems with one chapter: error outputs, a figure anchor twice in its HTML page (two figures with one
    number), and (if figure_check) fewer figures/tables than the registry's ``chapter.figures`` / ``chapter.tables``."""
    key = chapter.key
    problems = [f"chapter {key}: error output in executed notebook, {e}" for e in nb_counts["errors"]]
    anchors = (html_counts or {}).get("anchors", [])
    problems += [f"chapter {key}: HTML page has the figure anchor {a} twice (figure numbers must differ)"
                 for a in sorted({a for a in anchors if anchors.count(a) > 1})]
    if figure_check:
        for kind in ("figures", "tables"):
            need = getattr(chapter, kind)
            if nb_counts[kind] < need:
                problems.append(f"chapter {key}: executed notebook has {nb_counts[kind]} {kind}, needs >= {need}")
            if html_counts is not None and html_counts[kind] < need:
                problems.append(f"chapter {key}: HTML page has {html_counts[kind]} {kind}, needs >= {need}")
    return problems


def check_claims(records: dict[str, dict[str, Any]]) -> list[str]:
    """One question, one claim: for each gathering chapter (the conclusions chapter) that was executed, the
    pairs of claims among the verdicts it gathered, at the parameters it was executed with, whose tests
    were computed from the same numbers (its ``duplicate_tests``), one problem each."""
    problems = []
    for chapter in registry.CHAPTERS:
        record = records.get(chapter.key, {})
        if not chapter.gathers or record.get("result") not in ("ok", "failed"):
            continue
        module = registry.module(chapter.key)
        gathered = module.results(module.setup(**record["parameters"]))
        problems += [f"chapter {chapter.key}: two claims ask one question: {d}"
                     for d in module.duplicate_tests(gathered.verdicts)]
    return problems


def check_pages(records: dict[str, dict[str, Any]], *, figure_check: bool) -> list[str]:
    """Every page is in the HTML, each chapter passes :func:`check_chapter` (figures and tables only for
    chapters that were executed), and the claims the conclusions chapter gathers pass
    :func:`check_claims`; prints each chapter's counts."""
    import nbformat

    problems = [f"page missing from the HTML: {page}" for page in REQUIRED_PAGES if not (HTML / page).exists()]
    for chapter in registry.CHAPTERS:
        page = HTML / "chapters" / f"{chapter.stem}.html"
        if not page.exists():
            problems.append(f"chapter {chapter.key}: page missing from the HTML: {page.relative_to(ROOT)}")
            continue
        nb_counts = count_notebook(nbformat.read(staged(chapter.stem), as_version=4))
        html_counts = count_html(page.read_text(encoding="utf-8"))
        executed = records.get(chapter.key, {}).get("result") in ("ok", "failed")
        if not executed and figure_check:
            print(f"note: chapter {chapter.key} was never executed; its figure/table check is skipped")
        problems += check_chapter(chapter, nb_counts, html_counts, figure_check=executed and figure_check)
        print(f"chapter {chapter.key}: {nb_counts['figures']} figures / {nb_counts['tables']} tables in the "
              f"notebook, {html_counts['figures']} / {html_counts['tables']} in the HTML "
              f"(minimum {chapter.figures} / {chapter.tables})"
              + (f"; WARNING: {nb_counts['uncaptioned']} figure(s) without a caption naming the "
                 f"profile" if nb_counts["uncaptioned"] else ""))
    return problems + check_claims(records)


#: Hosts of the CDNs that Sphinx, myst-nb and ipywidgets would load from: with local assets no page may name one.
CDN_HOSTS = ("cdn.jsdelivr.net", "unpkg.com", "cdnjs.cloudflare.com")


def check_assets(*, offline: bool) -> list[str]:
    """Every local script/stylesheet each page references exists; with local assets (``offline``, the
    default build), no page loads a remote script or names a CDN host anywhere in its HTML."""
    problems: list[str] = []
    remote: set[str] = set()
    for page in sorted(HTML.rglob("*.html")):
        rel = page.relative_to(HTML)
        if rel.parts[0] in ("_static", "_sources", "vendor", "_images"):
            continue
        text = page.read_text(encoding="utf-8", errors="replace")
        if offline:
            problems += [f"{rel} names the CDN {h} although the book uses local assets" for h in CDN_HOSTS if h in text]
        counts = count_html(text)
        for url in counts["scripts"] + counts["styles"]:
            if re.match(r"^(https?:)?//", url):
                remote.add(url)
                continue
            target = (page.parent / url.split("?", 1)[0].split("#", 1)[0]).resolve()
            if not target.is_file():
                problems.append(f"{rel}: references {url}, which is not in the HTML output")
    if offline and remote:
        problems += [f"local assets, yet a page loads {u}" for u in sorted(remote)]
    elif remote:
        print("pages load from the network: " + ", ".join(sorted({re.sub(r'^(https?:)?//([^/]+).*', r'\2', u) for u in remote})))
    return problems


def check_rendering(*, width: int = 1280) -> list[str]:
    """Every built page as a reader's browser shows it (:mod:`lib.book.rendered`, headless Chromium at
    ``width`` px, no network): tables or printed blocks wider than the content column, maths left as
    TeX, widgets not drawn. Prints one summary line; without Chromium on the machine it says the check
    was skipped and returns no problems."""
    from . import rendered

    chromium = rendered.find_chromium()
    if chromium is None:
        print(f"layout check skipped: no Chromium on this machine ({', '.join(rendered.CANDIDATES)}); "
              "`apt-get install chromium` to check tables and maths at 1280 px")
        return []
    measured, problems = [], []
    for page in rendered.pages(HTML):
        try:
            measured.append(rendered.measure(chromium, HTML, page, width=width))
        except (RuntimeError, OSError, subprocess.TimeoutExpired) as exc:  # a page the browser could not show
            problems.append(f"{page}: not measured in Chromium ({type(exc).__name__}: {str(exc)[:300]})")
    problems += [p for m in measured for p in m.problems()]
    print(f"layout check: {len(measured)} pages at {width} px in headless Chromium, "
          f"{sum(m.typeset for m in measured)} formulas typeset, {sum(m.widgets for m in measured)} widget "
          f"elements drawn, {len(problems)} problem(s)")
    return problems


def check_console() -> list[str]:
    """A clean console on every built page (:mod:`lib.book.console`, headless Chromium, the pages opened from
    disk, no network): each console error, uncaught exception and failed request is one problem, named with
    its page. Prints one summary line; without Chromium on the machine it says the check was skipped and
    returns no problems."""
    from . import console, rendered

    chromium = rendered.find_chromium()
    if chromium is None:
        print(f"console check skipped: no Chromium on this machine ({', '.join(rendered.CANDIDATES)}); "
              "`apt-get install chromium` to check every page for console errors and missing files")
        return []
    try:
        opened, problems = console.check(chromium, HTML)
    except (RuntimeError, OSError, TimeoutError) as exc:  # the browser itself would not start
        return [f"console check: Chromium could not be driven ({type(exc).__name__}: {str(exc)[:300]})"]
    print(f"console check: {opened} pages in headless Chromium, {len(problems)} console error(s) or failed "
          "request(s)")
    return problems


def check_explorers() -> list[str]:
    """Every explorer of the built pages answers its controls (:mod:`lib.book.explorers`, headless Chromium, the
    pages opened from disk): each menu, slider and checkbox changed through the DOM must change the drawing,
    with no console error. Prints one summary line; without Chromium it says the check was skipped."""
    from . import explorers, rendered

    chromium = rendered.find_chromium()
    if chromium is None:
        print("explorer check skipped: no Chromium on this machine; `apt-get install chromium` to check that "
              "every explorer answers its controls")
        return []
    try:
        n, controls, problems = explorers.check(chromium, HTML)
    except (RuntimeError, OSError, TimeoutError) as exc:
        return [f"explorer check: Chromium could not be driven ({type(exc).__name__}: {str(exc)[:300]})"]
    print(f"explorer check: {n} explorers, {controls} controls changed through the DOM, {len(problems)} problem(s)")
    return problems


def run_folders() -> set[str]:
    """The finished runs in the run cache now (folder names = config hashes; temporary, checkpoint
    and job-record entries, which start with a dot, left out)."""
    train = paths.runs_dir() / "train"
    return {p.name for p in train.iterdir() if not p.name.startswith(".")} if train.is_dir() else set()


def unplanned_runs(key: str, before: set[str], after: set[str]) -> list[str]:
    """One problem per run folder that appeared while chapter ``key``'s notebook executed: the build
    trained the chapter's whole plan first, so the notebook trained a run its plan does not list."""
    module = registry.get(key).module
    return [f"chapter {key}: the notebook trained run {h}, which {module}.plan does not list"
            for h in sorted(after - before)]
