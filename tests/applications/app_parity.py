"""The parity harness every application test uses: Lamina's network against Keras 3's own.

`check_architecture` builds both at their default size with `weights=None` and compares
the parameter count and the list of weight shapes, in order (the order is what maps a
Keras 3 `.weights.h5`). `check_predictions` gives Keras's network random weights,
random batch-norm statistics included, saves them to a `.weights.h5` (and, with
`legacy=True`, to the by-name `.h5` layout of Keras's downloadable files), loads each
file into Lamina through `weights=path`, and compares the outputs on a random batch.
"""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "torch")

from pathlib import Path
from typing import Any

import h5py
import keras
import numpy as np
import torch

import lamina


def keras_weight_shapes(model: Any) -> list[tuple[int, ...]]:
    return [tuple(int(d) for d in w.shape) for w in model.weights]


def lamina_weight_shapes(model: Any) -> list[tuple[int, ...]]:
    return [tuple(int(d) for d in np.shape(a)) for a in model.get_weights()]


def check_architecture(lamina_fn: Any, keras_fn: Any, **kwargs: Any) -> None:
    """Same parameter count, same weight shapes in the same order, same layer names."""
    keras.backend.clear_session()  # both start their automatic names from zero
    lamina.backend.clear_session()
    theirs = keras_fn(weights=None, **kwargs)
    ours = lamina_fn(weights=None, **kwargs)
    assert ours.count_params() == theirs.count_params()
    assert lamina_weight_shapes(ours) == keras_weight_shapes(theirs)
    assert [la.name for la in ours.layers] == [la.name for la in theirs.layers]
    keras.backend.clear_session()


def randomize(model: Any, seed: int = 0) -> None:
    """Random values for every weight of a Keras model, keeping variances positive."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        arrays = []
        for w in layer.weights:
            shape = tuple(w.shape)
            name = w.path.split("/")[-1]
            if "variance" in name:
                arrays.append(rng.uniform(0.5, 1.5, shape))
            elif name == "count":
                arrays.append(np.asarray(w.numpy()))
            elif "gamma" in name or "mean" in name or "beta" in name or "bias" in name:
                arrays.append(rng.uniform(-0.2, 0.2, shape) + (1.0 if name == "gamma" else 0.0))
            else:
                arrays.append(np.asarray(w.numpy()))  # Keras's own initializers keep depth stable
        if arrays:
            layer.set_weights([np.asarray(a, dtype="float32") for a in arrays])


def save_legacy_h5(model: Any, path: Path) -> None:
    """Keras's downloadable layout: one group per layer name, `weight_names` inside."""
    from keras.src.legacy.saving import legacy_h5_format

    with h5py.File(path, "w") as f:
        legacy_h5_format.save_weights_to_hdf5_group(f, model)


def check_predictions(
    lamina_fn: Any,
    keras_fn: Any,
    tmp_path: Path,
    batch: int = 2,
    legacy: bool = False,
    atol: float = 1e-4,
    seed: int = 0,
    **kwargs: Any,
) -> None:
    """Keras's random weights, saved to a file, loaded into Lamina: the same outputs."""
    theirs = keras_fn(weights=None, **kwargs)
    randomize(theirs, seed)
    shape = tuple(int(d) if d is not None else 64 for d in theirs.input_shape[1:])
    x = np.random.default_rng(seed + 1).uniform(0, 255, (batch, *shape)).astype("float32")
    expected = np.asarray(theirs.predict(x, verbose=0))
    files = [tmp_path / "keras.weights.h5"]
    theirs.save_weights(files[0])
    if legacy:
        files.append(tmp_path / "keras_legacy.h5")
        save_legacy_h5(theirs, files[1])
    keras.backend.clear_session()
    for file in files:
        ours = lamina_fn(weights=str(file), **kwargs)
        with torch.no_grad():
            got = np.asarray(ours.predict(x, verbose=0))
        assert got.shape == expected.shape
        scale = max(1.0, float(np.abs(expected).max()))
        err = float(np.abs(got - expected).max())
        assert err <= atol * scale, (
            f"{file.name}: max |lamina - keras| = {err:.3g} (scale {scale:.3g})"
        )
