"""One contact's story: :meth:`SimulationResult.explain() <segsim.result.SimulationResult.explain>`.

:func:`explain` answers "why did this contact get (or not get) this message?" as one table
in time order. It starts with the contact's situation at the window's start — its
attributes and lists, and the segments it was already a member of (members at the start
are not entrants unless ``include_existing_members``) — and a note for each flow the contact
never triggered. Then come its changes in the window, segment entries and exits, runs
entered and ended, steps, actions (a skipped send says why, in terms of the channel's
attributes; a WaitFor, whether its condition held or the timeout came first) and trigger
events that did not enter (with what the reason means). With a response model or a goal
(docs/design.md §10), each sent message's responses follow it (``response``: delivered,
bounced, a human open, a machine open — never a human open —, a click, an unsubscribe and
the consent it turns off), each conversion says which message it was credited to and how
(``conversion``), and a run ended by its goal (``exit_on_goal``) says so.

Conventions: times are tz-aware UTC in ``time`` and ISO 8601 (``2026-01-05T10:00:00Z``) in
``detail``; a missing ``flow``, ``step_id`` or ``detail`` is ``None`` and a missing ``run_id``
is ``<NA>`` (a nullable integer column), never an empty string or NaN.
"""

from __future__ import annotations

import datetime as dt
import json
import numbers
from typing import Any

import pandas as pd

from segsim._internal.vocab import SUPPRESSION_REASONS
from segsim._time import format_duration
from segsim.errors import SegsimError
from segsim.flows import EventTrigger, SegmentTrigger

__all__ = ["EXPLAIN_COLUMNS", "RESPONSE_MEANING", "SUPPRESSION_MEANING", "explain"]

#: The columns of :func:`explain`, in order.
EXPLAIN_COLUMNS = ("time", "what", "flow", "run_id", "step_id", "detail")

#: What each suppression reason means, as the explanation shows it.
SUPPRESSION_MEANING: dict[str, str] = {
    "flow_inactive": "the flow was not active yet (a draft)",
    "flow_paused": "the flow was paused",
    "deleted": "the contact had been deleted",
    "already_in_flow": "a run of this flow was still open",
    "no_reentry": "it already ran this flow and re-entry is not allowed",
    "reentry_wait": "its last run of this flow ended less than the re-entry wait ago",
    "filters": "the trigger filters did not pass",
}
assert set(SUPPRESSION_MEANING) == set(SUPPRESSION_REASONS)

# At one instant rows follow the engine's order; the situation at the start comes first.
_STATE, _MEMBER, _NOTE, _CHANGE, _SEGMENT, _ENTRY, _STEP, _END = range(-3, 5)


