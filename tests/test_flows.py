"""Flow, step, lifecycle and scenario models: construction, validation, round trips, files."""

from __future__ import annotations

import datetime as dt
import json
import textwrap

import jsonschema
import pandas as pd
import pytest
import yaml
from pydantic import ValidationError

from segsim.conditions import all_of, attr, in_list, in_segment, not_
from segsim.errors import FlowNotReady, ScenarioError, SegsimError
from segsim.flows import (
    Activate,
    ActivationSettings,
    AddToList,
    AttributeMatches,
    Branch,
    Channels,
    DeleteContact,
    Edit,
    EntersSegment,
    ExitsSegment,
    Flow,
    Pause,
    RemoveFromList,
    Resume,
    SegmentTrigger,
    SendEmail,
    SendSMS,
    SendWhatsApp,
    UpdateContact,
    Wait,
    Webhook,
    find_step,
    initial_state,
    iter_steps,
    next_state,
    walk_steps,
)
from segsim.scenario import (
    CSVSource,
    DemoSource,
    DuckDBSource,
    ParquetSource,
    Scenario,
    load_scenario,
    scenario_json_schema,
    scenario_to_yaml,
)
from segsim.segments import Segment

UTC = dt.timezone.utc
STORE = object()  # Scenario accepts any store object; these tests never simulate

VIP = Segment("VIP", all_of(attr("plan") == "pro", attr("ltv") >= 100))
LAPSED = Segment("Lapsed", attr("last_purchase_at").older_than("90d"))

EVERY_STEP = [
    SendEmail("e1", template="tips"),
    SendSMS("s1", template="welcome", campaign="onboarding", opt_out_footer=True),
    SendWhatsApp("wa1", template="hello"),
    AddToList("l1", "newsletter"),
    RemoveFromList("r1", "trial"),
    UpdateContact(
        "u1",
        set={
            "tier": "gold",
            "score": 1.5,
            "visits": 3,
            "vip": True,
            "upgraded_at": dt.datetime(2026, 1, 2, 3, 4, tzinfo=UTC),
            "coupon": None,
        },
    ),
    DeleteContact("d1"),
    Webhook(
        "h1",
        method="PUT",
        url="https://example.com/hook",
        headers={"X-Key": "k"},
        body={"a": [1, None]},
    ),
    Wait("w1", "90min"),
    Branch(
        "b1",
        when=in_list("newsletter") & not_(attr("vip") == True),
        then=[SendEmail("b1e", template="tips")],
        otherwise=[Branch("b2", when=in_segment("VIP"), then=[Wait("b2w", "1d")])],
    ),
]


def welcome(**changes):
    fields = dict(
        trigger=SegmentTrigger("VIP", on="enter", filters=attr("sms_subscribed") == True),
        steps=[
            SendSMS("sms1", template="welcome", campaign="onboarding", opt_out_footer=True),
            Wait("w1", "2d"),
            Branch(
                "b1",
                when=in_list("newsletter"),
                then=[SendEmail("e1", template="tips")],
                otherwise=[AddToList("l1", "newsletter")],
            ),
        ],
        settings=ActivationSettings(
            allow_reentry=True,
            reentry_wait="7d",
            reentry_mode="recheck",
            exit_conditions=[ExitsSegment("VIP")],
            restart_conditions=[EntersSegment("Lapsed"), AttributeMatches(in_list("customers"))],
        ),
    )
    fields.update(changes)
    return Flow("Welcome", **fields)


def scenario(**changes):
    fields = dict(
        segments=[VIP, LAPSED],
        flows=[welcome()],
        start="2026-01-01",
        end="2026-04-01",
        seed=1,
        schedule=[Pause("Welcome", at="2026-02-01"), Resume("Welcome", at="2026-02-10")],
    )
    fields.update(changes)
    store = fields.pop("store", STORE if "data" not in fields else None)
    return Scenario(store, **fields)


# -- construction ---------------------------------------------------------------------------------


