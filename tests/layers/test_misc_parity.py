"""Keras 3 (torch backend) as the oracle for SpectralNormalization, TorchModuleWrapper,
ReversibleEmbedding and Pipeline: outputs with Keras's weights copied in, the weights
after training calls (SpectralNormalization's power iteration), weight names and counts,
output shapes and configs; each also runs through the shared layer harness.
"""

from __future__ import annotations

import json
import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import numpy as np
import pytest
import torch

keras = pytest.importorskip("keras")

import lamina  # noqa: E402
from lamina import layers  # noqa: E402
from tests.layer_harness import run_layer_test  # noqa: E402


def _numpy(t) -> np.ndarray:
    return t.detach().numpy() if isinstance(t, torch.Tensor) else keras.ops.convert_to_numpy(t)


def _plain(value):
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items() if k not in ("module", "registered_name")}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


# (wrapped layer name, its kwargs, power_iterations, input shape)
SPECTRAL_CASES = [
    ("Dense", {"units": 3}, 1, (4, 5)),
    ("Dense", {"units": 4, "use_bias": False}, 3, (2, 3, 6)),
    ("Conv2D", {"filters": 3, "kernel_size": 2}, 2, (2, 5, 5, 2)),
    # (Keras casts the wrapped layer's output to the input's dtype, so an Embedding's
    # vectors come out as integers there: not compared.)
]


def _check_spectral_normalization() -> None:
    for i, (inner, kwargs, iterations, shape) in enumerate(SPECTRAL_CASES):
        rng = np.random.default_rng(i)
        if inner == "Embedding":
            x = rng.integers(0, 7, size=shape)
        else:
            x = rng.normal(size=shape).astype(np.float32)
        k_layer = keras.layers.SpectralNormalization(
            getattr(keras.layers, inner)(**kwargs), power_iterations=iterations
        )
        k_layer.build(shape)
        weights = [
            rng.normal(0, 0.5, size=w.shape).astype(np.float32) for w in k_layer.get_weights()
        ]
        k_layer.set_weights(weights)
        l_layer = layers.SpectralNormalization(
            getattr(layers, inner)(**kwargs), power_iterations=iterations
        )
        l_layer(torch.from_numpy(x))
        assert [w.shape for w in l_layer.get_weights()] == [w.shape for w in weights]
        l_layer.set_weights(weights)
        assert l_layer.count_params() == k_layer.count_params()
        assert len(l_layer.non_trainable_weights) == len(k_layer.non_trainable_weights) == 1
        np.testing.assert_allclose(
            _numpy(l_layer(torch.from_numpy(x), training=False)),
            _numpy(k_layer(x, training=False)),
            rtol=1e-5,
            atol=1e-5,
        )
        for _ in range(2):  # each training call normalizes the kernel again, from vector_u
            want = _numpy(k_layer(x, training=True))
            got = _numpy(l_layer(torch.from_numpy(x), training=True))
            np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)
            for g, w in zip(l_layer.get_weights(), k_layer.get_weights()):
                np.testing.assert_allclose(g, w, rtol=1e-4, atol=1e-6)
        kernel = l_layer.get_weights()[0].reshape(-1, l_layer.get_weights()[0].shape[-1])
        assert abs(np.linalg.svd(kernel, compute_uv=False)[0] - 1.0) < 0.2
        none = (None, *shape[1:])
        assert tuple(l_layer.compute_output_shape(none)) == tuple(
            k_layer.compute_output_shape(none)
        )
        k_config, l_config = k_layer.get_config(), l_layer.get_config()
        assert l_config["power_iterations"] == k_config["power_iterations"]
        assert l_config["layer"]["class_name"] == k_config["layer"]["class_name"]


