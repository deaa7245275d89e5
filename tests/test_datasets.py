"""Tests of segsim.datasets: the synthetic demo population and the sample files."""

from __future__ import annotations

import importlib
import io
import time
import zoneinfo
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from segsim.datasets import (
    DEMO_EVENT_PROPERTIES,
    DEMO_EVENTS,
    DEMO_LISTS,
    DEMO_TYPES,
    demo,
    demo_events,
    demo_frames,
)
from segsim.datasets.demo import _ZONES
from segsim.store import Store

# the module (``segsim.datasets.demo`` the attribute is the function)
demo_module = importlib.import_module("segsim.datasets.demo")

SAMPLES = Path(__file__).resolve().parents[1] / "datasets"
START = pd.Timestamp("2026-01-01", tz="UTC")
END = pd.Timestamp("2026-07-01", tz="UTC")
N = 600

_PYTHON_TYPE = {"string": str, "number": float, "boolean": bool, "timestamp": pd.Timestamp}


@pytest.fixture(scope="module")
def frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    return demo_frames(contacts=N, seed=7)


@pytest.fixture(scope="module")
def attributes(frames) -> pd.DataFrame:
    return frames[0]


@pytest.fixture(scope="module")
def lists(frames) -> pd.DataFrame:
    return frames[1]


@pytest.fixture(scope="module")
def events() -> pd.DataFrame:
    return demo_events(contacts=N, seed=7)


@pytest.fixture(scope="module")
def store() -> Store:
    return demo(contacts=N, seed=7)


def changes(attributes: pd.DataFrame, name: str) -> pd.DataFrame:
    """One attribute's rows in time order per contact, with the previous value alongside."""
    rows = attributes[attributes["attribute"] == name].sort_values(
        ["contact_id", "ts"], kind="stable"
    )
    rows = rows.assign(previous=rows.groupby("contact_id")["value"].shift())
    return rows


# -- determinism and schema ---------------------------------------------------------------------


def test_same_seed_gives_identical_rows():
    a_attributes, a_lists = demo_frames(contacts=200, seed=3)
    b_attributes, b_lists = demo_frames(contacts=200, seed=3)
    pd.testing.assert_frame_equal(a_attributes, b_attributes)
    pd.testing.assert_frame_equal(a_lists, b_lists)


def test_different_seed_gives_different_rows():
    a_attributes, _ = demo_frames(contacts=200, seed=3)
    b_attributes, _ = demo_frames(contacts=200, seed=4)
    assert not a_attributes.equals(b_attributes)


def test_demo_store_holds_the_frames(store, attributes, lists, events):
    assert store.attribute_types == DEMO_TYPES
    assert store.list_names == sorted(DEMO_LISTS)
    assert store.event_names == sorted(DEMO_EVENTS)
    assert store.event_property_types == dict(sorted(DEMO_EVENT_PROPERTIES.items()))
    assert store.id_type == "integer"
    assert store.contacts["contact_id"].tolist() == list(range(1, N + 1))
    catalog = store.attributes.set_index("name")["rows"]
    assert catalog.to_dict() == attributes["attribute"].value_counts().to_dict()
    occurrences = store.event_catalog.set_index("name")["occurrences"]
    assert occurrences.to_dict() == events["event"].value_counts().to_dict()
    # contacts count attribute, list and event rows
    assert int(store.contacts["changes"].sum()) == len(attributes) + len(lists) + len(events)


def test_frame_columns_and_dtypes(attributes, lists):
    assert list(attributes.columns) == ["contact_id", "ts", "attribute", "value"]
    assert list(lists.columns) == ["contact_id", "ts", "list", "member"]
    assert str(attributes["ts"].dtype) == "datetime64[us, UTC]"
    assert str(lists["ts"].dtype) == "datetime64[us, UTC]"
    assert attributes["contact_id"].dtype == np.int64
    assert lists["member"].dtype == bool
    assert set(attributes["attribute"]) == set(DEMO_TYPES)
    assert set(lists["list"]) == set(DEMO_LISTS)
    assert not attributes.duplicated(["contact_id", "ts", "attribute"]).any()


