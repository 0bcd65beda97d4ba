"""Loss functions by Keras name: per-sample functions and `Loss` classes.

A `Loss` maps `(y_true, y_pred)` to per-sample values with `call`, then weights
and reduces them to a scalar in `__call__`, as Keras does. Cross-entropies on
probabilities clip to [eps, 1 - eps]; `logits_variant` gives the equivalent loss
on logits, which the engine uses to fuse the final softmax/sigmoid (stable where
the probabilities saturate). `validate` catches the classic target mistakes once,
before training, with a message that says what to change.

    from lamina import losses
    loss = losses.get("sparse_categorical_crossentropy")
    loss(torch.tensor([2, 0]), torch.tensor([[0.1, 0.2, 0.7], [0.8, 0.1, 0.1]]))
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from lamina import config, registry

Tensor = torch.Tensor
_REDUCTIONS = ("sum_over_batch_size", "sum", "none", None, "mean", "mean_with_sample_weight")


# ---------------------------------------------------------------- helpers


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


def _register(*names: str) -> Callable[[Any], Any]:
    return registry.register("loss", *names)


def _register_fn(*names: str) -> Callable[[Any], Any]:
    return registry.register("loss_function", *names)


# ------------------------------------------------------ per-sample functions


@_register_fn("mean_squared_error", "mse")
def mean_squared_error(y_true: Any, y_pred: Any) -> Tensor:
    """mean((y_pred - y_true)**2, axis=-1)"""
    y_true, y_pred = _pair(y_true, y_pred)
    return (y_pred - y_true).square().mean(-1)


@_register_fn("mean_absolute_error", "mae")
def mean_absolute_error(y_true: Any, y_pred: Any) -> Tensor:
    """mean(|y_pred - y_true|, axis=-1)"""
    y_true, y_pred = _pair(y_true, y_pred)
    return (y_pred - y_true).abs().mean(-1)


@_register_fn("mean_absolute_percentage_error", "mape")
def mean_absolute_percentage_error(y_true: Any, y_pred: Any) -> Tensor:
    """100 * mean(|(y_true - y_pred) / max(|y_true|, eps)|, axis=-1)"""
    y_true, y_pred = _pair(y_true, y_pred)
    diff = (y_true - y_pred) / y_true.abs().clamp_min(config.epsilon())
    return 100.0 * diff.abs().mean(-1)


@_register_fn("mean_squared_logarithmic_error", "msle")
def mean_squared_logarithmic_error(y_true: Any, y_pred: Any) -> Tensor:
    """mean((log(max(y_pred, eps) + 1) - log(max(y_true, eps) + 1))**2, axis=-1)"""
    y_true, y_pred = _pair(y_true, y_pred)
    eps = config.epsilon()
    return (
        (torch.log1p(y_pred.clamp_min(eps)) - torch.log1p(y_true.clamp_min(eps))).square().mean(-1)
    )


@_register_fn("sum_squared_error", "sse")
def sum_squared_error(y_true: Any, y_pred: Any) -> Tensor:
    """The courses' SSE per sample: sum((y_pred - y_true)**2, axis=-1)."""
    y_true, y_pred = _pair(y_true, y_pred)
    return (y_pred - y_true).square().sum(-1)


@_register_fn("binary_crossentropy", "log_loss", "bce")
def binary_crossentropy(
    y_true: Any,
    y_pred: Any,
    from_logits: bool = False,
    label_smoothing: float = 0.0,
    axis: int = -1,
) -> Tensor:
    """mean(-(t log p + (1 - t) log(1 - p)), axis); label smoothing pulls t towards 0.5."""
    y_true, y_pred = _pair(y_true, y_pred)
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + 0.5 * label_smoothing
    if from_logits:
        bce = F.binary_cross_entropy_with_logits(y_pred, y_true, reduction="none")
    else:
        eps = config.epsilon()
        p = y_pred.clamp(eps, 1.0 - eps)
        bce = -(y_true * torch.log(p) + (1.0 - y_true) * torch.log1p(-p))
    return bce.mean(axis)


