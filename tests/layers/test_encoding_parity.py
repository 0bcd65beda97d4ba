"""Keras 3 (torch backend) as the oracle for the categorical encoding layers.

CategoryEncoding and Discretization run in Keras on torch: outputs, dtypes, output
shapes and configs are compared directly (Discretization's adapt through Keras's own
quantile summary: `update_state` + `finalize_state`, since Keras's `adapt` checks for
tf.data and so needs TensorFlow). Keras's Hashing and HashedCrossing need TensorFlow on
every backend (they raise ImportError here, checked below); Lamina computes what
TensorFlow computes, checked against the values Keras's own tests expect from it and
against published FarmHash Fingerprint64 and SipHash-2-4 vectors.
"""

from __future__ import annotations

import json
import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import numpy as np
import pytest
import torch

keras = pytest.importorskip("keras")

from lamina import layers  # noqa: E402
from lamina.layers.encoding.fingerprints import fingerprint64, siphash24  # noqa: E402
from tests.layer_harness import run_layer_test  # noqa: E402


def _numpy(t) -> np.ndarray:
    return t.detach().numpy() if isinstance(t, torch.Tensor) else keras.ops.convert_to_numpy(t)


def _plain(value):
    if isinstance(value, dict):
        if value.get("class_name") == "DTypePolicy":
            return value["config"]["name"]
        return {k: _plain(v) for k, v in value.items() if k not in ("module", "registered_name")}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _same_config(k_layer, l_layer) -> None:
    k_config = _plain(k_layer.get_config())
    l_config = _plain(l_layer.get_config())
    if l_config.get("dtype") is None:  # Lamina's config keeps None for the default floatx
        l_config["dtype"] = "float32"
    extra = set(l_config) - set(k_config)
    assert all(not l_config[k] for k in extra), extra
    assert {k: l_config[k] for k in k_config} == k_config


# (constructor kwargs, ids, count_weights or None)
CATEGORY_CASES = [
    ({"num_tokens": 4}, [[0, 1], [0, 0], [1, 2], [3, 1]], None),
    ({"num_tokens": 5, "output_mode": "one_hot"}, [3, 2, 0, 1], None),
    ({"num_tokens": 5, "output_mode": "one_hot"}, [[3], [2], [0]], None),
    ({"num_tokens": 4, "output_mode": "count"}, [[0, 1, 1], [0, 0, 3]], None),
    ({"num_tokens": 4, "output_mode": "count"}, [[0, 1, 1], [0, 0, 3]], [[0.5, 1, 2], [1, 1, 3]]),
    ({"num_tokens": 3, "output_mode": "binary"}, [0, 2, 2], None),
    ({"num_tokens": 4}, [[0, -1], [2, 1]], None),
]

# (constructor kwargs, input, adapt data or None)
DISCRETIZATION_CASES = [
    ({"bin_boundaries": [0.0, 1.0, 2.5]}, [[-1.0, 0.0, 0.5], [1.0, 2.5, 9.0]], None),
    ({"bin_boundaries": [0.0, 1.0], "output_mode": "one_hot"}, [[-1.0], [0.5], [3.0]], None),
    ({"bin_boundaries": [0.0, 1.0], "output_mode": "multi_hot"}, [[-1.0, 0.5], [3.0, 3.5]], None),
    (
        {"bin_boundaries": [0.0, 1.0], "output_mode": "count"},
        [[-1.0, 0.5, 0.7], [3.0, 3.5, 0.0]],
        None,
    ),
    ({"num_bins": 4}, "normal", "normal"),
    ({"num_bins": 5, "epsilon": 0.05, "output_mode": "one_hot"}, "normal", "normal"),
    ({"num_bins": 3}, "normal", "batches"),
]

ENCODING_PARITY = {
    "layers.CategoryEncoding": CATEGORY_CASES,
    "layers.Discretization": DISCRETIZATION_CASES,
}


