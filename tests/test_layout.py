"""The import direction of the layers, no import cycles, relative imports, small files.

Every ``.py`` under ``infra/``, ``pipelines/``, ``training/`` and ``mirencoder/`` is parsed
with :mod:`ast`; every import counts, including those inside functions and
``importlib.import_module("literal")`` calls. The layers, lowest first (an arrow reads "may be
imported by")::

    infra <- pipelines <- training.core <- training.pretraining <- training.registry
          <- training.embedding <- training.evaluation <- mirencoder (the CLI)
"""

from __future__ import annotations

import ast
import re
from functools import cache
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent

# Source folder -> installed package (setup.py's mapping).
FOLDERS = {"infra": "mirencoder.infra", "pipelines": "mirencoder.pipelines",
           "training": "mirencoder.training", "mirencoder": "mirencoder"}

# Lowest first; a module may import only its own layer or a lower one.
LAYERS = ["mirencoder.infra", "mirencoder.pipelines", "mirencoder.training.core",
          "mirencoder.training.pretraining", "mirencoder.training.registry",
          "mirencoder.training.embedding", "mirencoder.training.evaluation", "mirencoder"]

# Package roots that hold only a docstring (and ``mirencoder.__version__``): importing a
# submodule runs them anyway, so they sit below every layer and may import nothing.
ROOT_PACKAGES = {"mirencoder", "mirencoder.training"}

MAX_LINES = 600
# Files allowed past MAX_LINES, each with its reason. Empty: keep it that way.
LONG_FILE_EXCEPTIONS: dict[str, str] = {}

# Top-level folders of the repository that are importable packages although setup.py does not
# install them, each with its reason.
UNINSTALLED_PACKAGES = {
    "benchmarks": "scripts run as `python -m benchmarks.<name>` from a checkout; never "
                  "installed, never imported by the library (checked below)",
}

_LAYER_RE = re.compile("|".join(re.escape(layer) for layer in sorted(LAYERS, key=len,
                                                                     reverse=True)))


def _module_name(path: Path) -> str:
    relative = path.relative_to(REPO_ROOT)
    parts = [FOLDERS[relative.parts[0]], *relative.parts[1:]]
    parts[-1] = parts[-1].removesuffix(".py")
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


@cache
def _sources() -> dict[str, Path]:
    """Module name -> file, for every module of the installed packages."""
    found = {}
    for folder in FOLDERS:
        for path in sorted((REPO_ROOT / folder).rglob("*.py")):
            found[_module_name(path)] = path
    return found


class _Import:
    """One import statement: the importing module, the imported module and where it is."""

    def __init__(self, importer: str, target: str, line: int, absolute: bool) -> None:
        self.importer, self.target, self.line, self.absolute = importer, target, line, absolute

    def __repr__(self) -> str:
        path = _sources()[self.importer].relative_to(REPO_ROOT)
        return f"{path}:{self.line} imports {self.target}"


def _resolve(module: str, names: list[str], known: dict[str, Path]) -> list[str]:
    """The modules a ``from module import names`` loads: submodules when they exist."""
    targets = [f"{module}.{name}" for name in names if f"{module}.{name}" in known]
    if len(targets) < len(names):
        targets.append(module)
    return targets


def _literal_import_module(node: ast.AST) -> str | None:
    """``importlib.import_module("x.y")`` or ``__import__("x.y")`` with a literal name."""
    if not isinstance(node, ast.Call) or not node.args:
        return None
    func = node.func
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
    argument = node.args[0]
    if name in ("import_module", "__import__") and isinstance(argument, ast.Constant) and (
            isinstance(argument.value, str)):
        return argument.value
    return None


