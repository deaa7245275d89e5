"""Segment transitions from history: hand-computed cases, validation, SQL vs Python agreement."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import segsim as ss
from segsim import all_of, any_of, attr, in_list, in_segment, not_
from segsim.conditions import attributes_used, compile_predicate, lists_used, time_relative_leaves
from segsim.segments import transition_query, validate_segments
from tests.engine_helpers import RANDOM_LISTS_MAY_BE_UNKNOWN, day, events_log, make_store

PRO = ss.Segment("Pro", attr("plan") == "pro")


def events(store, segments, start=0, end=30, **kwargs):
    return events_log(ss.segment_events(store, segments, start=day(start), end=day(end), **kwargs))


def test_enter_exit_reenter_with_nth_counted_over_whole_history():
    store = make_store(
        [
            (1, -20, "plan", "pro"),
            (1, -10, "plan", "free"),  # a first spell before the window
            (1, 2, "plan", "pro"),
            (1, 5, "plan", "free"),
            (1, 9, "plan", "pro"),
        ]
    )
    assert events(store, PRO) == [
        (2, 1, "Pro", "enter", 2, "history"),
        (5, 1, "Pro", "exit", 2, "history"),
        (9, 1, "Pro", "enter", 3, "history"),
    ]


def test_history_before_start_only_builds_state():
    store = make_store([(1, -3, "plan", "pro"), (2, -3, "plan", "free")])
    assert events(store, PRO) == []
    assert events(store, PRO, include_existing_members=True) == [
        (0, 1, "Pro", "enter", 1, "history")
    ]


def test_change_exactly_at_start_is_in_the_window_and_end_is_not():
    store = make_store([(1, 0, "plan", "pro"), (2, 30, "plan", "pro")])
    assert events(store, PRO) == [(0, 1, "Pro", "enter", 1, "history")]


def test_simultaneous_changes_apply_together():
    # plan and ltv change at the same instant: one evaluation, one entry, no flicker
    vip = ss.Segment("VIP", all_of(attr("plan") == "pro", attr("ltv") >= 100))
    store = make_store(
        [
            (1, -5, "plan", "free"),
            (1, -5, "ltv", 50.0),
            (1, 3, "plan", "pro"),
            (1, 3, "ltv", 150.0),
            (1, 6, "plan", "free"),
            (1, 6, "ltv", 10.0),
        ]
    )
    assert events(store, vip) == [
        (3, 1, "VIP", "enter", 1, "history"),
        (6, 1, "VIP", "exit", 1, "history"),
    ]


def test_unchanged_membership_logs_nothing():
    store = make_store([(1, -5, "plan", "pro"), (1, 3, "plan", "pro"), (1, 4, "country", "FR")])
    assert events(store, PRO) == []


def test_missing_values_and_unset():
    has_email = ss.Segment("HasEmail", attr("email").is_set())
    no_email = ss.Segment("NoEmail", attr("email").is_not_set())
    store = make_store([(1, 1, "plan", "free"), (1, 2, "email", "a@b.c"), (1, 4, "email", None)])
    # contact 1 exists from day 1 (its first change): without email it is in NoEmail then
    assert events(store, [has_email, no_email]) == [
        (1, 1, "NoEmail", "enter", 1, "history"),
        (2, 1, "HasEmail", "enter", 1, "history"),
        (2, 1, "NoEmail", "exit", 1, "history"),
        (4, 1, "HasEmail", "exit", 1, "history"),
        (4, 1, "NoEmail", "enter", 2, "history"),
    ]


def test_older_than_boundary_is_exact_and_caused_by_time():
    lapsed = ss.Segment("Lapsed", attr("last_purchase_at").older_than("10d"))
    store = make_store([(1, -5, "last_purchase_at", day(-5)), (1, 12, "last_purchase_at", day(12))])
    assert events(store, lapsed) == [
        (5, 1, "Lapsed", "enter", 1, "time"),
        (12, 1, "Lapsed", "exit", 1, "history"),
        (22, 1, "Lapsed", "enter", 2, "time"),
    ]


def test_within_last_enters_at_value_and_exits_at_value_plus_d():
    active = ss.Segment("Active", attr("last_seen_at").within_last("3d"))
    # a future-dated value (day 4, recorded at day 1) enters at day 4, leaves at day 7
    store = make_store([(1, 1, "last_seen_at", day(4)), (2, 2, "last_seen_at", day(2))])
    assert events(store, active) == [
        (2, 2, "Active", "enter", 1, "history"),
        (4, 1, "Active", "enter", 1, "time"),
        (5, 2, "Active", "exit", 1, "time"),
        (7, 1, "Active", "exit", 1, "time"),
    ]


def test_lists_and_in_segment():
    newsletter = ss.Segment("Newsletter", in_list("newsletter"))
    pro_news = ss.Segment("ProNews", all_of(in_segment("Pro"), in_segment("Newsletter")))
    store = make_store(
        [(1, -5, "plan", "pro")], lists=[(1, 3, "newsletter", True), (1, 8, "newsletter", False)]
    )
    assert events(store, [PRO, newsletter, pro_news]) == [
        (3, 1, "Newsletter", "enter", 1, "history"),
        (3, 1, "ProNews", "enter", 1, "history"),
        (8, 1, "Newsletter", "exit", 1, "history"),
        (8, 1, "ProNews", "exit", 1, "history"),
    ]


def test_string_contact_ids_come_back_as_given():
    store = make_store([("c-001", 2, "plan", "pro")])
    frame = ss.segment_events(store, PRO, start=day(0), end=day(10))
    assert frame["contact_id"].tolist() == ["c-001"]
    assert str(frame["time"].dtype) == "datetime64[us, UTC]"


def test_members_and_sizes():
    store = make_store(
        [
            (1, -5, "plan", "pro"),
            (2, 1, "plan", "pro"),
            (2, 2, "plan", "free"),
            (3, 2, "plan", "pro"),
        ]
    )
    assert ss.members(store, PRO, at=day(1))["contact_id"].tolist() == [1, 2]
    assert ss.members(store, PRO, at=day(2))["contact_id"].tolist() == [1, 3]
    sizes = ss.segment_sizes(store, PRO, start=day(0), end=day(3), freq="1D")
    assert sizes[["members", "entries", "exits"]].values.tolist() == [
        [1, 0, 0],
        [2, 1, 0],
        [2, 1, 1],
    ]


def test_segment_sizes_are_calendar_weeks_clipped_to_the_window():
    # T0 is Thursday 1 January 2026: the first week is Thu → Mon, flagged partial
    store = make_store(
        [
            (1, -5, "plan", "pro"),
            (2, 1, "plan", "pro"),  # Fri 2 Jan
            (2, 6, "plan", "free"),  # Wed 7 Jan
            (3, 4, "plan", "pro"),  # Mon 5 Jan, exactly at a week's start
        ]
    )
    sizes = ss.segment_sizes(store, PRO, start=day(0), end=day(12), freq="W")
    assert [
        (f"{r.period:%a %d}", f"{r.period_end:%a %d}", r.partial, r.entries, r.exits, r.members)
        for r in sizes.itertuples()
    ] == [
        ("Thu 01", "Mon 05", True, 1, 0, 2),
        ("Mon 05", "Mon 12", False, 1, 1, 2),
        ("Mon 12", "Tue 13", True, 0, 0, 2),
    ]
    # the same frame as segment_sizes_from_events, which plot_segment_sizes draws
    assert list(sizes.columns) == [
        "period",
        "period_end",
        "partial",
        "segment",
        "entries",
        "exits",
        "members",
    ]
    with pytest.raises(ValueError, match="calendar period"):
        ss.segment_sizes(store, PRO, start=day(0), end=day(12), freq="7D")


def test_segment_sizes_from_the_store_and_from_the_events_are_the_same_frame():
    from segsim.analysis import segment_sizes_from_events

    store = ss.datasets.demo(contacts=200, seed=3)
    segments = [
        ss.Segment("Pro", attr("plan") == "pro"),
        ss.Segment("Active", attr("last_seen_at").within_last("2w")),
    ]
    start, end = "2026-01-01", "2026-03-15"
    direct = ss.segment_sizes(store, segments, start, end, freq="W")
    events = ss.segment_events(store, segments, start=start, end=end)
    initial = {
        s.name: len(ss.members(store, s, at=day(0) - pd.Timedelta(1, "us"))) for s in segments
    }
    derived = segment_sizes_from_events(events, freq="W", initial=initial, window=(start, end))
    key = ["period", "segment"]
    pd.testing.assert_frame_equal(
        direct.sort_values(key).reset_index(drop=True),
        derived.sort_values(key).reset_index(drop=True),
        check_dtype=False,
    )


def test_weird_attribute_names_are_safe():
    name = 'it\'s "odd"; drop table x'
    store = make_store([(1, 2, name, "yes")])
    seg = ss.Segment("Odd", attr(name) == "yes")
    assert events(store, seg) == [(2, 1, "Odd", "enter", 1, "history")]


# -- validation ---------------------------------------------------------------------------------------


def test_unknown_attribute_suggests_closest_name():
    store = make_store([(1, 2, "plan", "pro")])
    with pytest.raises(ss.ConditionError, match=r"'plam'.*'plan'"):
        ss.segment_events(store, ss.Segment("X", attr("plam") == "pro"), start=day(0), end=day(3))


def test_comparing_across_types_is_an_error():
    store = make_store([(1, 2, "ltv", 5.0)])
    with pytest.raises(ss.ConditionError, match="ltv"):
        ss.segment_events(store, ss.Segment("X", attr("ltv") >= "abc"), start=day(0), end=day(3))


def test_empty_group_is_rejected():
    with pytest.raises(ValueError, match=r"(?i)empty|at least"):
        ss.Segment("X", all_of())


def test_unknown_segment_reference():
    store = make_store([(1, 2, "plan", "pro")])
    with pytest.raises(ss.ConditionError, match="Nope"):
        ss.segment_events(store, ss.Segment("X", in_segment("Nope")), start=day(0), end=day(3))


def test_reference_cycle_is_named():
    a = ss.Segment("A", in_segment("B"))
    b = ss.Segment("B", not_(in_segment("A")))
    with pytest.raises(ss.SegmentError, match="'A' -> 'B' -> 'A'"):
        validate_segments([a, b], {"plan": "string"})


def test_duplicate_segment_names():
    with pytest.raises(ss.SegmentError, match="'Pro'"):
        validate_segments([PRO, ss.Segment("Pro", attr("plan") == "free")], {"plan": "string"})


def test_window_must_be_ordered():
    store = make_store([(1, 2, "plan", "pro")])
    with pytest.raises(ValueError, match="before"):
        ss.segment_events(store, PRO, start=day(3), end=day(3))


# -- the SQL path and the live (Python) path agree ------------------------------------------------------

PLANS = ["free", "pro", "churned"]
leaf = st.one_of(
    st.sampled_from(PLANS).map(lambda p: attr("plan") == p),
    st.integers(0, 200).map(lambda v: attr("ltv") >= v),
    st.sampled_from(["7d", "10d", "30d"]).map(lambda d: attr("seen").older_than(d)),
    st.sampled_from(["3d", "10d"]).map(lambda d: attr("seen").within_last(d)),
    st.just(in_list("news")),
    st.just(attr("ltv").is_not_set()),
)
conditions = st.recursive(
    leaf,
    lambda inner: st.one_of(
        st.lists(inner, min_size=1, max_size=3).map(lambda cs: all_of(*cs)),
        st.lists(inner, min_size=1, max_size=3).map(lambda cs: any_of(*cs)),
        inner.map(not_),
    ),
    max_leaves=5,
)
change = st.one_of(
    st.tuples(st.sampled_from(PLANS).map(lambda p: ("plan", p))),
    st.tuples(st.one_of(st.none(), st.integers(0, 200).map(float)).map(lambda v: ("ltv", v))),
    st.tuples(st.integers(-40, 40).map(lambda d: ("seen", day(d)))),
    st.tuples(st.booleans().map(lambda m: ("news", m))),
)
histories = st.lists(st.tuples(st.integers(-40, 40), change), min_size=1, max_size=12)


@RANDOM_LISTS_MAY_BE_UNKNOWN
@given(condition=conditions, history=histories)
def test_sql_transitions_match_python_replay(condition, history):
    check_sql_transitions_match_python_replay(condition, history)


@pytest.mark.slow
@pytest.mark.timeout(3600)  # 2,000 examples: about five minutes on a quiet machine
@settings(settings.get_profile("long"))
@given(condition=conditions, history=histories)
def test_sql_transitions_match_python_replay_long(condition, history):
    check_sql_transitions_match_python_replay(condition, history)


def check_sql_transitions_match_python_replay(condition, history):
    from segsim.engine.live import replay

    rows, lists, seen = [], [], set()
    for d, ((name, value),) in history:
        if (d, name) in seen:
            continue
        seen.add((d, name))
        if name == "news":
            lists.append((1, d, "news", value))
        else:
            rows.append((1, d, name, value))
    rows.append((1, -50, "plan", "free"))
    types = {"plan": "string", "ltv": "number", "seen": "timestamp"}
    store = make_store(rows, lists=lists, types=types)
    segment = ss.Segment("S", condition)
    sql = ss.segment_events(store, segment, start=day(-60), end=day(60))
    got = [(r.time.value // 1000, r.event == "enter", r.nth, r.cause) for r in sql.itertuples()]

    # the Python face, replayed over every instant of the window
    predicate = compile_predicate(validate_segments([segment], types)["S"], types=types)
    query = transition_query(store, [segment], day(60))
    assert query.segments == ["S"]
    history_rows = []
    for _, d, name, value in rows:
        v = None if value is None else (int(value.value // 1000) if name == "seen" else value)
        history_rows.append((int(day(d).value // 1000), False, name, v))
    for _, d, name, member in lists:
        history_rows.append((int(day(d).value // 1000), True, name, member))
    history_rows.sort(key=lambda r: r[0])
    birth = history_rows[0][0]
    expected = []
    leaves = time_relative_leaves(condition)
    previous_members = [False]
    instants = sorted({r[0] for r in history_rows} | _boundaries(history_rows, leaves))
    state: dict[str, object] = {}  # the inputs' values before the instant
    for t in instants:
        if t >= int(day(60).value // 1000):
            break
        _, members, nth = replay(history_rows, birth, t, [predicate], leaves)
        inputs = attributes_used(condition) | lists_used(condition)
        before = dict(state)
        for r in history_rows:
            if r[0] == t:
                state[r[2]] = r[3]
        if members[0] != previous_members[0]:
            # history when one of the segment's own inputs changed then (a row re-setting
            # the value it has is no change), or the contact appeared then; else time
            own_change = any(_value(state, name) != _value(before, name) for name in inputs)
            cause = "history" if own_change or t == birth else "time"
            expected.append((t, members[0], nth[0], cause))
        previous_members = members
    assert got == expected


def _value(state, name):
    """An input's value in the oracle's state (a list: a membership, False when never set)."""
    value = state.get(name)
    return bool(value) if name == "news" else value


def _boundaries(history_rows, leaves):
    out = set()
    for _t, is_list, name, value in history_rows:
        if is_list or value is None:
            continue
        for attribute, d, kind in leaves:
            if attribute == name:
                out.add(value + d)
                if kind == "within_last":
                    out.add(value)
    return out