@_register_fn("categorical_crossentropy", "cce")
def categorical_crossentropy(
    y_true: Any,
    y_pred: Any,
    from_logits: bool = False,
    label_smoothing: float = 0.0,
    axis: int = -1,
) -> Tensor:
    """-sum(t * log p, axis) with p = y_pred / sum(y_pred) clipped to [eps, 1 - eps].

    Label smoothing mixes t with the uniform distribution: t (1 - ls) + ls / C.
    """
    y_true, y_pred = _pair(y_true, y_pred)
    if from_logits:
        # torch's label_smoothing is Keras's definition (checked in the tests).
        return F.cross_entropy(
            y_pred.movedim(axis, 1),
            y_true.movedim(axis, 1),
            reduction="none",
            label_smoothing=float(label_smoothing),
        )
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + label_smoothing / y_true.shape[axis]
    eps = config.epsilon()
    p = (y_pred / y_pred.sum(axis, keepdim=True)).clamp(eps, 1.0 - eps)
    return -(y_true * torch.log(p)).sum(axis)


def _labels(y_true: Any, y_pred: Tensor) -> Tensor:
    """Integer class labels shaped like y_pred without its class axis: (N,1) -> (N,)."""
    labels = torch.as_tensor(y_true, device=y_pred.device)
    if labels.ndim == y_pred.ndim and labels.shape[-1] == 1:
        labels = labels.squeeze(-1)
    return labels


@_register_fn("sparse_categorical_crossentropy", "scce")
def sparse_categorical_crossentropy(
    y_true: Any,
    y_pred: Any,
    from_logits: bool = False,
    ignore_class: int | None = None,
    axis: int = -1,
) -> Tensor:
    """-log p[label]: integer labels (N,) or (N, 1), float or int; ignore_class gives 0."""
    y_pred = _pred(y_pred)
    labels = _labels(y_true, y_pred)
    valid = None
    if ignore_class is not None:
        valid = labels != ignore_class
        labels = torch.where(valid, labels, torch.zeros_like(labels))
    labels = labels.long()
    if from_logits:
        res = F.cross_entropy(y_pred.movedim(axis, 1), labels, reduction="none")
    else:
        eps = config.epsilon()
        p = (y_pred / y_pred.sum(axis, keepdim=True)).clamp(eps, 1.0 - eps)
        res = -torch.log(p.gather(axis, labels.unsqueeze(axis))).squeeze(axis)
    return res if valid is None else torch.where(valid, res, torch.zeros_like(res))


def _hinge_targets(y_true: Tensor) -> Tensor:
    """0/1 labels become -1/+1 (decided on the whole batch, without a host sync)."""
    is_binary = ((y_true == 0) | (y_true == 1)).all()
    return torch.where(is_binary, 2.0 * y_true - 1.0, y_true)


@_register_fn("hinge")
def hinge(y_true: Any, y_pred: Any) -> Tensor:
    """mean(max(1 - y_true * y_pred, 0), axis=-1), labels -1/+1 (0/1 converted)."""
    y_true, y_pred = _pair(y_true, y_pred)
    return (1.0 - _hinge_targets(y_true) * y_pred).clamp_min(0.0).mean(-1)


@_register_fn("squared_hinge")
def squared_hinge(y_true: Any, y_pred: Any) -> Tensor:
    """mean(max(1 - y_true * y_pred, 0)**2, axis=-1)"""
    y_true, y_pred = _pair(y_true, y_pred)
    return (1.0 - _hinge_targets(y_true) * y_pred).clamp_min(0.0).square().mean(-1)


@_register_fn("categorical_hinge")
def categorical_hinge(y_true: Any, y_pred: Any) -> Tensor:
    """max(max((1 - t) * p) - sum(t * p) + 1, 0) per sample, t one-hot."""
    y_true, y_pred = _pair(y_true, y_pred)
    pos = (y_true * y_pred).sum(-1)
    neg = ((1.0 - y_true) * y_pred).amax(-1)
    return (neg - pos + 1.0).clamp_min(0.0)


