"""The example notebooks run top to bottom on small data, headless, without a cell error."""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel  # noqa: E402

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
KERNEL = "python3"
CONTACTS = "300"
TIMEOUT = 300  # seconds per cell


def _runs_this_python(argv: list[str]) -> bool:
    """Whether a kernelspec's command starts this interpreter.

    jupyter_client launches a spec whose command is plain ``python`` (or ``python3``,
    ``python3.X``) with ``sys.executable``, the interpreter running the tests.
    """
    if not argv:
        return False
    major, minor = sys.version_info[:2]
    if argv[0] in {"python", f"python{major}", f"python{major}.{minor}"}:
        return True
    found = shutil.which(argv[0])
    return found is not None and os.path.realpath(found) == os.path.realpath(sys.executable)


@pytest.fixture(scope="module")
def kernel_env(tmp_path_factory):
    """Environment for the kernel: headless matplotlib, small data, this interpreter."""
    env = {"MPLBACKEND": "Agg", "SEGSIM_NOTEBOOK_CONTACTS": CONTACTS}
    try:
        spec = KernelSpecManager().get_kernel_spec(KERNEL)
        usable = _runs_this_python(spec.argv)
    except NoSuchKernel:
        usable = False
    if not usable:
        # A kernelspec of our own, running this interpreter, found first on JUPYTER_PATH.
        root = tmp_path_factory.mktemp("jupyter")
        folder = root / "kernels" / KERNEL
        folder.mkdir(parents=True)
        spec_json = {
            "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": "Python 3 (segsim tests)",
            "language": "python",
        }
        (folder / "kernel.json").write_text(json.dumps(spec_json), encoding="utf-8")
        paths = [str(root), os.environ.get("JUPYTER_PATH", "")]
        env["JUPYTER_PATH"] = os.pathsep.join(p for p in paths if p)
    return env


def test_the_stories_are_there():
    names = {path.stem for path in NOTEBOOKS.glob("*.ipynb")}
    assert names >= {
        "01_quickstart",
        "02_segments_over_time",
        "03_flow_semantics",
        "04_ab_comparison",
        "05_report",
        "06_explorer",
    }


def test_committed_notebooks_have_no_outputs():
    for path in sorted(NOTEBOOKS.glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            if cell.cell_type == "code":
                assert not cell.outputs and cell.execution_count is None, path.name


@pytest.mark.parametrize("path", sorted(NOTEBOOKS.glob("*.ipynb")), ids=lambda path: path.stem)
def test_notebook_runs(path, kernel_env, monkeypatch):
    for name, value in kernel_env.items():
        monkeypatch.setenv(name, value)
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        nb,
        kernel_name=KERNEL,
        timeout=TIMEOUT,
        resources={"metadata": {"path": str(NOTEBOOKS)}},  # the kernel's working directory
        allow_errors=False,
    )
    client.execute()  # raises CellExecutionError naming the cell and the error
    first = next(cell for cell in nb.cells if cell.cell_type == "code")
    assert "SEGSIM_NOTEBOOK_CONTACTS" in first.source
