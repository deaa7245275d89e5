"""The event loop's jump lane (``segsim.engine.core.JUMP_TO_STREAM_INSTANTS``).

A transitions instant that no scheduled event precedes is handled before the next event is
processed (``Clock.before_step``), the clock moved to it (:meth:`Clock.jump_if_next`),
instead of through its own wake-up event. Nothing may change but the speed: these tests run
the same scenarios with the lane off and compare every frame. (The random-flows property test does the same on every
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
    original = Clock.jump_if_next

    def jump_if_next(self, t):
        moved = original(self, t)
        if moved:
            jumps.append(t)
        return moved

    monkeypatch.setattr(Clock, "jump_if_next", jump_if_next)
    return jumps


def _assert_same_frames(a: ss.SimulationResult, b: ss.SimulationResult) -> None:
    assert a.frames.keys() == b.frames.keys()
    for name, frame in a.frames.items():
        assert frame.equals(b.frames[name]), f"{name} differs with the jump lane off"


def test_clock_jumps_only_up_to_the_next_event():
    env = Clock(initial_time=0)
    env.timeout(5)
    assert env.jump_if_next(3) and env.now == 3
    assert not env.jump_if_next(6) and env.now == 3  # the event at 5 is due first
    assert not env.jump_if_next(2) and env.now == 3  # never backwards
    assert env.jump_if_next(5) and env.now == 5  # the event at 5 stays due at 5
    env.run()
    assert env.now == 5
    assert env.jump_if_next(9) and env.now == 9  # nothing scheduled: any later instant
    assert isinstance(env, simpy.Environment)


def test_the_step_hook_runs_before_each_event_from_the_next_stream_instant_on():
    env = Clock(initial_time=0)
    seen = []
    env.before_step = lambda: seen.append(("hook", env.now))
    for at in (2, 3):
        env.timeout(at).callbacks.append(lambda _e: seen.append(("event", env.now)))
    env.stream_at = 3
    env.run(until=5)
    # not before the event at 2, which comes before the stream instant (the hook would do
    # nothing); before the event at 3 and the stop event at 5
    assert seen == [("event", 2), ("hook", 2), ("event", 3), ("hook", 3)]
    env = Clock(initial_time=0)
    env.before_step = lambda: seen.append(("hook", env.now))
    env.timeout(2)
    seen.clear()
    env.run(until=4)
    assert seen == []  # no stream instant left (NO_INSTANT): never


def test_stream_instants_are_jumped_even_where_a_wait_ends(monkeypatch):
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
    # the window's start (memberships held then), days 2 and 3 come before any scheduled
    # event, and day 4 at the same time as the end of contact 1's wait: all are handled
    # without a wake-up, day 4 before the wait's steps (an instant's phase precedes its due
    # steps, as its urgent wake-up would)
    assert [days(pd.Timestamp(t, unit="us", tz="UTC")) for t in jumps] == [0, 2, 3, 4]
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
