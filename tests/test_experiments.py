"""Experiments (docs/design.md §9): Split, AudienceSplit, Holdout, replications.

Hand-computed logs with literal days, the assignment rules tested directly (bucket mapping,
draws to paths), and statistical checks with fixed seeds whose tolerance is 4 standard
errors of a share.
"""

from __future__ import annotations

import math

import pandas as pd
import pytest
from engine_helpers import actions_log, day, make_store, reachable, runs_log
from pydantic import ValidationError

import segsim as ss
from segsim import attr
from segsim.engine.draws import uniform
from segsim.errors import ConditionError, ScenarioError
from segsim.experiments import (
    bucket_bounds,
    cumulative_shares,
    interval_table,
    path_for_bucket,
    path_for_draw,
)

VIP = ss.Segment("VIP", attr("plan") == "pro")


def _steps_log(result):
    return [
        (int((r.time - day(0)) / pd.Timedelta(days=1)), r.contact_id, r.step_id, r.outcome)
        for r in result.steps.itertuples()
    ]


def _ab(**options):
    return ss.Split(
        "ab",
        paths={
            "A": [ss.SendEmail("a", template="a")],
            "B": [ss.SendSMS("b", template="b")],
            "control": [],
        },
        weights={"A": 45, "B": 45, "control": 10},
        **options,
    )


# -- models -----------------------------------------------------------------------------------


def test_split_needs_two_paths_and_matching_positive_weights():
    with pytest.raises(ValidationError, match="split step 'ab' needs at least two paths"):
        ss.Split("ab", paths={"A": []}, weights={"A": 1})
    with pytest.raises(
        ValidationError, match=r"split step 'ab' has weights for unknown paths \['C'\]"
    ):
        ss.Split("ab", paths={"A": [], "B": []}, weights={"A": 1, "C": 1})
    with pytest.raises(ValidationError, match=r"split step 'ab' has no weight for paths \['B'\]"):
        ss.Split("ab", paths={"A": [], "B": []}, weights={"A": 1})
    for bad in (0, -1, math.nan, math.inf):
        with pytest.raises(ValidationError, match="the weight of path 'B' must be a positive"):
            ss.Split("ab", paths={"A": [], "B": []}, weights={"A": 1, "B": bad})


def test_split_weights_have_any_scale():
    one = ss.Split("s", paths={"A": [], "B": []}, weights={"A": 1, "B": 3})
    hundred = ss.Split("s", paths={"A": [], "B": []}, weights={"A": 25, "B": 75})
    assert one.shares() == hundred.shares() == {"A": 0.25, "B": 0.75}


def test_step_ids_are_unique_across_split_paths():
    with pytest.raises(ValidationError, match="step id 'x' is used twice"):
        ss.Flow(
            "F",
            steps=[
                ss.Split(
                    "s",
                    paths={"A": [ss.Wait("x", "1d")], "B": [ss.Wait("x", "2d")]},
                    weights={"A": 1, "B": 1},
                )
            ],
        )


def test_audience_split_paths_are_pairs_or_models_and_named_by_rank():
    split = ss.AudienceSplit(
        "as",
        paths=[
            (attr("plan") == "pro", [ss.Wait("w", "1d")]),
            ss.AudiencePath(when=attr("plan") == "free", name="free"),
        ],
    )
    assert split.path_names() == ("path_1", "free", "otherwise")
    with pytest.raises(ValidationError, match="audience_split step 'as' needs at least one path"):
        ss.AudienceSplit("as", paths=[])
    with pytest.raises(ValidationError, match="two paths are named 'x'"):
        ss.AudienceSplit(
            "as",
            paths=[
                ss.AudiencePath(when=attr("a") == 1, name="x"),
                ss.AudiencePath(when=attr("a") == 2, name="x"),
            ],
        )


def test_holdout_percent_is_between_0_and_100():
    for bad in (0, 100, -5, math.nan):
        with pytest.raises(ValidationError):
            ss.Holdout(percent=bad)


def test_flows_with_splits_round_trip_through_json_and_yaml():
    flow = ss.Flow(
        "F",
        trigger=ss.SegmentTrigger("VIP"),
        steps=[
            _ab(bucket_attribute="bucket"),
            ss.AudienceSplit(
                "as",
                paths=[(attr("plan") == "pro", [ss.Wait("w", "1d")])],
                otherwise=[ss.DeleteContact("d")],
            ),
        ],
    )
    assert ss.Flow.model_validate_json(flow.model_dump_json()) == flow
    scenario = ss.Scenario(
        data=ss.scenario.DemoSource(contacts=10),
        segments=[VIP],
        flows=[flow],
        start="2026-01-01",
        end="2026-02-01",
        holdout=ss.Holdout(percent=5, flows=["F"]),
    )
    text = ss.scenario.scenario_to_yaml(scenario)
    assert "kind: split" in text and "holdout:" in text
    import yaml

    assert ss.Scenario.model_validate(yaml.safe_load(text)) == scenario


