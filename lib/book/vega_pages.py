"""A Sphinx extension of the staged book: the pages that hold an explorer (:mod:`lib.chapters.explore`) load
Vega, Vega-Lite and vega-embed in their head, before require.js.

Each of the three is a UMD bundle: where require.js was loaded first (myst-nb adds it, priority 500, to
pages with ipywidgets) it would register as an anonymous AMD module and leave no ``window.vegaEmbed``;
loaded first it sets its global. Which files: the config value ``book_explorer_js`` (the staged
``_config.yml`` sets it: :data:`lib.book.assets.OFFLINE_VEGA_JS`, or the CDN copies with ``--cdn``).
"""
from __future__ import annotations

from typing import Any

from ..chapters.explore import CLASS

#: Before myst-nb's require.js and html-manager (Sphinx's default priority, 500).
PRIORITY = 200


def add_vega(app: Any, pagename: str, templatename: str, context: dict[str, Any], doctree: Any) -> None:
    """``html-page-context``: on a page whose body holds an explorer's div, add the explorer scripts."""
    if f'class="{CLASS}"' not in (context.get("body") or ""):
        return
    for path in app.config.book_explorer_js:
        app.add_js_file(path, priority=PRIORITY)


def setup(app: Any) -> dict[str, Any]:
    app.add_config_value("book_explorer_js", [], "html")
    app.connect("html-page-context", add_vega)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
