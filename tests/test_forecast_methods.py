"""Forward projection: each future's own flow randomness, and the fitted ("poisson") method."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

import segsim as ss
from segsim import schema
from segsim.forecast import _History, _rng
from segsim.forecast._fitted import fit_event_rates
from segsim.scenario import ForecastSettings
from tests.engine_helpers import day, make_store, reachable

H = day(30).to_pydatetime()  # the history end of every scenario here
H_NAIVE = pd.Timestamp(H).tz_convert(None)  # as the drawn occurrences give it (naive UTC)
PRO = ss.Segment("Pro", ss.attr("plan") == "pro")


def split_scenario(contacts: int, end: float = 30) -> ss.Scenario:
    # every contact: free from day -30, pro on day 5, free on day 15, pro again on day 25;
    # each entry takes path A (an email) or B (an SMS), 50/50
    rows = []
    for c in range(1, contacts + 1):
        rows += [*reachable(c), (c, -30, "plan", "free"), (c, 5, "plan", "pro")]
        rows += [(c, 15, "plan", "free"), (c, 25, "plan", "pro")]
    flow = ss.Flow(
        "AB",
        trigger=ss.SegmentTrigger("Pro"),
        steps=[
            ss.Split(
                "ab",
                paths={
                    "A": [ss.SendEmail("a", template="a")],
                    "B": [ss.SendSMS("b", template="b")],
                },
                weights={"A": 50, "B": 50},
            )
        ],
        settings=ss.ActivationSettings(allow_reentry=True, reentry_mode="event"),
    )
    return ss.Scenario(
        make_store(rows), segments=[PRO], flows=[flow], start=day(0), end=day(end), seed=5
    )


def test_each_future_draws_the_flows_choices_of_its_own_replication():
    # every contact has the same trajectory, so every donor is alike and every future holds
    # the same rows: its block [0, 30) shifted by 30 days (pro on day 35 - no change - free
    # on 45, pro on 55). What varies between futures is the split alone: future r takes
    # the paths of replication r, exactly as a replay of that future with replications=R.
    # (positions=1: the last block only, so the rows are the same in every future)
    sc = split_scenario(40)
    fc = ss.forecast(sc, horizon="30d", replications=6, seed=1, positions=1)
    rows = []
    for c in range(1, 41):
        rows += [*reachable(c), (c, -30, "plan", "free"), (c, 5, "plan", "pro")]
        rows += [(c, 15, "plan", "free"), (c, 25, "plan", "pro"), (c, 45, "plan", "free")]
        rows += [(c, 55, "plan", "pro")]
    replay = ss.simulate(
        sc.with_store(make_store(rows)).replace(end=day(60)), progress=False, replications=6
    ).actions
    replay = replay[(replay["time"] >= day(30)) & (replay["status"] == "sent")]
    expected = replay.groupby(["replication", "channel"]).size().to_dict()
    frame = fc.to_frame()
    got = frame[frame["messages"] > 0].groupby(["replication", "channel"])["messages"].sum()
    assert got.to_dict() == expected
    # the 40 entries of day 55 split differently in each future: the interval sees it
    email = frame[frame["channel"] == "email"].groupby("replication")["messages"].sum()
    assert email.nunique() > 1
    assert (
        (email + frame[frame["channel"] == "sms"].groupby("replication")["messages"].sum())
        .eq(40)
        .all()
    )
    # deterministic for a seed
    again = ss.forecast(sc, horizon="30d", replications=6, seed=1, positions=1)
    pd.testing.assert_frame_equal(again.to_frame(), frame)


# -- the fitted method ------------------------------------------------------------------------


def event_store(rates: list[float], seed: int = 0, ids: str = "integer") -> ss.Store:
    """Contact ``i`` (1-based) present from day -70, with Poisson purchases at ``rates[i-1]``
    per day over [-70, 30), each with an ``amount``."""
    rng = np.random.default_rng(seed)
    key = (lambda c: c) if ids == "integer" else (lambda c: f"c{c}")
    rows, events = [], []
    for c, rate in enumerate(rates, start=1):
        rows += [(key(c), d, a, v) for _, d, a, v in reachable(c, at=-70)]
        for t in np.sort(rng.random(rng.poisson(rate * 100)) * 100 - 70):
            events.append((key(c), day(float(t)), "purchase", float(rng.integers(1, 100))))
    store = make_store(rows)
    store.load_events(pd.DataFrame(events, columns=["contact_id", "ts", "event", "amount"]))
    return store


def test_the_fitted_rate_recovers_a_known_rate_within_4_standard_errors():
    store = event_store([0.2] * 300)
    fit = fit_event_rates(_History(store, H, dt.timedelta(0)))
    row = fit.events.iloc[0]
    assert row["event"] == "purchase" and row["contacts"] == 300
    assert row["exposure_days"] == pytest.approx(300 * 100)
    se = np.sqrt(0.2 / (300 * 100))  # the standard error of the pooled rate at the true rate
    assert abs(row["pooled_rate"] - 0.2) < 4 * se
    assert row["pooled_se"] == pytest.approx(np.sqrt(row["occurrences"]) / 30_000)


def test_contacts_rates_are_shrunk_towards_the_pooled_rate():
    # half the contacts at 0.05 per day, half at 0.5: heterogeneous, so each contact's
    # posterior mean lies between its own observed rate and the pooled one
    store = event_store([0.05] * 100 + [0.5] * 100, seed=1)
    fit = fit_event_rates(_History(store, H, dt.timedelta(0)))
    row = fit.events.iloc[0]
    assert row["heterogeneity"] > 0
    assert row["prior_shape"] / row["prior_rate"] == pytest.approx(row["pooled_rate"])
    contacts = fit.contacts
    own = contacts["occurrences"] / contacts["exposure_days"]
    low, high = np.minimum(own, row["pooled_rate"]), np.maximum(own, row["pooled_rate"])
    assert ((low - 1e-12 <= contacts["mean_rate"]) & (contacts["mean_rate"] <= high + 1e-12)).all()
    assert (contacts["shape"] == row["prior_shape"] + contacts["occurrences"]).all()


def test_drawn_counts_average_the_posterior_means_within_4_standard_errors():
    store = event_store([0.05] * 50 + [0.5] * 50, seed=2)
    fit = fit_event_rates(_History(store, H, dt.timedelta(0)))
    horizon = dt.timedelta(days=20)
    totals = np.array([len(fit.draw(_rng(3, r), horizon)) for r in range(200)])
    expected = fit.contacts["mean_rate"].sum() * 20
    assert abs(totals.mean() - expected) < 4 * totals.std(ddof=1) / np.sqrt(len(totals))


def event_scenario(store: ss.Store) -> ss.Scenario:
    flow = ss.Flow(
        "Thanks",
        trigger=ss.EventTrigger("purchase"),
        steps=[ss.SendEmail("e", template="thanks")],
        settings=ss.ActivationSettings(allow_reentry=True, reentry_mode="event"),
    )
    return ss.Scenario(store, segments=[], flows=[flow], start=day(0), end=day(30), seed=4)


def test_poisson_sends_one_email_per_drawn_purchase_all_after_the_history():
    store = event_store([0.1, 0.3, 0.6, 1.0])
    fc = ss.forecast(event_scenario(store), horizon="14d", method="poisson", replications=5, seed=9)
    fit = fit_event_rates(_History(store, H, dt.timedelta(0)))
    drawn = [fit.draw(_rng(9, r), dt.timedelta(days=14)) for r in range(5)]
    frame = fc.to_frame()
    per = frame.groupby("replication")["messages"].sum()
    assert per.tolist() == [len(d) for d in drawn]
    assert per.nunique() > 1
    assert frame["day"].min() >= pd.Timestamp(H) and frame["day"].max() < day(44)
    for d in drawn:
        assert (d["ts"] >= H_NAIVE).all() and (d["ts"] < H_NAIVE + pd.Timedelta(days=14)).all()
    # per day too: the email goes out at each drawn purchase
    first = drawn[0].assign(day=drawn[0]["ts"].dt.floor("D").dt.tz_localize("UTC"))
    first = first.groupby("day").size()
    got = frame[(frame["replication"] == 0) & (frame["messages"] > 0)].set_index("day")
    assert got["messages"].to_dict() == first.to_dict()
    # deterministic for a seed, another seed differs
    again = ss.forecast(
        event_scenario(store), horizon="14d", method="poisson", replications=5, seed=9
    )
    pd.testing.assert_frame_equal(again.to_frame(), frame)
    other = ss.forecast(
        event_scenario(store), horizon="14d", method="poisson", replications=5, seed=8
    )
    assert not other.to_frame().equals(frame)
    assert fc.method == "poisson" and fc.block is None


def test_poisson_holds_attributes_and_copies_properties_of_stored_occurrences():
    store = event_store([0.5, 0.5], seed=4, ids="string")
    history = _History(store, H, dt.timedelta(0))
    from segsim.forecast import _poisson_futures

    future = _poisson_futures(history, dt.timedelta(days=10))(_rng(0, 0))
    con = future.con
    after = [pd.Timestamp(H).to_pydatetime().replace(tzinfo=None)]
    for table in (schema.CHANGES, schema.LIST_CHANGES):
        assert con.execute(f"SELECT count(*) FROM {table} WHERE ts >= ?", after).fetchone() == (0,)
    new = future.events[future.events["ts"] >= pd.Timestamp(H)]
    stored = store.events
    assert len(new) > 0 and new["event_id"].isna().all()
    for row in new.itertuples():  # each copies the amount of one of its contact's purchases
        assert row.amount in set(stored.loc[stored["contact_id"] == row.contact_id, "amount"])
    seqs = con.execute(f"SELECT seq FROM {schema.EVENTS}").fetchall()
    assert len(set(seqs)) == len(seqs) == len(future.events)
    future.close()


def test_poisson_refuses_a_store_without_events_and_a_block():
    sc = split_scenario(2)
    with pytest.raises(ss.ScenarioError, match="method 'poisson' projects event histories"):
        ss.forecast(sc, horizon="10d", method="poisson", replications=1)
    with pytest.raises(ValueError, match="method 'poisson' has none"):
        ss.forecast(sc, horizon="10d", method="poisson", block="5d")
    with pytest.raises(ValueError, match="positions= are the bootstrap's; method 'poisson'"):
        ss.forecast(sc, horizon="10d", method="poisson", positions=2)
    with pytest.raises(ValueError, match="positions must be a positive integer, got 0"):
        ss.forecast(sc, horizon="10d", positions=0)
    with pytest.raises(ValueError, match="positions are the bootstrap's"):
        ForecastSettings(method="poisson", positions=2)
    with pytest.raises(ValueError, match="'bootstrap', 'poisson'"):
        ss.forecast(sc, horizon="10d", method="nbd")