def test_positional_ids_and_second_arguments():
    assert AddToList("l1", "newsletter").list_name == "newsletter"
    assert RemoveFromList("r1", "trial").list_name == "trial"
    assert Wait("w1", "2d").duration == dt.timedelta(days=2)
    assert Wait("w1", dt.timedelta(hours=36)).duration == dt.timedelta(hours=36)
    assert SendEmail("e1", template="t") == SendEmail(id="e1", template="t")
    assert SendEmail.model_validate({"kind": "send_email", "id": "e1", "template": "t"}).id == "e1"
    assert Flow("F").name == Flow(name="F").name == "F"
    assert SegmentTrigger("VIP").segment == "VIP"
    assert ExitsSegment("VIP").segment == EntersSegment("VIP").segment == "VIP"
    assert AttributeMatches(in_list("x")).condition == in_list("x")
    assert Edit("F", at="2026-01-02", flow=Flow("F")).flow_name == "F"


def test_positional_misuse_is_a_type_error():
    with pytest.raises(TypeError, match=r"two values for 'id'"):
        SendEmail("e1", id="e2", template="t")
    with pytest.raises(TypeError, match=r"positionally"):
        SendEmail("e1", "t")
    with pytest.raises(ValidationError, match=r"extra"):
        SendEmail("e1", template="t", colour="red")


def test_steps_are_frozen():
    step = SendEmail("e1", template="t")
    with pytest.raises(ValidationError):
        step.template = "u"


@pytest.mark.parametrize("bad", ["", "   "])
def test_ids_and_names_must_not_be_empty(bad):
    with pytest.raises(ValidationError):
        SendEmail(bad, template="t")
    with pytest.raises(ValidationError):
        Flow(bad)


def test_zero_wait_names_the_step():
    with pytest.raises(ValidationError, match=r"wait step 'w1'.*positive.*0s"):
        Wait("w1", "0s")
    with pytest.raises(ValidationError, match=r"wait step 'w1'.*must be positive, got '-1d'"):
        Wait("w1", "-1d")
    with pytest.raises(ValidationError, match=r"wait step 'w1'.*must be positive, got -1d"):
        Wait("w1", dt.timedelta(days=-1))
    with pytest.raises(ValidationError, match=r"cannot read '2 fortnights'.*unknown unit"):
        Wait("w1", "2 fortnights")
    with pytest.raises(ValidationError, match=r"months and years have no fixed length"):
        Wait("w1", "1mo")


def test_durations_accept_long_forms_and_are_exact():
    assert Wait("w1", "2 days").duration == dt.timedelta(days=2)
    assert Wait("w1", "36 hours").duration == dt.timedelta(hours=36)
    assert Wait("w1", "1.5h").duration == dt.timedelta(minutes=90)
    # read exactly, never through a float (a float would be off by microseconds here)
    assert Wait("w1", "999999999d").duration == dt.timedelta(days=999_999_999)
    assert Wait("w1", "0.1s").duration == dt.timedelta(microseconds=100_000)


def test_webhook_checks_url_and_method():
    with pytest.raises(ValidationError, match=r"webhook step 'h'.*http:// or https://"):
        Webhook("h", url="ftp://example.com/x")
    with pytest.raises(ValidationError, match=r"http"):
        Webhook("h", url="example.com/hook")
    with pytest.raises(ValidationError):
        Webhook("h", method="FETCH", url="https://example.com")
    hook = Webhook("h", method="patch", url="http://localhost:8080/x")
    assert (hook.method, hook.headers, hook.body) == ("PATCH", {}, None)


def test_update_contact_values():
    with pytest.raises(ValidationError, match=r"update_contact step 'u' sets nothing"):
        UpdateContact("u", set={})
    with pytest.raises(ValidationError):
        UpdateContact("u", set={"tier": ["a", "b"]})
    step = UpdateContact("u", set={"seen": dt.datetime(2026, 1, 1, 12), "coupon": None})
    assert step.set == {"seen": dt.datetime(2026, 1, 1, 12, tzinfo=UTC), "coupon": None}


def test_reentry_wait_may_be_zero_but_not_negative():
    assert ActivationSettings().reentry_wait == dt.timedelta(0)
    assert ActivationSettings(reentry_wait="0s").model_dump()["reentry_wait"] == "0s"
    with pytest.raises(ValidationError):
        ActivationSettings(reentry_wait="-1d")
    with pytest.raises(ValidationError):
        ActivationSettings(on_pause="stop")


def test_edit_must_keep_the_flow_name():
    with pytest.raises(ValidationError, match=r"Edit\('Welcome'\) brings in a flow named 'Other'"):
        Edit("Welcome", at="2026-02-01", flow=Flow("Other"))


