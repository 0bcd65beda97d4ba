"""keras.utils against Keras 3 (torch backend), part 1: arrays, dtypes, packing, seeds,
Config, custom-object registration, serialization, symbolic helpers, logging, images."""

from __future__ import annotations

import inspect
import json
import logging
import os
import random as python_random

import numpy as np
import pytest
import torch

os.environ.setdefault("KERAS_BACKEND", "torch")
keras = pytest.importorskip("keras")

import lamina  # noqa: E402
from lamina import utils  # noqa: E402


def _same_signature(ours, theirs) -> None:
    """Keras's parameters (names, order, defaults) open ours; Lamina's extras (Keras 2's
    `dtype` of to_categorical, the Progbar's stream and clock) all have defaults."""
    if inspect.isclass(ours):
        ours, theirs = ours.__init__, theirs.__init__
    mine = list(inspect.signature(ours).parameters.values())
    want = [(p.name, p.default) for p in inspect.signature(theirs).parameters.values()]
    assert [(p.name, p.default) for p in mine[: len(want)]] == want
    assert all(p.default is not p.empty for p in mine[len(want) :])


def check_to_categorical():
    _same_signature(utils.to_categorical, keras.utils.to_categorical)
    for y, n in (
        ([0, 2, 1, 2], None),
        (np.array([[1], [0], [3]]), 5),
        (np.array([[0, 1], [2, 0]]), 3),
    ):
        ours, theirs = utils.to_categorical(y, n), keras.utils.to_categorical(y, n)
        # Keras 3's NumPy path returns float64 (np.zeros); Lamina keeps Keras 2's float32.
        assert ours.dtype == np.float32 and theirs.dtype == np.float64
        assert ours.shape == theirs.shape
        np.testing.assert_array_equal(ours, theirs)


def check_normalize():
    _same_signature(utils.normalize, keras.utils.normalize)
    x = np.random.default_rng(0).normal(size=(4, 5)).astype(np.float32)
    x[1] = 0.0
    for axis, order in ((-1, 2), (1, 2), (-1, 1), (1, 1)):
        ours = utils.normalize(x, axis=axis, order=order)
        theirs = keras.ops.convert_to_numpy(keras.utils.normalize(x, axis=axis, order=order))
        np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)
    # Keras's NumPy path turns axis=0 into -1 (`axis or -1`) and fails: the formula instead.
    norms = np.linalg.norm(x, 2, axis=0, keepdims=True)
    np.testing.assert_allclose(
        utils.normalize(x, axis=0), x / np.where(norms == 0, 1, norms), rtol=1e-6
    )
    t = torch.as_tensor(x)
    theirs_t = keras.ops.convert_to_numpy(keras.utils.normalize(t, axis=-1, order=2))
    np.testing.assert_allclose(utils.normalize(t).numpy(), theirs_t, rtol=1e-5, atol=1e-6)


PACK_CASES = [
    (1.0, None, None),
    ((1.0, 2.0), None, None),
    ([1.0, 2.0], 3.0, None),
    (1.0, 2.0, 3.0),
]


def check_pack_x_y_sample_weight():
    _same_signature(utils.pack_x_y_sample_weight, keras.utils.pack_x_y_sample_weight)
    for case in PACK_CASES:
        assert utils.pack_x_y_sample_weight(*case) == keras.utils.pack_x_y_sample_weight(*case)


def check_unpack_x_y_sample_weight():
    _same_signature(utils.unpack_x_y_sample_weight, keras.utils.unpack_x_y_sample_weight)
    for data in (1.0, (1.0,), (1.0, 2.0), (1.0, 2.0, 3.0), [1.0, 2.0]):
        assert utils.unpack_x_y_sample_weight(data) == keras.utils.unpack_x_y_sample_weight(data)
    with pytest.raises(ValueError):
        utils.unpack_x_y_sample_weight((1, 2, 3, 4))


def check_pad_sequences():
    _same_signature(utils.pad_sequences, keras.utils.pad_sequences)
    seqs = [[1, 2, 3], [4], [5, 6, 7, 8, 9], []]
    for kwargs in (
        {},
        {"maxlen": 3},
        {"maxlen": 4, "padding": "post", "truncating": "post"},
        {"value": -1, "dtype": "float32"},
        {"maxlen": 2, "truncating": "pre", "padding": "pre", "value": 7},
    ):
        ours, theirs = (
            utils.pad_sequences(seqs, **kwargs),
            keras.utils.pad_sequences(seqs, **kwargs),
        )
        assert ours.dtype == theirs.dtype
        np.testing.assert_array_equal(ours, theirs)


