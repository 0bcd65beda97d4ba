"""Every public loss class of lamina.losses against Keras 3's same-named class (the oracle).

Each class must be written out with a `class` statement in lamina/losses/, take Keras 3's
constructor arguments in Keras's order with Keras's defaults, return exactly them from
`get_config` (a config that `from_config` and Keras accept), and give Keras's values on
random inputs for every reduction, with and without sample weights.
"""

from __future__ import annotations

import inspect
import os
import re
from collections.abc import Callable
from pathlib import Path

import loss_inputs as li
import numpy as np
import pytest
import torch
from loss_inputs import CASES, C, N

os.environ.setdefault("KERAS_BACKEND", "torch")
keras = pytest.importorskip("keras")

import lamina  # noqa: E402
from lamina import losses  # noqa: E402

LOSSES_DIR = Path(lamina.__file__).parent / "losses"
LAMINA_ONLY = {"SumSquaredError"}  # the courses' SSE: no Keras class

PUBLIC = sorted(
    name
    for name, obj in vars(losses).items()
    if not name.startswith("_")
    and inspect.isclass(obj)
    and issubclass(obj, losses.Loss)
    and obj not in (losses.Loss, losses.LossFunctionWrapper)
)


# Every Keras loss class Lamina has -> its cases (Loss, the functions, get, serialize and
# deserialize: test_losses_api_parity.py).
LOSSES_PARITY: dict[str, list] = {f"losses.{name}": cases for name, cases in CASES.items()}


def test_every_public_loss_has_a_parity_case():
    assert sorted(set(PUBLIC) - LAMINA_ONLY) == sorted(CASES)
    assert {n for n in PUBLIC if hasattr(keras.losses, n)} == set(CASES)


@pytest.mark.parametrize("name", PUBLIC)
def test_loss_is_a_class_statement_in_the_losses_package(name):
    cls = getattr(losses, name)
    source_file = Path(inspect.getsourcefile(cls)).resolve()
    assert source_file.parent == LOSSES_DIR.resolve(), source_file
    assert cls.__module__ == f"lamina.losses.{source_file.stem}"
    lines, _ = inspect.getsourcelines(cls)
    body = "".join(lines)
    assert re.search(rf"^class {name}\(", body, re.MULTILINE), body[:200]
    assert "__init__" in vars(cls), f"{name} writes out its own __init__"


@pytest.mark.parametrize("name", PUBLIC)
def test_constructor_and_config_are_keras_3s(name):
    cls = getattr(losses, name)
    params = list(inspect.signature(cls.__init__).parameters.values())[1:]
    ours = [(p.name, p.default) for p in params]
    if name not in LAMINA_ONLY:
        theirs = list(inspect.signature(getattr(keras.losses, name).__init__).parameters.values())
        assert ours == [(p.name, p.default) for p in theirs[1:]]
    # get_config returns exactly the constructor's arguments, and they rebuild the loss
    loss = cls()
    config = loss.get_config()
    assert config == dict(ours)
    again = cls.from_config(config)
    assert type(again) is cls and again.get_config() == config
    assert losses.deserialize(losses.serialize(loss)).get_config() == config
    if name not in LAMINA_ONLY:
        # Keras accepts Lamina's config, and Lamina accepts Keras's
        keras_loss = getattr(keras.losses, name).from_config(config)
        assert keras_loss.name == loss.name
        assert cls.from_config(keras_loss.get_config()).get_config() == config


def _check_class(name: str, kwargs: dict, gen: Callable, shape: tuple | None) -> None:
    """Keras's values for every reduction, without and with per-sample weights."""
    rng = li.seed(name, kwargs, shape)
    y, p = gen(rng, shape or (N, C))
    ours_cls, theirs_cls = getattr(losses, name), getattr(keras.losses, name)
    # Per-sample weights, spelled out over the per-sample losses' shape: Keras does not
    # broadcast (N,) weights over (N, T) sequence losses. A batch-wide loss (Dice with
    # axis=None) takes (N,) weights, as in Keras.
    values_shape = ours_cls(reduction="none", **kwargs)(
        torch.as_tensor(y), torch.as_tensor(p)
    ).shape
    weights = rng.uniform(0.0, 2.0, N).astype(np.float32)
    if len(values_shape):
        weights = np.array(
            np.broadcast_to(weights.reshape(-1, *[1] * (len(values_shape) - 1)), values_shape)
        )
    for reduction in ("sum_over_batch_size", "sum", "none", "mean_with_sample_weight"):
        ours, theirs = (
            ours_cls(reduction=reduction, **kwargs),
            theirs_cls(reduction=reduction, **kwargs),
        )
        for sw in (None, weights):
            got = ours(torch.as_tensor(y), torch.as_tensor(p), sample_weight=sw)
            want = li.to_numpy(theirs(y, p, sample_weight=sw))
            assert got.dtype == torch.float32
            assert tuple(got.shape) == want.shape, (reduction, got.shape, want.shape)
            np.testing.assert_allclose(
                got.detach().numpy(), want, rtol=2e-5, atol=2e-6, err_msg=f"{reduction} {sw}"
            )


