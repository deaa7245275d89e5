"""Replications: what replication 2..R cost against the first, and 100 replications on processes.

    python benchmarks/bench_replications.py --contacts 5000 --replications 100

The scenario is the demo scenario (``ss.datasets.demo_scenario``) with a 50/50 split as the
first step of its first flow and a 5% holdout, so every replication draws differently. The
store is built first and not timed.

* **Marginal cost**: ``simulate(replications=1)`` takes ``t1`` (the transitions query, the
  engine, the frames); ``simulate(replications=k)`` takes ``tk`` (best of three each,
  interleaved; wall and ``time.process_time()``). A later replication costs
  ``(tk - t1) / (k - 1)``; the target is ≤ 0.6 × ``t1`` (docs/design.md §9: transitions are
  computed once and shared).
* **100 replications** with ``executor="processes"`` (2 shards): the target is ≤ 60 s on 2
  cores (wall; the parent's CPU is printed too, with the load average — the workers' CPU is not:
  they are forked from segsim's fork server, not children of this process).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import segsim as ss


def experiment_scenario(contacts: int) -> ss.Scenario:
    """The demo scenario with a split in its first flow and a 5% holdout."""
    scenario = ss.datasets.demo_scenario(contacts=contacts)
    first = scenario.flows[0]
    split = ss.Split(
        "bench_split",
        paths={"A": [ss.SendEmail("bench_a", template="a")], "B": []},
        weights={"A": 1, "B": 1},
    )
    flow = first.replace(steps=(split, *first.steps))
    return scenario.with_flow(flow).replace(holdout=ss.Holdout(percent=5))


def _time(function, *args, **kwargs) -> tuple[float, float, object]:
    """Wall time, this process's CPU time (``time.process_time``) and the value."""
    started, cpu = time.perf_counter(), time.process_time()
    value = function(*args, **kwargs)
    return time.perf_counter() - started, time.process_time() - cpu, value


def run(contacts: int, replications: int, marginal_k: int = 5, repeats: int = 3) -> dict:
    """The marginal cost: best of ``repeats`` of R=1 and R=k, interleaved (wall and CPU)."""
    scenario = experiment_scenario(contacts)
    scenario.store  # build the demo store now, untimed  # noqa: B018
    ss.simulate(scenario, progress=False)  # warm caches and imports
    best: dict[int, list[float]] = {1: [math.inf, math.inf], marginal_k: [math.inf, math.inf]}
    for _ in range(repeats):
        for k in (1, marginal_k):
            wall, cpu, _ = _time(ss.simulate, scenario, progress=False, replications=k)
            best[k] = [min(best[k][0], wall), min(best[k][1], cpu)]
    (t1, c1), (tk, ck) = best[1], best[marginal_k]
    marginal, marginal_cpu = (tk - t1) / (marginal_k - 1), (ck - c1) / (marginal_k - 1)
    t_processes, c_processes, result = _time(
        ss.simulate,
        scenario,
        progress=False,
        replications=replications,
        shards=2,
        executor="processes",
    )
    return {
        "contacts": contacts,
        "first_replication_s": round(t1, 3),
        "first_replication_cpu_s": round(c1, 3),
        f"replications_{marginal_k}_s": round(tk, 3),
        "later_replication_s": round(marginal, 3),
        "later_over_first": round(marginal / t1, 3),
        "later_over_first_cpu": round(marginal_cpu / c1, 3),
        "replications": replications,
        "processes_s": round(t_processes, 2),
        "processes_parent_cpu_s": round(c_processes, 2),
        "runs_per_replication": len(result.runs) / replications,
        "load_average": os.getloadavg(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--contacts", type=int, default=5_000)
    parser.add_argument("--replications", type=int, default=100)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    figures = run(args.contacts, args.replications)
    for key, value in figures.items():
        print(f"{key:>24}: {value}")
    if args.json is not None:
        args.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
