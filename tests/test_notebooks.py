"""The example notebooks run top to bottom on small data, headless, without a cell error.

Each notebook runs in a kernel of its own, two at a time (a kernel is a process of its own, so
two of them keep both cores of a CI machine busy while this process waits).
"""

from __future__ import annotations

import asyncio
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
AT_ONCE = 2  # notebooks executed at the same time, each in its own kernel
PATHS = sorted(NOTEBOOKS.glob("*.ipynb"))


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
        "07_experiments",
        "08_delivery_policies",
        "09_which_variant_converts",
        "10_forecast",
    }


def test_committed_notebooks_have_no_outputs():
    for path in sorted(NOTEBOOKS.glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            if cell.cell_type == "code":
                assert not cell.outputs and cell.execution_count is None, path.name


async def _execute(
    paths: list[Path],
) -> dict[str, tuple[nbformat.NotebookNode, BaseException | None]]:
    gate = asyncio.Semaphore(AT_ONCE)

    async def run(path: Path) -> tuple[nbformat.NotebookNode, BaseException | None]:
        nb = nbformat.read(path, as_version=4)
        client = nbclient.NotebookClient(
            nb,
            kernel_name=KERNEL,
            timeout=TIMEOUT,
            resources={"metadata": {"path": str(NOTEBOOKS)}},  # the kernel's working directory
            allow_errors=False,
        )
        async with gate:
            try:
                await client.async_execute()  # raises CellExecutionError naming the cell
            except Exception as exc:
                return nb, exc
        return nb, None

    outcomes = await asyncio.gather(*(run(path) for path in paths))
    return {path.stem: outcome for path, outcome in zip(paths, outcomes, strict=True)}


@pytest.fixture(scope="module")
def executed(request, kernel_env):
    """The selected notebooks, executed: ``{stem: (executed notebook, error or None)}``."""
    selected = [
        item.callspec.params["path"]
        for item in request.session.items
        if item.path == request.path and getattr(item, "originalname", "") == "test_notebook_runs"
    ]
    with pytest.MonkeyPatch.context() as patch:
        for name, value in kernel_env.items():
            patch.setenv(name, value)  # the kernels inherit this environment
        return asyncio.run(_execute(selected))


@pytest.mark.parametrize("path", PATHS, ids=lambda path: path.stem)
def test_notebook_runs(path, executed):
    nb, error = executed[path.stem]
    if error is not None:
        raise error
    first = next(cell for cell in nb.cells if cell.cell_type == "code")
    assert "SEGSIM_NOTEBOOK_CONTACTS" in first.source
