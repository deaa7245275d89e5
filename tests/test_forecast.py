"""Forward projection (segsim.forecast): the block bootstrap, hand-computed, and its result."""

from __future__ import annotations

import datetime as dt

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

import segsim as ss
from segsim import schema
from segsim._internal.vocab import MESSAGE_CHANNELS
from segsim.forecast import (
    _donor_map,
    _future_store,
    _History,
    _rng,
    _tenure_donors,
    default_positions,
    interval_summary,
)
from tests.engine_helpers import day, make_store, reachable

H = day(30).to_pydatetime()  # the history end of every scenario here


def days_(n: int) -> dt.timedelta:
    return dt.timedelta(days=n)


PRO = ss.Segment("Pro", ss.attr("plan") == "pro")


def upgrade_flow(*steps: object) -> ss.Flow:
    return ss.Flow(
        "Upgrade",
        trigger=ss.SegmentTrigger("Pro"),
        steps=steps
        or [
            ss.SendEmail("e", template="welcome"),
            ss.Wait("w", "10d"),
            ss.SendSMS("s", template="tips"),
        ],
        settings=ss.ActivationSettings(allow_reentry=True, reentry_mode="event"),
    )


# contact 1: free from day -30, pro on day 5, free on day 15, pro again on day 25
ONE = [*reachable(1), (1, -30, "plan", "free"), (1, 5, "plan", "pro"), (1, 15, "plan", "free")]
ONE += [(1, 25, "plan", "pro")]


def scenario(store: ss.Store, *flows: ss.Flow, end: float = 30) -> ss.Scenario:
    return ss.Scenario(
        store, segments=[PRO], flows=flows or [upgrade_flow()], start=day(0), end=day(end)
    )


def sent(fc: ss.Forecast) -> list[tuple]:
    """``(day number, flow, channel, replication, messages)`` of the rows that send."""
    frame = fc.to_frame()
    frame = frame[frame["messages"] > 0]
    return [
        ((r.day - day(0)).days, r.flow, r.channel, r.replication, r.messages)
        for r in frame.itertuples()
    ]


def test_one_contact_bootstrap_can_only_replay_its_own_trajectory():
    # H = day 30, block = horizon = 30 days: contact 1 is established (first row day -30), its
    # only donor is itself, so its block rows [0, 30) come back shifted by 30 days: pro on
    # day 35 (already pro: no change), free on day 45, pro on day 55. The run entered on day
    # 25 sends its SMS on day 35 (carried over from the history); the entry on day 55 sends
    # the email that day (its SMS on day 65 is after the horizon).
    # (positions=1: the last block only; the moving blocks are below)
    fc = ss.forecast(scenario(make_store(ONE)), horizon="30d", replications=2, seed=7, positions=1)
    assert sent(fc) == [
        (35, "Upgrade", "sms", 0, 1),
        (35, "Upgrade", "sms", 1, 1),
        (55, "Upgrade", "email", 0, 1),
        (55, "Upgrade", "email", 1, 1),
    ]
    # the same as a replay of the history with the shifted copy appended, counted from day 30
    shifted = [(c, d + 30, a, v) for c, d, a, v in ONE if 0 <= d < 30]
    replay = ss.simulate(scenario(make_store(ONE + shifted), end=60), progress=False).actions
    replay = replay[(replay["time"] >= day(30)) & (replay["status"] == "sent")]
    assert [
        ((t - day(0)).days, c) for t, c in zip(replay["time"], replay["channel"], strict=True)
    ] == [
        (35, "sms"),
        (55, "email"),
    ]
    totals = fc.totals()
    assert totals[["messages_mean", "messages_low", "messages_high"]].iloc[0].tolist() == [2, 2, 2]
    assert totals["cost_mean"].iloc[0] == pytest.approx(0.001 + 0.05)


