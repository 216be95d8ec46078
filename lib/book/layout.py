"""Where the build reads and writes, and the error every step raises."""
from __future__ import annotations

import re
from pathlib import Path

from .. import paths, profiles

ROOT: Path = paths.root()
BUILD = ROOT / "_build"                 # git-ignored
STAGE = BUILD / "book"                  # the staged book jupyter-book builds (executed notebooks)
HTML = BUILD / "html"                   # the rendered book
STATUS_JSON = BUILD / "status.json"     # per-chapter execution records, kept across builds
LAST_BUILD = BUILD / "last_build.json"  # the state of the last build: building, ok, checks failed, failed
LOCK = BUILD / "build.lock"             # flock'ed by the build running in this clone (lib/book/lock.py)
KERNEL_HOME = BUILD / "jupyter"         # kernelspec "python3" pinned to this interpreter
SOURCE_CHAPTERS = paths.chapters_dir()  # the notebooks as committed
VENDOR = paths.vendor_dir()
OFFLINE_DIR = VENDOR.parent  # git-ignored; contents are copied into the HTML root

#: The profiles a build can use, named in :data:`lib.profiles.PROFILES` only.
PROFILES: tuple[str, ...] = tuple(profiles.PROFILES)
DEFAULT_PROFILE = "cpu"
#: Markdown pages copied verbatim into the staged book (status.md is generated instead).
PAGES = ("intro.md", "reproduce.md", "references.md")
#: The bibliography the pages cite (``bibtex_bibfiles`` of _config.yml), copied beside them.
BIBFILES = ("references.bib",)
#: Optional extra folders copied into the staged book when they exist.
EXTRA_DIRS = ("_static", "images")
#: Pages every build must produce besides the chapters.
REQUIRED_PAGES = ("index.html", "intro.html", "reproduce.html", "references.html", "status.html")

ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


class BuildError(RuntimeError):
    """A step of the build failed; the message says which and why."""


def source(stem: str) -> Path:
    """The committed notebook ``chapters/<stem>.ipynb``."""
    return SOURCE_CHAPTERS / f"{stem}.ipynb"


def staged(stem: str) -> Path:
    """The executed (or, never executed, copied) notebook in the staged book."""
    return STAGE / "chapters" / f"{stem}.ipynb"


def format_seconds(s: float) -> str:
    """'12.3 s' under two minutes, else '4.5 min'."""
    return f"{s:.1f} s" if s < 120 else f"{s / 60:.1f} min"