def _check_category_encoding() -> None:
    for kwargs, ids, weights in CATEGORY_CASES:
        k_layer = keras.layers.CategoryEncoding(**kwargs)
        l_layer = layers.CategoryEncoding(**kwargs)
        x = np.asarray(ids)
        extra = {} if weights is None else {"count_weights": np.asarray(weights, "float32")}
        want = k_layer(x, **extra)
        got = l_layer(torch.from_numpy(x), **extra)
        np.testing.assert_allclose(_numpy(got), _numpy(want))
        assert str(got.dtype).replace("torch.", "") == keras.backend.standardize_dtype(want.dtype)
        assert tuple(l_layer.compute_output_shape(x.shape)) == tuple(
            k_layer.compute_output_shape(x.shape)
        )
        assert l_layer.count_params() == k_layer.count_params() == 0
        _same_config(k_layer, l_layer)


def _data(kind, seed):
    rng = np.random.default_rng(seed)
    return (rng.normal(size=(200, 3)) * 2 + 1).astype("float32") if kind == "normal" else kind


def _check_discretization() -> None:
    for i, (kwargs, inputs, adapt) in enumerate(DISCRETIZATION_CASES):
        k_layer = keras.layers.Discretization(**kwargs)
        l_layer = layers.Discretization(**kwargs)
        if adapt is not None:
            data = _data("normal", 100 + i)
            k_layer.reset_state()
            batches = [data[:70], data[70:150], data[150:]] if adapt == "batches" else [data]
            for batch in batches:
                k_layer.update_state(batch)
            k_layer.finalize_state()
            l_layer.adapt(batches if adapt == "batches" else data)
            np.testing.assert_allclose(l_layer.bin_boundaries, k_layer.bin_boundaries, rtol=1e-6)
        x = np.asarray(_data(inputs, i), dtype="float32")
        want = k_layer(x)
        got = l_layer(torch.from_numpy(x))
        np.testing.assert_array_equal(_numpy(got), _numpy(want))
        assert str(got.dtype).replace("torch.", "") == keras.backend.standardize_dtype(want.dtype)
        none = (None, *x.shape[1:])
        assert tuple(l_layer.compute_output_shape(none)) == tuple(
            k_layer.compute_output_shape(none)
        )
        _same_config(k_layer, l_layer)
        clone = layers.Discretization.from_config(json.loads(json.dumps(l_layer.get_config())))
        np.testing.assert_array_equal(_numpy(clone(torch.from_numpy(x))), _numpy(want))


# Keras's own test expectations for Hashing (keras/src/layers/preprocessing/hashing_test.py),
# computed there by TensorFlow: (kwargs, inputs, expected).
HASHING_VECTORS = [
    ({"num_bins": 3}, [["A"], ["B"], ["C"], ["D"], ["E"]], [[1], [0], [1], [1], [2]]),
    (
        {"num_bins": 3, "mask_value": ""},
        [["A"], ["B"], [""], ["C"], ["D"]],
        [[1], [1], [0], [2], [2]],
    ),
    (
        {"num_bins": 3, "salt": [133, 137]},
        [["A"], ["B"], ["C"], ["D"], ["E"]],
        [[1], [2], [1], [0], [2]],
    ),
    ({"num_bins": 3, "salt": 133}, [["A"], ["B"], ["C"], ["D"], ["E"]], [[0], [0], [2], [1], [0]]),
    ({"num_bins": 1}, [["A"], ["B"], ["C"], ["D"], ["E"]], [[0], [0], [0], [0], [0]]),
    ({"num_bins": 2}, ["omar", "stringer", "marlo", "wire", "skywalker"], [0, 0, 1, 0, 0]),
    (
        {"num_bins": 3, "mask_value": "omar"},
        [["omar"], ["stringer"], ["marlo"], ["wire"], ["skywalker"]],
        [[0], [1], [2], [1], [1]],
    ),
    (
        {"num_bins": 3, "mask_value": ""},
        [["omar"], ["stringer"], ["marlo"], ["wire"], ["skywalker"]],
        [[1], [1], [2], [1], [1]],
    ),
    ({"num_bins": 3}, np.asarray([[0], [1], [2], [3], [4]]), [[1], [0], [1], [0], [2]]),
    (
        {"num_bins": 3, "salt": [133, 137]},
        np.asarray([[0], [1], [2], [3], [4]]),
        [[1], [1], [2], [0], [1]],
    ),
    (
        {"num_bins": 2, "salt": [133, 137]},
        [["omar"], ["stringer"], ["marlo"], ["wire"], ["skywalker"]],
        [[0], [1], [0], [1], [0]],
    ),
    (
        {"num_bins": 2, "salt": [211, 137]},
        [["omar"], ["stringer"], ["marlo"], ["wire"], ["skywalker"]],
        [[1], [0], [1], [0], [1]],
    ),
]