def test_lifecycle_times_are_utc():
    assert Pause("F", at="2026-02-01").at == dt.datetime(2026, 2, 1, tzinfo=UTC)
    assert Pause("F", at=pd.Timestamp("2026-02-01 09:00", tz="Europe/Paris")).at == dt.datetime(
        2026, 2, 1, 8, tzinfo=UTC
    )
    with pytest.raises(ValidationError, match=r"number"):
        Pause("F", at=12)
    with pytest.raises(ValidationError):
        Pause("F", at="not a date")


# -- flows ----------------------------------------------------------------------------------------


def test_duplicate_step_ids_are_reported_with_the_flow():
    with pytest.raises(
        ValidationError,
        match=r"flow 'F': step id 'e1' is used twice \(steps\[0\] and steps\[1\]\)",
    ):
        Flow("F", steps=[SendEmail("e1", template="a"), SendEmail("e1", template="b")])


def test_duplicate_step_ids_nested_in_branches():
    with pytest.raises(ValidationError) as info:
        Flow(
            "F",
            steps=[
                Wait("w", "1d"),
                Branch(
                    "b",
                    when=in_list("x"),
                    then=[DeleteContact("d")],
                    otherwise=[Branch("b2", when=in_list("y"), then=[Wait("w", "2d")])],
                ),
            ],
        )
    (error,) = info.value.errors()
    assert error["loc"] == ("steps", 1, "otherwise", 0, "then", 0, "id")
    assert "'w' is used twice (steps[0] and steps[1].otherwise[0].then[0])" in error["msg"]


def test_iter_steps_is_depth_first_in_tree_order():
    flow = Flow("F", steps=EVERY_STEP)
    assert [(loc, step.id) for loc, step in iter_steps(flow)][-5:] == [
        (("steps", 8), "w1"),
        (("steps", 9), "b1"),
        (("steps", 9, "then", 0), "b1e"),
        (("steps", 9, "otherwise", 0), "b2"),
        (("steps", 9, "otherwise", 0, "then", 0), "b2w"),
    ]
    assert flow.step_ids == (
        "e1",
        "s1",
        "wa1",
        "l1",
        "r1",
        "u1",
        "d1",
        "h1",
        "w1",
        "b1",
        "b1e",
        "b2",
        "b2w",
    )
    assert find_step(flow, "b2w") == Wait("b2w", "1d")
    with pytest.raises(KeyError, match=r"flow 'F' has no step 'b2x'; did you mean"):
        find_step(flow, "b2x")


def test_draft_flows_and_readiness():
    draft = Flow("Draft", steps=[SendEmail("e", template="a")])
    assert not draft.is_ready
    with pytest.raises(FlowNotReady, match=r"'Draft'"):
        draft.require_ready()
    assert welcome().is_ready and welcome().require_ready() == welcome()


def test_what_a_flow_refers_to():
    flow = welcome(
        steps=[
            Branch(
                "b",
                when=in_segment("Lapsed") | (attr("plan") == "pro"),
                then=[SendEmail("e", template="t")],
            )
        ]
    )
    assert flow.segments_used() == {"VIP", "Lapsed"}
    assert flow.attributes_used() == {"sms_subscribed", "plan"}
    assert flow.attributes_used([VIP, LAPSED]) == {"sms_subscribed", "plan", "last_purchase_at"}
    assert flow.lists_used() == {"customers"}


def test_with_version_and_repr():
    flow = welcome()
    assert flow.with_version(3).version == 3 and flow.version == 1
    with pytest.raises(ValidationError):
        flow.with_version(0)
    assert repr(flow) == "Flow('Welcome', v1, trigger=enter 'VIP', 5 steps)"
    assert (
        repr(Flow("Draft", steps=[DeleteContact("d")]))
        == "Flow('Draft', v1, no trigger (draft), 1 step)"
    )
    assert "<code>e1</code>" in flow.outline_html()
    assert flow._repr_html_().lstrip().startswith("<svg") or "<svg" in flow._repr_html_()


# -- round trips ------------------------------------------------------------------------------------


@pytest.mark.parametrize("step", EVERY_STEP, ids=lambda s: s.kind)
def test_every_step_kind_round_trips(step):
    flow = Flow("F", steps=[step])
    assert Flow.model_validate(flow.model_dump()) == flow
    assert Flow.model_validate_json(flow.model_dump_json()) == flow
    assert Flow.model_validate(yaml.safe_load(yaml.safe_dump(flow.model_dump(mode="json")))) == flow


