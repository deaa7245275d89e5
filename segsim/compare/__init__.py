"""Comparing flow variants on the same data: :func:`compare` and :class:`Comparison`.

Each variant is the scenario with one change (a flow replaced, a setting changed), simulated
on the same store with the same seed, so every difference in the results comes from the
change. The first variant is the baseline: :meth:`Comparison.summary` gives side-by-side
totals with deltas against it, :meth:`Comparison.contact_differences` the contacts whose
story changed and where it first diverged. Messages are email, SMS and WhatsApp only;
webhooks and list or contact changes are operations, compared on their own rows.

**A variant and the scheduled edits of its flow** (:func:`apply_variant`, the one rule for
:func:`compare`, ``segsim compare`` and the :class:`~segsim.widgets.Explorer`): a variant
replaces the flow, and every version a scheduled :class:`~segsim.flows.Edit` brings in
becomes *that version with the variant's changes on top*. What the variant changes is its
difference from the scenario's flow: the trigger, each activation setting, each step's
fields (by step id), the steps it removes, adds or moves. Everything else of an edited
version — what the edit changed — is kept. Where the edit and the variant change the same
thing, the variant's wins: the variant is what is being compared. A step the edit removed
stays removed. :func:`compare` warns (:class:`ScheduledEditWarning`) when a variant's flow
has scheduled edits, naming them, since the variant then runs as more than one version.
"""

from __future__ import annotations

import html
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from segsim._internal.formatting import DEFAULT_CURRENCY, format_frame
from segsim._internal.periods import period_freq
from segsim._internal.vocab import OPERATION_COLUMNS, POLICY_COLUMNS, SENT_COLUMNS
from segsim.analysis import operation_counts, sends_by_period, sends_by_variant
from segsim.compare._differences import contact_differences_frame
from segsim.compare._outcomes import (
    is_float_metric,
    outcome_metrics,
    outcome_sections,
    outcome_values,
)
from segsim.compare._variants import _variant_scenario, apply_variant, scenario_differences
from segsim.plots import plot_compare_sends, plot_intervals, plot_sends
from segsim.report import (
    Report,
    Section,
    flows_table,
    has_policy,
    headline_numbers,
    html_table,
    period_table,
    policy_numbers,
    scenario_sections,
)

__all__ = [
    "SUMMARY_METRICS",
    "Comparison",
    "ScheduledEditWarning",
    "apply_variant",
    "compare",
    "scenario_differences",
]

#: Rows of :meth:`Comparison.summary`, in order: the keys of the report's headline numbers.
SUMMARY_METRICS = (
    "runs",
    "contacts_entered",
    "contacts_reached",
    *SENT_COLUMNS.values(),
    "messages_sent",
    "skipped",
    "suppressed",
    *OPERATION_COLUMNS.values(),
    "operations",
    "message_cost",
    "operation_cost",
    "cost",
)
_COST_METRICS = ("message_cost", "operation_cost", "cost")
#: The metrics the interval chart of a comparison over replications shows (messages).
_INTERVAL_METRICS = ("contacts_reached", *SENT_COLUMNS.values(), "messages_sent", "skipped")


class ScheduledEditWarning(UserWarning):
    """A compared variant's flow is edited by the schedule: see :func:`apply_variant`."""


