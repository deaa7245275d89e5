"""A catalogue of bad inputs, one per row: each raises a clear error that names its culprit.

Every entry asserts the error type (a :class:`segsim.SegsimError` subclass, or pydantic's
``ValidationError`` for a model field, or ``TypeError``/``ValueError`` for a bad argument)
and that the message names what is wrong: the attribute, step id, segment, flow, file, row
or YAML path. None may end in a raw traceback from DuckDB, SimPy or pandas.

Unicode names are not bad input: the last tests check they are accepted and round-trip.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from pydantic import ValidationError

import segsim as ss
from segsim import all_of, attr, in_segment
from segsim.cli import main
from segsim.conditions import validate_condition
from segsim.engine.plan import check_scenario
from tests.engine_helpers import day, make_store

# -- helpers -----------------------------------------------------------------------------------


def frame(**columns: list[Any]) -> pd.DataFrame:
    data = {"contact_id": [1], "ts": ["2026-01-01"], "attribute": ["plan"], "value": ["pro"]}
    data.update(columns)
    return pd.DataFrame(data)


def lists_frame(**columns: list[Any]) -> pd.DataFrame:
    data = {"contact_id": [1], "ts": ["2026-01-01"], "list": ["news"], "member": [True]}
    data.update(columns)
    return pd.DataFrame(data)


def load(data: Any, **kwargs: Any) -> Callable[[], Any]:
    return lambda: ss.Store().load_attributes(data, **kwargs)


def load_lists(data: Any) -> Callable[[], Any]:
    return lambda: ss.Store().load_lists(data)


def load_twice(first: pd.DataFrame, second: pd.DataFrame, **kwargs: Any) -> Callable[[], Any]:
    def run() -> None:
        store = ss.Store()
        store.load_attributes(first)
        store.load_attributes(second, **kwargs)

    return run


PRO = ss.Segment("Pro", attr("plan") == "pro")


def welcome(**changes: Any) -> ss.Flow:
    fields: dict[str, Any] = {
        "trigger": ss.SegmentTrigger("Pro"),
        "steps": [ss.SendEmail("e1", template="hi")],
    }
    fields.update(changes)
    return ss.Flow("Welcome", **fields)


def simulate(
    segments: list[ss.Segment] | None = None,
    flows: list[ss.Flow] | None = None,
    consent: str = "boolean",
    **kwargs: Any,
) -> Callable[[], Any]:
    def run() -> Any:
        value = True if consent == "boolean" else "yes"
        store = make_store(
            [(1, -5, "plan", "free"), (1, 2, "plan", "pro"), (1, -5, "email_subscribed", value)],
            types={"email_subscribed": consent},
        )
        scenario = ss.Scenario(
            store,
            segments=segments or [PRO],
            flows=flows or [welcome()],
            start=day(0),
            end=day(10),
            **kwargs,
        )
        return ss.simulate(scenario, progress=False)

    return run


def scenario(**kwargs: Any) -> Callable[[], Any]:
    fields: dict[str, Any] = {
        "segments": [PRO],
        "flows": [welcome()],
        "start": "2026-01-01",
        "end": "2026-02-01",
    }
    fields.update(kwargs)
    return lambda: ss.Scenario(ss.Store(), **fields)


def check(action: Callable[[], Any], error: type[BaseException], culprits: tuple[str, ...]) -> str:
    with pytest.raises(error) as info:
        action()
    message = str(info.value)
    for culprit in culprits:
        assert culprit in message, f"{culprit!r} not in {message!r}"
    # never a raw error from deep inside a dependency
    assert type(info.value).__module__.split(".")[0] in ("segsim", "builtins", "pydantic_core"), (
        type(info.value)
    )
    return message


# -- data loading (store) ----------------------------------------------------------------------

STORE_CASES = [
    (
        "missing-column",
        load(frame().rename(columns={"ts": "time"})),
        ss.DataLoadError,
        ("'ts'", "time"),
    ),
    (
        "missing-contact-id",
        load(frame(contact_id=[None])),
        ss.DataLoadError,
        ("contact_id", "missing"),
    ),
    (
        "boolean-contact-id",
        load(frame(contact_id=[True])),
        ss.DataLoadError,
        ("contact_id", "boolean"),
    ),
    (
        "fractional-contact-id",
        load(frame(contact_id=[1.5])),
        ss.DataLoadError,
        ("contact_id", "1.5"),
    ),
    (
        "contact-id-beyond-int64",
        load(frame(contact_id=[2**70])),
        ss.DataLoadError,
        ("contact_id", str(2**70), "64-bit"),
    ),
    (
        "mixed-int-and-str-ids",
        load(
            pd.DataFrame(
                {
                    "contact_id": [1, "a", 2],
                    "ts": ["2026-01-01"] * 3,
                    "attribute": ["plan"] * 3,
                    "value": ["x"] * 3,
                }
            )
        ),
        ss.DataLoadError,
        ("contact_id", "'a'"),
    ),
    ("empty-string-id", load(frame(contact_id=[""])), ss.DataLoadError, ("contact_id", "empty")),
    ("missing-timestamp", load(frame(ts=[None])), ss.DataLoadError, ("'ts'", "missing")),
    ("numeric-timestamp-1e20", load(frame(ts=[1e20])), ss.DataLoadError, ("'ts'", "1e+20")),
    (
        "timestamp-year-10000",
        load(frame(ts=["10000-01-01"])),
        ss.DataLoadError,
        ("'ts'", "10000-01-01"),
    ),
    (
        "unparseable-timestamp",
        load(frame(ts=["yesterday"])),
        ss.DataLoadError,
        ("'ts'", "yesterday"),
    ),
    (
        "blank-attribute-name",
        load(frame(attribute=["  "])),
        ss.DataLoadError,
        ("attribute", "non-empty"),
    ),
    (
        "unsupported-value",
        load(frame(value=[[1, 2]])),
        ss.DataLoadError,
        ("value", "[1, 2]", "list"),
    ),
    (
        "huge-number-1e400",
        load(frame(attribute=["ltv"], value=["1e400"])),
        ss.DataLoadError,
        ("'ltv'", "1e400", "not finite"),
    ),
    (
        "infinite-number",
        load(frame(attribute=["ltv"], value=[float("inf")])),
        ss.DataLoadError,
        ("'ltv'", "not finite"),
    ),
    (
        "timestamp-value-year-10000",
        load(frame(attribute=["seen"], value=["10000-01-01"]), types={"seen": "timestamp"}),
        ss.DataLoadError,
        ("'seen'", "10000-01-01"),
    ),
    (
        "value-not-of-declared-type",
        load(frame(attribute=["ltv"], value=["lots"]), types={"ltv": "number"}),
        ss.DataLoadError,
        ("'ltv'", "'lots'", "number"),
    ),
    (
        "attribute-mixing-types",
        load(
            pd.DataFrame(
                {
                    "contact_id": [1, 2],
                    "ts": ["2026-01-01"] * 2,
                    "attribute": ["vip"] * 2,
                    "value": [True, 3],
                }
            )
        ),
        ss.DataLoadError,
        ("'vip'", "mixes types"),
    ),
    (
        "unknown-type-name",
        load(frame(), types={"plan": "text"}),
        ValueError,
        ("plan", "'text'", "string"),
    ),
    ("types-not-a-mapping", load(frame(), types=["plan"]), TypeError, ("types", "list")),
    (
        "conflicting-rows",
        load(
            pd.DataFrame(
                {
                    "contact_id": [1, 1],
                    "ts": ["2026-01-01"] * 2,
                    "attribute": ["plan"] * 2,
                    "value": ["a", "b"],
                }
            )
        ),
        ss.DataLoadError,
        ("'plan'", "'a'", "'b'", "on_conflict"),
    ),
    (
        "redeclared-type",
        load_twice(frame(), frame(ts=["2026-01-02"]), types={"plan": "number"}),
        ss.DataLoadError,
        ("'plan'", "string", "number"),
    ),
    (
        "string-ids-into-integer-store",
        load_twice(frame(), frame(contact_id=["a"])),
        ss.DataLoadError,
        ("contact", "'a'"),
    ),
    (
        "bad-list-member",
        load_lists(lists_frame(member=["maybe"])),
        ss.DataLoadError,
        ("member", "'maybe'"),
    ),
    (
        "empty-list-name",
        load_lists(lists_frame(list=[""])),
        ss.DataLoadError,
        ("list", "non-empty"),
    ),
    ("not-a-dataframe", load({"contact_id": [1]}), TypeError, ("DataFrame", "dict")),
    ("bad-on-conflict", load(frame(), on_conflict="first"), ValueError, ("on_conflict", "'first'")),
]


@pytest.mark.parametrize(
    ("action", "error", "culprits"), [c[1:] for c in STORE_CASES], ids=[c[0] for c in STORE_CASES]
)
def test_bad_data(
    action: Callable[[], Any], error: type[BaseException], culprits: tuple[str, ...]
) -> None:
    check(action, error, culprits)


def test_missing_file_folder_and_unknown_suffix(tmp_path: Path) -> None:
    check(load(tmp_path / "nope.csv"), ss.DataLoadError, ("nope.csv", "does not exist"))
    check(load(tmp_path), ss.DataLoadError, (str(tmp_path), "folder"))
    (tmp_path / "data.xlsx").write_text("x")
    check(load(tmp_path / "data.xlsx"), ss.DataLoadError, ("data.xlsx", ".xlsx"))


def test_bad_csv_row_is_named_by_line(tmp_path: Path) -> None:
    path = tmp_path / "contacts.csv"
    path.write_text(
        "contact_id,ts,attribute,value\n1,2026-01-01,plan,pro\n2,not-a-date,plan,free\n"
    )
    check(load(path), ss.DataLoadError, ("contacts.csv", "'ts'", "row 2", "line 3", "not-a-date"))


def test_bad_store_files(tmp_path: Path) -> None:
    (tmp_path / "notes.duckdb").write_text("not a database")
    check(lambda: ss.Store(tmp_path / "notes.duckdb"), ss.SegsimError, ("notes.duckdb",))
    check(
        lambda: ss.Store(tmp_path / "missing.duckdb", read_only=True),
        ss.SegsimError,
        ("missing.duckdb", "does not exist"),
    )
    check(lambda: ss.Store(tmp_path), ss.SegsimError, (str(tmp_path), "folder"))
    path = tmp_path / "store.duckdb"
    with ss.Store(path) as store:
        store.load_attributes(frame())
    with ss.Store(path, read_only=True) as store:
        check(lambda: store.load_attributes(frame(ts=["2026-02-01"])), ss.ReadOnlyStoreError, ())


# -- conditions ------------------------------------------------------------------------------------

CONDITION_CASES = [
    ("attribute-name-not-a-string", lambda: attr(3), ValueError, ("attribute name", "3")),
    ("empty-attribute-name", lambda: attr(""), ValueError, ("attribute name",)),
    ("nan-value", lambda: attr("ltv") == float("nan"), ValidationError, ("NaN", "is_not_set")),
    ("huge-value-1e400", lambda: attr("ltv") >= 1e400, ValidationError, ("inf", "finite")),
    ("list-value", lambda: attr("plan") == ["pro"], ValidationError, ("value", "['pro']")),
    (
        "negative-duration",
        lambda: attr("seen").older_than("-1d"),
        ValidationError,
        ("duration", "'-1d'"),
    ),
    (
        "zero-duration",
        lambda: attr("seen").within_last("0s"),
        ValidationError,
        ("duration", "positive"),
    ),
    (
        "duration-without-unit",
        lambda: attr("seen").older_than("90"),
        ValidationError,
        ("'90'", "unit"),
    ),
    (
        "duration-beyond-timedelta",
        lambda: attr("seen").older_than("2000000000w"),
        ValidationError,
        ("2000000000w", "too long"),
    ),
    ("isin-a-string", lambda: attr("plan").isin("pro"), TypeError, ("isin", "'pro'")),
    ("empty-group", lambda: all_of(), ValidationError, ("all_of", "at least one")),
    (
        "attribute-alone-is-not-a-condition",
        lambda: ss.Segment("S", attr("vip")),
        ValidationError,
        ("where",),
    ),
    (
        "unknown-attribute-suggests",
        lambda: validate_condition(attr("plna") == "pro", {"plan": "string"}),
        ss.ConditionError,
        ("'plna'", "did you mean 'plan'"),
    ),
    (
        "type-mismatch",
        lambda: validate_condition(attr("ltv") == "high", {"ltv": "number"}),
        ss.ConditionError,
        ("'ltv'", "number", "'high'"),
    ),
    (
        "contains-on-a-number",
        lambda: validate_condition(attr("ltv").contains("1"), {"ltv": "number"}),
        ss.ConditionError,
        ("contains", "'ltv'"),
    ),
    (
        "older-than-on-a-string",
        lambda: validate_condition(attr("plan").older_than("1d"), {"plan": "string"}),
        ss.ConditionError,
        ("older_than", "'plan'"),
    ),
    (
        "ordering-booleans",
        lambda: validate_condition(attr("vip") > True, {"vip": "boolean"}),
        ss.ConditionError,
        ("'>'", "'vip'", "boolean"),
    ),
    (
        "unknown-segment",
        lambda: validate_condition(in_segment("VPI"), {}, segment_names=["VIP"]),
        ss.ConditionError,
        ("'VPI'", "did you mean 'VIP'"),
    ),
    (
        "equals-none-suggests-is-not-set",
        lambda: attr("email") == None,  # noqa: E711 - the mistake under test
        ValueError,
        ("attr('email') == None", "attr('email').is_not_set()"),
    ),
    (
        "not-equals-none-suggests-is-set",
        lambda: attr("email") != None,  # noqa: E711
        ValueError,
        ("attr('email') != None", "attr('email').is_set()"),
    ),
    (
        "none-in-a-model-is-one-error",
        lambda: ss.Segment("S", {"kind": "compare", "attribute": "e", "op": "==", "value": None}),
        ValidationError,
        ("1 validation error", "is_not_set()"),
    ),
    (
        "chained-comparison",
        lambda: 1 <= attr("x") <= 5,
        TypeError,
        ("x >= 1", "no truth value", "between(low, high)"),
    ),
    (
        "python-and",
        lambda: (attr("a") == 1) and (attr("b") == 2),
        TypeError,
        ("a == 1", "all_of/any_of/not_"),
    ),
    (
        "python-not",
        lambda: not (attr("a") == 1),  # noqa: SIM201 - the mistake under test
        TypeError,
        ("a == 1", "all_of/any_of/not_"),
    ),
    ("attribute-truth", lambda: bool(attr("vip")), TypeError, ("attr('vip')", "is_set()")),
]


@pytest.mark.parametrize(
    ("action", "error", "culprits"),
    [c[1:] for c in CONDITION_CASES],
    ids=[c[0] for c in CONDITION_CASES],
)
def test_bad_conditions(
    action: Callable[[], Any], error: type[BaseException], culprits: tuple[str, ...]
) -> None:
    check(action, error, culprits)


# -- segments --------------------------------------------------------------------------------------


def segment_events(
    segments: list[ss.Segment], start: str = "2026-01-01", end: str = "2026-02-01"
) -> Callable[[], Any]:
    return lambda: ss.segment_events(make_store([(1, 1, "plan", "pro")]), segments, start, end)


SEGMENT_CASES = [
    (
        "blank-name",
        lambda: ss.Segment("  ", attr("plan") == "pro"),
        ValidationError,
        ("name", "blank"),
    ),
    (
        "duplicate-names",
        segment_events([PRO, ss.Segment("Pro", attr("plan") == "free")]),
        ss.SegmentError,
        ("'Pro'", "unique"),
    ),
    (
        "self-reference",
        segment_events([ss.Segment("Loop", in_segment("Loop"))]),
        ss.SegsimError,
        ("'Loop' -> 'Loop'",),
    ),
    (
        "reference-cycle",
        segment_events([ss.Segment("A", in_segment("B")), ss.Segment("B", in_segment("A"))]),
        ss.SegsimError,
        ("cycle", "'A'", "'B'"),
    ),
    (
        "unknown-attribute",
        segment_events([ss.Segment("VIP", attr("plna") == "pro")]),
        ss.ConditionError,
        ("'plna'", "'VIP'", "did you mean 'plan'"),
    ),
    (
        "window-backwards",
        segment_events([PRO], start="2026-02-01", end="2026-01-01"),
        ValueError,
        ("start", "end"),
    ),
    ("window-year-10000", segment_events([PRO], end="10000-01-01"), ValueError, ("10000-01-01",)),
]


@pytest.mark.parametrize(
    ("action", "error", "culprits"),
    [c[1:] for c in SEGMENT_CASES],
    ids=[c[0] for c in SEGMENT_CASES],
)
def test_bad_segments(
    action: Callable[[], Any], error: type[BaseException], culprits: tuple[str, ...]
) -> None:
    check(action, error, culprits)


# -- flows -----------------------------------------------------------------------------------------

FLOW_CASES = [
    ("zero-wait", lambda: ss.Wait("w1", "0s"), ValidationError, ("'w1'", "positive")),
    (
        "negative-wait",
        lambda: ss.Wait("w1", dt.timedelta(days=-1)),
        ValidationError,
        ("duration", "'w1'", "must be positive"),
    ),
    (
        "wait-beyond-timedelta",
        lambda: ss.Wait("w1", "2000000000w"),
        ValidationError,
        ("duration", "too long"),
    ),
    (
        "duplicate-step-ids-nested",
        lambda: ss.Flow(
            "F",
            steps=[
                ss.Wait("w1", "1d"),
                ss.Branch("b", when=attr("vip") == True, then=[ss.Wait("w1", "2d")]),
            ],
        ),
        ValidationError,
        ("'w1'", "steps[0]", "steps[1].then[0]"),
    ),
    (
        "webhook-url",
        lambda: ss.Webhook("h1", url="ftp://example.com"),
        ValidationError,
        ("'h1'", "ftp://"),
    ),
    (
        "webhook-method",
        lambda: ss.Webhook("h1", url="https://x.io", method="FETCH"),
        ValidationError,
        ("method", "'FETCH'"),
    ),
    (
        "update-sets-nothing",
        lambda: ss.UpdateContact("u1", set={}),
        ValidationError,
        ("'u1'", "sets nothing"),
    ),
    (
        "update-to-infinity",
        lambda: ss.UpdateContact("u1", set={"ltv": 1e400}),
        ValidationError,
        ("set.ltv", "finite"),
    ),
    (
        "trigger-direction",
        lambda: ss.SegmentTrigger("VIP", on="enters"),
        ValidationError,
        ("on", "'enters'"),
    ),
    ("empty-flow-name", lambda: ss.Flow(""), ValidationError, ("name",)),
    ("version-zero", lambda: ss.Flow("F", version=0), ValidationError, ("version",)),
    ("negative-cost", lambda: ss.Channels(cost_sms=-0.05), ValidationError, ("cost_sms",)),
    (
        "infinite-cost",
        lambda: ss.Channels(cost_email=float("inf")),
        ValidationError,
        ("cost_email", "finite"),
    ),
    (
        "negative-reentry-wait",
        lambda: ss.ActivationSettings(reentry_wait="-1d"),
        ValidationError,
        ("reentry_wait", "'-1d'"),
    ),
    (
        "unknown-on-pause",
        lambda: ss.ActivationSettings(on_pause="stop"),
        ValidationError,
        ("on_pause", "'stop'"),
    ),
    ("typo-in-keyword", lambda: ss.SendEmail("e1", templat="hi"), ValidationError, ("templat",)),
    (
        "too-many-positional",
        lambda: ss.SendEmail("e1", "hi"),
        TypeError,
        ("SendEmail", "positionally"),
    ),
    (
        "pause-year-10000",
        lambda: ss.Pause("F", at="10000-01-01"),
        ValidationError,
        ("at", "10000-01-01"),
    ),
    ("pause-at-a-number", lambda: ss.Pause("F", at=1e20), ValidationError, ("at", "1e+20")),
    (
        "edit-renames-flow",
        lambda: ss.Edit("Welcome", at="2026-01-05", flow=ss.Flow("Other")),
        ValidationError,
        ("'Welcome'", "'Other'"),
    ),
]


@pytest.mark.parametrize(
    ("action", "error", "culprits"), [c[1:] for c in FLOW_CASES], ids=[c[0] for c in FLOW_CASES]
)
def test_bad_flows(
    action: Callable[[], Any], error: type[BaseException], culprits: tuple[str, ...]
) -> None:
    check(action, error, culprits)


def test_a_channel_attribute_missing_from_the_data_is_named() -> None:
    # the data calls email consent "email_opt_in"; the default channels expect
    # "email_subscribed": every email would be skipped (unsubscribed) without a word
    store = make_store(
        [
            (1, -5, "plan", "free"),
            (1, 2, "plan", "pro"),
            (1, -5, "email", "a@example.com"),
            (1, -5, "email_opt_in", True),
        ]
    )
    built = ss.Scenario(store, segments=[PRO], flows=[welcome()], start=day(0), end=day(10))
    check(
        lambda: ss.simulate(built, progress=False),
        ss.ScenarioError,
        ("'email_subscribed'", "not in the data", "'e1'", "did you mean 'email_opt_in'?"),
    )
    fixed = built.replace(channels=ss.Channels(email_consent="email_opt_in"))
    assert list(ss.simulate(fixed, progress=False).actions["status"]) == ["sent"]


def test_a_channel_attribute_only_a_flow_sets_is_a_warning() -> None:
    store = make_store(
        [(1, -5, "plan", "free"), (1, 2, "plan", "pro"), (1, -5, "email", "a@example.com")]
    )
    opt_in = welcome(
        steps=[
            ss.UpdateContact("u1", set={"email_subscribed": True}),
            ss.SendEmail("e1", template="hi"),
        ]
    )
    built = ss.Scenario(store, segments=[PRO], flows=[opt_in], start=day(0), end=day(10))
    with pytest.warns(ss.SegsimWarning, match=r"'email_subscribed' is not in the data.*'u1'"):
        result = ss.simulate(built, progress=False)
    # the flow sets it before sending: the email goes out
    assert list(result.actions["status"]) == ["applied", "sent"]


def test_an_unknown_list_is_named_by_validate_simulate_and_members() -> None:
    # a list nothing knows is empty, so in_list of it is never true: most often a typo
    store = make_store([(1, -5, "plan", "pro")])
    store.load_lists(
        pd.DataFrame({"contact_id": [1], "ts": [day(-5)], "list": ["newsletter"], "member": [True]})
    )
    typo = ss.Segment("Readers", ss.in_list("newsleter"))
    flow = ss.Flow("Welcome", trigger=ss.SegmentTrigger("Readers"), steps=[ss.Wait("w1", "1d")])
    built = ss.Scenario(store, segments=[typo], flows=[flow], start=day(0), end=day(10))
    expected = (
        "in_list('newsleter') in segment 'Readers': no list history has it and no flow step "
        "changes it, so it is never true; did you mean 'newsletter'?"
    )
    assert check_scenario(built) == ([], [expected])
    with pytest.warns(ss.SegsimWarning, match=r"in_list\('newsleter'\) in segment 'Readers'"):
        ss.simulate(built, progress=False)
    with pytest.warns(ss.SegsimWarning, match=r"did you mean 'newsletter'"):
        ss.members(store, typo, at=day(1))
    # a list a flow step adds to is known, even with no history
    adds = flow.replace(trigger=ss.SegmentTrigger("Pro"), steps=[ss.AddToList("l1", "newsleter")])
    known = built.replace(segments=[typo, PRO], flows=[adds])
    assert check_scenario(known) == ([], [])


def test_a_flow_without_steps_is_valid_and_completes_at_once() -> None:
    # not bad input: an empty flow is a valid (if useless) flow; its runs complete on entry
    result = simulate(flows=[welcome(steps=[])])()
    assert [
        (r.entry, r.end_reason, r.entered_at == r.ended_at) for r in result.runs.itertuples()
    ] == [("first", "completed", True)]


# -- scenarios -------------------------------------------------------------------------------------

SCENARIO_CASES = [
    (
        "unknown-trigger-segment",
        scenario(flows=[welcome(trigger=ss.SegmentTrigger("VPI"))]),
        ValidationError,
        ("flows.0.trigger.segment", "'VPI'", "known: 'Pro'"),
    ),
    (
        "unknown-exit-segment",
        scenario(
            flows=[
                welcome(settings=ss.ActivationSettings(exit_conditions=[ss.ExitsSegment("Gone")]))
            ]
        ),
        ValidationError,
        ("exit_conditions", "'Gone'"),
    ),
    (
        "end-before-start",
        scenario(start="2026-02-01", end="2026-01-01"),
        ValidationError,
        ("end", "start"),
    ),
    ("end-year-10000", scenario(end="10000-01-01"), ValidationError, ("end", "10000-01-01")),
    # window dates are ISO 8601 only: day-first and month-first forms are ambiguous
    ("start-slashed", scenario(start="02/03/2026"), ValidationError, ("start", "ISO 8601")),
    ("start-day-first", scenario(start="13/02/2026"), ValidationError, ("start", "ISO 8601")),
    ("start-dotted", scenario(start="03.02.2026"), ValidationError, ("start", "ISO 8601")),
    (
        "pause-at-not-iso",
        lambda: ss.Pause("Welcome", at="2/10/2026"),
        ValidationError,
        ("'2/10/2026'", "ISO 8601"),
    ),
    (
        "start-invalid-date",
        scenario(start="2026-02-30"),
        ValidationError,
        ("start", "not a valid date"),
    ),
    (
        "duplicate-flow-names",
        scenario(flows=[welcome(), welcome()]),
        ValidationError,
        ("'Welcome'", "unique"),
    ),
    (
        "resume-without-pause",
        scenario(schedule=[ss.Resume("Welcome", at="2026-01-10")]),
        ValidationError,
        ("schedule.0", "'Welcome'", "Resume without a Pause"),
    ),
    (
        "schedule-outside-window",
        scenario(schedule=[ss.Pause("Welcome", at="2027-01-01")]),
        ValidationError,
        ("schedule.0.at", "outside"),
    ),
    (
        "schedule-unknown-flow",
        scenario(schedule=[ss.Pause("Welcom", at="2026-01-10")]),
        ValidationError,
        ("'Welcom'", "did you mean 'Welcome'"),
    ),
    (
        "store-and-data",
        lambda: ss.Scenario(
            ss.Store(),
            data=ss.scenario.DemoSource(),
            segments=[],
            flows=[],
            start="2026-01-01",
            end="2026-02-01",
        ),
        ss.ScenarioError,
        ("data",),
    ),
    (
        "no-data",
        lambda: ss.Scenario(segments=[], flows=[], start="2026-01-01", end="2026-02-01").store,
        ss.ScenarioError,
        ("no contact data",),
    ),
    (
        "draft-flow-active",
        simulate(flows=[ss.Flow("Draft", steps=[ss.SendEmail("e1", template="hi")])]),
        ss.FlowNotReady,
        ("'Draft'", "trigger"),
    ),
    (
        "update-clashes-with-stored-type",
        simulate(flows=[welcome(steps=[ss.UpdateContact("u1", set={"plan": 3})])]),
        ss.ScenarioError,
        ("'u1'", "'plan'", "string"),
    ),
    (
        "consent-attribute-not-boolean",
        simulate(consent="string"),
        ss.ScenarioError,
        ("email_subscribed", "boolean"),
    ),
    (
        "branch-on-unknown-attribute",
        simulate(flows=[welcome(steps=[ss.Branch("b1", when=attr("tierr") == "gold")])]),
        ss.ConditionError,
        ("'tierr'", "'Welcome'", "'b1'"),
    ),
    (
        "filter-type-mismatch",
        simulate(flows=[welcome(trigger=ss.SegmentTrigger("Pro", filters=attr("plan") > 3))]),
        ss.ConditionError,
        ("'plan'", "'Welcome'", "filters"),
    ),
]


@pytest.mark.parametrize(
    ("action", "error", "culprits"),
    [c[1:] for c in SCENARIO_CASES],
    ids=[c[0] for c in SCENARIO_CASES],
)
def test_bad_scenarios(
    action: Callable[[], Any], error: type[BaseException], culprits: tuple[str, ...]
) -> None:
    check(action, error, culprits)


# -- YAML files ------------------------------------------------------------------------------------

GOOD_YAML = """\
data: {kind: csv, path: contacts.csv}
start: 2026-01-01
end: 2026-02-01
segments:
  - name: VIP
    where: {kind: compare, attribute: plan, op: "==", value: pro}
