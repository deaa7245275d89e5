"""Flow diagrams: boxes, arrows and count annotations, inspected as artists (headless)."""

from __future__ import annotations

from collections import Counter
from types import SimpleNamespace

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pandas as pd
import pytest

from segsim._internal.frames import FRAMES
from segsim.conditions import attr, in_list
from segsim.diagram import draw_flow, flow_svg, step_counts, versions_in_force
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


def test_duck_typed_stand_ins_draw_their_facts_or_just_id_and_kind():
    step = SimpleNamespace(id="w", kind="wait", facts=lambda: ("for 36h",))
    bare = SimpleNamespace(id="x", kind="custom")
    flow = SimpleNamespace(name="Stub", version=2, trigger=None, steps=(step, bare))
    ax = draw_flow(flow)
    labels = {t.get_gid(): t.get_text() for t in ax.texts}
    assert labels["label:w"] == "w · wait\nfor 36h"
    assert labels["label:x"] == "x · custom"


def test_the_kind_comes_from_the_model_not_from_its_label():
    # a step id containing the label's separator used to be read back as part of the kind
    flow = Flow(
        "F",
        trigger=SegmentTrigger("S"),
        steps=[Branch("b · 1", when=attr("x") == 1, then=[SendEmail("e", template="t")])],
    )
    counts = pd.DataFrame(
        {"step_id": ["b · 1", "e"], "reached": [4, 3], "sent": [0, 3], "then": [3, 0]}
        | {"otherwise": [1, 0], "skipped": [0, 0], "applied": [0, 0]}
    )
    ax = draw_flow(flow, counts=counts)
    notes = {t.get_gid(): t.get_text() for t in gids(ax.texts, "counts:")}
    assert notes["counts:b · 1"] == "4 runs · then 75% / otherwise 25%"
    assert "then 75% / otherwise 25%" in flow_svg(flow, counts=counts)


def test_box_labels_are_the_models_own_facts():
    for step in (WELCOME.steps[0], WELCOME.steps[1], WELCOME.steps[2]):
        ax = draw_flow(WELCOME)
        label = {t.get_gid(): t.get_text() for t in ax.texts}[f"label:{step.id}"]
        plt.close("all")
        # the facts, in order, packed into the lines under the title
        assert label.split("\n")[0] == f"{step.id} · {step.kind}"
        assert ", ".join(label.split("\n")[1:]) == ", ".join(step.facts())
        assert step.id in WELCOME.outline_html()
        assert step.describe() in WELCOME.outline_html().replace("&#x27;", "'")


def test_draws_on_the_given_axes_and_opens_a_sized_figure_otherwise():
    _, ax = plt.subplots()
    assert draw_flow(WELCOME, ax=ax) is ax
    plt.close("all")
    ax = draw_flow(WELCOME)
    assert ax.figure.get_figheight() > 4  # sized to the flow, not the default


def test_flow_svg_is_svg_text_and_leaves_no_figure_open():
    svg = flow_svg(WELCOME)
    assert svg.startswith("<svg") and svg.rstrip().endswith("</svg>")
    assert "sms1 · send_sms" in svg  # real text, selectable and searchable
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
    rows["actions"] = [(*r, 0.0) for r in rows["actions"]]  # queued: no rate limit
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
        "timed_out": [0, 0, 0, 0, 0],
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
    v1 = step_counts(result, "Welcome", version=1)
    assert list(v1["reached"]) == [2, 2, 2, 1, 1]
    assert step_counts(result, "Welcome", version=2).empty  # no such version, nothing ran on it


# -- SVG ------------------------------------------------------------------------------------------

SVG_NS = "{http://www.w3.org/2000/svg}"


def parse_svg(text):
    import xml.etree.ElementTree as ET

    return ET.fromstring(text)


def by_gid(root, prefix):
    return [e for e in root.iter() if (e.get("data-gid") or "").startswith(prefix)]


def text_of(element):
    return [span.text for span in element.iter(f"{SVG_NS}tspan")] or [element.text]


