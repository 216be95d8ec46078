"""Papermill parameters: the defaults each notebook declares, and ``-p NAME VALUE`` sent to the
chapters that declare ``NAME`` (``-p NN:NAME VALUE`` to one chapter only)."""
from __future__ import annotations

import ast
from typing import Any, Iterable, Sequence

from ..chapters import registry
from .layout import ROOT, BuildError, source


def parse_value(text: str) -> Any:
    """A command-line parameter value: a Python literal when it parses as one, else the string."""
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return text


def chapter_key(text: str) -> str:
    """'2', '02', '02_coherence' or 'chapters/02_coherence.ipynb' -> '02' (:func:`registry.key_of`);
    BuildError naming the known chapters otherwise."""
    try:
        return registry.key_of(text)
    except ValueError as exc:
        raise BuildError(str(exc)) from None


def selected(chapters: Sequence[str] | None, *, execute: bool = True) -> list[str]:
    """The keys of the chapters to execute, in execution order (:data:`lib.chapters.registry.EXECUTION`:
    book order, chapter 7 after the chapters whose verdicts it gathers): all when ``chapters`` is empty,
    none without ``execute``."""
    if not execute:
        return []
    return registry.execution_order([chapter_key(c) for c in chapters] if chapters else registry.KEYS)


def notebook_parameters(nb: Any) -> dict[str, Any]:
    """Defaults declared in the notebook's cell tagged ``parameters`` (flat literal assignments).

    Raises BuildError when there is no such cell or it holds anything but ``name = literal``.
    """
    for cell in nb["cells"]:
        if cell["cell_type"] == "code" and "parameters" in cell.get("metadata", {}).get("tags", []):
            src = cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])
            out: dict[str, Any] = {}
            for node in ast.parse(src).body:
                if (isinstance(node, ast.Assign) and len(node.targets) == 1
                        and isinstance(node.targets[0], ast.Name)):
                    try:
                        out[node.targets[0].id] = ast.literal_eval(node.value)
                        continue
                    except ValueError:
                        pass
                raise BuildError(f"parameters cell: only `name = literal` lines are allowed, got: "
                                 f"{ast.get_source_segment(src, node)!r}")
            return out
    raise BuildError("no code cell tagged 'parameters'")


def declared_parameters() -> dict[str, dict[str, Any]]:
    """{chapter key: the parameters its committed notebook declares, with their defaults}."""
    import nbformat

    declared = {}
    for chapter in registry.CHAPTERS:
        path = source(chapter.stem)
        try:
            declared[chapter.key] = notebook_parameters(nbformat.read(path, as_version=4))
        except BuildError as exc:
            raise BuildError(f"{path.relative_to(ROOT)}: {exc}") from None
    return declared


def route_params(pairs: Iterable[tuple[str, str]], declared: dict[str, dict[str, Any]]
                 ) -> dict[str, dict[str, Any]]:
    """Send each ``-p NAME VALUE`` to the chapters (keys of ``declared``) that declare NAME.

    ``NN:NAME`` targets one chapter. Returns {chapter key: {name: value}} for every chapter in
    ``declared`` (possibly empty dicts). ``profile`` cannot be set this way (use --profile).
    """
    routed: dict[str, dict[str, Any]] = {k: {} for k in declared}
    for raw_name, raw_value in pairs:
        value = parse_value(raw_value)
        if ":" in raw_name:
            key_text, name = raw_name.split(":", 1)
            key = chapter_key(key_text)
            if key not in declared:
                raise BuildError(f"-p {raw_name}: chapter {key} is not being executed")
            targets = [key]
        else:
            name, targets = raw_name, list(declared)
        if name == "profile":
            raise BuildError("set the profile with --profile, not -p profile")
        hits = [k for k in targets if name in declared[k]]
        if not hits:
            where = ", ".join(f"{k}: {sorted(declared[k])}" for k in targets)
            raise BuildError(f"-p {raw_name}: no selected chapter declares a parameter {name!r} ({where})")
        for k in hits:
            routed[k][name] = value
    return routed


def chapter_params(profile: str, pairs: Sequence[tuple[str, str]], keys: Sequence[str],
                   declared: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """{key: the papermill parameters chapter ``key`` runs with}: ``profile`` plus its routed ``-p`` values."""
    routed = route_params(pairs, {k: declared[k] for k in keys}) if keys else {}
    if pairs and not keys:
        raise BuildError("-p given but nothing is executed (--no-execute)")
    return {k: {"profile": profile, **routed[k]} for k in keys}
