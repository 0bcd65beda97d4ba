"""Conv1D, Conv2D, Conv2DTranspose: torch.nn references, explicit NumPy loops, TF 'same' padding."""

import numpy as np
import pytest
import torch
from layer_harness import run_layer_test

from lamina import regularizers
from lamina.layers import Conv1D, Conv2D, Conv2DTranspose, Input


def np_conv2d(x, kernel, bias=None, strides=(1, 1), pads=((0, 0), (0, 0)), dilation=(1, 1)):
    """Cross-correlation of NHWC `x` with a Keras (kh, kw, in, out) kernel, by explicit loops."""
    x = np.pad(x, ((0, 0), pads[0], pads[1], (0, 0)))
    kh, kw, _, cout = kernel.shape
    n, h, w, _ = x.shape
    eh, ew = (kh - 1) * dilation[0] + 1, (kw - 1) * dilation[1] + 1
    oh, ow = (h - eh) // strides[0] + 1, (w - ew) // strides[1] + 1
    out = np.zeros((n, oh, ow, cout))
    for i in range(oh):
        for j in range(ow):
            for a in range(kh):
                for b in range(kw):
                    pix = x[
                        :, i * strides[0] + a * dilation[0], j * strides[1] + b * dilation[1], :
                    ]
                    out[:, i, j, :] += pix @ kernel[a, b]
    return out if bias is None else out + bias


