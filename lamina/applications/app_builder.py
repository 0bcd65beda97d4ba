"""What every application constructor shares: argument checks, the input, the top and the weights.

An application is a functional model whose layers carry Keras's names and come in
Keras's order, so a Keras weights file loads into it: Keras 3's `.weights.h5` (matched
by layer class and order) or the legacy `.h5` files Keras downloads (matched by layer
name). `weights='imagenet'` never downloads: Lamina looks for Keras's file in the
caches Keras and Lamina use, and otherwise says where to get it.
"""

from __future__ import annotations

import functools
import inspect
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lamina import layers
from lamina.applications import imagenet_utils
from lamina.config import image_data_format
from lamina.datasets._common import lamina_home
from lamina.initializers.skipping import skip_initialization
from lamina.models import Functional
from lamina.utils.symbolic_utils import get_source_inputs, is_keras_tensor

KERAS_WEIGHTS_URL = "https://storage.googleapis.com/tensorflow/keras-applications/"


@dataclass(frozen=True)
class ImagenetFiles:
    """Keras's ImageNet weight files for one architecture: with the top, and without it."""

    folder: str  # the folder under `base_url` ("vgg16", "resnet", ...), or "" for none
    top: str | None
    notop: str | None
    base_url: str = KERAS_WEIGHTS_URL

    def name(self, include_top: bool) -> str | None:
        return self.top if include_top else self.notop

    def url(self, filename: str) -> str:
        return self.base_url + (self.folder + "/" if self.folder else "") + filename


def check_arguments(
    name: str, weights: Any, include_top: bool, classes: int, pooling: str | None = None
) -> None:
    """Keras's checks on `weights`, `classes` and `pooling`, before anything is built."""
    if not (weights in ("imagenet", None) or _is_file(weights)):
        raise ValueError(
            f"{name}: expected weights None, 'imagenet' or the path of an existing weights "
            f"file, received: weights={weights!r}"
        )
    if weights == "imagenet" and include_top and classes != 1000:
        raise ValueError(
            f"{name}: expected classes=1000 with weights='imagenet' and include_top=True, "
            f"received: classes={classes}"
        )
    if pooling not in (None, "avg", "max"):
        raise ValueError(
            f"{name}: expected pooling None, 'avg' or 'max', received: pooling={pooling!r}"
        )


def loads_all_weights(builder: Callable[..., Functional]) -> Callable[..., Functional]:
    """Build under `skip_initialization()` when a file will supply every weight.

    With `weights='imagenet'` or the path of a weights file, the builder ends in a strict
    load (`finish`/`load`): drawing random initial values first only costs time (seconds for
    the largest networks). With `weights=None` the weights are initialized as usual.
    """
    signature = inspect.signature(builder)

    @functools.wraps(builder)
    def build(*args: Any, **kwargs: Any) -> Functional:
        arguments = signature.bind_partial(*args, **kwargs).arguments
        weights = arguments.get("weights", signature.parameters["weights"].default)
        if isinstance(weights, str) and weights == "imagenet" or _is_file(weights):
            with skip_initialization():
                return builder(*args, **kwargs)
        return builder(*args, **kwargs)

    return build


def _is_file(weights: Any) -> bool:
    return isinstance(weights, (str, os.PathLike)) and Path(weights).is_file()


def image_input(
    input_shape: Any,
    input_tensor: Any,
    default_size: int,
    min_size: int,
    include_top: bool,
    weights: Any,
) -> tuple[Any, Any]:
    """The model's image input: (the tensor the network starts from, the model's inputs)."""
    shape = imagenet_utils.obtain_input_shape(
        input_shape,
        default_size=default_size,
        min_size=min_size,
        data_format=image_data_format(),
        require_flatten=include_top,
        weights=weights,
    )
    if input_tensor is None:
        img_input = layers.Input(shape=shape)
        return img_input, img_input
    check_input_tensor(input_tensor)
    return input_tensor, get_source_inputs(input_tensor)


def check_input_tensor(input_tensor: Any) -> None:
    """`input_tensor` must be symbolic: the model is built on it."""
    if not is_keras_tensor(input_tensor):
        raise ValueError(
            "Expected input_tensor to be a symbolic tensor (the output of lamina.Input or of a "
            f"layer called on one), received: input_tensor={type(input_tensor).__name__}"
        )


def pooled(x: Any, pooling: str | None, named: bool = False) -> Any:
    """Without a classifier top: the feature map, or its global average or maximum
    (named 'avg_pool' / 'max_pool' where Keras names them, `named=True`)."""
    if pooling == "avg":
        return layers.GlobalAveragePooling2D(name="avg_pool" if named else None)(x)
    if pooling == "max":
        return layers.GlobalMaxPooling2D(name="max_pool" if named else None)(x)
    return x


def classifier(x: Any, classes: int, classifier_activation: Any, weights: Any) -> Any:
    """The usual top: global average pooling, then a Dense classifier named 'predictions'."""
    x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
    imagenet_utils.validate_activation(classifier_activation, weights)
    return layers.Dense(classes, activation=classifier_activation, name="predictions")(x)


def finish(
    inputs: Any,
    outputs: Any,
    name: str,
    weights: Any,
    include_top: bool,
    files: ImagenetFiles | None,
) -> Functional:
    """Make the functional model and load its weights (a local file, or Keras's cached one)."""
    return load(Functional(inputs, outputs, name=name), name, weights, include_top, files)


def load(
    model: Functional, name: str, weights: Any, include_top: bool, files: ImagenetFiles | None
) -> Functional:
    """Load ImageNet weights (Keras's cached file) or a weights file into `model`."""
    if weights == "imagenet":
        model.load_weights(find_imagenet_file(name, include_top, files))
    elif weights is not None:
        model.load_weights(weights)
    return model


def weight_caches() -> list[Path]:
    """Folders searched for Keras's downloaded weight files, in order."""
    found = []
    if os.environ.get("KERAS_HOME"):
        found.append(Path(os.environ["KERAS_HOME"]) / "models")
    found.append(Path.home() / ".keras" / "models")
    found.append(lamina_home() / "models")
    return found


def find_imagenet_file(name: str, include_top: bool, files: ImagenetFiles | None) -> Path:
    """Keras's ImageNet file for this model when a cache holds it; else a clear error."""
    filename = files.name(include_top) if files is not None else None
    if filename is None:
        raise ValueError(
            f"{name}: Keras publishes no ImageNet weights for this configuration "
            f"(include_top={include_top}); expected weights=None or the path of a weights file"
        )
    for folder in weight_caches():
        if (folder / filename).is_file():
            return folder / filename
    url = files.url(filename)
    places = ", ".join(str(p) for p in weight_caches())
    raise FileNotFoundError(
        f"{name}(weights='imagenet') needs Keras's weight file {filename}, and Lamina never "
        f"downloads at run time. On a machine with a network, download {url} and either put it "
        f"in one of {places}, or pass its path: {name}(weights='/path/to/{filename}'). "
        "Keras 3 `.weights.h5` files saved from the same architecture load the same way."
    )
