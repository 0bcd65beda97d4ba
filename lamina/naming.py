"""Automatic object names ('dense', 'dense_1', ...) and their reset, as Keras numbers layers.

A base module: layers take their default names here, and `lamina.utils.clear_session`
restarts the numbering without importing the layers.
"""

from __future__ import annotations

_NAME_COUNTS: dict[str, int] = {}


def unique_name(prefix: str) -> str:
    """'dense', 'dense_1', 'dense_2', ... as Keras names new layers."""
    count = _NAME_COUNTS.get(prefix, 0)
    _NAME_COUNTS[prefix] = count + 1
    return prefix if count == 0 else f"{prefix}_{count}"


def reset_names() -> None:
    """Restart automatic naming (used by `lamina.utils.clear_session`)."""
    _NAME_COUNTS.clear()
