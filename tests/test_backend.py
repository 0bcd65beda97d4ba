"""`from lamina import backend as K`: the functions course code and older Keras code call,
compared with Keras 3 itself (keras.backend / keras.config and its variables), and an
AttributeError naming the torch function for everything else."""

from __future__ import annotations

import os
import warnings

os.environ.setdefault("KERAS_BACKEND", "torch")

import numpy as np
import pytest
import torch

keras = pytest.importorskip("keras")

import lamina  # noqa: E402
from lamina import backend as K  # noqa: E402
from lamina import layers  # noqa: E402


@pytest.fixture(autouse=True)
def _restore_settings():
    saved = (K.floatx(), K.epsilon(), keras.config.floatx(), keras.config.epsilon())
    yield
    K.set_floatx(saved[0])
    K.set_epsilon(saved[1])
    keras.config.set_floatx(saved[2])
    keras.config.set_epsilon(saved[3])


def test_import_spellings():
    import lamina.backend

    assert lamina.backend is K
    assert lamina.backend is __import__("lamina").backend


def test_settings_match_keras():
    assert K.floatx() == keras.backend.floatx() == "float32"
    assert K.epsilon() == keras.backend.epsilon() == 1e-7
    assert K.image_data_format() == keras.backend.image_data_format() == "channels_last"
    assert K.backend() == keras.backend.backend() == "torch"
    for value in ("float64", "float16", "float32"):
        K.set_floatx(value)
        keras.backend.set_floatx(value)
        assert K.floatx() == keras.backend.floatx() == value
    K.set_epsilon(1e-5)
    keras.backend.set_epsilon(1e-5)
    assert K.epsilon() == keras.backend.epsilon() == 1e-5


def test_set_floatx_applies_to_new_weights():
    K.set_floatx("float64")
    layer = layers.Dense(3)
    layer.build((None, 2))
    assert layer.kernel.dtype == torch.float64


def test_invalid_floatx_is_refused_as_in_keras():
    with pytest.raises(ValueError):
        keras.backend.set_floatx("int32")
    with pytest.raises(ValueError, match="int32"):
        K.set_floatx("int32")
    assert K.floatx() == "float32"


def test_set_image_data_format():
    K.set_image_data_format("channels_last")
    K.set_image_data_format("Channels_Last")  # Keras lower-cases it
    assert K.image_data_format() == "channels_last"
    with pytest.raises(ValueError):
        keras.backend.set_image_data_format("nhwc")
    with pytest.raises(ValueError, match="received: data_format='nhwc'"):
        K.set_image_data_format("nhwc")
    # Keras would switch layers to NCHW; Lamina's images are NHWC, so it says so at once.
    with pytest.raises(ValueError, match="NHWC.*received: data_format='channels_first'"):
        K.set_image_data_format("channels_first")
    assert K.image_data_format() == "channels_last"


def test_clear_session_restarts_layer_names_as_in_keras():
    for lib, clear in ((lamina, K.clear_session), (keras, keras.backend.clear_session)):
        lib.layers.Dense(2)
        assert lib.layers.Dense(2).name != "dense"
        clear()
        assert lib.layers.Dense(2).name == "dense"


def test_int_shape_matches_keras():
    assert K.int_shape(layers.Input((28, 28, 1))) == keras.Input((28, 28, 1)).shape
    assert K.int_shape(lamina.Input((5,))) == (None, 5)
    x = np.zeros((2, 3), "float32")
    assert K.int_shape(torch.from_numpy(x)) == tuple(keras.ops.convert_to_tensor(x).shape)
    assert K.int_shape(x) == (2, 3)
    assert K.int_shape(torch.tensor(1.0)) == ()
    shapes = [K.int_shape(t) for t in (torch.zeros(4, 2), layers.Input((3,)))]
    assert all(type(d) in (int, type(None)) for s in shapes for d in s)
    with pytest.raises(TypeError, match="received: x=\\[1, 2\\]"):
        K.int_shape([1, 2])


def test_count_params_matches_keras():
    ours, theirs = layers.Dense(64), keras.layers.Dense(64)
    ours.build((None, 784))
    theirs.build((None, 784))
    for a, b in zip(ours.weights, theirs.weights):
        assert K.count_params(a) == int(np.prod(b.shape))
    assert sum(K.count_params(w) for w in ours.weights) == theirs.count_params() == 50240
    with pytest.raises(ValueError, match="fully known shape"):
        K.count_params(layers.Input((3,)))