def test_arrivals_come_at_the_historical_rate_under_new_ids():
    # contact 2 first appears on day 20, inside the block [0, 30): an arrival. Tile 0 draws an
    # established donor (contact 1, the only one) for contacts 1 and 2, then one new contact
    # (id 3, after every stored id) copying contact 2's block rows, shifted to day 50.
    two = ONE + reachable(2, at=20) + [(2, 20, "plan", "pro")]
    store = make_store(two)
    history = _History(store, H, days_(30))
    assert (history.established, history.arrivals) == ([1], [2])
    donors = _donor_map(history, 1, _rng(0, 0))
    assert list(donors.itertuples(index=False, name=None)) == [
        (1, 1, 0, 0),
        (2, 1, 0, 0),
        (3, 2, 0, 0),
    ]
    # a contact first seen after H (id 9) is not in the projection, but its id is not reused
    later = make_store([*two, (9, 40, "plan", "pro")])
    assert _History(later, H, days_(30)).new_id(0) == 10
    fc = ss.forecast(scenario(store), horizon="30d", replications=1, positions=1)
    # contact 2: SMS on day 30 (entered day 20), then contact 1's rows: free day 45, pro day
    # 55 (email); contact 1 as before (SMS day 35, email day 55); contact 3 enters on day 50
    assert sent(fc) == [
        (30, "Upgrade", "sms", 0, 1),
        (35, "Upgrade", "sms", 0, 1),
        (50, "Upgrade", "email", 0, 1),
        (55, "Upgrade", "email", 0, 2),
    ]


def test_tiles_shorter_than_the_horizon_repeat_the_block():
    # block 10 days [20, 30): contact 1 only has its day-25 re-set there (no change), so each
    # tile brings nothing new; the SMS of the day-25 run is the only projected send
    fc = ss.forecast(scenario(make_store(ONE)), horizon="30d", block="10d", replications=1)
    assert sent(fc) == [(35, "Upgrade", "sms", 0, 1)]
    history = _History(make_store(ONE), H, days_(10))
    future = _future_store(history, _donor_map(history, 3, _rng(0, 0)), days_(30), ss.Store)
    plan = future.history(1)
    plan = plan[plan["attribute"] == "plan"]
    assert [((t - day(0)).days, v) for t, v in zip(plan["ts"], plan["value"], strict=True)] == [
        (-30, "free"),
        (5, "pro"),
        (15, "free"),
        (25, "pro"),
        (35, "pro"),
        (45, "pro"),
        (55, "pro"),
    ]


def test_moving_blocks_replay_the_block_moved_back_by_whole_weeks():
    # positions j = 0, 1, ...: the block [0, 30) moved back by 7·j days, while it starts
    # after the first stored row (day -30): backs 0, 7, 14, 21, 28 (35 would start at -35)
    history = _History(make_store(ONE), H, days_(30), positions=6)
    assert [back.days for back, _, _ in history.positions] == [0, 7, 14, 21, 28]
    assert default_positions(days_(30)) == 5 and default_positions(days_(90)) == 13
    # each position has its own established contacts and arrivals: contact 2, first seen on
    # day 20, arrives in [0, 30) and [-7, 23), and is neither in [-14, 16) (it is present at
    # H, so it receives a donor, but it is nobody's donor there)
    two = ONE + reachable(2, at=20) + [(2, 20, "plan", "pro")]
    history = _History(make_store(two), H, days_(30), positions=3)
    assert [(b.days, e, a) for b, e, a in history.positions] == [
        (0, [1], [2]),
        (7, [1], [2]),
        (14, [1], []),
    ]
    # one contact, two positions. Back 0: its rows [0, 30) shifted by 30 days: pro day 35
    # (no change), free day 45, pro day 55 (the email). Back 7: rows [-7, 23) shifted by 37
    # days: pro day 42 (no change), free day 52. Both: the SMS of the day-25 run on day 35.
    store = make_store(ONE)
    fc = ss.forecast(scenario(store), horizon="30d", replications=8, seed=7, positions=2)
    history = _History(store, H, days_(30), positions=2)
    backs = [_donor_map(history, 1, _rng(7, r))["back"].iloc[0] for r in range(8)]
    assert set(backs) == {0, 7 * 86_400 * 10**6}  # this seed draws both
    expected = []
    for r, back in enumerate(backs):
        expected.append((35, "Upgrade", "sms", r, 1))
        if back == 0:
            expected.append((55, "Upgrade", "email", r, 1))
    assert sorted(sent(fc)) == sorted(expected)
    week_back = backs.index(7 * 86_400 * 10**6)
    future = _future_store(history, _donor_map(history, 1, _rng(7, week_back)), days_(30), ss.Store)
    plan = future.history(1)
    plan = plan[plan["attribute"] == "plan"]
    assert [((t - day(0)).days, v) for t, v in zip(plan["ts"], plan["value"], strict=True)] == [
        (-30, "free"),
        (5, "pro"),
        (15, "free"),
        (25, "pro"),
        (42, "pro"),
        (52, "free"),
    ]


