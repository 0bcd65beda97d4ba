"""The architecture as a drawing: one box per layer, arrows where tensors flow.

    lamina.plot.model_graph(model, path="model.png")

Each box gives the layer's name, class, output shape and parameter count. Layers are laid
out top to bottom by depth (the longest path from an input), so a Sequential model is a
column and a residual block or a two-input model spreads sideways. Drawn with matplotlib
alone: no graphviz needed. An arrow that would cross other boxes goes around them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from lamina.plot.figure import finish, pyplot


@dataclass
class Graph:
    """The layers (in drawing order), each one's depth, and the edges between them."""

    layers: list[Any]
    depth: dict[str, int]
    edges: list[tuple[str, str]]


def _shape_text(shape: Any) -> str:
    if shape is None:
        return "?"
    if isinstance(shape, list):
        return ", ".join(_shape_text(s) for s in shape)
    dims = ["None" if d is None else str(d) for d in shape]
    return "(" + ", ".join(dims) + ("," if len(dims) == 1 else "") + ")"


def _output_shape(layer: Any) -> Any:
    try:
        return layer.output_shape
    except (AttributeError, ValueError):
        return None


def _symbolic(model: Any) -> tuple[list[Any], list[Any]]:
    """The model's input and output tensors, or an error saying why there is no graph."""
    from lamina.layers.symbolic import KerasTensor

    try:
        inputs, outputs = list(model.inputs), list(model.outputs)
    except (AttributeError, TypeError, ValueError) as err:
        raise ValueError(
            "Expected a Sequential or functional model with a known input shape (a graph to "
            f"draw), received: model '{getattr(model, 'name', model)}' "
            f"({type(model).__name__}) without one"
        ) from err
    if not inputs or not all(isinstance(t, KerasTensor) for t in inputs + outputs):
        raise ValueError(
            "Expected a Sequential or functional model with a known input shape (a graph to "
            f"draw), received: model '{getattr(model, 'name', model)}' ({type(model).__name__})"
        )
    return inputs, outputs


def model_structure(model: Any) -> Graph:
    """Walk the graph back from the outputs: the layers, their depths and the edges."""
    inputs, outputs = _symbolic(model)
    input_ids = {id(t) for t in inputs}
    node_depth: dict[int, int] = {}
    layers: dict[str, Any] = {}
    depth: dict[str, int] = {}
    edges: list[tuple[str, str]] = []

    def visit(tensor: Any) -> int:
        node = tensor.node
        if id(node) in node_depth:
            return node_depth[id(node)]
        parents = [] if id(tensor) in input_ids else node.parent_tensors
        level = 1 + max((visit(p) for p in parents), default=-1)
        node_depth[id(node)] = level
        layer = node.layer
        layers.setdefault(layer.name, layer)
        depth[layer.name] = max(depth.get(layer.name, 0), level)
        for parent in parents:
            edge = (parent.node.layer.name, layer.name)
            if edge not in edges:
                edges.append(edge)
        return level

    for tensor in inputs + outputs:
        visit(tensor)
    rank = {la.name: i for i, la in enumerate(model.layers)}
    ordered = sorted(layers.values(), key=lambda la: (depth[la.name], rank.get(la.name, -1)))
    return Graph(ordered, depth, edges)


def _label(layer: Any) -> list[str]:
    return [
        layer.name,
        type(layer).__name__,
        _shape_text(_output_shape(layer)),
        f"{layer.count_params():,} params",
    ]


def _positions(graph: Graph, spacing: float, row_height: float) -> dict[str, tuple]:
    """Box centres in inches: rows by depth; within a row, ordered by where the parents sit."""
    parents: dict[str, list[str]] = {}
    for src, dst in graph.edges:
        parents.setdefault(dst, []).append(src)
    rows: dict[int, list[Any]] = {}
    for layer in graph.layers:
        rows.setdefault(graph.depth[layer.name], []).append(layer.name)
    where: dict[str, tuple[float, float]] = {}
    for level in sorted(rows):
        names = rows[level]

        def pull(name: str, fallback: float) -> float:
            xs = [where[p][0] for p in parents.get(name, []) if p in where]
            return sum(xs) / len(xs) if xs else fallback

        names = sorted(names, key=lambda n: (pull(n, names.index(n)), names.index(n)))
        for i, name in enumerate(names):
            where[name] = ((i - (len(names) - 1) / 2) * spacing, -level * row_height)
    return where


def _blocked(a: tuple, b: tuple, where: dict, skip: set, w: float) -> bool:
    """Whether the straight arrow from a to b passes through a box other than its ends."""
    (x0, y0), (x1, y1) = a, b
    for name, (cx, cy) in where.items():
        if name in skip or not (min(y0, y1) < cy < max(y0, y1)):
            continue
        x = x0 + (x1 - x0) * (cy - y0) / (y1 - y0)
        if abs(x - cx) < w / 2 + 0.1:
            return True
    return False


