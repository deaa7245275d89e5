"""Tests of Store.load_events and the event read side (events, catalogs, history)."""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pytest

from segsim import schema
from segsim.errors import DataLoadError
from segsim.store import Store

_TABLES = (
    schema.CHANGES,
    schema.LIST_CHANGES,
    schema.ATTRIBUTES,
    schema.META,
    schema.EVENTS,
    schema.EVENT_PROPERTIES,
)


def ts(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


def events(**columns: list) -> pd.DataFrame:
    data = {
        "contact_id": [1, 1, 2],
        "ts": ["2026-01-01 10:00", "2026-01-01 10:00", "2026-01-02"],
        "event": ["purchase", "purchase", "purchase"],
        "amount": ["12.5", "12.5", "3"],
        "category": ["jazz", "jazz", None],
    }
    data.update(columns)
    return pd.DataFrame(data)


def snapshot(store: Store) -> dict:
    present = {
        r[0]
        for r in store.con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'"
        ).fetchall()
    }
    tables = {
        t: store.con.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall()
        for t in _TABLES
        if t in present
    }
    if schema.EVENTS in present:
        tables["columns"] = [
            r[0] for r in store.con.execute(f"DESCRIBE {schema.EVENTS}").fetchall()
        ]
    return tables


@pytest.fixture
def store() -> Store:
    store = Store()
    store.load_attributes(
        pd.DataFrame(
            {
                "contact_id": [1, 2],
                "ts": ["2026-01-01"] * 2,
                "attribute": ["plan"] * 2,
                "value": ["free", "pro"],
            }
        )
    )
    store.load_events(events())
    return store


def rejected(store: Store, data, match: str, **kwargs) -> None:
    before = snapshot(store)
    with pytest.raises(DataLoadError, match=match):
        store.load_events(data, **kwargs)
    assert snapshot(store) == before


# -- loading -----------------------------------------------------------------------------------


def test_every_row_is_one_occurrence(store):
    frame = store.events
    assert list(frame.columns) == ["contact_id", "ts", "event", "event_id", "amount", "category"]
    assert list(frame.itertuples(index=False, name=None)) == [
        (1, ts("2026-01-01 10:00"), "purchase", None, 12.5, "jazz"),
        (1, ts("2026-01-01 10:00"), "purchase", None, 12.5, "jazz"),
        (2, ts("2026-01-02"), "purchase", None, 3.0, None),
    ]
    assert str(frame["ts"].dtype) == "datetime64[us, UTC]"
    assert frame["amount"].dtype == "float64"
    # loading the same rows again adds the same occurrences again: no event_id, no identity
    assert store.load_events(events()) == 3
    assert len(store.events) == 6


def test_catalogs(store):
    assert store.event_names == ["purchase"]
    assert store.event_property_types == {"amount": "number", "category": "string"}
    assert store.event_catalog.to_dict("records") == [
        {
            "name": "purchase",
            "occurrences": 3,
            "contacts": 2,
            "first_ts": ts("2026-01-01 10:00"),
            "last_ts": ts("2026-01-02"),
        }
    ]


def test_table_layout_is_the_schema(store):
    columns = store.con.execute(f"DESCRIBE {schema.EVENTS}").fetchall()
    assert [(c[0], c[1]) for c in columns] == [
        ("contact_id", "BIGINT"),
        ("ts", "TIMESTAMP"),
        ("event", "VARCHAR"),
        ("seq", "BIGINT"),
        ("event_id", "VARCHAR"),
        (schema.property_column("amount"), schema.SQL_TYPE["number"]),
        (schema.property_column("category"), schema.SQL_TYPE["string"]),
    ]
    assert store.con.execute(f"SELECT seq FROM {schema.EVENTS} ORDER BY seq").fetchall() == [
        (0,),
        (1,),
        (2,),
    ]
    store.load_events(events(event=["view"] * 3))
    seqs = [
        r[0] for r in store.con.execute(f"SELECT seq FROM {schema.EVENTS} ORDER BY seq").fetchall()
    ]
    assert seqs == [0, 1, 2, 3, 4, 5]


def test_properties_typed_by_name_across_events_and_loads(store):
    later = pd.DataFrame(
        {
            "contact_id": [2],
            "ts": ["2026-01-03"],
            "event": ["refund"],
            "amount": [4.0],  # a native number now: the stored type holds
            "reason": ["damaged"],
        }
    )
    assert store.load_events(later) == 1
    assert store.event_property_types == {
        "amount": "number",
        "category": "string",
        "reason": "string",
    }
    frame = store.events
    assert frame["reason"].tolist() == [None, None, None, "damaged"]
    assert frame["amount"].tolist() == [12.5, 12.5, 3.0, 4.0]