# hashed_crossing_test.py: ["A", "B", "A", "B", "A"] x [101, 101, 101, 102, 102], 5 bins.
CROSSING_VECTORS = [
    ({"num_bins": 5}, ["A", "B", "A", "B", "A"], [101, 101, 101, 102, 102], [1, 4, 1, 1, 3]),
]

# Published FarmHash Fingerprint64 values (BigQuery's FARM_FINGERPRINT, Guava's tests) of
# strings of every length class the function branches on: 0, 1-3, 4-7, 8-16, 17-32,
# 33-64 and longer than 64 bytes.
FINGERPRINT_VECTORS = [
    (b"", 11160318154034397263),
    (b"Q", 13816109650407654260),
    (b"WW5", 6316074107149058620),
    (b"test", 8581389452482819506),
    (b"alphabet", (-2427165924636348523) & (2**64 - 1)),
    (b"Amazon Redshift", 8085098817162212970),
    (b"&&3gRU?[^&ok:He[|K:", 11792583603419566171),
    (b"test" * 8, (-4196240717365766262) & (2**64 - 1)),
    (b"2/?98ns)xbzEVL^:wCS$7l3@_g!zP^<D.-bd6", 9728733090894310797),
    (b"F7479877-4690-4A44-AFC9-8FE987EA512F:some_other_id", 6862335115798125349),
    (
        b"0376d8dc-a717-425a-9dd2-d4b36bcaddac:65d52a5d-4f88-4a78-97c9-08464d44bbb6",
        14340110469024474010,
    ),
    (b"test" * 64, 3500507768004279527),
]


def _check_hashing() -> None:
    with pytest.raises(ImportError, match="TensorFlow"):
        keras.layers.Hashing(num_bins=3)
    for kwargs, inputs, expected in HASHING_VECTORS:
        out = layers.Hashing(**kwargs)(inputs)
        np.testing.assert_array_equal(out.numpy(), np.asarray(expected))
        assert out.dtype == torch.int64
    out = layers.Hashing(num_bins=3)(torch.tensor([[0], [1], [2], [3], [4]]))
    np.testing.assert_array_equal(out.numpy(), [[1], [0], [1], [0], [2]])
    floats = layers.Hashing(num_bins=3)(np.asarray([[0.3], [1.9], [2.0]], "float32"))
    np.testing.assert_array_equal(floats.numpy(), [[1], [0], [1]])  # truncated to 0, 1, 2
    hot = layers.Hashing(num_bins=3, output_mode="one_hot")([["A"], ["B"], ["C"]])
    np.testing.assert_array_equal(hot.numpy(), np.eye(3)[[1, 0, 1]])
    multi = layers.Hashing(num_bins=3, output_mode="multi_hot")([["A", "B"], ["E", "E"]])
    np.testing.assert_array_equal(multi.numpy(), [[1, 1, 0], [0, 0, 1]])
    count = layers.Hashing(num_bins=3, output_mode="count")([["A", "C"], ["E", "E"]])
    np.testing.assert_array_equal(count.numpy(), [[0, 2, 0], [0, 0, 2]])
    assert layers.Hashing(num_bins=3).compute_output_shape((None, 1)) == (None, 1)
    symbolic = layers.Hashing(num_bins=3)(layers.Input((1,), dtype="string"))
    assert (tuple(symbolic.shape), symbolic.dtype) == ((None, 1), "int64")
    assert layers.Hashing(3, output_mode="one_hot").compute_output_shape((None, 1)) == (None, 3)
    for data, value in FINGERPRINT_VECTORS:
        assert fingerprint64(data) == value, data
    key0 = int.from_bytes(bytes(range(8)), "little")
    key1 = int.from_bytes(bytes(range(8, 16)), "little")
    assert siphash24(key0, key1, bytes(range(15))) == 0xA129CA6149BE45E5  # the paper's vector
    config = layers.Hashing(3, salt=7, mask_value="x").get_config()
    assert {k: config[k] for k in ("num_bins", "salt", "mask_value", "output_mode")} == {
        "num_bins": 3,
        "salt": [7, 7],
        "mask_value": "x",
        "output_mode": "int",
    }


