"""Split paths: how many runs took each path of each split, and what they were sent after."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from segsim._internal.steps import walk
from segsim._internal.vocab import MESSAGE_ACTIONS

#: Step kinds whose outcome is a path name (docs/design.md §9).
SPLIT_KINDS = ("split", "audience_split")

_COLUMNS = [
    "flow",
    "step_id",
    "kind",
    "path",
    "runs",
    "share",
    "messages_sent",
    "messages_skipped",
    "messages_per_run",
]


def split_paths(
    steps: pd.DataFrame, *, path_order: Mapping[tuple[str, str], Sequence[str]] | None = None
) -> pd.DataFrame:
    """The funnel of each split path: runs that took it, and the messages they got after.

    Parameters
    ----------
    steps : DataFrame
        The ``steps`` frame of a result (one replication: filter a multi-replication frame
        on ``replication`` first).
    path_order : mapping of (flow, step id) to path names, optional
        The paths of each split in their declared order (paths no run took then show 0
        runs); other paths follow in order of first appearance.

    Returns
    -------
    DataFrame
        One row per flow, split step (``split`` or ``audience_split``) and path: ``runs``
        (runs that took the path), ``share`` (of the runs that reached the split; NaN
        when none did), ``messages_sent`` and ``messages_skipped`` (messages — email, SMS,
        WhatsApp — of those runs executed *after* the split, in execution order), and
        ``messages_per_run`` (sent per run, NaN with no run). Counts int64.

    Examples
    --------
    >>> split_paths(result.steps)
    Empty DataFrame
    Columns: [flow, step_id, kind, path, runs, share, messages_sent, messages_skipped, messages_per_run]
    Index: []
    """
    # the order rows were executed in within a run: the frame's canonical order
    order = steps.groupby("run_id", sort=False).cumcount()
    frame = steps.assign(_order=order.to_numpy())
    splits = frame[frame["kind"].isin(SPLIT_KINDS)]
    messages = frame[frame["kind"].isin(MESSAGE_ACTIONS)]
    rows = []
    declared = dict(path_order or {})
    keys = list(dict.fromkeys(zip(splits["flow"], splits["step_id"], strict=True)))
    keys += [key for key in declared if key not in keys]
    for flow, step_id in keys:
        taken = splits[(splits["flow"] == flow) & (splits["step_id"] == step_id)]
        kind = taken["kind"].iloc[0] if len(taken) else "split"
        names = list(declared.get((flow, step_id), ()))
        names += [p for p in dict.fromkeys(taken["outcome"]) if p not in names]
        after = messages.merge(
            taken[["run_id", "_order", "outcome"]], on="run_id", suffixes=("", "_split")
        )
        after = after[after["_order"] > after["_order_split"]]
        total = len(taken)
        for name in names:
            runs = int((taken["outcome"] == name).sum())
            mine = after[after["outcome_split"] == name]
            sent = int((mine["outcome"] == "sent").sum())
            rows.append(
                (
                    flow,
                    step_id,
                    kind,
                    name,
                    runs,
                    runs / total if total else float("nan"),
                    sent,
                    int((mine["outcome"] == "skipped").sum()),
                    sent / runs if runs else float("nan"),
                )
            )
    table = pd.DataFrame(rows, columns=_COLUMNS)
    return table.astype(
        {
            "runs": "int64",
            "share": "float64",
            "messages_sent": "int64",
            "messages_skipped": "int64",
            "messages_per_run": "float64",
        }
    )


def declared_paths(flows: Sequence[Any]) -> dict[tuple[str, str], list[str]]:
    """``(flow, step id) -> path names`` of every split of the given flows, in order."""
    out: dict[tuple[str, str], list[str]] = {}
    for flow in flows:
        for _, step, _next in walk(flow):
            if step.kind == "split":
                out[(flow.name, step.id)] = list(step.paths)
            elif step.kind == "audience_split":
                out[(flow.name, step.id)] = list(step.path_names())
    return out
