"""The whole state of a fit in progress, written so that training resumes exactly.

`BackupAndRestore` writes it every epoch or every N batches and reads it when a fit
starts again: the weights, the optimizer (slots, iteration count, rate), the metrics'
running sums, the position (epoch, step) and the shuffle order of the current epoch,
the random states (torch's global CPU and CUDA generators, seeded layers' own
generators, NumPy's and Python's global ones) and the callbacks' states.

A backup is a folder `backup_dir/state-<n>/` holding `tensors.safetensors` and
`state.json` (no pickle); `backup_dir/checkpoint.json` names the current one. A save
writes a new folder under a temporary name, renames it, then replaces the pointer
atomically, and only then deletes older folders: a crash at any moment leaves a
loadable backup. `keep_previous=True` keeps the one before as well, and loading falls
back to it when the latest is damaged.

Callback states are JSON objects whose values may also hold tensors or NumPy arrays
(EarlyStopping's best weights): those go to the safetensors file and come back as
CPU torch tensors.
"""

from __future__ import annotations

import json
import math
import os
import random
import re
import secrets
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from lamina.io_utils import atomic_write
from lamina.saving.errors import FileFormatError
from lamina.saving.optimizer_state import optimizer_payload, restore_optimizer
from lamina.saving.weight_names import assign_weights, weight_tensors

FORMAT = 1
POINTER = "checkpoint.json"
TENSORS = "tensors.safetensors"
STATE = "state.json"
_NAME = re.compile(r"state-[0-9]{6,}")
_TMP = re.compile(r"\.state-[0-9]{6,}\.[0-9a-f]+\.tmp")


@dataclass
class TrainingState:
    """Where a fit stands: the next batch is `step` of epoch `epoch` (both from 0).

    `order` is that epoch's shuffle permutation (None at an epoch's start or without
    shuffling); `callbacks` maps a callback's key to its `_backup_state()`.
    """

    epoch: int
    step: int = 0
    order: torch.Tensor | None = None
    callbacks: dict[str, Any] = field(default_factory=dict)


# ------------------------------------------------------------------------ writing
def save_training_state(
    backup_dir: str | os.PathLike, model: Any, state: TrainingState, keep_previous: bool = False
) -> Path:
    """Write `state` and the model's training state as the new backup; returns its folder."""
    root = Path(backup_dir)
    root.mkdir(parents=True, exist_ok=True)
    pointer = _read_pointer(root)
    number = pointer["number"] + 1 if pointer else 0
    tensors, meta = _payload(model, state)
    name = f"state-{number:06d}"
    tmp = root / f".{name}.{secrets.token_hex(4)}.tmp"
    tmp.mkdir()
    try:
        save_file(tensors, str(tmp / TENSORS))
        with open(tmp / STATE, "w", encoding="utf-8") as f:
            json.dump(meta, f, allow_nan=False)
        for member in (TENSORS, STATE):
            _fsync(tmp / member)
        os.replace(tmp, root / name)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    previous = pointer["latest"] if pointer and keep_previous else None
    record = {"format": FORMAT, "number": number, "latest": name, "previous": previous}
    with atomic_write(root / POINTER, fsync=True) as f:
        f.write(json.dumps(record).encode("utf-8"))
    for old in root.iterdir():  # older backups and leftovers of interrupted saves
        if old.is_dir() and old.name not in (name, previous) and _ours(old.name):
            shutil.rmtree(old, ignore_errors=True)
    return root / name


def delete_training_state(backup_dir: str | os.PathLike) -> None:
    """Remove every backup in `backup_dir` (and the folder when nothing else is in it)."""
    root = Path(backup_dir)
    if not root.is_dir():
        return
    (root / POINTER).unlink(missing_ok=True)
    for old in root.iterdir():
        if old.is_dir() and _ours(old.name):
            shutil.rmtree(old, ignore_errors=True)
    try:
        root.rmdir()
    except OSError:
        pass  # the user's other files stay