def test_durations_serialise_in_short_form():
    assert Wait("w", "36h").model_dump()["duration"] == "36h"
    assert Wait("w", "2d").model_dump()["duration"] == "2d"
    assert Wait("w", dt.timedelta(minutes=90)).model_dump(mode="json")["duration"] == "90min"


def test_json_schemas_are_generated():
    schema = Flow.model_json_schema()
    assert "Wait" in schema["$defs"] and "Branch" in schema["$defs"]
    assert scenario_json_schema()["title"] == "Scenario"
    json.dumps(scenario_json_schema())


def test_dumped_scenario_validates_against_its_schema():
    document = json.loads(
        scenario(flows=[welcome(), Flow("Every", steps=EVERY_STEP)]).model_dump_json()
    )
    jsonschema.validate(document, scenario_json_schema())


def test_full_scenario_round_trips():
    original = scenario(
        flows=[
            welcome(),
            Flow("Every", trigger=SegmentTrigger("Lapsed", on="exit"), steps=EVERY_STEP),
        ],
        schedule=[
            Pause("Welcome", at="2026-02-01"),
            Resume("Welcome", at="2026-02-10"),
            Edit(
                "Every",
                at="2026-03-01",
                flow=Flow("Every", trigger=SegmentTrigger("Lapsed"), version=2),
            ),
        ],
        channels=Channels(cost_sms=0.07, sms_address="mobile"),
        include_existing_members=True,
    )
    dumped = original.model_dump()
    assert "store" not in dumped
    assert Scenario.model_validate(dumped).model_dump() == dumped
    assert Scenario.model_validate_json(original.model_dump_json()).model_dump() == dumped
    text = scenario_to_yaml(original)
    assert Scenario.model_validate(yaml.safe_load(text)).model_dump() == dumped


# -- scenario validation ----------------------------------------------------------------------------


def test_scenario_needs_exactly_one_data_source():
    storeless = Scenario(segments=[], flows=[], start="2026-01-01", end="2026-02-01")
    with pytest.raises(ScenarioError, match=r"no contact data"):
        _ = storeless.store
    assert storeless.with_store(STORE).store is STORE
    with pytest.raises(ScenarioError, match=r"not both"):
        Scenario(
            STORE, data=DemoSource(), segments=[], flows=[], start="2026-01-01", end="2026-02-01"
        )
    assert scenario().store is STORE
    assert scenario(store=None, data=DemoSource(contacts=10)).data == DemoSource(contacts=10)


def test_scenario_window():
    s = scenario(start="2026-01-01 01:00", end=pd.Timestamp("2026-04-01", tz="Europe/Paris"))
    assert s.start == dt.datetime(2026, 1, 1, 1, tzinfo=UTC)
    assert s.end == dt.datetime(2026, 3, 31, 22, tzinfo=UTC)
    with pytest.raises(ValidationError, match=r"end\n  end .* must be after start"):
        scenario(start="2026-04-01", end="2026-01-01", schedule=[])


def test_unknown_segment_in_trigger_is_named_with_its_path():
    flow = Flow("F", trigger=SegmentTrigger("VPI"))
    with pytest.raises(ValidationError) as info:
        scenario(flows=[welcome(), flow])
    assert [(e["loc"], e["msg"]) for e in info.value.errors()] == [
        (
            ("flows", 1, "trigger", "segment"),
            "flow 'F' is triggered by unknown segment 'VPI'; did you mean 'VIP'?",
        )
    ]


def test_every_reference_is_checked_and_every_problem_listed():
    bad = welcome(
        steps=[Branch("b", when=in_segment("Nope"), then=[])],
        settings=ActivationSettings(exit_conditions=[ExitsSegment("Gone")]),
    )
    with pytest.raises(ValidationError) as info:
        scenario(
            segments=[VIP, VIP, Segment("Refers", in_segment("Missing"))],
            flows=[bad, welcome()],
            schedule=[
                Pause("Welcom", at="2026-02-01"),
                Edit(
                    "Welcome",
                    at="2026-03-01",
                    flow=Flow("Welcome", trigger=SegmentTrigger("Other")),
                ),
            ],
        )
    known = "; known: 'Refers', 'VIP'"
    assert [(e["loc"], e["msg"]) for e in info.value.errors()] == [
        (("segments", 1, "name"), "two segments are named 'VIP'; segment names must be unique"),
        (("segments", 2, "where"), "segment 'Refers' refers to unknown segment 'Missing'" + known),
        (
            ("flows", 0, "settings", "exit_conditions", 0, "segment"),
            "flow 'Welcome' has an exit condition on unknown segment 'Gone'" + known,
        ),
        (
            ("flows", 0, "steps", 0, "when"),
            "flow 'Welcome' refers (in_segment) to unknown segment 'Nope'" + known,
        ),
        (("flows", 1, "name"), "two flows are named 'Welcome'; flow names must be unique"),
        (
            ("flows", 1, "settings", "restart_conditions", 0, "segment"),
            "flow 'Welcome' has a restart condition on unknown segment 'Lapsed'" + known,
        ),
        (("schedule", 0, "flow"), "pause of unknown flow 'Welcom'; did you mean 'Welcome'?"),
        (
            ("schedule", 1, "flow", "trigger", "segment"),
            "flow 'Welcome' is triggered by unknown segment 'Other'" + known,
        ),
    ]


