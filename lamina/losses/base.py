"""The `Loss` contract, `LossFunctionWrapper`, and the shared input and reduction rules.

A `Loss` maps `(y_true, y_pred)` to per-sample values with `call`, then weights and
reduces them to a scalar in `__call__`, as Keras does. Every Keras loss class is a
`LossFunctionWrapper` around a per-sample function; its options (`from_logits`,
`delta`...) are the function's keyword arguments, so `get_config` is the function's
options plus `name`, `reduction` and `dtype`, exactly the constructor's arguments.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from lamina import config, registry
from lamina.losses.validation import validate_targets

Tensor = torch.Tensor
REDUCTIONS = ("sum_over_batch_size", "sum", "none", None, "mean", "mean_with_sample_weight")
_FLOAT_DTYPES = ("bfloat16", "float16", "float32", "float64")


# ------------------------------------------------------------------ inputs


def _pred(y_pred: Any) -> Tensor:
    """y_pred as a float tensor; half precision is upcast so losses stay accurate."""
    y = torch.as_tensor(y_pred)
    if not y.is_floating_point():
        return y.to(config.torch_dtype(None))
    return y.float() if y.dtype in (torch.float16, torch.bfloat16) else y


def _same_rank(x1: Tensor, x2: Tensor, expand_rank_1: bool = True) -> tuple[Tensor, Tensor]:
    """Keras's rule: when ranks differ by one and the longer ends in 1, align them."""
    r1, r2 = x1.ndim, x2.ndim
    if r1 == r2 + 1 and x1.shape[-1] == 1:
        if r2 == 1 and expand_rank_1:
            x2 = x2.unsqueeze(-1)
        else:
            x1 = x1.squeeze(-1)
    elif r2 == r1 + 1 and x2.shape[-1] == 1:
        if r1 == 1 and expand_rank_1:
            x1 = x1.unsqueeze(-1)
        else:
            x2 = x2.squeeze(-1)
    return x1, x2


def _pair(y_true: Any, y_pred: Any) -> tuple[Tensor, Tensor]:
    """Float tensors of y_pred's dtype and device, aligned to the same rank."""
    y_pred = _pred(y_pred)
    y_true = torch.as_tensor(y_true, device=y_pred.device).to(y_pred.dtype)
    return _same_rank(y_true, y_pred)


def _labels(y_true: Any, y_pred: Tensor) -> Tensor:
    """Integer class labels shaped like y_pred without its class axis: (N,1) -> (N,)."""
    labels = torch.as_tensor(y_true, device=y_pred.device)
    if labels.ndim == y_pred.ndim and labels.shape[-1] == 1:
        labels = labels.squeeze(-1)
    return labels


def register_loss(*names: str) -> Callable[[Any], Any]:
    """Register a Loss class under its class name, its function's name and aliases."""
    return registry.register("loss", *names)


def register_function(*names: str) -> Callable[[Any], Any]:
    """Register a per-sample loss function (`compile(loss='mse')` with a metric, `fn=`)."""
    return registry.register("loss_function", *names)


# --------------------------------------------------------------- reduction


def _match_weight(weight: Tensor, values: Tensor) -> Tensor:
    """Per-sample weights (N,) or (N, 1) broadcastable against values (N, ...)."""
    while weight.ndim > values.ndim and weight.shape[-1] == 1:
        weight = weight.squeeze(-1)
    while 0 < weight.ndim < values.ndim:
        weight = weight.unsqueeze(-1)
    return weight


def reduce_values(
    values: Tensor,
    sample_weight: Any = None,
    mask: Tensor | None = None,
    reduction: str | None = "sum_over_batch_size",
) -> Tensor:
    """Weight per-sample losses and reduce them as Keras does.

    'sum_over_batch_size' (= 'mean'): sum(loss * w) / number of loss elements;
    'sum': sum(loss * w); 'mean_with_sample_weight': sum(loss * w) / sum(w);
    'none'/None: the weighted values. A mask (ignored classes) rescales so that
    the mean runs over the valid entries only.
    """
    weight = None
    if sample_weight is not None:
        weight = torch.as_tensor(sample_weight, dtype=values.dtype, device=values.device)
        weight = _match_weight(weight, values)
    if mask is not None:
        m = mask.to(values.dtype)
        if reduction in ("sum_over_batch_size", "mean"):
            valid = m.sum()
            m = m * torch.where(valid > 0, m.numel() / valid.clamp_min(1.0), 0.0)
        weight = m if weight is None else weight * m
    if weight is not None:
        values = values * weight
    if reduction in ("none", None) or values.ndim == 0:
        return values
    total = values.sum()
    if reduction == "sum":
        return total
    if reduction == "mean_with_sample_weight" and weight is not None:
        denom = weight.expand_as(values).sum()
        return torch.where(denom != 0, total / denom, torch.zeros_like(total))
    return total / max(values.numel(), 1)


# ----------------------------------------------------------------- classes


