"""``ss.calibrate_responses`` (docs/design.md §10.6): hand-computed, statistical, refusals."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

import segsim as ss
from tests.engine_helpers import day


def _store(rows):
    """A store of message events: ``(contact, event, template, message_id, machine_open)``."""
    store = ss.Store()
    frame = pd.DataFrame(
        [
            (c, day(i / 1000), event, template, message, machine)
            for i, (c, event, template, message, machine) in enumerate(rows)
        ],
        columns=["contact_id", "ts", "event", "template", "message_id", "machine_open"],
    )
    store.load_events(frame)
    return store


def _se(p, n):
    return math.sqrt(p * (1 - p) / n)


def test_a_tiny_history_is_estimated_exactly():
    rows = [
        # email: 4 sent (a: m1 m2, b: m3 m4), 3 delivered, m1 opened by a human (twice: one
        # message, counted once) and clicked, m2 opened by a machine only, m3 unsubscribed
        *[(1, "email_sent", "a", "m1", None), (2, "email_sent", "a", "m2", None)],
        *[(3, "email_sent", "b", "m3", None), (4, "email_sent", "b", "m4", None)],
        *[(1, "email_delivered", "a", "m1", None), (2, "email_delivered", "a", "m2", None)],
        (3, "email_delivered", "b", "m3", None),
        (1, "email_opened", "a", "m1", False),
        (1, "email_opened", "a", "m1", False),
        (2, "email_opened", "a", "m2", True),
        (1, "email_clicked", "a", "m1", None),
        (3, "email_unsubscribed", "b", "m3", None),
        # SMS: 2 sent, both delivered, 1 clicked (given delivery); no template
        *[(5, "sms_sent", None, "s1", None), (6, "sms_sent", None, "s2", None)],
        *[(5, "sms_delivered", None, "s1", None), (6, "sms_delivered", None, "s2", None)],
        (6, "sms_clicked", None, "s2", None),
    ]
    model, estimates = ss.calibrate_responses(_store(rows), min_messages=2)
    assert model.email == ss.Funnel(
        delivered=0.75, opened=1 / 3, machine_open=1 / 3, clicked=1.0, unsubscribed=1 / 3
    )
    assert model.sms == ss.Funnel(delivered=1.0, clicked=0.5, unsubscribed=0.0)
    assert model.whatsapp is None
    assert model.by_template == {
        "a": {
            "email": {
                "delivered": 1.0,
                "opened": 0.5,
                "machine_open": 0.5,
                "clicked": 1.0,
                "unsubscribed": 0.0,
            }
        },
        "b": {"email": {"delivered": 0.5, "opened": 0.0, "machine_open": 0.0, "unsubscribed": 1.0}},
    }
    table = [
        (r.channel, r.template, r.field, r.successes, r.trials, r.used)
        for r in estimates.itertuples()
    ]
    assert table == [
        ("email", None, "delivered", 3, 4, True),
        ("email", None, "opened", 1, 3, True),
        ("email", None, "machine_open", 1, 3, True),
        ("email", None, "clicked", 1, 1, True),
        ("email", None, "unsubscribed", 1, 3, True),
        ("email", "a", "delivered", 2, 2, True),
        ("email", "a", "opened", 1, 2, True),
        ("email", "a", "machine_open", 1, 2, True),
        ("email", "a", "clicked", 1, 1, True),
        ("email", "a", "unsubscribed", 0, 2, True),
        ("email", "b", "delivered", 1, 2, True),
        ("email", "b", "opened", 0, 1, True),
        ("email", "b", "machine_open", 0, 1, True),
        ("email", "b", "unsubscribed", 1, 1, True),
        ("sms", None, "delivered", 2, 2, True),
        ("sms", None, "clicked", 1, 2, True),
        ("sms", None, "unsubscribed", 0, 2, True),
    ]
    first = estimates.iloc[0]
    assert first["rate"] == 0.75 and first["se"] == pytest.approx(_se(0.75, 4))
    # a higher bar leaves the templates (2 sends each) to the channel's funnel
    model, estimates = ss.calibrate_responses(_store(rows), min_messages=3)
    assert model.by_template == {} and model.sms is None
    assert not estimates.loc[estimates["template"].notna(), "used"].any()


def test_rates_are_recovered_within_four_standard_errors():
    rng = np.random.default_rng(20261202)
    truth = {"delivered": 0.95, "opened": 0.3, "machine_open": 0.2, "clicked": 0.1}
    truth_unsub = 0.02
    rows = []
    for m in range(6000):
        template = "winback" if m % 3 == 0 else "tips"
        clicked_rate = 0.2 if template == "winback" else truth["clicked"]
        rows.append((m, "email_sent", template, m, None))
        if rng.random() >= truth["delivered"]:
            continue
        rows.append((m, "email_delivered", template, m, None))
        opened = rng.random() < truth["opened"]
        if opened:
            rows.append((m, "email_opened", template, m, False))
        if rng.random() < truth["machine_open"]:
            rows.append((m, "email_opened", template, m, True))
        if opened and rng.random() < clicked_rate:
            rows.append((m, "email_clicked", template, m, None))
        if rng.random() < truth_unsub:
            rows.append((m, "email_unsubscribed", template, m, None))
    model, estimates = ss.calibrate_responses(_store(rows), min_messages=500)
    rows_by = estimates.set_index(["template", "field"])
    for template, clicked in (("tips", 0.1), ("winback", 0.2)):
        expected = {**truth, "clicked": clicked, "unsubscribed": truth_unsub}
        for field, p in expected.items():
            row = rows_by.loc[(template, field)]
            assert abs(row["rate"] - p) <= 4 * _se(p, row["trials"]), (template, field)
            assert model.funnel("email", template).rate(field) == row["rate"]


def test_missing_send_events_are_refused_with_their_names_and_a_did_you_mean():
    store = _store([(1, "email_send", None, "m1", None), (1, "email_opened", None, "m1", False)])
    with pytest.raises(ss.SegsimError, match=r"no message send events .*did you mean 'email_send'"):
        ss.calibrate_responses(store)
    with pytest.raises(ss.SegsimError, match="no sms_sent events"):
        ss.calibrate_responses(store, channels=["sms"])
    with pytest.raises(ss.SegsimError, match="unknown channel 'emial'; did you mean 'email'"):
        ss.calibrate_responses(store, channels=["emial"])
    few = _store([(1, "email_sent", None, "m1", None)])
    with pytest.raises(ss.SegsimError, match=r"min_messages=100 sends .*\(1 email_sent\)"):
        ss.calibrate_responses(few)


def test_a_misspelt_response_event_is_a_warning_naming_it():
    rows = [(1, "email_sent", None, "m1", None), (1, "email_clickd", None, "m1", None)]
    with pytest.warns(ss.SegsimWarning, match="'email_clickd' is not read.*did you mean"):
        model, _ = ss.calibrate_responses(_store(rows), min_messages=1)
    assert model.email.clicked == 0.0


def test_without_delivery_events_every_send_counts_as_delivered():
    rows = [(c, "sms_sent", None, c, None) for c in range(4)] + [(0, "sms_clicked", None, 0, None)]
    model, estimates = ss.calibrate_responses(_store(rows), min_messages=1)
    assert model.sms == ss.Funnel(delivered=1.0, clicked=0.25)
    delivered = estimates.iloc[0]
    assert (delivered["field"], delivered["trials"], delivered["rate"]) == ("delivered", 0, 1.0)


def test_a_simulation_s_own_responses_calibrate_back_to_its_model():
    # segsim's responses, written as message events, recover the model that drew them
    from tests.engine_helpers import make_store, reachable

    contacts = range(1, 2001)
    rows = [row for c in contacts for row in reachable(c)] + [
        (c, 1, "plan", "pro") for c in contacts
    ]
    truth = ss.Funnel(delivered=0.9, opened=0.4, machine_open=0.3, clicked=0.25, unsubscribed=0.05)
    flow = ss.Flow(
        "F", trigger=ss.SegmentTrigger("VIP"), steps=[ss.SendEmail("e1", template="tips")]
    )
    result = ss.simulate(
        ss.Scenario(
            make_store(rows),
            segments=[ss.Segment("VIP", ss.attr("plan") == "pro")],
            flows=[flow],
            start=day(0),
            end=day(5),
            seed=11,
            responses=ss.ResponseModel(email=truth),
        ),
        progress=False,
    )
    sent = result.actions[result.actions["status"] == "sent"]
    events = [(a.contact_id, "email_sent", a.template, a.run_id, None) for a in sent.itertuples()]
    for r in result.responses.itertuples():
        machine = r.response == "machine_opened"
        kind = "opened" if machine else r.response
        events.append((r.contact_id, f"email_{kind}", r.template, r.run_id, machine))
    model, estimates = ss.calibrate_responses(_store(events), min_messages=1000)
    channel = estimates[estimates["template"].isna()].set_index("field")
    for field in ("delivered", "opened", "machine_open", "clicked", "unsubscribed"):
        p, n = truth.rate(field), channel.loc[field, "trials"]
        assert abs(channel.loc[field, "rate"] - p) <= 4 * _se(p, n), field
    assert channel.loc["delivered", "trials"] == 2000
    assert model.email.rate("clicked") == channel.loc["clicked", "rate"]