def test_a_holdout_naming_an_unknown_flow_is_refused():
    with pytest.raises(ValidationError, match="the holdout covers unknown flow 'Welcom'"):
        ss.Scenario(
            data=ss.scenario.DemoSource(contacts=10),
            segments=[VIP],
            flows=[ss.Flow("Welcome", trigger=ss.SegmentTrigger("VIP"))],
            start="2026-01-01",
            end="2026-02-01",
            holdout=ss.Holdout(percent=5, flows=["Welcom"]),
        )


# -- the assignment rules ---------------------------------------------------------------------


def test_bucket_mapping_follows_cumulative_weights_in_path_order():
    assert bucket_bounds([45, 45, 10]) == ((0, 4500), (4500, 9000), (9000, 10000))
    picks = [path_for_bucket(b, [45, 45, 10]) for b in (0, 4499, 4500, 8999, 9000, 9999)]
    assert picks == [0, 0, 1, 1, 2, 2]
    # out of range or missing: no path (the engine raises, naming the contact)
    assert [path_for_bucket(b, [45, 45, 10]) for b in (-1, 10000, None)] == [None] * 3
    # weights of any scale: 1/1/2 is 2500/2500/5000
    assert bucket_bounds([1, 1, 2]) == ((0, 2500), (2500, 5000), (5000, 10000))


def test_draws_map_to_paths_by_cumulative_share():
    assert cumulative_shares([1, 1, 2]) == (0.25, 0.5, 1.0)
    assert [path_for_draw(u, (0.25, 0.5, 1.0)) for u in (0, 0.2499, 0.25, 0.5, 0.9999)] == [
        0,
        0,
        1,
        2,
        2,
    ]


def test_split_shares_are_within_4_standard_errors_on_20000_contacts():
    n = 20_000
    weights = [45, 45, 10]
    cumulative = cumulative_shares(weights)
    counts = [0, 0, 0]
    for contact in range(n):
        counts[path_for_draw(uniform(3, 0, "F", "ab", contact, "split"), cumulative)] += 1
    for count, weight in zip(counts, weights, strict=True):
        p = weight / 100
        assert abs(count / n - p) <= 4 * math.sqrt(p * (1 - p) / n), (counts, weights)


def test_split_draws_are_independent_across_replications_and_steps():
    # the same contacts split again in another replication (or at another step): agreement
    # between the two assignments of a 50/50 split is 1/2, within 4 standard errors
    n = 20_000
    for other in ((1, "ab"), (0, "cd")):
        same = sum(
            (uniform(3, 0, "F", "ab", c, "split") < 0.5)
            == (uniform(3, other[0], "F", other[1], c, "split") < 0.5)
            for c in range(n)
        )
        assert abs(same / n - 0.5) <= 4 * math.sqrt(0.25 / n)


# -- in the engine: hand-computed -------------------------------------------------------------


def _bucket_store(buckets):
    rows = []
    for contact, bucket in buckets.items():
        rows += reachable(contact)
        rows += [(contact, 1, "plan", "pro"), (contact, -30, "bucket", bucket)]
    return make_store(rows, types={"bucket": "number"})


def test_a_bucket_split_reproduces_the_platform_assignment():
    store = _bucket_store({1: 0, 2: 4499, 3: 4500, 4: 8999, 5: 9000, 6: 9999})
    flow = ss.Flow(
        "F",
        trigger=ss.SegmentTrigger("VIP"),
        steps=[_ab(bucket_attribute="bucket"), ss.Wait("w", "1d")],
    )
    scenario = ss.Scenario(store, segments=[VIP], flows=[flow], start=day(0), end=day(5))
    for seed in (0, 1):
        result = ss.simulate(scenario.replace(seed=seed), progress=False)
        assert _steps_log(result) == [
            (1, 1, "ab", "A"),
            (1, 1, "a", "sent"),
            (1, 1, "w", "waiting"),
            (1, 2, "ab", "A"),
            (1, 2, "a", "sent"),
            (1, 2, "w", "waiting"),
            (1, 3, "ab", "B"),
            (1, 3, "b", "sent"),
            (1, 3, "w", "waiting"),
            (1, 4, "ab", "B"),
            (1, 4, "b", "sent"),
            (1, 4, "w", "waiting"),
            (1, 5, "ab", "control"),
            (1, 5, "w", "waiting"),  # an empty path goes straight to the step after the split
            (1, 6, "ab", "control"),
            (1, 6, "w", "waiting"),
        ]


def test_a_contact_without_a_bucket_at_a_bucket_split_is_an_error_naming_it():
    store = _bucket_store({1: 100, 2: 10000})
    flow = ss.Flow("F", trigger=ss.SegmentTrigger("VIP"), steps=[_ab(bucket_attribute="bucket")])
    scenario = ss.Scenario(store, segments=[VIP], flows=[flow], start=day(0), end=day(5))
    with pytest.raises(ScenarioError, match=r"flow 'F' split step 'ab': contact 2 has no bucket"):
        ss.simulate(scenario, progress=False)