def test_declared_properties():
    store = Store()
    frame = events(category=["1", "2", "3"])
    store.load_events(frame, properties={"category": "string"})
    assert store.event_property_types == {"amount": "number", "category": "string"}
    assert store.events["category"].tolist() == ["1", "2", "3"]


def test_column_mapping():
    store = Store()
    frame = events().rename(columns={"contact_id": "user", "ts": "time", "event": "name"})
    assert (
        store.load_events(frame, columns={"contact_id": "user", "ts": "time", "event": "name"}) == 3
    )
    assert store.event_names == ["purchase"]


@pytest.mark.parametrize("kind", ["csv", "parquet"])
def test_files_give_the_same_events(kind, tmp_path, store):
    path = tmp_path / f"events.{kind}"
    frame = events(
        ts=pd.to_datetime(["2026-01-01 10:00", "2026-01-01 10:00", "2026-01-02 00:00"], utc=True)
    )
    if kind == "csv":
        frame.to_csv(path, index=False)
    else:
        frame.to_parquet(path)
    other = Store()
    other.load_attributes(
        pd.DataFrame(
            {
                "contact_id": [1, 2],
                "ts": ["2026-01-01"] * 2,
                "attribute": ["plan"] * 2,
                "value": ["free", "pro"],
            }
        )
    )
    other.load_events(path)
    pd.testing.assert_frame_equal(other.events, store.events)
    assert other.event_property_types == store.event_property_types


def test_an_events_only_store_fixes_the_id_type():
    store = Store()
    store.load_events(events(contact_id=["a", "b", "a"]))
    assert store.id_type == "string"
    assert store.attribute_types == {}
    assert store.contacts["contact_id"].tolist() == ["a", "b"]
    with pytest.raises(DataLoadError, match="contact ids in the in-memory store are strings"):
        store.load_attributes(
            pd.DataFrame(
                {"contact_id": [1], "ts": ["2026-01-01"], "attribute": ["x"], "value": ["y"]}
            )
        )


def test_contacts_and_history_include_events(store):
    assert store.contacts["changes"].tolist() == [3, 2]
    history = store.history(1)
    assert list(history.itertuples(index=False, name=None)) == [
        (ts("2026-01-01"), "plan", "free", "string"),
        (ts("2026-01-01 10:00"), "purchase", {"amount": 12.5, "category": "jazz"}, "event"),
        (ts("2026-01-01 10:00"), "purchase", {"amount": 12.5, "category": "jazz"}, "event"),
    ]
    assert store.history(2)["value"].tolist()[1] == {"amount": 3.0}


# -- event ids -----------------------------------------------------------------------------------


def test_event_ids_make_loads_idempotent():
    store = Store()
    frame = events(event_id=["a", "b", "c"])
    assert store.load_events(frame) == 3
    assert store.load_events(frame) == 0
    more = events(event_id=["c", "d", None], contact_id=[2, 1, 1])
    more.loc[0, ["contact_id", "ts", "amount", "category"]] = [2, "2026-01-02", "3", None]
    assert store.load_events(more) == 2  # 'c' is known; a row without an id is new
    # time order, then load order: 'c' (first load) before the row without an id
    assert store.events["event_id"].tolist() == ["a", "b", "d", "c", None]


def test_an_event_id_repeated_within_a_load_is_one_occurrence():
    store = Store()
    frame = events(event_id=["a", "a", "b"])
    assert store.load_events(frame) == 2
    assert store.events["event_id"].tolist() == ["a", "b"]


def test_integer_event_ids_are_stored_as_text():
    store = Store()
    store.load_events(events(event_id=[10, 11, 12]))
    assert store.events["event_id"].tolist() == ["10", "11", "12"]
    assert store.load_events(events(event_id=["10", "11", "12"])) == 0


def test_an_event_id_for_another_occurrence_in_the_store_is_refused():
    store = Store()
    store.load_events(events(event_id=["a", "b", "c"]))
    changed = events(event_id=["a", "b", "c"], amount=["12.5", "99", "3"])
    rejected(
        store,
        changed,
        r"column 'event_id', row with index 1: event id 'b' is already stored for a different "
        r"occurrence: amount 12\.5 in the store, amount 99\.0 in this row",
    )


def test_an_event_id_for_two_occurrences_of_one_load_is_refused():
    store = Store()
    rejected(
        store,
        events(event_id=["a", "b", "a"]),
        r"row with index 0: event id 'a' names two different occurrences: contact_id 1 here and "
        r"contact_id 2 at row with index 2",
    )


