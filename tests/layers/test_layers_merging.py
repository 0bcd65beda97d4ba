"""Merge layers on lists of tensors, against NumPy."""

import numpy as np
import pytest
import torch
from layer_harness import run_layer_test

from lamina.layers import (
    Add,
    Average,
    Concatenate,
    Dot,
    Input,
    Maximum,
    Minimum,
    Multiply,
    Subtract,
)


@pytest.mark.parametrize(
    "cls,fn",
    [
        (Add, lambda xs: xs[0] + xs[1] + xs[2]),
        (Multiply, lambda xs: xs[0] * xs[1] * xs[2]),
        (Average, lambda xs: (xs[0] + xs[1] + xs[2]) / 3),
        (Maximum, lambda xs: np.maximum(np.maximum(xs[0], xs[1]), xs[2])),
        (Minimum, lambda xs: np.minimum(np.minimum(xs[0], xs[1]), xs[2])),
    ],
)
def test_elementwise_merges_match_numpy(cls, fn):
    run_layer_test(
        cls, {}, [(2, 3, 4)] * 3, (2, 3, 4), expected_num_params=0, reference=lambda xs, w: fn(xs)
    )


def test_subtract_matches_numpy_and_needs_two_inputs():
    run_layer_test(
        Subtract,
        {},
        [(2, 5), (2, 5)],
        (2, 5),
        expected_num_params=0,
        reference=lambda xs, w: xs[0] - xs[1],
    )
    x = torch.zeros(2, 5)
    with pytest.raises(
        ValueError, match=r"\(Subtract\) expected exactly 2 inputs, received: num_inputs=3"
    ):
        Subtract()([x, x, x])


def test_add_broadcasts_like_keras():
    # Keras inserts size-1 axes after the batch axis for lower-rank inputs.
    run_layer_test(
        Add,
        {},
        [(2, 3), (2, 4, 3)],
        (2, 4, 3),
        expected_num_params=0,
        reference=lambda xs, w: xs[0][:, None, :] + xs[1],
    )
    with pytest.raises(ValueError, match=r"\(Add\) expected input shapes that broadcast together"):
        Add()([torch.zeros(2, 3), torch.zeros(2, 4)])


def test_merge_needs_a_list():
    with pytest.raises(ValueError, match=r"expected a list of tensors"):
        Add()(torch.zeros(2, 3))


@pytest.mark.parametrize(
    "axis,shapes,out",
    [(-1, [(2, 3, 4), (2, 3, 2)], (2, 3, 6)), (1, [(2, 3, 4), (2, 1, 4)], (2, 4, 4))],
)
def test_concatenate_matches_numpy(axis, shapes, out):
    run_layer_test(
        Concatenate,
        {"axis": axis},
        shapes,
        out,
        expected_num_params=0,
        reference=lambda xs, w: np.concatenate(xs, axis=axis),
        compiled_fit=axis == -1,
    )


def test_concatenate_shape_mismatch_error():
    with pytest.raises(
        ValueError,
        match=r"'cat' \(Concatenate\) expected inputs with matching shapes except on the concat axis=-1",
    ):
        Concatenate(name="cat")([torch.zeros(2, 3, 4), torch.zeros(2, 2, 4)])


def test_dot_matches_numpy():
    run_layer_test(
        Dot,
        {"axes": 1},
        [(3, 4), (3, 4)],
        (3, 1),
        expected_num_params=0,
        reference=lambda xs, w: (xs[0] * xs[1]).sum(axis=1, keepdims=True),
    )
    run_layer_test(
        Dot,
        {"axes": (2, 2)},
        [(2, 3, 4), (2, 5, 4)],
        (2, 3, 5),
        expected_num_params=0,
        reference=lambda xs, w: np.einsum("bik,bjk->bij", xs[0], xs[1]),
        compiled_fit=False,
    )


def test_dot_normalize_is_cosine_similarity():
    def cosine(xs, w):
        a, b = xs
        return ((a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1))[:, None]

    run_layer_test(Dot, {"axes": -1, "normalize": True}, [(3, 4), (3, 4)], (3, 1), reference=cosine)


def test_symbolic_arithmetic_uses_merge_layers():
    a, b = Input(shape=(4,)), Input(shape=(4,))
    assert (a + b).shape == (None, 4)
    assert (a * b).shape == (None, 4)
    assert isinstance((a + b).node.layer, Add)