def test_a_bucket_attribute_must_be_a_number_attribute_of_the_data():
    store = make_store([(1, 1, "plan", "pro"), (1, 1, "tier", "gold")])
    for name, match in (("nope", "nope"), ("tier", "tier")):
        flow = ss.Flow("F", trigger=ss.SegmentTrigger("VIP"), steps=[_ab(bucket_attribute=name)])
        scenario = ss.Scenario(store, segments=[VIP], flows=[flow], start=day(0), end=day(5))
        with pytest.raises(ConditionError, match=rf"(?s)(?=.*flow 'F' step 'ab')(?=.*{match})"):
            ss.simulate(scenario, progress=False)
        problems = ss.engine.plan.scenario_problems(scenario)
        assert problems and problems[0].startswith("flows[0].steps[0].bucket_attribute")


def _split_flow(**settings):
    return ss.Flow(
        "F",
        trigger=ss.SegmentTrigger("VIP"),
        steps=[
            ss.Split(
                "ab",
                paths={
                    "A": [ss.SendEmail("a", template="a")],
                    "B": [ss.SendEmail("b", template="b")],
                },
                weights={"A": 1, "B": 1},
            )
        ],
        settings=ss.ActivationSettings(**settings),
    )


def test_a_random_split_is_sticky_across_runs_of_a_replication():
    # contacts 1-4 enter VIP on days 1, 3 and 5 (leaving in between): three runs each
    rows = []
    for contact in range(1, 5):
        rows += reachable(contact)
        rows += [
            (contact, d, "plan", p)
            for d, p in ((1, "pro"), (2, "free"), (3, "pro"), (4, "free"), (5, "pro"))
        ]
    store = make_store(rows)
    flow = _split_flow(allow_reentry=True, reentry_mode="event")
    scenario = ss.Scenario(store, segments=[VIP], flows=[flow], start=day(0), end=day(10), seed=1)
    result = ss.simulate(scenario, progress=False)
    # seed 1, replication 0: draws 0.095, 0.752, 0.573, 0.648 -> A, B, B, B
    assert [round(uniform(1, 0, "F", "ab", c, "split"), 3) for c in range(1, 5)] == [
        0.095,
        0.752,
        0.573,
        0.648,
    ]
    splits = result.steps[result.steps["step_id"] == "ab"]
    assert sorted(
        zip(
            splits["contact_id"],
            splits["time"].map(lambda t: t.day - 1),
            splits["outcome"],
            strict=True,
        )
    ) == [
        (1, 1, "A"),
        (1, 3, "A"),
        (1, 5, "A"),
        (2, 1, "B"),
        (2, 3, "B"),
        (2, 5, "B"),
        (3, 1, "B"),
        (3, 3, "B"),
        (3, 5, "B"),
        (4, 1, "B"),
        (4, 3, "B"),
        (4, 5, "B"),
    ]


def test_an_audience_split_takes_the_first_matching_path_at_the_step_instant():
    # the condition is read when the run reaches the split, after a 2-day wait: contact 3
    # becomes gold on day 2, between its entry (day 1) and the split (day 3)
    rows = []
    for contact, tier, ltv in ((1, "gold", 500), (2, "free", 500), (3, "free", 0), (4, "free", 0)):
        rows += reachable(contact)
        rows += [
            (contact, 1, "plan", "pro"),
            (contact, -30, "tier", tier),
            (contact, -30, "ltv", ltv),
        ]
    rows.append((3, 2, "tier", "gold"))
    store = make_store(rows)
    flow = ss.Flow(
        "F",
        trigger=ss.SegmentTrigger("VIP"),
        steps=[
            ss.Wait("w", "2d"),
            ss.AudienceSplit(
                "as",
                paths=[
                    (attr("tier") == "gold", [ss.SendEmail("gold", template="gold")]),
                    (attr("ltv") >= 100, [ss.SendEmail("big", template="big")]),
                ],
                otherwise=[ss.AddToList("l", "nurture")],
            ),
        ],
    )
    scenario = ss.Scenario(store, segments=[VIP], flows=[flow], start=day(0), end=day(5))
    result = ss.simulate(scenario, progress=False)
    assert [r for r in _steps_log(result) if r[2] != "w"] == [
        (3, 1, "as", "path_1"),  # gold and big: the first path wins
        (3, 1, "gold", "sent"),
        (3, 2, "as", "path_2"),
        (3, 2, "big", "sent"),
        (3, 3, "as", "path_1"),  # gold since day 2
        (3, 3, "gold", "sent"),
        (3, 4, "as", "otherwise"),
        (3, 4, "l", "applied"),
    ]