def _check_torch_module_wrapper() -> None:
    torch.manual_seed(0)
    module = torch.nn.Sequential(
        torch.nn.Linear(4, 5), torch.nn.BatchNorm1d(5), torch.nn.ReLU(), torch.nn.Linear(5, 2)
    )
    x = np.random.default_rng(0).normal(size=(6, 4)).astype(np.float32)
    k_layer = keras.layers.TorchModuleWrapper(module)
    l_layer = layers.TorchModuleWrapper(module)
    for training in (False, True):
        module.load_state_dict(module.state_dict())
        want = _numpy(k_layer(x, training=training))
        state = {k: v.clone() for k, v in module.state_dict().items()}
        got = _numpy(l_layer(torch.from_numpy(x), training=training))
        if training:  # the second call moved the running statistics again; compare values only
            module.load_state_dict(state)
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    assert (
        l_layer.count_params()
        == sum(p.numel() for p in module.parameters())
        + sum(b.numel() for n, b in module.named_buffers() if "num_batches" not in n)
        + 1
    )
    assert len(l_layer.trainable_weights) == len(k_layer.trainable_weights) == 6
    k_params = [_numpy(w) for w in k_layer.trainable_weights]
    l_params = [_numpy(w) for w in l_layer.trainable_weights]
    for a, b in zip(l_params, k_params):
        np.testing.assert_array_equal(a, b)
    # Its parameters train in a Lamina model.
    inp = layers.Input((4,))
    model = lamina.Model(inp, layers.Dense(1)(layers.TorchModuleWrapper(module)(inp)))
    model.compile(optimizer="sgd", loss="mse")
    before = module[0].weight.detach().clone()
    model.fit(x, np.ones((6, 1), np.float32), epochs=1, verbose=0)
    assert not torch.equal(before, module[0].weight.detach())
    assert l_layer.get_config()["module"] == "torch.nn.modules.container.Sequential"


def _check_reversible_embedding() -> None:
    for i, kwargs in enumerate(
        [
            {"input_dim": 9, "output_dim": 4},
            {"input_dim": 9, "output_dim": 4, "tie_weights": False, "mask_zero": True},
            {"input_dim": 9, "output_dim": 3, "logit_soft_cap": 2.0, "reverse_dtype": "float32"},
        ]
    ):
        rng = np.random.default_rng(i)
        ids = rng.integers(0, 9, size=(2, 5))
        ids[0, -2:] = 0
        k_layer = keras.layers.ReversibleEmbedding(**kwargs)
        k_layer.build((2, 5))
        weights = [rng.normal(size=w.shape).astype(np.float32) for w in k_layer.get_weights()]
        k_layer.set_weights(weights)
        l_layer = layers.ReversibleEmbedding(**kwargs)
        l_layer(torch.from_numpy(ids))
        assert [s.name for s in l_layer._weight_specs] == [w.name for w in k_layer.weights]
        l_layer.set_weights(weights)
        assert l_layer.count_params() == k_layer.count_params()
        k_h, l_h = k_layer(ids), l_layer(torch.from_numpy(ids))
        np.testing.assert_allclose(_numpy(l_h), _numpy(k_h), rtol=1e-6)
        k_mask, l_mask = getattr(k_h, "_keras_mask", None), getattr(l_h, "_keras_mask", None)
        assert (k_mask is None) == (l_mask is None)
        if k_mask is not None:
            np.testing.assert_array_equal(_numpy(l_mask), _numpy(k_mask))
        h = rng.normal(size=(2, 5, kwargs["output_dim"])).astype(np.float32)
        want = _numpy(k_layer(h, reverse=True))
        got = l_layer(torch.from_numpy(h), reverse=True)
        np.testing.assert_allclose(_numpy(got), want, rtol=1e-5, atol=1e-5)
        assert getattr(got, "_keras_mask", None) is None
        for reverse in (False, True):
            shape = (None, 5, kwargs["output_dim"]) if reverse else (None, 5)
            assert tuple(l_layer.compute_output_shape(shape, reverse=reverse)) == tuple(
                k_layer.compute_output_shape(shape, reverse=reverse)
            )
        sym = l_layer(layers.Input((5, kwargs["output_dim"])), reverse=True)
        assert tuple(sym.shape) == (None, 5, 9)
        k_config = {k: v for k, v in k_layer.get_config().items() if k not in ("dtype", "name")}
        l_config = {k: v for k, v in l_layer.get_config().items() if k not in ("dtype", "name")}
        extra = set(l_config) - set(k_config)
        assert all(l_config[k] is None for k in extra), extra
        assert _plain({k: l_config[k] for k in k_config if k in l_config}) == _plain(
            {k: v for k, v in k_config.items() if k in l_config}
        )
        assert set(k_config) - set(l_config) <= {"quantization_config"}


