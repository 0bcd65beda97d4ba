"""Pooling layers: torch.nn references, NumPy window loops, TF 'same' padding hand values."""

import numpy as np
import pytest
import torch
from layer_harness import run_layer_test

from lamina.layers import (
    AveragePooling1D,
    AveragePooling2D,
    AvgPool2D,
    GlobalAveragePooling1D,
    GlobalAveragePooling2D,
    GlobalMaxPooling1D,
    GlobalMaxPooling2D,
    MaxPool2D,
    MaxPooling1D,
    MaxPooling2D,
)


def np_pool2d(x, pool, strides, op, same):
    """Windows over NHWC `x`; with `same`, TF's padding (extra at the end), padded cells ignored."""
    n, h, w, c = x.shape
    if same:
        oh, ow = -(-h // strides[0]), -(-w // strides[1])
        top = max((oh - 1) * strides[0] + pool[0] - h, 0) // 2
        left = max((ow - 1) * strides[1] + pool[1] - w, 0) // 2
    else:
        oh, ow = (h - pool[0]) // strides[0] + 1, (w - pool[1]) // strides[1] + 1
        top = left = 0
    out = np.zeros((n, oh, ow, c))
    for i in range(oh):
        for j in range(ow):
            r0, c0 = i * strides[0] - top, j * strides[1] - left
            window = x[:, max(r0, 0) : r0 + pool[0], max(c0, 0) : c0 + pool[1], :]
            out[:, i, j] = op(window, axis=(1, 2))
    return out


def test_max_pooling2d_defaults_match_torch():
    def reference(x, w):
        return (
            torch.nn.MaxPool2d(2)(torch.from_numpy(x).permute(0, 3, 1, 2))
            .permute(0, 2, 3, 1)
            .numpy()
        )

    result = run_layer_test(
        MaxPooling2D, {}, (2, 5, 6, 3), (2, 2, 3, 3), expected_num_params=0, reference=reference
    )
    config = result.layer.get_config()
    assert (
        config["pool_size"] == (2, 2)
        and config["strides"] == (2, 2)
        and config["padding"] == "valid"
    )


def test_average_pooling2d_matches_torch():
    def reference(x, w):
        pool = torch.nn.AvgPool2d(3, stride=(1, 2))
        return pool(torch.from_numpy(x).permute(0, 3, 1, 2)).permute(0, 2, 3, 1).numpy()

    run_layer_test(
        AveragePooling2D,
        {"pool_size": 3, "strides": (1, 2)},
        (2, 5, 7, 2),
        (2, 3, 3, 2),
        expected_num_params=0,
        reference=reference,
    )


@pytest.mark.parametrize("cls,op", [(MaxPooling2D, np.max), (AveragePooling2D, np.mean)])
@pytest.mark.parametrize("pool,stride,size", [(2, 2, 5), (3, 2, 6), (3, 1, 4), (2, 3, 7)])
def test_pooling2d_same_padding_matches_tensorflow(cls, op, pool, stride, size):
    run_layer_test(
        cls,
        {"pool_size": pool, "strides": stride, "padding": "same"},
        (2, size, size + 1, 2),
        (2, -(-size // stride), -(-(size + 1) // stride), 2),
        reference=lambda x, w: np_pool2d(x, (pool, pool), (stride, stride), op, same=True),
        run_training_step=False,
        compiled_fit=(pool, stride) == (3, 2),
    )


def test_same_pooling_hand_values():
    # 3x3 image 0..8, 2x2 windows, stride 2: TF pads one row/column at the bottom/right, and
    # average pooling divides by the number of real cells (not 4).
    x = torch.arange(9.0).reshape(1, 3, 3, 1)
    avg = AveragePooling2D(2, padding="same")(x)[0, :, :, 0]
    np.testing.assert_allclose(
        avg.numpy(), [[(0 + 1 + 3 + 4) / 4, (2 + 5) / 2], [(6 + 7) / 2, 8.0]]
    )
    mx = MaxPooling2D(2, padding="same")(x - 100)[0, :, :, 0]
    np.testing.assert_allclose(mx.numpy(), [[4 - 100, 5 - 100], [7 - 100, 8 - 100]])


@pytest.mark.parametrize("cls,op", [(MaxPooling1D, np.max), (AveragePooling1D, np.mean)])
@pytest.mark.parametrize("padding", ["valid", "same"])
def test_pooling1d_matches_numpy(cls, op, padding):
    steps = 7
    out_steps = -(-steps // 2) if padding == "same" else (steps - 3) // 2 + 1

    def reference(x, w):
        return np_pool2d(x[:, None], (1, 3), (1, 2), op, padding == "same")[:, 0]

    run_layer_test(
        cls,
        {"pool_size": 3, "strides": 2, "padding": padding},
        (2, steps, 3),
        (2, out_steps, 3),
        expected_num_params=0,
        reference=reference,
        compiled_fit=padding == "same",
    )


def test_pooling1d_defaults():
    layer = MaxPooling1D()
    assert layer.pool_size == (2,) and layer.strides == (2,)
    x = torch.tensor([[[1.0], [5.0], [2.0], [0.0], [9.0]]])
    np.testing.assert_array_equal(layer(x)[0, :, 0].numpy(), [5.0, 2.0])


@pytest.mark.parametrize(
    "cls,op,shape",
    [
        (GlobalAveragePooling2D, np.mean, (2, 3, 4, 5)),
        (GlobalMaxPooling2D, np.max, (2, 3, 4, 5)),
        (GlobalAveragePooling1D, np.mean, (2, 6, 5)),
        (GlobalMaxPooling1D, np.max, (2, 6, 5)),
    ],
)
@pytest.mark.parametrize("keepdims", [False, True])
def test_global_pooling_matches_numpy(cls, op, shape, keepdims):
    axes = tuple(range(1, len(shape) - 1))
    expected = (2, *([1] * len(axes)), 5) if keepdims else (2, 5)
    run_layer_test(
        cls,
        {"keepdims": keepdims},
        shape,
        expected,
        expected_num_params=0,
        reference=lambda x, w: op(x, axis=axes, keepdims=keepdims),
        compiled_fit=not keepdims,
    )


def test_aliases_and_errors():
    assert MaxPool2D is MaxPooling2D and AvgPool2D is AveragePooling2D
    with pytest.raises(
        ValueError,
        match=r"Layer 'p' \(MaxPooling2D\) expected input of rank 4.*received: input_shape=\(None, 8, 8\)",
    ):
        MaxPooling2D(name="p")(torch.zeros(1, 8, 8))
    with pytest.raises(
        ValueError, match=r"expected padding 'valid' or 'same', received: padding='full'"
    ):
        AveragePooling2D(padding="full")
    with pytest.raises(ValueError, match=r"pool_size, received: pool_size=0"):
        MaxPooling2D(0)
    with pytest.raises(ValueError, match=r"spatial dimensions of at least pool_size=\(3, 3\)"):
        MaxPooling2D(3)(torch.zeros(1, 2, 2, 1))