flows:
  - name: Welcome
    trigger: {segment: VIP}
    steps:
      - {kind: send_email, id: e1, template: welcome}
      - {kind: wait, id: w1, duration: 2d}
"""
CONTACTS_CSV = "contact_id,ts,attribute,value\n1,2025-12-01,plan,free\n1,2026-01-05,plan,pro\n"

YAML_CASES = [
    # (id, edit of GOOD_YAML, error, culprits in the message besides the file name)
    ("malformed", ("segments:", "segments: ["), ("malformed YAML", "line 5")),
    ("tab-indent", ("  - name: VIP", "\t- name: VIP"), ("malformed YAML", "line 5")),
    (
        "unknown-segment",
        ("trigger: {segment: VIP}", "trigger: {segment: VPI}"),
        ("flows[0].trigger.segment", "did you mean 'VIP'", "line 9"),
    ),
    (
        "bad-duration",
        ("duration: 2d", "duration: 2 fortnights"),
        ("flows[0].steps[1].duration", "'2 fortnights'", "unknown unit", "line 12"),
    ),
    (
        "negative-duration",
        ("duration: 2d", "duration: -2d"),
        ("flows[0].steps[1].duration", "'-2d'"),
    ),
    (
        "zero-wait",
        ("duration: 2d", "duration: 0s"),
        ("flows[0].steps[1].duration", "'w1'", "positive"),
    ),
    ("duplicate-step-id", ("id: w1", "id: e1"), ("flows[0].steps[1].id", "'e1'", "line 12")),
    ("unknown-step-kind", ("kind: wait", "kind: sleep"), ("flows[0].steps[1]", "'sleep'")),
    (
        "unknown-key",
        ("trigger: {segment: VIP}", "trigger: {segment: VIP, when: now}"),
        ("flows[0].trigger.when",),
    ),
    ("end-year-10000", ("end: 2026-02-01", "end: 10000-01-01"), ("end:", "10000-01-01", "line 3")),
    ("end-a-number", ("end: 2026-02-01", "end: 1e20"), ("end:", "1e20", "line 3")),
    (
        "steps-not-a-list",
        (
            "    steps:\n      - {kind: send_email, id: e1, template: welcome}\n"
            "      - {kind: wait, id: w1, duration: 2d}\n",
            "    steps: 5\n",
        ),
        ("flows[0].steps",),
    ),
    (
        "yaml-1.1-boolean",
        ("trigger: {segment: VIP}", "trigger: {segment: VIP, on: yes}"),
        ("flows[0].trigger.on", "'enter' or 'exit'"),
    ),
    (
        "unknown-data-kind",
        ("{kind: csv, path: contacts.csv}", "{kind: excel, path: c.xlsx}"),
        ("data", "'excel'"),
    ),
    (
        "demo-of-zero-contacts",
        ("{kind: csv, path: contacts.csv}", "{kind: demo, contacts: 0}"),
        ("data.contacts",),
    ),
    (
        "duplicate-key",
        ("end: 2026-02-01\n", "end: 2026-02-01\nstart: 2026-01-02\n"),
        ("duplicate key 'start'", "line 4", "first at line 2"),
    ),
    (
        "duplicate-nested-key",
        ("duration: 2d}", "duration: 2d, duration: 3d}"),
        ("duplicate key 'duration'", "line 12"),
    ),
    (
        "huge-number",
        ('attribute: plan, op: "==", value: pro', 'attribute: plan, op: ">=", value: 1.0e+400'),
        ("segments[0].where", "finite"),
    ),
]


def write_yaml(tmp_path: Path, text: str, name: str = "scenario.yaml") -> Path:
    (tmp_path / "contacts.csv").write_text(CONTACTS_CSV)
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("edit", "culprits"), [c[1:] for c in YAML_CASES], ids=[c[0] for c in YAML_CASES]
)
def test_bad_yaml(tmp_path: Path, edit: tuple[str, str], culprits: tuple[str, ...]) -> None:
    old, new = edit
    assert old in GOOD_YAML
    path = write_yaml(tmp_path, GOOD_YAML.replace(old, new))
    check(lambda: ss.load_scenario(path), ss.ScenarioError, (str(path), *culprits))


def test_bad_yaml_files(tmp_path: Path) -> None:
    check(
        lambda: ss.load_scenario(tmp_path / "nope.yaml"),
        ss.ScenarioError,
        ("nope.yaml", "cannot read"),
    )
    check(
        lambda: ss.load_scenario(write_yaml(tmp_path, "", "empty.yaml")),
        ss.ScenarioError,
        ("empty.yaml", "empty"),
    )
    check(
        lambda: ss.load_scenario(write_yaml(tmp_path, "- a\n- b\n", "list.yaml")),
        ss.ScenarioError,
        ("list.yaml", "mapping"),
    )
    binary = tmp_path / "binary.yaml"
    binary.write_bytes(b"\xff\xfe\x00 not text")
    check(lambda: ss.load_scenario(binary), ss.ScenarioError, ("binary.yaml", "utf-8"))
    check(
        lambda: ss.load_scenario(
            write_yaml(tmp_path, GOOD_YAML.replace("contacts.csv", "nope.csv"), "a.yaml")
        ),
        ss.DataLoadError,
        ("a.yaml", "data", "nope.csv", "does not exist"),
    )
    (tmp_path / "bad.csv").write_text("contact_id,ts,attribute,value\n1,not-a-date,plan,pro\n")
    check(
        lambda: ss.load_scenario(
            write_yaml(tmp_path, GOOD_YAML.replace("contacts.csv", "bad.csv"), "b.yaml")
        ),
        ss.DataLoadError,
        ("b.yaml", "bad.csv", "'ts'", "line 2", "not-a-date"),
    )
    check(
        lambda: ss.load_scenario(
            write_yaml(
                tmp_path,
                GOOD_YAML.replace(
                    "{kind: csv, path: contacts.csv}", "{kind: duckdb, path: nope.duckdb}"
                ),
                "c.yaml",
            )
        ),
        ss.SegsimError,
        ("c.yaml", "nope.duckdb", "does not exist"),
    )


def test_yaml_that_does_not_fit_its_data_fails_at_simulation(tmp_path: Path) -> None:
    path = write_yaml(tmp_path, GOOD_YAML.replace("attribute: plan", "attribute: plna"))
    loaded = ss.load_scenario(path)
    check(
        lambda: ss.simulate(loaded, progress=False),
        ss.ConditionError,
        ("'plna'", "did you mean 'plan'", "'VIP'"),
    )


# -- the command line --------------------------------------------------------------------------------


CLI_CASES = [
    # (id, arguments with {dir} for tmp_path, edit of GOOD_YAML or None, culprits in stderr)
    ("validate-missing-file", ["validate", "{dir}/nope.yaml"], None, ("nope.yaml", "cannot read")),
    (
        "validate-malformed",
        ["validate", "{dir}/scenario.yaml"],
        ("segments:", "segments: ["),
        ("malformed YAML",),
    ),
    (
        "validate-unknown-attribute",
        ["validate", "{dir}/scenario.yaml"],
        ("attribute: plan", "attribute: plna"),
        ("segments[0].where", "'plna'"),
    ),
    (
        "validate-segment-cycle",
        ["validate", "{dir}/scenario.yaml"],
        (
            '{kind: compare, attribute: plan, op: "==", value: pro}',
            "{kind: in_segment, segment: VIP}",
        ),
        ("cycle",),
    ),
    (
        "run-unknown-segment",
        ["run", "{dir}/scenario.yaml", "--out", "{dir}/out"],
        ("trigger: {segment: VIP}", "trigger: {segment: VPI}"),
        ("flows[0].trigger.segment", "'VPI'"),
    ),
    (
        "run-type-mismatch",
        ["run", "{dir}/scenario.yaml", "--out", "{dir}/out"],
        ("value: pro}", "value: 3}"),
        ("'plan'", "'VIP'"),
    ),
    (
        "run-missing-data",
        ["run", "{dir}/scenario.yaml", "--out", "{dir}/out"],
        ("contacts.csv}", "gone.csv}"),
        ("gone.csv",),
    ),
    (
        "demo-zero-contacts",
        ["demo", "--contacts", "0", "--out", "{dir}/demo"],
        None,
        ("--contacts",),
    ),
]


@pytest.mark.parametrize(
    ("args", "edit", "culprits"), [c[1:] for c in CLI_CASES], ids=[c[0] for c in CLI_CASES]
)
def test_bad_command_lines(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    edit: tuple[str, str] | None,
    culprits: tuple[str, ...],
) -> None:
    text = GOOD_YAML if edit is None else GOOD_YAML.replace(*edit)
    write_yaml(tmp_path, text)
    code = main(
        [a.format(dir=tmp_path) for a in args]
        + (["--no-progress"] if args[0] in ("run", "demo") else [])
    )
    captured = capsys.readouterr()
    assert code == 1, captured
    for culprit in culprits:
        assert culprit in captured.err, (culprit, captured.err)
    assert "Traceback" not in captured.err
    if args[0] != "validate":  # validate lists the problems; the others report one error
        assert captured.err.startswith("segsim: error: "), captured.err


# -- unicode names work and round-trip ---------------------------------------------------------------


def test_unicode_names_are_accepted_and_round_trip(tmp_path: Path) -> None:
    store = ss.Store(tmp_path / "ünïcode.duckdb")
    store.load_attributes(
        pd.DataFrame(
            {
                "contact_id": ["zoë", "zoë", "Ωmega 🚀", "zoë", "zoë"],
                "ts": ["2025-12-01", "2026-01-03", "2026-01-04", "2025-12-01", "2025-12-01"],
                "attribute": ["forfait €", "forfait €", "forfait €", "courriel ✉", "abonné ✓"],
                "value": ["gratuit", "prö 🎉", "prö 🎉", "zoë@exemple.fr", True],
            }
        )
    )
    store.load_lists(
        pd.DataFrame(
            {"contact_id": ["zoë"], "ts": ["2025-12-01"], "list": ["liste ✓"], "member": [True]}
        )
    )
    segment = ss.Segment(
        "Très VIP 🎉", all_of(attr("forfait €") == "prö 🎉", ss.in_list("liste ✓"))
    )
    flow = ss.Flow(
        "Bienvenue ✓",
        trigger=ss.SegmentTrigger("Très VIP 🎉"),
        steps=[
            ss.SendEmail("é1", template="modèle ✉"),
            ss.AddToList("ajout→", "nouvelle liste ✓"),
            ss.UpdateContact("mise-à-jour", set={"niveau ★": "or"}),
        ],
    )
    built = ss.Scenario(
        store,
        segments=[segment],
        flows=[flow],
        start="2026-01-01",
        end="2026-02-01",
        channels=ss.Channels(email_address="courriel ✉", email_consent="abonné ✓"),
    )
    result = ss.simulate(built, progress=False)
    assert list(result.runs["contact_id"]) == ["zoë"]
    assert list(result.actions["step_id"]) == ["é1", "ajout→", "mise-à-jour"]
    assert result.actions["template"].iloc[0] == "modèle ✉"
    assert result.actions["status"].iloc[0] == "sent"  # by the channel's unicode attributes
    assert set(result.segment_events["segment"]) == {"Très VIP 🎉"}
    assert set(store.attribute_types) == {"forfait €", "courriel ✉", "abonné ✓"}
    # the models round-trip through YAML, names intact
    text = ss.scenario.scenario_to_yaml(built)
    assert "Très VIP 🎉" in text and "Bienvenue ✓" in text
    path = tmp_path / "scénario.yaml"
    store.close()
    path.write_text(
        text.replace("data: null", f"data: {{kind: duckdb, path: {tmp_path / 'ünïcode.duckdb'}}}"),
        encoding="utf-8",
    )
    loaded = ss.load_scenario(path)
    assert loaded.flows == built.flows and loaded.segments == built.segments
    again = ss.simulate(loaded, progress=False)
    assert again.actions.equals(result.actions)


def test_unicode_names_in_errors_are_quoted_not_mangled() -> None:
    flow = ss.Flow("Flüß", trigger=ss.SegmentTrigger("Prö"), steps=[])
    check(
        scenario(segments=[ss.Segment("Pro", attr("plan") == "pro")], flows=[flow]),
        ValidationError,
        ("'Prö'", "'Flüß'", "did you mean 'Pro'"),
    )
