"""Sequential's hot loop (`Layer.call_fast`) gives `__call__`'s results and keeps its checks."""

from __future__ import annotations

import pytest
import torch

import lamina
from lamina import layers


def _model() -> lamina.Sequential:
    lamina.utils.set_random_seed(0)
    return lamina.Sequential(
        [
            layers.Dense(8, activation="relu", input_shape=(5,)),
            layers.Dropout(0.5),
            layers.Dense(3, activation="softmax"),
        ]
    )


def test_fast_path_matches_the_full_call():
    model = _model()
    x = torch.randn(4, 5)
    first = model(x, training=False)  # the first call checks and builds
    again = model(x, training=False)  # the fast path
    full = model.layers[2](model.layers[1](model.layers[0](x), training=False))
    torch.testing.assert_close(again, first)
    torch.testing.assert_close(again, full)
    torch.manual_seed(3)
    a = model(x, training=True)
    torch.manual_seed(3)
    b = model.layers[2](model.layers[1](model.layers[0](x), training=True))
    torch.testing.assert_close(a, b)  # training reaches Dropout on the fast path


def test_hooks_and_dtype_casts_still_run():
    model = _model()
    x = torch.randn(4, 5)
    model(x)
    seen = []
    handle = model.layers[0].register_forward_hook(lambda m, i, o: seen.append(o.shape))
    model(x)
    handle.remove()
    assert seen == [torch.Size([4, 8])]
    global_handle = torch.nn.modules.module.register_module_forward_hook(
        lambda m, i, o: seen.append(type(m).__name__)
    )
    try:
        model(x)
    finally:
        global_handle.remove()
    assert "Dense" in seen
    out = model(x.double())  # float64 is cast to the layer dtype, as on the full path
    assert out.dtype == torch.float32


def test_a_new_feature_shape_is_checked_again():
    model = _model()
    model(torch.randn(4, 5))
    with pytest.raises(ValueError, match="dense"):
        model(torch.randn(4, 7))
