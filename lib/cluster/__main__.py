"""``python -m lib.cluster ...``: see :func:`lib.cluster.cli.main`."""
import sys

from .cli import main

sys.exit(main())