@pytest.mark.parametrize(
    ("schedule", "message"),
    [
        (
            [Resume("Welcome", at="2026-02-10")],
            "schedule.0\n  resume of flow 'Welcome' .* is active; only a paused flow",
        ),
        (
            [Pause("Welcome", at="2026-02-01"), Pause("Welcome", at="2026-02-02")],
            "schedule.1\n  pause .* is paused",
        ),
        (
            [Activate("Welcome", at="2026-02-01"), Pause("Welcome", at="2026-01-15")],
            "schedule.1\n  pause .* is draft",
        ),
        (
            [Pause("Welcome", at="2026-02-10"), Resume("Welcome", at="2026-02-01")],
            "schedule.1\n  resume",
        ),
        (
            [Pause("Welcome", at="2026-05-01")],
            "schedule.0.at\n  pause of flow 'Welcome' .* outside the scenario window",
        ),
    ],
)
def test_lifecycle_order_is_checked(schedule, message):
    with pytest.raises(ValidationError, match=message):
        scenario(schedule=schedule)


def test_possible_lifecycles_pass():
    scenario(
        schedule=[
            Activate("Welcome", at="2026-01-05"),
            Pause("Welcome", at="2026-02-01"),
            Resume("Welcome", at="2026-02-03"),
        ]
    )
    scenario(
        schedule=[
            Edit("Welcome", at="2026-01-05", flow=welcome(version=2)),
            Pause("Welcome", at="2026-01-05"),
        ]
    )
    # a draft flow is a valid part of a scenario; activating it is what needs a trigger
    scenario(flows=[welcome(), Flow("Draft")])


def test_with_flow_and_with_settings_make_variants():
    base = scenario()
    variant = base.with_flow(welcome(steps=[SendEmail("e", template="b")]))
    assert variant.flows[0].step_ids == ("e",) and base.flows[0].step_ids == (
        "sms1",
        "w1",
        "b1",
        "e1",
        "l1",
    )
    assert variant.store is STORE and variant.schedule == base.schedule
    relaxed = base.with_settings("Welcome", allow_reentry=False, on_pause="drain")
    assert (relaxed.flows[0].settings.allow_reentry, relaxed.flows[0].settings.on_pause) == (
        False,
        "drain",
    )
    assert relaxed.flows[0].settings.exit_conditions == base.flows[0].settings.exit_conditions
    with pytest.raises(ScenarioError, match=r"no flow 'Welcom'; did you mean 'Welcome'"):
        base.with_settings("Welcom", allow_reentry=True)
    with pytest.raises(ScenarioError, match=r"flow 'Welcome' settings: reentry_wiat: Extra inputs"):
        base.with_settings("Welcome", reentry_wiat="1d")
    with pytest.raises(ScenarioError, match=r"flows\[0\].trigger.segment: .* unknown segment 'X'"):
        base.with_flow(Flow("Welcome", trigger=SegmentTrigger("X")))


def test_channels_rules_and_costs():
    channels = Channels()
    assert channels.rule("send_email") == ("email", "email_subscribed", 0.001)
    assert channels.rule("send_sms") == ("phone", "sms_subscribed", 0.05)
    assert channels.rule("send_whatsapp") == ("phone", "whatsapp_subscribed", 0.03)
    assert channels.rule("webhook") == (None, None, 0.0)
    assert channels.rule("add_to_list") == (None, None, 0.0)
    with pytest.raises(ValueError, match=r"unknown action kind 'fax'"):
        channels.rule("fax")
    with pytest.raises(ValidationError):
        Channels(cost_sms=-1)
    with pytest.raises(ValidationError):
        Channels(email_address="")