def test_donors_have_the_tenure_of_their_contact():
    # established contacts first seen on days -90, -60, -35, -31; contact 5 arrives on day 10.
    # Block [0, 30), tile 0 starts at H = 30: a donor matches a contact first seen `gap` = 30
    # days later, among the k = round(√4) = 2 established nearest to (first row - 30 days):
    # targets -120, -90, -65, -61 sort at 0, 0, 1, 1 (window from 0: days -90, -60), and the
    # newcomer's -20 at 4 (window from 2: days -35, -31, the youngest)
    rows = []
    for c, d in [(1, -90), (2, -60), (3, -35), (4, -31), (5, 10)]:
        rows += [(c, d, "plan", "free")]
    history = _History(make_store(rows), H, days_(30))
    assert (history.established, history.arrivals) == ([1, 2, 3, 4], [5])
    first = np.array([np.datetime64(history.first_seen[c], "us") for c in range(1, 6)])
    for seed in range(20):
        picks = _tenure_donors(history, history.established, first, days_(30), _rng(seed, 0))
        assert set(picks[:4]) <= {0, 1} and set(picks[4:]) <= {2, 3}


def test_string_ids_of_new_contacts_never_collide():
    rows = [("forecast-new-0", d, a, v) for _, d, a, v in ONE] + [("x", 20, "plan", "pro")]
    history = _History(make_store(rows), H, days_(30))
    donors = _donor_map(history, 2, _rng(0, 0))
    assert donors["contact_id"].tolist() == [
        "forecast-new-0",
        "x",
        "~forecast-new-0",
        "forecast-new-0",
        "x",
        "~forecast-new-0",
        "~forecast-new-1",
    ]


def test_events_are_shifted_with_their_timestamps_and_get_no_event_id():
    store = make_store(ONE)
    store.load_events(
        pd.DataFrame(
            {
                "contact_id": [1, 1],
                "ts": [day(-5), day(12)],
                "event": ["purchase", "purchase"],
                "event_id": ["a", "b"],
                "paid_at": [day(-5), day(12)],
                "amount": [10.0, 20.0],
            }
        )
    )
    history = _History(store, H, days_(30))
    future = _future_store(history, _donor_map(history, 1, _rng(0, 0)), days_(30), ss.Store)
    events = future.events
    assert [
        ((e.ts - day(0)).days, e.event_id, (e.paid_at - day(0)).days, e.amount)
        for e in events.itertuples()
    ] == [(-5, "a", -5, 10.0), (12, "b", 12, 20.0), (42, None, 42, 20.0)]
    seqs = future.con.execute(f"SELECT seq FROM {schema.EVENTS} ORDER BY seq").fetchall()
    assert len({s for (s,) in seqs}) == 3


def random_store(contacts: int = 60, seed: int = 3) -> ss.Store:
    """Contacts arriving over [-60, 30) days, switching plan at random days."""
    rng = np.random.default_rng(seed)
    rows = []
    for c in range(1, contacts + 1):
        first = float(rng.integers(-60, 30))
        rows += [*reachable(c, at=first), (c, first, "plan", "free")]
        for d in sorted(rng.integers(int(first) + 1, 31, size=3)):
            if d < 30:
                rows.append((c, float(d) + 0.5, "plan", str(rng.choice(["free", "pro"]))))
    rows = list({(c, d, a): (c, d, a, v) for c, d, a, v in rows}.values())
    return make_store(rows)


@pytest.fixture(scope="module")
def medium() -> tuple[ss.Store, ss.Scenario]:
    store = random_store()
    flow = upgrade_flow(
        ss.SendEmail("e", template="welcome"),
        ss.Webhook("h", url="https://example.com/hook"),
        ss.Wait("w", "3d"),
        ss.SendWhatsApp("wa", template="tips"),
    )
    return store, scenario(store, flow)


@pytest.fixture(scope="module")
def medium_forecast(medium) -> ss.Forecast:
    return ss.forecast(medium[1], horizon="30d", replications=8, seed=11)


