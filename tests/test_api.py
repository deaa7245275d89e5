"""The public API: ``__all__`` and the names exported agree, and the version is set."""

from __future__ import annotations

import segsim as ss


def test_all_matches_public_names():
    public = {
        name for name in dir(ss) if not name.startswith("_") and not _is_module(getattr(ss, name))
    }
    assert public - {"annotations"} <= set(ss.__all__) | {"datasets"}
    for name in ss.__all__:
        assert hasattr(ss, name), name


def test_version_comes_from_metadata():
    assert ss.__version__ and ss.__version__ != "0+unknown"


def _is_module(obj):
    import types

    return isinstance(obj, types.ModuleType)


# -- lazy imports -----------------------------------------------------------------------------


def _modules_after(code: str) -> set[str]:
    """The top-level modules imported by running ``code`` in a fresh interpreter."""
    import json
    import subprocess
    import sys

    script = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    ).stdout
    return {name.split(".")[0] for name in json.loads(out.splitlines()[-1])}


def test_import_segsim_loads_no_heavy_dependency():
    loaded = _modules_after("import segsim")
    assert not loaded & {"matplotlib", "ipywidgets", "dask", "pandas", "duckdb", "pydantic"}


def test_the_command_line_help_loads_no_heavy_dependency():
    code = (
        "import contextlib, io, segsim.cli\n"
        "with contextlib.suppress(SystemExit), contextlib.redirect_stdout(io.StringIO()):\n"
        "    segsim.cli.main(['--help'])"
    )
    loaded = _modules_after(code)
    assert not loaded & {"matplotlib", "ipywidgets", "dask", "pandas", "duckdb", "pydantic"}


def test_simulating_and_reading_a_result_do_not_load_matplotlib():
    code = (
        "import segsim as ss\n"
        "scenario = ss.datasets.demo_scenario(contacts=50)\n"
        "result = ss.simulate(scenario, progress=False)\n"
        "result.summary(); result.explain(result.runs['contact_id'].iloc[0])\n"
        "from segsim.diagram import step_counts\n"
        "step_counts(result, 'Win-back')"
    )
    loaded = _modules_after(code)
    assert "pandas" in loaded  # it did run
    assert not loaded & {"matplotlib", "ipywidgets", "dask"}


def test_a_name_resolves_to_the_same_object_as_its_module():
    from segsim.compare import compare
    from segsim.flows import Flow
    from segsim.widgets import Explorer  # imports the module segsim.compare

    assert ss.Flow is Flow
    assert ss.Explorer is Explorer
    assert ss.compare is compare  # the function, not the module of the same name
    assert callable(ss.compare)


def test_compare_is_the_function_on_first_use_in_a_fresh_interpreter():
    import subprocess
    import sys

    code = (
        "import segsim as ss\n"
        "first = ss.compare\n"
        "import segsim.widgets\n"
        "print(callable(first), ss.compare is first, ss.datasets.__name__)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["True", "True", "segsim.datasets"]


def test_dir_lists_every_public_name_before_any_is_used():
    import subprocess
    import sys

    code = "import segsim; print(' '.join(dir(segsim)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert set(ss.__all__) <= set(out.stdout.split())


def test_an_unknown_name_is_an_attribute_error():
    import pytest

    with pytest.raises(AttributeError, match="no attribute 'Flw'"):
        _ = ss.Flw
