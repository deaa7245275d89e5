"""Comparing flow variants on the same data: :func:`compare` and :class:`Comparison`.

Each variant is the scenario with one change (a flow replaced, a setting changed), simulated
on the same store with the same seed, so every difference in the results comes from the
change. The first variant is the baseline: :meth:`Comparison.summary` gives side-by-side
totals with deltas against it, :meth:`Comparison.contact_differences` the contacts whose
story changed and where it first diverged.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from segsim.analysis import CHANNELS, sends_by_variant
from segsim.plots import plot_compare_sends
from segsim.report import (
    Report,
    Section,
    _flows_table,
    _scenario_sections,
    headline_numbers,
    html_table,
)

__all__ = ["Comparison", "compare"]

#: Rows of :meth:`Comparison.summary`, in order.
SUMMARY_METRICS = (
    "runs",
    "contacts_entered",
    "contacts_reached",
    *(f"{channel}_sent" for channel in CHANNELS),
    "skipped",
    "suppressed",
    "cost",
)


def _variant_scenario(scenario: Any, name: str, variant: Any) -> Any:
    """The scenario a variant stands for: a flow swapped in, a scenario, or a function's."""
    from segsim.flows import Flow
    from segsim.scenario import Scenario

    if callable(variant) and not isinstance(variant, (Flow, Scenario)):
        variant = variant(scenario)
    if isinstance(variant, Flow):
        return scenario.with_flow(variant)
    if isinstance(variant, Scenario):
        if variant.seed != scenario.seed:
            raise ValueError(
                f"variant {name!r} has seed {variant.seed}, the scenario {scenario.seed}: "
                "compare runs every variant with the same seed, so that only the change differs"
            )
        return variant
    raise TypeError(
        f"variant {name!r} must be a Flow (replacing the scenario's flow of that name), a "
        "Scenario (e.g. scenario.with_settings(...)) or a function scenario -> Flow or "
        f"Scenario; got {type(variant).__name__}"
    )


