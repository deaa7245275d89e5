"""The ``segsim`` command line: ``demo``, ``run``, ``validate``, ``compare``, ``report``,
``forecast``, ``schema``.

Exit codes scripts can rely on:

* 0 — success (``validate``: the scenario is valid);
* 1 — bad input: a scenario, flow or data problem (the message says where);
* 2 — usage error: unknown command or option, missing argument (argparse's convention).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from segsim.errors import SegsimError

EXIT_OK = 0
EXIT_INPUT_ERROR = 1
EXIT_USAGE = 2

_COMMANDS = {
    "demo": (
        "simulate the demo scenario on the built-in demo data and write its report",
        """\
Build the demo data, simulate the demo scenario (four flows using every action and rule,
with a delivery policy in each contact's time zone, a response model and purchase goals;
see datasets/demo_scenario.yaml), print a summary and write the HTML report.

examples:
  segsim demo
  segsim demo --contacts 20000 --seed 3 --out demo-report
""",
    ),
    "run": (
        "simulate a scenario file; write the frames as Parquet (and CSV) and the report",
        """\
Simulate a scenario file and write segment_events, runs, steps, actions and suppressed as
Parquet files into --out, with report.html next to them; with --csv, also each frame as a
CSV file beside its Parquet file (times in ISO 8601, UTC).

examples:
  segsim run datasets/demo_scenario.yaml --out results/
  segsim run datasets/demo_scenario.yaml --out results/ --csv
  segsim run datasets/demo_scenario.yaml --out results/ --replications 20 --seed 3
""",
    ),
    "validate": (
        "check a scenario file and its data; list every problem with its path",
        """\
Check a scenario file (YAML structure, then its segments and flows against the data) and
list every problem with its location, e.g. "flows[0].steps[2].duration: ...".
Exit code 0 when valid, 1 when not.

example:
  segsim validate datasets/demo_scenario.yaml
""",
    ),
    "compare": (
        "simulate two or more scenario files (variants) on the same data, side by side",
        """\
Simulate each scenario file as a variant (the first is the baseline), print the
side-by-side summary with deltas and write the comparison report.

The files must describe the same data, window, seed, segments, channels and
include_existing_members, so that only their flows and schedules differ: otherwise the
deltas would mean nothing, and compare refuses (exit code 1), naming what differs.
--allow-different compares them anyway, with a warning in the output and the report.

With --replications R every variant is simulated R times on common random numbers (the
same draws for the same contact, step and replication), and the summary gives each
metric's delta with its 95% interval and the probability that the variant beats the baseline.

examples:
  segsim compare recheck.yaml event.yaml --out comparison/
  segsim compare a.yaml b.yaml --replications 50 --out comparison/
""",
    ),
    "report": (
        "simulate a scenario file and write only its HTML (and Markdown) report",
        """\
Simulate a scenario file and write report.html (and report.md with --markdown).

example:
  segsim report datasets/demo_scenario.yaml --out report/
""",
    ),
    "forecast": (
        "project a scenario file's sends after its history, with intervals (an estimate)",
        """\
Project the messages the scenario's flows would send after its end (docs/design.md §11):
draw --replications futures from the history (--method bootstrap: resampled contact
trajectories; poisson: fitted event rates), run the flows on each and write into --out
forecast.parquet (day, flow, channel, replication, messages, cost), forecast_summary.parquet
(per day: mean and 95% interval) and forecast.html, the "Projection" report. With
--backtest, the last --horizon of the history is held out and forecast instead, and
backtest.parquet compares it week by week with the replay. Options not given come from
the file's forecast: section, else horizon 90d, bootstrap, 100 replications.

examples:
  segsim forecast datasets/demo_scenario.yaml --horizon 90d --out forecast/
  segsim forecast datasets/demo_scenario.yaml --horizon 28d --backtest --out backtest/
""",
    ),
    "schema": (
        "print the JSON schema of scenario files",
        """\
Print the JSON schema of scenario files (for editors and validators).

example:
  segsim schema > scenario.schema.json
