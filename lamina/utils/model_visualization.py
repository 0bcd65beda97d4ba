"""`model_to_dot` and `plot_model`: a model's layer graph, as `keras.utils`.

The graph (one box per layer: name and type, optionally input/output shapes, dtype,
activation and trainable flag, and its parameter count; an arrow per connection) is
built once. `model_to_dot` returns it as a `pydot.Dot` when pydot is installed, else as
a `DotGraph` holding the same DOT source. `plot_model` renders with Graphviz (through
pydot) when both are present, and otherwise draws the graph itself with matplotlib.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from dataclasses import dataclass, field
from typing import Any

from lamina.io_utils import atomic_write
from lamina.layers.symbolic import KerasTensor


@dataclass
class LayerBox:
    """One layer's box: its id, the lines of its label and the ids it receives from."""

    key: str
    lines: list[str]
    parents: list[str] = field(default_factory=list)


def _shape_text(shape: Any) -> str:
    if shape is None:
        return "?"
    if isinstance(shape, list):
        return ", ".join(_shape_text(s) for s in shape)
    return (
        "("
        + ", ".join("None" if d is None else str(d) for d in shape)
        + (",)" if len(shape) == 1 else ")")
    )


def _count(layer: Any) -> int:
    return sum(int(w.numel()) for w in getattr(layer, "weights", []))


def _activation(layer: Any) -> str | None:
    act = getattr(layer, "activation", None)
    if act is None:
        return None
    return getattr(act, "name", None) or getattr(act, "__name__", None) or str(act)


def layer_boxes(
    model: Any,
    show_shapes: bool = False,
    show_dtype: bool = False,
    show_layer_names: bool = True,
    show_layer_activations: bool = False,
    show_trainable: bool = False,
) -> list[LayerBox]:
    """The boxes of `model`'s layers in order, with the connections between them."""
    layers = list(model.layers)
    nodes = getattr(model, "_nodes", None)
    inputs = [t for t in (getattr(model, "inputs", None) or []) if isinstance(t, KerasTensor)]
    if nodes is None and inputs and inputs[0].node is not None:
        source = inputs[0].node.layer  # a Sequential's InputLayer, not in its .layers
        if source not in layers:
            layers.insert(0, source)
    parents: dict[int, list[Any]] = {id(layer): [] for layer in layers}
    in_shapes: dict[int, list[Any]] = {id(layer): [] for layer in layers}
    if nodes is not None:
        for node in nodes:
            for tensor in node.parent_tensors:
                if tensor.node is not None and id(node.layer) in parents:
                    parents[id(node.layer)].append(tensor.node.layer)
                    in_shapes[id(node.layer)].append(tensor.shape)
    else:
        for before, layer in zip(layers, layers[1:]):
            parents[id(layer)].append(before)
            in_shapes[id(layer)].append(getattr(before, "_output_shape", None))
    boxes = []
    for layer in layers:
        kind = type(layer).__name__
        lines = [f"{layer.name} ({kind})" if show_layer_names else kind]
        activation = _activation(layer)
        if show_layer_activations and activation is not None:
            lines.append(f"Activation: {activation}")
        out_shape = getattr(layer, "_output_shape", None)
        if out_shape is None and kind == "InputLayer":
            out_shape = layer.output.shape
        if show_shapes:
            shapes = in_shapes[id(layer)]
            input_text = _shape_text(
                shapes if len(shapes) > 1 else (shapes[0] if shapes else out_shape)
            )
            lines.append(f"Input shape: {input_text}")
            lines.append(f"Output shape: {_shape_text(out_shape)}")
        if show_dtype:
            lines.append(f"Output dtype: {getattr(layer, 'dtype', None) or '?'}")
        if show_trainable:
            lines.append(f"Trainable: {'T' if getattr(layer, 'trainable', True) else 'F'}")
        lines.append(f"Params: {_count(layer):,}")
        boxes.append(LayerBox(str(id(layer)), lines, [str(id(p)) for p in parents[id(layer)]]))
    return boxes


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def dot_source(
    boxes: list[LayerBox], rankdir: str = "TB", dpi: int = 200, splines: str = "ortho"
) -> str:
    """The DOT text of the boxes: one record node per layer, one edge per connection."""
    out = [
        "digraph model {",
        f'  graph [rankdir="{rankdir}", dpi={dpi}, splines="{splines}"];',
        "  node [shape=box];",
    ]
    for box in boxes:
        out.append(
            f'  "{box.key}" [label="{_escape(chr(10).join(box.lines))}"];'.replace(chr(10), "\\n")
        )
    for box in boxes:
        for parent in box.parents:
            out.append(f'  "{parent}" -> "{box.key}";')
    out.append("}")
    return "\n".join(out) + "\n"


class DotGraph:
    """The graph `model_to_dot` returns when pydot is missing: its DOT text and boxes."""

    def __init__(self, source: str, boxes: list[LayerBox]):
        self.source, self.boxes = source, boxes

    def to_string(self) -> str:
        return self.source

    def get_nodes(self) -> list[LayerBox]:
        return list(self.boxes)

    def get_edges(self) -> list[tuple[str, str]]:
        return [(parent, box.key) for box in self.boxes for parent in box.parents]


def _check_rankdir(rankdir: str) -> None:
    if rankdir not in ("TB", "LR"):
        raise ValueError(f"Expected rankdir 'TB' or 'LR', received: rankdir={rankdir!r}")


