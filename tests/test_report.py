"""Reports: sections, exports, and every number reconciled with the frames it comes from."""

from __future__ import annotations

import base64
import re

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pandas as pd
import pytest

from segsim._internal.frames import FRAMES
from segsim.conditions import attr
from segsim.flows import (
    ActivationSettings,
    AddToList,
    Branch,
    Channels,
    Edit,
    ExitsSegment,
    Flow,
    Pause,
    Resume,
    SegmentTrigger,
    SendEmail,
    SendSMS,
    Wait,
    Webhook,
)
from segsim.report import Report, Section, build_report, markdown_table
from segsim.result import SimulationResult
from segsim.scenario import Scenario
from segsim.segments import Segment
from segsim.store import Store

T0 = pd.Timestamp("2026-01-01", tz="UTC")


def us(days: float) -> int:
    return (T0 + pd.Timedelta(days=days)).value // 1000


WELCOME = Flow(
    "Welcome",
    trigger=SegmentTrigger("VIP", filters=attr("sms_subscribed") == True),
    steps=[
        SendSMS("sms1", template="welcome"),
        Wait("w1", "2d"),
        Branch(
            "b1",
            when=attr("plan") == "pro",
            then=[SendEmail("e1", template="tips")],
            otherwise=[AddToList("l1", "newsletter")],
        ),
    ],
    settings=ActivationSettings(
        allow_reentry=True,
        reentry_wait="7d",
        reentry_mode="event",
        exit_conditions=[ExitsSegment("VIP")],
        on_pause="drain",
    ),
)
HOOK = Flow(
    "Hook",
    trigger=SegmentTrigger("VIP", on="exit"),
    steps=[Webhook("h1", url="https://example.com/x")],
)


def _frames():
    """Two flows, four contacts, every status, two skip and three suppression reasons."""
    runs = [
        (1, "Welcome", 1, 1, us(0), "first", us(2), "completed"),
        (2, "Welcome", 1, 2, us(1), "first", us(3), "completed"),
        (3, "Welcome", 1, 3, us(8), "first", us(10), "exit_condition"),
        (4, "Welcome", 1, 1, us(12), "reentry", us(30), "horizon"),
        (5, "Hook", 1, 4, us(9), "first", us(9), "completed"),
    ]
    steps, actions = [], []

    def act(day, run, step_id, kind, channel, template, status, reason=None, cost=0.0):
        flow, contact = {
            1: ("Welcome", 1),
            2: ("Welcome", 2),
            3: ("Welcome", 3),
            4: ("Welcome", 1),
            5: ("Hook", 4),
        }[run]
        steps.append((us(day), run, flow, contact, step_id, kind, status, 1))
        actions.append(
            (
                us(day),
                run,
                flow,
                step_id,
                contact,
                kind,
                channel,
                template,
                status,
                reason,
                cost,
                None,
                1,
            )
        )

    def rule(day, run, step_id, kind, outcome):
        flow, contact = ("Welcome", {1: 1, 2: 2, 3: 3, 4: 1}[run])
        steps.append((us(day), run, flow, contact, step_id, kind, outcome, 1))

    act(0, 1, "sms1", "send_sms", "sms", "welcome", "sent", cost=0.05)
    rule(0, 1, "w1", "wait", "waiting")
    rule(2, 1, "b1", "branch", "then")
    act(2, 1, "e1", "send_email", "email", "tips", "sent", cost=0.001)
    act(1, 2, "sms1", "send_sms", "sms", "welcome", "skipped", "no_phone")
    rule(1, 2, "w1", "wait", "waiting")
    rule(3, 2, "b1", "branch", "otherwise")
    act(3, 2, "l1", "add_to_list", "", None, "applied")
    act(8, 3, "sms1", "send_sms", "sms", "welcome", "skipped", "unsubscribed")
    rule(8, 3, "w1", "wait", "waiting")
    act(9, 5, "h1", "webhook", "webhook", None, "sent", cost=0.002)
    act(12, 4, "sms1", "send_sms", "sms", "welcome", "sent", cost=0.05)
    rule(12, 4, "w1", "wait", "waiting")
    suppressed = [
        (us(1), "Welcome", 4, "filters"),
        (us(2), "Welcome", 1, "already_in_flow"),
        (us(5), "Welcome", 1, "reentry_wait"),
        (us(6), "Welcome", 1, "reentry_wait"),
    ]
    rows = {
        "runs": runs,
        "steps": sorted(steps),
        "actions": [(*r, 0.0) for r in sorted(actions, key=lambda r: r[:2])],  # queued: 0
        "suppressed": suppressed,
        "segment_events": [],
    }
    return {name: FRAMES[name].from_rows(r, "int64") for name, r in rows.items()}


