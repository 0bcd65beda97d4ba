"""keras.ops.nn against Keras 3 (torch backend): values, dtypes and shapes.

Every case runs with NumPy inputs and again with torch tensors; images are channels_last
unless a case says otherwise.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import pytest
import torch

os.environ.setdefault("KERAS_BACKEND", "torch")
keras = pytest.importorskip("keras")

from lamina import ops  # noqa: E402

R = np.random.default_rng(23)


def F(*shape: int, dtype: str = "float32", lo: float = -3.0, hi: float = 3.0) -> np.ndarray:
    return R.uniform(lo, hi, shape).astype(dtype)


def P(*shape: int) -> np.ndarray:
    return F(*shape, lo=0.05, hi=1.0)


def I(*shape: int, lo: int = 0, hi: int = 4, dtype: str = "int32") -> np.ndarray:  # noqa: E743
    return R.integers(lo, hi, shape).astype(dtype)


def c(*args: Any, **kwargs: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
    return args, kwargs


X = [c(F(3, 5)), c(F(2, 3, 4, dtype="float64")), c(F(4, dtype="float16")), c(1.5)]
PROBS = P(4, 5)
ONEHOT = np.eye(5, dtype="float32")[I(4, hi=5)]

OPS_PARITY: dict[str, list[Any]] = {
    name: X
    for name in (
        "celu elu gelu hard_sigmoid hard_silu hard_swish hard_tanh leaky_relu log_sigmoid "
        "relu relu6 selu sigmoid silu softplus softsign sparse_plus sparse_sigmoid "
        "squareplus swish tanh_shrink"
    ).split()
}
OPS_PARITY = {f"ops.{k}": v for k, v in OPS_PARITY.items()}
OPS_PARITY.update(
    {
        "ops.celu": X + [c(F(3, 4), alpha=0.5)],
        "ops.elu": X + [c(F(3, 4), alpha=0.3)],
        "ops.gelu": X + [c(F(3, 4), approximate=False)],
        "ops.leaky_relu": X + [c(F(3, 4), negative_slope=0.05)],
        "ops.squareplus": X + [c(F(3, 4), b=1)],
        "ops.glu": [c(F(3, 4)), c(F(4, 3), axis=0), c(F(2, 6, dtype="float64"))],
        "ops.hard_shrink": [c(F(3, 4)), c(F(3, 4), threshold=1.0)],
        "ops.soft_shrink": [c(F(3, 4)), c(F(3, 4), threshold=1.0)],
        "ops.threshold": [c(F(3, 4), 0.5, -1.0), c(F(5, dtype="float64"), 0.0, 2.0)],
        "ops.softmax": [
            c(F(3, 5)),
            c(F(3, 4), axis=0),
            c(F(2, 3, 4), axis=(1, 2)),
            c(F(3, 4), axis=None),
            c(F(2, 3, dtype="float16")),
        ],
        "ops.log_softmax": [
            c(F(3, 5)),
            c(F(3, 4), axis=0),
            c(F(2, 3, 4), axis=(0, 2)),
            c(F(2, 3, dtype="float16")),
        ],
        "ops.sparsemax": [c(F(3, 5)), c(F(4, 3), axis=0), c(F(2, 3, 4, dtype="float64"))],
        "ops.max_pool": [
            c(F(2, 9, 3), 2),
            c(F(2, 7, 8, 3), 3, strides=2, padding="same"),
            c(F(2, 6, 6, 3), (2, 3), strides=(1, 2)),
            c(F(1, 4, 5, 6, 2), 2, padding="same"),
            c(F(2, 3, 6, 6), 2, data_format="channels_first"),
        ],
        "ops.average_pool": [
            c(F(2, 9, 3), 2),
            c(F(2, 7, 7, 3), 3, strides=1, padding="same"),
            c(F(2, 6, 6, 3), (2, 3), strides=(1, 2)),
            c(F(1, 4, 5, 6, 2), 2),
            c(F(2, 3, 6, 6), 2, data_format="channels_first"),
        ],
        "ops.adaptive_max_pool": [
            c(F(2, 9, 3), 4),
            c(F(2, 7, 8, 3), (3, 2)),
            c(F(1, 4, 5, 6, 2), 2),
            c(F(2, 3, 6, 6), 4, data_format="channels_first"),
        ],
        "ops.adaptive_average_pool": [
            c(F(2, 9, 3), 4),
            c(F(2, 7, 8, 3), (3, 2)),
            c(F(1, 4, 5, 6, 2), 2),
            c(F(2, 3, 6, 6), 4, data_format="channels_first"),
        ],
        "ops.conv": [
            c(F(2, 9, 3), F(3, 3, 4)),
            c(F(2, 8, 8, 3), F(3, 3, 3, 5), strides=2, padding="same"),
            c(F(2, 7, 7, 4), F(3, 3, 2, 6), dilation_rate=2),
            c(F(1, 5, 6, 7, 2), F(2, 3, 2, 2, 3), padding="same"),
            c(F(2, 3, 8, 8), F(3, 3, 3, 4), data_format="channels_first", padding="same"),
        ],
        "ops.depthwise_conv": [
            c(F(2, 9, 3), F(3, 3, 2)),
            c(F(2, 8, 8, 3), F(3, 3, 3, 2), strides=2, padding="same"),
            c(F(2, 3, 7, 7), F(3, 3, 3, 1), data_format="channels_first", dilation_rate=2),
        ],
        "ops.separable_conv": [
            c(F(2, 9, 3), F(3, 3, 2), F(1, 6, 4)),
            c(F(2, 8, 8, 3), F(3, 3, 3, 2), F(1, 1, 6, 5), padding="same"),
        ],
        "ops.conv_transpose": [
            c(F(2, 5, 3), F(3, 4, 3)),
            c(F(2, 5, 5, 3), F(3, 3, 4, 3), strides=2, padding="same"),
            c(F(2, 5, 5, 3), F(3, 3, 4, 3), strides=2, padding="valid", output_padding=1),
            c(F(2, 4, 4, 3), F(4, 4, 2, 3), strides=2, padding="same", output_padding=0),
            c(F(1, 3, 4, 3, 2), F(2, 3, 2, 3, 2), strides=(1, 2, 2), padding="same"),
            c(
                F(2, 3, 5, 5),
                F(3, 3, 4, 3),
                strides=2,
                data_format="channels_first",
                dilation_rate=1,
            ),
        ],
        "ops.one_hot": [
            c(I(4, hi=5), 5),
            c(I(2, 3, hi=5), 5, axis=0),
            c(np.array([0, -1, 2]), 3, dtype="int32"),
            c(I(2, 3), 4, axis=1),
        ],
        "ops.multi_hot": [
            c(I(3, 4, hi=6), 6),
            c(I(4, hi=6), 6, dtype="int32"),
            c(I(3, 2, hi=5), 5, axis=0),
        ],
        "ops.binary_crossentropy": [
            c(I(3, 4, hi=2).astype("float32"), P(3, 4)),
            c(P(3, 4), F(3, 4), from_logits=True),
        ],
        "ops.categorical_crossentropy": [
            c(ONEHOT, PROBS),
            c(ONEHOT, F(4, 5), from_logits=True),
            c(ONEHOT.T.copy(), F(5, 4), axis=0, from_logits=True),
        ],
        "ops.sparse_categorical_crossentropy": [
            c(I(4, hi=5), PROBS),
            c(I(4, 1, hi=5), F(4, 5), from_logits=True),
            c(I(2, 3, hi=5), F(2, 3, 5), from_logits=True),
            c(I(3, hi=4), F(4, 3), axis=0, from_logits=True),
        ],
        "ops.psnr": [
            c(P(2, 8, 8, 3), P(2, 8, 8, 3), 1.0),
            c(F(4, 4, dtype="float64"), F(4, 4, dtype="float64"), 3.0),
        ],
        "ops.moments": [
            c(F(3, 4, 5), [0, 1]),
            c(F(3, 4), 1, keepdims=True),
            c(F(4, 5, dtype="float16"), [0]),
        ],
        "ops.batch_normalization": [
            c(F(3, 4), F(4), P(4), -1),
            c(F(2, 3, 4), F(3), P(3), 1, offset=F(3), scale=F(3), epsilon=1e-2),
        ],
        "ops.layer_normalization": [
            c(F(3, 4)),
            c(F(2, 3, 4), F(4), F(4)),
            c(F(2, 3, 4), F(3, 4), F(3, 4), axis=(1, 2), epsilon=1e-2),
            c(F(2, 3, 4, dtype="float16"), F(4, dtype="float16")),
        ],
        "ops.rms_normalization": [
            c(F(3, 4)),
            c(F(2, 3, 4), F(4)),
            c(F(2, 3, 4), F(3, 4), axis=(1, 2), epsilon=1e-2),
            c(F(2, 3, 4, dtype="float16")),
        ],
        "ops.normalize": [
            c(F(3, 4)),
            c(F(3, 4), axis=0),
            c(F(3, 4), order=1),
            c(F(2, 3, 4), order=3, axis=1),
        ],
        "ops.polar": [c(P(3, 4), F(3, 4)), c(P(4), 0.5)],
        "ops.unfold": [
            c(F(2, 3, 6, 6), 2),
            c(F(1, 2, 7, 5), (3, 2), dilation=1, padding=1, stride=2),
        ],
        "ops.fold": [
            c(F(2, 12, 9), (4, 4), 2, stride=1),
            c(F(1, 8, 10), (5, 6), (2, 2), padding=0, stride=(2, 1)),
        ],
        "ops.depth_to_space": [
            c(F(2, 3, 4, 8), 2),
            c(F(2, 18, 2, 3), 3, data_format="channels_first"),
        ],
        "ops.space_to_depth": [
            c(F(2, 4, 6, 3), 2),
            c(F(2, 3, 6, 9), 3, data_format="channels_first"),
        ],
        "ops.dot_product_attention": [
            c(F(2, 5, 4, 8), F(2, 6, 4, 8), F(2, 6, 4, 8)),
            c(F(2, 5, 4, 8), F(2, 5, 2, 8), F(2, 5, 2, 8), is_causal=True),
            c(F(2, 5, 4, 8), F(2, 6, 1, 8), F(2, 6, 1, 8), scale=0.3),
            c(F(2, 5, 2, 8), F(2, 6, 2, 8), F(2, 6, 2, 8), mask=R.random((2, 2, 5, 6)) > 0.3),
            c(
                F(2, 5, 2, 8),
                F(2, 5, 2, 8),
                F(2, 5, 2, 8),
                mask=R.random((5, 5)) > 0.3,
                is_causal=True,
            ),
            c(F(2, 5, 2, 8), F(2, 6, 2, 8), F(2, 6, 2, 8), bias=F(2, 2, 5, 6)),
        ],
        "ops.ctc_loss": [
            c(I(3, 4, lo=1, hi=5), F(3, 10, 5), np.array([4, 2, 3]), np.array([10, 8, 9])),
            c(I(2, 3, lo=0, hi=4), F(2, 8, 5), np.array([3, 1]), np.array([8, 8]), mask_index=4),
        ],
        "ops.ctc_decode": [
            c(F(3, 10, 5), np.array([10, 7, 4])),
            c(F(2, 8, 4), np.array([8, 5]), merge_repeated=False, mask_index=3),
            c(F(2, 8, 4), np.array([8, 5]), mask_index=None),
            c(F(2, 7, 4), np.array([7, 5]), strategy="beam_search", beam_width=4),
            c(
                F(2, 6, 5),
                np.array([6, 6]),
                strategy="beam_search",
                beam_width=3,
                top_paths=2,
                mask_index=4,
            ),
        ],
    }
)


# Keras passes these straight to torch.nn.functional, which refuses NumPy arrays.
TENSORS_ONLY = {"ops.fold", "ops.unfold"}


def _tensors(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return torch.from_numpy(value.copy())
    return value


def _copy(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, torch.Tensor):
        return value.clone()
    return value


def assert_same(expected: Any, got: Any, rtol: float = 1e-5, atol: float = 1e-5) -> None:
    """Same structure, shapes, Keras dtype names and values (NaNs in the same places)."""
    if isinstance(expected, (list, tuple)):
        assert isinstance(got, (list, tuple)) and len(got) == len(expected)
        for e, g in zip(expected, got):
            assert_same(e, g, rtol, atol)
        return
    assert isinstance(got, torch.Tensor), f"expected a tensor, got {type(got)}"
    std = keras.backend.standardize_dtype
    assert std(got.dtype) == std(expected.dtype), f"dtype {got.dtype} != {expected.dtype}"
    assert tuple(got.shape) == tuple(expected.shape), f"shape {got.shape} != {expected.shape}"
    e = keras.ops.convert_to_numpy(expected)
    g = got.detach().cpu()
    g = (g.float() if g.dtype == torch.bfloat16 else g).numpy()
    if e.dtype == np.float16:
        rtol, atol = 2e-3, 2e-3
    np.testing.assert_allclose(g, e, rtol=rtol, atol=atol, equal_nan=True)


@pytest.mark.parametrize("tensors", [False, True], ids=["numpy", "torch"])
@pytest.mark.parametrize("name", sorted(OPS_PARITY))
def test_nn_op_matches_keras(name: str, tensors: bool) -> None:
    op = name.split(".", 1)[1]
    if not tensors and name in TENSORS_ONLY:
        pytest.skip("Keras's torch backend refuses NumPy inputs here (Lamina takes them)")
    for args, kwargs in OPS_PARITY[name]:
        if tensors:
            args = tuple(_tensors(a) for a in args)
            kwargs = {k: _tensors(v) for k, v in kwargs.items()}
        expected = getattr(keras.ops, op)(*_copy(args), **kwargs)
        got = getattr(ops, op)(*_copy(args), **kwargs)
        assert_same(expected, got)
        assert getattr(ops.nn, op) is getattr(ops, op)
