"""The console check of built pages (lib.book.console): a page whose script logs an error, throws, or asks for
a file that is not there is reported with the page and the message; a clean page is not; the build's check
says when it was skipped; and what it found in the smoke book stays fixed (sphinx-thebe left out, require.js
paths and a MathJax 3 ``Hub`` for the widget manager, a default theme mode). The browser test needs Chromium
(CI installs it) and takes a few seconds."""
from __future__ import annotations

from pathlib import Path

import pytest

from lib.book import checks, console, rendered

needs_chromium = pytest.mark.skipif(rendered.find_chromium() is None,
                                    reason="no Chromium on this machine (`apt-get install chromium`)")


def _book(root):
    """A two-page book: chapters/bad.html with every kind of problem, clean.html with none."""
    (root / "chapters").mkdir(parents=True)
    (root / "_static").mkdir()
    (root / "_static" / "font.css").write_text(
        '@font-face { font-family: F; src: url(fonts/none.woff2) format("woff2"); } body { font-family: F; }')
    (root / "chapters" / "bad.html").write_text(
        '<!doctype html><html><head><link rel="stylesheet" href="../_static/font.css"></head><body><p>text</p>\n'
        '<img src="missing.png">\n'
        '<script>console.error("widget failed", 3); console.log("not an error")</script>\n'
        '<script>null.x</script>\n</body></html>')
    (root / "clean.html").write_text('<!doctype html><html><body><p>clean</p>'
                                     '<script>console.log("fine")</script></body></html>')
    (root / "_static" / "asset.html").write_text("<script>console.error('an asset, not a page')</script>")


def test_pages_are_every_html_file_but_the_assets(tmp_path):
    _book(tmp_path)
    (tmp_path / "search.html").write_text("<html></html>")
    (tmp_path / "_measure1.html").write_text("<html></html>")
    assert console.pages(tmp_path) == ["chapters/bad.html", "clean.html", "search.html"]


@needs_chromium
def test_a_console_error_an_exception_and_missing_files_are_each_reported(tmp_path):
    _book(tmp_path)
    opened, problems = console.check(rendered.find_chromium(), tmp_path)
    assert opened == 2
    assert sorted(problems) == sorted([
        "chapters/bad.html: console.error: widget failed 3 (chapters/bad.html:3)",
        "chapters/bad.html: Uncaught TypeError: Cannot read properties of null (reading 'x') (chapters/bad.html:4)",
        "chapters/bad.html: request failed: net::ERR_FILE_NOT_FOUND chapters/missing.png",
        "chapters/bad.html: request failed: net::ERR_FILE_NOT_FOUND _static/fonts/none.woff2",
    ]), problems


def test_the_build_check_skips_without_chromium_and_fails_on_each_problem(monkeypatch, capsys):
    monkeypatch.setattr(rendered, "find_chromium", lambda given=None: None)
    assert checks.check_console() == []
    assert "console check skipped: no Chromium" in capsys.readouterr().out

    monkeypatch.setattr(rendered, "find_chromium", lambda given=None: "/usr/bin/chromium")
    monkeypatch.setattr(console, "check", lambda chromium, html: (3, ["intro.html: console.error: x"]))
    assert checks.check_console() == ["intro.html: console.error: x"]
    assert "console check: 3 pages in headless Chromium, 1 console error(s) or failed request(s)" in \
        capsys.readouterr().out

    def cannot_start(chromium, html):
        raise RuntimeError("Chromium closed the DevTools pipe")

    monkeypatch.setattr(console, "check", cannot_start)
    (problem,) = checks.check_console()
    assert problem.startswith("console check: Chromium could not be driven (RuntimeError")


# ---- the causes the check found in the smoke book, kept fixed ----------------------------------------------

def test_the_staged_config_leaves_out_sphinx_thebe_and_keeps_every_other_extension():
    from jupyter_book.config import get_default_sphinx_config

    from lib.book import execute

    defaults = [e for e in get_default_sphinx_config()["extensions"] if e != "sphinx_thebe"]
    assert execute.sphinx_extensions({"title": "t"}) == defaults
    # what the configuration adds stays: the bibliography's extension, extra extensions
    cited = execute.sphinx_extensions({"bibtex_bibfiles": ["references.bib"],
                                       "sphinx": {"extra_extensions": ["sphinx.ext.todo"]}})
    assert cited[:len(defaults)] == defaults and {"sphinxcontrib.bibtex", "sphinx.ext.todo"} <= set(cited)
    assert "sphinx_thebe" not in execute.sphinx_extensions({"sphinx": {"config": {"extensions": ["sphinx_thebe", "x"]}}})


def test_widget_pages_set_up_require_paths_and_a_mathjax_3_hub_between_require_and_the_manager():
    from lib.book import assets

    scripts = list(assets.OFFLINE_WIDGETS_JS)
    assert scripts == ["../vendor/requirejs/require.js", "", "../vendor/html-manager/dist/embed-amd.js"]
    body = assets.OFFLINE_WIDGETS_JS[""]["body"]
    assert "requirejs.config" in body and '"@jupyter-widgets/html-manager/dist": dist' in body
    assert "mj.Hub = {Queue:" in body and "typesetPromise" in body and "</script" not in body


def test_the_theme_mode_has_a_default():
    import yaml

    from lib.book.layout import ROOT

    cfg = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert cfg["sphinx"]["config"]["html_context"]["default_mode"] in ("auto", "light", "dark")


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="counts open files in /proc/self/fd (Linux)")
def test_a_browser_that_cannot_start_is_an_error_and_leaves_no_open_pipe(tmp_path):
    open_files = len(list(Path("/proc/self/fd").iterdir()))
    with pytest.raises(OSError):
        console.DevTools(str(tmp_path / "no-chromium"))
    assert len(list(Path("/proc/self/fd").iterdir())) == open_files