def _holdout_scenario(holdout):
    rows = []
    for contact in range(1, 11):
        rows += reachable(contact)
        rows.append((contact, 1, "plan", "pro"))
    store = make_store(rows)
    flows = [
        ss.Flow(
            name,
            trigger=ss.SegmentTrigger("VIP"),
            steps=[ss.SendEmail(f"{name}_e", template="t"), ss.AddToList(f"{name}_l", "seen")],
        )
        for name in ("F", "G")
    ]
    return ss.Scenario(
        store, segments=[VIP], flows=flows, start=day(0), end=day(5), seed=1, holdout=holdout
    )


def test_held_out_contacts_walk_the_flows_but_get_no_message():
    # seed 1, replication 0, holdout draws of contacts 1-10:
    # 0.750 0.310 0.302 0.567 0.024 0.445 0.230 0.321 0.971 0.216 -> below 0.25: 5, 7, 10
    result = ss.simulate(_holdout_scenario(ss.Holdout(percent=25)), progress=False)
    held = {5, 7, 10}
    expected = []
    for contact in range(1, 11):
        for flow in ("F", "G"):
            expected.append(
                (
                    1,
                    flow,
                    contact,
                    f"{flow}_e",
                    "skipped" if contact in held else "sent",
                    "holdout" if contact in held else None,
                )
            )
            expected.append((1, flow, contact, f"{flow}_l", "applied", None))
    assert sorted(actions_log(result), key=lambda r: (r[2], r[1])) == sorted(
        expected, key=lambda r: (r[2], r[1])
    )
    assert all(r[-1] == "completed" for r in runs_log(result)) and len(result.runs) == 20
    skipped = result.actions[result.actions["reason"] == "holdout"]
    assert (skipped["cost"] == 0).all()


def test_a_holdout_covers_only_the_flows_it_names():
    result = ss.simulate(_holdout_scenario(ss.Holdout(percent=25, flows=["G"])), progress=False)
    skipped = result.actions[result.actions["reason"] == "holdout"]
    assert sorted(skipped["contact_id"]) == [5, 7, 10]
    assert set(skipped["flow"]) == {"G"}


def test_holdout_share_is_within_4_standard_errors_on_20000_contacts():
    n, share = 20_000, 0.05
    held = sum(uniform(11, 0, None, None, c, "holdout") < share for c in range(n))
    assert abs(held / n - share) <= 4 * math.sqrt(share * (1 - share) / n)


def test_interval_table_gives_mean_and_percentile_interval():
    per = pd.DataFrame({"replication": range(5), "sent": [10, 20, 30, 40, 50]})
    table = interval_table(per, ["sent"])
    assert table.to_dict("records") == [
        {
            "metric": "sent",
            "mean": 30.0,
            "std": pytest.approx(15.811388300841896),
            "low": 11.0,  # 2.5% percentile, linear: 10 + 0.1 * 10
            "high": 49.0,
            "replications": 5,
        }
    ]


# -- replications --------------------------------------------------------------------------------


#: contacts of the end-to-end checks (the draw-level statistical checks use 20,000 draws)
N_E2E = 1_000


def _population(n):
    rows = []
    for contact in range(1, n + 1):
        rows += reachable(contact)
        rows.append((contact, 1 + contact % 5, "plan", "pro"))
    return make_store(rows)


@pytest.fixture(scope="module")
def experiment():
    """N_E2E contacts entering a 45/45/10 split with a 10% holdout; R=1 and R=4 results."""
    store = _population(N_E2E)
    flow = ss.Flow("F", trigger=ss.SegmentTrigger("VIP"), steps=[_ab(), ss.Wait("w", "1d")])
    scenario = ss.Scenario(
        store,
        segments=[VIP],
        flows=[flow],
        start=day(0),
        end=day(10),
        seed=5,
        holdout=ss.Holdout(percent=10),
    )
    return (
        scenario,
        ss.simulate(scenario, progress=False),
        ss.simulate(scenario, progress=False, replications=4),
    )


def _assert_same(left, right):
    for name in left.frames:
        a, b = left.frames[name], right.frames[name]
        assert a.dtypes.equals(b.dtypes), name
        assert a.equals(b), name


def test_one_replication_gives_todays_frames_and_replication_0_equals_it(experiment):
    scenario, plain, many = experiment
    assert "replication" not in plain.steps.columns
    _assert_same(plain, ss.simulate(scenario, progress=False, replications=1))
    _assert_same(plain, many.replication(0))
    for frame in many.frames.values():
        assert frame.columns[0] == "replication" and frame["replication"].dtype == "int64"
    runs = many.runs
    assert sorted(set(runs["replication"])) == [0, 1, 2, 3]
    # each replication numbers its runs from 1; every contact enters once per replication
    assert (runs.groupby("replication")["run_id"].min() == 1).all()
    assert (runs.groupby("replication").size() == N_E2E).all()


def test_replications_draw_independently_and_the_same_seed_repeats(experiment):
    scenario, _, many = experiment
    splits = many.steps[many.steps["step_id"] == "ab"]
    paths = splits.pivot(index="contact_id", columns="replication", values="outcome")
    # two replications agree on a contact's path with probability .45² + .45² + .1² = .415
    p = 0.415
    same = (paths[0] == paths[1]).mean()
    assert abs(same - p) <= 4 * math.sqrt(p * (1 - p) / N_E2E)
    _assert_same(many, ss.simulate(scenario, progress=False, replications=4))


