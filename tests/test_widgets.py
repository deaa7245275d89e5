"""segsim.widgets: the explorer, driven headless by setting control values."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta

import pandas as pd
import pytest

import segsim as ss

ipywidgets = pytest.importorskip("ipywidgets")

from segsim.compare import apply_variant  # noqa: E402
from segsim.widgets import Explorer  # noqa: E402


@pytest.fixture(scope="module")
def scenario(small_demo):
    return small_demo[0]  # the demo scenario on 300 contacts, its store built (conftest.py)


def flow_row(explorer: Explorer, flow: str) -> pd.Series:
    return explorer.summary.set_index("flow").loc[flow]


def test_importing_the_module_does_not_import_ipywidgets():
    code = "import sys, segsim, segsim.widgets; print('ipywidgets' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_without_ipywidgets_the_error_says_how_to_install(scenario, monkeypatch):
    monkeypatch.setitem(sys.modules, "ipywidgets", None)  # makes `import ipywidgets` fail
    with pytest.raises(ImportError, match="pip install ipywidgets"):
        Explorer(scenario, "Welcome Pro")


def test_unknown_flow_is_refused(scenario):
    with pytest.raises(ValueError, match=r"no flow 'Welcome'.*'Welcome Pro'"):
        Explorer(scenario, "Welcome")


def test_controls_start_from_the_flow_and_the_first_run_is_the_scenario(scenario):
    explorer = Explorer(scenario, "Welcome Pro")
    values = {name: control.value for name, control in explorer.controls.items()}
    assert values == {
        "w_settle": "2d",
        "w_offer": "5d",
        "allow_reentry": True,
        "reentry_mode": "recheck",
        "reentry_wait": "30d",
        "on_pause": "hold",
        "quiet_hours": "21:00-08:00",  # the demo policy's quiet hours
        "daily_cap": 0,  # its daily cap counts SMS only; the control caps all messages
        "compare_with": None,
    }
    assert isinstance(explorer.widget, ipywidgets.VBox)
    assert "application/vnd.jupyter.widget-view+json" in explorer._repr_mimebundle_()
    assert explorer.error is None
    assert explorer.comparison is None
    expected = ss.simulate(scenario, progress=False).summary()
    pd.testing.assert_frame_equal(explorer.summary, expected)
    kinds = [list(output["data"]) for output in explorer.output.outputs]
    assert ["image/png", "text/plain"] in kinds  # the charts
    assert sum("text/html" in kind for kind in kinds) == 2  # headline numbers, summary


def test_turning_reentry_off_runs_each_contact_once(scenario):
    explorer = Explorer(scenario, "Welcome Pro")
    before = flow_row(explorer, "Welcome Pro")
    assert before["runs"] > before["contacts_entered"]  # contacts re-enter in the demo

    explorer.controls["allow_reentry"].value = False

    after = flow_row(explorer, "Welcome Pro")
    assert after["runs"] == after["contacts_entered"] == before["contacts_entered"]
    assert after["email_sent"] < before["email_sent"]
    assert explorer.flow.settings.allow_reentry is False
    assert explorer.controls["reentry_mode"].disabled
    assert explorer.controls["reentry_wait"].disabled
    runs = explorer.result.runs
    assert set(runs.loc[runs["flow"] == "Welcome Pro", "entry"]) == {"first"}


def test_event_reentry_mode_has_no_rechecks(scenario):
    explorer = Explorer(scenario, "Welcome Pro")
    entries = explorer.result.runs.query("flow == 'Welcome Pro'")["entry"]
    runs_before = flow_row(explorer, "Welcome Pro")["runs"]
    assert (entries == "recheck").sum() > 0

    explorer.controls["reentry_mode"].value = "event"

    entries = explorer.result.runs.query("flow == 'Welcome Pro'")["entry"]
    assert (entries == "recheck").sum() == 0
    assert flow_row(explorer, "Welcome Pro")["runs"] < runs_before


def test_changes_apply_to_the_versions_scheduled_edits_bring_in(scenario):
    explorer = Explorer(scenario, "Welcome Pro")
    explorer.controls["w_settle"].value = "4d"
    explorer.controls["reentry_mode"].value = "event"

    (edit,) = [e for e in explorer.variant_scenario().schedule if e.kind == "edit"]
    waits = {step.id: step.duration for step in edit.flow.steps if step.kind == "wait"}
    assert waits == {"w_settle": timedelta(days=4), "w_offer": timedelta(days=3)}  # v2's own
    assert edit.flow.settings.reentry_mode == "event"
    assert edit.flow.version == 2
    assert set(explorer.result.runs["version"]) == {1, 2}


def test_a_wait_duration_changes_the_timing(scenario):
    explorer = Explorer(scenario, "Win-back")
    assert explorer.controls["w_grace"].value == "3d"

    def grace_delays() -> set[timedelta]:
        steps = explorer.result.steps
        times = steps.pivot_table(index="run_id", columns="step_id", values="time", aggfunc="min")
        delays = (times["b_active"] - times["e_miss_you"]).dropna()
        return {delay.to_pytimedelta() for delay in delays}

    assert grace_delays() == {timedelta(days=3)}
    completed_before = flow_row(explorer, "Win-back")["completed"]

    explorer.controls["w_grace"].value = "10d"

    assert grace_delays() == {timedelta(days=10)}
    assert explorer.flow.steps[1].duration == timedelta(days=10)
    assert flow_row(explorer, "Win-back")["completed"] != completed_before


def test_a_bad_duration_is_reported_and_the_last_result_kept(scenario):
    explorer = Explorer(scenario, "Welcome Pro")
    explorer.controls["on_pause"].value = "exit"
    good, summary, outputs = explorer.result, explorer.summary, explorer.output.outputs

    explorer.controls["w_settle"].value = "2 fortnights"

    assert explorer.result is good
    assert explorer.summary is summary
    assert explorer.output.outputs == outputs
    assert "cannot read '2 fortnights' as a duration" in explorer.error
    assert explorer.error in explorer.status.value
    assert explorer.flow.settings.on_pause == "exit"

    explorer.controls["w_settle"].value = "0d"
    assert "must be positive" in explorer.status.value
    assert explorer.result is good

    explorer.controls["w_settle"].value = "4d"
    assert explorer.error is None
    assert explorer.result is not good
    assert "simulated in" in explorer.status.value


def test_comparison_with_the_baseline(scenario):
    explorer = Explorer(scenario, "Welcome Pro", compare_with="baseline")
    table = explorer.comparison
    assert list(table.columns) == ["baseline", "explored", "explored_delta", "explored_change"]
    assert (table["explored_delta"] == 0).all()
    baseline_runs = explorer.summary["runs"].sum()

    explorer.controls["allow_reentry"].value = False

    table = explorer.comparison
    assert table.loc["runs", "baseline"] == baseline_runs
    assert table.loc["runs", "explored"] == explorer.summary["runs"].sum()
    assert table.loc["runs", "explored_delta"] < 0
    assert any(
        "Every flow, compared with baseline" in o["data"].get("text/html", "")
        for o in explorer.output.outputs
    )

    explorer.controls["compare_with"].value = None
    assert explorer.comparison is None


def test_compare_with_a_given_variant(scenario):
    flow = next(f for f in scenario.flows if f.name == "Welcome Pro")
    short = type(flow).model_validate(
        {**flow.model_dump(), "settings": {**flow.settings.model_dump(), "reentry_wait": "7d"}}
    )
    explorer = Explorer(scenario, "Welcome Pro", compare_with={"short wait": short})
    assert explorer.controls["compare_with"].value == "short wait"
    assert list(explorer.controls["compare_with"].options) == [
        ("None", None),
        ("baseline", "baseline"),
        ("short wait", "short wait"),
    ]
    table = explorer.comparison
    assert list(table.columns[:2]) == ["short wait", "explored"]
    # the variant follows the one rule of compare: its change also holds in the version the
    # schedule's 1 May edit brings in
    variant = ss.simulate(apply_variant(scenario, short), progress=False)
    assert table.loc["runs", "short wait"] == len(variant.runs)
    (edit,) = [e for e in apply_variant(scenario, short).schedule if e.kind == "edit"]
    assert edit.flow.settings.reentry_wait == timedelta(days=7)
    assert table.loc["runs", "explored"] == len(explorer.result.runs)


def test_compare_with_refuses_a_variant_of_another_flow(scenario):
    other = next(f for f in scenario.flows if f.name == "Win-back")
    with pytest.raises(ValueError, match="same name"):
        Explorer(scenario, "Welcome Pro", compare_with={"B": other})


# -- what a change re-simulates ---------------------------------------------------------------------


def assert_same_frames(mine, theirs):
    from segsim._internal.frames import FRAMES

    for name in FRAMES:
        pd.testing.assert_frame_equal(getattr(mine, name), getattr(theirs, name), obj=name)


@pytest.mark.parametrize("flow_name", ["Welcome Pro", "Win-back", "Churn cleanup"])
def test_a_variant_reuses_unreached_contacts_and_equals_a_full_run(scenario, flow_name):
    from segsim.incremental import IncrementalSimulation

    simulation = IncrementalSimulation(scenario, flow_name)
    assert_same_frames(simulation.baseline, ss.simulate(scenario, progress=False))
    flow = next(f for f in scenario.flows if f.name == flow_name)
    variant = scenario.with_settings(flow_name, allow_reentry=not flow.settings.allow_reentry)
    result = simulation.simulate(variant)
    assert_same_frames(result, ss.simulate(variant, progress=False))
    # only contacts that entered the flow's trigger segment were simulated again
    events = simulation.baseline.segment_events
    entered = (events["segment"] == flow.trigger.segment) & (events["event"] == "enter")
    expected = events.loc[entered, "contact_id"].nunique()
    assert simulation.last_contacts == expected < len(scenario.store.contacts)


def test_a_variant_with_another_trigger_reruns_the_contacts_of_both(scenario):
    from segsim.incremental import IncrementalSimulation

    simulation = IncrementalSimulation(scenario, "Win-back")
    flow = next(f for f in scenario.flows if f.name == "Win-back")
    moved = flow.model_validate({**flow.model_dump(), "trigger": {"segment": "Churned"}})
    variant = scenario.with_flow(moved)
    result = simulation.simulate(variant)
    assert_same_frames(result, ss.simulate(variant, progress=False))
    events = simulation.baseline.segment_events
    entered = events["segment"].isin(["Lapsed", "Churned"]) & (events["event"] == "enter")
    both = events.loc[entered, "contact_id"].nunique()
    assert simulation.last_contacts == both


def test_a_change_outside_the_explored_flow_is_simulated_in_full(scenario):
    from segsim.incremental import IncrementalSimulation

    simulation = IncrementalSimulation(scenario, "Win-back")
    variant = scenario.with_settings("Welcome Pro", allow_reentry=False)
    assert_same_frames(simulation.simulate(variant), ss.simulate(variant, progress=False))
    assert simulation.last_contacts is None


def test_transitions_are_computed_once_per_explorer(scenario, monkeypatch):
    import segsim.engine.stream as stream

    calls = []
    original = stream.transitions_table

    def counting(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(stream, "transitions_table", counting)
    explorer = Explorer(scenario, "Welcome Pro", compare_with="baseline")
    explorer.controls["allow_reentry"].value = False
    explorer.controls["w_settle"].value = "4d"
    explorer.controls["reentry_wait"].value = "7d"
    assert len(calls) == 1
    assert "re-simulating" in explorer.status.value


def test_headline_counts_messages_and_keeps_webhooks_apart(scenario):
    explorer = Explorer(scenario, "Welcome Pro")
    actions = explorer.result.actions.query("flow == 'Welcome Pro' and status == 'sent'")
    emails = int((actions["action"] == "send_email").sum())
    sms = int((actions["action"] == "send_sms").sum())
    hooks = int((actions["action"] == "webhook").sum())
    assert hooks > 0  # the demo flow calls a CRM webhook
    headline = explorer._headline()
    assert f"messages sent: {emails:,} emails, {sms:,} SMS, 0 WhatsApp" in headline
    assert "operations (not messages): " in headline and f"{hooks:,} webhooks called" in headline
    every = explorer.result.actions.query("status == 'sent'")["action"]
    messages = int(every.isin(["send_email", "send_sms", "send_whatsapp"]).sum())
    assert f"{messages:,} messages sent" in explorer.status.value
    sends_ax = explorer._figure().axes[0]
    assert sends_ax.get_legend_handles_labels()[1] == ["email", "sms"]  # no webhook


def test_static_fallback_beside_the_widget_view(scenario):
    explorer = Explorer(scenario, "Welcome Pro", compare_with="baseline")
    explorer.controls["allow_reentry"].value = False
    bundle = explorer._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle  # front ends with widgets
    page = bundle["text/html"]  # and everything else
    assert "changes: allow_reentry = False" in page
    assert "Summary (every flow)" in page and "<table" in page
    assert "Every flow, compared with baseline" in page
    assert page.count('src="data:image/png;base64,') == 1
    assert "<script" not in page
