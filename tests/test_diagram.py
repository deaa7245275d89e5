"""Flow diagrams: boxes, arrows and count annotations, inspected as artists (headless)."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pandas as pd
import pytest

from segsim._internal.frames import FRAMES
from segsim.conditions import attr, in_list
from segsim.diagram import draw_flow, flow_svg, step_counts
from segsim.flows import (
    AddToList,
    Branch,
    Flow,
    SegmentTrigger,
    SendEmail,
    SendSMS,
    UpdateContact,
    Wait,
    Webhook,
)
from segsim.result import SimulationResult

T0 = pd.Timestamp("2026-01-01", tz="UTC")


def us(days: float) -> int:
    return (T0 + pd.Timedelta(days=days)).value // 1000


WELCOME = Flow(
    "Welcome",
    trigger=SegmentTrigger("VIP", on="enter", filters=attr("sms_subscribed") == True),
    steps=[
        SendSMS("sms1", template="welcome", campaign="onboarding"),
        Wait("w1", "2d"),
        Branch(
            "b1",
            when=in_list("newsletter"),
            then=[SendEmail("e1", template="tips")],
            otherwise=[AddToList("l1", "newsletter")],
        ),
    ],
)


def gids(artists, prefix):
    return [a for a in artists if (a.get_gid() or "").startswith(prefix)]


def test_boxes_arrows_and_join_of_a_branching_flow():
    ax = draw_flow(WELCOME)
    boxes = gids(ax.patches, "step:") + gids(ax.patches, "trigger")
    assert sorted(b.get_gid() for b in boxes) == [
        "step:b1",
        "step:e1",
        "step:l1",
        "step:sms1",
        "step:w1",
        "trigger",
    ]
    # trigger→sms1→w1→b1, b1→e1, b1→l1, e1→join, l1→join
    assert len(gids(ax.patches, "edge")) == 7
    assert len(gids(ax.lines, "join")) == 1
    assert len(ax.patches) == 6 + 7
    labels = {t.get_gid(): t.get_text() for t in ax.texts}
    assert labels["trigger-label"] == "Welcome · v1\non enter 'VIP'\nif sms_subscribed == True"
    assert labels["label:sms1"].startswith("sms1 · send_sms\ntemplate 'welcome'")
    assert "campaign 'onboarding'" in labels["label:sms1"]
    assert labels["label:w1"] == "w1 · wait\nfor 2d"
    assert labels["label:b1"] == "b1 · branch\nwhen in_list('newsletter')"
    assert labels["label:l1"] == "l1 · add_to_list\nlist 'newsletter'"
    assert [t.get_text() for t in gids(ax.texts, "edge-label")] == ["then", "otherwise"]
    assert not gids(ax.texts, "counts:")  # no counts given, no annotations


def test_then_column_left_otherwise_right_and_join_below_both():
    ax = draw_flow(WELCOME)
    x = {p.get_gid(): p.get_x() + p.get_width() / 2 for p in gids(ax.patches, "step:")}
    y = {p.get_gid(): p.get_y() for p in gids(ax.patches, "step:")}
    assert x["step:e1"] < x["step:b1"] < x["step:l1"]
    assert x["step:sms1"] == x["step:w1"] == x["step:b1"]
    assert y["step:sms1"] > y["step:w1"] > y["step:b1"] > y["step:e1"] == y["step:l1"]
    (join,) = gids(ax.lines, "join")
    assert join.get_ydata()[0] < y["step:e1"]


def test_counts_annotate_each_box():
    counts = pd.DataFrame(
        {
            "step_id": ["sms1", "w1", "b1", "e1", "l1"],
            "kind": ["send_sms", "wait", "branch", "send_email", "add_to_list"],
            "reached": [1234, 1100, 1100, 660, 440],
            "sent": [1100, 0, 0, 600, 0],
            "skipped": [134, 0, 0, 60, 0],
            "applied": [0, 0, 0, 0, 440],
            "then": [0, 0, 660, 0, 0],
            "otherwise": [0, 0, 440, 0, 0],
        }
    )
    ax = draw_flow(WELCOME, counts=counts)
    notes = {t.get_gid(): t.get_text() for t in gids(ax.texts, "counts:")}
    assert notes == {
        "counts:sms1": "1,234 runs · 1,100 sent · 134 skipped",
        "counts:w1": "1,100 runs",
        "counts:b1": "1,100 runs · then 60% / otherwise 40%",
        "counts:e1": "660 runs · 600 sent · 60 skipped",
        "counts:l1": "440 runs · 440 applied",
    }


def test_step_missing_from_counts_reads_zero_runs():
    counts = pd.DataFrame(
        {
            "step_id": ["sms1"],
            "reached": [1],
            "sent": [1],
            "skipped": [0],
            "applied": [0],
            "then": [0],
            "otherwise": [0],
        }
    )
    ax = draw_flow(WELCOME, counts=counts)
    notes = {t.get_gid(): t.get_text() for t in gids(ax.texts, "counts:")}
    assert notes["counts:sms1"] == "1 run · 1 sent"
    assert notes["counts:w1"] == "0 runs"


def test_counts_without_the_needed_columns_is_a_clear_error():
    with pytest.raises(ValueError, match="step_counts"):
        draw_flow(WELCOME, counts=pd.DataFrame({"step": ["sms1"]}))


def test_empty_branch_path_goes_straight_to_the_join():
    flow = Flow(
        "F",
        trigger=SegmentTrigger("S"),
        steps=[
            Branch("b", when=attr("x") == 1, then=[SendEmail("e", template="t")]),
            UpdateContact("u", set={"tier": "gold"}),
        ],
    )
    ax = draw_flow(flow)
    # trigger→b, b→e, e→join, b→join (otherwise, empty), join→u
    assert len(gids(ax.patches, "edge")) == 5
    assert [t.get_text() for t in gids(ax.texts, "edge-label")] == ["then", "otherwise"]
    labels = {t.get_gid(): t.get_text() for t in ax.texts}
    assert labels["label:u"] == "u · update_contact\nset tier = 'gold'"


def test_draft_flow_and_long_labels_are_shortened():
    flow = Flow("Draft", steps=[Webhook("h", url="https://example.com/" + "a" * 80)])
    ax = draw_flow(flow)
    labels = {t.get_gid(): t.get_text() for t in ax.texts}
    assert labels["trigger-label"] == "Draft · v1\nno trigger (draft)"
    info = labels["label:h"].split("\n")[1]
    assert info.startswith("POST https://example.com/") and info.endswith("…")
    assert len(info) <= 32


def test_duck_typed_stand_ins_draw_too():
    step = SimpleNamespace(id="w", kind="wait", duration=dt.timedelta(hours=36))
    flow = SimpleNamespace(name="Stub", version=2, trigger=None, steps=(step,))
    ax = draw_flow(flow)
    labels = {t.get_gid(): t.get_text() for t in ax.texts}
    assert labels["label:w"] == "w · wait\nfor 36h"


def test_draws_on_the_given_axes_and_opens_a_sized_figure_otherwise():
    _, ax = plt.subplots()
    assert draw_flow(WELCOME, ax=ax) is ax
    plt.close("all")
    ax = draw_flow(WELCOME)
    assert ax.figure.get_figheight() > 4  # sized to the flow, not the default


def test_flow_svg_is_svg_text_and_leaves_no_figure_open():
    svg = flow_svg(WELCOME)
    assert svg.startswith("<svg") and svg.rstrip().endswith("</svg>")
    assert "sms1 · send_sms" in svg  # matplotlib writes each text as a comment by its glyphs
    assert plt.get_fignums() == []


def _result():
    runs = [
        (1, "Welcome", 1, 1, us(0), "first", us(3), "completed"),
        (2, "Welcome", 1, 2, us(1), "first", us(4), "completed"),
        (3, "Other", 1, 3, us(1), "first", us(1), "completed"),
    ]
    steps = [
        (us(0), 1, "Welcome", 1, "sms1", "send_sms", "sent", 1),
        (us(0), 1, "Welcome", 1, "w1", "wait", "waiting", 1),
        (us(2), 1, "Welcome", 1, "b1", "branch", "then", 1),
        (us(2), 1, "Welcome", 1, "e1", "send_email", "skipped", 1),
        (us(1), 2, "Welcome", 2, "sms1", "send_sms", "sent", 1),
        (us(1), 2, "Welcome", 2, "w1", "wait", "waiting", 1),
        (us(3), 2, "Welcome", 2, "b1", "branch", "otherwise", 1),
        (us(3), 2, "Welcome", 2, "l1", "add_to_list", "applied", 1),
        (us(1), 3, "Other", 3, "sms1", "send_sms", "sent", 1),
    ]
    actions = [
        (us(0), 1, "Welcome", "sms1", 1, "send_sms", "sms", "welcome", "sent", None, 0.05, None, 1),
        (
            us(2),
            1,
            "Welcome",
            "e1",
            1,
            "send_email",
            "email",
            "tips",
            "skipped",
            "no_email",
            0.0,
            None,
            1,
        ),
        (us(1), 2, "Welcome", "sms1", 2, "send_sms", "sms", "welcome", "sent", None, 0.05, None, 1),
        (us(3), 2, "Welcome", "l1", 2, "add_to_list", "", None, "applied", None, 0.0, None, 1),
        (us(1), 3, "Other", "sms1", 3, "send_sms", "sms", "welcome", "sent", None, 0.05, None, 1),
    ]
    rows = {
        "runs": runs,
        "steps": steps,
        "actions": actions,
        "suppressed": [],
        "segment_events": [],
    }
    frames = {name: FRAMES[name].from_rows(r, "int64") for name, r in rows.items()}
    return SimulationResult(frames, scenario=None, meta={"flows": ["Welcome", "Other"], "seed": 0})


def test_step_counts_from_a_result():
    counts = step_counts(_result(), "Welcome")
    assert counts.to_dict("list") == {
        "step_id": ["sms1", "w1", "b1", "e1", "l1"],
        "kind": ["send_sms", "wait", "branch", "send_email", "add_to_list"],
        "reached": [2, 2, 2, 1, 1],
        "sent": [2, 0, 0, 0, 0],
        "skipped": [0, 0, 0, 1, 0],
        "applied": [0, 0, 0, 0, 1],
        "then": [0, 0, 1, 0, 0],
        "otherwise": [0, 0, 1, 0, 0],
    }
    assert all(str(counts[c].dtype) == "int64" for c in counts.columns[2:])
    ax = draw_flow(WELCOME, counts=counts)
    notes = {t.get_gid(): t.get_text() for t in gids(ax.texts, "counts:")}
    assert notes["counts:b1"] == "2 runs · then 50% / otherwise 50%"
    assert notes["counts:e1"] == "1 run · 1 skipped"


def test_step_counts_follow_the_flow_order_and_list_unreached_steps():
    result = _result()
    result.scenario = SimpleNamespace(flows=[WELCOME], schedule=())
    counts = step_counts(result, "Welcome")
    assert list(counts["step_id"]) == ["sms1", "w1", "b1", "e1", "l1"]
    empty = step_counts(result, "Welcome", version=2)
    assert list(empty["reached"]) == [0, 0, 0, 0, 0]