@_register_fn("huber", "huber_loss")
def huber(y_true: Any, y_pred: Any, delta: float = 1.0) -> Tensor:
    """mean(0.5 e**2 if |e| <= delta else delta |e| - 0.5 delta**2, axis=-1)"""
    y_true, y_pred = _pair(y_true, y_pred)
    err = y_pred - y_true
    abs_err = err.abs()
    quad = 0.5 * err.square()
    lin = delta * abs_err - 0.5 * delta**2
    return torch.where(abs_err <= delta, quad, lin).mean(-1)


@_register_fn("log_cosh", "logcosh")
def log_cosh(y_true: Any, y_pred: Any) -> Tensor:
    """mean(log(cosh(y_pred - y_true)), axis=-1), computed without overflow."""
    y_true, y_pred = _pair(y_true, y_pred)
    x = y_pred - y_true
    return (x + F.softplus(-2.0 * x) - math.log(2.0)).mean(-1)


@_register_fn("kl_divergence", "kld", "kullback_leibler_divergence")
def kl_divergence(y_true: Any, y_pred: Any) -> Tensor:
    """sum(t log(t / p), axis=-1), both clipped to [eps, 1]."""
    y_true, y_pred = _pair(y_true, y_pred)
    eps = config.epsilon()
    t, p = y_true.clamp(eps, 1.0), y_pred.clamp(eps, 1.0)
    return (t * torch.log(t / p)).sum(-1)


@_register_fn("poisson")
def poisson(y_true: Any, y_pred: Any) -> Tensor:
    """mean(y_pred - y_true * log(y_pred + eps), axis=-1)"""
    y_true, y_pred = _pair(y_true, y_pred)
    return (y_pred - y_true * torch.log(y_pred + config.epsilon())).mean(-1)


@_register_fn("cosine_similarity")
def cosine_similarity(y_true: Any, y_pred: Any, axis: int = -1) -> Tensor:
    """-sum(l2_normalize(y_true) * l2_normalize(y_pred), axis): -1 is best."""
    y_true, y_pred = _pair(y_true, y_pred)
    eps = config.epsilon()
    t = F.normalize(y_true, dim=axis, eps=eps)
    p = F.normalize(y_pred, dim=axis, eps=eps)
    return -(t * p).sum(axis)


# ------------------------------------------------------------- reduction


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


# ---------------------------------------------------------------- classes


