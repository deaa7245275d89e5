"""The fitted method of :func:`segsim.forecast.forecast`: a gamma-Poisson event process.

``method="poisson"`` projects **event histories** (docs/design.md §11, "The fitted method"):
for each event name, every contact present at the history end ``H`` does the event at a rate
of its own, a Poisson process; the rates across contacts follow a gamma distribution fitted
to the history (empirical Bayes, by the method of moments), so a contact's rate is its own
count shrunk towards the population's (a negative binomial, NBD, count per contact). Forward,
each replication draws every contact's rate from its posterior, then its occurrences in
``[H, H + horizon)``. Attributes and lists are held at their state at ``H``; no contact
arrives.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from segsim import schema
from segsim._internal.sql import quote_identifier
from segsim.errors import ScenarioError

__all__ = ["EventRates", "fit_event_rates"]

_DAY = dt.timedelta(days=1)


@dataclass(frozen=True, eq=False)
class EventRates:
    """The fitted gamma-Poisson rates of a history (rates are per day).

    Attributes
    ----------
    end : datetime
        The history end ``H`` (naive UTC): occurrences before it are counted.
    events : DataFrame
        One row per event name: ``event``, ``contacts`` (present at ``H``), ``occurrences``,
        ``exposure_days`` (summed over contacts), ``pooled_rate`` (occurrences / exposure),
        ``pooled_se`` (its Poisson standard error, ``sqrt(occurrences) / exposure``),
        ``heterogeneity`` (the fitted variance of the rates across contacts; 0 when the counts
        vary no more than a common rate explains), ``prior_shape`` and ``prior_rate`` (the
        gamma prior; NaN when ``heterogeneity`` is 0).
    contacts : DataFrame
        One row per contact present at ``H`` and event name: ``contact_id``, ``event``,
        ``occurrences``, ``exposure_days`` (from the contact's first stored row to ``H``),
        ``shape`` and ``rate`` (its gamma posterior) and ``mean_rate`` (the posterior mean,
        ``shape / rate``).
    """

    end: dt.datetime
    events: pd.DataFrame
    contacts: pd.DataFrame
    #: the ``seq`` of the stored occurrences, per (contact, event) and per event
    _own: dict[tuple[Any, str], np.ndarray] = field(default_factory=dict, repr=False)
    _everyone: dict[str, np.ndarray] = field(default_factory=dict, repr=False)

    def draw(self, rng: np.random.Generator, horizon: dt.timedelta) -> pd.DataFrame:
        """One future: ``contact_id, event, ts, source`` — the occurrences in ``[H, H +
        horizon)`` and, for each, the ``seq`` of the stored occurrence whose properties it
        copies.

        Per event name (in name order), every contact (in id order) draws its rate from its
        posterior — or, when the fit found no heterogeneity, every contact shares one rate
        drawn from the pooled posterior ``Gamma(occurrences, exposure)`` — then a Poisson
        count over the horizon, then the instants, uniform in the horizon, in order.
        """
        days = horizon / _DAY
        out = []
        for event, group in self.contacts.groupby("event", sort=True):
            row = self.events.loc[self.events["event"] == event].iloc[0]
            if row["heterogeneity"] > 0:
                rates = rng.gamma(group["shape"].to_numpy(), 1.0 / group["rate"].to_numpy())
            else:
                shared = rng.gamma(row["occurrences"], 1.0 / row["exposure_days"])
                rates = np.full(len(group), shared)
            counts = rng.poisson(rates * days)
            ids = np.repeat(group["contact_id"].to_numpy(), counts)
            offsets = rng.random(int(counts.sum())) * (horizon // dt.timedelta(microseconds=1))
            out.append(
                pd.DataFrame(
                    {
                        "contact_id": ids,
                        "event": event,
                        "offset": offsets.astype("int64"),
                    }
                )
            )
        frame = pd.concat(out, ignore_index=True) if out else pd.DataFrame()
        if frame.empty:
            return pd.DataFrame(columns=["contact_id", "event", "ts", "source"])
        frame = frame.sort_values(["event", "contact_id", "offset"], kind="stable")
        frame["ts"] = pd.Timestamp(self.end) + pd.to_timedelta(frame["offset"], unit="us")
        frame["source"] = self._sources(frame, rng)
        return frame[["contact_id", "event", "ts", "source"]].reset_index(drop=True)

    def _sources(self, frame: pd.DataFrame, rng: np.random.Generator) -> np.ndarray:
        """For each drawn occurrence, a stored occurrence of the same event drawn uniformly:
        among the contact's own if it has any, else among everyone's."""
        own, everyone = self._own, self._everyone
        picks = rng.random(len(frame))
        sources = np.empty(len(frame), dtype="int64")
        for i, (cid, event, u) in enumerate(
            zip(frame["contact_id"], frame["event"], picks, strict=True)
        ):
            pool = own.get((cid, event))
            pool = everyone[event] if pool is None else pool
            sources[i] = pool[int(u * len(pool))]
        return sources


def fit_event_rates(history: Any) -> EventRates:
    """Fit the gamma-Poisson rates of a history (a :class:`segsim.forecast._History`).

    Per event name: ``n_c`` occurrences of contact ``c`` over its exposure ``t_c`` (days from
    its first stored row to ``H``); the pooled rate ``m = Σn / Σt``; the heterogeneity
    ``v = max(0, var(n_c / t_c) - m · mean(1 / t_c))`` (the variance of the observed rates
    less what Poisson noise alone gives); with ``v > 0`` the gamma prior has shape
    ``a = m² / v`` and rate ``b = m / v``, and contact ``c``'s posterior is
    ``Gamma(a + n_c, b + t_c)``.
    """
    if not history.has_events:
        raise ScenarioError(
            "method 'poisson' projects event histories, and the store has no events; use "
            "method='bootstrap'"
        )
    events = history.events.select(["contact_id", "event", "seq"]).to_pandas()
    if events.empty:
        raise ScenarioError(
            f"method 'poisson' projects event histories; the store has no event before the "
            f"history end {history.end}"
        )
    end = pd.Timestamp(history.end)
    contacts = pd.Series(history.contacts, name="contact_id")
    first = pd.Series([history.first_seen[c] for c in history.contacts])
    exposure = ((end - pd.to_datetime(first)) / pd.Timedelta(days=1)).to_numpy()
    names = sorted(events["event"].unique())
    counts = events.groupby(["event", "contact_id"]).size()
    rows, per_contact = [], []
    for event in names:
        n = counts.loc[event].reindex(contacts.to_numpy(), fill_value=0).to_numpy(dtype="float64")
        total, exposed = float(n.sum()), float(exposure.sum())
        pooled = total / exposed
        observed = n / exposure
        spread = (
            float(observed.var(ddof=1) - pooled * np.mean(1.0 / exposure)) if len(n) > 1 else 0.0
        )
        spread = max(spread, 0.0)
        if spread > 0:
            shape, rate = pooled**2 / spread, pooled / spread
            post_shape, post_rate = shape + n, rate + exposure
        else:
            shape = rate = float("nan")
            post_shape, post_rate = np.full(len(n), total), np.full(len(n), exposed)
        se = np.sqrt(total) / exposed
        rows.append((event, len(n), int(total), exposed, pooled, se, spread, shape, rate))
        per_contact.append(
            pd.DataFrame(
                {
                    "contact_id": contacts.to_numpy(),
                    "event": event,
                    "occurrences": n.astype("int64"),
                    "exposure_days": exposure,
                    "shape": post_shape,
                    "rate": post_rate,
                    "mean_rate": post_shape / post_rate,
                }
            )
        )
    summary = pd.DataFrame(
        rows,
        columns=[
            "event",
            "contacts",
            "occurrences",
            "exposure_days",
            "pooled_rate",
            "pooled_se",
            "heterogeneity",
            "prior_shape",
            "prior_rate",
        ],
    )
    own = {
        key: group.to_numpy(dtype="int64")
        for key, group in events.groupby(["contact_id", "event"], sort=True)["seq"]
    }
    everyone = {
        event: group.to_numpy(dtype="int64")
        for event, group in events.groupby("event", sort=True)["seq"]
    }
    return EventRates(
        history.end, summary, pd.concat(per_contact, ignore_index=True), own, everyone
    )


def add_drawn_events(store: Any, history: Any, drawn: pd.DataFrame) -> None:
    """Insert the drawn occurrences into a future store (made by ``_future_store`` with no
    donor): no event id, ``seq`` after every stored one in the drawn order, the properties of
    the source occurrence, timestamp properties shifted by ``ts - source ts``."""
    if drawn.empty:
        return
    con = store.con
    gen = drawn.assign(k=np.arange(1, len(drawn) + 1, dtype="int64"))
    if history.id_type == "integer":
        gen = gen.astype({"contact_id": "int64"})
    con.register("f_drawn", gen)
    con.register("f_events", history.events)
    columns = history.event_columns[5:]
    props = "".join(
        f", h.{quote_identifier(name)}"
        + (" + (g.ts - h.ts)" if kind.startswith("TIMESTAMP") else "")
        for name, kind in columns
    )
    names = ", ".join(
        quote_identifier(c)
        for c in ["contact_id", "ts", "event", "seq", "event_id", *(n for n, _ in columns)]
    )
    con.execute(
        f"""INSERT INTO {schema.EVENTS} ({names})
            SELECT g.contact_id, g.ts, g.event,
                   (SELECT coalesce(max(seq), 0) FROM f_events) + g.k, NULL{props}
            FROM f_drawn g JOIN f_events h ON h.seq = g.source
            ORDER BY g.k"""
    )
    con.unregister("f_drawn")
    con.unregister("f_events")