def test_scenario_repr_fits_on_one_line():
    text = repr(scenario())
    assert "\n" not in text
    assert text.startswith(
        "Scenario(2026-01-01 00:00 → 2026-04-01 00:00, 2 segments, 1 flow, 2 schedule events"
    )


# -- files ----------------------------------------------------------------------------------------

SCENARIO_YAML = """\
data:
  kind: csv
  path: data/attributes.csv
  lists: data/lists.csv
  types: {ltv: number}
start: 2026-01-01
end: 2026-04-01
segments:
  - name: VIP
    where: {kind: compare, attribute: plan, op: "==", value: pro}
flows:
  - name: Welcome
    trigger: {segment: VIP, on: exit}
    steps:
      - {kind: send_email, id: e1, template: welcome}
      - {kind: wait, id: w1, duration: 2d}
      - kind: branch
        id: b1
        when: {kind: in_list, list: newsletter}
        then:
          - {kind: wait, id: w2, duration: 1h}
"""


def write_data(folder):
    folder.mkdir()
    pd.DataFrame(
        {
            "contact_id": [1, 1, 2],
            "ts": ["2025-12-01", "2026-01-10", "2025-12-01"],
            "attribute": ["plan", "plan", "ltv"],
            "value": ["free", "pro", "120"],
        }
    ).to_csv(folder / "attributes.csv", index=False)
    pd.DataFrame(
        {"contact_id": [1], "ts": ["2026-01-02"], "list": ["newsletter"], "member": [True]}
    ).to_csv(folder / "lists.csv", index=False)


def test_load_scenario_resolves_relative_data_paths(tmp_path, monkeypatch):
    project = tmp_path / "project"
    project.mkdir()
    write_data(project / "data")
    (project / "scenario.yaml").write_text(SCENARIO_YAML)
    monkeypatch.chdir(tmp_path)  # relative to the YAML file, not to the working directory

    loaded = load_scenario("project/scenario.yaml")
    assert loaded.data.path == str(project / "data" / "attributes.csv")
    assert loaded.data.lists == str(project / "data" / "lists.csv")
    assert loaded.store.attribute_types == {"plan": "string", "ltv": "number"}
    assert loaded.store.list_names == ["newsletter"]
    assert loaded.flows[0].trigger.on == "exit"  # YAML 1.2 booleans: `on` is a key
    assert loaded.flows[0].steps[2].then[0].duration == dt.timedelta(hours=1)
    assert loaded.start == dt.datetime(2026, 1, 1, tzinfo=UTC)


def test_source_paths_resolve_against_a_folder(tmp_path):
    assert DuckDBSource("x.duckdb").resolved(tmp_path).path == str(tmp_path / "x.duckdb")
    assert ParquetSource("/abs/a.parquet").resolved(tmp_path).path == "/abs/a.parquet"
    source = CSVSource("../a.csv", lists="l.csv").resolved(tmp_path / "sub")
    assert (source.path, source.lists) == (str(tmp_path / "a.csv"), str(tmp_path / "sub" / "l.csv"))
    assert DemoSource().resolved(tmp_path) == DemoSource()


def test_yaml_round_trip_through_a_file_with_demo_data(tmp_path):
    original = scenario(store=None, data=DemoSource(contacts=30, seed=3))
    path = tmp_path / "scenario.yaml"
    path.write_text(scenario_to_yaml(original))
    loaded = load_scenario(path)
    assert loaded.model_dump() == original.model_dump()
    assert loaded.store.contacts["contact_id"].nunique() == 30


def test_validation_errors_name_the_file_and_the_yaml_path(tmp_path):
    broken = SCENARIO_YAML.replace("duration: 1h", "duration: 0s").replace(
        "template: welcome", "templat: welcome"
    )
    broken = broken.replace("kind: wait, id: w1", "kind: wiat, id: w1")
    path = tmp_path / "broken.yaml"
    path.write_text(broken)
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    lines = str(info.value).splitlines()
    assert lines[0] == f"{path}: flows[0].steps[0].template: Field required (line 15)"
    assert (
        lines[1] == f"{path}: flows[0].steps[0].templat: Extra inputs are not permitted (line 15)"
    )
    assert lines[2].startswith(f"{path}: flows[0].steps[1]: Input tag 'wiat' found using 'kind'")
    assert lines[2].endswith("(line 16)")
    assert lines[3] == (
        f"{path}: flows[0].steps[2].then[0].duration: wait step 'w2': the duration must be "
        "positive, got 0s (line 21)"
    )
    assert len(lines) == 4