def test_values_have_their_declared_types(attributes):
    for name, kind in DEMO_TYPES.items():
        values = attributes.loc[attributes["attribute"] == name, "value"]
        present = values[values.notna()]
        assert len(present), name
        assert all(isinstance(v, _PYTHON_TYPE[kind]) for v in present), name
        if kind == "timestamp":
            assert all(str(v.tz) == "UTC" for v in present), name


def test_timestamps_are_realistic(attributes, lists):
    ts = pd.concat([attributes["ts"], lists["ts"]])
    assert ts.max() < END
    assert ts.min() >= START - pd.Timedelta(days=183)
    at_midnight = (ts == ts.dt.floor("D")).mean()
    assert at_midnight < 0.01
    hours = ts.dt.hour.value_counts(normalize=True)
    assert hours.loc[9:17].sum() > hours.loc[0:5].sum() * 3


def test_rows_per_contact_are_reasonable(attributes):
    per_contact = len(attributes) / N
    assert 15 <= per_contact <= 30


def test_months_and_start_bound_the_window():
    attributes, lists = demo_frames(contacts=100, seed=7, start="2025-03-15", months=2)
    end = pd.Timestamp("2025-05-15", tz="UTC")
    assert attributes["ts"].max() < end
    assert lists["ts"].max() < end
    assert attributes["ts"].min() < pd.Timestamp("2025-03-15", tz="UTC")


def test_bad_arguments():
    with pytest.raises(ValueError, match="contacts"):
        demo_frames(contacts=0)
    with pytest.raises(ValueError, match="months"):
        demo_frames(contacts=10, months=0)


def test_file_store(tmp_path):
    path = tmp_path / "demo.duckdb"
    demo(contacts=30, seed=7, path=path).close()
    with Store(path, read_only=True) as store:
        assert store.attribute_types == DEMO_TYPES
        assert len(store.contacts) == 30


@pytest.mark.slow
def test_five_thousand_contacts_is_fast():
    started = time.perf_counter()
    store = demo(contacts=5_000, seed=7)
    assert time.perf_counter() - started < 4.0
    assert len(store.contacts) == 5_000


# -- plausible dynamics ---------------------------------------------------------------------------


def test_state_at_start_is_not_empty(store):
    state = store.state_at(START)
    assert 0.25 * N < len(state) < 0.55 * N
    assert state["plan"].notna().all()
    assert set(state["plan"]) >= {"free", "pro"}


def test_everyone_signs_up_once_as_free(attributes):
    signups = changes(attributes, "signup_at")
    assert signups["contact_id"].is_unique and len(signups) == N
    assert (signups["value"] == signups["ts"]).all()
    first_plan = changes(attributes, "plan").groupby("contact_id").first()
    assert (first_plan["value"] == "free").all()
    assert (first_plan["ts"] == signups.set_index("contact_id")["ts"]).all()


def test_plan_goes_free_pro_churned(attributes):
    plan = changes(attributes, "plan")
    steps = plan.dropna(subset=["previous"])
    assert set(zip(steps["previous"], steps["value"], strict=True)) == {
        ("free", "pro"),
        ("pro", "churned"),
    }
    upgraded = set(steps.loc[steps["value"] == "pro", "contact_id"])
    assert 0.15 * N < len(upgraded) < 0.5 * N
    assert (steps["value"] == "churned").sum() > 0


def test_countries_are_a_realistic_mix(attributes):
    shares = attributes.loc[attributes["attribute"] == "country", "value"].value_counts(
        normalize=True
    )
    assert set(shares.index) == {"FR", "DE", "ES", "IT", "GB", "US"}
    assert shares.idxmax() == "FR"


