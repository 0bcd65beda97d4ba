"""Interactive logging, as `keras.utils.enable_interactive_logging` and friends.

Enabled (the default), progress bars and messages go to stdout, bars redrawn in place
on a terminal. Disabled, each message goes to the `lamina` logger at INFO level
instead (for jobs whose stdout is collected as logs), and bars write only their
final line.
"""

from __future__ import annotations

import logging
import sys

_INTERACTIVE = True
logger = logging.getLogger("lamina")


def enable_interactive_logging() -> None:
    """Write progress and messages to stdout (the default)."""
    global _INTERACTIVE
    _INTERACTIVE = True


def disable_interactive_logging() -> None:
    """Send progress and messages to the `lamina` logger instead of stdout."""
    global _INTERACTIVE
    _INTERACTIVE = False


def is_interactive_logging_enabled() -> bool:
    """Whether progress and messages go to stdout."""
    return _INTERACTIVE


def print_msg(message: str, line_break: bool = True) -> None:
    """Write `message` to stdout, or log it when interactive logging is disabled."""
    if _INTERACTIVE:
        sys.stdout.write(message + ("\n" if line_break else ""))
        sys.stdout.flush()
    else:
        logger.info(message.strip("\r\n"))