def tf_same_pads(size, k, s, d=1):
    """TensorFlow: total = max((ceil(size/s) - 1) * s + eff - size, 0); the extra pixel goes after."""
    eff = (k - 1) * d + 1
    total = max((-(-size // s) - 1) * s + eff - size, 0)
    return (total // 2, total - total // 2)


def torch_conv_reference(groups=1, stride=1, dilation=1):
    def reference(x, w):
        kernel = torch.from_numpy(w[0]).permute(3, 2, 0, 1)
        conv = torch.nn.Conv2d(
            kernel.shape[1] * groups, kernel.shape[0], kernel.shape[2:], stride, 0, dilation, groups
        )
        with torch.no_grad():
            conv.weight.copy_(kernel)
            conv.bias.copy_(torch.from_numpy(w[1]))
            return conv(torch.from_numpy(x).permute(0, 3, 1, 2)).permute(0, 2, 3, 1).numpy()

    return reference


def test_conv2d_valid_matches_torch_conv2d():
    run_layer_test(
        Conv2D,
        {"filters": 4, "kernel_size": 3},
        input_shape=(2, 5, 6, 3),
        expected_output_shape=(2, 3, 4, 4),
        expected_num_params=3 * 3 * 3 * 4 + 4,
        reference=torch_conv_reference(),
    )


def test_conv2d_strided_dilated_grouped_matches_torch_conv2d():
    run_layer_test(
        Conv2D,
        {"filters": 4, "kernel_size": (2, 3), "strides": 2, "groups": 2, "dilation_rate": 1},
        input_shape=(2, 6, 7, 4),
        expected_output_shape=(2, 3, 3, 4),
        expected_num_params=2 * 3 * 2 * 4 + 4,
        reference=torch_conv_reference(groups=2, stride=2),
    )
    run_layer_test(
        Conv2D,
        {"filters": 2, "kernel_size": 2, "dilation_rate": 2},
        input_shape=(1, 5, 5, 2),
        expected_output_shape=(1, 3, 3, 2),
        expected_num_params=2 * 2 * 2 * 2 + 2,
        reference=torch_conv_reference(dilation=2),
    )


@pytest.mark.parametrize("size,k,stride", [(6, 3, 2), (5, 3, 2), (7, 4, 2), (5, 2, 1), (6, 5, 3)])
def test_conv2d_same_padding_matches_tensorflow(size, k, stride):
    pads = (tf_same_pads(size, k, stride), tf_same_pads(size + 1, k, stride))
    out_shape = (2, -(-size // stride), -(-(size + 1) // stride), 3)

    def reference(x, w):
        return np_conv2d(x, w[0], w[1], (stride, stride), pads)

    run_layer_test(
        Conv2D,
        {"filters": 3, "kernel_size": k, "strides": stride, "padding": "same"},
        input_shape=(2, size, size + 1, 2),
        expected_output_shape=out_shape,
        expected_num_params=k * k * 2 * 3 + 3,
        reference=reference,
        compiled_fit=(size, k, stride) == (7, 4, 2),
    )


def test_conv2d_same_stride2_pads_bottom_right_hand_values():
    # 4x4 image 0..15, 3x3 kernel of ones, stride 2: TF pads one row/column at the bottom/right only.
    layer = Conv2D(1, 3, strides=2, padding="SAME", use_bias=False, kernel_initializer="ones")
    x = torch.arange(16.0).reshape(1, 4, 4, 1)
    out = layer(x)[0, :, :, 0]
    hand = [
        [0 + 1 + 2 + 4 + 5 + 6 + 8 + 9 + 10, 2 + 3 + 6 + 7 + 10 + 11],
        [8 + 9 + 10 + 12 + 13 + 14, 10 + 11 + 14 + 15],
    ]
    np.testing.assert_array_equal(out.detach().numpy(), np.array(hand, dtype=np.float32))
    assert layer.padding == "same"


def test_conv2d_weights_in_keras_layout_and_channels_last_storage():
    layer = Conv2D(5, (3, 2))
    out = layer(torch.randn(2, 6, 6, 4))
    kernel, bias = layer.get_weights()
    assert kernel.shape == (3, 2, 4, 5) and bias.shape == (5,)
    assert tuple(layer.kernel.shape) == (5, 4, 3, 2)
    assert layer.kernel.is_contiguous(memory_format=torch.channels_last)
    assert out.is_contiguous()


def test_conv2d_regularizers_add_losses():
    layer = Conv2D(
        2,
        1,
        kernel_initializer="ones",
        kernel_regularizer=regularizers.L2(0.1),
        activity_regularizer=regularizers.L1(0.01),
    )
    x = torch.ones(4, 2, 2, 3)
    out = layer(x)
    kernel_penalty, activity_penalty = layer.losses
    assert float(kernel_penalty.detach()) == pytest.approx(0.1 * 6)
    assert float(activity_penalty.detach()) == pytest.approx(
        0.01 * float(out.detach().abs().sum()) / 4
    )


def test_conv2d_rank3_input_error_says_expected_and_received():
    layer = Conv2D(8, 3, name="conv")
    with pytest.raises(ValueError) as err:
        layer(torch.zeros(2, 28, 28))
    msg = str(err.value)
    assert "Layer 'conv' (Conv2D) expected input of rank 4" in msg
    assert "received: input_shape=(None, 28, 28)" in msg
    with pytest.raises(ValueError, match="rank 4"):
        Conv2D(8, 3)(Input(shape=(28, 28)))


def test_conv2d_argument_errors():
    with pytest.raises(
        ValueError, match=r"\(Conv2D\) expected padding 'valid' or 'same', received: padding='full'"
    ):
        Conv2D(1, 3, padding="full")
    with pytest.raises(
        ValueError, match=r"expected a positive integer for filters, received: filters=0"
    ):
        Conv2D(0, 3)
    with pytest.raises(ValueError, match=r"kernel_size, received: kernel_size=\(3, 3, 3\)"):
        Conv2D(1, (3, 3, 3))
    with pytest.raises(
        ValueError, match=r"spatial dimensions at least as large as the \(dilated\) kernel"
    ):
        Conv2D(1, 5)(torch.zeros(1, 3, 3, 1))


def test_conv1d_matches_torch_conv1d():
    def reference(x, w):
        conv = torch.nn.Conv1d(3, 4, 3, stride=2)
        with torch.no_grad():
            conv.weight.copy_(torch.from_numpy(w[0]).permute(2, 1, 0))
            conv.bias.copy_(torch.from_numpy(w[1]))
            return conv(torch.from_numpy(x).transpose(1, 2)).transpose(1, 2).numpy()

    result = run_layer_test(
        Conv1D,
        {"filters": 4, "kernel_size": 3, "strides": 2},
        input_shape=(2, 9, 3),
        expected_output_shape=(2, 4, 4),
        expected_num_params=3 * 3 * 4 + 4,
        reference=reference,
    )
    assert result.layer.get_weights()[0].shape == (3, 3, 4)


@pytest.mark.parametrize(
    "padding,stride,dilation", [("causal", 1, 2), ("same", 2, 1), ("same", 1, 1)]
)
def test_conv1d_padding_modes_match_numpy(padding, stride, dilation):
    k, steps = 4, 7
    if padding == "causal":
        pads = ((k - 1) * dilation, 0)
    else:
        pads = tf_same_pads(steps, k, stride, dilation)

    def reference(x, w):
        out = np_conv2d(x[:, None], w[0][None], w[1], (1, stride), ((0, 0), pads), (1, dilation))
        return out[:, 0]

    run_layer_test(
        Conv1D,
        {
            "filters": 2,
            "kernel_size": k,
            "strides": stride,
            "dilation_rate": dilation,
            "padding": padding,
        },
        input_shape=(2, steps, 3),
        expected_output_shape=(2, -(-steps // stride), 2),
        expected_num_params=k * 3 * 2 + 2,
        reference=reference,
        compiled_fit=padding == "causal",
    )


def np_conv_transpose(x, kernel, bias, stride, out_size, same):
    """Scatter each input pixel times the (kh, kw, out, in) kernel, then crop as TensorFlow does."""
    n, h, w, _ = x.shape
    kh, kw, cout, _ = kernel.shape
    full = np.zeros((n, (h - 1) * stride + kh, (w - 1) * stride + kw, cout))
    for i in range(h):
        for j in range(w):
            full[:, i * stride : i * stride + kh, j * stride : j * stride + kw] += np.einsum(
                "nc,abdc->nabd", x[:, i, j], kernel
            )
    top = max(full.shape[1] - out_size[0], 0) // 2 if same else 0
    left = max(full.shape[2] - out_size[1], 0) // 2 if same else 0
    full = np.pad(
        full,
        (
            (0, 0),
            (0, max(0, out_size[0] + top - full.shape[1])),
            (0, max(0, out_size[1] + left - full.shape[2])),
            (0, 0),
        ),
    )
    return full[:, top : top + out_size[0], left : left + out_size[1]] + bias


@pytest.mark.parametrize(
    "k,stride,padding", [(3, 2, "same"), (4, 2, "same"), (3, 2, "valid"), (2, 3, "valid")]
)
def test_conv2d_transpose_matches_numpy(k, stride, padding):
    h, w = 3, 4
    if padding == "same":
        out = (h * stride, w * stride)
    else:
        out = (h * stride + max(k - stride, 0), w * stride + max(k - stride, 0))

    def reference(x, weights):
        return np_conv_transpose(x, weights[0], weights[1], stride, out, padding == "same")

    result = run_layer_test(
        Conv2DTranspose,
        {"filters": 2, "kernel_size": k, "strides": stride, "padding": padding},
        input_shape=(2, h, w, 3),
        expected_output_shape=(2, *out, 2),
        expected_num_params=k * k * 3 * 2 + 2,
        reference=reference,
        compiled_fit=(k, stride, padding) == (3, 2, "same"),
    )
    assert result.layer.get_weights()[0].shape == (k, k, 2, 3)  # Keras: (kh, kw, filters, in)


def test_conv2d_transpose_valid_matches_torch():
    def reference(x, w):
        deconv = torch.nn.ConvTranspose2d(3, 2, 3, stride=2)
        with torch.no_grad():
            deconv.weight.copy_(torch.from_numpy(w[0]).permute(3, 2, 0, 1))
            deconv.bias.copy_(torch.from_numpy(w[1]))
            return deconv(torch.from_numpy(x).permute(0, 3, 1, 2)).permute(0, 2, 3, 1).numpy()

    run_layer_test(
        Conv2DTranspose,
        {"filters": 2, "kernel_size": 3, "strides": 2},
        input_shape=(1, 3, 3, 3),
        expected_output_shape=(1, 7, 7, 2),
        expected_num_params=3 * 3 * 2 * 3 + 2,
        reference=reference,
    )
