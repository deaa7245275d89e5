"""A deterministic synthetic contact population for demos, tests and notebooks.

:func:`demo_frames` builds the attribute and list histories as long DataFrames with NumPy
(``default_rng(seed)``), vectorised over contacts; :func:`demo` loads them into a
:class:`~segsim.store.Store`. The same arguments always give the same rows.

The population (every instant is tz-aware UTC, at a plausible time of day):

* Sign-ups are spread over the 6 months *before* ``start`` (about 40%, so there is state at
  ``start``) and over the window itself. At sign-up a contact gets ``signup_at``, ``plan``
  ``"free"``, a ``country`` (and usually its ``timezone``), usually an ``email``, often a ``phone``, its three channel
  subscriptions, ``purchase_count`` 0, ``ltv`` 0 and ``last_seen_at``.
* About 35% upgrade ``free → pro`` some weeks later; about 30% of those churn later
  (``pro → churned``) and stop visiting.
* Visits (``last_seen_at``) come at a per-contact rate while the contact is active. About
  40% become inactive at some point and about a third of those return a month or more
  later. Some visits are purchases: ``last_purchase_at``, ``purchase_count`` (1, 2, ...) and
  ``ltv`` (the running total of amounts) change together, and the first purchase adds the
  contact to the ``customers`` list.
* Time zones: at sign-up most contacts get a ``timezone``, an IANA name of their country's
  (``Europe/Paris`` for FR; ``America/New_York``, ``America/Chicago``, ``America/Denver`` or
  ``America/Los_Angeles`` for US; ``Europe/Madrid`` or ``Atlantic/Canary`` for ES; ...);
  about 3% have none (the scenario's ``Channels(default_timezone=...)`` applies to them).
  About 3% of the others move once, weeks later, to another zone; a move abroad changes
  ``country`` at the same instant, so zone and country always agree. The zones come from a
  generator of their own: every other row is the same with or without them.
* Subscriptions change: email/SMS/WhatsApp unsubscribes and opt-ins at random times. Some
  emails are removed (hard bounce or erasure: ``email`` becomes unset), some contacts add an
  email or a phone later. ``newsletter`` members join at sign-up or when they opt in to email,
  and leave when they unsubscribe or lose their email.

:func:`demo_events` gives the behavioural events behind that history, consistent with it: a
``page_view`` (property ``page``) at sign-up and at every visit — the instants ``last_seen_at``
changes — and a ``purchase`` (properties ``amount``, the increase of ``ltv``, and
``category``) at every purchase — the instants ``last_purchase_at`` and ``purchase_count``
change. Their pages and categories are drawn from a generator of their own, so the attribute
and list rows are the same with or without events.

Rows after the end of the window (``start`` + ``months``) are dropped. See
``datasets/README.md`` in the repository for the schema as a table.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from segsim._time import to_timestamp
from segsim.store import Store

__all__ = [
    "DEMO_EVENTS",
    "DEMO_EVENT_PROPERTIES",
    "DEMO_LISTS",
    "DEMO_TYPES",
    "demo",
    "demo_events",
    "demo_frames",
]

#: The type of every demo attribute, as passed to ``Store.load_attributes(types=...)``.
DEMO_TYPES: dict[str, str] = {
    "signup_at": "timestamp",
    "plan": "string",
    "country": "string",
    "timezone": "string",
    "email": "string",
    "phone": "string",
    "email_subscribed": "boolean",
    "sms_subscribed": "boolean",
    "whatsapp_subscribed": "boolean",
    "last_purchase_at": "timestamp",
    "purchase_count": "number",
    "ltv": "number",
    "last_seen_at": "timestamp",
}

#: The demo's lists.
DEMO_LISTS = ("newsletter", "customers")

#: The demo's events.
DEMO_EVENTS = ("page_view", "purchase")

#: The type of every demo event property, as passed to ``Store.load_events(properties=...)``.
DEMO_EVENT_PROPERTIES: dict[str, str] = {"page": "string", "amount": "number", "category": "string"}

_PAGES = ("/", "/pricing", "/blog", "/catalog", "/product", "/account")
_PAGE_SHARES = (0.3, 0.1, 0.15, 0.2, 0.2, 0.05)
_CATEGORIES = ("jazz", "rock", "classical", "pop", "electronic")
_CATEGORY_SHARES = (0.2, 0.3, 0.15, 0.25, 0.1)

_DAY_US = 86_400 * 1_000_000
_HISTORY_DAYS = 182  # sign-ups before ``start``: the history that builds state at ``start``
_COUNTRIES = ("FR", "DE", "ES", "IT", "GB", "US")
_COUNTRY_SHARES = (0.30, 0.20, 0.12, 0.10, 0.13, 0.15)
#: Each country's IANA time zones and their shares among its contacts.
_ZONES: dict[str, tuple[tuple[str, float], ...]] = {
    "FR": (("Europe/Paris", 1.0),),
    "DE": (("Europe/Berlin", 1.0),),
    "ES": (("Europe/Madrid", 0.9), ("Atlantic/Canary", 0.1)),
    "IT": (("Europe/Rome", 1.0),),
    "GB": (("Europe/London", 1.0),),
    "US": (
        ("America/New_York", 0.45),
        ("America/Chicago", 0.3),
        ("America/Denver", 0.07),
        ("America/Los_Angeles", 0.18),
    ),
}
_ZONE_UNKNOWN = 0.03  # contacts whose zone was never detected: Channels(default_timezone=...)
_ZONE_MOVES = 0.03  # contacts who move once, to another zone (and its country)
_PHONE_PREFIX = {"FR": "+336", "DE": "+4915", "ES": "+346", "IT": "+393", "GB": "+447", "US": "+1"}
_EMAIL_DOMAINS = ("gmail.com", "outlook.com", "yahoo.com", "orange.fr", "gmx.de", "example.com")


class _Rows:
    """Long-format rows collected as NumPy arrays, turned into one DataFrame at the end."""

    def __init__(self) -> None:
        self.parts: list[tuple[np.ndarray, np.ndarray, str, Any]] = []

    def add(self, contacts: np.ndarray, days: np.ndarray, name: str, values: Any) -> None:
        """``name`` changes to ``values`` (an array, or one value for all) at ``days``."""
        self.parts.append((np.asarray(contacts), np.asarray(days, dtype=float), name, values))

    def frame(
        self, start_us: int, end_days: float, name_column: str, value_column: str
    ) -> pd.DataFrame:
        ids, micros, names, values = [], [], [], []
        for contacts, days, name, value in self.parts:
            keep = days < end_days
            ids.append(contacts[keep])
            micros.append(start_us + np.round(days[keep] * 86_400).astype(np.int64) * 1_000_000)
            names.append(np.full(int(keep.sum()), name, dtype=object))
            if isinstance(value, np.ndarray):
                values.append(value[keep].astype(object))
            else:
                values.append(np.full(int(keep.sum()), value, dtype=object))
        frame = pd.DataFrame(
            {
                "contact_id": np.concatenate(ids).astype(np.int64),
                "ts": pd.to_datetime(np.concatenate(micros), unit="us", utc=True).astype(
                    "datetime64[us, UTC]"
                ),
                name_column: np.concatenate(names),
                value_column: np.concatenate(values),
            }
        )
        frame = frame.sort_values(["ts", "contact_id", name_column], kind="stable")
        # two changes of one attribute rounded to the same second: the later one wins
        frame = frame.drop_duplicates(["contact_id", "ts", name_column], keep="last")
        return frame.reset_index(drop=True)


def _time_of_day(rng: np.random.Generator, n: int) -> np.ndarray:
    """Fractions of a day when people act: mostly office hours, some evenings."""
    evening = rng.random(n) < 0.3
    hours = np.where(evening, rng.normal(20.5, 1.5, n), rng.normal(12.5, 3.0, n))
    return np.mod(hours, 24.0) / 24.0


def _later(rng: np.random.Generator, days: np.ndarray, mean_days: float) -> np.ndarray:
    """A time on a later day than ``days``: an exponential number of whole days, at a time of day."""
    n = len(days)
    return np.floor(days) + 1 + np.floor(rng.exponential(mean_days, n)) + _time_of_day(rng, n)


def _as_timestamps(start_us: int, days: np.ndarray) -> np.ndarray:
    """Day offsets from ``start`` as an object array of tz-aware UTC ``pd.Timestamp``."""
    micros = start_us + np.round(days * 86_400).astype(np.int64) * 1_000_000
    return pd.to_datetime(micros, unit="us", utc=True).astype(object).to_numpy()


def demo_frames(
    contacts: int = 5_000, seed: int = 7, start: Any = "2026-01-01", months: int = 6
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The demo population as long DataFrames ``(attributes, lists)``.

    ``attributes`` has columns ``contact_id, ts, attribute, value`` (values typed as in
    :data:`DEMO_TYPES`, ``None`` for an attribute that became unset); ``lists`` has
    ``contact_id, ts, list, member``. Both are sorted by ``ts, contact_id`` and identical
    for identical arguments. See :func:`demo` for the parameters and :func:`demo_events` for
    the events.
    """
    attributes, lists, _ = _population(contacts, seed, start, months)
    return attributes, lists