def test_end_to_end_shares_are_within_4_standard_errors(experiment):
    _, plain, _ = experiment
    outcomes = plain.steps.loc[plain.steps["step_id"] == "ab", "outcome"].value_counts()
    n = N_E2E
    for path, p in (("A", 0.45), ("B", 0.45), ("control", 0.10)):
        assert abs(outcomes[path] / n - p) <= 4 * math.sqrt(p * (1 - p) / n)
    messages = plain.actions
    held = messages[messages["reason"] == "holdout"]
    # the holdout: 10% of the contacts that reached a message
    reached = messages["contact_id"].nunique()
    share = held["contact_id"].nunique() / reached
    assert abs(share - 0.1) <= 4 * math.sqrt(0.09 / reached)


def test_sharded_and_threaded_replications_equal_the_plain_ones(experiment):
    from concurrent.futures import ThreadPoolExecutor

    scenario, _, many = experiment
    _assert_same(many, ss.simulate(scenario, progress=False, replications=4, shards=3))
    with ThreadPoolExecutor(2) as pool:
        _assert_same(
            many,
            ss.simulate(scenario, progress=False, replications=4, shards=2, executor=pool),
        )


def test_replications_on_local_processes_equal_the_plain_ones(experiment):
    scenario, _, many = experiment
    result = ss.simulate(scenario, progress=False, replications=4, shards=2, executor="processes")
    _assert_same(many, result)


def test_replications_on_a_dask_cluster_equal_the_plain_ones(experiment):
    distributed = pytest.importorskip("dask.distributed")
    scenario, _, many = experiment
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        result = ss.simulate(scenario, progress=False, replications=4, shards=2, executor=client)
    _assert_same(many, result)


def test_segment_transitions_are_computed_once_per_shard(experiment, monkeypatch):
    import segsim.engine.stream as stream

    scenario, _, many = experiment
    calls = []
    original = stream.transitions_table

    def counting(*args, **kwargs):
        calls.append(args)
        return original(*args, **kwargs)

    monkeypatch.setattr(stream, "transitions_table", counting)
    result = ss.simulate(scenario, progress=False, replications=4, shards=2)
    assert len(calls) == 2  # one per shard, shared by its 4 replications
    _assert_same(many, result)


def test_replications_table_and_summary_intervals(experiment):
    _, _, many = experiment
    table = many.replications
    assert list(table["replication"]) == [0, 1, 2, 3]
    assert (table["runs"] == N_E2E).all()
    for r in range(4):
        one = many.replication(r).actions
        assert (
            table.loc[r, "email_sent"]
            == ((one["action"] == "send_email") & (one["status"] == "sent")).sum()
        )
    summary = many.summary()
    assert list(summary.columns) == ["flow", "metric", "mean", "std", "low", "high", "replications"]
    email = summary[summary["metric"] == "email_sent"].iloc[0]
    values = table["email_sent"].to_numpy(dtype=float)
    assert email["mean"] == pytest.approx(values.mean())
    assert email["low"] == pytest.approx(float(pd.Series(values).quantile(0.025)))
    assert email["high"] == pytest.approx(float(pd.Series(values).quantile(0.975)))
    runs = summary[summary["metric"] == "runs"].iloc[0]
    assert (runs["mean"], runs["std"], runs["low"], runs["high"]) == (N_E2E, 0, N_E2E, N_E2E)


def test_views_of_one_history_ask_for_one_replication(experiment):
    _, _, many = experiment
    with pytest.raises(ss.SegsimError, match=r"result.replication\(0\).report\(\)"):
        many.report()
    with pytest.raises(ss.SegsimError, match="4 replications"):
        many.explain(1)
    with pytest.raises(ValueError, match=r"replication must be an integer in \[0, 4\)"):
        many.replication(4)


def test_bad_replication_arguments(experiment, tmp_path):
    scenario, _, _ = experiment
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="replications must be a positive integer"):
            ss.simulate(scenario, progress=False, replications=bad)
    with pytest.raises(ValueError, match="out=DIR"):
        ss.simulate(scenario, progress=False, replications=2, out=tmp_path / "r")


# -- compare over replications ------------------------------------------------------------------


@pytest.fixture(scope="module")
def comparison():
    """A/B split (both email) against the variant whose B path sends an SMS, 5 replications."""
    store = _population(600)

    def flow(b_step):
        split = ss.Split(
            "ab",
            paths={"A": [ss.SendEmail("a", template="a")], "B": [b_step]},
            weights={"A": 1, "B": 1},
        )
        return ss.Flow("F", trigger=ss.SegmentTrigger("VIP"), steps=[split])

    scenario = ss.Scenario(
        store,
        segments=[VIP],
        flows=[flow(ss.SendEmail("b", template="b"))],
        start=day(0),
        end=day(10),
        seed=2,
        holdout=ss.Holdout(percent=20),
    )
    variants = {"email": scenario.flows[0], "sms": flow(ss.SendSMS("b", template="b"))}
    return ss.compare(scenario, variants, replications=5)