def _payload(model: Any, state: TrainingState) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    weights = weight_tensors(model)
    tensors = {f"weights/{k}": v for k, v in weights.items()}
    meta: dict[str, Any] = {"format": FORMAT, "epoch": int(state.epoch), "step": int(state.step)}
    meta["weights"] = list(weights)  # the model's order (safetensors sorts its names)
    optimizer = getattr(model, "optimizer", None)
    meta["optimizer"] = None
    if optimizer is not None and hasattr(optimizer, "state_dict"):
        opt_tensors, meta["optimizer"] = optimizer_payload(optimizer)
        tensors.update({f"optimizer/{k}": v for k, v in opt_tensors.items()})
    for i, metric in enumerate(getattr(model, "metrics", None) or []):
        for j, t in enumerate(_metric_states(metric)):
            tensors[f"metrics/{i}/{j}"] = _cpu(t)
    if state.order is not None:
        tensors["order"] = _cpu(state.order)
    rng_tensors, meta["rng"] = capture_rng(model)
    tensors.update(rng_tensors)
    meta["callbacks"] = {
        key: _encode(value, f"callbacks/{key}", tensors) for key, value in state.callbacks.items()
    }
    return tensors, meta


def capture_rng(model: Any = None) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Every random state a step may draw from, as tensors plus JSON."""
    tensors = {"rng/torch": torch.get_rng_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        for i, s in enumerate(torch.cuda.get_rng_state_all()):
            tensors[f"rng/cuda/{i}"] = s
    if model is not None:
        for path, gen in _layer_generators(model).items():
            tensors[f"rng/layer/{path}"] = gen.get_state()
    np_state = np.random.get_state(legacy=False)
    meta = {
        "numpy": {
            "bit_generator": np_state["bit_generator"],
            "key": [int(k) for k in np_state["state"]["key"]],
            "pos": int(np_state["state"]["pos"]),
            "has_gauss": int(np_state["has_gauss"]),
            "gauss": float(np_state["gauss"]),
        },
        "python": _python_state(random.getstate()),
    }
    return tensors, meta


def _python_state(state: tuple) -> list[Any]:
    version, internal, gauss = state
    return [int(version), [int(v) for v in internal], gauss]


# ------------------------------------------------------------------------ reading
def load_training_state(backup_dir: str | os.PathLike, model: Any) -> TrainingState | None:
    """Restore the model's training state from the backup; None when there is none.

    Restores the weights, the optimizer, the metrics' sums and every random state in
    place, and returns the position and callback states for the caller to apply. When
    the latest backup is damaged and a previous one was kept, that one is loaded.
    """
    root = Path(backup_dir)
    pointer = _read_pointer(root)
    if pointer is None:
        return None
    names = [pointer["latest"]] + ([pointer["previous"]] if pointer.get("previous") else [])
    failure: FileFormatError | None = None
    for name in names:
        try:
            tensors, meta = _read_folder(root / name)
        except FileFormatError as err:
            failure = failure or err
            continue
        return _apply(model, tensors, meta, str(root / name))
    assert failure is not None
    raise failure


def _read_pointer(root: Path) -> dict[str, Any] | None:
    path = root / POINTER
    if not path.is_file():
        return None
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise FileFormatError(
            f"Expected a JSON backup pointer in {str(path)!r}, received: {err}"
        ) from None
    ok = (
        isinstance(record, dict)
        and record.get("format") == FORMAT
        and _is_count(record.get("number"))
        and isinstance(record.get("latest"), str)
        and _NAME.fullmatch(record["latest"]) is not None
        and (record.get("previous") is None or _NAME.fullmatch(str(record["previous"])) is not None)
    )
    if not ok:
        raise FileFormatError(
            f"Expected a backup pointer of format {FORMAT} naming state-<n> folders in "
            f"{str(path)!r}, received: {str(record)[:200]}"
        )
    return record


def _read_folder(folder: Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    try:
        tensors = load_file(str(folder / TENSORS))
        meta = json.loads((folder / STATE).read_text(encoding="utf-8"))
    except (OSError, ValueError, SafetensorError, RuntimeError) as err:
        raise FileFormatError(
            f"Expected a readable backup in {str(folder)!r}, received: "
            f"{type(err).__name__}: {str(err)[:200]}"
        ) from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise FileFormatError(
            f"Expected training state of format {FORMAT} in {str(folder / STATE)!r}, "
            f"received: format={meta.get('format') if isinstance(meta, dict) else meta!r}"
        )
    for key in ("epoch", "step"):
        if not _is_count(meta.get(key)):
            raise FileFormatError(
                f"Expected a non-negative integer {key} in {str(folder / STATE)!r}, "
                f"received: {key}={meta.get(key)!r}"
            )
    return tensors, meta


def _apply(
    model: Any, tensors: dict[str, torch.Tensor], meta: dict[str, Any], source: str
) -> TrainingState:
    names = meta.get("weights")
    if not isinstance(names, list) or not all(f"weights/{n}" in tensors for n in names):
        raise FileFormatError(
            f"Expected a list of the saved weights' names in {source}, received: {str(names)[:120]}"
        )
    weights = {n: tensors[f"weights/{n}"] for n in names}  # in order: a rebuilt model's
    assign_weights(model, weights, source=source)  # other automatic names match by order
    optimizer = getattr(model, "optimizer", None)
    if meta.get("optimizer") is not None and optimizer is not None:
        opt_tensors = {
            k[len("optimizer/") :]: v for k, v in tensors.items() if k.startswith("optimizer/")
        }
        _restore_optimizer_in_place(optimizer, opt_tensors, meta["optimizer"], source)
    for i, metric in enumerate(getattr(model, "metrics", None) or []):
        for j, live in enumerate(_metric_states(metric)):
            saved = tensors.get(f"metrics/{i}/{j}")
            if saved is not None and saved.shape == live.shape:
                with torch.no_grad():
                    live.copy_(saved)
    restore_rng(tensors, meta.get("rng"), model, source)
    callbacks = meta.get("callbacks") or {}
    if not isinstance(callbacks, dict):
        raise FileFormatError(f"Expected an object of callback states in {source}, received: list")
    return TrainingState(
        epoch=meta["epoch"],
        step=meta["step"],
        order=tensors.get("order"),
        callbacks={k: _decode(v, tensors, source) for k, v in callbacks.items()},
    )


def _restore_optimizer_in_place(
    optimizer: Any, tensors: dict[str, torch.Tensor], meta: Any, source: str
) -> None:
    """`restore_optimizer`, then the values go back into the tensors the optimizer held:
    a compiled step or a flat buffer keeps pointing at the live state."""
    live = _slot_tensors(optimizer)
    restore_optimizer(optimizer, tensors, meta, source)
    torch_opt = getattr(optimizer, "torch_optimizer", None)
    if not live or torch_opt is None:
        return
    with torch.no_grad():
        for (param, key), old in live.items():
            new = torch_opt.state.get(param, {}).get(key)
            if isinstance(new, torch.Tensor) and new is not old and new.shape == old.shape:
                old.copy_(new)
                torch_opt.state[param][key] = old


def _slot_tensors(optimizer: Any) -> dict[tuple[Any, str], torch.Tensor]:
    torch_opt = getattr(optimizer, "torch_optimizer", None)
    if torch_opt is None:
        return {}
    return {
        (param, key): value
        for param, slots in torch_opt.state.items()
        for key, value in slots.items()
        if isinstance(value, torch.Tensor)
    }


def restore_rng(
    tensors: dict[str, torch.Tensor], meta: Any, model: Any = None, source: str = "the file"
) -> None:
    """Set every random state `capture_rng` recorded."""
    if not isinstance(meta, dict):
        raise FileFormatError(f"Expected random states in {source}, received: {meta!r}")
    if "rng/torch" in tensors:
        torch.set_rng_state(tensors["rng/torch"])
    cuda = [tensors[f"rng/cuda/{i}"] for i in range(torch.cuda.device_count())
            if f"rng/cuda/{i}" in tensors]  # fmt: skip
    if cuda and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(cuda)
    if model is not None:
        _restore_layer_generators(model, tensors)
    np_meta, py_meta = meta.get("numpy"), meta.get("python")
    try:
        if np_meta is not None:
            np.random.set_state(
                {
                    "bit_generator": np_meta["bit_generator"],
                    "state": {"key": np.asarray(np_meta["key"], np.uint32), "pos": np_meta["pos"]},
                    "has_gauss": np_meta["has_gauss"],
                    "gauss": np_meta["gauss"],
                }
            )
        if py_meta is not None:
            version, internal, gauss = py_meta
            random.setstate((version, tuple(internal), gauss))
    except (KeyError, TypeError, ValueError) as err:
        raise FileFormatError(
            f"Expected NumPy and Python random states in {source}, received: "
            f"{type(err).__name__}: {err}"
        ) from None


def _layers(model: Any) -> list[tuple[str, Any]]:
    """(path, layer) for the model and every layer below it, each layer once, in order."""
    out: list[tuple[str, Any]] = [(".", model)]
    seen = {id(model)}

    def visit(layer: Any, prefix: str) -> None:
        for child in layer._sublayers():
            if id(child) not in seen:
                seen.add(id(child))
                out.append((prefix + child.name, child))
                visit(child, f"{prefix}{child.name}/")

    if hasattr(model, "_sublayers"):
        visit(model, "")
    return out


def _noise_layers(model: Any) -> list[Any]:
    """Layers that may own a seeded generator (`_gen`), in the model's order: a rebuilt
    model's layers get other automatic names, so they are matched by place."""
    return [layer for _, layer in _layers(model) if hasattr(layer, "_gen")]


