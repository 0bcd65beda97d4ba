"""lamina.losses' functions, Loss base class and (de)serialization against Keras 3's.

Each per-sample function must give Keras's values, shapes and dtypes with the options
of its class's cases; a user's Loss subclass must reduce and weigh as on Keras's base
class; get, serialize and deserialize must resolve to the loss Keras resolves to and
read each other's configs.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import loss_inputs as li
import numpy as np
import pytest
import torch
from loss_inputs import CASES, C, Case, N

os.environ.setdefault("KERAS_BACKEND", "torch")
keras = pytest.importorskip("keras")

from lamina import losses  # noqa: E402

FUNCTIONS = {
    "binary_crossentropy": "BinaryCrossentropy",
    "binary_focal_crossentropy": "BinaryFocalCrossentropy",
    "categorical_crossentropy": "CategoricalCrossentropy",
    "categorical_focal_crossentropy": "CategoricalFocalCrossentropy",
    "categorical_hinge": "CategoricalHinge",
    "circle": "Circle",
    "cosine_similarity": "CosineSimilarity",
    "ctc": "CTC",
    "dice": "Dice",
    "hinge": "Hinge",
    "huber": "Huber",
    "kl_divergence": "KLDivergence",
    "log_cosh": "LogCosh",
    "mean_absolute_error": "MeanAbsoluteError",
    "mean_absolute_percentage_error": "MeanAbsolutePercentageError",
    "mean_squared_error": "MeanSquaredError",
    "mean_squared_logarithmic_error": "MeanSquaredLogarithmicError",
    "poisson": "Poisson",
    "sparse_categorical_crossentropy": "SparseCategoricalCrossentropy",
    "squared_hinge": "SquaredHinge",
    "tversky": "Tversky",
}
FUNCTION_CASES: dict[str, list[Case]] = {fn: list(CASES[cls]) for fn, cls in FUNCTIONS.items()} | {
    # q has no default in the function
    "categorical_generalized_cross_entropy": [
        ({"q": 0.5}, li.sparse, None),
        ({"q": 0.8}, li.sparse, None),
    ],
}
# the reference set of the function only (the class always uses the batch itself)
FUNCTION_CASES["circle"] = [*FUNCTION_CASES["circle"], ({"refs": True}, li.embeddings, None)]

# Every Keras loss name Lamina has -> its cases (the key's kind decides the comparison).


def _check_function(name: str, kwargs: dict, gen: Callable, shape: tuple | None) -> None:
    """The per-sample function: Keras's values, shape and dtype."""
    rng = li.seed(name, kwargs, shape)
    y, p = gen(rng, shape or (N, C))
    kwargs = dict(kwargs)
    if kwargs.pop("refs", False):  # circle against a separate reference set
        ref_y, ref_p = gen(rng)
        kwargs = {"ref_labels": ref_y, "ref_embeddings": ref_p}
    ours_kwargs = {
        k: torch.as_tensor(v) if isinstance(v, np.ndarray) else v for k, v in kwargs.items()
    }
    got = getattr(losses, name)(torch.as_tensor(y), torch.as_tensor(p), **ours_kwargs)
    # (Keras's categorical_generalized_cross_entropy needs tensors, not arrays)
    y_k, p_k = keras.ops.convert_to_tensor(y), keras.ops.convert_to_tensor(p)
    want = keras.ops.convert_to_tensor(getattr(keras.losses, name)(y_k, p_k, **kwargs))
    assert keras.backend.standardize_dtype(want.dtype) == "float32" == str(got.dtype)[6:]
    assert tuple(got.shape) == tuple(want.shape)
    np.testing.assert_allclose(got.numpy(), li.to_numpy(want), rtol=2e-5, atol=2e-6)


def _check_loss_base() -> None:
    """A user's Loss subclass: the same call gives Keras's reductions and weighting."""

    class OursLoss(losses.Loss):
        def call(self, y_true, y_pred):
            return (y_pred - y_true).abs().pow(1.5).mean(-1)

    class TheirsLoss(keras.losses.Loss):
        def call(self, y_true, y_pred):
            return keras.ops.mean(keras.ops.power(keras.ops.abs(y_pred - y_true), 1.5), -1)

    rng = li.seed("Loss")
    y, p = li.regression(rng)
    weights = rng.uniform(0.0, 2.0, N).astype(np.float32)
    for reduction in ("sum_over_batch_size", "sum", "none", "mean", "mean_with_sample_weight"):
        ours, theirs = (
            OursLoss(reduction=reduction, name="l"),
            TheirsLoss(reduction=reduction, name="l"),
        )
        assert ours.name == theirs.name and ours.reduction == theirs.reduction
        for sw in (None, weights):
            got = ours(torch.as_tensor(y), torch.as_tensor(p), sample_weight=sw)
            np.testing.assert_allclose(
                got.numpy(), li.to_numpy(theirs(y, p, sample_weight=sw)), rtol=2e-5
            )
    assert OursLoss().name == "OursLoss" and TheirsLoss().name.startswith("theirs_loss")
    with pytest.raises(ValueError, match="reduction"):
        OursLoss(reduction="avg")
    with pytest.raises(ValueError):
        TheirsLoss(reduction="avg")


