"""The demo backtest criterion: the backtest's 90% intervals cover at least 80% of weeks.

Measured figures (docs/design.md §11), 20 futures, 13 weeks, seeds 0 and 1, with the
default bootstrap (moving blocks, donors of the contact's tenure): 100% at 300 and at 1,000
contacts, 92% and 85% at 5,000 (the demo's size). With the last block only and donors of any
tenure (the first release) the figures were 85-92% at 300, 54-69% at 1,000 and 62% at 5,000.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import segsim as ss


def demo_backtest(contacts: int, horizon: str, replications: int, seed: int) -> ss.Forecast:
    scenario = ss.datasets.demo_scenario(contacts=contacts)
    return ss.forecast(
        scenario, horizon=horizon, replications=replications, seed=seed, backtest=True
    )


def test_the_90_percent_backtest_weeks_are_computed_from_the_frames_and_the_replay():
    # the fast twin of the criterion: every figure of at_level(0.9) recomputed by hand
    scenario = ss.datasets.demo_scenario(contacts=100)
    fc = ss.forecast(scenario, horizon="21d", replications=4, seed=3, backtest=True)
    bt = fc.backtest.at_level(0.9)
    assert bt.level == 0.9 and len(bt.weeks) == 3
    start = fc.start
    frame = fc.to_frame()
    week = (frame["day"] - start) // pd.Timedelta(days=7)
    per = frame.assign(w=week).groupby(["w", "replication"])["messages"].sum().unstack()
    actions = ss.simulate(scenario, progress=False).actions
    sent = actions[
        actions["action"].isin(["send_email", "send_sms", "send_whatsapp"])
        & (actions["status"] == "sent")
        & (actions["time"] >= start)
        & (actions["time"] < fc.end)
    ]
    actual = ((sent["time"] - start) // pd.Timedelta(days=7)).value_counts()
    for w, row in bt.weeks.iterrows():
        values = per.loc[w].to_numpy(dtype="float64")
        assert row["messages_low"] == pytest.approx(np.quantile(values, 0.05))
        assert row["messages_high"] == pytest.approx(np.quantile(values, 0.95))
        assert row["messages_mean"] == pytest.approx(values.mean())
        assert row["actual"] == actual.get(w, 0)
        assert row["covered"] == (row["messages_low"] <= row["actual"] <= row["messages_high"])
    assert bt.coverage == pytest.approx(bt.weeks["covered"].mean())
    # the 95% default is the same comparison with wider intervals
    wide = fc.backtest
    assert (wide.weeks["messages_low"] <= bt.weeks["messages_low"]).all()
    assert (wide.weeks["messages_high"] >= bt.weeks["messages_high"]).all()


@pytest.mark.slow
def test_on_the_demo_the_90_percent_intervals_cover_80_percent_of_the_weeks():
    # the notebooks' size (300 contacts); 13 weeks held out
    bt = demo_backtest(300, "90d", 20, seed=0).backtest.at_level(0.9)
    assert len(bt.weeks) == 13
    assert bt.coverage >= 0.8


@pytest.mark.slow
def test_at_1000_contacts_the_90_percent_intervals_cover_80_percent_of_the_weeks():
    # with the first release's bootstrap this was 69% (seed 0) and 54% (seed 1)
    bt = demo_backtest(1000, "90d", 20, seed=0).backtest.at_level(0.9)
    assert bt.coverage >= 0.8


@pytest.mark.slow
def test_at_the_demos_5000_contacts_the_90_percent_intervals_cover_80_percent_of_the_weeks():
    # the demo's default size (about 40 s of CPU); the first release's bootstrap: 62%
    bt = demo_backtest(5000, "90d", 20, seed=0).backtest.at_level(0.9)
    assert bt.coverage >= 0.8
