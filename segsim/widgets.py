"""An interactive explorer for notebooks: edit one flow's timing and activation settings and
see the simulation re-run.

:class:`Explorer` shows one control per :class:`~segsim.flows.Wait` step of a flow (its
duration), the flow's re-entry settings (``allow_reentry``, ``reentry_mode``,
``reentry_wait``) and ``on_pause``, and a *compare with* choice. Every change builds a
variant of the flow, re-runs :func:`segsim.simulate` on the scenario with that variant, and
redraws the summary table, headline numbers (messages sent per channel, cost, reach) and two
charts (messages sent per week, the flow's funnel), with a side-by-side table when a
comparison is chosen. Invalid input (``"2 days"`` in a duration box) is shown in the status
line and the last good results stay on screen.

When the schedule edits the explored flow (:class:`~segsim.flows.Edit`), the changes apply
to every version: each version keeps what its edit changed, with the explorer's changes on
top (a wait is changed in every version that has a step of that id). Only the controls moved
away from the flow's own values count as changes.

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

from segsim._time import format_duration
from segsim.analysis import cost_by_channel, funnel, reach_total
from segsim.compare import Comparison
from segsim.engine import simulate
from segsim.flows import Edit, Flow, Wait, iter_steps
from segsim.plots import plot_funnel, plot_sends

__all__ = ["Explorer"]

#: The settings controls, in display order.
SETTING_CONTROLS = ("allow_reentry", "reentry_mode", "reentry_wait", "on_pause")
#: The comparison control's name in :attr:`Explorer.controls`.
COMPARE_CONTROL = "compare_with"
#: The name of the unchanged scenario in the *compare with* choice.
BASELINE = "baseline"
#: The explored variant's name in :attr:`Explorer.comparison`.
EXPLORED = "explored"

_CHANNEL_WORDS = {"email": "emails", "sms": "SMS", "whatsapp": "WhatsApp", "webhook": "webhooks"}


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
        ``<wait step id>`` (a Text per Wait step, e.g. ``"2d"``), ``"allow_reentry"``
        (Checkbox), ``"reentry_mode"`` (Dropdown), ``"reentry_wait"`` (Text), ``"on_pause"``
        (Dropdown) and ``"compare_with"`` (Dropdown). Setting a ``value`` re-runs. A wait
        whose step id is one of these names is keyed ``"step:<id>"``.
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
                flow  runs  contacts  ...
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
                if name in (*SETTING_CONTROLS, COMPARE_CONTROL):
                    name = f"step:{step.id}"
                self._waits[name] = step.id
                self.controls[name] = widgets.Text(
                    value=format_duration(step.duration),
                    description=f"wait {step.id}",
                    continuous_update=False,
                    style=text_style,
                    layout=widgets.Layout(width="200px"),
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
        rows.append(widgets.HBox([self.controls[name] for name in SETTING_CONTROLS]))
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

    def variant_flow(self) -> Flow:
        """The explored flow with the controls' values (validated; raises on bad input)."""
        return _changed_flow(self.base_flow, *self.changes())

    def variant_scenario(self) -> Any:
        """The scenario with the controls' values applied to every version of the flow.

        The flow itself is replaced (:meth:`Scenario.with_flow`), and so is each version a
        scheduled :class:`~segsim.flows.Edit` brings in: the same changes on top of that
        version (a wait the version does not have is left out). Raises on bad input.
        """
        waits, settings = self.changes()
        scenario = self.scenario.with_flow(_changed_flow(self.base_flow, waits, settings))
        if not any(self._is_edit(event) for event in scenario.schedule):
            return scenario
        schedule = tuple(
            type(event).model_validate(
                {
                    **{name: getattr(event, name) for name in type(event).model_fields},
                    "flow": _changed_flow(event.flow, waits, settings),
                }
            )
            if self._is_edit(event)
            else event
            for event in scenario.schedule
        )
        return scenario._replaced(schedule=schedule)

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
            result = _simulate(scenario)
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
        self.status.value = (
            f"simulated in {seconds:.1f} s: {len(result.runs):,} runs, "
            f"{int((result.actions['status'] == 'sent').sum()):,} actions sent"
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
            compared = self.scenario.with_flow(self._variants[name])
        if (explored.flows, explored.schedule) == (compared.flows, compared.schedule):
            return result
        if name not in self._other_results:
            self._other_results[name] = _simulate(compared)
        return self._other_results[name]

    # -- drawing -------------------------------------------------------------------------------

    def _compare(self, result: Any, other: Any, other_name: str) -> pd.DataFrame:
        """The chosen variant (as baseline) and the explored one side by side, with deltas."""
        return Comparison({other_name: other, EXPLORED: result}).summary()

    def _headline(self) -> str:
        actions = self.result.actions
        mine = actions[actions["flow"] == self.flow_name]
        sent = cost_by_channel(mine).set_index("channel")["messages"]
        parts = [
            f"{int(sent.get(channel, 0)):,} {word}" for channel, word in _CHANNEL_WORDS.items()
        ]
        flow = html.escape(self.flow_name)
        return (
            f"<p><b>{flow}</b>: {', '.join(parts)} sent · cost "
            f"{float(mine['cost'].sum()):,.2f} · reach {reach_total(mine):,} contacts"
            f"<br><span style='color:#666'>all flows: cost "
            f"{float(actions['cost'].sum()):,.2f} · reach {reach_total(actions):,} contacts"
            f"</span></p>"
        )

    def _figure_png(self) -> bytes:
        # a Figure without pyplot: nothing is left open in pyplot's state, any backend works
        result = self.result
        figure = Figure(figsize=(12, 4), layout="constrained")
        sends_ax, funnel_ax = figure.subplots(1, 2)
        plot_sends(result.actions[result.actions["flow"] == self.flow_name], freq="W", ax=sends_ax)
        sends_ax.set_title(f"{self.flow_name}: messages sent per week")
        table = funnel(result.runs, result.steps, flow=self.flow_name)
        plot_funnel(table, flow=self.flow_name, ax=funnel_ax)
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=80)
        return buffer.getvalue()

    def _draw(self) -> None:
        """Replace the output's content (display data set directly: works without a kernel)."""
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
        self.output.outputs = tuple(outputs)

    # -- display -------------------------------------------------------------------------------

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget)

    def __repr__(self) -> str:
        state = "no result" if self.result is None else repr(self.result)
        return f"<Explorer of flow {self.flow_name!r}: {state}>"


# -- helpers --------------------------------------------------------------------------------------


def _simulate(scenario: Any) -> Any:
    return simulate(scenario, progress=False)


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


def _changed_flow(flow: Flow, waits: Mapping[str, str], settings: Mapping[str, Any]) -> Flow:
    """``flow`` with some wait durations and settings changed, validated."""
    if not waits and not settings:
        return flow
    data = flow.model_dump()
    _set_wait_durations(data["steps"], waits)
    data["settings"] = {**data["settings"], **settings}
    # model_copy(update=...) would not validate: build the model from data instead
    changed: Flow = type(flow).model_validate(data)
    return changed


def _set_wait_durations(steps: list[dict[str, Any]], durations: Mapping[str, str]) -> None:
    """Set the ``duration`` of the dumped Wait steps named in ``durations``, in place."""
    for step in steps:
        if step.get("kind") == "wait" and step["id"] in durations:
            step["duration"] = durations[step["id"]]
        if step.get("kind") == "branch":
            _set_wait_durations(step["then"], durations)
            _set_wait_durations(step["otherwise"], durations)


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
