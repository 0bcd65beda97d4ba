"""The courses' worked convolution and pooling examples hold exactly in Lamina.

Keras (and so Lamina) convolutions are cross-correlations: the kernel is slid,
not flipped, over the image.
"""

import numpy as np
import pytest
import torch

from lamina.layers import Conv2D, MaxPooling2D

IMAGE = np.array(
    [
        [105, 102, 100, 97, 96],
        [103, 99, 103, 101, 102],
        [101, 98, 104, 102, 100],
        [99, 101, 106, 104, 99],
        [104, 104, 104, 100, 98],
    ],
    dtype=np.float32,
)
SHARPEN = np.array([[0, -1, 0], [-1, 5, -1], [0, -1, 0]], dtype=np.float32)
VERTICAL_EDGE = np.array([[-1, 0, 1], [-1, 0, 1], [-1, 0, 1]], dtype=np.float32)


def conv_layer(kernel: np.ndarray, padding: str) -> Conv2D:
    layer = Conv2D(1, kernel.shape, padding=padding, use_bias=False)
    layer(torch.zeros(1, 8, 8, 1))
    layer.set_weights([kernel[:, :, None, None]])  # Keras layout (kh, kw, in, out)
    return layer


def cross_correlate(image: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Valid cross-correlation by explicit loops, as on the lecture slides."""
    kh, kw = kernel.shape
    out = np.zeros((image.shape[0] - kh + 1, image.shape[1] - kw + 1))
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            total = 0.0
            for a in range(kh):
                for b in range(kw):
                    total += image[i + a, j + b] * kernel[a, b]
            out[i, j] = total
    return out


def test_sharpen_kernel_with_same_padding_gives_320_first():
    # The slide shows the image zero-padded to 6x6 (a zero first row and column); 'same'
    # padding supplies those zeros (and the bottom/right ones).
    out = conv_layer(SHARPEN, "same")(torch.from_numpy(IMAGE)[None, :, :, None])[0, :, :, 0]
    out = out.detach().numpy()
    assert out[0, 0] == 320.0  # 5*105 - 102 - 103 (the up and left neighbours are padding)
    padded = np.pad(IMAGE, 1)
    np.testing.assert_array_equal(out, cross_correlate(padded, SHARPEN))
    assert out.shape == (5, 5)


@pytest.mark.parametrize("width", [6, 7])
def test_vertical_edge_filter_on_a_patch_with_an_edge(width):
    # Dark columns (10) then bright columns (200); the edge lies between columns 2 and 3.
    patch = np.full((5, width), 10.0, dtype=np.float32)
    patch[:, 3:] = 200.0
    out = conv_layer(VERTICAL_EDGE, "valid")(torch.from_numpy(patch)[None, :, :, None])[0, :, :, 0]
    out = out.detach().numpy()
    # Valid padding: (5 - 3 + 1) x (width - 3 + 1); a 5x6 patch gives 3x4 and a 5x7 patch 3x5.
    assert out.shape == (3, width - 2)
    expected = np.zeros((3, width - 2))
    for i in range(3):
        for j in range(width - 2):
            for a in range(3):
                for b in range(3):
                    expected[i, j] += patch[i + a, j + b] * VERTICAL_EDGE[a, b]
    np.testing.assert_array_equal(out, expected)
    # The strongest responses are the windows that straddle the edge (they cover columns 2 and 3).
    edge_columns = [j for j in range(width - 2) if j <= 2 and j + 2 >= 3]
    assert set(np.flatnonzero(out[0] == out.max())) == set(edge_columns)
    assert out.max() == 3 * (200 - 10)
    assert (np.delete(out, edge_columns, axis=1) == 0).all()


def test_max_pooling_2x2_of_a_known_feature_map():
    feature_map = np.array(
        [[1, 3, 2, 1], [4, 6, 5, 0], [7, 2, 9, 8], [1, 0, 3, 4]], dtype=np.float32
    )
    out = MaxPooling2D(2)(torch.from_numpy(feature_map)[None, :, :, None])[0, :, :, 0]
    np.testing.assert_array_equal(out.numpy(), [[6, 5], [7, 9]])
