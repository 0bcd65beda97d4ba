"""Sizes of an example run: `--quick` picks the small ones, and an option given on the
command line wins over both (the leading underscore keeps this helper out of
`lamina examples`).

from _sizes import parse_sized
args = parse_sized(parser, argv, QUICK, FULL)   # options left at None take QUICK's or FULL's
args = fill_sizes(args, QUICK, FULL)            # the same, on arguments parsed already
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any


def parse_sized(
    parser: argparse.ArgumentParser,
    argv: Sequence[str] | None,
    quick: dict[str, Any],
    full: dict[str, Any],
) -> argparse.Namespace:
    """Parse `argv`; each option still None takes its value from `quick` when --quick is
    given, else from `full`."""
    return fill_sizes(parser.parse_args(argv), quick, full)


def fill_sizes(
    args: argparse.Namespace, quick: dict[str, Any], full: dict[str, Any]
) -> argparse.Namespace:
    """`args` with each option still None set from `quick` (with --quick) or `full`."""
    for name, value in (quick if args.quick else full).items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    return args
