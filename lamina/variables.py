"""Keras's `Variable` API on the tensors `Layer.add_weight` creates.

Keras code reads and writes layer state through variables: `v.assign(x)`,
`v.assign_add(x)`, `v.value`, `v.numpy()`. In Lamina a trainable weight is a
`Variable`, an `nn.Parameter` subclass, so torch's optimizers, autograd and
`torch.compile` see an ordinary parameter; a non-trainable one is a
`NonTrainableVariable`, a plain-tensor subclass kept as a module buffer. Ops on either
return plain tensors. Writes go in place under `no_grad`, so a weight keeps its identity
(and its place in optimizers and compiled graphs).
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch
from torch import nn

from lamina import registry
from lamina.config import floatx
from lamina.ops.dtypes import to_torch_dtype
from lamina.runtime.tensor_subclass import plain_torch_function


def _as_value(target: torch.Tensor, value: Any) -> torch.Tensor:
    value = torch.as_tensor(np.asarray(value) if not isinstance(value, torch.Tensor) else value)
    value = value.to(device=target.device, dtype=target.dtype)
    if value.shape != target.shape and value.numel() != 1:
        raise ValueError(
            f"Expected a value of shape {tuple(target.shape)} to assign, "
            f"received: shape={tuple(value.shape)}"
        )
    return value


class VariableMethods:
    """The Keras variable methods shared by both kinds of weight."""

    @property
    def value(self) -> torch.Tensor:
        """The tensor itself (Keras's `variable.value`); gradients land on `.value.grad`."""
        return self  # type: ignore[return-value]

    @property
    def trainable(self) -> bool:
        return bool(self.requires_grad)  # type: ignore[attr-defined]

    def assign(self, value: Any) -> Any:
        with torch.no_grad():
            self.copy_(_as_value(self, value))  # type: ignore[attr-defined, arg-type]
        return self

    def assign_add(self, value: Any) -> Any:
        with torch.no_grad():
            self.add_(_as_value(self, value))  # type: ignore[attr-defined, arg-type]
        return self

    def assign_sub(self, value: Any) -> Any:
        with torch.no_grad():
            self.sub_(_as_value(self, value))  # type: ignore[attr-defined, arg-type]
        return self

    def numpy(self, *, force: bool = False) -> np.ndarray:
        """The values as a NumPy array (detached and on the CPU, unlike `Tensor.numpy`)."""
        return self.detach().cpu().numpy()  # type: ignore[attr-defined]


class Variable(VariableMethods, nn.Parameter):
    """A trainable weight: an `nn.Parameter` with Keras's variable methods.

    Built directly it takes Keras 3's arguments: `Variable(initializer, shape=None,
    dtype=None, trainable=True, ..., name=None)`, where `initializer` is a value (array,
    tensor, list, number) or an initializer (name, instance, callable) with `shape`. As in
    Keras, a NumPy array keeps its dtype and a Python number or list becomes `floatx()`.
    `Variable(tensor, requires_grad)` keeps `nn.Parameter`'s form, which torch's copies use.
    """

    def __new__(
        cls,
        initializer: Any = None,
        shape: Any = None,
        dtype: Any = None,
        trainable: bool = True,
        autocast: bool = True,
        aggregation: str = "none",
        synchronization: str = "auto",
        name: str | None = None,
        *,
        requires_grad: bool | None = None,
    ) -> Variable:
        if isinstance(shape, bool):  # nn.Parameter(data, requires_grad)
            requires_grad, shape = shape, None
        data = initial_value(initializer, shape, dtype)
        grad = trainable if requires_grad is None else requires_grad
        variable = super().__new__(cls, data, bool(grad) and data.is_floating_point())
        if name is not None:
            variable.variable_name = str(name)
        return variable


def initial_value(initializer: Any, shape: Any = None, dtype: Any = None) -> torch.Tensor:
    """The starting tensor of a `Variable`: `initializer` as a value, or called for `shape`."""
    if initializer is None:
        initializer = torch.empty(0)
    if isinstance(initializer, str) or (
        callable(initializer) and not isinstance(initializer, (torch.Tensor, np.ndarray))
    ):
        if shape is None:
            raise ValueError(
                "Expected shape=... for a Variable made by an initializer, received: "
                f"initializer={initializer!r}, shape=None"
            )
        if isinstance(initializer, str):
            initializer = registry.get("initializer", initializer)()
        value = initializer(tuple(shape), dtype=dtype or floatx())
        return torch.as_tensor(value).to(to_torch_dtype(dtype or floatx())).detach().clone()
    if isinstance(initializer, torch.Tensor):
        value = initializer.detach().clone()
    else:
        array = np.array(initializer)
        if array.dtype.kind not in "biuf":
            raise ValueError(
                "Expected a Variable's value to be numbers (an array, tensor, list or number) "
                f"or an initializer, received: {type(initializer).__name__} of {array.dtype}"
            )
        if not isinstance(initializer, (np.ndarray, np.generic)) or isinstance(
            initializer, float
        ):  # Python numbers and lists take Keras's defaults (np.float64 is a float too)
            python_kind = {"f": floatx(), "i": "int32", "u": "int32", "b": "bool"}
            array = array.astype(python_kind[array.dtype.kind])
        value = torch.from_numpy(array)
    if dtype is not None:
        value = value.to(to_torch_dtype(dtype))
    if shape is not None and tuple(value.shape) != tuple(shape):
        raise ValueError(
            f"Expected a value of shape {tuple(shape)} for the Variable, "
            f"received: shape={tuple(value.shape)}"
        )
    return value


class NonTrainableVariable(VariableMethods, torch.Tensor):
    """A non-trainable weight (a buffer: moving statistics, counters) with Keras's variable methods."""

    __torch_function__ = plain_torch_function()

    def __deepcopy__(self, memo: dict[int, Any]) -> NonTrainableVariable:
        if id(self) not in memo:
            memo[id(self)] = self.detach().clone().as_subclass(NonTrainableVariable)
            memo[id(self)].__dict__.update(copy.deepcopy(self.__dict__, memo))
        return memo[id(self)]


def as_variable(value: torch.Tensor, trainable: bool, requires_grad: bool = True) -> torch.Tensor:
    """`value` as the Keras variable kind for a weight of this trainability."""
    if trainable:
        return Variable(value, requires_grad=requires_grad)
    return value.as_subclass(NonTrainableVariable)


@contextlib.contextmanager
def plain_parameters(module: nn.Module) -> Iterator[None]:
    """Inside: the module's `Variable`s are exact `nn.Parameter`s, as Dynamo requires.

    Dynamo traces exact `nn.Parameter`s as parameters, but any subclass as a tensor
    subclass whose `.grad` it cannot read, which a compiled custom `train_step` needs
    (`zero_grad`, `p.grad`). The class is swapped for the call and put back after;
    the tensors themselves (and their places in optimizers) do not change.
    """
    swapped = [p for p in module.parameters() if type(p) is Variable]
    for p in swapped:
        p.__class__ = nn.Parameter
    try:
        yield
    finally:
        for p in swapped:
            p.__class__ = Variable
