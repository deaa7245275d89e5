"""Replications re-run only the contacts a draw reaches (docs/design.md §9): every
replication equals a full simulation of that replication, whatever reads the draws."""

from __future__ import annotations

import pytest
from engine_helpers import day, make_store, reachable

import segsim as ss
from segsim import attr
from segsim.engine.core import Simulation
from segsim.engine.output import MemorySink, frames_from_parts
from segsim.engine.plan import build_plan

R = 3


def _full_replication(scenario, r):
    """Replication ``r`` simulated for every contact (no reuse), as frames."""
    plan = build_plan(scenario)
    id_dtype = "int64" if scenario.store.id_type == "integer" else "object"
    sink = MemorySink(id_dtype)
    Simulation(
        plan,
        scenario.store,
        include_existing_members=scenario.include_existing_members,
        sink=sink,
        replication=r,
    ).run()
    return frames_from_parts(sink.parts, plan.flow_order, id_dtype)


def _assert_each_replication_is_a_full_run(scenario, many):
    for r in range(R):
        one = many.replication(r)
        for name, frame in _full_replication(scenario, r).items():
            assert one.frames[name].dtypes.equals(frame.dtypes), (r, name)
            assert one.frames[name].equals(frame), (r, name)


def _store(ids, ltv=False):
    rows = []
    for i, contact in enumerate(ids):
        rows += reachable(contact)
        rows.append((contact, 1 + i % 5, "plan", "pro"))
        if ltv:
            rows.append((contact, -30, "ltv", i % 100))
    return make_store(rows)


VIP = ss.Segment("VIP", attr("plan") == "pro")


def test_responses_alone_make_replications_differ_and_each_is_a_full_run():
    # no split, no holdout: only the response model draws; every contact gets messages
    flow = ss.Flow(
        "F",
        trigger=ss.SegmentTrigger("VIP"),
        steps=[
            ss.SendEmail("e", template="t"),
            ss.Wait("w", "1d"),
            ss.SendSMS("s", template="t"),
        ],
    )
    scenario = ss.Scenario(
        _store(range(1, 121)),
        segments=[VIP],
        flows=[flow],
        start=day(0),
        end=day(10),
        seed=3,
        responses=ss.ResponseModel(
            email=ss.Funnel(opened=0.4, clicked=0.3), sms=ss.Funnel(clicked=0.2)
        ),
    )
    many = ss.simulate(scenario, progress=False, replications=R)
    clicks = many.responses[many.responses["response"] == "clicked"]
    per = clicks.groupby("replication")["contact_id"].apply(frozenset)
    assert per[0] != per[1] and per[1] != per[2]  # the draws differ by replication
    _assert_each_replication_is_a_full_run(scenario, many)


def test_under_a_rate_limit_every_contact_is_re_run():
    # contacts 1-200 get an SMS of flow G; those with ltv >= 50 also reach flow F's split,
    # whose path A sends an SMS: the shared 1-per-hour capacity moves everyone's sends
    split = ss.Split(
        "ab", paths={"A": [ss.SendSMS("a", template="t")], "B": []}, weights={"A": 1, "B": 1}
    )
    big = ss.Segment("Big", (attr("plan") == "pro") & (attr("ltv") >= 50))
    scenario = ss.Scenario(
        _store(range(1, 201), ltv=True),
        segments=[VIP, big],
        flows=[
            ss.Flow("F", trigger=ss.SegmentTrigger("Big"), steps=[split]),
            ss.Flow("G", trigger=ss.SegmentTrigger("VIP"), steps=[ss.SendSMS("g", template="t")]),
        ],
        start=day(0),
        end=day(10),
        seed=3,
        policy=ss.DeliveryPolicy(rate_limits=[ss.RateLimit(channel="sms", per="1h", limit=1)]),
    )
    many = ss.simulate(scenario, progress=False, replications=R)
    g = many.actions[many.actions["flow"] == "G"]
    assert (
        not g[g["replication"] == 0]["time"]
        .reset_index(drop=True)
        .equals(g[g["replication"] == 1]["time"].reset_index(drop=True))
    )
    _assert_each_replication_is_a_full_run(scenario, many)


def _live_scenario(ids):
    """A split whose path A updates the contact (it goes live: its history is read) and a
    holdout; half the contacts reach the split."""
    split = ss.Split(
        "ab",
        paths={
            "A": [ss.UpdateContact("u", set={"plan": "free"}), ss.SendEmail("a", template="a")],
            "B": [ss.SendEmail("b", template="b")],
        },
        weights={"A": 1, "B": 1},
    )
    big = ss.Segment("Big", (attr("plan") == "pro") & (attr("ltv") >= 50))
    return ss.Scenario(
        _store(ids, ltv=True),
        segments=[VIP, big],
        flows=[
            ss.Flow("F", trigger=ss.SegmentTrigger("Big"), steps=[ss.Wait("w", "1d"), split]),
            ss.Flow(
                "G",
                trigger=ss.SegmentTrigger("VIP", on="exit"),
                steps=[ss.SendSMS("g", template="g")],
            ),
        ],
        start=day(0),
        end=day(10),
        seed=11,
        holdout=ss.Holdout(percent=20, flows=["F"]),
    )


@pytest.mark.parametrize("ids", [list(range(1, 161)), [f"c-{i:03d}" for i in range(160)]])
def test_live_contacts_and_string_ids_each_replication_is_a_full_run(ids):
    scenario = _live_scenario(ids)
    many = ss.simulate(scenario, progress=False, replications=R)
    assert (many.steps["outcome"] == "A").any() and (many.runs["flow"] == "G").any()
    _assert_each_replication_is_a_full_run(scenario, many)
    sharded = ss.simulate(scenario, progress=False, replications=R, shards=3)
    for name, frame in many.frames.items():
        assert sharded.frames[name].equals(frame), name


def test_histories_are_read_once_for_every_replication_of_a_shard(monkeypatch):
    scenario = _live_scenario(list(range(1, 161)))
    read: list[int] = []
    fetch = Simulation._fetch_histories

    def counting(self, contact_ids):
        read.extend(contact_ids)
        return fetch(self, contact_ids)

    monkeypatch.setattr(Simulation, "_fetch_histories", counting)
    ss.simulate(scenario, progress=False)
    once = sorted(read)
    assert once  # the contacts of path A went live
    read.clear()
    ss.simulate(scenario, progress=False, replications=4)
    # later replications' live contacts are a subset of the drawn ones; read at most once each
    assert len(read) == len(set(read))
    assert set(once) <= set(read)
