"""The architecture drawing: one box per layer of the model (name, class, output shape,
count_params), one arrow per edge of the graph as the model's own config records it, no
box on top of another and no arrow through a box; and it matches its reference image."""

from __future__ import annotations

from typing import Any

import pytest

import lamina as keras
from lamina import layers
from lamina.plot import model_graph
from lamina.plot.architecture import layout, model_structure
from tests.plot.image_compare import assert_matches_baseline


def _residual_two_inputs() -> keras.Model:
    """Dense -> Dense added back to the first Dense's output and to the input (two skips),
    then concatenated with a second input."""
    a = keras.Input((16,), name="image")
    b = keras.Input((4,), name="meta")
    h = layers.Dense(16, activation="relu", name="dense_1")(a)
    h2 = layers.Dense(16, name="dense_2")(h)
    r = layers.Add(name="skip")([h, h2])
    r2 = layers.Add(name="skip_input")([a, r])
    c = layers.Concatenate(name="join")([r2, b])
    out = layers.Dense(3, activation="softmax", name="digit")(c)
    return keras.Model([a, b], out, name="residual")


def _sequential() -> keras.Sequential:
    return keras.Sequential(
        [
            keras.Input((8, 8, 1), name="pixels"),  # named: auto-names vary with the test order
            layers.Conv2D(4, 3, activation="relu", name="conv"),
            layers.MaxPooling2D(name="pool"),
            layers.Flatten(name="flat"),
            layers.Dense(3, activation="softmax", name="out"),
        ],
        name="small_cnn",
    )


def _config_edges(config: dict[str, Any]) -> set[tuple[str, str]]:
    """(source, destination) layer names from the inbound nodes of a functional config."""
    edges = set()

    def sources(value: Any) -> list[str]:
        if isinstance(value, dict):
            if "keras_history" in value.get("config", {}):
                return [value["config"]["keras_history"][0]]
            return [s for v in value.values() for s in sources(v)]
        if isinstance(value, list):
            return [s for v in value for s in sources(v)]
        return []

    for entry in config["layers"]:
        for src in sources(entry["inbound_nodes"]):
            edges.add((src, entry["name"]))
    return edges


def _check_nodes(fig, model, expected_layers):
    nodes = fig.lamina_data["nodes"]
    assert sorted(n["name"] for n in nodes) == sorted(la.name for la in expected_layers)
    by_name = {la.name: la for la in expected_layers}
    for node in nodes:
        layer = by_name[node["name"]]
        assert node["class"] == type(layer).__name__
        assert node["params"] == layer.count_params()
        assert tuple(node["output_shape"]) == tuple(layer.output_shape)
    assert sum(n["params"] for n in nodes) == model.count_params()
    # every box's text is on the picture
    texts = {t.get_text() for t in fig.axes[0].texts}
    for node in nodes:
        assert {node["name"], node["class"], f"{node['params']:,} params"} <= texts


def test_sequential_is_a_chain_from_its_input():
    model = _sequential()
    fig = model_graph(model)
    names = [n["name"] for n in fig.lamina_data["nodes"]]
    inp = model.inputs[0].node.layer
    assert names == ["pixels", "conv", "pool", "flat", "out"] and inp.name == "pixels"
    assert fig.lamina_data["edges"] == list(zip(names, names[1:]))
    _check_nodes(fig, model, [inp, *model.layers])
    assert fig.lamina_data["nodes"][1]["output_shape"] == (None, 6, 6, 4)


def test_functional_edges_equal_the_config():
    model = _residual_two_inputs()
    fig = model_graph(model)
    edges = fig.lamina_data["edges"]
    assert len(edges) == len(set(edges))
    assert set(edges) == _config_edges(model.get_config())
    assert set(edges) == {
        ("image", "dense_1"),
        ("dense_1", "dense_2"),
        ("dense_1", "skip"),
        ("dense_2", "skip"),
        ("image", "skip_input"),
        ("skip", "skip_input"),
        ("skip_input", "join"),
        ("meta", "join"),
        ("join", "digit"),
    }
    _check_nodes(fig, model, model.layers)


def test_layout_by_depth_without_overlaps():
    graph = model_structure(_residual_two_inputs())
    assert graph.depth == {
        "image": 0,
        "meta": 0,
        "dense_1": 1,
        "dense_2": 2,
        "skip": 3,
        "skip_input": 4,
        "join": 5,
        "digit": 6,
    }
    plan = layout(graph)
    w, h = plan.width, plan.height
    boxes = {n: (x - w / 2, x + w / 2, y - h / 2, y + h / 2) for n, (x, y) in plan.where.items()}
    names = list(boxes)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            (l1, r1, b1, t1), (l2, r2, b2, t2) = boxes[a], boxes[b]
            assert r1 <= l2 or r2 <= l1 or t1 <= b2 or t2 <= b1, (a, b)
    for (src, dst), route in zip(graph.edges, plan.routes):
        assert route[0][1] == pytest.approx(plan.where[src][1] - h / 2)  # leaves src's bottom
        assert route[-1][1] == pytest.approx(plan.where[dst][1] + h / 2)  # enters dst's top
        for (x0, y0), (x1, y1) in zip(route, route[1:]):
            for name, (left, right, bottom, top) in boxes.items():
                if name in (src, dst):
                    continue
                for t in [k / 50 for k in range(51)]:  # points along the segment
                    x, y = x0 + t * (x1 - x0), y0 + t * (y1 - y0)
                    assert not (left < x < right and bottom < y < top), (src, dst, name)


def test_a_nested_model_is_one_box():
    inner = keras.Sequential([layers.Dense(5, input_shape=(3,))], name="inner")
    x = keras.Input((3,), name="x")
    model = keras.Model(x, layers.Dense(2, name="head")(inner(x)))
    fig = model_graph(model)
    assert [(n["name"], n["class"], n["params"]) for n in fig.lamina_data["nodes"]] == [
        ("x", "InputLayer", 0),
        ("inner", "Sequential", 20),
        ("head", "Dense", 12),
    ]


def test_models_without_a_graph_are_refused():
    class Net(keras.Model):
        def __init__(self):
            super().__init__()
            self.dense = layers.Dense(2)

        def call(self, x):
            return self.dense(x)

    with pytest.raises(ValueError, match="Expected a Sequential or functional model.*Net"):
        model_graph(Net())
    with pytest.raises(ValueError, match="Expected a Sequential or functional model"):
        model_graph(keras.Sequential([layers.Dense(2)]))


@pytest.mark.parametrize("name", ["architecture_residual", "architecture_sequential"])
def test_matches_reference_image(tmp_path, name):
    model = _residual_two_inputs() if name.endswith("residual") else _sequential()
    assert_matches_baseline(model_graph(model), name, tmp_path)
