"""ResNet50V2/101V2/152V2 (He et al., 2016, "Identity Mappings"), as Keras builds them.

Pre-activation blocks (BN-ReLU before each convolution, a BN-ReLU after the last
stack), the stride on each stack's LAST block, and 'tf' input scaling ([-1, 1]).
The stem, head and blocks are resnet.py's, with `preact=True`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lamina.applications import imagenet_utils
from lamina.applications.resnet import ResNet, stack_residual_blocks_v2
from lamina.models import Functional


def v2_stacks(depths: tuple[int, int, int, int]) -> Callable[[Any], Any]:
    """ResNetV2's four stacks conv2..conv5 (64..512 filters); conv5 does not stride."""

    def stack_fn(x: Any) -> Any:
        for i, (filters, blocks) in enumerate(zip((64, 128, 256, 512), depths)):
            x = stack_residual_blocks_v2(
                x, filters, blocks, stride1=1 if i == 3 else 2, name=f"conv{i + 2}"
            )
        return x

    return stack_fn


def _resnet_v2(depths: tuple[int, int, int, int], weights_name: str, **kwargs: Any) -> Functional:
    return ResNet(v2_stacks(depths), True, True, weights_name=weights_name, **kwargs)


def ResNet50V2(
    include_top: bool = True,
    weights: Any = "imagenet",
    input_tensor: Any = None,
    input_shape: Any = None,
    pooling: str | None = None,
    classes: int = 1000,
    classifier_activation: Any = "softmax",
    name: str = "resnet50v2",
) -> Functional:
    """ResNet50V2: stacks of 3, 4, 6, 3 pre-activation blocks (25.6M parameters with the top)."""
    return _resnet_v2(
        (3, 4, 6, 3),
        "resnet50v2",
        include_top=include_top,
        weights=weights,
        input_tensor=input_tensor,
        input_shape=input_shape,
        pooling=pooling,
        classes=classes,
        classifier_activation=classifier_activation,
        name=name,
    )


def ResNet101V2(
    include_top: bool = True,
    weights: Any = "imagenet",
    input_tensor: Any = None,
    input_shape: Any = None,
    pooling: str | None = None,
    classes: int = 1000,
    classifier_activation: Any = "softmax",
    name: str = "resnet101v2",
) -> Functional:
    """ResNet101V2: stacks of 3, 4, 23, 3 pre-activation blocks (44.7M parameters with the top)."""
    return _resnet_v2(
        (3, 4, 23, 3),
        "resnet101v2",
        include_top=include_top,
        weights=weights,
        input_tensor=input_tensor,
        input_shape=input_shape,
        pooling=pooling,
        classes=classes,
        classifier_activation=classifier_activation,
        name=name,
    )


def ResNet152V2(
    include_top: bool = True,
    weights: Any = "imagenet",
    input_tensor: Any = None,
    input_shape: Any = None,
    pooling: str | None = None,
    classes: int = 1000,
    classifier_activation: Any = "softmax",
    name: str = "resnet152v2",
) -> Functional:
    """ResNet152V2: stacks of 3, 8, 36, 3 pre-activation blocks (60.4M parameters with the top)."""
    return _resnet_v2(
        (3, 8, 36, 3),
        "resnet152v2",
        include_top=include_top,
        weights=weights,
        input_tensor=input_tensor,
        input_shape=input_shape,
        pooling=pooling,
        classes=classes,
        classifier_activation=classifier_activation,
        name=name,
    )


def preprocess_input(x: Any, data_format: str | None = None) -> Any:
    """ResNetV2's ImageNet scaling: 'tf' (pixels scaled to [-1, 1])."""
    return imagenet_utils.preprocess_input(x, data_format=data_format, mode="tf")


def decode_predictions(preds: Any, top: int = 5) -> list[list[tuple[str, str, float]]]:
    """The `top` ImageNet classes of each prediction, as (WordNet id, name, score)."""
    return imagenet_utils.decode_predictions(preds, top=top)
