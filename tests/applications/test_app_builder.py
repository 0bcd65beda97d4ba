"""What every application constructor shares: with `weights=` a file (or 'imagenet'), the
network is built without random initial values, since a strict load then assigns each one."""

from __future__ import annotations

import h5py
import numpy as np
import pytest
import torch

from lamina.applications import LeNet5, MobileNet
from lamina.initializers.skipping import initialization_skipped
from lamina.saving.errors import FileFormatError


def _images(shape: tuple[int, ...]) -> np.ndarray:
    return np.random.default_rng(0).uniform(0, 1, (2, *shape)).astype("float32")


@pytest.mark.parametrize(
    "build, shape",
    [
        (lambda **kw: LeNet5(**kw), (32, 32, 1)),
        (lambda **kw: MobileNet(alpha=0.25, input_shape=(32, 32, 3), classes=7, **kw), (32, 32, 3)),
    ],
    ids=["LeNet5", "MobileNet"],
)
def test_a_network_loaded_from_a_file_draws_nothing_and_predicts_as_saved(build, shape, tmp_path):
    torch.manual_seed(0)
    saved = build(weights=None)
    path = tmp_path / "net.weights.h5"
    saved.save_weights(path)
    expected = saved.predict(_images(shape), verbose=0)

    state = torch.random.get_rng_state()
    loaded = build(weights=str(path))
    assert torch.equal(torch.random.get_rng_state(), state)  # no initializer ran
    assert not initialization_skipped()
    np.testing.assert_array_equal(loaded.predict(_images(shape), verbose=0), expected)
    for ours, theirs in zip(loaded.get_weights(), saved.get_weights()):
        np.testing.assert_array_equal(ours, theirs)


def test_a_file_missing_a_weight_is_refused_and_the_scope_ends(tmp_path):
    """The strict load is what makes skipping safe: a file without some layer's weights
    raises (nothing uninitialized reaches the caller) and later builds draw as usual."""
    path = tmp_path / "net.weights.h5"
    LeNet5(weights=None).save_weights(path)
    with h5py.File(path, "a") as f:
        layer = next(name for name in f["layers"] if len(f["layers"][name]["vars"]))
        del f["layers"][layer]["vars"]["0"]
    with pytest.raises(FileFormatError, match="Expected datasets named 0, 1"):
        LeNet5(weights=str(path))
    assert not initialization_skipped()
    state = torch.random.get_rng_state()
    LeNet5(weights=None)
    assert not torch.equal(torch.random.get_rng_state(), state)
