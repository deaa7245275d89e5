"""Views of WaitFor and EventTrigger: diagrams, counts, explanations, the report's per-step table.

Days are numbers (``day(2)`` is 2026-01-03 UTC); the window is days [0, 30).
"""

from __future__ import annotations

from collections import Counter

import matplotlib

matplotlib.use("Agg")

import pandas as pd

import segsim as ss
from segsim import attr
from segsim.diagram import draw_flow, flow_svg, step_counts
from tests.engine_helpers import day, make_store, reachable, scenario
from tests.test_diagram import SVG_NS, by_gid, gids, parse_svg, text_of

PRO = ss.Segment("Pro", attr("plan") == "pro")
CART = ss.Flow(
    "Cart",
    trigger=ss.EventTrigger("cart", where=None, filters=attr("email_subscribed") == True),
    steps=[
        ss.SendEmail("e1", template="cart"),
        ss.WaitFor(
            "wf",
            until=attr("plan") == "pro",
            timeout="3d",
            then=[ss.SendEmail("thanks", template="thanks")],
            timed_out=[ss.SendEmail("nudge", template="nudge")],
        ),
        ss.Wait("w_end", "1d"),
    ],
)


def cart_result():
    """Contact 1 turns pro a day after its cart (then); contact 2 never does (timed out)."""
    rows = [*reachable(1), *reachable(2), (1, -10, "plan", "free"), (2, -10, "plan", "free")]
    store = make_store([*rows, (1, 3, "plan", "pro")])
    store.load_events(
        pd.DataFrame(
            {"contact_id": [1, 2], "ts": [day(2), day(2)], "event": ["cart", "cart"]},
        )
    )
    return ss.simulate(scenario(store, [PRO], [CART]), progress=False)


def test_diagram_draws_the_event_trigger_box_and_two_labelled_paths():
    ax = draw_flow(CART)
    labels = {t.get_gid(): t.get_text() for t in ax.texts}
    assert labels["trigger-label"] == "Cart · v1\non event 'cart'\nif email_subscribed == True"
    assert labels["label:wf"] == "wf · wait_for\nuntil plan == 'pro', at most 3d"
    assert [t.get_text() for t in gids(ax.texts, "edge-label")] == ["then", "timed out"]
    x = {p.get_gid(): p.get_x() + p.get_width() / 2 for p in gids(ax.patches, "step:")}
    y = {p.get_gid(): p.get_y() for p in gids(ax.patches, "step:")}
    assert x["step:thanks"] < x["step:wf"] < x["step:nudge"]
    assert x["step:e1"] == x["step:wf"] == x["step:w_end"]
    (join,) = gids(ax.lines, "join")
    assert y["step:thanks"] == y["step:nudge"] > join.get_ydata()[0] > y["step:w_end"]
    # trigger→e1→wf, wf→thanks, wf→nudge, thanks→join, nudge→join, join→w_end
    assert len(gids(ax.patches, "edge")) == 7


def test_step_counts_count_waitfor_outcomes_and_the_svg_shows_them():
    result = cart_result()
    counts = step_counts(result, "Cart")
    assert counts[["step_id", "kind", "reached", "sent", "then", "timed_out"]].to_dict("list") == {
        "step_id": ["e1", "wf", "thanks", "nudge", "w_end"],
        "kind": ["send_email", "wait_for", "send_email", "send_email", "wait"],
        "reached": [2, 2, 1, 1, 2],
        "sent": [2, 0, 1, 1, 0],
        "then": [0, 1, 0, 0, 0],
        "timed_out": [0, 1, 0, 0, 0],
    }
    root = parse_svg(flow_svg(CART, counts=counts))
    notes = {e.get("data-gid"): " · ".join(text_of(e)) for e in by_gid(root, "counts:")}
    assert notes["counts:wf"] == "2 runs · then 50% / timed out 50%"
    assert [text_of(e.find(f"{SVG_NS}text")) for e in by_gid(root, "edge-label")] == [
        ["then"],
        ["timed out"],
    ]
    assert Counter(e.get("data-gid") for e in root.iter())["join"] == 1


def test_the_report_per_step_table_has_the_waitfor_outcomes():
    table = cart_result().report()["per_step"].table
    row = table[table["step_id"] == "wf"].iloc[0]
    assert (row["flow"], row["reached"], row["then"], row["timed_out"]) == ("Cart", 2, 1, 1)


def test_explain_says_why_a_run_left_the_waitfor():
    result = cart_result()
    rows = result.explain(1)
    wf = rows[rows["step_id"] == "wf"]
    assert list(zip(wf["time"], wf["what"], wf["detail"], strict=True)) == [
        (day(3), "wait_for", "then: plan == 'pro' held")
    ]
    rows = result.explain(2)
    wf = rows[rows["step_id"] == "wf"]
    assert list(wf["detail"]) == ["timed_out: plan == 'pro' did not hold within 3d"]
    # the occurrence that triggered the run is in the story, at its instant
    events = rows[rows["what"] == "event"]
    assert list(zip(events["time"], events["detail"], strict=True)) == [(day(2), "cart")]


def test_explain_notes_a_flow_whose_event_never_came():
    rows = [*reachable(1), *reachable(2), (1, -10, "plan", "free")]
    store = make_store(rows)
    store.load_events(pd.DataFrame({"contact_id": [2], "ts": [day(2)], "event": ["cart"]}))
    result = ss.simulate(scenario(store, [PRO], [CART]), progress=False)
    notes = result.explain(1)
    assert list(notes.loc[notes["what"] == "not triggered", "detail"]) == [
        "no matching 'cart' event in the window"
    ]
