"""lamina.plot.filters: the kernels drawn are the layer's own, in Keras's layout, each image
scaled as documented; the picture matches its reference image."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest

import lamina as keras
from lamina import layers
from tests.plot import tiny_cnn
from tests.plot.image_compare import assert_matches_baseline


def _unit(a: np.ndarray) -> np.ndarray:
    return (a - a.min()) / (a.max() - a.min())


def _torch_kernel(layer) -> np.ndarray:
    """The torch parameter (out, in, *k) as (out, *k, in), read without get_weights."""
    k = layer.kernel.detach().numpy()
    return np.moveaxis(k, 1, -1)


def test_rgb_filters_are_the_layer_kernel(tmp_path):
    from lamina.plot import filters

    model = tiny_cnn.sequential_cnn()
    before = tiny_cnn.snapshot(model)
    fig = filters(model, "conv1")
    data = fig.lamina_data
    kernel = _torch_kernel(model.get_layer("conv1"))  # (4, 3, 3, 3)
    np.testing.assert_array_equal(data["kernels"], kernel)
    assert data["layer"] == "conv1"
    # RGB: each filter scaled to [0, 1] on its own, drawn as it is
    drawn = [ax.images[0].get_array() for ax in fig.axes if ax.images]
    assert len(drawn) == 4
    for f, picture in enumerate(drawn):
        np.testing.assert_allclose(picture, _unit(kernel[f]), rtol=1e-6)
        np.testing.assert_allclose(data["images"][f], _unit(kernel[f]), rtol=1e-6)
    tiny_cnn.assert_unchanged(model, before)
    assert_matches_baseline(fig, "kernels", tmp_path)


def test_gray_filters_and_layer_given_by_index_or_object(tmp_path):
    from lamina.plot import filters

    model = tiny_cnn.functional_cnn()
    conv = model.get_layer("conv_a")
    kernel = _torch_kernel(conv)  # (3, 3, 3, 1): one input channel
    by_name = filters(model, "conv_a").lamina_data
    by_object = filters(model, conv).lamina_data
    by_index = filters(model, model.layers.index(conv)).lamina_data
    for data in (by_name, by_object, by_index):
        np.testing.assert_array_equal(data["kernels"], kernel)
        for f in range(3):
            np.testing.assert_allclose(data["images"][f], _unit(kernel[f, ..., 0]), rtol=1e-6)
    fig = filters(model, "conv_a")
    assert all(ax.images[0].get_cmap().name == "gray" for ax in fig.axes if ax.images)
    assert_matches_baseline(fig, "kernels_gray", tmp_path)


def test_many_channels_show_their_mean_and_max_filters_limits(tmp_path):
    from lamina.plot import filters

    model = tiny_cnn.sequential_cnn()
    path = tmp_path / "sub" / "filters.png"
    fig = filters(model, "conv2", path=path, max_filters=4)
    kernel = _torch_kernel(model.get_layer("conv2"))  # (6, 3, 3, 4)
    np.testing.assert_array_equal(fig.lamina_data["kernels"], kernel[:4])
    for f in range(4):
        np.testing.assert_allclose(
            fig.lamina_data["images"][f], _unit(kernel[f].mean(axis=-1)), rtol=1e-6
        )
    assert sum(1 for ax in fig.axes if ax.images) == 4
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_conv1d_filters_show_channels_by_taps():
    from lamina.plot import filters

    model = keras.Sequential([layers.Conv1D(5, 4, input_shape=(20, 2), name="c1d")])
    kernel = model.get_layer("c1d").kernel.detach().numpy()  # torch (out, in, k)
    data = filters(model, "c1d").lamina_data
    np.testing.assert_array_equal(data["kernels"][:, 0], np.moveaxis(kernel, 1, -1))
    for f in range(5):
        np.testing.assert_allclose(data["images"][f], _unit(kernel[f]), rtol=1e-6)


def test_other_layers_are_refused_by_name():
    from lamina.plot import filters

    model = tiny_cnn.sequential_cnn()
    with pytest.raises(ValueError, match=r"Expected a Conv2D or Conv1D layer.*'head' \(Dense\)"):
        filters(model, "head")
    with pytest.raises(ValueError, match=r"Expected the name of a layer.*conv1.*'nope'"):
        filters(model, "nope")
    with pytest.raises(ValueError, match=r"Expected a layer of model"):
        filters(model, layers.Conv2D(2, 3))
    with pytest.raises(ValueError, match=r"max_filters"):
        filters(model, "conv1", max_filters=0)


def test_plot_modules_import_matplotlib_only_when_drawing():
    """No module-level matplotlib import (checked on the source: a subprocess importing
    lamina costs seconds, and tests/test_import_time.py covers `import lamina`)."""
    import lamina.plot

    folder = Path(lamina.plot.__file__).parent
    for name in ("kernels", "activation_maps", "attribution", "layer_probe"):
        tree = ast.parse((folder / f"{name}.py").read_text())
        top = [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]
        modules = [a.name for n in top if isinstance(n, ast.Import) for a in n.names]
        modules += [n.module or "" for n in top if isinstance(n, ast.ImportFrom)]
        assert not [m for m in modules if m.split(".")[0] == "matplotlib"], (name, modules)