def explain(result: Any, contact_id: Any) -> pd.DataFrame:
    """One contact's story in time order (see the module docstring).

    Parameters
    ----------
    result : SimulationResult
        Its frames are read, and with a recorded scenario also the store (the contact's
        history) and the scenario's segments, flows and channels.
    contact_id : str or int
        As loaded: ``"42"`` and ``42`` are different contacts.

    Returns
    -------
    DataFrame
        ``time, what, flow, run_id, step_id, detail``. ``what`` is one of ``attribute at
        start``, ``list at start``, ``member at start``, ``not triggered``, ``attribute
        change``, ``list change``, ``segment enter``, ``segment exit``, ``run entered``,
        ``not entered``, a step kind (``send_email``, ``wait``, ...), ``response``,
        ``conversion`` and ``run ended``.

    Raises
    ------
    SegsimError
        The contact is not in the store (or, without a store, in any frame); the message
        suggests a close id, such as ``42`` for ``"42"``.
    """
    scenario = result.scenario
    store = getattr(scenario, "store", None) if scenario is not None else None
    _check_known(result, store, contact_id)
    rows: list[tuple[Any, ...]] = []
    if store is not None:
        start, end = pd.Timestamp(scenario.start), pd.Timestamp(scenario.end)
        history = store.history(contact_id)
        occurrences = history[history["type"] == "event"]  # events are no state at the start
        history = history[history["type"] != "event"]
        member_of = _segments_of_at_start(scenario, contact_id)
        rows += _situation_at_start(scenario, history[history["ts"] < start], member_of)
        rows += _untriggered_flows(result, scenario, contact_id, member_of)
        for r in occurrences[(occurrences["ts"] >= start) & (occurrences["ts"] < end)].itertuples():
            props = ", ".join(f"{k}={_value(v)}" for k, v in r.value.items())
            text = f"{r.attribute} ({props})" if props else str(r.attribute)
            rows.append((r.ts, _CHANGE, "event", None, None, None, text))
        for r in history[(history["ts"] >= start) & (history["ts"] < end)].itertuples():
            if r.type == "list":
                text = f"{'added to' if r.value else 'removed from'} list {r.attribute!r}"
                rows.append((r.ts, _CHANGE, "list change", None, None, None, text))
            else:
                text = f"{r.attribute} = {_value(r.value)}"
                rows.append((r.ts, _CHANGE, "attribute change", None, None, None, text))
    rows += _segment_rows(result, contact_id)
    rows += _run_rows(result, scenario, contact_id)
    outcomes = _outcome_rows(result, scenario, contact_id)
    rows += _step_rows(result, scenario, contact_id, outcomes)
    rows += [row for later in outcomes.values() for row in later]
    frame = pd.DataFrame(rows, columns=["time", "order", *EXPLAIN_COLUMNS[1:]])
    frame = frame.sort_values(["time", "order"], kind="stable").drop(columns="order")
    frame["time"] = pd.to_datetime(frame["time"], utc=True).astype("datetime64[us, UTC]")
    frame["run_id"] = frame["run_id"].astype("Int64")
    for column in ("what", "flow", "step_id", "detail"):
        frame[column] = frame[column].astype(object).where(frame[column].notna(), None)
    return frame.reset_index(drop=True)


# -- the contact ----------------------------------------------------------------------------------


def _check_known(result: Any, store: Any, contact_id: Any) -> None:
    if store is not None and store.id_type is not None:
        known = list(store.contacts["contact_id"])
    else:
        frames = (result.segment_events, result.runs, result.suppressed, result.actions)
        known = list(dict.fromkeys(v for f in frames for v in f["contact_id"]))
    if _contains(known, contact_id):
        return
    raise SegsimError(
        f"contact {contact_id!r} is not in this result's data{_close_ids(contact_id, known)}"
    )


def _contains(known: list[Any], contact_id: Any) -> bool:
    if isinstance(contact_id, bool):
        return False
    if isinstance(contact_id, numbers.Integral):
        return any(isinstance(k, numbers.Integral) and k == contact_id for k in known)
    return isinstance(contact_id, str) and contact_id in set(known)


def _close_ids(contact_id: Any, known: list[Any]) -> str:
    """ "; did you mean 42 (an integer)?", or a close string id, or nothing."""
    import difflib

    text = str(contact_id).strip()
    for candidate in known:
        if str(candidate) == text and type(candidate) is not type(contact_id):
            kind = "an integer" if isinstance(candidate, numbers.Integral) else "a string"
            return f"; did you mean {candidate!r} ({kind})? Ids come back exactly as loaded"
    if isinstance(contact_id, str) and len(known) <= 100_000:
        close = difflib.get_close_matches(text, [str(k) for k in known], n=3, cutoff=0.8)
        if close:
            return f"; close ids: {', '.join(close)}"
    return f" ({len(known):,} contacts)"


# -- the situation at the start -------------------------------------------------------------------


