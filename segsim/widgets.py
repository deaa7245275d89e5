"""An interactive explorer for notebooks: edit one flow's timing and activation settings and
see the simulation re-run.

:class:`Explorer` shows one control per :class:`~segsim.flows.Wait` step of a flow (its
duration, wherever it is in the tree), one per path weight of each
:class:`~segsim.flows.Split` (docs/design.md §9), the flow's re-entry settings (``allow_reentry``, ``reentry_mode``,
``reentry_wait``) and ``on_pause``, and a *compare with* choice. Every change builds a
variant of the flow, simulates the scenario with that variant, and redraws the summary
table, headline numbers (messages — email, SMS, WhatsApp — sent per channel, their cost and
reach; operations such as webhooks apart) and two charts (messages sent per week, the flow's
funnel), with a side-by-side table when a comparison is chosen. Invalid input (``"2
fortnights"`` in a duration box) is shown in the status line and the last good results
stay on screen.

A change re-simulates only what it can reach (:class:`~segsim.incremental.IncrementalSimulation`): the
contacts on which the explored flow has a trigger event, with every flow, while everyone
else keeps the rows of the first run; the segment transitions are computed once. The
frames are identical to a full :func:`segsim.simulate`.

When the schedule edits the explored flow (:class:`~segsim.flows.Edit`), the changes apply
to every version: each version keeps what its edit changed, with the explorer's changes on
top (a wait is changed in every version that has a step of that id). Only the controls moved
away from the flow's own values count as changes.

Where no widget front end runs (a notebook rendered to HTML or on a code host), the
explorer shows :meth:`Explorer.static_html`: its current headline, tables and charts.

ipywidgets is imported when an explorer is built, not when this module is imported.
"""

from __future__ import annotations

import base64
import html
import io
import time
from collections.abc import Mapping
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from segsim._internal.vocab import MESSAGE_ACTIONS, MESSAGE_CHANNELS, OPERATION_ACTIONS
from segsim._time import format_duration
from segsim.analysis import funnel
from segsim.compare import Comparison, apply_variant
from segsim.flows import Edit, Flow, Wait, iter_steps
from segsim.incremental import IncrementalSimulation
from segsim.plots import plot_funnel, plot_sends
from segsim.policies import DeliveryPolicy, FrequencyCap, QuietHours

__all__ = ["Explorer", "IncrementalSimulation"]

#: The settings controls, in display order.
SETTING_CONTROLS = ("allow_reentry", "reentry_mode", "reentry_wait", "on_pause")
#: The delivery policy controls, in display order: quiet hours for SMS and WhatsApp
#: (``"21:00-08:00"``, empty: none) and a cap of messages per contact per local calendar day
#: (0: none). They act on the scenario's policy, for every flow; see :meth:`Explorer.policy`.
POLICY_CONTROLS = ("quiet_hours", "daily_cap")
#: The comparison control's name in :attr:`Explorer.controls`.
COMPARE_CONTROL = "compare_with"
#: The name of the unchanged scenario in the *compare with* choice.
BASELINE = "baseline"
#: The explored variant's name in :attr:`Explorer.comparison`.
EXPLORED = "explored"

_CHANNEL_WORDS = {"email": "emails", "sms": "SMS", "whatsapp": "WhatsApp"}
_OPERATION_WORDS = {
    "webhook": "webhooks called",
    "add_to_list": "list additions",
    "remove_from_list": "list removals",
    "update_contact": "contact updates",
    "delete_contact": "contacts deleted",
}


def _ipywidgets() -> Any:
    try:
        import ipywidgets
    except ImportError as exc:  # pragma: no cover - ipywidgets is a dependency of segsim
        raise ImportError(
            "the segsim explorer needs ipywidgets (and a Jupyter front end to show it): "
            "pip install ipywidgets"
        ) from exc
    return ipywidgets