def model_to_dot(
    model: Any,
    show_shapes: bool = False,
    show_dtype: bool = False,
    show_layer_names: bool = True,
    rankdir: str = "TB",
    expand_nested: bool = False,
    dpi: int = 200,
    subgraph: bool = False,
    show_layer_activations: bool = False,
    show_trainable: bool = False,
    splines: str = "ortho",
    **kwargs: Any,
) -> Any:
    """The layer graph of `model` as a `pydot.Dot` (or a `DotGraph` without pydot).

    `expand_nested` and `subgraph` are accepted; nested models show as one box.
    """
    if kwargs:
        raise ValueError(f"Expected no other keyword arguments, received: {sorted(kwargs)}")
    if not getattr(model, "built", True) and not list(getattr(model, "layers", [])):
        raise ValueError("Expected a built model with layers, received: an empty model")
    _check_rankdir(rankdir)
    boxes = layer_boxes(
        model, show_shapes, show_dtype, show_layer_names, show_layer_activations, show_trainable
    )
    source = dot_source(boxes, rankdir, dpi, splines)
    if importlib.util.find_spec("pydot") is not None:
        import pydot

        return pydot.graph_from_dot_data(source)[0]
    return DotGraph(source, boxes)


def _depths(boxes: list[LayerBox]) -> dict[str, int]:
    """Each box's level: 0 for inputs, else one more than its deepest parent."""
    depth: dict[str, int] = {}
    for box in boxes:  # layers come in topological order
        depth[box.key] = 1 + max((depth.get(p, 0) for p in box.parents), default=-1)
    return depth


def draw_with_matplotlib(boxes: list[LayerBox], to_file: str, rankdir: str, dpi: int) -> None:
    """Boxes placed level by level (top-down for 'TB', left-right for 'LR'), arrows between."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.patches import FancyArrowPatch

    depth = _depths(boxes)
    levels: dict[int, list[LayerBox]] = {}
    for box in boxes:
        levels.setdefault(depth[box.key], []).append(box)
    n_levels, width = len(levels), max(len(v) for v in levels.values())
    longest = max(len(line) for box in boxes for line in box.lines)
    box_w, box_h = max(2.5, 0.11 * longest), 0.35 + 0.25 * max(len(b.lines) for b in boxes)
    gap_x, gap_y = box_w + 0.6, box_h + 0.7
    pos: dict[str, tuple[float, float]] = {}
    for level, row in levels.items():
        for i, box in enumerate(row):
            across = (i - (len(row) - 1) / 2) * gap_x
            along = -level * gap_y
            pos[box.key] = (across, along) if rankdir == "TB" else (level * gap_x, -i * gap_y)
    if rankdir == "TB":
        size = (max(4.0, width * gap_x), max(2.0, n_levels * gap_y))
    else:
        size = (max(4.0, n_levels * gap_x), max(2.0, width * gap_y))
    fig = Figure(figsize=size)
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_axis_off()
    for box in boxes:
        x, y = pos[box.key]
        ax.text(
            x,
            y,
            "\n".join(box.lines),
            ha="center",
            va="center",
            fontsize=8,
            family="monospace",
            bbox={"boxstyle": "round,pad=0.4", "facecolor": "white", "edgecolor": "black"},
        )
        for parent in box.parents:
            px, py = pos[parent]
            ax.add_patch(
                FancyArrowPatch(
                    (px, py - box_h / 2) if rankdir == "TB" else (px + box_w / 2, py),
                    (x, y + box_h / 2) if rankdir == "TB" else (x - box_w / 2, y),
                    arrowstyle="-|>",
                    mutation_scale=12,
                    color="black",
                )
            )
    xs, ys = [p[0] for p in pos.values()], [p[1] for p in pos.values()]
    ax.set_xlim(min(xs) - box_w, max(xs) + box_w)
    ax.set_ylim(min(ys) - box_h, max(ys) + box_h)
    extension = os.path.splitext(to_file)[1][1:].lower() or "png"
    with atomic_write(to_file) as f:
        fig.savefig(f, format=extension, dpi=min(dpi, 200))


def plot_model(
    model: Any,
    to_file: str | os.PathLike = "model.png",
    show_shapes: bool = False,
    show_dtype: bool = False,
    show_layer_names: bool = False,
    rankdir: str = "TB",
    expand_nested: bool = False,
    dpi: int = 200,
    show_layer_activations: bool = False,
    show_trainable: bool = False,
    splines: str = "ortho",
    **kwargs: Any,
) -> None:
    """Draw `model`'s layer graph to `to_file` (its extension picks the format).

    Graphviz renders it when pydot and the `dot` program are installed; otherwise
    matplotlib draws the same boxes and arrows.
    """
    to_file = os.fspath(to_file)
    graph = model_to_dot(
        model,
        show_shapes=show_shapes,
        show_dtype=show_dtype,
        show_layer_names=show_layer_names,
        rankdir=rankdir,
        expand_nested=expand_nested,
        dpi=dpi,
        show_layer_activations=show_layer_activations,
        show_trainable=show_trainable,
        splines=splines,
        **kwargs,
    )
    extension = os.path.splitext(to_file)[1][1:] or "png"
    if not isinstance(graph, DotGraph) and shutil.which("dot") is not None:
        graph.write(to_file, format=extension)
        return
    boxes = (
        graph.boxes
        if isinstance(graph, DotGraph)
        else layer_boxes(
            model, show_shapes, show_dtype, show_layer_names, show_layer_activations, show_trainable
        )
    )
    draw_with_matplotlib(boxes, to_file, rankdir, dpi)
