"""The `stacklevel` that points a Lamina warning at the user's own line.

A base module: the engine's deprecation warnings and the image pipeline's bad-file
warnings both name the first frame outside the lamina package, however many of
Lamina's frames (fit, a subclass's override, helpers, iterators) lie in between.
"""

from __future__ import annotations

import os
import sys

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep


def user_stacklevel() -> int:
    """The `stacklevel` that makes a warning raised by this function's caller name the
    first line outside the lamina package: the user's call."""
    frame = sys._getframe(1)  # the caller, which calls warnings.warn: stacklevel 1
    level = 1
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(_PACKAGE_DIR):
        frame = frame.f_back
        level += 1
    return level