def _situation_at_start(scenario: Any, before: pd.DataFrame, member_of: list[str]) -> list[tuple]:
    start = pd.Timestamp(scenario.start)
    if before.empty:
        text = "no history before the start"
        return [(start, _STATE, "attribute at start", None, None, None, text)]
    rows: list[tuple] = []
    latest = before.groupby(["type", "attribute"], sort=False).tail(1)
    for r in latest[latest["type"] != "list"].sort_values("attribute").itertuples():
        text = f"{r.attribute} = {_value(r.value)}"
        rows.append((start, _STATE, "attribute at start", None, None, None, text))
    for r in latest[latest["type"] == "list"].sort_values("attribute").itertuples():
        text = f"{'member' if r.value else 'not a member'} of list {r.attribute!r}"
        rows.append((start, _STATE, "list at start", None, None, None, text))
    existing = bool(getattr(scenario, "include_existing_members", False))
    for segment in member_of:
        text = f"member of {segment!r} before the start: " + (
            "enters it at the start (include_existing_members)"
            if existing
            else "not an entrant (include_existing_members is off)"
        )
        rows.append((start, _MEMBER, "member at start", None, None, None, text))
    return rows


def _segments_of_at_start(scenario: Any, contact_id: Any) -> list[str]:
    """The scenario's segments the contact is a member of just before the start.

    Computed as the engine does (its attribute types, transitions before ``start``), for
    this one contact.
    """
    from segsim._internal.sql import quote_literal
    from segsim.engine.plan import build_plan
    from segsim.engine.responses import events_stand_in
    from segsim.segments import transition_query

    plan = build_plan(scenario)
    store = scenario.store
    only = f"contact_id = {contact_id:d}" if isinstance(contact_id, int) else None
    query = transition_query(
        store,
        plan.segments,
        plan.start,
        contacts_sql=only or f"contact_id = {quote_literal(str(contact_id))}",
        types=plan.types,
        events=plan.events,
    )
    cursor = store.con.cursor()
    try:
        rows = cursor.execute(
            f"""WITH {events_stand_in(plan, store)} q AS ({query.sql})
                SELECT segment FROM q GROUP BY segment HAVING arg_max(enter, t) ORDER BY segment""",
            query.params,
        ).fetchall()
    finally:
        cursor.close()
    return [plan.segments[index].name for (index,) in rows]


def _untriggered_flows(
    result: Any, scenario: Any, contact_id: Any, member_of: list[str]
) -> list[tuple]:
    """A note per flow the contact never triggered: no run and no suppressed trigger event."""
    from segsim.diagram import versions_in_force

    start = pd.Timestamp(scenario.start)
    ran = set(result.runs.loc[result.runs["contact_id"] == contact_id, "flow"])
    ran |= set(result.suppressed.loc[result.suppressed["contact_id"] == contact_id, "flow"])
    rows = []
    for flow in scenario.flows:
        if flow.name in ran:
            continue
        versions = [v.flow for v in versions_in_force(scenario, flow.name)]
        triggers = {
            (v.trigger.on, v.trigger.segment)
            for v in versions
            if isinstance(v.trigger, SegmentTrigger)
        }
        events = sorted({v.trigger.event for v in versions if isinstance(v.trigger, EventTrigger)})
        if not triggers and not events:
            text = "the flow has no trigger (a draft)"
        else:
            text = "; ".join(
                [
                    f"never {'entered' if on == 'enter' else 'exited'} segment {segment!r} in the "
                    "window"
                    + (" (a member since before the start)" if segment in member_of else "")
                    for on, segment in sorted(triggers)
                ]
                + [f"no matching {name!r} event in the window" for name in events]
            )
        rows.append((start, _NOTE, "not triggered", flow.name, None, None, text))
    return rows


# -- the window -----------------------------------------------------------------------------------


def _segment_rows(result: Any, contact_id: Any) -> list[tuple]:
    events = result.segment_events[result.segment_events["contact_id"] == contact_id]
    rows = []
    for r in events.itertuples():
        entry = f"entry #{r.nth}, " if r.event == "enter" else ""
        text = f"{r.segment!r} ({entry}cause: {r.cause})"
        rows.append((r.time, _SEGMENT, f"segment {r.event}", None, None, None, text))
    return rows


