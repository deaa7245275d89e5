"""Shared fixtures: headless plots, deterministic randomness, closed figures, Hypothesis profiles.

Every Hypothesis example count lives here, in a profile (none in a test's decorator):

* ``ci`` (the default): modest counts, so that the default run stays fast;
* ``long``: many more examples; the ``slow`` twins of the property tests use it
  (``@settings(settings.get_profile("long"))``), and ``HYPOTHESIS_PROFILE=long`` applies it
  to every property test of a run;
* ``dev``: a handful of examples, for a quick check while editing;
* ``strategy-coverage``: the fixed, derandomized sample with which
  ``test_strategy_reaches_every_step_kind_and_setting`` checks what the generator reaches.
"""

from __future__ import annotations

import os

os.environ.setdefault("MPLBACKEND", "Agg")

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
from hypothesis import HealthCheck, settings

_COMMON = {
    "deadline": None,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large],
}
settings.register_profile("ci", max_examples=50, **_COMMON)
settings.register_profile("long", max_examples=2_000, **_COMMON)
settings.register_profile("dev", max_examples=10, **_COMMON)
# Not a property: a sample of the generator, the same every run (the check needs about 25
# draws today; 60 leaves room for changes to the strategies).
settings.register_profile(
    "strategy-coverage", max_examples=60, derandomize=True, database=None, **_COMMON
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(autouse=True)
def _close_figures_and_seed():
    np.random.seed(0)
    yield
    plt.close("all")


@pytest.fixture(scope="session")
def small_demo():
    """The demo scenario on 300 contacts (store built) and its simulated result.

    Built once per session and shared by several modules: treat both as read-only (a test
    that changes a frame must copy it first).
    """
    import segsim as ss

    scenario = ss.datasets.demo_scenario(contacts=300)
    return scenario, ss.simulate(scenario, progress=False)
