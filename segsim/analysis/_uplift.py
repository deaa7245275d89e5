"""Uplift over the holdout: what a flow's messages add to its goal (docs/design.md §10.5).

For each flow with a :class:`~segsim.responses.Goal` that the scenario's
:class:`~segsim.experiments.Holdout` covers, in each replication:

* **who**: the contacts that entered the flow (a run in ``runs``), split into the
  *treated* (not held out) and the *holdout* (held out: the same draw the engine made,
  ``uniform(seed, replication, None, None, contact, "holdout") < percent / 100``, so a
  held-out contact that never reached a message is still in the holdout);
* **what counts**: the occurrences of the goal's event after the contact's first entry into
  the flow and before the window's end — the events in the data (in both groups; strictly
  after the entry, so the event that triggered the entry is not its own conversion) and the
  flow's simulated conversions (only the treated click, so only they have them; each follows
  a message of a run, so none is before the first entry) — except those after the
  contact's deletion (a run that ended ``contact_deleted``);
* **rates**: ``treated_rate`` and ``holdout_rate`` are the shares of each group's contacts
  with at least one such occurrence; ``*_revenue`` the mean per contact of their known
  values (an unknown value counts 0);
* **uplift** = ``treated_rate - holdout_rate`` (``relative_uplift``: divided by
  ``holdout_rate``, NaN when it is 0); ``revenue_uplift`` = ``treated_revenue -
  holdout_revenue``.

The window runs to the end rather than a fixed ``within`` after entry so that a conversion
credited to a message sent late in the flow still counts; both groups get the same window,
so the comparison is fair. Events in the data happened whatever was sent: on real history
they only add the same baseline to both groups (their difference is noise), while simulated
conversions are caused by the messages by construction.

**Intervals.** With one replication, a 95% normal-approximation interval of the difference
of two independent proportions, ``uplift ± 1.96 * sqrt(p_t(1-p_t)/n_t + p_h(1-p_h)/n_h)``
(for revenue, ``± 1.96 * sqrt(s_t²/n_t + s_h²/n_h)`` with the sample variances), NaN when a
group has fewer than 2 contacts: ``interval = "normal"``. With R > 1 replications, the mean
over replications and the 2.5% and 97.5% percentiles of the per-replication values (where
the uplift falls in 95% of replications, as every interval of docs/design.md §9):
``interval = "replications"``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from segsim.engine.draws import uniform
from segsim.errors import SegsimError

__all__ = ["UPLIFT_COLUMNS", "uplift", "uplift_flows", "uplift_per_replication"]

_Z95 = 1.959963984540054

#: The columns of :func:`uplift_per_replication`, after ``replication`` and ``flow``.
_PER = (
    "treated_contacts",
    "holdout_contacts",
    "treated_converted",
    "holdout_converted",
    "treated_rate",
    "holdout_rate",
    "uplift",
    "relative_uplift",
    "treated_revenue",
    "holdout_revenue",
    "revenue_uplift",
)
#: The columns of :func:`uplift`.
UPLIFT_COLUMNS: tuple[str, ...] = (
    "flow",
    *_PER[:7],
    "uplift_low",
    "uplift_high",
    "relative_uplift",
    *_PER[8:],
    "revenue_uplift_low",
    "revenue_uplift_high",
    "replications",
    "interval",
)


def uplift_flows(scenario: Any) -> list[str]:
    """The flows whose uplift can be measured: a goal, and covered by the holdout."""
    holdout = getattr(scenario, "holdout", None)
    if scenario is None or holdout is None:
        return []
    return [f.name for f in scenario.flows if f.goal is not None and holdout.covers(f.name)]


def _plain_id(contact: Any) -> Any:
    return int(contact) if isinstance(contact, (int, np.integer)) else contact


def _observed(result: Any, flows: list[str], contacts: list[Any]) -> pd.DataFrame:
    """The goal events in the data of the given contacts in the window: ``flow, contact_id,
    us`` (epoch microseconds), ``value`` — one row per occurrence and flow whose goal names
    its event."""
    from segsim import schema
    from segsim._internal.sql import quote_identifier

    scenario = result.scenario
    store = scenario.store
    goals = {f.name: f.goal for f in scenario.flows if f.name in flows}
    names = set(store.event_names)
    events = sorted({g.event for g in goals.values() if g.event in names})
    rows = []
    if events and contacts:
        properties = sorted({g.value for g in goals.values() if isinstance(g.value, str)})
        columns = "".join(f", {quote_identifier(schema.property_column(p))}" for p in properties)
        start, end = result.window
        cursor = store.con.cursor()
        try:
            found = cursor.execute(
                f"""SELECT contact_id, epoch_us(ts), event{columns} FROM {schema.EVENTS}
                    WHERE event IN (SELECT unnest(?)) AND ts >= make_timestamp(?)
                      AND ts < make_timestamp(?) AND contact_id IN (SELECT unnest(?))""",
                [events, start.value // 1000, end.value // 1000, contacts],
            ).fetchall()
        finally:
            cursor.close()
        for contact, p, event, *values in found:
            props = dict(zip(properties, values, strict=True))
            for flow, goal in goals.items():
                if goal.event != event:
                    continue
                if isinstance(goal.value, str):
                    value = props.get(goal.value)
                    amount = math.nan if value is None else float(value)
                else:
                    amount = math.nan if goal.value is None else float(goal.value)
                rows.append((flow, contact, p, amount))
    return pd.DataFrame(rows, columns=["flow", "contact_id", "us", "value"])


def _epoch_us(series: pd.Series) -> np.ndarray:
    return (
        series.dt.tz_convert("UTC")
        .dt.tz_localize(None)
        .astype("datetime64[us]")
        .astype("int64")
        .to_numpy()
    )


def uplift_per_replication(result: Any) -> pd.DataFrame:
    """:func:`uplift`'s measures in each replication: ``replication, flow`` and the
    counts, rates and revenues of the module docs (no intervals)."""
    return _per_replication(result)[0]


def _per_replication(result: Any) -> tuple[pd.DataFrame, dict[tuple[int, str], tuple]]:
    """The measures, and per (replication, flow) each treated and held-out contact's
    revenue (for the sample variances of the normal interval)."""
    scenario = result.scenario
    if scenario is None:
        raise SegsimError("uplift needs the result's scenario (its holdout, goals and seed)")
    flows = uplift_flows(scenario)
    if not flows:
        why = (
            "the scenario has no holdout (Scenario(holdout=Holdout(percent=...)))"
            if scenario.holdout is None
            else "no flow with a goal is covered by the holdout"
        )
        raise SegsimError(f"uplift is measured against the holdout, and {why}")
    count = result.replication_count
    runs = result.runs
    many = count > 1
    contacts = sorted(
        {_plain_id(c) for c in runs.loc[runs["flow"].isin(flows), "contact_id"]}, key=str
    )
    observed = _observed(result, flows, contacts)
    conversions = result.conversions
    share = scenario.holdout.share
    base = int(result.meta.get("replication", 0))
    rows, samples = [], {}
    for r in range(count):
        rep = base if not many else r
        one_runs = runs[runs["replication"] == r] if many else runs
        one_conv = conversions[conversions["replication"] == r] if many else conversions
        deleted = one_runs[one_runs["end_reason"] == "contact_deleted"]
        deleted_at = dict(zip(deleted["contact_id"], _epoch_us(deleted["ended_at"]), strict=True))
        simulated = one_conv[one_conv["source"] == "simulated"]
        for flow in flows:
            mine = one_runs[one_runs["flow"] == flow]
            first = dict(zip(*_first_entries(mine), strict=True))
            held = {
                c: uniform(scenario.seed, rep, None, None, _plain_id(c), "holdout") < share
                for c in first
            }
            sim = simulated[simulated["flow"] == flow]
            data = observed.loc[observed["flow"] == flow, ["contact_id", "us", "value"]]
            occurrences = pd.concat(
                [
                    data.assign(simulated=False),
                    pd.DataFrame(
                        {
                            "contact_id": sim["contact_id"].to_numpy(dtype=object),
                            "us": _epoch_us(sim["time"]),
                            "value": sim["value"].to_numpy(dtype="float64"),
                            "simulated": True,
                        }
                    ),
                ],
                ignore_index=True,
            )
            measures, samples[(r, flow)] = _measures(first, held, deleted_at, occurrences)
            rows.append((r, flow, *measures))
    table = pd.DataFrame(rows, columns=["replication", "flow", *_PER])
    return table.astype({c: "int64" for c in _PER[:4]}), samples


def _first_entries(runs: pd.DataFrame) -> tuple[list[Any], list[int]]:
    if not len(runs):
        return [], []
    first = runs.groupby("contact_id", sort=True)["entered_at"].min()
    return [_plain_id(c) for c in first.index], _epoch_us(
        first.reset_index()["entered_at"]
    ).tolist()


def _measures(
    first: dict[Any, int],
    held: dict[Any, bool],
    deleted_at: dict[Any, int],
    occurrences: pd.DataFrame,
) -> tuple[tuple, tuple[list[float], list[float]]]:
    """The counts, rates and revenues of one flow in one replication."""
    converted: dict[Any, bool] = {}
    revenue: dict[Any, float] = {}
    columns = (occurrences[c] for c in ("contact_id", "us", "value", "simulated"))
    for contact, p, value, simulated in zip(*columns, strict=True):
        contact = _plain_id(contact)
        entry = first.get(contact)
        if entry is None or p < entry or (p == entry and not simulated):
            continue  # an event in the data at the entry instant did not follow the entry
        if p > deleted_at.get(contact, p):
            continue
        converted[contact] = True
        revenue[contact] = revenue.get(contact, 0.0) + (0.0 if math.isnan(value) else value)
    groups = {True: [], False: []}
    for contact in first:
        groups[held[contact]].append(contact)
    n_t, n_h = len(groups[False]), len(groups[True])
    x_t = sum(converted.get(c, False) for c in groups[False])
    x_h = sum(converted.get(c, False) for c in groups[True])
    rate_t = x_t / n_t if n_t else math.nan
    rate_h = x_h / n_h if n_h else math.nan
    rev_t = sum(revenue.get(c, 0.0) for c in groups[False]) / n_t if n_t else math.nan
    rev_h = sum(revenue.get(c, 0.0) for c in groups[True]) / n_h if n_h else math.nan
    lift = rate_t - rate_h
    relative = lift / rate_h if rate_h else math.nan
    measures = (n_t, n_h, x_t, x_h, rate_t, rate_h, lift, relative, rev_t, rev_h, rev_t - rev_h)
    samples = (
        [revenue.get(c, 0.0) for c in groups[False]],
        [revenue.get(c, 0.0) for c in groups[True]],
    )
    return measures, samples


def _normal_interval(table: pd.DataFrame, samples: dict[tuple[int, str], tuple]) -> pd.DataFrame:
    """One replication: the normal-approximation intervals of the module docs."""
    low, high, rlow, rhigh = [], [], [], []
    for row in table.itertuples():
        n_t, n_h = row.treated_contacts, row.holdout_contacts
        if n_t < 2 or n_h < 2:
            low.append(math.nan), high.append(math.nan)
            rlow.append(math.nan), rhigh.append(math.nan)
            continue
        p_t, p_h = row.treated_rate, row.holdout_rate
        se = math.sqrt(p_t * (1 - p_t) / n_t + p_h * (1 - p_h) / n_h)
        low.append(row.uplift - _Z95 * se), high.append(row.uplift + _Z95 * se)
        treated, holdout = samples[(row.replication, row.flow)]
        rse = math.sqrt(np.var(treated, ddof=1) / n_t + np.var(holdout, ddof=1) / n_h)
        rlow.append(row.revenue_uplift - _Z95 * rse)
        rhigh.append(row.revenue_uplift + _Z95 * rse)
    out = table.drop(columns="replication").copy()
    out["uplift_low"], out["uplift_high"] = low, high
    out["revenue_uplift_low"], out["revenue_uplift_high"] = rlow, rhigh
    out["replications"] = 1
    out["interval"] = "normal"
    return out


def uplift(result: Any) -> pd.DataFrame:
    """Uplift over the holdout of each flow with a goal (the definition: module docs).

    Parameters
    ----------
    result : SimulationResult
        A result of a scenario with a :class:`~segsim.experiments.Holdout` and at least one
        flow with a :class:`~segsim.responses.Goal` the holdout covers; one replication or
        many.

    Returns
    -------
    DataFrame
        One row per such flow (scenario order): ``flow``, ``treated_contacts``,
        ``holdout_contacts``, ``treated_converted``, ``holdout_converted``, ``treated_rate``,
        ``holdout_rate``, ``uplift``, ``uplift_low``, ``uplift_high``, ``relative_uplift``,
        ``treated_revenue``, ``holdout_revenue`` (per contact), ``revenue_uplift``,
        ``revenue_uplift_low``, ``revenue_uplift_high``, ``replications`` and ``interval``
        (``"normal"`` with one replication, ``"replications"`` with more). With R > 1 every
        number is the mean over replications (counts too, as float64) and the intervals are
        the 2.5%–97.5% percentiles over replications.

    Raises
    ------
    SegsimError
        Without a recorded scenario, a holdout, or a flow with a goal the holdout covers.
    """
    per, samples = _per_replication(result)
    if result.replication_count == 1:
        return _normal_interval(per, samples)[list(UPLIFT_COLUMNS)].reset_index(drop=True)
    rows = []
    for flow, group in per.groupby("flow", sort=False):
        row: dict[str, Any] = {"flow": flow}
        for column in _PER:
            row[column] = float(group[column].mean())
        for column in ("uplift", "revenue_uplift"):
            values = group[column].to_numpy(dtype="float64")
            row[f"{column}_low"] = float(np.percentile(values, 2.5))
            row[f"{column}_high"] = float(np.percentile(values, 97.5))
        row["replications"] = len(group)
        row["interval"] = "replications"
        rows.append(row)
    return pd.DataFrame(rows, columns=list(UPLIFT_COLUMNS))
