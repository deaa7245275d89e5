"""Every example in segsim's docstrings runs and shows what it says; none is skipped.

Each docstring with examples is one test. The examples see their module's globals plus a
small namespace built here (``result``, ``scenario``, ``flow``, ... over the demo population),
run in a temporary folder (an example that writes a file writes it there) and headless
(matplotlib's Agg backend; figures are closed after each test).
"""

from __future__ import annotations

import doctest
import importlib
import pkgutil
from typing import Any

import pandas as pd
import pytest

import segsim as ss
import segsim.analysis
import segsim.plots

FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE

MODULES = [
    importlib.import_module(name)
    for name in sorted(
        {"segsim", *(info.name for info in pkgutil.walk_packages(ss.__path__, "segsim."))}
    )
]
DOCTESTS = sorted(
    (
        test
        for module in MODULES
        for test in doctest.DocTestFinder().find(module, module.__name__)
        if test.examples
    ),
    key=lambda test: test.name,
)


@pytest.fixture(scope="module")
def namespace() -> dict[str, Any]:
    """What the examples refer to without defining it: a scenario, its flows and results."""
    store = ss.datasets.demo(contacts=200, seed=7)
    vip = ss.Segment("VIP", ss.attr("plan") == "pro")
    flow = ss.Flow(
        "Welcome",
        trigger=ss.SegmentTrigger("VIP", filters=ss.attr("email_subscribed") == True),
        steps=[
            ss.SendEmail("e1", template="welcome"),
            ss.Wait("w1", "2d"),
            ss.SendSMS("s1", template="offer", campaign="onboarding", opt_out_footer=True),
        ],
    )
    flow_b = ss.Flow(
        "Welcome",
        trigger=ss.SegmentTrigger("VIP"),
        steps=[ss.SendEmail("e1", template="welcome")],
    )
    scenario = ss.Scenario(
        store, segments=[vip], flows=[flow], start="2026-01-01", end="2026-04-01", seed=1
    )
    result = ss.simulate(scenario, progress=False)
    result_b = ss.simulate(scenario.with_flow(flow_b), progress=False)
    return {
        "ss": ss,
        "pd": pd,
        # the analysis functions and the plots they are piped into
        **{name: getattr(ss.analysis, name) for name in ss.analysis.__all__},
        **{name: getattr(ss.plots, name) for name in ss.plots.__all__},
        "store": store,
        "flow": flow,
        "flow_b": flow_b,
        "scenario": scenario,
        "result": result,
        "result_a": result,
        "result_b": result_b,
        "a": result,
        "b": result_b,
    }


def test_every_module_is_searched():
    names = {module.__name__ for module in MODULES}
    assert {"segsim", "segsim.store", "segsim.engine", "segsim.datasets.demo"} <= names
    assert len(DOCTESTS) >= 40


def test_no_example_is_skipped():
    skipped = [
        f"{test.name} (line {test.lineno + example.lineno + 1})"
        for test in DOCTESTS
        for example in test.examples
        if example.options.get(doctest.SKIP)
    ]
    assert not skipped, "examples marked +SKIP: " + ", ".join(skipped)


@pytest.mark.parametrize("test", DOCTESTS, ids=lambda test: test.name)
def test_docstring_examples(test, namespace, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # an example that writes a file writes it here
    globs = {**test.globs, **namespace}
    copy = doctest.DocTest(test.examples, globs, test.name, test.filename, test.lineno, None)
    report: list[str] = []
    runner = doctest.DocTestRunner(optionflags=FLAGS)
    failed, attempted = runner.run(copy, out=report.append)
    if failed:
        pytest.fail("".join(report), pytrace=False)
    assert attempted == len(test.examples)