def _check_hashed_crossing() -> None:
    with pytest.raises(ImportError, match="TensorFlow"):
        keras.layers.HashedCrossing(num_bins=3)
    for kwargs, first, second, expected in CROSSING_VECTORS:
        out = layers.HashedCrossing(**kwargs)([np.array(first), np.array(second)])
        np.testing.assert_array_equal(out.numpy(), expected)
        assert out.dtype == torch.int64
        column = layers.HashedCrossing(**kwargs)(
            [np.array(first)[:, None], torch.tensor(second)[:, None]]
        )
        np.testing.assert_array_equal(column.numpy(), np.asarray(expected)[:, None])
        hot = layers.HashedCrossing(output_mode="one_hot", **kwargs)(
            [np.array(first), np.array(second)]
        )
        np.testing.assert_array_equal(hot.numpy(), np.eye(5)[expected])
    layer = layers.HashedCrossing(num_bins=5, output_mode="one_hot")
    assert layer.compute_output_shape([(None, 1), (None, 1)]) == (None, 5)
    assert layer.get_config() == {
        "num_bins": 5,
        "output_mode": "one_hot",
        "sparse": False,
        "name": layer.name,
        "dtype": "float32",
    }
    with pytest.raises(ValueError, match="at least two"):
        layers.HashedCrossing(num_bins=3)([np.array([1])])


ENCODING_PARITY["layers.Hashing"] = HASHING_VECTORS
ENCODING_PARITY["layers.HashedCrossing"] = CROSSING_VECTORS
CHECKS = {
    "layers.CategoryEncoding": _check_category_encoding,
    "layers.Discretization": _check_discretization,
    "layers.Hashing": _check_hashing,
    "layers.HashedCrossing": _check_hashed_crossing,
}


@pytest.mark.parametrize("name", sorted(ENCODING_PARITY))
def test_encoding_layer_matches_keras(name):
    CHECKS[name]()


HARNESS = [
    (layers.CategoryEncoding, {"num_tokens": 5}, (4, 3), (4, 5)),
    (
        layers.Discretization,
        {"bin_boundaries": [-0.5, 0.0, 0.5], "output_mode": "one_hot"},
        (4, 1),
        (4, 4),
    ),
    (layers.Hashing, {"num_bins": 4, "output_mode": "count"}, (4, 3), (4, 4)),
    (layers.HashedCrossing, {"num_bins": 6, "output_mode": "one_hot"}, [(4, 1), (4, 1)], (4, 6)),
]


@pytest.mark.parametrize("case", HARNESS, ids=[c[0].__name__ for c in HARNESS])
def test_encoding_layers_pass_the_harness(case):
    cls, kwargs, in_shape, out_shape = case
    rng = np.random.default_rng(0)
    if cls is layers.HashedCrossing:
        data = [rng.integers(0, 5, size=s) for s in in_shape]
    else:
        data = rng.integers(0, 5, size=in_shape) if cls is not layers.Discretization else None
    run_layer_test(
        cls,
        kwargs,
        input_shape=in_shape,
        input_data=data,
        expected_output_shape=out_shape,
        expected_num_params=0,
        compiled_fit=cls is layers.CategoryEncoding,
        run_gradcheck=False,
    )


def test_category_encoding_rank3_folds_axis_1_as_keras_computes():
    """Keras's encoding folds axis 1 of a rank-3 input (its compute_output_shape names the
    last axis instead); Lamina computes Keras's values and reports their shape."""
    x = np.random.default_rng(0).integers(0, 4, size=(2, 3, 5))
    want = _numpy(keras.layers.CategoryEncoding(4, output_mode="count")(x))
    layer = layers.CategoryEncoding(4, output_mode="count")
    got = layer(torch.from_numpy(x))
    np.testing.assert_array_equal(_numpy(got), want)
    assert tuple(layer.compute_output_shape(x.shape)) == want.shape == (2, 5, 4)
