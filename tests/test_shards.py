"""Sharded runs (in process, local processes, Dask) and streamed results equal the plain run."""

from __future__ import annotations

from pathlib import Path

import pytest

import segsim as ss
from segsim._internal.frames import FRAMES
from tests.engine_helpers import day, make_store, reachable, scenario


def assert_same(a: ss.SimulationResult, b: ss.SimulationResult) -> None:
    for name in FRAMES:
        left, right = getattr(a, name), getattr(b, name)
        assert left.dtypes.equals(right.dtypes), name
        assert left.equals(right), name


@pytest.fixture(scope="module")
def demo(small_demo):
    return small_demo  # the demo scenario on 300 contacts and its plain run (conftest.py)


@pytest.mark.parametrize("shards", [2, 3, 7])
def test_in_process_shards_equal_the_plain_run(demo, shards):
    scenario, plain = demo
    assert_same(plain, ss.simulate(scenario, progress=False, shards=shards))


def test_local_processes_equal_the_plain_run(demo):
    scenario, plain = demo
    assert_same(plain, ss.simulate(scenario, progress=False, shards=2, executor="processes"))


def test_dask_local_cluster_with_two_workers(demo):
    distributed = pytest.importorskip("dask.distributed")
    scenario, plain = demo
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        result = ss.simulate(scenario, progress=False, shards=2, executor=client)
    assert_same(plain, result)


def test_string_ids_and_cascades_shard_identically():
    gold = ss.Segment("Gold", ss.attr("tier") == "gold")
    pro = ss.Segment("Pro", ss.attr("plan") == "pro")
    rows = []
    for i in range(12):
        cid = f"c{i:02d}"
        rows += [
            *reachable(cid),
            (cid, -5, "plan", "free"),
            (cid, i % 5, "plan", "pro"),
            (cid, 10 + i % 3, "plan", "free"),
        ]
    flows = [
        ss.Flow(
            "Up",
            trigger=ss.SegmentTrigger("Pro"),
            steps=[ss.Wait("w", "1d"), ss.UpdateContact("u", set={"tier": "gold"})],
        ),
        ss.Flow("Gold", trigger=ss.SegmentTrigger("Gold"), steps=[ss.SendEmail("e", template="g")]),
    ]
    s = scenario(make_store(rows), [pro, gold], flows)
    assert_same(ss.simulate(s, progress=False), ss.simulate(s, progress=False, shards=4))


def test_streamed_result_is_complete_and_lazy(demo, tmp_path):
    scenario, plain = demo
    out = tmp_path / "result"
    streamed = ss.simulate(scenario, progress=False, shards=2, out=out)
    assert sorted(p.name for p in out.iterdir()) == sorted(f"{name}.parquet" for name in FRAMES)
    assert streamed._frames == {}  # nothing loaded yet
    sent = streamed.sql("SELECT count(*) AS n FROM actions WHERE status = 'sent'")["n"].iloc[0]
    assert sent == (plain.actions["status"] == "sent").sum()
    assert_same(plain, streamed)
    reopened = ss.open_result(out, scenario=scenario)
    assert_same(plain, reopened)


def test_the_assembly_sorts_under_its_memory_limit_and_leaves_only_the_result(
    demo, tmp_path, monkeypatch
):
    from segsim.engine import output

    scenario, plain = demo
    seen = []
    write = output._write_ordered

    def spy(con, *args):
        seen.append(con.execute("SELECT current_setting('memory_limit')").fetchone()[0])
        seen.append(con.execute("SELECT current_setting('temp_directory')").fetchone()[0])
        return write(con, *args)

    monkeypatch.setattr(output, "ASSEMBLY_MEMORY", "64MB")
    monkeypatch.setattr(output, "_write_ordered", spy)
    out = tmp_path / "result"
    assert_same(plain, ss.simulate(scenario, progress=False, out=out))
    limit, spill = seen
    assert limit == "61.0 MiB"  # DuckDB prints 64MB (10^6 bytes) in MiB
    assert Path(spill).parent == tmp_path and Path(spill).name.startswith(".result.tmp-")
    assert list(tmp_path.iterdir()) == [out]  # no staging or spill folder is left


def test_interrupted_stream_leaves_no_result(tmp_path, monkeypatch):
    from segsim.engine import output

    def explode(*args, **kwargs):
        raise KeyboardInterrupt

    s = scenario(
        make_store([*reachable(1), (1, -5, "plan", "free"), (1, 2, "plan", "pro")]),
        [ss.Segment("Pro", ss.attr("plan") == "pro")],
        [ss.Flow("F", trigger=ss.SegmentTrigger("Pro"), steps=[ss.SendEmail("e", template="t")])],
    )
    monkeypatch.setattr(output, "_replace", explode)
    with pytest.raises(KeyboardInterrupt):
        ss.simulate(s, progress=False, out=tmp_path / "result")
    assert list(tmp_path.iterdir()) == []