def _layer_generators(model: Any) -> dict[str, torch.Generator]:
    """Seeded noise layers' own generators (Dropout(seed=...)), by place."""
    return {
        str(i): layer._generator
        for i, layer in enumerate(_noise_layers(model))
        if isinstance(getattr(layer, "_generator", None), torch.Generator)
    }


def _restore_layer_generators(model: Any, tensors: dict[str, torch.Tensor]) -> None:
    for i, layer in enumerate(_noise_layers(model)):
        saved = tensors.get(f"rng/layer/{i}")
        if saved is None:
            continue
        if getattr(layer, "_generator", None) is None:
            device = next((p.device for p in model.parameters()), torch.device("cpu"))
            layer._gen(device)  # creates the layer's seeded generator
        gen = getattr(layer, "_generator", None)
        if isinstance(gen, torch.Generator):
            gen.set_state(saved)


# ---------------------------------------------------------- callback state values
def _encode(value: Any, prefix: str, tensors: dict[str, torch.Tensor]) -> Any:
    """JSON with tensors and arrays moved to `tensors` (as {"__tensor__": name}) and
    non-finite floats tagged ({"__float__": "inf"})."""
    if isinstance(value, torch.Tensor) or isinstance(value, np.ndarray):
        name = f"{prefix}/{sum(k.startswith(prefix + '/') for k in tensors)}"
        t = value if isinstance(value, torch.Tensor) else torch.from_numpy(np.array(value))
        tensors[name] = _cpu(t)
        return {"__tensor__": name}
    if isinstance(value, dict):
        return {str(k): _encode(v, prefix, tensors) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_encode(v, prefix, tensors) for v in value]
    if isinstance(value, (np.floating, float)) and not isinstance(value, bool):
        value = float(value)
        return value if math.isfinite(value) else {"__float__": repr(value)}
    if isinstance(value, np.integer):
        return int(value)
    if value is None or isinstance(value, (bool, int, str)):
        return value
    raise TypeError(
        f"Expected JSON values, tensors or arrays in a callback's backup state, received: "
        f"{type(value).__name__} under {prefix!r}"
    )


