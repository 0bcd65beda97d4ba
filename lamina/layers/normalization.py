"""Normalization layers: BatchNormalization and LayerNormalization (Keras 3 semantics).

BatchNormalization keeps Keras's weight order (gamma, beta, moving_mean,
moving_variance), its defaults (momentum=0.99, epsilon=1e-3) and its moving
statistics: `moving = momentum * moving + (1 - momentum) * batch_stat`, where
the batch variance is the *biased* one (PyTorch's running stats use the
unbiased one; we correct for that). A frozen layer (`trainable=False`) always
normalizes with its moving statistics, even when called with training=True:
Keras's transfer-learning rule.

    x = Conv2D(32, 3)(x)
    x = BatchNormalization()(x)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F

from lamina import constraints, initializers, registry, regularizers
from lamina.layers.base import Layer
from lamina.layers.input_spec import InputSpec


def _error(layer: Layer, expected: str, **received: Any) -> ValueError:
    got = ", ".join(f"{k}={v!r}" for k, v in received.items())
    return ValueError(
        f"Layer '{layer.name}' ({type(layer).__name__}) expected {expected}, received: {got}"
    )


@registry.register("layer", "BatchNormalization")
class BatchNormalization(Layer):
    """Normalize each channel (the `axis` feature) with batch or moving statistics.

    In training, a mask (one dimension less than the input, e.g. (batch, time)) keeps
    padded steps out of the batch statistics, as in Keras."""

    supports_masking = True

    def __init__(
        self,
        axis: int = -1,
        momentum: float = 0.99,
        epsilon: float = 1e-3,
        center: bool = True,
        scale: bool = True,
        beta_initializer: Any = "zeros",
        gamma_initializer: Any = "ones",
        moving_mean_initializer: Any = "zeros",
        moving_variance_initializer: Any = "ones",
        beta_regularizer: Any = None,
        gamma_regularizer: Any = None,
        beta_constraint: Any = None,
        gamma_constraint: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if not isinstance(axis, int) or isinstance(axis, bool):
            raise _error(self, "an integer axis", axis=axis)
        if not 0.0 <= float(momentum) <= 1.0:
            raise _error(self, "momentum in [0, 1]", momentum=momentum)
        if float(epsilon) <= 0:
            raise _error(self, "a positive epsilon", epsilon=epsilon)
        self.axis = axis
        self.momentum = float(momentum)
        self.epsilon = float(epsilon)
        self.center = bool(center)
        self.scale = bool(scale)
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.moving_mean_initializer = initializers.get(moving_mean_initializer)
        self.moving_variance_initializer = initializers.get(moving_variance_initializer)
        self.beta_regularizer = regularizers.get(beta_regularizer)
        self.gamma_regularizer = regularizers.get(gamma_regularizer)
        self.beta_constraint = beta_constraint
        self.gamma_constraint = gamma_constraint
        self.input_spec = InputSpec(min_ndim=2)

    def build(self, input_shape: tuple) -> None:
        rank = len(input_shape)
        if not -rank <= self.axis < rank or self.axis % rank == 0:
            raise _error(self, f"an axis in 1..{rank - 1} (not the batch axis)", axis=self.axis)
        channels = input_shape[self.axis]
        if channels is None:
            raise _error(self, f"a known size on axis {self.axis}", input_shape=tuple(input_shape))
        shape = (channels,)
        self.gamma = self.beta = None
        if self.scale:
            self.gamma = self.add_weight(
                "gamma",
                shape,
                self.gamma_initializer,
                self.gamma_regularizer,
                self.gamma_constraint,
            )
        if self.center:
            self.beta = self.add_weight(
                "beta", shape, self.beta_initializer, self.beta_regularizer, self.beta_constraint
            )
        self.moving_mean = self.add_weight(
            "moving_mean", shape, self.moving_mean_initializer, trainable=False
        )
        self.moving_variance = self.add_weight(
            "moving_variance", shape, self.moving_variance_initializer, trainable=False
        )
        self._axis = self.axis % rank
        self.input_spec = InputSpec(ndim=rank, axes={self.axis: channels})

    def call(
        self, inputs: torch.Tensor, training: bool | None = None, mask: Any = None
    ) -> torch.Tensor:
        if mask is not None and mask.dim() != inputs.dim() - 1:
            raise _error(
                self,
                "a mask with one dimension less than the inputs",
                mask_shape=tuple(mask.shape),
                input_shape=tuple(inputs.shape),
            )
        # F.batch_norm wants channels on dim 1; for NHWC this is a channels_last view (no copy).
        x = inputs if self._axis == 1 else inputs.movedim(self._axis, 1)
        if training and self.trainable and mask is not None:
            keep = mask.unsqueeze(-1).expand_as(inputs)
            out = self._masked_train_forward(
                x, keep if self._axis == 1 else keep.movedim(self._axis, 1)
            )
        elif training and self.trainable:
            out = self._train_forward(x)
        else:
            out = F.batch_norm(
                x,
                self.moving_mean,
                self.moving_variance,
                self.gamma,
                self.beta,
                False,
                0.0,
                self.epsilon,
            )
        return out if self._axis == 1 else out.movedim(1, self._axis)

    def _masked_train_forward(self, x: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
        """Batch statistics over the unmasked entries only (Keras's masked moments, with
        its 1e-7 guard against an all-masked channel); the moving statistics blend them."""
        dims = [d for d in range(x.dim()) if d != 1]
        weight = keep.to(x.dtype)
        count = weight.sum(dims, keepdim=True) + 1e-7
        mean = torch.where(keep, x, 0.0).sum(dims, keepdim=True) / count
        var = torch.where(keep, x - mean, 0.0).square().sum(dims, keepdim=True) / count
        out = (x - mean) * torch.rsqrt(var + self.epsilon)
        view = (1, -1) + (1,) * (x.dim() - 2)
        if self.gamma is not None:
            out = out * self.gamma.reshape(view)
        if self.beta is not None:
            out = out + self.beta.reshape(view)
        m = self.momentum
        with torch.no_grad():
            self.moving_mean.lerp_(mean.detach().reshape(-1).to(self.moving_mean.dtype), 1.0 - m)
            new_var = var.detach().reshape(-1).to(self.moving_variance.dtype)
            self.moving_variance.lerp_(new_var, 1.0 - m)
        return out

    def _train_forward(self, x: torch.Tensor) -> torch.Tensor:
        n = x.numel() // x.shape[1]
        m = self.momentum
        if n < 2:  # one value per channel (PyTorch refuses this): variance 0, x - mean = 0
            view = (1, -1) + (1,) * (x.dim() - 2)
            out = torch.zeros_like(x)
            if self.gamma is not None:
                out = out * self.gamma.reshape(view)
            if self.beta is not None:
                out = out + self.beta.reshape(view)
            with torch.no_grad():
                self.moving_mean.lerp_(x.reshape(-1).to(self.moving_mean.dtype), 1.0 - m)
                self.moving_variance.mul_(m)
            return out
        # Copies go to the kernel, which updates them in place (autograd may keep them).
        run_mean, run_var = self.moving_mean.clone(), self.moving_variance.clone()
        out = F.batch_norm(x, run_mean, run_var, self.gamma, self.beta, True, 1.0 - m, self.epsilon)
        with torch.no_grad():
            self.moving_mean.copy_(run_mean)
            # PyTorch blended in the unbiased variance v * n/(n-1); Keras blends the biased v.
            old = m * self.moving_variance
            self.moving_variance.copy_(old + (run_var - old) * ((n - 1) / n))
        return out

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return tuple(input_shape)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "axis": self.axis,
            "momentum": self.momentum,
            "epsilon": self.epsilon,
            "center": self.center,
            "scale": self.scale,
            "beta_initializer": initializers.serialize(self.beta_initializer),
            "gamma_initializer": initializers.serialize(self.gamma_initializer),
            "moving_mean_initializer": initializers.serialize(self.moving_mean_initializer),
            "moving_variance_initializer": initializers.serialize(self.moving_variance_initializer),
            "beta_regularizer": regularizers.serialize(self.beta_regularizer),
            "gamma_regularizer": regularizers.serialize(self.gamma_regularizer),
            "beta_constraint": constraints.serialize(self.beta_constraint),
            "gamma_constraint": constraints.serialize(self.gamma_constraint),
        }


@registry.register("layer", "LayerNormalization")
class LayerNormalization(Layer):
    """Normalize each sample over `axis` (default the last), then scale and shift."""

    supports_masking = True

    def __init__(
        self,
        axis: int | Sequence[int] = -1,
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
        if isinstance(axis, int) and not isinstance(axis, bool):
            self.axis: int | list[int] = axis
        elif isinstance(axis, (list, tuple)) and axis and all(isinstance(a, int) for a in axis):
            self.axis = list(axis)
        else:
            raise _error(self, "an int or a list of ints for axis", axis=axis)
        if float(epsilon) <= 0:
            raise _error(self, "a positive epsilon", epsilon=epsilon)
        self.epsilon = float(epsilon)
        self.center = bool(center)
        self.scale = bool(scale)
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.beta_regularizer = regularizers.get(beta_regularizer)
        self.gamma_regularizer = regularizers.get(gamma_regularizer)
        self.beta_constraint = beta_constraint
        self.gamma_constraint = gamma_constraint
        self.input_spec = InputSpec(min_ndim=2)

    def build(self, input_shape: tuple) -> None:
        rank = len(input_shape)
        axes = [self.axis] if isinstance(self.axis, int) else list(self.axis)
        if any(not -rank <= a < rank or a % rank == 0 for a in axes):
            raise _error(self, f"axes in 1..{rank - 1} (not the batch axis)", axis=self.axis)
        self._axes = sorted({a % rank for a in axes})
        shape = tuple(input_shape[a] for a in self._axes)
        if any(s is None for s in shape):
            raise _error(self, f"known sizes on axis {self.axis}", input_shape=tuple(input_shape))
        # F.layer_norm needs the normalized axes to be the trailing ones.
        self._trailing = self._axes == list(range(rank - len(self._axes), rank))
        self._param_view = tuple(input_shape[d] if d in self._axes else 1 for d in range(1, rank))
        self.gamma = self.beta = None
        if self.scale:
            self.gamma = self.add_weight(
                "gamma",
                shape,
                self.gamma_initializer,
                self.gamma_regularizer,
                self.gamma_constraint,
            )
        if self.center:
            self.beta = self.add_weight(
                "beta", shape, self.beta_initializer, self.beta_regularizer, self.beta_constraint
            )

    def call(self, inputs: torch.Tensor) -> torch.Tensor:
        if self._trailing:
            shape = inputs.shape[len(inputs.shape) - len(self._axes) :]
            return F.layer_norm(inputs, shape, self.gamma, self.beta, self.epsilon)
        var, mean = torch.var_mean(inputs, dim=self._axes, correction=0, keepdim=True)
        out = (inputs - mean) * torch.rsqrt(var + self.epsilon)
        if self.gamma is not None:
            out = out * self.gamma.reshape(self._param_view)
        if self.beta is not None:
            out = out + self.beta.reshape(self._param_view)
        return out

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return tuple(input_shape)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
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
