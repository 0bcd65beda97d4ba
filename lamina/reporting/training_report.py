"""`lamina.report(model, history, data=(x, y))`: the training report as one HTML file.

    history = model.fit(x, y, epochs=6, validation_split=0.1, diagnose=True)
    path = lamina.report(model, history, data=(x_test, y_test))

The page holds the model summary, the learning curves, the diagnostics, the mistakes grid,
the confusion matrix and the filters of the first convolution. It is self-contained (images
embedded as data URIs, inline CSS, no scripts) and its Content-Security-Policy forbids any
network request, so it opens offline and can be mailed or archived as it is.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

from lamina.io_utils import atomic_write
from lamina.plot.classified import reusing_classifications
from lamina.reporting import sections
from lamina.reporting.page import page


def report(
    model: Any,
    history: Any = None,
    data: tuple[Any, Any] | None = None,
    path: str | os.PathLike = "lamina_report.html",
    title: str | None = None,
    class_names: Sequence[str] | None = None,
    n_mistakes: int = 25,
    batch_size: int = 256,
) -> Path:
    """Write the training report of `model` to `path` (atomically); return the path.

    `history` is what `fit` returned (its `diagnostics` too, with `fit(diagnose=True)`);
    `data=(x, y)` are the samples the mistakes and the confusion matrix are drawn from,
    `y` as class indices or one-hot. A section that cannot be drawn shows its error instead.
    """
    if data is not None and (not isinstance(data, (tuple, list)) or len(data) != 2):
        raise ValueError(
            f"Expected data=(x, y), received: data={type(data).__name__}"
            + (f" of length {len(data)}" if isinstance(data, (tuple, list)) else "")
        )
    if data is not None and len(data[0]) != len(data[1]):
        raise ValueError(
            f"Expected as many labels as samples in data=(x, y), received: "
            f"len(x)={len(data[0])}, len(y)={len(data[1])}"
        )
    if n_mistakes < 1:
        raise ValueError(f"Expected n_mistakes >= 1, received: n_mistakes={n_mistakes}")
    # the installed distribution's version: importing the top package from here would be a cycle
    try:
        __version__ = metadata.version("lamina")
    except metadata.PackageNotFoundError:
        __version__ = "unknown"

    title = title or f"Training report: {getattr(model, 'name', type(model).__name__)}"
    # the confusion matrix first: the mistakes' text says how many there are in all; both
    # draw from one prediction over the data
    with reusing_classifications():
        confusion, wrong = sections.confusion(model, data, class_names, batch_size)
        parts = [
            sections.header(model, history, data, title, __version__),
            sections.summary(model),
            sections.curves(history),
            sections.diagnostics(history),
            sections.mistakes(model, data, class_names, n_mistakes, batch_size, wrong),
            confusion,
            sections.filters(model),
            sections.footer(__version__),
        ]
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_write(path) as f:
        f.write(page(title, parts).encode("utf-8"))
    return path