def demo_events(
    contacts: int = 5_000, seed: int = 7, start: Any = "2026-01-01", months: int = 6
) -> pd.DataFrame:
    """The demo population's behavioural events as a DataFrame.

    Columns ``contact_id, ts, event, page, amount, category``, one row per occurrence, sorted
    by ``ts, contact_id`` (a purchase after the page view of its visit): ``page_view`` (with
    ``page``) at sign-up and at each visit, the instants ``last_seen_at`` changes in
    :func:`demo_frames`; ``purchase`` (with ``amount``, the increase of ``ltv``, and
    ``category``) at each purchase, the instants ``last_purchase_at`` changes. Identical for
    identical arguments; see :func:`demo` for the parameters.
    """
    return _population(contacts, seed, start, months)[2]


def _population(
    contacts: int, seed: int, start: Any, months: int
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """``(attributes, lists, events)`` of the demo population."""
    if isinstance(contacts, bool) or not isinstance(contacts, (int, np.integer)) or contacts < 1:
        raise ValueError(f"contacts must be a positive integer, got {contacts!r}")
    if isinstance(months, bool) or not isinstance(months, (int, np.integer)) or months < 1:
        raise ValueError(f"months must be a positive integer, got {months!r}")
    rng = np.random.default_rng(seed)
    start_ts = to_timestamp(start)
    start_us = int(start_ts.as_unit("us").asm8.view("int64"))
    end_days = (start_ts + pd.DateOffset(months=int(months)) - start_ts) / pd.Timedelta(days=1)

    n = int(contacts)
    ids = np.arange(1, n + 1, dtype=np.int64)
    rows, lists = _Rows(), _Rows()

    # sign-up: about 40% in the half year before the window, the rest during it
    before = rng.random(n) < 0.4
    signup_day = np.where(
        before,
        -rng.integers(1, _HISTORY_DAYS + 1, n),
        rng.integers(0, max(int(end_days) - 3, 1), n),
    )
    signup = signup_day + _time_of_day(rng, n)
    country = np.array(_COUNTRIES, dtype=object)[rng.choice(len(_COUNTRIES), n, p=_COUNTRY_SHARES)]
    has_email = rng.random(n) < 0.92
    has_phone = rng.random(n) < 0.55
    email_sub = has_email & (rng.random(n) < 0.75)
    sms_sub = has_phone & (rng.random(n) < 0.45)
    whatsapp_sub = has_phone & (rng.random(n) < 0.25)
    domains = np.array(_EMAIL_DOMAINS, dtype=object)[rng.integers(0, len(_EMAIL_DOMAINS), n)]
    emails = np.array(
        [f"contact{i}@{d}" for i, d in zip(ids.tolist(), domains.tolist(), strict=True)],
        dtype=object,
    )
    digits = rng.integers(10_000_000, 100_000_000, n)
    phones = np.array(
        [
            f"{_PHONE_PREFIX[c]}{'555' if c == 'US' else ''}{d}"
            for c, d in zip(country.tolist(), digits.tolist(), strict=True)
        ],
        dtype=object,
    )

    rows.add(ids, signup, "signup_at", _as_timestamps(start_us, signup))
    rows.add(ids, signup, "plan", "free")
    rows.add(ids, signup, "country", country)
    rows.add(ids[has_email], signup[has_email], "email", emails[has_email])
    rows.add(ids[has_phone], signup[has_phone], "phone", phones[has_phone])
    rows.add(ids, signup, "email_subscribed", email_sub)
    rows.add(ids, signup, "sms_subscribed", sms_sub)
    rows.add(ids, signup, "whatsapp_subscribed", whatsapp_sub)
    rows.add(ids, signup, "purchase_count", 0.0)
    rows.add(ids, signup, "ltv", 0.0)
    rows.add(ids, signup, "last_seen_at", _as_timestamps(start_us, signup))
    joins = email_sub & (rng.random(n) < 0.6)
    lists.add(ids[joins], signup[joins], "newsletter", True)

    # plan: free → pro for some, pro → churned for some of those
    upgrades = rng.random(n) < 0.35
    upgrade_at = _later(rng, signup, 50.0)
    churns = upgrades & (rng.random(n) < 0.3)
    churn_at = _later(rng, upgrade_at, 70.0)
    rows.add(ids[upgrades], upgrade_at[upgrades], "plan", "pro")
    rows.add(ids[churns], churn_at[churns], "plan", "churned")

    # email: unsubscribes (newsletter members leave too), opt-ins (some join it), removals
    unsubscribes = email_sub & (rng.random(n) < 0.2)
    unsubscribe_at = _later(rng, signup, 80.0)
    rows.add(ids[unsubscribes], unsubscribe_at[unsubscribes], "email_subscribed", False)
    leaves = joins & unsubscribes
    lists.add(ids[leaves], unsubscribe_at[leaves], "newsletter", False)
    opt_ins = has_email & ~email_sub & (rng.random(n) < 0.25)
    opt_in_at = _later(rng, signup, 40.0)
    rows.add(ids[opt_ins], opt_in_at[opt_ins], "email_subscribed", True)
    late_joins = opt_ins & (rng.random(n) < 0.5)
    lists.add(ids[late_joins], opt_in_at[late_joins] + 1e-3, "newsletter", True)
    removed = has_email & ~unsubscribes & ~opt_ins & (rng.random(n) < 0.06)
    removed_at = _later(rng, signup, 90.0)
    rows.add(ids[removed], removed_at[removed], "email", None)
    lists.add(ids[removed & joins], removed_at[removed & joins], "newsletter", False)
    adds_email = ~has_email & (rng.random(n) < 0.3)
    email_added_at = _later(rng, signup, 30.0)
    rows.add(ids[adds_email], email_added_at[adds_email], "email", emails[adds_email])
    subscribes_too = adds_email & (rng.random(n) < 0.7)
    rows.add(ids[subscribes_too], email_added_at[subscribes_too], "email_subscribed", True)

    # phone and messaging: a phone added later, SMS and WhatsApp opt-ins and opt-outs
    adds_phone = ~has_phone & (rng.random(n) < 0.12)
    phone_added_at = _later(rng, signup, 45.0)
    rows.add(ids[adds_phone], phone_added_at[adds_phone], "phone", phones[adds_phone])
    phone_since = np.where(has_phone, signup, phone_added_at)
    holds_phone = has_phone | adds_phone
    for name, subscribed, p_out, p_in in (
        ("sms_subscribed", sms_sub, 0.15, 0.2),
        ("whatsapp_subscribed", whatsapp_sub, 0.1, 0.2),
    ):
        opt_out = subscribed & (rng.random(n) < p_out)
        opt_out_at = _later(rng, signup, 70.0)
        rows.add(ids[opt_out], opt_out_at[opt_out], name, False)
        opt_in = holds_phone & ~subscribed & (rng.random(n) < p_in)
        opt_in_at_ = _later(rng, phone_since, 35.0)
        rows.add(ids[opt_in], opt_in_at_[opt_in], name, True)

    # activity: visits while active; some go inactive (churners at churn), some return
    goes_inactive = rng.random(n) < 0.4
    inactive_at = np.where(goes_inactive, _later(rng, signup, 45.0), np.inf)
    inactive_at = np.where(churns, np.minimum(inactive_at, churn_at + 2), inactive_at)
    returns = goes_inactive & ~churns & (rng.random(n) < 0.35)
    return_at = np.where(returns, inactive_at + 30 + rng.exponential(30.0, n), np.inf)
    first_end = np.minimum(inactive_at, end_days)
    first_span = np.maximum(first_end - signup, 0.0)
    second_span = np.maximum(end_days - return_at, 0.0)
    rate = rng.gamma(2.0, 0.02, n)  # visits per day: mean 0.04, some far more engaged
    visits = rng.poisson(rate * (first_span + second_span))
    who = np.repeat(np.arange(n), visits)
    offset = rng.random(len(who)) * (first_span + second_span)[who]
    in_first = offset < first_span[who]
    visit_at = np.where(in_first, signup[who] + offset, return_at[who] + offset - first_span[who])
    # at a time of day, on a later day than sign-up
    visit_at = np.maximum(np.floor(visit_at), np.floor(signup[who]) + 1) + _time_of_day(
        rng, len(who)
    )
    order = np.lexsort((visit_at, who))
    who, visit_at = who[order], visit_at[order]
    rows.add(ids[who], visit_at, "last_seen_at", _as_timestamps(start_us, visit_at))

    # purchases: some visits, more often for contacts who go pro
    propensity = rng.beta(1.2, 6.0, n) * np.where(upgrades, 1.8, 1.0)
    buys = rng.random(len(who)) < np.minimum(propensity, 0.9)[who]
    buyer, bought_at = who[buys], visit_at[buys]
    amount = np.round(rng.lognormal(3.6, 0.6, len(buyer)), 2)
    group_start = np.r_[True, buyer[1:] != buyer[:-1]] if len(buyer) else np.zeros(0, bool)
    nth = (
        np.arange(len(buyer))
        - np.maximum.accumulate(np.where(group_start, np.arange(len(buyer)), 0))
        + 1
    )
    running = np.cumsum(amount)
    base = (
        np.maximum.accumulate(np.where(group_start, running - amount, 0.0))
        if len(buyer)
        else running
    )
    ltv = np.round(running - base, 2)
    rows.add(ids[buyer], bought_at, "last_purchase_at", _as_timestamps(start_us, bought_at))
    rows.add(ids[buyer], bought_at, "purchase_count", nth.astype(float))
    rows.add(ids[buyer], bought_at, "ltv", ltv)
    lists.add(ids[buyer[group_start]], bought_at[group_start], "customers", True)

    # time zones (own generator: the other rows stay the same with or without them)
    zone_rng = np.random.default_rng(np.random.SeedSequence([seed, 0x747A]))
    zone, known, moves, move_at, new_zone, new_country = _time_zones(zone_rng, country, signup)
    rows.add(ids[known], signup[known], "timezone", zone[known])
    rows.add(ids[moves], move_at[moves], "timezone", new_zone[moves])
    abroad = moves & (new_country != country)
    rows.add(ids[abroad], move_at[abroad], "country", new_country[abroad])

    # events: what the visits and purchases above were (own generator: the rows stay the same)
    event_rng = np.random.default_rng(np.random.SeedSequence([seed, 0x65766E74]))
    events = _events(
        event_rng,
        start_us,
        end_days,
        views=(np.r_[ids, ids[who]], np.r_[signup, visit_at], len(ids)),
        purchases=(ids[buyer], bought_at, amount),
    )
    return (
        rows.frame(start_us, end_days, "attribute", "value"),
        lists.frame(start_us, end_days, "list", "member").astype({"member": bool}),
        events,
    )


def _time_zones(
    rng: np.random.Generator, country: np.ndarray, signup: np.ndarray
) -> tuple[np.ndarray, ...]:
    """Each contact's IANA zone at sign-up, whether it is known, and who moves where, when.

    The zone at sign-up is one of the contact's country's (:data:`_ZONES`, by share); a few
    contacts' zone is unknown (``default_timezone`` applies to them). Some contacts with a
    known zone move once, later, to another zone drawn by the population's shares; a move
    abroad changes ``country`` too. Every draw is made for every contact, so a contact's zone
    does not depend on the others'. Returns ``(zone, known, moves, move_at, new_zone,
    new_country)``.
    """
    n = len(country)
    table = [(code, name, share) for code, zones in _ZONES.items() for name, share in zones]
    zone_names = np.array([name for _, name, _ in table], dtype=object)
    zone_countries = np.array([code for code, _, _ in table], dtype=object)
    draw = rng.random(n)
    zone = np.empty(n, dtype=object)
    for code, zones in _ZONES.items():
        mine = country == code
        names = np.array([name for name, _ in zones], dtype=object)
        bounds = np.cumsum([share for _, share in zones])
        zone[mine] = names[
            np.minimum(np.searchsorted(bounds, draw[mine], side="right"), len(names) - 1)
        ]
    known = rng.random(n) >= _ZONE_UNKNOWN
    moves = known & (rng.random(n) < _ZONE_MOVES)
    move_at = _later(rng, signup, 60.0)
    weights = np.array(
        [_COUNTRY_SHARES[_COUNTRIES.index(code)] * share for code, _, share in table]
    )
    pick = rng.choice(len(table), n, p=weights / weights.sum())
    pick = np.where(zone_names[pick] == zone, (pick + 1) % len(table), pick)  # another zone
    return zone, known, moves, move_at, zone_names[pick], zone_countries[pick]


def _events(
    rng: np.random.Generator,
    start_us: int,
    end_days: float,
    views: tuple[np.ndarray, np.ndarray, int],
    purchases: tuple[np.ndarray, np.ndarray, np.ndarray],
) -> pd.DataFrame:
    """Page views (the first ``views[2]`` at sign-up) and purchases as one sorted frame."""
    view_ids, view_days, n_signups = views
    buyer_ids, bought_days, amount = purchases
    n_views, n_buys = len(view_ids), len(buyer_ids)
    pages = np.array(_PAGES, dtype=object)[rng.choice(len(_PAGES), n_views, p=_PAGE_SHARES)]
    pages[:n_signups] = "/signup"
    categories = np.array(_CATEGORIES, dtype=object)[
        rng.choice(len(_CATEGORIES), n_buys, p=_CATEGORY_SHARES)
    ]
    days = np.r_[view_days, bought_days]
    keep = days < end_days
    frame = pd.DataFrame(
        {
            "contact_id": np.r_[view_ids, buyer_ids].astype(np.int64),
            "ts": pd.to_datetime(
                start_us + np.round(days * 86_400).astype(np.int64) * 1_000_000, unit="us", utc=True
            ).astype("datetime64[us, UTC]"),
            "event": np.r_[
                np.full(n_views, "page_view", dtype=object),
                np.full(n_buys, "purchase", dtype=object),
            ],
            "page": np.r_[pages, np.full(n_buys, None, dtype=object)],
            "amount": np.r_[np.full(n_views, np.nan), amount],
            "category": np.r_[np.full(n_views, None, dtype=object), categories],
            "_order": np.r_[np.zeros(n_views, dtype=np.int8), np.ones(n_buys, dtype=np.int8)],
        }
    )[keep]
    frame = frame.sort_values(["ts", "contact_id", "_order"], kind="stable")
    return frame.drop(columns="_order").reset_index(drop=True)


def demo(
    contacts: int = 5_000,
    seed: int = 7,
    start: Any = "2026-01-01",
    months: int = 6,
    path: str | Path | None = None,
) -> Store:
    """A store filled with a deterministic synthetic contact population.

    Parameters
    ----------
    contacts : int
        Number of contacts, with integer ids ``1..contacts`` (about 20 changes each).
    seed : int
        Seed of ``numpy.random.default_rng``: the same seed gives the same rows.
    start : timestamp-like
        Start of the simulation window the data is built around (naive means UTC). About
        40% of contacts signed up in the six months before it, so there is state at
        ``start``; the others sign up during the window.
    months : int
        Length of the window: no change is later than ``start`` + ``months``.
    path : str or Path, optional
        A DuckDB file to write the store to; omitted, the store is in memory.

    Returns
    -------
    Store
        Attributes as in :data:`DEMO_TYPES`, lists ``newsletter`` and ``customers``, events
        ``page_view`` and ``purchase`` (:func:`demo_events`).

    Examples
    --------
    >>> import segsim as ss
    >>> store = ss.datasets.demo(contacts=100, seed=7)
    >>> sorted(store.attribute_types)[:3]
    ['country', 'email', 'email_subscribed']
    """
    attributes, lists, events = _population(contacts, seed, start, months)
    store = Store(path)
    store.load_attributes(attributes, types=DEMO_TYPES)
    store.load_lists(lists)
    store.load_events(events, properties=DEMO_EVENT_PROPERTIES)
    return store
