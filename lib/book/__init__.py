"""The book build behind ``scripts/build_book.py``: chapter parameters to papermill, training each
chapter's planned runs with visible progress, execution, the status page, the checks and the offline assets.

Modules, each with one job:

* :mod:`.layout`    where the build writes (``_build/...``) and :class:`~.layout.BuildError`
* :mod:`.params`    ``-p NAME VALUE`` parsing and routing to the chapters that declare ``NAME``
* :mod:`.progress`  trains a chapter's planned runs stage by stage, one plain line per run
* :mod:`.execute`   kernel spec, papermill, staging the sources, folding code cells, ``jupyter-book build``
* :mod:`.status`    ``_build/status.json`` records, the generated Status page, whether the last build finished
* :mod:`.front`     the intro's first screen: the scale reached, verdict counts per chapter and per conclusion
* :mod:`.lock`      one build at a time per clone (``flock`` on ``_build/build.lock``)
* :mod:`.checks`    figures/tables/captions/errors per chapter, page assets, runs a notebook trained unplanned
* :mod:`.assets`    the local MathJax / require.js / html-manager / Vega for ``--offline``
* :mod:`.vega_pages` the Sphinx hook that loads Vega in the head of the pages with an explorer
* :mod:`.explorers` every explorer's controls changed in headless Chromium, its drawing compared
* :mod:`.build`     the steps in order (what the script calls)

This package sits above :mod:`lib.chapters` (the chapter list, parameters and plans) and the engine
(:mod:`lib.runs`); nothing below imports it.
"""