@pytest.fixture(scope="module")
def store():
    rows = [(c, T0 - pd.Timedelta(days=10), "plan", "pro") for c in (1, 2, 3, 4)]
    rows.append((1, T0 + pd.Timedelta(days=3), "plan", "free"))
    frame = pd.DataFrame(rows, columns=["contact_id", "ts", "attribute", "value"])
    s = Store()
    s.load_attributes(frame)
    return s


@pytest.fixture
def result(store):
    scenario = Scenario(
        store,
        segments=[Segment("VIP", attr("plan") == "pro")],
        flows=[WELCOME, HOOK],
        start=T0,
        end=T0 + pd.Timedelta(days=30),
        seed=5,
        schedule=[
            Pause("Welcome", at=T0 + pd.Timedelta(days=4)),
            Resume("Welcome", at=T0 + pd.Timedelta(days=6)),
            Edit("Welcome", at=T0 + pd.Timedelta(days=20), flow=WELCOME.with_version(2)),
        ],
    )
    return SimulationResult(
        _frames(), scenario=scenario, meta={"flows": ["Welcome", "Hook"], "seed": 5}
    )


@pytest.fixture
def bare_result():
    return SimulationResult(
        _frames(), scenario=None, meta={"flows": ["Welcome", "Hook"], "seed": 0}
    )


# -- reconciliation: every total recomputed from the frames with plain pandas ---------------------


def test_every_number_reconciles_with_the_frames(result):
    report = build_report(result, freq="W")
    actions, runs, suppressed = result.actions, result.runs, result.suppressed
    sent = actions[actions["status"] == "sent"]
    messages = sent[sent["action"].isin(["send_email", "send_sms", "send_whatsapp"])]
    sent_per_channel = messages.groupby("channel").size().to_dict()
    assert sent_per_channel == {"email": 1, "sms": 2}
    total_cost = actions["cost"].sum()
    reach = messages["contact_id"].nunique()

    numbers = report.numbers()
    assert {k: numbers[f"{k}_sent"] for k in sent_per_channel} == sent_per_channel
    assert numbers["whatsapp_sent"] == 0
    assert numbers["messages_sent"] == len(messages) == 3
    assert numbers["cost"] == pytest.approx(total_cost)
    assert numbers["message_cost"] == pytest.approx(messages["cost"].sum())
    assert numbers["operation_cost"] == pytest.approx(0.002)
    assert numbers["contacts_reached"] == reach == 1
    assert numbers["runs"] == len(runs)
    assert numbers["contacts_entered"] == runs["contact_id"].nunique()
    assert numbers["skipped"] == (actions["status"] == "skipped").sum()
    assert numbers["suppressed"] == len(suppressed)
    assert numbers["webhooks_called"] == 1 and numbers["list_adds"] == 1
    assert numbers["operations"] == 2

    costs = report["cost_by_channel"].table.set_index("channel")
    assert costs.loc[list(sent_per_channel), "messages"].to_dict() == sent_per_channel
    assert costs.loc["total", "cost"] == pytest.approx(messages["cost"].sum())
    assert costs.loc["total", "messages"] == len(messages)
    assert "webhook" not in costs.index

    operations = report["operations"].table.set_index("flow")
    assert operations.loc["total", "webhooks_called"] == 1
    assert operations.loc["Welcome", "list_adds"] == 1
    assert operations.loc["total", "operation_cost"] == pytest.approx(0.002)

    per_period = report["sends_per_period"].table
    assert {c: per_period[c].sum() for c in sent_per_channel} == sent_per_channel
    assert per_period["total"].sum() == len(messages)
    assert "webhook" not in per_period.columns
    # every week of the window, clipped: Thu 1 Jan → Mon 5 Jan ... 26 Jan → 31 Jan
    assert per_period["period"].tolist() == [T0 + pd.Timedelta(days=d) for d in (0, 4, 11, 18, 25)]
    assert per_period["partial"].tolist() == [True, False, False, False, True]
    assert per_period["period_end"].iloc[-1] == T0 + pd.Timedelta(days=30)

    by_flow = report["sends_by_flow"].table
    assert by_flow["Welcome"].sum() == len(messages)
    assert "Hook" not in by_flow.columns  # it only calls a webhook
    assert (by_flow["total"] == per_period["total"]).all()

    reach_table = report["reach"].table.set_index("channel")
    assert reach_table.loc["any channel", "contacts"] == reach
    assert (
        reach_table.loc["sms", "contacts"]
        == messages[messages["channel"] == "sms"]["contact_id"].nunique()
    )

    per_flow = report["per_flow"].table.set_index("flow")
    assert per_flow["runs"].to_dict() == runs.groupby("flow").size().to_dict()
    per_flow_messages = report["messages_per_flow"].table.set_index("flow")
    assert per_flow_messages["messages_sent"].sum() == len(messages)
    assert per_flow_messages["message_cost"].sum() == pytest.approx(messages["cost"].sum())

    expected = suppressed.groupby(["flow", "reason"]).size()
    table = report["suppression_reasons"].table.set_index(["flow", "reason"])["count"]
    assert table.to_dict() == expected.to_dict()

    skips = report["skip_reasons"].table.set_index(["action", "reason"])["count"]
    skipped = actions[actions["status"] == "skipped"]
    assert skips.to_dict() == skipped.groupby(["action", "reason"]).size().to_dict()

    per_step = report["per_step"].table
    by_status = actions.groupby(["flow", "step_id", "status"]).size()
    for (flow, step_id, status), n in by_status.items():
        row = per_step[(per_step["flow"] == flow) & (per_step["step_id"] == step_id)]
        assert row[status].item() == n, (flow, step_id, status)
    assert per_step[["sent", "skipped", "applied"]].to_numpy().sum() == len(actions)

    funnel = report["funnel"].table
    entered = funnel[funnel["stage"] == "entered"].set_index("flow")["runs"]
    assert entered.to_dict() == runs.groupby("flow").size().to_dict()

    distribution = report["messages_per_contact"].table
    assert (distribution["messages"] * distribution["contacts"]).sum() == len(messages)
    assert distribution["contacts"].sum() == reach


