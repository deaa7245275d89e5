"""The flow engine vs bare SimPy doing only the same waits, on the same entries.

    python benchmarks/bench_engine.py [--contacts 200000]

Every contact enters segment ``Pro`` once, at a random instant of the window. The flow is a
trigger followed by Send Email → Wait 1d → Branch (Send SMS | Send Email) → Wait 2d →
Webhook, everything logged. Bare SimPy schedules, for the same entry instants, the same two
waits as event callbacks and nothing else. Printed: flows/s of each, and the ratio (target:
engine ≥ 0.5× bare SimPy callbacks).

The same engine loop with a delivery policy — SMS quiet hours 21:00–08:00 (defer) and two
frequency caps (1 SMS per local calendar day, 2 messages per rolling 7 days), contacts spread
over three time zones — is timed too, and its ratio to the loop without one printed
(target: ≤ 1.3×): the engine loop without and with it run ``--repeats`` times (default 3),
interleaved, best wall and best CPU (``time.process_time()``) time of each. Bare SimPy and
the logging floor are timed the same way, in the same rounds.
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import sys
import time
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import simpy
from data import peak_rss_mb, timed

import segsim as ss
from segsim import schema
from segsim._time import to_us
from segsim.engine.core import Simulation
from segsim.engine.output import MemorySink
from segsim.engine.plan import build_plan

START, END = "2026-01-01", "2026-07-01"
DAY = 86_400_000_000


def entries_store(contacts: int, seed: int = 1) -> tuple[ss.Store, list[int]]:
    """Each contact: plan free at sign-up (before the window), pro at a random instant."""
    rng = random.Random(seed)
    start, end = to_us(START), to_us(END) - 4 * DAY
    times = [rng.randrange(start, end) for _ in range(contacts)]
    store = ss.Store()
    con = store.con
    for statement in schema.create_statements("integer"):
        con.execute(statement)
    con.execute(
        f"INSERT INTO {schema.META} VALUES ('schema_version', ?), ('id_type', 'integer')",
        [schema.SCHEMA_VERSION],
    )
    con.execute(
        f"INSERT INTO {schema.ATTRIBUTES} VALUES ('plan', 'string'), ('email', 'string'), "
        "('email_subscribed', 'boolean'), ('phone', 'string'), ('sms_subscribed', 'boolean'), "
        "('timezone', 'string')"
    )
    import pandas as pd

    ids = list(range(1, contacts + 1))
    entered = pd.DataFrame({"contact_id": ids, "t": times})
    con.register("entered", entered)
    con.execute(
        f"""INSERT INTO {schema.CHANGES}
        SELECT contact_id, TIMESTAMP '2025-12-01', 'plan', 'free', NULL, NULL, NULL FROM entered
        UNION ALL SELECT contact_id, make_timestamp(t), 'plan', 'pro', NULL, NULL, NULL FROM entered
        UNION ALL SELECT contact_id, TIMESTAMP '2025-12-01', 'email', 'x@example.com', NULL, NULL, NULL FROM entered
        UNION ALL SELECT contact_id, TIMESTAMP '2025-12-01', 'email_subscribed', NULL, NULL, contact_id % 3 > 0, NULL FROM entered
        UNION ALL SELECT contact_id, TIMESTAMP '2025-12-01', 'phone', '+1', NULL, NULL, NULL FROM entered
        UNION ALL SELECT contact_id, TIMESTAMP '2025-12-01', 'sms_subscribed', NULL, NULL, TRUE, NULL FROM entered
        UNION ALL SELECT contact_id, TIMESTAMP '2025-12-01', 'timezone',
            ['Europe/Paris', 'America/New_York', 'Asia/Tokyo'][contact_id % 3 + 1], NULL, NULL, NULL
            FROM entered"""
    )
    con.unregister("entered")
    return store, sorted(times)


def scenario(store: ss.Store) -> ss.Scenario:
    flow = ss.Flow(
        "Bench",
        trigger=ss.SegmentTrigger("Pro"),
        steps=[
            ss.SendEmail("e1", template="hello"),
            ss.Wait("w1", "1d"),
            ss.Branch(
                "b1",
                when=ss.attr("email_subscribed") == True,  # noqa: E712
                then=[ss.SendSMS("s1", template="sms")],
                otherwise=[ss.SendEmail("e2", template="mail")],
            ),
            ss.Wait("w2", "2d"),
            ss.Webhook("h1", url="https://example.com/hook"),
        ],
    )
    return ss.Scenario(
        store,
        segments=[ss.Segment("Pro", ss.attr("plan") == "pro")],
        flows=[flow],
        start=START,
        end=END,
    )


POLICY = ss.DeliveryPolicy(
    quiet_hours=[ss.QuietHours(start="21:00", end="08:00", channels=["sms"], action="defer")],
    frequency_caps=[
        ss.FrequencyCap(limit=1, per="1d", channels=["sms"], calendar=True),
        ss.FrequencyCap(limit=2, per="7d"),
    ],
)


def with_policy(s: ss.Scenario) -> ss.Scenario:
    """The benchmark scenario with :data:`POLICY` and each contact's time zone."""
    return s.replace(policy=POLICY, channels=ss.Channels(timezone_attribute="timezone"))