def test_time_zones_are_iana_names_of_the_contacts_country(attributes):
    zones = changes(attributes, "timezone")
    assert all(
        isinstance(zoneinfo.ZoneInfo(name), zoneinfo.ZoneInfo) for name in set(zones["value"])
    )
    # the country in force at each zone row (a move abroad changes both at one instant)
    country = attributes[attributes["attribute"] == "country"].sort_values("ts", kind="stable")
    at = pd.merge_asof(
        zones.sort_values("ts", kind="stable"),
        country[["contact_id", "ts", "value"]].rename(columns={"value": "country"}),
        on="ts",
        by="contact_id",
    )
    assert all(
        zone in {name for name, _ in _ZONES[code]}
        for zone, code in zip(at["value"], at["country"], strict=True)
    )
    final = zones.groupby("contact_id")["value"].last()
    assert final.nunique() >= 5 and {"Europe/Paris", "America/New_York"} <= set(final)


def test_a_few_zones_are_unknown_and_a_few_contacts_move(attributes):
    zones = changes(attributes, "timezone")
    signups = changes(attributes, "signup_at").set_index("contact_id")["ts"]
    first = zones.groupby("contact_id").first()
    assert (first["ts"] == signups.loc[first.index]).all()  # a known zone is known at sign-up
    # shares within 4 standard errors of the generator's 3% unknown and 3% (of the known) movers
    unknown = 1 - len(first) / N
    assert abs(unknown - 0.03) <= 4 * np.sqrt(0.03 * 0.97 / N)
    moves = zones.dropna(subset=["previous"])
    assert moves["contact_id"].is_unique and (moves["value"] != moves["previous"]).all()
    # (moves after the window's end are dropped: the share is at most 3%)
    assert 0 < len(moves) / len(first) <= 0.03 + 4 * np.sqrt(0.03 * 0.97 / len(first))
    assert (
        moves["ts"].dt.floor("D") > signups.loc[moves["contact_id"]].dt.floor("D").to_numpy()
    ).all()
    abroad = changes(attributes, "country").dropna(subset=["previous"])
    assert set(zip(abroad["contact_id"], abroad["ts"], strict=True)) <= set(
        zip(moves["contact_id"], moves["ts"], strict=True)
    )
    assert len(abroad) > 0


def test_time_zones_leave_the_other_rows_as_they_were(monkeypatch, attributes, lists):
    """The zones come from a generator of their own: without any zone (every contact
    unknown, nobody moves) the rows are exactly the others."""
    monkeypatch.setattr(demo_module, "_ZONE_UNKNOWN", 1.0)
    bare_attributes, bare_lists = demo_frames(contacts=N, seed=7)
    assert "timezone" not in set(bare_attributes["attribute"])
    moved_country = (attributes["attribute"] == "country") & attributes.duplicated(
        ["contact_id", "attribute"]
    )
    others = attributes[(attributes["attribute"] != "timezone") & ~moved_country]
    pd.testing.assert_frame_equal(bare_attributes, others.reset_index(drop=True))
    pd.testing.assert_frame_equal(bare_lists, lists)


def test_email_and_phone_coverage(store):
    final = store.state_at(END)
    assert 0.8 < final["email"].notna().mean() < 0.98
    assert 0.5 < final["phone"].notna().mean() < 0.7
    assert final["phone"].dropna().str.match(r"^\+\d{10,13}$").all()


def test_some_emails_are_removed(attributes):
    email = changes(attributes, "email")
    removed = email[email["value"].isna()]
    assert len(removed) > 0
    assert removed["previous"].notna().all()


def test_subscriptions_change_both_ways(attributes):
    for name in ("email_subscribed", "sms_subscribed", "whatsapp_subscribed"):
        rows = changes(attributes, name).dropna(subset=["previous"])
        pairs = set(zip(rows["previous"], rows["value"], strict=True))
        assert (True, False) in pairs, name  # unsubscribes
        assert (False, True) in pairs, name  # opt-ins