class Explorer:
    """Interactive what-if for one flow of a scenario, as an ipywidgets panel.

    Parameters
    ----------
    scenario : Scenario
        What to simulate; it is never modified.
    flow_name : str
        The flow whose waits and settings the controls edit.
    compare_with : None, "baseline", Flow or mapping of str to Flow, optional
        What the *compare with* choice starts on. ``"baseline"`` is the unchanged scenario;
        a flow (or several, by name) of the same name as ``flow_name`` adds those variants
        to the choice, and the first one is selected. The choice always offers ``None`` and
        ``"baseline"``.

    Attributes
    ----------
    widget : ipywidgets.VBox
        The panel; displaying the explorer displays it.
    controls : dict of str to widget
        ``<wait step id>`` (a Text per Wait step, e.g. ``"2d"``), ``"weight:<split id>:<path>"``
        (a number per path of each Split), ``"allow_reentry"``
        (Checkbox), ``"reentry_mode"`` (Dropdown), ``"reentry_wait"`` (Text), ``"on_pause"``
        (Dropdown), the delivery policy's ``"quiet_hours"`` (Text, ``"21:00-08:00"`` for
        SMS and WhatsApp, empty: none) and ``"daily_cap"`` (BoundedIntText, messages per
        contact per local calendar day, 0: none; see :meth:`policy`), and
        ``"compare_with"`` (Dropdown). Setting a ``value`` re-runs. A wait whose step id is
        one of these names is keyed ``"step:<id>"``.
    result : SimulationResult
        The latest good simulation.
    summary : DataFrame
        ``result.summary()`` (one row per flow of the scenario).
    comparison : DataFrame or None
        When a comparison is chosen, :meth:`Comparison.summary() <segsim.compare.Comparison.summary>`
        with the chosen variant as the baseline and the explored one as ``"explored"``:
        totals over every flow side by side, ``explored_delta`` and ``explored_change``.
    flow : Flow
        The variant of the explored flow the latest good result was simulated with (its
        first version; see :meth:`variant_scenario` for scheduled edits).
    error : str or None
        Why the latest change was refused (also shown in ``status``), or None.
    status : ipywidgets.Label
        What happened last: the run time, or the error.
    output : ipywidgets.Output
        Where the tables and charts are drawn.

    Examples
    --------
    >>> explorer = Explorer(scenario, "Welcome")
    >>> explorer                                     # the panel, in a notebook
    <Explorer of flow 'Welcome': <SimulationResult ...>>
    >>> explorer.controls["allow_reentry"].value = False   # re-runs
    >>> explorer.summary
          flow  runs  contacts_entered ...
    """

    def __init__(
        self,
        scenario: Any,
        flow_name: str,
        *,
        compare_with: str | Flow | Mapping[str, Flow] | None = None,
    ) -> None:
        widgets = _ipywidgets()
        flows = {flow.name: flow for flow in scenario.flows}
        if flow_name not in flows:
            known = ", ".join(map(repr, flows)) or "none"
            raise ValueError(f"the scenario has no flow {flow_name!r}; its flows: {known}")
        self.scenario = scenario
        self.flow_name = flow_name
        self.base_flow: Flow = flows[flow_name]
        self._variants: dict[str, Flow] = _variants(compare_with, flow_name)
        self._other_results: dict[str, Any] = {}
        #: simulates the variants, reusing the baseline where a change cannot reach
        self.simulation = IncrementalSimulation(scenario, flow_name)

        self.result: Any = None
        self.summary: pd.DataFrame | None = None
        self.comparison: pd.DataFrame | None = None
        self.flow: Flow = self.base_flow
        self.error: str | None = None

        self._waits: dict[str, str] = {}  # control name -> wait step id
        self.controls: dict[str, Any] = {}
        text_style = {"description_width": "initial"}
        for _, step in iter_steps(self.base_flow):
            if isinstance(step, Wait):
                name = step.id
                if name in (*SETTING_CONTROLS, *POLICY_CONTROLS, COMPARE_CONTROL):
                    name = f"step:{step.id}"
                self._waits[name] = step.id
                self.controls[name] = widgets.Text(
                    value=format_duration(step.duration),
                    description=f"wait {step.id}",
                    continuous_update=False,
                    style=text_style,
                    layout=widgets.Layout(width="200px"),
                )
        # one control per path weight of each Split (docs/design.md §9)
        self._weights: dict[str, tuple[str, str]] = {}  # control name -> (split id, path)
        for _, step in iter_steps(self.base_flow):
            if step.kind == "split":
                for path, weight in step.weights.items():
                    name = f"weight:{step.id}:{path}"
                    self._weights[name] = (step.id, path)
                    self.controls[name] = widgets.BoundedFloatText(
                        value=weight,
                        min=0.0,
                        max=1e12,
                        description=f"{step.id} {path}",
                        continuous_update=False,
                        style=text_style,
                        layout=widgets.Layout(width="180px"),
                    )
        settings = self.base_flow.settings
        self.controls["allow_reentry"] = widgets.Checkbox(
            value=settings.allow_reentry, description="allow re-entry", indent=False
        )
        self.controls["reentry_mode"] = widgets.Dropdown(
            options=["recheck", "event"],
            value=settings.reentry_mode,
            description="re-entry mode",
            style=text_style,
            layout=widgets.Layout(width="220px"),
        )
        self.controls["reentry_wait"] = widgets.Text(
            value=format_duration(settings.reentry_wait),
            description="re-entry wait",
            continuous_update=False,
            style=text_style,
            layout=widgets.Layout(width="200px"),
        )
        self.controls["on_pause"] = widgets.Dropdown(
            options=["hold", "drain", "exit"],
            value=settings.on_pause,
            description="on pause",
            style=text_style,
            layout=widgets.Layout(width="200px"),
        )
        quiet, daily = _policy_values(scenario.policy)
        self.controls["quiet_hours"] = widgets.Text(
            value=quiet,
            description="SMS/WhatsApp quiet hours",
            placeholder="21:00-08:00",
            continuous_update=False,
            style=text_style,
            layout=widgets.Layout(width="300px"),
        )
        self.controls["daily_cap"] = widgets.BoundedIntText(
            value=daily,
            min=0,
            max=1000,
            description="messages per contact per day (0: no cap)",
            style=text_style,
            layout=widgets.Layout(width="340px"),
        )
        options: list[tuple[str, str | None]] = [("None", None), (BASELINE, BASELINE)]
        options += [(name, name) for name in self._variants]
        if isinstance(compare_with, str):
            if compare_with != BASELINE:
                raise ValueError(
                    f"compare_with is None, {BASELINE!r}, a Flow or a mapping of name to Flow; "
                    f"got {compare_with!r}"
                )
            first: str | None = BASELINE
        else:
            first = next(iter(self._variants), None)
        self.controls[COMPARE_CONTROL] = widgets.Dropdown(
            options=options,
            value=first,
            description="compare with",
            style=text_style,
            layout=widgets.Layout(width="240px"),
        )
        self._initial = {name: control.value for name, control in self.controls.items()}
        self._sync_disabled()

        self.status = widgets.Label(value="")
        self.output = widgets.Output()
        note = "change a value to re-run the simulation"
        edits = [event for event in scenario.schedule if self._is_edit(event)]
        if edits:
            when = ", ".join(f"{event.at:%Y-%m-%d}" for event in edits)
            note += f"; changes also apply to the versions the schedule brings in ({when})"
        title = widgets.HTML(
            f"<b>Explore flow {html.escape(flow_name)}</b> "
            f"<span style='color:#666'>({html.escape(note)})</span>"
        )
        rows = []
        if self._waits:
            rows.append(widgets.HBox([self.controls[name] for name in self._waits]))
        if self._weights:
            rows.append(widgets.HBox([self.controls[name] for name in self._weights]))
        rows.append(widgets.HBox([self.controls[name] for name in SETTING_CONTROLS]))
        rows.append(widgets.HBox([self.controls[name] for name in POLICY_CONTROLS]))
        rows.append(widgets.HBox([self.controls[COMPARE_CONTROL]]))
        self.widget = widgets.VBox([title, *rows, self.status, self.output])

        for control in self.controls.values():
            control.observe(self._on_change, names="value")
        self.rerun()

    # -- running -------------------------------------------------------------------------------

    def changes(self) -> tuple[dict[str, str], dict[str, Any]]:
        """What the controls change: ``({wait step id: duration text}, {setting: value})``.

        Only values that differ from the flow's own are listed.
        """
        waits = {
            self._waits[name]: self.controls[name].value
            for name in self._waits
            if self.controls[name].value != self._initial[name]
        }
        changed = {
            name: self.controls[name].value
            for name in SETTING_CONTROLS
            if self.controls[name].value != self._initial[name]
        }
        return waits, changed

    def weight_changes(self) -> dict[str, dict[str, float]]:
        """The split weights the controls change: ``{split step id: {path: weight}}`` (every
        path of a split one of whose weights changed; a weight must stay positive)."""
        changed = {
            self._weights[name][0]
            for name in self._weights
            if self.controls[name].value != self._initial[name]
        }
        out: dict[str, dict[str, float]] = {}
        for name, (split, path) in self._weights.items():
            if split in changed:
                out.setdefault(split, {})[path] = float(self.controls[name].value)
        return out

    def policy(self) -> DeliveryPolicy:
        """The scenario's delivery policy with the policy controls' values (raises on bad
        input).

        Unchanged controls leave the policy as it is. A changed *quiet hours* replaces every
        quiet-hours rule by one for SMS and WhatsApp that defers (empty: none); a changed
        *daily cap* replaces the cap on all channels per local calendar day (0: none).
        """
        policy = self.scenario.policy
        quiet = self.controls["quiet_hours"].value.strip()
        if quiet != self._initial["quiet_hours"]:
            policy = policy.replace(quiet_hours=_quiet_rules(quiet))
        daily = int(self.controls["daily_cap"].value)
        if daily != self._initial["daily_cap"]:
            caps = [cap for cap in policy.frequency_caps if not _is_daily_cap(cap)]
            if daily > 0:
                caps.insert(0, FrequencyCap(limit=daily, per="1d", calendar=True))
            policy = policy.replace(frequency_caps=caps)
        return policy

    def variant_flow(self) -> Flow:
        """The explored flow with the controls' values (validated; raises on bad input)."""
        return _changed_flow(self.base_flow, *self.changes(), weights=self.weight_changes())

    def variant_scenario(self) -> Any:
        """The scenario with the controls' values applied to every version of the flow.

        The rule of :func:`segsim.compare.apply_variant`, the same as ``compare``'s: the
        flow is replaced, and each version a scheduled :class:`~segsim.flows.Edit` brings
        in keeps what its edit changed, with the controls' changes on top (a wait the
        version does not have is left out). Raises on bad input.
        """
        scenario = apply_variant(self.scenario, self.variant_flow())
        policy = self.policy()
        return scenario if policy == scenario.policy else scenario.replace(policy=policy)

    def _is_edit(self, event: Any) -> bool:
        return isinstance(event, Edit) and event.flow_name == self.flow_name

    def rerun(self) -> None:
        """Simulate the scenario with the controls' values and redraw.

        Invalid values, or a variant the engine refuses, leave the last good results in
        place and put the reason in :attr:`error` and the status line.
        """
        began = time.perf_counter()
        self.status.value = "running…"
        try:
            scenario = self.variant_scenario()
            result = self._simulate(scenario)
            other_name = self.controls[COMPARE_CONTROL].value
            other = None if other_name is None else self._other_result(other_name, scenario, result)
        except ValueError as exc:  # pydantic's ValidationError and every SegsimError are ones
            self.error = _message(exc)
            kept = " (showing the last good results)" if self.result is not None else ""
            self.status.value = f"⚠ {self.error}{kept}"
            return
        except Exception as exc:  # a bug, not bad input: say so, and let it surface
            self.status.value = f"⚠ unexpected error: {exc!r}"
            raise
        self.error = None
        self.flow = next(flow for flow in scenario.flows if flow.name == self.flow_name)
        self.result = result
        self.summary = result.summary()
        self.comparison = None if other is None else self._compare(result, other, other_name)
        self._draw()
        seconds = time.perf_counter() - began
        contacts = self.simulation.contacts
        rerun = self.simulation.last_contacts
        scope = "" if rerun is None else f", re-simulating {rerun:,} of {contacts:,} contacts"
        self.status.value = (
            f"simulated in {seconds:.1f} s{scope}: {len(result.runs):,} runs, "
            f"{_messages_sent(result.actions):,} messages sent"
        )

    def _on_change(self, change: Mapping[str, Any]) -> None:
        self._sync_disabled()
        self.rerun()

    def _sync_disabled(self) -> None:
        reentry = bool(self.controls["allow_reentry"].value)
        self.controls["reentry_mode"].disabled = not reentry
        self.controls["reentry_wait"].disabled = not reentry

    def _other_result(self, name: str, explored: Any, result: Any) -> Any:
        """The result to compare with: the unchanged scenario or a given variant (cached)."""
        if name == BASELINE:
            compared = self.scenario
        else:
            compared = apply_variant(self.scenario, self._variants[name])
        if _runs_the_same(explored, compared):
            return result
        if name not in self._other_results:
            self._other_results[name] = self._simulate(compared)
        return self._other_results[name]

    def _simulate(self, scenario: Any) -> Any:
        if _runs_the_same(scenario, self.scenario):
            self.simulation.last_contacts = 0
            return self.simulation.baseline
        return self.simulation.simulate(scenario)

    # -- drawing -------------------------------------------------------------------------------

    def _compare(self, result: Any, other: Any, other_name: str) -> pd.DataFrame:
        """The chosen variant (as baseline) and the explored one side by side, with deltas."""
        return Comparison({other_name: other, EXPLORED: result}).summary()

    def _headline(self) -> str:
        """Messages (email, SMS, WhatsApp) sent, their cost and reach; operations apart."""
        actions = self.result.actions
        mine = actions[actions["flow"] == self.flow_name]
        messages = mine[mine["action"].isin(MESSAGE_ACTIONS)]
        sent = messages[messages["status"] == "sent"]["channel"].value_counts()
        parts = [
            f"{int(sent.get(channel, 0)):,} {_CHANNEL_WORDS[channel]}"
            for channel in MESSAGE_CHANNELS
        ]
        operations = mine[mine["action"].isin(OPERATION_ACTIONS) & (mine["status"] != "skipped")]
        done = operations["action"].value_counts()
        ops = (
            ", ".join(f"{int(n):,} {_OPERATION_WORDS.get(a, a)}" for a, n in done.items()) or "none"
        )
        every = actions[actions["action"].isin(MESSAGE_ACTIONS)]
        flow = html.escape(self.flow_name)
        return (
            f"<p><b>{flow}</b>: messages sent: {', '.join(parts)} · cost "
            f"{_message_cost(messages):,.2f} · reach {_reach(messages):,} contacts"
            f"<br>operations (not messages): {html.escape(ops)}"
            f"<br><span style='color:#666'>all flows: {_messages_sent(actions):,} messages, "
            f"cost {_message_cost(every):,.2f} · reach {_reach(every):,} contacts"
            f"</span></p>"
        )

    def _figure_png(self) -> bytes:
        buffer = io.BytesIO()
        self._figure().savefig(buffer, format="png", dpi=80)
        return buffer.getvalue()

    def _figure(self) -> Figure:
        # a Figure without pyplot: nothing is left open in pyplot's state, any backend works
        result = self.result
        # fixed margins: a constrained layout would cost more than the simulation saves
        figure = Figure(figsize=(12, 4))
        figure.subplots_adjust(left=0.05, right=0.98, bottom=0.16, top=0.9, wspace=0.38)
        sends_ax, funnel_ax = figure.subplots(1, 2)
        actions = result.actions
        messages = actions[
            (actions["flow"] == self.flow_name) & actions["action"].isin(MESSAGE_ACTIONS)
        ]
        plot_sends(messages, freq="W", ax=sends_ax)  # messages only: webhooks are operations
        sends_ax.set_title(f"{self.flow_name}: messages sent per week")
        table = funnel(result.runs, result.steps, flow=self.flow_name)
        plot_funnel(table, flow=self.flow_name, ax=funnel_ax)
        return figure

    def _outputs(self) -> list[dict[str, Any]]:
        """The tables and charts of the latest good result, as notebook display data."""
        summary = self.result.summary() if self.summary is None else self.summary
        outputs = [
            _html_output(self._headline()),
            _html_output(
                "<b>Summary (every flow)</b>"
                + summary.to_html(index=False, float_format=lambda v: f"{v:,.2f}"),
                text=summary.to_string(index=False),
            ),
        ]
        if self.comparison is not None:
            other = self.comparison.columns[0]
            outputs.append(
                _html_output(
                    f"<b>Every flow, compared with {html.escape(str(other))}</b>"
                    + self.comparison.to_html(float_format=lambda v: f"{v:,.2f}"),
                    text=self.comparison.to_string(),
                )
            )
        png = self._figure_png()
        outputs.append(
            {
                "output_type": "display_data",
                "data": {
                    "image/png": base64.b64encode(png).decode("ascii"),
                    "text/plain": f"<charts of {self.flow_name}>",
                },
                "metadata": {},
            }
        )
        return outputs

    def _draw(self) -> None:
        """Replace the output's content (display data set directly: works without a kernel)."""
        self.output.outputs = tuple(self._outputs())

    def static_html(self) -> str:
        """The explorer's current state as plain HTML: settings, headline, tables, charts.

        What a notebook shows where no widget front end runs (a notebook rendered to HTML,
        on a code host, or opened without the kernel): the explorer's display carries it as
        ``text/html`` beside the widget view, which front ends with widgets prefer.
        """
        waits, settings = self.changes()
        changed = [f"wait {k} = {v}" for k, v in waits.items()]
        changed += [f"{k} = {v}" for k, v in settings.items()]
        parts = [
            f"<div class='segsim-explorer'><p><b>Explore flow {html.escape(self.flow_name)}</b>"
            " <span style='color:#666'>(static view: run the notebook to use the controls)"
            "</span><br>changes: "
            f"{html.escape(', '.join(changed) or 'none (the scenario as given)')}</p>",
            f"<p>{html.escape(self.status.value)}</p>",
        ]
        if self.result is not None:
            for output in self.output.outputs:
                data = output["data"]
                if "text/html" in data:
                    parts.append(data["text/html"])
                elif "image/png" in data:
                    alt = html.escape(data.get("text/plain", "charts"))
                    parts.append(
                        f'<img alt="{alt}" style="max-width:100%" '
                        f'src="data:image/png;base64,{data["image/png"]}">'
                    )
        parts.append("</div>")
        return "\n".join(parts)

    # -- display -------------------------------------------------------------------------------

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        """The widget view, with :meth:`static_html` as ``text/html`` for front ends
        without widgets."""
        bundle = dict(self.widget._repr_mimebundle_(**kwargs) or {})
        bundle["text/html"] = self.static_html()
        return bundle

    def __repr__(self) -> str:
        state = "no result" if self.result is None else repr(self.result)
        return f"<Explorer of flow {self.flow_name!r}: {state}>"