class Loss:
    """Base class: subclasses implement `call(y_true, y_pred) -> per-sample losses`.

    `_target_kind` drives `validate`: 'same' (targets shaped like the output),
    'binary' (same, values in [0, 1]), 'categorical' (one-hot), 'sparse'
    (integer labels) or None (custom losses: no checks).
    """

    _target_kind: str | None = None
    _fuses_with: str | None = None  # the activation whose logits variant exists

    def __init__(self, reduction: str | None = "sum_over_batch_size", name: str | None = None):
        if reduction not in _REDUCTIONS:
            raise ValueError(
                f"Loss '{name or type(self).__name__}' expected reduction in "
                f"{list(_REDUCTIONS)}, received: reduction={reduction!r}"
            )
        self.reduction = reduction
        self.name = name or type(self).__name__

    def call(self, y_true: Tensor, y_pred: Tensor) -> Tensor:
        raise NotImplementedError

    def _mask(self, y_true: Tensor, values: Tensor) -> Tensor | None:
        """Valid entries of `values`: with `ignore_class`, the mean runs over the others."""
        ignore = getattr(self, "ignore_class", None)
        return None if ignore is None else (y_true != ignore).reshape(values.shape)

    def __call__(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> Tensor:
        if sample_weight is None and self.reduction == "sum_over_batch_size":
            fast = self._fused_mean(y_true, y_pred)
            if fast is not None:
                return fast
        y_pred = _pred(y_pred)
        y_true = torch.as_tensor(y_true, device=y_pred.device)
        values = self.call(y_true, y_pred)
        return reduce_values(values, sample_weight, self._mask(y_true, values), self.reduction)

    def _fused_mean(self, y_true: Any, y_pred: Any) -> Tensor | None:
        """The batch mean in one fused kernel where that is exact (training's hot path)."""
        return None

    def get_config(self) -> dict[str, Any]:
        return {"reduction": self.reduction, "name": self.name}

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
        _validate_targets(self, y_true, tuple(output_shape))

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


@_register("LossFunctionWrapper")
class LossFunctionWrapper(Loss):
    """A Loss from a function `fn(y_true, y_pred, **kwargs) -> per-sample losses`."""

    _target_kind = None

    def __init__(
        self,
        fn: Callable[..., Tensor],
        reduction: str | None = "sum_over_batch_size",
        name: str | None = None,
        **kwargs: Any,
    ):
        if isinstance(fn, str):
            fn = registry.get("loss_function", fn)
        super().__init__(reduction=reduction, name=name or getattr(fn, "__name__", "loss"))
        self.fn = fn
        self._fn_kwargs = kwargs

    def call(self, y_true: Tensor, y_pred: Tensor) -> Tensor:
        return self.fn(y_true, y_pred, **self._fn_kwargs)

    def _fused_mean(self, y_true: Any, y_pred: Any) -> Tensor | None:
        kw = self._fn_kwargs
        if not (
            kw.get("from_logits")
            and isinstance(y_true, Tensor)
            and isinstance(y_pred, Tensor)
            and y_pred.ndim == 2
            and kw.get("axis", -1) in (-1, 1)
        ):
            return None
        if (
            self.fn is categorical_crossentropy
            and not kw.get("label_smoothing")
            and y_true.shape == y_pred.shape
            and y_true.dtype == y_pred.dtype
        ):
            return F.cross_entropy(y_pred, y_true)
        if (
            self.fn is sparse_categorical_crossentropy
            and kw.get("ignore_class") is None
            and y_true.ndim == 1
            and not y_true.is_floating_point()
        ):
            return F.cross_entropy(y_pred, y_true.long())
        return None

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


def _define(
    class_name: str,
    fn: Callable[..., Tensor],
    *aliases: str,
    kind: str,
    fuses: str | None = None,
    default_name: str | None = None,
    **defaults: Any,
) -> type:
    """Define and register a Keras loss class around a per-sample function.

    The constructor takes Keras's arguments in Keras's order: the function's
    options (`from_logits`, `delta`...), then `reduction` and `name`.
    """
    order = [*defaults, "reduction", "name"]
    base = {**defaults, "reduction": "sum_over_batch_size", "name": default_name or fn.__name__}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if len(args) > len(order):
            raise TypeError(f"{class_name} takes at most {len(order)} arguments: {order}")
        unknown = set(kwargs) - set(order)
        if unknown:
            raise TypeError(
                f"Loss '{class_name}' expected arguments among {order}, received: {sorted(unknown)}"
            )
        bound = {**base, **dict(zip(order, args)), **kwargs}
        reduction, name = bound.pop("reduction"), bound.pop("name")
        LossFunctionWrapper.__init__(self, fn, reduction=reduction, name=name, **bound)

    kw = inspect.Parameter.POSITIONAL_OR_KEYWORD
    __init__.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [inspect.Parameter("self", kw)] + [inspect.Parameter(k, kw, default=base[k]) for k in order]
    )
    attrs = {
        "__init__": __init__,
        "_target_kind": kind,
        "_fuses_with": fuses,
        "__module__": __name__,
    }
    attrs["__doc__"] = f"Keras's `{class_name}`: {fn.__doc__}"
    cls = type(class_name, (LossFunctionWrapper,), attrs)
    return _register(class_name, fn.__name__, *aliases)(cls)