def compare(
    scenario: Any,
    variants: Mapping[str, Any],
    *,
    progress: bool = False,
    shards: int = 1,
    executor: Any = None,
) -> Comparison:
    """Simulate variants of a scenario on the same data and seed, side by side.

    Parameters
    ----------
    scenario : Scenario
        The data, segments, flows, window and seed every variant shares.
    variants : mapping of str to Flow, Scenario or callable
        Variant name → what it changes. A :class:`~segsim.flows.Flow` replaces the
        scenario's flow of the same name (``scenario.with_flow(flow)``); a
        :class:`~segsim.scenario.Scenario` is used as is (it must keep the seed), e.g.
        ``scenario.with_settings("Welcome", reentry_mode="event")``; a callable is called
        with ``scenario`` and returns either. The first variant is the baseline.
    progress : bool, default False
        Show a progress bar for each simulation.
    shards, executor
        Passed to :func:`segsim.simulate` for every variant: each variant's contacts fan out
        on the same local processes or Dask cluster, with frames identical to a plain run.

    Returns
    -------
    Comparison

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
    scenarios = {
        str(name): _variant_scenario(scenario, str(name), variant)
        for name, variant in variants.items()
    }
    results = {
        name: simulate(s, progress=progress, shards=shards, executor=executor)
        for name, s in scenarios.items()
    }
    return Comparison(results)


class Comparison:
    """Results of several variants of one scenario; the first is the baseline.

    Parameters
    ----------
    results : mapping of str to SimulationResult
        Variant name → its result, baseline first.

    Attributes
    ----------
    results : dict of str to SimulationResult
    baseline : str
        The first variant's name.
    """

    def __init__(self, results: Mapping[str, Any]) -> None:
        if not results:
            raise ValueError("a comparison needs at least one result")
        self.results: dict[str, Any] = dict(results)
        self.baseline: str = next(iter(self.results))
        self._numbers: dict[str, dict[str, Any]] | None = None
        self._differences: pd.DataFrame | None = None

    @property
    def variants(self) -> list[str]:
        """Variant names, baseline first."""
        return list(self.results)

    def _headlines(self) -> dict[str, dict[str, Any]]:
        if self._numbers is None:
            self._numbers = {name: headline_numbers(r) for name, r in self.results.items()}
        return self._numbers

    # -- tables ------------------------------------------------------------------------------

    def summary(self) -> pd.DataFrame:
        """Totals per variant side by side, with deltas against the baseline.

        Returns
        -------
        DataFrame
            One row per metric (index ``metric``): ``runs``, ``contacts_entered`` (distinct
            contacts with a run), ``contacts_reached`` (distinct contacts sent a message),
            ``email_sent``, ``sms_sent``, ``whatsapp_sent``, ``webhook_sent``, ``skipped``,
            ``suppressed``, ``cost``. One column per variant (its value), and for each
            variant after the baseline ``<variant>_delta`` (variant − baseline) and
            ``<variant>_change`` (delta / baseline, 0.25 = +25 %; NaN when the baseline
            is 0). All float64.
        """
        numbers = self._headlines()
        source = {
            "runs": "runs",
            "contacts_entered": "contacts_entered",
            "contacts_reached": "reach",
            **{f"{c}_sent": f"sent_{c}" for c in CHANNELS},
            "skipped": "skipped",
            "suppressed": "suppressed",
            "cost": "cost",
        }
        table = pd.DataFrame(
            {
                name: [float(numbers[name][source[m]]) for m in SUMMARY_METRICS]
                for name in self.variants
            },
            index=pd.Index(SUMMARY_METRICS, name="metric"),
        )
        base = table[self.baseline]
        for name in self.variants[1:]:
            delta = table[name] - base
            table[f"{name}_delta"] = delta
            table[f"{name}_change"] = delta / base.replace(0.0, np.nan)
        return table

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
            (messages sent to the contact in each), ``delta``, ``diverges_at`` (time of the
            first differing step, the earlier of the two), ``diverges_flow``,
            ``diverges_step`` (step id there), ``baseline_step`` and ``variant_step`` (what
            each did there, ``"flow/step_id: outcome"``, None when its story had ended).
        """
        if self._differences is None:
            self._differences = self._compute_differences()
        return self._differences.copy()

    def _compute_differences(self) -> pd.DataFrame:
        base = self.results[self.baseline]
        base_stories = _stories(base.steps)
        base_messages = _messages(base.actions)
        rows = []
        for name in self.variants[1:]:
            result = self.results[name]
            stories = _stories(result.steps)
            messages = _messages(result.actions)
            for contact in _ordered(set(base_stories) | set(stories)):
                ours = base_stories.get(contact, _EMPTY)
                theirs = stories.get(contact, _EMPTY)
                if ours.keys == theirs.keys:
                    continue
                i = next(
                    (
                        k
                        for k, (a, b) in enumerate(zip(ours.keys, theirs.keys, strict=False))
                        if a != b
                    ),
                    min(len(ours.keys), len(theirs.keys)),
                )
                times = [s.times[i] for s in (ours, theirs) if i < len(s.keys)]
                first = ours if i < len(ours.keys) else theirs
                n_base = int(base_messages.get(contact, 0))
                n_variant = int(messages.get(contact, 0))
                rows.append(
                    (
                        contact,
                        name,
                        n_base,
                        n_variant,
                        n_variant - n_base,
                        min(times),
                        first.keys[i][0],
                        first.keys[i][1],
                        _describe(ours, i),
                        _describe(theirs, i),
                    )
                )
        columns = [
            "contact_id",
            "variant",
            "baseline_messages",
            "messages",
            "delta",
            "diverges_at",
            "diverges_flow",
            "diverges_step",
            "baseline_step",
            "variant_step",
        ]
        frame = pd.DataFrame(rows, columns=columns)
        id_dtype = base.steps["contact_id"].dtype
        frame["contact_id"] = frame["contact_id"].astype(id_dtype if len(frame) else object)
        for column in ("baseline_messages", "messages", "delta"):
            frame[column] = frame[column].astype("int64")
        frame["diverges_at"] = pd.to_datetime(frame["diverges_at"], utc=True).astype(
            "datetime64[us, UTC]"
        )
        for column in (
            "variant",
            "diverges_flow",
            "diverges_step",
            "baseline_step",
            "variant_step",
        ):
            values = frame[column].astype(object)
            frame[column] = values.where(values.notna(), None)  # pandas 3 would say NaN
        return frame

    # -- charts and reports ----------------------------------------------------------------

    def sends(self) -> pd.DataFrame:
        """Messages per variant and channel (:func:`~segsim.analysis.sends_by_variant`)."""
        return sends_by_variant({name: r.actions for name, r in self.results.items()})

    def plot(self, ax: Axes | None = None) -> Axes:
        """Messages sent per variant and channel, grouped bars; returns the Axes."""
        return plot_compare_sends(self.sends(), ax=ax)

    def report(self) -> Report:
        """The comparison as a :class:`~segsim.report.Report` (HTML, Markdown, Jupyter)."""
        summary = self.summary()
        differences = self.contact_differences()
        sections = _scenario_sections(self.results[self.baseline])
        scenarios = {name: r.scenario for name, r in self.results.items()}
        if all(s is not None for s in scenarios.values()):
            # each variant's own flows and settings: that is where they differ
            flows = pd.concat(
                [_flows_table(s).assign(variant=name) for name, s in scenarios.items()],
                ignore_index=True,
            )
            flows.insert(0, "variant", flows.pop("variant"))
            for section in sections:
                if section.key == "flows":
                    section.table = flows
                    section.text = "Each variant's flows: versions, trigger and settings."
        variants = ", ".join(repr(v) for v in self.variants[1:]) or "none"
        sections.append(
            Section(
                "summary",
                "Variants side by side",
                f"Totals per variant; deltas and changes are against the baseline "
                f"{self.baseline!r} (variants: {variants}).",
                table=summary,
            )
        )
        figure = Figure(figsize=(8.0, 3.6), layout="constrained")
        self.plot(ax=figure.add_subplot())
        sections.append(
            Section(
                "sends",
                "Messages sent by variant",
                "Messages sent per variant and channel.",
                table=self.sends(),
                figure=figure,
            )
        )
        per_flow = pd.concat(
            [r.summary().assign(variant=name) for name, r in self.results.items()],
            ignore_index=True,
        )
        per_flow.insert(0, "variant", per_flow.pop("variant"))
        sections.append(
            Section(
                "per_flow",
                "Per flow and variant",
                "Each variant's per-flow summary.",
                table=per_flow,
            )
        )
        shown = differences.head(_SHOWN_CONTACTS)
        text = f"{len(differences):,} contact stories differ from the baseline"
        if len(differences) > len(shown):
            text += f"; the first {len(shown):,} are shown (all: Comparison.contact_differences())"
        sections.append(
            Section("contact_differences", "Contacts that differ", text + ".", table=shown)
        )
        numbers = {
            f"{name}.{key}": value
            for name, figures in self._headlines().items()
            for key, value in figures.items()
        }
        title = f"Comparison: {' vs '.join(self.variants)} (baseline {self.baseline})"
        return Report(title, sections, numbers)

    # -- display ---------------------------------------------------------------------------

    def __repr__(self) -> str:
        numbers = self._headlines()
        base = numbers[self.baseline]["sent_total"]
        parts = [f"{self.baseline!r} (baseline) {base:,} messages"]
        for name in self.variants[1:]:
            sent = numbers[name]["sent_total"]
            change = f" ({(sent - base) / base:+.1%})" if base else ""
            parts.append(f"{name!r} {sent:,}{change}")
        return f"<Comparison {', '.join(parts)}>"

    def _repr_html_(self) -> str:
        return f"<div><p><b>{html.escape(repr(self))}</b></p>{html_table(self.summary())}</div>"


