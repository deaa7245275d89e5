"""Code health, checked by the test suite so that the README's test command (and CI) runs it:
ruff's lint rules, ruff's formatting, and the import-linter layers contract of ``segsim``.

The tools come with the ``test`` extra; a check is skipped only when its tool is not installed.
Nothing is cached or written in the repository (``--no-cache``).
"""

from __future__ import annotations

import os
import subprocess
import sys
import warnings
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