def test_cross_reference_errors_from_a_file(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text(SCENARIO_YAML.replace("{segment: VIP, on: exit}", "{segment: VPI}"))
    with pytest.raises(
        ScenarioError,
        match=r"s.yaml: flows\[0\].trigger.segment: flow 'Welcome' is triggered by unknown segment 'VPI'; did you mean 'VIP'\? \(line 13\)",
    ):
        load_scenario(path)


def test_malformed_yaml_gives_line_and_column(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("start: 2026-01-01\nflows:\n  - name: [unclosed\n")
    with pytest.raises(ScenarioError, match=r"bad.yaml: malformed YAML: line 4, column 1"):
        load_scenario(path)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "the file is empty"),
        ("- a\n- b\n", "a scenario file is a mapping"),
        ("segments: []\nflows: []\nstart: 2026-01-01\nend: 2026-02-01\n", "data: missing"),
        ("data: {kind: demo}\nstore: x\n", "store: a file cannot hold a store"),
        (
            "data: {kind: excel, path: a.xlsx}\nsegments: []\nflows: []\nstart: 2026-01-01\nend: 2026-02-01\n",
            "data: Input tag 'excel'",
        ),
    ],
)
def test_bad_scenario_files(tmp_path, text, message):
    path = tmp_path / "s.yaml"
    path.write_text(text)
    with pytest.raises(ScenarioError, match=message):
        load_scenario(path)


def test_missing_files(tmp_path):
    with pytest.raises(ScenarioError, match=r"cannot read the scenario file"):
        load_scenario(tmp_path / "nope.yaml")
    path = tmp_path / "s.yaml"
    path.write_text(
        textwrap.dedent("""\
        data: {kind: csv, path: missing.csv}
        segments: []
        flows: []
        start: 2026-01-01
        end: 2026-02-01
    """)
    )
    with pytest.raises(SegsimError, match=r"s.yaml: data: .*missing.csv' does not exist"):
        load_scenario(path)


# -- the one walk over a flow's steps ------------------------------------------------------------


def test_walk_steps_gives_each_step_the_step_a_run_goes_to_after_it():
    flow = Flow("F", steps=EVERY_STEP)
    assert [(place.step.id, place.next) for place in walk_steps(flow)][-6:] == [
        ("h1", "w1"),
        ("w1", "b1"),
        ("b1", None),
        ("b1e", None),
        ("b2", None),
        ("b2w", None),
    ]
    nested = [
        Branch("b", when=in_list("x"), then=[Wait("w", "1d"), DeleteContact("d")], otherwise=[]),
        SendEmail("e", template="t"),
    ]
    places = {place.step.id: place for place in walk_steps(nested)}
    assert [(i, p.next) for i, p in places.items()] == [
        ("b", "e"),
        ("w", "d"),
        ("d", "e"),
        ("e", None),
    ]
    branch = places["b"]
    assert (branch.path_first(branch.step.then), branch.path_first(branch.step.otherwise)) == (
        "w",
        "e",
    )
    assert [loc for loc, _ in iter_steps(nested)] == [place.loc for place in walk_steps(nested)]


# -- the lifecycle state machine -----------------------------------------------------------------


def test_lifecycle_state_machine():
    at = "2026-02-01"
    flow = Flow("F", trigger=SegmentTrigger("VIP"))
    events = {
        "activate": Activate("F", at=at),
        "pause": Pause("F", at=at),
        "resume": Resume("F", at=at),
        "edit": Edit("F", at=at, flow=flow),
    }
    table = {
        (state, kind): next_state(state, event)
        for state in ("draft", "active", "paused")
        for kind, event in events.items()
    }
    assert table == {
        ("draft", "activate"): "active",
        ("draft", "pause"): None,
        ("draft", "resume"): None,
        ("draft", "edit"): "draft",
        ("active", "activate"): None,
        ("active", "pause"): "paused",
        ("active", "resume"): None,
        ("active", "edit"): "active",
        ("paused", "activate"): None,
        ("paused", "pause"): None,
        ("paused", "resume"): "active",
        ("paused", "edit"): "paused",
    }
    assert initial_state("F", [events["pause"]]) == "active"
    assert initial_state("F", [events["pause"], Activate("F", at="2026-01-01")]) == "draft"
    assert initial_state("G", [events["activate"]]) == "active"


