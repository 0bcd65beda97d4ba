"""Plain PyTorch ResNet50 and MobileNetV2 (torch.nn only, no torchvision), Keras's architectures.

The benchmark's "plain PyTorch" peer: what a PyTorch user writes for the same network.
`keras_layers(net)` names each weighted submodule by its Keras layer name, so Keras's
weights map onto it by name (`load_keras_weights`), and the torch outputs can be checked
against Keras's on the same weights. The modules take NCHW tensors (use channels_last memory for speed;
`torch.from_numpy(nhwc).permute(0, 3, 1, 2)` is such a tensor, without a copy) and
return softmax probabilities, as Keras's `classifier_activation='softmax'`; `logits(x)`
is the same without the softmax (for `F.cross_entropy` in training).

TensorFlow's 'same' padding puts the odd pixel after (bottom/right); where Keras pads
asymmetrically (MobileNetV2's stride-2 convolutions) the module pads with `F.pad` as
Keras's ZeroPadding2D does, elsewhere the convolution pads symmetrically itself.

    net = resnet50().eval().to(memory_format=torch.channels_last)
    load_keras_weights(net, {layer.name: layer.get_weights() for layer in keras_model.layers})
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


def _bn(channels: int, epsilon: float, keras_momentum: float) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(channels, eps=epsilon, momentum=1.0 - keras_momentum)


# ------------------------------------------------------------------------- ResNet50
class Bottleneck(nn.Module):
    """Keras's `residual_block_v1`: 1x1 -> 3x3 -> 1x1 (x4), convolution shortcut in block 1."""

    def __init__(self, cin: int, filters: int, stride: int, conv_shortcut: bool) -> None:
        super().__init__()
        eps, out = 1.001e-5, 4 * filters
        self.shortcut = (
            nn.Sequential(nn.Conv2d(cin, out, 1, stride), _bn(out, eps, 0.99))
            if conv_shortcut
            else None
        )
        self.conv1, self.bn1 = nn.Conv2d(cin, filters, 1, stride), _bn(filters, eps, 0.99)
        self.conv2 = nn.Conv2d(filters, filters, 3, 1, padding=1)
        self.bn2 = _bn(filters, eps, 0.99)
        self.conv3, self.bn3 = nn.Conv2d(filters, out, 1), _bn(out, eps, 0.99)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = x if self.shortcut is None else self.shortcut(x)
        y = F.relu(self.bn1(self.conv1(x)))
        y = F.relu(self.bn2(self.conv2(y)))
        return F.relu(shortcut + self.bn3(self.conv3(y)))