def test_compared_variants_share_their_draws(comparison):
    base, variant = comparison.results["email"], comparison.results["sms"]
    for frame in ("steps",):
        left = base.steps[base.steps["step_id"] == "ab"]
        right = variant.steps[variant.steps["step_id"] == "ab"]
        cols = ["replication", "contact_id", "outcome"]
        assert left[cols].reset_index(drop=True).equals(right[cols].reset_index(drop=True)), frame
    held = [
        r.actions.loc[r.actions["reason"] == "holdout", ["replication", "contact_id"]]
        for r in (base, variant)
    ]
    assert held[0].reset_index(drop=True).equals(held[1].reset_index(drop=True))


def test_paired_deltas_intervals_and_p_higher(comparison):
    per = comparison.replications
    base = per[per["variant"] == "email"].set_index("replication")
    sms = per[per["variant"] == "sms"].set_index("replication")
    deltas = comparison.deltas().set_index("metric")
    # every contact gets one message either way: the paired difference is exactly 0
    assert tuple(deltas.loc["messages_sent", ["mean", "std", "low", "high", "p_higher"]]) == (
        0,
        0,
        0,
        0,
        0.5,
    )
    moved = sms["sms_sent"]
    assert (sms["email_sent"] - base["email_sent"] == -moved).all()
    assert deltas.loc["sms_sent", "mean"] == pytest.approx(moved.mean())
    assert deltas.loc["sms_sent", "p_higher"] == 1.0 and deltas.loc["email_sent", "p_higher"] == 0
    summary = comparison.summary()
    assert summary.loc["sms_sent", "sms_delta_mean"] == pytest.approx(moved.mean())
    assert summary.loc["sms_sent", "email_mean"] == 0
    assert (
        summary.loc["sms_sent", "sms_low"]
        <= summary.loc["sms_sent", "sms_mean"]
        <= summary.loc["sms_sent", "sms_high"]
    )


def test_the_comparison_report_shows_intervals(comparison):
    report = comparison.report()
    assert [s.key for s in report.sections][-3:] == ["summary", "intervals", "replications"]
    figure = report["intervals"].figure
    ax = figure.axes[0]
    deltas = comparison.deltas()
    shown = deltas[
        deltas["metric"].isin(
            [
                "contacts_reached",
                "email_sent",
                "sms_sent",
                "whatsapp_sent",
                "messages_sent",
                "skipped",
            ]
        )
    ]
    first = shown.iloc[0]
    assert list(ax.lines[0].get_xdata()) == [first["low"], first["high"]]
    assert "5 replications" in report.title
    with pytest.raises(ss.SegsimError, match=r"cmp.replication\(r\)"):
        comparison.contact_differences()
    one = comparison.replication(1)
    sends = one.sends().set_index(["variant", "channel"])["messages"]
    assert one.replication_count == 1 and sends["sms", "sms"] > 0


# -- views ----------------------------------------------------------------------------------------


def test_the_diagram_labels_split_branches_with_their_shares():
    from segsim.diagram import draw_flow, flow_svg

    flow = ss.Flow(
        "F",
        trigger=ss.SegmentTrigger("VIP"),
        steps=[
            _ab(),
            ss.AudienceSplit(
                "as",
                paths=[(attr("plan") == "pro", [ss.Wait("w", "1d")])],
                otherwise=[ss.DeleteContact("d")],
            ),
        ],
    )
    ax = draw_flow(flow)
    labels = [t.get_text() for t in ax.texts if (t.get_gid() or "").startswith("edge-label")]
    assert labels == ["A 45%", "B 45%", "control 10%", "path_1", "otherwise"]
    x = {
        p.get_gid(): p.get_x() + p.get_width() / 2
        for p in ax.patches
        if (p.get_gid() or "").startswith("step:")
    }
    # three columns: A left, B under the split, the empty control path on the right
    assert x["step:a"] < x["step:ab"] == x["step:b"]
    assert "A 45%" in flow_svg(flow)


