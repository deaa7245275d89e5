"""The documentation stays true to the code: its examples run."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

import segsim as ss

ROOT = Path(__file__).resolve().parent.parent


def test_scenario_example_in_datasets_readme_loads_and_simulates(tmp_path):
    text = (ROOT / "datasets" / "README.md").read_text()
    block = re.search(r"## Scenario files.*?```yaml\n(.*?)```", text, re.S).group(1)
    raw = yaml.safe_load(block)
    assert raw["data"]["kind"] == "csv"
    lines = [
        line
        for line in block.splitlines()
        if not line.startswith(("data:", "  kind: csv", "  path:", "  types:", "  lists:"))
    ]
    path = tmp_path / "scenario.yaml"
    path.write_text("data: {kind: demo, contacts: 200}\n" + "\n".join(lines))
    scenario = ss.load_scenario(path)
    result = ss.simulate(scenario, progress=False)
    assert set(result.runs["flow"]) <= {"Welcome Pro"}


def test_packaged_demo_scenario_is_the_one_in_datasets():
    packaged = Path(ss.datasets.DEMO_SCENARIO).read_text()
    assert packaged == (ROOT / "datasets" / "demo_scenario.yaml").read_text()


def test_readme_opens_with_the_two_commands_and_ci_runs_the_second():
    lines = (ROOT / "README.md").read_text().splitlines()
    commands = [line for line in lines[:6] if line.startswith("python3 -m venv")]
    assert len(commands) == 2
    assert commands[0].endswith("segsim demo")
    assert commands[1] in (ROOT / ".ci" / "run").read_text()


def test_readme_quick_start_runs():
    text = (ROOT / "README.md").read_text()
    code = re.search(r"## Quick start\n\n```python\n(.*?)```", text, re.S).group(1)
    code = code.replace("contacts=5_000", "contacts=300")
    namespace: dict = {}
    exec(compile(code, "README quick start", "exec"), namespace)
    assert len(namespace["result"].runs) > 0