def _run_rows(result: Any, scenario: Any, contact_id: Any) -> list[tuple]:
    rows: list[tuple] = []
    goals = _goals(scenario)
    for r in result.runs[result.runs["contact_id"] == contact_id].itertuples():
        text = f"{r.entry} entry, on version {r.version}"
        rows.append((r.entered_at, _ENTRY, "run entered", r.flow, r.run_id, None, text))
        ended = r.end_reason
        if ended == "goal":
            goal = goals.get(r.flow)
            event = f" {goal.event!r}" if goal is not None else ""
            ended = f"goal: the contact performed the goal event{event} (exit_on_goal)"
        rows.append((r.ended_at, _END, "run ended", r.flow, r.run_id, None, ended))
    for r in result.suppressed[result.suppressed["contact_id"] == contact_id].itertuples():
        text = f"{r.reason}: {SUPPRESSION_MEANING.get(r.reason, r.reason)}"
        rows.append((r.time, _ENTRY, "not entered", r.flow, None, None, text))
    return rows


def _step_rows(
    result: Any, scenario: Any, contact_id: Any, outcomes: dict[tuple, list[tuple]]
) -> list[tuple]:
    """The contact's steps; a sent message's responses (and conversions) at its own
    instant follow it at once (``outcomes``, keyed by run, step and time, is emptied of
    them): they are drawn as it is sent (docs/design.md §10.2)."""
    channels = getattr(scenario, "channels", None) if scenario is not None else None
    steps = result.steps[result.steps["contact_id"] == contact_id]
    actions = result.actions[result.actions["contact_id"] == contact_id]
    by_key = {(a.run_id, a.step_id, a.time): a for a in actions.itertuples()}
    models = _step_models(scenario)
    rows = []
    for r in steps.itertuples():
        action = by_key.get((r.run_id, r.step_id, r.time))
        model = models.get((r.flow, r.version, r.step_id))
        if r.outcome == "deferred":
            text = _deferred_text(steps, r)
        elif action is not None:
            text = _action_text(action, channels, model)
        elif r.kind in ("split", "audience_split") and model is not None:
            text = _path_text(result, r, model)
        elif r.kind == "wait_for" and model is not None and model.kind == "wait_for":
            text = _wait_for_text(r.outcome, model)
        else:
            text = r.outcome
        rows.append((r.time, _STEP, r.kind, r.flow, r.run_id, r.step_id, text))
        if action is not None and action.status == "sent":
            rows += outcomes.pop((r.run_id, r.step_id, r.time), [])
    return rows


#: What each response says in an explanation (docs/design.md §10.2).
RESPONSE_MEANING: dict[str, str] = {
    "delivered": "delivered",
    "bounced": "bounced: not delivered, nothing follows",
    "opened": "opened by the contact (a human open)",
    "machine_opened": "machine open: the mail client fetched it on its own, not a human open",
    "clicked": "clicked",
    "unsubscribed": "unsubscribed",
}


def _goals(scenario: Any) -> dict[str, Any]:
    if scenario is None:
        return {}
    return {f.name: f.goal for f in scenario.flows if getattr(f, "goal", None) is not None}


