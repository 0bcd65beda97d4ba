"""`SpectralNormalization`: keep a wrapped layer's kernel at spectral norm 1 (Miyato et al.).

    SpectralNormalization(Dense(10))(x)
    SpectralNormalization(Conv2D(8, 3), power_iterations=2)(images)

Each training call runs Keras's power iteration on the kernel reshaped to
(-1, last axis) in Keras's layout: v = normalize(u W^T), u = normalize(v W), repeated
`power_iterations` times from the stored `vector_u` (non-trainable, (1, last axis));
sigma = v W u^T. The kernel is then overwritten with kernel / sigma and `vector_u`
with u (no gradient flows through sigma, as in Keras), and the wrapped layer runs. A
kernel of all zeros is left alone. Inference calls run the layer as it is.
"""

from __future__ import annotations

from typing import Any

import torch

from lamina import initializers, registry
from lamina.layers.base import Layer
from lamina.layers.input_spec import InputSpec
from lamina.layers.weight_walk import add_entry
from lamina.layers.wrapper import Wrapper

_EPSILON = 1e-7  # Keras's backend epsilon, the floor of ops.normalize's norm


def _normalize(x: torch.Tensor) -> torch.Tensor:
    """x / max(||x||, 1e-7) over all entries (Keras's normalize with axis=None)."""
    return x / torch.linalg.vector_norm(x).clamp_min(_EPSILON)


@registry.register("layer", "SpectralNormalization")
class SpectralNormalization(Wrapper):
    """Wraps a layer with a `kernel` (or `embeddings`) and normalizes it when training."""

    def __init__(self, layer: Layer, power_iterations: int = 1, **kwargs: Any) -> None:
        super().__init__(layer, **kwargs)
        if not isinstance(power_iterations, int) or power_iterations <= 0:
            raise ValueError(
                f"Layer '{self.name}' (SpectralNormalization) expected a positive integer "
                f"power_iterations, received: power_iterations={power_iterations!r}"
            )
        self.power_iterations = power_iterations

    def build(self, input_shape: tuple) -> None:
        self.layer._build_device = getattr(self, "_build_device", None)
        self.layer._maybe_build(tuple(input_shape))
        self.input_spec = InputSpec(min_ndim=1, axes={-1: input_shape[-1]})
        attr = next((a for a in ("kernel", "embeddings") if hasattr(self.layer, a)), None)
        spec = next((s for s in self.layer._weight_specs if s.attr == attr), None)
        if attr is None or spec is None:
            raise ValueError(
                f"Layer '{self.name}' (SpectralNormalization) expected a wrapped layer with a "
                f"'kernel' or 'embeddings' weight, received: layer={type(self.layer).__name__}"
            )
        self._spec = spec
        shape = self._keras_kernel().shape
        self.vector_u = self.add_weight(
            "vector_u",
            (1, shape[-1]),
            initializers.TruncatedNormal(stddev=0.02),
            trainable=False,
        )

    def _collect_entries(self, out: list, seen: set[int], on: bool) -> None:
        """Keras's weight order: the wrapped kernel, `vector_u`, then the wrapped layer's
        other weights (Keras's wrapper tracks the kernel as its own attribute first)."""
        spec = getattr(self, "_spec", None)
        if spec is not None:
            add_entry(
                out,
                seen,
                self.layer,
                spec,
                getattr(self.layer, spec.attr),
                on and self._trainable and self.layer._trainable,
            )
        super()._collect_entries(out, seen, on)

    def _keras_kernel(self) -> torch.Tensor:
        """The wrapped kernel in Keras's layout (a view of the stored tensor)."""
        kernel = getattr(self.layer, self._spec.attr)
        return kernel if self._spec.to_keras is None else kernel.permute(*self._spec.to_keras)

    @torch.no_grad()
    def _normalize_kernel(self) -> None:
        kernel = self._keras_kernel()
        if not bool((kernel != 0).any()):
            return
        weights = kernel.reshape(-1, kernel.shape[-1])
        u = self.vector_u
        for _ in range(self.power_iterations):
            v = _normalize(u @ weights.T)
            u = _normalize(v @ weights)
        sigma = v @ weights @ u.T
        new = kernel / sigma
        if self._spec.to_torch is not None:
            new = new.permute(*self._spec.to_torch)
        getattr(self.layer, self._spec.attr).copy_(new)
        self.vector_u.copy_(u)

    def call(self, inputs: torch.Tensor, training: bool | None = None) -> torch.Tensor:
        if training:
            self._normalize_kernel()
        out = self.layer(inputs)
        return out if out.dtype == inputs.dtype else out.to(inputs.dtype)

    def compute_output_shape(self, input_shape: tuple) -> Any:
        return self.layer.compute_output_shape(input_shape)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "power_iterations": self.power_iterations}
