"""`keras.ops.nn.polar`: complex numbers from magnitude and angle."""

from __future__ import annotations

from typing import Any

import torch

from lamina.ops.conversion import convert_to_tensor

__all__ = ["polar"]


def polar(abs_: Any, angle: Any) -> torch.Tensor:
    """abs_ * (cos(angle) + i sin(angle)), element-wise."""
    magnitude = convert_to_tensor(abs_)
    angle = convert_to_tensor(angle)
    return torch.complex(magnitude * torch.cos(angle), magnitude * torch.sin(angle))