def compare(
    scenario: Any,
    variants: Mapping[str, Any],
    *,
    progress: bool = False,
    shards: int | str = 1,
    executor: Any = None,
    replications: int = 1,
) -> Comparison:
    """Simulate variants of a scenario on the same data and seed, side by side.

    Parameters
    ----------
    scenario : Scenario
        The data, segments, flows, window and seed every variant shares.
    variants : mapping of str to Flow, Scenario or callable
        Variant name → what it changes. A :class:`~segsim.flows.Flow` replaces the
        scenario's flow of the same name by :func:`apply_variant` — also in the versions
        the schedule's edits of that flow bring in (the variant's changes on top of each;
        a :class:`ScheduledEditWarning` says so). A :class:`~segsim.scenario.Scenario` is
        used as is; it must keep the data, window and seed (else ``ValueError`` naming what
        differs), e.g. ``scenario.with_settings("Welcome", reentry_mode="event")``. A
        callable is called with ``scenario`` and returns either. The first variant is the
        baseline.
    progress : bool, default False
        Show a progress bar for each simulation.
    shards, executor
        Passed to :func:`segsim.simulate` for every variant: each variant's contacts fan out
        on the same local processes or Dask cluster, with frames identical to a plain run.
    replications : int, default 1
        Simulate every variant this many times (docs/design.md §9). Replication ``r`` of
        every variant makes the same draws (common random numbers: a split step or a
        holdout keyed alike assigns each contact alike), so a difference comes from the
        variant. With R > 1, :meth:`Comparison.summary` gives each metric's mean and 95%
        interval per variant, the paired deltas with their intervals and the probability
        that the variant is higher (:meth:`Comparison.deltas`).

    Returns
    -------
    Comparison
        Its :attr:`~Comparison.warnings` list what was warned about.

    Examples
    --------
    >>> cmp = compare(scenario, {"A": flow, "B": flow_b})
    >>> cmp.summary()
                           A       B  B_delta  B_change
    metric
    runs  ...
    """
    from segsim.engine import simulate

    if not isinstance(variants, Mapping) or not variants:
        raise ValueError("variants must be a non-empty mapping: {name: Flow | Scenario | callable}")
    scenarios, notes = {}, []
    for name, variant in variants.items():
        scenarios[str(name)], warned = _variant_scenario(scenario, str(name), variant)
        for note in warned:
            warnings.warn(note, ScheduledEditWarning, stacklevel=2)
        notes += warned
    results = {
        name: simulate(
            s, progress=progress, shards=shards, executor=executor, replications=replications
        )
        for name, s in scenarios.items()
    }
    return Comparison(results, warnings=notes)