_SHOWN_CONTACTS = 50


class _Story:
    """One contact's executed steps: comparable keys and their times."""

    __slots__ = ("keys", "times")

    def __init__(self, keys: list[tuple[Any, Any, Any]], times: list[Any]) -> None:
        self.keys = keys
        self.times = times


_EMPTY = _Story([], [])


def _stories(steps: pd.DataFrame) -> dict[Any, _Story]:
    """Every contact's steps in time order (ties in the frame's order, the engine's)."""
    ordered = steps.sort_values("time", kind="stable")
    stories: dict[Any, _Story] = {}
    columns = (ordered[c].tolist() for c in ("contact_id", "time", "flow", "step_id", "outcome"))
    for contact, time, flow, step_id, outcome in zip(*columns, strict=True):
        story = stories.get(contact)
        if story is None:
            story = stories[contact] = _Story([], [])
        story.keys.append((flow, step_id, outcome))
        story.times.append(time)
    return stories


def _messages(actions: pd.DataFrame) -> dict[Any, int]:
    from segsim.analysis import messages_per_contact

    counts = messages_per_contact(actions)
    return dict(zip(counts["contact_id"], counts["messages"], strict=True))


def _describe(story: _Story, i: int) -> str | None:
    if i >= len(story.keys):
        return None
    flow, step_id, outcome = story.keys[i]
    return f"{flow}/{step_id}: {outcome}"


def _ordered(contacts: set[Any]) -> list[Any]:
    return sorted(
        contacts, key=lambda c: (0, c, "") if isinstance(c, (int, np.integer)) else (1, 0, str(c))
    )
