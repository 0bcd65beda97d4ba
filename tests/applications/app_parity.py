"""The parity harness every application test uses: Lamina's network against Keras 3's own.

`check_architecture` builds both at their default size with `weights=None` and compares
the parameter count and the list of weight shapes, in order (the order is what maps a
Keras 3 `.weights.h5`). `check_predictions` gives Keras's network random weights,
random batch-norm statistics included, saves them to a `.weights.h5` (and, with
`legacy=True`, to the by-name `.h5` layout of Keras's downloadable files), loads each
file into Lamina (through `weights=path`, then the legacy file over weights set to NaN),
and compares the outputs on a random batch. With `compare=same_architecture` (or another
comparison) it also checks the architecture on the same two builds: building a large
network costs more than anything else its test does, so each is built once.
`check_variant_architecture` runs that comparison alone, with no weights drawn: the
larger variants' architectures in the default run, their predictions under `apps_full`.
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
    """The shapes `model.get_weights()` would return (Keras's layouts, in its order), read
    from the weight tensors (a permuted view) rather than from copies of their values."""
    from lamina.saving.weight_names import keras_layout

    return [tuple(int(d) for d in keras_layout(e).shape) for e in model._weight_entries()]


def same_architecture(ours: Any, theirs: Any) -> None:
    """Same parameter count, same weight shapes in the same order, same layer names."""
    assert ours.count_params() == theirs.count_params()
    assert lamina_weight_shapes(ours) == keras_weight_shapes(theirs)
    assert [la.name for la in ours.layers] == [la.name for la in theirs.layers]


def check_architecture(lamina_fn: Any, keras_fn: Any, **kwargs: Any) -> None:
    """`same_architecture` of the two networks built with `weights=None`."""
    check_variant_architecture(lamina_fn, keras_fn, compare=same_architecture, **kwargs)


def check_variant_architecture(
    lamina_fn: Any, keras_fn: Any, compare: Any = same_architecture, **kwargs: Any
) -> None:
    """`compare(ours, theirs)` of the two networks built with `weights=None`.

    The architecture half of `check_predictions(..., compare=compare)`, and every
    architecture-only check here (`check_architecture`, `check_architecture_keras_order`):
    no weights file, no random weights, no predictions. Both libraries' automatic names start from zero (the
    previous models are left to the garbage collector: collecting costs ~1 s). Nothing
    compared depends on the weights' values, so none are drawn: Keras builds on torch's
    `meta` device (shapes without storage), Lamina inside `skip_initialization()`
    (weights allocated, not initialized). ConvNeXtXLarge's check so takes ~2 s, not ~16 s.
    """
    from lamina.initializers.skipping import skip_initialization

    keras.backend.clear_session(free_memory=False)
    lamina.backend.clear_session(free_memory=False)
    with keras.device("meta"):
        theirs = keras_fn(weights=None, **kwargs)
    with skip_initialization():
        ours = lamina_fn(weights=None, **kwargs)
    compare(ours, theirs)


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


def poison(model: Any) -> None:
    """Every float weight NaN (others zero): a weight a load then misses spoils the outputs."""
    model.set_weights(
        [
            np.full(np.shape(w), np.nan, w.dtype) if np.issubdtype(w.dtype, np.floating)
            else np.zeros_like(w)
            for w in model.get_weights()
        ]
    )  # fmt: skip


def check_predictions(
    lamina_fn: Any,
    keras_fn: Any,
    tmp_path: Path,
    batch: int = 2,
    legacy: bool = False,
    atol: float = 1e-4,
    seed: int = 0,
    compare: Any = None,
    **kwargs: Any,
) -> None:
    """Keras's random weights, saved to a file, loaded into Lamina: the same outputs.

    `compare(ours, theirs)` (e.g. `same_architecture`) also checks the two networks,
    built from zero in both libraries' automatic names, before the outputs.
    """
    if compare is not None:
        keras.backend.clear_session()
        lamina.backend.clear_session()
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
    ours = lamina_fn(weights=str(files[0]), **kwargs)
    if compare is not None:
        compare(ours, theirs)
    del theirs
    keras.backend.clear_session()
    for file in files:
        if file is not files[0]:
            poison(ours)
            ours.load_weights(str(file))  # what `weights=path` calls (app_builder.load)
        with torch.no_grad():
            got = np.asarray(ours.predict(x, verbose=0))
        assert got.shape == expected.shape
        scale = max(1.0, float(np.abs(expected).max()))
        err = float(np.abs(got - expected).max())
        assert err <= atol * scale, (
            f"{file.name}: max |lamina - keras| = {err:.3g} (scale {scale:.3g})"
        )


def fresh_names(keras_ahead: tuple[str, ...] = ()) -> None:
    """Restart both libraries' automatic layer names ('conv2d', 'conv2d_1', ...).

    Each name prefix in `keras_ahead` ('conv2d', 'batch_normalization', ...) is then
    taken once in Keras, so Keras's next names run one ahead of Lamina's ('conv2d_1',
    ...), as in Keras's downloadable `.h5` files (Keras 2 numbered from 1): a legacy file
    saved then no longer matches Lamina's names and loads by layer order.
    """
    from keras.src.utils.naming import uniquify

    keras.backend.clear_session()
    lamina.backend.clear_session()
    for prefix in keras_ahead:
        uniquify(prefix)


def check_module_function(ours: Any, theirs: Any, function: str) -> None:
    """An application module's `preprocess_input` or `decode_predictions` against Keras's.

    Keras downloads ImageNet's class index for `decode_predictions`; the check hands it
    Lamina's shipped table instead (the same file), so Keras's own decoding runs offline.
    """
    rng = np.random.default_rng(0)
    if function == "preprocess_input":
        images = rng.integers(0, 256, (2, 8, 6, 3)).astype("float32")
        for data_format, x in (
            ("channels_last", images),
            ("channels_first", images.transpose(0, 3, 1, 2)),
        ):
            np.testing.assert_allclose(
                ours.preprocess_input(x, data_format=data_format),
                theirs.preprocess_input(x.copy(), data_format=data_format),
                rtol=1e-6,
                atol=1e-6,
            )
        return
    from keras.src.applications import imagenet_utils as keras_imagenet_utils

    preds = rng.dirichlet(np.ones(1000), size=2).astype("float32")
    saved = keras_imagenet_utils.CLASS_INDEX
    keras_imagenet_utils.CLASS_INDEX = lamina.applications.imagenet_utils.class_index()
    try:
        expected = theirs.decode_predictions(preds, top=4)
    finally:
        keras_imagenet_utils.CLASS_INDEX = saved
    got = ours.decode_predictions(preds, top=4)
    assert [[tuple(r[:2]) for r in s] for s in got] == [[tuple(r[:2]) for r in s] for s in expected]
    np.testing.assert_array_equal(
        [[r[2] for r in s] for s in got], [[r[2] for r in s] for s in expected]
    )


def keras_ordered_layers(model: Any) -> list[Any]:
    """A Lamina functional model's layers in Keras 3's order, the order its weights files use.

    Keras sorts a functional model's layers by depth (longest path to an output, deepest
    first); Lamina's `model.layers` lists them in call order. The two differ where a
    block has parallel branches with weights (ResNet's projection shortcut).
    """
    from lamina.saving.keras_weights_h5 import graph_children

    return graph_children(model)


def same_architecture_keras_order(ours: Any, theirs: Any) -> None:
    """`same_architecture` for branching graphs, in the order Keras's weight files use.

    Keras 3 lists a functional model's layers by graph depth; Lamina's `model.layers`
    lists a branching graph in another topological order, while its weight files use
    Keras's (`graph_children`). This compares the layers and weight shapes in that
    order, and the `model.layers` names as sets.
    """
    from lamina.saving.keras_weights_h5 import graph_children

    assert ours.count_params() == theirs.count_params()
    ordered = graph_children(ours)
    shapes = [shape for la in ordered for shape in lamina_weight_shapes(la)]
    assert shapes == keras_weight_shapes(theirs)
    assert [la.name for la in ordered] == [la.name for la in theirs.layers]
    assert sorted(la.name for la in ours.layers) == sorted(la.name for la in theirs.layers)


def check_architecture_keras_order(lamina_fn: Any, keras_fn: Any, **kwargs: Any) -> None:
    """`same_architecture_keras_order` of the two networks built with `weights=None`."""
    check_variant_architecture(lamina_fn, keras_fn, compare=same_architecture_keras_order, **kwargs)