def test_purchases_count_up_and_ltv_grows(attributes):
    count = changes(attributes, "purchase_count")
    assert (count.groupby("contact_id")["value"].first() == 0).all()
    steps = count.dropna(subset=["previous"])
    assert ((steps["value"] - steps["previous"]) == 1).all()
    ltv = changes(attributes, "ltv").dropna(subset=["previous"])
    assert (ltv["value"] > ltv["previous"]).all()
    purchases = changes(attributes, "last_purchase_at")
    assert (purchases["value"] == purchases["ts"]).all()
    assert len(purchases) == len(steps) == len(ltv)
    assert 0.2 * N < purchases["contact_id"].nunique() < 0.8 * N


def test_a_purchase_is_a_visit(attributes):
    keys = ["contact_id", "ts"]
    purchases = attributes.loc[attributes["attribute"] == "last_purchase_at", keys]
    visits = attributes.loc[attributes["attribute"] == "last_seen_at", keys]
    assert len(purchases.merge(visits, on=keys)) == len(purchases)


def test_customers_join_at_first_purchase(attributes, lists):
    first_purchase = changes(attributes, "last_purchase_at").groupby("contact_id")["ts"].min()
    customers = lists[lists["list"] == "customers"]
    assert customers["member"].all()
    assert customers["contact_id"].is_unique
    assert customers.set_index("contact_id")["ts"].sort_index().equals(first_purchase.sort_index())


def test_newsletter_joins_and_leaves(lists):
    newsletter = lists[lists["list"] == "newsletter"].sort_values(["contact_id", "ts"])
    assert newsletter["member"].any() and (~newsletter["member"]).any()
    # a contact leaves only after joining, and at most once each way
    for _, rows in newsletter.groupby("contact_id"):
        assert rows["member"].tolist() in ([True], [True, False])


def test_activity_stops_and_resumes(attributes):
    seen = changes(attributes, "last_seen_at")
    last_visit = seen.groupby("contact_id")["ts"].max()
    inactive = (END - last_visit) > pd.Timedelta(days=60)
    assert 0.1 < inactive.mean() < 0.6
    gaps = seen.groupby("contact_id")["ts"].diff()
    resumed = seen.loc[gaps > pd.Timedelta(days=45), "contact_id"].nunique()
    assert resumed > 0


# -- sample files ---------------------------------------------------------------------------------


def test_sample_files_load():
    store = Store()
    rows = store.load_attributes(SAMPLES / "sample_attributes.csv", types=DEMO_TYPES)
    store.load_lists(SAMPLES / "sample_lists.csv")
    assert rows > 0
    assert store.attribute_types == DEMO_TYPES
    assert store.list_names == sorted(DEMO_LISTS)
    assert store.contacts["contact_id"].tolist() == list(range(1, 21))


def test_sample_files_infer_the_demo_types():
    store = Store()
    store.load_attributes(SAMPLES / "sample_attributes.csv")
    assert store.attribute_types == DEMO_TYPES


def test_sample_files_match_the_generator():
    attributes, lists = demo_frames(contacts=20, seed=7)
    events = demo_events(contacts=20, seed=7)
    for frame, name in (
        (attributes, "sample_attributes.csv"),
        (lists, "sample_lists.csv"),
        (events, "sample_events.csv"),
    ):
        text = io.StringIO()
        frame.to_csv(text, index=False)
        assert (SAMPLES / name).read_text() == text.getvalue(), f"regenerate datasets/{name}"


def test_sample_files_hold_what_demo_holds():
    sample = Store()
    sample.load_attributes(SAMPLES / "sample_attributes.csv", types=DEMO_TYPES)
    sample.load_lists(SAMPLES / "sample_lists.csv")
    sample.load_events(SAMPLES / "sample_events.csv")  # property types inferred from the text
    assert sample.event_property_types == dict(sorted(DEMO_EVENT_PROPERTIES.items()))
    built = demo(contacts=20, seed=7)
    for contact_id in range(1, 21):
        pd.testing.assert_frame_equal(sample.history(contact_id), built.history(contact_id))