def _outcome_rows(result: Any, scenario: Any, contact_id: Any) -> dict[tuple, list[tuple]]:
    """The contact's responses and conversions, keyed by the sent message they follow at
    its instant ``(run, step, send time)``, else by ``("later", time)``: those come at
    their own instant, as state changes do (before that instant's steps)."""
    responses = getattr(result, "responses", None)
    conversions = getattr(result, "conversions", None)
    out: dict[tuple, list[tuple]] = {}
    if responses is None or conversions is None:
        return out
    responses = responses[responses["contact_id"] == contact_id]
    conversions = conversions[conversions["contact_id"] == contact_id]
    if responses.empty and conversions.empty:
        return out
    actions = result.actions
    sent = actions[(actions["contact_id"] == contact_id) & (actions["status"] == "sent")]
    times: dict[tuple, list[Any]] = {}
    for a in sent.itertuples():
        times.setdefault((a.run_id, a.step_id), []).append(a.time)
    channels = getattr(scenario, "channels", None) if scenario is not None else None

    def message_at(run_id: Any, step_id: Any, t: Any) -> Any:
        """The send time of the latest message of that run and step at or before ``t``."""
        earlier = [m for m in times.get((run_id, step_id), []) if m <= t]
        return max(earlier) if earlier else None

    def add(t: Any, run_id: Any, step_id: Any, row: tuple) -> None:
        m = message_at(run_id, step_id, t)
        key = (run_id, step_id, m) if m is not None and m == t else ("later", t)
        out.setdefault(key, []).append(row)

    for r in responses.itertuples():
        text = f"{r.channel} {RESPONSE_MEANING.get(r.response, r.response)}"
        if r.response == "unsubscribed" and channels is not None:
            consent = getattr(channels, f"{r.channel}_consent", None)
            if consent:
                text += f": {consent} turns false"
        if r.template is not None:
            text += f" · template {r.template!r}"
        order = _STEP if message_at(r.run_id, r.step_id, r.time) == r.time else _CHANGE
        row = (r.time, order, "response", r.flow, r.run_id, r.step_id, text)
        add(r.time, r.run_id, r.step_id, row)
    goals = _goals(scenario)
    for r in conversions.itertuples():
        goal = goals.get(r.flow)
        event = repr(goal.event) if goal is not None else "the goal event"
        value = "" if pd.isna(r.value) else f", value {_value(float(r.value))}"
        m = message_at(r.run_id, r.step_id, r.time)
        message = f"{r.step_id} ({r.channel}"
        message += f", sent {_iso(pd.Timestamp(m))})" if m is not None else ")"
        if r.source == "simulated":
            text = f"simulated{value}: a click on {message} converted, credited to that message"
        else:
            text = (
                f"observed {event}{value}: credited to {message}, the flow's last message "
                "before it (last touch); credited, not caused"
            )
        order = _STEP if m == r.time else _CHANGE
        add(
            r.time,
            r.run_id,
            r.step_id,
            (r.time, order, "conversion", r.flow, r.run_id, r.step_id, text),
        )
    return out


def _path_text(result: Any, row: Any, step: Any) -> str:
    """Which path a split or audience split took, and why (docs/design.md §9)."""
    path = row.outcome
    if step.kind == "audience_split":
        names = step.path_names()
        if path == "otherwise":
            return f"otherwise: none of the {len(step.paths)} ranked conditions held"
        rank = names.index(path)
        held = f"path {path!r}: {step.paths[rank].when} held"
        return held + (" (the first to hold, in rank order)" if rank else " (ranked first)")
    names = list(step.paths)
    weights = [step.weights[name] for name in names]
    i = names.index(path)
    share = step.shares()[path]
    if step.bucket_attribute is not None:
        from segsim.experiments import bucket_bounds

        low, high = bucket_bounds(weights)[i]
        return (
            f"path {path!r} ({share:.0%}): its {step.bucket_attribute!r} bucket is in "
            f"[{low:g}, {high:g})"
        )
    from segsim.engine.draws import uniform
    from segsim.experiments import cumulative_shares

    seed = getattr(result.scenario, "seed", result.meta.get("seed", 0))
    replication = int(result.meta.get("replication", 0))
    u = uniform(seed, replication, row.flow, row.step_id, row.contact_id, "split")
    cumulative = (0.0, *cumulative_shares(weights))
    return (
        f"path {path!r} ({share:.0%}): the contact's draw {u:.4f} is in "
        f"[{cumulative[i]:.4g}, {cumulative[i + 1]:.4g}) (seed {seed}, replication "
        f"{replication}; the same path on every run of this replication)"
    )