def _route(src: str, dst: str, where: dict, w: float, h: float, lanes: dict) -> list[tuple]:
    """The arrow's corners from src to dst: straight down when nothing is in the way, else
    down into the gap below src, sideways past every box of the rows in between, along
    them, and into the top of dst from the gap above it. `lanes` counts the detours
    already taken on each side, so parallel detours do not overlap."""
    (sx, sy), (dx, dy) = where[src], where[dst]
    start, end = (sx, sy - h / 2), (dx, dy + h / 2)
    if src != dst and sy > dy and not _blocked(start, end, where, {src, dst}, w):
        return [start, end]
    low, high = min(sy, dy), max(sy, dy)
    spanned = [cx for cx, cy in where.values() if low <= cy <= high]
    right, left = max(spanned) + w / 2, min(spanned) - w / 2
    middle = (sx + dx) / 2
    side = "right" if right - middle <= middle - left else "left"
    lanes[side] = lanes.get(side, 0) + 1
    step = 0.14 * lanes[side]
    x = right + step if side == "right" else left - step
    nudge = w / 4 if side == "right" else -w / 4
    below = sy - h / 2 - 0.1 - 0.04 * (lanes[side] % 7)  # stays inside the gap between rows
    above = dy + h / 2 + 0.12
    return [
        (sx + nudge, sy - h / 2),
        (sx + nudge, below),
        (x, below),
        (x, above),
        (dx + nudge, above),
        (dx + nudge, dy + h / 2),
    ]


@dataclass
class Layout:
    """Where things go, in inches: box centres by layer name, box size, and each edge's
    arrow as a list of corners (in the order of `Graph.edges`)."""

    where: dict[str, tuple[float, float]]
    width: float
    height: float
    routes: list[list[tuple[float, float]]]
    labels: dict[str, list[str]]


def layout(graph: Graph) -> Layout:
    """Size the boxes to fit the longest text line, place them, route the arrows."""
    labels = {la.name: _label(la) for la in graph.layers}
    chars = max(len(line) for lines in labels.values() for line in lines)
    w, h = 0.3 + 0.072 * chars, 0.86  # fits four lines of 8-point text
    where = _positions(graph, w + 0.35, h + 0.45)
    lanes: dict[str, int] = {}
    routes = [_route(src, dst, where, w, h, lanes) for src, dst in graph.edges]
    return Layout(where, w, h, routes, labels)


def _colour(layer: Any) -> str:
    if type(layer).__name__ == "InputLayer":
        return "#e6e6e6"
    return "#cfe3f7" if layer.count_params() else "#fbefc9"  # with weights, or without


def model_graph(model: Any, path: str | os.PathLike | None = None) -> Any:
    """Draw a Sequential or functional model: one box per layer (name, class, output shape,
    parameter count), arrows along the graph's edges. Saves a PNG when `path` is given.

    `figure.lamina_data` holds {"nodes": [{"name", "class", "output_shape", "params"}],
    "edges": [(source name, destination name)]}; a layer called twice is one box.
    """
    graph = model_structure(model)
    plan = layout(graph)
    plt = pyplot()
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch
    from matplotlib.path import Path as MplPath

    w, h = plan.width, plan.height
    xs = [x for route in plan.routes for x, _ in route]
    xs += [cx + d for cx, _ in plan.where.values() for d in (-w / 2, w / 2)]
    ys = [cy for _, cy in plan.where.values()]
    left, right = min(xs) - 0.25, max(xs) + 0.25
    bottom, top = min(ys) - h / 2 - 0.25, max(ys) + h / 2 + 0.4
    fig = plt.figure(figsize=(max(right - left, 3.0), top - bottom))
    ax = fig.add_axes((0, 0, 1, 1))
    middle = (left + right) / 2
    half = max(right - left, 3.0) / 2
    ax.set_xlim(middle - half, middle + half)
    ax.set_ylim(bottom, top)
    ax.axis("off")
    for layer in graph.layers:
        cx, cy = plan.where[layer.name]
        box = FancyBboxPatch(
            (cx - w / 2, cy - h / 2),
            w,
            h,
            boxstyle="round,pad=0,rounding_size=0.08",
            facecolor=_colour(layer),
            edgecolor="0.3",
            lw=0.9,
        )
        ax.add_patch(box)
        name, cls, shape, params = plan.labels[layer.name]
        ax.text(cx, cy + 0.24, name, ha="center", va="center", fontsize=8, weight="bold")
        ax.text(cx, cy + 0.08, cls, ha="center", va="center", fontsize=8)
        ax.text(cx, cy - 0.08, shape, ha="center", va="center", fontsize=8)
        ax.text(cx, cy - 0.24, params, ha="center", va="center", fontsize=8, color="0.25")
    for vertices in plan.routes:
        codes = [MplPath.MOVETO] + [MplPath.LINETO] * (len(vertices) - 1)
        arrow = FancyArrowPatch(
            path=MplPath(vertices, codes), arrowstyle="-|>", mutation_scale=10, lw=0.9
        )
        arrow.set_color("0.2")
        ax.add_patch(arrow)
    total = sum(la.count_params() for la in graph.layers)
    ax.text(middle, top - 0.2, f"{model.name}: {total:,} parameters", ha="center", fontsize=9)
    nodes = [
        {
            "name": la.name,
            "class": type(la).__name__,
            "output_shape": _output_shape(la),
            "params": la.count_params(),
        }
        for la in graph.layers
    ]
    return finish(fig, path, {"nodes": nodes, "edges": list(graph.edges)})