# -- helpers --------------------------------------------------------------------------------------


def _runs_the_same(a: Any, b: Any) -> bool:
    """Whether two scenarios of the explorer (same data and window) simulate alike."""
    return (a.flows, a.schedule, a.policy) == (b.flows, b.schedule, b.policy)


def _is_daily_cap(cap: FrequencyCap) -> bool:
    return cap.calendar and cap.unit == "day" and cap.channels is None


def _policy_values(policy: DeliveryPolicy) -> tuple[str, int]:
    """The policy controls' initial values: the first quiet-hours rule, the daily cap."""
    quiet = (
        f"{policy.quiet_hours[0].start}-{policy.quiet_hours[0].end}" if policy.quiet_hours else ""
    )
    daily = next((cap.limit for cap in policy.frequency_caps if _is_daily_cap(cap)), 0)
    return quiet, daily


def _quiet_rules(text: str) -> list[QuietHours]:
    """``"21:00-08:00"`` as quiet hours for SMS and WhatsApp (deferred); empty: none."""
    if not text:
        return []
    start, dash, end = text.partition("-")
    if not dash:
        raise ValueError(f"quiet hours are 'HH:MM-HH:MM' (e.g. '21:00-08:00'), got {text!r}")
    return [QuietHours(start=start.strip(), end=end.strip(), channels=["sms", "whatsapp"])]


