"""SimulationResult.explain: one contact's story, hand-computed on a tiny store."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

import segsim as ss
from segsim import attr
from segsim.explain import EXPLAIN_COLUMNS, SUPPRESSION_MEANING

T0 = pd.Timestamp("2026-01-01", tz="UTC")
DAY = pd.Timedelta(days=1)


def at(days: float) -> pd.Timestamp:
    return T0 + days * DAY


@pytest.fixture(scope="module")
def result():
    store = ss.Store()
    rows = [
        # contact 1: a VIP from before the start, never an entrant
        (1, at(-10), "plan", "pro"),
        (1, at(-10), "email", "one@example.com"),
        (1, at(-10), "email_subscribed", True),
        (1, at(-10), "country", "IT"),
        # contact 2: enters VIP on day 1 without an email address
        (2, at(-5), "plan", "free"),
        (2, at(-5), "email_subscribed", True),
        (2, at(1), "plan", "pro"),
        (3, at(2), "plan", "free"),
    ]
    store.load_attributes(pd.DataFrame(rows, columns=["contact_id", "ts", "attribute", "value"]))
    store.load_lists(
        pd.DataFrame({"contact_id": [1], "ts": [at(-3)], "list": ["news"], "member": [True]})
    )
    vip = ss.Segment("VIP", attr("plan") == "pro")
    welcome = ss.Flow(
        "Welcome",
        trigger=ss.SegmentTrigger("VIP"),
        steps=[
            ss.SendEmail("e1", template="tips"),
            ss.UpdateContact(
                "u1", set={"tier": "gold", "since": dt.datetime(2026, 1, 2, tzinfo=dt.UTC)}
            ),
            ss.Webhook("h1", url="https://crm.example.com/hook"),
        ],
    )
    french = ss.Flow(
        "French",
        trigger=ss.SegmentTrigger("VIP", filters=attr("country") == "FR"),
        steps=[ss.SendEmail("e2", template="bonjour")],
    )
    scenario = ss.Scenario(
        store, segments=[vip], flows=[welcome, french], start=T0, end=at(10), seed=1
    )
    return ss.simulate(scenario, progress=False)


def rows(frame: pd.DataFrame) -> list[tuple]:
    return [
        (t.strftime("%m-%d"), what, flow, None if pd.isna(run) else int(run), step, detail)
        for t, what, flow, run, step, detail in frame.itertuples(index=False)
    ]


def test_a_contact_that_entered_the_window(result):
    story = result.explain(2)
    assert list(story.columns) == list(EXPLAIN_COLUMNS)
    assert rows(story) == [
        ("01-01", "attribute at start", None, None, None, "email_subscribed = True"),
        ("01-01", "attribute at start", None, None, None, "plan = 'free'"),
        ("01-02", "attribute change", None, None, None, "plan = 'pro'"),
        ("01-02", "segment enter", None, None, None, "'VIP' (entry #1, cause: history)"),
        ("01-02", "run entered", "Welcome", 1, None, "first entry, on version 1"),
        (
            "01-02",
            "not entered",
            "French",
            None,
            None,
            f"filters: {SUPPRESSION_MEANING['filters']}",
        ),
        (
            "01-02",
            "send_email",
            "Welcome",
            1,
            "e1",
            "skipped: no_email (email is not set) · email · template 'tips'",
        ),
        (
            "01-02",
            "update_contact",
            "Welcome",
            1,
            "u1",
            "applied · set tier = 'gold', since = 2026-01-02T00:00:00Z",
        ),
        (
            "01-02",
            "webhook",
            "Welcome",
            1,
            "h1",
            "sent · webhook · POST https://crm.example.com/hook",
        ),
        ("01-02", "run ended", "Welcome", 1, None, "completed"),
    ]
    assert str(story["time"].dtype) == "datetime64[us, UTC]"
    assert str(story["run_id"].dtype) == "Int64"


def test_a_member_before_the_start_is_told_why_it_never_entered(result):
    story = result.explain(1)
    assert rows(story) == [
        ("01-01", "attribute at start", None, None, None, "country = 'IT'"),
        ("01-01", "attribute at start", None, None, None, "email = 'one@example.com'"),
        ("01-01", "attribute at start", None, None, None, "email_subscribed = True"),
        ("01-01", "attribute at start", None, None, None, "plan = 'pro'"),
        ("01-01", "list at start", None, None, None, "member of list 'news'"),
        (
            "01-01",
            "member at start",
            None,
            None,
            None,
            "member of 'VIP' before the start: not an entrant (include_existing_members is off)",
        ),
        (
            "01-01",
            "not triggered",
            "Welcome",
            None,
            None,
            "never entered segment 'VIP' in the window (a member since before the start)",
        ),
        (
            "01-01",
            "not triggered",
            "French",
            None,
            None,
            "never entered segment 'VIP' in the window (a member since before the start)",
        ),
    ]


def test_a_contact_with_no_history_before_the_start(result):
    story = result.explain(3)
    assert rows(story)[0] == (
        "01-01",
        "attribute at start",
        None,
        None,
        None,
        "no history before the start",
    )
    assert rows(story)[-1] == ("01-03", "attribute change", None, None, None, "plan = 'free'")


def test_missing_values_are_none_and_details_hold_no_reprs(result):
    for contact in (1, 2, 3):
        story = result.explain(contact)
        for column in ("flow", "step_id", "detail"):
            values = story[column]
            assert all(v is None or (isinstance(v, str) and v) for v in values), column
        assert not story["detail"].str.contains("Timestamp|datetime|nan|\\{", regex=True).any()


def test_an_unknown_contact_is_named_with_a_close_id(result):
    with pytest.raises(
        ss.SegsimError, match=r"contact '2' is not in .*did you mean 2 \(an integer\)"
    ):
        result.explain("2")
    with pytest.raises(
        ss.SegsimError, match=r"contact 42 is not in this result's data \(3 contacts\)"
    ):
        result.explain(42)


def test_without_a_scenario_the_frames_tell_the_story(result):
    bare = ss.SimulationResult(result.frames, scenario=None)
    story = bare.explain(2)
    assert "attribute at start" not in set(story["what"])
    assert "skipped: no_email · email · template 'tips'" in set(story["detail"])
    # the logged detail (JSON) read as prose
    assert "applied · set since = '2026-01-02T00:00:00+00:00', tier = 'gold'" in set(
        story["detail"]
    )
    with pytest.raises(ss.SegsimError, match="did you mean 2"):
        bare.explain("2")


def test_every_suppression_reason_has_a_meaning():
    from segsim._internal.vocab import SUPPRESSION_REASONS

    assert set(SUPPRESSION_MEANING) == set(SUPPRESSION_REASONS)


# -- responses, conversions and goal exits (docs/design.md §10) ----------------------------------


def _story(frame: pd.DataFrame, whats=("send_email", "send_sms", "wait", "response", "conversion")):
    """The rows of ``frame`` after the start, in hours since T0."""
    out = []
    for r in frame.itertuples(index=False):
        if r.what in (*whats, "run ended", "event"):
            hours = (r.time - T0) / pd.Timedelta(hours=1)
            out.append((hours, r.what, r.step_id, r.detail))
    return out


def _outcome_store():
    store = ss.Store()
    rows = [
        (1, at(-5), "plan", "pro"),
        (1, at(-5), "email", "one@example.com"),
        (1, at(-5), "email_subscribed", True),
        (1, at(-5), "phone", "+33600000001"),
        (1, at(-5), "sms_subscribed", True),
    ]
    store.load_attributes(pd.DataFrame(rows, columns=["contact_id", "ts", "attribute", "value"]))
    store.load_events(
        pd.DataFrame({"contact_id": [1], "ts": [at(1)], "event": ["purchase"], "amount": [25.0]})
    )
    return store


def _outcome_story(flow: ss.Flow, model: ss.ResponseModel) -> list[tuple]:
    """Contact 1's story: ``flow`` on segment VIP of :func:`_outcome_store`, under ``model``."""
    scenario = ss.Scenario(
        _outcome_store(),
        segments=[ss.Segment("VIP", attr("plan") == "pro")],
        flows=[flow],
        start=T0,
        end=at(5),
        seed=1,
        responses=model,
        include_existing_members=True,
    )
    return _story(ss.simulate(scenario, progress=False).explain(1))


