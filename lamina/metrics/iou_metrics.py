"""Intersection-over-union metrics from a running confusion matrix: IoU, BinaryIoU,
MeanIoU, OneHotIoU and OneHotMeanIoU (Keras's definitions).

The state is a (num_classes, num_classes) matrix of weighted counts (rows true class,
columns predicted class), so the states of several ranks add up. As in Keras the
matrix counts in int32 by default, so float sample weights are truncated to integers;
pass dtype='float32' to count fractional weights. Labels or predictions outside
[0, num_classes), and `ignore_class`, are left out.
"""

from __future__ import annotations

from typing import Any

import torch

from lamina import config
from lamina.metrics.base import Metric, Tensor, _register, _tensor

_INT_DTYPES = {"int": torch.int32, "int32": torch.int32, "int64": torch.int64}


class _ConfusionMatrixMetric(Metric):
    """The shared state and update of the IoU family."""

    def __init__(
        self,
        num_classes: int,
        name: str | None = None,
        dtype: Any = None,
        ignore_class: int | None = None,
        sparse_y_true: bool = True,
        sparse_y_pred: bool = True,
        axis: int = -1,
    ):
        counts_in_int = dtype is None or dtype in _INT_DTYPES or dtype in _INT_DTYPES.values()
        super().__init__(name=name, dtype=None if counts_in_int else dtype)
        self._dtype_arg = dtype if not isinstance(dtype, torch.dtype) else str(dtype)[6:]
        if counts_in_int:
            self.dtype = torch.int32 if dtype is None else _INT_DTYPES.get(dtype, dtype)
        self.num_classes = int(num_classes)
        self.ignore_class = ignore_class
        self.sparse_y_true, self.sparse_y_pred, self.axis = sparse_y_true, sparse_y_pred, axis
        self.add_state("total_cm", (self.num_classes, self.num_classes))

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        y_pred = _tensor(y_pred)
        self._follow(y_pred)
        y_true = _tensor(y_true, y_pred.device)
        if not self.sparse_y_true:
            y_true = y_true.argmax(self.axis)
        if not self.sparse_y_pred:
            y_pred = y_pred.argmax(self.axis)
        y_true, y_pred = y_true.to(self.dtype).reshape(-1), y_pred.to(self.dtype).reshape(-1)
        if sample_weight is None:
            weight = torch.ones_like(y_true)
        else:
            weight = _tensor(sample_weight, y_pred.device).to(self.dtype)
            weight = (weight.reshape(-1) if weight.ndim > 1 else weight).broadcast_to(y_true.shape)
        valid = (y_true >= 0) & (y_true < self.num_classes) & (y_pred >= 0)
        valid &= y_pred < self.num_classes
        if self.ignore_class is not None:
            valid &= y_true != self.ignore_class
        index = torch.where(valid, y_true.long() * self.num_classes + y_pred.long(), 0)
        weight = torch.where(valid, weight, torch.zeros_like(weight))
        flat = torch.zeros(self.num_classes**2, dtype=self.dtype, device=y_pred.device)
        self._add("total_cm", flat.index_add(0, index, weight).reshape(self.total_cm.shape))

    def _iou(self, target_class_ids: list[int]) -> Tensor:
        """Mean IoU of the target classes over those that occur (Keras's epsilon included)."""
        cm = self.total_cm.to(torch.float32)
        tp = cm.diagonal()
        denominator = cm.sum(0) + cm.sum(1) - tp
        ids = torch.tensor(target_class_ids, dtype=torch.long, device=cm.device)
        tp, denominator = tp[ids], denominator[ids]
        valid = denominator > 1e-9
        eps = config.epsilon()
        iou = torch.where(valid, tp / (denominator + eps), torch.zeros_like(tp))
        return iou.sum() / (valid.to(torch.float32).sum() + eps)