class ResNet50(nn.Module):
    """Keras's ResNet50 (include_top=True, softmax classifier)."""

    def __init__(self, classes: int = 1000) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, 2, padding=3)  # = ZeroPadding2D(3) + 'valid'
        self.bn1 = _bn(64, 1.001e-5, 0.99)
        blocks: list[nn.Module] = []
        cin = 64
        for filters, count, stride in ((64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2)):
            for i in range(count):
                blocks.append(Bottleneck(cin, filters, stride if i == 0 else 1, i == 0))
                cin = 4 * filters
        self.blocks = nn.Sequential(*blocks)
        self.fc = nn.Linear(cin, classes)

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.bn1(self.conv1(x)))
        # ZeroPadding2D(1) + MaxPool(3, 2): after a ReLU, zero padding = -inf padding
        x = F.max_pool2d(x, 3, 2, padding=1)
        x = self.blocks(x)
        return self.fc(x.mean((2, 3)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.logits(x), dim=1)


# ---------------------------------------------------------------------- MobileNetV2
def _make_divisible(v: float, divisor: int = 8) -> int:
    new = max(divisor, int(v + divisor / 2) // divisor * divisor)
    return new + divisor if new < 0.9 * v else new


def _pad_after(x: torch.Tensor) -> torch.Tensor:
    """Keras's correct_pad / TF 'same' for a 3x3 stride-2 window on even sizes: (0, 1)."""
    h, w = x.shape[2], x.shape[3]
    return F.pad(x, (1 - w % 2, 1, 1 - h % 2, 1))


class ConvBN(nn.Module):
    """Conv (no bias) -> BatchNorm -> optional ReLU6; stride-2 pads like Keras."""

    def __init__(self, cin: int, cout: int, k: int, stride: int, groups: int, relu6: bool) -> None:
        super().__init__()
        self.stride, self.relu6 = stride, relu6
        pad = 0 if stride == 2 else k // 2
        self.conv = nn.Conv2d(cin, cout, k, stride, pad, groups=groups, bias=False)
        self.bn = _bn(cout, 1e-3, 0.999)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride == 2:
            x = _pad_after(x)
        x = self.bn(self.conv(x))
        return F.relu6(x) if self.relu6 else x


class InvertedResidual(nn.Module):
    """Keras's `_inverted_res_block`: expand 1x1 (not in block 0), depthwise 3x3, project 1x1."""

    def __init__(self, cin: int, filters: int, stride: int, expansion: int, first: bool) -> None:
        super().__init__()
        mid = expansion * cin
        out = _make_divisible(filters)
        self.expand = None if first else ConvBN(cin, mid, 1, 1, 1, True)
        self.depthwise = ConvBN(mid, mid, 3, stride, mid, True)
        self.project = ConvBN(mid, out, 1, 1, 1, False)
        self.residual = cin == out and stride == 1
        self.out_channels = out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = x if self.expand is None else self.expand(x)
        y = self.project(self.depthwise(y))
        return x + y if self.residual else y


MOBILENET_V2_BLOCKS: Sequence[tuple[int, int, int]] = (  # (filters, stride, expansion)
    (16, 1, 1),
    (24, 2, 6),
    (24, 1, 6),
    (32, 2, 6),
    (32, 1, 6),
    (32, 1, 6),
    (64, 2, 6),
    (64, 1, 6),
    (64, 1, 6),
    (64, 1, 6),
    (96, 1, 6),
    (96, 1, 6),
    (96, 1, 6),
    (160, 2, 6),
    (160, 1, 6),
    (160, 1, 6),
    (320, 1, 6),
)


class MobileNetV2(nn.Module):
    """Keras's MobileNetV2 (alpha=1.0, include_top=True, softmax classifier)."""

    def __init__(self, classes: int = 1000) -> None:
        super().__init__()
        self.stem = ConvBN(3, 32, 3, 2, 1, True)
        blocks: list[InvertedResidual] = []
        cin = 32
        for i, (filters, stride, expansion) in enumerate(MOBILENET_V2_BLOCKS):
            blocks.append(InvertedResidual(cin, filters, stride, expansion, i == 0))
            cin = blocks[-1].out_channels
        self.blocks = nn.Sequential(*blocks)
        self.head = ConvBN(cin, 1280, 1, 1, 1, True)
        self.fc = nn.Linear(1280, classes)

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        x = self.head(self.blocks(self.stem(x)))
        return self.fc(x.mean((2, 3)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.logits(x), dim=1)


# --------------------------------------------------------------------------- weights
BUILDERS = {"resnet50": ResNet50, "mobilenet_v2": MobileNetV2}


def build(name: str) -> nn.Module:
    """The plain PyTorch network `name` ('resnet50' or 'mobilenet_v2'), random weights."""
    return BUILDERS[name]()


def _resnet_layers(net: ResNet50) -> dict[str, nn.Module]:
    out: dict[str, nn.Module] = {"conv1_conv": net.conv1, "conv1_bn": net.bn1}
    blocks = iter(net.blocks)
    for stack, count in ((2, 3), (3, 4), (4, 6), (5, 3)):
        for b in range(1, count + 1):
            block, prefix = next(blocks), f"conv{stack}_block{b}_"
            if block.shortcut is not None:
                out[prefix + "0_conv"], out[prefix + "0_bn"] = block.shortcut
            for i in (1, 2, 3):
                out[f"{prefix}{i}_conv"] = getattr(block, f"conv{i}")
                out[f"{prefix}{i}_bn"] = getattr(block, f"bn{i}")
    out["predictions"] = net.fc
    return out


def _mobilenet_layers(net: MobileNetV2) -> dict[str, nn.Module]:
    out: dict[str, nn.Module] = {"Conv1": net.stem.conv, "bn_Conv1": net.stem.bn}
    for i, block in enumerate(net.blocks):
        prefix = f"block_{i}_" if i else "expanded_conv_"
        parts = [("depthwise", block.depthwise), ("project", block.project)]
        if block.expand is not None:
            parts.insert(0, ("expand", block.expand))
        for part, unit in parts:
            out[prefix + part] = unit.conv
            out[f"{prefix}{part}_BN"] = unit.bn
    out.update({"Conv_1": net.head.conv, "Conv_1_bn": net.head.bn, "predictions": net.fc})
    return out


def keras_layers(net: nn.Module) -> dict[str, nn.Module]:
    """Keras's layer name -> the torch module holding that layer's weights."""
    return _resnet_layers(net) if isinstance(net, ResNet50) else _mobilenet_layers(net)


def _torch_pairs(m: nn.Module, arrays: list[np.ndarray]) -> list[tuple[torch.Tensor, np.ndarray]]:
    """(torch tensor, Keras array in torch's layout) for one layer's Keras weights."""
    if isinstance(m, nn.BatchNorm2d):  # gamma, beta, moving_mean, moving_variance
        return list(zip((m.weight, m.bias, m.running_mean, m.running_var), arrays))
    kernel = arrays[0]
    if isinstance(m, nn.Linear):
        w = kernel.T
    elif m.groups > 1:  # depthwise (kh, kw, in, multiplier) -> (in * multiplier, 1, kh, kw)
        w = kernel.transpose(2, 3, 0, 1).reshape(-1, 1, *kernel.shape[:2])
    else:  # (kh, kw, in, out) -> (out, in, kh, kw)
        w = kernel.transpose(3, 2, 0, 1)
    return [(m.weight, w)] + ([(m.bias, arrays[1])] if m.bias is not None else [])


@torch.no_grad()
def load_keras_weights(net: nn.Module, weights: dict[str, list[np.ndarray]]) -> None:
    """Copy Keras's weights ({layer name: layer.get_weights()}) into `net`, checking shapes."""
    layers = keras_layers(net)
    if set(layers) != set(weights):
        raise ValueError(
            f"Expected weights for layers {sorted(set(layers) - set(weights))[:5]}..., "
            f"received: extra={sorted(set(weights) - set(layers))[:5]}"
        )
    for name, module in layers.items():
        pairs = _torch_pairs(module, weights[name])
        if len(pairs) != len(weights[name]):
            raise ValueError(
                f"Expected {len(pairs)} arrays for layer {name}, received: {len(weights[name])}"
            )
        for tensor, array in pairs:
            if tuple(tensor.shape) != array.shape:
                raise ValueError(
                    f"Expected a weight of shape {tuple(tensor.shape)} for layer {name}, "
                    f"received: shape={array.shape}"
                )
            tensor.copy_(torch.from_numpy(np.ascontiguousarray(array)))
