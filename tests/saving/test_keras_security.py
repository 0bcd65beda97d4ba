"""Hostile Keras files (the CVE-2025-1550 / -9905 / -9906 patterns), written by hand.

Each is refused with an `UnsafeFileError` naming the layer and what it asked for, and a
marker file the payload would create never appears.
"""

from __future__ import annotations

import io
import json
import os
import zipfile

os.environ.setdefault("KERAS_BACKEND", "torch")

import h5py
import numpy as np
import pytest
import torch

from lamina.saving.errors import UnsafeFileError
from lamina.saving.keras_h5 import load_h5
from lamina.saving.keras_v3 import load_keras

keras = pytest.importorskip("keras")
pytestmark = pytest.mark.filterwarnings("ignore")


def _input(shape):
    return {
        "module": "keras.layers",
        "class_name": "InputLayer",
        "config": {"batch_shape": [None, *shape], "dtype": "float32", "name": "x"},
        "registered_name": None,
    }


def _dense(name, units, **extra):
    return {
        "module": "keras.layers",
        "class_name": "Dense",
        "config": {"name": name, "trainable": True, "units": units, **extra},
        "registered_name": None,
        "build_config": {"input_shape": [None, 3]},
    }


def _sequential(*layers):
    return {
        "module": "keras",
        "class_name": "Sequential",
        "config": {"name": "evil", "trainable": True, "layers": [_input((3,)), *layers]},
        "registered_name": None,
    }


def _weights(groups):
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as f:
        f.create_group("vars").attrs["name"] = "evil"
        for path, arrays in groups.items():
            group = f.create_group(f"{path}/vars")
            for i, a in enumerate(arrays):
                group[str(i)] = a
    return buffer.getvalue()


def _keras_file(path, config, weights=None):
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("metadata.json", json.dumps({"keras_version": "3.15.1"}))
        z.writestr("config.json", json.dumps(config))
        z.writestr("model.weights.h5", weights if weights is not None else _weights({}))


def _lambda_layer(name, function):
    return {
        "module": "keras.layers",
        "class_name": "Lambda",
        "config": {"name": name, "trainable": True, "function": function, "arguments": {}},
        "registered_name": None,
    }


def _bytecode(marker):
    """A Keras Lambda function entry whose bytecode touches `marker` when run."""
    from keras.src.utils.python_utils import func_dump

    payload = eval(f"lambda x: (__import__('pathlib').Path({str(marker)!r}).touch(), x)[1]")
    code, defaults, closure = func_dump(payload)
    return {
        "class_name": "__lambda__",
        "config": {"code": code, "defaults": defaults, "closure": closure},
    }


def test_lambda_bytecode_is_refused_and_never_runs(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.keras"
    _keras_file(path, _sequential(_lambda_layer("evil_lambda", _bytecode(marker))))
    # The file is truly hostile: Keras with safe_mode off runs the payload.
    keras.saving.load_model(path, safe_mode=False)
    assert marker.exists()
    marker.unlink()

    with pytest.raises(UnsafeFileError) as err:
        load_keras(path)
    assert "'evil_lambda'" in str(err.value) and "bytecode" in str(err.value)
    assert "evil.keras" in str(err.value)
    assert not marker.exists()

    model = load_keras(path, custom_objects={"evil_lambda": lambda x: x + 1})
    out = model(torch.ones(2, 3))
    np.testing.assert_allclose(out.numpy(), np.full((2, 3), 2.0))
    assert not marker.exists()


def test_named_lambda_function_needs_custom_objects(tmp_path):
    path = tmp_path / "m.keras"
    function = {"module": "builtins", "class_name": "function", "config": "double"}
    _keras_file(path, _sequential(_lambda_layer("twice", function)))
    with pytest.raises(UnsafeFileError, match="'twice'.*'double'"):
        load_keras(path)
    model = load_keras(path, custom_objects={"double": lambda x: x * 2})
    np.testing.assert_allclose(model(torch.ones(1, 3)).numpy(), np.full((1, 3), 2.0))


def test_keras_written_lambda_loads_with_the_users_function(tmp_path):
    def triple(x):
        return x * 3

    source = keras.Sequential([keras.Input((3,)), keras.layers.Lambda(triple)])
    source.save(tmp_path / "m.keras")
    with pytest.raises(UnsafeFileError, match="triple"):
        load_keras(tmp_path / "m.keras")
    model = load_keras(tmp_path / "m.keras", custom_objects={"triple": triple})
    np.testing.assert_allclose(model(torch.ones(1, 3)).numpy(), np.full((1, 3), 3.0))


@pytest.mark.parametrize(
    "entry, named",
    [
        (
            _dense(
                "d",
                2,
                activation={
                    "module": "os",
                    "class_name": "function",
                    "config": "system",
                    "registered_name": "function",
                },
            ),
            "os.system",
        ),
        (
            {
                "module": "subprocess",
                "class_name": "Popen",
                "config": {"name": "p", "trainable": True, "args": ["touch", "MARKER"]},
                "registered_name": None,
            },
            "subprocess.Popen",
        ),
        (
            _dense(
                "d",
                2,
                kernel_initializer={
                    "module": "builtins",
                    "class_name": "function",
                    "config": "exec",
                    "registered_name": "function",
                },
            ),
            "builtins.exec",
        ),
    ],
)
@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_module_functions_and_foreign_classes_are_refused(entry, named, suffix, tmp_path):
    marker = tmp_path / "MARKER"
    config = json.loads(json.dumps(_sequential(entry)).replace("MARKER", str(marker)))
    path = tmp_path / f"evil{suffix}"
    if suffix == ".keras":
        _keras_file(path, config)
        load = load_keras
    else:
        with h5py.File(path, "w") as f:
            f.attrs["model_config"] = json.dumps(config)
            f.create_group("model_weights").attrs["layer_names"] = np.array([], "S1")
        load = load_h5
    with pytest.raises(UnsafeFileError) as err:
        load(path)
    assert named in str(err.value) and f"evil{suffix}" in str(err.value)
    assert not marker.exists()


def test_external_link_in_keras_weights_is_refused(tmp_path):
    secret = tmp_path / "secret.h5"
    with h5py.File(secret, "w") as s:
        s["kernel"] = np.zeros((3, 2), "float32")
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as f:
        group = f.create_group("layers/dense/vars")
        group["0"] = h5py.ExternalLink(str(secret), "/kernel")
        group["1"] = np.zeros(2, "float32")
    path = tmp_path / "m.keras"
    _keras_file(path, _sequential(_dense("dense", 2)), buffer.getvalue())
    with pytest.raises(UnsafeFileError) as err:
        load_keras(path)
    text = str(err.value)
    assert "external link" in text and "secret.h5" in text and "layers/dense/vars/0" in text
    assert "model.weights.h5" in text and "m.keras" in text