def test_same_seed_same_frames_and_another_seed_others(medium, medium_forecast):
    again = ss.forecast(medium[1], horizon="30d", replications=8, seed=11)
    pd.testing.assert_frame_equal(again.to_frame(), medium_forecast.to_frame())
    other = ss.forecast(medium[1], horizon="30d", replications=8, seed=12)
    assert not other.to_frame().equals(medium_forecast.to_frame())
    # replications differ from each other: the bootstrap varies the future
    per = medium_forecast.to_frame().groupby("replication")["messages"].sum()
    assert per.nunique() > 1


def test_projected_days_lie_in_the_horizon_and_messages_only(medium_forecast):
    frame = medium_forecast.to_frame()
    assert frame["day"].min() == day(30) and frame["day"].max() == day(59)
    assert len(frame["day"].unique()) == 30
    assert set(frame["channel"]) <= set(MESSAGE_CHANNELS)
    assert set(frame["channel"]) == {"email", "whatsapp"}  # the webhook is an operation
    assert list(frame.columns) == ["day", "flow", "channel", "replication", "messages", "cost"]
    assert sorted(frame["replication"].unique()) == list(range(8))


def test_intervals_are_ordered(medium_forecast):
    for table in (
        medium_forecast.summary(),
        medium_forecast.summary(by="channel"),
        medium_forecast.totals(by=["flow", "channel"]),
    ):
        for metric in ("messages", "cost"):
            assert (table[f"{metric}_low"] <= table[f"{metric}_mean"] + 1e-12).all()
            assert (table[f"{metric}_mean"] <= table[f"{metric}_high"] + 1e-12).all()
    # the daily means add up to the total mean
    total = medium_forecast.totals()["messages_mean"].iloc[0]
    assert medium_forecast.summary()["messages_mean"].sum() == pytest.approx(total)


@given(
    st.lists(st.floats(0, 1e6, allow_nan=False), min_size=1, max_size=40),
    st.sampled_from([0.95, 0.975, 0.99]),
)
def test_the_mean_lies_in_a_95_percent_or_wider_interval_for_at_most_40_replications(values, level):
    table = interval_summary(pd.DataFrame({"m": values}), ["m"], level=level)
    low, mean, high = table[["m_low", "m_mean", "m_high"]].iloc[0]
    assert low <= mean * (1 + 1e-12) + 1e-9 and mean <= high * (1 + 1e-12) + 1e-9


def test_the_users_store_is_untouched(tmp_path):
    path = tmp_path / "history.duckdb"
    store = ss.Store(path)
    store.load_attributes(
        make_store(ONE)
        .con.execute(
            "SELECT contact_id, ts, attribute, coalesce(v_string, CAST(v_boolean AS VARCHAR)) AS value "
            f"FROM {schema.CHANGES}"
        )
        .df()
    )
    tables = [schema.META, schema.ATTRIBUTES, schema.CHANGES, schema.LIST_CHANGES]

    def counts() -> list[int]:
        return [store.con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0] for t in tables]

    before = counts()
    ss.forecast(scenario(store), horizon="30d", replications=2)
    assert counts() == before
    assert store.con.execute(f"SELECT max(ts) FROM {schema.CHANGES}").fetchall()[0][0] < day(
        30
    ).tz_localize(None)


def test_bad_arguments_are_refused():
    sc = scenario(make_store(ONE))
    with pytest.raises(ValueError, match="method must be one of 'bootstrap'"):
        ss.forecast(sc, method="arima")
    with pytest.raises(ValueError, match="horizon: the duration must be positive"):
        ss.forecast(sc, horizon="0d")
    with pytest.raises(ValueError, match=r"block .* must not be longer than the horizon"):
        ss.forecast(sc, horizon="10d", block="20d")
    with pytest.raises(ValueError, match="replications must be a positive integer"):
        ss.forecast(sc, replications=0)
    with pytest.raises(ValueError, match="by must name 'flow' and/or 'channel'"):
        ss.forecast(sc, horizon="30d", replications=1).summary(by="contact")
    # a block reaching back before every contact: nobody is established before it
    with pytest.raises(ss.ScenarioError, match="no contact was established before it"):
        ss.forecast(sc, horizon="60d")


def test_fan_chart_is_labelled_an_estimate_and_closes_nothing(medium_forecast):
    fig, ax = plt.subplots()
    figures = plt.get_fignums()
    returned = medium_forecast.plot(ax=ax)
    assert returned is ax and plt.get_fignums() == figures
    summary = medium_forecast.summary()
    assert ax.lines[0].get_gid() == "mean"
    assert ax.lines[0].get_ydata().tolist() == summary["messages_mean"].tolist()
    assert ax.collections[0].get_gid() == "interval"
    assert "estimate" in ax.get_title()
    plt.close(fig)


