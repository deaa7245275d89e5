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
