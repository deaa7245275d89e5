"""Tests of segsim.store.wide: wide snapshots and change logs become attribute changes."""

from __future__ import annotations

import pandas as pd
import pytest

from segsim import schema
from segsim.errors import DataLoadError
from segsim.store import Store


def ts(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


def long(rows: list[tuple]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["contact_id", "ts", "attribute", "value"])


def tables(store: Store) -> dict:
    return {
        t: store.con.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall()
        for t in (schema.CHANGES, schema.ATTRIBUTES, schema.META)
    }


@pytest.fixture
def store() -> Store:
    store = Store()
    store.load_attributes(
        long(
            [
                (1, "2026-01-01", "plan", "free"),
                (1, "2026-01-01", "ltv", 5.0),
                (2, "2026-01-01", "plan", "pro"),
                (2, "2026-01-01", "email", "b@example.com"),
            ]
        )
    )
    return store


def rows(store: Store, contact_id: int) -> list[tuple]:
    return list(
        store.history(contact_id)[["ts", "attribute", "value"]].itertuples(index=False, name=None)
    )


# -- snapshots ---------------------------------------------------------------------------------

SNAPSHOT = pd.DataFrame(
    {
        "contact_id": [1, 2, 3],
        "plan": ["pro", "pro", "free"],
        "ltv": [5.0, None, 7.0],
        "email": [None, "", "c@example.com"],
    }
)


def test_only_cells_that_differ_become_changes(store):
    assert store.load_snapshot(SNAPSHOT, ts="2026-02-01") == 5
    feb = ts("2026-02-01")
    assert rows(store, 1) == [
        (ts("2026-01-01"), "ltv", 5.0),
        (ts("2026-01-01"), "plan", "free"),
        (feb, "plan", "pro"),  # free -> pro; ltv 5 unchanged; email never set and empty
    ]
    assert rows(store, 2) == [
        (ts("2026-01-01"), "email", "b@example.com"),
        (ts("2026-01-01"), "plan", "pro"),
        (feb, "email", None),  # an empty cell unsets; plan unchanged; ltv never set
    ]
    assert rows(store, 3) == [
        (feb, "email", "c@example.com"),
        (feb, "ltv", 7.0),
        (feb, "plan", "free"),
    ]


def test_the_same_snapshot_twice_writes_nothing(store):
    store.load_snapshot(SNAPSHOT, ts="2026-02-01")
    before = tables(store)
    assert store.load_snapshot(SNAPSHOT, ts="2026-02-01") == 0
    assert store.load_snapshot(SNAPSHOT, ts="2026-03-01") == 0
    assert tables(store) == before


def test_a_snapshot_into_an_empty_store_loads_every_set_cell():
    store = Store()
    assert store.load_snapshot(SNAPSHOT, ts="2026-02-01") == 6  # the cells set
    assert store.attribute_types == {"plan": "string", "ltv": "number", "email": "string"}
    assert store.contacts["contact_id"].tolist() == [1, 2, 3]


def test_a_ts_column_gives_each_row_its_instant():
    snap = pd.DataFrame(
        {
            "id": ["a", "a", "b"],
            "updated_at": ["2026-01-01", "2026-02-01", "2026-01-15T08:00:00Z"],
            "plan": ["free", "free", "pro"],
            "vip": ["false", "true", "false"],
        }
    )
    store = Store()
    assert store.load_snapshot(snap, ts="updated_at", id_column="id") == 5
    assert store.attribute_types == {"plan": "string", "vip": "boolean"}
    # the second row of 'a' repeats plan (no change) and flips vip (a change)
    assert rows(store, "a") == [
        (ts("2026-01-01"), "plan", "free"),
        (ts("2026-01-01"), "vip", False),
        (ts("2026-02-01"), "vip", True),
    ]


def test_a_snapshot_compares_with_changes_at_its_instant(store):
    snap = pd.DataFrame({"contact_id": [1], "plan": ["free"]})
    assert store.load_snapshot(snap, ts="2026-01-01") == 0  # the stored row at that instant
    with pytest.raises(
        DataLoadError,
        match=r"contact 1 at 2026-01-01 00:00:00\+00:00 already has attribute 'plan' = 'free'",
    ):
        store.load_snapshot(pd.DataFrame({"contact_id": [1], "plan": ["pro"]}), ts="2026-01-01")
    assert (
        store.load_snapshot(
            pd.DataFrame({"contact_id": [1], "plan": ["pro"]}), ts="2026-01-01", on_conflict="last"
        )
        == 1
    )
    assert rows(store, 1)[1] == (ts("2026-01-01"), "plan", "pro")


def test_an_older_snapshot_goes_before_later_history(store):
    store.load_attributes(long([(1, "2026-03-01", "plan", "churned")]))
    assert (
        store.load_snapshot(pd.DataFrame({"contact_id": [1], "plan": ["pro"]}), ts="2026-02-01")
        == 1
    )
    assert [r[2] for r in rows(store, 1) if r[1] == "plan"] == ["free", "pro", "churned"]


def test_attributes_selects_columns_and_types_declare(store):
    snap = pd.DataFrame({"contact_id": [1], "zip": ["01234"], "junk": ["x"]})
    assert (
        store.load_snapshot(snap, ts="2026-02-01", attributes=["zip"], types={"zip": "string"}) == 1
    )
    assert store.attribute_types["zip"] == "string" and "junk" not in store.attribute_types


@pytest.mark.parametrize("kind", ["csv", "parquet"])
def test_snapshot_files(kind, tmp_path, store):
    path = tmp_path / f"snapshot.{kind}"
    if kind == "csv":
        SNAPSHOT.to_csv(path, index=False)
    else:
        SNAPSHOT.to_parquet(path)
    assert store.load_snapshot(path, ts="2026-02-01") == 5
    assert rows(store, 2)[-1] == (ts("2026-02-01"), "email", None)


def test_snapshot_errors_name_the_cell(store, tmp_path):
    path = tmp_path / "snapshot.csv"
    pd.DataFrame({"contact_id": [1, 2], "ltv": ["6", "lots"]}).to_csv(path, index=False)
    before = tables(store)
    with pytest.raises(
        DataLoadError,
        match=r"snapshot\.csv', column 'ltv', row 2 \(line 3\): attribute 'ltv' is number, but value 'lots'",
    ):
        store.load_snapshot(path, ts="2026-02-01")
    assert tables(store) == before


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (
            lambda s: s.load_snapshot(SNAPSHOT, ts="02/01/2026"),
            ValueError,
            r"ts is the snapshot's instant or the name of one of its columns",
        ),
        (
            lambda s: s.load_snapshot(SNAPSHOT, ts="2026-02-01", id_column="user"),
            DataLoadError,
            r"missing column 'user'",
        ),
        (
            lambda s: s.load_snapshot(SNAPSHOT, ts="2026-02-01", attributes=["plam"]),
            DataLoadError,
            r"missing column 'plam' \(did you mean 'plan'",
        ),
        (
            lambda s: s.load_snapshot(SNAPSHOT[["contact_id"]], ts="2026-02-01"),
            DataLoadError,
            r"no attribute columns",
        ),
        (
            lambda s: s.load_snapshot(SNAPSHOT.assign(contact_id=[1, 1, 3]), ts="2026-02-01"),
            DataLoadError,
            r"contact 1 has two different values of attribute",
        ),
        (
            lambda s: s.load_snapshot(SNAPSHOT, ts="2026-02-01", on_conflict="first"),
            ValueError,
            r"on_conflict",
        ),
    ],
    ids=[
        "bad-ts",
        "missing-id-column",
        "unknown-attribute-column",
        "no-attributes",
        "two-rows-one-contact",
        "bad-on-conflict",
    ],
)
def test_bad_snapshots(store, call, error, match):
    before = tables(store)
    with pytest.raises(error, match=match):
        call(store)
    assert tables(store) == before


