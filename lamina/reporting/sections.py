"""The report's sections, each drawn on its own: one that fails shows its error, not a crash.

Plots come from `lamina.plot`, whose modules import matplotlib only when they draw, so
importing this module (and `import lamina`) stays free of matplotlib.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from lamina import plot
from lamina.layers import Conv2D, DepthwiseConv2D, SeparableConv2D
from lamina.reporting import diagnostics_section
from lamina.reporting.page import BANDS, Section, error_box, image, paragraph, text

# what the report draws "the filters of the first convolution" from
CONVOLUTIONS = (Conv2D, DepthwiseConv2D, SeparableConv2D)
FIGURE_DPI = 90


def guarded(key: str, draw: Callable[[Section], None]) -> Section:
    """Section `key` filled by `draw`; if drawing raises, the section shows the error instead."""
    section = Section(key)
    try:
        draw(section)
    except Exception as err:  # noqa: BLE001 - a report shows what it could draw
        section.body.append(error_box(section_name(key), err))
    return section


def section_name(key: str) -> str:
    return BANDS[key][0].lower() or key


def figure_html(fig: Any, alt: str) -> str:
    """The figure embedded as a PNG; the figure is closed afterwards."""
    from lamina.plot.figure import png_bytes, pyplot

    try:
        return image(png_bytes(fig, dpi=FIGURE_DPI), alt)
    finally:
        pyplot().close(fig)


def summary_lines(model: Any) -> list[str]:
    """The lines `model.summary()` prints."""
    lines: list[str] = []
    model.summary(print_fn=lambda line="", *args, **kwargs: lines.append(str(line)))
    return lines


def walk_layers(layers: Any) -> Iterator[Any]:
    """Every layer, depth first, nested models' layers included."""
    for layer in layers or ():
        yield layer
        yield from walk_layers(getattr(layer, "layers", None))


def first_convolution(model: Any) -> Any | None:
    """The first 2-D convolution of `model` (nested models searched), or None."""
    return next((la for la in walk_layers(model.layers) if isinstance(la, CONVOLUTIONS)), None)


def history_logs(history: Any) -> dict[str, list[Any]]:
    """The per-epoch logs of a History (or the dict itself)."""
    logs = getattr(history, "history", history)
    return logs if isinstance(logs, dict) else {}


# -- sections ------------------------------------------------------------------------------
def header(
    model: Any, history: Any, data: tuple[Any, Any] | None, title: str, version: str
) -> Section:
    def draw(section: Section) -> None:
        section.heading = title
        facts = [f"Model {getattr(model, 'name', type(model).__name__)!s}"]
        params = getattr(model, "count_params", None)
        if callable(params):
            facts.append(f"{params():,} parameters")
        epochs = len(next(iter(history_logs(history).values()), []))
        if epochs:
            facts.append(f"trained {epochs} epoch{'s' if epochs != 1 else ''}")
        if data is not None:
            facts.append(f"evaluated on {len(data[0]):,} samples")
        facts.append(f"written by Lamina {version}")
        section.body.append(paragraph("; ".join(facts) + "."))

    return guarded("header", draw)


def summary(model: Any) -> Section:
    def draw(section: Section) -> None:
        section.body.append(f"<pre>{text(chr(10).join(summary_lines(model)))}</pre>")

    return guarded("summary", draw)


def curves(history: Any) -> Section:
    def draw(section: Section) -> None:
        if history is None:
            section.body.append(
                paragraph("No history given: pass the History fit returned.", "note")
            )
            return
        fig = plot.history(history)
        best = getattr(fig, "lamina_data", {}).get("best_epoch", {})
        section.body.append(figure_html(fig, "loss and metrics per epoch"))
        if best:
            said = ", ".join(f"{panel} at epoch {epoch}" for panel, epoch in best.items())
            section.body.append(paragraph(f"Best epochs: {said}."))

    return guarded("curves", draw)


def diagnostics(history: Any) -> Section:
    return guarded("diagnostics", lambda section: diagnostics_section.fill(section, history))


def mistakes(
    model: Any,
    data: tuple[Any, Any] | None,
    class_names: Any,
    n: int,
    batch_size: int,
    wrong: int | None = None,
) -> Section:
    """The grid of misclassified samples; `wrong` (their total, if known) goes in the text."""

    def draw(section: Section) -> None:
        if data is None:
            section.body.append(paragraph("No data given: pass data=(x, y).", "note"))
            return
        x, y = data
        fig = plot.predictions(
            model, x, y, correct=False, n=n, class_names=class_names, batch_size=batch_size
        )
        shown = len(np.asarray(getattr(fig, "lamina_data", {}).get("indices", ())))
        if shown == 0:
            section.body.append(
                paragraph("No mistakes: every sample was classified correctly.", "ok")
            )
        else:
            of = f" of {wrong:,}" if wrong is not None and wrong > shown else ""
            section.body.append(
                paragraph(
                    f"{shown}{of} misclassified sample{'s' if shown + (wrong or 0) > 1 else ''}, "
                    "each with its true label, the predicted label and the model's confidence."
                )
            )
        section.body.append(figure_html(fig, "misclassified samples"))

    return guarded("mistakes", draw)


def confusion(
    model: Any, data: tuple[Any, Any] | None, class_names: Any, batch_size: int
) -> tuple[Section, int | None]:
    """The confusion matrix, and how many samples it counts as misclassified (None if unknown)."""
    wrong: list[int] = []

    def draw(section: Section) -> None:
        if data is None:
            section.body.append(paragraph("No data given: pass data=(x, y).", "note"))
            return
        x, y = data
        fig = plot.confusion_matrix(model, x, y, class_names=class_names, batch_size=batch_size)
        matrix = np.asarray(getattr(fig, "lamina_data", {}).get("matrix", ()), dtype=np.float64)
        # counts (normalize=None): the diagonal is right, the rest wrong
        if matrix.ndim == 2 and matrix.size and matrix.sum() > 0:
            right, total = int(round(np.trace(matrix))), int(round(matrix.sum()))
            wrong.append(total - right)
            section.body.append(
                paragraph(
                    f"Accuracy {100 * right / total:.2f}%: {total - right:,} of {total:,} "
                    "samples misclassified (rows: true class, columns: predicted class)."
                )
            )
        section.body.append(figure_html(fig, "confusion matrix"))

    section = guarded("confusion", draw)
    return section, (wrong[0] if wrong else None)


def filters(model: Any) -> Section:
    def draw(section: Section) -> None:
        layer = first_convolution(model)
        if layer is None:
            section.body.append(
                paragraph(
                    "The model has no 2-D convolution, so there are no filters to show.", "note"
                )
            )
            return
        fig = plot.filters(model, layer)
        section.body.append(
            paragraph(f"Layer {layer.name} ({type(layer).__name__}): each kernel as an image.")
        )
        section.body.append(figure_html(fig, f"filters of {layer.name}"))

    return guarded("filters", draw)


def footer(version: str) -> Section:
    section = Section("footer")
    section.body.append(
        paragraph(
            f"Written by Lamina {version}. This page is self-contained: its images are embedded "
            "and it loads nothing from the network."
        )
    )
    return section
