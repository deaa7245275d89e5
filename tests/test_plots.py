"""segsim.plots: what is drawn, read back from the artists (no image comparison)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.axes import Axes
from matplotlib.colors import to_rgba

from segsim.analysis import (
    entries_exits,
    funnel,
    messages_per_contact,
    messages_per_contact_distribution,
    segment_sizes_from_events,
    sends_by_period,
    sends_by_variant,
)
from segsim.plots import (
    plot_compare_sends,
    plot_entries_exits,
    plot_funnel,
    plot_messages_per_contact,
    plot_segment_sizes,
    plot_sends,
)
from tests.test_analysis import make_actions, make_runs, make_segment_events, make_steps


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def day_numbers(*texts: str) -> list[float]:
    """Matplotlib's x coordinates of UTC dates."""
    return [float(mdates.date2num(pd.Timestamp(t).to_datetime64())) for t in texts]


def legend_labels(ax: Axes) -> list[str]:
    legend = ax.get_legend()
    return [text.get_text() for text in legend.get_texts()] if legend else []


def heights(ax: Axes) -> list[float]:
    return [patch.get_height() for patch in ax.patches]


# -- plot_sends -----------------------------------------------------------------------------------


def test_plot_sends_lines_fill_days_without_sends_with_zero_and_leave_webhooks_out():
    ax = plot_sends(make_actions(), stacked=False)
    assert isinstance(ax, Axes)
    assert legend_labels(ax) == ["email", "sms", "whatsapp"]  # no webhook: an operation
    days = [f"2026-01-0{d}" for d in range(1, 10)]
    email = ax.lines[0].get_xydata()
    assert email[:, 0].tolist() == day_numbers(*days)
    assert email[:, 1].tolist() == [0, 0, 2, 0, 0, 0, 0, 0, 0]
    assert ax.lines[1].get_xydata()[:, 1].tolist() == [1, 0, 0, 0, 0, 0, 0, 0, 0]
    assert ax.lines[2].get_xydata()[:, 1].tolist() == [0, 0, 0, 0, 0, 0, 0, 0, 1]
    assert ax.get_title() == "Messages sent per day"
    assert ax.get_ylabel() == "messages"


def test_plot_sends_stacks_one_area_per_channel():
    ax = plot_sends(make_actions())
    assert len(ax.collections) == 3
    assert legend_labels(ax) == ["email", "sms", "whatsapp"]
    # the top of the stack is the daily total: 2 on Jan 3
    top = ax.collections[-1].get_paths()[0].vertices
    assert top[:, 1].max() == 2
    assert ax.collections[0].get_facecolor()[0].tolist() == list(to_rgba("C0"))


def test_plot_sends_counts_have_integer_ticks():
    ax = plot_sends(make_actions())
    ticks = ax.get_yticks()
    assert all(float(t).is_integer() for t in ticks)


def test_plot_sends_stacked_areas_span_whole_periods_even_a_single_one():
    ax = sends_by_period(make_actions(), freq="M", by=None).pipe(plot_sends)
    (area,) = ax.collections
    vertices = area.get_paths()[0].vertices
    assert vertices[:, 0].min() == day_numbers("2026-01-01")[0]
    assert vertices[:, 0].max() == day_numbers("2026-02-01")[0]
    assert vertices[:, 1].max() == 4
    assert ax.get_ylim()[0] == 0


def test_plot_sends_pipes_from_sends_by_period_and_keeps_its_frequency():
    ax = sends_by_period(make_actions(), freq="W").pipe(plot_sends, stacked=False)
    assert ax.get_title() == "Messages sent per week"
    assert ax.lines[0].get_xydata().tolist() == [
        [day_numbers("2025-12-29")[0], 2],
        [day_numbers("2026-01-05")[0], 0],
    ]


def test_plot_sends_draws_every_period_of_the_window_and_shades_the_partial_ones():
    window = (pd.Timestamp("2026-01-01", tz="UTC"), pd.Timestamp("2026-01-20", tz="UTC"))
    table = sends_by_period(make_actions(), freq="W", window=window)
    ax = plot_sends(table, stacked=False)
    email = ax.lines[0].get_xydata().tolist()
    assert email == [
        [day_numbers("2026-01-01")[0], 2],
        [day_numbers("2026-01-05")[0], 0],
        [day_numbers("2026-01-12")[0], 0],
        [day_numbers("2026-01-19")[0], 0],
    ]
    shaded = [p for p in ax.patches if p.get_gid() == "partial"]
    spans = sorted((p.get_x(), p.get_x() + p.get_width()) for p in shaded)
    assert spans == [
        tuple(day_numbers("2026-01-01", "2026-01-05")),
        tuple(day_numbers("2026-01-19", "2026-01-20")),
    ]