def _deferred_text(steps: pd.DataFrame, row: Any) -> str:
    """``"deferred: quiet hours, until 2026-01-06T07:00:00Z"`` (when the step ran again)."""
    later = steps[
        (steps["run_id"] == row.run_id)
        & (steps["step_id"] == row.step_id)
        & (steps["time"] > row.time)
    ]
    if later.empty:
        return "deferred: quiet hours (still waiting at the window's end, or the run ended)"
    return f"deferred: quiet hours, until {_iso(pd.Timestamp(later['time'].iloc[0]))}"


def _step_models(scenario: Any) -> dict[tuple[str, int, str], Any]:
    """``(flow, version, step id) -> step`` over the scenario's flows and scheduled edits."""
    if scenario is None:
        return {}
    from segsim.flows import iter_steps

    flows = [*scenario.flows]
    flows += [e.flow for e in scenario.schedule if getattr(e, "kind", None) == "edit"]
    return {(f.name, f.version, step.id): step for f in flows for _, step in iter_steps(f)}


def _action_text(action: Any, channels: Any, model: Any = None) -> str:
    """``"skipped: no_email (email is not set) · email · template 'tips'"`` and the like."""
    status = action.status
    if status == "skipped" and action.reason is not None:
        meaning = _holdout_meaning(action) or _reason_meaning(action, channels)
        status = f"skipped: {action.reason}{meaning}"
    parts = [status]
    queued = getattr(action, "queued", 0.0)
    if status == "sent" and queued and queued > 0:
        parts.append(
            f"after {format_duration(pd.Timedelta(seconds=queued))} in the rate-limit queue"
        )
    if action.channel:
        parts.append(action.channel)
    if action.template is not None:
        parts.append(f"template {action.template!r}")
    if action.detail is not None:
        # the step's own description when the scenario is known, else the logged detail
        parts.append(
            ", ".join(model.facts()) if model is not None else _detail(action.action, action.detail)
        )
    return " · ".join(parts)


def _wait_for_text(outcome: str, step: Any) -> str:
    """Why a run left a WaitFor: ``"then: tier == 'gold' held"``, or the timeout came first."""
    if outcome == "then":
        return f"then: {step.until} held"
    if outcome == "timed_out":
        return f"timed_out: {step.until} did not hold within {format_duration(step.timeout)}"
    return outcome


def _reason_meaning(action: Any, channels: Any) -> str:
    if action.reason == "quiet_hours":
        return " (in the contact's quiet hours, local time)"
    if action.reason == "frequency_cap":
        return " (over a frequency cap)"
    if channels is None:
        return ""
    try:
        address, consent, _ = channels.rule(action.action)
    except ValueError:
        return ""
    if action.reason in ("no_email", "no_phone") and address:
        return f" ({address} is not set)"
    if action.reason == "unsubscribed" and consent:
        return f" ({consent} is not true)"
    return ""


def _holdout_meaning(action: Any) -> str:
    return " (the contact is in the scenario's holdout group)" if action.reason == "holdout" else ""


def _detail(kind: str, detail: str) -> str:
    """A logged ``detail`` as prose: ``POST https://…``, ``set tier = 'gold'``, ``list 'x'``."""
    if kind in ("add_to_list", "remove_from_list"):
        return f"list {detail!r}"
    try:
        data = json.loads(detail)
    except ValueError:
        return detail
    if kind == "webhook" and isinstance(data, dict):
        return f"{data.get('method', '')} {data.get('url', '')}".strip()
    if isinstance(data, dict):
        return "set " + ", ".join(f"{name} = {_value(value)}" for name, value in data.items())
    return json.dumps(data)


def _value(value: Any) -> str:
    """A value as the explanation shows it: ISO 8601 times, ``unset`` for None."""
    if value is None or value is pd.NaT:
        return "unset"
    if isinstance(value, (pd.Timestamp, dt.datetime)):
        return _iso(pd.Timestamp(value))
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return repr(value)


def _iso(stamp: pd.Timestamp) -> str:
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    text = stamp.isoformat()
    return text.replace("+00:00", "Z")