# -- change logs --------------------------------------------------------------------------------


def log(rows: list[tuple]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["contact_id", "ts", "attribute", "old_value", "new_value"])


def test_a_change_log_loads_new_values(store):
    changes = log(
        [
            (1, "2026-02-01", "plan", "free", "pro"),
            (1, "2026-03-01", "plan", "pro", "churned"),
            (2, "2026-02-01", "email", "b@example.com", None),
            (3, "2026-02-01", "plan", "trial", "free"),  # no earlier value known: accepted
        ]
    )
    assert store.load_change_log(changes) == 4
    assert [r[2] for r in rows(store, 1) if r[1] == "plan"] == ["free", "pro", "churned"]
    assert rows(store, 2)[-1] == (ts("2026-02-01"), "email", None)
    assert rows(store, 3) == [(ts("2026-02-01"), "plan", "free")]


def test_an_old_value_that_contradicts_the_store_is_refused(store):
    before = tables(store)
    with pytest.raises(DataLoadError) as info:
        store.load_change_log(log([(1, "2026-02-01", "plan", "pro", "churned")]))
    assert str(info.value) == (
        "DataFrame, column 'old_value', row with index 0: contact 1, attribute 'plan' at "
        "2026-02-01 00:00:00+00:00: old value 'pro' is not the value before it, 'free' (in the "
        "store); pass check_old_values=False to load the new values regardless"
    )
    assert tables(store) == before


