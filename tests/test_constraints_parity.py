"""Every public name of keras.constraints against Keras 3 (torch backend): projected weights
on the same tensors and configs, configs, and get/serialize/deserialize."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch

from lamina import constraints

os.environ.setdefault("KERAS_BACKEND", "torch")
keras = pytest.importorskip("keras")

RNG = np.random.default_rng(11)
TENSORS = [
    RNG.normal(size=(6, 4)).astype("float32") * 2,
    RNG.normal(size=(3, 3, 2, 5)).astype("float32"),  # a Conv2D kernel, Keras's layout
    RNG.normal(size=(7,)).astype("float32") * 0.1,
]
CONFIGS = {
    "MaxNorm": [{}, {"max_value": 0.5}, {"max_value": 1.5, "axis": [0, 1, 2]}, {"axis": -1}],
    "MinMaxNorm": [
        {},
        {"min_value": 0.5, "max_value": 2.0},
        {"min_value": 1.0, "max_value": 1.2, "rate": 0.3, "axis": [0, 1, 2]},
    ],
    "NonNeg": [{}],
    "UnitNorm": [{}, {"axis": [0, 1, 2]}, {"axis": 1}],
}
ALIASES = {
    "max_norm": "MaxNorm",
    "min_max_norm": "MinMaxNorm",
    "non_neg": "NonNeg",
    "unit_norm": "UnitNorm",
}


def fits(config: dict, t: np.ndarray) -> bool:
    axis = config.get("axis", 0)
    axes = axis if isinstance(axis, list) else [axis]
    return all(-t.ndim <= a < t.ndim for a in axes)


def check_class(name: str) -> None:
    cls_name = ALIASES.get(name, name)
    checked = 0
    for config in CONFIGS[cls_name]:
        theirs = getattr(keras.constraints, name)(**config)
        ours = getattr(constraints, name)(**config)
        for t in TENSORS:
            if not fits(config, t):
                continue
            expected = keras.ops.convert_to_numpy(theirs(keras.ops.convert_to_tensor(t)))
            got = ours(torch.tensor(t)).numpy()
            np.testing.assert_allclose(
                got, expected, rtol=1e-5, atol=1e-6, err_msg=f"{name} {config}"
            )
            checked += 1
        assert ours.get_config() == theirs.get_config(), (name, config)
        assert type(ours).from_config(ours.get_config()).get_config() == ours.get_config()
    assert checked >= len(CONFIGS[cls_name])


def check_base() -> None:
    theirs, ours = keras.constraints.Constraint(), constraints.Constraint()
    t = TENSORS[0]
    np.testing.assert_array_equal(
        ours(torch.tensor(t)).numpy(),
        keras.ops.convert_to_numpy(theirs(keras.ops.convert_to_tensor(t))),
    )
    assert ours.get_config() == theirs.get_config() == {}

    class Ours(constraints.Constraint):
        def __call__(self, w):
            return w.clamp(-0.5, 0.5)

    class Theirs(keras.constraints.Constraint):
        def __call__(self, w):
            return keras.ops.clip(w, -0.5, 0.5)

    np.testing.assert_array_equal(
        Ours()(torch.tensor(t)).numpy(),
        keras.ops.convert_to_numpy(Theirs()(keras.ops.convert_to_tensor(t))),
    )


def check_get() -> None:
    for name in ["max_norm", "min_max_norm", "non_neg", "unit_norm", "MaxNorm", "NonNeg"]:
        theirs, ours = keras.constraints.get(name), constraints.get(name)
        assert type(ours).__name__ == type(theirs).__name__
        assert ours.get_config() == theirs.get_config()
    assert constraints.get(None) is None and keras.constraints.get(None) is None
    for bad in (3, [1]):
        with pytest.raises(ValueError):
            keras.constraints.get(bad)
        with pytest.raises((ValueError, TypeError)):
            constraints.get(bad)


def check_serialization(which: str) -> None:
    for name, configs in CONFIGS.items():
        theirs = getattr(keras.constraints, name)(**configs[-1])
        ours = getattr(constraints, name)(**configs[-1])
        ks, ls = keras.constraints.serialize(theirs), constraints.serialize(ours)
        assert ls["class_name"] == ks["class_name"] and ls["config"] == ks["config"]
        if which == "deserialize":
            back = constraints.deserialize(ks)  # Keras's own serialized form
            assert type(back) is type(ours) and back.get_config() == ours.get_config()


CONSTRAINTS_PARITY = {
    **{f"constraints.{n}": (lambda n=n: check_class(n)) for n in CONFIGS},
    **{f"constraints.{a}": (lambda a=a: check_class(a)) for a in ALIASES},
    "constraints.Constraint": check_base,
    "constraints.get": check_get,
    "constraints.serialize": lambda: check_serialization("serialize"),
    "constraints.deserialize": lambda: check_serialization("deserialize"),
}


@pytest.mark.parametrize("name", sorted(CONSTRAINTS_PARITY))
def test_constraint_parity(name):
    CONSTRAINTS_PARITY[name]()


def test_keras_names_are_all_covered():
    public = {n for n in dir(keras.constraints) if not n.startswith("_")}
    assert {f"constraints.{n}" for n in public} == set(CONSTRAINTS_PARITY)
