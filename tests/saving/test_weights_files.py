"""save_weights / load_weights: safetensors in Keras's layouts, PyTorch state_dicts read
with weights_only=True, skip_mismatch, and errors naming the layer and shapes."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

import lamina
from lamina import layers
from lamina.saving import FileFormatError


def _model(units: int = 3) -> lamina.Model:
    return lamina.Sequential(
        [
            layers.Input((5, 5, 2)),
            layers.Conv2D(4, 3, name="conv"),
            layers.Flatten(),
            layers.Dense(units, name="out"),
        ]
    )


def _x() -> np.ndarray:
    return np.random.default_rng(0).random((4, 5, 5, 2), dtype=np.float32)


def test_safetensors_round_trip_in_keras_layout(tmp_path):
    a, b = _model(), _model()
    a.save_weights(tmp_path / "w.safetensors")
    assert b.load_weights(tmp_path / "w.safetensors") == []
    np.testing.assert_array_equal(a.predict(_x(), verbose=0), b.predict(_x(), verbose=0))
    saved = load_file(tmp_path / "w.safetensors")
    assert tuple(saved["conv/kernel"].shape) == (3, 3, 2, 4)  # Keras: (kh, kw, in, out)
    np.testing.assert_array_equal(
        saved["conv/kernel"].numpy(), a.get_layer("conv").get_weights()[0]
    )


def test_a_pytorch_state_dict_loads_with_weights_only(tmp_path):
    a, b = _model(), _model()
    torch.save(a.state_dict(), tmp_path / "sd.pt")
    b.load_weights(tmp_path / "sd.pt")
    np.testing.assert_array_equal(a.predict(_x(), verbose=0), b.predict(_x(), verbose=0))
    save_file({k: v.contiguous() for k, v in a.state_dict().items()}, tmp_path / "sd.safetensors")
    c = _model()
    c.load_weights(tmp_path / "sd.safetensors")
    np.testing.assert_array_equal(a.predict(_x(), verbose=0), c.predict(_x(), verbose=0))


class _Marker:
    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (open, (str(self.path), "w"))


def test_a_pickled_object_in_a_state_dict_is_refused_and_never_runs(tmp_path):
    marker = tmp_path / "ran"
    with open(tmp_path / "evil.pt", "wb") as f:
        pickle.dump({"out.kernel": _Marker(marker)}, f, protocol=2)
    with pytest.raises(FileFormatError, match="weights_only=True"):
        _model().load_weights(tmp_path / "evil.pt")
    assert not marker.exists()


def test_skip_mismatch_skips_and_names_what_it_skipped(tmp_path):
    a, b = _model(3), _model(7)
    a.save_weights(tmp_path / "w.safetensors")
    before = b.get_layer("out").get_weights()
    skipped = b.load_weights(tmp_path / "w.safetensors", skip_mismatch=True)
    assert skipped == ["out/kernel", "out/bias"]
    np.testing.assert_array_equal(
        b.get_layer("conv").get_weights()[0], a.get_layer("conv").get_weights()[0]
    )
    for w, v in zip(before, b.get_layer("out").get_weights()):
        np.testing.assert_array_equal(w, v)


def test_a_mismatch_names_the_layer_and_both_shapes_and_changes_nothing(tmp_path):
    a, b = _model(3), _model(7)
    a.save_weights(tmp_path / "w.safetensors")
    before = [w.copy() for w in b.get_weights()]
    with pytest.raises(
        FileFormatError,
        match=r"Layer 'out' expected weight 'out/kernel' of shape \(36, 7\), received: shape=\(36, 3\)",
    ):
        b.load_weights(tmp_path / "w.safetensors")
    for w, v in zip(before, b.get_weights()):
        np.testing.assert_array_equal(w, v)  # the conv weights were not half-loaded


def test_a_state_dict_mismatch_names_the_key(tmp_path):
    torch.save(_model(3).state_dict(), tmp_path / "sd.pt")
    with pytest.raises(
        FileFormatError,
        match=r"Layer 'out' expected '_stack.2.kernel' of shape \(36, 7\), received: it has shape \(36, 3\)",
    ):
        _model(7).load_weights(tmp_path / "sd.pt")
    assert _model(7).load_weights(tmp_path / "sd.pt", skip_mismatch=True)


def test_renamed_layers_load_by_order_when_every_shape_agrees(tmp_path):
    a = _model()
    b = lamina.Sequential(
        [layers.Input((5, 5, 2)), layers.Conv2D(4, 3), layers.Flatten(), layers.Dense(3)]
    )
    a.save_weights(tmp_path / "w.safetensors")
    b.load_weights(tmp_path / "w.safetensors")
    np.testing.assert_array_equal(a.predict(_x(), verbose=0), b.predict(_x(), verbose=0))


def test_a_model_file_gives_its_weights_and_a_weights_file_is_not_a_model(tmp_path):
    a = _model()
    a.save(tmp_path / "m.lamina")
    b = _model()
    b.load_weights(tmp_path / "m.lamina")
    np.testing.assert_array_equal(a.predict(_x(), verbose=0), b.predict(_x(), verbose=0))
    a.save_weights(tmp_path / "w.safetensors")
    with pytest.raises(FileFormatError, match="weights only.*load_weights"):
        lamina.models.load_model(tmp_path / "w.safetensors")
    with pytest.raises(FileNotFoundError, match="nothere"):
        lamina.models.load_model(tmp_path / "nothere.lamina")
    (tmp_path / "junk.lamina").write_bytes(b"not a model at all")
    with pytest.raises(FileFormatError, match="junk.lamina"):
        lamina.models.load_model(tmp_path / "junk.lamina")


@pytest.mark.parametrize("name", ["m.keras", "m.h5", "w.weights.h5", "w.h5"])
def test_keras_files_give_their_weights_to_a_built_model(tmp_path, name):
    a = _model()
    path = tmp_path / name
    (a.save if name.startswith("m.") else a.save_weights)(path)
    b = _model()
    assert b.load_weights(path) == []
    np.testing.assert_array_equal(a.predict(_x(), verbose=0), b.predict(_x(), verbose=0))
    c = _model(7)
    assert c.load_weights(path, skip_mismatch=True)  # the output layer is skipped, by name
    np.testing.assert_array_equal(
        c.get_layer("conv").get_weights()[0], a.get_layer("conv").get_weights()[0]
    )
