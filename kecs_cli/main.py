"""`kecs-secrets`: the parser (argparse, one subparser per command module) and the one place errors become one line."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping, Sequence

from kecs_cli.commands import DEFAULT_EXIT_CODES, commands
from kecs_secrets.errors import KecsSecretsError

__all__ = ["build_parser", "main"]


def _exit_codes(codes: Mapping[int, str]) -> str:
    return "exit codes:\n" + "\n".join(f"  {code}  {meaning}" for code, meaning in sorted(codes.items()))


def build_parser() -> argparse.ArgumentParser:
    """The whole command line: ``kecs-secrets <command> [options]``."""
    parser = argparse.ArgumentParser(
        prog="kecs-secrets",
        description="The helpers around the kecs-secrets Pulumi program. `kecs-secrets <command> --help` for each.",
        epilog=_exit_codes(DEFAULT_EXIT_CODES),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="<command>", title="commands")
    for command in commands():
        child = sub.add_parser(command.name, help=command.summary, description=command.description,
                               epilog=_exit_codes(command.exit_codes), formatter_class=argparse.RawDescriptionHelpFormatter)
        command.add_arguments(child)
        child.set_defaults(run=command.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.run(args))
    except KecsSecretsError as err:
        print(f"{type(err).__name__}: {err}", file=sys.stderr)
        return 1
