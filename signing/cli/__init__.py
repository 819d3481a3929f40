"""``python -m signing``: the command line that mirrors the library.

Exit status: 0 valid, 1 invalid, 2 indeterminate, 3 unusable input (a clear
message on stderr, never a traceback).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from signing.cli import cert_commands, sign_commands
from signing.errors import SigningError

EXIT_VALID = 0
EXIT_INVALID = 1
EXIT_INDETERMINATE = 2
EXIT_UNUSABLE = 3


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        print(f"{self.prog}: error: {message}", file=sys.stderr)
        raise SystemExit(EXIT_UNUSABLE)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m signing", description=__doc__)
    # The subcommands' parsers are _Parser too (exit status 3 on a usage error);
    # typed as the base class, which is all the register() functions use.
    sub: argparse._SubParsersAction[argparse.ArgumentParser] = parser.add_subparsers(
        dest="command", required=True, parser_class=_Parser
    )
    cert_commands.register(sub)
    sign_commands.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args))
    except (SigningError, OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_UNUSABLE