def _messages_sent(actions: pd.DataFrame) -> int:
    """Messages (email, SMS, WhatsApp) sent: webhooks and other operations never count."""
    return int((actions["action"].isin(MESSAGE_ACTIONS) & (actions["status"] == "sent")).sum())


def _message_cost(messages: pd.DataFrame) -> float:
    return float(messages.loc[messages["status"] == "sent", "cost"].sum())


def _reach(messages: pd.DataFrame) -> int:
    return int(messages.loc[messages["status"] == "sent", "contact_id"].nunique())


def _variants(compare_with: Any, flow_name: str) -> dict[str, Flow]:
    if compare_with is None or isinstance(compare_with, str):
        return {}
    variants = {"variant": compare_with} if isinstance(compare_with, Flow) else dict(compare_with)
    for name, flow in variants.items():
        if not isinstance(flow, Flow):
            raise TypeError(f"compare_with[{name!r}] must be a Flow, got {type(flow).__name__}")
        if flow.name != flow_name:
            raise ValueError(
                f"compare_with[{name!r}] is flow {flow.name!r}; a variant of {flow_name!r} "
                "must have the same name"
            )
        if name in (BASELINE, EXPLORED, "None"):
            raise ValueError(f"{name!r} is reserved in compare_with; name the variant otherwise")
    return variants