def test_an_old_value_that_contradicts_an_earlier_row_is_refused(store):
    changes = log([(3, "2026-02-01", "ltv", None, "1"), (3, "2026-03-01", "ltv", "2", "3")])
    with pytest.raises(
        DataLoadError,
        match=r"row with index 1: contact 3, attribute 'ltv' .* old value 2\.0 is not the value before it, 1\.0 \(from row with index 0\)",
    ):
        store.load_change_log(changes)


def test_an_empty_old_value_means_unset(store):
    assert store.load_change_log(log([(2, "2026-02-01", "ltv", "", "4")])) == 1  # unknown: accepted
    with pytest.raises(DataLoadError, match=r"old value None is not the value before it, 'pro'"):
        store.load_change_log(log([(2, "2026-02-01", "plan", "", "free")]))


def test_old_values_can_be_ignored_or_absent(store):
    contradicting = log([(1, "2026-02-01", "plan", "pro", "churned")])
    assert store.load_change_log(contradicting, check_old_values=False) == 1
    without = log([(1, "2026-03-01", "plan", "x", "free")]).drop(columns="old_value")
    assert store.load_change_log(without) == 1
    assert [r[2] for r in rows(store, 1) if r[1] == "plan"] == ["free", "churned", "free"]


def test_old_and_new_values_type_an_attribute_together(tmp_path):
    path = tmp_path / "log.csv"
    log([(1, "2026-01-01", "score", None, "1"), (1, "2026-02-01", "score", "1", "2.5")]).to_csv(
        path, index=False
    )
    store = Store()
    assert store.load_change_log(path) == 2
    assert store.attribute_types == {"score": "number"}


def test_a_bad_old_value_names_its_column(store):
    with pytest.raises(
        DataLoadError,
        match=r"column 'old_value', row with index 0: attribute 'ltv' is number, but value 'lots'",
    ):
        store.load_change_log(log([(1, "2026-02-01", "ltv", "lots", "6")]))


def test_change_log_column_mapping(store):
    changes = log([(1, "2026-02-01", "plan", "free", "pro")]).rename(
        columns={"old_value": "from", "new_value": "to", "attribute": "field"}
    )
    mapping = {"old_value": "from", "new_value": "to", "attribute": "field"}
    assert store.load_change_log(changes, columns=mapping) == 1
    with pytest.raises(DataLoadError, match=r"missing columns 'attribute', 'new_value'"):
        store.load_change_log(changes)
