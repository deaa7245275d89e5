"""The result of a simulation: five DataFrames (docs/design.md §5), the outcome frames of
responses and goals (docs/design.md §10), and ways to read them.

The frames are declared once, in :mod:`segsim._internal.frames`.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from segsim._internal.formatting import DEFAULT_CURRENCY
from segsim._internal.frames import CORE_FRAMES, FRAMES, OUTCOME_FRAMES
from segsim._internal.outcomes import OUTCOME_RATES, outcome_counts, with_rates
from segsim._internal.periods import window_attr
from segsim._internal.sql import quote_literal
from segsim._internal.vocab import (
    END_REASONS,
    MESSAGE_ACTIONS,
    MESSAGE_CHANNELS,
    OPERATION_COLUMNS,
    OUTCOME_COLUMNS,
    POLICY_COLUMNS,
    SENT_COLUMNS,
)

__all__ = ["SimulationResult", "open_result"]


def _read_frame(directory: Path, name: str, id_dtype: str) -> pd.DataFrame:
    """One frame of a result folder, with the columns and dtypes of its declaration."""
    path = directory / f"{name}.parquet"
    if not path.exists() and name in OUTCOME_FRAMES:
        # a result folder written before responses and goals: it has none of them
        return FRAMES[name].empty(id_dtype)
    if not path.exists():
        from segsim.errors import SegsimError

        raise SegsimError(
            f"{str(directory)!r} is not a complete segsim result: {path.name} is missing"
        )
    stored = pd.read_parquet(path)
    frame = FRAMES[name].typed(stored, id_dtype)
    if "replication" in stored.columns:  # a result of many replications (docs/design.md §9)
        frame.insert(0, "replication", stored["replication"].astype("int64").to_numpy())
    return frame


def open_result(
    directory: str | Path, *, scenario: Any = None, meta: Mapping[str, Any] | None = None
) -> SimulationResult:
    """Open a result folder written by ``simulate(..., out=DIR)`` or ``result.to_parquet(DIR)``.

    Frames are read lazily, on first access; :meth:`SimulationResult.sql` queries the files
    directly.
    """
    path = Path(directory)
    if not path.is_dir():
        from segsim.errors import SegsimError

        raise SegsimError(f"result folder {str(path)!r} does not exist")
    return SimulationResult(None, scenario=scenario, meta=meta, directory=path)


class SimulationResult:
    """Every simulated step of a scenario, as pandas DataFrames.

    Attributes
    ----------
    segment_events, runs, steps, actions, suppressed : DataFrame
        The five logs of docs/design.md §5 (times tz-aware UTC; contact ids as in the store).
    scenario : Scenario
        What was simulated.
    """

    def __init__(
        self,
        frames: Mapping[str, pd.DataFrame] | None = None,
        scenario: Any = None,
        meta: Mapping[str, Any] | None = None,
        *,
        directory: str | Path | None = None,
    ) -> None:
        self._frames: dict[str, pd.DataFrame] = dict(frames or {})
        self.directory = None if directory is None else Path(directory)
        if self.directory is None and not set(CORE_FRAMES) <= set(self._frames) <= set(FRAMES):
            raise ValueError(
                f"a result needs the frames {sorted(CORE_FRAMES)} (and may have "
                f"{sorted(OUTCOME_FRAMES)}), got {sorted(self._frames)}"
            )
        self.scenario = scenario
        self.meta: dict[str, Any] = dict(meta or {})
        if self.directory is None:
            # the outcome frames are empty where none were given (no responses, no goals)
            id_dtype = self._id_dtype()
            for name in OUTCOME_FRAMES:
                if name not in self._frames:
                    frame = FRAMES[name].empty(id_dtype)
                    if self.replication_count > 1:
                        frame.insert(0, "replication", pd.Series(dtype="int64"))
                    self._frames[name] = frame

    def _frame(self, name: str) -> pd.DataFrame:
        frame = self._frames.get(name)
        if frame is None:
            assert self.directory is not None
            frame = self._frames[name] = _read_frame(self.directory, name, self._id_dtype())
        window = window_attr(self.window)
        if frame.attrs.get("window") != window:
            # the simulated window travels with the frame (and what is filtered from it), so
            # period tables clip to it without being told: see segsim._internal.periods
            frame.attrs["window"] = window
        return frame

    @property
    def window(self) -> tuple[pd.Timestamp, pd.Timestamp] | None:
        """The simulated window ``(start, end)`` as UTC timestamps; None when not recorded."""
        start, end = (getattr(self.scenario, name, None) for name in ("start", "end"))
        if start is not None and end is not None:
            return (pd.Timestamp(start), pd.Timestamp(end))
        window = self.meta.get("window")
        if window is None:
            return None
        start, end = (pd.Timestamp(t) for t in window)
        return (
            start if start.tzinfo else start.tz_localize("UTC"),
            end if end.tzinfo else end.tz_localize("UTC"),
        )

    @property
    def currency(self) -> str:
        """The currency of every cost (the scenario's ``Channels.currency``; EUR by default)."""
        channels = getattr(self.scenario, "channels", None)
        if channels is not None:
            return str(channels.currency)
        return str(self.meta.get("currency", DEFAULT_CURRENCY))

    def _id_dtype(self) -> str:
        store = getattr(self.scenario, "store", None) if self.scenario is not None else None
        return "int64" if store is None or store.id_type != "string" else "object"

    def sql(self, query: str) -> pd.DataFrame:
        """Query the frames with DuckDB SQL, by name (``SELECT ... FROM actions``).

        On a result streamed to Parquet (``simulate(..., out=DIR)``) the query reads the
        files without loading whole frames into memory.
        """
        import duckdb

        con = duckdb.connect()
        try:
            for name in FRAMES:
                if self.directory is not None and name not in self._frames:
                    path = quote_literal(str(self.directory / f"{name}.parquet"))
                    con.execute(f"CREATE VIEW {name} AS SELECT * FROM read_parquet({path})")
                else:
                    con.register(name, self._frame(name))
            return con.execute(query).df()
        finally:
            con.close()

    segment_events = property(
        lambda self: self._frame("segment_events"), doc="Segment entries and exits."
    )
    runs = property(lambda self: self._frame("runs"), doc="One row per flow run.")
    steps = property(lambda self: self._frame("steps"), doc="One row per step executed.")
    actions = property(lambda self: self._frame("actions"), doc="One row per action step.")
    suppressed = property(
        lambda self: self._frame("suppressed"), doc="Trigger events that did not enter."
    )
    responses = property(
        lambda self: self._frame("responses"),
        doc="Responses to sent messages (docs/design.md §10); empty without a response model.",
    )
    conversions = property(
        lambda self: self._frame("conversions"),
        doc="Goal occurrences credited to sent messages (docs/design.md §10); empty without goals.",
    )

    @property
    def frames(self) -> dict[str, pd.DataFrame]:
        """Every frame by name: the five of docs/design.md §5, then ``responses`` and
        ``conversions``."""
        return {name: getattr(self, name) for name in FRAMES}

    # -- reading ------------------------------------------------------------------------------

    @property
    def replication_count(self) -> int:
        """How many replications were simulated (``simulate(..., replications=R)``).

        Recorded with the result; for frames read back without it (``open_result``), the
        number of replications their ``replication`` column holds.
        """
        if "replications" not in self.meta:
            runs = self._frame("runs")
            count = int(runs["replication"].max()) + 1 if "replication" in runs and len(runs) else 1
            self.meta["replications"] = count
        return int(self.meta["replications"])

    def replication(self, r: int) -> SimulationResult:
        """Replication ``r`` (0 first) alone, as a result with today's frames (no
        ``replication`` column): reports, explanations and diagrams read one replication.
        """
        count = self.replication_count
        if not isinstance(r, int) or isinstance(r, bool) or not 0 <= r < count:
            raise ValueError(f"replication must be an integer in [0, {count}), got {r!r}")
        if count == 1:
            return self
        frames = {}
        for name in FRAMES:
            frame = self._frame(name)
            frames[name] = (
                frame[frame["replication"] == r].drop(columns="replication").reset_index(drop=True)
            )
        meta = {**self.meta, "replications": 1, "replication": r}
        return SimulationResult(frames, scenario=self.scenario, meta=meta)

    @property
    def replications(self) -> pd.DataFrame:
        """One row per replication: ``replication``, then the metrics of :meth:`summary`
        summed over flows (counts int64, costs float64)."""
        flows = self._flows()
        rows = []
        for r in range(self.replication_count):
            one = self.replication(r)
            table = _flow_summary(one.runs, one.actions, one.suppressed, one.steps, flows)
            totals = table.drop(columns="flow").sum()
            rows.append({"replication": r, **totals.to_dict()})
        columns = ["replication", *SUMMARY_METRICS]
        table = pd.DataFrame(rows, columns=columns)
        return table.astype(_summary_dtypes(columns))

    def _require_one(self, what: str) -> None:
        """Views of one simulated history refuse a result of many replications."""
        if self.replication_count > 1:
            from segsim.errors import SegsimError

            raise SegsimError(
                f"this result holds {self.replication_count} replications; {what} reads one: "
                f"call it on result.replication(r), e.g. result.replication(0).{what}"
            )

    def _flows(self) -> list[str]:
        return list(self.meta.get("flows", [])) or sorted(set(self.runs["flow"]))

    def summary(self) -> pd.DataFrame:
        """One row per flow: its runs and how they ended, its messages, its operations, costs.

        With replications (``simulate(..., replications=R)``, R > 1), one row per flow and
        metric instead: ``flow, metric, mean, std, low, high, replications``, ``low`` and
        ``high`` bounding the metric in 95% of replications (see
        :func:`segsim.experiments.interval_table`).

        Returns
        -------
        DataFrame
            ``flow``, ``runs``, ``contacts_entered`` (distinct contacts with a run), then one
            column per end reason in the documented order (``completed``, ``exit_condition``,
            ``restarted``, ``contact_deleted``, ``step_removed``, ``paused_exit``,
            ``horizon`` = still running at the window's end; they add up to ``runs``), the
            messages sent per channel (``email_sent``, ``sms_sent``, ``whatsapp_sent``) and
            in all (``messages_sent``), ``skipped`` (messages), what the delivery policy did
            (``deferred``: quiet-hours deferrals, ``quiet_hours_skipped``,
            ``frequency_capped``, ``queued``: sent messages that waited in a rate-limit
            queue; all 0 without a policy), ``suppressed`` (trigger events that did not enter), the operations (``webhooks_called``, ``list_adds``,
            ``list_removes``, ``contact_updates``, ``contact_deletes``), and the costs in
            :attr:`currency`: ``message_cost``, ``operation_cost`` (webhooks) and ``cost``
            (both). Counts are int64, costs float64. With a response model or a flow goal
            (docs/design.md §10), then the outcomes: ``delivered``, ``bounced``, ``opened``
            (human), ``machine_opened``, ``clicked``, ``unsubscribed`` (rows of
            :attr:`responses`), ``converted`` (rows of :attr:`conversions`) and ``revenue``
            (their known values summed); the rates ``delivery_rate``, ``open_rate`` (human
            opens of delivered emails and WhatsApp messages), ``click_rate``,
            ``unsubscribe_rate``, ``conversion_rate`` and ``cost_per_conversion``, as
            :func:`segsim.analysis.outcome_rates` defines them (float64, NaN where the
            denominator is 0); and ``uplift``, ``uplift_low``, ``uplift_high``: the uplift
            over the holdout with its 95% normal interval (:func:`segsim.analysis.uplift`),
            NaN for a flow without a goal or not covered by the holdout
            (docs/design.md §10.4–10.5). Over replications the long format has a row per
            outcome count, rate and ``uplift`` (its ``low`` and ``high``: where the uplift
            falls in 95% of replications; no ``uplift_low``/``uplift_high`` rows).
        """
        flows = self._flows()
        outcomes = self._outcome_metrics()
        if self.replication_count == 1:
            table = _flow_summary(self.runs, self.actions, self.suppressed, self.steps, flows)
            if not outcomes:
                return table
            table = _with_outcomes(table, self.actions, self.responses, self.conversions)
            return _with_uplift(table, self._uplift())
        from segsim.experiments import interval_table

        per_uplift = self._uplift() if outcomes else None
        per = []
        for r in range(self.replication_count):
            one = self.replication(r)
            table = _flow_summary(one.runs, one.actions, one.suppressed, one.steps, flows)
            if outcomes:
                table = _with_outcomes(table, one.actions, one.responses, one.conversions)
                table = _with_uplift(table, per_uplift, replication=r)
            table.insert(0, "replication", r)
            per.append(table)
        metrics = [*SUMMARY_METRICS, *outcomes]
        return interval_table(pd.concat(per, ignore_index=True), metrics, by=["flow"])

    def _uplift(self) -> pd.DataFrame | None:
        """The uplift over the holdout of the flows it can be measured for (a goal, covered
        by the holdout): :func:`segsim.analysis.uplift` with one replication,
        :func:`segsim.analysis.uplift_per_replication` with more; None when there is none
        (no scenario recorded, no holdout, no flow with a goal it covers)."""
        # an analysis hook, imported lazily: the uplift is defined once, in segsim.analysis
        # (it redraws the engine's holdout draw), which sits above segsim.result
        from segsim.analysis._uplift import uplift, uplift_flows, uplift_per_replication

        if self.scenario is None or not uplift_flows(self.scenario):
            return None
        return uplift(self) if self.replication_count == 1 else uplift_per_replication(self)

    def _outcome_metrics(self) -> list[str]:
        """The outcome metrics of :meth:`summary` over replications: with a response model
        or a goal, or when the frames hold outcomes (a result read without its scenario)."""
        scenario = self.scenario
        modelled = scenario is not None and (
            getattr(scenario, "responses", None) is not None
            or any(getattr(f, "goal", None) is not None for f in scenario.flows)
        )
        if modelled or len(self.responses) or len(self.conversions):
            return [*OUTCOME_COLUMNS, *OUTCOME_RATES, "uplift"]
        return []

    def explain(self, contact_id: Any) -> pd.DataFrame:
        """One contact's story in time order: why did it get (or not get) each message?

        Returns ``time, what, flow, run_id, step_id, detail``: first the contact's
        situation at ``start`` (attributes, lists, segments it was already a member of —
        not entrants unless ``include_existing_members``) and a note per flow it never
        triggered, then its changes in the window, segment events, run entries and ends,
        steps, actions (a skipped send says why) and suppressed trigger events (with what
        the reason means). Times in ``detail`` are ISO 8601; a missing value is ``None``
        (``<NA>`` in the nullable ``run_id``). See :mod:`segsim.explain`.

        Raises :class:`~segsim.errors.SegsimError` when the contact is unknown, suggesting
        a close id (``42`` for ``"42"``).

        Examples
        --------
        >>> result.explain(42).query("flow == 'Welcome'")
                               time ...
        """
        from segsim.explain import explain

        self._require_one("explain(contact_id)")
        return explain(self, contact_id)

    def to_parquet(self, directory: str | Path) -> Path:
        """Write the five frames as ``<directory>/<frame>.parquet``; returns the directory."""
        path = Path(directory)
        path.mkdir(parents=True, exist_ok=True)
        for name, frame in self.frames.items():
            frame.to_parquet(path / f"{name}.parquet", index=False)
        return path

    def to_csv(self, directory: str | Path) -> Path:
        """Write the five frames as ``<directory>/<frame>.csv``; returns the directory.

        One header row of column names; times in ISO 8601, UTC (``2026-01-05T09:30:00Z``);
        missing values empty. Parquet (:meth:`to_parquet`) keeps the dtypes; CSV is for
        spreadsheets and tools that read nothing else.
        """
        path = Path(directory)
        path.mkdir(parents=True, exist_ok=True)
        for name, frame in self.frames.items():
            shown = frame.copy()
            for column in shown.columns:
                if isinstance(shown[column].dtype, pd.DatetimeTZDtype):
                    text = shown[column].dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
                    shown[column] = text.str.replace(".000000Z", "Z", regex=False)
            shown.to_csv(path / f"{name}.csv", index=False)
        return path

    def report(self, *, freq: str = "W") -> Any:
        """The projected-sends report (HTML in Jupyter; ``to_html(path)``, ``to_markdown()``)."""
        from segsim.report import build_report

        self._require_one("report()")
        return build_report(self, freq=freq)

    def flow(self, name: str) -> FlowInResult:
        """A flow of this result: shown in Jupyter as its diagram with run counts per step."""
        self._require_one(f"flow({name!r})")
        flows = {f.name: f for f in getattr(self.scenario, "flows", ())}
        if name not in flows:
            from segsim.errors import ScenarioError

            known = ", ".join(repr(n) for n in flows) or "none recorded"
            raise ScenarioError(f"no flow {name!r} in this result (flows: {known})")
        return FlowInResult(flows[name], self)

    # -- display --------------------------------------------------------------------------------

    def __repr__(self) -> str:
        window = ""
        if self.window is not None:
            start, end = self.window
            window = f" {start:%Y-%m-%d} → {end:%Y-%m-%d},"
        actions = self.actions
        is_message = actions["action"].isin(MESSAGE_ACTIONS)
        messages = int((is_message & (actions["status"] == "sent")).sum())
        operations = int((~is_message & actions["status"].isin(("sent", "applied"))).sum())
        count = self.replication_count
        if count > 1:
            return (
                f"<SimulationResult{window} {count} replications, {len(self.runs) / count:,.1f} "
                f"runs, {messages / count:,.1f} messages sent, {operations / count:,.1f} "
                "operations per replication>"
            )
        return (
            f"<SimulationResult{window} {len(self.runs):,} runs, {messages:,} messages sent, "
            f"{operations:,} operations, {len(self.suppressed):,} suppressed>"
        )

    def _repr_html_(self) -> str:
        from segsim.report import html_table  # a display hook: report is downstream

        table = self.summary() if self.replication_count == 1 else self.replications
        return f"<p><b>{html.escape(repr(self))}</b></p>" + html_table(
            table, currency=self.currency
        )


class FlowInResult:
    """A flow with the counts of one simulation: displays as one annotated diagram per
    version in force during the window (:func:`~segsim.diagram.versions_in_force`), each
    with what happened while it was in force.

    Attributes
    ----------
    versions : list of FlowVersion
        The versions in force, in time order (``flow``, ``start``, ``end``).
    flow : Flow
        The version in force at the window's start.
    """

    def __init__(self, flow: Any, result: SimulationResult) -> None:
        from segsim.diagram import versions_in_force

        self.result = result
        self.versions = versions_in_force(result.scenario, flow.name)
        self.flow = self.versions[0].flow

    def _version(self, version: int | None) -> Any:
        if version is None:
            return self.versions[0]
        for shown in self.versions:
            if shown.version == version:
                return shown
        from segsim.errors import ScenarioError

        known = ", ".join(str(v.version) for v in self.versions)
        raise ScenarioError(
            f"flow {self.flow.name!r} has no version {version!r} in force during the window "
            f"(versions in force: {known})"
        )

    def counts(self, *, version: int | None = None) -> pd.DataFrame:
        """Per step: runs that reached it and what happened there (one version, or all)."""
        from segsim.diagram import step_counts

        if version is not None:
            self._version(version)
        return step_counts(self.result, self.flow.name, version=version)

    def draw(self, *, version: int | None = None, ax: Any = None) -> Any:
        """Draw one version (default: the first in force) with its counts; returns the Axes."""
        from segsim.diagram import draw_flow

        shown = self._version(version)
        return draw_flow(shown.flow, counts=self.counts(version=shown.version), ax=ax)

    def svg(self, *, version: int | None = None) -> str:
        """One version's diagram (default: the first in force) as SVG text, with its counts."""
        from segsim.diagram import flow_svg

        shown = self._version(version)
        return flow_svg(
            shown.flow, counts=self.counts(version=shown.version), caption=shown.caption()
        )

    def _repr_html_(self) -> str:
        return "\n".join(
            f'<div style="overflow-x:auto">{self.svg(version=v.version)}</div>'
            for v in self.versions
        )

    def __repr__(self) -> str:
        versions = ", ".join(f"v{v.version}" for v in self.versions)
        return f"<flow {self.flow.name!r} ({versions}) in {self.result!r}>"


#: The metrics of :meth:`SimulationResult.summary`, after ``flow``, in order.
SUMMARY_METRICS: list[str] = [
    "runs",
    "contacts_entered",
    *END_REASONS,
    *SENT_COLUMNS.values(),
    "messages_sent",
    "skipped",
    *POLICY_COLUMNS,
    "suppressed",
    *OPERATION_COLUMNS.values(),
    "message_cost",
    "operation_cost",
    "cost",
]
_COSTS = ("message_cost", "operation_cost", "cost")


def _with_outcomes(
    table: pd.DataFrame, actions: pd.DataFrame, responses: pd.DataFrame, conversions: pd.DataFrame
) -> pd.DataFrame:
    """``table`` (one row per flow) with the outcome counts and rates of one replication's
    frames, as :func:`segsim.analysis.outcome_rates` defines them (one definition:
    :mod:`segsim._internal.outcomes`)."""
    table = table.copy()
    counts, openable = outcome_counts(actions, responses, conversions, table["flow"].tolist())
    counts = with_rates(counts, openable)
    for column in (*OUTCOME_COLUMNS, *OUTCOME_RATES):
        table[column] = counts[column].to_numpy()
    return table


#: The uplift columns of :meth:`SimulationResult.summary` (one replication).
UPLIFT_SUMMARY: tuple[str, ...] = ("uplift", "uplift_low", "uplift_high")


def _with_uplift(
    table: pd.DataFrame, uplift: pd.DataFrame | None, *, replication: int | None = None
) -> pd.DataFrame:
    """``table`` with the uplift over the holdout per flow, NaN for a flow it is not
    measured for: ``uplift, uplift_low, uplift_high`` from :func:`segsim.analysis.uplift`,
    or (``replication`` given) ``uplift`` of that replication from
    :func:`segsim.analysis.uplift_per_replication`."""
    columns = UPLIFT_SUMMARY if replication is None else UPLIFT_SUMMARY[:1]
    if uplift is not None and replication is not None:
        uplift = uplift[uplift["replication"] == replication]
    for column in columns:
        values = {} if uplift is None else dict(zip(uplift["flow"], uplift[column], strict=True))
        table[column] = table["flow"].map(values).astype("float64")
    return table


def _summary_dtypes(columns: list[str]) -> dict[str, str]:
    return {c: "float64" if c in _COSTS else "int64" for c in columns if c != "flow"}


def _flow_summary(
    runs_all: pd.DataFrame,
    actions_all: pd.DataFrame,
    suppressed_all: pd.DataFrame,
    steps_all: pd.DataFrame,
    flows: list[str],
) -> pd.DataFrame:
    """:meth:`SimulationResult.summary` of one replication's frames."""
    # quiet-hours deferrals per flow, counted once (the steps frame is the largest)
    deferred = steps_all.loc[steps_all["outcome"] == "deferred", "flow"].value_counts()
    rows = []
    for flow in flows:
        runs = runs_all[runs_all["flow"] == flow]
        actions = actions_all[actions_all["flow"] == flow]
        messages = actions[actions["action"].isin(MESSAGE_ACTIONS)]
        sent = messages[messages["status"] == "sent"]
        operations = actions[~actions["action"].isin(MESSAGE_ACTIONS)]
        done = operations[operations["status"].isin(("sent", "applied"))]
        ends = runs["end_reason"].value_counts()
        row: dict[str, Any] = {
            "flow": flow,
            "runs": len(runs),
            "contacts_entered": runs["contact_id"].nunique(),
            **{reason: int(ends.get(reason, 0)) for reason in END_REASONS},
        }
        for channel in MESSAGE_CHANNELS:
            row[SENT_COLUMNS[channel]] = int((sent["channel"] == channel).sum())
        row["messages_sent"] = len(sent)
        row["skipped"] = int((messages["status"] == "skipped").sum())
        # what the delivery policy did (docs/semantics.md, Delivery policies)
        row["deferred"] = int(deferred.get(flow, 0))
        row["quiet_hours_skipped"] = int((messages["reason"] == "quiet_hours").sum())
        row["frequency_capped"] = int((messages["reason"] == "frequency_cap").sum())
        row["queued"] = int((sent["queued"] > 0).sum()) if "queued" in sent else 0
        row["suppressed"] = int((suppressed_all["flow"] == flow).sum())
        kinds = done["action"].value_counts()
        for action, column in OPERATION_COLUMNS.items():
            row[column] = int(kinds.get(action, 0))
        row["message_cost"] = float(messages["cost"].sum())
        row["operation_cost"] = float(operations["cost"].sum())
        row["cost"] = row["message_cost"] + row["operation_cost"]
        rows.append(row)
    columns = ["flow", *SUMMARY_METRICS]
    table = pd.DataFrame(rows, columns=columns)
    return table.astype(_summary_dtypes(columns))