@cache
def _imports() -> list[_Import]:
    """Every project-internal import of every module (functions and literal importlib too)."""
    known = _sources()
    result = []
    for module, path in known.items():
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            targets: list[tuple[str, bool]] = []
            if isinstance(node, ast.Import):
                targets = [(alias.name, True) for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")
                    base = base[:len(base) - (node.level - 1)]
                    source = ".".join(base + ([node.module] if node.module else []))
                else:
                    source = node.module or ""
                names = [alias.name for alias in node.names]
                targets = [(t, node.level == 0) for t in _resolve(source, names, known)]
            elif (literal := _literal_import_module(node)) is not None:
                targets = [(literal, True)]
            for target, absolute in targets:
                top = target.split(".")[0]
                if top in ("mirencoder", "tests", *UNINSTALLED_PACKAGES):
                    result.append(_Import(module, target, node.lineno, absolute))
    return result


def _layer(module: str) -> int:
    match = _LAYER_RE.match(module)
    assert match is not None, f"{module} belongs to no layer"
    return LAYERS.index(match[0])


def test_every_module_has_a_layer() -> None:
    for module in _sources():
        if module not in ROOT_PACKAGES:
            _layer(module)


def test_setup_maps_the_same_folders() -> None:
    text = (REPO_ROOT / "setup.py").read_text()
    mapped = dict(re.findall(r'"(mirencoder[\w.]*)": "(\w+)"', text))
    assert mapped == {package: folder for folder, package in FOLDERS.items()}


def test_no_module_imports_a_higher_layer() -> None:
    upward = [i for i in _imports() if i.target.split(".")[0] == "mirencoder"
              and i.target not in ROOT_PACKAGES and i.importer not in ROOT_PACKAGES
              and _layer(i.target) > _layer(i.importer)]
    assert not upward, "imports of a higher layer:\n" + "\n".join(map(repr, upward))


def test_package_roots_import_nothing() -> None:
    found = [i for i in _imports() if i.importer in ROOT_PACKAGES]
    assert not found, found


def test_library_never_imports_tests_or_benchmarks() -> None:
    found = [i for i in _imports() if i.target.split(".")[0] != "mirencoder"]
    assert not found, found


def test_only_the_cli_imports_commands() -> None:
    found = [i for i in _imports() if i.target.startswith("mirencoder.commands")
             and _layer(i.importer) != LAYERS.index("mirencoder")]
    assert not found, found


def test_nothing_calls_the_cli() -> None:
    """Only ``python -m mirencoder`` enters the CLI; commands (the demo too) call library code."""
    found = [i for i in _imports() if i.target == "mirencoder.cli"
             and i.importer != "mirencoder.__main__"]
    assert not found, found


def test_library_imports_are_relative() -> None:
    """Inside pipelines/, training/ and infra/ no import names ``mirencoder`` absolutely."""
    library = tuple(f"{FOLDERS[folder]}." for folder in ("pipelines", "training", "infra"))
    found = [i for i in _imports() if i.absolute and f"{i.importer}.".startswith(library)]
    assert not found, "absolute imports in library code:\n" + "\n".join(map(repr, found))


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module, or a self-import (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(start: str) -> None:
        # Iterative Tarjan: (node, iterator over its successors).
        work = [(start, iter(sorted(graph.get(start, ()))))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, successors = work[-1]
            for successor in successors:
                if successor not in index:
                    index[successor] = low[successor] = len(index)
                    stack.append(successor)
                    on_stack.add(successor)
                    work.append((successor, iter(sorted(graph.get(successor, ())))))
                    break
                if successor in on_stack:
                    low[node] = min(low[node], index[successor])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1 or node in graph.get(node, ()):
                        found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_cycle_finder_finds_cycles() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"a"}}) == [["a"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def _imported_modules(target: str, importer: str, modules: set[str]) -> list[str]:
    """What importing ``target`` runs: the module itself and the ``__init__`` of each package
    above it (``a.b.c`` runs ``a/b/__init__``), except the packages that hold the importer
    (already running when it imports)."""
    parts = target.split(".")
    found = [".".join(parts[:n]) for n in range(1, len(parts) + 1)]
    return [m for m in found if m in modules and m != importer
            and not f"{importer}.".startswith(f"{m}.")]


def test_no_import_cycles() -> None:
    graph: dict[str, set[str]] = {module: set() for module in _sources()}
    for item in _imports():
        graph[item.importer].update(_imported_modules(item.target, item.importer, set(graph)))
    assert not _cycles(graph), f"import cycles: {_cycles(graph)}"


def test_a_package_init_counts_as_imported() -> None:
    modules = {"p", "p.q", "p.q.r", "x"}
    assert _imported_modules("p.q.r", "x", modules) == ["p", "p.q", "p.q.r"]
    assert _imported_modules("p.q.r", "p.q.s", modules) == ["p.q.r"]  # inside p.q already


def test_no_other_importable_top_level_package() -> None:
    packages = {p.parent.name for p in REPO_ROOT.glob("*/__init__.py")}
    assert packages <= set(FOLDERS) | set(UNINSTALLED_PACKAGES), packages
    assert not (REPO_ROOT / "datasets" / "__init__.py").exists()
    modules = {p.name for p in REPO_ROOT.glob("*.py")}
    assert modules == {"setup.py"}, modules


@pytest.mark.parametrize("module", sorted(_sources()))
def test_files_stay_small(module: str) -> None:
    path = _sources()[module]
    relative = str(path.relative_to(REPO_ROOT))
    lines = len(path.read_text().splitlines())
    if relative in LONG_FILE_EXCEPTIONS:
        return
    assert lines <= MAX_LINES, f"{relative} has {lines} lines (at most {MAX_LINES})"


def test_long_file_exceptions_are_still_needed() -> None:
    for relative in LONG_FILE_EXCEPTIONS:
        path = REPO_ROOT / relative
        assert path.exists() and len(path.read_text().splitlines()) > MAX_LINES, relative
