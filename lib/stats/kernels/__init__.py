"""Built-in per-layer kernels; importing this package registers them (see :mod:`lib.stats.registry`)."""
from . import conv, embedding, generic, linear, norm  # noqa: F401