def check_standardize_dtype():
    for dtype in (
        None,
        float,
        int,
        bool,
        "int",
        "float64",
        "bfloat16",
        np.float32,
        np.dtype("int8"),
        torch.float16,
        torch.int64,
        "uint8",
        "complex64",
        "string",
    ):
        assert utils.standardize_dtype(dtype) == keras.utils.standardize_dtype(dtype), dtype
    for bad in ("double", "float128x"):
        with pytest.raises(ValueError):
            keras.utils.standardize_dtype(bad)
        with pytest.raises(ValueError, match="dtype"):
            utils.standardize_dtype(bad)


def check_Config():
    _same_signature(utils.Config, keras.utils.Config)
    results = []
    for cls in (utils.Config, keras.utils.Config):
        c = cls(lr=0.1, name="run")
        c.momentum = 0.9
        c["batch"] = 32
        got = [c.lr, c["momentum"], c.get("missing", 5), list(c), len(c), "lr" in c, c.as_dict()]
        got.append(json.loads(c.to_json()))
        c.freeze()
        got.append(c.frozen)
        with pytest.raises(ValueError, match="frozen"):
            c.x = 1
        with pytest.raises(ValueError, match="frozen"):
            c.update(a=1)
        with pytest.raises(ValueError, match="frozen"):
            c.pop("lr")
        c.unfreeze()
        del c["batch"]
        got.append(sorted(c.keys()))
        with pytest.raises(AttributeError, match="Did you mean 'lr'"):
            _ = c.lrr
        results.append(got)
    assert results[0] == results[1]


def check_set_random_seed():
    _same_signature(utils.set_random_seed, keras.utils.set_random_seed)
    draws = []
    for module in (utils, keras.utils):
        module.set_random_seed(123)
        draws.append((python_random.random(), np.random.rand(), torch.rand(3).tolist()))
    assert draws[0] == draws[1]


def check_clear_session():
    names = []
    for module, dense in ((utils, lamina.layers.Dense), (keras.utils, keras.layers.Dense)):
        dense(2)
        module.clear_session()
        names.append(dense(2).name)
    assert names[0] == names[1] == "dense"


def check_Progbar(capsys=None):
    _same_signature(utils.Progbar, keras.utils.Progbar)
    import io
    import re

    lines = []
    for cls in (utils.Progbar, keras.utils.Progbar):
        stream = io.StringIO()
        old, sys_mod = None, __import__("sys")
        old, sys_mod.stdout = sys_mod.stdout, stream
        try:
            bar = cls(10, verbose=2)
            for i in range(1, 11):
                bar.update(i, [("loss", 0.5)])
        finally:
            sys_mod.stdout = old
        lines.append(re.sub(r"\d+(ms|us|s)", "T", stream.getvalue().strip()))
    assert lines[0] == lines[1]


def _interactive_states(module):
    states = [module.is_interactive_logging_enabled()]
    module.disable_interactive_logging()
    states.append(module.is_interactive_logging_enabled())
    module.enable_interactive_logging()
    states.append(module.is_interactive_logging_enabled())
    return states


def check_interactive_logging(caplog=None):
    assert _interactive_states(utils) == _interactive_states(keras.utils) == [True, False, True]
    utils.disable_interactive_logging()
    try:
        with caplog.at_level(logging.INFO, logger="lamina"):
            bar = utils.Progbar(2, verbose=2)
            bar.update(2, [("loss", 1.0)])
        assert any("2/2" in r.getMessage() and "loss" in r.getMessage() for r in caplog.records)
    finally:
        utils.enable_interactive_logging()