# -- bad input: clear errors, store unchanged ------------------------------------------------------


def test_missing_event_column(store):
    rejected(store, events().drop(columns="event"), r"missing column 'event'")


def test_missing_event_name(store):
    rejected(
        store,
        events(event=["purchase", None, "x"]),
        r"column 'event', row with index 1: event name is missing",
    )


def test_bad_timestamp(store):
    rejected(
        store,
        events(ts=["2026-01-01", "soon", "2026-01-02"]),
        r"column 'ts', row with index 1: cannot read 'soon' as a timestamp",
    )


def test_property_value_of_the_wrong_type(store):
    rejected(
        store,
        events(amount=["1", "lots", "2"]),
        r"column 'amount', row with index 1: property 'amount' is number, but value 'lots' does not read as number",
    )


def test_new_property_mixing_types_leaves_no_column(store):
    rejected(
        store,
        events(color=[1, True, None]),
        r"column 'color', row with index 0: property 'color' mixes types: number 1 and, at row with index 1, boolean True; declare its type with properties=",
    )
    assert "color" not in store.event_property_types


def test_property_named_like_a_field(store):
    frame = events().rename(columns={"ts": "time"}).assign(ts=["x", "y", "z"])
    rejected(store, frame, r"column 'ts': a property cannot be named 'ts'", columns={"ts": "time"})


def test_properties_differing_only_by_case(store):
    # 'amount' is stored: a new 'Amount' clashes with it in the store's case-insensitive columns
    rejected(
        store,
        events().rename(columns={"amount": "Amount"}),
        r"column 'Amount': property 'Amount' differs from property 'amount' only by case",
    )
    rejected(store, events(Amount=[1, 2, 3]), r"differs from property '[Aa]mount' only by case")


def test_declared_type_against_the_stored_one(store):
    with pytest.raises(DataLoadError, match=r"property 'amount' is already stored as number"):
        store.load_events(events(), properties={"amount": "string"})


def test_string_ids_into_an_integer_store(store):
    rejected(
        store,
        events(contact_id=["a", "b", "c"]),
        r"contact ids in the in-memory store are integers",
    )


def test_a_failed_first_event_load_creates_nothing():
    store = Store()
    with pytest.raises(DataLoadError):
        store.load_events(events(amount=["1", "2", "lots"]), properties={"amount": "number"})
    assert snapshot(store) == {}
    assert store.id_type is None and store.event_names == []


def test_unsupported_property_value(store):
    rejected(
        store,
        events(tags=[["a"], None, None]),
        r"column 'tags', row with index 0: unsupported value \['a'\] of type list",
    )


def test_infinite_amount(store):
    rejected(
        store, events(amount=[np.inf, 1.0, 2.0]), r"property 'amount': value inf is not finite"
    )


# -- stores written before events ----------------------------------------------------------------


def test_a_store_without_event_tables_opens_and_has_no_events(tmp_path):
    path = tmp_path / "old.duckdb"
    con = duckdb.connect(str(path))
    for statement in schema.create_statements("integer"):
        con.execute(statement)
    con.execute(
        f"INSERT INTO {schema.META} VALUES ('schema_version', ?), ('id_type', 'integer')",
        [schema.SCHEMA_VERSION],
    )
    con.execute(f"INSERT INTO {schema.ATTRIBUTES} VALUES ('plan', 'string')")
    con.execute(
        f"INSERT INTO {schema.CHANGES} VALUES (1, TIMESTAMP '2026-01-01', 'plan', 'pro', NULL, NULL, NULL)"
    )
    con.close()
    with Store(path, read_only=True) as store:
        assert store.event_names == []
        assert store.event_property_types == {}
        assert store.events.empty and list(store.events.columns) == [
            "contact_id",
            "ts",
            "event",
            "event_id",
        ]
        assert store.event_catalog.empty
        assert store.history(1)["type"].tolist() == ["string"]
        assert store.contacts["changes"].tolist() == [1]
    with Store(path) as store:
        assert store.load_events(events(contact_id=[1, 1, 1])) == 3
        assert store.event_names == ["purchase"]


def test_events_loaded_after_a_look_that_found_none_are_seen():
    """A store that was asked for events before it had any sees them once they are loaded
    (the guard against caching the tables' absence: a cache of it was tried, and was wrong)."""
    store = Store()
    store.load_attributes(
        pd.DataFrame(
            {"contact_id": [1], "ts": ["2026-01-01"], "attribute": ["plan"], "value": ["x"]}
        )
    )
    assert not store._has_events()
    assert store.event_names == []
    store.load_events(events())
    assert store._has_events()
    assert store.event_names == ["purchase"]