def _dense_pair():
    ours, theirs = layers.Dense(3), keras.layers.Dense(3)
    ours(torch.zeros(1, 4))  # built by a call (a direct build() call is redone by the first call)
    theirs.build((None, 4))
    ours.set_weights(theirs.get_weights())
    return ours, theirs


def test_get_value_of_a_weight_matches_keras():
    ours, theirs = _dense_pair()
    value = K.get_value(ours.bias)
    assert isinstance(value, np.ndarray)
    np.testing.assert_array_equal(value, keras.ops.convert_to_numpy(theirs.bias))
    # A Lamina weight is the torch tensor as stored: a Dense kernel in Keras's (in, out).
    np.testing.assert_array_equal(
        K.get_value(ours.kernel), keras.ops.convert_to_numpy(theirs.kernel)
    )
    value[:] = 7.0  # a copy: writing to it leaves the weight alone
    assert not torch.any(ours.bias == 7.0)


def test_set_value_of_a_weight_matches_keras():
    ours, theirs = _dense_pair()
    new_bias = np.array([1.0, 2.0, 3.0])
    K.set_value(ours.bias, new_bias)
    theirs.bias.assign(new_bias)
    x = np.random.default_rng(0).normal(size=(2, 4)).astype("float32")
    np.testing.assert_allclose(
        ours(torch.from_numpy(x)).detach().numpy(),
        keras.ops.convert_to_numpy(theirs(x)),
        rtol=1e-5,
        atol=1e-6,
    )
    assert ours.bias.dtype == torch.float32 and isinstance(ours.bias, torch.nn.Parameter)
    with pytest.raises(ValueError):
        theirs.bias.assign(np.zeros(4))
    with pytest.raises(ValueError, match="shape \\(3,\\).*received: value.shape=\\(4,\\)"):
        K.set_value(ours.bias, np.zeros(4))


def test_get_value_and_set_value_of_a_learning_rate():
    ours = lamina.optimizers.Adam(learning_rate=0.01)
    theirs = keras.optimizers.Adam(learning_rate=0.01)
    assert K.get_value(ours.learning_rate) == pytest.approx(
        float(keras.ops.convert_to_numpy(theirs.learning_rate))
    )
    assert K.get_value(ours.lr) == pytest.approx(0.01)
    # Lamina's rate is a Python float: it cannot be changed in place, so the error says how.
    with pytest.raises(TypeError, match="optimizer.learning_rate = 0.001"):
        K.set_value(ours.learning_rate, 0.001)
    # The 0-d rate tensor a compiled step reads can be set like a Keras variable.
    rate = torch.tensor(0.01)
    K.set_value(rate, 0.001)
    theirs.learning_rate.assign(0.001)
    assert rate.item() == pytest.approx(float(keras.ops.convert_to_numpy(theirs.learning_rate)))


def test_get_value_passes_non_tensors_through():
    assert K.get_value(3.5) == 3.5
    array = np.ones(2)
    assert K.get_value(array) is array


def test_learning_phase_warns_that_it_has_no_effect():
    with pytest.warns(UserWarning, match="no effect.*training="):
        assert K.learning_phase() == 0


@pytest.mark.parametrize(
    "name,replacement",
    [
        ("mean", "torch.mean"),
        ("sum", "torch.sum"),
        ("exp", "torch.exp"),
        ("square", "torch.square"),
        ("sqrt", "torch.sqrt"),
        ("clip", "torch.clamp"),
        ("dot", "torch.matmul"),
        ("concatenate", "torch.cat"),
        ("max", "torch.amax"),
        ("binary_crossentropy", "lamina.losses.binary_crossentropy"),
        ("set_learning_phase", "training="),
        ("image_dim_ordering", "image_data_format"),
    ],
)
def test_other_names_raise_naming_the_replacement(name, replacement):
    with pytest.raises(AttributeError, match=f"received: lamina.backend.{name}\\b") as info:
        getattr(K, name)
    assert replacement in str(info.value)


def test_unknown_names_get_a_generic_message():
    with pytest.raises(AttributeError, match="PyTorch") as info:
        K.no_such_function  # noqa: B018
    assert "torch.no_such_function" not in str(info.value)
    # A name torch has is suggested as torch.<name>.
    with pytest.raises(AttributeError, match="torch.logsumexp"):
        K.logsumexp  # noqa: B018
    assert not hasattr(K, "__wrapped__")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        from lamina.backend import floatx  # noqa: F401
