"""ReLU, LeakyReLU, ELU, PReLU, Softmax and Maxout against NumPy and hand values."""

import numpy as np
import pytest
import torch
from layer_harness import run_layer_test

from lamina.layers import ELU, LeakyReLU, Maxout, PReLU, ReLU, Softmax


def np_relu(x, max_value=None, negative_slope=0.0, threshold=0.0):
    out = np.where(x >= threshold, x, negative_slope * (x - threshold))
    return out if max_value is None else np.minimum(out, max_value)


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"max_value": 0.8},
        {"negative_slope": 0.1},
        {"max_value": 1.0, "negative_slope": 0.2, "threshold": 0.5},
    ],
)
def test_relu_matches_numpy(kwargs):
    run_layer_test(
        ReLU,
        kwargs,
        (3, 4),
        (3, 4),
        expected_num_params=0,
        reference=lambda x, w: np_relu(x, **kwargs),
        compiled_fit=len(kwargs) == 3,
    )


def test_relu_keras_docstring_example():
    out = ReLU(max_value=10, negative_slope=0.5)(torch.tensor([[-10.0, -5.0, 0.0, 5.0, 10.0]]))
    np.testing.assert_allclose(out.numpy(), [[-5.0, -2.5, 0.0, 5.0, 10.0]])
    with pytest.raises(
        ValueError,
        match=r"\(ReLU\) expected max_value None or a number >= 0, received: max_value=-1",
    ):
        ReLU(max_value=-1)


def test_leaky_relu_default_slope_is_keras3_0_3():
    x = torch.tensor([[-2.0, -0.5, 0.0, 3.0]])
    np.testing.assert_allclose(LeakyReLU()(x).numpy(), [[-0.6, -0.15, 0.0, 3.0]], rtol=1e-6)
    np.testing.assert_allclose(
        LeakyReLU(alpha=0.1)(x).numpy(), [[-0.2, -0.05, 0.0, 3.0]], rtol=1e-6
    )
    assert LeakyReLU(alpha=0.1).get_config()["negative_slope"] == pytest.approx(0.1)
    run_layer_test(
        LeakyReLU,
        {"negative_slope": 0.2},
        (2, 5),
        (2, 5),
        expected_num_params=0,
        reference=lambda x, w: np.where(x >= 0, x, 0.2 * x),
    )


def test_elu_matches_numpy():
    run_layer_test(
        ELU,
        {"alpha": 0.7},
        (2, 5),
        (2, 5),
        expected_num_params=0,
        reference=lambda x, w: np.where(x > 0, x, 0.7 * (np.exp(x) - 1)),
    )


@pytest.mark.parametrize("shared_axes,params", [(None, 3 * 4 * 2), ([1, 2], 2), (1, 4 * 2)])
def test_prelu_matches_numpy(shared_axes, params):
    result = run_layer_test(
        PReLU,
        {"shared_axes": shared_axes},
        (2, 3, 4, 2),
        (2, 3, 4, 2),
        expected_num_params=params,
        reference=lambda x, w: np.where(x >= 0, x, w[0] * x),
        compiled_fit=shared_axes == [1, 2],
    )
    assert result.layer.get_weights()[0].size == params


def test_prelu_starts_as_relu():
    x = torch.tensor([[-1.0, 2.0]])
    np.testing.assert_array_equal(PReLU()(x).detach().numpy(), [[0.0, 2.0]])


def np_softmax(x, axis):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


@pytest.mark.parametrize("axis", [-1, 1, [1, 2]])
def test_softmax_matches_numpy(axis):
    np_axis = tuple(axis) if isinstance(axis, list) else axis
    run_layer_test(
        Softmax,
        {"axis": axis},
        (2, 3, 4),
        (2, 3, 4),
        expected_num_params=0,
        reference=lambda x, w: np_softmax(x, np_axis),
        compiled_fit=axis == -1,
    )


def test_softmax_emits_logits_when_asked():
    layer = Softmax()
    x = torch.randn(2, 5)
    torch.testing.assert_close(layer(x).sum(-1), torch.ones(2))
    layer._emit_logits = True
    assert torch.equal(layer(x), x)


def test_maxout_matches_numpy_max_over_pieces():
    units, pieces = 3, 4

    def reference(x, w):
        z = x @ w[0] + w[1]  # column u * pieces + p is piece p of unit u
        return z.reshape(*x.shape[:-1], units, pieces).max(axis=-1)

    result = run_layer_test(
        Maxout,
        {"units": units, "num_pieces": pieces},
        (2, 5),
        (2, units),
        expected_num_params=5 * units * pieces + units * pieces,
        reference=reference,
    )
    kernel, bias = result.layer.get_weights()
    assert kernel.shape == (5, 12) and bias.shape == (12,)
    run_layer_test(
        Maxout,
        {"units": 2},
        (2, 3, 4),
        (2, 3, 2),
        expected_num_params=4 * 4 + 4,
        reference=lambda x, w: (x @ w[0] + w[1]).reshape(2, 3, 2, 2).max(-1),
        compiled_fit=False,
    )


def test_maxout_hand_values_and_errors():
    layer = Maxout(1, num_pieces=3, use_bias=False)
    layer(torch.zeros(1, 2))
    layer.set_weights([np.array([[1.0, -1.0, 0.5], [0.0, 2.0, 1.0]], np.float32)])
    out = layer(torch.tensor([[1.0, 1.0], [2.0, -1.0]]))
    # pieces: [1, 1, 1.5] -> 1.5 ; [2, -4, 0] -> 2
    np.testing.assert_allclose(out.detach().numpy(), [[1.5], [2.0]])
    with pytest.raises(
        ValueError,
        match=r"\(Maxout\) expected a positive integer for num_pieces, received: num_pieces=0",
    ):
        Maxout(2, num_pieces=0)
