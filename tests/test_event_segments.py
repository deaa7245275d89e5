"""Event conditions in segments: the SQL face (transitions at exact instants), the Python face
(live contacts), their agreement on random histories, a brute-force check, validation, shards."""

from __future__ import annotations

import random

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import segsim as ss
from segsim import all_of, any_of, attr, event, in_segment, not_, prop
from segsim.conditions import (
    attributes_used,
    compile_predicate,
    lists_used,
    time_relative_leaves,
    validate_condition,
)
from segsim.errors import ConditionError
from segsim.event_conditions import EventCatalog, events_used
from segsim.segments import validate_segments
from tests.engine_helpers import day, events_log, reachable, runs_log

US_PER_DAY = 86_400_000_000


def us(d: float) -> int:
    return int(day(d).value // 1000)


def make_event_store(rows=(), occurrences=(), types=None, properties=None) -> ss.Store:
    """A store from ``(contact, day, attribute, value)`` rows and ``(contact, day, event,
    {property: value})`` occurrences (every contact gets a ``plan`` at day -100)."""
    store = ss.Store()
    contacts = sorted({r[0] for r in rows} | {o[0] for o in occurrences})
    rows = [*((c, -100, "plan", "free") for c in contacts), *rows]
    frame = pd.DataFrame(
        [(c, day(d), a, v) for c, d, a, v in rows],
        columns=["contact_id", "ts", "attribute", "value"],
    )
    frame["value"] = frame["value"].astype(object)
    store.load_attributes(frame, types=types)
    if occurrences:
        names = sorted({p for *_, props in occurrences for p in props})
        events = pd.DataFrame(
            [
                {"contact_id": c, "ts": _ts(d), "event": e, **{p: props.get(p) for p in names}}
                for c, d, e, props in occurrences
            ]
        )
        store.load_events(events, properties=properties)
    return store


def _ts(d):
    return d if isinstance(d, pd.Timestamp) else day(d)


def log(store, segments, start=-1, end=60, **kwargs):
    return events_log(ss.segment_events(store, segments, start=day(start), end=day(end), **kwargs))


def purchases(contact, *days_, **props):
    return [(contact, d, "purchase", dict(props)) for d in days_]


REPEAT = ss.Segment("Repeat", event("purchase").count(within="7d") >= 2)


# -- windows and exact instants ----------------------------------------------------------------


def test_a_count_rises_at_the_occurrence_and_falls_at_exactly_ts_plus_d():
    store = make_event_store(occurrences=purchases(1, 2, 5))
    # (now - 7d, now]: both count on days 5..8; the day-2 purchase leaves at exactly day 9
    assert log(store, REPEAT) == [
        (5, 1, "Repeat", "enter", 1, "history"),
        (9, 1, "Repeat", "exit", 1, "time"),
    ]


def test_an_occurrence_ageing_out_as_another_arrives_is_one_state_change():
    # day 2 leaves the window at day 9, when a new one arrives: still 2, no transition
    store = make_event_store(occurrences=purchases(1, 2, 5, 9))
    assert log(store, REPEAT) == [
        (5, 1, "Repeat", "enter", 1, "history"),
        (12, 1, "Repeat", "exit", 1, "time"),
    ]


def test_occurrences_at_one_instant_all_count():
    store = make_event_store(occurrences=purchases(1, 3, 3))  # two identical rows: two purchases
    assert log(store, REPEAT) == [
        (3, 1, "Repeat", "enter", 1, "history"),
        (10, 1, "Repeat", "exit", 1, "time"),
    ]


def test_without_within_the_count_covers_all_history_and_never_drops():
    store = make_event_store(occurrences=purchases(1, -50, 4))
    segment = ss.Segment("Twice", event("purchase").count() >= 2)
    assert log(store, segment) == [(4, 1, "Twice", "enter", 1, "history")]


def test_same_instant_event_and_attribute_change_are_one_state_change():
    store = make_event_store(rows=[(1, 3, "plan", "pro")], occurrences=purchases(1, 3))
    both = ss.Segment("ProBuyer", all_of(attr("plan") == "pro", event("purchase").exists()))
    either = ss.Segment("Either", any_of(attr("plan") == "free", event("purchase").exists()))
    assert log(store, [both, either], start=-200) == [
        (-100, 1, "Either", "enter", 1, "history"),
        (3, 1, "ProBuyer", "enter", 1, "history"),  # and no flicker of Either at day 3
    ]


def test_sum_over_a_property_in_a_window_skips_occurrences_without_it():
    occurrences = [
        (1, 1, "purchase", {"amount": 30.0}),
        (1, 2, "purchase", {}),  # no amount: adds nothing
        (1, 4, "purchase", {"amount": 25.5}),
        (2, 1, "purchase", {"amount": 100.0}),
    ]
    store = make_event_store(occurrences=occurrences)
    big = ss.Segment("Big", event("purchase").sum("amount", within="5d") >= 55.5)
    small = ss.Segment("Small", event("purchase").sum("amount", within="5d") < 1)
    assert log(store, [big, small], start=-200) == [
        (-100, 1, "Small", "enter", 1, "history"),  # the sum of nothing is 0
        (-100, 2, "Small", "enter", 1, "history"),
        (1, 1, "Small", "exit", 1, "history"),
        (1, 2, "Big", "enter", 1, "history"),
        (1, 2, "Small", "exit", 1, "history"),
        (4, 1, "Big", "enter", 1, "history"),  # 30 + 25.5
        (6, 1, "Big", "exit", 1, "time"),  # day 1 leaves (now - 5d, now] at day 6
        (6, 2, "Big", "exit", 1, "time"),
        (6, 2, "Small", "enter", 2, "time"),
        (9, 1, "Small", "enter", 2, "time"),
    ]


def test_where_selects_the_occurrences():
    occurrences = [
        (1, 1, "purchase", {"category": "rock", "amount": 10.0}),
        (1, 2, "purchase", {"category": "jazz", "amount": 5.0}),
        (1, 3, "purchase", {"category": "jazz", "amount": 50.0}),
    ]
    store = make_event_store(occurrences=occurrences)
    jazz = ss.Segment(
        "Jazz", event("purchase", where=prop("category") == "jazz").exists(within="2d")
    )
    big_jazz = ss.Segment(
        "BigJazz",
        event("purchase", where=(prop("category") == "jazz") & (prop("amount") >= 20)).exists(),
    )
    assert log(store, [jazz, big_jazz]) == [
        (2, 1, "Jazz", "enter", 1, "history"),
        (3, 1, "BigJazz", "enter", 1, "history"),
        (5, 1, "Jazz", "exit", 1, "time"),  # the day-3 jazz purchase leaves at exactly day 5
    ]


def test_last_at_older_than_and_within_last():
    store = make_event_store(occurrences=[*purchases(1, 2, 10), (2, 0, "visit", {})])
    lapsed = ss.Segment("Lapsed", event("purchase").last_at().older_than("5d"))
    recent = ss.Segment("Recent", event("purchase").last_at().within_last("5d"))
    assert log(store, [lapsed, recent]) == [
        (2, 1, "Recent", "enter", 1, "history"),
        (7, 1, "Lapsed", "enter", 1, "time"),  # last <= now - 5d from exactly day 7
        (7, 1, "Recent", "exit", 1, "time"),
        (10, 1, "Lapsed", "exit", 1, "history"),  # a new purchase: the latest is now
        (10, 1, "Recent", "enter", 2, "history"),
        (15, 1, "Lapsed", "enter", 2, "time"),
        (15, 1, "Recent", "exit", 2, "time"),
    ]  # contact 2 never purchased: last_at() of nothing is false for both tests


def test_an_event_never_seen_counts_zero_and_has_no_last_at():
    # contact 9 makes "purchase" a known event; its one purchase is at its birth
    store = make_event_store(
        rows=[(1, 1, "plan", "pro")], occurrences=[(2, 1, "visit", {}), (9, -500, "purchase", {})]
    )
    none = ss.Segment("None", event("purchase").count() == 0)
    never = ss.Segment("Never", not_(event("purchase").exists()))
    lapsed = ss.Segment("Lapsed", event("purchase").last_at().older_than("1d"))
    assert log(store, [none, never, lapsed], start=-200) == [
        (-100, 1, "None", "enter", 1, "history"),
        (-100, 1, "Never", "enter", 1, "history"),
        (-100, 2, "None", "enter", 1, "history"),
        (-100, 2, "Never", "enter", 1, "history"),
    ]


def test_a_contact_with_only_events_exists_from_its_first_occurrence():
    store = make_event_store(rows=[(1, 0, "plan", "pro")], occurrences=[(9, -500, "purchase", {})])
    store.load_events(pd.DataFrame({"contact_id": [7], "ts": [day(4)], "event": ["visit"]}))
    never = ss.Segment("NoPurchase", event("purchase").count() == 0)
    assert ss.segment_events(store, never, start=day(-200), end=day(10))["contact_id"].tolist() == [
        1,
        7,
    ]
    assert log(store, never, start=-200, end=10)[-1] == (4, 7, "NoPurchase", "enter", 1, "history")


def test_event_conditions_inside_in_segment_references():
    store = make_event_store(rows=[(1, 1, "plan", "pro")], occurrences=purchases(1, 2, 3))
    pro_repeat = ss.Segment("ProRepeat", all_of(attr("plan") == "pro", in_segment("Repeat")))
    assert log(store, [REPEAT, pro_repeat]) == [
        (3, 1, "Repeat", "enter", 1, "history"),
        (3, 1, "ProRepeat", "enter", 1, "history"),
        (9, 1, "Repeat", "exit", 1, "time"),
        (9, 1, "ProRepeat", "exit", 1, "time"),
    ]
    assert ss.members(store, pro_repeat, day(5), segments=[REPEAT])["contact_id"].tolist() == [1]
    assert ss.members(store, pro_repeat, day(9), segments=[REPEAT])["contact_id"].tolist() == []


def test_a_boundary_at_or_after_the_end_is_not_returned():
    store = make_event_store(occurrences=purchases(1, 2, 5))
    assert log(store, REPEAT, end=9) == [(5, 1, "Repeat", "enter", 1, "history")]


def test_history_before_start_builds_state_and_existing_members_enter_at_start():
    store = make_event_store(occurrences=purchases(1, -3, -2))
    assert log(store, REPEAT, start=0) == [(4, 1, "Repeat", "exit", 1, "time")]
    assert log(store, REPEAT, start=0, include_existing_members=True) == [
        (0, 1, "Repeat", "enter", 1, "history"),
        (4, 1, "Repeat", "exit", 1, "time"),
    ]


def test_segment_sizes_with_an_event_segment():
    store = make_event_store(occurrences=purchases(1, 2, 5) + purchases(2, 3, 4))
    sizes = ss.segment_sizes(store, REPEAT, day(0), day(14), freq="W")
    assert sizes[["entries", "exits", "members"]].values.tolist() == [
        [0, 0, 0],
        [2, 2, 0],
        [0, 0, 0],
    ]


# -- the brute-force check: "at least 2 purchases within 90 days" -------------------------------


def test_repeat_buyers_match_a_brute_force_recomputation():
    rng = random.Random(20261202)
    d90 = 90 * US_PER_DAY
    origin = us(0)
    occurrences, times = [], {}
    for contact in range(1, 401):
        n = rng.choice([0, 1, 1, 2, 2, 3, 4, 6, 9])
        ts = sorted(
            origin + rng.randrange(0, 730 * US_PER_DAY // 1_000_000) * 1_000_000 for _ in range(n)
        )
        if n >= 2 and rng.random() < 0.3:  # an exact 90-day gap: one leaves as the next arrives
            ts[1] = ts[0] + d90
            ts.sort()
        times[contact] = ts
        occurrences += [(contact, pd.Timestamp(t, unit="us", tz="UTC"), "purchase", {}) for t in ts]
    store = make_event_store(occurrences=occurrences)
    segment = ss.Segment("Repeat buyers", event("purchase").count(within="90d") >= 2)
    got = ss.segment_events(store, segment, start=day(-1), end=day(1000))

    expected = []
    for contact, ts in times.items():
        member, nth = False, 0
        for t in sorted(set(ts) | {p + d90 for p in ts}):
            now = sum(1 for p in ts if t - d90 < p <= t) >= 2
            if now != member:
                member, nth = now, nth + now
                cause = "history" if t in ts else "time"
                expected.append((t, contact, "enter" if now else "exit", nth, cause))
    expected.sort(key=lambda r: (r[0], r[1], r[2] == "enter"))
    rows = [
        (int(r.time.value // 1000), r.contact_id, r.event, r.nth, r.cause) for r in got.itertuples()
    ]
    assert len(rows) > 300
    assert rows == expected


# -- the SQL face and the Python face agree on random event histories --------------------------

WHERES = st.sampled_from(
    [None, prop("category") == "a", prop("amount") >= 2, prop("amount").is_not_set()]
)
WITHIN = st.sampled_from([None, "3d", "7d"])
event_leaf = st.one_of(
    st.builds(
        lambda e, w, within, op, n: getattr(event(e, where=w).count(within=within), op)(n),
        st.sampled_from(["purchase", "visit"]),
        WHERES,
        WITHIN,
        st.sampled_from(["__ge__", "__lt__", "__eq__"]),
        st.integers(0, 3),
    ),
    st.builds(lambda w, within: event("purchase", where=w).exists(within=within), WHERES, WITHIN),
    st.builds(
        lambda w, within, n: event("purchase", where=w).sum("amount", within=within) >= n,
        WHERES,
        WITHIN,
        st.sampled_from([0.5, 2, 4.5]),
    ),
    st.builds(
        lambda w, test, d: getattr(event("purchase", where=w).last_at(), test)(d),
        WHERES,
        st.sampled_from(["older_than", "within_last"]),
        st.sampled_from(["2d", "5d"]),
    ),
    st.just(attr("plan") == "pro"),
)
event_conditions = st.recursive(
    event_leaf,
    lambda inner: st.one_of(
        st.lists(inner, min_size=1, max_size=3).map(lambda cs: all_of(*cs)),
        st.lists(inner, min_size=1, max_size=3).map(lambda cs: any_of(*cs)),
        inner.map(not_),
    ),
    max_leaves=4,
)
occurrence = st.tuples(
    st.integers(-20, 20).map(lambda d: d / 2),  # half days: many coincidences at ts + d
    st.sampled_from(["purchase", "visit"]),
    st.fixed_dictionaries(
        {},
        optional={
            "amount": st.integers(0, 8).map(lambda k: k / 2),
            "category": st.sampled_from(["a", "b"]),
        },
    ),
)
event_histories = st.tuples(
    st.lists(st.tuples(st.integers(-10, 10), st.sampled_from(["pro", "free"])), max_size=4),
    st.lists(occurrence, min_size=1, max_size=10),
)


@given(condition=event_conditions, history=event_histories)
def test_sql_transitions_match_python_replay_with_events(condition, history):
    check_event_faces_agree(condition, history)


@pytest.mark.slow
@pytest.mark.timeout(3600)
@settings(settings.get_profile("long"))
@given(condition=event_conditions, history=event_histories)
def test_sql_transitions_match_python_replay_with_events_long(condition, history):
    check_event_faces_agree(condition, history)


def check_event_faces_agree(condition, history):
    from segsim.engine.live import EVENT_ROW, replay

    changes, occurrences = history
    plans = {d: p for d, p in changes}  # one change per day
    rows = [(1, d, "plan", p) for d, p in sorted(plans.items())]
    # both events and both properties known to the store, whatever the draw
    extra = [(2, -90, "purchase", {"amount": 1.0, "category": "a"}), (2, -90, "visit", {})]
    store = make_event_store(
        rows=rows,
        occurrences=[(1, d, e, p) for d, e, p in occurrences] + extra,
        properties={"amount": "number", "category": "string"},
    )
    segment = ss.Segment("S", condition)
    sql = ss.segment_events(store, segment, start=day(-60), end=day(60))
    got = [
        (r.time.value // 1000, r.event == "enter", r.nth, r.cause)
        for r in sql.itertuples()
        if r.contact_id == 1
    ]

    types = store.attribute_types
    catalog = EventCatalog.of(store)
    checked = validate_segments([segment], types, events=catalog)["S"]
    predicate = compile_predicate(checked, types=types, events=catalog)
    history_rows = [(us(-100), False, "plan", "free")]
    history_rows += [(us(d), False, "plan", p) for d, p in sorted(plans.items())]
    history_rows += [(us(d), EVENT_ROW, e, p) for d, e, p in occurrences]
    history_rows.sort(key=lambda r: r[0])
    birth = history_rows[0][0]
    leaves = time_relative_leaves(checked)
    boundaries = {
        r[0] + window
        for r in history_rows
        for name, window, kind in leaves
        if kind == "event" and r[1] == EVENT_ROW and r[2] == name
    }
    read_events = events_used(checked)
    inputs = attributes_used(checked) | lists_used(checked)
    expected, previous, plan_before = [], False, {}
    for t in sorted({r[0] for r in history_rows} | boundaries):
        if t >= us(60):
            break
        _, members, nth = replay(history_rows, birth, t, [predicate], leaves)
        plan_now = [r[3] for r in history_rows if r[1] is False and r[0] <= t][-1]
        changed_plan = plan_now != plan_before.get("plan") and any(
            r[0] == t and r[1] is False for r in history_rows
        )
        plan_before["plan"] = plan_now
        if members[0] != previous and t >= us(-60):
            own = (changed_plan and "plan" in inputs) or any(
                r[0] == t and r[1] == EVENT_ROW and r[2] in read_events for r in history_rows
            )
            cause = "history" if own or t == birth else "time"
            expected.append((t, members[0], nth[0], cause))
        previous = members[0]
    assert got == expected


# -- validation ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def shop():
    return make_event_store(
        occurrences=[
            (1, 1, "purchase", {"amount": 5.0, "category": "jazz"}),
            (1, 2, "page_view", {}),
        ]
    )


@pytest.mark.parametrize(
    "condition, message",
    [
        (
            event("purchse").exists(),
            r"unknown event 'purchse'; did you mean 'purchase'\? in segment 'S'",
        ),
        (
            event("purchase", where=prop("categry") == "x").exists(),
            r"unknown property 'categry'; did you mean 'category'\?.* in segment 'S'",
        ),
        (
            event("purchase").sum("amont") > 1,
            r"unknown property 'amont'; did you mean 'amount'\?",
        ),
        (
            event("purchase").sum("category") > 1,
            "sum needs a number property, 'category' is string",
        ),
        (
            event("purchase", where=prop("amount") == "cheap").exists(),
            "number property 'amount' cannot be compared with the string value 'cheap'",
        ),
        (
            event("purchase", where=prop("amount").contains("x")).exists(),
            "contains needs a string property",
        ),
    ],
)
def test_validation_names_the_event_the_property_and_the_segment(shop, condition, message):
    with pytest.raises(ConditionError, match=message):
        ss.segment_events(shop, ss.Segment("S", condition), day(0), day(5))


def test_a_store_without_events_refuses_event_conditions():
    store = make_event_store(rows=[(1, 1, "plan", "pro")])
    with pytest.raises(ConditionError, match="unknown event 'purchase'; the store has no events"):
        ss.segment_events(store, ss.Segment("S", event("purchase").exists()), day(0), day(5))


def test_validation_normalises_event_values():
    catalog = EventCatalog(frozenset({"purchase"}), {"amount": "number", "at": "timestamp"})
    checked = validate_condition(
        event(
            "purchase", where=(prop("amount") >= 2) & (prop("at") < "2026-01-01T00:00:00Z")
        ).count()
        >= 2,
        {},
        events=catalog,
    )
    assert checked.value == 2.0 and isinstance(checked.value, float)
    assert checked.where.conditions[0].value == 2.0
    assert checked.where.conditions[1].value == pd.Timestamp("2026-01-01", tz="UTC").to_pydatetime()


def test_validate_command_reports_unknown_events(shop):
    from segsim.engine.plan import check_scenario

    scenario = ss.Scenario(
        shop,
        segments=[ss.Segment("Buyers", event("purchases").exists())],
        flows=[],
        start=day(0),
        end=day(5),
    )
    problems, _ = check_scenario(scenario)
    assert problems == [
        "segments[0].where: exists(purchases): unknown event 'purchases'; "
        "did you mean 'purchase'? in segment 'Buyers'"
    ]


# -- the engine: live contacts read events mid-run ---------------------------------------------


def _live_scenario():
    rows = [r for c in (1, 2, 3) for r in reachable(c, at=-50)]
    occurrences = [
        *purchases(1, 2, 5, amount=10.0),
        *purchases(2, 3, 4, 6.5, 20, amount=10.0),
        *purchases(3, 1, 2, amount=10.0),
        (3, 3.5, "purchase", {"amount": 150.0}),  # a big one: contact 3 leaves the flow
    ]
    store = make_event_store(rows=rows, occurrences=occurrences)
    flow = ss.Flow(
        "Thanks",
        trigger=ss.SegmentTrigger("Repeat"),
        steps=[
            ss.UpdateContact("u", set={"tier": "gold"}),  # the contact leaves the SQL path
            ss.Wait("w", "3d"),
            ss.Branch(
                "b",
                when=event("purchase").exists(within="2d"),
                then=[ss.AddToList("yes", "recent")],
                otherwise=[ss.AddToList("no", "lapsed")],
            ),
        ],
        settings=ss.ActivationSettings(
            exit_conditions=[
                ss.AttributeMatches(event("purchase", where=prop("amount") >= 100).exists())
            ]
        ),
    )
    return ss.Scenario(store, segments=[REPEAT], flows=[flow], start=day(0), end=day(30))


def test_live_contacts_read_events_in_segments_branches_and_exit_conditions():
    scenario = _live_scenario()
    result = ss.simulate(scenario, progress=False)
    # the contacts are live from their Update contact on: their segment events come from
    # the Python face, and are those the SQL face computes
    sql = ss.segment_events(scenario.store, REPEAT, start=day(0), end=day(30))
    assert (
        events_log(result)
        == events_log(sql)
        == [
            (2, 3, "Repeat", "enter", 1, "history"),
            (4, 2, "Repeat", "enter", 1, "history"),
            (5, 1, "Repeat", "enter", 1, "history"),
            (9, 1, "Repeat", "exit", 1, "time"),
            (9, 3, "Repeat", "exit", 1, "time"),  # day 2 leaves; day 8 (day 1 leaving) left 2
            (11, 2, "Repeat", "exit", 1, "time"),
        ]
    )
    assert runs_log(result) == [
        ("Thanks", 3, 2, "first", 3.5, "exit_condition"),  # the 150 purchase at day 3.5
        ("Thanks", 2, 4, "first", 7, "completed"),
        ("Thanks", 1, 5, "first", 8, "completed"),
    ]
    branch = result.steps[result.steps["step_id"].isin(["yes", "no"])]
    assert list(zip(branch["contact_id"], branch["step_id"], strict=True)) == [
        (2, "yes"),  # day 7: the day-6.5 purchase is in (5, 7]
        (1, "no"),  # day 8: nothing in (6, 8]
    ]


def test_event_segments_shard_identically():
    from tests.test_shards import assert_same

    scenario = _live_scenario()
    assert_same(
        ss.simulate(scenario, progress=False), ss.simulate(scenario, progress=False, shards=2)
    )


# -- the demo: an event segment used by a flow, and explain ------------------------------------


def test_the_demo_flow_on_an_event_segment_and_its_explanation(small_demo):
    scenario, result = small_demo
    assert "Repeat buyers" in [s.name for s in scenario.segments]
    runs = result.runs[result.runs["flow"] == "Repeat thanks"]
    entries = result.segment_events[
        (result.segment_events["segment"] == "Repeat buyers")
        & (result.segment_events["event"] == "enter")
    ]
    assert len(runs) > 0 and set(runs["contact_id"]) <= set(entries["contact_id"])
    story = result.explain(210)
    rows = story[story["time"] == pd.Timestamp("2026-01-06 13:14:33", tz="UTC")]
    assert rows[["what", "detail"]].values.tolist()[:2] == [
        ["event", "page_view (page='/')"],
        ["event", "purchase (amount=20.15, category='electronic')"],
    ]
    assert ["segment enter", "'Repeat buyers' (entry #1, cause: history)"] in rows[
        ["what", "detail"]
    ].values.tolist()


def test_the_query_reads_only_the_events_and_properties_used():
    from segsim.segments import transition_query

    store = make_event_store(
        occurrences=[
            (1, 1, "purchase", {"amount": 5.0, "category": "jazz"}),
            (1, 2, "page_view", {"page": "/"}),
        ]
    )
    segment = ss.Segment("Big", event("purchase").sum("amount", within="7d") >= 5)
    sql = transition_query(store, [segment], day(10)).sql
    assert "event IN ('purchase')" in sql and "page_view" not in sql
    assert '"prop:amount"' in sql
    assert '"prop:category"' not in sql and '"prop:page"' not in sql
    assert "segsim_changes" not in sql  # no attribute read, no birth needed