def test_repr_and_html_say_estimate(medium_forecast):
    html = medium_forecast._repr_html_()
    assert "an estimate, not a replay" in html and "<td>whatsapp</td>" in html
    assert repr(medium_forecast).startswith(
        "Forecast(estimate, 2026-01-31 00:00 → 2026-03-02 00:00, 8 replications"
    )


def test_backtest_compares_the_held_out_weeks_with_the_replay():
    # hold out [15, 30): the history before day 15 has contact 1 pro since day 5 (its day-15
    # and day-25 rows are held out); its block [0, 15) only re-sets pro on day 5 (→ day 20,
    # no change). Forecast: the SMS of the day-5 run, day 15. The replay sends that SMS and,
    # on re-entering Pro on day 25, an email. Weeks from day 15: [15, 22) forecast 1, sent 1:
    # covered; [22, 29) forecast 0, sent 1: not covered; [29, 30) 0 and 0: covered.
    fc = ss.forecast(scenario(make_store(ONE)), horizon="15d", replications=3, backtest=True)
    assert (fc.start, fc.end) == (day(15), day(30))
    assert sent(fc) == [(15, "Upgrade", "sms", r, 1) for r in range(3)]
    weeks = fc.backtest.weeks
    assert [
        ((w.week - day(0)).days, w.days, w.actual, w.messages_mean, w.messages_low, w.covered)
        for w in weeks.itertuples()
    ] == [(15, 7, 1, 1.0, 1.0, True), (22, 7, 1, 0.0, 0.0, False), (29, 1, 0, 0.0, 0.0, True)]
    assert fc.backtest.coverage == pytest.approx(2 / 3)
    assert fc.backtest.mape == pytest.approx((0 + 1) / 2)  # weeks with messages only
    assert repr(fc.backtest) == "Backtest(3 weeks, 95% intervals cover 67%, MAPE 50.0%)"
    assert ss.forecast(scenario(make_store(ONE)), horizon="15d", replications=1).backtest is None


def test_backtest_needs_history_before_the_held_out_window():
    with pytest.raises(ValueError, match="leaves no history before it"):
        ss.forecast(scenario(make_store(ONE)), horizon="30d", backtest=True)


def test_the_demo_projects_messages_and_leaves_its_store_as_it_was(small_demo):
    # the demo has events, lists, a schedule, webhooks and a delivery policy: all carried over
    scenario, replay = small_demo
    tables = [schema.CHANGES, schema.LIST_CHANGES, schema.EVENTS]

    def counts() -> list[int]:
        con = scenario.store.con
        return [con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0] for t in tables]

    before = counts()
    fc = ss.forecast(scenario, horizon="14d", replications=2, seed=5)
    assert counts() == before
    frame = fc.to_frame()
    assert frame["day"].min() >= scenario.end and frame["day"].max() < scenario.end + days_(14)
    assert set(frame["channel"]) <= set(MESSAGE_CHANNELS)
    assert set(frame["flow"]) <= set(replay.runs["flow"])
    assert fc.totals()["messages_mean"].iloc[0] > 0