# -- events ---------------------------------------------------------------------------------------


def test_events_are_deterministic():
    # (that the attribute and list rows stayed the same is pinned by the sample files)
    a = demo_events(contacts=200, seed=3)
    pd.testing.assert_frame_equal(a, demo_events(contacts=200, seed=3))
    assert not a.equals(demo_events(contacts=200, seed=4))
    assert len(demo(contacts=200, seed=3).events) == len(a)


def test_event_columns_and_dtypes(events):
    assert list(events.columns) == ["contact_id", "ts", "event", "page", "amount", "category"]
    assert str(events["ts"].dtype) == "datetime64[us, UTC]"
    assert events["contact_id"].dtype == np.int64
    assert set(events["event"]) == set(DEMO_EVENTS)
    views = events[events["event"] == "page_view"]
    buys = events[events["event"] == "purchase"]
    assert views["page"].notna().all() and views["amount"].isna().all()
    assert (
        buys["amount"].gt(0).all() and buys["category"].notna().all() and buys["page"].isna().all()
    )
    assert events["ts"].is_monotonic_increasing and events["ts"].max() < END


def test_a_page_view_at_every_visit(attributes, events):
    keys = ["contact_id", "ts"]
    seen = attributes.loc[attributes["attribute"] == "last_seen_at", keys]
    views = events.loc[events["event"] == "page_view", keys].drop_duplicates()
    assert len(seen) == len(views) == len(seen.merge(views, on=keys))
    signups = events[events["page"] == "/signup"]
    assert signups["contact_id"].is_unique and len(signups) == N


def test_a_purchase_at_every_purchase_change(attributes, events):
    keys = ["contact_id", "ts"]
    buys = events[events["event"] == "purchase"]
    bought = attributes.loc[attributes["attribute"] == "last_purchase_at", keys]
    assert len(buys.drop_duplicates(keys)) == len(
        bought.merge(buys[keys].drop_duplicates(), on=keys)
    )
    assert len(bought) == len(buys.drop_duplicates(keys))
    # purchase_count ends at the number of purchases, ltv at the sum of their amounts
    final = attributes.sort_values("ts", kind="stable").groupby(["contact_id", "attribute"]).last()
    count = final.xs("purchase_count", level="attribute")["value"].astype(float)
    ltv = final.xs("ltv", level="attribute")["value"].astype(float)
    per_contact = buys.groupby("contact_id")["amount"].agg(["count", "sum"])
    buyers = per_contact.index
    assert (count.loc[buyers] == per_contact["count"]).all()
    assert np.allclose(ltv.loc[buyers], per_contact["sum"], atol=0.01)
    assert (count.drop(buyers) == 0).all()


def test_a_scenario_file_runs_on_other_data_without_opening_its_own(tmp_path):
    from segsim import datasets
    from segsim.scenario import DemoSource, load_scenario

    # the file names data that does not exist: with data=..., it is never opened
    path = tmp_path / "scenario.yaml"
    text = datasets.DEMO_SCENARIO.read_text(encoding="utf-8")
    text = text.replace(
        "  kind: demo\n  contacts: 5000\n  seed: 7\n", "  kind: csv\n  path: missing.csv\n"
    )
    path.write_text(text, encoding="utf-8")
    on_demo = load_scenario(path, data=DemoSource(contacts=40))
    assert on_demo.data == DemoSource(contacts=40)
    assert len(on_demo.store.contacts) == 40
    store = datasets.demo(contacts=30)
    on_store = load_scenario(path, data=store)
    assert on_store.store is store
    assert datasets.demo_scenario(contacts=20).data == DemoSource(contacts=20, seed=7)
