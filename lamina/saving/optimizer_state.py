"""An optimizer's state as flat tensors plus JSON, and back: no pickle, any reader.

`Optimizer.state_dict()` nests torch's state (`{"state": {i: {"exp_avg": ...}},
"param_groups": [...]}`), the step count, the rate and the moving averages. Tensors go
to a safetensors file under names like `"state/3/exp_avg"` and `"ema/0"`; everything
else is JSON. Reading checks every name and type, so a hostile file gets an error.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import torch

from lamina.saving.errors import FileFormatError

FORMAT = 1


def optimizer_payload(optimizer: Any) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """(tensors, meta): the optimizer's whole state, ready for safetensors and JSON."""
    state = optimizer.state_dict()
    tensors: dict[str, torch.Tensor] = {}
    meta: dict[str, Any] = {
        "format": FORMAT,
        "iterations": int(state.get("iterations", 0)),
        "learning_rate": state.get("learning_rate"),
        "torch": None,
        "ema_count": None,
    }
    torch_state = state.get("torch")
    if torch_state is not None:
        scalars: dict[str, dict[str, Any]] = {}
        for index, slots in torch_state.get("state", {}).items():
            for key, value in slots.items():
                if isinstance(value, torch.Tensor):
                    tensors[f"state/{int(index)}/{key}"] = _copy(value)
                else:
                    scalars.setdefault(str(int(index)), {})[key] = _json_number(value)
        meta["torch"] = {
            "param_groups": [_json_group(g) for g in torch_state.get("param_groups", [])],
            "scalars": scalars,
        }
    ema = state.get("ema")
    if ema is not None:
        for i, average in enumerate(ema["averages"]):
            tensors[f"ema/{i}"] = _copy(average)
        meta["ema_count"] = int(ema["count"])
    return tensors, meta


def restore_optimizer(
    optimizer: Any, tensors: Mapping[str, torch.Tensor], meta: Any, source: str = "the file"
) -> None:
    """Load what `optimizer_payload` wrote into `optimizer` (built or not yet built)."""
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise FileFormatError(
            f"Expected optimizer state of format {FORMAT} in {source}, received: {_describe(meta)}"
        )
    iterations = meta.get("iterations")
    if isinstance(iterations, bool) or not isinstance(iterations, int) or iterations < 0:
        raise FileFormatError(
            f"Expected a non-negative integer iteration count in {source}, received: "
            f"iterations={iterations!r}"
        )
    rate = meta.get("learning_rate")
    if rate is not None and (isinstance(rate, bool) or not isinstance(rate, (int, float))):
        raise FileFormatError(
            f"Expected a number or null learning rate in {source}, received: learning_rate={rate!r}"
        )
    state: dict[str, Any] = {"iterations": iterations, "learning_rate": rate}
    torch_meta = meta.get("torch")
    if torch_meta is not None:
        state["torch"] = _torch_state(torch_meta, tensors, source)
    elif any(k.startswith("state/") for k in tensors):
        raise FileFormatError(f"Expected no optimizer slot tensors in {source}, received some")
    if meta.get("ema_count") is not None:
        averages = []
        i = 0
        while f"ema/{i}" in tensors:
            averages.append(tensors[f"ema/{i}"])
            i += 1
        state["ema"] = {"averages": averages, "count": _int(meta["ema_count"], "ema_count", source)}
    try:
        optimizer.load_state_dict(state)
    except (ValueError, KeyError, TypeError, RuntimeError) as err:
        raise FileFormatError(
            f"Optimizer '{optimizer.name}' expected state for its own variables, received: "
            f"state in {source} that does not fit ({err})"
        ) from err


def _torch_state(meta: Any, tensors: Mapping[str, torch.Tensor], source: str) -> dict[str, Any]:
    if not isinstance(meta, dict) or not isinstance(meta.get("param_groups"), list):
        raise FileFormatError(
            f"Expected torch optimizer state with a 'param_groups' list in {source}, received: "
            f"{_describe(meta)}"
        )
    groups = []
    for group in meta["param_groups"]:
        if not isinstance(group, dict) or not isinstance(group.get("params"), list):
            raise FileFormatError(
                f"Expected each param group to be an object with a 'params' list in {source}, "
                f"received: {_describe(group)}"
            )
        restored = dict(group)
        restored["params"] = [_int(p, "params", source) for p in group["params"]]
        for key, value in group.items():
            if key == "betas" and isinstance(value, list):
                restored[key] = tuple(value)
        groups.append(restored)
    slots: dict[int, dict[str, Any]] = {}
    for name, value in tensors.items():
        parts = name.split("/")
        if parts[0] != "state":
            continue
        if len(parts) != 3 or not parts[1].isdigit():
            raise FileFormatError(
                f"Expected optimizer tensors named 'state/<index>/<slot>' in {source}, "
                f"received: {name!r}"
            )
        slots.setdefault(int(parts[1]), {})[parts[2]] = value
    scalars = meta.get("scalars") or {}
    if not isinstance(scalars, dict):
        raise FileFormatError(f"Expected an object of scalars in {source}, received: {scalars!r}")
    for index, values in scalars.items():
        if not str(index).isdigit() or not isinstance(values, dict):
            raise FileFormatError(
                f"Expected scalar slots keyed by parameter index in {source}, received: {index!r}"
            )
        slots.setdefault(int(index), {}).update(values)
    return {"state": slots, "param_groups": groups}


def _copy(value: torch.Tensor) -> torch.Tensor:
    return value.detach().to("cpu", copy=True).contiguous()


def _json_number(value: Any) -> Any:
    if isinstance(value, (bool, int, str)) or value is None:
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else repr(value)
    raise TypeError(f"Expected tensors or numbers in optimizer state, received: {value!r}")


def _json_group(group: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in group.items():
        if isinstance(value, tuple):
            value = list(value)
        if isinstance(value, torch.Tensor):
            value = value.item() if value.numel() == 1 else value.tolist()
        if callable(value):
            continue
        out[key] = value
    return out


def _int(value: Any, what: str, source: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise FileFormatError(
            f"Expected a non-negative integer {what} in {source}, received: {what}={value!r}"
        )
    return value


def _describe(value: Any) -> str:
    text = repr(value)
    return text if len(text) < 120 else text[:117] + "..."