class _Scale:
    def __init__(self, factor=2.0):
        self.factor = factor

    def get_config(self):
        return {"factor": self.factor}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def _registration_story(module, base):
    """The same steps in Keras and Lamina: register, look up, scope, global dict."""

    class MyDense(base):
        pass

    def my_act(x):
        return x

    out = []
    registered = module.register_keras_serializable(package="pkg")(MyDense)
    out.append(registered is MyDense)
    out.append(module.get_registered_name(MyDense))
    out.append(module.get_registered_object("pkg>MyDense") is MyDense)
    out.append(module.get_registered_name(my_act))
    out.append(module.get_registered_object("my_act") is None)
    with module.custom_object_scope({"my_act": my_act}):
        out.append(module.get_registered_object("my_act") is my_act)
        with module.CustomObjectScope({"other": _Scale}):
            out.append(module.get_registered_object("my_act") is None)  # inner replaces outer
            out.append(module.get_registered_object("other") is _Scale)
        out.append(module.get_registered_object("my_act") is my_act)
    out.append(module.get_registered_object("my_act") is None)
    out.append(module.get_registered_object("x", custom_objects={"x": 1}))
    out.append(module.get_registered_object("y", module_objects={"y": 2}))
    module.get_custom_objects()["my_act2"] = my_act
    out.append(module.get_registered_object("my_act2") is my_act)
    del module.get_custom_objects()["my_act2"]
    del module.get_custom_objects()["pkg>MyDense"]
    with pytest.raises(ValueError, match="get_config"):
        module.register_keras_serializable()(type("NoConfig", (), {}))
    return out


def check_registration():
    ours = _registration_story(utils, lamina.layers.Dense)
    theirs = _registration_story(keras.utils, keras.layers.Dense)
    assert ours == theirs


def check_registration_loads_in_lamina():
    @utils.register_keras_serializable(package="i17")
    class Twice(lamina.layers.Layer):
        def call(self, x):
            return 2 * x

    assert lamina.registry.get("layer", "i17>Twice") is Twice
    assert lamina.registry.get("layer", "Twice") is Twice

    def cube(x):
        return x**3

    with utils.custom_object_scope({"cube": cube}):
        assert lamina.activations.get("cube") is cube
    with pytest.raises(ValueError):
        lamina.activations.get("cube")


SERIALIZE_CASES = [
    None,
    True,
    3,
    2.5,
    "text",
    [1, 2],
    {"a": 1, "b": [2, 3]},
    np.array([[1.0, 2.0]], dtype=np.float32),
    np.int64(3),
    b"bytes",
    slice(1, 5, 2),
    torch.tensor([1.0, 2.0]),
]


def check_serialize_keras_object():
    for obj in SERIALIZE_CASES:
        assert utils.serialize_keras_object(obj) == keras.utils.serialize_keras_object(obj), obj
    for ours, theirs in (
        (lamina.initializers.GlorotUniform(seed=1), keras.initializers.GlorotUniform(seed=1)),
        (lamina.initializers.Constant(2.0), keras.initializers.Constant(2.0)),
        (lamina.regularizers.L2(0.1), keras.regularizers.L2(0.1)),
        (lamina.random.SeedGenerator(3, name="g"), keras.random.SeedGenerator(3, name="g")),
    ):
        assert utils.serialize_keras_object(ours) == keras.utils.serialize_keras_object(theirs)
    function = utils.serialize_keras_object(lamina.activations.get("relu"))
    assert function["class_name"] == "function" and function["config"] == "relu"


def check_deserialize_keras_object():
    for obj in SERIALIZE_CASES:
        config = keras.utils.serialize_keras_object(obj)
        ours, theirs = (
            utils.deserialize_keras_object(config),
            keras.utils.deserialize_keras_object(config),
        )
        if isinstance(obj, (np.ndarray, torch.Tensor)):
            np.testing.assert_array_equal(np.asarray(ours), keras.ops.convert_to_numpy(theirs))
        else:
            assert ours == theirs, obj
    for theirs in (
        keras.initializers.HeNormal(seed=4),
        keras.regularizers.L1L2(l1=0.1, l2=0.2),
        keras.random.SeedGenerator(5, name="s"),
    ):
        made = utils.deserialize_keras_object(keras.utils.serialize_keras_object(theirs))
        assert type(made).__name__ == type(theirs).__name__
        assert made.get_config() == theirs.get_config()
    relu = utils.deserialize_keras_object(
        keras.utils.serialize_keras_object(keras.activations.relu)
    )
    assert relu is lamina.activations.get("relu")
    with pytest.raises(ValueError, match="registered"):
        utils.deserialize_keras_object({"class_name": "Nope", "config": {}})
    assert isinstance(
        utils.deserialize_keras_object(
            {"class_name": "S", "config": {"factor": 3}}, custom_objects={"S": _Scale}
        ),
        _Scale,
    )


