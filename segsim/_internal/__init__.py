"""Private internals shared by segsim's public modules; nothing here is public API.

The bottom layer of the package: these modules import nothing from the rest of segsim
(except :mod:`segsim.errors` and :mod:`segsim._time`), so every public module may use them.

* :mod:`.vocab` — every closed vocabulary (action kinds, channels, reasons, outcomes, types);
* :mod:`.frames` — the one declaration of each result frame (columns, dtypes, order);
* :mod:`.naming` — the shared field types (names, durations, instants) and "did you mean";
* :mod:`.sql` — quoting of DuckDB identifiers and literals;
* :mod:`.localtime` — a contact's local wall-clock time: zones, clock times, calendar periods;
* :mod:`.periods` — the period convention of every period table and chart (UTC calendar
  periods clipped to the simulated window, partial ones flagged);
* :mod:`.formatting` — how counts, ids, costs (with their currency) and changes are written;
* :mod:`.variants` — a flow's edited version with a variant's changes on top;
* :mod:`.outcomes` — the one definition of the outcome counts and rates (docs/design.md §10.4).
"""