@_register("IoU", "iou")
class IoU(_ConfusionMatrixMetric):
    """Mean of tp / (tp + fp + fn) over `target_class_ids`, from integer labels and
    predictions (or one-hot/scores with `sparse_y_true`/`sparse_y_pred` False)."""

    def __init__(
        self,
        num_classes: int,
        target_class_ids: list[int] | tuple[int, ...],
        name: str | None = None,
        dtype: Any = None,
        ignore_class: int | None = None,
        sparse_y_true: bool = True,
        sparse_y_pred: bool = True,
        axis: int = -1,
    ):
        super().__init__(num_classes, name, dtype, ignore_class, sparse_y_true, sparse_y_pred, axis)
        if max(target_class_ids) >= num_classes:
            raise ValueError(
                f"Metric '{self.name}' expected target_class_ids in [0, {num_classes}), "
                f"received: target_class_ids={list(target_class_ids)}"
            )
        self.target_class_ids = list(target_class_ids)

    def result(self) -> Tensor:
        return self._iou(self.target_class_ids)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "num_classes": self.num_classes,
            "target_class_ids": self.target_class_ids,
            "ignore_class": self.ignore_class,
            "sparse_y_true": self.sparse_y_true,
            "sparse_y_pred": self.sparse_y_pred,
            "axis": self.axis,
        }


@_register("BinaryIoU", "binary_iou")
class BinaryIoU(IoU):
    """IoU of two classes: predictions >= `threshold` are class 1, the others class 0."""

    def __init__(
        self,
        target_class_ids: list[int] | tuple[int, ...] = (0, 1),
        threshold: float = 0.5,
        name: str | None = None,
        dtype: Any = None,
    ):
        super().__init__(num_classes=2, target_class_ids=target_class_ids, name=name, dtype=dtype)
        self.threshold = threshold

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        y_pred = _tensor(y_pred).to(torch.float32)
        super().update_state(y_true, (y_pred >= self.threshold).to(self.dtype), sample_weight)

    def get_config(self) -> dict[str, Any]:
        return {
            "target_class_ids": self.target_class_ids,
            "threshold": self.threshold,
            "name": self.name,
            "dtype": self._dtype_arg,
        }


@_register("MeanIoU", "mean_iou")
class MeanIoU(IoU):
    """IoU averaged over every class that occurs."""

    def __init__(
        self,
        num_classes: int,
        name: str | None = None,
        dtype: Any = None,
        ignore_class: int | None = None,
        sparse_y_true: bool = True,
        sparse_y_pred: bool = True,
        axis: int = -1,
    ):
        super().__init__(
            num_classes,
            list(range(num_classes)),
            name,
            dtype,
            ignore_class,
            sparse_y_true,
            sparse_y_pred,
            axis,
        )

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        del config["target_class_ids"]
        return config


@_register("OneHotIoU", "one_hot_iou")
class OneHotIoU(IoU):
    """IoU of one-hot labels (argmax over `axis`) and scores or integer predictions."""

    def __init__(
        self,
        num_classes: int,
        target_class_ids: list[int] | tuple[int, ...],
        name: str | None = None,
        dtype: Any = None,
        ignore_class: int | None = None,
        sparse_y_pred: bool = False,
        axis: int = -1,
    ):
        super().__init__(
            num_classes, target_class_ids, name, dtype, ignore_class, False, sparse_y_pred, axis
        )

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        del config["sparse_y_true"]
        return config


@_register("OneHotMeanIoU", "one_hot_mean_iou")
class OneHotMeanIoU(MeanIoU):
    """Mean IoU of one-hot labels (argmax over `axis`) and scores or integer predictions."""

    def __init__(
        self,
        num_classes: int,
        name: str | None = None,
        dtype: Any = None,
        ignore_class: int | None = None,
        sparse_y_pred: bool = False,
        axis: int = -1,
    ):
        super().__init__(num_classes, name, dtype, ignore_class, False, sparse_y_pred, axis)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        del config["sparse_y_true"]
        return config
