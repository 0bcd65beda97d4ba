"""The `labels`/`label_mode`/`class_names` checks the folder dataset builders share."""

from __future__ import annotations

from typing import Any

import numpy as np


def check_label_arguments(labels: Any, label_mode: Any, class_names: Any, files: str) -> None:
    """Keras's rules for a folder dataset's label arguments; `files` names what is labelled
    ("image file", ".txt file") in the message."""
    if labels not in ("inferred", None):
        if not isinstance(labels, (list, tuple, np.ndarray)):
            raise ValueError(
                "Expected labels='inferred', None, or a list/tuple of integer labels (one per "
                f"{files}, in sorted path order), received: labels={labels!r}"
            )
        if class_names:
            raise ValueError(
                "Expected class_names only with labels='inferred', received: "
                f"labels=<{len(labels)} labels>, class_names={class_names}"
            )
    if label_mode not in ("int", "categorical", "binary", None):
        raise ValueError(
            "Expected label_mode in ('int', 'categorical', 'binary', None), "
            f"received: label_mode={label_mode!r}"
        )
