"""Every public name of keras.regularizers against Keras 3 (torch backend): penalties on the
same tensors and configs, configs, and get/serialize/deserialize."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch

from lamina import layers, regularizers

os.environ.setdefault("KERAS_BACKEND", "torch")
keras = pytest.importorskip("keras")

RNG = np.random.default_rng(5)
TENSORS = [
    RNG.normal(size=(6, 4)).astype("float32"),
    RNG.normal(size=(3, 7)).astype("float32"),
    np.concatenate([np.zeros((1, 5)), RNG.normal(size=(4, 5))]).astype("float32"),  # a zero row
]
BIAS = RNG.normal(size=(5,)).astype("float32")

CONFIGS = {
    "L1": [{}, {"l1": 0.3}],
    "L2": [{}, {"l2": 0.25}],
    "L1L2": [{}, {"l1": 0.1, "l2": 0.2}, {"l1": 0.0, "l2": 1.5}],
    "OrthogonalRegularizer": [{}, {"factor": 0.5, "mode": "columns"}, {"factor": 2.0}],
}
ALIASES = {
    "l1": "L1",
    "l2": "L2",
    "l1_l2": "L1L2",
    "orthogonal_regularizer": "OrthogonalRegularizer",
}


def same_config(ours: dict, theirs: dict) -> bool:
    """Equal configs; Keras keeps factors as float32 tensors, so its floats are rounded."""
    if set(ours) != set(theirs):
        return False
    return all(
        ours[k] == pytest.approx(v, rel=1e-6) if isinstance(v, float) else ours[k] == v
        for k, v in theirs.items()
    )


def penalties(reg, tensors, convert):
    return [float(np.asarray(convert(reg(convert.to(t))))) for t in tensors]


class _Keras:
    to = staticmethod(lambda t: keras.ops.convert_to_tensor(t))

    def __call__(self, x):
        return keras.ops.convert_to_numpy(x)


class _Lamina:
    to = staticmethod(lambda t: torch.tensor(t))

    def __call__(self, x):
        return x.detach().numpy()


def check_class(name: str, keras_name: str | None = None) -> None:
    for config in CONFIGS[ALIASES.get(name, name)]:
        theirs = getattr(keras.regularizers, keras_name or name)(**config)
        ours = getattr(regularizers, name)(**config)
        tensors = TENSORS + ([] if "Orthogonal" in type(ours).__name__ else [BIAS])
        np.testing.assert_allclose(
            penalties(ours, tensors, _Lamina()),
            penalties(theirs, tensors, _Keras()),
            rtol=1e-5,
            atol=1e-7,
            err_msg=f"{name} {config}",
        )
        assert same_config(ours.get_config(), theirs.get_config()), (name, config)
        assert type(ours).from_config(ours.get_config()).get_config() == ours.get_config()
    if "rthogonal" in name:
        with pytest.raises(ValueError):
            getattr(regularizers, name)()(torch.tensor(BIAS))
        with pytest.raises(ValueError):
            getattr(regularizers, name)(mode="diagonal")
    for bad in (-1.0, float("nan"), float("inf")):
        key = next(iter(CONFIGS[ALIASES.get(name, name)][1]))
        with pytest.raises(ValueError):
            getattr(keras.regularizers, keras_name or name)(**{key: bad})
        with pytest.raises(ValueError):
            getattr(regularizers, name)(**{key: bad})


def check_base() -> None:
    """The base class (config, from_config) and a user subclass, the same in both."""
    theirs = keras.regularizers.Regularizer()
    ours = regularizers.Regularizer()
    assert ours.get_config() == {} and isinstance(ours, regularizers.Regularizer)
    k = keras.regularizers.Regularizer.from_config({})
    assert type(k) is type(theirs) and type(regularizers.Regularizer.from_config({})) is type(ours)

    class Ours(regularizers.Regularizer):
        def __call__(self, x):
            return 0.5 * x.abs().max()

    class Theirs(keras.regularizers.Regularizer):
        def __call__(self, x):
            return 0.5 * keras.ops.max(keras.ops.abs(x))

    assert regularizers.get(Ours()) is not None
    np.testing.assert_allclose(
        penalties(Ours(), TENSORS, _Lamina()), penalties(Theirs(), TENSORS, _Keras()), rtol=1e-6
    )


def check_get() -> None:
    for name in [
        "l1",
        "l2",
        "l1l2",
        "L1",
        "L2",
        "L1L2",
        "OrthogonalRegularizer",
        "orthogonal_regularizer",
    ]:
        theirs, ours = keras.regularizers.get(name), regularizers.get(name)
        assert type(ours).__name__ == type(theirs).__name__
        assert same_config(ours.get_config(), theirs.get_config())
    assert regularizers.get(None) is None and keras.regularizers.get(None) is None
    assert type(regularizers.get("l1_l2")) is regularizers.L1L2  # (Keras's get lacks this alias)
    assert type(regularizers.get(regularizers.L2)) is regularizers.L2
    with pytest.raises(ValueError):
        keras.regularizers.get(3)
    with pytest.raises(ValueError):
        regularizers.get(3)


def check_serialization(which: str) -> None:
    for name, configs in CONFIGS.items():
        theirs = getattr(keras.regularizers, name)(**configs[-1])
        ours = getattr(regularizers, name)(**configs[-1])
        ks, ls = keras.regularizers.serialize(theirs), regularizers.serialize(ours)
        assert ls["class_name"] == ks["class_name"] and same_config(ls["config"], ks["config"])
        if which == "deserialize":
            back = regularizers.deserialize(ks)  # Keras's own serialized form
            assert type(back) is type(ours) and same_config(back.get_config(), ours.get_config())
            assert regularizers.deserialize(ls).get_config() == ours.get_config()


REGULARIZERS_PARITY = {
    **{f"regularizers.{n}": (lambda n=n: check_class(n)) for n in CONFIGS},
    **{f"regularizers.{a}": (lambda a=a: check_class(a, a)) for a in ALIASES},
    "regularizers.Regularizer": check_base,
    "regularizers.get": check_get,
    "regularizers.serialize": lambda: check_serialization("serialize"),
    "regularizers.deserialize": lambda: check_serialization("deserialize"),
}


@pytest.mark.parametrize("name", sorted(REGULARIZERS_PARITY))
def test_regularizer_parity(name):
    REGULARIZERS_PARITY[name]()


def test_keras_names_are_all_covered():
    public = {n for n in dir(keras.regularizers) if not n.startswith("_")}
    assert {f"regularizers.{n}" for n in public} == set(REGULARIZERS_PARITY)


@pytest.mark.parametrize("mode", ["rows", "columns"])
def test_a_layer_regularizes_its_kernel_in_keras_layout(mode):
    """Dense stores its kernel transposed for torch; the penalty still sees Keras's rows."""
    k = keras.layers.Dense(
        5, kernel_regularizer=keras.regularizers.OrthogonalRegularizer(0.1, mode=mode)
    )
    ours = layers.Dense(5, kernel_regularizer=regularizers.OrthogonalRegularizer(0.1, mode=mode))
    k.build((2, 7))
    ours(torch.zeros(2, 7))
    ours.set_weights([keras.ops.convert_to_numpy(w) for w in k.weights])
    expected = float(keras.ops.convert_to_numpy(k.kernel_regularizer(k.kernel)))
    assert float(ours.losses[0].detach()) == pytest.approx(expected, rel=1e-5)
