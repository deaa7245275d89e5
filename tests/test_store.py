"""Tests of segsim.store: loading attribute and list histories, and reading them back."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from segsim import schema
from segsim.errors import DataLoadError, ReadOnlyStoreError, SegsimError
from segsim.store import Store

UTC = dt.timezone.utc

_TABLES = (schema.CHANGES, schema.LIST_CHANGES, schema.ATTRIBUTES, schema.META)


def ts(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


def long(rows: list[tuple]) -> pd.DataFrame:
    """Attribute rows ``(contact_id, ts, attribute, value)`` as a long DataFrame."""
    return pd.DataFrame(rows, columns=["contact_id", "ts", "attribute", "value"])


def snapshot(store: Store) -> dict[str, list[tuple]]:
    """Every segsim table of ``store`` with all its rows, in a stable order."""
    present = {
        r[0]
        for r in store.con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'"
        ).fetchall()
    }
    return {
        table: store.con.execute(f"SELECT * FROM {table} ORDER BY ALL").fetchall()
        for table in _TABLES
        if table in present
    }


@pytest.fixture
def store() -> Store:
    """A store with string, number, boolean and timestamp attributes for contacts 1 and 2."""
    store = Store()
    store.load_attributes(
        long(
            [
                (1, "2026-01-01 09:00", "plan", "free"),
                (1, "2026-02-01 10:30", "plan", "pro"),
                (1, "2026-01-01 09:00", "ltv", 0),
                (1, "2026-02-01 10:30", "ltv", 49.5),
                (2, "2026-01-05 12:00", "plan", "free"),
                (2, "2026-01-05 12:00", "email_subscribed", True),
                (2, "2026-01-20 08:00", "email_subscribed", False),
                (2, "2026-01-05 12:00", "last_purchase_at", pd.Timestamp("2026-01-04 17:00")),
            ]
        )
    )
    store.load_lists(
        pd.DataFrame(
            {
                "contact_id": [1, 1],
                "ts": ["2026-01-10", "2026-03-01"],
                "list": ["newsletter", "newsletter"],
                "member": [True, False],
            }
        )
    )
    return store


def assert_rejected(store: Store, data, match: str, **kwargs) -> DataLoadError:
    """``load_attributes(data)`` raises a DataLoadError matching ``match`` and changes nothing."""
    before = snapshot(store)
    with pytest.raises(DataLoadError, match=match) as info:
        store.load_attributes(data, **kwargs)
    assert snapshot(store) == before
    return info.value


# -- opening stores ---------------------------------------------------------------------------


def test_in_memory_store_starts_empty():
    store = Store()
    assert store.path is None
    assert store.attribute_types == {}
    assert store.list_names == []
    assert store.contacts.empty
    assert store.attributes.empty
    assert "empty" in repr(store)


def test_file_store_persists_across_reopen(tmp_path):
    path = tmp_path / "store.duckdb"
    with Store(path) as store:
        store.load_attributes(long([(1, "2026-01-01", "plan", "free")]))
        store.load_lists(
            pd.DataFrame(
                {"contact_id": [1], "ts": ["2026-01-02"], "list": ["vip"], "member": [True]}
            )
        )
    with Store(path) as store:
        assert store.attribute_types == {"plan": "string"}
        assert store.list_names == ["vip"]
        assert store.state_at("2026-06-01")["plan"].tolist() == ["free"]
        assert store.load_attributes(long([(1, "2026-02-01", "plan", "pro")])) == 1
    with Store(path) as store:
        assert store.history(1)["value"].tolist() == ["free", True, "pro"]


def test_read_only_store_never_writes(tmp_path):
    path = tmp_path / "store.duckdb"
    with Store(path) as store:
        store.load_attributes(long([(1, "2026-01-01", "plan", "free")]))
    files_before = sorted(p.name for p in tmp_path.iterdir())
    bytes_before = path.read_bytes()

    store = Store(path, read_only=True)
    assert store.read_only
    assert store.state_at("2026-02-01")["plan"].tolist() == ["free"]
    assert store.history(1)["value"].tolist() == ["free"]
    assert store.attributes["rows"].tolist() == [1]
    assert store.contacts["contact_id"].tolist() == [1]
    assert "read-only" in repr(store)
    before = snapshot(store)
    with pytest.raises(ReadOnlyStoreError, match="read-only"):
        store.load_attributes(long([(2, "2026-01-01", "plan", "pro")]))
    with pytest.raises(ReadOnlyStoreError, match="read-only"):
        store.load_lists(
            pd.DataFrame(
                {"contact_id": [1], "ts": ["2026-01-02"], "list": ["vip"], "member": [True]}
            )
        )
    assert snapshot(store) == before
    store.close()

    assert path.read_bytes() == bytes_before
    assert sorted(p.name for p in tmp_path.iterdir()) == files_before


def test_read_only_store_of_a_missing_file_is_an_error(tmp_path):
    with pytest.raises(SegsimError, match="does not exist"):
        Store(tmp_path / "nope.duckdb", read_only=True)
    assert not (tmp_path / "nope.duckdb").exists()


def test_in_memory_store_cannot_be_read_only():
    with pytest.raises(ValueError, match="in-memory"):
        Store(read_only=True)


# -- loading sources --------------------------------------------------------------------------

_MAPPED = pd.DataFrame(
    {
        "user_id": [7, 7, 8],
        "time": ["2026-01-01 10:00", "2026-01-02 11:00", "2026-01-01 10:00"],
        "name": ["plan", "plan", "plan"],
        "val": ["free", "pro", "free"],
    }
)
_MAPPING = {"contact_id": "user_id", "ts": "time", "attribute": "name", "value": "val"}


def _check_mapped(store: Store) -> None:
    assert store.attribute_types == {"plan": "string"}
    state = store.state_at("2026-01-01 10:00")
    assert state["contact_id"].tolist() == [7, 8]
    assert state["plan"].tolist() == ["free", "free"]
    assert store.state_at("2026-01-03")["plan"].tolist() == ["pro", "free"]


def test_load_dataframe_with_column_mapping():
    store = Store()
    assert store.load_attributes(_MAPPED, columns=_MAPPING) == 3
    _check_mapped(store)


def test_load_csv_with_column_mapping(tmp_path):
    path = tmp_path / "changes.csv"
    _MAPPED.to_csv(path, index=False)
    store = Store()
    assert store.load_attributes(path, columns=_MAPPING) == 3
    _check_mapped(store)


def test_load_parquet_with_column_mapping(tmp_path):
    path = tmp_path / "changes.parquet"
    _MAPPED.to_parquet(path)
    store = Store()
    assert store.load_attributes(str(path), columns=_MAPPING) == 3
    _check_mapped(store)


def test_load_lists_from_csv(tmp_path):
    path = tmp_path / "lists.csv"
    path.write_text(
        "contact_id,ts,list,member\n"
        "1,2026-01-01T10:00:00Z,newsletter,true\n"
        "1,2026-02-01T10:00:00Z,newsletter,false\n"
        "2,2026-01-15T10:00:00Z,customers,add\n"
    )
    store = Store()
    assert store.load_lists(path) == 3
    assert store.list_names == ["customers", "newsletter"]
    history = store.history(1)
    assert history["value"].tolist() == [True, False]
    assert history["type"].tolist() == ["list", "list"]


# -- typed values --------------------------------------------------------------------------


def test_declared_types_parse_strings():
    store = Store()
    store.load_attributes(
        long(
            [
                (1, "2026-01-01", "code", "007"),
                (1, "2026-01-01", "score", "12.5"),
                (1, "2026-01-01", "vip", "yes"),
                (1, "2026-01-01", "seen", "2026-01-01T08:00:00+02:00"),
            ]
        ),
        types={"code": "string", "score": "number", "vip": "boolean", "seen": "timestamp"},
    )
    assert store.attribute_types == {
        "code": "string",
        "score": "number",
        "vip": "boolean",
        "seen": "timestamp",
    }
    row = store.state_at("2026-01-01").iloc[0]
    assert row["code"] == "007"
    assert row["score"] == 12.5
    assert row["vip"] == True
    assert row["seen"] == ts("2026-01-01 06:00")


def test_inferred_types_from_native_values():
    store = Store()
    store.load_attributes(
        long(
            [
                (1, "2026-01-01", "plan", "pro"),
                (1, "2026-01-01", "ltv", 12),
                (2, "2026-01-01", "ltv", 3.5),
                (1, "2026-01-01", "vip", True),
                (2, "2026-01-01", "vip", np.bool_(False)),
                (1, "2026-01-01", "seen", dt.datetime(2026, 1, 1, 8, 0)),
                (2, "2026-01-01", "seen", pd.Timestamp("2026-01-01 08:00", tz="Europe/Paris")),
            ]
        )
    )
    assert store.attribute_types == {
        "plan": "string",
        "ltv": "number",
        "vip": "boolean",
        "seen": "timestamp",
    }
    state = store.state_at("2026-01-01")
    assert state["ltv"].tolist() == [12.0, 3.5]
    assert state["vip"].tolist() == [True, False]
    assert state["seen"].tolist() == [ts("2026-01-01 08:00"), ts("2026-01-01 07:00")]
    assert str(state["ltv"].dtype) == "float64"
    assert str(state["vip"].dtype) == "boolean"
    assert str(state["seen"].dtype) == "datetime64[us, UTC]"


def test_inferred_types_from_strings(tmp_path):
    path = tmp_path / "changes.csv"
    path.write_text(
        "contact_id,ts,attribute,value\n"
        "1,2026-01-01,plan,pro\n"
        "1,2026-01-01,ltv,12\n"
        "2,2026-01-01,ltv,3.5\n"
        "1,2026-01-01,vip,true\n"
        "2,2026-01-01,vip,FALSE\n"
        "1,2026-01-01,seen,2026-01-01T08:00:00Z\n"
        "2,2026-01-01,seen,2026-01-01 09:00\n"
    )
    store = Store()
    store.load_attributes(path)
    assert store.attribute_types == {
        "plan": "string",
        "ltv": "number",
        "vip": "boolean",
        "seen": "timestamp",
    }
    state = store.state_at("2026-01-01")
    assert state["ltv"].tolist() == [12.0, 3.5]
    assert state["vip"].tolist() == [True, False]
    assert state["seen"].tolist() == [ts("2026-01-01 08:00"), ts("2026-01-01 09:00")]


def test_later_loads_use_the_stored_type():
    store = Store()
    store.load_attributes(long([(1, "2026-01-01", "ltv", 1.5)]))
    store.load_attributes(long([(1, "2026-01-02", "ltv", "2.5")]))
    assert store.attribute_types == {"ltv": "number"}
    assert store.history(1)["value"].tolist() == [1.5, 2.5]


def test_naive_timestamps_are_utc_and_aware_ones_converted():
    store = Store()
    store.load_attributes(
        long(
            [
                (1, "2026-01-01 10:00", "a", "naive string"),
                (1, "2026-01-02T10:00:00+02:00", "a", "aware string"),
                (1, dt.datetime(2026, 1, 3, 10, 0), "a", "naive datetime"),
                (
                    1,
                    pd.Timestamp("2026-01-04 10:00", tz="America/New_York"),
                    "a",
                    "aware timestamp",
                ),
            ]
        )
    )
    history = store.history(1)
    assert history["ts"].tolist() == [
        ts("2026-01-01 10:00"),
        ts("2026-01-02 08:00"),
        ts("2026-01-03 10:00"),
        ts("2026-01-04 15:00"),
    ]
    assert str(history["ts"].dtype) == "datetime64[us, UTC]"


def test_integer_contact_ids_come_back_as_given():
    store = Store()
    store.load_attributes(long([(10, "2026-01-01", "a", "x"), (2, "2026-01-01", "a", "y")]))
    assert store.id_type == "integer"
    ids = store.contacts["contact_id"]
    assert ids.tolist() == [2, 10]
    assert all(type(i) is int for i in ids.tolist())
    assert store.state_at("2026-01-01")["contact_id"].tolist() == [2, 10]
    assert store.history(10)["value"].tolist() == ["x"]
    assert store.history(np.int64(2))["value"].tolist() == ["y"]
    with pytest.raises(TypeError, match="integers"):
        store.history("10")


def test_string_contact_ids_come_back_as_given():
    store = Store()
    store.load_attributes(long([("u-1", "2026-01-01", "a", "x"), ("007", "2026-01-01", "a", "y")]))
    assert store.id_type == "string"
    assert store.contacts["contact_id"].tolist() == ["007", "u-1"]
    assert store.state_at("2026-01-01")["contact_id"].tolist() == ["007", "u-1"]
    assert store.history("007")["value"].tolist() == ["y"]
    with pytest.raises(TypeError, match="strings"):
        store.history(7)


def test_csv_ids_that_look_like_integers_keep_their_text(tmp_path):
    path = tmp_path / "changes.csv"
    path.write_text("contact_id,ts,attribute,value\n007,2026-01-01,a,x\n42,2026-01-01,a,y\n")
    store = Store()
    store.load_attributes(path)
    assert store.contacts["contact_id"].tolist() == ["007", "42"]


def test_loading_appends():
    store = Store()
    assert store.load_attributes(long([(1, "2026-01-01", "plan", "free")])) == 1
    assert (
        store.load_attributes(long([(1, "2026-02-01", "plan", "pro"), (2, "2026-01-01", "ltv", 3)]))
        == 2
    )
    assert store.attribute_types == {"plan": "string", "ltv": "number"}
    assert store.history(1)["value"].tolist() == ["free", "pro"]
    assert store.contacts["contact_id"].tolist() == [1, 2]


def test_identical_rows_are_kept_once():
    store = Store()
    rows = long(
        [
            (1, "2026-01-01", "plan", "free"),
            (1, "2026-01-01", "plan", "free"),
            (1, "2026-01-02", "plan", None),
        ]
    )
    assert store.load_attributes(rows) == 2
    assert store.load_attributes(rows) == 0
    assert store.attributes["rows"].tolist() == [2]
    lists = pd.DataFrame(
        {"contact_id": [1, 1], "ts": ["2026-01-01"] * 2, "list": ["vip"] * 2, "member": [True] * 2}
    )
    assert store.load_lists(lists) == 1
    assert store.load_lists(lists) == 0


def test_attribute_catalog(store):
    catalog = store.attributes
    assert list(catalog.columns) == ["name", "type", "rows", "contacts", "first_ts", "last_ts"]
    assert catalog.to_dict("records") == [
        {
            "name": "email_subscribed",
            "type": "boolean",
            "rows": 2,
            "contacts": 1,
            "first_ts": ts("2026-01-05 12:00"),
            "last_ts": ts("2026-01-20 08:00"),
        },
        {
            "name": "last_purchase_at",
            "type": "timestamp",
            "rows": 1,
            "contacts": 1,
            "first_ts": ts("2026-01-05 12:00"),
            "last_ts": ts("2026-01-05 12:00"),
        },
        {
            "name": "ltv",
            "type": "number",
            "rows": 2,
            "contacts": 1,
            "first_ts": ts("2026-01-01 09:00"),
            "last_ts": ts("2026-02-01 10:30"),
        },
        {
            "name": "plan",
            "type": "string",
            "rows": 3,
            "contacts": 2,
            "first_ts": ts("2026-01-01 09:00"),
            "last_ts": ts("2026-02-01 10:30"),
        },
    ]


def test_contacts(store):
    contacts = store.contacts
    assert contacts.to_dict("records") == [
        {
            "contact_id": 1,
            "first_ts": ts("2026-01-01 09:00"),
            "last_ts": ts("2026-03-01"),
            "changes": 6,
        },
        {
            "contact_id": 2,
            "first_ts": ts("2026-01-05 12:00"),
            "last_ts": ts("2026-01-20 08:00"),
            "changes": 4,
        },
    ]


def test_history(store):
    history = store.history(1)
    assert list(history.columns) == ["ts", "attribute", "value", "type"]
    assert list(history.itertuples(index=False, name=None)) == [
        (ts("2026-01-01 09:00"), "ltv", 0.0, "number"),
        (ts("2026-01-01 09:00"), "plan", "free", "string"),
        (ts("2026-01-10"), "newsletter", True, "list"),
        (ts("2026-02-01 10:30"), "ltv", 49.5, "number"),
        (ts("2026-02-01 10:30"), "plan", "pro", "string"),
        (ts("2026-03-01"), "newsletter", False, "list"),
    ]
    assert store.history(2)["value"].tolist() == [True, ts("2026-01-04 17:00"), "free", False]


def test_history_of_an_unknown_contact_is_empty(store):
    assert store.history(99).empty


def test_state_at_exact_values(store):
    state = store.state_at("2026-01-10")
    assert list(state.columns) == [
        "contact_id",
        "email_subscribed",
        "last_purchase_at",
        "ltv",
        "plan",
    ]
    assert state["contact_id"].tolist() == [1, 2]
    assert state["plan"].tolist() == ["free", "free"]
    assert state["ltv"].tolist()[0] == 0.0 and pd.isna(state["ltv"].tolist()[1])
    assert state["email_subscribed"].tolist() == [pd.NA, True]
    assert state["last_purchase_at"].tolist()[1] == ts("2026-01-04 17:00")
    assert pd.isna(state["last_purchase_at"].tolist()[0])


def test_state_at_includes_a_change_exactly_at_ts(store):
    just_before = store.state_at(ts("2026-02-01 10:30") - pd.Timedelta(microseconds=1))
    assert just_before["plan"].tolist() == ["free", "free"]
    at = store.state_at("2026-02-01 10:30")
    assert at["plan"].tolist() == ["pro", "free"]
    assert at["ltv"].tolist()[0] == 49.5
    # the same instant given in another time zone
    assert store.state_at("2026-02-01T11:30:00+01:00")["plan"].tolist() == ["pro", "free"]


def test_state_at_only_has_contacts_seen_by_then(store):
    assert store.state_at("2026-01-02")["contact_id"].tolist() == [1]
    assert store.state_at("2025-12-31").empty


def test_state_at_selected_attributes(store):
    state = store.state_at("2026-03-01", attributes=["plan"])
    assert list(state.columns) == ["contact_id", "plan"]
    with pytest.raises(SegsimError, match="did you mean 'plan'"):
        store.state_at("2026-03-01", attributes=["plans"])


def test_value_none_unsets_an_attribute():
    store = Store()
    store.load_attributes(
        long(
            [
                (1, "2026-01-01", "email", "a@example.com"),
                (1, "2026-02-01", "email", None),
                (1, "2026-01-01", "ltv", 5.0),
                (1, "2026-02-01", "ltv", np.nan),
                (1, "2026-03-01", "email", "b@example.com"),
            ]
        )
    )
    assert store.state_at("2026-01-15")["email"].tolist() == ["a@example.com"]
    feb = store.state_at("2026-02-01")
    assert feb["email"].tolist() == [None]
    assert pd.isna(feb["ltv"].tolist()[0])
    assert store.state_at("2026-03-01")["email"].tolist() == ["b@example.com"]
    assert store.history(1)["value"].tolist()[2:4] == [None, None]


def test_empty_csv_cell_unsets_an_attribute(tmp_path):
    path = tmp_path / "changes.csv"
    path.write_text(
        "contact_id,ts,attribute,value\n1,2026-01-01,email,a@example.com\n1,2026-02-01,email,\n"
    )
    store = Store()
    store.load_attributes(path)
    assert store.state_at("2026-03-01")["email"].tolist() == [None]


def test_load_lists(store):
    assert store.list_names == ["newsletter"]
    added = pd.DataFrame(
        {
            "user": [2, 2, 1],
            "at": ["2026-01-06", "2026-01-07", "2026-03-02"],
            "name": ["customers", "customers", "newsletter"],
            "in": ["add", "remove", "TRUE"],
        }
    )
    assert (
        store.load_lists(
            added, columns={"contact_id": "user", "ts": "at", "list": "name", "member": "in"}
        )
        == 3
    )
    assert store.list_names == ["customers", "newsletter"]
    assert store.history(2).query("type == 'list'")["value"].tolist() == [True, False]
    assert store.history(1).query("type == 'list'")["value"].tolist() == [True, False, True]


# -- bad input: clear errors, store unchanged ------------------------------------------------------


def test_missing_column_is_named_with_a_suggestion(store):
    bad = long([(3, "2026-01-01", "plan", "free")]).rename(columns={"contact_id": "contactid"})
    assert_rejected(store, bad, r"missing column 'contact_id' \(did you mean 'contactid'\?")


def test_misnamed_mapped_column_is_named(store):
    bad = long([(3, "2026-01-01", "plan", "free")]).rename(columns={"ts": "time"})
    assert_rejected(
        store,
        bad,
        r"missing column 'timestamp' \(did you mean 'time'\?",
        columns={"ts": "timestamp"},
    )


def test_missing_column_in_a_file_names_the_file(store, tmp_path):
    path = tmp_path / "changes.csv"
    path.write_text("contact_id,ts,attribute\n1,2026-01-01,plan\n")
    assert_rejected(store, path, r"changes\.csv.*missing column 'value'")


def test_null_contact_id(store):
    bad = long([(3, "2026-01-01", "plan", "free"), (None, "2026-01-01", "plan", "free")])
    assert_rejected(store, bad, r"column 'contact_id', row with index 1: contact id is missing")


def test_null_timestamp(store):
    bad = long([(3, "2026-01-01", "plan", "free"), (3, None, "plan", "pro")])
    assert_rejected(store, bad, r"column 'ts', row with index 1: timestamp is missing")


def test_null_attribute(store):
    bad = long([(3, "2026-01-01", None, "free")])
    assert_rejected(store, bad, r"column 'attribute', row with index 0: attribute name is missing")


def test_unparseable_timestamp(store):
    bad = long([(3, "2026-01-01", "plan", "free"), (3, "yesterday", "plan", "pro")])
    assert_rejected(
        store, bad, r"column 'ts', row with index 1: cannot read 'yesterday' as a timestamp"
    )


def test_numeric_timestamps_are_rejected(store):
    bad = long([(3, 1767225600, "plan", "free")])
    assert_rejected(store, bad, r"column 'ts'.*not numbers")


def test_value_not_of_the_declared_type(store):
    bad = long([(3, "2026-01-01", "score", "1"), (3, "2026-01-02", "score", "three")])
    error = assert_rejected(store, bad, r"row with index 1", types={"score": "number"})
    assert "attribute 'score' is number" in str(error)
    assert "'three'" in str(error)


def test_value_not_of_the_stored_type(store):
    bad = long([(3, "2026-01-01", "ltv", "lots")])
    assert_rejected(
        store,
        bad,
        r"row with index 0: attribute 'ltv' is number, but value 'lots' does not read as number",
    )


def test_native_value_of_the_wrong_type(store):
    bad = long([(3, "2026-01-01", "email_subscribed", 1.5)])
    assert_rejected(
        store, bad, r"attribute 'email_subscribed' is boolean, but this value is number 1.5"
    )


def test_unparseable_boolean_and_timestamp_values(store):
    assert_rejected(
        store,
        long([(3, "2026-01-01", "email_subscribed", "maybe")]),
        r"'maybe' does not read as boolean",
    )
    assert_rejected(
        store,
        long([(3, "2026-01-01", "last_purchase_at", "soon")]),
        r"'soon' does not read as timestamp",
    )


def test_declaring_a_different_type_for_a_stored_attribute(store):
    assert_rejected(
        store,
        long([(3, "2026-01-01", "ltv", "1")]),
        r"'ltv' is already stored as number",
        types={"ltv": "string"},
    )


def test_inferred_attribute_mixing_types(store):
    bad = long([(3, "2026-01-01", "score", 1), (4, "2026-01-01", "score", True)])
    error = assert_rejected(
        store,
        bad,
        r"attribute 'score' mixes types: number 1 and, at row with index 1, boolean True",
    )
    assert "types={'score': ...}" in str(error)


def test_inferred_attribute_mixing_numbers_and_words(store):
    bad = long([(3, "2026-01-01", "score", 1), (4, "2026-01-01", "score", "high")])
    assert_rejected(
        store,
        bad,
        r"attribute 'score' mixes types: number 1 and, at row with index 1, string 'high'",
    )


def test_conflict_within_one_load(store):
    bad = long([(3, "2026-01-01", "plan", "free"), (3, "2026-01-01", "plan", "pro")])
    assert_rejected(
        store,
        bad,
        r"row with index 0: contact 3 has two different values of attribute 'plan'.*'free' here and 'pro' at row with index 1",
    )


def test_conflict_within_one_load_keep_last():
    store = Store()
    rows = long([(3, "2026-01-01", "plan", "free"), (3, "2026-01-01", "plan", "pro")])
    assert store.load_attributes(rows, on_conflict="last") == 1
    assert store.history(3)["value"].tolist() == ["pro"]


def test_conflict_with_stored_data(store):
    bad = long([(2, "2026-01-06", "plan", "pro"), (1, "2026-02-01 10:30", "plan", "churned")])
    assert_rejected(
        store,
        bad,
        r"row with index 1: contact 1 at 2026-02-01 10:30:00\+00:00 already has attribute 'plan' = 'pro' in the store, and this row says 'churned'",
    )


def test_conflict_with_stored_data_keep_last(store):
    rows = long([(2, "2026-01-06", "plan", "pro"), (1, "2026-02-01 10:30", "plan", "churned")])
    assert store.load_attributes(rows, on_conflict="last") == 2
    assert store.state_at("2026-02-01 10:30")["plan"].tolist() == ["churned", "pro"]
    assert store.attributes.set_index("name").loc["plan", "rows"] == 4


def test_conflicting_list_rows(store):
    before = snapshot(store)
    bad = pd.DataFrame(
        {"contact_id": [1], "ts": ["2026-01-10"], "list": ["newsletter"], "member": [False]}
    )
    with pytest.raises(DataLoadError, match=r"already has list 'newsletter' = True in the store"):
        store.load_lists(bad)
    assert snapshot(store) == before


def test_bad_list_membership(store):
    before = snapshot(store)
    bad = pd.DataFrame(
        {"contact_id": [1], "ts": ["2026-04-01"], "list": ["vip"], "member": ["maybe"]}
    )
    with pytest.raises(
        DataLoadError, match=r"column 'member', row with index 0: member must be true/false"
    ):
        store.load_lists(bad)
    assert snapshot(store) == before


def test_path_that_does_not_exist(store, tmp_path):
    assert_rejected(store, tmp_path / "missing.csv", r"missing\.csv' does not exist")


def test_unknown_file_type(store, tmp_path):
    path = tmp_path / "changes.xlsx"
    path.write_bytes(b"")
    assert_rejected(store, path, r"unknown file type '\.xlsx'")


def test_csv_error_names_the_line(store, tmp_path):
    path = tmp_path / "changes.csv"
    path.write_text(
        "contact_id,ts,attribute,value\n3,2026-01-01,plan,free\n3,2026-01-02,plan,pro,extra\n"
    )
    assert_rejected(store, path, r"changes\.csv' cannot be read: .*line 3")


def test_csv_value_error_names_row_and_line(store, tmp_path):
    path = tmp_path / "changes.csv"
    path.write_text("contact_id,ts,attribute,value\n3,2026-01-01,ltv,5\n3,2026-01-02,ltv,five\n")
    assert_rejected(
        store,
        path,
        r"changes\.csv', column 'value', row 2 \(line 3\): attribute 'ltv' is number, but value 'five'",
    )


def test_string_ids_into_an_integer_id_store(store):
    assert_rejected(
        store,
        long([("c3", "2026-01-01", "plan", "free")]),
        r"contact ids in the in-memory store are integers.*'c3'",
    )


def test_integer_ids_into_a_string_id_store():
    store = Store()
    store.load_attributes(long([("a", "2026-01-01", "plan", "free")]))
    assert_rejected(
        store,
        long([(1, "2026-01-01", "plan", "free")]),
        r"contact ids in the in-memory store are strings.*integer ids such as 1",
    )


def test_csv_numeric_ids_into_a_string_id_store_stay_strings(tmp_path):
    store = Store()
    store.load_attributes(long([("a", "2026-01-01", "plan", "free")]))
    path = tmp_path / "changes.csv"
    path.write_text("contact_id,ts,attribute,value\n42,2026-01-01,plan,pro\n")
    store.load_attributes(path)
    assert store.contacts["contact_id"].tolist() == ["42", "a"]


def test_mixed_integer_and_string_ids(store):
    assert_rejected(
        store,
        long(
            [
                (3, "2026-01-01", "plan", "a"),
                (4, "2026-01-01", "plan", "b"),
                ("x", "2026-01-01", "plan", "c"),
            ]
        ),
        r"row with index 2: contact ids mix integers and strings",
    )


def test_boolean_contact_ids(store):
    assert_rejected(
        store, long([(True, "2026-01-01", "plan", "a")]), r"contact ids must be integers or strings"
    )


def test_unsupported_value_type(store):
    assert_rejected(
        store,
        long([(3, "2026-01-01", "tags", ["a", "b"])]),
        r"unsupported value \['a', 'b'\] of type list",
    )


def test_infinite_number(store):
    assert_rejected(
        store,
        long([(3, "2026-01-01", "ltv", float("inf"))]),
        r"attribute 'ltv': value inf is not finite",
    )


def test_failed_first_load_creates_nothing():
    store = Store()
    assert_rejected(
        store, long([(1, "2026-01-01", "a", 1), (1, "2026-01-01", "a", 2)]), r"two different values"
    )
    assert snapshot(store) == {}
    assert store.id_type is None


def test_failed_load_into_a_file_store_leaves_it_unchanged(tmp_path):
    path = tmp_path / "store.duckdb"
    with Store(path) as store:
        store.load_attributes(long([(1, "2026-01-01", "plan", "free")]))
        before = snapshot(store)
        with pytest.raises(DataLoadError):
            store.load_attributes(
                long([(2, "2026-01-01", "new_attr", "x"), (1, "2026-01-01", "plan", "pro")])
            )
    with Store(path) as store:
        assert snapshot(store) == before
        assert store.attribute_types == {"plan": "string"}


def test_bad_arguments_are_value_errors(store):
    with pytest.raises(ValueError, match="on_conflict"):
        store.load_attributes(long([(3, "2026-01-01", "plan", "x")]), on_conflict="first")
    with pytest.raises(ValueError, match="an attribute type is one of"):
        store.load_attributes(long([(3, "2026-01-01", "plan", "x")]), types={"plan": "text"})
    with pytest.raises(ValueError, match="columns maps 'id'"):
        store.load_attributes(long([(3, "2026-01-01", "plan", "x")]), columns={"id": "contact_id"})
    with pytest.raises(TypeError, match="DataFrame or a path"):
        store.load_attributes([(3, "2026-01-01", "plan", "x")])


def test_errors_are_segsim_errors():
    assert issubclass(DataLoadError, SegsimError)
    assert issubclass(ReadOnlyStoreError, SegsimError)
    assert Path(__file__).exists()


# -- regressions of fixed bugs ----------------------------------------------------------------------


def test_keep_last_counts_only_new_and_replaced_rows():
    store = Store()
    store.load_attributes(long([(1, "2026-01-01", "a", "x"), (2, "2026-01-01", "a", "y")]))
    rows = long(
        [
            (1, "2026-01-01", "a", "x"),
            (2, "2026-01-01", "a", "changed"),
            (3, "2026-01-01", "a", "z"),
        ]
    )
    assert store.load_attributes(rows, on_conflict="last") == 2
    assert store.state_at("2026-01-01")["a"].tolist() == ["x", "changed", "z"]


def test_empty_load_writes_nothing():
    store = Store()
    empty = pd.DataFrame({"contact_id": [], "ts": [], "attribute": [], "value": []})
    assert store.load_attributes(empty, types={"a": "number"}) == 0
    assert snapshot(store) == {}
    store.load_attributes(long([(1, "2026-01-01", "a", 1.0)]))
    assert store.id_type == "integer"
    assert store.load_attributes(empty) == 0


def test_phone_numbers_and_codes_are_not_inferred_as_numbers():
    store = Store()
    store.load_attributes(
        long(
            [
                (1, "2026-01-01", "phone", "+33612345678"),
                (2, "2026-01-01", "phone", "+4915112345678"),
                (1, "2026-01-01", "zip", "01234"),
                (2, "2026-01-01", "zip", "75001"),
                (1, "2026-01-01", "score", "-1.5e2"),
            ]
        )
    )
    assert store.attribute_types == {"phone": "string", "zip": "string", "score": "number"}
    assert store.state_at("2026-01-01")["zip"].tolist() == ["01234", "75001"]


def test_many_native_datetime_values_load_at_once():
    n = 20_000
    when = pd.date_range("2026-01-01", periods=n, freq="min", tz="Europe/Paris")
    rows = pd.DataFrame(
        {"contact_id": np.arange(n), "ts": when, "attribute": "seen", "value": when.astype(object)}
    )
    store = Store()
    assert store.load_attributes(rows) == n
    state = store.state_at("2027-01-01")
    assert state["seen"].iloc[-1] == when[-1]
