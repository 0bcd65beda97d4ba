"""UpSampling1D, ZeroPadding1D, Cropping1D: the shared layer harness with NumPy references,
Keras 3 parity (outputs and configs), and the errors for bad arguments and short inputs."""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import numpy as np
import pytest
import torch
from layer_harness import run_layer_test

keras = pytest.importorskip("keras")

import lamina  # noqa: E402
from lamina.layers.reshaping import Cropping1D, UpSampling1D, ZeroPadding1D  # noqa: E402

CASES = [
    (UpSampling1D, {"size": 3}, (2, 4, 3), (2, 12, 3), lambda x: np.repeat(x, 3, axis=1)),
    (UpSampling1D, {}, (2, 4, 3), (2, 8, 3), lambda x: np.repeat(x, 2, axis=1)),
    (
        ZeroPadding1D,
        {"padding": 2},
        (2, 4, 3),
        (2, 8, 3),
        lambda x: np.pad(x, ((0, 0), (2, 2), (0, 0))),
    ),
    (
        ZeroPadding1D,
        {"padding": (0, 3)},
        (2, 4, 3),
        (2, 7, 3),
        lambda x: np.pad(x, ((0, 0), (0, 3), (0, 0))),
    ),
    (Cropping1D, {"cropping": (1, 2)}, (2, 6, 3), (2, 3, 3), lambda x: x[:, 1:4]),
    (Cropping1D, {"cropping": 1}, (2, 6, 3), (2, 4, 3), lambda x: x[:, 1:5]),
    (Cropping1D, {"cropping": (2, 0)}, (2, 6, 3), (2, 4, 3), lambda x: x[:, 2:]),
]
IDS = [f"{c[0].__name__}-{i}" for i, c in enumerate(CASES)]


@pytest.mark.parametrize("cls,kwargs,shape,out_shape,reference", CASES, ids=IDS)
def test_layer_harness(cls, kwargs, shape, out_shape, reference):
    first = next(c for c in CASES if c[0] is cls)
    run_layer_test(
        cls,
        kwargs,
        input_shape=shape,
        expected_output_shape=out_shape,
        expected_num_params=0,
        reference=lambda x, w: reference(x),
        compiled_fit=(cls, kwargs) == first[:2],  # one compiled case per class
    )


@pytest.mark.parametrize("cls,kwargs,shape,out_shape,reference", CASES, ids=IDS)
def test_matches_keras(cls, kwargs, shape, out_shape, reference):
    x = np.random.default_rng(0).normal(size=shape).astype(np.float32)
    k = getattr(keras.layers, cls.__name__)(**kwargs)
    lam = cls(**kwargs)
    np.testing.assert_array_equal(lam(torch.tensor(x)).numpy(), keras.ops.convert_to_numpy(k(x)))
    assert tuple(lam.compute_output_shape((None, None, 3))) == tuple(
        k.compute_output_shape((None, None, 3))
    )
    config = {key: v for key, v in k.get_config().items() if key not in ("dtype", "name")}
    mine = lam.get_config()
    for key, value in config.items():
        assert np.array_equal(np.asarray(mine[key]), np.asarray(value)), key
    entry = {"module": "keras.layers", "class_name": cls.__name__, "config": k.get_config()}
    built = lamina.saving.serialization.deserialize_layer(entry)
    np.testing.assert_array_equal(built(torch.tensor(x)).numpy(), lam(torch.tensor(x)).numpy())


@pytest.mark.parametrize(
    "make,match",
    [
        (lambda: UpSampling1D(size=0), "size"),
        (lambda: UpSampling1D(size=1.5), "size"),
        (lambda: ZeroPadding1D(padding=-1), "padding"),
        (lambda: ZeroPadding1D(padding=(1, 2, 3)), "padding"),
        (lambda: ZeroPadding1D(data_format="channels_first"), "channels_last"),
        (lambda: Cropping1D(cropping="1"), "cropping"),
    ],
)
def test_bad_arguments_are_refused(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_cropping_more_than_the_sequence_is_refused_naming_the_layer():
    with pytest.raises(ValueError, match=r"'crop' \(Cropping1D\).*longer than the cropping"):
        Cropping1D((2, 2), name="crop")(lamina.Input((4, 3)))
    layer = Cropping1D((2, 2), name="crop2")
    layer(torch.zeros(1, 8, 3))
    with pytest.raises(ValueError, match=r"'crop2'.*longer than the cropping"):
        layer(torch.zeros(1, 3, 3))
    with pytest.raises(ValueError, match=r"rank 3"):
        UpSampling1D()(torch.zeros(2, 3))
