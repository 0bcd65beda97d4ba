"""Plots of what a network learned and got wrong (matplotlib, imported when a plot is drawn).

Each function returns a matplotlib Figure, saves a PNG when given `path=`, and attaches the data
it drew as `figure.lamina_data`:

- `history(h)`: loss and metrics per epoch, training against validation, best epoch marked;
- `predictions(model, x, y, correct=False)` and `confusion_matrix(model, x, y)`: the mistakes;
- `filters(model, layer)`, `feature_maps(model, layer, image)`: what a convolution looks for;
- `saliency(model, image)`, `grad_cam(model, image, layer)`: where a CNN looked;
- `activations([...])`: activation functions and their derivatives;
- `model_graph(model)`: the architecture, layers with shapes and parameter counts.

Each name's module loads on first use (PEP 562), so importing this package costs nothing.
"""

from __future__ import annotations

import importlib
from typing import Any

# public name -> the module under lamina/plot that defines it
_MODULES = {
    "history": "curves",
    "plot_history": "curves",
    "predictions": "mistakes",
    "confusion_matrix": "confusion",
    "filters": "kernels",
    "feature_maps": "activation_maps",
    "saliency": "attribution",
    "grad_cam": "attribution",
    "activations": "activation_curves",
    "model_graph": "architecture",
}

__all__ = sorted(_MODULES)


def __getattr__(name: str) -> Any:
    module = _MODULES.get(name)
    if module is None:
        raise AttributeError(
            f"Expected one of lamina.plot's names {__all__}, received: name={name!r}"
        )
    return getattr(importlib.import_module(f"lamina.plot.{module}"), name)


def __dir__() -> list[str]:
    return __all__