@pytest.mark.parametrize("name", sorted(LOSSES_PARITY))
def test_losses_parity(name):
    for kwargs, gen, shape in LOSSES_PARITY[name]:
        _check_class(name.removeprefix("losses."), kwargs, gen, shape)


def test_parity_dict_covers_every_keras_loss_class():
    classes = {n for n in dir(keras.losses) if n[0].isupper() and n != "Loss"}
    assert {n for n in classes if not hasattr(losses, n)} == set()
    assert {f"losses.{n}" for n in classes} == set(LOSSES_PARITY)


def test_circle_class_averages_over_positive_losses_only():
    """Keras masks the zero losses of Circle: the mean runs over the positive ones."""
    y, p = li.embeddings(li.seed("circle-mask"))
    values = losses.Circle(reduction="none", margin=0.0, gamma=1.0)(
        torch.as_tensor(y), torch.as_tensor(p)
    )
    mean = losses.Circle(margin=0.0, gamma=1.0)(torch.as_tensor(y), torch.as_tensor(p))
    positive = values[values > 0]
    assert torch.allclose(mean, positive.sum() / positive.numel())


def test_ctc_rejects_wrong_ranks():
    with pytest.raises(
        ValueError, match=r"expected y_true of shape .*received: y_true.shape=\(3,\)"
    ):
        losses.ctc(torch.ones(3), torch.zeros(3, 4, 5))
    with pytest.raises(ValueError, match=r"received: y_pred.shape=\(3, 4\)"):
        losses.ctc(torch.ones(3, 2), torch.zeros(3, 4))


def test_generalized_cross_entropy_q_range():
    with pytest.raises(ValueError, match=r"expected q in the interval \(0, 1\), received: q=1"):
        losses.CategoricalGeneralizedCrossEntropy(q=1)


@pytest.mark.parametrize("name", sorted(CASES))
def test_dtype_argument_matches_keras(name):
    """dtype='float64' computes in float64 from float32 inputs. (Keras's torch backend
    returns 'sum_over_batch_size' in float32 through divide_no_nan, so compare 'sum'.)"""
    kwargs, gen, shape = CASES[name][0]
    y, p = gen(np.random.default_rng(5), shape or (N, C))
    for reduction in ("sum", "none"):
        ours = getattr(losses, name)(dtype="float64", reduction=reduction, **kwargs)
        theirs = getattr(keras.losses, name)(dtype="float64", reduction=reduction, **kwargs)
        got = ours(torch.as_tensor(y), torch.as_tensor(p))
        want = theirs(y, p)
        assert got.dtype == torch.float64 and str(want.dtype) == "torch.float64"
        np.testing.assert_allclose(got.numpy(), li.to_numpy(want), rtol=1e-6, atol=1e-7)
        # computed in float64 all the way (Keras loses float32's digits on the way)
        exact = ours(torch.as_tensor(y).double(), torch.as_tensor(p).double())
        np.testing.assert_allclose(got.numpy(), exact.numpy(), rtol=1e-13, atol=1e-15)
    assert ours.get_config()["dtype"] == "float64"
    with pytest.raises(ValueError, match=r"expected dtype in .*received: dtype='int32'"):
        getattr(losses, name)(dtype="int32")


def test_generalized_cross_entropy_takes_column_labels():
    """(N, 1) labels are labels, as for the sparse cross-entropy. (Keras broadcasts their
    one-hot (N, 1, C) against (N, C) and returns (N, N) values: a Keras bug.)"""
    y, p = li.sparse(li.seed("gce-column"))
    loss = losses.CategoricalGeneralizedCrossEntropy(reduction="none")
    flat = loss(torch.as_tensor(y), torch.as_tensor(p))
    column = loss(torch.as_tensor(y)[:, None], torch.as_tensor(p))
    assert column.shape == (N,)
    torch.testing.assert_close(column, flat)
