"""The shape of the code (../shared/ARCHITECTURE.md): no import cycles, layers import only downwards,
one registry of chapters that matches _toc.yml and the notebooks."""
from __future__ import annotations

import ast
import dataclasses
import functools
import re
from pathlib import Path
from types import SimpleNamespace

import nbformat
import papermill
import pytest
import yaml

from lib import plan as lib_plan
from lib import profiles
from lib.book import layout
from lib.book.params import notebook_parameters
from lib.chapters import params as chapter_params
from lib.chapters import registry

ROOT = Path(__file__).resolve().parent.parent
LIB = ROOT / "lib"

#: Layers from the top down; a module may import only from its own layer or the ones below it.
LAYERS = ("lib.book", "lib.cluster", "lib.chapters", "engine")


def _modules() -> dict[str, tuple[Path, bool]]:
    """Dotted name -> (file, is package __init__) for every module under lib/."""
    out = {}
    for f in LIB.rglob("*.py"):
        parts = list(f.relative_to(ROOT).with_suffix("").parts)
        is_pkg = parts[-1] == "__init__"
        out[".".join(parts[:-1] if is_pkg else parts)] = (f, is_pkg)
    return out


def import_graph() -> dict[str, set[str]]:
    """Module -> the lib modules it imports, at module level or inside functions (a package's
    ``__init__`` re-exporting its own submodules is not counted as an edge)."""
    mods = _modules()
    edges: dict[str, set[str]] = {m: set() for m in mods}
    for m, (f, is_pkg) in mods.items():
        here = m.split(".") if is_pkg else m.split(".")[:-1]
        for node in ast.walk(ast.parse(f.read_text())):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = here[: len(here) - node.level + 1] if node.level else []
                mod = ".".join(base + ([node.module] if node.module else []))
                targets = [f"{mod}.{a.name}" for a in node.names] + [mod]
            for t in targets:
                while t and t not in mods:
                    t = t.rpartition(".")[0]
                if t and t != m and not (is_pkg and t.startswith(m + ".")):
                    edges[m].add(t)
    return edges


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in edges:
        if v not in index:
            visit(v)
    return out


def layer_of(module: str) -> int:
    """Index in :data:`LAYERS` (0 = top); every module not in a named layer is the engine."""
    for i, prefix in enumerate(LAYERS[:-1]):
        if module == prefix or module.startswith(prefix + "."):
            return i
    return len(LAYERS) - 1


def test_no_import_cycles():
    found = cycles(import_graph())
    assert not found, "import cycles: " + "; ".join(" <-> ".join(c) for c in found)


def test_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_graph_sees_function_level_imports():
    edges = import_graph()
    assert "lib.plan" in edges["lib.chapters.registry"]
    assert "lib.mask_cache" in edges["lib.runs"] and "lib.train" in edges["lib.runs"]
    assert "lib.masks" in edges["lib.mask_cache"]


def test_layers_import_only_downwards():
    bad = [f"{m} (layer {LAYERS[layer_of(m)]}) imports {t} (layer {LAYERS[layer_of(t)]})"
           for m, ts in import_graph().items() for t in ts if layer_of(t) < layer_of(m)]
    assert not bad, "\n".join(bad)


def test_engine_knows_nothing_of_experiments():
    edges = import_graph()
    assert not edges["lib.train"] & {"lib.runs", "lib.masks", "lib.experiments"}
    assert "lib.runs" not in edges["lib.masks"]
    backends = {"lib.stats.hooks", "lib.stats.functorch_backend", "lib.stats.opacus_backend"}
    for b in backends:
        assert not edges[b] & (backends | {"lib.stats.core"}), f"{b} imports {edges[b] & (backends | {'lib.stats.core'})}"