def test_explain_says_which_path_and_why():
    store = _bucket_store({1: 4500, 2: 100})
    flow = ss.Flow(
        "F",
        trigger=ss.SegmentTrigger("VIP"),
        steps=[
            _ab(bucket_attribute="bucket"),
            ss.Split("r", paths={"x": [], "y": []}, weights={"x": 1, "y": 3}),
            ss.AudienceSplit(
                "as",
                paths=[(attr("bucket") >= 1000, []), (attr("bucket") >= 0, [])],
            ),
        ],
    )
    scenario = ss.Scenario(
        store,
        segments=[VIP],
        flows=[flow],
        start=day(0),
        end=day(5),
        seed=1,
        holdout=ss.Holdout(percent=50),
    )
    result = ss.simulate(scenario, progress=False)
    story = result.explain(2)
    details = dict(zip(story["step_id"], story["detail"], strict=True))
    assert details["ab"] == "path 'A' (45%): its 'bucket' bucket is in [0, 4500)"
    u = uniform(1, 0, "F", "r", 2, "split")
    path = "x" if u < 0.25 else "y"
    low, high = ("0", "0.25") if path == "x" else ("0.25", "1")
    assert details["r"] == (
        f"path {path!r} ({0.25 if path == 'x' else 0.75:.0%}): the contact's draw {u:.4f} is "
        f"in [{low}, {high}) (seed 1, replication 0; the same path on every run of this "
        "replication)"
    )
    assert details["as"] == "path 'path_2': bucket >= 0 held (the first to hold, in rank order)"
    # holdout draws (seed 1): contact 1 0.750, contact 2 0.310 -> only 2 is held out at 50%
    assert details["a"] == (
        "skipped: holdout (the contact is in the scenario's holdout group) · email · template 'a'"
    )
    story = result.explain(1)
    assert story.loc[story["step_id"] == "b", "detail"].tolist() == ["sent · sms · template 'b'"]
    details = dict(zip(story["step_id"], story["detail"], strict=True))
    assert details["as"] == "path 'path_1': bucket >= 1000 held (ranked first)"


def test_report_has_a_funnel_per_split_path():
    store = _bucket_store({1: 0, 2: 4499, 3: 4500, 4: 8999, 5: 9000, 6: 9999})
    flow = ss.Flow(
        "F",
        trigger=ss.SegmentTrigger("VIP"),
        steps=[
            ss.SendEmail("first", template="f"),
            _ab(bucket_attribute="bucket"),
            ss.SendEmail("after", template="e"),
        ],
    )
    scenario = ss.Scenario(store, segments=[VIP], flows=[flow], start=day(0), end=day(5))
    result = ss.simulate(scenario, progress=False)
    table = result.report()["split_paths"].table
    assert table.to_dict("records") == [
        # the message before the split is not counted; each path's own and the one after are
        {
            "flow": "F",
            "step_id": "ab",
            "kind": "split",
            "path": "A",
            "runs": 2,
            "share": pytest.approx(1 / 3),
            "messages_sent": 4,
            "messages_skipped": 0,
            "messages_per_run": 2.0,
        },
        {
            "flow": "F",
            "step_id": "ab",
            "kind": "split",
            "path": "B",
            "runs": 2,
            "share": pytest.approx(1 / 3),
            "messages_sent": 4,
            "messages_skipped": 0,
            "messages_per_run": 2.0,
        },
        {
            "flow": "F",
            "step_id": "ab",
            "kind": "split",
            "path": "control",
            "runs": 2,
            "share": pytest.approx(1 / 3),
            "messages_sent": 2,
            "messages_skipped": 0,
            "messages_per_run": 1.0,
        },
    ]
    plain = ss.simulate(
        scenario.replace(flows=[ss.Flow("F", trigger=ss.SegmentTrigger("VIP"))]), progress=False
    )
    assert "split_paths" not in [s.key for s in plain.report().sections]


# -- scenario files -------------------------------------------------------------------------------

_FILE = """\
data: {kind: demo, contacts: 50}
segments:
- name: Pro
  where: {kind: compare, attribute: plan, op: ==, value: pro}
flows:
- name: F
  trigger: {segment: Pro}
  steps:
  - id: ab
    kind: split
    paths:
      A: [{id: e1, kind: send_email, template: x}]
      B: []
    weights: WEIGHTS
    BUCKET
  - id: as
    kind: audience_split
    paths:
    - when: {kind: compare, attribute: plan, op: ==, value: pro}
      steps: [{id: w1, kind: wait, duration: 1d}]
      name: pro
    otherwise: []
start: 2026-01-01
end: 2026-02-01
holdout: {percent: 5}
"""


def _write(tmp_path, weights="{A: 1, B: 3}", bucket=""):
    path = tmp_path / "s.yaml"
    path.write_text(_FILE.replace("WEIGHTS", weights).replace("BUCKET", bucket))
    return path


def test_scenario_files_hold_splits_and_a_holdout(tmp_path):
    scenario = ss.load_scenario(_write(tmp_path))
    split, audience = scenario.flows[0].steps
    assert split.shares() == {"A": 0.25, "B": 0.75}
    assert audience.path_names() == ("pro", "otherwise")
    assert scenario.holdout == ss.Holdout(percent=5)
    schema = str(ss.scenario.scenario_json_schema())
    assert "'split'" in schema and "'audience_split'" in schema and "Holdout" in schema