def bare_simpy(entry_times: list[int]) -> int:
    """The same entries and waits as event callbacks, nothing else."""
    env = simpy.Environment(initial_time=to_us(START))
    done = [0]

    def finish(_event: simpy.Event) -> None:
        done[0] += 1

    def second_wait(_event: simpy.Event) -> None:
        env.timeout(2 * DAY).callbacks.append(finish)

    def enter(_event: simpy.Event) -> None:
        env.timeout(DAY).callbacks.append(second_wait)

    now = env.now
    for t in entry_times:
        env.timeout(t - now).callbacks.append(enter)
    env.run()
    return done[0]


def logging_floor(entry_times: list[int]) -> int:
    """Bare SimPy plus only the logging the frames require: the floor of any engine here.

    The same entries and waits as :func:`bare_simpy`, and per flow the rows docs/design.md §5 asks
    for (one run record, six ``steps`` rows, four ``actions`` rows) appended as tuples.
    """
    env = simpy.Environment(initial_time=to_us(START))
    runs: list[list] = []
    steps: list[tuple] = []
    actions: list[tuple] = []

    def finish(run: list, _event: simpy.Event) -> None:
        t = env.now
        steps.append((t, run[0], "Bench", run[3], "h1", "webhook", "sent", 1))
        actions.append(
            (
                t,
                run[0],
                "Bench",
                "h1",
                run[3],
                "webhook",
                "webhook",
                None,
                "sent",
                None,
                0.0,
                None,
                1,
            )
        )
        run[6], run[7] = t, "completed"

    def second_wait(run: list, _event: simpy.Event) -> None:
        t = env.now
        steps.append((t, run[0], "Bench", run[3], "b1", "branch", "then", 1))
        steps.append((t, run[0], "Bench", run[3], "s1", "send_sms", "sent", 1))
        actions.append(
            (
                t,
                run[0],
                "Bench",
                "s1",
                run[3],
                "send_sms",
                "sms",
                "sms",
                "sent",
                None,
                0.05,
                None,
                1,
            )
        )
        steps.append((t, run[0], "Bench", run[3], "w2", "wait", "waiting", 1))
        env.timeout(2 * DAY).callbacks.append(partial(finish, run))

    def enter(contact: int, _event: simpy.Event) -> None:
        t = env.now
        run = [len(runs), "Bench", 1, contact, t, "first", None, None]
        runs.append(run)
        steps.append((t, run[0], "Bench", contact, "e1", "send_email", "sent", 1))
        actions.append(
            (
                t,
                run[0],
                "Bench",
                "e1",
                contact,
                "send_email",
                "email",
                "hello",
                "sent",
                None,
                0.001,
                None,
                1,
            )
        )
        steps.append((t, run[0], "Bench", contact, "w1", "wait", "waiting", 1))
        env.timeout(DAY).callbacks.append(partial(second_wait, run))

    now = env.now
    for contact, t in enumerate(entry_times):
        env.timeout(t - now).callbacks.append(partial(enter, contact))
    gc.disable()
    try:
        env.run()
    finally:
        gc.enable()
    return sum(1 for r in runs if r[7] == "completed")


