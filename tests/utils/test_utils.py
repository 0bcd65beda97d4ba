"""lamina.utils: to_categorical, normalize, np_utils shim, seeding, clear_session."""

from __future__ import annotations

import random
import warnings

import numpy as np
import pytest
import torch

import lamina.utils as utils
from lamina import layers
from lamina.naming import unique_name
from lamina.utils import clear_session, normalize, np_utils, set_random_seed, to_categorical


def test_exports():
    for name in ("to_categorical", "normalize", "np_utils", "set_random_seed", "clear_session"):
        assert name in utils.__all__ and hasattr(utils, name)
    assert utils.Progbar.__name__ == "Progbar"


# -- to_categorical ----------------------------------------------------------
def test_to_categorical_matches_eye():
    y = np.random.default_rng(0).integers(0, 7, size=50)
    out = to_categorical(y)
    np.testing.assert_array_equal(out, np.eye(7, dtype=np.float32)[y])
    assert out.dtype == np.float32 and out.shape == (50, 7)
    np.testing.assert_array_equal(to_categorical(y, 10), np.eye(10)[y])


def test_to_categorical_shapes_and_dtypes():
    y = np.array([[2], [0], [1]])
    assert to_categorical(y, 3).shape == (3, 3)  # trailing 1 dropped, as Keras
    np.testing.assert_array_equal(to_categorical(y, 3), np.eye(3)[[2, 0, 1]])
    grid = np.array([[0, 1, 2], [2, 1, 0]])
    np.testing.assert_array_equal(to_categorical(grid, 3), np.eye(3)[grid])
    assert to_categorical(3, 5).tolist() == [0, 0, 0, 1, 0]
    assert to_categorical([1, 0], dtype="int64").dtype == np.int64
    np.testing.assert_array_equal(to_categorical(torch.tensor([1, 0, 1])), np.eye(2)[[1, 0, 1]])
    np.testing.assert_array_equal(to_categorical(np.array([1.0, 0.0])), np.eye(2)[[1, 0]])
    assert to_categorical(np.array([], dtype=np.int64), 4).shape == (0, 4)


@pytest.mark.parametrize(
    ("y", "kwargs", "message"),
    [
        ([0, 3, -1], {}, r"non-negative class labels, received: y=-1 \(at flat index 2\)"),
        ([0, 10, 2], {"num_classes": 10}, r"< num_classes=10, received: y=10 \(at flat index 1\)"),
        ([0.0, 1.5], {}, r"integer class labels, received: y=1.5"),
        ([0.0, np.nan], {}, r"integer class labels, received: y=nan"),
        (["a", "b"], {}, r"integer class labels, received: y with dtype=str"),
        ([], {}, r"num_classes for empty labels"),
        ([0, 1], {"num_classes": 0}, r"num_classes >= 1, received: num_classes=0"),
        ([0, 1], {"num_classes": 2.0}, r"integer num_classes, received: num_classes=2.0"),
    ],
)
def test_to_categorical_errors(y, kwargs, message):
    with pytest.raises(ValueError, match=message):
        to_categorical(y, **kwargs)


# -- normalize -----------------------------------------------------------------
def test_normalize_numpy_reference():
    x = np.array([[3.0, 4.0], [0.0, 0.0], [1.0, -1.0]])
    expected = np.array([[0.6, 0.8], [0.0, 0.0], [1 / np.sqrt(2), -1 / np.sqrt(2)]])
    np.testing.assert_allclose(normalize(x), expected)
    np.testing.assert_allclose(normalize(x, axis=0), x / np.sqrt((x**2).sum(axis=0)))
    np.testing.assert_allclose(normalize(x, order=1), [[3 / 7, 4 / 7], [0, 0], [0.5, -0.5]])
    cube = np.random.default_rng(1).normal(size=(2, 3, 4))
    np.testing.assert_allclose(np.linalg.norm(normalize(cube, axis=1), axis=1), np.ones((2, 4)))


def test_normalize_torch_matches_numpy():
    x = np.random.default_rng(2).normal(size=(5, 3))
    x[2] = 0.0
    out = normalize(torch.tensor(x))
    assert isinstance(out, torch.Tensor)
    np.testing.assert_allclose(out.numpy(), normalize(x), rtol=1e-12)
    assert normalize(torch.tensor([[3, 4]])).dtype == torch.get_default_dtype()


# -- np_utils shim -------------------------------------------------------------
def test_np_utils_warns_exactly_once(monkeypatch):
    monkeypatch.setattr(np_utils, "_warned", False)
    y = np.array([0, 2, 1])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        first = np_utils.to_categorical(y, 3)  # Keras 1: to_categorical(y, nb_classes)
        second = np_utils.to_categorical(y, nb_classes=3)
        third = np_utils.normalize(np.array([[3.0, 4.0]]))
    future = [w for w in caught if issubclass(w.category, FutureWarning)]
    assert len(future) == 1
    assert "lamina.utils.to_categorical" in str(future[0].message)
    assert future[0].filename == __file__  # points at the caller's line
    np.testing.assert_array_equal(first, to_categorical(y, 3))
    np.testing.assert_array_equal(second, first)
    np.testing.assert_allclose(third, [[0.6, 0.8]])
    with pytest.raises(ValueError, match="num_classes=3, nb_classes=4"):
        np_utils.to_categorical(y, 3, nb_classes=4)


# -- set_random_seed -------------------------------------------------------------
def _draws() -> list:
    layer = torch.nn.Linear(4, 3)
    dropout = torch.nn.functional.dropout(torch.ones(20), p=0.5, training=True)
    return [
        random.random(),
        random.randint(0, 10**9),
        np.random.rand(3).tolist(),
        np.random.permutation(10).tolist(),
        torch.rand(3).tolist(),
        torch.randn(2, 2).tolist(),
        torch.randperm(8).tolist(),
        layer.weight.detach().tolist(),
        dropout.tolist(),
    ]


def test_set_random_seed_reproducible():
    set_random_seed(1234)
    first = _draws()
    set_random_seed(1234)
    assert _draws() == first
    set_random_seed(np.int64(4321))
    assert _draws() != first


@pytest.mark.parametrize("seed", [-1, 2**32, 1.5, "1", True, None])
def test_set_random_seed_rejects(seed):
    with pytest.raises(ValueError, match="Expected an integer seed in"):
        set_random_seed(seed)


# -- clear_session -------------------------------------------------------------
def test_clear_session_restarts_layer_names():
    clear_session()
    assert [unique_name("dense") for _ in range(3)] == ["dense", "dense_1", "dense_2"]
    clear_session()
    assert unique_name("dense") == "dense"
    clear_session(free_memory=False)
    assert unique_name("dense") == "dense"


def test_clear_session_restarts_the_names_layers_take():
    clear_session()
    assert [layers.Dense(2).name for _ in range(2)] == ["dense", "dense_1"]
    clear_session()
    assert layers.Dense(2).name == "dense"