def test_the_headline_counts_messages_and_reports_operations_apart(result):
    report = build_report(result)
    text = report["headline"].text
    assert "3 messages (Email 1, SMS 2, WhatsApp 0) to 1 distinct contacts" in text
    assert "Operations, not messages: 1 webhooks called, 1 list adds" in text
    assert "costing 0.10 EUR" in text and "costing < 0.01 EUR" in text


def test_per_flow_shows_every_end_reason_and_they_add_up_to_runs(result):
    per_flow = build_report(result)["per_flow"].table
    assert list(per_flow.columns) == [
        "flow",
        "runs",
        "contacts_entered",
        "completed",
        "exit_condition",
        "goal",
        "restarted",
        "contact_deleted",
        "step_removed",
        "paused_exit",
        "horizon",
    ]
    welcome = per_flow.set_index("flow").loc["Welcome"]
    assert (welcome["completed"], welcome["exit_condition"], welcome["horizon"]) == (2, 1, 1)
    ends = per_flow.columns[3:]
    assert (per_flow[ends].sum(axis=1) == per_flow["runs"]).all()


def test_headline_totals_appear_in_the_exports(result):
    report = build_report(result)
    markdown = report.to_markdown()
    assert "| sms_sent | 2 |" in markdown
    assert "| runs | 5 |" in markdown
    assert "| cost | 0.10 EUR |" in markdown
    assert "| total | 3 | 0.10 EUR |" in markdown
    assert "| any channel | 1 |" in markdown
    assert "0.10 EUR" in report._repr_html_()


def test_costs_carry_the_scenarios_currency_and_round_to_the_cent(store):
    scenario = Scenario(
        store,
        segments=[Segment("VIP", attr("plan") == "pro")],
        flows=[WELCOME, HOOK],
        start=T0,
        end=T0 + pd.Timedelta(days=30),
        channels=Channels(currency="USD"),
    )
    result = SimulationResult(_frames(), scenario=scenario, meta={"flows": ["Welcome", "Hook"]})
    report = build_report(result)
    markdown = report.to_markdown()
    assert "| cost | 0.10 USD |" in markdown and "EUR" not in markdown
    assert "| currency | USD |" in markdown


def test_ids_are_written_without_thousands_separators():
    frame = pd.DataFrame({"contact_id": [1001, 12345], "run_id": [2000, 3], "messages": [1001, 2]})
    assert markdown_table(frame).splitlines()[2:] == [
        "| 1001 | 2000 | 1,001 |",
        "| 12345 | 3 | 2 |",
    ]