""",
    ),
}


def _build_parser() -> argparse.ArgumentParser:
    from segsim import __version__

    parser = argparse.ArgumentParser(
        prog="segsim",
        description="Dry-run segment-triggered automation flows on real contact histories. "
        "Nothing is ever sent.",
        epilog="examples:\n  segsim demo\n  segsim run datasets/demo_scenario.yaml --out results/\n"
        "exit codes: 0 ok, 1 bad input, 2 usage error",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"segsim {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    def command(name: str) -> argparse.ArgumentParser:
        summary, description = _COMMANDS[name]
        return commands.add_parser(
            name,
            help=summary,
            description=description,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )

    def progress_flag(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("--no-progress", action="store_true", help="hide progress bars")

    def replication_flags(sub: argparse.ArgumentParser) -> None:
        sub.add_argument(
            "--replications",
            type=int,
            default=1,
            metavar="R",
            help="simulate R replications, each drawing its splits, holdouts and responses "
            "anew (default 1); the summary gives each metric's mean and 95%% interval",
        )
        sub.add_argument(
            "--seed",
            type=int,
            metavar="N",
            help="the scenario's seed (default: the file's); the same seed gives the same frames",
        )

    demo = command("demo")
    demo.add_argument(
        "--contacts", type=int, default=5_000, help="contacts to generate (default 5000)"
    )
    demo.add_argument("--seed", type=int, default=7, help="random seed of the data (default 7)")
    demo.add_argument(
        "--out",
        type=Path,
        default=Path("segsim-demo"),
        help="folder for the report (default segsim-demo/)",
    )
    progress_flag(demo)
    demo.set_defaults(handler=_cmd_demo)

    run = command("run")
    run.add_argument("scenario", type=Path, help="scenario YAML file")
    run.add_argument(
        "--out", type=Path, required=True, help="folder for the Parquet frames and report.html"
    )
    run.add_argument(
        "--csv", action="store_true", help="also write each frame as CSV beside its Parquet file"
    )
    progress_flag(run)
    replication_flags(run)
    run.set_defaults(handler=_cmd_run)

    validate = command("validate")
    validate.add_argument("scenario", type=Path, help="scenario YAML file")
    validate.set_defaults(handler=_cmd_validate)

    compare = command("compare")
    compare.add_argument("scenarios", type=Path, nargs="+", help="two or more scenario YAML files")
    compare.add_argument("--out", type=Path, help="folder for comparison.html")
    compare.add_argument(
        "--allow-different",
        action="store_true",
        help="compare files that differ in data, window, seed, segments or channels "
        "(the output warns that the deltas then mix several changes)",
    )
    progress_flag(compare)
    replication_flags(compare)
    compare.set_defaults(handler=_cmd_compare)

    report = command("report")
    report.add_argument("scenario", type=Path, help="scenario YAML file")
    report.add_argument("--out", type=Path, required=True, help="folder for report.html")
    report.add_argument("--markdown", action="store_true", help="also write report.md")
    progress_flag(report)
    replication_flags(report)
    report.set_defaults(handler=_cmd_report)

    projection = command("forecast")
    projection.add_argument("scenario", type=Path, help="scenario YAML file")
    projection.add_argument(
        "--out", type=Path, required=True, help="folder for the forecast frames and forecast.html"
    )
    projection.add_argument(
        "--horizon", help="the projected window after the scenario end, e.g. 90d"
    )
    projection.add_argument("--replications", type=int, help="futures to draw (default 100)")
    projection.add_argument("--seed", type=int, help="seed of the draws (default: the scenario's)")
    projection.add_argument("--method", choices=["bootstrap", "poisson"], help="how to draw")
    projection.add_argument("--block", help="the bootstrap's block length (default: the horizon)")
    projection.add_argument(
        "--positions",
        type=int,
        help="the bootstrap's block positions, 7 days apart (default: one block length back)",
    )
    projection.add_argument(
        "--backtest", action="store_true", help="forecast the last --horizon of the history"
    )
    projection.add_argument("--markdown", action="store_true", help="also write forecast.md")
    projection.add_argument(
        "--csv", action="store_true", help="also write each frame as CSV beside its Parquet file"
    )
    projection.set_defaults(handler=_cmd_forecast)

    json_schema = command("schema")  # the JSON schema of scenario files, not the DuckDB one
    json_schema.set_defaults(handler=_cmd_json_schema)
    return parser


# -- commands ----------------------------------------------------------------------------------


def _simulate(scenario: Any, progress: bool, args: argparse.Namespace | None = None) -> Any:
    from segsim.engine import simulate

    replications = 1 if args is None else getattr(args, "replications", 1)
    if args is not None and getattr(args, "seed", None) is not None:
        scenario = scenario.replace(seed=args.seed)
    if replications < 1:
        raise SegsimError(f"--replications must be a positive integer, got {replications}")
    return simulate(scenario, progress=progress, replications=replications)


def _print_summary(result: Any) -> None:
    """The per-flow summary, one flow per column (it is too wide for a terminal otherwise);
    over replications, one row per flow and metric (mean, 95% interval)."""
    from segsim._internal.formatting import format_frame

    if result.replication_count > 1:
        print(result.summary().to_string(index=False))
        return
    summary = result.summary().set_index("flow").T
    summary.index.name = "metric"
    summary.columns.name = None
    print(format_frame(summary, currency=result.currency).to_string(index=False))


def _out_folder(path: Path) -> Path:
    """``--out``: a folder (created when missing), never an existing file."""
    if path.exists() and not path.is_dir():
        raise SegsimError(
            f"--out {str(path)!r} is an existing file; --out names a folder (it is created "
            "if missing): choose another path or remove the file"
        )
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SegsimError(f"cannot create the --out folder {str(path)!r}: {exc}") from None
    return path


def _write_report(result: Any, folder: Path, markdown: bool = False) -> Path:
    """``report.html`` (and ``report.md``). Over replications the report shows replication
    0, and ``summary.csv`` (mean and 95% interval per flow and metric) and
    ``replications.csv`` (one row per replication) are written beside it."""
    from segsim.report import build_report

    if result.replication_count > 1:
        result.summary().to_csv(folder / "summary.csv", index=False)
        result.replications.to_csv(folder / "replications.csv", index=False)
        print(
            f"\nover {result.replication_count} replications: {(folder / 'summary.csv').resolve()}"
            f" (mean and 95% interval), {(folder / 'replications.csv').resolve()}; the report "
            "shows replication 0"
        )
        result = result.replication(0)
    report = build_report(result)
    path = report.to_html(folder / "report.html")
    if markdown:
        (folder / "report.md").write_text(report.to_markdown(), encoding="utf-8")
    return Path(path)


def _cmd_demo(args: argparse.Namespace) -> int:
    from tqdm.auto import tqdm

    from segsim import datasets

    if args.contacts <= 0:
        raise SegsimError(f"--contacts must be positive, got {args.contacts}")
    _out_folder(args.out)  # before the work, not after it
    started = time.perf_counter()
    with tqdm(total=1, desc="building demo data", disable=args.no_progress, leave=False) as bar:
        scenario = datasets.demo_scenario(contacts=args.contacts, seed=args.seed)
        store = scenario.store
        bar.update(1)
    print(f"demo data: {store!r}")
    result = _simulate(scenario, not args.no_progress)
    print(f"{result!r} in {time.perf_counter() - started:.1f} s\n")
    _print_summary(result)
    path = _write_report(result, _out_folder(args.out))
    print(f"\nreport: {path.resolve()}")
    return EXIT_OK


def _load(path: Path) -> Any:
    from segsim.scenario import load_scenario

    return load_scenario(path)


def _cmd_run(args: argparse.Namespace) -> int:
    folder = _out_folder(args.out)
    scenario = _load(args.scenario)
    result = _simulate(scenario, not args.no_progress, args)
    print(repr(result))
    _print_summary(result)
    out = result.to_parquet(folder)
    if args.csv:
        result.to_csv(folder)
    path = _write_report(result, folder)
    kinds = "Parquet and CSV" if args.csv else "Parquet"
    print(f"\nframes ({kinds}): {Path(out).resolve()}\nreport: {path.resolve()}")
    return EXIT_OK


def _cmd_validate(args: argparse.Namespace) -> int:
    from segsim.engine.plan import check_scenario
    from segsim.forecast import forecast_problems

    scenario = _load(args.scenario)  # raises with every structural problem and its YAML path
    problems, warnings = check_scenario(scenario)
    problems = [*problems, *forecast_problems(scenario)]  # the forecast: section vs the data
    for warning in warnings:
        print(f"{args.scenario}: warning: {warning}", file=sys.stderr)
    if problems:
        for problem in problems:
            print(f"{args.scenario}: {problem}", file=sys.stderr)
        print(
            f"{len(problems)} problem{'s' if len(problems) > 1 else ''} in {args.scenario}",
            file=sys.stderr,
        )
        return EXIT_INPUT_ERROR
    print(
        f"{args.scenario}: valid ({len(scenario.segments)} segments, {len(scenario.flows)} flows)"
    )
    return EXIT_OK


#: What the scenario files of ``segsim compare`` must share: only flows and schedules differ.
_SHARED = ("data", "window", "seed", "segments", "channels", "include_existing_members")


def _cmd_compare(args: argparse.Namespace) -> int:
    from segsim.compare import Comparison, scenario_differences

    if len(args.scenarios) < 2:
        raise SegsimError("compare needs at least two scenario files")
    folder = None if args.out is None else _out_folder(args.out)
    scenarios = {}
    for path in args.scenarios:
        name = path.stem
        if name in scenarios:
            name = str(path)
        scenarios[name] = _load(path)
        if args.seed is not None:  # one seed for every variant: common random numbers
            scenarios[name] = scenarios[name].replace(seed=args.seed)
    baseline_name, baseline = next(iter(scenarios.items()))
    problems = [
        f"{name} differs from {baseline_name} in {difference}"
        for name, scenario in list(scenarios.items())[1:]
        for difference in scenario_differences(baseline, scenario, shared=_SHARED)
    ]
    if problems and not args.allow_different:
        raise SegsimError(
            "these scenario files do not describe the same data, window and seed, so their "
            "deltas would mean nothing:\n  "
            + "\n  ".join(problems)
            + "\ncompare files that differ only in flows and schedule, or pass "
            "--allow-different to compare them anyway"
        )
    warnings = [
        f"WARNING: compared anyway (--allow-different): {problem}; the deltas mix these "
        "differences with the flows'"
        for problem in problems
    ]
    for warning in warnings:
        print(warning, file=sys.stderr)
    results = {name: _simulate(s, not args.no_progress, args) for name, s in scenarios.items()}
    comparison = Comparison(results, warnings=warnings)
    for warning in warnings:
        print(warning)
    print(comparison.formatted_summary().to_string(index=False))
    if folder is not None:
        path = comparison.report().to_html(folder / "comparison.html")
        print(f"\nreport: {Path(path).resolve()}")
    return EXIT_OK


def _cmd_report(args: argparse.Namespace) -> int:
    folder = _out_folder(args.out)
    result = _simulate(_load(args.scenario), not args.no_progress, args)
    path = _write_report(result, folder, markdown=args.markdown)
    print(f"report: {path.resolve()}")
    return EXIT_OK


def _cmd_forecast(args: argparse.Namespace) -> int:
    from segsim.forecast import forecast
    from segsim.forecast._report import projection_parts
    from segsim.report import Report, Section

    folder = _out_folder(args.out)
    scenario = _load(args.scenario)
    names = ("horizon", "replications", "seed", "method", "block", "positions")
    options = {name: getattr(args, name) for name in names if getattr(args, name) is not None}
    try:
        fc = forecast(scenario, backtest=args.backtest, **options)
    except (TypeError, ValueError) as exc:  # a bad --horizon, --block or --replications
        raise SegsimError(f"{args.scenario}: forecast: {exc}") from None
    frames = {"forecast": fc.to_frame(), "forecast_summary": fc.summary()}
    if fc.backtest is not None:
        frames["backtest"] = fc.backtest.weeks
    for name, frame in frames.items():
        frame.to_parquet(folder / f"{name}.parquet", index=False)
        if args.csv:
            frame.to_csv(folder / f"{name}.csv", index=False)
    title = f"Projection (estimate): {fc.start:%Y-%m-%d %H:%M} → {fc.end:%Y-%m-%d %H:%M} UTC"
    report = Report(title, [Section(**p) for p in projection_parts(fc)], currency=fc.currency)
    path = Path(report.to_html(folder / "forecast.html"))
    if args.markdown:
        (folder / "forecast.md").write_text(report.to_markdown(), encoding="utf-8")
    print(repr(fc))
    print(fc.totals(by=["flow", "channel"]).to_string(index=False))
    if fc.backtest is not None:
        print(f"{fc.backtest!r}\n{fc.backtest.at_level(0.9)!r}")
    print(f"\nframes (Parquet): {folder.resolve()}\nreport: {path.resolve()}")
    return EXIT_OK


def _cmd_json_schema(args: argparse.Namespace) -> int:
    from segsim.scenario import scenario_json_schema

    print(json.dumps(scenario_json_schema(), indent=2))
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    parser = _build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on usage errors, 0 on --help
        return int(exc.code or 0)
    if getattr(args, "handler", None) is None:
        parser.print_help()
        return EXIT_USAGE
    try:
        return int(args.handler(args))
    except SegsimError as exc:
        print(f"segsim: error: {exc}", file=sys.stderr)
        return EXIT_INPUT_ERROR


def entry_point() -> None:  # pragma: no cover - the console script
    try:
        code = main()
        sys.stdout.flush()
    except BrokenPipeError:  # e.g. `segsim schema | head`: the reader left, that is fine
        code = EXIT_OK
        sys.stdout = None  # nothing more to flush
    sys.exit(code)


if __name__ == "__main__":  # pragma: no cover
    entry_point()
