"""`model.summary()`: a table of layers, output shapes and parameter counts.

The format follows Keras 3: a boxed table, then total, trainable and
non-trainable parameter counts with their sizes in bytes.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any


def _fmt_shape(shape: Any) -> str:
    if shape is None:
        return "?"
    if isinstance(shape, list):
        return ", ".join(_fmt_shape(s) for s in shape)
    return (
        "("
        + ", ".join("None" if d is None else str(d) for d in shape)
        + (",)" if len(shape) == 1 else ")")
    )


def _fmt_bytes(n: int) -> str:
    size = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.2f} {unit}"
        size /= 1024
    return f"{size:.2f} GB"


def _counts(layer: Any) -> tuple[int, int, int]:
    """(total, trainable, non-trainable) parameter counts and total bytes."""
    trainable = sum(int(w.numel()) for w in layer.trainable_weights)
    total = sum(int(w.numel()) for w in layer.weights)
    nbytes = sum(int(w.numel()) * w.element_size() for w in layer.weights)
    return total, trainable, nbytes


def _connected(layer: Any, model: Any) -> str:
    nodes = [n for n in getattr(model, "_nodes", []) if n.layer is layer]
    parts = []
    for node in nodes:
        for t in node.parent_tensors:
            parts.append(f"{t.node.layer.name}[0][{t.index}]")
    return ", ".join(parts) or "-"


def _layer_range(layers: list[Any], layer_range: Any) -> tuple[int, int]:
    """Keras's `layer_range`: the first and last layer whose names match (regexes), inclusive."""
    if layer_range is None:
        return 0, len(layers)
    if len(layer_range) != 2 or not all(isinstance(n, str) for n in layer_range):
        raise ValueError(
            "Expected layer_range as two layer names (or regexes), "
            f"received: layer_range={layer_range!r}"
        )
    lower = [i for i, la in enumerate(layers) if re.match(layer_range[0], la.name)]
    upper = [i for i, la in enumerate(layers) if re.match(layer_range[1], la.name)]
    if not lower or not upper:
        raise ValueError(
            "Expected layer_range to name layers of the model, "
            f"received: layer_range={layer_range!r}"
        )
    if min(lower) > max(upper):
        return min(upper), max(lower) + 1
    return min(lower), max(upper) + 1


def _trainable_cell(layer: Any) -> str:
    """Keras's `show_trainable` column: Y or N for a layer with weights, else -."""
    if not layer.weights:
        return "-"
    return "Y" if layer.trainable else "N"


def print_summary(
    model: Any,
    line_length: int | None = None,
    positions: Any = None,
    print_fn: Callable | None = None,
    expand_nested: bool = False,
    show_trainable: bool = False,
    layer_range: Any = None,
) -> None:
    """Keras's `print_summary`. `expand_nested` lists a nested model's layers under it
    (prefixed with "└"), `show_trainable` adds the Trainable column, `layer_range` shows
    the layers between two names; `positions` (column ends as fractions of `line_length`,
    or absolute) sets the column widths, else they fit their contents."""
    print_fn = print_fn or print
    layers = list(model.layers)
    functional = hasattr(model, "_nodes")
    headers = ["Layer (type)", "Output Shape", "Param #"] + (["Connected to"] if functional else [])
    if show_trainable:
        headers.append("Trainable")
    rows = []

    def add_rows(layer: Any, level: int, owner: Any) -> None:
        total = _counts(layer)[0]
        shape = getattr(layer, "_output_shape", None)  # from a symbolic call (graph models)
        if shape is None:  # from the first eager call (subclassed models)
            shape = layer.__dict__.get("_call_output_shape")
        if shape is None and type(layer).__name__ == "InputLayer":
            shape = layer.output.shape
        prefix = "   " * level + "└ " if level else ""
        row = [f"{prefix}{layer.name} ({type(layer).__name__})", _fmt_shape(shape), f"{total:,}"]
        if functional:
            row.append(_connected(layer, owner) if level == 0 else "-")
        if show_trainable:
            row.append(_trainable_cell(layer))
        rows.append(row)
        if expand_nested and getattr(layer, "layers", None):
            for sub in layer.layers:
                add_rows(sub, level + 1, layer)

    first, last = _layer_range(layers, layer_range)
    for layer in layers[first:last]:
        add_rows(layer, 0, model)
    widths = [
        max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)
    ]
    widths = [max(widths[0], 31), max(widths[1], 22), max(widths[2], 13)] + widths[3:]
    if positions is not None:
        widths = _positioned_widths(positions, line_length, len(headers))
    elif line_length:
        widths[0] = max(widths[0], line_length - sum(widths[1:]) - 3 * len(widths) - 1)

    def line(left: str, mid: str, right: str, fill: str) -> str:
        return left + mid.join(fill * (w + 2) for w in widths) + right

    def cells(values: list[str], sep: str) -> str:
        out = []
        for i, (v, w) in enumerate(zip(values, widths)):
            if len(v) > w:
                v = v[: max(w - 1, 0)] + "…"
            centered = show_trainable and i == len(headers) - 1
            out.append(
                " " + (v.center(w) if centered else v.rjust(w) if i == 2 else v.ljust(w)) + " "
            )
        return sep + sep.join(out) + sep

    print_fn(f'Model: "{model.name}"')
    print_fn(line("┏", "┳", "┓", "━"))
    print_fn(cells(headers, "┃"))
    print_fn(line("┡", "╇", "┩", "━"))
    for i, row in enumerate(rows):
        print_fn(cells(row, "│"))
        if i < len(rows) - 1:
            print_fn(line("├", "┼", "┤", "─"))
    print_fn(line("└", "┴", "┘", "─"))
    total, trainable, nbytes = _counts(model)
    per = nbytes / total if total else 4
    print_fn(f" Total params: {total:,} ({_fmt_bytes(nbytes)})")
    print_fn(f" Trainable params: {trainable:,} ({_fmt_bytes(int(trainable * per))})")
    print_fn(
        f" Non-trainable params: {total - trainable:,} ({_fmt_bytes(int((total - trainable) * per))})"
    )


def _positioned_widths(positions: Any, line_length: int | None, columns: int) -> list[int]:
    """Column widths from Keras's `positions`: each column's right end, as a fraction of the
    line length (values <= 1) or in characters."""
    if len(positions) != columns:
        raise ValueError(
            f"Expected {columns} positions (one per column), received: positions={positions!r}"
        )
    length = line_length or (108 if columns > 3 else 88)
    ends = [int(p * length) if p <= 1 else int(p) for p in positions]
    widths, start = [], 0
    for end in ends:
        widths.append(max(end - start - 3, 4))
        start = end
    return widths