def _check_get() -> None:
    """`get` resolves names and configs to the loss Keras resolves them to (same values).

    Keras returns the bare function for a function name; Lamina returns the Loss that
    wraps it, whose default reduction is the mean of the function's values.
    """
    rng = li.seed("get")
    y, p = li.binary(rng)
    identifiers = [
        "mse",
        "huber",
        "Dice",
        "CategoricalFocalCrossentropy",
        {"class_name": "Tversky", "config": {"alpha": 0.2, "beta": 0.8, "axis": None}},
    ]
    for identifier in identifiers:
        ours, theirs = losses.get(identifier), keras.losses.get(identifier)
        want = li.to_numpy(theirs(y, p))
        if not isinstance(theirs, keras.losses.Loss):
            want = want.mean()
        got = ours(torch.as_tensor(y), torch.as_tensor(p))
        np.testing.assert_allclose(got.numpy(), want, rtol=2e-5, err_msg=str(identifier))
    assert losses.get(None) is None and keras.losses.get(None) is None


def _check_serialization(name: str) -> None:
    """serialize gives Keras's class_name and a config both libraries rebuild equal losses from."""
    kwargs = {"Dice": {"axis": [1, 2]}, "Tversky": {"alpha": 0.1, "beta": 0.9}}.get(name, {})
    ours, theirs = getattr(losses, name)(**kwargs), getattr(keras.losses, name)(**kwargs)
    ours_conf, theirs_conf = losses.serialize(ours), keras.losses.serialize(theirs)
    assert ours_conf["class_name"] == theirs_conf["class_name"] == name
    for key, value in theirs_conf["config"].items():
        assert ours_conf["config"][key] == value, key
    again = losses.deserialize(theirs_conf)
    assert type(again) is type(ours) and again.get_config() == ours.get_config()
    keras_again = keras.losses.deserialize({"class_name": name, "config": ours_conf["config"]})
    for key, value in theirs.get_config().items():
        assert keras_again.get_config()[key] == value, key
    y, p = li.masks(li.seed(name), (N, 3, C))
    np.testing.assert_allclose(
        again(torch.as_tensor(y), torch.as_tensor(p)).numpy(),
        li.to_numpy(keras_again(y, p)),
        rtol=2e-5,
    )


# Every Keras loss name Lamina has that is not a loss class -> its cases.
LOSSES_API_PARITY: dict[str, object] = {
    **{f"losses.{name}": cases for name, cases in FUNCTION_CASES.items()},
    "losses.Loss": "a custom subclass, every reduction, with and without weights",
    "losses.get": ["mse", "huber", "Dice", "CategoricalFocalCrossentropy", "config"],
    "losses.serialize": ["Dice", "Tversky", "BinaryFocalCrossentropy", "Huber"],
    "losses.deserialize": ["Dice", "Tversky", "BinaryFocalCrossentropy", "Huber"],
}


@pytest.mark.parametrize("name", sorted(LOSSES_API_PARITY))
def test_losses_api_parity(name):
    short = name.removeprefix("losses.")
    if short in FUNCTION_CASES:
        for kwargs, gen, shape in FUNCTION_CASES[short]:
            _check_function(short, kwargs, gen, shape)
    elif short == "Loss":
        _check_loss_base()
    elif short == "get":
        _check_get()
    else:
        for cls_name in LOSSES_API_PARITY[name]:
            _check_serialization(cls_name)


def test_parity_dict_covers_every_keras_loss_function_and_base():
    names = {n for n in dir(keras.losses) if not n.startswith("_") and not n[0].isupper()}
    names.add("Loss")
    assert {n for n in names if not hasattr(losses, n)} == set()
    assert {f"losses.{n}" for n in names} == set(LOSSES_API_PARITY)