def test_svg_boxes_labels_and_counts():
    counts = step_counts(_result(), "Welcome")
    root = parse_svg(flow_svg(WELCOME, counts=counts, caption="v1, in force always"))
    rects = {e.get("data-gid") for e in root.iter(f"{SVG_NS}rect") if e.get("data-gid")}
    assert rects == {"trigger", "step:sms1", "step:w1", "step:b1", "step:e1", "step:l1"}
    (label,) = by_gid(root, "label:sms1")
    assert text_of(label) == ["sms1 · send_sms", "template 'welcome'", "campaign 'onboarding'"]
    (trigger,) = by_gid(root, "trigger-label")
    assert text_of(trigger) == ["Welcome · v1", "on enter 'VIP'", "if sms_subscribed == True"]
    notes = {e.get("data-gid"): " · ".join(text_of(e)) for e in by_gid(root, "counts:")}
    assert notes == {
        "counts:sms1": "2 runs · 2 sent",
        "counts:w1": "2 runs",
        "counts:b1": "2 runs · then 50% / otherwise 50%",
        "counts:e1": "1 run · 1 skipped",
        "counts:l1": "1 run · 1 applied",
    }
    gid_counts = Counter(e.get("data-gid") for e in root.iter())
    assert (gid_counts["edge"], gid_counts["edge-label"], gid_counts["join"]) == (7, 2, 1)
    assert [text_of(e.find(f"{SVG_NS}text")) for e in by_gid(root, "edge-label")] == [
        ["then"],
        ["otherwise"],
    ]
    assert text_of(by_gid(root, "title")[0]) == ["v1, in force always"]


def test_svg_text_is_readable_at_its_natural_size_and_fits_its_box():
    long = Flow(
        "Long",
        trigger=SegmentTrigger("S"),
        steps=[
            SendSMS("s", template="t" * 20, campaign="c" * 20, opt_out_footer=True),
            Webhook("h", url="https://example.com/" + "a" * 80),
        ],
    )
    counts = pd.DataFrame(
        {"step_id": ["s"], "reached": [123_456], "sent": [100_000], "skipped": [23_456]}
    )
    root = parse_svg(flow_svg(long, counts=counts))
    width, height = float(root.get("width")), float(root.get("height"))
    assert root.get("viewBox") == f"0 0 {root.get('width')} {root.get('height')}"  # 1 unit = 1 px
    assert width > 0 and height > 0
    sizes = [float(e.get("font-size")) for e in root.iter(f"{SVG_NS}text")]
    assert sizes and min(sizes) >= 11  # at least 11 px wherever the diagram is shown 1:1
    boxes = {e.get("data-gid"): float(e.get("width")) for e in by_gid(root, "step:")}
    for element in [*by_gid(root, "label:"), *by_gid(root, "counts:")]:
        step = element.get("data-gid").split(":", 1)[1]
        size = float(element.get("font-size"))
        for line in text_of(element):  # at a generous 0.6 em per character
            assert len(line) * size * 0.6 <= boxes[f"step:{step}"], line
    assert " · ".join(text_of(by_gid(root, "counts:s")[0])) == (
        "123,456 runs · 100,000 sent · 23,456 skipped"
    )


def test_svg_is_self_contained_and_safe_to_repeat_on_one_page():
    flow = Flow("<A & B>", trigger=SegmentTrigger("S"), steps=[SendEmail("e", template="x&y")])
    text = flow_svg(flow)
    root = parse_svg(text)  # well-formed XML: names are escaped
    assert all(e.get("id") is None for e in root.iter())  # no id to clash between diagrams
    assert "<script" not in text and "href" not in text and "<marker" not in text
    assert "&lt;A &amp; B&gt;" in text


# -- versions ---------------------------------------------------------------------------------------

WELCOME_V2 = Flow(
    "Welcome",
    trigger=SegmentTrigger("VIP"),
    steps=[
        SendSMS("sms1", template="welcome"),
        Wait("w1", "1d"),
        SendEmail("e2", template="new"),
    ],
    version=2,
)


def edit(at, flow=WELCOME_V2):
    return SimpleNamespace(kind="edit", flow_name=flow.name, at=pd.Timestamp(at), flow=flow)


def window(*schedule):
    return SimpleNamespace(
        flows=[WELCOME], schedule=schedule, start=T0, end=T0 + pd.Timedelta(days=10)
    )


def test_versions_in_force_during_the_window():
    day = pd.Timedelta(days=1)
    (only,) = versions_in_force(window(), "Welcome")
    assert (only.flow, only.start, only.end) == (WELCOME, T0, T0 + 10 * day)

    v1, v2 = versions_in_force(window(edit(T0 + day)), "Welcome")
    assert (v1.version, v1.start, v1.end) == (1, T0, T0 + day)
    assert (v2.version, v2.start, v2.end) == (2, T0 + day, T0 + 10 * day)
    assert v2.caption() == "v2, in force 2026-01-02 → 2026-01-11"

    # an edit before the start is in force from the start; one at the end never is
    (early,) = versions_in_force(window(edit(T0 - day)), "Welcome")
    assert early.flow is WELCOME_V2 and early.start == T0
    (late,) = versions_in_force(window(edit(T0 + 10 * day)), "Welcome")
    assert late.flow is WELCOME
    # numbered as the engine numbers them: an edit's flow with no higher version is old + 1
    same = WELCOME_V2.with_version(1)
    assert [v.version for v in versions_in_force(window(edit(T0 + day, same)), "Welcome")] == [1, 2]
    with pytest.raises(KeyError, match=r"no flow 'Other'.*'Welcome'"):
        versions_in_force(window(), "Other")


