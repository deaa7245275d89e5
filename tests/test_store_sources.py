"""Tests of segsim.store.sources: a DataFrame, a CSV file and a Parquet file of the same rows
give identical stores (property-tested), and each source names its rows its own way."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from segsim.errors import DataLoadError
from segsim.store import Store

_INSTANTS = [
    pd.Timestamp(text, tz="UTC")
    for text in ("2026-01-01 00:00", "2026-01-01 09:30", "2026-02-01 12:00:00.5", "2026-03-01")
]

# each attribute's values as text, as exports hold them; "" and None are unset
_VALUES = {
    "plan": st.sampled_from(["free", "pro", "churned", "Pro plan"]),
    "ltv": st.integers(-2000, 2000).map(lambda i: str(i / 4)),
    "vip": st.sampled_from(["true", "false", "TRUE"]),
    "seen": st.sampled_from(
        ["2026-01-05T10:00:00Z", "2026-01-06 08:00", "2026-02-01T00:00:00+02:00"]
    ),
}


@st.composite
def histories(draw: st.DrawFn) -> tuple[pd.DataFrame, dict]:
    integer_ids = draw(st.booleans())
    ids = st.integers(-3, 40) if integer_ids else st.sampled_from(["a", "b", "c-1", "d e"])
    rows = []
    for _ in range(draw(st.integers(1, 12))):
        attribute = draw(st.sampled_from(sorted(_VALUES)))
        value = draw(st.one_of(_VALUES[attribute], st.sampled_from(["", None])))
        rows.append((draw(ids), draw(st.sampled_from(_INSTANTS)), attribute, value))
    frame = pd.DataFrame(rows, columns=["contact_id", "ts", "attribute", "value"])
    frame["ts"] = frame["ts"].astype("datetime64[us, UTC]")
    frame["value"] = frame["value"].astype(object)
    options: dict = {"on_conflict": draw(st.sampled_from(["error", "last"]))}
    if draw(st.booleans()):
        options["types"] = {"ltv": "number", "seen": "timestamp"}
    return frame, options


def _contents(store: Store) -> dict:
    tables = {
        table: store.con.execute(f"SELECT * FROM {table} ORDER BY ALL").fetchall()
        for table in ("segsim_meta", "segsim_attributes", "segsim_changes")
    }
    return {"tables": tables, "types": store.attribute_types, "id_type": store.id_type}


def _load(data, options: dict) -> dict | type:
    store = Store()
    try:
        store.load_attributes(data, **options)
    except DataLoadError:
        return DataLoadError
    return _contents(store)


_FOLDER = Path(tempfile.mkdtemp(prefix="segsim-sources-"))


def _same_store_from_every_source(frame: pd.DataFrame, options: dict, folder: Path) -> dict | type:
    csv, parquet = folder / "rows.csv", folder / "rows.parquet"
    frame.to_csv(csv, index=False)
    frame.to_parquet(parquet)
    from_frame = _load(frame, options)
    assert _load(csv, options) == from_frame
    assert _load(parquet, options) == from_frame
    return from_frame


# three stores and two files per example (~0.3 s)
@given(histories())
def test_dataframe_csv_and_parquet_of_the_same_rows_give_identical_stores(history):
    _same_store_from_every_source(*history, _FOLDER)


@pytest.mark.slow
@pytest.mark.timeout(3600)
@settings(settings.get_profile("long"))
@given(histories())
def test_dataframe_csv_and_parquet_of_the_same_rows_give_identical_stores_long(history):
    _same_store_from_every_source(*history, _FOLDER)


_T = _INSTANTS


@pytest.mark.parametrize(
    ("rows", "options"),
    [
        # repeated identical rows, an unset by "" and by None, a key given twice: keep the last
        (
            [
                (1, _T[0], "plan", "free"),
                (1, _T[0], "plan", "free"),
                (1, _T[1], "plan", ""),
                (2, _T[1], "ltv", "2.5"),
                (2, _T[2], "ltv", None),
                (2, _T[2], "ltv", "-1.0"),
            ],
            {"on_conflict": "last"},
        ),
        # the same key with two values is refused from every source
        ([(1, _T[0], "plan", "free"), (1, _T[0], "plan", "pro")], {"on_conflict": "error"}),
        # string ids; every type inferred from text
        (
            [
                ("a", _T[0], "vip", "TRUE"),
                ("b", _T[3], "vip", "false"),
                ("d e", _T[1], "seen", "2026-02-01T00:00:00+02:00"),
                ("a", _T[2], "seen", "2026-01-06 08:00"),
                ("c-1", _T[2], "ltv", "0.25"),
            ],
            {"on_conflict": "error"},
        ),
    ],
    ids=["repeats-and-unsets", "conflict", "string-ids-inferred-types"],
)
def test_chosen_histories_give_identical_stores_from_every_source(rows, options, tmp_path):
    frame = pd.DataFrame(rows, columns=["contact_id", "ts", "attribute", "value"])
    frame["ts"] = frame["ts"].astype("datetime64[us, UTC]")
    frame["value"] = frame["value"].astype(object)
    outcome = _same_store_from_every_source(frame, options, tmp_path)
    if (
        options["on_conflict"] == "error"
        and rows[0][3] != rows[1][3]
        and rows[0][:3] == rows[1][:3]
    ):
        assert outcome is DataLoadError
    else:
        assert isinstance(outcome, dict) and outcome["tables"]["segsim_changes"]


# -- naming rows -----------------------------------------------------------------------------------


def test_each_source_names_its_rows(tmp_path):
    frame = pd.DataFrame(
        {
            "contact_id": [1, 2],
            "ts": ["2026-01-01", "soon"],
            "attribute": ["a", "a"],
            "value": ["x", "y"],
        },
        index=[10, 20],
    )
    frame.to_csv(tmp_path / "rows.csv", index=False)
    frame.to_parquet(tmp_path / "rows.parquet")
    with pytest.raises(
        DataLoadError, match=r"^DataFrame, column 'ts', row with index 20: cannot read 'soon'"
    ):
        Store().load_attributes(frame)
    with pytest.raises(
        DataLoadError, match=r"rows\.csv', column 'ts', row 2 \(line 3\): cannot read 'soon'"
    ):
        Store().load_attributes(tmp_path / "rows.csv")
    with pytest.raises(
        DataLoadError, match=r"rows\.parquet', column 'ts', row 2: cannot read 'soon'"
    ):
        Store().load_attributes(tmp_path / "rows.parquet")


def test_a_quoted_line_break_in_a_csv_value(tmp_path):
    path = tmp_path / "rows.csv"
    path.write_text(
        'contact_id,ts,attribute,value\n1,2026-01-01,address,"1 Main St\nSpringfield"\n'
    )
    store = Store()
    store.load_attributes(path)
    assert store.history(1)["value"].tolist() == ["1 Main St\nSpringfield"]


def test_an_empty_csv_file(tmp_path):
    path = tmp_path / "rows.csv"
    path.write_text("")
    with pytest.raises(DataLoadError, match=r"rows\.csv' cannot be read: the file is empty"):
        Store().load_attributes(path)


def test_a_file_that_is_not_parquet(tmp_path):
    path = tmp_path / "rows.parquet"
    path.write_text("not parquet")
    with pytest.raises(DataLoadError, match=r"rows\.parquet' cannot be read"):
        Store().load_attributes(path)


def test_a_mixed_object_column_with_native_values_of_each_kind():
    frame = pd.DataFrame(
        {
            "contact_id": [1, 1, 1, 1],
            "ts": [
                "2026-01-01",
                pd.Timestamp("2026-01-01", tz="Europe/Paris"),
                "2026-01-01",
                "2026-01-01",
            ],
            "attribute": ["plan", "plan", "ltv", "vip"],
            "value": ["pro", "free", 3, True],
        },
        dtype=object,
    )
    store = Store()
    assert store.load_attributes(frame) == 4
    assert store.history(1)["ts"].tolist() == [
        pd.Timestamp("2025-12-31 23:00", tz="UTC"),
        pd.Timestamp("2026-01-01", tz="UTC"),
        pd.Timestamp("2026-01-01", tz="UTC"),
        pd.Timestamp("2026-01-01", tz="UTC"),
    ]
    assert store.attribute_types == {"plan": "string", "ltv": "number", "vip": "boolean"}