def _graph(module_layers, module_model):
    a, b = module_layers.Input((3,)), module_layers.Input((3,))
    h = module_layers.Dense(2)(a)
    out = module_layers.Concatenate()([h, module_layers.Dense(2)(b), module_layers.Dense(2)(a)])
    return a, b, h, out


def check_symbolic():
    ours = _graph(lamina.layers, lamina.Model)
    theirs = _graph(keras.layers, keras.Model)
    for o, t in zip(ours, theirs):
        assert utils.is_keras_tensor(o) == keras.utils.is_keras_tensor(t) is True
        so, st = utils.get_source_inputs(o), keras.utils.get_source_inputs(t)
        assert [ours.index(s) for s in so] == [theirs.index(s) for s in st]
    for value in (np.ones(2), torch.ones(2), 1.0):
        assert utils.is_keras_tensor(value) == keras.utils.is_keras_tensor(value) is False


def check_images(tmp_path=None):
    rng = np.random.default_rng(0)
    array = rng.integers(0, 255, size=(8, 6, 3)).astype("float32")
    for name in ("array_to_img", "img_to_array", "load_img", "save_img"):
        _same_signature(getattr(utils, name), getattr(keras.utils, name))
    ours_img, theirs_img = utils.array_to_img(array), keras.utils.array_to_img(array)
    assert ours_img.size == theirs_img.size and ours_img.mode == theirs_img.mode
    np.testing.assert_array_equal(
        utils.img_to_array(ours_img), keras.utils.img_to_array(theirs_img)
    )
    path = str(tmp_path / "img.png")
    utils.save_img(path, array)
    for kwargs in ({}, {"color_mode": "grayscale"}, {"target_size": (4, 3)}):
        np.testing.assert_array_equal(
            utils.img_to_array(utils.load_img(path, **kwargs)),
            keras.utils.img_to_array(keras.utils.load_img(path, **kwargs)),
        )


CHECKS = {
    "utils.to_categorical": check_to_categorical,
    "utils.normalize": check_normalize,
    "utils.pack_x_y_sample_weight": check_pack_x_y_sample_weight,
    "utils.unpack_x_y_sample_weight": check_unpack_x_y_sample_weight,
    "utils.pad_sequences": check_pad_sequences,
    "utils.standardize_dtype": check_standardize_dtype,
    "utils.Config": check_Config,
    "utils.set_random_seed": check_set_random_seed,
    "utils.clear_session": check_clear_session,
    "utils.Progbar": check_Progbar,
    "utils.disable_interactive_logging": check_interactive_logging,
    "utils.enable_interactive_logging": check_interactive_logging,
    "utils.is_interactive_logging_enabled": check_interactive_logging,
    "utils.register_keras_serializable": check_registration,
    "utils.get_custom_objects": check_registration,
    "utils.get_registered_name": check_registration,
    "utils.get_registered_object": check_registration,
    "utils.CustomObjectScope": check_registration,
    "utils.custom_object_scope": check_registration,
    "utils.serialize_keras_object": check_serialize_keras_object,
    "utils.deserialize_keras_object": check_deserialize_keras_object,
    "utils.is_keras_tensor": check_symbolic,
    "utils.get_source_inputs": check_symbolic,
    "utils.array_to_img": check_images,
    "utils.img_to_array": check_images,
    "utils.load_img": check_images,
    "utils.save_img": check_images,
}
UTILS_PARITY = {name: check.__name__ for name, check in CHECKS.items()}


@pytest.mark.parametrize("name", sorted(UTILS_PARITY))
def test_utils_match_keras(name, tmp_path, caplog):
    assert hasattr(utils, name.split(".", 1)[1])
    check = CHECKS[name]
    kwargs = {}
    params = inspect.signature(check).parameters
    if "tmp_path" in params:
        kwargs["tmp_path"] = tmp_path
    if "caplog" in params:
        kwargs["caplog"] = caplog
    check(**kwargs)


def test_custom_object_scope_registers_for_lamina_loading():
    check_registration_loads_in_lamina()