def run(contacts: int, repeats: int = 3) -> dict:
    store, times = entries_store(contacts)
    s = scenario(store)
    plan = build_plan(s)
    policy_plan = build_plan(with_policy(s))

    def engine(p: object) -> object:
        return Simulation(p, store, sink=MemorySink("int64")).run()

    # every variant run ``repeats`` times, interleaved (each round in a rotated order), best
    # wall and best CPU (``time.process_time()``) time of each: the machine may be shared,
    # and one timing of each side would put its noise in the ratio
    variants = {
        "bare": partial(bare_simpy, times),
        "floor": partial(logging_floor, times),
        "none": partial(engine, plan),
        "policy": partial(engine, policy_plan),
    }
    names = list(variants)
    best = {name: [float("inf")] * 2 for name in names}
    for i in range(repeats):
        for name in names[i % len(names) :] + names[: i % len(names)]:
            gc.collect()
            cpu = time.process_time()
            wall, out = timed(variants[name])
            cpu = time.process_time() - cpu
            if name in ("bare", "floor"):
                assert out == contacts
            best[name] = [min(best[name][0], wall), min(best[name][1], cpu)]
    bare_s, floor_s = best["bare"][0], best["floor"][0]
    (loop_s, loop_cpu), (policy_s, policy_cpu) = best["none"], best["policy"]
    total_s, result = timed(ss.simulate, s, progress=False)
    assert len(result.runs) == contacts and (result.runs["end_reason"] == "completed").all()
    return {
        "contacts": contacts,
        "flows": contacts,
        "steps_logged": len(result.steps),
        "bare_simpy_s": round(bare_s, 3),
        "bare_simpy_flows_per_s": round(contacts / bare_s),
        "logging_floor_s": round(floor_s, 3),
        "logging_floor_flows_per_s": round(contacts / floor_s),
        "ratio_floor_vs_bare": round(bare_s / floor_s, 2),
        "engine_loop_s": round(loop_s, 3),
        "engine_flows_per_s": round(contacts / loop_s),
        "ratio_engine_vs_bare": round(bare_s / loop_s, 2),
        "ratio_engine_vs_floor": round(floor_s / loop_s, 2),
        "engine_with_policy_s": round(policy_s, 3),
        "ratio_policy_vs_none": round(policy_s / loop_s, 2),
        "engine_loop_cpu_s": round(loop_cpu, 3),
        "engine_with_policy_cpu_s": round(policy_cpu, 3),
        "ratio_policy_vs_none_cpu": round(policy_cpu / loop_cpu, 2),
        "simulate_total_s": round(total_s, 3),
        "simulate_flows_per_s": round(contacts / total_s),
        "peak_rss_mb": round(peak_rss_mb()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--contacts", type=int, default=200_000)
    parser.add_argument("--repeats", type=int, default=3, help="best of (every timing)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    figures = run(args.contacts, args.repeats)
    for key, value in figures.items():
        print(f"{key:>24}: {value}")
    print(f"\nengine / bare SimPy callbacks = {figures['ratio_engine_vs_bare']} (target >= 0.5)")
    print(
        f"engine with a policy / without = {figures['ratio_policy_vs_none']} wall, "
        f"{figures['ratio_policy_vs_none_cpu']} CPU (target <= 1.3)"
    )
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