@pytest.mark.parametrize("by", ["flow", "template"])
def test_plot_sends_by_flow_or_template_draws_one_band_per_group(by):
    ax = plot_sends(make_actions(), by=by, freq="M", stacked=False)
    expected = {"flow": ["Welcome", "Winback"], "template": ["promo", "tips", "welcome"]}[by]
    assert legend_labels(ax) == expected
    assert ax.get_legend().get_title().get_text() == by
    totals = {"flow": [3, 1], "template": [1, 2, 1]}[by]
    assert [line.get_xydata()[0, 1] for line in ax.lines] == totals
    assert ax.get_title() == f"Messages sent per month, by {by}"


def test_plot_sends_of_one_channel_on_a_given_axes():
    _, given = plt.subplots()
    ax = plot_sends(make_actions(), channel="sms", freq="W", stacked=False, ax=given)
    assert ax is given
    assert len(ax.lines) == 1
    assert ax.lines[0].get_xydata()[:, 1].tolist() == [1]


def test_plot_sends_without_channels_draws_the_total():
    totals = sends_by_period(make_actions(), freq="M", by=None)
    ax = plot_sends(totals, stacked=False)
    assert legend_labels(ax) == ["all"]
    assert ax.lines[0].get_xydata()[:, 1].tolist() == [4]
    assert ax.get_title() == "Messages sent per month"


def test_plot_sends_of_nothing_is_an_empty_chart():
    ax = plot_sends(make_actions().iloc[:0])
    assert len(ax.collections) == 0 and len(ax.lines) == 0
    assert ax.get_title() == "Messages sent per day"


def test_plot_sends_refuses_other_frames():
    with pytest.raises(ValueError, match="messages"):
        plot_sends(pd.DataFrame({"x": [1]}))


# -- plot_funnel ----------------------------------------------------------------------------------


def test_plot_funnel_draws_one_bar_per_stage():
    ax = funnel(make_runs(), make_steps()).pipe(plot_funnel, flow="Winback")
    assert [patch.get_width() for patch in ax.patches] == [2, 2, 1, 1, 1, 1]
    labels = [label.get_text() for label in ax.get_yticklabels()]
    assert labels == ["entered", "wa1", "hook", "del", "end: completed", "end: contact_deleted"]
    assert ax.get_title() == "Funnel: Winback"
    assert ax.yaxis_inverted()
    annotations = [text.get_text() for text in ax.texts]
    assert annotations == ["2 (100%)", "2 (100%)", "1 (50%)", "1 (50%)", "1 (50%)", "1 (50%)"]


def test_plot_funnel_needs_a_flow_when_there_are_several():
    table = funnel(make_runs(), make_steps())
    with pytest.raises(ValueError, match="flow="):
        plot_funnel(table)
    with pytest.raises(ValueError, match="Nope"):
        plot_funnel(table, flow="Nope")


# -- segments -------------------------------------------------------------------------------------


def test_plot_segment_sizes_draws_the_members_at_each_period_end():
    sizes = segment_sizes_from_events(make_segment_events(), initial={"VIP": 10})
    ax = plot_segment_sizes(data=sizes)
    assert legend_labels(ax) == ["Lapsed", "VIP"]
    vip = ax.lines[1]
    assert vip.get_xydata().tolist() == [
        [x, y]
        for x, y in zip(
            day_numbers("2026-01-01", "2026-01-02", "2026-01-03", "2026-01-04", "2026-01-05"),
            [10, 12, 11, 11, 10],  # at the start, then at the end of each day
            strict=True,
        )
    ]
    assert ax.get_ylabel() == "contacts"
    assert all(float(t).is_integer() for t in ax.get_yticks())


def test_plot_segment_sizes_takes_what_ss_segment_sizes_returns():
    import segsim as ss
    from segsim.conditions import attr
    from segsim.store import Store

    rows = [(1, "2025-12-01", "plan", "pro"), (2, "2026-01-06", "plan", "pro")]
    frame = pd.DataFrame(rows, columns=["contact_id", "ts", "attribute", "value"])
    frame["ts"] = pd.to_datetime(frame["ts"], utc=True)
    store = Store()
    store.load_attributes(frame)
    pro = ss.Segment("Pro", attr("plan") == "pro")
    sizes = ss.segment_sizes(store, pro, "2026-01-01", "2026-01-20", freq="W")
    ax = plot_segment_sizes(sizes)
    assert ax.lines[0].get_xydata()[:, 1].tolist() == [1, 1, 2, 2, 2]
    assert [p.get_gid() for p in ax.patches].count("partial") == 2