# -- replace(): a validated copy --------------------------------------------------------------------

STEP_A = SendEmail("a", template="t")


@pytest.mark.parametrize(
    ("model", "changes", "culprit"),
    [
        (Flow("F", steps=[STEP_A]), {"steps": [STEP_A, STEP_A]}, "used twice"),
        (Flow("F"), {"version": 0}, "greater than or equal to 1"),
        (Flow("F"), {"name": ""}, "at least 1 character"),
        (Flow("F"), {"nmae": "G"}, "Extra inputs"),
        (Wait("w", "1d"), {"duration": "-1d"}, "must be positive"),
        (Webhook("h", url="https://x.test/"), {"url": "ftp://x"}, "http"),
        (UpdateContact("u", set={"a": 1}), {"set": {}}, "sets nothing"),
        (Branch("b", when=in_list("x")), {"when": "x"}, "when"),
        (ActivationSettings(), {"reentry_wait": "-1d"}, "reentry_wait"),
        (ActivationSettings(), {"on_pause": "stop"}, "on_pause"),
        (Channels(), {"cost_sms": -1}, "greater than or equal to 0"),
        (SegmentTrigger("VIP"), {"on": "leave"}, "'enter' or 'exit'"),
        (Pause("F", at="2026-01-01"), {"at": "01/02/2026"}, "ISO 8601"),
        (Edit("F", at="2026-01-01", flow=Flow("F")), {"flow": Flow("G")}, "keep the flow's name"),
        (Segment("S", attr("x") == 1), {"name": ""}, "name"),
        (attr("x") == 1, {"op": "~"}, "op"),
        (in_list("x"), {"list": ""}, "list"),
    ],
    ids=lambda v: type(v).__name__ if not isinstance(v, (dict, str)) else None,
)
def test_replace_refuses_what_construction_refuses(model, changes, culprit):
    with pytest.raises(ValidationError, match=culprit):
        type(model).model_validate({**model.model_dump(), **changes})  # construction
    with pytest.raises(ValidationError, match=culprit):
        model.replace(**changes)


def test_replace_changes_only_what_it_is_given():
    flow = Flow("F", trigger=SegmentTrigger("VIP"), steps=[STEP_A, Wait("w", "2d")])
    copy = flow.replace(version=3)
    assert copy == Flow(
        "F", trigger=SegmentTrigger("VIP"), steps=[STEP_A, Wait("w", "2d")], version=3
    )
    assert flow.version == 1  # frozen: the original is untouched
    assert copy.model_dump(exclude_unset=True) == {
        **flow.model_dump(exclude_unset=True),
        "version": 3,
    }
    assert Wait("w", "2d").replace(duration="36h").duration == dt.timedelta(hours=36)
    assert (attr("x") == 1).replace(value=2) == (attr("x") == 2)


def test_scenario_replace_validates_and_keeps_its_store():
    store = object()
    base = Scenario(
        store,
        segments=[VIP],
        flows=[Flow("Welcome", trigger=SegmentTrigger("VIP"))],
        start="2026-01-01",
        end="2026-04-01",
    )
    later = base.replace(end="2026-05-01", seed=4)
    assert later.store is store and (later.end.month, later.seed) == (5, 4)
    with pytest.raises(ValidationError, match="must be after start"):
        base.replace(end="2025-01-01")
    with pytest.raises(ValidationError, match="unknown segment 'VPI'"):
        base.replace(flows=[Flow("Welcome", trigger=SegmentTrigger("VPI"))])
    # another data source: the copy reads from it, not from the old store
    demo = base.replace(data=DemoSource(contacts=10))
    assert demo.data == DemoSource(contacts=10) and demo._store is None


def test_webhook_body_must_be_valid_json():
    for bad in (float("nan"), {"a": [1, float("inf")]}, [{"x": -float("inf")}]):
        with pytest.raises(
            ValidationError, match=r"webhook step 'h': body.* is not a finite number"
        ):
            Webhook("h", url="https://x.test/", body=bad)
    ok = Webhook("h", url="https://x.test/", body={"a": [1, 2.5, None, "nan"]})
    assert Webhook.model_validate_json(ok.model_dump_json()) == ok
