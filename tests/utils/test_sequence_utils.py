"""pad_sequences against Keras 3's own `keras.utils.pad_sequences`."""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from lamina.preprocessing.sequence import pad_sequences as legacy_pad  # noqa: E402
from lamina.utils import pad_sequences  # noqa: E402

SEQUENCES = [[1, 2, 3, 4, 5], [6], [], [7, 8, 9], list(range(10, 20))]


@pytest.mark.parametrize("maxlen", [None, 1, 3, 7, 12])
@pytest.mark.parametrize("padding", ["pre", "post"])
@pytest.mark.parametrize("truncating", ["pre", "post"])
def test_matches_keras(maxlen, padding, truncating):
    kw = dict(maxlen=maxlen, padding=padding, truncating=truncating)
    want = keras.utils.pad_sequences(SEQUENCES, **kw)
    got = pad_sequences(SEQUENCES, **kw)
    assert got.dtype == want.dtype
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize(
    "seqs, kw",
    [
        ([[0.5, 1.5], [2.5]], {"dtype": "float32", "value": -1.0}),
        ([np.ones((2, 3)), np.zeros((4, 3))], {"maxlen": 3, "dtype": "float64"}),
        ([["a", "b"], ["c"]], {"dtype": object, "value": "<pad>"}),
        ((np.arange(4), np.arange(2)), {"padding": "post", "dtype": "int64"}),
    ],
)
def test_dtypes_values_and_item_shapes_match_keras(seqs, kw):
    want = keras.utils.pad_sequences(seqs, **kw)
    got = legacy_pad(seqs, **kw)
    assert got.shape == want.shape and got.dtype == want.dtype
    np.testing.assert_array_equal(got, want)


def test_edge_cases():
    assert pad_sequences([], maxlen=3).shape == (0, 3)
    assert pad_sequences([[1, 2]], maxlen=0).shape == (1, 0)
    assert pad_sequences([[], []]).shape == (2, 0)


@pytest.mark.parametrize(
    "args, kw, message",
    [
        ((SEQUENCES,), {"padding": "middle"}, "padding"),
        ((SEQUENCES,), {"truncating": "both"}, "truncating"),
        ((SEQUENCES,), {"maxlen": -1}, "maxlen"),
        ((SEQUENCES,), {"maxlen": 2.5}, "maxlen"),
        ((5,), {}, "list of sequences"),
        (([[1], 2],), {}, "position 1"),
        (([["a"]],), {"value": "x"}, "dtype"),
        (([np.ones((2, 3)), np.ones((1, 4))],), {}, "shape"),
    ],
)
def test_bad_arguments(args, kw, message):
    with pytest.raises(ValueError, match=message) as err:
        pad_sequences(*args, **kw)
    assert "received:" in str(err.value)