def _decode(value: Any, tensors: dict[str, torch.Tensor], source: str) -> Any:
    if isinstance(value, dict):
        if set(value) == {"__tensor__"}:
            name = value["__tensor__"]
            if name not in tensors:
                raise FileFormatError(
                    f"Expected tensor {name!r} in {source}, received: no such tensor"
                )
            return tensors[name]
        if set(value) == {"__float__"}:
            if value["__float__"] not in ("inf", "-inf", "nan"):
                raise FileFormatError(
                    f"Expected inf, -inf or nan in {source}, received: {value['__float__']!r}"
                )
            return float(value["__float__"])
        return {k: _decode(v, tensors, source) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode(v, tensors, source) for v in value]
    return value


# ------------------------------------------------------------------------ helpers
def _metric_states(metric: Any) -> list[torch.Tensor]:
    states = getattr(metric, "state_tensors", None)
    return list(states()) if callable(states) else []


def _cpu(t: torch.Tensor) -> torch.Tensor:
    return t.detach().to("cpu", copy=True).contiguous()


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _ours(name: str) -> bool:
    """Folders this module writes: state-<n> and their temporary names."""
    return _NAME.fullmatch(name) is not None or _TMP.fullmatch(name) is not None


def _fsync(path: Path) -> None:
    with open(path, "rb") as f:
        os.fsync(f.fileno())
