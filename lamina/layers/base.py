"""The Layer contract: a `torch.nn.Module` with Keras semantics.

A layer stores and validates its config in `__init__`, creates weights lazily in
`build(input_shape)` (the shape includes the batch dimension, as `None`), does
its work in `call(inputs, training=None)`, and returns exactly its constructor
arguments from `get_config()`. Weights live in PyTorch's layout (fast kernels)
and `get_weights()` / `set_weights()` speak Keras's layout.

    class Scale(Layer):
        def build(self, input_shape):
            self.w = self.add_weight("w", (input_shape[-1],), initializer="ones")
        def call(self, x):
            return x * self.w
"""

from __future__ import annotations

import functools
import inspect
import math
import re
import weakref
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from lamina import config, constraints, initializers, regularizers
from lamina.initializers.skipping import initialization_skipped
from lamina.layers.dtypes import dtype_name, resolve_dtype
from lamina.layers.input_spec import InputSpec, check_input
from lamina.layers.mask_utils import (
    MASK_ATTR,
    all_masked,
    attach,
    concrete_masks,
    has_mask,
    masks_of,
    symbolic_masks,
    warn_dropped,
)
from lamina.layers.symbolic import KerasTensor, Node, any_symbolic, is_shape, normalize_shape
from lamina.layers.weight_args import parse_weight_args
from lamina.layers.weight_walk import Entry, add_entry, collect_torch, foreign_modules
from lamina.naming import unique_name
from lamina.ops.dtypes import to_torch_dtype
from lamina.tree import flatten, map_structure
from lamina.variables import as_variable

Shape = tuple[int | None, ...]


def _snake(name: str) -> str:
    s = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", s).lower()


class _WeightSpec:
    """Where one weight lives and how it maps to Keras's layout."""

    __slots__ = (
        "attr", "name", "trainable", "to_torch", "to_keras", "regularizer", "constraint", "auto_named",
    )  # fmt: skip

    def __init__(self, attr, name, trainable, to_torch, regularizer, constraint, auto_named=False):
        self.attr = attr
        self.auto_named = (
            auto_named  # created without a name: takes the attribute it is assigned to
        )
        self.name = name
        self.trainable = trainable
        self.to_torch = to_torch  # permutation Keras->torch, or None
        # The inverse permutation, torch->Keras (constraints see Keras's layout).
        self.to_keras = tuple(np.argsort(to_torch).tolist()) if to_torch is not None else None
        self.regularizer = regularizer
        self.constraint = constraint


def _attribute_for(layer: Layer, name: str, auto_named: bool) -> str:
    """The module attribute a new weight is registered under.

    A named weight takes its name (made an identifier), replacing a weight of the same
    name as before (a second build); an unnamed one takes the first free `variable_N`.
    """
    attr = re.sub(r"\W", "_", name)
    if not auto_named:
        return attr
    taken = layer.__dict__.keys() | layer._parameters.keys() | layer._buffers.keys()
    taken |= layer._modules.keys()
    base, n = attr, 0
    while attr in taken:
        n += 1
        attr = f"{base}_{n}"
    return attr


