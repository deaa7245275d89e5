"""The ``segsim`` command line.

Exit codes scripts can rely on: 0 success, 1 a segsim error in the input (bad data,
scenario or flow: the message says where), 2 a usage error (unknown option, missing file
argument; argparse's own convention).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence

from segsim.errors import SegsimError

EXIT_OK = 0
EXIT_INPUT_ERROR = 1
EXIT_USAGE = 2

_DEMO_HELP = """\
Build the built-in demo data and summarise it.

example:
  segsim demo
  segsim demo --contacts 20000 --seed 3
"""


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="segsim",
        description="Dry-run segment-triggered automation flows on real contact histories.",
        epilog="example: segsim demo",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    from segsim import __version__

    parser.add_argument("--version", action="version", version=f"segsim {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    demo = commands.add_parser(
        "demo",
        help="run the main job on the built-in demo data",
        description=_DEMO_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    demo.add_argument("--contacts", type=int, default=5_000, help="contacts to generate (default 5000)")
    demo.add_argument("--seed", type=int, default=7, help="random seed of the data (default 7)")
    demo.add_argument("--no-progress", action="store_true", help="hide progress bars")
    demo.set_defaults(handler=_cmd_demo)
    return parser


def _cmd_demo(args: argparse.Namespace) -> int:
    from tqdm.auto import tqdm

    from segsim import datasets

    if args.contacts <= 0:
        raise SegsimError(f"--contacts must be positive, got {args.contacts}")
    started = time.perf_counter()
    with tqdm(total=1, desc="building demo data", disable=args.no_progress, leave=False) as bar:
        store = datasets.demo(contacts=args.contacts, seed=args.seed)
        bar.update(1)
    elapsed = time.perf_counter() - started
    print(f"demo data: {store!r} (built in {elapsed:.1f} s)")
    print()
    print(store.attributes.to_string(index=False))
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    parser = _build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "handler", None) is None:
        parser.print_help()
        return EXIT_USAGE
    try:
        return int(args.handler(args))
    except SegsimError as exc:
        print(f"segsim: error: {exc}", file=sys.stderr)
        return EXIT_INPUT_ERROR


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
