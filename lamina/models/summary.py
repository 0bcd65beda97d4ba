"""`model.summary()`: a table of layers, output shapes and parameter counts.

The format follows Keras 3: a boxed table, then total, trainable and
non-trainable parameter counts with their sizes in bytes.
"""

from __future__ import annotations

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


def print_summary(
    model: Any, line_length: int | None = None, print_fn: Callable | None = None
) -> None:
    print_fn = print_fn or print
    layers = list(model.layers)
    functional = hasattr(model, "_nodes")
    headers = ["Layer (type)", "Output Shape", "Param #"] + (["Connected to"] if functional else [])
    rows = []
    for layer in layers:
        total = _counts(layer)[0]
        shape = getattr(layer, "_output_shape", None)  # from a symbolic call (graph models)
        if shape is None:  # from the first eager call (subclassed models)
            shape = layer.__dict__.get("_call_output_shape")
        if shape is None and type(layer).__name__ == "InputLayer":
            shape = layer.output.shape
        row = [f"{layer.name} ({type(layer).__name__})", _fmt_shape(shape), f"{total:,}"]
        if functional:
            row.append(_connected(layer, model))
        rows.append(row)
    widths = [
        max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)
    ]
    widths = [max(widths[0], 31), max(widths[1], 22), max(widths[2], 13)] + widths[3:]
    if line_length:
        widths[0] = max(widths[0], line_length - sum(widths[1:]) - 3 * len(widths) - 1)

    def line(left: str, mid: str, right: str, fill: str) -> str:
        return left + mid.join(fill * (w + 2) for w in widths) + right

    def cells(values: list[str], sep: str) -> str:
        out = []
        for i, (v, w) in enumerate(zip(values, widths)):
            out.append(" " + (v.rjust(w) if i == 2 else v.ljust(w)) + " ")
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