class Layer(nn.Module):
    """Base class of every Lamina layer (and of models)."""

    input_spec: InputSpec | Sequence[InputSpec] | None = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """A subclass's `build` marks the layer built, as in Keras: `layer.build(shape)` called
        by hand keeps the weights it made (the first call would otherwise build again)."""
        super().__init_subclass__(**kwargs)
        build = cls.__dict__.get("build")
        if build is not None and not getattr(build, "_marks_built", False):
            cls.build = _marking_built(build)
        if "compute_mask" in cls.__dict__ and "_creates_mask" not in cls.__dict__:
            cls._creates_mask = True  # an own compute_mask may make a mask from none

    # Set by the training engine on the output layer when the loss takes logits.
    _emit_logits: bool = False
    # Cast inputs of another dtype (ints, float64) to the layer's dtype, as Keras does.
    # Layers that take integer ids (Embedding) or wrap whole models set this to False.
    autocast: bool = True
    # Masks (mask_utils.py). `_creates_mask`: compute_mask may return a mask for an unmasked
    # input (Embedding(mask_zero=True), Masking), so every call asks it; other layers pay
    # nothing for masks unless their input carries one. `_masks_from_graph`: a container
    # (Sequential, Functional) whose inner layers set the masks of its outputs.
    _creates_mask: bool = False
    _masks_from_graph: bool = False

    def __init__(
        self,
        name: str | None = None,
        trainable: bool = True,
        dtype: Any = None,
        input_shape: Sequence[int | None] | None = None,
        batch_input_shape: Sequence[int | None] | None = None,
        input_dim: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__()
        if kwargs:
            bad = ", ".join(f"{k}={v!r}" for k, v in kwargs.items())
            raise TypeError(
                f"Expected keyword arguments accepted by {type(self).__name__}, received: {bad}"
            )
        self.name = name or unique_name(_snake(type(self).__name__))
        self._trainable = bool(trainable)
        self.dtype_name = dtype if isinstance(dtype, str) or dtype is None else str(dtype)
        self._dtype = resolve_dtype(self, dtype)
        if input_dim is not None and input_shape is None:
            input_shape = (input_dim,)
        if batch_input_shape is not None:
            input_shape = tuple(batch_input_shape)[1:]
        self._input_shape_arg: Shape | None = (
            tuple(input_shape) if input_shape is not None else None
        )
        self.built = False
        self._weight_specs: list[_WeightSpec] = []
        self._call_losses: list[torch.Tensor] = []
        self._build_input_shape: Any = None
        self._output_shape: Any = None
        self._inbound_nodes: list[Node] = []
        self._checked_shape: Any = None
        # Keras semantics: a bare call runs in inference mode; fit() switches to training
        # (and model.train() / model.eval() work as in PyTorch).
        self.training = False

    # ----------------------------------------------------------------- config
    def get_config(self) -> dict[str, Any]:
        """The constructor's arguments, JSON-able, so `from_config` rebuilds the layer."""
        config: dict[str, Any] = {
            "name": self.name,
            "trainable": self.trainable,
            "dtype": self.dtype_name,
        }
        if self._input_shape_arg is not None:
            config["input_shape"] = list(self._input_shape_arg)
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Layer:
        return cls(**config)

    # ---------------------------------------------------------------- weights
    def add_weight(self, *args: Any, **kwargs: Any) -> torch.Tensor:
        """Create a weight; Keras 3's arguments (`shape, initializer, dtype, trainable, ...,
        name`), Keras 2's name-first form and Lamina's `(name, shape, initializer,
        regularizer, constraint)` all work (see `weight_args.py`).

        A weight of Keras shape `shape` is stored permuted by `torch_layout`. Trainable
        weights are `Variable`s (`nn.Parameter`s, seen by optimizers); non-trainable ones
        (BatchNorm's moving statistics, counters) are `NonTrainableVariable` buffers,
        saved with the model. Both take Keras's `assign`/`assign_add`/`.value`.
        `constraint` (a name, config dict or callable) sees the weight in Keras's layout.
        """
        a = parse_weight_args(self.name, args, kwargs)
        dtype = self._dtype if a.dtype is None else to_torch_dtype(a.dtype)
        auto_named = a.name is None
        name = a.name if a.name is not None else "variable"
        if a.trainable and not dtype.is_floating_point:
            raise ValueError(
                f"Layer '{self.name}' ({type(self).__name__}) expected a float dtype for its "
                f"trainable weight '{name}', received: dtype={dtype_name(dtype)!r}. "
                "A layer of an integer or boolean dtype holds only non-trainable state; a layer "
                "that takes integer ids keeps a float dtype and sets autocast = False."
            )
        shape = a.shape
        config.spend_weight_budget(math.prod(shape), f"weight '{name}'")
        initializer = a.initializer
        if initializer is None:
            initializer = "glorot_uniform" if dtype.is_floating_point else "zeros"
        init = initializers.get(initializer)
        constraint = constraints.get(a.constraint)
        constraints.check_axis(constraint, shape, name)
        if initialization_skipped():  # every weight is about to be loaded from a file
            value = torch.empty(shape, dtype=dtype)
        else:
            value = init(shape, dtype=dtype) if dtype.is_floating_point else init(shape)
        value = torch.as_tensor(value).to(dtype)
        if a.torch_layout is not None:
            value = value.permute(*a.torch_layout)
            if value.dim() == 4:
                value = value.contiguous(memory_format=torch.channels_last)
            else:
                value = value.contiguous()
        value = value.to(getattr(self, "_build_device", None) or "cpu")
        attr = _attribute_for(self, name, auto_named)
        if a.trainable:
            param = as_variable(value, True, requires_grad=self._trainable)
            if constraint is not None:
                # Keras's variable.constraint: `optimizer.apply(grads, variables)` in a custom
                # train_step finds the layer that projects this weight after the update.
                param._lamina_constrained_by = weakref.ref(self)
            setattr(self, attr, param)
        else:
            self.register_buffer(attr, as_variable(value, False))
        self._weight_specs.append(
            _WeightSpec(
                attr,
                name,
                a.trainable,
                tuple(a.torch_layout) if a.torch_layout is not None else None,
                regularizers.get(a.regularizer),
                constraint,
                auto_named,
            )
        )
        return getattr(self, attr)

    def _adopt_assigned_weights(self) -> None:
        """Keras's idiom `self.w = self.add_weight(...)`: an unnamed weight takes the attribute
        it was assigned to (once, without a second registration in the state dict).

        torch registers an assigned Parameter a second time and keeps an assigned buffer as a
        plain attribute (which `.to(device)` would leave behind); after `build`, each unnamed
        weight moves to the attribute that holds it.
        """
        for spec in self._weight_specs:
            if not spec.auto_named:
                continue
            current = getattr(self, spec.attr)
            target = next(
                (
                    key
                    for table in (self._parameters, self._buffers, self.__dict__)
                    for key, value in table.items()
                    if value is current and key != spec.attr
                ),
                None,
            )
            if target is None:
                continue
            trainable = spec.attr in self._parameters
            delattr(self, spec.attr)
            self.__dict__.pop(target, None)
            if trainable:
                self._parameters.pop(target, None)
                self.register_parameter(target, current)
            else:
                self.register_buffer(target, current)
            spec.attr = target
            spec.auto_named = False

    def _sublayers(self) -> list[Layer]:
        """Direct child layers, in registration order (lists and dicts included)."""
        found: list[Layer] = []

        def visit(module: nn.Module) -> None:
            for child in module.children():
                if isinstance(child, Layer):
                    if all(child is not f for f in found):
                        found.append(child)
                else:
                    visit(child)

        visit(self)
        return found

    def _own(self, trainable: bool | None) -> list[torch.Tensor]:
        """This layer's `add_weight` weights (trainable ones if `trainable`, ...)."""
        return [
            getattr(self, s.attr)
            for s in self._weight_specs
            if trainable is None or s.trainable == trainable
        ]

    def _weight_entries(self) -> list[Entry]:
        """Every weight of the module tree, once, in order.

        Per layer: its `add_weight` weights (trainable, then non-trainable: Keras's order),
        parameters and buffers set on it directly, then its children in registration
        order: sublayers recursively, plain torch modules in `state_dict` order. A weight
        is trainable when it is a Parameter that requires grad (what the optimizer sees)
        and every layer from `self` down to its owner is trainable.
        """
        out: list[Entry] = []
        self._collect_entries(out, set(), True)
        return out

    def _collect_entries(self, out: list[Entry], seen: set[int], on: bool) -> None:
        self._adopt_assigned_weights()
        on = on and self._trainable
        for spec in sorted(self._weight_specs, key=lambda s: not s.trainable):
            add_entry(out, seen, self, spec, getattr(self, spec.attr), on)
        collect_torch(self, self, "", out, seen, on, {s.attr for s in self._weight_specs})

    def _foreign_parameters(self) -> list[nn.Parameter]:
        """Parameters of this layer not made by `add_weight` and not in a sublayer."""
        out: list[Entry] = []
        skip = {s.attr for s in self._weight_specs}
        collect_torch(self, self, "", out, set(), True, skip, into_layers=False)
        return [e.tensor for e in out if isinstance(e.tensor, nn.Parameter)]

    def _foreign_modules(self) -> list[nn.Module]:
        """Plain torch modules of this layer's tree (not inside a sublayer)."""
        return foreign_modules(self)

    @property
    def weights(self) -> list[torch.Tensor]:
        """All weights: own trainable, own non-trainable, then sublayers' (Keras's order).

        Parameters and persistent buffers of plain torch modules (and of tensors set on a
        layer without `add_weight`) are weights too, at their place in the module tree.
        """
        return [e.tensor for e in self._weight_entries()]

    @property
    def trainable_weights(self) -> list[torch.Tensor]:
        if not self.trainable:
            return []
        return [e.tensor for e in self._weight_entries() if e.trainable]

    @property
    def non_trainable_weights(self) -> list[torch.Tensor]:
        if not self.trainable:
            return self.weights
        return [e.tensor for e in self._weight_entries() if not e.trainable]

    def get_weights(self) -> list[np.ndarray]:
        """Weights as NumPy arrays in Keras's layouts and order (torch's for torch modules)."""
        arrays = []
        for entry in self._weight_entries():
            t = entry.tensor.detach()
            if entry.spec.to_torch is not None:
                t = t.permute(*entry.spec.to_keras)
            arrays.append(t.cpu().numpy().copy())
        return arrays

    def set_weights(self, weights: Sequence[Any]) -> None:
        """Load arrays in Keras's layouts and order (as `get_weights` returns them)."""
        entries = self._weight_entries()
        if len(weights) != len(entries):
            raise ValueError(
                f"Layer '{self.name}' expected {len(entries)} weight arrays "
                f"({', '.join(e.spec.name for e in entries)}), "
                f"received: len(weights)={len(weights)}"
            )
        # Check every array before copying any, so a bad list leaves the weights intact.
        staged = []
        for entry, array in zip(entries, weights):
            target, spec = entry.tensor, entry.spec
            value = torch.as_tensor(np.asarray(array), dtype=target.dtype)
            keras_shape = tuple(target.shape)
            if spec.to_torch is not None:
                keras_shape = tuple(target.permute(*spec.to_keras).shape)
            if tuple(value.shape) != keras_shape:
                raise ValueError(
                    f"Layer '{entry.layer.name}' expected weight '{spec.name}' of shape "
                    f"{keras_shape}, received: shape={tuple(value.shape)}"
                )
            if spec.to_torch is not None:
                value = value.permute(*spec.to_torch)
            staged.append((target, value))
        with torch.no_grad():
            for target, value in staged:
                target.copy_(value)

    def count_params(self) -> int:
        return sum(int(w.numel()) for w in self.weights)

    @property
    def trainable(self) -> bool:
        return self._trainable

    @trainable.setter
    def trainable(self, value: bool) -> None:
        """Freeze or unfreeze this layer and its sublayers (Keras's transfer learning).

        Torch parameters of the layer are frozen too; unfreezing gives back the gradient
        only to those that freezing took it from (one frozen in torch by the user stays so).
        """
        self._trainable = bool(value)
        for spec in self._weight_specs:
            if spec.trainable:
                getattr(self, spec.attr).requires_grad_(self._trainable)
        if self._trainable:
            for p in self.__dict__.pop("_frozen_by_layer", []):
                p.requires_grad_(True)
        else:
            self._freeze_foreign()
        for layer in self._sublayers():
            layer.trainable = value

    def _freeze_foreign(self) -> None:
        """Take the gradient from this layer's torch parameters, remembering whose it took."""
        frozen = self.__dict__.setdefault("_frozen_by_layer", [])
        for p in self._foreign_parameters():
            if p.requires_grad:
                p.requires_grad_(False)
                frozen.append(p)

    def train(self, mode: bool = True) -> Layer:
        """`nn.Module.train`; a frozen layer's torch normalization modules stay in eval mode.

        As a frozen BatchNormalization does, they normalize with (and keep) their running
        statistics, so freezing a layer leaves all its weights unchanged in `fit`.
        """
        super().train(mode)
        if mode and not self._trainable:
            self._set_foreign_modes()
        return self

    def _set_foreign_modes(self) -> None:
        """Torch modules of this layer follow its mode (eval for a frozen layer's norms)."""
        for module in self._foreign_modules():
            frozen_norm = not self._trainable and getattr(module, "track_running_stats", False)
            module.training = self.training and not frozen_norm

    def _adopt_torch_modules(self) -> None:
        """Once, on build or the first call: torch modules made in `__init__` (in torch's
        train mode) take this layer's mode, so a bare call runs them in inference, and a
        layer made frozen freezes them."""
        if "_torch_adopted" in self.__dict__:
            return
        self.__dict__["_torch_adopted"] = True
        self._set_foreign_modes()
        if not self._trainable:
            self._freeze_foreign()

    # ----------------------------------------------------------------- losses
    def add_loss(self, loss: torch.Tensor) -> None:
        """Add a loss term computed in `call` (collected by the training engine).

        A new list rather than an in-place append: inside a compiled step the engine
        empties it after counting, and no list that existed before the step holds a tensor
        of the step's gradient transform."""
        self._call_losses = [*self._call_losses, loss]

    def regularization_losses(self) -> list[torch.Tensor]:
        """Penalties of this layer's and sublayers' weight regularizers, each computed on the
        weight in Keras's layout (an OrthogonalRegularizer's rows are Keras's)."""
        out = []
        for spec in self._weight_specs:
            if spec.regularizer is not None:
                weight = getattr(self, spec.attr)
                if spec.to_keras is not None:
                    weight = weight.permute(*spec.to_keras)
                out.append(spec.regularizer(weight))
        for layer in self._sublayers():
            out += layer.regularization_losses()
        return out

    @property
    def losses(self) -> list[torch.Tensor]:
        """Regularization penalties plus losses added in the last call."""
        out = self.regularization_losses() + list(self._call_losses)
        for layer in self._sublayers():
            out += layer._call_losses
        return out

    def apply_constraints(self) -> None:
        """Project trainable weights onto their constraints (after each optimizer step).

        Each constraint sees its weight in Keras's layout, so `axis` means what it does
        in Keras; frozen weights are left alone, as Keras's optimizers leave them.
        """
        with torch.no_grad():
            for spec in self._weight_specs:
                if spec.constraint is None or not (spec.trainable and self._trainable):
                    continue
                w = getattr(self, spec.attr)
                if spec.to_torch is None:
                    w.copy_(spec.constraint(w))
                else:
                    w.copy_(spec.constraint(w.permute(*spec.to_keras)).permute(*spec.to_torch))
        for layer in self._sublayers():
            layer.apply_constraints()

    # ------------------------------------------------------------------ masks
    @property
    def supports_masking(self) -> bool:
        """Whether the layer hands a mask on (`compute_mask`) instead of dropping it.

        As in Keras: True when the class defines its own `compute_mask`, else False
        unless set (`self.supports_masking = True` in `__init__`, or on the class)."""
        value = self.__dict__.get("_supports_masking")
        return type(self)._creates_mask if value is None else value

    @supports_masking.setter
    def supports_masking(self, value: bool) -> None:
        self.__dict__["_supports_masking"] = bool(value)

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        """The mask of the output, given the inputs and their mask (Keras's contract);
        by default the input's mask, unchanged (used when `supports_masking`)."""
        return mask

    def _output_masks(self, inputs: Any, outputs: Any, previous: Any) -> None:
        """After a call: give the outputs their masks (`compute_mask`), or warn that a
        mask was dropped by a layer that does not support masking."""
        if self._masks_from_graph or all_masked(outputs):
            return
        if self.supports_masking:
            masks = self.compute_mask(inputs, previous)
            if masks is not None:
                attach(outputs, masks)
        elif has_mask(previous) and not _accepts_mask(type(self)):
            warn_dropped(self)  # (a layer whose call took the mask has used it)

    def _graph_output_masks(self) -> Any:
        """A container's symbolic output masks (its own graph's), else None."""
        return None

    def _symbolic_output_masks(
        self, inputs: Any, input_shape: Any, outputs: Any, previous: Any
    ) -> None:
        """The symbolic masks of a symbolic call's outputs: `compute_mask` (or, for a
        container, its own graph) on a batch of one, masks of the inputs' shapes."""
        if not (self.supports_masking or self._masks_from_graph):
            if has_mask(previous) and not _accepts_mask(type(self)):
                warn_dropped(self)
            return
        if self._masks_from_graph and previous is None:
            symbolic_masks(outputs, self._graph_output_masks())
            return
        x = _symbolic_zeros(self, input_shape)
        device = _first_device(x)
        masks = concrete_masks(previous, device) if previous is not None else None
        emit, self._emit_logits = self._emit_logits, False
        try:
            with torch.no_grad():
                if self._masks_from_graph:
                    out = self(x, training=False, mask=masks)
                    concrete = masks_of(out)
                else:
                    concrete = self.compute_mask(x, masks)
        finally:
            self._emit_logits = emit
        if concrete is not None:
            symbolic_masks(outputs, concrete)

    # ------------------------------------------------------------ build, call
    def build(self, input_shape: Any) -> None:
        """Create weights for `input_shape` (batch dim included, as None)."""
        self.built = True

    def call(self, inputs: Any, training: bool | None = None) -> Any:
        raise NotImplementedError(f"Layer {type(self).__name__} must implement call()")

    def compute_output_shape(self, input_shape: Any) -> Any:
        """Output shape for `input_shape`; by default found by running on zeros."""
        return _infer_output_shape(self, input_shape)

    def _maybe_build(self, input_shape: Any) -> None:
        if self.built:
            return
        self._check_input(input_shape)
        self._build_input_shape = input_shape
        try:
            # Weights are normal tensors even when the first call runs inside predict's
            # inference_mode; inference tensors could never be updated in place again.
            with torch.inference_mode(False):
                self.build(input_shape)
        except (ValueError, TypeError) as err:
            if str(err).startswith(("Layer '", "Expected")):
                raise
            raise ValueError(
                f"Layer '{self.name}' ({type(self).__name__}) could not be built for "
                f"input_shape={_fmt(input_shape)}: {err}"
            ) from err
        self.built = True
        self._adopt_assigned_weights()
        self._adopt_torch_modules()

    def _check_input(self, input_shape: Any) -> None:
        spec = self.input_spec
        if spec is None:
            return
        check_input(self, spec, input_shape)

    def _convert_input(self, x: Any) -> Any:
        """NumPy to tensor; numbers of another dtype cast to the layer's (Keras's autocast)."""
        x = _to_tensor(x)
        if isinstance(x, torch.Tensor) and x.dtype != self._dtype and self.autocast:
            x = x.to(self._dtype)
        return x

    def _activate(self, z: torch.Tensor) -> torch.Tensor:
        """Apply `self.activation`, unless the engine asked for logits."""
        if self._emit_logits:
            return z
        return self.activation(z)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if not args:
            raise TypeError(f"Layer '{self.name}' expected inputs, received: no arguments")
        inputs, rest = args[0], args[1:]
        if isinstance(inputs, torch.Tensor):  # the hot path: one tensor
            mask = getattr(inputs, MASK_ATTR, None)
            if inputs.dtype != self._dtype and self.autocast:
                inputs = inputs.to(self._dtype)
            shape = inputs.shape[1:]
        else:
            if any_symbolic(inputs):
                return self._call_symbolic_typed(inputs, rest, kwargs)
            mask = masks_of(inputs)
            inputs = map_structure(self._convert_input, inputs)
            shape = map_structure(lambda t: t.shape[1:], inputs)
        record = shape != self._checked_shape
        if record:
            full = map_structure(lambda t: (None, *t.shape[1:]), inputs)
            if not self.built:
                self._build_device = _first_device(inputs)
                self._maybe_build(full)
            else:
                self._check_input(full)
            self._adopt_torch_modules()  # models build in their own _maybe_build or build
            self._checked_shape = shape
        if self._call_losses:
            self._call_losses = []
        if mask is not None or self._creates_mask or "mask" in kwargs:
            outputs = self._call_with_mask(inputs, rest, kwargs, mask)
        else:
            outputs = super().__call__(inputs, *rest, **kwargs)
        if record:  # first call on this input shape: `summary()` of a subclassed model shows it
            self.__dict__["_call_output_shape"] = _output_shape_of(outputs)
        return outputs

    def _call_with_mask(self, inputs: Any, rest: tuple, kwargs: dict, mask: Any) -> Any:
        """A call where a mask exists or may be made: an explicit `mask=` wins over the
        inputs' own; `call` receives it when it takes `mask`; the outputs get theirs."""
        given = kwargs.pop("mask", None)
        previous = given if given is not None else mask
        if previous is not None and _accepts_mask(type(self)):
            kwargs["mask"] = previous
        outputs = super().__call__(inputs, *rest, **kwargs)
        self._output_masks(inputs, outputs, previous)
        return outputs

    def _call_symbolic_typed(self, inputs: Any, args: tuple, kwargs: dict) -> Any:
        """`_call_symbolic` with dtypes: shape inference runs on zeros of the inputs' dtypes
        (integer ids for a layer that does not autocast), and the outputs carry the dtypes
        the layer produced (or its own float dtype when its shape came from a formula)."""
        self.__dict__["_symbolic_dtypes"] = map_structure(
            lambda t: t.dtype if isinstance(t, KerasTensor) else None, inputs
        )
        self.__dict__.pop("_inferred_dtypes", None)
        outputs = self._call_symbolic(inputs, *args, **kwargs)
        produced = self.__dict__.pop("_inferred_dtypes", None)
        tensors = [t for t in flatten(outputs) if isinstance(t, KerasTensor)]
        if produced is not None and len(produced) == len(tensors):
            for t, name in zip(tensors, produced):
                t.dtype = name
        elif self._dtype.is_floating_point and self.autocast:
            for t in tensors:
                t.dtype = dtype_name(self._dtype)
        return outputs

    def call_fast(self, x: torch.Tensor, training: bool | None) -> Any:
        """`self(x, training=training)` without the checks a repeated call has already passed.

        For containers' hot loops: when `x` is a tensor of this layer's dtype and of the
        feature shape it was last checked with, no hooks are registered and no call
        losses are pending, this runs `call` directly; otherwise the full `__call__`.
        """
        if (
            x.dtype != self._dtype
            or x.shape[1:] != self._checked_shape
            or self._call_losses
            or self._forward_hooks
            or self._forward_pre_hooks
            or _GLOBAL_HOOKS[0]
            or _GLOBAL_HOOKS[1]
        ):
            return self(x, training=training)
        if training is None:
            training = self.training
        if _accepts_training(type(self)):
            return self.call(x, training=training)
        return self.call(x)

    def forward(self, inputs: Any, *args: Any, training: bool | None = None, **kwargs: Any) -> Any:
        if training is None:
            training = self.training
        if _accepts_training(type(self)):
            return self.call(inputs, *args, training=training, **kwargs)
        return self.call(inputs, *args, **kwargs)

    def _call_symbolic(self, inputs: Any, *args: Any, **kwargs: Any) -> Any:
        """Calling a layer on `Input(...)` tensors records a graph node (functional API)."""
        input_shape = map_structure(lambda k: k.shape, inputs)
        self._maybe_build(input_shape)
        self._check_input(input_shape)
        symbolic_extras = any(isinstance(t, KerasTensor) for t in flatten((args, kwargs)))
        if symbolic_extras and type(self).compute_output_shape is Layer.compute_output_shape:
            # `layer(targets, logits)`: the other tensors take part in the output's shape
            out_shape = normalize_shape(_infer_output_shape(self, input_shape, args, kwargs))
        else:
            out_shape = normalize_shape(self.compute_output_shape(input_shape))
        self._output_shape = out_shape
        node = Node(self, inputs, args, kwargs)
        outputs = _make_symbolic(out_shape, node)
        node.outputs = outputs
        self._inbound_nodes.append(node)
        given = kwargs.get("mask")
        previous = given if given is not None else masks_of(inputs)
        if previous is not None or self._creates_mask or self._masks_from_graph:
            self._symbolic_output_masks(inputs, input_shape, outputs, previous)
        return outputs

    # ------------------------------------------------------- symbolic graph
    @property
    def input(self) -> Any:
        """The input tensor(s) of the one call that connected this layer to a graph.

        One tensor, or a list for a layer called on several (Keras's `layer.input`); an
        `InputLayer`'s input is its own tensor. Raises when the layer was never called
        symbolically, or called several times (the input would be ambiguous).
        """
        node = _one_node(self, "input")
        return _unpack(flatten(node.inputs) or flatten(node.outputs))

    @property
    def output(self) -> Any:
        """The output tensor(s) of the one call that connected this layer to a graph.

        `Model(model.inputs, model.layers[i].output)` builds a feature extractor from it.
        """
        source = self.__dict__.get("_source_output")
        if source is not None and not self._inbound_nodes:
            return source  # an InputLayer made directly, before it gets its node
        return _unpack(flatten(_one_node(self, "output").outputs))

    @output.setter
    def output(self, tensor: Any) -> None:
        # An InputLayer sets its tensor in __init__; `symbolic.source_tensor` adds its node.
        self.__dict__["_source_output"] = tensor

    @property
    def input_shape(self) -> Any:
        """The shape this layer is called on (batch dim None), as Keras 2's `input_shape`."""
        if "_input_shape_set" in self.__dict__:
            return self.__dict__["_input_shape_set"]
        shapes = [
            _unpack([t.shape for t in flatten(n.inputs) or flatten(n.outputs)])
            for n in self._inbound_nodes
        ]
        if shapes and all(s == shapes[0] for s in shapes):
            return shapes[0]
        source = self.__dict__.get("_source_output")
        if not shapes and source is not None:
            return source.shape
        if not shapes and self._build_input_shape is not None:
            return normalize_shape(self._build_input_shape)
        return _unpack([t.shape for t in flatten(_one_node(self, "input_shape").inputs)])

    @input_shape.setter
    def input_shape(self, shape: Any) -> None:
        # Custom layers written for Keras 3 (which has no such property) may assign it.
        self.__dict__["_input_shape_set"] = shape

    # ------------------------------------------------------------------ misc
    @property
    def output_shape(self) -> Any:
        if self._output_shape is None:
            raise AttributeError(f"Layer '{self.name}' has not been called on a known shape yet")
        return self._output_shape

    def extra_repr(self) -> str:
        return f"name={self.name!r}"


# ---------------------------------------------------------------------- helpers
_TRAINING_CACHE: dict[type, bool] = {}
_MASK_CACHE: dict[type, bool] = {}
# torch's registries of global module hooks (a hook anywhere disables `call_fast`)
_GLOBAL_HOOKS = (
    nn.modules.module._global_forward_hooks,
    nn.modules.module._global_forward_pre_hooks,
)


def _marking_built(build: Any) -> Any:
    """Wrap a `build` so that a successful call leaves the layer built, with its input shape."""

    @functools.wraps(build)
    def build_and_mark(self: Layer, *args: Any, **kwargs: Any) -> Any:
        result = build(self, *args, **kwargs)
        self.built = True
        if getattr(self, "_build_input_shape", None) is None and args:
            self._build_input_shape = args[0]
        return result

    build_and_mark._marks_built = True  # type: ignore[attr-defined]
    return build_and_mark


def _accepts_mask(cls: type) -> bool:
    """Whether `cls.call` names a `mask` argument (Keras passes masks only then)."""
    hit = _MASK_CACHE.get(cls)
    if hit is None:
        hit = "mask" in inspect.signature(cls.call).parameters
        _MASK_CACHE[cls] = hit
    return hit


def _accepts_training(cls: type) -> bool:
    hit = _TRAINING_CACHE.get(cls)
    if hit is None:
        params = inspect.signature(cls.call).parameters
        hit = "training" in params or any(p.kind == p.VAR_KEYWORD for p in params.values())
        _TRAINING_CACHE[cls] = hit
    return hit


def _output_shape_of(outputs: Any) -> Any:
    """The shape of an eager call's output, batch dim None (a list for several outputs)."""

    def one(t: torch.Tensor) -> tuple:
        return (None, *t.shape[1:]) if t.dim() else ()

    if isinstance(outputs, torch.Tensor):
        return one(outputs)
    shapes = [one(t) for t in flatten(outputs) if isinstance(t, torch.Tensor)]
    return shapes or None


def _to_tensor(x: Any) -> Any:
    if isinstance(x, np.ndarray):
        t = torch.from_numpy(x)
        return t.float() if t.is_floating_point() and t.dtype == torch.float64 else t
    return x


def _first_device(inputs: Any) -> torch.device:
    found: list[torch.device] = []
    map_structure(lambda t: found.append(t.device) if isinstance(t, torch.Tensor) else None, inputs)
    return found[0] if found else torch.device("cpu")


def _fmt(shape: Any) -> str:
    return str(map_structure(lambda s: tuple(s), shape)) if shape is not None else "None"


def _zeros_for(shape: Any, dtype: torch.dtype, device: torch.device) -> Any:
    return map_structure(
        lambda s: torch.zeros(tuple(1 if d is None else d for d in s), dtype=dtype, device=device),
        shape,
        is_leaf=lambda s: isinstance(s, tuple) and all(d is None or isinstance(d, int) for d in s),
    )


def _symbolic_zeros(layer: Layer, input_shape: Any) -> Any:
    """Zeros of `input_shape` (unknown sizes 1) on the layer's device, in the layer's dtype,
    or, for a layer that does not autocast, in the symbolic inputs' own dtypes."""
    params = list(layer.parameters()) + list(layer.buffers())
    device = params[0].device if params else torch.device("cpu")
    x = _zeros_for(input_shape, layer._dtype, device)
    if not layer.autocast:  # the layer sees its inputs' own dtypes (integer ids, ...)
        given = [d for d in flatten(layer.__dict__.get("_symbolic_dtypes")) if d is not None]
        zeros = flatten(x)
        if len(given) == len(zeros) and any(d != dtype_name(layer._dtype) for d in given):
            cast = iter([z.to(resolve_dtype(layer, d)) for z, d in zip(zeros, given)])
            x = map_structure(lambda _: next(cast), x)
    return x


def _infer_output_shape(
    layer: Layer, input_shape: Any, args: tuple = (), kwargs: dict | None = None
) -> Any:
    """Run the layer on zeros (batch 1, eval mode, no grad) and read the output shape; symbolic
    tensors among the call's other arguments become zeros of their shapes too."""
    x = _symbolic_zeros(layer, input_shape)

    def concrete(v: Any) -> Any:
        return _symbolic_zeros(layer, v.shape) if isinstance(v, KerasTensor) else v

    args = tuple(map_structure(concrete, list(args)))
    kwargs = {k: map_structure(concrete, v) for k, v in (kwargs or {}).items()}
    if _accepts_training(type(layer)) and "training" not in kwargs:
        kwargs["training"] = False
    emit, layer._emit_logits = layer._emit_logits, False
    try:
        with torch.no_grad():
            out = layer.call(x, *args, **kwargs)
    finally:
        layer._emit_logits = emit
    layer.__dict__["_inferred_dtypes"] = [dtype_name(t.dtype) for t in flatten(out)]
    return map_structure(lambda t: (None, *t.shape[1:]), out)


def _make_symbolic(shape: Any, node: Node) -> Any:
    """Symbolic outputs of `node`, one per shape; `index` is the position in flatten order."""
    counter = iter(range(1_000_000))
    return map_structure(
        lambda s: KerasTensor(tuple(s), node=node, index=next(counter)), shape, is_leaf=is_shape
    )


def _one_node(layer: Layer, what: str) -> Node:
    """The layer's only inbound node, else an error naming the layer (for input/output)."""
    count = len(layer._inbound_nodes)
    if count == 1:
        return layer._inbound_nodes[0]
    if count == 0:
        raise ValueError(
            f"Layer '{layer.name}' ({type(layer).__name__}) has never been called on symbolic "
            f"inputs, so it has no {what}. Expected a layer connected to a graph: called on "
            "lamina.Input(...) tensors, or in a Sequential model with a known input shape "
            "(input_shape= on its first layer, an Input, or a first call), received: "
            "inbound_nodes=0"
        )
    raise ValueError(
        f"Layer '{layer.name}' ({type(layer).__name__}) has {count} inbound nodes (it was called "
        f"on symbolic inputs {count} times), so its {what} is ambiguous. Expected a layer "
        f"called once, received: inbound_nodes={count}. Use the tensor each call returned."
    )


def _unpack(values: list[Any]) -> Any:
    return values[0] if len(values) == 1 else values
