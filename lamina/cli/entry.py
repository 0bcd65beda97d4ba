"""`lamina`'s entry point: runs the Typer app and turns every error into one line.

Exit codes: 0 ok, 1 failure (a broken file, a model that does not fit the data),
2 usage (a missing or wrong argument, an unknown example), 130 interrupted. The message
reads `lamina: error: ...`; `lamina --debug CMD` or LAMINA_DEBUG=1 adds the traceback.
"""

from __future__ import annotations

import os
import sys
import traceback
import warnings
from collections.abc import Sequence
from typing import Any

import typer

from lamina.cli.errors import FAILURE, USAGE, CliError


def _say(kind: str, message: str) -> None:
    line = " ".join(str(message).split())
    print(f"lamina: {kind}: {line}", file=sys.stderr, flush=True)


def _one_line_warning(message: Any, category: type, *args: Any, **kwargs: Any) -> None:
    _say("warning", f"{category.__name__}: {message}")


def _explain(err: BaseException) -> str:
    text = " ".join(str(err).split())
    if text.startswith("Expected"):
        return text
    return f"{type(err).__name__}: {text}" if text else type(err).__name__


def main(argv: Sequence[str] | None = None) -> int:
    """Run `lamina` with `argv` (default: the process's arguments); return the exit code."""
    from lamina.cli.app import app, options

    options.debug = os.environ.get("LAMINA_DEBUG", "") not in ("", "0")
    args = list(sys.argv[1:] if argv is None else argv)
    command = typer.main.get_command(app)
    with warnings.catch_warnings():
        warnings.showwarning = _one_line_warning
        try:
            result = command.main(args=args, prog_name="lamina", standalone_mode=False)
        except KeyboardInterrupt:
            _say("error", "interrupted")
            return 130
        except Exception as err:  # every failure becomes one line; --debug shows where
            return _report(err, options.debug)
    return result if isinstance(result, int) else 0


def _report(err: Exception, debug: bool) -> int:
    """Print `err` as one line and return its exit code.

    Typer's parsing errors are click's (Typer 0.29 ships its own copy of click, older
    releases use click itself), so they are recognised by their interface: an int
    `exit_code` (2 for usage errors) and `format_message()`.
    """
    name = type(err).__name__
    if name == "NoArgsIsHelpError":  # bare `lamina`: the help, as a usage error
        typer.echo(err.format_message())  # type: ignore[attr-defined]
        return USAGE
    if name == "Abort":
        _say("error", "aborted")
        return FAILURE
    code = getattr(err, "exit_code", None)
    if isinstance(code, int) and callable(getattr(err, "format_message", None)):
        ctx = getattr(err, "ctx", None)
        where = ctx.command_path if ctx is not None else "lamina"
        _say("error", f"{err.format_message()} (see '{where} --help')")  # type: ignore[attr-defined]
        return code
    if debug:
        traceback.print_exc()
    if isinstance(err, CliError):
        _say("error", str(err))
        return err.code
    _say(
        "error",
        _explain(err) + ("" if debug else " (lamina --debug COMMAND ... shows the traceback)"),
    )
    return FAILURE