def _check_pipeline() -> None:
    rng = np.random.default_rng(3)
    x = rng.uniform(0, 255, size=(2, 6, 6, 3)).astype(np.float32)
    k_pipe = keras.layers.Pipeline(
        [
            keras.layers.Rescaling(1 / 255.0),
            keras.layers.CenterCrop(4, 4),
            keras.layers.Rescaling(2.0, offset=-1.0),
        ]
    )
    l_pipe = layers.Pipeline(
        [
            layers.Rescaling(1 / 255.0),
            layers.CenterCrop(4, 4),
            layers.Rescaling(2.0, offset=-1.0),
        ]
    )
    np.testing.assert_allclose(
        _numpy(l_pipe(torch.from_numpy(x))), _numpy(k_pipe(x)), rtol=1e-5, atol=1e-5
    )
    assert len(l_pipe.layers) == len(k_pipe.layers) == 3
    none = (None, 6, 6, 3)
    assert tuple(l_pipe.compute_output_shape(none)) == (None, 4, 4, 3)
    k_config, l_config = k_pipe.get_config(), l_pipe.get_config()
    assert set(l_config) == set(k_config)
    assert [e["class_name"] for e in l_config["layers"]] == [
        e["class_name"] for e in k_config["layers"]
    ]
    # Keras's own config (with its "module" keys and DTypePolicy dtypes) loads in Lamina.
    again = layers.Pipeline.from_config(json.loads(json.dumps(k_config)))
    np.testing.assert_allclose(
        _numpy(again(torch.from_numpy(x))), _numpy(k_pipe(x)), rtol=1e-5, atol=1e-5
    )
    # Masks pass from layer to layer.
    seq = np.array([[1.0, 2.0, 0.0], [3.0, 0.0, 0.0]], np.float32)[..., None]
    k_out = keras.layers.Pipeline([keras.layers.Masking(), keras.layers.Identity()])(seq)
    l_out = layers.Pipeline([layers.Masking(), layers.Identity()])(torch.from_numpy(seq))
    np.testing.assert_array_equal(_numpy(l_out._keras_mask), _numpy(k_out._keras_mask))


def test_pipeline_trains_unless_told_otherwise_as_keras():
    """Keras's Pipeline.call defaults to training=True: a bare call drops units;
    training=False and predict do not. (Inside a Lamina model called bare the model's
    inference mode reaches it: Lamina's bare model call is an inference call.)"""
    x = np.ones((4, 64), np.float32)
    for make, dropout in [
        (keras.layers.Pipeline, keras.layers.Dropout),
        (layers.Pipeline, layers.Dropout),
    ]:
        pipe = make([dropout(0.5)])
        data = x if make is keras.layers.Pipeline else torch.from_numpy(x)
        assert (_numpy(pipe(data)) == 0).any()
        np.testing.assert_array_equal(_numpy(pipe(data, training=False)), x)
    inp = layers.Input((64,))
    model = lamina.Model(inp, layers.Pipeline([layers.Dropout(0.5)])(inp))
    assert (_numpy(model(torch.from_numpy(x), training=True)) == 0).any()
    np.testing.assert_array_equal(model.predict(x, verbose=0), x)


MISC_PARITY = {
    "layers.SpectralNormalization": _check_spectral_normalization,
    "layers.TorchModuleWrapper": _check_torch_module_wrapper,
    "layers.ReversibleEmbedding": _check_reversible_embedding,
    "layers.Pipeline": _check_pipeline,
}