def test_plot_entries_exits_draws_entries_up_and_exits_down():
    ax = entries_exits(make_segment_events()).pipe(plot_entries_exits, segment="VIP")
    assert heights(ax) == [2, 0, 0, 0, -1, -1]
    assert [patch.get_x() for patch in ax.patches[:3]] == day_numbers(
        "2026-01-01", "2026-01-02", "2026-01-04"
    )
    assert [patch.get_width() for patch in ax.patches] == pytest.approx([0.8] * 6)
    assert ax.get_title() == "Entries and exits: VIP"


def test_plot_entries_exits_from_raw_events_of_one_segment():
    events = make_segment_events()
    ax = plot_entries_exits(events[events["segment"] == "Lapsed"])
    assert heights(ax) == [1, 0]
    with pytest.raises(ValueError, match="segment="):
        plot_entries_exits(events)


def test_plot_entries_exits_weekly_bars_are_a_week_wide():
    ax = plot_entries_exits(entries_exits(make_segment_events(), freq="W"), segment="VIP")
    assert [patch.get_width() for patch in ax.patches] == pytest.approx([0.8 * 7] * 2)


# -- messages per contact -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "make_input",
    [
        lambda actions: actions,
        messages_per_contact,
        messages_per_contact_distribution,
    ],
    ids=["actions", "counts", "distribution"],
)
def test_plot_messages_per_contact_highlights_the_maximum(make_input):
    ax = plot_messages_per_contact(make_input(make_actions()))
    assert [
        (patch.get_x() + patch.get_width() / 2, patch.get_height()) for patch in ax.patches
    ] == [
        (1.0, 1),
        (3.0, 1),
    ]
    assert ax.patches[-1].get_facecolor() == to_rgba("C3")
    assert ax.patches[0].get_facecolor() == to_rgba("C0")
    assert ax.get_title() == "Messages per contact (max 3)"


def test_plot_messages_per_contact_of_nothing():
    ax = plot_messages_per_contact(make_actions().iloc[:0])
    assert len(ax.patches) == 0
    assert ax.get_title() == "Messages per contact"


# -- comparisons ----------------------------------------------------------------------------------


def test_plot_compare_sends_groups_bars_by_variant():
    actions = make_actions()
    table = sends_by_variant({"A": actions, "B": actions[actions["channel"] != "sms"]})
    ax = table.pipe(plot_compare_sends)
    # channel by channel: email A, email B, sms A, sms B, whatsapp A, whatsapp B
    assert heights(ax) == [2, 2, 1, 0, 1, 1]
    assert legend_labels(ax) == ["email", "sms", "whatsapp"]
    assert [label.get_text() for label in ax.get_xticklabels()] == ["A", "B"]
    centres = [patch.get_x() + patch.get_width() / 2 for patch in ax.patches]
    assert centres == pytest.approx([-4 / 15, 11 / 15, 0, 1, 4 / 15, 19 / 15])


def test_plot_compare_sends_reads_a_wide_summary_and_sums_flows():
    summary = pd.DataFrame(
        {
            "variant": ["A", "A", "B"],
            "flow": ["Welcome", "Winback", "Welcome"],
            "email_sent": [3, 1, 5],
            "sms_sent": [2, 0, 0],
        }
    ).set_index("variant")
    ax = plot_compare_sends(summary)
    assert heights(ax) == [4, 5, 2, 0]
    assert legend_labels(ax) == ["email", "sms"]


def test_plot_compare_sends_refuses_a_frame_without_sends():
    with pytest.raises(ValueError, match="_sent"):
        plot_compare_sends(pd.DataFrame({"variant": ["A"], "runs": [3]}))


def test_plot_compare_sends_reads_a_result_summary_and_ignores_its_totals():
    summary = pd.DataFrame(
        {
            "variant": ["A", "B"],
            "email_sent": [3, 5],
            "messages_sent": [3, 5],  # a total, not a channel
            "webhooks_called": [7, 7],  # an operation, not a message
        }
    )
    ax = plot_compare_sends(summary)
    assert legend_labels(ax) == ["email"]
    assert heights(ax) == [3, 5]


def test_every_plot_names_its_first_argument_data():
    import inspect

    from segsim import plots

    for name in plots.__all__:
        function = getattr(plots, name)
        if callable(function):
            parameters = list(inspect.signature(function).parameters.values())
            assert parameters[0].name == "data", name
            assert all(p.kind is p.KEYWORD_ONLY for p in parameters[1:]), name


def test_every_plot_draws_on_the_current_axes_by_default():
    _fig, (left, right) = plt.subplots(1, 2)
    plt.sca(right)
    assert plot_messages_per_contact(make_actions()) is right
    assert np.isclose(left.get_xlim(), (0, 1)).all()
