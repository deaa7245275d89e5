"""segsim.analysis on small hand-made frames, with every number computed by hand."""

from __future__ import annotations

import pandas as pd
import pytest

from segsim.analysis import (
    OPERATION_ACTIONS,
    cost_by_channel,
    describe_time_to_first_message,
    entries_exits,
    funnel,
    messages_per_contact,
    messages_per_contact_distribution,
    operation_counts,
    operations_by_period,
    reach,
    reach_total,
    segment_sizes_from_events,
    sends_by_period,
    sends_by_variant,
    skip_reasons,
    suppression_reasons,
    time_to_first_message,
)

T0 = pd.Timestamp("2026-01-01", tz="UTC")  # a Thursday; its week starts on Monday 2025-12-29


def at(days: float, hours: float = 0) -> pd.Timestamp:
    return T0 + pd.Timedelta(days=days, hours=hours)


def utc(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


def frame(rows: list[tuple], columns: str, times: str = "time") -> pd.DataFrame:
    """A result-like frame: string columns as object, times as datetime64[us, UTC]."""
    names = columns.split()
    data = pd.DataFrame(rows, columns=names)
    for name in names:
        if name in times.split():
            data[name] = pd.to_datetime(data[name], utc=True).astype("datetime64[us, UTC]")
        elif name in ("run_id", "version", "nth", "contact_id"):
            data[name] = data[name].astype("int64")
        elif name == "cost":
            data[name] = data[name].astype("float64")
        else:
            data[name] = pd.Series(list(data[name]), dtype=object)
    return data


ACTION_COLUMNS = "time run_id flow step_id contact_id action channel template status reason cost"


def make_actions() -> pd.DataFrame:
    # fmt: off
    return frame(
        [
            (at(0, 8), 1, "Welcome", "sms1", 1, "send_sms", "sms", "welcome", "sent", None, 0.25),
            (at(0, 9), 2, "Welcome", "sms1", 2, "send_sms", "sms", "welcome", "skipped", "no_phone", 0.0),
            (at(0, 9), 3, "Welcome", "sms1", 3, "send_sms", "sms", "welcome", "skipped", "unsubscribed", 0.0),
            (at(2, 10), 1, "Welcome", "e1", 1, "send_email", "email", "tips", "sent", None, 0.5),
            (at(2, 10), 2, "Welcome", "l1", 2, "add_to_list", "", None, "applied", None, 0.0),
            (at(2, 11), 3, "Welcome", "e1", 3, "send_email", "email", "tips", "sent", None, 0.5),
            (at(8), 4, "Winback", "wa1", 1, "send_whatsapp", "whatsapp", "promo", "sent", None, 1.0),
            (at(8, 0.5), 4, "Winback", "hook", 1, "webhook", "webhook", None, "sent", None, 0.1),
            (at(9), 5, "Winback", "wa1", 2, "send_whatsapp", "whatsapp", "promo", "skipped", "no_phone", 0.0),
            (at(9), 5, "Winback", "del", 2, "delete_contact", "", None, "applied", None, 0.0),
        ],
        ACTION_COLUMNS,
    )
    # fmt: on


def make_runs() -> pd.DataFrame:
    return frame(
        [
            (1, "Welcome", 1, 1, at(0, 8), "first", at(2, 10), "completed"),
            (2, "Welcome", 1, 2, at(0, 9), "first", at(2, 10), "completed"),
            (3, "Welcome", 1, 3, at(0, 9), "first", at(3), "exit_condition"),
            (4, "Winback", 1, 1, at(7), "first", at(8, 0.5), "completed"),
            (5, "Winback", 1, 2, at(9), "reentry", at(9), "contact_deleted"),
        ],
        "run_id flow version contact_id entered_at entry ended_at end_reason",
        times="entered_at ended_at",
    )


def make_steps() -> pd.DataFrame:
    return frame(
        [
            (at(0, 8), 1, "Welcome", 1, "sms1", "send_sms", "sent"),
            (at(0, 8), 1, "Welcome", 1, "w1", "wait", "waiting"),
            (at(0, 9), 2, "Welcome", 2, "sms1", "send_sms", "skipped"),
            (at(0, 9), 2, "Welcome", 2, "w1", "wait", "waiting"),
            (at(0, 9), 3, "Welcome", 3, "sms1", "send_sms", "skipped"),
            (at(0, 9), 3, "Welcome", 3, "w1", "wait", "waiting"),
            (at(2, 10), 1, "Welcome", 1, "b1", "branch", "then"),
            (at(2, 10), 1, "Welcome", 1, "e1", "send_email", "sent"),
            (at(2, 10), 2, "Welcome", 2, "b1", "branch", "otherwise"),
            (at(2, 10), 2, "Welcome", 2, "l1", "add_to_list", "applied"),
            (at(2, 11), 3, "Welcome", 3, "b1", "branch", "then"),
            (at(2, 11), 3, "Welcome", 3, "e1", "send_email", "sent"),
            (at(8), 4, "Winback", 1, "wa1", "send_whatsapp", "sent"),
            (at(8, 0.5), 4, "Winback", 1, "hook", "webhook", "sent"),
            (at(9), 5, "Winback", 2, "wa1", "send_whatsapp", "skipped"),
            (at(9), 5, "Winback", 2, "del", "delete_contact", "applied"),
        ],
        "time run_id flow contact_id step_id kind outcome",
    )


def make_segment_events() -> pd.DataFrame:
    return frame(
        [
            (at(0, 10), 1, "VIP", "enter", 1, "history"),
            (at(0, 12), 2, "VIP", "enter", 1, "history"),
            (at(1, 9), 1, "VIP", "exit", 1, "time"),
            (at(3), 3, "Lapsed", "enter", 1, "history"),
            (at(3, 1), 2, "VIP", "exit", 1, "flow step"),
        ],
        "time contact_id segment event nth cause",
    )


def make_suppressed() -> pd.DataFrame:
    return frame(
        [
            (at(1), "Welcome", 1, "filters"),
            (at(1), "Welcome", 2, "already_in_flow"),
            (at(2), "Welcome", 3, "filters"),
            (at(2), "Winback", 1, "reentry_wait"),
            (at(3), "Welcome", 4, "flow_paused"),
        ],
        "time flow contact_id reason",
    )


# -- sends ----------------------------------------------------------------------------------------

WINDOW = (utc("2026-01-01"), utc("2026-01-31"))


def day_period(text: str, days: int = 1, partial: bool = False) -> dict:
    return {
        "period": utc(text),
        "period_end": utc(text) + pd.Timedelta(days=days),
        "partial": partial,
    }


def test_sends_by_day_counts_messages_and_never_webhooks():
    # issue 11 item 1: the webhook sent on Jan 9 is an operation, not a message
    out = sends_by_period(make_actions())
    assert out.to_dict("records") == [
        {**day_period("2026-01-01"), "channel": "sms", "messages": 1},
        {**day_period("2026-01-03"), "channel": "email", "messages": 2},
        {**day_period("2026-01-09"), "channel": "whatsapp", "messages": 1},
    ]
    assert out.dtypes.to_dict() == {
        "period": "datetime64[us, UTC]",
        "period_end": "datetime64[us, UTC]",
        "partial": bool,
        "channel": object,
        "messages": "int64",
    }
    assert out.attrs["freq"] == "D"


def test_without_a_window_weeks_are_whole_monday_weeks_in_documented_channel_order():
    out = sends_by_period(make_actions(), freq="W")
    assert out.to_dict("records") == [
        {**day_period("2025-12-29", 7), "channel": "email", "messages": 2},
        {**day_period("2025-12-29", 7), "channel": "sms", "messages": 1},
        {**day_period("2026-01-05", 7), "channel": "whatsapp", "messages": 1},
    ]


def test_weekly_periods_are_clipped_to_the_window_and_the_cut_ones_flagged_partial():
    # issue 11 item 6: the first week is Thu 1 Jan → Mon 5 Jan, not a week labelled 2025-12-29
    out = sends_by_period(make_actions(), freq="week", by=None, window=WINDOW)
    assert out.to_dict("records") == [
        {**day_period("2026-01-01", 4, partial=True), "messages": 3},
        {**day_period("2026-01-05", 7), "messages": 1},
    ]
    assert out.attrs["window"] == ("2026-01-01T00:00:00+00:00", "2026-01-31T00:00:00+00:00")
    monthly = sends_by_period(make_actions(), freq="M", by=None, window=WINDOW)
    assert monthly.to_dict("records") == [{**day_period("2026-01-01", 30, True), "messages": 4}]


def test_the_window_a_frame_carries_is_used_and_survives_filtering():
    actions = make_actions()
    actions.attrs["window"] = ("2026-01-01T00:00:00+00:00", "2026-01-31T00:00:00+00:00")
    welcome = actions[actions["flow"] == "Welcome"]
    out = sends_by_period(welcome, freq="W", by=None)
    assert out["period"].tolist() == [utc("2026-01-01")]
    assert out["partial"].tolist() == [True]
    # an explicit window wins over the frame's
    other = sends_by_period(welcome, freq="W", by=None, window=("2025-12-30", "2026-02-01"))
    assert out["messages"].tolist() == other["messages"].tolist() == [3]
    assert other["period"].tolist() == [utc("2025-12-30")]


def test_sends_by_month_and_flow():
    out = sends_by_period(make_actions(), freq="M", by="flow")
    assert [(r["flow"], r["messages"]) for r in out.to_dict("records")] == [
        ("Welcome", 3),
        ("Winback", 1),
    ]


def test_sends_by_template():
    out = sends_by_period(make_actions(), freq="W", by=("template",))
    assert records(out[["period", "template", "messages"]]) == [
        (utc("2025-12-29"), "tips", 2),
        (utc("2025-12-29"), "welcome", 1),
        (utc("2026-01-05"), "promo", 1),
    ]


def test_sends_of_every_status_and_without_groups():
    by_status = sends_by_period(make_actions(), freq="M", by=("channel", "status"), status=None)
    assert records(by_status[["channel", "status", "messages"]]) == [
        ("email", "sent", 2),
        ("sms", "sent", 1),
        ("sms", "skipped", 2),
        ("whatsapp", "sent", 1),
        ("whatsapp", "skipped", 1),
    ]
    total = sends_by_period(make_actions(), freq="M", by=None)
    assert total["messages"].tolist() == [4]


def test_sends_by_period_of_no_actions_is_empty_with_the_columns():
    out = sends_by_period(make_actions().iloc[:0], by=("flow", "channel"))
    assert list(out.columns) == ["period", "period_end", "partial", "flow", "channel", "messages"]
    assert len(out) == 0
    assert str(out["period"].dtype) == "datetime64[us, UTC]"
    assert out["messages"].dtype == "int64"


def test_sends_by_period_rejects_bad_arguments():
    with pytest.raises(ValueError, match="calendar period"):
        sends_by_period(make_actions(), freq="fortnight")
    with pytest.raises(ValueError, match="'7D'"):
        sends_by_period(make_actions(), freq="7D")
    with pytest.raises(ValueError, match="'campaign'"):
        sends_by_period(make_actions(), by="campaign")


def test_sends_by_period_does_not_change_its_input():
    actions = make_actions()
    before = actions.copy()
    sends_by_period(actions)
    pd.testing.assert_frame_equal(actions, before)


def test_string_contact_ids_come_back_as_given():
    actions = make_actions()
    actions["contact_id"] = actions["contact_id"].map(lambda c: f"c{c}").astype(object)
    out = messages_per_contact(actions)
    assert out.to_dict("records") == [
        {"contact_id": "c1", "messages": 3},
        {"contact_id": "c3", "messages": 1},
    ]
    assert out["contact_id"].dtype == object


def test_sends_by_variant_fills_missing_channels_with_zero():
    actions = make_actions()
    out = sends_by_variant({"B": actions[actions["channel"] != "sms"], "A": actions})
    assert out.to_dict("records") == [
        {"variant": "B", "channel": "email", "messages": 2},
        {"variant": "B", "channel": "sms", "messages": 0},
        {"variant": "B", "channel": "whatsapp", "messages": 1},
        {"variant": "A", "channel": "email", "messages": 2},
        {"variant": "A", "channel": "sms", "messages": 1},
        {"variant": "A", "channel": "whatsapp", "messages": 1},
    ]
    assert sends_by_variant({"A": actions}, by=None).to_dict("records") == [
        {"variant": "A", "messages": 4}
    ]
    assert list(sends_by_variant({}).columns) == ["variant", "channel", "messages"]


def test_reach_counts_distinct_contacts_messaged_per_channel_and_in_total():
    actions = make_actions()
    assert reach(actions).to_dict("records") == [
        {"channel": "email", "contacts": 2},
        {"channel": "sms", "contacts": 1},
        {"channel": "whatsapp", "contacts": 1},
    ]
    assert reach(actions, by="flow").to_dict("records") == [
        {"flow": "Welcome", "contacts": 2},
        {"flow": "Winback", "contacts": 1},
    ]
    assert reach(actions, by=None).to_dict("records") == [{"contacts": 2}]
    assert reach_total(actions) == 2
    assert reach_total(actions.iloc[:0]) == 0
    assert list(reach(actions.iloc[:0]).columns) == ["channel", "contacts"]


def test_a_contact_only_called_by_a_webhook_is_not_reached():
    actions = make_actions()
    hook_only = actions[actions["action"] == "webhook"]
    assert reach_total(hook_only) == 0
    assert messages_per_contact(hook_only).empty
    assert time_to_first_message(make_runs(), hook_only)["first_message_at"].isna().all()


def test_cost_by_channel_counts_sent_messages_and_their_cost_only():
    actions = make_actions()
    assert cost_by_channel(actions).to_dict("records") == [
        {"channel": "email", "messages": 2, "cost": 1.0},
        {"channel": "sms", "messages": 1, "cost": 0.25},
        {"channel": "whatsapp", "messages": 1, "cost": 1.0},
    ]
    assert cost_by_channel(actions, by=None).to_dict("records") == [{"messages": 4, "cost": 2.25}]
    empty = cost_by_channel(actions.iloc[:0], by=("flow", "channel"))
    assert list(empty.columns) == ["flow", "channel", "messages", "cost"]
    assert empty["cost"].dtype == "float64"


def test_operation_counts_lists_every_kind_with_the_webhooks_cost_apart():
    out = operation_counts(make_actions())
    assert out.to_dict("records") == [
        {"action": "webhook", "operation": "webhooks called", "operations": 1, "cost": 0.1},
        {"action": "add_to_list", "operation": "list adds", "operations": 1, "cost": 0.0},
        {"action": "remove_from_list", "operation": "list removes", "operations": 0, "cost": 0.0},
        {"action": "update_contact", "operation": "contact updates", "operations": 0, "cost": 0.0},
        {"action": "delete_contact", "operation": "contact deletes", "operations": 1, "cost": 0.0},
    ]
    assert set(out["action"]) == set(OPERATION_ACTIONS)
    by_flow = operation_counts(make_actions(), by="flow")
    assert records(by_flow[["flow", "action", "operations"]]) == [
        ("Welcome", "add_to_list", 1),
        ("Winback", "webhook", 1),
        ("Winback", "delete_contact", 1),
    ]
    # messages and operations add up to every action that happened
    actions = make_actions()
    happened = actions["status"].isin(["sent", "applied"]).sum()
    assert cost_by_channel(actions, by=None)["messages"].sum() + out["operations"].sum() == happened
    assert cost_by_channel(actions, by=None)["cost"].sum() + out["cost"].sum() == pytest.approx(
        actions["cost"].sum()
    )


def test_operations_by_period():
    out = operations_by_period(make_actions(), window=WINDOW)
    assert records(out) == [
        (utc("2026-01-03"), utc("2026-01-04"), False, "add_to_list", 1),
        (utc("2026-01-09"), utc("2026-01-10"), False, "webhook", 1),
        (utc("2026-01-10"), utc("2026-01-11"), False, "delete_contact", 1),
    ]
    assert list(out.columns) == ["period", "period_end", "partial", "action", "operations"]


def test_skip_reasons_by_action_and_reason():
    assert skip_reasons(make_actions()).to_dict("records") == [
        {"action": "send_sms", "reason": "no_phone", "count": 1},
        {"action": "send_sms", "reason": "unsubscribed", "count": 1},
        {"action": "send_whatsapp", "reason": "no_phone", "count": 1},
    ]
    assert list(skip_reasons(make_actions().iloc[:0]).columns) == ["action", "reason", "count"]


def test_suppression_reasons_follow_the_documented_priority_order():
    assert suppression_reasons(make_suppressed()).to_dict("records") == [
        {"flow": "Welcome", "reason": "flow_paused", "count": 1},
        {"flow": "Welcome", "reason": "already_in_flow", "count": 1},
        {"flow": "Welcome", "reason": "filters", "count": 2},
        {"flow": "Winback", "reason": "reentry_wait", "count": 1},
    ]
    empty = suppression_reasons(make_suppressed().iloc[:0])
    assert list(empty.columns) == ["flow", "reason", "count"]
    assert empty["count"].dtype == "int64"


# -- funnel ---------------------------------------------------------------------------------------


def records(frame: pd.DataFrame) -> list[tuple]:
    return [tuple(row) for row in frame.itertuples(index=False)]


def test_funnel_of_every_flow():
    out = funnel(make_runs(), make_steps())
    assert records(out.drop(columns="share_of_entered")) == [
        ("Welcome", "entered", "entry", 3),
        ("Welcome", "sms1", "step", 3),
        ("Welcome", "w1", "step", 3),
        ("Welcome", "b1", "step", 3),
        ("Welcome", "e1", "step", 2),
        ("Welcome", "l1", "step", 1),
        ("Welcome", "completed", "end", 2),
        ("Welcome", "exit_condition", "end", 1),
        ("Winback", "entered", "entry", 2),
        ("Winback", "wa1", "step", 2),
        ("Winback", "hook", "step", 1),
        ("Winback", "del", "step", 1),
        ("Winback", "completed", "end", 1),
        ("Winback", "contact_deleted", "end", 1),
    ]
    assert out["share_of_entered"].tolist() == [
        1.0,
        1.0,
        1.0,
        1.0,
        2 / 3,
        1 / 3,
        2 / 3,
        1 / 3,
        1.0,
        1.0,
        0.5,
        0.5,
        0.5,
        0.5,
    ]
    assert out.dtypes.to_dict() == {
        "flow": object,
        "stage": object,
        "stage_type": object,
        "runs": "int64",
        "share_of_entered": "float64",
    }


def test_funnel_with_a_given_step_order_lists_unreached_steps_as_zero():
    out = funnel(
        make_runs(), make_steps(), flow="Welcome", step_order=["sms1", "b1", "l1", "e1", "e2"]
    )
    assert records(out[out["stage_type"] == "step"][["stage", "runs"]]) == [
        ("sms1", 3),
        ("b1", 3),
        ("l1", 1),
        ("e1", 2),
        ("e2", 0),
        ("w1", 3),
    ]
    by_flow = funnel(make_runs(), make_steps(), step_order={"Winback": ["del"]})
    winback = by_flow[(by_flow["flow"] == "Winback") & (by_flow["stage_type"] == "step")]
    assert winback["stage"].tolist() == ["del", "wa1", "hook"]


def test_funnel_follows_a_filter_on_runs():
    runs = make_runs()
    out = funnel(runs[runs["entry"] == "first"], make_steps(), flow="Winback")
    assert records(out.drop(columns="share_of_entered")) == [
        ("Winback", "entered", "entry", 1),
        ("Winback", "wa1", "step", 1),
        ("Winback", "hook", "step", 1),
        ("Winback", "completed", "end", 1),
    ]


def test_funnel_of_a_flow_without_runs_and_of_nothing():
    out = funnel(make_runs(), make_steps(), flow="Nope")
    assert records(out.drop(columns="share_of_entered")) == [
        ("Nope", "entered", "entry", 0),
        ("Nope", "completed", "end", 0),
    ]
    assert out["share_of_entered"].isna().all()
    empty = funnel(make_runs().iloc[:0], make_steps().iloc[:0])
    assert list(empty.columns) == ["flow", "stage", "stage_type", "runs", "share_of_entered"]
    assert len(empty) == 0


def test_funnel_step_order_list_needs_one_flow():
    with pytest.raises(ValueError, match="one flow"):
        funnel(make_runs(), make_steps(), step_order=["sms1"])


# -- time to first message ------------------------------------------------------------------------


def test_time_to_first_message_per_run():
    out = time_to_first_message(make_runs(), make_actions())
    assert out.to_dict("records") == [
        {
            "run_id": 1,
            "flow": "Welcome",
            "contact_id": 1,
            "entered_at": at(0, 8),
            "first_message_at": at(0, 8),
            "delay": pd.Timedelta(0),
        },
        {
            "run_id": 2,
            "flow": "Welcome",
            "contact_id": 2,
            "entered_at": at(0, 9),
            "first_message_at": pd.NaT,
            "delay": pd.NaT,
        },
        {
            "run_id": 3,
            "flow": "Welcome",
            "contact_id": 3,
            "entered_at": at(0, 9),
            "first_message_at": at(2, 11),
            "delay": pd.Timedelta(hours=50),
        },
        {
            "run_id": 4,
            "flow": "Winback",
            "contact_id": 1,
            "entered_at": at(7),
            "first_message_at": at(8),
            "delay": pd.Timedelta(days=1),
        },
        {
            "run_id": 5,
            "flow": "Winback",
            "contact_id": 2,
            "entered_at": at(9),
            "first_message_at": pd.NaT,
            "delay": pd.NaT,
        },
    ]
    assert str(out["delay"].dtype) == "timedelta64[us]"
    assert str(out["first_message_at"].dtype) == "datetime64[us, UTC]"


def test_describe_time_to_first_message_per_flow():
    out = describe_time_to_first_message(time_to_first_message(make_runs(), make_actions()))
    hours = pd.Timedelta(hours=1)
    assert out.to_dict("records") == [
        {
            "flow": "Welcome",
            "runs": 3,
            "messaged": 2,
            "share_messaged": 2 / 3,
            "mean": 25 * hours,
            "min": 0 * hours,
            "p25": 12.5 * hours,
            "median": 25 * hours,
            "p75": 37.5 * hours,
            "p90": 45 * hours,
            "max": 50 * hours,
        },
        {
            "flow": "Winback",
            "runs": 2,
            "messaged": 1,
            "share_messaged": 0.5,
            "mean": 24 * hours,
            "min": 24 * hours,
            "p25": 24 * hours,
            "median": 24 * hours,
            "p75": 24 * hours,
            "p90": 24 * hours,
            "max": 24 * hours,
        },
    ]
    assert str(out["median"].dtype) == "timedelta64[us]"


def test_describe_time_to_first_message_without_messages_or_runs():
    runs = make_runs()
    none_sent = time_to_first_message(runs, make_actions().iloc[:0])
    out = describe_time_to_first_message(none_sent, by=None)
    row = out.to_dict("records")[0]
    assert (row["runs"], row["messaged"], row["share_messaged"]) == (5, 0, 0.0)
    assert pd.isna(row["median"]) and pd.isna(row["max"])
    empty = describe_time_to_first_message(time_to_first_message(runs.iloc[:0], make_actions()))
    assert list(empty.columns) == [
        "flow",
        "runs",
        "messaged",
        "share_messaged",
        "mean",
        "min",
        "p25",
        "median",
        "p75",
        "p90",
        "max",
    ]
    assert len(empty) == 0


# -- messages per contact -------------------------------------------------------------------------


def test_messages_per_contact_puts_the_worst_case_first():
    assert messages_per_contact(make_actions()).to_dict("records") == [
        {"contact_id": 1, "messages": 3},
        {"contact_id": 3, "messages": 1},
    ]


def test_messages_per_contact_by_channel():
    assert records(messages_per_contact(make_actions(), by="channel")) == [
        ("email", 1, 1),
        ("email", 3, 1),
        ("sms", 1, 1),
        ("whatsapp", 1, 1),
    ]


def test_messages_per_contact_distribution_ends_with_the_maximum():
    expected = [
        {"messages": 1, "contacts": 1, "share": 0.5},
        {"messages": 3, "contacts": 1, "share": 0.5},
    ]
    actions = make_actions()
    assert messages_per_contact_distribution(actions).to_dict("records") == expected
    counts = messages_per_contact(actions)
    assert messages_per_contact_distribution(counts).to_dict("records") == expected
    by_flow = messages_per_contact_distribution(actions, by="flow")
    assert records(by_flow) == [
        ("Welcome", 1, 1, 0.5),
        ("Welcome", 2, 1, 0.5),
        ("Winback", 1, 1, 1.0),
    ]


def test_messages_per_contact_of_no_actions():
    empty = make_actions().iloc[:0]
    assert list(messages_per_contact(empty).columns) == ["contact_id", "messages"]
    dist = messages_per_contact_distribution(empty)
    assert list(dist.columns) == ["messages", "contacts", "share"]
    assert len(dist) == 0


# -- segments -------------------------------------------------------------------------------------


def test_entries_exits_per_day():
    out = entries_exits(make_segment_events())
    assert out.to_dict("records") == [
        {**day_period("2026-01-01"), "segment": "VIP", "entries": 2, "exits": 0, "net": 2},
        {**day_period("2026-01-02"), "segment": "VIP", "entries": 0, "exits": 1, "net": -1},
        {**day_period("2026-01-04"), "segment": "Lapsed", "entries": 1, "exits": 0, "net": 1},
        {**day_period("2026-01-04"), "segment": "VIP", "entries": 0, "exits": 1, "net": -1},
    ]
    assert out.attrs["freq"] == "D"
    weekly = entries_exits(make_segment_events(), freq="W", window=WINDOW)
    assert records(weekly) == [
        (utc("2026-01-01"), utc("2026-01-05"), True, "Lapsed", 1, 0, 1),
        (utc("2026-01-01"), utc("2026-01-05"), True, "VIP", 2, 2, 0),
    ]


def test_segment_sizes_fill_every_period_and_start_from_initial_sizes():
    out = segment_sizes_from_events(make_segment_events(), initial={"VIP": 10, "Dormant": 4})
    shown = out[["period", "segment", "entries", "exits", "members"]]
    assert records(shown) == [
        (utc("2026-01-01"), "Dormant", 0, 0, 4),
        (utc("2026-01-01"), "Lapsed", 0, 0, 0),
        (utc("2026-01-01"), "VIP", 2, 0, 12),
        (utc("2026-01-02"), "Dormant", 0, 0, 4),
        (utc("2026-01-02"), "Lapsed", 0, 0, 0),
        (utc("2026-01-02"), "VIP", 0, 1, 11),
        (utc("2026-01-03"), "Dormant", 0, 0, 4),
        (utc("2026-01-03"), "Lapsed", 0, 0, 0),
        (utc("2026-01-03"), "VIP", 0, 0, 11),
        (utc("2026-01-04"), "Dormant", 0, 0, 4),
        (utc("2026-01-04"), "Lapsed", 1, 0, 1),
        (utc("2026-01-04"), "VIP", 0, 1, 10),
    ]
    assert out.dtypes.to_dict() == {
        "period": "datetime64[us, UTC]",
        "period_end": "datetime64[us, UTC]",
        "partial": bool,
        "segment": object,
        "entries": "int64",
        "exits": "int64",
        "members": "int64",
    }


def test_segment_sizes_members_are_at_each_period_end_and_reconcile():
    out = segment_sizes_from_events(make_segment_events(), freq="W", window=WINDOW)
    vip = out[out["segment"] == "VIP"]
    assert vip["period"].tolist() == [
        utc(d) for d in ("2026-01-01", "2026-01-05", "2026-01-12")
    ] + [
        utc("2026-01-19"),
        utc("2026-01-26"),
    ]
    assert vip["partial"].tolist() == [True, False, False, False, True]
    assert vip["period_end"].iloc[-1] == utc("2026-01-31")
    # members(p) = members(p - 1) + entries(p) - exits(p), from 0
    net = (vip["entries"] - vip["exits"]).cumsum()
    assert vip["members"].tolist() == net.tolist() == [0, 0, 0, 0, 0]
    lapsed = out[out["segment"] == "Lapsed"]
    assert lapsed["members"].tolist() == [1, 1, 1, 1, 1]


def test_segment_sizes_without_initial_are_net_changes():
    out = segment_sizes_from_events(make_segment_events(), freq="W")
    assert records(out[["period", "segment", "members"]]) == [
        (utc("2025-12-29"), "Lapsed", 1),
        (utc("2025-12-29"), "VIP", 0),
    ]


def test_segment_frames_of_no_events_are_empty():
    empty = make_segment_events().iloc[:0]
    sizes = segment_sizes_from_events(empty, initial={"VIP": 3})
    assert list(sizes.columns) == [
        "period",
        "period_end",
        "partial",
        "segment",
        "entries",
        "exits",
        "members",
    ]
    assert len(sizes) == 0
    flows = entries_exits(empty)
    assert list(flows.columns) == [
        "period",
        "period_end",
        "partial",
        "segment",
        "entries",
        "exits",
        "net",
    ]
    assert len(flows) == 0


def test_segment_events_with_an_unknown_event_are_refused():
    events = make_segment_events()
    events.loc[0, "event"] = "joined"
    with pytest.raises(ValueError, match="'enter' or 'exit'"):
        entries_exits(events)


def test_analysis_takes_frames_only():
    with pytest.raises(TypeError, match="DataFrame"):
        reach([1, 2, 3])  # type: ignore[arg-type]