@pytest.mark.parametrize("name", sorted(MISC_PARITY))
def test_layer_matches_keras(name):
    MISC_PARITY[name]()


def test_torch_module_wrapper_never_unpickles():
    config = keras.layers.TorchModuleWrapper(torch.nn.Linear(2, 2)).get_config()
    with pytest.raises(ValueError, match="never unpickled"):
        layers.TorchModuleWrapper.from_config(config)
    # Keras's config with the module handed over by the caller loads.
    module = torch.nn.Linear(2, 2)
    clone = layers.TorchModuleWrapper.from_config(config, custom_objects={config["name"]: module})
    assert clone.module is module
    layer = layers.TorchModuleWrapper(torch.nn.Linear(2, 3), name="lin")
    clone = layers.TorchModuleWrapper.from_config(
        json.loads(json.dumps(layer.get_config())),
        custom_objects={"Linear": lambda: torch.nn.Linear(2, 3)},
    )
    assert clone.count_params() == layer.count_params() == 9


def test_torch_module_wrapper_training_flag():
    """Lamina: a bare call runs the module in eval mode (Keras's runs train mode on
    training=None); training=True and False are as in Keras."""
    layer = layers.TorchModuleWrapper(torch.nn.Dropout(0.5))
    x = torch.ones(4, 100)
    assert torch.equal(layer(x), x)
    assert not torch.equal(layer(x, training=True), x)


def _linear_reference(x, w):
    return x @ w[0].T + w[1]


class _Linear(layers.TorchModuleWrapper):
    """A TorchModuleWrapper the harness can rebuild from its arguments."""

    def __init__(self, module=None, **kwargs):
        super().__init__(
            torch.nn.Linear(3, 2, dtype=torch.float64 if kwargs.get("dtype") == "float64" else None)
            if module is None or isinstance(module, str)
            else module,
            **kwargs,
        )

    @classmethod
    def from_config(cls, config, custom_objects=None):
        return super().from_config(config, {"Linear": lambda: torch.nn.Linear(3, 2)})


class _Pipe(layers.Pipeline):
    def __init__(self, layers=None, **kwargs):  # noqa: A002
        from lamina.layers import Dense, Dropout

        if layers is None:
            dtype = kwargs.get("dtype")
            layers = [Dense(4, kernel_initializer="ones", dtype=dtype), Dropout(0.0, dtype=dtype)]
        super().__init__(layers, **kwargs)

    @classmethod
    def from_config(cls, config, custom_objects=None):
        return super().from_config(config, custom_objects)


class _SpectralDense(layers.SpectralNormalization):
    """SpectralNormalization of a fresh Dense(3) per instance (the harness makes several)."""

    def __init__(self, layer=None, **kwargs):
        super().__init__(layer or layers.Dense(3, dtype=kwargs.get("dtype")), **kwargs)


HARNESS = [
    (
        _SpectralDense,
        {},
        (4, 5),
        (4, 3),
        5 * 3 + 3 + 3,
    ),
    (layers.ReversibleEmbedding, {"input_dim": 6, "output_dim": 3}, None, (2, 4, 3), 18),
    (_Linear, {}, (2, 3), (2, 2), 8),
    (_Pipe, {}, (2, 3), (2, 4), 16),
]


@pytest.mark.parametrize("case", HARNESS, ids=[c[0].__name__ for c in HARNESS])
def test_misc_layers_pass_the_harness(case):
    cls, kwargs, in_shape, out_shape, params = case
    data = None
    if in_shape is None:
        data = np.random.default_rng(0).integers(0, 6, size=(2, 4))
        in_shape = (2, 4)
    run_layer_test(
        cls,
        kwargs,
        input_shape=in_shape,
        input_data=data,
        expected_output_shape=out_shape,
        expected_num_params=params,
        expected_num_non_trainable_params=3 if params == 21 else 0,
        compiled_fit=False,
        run_gradcheck=data is None,
        random_weights=True,
    )