MeanSquaredError = _define("MeanSquaredError", mean_squared_error, "mse", kind="same")
MeanAbsoluteError = _define("MeanAbsoluteError", mean_absolute_error, "mae", kind="same")
MeanAbsolutePercentageError = _define(
    "MeanAbsolutePercentageError", mean_absolute_percentage_error, "mape", kind="same"
)
MeanSquaredLogarithmicError = _define(
    "MeanSquaredLogarithmicError", mean_squared_logarithmic_error, "msle", kind="same"
)
SumSquaredError = _define("SumSquaredError", sum_squared_error, "sse", kind="same")
BinaryCrossentropy = _define(
    "BinaryCrossentropy",
    binary_crossentropy,
    "log_loss",
    "bce",
    kind="binary",
    fuses="sigmoid",
    from_logits=False,
    label_smoothing=0.0,
    axis=-1,
)
CategoricalCrossentropy = _define(
    "CategoricalCrossentropy",
    categorical_crossentropy,
    "cce",
    kind="categorical",
    fuses="softmax",
    from_logits=False,
    label_smoothing=0.0,
    axis=-1,
)
Hinge = _define("Hinge", hinge, kind="same")
SquaredHinge = _define("SquaredHinge", squared_hinge, kind="same")
CategoricalHinge = _define("CategoricalHinge", categorical_hinge, kind="same")
Huber = _define("Huber", huber, "huber_loss", kind="same", default_name="huber_loss", delta=1.0)
LogCosh = _define("LogCosh", log_cosh, "logcosh", kind="same")
KLDivergence = _define(
    "KLDivergence", kl_divergence, "kld", "kullback_leibler_divergence", kind="same"
)
Poisson = _define("Poisson", poisson, kind="same")
CosineSimilarity = _define("CosineSimilarity", cosine_similarity, kind="same", axis=-1)


SparseCategoricalCrossentropy = _define(
    "SparseCategoricalCrossentropy",
    sparse_categorical_crossentropy,
    "scce",
    kind="sparse",
    fuses="softmax",
    from_logits=False,
    ignore_class=None,
)


# ------------------------------------------------------------- validation


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


def _shape_str(dims: tuple) -> str:
    return "(" + ", ".join(["N", *map(str, dims)]) + (",)" if not dims else ")")


def _matches(shape: tuple, expected: tuple) -> bool:
    """Shapes without batch dims, `None` in `expected` matching anything."""
    return len(shape) == len(expected) and all(e is None or s == e for s, e in zip(shape, expected))


