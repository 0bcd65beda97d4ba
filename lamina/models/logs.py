"""The logs a train or test step returns, and the floats `fit` shows.

Keras's default step returns `{name: metric.result()}`. Here the default step returns
`MetricLogs`: the same mapping, but each result is computed when first read, so a step
whose logs nobody looks at costs no result kernels and no host sync. `fit` reads logs
only when the progress bar redraws, a batch callback asks, or an epoch ends.

    logs = model.train_step(data)      # MetricLogs: nothing computed yet
    float(logs["loss"])                # now: the loss tracker's result
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, MutableMapping
from typing import Any

import torch


class MetricLogs(MutableMapping):
    """`{metric.name: metric.result()}` of `model.metrics`, read on first access and kept.

    Entries set by a step (`logs["custom"] = value`) sit beside the metrics' own, as in
    Keras's `compute_metrics` override example. Nothing is looked up until then: making
    one costs a step no more than an object.
    """

    def __init__(self, model: Any) -> None:
        self._model = model
        self._values: dict[str, Any] | None = None
        self._extra: dict[str, Any] = {}

    @property
    def metrics_only(self) -> bool:
        """True when these logs hold exactly the metrics' results (nothing set by a step)."""
        return not self._extra

    def _read(self) -> dict[str, Any]:
        if self._values is None:
            self._values = {m.name: m.result() for m in self._model.metrics}
        return self._values

    def __getitem__(self, key: str) -> Any:
        if key in self._extra:
            return self._extra[key]
        return self._read()[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self._extra[key] = value

    def __delitem__(self, key: str) -> None:
        if key in self._extra:
            del self._extra[key]
        else:
            del self._read()[key]

    def __iter__(self) -> Iterator[str]:
        names = list(self._read()) if self._values is not None else self._model.metrics_names
        yield from names
        yield from (k for k in self._extra if k not in names)

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def __repr__(self) -> str:
        return f"MetricLogs({dict(self)!r})"


def as_floats(logs: Mapping[str, Any]) -> dict[str, Any]:
    """Logs for display and callbacks: one-element tensors and NumPy scalars as floats
    (the host sync happens here); other values as they are."""
    out: dict[str, Any] = {}
    for key, value in logs.items():
        if isinstance(value, torch.Tensor) and value.numel() == 1:
            value = float(value.detach().reshape(()).item())
        elif hasattr(value, "item") and getattr(value, "size", None) == 1:
            value = float(value.item())
        out[key] = value
    return out