class Comparison:
    """Results of several variants of one scenario; the first is the baseline.

    Parameters
    ----------
    results : mapping of str to SimulationResult
        Variant name → its result, baseline first.
    warnings : sequence of str, optional
        What the comparison must say before its numbers (from :func:`compare`, or
        ``segsim compare --allow-different``); shown first in reports and displays.

    Attributes
    ----------
    results : dict of str to SimulationResult
    baseline : str
        The first variant's name.
    warnings : list of str
    currency : str
        The baseline's currency (``Channels.currency``), shown on every cost.
    """

    def __init__(self, results: Mapping[str, Any], *, warnings: Sequence[str] = ()) -> None:
        if not results:
            raise ValueError("a comparison needs at least one result")
        self.results: dict[str, Any] = dict(results)
        self.baseline: str = next(iter(self.results))
        self.warnings: list[str] = list(warnings)
        self.currency: str = getattr(self.results[self.baseline], "currency", DEFAULT_CURRENCY)
        self._numbers: dict[str, dict[str, Any]] | None = None
        self._differences: pd.DataFrame | None = None
        self._outcomes: list[str] | None = None
        self._per: pd.DataFrame | None = None

    def _metrics(self) -> tuple[str, ...]:
        """The rows of the summary: :data:`SUMMARY_METRICS`, then the outcome rows when
        some variant has outcomes (docs/design.md §10)."""
        if self._outcomes is None:
            self._outcomes = outcome_metrics(self.results)
        return (*SUMMARY_METRICS, *self._outcomes)

    @property
    def variants(self) -> list[str]:
        """Variant names, baseline first."""
        return list(self.results)

    @property
    def replication_count(self) -> int:
        """Replications per variant (``compare(..., replications=R)``)."""
        return min(getattr(r, "replication_count", 1) for r in self.results.values())

    def replication(self, r: int) -> Comparison:
        """Replication ``r`` of every variant, as a comparison of single results (all the
        tables, charts and the report of one simulated history)."""
        results = {name: result.replication(r) for name, result in self.results.items()}
        return Comparison(results, warnings=self.warnings)

    @property
    def replications(self) -> pd.DataFrame:
        """One row per variant and replication: ``variant, replication`` and the metrics of
        :meth:`summary` (:data:`SUMMARY_METRICS`, then the outcome rows with outcomes)."""
        if self._per is None:
            metrics = self._metrics()
            outcomes = list(metrics[len(SUMMARY_METRICS) :])
            rows = []
            for name, result in self.results.items():
                values = outcome_values(result, outcomes)
                for r in range(self.replication_count):
                    numbers = headline_numbers(result.replication(r))
                    rows.append({"variant": name, "replication": r, **numbers, **values[r]})
            self._per = pd.DataFrame(rows, columns=["variant", "replication", *metrics])
        return self._per.copy()

    def deltas(self) -> pd.DataFrame:
        """Each variant against the baseline, paired replication by replication.

        Replication ``r`` of a variant and of the baseline share their draws, so their
        difference is the variant's effect on that simulated history. Returns one row per
        metric and variant after the baseline: ``metric, variant, mean, std, low, high``
        (of the difference variant − baseline over replications; ``low``/``high`` its 2.5%
        and 97.5% percentiles), ``p_higher`` (the share of replications where the variant
        is higher, ties counting half, among those where the metric is defined — a rate is
        NaN where its denominator is 0 —: P(variant beats baseline) where more is better, one
        minus it where less is, as for costs) and ``replications``.
        """
        from segsim.experiments import interval_table

        per = self.replications
        metrics = list(self._metrics())
        base = per[per["variant"] == self.baseline].set_index("replication")[metrics]
        parts = []
        for name in self.variants[1:]:
            mine = per[per["variant"] == name].set_index("replication")[metrics]
            delta = mine.astype("float64") - base.astype("float64")
            table = interval_table(delta.reset_index(), metrics)
            table.insert(1, "variant", name)
            # over the replications where the metric is defined (a rate may be NaN)
            known = delta.notna().sum().replace(0, np.nan)
            higher = ((delta > 0).sum() + 0.5 * (delta == 0).sum()) / known
            table.insert(
                len(table.columns) - 1, "p_higher", higher.reindex(table["metric"]).to_numpy()
            )
            parts.append(table)
        columns = ["metric", "variant", "mean", "std", "low", "high", "p_higher", "replications"]
        if not parts:
            return pd.DataFrame(columns=columns)
        order = {m: i for i, m in enumerate(metrics)}
        out = pd.concat(parts, ignore_index=True)
        out = out.sort_values(
            ["metric", "variant"],
            key=lambda c: (
                c.map(order)
                if c.name == "metric"
                else c.map({v: i for i, v in enumerate(self.variants)})
            ),
            kind="stable",
        )
        return out.reset_index(drop=True)[columns]

    def _interval_summary(self) -> pd.DataFrame:
        """:meth:`summary` with replications: per metric, each variant's mean and interval,
        then each later variant's paired delta, its interval and ``p_higher``."""
        from segsim.experiments import interval_table

        per = self.replications
        metrics = list(self._metrics())
        table = pd.DataFrame(index=pd.Index(metrics, name="metric"))
        for name in self.variants:
            stats = interval_table(per[per["variant"] == name], metrics).set_index("metric")
            for column in ("mean", "low", "high"):
                table[f"{name}_{column}"] = stats[column]
        deltas = self.deltas()
        for name in self.variants[1:]:
            mine = deltas[deltas["variant"] == name].set_index("metric")
            for column in ("mean", "low", "high"):
                table[f"{name}_delta_{column}"] = mine[column]
            table[f"{name}_p_higher"] = mine["p_higher"]
        return table

    def _require_one(self, what: str) -> None:
        if self.replication_count > 1:
            from segsim.errors import SegsimError

            raise SegsimError(
                f"this comparison holds {self.replication_count} replications per variant; "
                f"{what} reads one simulated history: call it on cmp.replication(r), or see "
                "cmp.summary() and cmp.deltas() for the intervals"
            )

    def _headlines(self) -> dict[str, dict[str, Any]]:
        if self._numbers is None:
            if self.replication_count > 1:  # the mean over replications
                metrics = list(self._metrics())
                per = self.replications.groupby("variant", sort=False)[metrics]
                means = per.mean()
                self._numbers = {
                    name: {m: float(means.loc[name, m]) for m in metrics} for name in self.variants
                }
            else:
                outcomes = list(self._metrics()[len(SUMMARY_METRICS) :])
                self._numbers = {
                    name: {**headline_numbers(r), **outcome_values(r, outcomes)[0]}
                    for name, r in self.results.items()
                }
                if self._policy_metrics():
                    for name, result in self.results.items():
                        self._numbers[name].update(policy_numbers(result))
        return self._numbers

    def _policy_metrics(self) -> bool:
        """Whether some variant applies a delivery policy (its rows then join the summary)."""
        return any(has_policy(result) for result in self.results.values())

    # -- tables ------------------------------------------------------------------------------

    def summary(self) -> pd.DataFrame:
        """Totals per variant side by side, with deltas against the baseline.

        Returns
        -------
        DataFrame
            One row per metric (index ``metric``, :data:`SUMMARY_METRICS`): ``runs``,
            ``contacts_entered`` (distinct contacts with a run), ``contacts_reached``
            (distinct contacts sent a message), ``email_sent``, ``sms_sent``,
            ``whatsapp_sent``, ``messages_sent`` (messages only), ``skipped``, — when some
            variant applies a delivery policy — ``deferred``, ``quiet_hours_skipped``,
            ``frequency_capped``, ``queued`` (see :meth:`SimulationResult.summary`),
            ``suppressed``, the operations ``webhooks_called``, ``list_adds``,
            ``list_removes``, ``contact_updates``, ``contact_deletes``, ``operations``, and
            the costs ``message_cost``, ``operation_cost``, ``cost`` (in :attr:`currency`);
            then, when some variant has a response model or a flow goal
            (docs/design.md §10), the outcomes in all flows ``delivered``, ``opened``
            (human), ``clicked``, ``unsubscribed``, ``converted``, ``revenue``,
            ``delivery_rate``, ``open_rate``, ``click_rate``, ``unsubscribe_rate``,
            ``conversion_rate``,
            ``cost_per_conversion`` (:func:`segsim.analysis.outcome_rates`; NaN where the
            denominator is 0), and for each flow every variant can measure the uplift of
            (a goal, covered by the holdout) ``uplift[<flow>]`` and
            ``revenue_uplift[<flow>]`` (:func:`segsim.analysis.uplift`).
            One column per variant (its value), and for each variant after the baseline
            ``<variant>_delta`` (variant − baseline) and ``<variant>_change`` (delta /
            baseline as a fraction, 0.25 = +25 %; NaN when the baseline is 0). Value and
            delta columns hold Python ints for counts and floats for costs (dtype object,
            so a count never shows as ``2769.000``); change columns are float64.

            With replications (``compare(..., replications=R)``, R > 1), one row per metric
            with, per variant, ``<variant>_mean``, ``<variant>_low``, ``<variant>_high``
            (the metric in 95% of replications), and for each variant after the baseline
            ``<variant>_delta_mean``, ``_delta_low``, ``_delta_high`` (the paired
            difference, see :meth:`deltas`) and ``<variant>_p_higher``; all float64.
        """
        if self.replication_count > 1:
            return self._interval_summary()
        numbers = self._headlines()
        metrics = self._metrics()
        if self._policy_metrics():
            # after "skipped": what the policy deferred, skipped and queued
            at = metrics.index("skipped") + 1
            metrics = (*metrics[:at], *POLICY_COLUMNS, *metrics[at:])
        table = pd.DataFrame(
            {
                name: pd.Series([_plain(numbers[name][m], m) for m in metrics], dtype=object)
                for name in self.variants
            }
        )
        table.index = pd.Index(metrics, name="metric")
        base = table[self.baseline]
        for name in self.variants[1:]:
            delta = pd.Series(
                [_plain(v - b, m) for v, b, m in zip(table[name], base, metrics, strict=True)],
                index=table.index,
                dtype=object,
            )
            table[f"{name}_delta"] = delta
            baseline = base.astype("float64").replace(0.0, np.nan)
            table[f"{name}_change"] = (delta.astype("float64") / baseline).astype("float64")
        return table

    def formatted_summary(self) -> pd.DataFrame:
        """:meth:`summary` as text, for people: metric names, integer counts, costs with the
        currency, changes as signed percents (the CLI prints this)."""
        return format_frame(self.summary(), currency=self.currency)

    def contact_differences(self) -> pd.DataFrame:
        """The contacts whose story differs between the baseline and another variant.

        A contact's story is its sequence of executed steps ``(flow, step_id, outcome)`` in
        time order (outcome: the action status, ``waiting``, ``then``/``otherwise``). Run
        ids and times are not compared, so a story that only shifts in time is the same.

        Returns
        -------
        DataFrame
            One row per differing contact and variant after the baseline, by variant then
            contact: ``contact_id``, ``variant``, ``baseline_messages``, ``messages``
            (messages — email, SMS, WhatsApp — sent to the contact in each), ``delta``,
            ``diverges_at`` (time of the first differing step, the earlier of the two),
            ``diverges_flow``, ``diverges_step`` (step id there), ``baseline_step`` and
            ``variant_step`` (what each did there, ``"flow/step_id: outcome"``, None when
            its story had ended).
        """
        self._require_one("contact_differences()")
        if self._differences is None:
            self._differences = self._compute_differences()
        return self._differences.copy()

    def _compute_differences(self) -> pd.DataFrame:
        return contact_differences_frame(self.results, self.baseline)

    # -- charts and reports ----------------------------------------------------------------

    def sends(self) -> pd.DataFrame:
        """Messages per variant and channel (:func:`~segsim.analysis.sends_by_variant`)."""
        self._require_one("sends()")
        return sends_by_variant({name: r.actions for name, r in self.results.items()})

    def operations(self) -> pd.DataFrame:
        """Operations per variant and kind: ``variant``, ``action``, ``operation``,
        ``operations``, ``cost`` (:func:`~segsim.analysis.operation_counts` of each)."""
        self._require_one("operations()")
        parts = [
            operation_counts(r.actions).assign(variant=name) for name, r in self.results.items()
        ]
        table = pd.concat(parts, ignore_index=True)
        return table[["variant", "action", "operation", "operations", "cost"]]

    def sends_by_period(self, *, freq: str = "W") -> pd.DataFrame:
        """Messages per period and variant: ``period``, ``period_end``, ``partial``,
        ``variant``, ``messages`` (the periods of :func:`~segsim.analysis.sends_by_period`,
        clipped to the baseline's window)."""
        self._require_one("sends_by_period()")
        key = period_freq(freq)
        window = getattr(self.results[self.baseline], "window", None)
        actions = pd.concat(
            [r.actions.assign(variant=name) for name, r in self.results.items()],
            ignore_index=True,
        )
        return sends_by_period(actions, freq=key, by="variant", window=window)

    def plot(self, ax: Axes | None = None) -> Axes:
        """Messages sent per variant and channel, grouped bars; returns the Axes.

        With replications, a forest chart instead: each later variant's paired difference
        from the baseline in the message metrics, mean and 95% interval
        (:func:`~segsim.plots.plot_intervals` of :meth:`deltas`).
        """
        if self.replication_count > 1:
            deltas = self.deltas()
            return plot_intervals(deltas[deltas["metric"].isin(_INTERVAL_METRICS)], ax=ax)
        return plot_compare_sends(self.sends(), ax=ax)

    def report(self, *, freq: str = "W") -> Report:
        """The comparison as a :class:`~segsim.report.Report` (HTML, Markdown, Jupyter).

        Sections, by key: ``warnings`` (when there are any), ``scenario``, ``flows`` (each
        variant's, when recorded), ``summary``, ``sends``, ``sends_per_period``,
        ``operations``, ``per_flow``, — with outcomes (docs/design.md §10) — ``outcomes``
        (per flow and variant) and, when every variant has a holdout covering a flow with a
        goal, ``uplift`` (per variant), then ``contact_differences``. With replications:
        ``summary`` (outcome rows included), ``intervals``, ``uplift``, ``replications``.
        """
        sections = []
        if self.warnings:
            sections.append(
                Section(
                    "warnings",
                    "Warnings",
                    " ".join(f"⚠ {w}." if not w.endswith(".") else f"⚠ {w}" for w in self.warnings),
                )
            )
        if self.replication_count > 1:
            return self._interval_report(sections)
        sections += self._scenario_sections()
        sections.append(self._summary_section())
        sections.append(self._sends_section())
        sections.append(self._period_section(freq))
        sections.append(self._operations_section())
        sections.append(self._per_flow_section())
        sections += outcome_sections(self)
        sections.append(self._differences_section())
        numbers = {
            f"{name}.{key}": value
            for name, figures in self._headlines().items()
            for key, value in figures.items()
        }
        title = f"Comparison: {' vs '.join(self.variants)} (baseline {self.baseline})"
        return Report(title, sections, numbers, currency=self.currency)

    def _interval_report(self, sections: list[Section]) -> Report:
        """The report of a comparison over replications: intervals, not single totals."""
        r = self.replication_count
        sections += self.replication(0)._scenario_sections()
        sections.append(
            Section(
                "summary",
                "Variants side by side, over replications",
                f"Mean and 95% interval (where the metric falls in 95% of {r} replications) "
                f"per variant; deltas are paired with the baseline {self.baseline!r} "
                "replication by replication (common random numbers), with the share of "
                f"replications in which the variant is higher. Costs in {self.currency}.",
                table=self.summary(),
            )
        )
        figure = Figure(figsize=(8.0, 3.8), layout="constrained")
        self.plot(ax=figure.add_subplot())
        sections.append(
            Section(
                "intervals",
                "Differences from the baseline",
                "Each variant's difference from the baseline in messages, mean (dot) and 95% "
                "interval (line) over replications; an interval across the dashed line at 0 "
                "is a difference the randomness alone could make.",
                table=self.deltas(),
                figure=figure,
            )
        )
        sections += outcome_sections(self)
        sections.append(
            Section(
                "replications",
                "Replications",
                "Every variant's totals in every replication.",
                table=self.replications,
            )
        )
        numbers = {
            f"{name}.{key}": value
            for name, figures in self._headlines().items()
            for key, value in figures.items()
        }
        title = (
            f"Comparison: {' vs '.join(self.variants)} (baseline {self.baseline}), {r} replications"
        )
        return Report(title, sections, numbers, currency=self.currency)

    def _scenario_sections(self) -> list[Section]:
        sections = scenario_sections(self.results[self.baseline])
        scenarios = {name: r.scenario for name, r in self.results.items()}
        if all(s is not None for s in scenarios.values()):
            # each variant's own flows and settings: that is where they differ
            flows = pd.concat(
                [flows_table(s).assign(variant=name) for name, s in scenarios.items()],
                ignore_index=True,
            )
            flows.insert(0, "variant", flows.pop("variant"))
            for section in sections:
                if section.key == "flows":
                    section.table = flows
                    section.text = "Each variant's flows: versions, trigger and settings."
        return sections

    def _summary_section(self) -> Section:
        variants = ", ".join(repr(v) for v in self.variants[1:]) or "none"
        return Section(
            "summary",
            "Variants side by side",
            f"Totals per variant; deltas and changes are against the baseline "
            f"{self.baseline!r} (variants: {variants}). Messages are email, SMS and WhatsApp; "
            f"operations (webhooks, list and contact changes) have their own rows. Costs in "
            f"{self.currency}.",
            table=self.summary(),
        )

    def _sends_section(self) -> Section:
        figure = Figure(figsize=(8.0, 3.6), layout="constrained")
        self.plot(ax=figure.add_subplot())
        return Section(
            "sends",
            "Messages sent by variant",
            "Messages sent per variant and channel.",
            table=self.sends(),
            figure=figure,
        )

    def _period_section(self, freq: str) -> Section:
        from segsim._internal.periods import freq_label

        long = self.sends_by_period(freq=freq)
        table = period_table(long, "variant", self.variants, period_freq(freq))
        table = table.drop(columns="total")
        figure = Figure(figsize=(8.0, 3.6), layout="constrained")
        plot_sends(long, by="variant", stacked=False, ax=figure.add_subplot())
        return Section(
            "sends_per_period",
            "Messages per period and variant",
            f"Messages sent per {freq_label(freq)}, UTC, per variant; the first and last "
            "periods are cut by the window where they are flagged partial.",
            table=table,
            figure=figure,
        )

    def _operations_section(self) -> Section:
        table = self.operations()
        wide = table.pivot_table(
            index="operation", columns="variant", values="operations", aggfunc="sum", sort=False
        ).reindex(columns=self.variants)
        wide = wide.astype("int64").reset_index()
        return Section(
            "operations",
            "Operations by variant",
            "Webhooks called, list adds and removes, contact updates and deletes per variant: "
            "operations, not messages.",
            table=wide,
        )

    def _per_flow_section(self) -> Section:
        columns = [
            "flow",
            "runs",
            "email_sent",
            "sms_sent",
            "whatsapp_sent",
            "messages_sent",
            "skipped",
            "operations",
            "cost",
        ]
        parts = []
        for name, result in self.results.items():
            summary = result.summary()
            summary["operations"] = summary[list(OPERATION_COLUMNS.values())].sum(axis=1)
            parts.append(summary[columns].assign(variant=name))
        per_flow = pd.concat(parts, ignore_index=True)
        per_flow.insert(0, "variant", per_flow.pop("variant"))
        return Section(
            "per_flow",
            "Per flow and variant",
            f"Each variant's runs, messages, operations and cost ({self.currency}) per flow.",
            table=per_flow,
        )

    def _differences_section(self) -> Section:
        differences = self.contact_differences()
        shown = differences.head(_SHOWN_CONTACTS)
        text = f"{len(differences):,} contact stories differ from the baseline"
        if len(differences) > len(shown):
            text += f"; the first {len(shown):,} are shown (all: Comparison.contact_differences())"
        return Section("contact_differences", "Contacts that differ", text + ".", table=shown)

    # -- display ---------------------------------------------------------------------------

    def __repr__(self) -> str:
        numbers = self._headlines()
        base = numbers[self.baseline]["messages_sent"]
        parts = [f"{self.baseline!r} (baseline) {base:,} messages"]
        for name in self.variants[1:]:
            sent = numbers[name]["messages_sent"]
            change = f" ({(sent - base) / base:+.1%})" if base else ""
            parts.append(f"{name!r} {sent:,}{change}")
        return f"<Comparison {', '.join(parts)}>"

    def _repr_html_(self) -> str:
        warned = "".join(f"<p><b>⚠ {html.escape(w)}</b></p>" for w in self.warnings)
        return (
            f"<div>{warned}<p><b>{html.escape(repr(self))}</b></p>"
            f"{html_table(self.summary(), currency=self.currency)}</div>"
        )


def _plain(value: Any, metric: str) -> Any:
    """A metric's value as a plain Python number: int for counts, float for costs, revenue,
    rates and uplifts."""
    return float(value) if metric in _COST_METRICS or is_float_metric(metric) else int(value)


_SHOWN_CONTACTS = 50
