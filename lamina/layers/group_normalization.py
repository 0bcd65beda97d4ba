"""`GroupNormalization`: normalize each sample over groups of channels (Wu & He, 2018).

The channels on `axis` split into `groups`; each group (with every non-batch axis) gets
its own mean and biased variance, then per-channel `gamma` and `beta`, as Keras computes
it. groups=1 is layer normalization over all axes, groups=-1 instance normalization.
Runs `F.group_norm` with the channels moved to axis 1.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from lamina import constraints, initializers, registry, regularizers
from lamina.layers.base import Layer
from lamina.layers.input_spec import InputSpec


@registry.register("layer", "GroupNormalization")
class GroupNormalization(Layer):
    """Group normalization over `groups` groups of the channels on `axis`."""

    supports_masking = True

    def __init__(
        self,
        groups: int = 32,
        axis: int = -1,
        epsilon: float = 1e-3,
        center: bool = True,
        scale: bool = True,
        beta_initializer: Any = "zeros",
        gamma_initializer: Any = "ones",
        beta_regularizer: Any = None,
        gamma_regularizer: Any = None,
        beta_constraint: Any = None,
        gamma_constraint: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if (
            not isinstance(groups, int)
            or isinstance(groups, bool)
            or (groups <= 0 and groups != -1)
        ):
            raise self._error(
                "a positive integer groups (or -1 for instance normalization)", groups=groups
            )
        if not isinstance(axis, int) or isinstance(axis, bool):
            raise self._error("an integer axis", axis=axis)
        self.groups = groups
        self.axis = axis
        self.epsilon = float(epsilon)
        self.center = bool(center)
        self.scale = bool(scale)
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.beta_regularizer = regularizers.get(beta_regularizer)
        self.gamma_regularizer = regularizers.get(gamma_regularizer)
        self.beta_constraint = beta_constraint
        self.gamma_constraint = gamma_constraint

    def _error(self, expected: str, **received: Any) -> ValueError:
        got = ", ".join(f"{k}={v!r}" for k, v in received.items())
        return ValueError(
            f"Layer '{self.name}' (GroupNormalization) expected {expected}, received: {got}"
        )

    def build(self, input_shape: tuple) -> None:
        rank = len(input_shape)
        if not -rank < self.axis < rank or self.axis % rank == 0:
            raise self._error(f"a non-batch axis of the rank-{rank} input", axis=self.axis)
        self._channel_axis = self.axis % rank
        dim = input_shape[self._channel_axis]
        if dim is None:
            raise self._error(f"a known size on axis {self.axis}", input_shape=tuple(input_shape))
        self._groups = dim if self.groups == -1 else self.groups
        if dim < self._groups or dim % self._groups:
            raise self._error(f"groups that divide the {dim} channels", groups=self.groups)
        self.input_spec = InputSpec(ndim=rank, axes={self.axis: dim})
        self.gamma = self.beta = None
        if self.scale:
            self.gamma = self.add_weight(
                "gamma",
                (dim,),
                self.gamma_initializer,
                self.gamma_regularizer,
                self.gamma_constraint,
            )
        if self.center:
            self.beta = self.add_weight(
                "beta", (dim,), self.beta_initializer, self.beta_regularizer, self.beta_constraint
            )

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        x = inputs if self._channel_axis == 1 else inputs.movedim(self._channel_axis, 1)
        if x.dim() == 2:  # F.group_norm needs a spatial axis
            out = F.group_norm(x.unsqueeze(-1), self._groups, self.gamma, self.beta, self.epsilon)
            out = out.squeeze(-1)
        else:
            out = F.group_norm(x, self._groups, self.gamma, self.beta, self.epsilon)
        return out if self._channel_axis == 1 else out.movedim(1, self._channel_axis)

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return tuple(input_shape)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "groups": self.groups,
            "axis": self.axis,
            "epsilon": self.epsilon,
            "center": self.center,
            "scale": self.scale,
            "beta_initializer": initializers.serialize(self.beta_initializer),
            "gamma_initializer": initializers.serialize(self.gamma_initializer),
            "beta_regularizer": regularizers.serialize(self.beta_regularizer),
            "gamma_regularizer": regularizers.serialize(self.gamma_regularizer),
            "beta_constraint": constraints.serialize(self.beta_constraint),
            "gamma_constraint": constraints.serialize(self.gamma_constraint),
        }