# -- what the scenario says -----------------------------------------------------------------------


def test_scenario_section_states_window_data_seed_and_flow_settings(result):
    report = build_report(result)
    facts = dict(report["scenario"].table.itertuples(index=False, name=None))
    assert facts == {
        "window start": "2026-01-01",
        "window end": "2026-01-31",
        "contacts": "4",
        "attribute changes": "5",
        "seed": "5",
        "currency": "EUR",
    }
    flows = report["flows"].table.set_index("flow")
    welcome = flows.loc["Welcome"]
    assert welcome["versions"] == "1, 2 (edit 2026-01-21)"
    assert welcome["trigger"] == "on enter 'VIP' if sms_subscribed == True"
    assert welcome["allow_reentry"]
    assert welcome["reentry_wait"] == pd.Timedelta(days=7)
    assert welcome["reentry_mode"] == "event"
    assert welcome["on_pause"] == "drain"
    assert welcome["exit_conditions"] == "exits 'VIP'"
    assert welcome["restart_conditions"] == "none"
    assert welcome["schedule"] == "pause 2026-01-05, resume 2026-01-07"
    assert flows.loc["Hook", "trigger"] == "on exit 'VIP'"
    markdown = report.to_markdown()
    assert (
        "| Welcome | 1, 2 (edit 2026-01-21) | on enter 'VIP' if sms_subscribed == True | 5 | yes | 1w | event | drain |"
        in markdown
    )


def test_without_a_scenario_the_report_says_so(bare_result):
    report = build_report(bare_result)
    assert "Scenario not recorded" in report["scenario"].text
    assert "Scenario not recorded" in report.to_markdown()
    assert [s.key for s in report.sections] == [
        "scenario",
        "headline",
        "sends_per_period",
        "sends_by_flow",
        "cost_by_channel",
        "operations",
        "reach",
        "per_flow",
        "messages_per_flow",
        "per_step",
        "skip_reasons",
        "suppression_reasons",
        "funnel",
        "messages_per_contact",
    ]
    # no window to clip to: whole Monday weeks from the first message's to the last's
    periods = report["sends_per_period"].table
    assert periods["period"].dt.strftime("%Y-%m-%d").tolist() == [
        "2025-12-29",
        "2026-01-05",
        "2026-01-12",
    ]
    assert not periods["partial"].any()


def test_sections_and_charts(result):
    report = build_report(result)
    keys = [s.key for s in report.sections]
    assert keys[:3] == ["scenario", "flows", "headline"]
    assert "flow_diagrams" in keys
    charts = {s.key for s in report.sections if s.figure is not None}
    assert charts == {"sends_per_period", "sends_by_flow", "funnel", "messages_per_contact"}
    assert len(report["flow_diagrams"].svgs) == 3  # Welcome v1 and v2 (edited), Hook
    sends_ax = report["sends_per_period"].figure.axes[0]
    assert sends_ax.get_legend_handles_labels()[1] == ["email", "sms"]
    by_flow_ax = report["sends_by_flow"].figure.axes[0]
    assert by_flow_ax.get_legend_handles_labels()[1] == ["Welcome"]
    assert len(report["funnel"].figure.axes) == 2  # one funnel per flow
    with pytest.raises(KeyError, match="no section 'nope'"):
        report["nope"]


def test_building_and_exporting_leaves_no_figure_open(result, tmp_path):
    plt.close("all")
    report = build_report(result)
    report.to_html(tmp_path / "r.html")
    report._repr_html_()
    report.to_markdown(images=True)
    assert plt.get_fignums() == []


# -- exports ----------------------------------------------------------------------------------------