def _validate_targets(loss: Loss, y_true: Any, out: tuple) -> None:
    name, kind = loss.name, loss._target_kind
    try:
        y = y_true if torch.is_tensor(y_true) else torch.as_tensor(np.asarray(y_true))
    except (TypeError, ValueError, RuntimeError) as err:
        raise ValueError(
            f"Loss '{name}' expected numeric targets, received: y_true of type "
            f"{type(y_true).__name__} ({err})"
        ) from None
    shape, feat, n_cls = tuple(y.shape), tuple(out[1:]), out[-1] if len(out) >= 2 else None
    got = f"received: y_true.shape={shape}"
    labels_like = _matches(shape[1:], feat[:-1]) or _matches(shape[1:], (*feat[:-1], 1))
    hint = ""
    if len(out) >= 3 and len(shape) < len(out) - (kind == "sparse"):
        hint = (
            f" The model output {out} has {len(feat)} non-batch dimensions: if Dense layers got "
            "images or sequences, add a Flatten() layer before the Dense layers."
        )
    if kind == "sparse":
        if n_cls is not None and n_cls > 1 and _matches(shape[1:], feat):
            raise ValueError(
                f"Loss '{name}' expected integer class labels of shape {_shape_str(feat[:-1])} or "
                f"{_shape_str((*feat[:-1], 1))}, {got}. These look one-hot encoded: use "
                "loss='categorical_crossentropy', or pass the labels y.argmax(axis=-1)."
            )
        if not labels_like:
            raise ValueError(
                f"Loss '{name}' expected integer class labels of shape {_shape_str(feat[:-1])} "
                f"for the model output {out}, {got}.{hint}"
            )
    else:
        multi = n_cls is not None and n_cls > 1
        if kind == "categorical" and multi and labels_like:
            raise ValueError(
                f"Loss '{name}' expected one-hot targets of shape {_shape_str(feat)} matching the "
                f"model output {out}, {got}. These look like integer class labels: use "
                "loss='sparse_categorical_crossentropy', or one-hot encode with "
                f"lamina.utils.to_categorical(y, {n_cls})."
            )
        aligned = shape[1:]
        if len(shape) == len(out) - 1 and n_cls == 1:
            aligned = (*aligned, 1)
        elif len(shape) == len(out) + 1 and shape[-1] == 1:
            aligned = aligned[:-1]
        if not _matches(aligned, feat):
            if multi and labels_like and not hint:
                hint = (
                    " If these are class labels, one-hot encode them with "
                    f"lamina.utils.to_categorical(y, {n_cls}) or use a softmax output with "
                    "loss='sparse_categorical_crossentropy'."
                )
            raise ValueError(
                f"Loss '{name}' expected targets of shape {_shape_str(feat)} matching the model "
                f"output {out} (last dimension {n_cls}), {got}.{hint}"
            )
    if kind in ("categorical", "sparse") and n_cls == 1:
        raise ValueError(
            f"Loss '{name}' expected a model output with one unit per class, received: "
            f"output_shape={out}. For two classes with one sigmoid unit use loss="
            "'binary_crossentropy'; otherwise end with Dense(num_classes, activation='softmax')."
        )
    ignore = getattr(loss, "ignore_class", None) if kind == "sparse" else None
    if ignore is not None:
        y = y[y != ignore]
    if y.numel() == 0:
        return
    lo_t, hi_t = torch.aminmax(y.to(torch.uint8) if y.dtype == torch.bool else y)  # one pass
    lo, hi = float(lo_t), float(hi_t)
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise ValueError(
            f"Loss '{name}' expected finite targets, received: y_true min={lo}, max={hi} "
            "(the targets contain NaN or inf: clean or impute them first)."
        )
    if kind == "sparse" and n_cls is not None and (lo < 0 or hi >= n_cls):
        hint = f" The last layer needs one unit per class (at least {int(hi) + 1} units)."
        if lo < 0:
            hint = " Mark unlabelled entries with ignore_class=<value>, or drop them."
        elif lo >= 1 and hi == n_cls:
            hint = " The labels look 1-based: subtract 1 so they run from 0 to C-1."
        raise ValueError(
            f"Loss '{name}' expected class labels in [0, {n_cls}), received: "
            f"min={_fmt(lo)}, max={_fmt(hi)}, C={n_cls}.{hint}"
        )
    if kind in ("binary", "categorical") and (lo < 0 or hi > 1):
        hint = ""
        if lo == -1 and hi == 1:
            hint = " Labels -1/+1 belong to hinge losses: use (y + 1) / 2 for cross-entropy."
        elif kind == "binary" and hi > 1:
            hint = " For more than two classes use a softmax output with sparse_categorical_crossentropy."
        raise ValueError(
            f"Loss '{name}' expected targets in [0, 1], received: y_true min={_fmt(lo)}, "
            f"max={_fmt(hi)}.{hint}"
        )


# ------------------------------------------------------------- resolution


def get(identifier: Any) -> Loss | None:
    """Resolve a name, a Loss, a {'class_name', 'config'} dict or a function to a Loss."""
    if identifier is None or isinstance(identifier, Loss):
        return identifier
    if isinstance(identifier, str):
        return registry.get("loss", identifier)()
    if isinstance(identifier, dict):
        cls = registry.get("loss", identifier["class_name"])
        return cls.from_config(dict(identifier.get("config", {})))
    if isinstance(identifier, type) and issubclass(identifier, Loss):
        return identifier()
    if callable(identifier):
        return LossFunctionWrapper(identifier, name=getattr(identifier, "__name__", None))
    raise TypeError(
        "Expected a loss name, a Loss, a config dict or a function, received: "
        f"loss={identifier!r} (type {type(identifier).__name__})"
    )


def serialize(loss: Loss) -> dict[str, Any]:
    """{'class_name', 'config'} that `get` turns back into an equal loss."""
    return {"class_name": type(loss).__name__, "config": loss.get_config()}
