"""Tests of segsim.store.values and segsim.store.fields: how values are typed and checked.

One rule everywhere: an empty string is unset; an untyped attribute that mostly reads as one
type refuses the values that do not; integer ids never wrap; unset values come back as None.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from segsim.errors import DataLoadError
from segsim.store import Store


def long(rows: list[tuple]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["contact_id", "ts", "attribute", "value"])


def write_csv(path: Path, rows: list[tuple]) -> Path:
    long(rows).to_csv(path, index=False)
    return path


def write_parquet(path: Path, frame: pd.DataFrame) -> Path:
    frame.to_parquet(path)
    return path


def ts(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


def numbers_with_one_word(word: str = "n/a", at: int = 12, n: int = 20) -> list[tuple]:
    return [(i, "2026-01-01", "ltv", word if i == at else str(i * 1.5)) for i in range(n)]


# -- an untyped attribute that mostly reads as one type (#11 item 12) ---------------------------


def test_one_word_among_numbers_in_a_csv_names_its_row(tmp_path):
    path = write_csv(tmp_path / "ltv.csv", numbers_with_one_word())
    store = Store()
    with pytest.raises(DataLoadError) as info:
        store.load_attributes(path)
    message = str(info.value)
    assert "ltv.csv', column 'value', row 13 (line 14)" in message
    assert (
        "attribute 'ltv' reads as number in 19 of its 20 values, but 'n/a' here does not" in message
    )
    assert "types={'ltv': 'number'}" in message and "types={'ltv': 'string'}" in message
    assert store.attribute_types == {}


def test_declaring_the_type_then_names_the_value(tmp_path):
    path = write_csv(tmp_path / "ltv.csv", numbers_with_one_word())
    with pytest.raises(
        DataLoadError, match=r"row 13 \(line 14\): attribute 'ltv' is number, but value 'n/a'"
    ):
        Store().load_attributes(path, types={"ltv": "number"})


def test_declaring_string_loads_it_as_text_on_purpose(tmp_path):
    path = write_csv(tmp_path / "ltv.csv", numbers_with_one_word())
    store = Store()
    assert store.load_attributes(path, types={"ltv": "string"}) == 20
    assert store.attribute_types == {"ltv": "string"}
    assert store.history(12)["value"].tolist() == ["n/a"]
    assert store.history(1)["value"].tolist() == ["1.5"]


def test_a_real_mix_of_text_and_numbers_stays_a_string():
    rows = [(i, "2026-01-01", "code", str(i) if i % 3 else f"A{i}") for i in range(30)]
    store = Store()
    store.load_attributes(long(rows))
    assert store.attribute_types == {"code": "string"}


def test_mostly_booleans_and_mostly_timestamps_are_refused_too():
    flags = [
        (i, "2026-01-01", "vip", "maybe" if i == 5 else ("true" if i % 2 else "false"))
        for i in range(40)
    ]
    with pytest.raises(
        DataLoadError,
        match=r"row with index 5: attribute 'vip' reads as boolean in 39 of its 40 values, but 'maybe'",
    ):
        Store().load_attributes(long(flags))
    seen = [
        (i, "2026-01-01", "seen", "soon" if i == 7 else f"2026-01-{i % 28 + 1:02d}")
        for i in range(20)
    ]
    with pytest.raises(
        DataLoadError,
        match=r"attribute 'seen' reads as timestamp in 19 of its 20 values, but 'soon'",
    ):
        Store().load_attributes(long(seen))


def test_just_below_the_threshold_is_a_string():
    numbers = [(i, "2026-01-01", "ltv", f"{i}.5") for i in range(17)]
    rows = [*numbers, (100, "2026-01-01", "ltv", "x"), (101, "2026-01-01", "ltv", "y")]  # 89%
    store = Store()
    store.load_attributes(long(rows))
    assert store.attribute_types == {"ltv": "string"}


def test_surrounding_spaces_do_not_make_a_number_text():
    rows = [(i, "2026-01-01", "ltv", f" {i}.5 " if i == 3 else f"{i}.5") for i in range(25)]
    rows.append((99, "2026-01-01", "vip", " true"))
    rows.append((98, "2026-01-01", "vip", "FALSE "))
    store = Store()
    store.load_attributes(long(rows))
    assert store.attribute_types == {"ltv": "number", "vip": "boolean"}
    assert store.history(3)["value"].tolist() == [3.5]
    assert store.history(99)["value"].tolist() == [True]


# -- an empty string is unset, whatever the source (#11 item 14) --------------------------------

_EMPTY_ROWS = [
    (1, "2026-01-01", "email", "a@example.com"),
    (1, "2026-01-01", "ltv", "5"),
    (1, "2026-02-01", "email", ""),
    (1, "2026-02-01", "ltv", ""),
    (2, "2026-01-01", "email", ""),
]


def _empty_string_store(kind: str, tmp_path: Path) -> Store:
    store = Store()
    frame = long(_EMPTY_ROWS)
    if kind == "dataframe":
        store.load_attributes(frame, types={"ltv": "number"})
    elif kind == "csv":
        store.load_attributes(
            write_csv(tmp_path / "rows.csv", _EMPTY_ROWS), types={"ltv": "number"}
        )
    else:
        store.load_attributes(
            write_parquet(tmp_path / "rows.parquet", frame), types={"ltv": "number"}
        )
    return store


@pytest.mark.parametrize("kind", ["dataframe", "csv", "parquet"])
def test_an_empty_string_unsets_from_every_source(kind, tmp_path):
    store = _empty_string_store(kind, tmp_path)
    assert store.attribute_types == {"email": "string", "ltv": "number"}
    assert store.history(1)["value"].tolist() == ["a@example.com", 5.0, None, None]
    assert store.history(2)["value"].tolist() == [None]
    state = store.state_at("2026-03-01")
    assert state["email"].tolist() == [None, None]
    assert state["ltv"].isna().all()


def test_an_empty_string_gives_the_same_store_from_every_source(tmp_path):
    tables = []
    for kind in ("dataframe", "csv", "parquet"):
        store = _empty_string_store(kind, tmp_path)
        tables.append(store.con.execute("SELECT * FROM segsim_changes ORDER BY ALL").fetchall())
    assert tables[0] == tables[1] == tables[2]


def test_an_empty_string_in_a_snapshot_is_unset(tmp_path):
    store = Store()
    store.load_attributes(long([(1, "2026-01-01", "email", "a@example.com")]))
    snapshot = pd.DataFrame({"contact_id": [1], "email": [""]})
    assert store.load_snapshot(snapshot, ts="2026-02-01") == 1
    assert store.history(1)["value"].tolist() == ["a@example.com", None]


# -- integer ids never wrap (#11 item 19) -------------------------------------------------------


def test_uint64_ids_beyond_int64_from_a_dataframe_are_refused():
    frame = pd.DataFrame(
        {
            "contact_id": np.array([1, 2**63, 2**64 - 1], dtype=np.uint64),
            "ts": ["2026-01-01"] * 3,
            "attribute": ["plan"] * 3,
            "value": ["a", "b", "c"],
        }
    )
    store = Store()
    with pytest.raises(DataLoadError) as info:
        store.load_attributes(frame)
    assert str(info.value) == (
        "DataFrame, column 'contact_id', row with index 1: contact id 9223372036854775808 is "
        "outside the 64-bit integer range; give such ids as strings"
    )
    assert store.id_type is None


def test_uint64_ids_beyond_int64_from_parquet_are_refused(tmp_path):
    frame = pd.DataFrame(
        {
            "contact_id": np.array([2**64 - 1, 5], dtype=np.uint64),
            "ts": pd.to_datetime(["2026-01-01"] * 2, utc=True),
            "attribute": ["plan"] * 2,
            "value": ["a", "b"],
        }
    )
    path = write_parquet(tmp_path / "ids.parquet", frame)
    with pytest.raises(
        DataLoadError,
        match=r"ids\.parquet', column 'contact_id', row 1: contact id 18446744073709551615 is outside the 64-bit integer range",
    ):
        Store().load_attributes(path)


def test_minus_one_and_two_to_the_64_minus_one_never_merge():
    frame = long([(-1, "2026-01-01", "plan", "a"), (2**64 - 1, "2026-01-01", "plan", "b")])
    with pytest.raises(
        DataLoadError, match=r"row with index 1: contact id 18446744073709551615 is outside"
    ):
        Store().load_attributes(frame)


@pytest.mark.parametrize("kind", ["dataframe", "parquet"])
def test_uint64_ids_within_range_load_as_integers(kind, tmp_path):
    frame = pd.DataFrame(
        {
            "contact_id": np.array([7, 2**63 - 1], dtype=np.uint64),
            "ts": pd.to_datetime(["2026-01-01"] * 2, utc=True),
            "attribute": ["plan"] * 2,
            "value": ["a", "b"],
        }
    )
    data = frame if kind == "dataframe" else write_parquet(tmp_path / "ids.parquet", frame)
    store = Store()
    store.load_attributes(data)
    assert store.contacts["contact_id"].tolist() == [7, 2**63 - 1]
    assert store.history(2**63 - 1)["value"].tolist() == ["b"]


# -- unset values are None in history (#11 item 23) ---------------------------------------------


def test_history_gives_none_for_unset_values_of_every_type():
    store = Store()
    store.load_attributes(
        long(
            [
                (1, "2026-01-01", "ltv", 5.0),
                (1, "2026-02-01", "ltv", None),
                (1, "2026-01-01", "vip", True),
                (1, "2026-02-01", "vip", None),
                (1, "2026-01-01", "seen", ts("2026-01-01")),
                (1, "2026-02-01", "seen", None),
                (1, "2026-01-01", "plan", "pro"),
                (1, "2026-02-01", "plan", None),
            ]
        )
    )
    history = store.history(1)
    unset = history[history["ts"] == ts("2026-02-01")]
    assert unset["value"].tolist() == [None, None, None, None]
    assert all(v is None for v in unset["value"])
    assert history["value"].dtype == object
    assert [type(v) for v in history[history["ts"] == ts("2026-01-01")]["value"]] == [
        float,
        str,
        pd.Timestamp,
        bool,
    ]


# -- timestamps and numbers read the same way from text -----------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-01-31", "2026-01-31 00:00"),
        ("2026-01-31 09:30", "2026-01-31 09:30"),
        ("2026-01-31T09:30:00.5Z", "2026-01-31 09:30:00.5"),
        ("2026-01-31T09:30+02:00", "2026-01-31 07:30"),
        ("2026-01-31 09:30:00-05", "2026-01-31 14:30"),
        ("  2026-01-31T09:30Z ", "2026-01-31 09:30"),
    ],
)
def test_iso_timestamps_are_read_in_utc(text, expected):
    store = Store()
    store.load_attributes(long([(1, text, "plan", "x")]))
    assert store.history(1)["ts"].tolist() == [ts(expected)]


@pytest.mark.parametrize(
    "text", ["31/01/2026", "2026-1-31", "10000-01-01", "yesterday", "20260131"]
)
def test_other_timestamp_forms_are_refused(text):
    with pytest.raises(
        DataLoadError, match=rf"column 'ts', row with index 0: cannot read '{text}' as a timestamp"
    ):
        Store().load_attributes(long([(1, text, "plan", "x")]))


@pytest.mark.parametrize("text", ["1_000", "nan", "0x1A", "1,5"])
def test_number_text_that_does_not_read_is_refused(text):
    with pytest.raises(
        DataLoadError, match=r"attribute 'ltv' is number, but value .* does not read as number"
    ):
        Store().load_attributes(long([(1, "2026-01-01", "ltv", text)]), types={"ltv": "number"})


def test_declared_booleans_read_their_words_in_any_case():
    words = ["true", "T", "Yes", "y", "1", " false ", "F", "NO", "n", "0"]
    rows = [(i, "2026-01-01", "vip", w) for i, w in enumerate(words)]
    store = Store()
    store.load_attributes(long(rows), types={"vip": "boolean"})
    assert store.state_at("2026-01-01")["vip"].tolist() == [True] * 5 + [False] * 5


def test_names_that_look_like_sql_or_internal_columns_are_plain_names():
    names = ["value__int", 'it\'s "quoted"', "name__text", "a; DROP TABLE x"]
    rows = [(1, "2026-01-01", name, str(i)) for i, name in enumerate(names)]
    store = Store()
    assert store.load_attributes(long(rows), types={n: "string" for n in names}) == 4
    assert sorted(store.attribute_types) == sorted(names)
    assert dict(zip(store.history(1)["attribute"], store.history(1)["value"], strict=True)) == {
        name: str(i) for i, name in enumerate(names)
    }
    events = pd.DataFrame(
        {"contact_id": [1], "ts": ["2026-01-01"], "event": ["it's"], "p__text": ["x"]}
    )
    store.load_events(events)
    assert store.event_property_types == {"p__text": "string"}
    assert store.events["p__text"].tolist() == ["x"]
