"""Event conditions: models, builders, text form and round trips (docs/design.md §3.2)."""

from __future__ import annotations

import datetime as dt
import json

import pytest
import yaml
from pydantic import ValidationError

import segsim as ss
from segsim.conditions import AllOf, AnyOf, Not, attr, in_list, parse_condition
from segsim.event_conditions import (
    EventCount,
    EventExists,
    EventLastAt,
    EventSum,
    PropAllOf,
    PropCompare,
    PropNot,
    event,
    parse_prop_condition,
    prop,
)

CONDITIONS = [
    event("purchase").count(within="30d") >= 2,
    event("purchase").count() == 0,
    event("purchase", where=prop("category") == "jazz").exists(within="14d"),
    event(
        "purchase",
        where=((prop("amount") >= 50) & ~prop("coupon").is_set())
        | prop("category").isin(["a", "b"]),
    ).exists(),
    event("purchase").sum("amount", within="90d") >= 100.5,
    event("purchase").sum(prop("amount")) < 10,
    event("email_clicked").last_at().older_than("30d"),
    event("email_clicked", where=prop("url").contains("x")).last_at().within_last("2d"),
    event("page_view", where=prop("at") > dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)).exists(),
    ss.all_of(attr("plan") == "pro", event("purchase").exists()),
    (attr("plan") == "pro") & event("purchase").exists(),
    event("purchase").exists() | in_list("news"),
    ~event("purchase").exists(),
]


def test_public_names():
    assert ss.event is event and ss.prop is prop


@pytest.mark.parametrize("condition", CONDITIONS, ids=str)
def test_event_conditions_round_trip_through_dicts_json_and_yaml(condition):
    data = condition.model_dump(mode="json")
    assert parse_condition(data) == condition
    assert parse_condition(json.dumps(data)) == condition
    assert parse_condition(yaml.safe_load(yaml.safe_dump(data))) == condition
    assert ss.Segment("S", condition).model_dump(mode="json")["where"] == data


def test_builders_make_the_models():
    count = event("purchase").count(within="30d") >= 2
    assert count == EventCount(event="purchase", within=dt.timedelta(days=30), op=">=", value=2)
    assert event("purchase").exists() == EventExists(event="purchase")
    total = event("purchase").sum("amount") > 5
    assert total == EventSum(event="purchase", property="amount", op=">", value=5)
    last = event("open").last_at().within_last("1h")
    assert last == EventLastAt(event="open", test="within_last", duration=dt.timedelta(hours=1))


def test_combining_with_attribute_conditions_flattens_groups():
    a, e = attr("plan") == "pro", event("purchase").exists()
    assert isinstance(a & e, AllOf) and (a & e).conditions == (a, e)
    assert (e & a).conditions == (e, a)
    assert (a & e & in_list("x")).conditions == (a, e, in_list("x"))
    assert isinstance(e | a, AnyOf) and (a | e).conditions == (a, e)
    assert isinstance(~e, Not) and (~e).condition == e


def test_property_conditions_combine_among_themselves():
    p = (prop("a") == 1) & (prop("b") == 2) & (prop("c") == 3)
    assert isinstance(p, PropAllOf) and len(p.conditions) == 3
    assert isinstance(~p, PropNot)
    assert parse_prop_condition(p.model_dump(mode="json")) == p
    with pytest.raises(TypeError):
        _ = (prop("a") == 1) & (attr("b") == 2)


def test_text_forms():
    assert [str(c) for c in CONDITIONS[:8]] == [
        "count(purchase, within 30d) >= 2",
        "count(purchase) == 0",
        "exists(purchase where category == 'jazz', within 2w)",
        "exists(purchase where (amount >= 50 AND NOT coupon is_set) OR category isin ('a', 'b'))",
        "sum(purchase.amount, within 90d) >= 100.5",
        "sum(purchase.amount) < 10",
        "last_at(email_clicked) older_than 30d",
        "last_at(email_clicked where url contains 'x') within_last 2d",
    ]
    assert repr(event("purchase").count(within="1d")) == "count(purchase, within 1d)"
    assert repr(event("purchase").last_at()) == "last_at(purchase)"
    assert repr(event("p", where=prop("x") == 1)) == "event('p', where=x == 1)"


@pytest.mark.parametrize(
    "build, message",
    [
        (lambda: event("purchase").count(within="0d") >= 1, "positive"),
        (lambda: event("purchase").count() >= "2", "number"),
        (lambda: event("purchase").count() >= True, "number"),
        (lambda: event("purchase").count() >= float("nan"), "finite"),
        (lambda: event("purchase").last_at().older_than("-1d"), "negative"),
        (lambda: event("purchase", where=attr("x") == 1).exists(), "property condition"),
        (lambda: event("purchase", where=prop("x")).exists(), "alone is not a condition"),
        (lambda: event(""), "non-empty"),
        (lambda: prop("x") == None, "is_not_set"),  # noqa: E711
        (lambda: prop("x").isin("abc"), "collection"),
    ],
)
def test_bad_event_conditions_are_refused(build, message):
    with pytest.raises((ValueError, TypeError, ValidationError), match=message):
        build()


def test_an_event_condition_is_no_truth_value():
    with pytest.raises(TypeError, match="not a truth value"):
        bool(event("purchase").exists())
    with pytest.raises(TypeError, match="not a condition"):
        bool(event("purchase"))
    with pytest.raises(TypeError, match="property condition"):
        bool(prop("x") == 1)


def test_a_property_condition_alone_is_no_condition():
    with pytest.raises(ValidationError):
        parse_condition(PropCompare(property="x", op="==", value=1).model_dump())


def test_an_iso_looking_property_value_is_typed_by_the_property():
    from segsim.conditions import validate_condition
    from segsim.event_conditions import EventCatalog

    text = "2026-01-01T00:00:00Z"
    condition = event("signup", where=prop("code") == text).exists()
    assert condition.model_dump(mode="json")["where"]["value"] == text  # written back as given
    as_string = validate_condition(condition, {}, events=EventCatalog(None, {"code": "string"}))
    assert as_string.where.value == text and isinstance(as_string.where.value, str)
    as_instant = validate_condition(condition, {}, events=EventCatalog(None, {"code": "timestamp"}))
    assert as_instant.where.value == dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