def _toc_chapters() -> list[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [c["file"] for part in toc["parts"] for c in part["chapters"]]
    return [f.split("/", 1)[1] for f in files if f.startswith("chapters/")]


def test_registry_matches_toc_and_notebooks():
    assert _toc_chapters() == [c.stem for c in registry.CHAPTERS]
    for c in registry.CHAPTERS:
        assert (ROOT / c.notebook).is_file(), c.notebook
        assert c.key == c.stem[:2]


def _parameters_cell(path: Path) -> dict:
    """The notebook's parameters cell, read by the build's own parser."""
    return notebook_parameters(nbformat.read(path, as_version=4))


@pytest.mark.usefixtures("stand_in_fingerprint")
@pytest.mark.parametrize("key", registry.KEYS)
def test_chapter_module_matches_its_notebook(key):
    mod = registry.module(key)
    for name in ("Params", "setup", "plan", "results", "verdicts"):
        assert hasattr(mod, name), f"{mod.__name__} has no {name}"
    notebook = ROOT / registry.get(key).notebook
    assert registry.defaults(key) == _parameters_cell(notebook)
    seen_by_papermill = {n: ast.literal_eval(p["default"]) for n, p in papermill.inspect_notebook(str(notebook)).items()}
    assert list(seen_by_papermill.items()) == list(registry.defaults(key).items())  # names, defaults and order
    assert dataclasses.is_dataclass(mod.Params) and mod.Params.__dataclass_params__.frozen
    s = mod.setup(profile="smoke")
    assert isinstance(mod.plan(s), list)


@pytest.mark.parametrize("key", registry.KEYS)
def test_setup_rejects_bad_parameters(key):
    mod = registry.module(key)
    with pytest.raises(chapter_params.ParameterError, match="profile = 'laptop'"):
        mod.setup(profile="laptop")
    with pytest.raises(chapter_params.ParameterError, match="unknown parameter.*'sede'"):
        mod.setup(sede=1)
    with pytest.raises(chapter_params.ParameterError, match="seed = 1.5 must be an integer"):
        mod.setup(seed=1.5)
    if "seeds" in registry.defaults(key):
        with pytest.raises(chapter_params.ParameterError, match=r"seeds = \[0, 0\] repeats \[0\]"):
            mod.setup(seeds=[0, 0])


def test_key_of():
    assert registry.key_of("5") == registry.key_of("chapters/05_pruning_mlp.ipynb") == "05"
    with pytest.raises(ValueError, match="no chapter '11'; known: 02, 03"):
        registry.key_of("11")


def test_parameter_validators():
    c = chapter_params
    assert c.integers([64, 32], "widths", minimum=1) == (64, 32)
    with pytest.raises(c.ParameterError, match=r"widths = \[64, -1\]: -1 is below the minimum 1"):
        c.integers([64, -1], "widths", minimum=1)
    with pytest.raises(c.ParameterError, match="widths = '64' must be a list of integers"):
        c.integers("64", "widths")
    with pytest.raises(c.ParameterError, match=r"density = 0 must lie in \(0, 1\]"):
        c.density(0)
    with pytest.raises(c.ParameterError, match="epochs = True must be an integer"):
        c.integer(True, "epochs")
    with pytest.raises(c.ParameterError, match="arch = 'x' is not allowed; choose one of: 'a', 'b'"):
        c.choice("x", "arch", ["a", "b"])
    assert c.seeds_with(3, (0, 1)) == (3, 0, 1) and c.seeds_with(1, (0, 1)) == (0, 1)


def test_resolve_seeds():
    """``seeds`` or the chapter's seeds at the profile, ``seed`` first when it is not among them; the
    defaults give each profile's own seeds, or their first ``fewer_seeds`` in its ``fewer_seeds_chapters``."""
    def resolve(profile: str, seed: int = 0, seeds: list[int] | None = None, chapter: str = "02") -> tuple[int, ...]:
        return chapter_params.resolve_seeds(SimpleNamespace(seed=seed, seeds=seeds), profiles.get(profile), chapter)

    for name, p in profiles.PROFILES.items():
        for key in registry.KEYS:
            want = p.seeds[:p.fewer_seeds] if key in p.fewer_seeds_chapters else p.seeds
            assert resolve(name, chapter=key) == want == profiles.chapter_seeds(p, key), (name, key)
    mixed = dataclasses.replace(profiles.get("cpu"), seeds=(0, 1, 2, 3, 4), fewer_seeds_chapters=("05", "09"),
                                fewer_seeds=3)

    def resolve_mixed(chapter: str, seed: int = 0, seeds: list[int] | None = None) -> tuple[int, ...]:
        return chapter_params.resolve_seeds(SimpleNamespace(seed=seed, seeds=seeds), mixed, chapter)

    assert resolve_mixed("05") == (0, 1, 2) and resolve_mixed("06") == (0, 1, 2, 3, 4)
    assert resolve_mixed("05", seed=7) == (7, 0, 1, 2) and resolve_mixed("05", seed=1) == (0, 1, 2)
    assert resolve_mixed("05", seeds=[3, 4]) == (0, 3, 4), "an explicit seeds parameter wins"
    assert resolve("smoke", seeds=[3, 4]) == (0, 3, 4) and resolve("smoke", seed=4, seeds=[3, 4]) == (3, 4)


@pytest.mark.parametrize("key", [k for k in registry.KEYS if "seeds" in registry.defaults(k)])
def test_every_chapter_resolves_seeds_one_way(key, monkeypatch):
    """Every chapter with ``seed`` and ``seeds`` parameters runs the seeds :func:`resolve_seeds` gives for it,
    and by default its own :func:`lib.profiles.chapter_seeds` (a profile giving every chapter fewer seeds)."""
    mod = registry.module(key)
    for kw in ({}, {"seed": 5}, {"seeds": [3, 4]}, {"seed": 4, "seeds": [3, 4]}):
        s = mod.setup(profile="smoke", **kw)
        assert s.seeds == chapter_params.resolve_seeds(s.params, profiles.get("smoke"), key), (key, kw)
    smoke = profiles.get("smoke")
    monkeypatch.setitem(profiles.PROFILES, "smoke", dataclasses.replace(
        smoke, fewer_seeds_chapters=tuple(registry.KEYS), fewer_seeds=1))
    assert mod.setup(profile="smoke").seeds == smoke.seeds[:1], key


def test_fewer_seeds_profile_rules():
    """A profile's seeds are distinct; ``fewer_seeds`` lies in 1..len(seeds) when chapters use it; keys are
    two-digit; a chapter never runs more seeds than a chapter whose runs it reads (it would train them)."""
    cpu = profiles.get("cpu")
    with pytest.raises(ValueError, match=r"seeds = \(0, 0\)"):
        dataclasses.replace(cpu, seeds=(0, 0))
    with pytest.raises(ValueError, match="fewer_seeds = 9; allowed 1 to 5"):
        dataclasses.replace(cpu, seeds=(0, 1, 2, 3, 4), fewer_seeds_chapters=("05", "09"), fewer_seeds=9)
    with pytest.raises(ValueError, match=r"fewer_seeds_chapters = \['5'\]"):
        dataclasses.replace(cpu, fewer_seeds_chapters=("5",), fewer_seeds=1)
    with pytest.raises(ValueError, match="chapter 09 reads chapter 05's runs but would run more seeds"):
        dataclasses.replace(cpu, seeds=(0, 1, 2, 3, 4), fewer_seeds_chapters=("05",), fewer_seeds=3)
    ok = dataclasses.replace(cpu, seeds=(0, 1, 2, 3, 4), fewer_seeds_chapters=("05", "09"), fewer_seeds=2)
    assert profiles.chapter_seeds(ok, "09") == (0, 1) and profiles.chapter_seeds(ok, "06") == (0, 1, 2, 3, 4)
    assert profiles.seeds_text(ok) == "5 (2 in chapters 5 and 9)" and profiles.seeds_text(profiles.get("smoke")) == "2"
    assert f"| {profiles.seeds_text(cpu)} |" in profiles.settings_markdown(("cpu",))


@functools.cache
def _smoke_hashes(key: str) -> frozenset[str]:
    """The run hashes chapter ``key`` plans at the smoke profile, default parameters."""
    mod = registry.module(key)
    return frozenset(lib_plan.hashes(mod.plan(mod.setup(profile="smoke"))))


def test_reads_runs_of_is_true():
    """:data:`lib.profiles.READS_RUNS_OF` names, for each chapter, exactly the chapters that plan a run of
    its plan before it does in a build (:data:`registry.EXECUTION`; smoke profile, default parameters), so the
    seed rule it guards sees every run a chapter reads rather than trains."""
    order = [k for k in registry.EXECUTION if not registry.get(k).gathers]
    owner: dict[str, str] = {}
    for key in order:
        for h in _smoke_hashes(key):
            owner.setdefault(h, key)
    found = {key: tuple(sorted({owner[h] for h in _smoke_hashes(key)} - {key})) for key in order}
    assert {k: v for k, v in found.items() if v} == profiles.READS_RUNS_OF


def test_profile_names_come_from_lib_profiles():
    assert layout.PROFILES == tuple(profiles.PROFILES) and layout.DEFAULT_PROFILE in profiles.PROFILES


# ------------------------------------------------------------------------------ one executor trains
#: The functions that train a run into the cache: the training loop and the executor's per-run step.
TRAINERS = {"lib.train.train", "lib.runs.train_run"}
#: The modules that may call them, and why: the loop's own module, the runner that defines the per-run step,
#: the one executor, the SLURM job (one run per job), and the plan check (one step on a stand-in batch into
#: a temporary folder, never the run cache).
MAY_TRAIN = {"lib.train", "lib.runs", "lib.parallel", "lib.cluster.slurm", "lib.book.dryrun"}


def trainer_uses(source: str, module: str, *, is_pkg: bool = False) -> list[str]:
    """Where ``source`` (the text of ``module``) names a function of :data:`TRAINERS`: a name imported from
    its module (``from ..train import train as t; t(...)``) or an attribute of the module imported under any
    name (``from .. import runs; runs.train_run(...)``, ``import lib.train; lib.train.train(...)``). One
    "line N: name" per use."""
    here = module.split(".") if is_pkg else module.split(".")[:-1]
    tree = ast.parse(source)
    functions: dict[str, str] = {}  # local name -> trainer it is bound to
    modules: dict[str, str] = {}  # local dotted name -> module it is bound to
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                modules[a.asname or a.name] = a.name
        elif isinstance(node, ast.ImportFrom):
            parent = here[: len(here) - node.level + 1] if node.level else []
            base = ".".join(parent + ([node.module] if node.module else []))
            for a in node.names:
                full = f"{base}.{a.name}"
                if full in TRAINERS:
                    functions[a.asname or a.name] = full
                else:
                    modules[a.asname or a.name] = full
    uses = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id in functions:
            uses.append(f"line {node.lineno}: {functions[node.id]}")
        elif isinstance(node, ast.Attribute):
            owner = ast.unparse(node.value)
            if f"{modules.get(owner, owner)}.{node.attr}" in TRAINERS:
                uses.append(f"line {node.lineno}: {modules.get(owner, owner)}.{node.attr}")
    return uses


def test_the_trainer_check_finds_every_way_of_calling_it():
    chapter = "lib.chapters.ch99_example"
    offending = {
        "from ..runs import train_run\ntrain_run(cfg)\n": "lib.runs.train_run",
        "from .. import runs\nruns.train_run(cfg)\n": "lib.runs.train_run",
        "from ..train import train as fit\nfit(cfg, out)\n": "lib.train.train",
        "from .. import train as loop\nloop.train(cfg, out)\n": "lib.train.train",
        "import lib.train\nlib.train.train(cfg, out)\n": "lib.train.train",
        "from lib import runs as r\nstep = r.train_run\n": "lib.runs.train_run",
    }
    for source, trainer in offending.items():
        assert [u.split(": ")[1] for u in trainer_uses(source, chapter)] == [trainer], source
    fine = ("from .. import parallel, runs\nparallel.train(plan)\nruns.load(cfg)\nmodel.train()\nmodel.train(False)\n"
            "from ..plan import Plan\npool.train(todo)\n")
    assert trainer_uses(fine, chapter) == []


def test_only_the_executor_trains():
    """No module of lib/ outside :data:`MAY_TRAIN` calls the training loop or the executor's per-run step:
    chapters, experiments and the build train a plan with ``lib.parallel.train`` and read with ``lib.runs.load``."""
    bad = [f"{m} ({f.relative_to(ROOT)}) {use}" for m, (f, is_pkg) in _modules().items() if m not in MAY_TRAIN
           for use in trainer_uses(f.read_text(), m, is_pkg=is_pkg)]
    assert not bad, "train outside the one executor:\n" + "\n".join(bad)
    assert trainer_uses((LIB / "parallel.py").read_text(), "lib.parallel")  # the scan sees the executor's own call


# ------------------------------------------------------------------------ chapters import no chapter
#: A chapter's module or one of its companions: ``lib/chapters/chNN_*.py``, NN the chapter's key.
CHAPTER_FILE = re.compile(r"ch(\d\d)_\w+")
#: Calls that import a module named by a string: ``importlib.import_module(name, package)``, ``__import__(name)``.
DYNAMIC_IMPORTS = {"import_module", "__import__"}


def chapter_of(module: str) -> str | None:
    """The key NN of ``lib.chapters.chNN_*`` (or of anything inside it); None for every other module."""
    parts = module.split(".")
    hit = CHAPTER_FILE.fullmatch(parts[2]) if len(parts) > 2 and parts[:2] == ["lib", "chapters"] else None
    return hit.group(1) if hit else None


def _absolute(name: str, package: str) -> str:
    """``name`` as an absolute module name; a relative one (leading dots) is resolved against ``package``."""
    dots = len(name) - len(name.lstrip("."))
    if not dots:
        return name
    parent = package.split(".")[: len(package.split(".")) - dots + 1]
    return ".".join(parent + ([name[dots:]] if name[dots:] else []))


def _callee(call: ast.Call) -> str | None:
    """The name a call calls: ``f`` of ``f(...)`` and of ``x.y.f(...)``."""
    return call.func.attr if isinstance(call.func, ast.Attribute) else getattr(call.func, "id", None)


def _literal(node: ast.expr | None) -> str | None:
    """The string ``node`` is when it is a string literal, else None."""
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def chapter_imports(source: str, module: str) -> list[str]:
    """Where ``source`` (the text of the chapter module ``module``, a ``lib.chapters.chNN_*``) imports the module
    of another chapter (a different NN): ``import``/``from ... import`` statements, absolute or relative, at
    module level or inside a function, and ``importlib.import_module``/``__import__`` called with a literal name.
    Its own chapter's companions (same NN) and every other module are allowed; so is ``registry.module(key)``
    (how chapter 7 reads the other chapters). One "line N: lib.chapters.chMM_name" per import."""
    own, package = chapter_of(module), module.rpartition(".")[0]
    named: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            named += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = _absolute("." * node.level + (node.module or ""), package)
            named += [(node.lineno, f"{base}.{a.name}") for a in node.names]
        elif isinstance(node, ast.Call) and _callee(node) in DYNAMIC_IMPORTS and node.args and _literal(node.args[0]):
            given = next((k.value for k in node.keywords if k.arg == "package"), None)
            given = node.args[1] if len(node.args) > 1 else given
            named.append((node.lineno, _absolute(_literal(node.args[0]), _literal(given) or package)))
    found = []
    for line, name in named:
        key = chapter_of(name)
        if key is not None and key != own:
            found.append(f"line {line}: {'.'.join(name.split('.')[:3])}")
    return list(dict.fromkeys(found))


def test_the_chapter_import_check_finds_every_way_of_importing_a_chapter():
    """The check on synthetic sources, so that :func:`test_chapters_import_no_other_chapter` cannot pass because
    the check sees nothing."""
    companion = "lib.chapters.ch05_example_tables"
    offending = {
        "from .ch02_coherence import style\n": "lib.chapters.ch02_coherence",
        "from . import ch03_diffs as c3\n": "lib.chapters.ch03_diffs",
        "from lib.chapters.ch04_width import setup\n": "lib.chapters.ch04_width",
        "from lib.chapters import ch06_pruning_large\n": "lib.chapters.ch06_pruning_large",
        "import lib.chapters.ch08_what_diffs_measure as c8\n": "lib.chapters.ch08_what_diffs_measure",
        "from ..chapters.ch09_why_random_works import plan\n": "lib.chapters.ch09_why_random_works",
        "def f():\n    from .ch02_coherence import style\n    return style()\n": "lib.chapters.ch02_coherence",
        "import importlib\nc2 = importlib.import_module('lib.chapters.ch02_coherence')\n":
            "lib.chapters.ch02_coherence",
        "from importlib import import_module\nc3 = import_module('.ch03_diffs', 'lib.chapters')\n":
            "lib.chapters.ch03_diffs",
        "import importlib\nc3 = importlib.import_module('.ch03_diffs', package=__package__)\n":
            "lib.chapters.ch03_diffs",
        "c7 = __import__('lib.chapters.ch07_conclusions')\n": "lib.chapters.ch07_conclusions",
    }
    for source, imported in offending.items():
        assert [u.split(": ")[1] for u in chapter_imports(source, companion)] == [imported], source
    clean = ("import importlib\nfrom . import figures, params as check, registry, seed_tests\n"
             "from .. import profiles\nfrom ..plan import Plan\nfrom .mlp import sweep\n"
             "from .ch05_pruning_mlp import Params\nfrom .ch05_example_figures import draw\n"
             "c2 = registry.module('02')\nmod = importlib.import_module(registry.get(key).module)\n"
             "def f():\n    from .verdicts import Claim\n    return Claim\n")
    assert chapter_imports(clean, companion) == []
    assert chapter_of("lib.chapters.registry") is None and chapter_of("lib.chapters.ch07_conclusions") == "07"


def test_chapters_import_no_other_chapter():
    """A chapter's module and its companions (``lib/chapters/chNN_*.py``) import shared helpers (registry,
    params, verdicts, seed_tests, figures, palette, thesis, mlp, large, realdata, ...), never another chapter's
    module (../shared/ARCHITECTURE.md); chapter 7 reads the others through :mod:`lib.chapters.registry`."""
    scanned = {m: f for m, (f, _) in _modules().items() if chapter_of(m) is not None}
    assert set(registry.get(k).module for k in registry.KEYS) <= set(scanned)  # every chapter's module is checked
    bad = [f"{m} ({f.relative_to(ROOT)}) {use}" for m, f in sorted(scanned.items())
           for use in chapter_imports(f.read_text(), m)]
    assert not bad, "a chapter imports another chapter's module:\n" + "\n".join(bad)
