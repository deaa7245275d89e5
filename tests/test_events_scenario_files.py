"""Scenario files with an EventTrigger and a WaitFor: YAML, JSON schema, `segsim validate`."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml

import segsim as ss
from segsim.cli import main
from segsim.scenario import scenario_json_schema

SCENARIO = """\
data: {kind: csv, path: contacts.csv, events: events.csv, event_properties: {amount: number}}
start: 2026-01-01
end: 2026-02-01
segments:
  - name: Pro
    where: {kind: compare, attribute: plan, op: "==", value: pro}
flows:
  - name: Cart
    trigger:
      event: cart_abandoned
      filters: {kind: compare, attribute: email_subscribed, op: "==", value: true}
    steps:
      - {kind: send_email, id: e1, template: cart}
      - kind: wait_for
        id: wf
        until: {kind: compare, attribute: plan, op: "==", value: pro}
        timeout: 3d
        then: [{kind: send_email, id: e_thanks, template: thanks}]
        timed_out: [{kind: send_email, id: e_nudge, template: nudge}]
"""
CONTACTS = (
    "contact_id,ts,attribute,value\n"
    "1,2025-12-01,email,a@example.com\n1,2025-12-01,email_subscribed,true\n"
    "1,2025-12-01,plan,free\n1,2026-01-03,plan,pro\n"
    "2,2025-12-01,email,b@example.com\n2,2025-12-01,email_subscribed,true\n"
    "2,2025-12-01,plan,free\n"
)
EVENTS = (
    "contact_id,ts,event,amount\n"
    "1,2026-01-02,cart_abandoned,80\n2,2026-01-02,cart_abandoned,20\n2,2026-01-10,page_view,\n"
)


def write(tmp_path: Path, text: str = SCENARIO) -> Path:
    (tmp_path / "contacts.csv").write_text(CONTACTS)
    (tmp_path / "events.csv").write_text(EVENTS)
    path = tmp_path / "scenario.yaml"
    path.write_text(text)
    return path


def test_a_scenario_file_with_an_event_trigger_and_a_waitfor_runs(tmp_path):
    s = ss.load_scenario(write(tmp_path))
    flow = s.flows[0]
    assert isinstance(flow.trigger, ss.EventTrigger) and isinstance(flow.steps[1], ss.WaitFor)
    result = ss.simulate(s, progress=False)
    # contact 1 turns pro a day after its cart (then); contact 2 never does (timed out at day 4)
    assert [
        (r.contact_id, str(r.time.date()), r.step_id, r.outcome) for r in result.steps.itertuples()
    ] == [
        (1, "2026-01-02", "e1", "sent"),
        (2, "2026-01-02", "e1", "sent"),
        (1, "2026-01-03", "wf", "then"),
        (1, "2026-01-03", "e_thanks", "sent"),
        (2, "2026-01-05", "wf", "timed_out"),
        (2, "2026-01-05", "e_nudge", "sent"),
    ]


def test_the_scenario_dump_validates_against_the_schema_and_round_trips(tmp_path):
    s = ss.load_scenario(write(tmp_path))
    document = json.loads(s.model_dump_json())
    jsonschema.validate(document, scenario_json_schema())
    again = ss.Scenario.model_validate(yaml.safe_load(yaml.safe_dump(document)))
    assert again.flows == s.flows
    defs = scenario_json_schema()["$defs"]
    assert {"EventTrigger", "WaitFor"} <= set(defs)


def test_a_bad_key_in_an_event_trigger_is_named_at_its_path(tmp_path):
    path = write(
        tmp_path,
        SCENARIO.replace("event: cart_abandoned", "event: cart_abandoned\n      on: enter"),
    )
    with pytest.raises(ss.ScenarioError, match=r"flows\[0\]\.trigger\.on"):
        ss.load_scenario(path)


def test_validate_names_an_unknown_event_with_a_suggestion(tmp_path, capsys):
    path = write(tmp_path, SCENARIO.replace("event: cart_abandoned", "event: cart_abandonned"))
    assert main(["validate", str(path)]) != 0
    out = capsys.readouterr()
    text = out.out + out.err
    assert "flows[0].trigger.event" in text and "did you mean 'cart_abandoned'?" in text


def test_validate_checks_a_waitfor_condition(tmp_path, capsys):
    path = write(
        tmp_path,
        SCENARIO.replace(
            "until: {kind: compare, attribute: plan", "until: {kind: compare, attribute: plna"
        ),
    )
    assert main(["validate", str(path)]) != 0
    out = capsys.readouterr()
    text = out.out + out.err
    assert "flows[0].steps[1].until" in text and "segments[0]" not in text
    assert "did you mean 'plan'?" in text


def test_an_event_trigger_where_in_a_file_selects_the_occurrences(tmp_path):
    text = SCENARIO.replace(
        "      event: cart_abandoned\n",
        "      event: cart_abandoned\n"
        "      where: {kind: prop_compare, property: amount, op: '>=', value: 50}\n",
    )
    result = ss.simulate(ss.load_scenario(write(tmp_path, text)), progress=False)
    assert list(result.runs["contact_id"]) == [1]  # contact 2's cart was 20
    assert result.suppressed.empty
