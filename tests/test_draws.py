"""Deterministic draws (segsim.engine.draws): fixed values, the same in every process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from segsim.engine.draws import Draws, uniform

#: (seed, replication, flow, step, contact, purpose) -> the draw. These values are the
#: contract of the encoding documented in segsim/engine/draws.py: a change here changes
#: every simulated split, holdout and response.
EXPECTED = [
    ((1, 0, "Welcome", "ab", 42, "split"), 0.6858517000998171),
    ((1, 0, "Welcome", "ab", "42", "split"), 0.8695737138951476),
    ((1, 1, "Welcome", "ab", 42, "split"), 0.4215179511044831),
    ((1, 0, None, None, 42, "holdout"), 0.947621536498085),
    ((7, 0, "Flöw", "é1", "contact-é", "email_opened"), 0.9718963912067782),
    ((2**70, 3, "F", "s", -5, "x"), 0.8491798389675264),
]


@pytest.mark.parametrize(("fields", "value"), EXPECTED)
def test_draws_have_fixed_values(fields, value):
    assert uniform(*fields) == value


def test_draws_are_the_same_in_another_process_with_another_hash_seed():
    # str hashing is randomised per process (PYTHONHASHSEED): the draws must not depend on it
    # the module is loaded from its file alone (it imports nothing from segsim): fast
    code = (
        "import importlib.util, json, sys\n"
        "spec = importlib.util.spec_from_file_location('draws', sys.argv[1])\n"
        "draws = sys.modules['draws'] = importlib.util.module_from_spec(spec)\n"
        "spec.loader.exec_module(draws)\n"
        "cases = json.loads(sys.argv[2])\n"
        "print(json.dumps([draws.uniform(*fields) for fields in cases]))\n"
    )
    cases = [list(fields) for fields, _ in EXPECTED]
    path = Path(__file__).resolve().parents[1] / "segsim" / "engine" / "draws.py"
    for hash_seed in ("0", "12345"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        out = subprocess.run(
            [sys.executable, "-c", code, str(path), json.dumps(cases)],
            capture_output=True,
            text=True,
            check=True,
            env=env,
        )
        assert json.loads(out.stdout) == [value for _, value in EXPECTED]


def test_every_field_changes_the_draw():
    base = (1, 0, "F", "s", 1, "split")
    draws = {uniform(*base)}
    for i, other in enumerate((2, 1, "G", "t", 2, "holdout")):
        changed = list(base)
        changed[i] = other
        draws.add(uniform(*changed))
    assert len(draws) == 7
    # fields are length-prefixed: moving characters between fields changes the draw
    assert uniform(1, 0, "ab", "c", 1, "x") != uniform(1, 0, "a", "bc", 1, "x")


def test_draws_bind_seed_and_replication():
    assert Draws(1).uniform("Welcome", "ab", 42, "split") == EXPECTED[0][1]
    assert Draws(1, replication=1).uniform("Welcome", "ab", 42, "split") == EXPECTED[2][1]


def test_draw_fields_are_ints_strings_or_none():
    with pytest.raises(TypeError, match="bool"):
        uniform(1, 0, "F", "s", True, "split")
    with pytest.raises(TypeError, match="float"):
        uniform(1, 0, "F", "s", 1.5, "split")


def test_draws_are_uniform_in_the_unit_interval():
    n = 20_000
    values = [uniform(3, 0, "F", "s", contact, "split") for contact in range(n)]
    assert all(0.0 <= v < 1.0 for v in values)
    mean = sum(values) / n
    se = (1 / 12 / n) ** 0.5  # the standard error of the mean of n uniforms
    assert abs(mean - 0.5) < 4 * se
    below = sum(v < 0.1 for v in values) / n
    assert abs(below - 0.1) < 4 * (0.1 * 0.9 / n) ** 0.5


def test_bound_draws_equal_the_reference_function():
    """``Draws.uniform`` hashes from a saved state per (flow, step): the same values as
    :func:`uniform` for every field type, and for (flow, step) pairs met again."""
    from hypothesis import given
    from hypothesis import strategies as st

    names = st.one_of(st.none(), st.text(max_size=6))
    ids = st.one_of(st.integers(min_value=-(2**70), max_value=2**70), st.text(max_size=8))

    @given(
        st.integers(min_value=0, max_value=2**64),
        st.integers(min_value=0, max_value=50),
        st.lists(st.tuples(names, names, ids, st.text(max_size=10)), min_size=1, max_size=8),
    )
    def check(seed, replication, calls):
        draws = Draws(seed, replication)
        for flow, step, contact, purpose in calls * 2:  # every pair met twice
            expected = uniform(seed, replication, flow, step, contact, purpose)
            assert draws.uniform(flow, step, contact, purpose) == expected

    check()