def _changed_flow(
    flow: Flow,
    waits: Mapping[str, str],
    settings: Mapping[str, Any],
    weights: Mapping[str, Mapping[str, float]] | None = None,
) -> Flow:
    """``flow`` with some wait durations, split weights and settings changed, validated."""
    if not waits and not settings and not weights:
        return flow
    data = flow.model_dump()
    fields: dict[str, dict[str, Any]] = {step: {"duration": d} for step, d in waits.items()}
    for split, changed in (weights or {}).items():
        current = next(s for _, s in iter_steps(flow) if s.id == split).weights
        fields.setdefault(split, {})["weights"] = {**current, **changed}
    _set_step_fields(data, flow, fields)
    data["settings"] = {**data["settings"], **settings}
    # model_copy(update=...) would not validate: build the model from data instead
    changed: Flow = type(flow).model_validate(data)
    return changed


def _set_step_fields(
    data: dict[str, Any], flow: Flow, fields: Mapping[str, Mapping[str, Any]]
) -> None:
    """In the dump ``data`` of ``flow``, set fields of the steps named in ``fields``
    (``{step id: {field: value}}``), wherever they are in the tree, in place.

    Each step is found at its location (``("steps", 2, "paths", "A", 0)``, from
    :func:`~segsim.flows.iter_steps`), which indexes the dump as it indexes the model.
    """
    for loc, step in iter_steps(flow):
        if step.id in fields:
            node: Any = data
            for key in loc:
                node = node[key]
            node.update(fields[step.id])


def _message(exc: Exception) -> str:
    """Every problem of ``exc``, joined by "; " (pydantic's prefixes left out)."""
    errors = getattr(exc, "errors", None)
    if callable(errors):
        messages = []
        for error in errors(include_url=False):
            message = str(error["msg"]).removeprefix("Value error, ")
            if message not in messages:
                messages.append(message)
        return "; ".join(messages)
    return str(exc)


def _html_output(markup: str, *, text: str | None = None) -> dict[str, Any]:
    return {
        "output_type": "display_data",
        "data": {"text/html": markup, "text/plain": text if text is not None else markup},
        "metadata": {},
    }
