"""The models a server holds: each loaded once, with its signature, request reader and
batcher, in an in-memory table keyed by name (a URL's name is only ever a key here)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lamina.serve.batcher import Batcher
from lamina.serve.config import ServeConfig
from lamina.serve.errors import ServeError, shown
from lamina.serve.names import check_model_name, valid_model_name
from lamina.serve.predict_request import RequestReader
from lamina.serve.runner import ModelRunner
from lamina.serve.signature import Signature

VERSION = 1  # one version per name: the file given at start


@dataclass
class ServedModel:
    """One model as served: its name, the model, what it takes and gives, how requests
    are read, and the batcher its requests queue in."""

    name: str
    model: Any
    signature: Signature
    reader: RequestReader
    batcher: Batcher
    source: str


def load_model_file(path: str | os.PathLike) -> Any:
    """A model file (.lamina, .keras, .h5) through `lamina.saving.load_model`, which never
    runs code from the file; no optimizer state is built."""
    from lamina.saving import load_model

    path = Path(path)
    if not path.is_file():
        raise ValueError(f"Expected a model file, received: path={str(path)!r} (no such file)")
    return load_model(path, compile=False)


def serve_model(name: str, model: Any, config: ServeConfig, source: str = "") -> ServedModel:
    """`model` made ready to serve under `name` (its worker starts with the first request)."""
    check_model_name(name)
    signature = Signature.of(model)
    runner = ModelRunner(model)
    reader = RequestReader(
        signature, config.scale_for(name), config.max_instances, config.max_image_pixels
    )
    batcher = Batcher(
        runner,
        config.max_batch_size,
        config.batch_timeout_ms / 1000,
        max(config.max_queue_rows, config.max_instances),
        name=name,
        context=runner.cpu_settings,
    )
    return ServedModel(name, model, signature, reader, batcher, source or type(model).__name__)


class ModelSet:
    """The served models by name."""

    def __init__(self, models: Mapping[str, Any], config: ServeConfig) -> None:
        """`models` maps names to model files or to models already in memory."""
        if not models:
            raise ValueError("Expected at least one model to serve, received: none")
        self.config = config
        self.models: dict[str, ServedModel] = {}
        for name, item in models.items():
            if isinstance(item, (str, os.PathLike)):
                self.models[name] = serve_model(name, load_model_file(item), config, str(item))
            else:
                self.models[name] = serve_model(name, item, config)

    def get(self, name: str) -> ServedModel:
        """The model served as `name`: 400 for a name no model could have, 404 for one
        that is not served."""
        if not valid_model_name(name):
            raise ServeError(
                400,
                "Expected a model name of letters, digits, '_', '.' or '-' (no '..'), "
                f"received: name={shown(name)}",
            )
        served = self.models.get(name)
        if served is None:
            raise ServeError(404, f"Expected a served model name, received: name={name!r}")
        return served

    def close(self) -> None:
        """Stop every model's worker."""
        for served in self.models.values():
            served.batcher.close()
