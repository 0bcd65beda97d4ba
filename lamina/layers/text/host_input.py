"""`HostStringLayer`: a layer whose inputs are Python strings, not tensors.

`Layer.__call__` turns NumPy inputs into tensors; strings can't be tensors, so these
layers take their inputs as they come (a str, a list, a NumPy array of str or bytes)
and return tensors on the device of the layer's state. Their work is host work (dict
lookups, regular expressions), so a model holding one trains eagerly: the engine reads
`host_only` and says why when `jit_compile=True` was asked for.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from lamina.layers.base import Layer
from lamina.layers.symbolic import any_symbolic


class HostStringLayer(Layer):
    """Base of the layers that read strings on the host (TextVectorization, StringLookup)."""

    host_only = True  # the engine keeps models holding one out of torch.compile

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if not args:
            raise TypeError(f"Layer '{self.name}' expected inputs, received: no arguments")
        inputs, rest = args[0], args[1:]
        if any_symbolic(inputs):
            return self._call_symbolic_typed(inputs, rest, kwargs)
        if isinstance(inputs, torch.Tensor) and not self._takes_tensor(inputs):
            raise TypeError(
                f"Layer '{self.name}' ({type(self).__name__}) expected strings (a str, a list or "
                f"a NumPy array of str), received: a tensor of dtype {inputs.dtype}"
            )
        if self._call_losses:
            self._call_losses = []
        kwargs.pop("mask", None)  # strings carry no mask
        outputs = nn.Module.__call__(self, inputs, *rest, **kwargs)
        if isinstance(outputs, torch.Tensor) and "_call_output_shape" not in self.__dict__:
            self.__dict__["_call_output_shape"] = (None, *outputs.shape[1:])  # for summary()
        return outputs

    def _takes_tensor(self, inputs: torch.Tensor) -> bool:
        """Whether a tensor input is valid (the inverse lookup reads integer indices)."""
        return False

    def _output_device(self) -> torch.device:
        return self._device_probe.device
