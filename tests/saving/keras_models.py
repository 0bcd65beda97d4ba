"""The same small models built with Lamina or with Keras 3, for the Keras-format tests.

Each builder takes the library (`lamina` or `keras`) and returns a built model, so a
Lamina model and its Keras twin have the same architecture and weight shapes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np


def _seq(shape: tuple, make: Callable[[Any], list]) -> Callable[[Any], Any]:
    def build(lib: Any) -> Any:
        return lib.Sequential([lib.Input(shape), *make(lib.layers)])

    build.input_shapes = [shape]  # type: ignore[attr-defined]
    return build


SEQUENTIAL = {
    "dense": _seq((6,), lambda L: [L.Dense(4, activation="relu"), L.Dense(3, use_bias=False)]),
    "conv1d_pooling": _seq(
        (10, 3),
        lambda L: [
            L.Conv1D(4, 3, padding="same", activation="relu"),
            L.MaxPooling1D(2),
            L.AveragePooling1D(2),
            L.Conv1D(2, 2, strides=2, dilation_rate=1),
            L.GlobalAveragePooling1D(),
        ],
    ),
    "conv1d_global_max": _seq((9, 2), lambda L: [L.Conv1D(3, 3), L.GlobalMaxPooling1D()]),
    "conv2d_pooling": _seq(
        (8, 8, 3),
        lambda L: [
            L.Conv2D(4, 3, padding="same", activation="relu"),
            L.MaxPooling2D(),
            L.Conv2D(4, (2, 3), strides=(1, 2), dilation_rate=1),
            L.AveragePooling2D(pool_size=(1, 1)),
            L.Flatten(),
            L.Dense(2),
        ],
    ),
    "conv2d_transpose": _seq(
        (5, 5, 2),
        lambda L: [L.Conv2DTranspose(3, 3, strides=2, padding="same"), L.GlobalAveragePooling2D()],
    ),
    "conv2d_groups": _seq((6, 6, 4), lambda L: [L.Conv2D(4, 3, groups=2), L.GlobalMaxPooling2D()]),
    "batch_norm": _seq((6,), lambda L: [L.Dense(4), L.BatchNormalization(), L.Dense(2)]),
    "batch_norm_image": _seq(
        (5, 5, 3),
        lambda L: [L.BatchNormalization(center=False), L.Conv2D(2, 1), L.Flatten()],
    ),
    "layer_norm": _seq((5, 4), lambda L: [L.LayerNormalization(), L.Flatten(), L.Dense(2)]),
    "regularization": _seq(
        (6,),
        lambda L: [
            L.Dropout(0.5),
            L.GaussianNoise(0.1),
            L.GaussianDropout(0.1),
            L.ActivityRegularization(l1=0.01),
            L.Dense(2, kernel_regularizer="l2"),
        ],
    ),
    "spatial_dropout": _seq(
        (6, 6, 3), lambda L: [L.SpatialDropout2D(0.2), L.Conv2D(2, 1), L.Flatten()]
    ),
    "spatial_dropout_1d": _seq((6, 3), lambda L: [L.SpatialDropout1D(0.2), L.Flatten()]),
    "reshaping": _seq(
        (12,),
        lambda L: [
            L.Reshape((3, 4)),
            L.Permute((2, 1)),
            L.Flatten(),
            L.RepeatVector(2),
            L.Flatten(),
        ],
    ),
    "image_reshaping": _seq(
        (6, 6, 2),
        lambda L: [L.ZeroPadding2D(1), L.Cropping2D(1), L.UpSampling2D(2), L.GlobalMaxPooling2D()],
    ),
    "activations": _seq(
        (6,),
        lambda L: [
            L.Dense(5),
            L.Activation("tanh"),
            L.ReLU(),
            L.LeakyReLU(negative_slope=0.2),
            L.ELU(),
            L.PReLU(),
            L.Softmax(),
        ],
    ),
    "preprocessing": _seq(
        (8, 8, 3),
        lambda L: [
            L.Rescaling(0.5, offset=0.1),
            L.Normalization(),
            L.Resizing(6, 6),
            L.CenterCrop(4, 4),
            L.Flatten(),
        ],
    ),
    "augmentation": _seq(
        (8, 8, 3),
        lambda L: [
            L.RandomFlip(),
            L.RandomRotation(0.1),
            L.RandomTranslation(0.1, 0.1),
            L.RandomZoom(0.1),
            L.RandomContrast(0.1),
            L.Flatten(),
        ],
    ),
}


def merging(lib: Any) -> Any:
    """Two inputs through every merge layer, then a shared Dense and two outputs."""
    L = lib.layers
    a = lib.Input((6,), name="a")
    b = lib.Input((6,), name="b")
    da, db = L.Dense(4)(a), L.Dense(4)(b)
    merged = [
        L.Add()([da, db]),
        L.Subtract()([da, db]),
        L.Multiply()([da, db]),
        L.Average()([da, db]),
        L.Maximum()([da, db]),
        L.Minimum()([da, db]),
    ]
    cat = L.Concatenate()(merged)
    dot = L.Dot(axes=1)([da, db])
    shared = L.Dense(3, name="shared")
    out1 = shared(L.Dense(4)(cat))
    out2 = L.Concatenate()([shared(da), dot])
    return lib.Model([a, b], [out1, out2])


merging.input_shapes = [(6,), (6,)]  # type: ignore[attr-defined]


def nested(lib: Any) -> Any:
    """A functional model holding a Sequential and another functional model."""
    L = lib.layers
    inner_in = lib.Input((4,))
    inner = lib.Model(inner_in, L.Dense(3, activation="relu")(L.BatchNormalization()(inner_in)))
    block = lib.Sequential([lib.Input((6,)), L.Dense(4), L.LayerNormalization()])
    x = lib.Input((6,))
    h = inner(block(x))
    return lib.Model(x, L.Dense(2)(L.Concatenate()([h, L.Dense(3)(x)])))


nested.input_shapes = [(6,)]  # type: ignore[attr-defined]

FUNCTIONAL = {"merging": merging, "nested": nested}
ALL = {**SEQUENTIAL, **FUNCTIONAL}


def inputs(build: Any, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.uniform(-1, 1, (3, *s)).astype("float32") for s in build.input_shapes]


def randomize(model: Any, seed: int = 1) -> None:
    """Weights away from their initial values (positive, so variances stay valid)."""
    rng = np.random.default_rng(seed)
    values = [
        rng.uniform(0.2, 1.0, np.shape(w)).astype(np.asarray(w).dtype) for w in model.get_weights()
    ]
    model.set_weights(values)
