"""Layer state that is not weights, saved as Keras 3 saves it: a text layer's vocabulary
(`save_assets` / `load_assets`, files under `assets/<layer path>/`) and its IDF weights
(`save_own_variables` / `load_own_variables`, named variables of the layer).

Paths are Keras 3's (`keras3_layout`: `layers/text_vectorization`, and its inner
`layers/text_vectorization/_lookup_layer`), in `.keras` and `.lamina` files alike, so
Keras reads the assets Lamina writes and the other way round. A layer's assets are
files in a temporary folder while its hooks run; member names are checked (relative,
no `..`) before anything is written there.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Mapping
from pathlib import PurePosixPath
from typing import Any

import numpy as np

from lamina.saving.errors import FileFormatError
from lamina.saving.keras_weights_h5 import has_state_hooks, keras3_layout

ASSETS = "assets"


def stateful_layers(model: Any) -> list[tuple[str, Any]]:
    """(Keras 3 path, layer) for every layer with state hooks, the model's order."""
    return [(path, layer) for path, layer, _ in keras3_layout(model) if has_state_hooks(layer)]


def collect_assets(model: Any) -> dict[str, bytes]:
    """Zip member name ("assets/<path>/<file>") -> bytes, for every layer's assets."""
    members: dict[str, bytes] = {}
    for path, layer in stateful_layers(model):
        if not callable(getattr(layer, "save_assets", None)):
            continue
        with tempfile.TemporaryDirectory(prefix="lamina-assets-") as folder:
            layer.save_assets(folder)
            for root, _, files in os.walk(folder):
                for name in sorted(files):
                    full = os.path.join(root, name)
                    rel = os.path.relpath(full, folder).replace(os.sep, "/")
                    with open(full, "rb") as f:
                        members[_join(ASSETS, path, rel)] = f.read()
    return members


def collect_variables(model: Any) -> dict[str, dict[str, np.ndarray]]:
    """Layer path -> its named variables (`save_own_variables`), for layers that have any."""
    out: dict[str, dict[str, np.ndarray]] = {}
    for path, layer in stateful_layers(model):
        store: dict[str, Any] = {}
        if callable(getattr(layer, "save_own_variables", None)):
            layer.save_own_variables(store)
        if store:
            out[path] = {k: np.array(v, copy=True) for k, v in store.items()}
    return out


def restore(
    model: Any,
    variables: Callable[[str], Mapping[str, Any] | None],
    assets: Mapping[str, Callable[[], bytes]],
    source: str,
) -> None:
    """Give each stateful layer its variables (`variables(path)`) and then its assets
    (`assets`: member name -> a reader of its bytes), as Keras loads them."""
    for path, layer in stateful_layers(model):
        if callable(getattr(layer, "load_own_variables", None)):
            store = variables(path)
            layer.load_own_variables(dict(store or {}))
        if callable(getattr(layer, "load_assets", None)):
            prefix = _join(ASSETS, path) + "/"
            mine = {n[len(prefix) :]: read for n, read in assets.items() if n.startswith(prefix)}
            try:
                _load_assets(layer, mine, source)
            except (ValueError, TypeError, UnicodeDecodeError) as err:
                raise FileFormatError(
                    f"Expected the saved state of layer '{layer.name}' in {source} at "
                    f"{prefix!r}, received: {err}"
                ) from err


def _load_assets(layer: Any, files: Mapping[str, Callable[[], bytes]], source: str) -> None:
    if not files:
        layer.load_assets(None)
        return
    with tempfile.TemporaryDirectory(prefix="lamina-assets-") as folder:
        for rel, read in files.items():
            parts = PurePosixPath(rel).parts
            if not parts or rel.startswith("/") or ".." in parts or "\\" in rel or ":" in rel:
                raise FileFormatError(
                    f"Expected relative asset names in {source}, received: {rel!r}"
                )
            target = os.path.join(folder, *parts)
            os.makedirs(os.path.dirname(target), exist_ok=True)
            with open(target, "wb") as f:
                f.write(read())
        layer.load_assets(folder)


def _join(*parts: str) -> str:
    return "/".join(p.strip("/") for p in parts if p)