def test_bad_splits_in_files_name_the_file_step_and_line(tmp_path):
    with pytest.raises(
        ScenarioError,
        match=r"s\.yaml: flows\[0\]\.steps\[0\]: split step 'ab' has weights for unknown "
        r"paths \['C'\]; its paths are \['A', 'B'\] \(line 9\)",
    ):
        ss.load_scenario(_write(tmp_path, weights="{A: 1, C: 2}"))
    with pytest.raises(ScenarioError, match="the weight of path 'B' must be a positive number"):
        ss.load_scenario(_write(tmp_path, weights="{A: 1, B: 0}"))


def test_validate_names_a_bucket_attribute_missing_from_the_data(tmp_path):
    scenario = ss.load_scenario(_write(tmp_path, bucket="bucket_attribute: random_bucket"))
    problems = ss.engine.plan.scenario_problems(scenario)
    assert len(problems) == 1
    assert problems[0].startswith(
        "flows[0].steps[0].bucket_attribute: unknown attribute 'random_bucket'"
    )


def test_the_explorer_has_split_weights_and_reaches_waits_inside_paths():
    pytest.importorskip("ipywidgets")
    from segsim.widgets import Explorer

    flow = ss.Flow(
        "F",
        trigger=ss.SegmentTrigger("VIP"),
        steps=[
            ss.Split(
                "ab",
                paths={
                    "A": [ss.Wait("wa", "1d"), ss.SendEmail("a", template="a")],
                    "B": [ss.SendSMS("b", template="b")],
                },
                weights={"A": 1, "B": 1},
            )
        ],
    )
    scenario = ss.Scenario(
        _population(200), segments=[VIP], flows=[flow], start=day(0), end=day(10), seed=4
    )
    explorer = Explorer(scenario, "F")
    assert explorer.controls["weight:ab:A"].value == 1.0
    explorer.controls["weight:ab:B"].value = 3.0
    explorer.controls["wa"].value = "2d"
    assert explorer.error is None, explorer.error
    changed = explorer.flow.steps[0]
    assert changed.weights == {"A": 1.0, "B": 3.0}
    assert changed.paths["A"][0].duration == pd.Timedelta(days=2)
    expected = ss.simulate(scenario.replace(flows=[explorer.flow]), progress=False)
    assert explorer.result.steps.equals(expected.steps)
    explorer.controls["weight:ab:A"].value = 0.0
    assert "the weight of path 'A' must be a positive number" in explorer.error


def _full_replication(scenario, r):
    """Replication ``r`` simulated for every contact (no reuse), as frames."""
    from segsim.engine.core import Simulation
    from segsim.engine.output import MemorySink, frames_from_parts
    from segsim.engine.plan import build_plan

    plan = build_plan(scenario)
    sink = MemorySink("int64")
    simulation = Simulation(
        plan,
        scenario.store,
        include_existing_members=scenario.include_existing_members,
        sink=sink,
        replication=r,
    )
    simulation.run()
    return frames_from_parts(sink.parts, plan.flow_order, "int64"), simulation.drawn


def test_later_replications_rerun_only_contacts_that_read_a_draw_and_equal_a_full_run():
    # contacts 1-300 enter VIP (flow G: a message, not held out); those with ltv >= 50 also
    # enter Big (flow F: a split and messages under the holdout); only they read draws
    rows = []
    for contact in range(1, 301):
        rows += reachable(contact)
        rows += [(contact, 1 + contact % 3, "plan", "pro"), (contact, -30, "ltv", contact % 100)]
    store = make_store(rows)
    big = ss.Segment("Big", attr("ltv") >= 50)
    flows = [
        ss.Flow("G", trigger=ss.SegmentTrigger("VIP"), steps=[ss.SendEmail("g", template="g")]),
        ss.Flow(
            "F",
            trigger=ss.SegmentTrigger("Big", on="exit"),
            steps=[_ab(), ss.Wait("w", "1d"), ss.SendEmail("e", template="e")],
        ),
    ]
    scenario = ss.Scenario(
        store,
        segments=[VIP, big],
        flows=flows,
        start=day(0),
        end=day(10),
        seed=9,
        holdout=ss.Holdout(percent=30, flows=["F"]),
        include_existing_members=True,
    )
    store.load_attributes(
        pd.DataFrame(
            [(c, day(2), "ltv", 0.0) for c in range(1, 301) if c % 100 >= 50],
            columns=["contact_id", "ts", "attribute", "value"],
        )
    )
    many = ss.simulate(scenario, progress=False, replications=3, shards=2)
    assert many.runs.groupby("replication")["flow"].value_counts().loc[1, "F"] > 0
    for r in range(3):
        full, drawn = _full_replication(scenario, r)
        # the contacts of flow F read draws (150 of 300); the others are reused
        assert drawn == {c for c in range(1, 301) if c % 100 >= 50}
        one = many.replication(r)
        for name, frame in full.items():
            assert one.frames[name].equals(frame), (r, name)


def test_a_saved_multi_replication_result_reads_back_with_its_replications(experiment, tmp_path):
    _, _, many = experiment
    again = ss.open_result(many.to_parquet(tmp_path / "r"))
    assert again.replication_count == 4
    assert again.replications.equals(many.replications)