def test_bad_shard_arguments():
    s = scenario(
        make_store([(1, 1, "plan", "pro")]), [ss.Segment("Pro", ss.attr("plan") == "pro")], []
    )
    with pytest.raises(ValueError, match="shards"):
        ss.simulate(s, shards=0)
    with pytest.raises(ValueError, match="'auto'"):
        ss.simulate(s, shards="many")
    with pytest.raises(ValueError, match="executor"):
        ss.simulate(s, shards=2, executor="threads please")
    assert day(0) == s.start


def test_comparison_variants_fan_out_the_same_way(demo):
    scenario, _ = demo
    variant = scenario.with_settings("Welcome Pro", reentry_mode="event")
    plain = ss.compare(scenario, {"recheck": scenario, "event": variant})
    sharded = ss.compare(
        scenario, {"recheck": scenario, "event": variant}, shards=2, executor="processes"
    )
    for name in ("recheck", "event"):
        assert_same(plain.results[name], sharded.results[name])
    assert plain.summary().equals(sharded.summary())


def test_precomputed_transitions_and_reused_frames_assemble_the_plain_run(demo):
    """The explorer's engine hooks: a kept transitions table, and frames of some contacts
    (turned back into parts) assembled with a fresh run of the others."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from segsim.engine.core import Simulation
    from segsim.engine.output import MemorySink, frames_from_parts, frames_to_parts
    from segsim.engine.plan import build_plan
    from segsim.engine.stream import transitions_table

    scenario, plain = demo
    plan = build_plan(scenario)
    table = transitions_table(plan, scenario.store)
    ids = sorted(set(plain.runs["contact_id"]))[::3]  # a third of the contacts that ran
    subset = table.filter(pc.is_in(table["contact_id"], value_set=pa.array(ids)))
    sink = MemorySink("int64")
    Simulation(plan, scenario.store, transitions=subset, sink=sink, key_offset=1 << 40).run()
    others = {name: f[~f["contact_id"].isin(ids)] for name, f in plain.frames.items()}
    parts = {
        name: reused + sink.parts[name] for name, reused in frames_to_parts(others, "int64").items()
    }
    frames = frames_from_parts(parts, plan.flow_order, "int64")
    assert_same(plain, ss.SimulationResult(frames, scenario=scenario))


def test_auto_runs_one_shard_where_going_parallel_cannot_pay(demo, monkeypatch):
    from segsim.engine import shards
    from segsim.engine.pool import SHARD_ROWS, history_rows

    def no_workers(*args):
        raise AssertionError("one shard runs in this process")

    monkeypatch.setattr(shards, "run_distributed", no_workers)
    scenario, plain = demo
    assert history_rows(scenario.store) < 2 * SHARD_ROWS  # 300 contacts: far too small
    for executor in (None, "processes"):
        result = ss.simulate(scenario, progress=False, shards="auto", executor=executor)
        assert result.meta["shards"] == 1
        assert_same(plain, result)


def test_auto_splits_a_large_enough_history_and_the_frames_do_not_change(demo, monkeypatch):
    from concurrent.futures import ThreadPoolExecutor

    from segsim.engine import pool

    scenario, plain = demo
    rows = pool.history_rows(scenario.store)
    monkeypatch.setattr(pool, "SHARD_ROWS", rows // 2)  # room for exactly two shards
    with ThreadPoolExecutor(max_workers=4) as executor:
        result = ss.simulate(scenario, progress=False, shards="auto", executor=executor)
    assert result.meta["shards"] == 2
    assert_same(plain, result)


def test_auto_shards_rule(monkeypatch):
    from concurrent.futures import ThreadPoolExecutor

    from segsim.engine import pool

    class DaskClient:  # what auto_shards reads of a dask.distributed.Client
        def submit(self, *args):
            raise AssertionError("not run")

        def nthreads(self):
            return {"tcp://a": 2, "tcp://b": 3}

    monkeypatch.setattr(pool, "cpu_count", lambda: 4)
    big, rows = 10**9, pool.SHARD_ROWS
    with ThreadPoolExecutor(max_workers=3) as threads:
        assert [
            pool.auto_shards(None, big, False),  # shards would run one after the other
            pool.auto_shards("processes", big, True),  # a rate limit all contacts share
            pool.auto_shards("processes", 2 * rows - 1, False),  # too small to pay
            pool.auto_shards("processes", 2 * rows, False),
            pool.auto_shards("processes", 3 * rows + 1, False),
            pool.auto_shards("processes", big, False),  # one per CPU
            pool.auto_shards(threads, big, False),  # one per worker
            pool.auto_shards(DaskClient(), big, False),  # one per Dask thread
        ] == [1, 1, 1, 2, 3, 4, 3, 5]
    monkeypatch.setattr(pool, "cpu_count", lambda: 1)
    assert pool.auto_shards("processes", big, False) == 1


def test_local_workers_start_warm_where_the_platform_allows():
    import multiprocessing

    from segsim.engine.pool import start_workers

    workers = start_workers(1)
    try:
        method = workers._mp_context.get_start_method()
        assert workers.submit(sum, [1, 2]).result() == 3
    finally:
        workers.shutdown()
    if "forkserver" in multiprocessing.get_all_start_methods():
        assert method == "forkserver"
    else:
        assert method == "spawn"


@pytest.mark.parametrize("id_dtype", ["int64", "object"])
def test_frames_without_rows_skip_the_ordering_and_keep_their_dtypes(id_dtype):
    """An empty frame comes from ``FrameSpec.empty`` instead of an ordering query: the same
    columns and dtypes as the query gives, and a new frame each time."""
    import duckdb

    from segsim.engine.output import _ordering_sql, _part_frame, frames_from_parts

    con = duckdb.connect()
    for name in FRAMES:
        con.register(f"part_{name}", _part_frame(name, [], 0, id_dtype))
    sql = _ordering_sql(["A"], {name: f"part_{name}" for name in FRAMES})
    empty_parts = {name: [_part_frame(name, [], 0, id_dtype)] for name in FRAMES}
    first, second = (frames_from_parts(empty_parts, ["A"], id_dtype) for _ in range(2))
    for name, spec in FRAMES.items():
        queried = spec.typed(con.execute(sql[name]).df(), id_dtype)
        assert first[name].dtypes.equals(queried.dtypes), name
        assert first[name].equals(queried) and first[name].index.equals(queried.index), name
        assert first[name] is not second[name]
    con.close()


def test_scratch_cursors_do_not_see_each_others_names():
    import pandas as pd

    from segsim._internal.scratch import scratch

    with scratch() as a, scratch() as b:
        a.register("part", pd.DataFrame({"x": [1, 2]}))
        a.execute("CREATE TEMP VIEW v AS SELECT x FROM part")
        assert a.execute("SELECT sum(x) FROM v").fetchone() == (3,)
        b.register("part", pd.DataFrame({"x": [10]}))
        assert b.execute("SELECT sum(x) FROM part").fetchone() == (10,)
        with pytest.raises(Exception, match="v"):
            b.execute("SELECT * FROM v")
    with scratch() as c, pytest.raises(Exception, match="part"):
        c.execute("SELECT * FROM part")  # gone with the cursor that registered it


@pytest.mark.parametrize("id_dtype", ["int64", "object"])
def test_parts_are_typed_column_by_column(id_dtype, small_demo):
    """``_part_frame`` builds its columns as numpy arrays: the same frame as typing each
    column with pandas (str columns stay object, with their ``None``); the columns of a
    steps or actions row's label are taken from the label table."""
    import pandas as pd

    from segsim.engine.labels import LABEL_COLUMNS, LABEL_FIELDS, LABELLED_ROWS, Labels
    from segsim.engine.output import _PART_DTYPE, _part_frame

    _, result = small_demo
    for name, spec in FRAMES.items():
        frame = result.frames[name]
        rows = []
        for row in frame.itertuples(index=False):
            values = []
            for column, value in zip(spec.columns, row, strict=True):
                if column.kind == "time":
                    value = int(value.value // 1000)
                elif column.kind == "id" and id_dtype == "object":
                    value = f"c{value}"
                elif column.kind == "str" and value is not None and pd.isna(value):
                    value = None
                values.append(value)
            rows.append(tuple(values))
        expected = pd.DataFrame(
            {
                c.name: pd.Series(
                    [r[i] for r in rows],
                    dtype=id_dtype if c.kind == "id" else _PART_DTYPE.get(c.kind, object),
                )
                for i, c in enumerate(spec.columns)
            }
        )
        expected["seq"] = pd.RangeIndex(7, 7 + len(rows), dtype="int64")
        labels = Labels()
        if name in LABELLED_ROWS:  # the loop writes these rows with a label number
            numbers: dict[tuple, int] = {}
            written = []
            for row in rows:
                by_column = dict(zip(spec.names, row, strict=True))
                given = {LABEL_COLUMNS[c]: v for c, v in by_column.items() if c in LABEL_COLUMNS}
                label = tuple(given.get(f) for f in LABEL_FIELDS)
                by_column["label"] = numbers.setdefault(label, len(numbers))
                written.append(tuple(by_column[c] for c in LABELLED_ROWS[name]))
            labels = Labels(sorted(numbers, key=numbers.__getitem__))
            rows = written
        part = _part_frame(name, rows, 7, id_dtype, labels)
        assert part.dtypes.equals(expected.dtypes), name
        assert part.equals(expected), name


def test_a_script_without_a_main_guard_gets_a_clear_error(tmp_path):
    # each local worker imports the script it was started from (Python's multiprocessing):
    # unguarded, the script starts the simulation again inside the worker, which dies. The
    # user gets a SegsimError that says what to write, not a BrokenProcessPool.
    import subprocess
    import sys

    script = tmp_path / "unguarded.py"
    script.write_text(
        "import segsim as ss\n"
        "from segsim.datasets import demo_scenario\n"
        "scenario = demo_scenario(contacts=100)\n"
        'ss.simulate(scenario, shards=2, executor="processes", progress=False)\n'
    )
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=120, cwd=tmp_path
    )
    assert done.returncode != 0
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("segsim.errors.SegsimError: a worker process stopped")
    assert 'if __name__ == "__main__":' in last
