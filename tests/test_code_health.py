"""Code health, checked by the test suite so that the README's test command (and CI) runs it:
ruff's lint rules, ruff's formatting, and the import-linter layers contract of ``segsim``.

The tools come with the ``test`` extra; a check is skipped only when its tool is not installed.
Nothing is cached or written in the repository (``--no-cache``).
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _run(*argv: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1"}  # one line per message
    return subprocess.run(
        [sys.executable, *argv], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )


def _explain(done: subprocess.CompletedProcess[str]) -> str:
    return f"exit code {done.returncode}\n{done.stdout}\n{done.stderr}"


def test_ruff_check_is_clean():
    pytest.importorskip("ruff")
    done = _run("-m", "ruff", "check", "--no-cache", ".")
    assert done.returncode == 0, "`ruff check .` finds problems:\n" + _explain(done)


def test_ruff_format_leaves_every_file_as_it_is():
    pytest.importorskip("ruff")
    done = _run("-m", "ruff", "format", "--check", "--no-cache", ".")
    assert done.returncode == 0, "run `ruff format .`:\n" + _explain(done)


def test_import_layers_contract_is_kept():
    pytest.importorskip("importlinter")
    code = "import sys; from importlinter.cli import lint_imports_command as c; sys.exit(c())"
    done = _run("-c", code, "--no-cache", "--config", "pyproject.toml")
    assert done.returncode == 0, "`lint-imports` (pyproject.toml [tool.importlinter]):\n" + (
        _explain(done)
    )
    assert " 0 broken" in done.stdout, done.stdout
    # an ignored import that no longer exists: say so (the ignore can be deleted)
    stale = [line for line in done.stdout.splitlines() if "No matches for ignored import" in line]
    for line in stale:
        warnings.warn(f"pyproject.toml [tool.importlinter]: {line.strip(' -')}", stacklevel=1)


# -- no import cycles, function-level imports included -----------------------------------------


def _module_names(package: Path) -> dict[str, Path]:
    """``segsim.engine.core`` → its file, for every module and package under ``package``."""
    names = {}
    for path in sorted(package.rglob("*.py")):
        parts = path.relative_to(package.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        names[".".join(parts)] = path
    return names


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _runtime_imports(tree: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    """Every import statement that can run: at module level, in functions, in classes, in
    ``try``/``if`` blocks; not those under ``if TYPE_CHECKING:`` (they never run)."""
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            stack.extend(node.orelse)
            continue
        stack.extend(ast.iter_child_nodes(node))


def import_graph(package: Path) -> dict[str, set[str]]:
    """Each module of the package → the modules of the package it imports.

    ``import a.b`` is an edge to ``a.b``; ``from a import b`` to ``a.b`` when that is a
    module, else to ``a``; relative imports are resolved. Only the module named is an edge,
    not the packages above it that Python initialises first: ``segsim/__init__.py`` imports
    (re-exports) everything, and the cycle this forbids is a module importing ``segsim``
    itself (``import segsim``, ``from segsim import Flow``).
    """
    modules = _module_names(package)
    root = package.name
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        is_package = path.name == "__init__.py"
        edges: set[str] = set()
        for node in _runtime_imports(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                if node.level:
                    here = name.split(".") if is_package else name.split(".")[:-1]
                    base = here[: len(here) - node.level + 1]
                    source = ".".join([*base, *([node.module] if node.module else [])])
                else:
                    source = node.module or ""
                targets = [
                    f"{source}.{alias.name}" if f"{source}.{alias.name}" in modules else source
                    for alias in node.names
                ]
            edges |= {t for t in targets if t in modules and t != name}
        graph[name] = edges
        assert name == root or name.startswith(f"{root}.")
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of the graph, as ``[a, b, ..., a]``, or None when there is none."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)) is not None:
                return found
        state[node] = 2
        path.pop()
        return None

    for start in sorted(graph):
        if start not in state and (found := visit(start)) is not None:
            return found
    return None


def test_the_cycle_finder_finds_a_function_level_cycle(tmp_path):
    package = tmp_path / "pkg"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("from pkg.a import A\n")
    (package / "a.py").write_text("from pkg.sub import b\nA = 1\n")
    (package / "sub" / "__init__.py").write_text("")
    (package / "sub" / "b.py").write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from pkg import c\n"
        "def f():\n    from .. import c\n    return c\n"
    )
    (package / "c.py").write_text("def g():\n    import pkg.a\n")
    graph = import_graph(package)
    assert graph == {
        "pkg": {"pkg.a"},
        "pkg.a": {"pkg.sub.b"},
        "pkg.sub": set(),
        "pkg.sub.b": {"pkg.c"},
        "pkg.c": {"pkg.a"},
    }
    assert find_cycle(graph) == ["pkg.a", "pkg.sub.b", "pkg.c", "pkg.a"]
    (package / "c.py").write_text("def g():\n    import os\n")
    assert find_cycle(import_graph(package)) is None


def test_no_import_cycles():
    """No module of segsim imports, even inside a function, a module that imports it back."""
    graph = import_graph(ROOT / "segsim")
    assert len(graph) > 50 and "segsim._conditions.models" in graph
    cycle = find_cycle(graph)
    assert cycle is None, "an import cycle: " + " -> ".join(cycle or ())


# -- module size ---------------------------------------------------------------------------------

#: No module grows past this many lines: a longer one holds two things (split it).
MAX_LINES = 700

#: Modules allowed over the limit while a split is under way (none: every module is within it).
LONG_MODULES: set[str] = set()


def test_no_module_is_over_the_line_limit():
    lengths = {
        path.relative_to(ROOT).as_posix(): len(path.read_text().splitlines())
        for path in sorted((ROOT / "segsim").rglob("*.py"))
    }
    too_long = {
        name: n for name, n in lengths.items() if n > MAX_LINES and name not in LONG_MODULES
    }
    assert not too_long, f"modules over {MAX_LINES} lines (split them): {too_long}"
    for name in sorted(LONG_MODULES):
        if lengths.get(name, 0) <= MAX_LINES:  # split: the exception can go
            warnings.warn(
                f"{name} is within {MAX_LINES} lines: drop it from LONG_MODULES", stacklevel=1
            )
