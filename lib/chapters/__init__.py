"""The book's chapters: one module per chapter, the registry that lists them, the verdict toolkit,
figure helpers and the thesis's numbers.

A chapter module ``chNN_*`` has ``Params`` (the notebook's papermill parameters, same names and
defaults), ``setup(**params)`` (validates them and resolves the profile), ``plan(setup)`` (the
chapter's training runs, a :data:`lib.plan.Plan`), ``results(setup)`` (trains the plan with the one
executor, :func:`lib.parallel.train`, a no-op when the build has, then reads its runs with
:func:`lib.runs.load`), one function per figure and table, and ``verdicts(setup, results)``. The
notebook is narrative, the parameters cell and calls. This package sits above the engine
(``lib.config`` ... ``lib.experiments``) and below ``lib.cluster`` and ``lib.book``.
"""