class Loss:
    """Base class: subclasses implement `call(y_true, y_pred) -> per-sample losses`.

    `dtype` (a float name) is the dtype the loss computes in; None keeps y_pred's
    float dtype (half precision upcast to float32). `_target_kind` drives `validate`:
    'same' (targets shaped like the output), 'binary' (same, values in [0, 1]),
    'categorical' (one-hot), 'sparse' (integer labels) or None (no checks).
    """

    _target_kind: str | None = None
    _fuses_with: str | None = None  # the activation whose logits variant exists

    def __init__(
        self,
        name: str | None = None,
        reduction: str | None = "sum_over_batch_size",
        dtype: str | None = None,
    ):
        self.name = name or type(self).__name__
        if reduction not in REDUCTIONS:
            raise ValueError(
                f"Loss '{self.name}' expected reduction in {list(REDUCTIONS)}, "
                f"received: reduction={reduction!r}"
            )
        self.reduction = reduction
        self.dtype = self._dtype_name(dtype)

    def _dtype_name(self, dtype: Any) -> str | None:
        if isinstance(dtype, torch.dtype):
            dtype = str(dtype).removeprefix("torch.")
        if dtype is not None and dtype not in _FLOAT_DTYPES:
            raise ValueError(
                f"Loss '{self.name}' expected dtype in {[None, *_FLOAT_DTYPES]}, "
                f"received: dtype={dtype!r}"
            )
        return dtype

    def call(self, y_true: Tensor, y_pred: Tensor) -> Tensor:
        raise NotImplementedError

    def _mask(self, y_true: Tensor, values: Tensor) -> Tensor | None:
        """Valid entries of `values`: with `ignore_class`, the mean runs over the others."""
        ignore = getattr(self, "ignore_class", None)
        return None if ignore is None else (y_true != ignore).reshape(values.shape)

    def __call__(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> Tensor:
        y_pred = _pred(y_pred)
        if self.dtype is not None:
            y_pred = y_pred.to(config.torch_dtype(self.dtype))
        if sample_weight is None and self.reduction == "sum_over_batch_size":
            fast = self._fused_mean(y_true, y_pred)
            if fast is not None:
                return fast
        y_true = torch.as_tensor(y_true, device=y_pred.device)
        if y_true.is_floating_point() and y_pred.is_floating_point():
            y_true = y_true.to(
                y_pred.dtype
            )  # Keras computes in the loss's dtype (float64 labels too)
        values = self.call(y_true, y_pred)
        return reduce_values(values, sample_weight, self._mask(y_true, values), self.reduction)

    def _fused_mean(self, y_true: Any, y_pred: Tensor) -> Tensor | None:
        """The batch mean in one fused kernel where that is exact (training's hot path)."""
        return None

    def get_config(self) -> dict[str, Any]:
        return {"name": self.name, "reduction": self.reduction, "dtype": self.dtype}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Loss:
        return cls(**config)

    def logits_variant(self, activation_name: str) -> Loss | None:
        """The same loss taking logits, when this loss fuses with `activation_name`.

        `BinaryCrossentropy()` fuses with 'sigmoid' and the categorical ones with
        'softmax'; None if the loss already takes logits or does not fuse.
        """
        if self._fuses_with is None or getattr(self, "from_logits", True):
            return None
        if str(activation_name).lower() != self._fuses_with:
            return None
        return type(self).from_config({**self.get_config(), "from_logits": True})

    def validate(self, y_true: Any, output_shape: tuple) -> None:
        """Check the whole target array against the model output, once, before training.

        Raises ValueError naming the loss and the fix for the usual mistakes:
        labels vs one-hot, class labels out of range, targets outside [0, 1], or
        shapes that do not match the output (with a Flatten() hint for images).
        """
        if self._target_kind is None:
            return
        ignore = getattr(self, "ignore_class", None) if self._target_kind == "sparse" else None
        validate_targets(self.name, self._target_kind, y_true, tuple(output_shape), ignore)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


@register_loss("LossFunctionWrapper")
class LossFunctionWrapper(Loss):
    """A Loss from a function `fn(y_true, y_pred, **kwargs) -> per-sample losses`.

    `fn` may be a registered function's name ('mean_squared_error'); the keyword
    arguments are the function's options and read back as attributes (`loss.delta`).
    """

    def __init__(
        self,
        fn: Callable[..., Tensor] | str,
        reduction: str | None = "sum_over_batch_size",
        name: str | None = None,
        dtype: str | None = None,
        **kwargs: Any,
    ):
        if isinstance(fn, str):
            fn = registry.get("loss_function", fn)
        name = name or getattr(fn, "__name__", "loss")
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.fn = fn
        self._fn_kwargs = kwargs

    def call(self, y_true: Tensor, y_pred: Tensor) -> Tensor:
        return self.fn(y_true, y_pred, **self._fn_kwargs)

    def get_config(self) -> dict[str, Any]:
        config = {**super().get_config(), **self._fn_kwargs}
        if type(self) is LossFunctionWrapper:
            config["fn"] = getattr(self.fn, "__name__", repr(self.fn))
        return config

    def __getattr__(self, item: str) -> Any:
        # Expose the function's options as attributes (loss.from_logits, loss.delta...).
        kwargs = self.__dict__.get("_fn_kwargs", {})
        if item in kwargs:
            return kwargs[item]
        raise AttributeError(item)