def test_html_file_is_self_contained(result, tmp_path):
    report = build_report(result)
    path = report.to_html(tmp_path / "report.html")
    assert path == tmp_path / "report.html"
    text = path.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>")
    assert "<script" not in text and "<link" not in text and "href=" not in text
    sources = re.findall(r'<img[^>]* src="([^"]+)"', text)
    assert len(sources) == 4
    for source in sources:
        assert source.startswith("data:image/png;base64,")
        assert base64.b64decode(source.split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"
    assert re.findall(r"(?:src|url)\(?=?\"?https?:", text) == []
    assert "<style>" in text and "Projected messages per period" in text


def test_text_is_escaped_in_html():
    frame = pd.DataFrame({"name": ["<b>x</b>"], "n": [1]})
    report = Report("A & B", [Section("s", "<Title>", "a < b", table=frame)])
    body = report._repr_html_()
    assert "&lt;b&gt;x&lt;/b&gt;" in body and "A &amp; B" in body and "&lt;Title&gt;" in body


def test_markdown_table_formats_without_tabulate():
    frame = pd.DataFrame(
        {
            "channel": ["sms", "a|b"],
            "messages": [1200, 3],
            "cost": [60.0, 0.0015],
            "share": [0.25, 0.75],
            "period": pd.to_datetime(
                ["2026-01-05", "2026-01-05 09:30"], utc=True, format="ISO8601"
            ),
        }
    )
    assert markdown_table(frame) == (
        "| channel | messages | cost | share | period |\n"
        "| --- | ---: | ---: | ---: | --- |\n"
        "| sms | 1,200 | 60.00 EUR | 25.0% | 2026-01-05 |\n"
        "| a\\|b | 3 | < 0.01 EUR | 75.0% | 2026-01-05 09:30 |"
    )
    assert markdown_table(frame.iloc[:0]).endswith("| *none* |  |  |  |  |")


def test_markdown_images_are_optional(result):
    report = build_report(result)
    assert "data:image/png" not in report.to_markdown()
    assert "*Chart: Funnel per flow (in the HTML report).*" in report.to_markdown()
    assert report.to_markdown(images=True).count("](data:image/png;base64,") == 4
    assert "*Flow diagrams: 3 in the HTML report.*" in report.to_markdown()


def test_flow_diagrams_are_inline_svg_one_per_version_with_its_own_counts(result, tmp_path):
    import xml.etree.ElementTree as ET

    from segsim.diagram import step_counts

    text = build_report(result).to_html(tmp_path / "report.html").read_text(encoding="utf-8")
    section = text[text.index('<section id="flow_diagrams">') :]
    section = section[: section.index("</section>")]
    svgs = re.findall(r"<svg.*?</svg>", section, flags=re.S)
    captions = [ET.fromstring(svg).find("{http://www.w3.org/2000/svg}text") for svg in svgs]
    assert ["".join(c.itertext()) for c in captions] == [
        "Welcome v1, in force 2026-01-01 → 2026-01-21",
        "Welcome v2, in force 2026-01-21 → 2026-01-31",
        "Hook v1, in force 2026-01-01 → 2026-01-31",
    ]
    assert "<img" not in section
    for svg, version in zip(svgs[:2], (1, 2), strict=True):
        root = ET.fromstring(svg)
        sizes = [float(e.get("font-size")) for e in root.iter("{http://www.w3.org/2000/svg}text")]
        assert min(sizes) >= 11
        counts = step_counts(result, "Welcome", version=version)
        shown = {
            e.get("data-gid")[len("counts:") :]: "".join(e.itertext()).split(" run")[0]
            for e in root.iter()
            if (e.get("data-gid") or "").startswith("counts:")
        }
        assert shown == {
            s: f"{n:,}" for s, n in zip(counts["step_id"], counts["reached"], strict=True)
        }
    total = step_counts(result, "Welcome")["reached"].sum()
    per_version = sum(step_counts(result, "Welcome", version=v)["reached"].sum() for v in (1, 2))
    assert per_version == total  # every execution counts in exactly one version


def test_bad_freq_is_a_clear_error(result):
    with pytest.raises(ValueError, match="calendar period"):
        build_report(result, freq="fortnight")


def test_periods_are_named_in_words_not_pandas_aliases(result):
    markdown = build_report(result, freq="W").to_markdown()
    assert "per week (Mon–Sun), UTC" in markdown
    assert "freq" not in markdown and "'W'" not in markdown
    assert "Partial periods (cut by the window): 2026-01-01 → 2026-01-05" in markdown
    assert "per month, UTC" in build_report(result, freq="M").to_markdown()


def test_empty_result_still_reports(bare_result):
    empty = SimulationResult(
        {name: frame.iloc[:0] for name, frame in bare_result.frames.items()},
        meta={"flows": ["Welcome"], "seed": 0},
    )
    report = build_report(empty)
    assert report.numbers()["runs"] == 0 and report.numbers()["cost"] == 0.0
    assert "| *none* |" in report.to_markdown()
    assert repr(report) == f"<Report 'Projected sends': {len(report.sections)} sections>"