def _edited_result():
    """Run 1 enters on v1 at day 0, its wait ends after the day-1 edit: e2 runs on v2.
    Run 2 enters on v2 at day 3."""
    runs = [
        (1, "Welcome", 1, 1, us(0), "first", us(2), "completed"),
        (2, "Welcome", 2, 2, us(3), "first", us(4), "completed"),
    ]
    steps = [
        (us(0), 1, "Welcome", 1, "sms1", "send_sms", "sent", 1),
        (us(0), 1, "Welcome", 1, "w1", "wait", "waiting", 1),
        (us(2), 1, "Welcome", 1, "e2", "send_email", "sent", 2),
        (us(3), 2, "Welcome", 2, "sms1", "send_sms", "skipped", 2),
        (us(3), 2, "Welcome", 2, "w1", "wait", "waiting", 2),
        (us(4), 2, "Welcome", 2, "e2", "send_email", "sent", 2),
    ]
    action = ("sms", "welcome")
    actions = [
        (us(0), 1, "Welcome", "sms1", 1, "send_sms", *action, "sent", None, 0.05, None, 1),
        (us(2), 1, "Welcome", "e2", 1, "send_email", "email", "new", "sent", None, 0.0, None, 2),
        (us(3), 2, "Welcome", "sms1", 2, "send_sms", *action, "skipped", "no_phone", 0, None, 2),
        (us(4), 2, "Welcome", "e2", 2, "send_email", "email", "new", "sent", None, 0.0, None, 2),
    ]
    actions = [(*r, 0.0) for r in actions]  # queued: no rate limit
    rows = {"runs": runs, "steps": steps, "actions": actions}
    frames = {name: FRAMES[name].from_rows(rows.get(name, []), "int64") for name in FRAMES}
    scenario = window(edit(T0 + pd.Timedelta(days=1)))
    return SimulationResult(frames, scenario=scenario, meta={"flows": ["Welcome"]})


def test_step_counts_per_version_count_what_ran_while_it_was_in_force():
    result = _edited_result()
    v1 = step_counts(result, "Welcome", version=1).set_index("step_id")
    assert list(v1.index) == ["sms1", "w1", "b1", "e1", "l1"]  # v1's tree only
    assert v1["reached"].to_dict() == {"sms1": 1, "w1": 1, "b1": 0, "e1": 0, "l1": 0}
    assert v1.loc["sms1", "sent"] == 1
    v2 = step_counts(result, "Welcome", version=2).set_index("step_id")
    assert list(v2.index) == ["sms1", "w1", "e2"]
    assert v2["reached"].to_dict() == {"sms1": 1, "w1": 1, "e2": 2}  # run 1's e2 is v2's
    assert (v2.loc["sms1", "skipped"], v2.loc["e2", "sent"]) == (1, 2)
    every = step_counts(result, "Welcome").set_index("step_id")
    assert every["reached"].to_dict() == {"sms1": 2, "w1": 2, "b1": 0, "e1": 0, "l1": 0, "e2": 2}


def test_a_result_shows_each_version_in_force_with_its_own_counts():
    shown = _edited_result().flow("Welcome")
    assert [v.version for v in shown.versions] == [1, 2]
    markup = shown._repr_html_()
    assert markup.count("<svg") == 2
    first, second = markup.split("<svg")[1:]
    assert "v1, in force 2026-01-01 → 2026-01-02" in first
    assert "v2, in force 2026-01-02 → 2026-01-11" in second
    assert "e2 · send_email" not in first and "b1 · branch" not in second
    assert "1 run · 1 sent" in first  # sms1 under v1
    assert "2 runs · 2 sent" in second  # e2 under v2
    assert list(shown.counts(version=2)["step_id"]) == ["sms1", "w1", "e2"]
    ax = shown.draw(version=2)
    assert {a.get_gid() for a in ax.patches if (a.get_gid() or "").startswith("step:")} == {
        "step:sms1",
        "step:w1",
        "step:e2",
    }
