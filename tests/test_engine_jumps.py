"""The event loop's jump lane (``segsim.engine.core.JUMP_TO_STREAM_INSTANTS``).

A transitions instant that comes before every scheduled event is handled in the callback of
the instant before it, the clock moved to it (:meth:`Clock.jump_if_first`), instead of through its own
wake-up event. Nothing may change but the speed: these tests run the same scenarios with the
lane off and compare every frame. (The random-flows property test does the same on every
generated case: its second run has the lane off.)

Days are numbers: ``day(2)`` is 2026-01-03 00:00 UTC; the window is days [0, 30).
"""

from __future__ import annotations

import pandas as pd
import pytest
import simpy

import segsim as ss
from segsim import attr
from segsim.engine import core
from segsim.engine.records import Clock
from tests.engine_helpers import actions_log, days, make_store, reachable, runs_log, scenario

PRO = ss.Segment("Pro", attr("plan") == "pro")


def _counting_jumps(monkeypatch) -> list[int]:
    jumps: list[int] = []
    original = Clock.jump_if_first

    def jump_if_first(self, t):
        moved = original(self, t)
        if moved:
            jumps.append(t)
        return moved

    monkeypatch.setattr(Clock, "jump_if_first", jump_if_first)
    return jumps


def _assert_same_frames(a: ss.SimulationResult, b: ss.SimulationResult) -> None:
    assert a.frames.keys() == b.frames.keys()
    for name, frame in a.frames.items():
        assert frame.equals(b.frames[name]), f"{name} differs with the jump lane off"


def test_clock_jumps_only_before_the_next_event():
    env = Clock(initial_time=0)
    env.timeout(5)
    env.jump(3)
    assert env.now == 3
    with pytest.raises(RuntimeError, match="an event is due first"):
        env.jump(5)
    with pytest.raises(RuntimeError):
        env.jump(2)  # never backwards
    assert not env.jump_if_first(5) and not env.jump_if_first(2) and env.now == 3
    assert env.jump_if_first(4) and env.now == 4
    env.run()
    assert env.now == 5
    assert env.jump_if_first(9) and env.now == 9  # nothing scheduled: any later instant
    assert isinstance(env, simpy.Environment)


def test_consecutive_instants_are_jumped_and_a_wait_at_an_instant_is_not(monkeypatch):
    # contact 1 enters Pro on day 2 (e1, then a 2-day wait); contact 2 enters on day 3 and
    # contact 3 on day 4, the instant the wait of contact 1 ends
    rows = []
    for contact, enter in ((1, 2), (2, 3), (3, 4)):
        rows += [
            *reachable(contact),
            (contact, -10, "plan", "free"),
            (contact, enter, "plan", "pro"),
        ]
    flow = ss.Flow(
        "Welcome",
        trigger=ss.SegmentTrigger("Pro", on="enter"),
        steps=[
            ss.SendEmail("e1", template="hello"),
            ss.Wait("w1", "2d"),
            ss.SendEmail("e2", template="tips"),
        ],
    )
    jumps = _counting_jumps(monkeypatch)
    result = ss.simulate(scenario(make_store(rows), [PRO], [flow]), progress=False)
    assert runs_log(result) == [
        ("Welcome", 1, 2, "first", 4, "completed"),
        ("Welcome", 2, 3, "first", 5, "completed"),
        ("Welcome", 3, 4, "first", 6, "completed"),
    ]
    assert actions_log(result) == [
        (2, "Welcome", 1, "e1", "sent", None),
        (3, "Welcome", 2, "e1", "sent", None),
        (4, "Welcome", 1, "e2", "sent", None),
        (4, "Welcome", 3, "e1", "sent", None),
        (5, "Welcome", 2, "e2", "sent", None),
        (6, "Welcome", 3, "e2", "sent", None),
    ]
    # day 2 follows the window's start (nothing scheduled), day 3 follows day 2 (the wait of
    # contact 1 ends later): both jumped; day 4 is not (the wait ends then)
    assert [days(pd.Timestamp(t, unit="us", tz="UTC")) for t in jumps] == [2, 3]
    monkeypatch.setattr(core, "JUMP_TO_STREAM_INSTANTS", False)
    _assert_same_frames(
        result, ss.simulate(scenario(make_store(rows), [PRO], [flow]), progress=False)
    )


def test_the_demo_gives_the_same_frames_with_the_lane_off(small_demo, monkeypatch):
    scenario_, with_jumps = small_demo
    jumps = _counting_jumps(monkeypatch)
    ss.simulate(scenario_, progress=False)
    assert len(jumps) > 0  # the lane is taken on the demo (most of its instants)
    monkeypatch.setattr(core, "JUMP_TO_STREAM_INSTANTS", False)
    _assert_same_frames(with_jumps, ss.simulate(scenario_, progress=False))


def test_replications_and_shards_give_the_same_frames_with_the_lane_off(small_demo, monkeypatch):
    scenario_, _ = small_demo
    on = ss.simulate(scenario_, progress=False, replications=2, shards=2)
    monkeypatch.setattr(core, "JUMP_TO_STREAM_INSTANTS", False)
    off = ss.simulate(scenario_, progress=False, replications=2, shards=2)
    for k in range(2):
        _assert_same_frames(on.replication(k), off.replication(k))


@pytest.mark.parametrize("batch_rows", [1, 7])
def test_instants_split_across_batches_give_the_same_frames(small_demo, monkeypatch, batch_rows):
    """The transitions stream is read in batches and grouped by instant with numpy
    (``stream.by_instant``): an instant that spans batches is still one instant."""
    scenario_, plain = small_demo
    monkeypatch.setattr(core, "BATCH_ROWS", batch_rows)
    _assert_same_frames(plain, ss.simulate(scenario_, progress=False))