@given(
    st.lists(st.integers(-60, -1), min_size=1, max_size=12),
    st.lists(st.integers(0, 29), max_size=5),
    st.integers(1, 4),
    st.integers(0, 2**64 - 1),
)
def test_donors_are_established_of_a_near_tenure_and_new_ids_unique(
    established_days, arriving_days, tiles, seed
):
    # the draws alone (no store): contacts 1..e established (first rows before the block
    # [0, 30)), e+1..e+a arrivals, on the given days
    history = object.__new__(_History)
    history.id_type = "integer"
    history.end, history.block = H.replace(tzinfo=None), days_(30)
    established = len(established_days)
    arriving = len(arriving_days)
    history.established = list(range(1, established + 1))
    history.arrivals = list(range(established + 1, established + arriving + 1))
    history.contacts = history.established + history.arrivals
    history.first_seen = {
        c: history.end + days_(d - 30)
        for c, d in zip(history.contacts, established_days + arriving_days, strict=True)
    }
    history.next_id = established + arriving + 1
    history.positions = [(dt.timedelta(0), history.established, history.arrivals)]
    donors = _donor_map(history, tiles, _rng(seed, 0))
    first = ~donors.duplicated("contact_id")
    new = donors[first & ~donors["contact_id"].isin(history.contacts)]
    # per tile: every present contact an established donor, then one newcomer per arrival
    assert len(new) == tiles * arriving
    assert new["contact_id"].tolist() == list(range(history.next_id, history.next_id + len(new)))
    assert set(new["donor"]) <= set(history.arrivals)
    assert set(donors.drop(new.index)["donor"]) <= set(history.established)
    assert donors.groupby("tile").size().tolist() == [
        len(history.contacts) + (k + 1) * arriving for k in range(tiles)
    ]
    # tile 0: a stored contact's donor first appeared about 30 days (the block) before it:
    # within k = round(√e) places of where that instant sorts among the established
    k = max(1, round(established**0.5))
    ranked = sorted(established_days)
    for c, donor in donors[(donors["tile"] == 0) & donors["contact_id"].le(len(history.contacts))][
        ["contact_id", "donor"]
    ].itertuples(index=False):
        target = (established_days + arriving_days)[c - 1] - 30
        where = sum(d < target for d in ranked)
        rank = ranked.index(established_days[donor - 1])
        assert abs(rank - where) <= k or ranked.count(established_days[donor - 1]) > 1
    pd.testing.assert_frame_equal(donors, _donor_map(history, tiles, _rng(seed, 0)))


def test_a_read_only_store_file_can_be_forecast(tmp_path):
    path = tmp_path / "history.duckdb"
    with ss.Store(path) as store:
        store.load_attributes(
            pd.DataFrame(
                [(c, day(d), a, str(v)) for c, d, a, v in ONE],
                columns=["contact_id", "ts", "attribute", "value"],
            ),
            types={
                "email_subscribed": "boolean",
                "sms_subscribed": "boolean",
                "whatsapp_subscribed": "boolean",
            },
        )
    with ss.Store(path, read_only=True) as store:
        fc = ss.forecast(scenario(store), horizon="30d", replications=1, positions=1)
    assert sent(fc) == [(35, "Upgrade", "sms", 0, 1), (55, "Upgrade", "email", 0, 1)]


def test_string_ids_end_to_end():
    # contact "a" as contact 1 of ONE, and "b" arriving on day 20 (pro): the newcomer
    # "forecast-new-0" copies "b" (pro on day 50, its email that day)
    rows = [("a", d, attribute, v) for _, d, attribute, v in ONE]
    rows += [("b", d, attribute, v) for _, d, attribute, v in reachable(2, at=20)]
    rows += [("b", 20, "plan", "pro")]
    fc = ss.forecast(scenario(make_store(rows)), horizon="30d", replications=1, positions=1)
    assert sent(fc) == [
        (30, "Upgrade", "sms", 0, 1),
        (35, "Upgrade", "sms", 0, 1),
        (50, "Upgrade", "email", 0, 1),
        (55, "Upgrade", "email", 0, 2),
    ]


def test_each_distinct_warning_is_given_once_not_once_per_replication():
    # the data has no WhatsApp consent; only the flow's Update contact step sets it
    rows = [row for row in ONE if row[2] != "whatsapp_subscribed"]
    flow = upgrade_flow(
        ss.UpdateContact("u", set={"whatsapp_subscribed": True}),
        ss.SendWhatsApp("wa", template="t"),
    )
    with pytest.warns(ss.SegsimWarning) as caught:
        ss.forecast(scenario(make_store(rows), flow), horizon="30d", replications=3)
    messages = [str(w.message) for w in caught if issubclass(w.category, ss.SegsimWarning)]
    assert len(messages) == 1
    assert "'whatsapp_subscribed' is not in the data" in messages[0]


def test_a_forecast_that_sends_nothing_has_zeros_per_day():
    # block [27, 30) holds no row and the day-25 run's SMS (day 35) is past the horizon
    fc = ss.forecast(scenario(make_store(ONE)), horizon="3d", replications=2)
    assert fc.to_frame().empty
    summary = fc.summary()
    assert [(d - day(0)).days for d in summary["day"]] == [30, 31, 32]
    assert summary["messages_mean"].tolist() == [0.0] * 3
    assert fc.totals()[["messages_mean", "messages_high", "replications"]].iloc[0].tolist() == [
        0,
        0,
        2,
    ]
    assert fc.totals(by="flow").empty