def test_explain_shows_each_response_after_its_message_and_the_credited_conversion():
    model = ss.ResponseModel(
        email=ss.Funnel(opened=1, machine_open=1, clicked=1, unsubscribed=1),
        delays=ss.ResponseDelays(unsubscribed="6h"),
    )
    flow = ss.Flow(
        "F",
        trigger=ss.SegmentTrigger("VIP"),
        steps=[ss.SendEmail("e1", template="tips"), ss.Wait("w1", "2d")],
        goal=ss.Goal(event="purchase", within="3d", value="amount"),
    )
    story = _outcome_story(flow, model)
    assert story == [
        (0.0, "send_email", "e1", "sent · email · template 'tips'"),
        (0.0, "response", "e1", "email delivered · template 'tips'"),
        (0.0, "response", "e1", "email opened by the contact (a human open) · template 'tips'"),
        (
            0.0,
            "response",
            "e1",
            "email machine open: the mail client fetched it on its own, not a human open"
            " · template 'tips'",
        ),
        (0.0, "response", "e1", "email clicked · template 'tips'"),
        (0.0, "wait", "w1", "waiting"),
        (
            6.0,
            "response",
            "e1",
            "email unsubscribed: email_subscribed turns false · template 'tips'",
        ),
        (24.0, "event", None, "purchase (amount=25)"),  # the occurrence, then its credit
        (
            24.0,
            "conversion",
            "e1",
            "observed 'purchase', value 25: credited to e1 (email, sent 2026-01-01T00:00:00Z), "
            "the flow's last message before it (last touch); credited, not caused",
        ),
        (48.0, "run ended", None, "completed"),
    ]


def test_explain_shows_a_simulated_conversion_and_the_goal_exit_it_causes():
    model = ss.ResponseModel(email=ss.Funnel(opened=1, clicked=1))
    flow = ss.Flow(
        "F",
        trigger=ss.SegmentTrigger("VIP"),
        steps=[ss.SendEmail("e1", template="tips"), ss.SendSMS("s1", template="x")],
        goal=ss.Goal(event="signup", within="3d", value=40, conversion_rate=1),
        exit_on_goal=True,
    )
    story = _outcome_story(flow, model)
    assert story == [
        (0.0, "send_email", "e1", "sent · email · template 'tips'"),
        (0.0, "response", "e1", "email delivered · template 'tips'"),
        (0.0, "response", "e1", "email opened by the contact (a human open) · template 'tips'"),
        (0.0, "response", "e1", "email clicked · template 'tips'"),
        (
            0.0,
            "conversion",
            "e1",
            "simulated, value 40: a click on e1 (email, sent 2026-01-01T00:00:00Z) converted, "
            "credited to that message",
        ),
        (
            0.0,
            "run ended",
            None,
            "goal: the contact performed the goal event 'signup' (exit_on_goal)",
        ),
        (24.0, "event", None, "purchase (amount=25)"),  # no goal of this flow: no credit
    ]
