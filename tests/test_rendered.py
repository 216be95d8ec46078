"""The layout check of built pages (lib.book.rendered): reading the browser's measurement, naming what a
reader would miss, and, where Chromium is installed (CI installs it), a real page with a table wider
than its column and maths that must typeset from local files."""
from __future__ import annotations

import html
import json

import pytest

from lib.book import rendered


def dom_with(measure: dict) -> str:
    return f'<html><body data-measure="{html.escape(json.dumps(measure))}"><iframe></iframe></body></html>'


def test_a_measurement_is_read_back_and_its_problems_named():
    dom = dom_with({"height": 900, "column": 740, "typeset": 0, "raw_tex": 3, "widget_views": 2, "widgets": 0,
                    "wide": [{"tag": "table", "width": 1390, "start": "chapter claim_id claim"}]})
    m = rendered.parse_measure(dom, "chapters/07")
    assert m.height == 900 and m.wide == (rendered.Wide("table", 1390, "chapter claim_id claim"),)
    problems = m.problems()
    assert problems[0] == "chapters/07: table 1390 px wide in a 740 px column ('chapter claim_id claim')"
    assert "3 TeX commands shown as text" in problems[1] and "2 widget views, none rendered" in problems[2]
    fine = rendered.parse_measure(dom_with({"height": 9, "column": 740, "typeset": 4, "raw_tex": 3, "widget_views": 1,
                                            "widgets": 6, "wide": []}), "intro")
    assert fine.problems() == []  # TeX source beside typeset maths is MathJax's own hidden copy


def test_a_page_that_never_finished_or_failed_in_the_browser_is_an_error():
    with pytest.raises(RuntimeError, match="did not finish loading"):
        rendered.parse_measure("<html><body></body></html>", "intro")
    with pytest.raises(RuntimeError, match="measuring failed in the browser: SecurityError"):
        rendered.parse_measure(dom_with({"error": "SecurityError"}), "intro")


def test_pages_lists_the_book_pages_only(tmp_path):
    for rel in ("intro.html", "chapters/02_coherence.html", "_static/x.html", "search.html", "genindex.html",
                "index.html", "_measure123.html", "_sources/y.html"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("<html></html>")
    assert rendered.pages(tmp_path) == ["chapters/02_coherence", "intro"]


@pytest.mark.skipif(rendered.find_chromium() is None, reason="no Chromium on this machine")
def test_chromium_finds_a_clipped_table_and_spares_a_fitting_one(tmp_path):
    cells = "".join(f"<td>column_number_{i}</td>" for i in range(40))
    (tmp_path / "wide.html").write_text(
        '<html><body><article class="bd-article" style="width:600px">'
        f"<table><tr><td>fits</td></tr></table><table><tr>{cells}</tr></table>"
        '<pre style="white-space:pre">' + "x" * 400 + "</pre></article></body></html>")
    m = rendered.measure(rendered.find_chromium(), tmp_path, "wide", width=1000, wait_ms=500)
    assert m.column == 600 and [w.tag for w in m.wide] == ["table", "pre"]
    assert m.wide[0].start.startswith("column_number_0") and m.wide[0].width > 1000
    assert not list(tmp_path.glob("_measure*")), "the wrapper page is removed"


@pytest.mark.skipif(rendered.find_chromium() is None, reason="no Chromium on this machine")
def test_maths_typesets_offline_from_the_vendored_mathjax(tmp_path):
    from lib.book.layout import VENDOR

    if not (VENDOR / "mathjax" / "es5" / "tex-mml-chtml.js").is_file():
        pytest.skip(f"no vendored MathJax in {VENDOR} (the build fetches it)")
    (tmp_path / "mathjax").symlink_to(VENDOR / "mathjax")
    (tmp_path / "m.html").write_text(
        '<html><head><script src="mathjax/es5/tex-mml-chtml.js"></script></head><body>'
        r'<article class="bd-article">\[ \alpha = \frac{1}{n} \]</article></body></html>')
    m = rendered.measure(rendered.find_chromium(), tmp_path, "m", width=1000, wait_ms=4000)
    assert m.typeset == 1 and m.problems() == []


def test_the_build_check_skips_without_chromium_and_reports_each_problem(monkeypatch, capsys, tmp_path):
    from lib.book import checks

    monkeypatch.setattr(rendered, "find_chromium", lambda given=None: None)
    assert checks.check_rendering() == []
    assert "layout check skipped: no Chromium" in capsys.readouterr().out

    wide = rendered.PageMeasure("chapters/07", 900, 1024, (rendered.Wide("table", 1390, "chapter claim"),), 0, 0, 0, 0)
    fine = rendered.PageMeasure("intro", 900, 1024, (), 7, 7, 0, 0)
    monkeypatch.setattr(rendered, "find_chromium", lambda given=None: "/usr/bin/chromium")
    monkeypatch.setattr(rendered, "pages", lambda html: ["chapters/07", "intro"])
    monkeypatch.setattr(rendered, "measure", lambda chromium, html, page, width=1280: wide if page == "chapters/07" else fine)
    problems = checks.check_rendering()
    assert problems == ["chapters/07: table 1390 px wide in a 1024 px column ('chapter claim')"]
    assert "2 pages at 1280 px in headless Chromium, 7 formulas typeset, 0 widget elements drawn, 1 problem(s)" in \
        capsys.readouterr().out


def test_a_page_chromium_cannot_show_is_a_problem_not_a_crash(monkeypatch):
    import subprocess

    from lib.book import checks

    def fails(chromium, html, page, width=1280):
        raise subprocess.TimeoutExpired(["chromium"], 180)

    monkeypatch.setattr(rendered, "find_chromium", lambda given=None: "/usr/bin/chromium")
    monkeypatch.setattr(rendered, "pages", lambda html: ["intro"])
    monkeypatch.setattr(rendered, "measure", fails)
    (problem,) = checks.check_rendering()
    assert problem.startswith("intro: not measured in Chromium (TimeoutExpired")
